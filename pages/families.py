"""Families of schools: schools with a similar intake, outside each other's neighbourhood, across
LA boundaries. Who does well for disadvantaged pupils in circumstances like ours?

The method and every number come from ``equity.analysis.families``; this page only lays them out.
"""
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pydeck as pdk
import streamlit as st

from equity.analysis import families as F
from equity.analysis import neighbourhoods as nb
from equity import codes, lookups
from equity.present import style
from equity import years as yrs
from equity.csv_export import to_csv_bytes
from equity.measures import MEASURES
from equity.words import column_format, fmt
from equity.safe_text import html, md
from pages import _family_charts
from pages._shared import chart_block, key_stage_filter, la_filter, url_choice, urn_from

import pages._shared as _frame  # noqa: E402

_frame.route_through_frame()


st.title("Families of schools")
st.markdown("A school's *family* is the schools in England whose pupils are most like its own (prior attainment, "
            "disadvantage, English as an additional language, special needs) but which are far enough away not to "
            "compete for the same children. Comparing a school with its family shows what is possible for "
            "disadvantaged pupils in similar circumstances, and who to learn from.")

# ---- settings (sidebar, all kept in the URL) -----------------------------------------------------
st.sidebar.header("Family settings")
ks = key_stage_filter()
year_options = F.family_years(ks)
# ?year= is checked against the years this build holds: a year a rebuild dropped is said to be gone
year = url_choice(st.sidebar.selectbox, "Year of the context data", year_options, "year",
                  year_options[0] if year_options else None, what="year", format_func=yrs.label,
                  name_missing=lambda y: yrs.label(int(y)) if str(y).isascii() and str(y).isdigit() and len(str(y)) == 4
                  else y, scope=ks,
                  help="KS4 2023/24 covers every school in England; earlier years only the LAs we hold.")
if year is None:
    st.info(f"No KS{ks} context data to build families from in this database.")
    st.stop()
size = st.sidebar.slider("Schools in a family", F.MIN_SIZE, F.MAX_SIZE, F.DEFAULT_SIZE, key="size",
                         bind="query-params")
radius = st.sidebar.slider("Competition radius (km)", 0.0, 30.0, F.DEFAULT_RADIUS_KM, 0.5, key="radius",
                           bind="query-params",
                           help="Schools closer than this are never in each other's family: they may compete for "
                                "the same pupils. 5 km is about the 3-mile statutory walking distance.")
st.sidebar.caption("Weights: how much each figure counts when judging whose intake is like whose (0 = ignore).")
variables = [v for v in F.VARIABLES if v != "idaci" or F.idaci_available()]
weights = {v: st.sidebar.slider(F.SHORT_LABELS[v], 0.0, 3.0, F.DEFAULT_WEIGHTS[v], 0.25, key=f"w_{v}",
                                bind="query-params", help=F.LABELS[v]) for v in variables}
if not any(weights.values()):
    st.sidebar.warning("All weights are 0: using the default weights.")
    weights = None
measures = F.measures_for(ks, year)
measure = st.sidebar.selectbox("Outcome for disadvantaged pupils", measures, key="fam_measure", bind="query-params",
                               format_func=lambda m: MEASURES[m].label)
pooled = st.sidebar.checkbox("Pool up to three years", key="pooled", bind="query-params",
                             help="Mean of the year and up to two earlier comparable years, weighted by the number "
                                  "of disadvantaged pupils: steadier for small cohorts.")
settings = dict(size=size, radius_km=radius, weights=weights, key_stage=ks, start_year=year)


def _year_gone(exc: LookupError) -> None:
    """A rebuild swapped in while this page ran dropped the year: say so, never another year."""
    st.warning(f"KS{ks} {yrs.label(year)} is no longer in this database (it was rebuilt while the page was "
               f"drawn: {md(exc)}). Reload the page or choose another year.", icon=":material/info:")
    st.stop()


try:
    m_info = F.method(**settings)
except LookupError as exc:
    _year_gone(exc)
st.sidebar.caption(f"{m_info['schools']:,} schools in {m_info['las']} LAs have a family at these settings.")

