"""Design documents on the real server: push_design idempotence and every validate rule."""
from __future__ import annotations

import subprocess
import sys

import pytest

from sidecar.couch import Forbidden
from sidecar.design import push_all
from tests.conftest import ROOT, movie_request, series_request, settings_env


def test_push_design_is_idempotent(settings, couch):
    # the fixture pushed once already: a second push writes nothing
    assert {r.outcome for r in push_all(settings)} == {"unchanged"}
    rev_before = couch.db(settings.movies_buffer_db).get("_design/buffer")["_rev"]
    assert {r.outcome for r in push_all(settings)} == {"unchanged"}
    assert couch.db(settings.movies_buffer_db).get("_design/buffer")["_rev"] == rev_before


def test_push_design_updates_changed_doc_and_dry_run_writes_nothing(settings, couch):
    db = couch.db(settings.movies_db)
    doc = db.get("_design/collection")
    doc["views"]["by_status"]["map"] = "function (doc) {}"
    db.put(doc)
    dry = {(r.db, r.outcome) for r in push_all(settings, dry_run=True)}
    assert (settings.movies_db, "would update") in dry
    assert db.get("_design/collection")["views"]["by_status"]["map"] == "function (doc) {}"
    outcomes = {r.db: r.outcome for r in push_all(settings)}
    assert outcomes[settings.movies_db] == "updated"
    assert outcomes[settings.series_db] == "unchanged"
    assert "emit" in db.get("_design/collection")["views"]["by_status"]["map"]


