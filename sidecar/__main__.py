"""Command line: `python -m sidecar worker | web | reconcile`.

- worker: the buffer → Radarr/Sonarr → collection mover (one process; run one or several)
- web: the Flask app under gunicorn (webhooks, /reconcile, health, metrics)
- reconcile: one full reconcile from the command line (what cron's curl to /reconcile does)
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys

from .config import ConfigError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sidecar", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("worker", help="follow the buffer databases and move titles")
    w.add_argument("--metrics-port", type=int, default=int(os.environ.get("WORKER_METRICS_PORT", "0") or 0),
                   help="serve Prometheus metrics on this port (0: off)")
    web = sub.add_parser("web", help="serve the web app with gunicorn")
    web.add_argument("--bind", default=os.environ.get("SIDECAR_BIND", "127.0.0.1:8000"))
    # one process with threads: /metrics counters stay whole and a long /reconcile blocks no webhook
    web.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "1")))
    sub.add_parser("reconcile", help="sync the whole Radarr/Sonarr libraries into the collection once")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2

    if args.command == "worker":
        from .logs import setup_logging
        from .worker import Worker

        setup_logging(settings)
        if args.metrics_port:
            from prometheus_client import start_http_server

            start_http_server(args.metrics_port, addr="0.0.0.0")
        worker = Worker(settings)
        signal.signal(signal.SIGTERM, lambda *_: worker.stop_event.set())
        return 0 if worker.run_forever() else 1
    if args.command == "web":
        os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--bind", args.bind, "--workers",
                                   str(args.workers), "--threads", "8", "--timeout", "300",
                                   "--access-logfile", "-", "sidecar.app:create_app()"])
    if args.command == "reconcile":
        from .logs import setup_logging
        from .reconcile import run_reconcile

        setup_logging(settings)
        result = run_reconcile(settings)
        print(json.dumps(result, indent=2))
        return 0 if not result.get("errors") else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
