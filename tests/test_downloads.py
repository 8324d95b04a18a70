"""Download progress (sidecar/downloads.py) through the running worker: a Grab webhook makes a
title grabbed, the fake's queue moves, and the collection doc's `download` follows in visible
steps until the import (or the queue) ends it; nothing reads a queue while nothing is grabbed."""
from __future__ import annotations

import logging
import time

import pytest

from sidecar.downloads import attention_message, summarize, visible
from tests.conftest import wait_for

POLL = 0.2  # queue_poll_interval in these tests
GB = 1_000_000_000


# --------------------------------------------------------------------------- helpers


def movie_hook(event: str, res: dict, **extra) -> dict:
    return {"eventType": event, "instanceName": "Radarr",
            "movie": {"id": res["id"], "title": res["title"], "year": res["year"], "tmdbId": res["tmdbId"]}, **extra}


def series_hook(event: str, res: dict, **extra) -> dict:
    return {"eventType": event, "instanceName": "Sonarr",
            "series": {"id": res["id"], "title": res["title"], "tvdbId": res["tvdbId"], "year": res["year"]}, **extra}


def doc_of(couch, settings, doc_id: str) -> dict:
    db = couch.db(settings.movies_db if doc_id.startswith("tmdb:") else settings.series_db)
    return db.get(doc_id) or {}


def wait_download(couch, settings, doc_id, check, message, timeout=10.0) -> dict:
    """Wait until the doc's `download` satisfies check(download) (download may be None)."""
    def ok():
        doc = doc_of(couch, settings, doc_id)
        return doc if doc and check(doc.get("download")) else None
    return wait_for(ok, timeout=timeout, message=message)


def queue_reads(fake) -> int:
    return len(fake.log("GET", "/api/v3/queue"))


def wait_polls(fake, n: int = 3, timeout: float = 10.0) -> None:
    """Let the worker read the queue n more times."""
    start = queue_reads(fake)
    wait_for(lambda: queue_reads(fake) >= start + n, timeout=timeout, message=f"{n} more queue reads")


def grabbed_movie(web, fake_radarr, couch, settings, tmdb_id: int) -> dict:
    res = fake_radarr.add_existing(tmdb_id, title=f"Movie {tmdb_id}")
    resp = web.hook("radarr", movie_hook("Grab", res))
    assert resp.status_code == 200 and resp.json()["status"] == "grabbed", resp.text
    return res


def worker_alive(worker) -> bool:
    return all(t.is_alive() for t in worker.threads)


# --------------------------------------------------------------------------- through the worker


def test_movie_download_from_grab_through_progress_to_import(start_worker, sidecar, fake_radarr, couch, settings):
    worker = start_worker(queue_poll_interval=POLL)
    web = sidecar()
    res = grabbed_movie(web, fake_radarr, couch, settings, 601)
    fake_radarr.queue_add(601, size=GB, sizeleft=GB, protocol="usenet")

    doc = wait_download(couch, settings, "tmdb:601", lambda d: d is not None, "the download on the doc")
    d = doc["download"]
    assert d["progress"] == 0.0 and d["size"] == GB and d["sizeleft"] == GB
    assert d["state"] == "downloading" and d["status"] == "downloading"
    assert d["protocol"] == "usenet" and d["client"] == "SABnzbd"
    assert d["eta"].endswith("Z") and "attention" not in d
    assert doc["status"] == "grabbed" and doc["source"] == "queue" and "download" in doc["clock"]

    fake_radarr.queue_progress(601, sizeleft=750_000_000)
    doc = wait_download(couch, settings, "tmdb:601", lambda d: d and d["progress"] == 0.25, "progress 0.25")
    assert doc["download"]["sizeleft"] == 750_000_000

    # less than a point: read, not written
    fake_radarr.queue_progress(601, sizeleft=745_000_000)
    wait_polls(fake_radarr, 4)
    again = doc_of(couch, settings, "tmdb:601")
    assert again["_rev"] == doc["_rev"] and again["download"]["progress"] == 0.25

    fake_radarr.queue_progress(601, sizeleft=740_000_000)  # a point since what the doc shows
    wait_download(couch, settings, "tmdb:601", lambda d: d and d["progress"] == 0.26, "progress 0.26")

    # a state change is news even without progress
    fake_radarr.queue_progress(601, sizeleft=0, status="completed", tracked_state="importPending")
    wait_download(couch, settings, "tmdb:601", lambda d: d and d["state"] == "importPending" and d["progress"] == 1.0,
                  "importPending at 100 %")

    # imported: the file is there and Radarr says so; the queue still lists it for a moment
    fake_radarr.queue_progress(601, tracked_state="imported")
    fake_radarr.set_file(601, True)
    assert web.hook("radarr", movie_hook("Download", res, isUpgrade=False)).json()["status"] == "downloaded"
    doc = wait_download(couch, settings, "tmdb:601", lambda d: d is None, "the download gone after the import")
    assert doc["status"] == "downloaded" and doc["hasFile"] is True and doc["source"] == "queue"
    assert "download" in doc["clock"]  # its removal is a stamped fact (replication merges keep it gone)
    fake_radarr.queue_remove(601)
    rev = doc["_rev"]
    time.sleep(5 * POLL)
    assert doc_of(couch, settings, "tmdb:601")["_rev"] == rev
    assert worker_alive(worker)


