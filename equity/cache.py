"""The one cache of the dashboard: results kept per build of the database, or per content.

**The rule about copies.** Whatever a cached function returns, each caller gets its own copy: a
DataFrame, Series or numpy array is copied, a Plotly figure is a new figure, a dataclass, list,
dict or set is copied all the way down. Nothing that is kept in a cache is ever handed out, so a
caller may change what it gets and nothing cached can be changed by a caller. Every cached function
in ``equity`` goes through :func:`per_build` or :func:`per_content`, and nothing else caches
(``functools.lru_cache``, ``st.cache_data`` and ``st.cache_resource`` are not used: the
architecture test checks it).

A page calls the same ``equity`` functions on every rerun, and at national scale some of them read
millions of rows. :func:`per_build` keeps a function's recent results keyed on its arguments *and*
the identity of the database build it read (``db.build_id``), so a rebuild swapped in under a
running app is picked up at the next call.

:func:`per_content` is the same cache for a function of data already read (a chart made from a
DataFrame): keyed on the arguments, DataFrames by their content, so no build is needed to tell an
old result from a new one. Building a Plotly figure validates every property (0.1-0.2 s of CPU for
a chart of a dozen traces, on every page view); a cached figure is kept as its plain dict and
handed back as a new Figure made without validating it again (a few ms).
"""
from __future__ import annotations

import base64
import copy
import dataclasses
import functools
import inspect
import threading
from collections import OrderedDict

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from equity import db


def _freeze(v):
    """A hashable stand-in for an argument (lists, sets, dicts and arrays become tuples; a DataFrame
    or Series its columns, dtypes and a hash of every value and index label; a dataclass its fields)."""
    if isinstance(v, (pd.DataFrame, pd.Series)):
        cols = tuple(map(str, v.columns)) if isinstance(v, pd.DataFrame) else (str(v.name),)
        dtypes = tuple(map(str, v.dtypes)) if isinstance(v, pd.DataFrame) else (str(v.dtype),)
        values = pd.util.hash_pandas_object(v, index=True).to_numpy().tobytes() if len(v) else b""
        return (type(v).__name__, cols, dtypes, values)
    if _is_dataclass(v):
        return (type(v).__qualname__, _freeze(tuple((f.name, getattr(v, f.name)) for f in dataclasses.fields(v))))
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, (set, frozenset)):
        return tuple(sorted(_freeze(x) for x in v))
    if hasattr(v, "tolist") and not isinstance(v, (str, bytes)):
        return _freeze(v.tolist())
    return v


class _FigureDict(dict):
    """A Plotly figure as kept in a cache: its plain dict (see :func:`_keep`)."""


