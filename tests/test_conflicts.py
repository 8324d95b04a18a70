"""Replication conflicts, made deterministically: `_bulk_docs` with `new_edits: false` writes a
revision on a parent of our choosing exactly as replication does (CouchDB docs, "Replication
protocol"), on the server under test (pouchdb-server, or CouchDB 3 with COUCHDB_URL).

After each scenario: no doc has `_conflicts`, no title was processed twice (the fake counts one
creation and sees no request for the title after its move), no withdrawal is lost, and every
collection `status` says what the facts say.
"""
from __future__ import annotations

import time
import uuid

import pytest

from sidecar.collection import iso, merge
from sidecar.conflicts import resolve_buffer, resolve_collection, winner_order
from sidecar.couch import Database
from tests.conftest import movie_request, replace, wait_for


def branch(db: Database, parent_rev: str, doc: dict, deleted: bool = False) -> str:
    """Write `doc` as a child of parent_rev the way replication does; returns its revision."""
    parent = db.revisions(doc["_id"], [parent_rev])[0]
    ids = parent["_revisions"]["ids"]
    new = uuid.uuid4().hex
    pos = parent["_revisions"]["start"] + 1
    body = {k: v for k, v in doc.items() if not k.startswith("_")}
    body.update(_id=doc["_id"], _rev=f"{pos}-{new}", _revisions={"start": pos, "ids": [new] + ids})
    if deleted:
        body["_deleted"] = True
    rows = db.couch.json("POST", f"{db.name}/_bulk_docs", json={"docs": [body], "new_edits": False})
    assert not [r for r in rows if r.get("error")], rows
    return body["_rev"]


def leaves(db: Database, doc_id: str) -> list[dict]:
    return db.leaves(doc_id)


def live_leaves(db: Database, doc_id: str) -> list[dict]:
    return [leaf for leaf in db.leaves(doc_id) if not leaf.get("_deleted")]


def settled(db: Database, doc_id: str):
    """The doc once at most one live leaf is left (None if none is)."""
    live = live_leaves(db, doc_id)
    return (live[0] if live else "gone") if len(live) <= 1 else None


def gone(db: Database, doc_id: str) -> bool:
    """No live leaf is left (every branch deleted)."""
    return not live_leaves(db, doc_id)


def no_conflicts(db: Database) -> bool:
    rows = db.all_docs(conflicts=True)
    return not [r["id"] for r in rows if (r.get("doc") or {}).get("_conflicts")]


@pytest.fixture
def dbs(settings, couch):
    return couch.db(settings.movies_buffer_db), couch.db(settings.movies_db)


def retry_rev(buffer: Database, doc_id: str, min_attempts: int = 1) -> dict:
    return wait_for(lambda: (d := buffer.get(doc_id)) and d.get("state") == "retry"
                    and d.get("attempts", 0) >= min_attempts and d, timeout=15, message=f"{doc_id} in retry")


# --------------------------------------------------------------------------- scenario 1


def test_a_moved_wish_does_not_come_back_when_an_offline_edit_arrives(dbs, couch, settings, fake_radarr,
                                                                      start_worker):
    buffer, collection = dbs
    fake_radarr.fail_mode = "503"
    start_worker()
    buffer.put(movie_request(701))
    stale = retry_rev(buffer, "tmdb:701")  # what the phone synced before going offline
    fake_radarr.fail_mode = None
    wait_for(lambda: collection.get("tmdb:701") and buffer.get("tmdb:701") is None, timeout=15, message="moved")
    moved_at = time.time()
    # the phone's offline edit (download → monitor) of the retry revision replicates in
    branch(buffer, stale["_rev"], {**stale, "action": "monitor"})
    wait_for(lambda: gone(buffer, "tmdb:701"), message="the edit ended")
    time.sleep(1.0)  # a worker that took the edit for a wish would have called Radarr by now
    assert fake_radarr.creations[701] == 1
    assert not [r for r in fake_radarr.requests_log if r["time"] > moved_at]
    doc = collection.get("tmdb:701")
    assert doc["requested"]["action"] == "download" and doc["status"] == "wanted"
    assert no_conflicts(buffer) and no_conflicts(collection)


