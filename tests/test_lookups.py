"""Title search through CouchDB (sidecar/lookups.py, couch/_design/lookups/): a frontend writes a
lookup doc, the worker's LookupPillow answers on it. Real server, fake Radarr/Sonarr over HTTP,
the Worker as `start_worker` runs it; one round trip through the real PouchDB client
(tests/pouch_client/lookup.js) as a plain member user."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from sidecar.collection import iso
from sidecar.couch import Forbidden
from sidecar.lookups import claim_timeout_for, trim
from tests.conftest import ROOT, wait_for
from tests.pouch_client.members import member_user

LOOKUP_PATH = {"movie": "/api/v3/movie/lookup", "series": "/api/v3/series/lookup"}


def lookup(kind="movie", term="matrix", **extra) -> dict:
    doc = {"_id": f"lookup:{uuid.uuid4()}", "type": "lookup", "kind": kind, "term": term,
           "requested_at": "2026-11-25T10:00:00Z"}
    doc.update(extra)
    return doc


def write(couch, settings, doc) -> dict:
    couch.db(settings.lookups_db).put(doc)
    return doc


def answer_of(couch, settings, doc_id, timeout=10.0) -> dict:
    db = couch.db(settings.lookups_db)

    def answered():
        d = db.get(doc_id)
        return d if d and d.get("state") in ("answered", "failed") else None

    return wait_for(answered, timeout, message=f"the answer to {doc_id}")


def by_id(results, field="tmdbId") -> dict:
    return {r[field]: r for r in results}


# --- answers

def test_movie_free_text_is_answered_on_the_doc(settings, couch, fake_radarr, start_worker):
    start_worker()
    doc = write(couch, settings, lookup(term="  The   Matrix "))
    got = answer_of(couch, settings, doc["_id"])
    assert got["state"] == "answered" and got["answered_at"] and "error" not in got
    assert "claimed_by" not in got and "claimed_at" not in got
    assert got["term"] == "  The   Matrix " and got["kind"] == "movie"  # what was asked stays as asked
    [hit] = got["results"]
    assert hit == {"tmdbId": 603, "imdbId": "tt0133093", "title": "The Matrix", "year": 1999,
                   "overview": hit["overview"], "poster": hit["poster"], "inLibrary": False, "inCollection": False}
    assert 0 < len(hit["overview"]) <= 500
    assert hit["poster"].startswith("https://image.tmdb.org/")
    [req] = fake_radarr.log("GET", LOOKUP_PATH["movie"])
    assert req["query"] == {"term": "The Matrix"}


@pytest.mark.parametrize("term, expected", [("tmdb:550", 550), ("imdb:tt0137523", 550), ("tmdb:27205", 27205)])
def test_movie_id_terms_pass_through_to_radarr(settings, couch, fake_radarr, start_worker, term, expected):
    start_worker()
    got = answer_of(couch, settings, write(couch, settings, lookup(term=term))["_id"])
    assert [r["tmdbId"] for r in got["results"]] == [expected]
    assert fake_radarr.log("GET", LOOKUP_PATH["movie"])[0]["query"] == {"term": term}


def test_series_tvdb_term_asks_sonarr(settings, couch, fake_sonarr, fake_radarr, start_worker):
    start_worker()
    got = answer_of(couch, settings, write(couch, settings, lookup("series", "tvdb:81189"))["_id"])
    [hit] = got["results"]
    assert hit["tvdbId"] == 81189 and hit["title"] == "Breaking Bad" and hit["year"] == 2008
    assert hit["imdbId"] == "tt0903747" and "tmdbId" not in hit
    assert hit["poster"].startswith("https://artworks.thetvdb.com/banners/posters/")
    assert hit["inLibrary"] is False and hit["inCollection"] is False
    assert fake_sonarr.log("GET", LOOKUP_PATH["series"])[0]["query"] == {"term": "tvdb:81189"}
    assert fake_radarr.log("GET", LOOKUP_PATH["movie"]) == []


def test_in_library_and_in_collection_flags(settings, couch, fake_radarr, fake_sonarr, start_worker):
    fake_radarr.add_existing(603)  # in Radarr, and in the collection as wanted
    collection = couch.db(settings.movies_db)
    collection.put({"_id": "tmdb:603", "type": "movie", "tmdbId": 603, "title": "The Matrix", "status": "wanted"})
    # in the collection only (a removed tombstone: deleted from Radarr)
    collection.put({"_id": "tmdb:550", "type": "movie", "tmdbId": 550, "title": "Fight Club", "status": "removed"})
    fake_radarr.add_existing(27205)  # in Radarr only (the collection has not caught up yet)
    fake_sonarr.add_existing(81189, has_file=True)
    couch.db(settings.series_db).put({"_id": "tvdb:81189", "type": "series", "tvdbId": 81189,
                                      "title": "Breaking Bad", "status": "downloaded"})
    start_worker()
    movies = answer_of(couch, settings, write(couch, settings, lookup(term="i"))["_id"])
    hits = by_id(movies["results"])
    assert set(hits) == {603, 550, 27205, 157336, 680}  # every catalog title with an "i"
    flags = {k: (h["inLibrary"], h["inCollection"], h.get("status")) for k, h in hits.items()}
    assert flags == {603: (True, True, "wanted"), 550: (False, True, "removed"), 27205: (True, False, None),
                     157336: (False, False, None), 680: (False, False, None)}
    series = answer_of(couch, settings, write(couch, settings, lookup("series", "breaking"))["_id"])
    [bb] = series["results"]
    assert (bb["tvdbId"], bb["inLibrary"], bb["inCollection"], bb["status"]) == (81189, True, True, "downloaded")


def test_long_overviews_are_trimmed_and_at_most_20_results(settings, couch, fake_radarr, start_worker):
    fake_radarr.set_catalog(680, overview="A very long story. " * 100)
    for n in range(30):
        fake_radarr.set_catalog(91000 + n, title=f"Pulp Copy {n}")
    start_worker()
    got = answer_of(couch, settings, write(couch, settings, lookup(term="pulp"))["_id"])
    assert len(got["results"]) == 20
    pulp = by_id(got["results"])[680]
    assert len(pulp["overview"]) <= 500 and pulp["overview"].endswith("…")
    assert trim("a  b\n c") == "a b c" and trim(None) == ""


def test_no_results_is_an_answer_too(settings, couch, fake_radarr, start_worker):
    start_worker()
    got = answer_of(couch, settings, write(couch, settings, lookup(term="zzzz-nothing"))["_id"])
    assert got["state"] == "answered" and got["results"] == []


def test_slow_lookup_does_not_hold_up_the_next(settings, couch, fake_radarr, start_worker):
    w = start_worker()
    wait_for(lambda: w.status()["feeds"].get(f"lookups-{settings.lookups_db}", {}).get("following"))
    fake_radarr.delay = 0.6
    t0 = time.monotonic()
    docs = [write(couch, settings, lookup(term=t)) for t in ("matrix", "fight", "inception", "pulp")]
    for d in docs:
        assert answer_of(couch, settings, d["_id"])["state"] == "answered"
    # four 0.6 s lookups one after another would take 2.4 s
    assert time.monotonic() - t0 < 1.5


# --- failures

def test_radarr_down_fails_with_a_readable_reason_after_retries(settings, couch, fake_radarr, start_worker):
    fake_radarr.fail_mode = "500"
    start_worker()
    got = answer_of(couch, settings, write(couch, settings, lookup(term="matrix"))["_id"], timeout=15)
    assert got["state"] == "failed" and got["answered_at"] and "results" not in got
    assert got["error"]["code"] == "http_500"
    assert got["error"]["message"] == "Radarr answered 500: database is locked (tried 3 times)"
    assert len(fake_radarr.log("GET", LOOKUP_PATH["movie"])) == 3


def test_radarr_unreachable_fails_and_a_passing_hiccup_is_retried(settings, couch, fake_radarr, start_worker):
    start_worker()
    fake_radarr.fail_next(1, "500")
    ok = answer_of(couch, settings, write(couch, settings, lookup(term="matrix"))["_id"])
    assert ok["state"] == "answered" and ok["results"][0]["tmdbId"] == 603
    fake_radarr.stop()
    got = answer_of(couch, settings, write(couch, settings, lookup(term="matrix"))["_id"], timeout=15)
    assert got["state"] == "failed" and got["error"]["code"] == "unreachable"
    assert got["error"]["message"].startswith("could not connect to Radarr at http://127.0.0.1:")
    assert "is it running, and is RADARR_URL right? (tried 3 times)" in got["error"]["message"]


def test_no_sonarr_configured_fails_at_once(settings, couch, start_worker):
    start_worker(sonarr=())
    got = answer_of(couch, settings, write(couch, settings, lookup("series", "breaking"))["_id"])
    assert got["error"] == {"code": "not_configured",
                            "message": "no Sonarr is configured (SONARR_URL), so series titles cannot be searched"}


# --- claims

def test_two_workers_answer_each_lookup_once(settings, couch, fake_radarr, start_worker):
    fake_radarr.delay = 0.05
    workers = [start_worker(worker_id="lookup-a"), start_worker(worker_id="lookup-b")]
    name = f"lookups-{settings.lookups_db}"
    wait_for(lambda: all(w.status()["feeds"].get(name, {}).get("following") for w in workers),
             message="both workers following the lookups db")
    terms = [f"tmdb:{603 if n % 2 else 550}" for n in range(20)]
    docs = [lookup(term=t) for t in terms]
    couch.db(settings.lookups_db).bulk_docs(docs)
    answers = [answer_of(couch, settings, d["_id"]) for d in docs]
    assert all(a["state"] == "answered" for a in answers)
    time.sleep(0.5)  # a second answer would come now
    assert len(fake_radarr.log("GET", LOOKUP_PATH["movie"])) == 20
    for d, a in zip(docs, answers):
        assert couch.db(settings.lookups_db).get(d["_id"])["_rev"] == a["_rev"]
        assert a["_rev"].startswith("3-")  # created, claimed, answered: nothing more


def test_stale_claim_is_taken_over_and_own_orphan_resumed(settings, couch, fake_radarr, start_worker):
    old = iso(datetime.now(timezone.utc) - timedelta(seconds=claim_timeout_for(settings) + 5))
    fresh = iso(datetime.now(timezone.utc))
    stale = write(couch, settings, lookup(term="tmdb:603", state="working", claimed_by="dead", claimed_at=old))
    busy = write(couch, settings, lookup(term="tmdb:550", state="working", claimed_by="alive", claimed_at=fresh))
    orphan = write(couch, settings, lookup(term="tmdb:680", state="working", claimed_by=settings.worker_id,
                                           claimed_at=fresh))
    start_worker()
    assert answer_of(couch, settings, stale["_id"])["results"][0]["tmdbId"] == 603
    assert answer_of(couch, settings, orphan["_id"])["results"][0]["tmdbId"] == 680
    time.sleep(0.5)
    assert couch.db(settings.lookups_db).get(busy["_id"])["state"] == "working"  # another worker's, in time
    assert [r["query"]["term"] for r in fake_radarr.log("GET", LOOKUP_PATH["movie"])] in (
        ["tmdb:603", "tmdb:680"], ["tmdb:680", "tmdb:603"])


def test_lookup_deleted_while_it_is_answered(settings, couch, fake_radarr, start_worker):
    fake_radarr.delay = 0.5
    start_worker()
    doc = write(couch, settings, lookup(term="matrix"))
    db = couch.db(settings.lookups_db)
    claimed = wait_for(lambda: (db.get(doc["_id"]) or {}).get("state") == "working" and db.get(doc["_id"]))
    db.delete(doc["_id"], claimed["_rev"])
    time.sleep(0.8)
    assert db.get(doc["_id"]) is None  # the answer was dropped, the deletion stands
    assert len(fake_radarr.log("GET", LOOKUP_PATH["movie"])) == 1


# --- cleanup

def test_old_lookups_are_cleaned_up(settings, couch, fake_radarr, start_worker):
    db = couch.db(settings.lookups_db)
    old = iso(datetime.now(timezone.utc) - timedelta(hours=2))
    now = iso(datetime.now(timezone.utc))
    old_answered = write(couch, settings, lookup(state="answered", results=[], answered_at=old))
    old_failed = write(couch, settings, lookup(state="failed", error={"code": "x", "message": "y"}, answered_at=old))
    recent = write(couch, settings, lookup(state="answered", results=[], answered_at=now))
    start_worker(lookup_ttl=3600)
    wait_for(lambda: db.get(old_answered["_id"]) is None and db.get(old_failed["_id"]) is None,
             message="the old lookups to be deleted")
    assert db.get(recent["_id"])["state"] == "answered"
    # with a short TTL an answered lookup goes a moment after its answer
    start_worker(lookup_ttl=1, worker_id=settings.worker_id + "-short")
    fresh = write(couch, settings, lookup(term="tmdb:603"))
    answer_of(couch, settings, fresh["_id"])
    wait_for(lambda: db.get(fresh["_id"]) is None and db.get(recent["_id"]) is None, timeout=10,
             message="answered lookups to be deleted after LOOKUP_TTL")


def test_worker_reports_the_lookups_feed(settings, start_worker):
    w = start_worker()
    name = f"lookups-{settings.lookups_db}"
    feeds = wait_for(lambda: w.status()["feeds"].get(name, {}).get("following") and w.status()["feeds"])
    assert feeds[name]["error"] is None


# --- validate_doc_update

@pytest.fixture
def member(settings):
    with member_user(settings.couchdb_url, settings.couch_auth, (settings.lookups_db,)) as user:
        yield user


def as_member(settings, member, method, doc_id, **kw):
    url = f"{settings.couchdb_url}/{settings.lookups_db}/{doc_id}"
    return requests.request(method, url, auth=(member["username"], member["password"]), timeout=10, **kw)


def refused(resp, reason):
    assert resp.status_code == 403, resp.text
    assert resp.json() == {"error": "forbidden", "reason": reason}


@pytest.mark.parametrize("change, reason", [
    ({"kind": "book"}, 'kind must be "movie" (asks Radarr) or "series" (asks Sonarr)'),
    ({"kind": None}, 'kind must be "movie" (asks Radarr) or "series" (asks Sonarr)'),
    ({"type": "movie"}, 'type must be "lookup"'),
    ({"term": "   "}, "term must be a non-empty string: a title, or tmdb:<id> / imdb:<tt id> (movies), "
                        "tvdb:<id> (series)"),
    ({"term": 603}, "term must be a non-empty string: a title, or tmdb:<id> / imdb:<tt id> (movies), "
                    "tvdb:<id> (series)"),
    ({"term": "x" * 201}, "term is longer than 200 characters"),
    ({"requested_at": "2026-02-30T10:00:00Z"}, "requested_at must be an ISO 8601 time such as 2026-01-31T20:15:00Z"),
    ({"requested_by": "somebody-else"}, None),  # filled in below: the member's own name
    ({"title": "The Matrix"}, "title is not a field of a lookup (known: type, kind, term, requested_at, "
                              "requested_by, state, results, answered_at, error, claimed_by, claimed_at)"),
    ({"results": []}, "results is set by the sidecar only; leave it out of a new lookup"),
    ({"state": "answered", "results": [], "answered_at": "2026-11-25T10:00:01Z"},
     "state is set by the sidecar only; leave it out of a new lookup"),
    ({"state": "working", "claimed_by": "me", "claimed_at": "2026-11-25T10:00:01Z"},
     "state is set by the sidecar only; leave it out of a new lookup"),
    ({"error": {"code": "x", "message": "y"}}, "error is set by the sidecar only; leave it out of a new lookup"),
    ({"state": "done"}, "state must be one of working, answered, failed"),
])
def test_frontend_lookup_refusals(settings, member, change, reason):
    doc = lookup(**change)
    if reason is None:
        reason = f'requested_by must be your user name ("{member["username"]}") or left out'
    refused(as_member(settings, member, "PUT", doc["_id"], json=doc), reason)


def test_term_length_counts_characters(settings, member):
    doc = lookup(term="🎬" * 200)  # 400 UTF-16 units, 200 characters
    assert as_member(settings, member, "PUT", doc["_id"], json=doc).status_code == 201


def test_frontend_may_create_and_delete_its_own_but_never_edit(settings, couch, member):
    mine = lookup(requested_by=member["username"])
    r = as_member(settings, member, "PUT", mine["_id"], json=mine)
    assert r.status_code == 201, r.text
    rev = r.json()["rev"]
    # the sidecar answers (admin here)
    db = couch.db(settings.lookups_db)
    answered = dict(db.get(mine["_id"]), state="answered", results=[], answered_at="2026-11-25T10:00:01Z")
    db.put(answered)
    refused(as_member(settings, member, "PUT", mine["_id"], json=dict(answered, results=[
        {"tmdbId": 1, "title": "x", "inLibrary": False, "inCollection": False}])),
            "a lookup cannot be changed once made; delete it and write a new one")
    refused(as_member(settings, member, "PUT", mine["_id"], json=dict(answered, term="other")),
            "term stays as it was when the lookup was made; to search again, write a new lookup")
    assert as_member(settings, member, "DELETE", mine["_id"], params={"rev": rev}).status_code == 409  # old rev
    assert as_member(settings, member, "DELETE", mine["_id"], params={"rev": answered["_rev"]}).status_code == 200
    # someone else's: no; one that names nobody: yes
    theirs = lookup(requested_by="ann")
    db.put(theirs)
    refused(as_member(settings, member, "DELETE", theirs["_id"], params={"rev": theirs["_rev"]}),
            "this lookup was made by ann; only they (or the sidecar) may delete it")
    anyones = lookup()
    r = as_member(settings, member, "PUT", anyones["_id"], json=anyones)
    assert as_member(settings, member, "DELETE", anyones["_id"], params={"rev": r.json()["rev"]}).status_code == 200


def test_sidecar_writes_are_checked_too(settings, couch):
    db = couch.db(settings.lookups_db)
    doc = db.get(write(couch, settings, lookup())["_id"])
    for change, reason in [
        ({"state": "answered"}, "an answered lookup has results and answered_at"),
        ({"state": "failed", "answered_at": "2026-11-25T10:00:01Z"}, "a failed lookup has error and answered_at"),
        ({"state": "working"}, "a working lookup names its claimed_by and claimed_at"),
        ({"results": [{"tmdbId": 1}]}, "results[0] must be {tmdbId|tvdbId, title, year, overview, poster, "
                                       "inLibrary, inCollection, status?}"),
        ({"term": "something else"}, "term stays as it was when the lookup was made; to search again, write a "
                                     "new lookup"),
    ]:
        with pytest.raises(Forbidden) as err:
            db.put(dict(doc, **change))
        assert err.value.reason == reason


def test_lookups_design_doc_is_pushed(settings, couch):
    ddoc = couch.db(settings.lookups_db).get("_design/lookups")
    assert ddoc["sidecar_role"] == settings.sidecar_role
    assert set(ddoc) >= {"validate_doc_update", "filters", "views"}


# --- the real PouchDB client

def run_lookup_client(cfg: dict, timeout: float = 30) -> dict:
    node = shutil.which("node")
    if not node:
        pytest.fail("node is not installed (Node.js 18+ is needed for the PouchDB client tests)")
    if not (ROOT / "node_modules" / "pouchdb" / "package.json").exists():
        pytest.fail("npm package pouchdb is missing: run `npm ci` (scripts/dev.py does it)")
    cfg = dict(cfg, timeoutMs=int((timeout - 5) * 1000))
    proc = subprocess.run([node, str(ROOT / "tests" / "pouch_client" / "lookup.js"), json.dumps(cfg)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    sys.stderr.write(proc.stderr)
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith("{")]
    assert lines, f"lookup.js printed no result (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    result = json.loads(lines[-1])
    assert result.get("ok"), f"lookup.js failed: {result.get('error')}\n{proc.stderr}"
    return result


def test_pouchdb_client_lookup_round_trip(settings, couch, fake_radarr, start_worker, member, tmp_path):
    fake_radarr.add_existing(603)
    start_worker()
    cfg = {"server": settings.couchdb_url, "db": settings.lookups_db, "dir": str(tmp_path / "pouch"),
           "kind": "movie", "term": "tmdb:603", "auth": member, "remove": True}
    out = run_lookup_client(cfg)
    doc = out["doc"]
    assert out["denied"] == [] and out["answered_ms"] >= 0, out  # how fast: bench/lookups.py
    assert doc["state"] == "answered" and doc["requested_by"] == member["username"]
    assert doc["results"][0]["tmdbId"] == 603 and doc["results"][0]["inLibrary"] is True
    # the frontend deleted its own lookup afterwards: the deletion reached the server
    assert out["removed_on_server"] is True and couch.db(settings.lookups_db).get(out["id"]) is None
    # an invalid lookup is refused with its reason during replication
    bad = run_lookup_client(dict(cfg, dir=str(tmp_path / "pouch2"), badFields={"kind": "book"}, remove=False))
    assert bad["denied"][0]["reason"] == 'kind must be "movie" (asks Radarr) or "series" (asks Sonarr)'
    assert bad["on_server"] is False
