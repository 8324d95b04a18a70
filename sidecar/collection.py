"""Collection documents: what a frontend shows about a title, kept true to Radarr/Sonarr.

One doc per title, id `tmdb:<tmdbId>` / `tvdb:<tvdbId>` (the buffer's ids). Three writers feed it
(the worker after an add, webhooks, reconcile); all go through `merge`, which is idempotent (the
same facts twice change nothing) and derives `status` from facts instead of storing events, so a
late event cannot undo a later state (a Grab after a Download still reads "downloaded").

Per instance (several Radarr/Sonarr may hold the same title) the doc keeps
`instances[name] = {id, monitored, hasFile, sizeOnDisk?, file?, statistics?, seasons?}`; the
top-level `radarrId`/`sonarrId`, `instance`, `monitored`, `hasFile`, `file`, `statistics` and
`seasons` summarise them.

Display facts (overview, runtime, genres, ratings, dates, images... see docs/data-model.md) are
title-level facts like `title`. A full API resource (the worker's add answer, a webhook's look-up,
the reconcile listing) is *complete*: a fact it no longer has is removed (`None` in the facts). A
webhook payload is not: it sets what it carries and leaves the rest alone.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from .couch import Database

# fields whose change alone is not news (so merge stays idempotent)
_BOOKKEEPING = ("updated_at", "source", "_rev", "clock")
# not facts: bookkeeping, and what `derive` computes from the facts (never stamped in `clock`).
# `poster` describes the `poster.jpg` attachment (sidecar/posters.py): it follows the attachment,
# which a conflict merge takes from CouchDB's winner, so it is taken from the winner too
CLOCKED_EXCLUDE = ("_id", "_rev", "clock", "updated_at", "created_at", "source", "poster")
DERIVED = ("status", "monitored", "instance", "radarrId", "sonarrId", "statistics", "hasFile", "file", "seasons")
# title-level display facts: a complete resource without one removes it (None in the facts)
DISPLAY_FACTS = ("overview", "runtime", "genres", "certification", "studio", "network", "ratings",
                 "originalTitle", "originalLanguage", "inCinemas", "digitalRelease", "physicalRelease",
                 "firstAired", "nextAiring", "previousAiring", "ended", "seriesStatus", "images")
_MOVIE_FACTS = ("overview", "runtime", "genres", "certification", "studio", "ratings", "originalTitle",
                "originalLanguage", "inCinemas", "digitalRelease", "physicalRelease", "images")
_SERIES_FACTS = ("overview", "runtime", "genres", "certification", "network", "ratings", "originalLanguage",
                 "firstAired", "nextAiring", "previousAiring", "ended", "seriesStatus", "images")
_SEASON_STATS = ("episodeFileCount", "episodeCount", "totalEpisodeCount", "sizeOnDisk")


def iso(t: datetime) -> str:
    """UTC time as CouchDB docs here store it: sortable text, milliseconds, Z."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def now_iso() -> str:
    return iso(datetime.now(timezone.utc))


def parse_iso(s: str | None) -> datetime | None:
    """An ISO 8601 time as an aware datetime; None for None or text that is not one."""
    if not s:
        return None
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None


def clock_keys(doc: dict) -> set[str]:
    """The facts of a collection doc that `clock` stamps: each top-level field except bookkeeping
    and derived ones, each instance entry ("instances.<name>": is it there) and each field of an
    entry ("instances.<name>.<field>"), so concurrent writers' facts merge one by one."""
    keys = set()
    for key, value in doc.items():
        if key.startswith("_") or key in CLOCKED_EXCLUDE or key in DERIVED:
            continue
        if key == "instances" and isinstance(value, dict):
            for name, entry in value.items():
                keys.add(f"instances.{name}")
                keys.update(f"instances.{name}.{f}" for f in (entry or {}))
            continue
        keys.add(key)
    return keys


def get_path(doc: dict, key: str) -> tuple[bool, Any]:
    """(present, value) of a clock key such as "instances.default.hasFile" in doc."""
    node: Any = doc
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def set_path(doc: dict, key: str, value: Any, present: bool) -> None:
    """Set (or, when not present, remove) a clock key in doc. A field of an instance entry is
    only set while that entry exists, so a removed entry is not brought back piecemeal."""
    parts = key.split(".")
    node = doc
    for depth, part in enumerate(parts[:-1]):
        if part not in node:
            if depth > 0 or not present:
                return
            node[part] = {}
        node = node[part]
    if present:
        node[parts[-1]] = dict(value) if isinstance(value, dict) else value
    else:
        node.pop(parts[-1], None)


