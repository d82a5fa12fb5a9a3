"""LA overview: how big the disadvantage gap is, whether it is closing, and which schools stand out."""
import streamlit as st

from equity.present import gap_charts
from equity.analysis import gaps
from equity.measures import MEASURES
from equity.safe_text import md
from equity.years import label as year_label
from pages._shared import chart_block, key_stage_filter, la_filter, latest_year_note

import pages._shared as _frame  # noqa: E402

_frame.route_through_frame()

la = la_filter()
ks = key_stage_filter()
name = gaps.area_name(la)

st.title(f"{md(name)}: the disadvantage gap")
st.caption("LA and England figures are DfE's published rows (some later years as re-published by the Social "
           "Mobility Commission or LG Inform). Anything this dashboard computes is labelled an estimate. "
           "Gap = other pupils minus disadvantaged pupils.")
latest_year_note(la, ks, name)

tiles = gaps.overview_tiles(la)
cols = st.columns(max(len(tiles), 1))
for col, t in zip(cols, tiles):
    with col:
        st.metric(md(t["label"]), t["value"], delta=t["delta"], delta_color=t["delta_color"], border=True)
        st.caption(md(t["note"]))

st.header(f"Trend: {md(name)} and England")
measures = gaps.GAP_MEASURES[ks]
measure = st.selectbox("Measure", measures, index=measures.index(gaps.default_measure(la, ks)),
                       format_func=lambda m: MEASURES[m].label, key="ov_measure", bind="query-params")
lines, breaks = gaps.trend_lines(la, ks, measure, view="groups")
fig = gap_charts.trend_figure(lines, breaks, measure, view="groups")
chart_block(fig, md(gaps.trend_sentence(la, ks, measure)),
            lines[["series", "academic_year", "value", "n", "source"]].rename(columns={"n": "pupils"}),
            f"trend_{la}_ks{ks}_{measure}.csv", key="ov_trend")
st.caption("Each unbroken run of years is its own line; a dotted vertical marker shows a break in the series "
           "(its reason above the chart). Thick lines: the LA; dotted lines with open markers: England.")

st.header("Schools against the LA: funnel plot")
options = gaps.funnel_options(la, ks, measure)
quantities = [q for q in gaps.QUANTITIES if options.get(q)]
if not quantities:
    st.info(f"No school has a published {MEASURES[measure].label} value for disadvantaged pupils in {md(name)} in the "
            "bundled data. Try another measure or key stage.")
else:
    c1, c2, c3 = st.columns([2, 1, 1])
    quantity = c1.radio("Plot", quantities, format_func=lambda q: gaps.QUANTITIES[q], key="ov_quantity",
                        horizontal=True, bind="query-params")
    years = options[quantity][::-1]
    year = c2.selectbox("Year", years, format_func=year_label, key="ov_year", bind="query-params")
    between = c3.checkbox("Allow for real differences between schools", value=True, key="ov_between",
                          bind="query-params",
                          help="On by default. Schools differ for real reasons (intake, not only chance): this widens "
                               "the limits by the spread between schools that is more than chance (DerSimonian-Laird "
                               "between-school variance, Spiegelhalter's additive method), so only schools that stand "
                               "out beyond the usual spread are flagged. Off: the limits allow for chance alone, and "
                               "many schools fall outside them.")
    f = gaps.school_funnel(la, ks, measure, year, quantity, allow_between_school=between)
    table = f["points"].rename(columns={"y": gaps.QUANTITIES[quantity], "x": "pupils (x axis)"}) \
        if not f["points"].empty else f["points"]
    chart_block(gap_charts.funnel_figure(f, measure, name), md(gaps.funnel_sentence(f, name, measure)), table,
                f"funnel_{la}_ks{ks}_{measure}_{quantity}_{year}.csv", key="ov_funnel")
    st.subheader("Schools outside the 95% limits")
    out = f["outliers"]
    if out.empty:
        st.write("None: every school is within the limits around the centre line"
                 + (" (chance plus the usual spread between schools)." if between else " (chance alone)."))
    else:
        cols = ["name", "urn", "y", "n_disadvantaged"] + (["n_other"] if quantity == "gap" else []) + \
            ["direction", "outside_998"]
        st.dataframe(out[cols].rename(
            columns={"y": gaps.QUANTITIES[quantity], "n_disadvantaged": "disadvantaged pupils",
                     "n_other": "other pupils", "outside_998": "outside 99.8%"}), hide_index=True, width="stretch")
    with st.expander("How this is worked out"):
        st.markdown("\n\n".join([gaps.METHOD["funnel"], gaps.METHOD["noise"],
                                 f"Pupil-level spread used: {f.get('sd_unit', float('nan')):.2f}"
                                 + (f"; between-school variance {f['tau2']:.2f}" if f.get("tau2") else "")
                                 + ". Special schools are left out.", gaps.METHOD["estimate"]]))
