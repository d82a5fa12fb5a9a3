"""Neighbourhoods: how deprived the area around each school is, and how disadvantaged pupils do
in schools set in more and less deprived places.

Every number comes from ``equity.analysis.neighbourhoods``; this page lays out the map, the charts and the
tables. The map is drawn offline (no base map tiles).
"""
import json
import os

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pydeck as pdk
import streamlit as st

from equity import latest
from equity.analysis import families
from equity.present import style
from equity.analysis import neighbourhoods as nb
from equity.analysis import ofsted as ofsted_rules
from equity.csv_export import to_csv_bytes
from equity.measures import MEASURES
from equity.safe_text import html, md
from equity.years import label
from pages._shared import chart_block, key_stage_filter, la_filter, url_choice

import pages._shared as _frame  # noqa: E402

_frame.route_through_frame()

COLOUR_BY = {"disadvantaged": "Result for disadvantaged pupils",
             "gap": "Gap: other minus disadvantaged pupils",
             "prediction": "Better or worse than the neighbourhood predicts",
             "ofsted": "Latest single-word Ofsted grade (with its date)"}
DEFAULT_MEASURE = {4: "att8_vs_national_other", 2: "rwm_exp"}


class CompactDeck(pdk.Deck):
    """A pydeck Deck that serialises without indentation: pydeck indents its JSON, which makes a
    county's polygons three times larger on their way to the browser."""

    def to_json(self):
        from pydeck.bindings.json_tools import default_serialize
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))


def _family(urn: int):
    """The school's family (equity.analysis.families, cached there per build), or the reason there is none."""
    try:
        fam = families.family(int(urn))
    except LookupError as exc:  # FamilyUnavailable (and no context data) carries a plain reason
        return None, str(getattr(exc, "reason", exc))
    return fam.members[["urn", "name", "la_name", "lat", "lon", "km"]], ""


def _pick_school() -> None:
    """Clicking a school on the map chooses it (and its LA), as if picked from the list."""
    state = st.session_state.get("nb_map") or {}
    selection = state["selection"] if "selection" in state else {}
    objs = (selection.get("objects") or {}).get("schools") or []
    if objs and objs[0].get("urn") is not None:
        st.session_state["nb_urn"] = int(objs[0]["urn"])
        if objs[0].get("la_code"):
            st.session_state["la"] = str(objs[0]["la_code"])
            st.session_state["view"] = "la"


def _legend(rows: list[tuple[str, tuple[int, int, int]]], title: str) -> None:
    swatches = " ".join(
        f"<span style='white-space:nowrap;margin-right:0.8em'><span style='display:inline-block;width:0.9em;"
        f"height:0.9em;background:rgb{tuple(c)};border:1px solid #555;vertical-align:middle'></span> {html(t)}</span>"
        for t, c in rows)
    st.markdown(f"<div style='font-size:0.85em'><b>{html(title)}</b><br/>{swatches}</div>", unsafe_allow_html=True)


st.title("Neighbourhoods")
st.markdown("How deprived is the area around each school, and do disadvantaged pupils do better or worse than "
            "the neighbourhood would lead us to expect? Deprivation is from the English Indices of Deprivation: "
            "IoD2025 for England's 33,755 2021 small areas (LSOAs, about 1,500 residents each) for results from "
            "2022/23 on, IoD2019 for its 32,844 2011 LSOAs before that (either can be chosen).")
st.info(nb.PROXY_NOTE, icon=":material/info:")

if not nb.available():
    st.warning("The database has no LSOA deprivation data: rebuild it with the IoD2019 files under data/raw.")
    st.stop()

# ---- settings (all kept in the URL) ---------------------------------------------------------------
la = la_filter()
ks = key_stage_filter()
st.sidebar.header("Map settings")
view = url_choice(st.sidebar.radio, "Area", ["la", "england"], "view", "la", horizontal=True,
              format_func=lambda v: "Selected LA" if v == "la" else "All of England")
my = nb.measure_years()
my = my[my.key_stage == ks]
measures = list(dict.fromkeys([m for m in [DEFAULT_MEASURE[ks]] if m in set(my.measure)] + list(my.measure)))
if not measures:
    st.warning(f"No KS{ks} results for disadvantaged pupils in the database.")
    st.stop()