unit = MEASURES[measure].unit
number_format = column_format(measure)
phrase = F.outcome_phrase(measure)
valid = F.validation(measure, pooled=pooled, **settings)
if F.explains_little(valid):
    st.warning(f"On {MEASURES[measure].label} (KS{ks}) families explain little: the family median accounts for "
               f"{valid['r2']:.0%} of the differences between schools' results for disadvantaged pupils, about what "
               "random groups of schools would. Read a family here as schools with a similar intake, not as a "
               "yardstick for this result (details under *How families are made*).", icon=":material/warning:")
else:
    st.caption(f"On {MEASURES[measure].label} (KS{ks}) the family median explains {valid['r2']:.0%} of the "
               f"differences between schools' results for disadvantaged pupils ({valid['strength']}).")

# Only the open tab is worked out and sent (the tab is kept in the URL as ?fam_tab=); switching tabs reruns
# the page. Every tab at once cost a fresh visit the validation of every measure and the LA's chart.
tab_school, tab_la, tab_method = st.tabs(["A school's family", "Every school in an LA", "How families are made"],
                                         key="fam_tab", bind="query-params")

# ---- one school's family -----------------------------------------------------------------------


def _pick() -> None:
    if st.session_state.get("fam_pick") is not None:
        st.session_state["urn"] = str(st.session_state["fam_pick"])


