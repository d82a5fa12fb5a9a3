"""National-scale benchmark, on SYNTHETIC data: build, pages, families, matcher, browser, memory.

    python bench/run.py [--schools 24000 --years 8] [--raw-dir DIR] [--keep DIR] [--db SYNTH_DB] [--skip-browser]

Writes a SYNTHETIC national data set (``bench/synth.py``: made-up schools in the real DfE file
formats; nothing in it is real), builds it, and prints side by side, then writes to
``bench/RESULTS.md`` (``--results`` to change, ``--no-write`` to skip):

* build time (``equity.ingest.build.build``) against DuckDB's own ``read_csv`` of the same files with the
  build's options (the ratio is the figure), database size, peak memory, and where the build's
  time goes (every SQL statement and step, timed in the build's process);
* for every page in dashboard.py's PAGES: first-run and warm-rerun times with AppTest on the
  synthetic database, and the time of the page's equity calls alone;
* families for every school in England at once (``equity.analysis.families.all_families``) and the Keys to
  Success matcher for a whole region (``equity.analysis.keys_to_success.suggest_partners``);
* 20 simultaneous sessions with a new build swapped in under them (p95 page-run latency);
* page-ready time in headless Chromium (``bench/browser.py``) of a bare one-line Streamlit page, of
  the floor pages (the bare page plus one tiny Plotly chart, pydeck map or Vega-Lite chart) and of
  every page (and the ``?urn=`` views), each the best of three fresh tabs after a warm-up, side by
  side in the same run, split by the browser's Performance API (chart chunk loaded, main-thread time
  in it, charts drawn); the resident memory of the running app server. ``--db DB --browser-only``
  reruns only this part and carries the other sections from the previous results.json.

Besides the Markdown, every figure goes to ``bench/results.json``; a rerun compares its figures
with the previous file and flags (in RESULTS.md and on the terminal) any that got more than 20%
worse. Sections of RESULTS.md that this script does not write (e.g. ``bench/load.py``'s) are kept.

Each measurement runs in its own process so that caches and memory do not leak between them.
The machine is shared with other work: the load average at the start and end is recorded.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

TARGETS = {"build_ratio": 1.5, "page_ratio": 1.5, "warm_s": 0.25, "first_s": 2.0, "families_s": 1.0, "rss_mb": 1024}
REGRESSION = 1.2  # a figure more than 20% worse than the previous run's is flagged
GENERATED = ("Build", "Pages (AppTest", "Families and the Keys", "Concurrency", "Real browser", "Targets missed",
             "Regressions", "Page-ready in a real browser")
PY = sys.executable

# Why targets are missed, from profiling (bench/build_profile.py's per-statement timing and cProfile,
# and the experiments quoted), and what would fix each. Kept here so that every run reprints them.
NOTES = """\
**Build (target ≤ 1.5x DuckDB's raw read): missed.** 2026-11-30 16:10, load average 2-3: 54.3 s against 27.9 s,
1.9x wall (2.2x CPU: 75.6 / 34.0 s); peak 1,594 MB (limit 2 GB). The build reads every file as the raw read does,
then does work it does not: each performance table (400-500 columns) into the long form school x year x measure x
group with a status for every missing value, a screen of what each number can possibly be, the choice among
versions of a figure (final over provisional, a year's own file over another file's history columns), the marts.
Done so far: staging in temp tables; version resolution by ranking keys and a semi-join; the unpivot in one pass
per file (`build/results_school`); the plausibility screen on each column's distinct tokens, classified once, and
only columns holding an implausible token unpivoted to name row and column (it was about 37% of the build; build
CPU 191 -> 101 s on a loaded machine); the unknown-token report read from the same classified tokens. What is
left, from the step table above:

1. *`build/results_school`* (about 20 s): parses every value of every mapped cell.
2. *`build/marts_results`* (about 8.5 s): ranking every figure's versions. Ranking once per (file, kind, version)
   and keeping each figure's best copy with one grouped min gave the same rows and saved 1-3 CPU s, but raised the
   build's peak to 1,971 MB (a window sort: 3.4 GB), so it was not kept.

The build runs once per data refresh (a few times a year) and never blocks the app: the running app keeps
serving the previous build until the new one is swapped in.

**Pages in the browser (target: every view ≤ 1.5x the bare page, warm reruns ≤ 250 ms): missed; Plotly alone
sets a floor above the target.** The 16:10 table (load 2-3): the tiny-Plotly page 2.00x the bare one, the tiny
Vega-Lite page 1.20x, the slowest view 4.03x. The detail below is from the floor rows of the 14:35 run (load
average 12-20, the
browser's Performance API):

* *One tiny Plotly chart (3 points) on an otherwise bare page is already 2.9x the bare page* (best tries 4.15 s
  against 1.44 s; medians of all tries 6.5 s against 2.0 s, 3.3x). Nothing is fetched: after the warm-up the
  Plotly chunk comes from the browser's cache (0 KB over the wire) and is there by the script's end or within
  0.3 s of it. The time is the main thread running the chunk's 4.6 MB of JavaScript in every new tab (evaluating
  the module, then drawing): 1.2-5.3 s of long-animation-frame time in `PlotlyChart.*.js` per tab in these runs
  (9 s at the heaviest load), 1.7 s in the best try, while the bare page's whole main thread spends about 0.25 s. V8's code cache did not remove
  it (the chunk had been run several times in the same browser). So no view with a Plotly chart in its first
  view can be within 1.5x of the bare page on this machine, whatever the page sends.
* *What does not get under it*: a collapsed expander (2.5x: Streamlit mounts the chart and loads the chunk
  anyway; in a second tab of `st.tabs` it was ready at 4.2-5.1 s against a bare 0.8-1.4 s); preloading (the
  chunk is already cached: fetching is not the cost); fewer or smaller figures (the views send 29-122 KB and
  draw in well under a second once the chunk has run: overview's two charts are drawn 0.16 s after the first
  appears; `scattergl`
  for thousands of points is already used); Streamlit's config has no switch for the chart library.
* *What does*: no Plotly chart in the first view. The same page with its chart behind `st.toggle` was ready in
  1.05-1.15 s against a bare 1.04-1.40 s (ad-hoc run, load average 9-16); a tiny Vega-Lite chart
  (`st.line_chart`, 0.76 MB chunk, 0.1 s of main thread) is 1.42x the bare page in the table, within target.
  Meeting the target therefore needs either the gap charts in Vega-Lite (Altair), or the first view without a
  chart (tiles and sentences first, charts on request); both change how every page looks and were not done here.
* *Server side*, `bench/page_profile.py` on the national set (fresh session, caches warm; wall under load,
  CPU): overview 0.19 s (0.10 s CPU), gaps 0.65 s (0.10 s CPU, of which writing two CSVs for the download
  buttons 0.12 s wall), compare 0.26 s, keys-to-success 0.13 s, families `?urn=` 1.07 s, school `?urn=` 1.36 s
  (0.22 s CPU). Warm reruns 0.06-0.19 s for these six views: met. Changed: chart blocks and the gap table write their CSV
  only when Download is clicked (Streamlit's deferred download data), so a run no longer writes them and the
  browser no longer fetches every CSV while drawing (two fetches on the gaps page before, none after); the LA
  comparison says in words that an LA has no free-school-meal figures instead of drawing an empty chart.
* Other views (owned elsewhere) would gain from the same: `pages/_shared.chart_block`'s "Show data" table could
  be built only when opened (`st.expander(..., on_change="rerun")` and `.open`), which keeps the DataFrame
  chunk (0.5 MB, 0.1-0.5 s of main thread) out of first views whose only table is there.

Earlier analysis (still true). Where a fresh
tab's time went, from `python bench/page_profile.py` (pyinstrument inside the script's thread, a new session
with the server's caches warm; CPU seconds, because under the machine's load wall time was 10-25x CPU) and
from the browser's timeline in `bench/browser.py` (script end, last WebSocket message, bytes sent):

* *Plotly building and validating figures* was most of every chart page's server time: the LA overview's
  trend figure 0.19-0.32 s CPU (16 traces and break markers), Keys to Success's three figures, the school
  profile's three charts (each `template="plotly_white"` alone 0.1 s). Figures are now cached by the content of
  their data (`equity.cache.per_content`, the one cache module), kept as dicts and handed back without being
  validated again: 0.007 s instead of 0.3 s for the trend figure. Overview fresh-tab CPU 0.23 -> 0.11 s,
  school profile 0.51 -> 0.34 s.
* *Families* worked out and sent all three tabs on every visit (the validation of every measure, the LA's
  chart), asked the database for its measures on every run (uncached), escaped 5,210 hover labels per run and
  sent every school of the pool on the map at full precision. Now only the open tab runs (`?fam_tab=`, kept in
  the URL), measures and labels are cached per build, the scatter is cached by content, map dots are rounded
  to 100 m. Families with `?urn=` CPU 1.39 -> 0.49 s; what is left is pydeck writing the map's 5,000 grey dots
  as indented JSON (about 0.1 s and 0.5 MB per view).
* *Data page*: the scan of every table for the newest year each file holds ran twice on every run (0.36 s
  CPU); now once per build (0.04 s).
* *In the browser*, from the timeline in the table above (2026-11-30, load average 13-30): on the pages with
  Plotly charts the script ended 2.9-7.2 s in and the last message arrived before it, then the browser drew for
  another 5-11 s (overview 10.8 s, gaps 9.4 s, families `?urn=` 7.0 s, keys-to-success 5.2 s, compare 5.6 s); on
  the pages without a chart it drew for under 0.6 s. What every chart page pays and the bare page does not is
  Streamlit's Plotly bundle (`PlotlyChart.*.js`, 4.7 MB of JavaScript, loaded and compiled in each new tab at the
  first chart) and Plotly laying out the charts; the data sent is small (34-122 KB, 703 KB with the families map).
  The pages cannot shorten that beyond fewer and smaller figures (done: two traces instead of 150 in the LA
  comparison's dumbbell, `scattergl` for the 5,210-school scatter, the map's dots at 100 m). Meeting the 1.5x
  target needs charts that load less code per tab (Streamlit's Vega-Lite charts: `embed.*.js` is 0.8 MB) or no
  chart drawn before it is asked for; not done here. Also seen: every download button's CSV is fetched by the
  browser when the page draws (network log), and the app's frame (navigation, filters) makes even a page with
  no chart end its script 2-3 s after the bare page under this load.

The ratios in the table are those of the run they came from; under this machine's load the headless browser is
starved far more on a chart page than on the bare page, which has almost nothing to draw, so a rerun on a quiet
machine is the fair test.

**Families for every school (≤ 1 s): met** (KS4 0.28 s, KS2 0.53 s cold, including loading the context).

**Memory: met.** The app server stays well under 1 GB after every page; the build peaks at about 1.8 GB
(ranking and unpivot steps).

**Not measured at national scale.** The Neighbourhoods page has nothing to draw on the synthetic set (it carries
no IoD/LSOA files), and the synthetic set has no LA/region names file (`la` is empty, so pages show LA codes);
the matcher's "region" is DfE's sub-region from the bundled `la_and_region_codes_meta.csv` (London East: 10 LAs).

**Concurrency.** The p95 is that of 20 sessions sharing 2 cores in one process (AppTest threads, one GIL): each
run waits for the others, so it is roughly the sum of the concurrent runs. No session saw an error or a result
from neither build.
"""


def say(msg: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {msg}", flush=True)


def machine() -> dict:
    mem = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    import duckdb  # noqa: F401  (version only)
    import streamlit
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = "?"
    return {"nproc": os.cpu_count(), "ram_gb": round(mem / 2**20, 1), "cpu": cpu, "python": platform.python_version(),
            "duckdb": sys.modules["duckdb"].__version__, "streamlit": streamlit.__version__, "commit": commit,
            "load_start": os.getloadavg()}


def child(args: list[str], timeout: float = 3600, env: dict | None = None) -> tuple[dict, float, float]:
    """Run ``python ARGS`` that prints one JSON object last; returns (json, wall s, CPU s of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run([PY, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, **(env or {})))
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    out = p.stdout
    return json.loads(out[out.index("\n{") + 1 if not out.startswith("{") else 0:]), wall, cpu


# ---- children: families and the matcher --------------------------------------------------------

def child_families(db: str) -> dict:
    from equity.analysis import families
    out = {}
    for ks in (4, 2):
        t = time.perf_counter()
        fam = families.all_families(key_stage=ks, path=db)
        cold = time.perf_counter() - t
        t = time.perf_counter()
        families.all_families(key_stage=ks, path=db)
        warm = time.perf_counter() - t
        out[f"ks{ks}"] = {"cold_s": round(cold, 3), "warm_s": round(warm, 3), "schools": int(fam.urn.nunique()),
                          "rows": len(fam), "year": families.default_year(ks, db)}
    return out


def child_kts(db: str) -> dict:
    from equity import db as dbm
    from equity.analysis import keys_to_success as kts
    cur = dbm.connection(db).cursor()
    regions = cur.execute("""select region_name, list(la_code order by la_code) from la
                             where region_name is not null group by 1 order by count(*) desc""").fetchall()
    cur.close()
    if not regions:  # the synthetic set carries no LA/region file: take DfE's bundled region codes
        import pandas as pd
        meta = pd.read_csv(ROOT / "data/raw/dfe_perf_tables_2018_19_kspdeveloper/la_and_region_codes_meta.csv.gz",
                           dtype=str)
        g = meta.groupby("REGION NAME").LEA.apply(sorted)
        regions = sorted(g.items(), key=lambda kv: -len(kv[1]))
    out = {}
    for ks in (4, 2):
        for region, las in regions:  # the largest region whose LAs have results at this key stage
            try:
                rule = kts.resolve_year(kts.Rule(key_stage=ks, **({} if ks == 4 else {"measure": "rwm_exp", "max_value": 35})),
                                        la_codes=las, path=db)
            except ValueError:
                continue
            t = time.perf_counter()
            s = kts.suggest_partners(rule, la_codes=las, path=db)
            cold = time.perf_counter() - t
            t = time.perf_counter()
            kts.suggest_partners(rule, la_codes=las, path=db)
            warm = time.perf_counter() - t
            out[f"ks{ks}"] = {"region": region, "las": len(las), "cold_s": round(cold, 3), "warm_s": round(warm, 3),
                              "selected": len(s.schools), "pairs": len(s.pairs), "year": rule.year,
                              "measure": rule.measure}
            break
    return out


def child_sessions(db: str, n: int, max_runs: int) -> dict:
    """n sessions at once on a copy of the database; a copy of the build is swapped in mid-run
    with os.replace, exactly as the build's last step does (a national rebuild takes minutes)."""
    os.environ["EQUITY_DB"] = db
    from bench.browser import app_pages
    from bench.sessions import run_sessions

    def swap():
        tmp = Path(db).with_name(f".{Path(db).name}.building-bench")
        shutil.copyfile(db, tmp)
        os.replace(tmp, db)
    out = run_sessions(Path(db), [f for f, _t, _u in app_pages()], n_sessions=n, rebuild=swap, seed=1,
                       max_runs=max_runs, runs_after_swap=1, max_seconds=1200, timeout=900)
    xs = sorted(out.latencies())
    return {"summary": out.summary(), "runs": len(xs), "p50_s": round(statistics.median(xs), 3) if xs else None,
            "p95_s": round(out.p95(), 3), "max_s": round(max(xs), 3) if xs else None,
            "errors": [e for r in out.runs for e in r.errors][:5] + out.thread_errors[:5],
            "rebuild_error": out.rebuild_error}


def sample_urn(db: str) -> str | None:
    """A synthetic secondary school with context in the newest KS4 year (for ?urn= views)."""
    from equity import db as dbm
    cur = dbm.connection(db).cursor()
    try:
        row = cur.execute("""select c.urn from school_context c join school s using (urn)
                             where c.key_stage = 4 and s.is_mainstream and c.pct_disadvantaged is not null
                             order by c.start_year desc, c.urn limit 1""").fetchone()
        return str(row[0]) if row else None
    finally:
        cur.close()


# ---- the browser -------------------------------------------------------------------------------

def browser_views(urn: str | None) -> list[tuple[str, str]]:
    """(name, url) of every page in dashboard.py's PAGES, and its ``?urn=`` view where it has one."""
    from bench.browser import app_pages, page_url
    views = []
    for f, _t, u in app_pages():
        views.append((u, page_url(u)))
        if urn and 'key="urn"' in (ROOT / f).read_text(encoding="utf-8"):
            views.append((f"{u}?urn={urn}", f"{page_url(u)}?urn={urn}"))
    return views


def browser_figures(db: Path, urn: str | None, workdir: Path, tries: int = 3) -> dict:
    """Page-ready of the bare page and every view, best of ``tries`` fresh tabs (bench/browser.py)."""
    from bench.browser import best, chromium_path, page_ready_times
    if not chromium_path():
        return {"skipped": "no chromium"}
    r = page_ready_times(db, browser_views(urn), workdir, tries=tries)
    out = {"tries": tries, "bare": best(r["bare"]), "bare_all": [v["ready_s"] for v in r["bare"]],
           "floors": {n: dict(best(vs), all=[v["ready_s"] for v in vs]) for n, vs in r.get("floors", {}).items()},
           "views": {}, "rss_mb": r["rss_mb"]}
    for name, visits in r["views"].items():
        out["views"][name] = dict(best(visits), all=[v["ready_s"] for v in visits],
                                  exception=any(v["exception"] for v in visits))
    return out


def flat_figures(r: dict) -> dict[str, tuple[float, bool]]:
    """The run's headline figures by name, each (value, whether lower is better): what a later run
    is compared with."""
    out = {}
    if r.get("raw") and r.get("build"):
        out["build wall s"] = (r["build"]["seconds"], True)
        out["build / raw read"] = (r["build"]["seconds"] / r["raw"]["seconds"], True)
        out["build peak RSS MB"] = (r["build"]["peak_rss_mb"], True)
    for p in r.get("pages", []):
        if "first_s" in p:
            out[f"AppTest {p['page']} {p['view']} warm s"] = (p["warm_s"], True)
    br = r.get("browser") or {}
    if br.get("bare"):
        bare = br["bare"]["ready_s"]
        out["browser bare page s"] = (bare, True)
        for name, v in br.get("floors", {}).items():
            if v.get("ready_s"):
                out[f"browser {name} s"] = (v["ready_s"], True)
                out[f"browser {name} / bare"] = (v["ready_s"] / bare, True)
        for name, v in br.get("views", {}).items():
            out[f"browser {name} s"] = (v["ready_s"], True)
            out[f"browser {name} / bare"] = (v["ready_s"] / bare, True)
    return out


def regressions(now: dict, before: dict | None) -> list[str]:
    """Figures more than 20% worse than in the previous run (``before``: its results.json)."""
    if not before:
        return []
    old = {k: tuple(v) for k, v in before.get("figures", {}).items()}
    out = []
    for k, (v, lower) in now.items():
        if k not in old or not old[k][0]:
            continue
        ratio = v / old[k][0] if lower else old[k][0] / v if v else float("inf")
        if ratio > REGRESSION:
            out.append(f"{k}: {v:.2f} against {old[k][0]:.2f} in the run of {before.get('date', '?')} "
                       f"({(ratio - 1) * 100:.0f}% worse)")
    return out


def kept_sections(path: Path) -> str:
    """The sections of an existing RESULTS.md that this script does not write (kept as they are)."""
    if not path.exists():
        return ""
    parts, keep = path.read_text(encoding="utf-8").split("\n## "), []
    for part in parts[1:]:
        if not part.startswith(GENERATED):
            keep.append("## " + part.rstrip() + "\n")
    return "\n\n".join(keep)


# ---- the report --------------------------------------------------------------------------------

def chunk_js_s(v: dict) -> float:
    """Main-thread seconds a visit spent in Streamlit's Plotly and deck.gl chunks (bench.browser.CHUNKS)."""
    from bench.browser import CHUNKS
    return sum(t for name, t in (v.get("scripts_s") or {}).items()
               if name.startswith((CHUNKS["plotly"], CHUNKS["deck"])))


def verdict(value, target, lower_is_better=True) -> str:
    if value is None:
        return "n/a"
    ok = value <= target if lower_is_better else value >= target
    return "met" if ok else f"MISSED by {value / target:.1f}x"


def render(r: dict) -> str:
    m = r["machine"]
    command = r.get("command") or f"python bench/run.py --schools {r['schools']} --years {r['years']}"
    L = ["# Benchmarks at national scale (SYNTHETIC data)", "",
         "**All figures below were measured on SYNTHETIC data** written by `bench/synth.py`: made-up schools "
         "(URNs from 900000, names \"Synthetic ...\") in the real DfE file formats, at the size of England. "
         "They describe no real school, LA or pupil; they exist only to time the build and the app.", "",
         f"Run: {r['date']} with `{command}` "
         f"(commit {m['commit']}).  ",
         f"Machine: {m['nproc']} cores ({m['cpu']}), {m['ram_gb']} GB RAM; Python {m['python']}, DuckDB "
         f"{m['duckdb']}, Streamlit {m['streamlit']}.  ",
         f"Load average (1/5/15 min) at start {tuple(round(x, 1) for x in m['load_start'])}, at end "
         f"{tuple(round(x, 1) for x in m.get('load_end', os.getloadavg()))}: the machine is shared with other work, so wall times "
         "carry that noise; CPU seconds are given where they help.", ""]
    if r.get("carried"):
        c = r["carried"]
        L += [f"**Only the browser part was rerun in this run.** The build, AppTest, families, matcher and "
              f"concurrency sections are carried from the run of {c['date']} (commit {c['commit']}), not measured "
              "again.", ""]
    s, raw, b = r.get("synth"), r.get("raw"), r.get("build")
    if not (s and raw and b):
        raw = b = {"seconds": float("nan"), "cpu_s": float("nan"), "peak_rss_mb": float("nan"),
                   "db_mb": float("nan"), "steps": []}
        s = s or {"files": 0, "rows": 0, "mb": 0, "seconds": 0}
    ratio = b["seconds"] / raw["seconds"]
    L += ["## Build", "",
          f"Synthetic set: {s['files']} files, {s['rows']:,} rows, {s['mb']:.0f} MB of CSV (written in {s['seconds']:.0f} s).", "",
          "| | wall s | CPU s | peak RSS MB | DB MB |", "| --- | ---: | ---: | ---: | ---: |",
          f"| DuckDB `read_csv` of the same files (all_varchar, null_padding, ...) into tables | {raw['seconds']:.1f} | "
          f"{raw['cpu_s']:.1f} | {raw['peak_rss_mb']:.0f} | {raw['db_mb']:.0f} |",
          f"| `equity.ingest.build.build` | {b['seconds']:.1f} | {b['cpu_s']:.1f} | {b['peak_rss_mb']:.0f} | {b['db_mb']:.0f} |",
          "", f"**Build / raw read = {ratio:.1f}x** (CPU: {b['cpu_s'] / raw['cpu_s']:.1f}x); target ≤ "
          f"{TARGETS['build_ratio']:g}x: {verdict(ratio, TARGETS['build_ratio'])}.", "",
          "Where the build's time goes (wall seconds inside the build process, every statement timed):", "",
          "| step | s | calls |", "| --- | ---: | ---: |"]
    L += [f"| {x['what'].replace('|', '/')} | {x['seconds']:.1f} | {x['calls']} |" for x in b["steps"][:12]]
    L += ["", "## Pages (AppTest, synthetic national database)", "",
          "First run: the page's first run in a fresh process (libraries imported, caches empty but for the landing "
          "page's). Warm: median of three reruns with nothing changed. Equity calls alone: the page's calls into "
          "`equity` made again directly, without Streamlit, with equity's caches cleared.", "",
          "| page | view | first run s | warm rerun s | equity calls in first run s | equity calls alone s | slowest call | first ≤ 2 s | warm ≤ 0.25 s |",
          "| --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |"]
    for p in r.get("pages", []):
        if "error" in p:
            L.append(f"| {p['page']} | {p.get('view', '')} | failed: {p['error'][:120]} | | | | | | |")
            continue
        top = p["top_calls"][0] if p["top_calls"] else None
        slow = f"`{top['call']}` {top['seconds']:.2f} s" if top else ""
        errs = " (exception shown!)" if p["errors"] else ""
        L.append(f"| {p['page']}{errs} | {p['view']} | {p['first_s']:.2f} | {p['warm_s']:.2f} | {p['equity_in_first_s']:.2f} | "
                 f"{p['queries_alone_s']:.2f} | {slow} | {verdict(p['first_s'], TARGETS['first_s'])} | "
                 f"{verdict(p['warm_s'], TARGETS['warm_s'])} |")
    f, k = r.get("families"), r.get("kts")
    L += ["", "## Families and the Keys to Success matcher", ""]
    if f and "error" not in f:
        for ks, v in f.items():
            L.append(f"* Families for every school at once, {ks.upper()} ({v['schools']:,} schools, {v['rows']:,} rows): "
                     f"cold {v['cold_s']:.2f} s (includes loading the context), cached {v['warm_s']:.3f} s; target ≤ 1 s: "
                     f"{verdict(v['cold_s'], TARGETS['families_s'])}.")
    else:
        L.append(f"* Families: {f}")
    if k and "error" not in k:
        for ks, v in k.items():
            L.append(f"* Keys to Success matcher for the whole of {v['region']} ({v['las']} LAs), {ks.upper()} "
                     f"{v['measure']} {v['year']}: {v['selected']} schools selected, {v['pairs']} pairs; cold {v['cold_s']:.2f} s, "
                     f"again {v['warm_s']:.2f} s.")
    else:
        L.append(f"* Keys to Success: {k}")
    c = r.get("sessions")
    L += ["", "## Concurrency", ""]
    if c and "error" not in c:
        L.append(f"{r['sessions_n']} simultaneous AppTest sessions on the synthetic database, each opening random pages "
                 f"and filters, with a new copy of the build swapped in mid-run (os.replace, as the build does): "
                 f"{c['summary']}; p95 = **{c['p95_s']:.1f} s**. Errors: {c['errors'] or 'none'}.")
    else:
        L.append(f"{c}")
    br = r.get("browser")
    L += ["", "## Page-ready in a real browser (headless Chromium), bare page alongside", ""]
    if br and br.get("bare"):
        bare = br["bare"]
        L += [f"Each page opened in a fresh tab (a new session) after a warm-up (every page opened once), best of "
              f"{br['tries']}; the bare one-line Streamlit page (`bench/bare_page.py`, its own server) opened before "
              "each view, and the floor pages (one line and ONE tiny chart: `bench/plotly_page.py`, 3 points; "
              "`bench/pydeck_page.py`, 3 dots; each on its own server) before every fourth, so all see the same "
              "load (the readiness rule waits for Plotly's SVG, not for a map's canvas). *Ready* is `bench/browser.wait_ready`: connected, script finished, no skeletons, every Plotly "
              "chart drawn as SVG, with its fixed pauses (0.3 s before and after) included as in earlier figures; "
              "every other column is on the browser's own clock from asking for the page (no pauses): *at*, when "
              "it was ready; *script end*, when the server's run finished; *last message*, when the last WebSocket "
              "message arrived (*sent*: its bytes); *chunk loaded*, when Streamlit's Plotly (or deck.gl) "
              "JavaScript chunk had arrived (from the browser's cache after the warm-up: 0 KB over the wire, "
              "4.6 MB of JavaScript for Plotly, 2.9 MB for deck.gl); *chunk JS*, main-thread seconds in that "
              "chunk's code (its evaluation, then drawing), from long-animation-frame script attribution; "
              "*drawn*, when every Plotly chart was drawn. Between *last message* and *at* the time is the "
              "browser's.", "",
              "| view | ready s | × bare | at s | × bare | script end s | last message s | chunk loaded s | "
              f"chunk JS s | drawn s | sent KB | charts | ≤ {TARGETS['page_ratio']}× bare |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]

        def row(name, v, ratio, at, verdict_text):
            ck = v.get("chunks") or {}
            loaded = max((c["end_s"] for k, c in ck.items() if k in ("plotly", "deck")), default=None)
            js = chunk_js_s(v)
            num = lambda x: f"{x:.2f}" if x is not None else ""  # noqa: E731
            return (f"| {name} | {v['ready_s']:.2f} | {ratio:.2f} | {v.get('ready_at_s') or 0:.2f} | {num(at)} | "
                    f"{v.get('finished_at_s') or 0:.2f} | {v.get('last_frame_s', 0):.2f} | {num(loaded)} | "
                    f"{num(js) if js else ''} | {num(v.get('drawn_at_s'))} | {v.get('ws_bytes', 0) / 1024:.0f} | "
                    f"{v.get('charts', 0)} | {verdict_text} |")
        L.append(row("bare page", bare, 1.0, 1.0, ""))
        for name, v in (br.get("floors") or {}).items():
            if v.get("ready_s"):
                ratio = v["ready_s"] / bare["ready_s"]
                L.append(row(f"*floor:* {name}", v, ratio, (v.get("ready_at_s") or 0) / (bare.get("ready_at_s") or float("nan")),
                             verdict(ratio, TARGETS["page_ratio"])))
        worst = 0.0
        for name, v in br["views"].items():
            if v.get("ready_s") is None:
                L.append(f"| {name} | failed: {str(v.get('error'))[:120]} | | | | | | | | | | | |")
                continue
            ratio = v["ready_s"] / bare["ready_s"]
            at = (v["ready_at_s"] or 0) / (bare["ready_at_s"] or float("nan"))
            worst = max(worst, ratio)
            exc = " (exception shown!)" if v["exception"] else ""
            L.append(row(f"{name}{exc}", v, ratio, at, verdict(ratio, TARGETS["page_ratio"])))
        floor = (br.get("floors") or {}).get("tiny Plotly page", {})
        L += ["", f"**Slowest view / bare page = {worst:.2f}x** (target ≤ {TARGETS['page_ratio']}x: "
                  f"{verdict(worst, TARGETS['page_ratio'])})"
              + (f"; the tiny-Plotly floor page alone is {floor['ready_s'] / bare['ready_s']:.2f}x the bare page "
                 f"(at: {(floor.get('ready_at_s') or 0) / (bare.get('ready_at_s') or float('nan')):.2f}x)"
                 if floor.get("ready_s") else "")
              + ". Bare page, all tries: " + ", ".join(f"{x:.2f}" for x in br["bare_all"] if x is not None) + " s."]
        for name, v in (br.get("floors") or {}).items():
            L.append(f"* {name}, all tries: " + ", ".join(f"{x:.2f}" for x in v.get("all", []) if x is not None) + " s.")
        L.append(f"* App server resident memory after the run: {br['rss_mb'].get('VmRSS', 0):.0f} MB (peak "
                 f"{br['rss_mb'].get('VmHWM', 0):.0f} MB); target ≤ 1 GB: "
                 f"{verdict(br['rss_mb'].get('VmHWM', 0), TARGETS['rss_mb'])}.")
    else:
        L.append(f"{br}")
    regs = r.get("regressions")
    if regs is not None:
        L += ["", "## Regressions against the previous run", ""]
        L += ([f"* **REGRESSION** {x}" for x in regs] if regs else
              [f"None: no figure more than {(REGRESSION - 1) * 100:.0f}% worse than in the previous run "
               f"({r.get('previous_date') or 'none recorded'})."])
    L += ["", "## Targets missed, and why", "", NOTES]
    return "\n".join(L) + "\n"


CARRIED = ("synth", "raw", "build", "pages", "families", "kts", "sessions", "sessions_n")


def carry_forward(r: dict, previous_json: Path) -> None:
    """For a browser-only run: the sections not rerun, as the previous run recorded them (``r["carried"]``
    names that run, so the report says the figures are not this run's)."""
    before = json.loads(previous_json.read_text()) if previous_json.exists() else {}
    for k in CARRIED:
        if k in before:
            r[k] = before[k]
    r["carried"] = {"date": before.get("date"), "commit": (before.get("machine") or {}).get("commit"),
                    "keys": [k for k in CARRIED if k in before]}


def finish(r: dict, a) -> None:
    """Compare with the previous results.json (regressions), print, and write RESULTS.md and results.json."""
    r["machine"]["load_end"] = os.getloadavg()
    before = json.loads(Path(a.json).read_text()) if Path(a.json).exists() else None
    r["figures"] = flat_figures(r)
    r["regressions"] = regressions(r["figures"], before)
    r["previous_date"] = before.get("date") if before else None
    text = render(r)
    print(text)
    for x in r["regressions"]:
        say(f"REGRESSION: {x}")
    if not a.no_write:
        Path(a.results).write_text(text + "\n" + kept_sections(Path(a.results)), encoding="utf-8")
        Path(a.json).write_text(json.dumps(r, indent=1, default=str))
        say(f"wrote {a.results} and {a.json}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--schools", type=int, default=24000)
    ap.add_argument("--years", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", help="keep the synthetic files, database and logs in this folder")
    ap.add_argument("--db", help="reuse this already-built synthetic database (skips writing and building)")
    ap.add_argument("--raw-dir", help="use this already-written SYNTHETIC set (its files) instead of writing one")
    ap.add_argument("--skip-browser", action="store_true")
    ap.add_argument("--skip-sessions", action="store_true")
    ap.add_argument("--browser-only", action="store_true",
                    help="with --db: rerun only the browser part; the other sections are carried from the previous "
                         "results.json (and say so)")
    ap.add_argument("--tries", type=int, default=3, help="fresh tabs per view in the browser (the best is kept)")
    ap.add_argument("--json", default=str(BENCH / "results.json"),
                    help="machine-readable figures, compared with at the next run")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--session-runs", type=int, default=3)
    ap.add_argument("--results", default=str(BENCH / "RESULTS.md"))
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--render", help="only re-render RESULTS.md from a saved bench-results.json")
    ap.add_argument("--child", choices=["families", "kts", "sessions"], help=argparse.SUPPRESS)
    ap.add_argument("--child-db", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        fn = {"families": lambda: child_families(a.child_db), "kts": lambda: child_kts(a.child_db),
              "sessions": lambda: child_sessions(a.child_db, a.sessions, a.session_runs)}[a.child]
        print(json.dumps(fn(), default=str))
        return 0

    if a.render:
        Path(a.results).write_text(render(json.loads(Path(a.render).read_text())) + kept_sections(Path(a.results)),
                                   encoding="utf-8")
        return 0
    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="equity-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    r = {"date": dt.datetime.now().isoformat(timespec="minutes"), "schools": a.schools, "years": a.years,
         "machine": machine(), "command": " ".join(["python bench/run.py", *(argv if argv is not None else sys.argv[1:])])}
    synth_dir, db = work / "synthetic", work / "SYNTHETIC_national.duckdb"
    try:
        if a.db and not a.raw_dir:
            db = Path(a.db)
            r["synth"] = json.loads((db.parent / "bench-synth.json").read_text()) if (db.parent / "bench-synth.json").exists() \
                else {"files": 0, "rows": 0, "mb": 0, "seconds": 0}
            synth_dir = Path(r["synth"].get("dir", synth_dir))
        elif a.raw_dir:
            db = Path(a.db) if a.db else db
            synth_dir = Path(a.raw_dir)
            files = [p for p in synth_dir.iterdir() if p.suffix == ".csv"]
            r["synth"] = {"files": len(files), "rows": sum(sum(1 for _ in open(p, "rb")) - 1 for p in files),
                          "mb": sum(p.stat().st_size for p in files) / 2**20, "seconds": 0, "dir": str(synth_dir)}
        else:
            say(f"writing the SYNTHETIC set ({a.schools} schools, {a.years} years) to {synth_dir}")
            from bench.synth import write_synthetic
            t = time.perf_counter()
            write_synthetic(synth_dir, a.schools, a.years, a.seed)
            files = [p for p in synth_dir.iterdir() if p.suffix == ".csv"]
            r["synth"] = {"files": len(files), "rows": sum(sum(1 for _ in open(p, "rb")) - 1 for p in files),
                          "mb": sum(p.stat().st_size for p in files) / 2**20, "seconds": time.perf_counter() - t,
                          "dir": str(synth_dir)}
            (work / "bench-synth.json").write_text(json.dumps(r["synth"]))
        def measure_build():
            """DuckDB's raw read of the synthetic files, then the build of the same files."""
            say("DuckDB read_csv of the same files (reference)")
            raw, _w, cpu = child(["bench/build_profile.py", str(synth_dir), str(work / "raw.duckdb"), "--raw"])
            r["raw"] = dict(raw, cpu_s=cpu)
            say(f"  {raw['seconds']:.1f} s")
            if a.db:
                r["build"] = json.loads((work / "bench-build.json").read_text()) if (work / "bench-build.json").exists() else None
            if not r.get("build"):
                say("building the database (equity.ingest.build.build), every step timed")
                target = db if not a.db else work / "rebuild.duckdb"
                b, _w, cpu = child(["bench/build_profile.py", str(synth_dir), str(target)])
                r["build"] = dict(b, cpu_s=cpu)
                (work / "bench-build.json").write_text(json.dumps(r["build"]))
                say(f"  {b['seconds']:.1f} s, {b['db_mb']:.0f} MB, peak {b['peak_rss_mb']:.0f} MB")
                save()

        def save():  # what is measured so far (a run cut short can still be rendered with --render)
            (work / "bench-results.json").write_text(json.dumps(r, indent=1, default=str))

        if not a.db:  # the database to measure the pages on is the one this run builds
            measure_build()
        from bench.browser import app_pages
        urn = sample_urn(str(db))
        if not a.skip_browser:
            say(f"browser: a bare page and every view, best of {a.tries} fresh tabs after a warm-up")
            try:
                r["browser"] = browser_figures(db, urn, work, tries=a.tries)
                bare = r["browser"].get("bare", {}).get("ready_s")
                for name, v in r["browser"].get("views", {}).items():
                    say(f"  {name}: {v['ready_s']:.2f} s ({v['ready_s'] / bare:.2f}x bare {bare:.2f} s)")
            except Exception as exc:  # noqa: BLE001
                r["browser"] = {"error": str(exc)[-500:]}
                say(f"  failed: {str(exc)[-500:]}")
            save()
        if a.browser_only:
            carry_forward(r, Path(a.json))
            save()
            finish(r, a)
            return 0
        r["pages"] = []
        for f, _t, u in app_pages():
            views = [("default", [])]
            if urn and 'key="urn"' in (ROOT / f).read_text(encoding="utf-8"):
                views.append((f"?urn={urn}", ["--param", f"urn={urn}"]))
            for view, extra in views:
                say(f"page {f} {view}")
                try:
                    p, _w, _c = child(["bench/page_timing.py", "--db", str(db), "--page", f, *extra], timeout=1800)
                    p["view"] = view
                    say(f"  first {p['first_s']:.2f} s, warm {p['warm_s']:.2f} s, equity alone {p['queries_alone_s']:.2f} s"
                        + (f", ERRORS {p['errors']}" if p["errors"] else ""))
                except Exception as exc:  # noqa: BLE001 - recorded in the results
                    p = {"page": f, "view": view, "error": str(exc)[-300:]}
                    say(f"  failed: {str(exc)[-300:]}")
                r["pages"].append(p)
                save()
        for name in ("families", "kts"):
            say(f"{name} at national scale")
            try:
                r[name], _w, _c = child(["bench/run.py", "--child", name, "--child-db", str(db)])
                say(f"  {r[name]}")
            except Exception as exc:  # noqa: BLE001
                r[name] = {"error": str(exc)[-500:]}
                say(f"  failed: {str(exc)[-500:]}")
        r["sessions_n"] = a.sessions
        if a.skip_sessions:
            r["sessions"] = {"error": "not run this time (--skip-sessions)"}
        else:
            say(f"{a.sessions} simultaneous sessions with a swap")
            live = work / "live.duckdb"
            shutil.copyfile(db, live)
            try:
                r["sessions"], _w, _c = child(["bench/run.py", "--child", "sessions", "--child-db", str(live),
                                               "--sessions", str(a.sessions), "--session-runs", str(a.session_runs)],
                                              timeout=3600)
                say(f"  {r['sessions']['summary']}")
            except Exception as exc:  # noqa: BLE001
                r["sessions"] = {"error": str(exc)[-500:]}
            finally:
                live.unlink(missing_ok=True)
        if a.db:
            measure_build()
        save()
        finish(r, a)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
