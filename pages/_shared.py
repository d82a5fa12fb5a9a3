"""Widgets and blocks every page uses: the shared filters, and the chart block (a sentence that
says what the chart shows, the chart, a "show data" table and a CSV download).

Filters are bound to the URL (``bind="query-params"``), so any view can be bookmarked or shared.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from equity import lookups

# Streamlit treats a folder named pages/ beside the entry point as an old-style multipage app until
# some session has run st.navigation in dashboard.py. A deep link (say /families?urn=...) opened first
# after a server start would then run this page alone, without the frame. Switch to the frame's
# navigation and rerun: dashboard.py then routes the same URL to this page.
if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()


def la_filter(key: str = "la", label: str = "Local authority", sidebar: bool = True) -> str:
    """Select an LA (DfE three-digit code). Only LAs we hold data for are offered."""
    las = lookups.las_with_data()
    codes = list(las.la_code)
    names = dict(zip(las.la_code, las.la_name))
    where = st.sidebar if sidebar else st
    _carry_over(key)
    value = where.selectbox(label, codes, format_func=lambda c: f"{names.get(c, c)} ({c})", key=key,
                            bind="query-params")
    st.session_state[f"_keep_{key}"] = value
    return value


def _carry_over(key: str) -> None:
    """Keep a shared filter's value when the user moves to another page (the URL carries it within a page)."""
    kept = st.session_state.get(f"_keep_{key}")
    if kept is not None and key not in st.session_state and key not in st.query_params:
        st.session_state[key] = kept


def key_stage_filter(key: str = "ks", sidebar: bool = True) -> int:
    where = st.sidebar if sidebar else st
    _carry_over(key)
    value = where.radio("Key stage", [4, 2], format_func=lambda k: f"KS{k} ({'age 16' if k == 4 else 'age 11'})",
                        key=key, horizontal=True, bind="query-params")
    st.session_state[f"_keep_{key}"] = value
    return value


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
