"""Plotly figures for the gap pages (LA overview, gap trends, LA comparison).

Colours come from :mod:`equity.present.style`: disadvantaged and other pupils look the same on every chart,
and colour is never the only carrier of meaning (England's lines are dotted with open markers,
schools' dash-dotted, estimates are open markers never joined to published points). A trend line
is never drawn across a break in the series: each unbroken run of years is its own line, and a
labelled vertical marker sits in every break. Names (schools, LAs, series) are plain text from
files: escaped here for Plotly's HTML-like labels (``equity.safe_text.html``).
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from equity.cache import per_content
from equity.measures import MEASURES
from equity.present.pack_charts import provisional_marks
from equity.safe_text import html as _esc
from equity.present.style import AREA_COLOURS, GROUP_COLOURS, HIGHLIGHT, NEUTRAL

SCHOOL_PALETTE = ["#009E73", "#E69F00", "#56B4E9", "#CC79A7", "#F0E442", "#999999"]
DASH = {"la": "solid", "england": "dot", "school": "dashdot"}
SYMBOL = {"la": "circle", "england": "diamond", "school": "square"}


def _unit_title(measure: str, view: str = "groups") -> str:
    m = MEASURES[measure]
    unit = {"percent": "%", "points": "points", "score": "score"}.get(m.unit, m.unit)
    if view == "gap":
        return f"Gap in {m.short_label} ({'percentage points' if m.unit == 'percent' else unit})"
    if view == "gap_to_national_other":
        return f"Disadvantaged minus England's other ({'% points' if m.unit == 'percent' else unit})"
    return f"{m.short_label} ({unit})"


def _short(text: str, n: int = 38) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


@per_content()
def trend_figure(df: pd.DataFrame, breaks: list[dict], measure: str, view: str = "groups",
                 height: int = 420) -> go.Figure:
    """Lines per series (LA, England, schools), one trace per unbroken run, breaks marked."""
    fig = go.Figure()
    if df.empty:
        fig.add_annotation(text="No published figures for this choice", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")
        return fig
    schools = sorted(df.loc[df.area_kind == "school", "area_code"].unique())
    school_colour = {u: SCHOOL_PALETTE[i % len(SCHOOL_PALETTE)] for i, u in enumerate(schools)}
    unit = MEASURES[measure].unit
    fmt = ".2f" if unit == "score" else ".1f"
    shown = set()
    for (series, source, seg), sub in df.groupby(["series", "source", "segment"], sort=False):
        sub = sub.sort_values("start_year")
        kind, group = sub.area_kind.iloc[0], sub.group.iloc[0]
        if view == "groups":
            colour = GROUP_COLOURS.get(group, NEUTRAL)
        elif kind == "school":
            colour = school_colour[sub.area_code.iloc[0]]
        else:
            colour = AREA_COLOURS.get(kind, NEUTRAL)
        estimate = source == "estimate"
        name = _esc(series) + (" (estimate)" if estimate else "")
        fig.add_trace(go.Scatter(
            x=sub.start_year, y=sub.value, name=name, legendgroup=name, showlegend=name not in shown,
            mode="markers" if estimate else "lines+markers",
            line=dict(color=colour, dash=DASH.get(kind, "solid"), width=3 if kind == "la" else 2),
            marker=dict(color=colour, size=9 if kind == "la" else 7,
                        symbol=SYMBOL.get(kind, "circle") + ("-open" if estimate or kind == "england" else "")),
            customdata=sub[["academic_year", "n", "source"]].to_numpy(),
            hovertemplate=f"<b>{_esc(series)}</b><br>%{{customdata[0]}}: %{{y:{fmt}}}<br>pupils: %{{customdata[1]:,.0f}}"
                          "<br>%{customdata[2]}<extra></extra>"))
        shown.add(name)
    provisional_marks(fig, df)
    years = sorted(df.start_year.unique())
    labels = dict(zip(df.start_year, df.academic_year))
    for b in breaks:
        x = (b["after"] + b["before"]) / 2
        fig.add_vline(x=x, line=dict(color=NEUTRAL, dash="dot", width=1))
        fig.add_annotation(x=x, y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                           text="break: " + _esc(_short(b["reasons"][0])), hovertext=_esc("; ".join(b["reasons"])),
                           font=dict(size=10, color="#555555"), textangle=0)
    if view != "groups":
        fig.add_hline(y=0, line=dict(color="#bbbbbb", width=1))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=50, b=10), legend=dict(orientation="h", y=-0.18),
                      yaxis_title=_unit_title(measure, view), xaxis_title="Academic year", hovermode="closest",
                      plot_bgcolor="white")
    fig.update_xaxes(tickvals=years, ticktext=[labels[y] for y in years], showgrid=False,
                     range=[min(years) - 0.5, max(years) + 0.5])
    fig.update_yaxes(gridcolor="#eeeeee", zeroline=False)
    return fig


@per_content()
def funnel_figure(f: dict, measure: str, la_name: str, height: int = 440) -> go.Figure:
    """Funnel plot: schools' values against pupils, 95% and 99.8% limits around the centre line."""
    fig = go.Figure()
    pts, lim = f.get("points", pd.DataFrame()), f.get("limits", pd.DataFrame())
    if pts is None or pts.empty:
        fig.add_annotation(text="No school values for this choice", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")
        return fig
    for lo, hi, name, dash in (("lo998", "hi998", "99.8% limits", "dot"), ("lo95", "hi95", "95% limits", "dash")):
        for col, show in ((lo, True), (hi, False)):
            fig.add_trace(go.Scatter(x=lim.n, y=lim[col], mode="lines", name=name, legendgroup=name, showlegend=show,
                                     line=dict(color="#777777", dash=dash, width=1), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=[lim.n.min(), lim.n.max()], y=[f["target"]] * 2, mode="lines",
                             name=_esc(f"centre: {f['target_source']}"), line=dict(color="#333333", width=2),
                             hoverinfo="skip"))
    if f.get("reference") is not None:
        fig.add_trace(go.Scatter(x=[lim.n.min(), lim.n.max()], y=[f["reference"]] * 2, mode="lines",
                                 name=_esc(f"reference: {f['reference_source']}"),
                                 line=dict(color=AREA_COLOURS["la"], width=2, dash="dashdot"),
                                 hoverinfo="skip"))
    unit = MEASURES[measure].unit
    fmt = ".2f" if unit == "score" else ".1f"
    cats = [("within the limits", ~pts.outside_95, NEUTRAL, "circle"),
            ("outside 95%", pts.outside_95 & ~pts.outside_998, HIGHLIGHT, "diamond"),
            ("outside 99.8%", pts.outside_998, GROUP_COLOURS["disadvantaged"], "x")]
    for name, mask, colour, symbol in cats:
        sub = pts[mask]
        if sub.empty:
            continue
        fig.add_trace(go.Scatter(
            x=sub.x, y=sub.y, mode="markers", name=f"schools {name}",
            marker=dict(color=colour, size=9, symbol=symbol, line=dict(width=1, color="#333333")),
            customdata=sub[["name", "n_disadvantaged", "n_other"]].assign(name=[_esc(n) for n in sub.name]).to_numpy(),
            hovertemplate=f"<b>%{{customdata[0]}}</b><br>value: %{{y:{fmt}}}<br>disadvantaged pupils: "
                          "%{customdata[1]:,.0f}<br>other pupils: %{customdata[2]:,.0f}<extra></extra>"))
    xtitle = "Effective number of pupils (disadvantaged and other combined)" if f["quantity"] == "gap" \
        else "Number of disadvantaged pupils"
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), plot_bgcolor="white",
                      xaxis_title=xtitle, yaxis_title=_unit_title(measure, f["quantity"] if f["quantity"] != "disadvantaged"
                                                                  else "groups"),
                      legend=dict(orientation="h", y=-0.2))
    fig.update_xaxes(gridcolor="#eeeeee", rangemode="tozero")
    fig.update_yaxes(gridcolor="#eeeeee")
    return fig


