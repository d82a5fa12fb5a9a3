"""Challenge-board meeting packs: one set of slides for an LA, a school and its family, a
partnership, or the Keys to Success cohort of an LA; rendered as PDF (reportlab), PowerPoint
(python-pptx) or shown on screen one slide at a time (meeting mode, ``pages/meeting.py``).

A pack is built in two steps:

1. :func:`build` gathers the content as a list of :class:`Slide` (title, a plain-language
   sentence with the real numbers, a Plotly figure and/or a table, bullets, a note). The same
   slides feed every format, so the screen and the paper say the same thing.
2. :func:`to_pdf` / :func:`to_pptx` draw them; charts become PNGs through kaleido and the local
   Chromium (``equity.present.pack_charts.render_png``: no network, no browser download).

What every pack holds:

* **A cover** naming the scope (LA, school, partnership), the academic years of the data in the
  pack, the source files behind the figures, the database build it was made from, and whether
  school names are anonymised.
* **The scope's charts and tables** (below, per kind).
* **Since last meeting**: what changed between two academic years (``since=(2017, 2018)``;
  by default the two latest comparable years of each key stage), or between two database builds
  (``since_db=old.duckdb``: the rows of this pack's scope that are new, gone or changed).
* **Partnership actions recorded** in the register (``equity.analysis.partnerships``): focus, notes and
  the audit trail of changes, for partnerships involving the pack's schools.
* **Notes on the data**: breaks in the series, hidden small groups, what is published and what
  is estimated.

Anonymising (``anonymise=True``) replaces every school name by "School A", "School B"... in one
consistent order for the whole pack (the focus school is always School A), drops URNs and
postcodes, and scrubs the names out of every sentence, table and chart (a last pass over all text
replaces any real name of a school in scope that is still there). LA names stay.

Figures are DfE's as published (LA and England rows from ``published_result``, never recomputed
from schools); within-school gaps are other minus disadvantaged pupils in the same school and
year, only where both are published; values for groups of fewer than 6 pupils are never shown.
"""
from __future__ import annotations

import io
import re
import string
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from equity import breaks, db, safe_text, stats, years
from equity.analysis import families, gaps, partnerships, profile
from equity.analysis import keys_to_success as kts
from equity.analysis.catalogue import sources as source_register
from equity.cache import per_build
from equity.measures import MEASURES, PACK_TREND
from equity.present.pack_charts import RenderError, lead_figure, ranked_bar, render_png, trend_figure
from equity.words import compare_words, fmt, fmt_cell, fmt_diff

KINDS = {"la": "Local authority", "family": "School and its family", "partnership": "Partnership",
         "keys_to_success": "Keys to Success cohort"}
FORMATS = ("pdf", "pptx")
MAX_TABLE_ROWS = 28  # rows drawn on a PDF page; the full table stays in meeting mode and its CSV
SHORT_TABLE = 8  # a table this short shares the page with its chart
PPTX_TABLE_ROWS = 15  # rows of a table on a slide


class PackError(ValueError):
    """The pack cannot be made for this scope (unknown LA, school or partnership...)."""


# ---- content model -------------------------------------------------------------------------------

@dataclass
class Slide:
    """One page of a pack: a title, a sentence that states what it shows with the numbers, and
    optionally a chart, a table, bullet points and a note in small print."""
    title: str
    sentence: str = ""
    figure: go.Figure | None = None
    table: pd.DataFrame | None = None
    bullets: list[str] = field(default_factory=list)
    note: str = ""
    kind: str = "content"  # 'cover' or 'content'


@dataclass
class Scope:
    """What a pack is about. ``urns``: every school that may appear (named consistently when
    anonymised); ``focus_urns``: the schools the pack is about, named first (School A...)."""
    kind: str
    key: str
    title: str
    la_codes: list[str]
    urns: list[int]
    focus_urns: list[int]
    key_stages: list[int]
    extra: dict = field(default_factory=dict)


@dataclass
class Pack:
    scope: Scope
    slides: list[Slide]
    created: str
    build: dict
    years: dict
    sources: pd.DataFrame
    anonymised: bool
    namer: "Namer"

    @property
    def title(self) -> str:
        """The pack's title as printed (the cover's: anonymised when the pack is)."""
        return self.slides[0].title if self.slides else self.scope.title

    def filename(self, fmt_: str) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")[:60]
        if self.anonymised:
            slug = f"{self.scope.kind}-{'anon' if self.scope.kind != 'la' else self.scope.key}"
        return f"pack-{slug}-{self.created[:10]}.{fmt_}"

    def text(self) -> str:
        """All words in the pack (titles, sentences, bullets, notes, tables, chart text): for
        checking what a reader would see, e.g. that no real name survives anonymising."""
        parts = []
        for s in self.slides:
            parts += [s.title, s.sentence, s.note, *s.bullets]
            if s.table is not None:
                parts.append(s.table.to_csv(index=False))
            if s.figure is not None:
                parts.append(s.figure.to_json())
        return "\n".join(parts)


class Namer:
    """School names as shown in a pack: real, or "School A", "School B"... assigned in order of
    first use (focus schools first), the same for a school everywhere in the pack."""

    def __init__(self, anonymise: bool, real: dict[int, str]):
        self.anonymise = anonymise
        self.real = {int(k): str(v) for k, v in real.items() if v}
        self.alias: dict[int, str] = {}
        self._used = 0

    @staticmethod
    def _letters(i: int) -> str:
        s = ""
        i += 1
        while i:
            i, r = divmod(i - 1, 26)
            s = string.ascii_uppercase[r] + s
        return s

    def link(self, urn, same_as) -> None:
        """Give ``same_as`` (e.g. the school's URN after academy conversion) the alias of ``urn``."""
        urn, same_as = int(urn), int(same_as)
        if urn != same_as and same_as not in self.alias:
            self.alias[same_as] = self(urn)

    def __call__(self, urn, real: str | None = None) -> str:
        urn = int(urn)
        if real and urn not in self.real:
            self.real[urn] = str(real)
        if not self.anonymise:
            return self.real.get(urn, f"URN {urn}")
        if urn not in self.alias:
            self.alias[urn] = f"School {self._letters(self._used)}"
            self._used += 1
        return self.alias[urn]

    def label(self, urn, real: str | None = None) -> str:
        """Name with URN (real) or alias alone (anonymised)."""
        n = self(urn, real)
        return n if self.anonymise else f"{n} ({int(urn)})"

    def _patterns(self):
        key = (len(self.real), len(self.alias))
        if getattr(self, "_cache_key", None) != key:
            # a name may also appear escaped for Markdown or for chart labels (equity.safe_text)
            self._by_name = {}
            for urn, n in self.real.items():
                for form in (n, safe_text.md(n), safe_text.html(n)):
                    self._by_name.setdefault(form.lower(), urn)
            names = sorted({n for n in self._by_name if len(n) >= 4}, key=len, reverse=True)
            self._name_re = re.compile("|".join(re.escape(n) for n in names), re.IGNORECASE) if names else None
            urns = sorted({str(u) for u in list(self.real) + list(self.alias)}, key=len, reverse=True)
            self._urn_re = re.compile(r"(?<!\d)(" + "|".join(urns) + r")(?!\d)") if urns else None
            self._cache_key = key
        return self._name_re, self._urn_re

    def scrub(self, text: str) -> str:
        """Replace any real school name (and, anonymised, URN) left in ``text`` by its alias."""
        if not self.anonymise or not text:
            return text
        name_re, urn_re = self._patterns()
        if name_re is not None:
            text = name_re.sub(lambda m: self(self._by_name[m.group(0).lower()]), text)
        if urn_re is not None:
            text = urn_re.sub(lambda m: self(int(m.group(1))), text)
        return text

    def table(self, df: pd.DataFrame | None) -> pd.DataFrame | None:
        if df is None or not self.anonymise:
            return df
        out = df.copy()
        drop = [c for c in out.columns if c.lower() in ("urn", "postcode", "source_urn", "related_urn", "school_urn",
                                                       "partner_urn", "partner_urns", "member_urn", "lat", "lon",
                                                       "created_by", "updated_by", "changed_by")
                or c.lower().endswith("_urn")]
        out = out.drop(columns=drop)
        for c in out.columns:
            if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
                out[c] = out[c].map(lambda v: self.scrub(v) if isinstance(v, str) else v)
        return out

    def figure(self, fig: go.Figure | None) -> go.Figure | None:
        if fig is None or not self.anonymise:
            return fig
        return pio.from_json(self.scrub(fig.to_json()))


