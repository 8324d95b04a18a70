"""Webhooks over real HTTP: every example payload from ../shared/reference/servarr/webhooks replayed
into the running sidecar, then the collection docs checked; auth, malformed input, size limit,
instances, the buffer hand-over and CouchDB outages."""
from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest

from sidecar.config import ArrInstance
from tests.conftest import free_port, movie_request, series_request

EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "servarr" / "webhooks"


def example(name: str) -> dict:
    path = EXAMPLES / f"{name}.json"
    if not path.exists():
        pytest.skip(f"example webhook payloads not found at {EXAMPLES} (the ../shared reference checkout)")
    return json.loads(path.read_text(encoding="utf-8"))


def example_names() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob("*.json")) or ["(no examples found)"]


# --------------------------------------------------------------------------- fixtures


def movies(couch, settings):
    return couch.db(settings.movies_db)


def series(couch, settings):
    return couch.db(settings.series_db)


def title_docs(db) -> list[dict]:
    return [r["doc"] for r in db.all_docs() if not r["id"].startswith("_")]


def nothing_written(couch, settings) -> bool:
    return not title_docs(movies(couch, settings)) and not title_docs(series(couch, settings))


# --------------------------------------------------------------------------- every example payload

# what each example does to a collection that does not know the title yet (fakes hold nothing)
EXPECTED = {
    "radarr-Test": None, "radarr-Rename": None, "radarr-Health": None, "radarr-HealthRestored": None,
    "radarr-ApplicationUpdate": None, "radarr-ManualInteractionRequired": None,
    "radarr-MovieDelete": None,  # an unknown title: nothing to tombstone
    "radarr-Grab": ("tmdb:949", "grabbed"),
    "radarr-Download": ("tmdb:949", "downloaded"),
    "radarr-Download-upgrade": ("tmdb:949", "downloaded"),
    "radarr-MovieAdded": ("tmdb:949", "unmonitored"),  # not in the fake: `monitored` unknown
    "radarr-MovieFileDelete": ("tmdb:949", "unmonitored"),
    "sonarr-Test": None, "sonarr-Rename": None, "sonarr-Health": None, "sonarr-HealthRestored": None,
    "sonarr-ApplicationUpdate": None, "sonarr-ManualInteractionRequired": None,
    "sonarr-SeriesDelete": None,
    "sonarr-Grab": ("tvdb:371980", "grabbed"),
    "sonarr-Download": ("tvdb:371980", "downloaded"),
    "sonarr-Download-upgrade": ("tvdb:371980", "downloaded"),
    "sonarr-Download-ImportComplete": ("tvdb:371980", "downloaded"),
    "sonarr-SeriesAdd": ("tvdb:371980", "unmonitored"),
    "sonarr-EpisodeFileDelete": ("tvdb:371980", "unmonitored"),  # reason "upgrade": hasFile untouched
}


@pytest.mark.parametrize("name", example_names())
def test_every_example_payload_is_handled(name, web, couch, settings):
    payload = example(name)
    assert name in EXPECTED, f"new example payload {name}: add what it should do to EXPECTED"
    arr = name.split("-")[0]
    resp = web.hook(arr, payload)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["ok"] is True and body["event"] == payload["eventType"] and body["instance"] == "default"
    expected = EXPECTED[name]
    if expected is None:
        assert nothing_written(couch, settings)
        return
    doc_id, status = expected
    db = movies(couch, settings) if arr == "radarr" else series(couch, settings)
    doc = db.get(doc_id)
    assert doc is not None and doc["status"] == status, doc
    assert body["doc_id"] == doc_id and body["status"] == status
    resource = payload["movie"] if arr == "radarr" else payload["series"]
    assert doc["title"] == resource["title"] and doc["year"] == resource["year"]
    assert doc["instances"]["default"]["id"] == resource["id"]
    assert doc["source"] == "webhook" and doc["instance"] == "default"
    # the same webhook again changes nothing
    again = web.hook(arr, payload)
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    assert db.get(doc_id)["_rev"] == doc["_rev"]


# --------------------------------------------------------------------------- lifecycles


