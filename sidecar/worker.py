"""The worker: buffer databases → Radarr/Sonarr → collection databases.

Named after pillowtop's parts: a ChangeFeed (filtered, continuous `_changes`) feeds a
BufferProcessor, and a Checkpoint (`_local/` doc) records how far the feed was worked off.
One BufferPillow per buffer database; `Worker` runs both.

Crash safety comes from the order of steps, not from a transaction:
1. claim: write `state: processing` with the doc's `_rev` (MVCC: a conflict means someone
   else has it; nobody works an item twice at once);
2. add to Radarr/Sonarr, idempotently (`ServarrClient.add`: existing = success);
3. write the collection doc (deterministic id, merge: writing it twice changes nothing);
4. delete the buffer doc.
A crash after any step leaves the buffer doc `processing`; its claim is taken over (at once by
the same worker id after a restart, by anyone after `claim_timeout`) and the steps re-run, each
of them a no-op where it already happened. Nothing is lost (the buffer doc goes last) and
nothing is added twice (step 2 finds the title).
"""
from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import queue
import random
import socket
import threading
import time
from datetime import datetime, timedelta, timezone

from . import metrics
from .arr import ArrError, PermanentArrError, ServarrClient, TransientArrError, client_for
from .collection import apply_changes, facts_from_resource, iso, merge, now_iso, requested_from
from .config import Settings
from .couch import Couch, CouchError, CouchUnavailable, Database

log = logging.getLogger(__name__)

MOVE_WINDOW = 0.05  # seconds: results finishing this close together share their CouchDB writes


def parse_iso(s: str | None) -> datetime | None:
    if not s:
        return None
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None


def crash_point(name: str) -> None:
    """Fault injection for the crash tests: SIDECAR_CRASH_AT=<name> kills the process here,
    as a power cut would (no cleanup, no finally blocks)."""
    if os.environ.get("SIDECAR_CRASH_AT") == name:
        log.warning("crash point %s reached: exiting hard", name)
        os._exit(70)


class Checkpoint:
    """How far this worker has worked off a feed, in `_local/sidecar-worker-<id>` (never
    replicated, not in `_changes`). The seq is stored exactly as CouchDB gave it."""

    def __init__(self, db: Database, worker_id: str):
        self.db = db
        self.doc_id = f"_local/sidecar-worker-{worker_id}"
        self.seq = None
        self._rev = None
        self.saved_at = 0.0

    def load(self):
        doc = self.db.get(self.doc_id)
        if doc:
            self.seq, self._rev = doc.get("seq"), doc.get("_rev")
        return self.seq

    def save(self, seq) -> None:
        if seq is None or seq == self.seq:
            return
        doc = {"_id": self.doc_id, "seq": seq, "updated_at": now_iso()}
        if self._rev:
            doc["_rev"] = self._rev
        try:
            self._rev = self.db.put(doc)
        except CouchError as exc:
            if exc.status != 409:
                raise
            current = self.db.get(self.doc_id) or {}
            doc["_rev"] = current.get("_rev")
            self._rev = self.db.put(doc)
        self.seq = seq
        self.saved_at = time.monotonic()


class ChangeFeed(threading.Thread):
    """Follows the filtered continuous `_changes` of one buffer db into a queue; reconnects
    with backoff when CouchDB goes away, continuing from the last seq it saw.

    The heartbeat is short (1 s) because pouchdb-server sends no response headers before the
    first line: until then the connection cannot be closed from outside, so it bounds how long
    a stop waits."""

    def __init__(self, db: Database, since, out: queue.Queue, stop: threading.Event, heartbeat_ms: int = 1000):
        super().__init__(name=f"feed-{db.name}", daemon=True)
        self.db, self.since, self.out, self.stop_event = db, since, out, stop
        self.heartbeat_ms = heartbeat_ms
        self.connected = threading.Event()
        self._response = None

    def close(self) -> None:
        """End the feed now (closing its connection) instead of at the next heartbeat."""
        self.stop_event.set()
        resp = self._response
        sock = getattr(getattr(getattr(resp, "raw", None), "connection", None), "sock", None)
        if sock is not None:
            try:
                # a blocked read wakes up at once with end-of-stream (close() alone would not)
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def run(self) -> None:
        delay = 0.2
        while not self.stop_event.is_set():
            try:
                stream = self.db.follow(since=self.since, filter="buffer/pending", heartbeat_ms=self.heartbeat_ms,
                                        on_open=lambda resp: setattr(self, "_response", resp))
                for change in stream:
                    if not self.connected.is_set():
                        self.connected.set()
                        self.out.put(("reconnected", None, None))
                    delay = 0.2
                    if self.stop_event.is_set():
                        return
                    if change is None:
                        continue
                    self.since = change["seq"]
                    self.out.put(("change", change.get("doc"), change["seq"]))
                # server closed the feed normally: go round again
            except Exception as exc:  # CouchDB trouble or a bug: never let the feed die silently
                if self.stop_event.is_set():
                    return
                if not isinstance(exc, (CouchUnavailable, CouchError)):
                    log.exception("changes feed of %s failed; reconnecting", self.db.name)
                elif self.connected.is_set():
                    log.warning("changes feed of %s lost: %s; reconnecting", self.db.name, exc)
                self.connected.clear()
                metrics.FEED_RECONNECTS.labels(self.db.name).inc()
                self.stop_event.wait(delay)
                delay = min(delay * 2, 5.0)


