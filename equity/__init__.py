"""Equity dashboard analysis package.

Everything the dashboard shows is computed here, as plain functions that can be tested without
Streamlit. Only :mod:`equity.db` talks to DuckDB; SQL lives in named files under ``equity/sql``.
"""

__all__ = ["years", "codes", "measures", "db", "build"]
