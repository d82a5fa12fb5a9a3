"""LA comparison: an LA against England, its region and similar LAs, on published LA figures only."""
import streamlit as st

from equity.present import gap_charts
from equity.analysis import gaps, la_compare
from equity.measures import LA_ALL_PUPILS, MEASURES, REGION_MEASURES
from equity.safe_text import md
from pages._shared import chart_block, la_filter

import pages._shared as _frame  # noqa: E402

_frame.route_through_frame()

la = la_filter()
name = gaps.area_name(la)

st.title(f"{md(name)} compared with England, its region and similar LAs")
st.caption("Published LA figures only (DfE, and DfE statistics re-published by the Social Mobility Commission and "
           "LG Inform). No figure here is recomputed from schools; a region is shown as its LAs side by side.")
with st.expander("What the bundled data allow", expanded=True):
    st.markdown("\n".join(f"- {md(s)}" for s in la_compare.availability(la)))

st.header("Disadvantaged and other pupils, LA by LA")
sets = la_compare.comparison_sets()
if sets.empty:
    st.info("No measure is published for enough LAs to compare.")
else:
    keys = [f"{k}-{m}-{y}" for k, m, y in zip(sets.key_stage, sets.measure, sets.start_year)]
    labels = dict(zip(keys, sets.label))
    choice = st.selectbox("Measure and year", keys, format_func=labels.get, key="cmp_set", bind="query-params")
    ks, measure, year = choice.split("-")[0], choice.split("-")[1], choice.split("-")[2]
    ks, year = int(ks), int(year)
    group = la_compare.neighbour_group(la)
    against_opts = ["region", "nearest_fsm"] + (["neighbours"] if group["relation"] else []) + ["england"]
    against_names = {"region": "its region", "nearest_fsm": "LAs with the nearest FSM rate",
                     "neighbours": f"{md(group.get('subject_name') or '')}'s statistical neighbours", "england": "every LA"}
    against = st.radio("Compare with", against_opts, format_func=against_names.get, key="cmp_against",
                       horizontal=True, bind="query-params")
    c = la_compare.compare(la, ks, measure, year, against)
    table = c["table"]
    fig = gap_charts.dumbbell_figure(table, la, c["england"], measure, height=None if against != "england" else 2400)
    data = table[["area_code", "area_name", "region_name", "disadvantaged", "other", "gap", "n_disadvantaged",
                  "rank_in_england", "source"]] if not table.empty else table
    chart_block(fig, md(c["sentence"]), data, f"compare_{la}_{choice}_{against}.csv", key="cmp_chart")
    if against == "nearest_fsm":
        st.caption("Nearest FSM rate: the ten LAs whose share of pupils eligible for free school meals (DfE, autumn "
                   "2020) is closest to this LA's. A simple, transparent choice of ours, not DfE's statistical "
                   "neighbours.")

st.header("Pupils eligible for free school meals")
fsm = la_compare.fsm_lines(la)
if fsm.empty:  # said in words: an empty chart would still cost a fresh tab Plotly's load and draw
    st.info(md(la_compare.fsm_sentence(fsm, name)))
else:
    fig = gap_charts.lines_figure(fsm, "start_year", "value", "series", name, "% of pupils eligible for FSM",
                                  breaks_by=lambda a, b: a < 2020 <= b or b - a > 1)
    chart_block(fig, md(la_compare.fsm_sentence(fsm, name)), fsm, f"fsm_{la}.csv", key="cmp_fsm")
    st.caption("Spring census 2015/16 to 2019/20, autumn census 2020/21 (not joined: a different point in the year).")

st.header("Statistical neighbours")
group = la_compare.neighbour_group(la)
if group["relation"] is None:
    st.info(f"Only {md(group.get('subject_name') or 'one LA')}'s statistical-neighbour list is bundled, and {md(name)} is not "
            "on it. Use 'LAs with the nearest FSM rate' above instead.")
else:
    nb_measure = st.radio("Measure (all pupils)", list(LA_ALL_PUPILS), format_func=lambda m: MEASURES[m].label,
                          key="cmp_nb_measure", horizontal=True, bind="query-params")
    nb_ks = MEASURES[nb_measure].key_stage
    nb = la_compare.neighbour_lines(group["subject"], nb_measure)
    fig = gap_charts.lines_figure(nb, "start_year", "value", "series", name, MEASURES[nb_measure].label,
                                  breaks_by=lambda a, b: gaps.break_reasons(a, b, nb_ks, nb_measure))
    chart_block(fig, md(la_compare.neighbour_sentence(nb, group["subject_name"], name, nb_measure)), nb,
                f"neighbours_{group['subject']}_{nb_measure}.csv", key="cmp_nb")
    st.caption(f"{md(group['subject_name'])}'s ten children's-services statistical neighbours (DfE), via LG Inform. "
               "All pupils only: these files have no disadvantaged split.")

st.header("ITL2 regions: pupils eligible for free school meals")
itl_measure = st.radio("Measure", list(REGION_MEASURES), format_func=lambda m: MEASURES[m].label, key="cmp_itl2",
                       horizontal=True, bind="query-params")
itl = la_compare.itl2_for(la)
itl_table = la_compare.itl2_table(itl_measure)
if itl_table.empty:
    st.info("No ITL2 figures in the bundled data.")
else:
    df = itl_table.rename(columns={"area_name": "area_name", "fsm_eligible": "disadvantaged",
                                   "not_fsm_eligible": "other"}).assign(area_code=itl_table.area_name)
    fig = gap_charts.dumbbell_figure(df, itl, None, itl_measure,
                                     group_labels={"disadvantaged": "FSM-eligible pupils",
                                                   "other": "pupils not eligible for FSM"})
    chart_block(fig, md(la_compare.itl2_sentence(itl_table, itl, itl_measure)), itl_table, f"itl2_{itl_measure}.csv",
                key="cmp_itl2_chart")

st.header("England: DfE's disadvantage gap index")
idx = la_compare.gap_index()
if not idx.empty:
    idx = idx.assign(series=idx.key_stage.map(lambda k: f"KS{k}"))
    fig = gap_charts.lines_figure(idx, "start_year", "value", "series", None, "Gap index (0 = no gap)",
                                  breaks_by=lambda a, b: b - a > 1)
    chart_block(fig, md(la_compare.gap_index_sentence(idx)), idx[["series", "academic_year", "value", "status", "source"]],
                "gap_index_england.csv", key="cmp_index")