if tab_school.open:  # a tab's work runs only while it is the one shown (st.tabs tracks it)
    with tab_school:
        c1, c2 = st.columns([3, 1])
        q = c1.text_input("Find a school by name, URN or postcode", key="fam_q", placeholder="e.g. Reigate, 125311, GU1")
        urn_text = c2.text_input("URN", key="urn", bind="query-params", help="The school shown; kept in the page address.") or ""
        if q:
            hits = lookups.school_search(q, limit=30)
            if hits.empty:
                c1.caption("No school matches.")
            else:
                labels = {r.urn: f"{r.name} ({r.la_name or r.la_code}, {r.postcode or 'no postcode'}, URN {r.urn})"
                          for r in hits.itertuples()}
                c1.selectbox(f"{len(hits)} matches: choose one", list(labels), index=None, format_func=labels.get,
                             key="fam_pick", on_change=_pick)

        urn = urn_from(urn_text)  # checked: digits only, in URN range; a bad one is explained
        result = None
        if urn is not None:
            try:
                result = F.family_outcomes(urn, measure, pooled=pooled, **settings)
            except F.FamilyUnavailable as exc:
                st.warning(f"No family for URN {exc.urn} in KS{ks} {yrs.label(year)}: {md(exc.reason)}.")
        elif not urn_text.strip():
            st.info("Find a school above, or open the *Every school in an LA* tab.")

        if result is not None:
            fo, me, used = result.table, result.school, result.urn
            if used != result.requested_urn:
                st.info(f"URN {result.requested_urn} has no KS{ks} data for {yrs.label(year)}; the same school is "
                        f"URN {used} that year (academy conversion or merger), shown here.")
            loc = "" if str(me.get("location_source") or "").startswith("postcode") else (
                f" Location: {md(me.get('location_source') or 'unknown (schools in its own LA are left out instead)')}.")
            st.subheader(f"{md(me['name'])} ({md(me.get('la_name') or me.get('la_code'))}, URN {used})")
            scale = f" ({me.get('prior_scale')})" if me.get("prior_scale") else ""
            st.markdown(f"KS{ks} intake in {yrs.label(year)}: prior attainment **{me['prior_attainment']:.1f}**{scale}, "
                        f"**{me['pct_disadvantaged']:.0f}%** disadvantaged, **{me['pct_eal']:.0f}%** EAL"
                        + (f", **{me['pct_sen']:.0f}%** SEN" if pd.notna(me.get("pct_sen")) else "")
                        + (f"; {int(me['cohort'])} pupils in the year group." if pd.notna(me.get("cohort")) else ".")
                        + loc)

            median = result.family_median
            n_val = result.members_with_value
            mine = fo.iloc[0]
            years_text = mine.years or yrs.label(year)
            if pd.notna(mine.value):
                pos = int(mine.position)
                ranked = int(fo.value.notna().sum())
                sentence = (f"In {years_text}, {phrase} was **{fmt(measure, mine.value)}** at {md(me['name'])} "
                            f"({int(mine.cohort)} disadvantaged pupils), against a family median of "
                            f"**{fmt(measure, median)}** ({n_val} of {len(fo) - 1} members with a figure): "
                            f"**{pos} of {ranked}** among the school and its family (1 = best).")
            else:
                why = (f" ({md(codes.MEANINGS.get(mine.status, mine.status))})"
                       if isinstance(mine.status, str) and mine.status != "ok" else "")
                sentence = (f"{md(me['name'])} has no published figure for {phrase} in {yrs.label(year)}{why}. "
                            f"Its family's median is **{fmt(measure, median)}** ({n_val} members with a figure).")
            st.markdown(sentence)

            table = fo.assign(
                school=np.where(fo.role == "this school", "▶ " + fo.name.astype(str), fo.name.astype(str)))
            table = table.sort_values(["position", "rank"], na_position="last")
            res_col = f"Result ({'%' if unit == 'percent' else 'points' if unit == 'points' else 'score'})"
            cols = {"position": "Position", "school": "School", "value": res_col, "cohort": "Disadvantaged pupils",
                    "vs_median": "vs family median", "years": "Years", "other_value": "Other pupils, same school",
                    "closeness": "Closeness", "distance": "Context distance", "km": "km away", "la_name": "LA",
                    "prior_attainment": "Prior attainment", "pct_disadvantaged": "% disadvantaged", "pct_eal": "% EAL",
                    "pct_sen": "% SEN", "urn": "URN", "la_code": "LA code"}
            if table.other_value.isna().all():  # DfE's gap measures have no 'other pupils' figure
                cols.pop("other_value")
            show = table[[c for c in cols if c in table.columns]].rename(columns=cols)
            st.dataframe(show, hide_index=True, width="stretch", column_config={
                "School": st.column_config.TextColumn(width="large"),
                res_col: st.column_config.NumberColumn(format=number_format, help=f"{MEASURES[measure].label}: "
                                                       f"{MEASURES[measure].meaning} Disadvantaged pupils."),
                "vs family median": st.column_config.NumberColumn(format=number_format),
                "Other pupils, same school": st.column_config.NumberColumn(format=number_format),
                "Context distance": st.column_config.NumberColumn(format="%.2f"),
                "km away": st.column_config.NumberColumn(format="%.0f"),
                "Position": st.column_config.NumberColumn(format="%d", width="small"),
                "Disadvantaged pupils": st.column_config.NumberColumn(format="%d"),
                "Prior attainment": st.column_config.NumberColumn(format="%.1f"),
                "% disadvantaged": st.column_config.NumberColumn(format="%.0f"),
                "% EAL": st.column_config.NumberColumn(format="%.0f"),
                "% SEN": st.column_config.NumberColumn(format="%.0f"),
                "URN": st.column_config.NumberColumn(format="%d"),
            })
            st.caption("▶ = this school. Position 1 = the best figure for disadvantaged pupils among the school and its "
                       "family. Context distance: 0 = the same intake, larger = less alike (figures that move together, such as prior "
                       "attainment and % disadvantaged, count once). "
                       "Figures for groups of fewer than 6 pupils are never shown.")
            st.download_button("Download the family table (CSV)", to_csv_bytes(show),
                               file_name=f"family_{used}_ks{ks}_{yrs.file_label(year)}.csv", mime="text/csv",
                               key="dl-family")

            # who to learn from
            st.markdown("#### Who to learn from")
            learn = F.learn_from(result, top=5)
            lf = learn.schools
            if lf.empty:
                st.markdown(f"No family member did better than {'this school' if pd.notna(mine.value) else 'the median'} "
                            f"on {phrase} in {years_text}.")
            else:
                ref = learn.reference
                sure = int(lf.beyond_noise.sum())
                st.markdown(f"Members whose disadvantaged pupils did better than {ref}, with an intake like this school's "
                            f"({sure} of {len(lf)} by more than the noise in small cohorts):")
                for r in lf.itertuples():
                    st.markdown(f"- **{md(r.name)}** (URN {r.urn}). {md(r.why)}")
                if not sure:
                    st.caption("None of these differences is beyond noise: with cohorts this size they could be chance. "
                               "Pooling three years (sidebar) or another measure may show a clearer picture.")

            # scatter: context against outcome
            st.markdown("#### Context and results")
            sd = F.scatter_data(used, measure, pooled=pooled, **settings)
            xs = [v for v in F.VARIABLES if v in sd.columns]
            x = st.radio("Context figure on the horizontal axis", xs, format_func=lambda v: F.SHORT_LABELS[v],
                         key="x", horizontal=True, bind="query-params")
            pts = sd.dropna(subset=[x, "value"])
            fig = _family_charts.scatter_figure(pts[[x, "value", "role", "label"]], x, measure, median)
            fam_pts = pts[pts.role == "family"]
            if len(fam_pts):
                s_sentence = (f"Each grey dot is one of {len(pts):,} schools with a figure. The {len(fam_pts)} family members "
                              f"with a figure (orange) have {F.IN_TEXT[x]} from {fam_pts[x].min():.1f} to "
                              f"{fam_pts[x].max():.1f} (this school {me.get(x, float('nan')):.1f}) and {phrase} from "
                              f"{fmt(measure, fam_pts.value.min())} to "
                              f"{fmt(measure, fam_pts.value.max())}.")
            else:
                s_sentence = f"No family member has a published figure for {phrase} in {yrs.label(year)}."
            data = pts[pts.role != "other schools"][["role", "urn", "name", "la_name", x, "value", "cohort"]].rename(
                columns={"value": MEASURES[measure].label, "cohort": "disadvantaged pupils"})
            chart_block(fig, s_sentence, data, f"family_scatter_{used}.csv", key="fam-scatter")

            # map of the family
            st.markdown("#### Where the family is")
            geo = fo.dropna(subset=["lat", "lon"]).copy()
            far = fo[fo.role == "family"].km
            n_las = fo[fo.role == "family"].la_code.nunique()
            st.markdown(f"The {len(fo) - 1} members are {far.min():.0f} to {far.max():.0f} km away (median "
                        f"{far.median():.0f} km) in {n_las} LAs; none is within the {radius:g} km competition radius "
                        f"(the ring around the green school). Grey dots: the other schools of the pool, for orientation."
                        if far.notna().any() else "This school has no location, so the distances cannot be shown.")
            if not geo.empty:
                # the pool's grey dots are for orientation: places to about 100 m (3 decimals) keep the map's
                # data (thousands of schools, sent on every view) far smaller than at full precision
                everyone = sd[["urn"]].merge(F.context(ks, year)[["urn", "lat", "lon"]], on="urn") \
                    .dropna(subset=["lat", "lon"]).round({"lat": 3, "lon": 3})
                geo["colour"] = [[0, 158, 115, 255] if r == "this school" else [230, 159, 0, 230] for r in geo.role]
                geo["label"] = geo["name"].astype(str) + " (" + geo["la_name"].fillna("").astype(str) + ")"
                here = geo[geo.role == "this school"]
                lines = geo[geo.role == "family"].assign(lon0=here.lon.iloc[0] if len(here) else np.nan,
                                                         lat0=here.lat.iloc[0] if len(here) else np.nan)
                layers = [
                    pdk.Layer("ScatterplotLayer", everyone[["lon", "lat"]], get_position="[lon, lat]",
                              get_fill_color=[150, 150, 150, 90], get_radius=1200, radius_min_pixels=1.5),
                    pdk.Layer("LineLayer", lines[["lon", "lat", "lon0", "lat0"]].dropna(),
                              get_source_position="[lon0, lat0]", get_target_position="[lon, lat]",
                              get_color=[230, 159, 0, 120], get_width=1.5),
                    pdk.Layer("ScatterplotLayer", here[["lon", "lat"]], get_position="[lon, lat]", filled=False,
                              stroked=True, get_radius=max(radius, 0.1) * 1000, get_line_color=[0, 158, 115, 200],
                              line_width_min_pixels=2),
                    pdk.Layer("ScatterplotLayer", geo[["lon", "lat", "colour", "label"]], get_position="[lon, lat]",
                              get_fill_color="colour", get_radius=3000, radius_min_pixels=5, pickable=True,
                              get_line_color=[40, 40, 40], stroked=True, line_width_min_pixels=1),
                ]
                # Fit the school and its family, with a margin (a map 900 x 520 px, fitted to 80% of it).
                view = pdk.ViewState(**nb.view_for(geo.lat, geo.lon, width_px=720, height_px=416,
                                                   zoom_range=(4.5, 11.0)))
                st.pydeck_chart(_frame.without_base_map(pdk.Deck(map_provider=None, layers=layers, initial_view_state=view,
                                                                 tooltip={"text": "{label}"})), height=520)
                st.caption("No base map (the dashboard works offline): each dot is a school, placed at its postcode. "
                           "Hover for names; the table above has every member.")

            with st.expander("How this family was made"):
                st.markdown(F.describe_method(result.method))

