"""Radarr/Sonarr webhooks → collection docs, within a second of the event.

Routes: POST (or PUT, Radarr's other webhook method) /webhooks/radarr and /webhooks/sonarr, or
/webhooks/<arr>/<instance> naming a configured instance. Without a name the payload's
`instanceName` picks the instance (ArrInstance.instance_name, then the config name, both
case-insensitive), else the first configured one. HTTP basic auth (WEBHOOK_USER/PASSWORD).

What each event does (facts from ../shared/reference/servarr/README.md §8):
- Test: 200, nothing written.
- Grab: grabbed=True (status stays "downloaded" if a file exists: status is derived).
- Download (Radarr; Sonarr per file or import complete; upgrades too): hasFile=True, grabbed=False.
- MovieAdded / SeriesAdd: upsert (titles added in Radarr/Sonarr's own UI).
- MovieFileDelete: hasFile=False, grabbed=False, unless deleteReason is "upgrade" (the new file
  is imported by the paired Download, which may arrive first).
- EpisodeFileDelete: see _episode_file_delete.
- MovieDelete / SeriesDelete: the instance leaves the doc; with none left the doc becomes a
  "removed" tombstone (kept, so nothing re-requests it blindly). Unknown titles: nothing written.
- Rename, Health, HealthRestored, ApplicationUpdate, ManualInteractionRequired: logged, counted.
- Any other eventType: 202, nothing written.

Webhook payloads lack a few facts (README §8.5: no `monitored`, no `hasFile`, no series
statistics). Where the event hinges on one (Added: monitored; Sonarr Download and
EpisodeFileDelete: episode counts) we ask that instance for the one title (GET ?tmdbId=/?tvdbId=,
short timeout). If that fails the payload alone is applied and the next reconcile fills in.

A title still waiting in the buffer (requested through us) is completed by the webhook when the
event shows the request fulfilled (monitored, grabbed or a file) in the instance it asked for and
the buffer doc is not being worked on (state new/retry/failed): the collection doc is written
first (with `requested`), then the buffer doc is deleted by the `_rev` we read. A conflict means
the worker claimed it meanwhile; we leave it and the worker finishes idempotently. Same order as
the worker's (buffer doc last), so a crash in between loses nothing.
"""
from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable

from flask import Blueprint, current_app, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from . import metrics
from .arr import ArrError, client_for
from .auth import require_basic_auth
from .collection import DISPLAY_FACTS, apply_changes, doc_id, facts_from_resource, merge, now_iso, requested_from
from .config import ArrInstance, Settings
from .couch import Conflict, CouchError, CouchUnavailable, NotFound

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

KIND = {"radarr": "movie", "sonarr": "series"}
LOOKUP_TIMEOUT = 3.0  # seconds; Radarr/Sonarr wait for our answer (100 s) but we keep it short


# --------------------------------------------------------------------------- payload models

# ids as Radarr/Sonarr send them: JSON integers (strict: "12" or true is a malformed payload)
PositiveId = Annotated[int, Field(strict=True, gt=0, lt=2**31)]


class _Payload(BaseModel):
    # fields we do not use are ignored: payloads grow between versions (README §10)
    model_config = ConfigDict(extra="ignore")


class Envelope(_Payload):
    eventType: str = Field(min_length=1, max_length=100)
    instanceName: str | None = None


class WebhookMovie(_Payload):
    id: int | None = None  # Radarr's own id
    title: str | None = None
    year: int | None = None
    tmdbId: PositiveId
    imdbId: str | None = None
    # display facts a WebhookMovie carries (README §8.5; Radarr v4.7 has none of them)
    overview: str | None = None
    genres: list[str] | None = None
    images: list[dict[str, Any]] | None = None
    originalLanguage: dict[str, Any] | None = None


