"""Reconcile: make the collection match every Radarr/Sonarr library, repairing whatever a webhook
missed (Radarr does not retry webhooks and sends none for some imports).

One run = per kind (movies, series): read each instance's whole library once (streamed, kept only
as compact facts), read the collection once (paged `_all_docs`), merge, and write only the docs
that differ, in `_bulk_docs` batches. `merge()` keeps what reconcile cannot know (requested,
created_at, grabbed unless a file now exists).

Removal is only ever concluded from a complete listing: a title missing from instance A loses A
only when A's listing finished; an error is never "deleted". A title in B but not A keeps B.

One run at a time, across gunicorn workers, processes and machines: a lock doc `lock:reconcile`
in the sidecar's own database (SIDECAR_DB, which only the sidecar's role may write: household
members can write `_local` docs of the databases they sync, so no lock lives there), taken and
released with MVCC (`_rev`, and a write quorum in a cluster) and an expiry that a heartbeat
thread pushes forward, so a crashed run's lock lapses by itself; `result:reconcile` keeps the
last result for /metrics of every process.

    POST /reconcile (Authorization: Bearer RECONCILE_TOKEN)  ·  python -m sidecar reconcile
"""
from __future__ import annotations

import codecs
import json
import logging
import pickle
import re
import socket
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator

import requests
from flask import Blueprint, current_app, jsonify

from . import metrics
from .arr import ArrError, ServarrClient, TransientArrError, client_for
from .auth import require_token
from . import posters
from .collection import apply_changes, doc_id, facts_from_resource, iso, merge, now_iso, preferred_instance
from .config import ArrInstance, Settings
from .couch import Conflict, Couch, CouchError, CouchUnavailable, Database, NoQuorum

log = logging.getLogger(__name__)

bp = Blueprint("reconcile", __name__)

# in the sidecar's own database (SIDECAR_DB), which only the sidecar's role may write
LOCK_ID = "lock:reconcile"
LAST_ID = "result:reconcile"
LOCK_TTL = 120.0  # seconds a lock lives without a heartbeat (a crashed run blocks at most this long)
PAGE_SIZE = 500  # collection docs read per _all_docs request (docs with display facts: ~10 MB parsed per 1,000)
WRITE_BATCH = 500  # docs per _bulk_docs
PROGRESS_EVERY = 5.0  # seconds between progress log lines
KINDS = (("movie", "radarr"), ("series", "sonarr"))


class ReconcileBusy(Exception):
    """Another reconcile holds the lock."""

    def __init__(self, holder: dict):
        super().__init__(f"a reconcile is already running ({holder.get('owner')}, since {holder.get('acquired_at')})")
        self.holder = holder


# --------------------------------------------------------------------------- the lock


class ReconcileLock:
    """`lock:reconcile`: {owner, acquired_at, expires (epoch s), released}. Taking it is
    a rev-checked write over a released or expired lock, so of two takers one gets a conflict."""

    def __init__(self, db: Database, ttl: float = LOCK_TTL):
        self.db = db
        self.ttl = ttl
        self.owner = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.rev: str | None = None
        self.acquired_at: str | None = None
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()

    def acquire(self) -> None:
        current = self.db.get(LOCK_ID)
        if current and not current.get("released") and current.get("expires", 0) > time.time():
            raise ReconcileBusy(current)
        self.acquired_at = now_iso()
        doc = {"_id": LOCK_ID, "owner": self.owner, "acquired_at": self.acquired_at,
               "expires": time.time() + self.ttl, "released": False}
        if current:
            doc["_rev"] = current["_rev"]
            if not current.get("released"):
                log.warning("reconcile lock of %s expired at %s; taking over", current.get("owner"),
                            current.get("expires"))
        try:
            # in a cluster a lock on fewer copies than the quorum (202) may lose to another
            # run's on the other copies: only a confirmed write counts (it lapses by itself)
            self.rev = self.db.put(doc, quorum=True)
        except (Conflict, NoQuorum):
            raise ReconcileBusy(self.db.get(LOCK_ID) or {}) from None
        self._thread = threading.Thread(target=self._heartbeat, name="reconcile-lock", daemon=True)
        self._thread.start()

    def _write(self, **fields) -> None:
        with self._guard:
            if self.rev is None or self.lost:
                return
            doc = {"_id": LOCK_ID, "_rev": self.rev, "owner": self.owner, "acquired_at": self.acquired_at,
                   "expires": time.time() + self.ttl, "released": False, **fields}
            try:
                self.rev = self.db.put(doc)
            except Conflict:
                # someone took over an expired lock: both runs are safe (merge is idempotent,
                # writes are rev-checked), but say so
                self.lost = True
                log.warning("reconcile lock was taken over by another run")

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.ttl / 4):
            try:
                self._write(refreshed_at=now_iso())
            except (CouchUnavailable, CouchError) as exc:
                log.warning("could not refresh the reconcile lock: %s", exc)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        try:
            self._write(released=True, released_at=now_iso())
        except (CouchUnavailable, CouchError) as exc:
            log.warning("could not release the reconcile lock (it expires by itself): %s", exc)


