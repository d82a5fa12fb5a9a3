"""Widgets and blocks every page uses: the shared filters, and the chart block (a sentence that
says what the chart shows, the chart, a "show data" table and a CSV download).

Filters are bound to the URL (``bind="query-params"``), so any view can be bookmarked or shared.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit import config as st_config
from streamlit.runtime.pages_manager import PagesManager

from equity import latest, lookups

def route_through_frame() -> None:
    """Call first thing in every page.

    Streamlit treats a folder named pages/ beside the entry point as an old-style multipage app
    until some session has run st.navigation in dashboard.py. A deep link (say /families?urn=...)
    opened first after a server start would then run the page alone, without the frame. This
    switches to the frame's navigation and reruns: dashboard.py then routes the same URL to the page.
    (Not done at import time: raising a rerun inside an import breaks concurrent imports. Not done
    under AppTest, which resets the flag on every run and opens page files directly.)
    """
    if PagesManager.uses_pages_directory and not st_config.get_option("global.appTest"):
        PagesManager.uses_pages_directory = False
        st.rerun()


def _url_synced(key: str, options: list, default=None):
    """Initialise a shared filter once per session from the URL (?la=936), else from the value kept
    when the user last changed pages; the caller writes the chosen value back to the URL."""
    if key not in st.session_state:
        wanted = st.query_params.get(key)
        by_text = {str(o): o for o in options}
        if wanted in by_text:
            st.session_state[key] = by_text[wanted]
        elif st.session_state.get(f"_keep_{key}") in options:
            st.session_state[key] = st.session_state[f"_keep_{key}"]
        elif default in options:
            st.session_state[key] = default


def _remember(key: str, value) -> None:
    st.session_state[f"_keep_{key}"] = value
    if st.query_params.get(key) != str(value):
        st.query_params[key] = str(value)


def la_filter(key: str = "la", label: str = "Local authority", sidebar: bool = True) -> str:
    """Select an LA (DfE three-digit code, kept in the URL as ?la=936). Only LAs we hold data for are offered."""
    las = lookups.las_with_data()
    codes = list(las.la_code)
    names = dict(zip(las.la_code, las.la_name))
    where = st.sidebar if sidebar else st
    # a newcomer (no URL, nothing chosen yet) starts on the LA with the most recent results
    _url_synced(key, codes, default=latest.default_la())
    value = where.selectbox(label, codes, format_func=lambda c: f"{names.get(c, c)} ({c})", key=key)
    _remember(key, value)
    return value


def key_stage_filter(key: str = "ks", sidebar: bool = True) -> int:
    """KS4 or KS2, kept in the URL as ?ks=4."""
    where = st.sidebar if sidebar else st
    _url_synced(key, [4, 2])
    value = where.radio("Key stage", [4, 2], format_func=lambda k: f"KS{k} ({'age 16' if k == 4 else 'age 11'})",
                        key=key, horizontal=True)
    _remember(key, value)
    return value


def latest_year_note(la: str, ks: int, name: str | None = None) -> None:
    """Say which year the page opens on (the latest held for the LA and key stage) and which headline
    measure DfE did not publish that year."""
    st.info(latest.year_note(la, ks, name), icon=":material/event:")


def chart_block(fig, sentence: str, data: pd.DataFrame, filename: str, key: str | None = None) -> None:
    """The standard chart unit: plain-language sentence, chart, data table and CSV download."""
    st.markdown(sentence)
    st.plotly_chart(fig, width="stretch", key=key)
    with st.expander("Show data"):
        st.dataframe(data, hide_index=True, width="stretch")
    st.download_button("Download CSV", data.to_csv(index=False).encode("utf-8"), file_name=filename,
                       mime="text/csv", key=f"dl-{key or filename}")


def missing_database_notice() -> None:
    st.error("No database yet. Run `python -m equity build` (or restart the app to build it).")
