#!/usr/bin/env python3
"""The I/O floor of a reconcile: only the HTTP any reconcile must do, nothing else, paged as the
reconcile pages it (sidecar/reconcile.py), so that it stays a floor at any library size.

    python bench/floor_reconcile.py --couch URL --radarr URL KEY --sonarr URL KEY \
        --movies-db DB --series-db DB --mode import|unchanged [--page 500] [--id-page 5000]

Per kind, as the reconcile does it:
- GET the whole library (/api/v3/movie, /api/v3/series) and parse it as it streams in, with the
  reconcile's own parser (sidecar.reconcile.iter_json_array: the stdlib's C decoder element by
  element), every --page titles doing that chunk's CouchDB work before reading on;
- `import` (into an empty collection): one `_all_docs?limit=1` to see the collection is empty,
  then per chunk one `_bulk_docs` (a doc per title, built by a plain dict expression with the
  fields a collection doc has);
- `unchanged`: per chunk its collection docs by key (`POST _all_docs?include_docs=true` with the
  keys), parsed; then the whole collection by id only (`_all_docs` pages of --id-page rows, no
  docs): how the reconcile finds docs no listing names.
What the floor leaves out is the reconcile's own work: facts from each resource, merge, compare.

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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from sidecar.reconcile import iter_json_array  # noqa: E402  (the reconcile's own streaming parser)

STAMP = "2026-01-01T00:00:00.000Z"


def _pick(res: dict, *keys: str) -> dict:
    return {k: res[k] for k in keys if res.get(k) not in (None, "", [])}


def collection_doc(kind: str, res: dict, instance: str = "default") -> dict:
    """A collection doc from a library entry, built flat: the fields and the size of what
    sidecar/collection.py writes (summary, display facts, the instance's entry with the movie's
    file or the series' seasons, a `clock` stamp per fact), without merge's comparisons."""
    key, arr_key, prefix = ("tmdbId", "radarrId", "tmdb:") if kind == "movie" else ("tvdbId", "sonarrId", "tvdb:")
    stats = res.get("statistics") or {}
    entry = {"id": res.get("id"), "monitored": bool(res.get("monitored"))}
    if kind == "movie":
        has_file = bool(res.get("hasFile"))
        entry.update(hasFile=has_file, sizeOnDisk=stats.get("sizeOnDisk", 0))
        mf = res.get("movieFile") if has_file else None
        if mf:
            media = mf.get("mediaInfo") or {}
            entry["file"] = {"quality": ((mf.get("quality") or {}).get("quality") or {}).get("name"),
                             "resolution": media.get("resolution"), "size": mf.get("size"),
                             "videoCodec": media.get("videoCodec"),
                             "audioLanguages": [x.strip() for x in (media.get("audioLanguages") or "").split("/") if x.strip()]}
    else:
        keep = ("seasonCount", "episodeFileCount", "episodeCount", "totalEpisodeCount", "sizeOnDisk", "percentOfEpisodes")
        entry["statistics"] = {k: stats[k] for k in keep if k in stats}
        has_file = entry["statistics"].get("episodeFileCount", 0) > 0
        entry["hasFile"] = has_file
        entry["seasons"] = [{"seasonNumber": se.get("seasonNumber"), "monitored": bool(se.get("monitored")),
                             **_pick(se.get("statistics") or {}, "episodeFileCount", "episodeCount", "totalEpisodeCount",
                                     "sizeOnDisk")} for se in res.get("seasons") or []]
    doc = {"_id": f"{prefix}{res[key]}", "type": kind, key: res[key], "instances": {instance: entry},
           "hasFile": has_file, "grabbed": False, "created_at": STAMP, "title": res.get("title"),
           **_pick(res, "year", "imdbId", "titleSlug", "overview", "runtime", "genres", "certification"),
           "instance": instance, arr_key: res.get("id"), "monitored": entry["monitored"],
           "status": "downloaded" if has_file else ("wanted" if entry["monitored"] else "unmonitored"),
           "source": "reconcile", "updated_at": STAMP}
    ratings = res.get("ratings") or {}
    doc["ratings"] = ({src: {"value": r.get("value"), "votes": r.get("votes")} for src, r in ratings.items()
                       if isinstance(r, dict)} if kind == "movie" else {"value": ratings.get("value"), "votes": ratings.get("votes")})
    if isinstance(res.get("originalLanguage"), dict):
        doc["originalLanguage"] = res["originalLanguage"].get("name")
    doc["images"] = {img["coverType"]: {"remoteUrl": img.get("remoteUrl"), "url": img.get("url")}
                     for img in res.get("images") or [] if img.get("coverType") in ("poster", "fanart")}
    doc["images"]["instance"] = instance
    if kind == "movie":
        doc.update(_pick(res, "studio", "originalTitle", "inCinemas", "digitalRelease", "physicalRelease"))
        if "file" in entry:
            doc["file"] = entry["file"]
    else:
        doc.update(_pick(res, "network", "firstAired", "nextAiring", "previousAiring"))
        doc.update(statistics=entry["statistics"], seasons=entry["seasons"], seriesStatus=res.get("status"),
                   ended=res.get("ended"))
    clock = [k for k in doc if k not in ("_id", "type", "created_at", "source", "updated_at", "instances", "status",
                                         "instance", arr_key, "monitored", "hasFile", "file")]
    clock += [f"instances.{instance}"] + [f"instances.{instance}.{k}" for k in entry]
    doc["clock"] = {k: STAMP for k in clock}
    return doc


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--couch", required=True)
    p.add_argument("--radarr", nargs=2, metavar=("URL", "KEY"), required=True)
    p.add_argument("--sonarr", nargs=2, metavar=("URL", "KEY"), required=True)
    p.add_argument("--movies-db", required=True)
    p.add_argument("--series-db", required=True)
    p.add_argument("--mode", choices=("import", "unchanged"), required=True)
    p.add_argument("--page", type=int, default=500,
                   help="titles per keyed read and docs per _bulk_docs (sidecar/reconcile.py PAGE_SIZE)")
    p.add_argument("--id-page", type=int, default=5000,
                   help="rows per ids-only _all_docs page (sidecar/reconcile.py ID_PAGE)")
    args = p.parse_args(argv)

    couch = requests.Session()
    couch.headers["Accept"] = "application/json"
    if os.environ.get("COUCHDB_USER"):  # CouchDB 3: the benchmark's databases are admin-only
        couch.auth = (os.environ["COUCHDB_USER"], os.environ.get("COUCHDB_PASSWORD", ""))
    phases: dict[str, float] = {}
    written = 0
    t_start = time.perf_counter()
    for kind, (url, key), db in (("movie", args.radarr, args.movies_db), ("series", args.sonarr, args.series_db)):
        id_field, prefix = ("tmdbId", "tmdb:") if kind == "movie" else ("tvdbId", "tvdb:")
        arr = requests.Session()
        arr.headers.update({"X-Api-Key": key, "Accept": "application/json"})
        t0 = time.perf_counter()
        titles = read = 0
        wait = {"couch_s": 0.0}
        if args.mode == "import":
            rows = couch.get(f"{args.couch}/{db}/_all_docs",
                             params={"limit": "1", "startkey": json.dumps(prefix), "endkey": json.dumps(prefix + "\ufff0")},
                             timeout=300).json()["rows"]
            if rows:
                print(f"floor: {db} is not empty; an import floor needs an empty collection", file=sys.stderr)

        def chunk_done(chunk: list[dict]) -> None:
            nonlocal written, read
            c0 = time.perf_counter()
            if args.mode == "import":
                docs = [collection_doc(kind, res) for res in chunk]
                resp = couch.post(f"{args.couch}/{db}/_bulk_docs", json={"docs": docs}, timeout=600)
                resp.raise_for_status()
                bad = [r for r in resp.json() if "error" in r]
                if bad:
                    print(f"floor: {len(bad)} docs refused, e.g. {bad[0]}", file=sys.stderr)
                written += len(docs) - len(bad)
            else:
                keys = [f"{prefix}{res[id_field]}" for res in chunk]
                resp = couch.post(f"{args.couch}/{db}/_all_docs", params={"include_docs": "true"},
                                  json={"keys": keys}, timeout=300)
                resp.raise_for_status()
                read += sum(1 for r in resp.json()["rows"] if r.get("doc"))
            wait["couch_s"] += time.perf_counter() - c0

        with arr.get(f"{url}/api/v3/{kind}", timeout=900, stream=True) as listing:
            listing.raise_for_status()
            chunk = []
            for res in iter_json_array(listing.iter_content(chunk_size=1 << 18)):
                chunk.append(res)
                titles += 1
                if len(chunk) >= args.page:
                    chunk_done(chunk)
                    chunk = []
            if chunk:
                chunk_done(chunk)
        t1 = time.perf_counter()
        phases[f"{kind}_listing_and_chunks_s"] = t1 - t0
        phases[f"{kind}_couch_in_chunks_s"] = wait["couch_s"]
        if args.mode == "unchanged":
            start, ids = None, 0
            while True:
                params = {"limit": str(args.id_page)}
                if start is not None:
                    params.update(startkey=json.dumps(start), skip="1")
                rows = couch.get(f"{args.couch}/{db}/_all_docs", params=params, timeout=300).json()["rows"]
                ids += len(rows)
                if len(rows) < args.id_page:
                    break
                start = rows[-1]["id"]
            phases[f"{kind}_id_pages_s"] = time.perf_counter() - t1
            phases[f"{kind}_collection_ids"] = ids
        phases[f"{kind}_titles"] = titles
        phases[f"{kind}_docs_read"] = read
    print(json.dumps({"seconds": time.perf_counter() - t_start, "phases": phases, "docs_written": written}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
