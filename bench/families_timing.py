"""Time families for every school at once (equity.analysis.families.all_families).

    python bench/families_timing.py [--db DB] [--repeat 5] [--json OUT.json]

Prints one JSON object:
* ``real``: the bundled database's default pool (KS4 2023/24, all of England): ``cold`` = reading the
  context, standardising and finding every family (caches cleared), ``families`` = the k-d tree and
  radius filter alone on a ready context space (what a slider change costs), best of ``--repeat``.
* ``synthetic``: the same nearest-neighbour step on SYNTHETIC schools (random context, random places
  in England's bounding box) at 5,000 and 20,000 schools, to show the scaling. Synthetic data is used
  for timing only, never shown.
Target: at most 1 s for about 5,000 secondary schools.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from equity.analysis import families as F  # noqa: E402


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _clear() -> None:
    for f in (F._context_cached, F._years_cached, F._space_cached, F._families_cached):
        f.cache_clear()


def real(db, repeat: int) -> dict:
    def cold():
        _clear()
        return F.all_families(path=db)

    t_cold = _best(cold, repeat)
    fams = cold()
    sp = F.space(path=db)
    s = sp.schools
    args = (sp.X, s.lat.to_numpy(float), s.lon.to_numpy(float), s.la_code.fillna("").to_numpy(object),
            s.urn.to_numpy(np.int64), F.DEFAULT_SIZE, F.DEFAULT_RADIUS_KM)
    t_fam = _best(lambda: F._nearest(*args), repeat)
    wide = _best(lambda: F._nearest(*args[:-1], 20.0), repeat)
    return {"schools": int(len(s)), "links": int(len(fams)), "cold_s": round(t_cold, 3),
            "families_s": round(t_fam, 3), "families_radius_20km_s": round(wide, 3)}


def synthetic(n: int, repeat: int, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * np.sqrt([0.33, 0.33, 0.17, 0.17])
    lat = rng.uniform(50.2, 55.6, n)
    lon = rng.uniform(-5.5, 1.7, n)
    la = rng.integers(0, 150, n).astype(str).astype(object)
    urns = np.arange(100000, 100000 + n)
    t = _best(lambda: F._nearest(X, lat, lon, la, urns, F.DEFAULT_SIZE, F.DEFAULT_RADIUS_KM), repeat)
    return {"schools": n, "families_s": round(t, 3)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="database (default $EQUITY_DB or data/equity.duckdb)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", help="also write the result here")
    a = ap.parse_args()
    out = {"real": real(a.db, a.repeat), "synthetic": [synthetic(n, a.repeat) for n in (5000, 20000)],
           "target_s_for_5000": 1.0}
    text = json.dumps(out, indent=2)
    print(text)
    if a.json:
        Path(a.json).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
