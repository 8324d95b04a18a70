"""The worker end to end: buffer doc on the real server → fake Radarr/Sonarr over HTTP →
collection doc, buffer emptied."""
from __future__ import annotations

import time

from tests.conftest import movie_request, series_request, wait_for


def moved(couch, settings, doc_id, kind="movie"):
    buffer_db = settings.movies_buffer_db if kind == "movie" else settings.series_buffer_db
    coll_db = settings.movies_db if kind == "movie" else settings.series_db
    coll = couch.db(coll_db).get(doc_id)
    return coll if coll and couch.db(buffer_db).get(doc_id) is None else None


def adds(fake, path):
    return [r for r in fake.requests_log if r["method"] == "POST" and r["path"] == path]


def test_download_movie_moves_to_collection_and_searches(settings, couch, fake_radarr, start_worker):
    start_worker()
    couch.db(settings.movies_buffer_db).put(movie_request(603, requested_by="ann"))
    doc = wait_for(lambda: moved(couch, settings, "tmdb:603"), message="tmdb:603 moved")
    assert fake_radarr.creations[603] == 1
    body = adds(fake_radarr, "/api/v3/movie")[0]["json"]
    assert body["tmdbId"] == 603 and body["monitored"] is True
    assert body["addOptions"]["searchForMovie"] is True
    assert body["qualityProfileId"] == 1 and body["rootFolderPath"] == "/movies"
    assert doc["status"] == "wanted" and doc["radarrId"] > 0 and doc["instance"] == "default"
    assert doc["requested"] == {"action": "download", "at": "2026-11-25T10:00:00Z", "by": "ann"}
    assert doc["source"] == "worker" and doc["hasFile"] is False


def test_monitor_adds_without_search(settings, couch, fake_radarr, fake_sonarr, start_worker):
    start_worker()
    couch.db(settings.movies_buffer_db).put(movie_request(604, action="monitor"))
    couch.db(settings.series_buffer_db).put(series_request(81189, action="monitor"))
    doc = wait_for(lambda: moved(couch, settings, "tmdb:604"), message="movie moved")
    sdoc = wait_for(lambda: moved(couch, settings, "tvdb:81189", "series"), message="series moved")
    assert adds(fake_radarr, "/api/v3/movie")[0]["json"]["addOptions"]["searchForMovie"] is False
    sbody = adds(fake_sonarr, "/api/v3/series")[0]["json"]
    assert sbody["addOptions"]["searchForMissingEpisodes"] is False and sbody["monitored"] is True
    assert sbody["title"] == "Series 81189"
    assert doc["status"] == "monitored" and sdoc["status"] == "monitored"
    assert sdoc["sonarrId"] > 0 and "statistics" in sdoc


def test_download_series_with_chosen_seasons(settings, couch, fake_sonarr, start_worker):
    start_worker()
    couch.db(settings.series_buffer_db).put(series_request(121361, options={"seasons": [1], "qualityProfileId": 4}))
    wait_for(lambda: moved(couch, settings, "tvdb:121361", "series"), message="series moved")
    body = adds(fake_sonarr, "/api/v3/series")[0]["json"]
    assert body["addOptions"]["searchForMissingEpisodes"] is True
    assert "monitor" not in body["addOptions"]  # season flags drive monitoring
    assert {s["seasonNumber"]: s["monitored"] for s in body["seasons"]}[1] is True
    assert body["qualityProfileId"] == 4


def test_title_already_in_radarr_is_success_not_a_second_add(settings, couch, fake_radarr, start_worker):
    existing = fake_radarr.add_existing(605, title="Already There", monitored=True)
    start_worker()
    couch.db(settings.movies_buffer_db).put(movie_request(605))
    doc = wait_for(lambda: moved(couch, settings, "tmdb:605"), message="moved")
    assert fake_radarr.creations[605] == 0
    # Radarr answered "already added" (400 MovieExistsValidator) and that counted as success
    assert len(adds(fake_radarr, "/api/v3/movie")) == 1
    assert doc["radarrId"] == existing["id"] and doc["title"] == "Already There"


