"""Security: nobody gets in, nothing is written on bad credentials, no secret gets out.

1. CouchDB roles + validate_doc_update, with REAL users on a separate pouchdb-server whose admin
   party is over (an admin, "frontend" without roles, "sidecar-svc" with the sidecar role): what a
   frontend may and may not do to the buffer and the collection, what the sidecar's non-admin
   user can do, and the real worker moving a frontend's wish as that user.
2. Webhooks (HTTP basic) and /reconcile (Bearer) refuse missing or wrong credentials with 401 and
   write nothing; the comparison is constant-time (hmac.compare_digest).
3. No API key or password in logs (caplog at DEBUG, stderr, the worker subprocess's log) or in any
   HTTP response body, through a run full of errors.
4. Secrets come from env or *_FILE, never the repo: load_settings reads *_FILE, and no tracked
   file contains something that looks like a real secret.

Some tests pin bugs these checks found (empty secret files, credentials in URLs and error
messages, admin-only databases on CouchDB 3); they stay as regression tests.
"""
from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import re
import secrets
import subprocess
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
import requests

from sidecar.config import ArrInstance, ConfigError, Settings, load_settings
from sidecar.design import push_all
from tests.conftest import ROOT, free_port, movie_request, series_request, settings_env, wait_for

ADMIN = "admin"
FRONTEND = "frontend"
SIDECAR = "sidecar-svc"


# --------------------------------------------------------------------------- a server with real users


class SecuredCouch:
    """A pouchdb-server with admin party off and three real users (random passwords)."""

    def __init__(self, url: str, passwords: dict[str, str]):
        self.url = url
        self.passwords = passwords
        self.auth = {
            "admin": (ADMIN, passwords[ADMIN]),
            "frontend": (FRONTEND, passwords[FRONTEND]),
            "sidecar": (SIDECAR, passwords[SIDECAR]),
            "anon": None,
        }
        self.sessions = {}

    def request(self, who: str, method: str, path: str, **kw) -> requests.Response:
        s = self.sessions.get(who)
        if s is None:
            s = self.sessions[who] = requests.Session()
            s.auth = self.auth[who]
        kw.setdefault("timeout", 30)
        return s.request(method, f"{self.url}/{path.lstrip('/')}", **kw)


def start_secured_couch(workdir: Path):
    """(process, SecuredCouch). Users: frontend (no roles), sidecar-svc (role "sidecar")."""
    import local_couch

    port = free_port()
    proc = local_couch.start(port, workdir, in_memory=True)
    url = f"http://127.0.0.1:{port}"
    passwords = {name: secrets.token_hex(12) for name in (ADMIN, FRONTEND, SIDECAR)}
    try:
        r = requests.put(f"{url}/_config/admins/{ADMIN}", data=json.dumps(passwords[ADMIN]), timeout=10)
        assert r.ok, r.text
        for name, roles in ((FRONTEND, []), (SIDECAR, ["sidecar"])):
            r = requests.put(f"{url}/_users/org.couchdb.user:{name}", auth=(ADMIN, passwords[ADMIN]), timeout=10,
                             json={"name": name, "password": passwords[name], "roles": roles, "type": "user"})
            assert r.status_code in (201, 202), r.text
        # the party is over: anonymous is nobody, the users are who they say
        assert requests.get(f"{url}/_session", timeout=10).json()["userCtx"] == {"name": None, "roles": []}
        ctx = requests.get(f"{url}/_session", auth=(SIDECAR, passwords[SIDECAR]), timeout=10).json()["userCtx"]
        assert ctx == {"name": SIDECAR, "roles": ["sidecar"]}
    except BaseException:
        proc.kill()
        raise
    return proc, SecuredCouch(url, passwords)


@pytest.fixture(scope="module")
def secured_server(tmp_path_factory):
    proc, server = start_secured_couch(tmp_path_factory.mktemp("secured-couch"))
    yield server
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def secured(secured_server, fake_radarr, fake_sonarr):
    """Fresh databases on the secured server, design docs pushed by the admin.

    .admin_settings / .sidecar_settings (COUCHDB_USER=sidecar-svc), .put(who, db, doc), .get(db, id)."""
    fake_radarr.reset()
    fake_sonarr.reset()
    srv = secured_server
    prefix = f"sec{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin_settings = Settings(
        couchdb_url=srv.url, couchdb_user=ADMIN, couchdb_password=srv.passwords[ADMIN],
        movies_buffer_db=f"{prefix}_movies_buffer", movies_db=f"{prefix}_movies",
        series_buffer_db=f"{prefix}_series_buffer", series_db=f"{prefix}_series", sidecar_db=f"{prefix}_sidecar",
        radarr=(ArrInstance("radarr", "default", fake_radarr.url, fake_radarr.api_key, 1, "/movies"),),
        sonarr=(ArrInstance("sonarr", "default", fake_sonarr.url, fake_sonarr.api_key, 1, "/tv"),),
        webhook_user="radarr", webhook_password=secrets.token_hex(12), reconcile_token=secrets.token_hex(16),
        worker_id=f"w-{prefix}", arr_timeout=2.0, claim_timeout=30.0, retry_base=0.2, retry_max=2.0,
        scan_interval=0.2,
    )
    push_all(admin_settings)
    sidecar_settings = dataclasses.replace(admin_settings, couchdb_user=SIDECAR, couchdb_password=srv.passwords[SIDECAR])

    def put(who, db, doc):
        return srv.request(who, "PUT", f"{db}/{quote(doc['_id'], safe='')}", json=doc)

    def get(db, doc_id):
        r = srv.request("admin", "GET", f"{db}/{quote(doc_id, safe='')}")
        return r.json() if r.status_code == 200 else None

    def info(db):
        return srv.request("admin", "GET", db).json()

    yield SimpleNamespace(server=srv, admin_settings=admin_settings, sidecar_settings=sidecar_settings,
                          put=put, get=get, info=info, request=srv.request,
                          mb=admin_settings.movies_buffer_db, m=admin_settings.movies_db,
                          sb=admin_settings.series_buffer_db, s=admin_settings.series_db)
    for db in (admin_settings.movies_buffer_db, admin_settings.movies_db,
               admin_settings.series_buffer_db, admin_settings.series_db):
        srv.request("admin", "DELETE", db)