measure = url_choice(st.sidebar.selectbox, "Measure", measures, "measure", measures[0],
                 format_func=lambda m: MEASURES[m].label)
years = sorted(my[my.measure == measure].start_year.astype(int), reverse=True)
year = url_choice(st.sidebar.selectbox, "Year", years, "year", latest.default_year(years, la, ks), format_func=label)
auto_index = nb.default_index(int(year))
index_choice = url_choice(st.sidebar.radio, "Deprivation index", ["auto", "iod2025", "iod2019"], "iod", "auto",
                      format_func=lambda v: f"Matched to the year ({nb.INDEXES[auto_index]})" if v == "auto"
                      else nb.INDEXES[v],
                      help="IoD2025 (2021 LSOAs) for results from 2022/23 on, IoD2019 (2011 LSOAs) for older "
                           "years. IoD2025 publishes ranks and deciles only, so its areas are combined by deciles.")
index = auto_index if index_choice == "auto" else index_choice
if index == "iod2025" and not nb.available_2025():
    st.warning("The database has no IoD2025 deciles: showing IoD2019. Rebuild with the IoD2025 files under data/raw.")
    index = "iod2019"
on25 = index == "iod2025"
fields = nb.FIELDS25 if on25 else nb.FIELDS
shade = url_choice(st.sidebar.selectbox, "Shade neighbourhoods by", list(fields), "shade", "idaci",
               format_func=lambda f: fields[f][0])
colour_by = url_choice(st.sidebar.selectbox, "Colour schools by", list(COLOUR_BY), "colour", "disadvantaged",
                   format_func=COLOUR_BY.get)
score = url_choice(st.sidebar.radio, "Neighbourhood deprivation", list(nb.SCORES), "score", "idaci",
               horizontal=True, format_func=lambda s: s.upper(),
               help="IDACI: share of children aged 0-15 in income-deprived families. IMD: all seven "
                    "domains. Used for the neighbourhood summaries, the decile chart and the prediction "
                    "(IoD2019: population-weighted average score; IoD2025: deciles of the neighbourhood's LSOAs).")
radius = st.sidebar.slider("Neighbourhood radius (km)", nb.MIN_RADIUS_KM, nb.MAX_RADIUS_KM, nb.RADIUS_KM, 0.25,
                           key="nb_radius", bind="query-params",
                           help="A school's neighbourhood: its own LSOA plus every LSOA whose population-weighted "
                                "centroid (IoD2025: the centre of its 2021 polygon) is within this distance. 1.5 km "
                                "is about a 20-minute walk.")
m = MEASURES[measure]
yl = label(int(year))

scores_all = nb.all_scores(radius, index=index)
if on25:
    st.info(f"Deprivation: IoD2025 on 2021 LSOAs, matched to {yl} results. " + nb.DECILE_NOTE, icon=":material/info:")
else:
    st.caption(f"Deprivation: IoD2019 on 2011 LSOAs (scores, averaged weighted by population) for {yl} results.")
la_schools = scores_all[scores_all.la_code == la].sort_values("name")
la_name = la_schools.la_name.dropna().iloc[0] if la_schools.la_name.notna().any() else la
names = dict(zip(la_schools.urn.astype(int), la_schools.name))
urn = url_choice(st.selectbox, "School (optional: shows its neighbourhood and its family)", list(names), "nb_urn", url_key="urn",
             placeholder="Choose a school in this LA", format_func=lambda u: f"{names.get(u, u)} ({u})")

# ---- the map --------------------------------------------------------------------------------------
try:
    sv = nb.school_values(ks, measure, int(year), colour_by, radius_km=radius, score=score,
                          la_code=None if view == "england" else la, index=index)
except ValueError as exc:
    st.warning(md(exc))
    sv = pd.DataFrame(columns=["urn", "name", "lat", "lon", "value", "value_text", "cohort", "location_source"])