class WebhookSeries(_Payload):
    id: int | None = None  # Sonarr's own id
    title: str | None = None
    titleSlug: str | None = None
    year: int | None = None
    tvdbId: PositiveId
    tmdbId: int | None = None
    imdbId: str | None = None
    # display facts a WebhookSeries carries (README §8.5)
    genres: list[str] | None = None
    images: list[dict[str, Any]] | None = None
    originalLanguage: dict[str, Any] | None = None


class WebhookEpisode(_Payload):
    id: int | None = None
    seasonNumber: int | None = None
    episodeNumber: int | None = None


class MovieEvent(Envelope):
    movie: WebhookMovie


class MovieDownload(MovieEvent):
    isUpgrade: bool = False
    movieFile: dict[str, Any] | None = None  # the imported file: quality, size, mediaInfo


class MovieFileDelete(MovieEvent):
    deleteReason: str | None = None


class SeriesEvent(Envelope):
    series: WebhookSeries


class SeriesDownload(SeriesEvent):
    """Per-file (`episodeFile`, `isUpgrade`) and import-complete (`episodeFiles`, `fileCount`)."""
    episodes: list[WebhookEpisode] = []
    isUpgrade: bool = False
    episodeFile: dict[str, Any] | None = None
    episodeFiles: list[dict[str, Any]] | None = None
    fileCount: int | None = None

    @property
    def imported_files(self) -> int:
        if self.episodeFiles is not None:
            return len(self.episodeFiles)
        return 1 if self.episodeFile else 0


class EpisodeFileDelete(SeriesEvent):
    episodes: list[WebhookEpisode] = []
    deleteReason: str | None = None


class _TitleRef(_Payload):
    # informational events: ids only for the log line, none required
    tmdbId: int | None = None
    tvdbId: int | None = None


class InfoEvent(Envelope):
    movie: _TitleRef | None = None
    series: _TitleRef | None = None
    level: str | None = None
    message: str | None = None
    type: str | None = None


# --------------------------------------------------------------------------- request context


@dataclass
class Hook:
    """One webhook being handled."""
    arr: str  # "radarr" | "sonarr"
    instance: ArrInstance
    settings: Settings
    event: str
    doc_id: str | None = None
    outcome: str = "accepted"
    status: str | None = None
    buffer: str | None = None  # what happened to a buffer doc of the same id
    extra: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return KIND[self.arr]


@dataclass
class Update:
    """What one event tells about a title in one instance."""
    external_id: int
    resource: dict  # the payload's movie/series object
    proves: dict = field(default_factory=dict)  # instance-entry facts the event proves (hasFile)
    set_fields: dict | None = None  # doc-level flags (grabbed)
    lookup: bool = False  # ask the instance for the full resource first
    remove: bool = False  # the title left the instance
    may_complete_request: bool = True
    fallback: Callable[[dict | None], dict] | None = None  # entry facts when the lookup failed


def _error(status: int, error: str, message: str):
    resp = jsonify(error=error, message=message)
    resp.status_code = status
    return resp


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "payload"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _resolve_instance(settings: Settings, arr: str, path_name: str | None, payload_name: str | None
                      ) -> ArrInstance | None:
    pool = settings.instances(arr)
    if path_name is not None:
        return next((i for i in pool if i.name == path_name), None)
    if payload_name:
        wanted = payload_name.casefold()
        for match in (lambda i: (i.instance_name or "").casefold() == wanted,
                      lambda i: i.name.casefold() == wanted):
            found = next((i for i in pool if match(i)), None)
            if found:
                return found
    return pool[0] if pool else None


def _count_unauthorized(view):
    """401s happen inside require_basic_auth; count them too (probes, wrong passwords)."""
    @functools.wraps(view)
    def wrapped(arr, instance_name=None):
        resp = view(arr=arr, instance_name=instance_name)
        if getattr(resp, "status_code", 200) == 401:
            metrics.WEBHOOK_EVENTS.labels(arr, "-", "unauthorized").inc()
            log.warning("webhook %s refused: bad or missing basic auth", arr,
                        extra={"arr": arr, "outcome": "unauthorized"})
        return resp
    return wrapped


