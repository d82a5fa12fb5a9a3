"""Ingest: read DfE and other public files, check them, and build the database (over the ground floor)."""
