"""Text from files and users is shown as text (issue 14, item 1).

The helper itself on hostile strings, then the pages on a real build of the bundled files in which
one school's name (St Paul's Catholic College, URN 125311 and its successor) is replaced by a
hostile one: it must reach the page as literal text, in Markdown and in charts.
"""
from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
from equity import safe_text

ROOT = Path(__file__).resolve().parent.parent

ATTACKS = [
    "**Bold** [click me](https://evil.example)",
    ":red[x]",
    ":material/balance:",
    "$x^2$",
    '<a href="https://evil.example">x</a>',
    "![t](https://evil.example/pixel.png)",
    "# Heading\n- item\n\n    code",
    "<img src=x onerror=alert(1)>",
]
from conftest import HOSTILE  # noqa: E402  (the hostile school name of the hostile_db fixture)
# what must never reach Markdown or a chart label unescaped
LIVE = ["**Bold**", "[click me](", ":red[", "$x^2$", "<a href", "![t]("]


def _bare(markdown: str) -> str:
    """What is left to be read as markup once every backslash-escaped character is set aside."""
    return re.sub(r"\\[" + re.escape(string.punctuation) + "]", "\u00b7", markdown)


@pytest.mark.parametrize("attack", ATTACKS + ["www.evil.example", "a@evil.example", "- item", "1. item", "> quote",
                                              ":smile: ~~x~~ `code` | a | b |", "back\\slash \\*x\\*"])
def test_md_leaves_nothing_that_starts_markup_and_keeps_the_text(attack):
    # CommonMark: "any ASCII punctuation character may be backslash-escaped" and is then shown as
    # itself; md escapes each one that could start markup, Streamlit's or GFM's.
    out = safe_text.md(attack)
    assert "\n" not in out
    assert safe_text.plain(out) == safe_text.one_line(attack) == " ".join(attack.split())
    bare = _bare(out)
    for ch in "*_~`[]<>#$|@\\":
        assert ch not in bare, (attack, out)
    assert not re.search(r":[A-Za-z/]", bare), "a directive, icon, emoji code or URL scheme"
    assert not re.search(r"(?i)\bwww\.", bare), "a www autolink"
    assert not re.match(r"([-+]|\d+[.)])(\s|$)", bare), "a list item"


def test_md_leaves_ordinary_punctuation_alone():
    text = "St Paul's Catholic College (936): 2017/18, -0.5 points; 47.1%."
    assert safe_text.md(text) == text


def test_html_makes_links_and_tags_inert():
    assert safe_text.html('<a href="https://evil.example">x</a>') == '&lt;a href="https://evil.example"&gt;x&lt;/a&gt;'
    assert safe_text.html("Smith & Jones <b>") == "Smith &amp; Jones &lt;b&gt;"
    assert safe_text.html(None) == ""


def test_plain_undoes_md_and_drops_project_emphasis():
    name = safe_text.md("**Bold** [x](y) St Paul's")
    assert safe_text.plain(f"In 2023/24 **{name}** scored **47.1**.") == "In 2023/24 **Bold** [x](y) St Paul's scored 47.1."


def test_plain_names_are_still_found_by_the_pack_anonymiser():
    from equity.present import pack
    namer = pack.Namer(True, {125311: HOSTILE})
    namer(125311, HOSTILE)
    text = f"Results at {safe_text.md(HOSTILE)} rose."
    assert "evil.example" not in namer.scrub(text) and "School A" in namer.scrub(text)


# ---- a real build with a hostile school name (the hostile_db fixture, tests/conftest.py) ------------

def _page(page: str, **params):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


MARKDOWN_ELEMENTS = ["title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success"]


def _markdown_texts(at) -> list[str]:
    out = []
    for kind in MARKDOWN_ELEMENTS:
        out += [e.value for e in getattr(at, kind)]
    out += [m.label for m in at.metric]
    return out


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def _chart_strings(at) -> list[str]:
    return [s for c in at.get("plotly_chart") for s in _strings(json.loads(c.proto.spec))]


def _assert_text_stays_text(at, *, in_charts: bool):
    texts = _markdown_texts(at)
    shown = [t for t in texts if "click me" in t]  # the hostile name (escaped or not)
    assert shown, "the hostile name is on the page"
    for t in shown:
        assert safe_text.md(HOSTILE) in t, t
        bare = _bare(t)  # escaped marks out of the way
        for live in LIVE:
            assert live not in bare, (live, t)
    if in_charts:
        labels = [s for s in _chart_strings(at) if "click me" in s]
        assert labels, "the hostile name is in a chart"
        for s in labels:
            assert "<a href" not in s and "&lt;a href=" in s, s


def test_school_page_shows_a_hostile_name_as_text(hostile):
    at = _page("pages/school.py", urn="125311")
    _assert_text_stays_text(at, in_charts=True)
    # the name is still the data: tables and the URN search show it as it is in the file
    assert any(HOSTILE in d.value.to_csv() for d in at.dataframe)


def test_families_page_shows_a_hostile_name_as_text(hostile):
    at = _page("pages/families.py", urn="125311")
    _assert_text_stays_text(at, in_charts=True)


def test_meeting_slides_show_register_focus_and_notes_as_text(small_db, tmp_path, monkeypatch):
    """Focus and notes anyone can type into the register reach every viewer's meeting slides: an
    image there must not make their browsers fetch an address."""
    from streamlit.testing.v1 import AppTest

    from equity.analysis import partnerships as reg
    monkeypatch.setenv("EQUITY_USER_DB", str(tmp_path / "partnerships.sqlite"))
    note = "![t](https://evil.example/pixel.png) :red[x] $x^2$ <a href='https://evil.example'>x</a>"
    rec = reg.create(school_urn=125249, partner_urns=[125252], key_stage=4, baseline_year="2016/17", measure="p8",
                     start_date="2018-09-01", focus="**Bold** [click me](https://evil.example)", notes=note,
                     user="officer A")
    at = AppTest.from_file(str(ROOT / "pages" / "meeting.py"), default_timeout=240)
    at.query_params["pack"] = "partnership"
    at.query_params["pid"] = str(rec["id"])
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    slider = at.slider(key="slide")
    texts = []
    for i in range(1, int(slider.max) + 1):
        at.slider(key="slide").set_value(i).run()
        assert not at.exception, [e.message for e in at.exception]
        texts += _markdown_texts(at)
    shown = [t for t in texts if "pixel" in t]
    assert shown, "the note is on a slide"
    for t in shown:
        assert safe_text.md(note) in t
        bare = _bare(t)
        for live in ("![t](", ":red[", "$x^2$", "<a href", "**Bold**", "[click me]("):
            assert live not in bare, (live, t)


def test_map_tooltips_show_a_hostile_name_as_text(hostile):
    """pydeck renders a tooltip's "html" as HTML: a name there could carry a live link or an
    <img onerror=...>. Both maps (Neighbourhoods, Families) escape names."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "pages" / "neighbourhoods.py"), default_timeout=180)
    at.query_params["la"] = "936"
    at.query_params["urn"] = "125315"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    tips = [s for d in at.get("deck_gl_json_chart") for s in _strings(json.loads(d.proto.json)) if "click me" in s]
    assert tips, "the hostile school is on the map"
    for t in tips:
        assert "<a href" not in t and "&lt;a href=" in t, t
