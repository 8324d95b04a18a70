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
from tests.pouch_client.members import member_user

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


@pytest.fixture
def member(settings):
    """{username, password} of a real, plain user (role "household", no admin) who is a member of
    the test's four databases. The sidecar's members (its role, _admin on CouchDB 3) are kept."""
    with member_user(settings.couchdb_url, settings.couch_auth,
                     (settings.movies_buffer_db, settings.movies_db, settings.series_buffer_db,
                      settings.series_db)) as user:
        yield user


def test_wish_syncs_up_and_title_comes_back_by_live_sync(settings, couch, fake_radarr, start_worker, tmp_path,
                                                         member):
    """How fast is bench/'s business (bench/latency.py); here: that live sync brings it at all."""
    start_worker()
    out = run_client("roundtrip", client_cfg(settings, tmp_path, 7001, auth=member))
    # the client saw the title arrive in its replicated collection and leave its buffer
    assert out["arrived_ms"] >= 0 and out["left_buffer_ms"] >= 0, out
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
    # the sidecar's own databases too, so that nothing is left on a shared CouchDB
    own = dict(sidecar_db=f"{prefix}_sidecar", lookups_db=f"{prefix}_lookups")
    proc = None
    if os.environ.get("COUCHDB_URL"):
        from sidecar.config import load_settings

        base = load_settings(dict(os.environ))
        if not base.couch_auth:
            pytest.skip("COUCHDB_URL without COUCHDB_USER: cannot create a plain user")
        settings = Settings(couchdb_url=base.couchdb_url, couchdb_user=base.couchdb_user,
                            couchdb_password=base.couchdb_password, **names, **own)
        origin = None  # the real server's CORS is its operator's business
    else:
        admin_pw = secrets.token_urlsafe(12)
        port = free_port()
        proc = local_couch.start(port, tmp_path / "secured-couch", in_memory=True,
                                 admins={"admin": admin_pw}, cors_origins=[origin])
        settings = Settings(couchdb_url=f"http://127.0.0.1:{port}", couchdb_user="admin",
                            couchdb_password=admin_pw, **names, **own)
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
            for db in (*names.values(), *own.values()):
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


# --- replication conflicts: a phone edits offline, the sidecar works on meanwhile