def _stamp(existing: dict | None, doc: dict, at: str) -> None:
    """Stamp in doc["clock"] every fact that differs from existing (all of them for a new doc)."""
    clock = dict((existing or {}).get("clock") or {})
    for key in clock_keys(doc) | clock_keys(existing or {}):
        if existing is None or get_path(doc, key) != get_path(existing, key):
            clock[key] = at
    doc["clock"] = {k: v for k, v in clock.items() if get_path(doc, k)[0] or not k.startswith("instances.")
                    or k.count(".") == 1}


def requested_from(buffer_doc: dict) -> dict:
    """What the collection keeps of the wish a title came from."""
    requested = {"action": buffer_doc.get("action"), "at": buffer_doc.get("requested_at")}
    if buffer_doc.get("requested_by"):
        requested["by"] = buffer_doc["requested_by"]
    return requested


def doc_id(kind: str, external_id: int) -> str:
    return f"tmdb:{external_id}" if kind == "movie" else f"tvdb:{external_id}"


def _series_stats(stats: dict | None) -> dict | None:
    if not isinstance(stats, dict):
        return None
    keep = ("seasonCount", "episodeFileCount", "episodeCount", "totalEpisodeCount", "sizeOnDisk", "percentOfEpisodes")
    return {k: stats[k] for k in keep if k in stats}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _ratings(kind: str, raw: Any) -> dict | None:
    """Radarr: {imdb|tmdb|metacritic|rottenTomatoes|trakt: {value, votes}} (RatingChild, `type`
    left out); Sonarr: {value, votes}. Sources Radarr reports as 0 votes and value 0 are unknown."""
    def child(r: Any) -> dict | None:
        if not isinstance(r, dict) or not isinstance(r.get("value"), (int, float)) or isinstance(r.get("value"), bool):
            return None
        out = {"value": r["value"], "votes": r.get("votes") if isinstance(r.get("votes"), int) else 0}
        return out if out["value"] or out["votes"] else None
    if not isinstance(raw, dict):
        return None
    if kind == "series":
        return child(raw)
    found = {source: child(r) for source, r in raw.items() if isinstance(source, str)}
    return {k: v for k, v in sorted(found.items()) if v is not None} or None


def _images(raw: Any) -> dict | None:
    """{poster: {remoteUrl, url}, fanart: {...}} from MediaCover[] (`remoteUrl` is TMDb's/TVDB's,
    for display; `url` is the local `{urlBase}/MediaCover/{id}/{type}.jpg?lastWrite=…`)."""
    if not isinstance(raw, list):
        return None
    out: dict[str, Any] = {}
    for img in raw:
        if not isinstance(img, dict) or img.get("coverType") not in ("poster", "fanart") or img["coverType"] in out:
            continue
        urls = {k: img[k] for k in ("remoteUrl", "url") if _text(img.get(k))}
        if urls:
            out[img["coverType"]] = urls
    return out or None


def _movie_file(raw: Any) -> dict | None:
    """{quality, resolution, size, videoCodec, audioLanguages} of a MovieFileResource (API: quality
    {quality: {name}}, mediaInfo.resolution "1920x800", audioLanguages "eng/fre") or of a webhook's
    movieFile (quality "Bluray-1080p", mediaInfo width/height, audioLanguages ["eng", "fre"])."""
    if not isinstance(raw, dict):
        return None
    out: dict[str, Any] = {}
    quality = raw.get("quality")
    if isinstance(quality, dict):
        quality = (quality.get("quality") or {}).get("name") if isinstance(quality.get("quality"), dict) else None
    if _text(quality):
        out["quality"] = quality
    media = raw.get("mediaInfo") if isinstance(raw.get("mediaInfo"), dict) else {}
    resolution = _text(media.get("resolution"))
    if resolution is None and isinstance(media.get("width"), int) and isinstance(media.get("height"), int) \
            and media["width"] > 0 and media["height"] > 0:
        resolution = f"{media['width']}x{media['height']}"
    if resolution:
        out["resolution"] = resolution
    if isinstance(raw.get("size"), int) and not isinstance(raw.get("size"), bool):
        out["size"] = raw["size"]
    if _text(media.get("videoCodec")):
        out["videoCodec"] = media["videoCodec"]
    langs = media.get("audioLanguages")
    if isinstance(langs, str):
        langs = [part.strip() for part in langs.split("/")]
    if isinstance(langs, list):
        out["audioLanguages"] = [lang for lang in langs if _text(lang)]
    return out or None


def _seasons(raw: Any) -> list | None:
    """[{seasonNumber, monitored, episodeFileCount, episodeCount, totalEpisodeCount, sizeOnDisk}]
    from SeasonResource[] (counts from each season's `statistics`, where Sonarr gives them)."""
    if not isinstance(raw, list):
        return None
    out = []
    for season in raw:
        if not isinstance(season, dict) or not isinstance(season.get("seasonNumber"), int):
            continue
        entry = {"seasonNumber": season["seasonNumber"], "monitored": bool(season.get("monitored"))}
        stats = season.get("statistics") if isinstance(season.get("statistics"), dict) else {}
        entry.update({k: stats[k] for k in _SEASON_STATS if k in stats})
        out.append(entry)
    return out