def test_movie_lifecycle_never_goes_backwards(web, couch, settings, fake_radarr):
    fake_radarr.add_existing(949, title="Heat", monitored=True, id=42)  # added in Radarr's own UI
    db = movies(couch, settings)
    added = web.hook("radarr", example("radarr-MovieAdded")).json()
    assert added["status"] == "wanted"  # monitored, read back from Radarr
    doc = db.get("tmdb:949")
    assert doc["instances"]["default"]["monitored"] is True and doc["radarrId"] == fake_radarr.find(949)["id"]
    created_at = doc["created_at"]
    assert web.hook("radarr", example("radarr-Grab")).json()["status"] == "grabbed"
    assert web.hook("radarr", example("radarr-Download")).json()["status"] == "downloaded"
    doc = db.get("tmdb:949")
    assert doc["hasFile"] is True and doc["grabbed"] is False
    # a late Grab (an upgrade search, or just delivered late) does not undo "downloaded"
    assert web.hook("radarr", example("radarr-Grab")).json()["status"] == "downloaded"
    assert web.hook("radarr", example("radarr-Download-upgrade")).json()["status"] == "downloaded"
    # a file deleted for an upgrade is replaced by the Download that goes with it
    upgrade_delete = example("radarr-MovieFileDelete")
    upgrade_delete["deleteReason"] = "upgrade"
    assert web.hook("radarr", upgrade_delete).json()["status"] == "downloaded"
    # deleted by hand: back to wanted
    deleted_file = web.hook("radarr", example("radarr-MovieFileDelete")).json()
    assert deleted_file["status"] == "wanted"
    doc = db.get("tmdb:949")
    assert doc["hasFile"] is False and doc["grabbed"] is False
    # gone from Radarr: a kept tombstone
    gone = web.hook("radarr", example("radarr-MovieDelete")).json()
    assert gone["status"] == "removed" and gone["outcome"] == "written"
    doc = db.get("tmdb:949")
    assert doc["status"] == "removed" and doc["removed_at"] and doc["instances"] == {}
    assert doc["title"] == "Heat" and doc["created_at"] == created_at
    assert web.hook("radarr", example("radarr-MovieDelete")).json()["outcome"] == "unchanged"


def test_series_lifecycle_with_statistics_from_sonarr(web, couch, settings, fake_sonarr):
    fake_sonarr.set_catalog(371980, title="Severance", year=2022, imdbId="tt11280740", tmdbId=95396, seasons=[(0, 0), (1, 9), (2, 10)])
    fake_sonarr.add_existing(371980, monitored=True, id=17)
    fake_sonarr.set_episode_files(371980, 0)
    db = series(couch, settings)
    assert web.hook("sonarr", example("sonarr-SeriesAdd")).json()["status"] == "wanted"
    doc = db.get("tvdb:371980")
    assert doc["statistics"]["episodeFileCount"] == 0 and doc["instances"]["default"]["monitored"] is True
    assert web.hook("sonarr", example("sonarr-Grab")).json()["status"] == "grabbed"
    # one episode imported: Sonarr's fresh statistics say 1 of 19
    fake_sonarr.set_episode_files(371980, 1)
    assert web.hook("sonarr", example("sonarr-Download")).json()["status"] == "partial"
    doc = db.get("tvdb:371980")
    assert doc["hasFile"] is True and doc["grabbed"] is False and doc["statistics"]["episodeFileCount"] == 1
    # the whole season pack and the rest: complete
    fake_sonarr.set_episode_files(371980, 19)
    assert web.hook("sonarr", example("sonarr-Download-ImportComplete")).json()["status"] == "downloaded"
    # deleted for an upgrade: nothing changes
    assert web.hook("sonarr", example("sonarr-EpisodeFileDelete")).json()["outcome"] == "unchanged"
    # every file deleted by hand: Sonarr's statistics say 0 files → back to wanted
    fake_sonarr.set_episode_files(371980, 0)
    manual = example("sonarr-EpisodeFileDelete")
    manual["deleteReason"] = "manual"
    assert web.hook("sonarr", manual).json()["status"] == "wanted"
    assert web.hook("sonarr", example("sonarr-SeriesDelete")).json()["status"] == "removed"
    assert db.get("tvdb:371980")["status"] == "removed"