class BufferProcessor:
    """Claims buffer items, adds them to Radarr/Sonarr, moves them into the collection."""

    def __init__(self, settings: Settings, couch: Couch, kind: str, buffer_db: str, collection_db: str):
        self.settings = settings
        self.kind = kind  # "movie" | "series"
        self.arr_kind = "radarr" if kind == "movie" else "sonarr"
        self.id_field = "tmdbId" if kind == "movie" else "tvdbId"
        self.buffer = couch.db(buffer_db)
        self.collection = couch.db(collection_db)
        self.worker_id = settings.worker_id
        self.clients: dict[str, ServarrClient] = {
            i.name: client_for(i, settings.arr_timeout) for i in settings.instances(self.arr_kind)}
        # set when CouchDB failed mid-pass: new items may have been skipped, so the next scan
        # looks at every pending item, not only due retries and stale claims
        self.needs_full_scan = False
        self.pool = cf.ThreadPoolExecutor(max_workers=settings.arr_concurrency, thread_name_prefix=f"arr-{kind}")

    # --- which docs are ours to take
    def claimable(self, doc: dict | None, now: datetime) -> bool:
        if not doc or doc.get("_deleted") or doc.get("type") != self.kind:
            return False
        state = doc.get("state") or "new"
        if state == "new":
            return True
        if state == "retry":
            due = parse_iso(doc.get("next_attempt_at"))
            return due is None or due <= now
        if state == "processing":
            claimed = parse_iso(doc.get("claimed_at"))
            if claimed is None:
                return True
            if doc.get("claimed_by") == self.worker_id:
                # nothing is in flight between two passes, so an own claim seen now is an orphan
                # (a crash and restart, or CouchDB failing while results were recorded): finish it
                return True
            return claimed <= now - timedelta(seconds=self.settings.claim_timeout)
        return False

    def process(self, docs: list[dict]) -> int:
        """Work off these buffer docs (stale versions are fine: the claim sorts them out).
        Returns how many were claimed.

        A sliding window: items are claimed only as Radarr/Sonarr call slots free up, at most
        `arr_concurrency` ahead of the running calls (queued in the pool, so a freed slot starts
        the next add without a CouchDB round trip), so a worker never sits on many claims it is
        not working on (another worker takes those, and a crash strands at most about
        3 × `arr_concurrency` items — running, queued, and finished but not yet recorded — until
        their claims are taken over).
        """
        now = datetime.now(timezone.utc)
        seen, candidates = set(), []
        for doc in docs:
            if doc and doc["_id"] not in seen and self.claimable(doc, now):
                seen.add(doc["_id"])
                candidates.append(doc)
        claimed_count = 0
        conc = self.settings.arr_concurrency
        window = 2 * conc
        futures: dict[cf.Future, dict] = {}
        finished: dict[cf.Future, dict] = {}
        first_done = 0.0
        while candidates or futures or finished:
            if candidates and len(futures) <= conc + conc // 2:
                take = window - len(futures)
                chunk, candidates = candidates[:take], candidates[take:]
                try:
                    claimed = self._claim(chunk, datetime.now(timezone.utc))
                except (CouchUnavailable, CouchError) as exc:
                    # finish what is in flight; the rest is found again by the feed or the scan
                    log.warning("claiming failed (%s); leaving %d items for a later pass", exc, len(candidates) + len(chunk))
                    claimed, candidates = [], []
                    self.needs_full_scan = True
                for doc in claimed:
                    futures[self.pool.submit(self._add, doc)] = doc
                    claimed_count += 1
            # what finishes within MOVE_WINDOW is recorded together (one collection write, one
            # buffer delete); a lone item is recorded at once
            if finished and (not futures or len(finished) >= conc or time.monotonic() - first_done >= MOVE_WINDOW):
                self._finish(finished)
                finished = {}
                continue
            if not futures:
                continue  # all of that chunk belonged to others: claim the next one
            timeout = first_done + MOVE_WINDOW - time.monotonic() if finished else 0.05
            done, _ = cf.wait(futures, timeout=max(0.0, timeout), return_when=cf.FIRST_COMPLETED)
            if done:
                if not finished:
                    first_done = time.monotonic()
                finished.update((fut, futures.pop(fut)) for fut in done)
        return claimed_count

    def _claim(self, docs: list[dict], now: datetime) -> list[dict]:
        updates = []
        for doc in docs:
            d = dict(doc)
            if d.get("state") == "processing":
                log.info("taking over stale claim %s (was %s at %s)", d["_id"], d.get("claimed_by"), d.get("claimed_at"))
            d.update(state="processing", claimed_by=self.worker_id, claimed_at=iso(now),
                     attempts=int(d.get("attempts") or 0) + 1)
            updates.append(d)
        results = self.buffer.bulk_docs(updates)
        claimed = []
        for d in updates:
            r = results.get(d["_id"], {})
            if "error" in r:
                if r["error"] != "conflict":
                    log.warning("claim of %s refused: %s %s", d["_id"], r.get("error"), r.get("reason"))
                continue  # someone else has it, or it changed: the feed brings the new version
            claimed.append(d)
        return claimed

    def _add(self, doc: dict) -> tuple[str, dict | None, ArrError | None]:
        """Runs in the pool: (instance name, resource, error)."""
        name = doc.get("instance") or None
        instance = self.settings.instance(self.arr_kind, name)
        if instance is None:
            if name and self.settings.instances(self.arr_kind):
                return name, None, PermanentArrError(
                    "unknown_instance", f"no {self.arr_kind.capitalize()} instance named {name!r} is configured")
            return name or "default", None, TransientArrError(
                "not_configured", f"no {self.arr_kind.capitalize()} is configured ({self.arr_kind.upper()}_URL)")
        client = self.clients[instance.name]
        t0 = time.perf_counter()
        try:
            # a first attempt needs no existence check (POST's "already added" covers it); after
            # a retry or a crash the title may have landed, so look first
            resource, created = client.add(doc, look_first=int(doc.get("attempts") or 0) > 1)
        except ArrError as exc:
            metrics.ARR_ADDS.labels(self.arr_kind, "permanent_error" if not exc.transient else "transient_error").inc()
            return instance.name, None, exc
        finally:
            metrics.ARR_ADD_SECONDS.labels(self.arr_kind).observe(time.perf_counter() - t0)
        metrics.ARR_ADDS.labels(self.arr_kind, "created" if created else "existing").inc()
        log.info("%s %s in %s:%s (id %s)", "added" if created else "found", doc["_id"], self.arr_kind,
                 instance.name, resource.get("id"))
        crash_point("after_add")
        return instance.name, resource, None

    def _finish(self, done: dict[cf.Future, dict]) -> None:
        """Record what finished together with one _bulk_docs per database."""
        moves, failures = [], []
        for fut, doc in done.items():
            try:
                instance, resource, error = fut.result()
            except Exception as exc:  # a bug must not strand the item in `processing`
                log.exception("unexpected error adding %s", doc["_id"])
                instance, resource, error = "", None, TransientArrError("internal", f"{type(exc).__name__}")
            if error is None:
                moves.append((doc, instance, resource))
            else:
                failures.append((doc, error))
        # each recorded on its own: a failure of one leaves the other's items to a later pass only
        for record, items in ((self._move, moves), (self._record_failures, failures)):
            if not items:
                continue
            try:
                record(items)
            except (CouchUnavailable, CouchError) as exc:
                # the items stay `processing` under our claim; the next scan takes them up again
                log.warning("could not record results in CouchDB (%s); items stay claimed for a later pass", exc)
                self.needs_full_scan = True

    def _move(self, moves: list[tuple[dict, str, dict]]) -> None:
        def change_for(doc, instance, resource):
            got = facts_from_resource(self.kind, resource)
            return lambda existing: merge(existing, self.kind, int(doc[self.id_field]), "worker",
                                          facts=got["facts"], instance=instance, entry=got["entry"],
                                          set_fields={"requested": requested_from(doc)})

        outcome = apply_changes(self.collection, {doc["_id"]: change_for(doc, i, r) for doc, i, r in moves})
        crash_point("after_collection_write")
        deletes, refused = [], []
        for doc, _, _ in moves:
            result = outcome.get(doc["_id"], "")
            if result in ("written", "unchanged"):
                deletes.append({"_id": doc["_id"], "_rev": doc["_rev"], "_deleted": True})
            else:
                # a retry with backoff and the reason on the doc, not a silent loop in `processing`
                refused.append((doc, TransientArrError("collection_write", f"the collection refused the doc: {result}")))
        if refused:
            self._record_failures(refused)
        results = self.buffer.bulk_docs(deletes)
        for d in deletes:
            r = results.get(d["_id"], {})
            if "error" in r:
                log.warning("buffer delete of %s: %s %s", d["_id"], r.get("error"), r.get("reason"))
            else:
                metrics.ITEMS_MOVED.labels(self.kind).inc()

    def _record_failures(self, failures: list[tuple[dict, ArrError]]) -> None:
        updates = []
        now = datetime.now(timezone.utc)
        for doc, error in failures:
            d = dict(doc)
            d["last_error"] = {"code": error.code, "message": error.message, "at": iso(now)}
            d.pop("claimed_by", None)
            d.pop("claimed_at", None)
            if error.transient:
                attempts = int(d.get("attempts") or 1)
                # jitter: a burst of failures does not retry in lockstep; the cap holds after it
                delay = min(self.settings.retry_base * 2 ** (attempts - 1) * random.uniform(0.8, 1.2),
                            self.settings.retry_max)
                d["state"] = "retry"
                d["next_attempt_at"] = iso(now + timedelta(seconds=delay))
                log.info("%s: %s; retry %d in %.1f s", d["_id"], error, attempts, delay)
            else:
                d["state"] = "failed"
                d.pop("next_attempt_at", None)
                log.info("%s failed for good: %s", d["_id"], error)
            metrics.ITEMS_FAILED.labels(self.kind, d["state"]).inc()
            updates.append(d)
        results = self.buffer.bulk_docs(updates)
        for d in updates:
            r = results.get(d["_id"], {})
            if "error" in r:
                log.warning("could not record failure of %s: %s %s", d["_id"], r.get("error"), r.get("reason"))

    # --- finding work without the feed
    def due_docs(self, include_new: bool) -> list[dict]:
        """Retries that are due, stale claims, and (at start-up) every new item."""
        now = iso(datetime.now(timezone.utc))
        docs = []
        if include_new:
            docs += self._view_docs("pending", ["new", ""], ["new", {}])
        docs += self._view_docs("pending", ["retry", ""], ["retry", now])
        stale_before = iso(datetime.now(timezone.utc) - timedelta(seconds=self.settings.claim_timeout))
        docs += self._view_docs("by_state", ["processing", ""], ["processing", stale_before])
        # own orphaned claims are ours at once (see claimable)
        for doc in self._view_docs("by_state", ["processing", stale_before], ["processing", {}]):
            if doc.get("claimed_by") == self.worker_id:
                docs.append(doc)
        return docs

    def _view_docs(self, view: str, start, end) -> list[dict]:
        rows = self.buffer.view("buffer", view, reduce=False, include_docs=True, startkey=start, endkey=end,
                                limit=self.settings.batch_size * 10)["rows"]
        return [r["doc"] for r in rows if r.get("doc")]

    def close(self) -> None:
        self.pool.shutdown(wait=True)


