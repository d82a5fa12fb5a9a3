"""The SYNTHETIC data generator (bench/synth.py, run by ``python -m equity synth``) writes real DfE formats with real properties.

The data are synthetic and for speed measurement only; these tests check the formats against the
real bundled files, not the values.
"""
from __future__ import annotations

import csv
import gzip
import io
import re
from collections import Counter
from pathlib import Path

import pytest

from bench import synth

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "data" / "raw"
HS = RAW / "dfe_hants_surrey_clarelgibson"
TEMPLATE = {
    "ks4": {2016: HS / "2016-2017_850_ks4final.csv.gz", 2017: HS / "2017-2018_850_ks4final.csv.gz",
            2018: HS / "2018-2019_936_ks4final.csv.gz"},
    "ks2": {2016: HS / "ks2_2016-850-ks2.csv.gz", 2017: HS / "ks2_2017-850-ks2.csv.gz",
            2018: HS / "ks2_2018-850-ks2.csv.gz"},
}
MARKER = {"ks4": "ATT8SCR", "ks2": "PTRWM_EXP"}
LA_RT = {"ks4": "4", "ks2": "3"}
ENGLAND_RT = {"ks4": ["5", "7"], "ks2": ["4", "5"]}
CODES = {"SUPP", "NE", "NP", "NA", "LOWCOV", "NEW", ""}
NUMBER = re.compile(r"^-?\d+(\.\d+)?%?$")