def test_episode_file_delete_without_sonarr_uses_last_known_counts(web, couch, settings, fake_sonarr):
    fake_sonarr.set_catalog(371980, title="Severance", year=2022, imdbId="tt11280740", tmdbId=95396, seasons=[(1, 9), (2, 10)])
    fake_sonarr.add_existing(371980, monitored=True, id=17)
    fake_sonarr.set_episode_files(371980, 1)
    web.hook("sonarr", example("sonarr-SeriesAdd"))
    assert series(couch, settings).get("tvdb:371980")["status"] == "partial"
    fake_sonarr.fail_mode = "503"  # the lookup fails: decide from what we know
    manual = example("sonarr-EpisodeFileDelete")
    manual["deleteReason"] = "manual"
    resp = web.hook("sonarr", manual).json()
    assert resp["status"] == "wanted" and resp["outcome"] == "written"  # that was the only file
    # with several files known and no lookup, hasFile is left for reconcile
    fake_sonarr.fail_mode = None
    fake_sonarr.set_episode_files(371980, 5)
    web.hook("sonarr", example("sonarr-SeriesAdd"))
    fake_sonarr.fail_mode = "503"
    assert web.hook("sonarr", manual).json()["status"] == "partial"


def test_added_in_radarr_unmonitored_shows_unmonitored(web, couch, settings, fake_radarr):
    fake_radarr.add_existing(949, title="Heat", monitored=False, id=42)
    assert web.hook("radarr", example("radarr-MovieAdded")).json()["status"] == "unmonitored"


# --------------------------------------------------------------------------- the buffer hand-over


def test_webhook_completes_a_waiting_request(web, couch, settings):
    buffer = couch.db(settings.movies_buffer_db)
    buffer.put(movie_request(949, requested_by="ann"))
    resp = web.hook("radarr", example("radarr-Grab")).json()
    assert resp["buffer"] == "completed" and resp["status"] == "grabbed"
    assert buffer.get("tmdb:949") is None
    doc = movies(couch, settings).get("tmdb:949")
    assert doc["requested"] == {"action": "download", "at": "2026-11-25T10:00:00Z", "by": "ann"}


def test_webhook_leaves_a_claimed_request_to_the_worker(web, couch, settings):
    buffer = couch.db(settings.movies_buffer_db)
    buffer.put(movie_request(949, state="processing", claimed_by="w1", claimed_at="2026-11-25T10:00:01Z", attempts=1))
    resp = web.hook("radarr", example("radarr-Download")).json()
    assert resp["buffer"] == "left_for_worker" and resp["status"] == "downloaded"
    assert buffer.get("tmdb:949")["state"] == "processing"
    assert "requested" not in movies(couch, settings).get("tmdb:949")


def test_webhook_does_not_complete_an_unfulfilled_request(web, couch, settings, fake_radarr):
    # asked to download through us, but someone added it unmonitored in Radarr: the worker
    # still has to monitor and search it
    fake_radarr.add_existing(949, title="Heat", monitored=False, id=42)
    buffer = couch.db(settings.movies_buffer_db)
    buffer.put(movie_request(949))
    resp = web.hook("radarr", example("radarr-MovieAdded")).json()
    assert resp["buffer"] == "left_for_worker" and buffer.get("tmdb:949").get("state", "new") == "new"


def test_webhook_from_another_instance_leaves_the_request(sidecar, couch, settings, fake_radarr):
    two = dataclasses.replace(settings, radarr=settings.radarr + (
        ArrInstance("radarr", "4k", fake_radarr.url, fake_radarr.api_key, 1, "/movies4k", instance_name="Radarr4K"),))
    web = sidecar(two)
    buffer = couch.db(settings.movies_buffer_db)
    buffer.put(movie_request(949, instance="4k"))
    assert web.hook("radarr", example("radarr-Grab")).json()["buffer"] == "left_for_worker"
    assert buffer.get("tmdb:949") is not None
    grab = example("radarr-Grab")
    grab["instanceName"] = "Radarr4K"
    assert web.hook("radarr", grab).json()["buffer"] == "completed"
    assert buffer.get("tmdb:949") is None


def test_buffer_doc_changed_meanwhile_is_left_alone(web, couch, settings):
    from sidecar.webhooks import Hook, _complete_buffer

    buffer = couch.db(settings.series_buffer_db)
    stale = series_request(371980)
    buffer.put(stale)
    stale = dict(stale)
    fresh = dict(stale)
    fresh["state"] = "processing"  # the worker claimed it after we read it
    buffer.put(fresh)
    with web.app.app_context():
        hook = Hook(arr="sonarr", instance=settings.sonarr[0], settings=settings, event="Grab")
        assert _complete_buffer(hook, stale) == "left_for_worker"
    assert buffer.get("tvdb:371980")["state"] == "processing"