def display_facts(kind: str, res: dict, complete: bool = True) -> dict:
    """The display facts of a MovieResource / SeriesResource (or a webhook's movie/series object).
    complete: the resource is a full API answer, so a fact it lacks is None (merge removes it);
    otherwise (a webhook payload) only the facts it carries are returned."""
    facts: dict[str, Any] = {
        "overview": _text(res.get("overview")),
        "runtime": res["runtime"] if isinstance(res.get("runtime"), int) and res["runtime"] > 0 else None,
        "genres": [g for g in res["genres"] if _text(g)] or None if isinstance(res.get("genres"), list) else None,
        "certification": _text(res.get("certification")),
        "ratings": _ratings(kind, res.get("ratings")),
        "originalLanguage": _text((res.get("originalLanguage") or {}).get("name"))
        if isinstance(res.get("originalLanguage"), dict) else None,
        "images": _images(res.get("images")),
    }
    if kind == "movie":
        facts["studio"] = _text(res.get("studio"))
        facts["originalTitle"] = _text(res.get("originalTitle"))
        for key in ("inCinemas", "digitalRelease", "physicalRelease"):
            facts[key] = _text(res.get(key))
    else:
        facts["network"] = _text(res.get("network"))
        for key in ("firstAired", "nextAiring", "previousAiring"):
            facts[key] = _text(res.get(key))
        status = res.get("status")
        facts["seriesStatus"] = status if status in ("continuing", "ended", "upcoming", "deleted") else None
        facts["ended"] = res["ended"] if isinstance(res.get("ended"), bool) else None
    if not complete:
        return {k: v for k, v in facts.items() if v is not None}
    return facts


def facts_from_resource(kind: str, res: dict, complete: bool = True) -> dict:
    """Title facts and this instance's entry from a Radarr MovieResource / Sonarr SeriesResource
    (API or webhook shape). complete=False for a webhook payload: facts it does not carry are left
    out, so merge keeps what the doc knows (see display_facts)."""
    facts: dict[str, Any] = {"title": res.get("title")}
    for key in ("year", "imdbId", "tmdbId", "tvdbId", "titleSlug"):
        if res.get(key) not in (None, "", 0):
            facts[key] = res[key]
    facts.update(display_facts(kind, res, complete))
    entry: dict[str, Any] = {"id": res.get("id")}
    if "monitored" in res:
        entry["monitored"] = bool(res["monitored"])
    if kind == "movie":
        if "hasFile" in res and res["hasFile"] is not None:
            entry["hasFile"] = bool(res["hasFile"])
        elif isinstance(res.get("statistics"), dict) and "movieFileCount" in res["statistics"]:
            entry["hasFile"] = res["statistics"]["movieFileCount"] > 0
        if isinstance(res.get("statistics"), dict) and "sizeOnDisk" in res["statistics"]:
            entry["sizeOnDisk"] = res["statistics"]["sizeOnDisk"]
        movie_file = _movie_file(res.get("movieFile"))
        if movie_file is not None:
            entry["file"] = movie_file  # dropped by merge when the entry has no file
    else:
        stats = _series_stats(res.get("statistics"))
        if stats is not None:
            entry["statistics"] = stats
            entry["hasFile"] = stats.get("episodeFileCount", 0) > 0
        seasons = _seasons(res.get("seasons"))
        if seasons is not None:
            entry["seasons"] = seasons
    return {"facts": facts, "entry": entry}


def preferred_instance(names) -> str:
    """The instance the summary fields come from: "default" when the title is in it, else the
    first by name."""
    return "default" if "default" in names else sorted(names)[0]


def derive(doc: dict) -> dict:
    """Fill the summary fields and `status` from `instances` and the event flags."""
    kind = doc["type"]
    instances = doc.get("instances") or {}
    arr_key = "radarrId" if kind == "movie" else "sonarrId"
    if not instances:
        doc["status"] = "removed" if doc.get("removed_at") else doc.get("status", "wanted")
        doc["monitored"] = False
        doc["hasFile"] = False
        doc[arr_key] = None
        doc["instance"] = None
        doc.pop("file", None)
        return doc
    doc.pop("removed_at", None)
    first = preferred_instance(instances)
    doc["instance"] = first
    doc[arr_key] = instances[first].get("id")
    doc["monitored"] = any(e.get("monitored") for e in instances.values())
    doc["hasFile"] = any(e.get("hasFile") for e in instances.values())
    if kind == "series":
        stats = instances[first].get("statistics")
        if stats is not None:
            doc["statistics"] = stats
        seasons = instances[first].get("seasons")
        if seasons is not None:
            doc["seasons"] = seasons
    else:
        # the file of the preferred instance, else of the first other one that has a file
        order = [first] + sorted(n for n in instances if n != first)
        with_file = next((instances[n]["file"] for n in order
                          if instances[n].get("hasFile") and instances[n].get("file")), None)
        if with_file is not None:
            doc["file"] = with_file
        else:
            doc.pop("file", None)
    if doc["hasFile"]:
        status = "downloaded"
        stats = doc.get("statistics") or {}
        if kind == "series" and stats.get("episodeFileCount", 0) < stats.get("episodeCount", 0):
            status = "partial"
    elif doc.get("grabbed"):
        status = "grabbed"
    elif not doc["monitored"]:
        status = "unmonitored"
    elif (doc.get("requested") or {}).get("action") == "monitor":
        status = "monitored"
    else:
        status = "wanted"
    doc["status"] = status
    return doc


