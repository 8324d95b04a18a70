"""Test fixtures: a real CouchDB-compatible server, fake Radarr/Sonarr over HTTP, fresh
databases per test.

- The server is pouchdb-server (in memory) started once per session, or the CouchDB named by
  COUCHDB_URL (with COUCHDB_USER / COUCHDB_PASSWORD) when that is set: the suite runs unchanged
  against a real CouchDB 3.
- Each test gets its own four databases (unique names) with the design docs pushed.
"""
from __future__ import annotations

import dataclasses
import itertools
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import threading  # noqa: E402

import requests  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from sidecar.app import create_app  # noqa: E402
from sidecar.config import ArrInstance, Settings, to_env  # noqa: E402
from sidecar.couch import Couch  # noqa: E402
from sidecar.design import push_all  # noqa: E402


# what the `settings` fixture configures for webhooks (basic auth) and /reconcile (bearer token)
WEBHOOK_AUTH = ("radarr", "hook-secret-pw")
RECONCILE_AUTH = {"Authorization": "Bearer reconcile-secret-token"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def couch_server(tmp_path_factory):
    """(url, auth) of the server under test."""
    if os.environ.get("COUCHDB_URL"):
        from sidecar.config import load_settings

        s = load_settings(dict(os.environ))
        yield s.couchdb_url, s.couch_auth
        return
    import local_couch

    port = free_port()
    workdir = tmp_path_factory.mktemp("pouchdb")
    proc = local_couch.start(port, workdir, in_memory=True)
    yield f"http://127.0.0.1:{port}", None
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def couch(couch_server) -> Couch:
    url, auth = couch_server
    return Couch(url, auth)


@pytest.fixture(scope="session")
def fake_radarr():
    from tests.fakes.servarr import FakeRadarr

    fake = FakeRadarr().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def fake_sonarr():
    from tests.fakes.servarr import FakeSonarr

    fake = FakeSonarr().start()
    yield fake
    fake.stop()


_counter = itertools.count()


@pytest.fixture
def settings(couch_server, couch, fake_radarr, fake_sonarr) -> Settings:
    """Settings for one test: fresh databases, both fakes as the default instances, short
    timeouts and retry delays so that behaviour shows within a test's time."""
    fake_radarr.reset()
    fake_sonarr.reset()
    url, auth = couch_server
    prefix = f"t{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    s = Settings(
        couchdb_url=url,
        couchdb_user=auth[0] if auth else None,
        couchdb_password=auth[1] if auth else None,
        movies_buffer_db=f"{prefix}_movies_buffer", movies_db=f"{prefix}_movies",
        series_buffer_db=f"{prefix}_series_buffer", series_db=f"{prefix}_series", sidecar_db=f"{prefix}_sidecar",
        lookups_db=f"{prefix}_lookups",
        radarr=(ArrInstance("radarr", "default", fake_radarr.url, fake_radarr.api_key, 1, "/movies"),),
        sonarr=(ArrInstance("sonarr", "default", fake_sonarr.url, fake_sonarr.api_key, 1, "/tv"),),
        webhook_user=WEBHOOK_AUTH[0], webhook_password=WEBHOOK_AUTH[1],
        reconcile_token=RECONCILE_AUTH["Authorization"].split()[1],
        worker_id=f"w-{prefix}",
        arr_timeout=2.0, claim_timeout=30.0, retry_base=0.2, retry_max=2.0, scan_interval=0.2,
    )
    push_all(s)
    yield s
    for db in (s.movies_buffer_db, s.movies_db, s.series_buffer_db, s.series_db, s.sidecar_db, s.lookups_db):
        couch.db(db).delete_db()


def replace(settings: Settings, **kw) -> Settings:
    return dataclasses.replace(settings, **kw)


@pytest.fixture
def start_worker(settings):
    """start_worker(**overrides) -> a running in-process Worker, stopped at teardown."""
    from sidecar.worker import Worker

    workers = []

    def start(**overrides):
        w = Worker(replace(settings, **overrides) if overrides else settings).start()
        workers.append(w)
        return w

    yield start
    for w in workers:
        w.stop()


class Sidecar:
    """The Flask app on a real HTTP server in a thread."""

    def __init__(self, settings):
        self.settings = settings
        self.app = create_app(settings)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def hook(self, arr: str, payload, *, instance: str | None = None, auth=WEBHOOK_AUTH, method="POST", **kw):
        url = f"{self.url}/webhooks/{arr}" + (f"/{instance}" if instance else "")
        if "data" not in kw:
            kw["json"] = payload
        return requests.request(method, url, auth=auth, timeout=10, **kw)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sidecar(settings):
    servers = []

    def start(settings_=None):
        s = Sidecar(settings_ or settings)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def web(sidecar):
    return sidecar()


def settings_env(s: Settings) -> dict:
    """Environment that makes `python -m sidecar ...` use these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RADARR", "SONARR", "COUCHDB"))}
    env.update(to_env(s))
    env["PYTHONPATH"] = str(ROOT)
    return env


@pytest.fixture
def worker_process(settings, tmp_path):
    """worker_process(env_extra) -> a `python -m sidecar worker` subprocess (killed at teardown)."""
    procs = []

    def start(settings_=None, **env_extra):
        env = settings_env(settings_ or settings)
        env.update({k: str(v) for k, v in env_extra.items()})
        log = open(tmp_path / f"worker{len(procs)}.log", "ab")
        p = subprocess.Popen([sys.executable, "-m", "sidecar", "worker"], cwd=ROOT, env=env,
                             stdout=log, stderr=subprocess.STDOUT)
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(10)


def wait_for(predicate, timeout=10.0, interval=0.05, message="condition"):
    """Poll until predicate() is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


def movie_request(tmdb_id: int, action="download", **extra) -> dict:
    doc = {"_id": f"tmdb:{tmdb_id}", "type": "movie", "tmdbId": tmdb_id, "title": f"Movie {tmdb_id}",
           "year": 2001, "action": action, "requested_at": "2026-11-25T10:00:00Z"}
    doc.update(extra)
    return doc


def series_request(tvdb_id: int, action="download", **extra) -> dict:
    doc = {"_id": f"tvdb:{tvdb_id}", "type": "series", "tvdbId": tvdb_id, "title": f"Series {tvdb_id}",
           "action": action, "requested_at": "2026-11-25T10:00:00Z"}
    doc.update(extra)
    return doc