def test_an_offline_edit_of_a_claimed_wish_ends_with_the_move(dbs, couch, settings, fake_radarr, start_worker):
    """Mirror image: the edit arrives while the add is in flight; the move ends it."""
    buffer, collection = dbs
    buffer.put(movie_request(702))
    before = buffer.get("tmdb:702")
    fake_radarr.delay = 1.5
    start_worker()
    wait_for(lambda: (buffer.get("tmdb:702") or {}).get("state") == "processing", message="claimed")
    branch(buffer, before["_rev"], {**before, "title": "Edited offline"})
    wait_for(lambda: collection.get("tmdb:702") and gone(buffer, "tmdb:702"), timeout=15, message="moved and settled")
    assert fake_radarr.creations[702] == 1 and no_conflicts(buffer)


# --------------------------------------------------------------------------- scenario 2


def test_an_offline_edit_of_a_retrying_wish_is_kept_and_used(dbs, settings, fake_radarr, start_worker):
    buffer, collection = dbs
    fake_radarr.fail_mode = "503"
    start_worker()
    buffer.put(movie_request(703))
    stale = retry_rev(buffer, "tmdb:703")
    retry_rev(buffer, "tmdb:703", min_attempts=stale["attempts"] + 1)  # the sidecar moved on meanwhile
    branch(buffer, stale["_rev"], {**stale, "action": "monitor"})
    merged = wait_for(lambda: (s := settled(buffer, "tmdb:703")) and s != "gone" and s.get("action") == "monitor" and s,
                      message="the edit merged into the winner")
    assert merged["attempts"] > stale["attempts"]  # the sidecar's state fields, the user's request
    assert no_conflicts(buffer)
    fake_radarr.fail_mode = None
    doc = wait_for(lambda: collection.get("tmdb:703"), timeout=20, message="moved")
    assert doc["requested"]["action"] == "monitor" and doc["status"] == "monitored"
    assert fake_radarr.creations[703] == 1
    wait_for(lambda: gone(buffer, "tmdb:703"), message="moved")


def test_two_devices_editing_the_same_wish_converge_on_one(dbs, settings, fake_radarr, start_worker):
    """Mirror image: two frontend branches, no sidecar change between; one winner, one add."""
    buffer, collection = dbs
    fake_radarr.fail_mode = "503"
    start_worker()
    buffer.put(movie_request(704))
    stale = retry_rev(buffer, "tmdb:704")
    branch(buffer, stale["_rev"], {**stale, "title": "From the phone"})
    branch(buffer, stale["_rev"], {**stale, "title": "From the tablet"})
    wait_for(lambda: (s := settled(buffer, "tmdb:704")) and s != "gone", message="one leaf left")
    fake_radarr.fail_mode = None
    wait_for(lambda: collection.get("tmdb:704"), timeout=20, message="moved")
    assert fake_radarr.creations[704] == 1 and no_conflicts(buffer)


# --------------------------------------------------------------------------- scenario 4


def test_a_withdrawal_wins_over_the_sidecars_next_retry(dbs, settings, fake_radarr, start_worker):
    buffer, collection = dbs
    fake_radarr.fail_mode = "503"
    start_worker()
    buffer.put(movie_request(705))
    stale = retry_rev(buffer, "tmdb:705")
    retry_rev(buffer, "tmdb:705", min_attempts=stale["attempts"] + 1)
    branch(buffer, stale["_rev"], {"_id": stale["_id"]}, deleted=True)  # a bare DELETE, as PouchDB's remove() writes
    wait_for(lambda: gone(buffer, "tmdb:705"), message="withdrawn")
    fake_radarr.fail_mode = None
    time.sleep(1.5)
    assert fake_radarr.creations.get(705, 0) == 0 and collection.get("tmdb:705") is None
    # the bare tombstone now says which wish it ended (its parent may be compacted away later)
    ended = [leaf for leaf in leaves(buffer, "tmdb:705") if leaf.get("ended") == "withdrawn"]
    assert ended and all(leaf["requested_at"] == stale["requested_at"] for leaf in ended)