def forbidden(resp, *words):
    """A 403 with a readable reason that contains each of `words`."""
    assert resp.status_code == 403, (resp.status_code, resp.text)
    body = resp.json()
    assert body["error"] == "forbidden" and body["reason"].strip(), body
    for w in words:
        assert w in body["reason"], body
    return body["reason"]


def collection_doc(ext_id: int, kind="movie") -> dict:
    key, prefix = ("tmdbId", "tmdb:") if kind == "movie" else ("tvdbId", "tvdb:")
    return {"_id": f"{prefix}{ext_id}", "type": kind, key: ext_id, "title": "Forged", "status": "downloaded",
            "hasFile": True, "monitored": True, "instances": {}, "source": "worker"}


# --------------------------------------------------------------------------- 1. CouchDB roles


def test_frontend_can_create_valid_wishes(secured):
    r = secured.put("frontend", secured.mb, movie_request(603, requested_by="ann", options={"tags": [1]}))
    assert r.status_code == 201, r.text
    r = secured.put("frontend", secured.sb, series_request(81189, state="new", options={"seasons": [1]}))
    assert r.status_code == 201, r.text
    assert secured.get(secured.mb, "tmdb:603")["requested_by"] == "ann"


@pytest.mark.parametrize("field, value", [
    ("state", "processing"), ("state", "retry"), ("state", "failed"), ("attempts", 0), ("attempts", 3),
    ("last_error", {"code": "x", "message": "y", "at": "2026-11-25T10:00:00Z"}), ("last_error", None),
    ("next_attempt_at", "2026-11-25T10:00:00Z"), ("claimed_by", "w1"), ("claimed_at", "2026-11-25T10:00:00Z"),
])
def test_frontend_cannot_set_sidecar_fields_on_a_new_wish(secured, field, value):
    r = secured.put("frontend", secured.mb, movie_request(603, **{field: value}))
    forbidden(r, field, "sidecar")
    assert secured.get(secured.mb, "tmdb:603") is None


@pytest.mark.parametrize("change", [
    {"state": "new"}, {"state": "failed"}, {"state": "processing"}, {"attempts": 0}, {"attempts": 9},
    {"last_error": None}, {"next_attempt_at": "2020-01-01T00:00:00Z"}, {"claimed_by": "me"},
    {"claimed_at": "2026-11-25T10:00:00Z"},
])
def test_frontend_cannot_change_sidecar_fields_of_an_existing_wish(secured, change):
    doc = movie_request(603, state="retry", attempts=2, next_attempt_at="2026-11-25T11:00:00Z",
                        last_error={"code": "timeout", "message": "slow", "at": "2026-11-25T10:59:00Z"})
    assert secured.put("sidecar", secured.mb, doc).status_code == 201
    current = secured.get(secured.mb, "tmdb:603")
    r = secured.put("frontend", secured.mb, {**current, **change})
    forbidden(r, "sidecar only")
    # removing a sidecar field is a change too
    r = secured.put("frontend", secured.mb, {k: v for k, v in current.items() if k != "attempts"})
    forbidden(r, "attempts")
    assert secured.get(secured.mb, "tmdb:603")["_rev"] == current["_rev"]
    # what the frontend owns it may still edit (not processing)
    r = secured.put("frontend", secured.mb, {**current, "title": "The Matrix", "options": {"qualityProfileId": 4}})
    assert r.status_code == 201, r.text


def test_frontend_may_resend_a_failed_wish(secured):
    doc = movie_request(603, state="failed", attempts=1,
                        last_error={"code": "http_400", "message": "not found", "at": "2026-11-25T10:00:01Z"})
    assert secured.put("sidecar", secured.mb, doc).status_code == 201
    current = secured.get(secured.mb, "tmdb:603")
    r = secured.put("frontend", secured.mb, {**current, "state": "new"})
    assert r.status_code == 201, r.text
    # ...but only to "new", and only from failed
    current = secured.get(secured.mb, "tmdb:603")
    forbidden(secured.put("frontend", secured.mb, {**current, "state": "failed"}), "state")


def test_frontend_cannot_touch_a_processing_wish_but_may_withdraw_others(secured):
    proc = movie_request(603, state="processing", attempts=1, claimed_by="w1", claimed_at="2026-11-25T10:00:00Z")
    assert secured.put("sidecar", secured.mb, proc).status_code == 201
    current = secured.get(secured.mb, "tmdb:603")
    r = secured.request("frontend", "DELETE", f"{secured.mb}/tmdb:603", params={"rev": current["_rev"]})
    forbidden(r, "cannot be withdrawn")
    # a deletion sent as a document update (what replication sends) is refused the same way
    r = secured.put("frontend", secured.mb, {"_id": "tmdb:603", "_rev": current["_rev"], "_deleted": True})
    forbidden(r, "cannot be withdrawn")
    forbidden(secured.put("frontend", secured.mb, {**current, "title": "edited"}), "being added right now")
    assert secured.get(secured.mb, "tmdb:603")["_rev"] == current["_rev"]
    # a new or retry wish may be withdrawn
    assert secured.put("frontend", secured.mb, movie_request(604)).status_code == 201
    rev = secured.get(secured.mb, "tmdb:604")["_rev"]
    assert secured.request("frontend", "DELETE", f"{secured.mb}/tmdb:604", params={"rev": rev}).status_code == 200