# ---- every school of an LA -----------------------------------------------------------------------
if tab_la.open:  # a tab's work runs only while it is the one shown (st.tabs tracks it)
    with tab_la:
        la = la_filter(key="la", label="Local authority", sidebar=False)
        pos = F.la_positions(la, measure, pooled=pooled, **settings)
        la_names = lookups.las_with_data()
        la_name = dict(zip(la_names.la_code, la_names.la_name)).get(la, la)
        if pos.empty:
            st.info(f"No school in {md(la_name)} has a KS{ks} family for {yrs.label(year)} (the context data for that year "
                    "covers other LAs).")
        else:
            counts = pos.verdict.value_counts()
            with_fig = int(pos.value.notna().sum())
            years_text = ", ".join(sorted({y for y in pos.years.dropna()})) or yrs.label(year)
            sentence = (f"Of {len(pos)} {md(la_name)} schools with a KS{ks} family, {with_fig} have a figure for {phrase} "
                        f"({years_text}): **{counts.get('above its family', 0)}** do better than schools like them by "
                        f"more than the noise, **{counts.get('below its family', 0)}** do worse, and "
                        f"{counts.get('in line with its family', 0)} are in line with their family.")
            d = pos.dropna(subset=["difference"]).sort_values("difference")
            marks = {"above its family": ("#009E73", "triangle-up"), "below its family": ("#CC79A7", "triangle-down"),
                     "in line with its family": (style.NEUTRAL, "circle")}
            fig = go.Figure()
            for verdict, (colour, symbol) in marks.items():
                dd = d[d.verdict == verdict]
                fig.add_trace(go.Scatter(
                    x=dd.difference, y=[html(n) for n in dd.name], mode="markers", name=f"{verdict} ({len(dd)})",
                    marker=dict(color=colour, symbol=symbol, size=10),
                    error_x=dict(type="data", array=F.Z95 * dd.se_diff, color=colour, thickness=1),
                    customdata=np.stack([dd.value, dd.family_median, dd.cohort], axis=-1) if len(dd) else None,
                    hovertemplate="%{y}<br>school %{customdata[0]:.2f}, family median %{customdata[1]:.2f}"
                                  "<br>%{customdata[2]} disadvantaged pupils<extra></extra>"))
            fig.add_vline(x=0, line_color="#333333")
            better_word = "better" if MEASURES[measure].higher_is_better else "better (lower)"
            fig.update_layout(height=max(360, 18 * len(d) + 120), margin=dict(l=10, r=10, t=30, b=10),
                              xaxis_title=f"School minus its family median ({MEASURES[measure].label}); right = {better_word}",
                              yaxis=dict(type="category", categoryorder="array", categoryarray=[html(n) for n in d.name]),
                              legend=dict(orientation="h", y=1.02, yanchor="bottom"))
            data = pos.rename(columns={"value": "school value", "cohort": "disadvantaged pupils"})
            chart_block(fig, sentence + " Bars: 95% range of the noise.", data,
                        f"families_{la}_ks{ks}_{yrs.file_label(year)}_{measure}.csv", key="fam-la")