# --------------------------------------------------------------------------- the route


@bp.route("/<any(radarr, sonarr):arr>", methods=["POST", "PUT"])
@bp.route("/<any(radarr, sonarr):arr>/<instance_name>", methods=["POST", "PUT"])
@_count_unauthorized
@require_basic_auth
def receive(arr: str, instance_name: str | None = None):
    settings: Settings = current_app.config["SETTINGS"]
    if instance_name is not None and settings.instance(arr, instance_name) is None:
        return _rejected(arr, "-", 404, "unknown_instance",
                         f"no {arr.capitalize()} instance named {instance_name!r} is configured")
    if request.mimetype != "application/json":
        return _rejected(arr, "-", 400, "unsupported_content_type",
                         f"send the payload as application/json, not {request.mimetype or 'no content type'!r}")
    body = request.get_data(cache=False)  # Content-Length over MAX_CONTENT_LENGTH: 413 from here
    if request.content_length is None and len(body) >= settings.max_body_bytes:
        # chunked upload: werkzeug stops reading at the limit without raising, so a cut-off
        # body would look like bad JSON; say what really happened
        raise RequestEntityTooLarge()
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return _rejected(arr, "-", 400, "malformed_json", f"the body is not valid JSON: {exc}")
    except RecursionError:  # json.loads recurses: ~1000 nested brackets fit in a small body
        return _rejected(arr, "-", 400, "malformed_json", "the body is nested too deeply to be a webhook payload")
    if not isinstance(data, dict):
        return _rejected(arr, "-", 400, "malformed_payload", "the body must be a JSON object with an eventType")
    try:
        envelope = Envelope.model_validate(data)
    except ValidationError as exc:
        return _rejected(arr, "-", 400, "invalid_payload", _describe(exc))

    event = envelope.eventType
    spec = EVENTS[arr].get(event)
    label = event if spec else "other"  # metric label: known names only (bounded cardinality)
    if spec is None:
        log.info("webhook %s %s: unknown event type, ignored", arr, event[:60],
                 extra={"event": event[:60], "arr": arr, "outcome": "unknown_event"})
        metrics.WEBHOOK_EVENTS.labels(arr, label, "unknown_event").inc()
        return jsonify(ok=True, event=event, outcome="unknown_event",
                       message=f"{event!r} is not an event this sidecar handles; nothing written"), 202
    model, handler = spec
    try:
        payload = model.model_validate(data)
    except ValidationError as exc:
        hint = ""
        if arr == "sonarr" and "movie" in data or arr == "radarr" and "series" in data:
            other = "radarr" if arr == "sonarr" else "sonarr"
            hint = f" (this looks like a {other.capitalize()} payload: send it to /webhooks/{other})"
        return _rejected(arr, label, 400, "invalid_payload", f"{arr} {event}: {_describe(exc)}{hint}")

    instance = _resolve_instance(settings, arr, instance_name, envelope.instanceName)
    if instance is None:
        return _rejected(arr, label, 404, "unknown_instance",
                         f"no {arr.capitalize()} instance is configured ({arr.upper()}_URL)")
    hook = Hook(arr=arr, instance=instance, settings=settings, event=event)
    try:
        handler(hook, payload)
    except (CouchUnavailable, CouchError):
        # answered 503/502 by the app's error handlers, so Radarr/Sonarr log the failure
        hook.outcome = "couchdb_error"
        _log_event(hook)
        metrics.WEBHOOK_EVENTS.labels(arr, label, hook.outcome).inc()
        raise
    _log_event(hook)
    metrics.WEBHOOK_EVENTS.labels(arr, label, hook.outcome).inc()
    if hook.outcome == "write_failed":
        return _error(502, "couchdb_write_failed",
                      f"CouchDB did not take the update of {hook.doc_id}: {hook.extra.get('reason')}")
    body = {"ok": True, "event": event, "instance": instance.name, "outcome": hook.outcome}
    for key in ("doc_id", "status", "buffer"):
        if getattr(hook, key) is not None:
            body[key] = getattr(hook, key)
    return jsonify(body), 200