@per_content()
def dumbbell_figure(df: pd.DataFrame, highlight: str | None, england: dict | None, measure: str,
                    height: int | None = None, group_labels: dict | None = None) -> go.Figure:
    """One row per LA: disadvantaged and other pupils' values joined by a bar (the gap), the chosen LA
    in bold, England's two values as reference lines. ``df``: area_code, area_name, disadvantaged, other."""
    df = df.dropna(subset=["disadvantaged", "other"]).copy()
    df["gap"] = df.other - df.disadvantaged
    df = df.sort_values("gap")
    labels = [f"<b>{_esc(n)}</b>" if c == highlight else _esc(n) for c, n in zip(df.area_code, df.area_name)]
    fig = go.Figure()
    # the bars in two traces (the chosen LA's, everyone else's), each bar's two ends then a gap (None),
    # not a trace per LA: 150 LAs were 150 traces for the browser to lay out
    for chosen in (False, True):
        xs, ys = [], []
        for lab, d, o, c in zip(labels, df.disadvantaged, df.other, df.area_code):
            if (c == highlight) == chosen:
                xs += [d, o, None]
                ys += [lab, lab, None]
        if xs:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", showlegend=False, hoverinfo="skip",
                                     line=dict(color=HIGHLIGHT if chosen else "#cccccc", width=4 if chosen else 2)))
    unit = MEASURES[measure].unit
    suffix = "%" if unit == "percent" else ""
    names = group_labels or {"disadvantaged": "disadvantaged pupils", "other": "other pupils"}
    for g, symbol in (("disadvantaged", "circle"), ("other", "diamond")):
        fig.add_trace(go.Scatter(x=df[g], y=labels, mode="markers", name=names[g],
                                 marker=dict(color=GROUP_COLOURS[g], size=10, symbol=symbol),
                                 customdata=df[["gap"]].to_numpy(),
                                 hovertemplate=f"%{{y}}<br>{names[g]}: %{{x}}{suffix}<br>gap: %{{customdata[0]:.1f}}"
                                               "<extra></extra>"))
    if england:
        for g, dash in (("disadvantaged", "dash"), ("other", "dot")):
            if england.get(g) is not None and pd.notna(england.get(g)):
                fig.add_vline(x=england[g], line=dict(color=GROUP_COLOURS[g], dash=dash, width=1),
                              annotation_text=f"England {g}: {england[g]:g}{suffix}", annotation_position="top",
                              annotation_font_size=10)
    fig.update_layout(height=height or max(260, 24 * len(df) + 110), margin=dict(l=10, r=10, t=40, b=10),
                      plot_bgcolor="white", xaxis_title=_unit_title(measure), legend=dict(orientation="h", y=-0.08),
                      yaxis=dict(categoryorder="array", categoryarray=labels))  # by gap, the chosen LA in its place
    fig.update_xaxes(gridcolor="#eeeeee")
    return fig


