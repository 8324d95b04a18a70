"""The poster tiles and the title search (web/collection.js, web/search.js) in a real browser:
headless Debian Chromium driven by playwright-core (tests/pouch_client/browser_collection.js), the
page served by a real sidecar web server, syncing with the test CouchDB as a plain member user, the
worker and the fake Radarr behind it.

A title the worker added shows its poster from the replicated `poster.jpg` attachment (a blob: URL,
so it works offline); a title being downloaded shows a progress bar; a search by name (a lookup the
worker answers) finds a title and one tap adds it to the collection.
"""
from __future__ import annotations

import os
import shutil

from tests.conftest import ROOT, series_request, wait_for
from tests.pouch_client.members import member_user
from tests.test_browser import (ARTIFACTS, CHROMIUM, BrowserScript, browser_node, build_app,  # noqa: F401
                                cors_allowing, serve)
from tests.test_downloads import grabbed_movie

SCRIPT = ROOT / "tests" / "pouch_client" / "browser_collection.js"
GB = 1_000_000_000


class CollectionScript(BrowserScript):
    """BrowserScript running browser_collection.js instead of browser.js."""

    script = SCRIPT


def test_posters_progress_and_search(browser_node, settings, couch, couch_server, fake_radarr, fake_sonarr,
                                     start_worker, sidecar, tmp_path):
    node = browser_node
    start_worker(queue_poll_interval=0.2)
    hooks = sidecar()
    ARTIFACTS.mkdir(exist_ok=True)

    # a title the worker adds: its poster is stored in the background after the move
    couch.db(settings.movies_buffer_db).put({
        "_id": "tmdb:603", "type": "movie", "tmdbId": 603, "title": "The Matrix", "year": 1999,
        "action": "download", "requested_at": "2026-11-30T08:00:00Z"})
    coll = couch.db(settings.movies_db)
    wait_for(lambda: "poster.jpg" in ((coll.get("tmdb:603") or {}).get("_attachments") or {}),
             timeout=20, message="the poster attachment of tmdb:603")

    # a title being downloaded: grabbed (webhook), then in Radarr's queue at 25 %
    grabbed_movie(hooks, fake_radarr, couch, settings, 601)
    fake_radarr.queue_add(601, size=GB, sizeleft=750_000_000)
    wait_for(lambda: ((coll.get("tmdb:601") or {}).get("download") or {}).get("progress") == 0.25,
             timeout=20, message="download progress on tmdb:601")

    # a series with a season not monitored
    fake_sonarr.add_existing(588, title="Show", seasons_episodes=[(1, 8), (2, 8), (3, 8)],
                             seasons=[{"seasonNumber": 1, "monitored": True}, {"seasonNumber": 2, "monitored": True},
                                      {"seasonNumber": 3, "monitored": False}])
    couch.db(settings.series_buffer_db).put(series_request(588, action="monitor"))
    wait_for(lambda: (couch.db(settings.series_db).get("tvdb:588") or {}).get("seasons"), timeout=20,
             message="the seasons of tvdb:588")

    # a title only the search can find
    fake_radarr.set_catalog(4242, title="Zyzzyva Nights", year=2021, overview="A film only a search finds.")

    url, auth = couch_server
    dbs = (settings.movies_buffer_db, settings.movies_db, settings.series_buffer_db, settings.series_db,
           settings.lookups_db)
    with member_user(url, auth, dbs) as user, serve(build_app(settings)) as web, cors_allowing(url, auth, web):
        script = CollectionScript(node, {
            "url": f"{web}/app/", "chromium": CHROMIUM, "userDataDir": str(tmp_path / "chromium-profile"),
            "screenshotDir": str(ARTIFACTS), "signIn": user, "timeoutMs": 20000,
            "posterId": "tmdb:603", "downloadingId": "tmdb:601",
            "seriesId": "tvdb:588", "season": 3, "searchTerm": "Zyzzyva", "searchId": "tmdb:4242", "haveTerm": "The Matrix",
        }, ARTIFACTS / "browser-collection.log")
        try:
            done = script.next_event(120)
        finally:
            script.close()
            script.save_steps(ARTIFACTS / "browser-collection-steps.json")

    assert done["event"] == "done"
    steps = script.steps
    assert steps["poster"]["src"].startswith("blob:") and steps["poster"]["naturalWidth"] > 0, steps["poster"]
    progress = steps["progress"]
    assert progress["value"] == "25" and progress["text"].startswith("25 %") and progress["width"] == "25%", progress
    detail = steps["detail"]
    assert "The Matrix (1999)" in detail["text"] and "Search again" in detail["text"], detail
    assert detail["removeShown"] is False  # a plain member is no collection-admin
    assert "Zyzzyva Nights" in steps["found"]["text"] and "2021" in steps["found"]["text"]
    assert steps["added"]["status"] in ("wanted", "grabbed"), steps["added"]
    assert "in your collection" in steps["in-collection"]["text"] and steps["in-collection"]["addDisabled"]
    # it went through Radarr for real, asked by this user
    assert fake_radarr.creations[4242] == 1
    assert coll.get("tmdb:4242")["requested"]["by"] == user["username"]
    assert "unmonitored" in steps
    assert coll.get("tmdb:603")["requested"]["action"] == "unmonitor"
    seasons = steps["seasons"]
    assert "Season 3" in seasons["before"] and "not monitored" in seasons["before"], seasons
    assert {x["seasonNumber"]: x["monitored"] for x in fake_sonarr.find(588)["seasons"]} == {1: True, 2: True, 3: True}
    assert done["overflow"] <= 0, "the page is wider than a phone screen"
    others = [e for e in done["consoleErrors"] if "401" not in e]
    assert others == [], others

    shot = ARTIFACTS / "app-collection.png"
    assert shot.stat().st_size > 10_000
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "screenshot-collection.png")