def _rejected(arr: str, label: str, status: int, error: str, message: str):
    log.info("webhook %s rejected (%s): %s", arr, status, message, extra={"arr": arr, "outcome": error})
    metrics.WEBHOOK_EVENTS.labels(arr, label, error).inc()
    return _error(status, error, message)


def _log_event(hook: Hook) -> None:
    level = logging.WARNING if hook.outcome in ("couchdb_error", "write_failed") else logging.INFO
    what = hook.doc_id or hook.extra.get("title_id") or "-"
    detail = f" ({hook.extra['note']})" if hook.extra.get("note") else ""
    log.log(level, "webhook %s:%s %s %s: %s%s", hook.arr, hook.instance.name, hook.event, what, hook.outcome, detail,
            extra={"event": hook.event, "doc_id": what, "arr": f"{hook.arr}:{hook.instance.name}",
                   "outcome": hook.outcome})


# --------------------------------------------------------------------------- event handlers


def _movie(payload: MovieEvent) -> tuple[int, dict]:
    return payload.movie.tmdbId, payload.movie.model_dump(exclude_none=True)


def _series(payload: SeriesEvent) -> tuple[int, dict]:
    return payload.series.tvdbId, payload.series.model_dump(exclude_none=True)


def _test(hook: Hook, payload: Envelope) -> None:
    hook.outcome = "test_ok"


def _info(hook: Hook, payload: InfoEvent) -> None:
    ref = payload.movie if hook.kind == "movie" else payload.series
    external_id = (ref.tmdbId if hook.kind == "movie" else ref.tvdbId) if ref else None
    if external_id:
        hook.extra["title_id"] = doc_id(hook.kind, external_id)
    if payload.eventType == "Health":
        hook.extra["note"] = f"{payload.level}: {payload.type}: {payload.message}"
    elif payload.eventType in ("HealthRestored", "ApplicationUpdate") and payload.message:
        hook.extra["note"] = payload.message
    hook.outcome = "logged"


def _grab(hook: Hook, payload) -> None:
    ext, res = _movie(payload) if hook.kind == "movie" else _series(payload)
    _apply(hook, Update(ext, res, set_fields={"grabbed": True}))


def _movie_download(hook: Hook, payload: MovieDownload) -> None:
    ext, res = _movie(payload)
    if payload.movieFile:
        res["movieFile"] = payload.movieFile  # the file facts (collection.facts_from_resource)
    if payload.isUpgrade:
        hook.extra["note"] = "upgrade"
    _apply(hook, Update(ext, res, proves={"hasFile": True}, set_fields={"grabbed": False}))


def _series_download(hook: Hook, payload: SeriesDownload) -> None:
    ext, res = _series(payload)
    files = payload.imported_files
    hook.extra["note"] = f"{files} file(s)" + (", upgrade" if payload.isUpgrade else "")
    # statistics (episode counts) are not in the payload: the lookup brings them
    _apply(hook, Update(ext, res, proves={"hasFile": True} if files else {}, set_fields={"grabbed": False},
                        lookup=True))


def _added(hook: Hook, payload) -> None:
    ext, res = _movie(payload) if hook.kind == "movie" else _series(payload)
    _apply(hook, Update(ext, res, lookup=True))  # the payload has no `monitored`: ask


def _movie_file_delete(hook: Hook, payload: MovieFileDelete) -> None:
    ext, res = _movie(payload)
    hook.extra["note"] = f"reason {payload.deleteReason}"
    if payload.deleteReason == "upgrade":
        # the replacement file's Download (possibly already here) decides; do not undo it
        _apply(hook, Update(ext, res, may_complete_request=False))
        return
    _apply(hook, Update(ext, res, proves={"hasFile": False}, set_fields={"grabbed": False},
                        may_complete_request=False))


