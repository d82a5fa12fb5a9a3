"""Results cached per build of the database.

A page calls the same ``equity`` functions on every rerun, and at national scale some of them read
millions of rows. :func:`per_build` keeps a function's recent results keyed on its arguments *and*
the identity of the database build it read (``db.build_id``), so a rebuild swapped in under a
running app is picked up at the next call, and callers get their own copy of any DataFrame.
"""
from __future__ import annotations

import copy
import functools
import inspect
import threading
from collections import OrderedDict

import pandas as pd

from equity import db


def _freeze(v):
    """A hashable stand-in for an argument (lists, sets, dicts and arrays become tuples)."""
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, (set, frozenset)):
        return tuple(sorted(_freeze(x) for x in v))
    if hasattr(v, "tolist") and not isinstance(v, (str, bytes)):
        return _freeze(v.tolist())
    return v


def _copy(result):
    if isinstance(result, (pd.DataFrame, pd.Series)):
        return result.copy()
    if isinstance(result, (list, dict, set)):
        return copy.deepcopy(result)
    if isinstance(result, tuple):
        return tuple(_copy(x) for x in result)
    return result


def per_build(maxsize: int = 32):
    """Decorator: cache the function's results per (arguments, database build).

    The decorated function must take the database as a ``path`` argument (``None`` = the default
    database). Results are returned as copies, so a caller may change what it gets.
    ``fn.cache_clear()`` empties the cache.
    """
    def deco(fn):
        sig = inspect.signature(fn)
        if "path" not in sig.parameters:
            raise TypeError(f"{fn.__name__} has no 'path' argument")
        store: OrderedDict = OrderedDict()
        lock = threading.Lock()

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            path = bound.arguments.get("path")
            key = (db.build_id(path), str(path) if path is not None else None,
                   _freeze(tuple((k, v) for k, v in bound.arguments.items() if k != "path")))
            with lock:
                if key in store:
                    store.move_to_end(key)
                    return _copy(store[key])
            result = fn(*args, **kwargs)
            with lock:
                store[key] = result
                while len(store) > maxsize:
                    store.popitem(last=False)
            return _copy(result)

        def cache_clear():
            with lock:
                store.clear()

        wrapper.cache_clear = cache_clear
        return wrapper
    return deco
