"""Meeting packs (PDF and PowerPoint) on the real bundled data: what a reader finds in the files,
anonymising, "since last meeting", breaks never bridged, and that a pack builds with no network."""
from __future__ import annotations

import csv
import gzip
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pptx import Presentation
from pypdf import PdfReader

from equity import breaks, years
from equity.ingest import build
from equity.present import pack, pack_charts

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "data" / "raw"
SURREY = "936"
BROADWATER = 125249  # a Surrey secondary; academy successor URN 147935 (GIAS link, 2020)


def pdf_pages(data: bytes) -> list[str]:
    return [p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages]


def pptx_texts(data: bytes) -> list[str]:
    """Text of each slide: its shapes (text boxes and tables) and its speaker notes."""
    out = []
    for slide in Presentation(io.BytesIO(data)).slides:
        parts = []
        for sh in slide.shapes:
            if sh.has_text_frame:
                parts.append(sh.text_frame.text)
            if getattr(sh, "has_table", False) and sh.has_table:
                parts += [c.text for row in sh.table.rows for c in row.cells]
        if slide.has_notes_slide:
            parts.append(slide.notes_slide.notes_text_frame.text)
        out.append("\n".join(parts))
    return out


def surrey_ks4_file_years() -> set[int]:
    """KS4 years of Surrey's own performance-table files, read from the bundled file names."""
    out = set()
    for p in (RAW / "dfe_hants_surrey_clarelgibson").glob("*_936_ks4final.csv.gz"):
        out.add(int(p.name[:4]))
    return out


