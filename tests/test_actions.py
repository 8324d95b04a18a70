"""Wish actions on titles that are already there (docs/data-model.md, "Wish actions"): each
through the real server, the worker and the fakes, which record the calls made."""
from __future__ import annotations

import pytest
import requests

from tests.conftest import movie_request, series_request, wait_for
from tests.pouch_client.members import member_user


def moved(couch, db_name: str, doc_id: str, buffer_name: str):
    doc = couch.db(db_name).get(doc_id)
    return doc if doc and couch.db(buffer_name).get(doc_id) is None else None


def commands(fake, name: str) -> list[dict]:
    return [c["body"] for c in fake.commands if c["name"] == name]


def put_calls(fake, resource: str) -> list[dict]:
    return [r for r in fake.requests_log if r["method"] == "PUT" and r["path"].startswith(f"/api/v3/{resource}/")]


# --------------------------------------------------------------------------- more seasons


@pytest.mark.parametrize("series_monitored", [True, False])
def test_asking_for_another_season_of_a_series_there_monitors_and_searches_it(settings, couch, fake_sonarr,
                                                                              start_worker, series_monitored):
    """The case from the issue (Overseerr #588, Sonarr #4333): seasons 1 and 2 monitored, 3 not."""
    fake_sonarr.add_existing(588, title="Show", monitored=series_monitored,
                             seasons_episodes=[(1, 8), (2, 8), (3, 8)],
                             seasons=[{"seasonNumber": 1, "monitored": True}, {"seasonNumber": 2, "monitored": True},
                                      {"seasonNumber": 3, "monitored": False}])
    start_worker()
    couch.db(settings.series_buffer_db).put(series_request(588, options={"seasons": [3]}))
    doc = wait_for(lambda: moved(couch, settings.series_db, "tvdb:588", settings.series_buffer_db), message="moved")
    series = fake_sonarr.find(588)
    assert series["monitored"] is True
    assert {s["seasonNumber"]: s["monitored"] for s in series["seasons"]} == {1: True, 2: True, 3: True}
    assert commands(fake_sonarr, "SeasonSearch") == [
        {**commands(fake_sonarr, "SeasonSearch")[0], "seriesId": series["id"], "seasonNumber": 3}]
    assert doc["requested"]["action"] == "download" and doc["monitored"] is True


def test_monitor_a_season_without_searching(settings, couch, fake_sonarr, start_worker):
    fake_sonarr.add_existing(589, title="Show", seasons_episodes=[(1, 4), (2, 4)],
                             seasons=[{"seasonNumber": 1, "monitored": True}, {"seasonNumber": 2, "monitored": False}])
    start_worker()
    couch.db(settings.series_buffer_db).put(series_request(589, action="monitor", options={"seasons": [2]}))
    wait_for(lambda: moved(couch, settings.series_db, "tvdb:589", settings.series_buffer_db), message="moved")
    assert [s["monitored"] for s in fake_sonarr.find(589)["seasons"] if s["seasonNumber"] == 2] == [True]
    assert not fake_sonarr.commands


# --------------------------------------------------------------------------- download / search / unmonitor


def test_download_of_a_movie_there_without_a_file_searches_it(settings, couch, fake_radarr, start_worker):
    fake_radarr.add_existing(900, title="Film")
    fake_radarr.add_existing(901, title="Film with a file", has_file=True)
    start_worker()
    buffer = couch.db(settings.movies_buffer_db)
    buffer.put(movie_request(900))
    buffer.put(movie_request(901))
    for tmdb in (900, 901):
        wait_for(lambda: moved(couch, settings.movies_db, f"tmdb:{tmdb}", settings.movies_buffer_db), message="moved")
    searched = [c["movieIds"] for c in commands(fake_radarr, "MoviesSearch")]
    assert searched == [[fake_radarr.find(900)["id"]]]  # the one with a file is not searched again
    assert fake_radarr.creations.get(900, 0) == 0


def test_search_again_searches_without_adding_or_changing(settings, couch, fake_radarr, start_worker):
    fake_radarr.add_existing(902, title="Stuck")
    start_worker()
    couch.db(settings.movies_buffer_db).put(movie_request(902, action="search"))
    wait_for(lambda: moved(couch, settings.movies_db, "tmdb:902", settings.movies_buffer_db), message="moved")
    assert [c["movieIds"] for c in commands(fake_radarr, "MoviesSearch")] == [[fake_radarr.find(902)["id"]]]
    assert not put_calls(fake_radarr, "movie") and fake_radarr.creations.get(902, 0) == 0