layers, legend_rows = [], []
flab = fields[shade][0]
if view == "la":
    kind, lrows = nb.lsoa21_layer_rows(la, shade) if on25 else nb.lsoa_layer_rows(la, shade)
    code = "lsoa21" if on25 else "lsoa11"
    if kind == "polygons" and len(lrows):
        layers.append(pdk.Layer("PolygonLayer", lrows[["polygon", "fill", "tip"]], id="lsoas", get_polygon="polygon",
                                get_fill_color="fill", get_line_color=[255, 255, 255, 90], line_width_min_pixels=0.5,
                                stroked=True, filled=True, pickable=True))
    elif len(lrows):
        layers.append(pdk.Layer("ScatterplotLayer", lrows[["lat", "lon", "fill", "tip"]], id="lsoas",
                                get_position=["lon", "lat"], get_fill_color="fill", get_radius=180,
                                radius_min_pixels=2, pickable=True))
    n_areas = lrows[code].nunique() if len(lrows) else 0
    dec_counts = lrows.drop_duplicates(code).decile.value_counts() if len(lrows) else pd.Series(dtype=int)
    what, by = ("2021 LSOAs", f"IoD2025 {flab}") if on25 else ("LSOAs", f"IoD2019 {flab}")
    area_text = ((f"{md(la_name)}'s {n_areas:,} {what} are shaded by {by} decile" if kind != "centroids around schools"
                  else f"The {n_areas:,} {what} around {md(la_name)}'s schools are shaded by {by} decile")
                 + (" (boundaries)" if kind == "polygons" else " (dots at each LSOA's population-weighted centre: "
                    "no boundaries are bundled for this LA)"))
    if n_areas:
        most = int(dec_counts[dec_counts.index <= 2].sum())
        area_text += f"; {most:,} ({most / n_areas:.0%}) are among England's most deprived 20%"
    view_lats = lrows.lat if "lat" in lrows else pd.Series([p[1] for poly in lrows.polygon for p in poly[0]])
    view_lons = lrows.lon if "lon" in lrows else pd.Series([p[0] for poly in lrows.polygon for p in poly[0]])
    if not len(lrows):
        view_lats, view_lons = la_schools.lat, la_schools.lon
elif on25:
    cells = nb.aggregate_lsoas21(nb.lsoas21(), shade)
    cells["fill"] = nb.decile_rgba(cells.decile, alpha=190)
    cells["tip"] = [f"{int(n)} 2021 LSOAs: median {flab} decile {int(d)}; {p:.0f}% in England's most deprived 20%"
                    for n, d, p in zip(cells.lsoas, cells.decile, cells.share_20)]
    layers.append(pdk.Layer("ScatterplotLayer", cells[["lat", "lon", "fill", "tip"]], id="lsoas",
                            get_position=["lon", "lat"], get_fill_color="fill", get_radius=5200, pickable=True))
    area_text = (f"England's 2021 LSOAs are pooled into {len(cells):,} squares of about 11 by 10 km, each shaded by the "
                 f"median IoD2025 {flab} decile of its LSOAs (deciles are not averaged)")
    view_lats, view_lons = cells.lat, cells.lon
else:
    cells = nb.aggregate_lsoas(nb.lsoas(), shade)
    cells["fill"] = nb.decile_rgba(cells.decile, alpha=190)
    cells["tip"] = [f"{int(n)} LSOAs, {int(p):,} people: average {flab} score {s:.3f}, like decile {int(d)}"
                    for n, p, s, d in zip(cells.lsoas, cells.population, cells.score, cells.decile)]
    layers.append(pdk.Layer("ScatterplotLayer", cells[["lat", "lon", "fill", "tip"]], id="lsoas",
                            get_position=["lon", "lat"], get_fill_color="fill", get_radius=5200, pickable=True))
    area_text = (f"England's LSOAs are pooled into {len(cells):,} squares of about 11 by 10 km, each shaded by the "
                 f"decile of its population-weighted average {flab} score")
    view_lats, view_lons = cells.lat, cells.lon
legend_rows += [(f"{d}{' most deprived' if d == 1 else ' least deprived' if d == 10 else ''}", c)
                for d, c in zip(range(1, 11), nb.DECILE_RGB)]

