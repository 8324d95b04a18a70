"""Display facts on collection docs (overview, runtime, genres, ratings, dates, images, the movie's
file, the series' seasons...), through the real interfaces: the worker's add (fake Radarr/Sonarr
over HTTP), webhooks into the running sidecar, POST /reconcile; all through collection.merge."""
from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest
import requests

from sidecar.collection import merge
from sidecar.config import ArrInstance
from sidecar.conflicts import resolve_collection
from tests.conftest import RECONCILE_AUTH, Sidecar, movie_request, series_request, wait_for

EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "servarr" / "webhooks"
MOVIE_FACTS = ("overview", "runtime", "genres", "certification", "studio", "originalTitle", "inCinemas",
               "digitalRelease", "physicalRelease")
SERIES_FACTS = ("overview", "runtime", "genres", "certification", "network", "firstAired", "previousAiring")


def example(name: str) -> dict:
    path = EXAMPLES / f"{name}.json"
    if not path.exists():
        pytest.skip(f"example webhook payloads not found at {EXAMPLES}")
    return json.loads(path.read_text(encoding="utf-8"))


def reconcile(web) -> dict:
    resp = requests.post(f"{web.url}/reconcile", headers=RECONCILE_AUTH, timeout=120)
    assert resp.status_code == 200, resp.text
    return resp.json()


def moved(couch, settings, doc_id, kind="movie"):
    buffer_db = settings.movies_buffer_db if kind == "movie" else settings.series_buffer_db
    coll = couch.db(settings.movies_db if kind == "movie" else settings.series_db).get(doc_id)
    return coll if coll and couch.db(buffer_db).get(doc_id) is None else None


def images_of(res: dict, instance: str = "default") -> dict:
    out = {img["coverType"]: {"remoteUrl": img["remoteUrl"], "url": img["url"]}
           for img in res["images"] if img["coverType"] in ("poster", "fanart")}
    return {**out, "instance": instance}


def movie_ratings(res: dict) -> dict:
    return {src: {"value": r["value"], "votes": r["votes"]} for src, r in res["ratings"].items()}


def seasons_of(res: dict) -> list:
    return [{"seasonNumber": s["seasonNumber"], "monitored": s["monitored"],
             **{k: s["statistics"][k] for k in ("episodeFileCount", "episodeCount", "totalEpisodeCount", "sizeOnDisk")}}
            for s in res["seasons"]]


def assert_movie_facts(doc: dict, res: dict, instance: str = "default") -> None:
    for key in MOVIE_FACTS:
        assert doc[key] == res[key], key
    assert doc["originalLanguage"] == res["originalLanguage"]["name"] == "English"
    assert doc["ratings"] == movie_ratings(res)
    assert set(doc["ratings"]) >= {"imdb", "tmdb", "metacritic", "rottenTomatoes"}
    assert doc["images"] == images_of(res, instance)
    assert "alternateTitles" not in doc and "keywords" not in doc


# --------------------------------------------------------------------------- the worker's add


def test_worker_add_records_the_movies_display_facts(settings, couch, fake_radarr, start_worker):
    start_worker()
    couch.db(settings.movies_buffer_db).put(movie_request(603))
    doc = wait_for(lambda: moved(couch, settings, "tmdb:603"), message="tmdb:603 moved")
    res = fake_radarr.find(603)
    assert_movie_facts(doc, res)
    assert doc["hasFile"] is False and "file" not in doc and "file" not in doc["instances"]["default"]
    # every fact stamped on its own; ratings and images are one fact each
    for key in (*MOVIE_FACTS, "ratings", "images", "originalLanguage"):
        assert doc["clock"][key] == doc["updated_at"], key
    assert not [k for k in doc["clock"] if k.startswith(("ratings.", "images."))]


def test_worker_add_records_the_series_display_facts(settings, couch, fake_sonarr, start_worker):
    start_worker()
    couch.db(settings.series_buffer_db).put(series_request(81189))
    doc = wait_for(lambda: moved(couch, settings, "tvdb:81189", "series"), message="tvdb:81189 moved")
    res = fake_sonarr.find(81189)
    for key in SERIES_FACTS:
        assert doc[key] == res[key], key
    assert doc["seriesStatus"] == res["status"] and doc["ended"] is res["ended"]
    assert doc["ratings"] == {"value": res["ratings"]["value"], "votes": res["ratings"]["votes"]}
    assert doc["originalLanguage"] == "English"
    assert doc["images"] == images_of(res)
    assert doc["seasons"] == seasons_of(res) == doc["instances"]["default"]["seasons"]
    assert "nextAiring" not in doc and "originalTitle" not in doc and "studio" not in doc
    assert doc["clock"]["instances.default.seasons"] == doc["updated_at"]


# --------------------------------------------------------------------------- webhooks


