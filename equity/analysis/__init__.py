"""Analysis: every query and calculation the pages show (over the ground floor; never imports ingest or present)."""
