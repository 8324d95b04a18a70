#!/usr/bin/env python3
"""Start the local CouchDB-compatible server (pouchdb-server, pinned in package.json).

For development and tests only: pouchdb-server differs from CouchDB 3 in places (integer seqs,
gzip buffering of continuous feeds, `filter=_selector` crashes it), so it is never the production
database the frontend talks to.

    python scripts/local_couch.py [--port 5984] [--dir var/couchdb | --in-memory]

CORS is on, so that a browser app served from another origin (the sidecar's page on :8000, an
Ionic dev server...) can replicate with credentials: the allowed origins come from CORS_ORIGINS
(comma list; "*" = any), default http://127.0.0.1:8000 and http://localhost:8000. They are
written into pouchdb-server's config file (httpd.enable_cors, cors.origins, cors.credentials...,
the same keys as CouchDB 3's local.ini) and can be changed at run time through /_config/cors/origins.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "node_modules" / ".bin" / "pouchdb-server"

DEFAULT_CORS_ORIGINS = ("http://127.0.0.1:8000", "http://localhost:8000")
# what a browser PouchDB sends and needs to read (CouchDB 3's defaults, plus Authorization for basic auth)
CORS_METHODS = "GET, HEAD, POST, PUT, DELETE, COPY, OPTIONS"
CORS_HEADERS = "accept, accept-language, content-language, content-type, authorization, origin, referer, x-requested-with"


# Loaded into pouchdb-server with `node --require` (nothing in node_modules is changed): fixes
# pouchdb-validation 4.2.0, which overwrites a replicated document's own `_revisions` with those of
# the stored version before validate_doc_update runs, so that `_bulk_docs` with new_edits=false
# silently drops every *update* (a frontend's edit, "send again" of a failed wish, withdrawing a
# wish) in any database with a validate_doc_update. CouchDB 3 stores them.
SERVER_FIXES_JS = r"""
'use strict';
const fs = require('fs');
const Module = require('module');
const BUG = 'newDoc._revisions = (oldDoc || {})._revisions;';
const FIX = 'if (!newDoc._revisions) { newDoc._revisions = (oldDoc || {})._revisions; }';
const loadJs = Module._extensions['.js'];
Module._extensions['.js'] = function (module, filename) {
  if (/[\\/]pouchdb-validation[\\/]lib[\\/]index\.js$/.test(filename)) {
    const src = fs.readFileSync(filename, 'utf8');
    if (src.includes(BUG)) return module._compile(src.replace(BUG, FIX), filename);
  }
  return loadJs(module, filename);
};
"""


def cors_origins_from_env(env: dict | None = None) -> tuple[str, ...]:
    """CORS_ORIGINS (comma list) or the dev default (the sidecar's page on :8000)."""
    raw = (env if env is not None else os.environ).get("CORS_ORIGINS", "")
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    return origins or DEFAULT_CORS_ORIGINS


def write_config(config_path: Path, cors_origins=None, admins: dict[str, str] | None = None) -> dict:
    """Merge the CORS (and optional admin) settings into pouchdb-server's JSON config file,
    keeping whatever else is in it (log settings, admins hashed by an earlier run...)."""
    config: dict = {}
    if config_path.exists():
        try:
            config = json.loads(config_path.read_text(encoding="utf-8") or "{}")
        except ValueError:
            config = {}
    origins = tuple(cors_origins) if cors_origins is not None else cors_origins_from_env()
    config.setdefault("httpd", {})["enable_cors"] = True
    config["cors"] = {
        # pouchdb-server splits this on ", " exactly (CouchDB 3 on ","): keep the ", " form
        "origins": "*" if "*" in origins else ", ".join(origins),
        "credentials": True,
        "methods": CORS_METHODS,
        "headers": CORS_HEADERS,
    }
    if admins:
        # plain passwords here; pouchdb-server hashes them in the file when it starts
        config.setdefault("admins", {}).update(admins)
    tmp = config_path.with_name(config_path.name + ".tmp")
    tmp.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, config_path)
    return config


def ensure_installed() -> None:
    if BIN.exists():
        return
    npm = shutil.which("npm")
    if not npm:
        sys.exit("local_couch: npm is not installed; install Node.js (it brings npm)")
    print("installing pouchdb-server (npm ci, about a minute the first time)...", flush=True)
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True)


def start(port: int = 5984, data_dir: str | Path | None = None, in_memory: bool = False,
          log_path: str | Path | None = None, timeout: float = 60, *,
          cors_origins=None, admins: dict[str, str] | None = None) -> subprocess.Popen:
    """Start pouchdb-server and wait until it answers; returns the process.

    cors_origins: origins allowed to replicate from a browser (default: CORS_ORIGINS or :8000).
    admins: {name: password} server admins; with any, the "admin party" (everyone is _admin)
    is over and anonymous / plain users are subject to validate_doc_update like on CouchDB.
    """
    ensure_installed()
    workdir = Path(data_dir) if data_dir else ROOT / "var" / "couchdb"
    workdir.mkdir(parents=True, exist_ok=True)
    write_config(workdir / "config.json", cors_origins, admins)
    # pouchdb-server writes config.json and its log next to the data: keep them in workdir
    cmd = [str(BIN), "--port", str(port), "--host", "127.0.0.1", "--dir", str(workdir),
           "--config", str(workdir / "config.json"), "--no-stdout-logs"]
    if in_memory:
        cmd.append("--in-memory")
    fixes = workdir / "pouchdb-server-fixes.js"
    fixes.write_text(SERVER_FIXES_JS, encoding="utf-8")
    env = dict(os.environ)
    env["NODE_OPTIONS"] = (env.get("NODE_OPTIONS", "") + f' --require "{fixes}"').strip()
    log = open(log_path or workdir / "server.log", "ab")
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env=env)
    url = f"http://127.0.0.1:{port}"
    auth = next(iter(admins.items())) if admins else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"pouchdb-server exited with {proc.returncode}; see {log.name}")
        try:
            if requests.get(url + "/", timeout=1, auth=auth).ok:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"pouchdb-server did not answer on {url} within {timeout} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=5984)
    parser.add_argument("--dir", default=str(ROOT / "var" / "couchdb"))
    parser.add_argument("--in-memory", action="store_true")
    args = parser.parse_args()
    proc = start(args.port, args.dir, args.in_memory)
    print(f"pouchdb-server on http://127.0.0.1:{args.port} (pid {proc.pid}, data in {args.dir}; "
          f"CORS origins: {', '.join(cors_origins_from_env())})", flush=True)
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
    return proc.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