# ---- look-ups ------------------------------------------------------------------------------------

def la_name(la_code: str, path=None) -> str:
    df = db.query("pack/la", {"la": str(la_code)}, path=path)
    return df.la_name.iloc[0] if len(df) and df.la_name.iloc[0] else str(la_code)


def school_names(urns, path=None) -> pd.DataFrame:
    return db.query("pack/names", {"urns": [int(u) for u in urns]}, path=path)


def partnership_register(user_db=None) -> pd.DataFrame:
    """All partnerships in the register (``equity.analysis.partnerships.register``). A register that cannot be
    read raises its own error (corrupt, too new...): it must never pass for an empty one."""
    return partnerships.register(path=user_db)


def build_info(path=None) -> dict:
    """When the database the pack reads was built (empty if the build did not record it)."""
    try:
        df = db.query("pack/build_info", path=path)
    except db.Error:  # a build from before build_info was recorded
        return {}
    return df.iloc[0].to_dict() if len(df) else {}


def year_ranges(start_years) -> str:
    """``[2014, 2015, 2016, 2023]`` -> ``'2014/15–2016/17, 2023/24'``."""
    ys = sorted({int(y) for y in start_years})
    if not ys:
        return "none"
    runs, start, prev = [], ys[0], ys[0]
    for y in ys[1:] + [None]:
        if y is not None and y == prev + 1:
            prev = y
            continue
        runs.append(years.label(start) if start == prev else f"{years.label(start)}–{years.label(prev)}")
        if y is not None:
            start = prev = y
    return ", ".join(runs)


# ---- scopes --------------------------------------------------------------------------------------

def scope_la(la_code: str, path=None) -> Scope:
    """An LA: its published figures against England and the schools with results in it."""
    la_code = str(la_code).strip()
    schools = db.query("pack/la_schools", {"la": la_code}, path=path)
    pub = db.query("pack/published_results", {"areas": [la_code]}, path=path)
    if schools.empty and pub.empty:
        raise PackError(f"no results for an LA with code {la_code!r} in this database")
    ks = sorted({int(k) for ks in schools.key_stages for k in ks} | set(pub.key_stage.astype(int)), reverse=True)
    name = la_name(la_code, path)
    return Scope("la", la_code, f"{name} ({la_code})", [la_code], schools.urn.astype(int).tolist(), [], ks,
                 {"la_name": name, "schools": schools})


def scope_family(urn: int, key_stage: int | None = None, path=None) -> Scope:
    """A school and its family of similar schools (``equity.analysis.families``; the school alone if
    families are not available)."""
    s = profile.school(urn, path)
    if not s:
        raise PackError(f"no school with URN {urn}")
    kss = profile.key_stages(urn, path)
    ks = int(key_stage) if key_stage else (kss[0] if kss else (2 if s.get("phase") == "primary" else 4))
    fam, sentence = profile.family_position(int(urn), ks, path=path)
    members = [] if fam is None else [int(u) for u in fam.table.urn.iloc[1:]]
    return Scope("family", str(int(urn)), f"{s['name']} and its family", [str(s["la_code"])],
                 [int(urn), *members], [int(urn)], [ks],
                 {"school": s, "family": fam, "family_sentence": sentence})


def scope_partnership(pid: int, path=None, user_db=None) -> Scope:
    """A partnership from the register: the supported school and its supporter(s)."""
    try:
        rec = partnerships.get(int(pid), path=user_db)
    except Exception as exc:
        raise PackError(f"partnership {pid}: {exc}") from None
    partners = [int(u) for u in str(rec["partner_urns"]).split()]
    urns = [int(rec["school_urn"]), *partners]
    names = school_names(urns, path)
    las = sorted(set(names.la_code.dropna().astype(str)))
    name = dict(zip(names.urn.astype(int), names.name)).get(int(rec["school_urn"]), f"URN {rec['school_urn']}")
    return Scope("partnership", str(int(pid)), f"Partnership {int(pid)}: {name}", las, urns, urns,
                 [int(rec["key_stage"])], {"record": rec})


def scope_keys_to_success(la_code: str, path=None) -> Scope:
    """The Keys to Success cohort of an LA: schools the default rule selects and their suggested
    partners (``equity.analysis.keys_to_success``), for each key stage with data."""
    la_code = str(la_code).strip()
    name = la_name(la_code, path)
    per_ks, urns, focus = {}, [], []
    for ks in (4, 2):
        rule = kts.Rule.default(ks)
        try:
            rule = kts.resolve_year(rule, [la_code], path=path)
            ev = kts.evaluate(rule, [la_code], path=path)
        except ValueError as exc:  # no results for this measure in the LA
            per_ks[ks] = {"rule": rule, "error": str(exc)}
            continue
        sel = ev[ev.selected].reset_index(drop=True)
        try:
            sug = kts.suggest_partners(rule, [la_code], path=path)
        except (LookupError, ValueError) as exc:  # no stronger school to suggest, no family for a school
            sug = None
            per_ks[ks] = {"rule": rule, "evaluated": ev, "selected": sel, "suggestions": None,
                          "suggest_error": str(exc)}
        else:
            per_ks[ks] = {"rule": rule, "evaluated": ev, "selected": sel, "suggestions": sug}
        focus += sel.urn.astype(int).tolist()
        if sug is not None and len(sug.pairs):
            urns += sug.pairs.partner_urn.astype(int).tolist()
    kss = [k for k, v in per_ks.items() if "selected" in v]
    if not kss:
        raise PackError(f"no Keys to Success results for {name} ({la_code}): "
                        + "; ".join(v.get("error", "") for v in per_ks.values()))
    focus = list(dict.fromkeys(focus))
    return Scope("keys_to_success", la_code, f"Keys to Success: {name} ({la_code})", [la_code],
                 list(dict.fromkeys(focus + urns)), focus, kss, {"la_name": name, "per_ks": per_ks})


def scope_for(kind: str, key, path=None, user_db=None) -> Scope:
    if kind == "la":
        return scope_la(key, path)
    if kind == "family":
        return scope_family(int(key), path=path)
    if kind == "partnership":
        return scope_partnership(int(key), path=path, user_db=user_db)
    if kind == "keys_to_success":
        return scope_keys_to_success(key, path)
    raise PackError(f"unknown pack kind {kind!r} (one of {', '.join(KINDS)})")


# ---- since last meeting --------------------------------------------------------------------------