# --------------------------------------------------------------------------- streaming a library

_WS = re.compile(r"[ \t\n\r]*")


def iter_json_array(chunks: Iterable[bytes]) -> Iterator[Any]:
    """The elements of a JSON array arriving in byte chunks, one at a time, so a 10,000-title
    library never sits in memory as one parsed list. Each element is parsed by the stdlib's C
    decoder (raw_decode). Written here rather than taken from ijson on purpose: ijson (yajl2_c)
    took 0.91 s for a 30 MB Radarr listing against 0.5 s for this, which put the unchanged
    reconcile over its goal (docs/benchmarks.md).
    Raises ValueError for anything but a whole JSON array (truncated, garbled, not an array)."""
    decoder = json.JSONDecoder()
    text = codecs.getincrementaldecoder("utf-8")()
    source = iter(chunks)
    buf, pos, exhausted = "", 0, False

    def more() -> bool:
        nonlocal buf, pos, exhausted
        if exhausted:
            return False
        chunk = next(source, None)
        if chunk is None:
            exhausted = True
            tail = text.decode(b"", final=True)
        else:
            tail = text.decode(chunk)
        buf, pos = buf[pos:] + tail, 0
        return True

    def skip_ws() -> str | None:
        nonlocal pos
        while True:
            pos = _WS.match(buf, pos).end()
            if pos < len(buf):
                return buf[pos]
            if not more():
                return None

    if skip_ws() != "[":
        raise ValueError("not a JSON array")
    pos += 1
    first = True
    while True:
        ch = skip_ws()
        if ch is None:
            raise ValueError("the array ended early (truncated response)")
        if ch == "]":
            return
        if not first:
            if ch != ",":
                raise ValueError(f"expected ',' at offset {pos}")
            pos += 1
            if skip_ws() is None:
                raise ValueError("the array ended early (truncated response)")
        while True:
            try:
                value, end = decoder.raw_decode(buf, pos)
            except json.JSONDecodeError:
                if more():
                    continue  # the element is still arriving
                raise ValueError("the array ended early (truncated response)") from None
            if end == len(buf) and more():
                continue  # a bare number could go on in the next chunk; parse again
            break
        pos, first = end, False
        yield value


def stream_library(client: ServarrClient) -> Iterator[dict]:
    """Every resource of GET /api/v3/movie or /series, streamed. Raises ArrError."""
    # open_listing maps HTTP and connection errors to ArrError and leaves the body unread,
    # so it is parsed as it arrives
    resp = client.open_listing()
    with resp:
        try:
            for item in iter_json_array(resp.iter_content(chunk_size=1 << 18)):
                if not isinstance(item, dict):
                    raise TransientArrError("bad_response", f"{client.name} /{client.resource} listed a non-object")
                yield item
        except ValueError as exc:
            raise TransientArrError("bad_response", f"{client.name} /{client.resource}: {exc}") from None
        except requests.RequestException as exc:
            raise TransientArrError("listing_broken",
                                    f"{client.name} broke off the /{client.resource} listing: {type(exc).__name__}") from None


# --------------------------------------------------------------------------- one kind