bbox = None
if view == "la" and len(view_lats):
    pad = 0.15
    bbox = (float(np.nanmin(view_lons)) - pad, float(np.nanmin(view_lats)) - pad,
            float(np.nanmax(view_lons)) + pad, float(np.nanmax(view_lats)) + pad)
outlines = nb.la_outline_rows(bbox)  # only the outlines on this map
if len(outlines):
    layers.append(pdk.Layer("PathLayer", outlines[["path", "tip"]], id="la_outlines", get_path="path",
                            get_color=[20, 20, 20, 220], width_min_pixels=2, pickable=False))

school_legend, school_sentence = [], "No schools have a value to colour them by."
if len(sv):
    if colour_by == "ofsted":
        sv["fill"] = [[*nb.OFSTED_RGB.get(int(g), (150, 150, 150)), 235] for g in sv.value]
        school_legend = [(nb.OFSTED_LABELS[g], nb.OFSTED_RGB[g]) for g in (1, 2, 3, 4)]
        counts = sv.grade_label.value_counts()
        when = pd.to_datetime(sv.inspection_date)
        school_sentence = (f"{len(sv):,} schools are coloured by their latest single-word Ofsted grade, inspected "
                           f"{when.min():%b %Y} to {when.max():%b %Y}: "
                           + ", ".join(f"{int(n)} {g}" for g, n in counts.items())
                           + f". {int(sv.dated.sum())} of these grades are more than {ofsted_rules.DATED_AFTER_YEARS} "
                           "years old (marked DATED when you point at a school); "
                           f"{int((sv.newer != '').sum())} schools have a later report card or graded inspection "
                           "without an overall grade, given in the same text. Single-word grades stopped in "
                           "September 2024.")
    else:
        centre = 0.0 if colour_by == "prediction" else float(np.median(sv.value))
        spread = float(np.nanstd(sv.value)) or 1.0
        sv["fill"] = nb.diverging_rgba(sv.value, centre, spread)
        school_legend = nb.diverging_bins(centre, spread)
        what = {"disadvantaged": f"disadvantaged pupils' {m.label} in {yl}",
                "gap": f"the gap in {m.label} between other and disadvantaged pupils in {yl}",
                "prediction": f"how far disadvantaged pupils' {m.label} in {yl} is above (+) or below (-) what the "
                              "neighbourhood predicts"}[colour_by]
        school_sentence = (f"{len(sv):,} schools are coloured by {what}: from {sv.value.min():.1f} to "
                           f"{sv.value.max():.1f}, median {sv.value.median():.1f}.")
        if colour_by == "prediction":
            vc = sv.verdict.value_counts()
            school_sentence += (f" {int(vc.get('above prediction', 0))} are above and {int(vc.get('below prediction', 0))} "
                                "below their prediction (outside the range where 95% of schools in such a "
                                "neighbourhood fall).")
    sv["radius"] = 250 + 60 * np.sqrt(sv.cohort.clip(lower=1))
    sv["tip"] = [nb.tooltip_html(f"<b>{html(n)}</b> (URN {u})", html(t), f"{c} disadvantaged pupils" if c else "",
                         "located at its LSOA centre (no postcode coordinates)" if ls == "lsoa_centroid" else "")
                 for n, u, t, c, ls in zip(sv.name, sv.urn, sv.value_text, sv.cohort, sv.location_source)]
    layers.append(pdk.Layer("ScatterplotLayer", sv[["lat", "lon", "fill", "radius", "tip", "urn", "la_code"]], id="schools",
                            get_position=["lon", "lat"], get_fill_color="fill", get_radius="radius",
                            radius_min_pixels=3, radius_max_pixels=16, stroked=True, get_line_color=[30, 30, 30],
                            line_width_min_pixels=1, pickable=True))