def test_a_withdrawal_loses_to_an_add_that_already_happened(dbs, settings, fake_radarr, start_worker):
    """Mirror image: the title was added before the withdrawal arrived; it stays in the collection."""
    buffer, collection = dbs
    buffer.put(movie_request(706))
    before = buffer.get("tmdb:706")
    start_worker()
    wait_for(lambda: collection.get("tmdb:706") and buffer.get("tmdb:706") is None, message="moved")
    branch(buffer, before["_rev"], {"_id": before["_id"]}, deleted=True)
    time.sleep(0.5)
    assert gone(buffer, "tmdb:706") and fake_radarr.creations[706] == 1
    assert collection.get("tmdb:706")["status"] == "wanted"


def test_a_new_wish_after_a_withdrawal_is_not_ended_by_the_old_tombstones(dbs, settings, fake_radarr,
                                                                          start_worker):
    buffer, collection = dbs
    fake_radarr.fail_mode = "503"
    start_worker()
    buffer.put(movie_request(707))
    stale = retry_rev(buffer, "tmdb:707")
    retry_rev(buffer, "tmdb:707", min_attempts=stale["attempts"] + 1)
    branch(buffer, stale["_rev"], {"_id": stale["_id"]}, deleted=True)
    wait_for(lambda: gone(buffer, "tmdb:707") and len(leaves(buffer, "tmdb:707")) >= 2,
             message="withdrawn")
    fake_radarr.fail_mode = None
    # asked again later: CouchDB writes the new wish on the winning tombstone; others stay leaves
    buffer.put(movie_request(707, requested_at="2026-11-26T08:00:00Z"))
    doc = wait_for(lambda: collection.get("tmdb:707"), timeout=15, message="the new wish added")
    assert doc["requested"]["at"] == "2026-11-26T08:00:00Z" and fake_radarr.creations[707] == 1


# --------------------------------------------------------------------------- cluster claims


def test_two_claims_on_one_wish_leave_one_add(dbs, settings, fake_radarr, start_worker):
    """What a cluster's copies hold after two workers claimed at once on different nodes: two
    `processing` branches. The one that is not in flight anywhere is settled; one add."""
    buffer, collection = dbs
    buffer.put(movie_request(708))
    before = buffer.get("tmdb:708")
    now = iso(__import__("datetime").datetime.now(__import__("datetime").timezone.utc))
    for who in ("node-a-worker", "node-b-worker"):
        branch(buffer, before["_rev"], {**before, "state": "processing", "claimed_by": who, "claimed_at": now,
                                        "attempts": 1})
    start_worker(claim_timeout=1.0)
    wait_for(lambda: collection.get("tmdb:708") and gone(buffer, "tmdb:708"), timeout=20,
             message="moved once the claims went stale")
    assert fake_radarr.creations[708] == 1 and no_conflicts(buffer)


# --------------------------------------------------------------------------- scenario 5


def test_concurrent_webhooks_on_two_branches_merge_to_the_facts(couch, settings, fake_radarr, start_worker, sidecar):
    """Grab reaches one server and Download the other at the same moment: both writes land as
    sibling branches; the merged winner says downloaded and no `_conflicts` stays."""
    collection = couch.db(settings.movies_db)
    web = sidecar()
    ids = list(range(720, 730))
    for tmdb_id in ids:
        fake_radarr.add_existing(tmdb_id, title=f"Movie {tmdb_id}")
    for tmdb_id in ids:
        assert web.hook("radarr", added_payload(fake_radarr, tmdb_id)).status_code == 200
    base = {t: collection.get(f"tmdb:{t}") for t in ids}
    for tmdb_id in ids:
        doc = base[tmdb_id]
        grabbed = merge(doc, "movie", tmdb_id, "webhook:Grab", set_fields={"grabbed": True})
        downloaded = merge(doc, "movie", tmdb_id, "webhook:Download", instance="default",
                           entry={"id": doc["radarrId"], "hasFile": True}, set_fields={"grabbed": False})
        if tmdb_id % 2:  # half the time the Grab's facts are stamped later than the Download's
            grabbed["clock"] = {k: "2099-01-01T00:00:00.000Z" if v != doc["clock"].get(k) else v
                                for k, v in grabbed["clock"].items()}
        branch(collection, doc["_rev"], grabbed)
        branch(collection, doc["_rev"], downloaded)
    assert all(len(live_leaves(collection, f"tmdb:{t}")) == 2 for t in ids)
    start_worker()
    for tmdb_id in ids:
        doc = wait_for(lambda: settled(collection, f"tmdb:{tmdb_id}"), message=f"tmdb:{tmdb_id} settled")
        assert doc["status"] == "downloaded" and doc["hasFile"] is True, doc
    assert no_conflicts(collection)


