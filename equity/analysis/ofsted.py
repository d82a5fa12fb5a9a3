"""Ofsted judgements under three frameworks, dated: the one home of the rules that read them.

* **Single-word grades** (to August 2024): overall effectiveness 1 Outstanding, 2 Good, 3 Requires
  improvement (Satisfactory before September 2012), 4 Inadequate. Below good = 3 or 4.
* **Graded inspections with no overall grade** (September 2024 to November 2025): sub-judgements
  1-4 but "Not judged" overall. Our choice: **any key judgement 3 or 4** (quality of education,
  behaviour and attitudes, personal development, leadership and management, early years, sixth
  form), a category of concern or safeguarding not effective counts as below good.
* **Report cards** (from November 2025): each area graded Exceptional / Strong standard / Expected
  standard / Needs attention / Urgent improvement; safeguarding met or not; a category of concern
  where one applies. Below good (or equivalent) = a category of concern, safeguarding not met, or any
  area "Needs attention" or "Urgent improvement".

Every judgement carries its date. One older than :data:`DATED_AFTER_YEARS` years (default 4; set
``EQUITY_OFSTED_DATED_YEARS``) is *dated*: shown with its date and marked, never as "the current grade".
**Stuck** (as DfE's RISE teams use it): below good (or equivalent) at two or more consecutive graded
inspections, counting a predecessor school's (before academy conversion); ungraded inspections neither
make nor break a run. The judgements come from ``ofsted_judgement`` (built from the bundled history,
to February 2020, and Ofsted's management information; see ``marts_ofsted_b_judgements.sql``).
"""
from __future__ import annotations

import os
from datetime import date

import pandas as pd

from equity import db

DATED_AFTER_YEARS = int(os.environ.get("EQUITY_OFSTED_DATED_YEARS", "4"))
STUCK_AFTER = 2  # consecutive graded inspections below good (or equivalent)

FRAMEWORKS = {
    "single_word": "single-word grade (to August 2024)",
    "no_overall": "graded inspection, no overall grade (September 2024 to November 2025)",
    "report_card": "report card (from November 2025)",
    "ungraded": "ungraded inspection",
}
SHORT = {"single_word": "single-word grade", "no_overall": "graded inspection with no overall grade ('Not judged')",
         "report_card": "report card", "ungraded": "ungraded inspection"}
GRADE_LABELS = {1: "Outstanding", 2: "Good", 3: "Requires improvement", 4: "Inadequate"}
REPORT_CARD_SCALE = ["Exceptional", "Strong standard", "Expected standard", "Needs attention", "Urgent improvement"]
AREAS = ["Inclusion", "Curriculum and teaching", "Achievement", "Attendance and behaviour",
         "Personal development and wellbeing", "Early years", "Post-16", "Leadership and governance"]

SIGN_RULE = f"""\
**Ofsted sign.** The school's latest graded judgement we hold is below good or its equivalent:
- a **report card** (from November 2025): a category of concern, safeguarding *not met*, or any area graded
  *Needs attention* or *Urgent improvement*;
- a graded inspection from **September 2024 to November 2025** (sub-judgements, "Not judged" overall): any key
  judgement (quality of education, behaviour and attitudes, personal development, leadership and management,
  early years, sixth form) graded 3 or 4, a category of concern, or safeguarding not effective;
- a **single-word grade** (to August 2024): 3 Requires improvement (Satisfactory before 2012) or 4 Inadequate.

"Inadequate or equivalent" (the stricter setting) is a category of concern, safeguarding not met or not
effective, an area graded *Urgent improvement*, a key judgement 4, or grade 4.
**Stuck** (as DfE's RISE programme uses it): below good or equivalent at {STUCK_AFTER} or more consecutive graded
inspections, counting a predecessor school's before academy conversion; ungraded inspections do not count.
Every judgement is shown with its date and framework; one more than {DATED_AFTER_YEARS} years old is marked
**dated**. We hold Ofsted's inspection history to February 2020 for every school, and the latest report card,
graded and ungraded inspection only for the schools in the bundled management-information sample: for the
others the latest judgement we hold is usually years old, and inspections since then are not seen.
"""


def today() -> date:
    return date.today()


def is_dated(when, on: date | None = None) -> bool:
    """True when a judgement of ``when`` is more than :data:`DATED_AFTER_YEARS` years before ``on``
    (default today). Missing dates are not dated (there is no judgement)."""
    if when is None or pd.isna(when):
        return False
    on = on or today()
    when = pd.Timestamp(when).date()
    try:
        cutoff = on.replace(year=on.year - DATED_AFTER_YEARS)
    except ValueError:  # 29 February
        cutoff = on.replace(year=on.year - DATED_AFTER_YEARS, day=28)
    return when < cutoff


def dated_note(when, on: date | None = None) -> str:
    """'' or ', DATED: more than 4 years before 30 Nov 2026' (the words every page uses)."""
    if not is_dated(when, on):
        return ""
    return f", DATED: more than {DATED_AFTER_YEARS} years before {(on or today()):%d %b %Y}"


