#!/usr/bin/env python3
"""The two commands of the README.

    python3 scripts/dev.py run    set everything up and run the sidecar on the local default
    python3 scripts/dev.py test   set everything up and run the test suite (extra args go to pytest)
    python3 scripts/dev.py bench  set everything up and print the performance figures (extra args go to
                                  bench/run.py, e.g. --quick; see docs/benchmarks.md)

Set-up (both): a virtualenv in .venv with the Python packages, pouchdb-server from package-lock.json.
`run` then starts, unless .env / the environment point elsewhere: pouchdb-server on disk
(var/couchdb, port 5984), the bundled FAKE Radarr/Sonarr (ports 7878/8989) when no RADARR_URL /
SONARR_URL is configured, pushes the design docs, and runs the worker and the web app (gunicorn,
port 8000) until Ctrl-C.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
VPY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def say(msg: str) -> None:
    print(f"[dev] {msg}", flush=True)


def ensure_python_env() -> None:
    """Create .venv and install the project (with test extras) when pyproject.toml changed."""
    if not VPY.exists():
        say("creating .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / ".installed"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != want:
        say("installing Python packages into .venv")
        subprocess.run([str(VPY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-e", f"{ROOT}[test]"], check=True)
        stamp.write_text(want)


def ensure_node_env() -> None:
    """Install pouchdb-server from the lock file when it changed."""
    stamp = ROOT / "node_modules" / ".installed"
    want = hashlib.sha256((ROOT / "package-lock.json").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == want:
        return
    npm = shutil.which("npm")
    if not npm:
        sys.exit("[dev] npm not found: install Node.js 18+ (it brings npm)")
    say("installing pouchdb-server (npm ci)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True)
    stamp.write_text(want)


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def wait_http(url: str, timeout: float = 30) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"[dev] {url} did not answer within {timeout} s")


def run(args: list[str]) -> int:
    import argparse

    from dotenv import load_dotenv

    parser = argparse.ArgumentParser(prog="scripts/dev.py run")
    parser.add_argument("--couch-port", type=int, default=5984)
    parser.add_argument("--web-port", type=int, default=8000)
    parser.add_argument("--radarr-port", type=int, default=7878)
    parser.add_argument("--sonarr-port", type=int, default=8989)
    parser.add_argument("--data-dir", default=str(ROOT / "var"), help="pouchdb-server data and logs")
    parser.add_argument("--env-file", default=str(ROOT / ".env"), help="settings file (default .env)")
    opts = parser.parse_args(args)

    sys.path.insert(0, str(ROOT / "scripts"))
    import local_couch

    load_dotenv(opts.env_file, override=False)
    env = dict(os.environ)
    children: list[subprocess.Popen] = []
    logs = Path(opts.data_dir) / "log"
    logs.mkdir(parents=True, exist_ok=True)

    if not env.get("COUCHDB_URL"):
        couch_dir = Path(opts.data_dir) / "couchdb"
        say(f"COUCHDB_URL not set: starting the local pouchdb-server (on disk, {couch_dir}) on http://127.0.0.1:{opts.couch_port}")
        say("  (pouchdb-server is for development; production is CouchDB 3, see README)")
        # the page the sidecar serves replicates from the browser: allow its origin too
        page = (f"http://127.0.0.1:{opts.web_port}", f"http://localhost:{opts.web_port}")
        origins = tuple(dict.fromkeys(local_couch.cors_origins_from_env() + page))
        children.append(local_couch.start(opts.couch_port, couch_dir, cors_origins=origins))
        env["COUCHDB_URL"] = f"http://127.0.0.1:{opts.couch_port}"
    else:
        say("using CouchDB from COUCHDB_URL")

    if not env.get("RADARR_URL") and not env.get("SONARR_URL"):
        rp, sp = opts.radarr_port, opts.sonarr_port
        say(f"*** no RADARR_URL / SONARR_URL configured: using the bundled FAKE Radarr ({rp}) and Sonarr ({sp}) ***")
        say("*** titles are 'added' to in-memory fakes; put your real ones in .env (see .env.example) ***")
        env.update(RADARR_URL=f"http://127.0.0.1:{rp}", RADARR_API_KEY="fake-radarr-key",
                   SONARR_URL=f"http://127.0.0.1:{sp}", SONARR_API_KEY="fake-sonarr-key")
        children.append(subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.servarr", "--radarr-port", str(rp), "--sonarr-port", str(sp),
             "--radarr-key", "fake-radarr-key", "--sonarr-key", "fake-sonarr-key"],
            cwd=ROOT, env=env, stdout=open(logs / "fakes.log", "ab"), stderr=subprocess.STDOUT,
            start_new_session=True))
        wait_http(f"http://127.0.0.1:{rp}/ping")
    for name in ("WEBHOOK_PASSWORD", "RECONCILE_TOKEN"):
        if not env.get(name):
            env[name] = secrets.token_urlsafe(18)
            say(f"{name} not set: generated one for this run (set it in .env to keep it)")

    def stop(*_):
        # one at a time, newest first: the web app and the worker finish their CouchDB calls
        # before the fakes and the database go (children have their own sessions, so Ctrl-C
        # reaches only this script and the order holds)
        for p in reversed(children):
            if p.poll() is None:
                p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
    try:
        rc = subprocess.run([sys.executable, str(ROOT / "scripts" / "push_design.py")], cwd=ROOT, env=env).returncode
        if rc:
            stop()
            return rc
        children.append(subprocess.Popen([sys.executable, "-m", "sidecar", "worker"], cwd=ROOT, env=env,
                                         start_new_session=True))
        web = f"http://127.0.0.1:{opts.web_port}"
        children.append(subprocess.Popen([sys.executable, "-m", "sidecar", "web", "--bind", f"127.0.0.1:{opts.web_port}"],
                                         cwd=ROOT, env=env, start_new_session=True))
        wait_http(f"{web}/healthz")
        say(f"sidecar running: web {web} (healthz, readyz, metrics, webhooks, reconcile), worker following "
            f"{env.get('MOVIES_BUFFER_DB', 'movies_buffer')} and {env.get('SERIES_BUFFER_DB', 'series_buffer')}")
        say(f"the page: {web}/app/  (add titles, watch them arrive)")
        say(f"Fauxton-style look: {env['COUCHDB_URL']}/_utils  ·  Ctrl-C stops everything")
        while all(p.poll() is None for p in children):
            time.sleep(0.5)
        say("a process stopped; shutting down")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


def test(args: list[str]) -> int:
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=ROOT).returncode


def bench(args: list[str]) -> int:
    return subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), *args], cwd=ROOT).returncode


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "test", "bench"):
        print(__doc__)
        return 2
    if not in_venv():
        ensure_python_env()
        ensure_node_env()
        os.execv(str(VPY), [str(VPY), __file__, *sys.argv[1:]])
    command, rest = sys.argv[1], sys.argv[2:]
    return {"run": run, "test": test, "bench": bench}[command](rest)


if __name__ == "__main__":
    sys.exit(main())
