"""Charts shared by the school profile page, meeting mode and the meeting packs, and their static
rendering (Plotly figure -> PNG) for the PDF and PowerPoint packs.

Trend charts never draw a line across a break in the series (``equity.breaks.breaks_between``):
each run of comparable years is its own line segment, and a dotted vertical rule marks the break.

Every title and label passed in is plain text (names from files): the functions here escape it
for Plotly's HTML-like labels (``equity.safe_text.html``), so a name cannot carry a link or markup.

Static rendering uses kaleido 1.x with the **system** Chromium (``$BROWSER_PATH``, else
``/usr/bin/chromium`` or ``chromium`` on the PATH). It never downloads a browser, and the page
kaleido renders in loads only local files: plotly.js from the installed plotly package and no
MathJax (kaleido's default MathJax is a CDN URL, so it is switched off). A pack therefore builds
with no network; ``tests/test_pack.py`` builds one inside a network namespace with no interfaces.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import textwrap
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from equity import breaks, years
from equity.present import style
from equity.cache import per_content
from equity.safe_text import html as _esc
from equity.measures import MEASURES
from equity.words import fmt

FONT = "DejaVu Sans, Arial, sans-serif"
PNG_WIDTH, PNG_HEIGHT, PNG_SCALE = 1100, 560, 2


# ---- segments and breaks -------------------------------------------------------------------------

def segments(df: pd.DataFrame, key_stage: int, measure: str, by: list[str] | tuple = (),
             year_col: str = "start_year") -> pd.DataFrame:
    """``df`` with a ``segment`` number: a new segment starts wherever two consecutive years of a
    series (rows sharing the ``by`` columns) are not comparable (a break, or years missing between
    them), so a line is drawn within a segment only."""
    if df.empty:
        return df.assign(segment=pd.Series(dtype=int))
    out = []
    groups = df.groupby(list(by), sort=False, dropna=False) if by else [((), df)]
    for _, g in groups:
        g = g.sort_values(year_col).copy()
        seg, prev, labels = 0, None, []
        for y in g[year_col]:
            if prev is not None and breaks.breaks_between(int(prev), int(y), key_stage, measure):
                seg += 1
            labels.append(seg)
            prev = y
        g["segment"] = labels
        out.append(g)
    return pd.concat(out)


def break_marks(start_years, key_stage: int, measure: str) -> list[tuple[float, str]]:
    """Where to draw a break between consecutive years present: (x position, short reason).
    Gaps of missing years without a known break are not marked (the line simply stops)."""
    ys = sorted({int(y) for y in start_years})
    marks = []
    for a, b in zip(ys, ys[1:]):
        reasons = breaks.real_breaks(a, b, key_stage, measure)
        if reasons:
            marks.append(((a + b) / 2, reasons[0].split(";")[0]))
    return marks


def provisional_marks(fig: go.Figure, d: pd.DataFrame, y: str = "value") -> None:
    """Ring the points DfE published as provisional (figures it may still revise), one legend entry."""
    if "version" not in d:
        return
    p = d[d["version"].astype(str).str.lower() == "provisional"]
    if p.empty:
        return
    fig.add_trace(go.Scatter(x=p.start_year.tolist(), y=p[y].tolist(), mode="markers",
                             name="provisional (DfE may revise)", hoverinfo="skip",
                             marker=dict(symbol="circle-open", size=16, color="#444444", line=dict(width=1.5))))


def _short(text: str, width: int = 28) -> str:
    return "<br>".join(textwrap.wrap(text, width))


def _layout(fig: go.Figure, title: str, y_title: str, big: bool = False) -> go.Figure:
    fig.update_layout(
        title=dict(text=_esc(title), font=dict(size=22 if big else 17)), template="plotly_white",
        font=dict(family=FONT, size=16 if big else 13),
        legend=dict(orientation="h", yanchor="top", y=-0.14, xanchor="left", x=0),
        margin=dict(l=60, r=30, t=60, b=90), yaxis_title=y_title, hovermode="x unified")
    return fig


def unit_label(measure: str) -> str:
    m = MEASURES.get(measure)
    if m is None:
        return ""
    return {"percent": "% of pupils", "points": "points", "score": "score (0 = national average)"}[m.unit]


# ---- figures --------------------------------------------------------------------------------------

@per_content()
def trend_figure(data: pd.DataFrame, key_stage: int, measure: str, title: str, big: bool = False) -> go.Figure:
    """Lines over academic years, one per series, broken at breaks in the series.

    ``data`` columns: ``series`` (legend label), ``group`` ('disadvantaged', 'other', 'all': sets
    colour and dash), ``area`` ('school', 'la', 'england', 'predecessor'...: sets marker and width),
    ``start_year``, ``value``; optional ``ci_low``/``ci_high`` (drawn as error bars), ``cohort`` and
    ``version`` (provisional figures are ringed, :func:`provisional_marks`).
    """
    fig = go.Figure()
    d = data.dropna(subset=["value"])
    if d.empty:
        fig.add_annotation(text="No published values for this selection", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper", font=dict(size=18))
        return _layout(fig, title, unit_label(measure), big)
    d = segments(d, key_stage, measure, by=["series"])
    symbols = {"school": "circle", "la": "square", "england": "diamond", "family": "triangle-up"}
    for series, g in d.groupby("series", sort=False):
        group = g.group.iloc[0]
        area = g.area.iloc[0] if "area" in g else "school"
        colour = style.GROUP_COLOURS.get(group, style.NEUTRAL)
        first = True
        for _, s in g.groupby("segment"):
            err = None
            if {"ci_low", "ci_high"} <= set(s.columns) and s.ci_low.notna().any():
                err = dict(type="data", symmetric=False, array=(s.ci_high - s.value).tolist(),
                           arrayminus=(s.value - s.ci_low).tolist(), thickness=1.2, width=4, color=colour)
            custom = s.cohort.fillna(-1).astype(int).tolist() if "cohort" in s else None
            fig.add_trace(go.Scatter(
                x=s.start_year.tolist(), y=s.value.tolist(), name=_esc(series), legendgroup=str(series),
                showlegend=first,
                mode="lines+markers", error_y=err, customdata=custom,
                line=dict(color=colour, dash=style.GROUP_DASH.get(group, "solid"),
                          width=1.6 if area == "england" else 3),
                marker=dict(symbol=symbols.get(area, "circle"), size=9 if big else 8, color=colour),
                hovertemplate=f"{_esc(series)}: %{{y}}" + (" (%{customdata} pupils)" if custom else "") + "<extra></extra>"))
            first = False
    provisional_marks(fig, d)
    ys = sorted(d.start_year.unique())
    fig.update_xaxes(tickvals=ys, ticktext=[years.label(int(y)) for y in ys], range=[min(ys) - 0.5, max(ys) + 0.5])
    for x, why in break_marks(ys, key_stage, measure):
        fig.add_vline(x=x, line_dash="dot", line_color=style.NEUTRAL)
        fig.add_annotation(x=x, y=1, yref="paper", text=_short("Break: " + why), showarrow=False,
                           font=dict(size=11 if not big else 13, color="#444"), yanchor="top", bgcolor="white")
    return _layout(fig, title, unit_label(measure), big)


@per_content()
def ranked_bar(data: pd.DataFrame, measure: str, title: str, highlight=None, reference: float | None = None,
               reference_label: str = "", big: bool = False, worst_first: bool = False,
               higher_is_better: bool | None = None, formatter=None) -> go.Figure:
    """Horizontal bars, best at the top (``worst_first``: worst at the top). ``data``: ``label``,
    ``value``, optional ``cohort`` (written beside the value), ``key`` (compared with
    ``highlight`` to colour the bars of interest). ``higher_is_better`` and ``formatter`` override
    the measure's direction and number format (e.g. for a gap)."""
    d = data.dropna(subset=["value"]).copy()
    better = higher_is_better if higher_is_better is not None else \
        (MEASURES[measure].higher_is_better if measure in MEASURES else True)
    formatter = formatter or (lambda v: fmt(measure, v))
    d = d.sort_values("value", ascending=better != worst_first)  # plotly draws the first row at the bottom
    hl = set(highlight or [])
    colours = [style.HIGHLIGHT if k in hl else style.NEUTRAL for k in d.get("key", d.label)]
    text = [formatter(v) + (f" ({int(c)})" if pd.notna(c) else "")
            for v, c in zip(d.value, d.cohort if "cohort" in d else [None] * len(d))]
    span = float(d.value.abs().max()) if len(d) else 0.0
    # long bars carry their value inside (clear of the axis labels), short ones just outside
    pos = ["inside" if span and abs(v) > 0.3 * span else "outside" for v in d.value]
    fig = go.Figure(go.Bar(x=d.value, y=[_esc(x) for x in d.label], orientation="h", marker_color=colours, text=text,
                           textposition=pos, insidetextanchor="end", cliponaxis=False,
                           textfont=dict(color="#111"), hovertemplate="%{y}: %{x}<extra></extra>"))
    if reference is not None and pd.notna(reference):
        fig.add_vline(x=reference, line_dash="dash", line_color="#000")
        fig.add_annotation(x=reference, y=1.02, yref="paper", text=_esc(reference_label), showarrow=False,
                           font=dict(size=12))
    fig = _layout(fig, title, "", big)
    fig.update_layout(xaxis_title=unit_label(measure), showlegend=False, hovermode="closest",
                      uniformtext=dict(minsize=11 if not big else 14, mode="show"),
                      height=max(380, 28 * len(d) + 140), margin=dict(l=10, r=60, t=70, b=50))
    fig.update_yaxes(automargin=True)
    return fig


