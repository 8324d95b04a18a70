"""The frontend's side for real: npm `pouchdb` (the library the Ionic app uses) run by Node
(tests/pouch_client/client.js) with local databases that sync with the test server, the worker
and the fake Radarr in between. No HTTP call to the sidecar anywhere: only replication.

The client signs in as a real member user of the test's databases (`member`: a `_users` doc with
the role "household", added to each database's `_security` members), as a frontend does on
CouchDB 3, where new databases are admin-only; on the local pouchdb-server too, where an
authenticated user gets its own roles (not the admin party's `_admin`), so validate_doc_update
treats it as the frontend.

The last tests are replication conflicts as phones make them (offline = the client does not sync
for a while, then syncs), driven step by step (`PouchSession`, the client's `session` mode).
Each ends with the same checks: no document on the server has `_conflicts`, the title was added
to Radarr at most once and never POSTed again after its move, no withdrawal lost, and the
collection says what the user asked for.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import secrets
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from sidecar.config import Settings
from sidecar.design import push_all
from tests.conftest import ROOT, free_port, wait_for

CLIENT = ROOT / "tests" / "pouch_client" / "client.js"
COLLECTION_REFUSAL = "the collection is written by the sidecar only; add titles through the buffer database"


def run_client(scenario: str, cfg: dict, timeout: float = 30) -> dict:
    node = shutil.which("node")
    if not node:
        pytest.fail("node is not installed (Node.js 18+ is needed for the PouchDB client tests)")
    if not (ROOT / "node_modules" / "pouchdb" / "package.json").exists():
        pytest.fail("npm package pouchdb is missing: run `npm ci` (scripts/dev.py does it)")
    cfg = dict(cfg, timeoutMs=int((timeout - 5) * 1000))
    proc = subprocess.run([node, str(CLIENT), scenario, json.dumps(cfg)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    sys.stderr.write(proc.stderr)  # shown by pytest on failure
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith("{")]
    assert lines, f"client printed no result (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    result = json.loads(lines[-1])
    assert result.get("ok"), f"client scenario {scenario} failed: {result.get('error')}\n{proc.stderr}"
    return result


def client_cfg(settings: Settings, tmp_path: Path, tmdb_id: int, **extra) -> dict:
    return {"server": settings.couchdb_url, "buffer": settings.movies_buffer_db, "collection": settings.movies_db,
            "kind": "movie", "dir": str(tmp_path / "pouch"), "id": tmdb_id, **extra}


MEMBER_ROLE = "household"


@pytest.fixture
def member(settings):
    """{username, password} of a real, plain user (role "household", no admin) who is a member of
    the test's four databases. The sidecar's members (its role, _admin on CouchDB 3) are kept."""
    url, admin = settings.couchdb_url, settings.couch_auth
    name, password = f"fan{uuid.uuid4().hex[:10]}", secrets.token_urlsafe(12)
    user_url = f"{url}/_users/org.couchdb.user:{name}"
    r = requests.put(user_url, auth=admin, timeout=10,
                     json={"name": name, "password": password, "roles": [MEMBER_ROLE], "type": "user"})
    assert r.status_code in (201, 202), r.text
    for db in (settings.movies_buffer_db, settings.movies_db, settings.series_buffer_db, settings.series_db):
        sec = requests.get(f"{url}/{db}/_security", auth=admin, timeout=10).json() or {}
        members = dict(sec.get("members") or {})
        members["names"] = sorted(set(members.get("names") or []) | {name})
        members["roles"] = sorted(set(members.get("roles") or []) | {MEMBER_ROLE})
        sec["members"] = members
        sec.setdefault("admins", {"names": [], "roles": []})
        r = requests.put(f"{url}/{db}/_security", auth=admin, json=sec, timeout=10)
        assert r.ok, r.text
    ctx = requests.get(f"{url}/_session", auth=(name, password), timeout=10).json()["userCtx"]
    assert ctx == {"name": name, "roles": [MEMBER_ROLE]}, ctx
    yield {"username": name, "password": password}
    doc = requests.get(user_url, auth=admin, timeout=10).json()
    if doc.get("_rev"):
        requests.delete(user_url, params={"rev": doc["_rev"]}, auth=admin, timeout=10)


def test_wish_syncs_up_and_title_comes_back_within_a_second(settings, couch, fake_radarr, start_worker, tmp_path,
                                                            member):
    start_worker()
    out = run_client("roundtrip", client_cfg(settings, tmp_path, 7001, auth=member))
    # the client saw the title arrive in its replicated collection and leave its buffer
    assert out["arrived_ms"] < 1000, out
    assert out["left_buffer_ms"] < 1000, out
    doc = out["collection_doc"]
    assert doc["_id"] == "tmdb:7001" and doc["status"] == "wanted" and doc["title"] == "Client Movie 7001"
    assert doc["requested"]["by"] == "pouch-client" and doc["radarrId"] > 0
    assert out["denied"] == []
    # and it really went through Radarr and out of the server's buffer
    assert fake_radarr.creations[7001] == 1
    assert couch.db(settings.movies_buffer_db).get("tmdb:7001") is None


def test_invalid_wish_is_refused_on_replication_with_the_reason(settings, couch, tmp_path, member):
    out = run_client("invalid", client_cfg(settings, tmp_path, 604, badFields={"title": "   "}, auth=member))
    assert out["denied"], out
    first = out["denied"][0]
    assert first["id"] == "tmdb:604" and first["error"] == "forbidden"
    assert first["reason"] == "title must be a non-empty string"
    assert out["one_shot"]["doc_write_failures"] == 1 and out["one_shot"]["docs_written"] == 0
    assert out["one_shot"]["errors"][0]["reason"] == "title must be a non-empty string"
    assert out["on_server"] is False and out["still_local"] is True
    assert couch.db(settings.movies_buffer_db).get("tmdb:604") is None


def test_invalid_id_reason_reaches_the_client(settings, tmp_path, member):
    # an _id that does not match the tmdbId: the reason names the expected id
    out = run_client("invalid", client_cfg(settings, tmp_path, 605, badFields={"tmdbId": 606}, auth=member))
    assert out["denied"][0]["reason"] == '_id must be "tmdb:606" (tmdb:<tmdbId>)'


def test_wish_made_offline_is_delivered_on_reconnect(settings, couch, fake_radarr, start_worker, tmp_path, member):
    start_worker()
    out = run_client("offline", client_cfg(settings, tmp_path, 607, offlineMs=800, auth=member))
    assert out["reached_server_while_offline"] is False
    assert out["collection_doc"]["status"] == "wanted"
    # retry back-off is capped at 1 s in the client: delivery follows the reconnect quickly
    assert out["arrived_ms_after_reconnect"] < 3000, out
    assert fake_radarr.creations[607] == 1


def test_replicated_update_of_a_validated_doc_is_stored(settings, couch):
    """Replication writes updates with new_edits=false; pouchdb-server 4.2.0's validation plugin
    dropped those silently (scripts/local_couch.py loads a fix). CouchDB 3 stores them."""
    db = couch.db(settings.movies_buffer_db)
    doc = {"_id": "tmdb:609", "type": "movie", "tmdbId": 609, "title": "T", "action": "download",
           "requested_at": "2026-11-25T10:00:00Z"}
    doc["_rev"] = db.put(dict(doc))
    doc.update(state="failed", attempts=1, last_error={"code": "x", "message": "m", "at": "2026-11-25T10:00:01Z"})
    doc["_rev"] = db.put(dict(doc))
    url, auth = f"{settings.couchdb_url}/{settings.movies_buffer_db}", settings.couch_auth
    history = requests.get(f"{url}/tmdb:609", params={"revs": "true"}, auth=auth).json()["_revisions"]
    resent = dict(doc, state="new", _rev=f"3-{'a' * 32}",
                  _revisions={"start": 3, "ids": ["a" * 32] + history["ids"]})
    r = requests.post(f"{url}/_bulk_docs", json={"docs": [resent], "new_edits": False}, auth=auth)
    assert r.status_code == 201, r.text
    stored = db.get("tmdb:609")
    assert stored["_rev"] == f"3-{'a' * 32}" and stored["state"] == "new"


# --- a server where admin party is over: the client is a plain CouchDB user

@pytest.fixture
def secured(tmp_path):
    """(settings as the sidecar/admin, (user, password) of a plain user, CORS origin allowed).

    pouchdb-server's admin party cannot be ended for one test without changing the shared server,
    so this starts its own pouchdb-server with an admin. With COUCHDB_URL (a real CouchDB 3,
    never in admin party) it uses that server and creates a throwaway user there."""
    import local_couch

    origin = "http://app.example:8100"
    user, password = f"fan{uuid.uuid4().hex[:8]}", secrets.token_urlsafe(12)
    prefix = f"sec{os.getpid()}_{uuid.uuid4().hex[:6]}"
    names = dict(movies_buffer_db=f"{prefix}_movies_buffer", movies_db=f"{prefix}_movies",
                 series_buffer_db=f"{prefix}_series_buffer", series_db=f"{prefix}_series")
    proc = None
    if os.environ.get("COUCHDB_URL"):
        from sidecar.config import load_settings

        base = load_settings(dict(os.environ))
        if not base.couch_auth:
            pytest.skip("COUCHDB_URL without COUCHDB_USER: cannot create a plain user")
        settings = Settings(couchdb_url=base.couchdb_url, couchdb_user=base.couchdb_user,
                            couchdb_password=base.couchdb_password, **names)
        origin = None  # the real server's CORS is its operator's business
    else:
        admin_pw = secrets.token_urlsafe(12)
        port = free_port()
        proc = local_couch.start(port, tmp_path / "secured-couch", in_memory=True,
                                 admins={"admin": admin_pw}, cors_origins=[origin])
        settings = Settings(couchdb_url=f"http://127.0.0.1:{port}", couchdb_user="admin",
                            couchdb_password=admin_pw, **names)
    admin = settings.couch_auth
    push_all(settings)
    r = requests.put(f"{settings.couchdb_url}/_users/org.couchdb.user:{user}", auth=admin,
                     json={"name": user, "password": password, "roles": [], "type": "user"})
    assert r.status_code in (201, 202), r.text
    for db in names.values():
        # CouchDB 3 makes new databases admin-only: the frontend's users are made members
        r = requests.put(f"{settings.couchdb_url}/{db}/_security", auth=admin,
                         json={"admins": {"names": [], "roles": []}, "members": {"names": [user], "roles": []}})
        assert r.ok, r.text
    try:
        yield settings, (user, password), origin
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        else:
            for db in names.values():
                requests.delete(f"{settings.couchdb_url}/{db}", auth=admin)
            doc = requests.get(f"{settings.couchdb_url}/_users/org.couchdb.user:{user}", auth=admin).json()
            requests.delete(f"{settings.couchdb_url}/_users/org.couchdb.user:{user}",
                            params={"rev": doc.get("_rev")}, auth=admin)


def test_plain_user_can_wish_but_cannot_write_the_collection(secured, tmp_path):
    settings, (user, password), _ = secured
    admin = settings.couch_auth
    out = run_client("secured", client_cfg(settings, tmp_path, 608, auth={"username": user, "password": password},
                                           adminAuth={"username": admin[0], "password": admin[1]}))
    assert out["session"] == {"name": user, "roles": []}
    assert out["wish"] == {"docs_written": 1, "doc_write_failures": 0, "on_server": True}

    # "send again": the one sidecar field a person may change, failed -> new, by replication
    resend = out["resend"]
    assert resend["pulled_state"] == "failed" and resend["docs_written"] == 1 and resend["doc_write_failures"] == 0
    assert resend["server_state"] == "new"
    assert resend["server_attempts"] == 1 and resend["server_last_error"]["code"] == "http_400"  # kept as they were
    bad_update = out["forbidden_update"]
    assert bad_update["doc_write_failures"] == 1 and bad_update["server_attempts"] == 1
    assert bad_update["denied"][0]["reason"] == "attempts is set by the sidecar only"

    sneaky = out["sidecar_field"]
    assert sneaky["doc_write_failures"] == 1 and sneaky["on_server"] is False
    assert "state is set by the sidecar only" in sneaky["denied"][0]["reason"]

    push = out["collection_push"]
    assert push["docs_written"] == 0 and push["doc_write_failures"] == 1 and push["on_server"] is False
    assert push["denied"][0]["reason"] == COLLECTION_REFUSAL
    direct = out["collection_direct"]
    assert direct["written"] is False and direct["status"] == 403 and direct["reason"] == COLLECTION_REFUSAL

    # the sidecar (admin here) still writes it
    r = requests.put(f"{settings.couchdb_url}/{settings.movies_db}/tmdb:608", auth=admin,
                     json={"type": "movie", "tmdbId": 608, "title": "x", "status": "wanted"})
    assert r.status_code == 201, r.text


def test_cors_lets_the_configured_origin_replicate_with_credentials(secured):
    settings, (user, password), origin = secured
    if origin is None:
        pytest.skip("real CouchDB: CORS is configured by its operator (docs/frontend.md)")
    url = f"{settings.couchdb_url}/{settings.movies_buffer_db}/_bulk_docs"
    pre = requests.options(url, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": "content-type,authorization"})
    assert pre.status_code in (200, 204)
    assert pre.headers["Access-Control-Allow-Origin"] == origin
    assert pre.headers["Access-Control-Allow-Credentials"] == "true"
    assert "authorization" in pre.headers["Access-Control-Allow-Headers"].lower()
    got = requests.get(f"{settings.couchdb_url}/{settings.movies_db}", headers={"Origin": origin},
                       auth=(user, password))
    assert got.ok and got.headers["Access-Control-Allow-Origin"] == origin
    # an origin not in the list gets no CORS grant (the browser then blocks the page)
    evil = requests.options(url, headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in evil.headers


def test_local_server_cors_origins_come_from_env(tmp_path):
    import local_couch

    assert local_couch.cors_origins_from_env({}) == ("http://127.0.0.1:8000", "http://localhost:8000")
    assert local_couch.cors_origins_from_env({"CORS_ORIGINS": "http://a:1, http://b:2/"}) == ("http://a:1", "http://b:2")
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"log": {"level": "info"}}))
    cfg = local_couch.write_config(path, ["http://a:1", "http://b:2"])
    assert cfg["httpd"]["enable_cors"] is True and cfg["cors"]["credentials"] is True
    assert cfg["cors"]["origins"] == "http://a:1, http://b:2"  # pouchdb-server splits on ", "
    assert json.loads(path.read_text())["log"] == {"level": "info"}  # the rest is kept
