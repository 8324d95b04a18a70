#!/usr/bin/env python3
"""Lookups (title search through CouchDB): lookup doc written → answer visible, against the
Radarr lookup's own time.

Goal: at p50 the answer is visible at most 50 ms after what the Radarr lookup itself takes
(fake Radarr answering every request after --delay, 100 ms by default).

    .venv/bin/python bench/lookups.py                    # local pouchdb-server in memory
    .venv/bin/python bench/lookups.py --items 200 --delay 0.1
    COUCHDB_URL=http://127.0.0.1:5984 COUCHDB_USER=admin COUCHDB_PASSWORD=... .venv/bin/python bench/lookups.py

What runs: its own pouchdb-server (or the CouchDB named by COUCHDB_URL / --couch-url, in fresh
uniquely named databases deleted afterwards), the fake Radarr/Sonarr in a child process
(bench/fakehost.py, TCP_NODELAY as Kestrel), and `--workers` real `python -m sidecar worker`
processes. Everything over loopback.

- floor: the Radarr lookup's own time, `GET /api/v3/movie/lookup?term=` from this process
  (same fake, same delay, a kept-alive connection as the worker has), taken right before each
  lookup doc so that both see the same machine load: what no answer can beat.
- latency: closed loop, one lookup at a time: t0 just before the PUT of the lookup doc, t1 when a
  follower of the lookups db's `_changes` (include_docs) sees it `answered`; a `--gap` pause, next.
  (Also printed: from the PUT's answer to t1, i.e. without the frontend's own write.)
- extra = latency p50 - floor p50 (goal ≤ 50 ms); ratio = latency p50 / floor p50.
- burst: `--burst` lookups in one _bulk_docs; time until all are answered, against the floor
  (one worker answers up to min(ARR_CONCURRENCY, 8) at once).
- Radarr lookups per lookup doc (1.00 = each answered once, even with several workers).

Exit status 0 when the goal is met, 1 when not, 2 when the run failed.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (ROOT, CouchServer, ExternalCouch, FakeHost, pct, say, start_worker)  # noqa: E402

from sidecar.collection import now_iso  # noqa: E402
from sidecar.config import ArrInstance, Settings  # noqa: E402
from sidecar.design import push_all  # noqa: E402

GOAL_EXTRA_MS = 50.0
TERMS = ["matrix", "fight club", "inception", "interstellar", "pulp", "tmdb:603", "imdb:tt0137523", "tmdb:27205"]


class AnswerFollower(threading.Thread):
    """Follows the lookups db's continuous _changes (include_docs) from its current seq and
    records per doc id the perf_counter() at which it was first seen answered or failed."""

    def __init__(self, url: str, db: str, auth):
        super().__init__(name=f"follow-{db}", daemon=True)
        self.url, self.db = url.rstrip("/"), db
        self.session = requests.Session()
        self.session.auth = auth
        self.since = self.session.get(f"{self.url}/{db}", timeout=10).json()["update_seq"]
        self.seen: dict[str, float] = {}
        self.cond = threading.Condition()
        self.ready = threading.Event()
        self.stop_event = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            with self.session.get(f"{self.url}/{self.db}/_changes",
                                  params={"feed": "continuous", "since": self.since, "heartbeat": 500,
                                          "include_docs": "true"},
                                  headers={"Accept-Encoding": "identity"}, stream=True, timeout=(5, 30)) as resp:
                resp.raise_for_status()
                self.ready.set()
                buf = b""
                for chunk in resp.iter_content(chunk_size=None):
                    now = time.perf_counter()
                    if self.stop_event.is_set():
                        return
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    fresh = False
                    for line in lines:
                        if not line.strip():
                            continue
                        change = json.loads(line)
                        doc = change.get("doc") or {}
                        if doc.get("state") in ("answered", "failed") and change["id"] not in self.seen:
                            self.seen[change["id"]] = now
                            fresh = True
                    if fresh:
                        with self.cond:
                            self.cond.notify_all()
        except Exception as exc:
            if not self.stop_event.is_set():
                self.error = exc
            self.ready.set()
            with self.cond:
                self.cond.notify_all()

    def wait_for(self, ids: list[str], timeout: float) -> float | None:
        """perf_counter() when the last of ids was seen answered, or None after timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not all(i in self.seen for i in ids):
                if self.error:
                    raise RuntimeError(f"follower of {self.db} failed: {self.error}")
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
        return max(self.seen[i] for i in ids)

    def close(self) -> None:
        self.stop_event.set()
        self.session.close()


