"""Data: where the numbers come from, what we hold, what the latest build did, how to load your own."""
import streamlit as st


from equity.analysis import catalogue
from equity import codes
from equity.ingest import uploads
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
   `_PREV`/`_PREV2` history columns), or the zip the site serves, and any of the other files listed above in
   the same formats (census, spine, GIAS, Ofsted, IoD2019). File names do not matter: each file is recognised
   by its columns and its year is read from its content (history columns, then its England row matched
   against DfE's published England figures); only then from a year in its name or folder (`2024-2025/`).
2. Upload them below (an admin, once sign-in is configured). The build runs in the background with the data
   this database was built from plus your files, through the same checks as the command line; this page shows
   its progress, then its report: what loaded, what was skipped and why, and any problem with its file, row
   and column. Only a build that succeeds replaces the database: every page shows it on its next view, no
   restart needed. A failed build leaves the current database in place. Uploads are kept on the server, one
   folder each, so a build can be repeated.
3. Or, on the server: put the files in a folder, for example `data/user/my_la/`, and run
   `python -m equity build --source data/raw --source data/user/my_la` (`--year 2024/25` dates results files
   that nothing else dates).
""")
if _frame.allowed("load_data"):
    st.subheader("Load your own files")
    limits = uploads.limits()
    job = uploads.status()
    busy = bool(job and job["state"] == "running")
    st.caption(f"CSV files, or the zip DfE serves (holding CSV files only): at most {limits['file'] >> 20:,} MB a "
               f"file and {limits['total'] >> 20:,} MB an upload.")
    files = st.file_uploader("DfE files to load", type=["csv", "zip"], accept_multiple_files=True,
                             max_upload_size=limits["file"] >> 20, key="upload_files", disabled=busy)
    who = _frame.visitor().email  # the signed-in identity; None when the app is open
    if st.button("Load these files", type="primary", disabled=busy or not files):
        try:
            uploads.start(uploads.save([(f.name, f.getvalue()) for f in files], who=who), who=who)
        except uploads.Refused as exc:  # names are the user's: shown as text
            st.error("Nothing was loaded. " + " ".join(f"{md(name)} {md(why)}." for name, why in exc.problems))
        except uploads.Busy as exc:
            st.warning(md(str(exc)).capitalize() + ".")
    kept = uploads.kept()
    if kept:
        with st.expander("Build again from files uploaded before"):
            names = {m["id"]: uploads.describe(m) for m in kept}
            again = st.selectbox("Upload", list(names), format_func=names.get, key="upload_again")
            if st.button("Build again from these files", disabled=busy):
                try:
                    uploads.rebuild(again, who=who)
                except uploads.Busy as exc:
                    st.warning(md(str(exc)).capitalize() + ".")

    def _build_job() -> None:
        """The browser build's progress, polled; then its outcome and report."""
        job = uploads.status()
        if job is None:
            return
        if job["state"] == "running":
            st.progress(min(max(float(job.get("fraction") or 0), 0.0), 1.0), text=md(job.get("text") or ""))
            st.session_state["_upload_watching"] = job["id"]
            return
        if st.session_state.pop("_upload_watching", None) == job["id"]:
            st.rerun(scope="app")  # it has just finished: the whole page reads the new database
        if job["state"] == "built":
            st.success(f"The build started {md(job['started'])} finished: every page shows the new data on its next "
                       "view.", icon=":material/check_circle:")
        else:
            st.error(f"The build started {md(job['started'])} failed: {md(job['message'])}. The dashboard still "
                     "shows the previous build.")
        if job.get("left_out"):
            st.warning("Sources of the previous build no longer found, left out: "
                       + ", ".join(md(p.rsplit("/", 1)[-1]) for p in job["left_out"]) + ".")
        if job.get("report"):
            st.markdown("Its report:")
            st.dataframe(catalogue.attempt_checks(job["report"]), hide_index=True, width="stretch")
            with st.expander("Files it read"):
                st.dataframe(catalogue.attempt_files(job["report"]), hide_index=True, width="stretch")

    st.fragment(run_every=1.0 if uploads.building() or busy else None)(_build_job)()
