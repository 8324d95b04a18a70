"""Latency: buffer doc written → collection doc visible (worker as a real subprocess), and
webhook received → collection doc visible (web app under gunicorn). Fake Radarr answers at once.

Closed loop, one item at a time: write (or POST), wait until the follower of the collection
db's _changes sees the doc, pause `gap` seconds, next. So each figure is a latency, never a
queue. t0 is taken just before the PUT/POST is sent, t1 when the change line arrives.
POSTERS=false unless ctx.posters (a poster is fetched after the move, in the background: it is
not part of "in the collection", only load beside it; bench/run.py --posters keeps them on).
"""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import requests

from common import (WEBHOOK_PASSWORD, WEBHOOK_USER, drop_dbs, follow, make_settings, movie_request, pct,
                    posters_env, start_web, start_worker, say)

REFERENCE = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "servarr" / "webhooks"


def _summary(lat: list[float], timeouts: int, extra: dict | None = None) -> dict:
    out = {"n": len(lat), "timeouts": timeouts,
           "p50_ms": pct(lat, 50) * 1000, "p90_ms": pct(lat, 90) * 1000, "p99_ms": pct(lat, 99) * 1000,
           "max_ms": max(lat) * 1000 if lat else float("nan")}
    out.update(extra or {})
    return out


def worker_latency(ctx, items: int, gap: float, warmup: int = 5) -> dict:
    """One run: `items` buffer docs, one at a time."""
    s = make_settings(ctx.server, ctx.fakes, "lat")
    ctx.fakes.reset()
    worker = start_worker(s, ctx.logdir, ctx.sidecar_root, **posters_env(ctx))
    coll = follow(ctx.server, s.movies_db)
    buffer = ctx.server.couch.db(s.movies_buffer_db)
    lat, timeouts = [], 0
    try:
        for i in range(warmup):  # the first waits for the worker to start
            doc = movie_request(900_000 + i)
            buffer.put(doc)
            if coll.wait_for(doc["_id"], 60) is None:
                raise RuntimeError(f"worker did not move the warm-up item:\n{worker.tail()}")
        time.sleep(0.5)
        qs0 = ctx.server.query_server_mark()
        for i in range(items):
            doc = movie_request(1000 + i)
            t0 = time.perf_counter()
            buffer.put(doc)
            t1 = coll.wait_for(doc["_id"], 10)
            if t1 is None:
                timeouts += 1
            else:
                lat.append(t1 - t0)
            time.sleep(gap)
        query_server = ctx.server.query_server_since(qs0)
    finally:
        coll.close()
        worker.stop()
        drop_dbs(ctx.server, s)
    return _summary(lat, timeouts, {"query_server": query_server})


def _payloads() -> dict[str, dict]:
    out = {}
    for event in ("Download", "Grab", "MovieAdded"):
        path = REFERENCE / f"radarr-{event}.json"
        out[event] = json.loads(path.read_text(encoding="utf-8"))
    return out


def _payload(template: dict, tmdb_id: int) -> bytes:
    body = copy.deepcopy(template)
    body["movie"].update(tmdbId=tmdb_id, id=tmdb_id, title=f"Movie {tmdb_id}", imdbId=f"tt{tmdb_id:07d}")
    if "remoteMovie" in body:
        body["remoteMovie"].update(tmdbId=tmdb_id, title=f"Movie {tmdb_id}", imdbId=f"tt{tmdb_id:07d}")
    return json.dumps(body).encode()


def webhook_latency(ctx, items: int, gap: float, warmup: int = 5) -> dict:
    """One run: `items` Radarr webhooks (Download, Grab, MovieAdded in turn; each a title not yet
    in the collection, so each writes a doc; MovieAdded asks the fake for the title)."""
    s = make_settings(ctx.server, ctx.fakes, "hook")
    ctx.fakes.reset()
    ctx.fakes.add_many("radarr", items + warmup + 10, start_id=2000, has_file_every=0)
    templates = _payloads()
    events = list(templates)
    # as `python -m sidecar web` runs by default (POSTERS aside: see posters_env)
    web, url = start_web(s, ctx.logdir, ctx.sidecar_root, **posters_env(ctx))
    coll = follow(ctx.server, s.movies_db)
    session = requests.Session()
    session.auth = (WEBHOOK_USER, WEBHOOK_PASSWORD)
    session.headers["Content-Type"] = "application/json"
    lat, timeouts, by_event, bad = [], 0, {e: [] for e in events}, {}
    try:
        for i in range(warmup + items):
            tmdb_id = 2000 + i
            event = events[i % len(events)]
            body = _payload(templates[event], tmdb_id)
            t0 = time.perf_counter()
            resp = session.post(f"{url}/webhooks/radarr", data=body, timeout=10)
            if resp.status_code != 200:
                bad[resp.status_code] = bad.get(resp.status_code, 0) + 1
                if bad[resp.status_code] == 1:
                    say(f"webhook {event} answered {resp.status_code}: {resp.text[:300]}")
                if sum(bad.values()) > 20:
                    raise RuntimeError(f"webhooks keep failing: {bad}")
                continue
            t1 = coll.wait_for(f"tmdb:{tmdb_id}", 10)
            if i < warmup:
                continue
            if t1 is None:
                timeouts += 1
            else:
                lat.append(t1 - t0)
                by_event[event].append(t1 - t0)
            time.sleep(gap)
    finally:
        coll.close()
        web.stop()
        drop_dbs(ctx.server, s)
    return _summary(lat, timeouts, {"p50_by_event_ms": {e: pct(v, 50) * 1000 for e, v in by_event.items() if v},
                                    "http_errors": bad})
