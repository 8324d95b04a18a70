"""Posters offline: a small poster stored on each collection doc as the attachment `poster.jpg`.

An attachment replicates with its doc, so a phone that synced the collection shows the poster
without a network (TMDb's `images.poster.remoteUrl` needs one). The image is Radarr's/Sonarr's own
resized copy, `poster-250.jpg` (MediaCoverService keeps poster-500 and poster-250 beside the full
poster): the doc's `images.poster.url` (`{urlBase}/MediaCover/{id}/poster.jpg?lastWrite=…`, on the
instance named in `images.instance`) with `-250` put before the extension. It is static content
of that Radarr/Sonarr, fetched with ServarrClient.media_cover.

Only when missing or changed: the doc keeps `poster: {source, instance, lastWrite, bytes, digest,
at}` beside the attachment. A poster is (re)fetched when the source path or instance differs, the
`lastWrite` in the url moved on (Radarr/Sonarr changed the file), or the attachment is not the one
`poster` describes (its digest differs, or it is gone), else nothing is asked or written.

Bounded: POSTERS=false turns it off; POSTERS_MAX_MB is a budget per collection database: a poster
that would take the total over it is skipped, logged and counted
(`sidecar_posters_total{outcome="over_budget"}`), and tried again at the next reconcile.
`sidecar_poster_bytes{kind}` is the total as this process last counted it.

Who runs it: reconcile after writing its docs (`sync_posters`, synchronous: the next run sees
the posters written) and the worker after a move (`submit`: a queue and one background thread,
so the move never waits for an image). A poster write changes only `poster` and the attachment
(not `source`, `updated_at` or `clock`). Failures are logged and counted, never fatal; what failed
is found missing again by the next reconcile.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import queue
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable
from urllib.parse import parse_qs, urlsplit

from . import metrics
from .arr import ArrError, ServarrClient, client_for
from .collection import now_iso
from .config import Settings
from .couch import Conflict, Couch, CouchError, CouchUnavailable, Database

log = logging.getLogger(__name__)

ATTACHMENT = "poster.jpg"
SIZE = 250  # Radarr's/Sonarr's smallest resized poster: poster-250.jpg
MAX_POSTER_BYTES = 1_000_000  # a -250 thumbnail is tens of KB; anything this large is not one
CHUNK = 50  # docs read, fetched and written together
FETCHERS = 4  # parallel MediaCover requests per sync
USAGE_TTL = 3600.0  # seconds a counted total stands before the worker counts the collection again
QUEUE_MAX = 1000  # worker jobs waiting (each a batch of ids); beyond that they are dropped for reconcile
LOG_FIRST = 5  # failures logged one by one per sync; the rest only counted


# --------------------------------------------------------------------------- what a doc needs


def source(doc: dict) -> tuple[str, str, str | None, str] | None:
    """(instance, thumbnail path, lastWrite, fetch url) of a doc's poster, or None when it has no
    local poster url. The path is the url's with `-250` before the extension."""
    images = doc.get("images") if isinstance(doc.get("images"), dict) else {}
    poster = images.get("poster") if isinstance(images.get("poster"), dict) else {}
    url = poster.get("url")
    instance = images.get("instance") or doc.get("instance")
    if not isinstance(url, str) or "/mediacover/" not in url.lower() or not instance:
        return None
    parts = urlsplit(url)
    head, dot, ext = parts.path.rpartition(".")
    if not dot or "/" in ext:
        return None
    path = f"{head}-{SIZE}.{ext}"
    last_write = (parse_qs(parts.query).get("lastWrite") or [None])[0]
    return instance, path, last_write, path + (f"?{parts.query}" if parts.query else "")


def stored_bytes(doc: dict | None) -> int:
    """Bytes of the doc's poster attachment (0 without one), from its stub."""
    att = ((doc or {}).get("_attachments") or {}).get(ATTACHMENT)
    return int(att.get("length") or 0) if isinstance(att, dict) else 0


def wanted(doc: dict) -> bool:
    """True when the doc's poster is missing or not the one its images name now. A removed title
    (in no instance) gets none: its Radarr/Sonarr no longer serves it."""
    if not doc.get("instances"):
        return False
    src = source(doc)
    if src is None:
        return False
    instance, path, last_write, _ = src
    meta = doc.get("poster") if isinstance(doc.get("poster"), dict) else {}
    att = (doc.get("_attachments") or {}).get(ATTACHMENT)
    return not (isinstance(att, dict) and meta.get("source") == path and meta.get("instance") == instance
                and meta.get("lastWrite") == last_write and att.get("digest") == meta.get("digest"))


def digest(data: bytes) -> str:
    """CouchDB's (and PouchDB's) attachment digest: md5 of the bytes, base64, prefixed md5-."""
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


# --------------------------------------------------------------------------- the budget