fam_text = ""
if urn is not None:
    me = scores_all[scores_all.urn == int(urn)]
    fam, why = _family(int(urn))
    if fam is not None and len(me):
        links = fam.dropna(subset=["lat", "lon"]).copy()
        links["from"] = [[float(me.lon.iloc[0]), float(me.lat.iloc[0])]] * len(links)
        links["to"] = [[float(a), float(b)] for a, b in zip(links.lon, links.lat)]
        links["tip"] = [f"Family member: <b>{html(n)}</b> ({html(l)}), {k:.0f} km away" for n, l, k in
                        zip(links.name, links.la_name, links.km)]
        layers.append(pdk.Layer("LineLayer", links[["from", "to", "tip"]], id="family", get_source_position="from",
                                get_target_position="to", get_color=[230, 159, 0, 230], get_width=2, pickable=True))
        layers.append(pdk.Layer("ScatterplotLayer", links[["lat", "lon", "tip"]], id="family_members",
                                get_position=["lon", "lat"], get_fill_color=[230, 159, 0, 255], get_radius=300,
                                radius_min_pixels=4, pickable=True))
        fam_text = (f" Orange lines join {md(names.get(int(urn), urn))} to the {len(links)} schools of its family "
                    f"(similar intake, outside its competition radius; median {links.km.median():.0f} km away).")
    elif why:
        fam_text = f" No family is drawn: {md(why)}."
    if len(me):
        ring = np.radians(np.arange(0, 361, 10))
        lat0, lon0 = float(me.lat.iloc[0]), float(me.lon.iloc[0])
        circle = [[lon0 + radius / (111.32 * np.cos(np.radians(lat0))) * np.cos(a), lat0 + radius / 110.57 * np.sin(a)]
                  for a in ring]
        layers.append(pdk.Layer("PathLayer", [{"path": circle, "tip": f"{radius:g} km neighbourhood"}], id="radius",
                                get_path="path", get_color=[0, 0, 0, 255], width_min_pixels=2, get_dash_array=[4, 2]))

focus = None
if urn is not None and view == "la" and len(scores_all[scores_all.urn == int(urn)]):
    me = scores_all[scores_all.urn == int(urn)].iloc[0]
    focus = (me.lat, me.lon)
view_state = nb.view_for(view_lats, view_lons, focus=focus)
base_style = os.environ.get("EQUITY_MAP_STYLE")  # an optional base map, only when configured
deck_kw = {"map_style": base_style} if base_style else {"map_provider": None, "map_style": None}
deck = CompactDeck(layers=layers, initial_view_state=pdk.ViewState(**view_state, pitch=0),
                tooltip={"html": "{tip}", "style": {"fontSize": "12px", "backgroundColor": "#222", "color": "white"}},
                **deck_kw)
if not base_style:
    deck = _frame.without_base_map(deck)

sentence = f"{area_text}. {school_sentence}{fam_text} Black lines: LA boundaries we hold."
st.markdown(sentence)
st.pydeck_chart(deck, height=600, key="nb_map", alt=sentence, on_select=_pick_school,
                selection_mode="single-object")
st.caption("Hover over an area or a school for its figures; click a school to choose it.")
c1, c2 = st.columns(2)
with c1:
    _legend(legend_rows, f"Neighbourhood shading: {flab} decile (1 = most deprived 10% of LSOAs in England)")
with c2:
    if school_legend:
        _legend(school_legend, "Schools: " + COLOUR_BY[colour_by] + ("" if colour_by == "ofsted" else
                                                                     " (dot size = disadvantaged pupils)"))
if on25:
    table = sv[[c for c in ["urn", "name", "la_name", "value", "value_text", "cohort", "imd_share_20", "idaci_share_20",
                            "imd_decile_nbhd", "idaci_decile_nbhd", "own_idaci_decile", "lsoa21", "lsoa21_route",
                            "location_source"] if c in sv]].copy()
    table = table.rename(columns={
        "value": COLOUR_BY[colour_by], "value_text": "detail", "cohort": "disadvantaged pupils",
        "imd_share_20": f"% of neighbourhood LSOAs in England's most deprived 20%, IMD ({radius:g} km)",
        "idaci_share_20": f"% of neighbourhood LSOAs in England's most deprived 20%, IDACI ({radius:g} km)",
        "imd_decile_nbhd": "neighbourhood median IMD decile", "idaci_decile_nbhd": "neighbourhood median IDACI decile",
        "own_idaci_decile": "own 2021 LSOA: IDACI decile", "lsoa21": "2021 LSOA", "lsoa21_route": "2021 LSOA from"})
