#!/usr/bin/env python3
"""Where the time of one wish goes: the worker latency split into its hops.

    .venv/bin/python bench/hops.py                      # local pouchdb-server (in memory)
    .venv/bin/python bench/hops.py --couch-url http://127.0.0.1:5984 --couch-user admin --couch-password ...

Writes `--items` wishes one at a time (as bench/latency.py does, fake Radarr answering at once,
POSTERS=false) and times every request on the way, by thread:

    wish PUT   the client's write of the wish (validate_doc_update included)
    → feed     PUT acknowledged → the worker's filtered `_changes` delivers it
    → claim    delivered → the claim's `_bulk_docs` is sent (worker's Python)
    claim      the claim write
    → Radarr   claim acknowledged → the POST to Radarr is sent (pool hand-off)
    Radarr     the add (the fake answers at once: this is HTTP and the fake's Python)
    → write    Radarr answered → the collection write is sent (merge of the MovieResource)
    collection the collection write
    → visible  collection write acknowledged → the change reaches a follower of the collection

and prints each hop's median and p90 next to the total's, and what one PUT costs on that server
with no design doc and with an empty validate_doc_update (its floor per write). The worker runs in this process (its
requests are timed by wrapping `Couch.request` and `ServarrClient._call`), so it shares a GIL
with the measuring loop: totals run 1-3 ms above bench/run.py's, which runs it as a process of
its own. This shows the split; bench/run.py gives the figure.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import threading
import time

from common import (CouchServer, ExternalCouch, FakeHost, drop_dbs, follow, make_settings, movie_request, pct,
                    say)

from sidecar import arr, couch
from sidecar.worker import Worker

HOPS = ("wish PUT", "→ feed", "→ claim", "claim", "→ Radarr", "Radarr", "→ write", "collection", "→ visible")


class Recorder:
    """Every timed request as (start, end, thread name, what), perf_counter seconds."""

    def __init__(self):
        self.events: list[tuple[float, float, str, str]] = []
        self._lock = threading.Lock()

    def add(self, start: float, end: float, what: str) -> None:
        with self._lock:
            self.events.append((start, end, threading.current_thread().name, what))

    def take(self) -> list[tuple[float, float, str, str]]:
        with self._lock:
            events, self.events = self.events, []
        return events


def instrument(rec: Recorder) -> None:
    """Time every CouchDB request (but the long-lived feeds) and every Radarr/Sonarr call."""
    couch_request, arr_call = couch.Couch.request, arr.ServarrClient._call

    def timed_request(self, method, path, **kw):
        t = time.perf_counter()
        resp = couch_request(self, method, path, **kw)
        if not kw.get("stream"):
            rec.add(t, time.perf_counter(), f"{method} {path.split('?')[0]}")
        return resp

    def timed_call(self, method, path, timeout=None, **kw):
        t = time.perf_counter()
        resp = arr_call(self, method, path, timeout, **kw)
        rec.add(t, time.perf_counter(), f"ARR {method} {path}")
        return resp

    couch.Couch.request, arr.ServarrClient._call = timed_request, timed_call


def split(events, t0: float, t_visible: float, buffer_db: str) -> dict[str, float] | None:
    """The hops of one wish from its events (None if one is missing: a scan or a retry mixed in)."""
    first: dict[str, tuple[float, float]] = {}
    for start, end, thread, what in sorted(events):
        if start < t0:
            continue  # the previous wish's tail (its buffer tombstone, say)
        if thread == "MainThread" and what.startswith("PUT "):
            key = "wish"
        elif what == "FEED":
            key = "feed"
        elif thread.startswith("pillow-") and what == f"POST {buffer_db}/_bulk_docs":
            key = "claim"
        elif thread.startswith("pillow-") and what.endswith("/_bulk_docs"):
            key = "collection"
        elif what.startswith("ARR POST"):
            key = "radarr"
        else:
            continue
        first.setdefault(key, (start, end))
    if len(first) < 5:
        return None
    w, f, c, r, k = (first[x] for x in ("wish", "feed", "claim", "radarr", "collection"))
    spans = (w[1] - w[0], f[0] - w[1], c[0] - f[0], c[1] - c[0], r[0] - c[1], r[1] - r[0], k[0] - r[1],
             k[1] - k[0], t_visible - k[1])
    out = {hop: s * 1000 for hop, s in zip(HOPS, spans)}
    out["total"] = (t_visible - t0) * 1000
    return out


def write_floor(server, n: int = 60) -> dict[str, float]:
    """p50 ms of a single-doc PUT into a scratch db without design docs, and with a design doc
    whose validate_doc_update does nothing: what the server costs per write, and per JS call."""
    out = {}
    for label, ddoc in (("bare", None), ("empty VDU", {"_id": "_design/v", "validate_doc_update": "function () {}"})):
        db = server.couch.db(f"bench_hops_floor_{int(time.time() * 1000)}")
        db.create()
        try:
            if ddoc:
                db.put(ddoc)
            times = []
            for i in range(n):
                t = time.perf_counter()
                db.put({"_id": f"d{i}", "n": i})
                times.append(time.perf_counter() - t)
        finally:
            db.delete_db()
        out[label] = statistics.median(times[5:]) * 1000
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--items", type=int, default=200)
    p.add_argument("--gap", type=float, default=0.05, help="seconds between two wishes")
    p.add_argument("--couch-url", help="a CouchDB to run against (default: a local pouchdb-server)")
    p.add_argument("--couch-user")
    p.add_argument("--couch-password")
    args = p.parse_args(argv)

    server = (ExternalCouch(args.couch_url, args.couch_user, args.couch_password) if args.couch_url
              else CouchServer(in_memory=True))
    floors = write_floor(server)
    fakes = FakeHost()
    rec = Recorder()
    instrument(rec)
    s = dataclasses.replace(make_settings(server, fakes, "hops"), posters=False)
    worker = Worker(s)
    for pillow in worker.pillows:  # mark the moment the feed hands a change to the pillow
        put = pillow.queue.put

        def marked(item, *a, put=put, **kw):
            if item[0] == "change":
                now = time.perf_counter()
                rec.add(now, now, "FEED")
            return put(item, *a, **kw)
        pillow.queue.put = marked
    worker.start()
    coll = follow(server, s.movies_db)
    buffer = server.couch.db(s.movies_buffer_db)
    rows = []
    try:
        for i in range(5):  # warm-up: connections, the JS engine's copy of the design docs
            doc = movie_request(900_000 + i)
            buffer.put(doc)
            if coll.wait_for(doc["_id"], 60) is None:
                raise RuntimeError("the worker did not move a warm-up wish")
        time.sleep(0.5)
        for i in range(args.items):
            doc = movie_request(1000 + i)
            rec.take()
            t0 = time.perf_counter()
            buffer.put(doc)
            t1 = coll.wait_for(doc["_id"], 10)
            time.sleep(args.gap)
            if t1 is not None:
                row = split(rec.take(), t0, t1, s.movies_buffer_db)
                if row:
                    rows.append(row)
    finally:
        coll.close()
        worker.stop()
        drop_dbs(server, s)
        fakes.stop()
        server.stop()
    if not rows:
        say("no wish could be split into its hops")
        return 1
    print(f"{server.label}: {len(rows)} of {args.items} wishes split into hops (ms)")
    print(f"{'hop':<12} {'p50':>7} {'p90':>7}")
    for hop in (*HOPS, "total"):
        values = [r[hop] / 1000 for r in rows]
        print(f"{hop:<12} {pct(values, 50) * 1000:7.1f} {pct(values, 90) * 1000:7.1f}")
    print(f"{'sum of p50s':<12} {sum(statistics.median(r[h] for r in rows) for h in HOPS):7.1f}")
    print(f"one PUT on this server, p50: {floors['bare']:.1f} ms into a db without design docs, "
          f"{floors['empty VDU']:.1f} ms with an empty validate_doc_update")
    return 0


if __name__ == "__main__":
    sys.exit(main())
