"""The benchmark's floor pages and its report (bench/run.py, bench/browser.py): no browser, no database."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import run  # noqa: E402
from bench.browser import BARE_PAGE, CHUNKS, FLOOR_PAGES, browser_split  # noqa: E402


def test_floor_pages_are_the_bare_page_plus_one_tiny_chart():
    """Each floor page is one line like the bare page, and draws exactly one chart with three points."""
    for path in (BARE_PAGE, *FLOOR_PAGES.values()):
        assert len(path.read_text(encoding="utf-8").strip().splitlines()) == 1, path
    at = AppTest.from_file(str(FLOOR_PAGES["tiny Plotly page"]), default_timeout=60).run()
    assert not at.exception
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    assert len(spec["data"]) == 1 and spec["data"][0]["x"] == [1, 2, 3]
    at = AppTest.from_file(str(FLOOR_PAGES["small pydeck page"]), default_timeout=60).run()
    assert not at.exception
    maps = at.get("deck_gl_json_chart")
    assert len(maps) == 1
    deck = json.loads(maps[0].proto.json)
    assert len(deck["layers"]) == 1 and len(deck["layers"][0]["data"]) == 3
    at = AppTest.from_file(str(FLOOR_PAGES["tiny Plotly in a collapsed expander"]), default_timeout=60).run()
    assert len(at.expander) == 1 and not at.expander[0].proto.expanded
    assert json.loads(at.expander[0].get("plotly_chart")[0].proto.spec)["data"][0]["x"] == [1, 2, 3]
    at = AppTest.from_file(str(FLOOR_PAGES["tiny Vega-Lite page"]), default_timeout=60).run()
    assert not at.exception and len(at.get("vega_lite_chart")) == 1


def _visit(ready, at, plotly_end=None, plotly_js=0.0, charts=0, kb=4):
    v = {"ready_s": ready, "ready_at_s": at, "finished_at_s": at * 0.5, "last_frame_s": at * 0.5, "ws_bytes": kb * 1024,
         "charts": charts, "exception": False, "chunks": {}, "scripts_s": {}, "drawn_at_s": at if charts else None}
    if plotly_end is not None:
        v["chunks"]["plotly"] = {"start_s": plotly_end - 0.1, "end_s": plotly_end, "transfer_kb": 0, "js_kb": 4605}
        v["scripts_s"] = {"PlotlyChart.D9Z0_fxz.js": plotly_js, "react-dom.x.js": 0.3}
    return v


def _results(floor_ready: float, overview_ready: float) -> dict:
    bare = _visit(1.0, 0.8)
    return {"date": "2026-11-30T15:00", "schools": 24000, "years": 8,
            "machine": {"nproc": 2, "cpu": "x", "ram_gb": 1, "python": "3.11", "duckdb": "1.5", "streamlit": "1.67",
                        "commit": "abc", "load_start": (1.0, 1.0, 1.0), "load_end": (2.0, 2.0, 2.0)},
            "browser": {"tries": 2, "bare": bare, "bare_all": [1.0, 1.1],
                        "floors": {"tiny Plotly page": dict(_visit(floor_ready, floor_ready - 0.4, 1.2, 1.5, 1),
                                                            all=[floor_ready]),
                                   "small pydeck page": dict(_visit(1.4, 1.1), all=[1.4])},
                        "views": {"overview": _visit(overview_ready, overview_ready - 0.4, 1.5, 2.5, 2, kb=77)},
                        "rss_mb": {"VmRSS": 500, "VmHWM": 550}}}


def test_report_puts_the_floor_beside_the_bare_page_with_the_split():
    text = run.render(_results(2.5, 6.0))
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    names = [r.split("|")[1].strip() for r in rows]
    i = names.index("bare page")
    assert names[i + 1:i + 4] == ["*floor:* tiny Plotly page", "*floor:* small pydeck page", "overview"]
    floor = rows[i + 1].split("|")
    assert floor[3].strip() == "2.50" and floor[-2].strip() == "MISSED by 1.7x"
    assert floor[8].strip() == "1.20" and floor[9].strip() == "1.50"  # chunk loaded, chunk JS
    assert "the tiny-Plotly floor page alone is 2.50x the bare page" in text
    assert "Slowest view / bare page = 6.00x" in text


def test_a_floor_more_than_20_percent_worse_is_flagged(tmp_path):
    before = _results(2.5, 6.0)
    before["figures"] = run.flat_figures(before)
    worse, same = _results(3.1, 6.0), _results(2.9, 6.5)
    flagged = run.regressions(run.flat_figures(worse), before)
    assert any(x.startswith("browser tiny Plotly page s: 3.10 against 2.50") for x in flagged), flagged
    assert run.regressions(run.flat_figures(same), before) == []  # 16% and 8% worse: within the noise allowed


def test_a_browser_only_run_carries_the_other_sections_and_says_so(tmp_path):
    prev = tmp_path / "results.json"
    prev.write_text(json.dumps({"date": "2026-11-30T11:58", "machine": {"commit": "475676f"},
                                "pages": [], "families": {"error": "x"}, "build": None}))
    r = _results(2.5, 6.0)
    run.carry_forward(r, prev)
    assert r["carried"] == {"date": "2026-11-30T11:58", "commit": "475676f", "keys": ["build", "pages", "families"]}
    text = run.render(r)
    assert "**Only the browser part was rerun in this run.**" in text and "2026-11-30T11:58 (commit 475676f)" in text
    assert "SYNTHETIC" in text and "Load average (1/5/15 min) at start (1.0, 1.0, 1.0)" in text


def test_the_browser_split_attributes_main_thread_time_to_chunks_until_ready():
    tl = {"readyAt": 3000.0, "chartAt": 2800.0, "drawnAt": 3000.0,
          "longTasks": [[1000.0, 400.0], [2000.0, 600.0], [3500.0, 900.0]],
          "frames": [{"start": 1200.0, "duration": 900.0, "scripts": [["PlotlyChart.D9Z0_fxz.js", "module-script", 1200, 700],
                                                                      ["react-dom.Dz.js", "user-callback", 1900, 100]]},
                     {"start": 2500.0, "duration": 300.0, "scripts": [["PlotlyChart.D9Z0_fxz.js", "resolve-promise", 2500, 250]]},
                     {"start": 3600.0, "duration": 300.0, "scripts": [["PlotlyChart.D9Z0_fxz.js", "user-callback", 3600, 280]]}]}
    res = [{"name": "PlotlyChart.D9Z0_fxz.js", "start": 1100.0, "end": 1180.0, "transfer": 0, "body": 4715877},
           {"name": "index.DormvYxC.js", "start": 10.0, "end": 20.0, "transfer": 300, "body": 9000}]
    s = browser_split(tl, res)
    assert s["chunks"] == {"plotly": {"start_s": 1.1, "end_s": 1.18, "transfer_kb": 0, "js_kb": 4605}}
    assert s["scripts_s"] == {"PlotlyChart.D9Z0_fxz.js": 0.95, "react-dom.Dz.js": 0.1}  # the frame after ready left out
    assert s["long_tasks_s"] == 1.0 and s["chart_at_s"] == 2.8 and s["drawn_at_s"] == 3.0
    assert run.chunk_js_s(s) == 0.95 and set(CHUNKS) >= {"plotly", "deck"}
