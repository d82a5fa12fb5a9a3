"""Partnerships: suggested pairings (with the reason for each), the register officers keep (accept,
edit, end; CSV export and import; audit trail), and the tracker that follows both schools of a
partnership against their own families.

Numbers come from ``equity.analysis.keys_to_success`` and ``equity.analysis.partnerships``; this page lays them out.
"""
from datetime import date

import plotly.graph_objects as go
import streamlit as st

from equity.analysis import families
from equity.analysis import keys_to_success as kts
from equity import lookups
from equity.present import style
from equity.analysis import partnerships as reg
from equity import years as yrs
from equity.measures import MEASURES, RULE_MEASURES
from equity.words import fmt_short
from equity.safe_text import html, md
from pages import _kts
from pages._shared import chart_block, key_stage_filter, la_filter, url_choice

import pages._shared as _frame  # noqa: E402

_frame.route_through_frame()

st.title("Partnerships")
st.markdown(
    "Each school the *Keys to Success* rule selects is offered a **stronger partner in similar circumstances**: a "
    "school from its family (similar intake) that is clearly stronger for disadvantaged pupils where it is weak, "
    "outside its competition radius, preferably in another LA, and not already supporting too many schools. "
    "Officers record the partnerships they agree in the **register**, and the **tracker** follows both schools "
    "against their own families (\"by helping others you help yourself\").")

la = la_filter()
ks = key_stage_filter()
las = lookups.las_with_data()
la_names = dict(zip(las.la_code, las.la_name))
la_name = la_names.get(la, la)
who = _frame.editor_name()  # the signed-in address, or (open app) the name typed in the sidebar
can_edit = _frame.allowed("edit_register")

flash = st.session_state.pop("partnership_flash", None)
if flash:
    st.success(flash)

# ---- suggestions --------------------------------------------------------------------------------
st.header("Suggested partnerships")
st.sidebar.header("Selection rule")
rule = _kts.rule_widgets(ks, la)
st.sidebar.header("Matching")
capacity = st.sidebar.slider("Most schools one supporter takes", 1, 4, 2, key="kts_cap", bind="query-params")
trio = st.sidebar.checkbox("Trios: two supporters per school", key="kts_trio", bind="query-params")
radius = st.sidebar.slider("Competition radius (km)", 0.0, 30.0, 5.0, 0.5, key="kts_radius", bind="query-params",
                           help="A partner is never nearer than this: schools this close may compete for pupils.")
penalty = st.sidebar.slider("Preference for another LA", 0.0, 2.0, 0.5, 0.25, key="kts_samela", bind="query-params",
                            help="Added to the context distance of a partner in the same LA (0 = no preference).")
max_km = st.sidebar.slider("Farthest partner (km; 0 = anywhere in England)", 0, 400, 0, 10, key="kts_maxkm",
                           bind="query-params",
                           help="Families are drawn from all of England, so without a limit a partner can be "
                                "hundreds of km away. Set a limit to keep visits practical.")
settings = dict(capacity=capacity, per_school=2 if trio else 1, radius_km=radius, same_la_penalty=penalty,
                max_km=float(max_km) or None)

if rule is None:
    st.info(f"We hold no KS{ks} results for disadvantaged pupils in {md(la_name)}, so there is nothing to match.")