@per_content()
def lead_figure(table: pd.DataFrame, key_stage: int, measure: str, title: str, big: bool = False) -> go.Figure:
    """A partnership's schools against their own families over time: ``vs_family`` (school minus
    family average for disadvantaged pupils; positive = better) with its 95% interval, one line per
    school (``name``, ``role``), broken at breaks in the series, and a zero line (= its family)."""
    fig = go.Figure()
    d = table.dropna(subset=["vs_family"])
    styles = {"supported": (style.AREA_COLOURS["school"], "solid", "circle"),
              "supporting": (style.HIGHLIGHT, "dash", "square")}
    for (role, name), g in d.groupby(["role", "name"], sort=False):
        colour, dash, symbol = styles.get(role, (style.NEUTRAL, "dot", "diamond"))
        g = segments(g, key_stage, measure)
        first = True
        for _, s in g.groupby("segment"):
            fig.add_trace(go.Scatter(
                x=s.start_year.tolist(), y=s.vs_family.tolist(), name=_esc(f"{name} ({role})"), legendgroup=f"{name}",
                showlegend=first, mode="lines+markers", line=dict(color=colour, dash=dash, width=3),
                marker=dict(symbol=symbol, size=9, color=colour),
                error_y=dict(type="data", symmetric=False, array=(s.vs_family_high - s.vs_family).tolist(),
                             arrayminus=(s.vs_family - s.vs_family_low).tolist(), color=colour, thickness=1.2)))
            first = False
    fig.add_hline(y=0, line_color="#000", line_width=1)
    ys = sorted(d.start_year.unique()) if len(d) else []
    if ys:
        fig.update_xaxes(tickvals=ys, ticktext=[years.label(int(y)) for y in ys],
                         range=[min(ys) - 0.5, max(ys) + 0.5])
    return _layout(fig, title, "school minus its family (disadvantaged pupils)", big)