def _episode_file_delete(hook: Hook, payload: EpisodeFileDelete) -> None:
    """Whether other episode files remain is not in the payload. The lookup (fresh statistics)
    decides; without it, hasFile becomes False only when the doc's last known statistics show
    this file's episodes were the only ones with files, otherwise it is left for reconcile."""
    ext, res = _series(payload)
    hook.extra["note"] = f"reason {payload.deleteReason}"
    if payload.deleteReason == "upgrade":
        _apply(hook, Update(ext, res, may_complete_request=False))
        return
    covered = max(1, len(payload.episodes))

    def fallback(entry: dict | None) -> dict:
        stats = (entry or {}).get("statistics")
        if stats is None or stats.get("episodeFileCount", 0) > covered:
            return {}
        return {"hasFile": False, "statistics": {**stats, "episodeFileCount": 0, "sizeOnDisk": 0,
                                                 "percentOfEpisodes": 0}}

    _apply(hook, Update(ext, res, set_fields={"grabbed": False}, lookup=True, may_complete_request=False,
                        fallback=fallback))


def _delete(hook: Hook, payload) -> None:
    ext, res = _movie(payload) if hook.kind == "movie" else _series(payload)
    _apply(hook, Update(ext, res, remove=True, may_complete_request=False))


# --------------------------------------------------------------------------- writing


def _collection_db(hook: Hook):
    s = hook.settings
    return current_app.extensions["couch"].db(s.movies_db if hook.kind == "movie" else s.series_db)


def _buffer_db(hook: Hook):
    s = hook.settings
    return current_app.extensions["couch"].db(s.movies_buffer_db if hook.kind == "movie" else s.series_buffer_db)


def _lookup(hook: Hook, external_id: int) -> dict | None:
    """The instance's full resource for the title, or None (not there, or unreachable)."""
    client = client_for(hook.instance, timeout=LOOKUP_TIMEOUT)
    try:
        found = client.find(external_id)
    except ArrError as exc:
        hook.extra["note"] = ((hook.extra.get("note") or "") + f"; lookup failed: {exc.code}").lstrip("; ")
        return None
    finally:
        client.session.close()
    if found is None:
        hook.extra["note"] = ((hook.extra.get("note") or "") + "; not in the library now").lstrip("; ")
    return found


def _fulfilled(doc: dict | None, instance: str) -> bool:
    """The request is done when the title is monitored, grabbed or has a file in that instance
    (what the worker treats as done too: an existing monitored title is not added again)."""
    if not doc:
        return False
    entry = (doc.get("instances") or {}).get(instance) or {}
    return bool(entry.get("monitored") is True or entry.get("hasFile") or doc.get("grabbed"))