else:
    label = kts.measure_label(rule.measure)
    fmt = lambda v, signed=False: fmt_short(rule.measure, v, signed)  # noqa: E731
    st.markdown(rule.describe() + " Edit the rule in the sidebar (or on the *Keys to Success* page).")
    sug = _kts.suggestions(rule, la, settings)
    pairs = sug.pairs
    v = sug.validation
    if v is not None and families.explains_little(v):
        st.warning(f"Partners come from each school's family, but on {label} (KS{ks}) families explain little: the "
                   f"family median accounts for {v['r2']:.0%} of the differences between schools' results for "
                   "disadvantaged pupils, about what random groups of schools would. A partner here shares the "
                   "school's intake, not a like-for-like yardstick on this result.", icon=":material/warning:")
    elif v is not None:
        st.caption(f"Partners come from each school's family; on {label} (KS{ks}) the family median explains "
                   f"{v['r2']:.0%} of the differences between schools' results for disadvantaged pupils.")
    n_sel, n_matched = len(sug.schools), sug.schools.status.eq("matched").sum()
    if n_sel == 0:
        st.info(f"The rule selects no {md(la_name)} school in {yrs.label(rule.year)}.")
    elif pairs.empty:
        st.info(f"The rule selects {n_sel} {md(la_name)} school(s) in {yrs.label(rule.year)}, but none has a family member "
                "that is clearly stronger and free to help. Reasons below.")
    else:
        pairs = pairs.assign(pair=[html(f"{s} ← {p}") for s, p in zip(pairs.school_name, pairs.partner_name)])
        fig = go.Figure(go.Scatter(
            x=pairs.margin, y=pairs.pair, mode="markers",
            marker=dict(size=11, symbol=["diamond" if x else "circle" for x in ~pairs.same_la],
                        color=[style.HIGHLIGHT if x else style.NEUTRAL for x in ~pairs.same_la]),
            error_x=dict(type="data", symmetric=False, array=pairs.margin_high - pairs.margin,
                         arrayminus=pairs.margin - pairs.margin_low, color="#555"),
            customdata=pairs.km, hovertemplate="%{y}<br>partner better by %{x:.2f}<br>%{customdata:.0f} km<extra></extra>"))
        fig.add_vline(x=0, line_color="#333")
        fig.update_layout(xaxis_title=f"How much stronger the partner is: {label}, disadvantaged pupils "
                                      f"({yrs.label(rule.year)}), allowing for selection", height=140 + 34 * len(pairs), margin=dict(t=20),
                          yaxis=dict(autorange="reversed"))
        other_la = int((~pairs.same_la).sum())
        loads = pairs.partner_urn.value_counts()
        sentence = (f"**{n_matched} of {n_sel}** selected {md(la_name)} schools get a partner ({len(pairs)} pairing(s), "
                    f"{other_la} with a school in another LA; diamonds). Every partner is clearly stronger for "
                    f"disadvantaged pupils on {label}, allowing for how the schools were picked: margins run from "
                    f"{fmt(pairs.margin.min(), True)} to {fmt(pairs.margin.max(), True)} (as published "
                    f"{fmt(pairs.margin_published.min(), True)} to {fmt(pairs.margin_published.max(), True)}), and "
                    f"the lowest end of any 95% interval is {fmt(pairs.margin_low.min(), True)} (above zero). "
                    f"{sug.adjustment.get('text', '')} Partners are {pairs.km.min():.0f}-"
                    f"{pairs.km.max():.0f} km away; the busiest supporter takes {int(loads.max())} school(s) "
                    f"(cap {capacity}). One assignment over all schools, total context distance "
                    f"{sug.total_cost:.2f}.")
        table = pairs.drop(columns=["pair"])
        chart_block(fig, sentence, table, f"suggested_partnerships_{la}_ks{ks}_{yrs.file_label(rule.year)}.csv",
                    key="pt_suggest")
        st.subheader("Why each suggestion")
        for e in pairs.explanation:
            st.markdown(f"- {md(e)}")
    unmatched = sug.schools[sug.schools.status != "matched"]
    if len(unmatched):
        with st.expander(f"{len(unmatched)} selected school(s) without a partner, and why"):
            st.dataframe(unmatched[["urn", "name", "status"]], hide_index=True, width="stretch")

    if not pairs.empty and not can_edit:
        _frame.refused("edit_register", "accept")
    elif not pairs.empty:
        with st.form("accept"):
            st.markdown("**Accept a suggestion** into the register (baseline: the rule's year).")
            groups = sug.grouped()
            pick = st.selectbox("Suggestion", range(len(groups)),
                                format_func=lambda i: f"{groups[i]['school_name']} ← {', '.join(groups[i]['partner_names'])}")
            focus = st.text_input("Focus", f"Disadvantaged pupils' {label}")
            notes = st.text_area("Notes", "")
            start = st.date_input("Start date", date.today())
            if st.form_submit_button("Accept"):
                g = groups[pick]
                try:
                    rec = reg.create(school_urn=g["school_urn"], partner_urns=g["partner_urns"], key_stage=ks,
                                     baseline_year=rule.year, measure=rule.measure, start_date=start, focus=focus,
                                     notes=notes, user=who)
                except reg.RegisterError as exc:
                    st.error(md(reg.explain(exc)))
                else:
                    st.session_state["partnership_flash"] = f"Partnership {rec['id']} recorded."
                    st.rerun()

