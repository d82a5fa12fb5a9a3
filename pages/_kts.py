"""Widgets and cached look-ups shared by the Keys to Success and Partnerships pages: the editable
selection rule (every threshold kept in the URL) and calls into ``equity.analysis.keys_to_success`` (cached there,
per database build) with a spinner for the slow ones.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from equity import years
from equity.present import style
from equity.analysis import keys_to_success as kts
from equity.cache import per_content
from equity.measures import MEASURES, RULE_MEASURES
from equity.safe_text import html


def _step(measure: str) -> float:
    return 1.0 if MEASURES[measure].unit == "percent" else 0.05 if measure.startswith("p8") else 0.5


def rule_widgets(ks: int, la: str, where=st.sidebar) -> kts.Rule | None:
    """The selection rule's thresholds as widgets (defaults from ``Rule.default``); None when the
    LA has no results for disadvantaged pupils at this key stage."""
    measures = [m for m in RULE_MEASURES[ks] if m in MEASURES and kts.years_with(ks, m, [la])]
    if not measures:
        return None
    # opens on the latest year held for the LA, on a measure DfE published that year (see kts.default_rule)
    asked = st.session_state.get("kts_year") or st.query_params.get("kts_year")  # a year chosen or in the URL
    try:
        asked = years.parse(asked) if asked else None
    except ValueError:
        asked = None
    start = kts.default_rule(ks, [la], year=asked) if asked else kts.default_rule(ks, [la])
    measure = where.selectbox("Measure for disadvantaged pupils", measures, format_func=kts.measure_label,
                              index=measures.index(start.measure) if start.measure in measures else 0,
                              key=f"kts_measure{ks}", bind="query-params",
                              help="Only measures with a 95% interval (or, for Attainment 8, a stated pupil spread) "
                                   "are offered, so a partner can be shown to be clearly stronger.")
    ys = kts.years_with(ks, measure, [la])[::-1]
    year = where.selectbox("Year", ys, format_func=years.label, key="kts_year", bind="query-params")
    d = kts.Rule.default(ks, measure=measure)
    why = start.why_measure if (measure, int(year)) == (start.measure, start.year) else ""
    unit = MEASURES[measure].unit
    word = "%" if unit == "percent" and "vs_national" not in measure else ""
    max_value = where.number_input(f"{kts.measure_label(measure)} at or below{(' (' + word + ')') if word else ''}",
                                   value=float(d.max_value), step=_step(measure), key=f"kts_max_{measure}",
                                   bind="query-params")
    share = where.number_input("Share of pupils disadvantaged: at least (%)", 0.0, 100.0,
                               float(d.min_pct_disadvantaged), 1.0, key=f"kts_share{ks}", bind="query-params")
    pupils = where.number_input("Disadvantaged pupils: at least", 1, 300, int(d.min_disadvantaged_pupils), 1,
                                key=f"kts_pupils{ks}", bind="query-params")
    where.caption("Further signs of difficulty")
    ofsted = where.selectbox("Ofsted", [3, 4, 0], key="kts_ofsted", bind="query-params",
                             format_func=lambda g: {0: "not used", 3: "below good or equivalent",
                                                    4: "inadequate or equivalent"}[g],
                             help="The latest graded judgement held, under the framework it was made in: a report "
                                  "card (an area Needs attention / Urgent improvement, safeguarding not met, a "
                                  "category of concern), a 2024-25 inspection with no overall grade (a key judgement "
                                  "3 or 4), or a single-word grade 3 or 4. Rules on the page.")
    fall = where.number_input("Falling trend: a fall since the year before of at least (0 = not used)", 0.0, 100.0,
                              float(d.min_fall), _step(measure), key=f"kts_fall_{measure}", bind="query-params")
    extra = where.radio("Further signs required", [0, 1, 2], key="kts_extra", bind="query-params", horizontal=True,
                        help="0: reported as reasons only; 1: at least one of them; 2: both.")
    return kts.Rule(key_stage=ks, year=int(year), measure=measure, max_value=float(max_value),
                    min_pct_disadvantaged=float(share), min_disadvantaged_pupils=int(pupils),
                    ofsted_grade_at_least=int(ofsted) or None, min_fall=float(fall) or None, min_extra=int(extra),
                    why_measure=why)


# Each look-up is cached per database build in equity (equity.cache): the spinner says what a
# first call is doing (Streamlit shows it only when the call takes a moment).

def evaluate(rule: kts.Rule, la: str):
    with st.spinner("Applying the rule…"):
        return kts.evaluate(rule, [la])


def suggestions(rule: kts.Rule, la: str, settings: dict):
    with st.spinner("Matching partners (one assignment over all selected schools)…"):
        return kts.suggest_partners(rule, [la], kts.MatchSettings(**settings))


def hubs(ks: int, measure: str, la: str):
    with st.spinner("Finding hub schools…"):
        return kts.hubs(ks, measure, [la])


def backtest(ks: int, rule: kts.Rule):
    with st.spinner("Back-testing the rule…"):
        return kts.backtest(ks, rule)


def hub_years(ks: int, measure: str, urns):
    return kts.hub_years(ks, measure, list(urns))


# ---- figures (cached by content: the same figure for a new tab or a rerun is not validated again) ----

@per_content()
def candidates_figure(ev: pd.DataFrame, label: str, max_value, min_pct_disadvantaged, threshold_text: str) -> go.Figure:
    """The LA's schools: % disadvantaged against the outcome, selected schools as orange diamonds,
    the rule's thresholds as lines. ``ev``: selected, pct_disadvantaged, value, name, cohort (only the
    columns drawn: a column of lists, such as the reasons, cannot be hashed for the cache)."""
    fig = go.Figure()
    for chosen, name, colour, symbol in [(False, "not selected", style.NEUTRAL, "circle"),
                                         (True, "selected", style.HIGHLIGHT, "diamond")]:
        part = ev[ev.selected == chosen]
        fig.add_trace(go.Scatter(
            x=part.pct_disadvantaged, y=part.value, mode="markers", name=name,
            marker=dict(color=colour, symbol=symbol, size=11 if chosen else 8, line=dict(width=1, color="#333")),
            text=[html(n) for n in part.name], customdata=part.cohort,
            hovertemplate="%{text}<br>%{x:.0f}% disadvantaged<br>" + label + ": %{y}<br>%{customdata} disadvantaged "
                          "pupils<extra></extra>"))
    if max_value is not None:
        fig.add_hline(y=max_value, line_dash="dash", line_color="#333", annotation_text=f"threshold {threshold_text}")
    if min_pct_disadvantaged is not None:
        fig.add_vline(x=min_pct_disadvantaged, line_dash="dot", line_color="#333",
                      annotation_text=f"{min_pct_disadvantaged:g}% disadvantaged")
    fig.update_layout(xaxis_title="% of pupils disadvantaged", yaxis_title=f"{label}<br>(disadvantaged pupils)",
                      height=430, margin=dict(t=30), legend=dict(orientation="h"))
    return fig


def did_figure(res: kts.CohortComparison) -> tuple[go.Figure, pd.DataFrame]:
    """The cohort's change, its matched comparison schools' change and the difference, with 95% intervals."""
    rows = [("Selected schools: change", *res.selected_change, style.HIGHLIGHT),
            ("Matched schools not selected: change", *res.comparison_change, style.NEUTRAL),
            ("Difference-in-differences", *res.did, "#000000")]
    data = pd.DataFrame(rows, columns=["quantity", "estimate", "low_95", "high_95", "colour"])
    fig = _did_figure(data, kts.measure_label(res.measure), res.baseline_year, res.follow_year)
    return fig, data.drop(columns="colour")


@per_content()
def _did_figure(data: pd.DataFrame, measure_label: str, baseline_year: int, follow_year: int) -> go.Figure:
    fig = go.Figure()
    for r in data.itertuples():
        fig.add_trace(go.Scatter(
            x=[r.estimate], y=[r.quantity], mode="markers", marker=dict(size=13, color=r.colour, symbol="diamond"),
            error_x=dict(type="data", symmetric=False, array=[r.high_95 - r.estimate],
                         arrayminus=[r.estimate - r.low_95], color=r.colour), showlegend=False,
            hovertemplate=f"{r.quantity}: %{{x:.2f}}<extra></extra>"))
    fig.add_vline(x=0, line_color="#333")
    fig.update_layout(xaxis_title=f"Change in disadvantaged pupils' {measure_label}, "
                                  f"{years.label(baseline_year)} to {years.label(follow_year)}",
                      height=260, margin=dict(t=20, l=10), yaxis=dict(autorange="reversed"))
    return fig


@per_content()
def hubs_figure(detail: pd.DataFrame, urns: list, names: list, label: str, n_hubs: int) -> go.Figure:
    """The first hub schools (``urns``, ``names``): each year's result against the family average, with
    95% intervals, one symbol per year."""
    fig = go.Figure()
    palette = list(style.AREA_COLOURS.values()) + [style.GROUP_COLOURS["other"], style.GROUP_COLOURS["disadvantaged"]]
    symbols = ["circle", "square", "diamond", "triangle-up", "cross", "x"]
    shown = {u: html(n) for u, n in zip(urns, names)}
    for i, (y, g) in enumerate(detail.groupby("start_year")):
        fig.add_trace(go.Scatter(
            x=g.vs_family, y=g.urn.map(shown), mode="markers", name=years.label(int(y)),
            marker=dict(color=palette[i % len(palette)], symbol=symbols[i % len(symbols)], size=10),
            error_x=dict(type="data", symmetric=False, array=g.vs_family_high - g.vs_family,
                         arrayminus=g.vs_family - g.vs_family_low, thickness=1),
            customdata=g.cohort, hovertemplate="%{y}: %{x:.2f} above family (%{customdata} pupils)<extra></extra>"))
    fig.add_vline(x=0, line_color="#333")
    order = [shown[u] for u in urns]
    fig.update_layout(xaxis_title=f"{label}: school minus family average, disadvantaged pupils",
                      height=140 + 32 * min(n_hubs, 15), margin=dict(t=20), legend=dict(orientation="h", y=1.06),
                      yaxis=dict(categoryorder="array", categoryarray=order[::-1]))
    return fig
