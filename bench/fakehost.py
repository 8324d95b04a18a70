"""Fake Radarr + Sonarr in their own process, steered over stdin/stdout (one JSON line each way).

The benchmarks keep the fakes out of the measuring process so that serving them does not
compete for the measuring process's GIL (the follower timestamps would suffer on 2 cores).

    python bench/fakehost.py        -> prints {"radarr": {url, api_key}, "sonarr": {...}}
    then reads commands such as {"op": "set", "fake": "radarr", "attr": "delay", "value": 0.05}
"""
from __future__ import annotations

import collections
import json
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes import servarr  # noqa: E402
from tests.fakes.servarr import FakeRadarr, FakeSonarr  # noqa: E402


def nodelay() -> None:
    """TCP_NODELAY on every accepted connection, as Kestrel (real Radarr/Sonarr) has by default.

    The fake's handler writes the headers and the body of a response in two send()s; with Nagle
    on, the body waits for the client's delayed ACK of the headers: ~40 ms added to EVERY
    answer on Linux loopback (measured: 44 ms median per request without, 0.8 ms with). That
    would make "the fake answering at once" a 44 ms fake and hide the sidecar's own latency."""
    setup = servarr._Handler.setup

    def setup_nodelay(self):
        setup(self)
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    servarr._Handler.setup = setup_nodelay


def main() -> int:
    if "--as-is" not in sys.argv:
        nodelay()
    fakes = {"radarr": FakeRadarr(api_key="bench-radarr-key").start(),
             "sonarr": FakeSonarr(api_key="bench-sonarr-key").start()}
    print(json.dumps({k: {"url": f.url, "api_key": f.api_key} for k, f in fakes.items()}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        op = cmd["op"]
        fake = fakes.get(cmd.get("fake", ""))
        try:
            if op == "set":
                setattr(fake, cmd["attr"], cmd["value"])
                result = None
            elif op == "reset":
                for f in fakes.values():
                    f.reset()
                result = None
            elif op == "add_many":
                t0 = time.perf_counter()
                has_file_every = cmd.get("has_file_every") or 0
                got = fake.add_many(cmd["n"], start_id=cmd.get("start_id", 1),
                                    has_file=(lambda i: i % has_file_every == 0) if has_file_every else False)
                result = {"added": len(got), "seconds": time.perf_counter() - t0}
            elif op == "stats":
                with fake._lock:
                    by = collections.Counter(f"{r['method']} {r['path']}" for r in fake.requests_log)
                    times = sorted(r["time"] for r in fake.requests_log if r["method"] == "POST")
                    result = {"requests": dict(by), "creations": sum(fake.creations.values()),
                              "library": len(fake.library),
                              "first_post": times[0] if times else None, "last_post": times[-1] if times else None}
            elif op == "clear_log":
                with fake._lock:
                    fake.requests_log.clear()
                result = None
            elif op == "stop":
                break
            else:
                raise ValueError(f"unknown op {op!r}")
            print(json.dumps({"ok": True, "result": result}), flush=True)
        except Exception as exc:  # report, keep serving
            print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
    for f in fakes.values():
        f.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
