"""Reconcile at scale: M movies + S series in the fakes (realistic resource sizes: the fakes build
full MovieResource / SeriesResource objects), reconciled through POST /reconcile to the web app
under gunicorn with ONE worker and POSTERS=false, against its I/O floor measured in the same run
(bench/floor_reconcile.py, paged as the reconcile pages): first import into an empty collection,
then an unchanged library. The gunicorn worker's peak RSS (VmHWM) is read after both.

Then, separately (posters=True), what posters cost: a second web app with POSTERS=true (the
production default) reconciles the same, already imported library, which fetches and stores
every poster (time and bytes per title), then reconciles once more with every poster in place.

    python bench/reconcile_scale.py --movies 100000 --series 10000 [--couch-url URL ...]

(standalone: one server, one run, the figures as JSON; bench/run.py --reconcile-sizes runs it
on both servers into the table.)
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

import requests

from common import (BENCH, RECONCILE_TOKEN, children, drop_dbs, make_settings, median, start_web, vm_kb, say)


def run_floor(ctx, s, mode: str) -> dict:
    cmd = [sys.executable, str(BENCH / "floor_reconcile.py"), "--couch", ctx.server.url,
           "--radarr", ctx.fakes.radarr_url, ctx.fakes.radarr_key, "--sonarr", ctx.fakes.sonarr_url, ctx.fakes.sonarr_key,
           "--movies-db", s.movies_db, "--series-db", s.series_db, "--mode", mode]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUCHDB_")}
    if ctx.server.auth:  # by environment, not argv (ps shows argv)
        env["COUCHDB_USER"], env["COUCHDB_PASSWORD"] = ctx.server.auth
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, env=env)
    if out.returncode:
        raise RuntimeError(f"floor_reconcile failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def post_reconcile(url: str) -> tuple[float, dict, int]:
    t0 = time.perf_counter()
    resp = requests.post(f"{url}/reconcile", headers={"Authorization": f"Bearer {RECONCILE_TOKEN}"}, timeout=3600)
    wall = time.perf_counter() - t0
    try:
        body = resp.json()
    except ValueError:
        body = {"raw": resp.text[:500]}
    return wall, body, resp.status_code


def unchanged_beside_floor(ctx, s, url: str, repeats: int, floor_first: bool,
                           what: str) -> list[tuple[float, dict, float]]:
    """`repeats` reconciles of an unchanged library at `url`, each beside a floor run, which goes
    first alternating (pouchdb-server's GC swings single readings by ±30 %): [(reconcile wall s,
    its answer, floor s)]. Raises RuntimeError when a reconcile does not answer 200."""
    runs = []
    for i in range(repeats):
        if floor_first == (i % 2 == 0):
            floor = run_floor(ctx, s, "unchanged")
            wall, res, code = post_reconcile(url)
        else:
            wall, res, code = post_reconcile(url)
            floor = run_floor(ctx, s, "unchanged")
        if code != 200:
            raise RuntimeError(f"POST /reconcile ({what}) answered {code}: {json.dumps(res)[:500]}")
        runs.append((wall, res, floor["seconds"]))
    return runs


def poster_bytes(url: str) -> float:
    """sidecar_poster_bytes summed over kinds, from the web app's /metrics (one gunicorn worker)."""
    text = requests.get(f"{url}/metrics", timeout=30).text
    return sum(float(m.group(1)) for m in re.finditer(r'^sidecar_poster_bytes\{[^}]*\} (\S+)$', text, re.M))


def one_worker(web) -> int:
    kids = children(web.pid)
    if len(kids) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {kids}")
    return kids[0]


