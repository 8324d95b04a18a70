"""The README's run command, as a new user types it: it brings up the local server, the fake
Radarr/Sonarr, the worker and the web app, and a wish written with plain HTTP arrives."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests

from tests.conftest import ROOT, free_port, wait_for


def test_run_command_moves_a_wish_end_to_end(tmp_path):
    ports = {name: free_port() for name in ("couch", "web", "radarr", "sonarr")}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("COUCHDB", "RADARR", "SONARR", "WEBHOOK", "RECONCILE"))}
    log = open(tmp_path / "run.log", "w+b")
    proc = subprocess.Popen(
        [sys.executable, "scripts/dev.py", "run", "--couch-port", str(ports["couch"]), "--web-port", str(ports["web"]),
         "--radarr-port", str(ports["radarr"]), "--sonarr-port", str(ports["sonarr"]),
         "--data-dir", str(tmp_path / "var"), "--env-file", str(tmp_path / "no.env")],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    couch = f"http://127.0.0.1:{ports['couch']}"
    try:
        def up():
            try:
                return requests.get(f"http://127.0.0.1:{ports['web']}/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(up, timeout=90, interval=0.5, message="dev run ready")
        output = (tmp_path / "run.log").read_text()
        assert "using the bundled FAKE Radarr" in output
        wish = {"type": "movie", "tmdbId": 603, "title": "The Matrix", "action": "download",
                "requested_at": "2026-11-25T10:00:00Z"}
        t0 = time.monotonic()
        assert requests.put(f"{couch}/movies_buffer/tmdb:603", json=wish, timeout=5).status_code == 201
        doc = wait_for(lambda: (r := requests.get(f"{couch}/movies/tmdb:603", timeout=5)).ok and r.json(),
                       timeout=5, interval=0.01, message="collection doc")
        assert time.monotonic() - t0 < 1.0, "a wish should arrive within a second"
        assert doc["status"] == "wanted" and doc["radarrId"] > 0
        assert requests.get(f"{couch}/movies_buffer/tmdb:603", timeout=5).status_code == 404
        radarr = requests.get(f"http://127.0.0.1:{ports['radarr']}/api/v3/movie", params={"tmdbId": 603},
                              headers={"X-Api-Key": "fake-radarr-key"}, timeout=5).json()
        assert [m["tmdbId"] for m in radarr] == [603]
        bad = requests.put(f"{couch}/movies_buffer/tmdb:1", json=dict(wish, tmdbId=2), timeout=5)
        assert bad.status_code == 403 and bad.json()["reason"] == '_id must be "tmdb:2" (tmdb:<tmdbId>)'
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0