class PouchSession:
    """One PouchDB client (`node client.js session`) whose local databases stay open between
    steps: `client("sync")`, `client("edit", id=..., set={...})`... (see client.js). Not syncing
    is being offline."""

    def __init__(self, cfg: dict, log_path: Path):
        node = shutil.which("node")
        if not node:
            pytest.fail("node is not installed (Node.js 18+ is needed for the PouchDB client tests)")
        self.log_path = log_path
        self._stderr = open(log_path, "w")
        self.proc = subprocess.Popen([node, str(CLIENT), "session", json.dumps(cfg)], cwd=ROOT, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr)
        self.answers: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.strip().startswith("{"):
                self.answers.put(json.loads(line))
        self.answers.put(None)

    def __call__(self, cmd: str, timeout: float = 30, **args) -> dict:
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()
        try:
            answer = self.answers.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"the client gave no answer to {cmd} within {timeout} s\n{self.log()}")
        if answer is None:
            pytest.fail(f"the client exited ({self.proc.poll()}) during {cmd}\n{self.log()}")
        assert answer.get("ok"), f"client command {cmd} {args} failed: {answer.get('error')}\n{self.log()}"
        return answer

    def log(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.log_path.read_text()

    def close(self) -> None:
        try:
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(10)
        self._stderr.close()


@pytest.fixture
def pouch(settings, member, tmp_path):
    """pouch(tmdb_id) -> a PouchSession signed in as `member`. Its log (stderr) is shown on failure."""
    sessions = []

    def start(tmdb_id: int) -> PouchSession:
        n = len(sessions)
        s = PouchSession(client_cfg(settings, tmp_path, tmdb_id, auth=member, dir=str(tmp_path / f"pouch{n}")),
                         tmp_path / f"client{n}.log")
        sessions.append(s)
        return s

    yield start
    for s in sessions:
        s.close()
        sys.stderr.write(s.log())


class Server:
    """The server as the sidecar (admin) sees it, for the checks."""

    def __init__(self, settings: Settings):
        self.url, self.auth = settings.couchdb_url, settings.couch_auth
        self.buffer, self.collection = settings.movies_buffer_db, settings.movies_db
        root = requests.get(f"{self.url}/", auth=self.auth, timeout=10).json()
        # pouchdb-server validates a replicated revision against the current winner, CouchDB 3
        # against its parent revision: the same offline edit is refused by one, stored by the other
        self.is_couchdb = root.get("couchdb") == "Welcome" and "express-pouchdb" not in root

    def _get(self, db: str, path: str, **params):
        return requests.get(f"{self.url}/{db}/{path}", params=params, auth=self.auth, timeout=10,
                            headers={"Accept": "application/json"})

    def doc(self, db: str, doc_id: str) -> dict | None:
        r = self._get(db, quote(doc_id, safe=""), conflicts="true", deleted_conflicts="true")
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return r.json()

    def leaves(self, db: str, doc_id: str) -> list[dict]:
        """Every leaf, live and deleted (GET ?open_revs=all&revs=true)."""
        r = self._get(db, quote(doc_id, safe=""), open_revs="all", revs="true")
        if r.status_code == 404:
            return []
        r.raise_for_status()
        return [row["ok"] for row in r.json() if "ok" in row]

    def conflicted(self) -> list[tuple[str, str, list]]:
        """(db, id, _conflicts) of every doc in the buffer and the collection that has any."""
        found = []
        for db in (self.buffer, self.collection):
            r = self._get(db, "_all_docs", include_docs="true", conflicts="true")
            r.raise_for_status()
            found += [(db, row["id"], row["doc"]["_conflicts"]) for row in r.json()["rows"]
                      if row.get("doc") and row["doc"].get("_conflicts")]
        return found

    def describe(self, doc_id: str) -> str:
        """Both databases' leaves of a doc, for failure messages (what the owner needs to see)."""
        return json.dumps({"buffer_leaves": self.leaves(self.buffer, doc_id),
                           "collection_leaves": self.leaves(self.collection, doc_id)}, indent=1)


def radarr_requests_for(fake_radarr, tmdb_id: int, since: int = 0) -> list[dict]:
    """Radarr requests about this title from requests_log[since:]: adds (POST body) and lookups."""
    out = []
    for r in list(fake_radarr.requests_log)[since:]:
        body = r.get("json") if isinstance(r.get("json"), dict) else {}
        if body.get("tmdbId") == tmdb_id or str((r.get("query") or {}).get("tmdbId")) == str(tmdb_id):
            out.append({k: r[k] for k in ("method", "path", "query", "status")})
    return out


def denied_for(sync_result: dict, doc_id: str) -> list[dict]:
    return [d for d in sync_result["denied"] if d["id"] == doc_id]


def wait_moved(srv: Server, doc_id: str, timeout: float = 10) -> dict:
    """Wait until the title is in the collection and its wish gone from the buffer."""
    def moved():
        doc = srv.doc(srv.collection, doc_id)
        return doc if doc and srv.doc(srv.buffer, doc_id) is None else None
    return wait_for(moved, timeout=timeout, message=f"{doc_id} moved into the collection")


def wait_server_state(srv: Server, doc_id: str, predicate, what: str, timeout: float = 10) -> dict:
    return wait_for(lambda: (lambda d: d if d and predicate(d) else None)(srv.doc(srv.buffer, doc_id)),
                    timeout=timeout, message=f"{doc_id} on the server: {what}")


def sync_until_gone_locally(client: PouchSession, doc_id: str, tries: int = 20) -> list[dict]:
    """Sync until the local buffer has no live doc (the server's tombstones pulled); the sync
    results seen. Fails, showing the local leaves, if the local doc stays."""
    results = []
    for _ in range(tries):
        results.append(client("sync"))
        if client("get", id=doc_id)["doc"] is None:
            return results
        time.sleep(0.25)
    pytest.fail(f"a ghost: {doc_id} is still live in the client's buffer after {tries} syncs: "
                f"{json.dumps(client('leaves', id=doc_id)['leaves'], indent=1)}")


def discard(client: PouchSession, doc_id: str, tries: int = 40) -> list[str]:
    """Discard as the app does it (docs/frontend.md), to the end: while the server's copy says
    processing it writes nothing and waits, and a later sync that finds the add finished runs it.
    The local revisions it ended or reverted."""
    first = client("discard", id=doc_id)
    if not first["waiting"]:
        return first["removed"]
    for _ in range(tries):
        time.sleep(0.2)
        ran = [d for d in client("sync")["discarded"] if d["id"] == doc_id]
        if ran:
            return ran[0]["removed"]
    pytest.fail(f"the discard of {doc_id} still waits for the add after {tries} syncs\n{client.log()}")


def assert_settled(srv: Server, fake_radarr, client: PouchSession, tmdb_id: int, *, added: int,
                   moved_mark: int | None) -> None:
    """The checks every conflict scenario ends with."""
    doc_id = f"tmdb:{tmdb_id}"
    # no doc on the server has _conflicts
    assert srv.conflicted() == [], srv.conflicted()
    for db in (srv.buffer, srv.collection):
        assert "_conflicts" not in (srv.doc(db, doc_id) or {}), srv.describe(doc_id)
    # the wish is gone on the server: every leaf deleted
    assert srv.doc(srv.buffer, doc_id) is None, srv.describe(doc_id)
    assert all(leaf.get("_deleted") for leaf in srv.leaves(srv.buffer, doc_id)), srv.describe(doc_id)
    # never processed twice: at most one add, and nothing asked of Radarr about it after the move
    assert fake_radarr.creations[tmdb_id] == added, (fake_radarr.creations, radarr_requests_for(fake_radarr, tmdb_id))
    if moved_mark is not None:
        late = radarr_requests_for(fake_radarr, tmdb_id, moved_mark)
        assert late == [], f"Radarr asked about {doc_id} after the move: {late}\n{srv.describe(doc_id)}"
    # and the client: no ghost in its buffer, no conflict in its collection copy
    assert client("get", id=doc_id)["doc"] is None, client("leaves", id=doc_id)
    local = client("get", id=doc_id, db="collection")["doc"]
    if added:
        assert local is not None and "_conflicts" not in local, local


@pytest.fixture
def sidecar_logs(caplog):
    """The worker's and resolver's INFO logs, shown by pytest when a scenario fails."""
    caplog.set_level(logging.INFO, logger="sidecar")
    return caplog


def wish_in_retry(srv: Server, fake_radarr, start_worker, client: PouchSession, doc_id: str) -> dict:
    """Radarr answers 503; the client writes the wish and syncs it up; the worker fails it into
    `retry`; the client syncs again, so its copy says retry. Returns the client's copy."""
    fake_radarr.fail_mode = "503"
    start_worker()
    client("wish")
    client("sync")
    wait_server_state(srv, doc_id, lambda d: d.get("state") == "retry", "in retry")
    # the worker retries every fraction of a second here: sync until the copy caught a retry
    # (not the claim of the next attempt)
    deadline = time.monotonic() + 15
    while True:
        client("sync")
        local = client("get", id=doc_id)["doc"]
        if local.get("state") == "retry" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert local["state"] == "retry" and "503" in local["last_error"]["message"], local
    return local


def test_moved_wish_edited_offline_stays_gone(settings, fake_radarr, start_worker, pouch, sidecar_logs):
    """1. A moved wish comes back: the client edits (download -> monitor) a copy that says retry
    while the worker, Radarr back, moves it. The edit must not bring the wish back."""
    tmdb_id, doc_id = 7101, "tmdb:7101"
    srv, client = Server(settings), pouch(7101)
    wish_in_retry(srv, fake_radarr, start_worker, client, doc_id)

    edit = client("edit", id=doc_id, set={"action": "monitor"})  # offline
    fake_radarr.fail_mode = None
    moved = wait_moved(srv, doc_id)
    mark = len(fake_radarr.requests_log)
    assert moved["requested"]["action"] == "download" and moved["status"] == "wanted", moved

    out = client("sync")  # back online with the edit of a wish that is gone
    refused = denied_for(out, doc_id)
    if srv.is_couchdb:
        # CouchDB 3 validates the edit against its parent (a retry): stored beside the move's
        # tombstone, as a live leaf. The resolver must end it (ended: moved)
        assert refused == [], out
    else:
        # pouchdb-server validates against the current winner (deleted): refused
        assert refused and refused[0]["reason"] == ("this edit was made on a version of the wish the server no "
                                                    "longer keeps; sync, then edit it again"), out
    # the wish stays gone: 404 on the server after about a second, and for good
    wait_for(lambda: srv.doc(srv.buffer, doc_id) is None, timeout=3,
             message=f"{doc_id} gone from the server's buffer again\n{srv.describe(doc_id)}")
    time.sleep(1.0)
    assert srv.doc(srv.buffer, doc_id) is None, srv.describe(doc_id)
    leaves = srv.leaves(srv.buffer, doc_id)
    assert all(leaf.get("_deleted") for leaf in leaves), srv.describe(doc_id)
    if srv.is_couchdb:
        # the client's edit was stored, then ended by the resolver: a tombstone on top of it
        edit_id = edit["rev"].split("-", 1)[1]
        on_edit = [leaf for leaf in leaves if edit_id in leaf["_revisions"]["ids"]]
        assert on_edit and all(leaf.get("ended") == "moved" for leaf in on_edit), srv.describe(doc_id)

    if refused:
        assert discard(client, doc_id) == [edit["rev"]]
    sync_until_gone_locally(client, doc_id)
    assert_settled(srv, fake_radarr, client, tmdb_id, added=1, moved_mark=mark)
    collection = srv.doc(srv.collection, doc_id)
    assert collection["requested"]["action"] == "download" and collection["status"] == "wanted", collection
    assert client("get", id=doc_id, db="collection")["doc"]["requested"]["action"] == "download"


def test_offline_edit_of_a_wish_in_retry_survives(settings, fake_radarr, start_worker, pouch, sidecar_logs):
    """2. The user's edit survives: the client edits its retry copy offline and syncs while Radarr
    still fails and the worker has written further retries: the server's winner gets the user's
    action and keeps the sidecar's state; after Radarr recovers it is moved once, as "monitor"."""
    tmdb_id, doc_id = 7102, "tmdb:7102"
    srv, client = Server(settings), pouch(7102)
    local = wish_in_retry(srv, fake_radarr, start_worker, client, doc_id)

    edit = client("edit", id=doc_id, set={"action": "monitor"})  # offline
    # meanwhile the worker tries again (and fails again): the server moves on from the client's copy
    before = wait_server_state(srv, doc_id, lambda d: d.get("attempts", 0) > local["attempts"]
                               and d.get("state") == "retry", "a further retry")
    out = client("sync")
    refused = denied_for(out, doc_id)
    if srv.is_couchdb:
        # validated against its parent (the retry the client edited): stored as a branch beside the
        # worker's retries; the resolver merges the two
        assert refused == [], out
    else:
        # pouchdb-server validates against the current winner, whose sidecar fields moved on:
        # refused and reported to the client; nothing is lost on the server, and the app's answer
        # (Discard as docs/frontend.md says, then edit again) gets the edit through. Not a bare
        # delete of the refused leaf: the resolver reads that as a withdrawal of the wish
        assert refused and refused[0]["reason"].endswith("is set by the sidecar only"), out
        server_now = srv.doc(srv.buffer, doc_id)
        assert server_now["action"] == "download" and server_now["requested_at"] == local["requested_at"], server_now
        assert discard(client, doc_id) == [edit["rev"]]
        for _ in range(10):
            mine = client("get", id=doc_id)["doc"]
            assert mine is not None and "_conflicts" not in mine, mine
            if mine.get("state") == "processing":
                time.sleep(0.2)
                client("sync")
                continue
            client("edit", id=doc_id, set={"action": "monitor"})
            again = client("sync")
            if not denied_for(again, doc_id):
                break
            discard(client, doc_id)
        else:
            pytest.fail(f"the edit never got through\n{client.log()}")

    def merged():
        doc = srv.doc(srv.buffer, doc_id)
        return doc if doc and doc["action"] == "monitor" and "_conflicts" not in doc else None
    winner = wait_for(merged, timeout=10, message=f"the user's edit in the server's winner\n{srv.describe(doc_id)}")
    # the sidecar's state fields are the sidecar's, not the client's older copy
    assert winner["state"] in ("retry", "processing") and winner["attempts"] >= before["attempts"], winner
    assert winner["requested_at"] == local["requested_at"] and winner["last_error"]["at"] >= before["last_error"]["at"], winner
    assert srv.conflicted() == [], srv.describe(doc_id)

    fake_radarr.fail_mode = None
    moved = wait_moved(srv, doc_id)
    mark = len(fake_radarr.requests_log)
    assert moved["requested"]["action"] == "monitor" and moved["status"] == "monitored", moved
    sync_until_gone_locally(client, doc_id)
    time.sleep(1.0)
    assert_settled(srv, fake_radarr, client, tmdb_id, added=1, moved_mark=mark)
    assert client("get", id=doc_id, db="collection")["doc"]["requested"]["action"] == "monitor"


def test_refused_edit_of_a_title_being_added_leaves_no_ghost(settings, fake_radarr, start_worker, pouch,
                                                            sidecar_logs):
    """3. Ghost: the client's copy says processing (Radarr is slow), the client edits it offline,
    replication refuses the edit (denied), then the title lands in the collection. The refused
    revision stays a live leaf in the client's buffer (it beats the pulled tombstone): a ghost,
    until the client discards it. Then nothing is left on either side."""
    tmdb_id, doc_id = 7103, "tmdb:7103"
    srv, client = Server(settings), pouch(7103)
    fake_radarr.delay = 3.0
    start_worker(arr_timeout=10.0)
    client("wish")
    client("sync")
    wait_server_state(srv, doc_id, lambda d: d.get("state") == "processing", "claimed (processing)")
    client("sync")
    assert client("get", id=doc_id)["doc"]["state"] == "processing"

    edit = client("edit", id=doc_id, set={"action": "monitor"})  # offline
    out = client("sync")  # still being added
    refused = denied_for(out, doc_id)
    assert refused and refused[0]["direction"] == "push", out
    assert refused[0]["reason"] == "this title is being added right now; change it once that finishes", out
    assert out["push"]["doc_write_failures"] == 1, out
    assert all(leaf["_rev"] != edit["rev"] for leaf in srv.leaves(srv.buffer, doc_id)), srv.describe(doc_id)

    moved = wait_moved(srv, doc_id)
    mark = len(fake_radarr.requests_log)
    fake_radarr.delay = 0
    client("sync")
    ghost = client("get", id=doc_id)["doc"]
    # the ghost: the refused revision is the local winner over the server's tombstone
    assert ghost is not None and ghost["_rev"] == edit["rev"] and ghost["state"] == "processing", ghost
    assert client("get", id=doc_id, db="collection")["doc"]["status"] == "wanted"

    assert client("discard", id=doc_id)["removed"] == [edit["rev"]]
    sync_until_gone_locally(client, doc_id)
    time.sleep(1.0)
    client("sync")
    assert_settled(srv, fake_radarr, client, tmdb_id, added=1, moved_mark=mark)
    assert moved["requested"]["action"] == "download"  # the refused edit changed nothing
    assert srv.doc(srv.collection, doc_id)["requested"]["action"] == "download"


def test_withdrawal_made_offline_is_not_lost(settings, fake_radarr, start_worker, pouch, sidecar_logs):
    """4. A withdrawal is not lost: the client withdraws (deletes) its retry copy offline, the
    worker writes its next retry meanwhile, the client syncs: the withdrawal wins over the
    sidecar's bookkeeping, and when Radarr recovers the title is never added."""
    tmdb_id, doc_id = 7104, "tmdb:7104"
    srv, client = Server(settings), pouch(7104)
    local = wish_in_retry(srv, fake_radarr, start_worker, client, doc_id)

    client("remove", id=doc_id)  # offline
    wait_server_state(srv, doc_id, lambda d: d.get("attempts", 0) > local["attempts"] and d.get("state") == "retry",
                      "the worker's next retry")
    out = client("sync")
    refused = denied_for(out, doc_id)
    if refused and not srv.is_couchdb:
        # pouchdb-server checks a withdrawal against the current winner: if the worker held a
        # claim at that moment (a few ms per retry), it is refused; the app withdraws again
        assert refused[0]["reason"].startswith("this title is being added right now"), out
        for _ in range(10):
            client("sync")  # the server's live version wins locally over the refused tombstone
            if client("get", id=doc_id)["doc"] is None:
                break
            client("remove", id=doc_id)
            if not denied_for(client("sync"), doc_id):
                break
    else:
        assert refused == [], out

    wait_for(lambda: srv.doc(srv.buffer, doc_id) is None, timeout=10,
             message=f"the withdrawal to win on the server\n{srv.describe(doc_id)}")
    leaves = srv.leaves(srv.buffer, doc_id)
    assert leaves and all(leaf.get("_deleted") for leaf in leaves), srv.describe(doc_id)
    assert not any(leaf.get("ended") == "moved" for leaf in leaves), srv.describe(doc_id)

    fake_radarr.fail_mode = None
    mark = len(fake_radarr.requests_log)
    time.sleep(2.5)  # longer than the longest retry delay (retry_max 2 s) plus a scan
    adds = [r for r in radarr_requests_for(fake_radarr, tmdb_id, mark) if r["method"] == "POST"]
    assert adds == [], adds
    assert fake_radarr.creations[tmdb_id] == 0 and fake_radarr.find(tmdb_id) is None
    assert srv.doc(srv.collection, doc_id) is None
    sync_until_gone_locally(client, doc_id)
    assert_settled(srv, fake_radarr, client, tmdb_id, added=0, moved_mark=mark)
    assert client("get", id=doc_id, db="collection")["doc"] is None


def test_refused_edit_discarded_while_the_add_is_under_way(settings, fake_radarr, start_worker, pouch, sidecar_logs):
    """3b. The same ghost, but the person presses Discard (docs/frontend.md) at once, while the
    title is still being added. The server refuses anything written on top of a wish being added
    (an edit and a tombstone alike), so a Discard that wrote then would stay on the phone and,
    once the move's deletion arrived, win over it locally: a ghost. So Discard writes nothing
    while the server's copy says processing: it marks the wish, and the first sync that finds the
    add finished (it brings the move's deletion) ends the refused edit with a merged_into
    tombstone. One Discard is enough; nothing of the edit reaches the server."""
    tmdb_id, doc_id = 7105, "tmdb:7105"
    srv, client = Server(settings), pouch(7105)
    fake_radarr.delay = 5.0
    start_worker(arr_timeout=15.0)
    client("wish")
    client("sync")
    wait_server_state(srv, doc_id, lambda d: d.get("state") == "processing", "claimed (processing)")
    client("sync")
    edit = client("edit", id=doc_id, set={"action": "monitor"})  # offline
    out = client("sync")
    refused = denied_for(out, doc_id)
    assert refused and refused[0]["reason"] == "this title is being added right now; change it once that finishes", out
    before = client("leaves", id=doc_id)["leaves"]
    discarded = client("discard", id=doc_id)
    syncs = []
    if discarded["waiting"]:
        # nothing written: the refused edit is still the local winner, marked to go after the add
        assert discarded["removed"] == [], discarded
        assert client("leaves", id=doc_id)["leaves"] == before
        mine = client("get", id=doc_id)["doc"]
        assert mine["_rev"] == edit["rev"] and mine["action"] == "monitor", mine
        syncs.append(client("sync"))  # the add goes on (or has just finished)
    else:
        # a slow machine: the add had finished before Discard read the server; it ended the edit
        assert srv.doc(srv.buffer, doc_id) is None and discarded["ended"] == [edit["rev"]], discarded

    moved = wait_moved(srv, doc_id, timeout=20)
    mark = len(fake_radarr.requests_log)
    fake_radarr.delay = 0
    syncs += sync_until_gone_locally(client, doc_id, tries=8)
    if discarded["waiting"]:
        ran = [d for out in syncs for d in out["discarded"] if d["id"] == doc_id]
        # it ran once, by itself, and ended the edit (the server had no live leaf to show again)
        assert [(d["reverted"], d["ended"]) for d in ran] == [([], [edit["rev"]])], syncs
    assert client("sync")["discard_pending"] == []
    # locally: the edit ended by a tombstone that ends no wish, naming the move's tombstone
    moved_rev = next(leaf["_rev"] for leaf in srv.leaves(srv.buffer, doc_id) if leaf.get("ended") == "moved")
    edit_id = edit["rev"].split("-", 1)[1]
    local_leaves = client("leaves", id=doc_id)["leaves"]
    on_edit = [leaf for leaf in local_leaves if edit_id in leaf["_revisions"]["ids"]]
    assert on_edit and all(leaf.get("_deleted") and leaf.get("merged_into") == moved_rev for leaf in on_edit), \
        local_leaves
    time.sleep(1.0)
    client("sync")
    assert_settled(srv, fake_radarr, client, tmdb_id, added=1, moved_mark=mark)
    # the edit never reached the server as a live revision; a merged_into tombstone may have
    for leaf in srv.leaves(srv.buffer, doc_id):
        assert leaf.get("_deleted") and (leaf.get("ended") == "moved" or leaf.get("merged_into") == moved_rev), \
            srv.describe(doc_id)
    assert moved["requested"]["action"] == "download"