@per_build(maxsize=8)
def _rows_cached(urns: tuple, areas: tuple, path=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    sch = db.query("pack/school_results", {"urns": list(urns) or [-1]}, path=path)
    pub = db.query("pack/published_results", {"areas": list(areas)}, path=path)
    return sch, pub


def _scope_rows(scope: Scope, path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The scope's school results (small groups hidden) and its areas' and England's published
    rows, all key stages (cached per database build; each caller gets its own copy)."""
    return _rows_cached(tuple(int(u) for u in scope.urns), (*scope.la_codes, "england"), path)


def _comparable(a: int, b: int, ks: int, measure: str) -> bool:
    return breaks.comparable(a, b, ks, measure)


def default_since(scope: Scope, path=None) -> dict[int, tuple[int, int]]:
    """For each key stage: the latest year with results for disadvantaged pupils in the scope and
    the latest earlier year comparable with it on the headline measure."""
    sch, pub = _scope_rows(scope, path)
    out = {}
    for ks in scope.key_stages:
        m = PACK_TREND[ks][0]
        src = sch if scope.kind != "la" else pub[pub.area_code.isin(scope.la_codes)]
        ys = sorted(set(src[(src.key_stage == ks) & (src.measure == m) & (src.pupil_group == "disadvantaged")
                            & src.value.notna()].start_year.astype(int)))
        if len(ys) < 2:
            continue
        last = ys[-1]
        prev = [y for y in ys[:-1] if _comparable(y, last, ks, m)]
        if prev:
            out[ks] = (prev[-1], last)
    return out


def since_years(scope: Scope, first: int, second: int, key_stage: int, namer: Namer, path=None) -> Slide:
    """What changed between two academic years for the scope: the LA's (and England's) published
    figures for disadvantaged and other pupils and the gap, and each school's disadvantaged
    pupils' result, on the key stage's headline measures. Years across a break are refused."""
    sch, pub = _scope_rows(scope, path)
    rows = []
    areas = {"england": "England", **{c: la_name(c, path) for c in scope.la_codes}}
    for m in PACK_TREND[key_stage]:
        if not _comparable(first, second, key_stage, m):
            continue
        for code, nm in areas.items():
            p = pub[(pub.area_code == code) & (pub.key_stage == key_stage) & (pub.measure == m)]
            v = {(g, y): val for g, y, val in zip(p.pupil_group, p.start_year, p.value)}
            n = {(g, y): c for g, y, c in zip(p.pupil_group, p.start_year, p.cohort)}
            se = {k: float(stats.standard_error(m, v[k], n[k])) if stats.finite(n.get(k)) else np.nan for k in v}
            d1, d2 = v.get(("disadvantaged", first)), v.get(("disadvantaged", second))
            o1, o2 = v.get(("other", first)), v.get(("other", second))
            if d1 is None and d2 is None:
                continue
            g1 = o1 - d1 if d1 is not None and o1 is not None and pd.notna(d1) and pd.notna(o1) else np.nan
            g2 = o2 - d2 if d2 is not None and o2 is not None and pd.notna(d2) and pd.notna(o2) else np.nan
            se_change = float(stats.combined_se(*[se.get((g, y), np.nan) for g in ("disadvantaged", "other")
                                                  for y in (first, second)]))
            rows.append({"who": f"{nm} (published)", "measure": MEASURES[m].label, "_m": m, "_se_change": se_change,
                         f"disadvantaged {years.label(first)}": d1, f"disadvantaged {years.label(second)}": d2,
                         "change": (d2 - d1) if d1 is not None and d2 is not None else np.nan,
                         f"gap {years.label(first)}": g1, f"gap {years.label(second)}": g2, "_school": False})
        if scope.kind != "la" or len(scope.urns) <= 40:
            s = sch[(sch.key_stage == key_stage) & (sch.measure == m)]
            for urn, g in s.groupby("urn"):
                v = {(gr, y): val for gr, y, val in zip(g.pupil_group, g.start_year, g.value)}
                d1, d2 = v.get(("disadvantaged", first)), v.get(("disadvantaged", second))
                if (d1 is None or pd.isna(d1)) and (d2 is None or pd.isna(d2)):
                    continue
                o1, o2 = v.get(("other", first)), v.get(("other", second))
                rows.append({"who": namer(urn), "measure": MEASURES[m].label, "_m": m,
                             f"disadvantaged {years.label(first)}": d1, f"disadvantaged {years.label(second)}": d2,
                             "change": (d2 - d1) if d1 is not None and d2 is not None else np.nan,
                             f"gap {years.label(first)}": (o1 - d1) if o1 is not None and d1 is not None else np.nan,
                             f"gap {years.label(second)}": (o2 - d2) if o2 is not None and d2 is not None else np.nan,
                             "_school": True})
    table = pd.DataFrame(rows)
    title = f"Since last meeting: KS{key_stage}, {years.label(first)} to {years.label(second)}"
    if table.empty:
        return Slide(title, f"No comparable KS{key_stage} figures for {years.label(first)} and {years.label(second)}.")
    parts = []
    for m in PACK_TREND[key_stage]:
        la_rows = table[(table._m == m) & ~table._school & ~table.who.str.startswith("England")]
        for _, r in la_rows.iterrows():
            g1, g2 = r[f"gap {years.label(first)}"], r[f"gap {years.label(second)}"]
            txt = (f"{r.who.replace(' (published)', '')}'s disadvantaged pupils: {MEASURES[m].label} "
                   f"{fmt(m, r[f'disadvantaged {years.label(first)}'])} → "
                   f"{fmt(m, r[f'disadvantaged {years.label(second)}'])}")
            if pd.notna(g1) and pd.notna(g2):
                # the one noise test (equity.stats): a change of the gap is named only beyond its noise
                verdict = (compare_words(m, g2, g1) if stats.beyond_noise(g2 - g1, r.get("_se_change", np.nan))
                           else "within the noise" if stats.finite(r.get("_se_change")) else "noise not known")
                txt += f"; gap to other pupils {fmt_diff(m, g1)} → {fmt_diff(m, g2)} ({verdict})"
            parts.append(txt + ".")
    sch_rows = table[table._school & table.change.notna()]
    if len(sch_rows):
        m0 = sch_rows._m.iloc[0]
        s0 = sch_rows[sch_rows._m == m0]
        better = MEASURES[m0].higher_is_better
        up = int(((s0.change > 0) if better else (s0.change < 0)).sum())
        down = int(((s0.change < 0) if better else (s0.change > 0)).sum())
        parts.append(f"Of {len(s0)} schools with {MEASURES[m0].label} for disadvantaged pupils in both years, "
                     f"{up} improved and {down} fell (small groups swing: most single-year changes are within noise).")
    elif scope.kind == "la" and len(scope.urns) > 40:
        s = sch[(sch.key_stage == key_stage) & (sch.measure == PACK_TREND[key_stage][0]) &
                (sch.pupil_group == "disadvantaged")]
        w = s.pivot_table(index="urn", columns="start_year", values="value")
        if first in w and second in w:
            both = w[[first, second]].dropna()
            m0 = PACK_TREND[key_stage][0]
            ch = both[second] - both[first]
            up, down = int((ch > 0).sum()), int((ch < 0).sum())
            if not MEASURES[m0].higher_is_better:
                up, down = down, up
            parts.append(f"Of {len(both)} schools with {MEASURES[m0].label} for disadvantaged pupils in both years, "
                         f"{up} improved and {down} fell (small groups swing: most single-year changes are within noise).")
    show = table.drop(columns=["_m", "_school", "_se_change"], errors="ignore").round(2)
    return Slide(title, " ".join(parts) or f"Changes between {years.label(first)} and {years.label(second)}.",
                 table=show, note="LA and England: DfE's published figures. Gap = other minus disadvantaged pupils.")


def compare_builds(scope: Scope, old_db, new_db=None) -> pd.DataFrame:
    """Rows of the scope (its schools' results and its areas' published figures) that differ
    between two database builds: ``change`` is 'new' (in the new build only), 'gone' (old only),
    'value changed' or 'status changed' (e.g. a suppressed value now published), with both values."""
    keys = ["who", "key_stage", "start_year", "measure", "pupil_group"]

    def rows(p):
        sch, pub = _scope_rows(scope, p)
        sch = sch.assign(who=sch.urn.astype(int).astype(str))
        pub = pub.assign(who="area:" + pub.area_code.astype(str))
        return pd.concat([sch, pub], ignore_index=True)[keys + ["value", "status", "academic_year"]]

    old, new = rows(old_db), rows(new_db)
    m = old.merge(new, on=keys, how="outer", suffixes=("_old", "_new"), indicator=True)
    m["academic_year"] = m.academic_year_new.fillna(m.academic_year_old)
    same_v = (m.value_old == m.value_new) | (m.value_old.isna() & m.value_new.isna())
    close = np.isclose(m.value_old.astype(float), m.value_new.astype(float), equal_nan=True)
    m["change"] = np.select(
        [m._merge == "right_only", m._merge == "left_only", ~(same_v | close), m.status_old != m.status_new],
        ["new", "gone", "value changed", "status changed"], default="")
    out = m[m.change != ""].drop(columns=["_merge", "academic_year_old", "academic_year_new"])
    return out.sort_values(["change", "key_stage", "start_year", "measure", "who"]).reset_index(drop=True)


def since_builds(scope: Scope, old_db, namer: Namer, path=None) -> Slide:
    """The "since last meeting" slide for two database builds (old file vs the current one)."""
    title = "Since last meeting: changes between two database builds"
    try:
        old_info, new_info = build_info(old_db), build_info(path)
        diff = compare_builds(scope, old_db, path)
    except (db.Error, OSError, KeyError) as exc:  # the reader's message names server paths: the file's name and the kind of problem only
        return Slide(title, f"The earlier database ({Path(str(old_db)).name}) could not be compared "
                            f"({type(exc).__name__}: it is not a database build this version can read).")
    when = (f"built {old_info.get('started', 'at an unknown time')} and {new_info.get('started', 'at an unknown time')}")
    if diff.empty:
        return Slide(title, f"No figure for this pack's schools or areas changed between the two builds ({when}).")
    summary = (diff.groupby(["change", "key_stage", "academic_year"]).size().rename("rows").reset_index()
               .sort_values(["key_stage", "academic_year", "change"], ascending=[False, True, True]))
    bits = []
    for r in summary.itertuples():
        bits.append(f"{r.rows} {r.change} (KS{r.key_stage}, {r.academic_year})")
    sentence = f"Between the two builds ({when}): " + "; ".join(bits[:8]) + ("; …" if len(bits) > 8 else "") + "."
    unknown = [int(w) for w in diff.who.unique() if not w.startswith("area:") and int(w) not in namer.real]
    if unknown:
        found = school_names(unknown, path)
        for u, n in zip(found.urn, found.name):
            namer.real.setdefault(int(u), str(n))
    names = {}
    for w in diff.who.unique():
        names[w] = ("England" if w == "area:england" else la_name(w[5:], path) + " (published)") if w.startswith("area:") \
            else namer(int(w))
    show = diff.assign(who=diff.who.map(names),
                       measure=diff.measure.map(lambda m: MEASURES[m].label if m in MEASURES else m))
    show = show[["change", "who", "key_stage", "academic_year", "measure", "pupil_group", "value_old", "value_new",
                 "status_old", "status_new"]]
    return Slide(title, sentence, table=show,
                 note=f"Earlier build: {Path(str(old_db)).name}. Only rows for this pack's schools and areas are compared.")


# ---- slides per kind -----------------------------------------------------------------------------

def _published_trend(la_codes, key_stage: int, measure: str, path) -> pd.DataFrame:
    out = [profile.published_comparison(c, key_stage, measure, path=path) for c in la_codes]
    d = pd.concat(out, ignore_index=True).drop_duplicates(["area_code", "pupil_group", "start_year"])
    return d


def _la_trend_sentence(d: pd.DataFrame, la_code: str, name: str, key_stage: int, measure: str, path=None) -> str:
    """The latest year's published values for the LA's disadvantaged and other pupils, the gap
    against England's, and the change over the latest comparable years, tested against its noise
    (:func:`equity.analysis.gaps.gap_trend`, the same verdict as the Gap trends page)."""
    m = MEASURES[measure]
    la = d[(d.area_code == la_code)].pivot_table(index="start_year", columns="pupil_group", values="value")
    en = d[(d.area_code == "england")].pivot_table(index="start_year", columns="pupil_group", values="value")
    if la.empty or not {"disadvantaged", "other"} <= set(la.columns):
        return f"{name} has no published {m.label} figures for disadvantaged and other pupils."
    la = la.dropna(subset=["disadvantaged", "other"])
    if la.empty:
        return f"{name} has no year with published {m.label} figures for both groups."
    y = int(la.index.max())
    gap = la.loc[y, "other"] - la.loc[y, "disadvantaged"]
    text = (f"In {years.label(y)}, disadvantaged pupils in {name} scored {fmt(measure, la.loc[y, 'disadvantaged'])} on "
            f"{m.label} and other pupils {fmt(measure, la.loc[y, 'other'])}: a gap of {fmt_diff(measure, gap)}")
    if y in en.index and {"disadvantaged", "other"} <= set(en.columns) and en.loc[y].notna().all():
        eg = en.loc[y, "other"] - en.loc[y, "disadvantaged"]
        word = compare_words(measure, gap, eg)
        text += (f", {fmt_diff(measure, abs(gap) - abs(eg))} {word} than England's {fmt_diff(measure, eg)}"
                 if word != "unchanged" else ", the same as England's")
    text += "."
    # the change: the one trend and noise test of the Gap trends page (equity.analysis.gaps.gap_trend, equity.stats)
    t = gaps.gap_trend(gaps.area_gaps(la_code, key_stage, [measure], estimates=False, path=path), measure, key_stage)
    if t.change is not None:
        text += f" The gap {t.describe(m.unit)}."
    return text


def _school_trend_slide(urn: int, key_stage: int, measure: str | None, namer: Namer, path, extra_title="") -> Slide:
    df = profile.outcomes(urn, key_stage, path=path)
    measure = measure or profile.default_measure(df, key_stage)
    name = namer(urn)
    if measure is None:
        return Slide(f"{name}: KS{key_stage} results", f"No published KS{key_stage} results for {name}.")
    data = profile.trend_data(df, measure, name)
    fig = trend_figure(data, key_stage, measure, f"{name}: {MEASURES[measure].label}, disadvantaged and other pupils")
    table = profile.gaps(df, measure).drop(columns=["start_year", "source_urn"]).round(2)
    note = ("Lines are not drawn across breaks in the series. Bars: 95% confidence intervals where DfE publishes them."
            + (" Years under a predecessor or successor URN are labelled." if (df.relation != "this school").any() else ""))
    return Slide(f"{name}: {MEASURES[measure].label}{extra_title}",
                 profile.outcome_sentence(df, measure, name, key_stage), figure=fig, table=table, note=note)


def _la_slides(scope: Scope, namer: Namer, path) -> list[Slide]:
    slides = []
    la = scope.key
    name = scope.extra["la_name"]
    for ks in scope.key_stages:
        for m in PACK_TREND[ks]:
            d = _published_trend([la], ks, m, path)
            if d[d.area_code == la].value.notna().sum() == 0:
                continue
            d["key_stage"] = ks
            fig = trend_figure(d, ks, m, f"KS{ks} {MEASURES[m].label}: {name} and England, published")
            table = d.pivot_table(index=["academic_year"], columns=["area_code", "pupil_group"], values="value")
            table.columns = [f"{'England' if a == 'england' else name} {g}" for a, g in table.columns]
            slides.append(Slide(f"KS{ks}: {MEASURES[m].label}, {name} against England",
                                _la_trend_sentence(d, la, name, ks, m, path), figure=fig, table=table.reset_index().round(2),
                                note="DfE's published LA and England (state-funded schools) figures, as published. "
                                     "No line is drawn across a break in the series."))
    # schools: DfE's gap to national other pupils (every school in England, 2023/24) and the
    # within-school gap in the latest performance-table year
    sch, _ = _scope_rows(scope, path)
    for ks, m in ((4, "att8_vs_national_other"), (2, "rwm_exp")):
        if ks not in scope.key_stages:
            continue
        s = sch[(sch.key_stage == ks) & (sch.measure == m)]
        if m == "att8_vs_national_other":
            s = s[(s.pupil_group == "disadvantaged") & s.value.notna()]
            if s.empty:
                continue
            y = int(s.start_year.max())
            s = s[s.start_year == y]
            s = s.assign(label=[namer(u) for u in s.urn], key=s.urn)
            worst = s.sort_values("value").head(15)
            fig = ranked_bar(worst, m, f"Disadvantaged pupils furthest behind national other pupils, {years.label(y)}",
                             highlight=[], worst_first=True)
            med = float(s.value.median())
            sent = (f"In {years.label(y)}, disadvantaged pupils in {len(s)} {name} schools with a published figure were "
                    f"a median {fmt(m, med)} Attainment 8 points from other pupils nationally (DfE's DIFFN_ATT8); "
                    f"the widest: {worst.label.iloc[0]} at {fmt(m, worst.value.iloc[0])} "
                    f"({int(worst.cohort.iloc[0])} pupils). "
                    "Cohorts in brackets: small groups swing from year to year.")
            table = s.sort_values("value")[["label", "value", "cohort"]].rename(
                columns={"label": "school", "value": "disadvantaged minus national other (Att8)",
                         "cohort": "disadvantaged pupils"})
            slides.append(Slide(f"KS4 schools: gap to national other pupils, {years.label(y)}", sent, figure=fig,
                                table=table, note="Only schools with at least 6 disadvantaged pupils have a value."))
        else:
            w = s.pivot_table(index=["urn", "start_year"], columns="pupil_group", values="value").reset_index()
            c = s[s.pupil_group == "disadvantaged"].set_index(["urn", "start_year"]).cohort
            if not {"disadvantaged", "other"} <= set(w.columns):
                continue
            w = w.dropna(subset=["disadvantaged", "other"])
            if w.empty:
                continue
            y = int(w.start_year.max())
            w = w[w.start_year == y].copy()
            w["cohort"] = [c.get((u, y)) for u in w.urn]
            w = w[w.cohort >= 10]
            if w.empty:
                continue
            w["value"] = w.other - w.disadvantaged
            w = w.assign(label=[namer(u) for u in w.urn], key=w.urn)
            widest = w.sort_values("value", ascending=False).head(15)
            fig = ranked_bar(widest, "rwm_exp", f"KS2 schools with the widest within-school gap, {years.label(y)}",
                             worst_first=True, higher_is_better=False, formatter=lambda v: f"{v:.0f} pts")
            fig.update_layout(xaxis_title="percentage points (other minus disadvantaged)")
            sent = (f"In {years.label(y)}, among {len(w)} {name} primary schools with at least 10 disadvantaged pupils, the "
                    f"median gap in reaching the expected standard in reading, writing and maths was "
                    f"{w.value.median():.0f} percentage points; the widest: {widest.label.iloc[0]} at "
                    f"{widest.value.iloc[0]:.0f} points ({int(widest.cohort.iloc[0])} disadvantaged pupils).")
            table = w.sort_values("value", ascending=False)[["label", "disadvantaged", "other", "value", "cohort"]].rename(
                columns={"label": "school", "value": "gap (points)", "cohort": "disadvantaged pupils"})
            slides.append(Slide(f"KS2 schools: widest gaps, {years.label(y)}", sent, figure=fig, table=table,
                                note="Within-school gap: other minus disadvantaged pupils, both as published."))
    return slides


def _family_note(m: dict) -> str:
    """The family method in two lines (the Families page states it in full)."""
    labels = families.IN_TEXT
    w = m.get("weights") or {}
    vars_ = ", ".join(f"{labels.get(v, v)} (weight {w.get(v, 1):g})" for v in m.get("variables", []))
    return (f"Family: the {m.get('size', 20)} schools most like this one in {m.get('academic_year', '')} on {vars_}, "
            f"from anywhere in England but none within {m.get('radius_km', 5):g} km (they may compete for the same "
            "pupils). Closeness: distance in context. The full method is on the Families page.")


def _family_slides(scope: Scope, namer: Namer, path) -> list[Slide]:
    urn = int(scope.key)
    ks = scope.key_stages[0]
    name = namer(urn)
    slides = [_school_trend_slide(urn, ks, None, namer, path)]
    ctx = profile.context_table(urn, path)
    slides.append(Slide(f"{name}: context", f"{name} at a glance: {len(ctx)} facts from GIAS, the performance tables "
                        "and the school census (latest year of each).", table=ctx))
    fo = scope.extra.get("family")
    if fo is None:
        slides.append(Slide(f"{name}: family of similar schools", scope.extra.get("family_sentence", "")))
    else:
        m, fam = fo.measure, fo.table
        d = fam.assign(label=[namer(u) for u in fam.urn], key=fam.urn)
        fig = ranked_bar(d, m, f"{MEASURES[m].label}: {name} and its family", highlight=[urn, int(fam.urn.iloc[0])],
                         reference=fo.family_median, reference_label="family median")
        table = d[["label", "role", "la_name", "closeness", "km", "value", "cohort", "years"]].rename(
            columns={"label": "school"}).round(2)
        slides.append(Slide(f"{name}: position in its family", scope.extra.get("family_sentence", ""), figure=fig,
                            table=table, note=_family_note(fo.method)))
        learn = families.learn_from(fo)
        lf = learn.schools
        if len(lf):
            lf = lf.assign(school=[namer(u) for u in lf.urn])
            why = [namer.scrub(w) for w in lf.why]
            slides.append(Slide(f"{name}: who to learn from", f"{len(lf)} similar schools do better for "
                                f"disadvantaged pupils than {learn.reference}.",
                                bullets=[f"{s}: {w}" for s, w in zip(lf.school, why)][:6]))
    of = profile.ofsted_history(urn, path)
    of = of.assign(school=[("this school" if s == "this school" else f"{s.split(':')[0]}: {namer(u)}")
                           for s, u in zip(of.school, of.urn)])
    card, card_text = profile.report_card(urn, path)
    slides.append(Slide(f"{name}: Ofsted inspections", profile.ofsted_sentence(of, name)
                        + (" " + card_text if len(card) else ""),
                        bullets=[f"{a}: {g}" for a, g in zip(card.area, card["grade (as published)"])] if len(card)
                        else [],
                        table=of[["inspection_date", "grade", "grade_label", "framework_label", "dated", "school"]].assign(
                            inspection_date=lambda x: pd.to_datetime(x.inspection_date).dt.strftime("%d %b %Y")),
                        note="Grades: 1 Outstanding, 2 Good, 3 Requires improvement (Satisfactory before Sept 2012), "
                             "4 Inadequate; report cards (from Nov 2025) and inspections with no overall grade (Sept "
                             "2024 - Nov 2025) in Ofsted's words. 'dated': more than the cut-off (default 4) years old. "
                             "Predecessor schools' inspections (before academy conversion) are labelled."))
    return slides


def _partnership_slides(scope: Scope, namer: Namer, path, user_db) -> list[Slide]:
    rec = scope.extra["record"]
    school_urn = int(rec["school_urn"])
    partners = [int(u) for u in str(rec["partner_urns"]).split()]
    ks = int(rec["key_stage"])
    measure = rec.get("measure") or None
    names = school_names(scope.urns, path)
    for u, n in zip(names.urn, names.name):
        namer(u, n)
    bullets = [f"Supported school: {namer.label(school_urn)}",
               "Supporting school(s): " + ", ".join(namer.label(u) for u in partners),
               f"Key stage {ks}; baseline year {years.label(int(rec['baseline_year']))}"
               + (f"; measure: {MEASURES[measure].label}" if measure in MEASURES else ""),
               f"Started {rec['start_date']}" + (f", ended {rec['end_date']}" if rec.get("end_date") else "")
               + f"; status: {rec['status']}"]
    if rec.get("focus"):
        bullets.append(f"Focus: {namer.scrub(rec['focus'])}")
    slides = [Slide(f"Partnership {rec['id']}", f"{namer(school_urn)} supported by "
                    f"{' and '.join(namer(u) for u in partners)} since {rec['start_date']}.", bullets=bullets)]
    for u in [school_urn, *partners]:
        slides.append(_school_trend_slide(u, ks, measure if measure in MEASURES else None, namer, path,
                                          " (supported school)" if u == school_urn else " (supporting school)"))
    try:
        tr = partnerships.progress(rec, path=path)
    except (LookupError, ValueError) as exc:  # e.g. no family for a school in the baseline year
        slides.append(Slide("Progress since baseline", f"The progress tracker could not run: {exc}."))
    else:
        t = tr.table
        m = tr.measure or "p8"
        for u in {int(x) for x in t.urn} if t is not None and len(t) else ():
            namer(u)
        sentence = tr.sentence()
        fig = None
        if t is not None and t.vs_family.notna().any():
            t = t.assign(name=[namer(u) for u in t.urn])
            fig = lead_figure(t, ks, m, f"{MEASURES[m].label if m in MEASURES else m}: each school against "
                              "its own family (0 = family average)")
        show = None
        if t is not None and len(t):
            show = t.assign(school=[namer(u) for u in t.urn])[
                ["school", "role", "academic_year", "value", "cohort", "family_mean", "vs_family", "vs_family_low",
                 "vs_family_high", "change_vs_family"]].round(2)
        slides.append(Slide(f"Progress since baseline ({tr.status})", namer.scrub(sentence),
                            figure=fig, table=show,
                            bullets=[namer.scrub(w) for w in [*tr.warnings, *tr.notes]][:6],
                            note="Each school against its own family of similar schools, fixed at the baseline "
                                 "year; bars are 95% intervals. Nothing is projected."))
    return slides


def _kts_slides(scope: Scope, namer: Namer, path) -> list[Slide]:
    slides = []
    name = scope.extra["la_name"]
    for ks, info in scope.extra["per_ks"].items():
        rule = info["rule"]
        if "selected" not in info:
            slides.append(Slide(f"KS{ks}: Keys to Success", f"No KS{ks} selection for {name}: {info.get('error')}"))
            continue
        ev, sel = info["evaluated"], info["selected"]
        m = rule.measure
        slides.append(Slide(f"KS{ks}: the selection rule", rule.describe(), bullets=rule.criteria(),
                            note="The rule is a choice: thresholds are editable on the Keys to Success page."))
        t = sel.assign(school=[namer(u, n) for u, n in zip(sel.urn, sel.name)])
        sent = (f"In {years.label(int(rule.year))}, the rule selects {len(sel)} of {len(ev)} {name} schools with "
                f"KS{ks} results.")
        if len(sel):
            t = t.assign(bar_label=t.school, key=t.urn)
            fig = ranked_bar(t.rename(columns={"bar_label": "label"}), m,
                             f"KS{ks} {MEASURES[m].label} for disadvantaged pupils: selected schools, "
                             f"{years.label(int(rule.year))}")
            sent += (f" Weakest: {t.school.iloc[0]}, {MEASURES[m].label} {fmt(m, t.value.iloc[0])} for "
                     f"{int(t.cohort.iloc[0])} disadvantaged pupils.")
        else:
            fig = None
        table = t[["school", "pct_disadvantaged", "cohort", "value", "reasons_text"]].rename(
            columns={"pct_disadvantaged": "% disadvantaged", "cohort": "disadvantaged pupils",
                     "value": MEASURES[m].label, "reasons_text": "why"}).round(2)
        slides.append(Slide(f"KS{ks}: schools selected", namer.scrub(sent), figure=fig, table=namer.table(table)))
        sug = info.get("suggestions")
        if sug is not None and len(sug.pairs):
            p = sug.pairs
            tab = pd.DataFrame({"school": [namer(u) for u in p.school_urn],
                                "suggested partner": [namer(u) for u in p.partner_urn],
                                "margin": p.margin.round(2), "margin low (95%)": p.margin_low.round(2),
                                "km": p.km.round(0)})
            expl = [namer.scrub(e) for e in p.explanation][:5]
            slides.append(Slide(f"KS{ks}: suggested partners",
                                f"{p.school_urn.nunique()} of {len(sel)} selected schools have a suggested partner that "
                                f"is clearly stronger on {MEASURES[m].label} for disadvantaged pupils (the lower end of "
                                "the 95% interval of the margin, allowing for how the schools were picked, is above "
                                "zero) and outside the competition radius.",
                                table=tab, bullets=expl,
                                note="Suggestions come from one assignment over all selected schools; each supporter "
                                     "takes at most two schools."))
        elif sug is not None and len(sel):
            why = [f"{namer(u)}: {st}" for u, st in zip(sug.schools.urn, sug.schools.status) if st]
            slides.append(Slide(f"KS{ks}: suggested partners", f"None of the {len(sel)} selected schools has a family "
                                "member that is clearly stronger on the measure, outside the competition radius and "
                                "free to take it.", bullets=[namer.scrub(w) for w in why][:8]))
        elif info.get("suggest_error"):
            slides.append(Slide(f"KS{ks}: suggested partners", f"No suggestions: {info['suggest_error']}"))
    return slides


def _partnership_actions(scope: Scope, namer: Namer, user_db, path=None) -> Slide | None:
    """Partnerships in the register involving the pack's schools (or LA), with focus, notes and
    the audit trail: the actions recorded."""
    try:
        reg = partnerships.register(path=user_db)
    except partnerships.RegisterError as exc:
        return Slide("Partnership actions recorded", f"The partnership register could not be read: {exc}.")
    if scope.kind == "partnership":
        reg = reg[reg.id.astype(int) == int(scope.key)]
    else:
        wanted = set(scope.urns if scope.kind != "la" else scope.urns)
        inv = reg.apply(lambda r: {int(r.school_urn), *[int(x) for x in str(r.partner_urns).split()]}, axis=1) \
            if len(reg) else pd.Series(dtype=object)
        reg = reg[inv.map(lambda s: bool(s & wanted))] if len(reg) else reg
    title = "Partnership actions recorded"
    if reg.empty:
        return Slide(title, "No partnership in the register involves this pack's schools yet.")
    involved = {int(u) for r in reg.itertuples() for u in [r.school_urn, *str(r.partner_urns).split()]}
    found = school_names(sorted(involved - set(namer.real)), path)
    for u, n in zip(found.urn, found.name):  # so free text naming them can be scrubbed
        namer.real.setdefault(int(u), str(n))
    bullets = []
    audit_rows = []
    for r in reg.itertuples():
        partners = " and ".join(namer(int(u)) for u in str(r.partner_urns).split())
        bullets.append(f"Partnership {r.id}: {namer(int(r.school_urn))} with {partners} ({r.status}, from {r.start_date})"
                       + (f". Focus: {namer.scrub(r.focus)}" if isinstance(r.focus, str) and r.focus else "")
                       + (f". Notes: {namer.scrub(r.notes)}" if isinstance(r.notes, str) and r.notes else ""))
        a = partnerships.audit(int(r.id), path=user_db)
        if isinstance(a, pd.DataFrame) and len(a):
            audit_rows.append(a.assign(partnership=int(r.id)))
    table = None
    if audit_rows:
        t = pd.concat(audit_rows, ignore_index=True)
        if "field" in t.columns and "action" in t.columns:
            # a new record writes one audit row per field: keep the ones a meeting reads
            t = t[(t.action != "create") | t.field.isin(["focus", "notes", "partner_urns", "start_date"])]
        if "changed_at" in t.columns:
            t = t.assign(changed_at=pd.to_datetime(t.changed_at, errors="coerce", utc=True).dt.strftime("%d %b %Y %H:%M"))
        keep = [c for c in ("partnership", "changed_at", "action", "field", "new_value", "changed_by", "date",
                            "description", "owner", "due", "done") if c in t.columns]
        table = namer.table(t[keep].reset_index(drop=True))
    return Slide(title, f"{len(reg)} partnership(s) involve this pack's schools; {sum(len(a) for a in audit_rows)} "
                 "recorded change(s) and action(s).", bullets=bullets[:8], table=table,
                 note="From the partnership register (kept apart from the rebuilt data, with its audit trail).")


def _notes_slide(scope: Scope, anonymised: bool) -> Slide:
    bullets = [
        "LA and England figures are DfE's published rows, shown as published; nothing is recomputed from schools.",
        "Values for groups of fewer than 6 pupils are never shown; a missing value keeps its reason (e.g. SUPP = "
        "suppressed, NE = no entries).",
        "Within-school gap = other pupils minus disadvantaged pupils, same school and year, only where both are published.",
        "Gap to national other pupils (DIFFN) = the school's disadvantaged pupils minus all non-disadvantaged pupils in "
        "England: DfE's own yardstick, fairer for schools with few non-disadvantaged pupils.",
    ]
    bullets += [b + (" Lines are not drawn across it." if b.startswith("Break") else "")
                for b in breaks.notes(scope.key_stages)]
    if anonymised:
        bullets.append("School names are replaced by letters (School A, B...) consistently through the pack; "
                       "URNs and postcodes are left out.")
    return Slide("Notes on the data", "How to read the figures in this pack.", bullets=bullets)


def _cover(scope: Scope, info: dict, yrs: dict, sources: pd.DataFrame, anonymised: bool, namer: Namer,
           since_text: str) -> Slide:
    bullets = ["Years of data: " + "; ".join(f"KS{ks} {r}" for ks, r in yrs.items())]
    if since_text:
        bullets.append(since_text)
    bullets.append(f"Made {datetime.now():%d %B %Y %H:%M} from the database built {info.get('started', 'unknown')}")
    if anonymised:
        bullets.append("School names anonymised (School A, School B...) for a wider audience.")
    src = [f"{r.publisher}: {r.description}" for r in sources.itertuples()] if len(sources) else []
    title = scope.title if not anonymised or scope.kind in ("la", "keys_to_success") else \
        f"{KINDS[scope.kind]}: {namer(scope.focus_urns[0]) if scope.focus_urns else ''}"
    return Slide(title, f"Challenge-board pack: {KINDS[scope.kind].lower()}.", bullets=bullets,
                 note="Sources: " + "; ".join(dict.fromkeys(src)) if src else "", kind="cover")


def _sources(scope: Scope, path) -> pd.DataFrame:
    """Source files behind the pack, with publisher and description from data/sources.csv."""
    df = db.query("pack/sources", {"urns": scope.urns or [-1], "areas": [*scope.la_codes, "england"]}, path=path)
    reg = source_register().set_index("path")
    rows = []
    for f in dict.fromkeys(df.source_file.dropna()):
        r = reg.loc[f] if len(reg) and f in reg.index else None
        rows.append({"file": f, "publisher": (r["publisher"] if r is not None else "DfE"),
                     "description": (r["year"] if r is not None else Path(f).name),
                     "licence": (r["licence"] if r is not None else "OGL v3.0")})
    if scope.kind == "family":
        rows.append({"file": "ofsted_inspection", "publisher": "Ofsted", "description": "inspection outcomes",
                     "licence": "OGL v3.0"})
    return pd.DataFrame(rows, columns=["file", "publisher", "description", "licence"])


def _years(scope: Scope, path) -> dict:
    sch, pub = _scope_rows(scope, path)
    out = {}
    for ks in scope.key_stages:
        ys = set(sch[(sch.key_stage == ks) & sch.value.notna()].start_year.astype(int))
        ys |= set(pub[(pub.key_stage == ks) & pub.value.notna() & pub.area_code.isin(scope.la_codes)].start_year.astype(int))
        if scope.kind == "la":
            ys = {y for y in ys if y in set(pub[pub.area_code.isin(scope.la_codes)].start_year) or
                  len(sch[(sch.key_stage == ks) & (sch.start_year == y) & (sch.kind != "headline")])}
        out[ks] = year_ranges(ys)
    return out


# ---- building --------------------------------------------------------------------------------------

def build(kind: str, key, *, anonymise: bool = False, since: tuple[int, int] | None = None, since_db=None,
          path=None, user_db=None) -> Pack:
    """Gather a pack's slides.

    ``kind``: 'la' (key = LA code), 'family' (key = URN), 'partnership' (key = register id) or
    'keys_to_success' (key = LA code). ``since``: two start years to compare (default: the two
    latest comparable years of each key stage); ``since_db``: an earlier database file to compare
    with instead. ``path``: the database (default ``$EQUITY_DB``); ``user_db``: the partnership
    register (default ``$EQUITY_USER_DB``).
    """
    scope = scope_for(kind, key, path=path, user_db=user_db)
    names = school_names(scope.urns, path) if scope.urns else pd.DataFrame(columns=["urn", "name"])
    namer = Namer(anonymise, dict(zip(names.urn.astype(int), names.name)))
    for u in scope.focus_urns:
        namer(u)
        lin = profile.lineage(u, path)
        for r in lin.itertuples():  # a predecessor or successor URN is the same school to a reader
            namer.real.setdefault(int(r.related_urn), r.name or "")
            if r.depth == 1 and isinstance(r.link_type, str) and "merged" not in r.link_type.lower():
                namer.link(u, r.related_urn)
    if kind == "family" and scope.extra.get("family") is not None:
        for u in scope.extra["family"].table.urn:
            namer(u)
    info = build_info(path)
    body: list[Slide] = []
    if kind == "la":
        body = _la_slides(scope, namer, path)
    elif kind == "family":
        body = _family_slides(scope, namer, path)
    elif kind == "partnership":
        body = _partnership_slides(scope, namer, path, user_db)
    elif kind == "keys_to_success":
        body = _kts_slides(scope, namer, path)
    since_slides, since_text = [], ""
    if since_db:
        since_slides.append(since_builds(scope, since_db, namer, path))
        since_text = f"Since last meeting: compared with the database {Path(str(since_db)).name}"
    else:
        pairs = {ks: tuple(since) for ks in scope.key_stages} if since else default_since(scope, path)
        for ks, (a, b) in sorted(pairs.items(), reverse=True):
            since_slides.append(since_years(scope, int(a), int(b), ks, namer, path))
        if pairs:
            since_text = "Since last meeting: " + "; ".join(f"KS{ks} {years.label(a)} to {years.label(b)}"
                                                            for ks, (a, b) in sorted(pairs.items(), reverse=True))
    actions = _partnership_actions(scope, namer, user_db, path)
    yrs = _years(scope, path)
    sources = _sources(scope, path)
    cover = _cover(scope, info, yrs, sources, anonymise, namer, since_text)
    slides = [cover, *body, *since_slides, *([actions] if actions else []), _notes_slide(scope, anonymise)]
    if anonymise:  # last pass: no real name of a school in scope survives anywhere
        for s in slides:
            s.title, s.sentence, s.note = namer.scrub(s.title), namer.scrub(s.sentence), namer.scrub(s.note)
            s.bullets = [namer.scrub(b) for b in s.bullets]
            s.table = namer.table(s.table)
            s.figure = namer.figure(s.figure)
    return Pack(scope, slides, datetime.now().isoformat(timespec="seconds"), info, yrs, sources, anonymise, namer)



@per_build(maxsize=12)
def _built(kind: str, key: str, anonymise: bool, since_db: str | None, user_db: str | None, register: str,
           path=None) -> Pack:
    return build(kind, key, anonymise=anonymise, since_db=since_db, path=path, user_db=user_db)


def meeting_pack(kind: str, key, *, anonymise: bool = False, since_db=None, path=None, user_db=None) -> Pack:
    """:func:`build` for meeting mode, which asks again on every click: cached per database build and
    per state of the partnership register (``partnerships.fingerprint``: an edited partnership is never
    shown stale). Each call gets its own copy of the pack."""
    return _built(kind, str(key), bool(anonymise), str(since_db) if since_db else None,
                  str(user_db) if user_db else None, partnerships.fingerprint(user_db), path)

# ---- rendering: PDF --------------------------------------------------------------------------------

_FONTS_DONE = False


def _fonts() -> tuple[str, str]:
    """DejaVu Sans (full Unicode: dashes, arrows, £) when installed, else Helvetica."""
    global _FONTS_DONE
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    base = Path("/usr/share/fonts/truetype/dejavu")
    if (base / "DejaVuSans.ttf").exists() and (base / "DejaVuSans-Bold.ttf").exists():
        if not _FONTS_DONE:
            pdfmetrics.registerFont(TTFont("DejaVuSans", str(base / "DejaVuSans.ttf")))
            pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(base / "DejaVuSans-Bold.ttf")))
            _FONTS_DONE = True
        return "DejaVuSans", "DejaVuSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def _plain(text: str) -> str:
    """Markdown emphasis and code marks removed, for print."""
    return re.sub(r"\*\*|__|`", "", text or "")


def _images(pack: Pack) -> dict[int, bytes | str]:
    """PNG for each slide with a figure (index -> bytes), or the reason it could not be drawn."""
    idx = [i for i, s in enumerate(pack.slides) if s.figure is not None]
    if not idx:
        return {}
    try:
        pngs = render_png([pack.slides[i].figure for i in idx])
    except RenderError as exc:
        return {i: f"Chart not drawn ({exc}); the data table follows." for i in idx}
    return dict(zip(idx, pngs))


def to_pdf(pack: Pack) -> bytes:
    """The pack as a landscape A4 PDF: a cover, then one page per slide (title, sentence, chart,
    table of up to MAX_TABLE_ROWS rows, bullets, note), page numbers in the footer."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table,
                                    TableStyle)
    escape = safe_text.html  # Paragraph text is XML-like markup: names and notes as text

    regular, bold = _fonts()
    W, H = landscape(A4)
    margin = 14 * mm
    st = {
        "cover": ParagraphStyle("cover", fontName=bold, fontSize=28, leading=34, spaceAfter=10),
        "sub": ParagraphStyle("sub", fontName=regular, fontSize=15, leading=20, spaceAfter=8),
        "h": ParagraphStyle("h", fontName=bold, fontSize=18, leading=22, spaceAfter=6),
        "p": ParagraphStyle("p", fontName=regular, fontSize=11.5, leading=15, spaceAfter=6),
        "b": ParagraphStyle("b", fontName=regular, fontSize=11, leading=14, leftIndent=10, bulletIndent=0),
        "small": ParagraphStyle("small", fontName=regular, fontSize=8.5, leading=11, textColor=colors.HexColor("#444444")),
        "cell": ParagraphStyle("cell", fontName=regular, fontSize=8, leading=9.5),
        "head": ParagraphStyle("head", fontName=bold, fontSize=8, leading=9.5),
    }
    images = _images(pack)
    story = []
    for i, s in enumerate(pack.slides):
        if s.kind == "cover":
            story += [Spacer(1, 30 * mm), Paragraph(escape(s.title), st["cover"]), Paragraph(escape(s.sentence), st["sub"]),
                      Spacer(1, 6 * mm)]
            story += [Paragraph(escape(b), st["sub"]) for b in s.bullets]
            if s.note:
                story += [Spacer(1, 6 * mm), Paragraph(escape(s.note), st["small"])]
            story.append(PageBreak())
            continue
        story.append(Paragraph(escape(s.title), st["h"]))
        if s.sentence:
            story.append(Paragraph(escape(s.sentence), st["p"]))
        img = images.get(i)
        # a chart with a long table: the table goes on a page of its own after the chart
        table_apart = isinstance(img, bytes) and s.table is not None and len(s.table) > SHORT_TABLE
        if isinstance(img, bytes):
            from reportlab.lib.utils import ImageReader
            ir = ImageReader(io.BytesIO(img))
            iw, ih = ir.getSize()
            short = s.table is not None and len(s.table) and not table_apart
            max_w = W - 2 * margin
            max_h = (H - 2 * margin) * (0.5 if short or s.bullets else 0.68)
            scale = min(max_w / iw, max_h / ih)
            story.append(Image(io.BytesIO(img), width=iw * scale, height=ih * scale))
        elif isinstance(img, str):
            story.append(Paragraph(escape(img), st["small"]))
        for b in s.bullets:
            story.append(Paragraph(escape(b), st["b"], bulletText="•"))
        if s.table is not None and len(s.table):
            if table_apart:
                story += [PageBreak(), Paragraph(escape(f"{s.title}: the data"), st["h"])]
            t = s.table.head(MAX_TABLE_ROWS)
            data = [[Paragraph(escape(str(c)), st["head"]) for c in t.columns]]
            data += [[Paragraph(escape(fmt_cell(v)), st["cell"]) for v in row] for row in t.itertuples(index=False)]
            tbl = Table(data, repeatRows=1, hAlign="LEFT", colWidths=[(W - 2 * margin) / len(t.columns)] * len(t.columns))
            tbl.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#bbbbbb")),
                                     ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                                     ("VALIGN", (0, 0), (-1, -1), "TOP"),
                                     ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]))
            story += [Spacer(1, 3 * mm), tbl]
            if len(s.table) > MAX_TABLE_ROWS:
                story.append(Paragraph(f"First {MAX_TABLE_ROWS} of {len(s.table)} rows; the full table is in meeting "
                                       "mode and its CSV download.", st["small"]))
        if s.note:
            story += [Spacer(1, 2 * mm), Paragraph(escape(_plain(s.note)), st["small"])]
        story.append(PageBreak())
    if story and isinstance(story[-1], PageBreak):
        story.pop()

    footer = f"{pack.title} · {'anonymised · ' if pack.anonymised else ''}made {pack.created[:10]}"

    def on_page(canvas, doc):
        canvas.saveState()
        canvas.setFont(regular, 8)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(margin, 8 * mm, footer)
        canvas.drawRightString(W - margin, 8 * mm, f"Page {doc.page}")
        canvas.restoreState()

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=(W, H), leftMargin=margin, rightMargin=margin, topMargin=margin,
                            bottomMargin=margin + 4 * mm, title=pack.title, author="Equity dashboard",
                            subject="Challenge-board meeting pack")
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()