def describe(framework, when, summary, grade=None, on: date | None = None, inherited: bool = False) -> str:
    """One judgement in words with its date and framework, e.g. 'report card of 03 Mar 2026: Needs
    attention: Achievement; safeguarding met' or 'grade 3 Requires improvement (inspected 12 Jul 2023),
    single-word grade, DATED: ...'."""
    if when is None or pd.isna(when):
        return "no Ofsted judgement held"
    d = f"{pd.Timestamp(when):%d %b %Y}"
    pred = ", a predecessor school's inspection" if inherited else ""
    if framework == "single_word" and grade is not None and not pd.isna(grade):
        g = int(grade)
        label = summary.split(";")[0] if isinstance(summary, str) and summary else GRADE_LABELS.get(g, "")
        return f"grade {g} {label} (inspected {d}), single-word grade{pred}{dated_note(when, on)}"
    return f"{SHORT.get(framework, framework)} of {d}: {summary}{pred}{dated_note(when, on)}"


def latest_as_of(as_of: date | None = None, path=None) -> pd.DataFrame:
    """Each school's latest graded judgement on or before ``as_of`` (None: every judgement held).

    Columns: ``urn``, ``inspected_urn``, ``inspection_date``, ``framework`` (see :data:`FRAMEWORKS`),
    ``grade`` (the single-word grade, else NULL), ``equivalent`` (the judgement on the old 1-4 scale,
    for thresholds only: 3 = below good or equivalent, 4 = inadequate or equivalent), ``below_good``,
    ``summary`` (the judgement in Ofsted's words), ``inherited`` (a predecessor's inspection),
    ``below_good_run`` (consecutive graded inspections up to this one below good or equivalent),
    ``graded_held``, ``stuck`` (run of at least :data:`STUCK_AFTER`), the previous graded judgement
    (``previous_date``, ``previous_framework``, ``previous_summary``, ``previous_below_good``) and
    ``dated`` (older than the cut-off on ``as_of``, or today).
    """
    df = db.query("ofsted/latest_as_of", {"as_of": as_of}, path=path)
    df["stuck"] = df.below_good_run >= STUCK_AFTER
    df["dated"] = [is_dated(d, as_of) for d in df.inspection_date]
    return df


def history(urns, path=None) -> pd.DataFrame:
    """Every dated judgement (all frameworks, graded and ungraded) of the given URNs, newest first,
    with ``framework_label`` and ``dated`` (older than the cut-off today)."""
    df = db.query("ofsted/history", {"urns": [int(u) for u in urns]}, path=path)
    df["framework_label"] = df.framework.map(FRAMEWORKS)
    df["dated"] = [is_dated(d) for d in df.inspection_date]
    return df


def report_card(urn: int, path=None) -> pd.DataFrame:
    """The school's latest report card, one row per area (see ``sql/ofsted/report_card.sql``);
    empty when it has none. ``grade`` 1 Exceptional ... 5 Urgent improvement, NULL = not applicable or
    a value we do not know (``known`` False; ``grade_label`` keeps the text as published)."""
    return db.query("ofsted/report_card", {"urn": int(urn)}, path=path)


def stuck_words(run, previous_framework, previous_date, previous_summary, on: date | None = None) -> str:
    """Why a school is stuck: the run's length and the graded judgement before the latest, dated."""
    return (f"stuck: below good or equivalent at {int(run)} consecutive graded inspections (the one before the "
            f"latest: {describe(previous_framework, previous_date, previous_summary, on=on)})")


def cohort_sentence(df: pd.DataFrame, on: date | None = None) -> str:
    """How many of a set of schools (rows with ``meets_ofsted``, ``meets_stuck``, ``ofsted_framework``,
    ``ofsted_date``) show the Ofsted signs, under which frameworks and how old the judgements are."""
    if df.empty:
        return ""
    below = df[df.meets_ofsted]
    held = df[df.ofsted_date.notna()]
    parts = []
    for fw in ("report_card", "no_overall", "single_word"):
        g = below[below.ofsted_framework == fw]
        if len(g):
            y0, y1 = pd.to_datetime(g.ofsted_date).min().year, pd.to_datetime(g.ofsted_date).max().year
            span = f"{y0}" if y0 == y1 else f"{y0}-{y1}"
            parts.append(f"{len(g)} by a {SHORT[fw]} ({span})")
    n_dated = sum(is_dated(d, on) for d in below.ofsted_date)
    text = f"Ofsted's latest judgement we hold is below good or equivalent for {len(below)} of them"
    if parts:
        text += ": " + ", ".join(parts)
    if len(below):
        text += (f"; {n_dated} of these judgements {'is' if n_dated == 1 else 'are'} more than {DATED_AFTER_YEARS} "
                 "years old (dated)")
    text += f". {int(df.meets_stuck.sum())} {'is' if int(df.meets_stuck.sum()) == 1 else 'are'} stuck (below good " \
            f"or equivalent at {STUCK_AFTER} or more consecutive graded inspections)."
    if len(held) < len(df):
        n = len(df) - len(held)
        text += f" {n} {'has' if n == 1 else 'have'} no Ofsted judgement held."
    return text
