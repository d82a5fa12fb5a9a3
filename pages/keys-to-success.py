"""Keys to Success: which schools face the toughest circumstances (an editable rule, in plain words),
whether selected schools improve more than equivalent schools, and which schools are hubs.

Every number comes from ``equity.analysis.keys_to_success``; this page lays them out.
"""
import streamlit as st

from equity.analysis import keys_to_success as kts
from equity import lookups
from equity.analysis import partnerships
from equity.analysis import ofsted as ofsted_rules
from equity import years as yrs
from equity.words import fmt_short
from equity.safe_text import md
from pages import _kts
from pages._shared import chart_block, key_stage_filter, la_filter, latest_year_note

import pages._shared as _frame  # noqa: E402

_frame.route_through_frame()

st.title("Keys to Success")
st.markdown(
    "Greater Manchester's *Keys to Success* gave about 160-200 of its 1,100+ schools, those \"facing the most "
    "challenging circumstances\", intensive support, mostly by pairing each with a stronger school in similar "
    "circumstances, often in another LA. This page applies a **transparent rule** to pick such schools here, "
    "checks whether selected schools improve more than equivalent schools that were not selected, and finds "
    "**hub schools** that do well for disadvantaged pupils year after year. Partners and the register of "
    "partnerships are on the *Partnerships* page.")

la = la_filter()
ks = key_stage_filter()
las = lookups.las_with_data()
la_name = dict(zip(las.la_code, las.la_name)).get(la, la)
latest_year_note(la, ks, la_name)
st.sidebar.header("Selection rule")
rule = _kts.rule_widgets(ks, la)
if rule is None:
    st.info(f"We hold no KS{ks} results for disadvantaged pupils in {md(la_name)}. KS4 results with the disadvantaged "
            "split are held for Hampshire, Surrey and North Yorkshire (and the gap to national other pupils for every "
            "school in England in 2023/24); KS2 for Hampshire and Surrey.")
    st.stop()
label = kts.measure_label(rule.measure)
fmt = lambda v, signed=False: fmt_short(rule.measure, v, signed)  # noqa: E731

# ---- the rule ------------------------------------------------------------------------------------
st.header("The rule")
st.markdown(rule.describe())
england = kts.england_value(ks, rule.measure, rule.year)
if england is not None:
    st.caption(f"For reference, DfE's published figure for disadvantaged pupils in England (state-funded schools) "
               f"in {yrs.label(rule.year)}: {fmt(england)}.")
cut = kts.ofsted_cutoff(ks, rule.year, [la])
st.caption("Ofsted judgements used: " + ("every judgement held (this is the latest year of results)" if cut is None
                                         else f"those made by {cut:%d %B %Y}, the end of that academic year"))
with st.expander("The Ofsted and 'stuck' signs under each framework"):
    st.markdown(ofsted_rules.SIGN_RULE)
with st.expander("Why these default thresholds?"):
    st.markdown(kts.WHY_DEFAULTS)
    st.markdown("Change any threshold in the sidebar; the page and its URL follow, so a rule can be shared as a link.")

# ---- the cohort ---------------------------------------------------------------------------------
st.header("Candidate schools")
ev = _kts.evaluate(rule, la)
sel = ev[ev.selected]
if ev.empty:
    st.info(f"No {md(la_name)} school has a KS{ks} {label} figure for disadvantaged pupils in {yrs.label(rule.year)}.")
else:
    fig = _kts.candidates_figure(ev[["selected", "pct_disadvantaged", "value", "name", "cohort"]], label,
                                 rule.max_value, rule.min_pct_disadvantaged, fmt(rule.max_value))
    if len(sel):
        worst = sel.iloc[0]
        sentence = (f"In {yrs.label(rule.year)}, **{len(sel)} of {len(ev)}** {md(la_name)} schools with KS{ks} results meet "
                    f"the rule ({len(sel) / len(ev):.0%}). Their disadvantaged pupils' {label} runs from "
                    f"{fmt(sel.value.min())} to {fmt(sel.value.max())} "
                    f"(weakest: {md(worst['name'])}, {fmt(worst.value)}, {int(worst.cohort)} pupils), and "
                    f"{sel.pct_disadvantaged.min():.0f}-{sel.pct_disadvantaged.max():.0f}% of their pupils are "
                    f"disadvantaged. {ofsted_rules.cohort_sentence(sel, kts.ofsted_cutoff(ks, rule.year, [la]))} "
                    f"{int(sel.meets_trend.sum())} fell clearly since the year before. Selected schools are orange "
                    "diamonds.")
    else:
        sentence = (f"In {yrs.label(rule.year)}, none of the {len(ev)} {md(la_name)} schools with KS{ks} results meets the "
                    f"rule: {int(ev.meets_outcome.sum())} are at or below the threshold and "
                    f"{int(ev.meets_share.sum())} have enough disadvantaged pupils, but not both.")
    table = ev[["urn", "name", "academic_year", "pct_disadvantaged", "cohort", "value", "ci_low", "ci_high",
                "previous_value", "ofsted_latest", "meets_ofsted", "meets_stuck", "selected", "reasons_text"]].rename(
        columns={"cohort": "disadvantaged_pupils", "value": f"{rule.measure}_disadvantaged", "reasons_text": "reasons",
                 "ofsted_latest": "ofsted_latest_held_with_date", "meets_ofsted": "ofsted_sign",
                 "meets_stuck": "stuck"})
    chart_block(fig, sentence, table, f"keys_to_success_{la}_ks{ks}_{yrs.file_label(rule.year)}.csv", key="kts_scatter")
    if len(sel):
        st.subheader("Why each school qualifies")
        st.dataframe(sel[["urn", "name", "ofsted_latest", "reasons_text"]].rename(
            columns={"reasons_text": "reasons", "ofsted_latest": "Ofsted: latest graded judgement held (framework, date)"}),
            hide_index=True, width="stretch")
    near = kts.near_misses(ev)
    with st.expander(f"Near misses: {len(near)} schools meet all but one condition"):
        st.dataframe(near[["urn", "name", "reasons_text"]].rename(columns={"reasons_text": "what it misses"}),
                     hide_index=True, width="stretch")

