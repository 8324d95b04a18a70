"""Download progress: while titles are grabbed, Radarr's/Sonarr's download queues onto their
collection docs.

One DownloadPoller per collection database (a job of the worker, see Worker.jobs): movies read
every Radarr instance's queue, series every Sonarr's. What it writes on a collection doc:

    "download": {"progress": 0.42, "size": 4.2e9, "sizeleft": 2.4e9, "eta": "2026-…Z",
                 "state": "downloading", "status": "downloading", "protocol": "torrent",
                 "client": "qBittorrent"}

- `progress` 0–1 from size/sizeleft, summed over every queue record of the title (a series: its
  episodes; a title in two instances: both); `eta` the latest `estimatedCompletionTime`;
  `state` the most urgent `trackedDownloadState` (failed > failedPending > importBlocked >
  importPending > downloading > importing > imported), `status` the queue `status` likewise,
  `protocol`, `client` (downloadClient names, comma-joined); series add `episodes` (records).
- A download that needs a person (trackedDownloadState importBlocked / failedPending / failed,
  trackedDownloadStatus warning or error, queue status warning / failed: what Radarr's
  ManualInteractionRequired is about) also gets `"attention": true` and `"message"`: the queue's
  statusMessages and errorMessage, first lines only, at most 300 characters.
- Written only when it moved by a visible step: progress by ≥ 1 point, or state, status,
  attention, message, size, protocol, client or episode count changed (not the eta alone, which
  moves on every read), so phones replicate little.
- Gone (the field removed) when the title is no longer grabbed (a file was imported: hasFile,
  status downloaded; or the grab was undone) or it left every queue.

Cheap when idle: which titles are grabbed comes from the collection's `by_status` view
(keys ["grabbed", title]), queried at start and after a change on the collection's `_changes`
feed (ids only; on CouchDB 3 only docs that are grabbed or carry a `download`, so a grab that
ends before any progress was shown is seen at the next REFRESH_EVERY read) that was not our own
write, at most once a second; no queue is read while none
is grabbed. While some are, each instance's queue is read every QUEUE_POLL_INTERVAL seconds
(all pages, the title embedded: `includeMovie` / `includeSeries`), and only titles whose download
moved visibly against what their doc shows (kept in memory) cost a CouchDB request. Writes go
through collection.merge (the `clock` stamps and `status` hold) with apply_changes (a conflict is
read again and retried). Radarr/Sonarr down: a log line (again every minute while it lasts) and
the next poll tries again; nothing is removed on the word of an instance that did not answer.

Which docs carry a `download` is kept in the sidecar's database
(`checkpoint:<collection db>:downloads-<WORKER_ID>`), so a worker restarted after the download
finished still removes it.
"""
from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

from . import metrics
from .arr import ArrError, ServarrClient, client_for
from .collection import apply_changes, iso, merge, now_iso
from .config import Settings
from .couch import Conflict, Couch, CouchError, CouchUnavailable
from .feeds import ChangeFeed

log = logging.getLogger(__name__)

SOURCE = "queue"  # the collection doc's `source` after a write of ours
STEP = 0.01  # the smallest progress change worth a write (1 point)
PAGE_SIZE = 500  # queue records per request: one page for most homes
MAX_PAGES = 20
MESSAGE_MAX = 300
REFRESH_GAP = 1.0  # seconds: at most one by_status query this often, however busy the feed
REFRESH_EVERY = 60.0  # seconds: the grabbed set is read again this often while it is not empty
# the changes that matter to this job, as a Mango selector for CouchDB 3's `_selector` feed
# filter: a doc that is grabbed, or that carries a `download`. A wish's move, a poster or a
# reconcile of titles not being downloaded is no news, and each would cost a by_status query; a
# grab that ends with no `download` shown yet is left to the REFRESH_EVERY read (the queues are
# read for it until then, nothing is shown wrong)
NEWS_SELECTOR = {"$or": [{"status": "grabbed"}, {"download": {"$exists": True}}]}
FAIL_LOG_EVERY = 60.0  # seconds between two log lines about the same unreadable queue

STATE_ORDER = ("failed", "failedPending", "importBlocked", "importPending", "downloading", "importing", "imported",
               "ignored")
STATUS_ORDER = ("failed", "warning", "downloadClientUnavailable", "paused", "downloading", "queued", "delay",
                "fallback", "completed", "unknown")
ATTENTION_STATES = ("importBlocked", "failedPending", "failed")
ATTENTION_STATUSES = ("warning", "failed")
VISIBLE_FIELDS = ("state", "status", "attention", "message", "size", "protocol", "client", "episodes")

