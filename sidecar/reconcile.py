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
import re
import socket
import threading
import time
import uuid
from array import array
from bisect import bisect_left
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator

import requests
from flask import Blueprint, current_app, jsonify

from . import metrics
from .arr import ArrError, ServarrClient, TransientArrError, client_for
from .auth import require_token
from . import posters
from .collection import apply_changes, doc_id, facts_from_resource, iso, merge, now_iso
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
    return iter_listing(client, client.open_listing())


def iter_listing(client: ServarrClient, resp: requests.Response) -> Iterator[dict]:
    """The resources of an opened listing (ServarrClient.open_listing), as they arrive; closes
    the response. Raises ArrError."""
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

UNCHANGED, ADDED, UPDATED, REMOVED = range(4)  # what a run did to a doc (codes in the seen arrays)
OUTCOMES = ("unchanged", "added", "updated", "removed")
ID_PAGE = 5000  # ids per _all_docs page of the removal pass (ids only: ~100 bytes a row)
POSTER_BATCH = 5000  # doc ids per posters.sync_posters call


def _combine(before: int | None, now: int) -> int:
    """What a run did to a doc, from what an earlier pass of the same run did (before) and what
    this pass does (now), both relative to the doc as each pass read it."""
    if before is None or before == UNCHANGED:
        return now
    if before == ADDED:
        return ADDED
    if before == UPDATED:
        return REMOVED if now == REMOVED else UPDATED
    return REMOVED if now == UNCHANGED else UPDATED  # removed earlier in the run, live again now


