"""CouchDB 3 in a real household: members (plain CouchDB users who sync the buffers and the
collections) cannot stop, mislead or block the sidecar, and a feed that cannot follow is loud.

Members can write `_local` docs in every database they are members of (those skip
validate_doc_update), so nothing the sidecar relies on lives there any more: checkpoints, the
reconcile lock and its result are docs in the sidecar's own database (SIDECAR_DB), whose only
member is the sidecar's role.
"""
from __future__ import annotations

import logging

import requests
from prometheus_client import REGISTRY

from sidecar import health, worker as worker_module
from tests.conftest import RECONCILE_AUTH, movie_request, wait_for
from tests.pouch_client.members import member_user


def moved(couch, settings, doc_id):
    return couch.db(settings.movies_db).get(doc_id) and couch.db(settings.movies_buffer_db).get(doc_id) is None


def test_members_can_neither_read_nor_write_the_sidecars_bookkeeping(settings, couch):
    url, admin = settings.couchdb_url, settings.couch_auth
    dbs = [settings.movies_buffer_db, settings.movies_db, settings.series_buffer_db, settings.series_db]
    with member_user(url, admin, dbs) as m:
        auth = (m["username"], m["password"])
        doc_id = f"checkpoint:{settings.movies_buffer_db}:worker-{settings.worker_id}"
        wrote = requests.put(f"{url}/{settings.sidecar_db}/{doc_id}", json={"seq": "garbage"}, auth=auth, timeout=10)
        assert wrote.status_code in (401, 403), wrote.text
        read = requests.get(f"{url}/{settings.sidecar_db}/_all_docs", auth=auth, timeout=10)
        assert read.status_code in (401, 403), read.text
        # what a member can still do changes nothing the sidecar reads
        for db, local_id in ((settings.movies_buffer_db, f"_local/sidecar-worker-{settings.worker_id}"),
                             (settings.movies_db, "_local/reconcile-lock")):
            r = requests.put(f"{url}/{db}/{local_id}", json={"seq": "garbage", "owner": "x", "expires": 9e12,
                                                              "released": False}, auth=auth, timeout=10)
            assert r.status_code in (201, 202), r.text


def test_member_local_docs_stop_nothing(settings, couch, start_worker, web, fake_radarr):
    """The attack from the issue: a garbage `_local/sidecar-worker-<id>` and a held
    `_local/reconcile-lock`; after a worker restart new wishes still move, reconcile still runs."""
    buffer = couch.db(settings.movies_buffer_db)
    buffer.put({"_id": f"_local/sidecar-worker-{settings.worker_id}", "seq": "garbage"})
    couch.db(settings.movies_db).put({"_id": "_local/reconcile-lock", "owner": "member", "expires": 9e12,
                                      "released": False})
    w = start_worker()
    buffer.put(movie_request(1001))
    wait_for(lambda: moved(couch, settings, "tmdb:1001"), message="moved")
    w.stop()
    start_worker()
    buffer.put(movie_request(1002))
    wait_for(lambda: moved(couch, settings, "tmdb:1002"), message="moved after a restart")
    resp = requests.post(f"{web.url}/reconcile", headers=RECONCILE_AUTH, timeout=30)
    assert resp.status_code == 200, resp.text


def test_a_checkpoint_that_is_no_seq_is_not_trusted(settings, couch, start_worker, caplog):
    state = couch.db(settings.sidecar_db)
    state.put({"_id": f"checkpoint:{settings.movies_buffer_db}:worker-{settings.worker_id}", "seq": "garbage"})
    with caplog.at_level(logging.ERROR, logger="sidecar.feeds"):
        start_worker()
        couch.db(settings.movies_buffer_db).put(movie_request(1003))
        wait_for(lambda: moved(couch, settings, "tmdb:1003"), message="moved")
    assert "which is no CouchDB seq" in caplog.text


def test_a_feed_that_cannot_follow_is_logged_counted_and_reported(settings, couch, start_worker, sidecar,
                                                                 monkeypatch, caplog):
    """A worker whose movies buffer does not exist (a typo in MOVIES_BUFFER_DB, a database
    deleted by hand): its feed never follows, and /readyz, the metric and the log say so."""
    monkeypatch.setattr(worker_module, "REPORT_EVERY", 0.3)
    monkeypatch.setattr(health, "FEED_GRACE", 0.5)
    monkeypatch.setattr("sidecar.feeds.LOUD_AFTER", 1.0)
    web = sidecar()
    missing = f"{settings.movies_buffer_db}_missing"
    feeds_log = logging.getLogger("sidecar.feeds")
    feeds_log.addHandler(caplog.handler)  # the web app's JSON logging does not propagate to pytest's
    try:
        start_worker(movies_buffer_db=missing)
        body = wait_for(lambda: (b := requests.get(f"{web.url}/readyz", timeout=10).json())
                        and b["checks"].get(f"worker:{settings.worker_id}", "ok") != "ok" and b,
                        timeout=20, message="readyz reports the feed")
        assert body["ready"] is False and missing in body["checks"][f"worker:{settings.worker_id}"]
        assert REGISTRY.get_sample_value("sidecar_feed_up", {"db": missing}) == 0
        wait_for(lambda: f"cannot follow {missing}" in caplog.text, timeout=10, message="an error in the log")
    finally:
        feeds_log.removeHandler(caplog.handler)
