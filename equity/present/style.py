"""Colours and labels shared by every chart, so a group looks the same on every page and in packs.

Okabe-Ito palette (safe for the common colour-vision deficiencies). Colour is never the only
carrier of meaning: lines also differ by dash and markers, and every chart has a table.
"""
GROUP_COLOURS = {"disadvantaged": "#D55E00", "other": "#0072B2", "all": "#555555"}
GROUP_DASH = {"disadvantaged": "solid", "other": "dash", "all": "dot"}
AREA_COLOURS = {"school": "#009E73", "la": "#CC79A7", "england": "#000000", "family": "#E69F00"}
HIGHLIGHT = "#E69F00"
NEUTRAL = "#999999"
ESTIMATE_NOTE = "estimate (computed by this dashboard, not published by DfE)"