def test_a_payload_sets_what_it_carries_and_erases_nothing(web, couch, settings):
    db = couch.db(settings.movies_db)
    added = example("radarr-MovieAdded")  # Heat, not in the fake Radarr: no look-up to add more
    assert web.hook("radarr", added).status_code == 200
    doc = db.get("tmdb:949")
    movie = added["movie"]
    assert doc["overview"] == movie["overview"] and doc["genres"] == movie["genres"]
    assert doc["originalLanguage"] == "English"
    assert doc["images"] == {"poster": {"remoteUrl": movie["images"][0]["remoteUrl"], "url": movie["images"][0]["url"]},
                             "fanart": {"remoteUrl": movie["images"][1]["remoteUrl"], "url": movie["images"][1]["url"]},
                             "instance": "default"}
    for key in ("runtime", "ratings", "studio", "certification", "inCinemas"):
        assert key not in doc  # a WebhookMovie does not carry them
    # a payload without them (Radarr 4.7 sends none) erases nothing
    grab = example("radarr-Grab")
    for key in ("overview", "genres", "images", "originalLanguage"):
        grab["movie"].pop(key, None)
    assert web.hook("radarr", grab).json()["status"] == "grabbed"
    after = db.get("tmdb:949")
    for key in ("overview", "genres", "images", "originalLanguage"):
        assert after[key] == doc[key], key


def test_a_look_up_brings_every_fact_and_payloads_only_fill_in(web, couch, settings, fake_radarr):
    res = fake_radarr.add_existing(950, title="Looked Up", monitored=True)
    payload = {"eventType": "MovieAdded", "instanceName": "Radarr", "addMethod": "manual",
               "movie": {"id": res["id"], "title": res["title"], "year": res["year"], "tmdbId": 950,
                         "overview": "What the payload says", "genres": ["Payload"]}}
    assert web.hook("radarr", payload).json()["status"] == "wanted"
    db = couch.db(settings.movies_db)
    doc = db.get("tmdb:950")
    assert_movie_facts(doc, res)  # the look-up (a full MovieResource) wins over the payload
    # Radarr changed the overview; a payload saying something else does not overwrite a look-up's
    # facts, the next look-up does
    res["overview"] = "Changed in Radarr"
    grab = {"eventType": "Grab", "instanceName": "Radarr",
            "movie": {"id": res["id"], "title": res["title"], "tmdbId": 950, "overview": "Old payload text"}}
    assert web.hook("radarr", grab).status_code == 200
    assert db.get("tmdb:950")["overview"] == doc["overview"]
    assert web.hook("radarr", payload).status_code == 200  # MovieAdded again: looked up
    assert db.get("tmdb:950")["overview"] == "Changed in Radarr"


def test_download_payload_brings_the_file_and_a_file_delete_takes_it_away(web, couch, settings):
    db = couch.db(settings.movies_db)
    download = example("radarr-Download")
    assert web.hook("radarr", download).json()["status"] == "downloaded"
    doc = db.get("tmdb:949")
    want = {"quality": "Bluray-1080p", "resolution": "1920x1080", "size": 14823562240, "videoCodec": "x264",
            "audioLanguages": ["eng"]}
    assert doc["file"] == want and doc["instances"]["default"]["file"] == want
    upgrade = copy.deepcopy(download)
    upgrade["movieFile"]["quality"] = "Remux-2160p"
    upgrade["movieFile"]["mediaInfo"].update(width=3840, height=2160, videoCodec="x265")
    upgrade["isUpgrade"] = True
    assert web.hook("radarr", upgrade).status_code == 200
    assert db.get("tmdb:949")["file"] == {**want, "quality": "Remux-2160p", "resolution": "3840x2160",
                                          "videoCodec": "x265"}
    delete = example("radarr-MovieFileDelete")
    delete["deleteReason"] = "manual"
    assert web.hook("radarr", delete).status_code == 200
    gone = db.get("tmdb:949")
    assert gone["hasFile"] is False and "file" not in gone and "file" not in gone["instances"]["default"]
    assert gone["overview"] == doc["overview"]  # the delete's payload carries it too: unchanged


def test_series_payload_and_look_up(web, couch, settings, fake_sonarr):
    fake_sonarr.set_catalog(371980, title="Severance", year=2022, seasons=[(0, 0), (1, 9), (2, 10)],
                            network="Apple TV+")
    res = fake_sonarr.add_existing(371980, monitored=True)
    res["nextAiring"] = "2027-01-17T02:00:00Z"
    assert web.hook("sonarr", example("sonarr-SeriesAdd")).status_code == 200  # looked up
    doc = couch.db(settings.series_db).get("tvdb:371980")
    assert doc["network"] == "Apple TV+" and doc["nextAiring"] == "2027-01-17T02:00:00Z"
    assert doc["seasons"] == seasons_of(res) and doc["images"] == images_of(res)
    assert doc["genres"] == res["genres"]  # the look-up's, not the example payload's


# --------------------------------------------------------------------------- reconcile


