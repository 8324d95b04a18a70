"""The page (/app/) in a real browser: headless Debian Chromium driven by playwright-core
(tests/pouch_client/browser.js), the page served by a real sidecar web server, PouchDB in the
page live-syncing over CORS with the test CouchDB, the worker and the fake Radarr/Sonarr behind.

Chromium comes from `bash scripts/install_browser.sh` (Debian's package, /usr/bin/chromium).
Without it the browser test fails under CI=true and skips (with the reason) elsewhere.

The page always signs in as a real, plain member user of the test's databases (CouchDB 3 makes
new databases admin-only; the pouchdb-server gives that user its own roles too). CORS for the
page's origin is set on the server for the test and every setting touched is put back after.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from sidecar import webui
from sidecar.app import create_app
from sidecar.collection import now_iso
from tests.conftest import ROOT, free_port, replace, wait_for
from tests.pouch_client.members import member_user
from tests.test_pouchdb_client import secured  # noqa: F401  (fixture)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
SCRIPT = ROOT / "tests" / "pouch_client" / "browser.js"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def build_app(settings):
    app = create_app(settings)
    if "webui" not in app.blueprints:
        app.register_blueprint(webui.bp)
    return app


@contextlib.contextmanager
def serve(app):
    """The Flask app on a real HTTP server (werkzeug, threaded) on a free port."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="sidecar-web", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(5)


# --- the page's files and config, without a browser

def test_page_files_and_config(settings):
    app = build_app(settings)
    client = app.test_client()
    assert client.get("/app").status_code == 308
    index = client.get("/app/")
    assert index.status_code == 200 and b'<script src="app.js"' in index.data
    csp = index.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and settings.couchdb_url.split("/")[2] in csp
    for name, ctype in (("app.js", "javascript"), ("style.css", "text/css"), ("vendor/pouchdb.min.js", "javascript")):
        r = client.get(f"/app/{name}")
        assert r.status_code == 200 and ctype in r.content_type, (name, r.status_code, r.content_type)
    assert client.get("/app/../pyproject.toml").status_code == 404
    assert client.get("/app/secret.txt").status_code == 404
    cfg = client.get("/app/config.json")
    assert cfg.headers["Cache-Control"] == "no-store"
    assert cfg.json == {
        "couchdb_url": settings.couchdb_url,
        "databases": {"movies_buffer": settings.movies_buffer_db, "movies": settings.movies_db,
                      "series_buffer": settings.series_buffer_db, "series": settings.series_db},
    }


def test_config_never_hands_out_credentials(settings):
    s = replace(settings, couchdb_url="http://sidecar:s3cret@couch.example:5984/", couchdb_user="sidecar",
                couchdb_password="s3cret")
    cfg = build_app(s).test_client().get("/app/config.json").json
    assert cfg["couchdb_url"] == "http://couch.example:5984"
    assert "s3cret" not in json.dumps(cfg)


# --- CORS on the test server for the page's (random) origin

def _config_url(url: str, auth) -> str:
    """pouchdb-server has /_config; CouchDB 3 has /_node/_local/_config."""
    r = requests.get(f"{url}/_node/_local/_config/cors", auth=auth, timeout=5)
    return f"{url}/_node/_local/_config" if r.ok else f"{url}/_config"