# ---- the register -------------------------------------------------------------------------------
st.header("Register")
st.caption(f"Kept apart from the analytics database ({reg.register_name()}), so it survives every rebuild. "
           "Edits are checked against the version you opened: if someone else saved first, yours is refused and "
           "nothing is overwritten.")
try:
    register = reg.register()
except reg.RegisterError as exc:  # corrupt, too new, unreadable: explained, never shown as empty
    st.error(reg.explain(exc))
    st.stop()
read_only = reg.read_only_reason()
if read_only:
    st.warning(read_only)
_names = lookups.school_names({int(u) for u in register.school_urn}
                              | {u for v in register.partner_urns for u in reg.parse_urns(v)})


def _name(urn) -> str:
    return _names.get(int(urn), f"URN {urn}")


see_people = _frame.allowed("see_who_changed")  # officers' addresses are not for every visitor
if register.empty:
    st.info("No partnerships recorded yet. Accept a suggestion above or add one below.")
else:
    shown = register.assign(school=register.school_urn.map(_name),
                            partners=register.partner_urns.map(lambda v: "; ".join(_name(u) for u in reg.parse_urns(v))),
                            baseline=register.baseline_year.map(lambda y: yrs.label(int(y))))
    columns = ["id", "school", "partners", "key_stage", "baseline", "measure", "start_date", "end_date",
               "status", "focus", "notes", "version", "updated_by", "updated_at"]
    st.dataframe(shown[[c for c in columns if see_people or c not in reg.PEOPLE_COLUMNS]],
                 hide_index=True, width="stretch")
c1, c2 = st.columns(2)
c1.download_button("Export the register (CSV)", reg.export_csv(with_people=see_people).encode("utf-8"), file_name="partnerships.csv",
                   mime="text/csv", key="pt_export")
upload = None
if _frame.allowed("import_register"):
    upload = c2.file_uploader("Import a register CSV", type=["csv"], key="pt_import")
else:
    with c2:
        _frame.refused("import_register", "import")
if upload is not None and c2.button("Import", key="pt_import_go"):
    try:
        res = reg.import_csv(upload.getvalue(), user=who)
    except reg.ImportRefused as exc:
        st.error(md(exc.summary()))
        st.dataframe(exc.table(), hide_index=True, width="stretch")
    except reg.RegisterError as exc:
        st.error(md(reg.explain(exc)))
    else:
        st.session_state["partnership_flash"] = "Import: " + res.summary()
        st.rerun()

