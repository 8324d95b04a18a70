"""The conflict resolver: settles documents with several leaves as soon as they appear.

One ConflictPillow per database (both buffers, both collections) follows `_changes` with
`style=all_docs`, which lists every leaf revision of a changed doc; a change with more than one
leaf is handed to a Resolver, which reads all leaves (`open_revs=all`), asks the policy in
`conflicts.py` what settles them and writes that with normal edits. A 409 on a resolving write
means another resolver (another worker, the other server of a replicating pair) settled it
first: read again and decide again, a few times. The worker also asks a Resolver before it
claims a wish with several leaves, so a branch never gets a claim of its own.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import datetime, timezone

from . import metrics
from .conflicts import Resolution, ancestor_revs, resolve_buffer, resolve_collection
from .couch import Conflict, CouchError, CouchUnavailable, Database
from .feeds import ChangeFeed, Checkpoint

log = logging.getLogger(__name__)

ATTEMPTS = 4
# seconds a handled change waits for its checkpoint: a checkpoint only spares a restart
# re-reading the feed (which costs little: no docs, and settling is idempotent), so it is not
# worth a validated CouchDB write per change (it was ~2 per wish per database, each beside the
# wish's own writes)
CHECKPOINT_EVERY = 10.0


class Resolver:
    """Settles one database's documents. role: "buffer" or "collection"; claim_timeout:
    seconds after which a `processing` claim is stale (settings.claim_timeout)."""

    def __init__(self, db: Database, role: str, claim_timeout: float, state: Database | None = None):
        self.db, self.role, self.claim_timeout, self.state = db, role, claim_timeout, state
        self._started: tuple[float, dict[str, str]] = (0.0, {})

    def _workers_started(self) -> dict[str, str]:
        """worker id → when its running process started, from the `worker:<id>` reports in the
        sidecar's database (read at most every 2 s): a claim taken before its worker restarted
        is nobody's work, so a conflict with it need not wait for CLAIM_TIMEOUT."""
        read_at, started = self._started
        if self.state is None or time.monotonic() - read_at < 2.0:
            return started
        try:
            rows = self.state.all_docs(startkey="worker:", endkey="worker:\ufff0")
            started = {r["id"][len("worker:"):]: r["doc"]["started_at"] for r in rows
                       if isinstance((r.get("doc") or {}).get("started_at"), str)}
        except (CouchUnavailable, CouchError):
            pass
        self._started = (time.monotonic(), started)
        return started

    def decide(self, doc_id: str, idle: str | None = None) -> Resolution:
        """Read every leaf and return what would settle them (nothing is written). idle: the
        asking worker's id when it works on none of the doc's claims (see resolve_buffer).
        Raises CouchUnavailable / CouchError."""
        leaves = self.db.leaves(doc_id)
        if self.role == "collection":
            return resolve_collection(leaves)
        parents: dict[str, dict] = {}
        if len(leaves) > 1:
            wanted = sorted({rev for leaf in leaves if leaf.get("_deleted") and not leaf.get("requested_at")
                             and not leaf.get("merged_into") for rev in ancestor_revs(leaf)})
            if wanted:
                # the server answers {"missing": rev} for what it no longer keeps (or never had)
                parents = {d["_rev"]: d for d in self.db.revisions(doc_id, wanted) if not d.get("_deleted")}
        return resolve_buffer(leaves, parents, datetime.now(timezone.utc), self.claim_timeout, idle,
                              self._workers_started())

    def settle(self, doc_id: str, idle: str | None = None) -> Resolution:
        """Decide and write until the doc is settled (or `ATTEMPTS` conflicts in a row).
        Returns the last decision: `live` is the doc a worker may claim when nothing was
        written. Raises CouchUnavailable / CouchError (other than 409)."""
        for _ in range(ATTEMPTS):
            res = self.decide(doc_id, idle)
            if not res.writes:
                return res
            try:
                for doc in res.writes:
                    self.db.put(dict(doc))
            except Conflict:
                continue  # somebody else wrote meanwhile (maybe the same resolution): look again
            metrics.CONFLICTS_RESOLVED.labels(self.db.name, res.outcome).inc()
            log.info("%s %s: conflict settled (%s, %d writes)", self.db.name, doc_id, res.outcome, len(res.writes))
            res.live = None
            return res
        log.warning("%s %s: still changing after %d tries; the next change brings it back", self.db.name, doc_id,
                    ATTEMPTS)
        return Resolution(outcome="waiting")