def _preflight_ok(url: str, origin: str) -> bool:
    r = requests.options(f"{url}/_all_dbs", timeout=5, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    return r.headers.get("Access-Control-Allow-Origin") in (origin, "*")


def _config_get(base: str, section: str, key: str, auth):
    """A server config value as a string, None when it is not set."""
    r = requests.get(f"{base}/{section}/{key}", auth=auth, timeout=5)
    if r.status_code == 404:
        return None
    r.raise_for_status()
    return r.json()


def _config_set(base: str, section: str, key: str, value, auth) -> None:
    """Set a server config value (a string), or remove it when value is None."""
    if value is None:
        r = requests.delete(f"{base}/{section}/{key}", auth=auth, timeout=5)
        if r.status_code != 404:
            r.raise_for_status()
    else:
        requests.put(f"{base}/{section}/{key}", data=json.dumps(value), auth=auth, timeout=5).raise_for_status()


@contextlib.contextmanager
def _config_lock(url: str):
    """One test at a time changes a server's CORS settings, across processes: test runs that share
    one CouchDB 3 would otherwise each put back a state another run's test still needs (its
    page then reads "blocked by CORS", rightly)."""
    name = f"movietracker-cors-{hashlib.sha1(url.encode()).hexdigest()[:12]}.lock"
    with open(Path(tempfile.gettempdir()) / name, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def cors_allowing(url: str, auth, origin: str):
    """Let origin use the server with credentials for the test (CORS on, origin added to the
    list, credentials true: the default list names :8000 only, a real CouchDB 3 may have none)
    and put every setting it touched back exactly as it was, a value that was not set removed
    again, even when the test fails. Other test runs on the same server wait meanwhile."""
    with _config_lock(url):
        with _cors_allowing(url, auth, origin):
            yield


@contextlib.contextmanager
def _cors_allowing(url: str, auth, origin: str):
    if _preflight_ok(url, origin):
        yield
        return
    base = _config_url(url, auth)
    # CouchDB >= 3.2 reads [chttpd] enable_cors, older ones and pouchdb-server [httpd]
    sections = ("chttpd", "httpd") if "/_node/" in base else ("httpd",)
    keys = [(section, "enable_cors") for section in sections] + [("cors", "origins"), ("cors", "credentials")]
    before = {(section, key): _config_get(base, section, key, auth) for section, key in keys}
    try:
        old_origins = before[("cors", "origins")] or ""
        origins = [o.strip() for o in old_origins.split(",") if o.strip() and o.strip() != "*"]
        for section in sections:
            _config_set(base, section, "enable_cors", "true", auth)
        _config_set(base, "cors", "origins", ", ".join(origins + [origin]), auth)
        _config_set(base, "cors", "credentials", "true", auth)
        wait_for(lambda: _preflight_ok(url, origin), timeout=10, message=f"CORS to allow {origin}")
        yield
    finally:
        for (section, key), value in before.items():
            _config_set(base, section, key, value, auth)
        after = {(section, key): _config_get(base, section, key, auth) for section, key in keys}
        assert after == before, f"server CORS config not restored: {after} != {before}"


@contextlib.contextmanager
def member_of(url: str, admin, db: str, name: str):
    """name a member of db for the test (the page's title search syncs the lookups database: the
    household is a member of it, docs/frontend.md step 3); its _security put back afterwards."""
    before = requests.get(f"{url}/{db}/_security", auth=admin, timeout=10).json() or {}
    sec = json.loads(json.dumps(before))
    members = sec.setdefault("members", {})
    members["names"] = sorted(set(members.get("names") or []) | {name})
    requests.put(f"{url}/{db}/_security", auth=admin, json=sec, timeout=10).raise_for_status()
    try:
        yield
    finally:
        requests.put(f"{url}/{db}/_security", auth=admin, json=before, timeout=10).raise_for_status()


# --- the browser

def need_browser() -> str:
    """Path of node, or skip/fail (CI) with the reason."""
    problems = []
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        problems.append(f"{CHROMIUM} is missing (run: bash scripts/install_browser.sh)")
    node = shutil.which("node")
    if not node:
        problems.append("node is not installed")
    if not (ROOT / "node_modules" / "playwright-core" / "package.json").exists():
        problems.append("npm package playwright-core is missing (run: npm ci)")
    if problems:
        msg = "browser test cannot run: " + "; ".join(problems)
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return node


@pytest.fixture
def browser_node():
    """node, once Chromium and playwright-core are known to be there (before other fixtures start servers)."""
    return need_browser()


class BrowserScript:
    """A browser script (`script`: browser.js here) as a child process; its stdout lines arrive on a queue."""

    script = SCRIPT

    def __init__(self, node: str, cfg: dict, log_path: Path):
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([node, str(self.script), json.dumps(cfg)], cwd=ROOT, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.steps: dict[str, dict] = {}

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def save_steps(self, path: Path) -> None:
        """The steps seen so far, for looking at after a run (test-artifacts/)."""
        path.write_text(json.dumps(self.steps, indent=2, ensure_ascii=False)[:200_000] + "\n", encoding="utf-8")

    def next_event(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"browser script silent for {timeout} s (see {self.log.name})")
            if line is None:
                pytest.fail(f"browser script ended early (exit {self.proc.wait()}; see {self.log.name})")
            line = line.strip()
            if not line.startswith("{"):
                continue
            event = json.loads(line)
            if event["event"] == "error":
                pytest.fail(f"browser script failed: {event['error']}")
            if event["event"] == "step":
                self.steps[event["step"]] = event
                continue
            return event

    def answer(self, text: str = "go"):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.log.close()


def test_page_adds_titles_and_updates_live(browser_node, settings, couch, couch_server, fake_radarr, fake_sonarr,
                                           start_worker, tmp_path):
    node = browser_node
    start_worker()
    failing = 990001
    fake_radarr.unknown_ids.update({failing, failing + 1})  # Radarr says "not found": failed for good
    ARTIFACTS.mkdir(exist_ok=True)
    url, auth = couch_server
    dbs = (settings.movies_buffer_db, settings.movies_db, settings.series_buffer_db, settings.series_db,
           settings.lookups_db)  # the page's title search (web/search.js) syncs it too
    with member_user(url, auth, dbs) as user, serve(build_app(settings)) as web, cors_allowing(url, auth, web):
        script = BrowserScript(node, {
            "url": f"{web}/app/", "chromium": CHROMIUM, "userDataDir": str(tmp_path / "chromium-profile"),
            "screenshotDir": str(ARTIFACTS), "failingId": failing, "timeoutMs": 15000, "signIn": user,
        }, ARTIFACTS / "browser.log")
        try:
            ev = script.next_event(60)
            assert ev == {"event": "wait", "for": "id-known", "id": failing}
            # the page showed Radarr's refusal; now make the id known and let the person resend
            buffer_doc = couch.db(settings.movies_buffer_db).get(f"tmdb:{failing}")
            assert buffer_doc["state"] == "failed" and buffer_doc["last_error"]["message"]
            fake_radarr.unknown_ids.discard(failing)
            script.answer()

            ev = script.next_event(30)
            assert ev["for"] == "server-change"
            # what a Download webhook would do to the collection doc: the page must follow live
            coll = couch.db(settings.movies_db)
            doc = coll.get("tmdb:603")
            doc.update(status="downloaded", hasFile=True, updated_at=now_iso())
            coll.put(doc)
            script.answer()

            done = script.next_event(60)
            assert done["event"] == "done"
        finally:
            script.close()
            script.save_steps(ARTIFACTS / "browser-steps.json")

    steps = script.steps
    assert steps["form-error"]["message"] == "title must not be empty"
    assert steps["sent"]["message"] == "Sent “The Matrix”. It shows under Pending until the sidecar adds it."
    assert "The Matrix" in steps["movie-wanted"]["text"]
    # a sentence a person can act on, Radarr's own words (closed) behind "Details"
    failed = steps["failed-shown"]
    assert failed["why"] == ("Radarr does not know this TMDB id. Check it on themoviedb.org, then send it again, "
                             "or withdraw the wish."), failed
    assert not failed["detailShown"] and failed["detailShownAfterClick"], failed
    assert "not found" in failed["detail"].lower() and failed["detail"].startswith("http_400: "), failed
    assert done["sameLoad"] == "yes", "the page reloaded"
    statuses = {i["id"]: i["status"] for i in done["collection"]}
    assert statuses == {"tmdb:603": "downloaded", "tvdb:81189": "monitored", f"tmdb:{failing}": "wanted"}
    assert done["pending"] == [{"id": f"tmdb:{failing + 1}", "state": "failed"}]
    assert done["overflow"] <= 0, "the page is wider than a phone screen"
    # a server that wants a user answers 401 until the page has signed in; nothing else may show
    others = [e for e in done["consoleErrors"] if "401" not in e]
    assert others == [], others
    # what the page did went through Radarr/Sonarr for real
    assert fake_radarr.creations[603] == 1 and fake_radarr.creations[failing] == 1
    assert fake_sonarr.creations[81189] == 1
    requested = couch.db(settings.movies_db).get("tmdb:603")["requested"]
    assert requested["action"] == "download" and requested["by"] == "ann"

    desktop = Path(done["screenshots"]["desktop"])
    assert desktop.stat().st_size > 10_000
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(desktop, ROOT / "docs" / "screenshot.png")


def test_page_signs_in_when_couchdb_wants_a_user(browser_node, settings, secured, fake_radarr, start_worker, tmp_path):
    """Admin party over (as on any real CouchDB 3): the page asks for a user, refuses a wrong
    password, then syncs as that plain user over CORS with credentials."""
    node = browser_node
    sec, (user, password), _ = secured
    # the worker as the sidecar (admin) on that server, with the test's fake Radarr
    start_worker(couchdb_url=sec.couchdb_url, couchdb_user=sec.couchdb_user, couchdb_password=sec.couchdb_password,
                 movies_buffer_db=sec.movies_buffer_db, movies_db=sec.movies_db,
                 series_buffer_db=sec.series_buffer_db, series_db=sec.series_db)
    ARTIFACTS.mkdir(exist_ok=True)
    page_settings = replace(sec, radarr=settings.radarr, sonarr=settings.sonarr)
    with serve(build_app(page_settings)) as web, cors_allowing(sec.couchdb_url, sec.couch_auth, web), \
            member_of(sec.couchdb_url, sec.couch_auth, sec.lookups_db, user):
        script = BrowserScript(node, {
            "url": f"{web}/app/", "chromium": CHROMIUM, "userDataDir": str(tmp_path / "chromium-profile"),
            "screenshotDir": str(ARTIFACTS), "scenario": "signin", "failingId": 0,
            "signIn": {"username": user, "password": password}, "timeoutMs": 15000,
        }, ARTIFACTS / "browser-signin.log")
        try:
            done = script.next_event(60)
        finally:
            script.close()
            script.save_steps(ARTIFACTS / "browser-signin-steps.json")
    assert done["event"] == "done"
    assert script.steps["auth-needed"]["signinOpen"] is True
    assert script.steps["auth-needed"]["badge"] == "sign-in needed"
    # the badge leads to the form, which sits at the top of the page while it is needed
    assert script.steps["badge-leads"] == {"event": "step", "step": "badge-leads", "focused": "signin-user",
                                           "open": True, "formAboveAdd": True, "formInView": True}, \
        script.steps["badge-leads"]
    assert script.steps["wrong-password"]["message"] == "Not signed in: wrong user name or password."
    # signed in: who, and Sign out instead of the form
    signed = script.steps["signed-in"]
    assert signed["message"] == f"Signed in as {user}." and signed["signOutShown"] and not signed["formShown"], signed
    # 401s before signing in are the point of this test; anything else is not
    others = [e for e in done["consoleErrors"] if "401" not in e]
    assert others == [], others
    doc = requests.get(f"{sec.couchdb_url}/{sec.movies_db}/tmdb:550", auth=sec.couch_auth).json()
    assert doc["status"] == "monitored" and doc["requested"]["by"] == "bob"
    assert fake_radarr.creations[550] == 1


def _leaves(url: str, db: str, doc_id: str, auth) -> list[dict]:
    """Every leaf of a doc on the server, live and deleted, with its body."""
    r = requests.get(f"{url}/{db}/{doc_id}", params={"open_revs": "all"}, auth=auth,
                     headers={"Accept": "application/json"}, timeout=5)
    r.raise_for_status()
    return [row["ok"] for row in r.json() if "ok" in row]


def test_page_shows_refusals_discards_them_and_withdraws(browser_node, secured, tmp_path):
    """On a server with an admin (the page signed in as a plain user, so validate_doc_update
    applies): a local edit the server refuses shows as refused with the server's reason, and
    Discard brings back the server's version; the "ghost" (a refused edit of a wish the sidecar
    then moved) shows as refused and out of date, never "adding…", and goes with Discard for
    good; Withdraw works for new, retry and failed wishes and writes the wish's requested_at on
    the tombstone. No worker runs: the test plays the sidecar, so nothing moves by itself."""
    node = browser_node
    sec, (user, password), _ = secured
    url, admin = sec.couchdb_url, sec.couch_auth
    buffer_url = f"{url}/{sec.movies_buffer_db}"
    asked = {701: "2026-11-25T10:01:00.000Z", 702: "2026-11-25T10:02:00.000Z",
             703: "2026-11-25T10:03:00.000Z", 704: "2026-11-25T10:04:00.000Z", 705: "2026-11-25T10:05:00.000Z"}
    error = {"code": "timeout", "message": "Radarr did not answer", "at": "2026-11-25T10:05:00Z"}
    sidecar_fields = {
        701: {},
        702: {"state": "retry", "attempts": 1, "last_error": error, "next_attempt_at": "2099-01-01T00:00:00Z"},
        703: {"state": "failed", "attempts": 1, "last_error": {**error, "code": "404", "message": "not found"}},
        704: {"state": "processing", "attempts": 0, "claimed_by": "other-worker", "claimed_at": now_iso()},
        705: {"state": "processing", "attempts": 0, "claimed_by": "other-worker", "claimed_at": now_iso()},
    }
    revs = {}
    for tmdb, extra in sidecar_fields.items():
        doc = {"type": "movie", "tmdbId": tmdb, "title": f"Film {tmdb}", "action": "download",
               "requested_at": asked[tmdb], **extra}
        r = requests.put(f"{buffer_url}/tmdb:{tmdb}", json=doc, auth=admin, timeout=5)
        assert r.status_code in (201, 202), r.text
        revs[tmdb] = r.json()["rev"]

    def move(tmdb: int) -> None:
        """The sidecar's move: the collection doc first, then the buffer doc deleted with the
        worker's tombstone (the claim it holds makes it the sidecar's to move)."""
        coll = {"_id": f"tmdb:{tmdb}", "type": "movie", "tmdbId": tmdb, "title": f"Film {tmdb}", "status": "wanted",
                "monitored": True, "hasFile": False, "grabbed": False, "radarrId": tmdb, "instance": "default",
                "instances": {"default": {"id": tmdb, "monitored": True, "hasFile": False}},
                "requested": {"action": "download", "at": asked[tmdb]}, "source": "worker",
                "created_at": now_iso(), "updated_at": now_iso()}
        r = requests.put(f"{url}/{sec.movies_db}/tmdb:{tmdb}", json=coll, auth=admin, timeout=5)
        assert r.status_code in (201, 202), r.text
        # a deletion is 200 on CouchDB 3, 201 on pouchdb-server
        r = requests.put(f"{buffer_url}/tmdb:{tmdb}", auth=admin, timeout=5, json={
            "_rev": revs[tmdb], "_deleted": True, "ended": "moved", "requested_at": asked[tmdb], "moved_at": now_iso()})
        assert r.status_code in (200, 201, 202), r.text

    ARTIFACTS.mkdir(exist_ok=True)
    with serve(build_app(sec)) as web, cors_allowing(url, admin, web), member_of(url, admin, sec.lookups_db, user):
        script = BrowserScript(node, {
            "url": f"{web}/app/", "chromium": CHROMIUM, "userDataDir": str(tmp_path / "chromium-profile"),
            "screenshotDir": str(ARTIFACTS), "scenario": "refusals", "failingId": 0,
            "bufferDb": sec.movies_buffer_db, "signIn": {"username": user, "password": password},
            "timeoutMs": 15000,
        }, ARTIFACTS / "browser-refusals.log")
        try:
            ev = script.next_event(60)
            assert ev["for"] == "discarded" and ev["id"] == "tmdb:701"
            # the page's version after Discard reaches the server, which takes it: it is the
            # server's own version again (requested_at as it was, state new)
            wait_for(lambda: requests.get(f"{buffer_url}/tmdb:701", auth=admin, timeout=5).json().get("_rev") == ev["rev"],
                     timeout=15, message="the discarded wish's revision on the server")
            after_discard = requests.get(f"{buffer_url}/tmdb:701", auth=admin, timeout=5).json()
            script.answer()

            ev = script.next_event(60)
            assert ev == {"event": "wait", "for": "move", "id": "tmdb:704"}
            move(704)
            script.answer()

            ev = script.next_event(90)
            assert ev == {"event": "wait", "for": "move", "id": "tmdb:705"}
            # Discard was pressed while the title was being added: nothing of the page's reached
            # the server (the edit was refused, Discard wrote nothing)
            before_move_705 = _leaves(url, sec.movies_buffer_db, "tmdb:705", admin)
            move(705)
            script.answer()

            ev = script.next_event(60)
            assert ev == {"event": "wait", "for": "withdrawn"}
            # the page's withdrawals reach the server
            gone = lambda: all(requests.get(f"{buffer_url}/tmdb:{t}", auth=admin, timeout=5).status_code == 404
                               for t in (701, 702, 703))
            wait_for(gone, timeout=15, message="the withdrawals to reach the server")
            script.answer()

            done = script.next_event(60)
            assert done["event"] == "done"
        finally:
            script.close()
            script.save_steps(ARTIFACTS / "browser-refusals-steps.json")

    steps = script.steps
    listed = steps["listed"]["items"]
    # Withdraw wherever the contract allows it; never while the sidecar is adding the title
    assert listed["tmdb:701"]["actions"] == ["withdraw"]
    assert listed["tmdb:702"]["actions"] == ["withdraw"]
    assert listed["tmdb:703"]["actions"] == ["resend", "withdraw"]
    assert listed["tmdb:704"]["actions"] == [] and listed["tmdb:704"]["badge"] == "adding…"
    assert listed["tmdb:705"]["actions"] == [] and listed["tmdb:705"]["badge"] == "adding…"

    # (a) the refused edit: the server's reason on the wish, Discard the only action
    refused = steps["refused"]["item"]
    assert refused["state"] == "refused" and refused["badge"] == "refused"
    assert refused["rev"] == steps["refused"]["rev"]
    assert refused["refusal"].startswith("Refused by the server: requested_at stays as it was"), refused
    assert refused["actions"] == ["discard"]
    # ...and Discard brought back the server's version (as a revision on top of the refused one:
    # the server's is its ancestor), one live leaf, no refusal left
    back = steps["discarded"]["item"]
    assert back["state"] == "new" and back["requestedAt"] == asked[701], back
    assert back["actions"] == ["withdraw"] and back["refusal"] is None
    assert [leaf["rev"] for leaf in steps["discarded"]["leaves"] if not leaf["deleted"]] == [back["rev"]]
    assert {k: v for k, v in after_discard.items() if k != "_rev"} == {
        "_id": "tmdb:701", "type": "movie", "tmdbId": 701, "title": "Film 701", "action": "download",
        "requested_at": asked[701]}, after_discard

    # (b) the ghost: refused with the server's reason, then out of date once moved; never "adding…"
    ghost_refused = steps["ghost-refused"]["item"]
    assert ghost_refused["state"] == "refused" and "being added right now" in ghost_refused["refusal"]
    ghost = steps["ghost"]["item"]
    assert ghost["state"] == "refused" and ghost["badge"] != "adding…" and ghost["actions"] == ["discard"]
    assert ghost["moved"].startswith("Already in the collection (wanted)")
    assert any(leaf["deleted"] for leaf in steps["ghost"]["leaves"]) and any(
        not leaf["deleted"] for leaf in steps["ghost"]["leaves"]), "the ghost's leaves were not there to see"
    unrecorded = steps["ghost-unrecorded"]["item"]
    assert unrecorded["state"] == "moved" and unrecorded["badge"] == "out of date"
    assert unrecorded["actions"] == ["discard"]
    assert all(leaf["deleted"] for leaf in steps["ghost-discarded"]["leaves"])
    # on the server the wish stays moved: nothing of the ghost came back to life
    server_704 = _leaves(url, sec.movies_buffer_db, "tmdb:704", admin)
    assert server_704 and all(leaf.get("_deleted") for leaf in server_704), server_704
    assert any(leaf.get("ended") == "moved" for leaf in server_704)

    # (b2) Discard pressed while the title was being added: the page wrote nothing and said so,
    # kept it across a reload, and dropped the edit by itself once the move arrived
    pending = steps["discard-pending"]
    assert pending["item"]["state"] == "discard-pending" and pending["item"]["badge"] == "being added", pending
    assert pending["item"]["discardPending"] == ("Being added on the server — your change will be dropped "
                                                 "when it finishes."), pending
    assert pending["item"]["actions"] == [] and pending["item"]["rev"] == pending["rev"], pending
    assert pending["leaves"] == pending["leavesBefore"], pending  # not a single local write
    reloaded = steps["discard-pending-reloaded"]
    assert reloaded["item"]["state"] == "discard-pending" and reloaded["item"]["rev"] == pending["rev"], reloaded
    assert reloaded["leaves"] == pending["leavesBefore"], reloaded
    assert [leaf["_rev"] for leaf in before_move_705] == [revs[705]] and not before_move_705[0].get("_deleted"), \
        before_move_705
    assert steps["discarded-after-add"]["leaves"] and all(
        leaf["deleted"] for leaf in steps["discarded-after-add"]["leaves"]), steps["discarded-after-add"]
    server_705 = _leaves(url, sec.movies_buffer_db, "tmdb:705", admin)
    assert server_705 and all(leaf.get("_deleted") for leaf in server_705), server_705
    moved_705 = next(leaf["_rev"] for leaf in server_705 if leaf.get("ended") == "moved")
    assert all(leaf.get("ended") == "moved" or leaf.get("merged_into") == moved_705 for leaf in server_705), server_705

    # (c) withdrawals: each a tombstone naming the wish it ended
    for tmdb in (701, 702, 703):
        leaves = _leaves(url, sec.movies_buffer_db, f"tmdb:{tmdb}", admin)
        assert all(leaf.get("_deleted") for leaf in leaves), (tmdb, leaves)
        assert any(leaf.get("requested_at") == asked[tmdb] and not leaf.get("merged_into") for leaf in leaves), leaves
    # the discarded ghost's tombstone (if it reached the server) ends no wish: it says merged_into
    moved_rev = next(leaf["_rev"] for leaf in server_704 if leaf.get("ended") == "moved")
    assert all(leaf["merged_into"] == moved_rev for leaf in server_704 if leaf.get("merged_into")), server_704

    # after a reload and a full sync nothing is pending: no ghost survives
    assert done["pending"] == [], done["pending"]
    others = [e for e in done["consoleErrors"] if "401" not in e]
    assert others == [], others


# --- the page says what is true: offline, waiting to sync, sent; wishes that cannot be sent; CORS

def _expected_console_errors(errors: list[str], *patterns: str) -> list[str]:
    """The console errors left once the expected ones (401 before signing in, and patterns) are out."""
    return [e for e in errors if "401" not in e and not any(p in e for p in patterns)]


def test_page_says_offline_and_delivers_on_reconnect(browser_node, settings, couch, couch_server, fake_radarr,
                                                     start_worker, tmp_path):
    """Offline (the browser context set offline): the badge says offline, not live; a wish made
    then reads "saved on this device", is not on the server, and arrives within 2 s of the browser
    coming back online (the page syncs at once on `online`, not after PouchDB's back-off). Then
    CouchDB out of reach with the browser online: the failing push says offline, and the wish
    goes on the next try (back-off at most 3 s) once CouchDB answers."""
    node = browser_node
    start_worker()
    ARTIFACTS.mkdir(exist_ok=True)
    url, auth = couch_server
    dbs = (settings.movies_buffer_db, settings.movies_db, settings.series_buffer_db, settings.series_db,
           settings.lookups_db)  # the page's title search (web/search.js) syncs it too
    with member_user(url, auth, dbs) as user, serve(build_app(settings)) as web, cors_allowing(url, auth, web):
        script = BrowserScript(node, {
            "url": f"{web}/app/", "chromium": CHROMIUM, "userDataDir": str(tmp_path / "chromium-profile"),
            "screenshotDir": str(ARTIFACTS), "scenario": "offline", "failingId": 0, "timeoutMs": 15000,
            "signIn": user, "bufferDb": settings.movies_buffer_db,
        }, ARTIFACTS / "browser-offline.log")
        try:
            ev = script.next_event(60)
            assert ev == {"event": "wait", "for": "saved-offline", "id": "tmdb:604"}
            assert couch.db(settings.movies_buffer_db).get("tmdb:604") is None, "sent while offline?"
            assert couch.db(settings.movies_db).get("tmdb:604") is None
            script.answer()
            done = script.next_event(60)
            assert done["event"] == "done"
        finally:
            script.close()
            script.save_steps(ARTIFACTS / "browser-offline-steps.json")

    steps = script.steps
    assert steps["offline"]["sync"] == {"state": "offline", "text": "offline"}, steps["offline"]
    assert steps["offline"]["note"].startswith("Offline: what you add is saved on this device"), steps["offline"]
    saved = steps["saved-offline"]
    assert saved["message"] == "Saved “The Matrix Reloaded” on this device; it will be sent when you are online.", saved
    assert saved["item"]["state"] == "unsent" and saved["item"]["badge"] == "waiting to sync", saved
    assert saved["item"]["hint"] == "Saved on this device; it will be sent when you are online.", saved
    assert saved["sync"]["state"] == "offline" and done["stillOffline"]["state"] == "offline", (saved, done)
    assert steps["delivered"]["message"] == "Sent “The Matrix Reloaded”. It shows under Pending until the sidecar adds it."
    assert done["deliveredMs"] < 2000, f"delivered {done['deliveredMs']} ms after coming back online"
    assert done["problemsHidden"]
    assert couch.db(settings.movies_db).get("tmdb:604")["requested"]["by"] == "ann"
    assert fake_radarr.creations[604] == 1
    # CouchDB out of reach, the browser online: the failed push is what says offline
    down = steps["server-unreachable"]
    assert down["online"] is True and down["sync"] == {"state": "offline", "text": "offline"}, down
    assert down["item"]["state"] == "unsent" and down["item"]["badge"] == "waiting to sync", down
    assert down["message"] == "Saved “The Matrix Revolutions” on this device; it will be sent when you are online.", down
    # the back-off is at most 3 s (PouchDB's own grows to minutes); some room for a busy machine
    assert done["backMs"] < 6000, f"delivered {done['backMs']} ms after CouchDB answered again (back-off ≤ 3 s)"
    assert fake_radarr.creations[605] == 1
    others = _expected_console_errors(done["consoleErrors"], "ERR_INTERNET_DISCONNECTED", "ERR_CONNECTION_REFUSED")
    assert others == [], others


def test_page_never_lets_one_wish_block_the_others(browser_node, settings, couch, couch_server, fake_radarr,
                                                   start_worker, tmp_path):
    """A wish the page's own check refuses is never written; wishes that got into the local
    database anyway and that the server can never take (9 MB, an unknown field, one the server
    refuses whole with 413 as CouchDB 3 does for a whole _bulk_docs) are shown as "cannot be sent"
    with Discard, and every wish after them still arrives."""
    node = browser_node
    start_worker()
    ARTIFACTS.mkdir(exist_ok=True)
    url, auth = couch_server
    dbs = (settings.movies_buffer_db, settings.movies_db, settings.series_buffer_db, settings.series_db,
           settings.lookups_db)  # the page's title search (web/search.js) syncs it too
    buffer = couch.db(settings.movies_buffer_db)
    with member_user(url, auth, dbs) as user, serve(build_app(settings)) as web, cors_allowing(url, auth, web):
        script = BrowserScript(node, {
            "url": f"{web}/app/", "chromium": CHROMIUM, "userDataDir": str(tmp_path / "chromium-profile"),
            "screenshotDir": str(ARTIFACTS), "scenario": "unsendable", "failingId": 0, "timeoutMs": 20000,
            "signIn": user, "bufferDb": settings.movies_buffer_db,
        }, ARTIFACTS / "browser-unsendable.log")
        try:
            ev = script.next_event(120)
            assert ev == {"event": "wait", "for": "discarded"}
            # the discarded wishes' tombstones reach the server (9413's: 9001 and 9002 were never there)
            def discarded_on_server():
                try:
                    leaves = _leaves(url, settings.movies_buffer_db, "tmdb:9413", auth)
                except requests.HTTPError:
                    return False
                return bool(leaves) and all(leaf.get("_deleted") for leaf in leaves)
            wait_for(discarded_on_server, timeout=15, message="the discard of tmdb:9413 on the server")
            assert [leaf.get("merged_into") for leaf in _leaves(url, settings.movies_buffer_db, "tmdb:9413", auth)] \
                == ["discarded"]
            script.answer()
            done = script.next_event(60)
            assert done["event"] == "done"
        finally:
            script.close()
            script.save_steps(ARTIFACTS / "browser-unsendable-steps.json")

    steps = script.steps
    # (a) refused by the page's own check: a readable message, nothing written
    assert steps["checked"]["message"] == "title is longer than 500 characters (it has 501)", steps["checked"]
    assert steps["checked"]["local"] == {"tmdb:9000": None}, steps["checked"]
    # (b) in the local database anyway: left out of the push with the reason, Discard offered
    left = steps["left-out"]["items"]
    assert left["tmdb:9001"]["state"] == "unsendable" and left["tmdb:9001"]["badge"] == "cannot be sent", left
    assert left["tmdb:9001"]["unsendable"].startswith("Cannot be sent: a wish is at most 16 KB of JSON; this one is 9,"), left
    assert left["tmdb:9002"]["unsendable"].startswith("Cannot be sent: poster is not a field of a wish"), left
    assert left["tmdb:9001"]["actions"] == ["discard"] and left["tmdb:9002"]["actions"] == ["discard"], left
    assert steps["left-out"]["problems"].startswith("Some changes cannot be sent (2):"), steps["left-out"]
    # (c) refused whole by the server: found, named, left out; the wish written with it arrived
    isolated = steps["isolated"]
    assert isolated["problems"]["ids"] == ["tmdb:9001", "tmdb:9002", "tmdb:9413"], isolated
    assert isolated["problems"]["text"] == "Some changes cannot be sent (3):", isolated
    assert isolated["problems"]["items"]["tmdb:9413"].startswith(
        "tmdb:9413 (Refused Whole): the server refuses it as too large (document_too_large: tmdb:9413)"), isolated
    assert isolated["item"]["state"] == "unsendable" and isolated["item"]["actions"] == ["discard"], isolated
    assert any("tmdb:9414" in batch for batch in isolated["refusedWhole"]), isolated  # it was held up at first
    # what reached the server and Radarr: every good wish, none of the others
    for tmdb in (9003, 9414):
        assert couch.db(settings.movies_db).get(f"tmdb:{tmdb}")["status"] == "wanted"
        assert fake_radarr.creations[tmdb] == 1
    for tmdb in (9000, 9001, 9002, 9413):
        assert couch.db(settings.movies_db).get(f"tmdb:{tmdb}") is None
        assert buffer.get(f"tmdb:{tmdb}") is None
        assert fake_radarr.creations[tmdb] == 0
    # Discard took them off this device too
    assert {k: v for k, v in done["local"].items() if v and not v["deleted"]} == {}, done["local"]
    # 413: the simulated refusal; 404: Discard asking the server for a wish it never had
    others = _expected_console_errors(done["consoleErrors"], "status of 413", "?revs=true&open_revs=all")
    assert others == [], others


def test_page_names_a_cors_origin_couchdb_does_not_allow(browser_node, settings, couch_server, tmp_path):
    """The page opened from http://localhost:<port> while CouchDB allows http://127.0.0.1:<port>
    only: the page names its origin and where to add it, on the page and at sign-in."""
    node = browser_node
    ARTIFACTS.mkdir(exist_ok=True)
    url, auth = couch_server
    with serve(build_app(settings)) as web, cors_allowing(url, auth, web):
        blocked = web.replace("127.0.0.1", "localhost")
        if _preflight_ok(url, blocked):
            pytest.skip(f"the server's CORS settings allow {blocked} (origins = *?)")
        script = BrowserScript(node, {
            "url": f"{blocked}/app/", "chromium": CHROMIUM, "userDataDir": str(tmp_path / "chromium-profile"),
            "screenshotDir": str(ARTIFACTS), "scenario": "cors", "failingId": 0, "timeoutMs": 15000,
        }, ARTIFACTS / "browser-cors.log")
        try:
            done = script.next_event(60)
            assert done["event"] == "done"
        finally:
            script.close()
            script.save_steps(ARTIFACTS / "browser-cors-steps.json")
    expected = (f"This page's origin {blocked} is not allowed by CouchDB's CORS settings: add it to cors/origins "
                "(docs/frontend.md)")
    assert done["origin"] == blocked
    assert done["text"] == expected, done
    assert done["signinMessage"] == expected, done
    assert done["sync"] == {"state": "cors", "text": "blocked by CORS"}, done
    others = _expected_console_errors(done["consoleErrors"], "CORS policy", "net::ERR_FAILED")
    assert others == [], others