@pytest.mark.parametrize("who", ["frontend", "anon"])
def test_only_the_sidecar_writes_the_collection(secured, who):
    reason = "the collection is written by the sidecar only"
    forbidden(secured.put(who, secured.m, collection_doc(603)), reason)
    forbidden(secured.put(who, secured.s, collection_doc(81189, "series")), reason)
    r = secured.request(who, "POST", f"{secured.m}/_bulk_docs", json={"docs": [collection_doc(604)]})
    assert r.status_code == 201 and r.json()[0]["error"] == "forbidden", r.text
    # nor change or delete what the sidecar wrote
    assert secured.put("sidecar", secured.m, collection_doc(605)).status_code == 201
    current = secured.get(secured.m, "tmdb:605")
    forbidden(secured.put(who, secured.m, {**current, "status": "removed"}), reason)
    forbidden(secured.request(who, "DELETE", f"{secured.m}/tmdb:605", params={"rev": current["_rev"]}), reason)
    # ...nor replace the rules (design docs are the database admins' business)
    r = secured.request(who, "PUT", f"{secured.m}/_design/collection",
                        json={**secured.get(secured.m, "_design/collection"), "validate_doc_update": "function(){}"})
    assert r.status_code in (401, 403), r.text
    assert secured.info(secured.m)["doc_count"] == 2  # the design doc and tmdb:605
    assert secured.get(secured.m, "tmdb:605")["_rev"] == current["_rev"]


def test_sidecar_user_can_do_the_sidecars_writes(secured):
    assert secured.put("frontend", secured.mb, movie_request(603)).status_code == 201
    doc = secured.get(secured.mb, "tmdb:603")
    # claim, record a failure, claim again, delete while processing
    doc.update(state="processing", attempts=1, claimed_by="w1", claimed_at="2026-11-25T10:00:00Z")
    r = secured.put("sidecar", secured.mb, doc)
    assert r.status_code == 201, r.text
    doc = secured.get(secured.mb, "tmdb:603")
    doc.update(state="retry", next_attempt_at="2026-11-25T10:00:10Z",
               last_error={"code": "timeout", "message": "slow", "at": "2026-11-25T10:00:00Z"})
    doc.pop("claimed_by"), doc.pop("claimed_at")
    assert secured.put("sidecar", secured.mb, doc).status_code == 201
    doc = secured.get(secured.mb, "tmdb:603")
    doc.update(state="processing", attempts=2, claimed_by="w1", claimed_at="2026-11-25T10:00:11Z")
    assert secured.put("sidecar", secured.mb, doc).status_code == 201
    assert secured.put("sidecar", secured.m, collection_doc(603)).status_code == 201
    rev = secured.get(secured.mb, "tmdb:603")["_rev"]
    assert secured.request("sidecar", "DELETE", f"{secured.mb}/tmdb:603", params={"rev": rev}).status_code == 200
    # the sidecar role is no database admin: the rules are not its to change
    ddoc = secured.get(secured.mb, "_design/buffer")
    r = secured.request("sidecar", "PUT", f"{secured.mb}/_design/buffer", json={**ddoc, "validate_doc_update": "function(){}"})
    assert r.status_code in (401, 403), r.text
    # and it still cannot write nonsense into the collection
    bad = collection_doc(606)
    bad["_id"] = "tmdb:607"
    forbidden(secured.put("sidecar", secured.m, bad), '_id must be "tmdb:606"')


def set_members(secured, names: list[str], roles: list[str]) -> None:
    """The deployment docs/security.md recommends: only named users/roles may use the databases."""
    for db in (secured.mb, secured.m, secured.sb, secured.s):
        r = secured.request("admin", "PUT", f"{db}/_security",
                            json={"admins": {"names": [], "roles": []}, "members": {"names": names, "roles": roles}})
        assert r.ok, r.text


def test_worker_as_non_admin_sidecar_user_moves_a_frontend_wish(secured, fake_radarr, worker_process, tmp_path):
    """End to end with the real worker process, COUCHDB_USER=sidecar-svc (role sidecar, no admin),
    databases restricted to members (frontend by name, the sidecar by role): a wish is moved; a
    failed wish sent again by the frontend is moved too."""
    set_members(secured, [FRONTEND], ["sidecar"])
    # anonymous is out entirely now: not even a wish, not even a read
    assert secured.put("anon", secured.mb, movie_request(1)).status_code == 401
    assert secured.request("anon", "GET", f"{secured.m}/_all_docs").status_code == 401
    fake_radarr.unknown_ids.add(604)
    assert secured.put("frontend", secured.mb, movie_request(603, requested_by="ann")).status_code == 201
    assert secured.put("frontend", secured.mb, movie_request(604)).status_code == 201
    assert secured.put("frontend", secured.sb, series_request(81189)).status_code == 201
    worker_process(secured.sidecar_settings)

    def moved(db_buffer, db_coll, doc_id):
        coll = secured.get(db_coll, doc_id)
        return coll if coll and secured.get(db_buffer, doc_id) is None else None

    doc = wait_for(lambda: moved(secured.mb, secured.m, "tmdb:603"), timeout=30, message="movie moved")
    assert doc["source"] == "worker" and doc["requested"]["by"] == "ann"
    wait_for(lambda: moved(secured.sb, secured.s, "tvdb:81189"), timeout=30, message="series moved")
    failed = wait_for(lambda: (d := secured.get(secured.mb, "tmdb:604")) and d.get("state") == "failed" and d,
                      timeout=30, message="unknown id failed")
    fake_radarr.unknown_ids.discard(604)
    assert secured.put("frontend", secured.mb, {**failed, "state": "new"}).status_code == 201
    wait_for(lambda: moved(secured.mb, secured.m, "tmdb:604"), timeout=30, message="resent wish moved")
    log = (tmp_path / "worker0.log").read_text(errors="replace")
    assert "forbidden" not in log and "unauthorized" not in log, log[-2000:]


def test_anonymous_is_refused_collection_writes_on_an_open_database(secured):
    """Without _security members (pouchdb-server's and CouchDB 2's default: public), validate_doc_update
    is what stands between anonymous and the collection."""
    forbidden(secured.put("anon", secured.m, collection_doc(603)), "sidecar only")
    forbidden(secured.put("anon", secured.mb, movie_request(603, state="processing")), "state")