tab_add, tab_edit = st.tabs(["Add a partnership", "Edit or end a partnership"])
with tab_add:
    if not can_edit:
        _frame.refused("edit_register", "add")
    else:
        with st.form("add"):
            a1, a2 = st.columns(2)
            school = a1.number_input("School receiving support (URN)", min_value=100000, max_value=999999, value=None,
                                     step=1)
            partners = a2.text_input("Supporting school(s): one URN, or two for a trio")
            add_ks = a1.radio("Key stage", [4, 2], index=0 if ks == 4 else 1, horizontal=True)
            base_options = list(range(2023, 2014, -1))
            base_year = a2.selectbox("Baseline year", base_options, format_func=yrs.label,
                                     index=base_options.index(rule.year) if rule and rule.year in base_options else 0)
            other_ks = 2 if ks == 4 else 4
            measures = [m for m in RULE_MEASURES[ks] + RULE_MEASURES[other_ks] if m in MEASURES]
            add_measure = a1.selectbox("Measure tracked", measures, format_func=lambda m: f"KS{MEASURES[m].key_stage} "
                                       + kts.measure_label(m))
            add_start = a2.date_input("Start date", date.today())
            add_focus = st.text_input("Focus")
            add_notes = st.text_area("Notes")
            if st.form_submit_button("Add partnership"):
                try:
                    if MEASURES[add_measure].key_stage != add_ks:
                        raise reg.RegisterError(f"{kts.measure_label(add_measure)} is a KS{MEASURES[add_measure].key_stage} "
                                                "measure")
                    rec = reg.create(school_urn=school, partner_urns=partners, key_stage=add_ks, baseline_year=base_year,
                                     measure=add_measure, start_date=add_start, focus=add_focus, notes=add_notes, user=who)
                except reg.RegisterError as exc:
                    st.error(md(reg.explain(exc)))
                else:
                    st.session_state["partnership_flash"] = f"Partnership {rec['id']} recorded."
                    st.rerun()

ids = list(register.id) if not register.empty else []
labels = {int(r.id): f"{int(r.id)}: {_name(r.school_urn)} ({r.status})" for r in register.itertuples()}
# ?pid= holds the record's id (a bound selectbox would read "3" as a label or a position: another record)
pid = url_choice(st.sidebar.selectbox, "Partnership (edit and track)", ids, "pid", ids[0], what="partnership",
                 format_func=lambda i: labels.get(int(i), str(i))) if ids else None

with tab_edit:
    if pid is None:
        st.info("Nothing to edit yet.")
    elif not can_edit:
        _frame.refused("edit_register", "edit")
    else:
        snap_key = f"pt_snapshot_{pid}"
        current = reg.get(pid)
        snap = st.session_state.setdefault(snap_key, current)
        if current["version"] != snap["version"]:
            st.warning(f"{md(current['updated_by'])} changed this partnership at {md(current['updated_at'])} after you opened "
                       f"it (version {snap['version']} → {current['version']}). Reload before editing.")
            if st.button("Reload", key="pt_reload"):
                st.session_state[snap_key] = current
                st.rerun()
        with st.form(f"edit_{pid}_{snap['version']}"):
            st.markdown(f"Partnership **{pid}**, version {snap['version']} (as you opened it).")
            e1, e2 = st.columns(2)
            k = f"{pid}_{snap['version']}"
            e_partners = e1.text_input("Supporting school(s)", snap["partner_urns"], key=f"pt_e_partners_{k}")
            e_start = e2.date_input("Start date", date.fromisoformat(snap["start_date"]), key=f"pt_e_start_{k}")
            e_focus = st.text_input("Focus", snap["focus"], key=f"pt_e_focus_{k}")
            e_notes = st.text_area("Notes", snap["notes"], key=f"pt_e_notes_{k}")
            save = st.form_submit_button("Save changes")
        if save:
            try:
                rec = reg.edit(pid, snap["version"], user=who, partner_urns=e_partners, start_date=e_start,
                               focus=e_focus, notes=e_notes)
            except reg.RegisterError as exc:  # includes StaleEdit
                st.error(md(reg.explain(exc)))
            else:
                st.session_state[snap_key] = rec
                st.session_state["partnership_flash"] = f"Partnership {pid} saved (version {rec['version']})."
                st.rerun()
        if snap["status"] == "active":
            with st.form(f"end_{pid}_{snap['version']}"):
                end_date = st.date_input("End date", date.today())
                end_note = st.text_input("Why it ended (added to the notes)")
                stop = st.form_submit_button("End this partnership")
            if stop:
                try:
                    notes = (snap["notes"] + ("\n" if snap["notes"] else "") + f"Ended: {end_note}") if end_note else None
                    rec = reg.end(pid, snap["version"], user=who, end_date=end_date, notes=notes)
                except reg.RegisterError as exc:
                    st.error(md(reg.explain(exc)))
                else:
                    st.session_state[snap_key] = rec
                    st.session_state["partnership_flash"] = f"Partnership {pid} ended."
                    st.rerun()
    if pid is not None:
        with st.expander("Audit trail"):
            if see_people:
                st.dataframe(reg.audit(pid), hide_index=True, width="stretch")
            else:
                _frame.refused("see_who_changed", "audit", button=False)

