"""Widgets and blocks every page uses: the shared filters, and the chart block (a sentence that
says what the chart shows, the chart, a "show data" table and a CSV download).

Filters are bound to the URL (``bind="query-params"``), so any view can be bookmarked or shared.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from equity import lookups


def la_filter(key: str = "la", label: str = "Local authority", sidebar: bool = True) -> str:
    """Select an LA (DfE three-digit code). Only LAs we hold data for are offered."""
    las = lookups.las_with_data()
    codes = list(las.la_code)
    names = dict(zip(las.la_code, las.la_name))
    where = st.sidebar if sidebar else st
    return where.selectbox(label, codes, format_func=lambda c: f"{names.get(c, c)} ({c})", key=key,
                           bind="query-params")


def key_stage_filter(key: str = "ks", sidebar: bool = True) -> int:
    where = st.sidebar if sidebar else st
    return where.radio("Key stage", [4, 2], format_func=lambda k: f"KS{k} ({'age 16' if k == 4 else 'age 11'})",
                       key=key, horizontal=True, bind="query-params")


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
