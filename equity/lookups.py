"""Small look-ups the pages share: LA names, school search, years available."""
from __future__ import annotations

import pandas as pd

from .cache import per_build
from . import db


@per_build(maxsize=4)
def las_with_data(path=None) -> pd.DataFrame:
    """LAs with any published or school results, with names: columns la_code, la_name."""
    return db.query("lookups/las_with_data", path=path)


def school_search(text: str, limit: int = 20, path=None) -> pd.DataFrame:
    """Schools whose name, URN or postcode contains ``text`` (case-insensitive)."""
    t = (text or "").strip()
    if not t:
        return pd.DataFrame(columns=["urn", "name", "la_code", "la_name", "postcode", "phase"])
    return db.query("lookups/school_search", {"q": t, "limit": limit}, path=path)


def school(urn: int, path=None) -> dict | None:
    df = db.query("lookups/school", {"urn": int(urn)}, path=path)
    return None if df.empty else df.iloc[0].to_dict()


def school_names(urns, path=None) -> dict[int, str]:
    """``{urn: name}`` for those of ``urns`` that are schools in the database; URNs it does not hold
    are left out (one query for the lot)."""
    wanted = sorted({int(u) for u in urns})
    if not wanted:
        return {}
    df = db.query("lookups/school_names", {"urns": wanted}, path=path)
    return dict(zip(df.urn.astype(int), df.name))
