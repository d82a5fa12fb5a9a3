"""Neighbourhoods: how deprived the area around each school is, and how disadvantaged pupils do
in schools set in more and less deprived places.

Every number comes from ``equity.neighbourhoods``; this page lays out the map, the charts and the
tables. The map is drawn offline (no base map tiles).
"""
import json
import os

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pydeck as pdk
import streamlit as st

from equity import db, style
from equity import neighbourhoods as nb
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
             "ofsted": "Latest Ofsted grade"}
DEFAULT_MEASURE = {4: "att8_vs_national_other", 2: "rwm_exp"}


class CompactDeck(pdk.Deck):
    """A pydeck Deck that serialises without indentation: pydeck indents its JSON, which makes a
    county's polygons three times larger on their way to the browser."""

    def to_json(self):
        from pydeck.bindings.json_tools import default_serialize
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.attrs = {}
    return out


@st.cache_data(show_spinner=False, max_entries=8)
def _family(urn: int, build: str):
    """The school's family (equity.families, if that module is installed), or the reason there is none."""
    try:
        from equity import families
    except ImportError:
        return None, "the families module is not installed"
    try:
        fam = families.family(int(urn))
    except Exception as exc:  # FamilyUnavailable and friends carry a plain reason
        return None, str(getattr(exc, "reason", exc))
    return _plain(fam[["urn", "name", "la_name", "lat", "lon", "km"]]), ""


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
            "the neighbourhood would lead us to expect? Deprivation is from the English Indices of Deprivation "
            "2019, for each of England's 32,844 small areas (LSOAs, about 1,500 residents each).")
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
shade = url_choice(st.sidebar.selectbox, "Shade neighbourhoods by", list(nb.FIELDS), "shade", "idaci",
               format_func=lambda f: nb.FIELDS[f][0])
my = nb.measure_years()
my = my[my.key_stage == ks]
measures = list(dict.fromkeys([m for m in [DEFAULT_MEASURE[ks]] if m in set(my.measure)] + list(my.measure)))
if not measures:
    st.warning(f"No KS{ks} results for disadvantaged pupils in the database.")
    st.stop()
measure = url_choice(st.sidebar.selectbox, "Measure", measures, "measure", measures[0],
                 format_func=lambda m: MEASURES[m].label)
years = sorted(my[my.measure == measure].start_year.astype(int), reverse=True)
year = url_choice(st.sidebar.selectbox, "Year", years, "year", years[0], format_func=label)
colour_by = url_choice(st.sidebar.selectbox, "Colour schools by", list(COLOUR_BY), "colour", "disadvantaged",
                   format_func=COLOUR_BY.get)
score = url_choice(st.sidebar.radio, "Neighbourhood deprivation score", list(nb.SCORES), "score", "idaci",
               horizontal=True, format_func=lambda s: s.upper(),
               help="IDACI: share of children aged 0-15 in income-deprived families. IMD: all seven "
                    "domains. Used for the neighbourhood averages, the decile chart and the prediction.")
radius = st.sidebar.slider("Neighbourhood radius (km)", nb.MIN_RADIUS_KM, nb.MAX_RADIUS_KM, nb.RADIUS_KM, 0.25,
                           key="nb_radius", bind="query-params",
                           help="A school's neighbourhood: its own LSOA plus every LSOA whose population-weighted "
                                "centroid is within this distance. 1.5 km is about a 20-minute walk.")
m = MEASURES[measure]
yl = label(int(year))

scores_all = nb.all_scores(radius)
la_schools = scores_all[scores_all.la_code == la].sort_values("name")
la_name = la_schools.la_name.dropna().iloc[0] if la_schools.la_name.notna().any() else la
names = dict(zip(la_schools.urn.astype(int), la_schools.name))
urn = url_choice(st.selectbox, "School (optional: shows its neighbourhood and its family)", list(names), "nb_urn", url_key="urn",
             placeholder="Choose a school in this LA", format_func=lambda u: f"{names.get(u, u)} ({u})")

# ---- the map --------------------------------------------------------------------------------------
try:
    sv = nb.school_values(ks, measure, int(year), colour_by, radius_km=radius, score=score,
                          la_code=None if view == "england" else la)
except ValueError as exc:
    st.warning(md(exc))
    sv = pd.DataFrame(columns=["urn", "name", "lat", "lon", "value", "value_text", "cohort", "location_source"])