def read(path: Path) -> tuple[str, list[list[str]]]:
    """(encoding, rows) of a CSV written by the generator or bundled (gzip aware)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        text, enc = raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, enc = raw.decode("cp1252"), "cp1252"
    if text.startswith("\ufeff"):
        text, enc = text[1:], "utf-8-sig"
    return enc, [r for r in csv.reader(io.StringIO(text)) if r]


def newest(header: list[str], marker: str) -> int:
    return max(int(m.group(1)) for h in header for m in [re.fullmatch(marker + r"_(\d\d)", h)] if m)


def perf_files(out: Path, ks: str) -> dict[int, Path]:
    found = {}
    for p in out.glob(f"SYNTHETIC_england_{ks}final_20??-??.csv"):
        start = int(re.search(r"_(\d{4})-\d\d\.csv$", p.name).group(1))
        found[start] = p
    return found


# Its synthetic sets are made once per module (through the ``data`` parameter, which pytest cannot see
# ahead): keep the module on one pytest-xdist worker so they are not made twice.
pytestmark = pytest.mark.xdist_group("test_synth")

@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_small")
    return out, synth.write_synthetic(out, schools=600, years=3, seed=1)


@pytest.fixture(scope="module")
def eight(tmp_path_factory):
    """Every template in use: 8 years back to 2015/16 (the 2016/17 template renamed)."""
    out = tmp_path_factory.mktemp("synth_eight")
    return out, synth.write_synthetic(out, schools=300, years=8, seed=2)


@pytest.fixture(params=["small", "eight"])
def data(request):
    return request.getfixturevalue(request.param)


def test_years_skip_the_pandemic():
    assert synth.academic_years(8) == [2015, 2016, 2017, 2018, 2021, 2022, 2023, 2024]
    assert synth.academic_years(3) == [2022, 2023, 2024]
    with pytest.raises(ValueError):
        synth.academic_years(0)


def test_every_file_is_marked_synthetic(data):
    out, summary = data
    names = sorted(p.name for p in out.iterdir())
    assert "README_SYNTHETIC.txt" in names
    readme = (out / "README_SYNTHETIC.txt").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme and "speed measurement only" in readme.lower() and "never" in readme.lower()
    data_files = [n for n in names if n != "README_SYNTHETIC.txt"]
    assert data_files and all(n.startswith("SYNTHETIC_") for n in data_files)
    assert set(data_files) == set(summary["files"])
    for name, info in summary["files"].items():
        assert (out / name).stat().st_size == info["bytes"]
    assert summary["bytes"] == sum(f["bytes"] for f in summary["files"].values())
    assert "SYNTHETIC" in synth.__doc__ and "SPEED MEASUREMENT ONLY" in synth.__doc__
    expected = {f"SYNTHETIC_england_{ks}final_{synth.file_label(y)}.csv" for ks in ("ks4", "ks2")
                for y in synth.academic_years(len(summary["years"]))}
    expected |= {"SYNTHETIC_england_census.csv", "SYNTHETIC_england_spine.csv", "SYNTHETIC_ofsted_ratings.csv",
                 "SYNTHETIC_ks4_school_info_2024.csv", "SYNTHETIC_england_ks4final_trimmed_with_latlong.csv",
                 "SYNTHETIC_england_ks2final_trimmed_with_latlong.csv"}
    assert set(data_files) == expected


@pytest.mark.parametrize("ks", ["ks4", "ks2"])
def test_header_is_the_real_one_with_year_tokens_renamed(data, ks):
    out, _ = data
    files = perf_files(out, ks)
    assert files
    for start, path in files.items():
        tpl_year = min(max(start, 2016), 2018)
        _, tpl_rows = read(TEMPLATE[ks][tpl_year])
        tpl = [h.strip() for h in tpl_rows[0]]
        _, rows = read(path)
        got = rows[0]
        assert len(got) == len(tpl), path.name
        shift = start % 100 - newest(tpl, MARKER[ks])
        renamed = 0
        for g, t in zip(got, tpl):
            if g == t:
                continue
            gp, tp = g.split("_"), t.split("_")
            assert len(gp) == len(tp) and gp[0] == tp[0], (g, t)
            for a, b in zip(gp, tp):
                if a != b:
                    assert a.isdigit() and b.isdigit() and len(a) == len(b), (g, t)
                    assert int(a) - int(b) == shift, (g, t, shift)
            renamed += 1
        assert (renamed > 0) == (shift != 0), path.name
        # the year can be read from the content: newest history suffix + 1 is the file's end year
        assert newest(got, MARKER[ks]) + 1 == (start + 1) % 100
        assert newest(got, MARKER[ks]) == start % 100


@pytest.mark.parametrize("ks", ["ks4", "ks2"])
def test_rows_la_and_england_rows(data, ks):
    out, summary = data
    n_schools = summary["schools"][f"in_{ks}_files"]
    for start, path in perf_files(out, ks).items():
        _, rows = read(path)
        header, body = rows[0], rows[1:]
        assert summary["files"][path.name]["rows"] == len(body)
        schools = [r for r in body if r[0] in ("1", "2")]
        assert len(schools) == n_schools
        lea = header.index("LEA")
        la_rows = [r for r in body if r[0] == LA_RT[ks]]
        school_las = {r[lea] for r in schools}
        assert {r[lea] for r in la_rows} == school_las
        assert len(la_rows) == len(school_las)
        # each LA row follows its LA's schools; England rows close the file
        for i, r in enumerate(body[:-2]):
            if r[0] == LA_RT[ks]:
                assert body[i - 1][0] in ("1", "2") and body[i - 1][lea] == r[lea]
        assert [r[0] for r in body[-2:]] == ENGLAND_RT[ks]
        for r in la_rows + body[-2:]:
            assert len(r) < len(header), (path.name, r[:3])
            assert r[-1] != ""                   # cut after the last non-empty field
        assert all(len(r) <= len(header) for r in body)
        assert all(r[-1] != "" for r in body)   # no row ends in an empty field


def test_urns_unique_synthetic_and_stable(data):
    out, summary = data
    per_file = {}
    for ks in ("ks4", "ks2"):
        for start, path in perf_files(out, ks).items():
            _, rows = read(path)
            urn = rows[0].index("URN")
            urns = [r[urn] for r in rows[1:] if r[0] in ("1", "2")]
            assert len(urns) == len(set(urns)), path.name
            assert all(re.fullmatch(r"9\d{5}", u) and int(u) >= 900000 for u in urns)
            per_file[(ks, start)] = set(urns)
    for ks in ("ks4", "ks2"):
        sets = [v for (k, _), v in per_file.items() if k == ks]
        assert all(s == sets[0] for s in sets)   # the same schools every year
    _, spine = read(out / "SYNTHETIC_england_spine.csv")
    spine_urns = [r[0] for r in spine[1:]]
    assert len(spine_urns) == len(set(spine_urns)) == summary["schools"]["total"]
    assert set().union(*per_file.values()) <= set(spine_urns)
    _, census = read(out / "SYNTHETIC_england_census.csv")
    assert {r[0] for r in census[1:] if r[0] != "NAT"} == set(spine_urns)


def test_school_mix_and_las(small):
    _, summary = small
    s = summary["schools"]
    assert s["total"] == 600 and s["primary"] == 400
    assert s["secondary"] == round(600 * 5500 / 24000)
    assert s["special"] + s["independent"] == 600 - s["primary"] - s["secondary"]
    assert s["las"] > 100
    meta = read(RAW / "dfe_perf_tables_2018_19_kspdeveloper/la_and_region_codes_meta.csv.gz")[1]
    real_las = {r[0] for r in meta[1:]}
    _, spine = read(small[0] / "SYNTHETIC_england_spine.csv")
    assert {r[1] for r in spine[1:]} <= real_las


def test_encodings_and_the_cp1252_year(data):
    out, summary = data
    oldest_ks2 = perf_files(out, "ks2")[min(perf_files(out, "ks2"))]
    raw = oldest_ks2.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp1252")
    assert "St Mary\u2019s" in text and b"St Mary\x92s" in raw
    for ks in ("ks4", "ks2"):
        for path in perf_files(out, ks).values():
            if path == oldest_ks2:
                continue
            raw = path.read_bytes()
            assert raw.startswith(b"\xef\xbb\xbf"), path.name
            raw.decode("utf-8")
            assert raw.endswith(b"\r\n") and raw.count(b"\r\n") == raw.count(b"\n")


def test_missing_value_codes(data):
    out, _ = data
    seen = {"ks4": Counter(), "ks2": Counter()}
    for ks in ("ks4", "ks2"):
        for path in perf_files(out, ks).values():
            _, rows = read(path)
            first_measure = rows[0].index("TOTPUPS")
            for r in rows[1:]:
                if r[0] in ("1", "2"):
                    for v in r[first_measure:]:
                        if not NUMBER.match(v):
                            seen[ks][v.strip()] += 1
    assert {"SUPP", "NE", "NP", "NA", ""} <= set(seen["ks4"])
    assert {"SUPP", "NA", ""} <= set(seen["ks2"])
    assert set(seen["ks4"]) <= CODES and set(seen["ks2"]) <= CODES


def test_rare_codes_over_eight_years(eight):
    out, _ = eight
    text = "".join(p.read_bytes().decode("cp1252", errors="replace")
                   for ks in ("ks4", "ks2") for p in perf_files(out, ks).values())
    assert ",NEW," in text and ",LOWCOV," in text


@pytest.mark.parametrize("ks,cohort,measures", [
    ("ks4", "TFSM6CLA1A", ["ATT8SCR_FSM6CLA1A", "P8MEA_FSM6CLA1A", "PTFSM6CLA1ABASICS_94"]),
    ("ks4", "TNOTFSM6CLA1A", ["ATT8SCR_NFSM6CLA1A", "PTNOTFSM6CLA1ABASICS_94"]),
    ("ks2", "TFSM6CLA1A", ["PTRWM_EXP_FSM6CLA1A", "READPROG_FSM6CLA1A"]),
])
def test_small_disadvantaged_cohorts_are_suppressed(data, ks, cohort, measures):
    out, _ = data
    small_rows = 0
    for path in perf_files(out, ks).values():
        _, rows = read(path)
        h = rows[0]
        for r in rows[1:]:
            if r[0] not in ("1", "2") or len(r) <= h.index(cohort) or not NUMBER.match(r[h.index(cohort)]):
                continue
            if float(r[h.index(cohort)]) <= 5:
                small_rows += 1
                for m in measures:
                    if m in h and len(r) > h.index(m):
                        assert not NUMBER.match(r[h.index(m)]), (path.name, r[h.index("URN")], m)
    assert small_rows > 0


def test_values_look_like_dfe(small):
    out, _ = small
    _, rows = read(perf_files(out, "ks4")[2024])
    h = rows[0]
    schools = [r for r in rows[1:] if r[0] in ("1", "2") and len(r) == len(h)]
    pct = [r[h.index("PTL2BASICS_94")] for r in schools]
    assert any(re.fullmatch(r"\d{1,3}%", v) for v in pct)
    assert all(re.fullmatch(r"\d{1,3}%", v) or v in CODES for v in pct)
    att8 = [float(r[h.index("ATT8SCR")]) for r in schools if NUMBER.match(r[h.index("ATT8SCR")])]
    assert att8 and 0 <= min(att8) and max(att8) <= 90 and 30 < sum(att8) / len(att8) < 65
    names = [r[h.index("SCHNAME")] for r in schools]
    assert all("Synthetic" in n for n in names)


def test_other_files_use_the_real_formats(small):
    out, _ = small
    pairs = {
        "SYNTHETIC_england_census.csv": "dfe_perf_tables_2018_19_kspdeveloper/england_census.csv.gz",
        "SYNTHETIC_england_spine.csv": "dfe_ofsted_waiky8_schools_data/2017-2018_england_spine.csv.gz",
        "SYNTHETIC_ofsted_ratings.csv": "dfe_ofsted_waiky8_schools_data/ofsted_ratings_2018.csv.gz",
        "SYNTHETIC_ks4_school_info_2024.csv": "dfe_ees_ks4_2023_24_pvhee/ks4_school_info_2024.csv.gz",
        "SYNTHETIC_england_ks4final_trimmed_with_latlong.csv":
            "school_coords_waiky8_eng_schools/england_ks4final_trimmed_with_latlong.csv.gz",
        "SYNTHETIC_england_ks2final_trimmed_with_latlong.csv":
            "school_coords_waiky8_eng_schools/england_ks2final_trimmed_with_latlong.csv.gz",
    }
    for mine, real in pairs.items():
        enc_m, rows_m = read(out / mine)
        enc_r, rows_r = read(RAW / real)
        assert rows_m[0] == rows_r[0], mine
        assert enc_m == enc_r, mine
        assert all(len(r) == len(rows_m[0]) for r in rows_m[1:]), mine
    _, census = read(out / "SYNTHETIC_england_census.csv")
    assert [r[:3] for r in census[-3:]] == [["NAT", "", "PRI"], ["NAT", "", "SEC"], ["NAT", "", "SPE"]]
    _, ofsted = read(out / "SYNTHETIC_ofsted_ratings.csv")
    assert {r[1] for r in ofsted[1:]} <= {"Outstanding", "Good", "Requires Improvement", "Satisfactory", "Inadequate"}
    assert all(re.fullmatch(r"20[012]\d[01]\d[0-3]\d", r[2]) for r in ofsted[1:])


def test_statistics_service_codes(small):
    out, _ = small
    raw = (out / "SYNTHETIC_ks4_school_info_2024.csv").read_bytes()
    assert raw.startswith(b'"time_period"')
    _, rows = read(out / "SYNTHETIC_ks4_school_info_2024.csv")
    h = rows[0]
    assert {r[h.index("time_period")] for r in rows[1:]} == {"202324"}
    cells = Counter(v for r in rows[1:] for v in r[h.index("t_allks_pupils"):])
    assert {"z", "c", "x", "low"} <= set(cells)
    assert all(int(r[h.index("school_urn")]) >= 900000 for r in rows[1:])


def test_coordinates_inside_england_and_clustered_by_la(small):
    out, _ = small
    _, spine = read(out / "SYNTHETIC_england_spine.csv")
    la_of = {r[0]: r[1] for r in spine[1:]}
    by_la: dict[str, list[tuple[float, float]]] = {}
    everything = []
    for ks in ("ks4", "ks2"):
        _, rows = read(out / f"SYNTHETIC_england_{ks}final_trimmed_with_latlong.csv")
        h = rows[0]
        for r in rows[1:]:
            lat, lon = float(r[h.index("LATITUDE")]), float(r[h.index("LONGITUDE")])
            assert 49.9 <= lat <= 55.8 and -6.4 <= lon <= 1.8
            by_la.setdefault(la_of[r[h.index("URN")]], []).append((lat, lon))
            everything.append((lat, lon))

    def spread(points):
        mlat = sum(p[0] for p in points) / len(points)
        mlon = sum(p[1] for p in points) / len(points)
        return sum((p[0] - mlat) ** 2 + (p[1] - mlon) ** 2 for p in points) / len(points)
    within = [spread(p) for p in by_la.values() if len(p) >= 3]
    assert sum(within) / len(within) < 0.25 * spread(everything)


@pytest.mark.slow  # 2.1 s: writes a whole synthetic set (quiet run, 2 cores)
def test_cli(tmp_path):
    assert synth.main(["--schools", "120", "--years", "1", "--out", str(tmp_path), "--seed", "3"]) == 0
    assert (tmp_path / "SYNTHETIC_england_ks4final_2024-25.csv").exists()
    assert (tmp_path / "README_SYNTHETIC.txt").exists()


@pytest.mark.slow  # 2.3 s: writes a whole synthetic set (quiet run, 2 cores)
def test_cli_command(tmp_path):
    """``python -m equity synth`` runs the generator (kept outside the runtime package) with the same options."""
    from equity import cli
    assert cli.main(["synth", "--schools", "120", "--years", "1", "--out", str(tmp_path), "--seed", "3"]) == 0
    assert (tmp_path / "SYNTHETIC_england_ks4final_2024-25.csv").exists()
    assert (tmp_path / "README_SYNTHETIC.txt").read_text(encoding="utf-8").count("bench/synth.py") == 1