def added_payload(fake, tmdb_id: int) -> dict:
    res = fake.find(tmdb_id)
    return {"eventType": "MovieAdded", "instanceName": "Radarr", "applicationUrl": "",
            "movie": {"id": res["id"], "title": res["title"], "year": res.get("year"), "tmdbId": tmdb_id,
                      "imdbId": res.get("imdbId", ""), "folderPath": res.get("path", "/movies/x")},
            "addMethod": "manual"}


# --------------------------------------------------------------------------- the policy itself


def _leaf(rev: str, parent: str | None = None, **body) -> dict:
    pos, _, rid = rev.partition("-")
    ids = [rid] + ([parent.partition("-")[2]] if parent else [])
    return {"_id": "tmdb:1", "_rev": rev, "_revisions": {"start": int(pos), "ids": ids}, **body}


def test_two_resolvers_seeing_the_same_leaves_write_the_same_revisions():
    from datetime import datetime, timezone
    wish = {"type": "movie", "tmdbId": 1, "title": "x", "action": "download", "requested_at": "2026-01-01T00:00:00Z"}
    a = _leaf("3-aaa", "2-p", **wish, state="retry", attempts=2, last_error={"code": "x", "message": "m", "at": "t"})
    b = _leaf("3-bbb", "2-p", **{**wish, "action": "monitor"}, state="retry", attempts=1)
    now = datetime.now(timezone.utc)
    one = resolve_buffer([a, b], {}, now, 300)
    two = resolve_buffer([b, a], {}, now, 300)
    assert one.writes == two.writes and one.outcome == "merged"
    merged = [w for w in one.writes if not w.get("_deleted")][0]
    assert merged["action"] == "monitor" and merged["attempts"] == 2 and merged["_rev"] == winner_order([a, b])[0]["_rev"]


def test_collection_merge_is_idempotent_and_ignores_deleted_history():
    doc = merge(None, "movie", 1, "worker", facts={"title": "x"}, instance="default", entry={"id": 1, "monitored": True})
    a = {**doc, "_id": "tmdb:1", "_rev": "2-a"}
    gone = {"_id": "tmdb:1", "_rev": "3-z", "_deleted": True, "merged_into": "2-a"}
    assert resolve_collection([a, gone]).writes == [] and resolve_collection([a]).live == a


def test_sibling_claims_of_workers_that_restarted_since_are_nobodys_work():
    """Two claims taken at once on two nodes, both workers killed and restarted: neither claim is
    in flight (each worker's report says when it started), so they merge instead of waiting for
    CLAIM_TIMEOUT (bench/cluster.py --mode kills found two such wishes held up)."""
    from datetime import datetime, timezone
    wish = {"type": "movie", "tmdbId": 1, "title": "x", "action": "download", "requested_at": "2026-01-01T00:00:00Z"}
    now = datetime.now(timezone.utc)
    claimed = iso(now)
    a = _leaf("2-aaa", "1-p", **wish, state="processing", claimed_by="w1", claimed_at=claimed, attempts=1)
    b = _leaf("2-bbb", "1-p", **wish, state="processing", claimed_by="w2", claimed_at=claimed, attempts=1)
    assert resolve_buffer([a, b], {}, now, 300).outcome == "waiting"
    later = "9999-01-01T00:00:00.000Z"  # both started after their claims
    merged = resolve_buffer([a, b], {}, now, 300, started={"w1": later, "w2": later})
    assert merged.outcome == "merged" and len(merged.writes) == 1  # the other branch merged away