class KindReconcile:
    """Reconcile one kind (movies or series) over all instances of its arr."""

    def __init__(self, settings: Settings, couch: Couch, kind: str, arr: str, result: dict):
        self.settings, self.kind, self.arr = settings, kind, arr
        self.id_field = "tmdbId" if kind == "movie" else "tvdbId"
        self.db = couch.db(settings.movies_db if kind == "movie" else settings.series_db)
        self.result = result
        # doc id -> {instance name: pickled (facts, entry)}: only what the collection docs hold,
        # pickled because the display facts (overview, ratings, images...) made the dicts of a
        # 12,000-title library ~50 MB; as bytes ~18 MB, for ~7 µs a title to pack and unpack
        self.library: dict[str, dict[str, bytes]] = {}
        self.complete: set[str] = set()  # instances whose listing finished: only these can lose titles
        # when each listing started: a doc a webhook or the worker wrote after that knows better
        self.listed_at: dict[str, str] = {}
        self._writes: list[dict] = []
        self._pending: dict[str, dict] = {}  # id -> library entries of the docs in _writes
        self._last_progress = time.monotonic()
        # posters (sidecar/posters.py): ids of docs whose poster is missing or changed, and the
        # bytes of the posters the collection holds (counted from the docs read anyway)
        self.poster_ids: list[str] = []
        self.poster_bytes = 0

    # --- phase 1: the libraries
    def read_libraries(self) -> None:
        for inst in self.settings.instances(self.arr):
            self._read_instance(inst)

    def _read_instance(self, inst: ArrInstance) -> None:
        label = f"{self.arr}:{inst.name}"
        t0 = time.monotonic()
        count = 0
        client = client_for(inst, timeout=self.settings.arr_timeout)
        self.listed_at[inst.name] = now_iso()
        try:
            for res in stream_library(client):
                external_id = res.get(self.id_field)
                if not isinstance(external_id, int) or isinstance(external_id, bool) or external_id <= 0:
                    continue  # no usable id: nothing to key a doc by
                got = facts_from_resource(self.kind, res)
                self.library.setdefault(doc_id(self.kind, external_id), {})[inst.name] = pickle.dumps(
                    (got["facts"], got["entry"]), protocol=pickle.HIGHEST_PROTOCOL)
                count += 1
                self._progress(f"{label}: {count} titles read")
        except ArrError as exc:
            # what was read is still true (used for updates); nothing is removed for this instance
            self.result["errors"].append({"instance": label, "code": exc.code, "message": exc.message,
                                          "titles_read": count})
            log.warning("reconcile: listing %s failed after %d titles (%s); nothing will be removed for it",
                        label, count, exc)
        else:
            self.complete.add(inst.name)
            log.info("reconcile: %s listed %d titles in %.1f s", label, count, time.monotonic() - t0)
        finally:
            client.session.close()
        self.result["instances"][label] = count

    # --- phase 2: the collection
    def reconcile_collection(self) -> None:
        if not self.library and not self.complete:
            return  # no instance answered: there is nothing to compare against
        compared = 0
        for page in self._pages():
            for existing in page:
                entries = self.library.pop(existing["_id"], {})
                new = self.reconciled(existing, entries)
                compared += 1
                if new is None:
                    self.result["unchanged"] += 1
                else:
                    self._queue(new, existing, entries)
                self._note_poster(new or existing, existing)
            self._progress(f"{self.db.name}: {compared} docs compared")
        # titles in a library but not in the collection yet
        for did in list(self.library):
            entries = self.library.pop(did)
            new = self.reconciled(None, entries)
            if new is not None:
                self._queue(new, None, entries)
                self._note_poster(new, None)
        self._flush()
        self.sync_posters()

    def _note_poster(self, doc: dict, existing: dict | None) -> None:
        if not self.settings.posters:
            return
        self.poster_bytes += posters.stored_bytes(existing)
        if posters.wanted(doc):
            self.poster_ids.append(doc["_id"])

    def sync_posters(self) -> None:
        """Store the posters found missing or changed, after the docs are written (failures are
        logged and counted, never fatal: the next run tries them again)."""
        if not self.settings.posters:
            return
        ids, self.poster_ids = self.poster_ids, []
        try:
            counts = posters.sync_posters(self.settings, self.db.couch, self.kind, ids, used_bytes=self.poster_bytes)
        except Exception:  # posters are never worth failing a reconcile for
            log.exception("reconcile: storing posters for %s failed", self.db.name)
            counts = {"failed": len(ids)}
        total = self.result.setdefault("posters", {"stored": 0, "over_budget": 0, "failed": 0})
        for key, n in counts.items():
            total[key] = total.get(key, 0) + n

    def _pages(self) -> Iterator[list[dict]]:
        start = None
        while True:
            params: dict[str, Any] = {"limit": PAGE_SIZE}
            if start is not None:
                params.update(startkey=start, skip=1)
            rows = self.db.all_docs(include_docs=True, **params)
            if not rows:
                return
            start = rows[-1]["id"]
            yield [r["doc"] for r in rows if r.get("doc") and not r["id"].startswith("_")]
            if len(rows) < PAGE_SIZE:
                return

    def reconciled(self, existing: dict | None, packed: dict[str, bytes]) -> dict | None:
        """The doc after applying what the listings say, or None when nothing changes."""
        # our own pickles of (facts, entry), made in _read_instance
        entries: dict[str, tuple[dict, dict]] = {name: pickle.loads(b) for name, b in packed.items()}
        external_id = (existing or {}).get(self.id_field)
        if external_id is None:
            if not entries:
                return None  # not a title doc
            external_id = next(iter(entries.values()))[0].get(self.id_field)
        doc, changed = existing, False
        listed = [name for name in entries if not self._newer_than_listing(existing, name)]
        # title-level facts (title, overview, images...) from one instance, the one the summary
        # comes from ("default", else the first by name), so two instances that tell them
        # differently do not flip the doc back and forth on every run
        first = preferred_instance(listed) if listed else None
        for name in sorted(sorted(listed), key=lambda n: n != first):
            facts, entry = entries[name]
            # a file now: any earlier Grab is over; otherwise keep grabbed (no queue info here)
            flags = {"grabbed": False} if entry.get("hasFile") else None
            new = merge(doc, self.kind, external_id, "reconcile", facts=facts if name == first else None,
                        instance=name, entry=entry, set_fields=flags)
            if new is not None:
                doc, changed = new, True
        for name in list(((doc or {}).get("instances") or {})):
            if name in self.complete and name not in entries and not self._newer_than_listing(existing, name):
                new = merge(doc, self.kind, external_id, "reconcile", remove_instance=name)
                if new is not None:
                    doc, changed = new, True
        return doc if changed else None

    def _newer_than_listing(self, existing: dict | None, instance: str) -> bool:
        """True when someone else (the worker, a webhook) wrote the doc after this instance's
        listing began: the listing is older news, so it neither overwrites nor removes."""
        return (existing is not None and existing.get("source") != "reconcile"
                and (existing.get("updated_at") or "") > self.listed_at.get(instance, "~"))

    def _queue(self, new: dict, existing: dict | None, entries: dict) -> None:
        self._writes.append(new)
        self._pending[new["_id"]] = {"existing": existing, "entries": entries}
        if len(self._writes) >= WRITE_BATCH:
            self._flush()

    def _classify(self, new: dict, existing: dict | None) -> str:
        if existing is None:
            return "added"
        if new.get("status") == "removed" and existing.get("status") != "removed":
            return "removed"
        return "updated"

    def _flush(self) -> None:
        if not self._writes:
            return
        writes, pending = self._writes, self._pending
        self._writes, self._pending = [], {}
        results = self.db.bulk_docs(writes)
        retry = {}
        for doc in writes:
            r = results.get(doc["_id"], {})
            if r.get("error") == "conflict":
                retry[doc["_id"]] = pending[doc["_id"]]["entries"]  # a webhook wrote meanwhile
            elif r.get("error"):
                self._write_error(doc["_id"], f"{r.get('error')}: {r.get('reason')}")
            else:
                self.result[self._classify(doc, pending[doc["_id"]]["existing"])] += 1
        if retry:
            self._retry(retry)

    def _retry(self, retry: dict[str, dict]) -> None:
        decided: dict[str, tuple[dict | None, dict | None]] = {}

        def change_for(did: str, entries: dict):
            def change(existing):
                new = self.reconciled(existing, entries)
                decided[did] = (existing, new)
                return new
            return change

        outcome = apply_changes(self.db, {did: change_for(did, e) for did, e in retry.items()})
        for did, res in outcome.items():
            existing, new = decided.get(did, (None, None))
            if res == "written" and new is not None:
                self.result[self._classify(new, existing)] += 1
            elif res == "unchanged":
                self.result["unchanged"] += 1
            else:
                self._write_error(did, res)

    def _write_error(self, did: str, reason: str) -> None:
        self.result["write_errors"] += 1
        if self.result["write_errors"] <= 20:  # the first few say enough; the count says the rest
            self.result["errors"].append({"doc": did, "code": "write_failed", "message": reason})
        log.warning("reconcile: could not write %s: %s", did, reason)

    def _progress(self, message: str) -> None:
        if time.monotonic() - self._last_progress >= PROGRESS_EVERY:
            self._last_progress = time.monotonic()
            log.info("reconcile: %s", message)