def _apply(hook: Hook, upd: Update) -> None:
    kind, name = hook.kind, hook.instance.name
    hook.doc_id = did = doc_id(kind, upd.external_id)
    # a payload is not a complete resource: what it does not carry is left as the doc has it, and
    # its display facts (overview, genres, images...) only fill in what the doc lacks; a look-up
    # (a complete resource) sets them, as reconcile's listing does
    got = facts_from_resource(kind, upd.resource, complete=False)
    facts, entry = got["facts"], {"id": got["entry"].get("id"), "file": got["entry"].get("file")}
    fill_only = set(DISPLAY_FACTS) & set(facts)
    looked_up = None
    if upd.lookup:
        looked_up = _lookup(hook, upd.external_id)
        if looked_up is not None:
            fresh = facts_from_resource(kind, looked_up)
            facts = {**facts, **fresh["facts"]}
            fill_only = set()
            entry = {**entry, **fresh["entry"]}
    entry.update(upd.proves)  # what the event itself proves beats a possibly lagging lookup

    buffer_doc = None
    if upd.may_complete_request and not upd.remove:
        buffer_doc = _buffer_db(hook).get(did)
        wanted_instance = hook.settings.instance(hook.arr, (buffer_doc or {}).get("instance") or None)
        if buffer_doc is not None and ((buffer_doc.get("state") or "new") not in ("new", "retry", "failed")
                                       or wanted_instance is None or wanted_instance.name != name):
            hook.buffer = "left_for_worker"
            buffer_doc = None
    seen: dict[str, Any] = {}  # what the last run of change() saw and decided

    def change(existing: dict | None) -> dict | None:
        seen.update(completes=False, known=existing is not None, doc=existing)
        if upd.remove:
            if existing is None:
                return None  # nothing to tombstone: a title we never knew
            new = merge(existing, kind, upd.external_id, "webhook", remove_instance=name)
            seen["doc"] = new or existing
            return new
        this_entry = dict(entry)
        if looked_up is None and upd.fallback is not None:
            this_entry.update(upd.fallback(((existing or {}).get("instances") or {}).get(name)))
        these = {k: v for k, v in facts.items() if k not in fill_only or k not in (existing or {})}
        new = merge(existing, kind, upd.external_id, "webhook", facts=these, instance=name, entry=this_entry,
                    set_fields=upd.set_fields)
        current = new or existing
        if buffer_doc is not None and _fulfilled(current, name):
            seen["completes"] = True
            with_request = merge(current, kind, upd.external_id, "webhook",
                                 set_fields={"requested": requested_from(buffer_doc)})
            new = with_request or new
        seen["doc"] = new or existing
        return new

    outcome = apply_changes(_collection_db(hook), {did: change})[did]
    if outcome not in ("written", "unchanged"):
        hook.outcome, hook.extra["reason"] = "write_failed", outcome
        return
    hook.outcome = outcome if seen.get("known") or not upd.remove else "unknown_title"
    hook.status = (seen.get("doc") or {}).get("status")
    if buffer_doc is not None:
        hook.buffer = _complete_buffer(hook, buffer_doc) if seen.get("completes") else "left_for_worker"


def _complete_buffer(hook: Hook, buffer_doc: dict) -> str:
    # a tombstone that says which wish ended, so a late offline edit of it is ended too (conflicts.py)
    tombstone = {"_id": buffer_doc["_id"], "_rev": buffer_doc["_rev"], "_deleted": True, "ended": "moved",
                 "requested_at": buffer_doc.get("requested_at"), "moved_at": now_iso()}
    try:
        _buffer_db(hook).put(tombstone)
    except Conflict:
        return "left_for_worker"  # the worker (or the user) changed it since we read it
    except NotFound:
        return "already_gone"
    metrics.ITEMS_MOVED.labels(hook.kind).inc()
    return "completed"


# eventType -> (model, handler); Sonarr's Download has two shapes (README §8.4)
EVENTS: dict[str, dict[str, Any]] = {
    "radarr": {
        "Test": (Envelope, _test),
        "Grab": (MovieEvent, _grab),
        "Download": (MovieDownload, _movie_download),
        "MovieAdded": (MovieEvent, _added),
        "MovieFileDelete": (MovieFileDelete, _movie_file_delete),
        "MovieDelete": (MovieEvent, _delete),
        "Rename": (InfoEvent, _info),
        "Health": (InfoEvent, _info),
        "HealthRestored": (InfoEvent, _info),
        "ApplicationUpdate": (InfoEvent, _info),
        "ManualInteractionRequired": (InfoEvent, _info),
    },
    "sonarr": {
        "Test": (Envelope, _test),
        "Grab": (SeriesEvent, _grab),
        "Download": (SeriesDownload, _series_download),
        "SeriesAdd": (SeriesEvent, _added),
        "EpisodeFileDelete": (EpisodeFileDelete, _episode_file_delete),
        "SeriesDelete": (SeriesEvent, _delete),
        "Rename": (InfoEvent, _info),
        "Health": (InfoEvent, _info),
        "HealthRestored": (InfoEvent, _info),
        "ApplicationUpdate": (InfoEvent, _info),
        "ManualInteractionRequired": (InfoEvent, _info),
    },
}