else:
    table = sv[[c for c in ["urn", "name", "la_name", "value", "value_text", "cohort", "imd_score", "idaci_score",
                            "imd_decile_nbhd", "idaci_decile_nbhd", "lsoa11", "location_source"] if c in sv]].copy()
    table = table.rename(columns={"value": COLOUR_BY[colour_by], "value_text": "detail", "cohort": "disadvantaged pupils",
                                  "imd_score": f"neighbourhood IMD score ({radius:g} km)",
                                  "idaci_score": f"neighbourhood IDACI score ({radius:g} km)",
                                  "imd_decile_nbhd": "neighbourhood IMD decile", "idaci_decile_nbhd": "neighbourhood IDACI decile"})
with st.expander("Show map data (schools)"):
    st.dataframe(table, hide_index=True, width="stretch")
st.download_button("Download CSV", to_csv_bytes(table),
                   file_name=f"neighbourhoods_{view}_{la}_{measure}_{year}.csv", mime="text/csv", key="dl-map")

# ---- one school's neighbourhood -------------------------------------------------------------------
if urn is not None:
    st.subheader(f"The neighbourhood of {md(names.get(int(urn), urn))}")
    try:
        prof = nb.profile(int(urn), radius, index=index)
    except nb.NoLocation as exc:
        st.warning(str(exc))
        prof = None
    if prof is not None and on25:
        own = prof["own"]
        a, b, c = st.columns(3)
        a.metric("Own 2021 LSOA: IDACI decile", f"{int(own['idaci_decile'])}" if own else "n/a",
                 help=(f"{own['name']} ({own['lsoa21']}); IDACI rank {int(own['idaci_rank']):,} of "
                       f"{nb.LSOA21_COUNT:,}; 2021 LSOA from {prof['school'].get('lsoa21_route') or 'n/a'}") if own else None)
        for col, f in ((b, "idaci"), (c, "imd")):
            col.metric(f"Most deprived 20%, {f.upper()} ({radius:g} km)", f"{prof['share_20'][f]:.0f}%",
                       f"median decile {prof['median_decile'][f]}", delta_color="off",
                       help=f"Share of the neighbourhood's 2021 LSOAs in IoD2025 {f.upper()} deciles 1-2 (England's "
                            "most deprived 20%), and the decile of its middle LSOA.")
        st.caption(prof["method"] + " " + prof["decile_note"])
        dec = prof["deciles"]
        figd = go.Figure()
        for f, colour in (("idaci", style.GROUP_COLOURS["disadvantaged"]), ("imd", style.GROUP_COLOURS["other"])):
            figd.add_bar(x=dec.decile, y=dec[f"{f}_pct"], name=f.upper(), marker_color=colour,
                         customdata=dec[f"{f}_lsoas"], hovertemplate="Decile %{x}: %{y:.0f}% (%{customdata} LSOAs)<extra></extra>")
        figd.update_layout(barmode="group", height=300, margin=dict(t=30, b=40),
                           legend=dict(orientation="h", yanchor="bottom", y=1.02),
                           xaxis=dict(title="IoD2025 decile (1 = most deprived 10% of England's 2021 LSOAs)", dtick=1),
                           yaxis_title="% of the neighbourhood's LSOAs")
        chart_block(figd, (f"Of the {len(prof['lsoas'])} 2021 LSOAs in this neighbourhood, "
                           f"{prof['share_20']['idaci']:.0f}% are among England's most deprived 20% by IDACI and "
                           f"{prof['share_20']['imd']:.0f}% by IMD (IoD2025)."),
                    dec, f"neighbourhood_deciles_{urn}_{radius:g}km.csv", key="nb_profile_deciles")
        st.dataframe(prof["lsoas"], hide_index=True, width="stretch")
        st.download_button("Download CSV", to_csv_bytes(prof["lsoas"]),
                           file_name=f"neighbourhood_{urn}_{radius:g}km.csv", mime="text/csv", key="dl-profile")
    elif prof is not None:
        own = prof["own"]
        a, b, c = st.columns(3)
        a.metric("Own LSOA: IDACI score", f"{own['idaci_score']:.3f}" if own else "n/a",
                 help=f"{md(own['name'])} ({md(own['lsoa11'])}); decile {int(own['idaci_decile'])}, "
                      f"score {own['idaci_score_source']}" if own else None)
        b.metric(f"Neighbourhood IDACI ({radius:g} km)", f"{prof['idaci_score']:.3f}",
                 f"decile {prof['idaci_decile']}", delta_color="off")
        c.metric(f"Neighbourhood IMD score ({radius:g} km)", f"{prof['imd_score']:.1f}",
                 f"decile {prof['imd_decile']}", delta_color="off")
        st.caption(prof["method"] + " Deciles: where the average would fall among England's LSOAs (1 = most deprived).")
        st.dataframe(prof["lsoas"], hide_index=True, width="stretch")
        st.download_button("Download CSV", to_csv_bytes(prof["lsoas"]),
                           file_name=f"neighbourhood_{urn}_{radius:g}km.csv", mime="text/csv", key="dl-profile")