class ConflictPillow:
    """Feed (`style=all_docs`, no docs) → Resolver for one database, checkpointed as
    `checkpoint:<db>:resolver-<worker id>` in the sidecar's own database. A first start reads the feed from the beginning, so
    conflicts that were there before are settled too."""

    def __init__(self, db: Database, role: str, state: Database, worker_id: str, claim_timeout: float,
                 stop: threading.Event):
        self.db = db
        self.name = f"resolver-{db.name}"
        self.resolver = Resolver(db, role, claim_timeout, state)
        self.checkpoint = Checkpoint(state, db.name, f"resolver-{worker_id}")
        self.stop = stop
        self.queue: queue.Queue = queue.Queue()
        self.feed: ChangeFeed | None = None
        self._unsaved = None  # the seq of the last change handled, not yet checkpointed
        self._unsaved_since = 0.0  # monotonic time of the first change handled since the last save
        self._retrying = 0  # changes put back after CouchDB trouble, not yet settled

    def run(self) -> None:
        since = None
        while not self.stop.is_set():
            try:
                since = self.checkpoint.load() or 0
                break
            except (CouchUnavailable, CouchError) as exc:
                log.warning("%s: resolver waiting for CouchDB (%s)", self.db.name, exc)
                self.stop.wait(1.0)
        self.feed = ChangeFeed(self.db, since, self.queue, self.stop, include_docs=False, style="all_docs")
        self.feed.start()
        while not self.stop.is_set():
            try:
                kind, change, seq = self.queue.get(timeout=1.0)
            except queue.Empty:
                kind = None
            if kind in ("change", "retry"):
                self._handle(kind, change, seq)
            self._checkpoint()
        self._checkpoint(at_stop=True)

    def _handle(self, kind: str, change: dict, seq) -> None:
        """Settle the doc of one change if it has several leaves. On CouchDB trouble the change
        goes back into the queue as a "retry", and holds the checkpoint back until it is settled."""
        try:
            if len(change.get("changes") or ()) > 1 and not change["id"].startswith("_design/"):
                self.resolver.settle(change["id"])
        except (CouchUnavailable, CouchError) as exc:
            log.warning("%s: could not settle %s (%s); trying again", self.db.name, change.get("id"), exc)
            if kind == "change":
                self._retrying += 1
            self.queue.put(("retry", change, seq))
            self.stop.wait(1.0)
            return
        except Exception:  # a bug: logged, and the feed goes on
            log.exception("%s: unexpected error settling %s; carrying on", self.db.name, change.get("id"))
        if kind == "retry":
            self._retrying -= 1
            # its seq is not noted (seqs are opaque, never compared): the checkpoint stays at or
            # before it, and a restart at worst reads it again
            return
        if self._unsaved is None:
            self._unsaved_since = time.monotonic()
        self._unsaved = seq

    def _checkpoint(self, at_stop: bool = False) -> None:
        """Save the last seq handled, CHECKPOINT_EVERY after the first change not yet saved (so
        not beside a lone wish's own writes) and once the queue is empty; at stop, at once.
        Never while a failed change waits for its retry (a restart must read it again)."""
        if self._unsaved is None or self._retrying:
            return
        if not at_stop and (not self.queue.empty() or time.monotonic() - self._unsaved_since < CHECKPOINT_EVERY):
            return
        try:
            self.checkpoint.save(self._unsaved)
            self._unsaved = None
        except (CouchUnavailable, CouchError) as exc:
            log.info("%s: resolver checkpoint not saved (%s); trying again later", self.db.name, exc)
            self._unsaved_since = time.monotonic()