def test_push_design_lets_the_sidecar_role_into_admin_only_databases(secured):
    admin_only = {"admins": {"names": [], "roles": ["_admin"]}, "members": {"names": [], "roles": ["_admin"]}}
    for db in (secured.mb, secured.m, secured.sb, secured.s):
        assert secured.request("admin", "PUT", f"{db}/_security", json=admin_only).ok
    assert secured.request("sidecar", "GET", secured.mb).status_code == 401  # CouchDB 3's fresh-database state
    push_all(secured.admin_settings)
    for db in (secured.mb, secured.m, secured.sb, secured.s):
        assert secured.request("sidecar", "GET", db).status_code == 200, db


# --------------------------------------------------------------------------- 2. webhook / reconcile auth


def make_app(settings):
    """create_app(settings) with the webhook and reconcile blueprints (registered here too if
    app.py does not yet)."""
    from sidecar.app import create_app
    from sidecar import reconcile, webhooks

    app = create_app(settings)
    for bp in (webhooks.bp, reconcile.bp):
        if bp.name not in app.blueprints:
            app.register_blueprint(bp)
    return app


def basic(user: str | bytes, password: str | bytes) -> str:
    raw = (user if isinstance(user, bytes) else user.encode()) + b":" + (
        password if isinstance(password, bytes) else password.encode())
    return "Basic " + base64.b64encode(raw).decode()


def db_state(couch, settings) -> dict:
    dbs = (settings.movies_buffer_db, settings.movies_db, settings.series_buffer_db, settings.series_db)
    return {db: (i["doc_count"], i["update_seq"]) for db in dbs for i in [couch.db(db).info()]}


TEST_EVENT = {"eventType": "Test", "instanceName": "Radarr"}
GRAB = {"eventType": "Grab", "movie": {"id": 1, "title": "Heat", "year": 1995, "tmdbId": 949}}


def wrong_webhook_credentials(s: Settings) -> list[tuple[str, dict]]:
    u, p, t = s.webhook_user, s.webhook_password, s.reconcile_token
    return [
        ("none", {}),
        ("right user, wrong password", {"Authorization": basic(u, "wrong")}),
        ("wrong user, right password", {"Authorization": basic("sonarr", p)}),
        ("user and password swapped", {"Authorization": basic(p, u)}),
        ("user in another case", {"Authorization": basic(u.upper(), p)}),
        ("password plus a character", {"Authorization": basic(u, p + "x")}),
        ("password less a character", {"Authorization": basic(u, p[:-1])}),
        ("password prefix only", {"Authorization": basic(u, p[:1])}),
        ("empty password", {"Authorization": basic(u, "")}),
        ("empty user and password", {"Authorization": basic("", "")}),
        ("no colon", {"Authorization": "Basic " + base64.b64encode(u.encode()).decode()}),
        ("not base64", {"Authorization": "Basic !!!not-base64!!!"}),
        ("Basic with nothing", {"Authorization": "Basic"}),
        ("Bearer <webhook password>", {"Authorization": f"Bearer {p}"}),
        ("Bearer <reconcile token>", {"Authorization": f"Bearer {t}"}),
        ("Basic with the reconcile token as password", {"Authorization": basic(u, t)}),
        ("Digest scheme", {"Authorization": f'Digest username="{u}", response="{p}"'}),
        ("credentials in a custom header", {"X-Webhook-Password": p}),
        ("non-ASCII password (utf-8)", {"Authorization": basic(u, "pässwörd✓")}),
        ("non-ASCII password (latin-1 bytes)", {"Authorization": basic(u.encode(), "pässwort".encode("latin-1"))}),
    ]


@pytest.mark.parametrize("path", ["/webhooks/radarr", "/webhooks/sonarr", "/webhooks/radarr/default"])
def test_webhooks_refuse_missing_or_wrong_credentials(settings, couch, path):
    client = make_app(settings).test_client()
    before = db_state(couch, settings)
    for label, headers in wrong_webhook_credentials(settings):
        for body in (TEST_EVENT, GRAB):
            r = client.post(path, json=body, headers=headers)
            assert r.status_code == 401, (label, r.status_code, r.get_data(as_text=True))
            assert r.headers["WWW-Authenticate"].startswith("Basic "), label
            assert r.get_json()["error"] == "unauthorized", label
            assert settings.webhook_password not in r.get_data(as_text=True)
    # PUT (Radarr's other webhook method) is guarded the same way
    assert client.put(path, json=GRAB, headers={"Authorization": basic("x", "y")}).status_code == 401
    assert db_state(couch, settings) == before, "a refused webhook wrote something"
    # the right credentials get in
    r = client.post(path, json=TEST_EVENT, headers={"Authorization": basic(settings.webhook_user, settings.webhook_password)})
    assert r.status_code == 200, r.get_data(as_text=True)


def test_webhooks_refuse_everything_when_no_password_is_configured(settings, couch):
    s = dataclasses.replace(settings, webhook_password=None)
    client = make_app(s).test_client()
    before = db_state(couch, settings)
    for headers in ({}, {"Authorization": basic(s.webhook_user, "")}, {"Authorization": basic(s.webhook_user, "None")},
                    {"Authorization": basic("", "")}):
        assert client.post("/webhooks/radarr", json=GRAB, headers=headers).status_code == 401
    assert db_state(couch, settings) == before


def wrong_reconcile_credentials(s: Settings) -> list[tuple[str, dict, str]]:
    t, p = s.reconcile_token, s.webhook_password
    return [
        ("none", {}, ""),
        ("Bearer wrong", {"Authorization": "Bearer wrong"}, ""),
        ("Bearer token plus a character", {"Authorization": f"Bearer {t}x"}, ""),
        ("Bearer token less a character", {"Authorization": f"Bearer {t[:-1]}"}, ""),
        ("Bearer empty", {"Authorization": "Bearer "}, ""),
        ("Bearer without a space", {"Authorization": f"Bearer{t}"}, ""),
        ("Bearer token with spaces around", {"Authorization": f"Bearer  {t} "}, ""),
        ("Basic with the token as password", {"Authorization": basic(s.webhook_user, t)}, ""),
        ("Basic with the token as user", {"Authorization": basic(t, "")}, ""),
        ("Basic with the webhook credentials", {"Authorization": basic(s.webhook_user, p)}, ""),
        ("Token scheme", {"Authorization": f"Token {t}"}, ""),
        ("Bearer <webhook password>", {"Authorization": f"Bearer {p}"}, ""),
        ("X-Reconcile-Token wrong", {"X-Reconcile-Token": "wrong"}, ""),
        ("X-Reconcile-Token empty", {"X-Reconcile-Token": ""}, ""),
        ("token in the query string", {}, f"?token={t}"),
        ("api key in the query string", {}, f"?apikey={t}"),
        ("non-ASCII token", {"Authorization": "Bearer tökén✓".encode().decode("latin-1")}, ""),
    ]


