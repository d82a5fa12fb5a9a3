"""School profile: everything about one school on one page. ``?urn=`` restores the view."""
from pathlib import Path

import pandas as pd
import streamlit as st

from equity.analysis import ofsted as ofsted_rules
from equity.analysis import profile
from equity.safe_text import md
from equity.measures import MEASURES
from equity.present.pack_charts import ofsted_timeline, ranked_bar, trend_figure
from pages._shared import chart_block, key_stage_filter, urn_from

import pages._shared as _frame  # noqa: E402

_frame.route_through_frame()

ROOT = Path(__file__).resolve().parent.parent
st.title("School profile")
st.caption("Context, results for disadvantaged and other pupils over time, position among similar schools, "
           "Ofsted history and partnerships for one school. Figures as published; groups of fewer than 6 pupils "
           "are never shown.")


def _pick():
    if st.session_state.get("pick"):
        st.session_state["urn"] = str(st.session_state["pick"])


c1, c2, c3 = st.columns([2, 3, 1])
q = c1.text_input("Find a school: name, URN or postcode", key="q", bind="query-params")
found = profile.search(q) if q else pd.DataFrame(columns=["urn", "name", "la_name", "postcode"])
labels = {int(r.urn): f"{r.name} ({int(r.urn)}), {r.la_name or ''} {r.postcode or ''}".strip()
          for r in found.itertuples()}
c2.selectbox(f"{len(found)} school(s) found" if q else "Matches", list(labels), index=None, key="pick",
             format_func=lambda u: labels.get(u, str(u)), on_change=_pick,
             placeholder="choose a school" if labels else "type a name, URN or postcode first")
urn_text = c3.text_input("URN", key="urn", bind="query-params")

urn = urn_from(urn_text)  # checked: digits only, in URN range; a bad one is explained
school = profile.school(urn) if urn else None
if school is None:
    if urn is not None:
        st.warning(f"No school with URN {urn} in this database.")
    st.info("Find a school by name, URN or postcode, or open a profile from another page (`?urn=` in the address).")
    st.stop()

name = school["name"]  # as in the file: escaped (md) wherever it goes into Markdown
st.header(md(name))
lin = profile.lineage(urn)
meta = [f"URN {urn}", f"{school.get('la_name') or ''} ({school.get('la_code')})", school.get("phase") or "",
        school.get("type_group") or ""]
st.markdown(" · ".join(md(m) for m in meta if m))
if len(lin):
    st.markdown("Linked schools (GIAS): " + "; ".join(
        f"{md(r.relation)} [{md(r.name or 'unknown')} ({int(r.related_urn)})](/school?urn={int(r.related_urn)})"
        f"{' — ' + md(r.link_type) if isinstance(r.link_type, str) else ''}"
        f"{', ' + str(r.link_date)[:10] if pd.notna(r.link_date) else ''}" for r in lin.itertuples()))

# ---- context ---------------------------------------------------------------------------------------
st.subheader("Context")
ctx = profile.context_table(urn)
hist = profile.context_history(urn)
if not hist.empty:
    last = hist.iloc[-1]
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(f"Pupils at end of KS{int(last.key_stage)} ({last.academic_year})",
              "–" if pd.isna(last.cohort) else f"{int(last.cohort)}")
    m2.metric("Disadvantaged", "–" if pd.isna(last.pct_disadvantaged) else f"{last.pct_disadvantaged:.0f}%")
    m3.metric("English as an additional language", "–" if pd.isna(last.pct_eal) else f"{last.pct_eal:.0f}%")
    m4.metric("Special educational needs", "–" if pd.isna(last.pct_sen) else f"{last.pct_sen:.0f}%")
st.dataframe(ctx, hide_index=True, width="stretch")
nb, why = profile.neighbourhood(urn)
if nb is None:
    st.caption(f"Neighbourhood deprivation: {md(why)}.")
else:
    st.caption("Neighbourhood deprivation is for the school's own LSOA and its surroundings, a proxy: pupils may "
               "live elsewhere.")
if len(hist) > 1:
    with st.expander("Context by year"):
        st.dataframe(hist.drop(columns=["urn", "source_file"]), hide_index=True, width="stretch")

# ---- outcomes ------------------------------------------------------------------------------------
st.subheader("Results for disadvantaged and other pupils")
kss = profile.key_stages(urn)
if not kss:
    st.info(f"No KS2 or KS4 results for {md(name)} (or its predecessor schools) in this database.")