class _Usage:
    """Bytes of posters per collection database, as this process knows them: counted from the
    docs (reconcile passes what it read; the worker counts at most once per USAGE_TTL) and
    moved on by every poster this process writes."""

    def __init__(self):
        self._lock = threading.Lock()
        self._known: dict[tuple[str, str], list] = {}  # (couch url, db) -> [counted at, bytes]

    def set(self, db: Database, used: int) -> None:
        with self._lock:
            self._known[(db.couch.url, db.name)] = [time.monotonic(), int(used)]

    def get(self, db: Database) -> int:
        key = (db.couch.url, db.name)
        with self._lock:
            entry = self._known.get(key)
            if entry is not None and time.monotonic() - entry[0] < USAGE_TTL:
                return entry[1]
        used = count_bytes(db)
        self.set(db, used)
        return used

    def add(self, db: Database, delta: int) -> None:
        with self._lock:
            entry = self._known.get((db.couch.url, db.name))
            if entry is not None:
                entry[1] += delta


USAGE = _Usage()


def count_bytes(db: Database, page: int = 500) -> int:
    """The poster bytes of a whole collection database (paged `_all_docs`, attachment stubs)."""
    return sum(stored_bytes(r.get("doc")) for rows in db.all_docs_pages(page) for r in rows)


# --------------------------------------------------------------------------- one sync


def _collection(settings: Settings, couch: Couch, kind: str) -> Database:
    return couch.db(settings.movies_db if kind == "movie" else settings.series_db)


def _ids(docs: Iterable[str | dict]) -> list[str]:
    seen, out = set(), []
    for d in docs:
        did = d if isinstance(d, str) else d.get("_id")
        if did and did not in seen:
            seen.add(did)
            out.append(did)
    return out


def _with_poster(doc: dict, src: tuple, data: bytes, ctype: str) -> dict:
    instance, path, last_write, _ = src
    new = dict(doc)
    new["poster"] = {"source": path, "instance": instance, "lastWrite": last_write, "bytes": len(data),
                     "digest": digest(data), "at": now_iso()}
    atts = {k: v for k, v in (doc.get("_attachments") or {}).items() if k != ATTACHMENT}  # stubs stay
    atts[ATTACHMENT] = {"content_type": ctype, "data": base64.b64encode(data).decode("ascii")}
    new["_attachments"] = atts
    return new


class _Sync:
    """One sync_posters call: clients per instance, counts, the budget."""

    def __init__(self, settings: Settings, couch: Couch, kind: str, used_bytes: int | None):
        self.settings, self.kind = settings, kind
        self.arr = "radarr" if kind == "movie" else "sonarr"
        self.db = _collection(settings, couch, kind)
        if used_bytes is not None:
            USAGE.set(self.db, used_bytes)
        self._used: int | None = None  # counted when first needed: a sync with nothing to store reads nothing
        self.counts: Counter = Counter()
        self.clients: dict[str, ServarrClient] = {}
        self.failures: list[str] = []
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        if self._used is None:
            self._used = USAGE.get(self.db)
        return self._used

    @used.setter
    def used(self, value: int) -> None:
        self._used = value

    def client(self, name: str) -> ServarrClient | None:
        with self._lock:
            if name not in self.clients:
                inst = self.settings.instance(self.arr, name)
                if inst is None or inst.name != name:
                    return None
                self.clients[name] = client_for(inst, timeout=self.settings.arr_timeout)
            return self.clients[name]

    def fetch(self, doc: dict) -> tuple[dict, tuple, bytes, str] | None:
        src = source(doc)
        client = self.client(src[0])
        if client is None:
            self.failed(doc["_id"], f"no {self.arr} instance named {src[0]!r} is configured")
            return None
        try:
            data, ctype = client.media_cover(src[3], max_bytes=MAX_POSTER_BYTES)
        except ArrError as exc:
            self.failed(doc["_id"], exc.message)
            return None
        return doc, src, data, ctype

    def failed(self, did: str, why: str) -> None:
        with self._lock:
            self.counts["failed"] += 1
            if len(self.failures) < LOG_FIRST:
                self.failures.append(f"{did}: {why}")

    def fits(self, doc: dict, data: bytes) -> bool:
        return self.used - stored_bytes(doc) + len(data) <= self.settings.posters_max_bytes

    def chunk(self, ids: list[str], pool: ThreadPoolExecutor) -> None:
        current = self.db.docs_by_id(ids)
        todo = [current[i] for i in ids if i in current and wanted(current[i])]
        if not todo:
            return
        writes: dict[str, tuple] = {}
        for got in pool.map(self.fetch, todo):
            if got is None:
                continue
            doc, src, data, ctype = got
            if not self.fits(doc, data):
                self.counts["over_budget"] += 1
                continue
            writes[doc["_id"]] = got
            self.used += len(data) - stored_bytes(doc)  # reserved; given back if the write fails
        if not writes:
            return
        bodies = [_with_poster(doc, src, data, ctype) for doc, src, data, ctype in writes.values()]
        results = self.db.bulk_docs(bodies)
        for did, (doc, src, data, ctype) in writes.items():
            r = results.get(did, {})
            if r.get("error") == "conflict":
                r = self._again(did, src, data, ctype)
            if r.get("error"):
                self.used -= len(data) - stored_bytes(doc)
                self.failed(did, f"CouchDB: {r.get('error')} {r.get('reason') or ''}".strip())
            elif r.get("skipped"):
                self.used -= len(data) - stored_bytes(doc)
            else:
                self.counts["stored"] += 1
                USAGE.add(self.db, len(data) - stored_bytes(doc))

    def _again(self, did: str, src: tuple, data: bytes, ctype: str, attempts: int = 3) -> dict:
        """A conflict: somebody wrote the doc meanwhile (their write kept the attachment stubs).
        Read it again and store the same bytes if it still names the same poster."""
        for _ in range(attempts):
            doc = self.db.get(did)
            if doc is None or not wanted(doc) or source(doc)[:3] != src[:3]:
                return {"skipped": True}  # gone, or now another poster: the next sync decides
            try:
                self.db.put(_with_poster(doc, src, data, ctype))
                return {}
            except Conflict:
                continue
        return {"error": "conflict", "reason": f"written by others {attempts} times meanwhile"}

    def close(self) -> None:
        for c in self.clients.values():
            c.session.close()