# ---- results by neighbourhood deprivation ----------------------------------------------------------
st.subheader("Results for disadvantaged pupils by neighbourhood deprivation")
scope = url_choice(st.radio, "Schools", ["england", "la"], "scope", "england", horizontal=True,
               format_func=lambda v: "All of England" if v == "england" else f"{md(la_name)} only")
byd = nb.outcomes_by_decile(ks, measure, int(year), radius_km=radius, score=score,
                            la_code=la if scope == "la" else None, index=index).table
have = byd[byd.schools > 0]
fig = go.Figure()
fig.add_bar(x=have.decile, y=have.disadvantaged, name="Disadvantaged pupils",
            marker_color=style.GROUP_COLOURS["disadvantaged"],
            customdata=have[["schools", "disadvantaged_pupils"]],
            hovertemplate="Decile %{x}: %{y:.1f} (%{customdata[0]} schools, %{customdata[1]} pupils)<extra></extra>")
if have.other.notna().any():
    fig.add_bar(x=have.decile, y=have.other, name="Other pupils", marker_color=style.GROUP_COLOURS["other"],
                marker_pattern_shape="/")
fig.update_layout(barmode="group", height=380, margin=dict(t=40, b=40),
                  xaxis=dict(title=(f"Neighbourhood median IoD2025 {score.upper()} decile (1 = most deprived 10% of "
                                    "England's 2021 LSOAs)") if on25 else
                             f"Neighbourhood {score.upper()} decile (1 = most deprived 10% of England's LSOAs)",
                             dtick=1),
                  yaxis_title=m.label + (" (%)" if m.unit == "percent" else ""),
                  legend=dict(orientation="h", yanchor="bottom", y=1.02))
where = "England" if scope == "england" else md(la_name)
if len(have) >= 2:
    lo_, hi_ = have.iloc[0], have.iloc[-1]
    sent = (f"In {yl}, in schools in {where} whose neighbourhood is in decile {int(lo_.decile)} "
            f"({int(lo_.schools)} schools, {int(lo_.disadvantaged_pupils):,} disadvantaged pupils) disadvantaged pupils' "
            f"{m.label} averaged {lo_.disadvantaged:.1f}, against {hi_.disadvantaged:.1f} in decile {int(hi_.decile)} "
            f"({int(hi_.schools)} schools). Each school counts by its number of disadvantaged pupils; "
            f"{int(byd.schools.sum()):,} schools in all."
            + (" A neighbourhood's decile here is the median IoD2025 decile of its 2021 LSOAs." if on25 else ""))
    if have.gap.notna().any():
        g = have.dropna(subset=["gap"])
        sent += (f" The gap to other pupils in the same schools is {g.gap.iloc[0]:.1f} in decile {int(g.decile.iloc[0])} "
                 f"and {g.gap.iloc[-1]:.1f} in decile {int(g.decile.iloc[-1])}.")
else:
    sent = f"Too few schools in {where} have a {yl} figure for disadvantaged pupils to compare neighbourhoods."