def test_unmonitored_title_in_radarr_is_monitored_and_searched(settings, couch, fake_radarr, start_worker):
    existing = fake_radarr.add_existing(615, monitored=False)
    start_worker()
    couch.db(settings.movies_buffer_db).put(movie_request(615))
    doc = wait_for(lambda: moved(couch, settings, "tmdb:615"), message="moved")
    assert fake_radarr.find(615)["monitored"] is True
    puts = fake_radarr.log("PUT")
    assert puts and puts[0]["json"]["monitored"] is True
    searches = [r["json"] for r in fake_radarr.log("POST", "/api/v3/command")]
    assert searches == [{"name": "MoviesSearch", "movieIds": [existing["id"]]}]
    assert doc["status"] == "wanted" and doc["monitored"] is True


def test_timeout_then_found_is_success_with_one_creation(settings, couch, fake_radarr, start_worker):
    # Radarr is slower than our timeout: the POST lands but its answer is lost
    fake_radarr.delay = 3.0
    start_worker(arr_timeout=1.0)
    couch.db(settings.movies_buffer_db).put(movie_request(606))
    time.sleep(1.5)
    fake_radarr.delay = 0
    wait_for(lambda: moved(couch, settings, "tmdb:606"), timeout=20, message="moved after timeout")
    assert fake_radarr.creations[606] == 1


def test_transient_errors_retry_with_backoff_then_succeed(settings, couch, fake_radarr, start_worker):
    fake_radarr.fail_mode = "503"
    start_worker()
    db = couch.db(settings.movies_buffer_db)
    db.put(movie_request(607))
    retry = wait_for(lambda: (d := db.get("tmdb:607")) and d.get("state") == "retry" and d["attempts"] >= 3 and d,
                     message="three attempts")
    assert retry["last_error"]["code"] == "http_503"
    assert retry["next_attempt_at"] > retry["last_error"]["at"]
    tries = [r["time"] for r in fake_radarr.requests_log if r["path"] == "/api/v3/movie"]
    # backoff: 0.2 s, then 0.4 s (±20 % jitter): the gaps between attempts grow
    assert len(tries) >= 3 and tries[1] - tries[0] >= 0.15 and tries[2] - tries[1] >= 0.3
    fake_radarr.fail_mode = None
    doc = wait_for(lambda: moved(couch, settings, "tmdb:607"), timeout=15, message="moved after recovery")
    assert fake_radarr.creations[607] == 1 and doc["status"] == "wanted"


def test_permanent_error_fails_with_reason_and_is_not_retried(settings, couch, fake_radarr, start_worker):
    fake_radarr.unknown_ids.add(999999)
    start_worker()
    db = couch.db(settings.movies_buffer_db)
    db.put(movie_request(999999))
    doc = wait_for(lambda: (d := db.get("tmdb:999999")) and d.get("state") == "failed" and d, message="failed")
    assert "A movie with this ID was not found" in doc["last_error"]["message"]
    n = len(fake_radarr.requests_log)
    time.sleep(1.0)
    assert len(fake_radarr.requests_log) == n  # never retried blindly
    failed = db.view("buffer", "failed", reduce=False)["rows"]
    assert [r["id"] for r in failed] == ["tmdb:999999"]
    assert couch.db(settings.movies_db).get("tmdb:999999") is None


def test_failed_item_sent_again_by_the_user_is_retried(settings, couch, fake_radarr, start_worker):
    fake_radarr.unknown_ids.add(777)
    start_worker()
    db = couch.db(settings.movies_buffer_db)
    db.put(movie_request(777))
    doc = wait_for(lambda: (d := db.get("tmdb:777")) and d.get("state") == "failed" and d, message="failed")
    fake_radarr.unknown_ids.discard(777)
    doc["state"] = "new"
    db.put(doc)
    wait_for(lambda: moved(couch, settings, "tmdb:777"), message="moved after resend")


def test_crash_between_add_and_move_recovers_without_duplicate(settings, couch, fake_radarr, worker_process):
    db = couch.db(settings.movies_buffer_db)
    db.put(movie_request(608))
    first = worker_process(SIDECAR_CRASH_AT="after_add")
    assert first.wait(30) == 70  # died right after Radarr said 201
    assert fake_radarr.creations[608] == 1
    left = db.get("tmdb:608")
    assert left["state"] == "processing"
    assert couch.db(settings.movies_db).get("tmdb:608") is None
    worker_process()  # same WORKER_ID: takes its own claim over at once
    wait_for(lambda: moved(couch, settings, "tmdb:608"), timeout=20, message="recovered")
    assert fake_radarr.creations[608] == 1