def test_reconcile_refuses_missing_or_wrong_token(settings, couch, fake_radarr):
    client = make_app(settings).test_client()
    before = db_state(couch, settings)
    log_before = len(fake_radarr.requests_log)
    for label, headers, query in wrong_reconcile_credentials(settings):
        r = client.post("/reconcile" + query, headers=headers)
        assert r.status_code == 401, (label, r.status_code, r.get_data(as_text=True))
        assert r.headers["WWW-Authenticate"].startswith("Bearer "), label
        assert settings.reconcile_token not in r.get_data(as_text=True)
    assert db_state(couch, settings) == before, "a refused reconcile wrote something"
    assert len(fake_radarr.requests_log) == log_before, "a refused reconcile asked Radarr"
    # the right token gets in (scheme name is case-insensitive, RFC 7235)
    for header in (f"Bearer {settings.reconcile_token}", f"bearer {settings.reconcile_token}"):
        r = client.post("/reconcile", headers={"Authorization": header})
        assert r.status_code == 200, r.get_data(as_text=True)


def test_reconcile_refuses_everything_when_no_token_is_configured(settings):
    client = make_app(dataclasses.replace(settings, reconcile_token=None)).test_client()
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer None"}, {"X-Reconcile-Token": ""}):
        assert client.post("/reconcile", headers=headers).status_code == 401, headers


def test_an_empty_secret_file_does_not_open_the_endpoints(settings, couch, tmp_path):
    (tmp_path / "token").write_text("\n")
    (tmp_path / "password").write_text("")
    env = settings_env(settings)
    env.pop("RECONCILE_TOKEN"), env.pop("WEBHOOK_PASSWORD")
    env.update(RECONCILE_TOKEN_FILE=str(tmp_path / "token"), WEBHOOK_PASSWORD_FILE=str(tmp_path / "password"))
    try:
        s = load_settings(env, dotenv_path=None)
    except ConfigError:
        return  # refusing to start is a fine answer too
    client = make_app(s).test_client()
    before = db_state(couch, settings)
    for headers in ({"Authorization": "Bearer "}, {"X-Reconcile-Token": ""}):
        assert client.post("/reconcile", headers=headers).status_code == 401, headers
    r = client.post("/webhooks/radarr", json=GRAB, headers={"Authorization": basic(s.webhook_user, "")})
    assert r.status_code == 401
    assert db_state(couch, settings) == before


def test_credential_comparisons_are_constant_time():
    """Source check: every secret comparison goes through hmac.compare_digest (on bytes, so a
    non-ASCII value cannot make it raise), and no == / != touches a secret."""
    auth_src = (ROOT / "sidecar" / "auth.py").read_text()
    assert "hmac.compare_digest(" in auth_src
    same = re.search(r"def _same\(.*?\n(?=\S)", auth_src, re.S).group(0)
    assert "compare_digest" in same and ".encode(" in same
    assert re.search(r"_same\(password,\s*settings\.webhook_password\)", auth_src)
    assert re.search(r"_same\(user,\s*settings\.webhook_user\)", auth_src)
    assert re.search(r"_same\(token,\s*settings\.reconcile_token\)", auth_src)
    # the user and password checks are both evaluated (no short-circuit telling which one failed)
    assert re.search(r"_same\(user[^)]*\)\s*&\s*_same\(password", auth_src)
    secret_names = r"(webhook_password|reconcile_token|webhook_user|api_key|couchdb_password|password|token)\b"
    for name in ("auth.py", "webhooks.py", "reconcile.py", "app.py"):
        src = (ROOT / "sidecar" / name).read_text()
        bad = re.findall(rf"[=!]=\s*[\w.]*{secret_names}|{secret_names}\s*[=!]=", src)
        assert not bad, f"{name} compares a secret with ==/!=: {bad}"
    for name in ("webhooks.py", "reconcile.py"):
        src = (ROOT / "sidecar" / name).read_text()
        assert "from .auth import" in src
    assert re.search(r"@require_basic_auth\s+def receive", (ROOT / "sidecar" / "webhooks.py").read_text())
    assert re.search(r"@require_token\s+def reconcile_endpoint", (ROOT / "sidecar" / "reconcile.py").read_text())


# --------------------------------------------------------------------------- 3. no secret in logs or responses


def secret_forms(values) -> list[str]:
    """Each secret as it could leak: plain, URL-quoted, and inside a basic-auth header."""
    out = set()
    for v in values:
        if not v:
            continue
        out |= {v, quote(v, safe="")}
    return sorted(out)


def assert_no_secret(text: str, secret_values: list[str], where: str) -> None:
    for s in secret_values:
        assert s not in text, f"secret {s[:3]}... found in {where}: ...{text[max(0, text.find(s) - 200):text.find(s) + 100]}..."


