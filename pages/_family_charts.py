"""Figures of the Families page, cached by content (``equity.cache.per_content``): a new tab or a
rerun showing the same figure does not pay for Plotly validating thousands of points again."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from equity.analysis import families as F
from equity.present import style
from equity.cache import per_content
from equity.measures import MEASURES
from equity.words import fmt


@per_content(maxsize=16)
def scatter_figure(pts: pd.DataFrame, x: str, measure: str, median: float) -> go.Figure:
    """Every school of the pool: context figure ``x`` against its disadvantaged pupils' result, the
    family and the school drawn over the grey crowd (WebGL: thousands of points), the family median
    as a dashed line. ``pts``: ``x``, value, role, label (hover text, escaped)."""
    fig = go.Figure()
    styles = {"other schools": (style.NEUTRAL, 5, "circle", 0.35),
              "family": (style.AREA_COLOURS["family"], 10, "diamond", 0.95),
              "this school": (style.AREA_COLOURS["school"], 16, "star", 1.0)}
    for role, (colour, msize, symbol, opacity) in styles.items():
        d = pts[pts.role == role]
        fig.add_trace(go.Scattergl(
            x=d[x], y=d.value, mode="markers", name=f"{role} ({len(d):,})",
            marker=dict(color=colour, size=msize, symbol=symbol, opacity=opacity,
                        line=dict(width=1, color="#333333") if role != "other schools" else dict(width=0)),
            text=d.label,
            hovertemplate="%{text}<br>" + F.SHORT_LABELS[x] + " %{x}<br>" + MEASURES[measure].label
                          + " %{y}<extra></extra>"))
    if np.isfinite(median):
        fig.add_hline(y=median, line_dash="dash", line_color=style.AREA_COLOURS["family"],
                      annotation_text=f"family median {fmt(measure, median)}")
    y_title = (MEASURES[measure].label if measure.endswith("vs_national_other")
               else f"{MEASURES[measure].label}, disadvantaged pupils")
    fig.update_layout(xaxis_title=F.LABELS[x], yaxis_title=y_title,
                      height=460, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=1.08))
    return fig