def _arrays(v):
    """A figure's dict with Plotly's base64 arrays ({"dtype", "bdata", "shape"}) back as numpy arrays,
    so that a figure made from it holds the same values as the one that was built."""
    if isinstance(v, dict):
        if "bdata" in v and "dtype" in v:
            a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
            return a.reshape([int(n) for n in str(v["shape"]).split(",")]) if v.get("shape") else a
        return {k: _arrays(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_arrays(x) for x in v]
    return v


def _is_dataclass(v) -> bool:
    return dataclasses.is_dataclass(v) and not isinstance(v, type)


def _with_fields(obj, change):
    """A shallow copy of a dataclass instance with every field passed through ``change`` (frozen
    dataclasses included: the copy is new, so setting its fields changes nothing shared)."""
    out = copy.copy(obj)
    for f in dataclasses.fields(obj):
        object.__setattr__(out, f.name, change(getattr(obj, f.name)))
    return out


def _keep(result):
    """What the cache stores: a Plotly figure as its dict, wherever it sits (in a tuple, list, dict
    or dataclass), so no live figure is shared between callers."""
    if isinstance(result, go.Figure):
        return _FigureDict(_arrays(result.to_dict()))
    if isinstance(result, tuple):
        return tuple(_keep(x) for x in result)
    if isinstance(result, list):
        return [_keep(x) for x in result]
    if isinstance(result, dict) and not isinstance(result, _FigureDict):
        return {k: _keep(x) for k, x in result.items()}
    if _is_dataclass(result):
        return _with_fields(result, _keep)
    return result


def _validating(obj) -> None:
    """Turn Plotly's validation back on for ``obj`` and everything in it (a caller's own changes to
    a figure handed back are checked as usual)."""
    obj._validate = True
    for child in getattr(obj, "_compound_props", {}).values():
        _validating(child)
    for children in getattr(obj, "_compound_array_props", {}).values():
        for child in children or ():
            _validating(child)


_IMMUTABLE = (str, bytes, int, float, bool, complex, type(None))


def _copy(result):
    """The caller's own copy of a kept result (the rule about copies at the top of this module)."""
    if isinstance(result, _IMMUTABLE):
        return result
    if isinstance(result, _FigureDict):
        # made from the dict of a figure that was validated when it was built: not checked again
        fig = go.Figure(copy.deepcopy(dict(result)), _validate=False)
        fig._validate = True
        _validating(fig.layout)
        for trace in fig.data:
            _validating(trace)
        return fig
    if isinstance(result, (pd.DataFrame, pd.Series, pd.Index)):
        return result.copy(deep=True)  # pandas deep-copies attrs with the data
    if isinstance(result, np.ndarray):
        return result.copy()
    if isinstance(result, tuple):
        if all(isinstance(x, _IMMUTABLE) for x in result):
            return result
        return tuple(_copy(x) for x in result)
    if isinstance(result, list):
        return [_copy(x) for x in result]
    if isinstance(result, dict):
        return {k: _copy(x) for k, x in result.items()}
    if _is_dataclass(result):
        return _with_fields(result, _copy)
    return copy.deepcopy(result)  # a set, a date, any other object: deep copied (immutables come back as they are)


def _caching(fn, maxsize: int, policy: str, key_of):
    """``fn`` wrapped in a cache of ``maxsize`` entries (least recently used first out), keyed by
    ``key_of(bound arguments)``; a key of ``None`` means "do not cache this call". Every result is kept
    as :func:`_keep` makes it and handed out as :func:`_copy` makes it (the rule about copies above)."""
    sig = inspect.signature(fn)
    store: OrderedDict = OrderedDict()
    lock = threading.Lock()

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        key = key_of(bound.arguments)
        if key is None:
            return fn(*args, **kwargs)
        with lock:
            if key in store:
                store.move_to_end(key)
                return _copy(store[key])
        result = _keep(fn(*args, **kwargs))
        with lock:
            store[key] = result
            while len(store) > maxsize:
                store.popitem(last=False)
        return _copy(result)

    def cache_clear():
        with lock:
            store.clear()

    wrapper.cache_clear = cache_clear
    wrapper.cache_policy = policy
    return wrapper


def per_build(maxsize: int = 32):
    """Decorator: cache the function's results per (arguments, database build).

    The decorated function must take the database as a ``path`` argument (``None`` = the default
    database). Results are returned as copies (the rule about copies above).
    ``fn.cache_clear()`` empties the cache; ``fn.cache_policy`` is ``"per_build"``.
    """
    def key_of(arguments):
        path = arguments.get("path")
        return (db.build_id(path), str(path) if path is not None else None,
                _freeze(tuple((k, v) for k, v in arguments.items() if k != "path")))

    def deco(fn):
        if "path" not in inspect.signature(fn).parameters:
            raise TypeError(f"{fn.__name__} has no 'path' argument")
        return _caching(fn, maxsize, "per_build", key_of)
    return deco


def per_content(maxsize: int = 64):
    """Decorator: cache a function of data already read (no database argument) on its arguments,
    DataFrames and Series by their content (:func:`_freeze`). For charts: a page that shows the same
    figure again (a new tab, a rerun) gets it without Plotly validating it again. Results are
    returned as copies, like :func:`per_build`'s; ``fn.cache_clear()`` empties the cache; ``fn.cache_policy``
    is ``"per_content"``."""
    def key_of(arguments):
        try:
            key = _freeze(tuple(arguments.items()))
            hash(key)
        except TypeError:  # an argument with no stand-in (a callable...): not cached
            return None
        return key

    def deco(fn):
        return _caching(fn, maxsize, "per_content", key_of)
    return deco