def _meaningful(doc: dict | None) -> dict | None:
    if doc is None:
        return None
    return {k: v for k, v in doc.items() if k not in _BOOKKEEPING}


def merge(existing: dict | None, kind: str, external_id: int, source: str, *,
          facts: dict | None = None, instance: str | None = None, entry: dict | None = None,
          remove_instance: str | None = None, set_fields: dict | None = None) -> dict | None:
    """The new version of a collection doc, or None when nothing meaningful changes.

    - facts: title/year/ids to record; entry: this instance's {id, monitored, hasFile, ...},
      merged into instances[instance]; remove_instance: the title left that instance;
      set_fields: event flags such as {"grabbed": True} or {"requested": {...}}.
    """
    # a copy two levels deep is enough: below `instances` entries are replaced, never changed in
    # place (copy.deepcopy of 12,000 docs cost ~10 % of an unchanged reconcile)
    doc = {**existing, "instances": dict(existing.get("instances") or {})} if existing else {
        "_id": doc_id(kind, external_id), "type": kind,
        ("tmdbId" if kind == "movie" else "tvdbId"): external_id,
        "instances": {}, "hasFile": False, "grabbed": False, "created_at": now_iso(),
    }
    doc.setdefault("instances", {})
    id_field = "tmdbId" if kind == "movie" else "tvdbId"
    for key, value in (facts or {}).items():
        # the id the doc is keyed by never changes (the collection's validate checks _id against it)
        if key == id_field:
            continue
        if value is None:
            if key in DISPLAY_FACTS:
                doc.pop(key, None)  # a complete resource no longer has it (see display_facts)
            continue
        if key == "images" and instance:
            value = {**value, "instance": instance}  # whose MediaCover the local urls are on
        doc[key] = value
    if instance and entry is not None:
        current = doc["instances"].get(instance, {})
        updated = {**current, **{k: v for k, v in entry.items() if v is not None}}
        if updated.get("hasFile") is False:
            updated.pop("file", None)  # no file, no file facts
        doc["instances"][instance] = updated
    if remove_instance is not None:
        if doc["instances"].pop(remove_instance, None) is not None and not doc["instances"]:
            doc["removed_at"] = now_iso()
            doc["hasFile"] = False
            doc["grabbed"] = False
    for key, value in (set_fields or {}).items():
        doc[key] = value
    derive(doc)
    if _meaningful(doc) == _meaningful(existing):
        return None
    doc["source"] = source
    doc["updated_at"] = now_iso()
    _stamp(existing, doc, doc["updated_at"])
    return doc


Change = Callable[[dict | None], dict | None]


def apply_changes(db: Database, changes: dict[str, Change], attempts: int = 5) -> dict[str, str]:
    """Apply per-id changes (each maps the current doc or None to a new doc or None) with
    `_bulk_docs`, re-reading and re-applying on conflict. Returns {id: "written"|"unchanged"|error}.
    """
    outcome: dict[str, str] = {}
    pending = dict(changes)
    for _ in range(attempts):
        if not pending:
            break
        current = db.docs_by_id(pending.keys())
        writes = []
        for doc_id_, change in pending.items():
            new = change(current.get(doc_id_))
            if new is None:
                outcome[doc_id_] = "unchanged"
            else:
                if doc_id_ in current:
                    new["_rev"] = current[doc_id_]["_rev"]
                else:
                    new.pop("_rev", None)
                writes.append(new)
        results = db.bulk_docs(writes)
        retry = {}
        for doc in writes:
            r = results.get(doc["_id"], {})
            if r.get("error") == "conflict":
                retry[doc["_id"]] = pending[doc["_id"]]
            elif r.get("error"):
                outcome[doc["_id"]] = f"{r.get('error')}: {r.get('reason')}"
            else:
                outcome[doc["_id"]] = "written"
        pending = retry
    for doc_id_ in pending:
        outcome[doc_id_] = "conflict"
    return outcome
