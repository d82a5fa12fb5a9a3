"""Gap trends: the gap for an LA, England and chosen schools over the years, breaks visible, and every
school's gap with a pooled three-year view for small cohorts."""
import streamlit as st

from equity.present import gap_charts
from equity.analysis import gaps
from equity.csv_export import to_csv_bytes
from equity.measures import GROUP_LABELS, MEASURES
from equity.safe_text import md
from equity.years import label as year_label
from pages._shared import chart_block, key_stage_filter, la_filter, latest_year_note

import pages._shared as _frame  # noqa: E402

_frame.route_through_frame()

la = la_filter()
ks = key_stage_filter()
name = gaps.area_name(la)

st.title(f"Gap trends: {md(name)}")
st.caption("Lines join only comparable years: a break in the series (a change of scale, the pandemic years, a "
           "missing year) starts a new line. LA and England figures are published; estimates are open markers.")
latest_year_note(la, ks, name)

c1, c2 = st.columns([1, 1])
measures = gaps.GAP_MEASURES[ks]
measure = c1.selectbox("Measure", measures, index=measures.index(gaps.default_measure(la, ks)),
                       format_func=lambda m: MEASURES[m].label, key="gt_measure", bind="query-params")
view = c2.radio("Show", list(gaps.VIEWS), format_func=gaps.VIEWS.get, key="gt_view", horizontal=True,
                bind="query-params")
groups = ["disadvantaged", "other"]
if view == "groups":
    groups = st.multiselect("Pupil groups", ["disadvantaged", "other", "all"], default=["disadvantaged", "other"],
                            format_func=GROUP_LABELS.get,
                            key="gt_groups", bind="query-params") or ["disadvantaged"]
options = gaps.school_options(la, ks, measure)
names = dict(zip(options.urn.astype(int), options.name))
schools = st.multiselect("Schools (up to 6)", list(names), format_func=lambda u: names.get(u, str(u)),
                         key="gt_schools", bind="query-params", max_selections=6,
                         placeholder="Add schools to compare with the LA and England")

lines, breaks = gaps.trend_lines(la, ks, measure, view=view, groups=groups, urns=schools)
chart_block(gap_charts.trend_figure(lines, breaks, measure, view=view),
            md(gaps.lines_sentence(lines, la, ks, measure, view)),
            lines[["series", "academic_year", "value", "n", "source"]].rename(columns={"n": "pupils"}),
            f"gap_trends_{la}_ks{ks}_{measure}_{view}.csv", key="gt_chart")
with st.expander("How gaps and trends are worked out"):
    st.markdown("\n\n".join([gaps.METHOD["gap"], gaps.METHOD["gap_to_national_other"], gaps.METHOD["noise"],
                             gaps.METHOD["estimate"]]))

st.header("Every school's gap, with a pooled three-year view")
years = gaps.funnel_options(la, ks, measure)
end_years = sorted(set(years["gap"]) | set(years["gap_to_national_other"]), reverse=True)
if not end_years:
    st.info(f"No school in {md(name)} has a published {MEASURES[measure].label} value for disadvantaged pupils.")
else:
    c1, c2 = st.columns([1, 2])
    end = c1.selectbox("Year", end_years, index=0, format_func=year_label, key="gt_year", bind="query-params")
    weights = c2.radio("Pooling weights", ["pupils", "3:2:1"], key="gt_weights", horizontal=True,
                       bind="query-params", format_func=lambda w: {"pupils": "by pupils",
                                                                   "3:2:1": "by pupils, 3:2:1 towards the latest year"}[w])
    table = gaps.pooled_school_gaps(la, ks, measure, int(end), weights=weights)
    st.markdown(md(gaps.pooled_sentence(table, name, measure)))
    show = table.rename(columns={
        "n_disadvantaged": "disadvantaged pupils", "n_other": "other pupils", "gap": "gap (this year)",
        "gap_to_national_other": "gap to national other", "pooled_gap": "pooled gap (estimate)",
        "pooled_disadvantaged": "pooled disadvantaged (estimate)", "pooled_other": "pooled other (estimate)",
        "pooled_n_disadvantaged": "pooled disadvantaged pupils", "pooled_years": "years pooled",
        "pooled_gap_to_national_other": "pooled gap to national other (estimate)",
        "dfe_3yr_all": "DfE 3-year, all pupils", "small_cohort": f"fewer than {gaps.SMALL_COHORT} disadvantaged"})
    cols = ["name", "urn", "school_type", "disadvantaged", "other", "gap (this year)", "gap to national other", "disadvantaged pupils",
            "pooled gap (estimate)", "pooled gap to national other (estimate)", "pooled disadvantaged pupils",
            "years pooled", "DfE 3-year, all pupils", f"fewer than {gaps.SMALL_COHORT} disadvantaged", "status"]
    st.dataframe(show[[c for c in cols if c in show]], hide_index=True, width="stretch")
    st.download_button("Download CSV", lambda: to_csv_bytes(table),  # written on click, not on every run
                       file_name=f"school_gaps_{la}_ks{ks}_{measure}_{year_label(int(end)).replace('/', '-')}.csv",
                       mime="text/csv", key="dl-gt-table")
    st.caption(gaps.METHOD["pooled"])
