#!/usr/bin/env python3
"""The I/O floor of a reconcile: only the HTTP any reconcile must do, nothing else.

    python bench/floor_reconcile.py --couch URL --radarr URL KEY --sonarr URL KEY \
        --movies-db DB --series-db DB --mode import|unchanged

Per kind: GET the whole library (/api/v3/movie, /api/v3/series) and parse it; read the
collection with one `_all_docs?include_docs=true` and parse it; for `import`, one `_bulk_docs`
with a doc per title (built by a plain dict expression, the same fields a collection doc has),
or --batch N docs per `_bulk_docs` (pouchdb-server digests 20 x 500 faster than 1 x 10,000).
Prints one JSON line: {"seconds": total, "phases": {...}, "docs_written": n}. The clock starts
after the interpreter and imports are up, like the reconcile's own. CouchDB credentials, when
needed, come from the environment: COUCHDB_USER, COUCHDB_PASSWORD.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import requests

STAMP = "2026-01-01T00:00:00.000Z"


def collection_doc(kind: str, res: dict, instance: str = "default") -> dict:
    """A collection doc from a library entry: the shape sidecar/collection.py writes, built flat."""
    key, arr_key, prefix = ("tmdbId", "radarrId", "tmdb:") if kind == "movie" else ("tvdbId", "sonarrId", "tvdb:")
    stats = res.get("statistics") or {}
    if kind == "movie":
        has_file = bool(res.get("hasFile"))
        entry = {"id": res.get("id"), "monitored": bool(res.get("monitored")), "hasFile": has_file,
                 "sizeOnDisk": stats.get("sizeOnDisk", 0)}
    else:
        keep = ("seasonCount", "episodeFileCount", "episodeCount", "totalEpisodeCount", "sizeOnDisk", "percentOfEpisodes")
        entry = {"id": res.get("id"), "monitored": bool(res.get("monitored")),
                 "statistics": {k: stats[k] for k in keep if k in stats}}
        has_file = entry["statistics"].get("episodeFileCount", 0) > 0
        entry["hasFile"] = has_file
    doc = {"_id": f"{prefix}{res[key]}", "type": kind, key: res[key], "instances": {instance: entry},
           "hasFile": has_file, "grabbed": False, "created_at": STAMP, "title": res.get("title"),
           "year": res.get("year"), "imdbId": res.get("imdbId"), "titleSlug": res.get("titleSlug"),
           "instance": instance, arr_key: res.get("id"), "monitored": entry["monitored"],
           "status": "downloaded" if has_file else ("wanted" if entry["monitored"] else "unmonitored"),
           "source": "reconcile", "updated_at": STAMP}
    if kind == "series":
        doc["statistics"] = entry["statistics"]
    return doc


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--couch", required=True)
    p.add_argument("--radarr", nargs=2, metavar=("URL", "KEY"), required=True)
    p.add_argument("--sonarr", nargs=2, metavar=("URL", "KEY"), required=True)
    p.add_argument("--movies-db", required=True)
    p.add_argument("--series-db", required=True)
    p.add_argument("--mode", choices=("import", "unchanged"), required=True)
    p.add_argument("--batch", type=int, default=0,
                   help="import: docs per _bulk_docs (0: all of a kind in one request, the default)")
    args = p.parse_args(argv)

    couch = requests.Session()
    couch.headers["Accept"] = "application/json"
    if os.environ.get("COUCHDB_USER"):  # CouchDB 3: the benchmark's databases are admin-only
        couch.auth = (os.environ["COUCHDB_USER"], os.environ.get("COUCHDB_PASSWORD", ""))
    phases: dict[str, float] = {}
    written = 0
    t_start = time.perf_counter()
    for kind, (url, key), db in (("movie", args.radarr, args.movies_db), ("series", args.sonarr, args.series_db)):
        arr = requests.Session()
        arr.headers.update({"X-Api-Key": key, "Accept": "application/json"})
        t0 = time.perf_counter()
        library = arr.get(f"{url}/api/v3/{kind}", timeout=300).json()
        t1 = time.perf_counter()
        rows = couch.get(f"{args.couch}/{db}/_all_docs", params={"include_docs": "true"}, timeout=300).json()["rows"]
        t2 = time.perf_counter()
        phases[f"{kind}_list_s"] = t1 - t0
        phases[f"{kind}_all_docs_s"] = t2 - t1
        if args.mode == "import":
            docs = [collection_doc(kind, res) for res in library]
            size = args.batch or len(docs) or 1
            for i in range(0, len(docs), size):
                resp = couch.post(f"{args.couch}/{db}/_bulk_docs", json={"docs": docs[i:i + size]}, timeout=600)
                resp.raise_for_status()
                bad = [r for r in resp.json() if "error" in r]
                if bad:
                    print(f"floor: {len(bad)} docs refused, e.g. {bad[0]}", file=sys.stderr)
                written += len(docs[i:i + size]) - len(bad)
            phases[f"{kind}_bulk_s"] = time.perf_counter() - t2
        phases[f"{kind}_titles"] = len(library)
        phases[f"{kind}_collection_rows"] = len(rows)
    print(json.dumps({"seconds": time.perf_counter() - t_start, "phases": phases, "docs_written": written}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
