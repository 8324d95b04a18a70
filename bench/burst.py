"""Burst: N buffer items written in one _bulk_docs while fake Radarr takes `delay` seconds per
API request; drain time = from the acknowledged write to the last buffer doc deleted (every
item added, in the collection, and gone from the buffer). Also the worker's CPU (user+sys from
/proc) per moved item and its peak RSS (VmHWM), the CPU of every other process and the CouchDB
requests served meanwhile (pouchdb-server's log), and optionally a py-spy profile of the worker.

The same run measures the Radarr floor: a minimal client doing only N POST /api/v3/movie with
the same concurrency against the same slowed fake (what any design must wait for).
POSTERS=false unless ctx.posters (the worker fetches each moved title's poster in the background;
the fake would answer each of those after the same delay as an add).
"""
from __future__ import annotations

import concurrent.futures as cf
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from common import (cpu_seconds, drop_dbs, follow, make_settings, movie_request, posters_env, start_worker, vm_kb,
                    say)


def py_spy() -> str:
    """py-spy from the venv (pip install py-spy), else from PATH."""
    here = Path(sys.executable).parent / "py-spy"
    found = str(here) if here.exists() else shutil.which("py-spy")
    if not found:
        raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
    return found


def arr_floor(ctx, items: int, delay: float, concurrency: int, start_id: int, with_get: bool = False) -> float:
    """Seconds for `items` adds against the fake at `concurrency` (POST only, or GET+POST)."""
    ctx.fakes.set("radarr", "delay", delay)
    local = threading.local()

    def session() -> requests.Session:
        if getattr(local, "s", None) is None:
            local.s = requests.Session()
            local.s.headers["X-Api-Key"] = ctx.fakes.radarr_key
        return local.s

    def add(tmdb_id: int) -> int:
        s = session()
        if with_get:
            s.get(f"{ctx.fakes.radarr_url}/api/v3/movie", params={"tmdbId": tmdb_id}, timeout=30)
        body = {"tmdbId": tmdb_id, "title": f"Movie {tmdb_id}", "qualityProfileId": 1, "rootFolderPath": "/movies",
                "minimumAvailability": "released", "monitored": True, "tags": [],
                "addOptions": {"searchForMovie": True, "monitor": "movieOnly", "addMethod": "manual"}}
        return s.post(f"{ctx.fakes.radarr_url}/api/v3/movie", json=body, timeout=30).status_code

    try:
        with cf.ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(add, range(start_id, start_id + concurrency)))  # connections up, untimed
            t0 = time.perf_counter()
            codes = list(pool.map(add, range(start_id + concurrency, start_id + concurrency + items)))
            elapsed = time.perf_counter() - t0
    finally:
        ctx.fakes.set("radarr", "delay", 0.0)
    if any(c != 201 for c in codes):
        say(f"floor: unexpected statuses {sorted(set(codes))}")
    return elapsed


def _other_cpu(ctx) -> dict:
    """CPU-seconds so far of the server (None when it cannot be read: an external server without
    --server-pid), the fakes and this process."""
    return {"couch": ctx.server.cpu_seconds(), "fakes": ctx.fakes.cpu_seconds(),
            "bench": sum(os.times()[:2])}


def _delta(a, b):
    return None if a is None or b is None else b - a