@per_content()
def ofsted_timeline(data: pd.DataFrame, title: str, big: bool = False) -> go.Figure:
    """Dated Ofsted grades (1 at the top), one marker series per URN (this school, predecessors...)."""
    fig = go.Figure()
    symbols = ["circle", "square", "diamond", "triangle-up", "x"]
    for i, (who, g) in enumerate(data.dropna(subset=["grade"]).groupby("school", sort=False)):
        fig.add_trace(go.Scatter(x=g.inspection_date, y=g.grade, mode="markers", name=_esc(who),
                                 marker=dict(size=13, symbol=symbols[i % len(symbols)],
                                             color=[style.AREA_COLOURS["school"], style.NEUTRAL, "#56B4E9",
                                                    "#CC79A7", "#000"][i % 5]),
                                 text=[_esc(t) for t in g.grade_label], hovertemplate="%{x|%d %b %Y}: %{text}<extra></extra>"))
    fig.update_yaxes(range=[4.5, 0.5], tickvals=[1, 2, 3, 4],
                     ticktext=["1 Outstanding", "2 Good", "3 Requires improvement", "4 Inadequate"])
    fig.add_vline(x=pd.Timestamp("2024-09-01").timestamp() * 1000, line_dash="dot", line_color=style.NEUTRAL)
    return _layout(fig, title, "", big)