# --------------------------------------------------------------------------- instances


def test_instance_from_path_payload_name_or_first(sidecar, couch, settings, fake_radarr):
    two = dataclasses.replace(settings, radarr=settings.radarr + (
        ArrInstance("radarr", "4k", fake_radarr.url, fake_radarr.api_key, 1, "/movies4k", instance_name="Radarr-4K"),))
    web = sidecar(two)
    grab = example("radarr-Grab")
    assert web.hook("radarr", grab).json()["instance"] == "default"  # "Radarr" matches nothing: first
    grab["instanceName"] = "radarr-4k"  # case-insensitive
    assert web.hook("radarr", grab).json()["instance"] == "4k"
    grab["instanceName"] = "Radarr"
    assert web.hook("radarr", grab, instance="4k").json()["instance"] == "4k"  # the path wins
    doc = movies(couch, settings).get("tmdb:949")
    assert set(doc["instances"]) == {"default", "4k"}
    # removed from 4k only: still there in default
    delete = example("radarr-MovieDelete")
    assert web.hook("radarr", delete, instance="4k").json()["status"] == "grabbed"
    assert set(movies(couch, settings).get("tmdb:949")["instances"]) == {"default"}
    missing = web.hook("radarr", grab, instance="nope")
    assert missing.status_code == 404 and missing.json()["error"] == "unknown_instance"


def test_no_instance_configured_is_404(sidecar, couch, settings):
    web = sidecar(dataclasses.replace(settings, sonarr=()))
    resp = web.hook("sonarr", example("sonarr-Grab"))
    assert resp.status_code == 404 and "SONARR_URL" in resp.json()["message"]
    assert nothing_written(couch, settings)


def test_put_method_works_too(web, couch, settings):
    assert web.hook("radarr", example("radarr-Grab"), method="PUT").status_code == 200
    assert movies(couch, settings).get("tmdb:949")["status"] == "grabbed"


# --------------------------------------------------------------------------- refusals (no example files needed)

MINIMAL_GRAB = {"eventType": "Grab", "instanceName": "Radarr",
                "movie": {"id": 7, "title": "Minimal", "year": 2001, "tmdbId": 4242}}


@pytest.mark.parametrize("auth", [None, ("radarr", "wrong"), ("someone", "hook-secret-pw")])
def test_webhook_needs_basic_auth(web, couch, settings, auth):
    resp = web.hook("radarr", MINIMAL_GRAB, auth=auth)
    assert resp.status_code == 401 and resp.json()["error"] == "unauthorized"
    assert resp.headers["WWW-Authenticate"].startswith("Basic")
    assert nothing_written(couch, settings)


def test_minimal_grab_without_the_reference_files(web, couch, settings):
    resp = web.hook("radarr", MINIMAL_GRAB)
    assert resp.status_code == 200 and resp.json()["status"] == "grabbed"
    assert movies(couch, settings).get("tmdb:4242")["title"] == "Minimal"


@pytest.mark.parametrize("data,ctype,error,words", [
    (b"{not json", "application/json", "malformed_json", "not valid JSON"),
    (b'{"eventType": "Grab"', "application/json", "malformed_json", "not valid JSON"),
    (b"\xff\xfe", "application/json", "malformed_json", "not valid JSON"),
    (b"[" * 5000 + b"]" * 5000, "application/json", "malformed_json", "nested too deeply"),
    (json.dumps(MINIMAL_GRAB).encode(), "text/plain", "unsupported_content_type", "application/json"),
    (json.dumps(MINIMAL_GRAB).encode(), None, "unsupported_content_type", "application/json"),
    (b"[1, 2]", "application/json", "malformed_payload", "JSON object"),
    (b'{"movie": {"tmdbId": 1}}', "application/json", "invalid_payload", "eventType"),
    (b'{"eventType": ""}', "application/json", "invalid_payload", "eventType"),
    (json.dumps({"eventType": "Grab", "movie": {"title": "x"}}).encode(), "application/json", "invalid_payload",
     "movie.tmdbId: Field required"),
    (json.dumps({"eventType": "Grab"}).encode(), "application/json", "invalid_payload", "movie: Field required"),
    (json.dumps({"eventType": "Download", "movie": {"tmdbId": "949"}}).encode(), "application/json",
     "invalid_payload", "movie.tmdbId"),
    (json.dumps({"eventType": "MovieDelete", "movie": {"tmdbId": 0}}).encode(), "application/json",
     "invalid_payload", "greater than 0"),
    (json.dumps({"eventType": "Grab", "movie": {"tmdbId": True}}).encode(), "application/json",
     "invalid_payload", "movie.tmdbId"),
])
def test_bad_input_is_400_with_a_clear_error_and_nothing_written(web, couch, settings, data, ctype, error, words):
    headers = {"Content-Type": ctype} if ctype else {}
    resp = web.hook("radarr", None, data=data, headers=headers)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["error"] == error and words in body["message"], body
    assert nothing_written(couch, settings)


