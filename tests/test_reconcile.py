"""Reconcile against fake Radarr/Sonarr libraries of thousands of titles: added, changed, removed,
unchanged; listings that fail midway remove nothing; several instances; one run at a time."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
import time

import pytest
import requests

from sidecar.collection import merge
from sidecar.config import ArrInstance
from sidecar.reconcile import LOCK_ID, KindReconcile, iter_json_array, run_reconcile
from tests.conftest import RECONCILE_AUTH as TOKEN, Sidecar, ROOT, free_port, settings_env, wait_for



@pytest.fixture(scope="module")
def fake_radarr_4k_server():
    from tests.fakes.servarr import FakeRadarr

    fake = FakeRadarr(api_key="test-radarr-4k-key", instance_name="Radarr 4K").start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_radarr_4k(fake_radarr_4k_server):
    fake_radarr_4k_server.reset()
    fake_radarr_4k_server.start()  # a test may have stopped it
    return fake_radarr_4k_server


def reconcile(web, headers=TOKEN):
    return requests.post(f"{web.url}/reconcile", headers=headers, timeout=120)


def ok(resp) -> dict:
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["errors"] == [], body["errors"]
    return body


def counts(body: dict) -> tuple:
    return body["added"], body["updated"], body["removed"], body["unchanged"]


def docs(couch, db_name) -> dict[str, dict]:
    return {r["id"]: r["doc"] for r in couch.db(db_name).all_docs() if not r["id"].startswith("_")}


# --------------------------------------------------------------------------- the basic runs


def test_first_run_adds_everything_second_changes_nothing(web, couch, settings, fake_radarr, fake_sonarr):
    fake_radarr.add_many(3000, has_file=lambda i: i % 3 == 0, monitored=lambda i: i % 5 != 0)
    fake_sonarr.add_many(400, has_file=lambda i: i % 2 == 0)
    first = ok(reconcile(web))
    assert counts(first) == (3400, 0, 0, 0)
    assert first["instances"] == {"radarr:default": 3000, "sonarr:default": 400}
    assert first["duration"] > 0
    movies = docs(couch, settings.movies_db)
    assert len(movies) == 3000
    assert movies["tmdb:3"]["status"] == "downloaded" and movies["tmdb:3"]["hasFile"] is True
    assert movies["tmdb:5"]["status"] == "unmonitored"
    assert movies["tmdb:1"]["status"] == "wanted" and movies["tmdb:1"]["radarrId"] == fake_radarr.find(1)["id"]
    assert movies["tmdb:1"]["source"] == "reconcile" and movies["tmdb:1"]["instances"]["default"]["monitored"] is True
    shows = docs(couch, settings.series_db)
    assert shows["tvdb:2"]["status"] == "downloaded" and shows["tvdb:2"]["statistics"]["episodeFileCount"] > 0
    assert shows["tvdb:1"]["status"] == "wanted" and shows["tvdb:1"]["statistics"]["episodeFileCount"] == 0

    second = ok(reconcile(web))
    assert counts(second) == (0, 0, 0, 3400)
    after = docs(couch, settings.movies_db)
    assert all(after[k]["_rev"] == movies[k]["_rev"] for k in movies)  # nothing rewritten


def test_changes_in_the_libraries_are_found(web, couch, settings, fake_radarr, fake_sonarr):
    fake_radarr.add_many(1500)
    fake_sonarr.add_many(200)
    ok(reconcile(web))
    for tmdb_id in range(1, 11):
        fake_radarr.set_file(tmdb_id, True)  # 10 downloaded outside webhooks
    for tmdb_id in range(11, 14):
        fake_radarr.find(tmdb_id)["monitored"] = False  # 3 unmonitored in Radarr's UI
    for tmdb_id in range(100, 105):
        fake_radarr.remove(tmdb_id)  # 5 deleted in Radarr
    for tmdb_id in range(5000, 5007):
        fake_radarr.add_existing(tmdb_id)  # 7 added in Radarr, their webhooks lost
    fake_sonarr.remove(7)
    fake_sonarr.set_episode_files(8, 3)
    body = ok(reconcile(web))
    assert counts(body) == (7, 14, 6, 1500 + 200 - 14 - 6)
    movies = docs(couch, settings.movies_db)
    assert movies["tmdb:1"]["status"] == "downloaded"
    assert movies["tmdb:11"]["status"] == "unmonitored"
    gone = movies["tmdb:100"]
    assert gone["status"] == "removed" and gone["removed_at"] and gone["instances"] == {} and gone["title"]
    assert movies["tmdb:5003"]["status"] == "wanted"
    shows = docs(couch, settings.series_db)
    assert shows["tvdb:7"]["status"] == "removed" and shows["tvdb:8"]["status"] == "partial"
    # a removed title that comes back is live again
    fake_radarr.add_existing(100)
    again = ok(reconcile(web))
    assert counts(again)[:3] == (0, 1, 0)
    back = docs(couch, settings.movies_db)["tmdb:100"]
    assert back["status"] == "wanted" and "removed_at" not in back


def test_fields_reconcile_cannot_know_are_kept(web, couch, settings, fake_radarr):
    fake_radarr.add_existing(77, title="Kept")
    requested = {"action": "monitor", "at": "2026-11-25T10:00:00Z", "by": "ann"}
    doc = merge(None, "movie", 77, "worker", facts={"title": "Kept"}, instance="default",
                entry={"id": fake_radarr.find(77)["id"], "monitored": True, "hasFile": False},
                set_fields={"requested": requested, "grabbed": True})
    doc["created_at"] = "2026-01-01T00:00:00.000Z"
    couch.db(settings.movies_db).put(doc)
    ok(reconcile(web))
    kept = couch.db(settings.movies_db).get("tmdb:77")
    assert kept["requested"] == requested and kept["grabbed"] is True and kept["status"] == "grabbed"
    assert kept["created_at"] == "2026-01-01T00:00:00.000Z"
    fake_radarr.set_file(77, True)  # the download finished while no webhook got through
    ok(reconcile(web))
    done = couch.db(settings.movies_db).get("tmdb:77")
    assert done["grabbed"] is False and done["status"] == "downloaded" and done["requested"] == requested


def test_a_webhook_writing_meanwhile_is_merged_not_overwritten(web, couch, settings, fake_radarr, monkeypatch):
    fake_radarr.add_many(20)
    ok(reconcile(web))
    for tmdb_id in range(1, 21):
        fake_radarr.set_file(tmdb_id, True)
    original = KindReconcile._flush

    def flush_after_a_webhook(self):
        db = couch.db(settings.movies_db)
        current = db.get("tmdb:5")
        if current and "note" not in current:
            db.put(dict(current, note="written by a webhook in between"))
        original(self)

    monkeypatch.setattr(KindReconcile, "_flush", flush_after_a_webhook)
    body = ok(reconcile(web))
    assert counts(body) == (0, 20, 0, 0)
    doc = couch.db(settings.movies_db).get("tmdb:5")
    assert doc["note"] == "written by a webhook in between" and doc["status"] == "downloaded"


# --------------------------------------------------------------------------- failures never delete


def test_listing_that_breaks_midway_removes_nothing(web, couch, settings, fake_radarr, fake_sonarr):
    fake_radarr.add_many(2000)
    fake_sonarr.add_many(100)
    ok(reconcile(web))
    for tmdb_id in range(1500, 1550):
        fake_radarr.remove(tmdb_id)
    fake_sonarr.remove(50)
    fake_radarr.list_fail_after = 300  # the body stops after 300 titles
    resp = reconcile(web)
    assert resp.status_code == 502
    body = resp.json()
    assert body["removed"] == 1  # only the series: Sonarr's listing was complete
    [error] = body["errors"]
    assert error["instance"] == "radarr:default" and error["titles_read"] == 300
    assert error["code"] in ("listing_broken", "bad_response")  # cut-off chunked body / cut-off JSON
    movies = docs(couch, settings.movies_db)
    assert not [d for d in movies.values() if d["status"] == "removed"]
    fake_radarr.list_fail_after = None
    assert ok(reconcile(web))["removed"] == 50


@pytest.mark.parametrize("mode,code", [("503", "http_503"), ("close", "unreachable")])
def test_instance_down_is_reported_and_removes_nothing(web, couch, settings, fake_radarr, mode, code):
    fake_radarr.add_many(100)
    ok(reconcile(web))
    fake_radarr.remove(1)
    fake_radarr.fail_mode = mode
    resp = reconcile(web)
    assert resp.status_code == 502
    body = resp.json()
    assert [e["instance"] for e in body["errors"]] == ["radarr:default"]
    assert body["errors"][0]["code"] == code
    assert body["removed"] == 0 and couch.db(settings.movies_db).get("tmdb:1")["status"] != "removed"


# --------------------------------------------------------------------------- several instances


def test_several_instances(couch, settings, fake_radarr, fake_radarr_4k):
    two = dataclasses.replace(settings, radarr=settings.radarr + (
        ArrInstance("radarr", "4k", fake_radarr_4k.url, fake_radarr_4k.api_key, 1, "/movies4k",
                    instance_name="Radarr 4K"),))
    web = Sidecar(two)
    try:
        fake_radarr.add_many(100, start_id=1)
        fake_radarr_4k.add_many(100, start_id=51, has_file=True)
        assert counts(ok(reconcile(web))) == (150, 0, 0, 0)
        movies = docs(couch, settings.movies_db)
        assert set(movies["tmdb:60"]["instances"]) == {"default", "4k"}
        assert movies["tmdb:60"]["status"] == "downloaded"  # the 4k copy has the file
        assert movies["tmdb:120"]["instance"] == "4k" and movies["tmdb:10"]["instance"] == "default"

        fake_radarr_4k.remove(60)  # gone from 4k, still in default
        fake_radarr.remove(10)  # gone from its only instance
        body = ok(reconcile(web))
        assert counts(body)[:3] == (0, 1, 1)
        movies = docs(couch, settings.movies_db)
        assert set(movies["tmdb:60"]["instances"]) == {"default"} and movies["tmdb:60"]["status"] == "wanted"
        assert movies["tmdb:10"]["status"] == "removed"

        fake_radarr_4k.stop()  # 4k away: its titles keep their 4k entries
        fake_radarr.remove(70)
        resp = reconcile(web)
        assert resp.status_code == 502 and [e["instance"] for e in resp.json()["errors"]] == ["radarr:4k"]
        movies = docs(couch, settings.movies_db)
        assert set(movies["tmdb:70"]["instances"]) == {"4k"} and movies["tmdb:70"]["status"] == "downloaded"
        assert set(movies["tmdb:120"]["instances"]) == {"4k"}
    finally:
        web.stop()


# --------------------------------------------------------------------------- one at a time


def lock_held(couch, settings):
    doc = couch.db(settings.sidecar_db).get(LOCK_ID)
    return doc if doc and not doc.get("released") else None


def test_two_reconciles_at_once_one_gets_409(web, couch, settings, fake_radarr):
    fake_radarr.add_many(30)
    fake_radarr.delay = 3.0  # the first run sits in the Radarr listing
    first: dict = {}
    thread = threading.Thread(target=lambda: first.update(resp=reconcile(web)))
    thread.start()
    holder = wait_for(lambda: lock_held(couch, settings), message="first run holds the lock")
    second = reconcile(web)
    assert second.status_code == 409 and second.json()["error"] == "reconcile_running"
    assert second.json()["expires_at"].endswith("Z")  # ISO 8601 like every other time
    assert holder["owner"] in second.json()["message"]
    # another process (the CLI, as cron might run it) is refused the same way
    cli = subprocess.run([sys.executable, "-m", "sidecar", "reconcile"], cwd=ROOT, env=settings_env(settings),
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 1 and "reconcile_running" in cli.stdout
    thread.join(60)
    assert counts(ok(first["resp"])) == (30, 0, 0, 0)
    assert couch.db(settings.sidecar_db).get(LOCK_ID)["released"] is True
    fake_radarr.delay = 0
    assert ok(reconcile(web))["unchanged"] == 30  # free again


def test_expired_lock_of_a_crashed_run_is_taken_over(web, couch, settings, fake_radarr):
    fake_radarr.add_many(5)
    db = couch.db(settings.sidecar_db)
    db.put({"_id": LOCK_ID, "owner": "crashed-host:1", "acquired_at": "2026-01-01T00:00:00Z",
            "expires": time.time() - 1, "released": False})
    assert counts(ok(reconcile(web)))[0] == 5
    live = db.get(LOCK_ID)
    db.put(dict(live, owner="other-host:2", released=False, expires=time.time() + 60))
    busy = reconcile(web)
    assert busy.status_code == 409 and "other-host:2" in busy.json()["message"]


# --------------------------------------------------------------------------- the endpoint and the CLI


def test_reconcile_needs_the_token_and_post(web, couch, settings):
    get = requests.get(f"{web.url}/reconcile", headers=TOKEN, timeout=10)
    assert get.status_code == 405 and "POST" in get.headers["Allow"] and get.json()["error"]
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic cmFkYXJyOmhvb2stc2VjcmV0LXB3"}):
        resp = reconcile(web, headers)
        assert resp.status_code == 401 and resp.json()["error"] == "unauthorized"
    assert couch.db(settings.movies_db).get(LOCK_ID) is None  # refused before anything ran
    assert reconcile(web, {"X-Reconcile-Token": "reconcile-secret-token"}).status_code == 200


def test_couchdb_down_is_503_and_the_cli_reports_it(settings):
    down = dataclasses.replace(settings, couchdb_url=f"http://127.0.0.1:{free_port()}")
    web = Sidecar(down)
    try:
        resp = reconcile(web)
        assert resp.status_code == 503 and resp.json()["error"] == "couchdb_unavailable"
    finally:
        web.stop()
    result = run_reconcile(down)
    assert result["errors"][0]["code"] == "couchdb_unavailable"


def test_cli_function_runs_a_reconcile(couch, settings, fake_radarr, fake_sonarr):
    fake_radarr.add_many(10)
    fake_sonarr.add_many(3)
    result = run_reconcile(settings)
    assert counts(result) == (10 + 3, 0, 0, 0) and result["errors"] == []
    last = couch.db(settings.sidecar_db).get("result:reconcile")
    assert last["added"] == 13 and last["outcome"] == "ok"
    json.dumps(result)  # what the CLI prints


# --------------------------------------------------------------------------- the streaming parser


@pytest.mark.parametrize("chunk", [1, 2, 5, 64, 1 << 20])
def test_streamed_array_parses_like_json_loads(chunk):
    items = [{"id": i, "title": "Amélie " * (i % 4), "n": [1.5, None, True], "s": "\\\"]},"} for i in range(40)]
    raw = json.dumps(items, ensure_ascii=False).encode("utf-8")
    assert list(iter_json_array(raw[i:i + chunk] for i in range(0, len(raw), chunk))) == items


@pytest.mark.parametrize("raw", [b"", b"{}", b"[", b'[{"a": 1},', b'[{"a": 1}', b'[{"a": 1} {"b": 2}]', b'[{"a": ]'])
def test_streamed_array_refuses_broken_input(raw):
    with pytest.raises(ValueError):
        list(iter_json_array([raw]))


def test_a_title_written_after_the_listing_began_is_neither_removed_nor_overwritten(couch, settings, fake_radarr):
    from sidecar.couch import Couch

    fake_radarr.add_many(3)
    result = {"errors": [], "instances": {}, "added": 0, "updated": 0, "removed": 0, "unchanged": 0, "write_errors": 0}
    kr = KindReconcile(settings, Couch(settings.couchdb_url, settings.couch_auth), "movie", "radarr", result)
    kr.read_libraries()
    # meanwhile the worker adds tmdb:777 (not in the listing just read) and a Download webhook
    # marks tmdb:1 downloaded
    db = couch.db(settings.movies_db)
    db.put(merge(None, "movie", 777, "worker", facts={"title": "Late"}, instance="default",
                 entry={"id": 99, "monitored": True, "hasFile": False}))
    db.put(merge(None, "movie", 1, "webhook:Download", facts={"title": "Movie 1"}, instance="default",
                 entry={"id": 1, "monitored": True, "hasFile": True}))
    kr.reconcile_collection()
    assert db.get("tmdb:777")["status"] == "wanted"  # not tombstoned by the older listing
    assert db.get("tmdb:1")["status"] == "downloaded"  # not put back to wanted
    assert db.get("tmdb:2") is not None and db.get("tmdb:3") is not None