else:
    # the shared key-stage filter (?ks=4); a school opened without one starts on its own key stage
    if "ks" not in st.session_state and "ks" not in st.query_params:
        st.session_state["ks"] = kss[0]
    ks = key_stage_filter(sidebar=False)
    if ks not in kss:
        st.info(f"{md(name)} has no KS{ks} results; it has KS{' and KS'.join(map(str, kss))}.")
        st.stop()
    res = profile.outcomes(urn, ks)
    measures = profile.measures_available(res, ks)
    default = profile.default_measure(res, ks)
    if measures:
        # one measure widget per key stage: their options differ
        measure = st.selectbox("Measure", measures, index=measures.index(default) if default in measures else 0,
                               format_func=lambda m: MEASURES[m].label, key=f"measure{ks}", bind="query-params")
        compare = st.checkbox(f"Compare with {md(school.get('la_name') or 'the LA')} and England (published)",
                              key="cmp", bind="query-params")
        st.caption(MEASURES[measure].meaning)
        split = res[(res.measure == measure) & (res.pupil_group != "all")].value.notna().any()
        data = profile.trend_data(res, measure, name, groups=("disadvantaged", "other") if split else ("all",))
        if compare:
            pub = profile.published_comparison(school["la_code"], ks, measure)
            data = pd.concat([data, pub[data.columns.intersection(pub.columns)]], ignore_index=True)
        fig = trend_figure(data, ks, measure, f"{name}: {MEASURES[measure].label}")
        table = profile.gaps(res, measure).drop(columns=["start_year"])
        chart_block(fig, md(profile.outcome_sentence(res, measure, name, ks)), table,
                    f"profile-{urn}-ks{ks}-{measure}.csv", key="trend")
        st.caption("No line is drawn across a break in the series (dotted rule). Bars are DfE's 95% confidence "
                   "intervals where published. Years published under a predecessor or successor URN are labelled.")

    # ---- family --------------------------------------------------------------------------------
    st.subheader("Position among similar schools")
    fo, sentence = profile.family_position(urn, ks)
    if fo is None:
        st.info(md(sentence))
    else:
        m, fam = fo.measure, fo.table
        d = fam.assign(label=[("▶ " if r == "this school" else "") + str(n) for n, r in zip(fam.name, fam.role)],
                       key=fam.urn)
        fig = ranked_bar(d, m, f"{fo.measure_label}: {name} and its family",
                         highlight=[fam.urn.iloc[0]], reference=fo.family_median,
                         reference_label="family median")
        table = fam[["role", "urn", "name", "la_name", "closeness", "distance", "km", "value", "cohort", "years",
                     "position"]]
        chart_block(fig, md(sentence), table, f"family-{urn}-{m}.csv", key="family")
        if (ROOT / "pages" / "families.py").exists():
            st.page_link(str(ROOT / "pages" / "families.py"), label="Open the family, its method and its map",
                         icon=":material/groups:", query_params={"urn": str(urn)})

# ---- Ofsted ----------------------------------------------------------------------------------------
st.subheader("Ofsted inspections")
card, card_sentence = profile.report_card(urn)
if len(card):
    st.markdown("**Latest report card.** " + md(card_sentence))
    st.dataframe(card, hide_index=True, width="stretch")
    st.caption("Report-card areas are graded Exceptional, Strong standard, Expected standard, Needs attention or "
               "Urgent improvement; Early years and Post-16 only where the school has them.")
else:
    st.caption(md(card_sentence))
of = profile.ofsted_history(urn)
if of.empty:
    st.info(md(profile.ofsted_sentence(of, name)))
else:
    chart_block(ofsted_timeline(of, f"Ofsted single-word grades: {name} and linked schools"),
                md(profile.ofsted_sentence(of, name)), of.drop(columns=["source_file", "summary"]), f"ofsted-{urn}.csv",
                key="ofsted")
    st.markdown("**Every judgement held, newest first**")
    st.dataframe(profile.ofsted_table(of), hide_index=True, width="stretch")
    st.caption("The chart shows single-word grades: 1 Outstanding, 2 Good, 3 Requires improvement (Satisfactory before "
               "September 2012), 4 Inadequate. Ofsted stopped them in September 2024 (dotted rule); report cards and "
               "inspections without an overall grade are in the table, each with its date and framework. "
               "'dated' = more than " + str(ofsted_rules.DATED_AFTER_YEARS) + " years old.")

# ---- partnerships ------------------------------------------------------------------------------------
st.subheader("Partnerships")
parts, why = profile.partnerships_for(urn)
if parts is None:
    st.info(md(why))
elif parts.empty:
    st.markdown(f"{md(name)} is not in any partnership in the register.")
else:
    st.markdown(f"{md(name)} is in {len(parts)} partnership(s) in the register.")
    st.dataframe(parts[["id", "role", "school_urn", "partner_urns", "key_stage", "baseline_year", "start_date",
                        "end_date", "status", "focus", "notes"]], hide_index=True, width="stretch")