layers, legend_rows = [], []
flab, fdec, fscore, _ = nb.FIELDS[shade]
if view == "la":
    kind, lrows = nb.lsoa_layer_rows(la, shade)
    if kind == "polygons" and len(lrows):
        layers.append(pdk.Layer("PolygonLayer", lrows[["polygon", "fill", "tip"]], id="lsoas", get_polygon="polygon",
                                get_fill_color="fill", get_line_color=[255, 255, 255, 90], line_width_min_pixels=0.5,
                                stroked=True, filled=True, pickable=True))
    elif len(lrows):
        layers.append(pdk.Layer("ScatterplotLayer", lrows[["lat", "lon", "fill", "tip"]], id="lsoas",
                                get_position=["lon", "lat"], get_fill_color="fill", get_radius=180,
                                radius_min_pixels=2, pickable=True))
    n_areas = lrows.lsoa11.nunique() if len(lrows) else 0
    dec_counts = lrows.drop_duplicates("lsoa11").decile.value_counts() if len(lrows) else pd.Series(dtype=int)
    area_text = ((f"{md(la_name)}'s {n_areas:,} LSOAs are shaded by {flab} decile" if kind != "centroids around schools"
                  else f"The {n_areas:,} LSOAs around {md(la_name)}'s schools are shaded by {flab} decile")
                 + (" (boundaries)" if kind == "polygons" else " (dots at each LSOA's population-weighted centre: "
                    "no boundaries are bundled for this LA)"))
    if n_areas:
        most = int(dec_counts[dec_counts.index <= 2].sum())
        area_text += f"; {most:,} ({most / n_areas:.0%}) are among England's most deprived 20%"
    view_lats = lrows.lat if "lat" in lrows else pd.Series([p[1] for poly in lrows.polygon for p in poly[0]])
    view_lons = lrows.lon if "lon" in lrows else pd.Series([p[0] for poly in lrows.polygon for p in poly[0]])
    if not len(lrows):
        view_lats, view_lons = la_schools.lat, la_schools.lon
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
        school_sentence = (f"{len(sv):,} schools are coloured by their latest Ofsted grade: "
                           + ", ".join(f"{int(n)} {md(g)}" for g, n in counts.items()) + ".")
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
                                "below their prediction beyond noise.")
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
    fam, why = _family(int(urn), db.build_id())
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

view_state = nb.view_for(view_lats, view_lons)
if urn is not None and view == "la" and len(scores_all[scores_all.urn == int(urn)]):
    me = scores_all[scores_all.urn == int(urn)].iloc[0]
    view_state = {"latitude": float(me.lat), "longitude": float(me.lon), "zoom": max(view_state["zoom"], 11.5)}
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
table = sv[[c for c in ["urn", "name", "la_name", "value", "value_text", "cohort", "imd_score", "idaci_score",
                        "imd_decile_nbhd", "idaci_decile_nbhd", "lsoa11", "location_source"] if c in sv]].copy()
table = table.rename(columns={"value": COLOUR_BY[colour_by], "value_text": "detail", "cohort": "disadvantaged pupils",
                              "imd_score": f"neighbourhood IMD score ({radius:g} km)",
                              "idaci_score": f"neighbourhood IDACI score ({radius:g} km)",
                              "imd_decile_nbhd": "neighbourhood IMD decile", "idaci_decile_nbhd": "neighbourhood IDACI decile"})
with st.expander("Show map data (schools)"):
    st.dataframe(_plain(table), hide_index=True, width="stretch")
st.download_button("Download CSV", to_csv_bytes(_plain(table)),
                   file_name=f"neighbourhoods_{view}_{la}_{measure}_{year}.csv", mime="text/csv", key="dl-map")

# ---- one school's neighbourhood -------------------------------------------------------------------
if urn is not None:
    st.subheader(f"The neighbourhood of {md(names.get(int(urn), urn))}")
    try:
        prof = nb.profile(int(urn), radius)
    except nb.NoLocation as exc:
        st.warning(md(exc))
    else:
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
        st.dataframe(_plain(prof["lsoas"]), hide_index=True, width="stretch")
        st.download_button("Download CSV", to_csv_bytes(_plain(prof["lsoas"])),
                           file_name=f"neighbourhood_{urn}_{radius:g}km.csv", mime="text/csv", key="dl-profile")

# ---- results by neighbourhood deprivation ----------------------------------------------------------
st.subheader("Results for disadvantaged pupils by neighbourhood deprivation")
scope = url_choice(st.radio, "Schools", ["england", "la"], "scope", "england", horizontal=True,
               format_func=lambda v: "All of England" if v == "england" else f"{md(la_name)} only")