def test_unmonitor_stops_monitoring(settings, couch, fake_radarr, start_worker):
    fake_radarr.add_existing(903, title="Enough")
    start_worker()
    couch.db(settings.movies_buffer_db).put(movie_request(903, action="unmonitor"))
    doc = wait_for(lambda: moved(couch, settings.movies_db, "tmdb:903", settings.movies_buffer_db), message="moved")
    assert fake_radarr.find(903)["monitored"] is False
    assert doc["status"] == "unmonitored" and not fake_radarr.commands


def test_unmonitor_of_a_title_not_there_changes_nothing(settings, couch, fake_radarr, start_worker):
    start_worker()
    couch.db(settings.movies_buffer_db).put(movie_request(904, action="unmonitor"))
    wait_for(lambda: couch.db(settings.movies_buffer_db).get("tmdb:904") is None, message="done")
    assert fake_radarr.find(904) is None and couch.db(settings.movies_db).get("tmdb:904") is None
    assert not [r for r in fake_radarr.requests_log if r["method"] != "GET"]


# --------------------------------------------------------------------------- remove


@pytest.mark.parametrize("kind", ["movie", "series"])
def test_remove_deletes_with_files_and_exclusion_and_leaves_a_tombstone(settings, couch, fake_radarr, fake_sonarr,
                                                                        start_worker, kind):
    fake, ext = (fake_radarr, 905) if kind == "movie" else (fake_sonarr, 906)
    fake.add_existing(ext, title="Gone soon")
    buffer, collection = ((settings.movies_buffer_db, settings.movies_db) if kind == "movie"
                          else (settings.series_buffer_db, settings.series_db))
    make = movie_request if kind == "movie" else series_request
    start_worker()
    couch.db(buffer).put(make(ext, action="monitor"))
    wait_for(lambda: moved(couch, collection, f"{'tmdb' if kind == 'movie' else 'tvdb'}:{ext}", buffer), message="in")
    arr_id = fake.find(ext)["id"]
    doc_id = f"{'tmdb' if kind == 'movie' else 'tvdb'}:{ext}"
    couch.db(buffer).put(make(ext, action="remove", requested_at="2026-11-26T10:00:00Z",
                              options={"deleteFiles": True, "addImportExclusion": True}))
    doc = wait_for(lambda: (d := moved(couch, collection, doc_id, buffer)) and d["status"] == "removed" and d,
                   message="removed")
    assert fake.find(ext) is None and doc["requested"]["action"] == "remove"
    delete = [r for r in fake.requests_log if r["method"] == "DELETE"][0]
    exclusion = "addImportExclusion" if kind == "movie" else "addImportListExclusion"
    assert delete["path"].endswith(f"/{arr_id}")
    assert delete["query"]["deleteFiles"] == "true" and delete["query"][exclusion] == "true"


def test_only_the_removal_role_may_ask_for_a_removal(settings, couch):
    url, admin = settings.couchdb_url, settings.couch_auth
    buffer = settings.movies_buffer_db
    wish = movie_request(907, action="remove", options={"deleteFiles": True})
    with member_user(url, admin, [buffer]) as plain:
        r = requests.put(f"{url}/{buffer}/tmdb:907", json=wish, auth=(plain["username"], plain["password"]), timeout=10)
        assert r.status_code == 403 and settings.remove_role in r.json()["reason"]
        ok = requests.put(f"{url}/{buffer}/tmdb:908", json=movie_request(908), timeout=10,
                          auth=(plain["username"], plain["password"]))
        assert ok.status_code in (201, 202)  # a plain member still asks for titles
    with member_user(url, admin, [buffer], role=settings.remove_role) as trusted:
        r = requests.put(f"{url}/{buffer}/tmdb:907", json=wish, auth=(trusted["username"], trusted["password"]),
                         timeout=10)
        assert r.status_code in (201, 202), r.text


def test_removal_options_go_with_remove_only(settings, couch):
    from sidecar.couch import Forbidden
    with pytest.raises(Forbidden, match="goes with action \"remove\" only"):
        couch.db(settings.movies_buffer_db).put(movie_request(909, options={"deleteFiles": True}))