# --------------------------------------------------------------------------- a run


def reconcile(settings: Settings, couch: Couch) -> dict:
    """One full reconcile. Raises ReconcileBusy, CouchUnavailable/CouchError (CouchDB trouble)."""
    state_db = couch.db(settings.sidecar_db)
    lock = ReconcileLock(state_db)
    lock.acquire()
    started, t0 = now_iso(), time.monotonic()
    result: dict[str, Any] = {"added": 0, "updated": 0, "removed": 0, "unchanged": 0, "errors": [],
                              "write_errors": 0, "instances": {}, "started_at": started}
    log.info("reconcile started (%s)", lock.owner)
    try:
        for kind, arr in KINDS:
            if not settings.instances(arr):
                continue
            job = KindReconcile(settings, couch, kind, arr, result)
            job.read_libraries()
            job.reconcile_collection()
            del job  # let the compact library go before the next kind
    finally:
        result["duration"] = round(time.monotonic() - t0, 3)
        result["finished_at"] = now_iso()
        lock.release()
    outcome = "ok" if not result["errors"] else "partial"
    _record(state_db, result, outcome)
    log.info("reconcile %s in %.1f s: %d added, %d updated, %d removed, %d unchanged, %d errors", outcome,
             result["duration"], result["added"], result["updated"], result["removed"], result["unchanged"],
             len(result["errors"]), extra={"outcome": outcome})
    return result