# ---- method and validation -----------------------------------------------------------------------
if tab_method.open:  # a tab's work runs only while it is the one shown (st.tabs tracks it)
    with tab_method:
        st.markdown(F.describe_method(m_info))
        st.markdown("Each member's *closeness* rates its context distance; the family table shows every figure, so you "
                    "can judge for yourself. Move the sliders in the sidebar to change the weights, family size and "
                    "radius: everything on this page, including the check below, is recomputed.")
        v = valid
        st.markdown("#### Do families group schools with similar results?")
        c1, c2, c3 = st.columns(3)
        c1.metric("Spread within families", f"{v['spread_ratio']:.0%}" if np.isfinite(v["spread_ratio"]) else "–",
                  help="Mean standard deviation of the outcome among a family's members, as a share of the standard "
                       "deviation across all schools. 100% = no better than random groups.")
        c2.metric("Spread within LAs", f"{v['la_ratio']:.0%}" if np.isfinite(v["la_ratio"]) else "–",
                  help="The same for the schools of one LA: the usual comparison.")
        c3.metric("Explained by the family median", f"{v['r2']:.0%}" if np.isfinite(v["r2"]) else "–",
                  help="Squared correlation between a school's result and its family's median.")
        fig = go.Figure(go.Bar(x=["All schools", "Within an LA", "Within a family"],
                               y=[v["overall_sd"], v["within_la_sd"], v["within_family_sd"]],
                               marker_color=[style.NEUTRAL, style.AREA_COLOURS["la"], style.AREA_COLOURS["family"]],
                               text=[f"{x:.2f}" if np.isfinite(x) else "–"
                                     for x in (v["overall_sd"], v["within_la_sd"], v["within_family_sd"])],
                               textposition="outside"))
        fig.update_layout(yaxis_title="Standard deviation between schools", height=360,
                          margin=dict(l=10, r=10, t=30, b=10))
        vdata = pd.DataFrame({"comparison": ["all schools", "within an LA (mean)", "within a family (mean)"],
                              "standard_deviation": [v["overall_sd"], v["within_la_sd"], v["within_family_sd"]],
                              "schools": [v["schools"], v["schools"], v["schools"]], "measure": measure,
                              "years": ", ".join(yrs.label(y) for y in v["years"])})
        chart_block(fig, F.describe_validation(v), vdata, f"families_validation_ks{ks}_{yrs.file_label(year)}.csv",
                    key="fam-valid")
        vt = F.validation_table(ks, year, size=size, radius_km=radius, weights=weights, pooled=pooled)
        st.markdown(f"#### How much families explain, measure by measure (KS{ks}, {yrs.label(year)})")
        little = vt[vt.strength == "little"]
        st.markdown(f"Families explain {vt.r2.min():.0%} to {vt.r2.max():.0%} of the differences between schools' results "
                    f"for disadvantaged pupils, depending on the measure. "
                    + (f"On {len(little)} of {len(vt)} measures they explain little (under 10%): "
                       + ", ".join(little.measure_label) + "." if len(little) else "")
                    + " Attainment follows intake, and prior attainment is one of the figures families are made of; "
                      "progress and KS2 results follow it much less.")
        st.dataframe(vt.rename(columns={"measure_label": "outcome", "spread_ratio": "spread within families",
                                        "la_ratio": "spread within LAs", "r2": "explained by the family median",
                                        "strength": "families explain"}),
                     hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="percent") for c in
                                    ("spread within families", "spread within LAs", "explained by the family median")})
        sp = F.space(weights=weights, key_stage=ks, start_year=year)
        with st.expander(f"Schools left out of the families ({len(sp.excluded):,})"):
            st.dataframe(sp.excluded, hide_index=True, width="stretch")
            st.download_button("Download (CSV)", to_csv_bytes(sp.excluded),
                               file_name=f"families_left_out_ks{ks}_{yrs.file_label(year)}.csv", mime="text/csv",
                               key="dl-excluded")
