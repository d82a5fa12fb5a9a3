"""The equity dashboard: navigation, page config and the filters every page shares.

Run with ``streamlit run dashboard.py``. On first start, with no database yet, it builds one from
the bundled data under ``data/raw`` (about half a minute) with a progress bar.
"""
from pathlib import Path

import streamlit as st

from equity.ingest import build
from equity import db
from pages import _shared
from pages._nav import PAGES

# An emoji icon: Streamlit draws it locally (a :material/...: page icon is fetched from fonts.gstatic.com)
st.set_page_config(page_title="Equity dashboard", page_icon="⚖️", layout="wide")

HERE = Path(__file__).parent


def _ensure_database() -> None:
    path = db.default_path()
    if path.exists():
        return
    bar = st.progress(0.0, text="First start: building the database from the bundled data…")
    build.build(None, path, progress=lambda f, t: bar.progress(min(max(f, 0.0), 1.0), text=t))
    bar.empty()


_ensure_database()
HOME = "overview"  # the default page, served at "/"
nav = {section: [st.Page(str(HERE / f), title=t, icon=i, url_path="home" if u == HOME else u, default=(u == HOME))
                 for f, t, i, u in items]
       for section, items in PAGES.items()}
# A bookmark of "/overview" lands on the default page too, with its filters, through a hidden page
# (the default page is served at "/" but still holds its own path name, so it cannot be "overview").
home = next(p for pages in nav.values() for p in pages if p.url_path == "")
nav[next(iter(nav))].append(st.Page(lambda: st.switch_page(home, query_params=st.query_params.to_dict()),
                                    title=home.title, url_path=HOME, visibility="hidden"))
_shared.account_box()  # who is signed in, with "Sign out" (nothing when sign-in is not configured)
st.navigation(nav).run()