@per_content()
def lines_figure(df: pd.DataFrame, x: str, y: str, series: str, highlight: str | None, ytitle: str,
                 breaks_by: callable = None, height: int = 380) -> go.Figure:
    """Simple year lines for area comparisons (one trace per series and unbroken run; the highlighted
    series thick, England black, others grey). ``breaks_by(y1, y2)`` returns reasons not to join years."""
    fig = go.Figure()
    labels = {}
    for name, sub in df.groupby(series, sort=False):
        sub = sub.dropna(subset=[y]).sort_values(x)
        if sub.empty:
            continue
        labels.update(dict(zip(sub[x], sub.get("academic_year", sub[x]))))
        runs, cur = [], []
        for yr in sub[x]:
            if cur and breaks_by and breaks_by(cur[-1], yr):
                runs.append(cur)
                cur = []
            cur.append(yr)
        runs.append(cur)
        colour = HIGHLIGHT if name == highlight else ("#000000" if name == "England" else "#bbbbbb")
        width = 4 if name == highlight else 2
        for i, run in enumerate(runs):
            part = sub[sub[x].isin(run)]
            fig.add_trace(go.Scatter(x=part[x], y=part[y], name=_esc(name), legendgroup=str(name), showlegend=i == 0,
                                     mode="lines+markers", line=dict(color=colour, width=width,
                                                                     dash="dot" if name == "England" else "solid"),
                                     hovertemplate=f"<b>{_esc(name)}</b><br>%{{x}}: %{{y}}<extra></extra>"))
    years = sorted(labels)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), plot_bgcolor="white", yaxis_title=ytitle,
                      legend=dict(orientation="h", y=-0.2))
    fig.update_xaxes(tickvals=years, ticktext=[labels[k] for k in years], showgrid=False)
    fig.update_yaxes(gridcolor="#eeeeee")
    return fig
