#!/usr/bin/env python3
"""Start the local CouchDB-compatible server (pouchdb-server, pinned in package.json).

For development and tests only: pouchdb-server differs from CouchDB 3 in places (integer seqs,
gzip buffering of continuous feeds, `filter=_selector` crashes it), so it is never the production
database the frontend talks to.

    python scripts/local_couch.py [--port 5984] [--dir var/couchdb | --in-memory]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "node_modules" / ".bin" / "pouchdb-server"


def ensure_installed() -> None:
    if BIN.exists():
        return
    npm = shutil.which("npm")
    if not npm:
        sys.exit("local_couch: npm is not installed; install Node.js (it brings npm)")
    print("installing pouchdb-server (npm ci, about a minute the first time)...", flush=True)
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True)


def start(port: int = 5984, data_dir: str | Path | None = None, in_memory: bool = False,
          log_path: str | Path | None = None, timeout: float = 60) -> subprocess.Popen:
    """Start pouchdb-server and wait until it answers; returns the process."""
    ensure_installed()
    workdir = Path(data_dir) if data_dir else ROOT / "var" / "couchdb"
    workdir.mkdir(parents=True, exist_ok=True)
    # pouchdb-server writes config.json and its log next to the data: keep them in workdir
    cmd = [str(BIN), "--port", str(port), "--host", "127.0.0.1", "--dir", str(workdir),
           "--config", str(workdir / "config.json"), "--no-stdout-logs"]
    if in_memory:
        cmd.append("--in-memory")
    log = open(log_path or workdir / "server.log", "ab")
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"pouchdb-server exited with {proc.returncode}; see {log.name}")
        try:
            if requests.get(url + "/", timeout=1).ok:
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
    print(f"pouchdb-server on http://127.0.0.1:{args.port} (pid {proc.pid}, data in {args.dir})", flush=True)
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
    return proc.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