def sync_posters(settings: Settings, couch: Couch, kind: str, docs: Iterable[str | dict],
                 used_bytes: int | None = None) -> dict[str, int]:
    """Store the posters of these collection docs (ids, or docs: they are read again for their
    current revision) where missing or changed. used_bytes: the collection's poster bytes when
    the caller knows them (reconcile counts them from the docs it reads); else counted here.
    Returns counts {stored, over_budget, failed} (only those that happened). Raises only for
    CouchDB trouble reading or writing."""
    ids = _ids(docs)
    if not settings.posters or not ids:
        return {}
    sync = _Sync(settings, couch, kind, used_bytes)
    try:
        with ThreadPoolExecutor(max_workers=FETCHERS, thread_name_prefix="poster") as pool:
            for i in range(0, len(ids), CHUNK):
                sync.chunk(ids[i:i + CHUNK], pool)
    finally:
        sync.close()
        if sync._used is not None:
            metrics.POSTER_BYTES.labels(kind).set(sync.used)
        for outcome, n in sync.counts.items():
            metrics.POSTERS.labels(kind, outcome).inc(n)
    counts = dict(sync.counts)
    if counts.get("over_budget"):
        log.warning("posters: %d not stored in %s: the budget of %.1f MB (POSTERS_MAX_MB) is used up (%.1f MB)",
                    counts["over_budget"], sync.db.name, settings.posters_max_bytes / 1048576, sync.used / 1048576,
                    extra={"outcome": "over_budget"})
    if counts.get("failed"):
        log.warning("posters: %d of %s could not be stored (tried again at the next reconcile): %s",
                    counts["failed"], sync.db.name, "; ".join(sync.failures), extra={"outcome": "failed"})
    if counts.get("stored"):
        log.info("posters: %d stored in %s (%.1f MB in all)", counts["stored"], sync.db.name, sync.used / 1048576)
    return counts


# --------------------------------------------------------------------------- the worker's queue


class PosterQueue:
    """Jobs (settings, couch, kind, ids) worked off by one daemon thread, started on first use."""

    def __init__(self, maxsize: int = QUEUE_MAX):
        self.jobs: queue.Queue = queue.Queue(maxsize=maxsize)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, settings: Settings, couch: Couch, kind: str, docs: Iterable[str | dict]) -> bool:
        ids = _ids(docs)
        if not settings.posters or not ids:
            return False
        try:
            self.jobs.put_nowait((settings, couch, kind, ids))
        except queue.Full:
            metrics.POSTERS.labels(kind, "dropped").inc(len(ids))
            log.warning("posters: queue full, %d left for the next reconcile", len(ids))
            return False
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="posters", daemon=True)
                self._thread.start()
        return True

    def _run(self) -> None:
        while True:
            settings, couch, kind, ids = self.jobs.get()
            try:
                sync_posters(settings, couch, kind, ids)
            except (CouchUnavailable, CouchError) as exc:
                metrics.POSTERS.labels(kind, "failed").inc(len(ids))
                log.warning("posters: CouchDB trouble (%s); %d left for the next reconcile", exc, len(ids))
            except Exception:  # a bug here must not end the thread
                metrics.POSTERS.labels(kind, "failed").inc(len(ids))
                log.exception("posters: unexpected error; %d left for the next reconcile", len(ids))
            finally:
                self.jobs.task_done()

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted job is done; False on timeout (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while self.jobs.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True


QUEUE = PosterQueue()


def submit(settings: Settings, couch: Couch, kind: str, docs: Iterable[str | dict]) -> bool:
    """The worker's call after it wrote collection docs: their posters are stored in the
    background (never delaying the move). docs: ids or docs. False when off or not queued."""
    return QUEUE.submit(settings, couch, kind, docs)
