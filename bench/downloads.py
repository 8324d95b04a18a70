#!/usr/bin/env python3
"""Download progress at scale: 200 movies downloading at once, Radarr's queue read every 5 s for
a minute, the worker writing `download` onto their collection docs (sidecar/downloads.py).

    .venv/bin/python bench/downloads.py                 # 200 titles, time scaled 10x (see below)
    .venv/bin/python bench/downloads.py --scale 1       # real time: 5 s polls, one minute per phase

Time is scaled by --scale (default 10): the worker polls every 5 s / scale and each phase lasts
60 s / scale, while the downloads move as far per poll as they would in 5 s. So per-poll figures
are measured as they are, and what one phase counts is the per-minute figure at the real pace.

What runs: pouchdb-server (in memory), fake Radarr in this process (TCP_NODELAY, as Kestrel),
the worker as `python -m sidecar worker` with its metrics port. 200 movies in the fake library and
in the collection as grabbed, each with a queue record: size 2–15 GB, 0–70 % done, and a
download time of 20 min – 3 h (so 0.6–5 points a minute: a few visible steps per title per minute).

Phases (each one simulated minute):
- idle: nothing grabbed yet; the worker's own background (feeds, scans) and queue reads (must be 0);
- moving (after one simulated minute of warm-up movement, so that the docs lag their downloads as
  in a steady state): every queue record moves at its speed; writes counted three ways (the worker's
  sidecar_download_writes_total, the collection's revision numbers, and the 1-point steps the
  downloads crossed, which is what "only visible steps" should come to);
- still: the queue does not move; writes must be 0.
CPU per poll = the worker process's CPU (user + sys from /proc) in the phase / queue reads in it,
also shown net of the idle phase's background (the worker's other jobs: feeds, scans, reports).
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from common import CouchServer, ROOT, cpu_seconds, free_port, say, start_worker  # noqa: E402
from fakehost import nodelay  # noqa: E402

from sidecar.collection import apply_changes, facts_from_resource, merge  # noqa: E402
from sidecar.config import ArrInstance, Settings  # noqa: E402
from sidecar.design import push_all  # noqa: E402
from tests.fakes.servarr import FakeRadarr  # noqa: E402

GB = 1_000_000_000
REAL_POLL = 5.0  # seconds, QUEUE_POLL_INTERVAL's default
REAL_MINUTE = 60.0


def scrape(port: int) -> dict[str, float]:
    """The worker's sidecar_download_* counters, summed over labels."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r"^(sidecar_download_\w+?)_total(?:\{[^}]*\})? ([0-9.e+-]+)$", line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(2))
    return out


def rev_sum(db) -> int:
    """Sum of the collection docs' revision numbers: how many writes they have had."""
    return sum(int(r["value"]["rev"].split("-")[0]) for r in db.all_docs(include_docs=False)
               if not r["id"].startswith("_design/"))


class Downloads(threading.Thread):
    """Moves every queue record at its own speed, in simulated (scaled) time."""

    def __init__(self, fake: FakeRadarr, speeds: dict[int, float], scale: float):
        super().__init__(name="downloads", daemon=True)
        self.fake, self.speeds, self.scale = fake, speeds, scale  # speeds: fraction of size per real second
        self.moving = threading.Event()
        self.stop_event = threading.Event()
        self.steps = 0  # 1-point progress boundaries crossed while moving

    def run(self) -> None:
        last = time.monotonic()
        while not self.stop_event.wait(0.05):
            now = time.monotonic()
            dt, last = (now - last) * self.scale, now
            if not self.moving.is_set():
                continue
            with self.fake._lock:
                for item in self.fake.queue_items:
                    size = item["size"]
                    before = 1 - item["sizeleft"] / size
                    left = max(0, int(item["sizeleft"] - self.speeds[item["ext_id"]] * size * dt))
                    item["sizeleft"] = left
                    self.steps += int((1 - left / size) * 100) - int(before * 100)