def burst(ctx, items: int, delay: float, concurrency: int, profile_to: Path | None = None,
          worker_env: dict | None = None) -> dict:
    s = make_settings(ctx.server, ctx.fakes, "burst")
    ctx.fakes.reset()
    worker = start_worker(s, ctx.logdir, ctx.sidecar_root, ARR_CONCURRENCY=concurrency,
                          **{**posters_env(ctx), **(worker_env or {})})
    buffer = ctx.server.couch.db(s.movies_buffer_db)
    spy = None
    try:
        # warm-up item (fake at full speed): the worker is up, its feed and connections open
        gone = follow(ctx.server, s.movies_buffer_db, deletions=True)
        buffer.put(movie_request(999_999))
        if gone.wait_for("tmdb:999999", 60) is None:
            raise RuntimeError(f"worker did not move the warm-up item:\n{worker.tail()}")
        gone.close()
        time.sleep(1.0)
        ctx.fakes.clear_log("radarr")
        ctx.fakes.set("radarr", "delay", delay)
        coll = follow(ctx.server, s.movies_db)
        gone = follow(ctx.server, s.movies_buffer_db, deletions=True)
        docs = [movie_request(10_000 + i) for i in range(items)]
        if profile_to is not None:
            spy = subprocess.Popen([py_spy(), "record", "-p", str(worker.pid), "-o", str(profile_to), "-r", "200",
                                    "--format", "raw", "--idle", "--threads", "--nonblocking"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        others0, mark0, qs0 = _other_cpu(ctx), ctx.server.request_mark(), ctx.server.query_server_mark()
        cpu0, t0 = cpu_seconds(worker.pid), time.perf_counter()
        results = buffer.bulk_docs(docs)
        t_written, wall_written = time.perf_counter(), time.time()
        if any("error" in r for r in results.values()):
            raise RuntimeError("the burst's _bulk_docs was refused in part")
        floor = items * delay / concurrency
        if not gone.wait_count(items, timeout=max(60, floor * 6)):
            raise RuntimeError(f"burst did not drain: {len(gone.seen)}/{items} moved\n{worker.tail()}")
        cpu1 = cpu_seconds(worker.pid)
        others1 = _other_cpu(ctx)
        query_server = ctx.server.query_server_since(qs0)
        couch_reqs = ctx.server.requests_since(mark0, {s.movies_buffer_db: "buffer", s.movies_db: "collection",
                                                       s.series_buffer_db: "other", s.series_db: "other",
                                                       s.sidecar_db: "sidecar", s.lookups_db: "lookups"})
        # with an external server's log, couch_requests are this run's databases only: the node-wide
        # counter (every client of the node) goes beside them
        node_reqs = (ctx.server.node_requests_since(mark0)
                     if getattr(ctx.server, "log_path", None) is not None else None)
        # the drain starts when the bulk write is acknowledged: from then on every item is in the
        # buffer and the rest is the worker's (the write itself is reported as write_s)
        drained = max(gone.seen.values()) - t_written
        in_collection = max(coll.seen.values()) - t_written if coll.wait_count(items, 5) else float("nan")
        hwm_kb = vm_kb(worker.pid)
        stats = ctx.fakes.stats("radarr")
        coll.close()
        gone.close()
    finally:
        ctx.fakes.set("radarr", "delay", 0.0)
        if spy is not None:
            spy.send_signal(2)
            try:
                spy.wait(30)
            except subprocess.TimeoutExpired:
                spy.kill()
        worker.stop()
        drop_dbs(ctx.server, s)
    reqs = stats["requests"]
    return {
        "items": items, "drain_s": drained,
        # from the acknowledged write to the first / last POST reaching Radarr
        "first_post_s": (stats["first_post"] or wall_written) - wall_written,
        "last_post_s": (stats["last_post"] or wall_written) - wall_written,
        "collection_s": in_collection, "write_s": t_written - t0,
        "cpu_ms_per_item": (cpu1 - cpu0) / items * 1000, "worker_hwm_mb": hwm_kb / 1024,
        "radarr_get": reqs.get("GET /api/v3/movie", 0), "radarr_post": reqs.get("POST /api/v3/movie", 0),
        "radarr_requests": sum(reqs.values()),
        # CPU seconds each process used while the burst drained (2 cores = 2 CPU-s per second)
        # (cpu_s["couch"] is None when the server's CPU cannot be read: ctx.server.cpu_note says why)
        "cpu_s": {"worker": cpu1 - cpu0, **{k: _delta(others0[k], others1[k]) for k in others0}},
        # what the server served while the burst drained (the followers' two feeds included); None
        # when it cannot be read (ctx.server.requests_note says why, or what was counted)
        "couch_requests": couch_reqs,
        "couch_requests_total": None if couch_reqs is None else sum(couch_reqs.values()),
        **({"couch_requests_node_wide": node_reqs} if node_reqs is not None else {}),
        # CouchDB 3 only: calls to couchjs (validate_doc_update, process resets...) while it drained, node-wide
        "query_server": query_server,
    }


def summarize_profile(path: Path) -> dict[str, dict[str, float]]:
    """Share of py-spy samples (`--format raw --idle --threads`) per activity, for the Radarr
    call threads and for the movies pillow thread (the one that claims and records)."""
    groups: dict[str, dict[str, int]] = {"arr call threads": {}, "movies pillow thread": {}}

    def add(group: str, what: str, n: int) -> None:
        groups[group][what] = groups[group].get(what, 0) + n

    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n, frames = int(count), stack.split(";")
        name = frames[0].split(": ", 1)[-1]
        if name.startswith("arr-movie"):
            if any("_call (sidecar/arr.py" in f for f in frames):
                add("arr call threads", "in a Radarr request (incl. the 50 ms)", n)
            elif frames[-1].startswith("_worker (concurrent/futures/thread.py"):
                add("arr call threads", "idle: nothing queued for it", n)
            else:
                add("arr call threads", "Python: results, logs, metrics", n)
        elif name.startswith("pillow-") and name.endswith("movies_buffer"):
            text = stack
            if "Queue.get (queue.py" in text and "BufferPillow.run" in text and "process" not in text:
                what = "idle: waiting for the feed"
            elif "due_docs" in text:
                what = "scan: view queries (due_docs)"
            elif "_claim" in text:
                what = "claim requests"
            elif "_finish" in text or "_move" in text or "_record_failures" in text:
                what = "recording results (collection write, buffer delete)"
            elif "Checkpoint" in text:
                what = "checkpoint"
            elif "wait (concurrent/futures/_base.py" in text:
                what = "waiting for adds to finish"
            else:
                what = "other Python"
            add("movies pillow thread", what, n)
    out = {}
    for group, cats in groups.items():
        total = sum(cats.values()) or 1
        out[group] = {k: round(100 * v / total, 1) for k, v in sorted(cats.items(), key=lambda kv: -kv[1])}
    return out