chart_block(fig, sent, byd, f"by_neighbourhood_decile_{measure}_{year}.csv", key="nb_deciles")

# ---- better or worse than the neighbourhood predicts --------------------------------------------
st.subheader("Schools doing better or worse than their neighbourhood predicts")
try:
    prediction = nb.predicted_vs_actual(ks, measure, int(year), radius_km=radius, score=score, index=index)
except ValueError as exc:
    st.info(md(exc))
else:
    pva, mod = prediction.table, prediction.model
    mine = pva[pva.la_code == la]
    fig2 = go.Figure()
    fig2.add_scatter(x=pva.neighbourhood_score, y=pva.actual, mode="markers", name=f"Schools {mod['scope']}",
                     marker=dict(color=style.NEUTRAL, size=5, opacity=0.35), hoverinfo="skip")
    for verdict, colour, symbol in [("above prediction", "#0072B2", "triangle-up"), ("in line", "#555555", "circle"),
                                    ("below prediction", "#D55E00", "triangle-down")]:
        d = mine[mine.verdict == verdict]
        if len(d):
            fig2.add_scatter(x=d.neighbourhood_score, y=d.actual, mode="markers", name=html(f"{la_name}: {verdict}"),
                             marker=dict(color=colour, size=9, symbol=symbol, line=dict(width=1, color="black")),
                             text=[html(n) for n in d.name], customdata=d[["difference", "low", "high", "cohort"]],
                             hovertemplate="%{text}<br>actual %{y:.1f}; difference %{customdata[0]:+.1f} "
                                           "(%{customdata[1]:+.1f} to %{customdata[2]:+.1f}); "
                                           "%{customdata[3]} pupils<extra></extra>")
    xs = np.linspace(pva.neighbourhood_score.min(), pva.neighbourhood_score.max(), 50)
    fig2.add_scatter(x=xs, y=mod["intercept"] + mod["slope"] * xs, mode="lines", name="Prediction (line)",
                     line=dict(color="black", width=2))
    fig2.update_layout(height=420, margin=dict(t=40, b=40), legend=dict(orientation="h", yanchor="bottom", y=1.02),
                       xaxis_title=(f"{mod['variable']} ({radius:g} km)"[0].upper() + f"{mod['variable']} ({radius:g} km)"[1:]),
                       yaxis_title=f"{m.label}, disadvantaged pupils")
    vc = mine.verdict.value_counts()
    step, step_text = ((10, f"each 10 percentage points more of the neighbourhood's LSOAs among England's most "
                            f"deprived 20% by {score.upper()} (IoD2025)") if on25 else
                       (0.1, f"each 0.1 more on the neighbourhood {score.upper()} score"))
    explains = ("almost none" if mod["explained"] < 0.05 else "little" if mod["explained"] < 0.2
                else "some" if mod["explained"] < 0.5 else "much")
    sent2 = (f"Across {mod['schools']:,} schools {mod['scope']} in {yl}, {step_text} goes with {mod['slope'] * step:+.2f} in disadvantaged pupils' {m.label} (95% interval "
             f"{mod['slope_low'] * step:+.2f} to {mod['slope_high'] * step:+.2f}, an estimate). The neighbourhood explains "
             f"{explains} ({mod['explained']:.0%}) of the real differences between schools: their true results spread "
             f"by about {mod['tau']:.2f} around the line. In {md(la_name)}, {int(vc.get('above prediction', 0))} of "
             f"{len(mine)} schools are above their prediction and {int(vc.get('below prediction', 0))} below: outside the "
             f"range where 95% of schools in such a neighbourhood fall (about 5% of schools by chance alone; "
             f"{mod['flagged_share']:.0%} of all {mod['schools']:,}).")
    cols = ["urn", "name", "la_name", "neighbourhood_score", "cohort", "actual", "predicted", "difference", "low",
            "high", "verdict"]
    chart_block(fig2, sent2, mine[cols], f"neighbourhood_prediction_{la}_{measure}_{year}.csv", key="nb_pred")
    st.caption("Method: " + mod["text"] + " " + nb.PROXY_NOTE)