def raw_value(file: str, urn: int, column: str) -> str:
    with gzip.open(RAW / "dfe_hants_surrey_clarelgibson" / file, "rt", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            if row.get("URN") == str(urn):
                return row[column]
    raise KeyError(urn)


@pytest.fixture(scope="module")
def user_db(tmp_path_factory, built_db):
    """A partnership register of our own (never the real one), with one partnership whose focus
    names both schools, and one edit, so the audit trail has something to show."""
    from equity.analysis import partnerships
    path = tmp_path_factory.mktemp("user") / "partnerships.sqlite"
    rec = partnerships.create(school_urn=132268, partner_urns=str(BROADWATER), key_stage=4, baseline_year=2017,
                              measure="p8", start_date="2019-09-01",
                              focus="Kings International College learns from Broadwater School: English for "
                                    "disadvantaged boys",
                              notes="Termly visits", user="officer.a", path=path)
    partnerships.edit(rec["id"], rec["version"], user="officer.b", notes="Termly visits; first one in March",
                      path=path)
    return path, rec["id"]


@pytest.fixture(scope="module")
def la_pdf(built_db, user_db):
    data, p, t = pack.make("la", SURREY, "pdf", user_db=user_db[0])
    return data, p, t


# ---- content and files ----------------------------------------------------------------------------

def test_la_pdf_cover_names_the_la_and_the_years_of_its_files(la_pdf):
    data, p, t = la_pdf
    pages = pdf_pages(data)
    assert len(pages) >= len(p.slides)  # a long table may take a page of its own after its chart
    cover = pages[0]
    assert "Surrey (936)" in cover
    m = re.search(r"KS4 (\d{4}/\d{2})–(\d{4}/\d{2})", cover)
    assert m, cover
    first, last = years.parse(m.group(1)), years.parse(m.group(2))
    assert all(first <= y <= last for y in surrey_ks4_file_years()), (m.group(0), surrey_ks4_file_years())
    assert "2023/24" in cover  # the national statistics file covers every school in England
    assert "Sources:" in cover and "Surrey (936)" in cover.split("Sources:")[1]
    assert "Since last meeting" in cover
    assert pages[-1].startswith("Notes on the data") or "Notes on the data" in pages[-1]


def test_la_pdf_sentences_carry_the_published_numbers(la_pdf):
    data, _, _ = la_pdf
    text = " ".join(pdf_pages(data))
    # Surrey's published 2018/19 KS4 row, read straight from DfE's file (RECTYPE 4 = the LA)
    with gzip.open(RAW / "dfe_hants_surrey_clarelgibson" / "2018-2019_936_ks4final.csv.gz", "rt",
                   encoding="utf-8-sig") as fh:
        la = next(r for r in csv.DictReader(fh) if r["RECTYPE"] == "4")
    dis, oth = float(la["ATT8SCR_FSM6CLA1A"]), float(la["ATT8SCR_NFSM6CLA1A"])
    assert f"disadvantaged pupils in Surrey scored {dis:.1f} on Attainment 8 and other pupils {oth:.1f}" in \
        re.sub(r"\s+", " ", text)
    assert f"a gap of {oth - dis:.1f} points" in re.sub(r"\s+", " ", text)


def test_pdf_has_a_picture_for_every_chart(la_pdf):
    data, p, _ = la_pdf
    reader = PdfReader(io.BytesIO(data))
    pictures = sum(len(page.images) for page in reader.pages)
    assert pictures == sum(1 for s in p.slides if s.figure is not None) > 3


def test_la_pptx_has_one_slide_per_pack_slide_with_pictures_and_notes(built_db, user_db):
    data, p, t = pack.make("la", SURREY, "pptx", user_db=user_db[0])
    prs = Presentation(io.BytesIO(data))
    # one slide per pack slide, plus a "the data" slide after each chart that has a table
    expected = []
    for s in p.slides:
        expected.append((s.title, 1 if s.figure is not None else 0))
        if s.figure is not None and s.table is not None and len(s.table):
            expected.append((f"{s.title}: the data", 0))
    assert len(prs.slides) == len(expected)
    texts = pptx_texts(data)
    assert "Surrey (936)" in texts[0] and "Years of data" in texts[0]
    pics = [sum(1 for sh in s.shapes if sh.shape_type == 13) for s in prs.slides]
    assert pics == [n for _, n in expected]
    for (title, _), txt in zip(expected[1:], texts[1:]):
        assert txt.startswith(title)
    for s in p.slides[1:]:
        if s.sentence:
            assert any(s.sentence in t for t in texts)  # on the slide and in the speaker notes


def test_trend_charts_never_draw_a_line_across_a_break(la_pdf):
    _, p, _ = la_pdf
    checked = 0
    for s in p.slides:
        fig = s.figure
        if fig is None or not fig.data or fig.data[0].type != "scatter":
            continue
        ks = 2 if s.title.startswith("KS2") else 4
        measure = "att8" if "Attainment 8" in s.title else "p8" if "Progress 8" in s.title else "rwm_exp"
        for tr in fig.data:
            xs = list(tr.x)
            for a, b in zip(xs, xs[1:]):
                assert not breaks.breaks_between(int(a), int(b), ks, measure), (s.title, tr.name, a, b)
            checked += 1
    assert checked >= 8
    # Surrey's Attainment 8 has 2015/16 (old scale) and 2016/17-2018/19: two separate segments
    att8 = next(s.figure for s in p.slides if s.title.startswith("KS4: Attainment 8"))
    segs = [list(tr.x) for tr in att8.data if tr.name.startswith("Surrey: disadvantaged")]
    assert [2015] in segs and [2016, 2017, 2018] in segs


def test_since_last_meeting_compares_two_chosen_years_and_refuses_a_break(built_db, user_db):
    p = pack.build("la", SURREY, since=(2016, 2018), user_db=user_db[0])
    s = next(s for s in p.slides if s.title.startswith("Since last meeting: KS4"))
    assert "2016/17 to 2018/19" in s.title
    row = s.table[s.table.who == "Surrey (published)"].iloc[0]
    assert row["disadvantaged 2016/17"] == pytest.approx(36.9) and row["disadvantaged 2018/19"] == pytest.approx(35.5)
    across = pack.build("la", SURREY, since=(2018, 2023), user_db=user_db[0])
    s = next(s for s in across.slides if s.title.startswith("Since last meeting: KS4"))
    assert s.table is None and "No comparable" in s.sentence  # 2019/20-2021/22 break: nothing compared


def test_since_last_meeting_between_two_database_builds(built_db, user_db, tmp_path):
    """An earlier build without Surrey's 2018/19 KS4 file: the pack lists its rows as new."""
    src = RAW / "dfe_hants_surrey_clarelgibson"
    old = tmp_path / "old.duckdb"
    build.build([f for f in src.iterdir() if "2018-2019_936_ks4" not in f.name], old)
    diff = pack.compare_builds(pack.scope_la(SURREY), old, built_db)
    new_1819 = diff[(diff.change == "new") & (diff.key_stage == 4) & (diff.start_year == 2018)]
    assert {"area:936"} <= set(new_1819.who)
    assert str(BROADWATER) in set(new_1819.who)
    assert diff[(diff.key_stage == 2) & (diff.who == "area:936")].empty  # KS2 files are in both builds
    data, p, _ = pack.make("la", SURREY, "pdf", since_db=old, user_db=user_db[0])
    text = re.sub(r"\s+", " ", " ".join(pdf_pages(data)))
    assert "changes between two database builds" in text
    assert re.search(r"\d+ new \(KS4, 2018/19\)", text)


# ---- anonymising -----------------------------------------------------------------------------------

def _real_names(urns) -> set[str]:
    """Names of the schools as GIAS spells them in the ``school`` table."""
    df = pack.school_names(urns)
    return {n for n in df.name if isinstance(n, str) and n}


def test_anonymised_family_pack_contains_no_real_school_name(built_db, user_db):
    pdf, p, _ = pack.make("family", BROADWATER, "pdf", anonymise=True, user_db=user_db[0])
    pptx = pack.render(p, "pptx")
    text = "\n".join(pdf_pages(pdf) + pptx_texts(pptx))
    flat = re.sub(r"\s+", " ", text)
    names = _real_names(p.scope.urns) | {"Kings International College"}  # its partner, named in the register
    assert len(names) >= 10  # the school and its family
    leaks = [n for n in names if n.lower() in flat.lower()]
    assert not leaks
    meta = (PdfReader(io.BytesIO(pdf)).metadata.title or "") + (Presentation(io.BytesIO(pptx)).core_properties.title or "")
    assert meta and not [n for n in names if n in meta]
    assert str(BROADWATER) not in flat
    assert "School A" in pdf_pages(pdf)[0]  # the cover names the school by its letter
    assert "School A: Attainment 8" in flat and "School B" in flat
    # the school keeps its letter under its academy URN too (same school to a reader)
    assert p.namer(147935) == p.namer(BROADWATER) == "School A"


def test_anonymised_names_are_consistent_between_sentence_table_and_chart(built_db, user_db):
    p = pack.build("la", SURREY, anonymise=True, user_db=user_db[0])
    s = next(s for s in p.slides if s.title.startswith("KS4 schools: gap to national other pupils"))
    m = re.search(r"the widest: (School [A-Z]+) at (-?\d+\.\d)", s.sentence)
    assert m, s.sentence
    alias, value = m.group(1), float(m.group(2))
    row = s.table[s.table.school == alias]
    assert len(row) == 1 and row.iloc[0, 1] == pytest.approx(value)
    assert alias in list(s.figure.data[0].y)
    aliases = [p.namer(u) for u in p.scope.urns]
    assert len(set(aliases)) == len(aliases)  # one letter per school
    assert not [n for n in _real_names(p.scope.urns) if n in p.text()]


def test_partnership_pack_shows_actions_and_anonymises_them(built_db, user_db):
    path, pid = user_db
    data, p, _ = pack.make("partnership", pid, "pdf", user_db=path)
    text = re.sub(r"\s+", " ", " ".join(pdf_pages(data)))
    assert "Partnership actions recorded" in text
    assert "Termly visits; first one in March" in text  # the edit, from the audit trail
    assert "Kings International College" in text and "Broadwater School" in text
    anon, pa, _ = pack.make("partnership", pid, "pptx", anonymise=True, user_db=path)
    atext = "\n".join(pptx_texts(anon))
    assert "Kings International College" not in atext and "Broadwater School" not in atext
    assert "School A learns from School B: English for disadvantaged boys" in atext
    assert "officer.b" not in atext  # who made the change is left out of an anonymised pack


def test_keys_to_success_pack_lists_the_rules_selection(built_db, user_db):
    from equity.analysis import keys_to_success as kts
    data, p, _ = pack.make("keys_to_success", SURREY, "pptx", user_db=user_db[0])
    texts = pptx_texts(data)
    for ks in (4, 2):
        rule = kts.resolve_year(kts.Rule.default(ks), [SURREY])
        selected = kts.candidates(rule, [SURREY])
        # the chart slide and its "the data" slide
        slide = "\n".join(t for t in texts if t.startswith(f"KS{ks}: schools selected"))
        assert f"selects {len(selected)} of" in slide
        for name in selected.name.head(3):
            assert name in slide


# ---- the command line and the network ---------------------------------------------------------------

def test_cli_writes_a_pptx_and_refuses_an_unknown_la(built_db, user_db, tmp_path):
    out = tmp_path / "fam.pptx"
    cmd = [sys.executable, "-m", "equity", "pack", "--urn", str(BROADWATER), "--format", "pptx", "--out", str(out),
           "--db", str(built_db), "--user-db", str(user_db[0])]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Wrote" in r.stdout and out.exists()
    assert "Broadwater School" in pptx_texts(out.read_bytes())[0]
    bad = subprocess.run([sys.executable, "-m", "equity", "pack", "--la", "999", "--format", "pdf", "--out",
                          str(tmp_path / "x.pdf"), "--db", str(built_db)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "No pack" in bad.stderr and not (tmp_path / "x.pdf").exists()


def test_charts_render_with_the_local_chromium_and_local_scripts_only():
    opts = pack_charts.kaleido_options()
    assert Path(opts["path"]).is_file() and "chromium" in Path(opts["path"]).name
    assert opts["mathjax"] is False  # kaleido's default MathJax is a CDN URL
    html = pack_charts.render_page_html()
    assert "plotly.min.js" in html and not re.search(r"https?://", html)


def _can_unshare() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_unshare(), reason="needs `unshare -rn` (user + network namespaces) to cut the network")
def test_pack_builds_with_no_network(built_db, user_db, tmp_path):
    """The CLI inside a network namespace with no interfaces: any attempt to fetch would fail."""
    probe = subprocess.run(["unshare", "-rn", sys.executable, "-c",
                            "import socket; socket.create_connection(('1.1.1.1', 443), timeout=3)"],
                           capture_output=True, text=True)
    assert probe.returncode != 0  # the namespace really has no network
    out = tmp_path / "offline.pdf"
    r = subprocess.run(["unshare", "-rn", sys.executable, "-m", "equity", "pack", "--la", SURREY, "--format", "pdf",
                        "--out", str(out), "--db", str(built_db), "--user-db", str(user_db[0])],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    reader = PdfReader(str(out))
    assert sum(len(pg.images) for pg in reader.pages) >= 4  # the charts were drawn, not skipped