class AllRecords(logging.Handler):
    """Every record of every logger, formatted with its traceback."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record):
        self.lines.append(self.format(record))


def attach_capture(caplog, handler: AllRecords | None = None) -> AllRecords:
    """create_app/setup_logging replace the root handlers: put pytest's and ours back, at DEBUG."""
    handler = handler or AllRecords()
    root = logging.getLogger()
    for h in (caplog.handler, handler):
        if h not in root.handlers:
            root.addHandler(h)
    root.setLevel(logging.DEBUG)
    caplog.handler.setLevel(logging.DEBUG)
    for name in ("urllib3", "werkzeug", "sidecar"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    return handler


def secret_env(secured, couch_url_with_creds: str, radarr_key: str, sonarr_key: str) -> dict:
    s = secured.sidecar_settings
    env = {k: v for k, v in settings_env(s).items() if not k.startswith("COUCHDB_")}
    env.update(COUCHDB_URL=couch_url_with_creds, RADARR_API_KEY=radarr_key, SONARR_API_KEY=sonarr_key,
               WEBHOOK_PASSWORD=s.webhook_password, RECONCILE_TOKEN=s.reconcile_token, LOG_LEVEL="DEBUG",
               ARR_TIMEOUT="1")
    return env


@pytest.fixture(autouse=True)
def restore_logging():
    """setup_logging (called by create_app) replaces the root handlers: put the test runner's back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("urllib3", "werkzeug", "sidecar")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, lvl in levels.items():
        logging.getLogger(name).setLevel(lvl)


def test_no_secret_in_logs_or_responses_in_process(secured, fake_radarr, fake_sonarr, caplog, capfd, restore_logging):
    """Errors everywhere, every log line at DEBUG and every response body collected; no secret in any.

    COUCHDB_URL carries the sidecar user's credentials (http://user:pass@host); Radarr's key is
    wrong (401); Sonarr answers 500, then times out; wrong webhook and reconcile credentials; then
    the same app with CouchDB unreachable."""
    from sidecar.worker import Worker

    srv = secured.server
    couch_pw = srv.passwords[SIDECAR]
    radarr_key = "rk" + secrets.token_hex(16)  # wrong on purpose: Radarr answers 401
    url_with_creds = srv.url.replace("http://", f"http://{SIDECAR}:{couch_pw}@")
    env = secret_env(secured, url_with_creds, radarr_key, fake_sonarr.api_key)
    settings = load_settings(env, dotenv_path=None)
    assert settings.couchdb_url == srv.url and settings.couchdb_password == couch_pw
    all_secrets = [couch_pw, radarr_key, fake_sonarr.api_key, settings.webhook_password, settings.reconcile_token,
                   srv.passwords[ADMIN], srv.passwords[FRONTEND]]
    leak_forms = secret_forms(all_secrets) + [
        base64.b64encode(f"{SIDECAR}:{couch_pw}".encode()).decode(),
        base64.b64encode(f"{settings.webhook_user}:{settings.webhook_password}".encode()).decode()]
    bodies: list[str] = []

    app = make_app(settings)
    captured = attach_capture(caplog)
    client = app.test_client()
    good = {"Authorization": basic(settings.webhook_user, settings.webhook_password)}

    def call(method, path, **kw):
        r = client.open(path, method=method, **kw)
        bodies.append(f"{method} {path} -> {r.status_code} {dict(r.headers)} {r.get_data(as_text=True)}")
        return r

    fake_sonarr.fail_mode = "500"
    # wrong credentials
    assert call("POST", "/webhooks/radarr", json=GRAB, headers={"Authorization": basic("radarr", couch_pw)}).status_code == 401
    assert call("POST", "/webhooks/radarr", json=GRAB, headers={"Authorization": f"Bearer {settings.reconcile_token}x"}).status_code == 401
    assert call("POST", "/reconcile", headers={"Authorization": f"Bearer {settings.webhook_password}"}).status_code == 401
    assert call("POST", "/reconcile", headers={"Authorization": f"Bearer {settings.reconcile_token}x"}).status_code == 401
    # malformed payloads, and events whose lookup meets Radarr's 401 / Sonarr's 500
    call("POST", "/webhooks/radarr", data=b"{not json", headers=good, content_type="application/json")
    call("POST", "/webhooks/radarr", json={"eventType": "Grab", "movie": {"tmdbId": couch_pw}}, headers=good)
    call("POST", "/webhooks/radarr", json={"eventType": "MovieAdded", "movie": {"id": 1, "title": "Heat", "tmdbId": 949}}, headers=good)
    call("POST", "/webhooks/sonarr", json={"eventType": "SeriesAdd", "series": {"id": 1, "title": "X", "tvdbId": 81189}}, headers=good)
    # readiness and reconcile with both upstreams failing
    assert call("GET", "/readyz").status_code == 503
    call("POST", "/reconcile", headers={"Authorization": f"Bearer {settings.reconcile_token}"})
    call("GET", "/healthz")
    call("GET", "/metrics")

    # the worker: Radarr 401, Sonarr 500 then timeouts; last_error is readable by frontends
    assert secured.put("frontend", secured.mb, movie_request(603)).status_code == 201
    assert secured.put("frontend", secured.sb, series_request(81189)).status_code == 201
    worker = Worker(settings).start()
    try:
        wait_for(lambda: (secured.get(secured.mb, "tmdb:603") or {}).get("last_error"), timeout=20, message="radarr 401 recorded")
        wait_for(lambda: (secured.get(secured.sb, "tvdb:81189") or {}).get("last_error"), timeout=20, message="sonarr 500 recorded")
        fake_sonarr.hang_seconds = 3
        fake_sonarr.fail_mode = "timeout"
        wait_for(lambda: ((secured.get(secured.sb, "tvdb:81189") or {}).get("last_error") or {}).get("code") == "timeout",
                 timeout=20, message="sonarr timeout recorded")
    finally:
        worker.stop()
        fake_sonarr.fail_mode = None
    for db, doc_id in ((secured.mb, "tmdb:603"), (secured.sb, "tvdb:81189")):
        bodies.append(json.dumps(secured.get(db, doc_id)))
    assert (secured.get(secured.mb, "tmdb:603")["last_error"]["code"]) == "unauthorized"

    # CouchDB unreachable (credentials still in the URL)
    dead_port = free_port()
    env_dead = dict(env, COUCHDB_URL=f"http://{SIDECAR}:{couch_pw}@127.0.0.1:{dead_port}")
    dead = load_settings(env_dead, dotenv_path=None)
    app = make_app(dead)
    attach_capture(caplog, captured)
    client = app.test_client()
    assert call("POST", "/webhooks/radarr", json=GRAB, headers=good).status_code == 503
    assert call("GET", "/readyz").status_code == 503
    call("POST", "/reconcile", headers={"Authorization": f"Bearer {settings.reconcile_token}"})
    worker = Worker(dead).start()
    time.sleep(1.5)
    worker.stop()

    out, err = capfd.readouterr()
    logs = "\n".join(captured.lines) + "\n" + caplog.text
    assert "unauthorized" in logs  # the scenario really ran through the errors
    assert any("unreachable" in line or "waiting for CouchDB" in line for line in captured.lines)
    assert_no_secret(logs, leak_forms, "log records")
    assert_no_secret(out + err, leak_forms, "stdout/stderr")
    assert_no_secret("\n".join(bodies), leak_forms, "HTTP responses / documents frontends read")


def test_no_secret_in_the_worker_subprocess_log(secured, fake_radarr, worker_process, tmp_path):
    """`python -m sidecar worker` at LOG_LEVEL=DEBUG with credentials inside COUCHDB_URL and a
    Radarr that refuses the key; then one against an unreachable CouchDB. The whole log is grepped."""
    srv = secured.server
    couch_pw = srv.passwords[SIDECAR]
    radarr_key = "rk" + secrets.token_hex(16)
    url_with_creds = srv.url.replace("http://", f"http://{SIDECAR}:{couch_pw}@")
    no_user = dataclasses.replace(secured.sidecar_settings, couchdb_user=None, couchdb_password=None)
    env = secret_env(secured, url_with_creds, radarr_key, "sk" + secrets.token_hex(16))
    assert secured.put("frontend", secured.mb, movie_request(603)).status_code == 201
    p = worker_process(no_user, **{k: env[k] for k in ("COUCHDB_URL", "RADARR_API_KEY", "SONARR_API_KEY", "LOG_LEVEL",
                                                     "WEBHOOK_PASSWORD", "RECONCILE_TOKEN")})
    wait_for(lambda: ((secured.get(secured.mb, "tmdb:603") or {}).get("last_error") or {}).get("code") == "unauthorized",
             timeout=30, message="radarr 401 recorded by the subprocess")
    p.terminate()
    p.wait(10)
    p2 = worker_process(no_user, COUCHDB_URL=f"http://{SIDECAR}:{couch_pw}@127.0.0.1:{free_port()}", LOG_LEVEL="DEBUG",
                        RADARR_API_KEY=radarr_key)
    time.sleep(2.0)
    p2.terminate()
    p2.wait(10)
    log = (tmp_path / "worker0.log").read_text(errors="replace") + (tmp_path / "worker1.log").read_text(errors="replace")
    assert "401" in log or "unauthorized" in log, log[-2000:]
    assert "waiting for CouchDB" in log, log[-2000:]
    leak = secret_forms([couch_pw, radarr_key, env["SONARR_API_KEY"], env["WEBHOOK_PASSWORD"], env["RECONCILE_TOKEN"]])
    leak.append(base64.b64encode(f"{SIDECAR}:{couch_pw}".encode()).decode())
    assert_no_secret(log, leak, "worker subprocess log")


def test_arr_errors_never_echo_credentials_in_the_radarr_url(settings):
    from sidecar.arr import ArrError, client_for

    pw = secrets.token_hex(8)
    inst = ArrInstance("radarr", "default", f"http://proxyuser:{pw}@127.0.0.1:{free_port()}", "k" * 32)
    with pytest.raises(ArrError) as err:
        client_for(inst, timeout=1).status()
    assert err.value.code == "unreachable"
    assert pw not in str(err.value) and pw not in err.value.message
    app = make_app(dataclasses.replace(settings, radarr=(inst,)))
    r = app.test_client().get("/readyz")
    assert r.status_code == 503 and pw not in r.get_data(as_text=True)


# --------------------------------------------------------------------------- 4. where secrets come from


def test_load_settings_reads_secrets_from_files(tmp_path):
    values = {name: secrets.token_hex(10) for name in
              ("COUCHDB_PASSWORD", "RADARR_API_KEY", "SONARR_API_KEY", "WEBHOOK_PASSWORD", "RECONCILE_TOKEN")}
    env = {"COUCHDB_URL": "http://couch:5984", "COUCHDB_USER": "sidecar-svc",
           "RADARR_URL": "http://radarr:7878", "SONARR_URL": "http://sonarr:8989"}
    for name, value in values.items():
        path = tmp_path / name.lower()
        path.write_text(value + "\n")  # Docker secrets often end with a newline
        env[f"{name}_FILE"] = str(path)
    s = load_settings(env, dotenv_path=None)
    assert s.couchdb_password == values["COUCHDB_PASSWORD"]
    assert s.radarr[0].api_key == values["RADARR_API_KEY"] and s.sonarr[0].api_key == values["SONARR_API_KEY"]
    assert s.webhook_password == values["WEBHOOK_PASSWORD"] and s.reconcile_token == values["RECONCILE_TOKEN"]
    assert s.couch_auth == ("sidecar-svc", values["COUCHDB_PASSWORD"])
    text = repr(s) + str(s)
    for v in values.values():
        assert v not in text
    # the plain variable wins over the file
    s2 = load_settings({**env, "COUCHDB_PASSWORD": "from-env"}, dotenv_path=None)
    assert s2.couchdb_password == "from-env"


def test_unreadable_secret_file_names_the_variable_not_a_secret(tmp_path):
    env = {"COUCHDB_PASSWORD_FILE": str(tmp_path / "missing")}
    with pytest.raises(ConfigError, match="COUCHDB_PASSWORD_FILE") as err:
        load_settings(env, dotenv_path=None)
    assert str(tmp_path / "missing") in str(err.value)
    env = {"RADARR_URL": "http://radarr:7878", "RADARR_API_KEY_FILE": str(tmp_path / "nope")}
    with pytest.raises(ConfigError, match="RADARR_API_KEY_FILE"):
        load_settings(env, dotenv_path=None)


def test_credentials_in_couchdb_url_are_taken_out_of_it():
    pw = secrets.token_hex(8)
    s = load_settings({"COUCHDB_URL": f"http://sidecar-svc:{pw}@couch.lan:5984/"}, dotenv_path=None)
    assert s.couchdb_url == "http://couch.lan:5984"
    assert s.couch_auth == ("sidecar-svc", pw)
    assert pw not in repr(s)
    # percent-encoded passwords come out decoded
    s = load_settings({"COUCHDB_URL": "http://u:p%40ss%2Fw@couch:5984"}, dotenv_path=None)
    assert s.couch_auth == ("u", "p@ss/w") and "p%40" not in s.couchdb_url


@pytest.mark.parametrize("url", [
    "couch:S3CRETpw@db:5984",  # scheme forgotten
    "http//admin:S3CRETpw@db:5984",  # colon forgotten
    "http://admin:S3CRETpw@",  # host forgotten
    "http://admin:S3CRETpw@db:59S3CRETpw",  # port garbled
])
def test_config_errors_never_echo_the_couchdb_password(url):
    with pytest.raises(ConfigError) as err:
        load_settings({"COUCHDB_URL": url}, dotenv_path=None)
    assert "S3CRETpw" not in str(err.value)
    assert "COUCHDB_URL" in str(err.value)


# Values in the repo that look like secrets but are test dummies or documentation placeholders.
# A new dummy must be added here by name: the scan cannot tell a dummy from a leaked key.
DUMMY_SECRETS = {
    # tests/conftest.py, tests/fakes/servarr.py
    "hook-secret-pw", "reconcile-secret-token", "test-radarr-key", "test-sonarr-key",
    # tests/*.py
    "test-radarr-4k-key", "wrong-key", "from-env", "S3CRETpw", "p%40ss%2Fw", "s3cret", "Pässwörd-ñ", "whatever",
    # scripts/dev.py (the local fakes' keys), bench/
    "fake-radarr-key", "fake-sonarr-key", "bench-reconcile-token", "bench-radarr-key", "bench-sonarr-key",
}
SECRET_PATTERNS = [
    ("private key", re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA |)PRIVATE KEY-----")),
    ("credentials in a URL", re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"<>]+:([^/\s@'\"<>{}$]{4,})@[\w.-]+")),
    ("*arr API key (32 hex)", re.compile(r"(?i)(?:api[_-]?key|apikey|x-api-key)[\"']?\s*[:=]\s*[\"']?([0-9a-f]{32})\b")),
    ("assigned password/token/secret",
     re.compile(r"(?i)\b(?:[A-Z_]*PASSWORD|[A-Z_]*TOKEN|[A-Z_]*SECRET|[A-Z_]*API_KEY|password|passwd|secret|token|api_key|apikey)"
                r"[\"']?\s*[:=]\s*[\"']([^\"'\s]{8,})[\"']")),
    ("env file line", re.compile(r"(?m)^(?:COUCHDB_PASSWORD|RADARR_API_KEY|SONARR_API_KEY|WEBHOOK_PASSWORD|RECONCILE_TOKEN"
                                 r"|[A-Z_]+_API_KEY)=([^\s$]{8,})\s*$")),
    ("AWS access key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b")),
]
# a captured value made of these is code or a placeholder, not a secret
# (also the docs' stand-ins such as ADMIN-PASSWORD, which the reader replaces)
PLACEHOLDER = re.compile(r"(?i)^(?:[a-z][a-z0-9]*-(?:password|key|token|secret)|\$\{?\w+\}?|<[^>]*>|\{[^}]*\}|x+|\*+|\.+|change-?me[\w-]*|secret|password|pw|pass|"
                         r"example\w*|dummy\w*|placeholder|your[-_]\w+|test[-_]?\w*|fake[-_]?\w*|\w*-pw|\w+-token)$")


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout
    return [ROOT / p for p in out.decode().split("\0") if p]


def test_no_real_secret_is_tracked_in_the_repo():
    """Everything git tracks (or would add: untracked, not ignored) is searched for what looks
    like a real secret. Test fixtures' obvious dummy values are whitelisted in DUMMY_SECRETS."""
    found = []
    files = [p for p in tracked_files() if p.is_file() and "node_modules" not in p.parts]
    assert any(p.name == "config.py" for p in files), "git ls-files found nothing: wrong cwd?"
    for path in files:
        if path.stat().st_size > 2_000_000:
            continue
        data = path.read_bytes()
        if b"\0" in data[:4096]:
            continue  # binary
        text = data.decode("utf-8", errors="replace")
        for label, pattern in SECRET_PATTERNS:
            for m in pattern.finditer(text):
                value = m.group(1) if pattern.groups else m.group(0)
                if value in DUMMY_SECRETS or PLACEHOLDER.match(value):
                    continue
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {label}: {m.group(0)[:80]}")
    assert not found, "possible secrets in the repo:\n" + "\n".join(found)
    # .env (where a developer keeps real values) is never tracked
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_the_secret_scan_catches_real_looking_secrets(tmp_path):
    """The scanner's own check: it flags these, and lets the dummies through."""
    key32 = "0123456789abcdef" * 2  # (built at run time so that the scan of this file stays clean)
    samples = {
        f"RADARR_API_KEY={key32}\n": True,
        'COUCHDB_URL = "http://admin:' + 'hunter2' + 'hunter@couch:5984"': True,
        f'"apiKey": "{key32}"': True,
        'password = "' + "Tr0ub4dor&3" + 'xyz"': True,
        "-----BEGIN OPENSSH " + "PRIVATE KEY-----": True,
        "WEBHOOK_PASSWORD=change-me-too\n": False,
        'webhook_password="hook-secret-pw"': False,
        'api_key = "test-radarr-key"': False,
        'COUCHDB_PASSWORD=${COUCHDB_PASSWORD}\n': False,
        'password = "<your password>"': False,
        "http://user:pass@host": False,  # 4+ chars, but a documented placeholder pair below
    }
    for text, expected in samples.items():
        hits = []
        for _, pattern in SECRET_PATTERNS:
            for m in pattern.finditer(text):
                value = m.group(1) if pattern.groups else m.group(0)
                if value not in DUMMY_SECRETS and not PLACEHOLDER.match(value):
                    hits.append(value)
        assert bool(hits) == expected, (text, hits)
