#!/usr/bin/env python3
"""Push the design documents in couch/_design/ to CouchDB.

Creates missing databases, writes each design doc only when its content changed, and prints
created / updated / unchanged per doc. Exit 0 on success, 1 with a clear message when CouchDB is
unreachable or refuses.

    python scripts/push_design.py [--dry-run]      (COUCHDB_URL etc. from the environment / .env)
"""
from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sidecar.config import ConfigError, load_settings  # noqa: E402
from sidecar.design import push_all  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="say what would change, write nothing")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"push_design: configuration error: {exc}", file=sys.stderr)
        return 1
    import couchdb

    try:
        results = push_all(settings, dry_run=args.dry_run)
    except (ConnectionError, socket.error, OSError) as exc:
        print(f"push_design: cannot reach CouchDB at {settings.couchdb_url}: {exc.__class__.__name__}: "
              f"{getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 1
    except couchdb.http.Unauthorized:
        print(f"push_design: CouchDB at {settings.couchdb_url} refused the credentials (401); "
              "set COUCHDB_USER/COUCHDB_PASSWORD to an admin", file=sys.stderr)
        return 1
    except couchdb.http.ServerError as exc:
        print(f"push_design: CouchDB at {settings.couchdb_url} refused: {exc}", file=sys.stderr)
        return 1
    except couchdb.http.ResourceNotFound as exc:
        print(f"push_design: CouchDB at {settings.couchdb_url} answered not found: {exc}", file=sys.stderr)
        return 1
    except couchdb.http.HTTPError as exc:
        print(f"push_design: CouchDB at {settings.couchdb_url} refused: {exc}", file=sys.stderr)
        return 1
    for r in results:
        extra = " (database created)" if r.db_created else ""
        print(f"{r.outcome:12} {r.db}/_design/{r.ddoc}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
