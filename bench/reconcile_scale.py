"""Reconcile at scale: M movies + S series in the fakes (realistic resource sizes: the fakes build
full MovieResource / SeriesResource objects), reconciled through POST /reconcile to the web app
under gunicorn with ONE worker, against its I/O floor measured in the same run
(bench/floor_reconcile.py): first import into an empty collection, then an unchanged library.
The gunicorn worker's peak RSS (VmHWM) is read after both.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import requests

from common import (BENCH, RECONCILE_TOKEN, children, drop_dbs, make_settings, median, start_web, vm_kb, say)


def run_floor(ctx, s, mode: str, batch: int = 0) -> dict:
    cmd = [sys.executable, str(BENCH / "floor_reconcile.py"), "--couch", ctx.server.url,
           "--radarr", ctx.fakes.radarr_url, ctx.fakes.radarr_key, "--sonarr", ctx.fakes.sonarr_url, ctx.fakes.sonarr_key,
           "--movies-db", s.movies_db, "--series-db", s.series_db, "--mode", mode, "--batch", str(batch)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUCHDB_")}
    if ctx.server.auth:  # by environment, not argv (ps shows argv)
        env["COUCHDB_USER"], env["COUCHDB_PASSWORD"] = ctx.server.auth
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    if out.returncode:
        raise RuntimeError(f"floor_reconcile failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def post_reconcile(url: str) -> tuple[float, dict, int]:
    t0 = time.perf_counter()
    resp = requests.post(f"{url}/reconcile", headers={"Authorization": f"Bearer {RECONCILE_TOKEN}"}, timeout=900)
    wall = time.perf_counter() - t0
    try:
        body = resp.json()
    except ValueError:
        body = {"raw": resp.text[:500]}
    return wall, body, resp.status_code


def reconcile_scale(ctx, movies: int, series: int, floor_first: bool = True, repeats: int = 3) -> dict:
    """One run. floor_first alternates between runs, so that neither side always meets the
    server warmer (pouchdb-server's JIT and GC settle over the first big writes)."""
    ctx.fakes.reset()
    seeded = [ctx.fakes.add_many("radarr", movies, has_file_every=3),
              ctx.fakes.add_many("sonarr", series, has_file_every=3)]
    say(f"  seeded {movies} movies + {series} series in the fakes "
        f"({seeded[0]['seconds']:.1f} s + {seeded[1]['seconds']:.1f} s)")

    def written(r: dict) -> int:
        return int(r.get("added", 0)) + int(r.get("updated", 0)) + int(r.get("removed", 0))

    s = make_settings(ctx.server, ctx.fakes, "rec")
    scratch = make_settings(ctx.server, ctx.fakes, "floor")
    scratch2 = make_settings(ctx.server, ctx.fakes, "floorb")
    web = None
    try:
        web, url = start_web(s, ctx.logdir, ctx.sidecar_root, workers=1)
        kids = children(web.pid)
        if len(kids) != 1:
            raise RuntimeError(f"expected one gunicorn worker, found {kids}")
        wpid = kids[0]
        rss_idle_kb = vm_kb(wpid, "VmRSS")

        # the floor's import both ways: one _bulk_docs per kind (as specified) and batches of
        # 500; the faster of the two is the floor (the stricter comparison)
        if floor_first:
            floor_one = run_floor(ctx, scratch, "import")
            floor_batched = run_floor(ctx, scratch2, "import", batch=500)
            wall_import, res_import, code_import = post_reconcile(url)
        else:
            wall_import, res_import, code_import = post_reconcile(url)
            floor_batched = run_floor(ctx, scratch2, "import", batch=500)
            floor_one = run_floor(ctx, scratch, "import")
        floor_import = min(floor_one, floor_batched, key=lambda f: f["seconds"])
        if code_import != 200:
            raise RuntimeError(f"POST /reconcile (import) answered {code_import}: {json.dumps(res_import)[:500]}\n{web.tail()}")
        if children(web.pid) != [wpid]:
            raise RuntimeError(f"the gunicorn worker was replaced during the import (timeout?)\n{web.tail()}")
        hwm_import_kb = vm_kb(wpid)

        # the unchanged case is cheap: `repeats` interleaved pairs; the run's figure is the
        # median of their ratios (pouchdb-server's GC swings single readings by ±30 %)
        pairs, unchanged_written = [], 0
        for i in range(repeats):
            if floor_first == (i % 2 == 0):
                fl = run_floor(ctx, s, "unchanged")
                wall, res, code = post_reconcile(url)
            else:
                wall, res, code = post_reconcile(url)
                fl = run_floor(ctx, s, "unchanged")
            if code != 200:
                raise RuntimeError(f"POST /reconcile (unchanged) answered {code}: {json.dumps(res)[:500]}")
            unchanged_written = max(unchanged_written, written(res))
            pairs.append((wall, fl["seconds"], res.get("duration") or 0.0))
        hwm_kb = vm_kb(wpid)
    finally:
        if web is not None:
            web.stop()
        for db in (s, scratch, scratch2):
            drop_dbs(ctx.server, db)

    return {
        "titles": movies + series,
        "import_s": wall_import, "import_duration_s": res_import.get("duration"),
        "floor_import_s": floor_import["seconds"], "floor_import_phases": floor_import["phases"],
        "floor_import_one_bulk_s": floor_one["seconds"], "floor_import_batched_s": floor_batched["seconds"],
        "import_ratio": wall_import / floor_import["seconds"],
        "import_written": written(res_import),
        "import_result": {k: res_import.get(k) for k in ("added", "updated", "removed", "unchanged")},
        "unchanged_s": median([p[0] for p in pairs]), "unchanged_duration_s": median([p[2] for p in pairs]),
        "floor_unchanged_s": median([p[1] for p in pairs]),
        "unchanged_ratio": median([p[0] / p[1] for p in pairs]), "unchanged_pairs": pairs,
        "unchanged_written": unchanged_written,
        "web_rss_idle_mb": rss_idle_kb / 1024, "web_hwm_import_mb": hwm_import_kb / 1024, "web_hwm_mb": hwm_kb / 1024,
    }
