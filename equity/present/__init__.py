"""Presentation: charts, packs and words (over analysis)."""