def _record(db: Database, result: dict, outcome: str) -> None:
    metrics.RECONCILE_RUNS.labels(outcome).inc()
    metrics.RECONCILE_LAST.set(time.time())
    for key in ("added", "updated", "removed", "unchanged"):
        metrics.RECONCILE_LAST_DOCS.labels(key).set(result[key])
    metrics.RECONCILE_LAST_DOCS.labels("errors").set(len(result["errors"]))
    summary = {k: result[k] for k in ("added", "updated", "removed", "unchanged", "duration", "finished_at")}
    summary.update(_id=LAST_ID, outcome=outcome, errors=len(result["errors"]), finished_ts=time.time())
    for _ in range(3):
        try:
            current = db.get(LAST_ID)
            if current:
                summary["_rev"] = current["_rev"]
            db.put(dict(summary))
            return
        except Conflict:
            continue  # another process recorded at the same moment: read again
        except (CouchUnavailable, CouchError) as exc:
            log.warning("could not record the reconcile result: %s", exc)
            return


def last_result(db: Database) -> dict | None:
    """The summary the last reconcile (any process) left in `result:reconcile`."""
    return db.get(LAST_ID)


def run_reconcile(settings: Settings) -> dict:
    """The CLI entry (`python -m sidecar reconcile`): never raises for weather; the dict says."""
    couch = Couch(settings.couchdb_url, settings.couch_auth)
    try:
        return reconcile(settings, couch)
    except ReconcileBusy as exc:
        metrics.RECONCILE_RUNS.labels("busy").inc()
        return {"errors": [{"code": "reconcile_running", "message": str(exc)}], "busy": True}
    except (CouchUnavailable, CouchError) as exc:
        metrics.RECONCILE_RUNS.labels("failed").inc()
        return {"errors": [{"code": "couchdb_unavailable", "message": str(exc)}]}


# --------------------------------------------------------------------------- the endpoint


@bp.post("/reconcile")
@require_token
def reconcile_endpoint():
    settings: Settings = current_app.config["SETTINGS"]
    try:
        result = reconcile(settings, current_app.extensions["couch"])
    except ReconcileBusy as exc:
        metrics.RECONCILE_RUNS.labels("busy").inc()
        expires = exc.holder.get("expires")
        expires_at = iso(datetime.fromtimestamp(expires, timezone.utc)) if isinstance(expires, (int, float)) else None
        return jsonify(error="reconcile_running", message=str(exc), expires_at=expires_at), 409
    except (CouchUnavailable, CouchError):
        metrics.RECONCILE_RUNS.labels("failed").inc()
        raise  # the app answers 503 / 502
    # an instance that could not be listed is an upstream failure: 502 lets cron's curl -f notice
    return jsonify(result), (200 if not result["errors"] else 502)