def run(args) -> int:
    rng = random.Random(args.seed)
    poll = REAL_POLL / args.scale
    window = REAL_MINUTE * args.minutes / args.scale
    nodelay()
    fake = FakeRadarr(api_key="bench-radarr-key").start()
    server = CouchServer(in_memory=True)
    logdir = Path(tempfile.mkdtemp(prefix="bench-downloads-"))
    prefix = f"bench_dl_{uuid.uuid4().hex[:6]}"
    s = Settings(couchdb_url=server.url, movies_buffer_db=f"{prefix}_movies_buffer", movies_db=f"{prefix}_movies",
                 series_buffer_db=f"{prefix}_series_buffer", series_db=f"{prefix}_series",
                 sidecar_db=f"{prefix}_sidecar", lookups_db=f"{prefix}_lookups",
                 radarr=(ArrInstance("radarr", "default", fake.url, fake.api_key, 1, "/movies"),),
                 worker_id=f"bench-{prefix}", queue_poll_interval=poll)
    push_all(s)
    db = server.couch.db(s.movies_db)
    port = free_port()
    worker = None
    mover = None
    try:
        movies = fake.add_many(args.titles, start_id=1000)
        speeds = {}
        for res in movies:
            size = rng.randint(2 * GB, 15 * GB)
            fake.queue_add(res["tmdbId"], size=size, sizeleft=int(size * (1 - rng.uniform(0, 0.7))))
            speeds[res["tmdbId"]] = 1 / rng.uniform(20 * 60, 180 * 60)

        worker = start_worker(s, logdir, ROOT, WORKER_METRICS_PORT=port, QUEUE_POLL_INTERVAL=poll,
                              LOG_LEVEL="WARNING")
        deadline = time.monotonic() + 30
        while True:
            try:
                scrape(port)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or worker.popen.poll() is not None:
                    raise RuntimeError(f"the worker did not come up:\n{worker.tail()}")
                time.sleep(0.2)
        time.sleep(2)  # feeds connected, first scans done

        say(f"idle: {window:.1f} s with nothing grabbed")
        m0, c0 = scrape(port), cpu_seconds(worker.pid)
        time.sleep(window)
        m1, c1 = scrape(port), cpu_seconds(worker.pid)
        idle_cpu = c1 - c0
        idle_reads = len(fake.log("GET", "/api/v3/queue"))

        say(f"grabbing {args.titles} titles")
        docs = {}
        for res in movies:
            got = facts_from_resource("movie", res)
            docs[f"tmdb:{res['tmdbId']}"] = (lambda got, tmdb: lambda existing: merge(
                existing, "movie", tmdb, "webhook", facts=got["facts"], instance="default", entry=got["entry"],
                set_fields={"grabbed": True}))(got, res["tmdbId"])
        apply_changes(db, docs)
        deadline = time.monotonic() + 60
        while scrape(port).get("sidecar_download_writes", 0) < args.titles:
            if time.monotonic() > deadline:
                raise RuntimeError("the first progress of every title was not written within 60 s")
            time.sleep(0.1)
        time.sleep(2 * poll)

        mover = Downloads(fake, speeds, args.scale)
        mover.start()
        # one simulated minute of movement first: each doc then shows a value up to a point behind
        # its download, as in a steady state (right after the first writes each shows it exactly)
        say(f"warming up: {window:.1f} s of movement, not counted")
        mover.moving.set()
        time.sleep(window)
        say(f"moving: {window:.1f} s")
        m2, c2, r2, steps0 = scrape(port), cpu_seconds(worker.pid), rev_sum(db), mover.steps
        time.sleep(window)
        mover.moving.clear()
        m3, c3, r3, steps = scrape(port), cpu_seconds(worker.pid), rev_sum(db), mover.steps - steps0
        time.sleep(3 * poll)  # the last movement written

        say(f"still: {window:.1f} s")
        m4, c4, r4 = scrape(port), cpu_seconds(worker.pid), rev_sum(db)
        time.sleep(window)
        m5, c5, r5 = scrape(port), cpu_seconds(worker.pid), rev_sum(db)
    finally:
        if mover:
            mover.stop_event.set()
        if worker:
            worker.stop()
        fake.stop()
        server.stop()

    def delta(a, b, key):
        return b.get(key, 0.0) - a.get(key, 0.0)

    per_min = args.minutes  # one phase = this many simulated minutes
    idle_per_s = idle_cpu / window
    print(f"download progress: {args.titles} movies downloading, queue read every {REAL_POLL:g} s "
          f"(time scaled {args.scale:g}x: polls every {poll:g} s, a simulated minute lasts {window / args.minutes:g} s)")
    print(f"  idle (nothing grabbed): queue reads {idle_reads}, worker CPU {idle_cpu * 1000 / window:.1f} ms/s "
          f"(its feeds and scans)")
    for label, (ma, mb, ca, cb, ra, rb) in (("moving", (m2, m3, c2, c3, r2, r3)), ("still", (m4, m5, c4, c5, r4, r5))):
        polls = delta(ma, mb, "sidecar_download_polls")
        writes = delta(ma, mb, "sidecar_download_writes")
        skipped = delta(ma, mb, "sidecar_download_skipped")
        cpu = cb - ca
        net = cpu - idle_per_s * window
        print(f"  {label}: {polls:.0f} polls; worker CPU per poll {cpu / max(polls, 1) * 1000:.1f} ms "
              f"({net / max(polls, 1) * 1000:.1f} ms net of the idle background)")
        print(f"    collection writes per minute: {writes / per_min:.0f} (revisions: {(rb - ra) / per_min:.0f})"
              f"{f'; 1-point steps crossed: {steps / per_min:.0f}' if label == 'moving' else ''}; "
              f"skipped (no visible change): {skipped / per_min:.0f}")
    still_writes = delta(m4, m5, "sidecar_download_writes") + (r5 - r4)
    ok = still_writes == 0 and idle_reads == 0
    print(f"  writes while the queue stood still: {still_writes:.0f} ({'ok' if ok else 'NOT 0'})")
    return 0 if ok else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--titles", type=int, default=200)
    p.add_argument("--scale", type=float, default=10.0, help="time factor (1 = real time)")
    p.add_argument("--minutes", type=float, default=1.0, help="simulated minutes per phase")
    p.add_argument("--seed", type=int, default=12)
    return run(p.parse_args())


if __name__ == "__main__":
    sys.exit(main())