# ---- progress against comparison -----------------------------------------------------------------
st.header("Do selected schools improve more than equivalent schools?")
st.markdown(
    "Schools picked for low results tend to do better the next time anyway: part of a low result is bad luck "
    "(*regression to the mean*). So a selected school's improvement only counts when it beats schools that were "
    "**not selected** but started from the **same result**, with as many disadvantaged pupils and a similar intake. "
    "We report the difference between the two changes (a *difference-in-differences*) with a bootstrap 95% "
    "interval, and a ratio (\"times as fast\") only when the comparison schools clearly improved.")


st.subheader("Partnerships in the register")
try:
    cohort, message = partnerships.cohort_comparison(ks)
except partnerships.RegisterError as exc:  # a register that cannot be read is never shown as empty
    cohort, message = None, None
    st.error(partnerships.explain(exc))
if cohort is None:
    if message:
        st.info(md(message))
elif cohort.did[1] != cohort.did[1]:  # too few schools for an interval: words and the table, no chart
    st.markdown(md(cohort.sentence()))
    st.dataframe(cohort.schools, hide_index=True, width="stretch")
else:
    fig, data = _kts.did_figure(cohort)
    chart_block(fig, md(cohort.sentence()), data, f"partnership_cohort_ks{ks}.csv", key="kts_cohort")

st.subheader("Back-test of the rule (HYPOTHETICAL)")
bt_las = " and ".join(md(dict(zip(las.la_code, las.la_name)).get(c, c)) for c in kts.BACKTESTS[ks])
st.warning(f"**HYPOTHETICAL.** Nobody was supported here. Until real partnerships have results, this applies the rule "
           f"above to **2016/17** in {bt_las} (KS{ks}), follows the schools it would have picked to **2018/19**, and "
           "compares them with matched schools it would not have picked. With no programme at all, an honest "
           "comparison should find no difference; a plain before-and-after look would wrongly show improvement.")
try:
    bt = _kts.backtest(ks, rule)
except ValueError as exc:
    st.info(f"The back-test cannot run with this rule: {md(exc)}")
else:
    fig, data = _kts.did_figure(bt)
    chart_block(fig, md(bt.sentence()), data, f"backtest_ks{ks}_{rule.measure}.csv", key="kts_backtest")
    for note in bt.notes:
        st.caption(md(note))
    with st.expander("Selected schools and their comparison schools"):
        st.dataframe(bt.schools, hide_index=True, width="stretch")
        st.caption("Balance: averages of what the matching used (the comparison schools' change is adjusted for the "
                   "remaining difference in starting point).")
        st.dataframe(bt.balance, hide_index=True, width="stretch")

# ---- hubs ---------------------------------------------------------------------------------------
st.header("Hub schools")
st.markdown(f"Schools whose disadvantaged pupils did better than the average of the school's **family** (the "
            f"schools with the most similar intake elsewhere, see *Families of schools*) in **every** year we hold, "
            f"at least two, on {label}. Natural partners and places to learn from.")
hub = _kts.hubs(ks, rule.measure, la)
if hub.empty:
    st.info(f"No {md(la_name)} school was above its family on {label} for disadvantaged pupils in every year held "
            "(or fewer than two years can be compared).")
else:
    detail = _kts.hub_years(ks, rule.measure, tuple(hub.urn.head(15)))
    fig = _kts.hubs_figure(detail, hub.urn.head(15).tolist(), hub.name.head(15).tolist(), label, len(hub))
    top = hub.iloc[0]
    sentence = (f"**{len(hub)}** {md(la_name)} schools were above their family for disadvantaged pupils in every year held. "
                f"{md(top['name'])} led by {fmt(top.mean_vs_family, True)} on average over {int(top.years)} years (at "
                f"least {fmt(top.min_vs_family, True)}; smallest group {int(top.pupils_min)} pupils). "
                f"{int((hub.clearly_above_years == hub.years).sum())} of them were *clearly* above (95% interval above "
                "zero) in every year; the others may partly be luck. Bars are 95% intervals; each symbol is a year.")
    chart_block(fig, sentence, hub, f"hubs_{la}_ks{ks}_{rule.measure}.csv", key="kts_hubs")