_UNKNOWN = object()  # a doc whose `download` this poller has not seen yet


# --------------------------------------------------------------------------- what the doc shows


def _first_line(text: Any, limit: int = 200) -> str:
    """A message's first line, whitespace collapsed, cut to `limit` (no stack traces)."""
    if not isinstance(text, str):
        return ""
    line = next((ln for ln in text.strip().splitlines() if ln.strip()), "")
    line = " ".join(line.split())
    return line if len(line) <= limit else line[:limit - 1].rstrip() + "…"


def needs_attention(record: dict) -> bool:
    return (record.get("trackedDownloadState") in ATTENTION_STATES
            or record.get("trackedDownloadStatus") in ("warning", "error")
            or record.get("status") in ATTENTION_STATUSES)


def attention_message(records: list[dict]) -> str:
    """The queue's own words for what blocks these downloads: statusMessages' messages (their
    title, usually the release name, when they have none) and errorMessage; first lines,
    each once, at most MESSAGE_MAX characters."""
    parts: list[str] = []
    for r in records:
        if not needs_attention(r):
            continue
        for m in r.get("statusMessages") or []:
            if not isinstance(m, dict):
                continue
            texts = [_first_line(x) for x in m.get("messages") or []] or [_first_line(m.get("title"))]
            parts += [t for t in texts if t]
        parts.append(_first_line(r.get("errorMessage")))
    seen, unique = set(), []
    for p in parts:
        if p and p not in seen:
            seen.add(p)
            unique.append(p)
    text = "; ".join(unique)
    return text if len(text) <= MESSAGE_MAX else text[:MESSAGE_MAX - 1].rstrip() + "…"


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _eta(value: Any) -> str | None:
    """estimatedCompletionTime as the docs store times (ISO 8601, ms, Z); None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        # Radarr writes up to 7 fractional digits; Python before 3.11 reads 6 at most
        t = datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return iso(t.astimezone(timezone.utc))


def _ranked(values: list[str | None], order: tuple[str, ...]) -> str | None:
    present = [v for v in values if isinstance(v, str) and v]
    if not present:
        return None
    return min(present, key=lambda v: (order.index(v) if v in order else len(order), v))


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def summarize(kind: str, records: list[dict]) -> dict:
    """The `download` field for one title from its queue records (all instances, all episodes)."""
    size = sum(max(_number(r.get("size")), 0.0) for r in records)
    left = sum(min(max(_number(r.get("sizeleft")), 0.0), max(_number(r.get("size")), 0.0)) for r in records)
    out: dict[str, Any] = {"progress": round(1 - left / size, 4) if size > 0 else 0.0,
                           "size": int(size), "sizeleft": int(left)}
    etas = [e for e in (_eta(r.get("estimatedCompletionTime")) for r in records) if e]
    if etas:
        out["eta"] = max(etas)
    state = _ranked([r.get("trackedDownloadState") for r in records], STATE_ORDER)
    status = _ranked([r.get("status") for r in records], STATUS_ORDER)
    if state:
        out["state"] = state
    if status:
        out["status"] = status
    protocols = sorted({r["protocol"] for r in records if isinstance(r.get("protocol"), str)})
    if protocols:
        out["protocol"] = protocols[0] if len(protocols) == 1 else "mixed"
    clients = list(dict.fromkeys(r["downloadClient"] for r in records if isinstance(r.get("downloadClient"), str)))
    if clients:
        out["client"] = ", ".join(clients)
    if kind == "series":
        out["episodes"] = len(records)
    if any(needs_attention(r) for r in records):
        out["attention"] = True
        out["message"] = attention_message(records)
    return out


def visible(old: dict | None, new: dict | None) -> bool:
    """Whether going from `old` to `new` is worth a write a phone replicates."""
    if old is None or new is None:
        return (old is None) != (new is None)
    if any(old.get(k) != new.get(k) for k in VISIBLE_FIELDS):
        return True
    return abs(_number(new.get("progress")) - _number(old.get("progress"))) >= STEP - 1e-9


def record_doc_id(kind: str, record: dict) -> str | None:
    """The collection doc a queue record belongs to, from the embedded movie/series."""
    res = record.get("movie" if kind == "movie" else "series")
    ext = (res or {}).get("tmdbId" if kind == "movie" else "tvdbId") if isinstance(res, dict) else None
    if isinstance(ext, int) and not isinstance(ext, bool) and ext > 0:
        return f"tmdb:{ext}" if kind == "movie" else f"tvdb:{ext}"
    return None


# --------------------------------------------------------------------------- the job


class DownloadPoller:
    """A worker job: `name`, `run()` until `stop` is set, `feed` (the collection's ids-only
    changes feed, reported like the others)."""

    def __init__(self, settings: Settings, couch: Couch, kind: str, stop: threading.Event):
        self.settings = settings
        self.kind = kind  # "movie" | "series"
        self.arr_kind = "radarr" if kind == "movie" else "sonarr"
        self.collection = couch.db(settings.movies_db if kind == "movie" else settings.series_db)
        self.state = couch.db(settings.sidecar_db)
        self.name = f"downloads-{self.collection.name}"
        self.stop = stop
        self.clients: dict[str, ServarrClient] = {
            i.name: client_for(i, settings.arr_timeout) for i in settings.instances(self.arr_kind)}
        self.queue: queue.Queue = queue.Queue()
        self.feed: ChangeFeed | None = None
        self.grabbed: set[str] = set()  # doc ids with status "grabbed" (by_status)
        self.carrying: set[str] = set()  # doc ids whose doc has a `download`, as far as we know
        self.shown: dict[str, dict | None] = {}  # each doc's `download` as last read or written
        self.absent: dict[str, int] = {}  # polls in a row a title was missing from a paged listing
        self._own_revs: dict[str, str] = {}  # our last write per doc: its change is no news
        self._news_only = False  # the feed brings only NEWS_SELECTOR's changes (CouchDB 3)
        self._dirty = True  # the grabbed set needs reading
        self._refreshed = False  # it was read at least once
        self._last_refresh = float("-inf")
        self._last_poll = float("-inf")
        self._next_poll = 0.0
        self._next_sweep = 0.0  # when titles no longer grabbed may next lose their `download`
        self._failing: dict[str, float] = {}  # instance -> when its failure was last logged
        self._memo_id = f"checkpoint:{self.collection.name}:downloads-{settings.worker_id}"
        self._memo_rev: str | None = None
        self._saved: frozenset[str] = frozenset()

    # --- the loop
    def run(self) -> None:
        if not self.clients:
            log.info("%s: no %s configured; download progress off", self.name, self.arr_kind.capitalize())
            self.stop.wait()
            return
        self._until_ready(self._load_memo)
        # ids only; "now": what happened before is in the by_status query that every
        # (re)connection triggers. On CouchDB 3 only NEWS_SELECTOR's changes (no JavaScript runs
        # for it); pouchdb-server crashes on `_selector`, so there every change comes
        self._news_only = bool(self._until_ready(self.collection.couch.is_couchdb))
        news = {"selector": NEWS_SELECTOR} if self._news_only else {}
        self.feed = ChangeFeed(self.collection, "now", self.queue, self.stop, include_docs=False, **news)
        self.feed.start()
        while not self.stop.is_set():
            try:
                self._drain(self._wait_time())
                self.step()
            except (CouchUnavailable, CouchError) as exc:
                log.warning("%s: CouchDB trouble (%s); trying again", self.name, exc)
                self._dirty = True
                self.stop.wait(1.0)
            except Exception:  # a bug: log it, never let the job die
                log.exception("%s: unexpected error; carrying on", self.name)
                self._dirty = True
                self.stop.wait(1.0)

    def step(self) -> None:
        """One turn: read the grabbed set if due, drop `download` from titles no longer grabbed,
        read the queues if due."""
        now = time.monotonic()
        due = self._dirty or (self.grabbed and now - self._last_refresh >= REFRESH_EVERY)
        if due and now - self._last_refresh >= min(REFRESH_GAP, self.settings.queue_poll_interval):
            self.refresh()
        if not self._refreshed:
            return
        over = self.carrying - self.grabbed
        if over and not self._dirty and time.monotonic() >= self._next_sweep:
            # after each read of the grabbed set, else once a poll interval (a doc that cannot be
            # written is not tried again in a loop)
            self._next_sweep = time.monotonic() + self.settings.queue_poll_interval
            self.write({i: None for i in over}, only_if_over=True)
        if self.grabbed and time.monotonic() >= self._next_poll:
            self.poll()
        self._save_memo()

    def _wait_time(self) -> float:
        now = time.monotonic()
        waits = [1.0]  # stop is looked at least once a second
        if self._dirty:
            waits.append(self._last_refresh + min(REFRESH_GAP, self.settings.queue_poll_interval) - now)
        if self.grabbed:
            waits.append(self._next_poll - now)
        return max(0.0, min(waits))

    def _drain(self, timeout: float) -> None:
        """Take what the feed brought (waiting up to `timeout` for the first): any change that is
        not our own write, and any (re)connection, mean the grabbed set is read again."""
        try:
            items = [self.queue.get(timeout=timeout) if timeout > 0 else self.queue.get_nowait()]
        except queue.Empty:
            return
        while True:
            try:
                items.append(self.queue.get_nowait())
            except queue.Empty:
                break
        for kind, change, _ in items:
            if kind == "reconnected":
                self._dirty = True
                self._own_revs.clear()
                continue
            doc_id = change.get("id") or ""
            if doc_id.startswith("_design/"):
                continue
            revs = [c.get("rev") for c in change.get("changes") or []]
            if self._own_revs.get(doc_id) in revs:
                del self._own_revs[doc_id]
                continue
            self._dirty = True

    def _until_ready(self, fn):
        """fn()'s value, retried with backoff while CouchDB fails; None once stopped."""
        delay = 0.5
        while not self.stop.is_set():
            try:
                return fn()
            except (CouchUnavailable, CouchError) as exc:
                log.warning("%s: waiting for CouchDB (%s)", self.name, exc)
                self.stop.wait(delay)
                delay = min(delay * 2, 10)

    # --- which titles are grabbed
    def refresh(self) -> None:
        """Read the grabbed titles from the by_status view; new ones are polled soon."""
        self._last_refresh = time.monotonic()
        rows = self.collection.view("collection", "by_status", reduce=False, startkey=["grabbed"],
                                    endkey=["grabbed", {}])["rows"]
        found = {r["id"] for r in rows if not (r.get("value") or {}).get("hasFile")}
        new = found - self.grabbed
        self.grabbed = found
        self._dirty = False
        self._refreshed = True
        self._next_sweep = 0.0
        for gone in [i for i in self.shown if i not in found and i not in self.carrying]:
            self.shown.pop(gone, None)
            self.absent.pop(gone, None)
        if new:
            # a fresh Grab: read the queue now rather than a whole interval later (not more
            # often than a second, so that a burst of grabs is one read)
            soon = max(time.monotonic(), self._last_poll + min(1.0, self.settings.queue_poll_interval))
            self._next_poll = min(self._next_poll, soon)

    # --- reading the queues
    def poll(self) -> None:
        self._last_poll = time.monotonic()
        self._next_poll = self._last_poll + self.settings.queue_poll_interval
        records: dict[str, list[dict]] = defaultdict(list)
        answered, whole = True, True
        for name, client in self.clients.items():
            try:
                got, complete = self._read_queue(client)
            except ArrError as exc:
                answered = False
                metrics.DOWNLOAD_POLLS.labels(self.arr_kind, name, "error").inc()
                self._failed(name, exc)
                continue
            metrics.DOWNLOAD_POLLS.labels(self.arr_kind, name, "ok").inc()
            if name in self._failing:
                del self._failing[name]
                log.info("%s: the download queue of %s:%s answers again", self.name, self.arr_kind, name)
            whole = whole and complete
            for r in got:
                doc_id = record_doc_id(self.kind, r)
                if doc_id in self.grabbed:
                    records[doc_id].append(r)
        wanted: dict[str, dict | None] = {}
        for doc_id in self.grabbed:
            found = records.get(doc_id)
            if found:
                self.absent.pop(doc_id, None)
                new = summarize(self.kind, found)
            elif not answered:
                continue  # maybe in the queue that did not answer: leave it as it is
            elif not whole and self.absent.get(doc_id, 0) < 1:
                # a listing over several pages can miss a record that moved between pages:
                # gone only when missing twice in a row
                self.absent[doc_id] = self.absent.get(doc_id, 0) + 1
                continue
            else:
                self.absent.pop(doc_id, None)
                new = None
            shown = self.shown.get(doc_id, _UNKNOWN)
            if shown is _UNKNOWN:
                if new is None and doc_id not in self.carrying:
                    continue  # grabbed, not in the queue (yet), and nothing shown: nothing to do
            elif not visible(shown, new):
                if new is not None:
                    metrics.DOWNLOAD_SKIPPED.labels(self.collection.name).inc()
                continue
            wanted[doc_id] = new
        self.write(wanted)

    def _read_queue(self, client: ServarrClient) -> tuple[list[dict], bool]:
        """Every record of one instance's queue, and whether it came in one page (a listing
        over several pages may skip or repeat a record that moved between them)."""
        by_id: dict[Any, dict] = {}
        page, total = 1, 0
        while True:
            body = client.queue_page(page=page, page_size=PAGE_SIZE)
            total = body.get("totalRecords") if isinstance(body.get("totalRecords"), int) else 0
            if body.get("page") not in (None, page):
                break  # past the end Radarr answers its last page again
            for i, r in enumerate(body["records"]):
                if isinstance(r, dict):
                    by_id[r.get("id", (page, i))] = r
            if not body["records"] or page * PAGE_SIZE >= total or page >= MAX_PAGES:
                break
            page += 1
        return list(by_id.values()), page == 1 and len(by_id) >= total

    def _failed(self, name: str, exc: ArrError) -> None:
        now = time.monotonic()
        last = self._failing.get(name)
        if last is None or now - last >= FAIL_LOG_EVERY:
            log.warning("%s: cannot read the download queue of %s:%s (%s); trying again in %g s", self.name,
                        self.arr_kind, name, exc.message, self.settings.queue_poll_interval,
                        extra={"arr": f"{self.arr_kind}:{name}", "outcome": exc.code})
            self._failing[name] = now

    # --- writing the docs
    def write(self, wanted: dict[str, dict | None], only_if_over: bool = False) -> None:
        """Set (dict) or remove (None) `download` on these docs through collection.merge.
        only_if_over: removals of titles no longer grabbed, left alone if a doc is grabbed
        again (the next poll decides)."""
        if not wanted:
            return
        written: dict[str, tuple[dict, dict | None]] = {}

        def change_for(doc_id: str, target: dict | None):
            ext = int(doc_id.split(":", 1)[1])

            def change(existing: dict | None) -> dict | None:
                if existing is None:
                    self.shown.pop(doc_id, None)
                    self.carrying.discard(doc_id)
                    return None
                current = existing.get("download")
                self.shown[doc_id] = current
                new = target
                over = bool(existing.get("hasFile")) or existing.get("status") != "grabbed"
                if over:
                    new = None  # imported meanwhile (or the grab was undone): the download is over
                elif only_if_over:
                    return None
                if new is None:
                    if current is None:
                        return None
                    doc = merge(existing, self.kind, ext, SOURCE, set_fields={"download": None})
                    if doc is not None:
                        doc.pop("download", None)  # gone, its removal stamped in `clock`
                elif current is not None and not visible(current, new):
                    metrics.DOWNLOAD_SKIPPED.labels(self.collection.name).inc()
                    return None
                else:
                    doc = merge(existing, self.kind, ext, SOURCE, set_fields={"download": new})
                if doc is not None:
                    written[doc_id] = (doc, new)
                return doc
            return change

        outcome = apply_changes(self.collection, {i: change_for(i, t) for i, t in wanted.items()})
        for doc_id, result in outcome.items():
            if result == "written":
                doc, new = written[doc_id]
                self.shown[doc_id] = new
                # (a write the feed will not bring, e.g. a removal on CouchDB 3, is not kept)
                if doc.get("_rev") and (not self._news_only or new is not None or doc.get("status") == "grabbed"):
                    self._own_revs[doc_id] = doc["_rev"]
                metrics.DOWNLOAD_WRITES.labels(self.collection.name, "progress" if new else "removed").inc()
                log.debug("%s %s: download %s", self.name, doc_id, "removed" if new is None else new)
            elif result != "unchanged":
                log.warning("%s: could not write the download of %s (%s); trying again next poll", self.name,
                            doc_id, result)
                self.shown.pop(doc_id, None)
                continue
            if self.shown.get(doc_id) is None:
                self.carrying.discard(doc_id)
            else:
                self.carrying.add(doc_id)

    # --- which docs carry a `download`, kept across restarts
    def _load_memo(self) -> None:
        doc = self.state.get(self._memo_id)
        if doc:
            self._memo_rev = doc.get("_rev")
            ids = doc.get("ids") if isinstance(doc.get("ids"), list) else []
            self.carrying = {i for i in ids if isinstance(i, str) and ":" in i and i.split(":", 1)[1].isdigit()}
            self._saved = frozenset(self.carrying)

    def _save_memo(self) -> None:
        ids = frozenset(self.carrying)
        if ids == self._saved:
            return
        doc = {"_id": self._memo_id, "ids": sorted(ids), "updated_at": now_iso()}
        try:
            try:
                if self._memo_rev:
                    doc["_rev"] = self._memo_rev
                self._memo_rev = self.state.put(doc)
            except Conflict:
                current = self.state.get(self._memo_id) or {}
                doc["_rev"] = current.get("_rev")
                self._memo_rev = self.state.put(doc)
        except (CouchUnavailable, CouchError) as exc:
            log.info("%s: could not record which docs show a download (%s); trying again", self.name, exc)
            return
        self._saved = ids


def download_pollers(settings: Settings, couch: Couch, stop: threading.Event) -> list[DownloadPoller]:
    """The worker's download jobs: one per collection database."""
    return [DownloadPoller(settings, couch, "movie", stop), DownloadPoller(settings, couch, "series", stop)]
