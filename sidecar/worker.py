"""The worker: buffer databases → Radarr/Sonarr → collection databases.

Named after pillowtop's parts: a ChangeFeed (filtered, continuous `_changes`) feeds a
BufferProcessor, and a Checkpoint (in the sidecar's own database) records how far the feed was
worked off.
One BufferPillow per buffer database; `Worker` runs both, and a ConflictPillow (resolver.py)
per buffer and collection database.

Crash safety comes from the order of steps, not from a transaction:
1. claim: write `state: processing` with the doc's `_rev` (MVCC: a conflict means someone
   else has it; nobody works an item twice at once). A wish with several leaves is settled by
   the resolver first, never claimed as it is; a claim CouchDB stores on fewer copies than its
   quorum (202 in a cluster) does not count and is handed back;
2. add to Radarr/Sonarr, idempotently (`ServarrClient.add`: existing = success);
3. write the collection doc (deterministic id, merge: writing it twice changes nothing);
4. delete the buffer doc (a tombstone `ended: "moved"` with the wish's `requested_at`, which
   also ends any branch of the same wish that replication brings later).
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
import threading
import time
from datetime import datetime, timedelta, timezone

from . import metrics, posters
from .actions import Outcome, act
from .arr import ArrError, PermanentArrError, ServarrClient, TransientArrError, client_for
from .collection import apply_changes, facts_from_resource, iso, merge, now_iso, parse_iso, requested_from
from .config import Settings
from .couch import Couch, CouchError, CouchUnavailable, Database
from .downloads import download_pollers
from .feeds import ChangeFeed, Checkpoint, take_batch
from .lookups import LookupPillow
from .resolver import ConflictPillow, Resolver

log = logging.getLogger(__name__)

# the same wishes as couch/_design/buffer/filters/pending.js, as a Mango selector
PENDING_SELECTOR = {"type": {"$in": ["movie", "series"]},
                    "$or": [{"state": {"$exists": False}}, {"state": {"$in": ["new", "retry"]}}]}
MOVE_WINDOW = 0.05  # seconds: results finishing this close together share their CouchDB writes
REPORT_EVERY = 10.0  # seconds between two status reports of a worker (worker:<id> in SIDECAR_DB)
# seconds between two checkpoint writes: a checkpoint only spares a restart some re-reading (the
# steps are idempotent and the start-up scan finds every pending wish), so it is not worth a
# validated CouchDB write per wish (nor one per second beside a steady trickle of wishes)
CHECKPOINT_EVERY = 5.0


def crash_point(name: str) -> None:
    """Fault injection for the crash tests: SIDECAR_CRASH_AT=<name> kills the process here,
    as a power cut would (no cleanup, no finally blocks)."""
    if os.environ.get("SIDECAR_CRASH_AT") == name:
        log.warning("crash point %s reached: exiting hard", name)
        os._exit(70)


class BufferProcessor:
    """Claims buffer items, adds them to Radarr/Sonarr, moves them into the collection."""

    def __init__(self, settings: Settings, couch: Couch, kind: str, buffer_db: str, collection_db: str):
        self.settings = settings
        self.kind = kind  # "movie" | "series"
        self.arr_kind = "radarr" if kind == "movie" else "sonarr"
        self.id_field = "tmdbId" if kind == "movie" else "tvdbId"
        self.buffer = couch.db(buffer_db)
        self.collection = couch.db(collection_db)
        self.resolver = Resolver(self.buffer, "buffer", settings.claim_timeout, couch.db(settings.sidecar_db))
        self.worker_id = settings.worker_id
        self.clients: dict[str, ServarrClient] = {
            i.name: client_for(i, settings.arr_timeout) for i in settings.instances(self.arr_kind)}
        # set when CouchDB failed mid-pass: new items may have been skipped, so the next scan
        # looks at every pending item, not only due retries and stale claims
        self.needs_full_scan = False
        self.pool = cf.ThreadPoolExecutor(max_workers=settings.arr_concurrency, thread_name_prefix=f"arr-{kind}")
        self._waiting: dict[str, dict] = {}  # claimable docs by id (the newest version seen)
        self._running: dict[cf.Future, dict] = {}  # claimed, add in the pool
        self._finished: dict[cf.Future, dict] = {}  # add done, result not yet recorded
        self._first_done = 0.0

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
                # an own claim that is not in the pipeline (offer() skips those) is an orphan (a
                # crash and restart, or CouchDB failing while results were recorded): finish it
                return True
            return claimed <= now - timedelta(seconds=self.settings.claim_timeout)
        return False

    # --- the pipeline: waiting → claimed and running → finished → recorded
    #
    # A sliding window that lives across feed batches: items are claimed only as Radarr/Sonarr
    # call slots free up, at most `arr_concurrency` ahead of the running calls (queued in the
    # pool, so a freed slot starts the next add without a CouchDB round trip), and a slow add
    # holds up nothing but its own slot: new wishes from the feed are offered while it runs.
    # A worker never sits on many claims it is not working on (another worker takes those, and
    # a crash strands at most about 3 × `arr_concurrency` items until their claims are taken over).

    @property
    def busy(self) -> bool:
        """Anything waiting for a slot, running, or finished but not yet recorded."""
        return bool(self._waiting or self._running or self._finished)

    def offer(self, docs: list[dict]) -> None:
        """Take these buffer docs into the pipeline if they are ours to take (stale versions are
        fine: the claim sorts them out). A doc already running or finishing is left alone."""
        now = datetime.now(timezone.utc)
        active = {d["_id"] for d in (*self._running.values(), *self._finished.values())}
        for doc in docs:
            if doc and doc["_id"] not in active and self.claimable(doc, now):
                self._waiting[doc["_id"]] = doc

    def step(self, wait: float) -> int:
        """Claim into free call slots, record what is due, else wait up to `wait` seconds for
        an add to finish. Returns how many items were claimed."""
        claimed = self._fill_slots()
        if not self._record_due() and self._running:
            self._collect(wait)
        return claimed

    def _fill_slots(self) -> int:
        conc = self.settings.arr_concurrency
        if not self._waiting or len(self._running) > conc + conc // 2:
            return 0
        ids = list(self._waiting)[:2 * conc - len(self._running)]
        chunk = [self._waiting.pop(i) for i in ids]
        try:
            claimed = self._claim(chunk, datetime.now(timezone.utc))
        except (CouchUnavailable, CouchError) as exc:
            # finish what is in flight; the rest is found again by the feed or the scan
            log.warning("claiming failed (%s); leaving %d items for a later pass", exc, len(chunk) + len(self._waiting))
            self._waiting.clear()
            self.needs_full_scan = True
            return 0
        for doc in claimed:
            self._running[self.pool.submit(self._act, doc)] = doc
        return len(claimed)

    def _record_due(self) -> bool:
        """What finished within MOVE_WINDOW is recorded together (one collection write, one
        buffer write); a lone item at once. True if something was recorded."""
        conc = self.settings.arr_concurrency
        if self._finished and (not self._running or len(self._finished) >= conc
                               or time.monotonic() - self._first_done >= MOVE_WINDOW):
            finished, self._finished = self._finished, {}
            self._finish(finished)
            return True
        return False

    def _collect(self, wait: float) -> None:
        timeout = min(wait, self._first_done + MOVE_WINDOW - time.monotonic()) if self._finished else wait
        done, _ = cf.wait(self._running, timeout=max(0.0, timeout), return_when=cf.FIRST_COMPLETED)
        if done:
            if not self._finished:
                self._first_done = time.monotonic()
            self._finished.update((fut, self._running.pop(fut)) for fut in done)

    def _settled(self, docs: list[dict], now: datetime) -> list[dict]:
        """The docs that are safe to claim: those with one leaf as they are; a doc with several
        leaves (a replication conflict, or a moved wish's tombstone beside an offline edit) only
        as the resolver leaves it, if it writes nothing and the doc is still ours to take.

        A first revision without `_conflicts` (read with conflicts=true) has no other leaf: no
        tombstone can be its sibling (a wish made again after a tombstone is written on it, so
        its position is > 1). That is every new wish, so the common case costs no request.
        Others are read with `open_revs=all`, which a cluster answers from a read quorum: one
        copy's `_changes` may not know yet of a claim the other copies took (bench/cluster.py)."""
        ready = []
        for doc in docs:
            if not doc["_rev"].startswith("1-") or doc.get("_conflicts"):
                leaves = self.buffer.leaves(doc["_id"])
                if len(leaves) == 1 and not leaves[0].get("_deleted"):
                    fresh = {k: v for k, v in leaves[0].items() if k != "_revisions"}
                    if self.claimable(fresh, now):
                        ready.append(fresh)
                    continue
                # nothing of this doc is in our pipeline (offer() skipped those): our own claims
                # on it are orphans, not work in flight
                live = self.resolver.settle(doc["_id"], idle=self.worker_id).live
                if live is None or not self.claimable(live, now):
                    continue  # settled by a write (the feed brings the result), or a claim is in flight
                doc = {k: v for k, v in live.items() if k != "_revisions"}
            ready.append(doc)
        return ready

    def _claim(self, docs: list[dict], now: datetime) -> list[dict]:
        updates = []
        for doc in self._settled(docs, now):
            d = {k: v for k, v in doc.items() if k not in ("_conflicts", "_revisions")}
            if d.get("state") == "processing":
                if d.get("claimed_by") == self.worker_id:
                    log.info("resuming own unfinished claim %s (from %s)", d["_id"], d.get("claimed_at"))
                else:
                    log.info("taking over stale claim %s (was %s at %s)", d["_id"], d.get("claimed_by"),
                             d.get("claimed_at"))
            d.update(state="processing", claimed_by=self.worker_id, claimed_at=iso(now),
                     attempts=int(d.get("attempts") or 0) + 1)
            updates.append((doc, d))
        results = self.buffer.bulk_docs([d for _, d in updates])
        claimed = []
        for before, d in updates:
            r = results.get(d["_id"], {})
            if "error" in r:
                if r["error"] != "conflict":
                    log.warning("claim of %s refused: %s %s", d["_id"], r.get("error"), r.get("reason"))
                continue  # someone else has it, or it changed: the feed brings the new version
            if r.get("accepted"):
                self._hand_back(before, d)
                continue
            claimed.append(d)
        return claimed

    def _hand_back(self, before: dict, claim: dict) -> None:
        """A claim stored on fewer copies than the quorum (CouchDB 3 cluster, 202): another
        worker's claim may have won on the other copies, so this one is not acted on. It is
        written back to the state it had, so that if it wins it is not a claim nobody works."""
        metrics.CLAIMS_WITHOUT_QUORUM.labels(self.buffer.name).inc()
        log.info("claim of %s reached fewer copies than the quorum; not adding it", claim["_id"])
        back = {**{k: v for k, v in before.items() if k not in ("claimed_by", "claimed_at")}, "_rev": claim["_rev"]}
        if back.get("state") == "processing":
            back["state"] = "retry"
        try:
            self.buffer.put(back)
        except (CouchUnavailable, CouchError) as exc:
            log.info("could not hand back %s (%s); it is taken over when its claim is stale", claim["_id"], exc)

    def _act(self, doc: dict) -> tuple[str, Outcome | None, ArrError | None]:
        """Runs in the pool: the wish's action (sidecar.actions) → (instance name, outcome, error)."""
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
            outcome = act(client, doc, look_first=int(doc.get("attempts") or 0) > 1)
        except ArrError as exc:
            metrics.ARR_ADDS.labels(self.arr_kind, "permanent_error" if not exc.transient else "transient_error").inc()
            return instance.name, None, exc
        finally:
            metrics.ARR_ADD_SECONDS.labels(self.arr_kind).observe(time.perf_counter() - t0)
        metrics.ARR_ADDS.labels(self.arr_kind, outcome.what).inc()
        log.info("%s %s in %s:%s%s", outcome.what, doc["_id"], self.arr_kind, instance.name,
                 f" (id {outcome.resource['id']})" if outcome.resource and outcome.resource.get("id") else "")
        crash_point("after_add")
        return instance.name, outcome, None

    def _finish(self, done: dict[cf.Future, dict]) -> None:
        """Record what finished together with one _bulk_docs per database."""
        moves, failures = [], []
        for fut, doc in done.items():
            try:
                instance, outcome, error = fut.result()
            except Exception as exc:  # a bug must not strand the item in `processing`
                log.exception("unexpected error working on %s", doc["_id"])
                instance, outcome, error = "", None, TransientArrError("internal", f"{type(exc).__name__}")
            if error is None:
                moves.append((doc, instance, outcome))
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

    def _move(self, moves: list[tuple[dict, str, Outcome]]) -> None:
        def change_for(doc, instance, outcome):
            ext, requested = int(doc[self.id_field]), {"requested": requested_from(doc)}
            if outcome.removed:  # gone from that instance: the doc, if any, becomes its tombstone
                return lambda existing: existing and merge(existing, self.kind, ext, "worker",
                                                           remove_instance=instance, set_fields=requested)
            got = facts_from_resource(self.kind, outcome.resource)
            return lambda existing: merge(existing, self.kind, ext, "worker", facts=got["facts"], instance=instance,
                                          entry=got["entry"], set_fields=requested)

        changes = {doc["_id"]: change_for(doc, i, o) for doc, i, o in moves}
        # a title Radarr/Sonarr has just created is almost never in the collection yet: it is
        # written without reading first (one request less per wish); CouchDB refuses it with a
        # conflict if a doc is there after all (a webhook or reconcile was quicker, a removed
        # title), and those go the read-merge-write way
        outcome = self._create(changes, [doc["_id"] for doc, _, o in moves if o.what == "added" and not o.removed])
        rest = {did: change for did, change in changes.items() if did not in outcome}
        if rest:
            outcome.update(apply_changes(self.collection, rest))
        crash_point("after_collection_write")
        # posters are fetched in the background: the move never waits for an image
        posters.submit(self.settings, self.collection.couch, self.kind,
                       [doc["_id"] for doc, _, _ in moves if outcome.get(doc["_id"]) in ("written", "unchanged")])
        deletes, refused = [], []
        for doc, _, _ in moves:
            result = outcome.get(doc["_id"], "")
            if result in ("written", "unchanged"):
                deletes.append({"_id": doc["_id"], "_rev": doc["_rev"], "_deleted": True, "ended": "moved",
                                "requested_at": doc.get("requested_at"), "moved_at": now_iso()})
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

    def _create(self, changes: dict, ids: list[str]) -> dict[str, str]:
        """Write these collection docs as new docs, without reading them first. Returns
        {id: "written"} for each one CouchDB took; a conflict (the doc exists) or another
        refusal leaves the id out, for apply_changes to read, merge and write (or report)."""
        writes = [new for new in (changes[did](None) for did in ids) if new is not None]
        if not writes:
            return {}
        results = self.collection.bulk_docs(writes)
        return {d["_id"]: "written" for d in writes if "error" not in results.get(d["_id"], {"error": "missing"})}

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
        rows = self.buffer.view("buffer", view, reduce=False, include_docs=True, conflicts=True, startkey=start,
                                endkey=end, limit=self.settings.batch_size * 10)["rows"]
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
        self.name = f"pillow-{self.buffer.name}"
        self.checkpoint = Checkpoint(couch.db(settings.sidecar_db), self.buffer.name, f"worker-{settings.worker_id}")
        self.stop = stop
        self.queue: queue.Queue = queue.Queue()
        self.feed: ChangeFeed | None = None
        self._unsaved = None  # the last seq worked off but not yet checkpointed

    def _checkpoint(self, force: bool = False) -> None:
        """Save the last seq at most once per CHECKPOINT_EVERY, and while wishes are in flight
        only after 5 × that: never between an add and its move (it would sit in their latency)."""
        if self._unsaved is None:
            return
        since = time.monotonic() - self.checkpoint.saved_at
        if force or (since >= CHECKPOINT_EVERY and (not self.processor.busy or since >= 5 * CHECKPOINT_EVERY)):
            self.checkpoint.save(self._unsaved)
            self._unsaved = None

    def run(self) -> None:
        since = self._until_ready(self.checkpoint.load)
        # the cheapest filter each server offers: CouchDB 3's `_selector` runs without JavaScript
        # (one JS call per change less); pouchdb-server crashes on it, so there the design doc's JS filter
        filter_ = ({"selector": PENDING_SELECTOR} if self._until_ready(self.buffer.couch.is_couchdb)
                   else {"filter": "buffer/pending"})
        self.feed = ChangeFeed(self.buffer, since, self.queue, self.stop, conflicts="true", **filter_)
        self.feed.start()
        # the catch-up joins the pipeline like feed changes do, so it holds up nothing either
        self.processor.offer(self._until_ready(lambda: self.processor.due_docs(include_new=True)) or [])
        last_scan = time.monotonic()
        while not self.stop.is_set():
            # while adds run, look at the feed between their completions, not after them
            # (a checkpoint still to save wakes the loop within CHECKPOINT_EVERY)
            wait = 0 if self.processor.busy else (min(self.settings.scan_interval, CHECKPOINT_EVERY)
                                                  if self._unsaved is not None else self.settings.scan_interval)
            batch = take_batch(self.queue, wait, self.settings.batch_size)
            try:
                docs = [change.get("doc") for kind, change, _ in batch if kind == "change"]
                reconnected = any(kind == "reconnected" for kind, _, _ in batch)
                since_scan = time.monotonic() - last_scan
                # the scan's view queries make CouchDB index every doc changed since the last
                # one: never while the feed brings work (a burst would be indexed item by item)
                # unless it has been busy for 30 scan intervals; while a wish is in flight, for
                # up to 3 (its move would wait for the scan, yet a slow add must not hold up due retries)
                quiet = not docs and self.queue.empty()
                every = (1 if not self.processor.busy else 3) if quiet else 30
                full = reconnected or self.processor.needs_full_scan
                if full or since_scan >= self.settings.scan_interval * every:
                    # after a reconnect or a failed pass, catch up on everything; otherwise due
                    # retries and stale claims
                    self.processor.needs_full_scan = False
                    docs += self.processor.due_docs(include_new=full)
                    last_scan = time.monotonic()
                self.processor.offer(docs)
                if self.processor.busy:
                    self.processor.step(0.05)
                seqs = [seq for kind, _, seq in batch if kind == "change"]
                if seqs:
                    self._unsaved = seqs[-1]
                self._checkpoint()
                metrics.CHANGES_LAG.labels(self.buffer.name).set(self.queue.qsize())
            except Exception as exc:  # CouchDB trouble or a bug: the pillow carries on either way
                if isinstance(exc, (CouchUnavailable, CouchError)):
                    log.warning("%s: CouchDB trouble (%s); carrying on", self.buffer.name, exc)
                else:
                    log.exception("%s: unexpected error; carrying on", self.buffer.name)
                self.processor.needs_full_scan = True
                self.stop.wait(1.0)
        try:  # what was worked off since the last checkpoint, so a restart need not read it again
            self._checkpoint(force=True)
        except (CouchUnavailable, CouchError) as exc:
            log.info("%s: last checkpoint not saved (%s)", self.buffer.name, exc)

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
        self.resolvers = [
            ConflictPillow(couch.db(name), role, couch.db(settings.sidecar_db), settings.worker_id,
                           settings.claim_timeout, self.stop_event)
            for name, role in ((settings.movies_buffer_db, "buffer"), (settings.series_buffer_db, "buffer"),
                               (settings.movies_db, "collection"), (settings.series_db, "collection"))]
        self.state = couch.db(settings.sidecar_db)
        self.started_at = now_iso()  # in every report: claims older than this are not this process's work
        # every job runs in a thread of its own: `name`, `run()` until the stop event, and the
        # `feed` (a ChangeFeed or None) that stop() closes and status() reports
        self.jobs = [*self.pillows, *self.resolvers]
        self.jobs.extend(download_pollers(settings, couch, self.stop_event))  # download progress (downloads.py)
        self.jobs.append(LookupPillow(settings, couch, self.stop_event))  # title searches (lookups db)
        self.threads: list[threading.Thread] = []

    def start(self) -> "Worker":
        for p in self.jobs:
            t = threading.Thread(target=p.run, name=p.name, daemon=True)
            t.start()
            self.threads.append(t)
        threading.Thread(target=self._report_forever, name="worker-status", daemon=True).start()
        log.info("worker %s following %s", self.settings.worker_id, ", ".join(p.buffer.name for p in self.pillows))
        return self

    def status(self) -> dict:
        """What this worker reports in `worker:<WORKER_ID>` of the sidecar's database, for
        /readyz: each feed it follows, and whether it can (see ChangeFeed.status)."""
        feeds = {p.name: p.feed.status() if p.feed else {"following": False, "error": "not started yet",
                                                         "failing_since": None}
                 for p in self.jobs if hasattr(p, "feed")}
        return {"_id": f"worker:{self.settings.worker_id}", "pid": os.getpid(), "at": now_iso(),
                "at_ts": time.time(), "started_at": self.started_at, "feeds": feeds}

    def _report_forever(self) -> None:
        rev, first = None, True
        # the first report goes out at once: other workers learn of a restart before its claims go stale
        while not self.stop_event.wait(0 if first else REPORT_EVERY):
            first = False
            doc = self.status()
            try:
                current = self.state.get(doc["_id"])
                if current:
                    doc["_rev"] = current["_rev"]
                rev = self.state.put(doc)
            except (CouchUnavailable, CouchError) as exc:
                log.debug("could not report the worker's status: %s", exc)

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        feeds = [p.feed for p in self.jobs if getattr(p, "feed", None) is not None]
        for feed in feeds:
            feed.close()
        for t in self.threads:
            t.join(timeout)
        for feed in feeds:
            feed.join(timeout)
        for p in self.pillows:
            p.processor.close()
        # the posters queued in this process, its moves' among them (a bounded wait: what is left
        # goes on in the background, and the next reconcile fetches what never got stored)
        if not posters.QUEUE.idle(timeout=min(timeout, 5.0)):
            log.info("posters still being fetched at stop; the next reconcile fetches what is missing")

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