def lookup_doc(term: str) -> dict:
    return {"_id": f"lookup:{uuid.uuid4()}", "type": "lookup", "kind": "movie", "term": term,
            "requested_at": now_iso(), "requested_by": "bench"}


class Floor:
    """The Radarr lookup's own time, as the worker's client sees it (a kept-alive connection)."""

    def __init__(self, fakes: FakeHost):
        self.url = f"{fakes.radarr_url}/api/v3/movie/lookup"
        self.session = requests.Session()
        self.session.headers["X-Api-Key"] = fakes.radarr_key

    def once(self, term: str) -> float:
        t0 = time.perf_counter()
        r = self.session.get(self.url, params={"term": term}, timeout=10)
        r.raise_for_status()
        r.json()
        return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=100, help="lookups in the closed loop (default 100)")
    ap.add_argument("--delay", type=float, default=0.1, help="fake Radarr's delay per request, s (default 0.1)")
    ap.add_argument("--gap", type=float, default=0.05, help="pause between two lookups, s (default 0.05)")
    ap.add_argument("--burst", type=int, default=16, help="lookups written at once for the burst figure (0: skip)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2: claims race)")
    ap.add_argument("--couch-url", default=os.environ.get("COUCHDB_URL"))
    ap.add_argument("--couch-user", default=os.environ.get("COUCHDB_USER"))
    ap.add_argument("--couch-password", default=os.environ.get("COUCHDB_PASSWORD"))
    ap.add_argument("--json", action="store_true", help="print the summary as JSON only")
    args = ap.parse_args()

    server = ExternalCouch(args.couch_url, args.couch_user, args.couch_password) if args.couch_url else CouchServer()
    fakes = FakeHost()
    logdir = Path(tempfile.mkdtemp(prefix="bench-lookups-"))
    prefix = f"bench_lk_{uuid.uuid4().hex[:6]}"
    user, password = server.auth or (None, None)
    s = Settings(
        couchdb_url=server.url, couchdb_user=user, couchdb_password=password,
        movies_buffer_db=f"{prefix}_movies_buffer", movies_db=f"{prefix}_movies",
        series_buffer_db=f"{prefix}_series_buffer", series_db=f"{prefix}_series",
        sidecar_db=f"{prefix}_sidecar", lookups_db=f"{prefix}_lookups",
        radarr=(ArrInstance("radarr", "default", fakes.radarr_url, fakes.radarr_key, 1, "/movies"),),
        sonarr=(ArrInstance("sonarr", "default", fakes.sonarr_url, fakes.sonarr_key, 1, "/tv"),),
        worker_id=f"bench-{prefix}",
    )
    dbs = [s.movies_buffer_db, s.movies_db, s.series_buffer_db, s.series_db, s.sidecar_db, s.lookups_db]
    server.track(dbs)
    workers, follower = [], None
    try:
        push_all(s)
        fakes.set("radarr", "delay", args.delay)
        say(f"server: {server.label}; fake Radarr delay {args.delay * 1000:.0f} ms; {args.workers} worker(s)")
        floor_probe, floor = Floor(fakes), []
        for i in range(5):
            floor_probe.once(TERMS[i])  # connect
        for i in range(args.workers):
            workers.append(start_worker(dataclasses.replace(s, worker_id=f"{s.worker_id}-{i}"), logdir, ROOT))
        follower = AnswerFollower(server.url, s.lookups_db, server.auth)
        follower.start()
        follower.ready.wait(10)
        db = server.couch.db(s.lookups_db)
        for i in range(5):  # warm-up: the first waits for the workers to start
            doc = lookup_doc(TERMS[i % len(TERMS)])
            db.put(doc)
            if follower.wait_for([doc["_id"]], 60) is None:
                raise RuntimeError("no answer to a warm-up lookup:\n" + "\n".join(w.tail() for w in workers))
        time.sleep(0.5)
        fakes.clear_log("radarr")

        lat, after_put, timeouts = [], [], 0
        for i in range(args.items):
            # the floor is taken right before each lookup doc, so both see the same machine load
            floor.append(floor_probe.once(TERMS[i % len(TERMS)]))
            time.sleep(args.gap / 2)
            doc = lookup_doc(TERMS[i % len(TERMS)])
            t0 = time.perf_counter()
            db.put(doc)
            t_put = time.perf_counter()
            t1 = follower.wait_for([doc["_id"]], 10)
            if t1 is None:
                timeouts += 1
            else:
                lat.append(t1 - t0)
                after_put.append(t1 - t_put)
            time.sleep(args.gap)

        burst_s = None
        if args.burst:
            time.sleep(0.5)
            docs = [lookup_doc(TERMS[i % len(TERMS)]) for i in range(args.burst)]
            t0 = time.perf_counter()
            db.bulk_docs(docs)
            t1 = follower.wait_for([d["_id"] for d in docs], 60)
            burst_s = None if t1 is None else t1 - t0

        time.sleep(0.5)  # a second answer to any lookup would have asked Radarr again by now
        asked = fakes.stats("radarr")["requests"].get("GET /api/v3/movie/lookup", 0) - len(floor)
        written = args.items + args.burst
        f50, f99 = pct(floor, 50) * 1000, pct(floor, 99) * 1000
        l50, l99 = pct(lat, 50) * 1000, pct(lat, 99) * 1000
        summary = {
            "server": server.label, "workers": args.workers, "delay_ms": args.delay * 1000, "items": args.items,
            "timeouts": timeouts,
            "floor_p50_ms": round(f50, 1), "floor_p99_ms": round(f99, 1),
            "latency_p50_ms": round(l50, 1), "latency_p90_ms": round(pct(lat, 90) * 1000, 1),
            "latency_p99_ms": round(l99, 1), "latency_max_ms": round(max(lat) * 1000, 1) if lat else None,
            "after_put_p50_ms": round(pct(after_put, 50) * 1000, 1),
            "extra_p50_ms": round(l50 - f50, 1), "extra_p99_ms": round(l99 - f99, 1),
            "ratio_p50": round(l50 / f50, 3), "ratio_p99": round(l99 / f99, 3),
            "burst": args.burst, "burst_s": None if burst_s is None else round(burst_s, 3),
            "burst_vs_serial": None if burst_s is None else round(burst_s / (args.burst * f50 / 1000), 3),
            "radarr_lookups_per_doc": round(asked / written, 3),
            "goal_extra_p50_ms": GOAL_EXTRA_MS,
            "loadavg_1min": round(os.getloadavg()[0], 1), "cpus": os.cpu_count(),
        }
        met = timeouts == 0 and summary["extra_p50_ms"] <= GOAL_EXTRA_MS and asked == written
        summary["goal_met"] = met
        if args.json:
            print(json.dumps(summary))
        else:
            print(f"server            {summary['server']}, {args.workers} worker process(es); machine load "
                  f"{summary['loadavg_1min']} on {summary['cpus']} CPUs")
            print(f"Radarr lookup     p50 {f50:.1f} ms, p99 {f99:.1f} ms (fake delay {args.delay * 1000:.0f} ms: "
                  f"the floor)")
            print(f"written → answer  p50 {l50:.1f} ms, p90 {summary['latency_p90_ms']:.1f} ms, p99 {l99:.1f} ms "
                  f"({len(lat)} lookups, {timeouts} timeouts; from the PUT's answer: p50 "
                  f"{summary['after_put_p50_ms']:.1f} ms)")
            print(f"extra over floor  p50 {l50 - f50:+.1f} ms (goal ≤ {GOAL_EXTRA_MS:.0f} ms), "
                  f"p99 {l99 - f99:+.1f} ms; ratio p50 {l50 / f50:.2f}×, p99 {l99 / f99:.2f}×")
            if burst_s is not None:
                print(f"burst             {args.burst} lookups at once answered in {burst_s * 1000:.0f} ms "
                      f"({summary['burst_vs_serial']:.2f}× one after another)")
            print(f"Radarr asked      {asked} times for {written} lookups ({asked / written:.2f} per lookup)")
            print(f"goal              {'met' if met else 'NOT met'}")
        return 0 if met else 1
    except Exception as exc:
        say(f"run failed: {type(exc).__name__}: {exc}")
        for w in workers:
            say(w.tail())
        return 2
    finally:
        if follower:
            follower.close()
        for w in workers:
            w.stop()
        for name in dbs:
            try:
                server.couch.db(name).delete_db()
            except Exception:
                pass
        server.untrack(dbs)
        server.stop()
        fakes.stop()


if __name__ == "__main__":
    sys.exit(main())