# ---- the tracker --------------------------------------------------------------------------------
st.header("Progress tracker")
if pid is None:
    st.info("Once a partnership is recorded, the tracker follows both schools from its baseline year.")
else:
    p = reg.get(pid)
    prog = reg.progress(p)
    lab = kts.measure_label(prog.measure)
    st.markdown(f"Partnership {pid}: baseline **{yrs.label(int(p['baseline_year']))}**, {lab} for disadvantaged pupils. "
                "Each school is compared with the average of its own family (fixed at the baseline year); a "
                "school followed under a new URN after converting to an academy is marked in the table.")
    for w in prog.warnings:
        st.warning(md(w))
    if prog.status != "tracking":
        st.info(md(prog.sentence()))
    t = prog.table
    if not t.empty and t.vs_family.notna().any():
        fig = go.Figure()
        for (role, urn), g in t.groupby(["role", "urn"], sort=False):
            g = g[g.vs_family.notna()]
            if g.empty:  # a school with no comparable year (the sentence and table say why): no line
                continue
            colour = style.HIGHLIGHT if role == "supported" else style.GROUP_COLOURS["other"]
            fig.add_trace(go.Scatter(
                x=g.academic_year, y=g.vs_family, mode="lines+markers", name=html(f"{g.name.iloc[0]} ({role})"),
                line=dict(color=colour, dash="solid" if role == "supported" else "dash"),
                marker=dict(symbol="diamond" if role == "supported" else "circle", size=10),
                error_y=dict(type="data", symmetric=False, array=g.vs_family_high - g.vs_family,
                             arrayminus=g.vs_family - g.vs_family_low, thickness=1)))
        fig.add_hline(y=0, line_color="#333", annotation_text="family average")
        fig.update_layout(yaxis_title=f"{lab}: school minus family", height=400, margin=dict(t=50),
                          legend=dict(orientation="h", y=1.12), xaxis=dict(type="category", title="Academic year"))
        chart_block(fig, md(prog.sentence()), t, f"partnership_{pid}_progress.csv", key="pt_track")
        gaps = t[t.gap_vs_family.notna()]
        if not gaps.empty:
            g2 = go.Figure()
            for (role, urn), g in gaps.groupby(["role", "urn"], sort=False):
                colour = style.HIGHLIGHT if role == "supported" else style.GROUP_COLOURS["other"]
                g2.add_trace(go.Scatter(x=g.academic_year, y=g.gap_vs_family, mode="lines+markers",
                                        name=html(f"{g.name.iloc[0]} ({role})"),
                                        line=dict(color=colour, dash="solid" if role == "supported" else "dash")))
            g2.add_hline(y=0, line_color="#333", annotation_text="family's average gap")
            g2.update_layout(yaxis_title="Gap (others minus disadvantaged) minus the family's gap",
                             xaxis=dict(type="category"), height=340, margin=dict(t=50),
                             legend=dict(orientation="h", y=1.15))
            last = gaps.sort_values("start_year").groupby("urn").tail(1)
            gap_sentence = "Within-school gap against the family's average gap (below zero = a smaller gap): " + "; ".join(
                md(f"{r.name} {fmt_short(prog.measure, r.gap_vs_family, True)} in {r.academic_year}")
                for r in last.itertuples()) + "."
            chart_block(g2, gap_sentence, gaps[["role", "urn", "name", "academic_year", "gap", "family_gap",
                                                "gap_vs_family"]], f"partnership_{pid}_gap.csv", key="pt_gap")
    for n in prog.notes:
        st.caption(md(n))