def test_series_progress_sums_episodes_and_goes_when_the_queue_lets_go(start_worker, sidecar, fake_sonarr, couch,
                                                                        settings):
    start_worker(queue_poll_interval=POLL)
    web = sidecar()
    res = fake_sonarr.add_existing(801, title="Series 801")
    assert web.hook("sonarr", series_hook("Grab", res, episodes=[{"id": 1, "seasonNumber": 1, "episodeNumber": 1}])
                    ).json()["status"] == "grabbed"
    fake_sonarr.queue_add(801, season=1, episode=1, size=GB, sizeleft=GB // 2)
    fake_sonarr.queue_add(801, season=1, episode=2, size=GB, sizeleft=GB)

    doc = wait_download(couch, settings, "tvdb:801", lambda d: d and d.get("episodes") == 2, "two episodes")
    d = doc["download"]
    assert d["progress"] == 0.25 and d["size"] == 2 * GB and d["sizeleft"] == 3 * GB // 2

    fake_sonarr.queue_progress(801, season=1, episode=2, sizeleft=GB // 2)
    wait_download(couch, settings, "tvdb:801", lambda d: d and d["progress"] == 0.5, "progress 0.5")

    # the downloads leave the queue (removed in the client, say): the field goes, the grab stays
    fake_sonarr.queue_remove(801)
    doc = wait_download(couch, settings, "tvdb:801", lambda d: d is None, "download gone with the queue")
    assert doc["status"] == "grabbed" and doc["grabbed"] is True


def test_blocked_import_is_shown_with_the_queue_message(start_worker, sidecar, fake_radarr, couch, settings):
    start_worker(queue_poll_interval=POLL)
    web = sidecar()
    grabbed_movie(web, fake_radarr, couch, settings, 602)
    fake_radarr.queue_add(602, size=GB, sizeleft=0, status="completed", tracked_status="warning",
                          tracked_state="importBlocked",
                          status_messages=[{"title": "Movie.602.2001.1080p.BluRay.x264-GRP",
                                            "messages": ["Not an upgrade for existing movie file(s)"]}],
                          error_message="Import failed, path does not exist or is not accessible by Radarr\n"
                                        "   at NzbDrone.Core.MediaFiles.DownloadedMovieImportService.Process()")
    doc = wait_download(couch, settings, "tmdb:602", lambda d: d is not None, "the blocked download")
    d = doc["download"]
    assert d["state"] == "importBlocked" and d["status"] == "completed" and d["progress"] == 1.0
    assert d["attention"] is True
    assert d["message"] == ("Not an upgrade for existing movie file(s); Import failed, path does not exist or is "
                            "not accessible by Radarr")

    # a person fixes it: the attention goes with the warning
    fake_radarr.queue_progress(602, tracked_status="ok", tracked_state="importing", status_messages=[],
                               error_message=None)
    wait_download(couch, settings, "tmdb:602", lambda d: d and d["state"] == "importing" and "attention" not in d,
                  "importing, no attention")


def test_no_queue_is_read_while_nothing_is_grabbed(start_worker, sidecar, fake_radarr, fake_sonarr, couch, settings):
    worker = start_worker(queue_poll_interval=POLL)
    web = sidecar()
    res = fake_radarr.add_existing(603, title="Movie 603")
    assert web.hook("radarr", movie_hook("MovieAdded", res, addMethod="manual")).json()["status"] == "wanted"
    time.sleep(10 * POLL)
    assert queue_reads(fake_radarr) == 0 and queue_reads(fake_sonarr) == 0

    assert web.hook("radarr", movie_hook("Grab", res)).json()["status"] == "grabbed"
    wait_for(lambda: queue_reads(fake_radarr) > 0, message="the Radarr queue read after the Grab")
    fake_radarr.queue_add(603, size=GB, sizeleft=GB // 10)
    wait_download(couch, settings, "tmdb:603", lambda d: d and d["progress"] == 0.9, "progress 0.9")
    assert queue_reads(fake_sonarr) == 0  # no series grabbed: Sonarr's queue is never read

    fake_radarr.set_file(603, True)
    web.hook("radarr", movie_hook("Download", res))
    wait_download(couch, settings, "tmdb:603", lambda d: d is None, "download gone")
    time.sleep(3 * POLL)  # a poll that was under way finishes
    reads = queue_reads(fake_radarr)
    time.sleep(10 * POLL)
    assert queue_reads(fake_radarr) == reads, "the queue is still read with nothing grabbed"
    assert worker_alive(worker)


@pytest.mark.parametrize("mode", ["500", "close"])
def test_radarr_failing_is_logged_and_the_next_poll_recovers(start_worker, sidecar, fake_radarr, couch, settings,
                                                              mode):
    lines: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = lines.append  # on the module's logger: the app's setup_logging replaces the root's handlers
    logging.getLogger("sidecar.downloads").addHandler(handler)
    try:
        _failing_then_recovering(start_worker, sidecar, fake_radarr, couch, settings, mode, lines)
    finally:
        logging.getLogger("sidecar.downloads").removeHandler(handler)


def _failing_then_recovering(start_worker, sidecar, fake_radarr, couch, settings, mode, lines):
    worker = start_worker(queue_poll_interval=POLL)
    web = sidecar()
    grabbed_movie(web, fake_radarr, couch, settings, 604)
    fake_radarr.queue_add(604, size=GB, sizeleft=GB)
    doc = wait_download(couch, settings, "tmdb:604", lambda d: d is not None, "first progress")

    fake_radarr.fail_mode = mode
    fake_radarr.queue_progress(604, sizeleft=GB // 2)
    wait_for(lambda: sum(1 for r in fake_radarr.log("GET", "/api/v3/queue") if r["status"] != 200) >= 3,
             message="failed queue reads")
    # nothing removed or changed on the word of a Radarr that did not answer
    assert doc_of(couch, settings, "tmdb:604")["_rev"] == doc["_rev"]
    assert worker_alive(worker)
    warnings = [r for r in lines if "cannot read the download queue" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]  # one line per outage, not one per poll
    assert "Traceback" not in warnings[0].getMessage()

    fake_radarr.fail_mode = None
    wait_download(couch, settings, "tmdb:604", lambda d: d and d["progress"] == 0.5, "progress after recovery")
    assert any("answers again" in r.getMessage() for r in lines)
    assert worker_alive(worker)


def test_a_restarted_worker_removes_a_download_that_ended_while_it_was_down(start_worker, sidecar, fake_radarr,
                                                                           couch, settings):
    worker = start_worker(queue_poll_interval=POLL)
    web = sidecar()
    res = grabbed_movie(web, fake_radarr, couch, settings, 605)
    fake_radarr.queue_add(605, size=GB, sizeleft=GB // 5)
    wait_download(couch, settings, "tmdb:605", lambda d: d and d["progress"] == 0.8, "progress 0.8")
    worker.stop()

    fake_radarr.queue_remove(605)
    fake_radarr.set_file(605, True)
    assert web.hook("radarr", movie_hook("Download", res)).json()["status"] == "downloaded"
    assert "download" in doc_of(couch, settings, "tmdb:605")  # nobody took it off meanwhile

    start_worker(queue_poll_interval=POLL)
    wait_download(couch, settings, "tmdb:605", lambda d: d is None, "the stale download removed after a restart")


# --------------------------------------------------------------------------- the rules alone


def _rec(size, left, **kw) -> dict:
    r = {"size": size, "sizeleft": left, "status": "downloading", "trackedDownloadStatus": "ok",
         "trackedDownloadState": "downloading", "protocol": "torrent", "downloadClient": "qBittorrent"}
    r.update(kw)
    return r


def test_summarize_sums_episodes_and_ranks_states():
    records = [_rec(100, 50, estimatedCompletionTime="2026-01-01T10:00:00.1234567Z"),
               _rec(300, 300, estimatedCompletionTime="2026-01-01T12:00:00Z", protocol="usenet",
                    downloadClient="SABnzbd", trackedDownloadState="importPending", status="completed")]
    d = summarize("series", records)
    assert d == {"progress": 0.125, "size": 400, "sizeleft": 350, "eta": "2026-01-01T12:00:00.000Z",
                 "state": "importPending", "status": "downloading", "protocol": "mixed",
                 "client": "qBittorrent, SABnzbd", "episodes": 2}
    assert summarize("movie", [_rec(0, 0)])["progress"] == 0.0  # size not known yet
    assert summarize("movie", [_rec(100, 150)])["sizeleft"] == 100  # never more left than there is


def test_attention_message_is_short_and_has_no_stack_trace():
    rec = _rec(1, 0, trackedDownloadState="failedPending", trackedDownloadStatus="error",
               statusMessages=[{"title": "Some.Release", "messages": []},
                               {"title": "x", "messages": ["a" * 500]}],
               errorMessage="Download failed\n  at Foo.Bar()\n  at Baz()")
    msg = attention_message([rec])
    assert msg.startswith("Some.Release; aaa") and len(msg) <= 300 and "Foo.Bar" not in msg
    assert summarize("movie", [rec])["attention"] is True
    assert attention_message([_rec(1, 0, errorMessage="ignored while all is well")]) == ""


def test_visible_steps():
    base = summarize("movie", [_rec(1000, 500)])
    assert not visible(base, summarize("movie", [_rec(1000, 491)]))  # 0.9 points
    assert visible(base, summarize("movie", [_rec(1000, 490)]))  # 1 point
    assert not visible(base, {**base, "eta": "2030-01-01T00:00:00.000Z"})  # the eta alone is no news
    assert visible(base, summarize("movie", [_rec(1000, 500, status="paused")]))
    assert visible(base, None) and visible(None, base) and not visible(None, None)