def test_push_design_script_prints_outcomes_and_creates_databases(settings, couch):
    env = settings_env(settings)
    env["MOVIES_DB"] = settings.movies_db + "_extra"
    out = subprocess.run([sys.executable, "scripts/push_design.py"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    try:
        assert out.returncode == 0, out.stderr
        assert f"created      {settings.movies_db}_extra/_design/collection (database created)" in out.stdout
        assert f"unchanged    {settings.movies_buffer_db}/_design/buffer" in out.stdout
    finally:
        couch.db(settings.movies_db + "_extra").delete_db()


def test_push_design_script_unreachable_server_exits_nonzero(settings):
    env = settings_env(settings)
    env["COUCHDB_URL"] = "http://127.0.0.1:9"
    out = subprocess.run([sys.executable, "scripts/push_design.py"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "cannot reach CouchDB at http://127.0.0.1:9" in out.stderr


def put(couch, db, doc):
    return couch.db(db).put(dict(doc))


@pytest.mark.parametrize("change, reason", [
    ({"type": "book"}, 'type must be "movie" or "series"'),
    ({"tmdbId": 0}, "tmdbId must be a positive whole number"),
    ({"tmdbId": "603"}, "tmdbId must be a positive whole number"),
    ({"tmdbId": 604}, '_id must be "tmdb:604"'),
    ({"title": ""}, "title must be a non-empty string"),
    ({"title": "x" * 501}, "title is longer than 500 characters"),
    ({"year": 99}, "year must be a whole number between 1870 and 2200"),
    ({"action": "grab"}, 'action must be "download"'),
    ({"requested_at": "yesterday"}, "requested_at must be an ISO 8601 time"),
    ({"requested_by": 5}, "requested_by must be a string"),
    ({"instance": "bad name!"}, "instance must be an instance name"),
    ({"options": []}, "options must be an object"),
    ({"options": {"quality": 1}}, "options.quality is not a known option for a movie"),
    ({"options": {"qualityProfileId": -1}}, "options.qualityProfileId must be a positive whole number"),
    ({"options": {"rootFolderPath": ""}}, "options.rootFolderPath must be a non-empty path"),
    ({"options": {"minimumAvailability": "soon"}}, "options.minimumAvailability must be"),
    ({"options": {"tags": ["hd"]}}, "options.tags must be a list of tag ids"),
    ({"state": "done"}, "state must be one of new, processing, retry, failed"),
])
def test_buffer_rejects_malformed_movie_with_reason(settings, couch, change, reason):
    doc = movie_request(603)
    doc.update(change)
    with pytest.raises(Forbidden) as err:
        put(couch, settings.movies_buffer_db, doc)
    assert reason in err.value.reason
    assert couch.db(settings.movies_buffer_db).get("tmdb:603") is None


@pytest.mark.parametrize("change, reason", [
    ({"options": {"seasons": [1, "two"]}}, "options.seasons must be a list of season numbers"),
    ({"options": {"monitor": "everything"}}, "options.monitor must be one of"),
    ({"options": {"seriesType": "soap"}}, "options.seriesType must be"),
    ({"options": {"minimumAvailability": "released"}}, "options.minimumAvailability is not a known option for a series"),
    ({"_id": "tmdb:81189"}, '_id must be "tvdb:81189"'),
])
def test_buffer_rejects_malformed_series_with_reason(settings, couch, change, reason):
    doc = series_request(81189)
    doc.update(change)
    with pytest.raises(Forbidden) as err:
        put(couch, settings.series_buffer_db, doc)
    assert reason in err.value.reason


def test_buffer_db_takes_only_its_kind(settings, couch):
    with pytest.raises(Forbidden) as err:
        put(couch, settings.movies_buffer_db, series_request(81189))
    assert "takes movie requests only" in err.value.reason
    with pytest.raises(Forbidden):
        put(couch, settings.series_buffer_db, movie_request(603))


def test_buffer_accepts_well_formed_requests(settings, couch):
    put(couch, settings.movies_buffer_db, movie_request(603, options={
        "qualityProfileId": 4, "rootFolderPath": "/movies4k", "minimumAvailability": "announced", "tags": [1]}))
    put(couch, settings.series_buffer_db, series_request(81189, action="monitor", requested_by="ann",
                                                          instance="4k", options={"seasons": [1, 2]}))
    assert couch.db(settings.movies_buffer_db).get("tmdb:603")["options"]["qualityProfileId"] == 4
    assert couch.db(settings.series_buffer_db).get("tvdb:81189")["action"] == "monitor"


def test_same_title_twice_is_a_conflict_not_a_duplicate(settings, couch):
    from sidecar.couch import Conflict

    put(couch, settings.movies_buffer_db, movie_request(603))
    with pytest.raises(Conflict):
        put(couch, settings.movies_buffer_db, movie_request(603))
    rows = couch.db(settings.movies_buffer_db).all_docs(include_docs=False, startkey="tmdb:", endkey="tmdb:\ufff0")
    assert [r["id"] for r in rows] == ["tmdb:603"]


def test_views_flag_pending_retry_failed_and_count_by_state(settings, couch):
    db = couch.db(settings.movies_buffer_db)
    put(couch, settings.movies_buffer_db, movie_request(1))
    put(couch, settings.movies_buffer_db, movie_request(2, state="retry", attempts=1, next_attempt_at="2026-11-25T11:00:00Z",
                                                         last_error={"code": "timeout", "message": "slow", "at": "2026-11-25T10:59:00Z"}))
    put(couch, settings.movies_buffer_db, movie_request(3, state="failed", attempts=1,
                                                         last_error={"code": "http_400", "message": "A movie with this ID was not found", "at": "2026-11-25T10:00:01Z"}))
    pending = db.view("buffer", "pending", reduce=False)["rows"]
    assert [(r["key"][0], r["id"]) for r in pending] == [("new", "tmdb:1"), ("retry", "tmdb:2")]
    failed = db.view("buffer", "failed", reduce=False)["rows"]
    assert failed[0]["id"] == "tmdb:3" and "not found" in failed[0]["value"]["message"]
    counts = {r["key"][0]: r["value"] for r in db.view("buffer", "by_state", group_level=1)["rows"]}
    assert counts == {"new": 1, "retry": 1, "failed": 1}
    # the feed filter passes only what the worker has to do
    changes = db.changes(filter="buffer/pending")["results"]
    assert sorted(c["id"] for c in changes) == ["tmdb:1", "tmdb:2"]
