"""Meeting mode: a pack on screen, one slide at a time in large type (← / → keys or the buttons),
and the same pack to download as PDF or PowerPoint."""
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from equity import kept_builds, lookups
from equity.present import pack
from equity.analysis import partnerships
from equity.csv_export import to_csv_bytes
from equity.safe_text import md, plain
from pages._shared import chart_block, la_filter, url_choice, urn_from

import pages._shared as _frame  # noqa: E402

_frame.route_through_frame()

st.title("Meeting mode and packs")


KINDS = list(pack.KINDS)
# coded choices (?pack=la, ?pid=3) through the shared URL helper: the code in the URL, never the label
kind = url_choice(st.sidebar.radio, "Pack for", KINDS, "pack", KINDS[0], what="pack type", format_func=pack.KINDS.get)
key = None
if kind in ("la", "keys_to_success"):
    key = la_filter(key="la")
elif kind == "family":
    urn_text = st.sidebar.text_input("School URN", key="urn", bind="query-params",
                                     help="Find URNs on the School profile page.")
    urn = urn_from(urn_text)  # checked: digits only, in URN range; a bad one is explained
    if urn is not None:
        key = urn if lookups.school(urn) else None
        if key is None:
            st.sidebar.warning(f"No school with URN {urn} in this database.")
elif kind == "partnership":
    try:
        reg = pack.partnership_register()
    except partnerships.RegisterError as exc:  # corrupt, too new, unreadable: say so, never "empty"
        st.error(partnerships.explain(exc))
        st.stop()
    if reg.empty:
        st.sidebar.info("No partnerships in the register yet: add one on the Partnerships page.")
    else:
        ids = [str(i) for i in reg.id]
        desc = {str(r.id): f"{r.id}: URN {r.school_urn} with {r.partner_urns} ({r.status})" for r in reg.itertuples()}
        key = url_choice(st.sidebar.selectbox, "Partnership", ids, "pid", ids[0], what="partnership",
                         format_func=desc.get)
anonymise = st.sidebar.checkbox("Anonymise school names (School A, B...)", key="anon", bind="query-params")
since_db = None
if _frame.allowed("since_last_meeting"):
    since_mode = st.sidebar.radio("Since last meeting", ["latest two years", "two database builds"], key="since",
                                  bind="query-params")
else:  # a visitor's pack compares the latest two published years; earlier builds are for officers
    since_mode = "latest two years"
    with st.sidebar:
        _frame.refused("since_last_meeting", "since", button=False)
if since_mode == "two database builds":
    # only builds this server kept (equity.kept_builds), chosen by name from a list: never a typed path
    kept = {b["name"]: b for b in kept_builds.listing()}
    if not kept:
        st.sidebar.info(f"No earlier build is kept yet: each rebuild keeps the one it replaces (the newest "
                        f"{kept_builds.KEEP}).")
    else:
        chosen = url_choice(st.sidebar.selectbox, "Earlier build", list(kept), "since_build", next(iter(kept)),
                            what="kept build", format_func=lambda n: kept[n]["label"],
                            help="The build used at the last meeting. Each rebuild keeps the one it replaces.")
        since_db = str(kept[chosen]["path"])
big = st.sidebar.toggle("Large type", value=True, key="big", bind="query-params")

if key is None:
    st.info("Choose what the pack is for in the sidebar.")
    st.stop()


try:
    with st.spinner("Gathering the pack…"):
        p = pack.meeting_pack(kind, str(key), anonymise=bool(anonymise), since_db=since_db or None)
except pack.PackError as exc:
    st.warning(f"No pack: {md(exc)}")
    st.stop()

n = len(p.slides)
d1, d2, d3 = st.columns([1, 1, 2])
d1.download_button("PDF", lambda: pack.to_pdf(p), file_name=p.filename("pdf"), mime="application/pdf",
                   icon=":material/picture_as_pdf:", key="dl-pdf")
d2.download_button("PowerPoint", lambda: pack.to_pptx(p), file_name=p.filename("pptx"),
                   mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
                   icon=":material/slideshow:", key="dl-pptx")
d3.caption(f"Download the pack ({n} slides). Charts in the files are drawn on this server by a local browser: "
           "a pack takes about 10–15 seconds to prepare after you click.")

if "slide" in st.session_state and st.session_state["slide"] > n:
    st.session_state["slide"] = n


def _step(delta: int) -> None:
    st.session_state["slide"] = min(max(int(st.session_state.get("slide", 1)) + delta, 1), n)


b1, b2, b3 = st.columns([1, 4, 1])
b1.button("← Previous", on_click=_step, args=(-1,), shortcut="Left", key="prev", width="stretch")
i = b2.slider("Slide", 1, n, key="slide", bind="query-params", label_visibility="collapsed")
b3.button("Next →", on_click=_step, args=(1,), shortcut="Right", key="next", width="stretch")

if big:
    st.html("""<style>
    .stMainBlockContainer h2 {font-size: 2.6rem !important;}
    .stMainBlockContainer [data-testid="stMarkdown"] p,
    .stMainBlockContainer [data-testid="stMarkdown"] li {font-size: 1.45rem !important; line-height: 1.5;}
    </style>""")

s = p.slides[i - 1]
# A pack's words are plain text holding names from files and focus/notes from the register: shown as text.
st.header(md(s.title), anchor=False)
if s.kind == "cover":
    st.markdown(md(s.sentence))
    st.markdown("\n".join(f"- {md(b)}" for b in s.bullets))
    if s.note:
        st.caption(md(plain(s.note)))
elif s.figure is not None:
    fig = go.Figure(s.figure)
    if big:
        fig.update_layout(font=dict(size=18), title_font=dict(size=22), height=max(560, fig.layout.height or 0))
    chart_block(fig, md(s.sentence), s.table if s.table is not None else pd.DataFrame(), f"slide-{i}.csv",
                key=f"slide-fig-{i}")
else:
    st.markdown(md(s.sentence))
    if s.table is not None and len(s.table):
        st.dataframe(s.table, hide_index=True, width="stretch")
        st.download_button("Download CSV", to_csv_bytes(s.table), file_name=f"slide-{i}.csv",
                           mime="text/csv", key=f"dl-slide-{i}")
if s.kind != "cover" and s.bullets:
    st.markdown("\n".join(f"- {md(b)}" for b in s.bullets))
if s.kind != "cover" and s.note:
    st.caption(md(plain(s.note)))
st.caption(f"Slide {i} of {n} · {md(p.title)}{' · anonymised' if p.anonymised else ''} · "
           "the ← and → keys move between slides.")