# ---- rendering: PowerPoint -----------------------------------------------------------------------

def to_pptx(pack: Pack) -> bytes:
    """The pack as a 16:9 PowerPoint deck: a cover slide, then one slide per pack slide (chart as a
    picture, or a table of up to PPTX_TABLE_ROWS rows; a chart's table follows on a "the data"
    slide), the sentence on the slide and, with the note, in the speaker notes."""
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.util import Emu, Inches, Pt

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    blank = prs.slide_layouts[6]
    images = _images(pack)
    SW, SH = prs.slide_width, prs.slide_height

    def textbox(slide, left, top, width, height, text, size, bold=False, colour=None):
        tb = slide.shapes.add_textbox(left, top, width, height)
        tf = tb.text_frame
        tf.word_wrap = True
        lines = text if isinstance(text, list) else [text]
        for j, line in enumerate(lines):
            p = tf.paragraphs[0] if j == 0 else tf.add_paragraph()
            p.text = line
            for r in p.runs:
                r.font.size = Pt(size)
                r.font.bold = bold
                if colour:
                    r.font.color.rgb = RGBColor.from_string(colour)
        return tb

    def table(slide, df, top):
        """Up to PPTX_TABLE_ROWS rows and 10 columns of ``df`` as a native table; returns its bottom."""
        t = df.head(PPTX_TABLE_ROWS)
        rows, cols = len(t) + 1, min(len(t.columns), 10)
        row_h = Emu(int(Inches(0.3)))
        shape = slide.shapes.add_table(rows, cols, Inches(0.5), top, SW - Inches(1.0), Emu(row_h * rows))
        tab = shape.table
        for c, name in enumerate(t.columns[:cols]):
            tab.cell(0, c).text = str(name)
        for r, row in enumerate(t.itertuples(index=False), start=1):
            for c, v in enumerate(list(row)[:cols]):
                tab.cell(r, c).text = fmt_cell(v)[:120]
        for r in range(rows):
            for c in range(cols):
                for p in tab.cell(r, c).text_frame.paragraphs:
                    for run in p.runs:
                        run.font.size = Pt(10 if rows > 8 else 12)
        return top + Emu(row_h * rows)

    for i, s in enumerate(pack.slides):
        sl = prs.slides.add_slide(blank)
        if s.kind == "cover":
            textbox(sl, Inches(0.8), Inches(1.6), SW - Inches(1.6), Inches(1.4), s.title, 36, bold=True)
            textbox(sl, Inches(0.8), Inches(3.0), SW - Inches(1.6), Inches(0.6), s.sentence, 20)
            textbox(sl, Inches(0.8), Inches(3.8), SW - Inches(1.6), Inches(2.0), s.bullets, 16)
            if s.note:
                textbox(sl, Inches(0.8), Inches(6.0), SW - Inches(1.6), Inches(1.2), s.note[:900], 9, colour="555555")
            sl.notes_slide.notes_text_frame.text = "\n".join([s.sentence, *s.bullets, _plain(s.note)])
            continue
        long_title = len(s.title) > 62
        textbox(sl, Inches(0.5), Inches(0.25), SW - Inches(1.0), Inches(0.8), s.title, 20 if long_title else 26,
                bold=True)
        top = Inches(1.05)
        if s.sentence:
            lines = max(1, -(-len(s.sentence) // 150))  # about 150 characters a line at 14 pt
            h = Inches(0.1 + 0.3 * lines)
            textbox(sl, Inches(0.5), top, SW - Inches(1.0), h, s.sentence, 14)
            top = top + h + Inches(0.1)
        img = images.get(i)
        avail_h = SH - top - Inches(0.35)
        if isinstance(img, bytes):
            from PIL import Image as PILImage
            with PILImage.open(io.BytesIO(img)) as im:
                iw, ih = im.size
            h = avail_h if not s.bullets else avail_h - Inches(1.0)
            w = int(h * iw / ih)
            if w > SW - Inches(1.0):
                w = SW - Inches(1.0)
                h = int(w * ih / iw)
            sl.shapes.add_picture(io.BytesIO(img), int((SW - w) / 2), top, width=w, height=h)
            top = top + h
        elif s.table is not None and len(s.table):
            top = table(sl, s.table, top)
        elif isinstance(img, str):
            textbox(sl, Inches(0.5), top, SW - Inches(1.0), Inches(0.6), img, 12)
        if s.bullets:
            textbox(sl, Inches(0.5), min(top + Inches(0.1), SH - Inches(1.6)), SW - Inches(1.0), Inches(1.4),
                    ["• " + b for b in s.bullets[:8]], 12 if len(s.bullets) > 4 else 14)
        notes = [s.sentence, *s.bullets, _plain(s.note)]
        if s.table is not None and len(s.table) > PPTX_TABLE_ROWS:
            notes.append(f"The table has {len(s.table)} rows; the slides show the first {PPTX_TABLE_ROWS} "
                         "(full table in meeting mode and its CSV download).")
        sl.notes_slide.notes_text_frame.text = "\n".join(n for n in notes if n)
        if isinstance(img, bytes) and s.table is not None and len(s.table):
            # the chart's data on the next slide, as on paper
            dl = prs.slides.add_slide(blank)
            textbox(dl, Inches(0.5), Inches(0.25), SW - Inches(1.0), Inches(0.8), f"{s.title}: the data", 22, bold=True)
            table(dl, s.table, Inches(1.1))
            dl.notes_slide.notes_text_frame.text = "\n".join(n for n in notes if n)
    buf = io.BytesIO()
    prs.core_properties.title = pack.title
    prs.save(buf)
    return buf.getvalue()


def render(pack: Pack, fmt_: str) -> bytes:
    if fmt_ == "pdf":
        return to_pdf(pack)
    if fmt_ == "pptx":
        return to_pptx(pack)
    raise PackError(f"unknown format {fmt_!r} (pdf or pptx)")


def make(kind: str, key, fmt_: str = "pdf", **kwargs) -> tuple[bytes, Pack, dict]:
    """Build and render a pack; returns (file bytes, pack, timings in seconds)."""
    t0 = time.perf_counter()
    pack = build(kind, key, **kwargs)
    t1 = time.perf_counter()
    data = render(pack, fmt_)
    t2 = time.perf_counter()
    return data, pack, {"content": round(t1 - t0, 2), "render": round(t2 - t1, 2), "total": round(t2 - t0, 2)}