byd = nb.outcomes_by_decile(ks, measure, int(year), radius_km=radius, score=score,
                            la_code=la if scope == "la" else None)
have = byd[byd.schools > 0]
fig = go.Figure()
fig.add_bar(x=have.decile, y=have.disadvantaged, name="Disadvantaged pupils",
            marker_color=style.GROUP_COLOURS["disadvantaged"],
            customdata=have[["schools", "disadvantaged_pupils"]],
            hovertemplate="Decile %{x}: %{y:.1f} (%{customdata[0]} schools, %{customdata[1]} pupils)<extra></extra>")
if have.other.notna().any():
    fig.add_bar(x=have.decile, y=have.other, name="Other pupils", marker_color=style.GROUP_COLOURS["other"],
                marker_pattern_shape="/")
fig.update_layout(barmode="group", height=380, margin=dict(t=30, b=40),
                  xaxis=dict(title=f"Neighbourhood {score.upper()} decile (1 = most deprived 10% of England's LSOAs)",
                             dtick=1),
                  yaxis_title=m.label + (" (%)" if m.unit == "percent" else ""), legend=dict(orientation="h"))
where = "England" if scope == "england" else md(la_name)
if len(have) >= 2:
    lo_, hi_ = have.iloc[0], have.iloc[-1]
    sent = (f"In {yl}, in schools in {where} whose neighbourhood is in decile {int(lo_.decile)} "
            f"({int(lo_.schools)} schools, {int(lo_.disadvantaged_pupils):,} disadvantaged pupils) disadvantaged pupils' "
            f"{m.label} averaged {lo_.disadvantaged:.1f}, against {hi_.disadvantaged:.1f} in decile {int(hi_.decile)} "
            f"({int(hi_.schools)} schools). Each school counts by its number of disadvantaged pupils; "
            f"{int(byd.schools.sum()):,} schools in all.")
    if have.gap.notna().any():
        g = have.dropna(subset=["gap"])
        sent += (f" The gap to other pupils in the same schools is {g.gap.iloc[0]:.1f} in decile {int(g.decile.iloc[0])} "
                 f"and {g.gap.iloc[-1]:.1f} in decile {int(g.decile.iloc[-1])}.")
else:
    sent = f"Too few schools in {where} have a {yl} figure for disadvantaged pupils to compare neighbourhoods."
chart_block(fig, sent, _plain(byd), f"by_neighbourhood_decile_{measure}_{year}.csv", key="nb_deciles")

# ---- better or worse than the neighbourhood predicts --------------------------------------------
st.subheader("Schools doing better or worse than their neighbourhood predicts")
try:
    pva = nb.predicted_vs_actual(ks, measure, int(year), radius_km=radius, score=score)
except ValueError as exc:
    st.info(md(exc))
else:
    mod = pva.attrs["model"]
    mine = pva[pva.la_code == la]
    fig2 = go.Figure()
    fig2.add_scatter(x=pva.neighbourhood_score, y=pva.actual, mode="markers", name="Schools in England",
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
    fig2.update_layout(height=420, margin=dict(t=30, b=40), legend=dict(orientation="h"),
                       xaxis_title=f"Neighbourhood {score.upper()} score ({radius:g} km, population-weighted)",
                       yaxis_title=f"{m.label}, disadvantaged pupils")
    vc = mine.verdict.value_counts()
    sent2 = (f"Across {mod['schools']:,} schools in England in {yl}, each 0.1 more on the neighbourhood "
             f"{score.upper()} score goes with {mod['slope'] * 0.1:+.1f} in disadvantaged pupils' {m.label} "
             f"(R² {mod['r2']:.1%}: the neighbourhood explains {'little' if mod['r2'] < 0.1 else 'some'} of the "
             f"difference between schools). In {md(la_name)}, {int(vc.get('above prediction', 0))} of {len(mine)} schools "
             f"are above their prediction and {int(vc.get('below prediction', 0))} below, beyond noise.")
    cols = ["urn", "name", "la_name", "neighbourhood_score", "cohort", "actual", "predicted", "difference", "low",
            "high", "verdict"]
    chart_block(fig2, sent2, _plain(mine[cols]), f"neighbourhood_prediction_{la}_{measure}_{year}.csv", key="nb_pred")
    st.caption("Method: " + mod["text"] + " " + nb.PROXY_NOTE)