def reconcile_scale(ctx, movies: int, series: int, floor_first: bool = True, repeats: int = 3,
                    posters: bool = True) -> dict:
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
    web = web2 = None
    out: dict = {"titles": movies + series}
    try:
        web, url = start_web(s, ctx.logdir, ctx.sidecar_root, workers=1, POSTERS="false")
        wpid = one_worker(web)
        rss_idle_kb = vm_kb(wpid, "VmRSS")

        # the floor's import: listing, then _bulk_docs of 500 into an empty collection
        if floor_first:
            floor_import = run_floor(ctx, scratch, "import")
            wall_import, res_import, code_import = post_reconcile(url)
        else:
            wall_import, res_import, code_import = post_reconcile(url)
            floor_import = run_floor(ctx, scratch, "import")
        drop_dbs(ctx.server, scratch)
        if code_import != 200:
            raise RuntimeError(f"POST /reconcile (import) answered {code_import}: {json.dumps(res_import)[:500]}\n{web.tail()}")
        if children(web.pid) != [wpid]:
            raise RuntimeError(f"the gunicorn worker was replaced during the import (timeout?)\n{web.tail()}")
        hwm_import_kb = vm_kb(wpid)

        # the unchanged case: `repeats` interleaved pairs; the run's figure is the median of their
        # ratios (pouchdb-server's GC swings single readings by ±30 %)
        runs = unchanged_beside_floor(ctx, s, url, repeats, floor_first, "unchanged")
        unchanged_written = max(written(res) for _, res, _ in runs)
        pairs = [(wall, floor_s, res.get("duration") or 0.0) for wall, res, floor_s in runs]
        hwm_kb = vm_kb(wpid)
        web.stop()
        web = None
        out.update({
            "import_s": wall_import, "import_duration_s": res_import.get("duration"),
            "floor_import_s": floor_import["seconds"], "floor_import_phases": floor_import["phases"],
            "import_ratio": wall_import / floor_import["seconds"],
            "import_written": written(res_import),
            "import_result": {k: res_import.get(k) for k in ("added", "updated", "removed", "unchanged")},
            "unchanged_s": median([p[0] for p in pairs]), "unchanged_duration_s": median([p[2] for p in pairs]),
            "floor_unchanged_s": median([p[1] for p in pairs]),
            "unchanged_ratio": median([p[0] / p[1] for p in pairs]), "unchanged_pairs": pairs,
            "unchanged_written": unchanged_written,
            "web_rss_idle_mb": rss_idle_kb / 1024, "web_hwm_import_mb": hwm_import_kb / 1024,
            "web_hwm_mb": hwm_kb / 1024,
        })

        if posters:
            # posters on (the default): every poster is fetched and stored once, then nothing
            web2, url2 = start_web(s, ctx.logdir, ctx.sidecar_root, workers=1, POSTERS="true")
            wpid2 = one_worker(web2)
            wall_p, res_p, code_p = post_reconcile(url2)
            if code_p != 200:
                raise RuntimeError(f"POST /reconcile (posters) answered {code_p}: {json.dumps(res_p)[:500]}")
            stored = (res_p.get("posters") or {}).get("stored", 0)
            nbytes = poster_bytes(url2)
            # unchanged with every poster in place, against the floor: pairs as above
            runs_p = unchanged_beside_floor(ctx, s, url2, repeats, floor_first, "unchanged, posters")
            pairs_p = [(wall, floor_s) for wall, _, floor_s in runs_p]
            out.update({
                "posters_s": wall_p, "posters_stored": stored, "poster_bytes": nbytes,
                "posters_result": res_p.get("posters"),
                # the posters' own time: that reconcile minus an unchanged one (same library)
                "poster_ms_per_title": (wall_p - out["unchanged_s"]) / max(stored, 1) * 1000,
                "poster_bytes_per_title": nbytes / max(stored, 1),
                "posters_unchanged_s": median([p[0] for p in pairs_p]), "posters_unchanged_result": runs_p[-1][1].get("posters"),
                "posters_unchanged_floor_s": median([p[1] for p in pairs_p]),
                "posters_unchanged_ratio": median([p[0] / p[1] for p in pairs_p]), "posters_unchanged_pairs": pairs_p,
                "web_hwm_posters_mb": vm_kb(wpid2) / 1024,
            })
    finally:
        for w in (web, web2):
            if w is not None:
                w.stop()
        for db in (s, scratch):
            drop_dbs(ctx.server, db)
    return out


def main(argv=None) -> int:
    """One server, one run: the figures as JSON on stdout."""
    import tempfile
    from pathlib import Path

    from common import ROOT, CouchServer, ExternalCouch, FakeHost

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--movies", type=int, default=10_000)
    p.add_argument("--series", type=int, default=2_000)
    p.add_argument("--repeats", type=int, default=3, help="unchanged pairs")
    p.add_argument("--no-posters", action="store_true", help="skip the posters figures")
    p.add_argument("--couch-url", default=os.environ.get("COUCHDB_URL"), help="default: a local pouchdb-server")
    p.add_argument("--couch-user", default=os.environ.get("COUCHDB_USER"))
    p.add_argument("--couch-password", default=os.environ.get("COUCHDB_PASSWORD"))
    args = p.parse_args(argv)
    server = (ExternalCouch(args.couch_url, args.couch_user, args.couch_password) if args.couch_url
              else CouchServer(in_memory=True))
    fakes = FakeHost()

    class Ctx:
        pass

    ctx = Ctx()
    ctx.server, ctx.fakes, ctx.logdir, ctx.sidecar_root = server, fakes, Path(tempfile.mkdtemp(prefix="bench-logs-")), ROOT
    try:
        print(json.dumps(reconcile_scale(ctx, args.movies, args.series, repeats=args.repeats,
                                         posters=not args.no_posters), indent=2))
    finally:
        fakes.stop()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))
    sys.exit(main())