def test_radarr_payload_sent_to_sonarr_says_so(web, couch, settings):
    resp = web.hook("sonarr", MINIMAL_GRAB)
    assert resp.status_code == 400 and "/webhooks/radarr" in resp.json()["message"]


def test_unknown_event_is_accepted_and_ignored(web, couch, settings):
    resp = web.hook("radarr", {"eventType": "MovieExploded", "movie": {"tmdbId": 5}})
    assert resp.status_code == 202 and resp.json()["outcome"] == "unknown_event"
    assert nothing_written(couch, settings)


def test_body_over_the_limit_is_413(sidecar, couch, settings):
    web = sidecar(dataclasses.replace(settings, max_body_bytes=2000))
    big = dict(MINIMAL_GRAB, padding="x" * 5000)
    resp = web.hook("radarr", big)
    assert resp.status_code == 413 and resp.json()["error"] == "payload_too_large"
    # chunked (no Content-Length): still refused once the stream passes the limit
    raw = json.dumps(big).encode()
    chunked = web.hook("radarr", None, data=(raw[i:i + 512] for i in range(0, len(raw), 512)),
                       headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413
    assert nothing_written(couch, settings)
    assert web.hook("radarr", MINIMAL_GRAB).status_code == 200  # under the limit: fine


def test_couchdb_down_is_503_never_200_or_500(sidecar, settings, couch):
    down = dataclasses.replace(settings, couchdb_url=f"http://127.0.0.1:{free_port()}")
    web = sidecar(down)
    resp = web.hook("radarr", MINIMAL_GRAB)
    assert resp.status_code == 503 and resp.json()["error"] == "couchdb_unavailable"
    assert resp.headers.get("Retry-After")
    # a Test webhook writes nothing, so it still passes
    assert web.hook("radarr", {"eventType": "Test", "instanceName": "Radarr"}).status_code == 200


def test_one_log_line_per_event_and_no_secrets(sidecar, couch, settings, capfd):
    web = sidecar()  # created here, so its log handler writes into capfd
    web.hook("radarr", MINIMAL_GRAB)
    web.hook("radarr", {"eventType": "Health", "level": "warning", "type": "IndexerStatusCheck",
                        "message": "Indexers unavailable"})
    web.hook("radarr", MINIMAL_GRAB, auth=("radarr", "wrong-password"))
    err = capfd.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    events = [rec for rec in lines if rec.get("logger") == "sidecar.webhooks"]
    grab = [rec for rec in events if rec.get("event") == "Grab"]
    assert len(grab) == 1 and grab[0]["doc_id"] == "tmdb:4242" and grab[0]["outcome"] == "written"
    assert any(rec.get("event") == "Health" and "Indexers unavailable" in rec["msg"] for rec in events)
    assert any(rec.get("outcome") == "unauthorized" for rec in events)
    for secret in ("hook-secret-pw", "wrong-password", "reconcile-secret-token", settings.radarr[0].api_key):
        assert secret not in err


def test_payloads_are_not_mutated_by_validation():
    # the models ignore unknown fields but keep the ids strict
    from sidecar.webhooks import MovieDownload

    data = copy.deepcopy(MINIMAL_GRAB) | {"eventType": "Download", "isUpgrade": True, "brandNewField": 1}
    model = MovieDownload.model_validate(data)
    assert model.isUpgrade is True and model.movie.tmdbId == 4242
