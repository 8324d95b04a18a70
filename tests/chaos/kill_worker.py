"""Chaos: SIGKILL the worker at random moments during a burst, restart it each time, and
check that every item ends in the collection exactly once and in Radarr/Sonarr exactly once.

    .venv/bin/python -m tests.chaos.kill_worker --items 500 --kills 20      (the full run)

It starts its own pouchdb-server (in memory) and fake Radarr/Sonarr unless --couch-url is
given. The test suite runs a short variant (tests/test_reliability.py).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_chaos(couch_url: str, radarr, sonarr, items: int = 500, kills: int = 20, seed: int | None = None,
              workers: int = 1, log_dir: Path | None = None, claim_timeout: float = 3.0,
              drain_timeout: float = 180.0, auth: tuple[str, str] | None = None) -> dict:
    """Returns a report: kills, items, moved, lost, duplicate_adds, stuck_processing, seconds.
    auth: (user, password) of a CouchDB admin (CouchDB 3 makes new databases admin-only)."""
    sys.path.insert(0, str(ROOT))
    from sidecar.config import ArrInstance, Settings
    from sidecar.couch import Couch
    from sidecar.design import push_all
    from tests.conftest import settings_env

    rng = random.Random(seed)
    prefix = f"chaos_{uuid.uuid4().hex[:8]}"
    settings = Settings(
        couchdb_url=couch_url, couchdb_user=auth[0] if auth else None, couchdb_password=auth[1] if auth else None,
        movies_buffer_db=f"{prefix}_movies_buffer", movies_db=f"{prefix}_movies",
        series_buffer_db=f"{prefix}_series_buffer", series_db=f"{prefix}_series",
        radarr=(ArrInstance("radarr", "default", radarr.url, radarr.api_key, 1, "/movies"),),
        sonarr=(ArrInstance("sonarr", "default", sonarr.url, sonarr.api_key, 1, "/tv"),),
        worker_id="chaos", arr_timeout=2.0, claim_timeout=claim_timeout, retry_base=0.2, retry_max=1.0,
        scan_interval=0.2,
    )
    push_all(settings)
    couch = Couch(couch_url, auth)
    movies = [i for i in range(1, items + 1) if i % 4]
    series = [i for i in range(1, items + 1) if not i % 4]
    now = "2026-11-25T10:00:00Z"
    couch.db(settings.movies_buffer_db).bulk_docs([
        {"_id": f"tmdb:{i}", "type": "movie", "tmdbId": i, "title": f"Movie {i}", "action": "download",
         "requested_at": now} for i in movies])
    couch.db(settings.series_buffer_db).bulk_docs([
        {"_id": f"tvdb:{i}", "type": "series", "tvdbId": i, "title": f"Series {i}", "action": "monitor",
         "requested_at": now} for i in series])
    # a little latency so kills land in the middle of adds, not only between them
    radarr.delay = sonarr.delay = 0.01

    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="chaos-"))
    env = settings_env(settings)
    env.update(ARR_CONCURRENCY="4", BATCH_SIZE="50")

    def spawn(n: int, wid: str) -> subprocess.Popen:
        e = dict(env, WORKER_ID=wid)
        return subprocess.Popen([sys.executable, "-m", "sidecar", "worker"], cwd=ROOT, env=e,
                                stdout=open(log_dir / f"worker-{n}.log", "ab"), stderr=subprocess.STDOUT)

    t0 = time.monotonic()
    done_kills = kills_mid_work = 0
    for n in range(kills):
        # several worker ids in turn: some restarts resume their own claim at once, others wait
        # for the claim timeout, as after a crash of another machine
        procs = [spawn(n, f"chaos-{(n + k) % 3}") for k in range(workers)]
        # the clock starts once the worker follows its feeds, so kills land in its work, not its imports
        up_by = time.monotonic() + 10
        while time.monotonic() < up_by and b"following" not in (log_dir / f"worker-{n}.log").read_bytes():
            time.sleep(0.02)
        time.sleep(rng.uniform(0.05, 0.8))
        for p in procs:
            p.send_signal(signal.SIGKILL)
            p.wait()
        done_kills += 1
        text = (log_dir / f"worker-{n}.log").read_bytes()
        if b'"msg": "added' in text or b'"msg": "found' in text:
            kills_mid_work += 1
    final = [spawn(kills, f"chaos-{k}") for k in range(3)]
    buffer_dbs = [couch.db(settings.movies_buffer_db), couch.db(settings.series_buffer_db)]

    def left() -> int:
        return sum(len(db.all_docs(include_docs=False, startkey="t", endkey="t\ufff0")) for db in buffer_dbs)

    deadline = time.monotonic() + drain_timeout
    while left() and time.monotonic() < deadline:
        time.sleep(0.25)
    seconds = time.monotonic() - t0
    for p in final:
        p.terminate()
        p.wait(10)

    moved_movies = {r["id"] for r in couch.db(settings.movies_db).all_docs(include_docs=False, startkey="t", endkey="t\ufff0")}
    moved_series = {r["id"] for r in couch.db(settings.series_db).all_docs(include_docs=False, startkey="t", endkey="t\ufff0")}
    want_movies = {f"tmdb:{i}" for i in movies}
    want_series = {f"tvdb:{i}" for i in series}
    stuck = []
    for db in buffer_dbs:
        stuck += [r["id"] for r in db.view("buffer", "by_state", reduce=False, startkey=["processing", ""],
                                           endkey=["processing", {}])["rows"]]
    report = {
        "items": items,
        "kills": done_kills,
        "kills_while_adding": kills_mid_work,
        "moved": len(moved_movies & want_movies) + len(moved_series & want_series),
        "lost": len(want_movies - moved_movies) + len(want_series - moved_series),
        "buffer_left": left(),
        "stuck_processing": len(stuck),
        "duplicate_adds": sum(c - 1 for c in list(radarr.creations.values()) + list(sonarr.creations.values()) if c > 1),
        "not_added": sum(1 for i in movies if radarr.creations[i] == 0) + sum(1 for i in series if sonarr.creations[i] == 0),
        "seconds": round(seconds, 1),
        "logs": str(log_dir),
    }
    for name in (settings.movies_buffer_db, settings.movies_db, settings.series_buffer_db, settings.series_db):
        couch.db(name).delete_db()
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--workers", type=int, default=1, help="workers running (and killed) at once")
    parser.add_argument("--couch-url", default=os.environ.get("COUCHDB_URL"))
    parser.add_argument("--couch-user", default=os.environ.get("COUCHDB_USER"))
    parser.add_argument("--couch-password", default=os.environ.get("COUCHDB_PASSWORD"))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "scripts"))
    from tests.fakes.servarr import FakeRadarr, FakeSonarr

    server = None
    url = args.couch_url
    if not url:
        import local_couch
        from tests.conftest import free_port

        port = free_port()
        server = local_couch.start(port, tempfile.mkdtemp(prefix="chaos-couch-"), in_memory=True)
        url = f"http://127.0.0.1:{port}"
    radarr, sonarr = FakeRadarr().start(), FakeSonarr().start()
    try:
        auth = (args.couch_user, args.couch_password) if args.couch_user else None
        report = run_chaos(url, radarr, sonarr, args.items, args.kills, args.seed, args.workers, auth=auth)
    finally:
        radarr.stop()
        sonarr.stop()
        if server:
            server.terminate()
    print(json.dumps(report, indent=2))
    ok = report["lost"] == 0 and report["duplicate_adds"] == 0 and report["stuck_processing"] == 0 \
        and report["buffer_left"] == 0 and report["not_added"] == 0
    print("PASS" if ok else "FAIL", f"{report['kills']} kills ({report['kills_while_adding']} while adding), {report['items']} items, lost {report['lost']}, "
          f"duplicate adds {report['duplicate_adds']}, stuck {report['stuck_processing']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