def test_crash_after_collection_write_finishes_the_delete(settings, couch, fake_radarr, worker_process):
    db = couch.db(settings.movies_buffer_db)
    db.put(movie_request(609))
    assert worker_process(SIDECAR_CRASH_AT="after_collection_write").wait(30) == 70
    assert couch.db(settings.movies_db).get("tmdb:609") is not None and db.get("tmdb:609") is not None
    worker_process()
    wait_for(lambda: moved(couch, settings, "tmdb:609"), timeout=20, message="delete finished")
    assert fake_radarr.creations[609] == 1


def test_stale_claim_of_another_worker_is_taken_over(settings, couch, fake_radarr, start_worker):
    db = couch.db(settings.movies_buffer_db)
    db.put(movie_request(610, state="processing", claimed_by="dead-worker", claimed_at="2026-01-01T00:00:00Z", attempts=1))
    start_worker()
    wait_for(lambda: moved(couch, settings, "tmdb:610"), message="taken over")
    assert fake_radarr.creations[610] == 1


def test_restart_resumes_from_checkpoint(settings, couch, fake_radarr, start_worker):
    db = couch.db(settings.movies_buffer_db)
    state = couch.db(settings.sidecar_db)
    checkpoint_id = f"checkpoint:{settings.movies_buffer_db}:worker-{settings.worker_id}"
    w = start_worker()
    db.put(movie_request(611))
    wait_for(lambda: moved(couch, settings, "tmdb:611"), message="first moved")
    wait_for(lambda: state.get(checkpoint_id), message="checkpoint saved")
    w.stop()
    checkpoint = state.get(checkpoint_id)["seq"]
    db.put(movie_request(612))  # written while no worker runs
    start_worker()
    wait_for(lambda: moved(couch, settings, "tmdb:612"), message="second moved after restart")
    # the feed resumed after the checkpoint: the first title was not asked for again
    assert fake_radarr.creations[611] == 1 and fake_radarr.creations[612] == 1
    about_611 = [r for r in fake_radarr.requests_log
                 if r["query"].get("tmdbId") in ("611", 611) or (r["json"] or {}).get("tmdbId") == 611]
    assert len(about_611) == 1
    wait_for(lambda: state.get(checkpoint_id)["seq"] != checkpoint,
             message="checkpoint moved on")


def test_burst_is_moved_in_batches(settings, couch, fake_radarr, start_worker):
    db = couch.db(settings.movies_buffer_db)
    db.bulk_docs([movie_request(i) for i in range(1000, 1100)])
    start_worker()
    wait_for(lambda: couch.db(settings.movies_db).info()["doc_count"] >= 101, timeout=30, message="100 moved")
    wait_for(lambda: db.all_docs(include_docs=False, startkey="tmdb:", endkey="tmdb:\ufff0") == [],
             timeout=30, message="buffer emptied")
    assert sum(fake_radarr.creations.values()) == 100


def test_collection_refusing_the_doc_means_retry_with_reason_not_a_stuck_claim(settings, couch, fake_radarr, start_worker):
    coll = couch.db(settings.movies_db)
    coll.put({"_id": "_design/refuse_620", "validate_doc_update":
              "function (n) { if (n._id === 'tmdb:620') throw({forbidden: 'not this one'}); }"})
    start_worker()
    db = couch.db(settings.movies_buffer_db)
    db.put(movie_request(620))
    doc = wait_for(lambda: (d := db.get("tmdb:620")) and d.get("state") == "retry" and d, message="retry")
    assert doc["last_error"]["code"] == "collection_write" and "not this one" in doc["last_error"]["message"]
    coll.delete("_design/refuse_620", coll.get("_design/refuse_620")["_rev"])
    wait_for(lambda: moved(couch, settings, "tmdb:620"), timeout=15, message="moved once the collection takes it")
    assert fake_radarr.creations[620] == 1