class BufferPillow:
    """Feed → checkpoint → processor for one buffer database."""

    def __init__(self, settings: Settings, couch: Couch, kind: str, buffer_db: str, collection_db: str,
                 stop: threading.Event):
        self.settings = settings
        self.processor = BufferProcessor(settings, couch, kind, buffer_db, collection_db)
        self.buffer = self.processor.buffer
        self.checkpoint = Checkpoint(self.buffer, settings.worker_id)
        self.stop = stop
        self.queue: queue.Queue = queue.Queue()
        self.feed: ChangeFeed | None = None

    def run(self) -> None:
        since = self._until_ready(self.checkpoint.load)
        self.feed = ChangeFeed(self.buffer, since, self.queue, self.stop)
        self.feed.start()
        self._until_ready(lambda: self.processor.process(self.processor.due_docs(include_new=True)))
        last_scan = time.monotonic()
        while not self.stop.is_set():
            try:
                first = self.queue.get(timeout=self.settings.scan_interval)
            except queue.Empty:
                first = None
            batch = [first] if first else []
            while len(batch) < self.settings.batch_size:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                docs = [doc for kind, doc, _ in batch if kind == "change"]
                reconnected = any(kind == "reconnected" for kind, _, _ in batch)
                since_scan = time.monotonic() - last_scan
                # the scan's view queries make CouchDB index every doc changed since the last
                # one: never while the feed brings work (a burst would be indexed item by item)
                # unless it has been busy for 30 scan intervals
                idle = not docs and self.queue.empty()
                full = reconnected or self.processor.needs_full_scan
                if full or since_scan >= self.settings.scan_interval * (1 if idle else 30):
                    # after a reconnect or a failed pass, catch up on everything; otherwise due
                    # retries and stale claims
                    self.processor.needs_full_scan = False
                    docs += self.processor.due_docs(include_new=full)
                    last_scan = time.monotonic()
                if docs:
                    self.processor.process(docs)
                seqs = [seq for kind, _, seq in batch if kind == "change"]
                if seqs and (self.queue.empty() or time.monotonic() - self.checkpoint.saved_at > 1.0):
                    self.checkpoint.save(seqs[-1])
                metrics.CHANGES_LAG.labels(self.buffer.name).set(self.queue.qsize())
            except Exception as exc:  # CouchDB trouble or a bug: the pillow carries on either way
                if isinstance(exc, (CouchUnavailable, CouchError)):
                    log.warning("%s: CouchDB trouble (%s); carrying on", self.buffer.name, exc)
                else:
                    log.exception("%s: unexpected error; carrying on", self.buffer.name)
                self.processor.needs_full_scan = True
                self.stop.wait(1.0)

    def _until_ready(self, fn):
        delay = 0.5
        while not self.stop.is_set():
            try:
                return fn()
            except (CouchUnavailable, CouchError) as exc:
                log.warning("%s: waiting for CouchDB (%s)", self.buffer.name, exc)
                self.stop.wait(delay)
                delay = min(delay * 2, 10)
        return None


