"""Standalone demo: fake Radarr and Sonarr on fixed ports until killed.

    python -m tests.fakes.servarr --radarr-port 7878 --sonarr-port 8989
"""
from __future__ import annotations

import argparse
import signal
import threading

from .radarr import FakeRadarr
from .sonarr import FakeSonarr


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fakes.servarr",
                                description="Run fake Radarr and Sonarr (API v3) until killed.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--radarr-port", type=int, default=7878)
    p.add_argument("--sonarr-port", type=int, default=8989)
    p.add_argument("--radarr-key", default="test-radarr-key")
    p.add_argument("--sonarr-key", default="test-sonarr-key")
    p.add_argument("--seed-movies", type=int, default=0, help="seed the library with N movies (tmdbId 1..N)")
    p.add_argument("--seed-series", type=int, default=0, help="seed the library with N series (tvdbId 1..N)")
    p.add_argument("--delay", type=float, default=0.0, help="seconds before every API answer")
    p.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    args = p.parse_args(argv)

    radarr = FakeRadarr(api_key=args.radarr_key)
    sonarr = FakeSonarr(api_key=args.sonarr_key)
    for fake, port, seed in ((radarr, args.radarr_port, args.seed_movies), (sonarr, args.sonarr_port, args.seed_series)):
        fake.verbose = args.verbose
        fake.delay = args.delay
        if seed:
            fake.add_many(seed, has_file=lambda i: i % 3 == 0)
        fake.start(args.host, port)
    print(f"Fake Radarr {radarr.VERSION}: {radarr.url}  api key: {radarr.api_key}", flush=True)
    print(f"Fake Sonarr {sonarr.VERSION}: {sonarr.url}  api key: {sonarr.api_key}", flush=True)
    print("Ctrl-C to stop.", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    radarr.stop()
    sonarr.stop()
    return 0