# ---- static rendering -------------------------------------------------------------------------

class RenderError(RuntimeError):
    pass


def browser_path() -> str:
    """The local Chromium kaleido must use: ``$BROWSER_PATH`` if set, else ``chromium`` found on
    the PATH or at /usr/bin/chromium. Sets ``BROWSER_PATH`` for kaleido/choreographer (which read
    it first). Raises :class:`RenderError` if none: we never download a browser."""
    env = os.environ.get("BROWSER_PATH")
    if env and Path(env).is_file():
        return env
    for cand in (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium"):
        if cand and Path(cand).is_file():
            os.environ["BROWSER_PATH"] = cand
            return cand
    raise RenderError("No local Chromium found for static charts (set BROWSER_PATH, or install Debian's "
                      "chromium package). The packs never download a browser.")


def plotly_js() -> Path:
    """plotly.js shipped inside the installed plotly package (so kaleido needs no CDN)."""
    import plotly
    p = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not p.is_file():
        raise RenderError(f"plotly.js not found at {p}")
    return p


def kaleido_options() -> dict:
    """The options passed to ``kaleido.Kaleido``: local browser, local plotly.js, no MathJax."""
    return {"n": 1, "path": browser_path(), "plotlyjs": str(plotly_js()), "mathjax": False, "timeout": 120}


def render_page_html() -> str:
    """The HTML page kaleido loads to draw a chart, as our options make it (for the offline test)."""
    from kaleido import PageGenerator
    o = kaleido_options()
    return PageGenerator(plotly=o["plotlyjs"], mathjax=o["mathjax"]).generate_index()


async def _render(figs: list[go.Figure], width: int, height: int, scale: float) -> list[bytes]:
    import kaleido
    out = []
    async with kaleido.Kaleido(**kaleido_options()) as k:
        for fig in figs:
            h = int(fig.layout.height) if fig.layout.height else height
            out.append(await k.calc_fig(fig, opts=dict(format="png", width=width, height=h, scale=scale)))
    return out


def render_png(figs: list[go.Figure], width: int = PNG_WIDTH, height: int = PNG_HEIGHT,
               scale: float = PNG_SCALE) -> list[bytes]:
    """PNG bytes for each figure, drawn by one local Chromium session (a few seconds to start,
    then a fraction of a second per chart). Runs in its own thread so it works inside Streamlit's
    script thread and under a running event loop."""
    if not figs:
        return []
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as ex:
        try:
            return ex.submit(asyncio.run, _render(list(figs), width, height, scale)).result()
        except RenderError:
            raise
        except Exception as exc:  # kaleido / browser failures: say what happened
            raise RenderError(f"static chart rendering failed: {type(exc).__name__}: {exc}") from exc
