"""Data: where the numbers come from, what we hold, what the latest build did, how to load your own."""
import streamlit as st


from equity import catalogue, codes
from equity.safe_text import md

import pages._shared as _frame  # noqa: E402

_frame.route_through_frame()

st.title("Data")
st.markdown("Every number on this dashboard comes from public files published by DfE, Ofsted, MHCLG, ONS and "
            "the Social Mobility Commission under the Open Government Licence v3.0. LA and England figures are "
            "shown **as published**; anything this dashboard computes is labelled an *estimate*.")

st.header("What is current")
st.markdown("For each kind of source: the latest academic year or date the database holds, and how old it is. "
            f"A source a page relies on that is more than {catalogue.OLD_AFTER_YEARS} years old gets a warning.")
for warning in catalogue.currency_warnings():
    st.warning(warning, icon=":material/history:")
current = catalogue.currency()
st.dataframe(current[["kind", "files", "latest", "age_years", "relied_on_by"]].rename(columns={
    "kind": "source", "latest": "latest held", "age_years": "age (years)", "relied_on_by": "pages that rely on it"}),
    hide_index=True, width="stretch")

st.header("What we actually hold")
st.dataframe(catalogue.HOLDINGS, hide_index=True, width="stretch")

st.header("Coverage by LA, measure and year (disadvantaged pupils)")
cov = catalogue.coverage()
ks = st.radio("Key stage", [4, 2], format_func=lambda k: f"KS{k}", horizontal=True, key="data_ks", bind="query-params")
sub = cov[(cov.key_stage == ks) & cov.la_code.isin(["850", "936", "815", "919"]) & (cov.measure != "att8_vs_national_other")]
if not sub.empty:
    table = sub.pivot_table(index=["la_name", "measure"], columns="academic_year", values="schools_with_value",
                            aggfunc="sum").fillna(0).astype(int)
    st.caption("Number of schools with a published value for disadvantaged pupils.")
    st.dataframe(table, width="stretch")
national = cov[(cov.key_stage == 4) & (cov.measure == "att8_vs_national_other")]
if not national.empty:
    st.caption(f"2023/24, every school in England: {int(national.schools_with_value.sum()):,} schools with a published "
               "gap to national other pupils (DIFFN Attainment 8).")

st.header("Breaks in the series")
st.markdown("A trend line never crosses one of these.")
st.dataframe(catalogue.breaks(), hide_index=True, width="stretch")

st.header("Latest build")
attempt = catalogue.last_build_attempt()
if attempt and attempt.get("outcome") == "failed":
    fails = [c["message"] for c in attempt.get("checks", []) if c["status"] == "fail"]
    st.error(f"The latest rebuild ({md(attempt.get('started'))}) failed; the dashboard still shows the previous "
             "build. " + " ".join(md(f) for f in fails[:3]))  # messages quote file names and cells: as text
checks = catalogue.ingest_checks()
st.dataframe(checks, hide_index=True, width="stretch")
with st.expander("Files read by the build"):
    st.dataframe(catalogue.files_loaded(), hide_index=True, width="stretch")
with st.expander("Missing-value codes"):
    st.dataframe([{"code": k, "meaning": v} for k, v in codes.MEANINGS.items()], hide_index=True)

st.header("Sources and licences")
src = catalogue.sources()
st.dataframe(src[["file", "publisher", "year", "rows", "licence", "notes"]], hide_index=True, width="stretch")
st.markdown("Attribution: contains public sector information licensed under the Open Government Licence v3.0. "
            "Boundaries and centroids: contains OS data © Crown copyright and database right. "
            "The full register is `data/sources.csv`.")

st.header("Load your own LA's files")
if not _frame.allowed("load_data"):
    _frame.refused("load_data", "load")
st.markdown("""
1. Download your LA's performance tables from DfE's *Compare school and college performance* site
   (KS4 `*_ks4final.csv`, KS2 `*_ks2final.csv`, any year from 2015/16, including 2024/25 as served with
   `_PREV`/`_PREV2` history columns), and any of the other files listed above in the same formats (census,
   spine, GIAS, Ofsted, IoD2019).
2. Put them in a folder, for example `data/user/my_la/`. File names do not matter: each file is recognised
   by its columns and its year is read from its content (history columns, then its England row matched
   against DfE's published England figures); only then from a year in its name or folder (`2024-2025/`),
   and last from `--year 2024/25` on the build command.
3. Run `python -m equity build --source data/raw --source data/user/my_la`. The build prints its report;
   a file it does not recognise is listed and skipped, and a malformed file stops the build with the
   file, row and column, leaving the current database in place.
4. The dashboard picks up the new build on its next page view; no restart is needed.
""")
