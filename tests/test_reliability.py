"""Reliability: crashes, several workers, Radarr/Sonarr outages, CouchDB restarts.
Nothing lost, nothing added twice."""
from __future__ import annotations

import sys
import time

import pytest

from sidecar.couch import Couch
from sidecar.design import push_all
from tests.chaos.kill_worker import run_chaos
from tests.conftest import ROOT, free_port, movie_request, series_request, wait_for


def buffer_ids(couch, db_name):
    return [r["id"] for r in couch.db(db_name).all_docs(include_docs=False, startkey="t", endkey="t\ufff0")]


def test_sigkill_at_random_moments_loses_and_doubles_nothing(couch_server, fake_radarr, fake_sonarr, tmp_path):
    """Short CI variant of tests/chaos/kill_worker.py (the full run: 500 items, 20 kills)."""
    fake_radarr.reset()
    fake_sonarr.reset()
    report = run_chaos(couch_server[0], fake_radarr, fake_sonarr, items=120, kills=6, seed=7, log_dir=tmp_path,
                       auth=couch_server[1])
    assert report["kills"] == 6
    assert report["lost"] == 0 and report["buffer_left"] == 0
    assert report["duplicate_adds"] == 0 and report["not_added"] == 0
    assert report["stuck_processing"] == 0
    assert report["moved"] == 120


def test_three_workers_share_500_items_without_duplicates(settings, couch, fake_radarr, fake_sonarr, worker_process):
    couch.db(settings.movies_buffer_db).bulk_docs([movie_request(i) for i in range(1, 401)])
    couch.db(settings.series_buffer_db).bulk_docs([series_request(i) for i in range(1, 101)])
    fake_radarr.delay = fake_sonarr.delay = 0.005
    for n in range(3):
        worker_process(WORKER_ID=f"worker-{n}")
    wait_for(lambda: not buffer_ids(couch, settings.movies_buffer_db) and not buffer_ids(couch, settings.series_buffer_db),
             timeout=120, message="all 500 moved")
    assert couch.db(settings.movies_db).info()["doc_count"] == 401  # 400 + design doc
    assert couch.db(settings.series_db).info()["doc_count"] == 101
    assert sum(fake_radarr.creations.values()) == 400 and max(fake_radarr.creations.values()) == 1
    assert sum(fake_sonarr.creations.values()) == 100 and max(fake_sonarr.creations.values()) == 1
    posts = fake_radarr.log("POST", "/api/v3/movie")
    assert len(posts) == 400  # no worker even tried to add a title another one had claimed


@pytest.mark.parametrize("mode", ["503", "timeout", "down"])
def test_outage_means_retry_with_backoff_never_failed_then_drains(settings, couch, fake_radarr, start_worker, mode):
    if mode == "down":
        fake_radarr.stop()
    else:
        fake_radarr.fail_mode = mode
        fake_radarr.hang_seconds = 5
    start_worker(arr_timeout=0.5, retry_base=0.2, retry_max=1.0)
    db = couch.db(settings.movies_buffer_db)
    db.bulk_docs([movie_request(i) for i in range(1, 21)])
    wait_for(lambda: all((d := db.get(f"tmdb:{i}")) and d.get("attempts", 0) >= 3 for i in range(1, 21)),
             timeout=30, message="three attempts each")
    docs = [db.get(f"tmdb:{i}") for i in range(1, 21)]
    assert all(d["state"] in ("retry", "processing") for d in docs)
    assert not db.view("buffer", "failed", reduce=False)["rows"]
    assert all(d["last_error"]["code"] in ("http_503", "timeout", "unreachable") for d in docs if d["state"] == "retry")
    if mode != "down":
        # no hot loop: every item waits out its backoff (0.2 s, 0.4 s, ... ±20 %) between two
        # attempts, so its requests to the failing Radarr are never closer than 0.16 s; and the
        # whole outage costs at most one request per attempt made
        per_item: dict = {}
        for r in fake_radarr.requests_log:
            tmdb = (r["json"] or {}).get("tmdbId") or r["query"].get("tmdbId")
            per_item.setdefault(int(tmdb), []).append(r["time"])
        gaps = [b - a for times in per_item.values() for a, b in zip(times, times[1:])]
        assert gaps and min(gaps) >= 0.16, f"an item was retried after {min(gaps):.3f} s"
        attempts = sum(db.get(f"tmdb:{i}")["attempts"] for i in range(1, 21))
        assert len(fake_radarr.requests_log) <= attempts + 20, (len(fake_radarr.requests_log), attempts)
    if mode == "down":
        fake_radarr.start()
    fake_radarr.fail_mode = None
    wait_for(lambda: not buffer_ids(couch, settings.movies_buffer_db), timeout=30, message="drained after recovery")
    assert sum(fake_radarr.creations.values()) == 20 and max(fake_radarr.creations.values()) == 1


def test_couchdb_restart_mid_stream_misses_nothing(fake_radarr, tmp_path, worker_process):
    """On-disk pouchdb-server stopped and started again while items flow."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import local_couch

    from sidecar.config import ArrInstance, Settings

    fake_radarr.reset()
    port = free_port()
    data = tmp_path / "couch"
    server = local_couch.start(port, data)
    url = f"http://127.0.0.1:{port}"
    s = Settings(couchdb_url=url, radarr=(ArrInstance("radarr", "default", fake_radarr.url, fake_radarr.api_key, 1, "/movies"),),
                 worker_id="restart-test", arr_timeout=2, retry_base=0.2, retry_max=1, scan_interval=0.2)
    push_all(s)
    couch = Couch(url)
    db = couch.db(s.movies_buffer_db)
    try:
        worker_process(s)
        db.bulk_docs([movie_request(i) for i in range(1, 11)])
        wait_for(lambda: not buffer_ids(couch, s.movies_buffer_db), timeout=20, message="first batch moved")
        server.terminate()
        server.wait(10)
        time.sleep(1.5)  # the worker sees the feed break and retries the connection meanwhile
        server = local_couch.start(port, data)
        db.bulk_docs([movie_request(i) for i in range(11, 31)])
        wait_for(lambda: not buffer_ids(couch, s.movies_buffer_db), timeout=30, message="second batch moved after restart")
        assert couch.db(s.movies_db).info()["doc_count"] == 31
        assert sum(fake_radarr.creations.values()) == 30 and max(fake_radarr.creations.values()) == 1
    finally:
        server.terminate()
        server.wait(10)