def test_reconcile_records_facts_file_and_seasons_and_follows_changes(web, couch, settings, fake_radarr, fake_sonarr):
    movie = fake_radarr.add_existing(10, has_file=True)
    other = fake_radarr.add_existing(11)
    show = fake_sonarr.add_existing(20, nextAiring="2027-03-01T02:00:00Z")
    fake_sonarr.set_episode_files(20, 3)
    first = reconcile(web)
    assert (first["added"], first["updated"]) == (3, 0)
    movies, shows = couch.db(settings.movies_db), couch.db(settings.series_db)
    doc = movies.get("tmdb:10")
    assert_movie_facts(doc, movie)
    mf = movie["movieFile"]
    assert doc["file"] == {"quality": mf["quality"]["quality"]["name"], "resolution": mf["mediaInfo"]["resolution"],
                           "size": mf["size"], "videoCodec": mf["mediaInfo"]["videoCodec"], "audioLanguages": ["eng"]}
    assert "file" not in movies.get("tmdb:11")
    sdoc = shows.get("tvdb:20")
    assert sdoc["seasons"] == seasons_of(show) and sdoc["nextAiring"] == "2027-03-01T02:00:00Z"
    assert sum(s["episodeFileCount"] for s in sdoc["seasons"]) == 3

    revs = {d: movies.get(d)["_rev"] for d in ("tmdb:10", "tmdb:11")} | {"tvdb:20": sdoc["_rev"]}
    again = reconcile(web)
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert {d: (movies if d.startswith("tmdb") else shows).get(d)["_rev"] for d in revs} == revs

    # Radarr/Sonarr refreshed their metadata: a changed overview, a next airing gone, a new rating
    movie["overview"] = "A new overview"
    del show["nextAiring"]
    show["ratings"] = {"votes": 10, "value": 9.1}
    fake_radarr.set_file(11, True)
    third = reconcile(web)
    assert (third["updated"], third["unchanged"]) == (3, 0)
    doc2 = movies.get("tmdb:10")
    assert doc2["overview"] == "A new overview"
    assert doc2["clock"]["overview"] > doc["clock"]["overview"] and doc2["clock"]["genres"] == doc["clock"]["genres"]
    sdoc2 = shows.get("tvdb:20")
    assert "nextAiring" not in sdoc2 and sdoc2["ratings"] == {"value": 9.1, "votes": 10}
    assert movies.get("tmdb:11")["file"]["quality"] == "Bluray-1080p"
    fake_radarr.set_file(11, False)
    reconcile(web)
    assert "file" not in movies.get("tmdb:11")


@pytest.fixture(scope="module")
def fake_radarr_second():
    from tests.fakes.servarr import FakeRadarr

    fake = FakeRadarr(api_key="test_second_radarr_key", instance_name="Radarr 4K").start()
    yield fake
    fake.stop()


def test_two_instances_telling_facts_differently_do_not_flip_the_doc(couch, settings, fake_radarr, fake_radarr_second):
    fake_radarr_second.reset()
    two = dataclasses.replace(settings, radarr=settings.radarr + (
        ArrInstance("radarr", "4k", fake_radarr_second.url, fake_radarr_second.api_key, 1, "/movies4k"),))
    web = Sidecar(two)
    try:
        default = fake_radarr.add_existing(30, overview="Default's words")
        fake_radarr_second.add_existing(30, overview="4K's words", has_file=True)
        assert reconcile(web)["added"] == 1
        doc = couch.db(settings.movies_db).get("tmdb:30")
        assert doc["overview"] == "Default's words" and doc["images"] == images_of(default, "default")
        assert doc["file"]["quality"] == "Bluray-1080p"  # the 4k copy's file: default has none
        second = reconcile(web)
        assert (second["updated"], second["unchanged"]) == (0, 1)
    finally:
        web.stop()


# --------------------------------------------------------------------------- merging branches


def test_branches_merge_display_facts_fact_by_fact():
    res = {"id": 5, "title": "X", "tmdbId": 1, "overview": "old", "genres": ["Drama"], "monitored": True,
           "hasFile": False, "ratings": {"imdb": {"value": 7.0, "votes": 10, "type": "user"}}}
    from sidecar.collection import facts_from_resource
    got = facts_from_resource("movie", res)
    base = {**merge(None, "movie", 1, "reconcile", facts=got["facts"], instance="default", entry=got["entry"]),
            "_rev": "1-a"}
    base["clock"] = {k: "2026-01-01T00:00:00.000Z" for k in base["clock"]}  # learnt earlier
    changed = dict(res, overview="new", ratings={"imdb": {"value": 7.5, "votes": 12}})
    got2 = facts_from_resource("movie", changed)
    one = merge(base, "movie", 1, "reconcile", facts=got2["facts"], instance="default", entry=got2["entry"])
    two = merge(base, "movie", 1, "webhook:Download", instance="default", entry={"id": 5, "hasFile": True},
                set_fields={"grabbed": False})
    assert one["clock"]["overview"] != base["clock"]["overview"] and "genres" in one["clock"]
    leaves = [{**one, "_rev": "2-b", "_revisions": {"start": 2, "ids": ["b", "a"]}},
              {**two, "_rev": "2-c", "_revisions": {"start": 2, "ids": ["c", "a"]}}]
    merged = [w for w in resolve_collection(leaves).writes if not w.get("_deleted")][0]
    assert merged["overview"] == "new" and merged["ratings"] == {"imdb": {"value": 7.5, "votes": 12}}
    assert merged["hasFile"] is True and merged["status"] == "downloaded" and merged["genres"] == ["Drama"]
