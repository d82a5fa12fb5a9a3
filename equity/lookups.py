"""Small look-ups the pages share: LA names, school search, years available."""
from __future__ import annotations

import pandas as pd

from equity.cache import per_build
from equity import db


@per_build(maxsize=4)
def las_with_data(path=None) -> pd.DataFrame:
    """LAs with any published or school results, with names: columns la_code, la_name."""
    return db.query("lookups/las_with_data", path=path)


URN_MIN, URN_MAX = 1, 9_999_999  # URNs are positive whole numbers, six digits today (a few old ones five)


class BadURN(ValueError):
    """Text that cannot be a URN: ``shown`` (the text as given, cut short) and ``why``, in words a
    user can act on."""

    def __init__(self, shown: str, why: str):
        super().__init__(f"“{shown}” is not a URN: {why}" if shown else why)
        self.shown, self.why = shown, why


def parse_urn(value) -> int:
    """``value`` (text from a URL, a form or a command line) as a URN, checked before any
    conversion: ASCII digits only (``'²'.isdigit()`` is true in Python, ``int('²')`` fails), at most
    a few characters (``int()`` of a 30,000-digit string raises), and in URN range (a 10-digit
    number overflows the database's integer column). Raises :class:`BadURN`."""
    text = str(value if value is not None else "").strip()
    shown = text if len(text) <= 12 else text[:12] + "…"
    if not text:
        raise BadURN("", "no URN given")
    if not (text.isascii() and text.isdigit()):
        raise BadURN(shown, "a URN is a number such as 125311")
    if len(text) > 9 or not URN_MIN <= int(text) <= URN_MAX:
        raise BadURN(shown, f"URNs are numbers from {URN_MIN} to {URN_MAX:,}")
    return int(text)


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