class Worker:
    """Both pillows (movies, series) in threads of one process: `python -m sidecar worker`."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.stop_event = threading.Event()
        couch = Couch(settings.couchdb_url, settings.couch_auth)
        self.pillows = [
            BufferPillow(settings, couch, "movie", settings.movies_buffer_db, settings.movies_db, self.stop_event),
            BufferPillow(settings, couch, "series", settings.series_buffer_db, settings.series_db, self.stop_event),
        ]
        self.threads: list[threading.Thread] = []

    def start(self) -> "Worker":
        for p in self.pillows:
            t = threading.Thread(target=p.run, name=f"pillow-{p.buffer.name}", daemon=True)
            t.start()
            self.threads.append(t)
        log.info("worker %s following %s", self.settings.worker_id, ", ".join(p.buffer.name for p in self.pillows))
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        for p in self.pillows:
            if p.feed is not None:
                p.feed.close()
        for t in self.threads:
            t.join(timeout)
        for p in self.pillows:
            if p.feed is not None:
                p.feed.join(timeout)
            p.processor.close()

    def run_forever(self) -> bool:
        """Run until stopped; False if a pillow died, so the process exits for its supervisor
        to restart it rather than running half its job."""
        self.start()
        try:
            while all(t.is_alive() for t in self.threads):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
        if not self.stop_event.is_set():
            log.error("a pillow thread stopped; exiting so the worker is restarted")
            return False
        return True