class KindReconcile:
    """Reconcile one kind (movies or series) over all instances of its arr, in memory that does
    not grow with the library.

    Each instance's listing is streamed and worked off in chunks of PAGE_SIZE titles: the chunk's
    collection docs are read by key (not at all on a first import into an empty collection),
    merged, and what changed is written with one `_bulk_docs`; then the chunk is forgotten. What
    stays per title is one 64-bit int per instance (`seen`: external id, whether the listing's
    entry was applied, what the run did to the doc), sorted once the listing is over. Instances
    are worked off in preference order ("default", then by name): title facts come from the
    first that lists a title, as preferred_instance() says.

    Removals come last and only for instances whose listing finished: the collection is paged by
    id only (`_all_docs` without docs) and the docs no listing named are read and lose those
    instances; docs a later listing should have named (`claims`, ints too) are read again."""

    def __init__(self, settings: Settings, couch: Couch, kind: str, arr: str, result: dict):
        self.settings, self.kind, self.arr = settings, kind, arr
        self.id_field = "tmdbId" if kind == "movie" else "tvdbId"
        self.prefix = "tmdb:" if kind == "movie" else "tvdb:"
        self.db = couch.db(settings.movies_db if kind == "movie" else settings.series_db)
        self.result = result
        # preference order: the first instance that lists a title gives its title facts
        self.order = sorted(settings.instances(arr), key=lambda i: (i.name != "default", i.name))
        self.complete: set[str] = set()  # instances whose listing finished: only these can lose titles
        # when each listing started: a doc a webhook or the worker wrote after that knows better
        self.listed_at: dict[str, str] = {}
        self.done: list[str] = []  # instances worked off, in order
        self.seen: dict[str, array] = {}  # instance -> sorted id << 3 | applied << 2 | outcome
        self.claims: dict[str, array] = {i.name: array("q") for i in self.order}  # ids naming a later instance
        self._opened: tuple[ArrInstance, ServarrClient, Any] | None = None  # a listing opened, not yet read
        self._empty: bool | None = None  # the collection held no title when the run began
        self._writes: list[dict] = []
        self._pending: dict[str, dict] = {}  # id -> how to compute the doc again, what it was
        self._last_progress = time.monotonic()
        # posters (sidecar/posters.py): ids of docs whose poster is missing or changed, and the
        # bytes of the posters the collection holds (counted from the docs read anyway)
        self.poster_ids = array("q")
        self.poster_bytes = 0

    # --- the listings
    def read_libraries(self) -> None:
        """Open the first listing: the run's view of the library begins now (a doc written after
        this is newer than the listing). reconcile_collection() streams it, and the others."""
        if self.order and self._opened is None:
            self._opened = self._open(self.order[0])

    def _open(self, inst: ArrInstance) -> tuple[ArrInstance, ServarrClient, Any]:
        client = client_for(inst, timeout=self.settings.arr_timeout)
        self.listed_at[inst.name] = now_iso()
        try:
            # open_listing maps HTTP and connection errors to ArrError and leaves the body unread
            return inst, client, client.open_listing()
        except ArrError as exc:
            return inst, client, exc

    def close(self) -> None:
        if self._opened is not None:
            _, client, resp = self._opened
            self._opened = None
            if not isinstance(resp, ArrError):
                resp.close()
            client.session.close()

    # --- phase 1: each listing, in chunks
    def reconcile_collection(self) -> None:
        try:
            if self._empty is None:
                rows = self.db.all_docs(include_docs=False, limit=1, startkey=self.prefix,
                                        endkey=self.prefix + "\ufff0")
                self._empty = not rows
            for n, inst in enumerate(self.order):
                opened = self._opened if self._opened is not None and self._opened[0] is inst else self._open(inst)
                self._opened = opened
                # a first import reads nothing back: the first listing goes into an empty
                # collection (a doc written meanwhile makes its write a conflict, merged then)
                self._read_instance(*opened, blind=self._empty and n == 0)
                self.close()
            if self.complete:  # else nothing can be removed: docs no listing named are not looked at
                self._remove_unlisted()
            self._flush()
        finally:
            self.close()
        self.sync_posters()

    def _read_instance(self, inst: ArrInstance, client: ServarrClient, resp, blind: bool) -> None:
        label = f"{self.arr}:{inst.name}"
        t0 = time.monotonic()
        count = 0
        seen = array("q")
        chunk: dict[int, tuple[dict, dict]] = {}
        try:
            if isinstance(resp, ArrError):
                raise resp  # the listing could not be opened
            for res in iter_listing(client, resp):
                external_id = res.get(self.id_field)
                if not isinstance(external_id, int) or isinstance(external_id, bool) or external_id <= 0:
                    continue  # no usable id: nothing to key a doc by
                got = facts_from_resource(self.kind, res)
                chunk[external_id] = (got["facts"], got["entry"])
                count += 1
                if len(chunk) >= PAGE_SIZE:
                    self._listed_chunk(inst.name, chunk, seen, blind)
                    chunk = {}
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
        if chunk:
            self._listed_chunk(inst.name, chunk, seen, blind)
        self.result["instances"][label] = count
        self.seen[inst.name] = array("q", sorted(seen))
        self.done.append(inst.name)

    def _listed_chunk(self, name: str, chunk: dict[int, tuple[dict, dict]], seen: array, blind: bool) -> None:
        """Merge one chunk of a listing into the collection: read, merge, write, then remember
        each title as one int."""
        ids = [self.doc_id(x) for x in chunk]
        current = {} if blind else self.db.docs_by_id(ids)
        later = {i.name for i in self.order} - set(self.done) - {name}
        codes: list[tuple[int, list]] = []
        for did, (x, (facts, entry)) in zip(ids, chunk.items()):
            existing = current.get(did)
            earlier_applied, before = self._earlier(x)
            if before is None:  # the first time this run reads the doc
                self._count_poster_bytes(existing)
            for other in ((existing or {}).get("instances") or {}):
                if other in later:
                    self.claims[other].append(x)  # if that listing does not name it, it loses that instance
            code = [False, before]  # [entry applied, outcome before this pass, outcome after it (appended)]

            def compute(doc, x=x, facts=facts, entry=entry, facts_ok=not earlier_applied, code=code):
                new, code[0] = self._reconciled(doc, x, name, facts, entry, facts_ok)
                return new

            self._decide(did, x, existing, compute(existing), compute, code)
            codes.append((x, code))
        self._flush()
        for x, (applied, _before, outcome) in codes:
            seen.append(x << 3 | int(applied) << 2 | outcome)
        self._progress(f"{self.db.name}: {len(seen)} docs compared")

    def _decide(self, did: str, x: int, existing: dict | None, new: dict | None, compute, code: list) -> None:
        """Queue the write of a doc that changes, or count it unchanged. code: [applied, before,
        (outcome, filled in when known)]."""
        if new is None:
            code.append(self._count(code[1], UNCHANGED))
            self._note_poster(x, existing)
        else:
            self._writes.append(new)
            self._pending[did] = {"x": x, "existing": existing, "compute": compute, "code": code}
            if len(self._writes) >= WRITE_BATCH:
                self._flush()

    def _reconciled(self, existing: dict | None, x: int, name: str | None, facts: dict | None, entry: dict | None,
                    facts_ok: bool) -> tuple[dict | None, bool]:
        """(the doc after applying this instance's entry and the removals that are due, or None
        when nothing changes; whether the entry was applied)."""
        doc, changed, applied = existing, False, False
        if name is not None and not self._newer_than_listing(existing, name):
            applied = True
            # a file now: any earlier Grab is over; otherwise keep grabbed (no queue info here)
            flags = {"grabbed": False} if entry.get("hasFile") else None
            new = merge(doc, self.kind, x, "reconcile", facts=facts if facts_ok else None, instance=name,
                        entry=entry, set_fields=flags)
            if new is not None:
                doc, changed = new, True
        # instances whose complete listing, worked off earlier in this run, did not name the title
        for other in list(((doc or {}).get("instances") or {})):
            if (other != name and other in self.complete and other in self.seen and not self._named(other, x)
                    and not self._newer_than_listing(existing, other)):
                new = merge(doc, self.kind, x, "reconcile", remove_instance=other)
                if new is not None:
                    doc, changed = new, True
        return (doc if changed else None), applied

    def _seen_code(self, instance: str, x: int) -> int | None:
        """The int this instance's listing (worked off already) left for title x, or None if it
        did not name it (a binary search in the sorted `seen` array)."""
        arr = self.seen[instance]
        i = bisect_left(arr, x << 3)
        return arr[i] if i < len(arr) and arr[i] >> 3 == x else None

    def _named(self, instance: str, x: int) -> bool:
        """Did this instance's listing (worked off already) name title x?"""
        return self._seen_code(instance, x) is not None

    def _earlier(self, x: int) -> tuple[bool, int | None]:
        """(whether an earlier listing of this run applied its entry to title x, what the run
        did to the doc so far: None when no listing named it yet)."""
        applied, outcome = False, None
        for name in self.done:
            code = self._seen_code(name, x)
            if code is not None:
                applied = applied or bool(code >> 2 & 1)
                outcome = code & 3  # the later listing's code includes the earlier ones'
        return applied, outcome

    def _newer_than_listing(self, existing: dict | None, instance: str) -> bool:
        """True when someone else (the worker, a webhook) wrote the doc after this instance's
        listing began: the listing is older news, so it neither overwrites nor removes."""
        return (existing is not None and existing.get("source") != "reconcile"
                and (existing.get("updated_at") or "") > self.listed_at.get(instance, "~"))

    def doc_id(self, x: int) -> str:
        return doc_id(self.kind, x)

    # --- phase 2: titles a complete listing no longer names
    def _remove_unlisted(self) -> None:
        """Docs no listing named (found by paging the collection's ids), and docs a later
        listing was expected to name but did not (claims), lose the instances whose listing
        finished without them."""
        for name in self.done:
            if name in self.complete and self.claims[name]:
                gone = array("q", sorted({x for x in self.claims[name] if not self._named(name, x)}))
                self.claims[name] = array("q")
                for i in range(0, len(gone), PAGE_SIZE):
                    self._unlisted_chunk(list(gone[i:i + PAGE_SIZE]))
        # every doc no listing named: read when a finished listing could have lost it, else only counted
        batch: list[int] = []
        for rows in self.db.all_docs_pages(ID_PAGE, include_docs=False):
            for r in rows:
                did = r["id"]
                if did.startswith("_"):
                    continue
                x = self._external_id(did)
                if x is not None and self._earlier(x)[1] is not None:
                    continue  # named by a listing: worked off above
                if x is None:
                    self.result["unchanged"] += 1  # not a title doc
                    continue
                batch.append(x)
                if len(batch) >= PAGE_SIZE:
                    self._unlisted_chunk(batch)
                    batch = []
        if batch:
            self._unlisted_chunk(batch)

    def _external_id(self, did: str) -> int | None:
        if not did.startswith(self.prefix):
            return None
        try:
            x = int(did[len(self.prefix):])
        except ValueError:
            return None
        return x if x > 0 and str(x) == did[len(self.prefix):] else None

    def _unlisted_chunk(self, xs: list[int]) -> None:
        ids = [self.doc_id(x) for x in xs]
        current = self.db.docs_by_id(ids)
        for did, x in zip(ids, xs):
            existing = current.get(did)
            if existing is None:
                continue  # deleted meanwhile
            _, before = self._earlier(x)
            if before is None:
                self._count_poster_bytes(existing)

            def compute(doc, x=x):
                return self._reconciled(doc, x, None, None, None, False)[0]

            self._decide(did, x, existing, compute(existing), compute, [False, before])
        self._flush()

    # --- writing and counting
    def _count(self, before: int | None, now: int) -> int:
        """Count what the run did to a doc (taking back what an earlier pass counted for it)."""
        outcome = _combine(before, now)
        if before is not None:
            self.result[OUTCOMES[before]] -= 1
        self.result[OUTCOMES[outcome]] += 1
        return outcome

    def _classify(self, new: dict, existing: dict | None) -> int:
        if existing is None:
            return ADDED
        if new.get("status") == "removed" and existing.get("status") != "removed":
            return REMOVED
        return UPDATED

    def _flush(self) -> None:
        if not self._writes:
            return
        writes, pending = self._writes, self._pending
        self._writes, self._pending = [], {}
        results = self.db.bulk_docs(writes)
        retry = {}
        for doc in writes:
            p = pending[doc["_id"]]
            r = results.get(doc["_id"], {})
            if r.get("error") == "conflict":
                retry[doc["_id"]] = p  # a webhook wrote meanwhile
            elif r.get("error"):
                self._write_error(doc["_id"], f"{r.get('error')}: {r.get('reason')}", p)
            else:
                p["code"].append(self._count(p["code"][1], self._classify(doc, p["existing"])))
                self._note_poster(p["x"], doc)
        if retry:
            self._retry(retry)

    def _retry(self, retry: dict[str, dict]) -> None:
        decided: dict[str, tuple[dict | None, dict | None]] = {}

        def change_for(did: str, p: dict):
            def change(existing):
                new = p["compute"](existing)
                decided[did] = (existing, new)
                return new
            return change

        outcome = apply_changes(self.db, {did: change_for(did, p) for did, p in retry.items()})
        for did, res in outcome.items():
            p = retry[did]
            existing, new = decided.get(did, (None, None))
            if res == "written" and new is not None:
                p["code"].append(self._count(p["code"][1], self._classify(new, existing)))
                self._note_poster(p["x"], new)
            elif res == "unchanged":
                p["code"].append(self._count(p["code"][1], UNCHANGED))
                self._note_poster(p["x"], existing)
            else:
                self._write_error(did, res, p)

    def _write_error(self, did: str, reason: str, p: dict) -> None:
        # the doc stays as it was: counted unchanged (or as an earlier pass of the run left it)
        p["code"].append(self._count(p["code"][1], UNCHANGED))
        self.result["write_errors"] += 1
        if self.result["write_errors"] <= 20:  # the first few say enough; the count says the rest
            self.result["errors"].append({"doc": did, "code": "write_failed", "message": reason})
        log.warning("reconcile: could not write %s: %s", did, reason)

    # --- posters
    def _count_poster_bytes(self, existing: dict | None) -> None:
        if self.settings.posters:
            self.poster_bytes += posters.stored_bytes(existing)

    def _note_poster(self, x: int, doc: dict | None) -> None:
        if self.settings.posters and doc is not None and posters.wanted(doc):
            self.poster_ids.append(x)

    def sync_posters(self) -> None:
        """Store the posters found missing or changed, after the docs are written (failures are
        logged and counted, never fatal: the next run tries them again)."""
        if not self.settings.posters:
            return
        xs = sorted(set(self.poster_ids))
        self.poster_ids = array("q")
        total = self.result.setdefault("posters", {"stored": 0, "over_budget": 0, "failed": 0})
        for i in range(0, max(len(xs), 1), POSTER_BATCH):
            ids = [self.doc_id(x) for x in xs[i:i + POSTER_BATCH]]
            try:
                # the budget: the bytes counted from the docs read; later batches go on from there
                counts = posters.sync_posters(self.settings, self.db.couch, self.kind, ids,
                                              used_bytes=self.poster_bytes if i == 0 else None)
            except Exception:  # posters are never worth failing a reconcile for
                log.exception("reconcile: storing posters for %s failed", self.db.name)
                counts = {"failed": len(ids)}
            for key, n in counts.items():
                total[key] = total.get(key, 0) + n

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
