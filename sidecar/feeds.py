"""Following a database, as pillowtop does: a ChangeFeed (continuous `_changes` in a thread,
reconnecting) fills a queue, and a Checkpoint (a doc in the sidecar's own database) records how
far its consumer has worked it off. Used by the worker's pillows and the conflict resolver."""
from __future__ import annotations

import logging
import queue
import re
import socket
import threading
import time
from datetime import datetime, timezone

from . import metrics
from .couch import CouchError, CouchUnavailable, Database

log = logging.getLogger(__name__)

LOUD_AFTER = 30.0  # seconds a feed may fail quietly (a CouchDB restart) before it is logged as an error


# what a since value may look like: pouchdb-server's integer seq, CouchDB 3's opaque
# "<number>-<base64url>" (CouchDB docs, /db/_changes: "since"), or "now"
_SEQ = re.compile(r"^(now|\d+|\d+-[A-Za-z0-9_-]{1,8000})$")


def valid_seq(seq) -> bool:
    """True for a seq CouchDB or pouchdb-server could have handed out."""
    if isinstance(seq, bool):
        return False
    if isinstance(seq, int):
        return seq >= 0
    return isinstance(seq, str) and bool(_SEQ.match(seq))


def take_batch(q: queue.Queue, wait: float | None, most: int) -> list:
    """Up to `most` items of a feed's queue: the first waited for `wait` seconds (None or 0:
    not at all), the rest only if they are there already. [] when nothing came."""
    try:
        first = q.get(timeout=wait) if wait else q.get_nowait()
    except queue.Empty:
        return []
    batch = [first]
    while len(batch) < most:
        try:
            batch.append(q.get_nowait())
        except queue.Empty:
            break
    return batch


class Checkpoint:
    """How far a consumer has worked off a database's feed, as the doc
    `checkpoint:<db>:<consumer>` in the sidecar's own database (which only the sidecar's role
    may use: a `_local` doc in the watched db could be written by any member). The seq is stored
    exactly as CouchDB gave it, and checked when read back."""

    def __init__(self, state: Database, watched: str, consumer: str):
        self.db = state
        self.doc_id = f"checkpoint:{watched}:{consumer}"
        self.seq = None
        self._rev = None
        self.saved_at = 0.0

    def load(self):
        """The saved seq, or None (start from the beginning) when there is none or it is not a
        seq CouchDB could have given (logged)."""
        doc = self.db.get(self.doc_id)
        if doc:
            self._rev = doc.get("_rev")
            if valid_seq(doc.get("seq")):
                self.seq = doc["seq"]
            else:
                log.error("checkpoint %s holds %r, which is no CouchDB seq: following from the beginning",
                          self.doc_id, str(doc.get("seq"))[:80])
        return self.seq

    def save(self, seq) -> None:
        if seq is None or seq == self.seq:
            return
        doc = {"_id": self.doc_id, "seq": seq,
               "updated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}
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
    """Follows the continuous `_changes` of one db into a queue as ("change", change row, seq)
    items, and ("reconnected", None, None) after each (re)connection; reconnects with backoff
    when CouchDB goes away, continuing from the last seq it saw. `params`: the feed's
    parameters (filter, include_docs, style...), as Database.follow takes them.

    The heartbeat is short (1 s) because pouchdb-server sends no response headers before the
    first line: until then the connection cannot be closed from outside, so it bounds how long
    a stop waits."""

    def __init__(self, db: Database, since, out: queue.Queue, stop: threading.Event, heartbeat_ms: int = 1000,
                 **params):
        super().__init__(name=f"feed-{db.name}", daemon=True)
        self.db, self.since, self.out, self.stop_event = db, since, out, stop
        self.params = params or {"filter": "buffer/pending"}
        self.heartbeat_ms = heartbeat_ms
        self.connected = threading.Event()
        self._response = None
        self.error: str | None = None  # why it cannot follow now (None while it follows)
        self.failing_since: float | None = None  # time.time() of the first failure in a row
        self._reported = False

    def _failed(self, exc: Exception) -> None:
        """Keep why the feed fails; say it loudly (once per outage) when it lasts over 30 s."""
        self.error = str(exc)[:300]
        metrics.FEED_UP.labels(self.db.name).set(0)
        if self.connected.is_set() or self.failing_since is None:
            self.failing_since, self._reported = time.time(), False
        elif time.time() - self.failing_since > LOUD_AFTER and not self._reported:
            log.error("cannot follow %s for %d s: %s", self.db.name, time.time() - self.failing_since, self.error)
            self._reported = True

    def status(self) -> dict:
        """{"following": bool, "error": str|None, "failing_since": epoch s|None} for reports."""
        return {"following": self.connected.is_set(), "error": self.error, "failing_since": self.failing_since}

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
                stream = self.db.follow(since=self.since, heartbeat_ms=self.heartbeat_ms,
                                        on_open=lambda resp: setattr(self, "_response", resp), **self.params)
                for change in stream:
                    if not self.connected.is_set():
                        self.connected.set()
                        self.error = self.failing_since = None
                        metrics.FEED_UP.labels(self.db.name).set(1)
                        self.out.put(("reconnected", None, None))
                    delay = 0.2
                    if self.stop_event.is_set():
                        return
                    if change is None:
                        continue
                    self.since = change["seq"]
                    self.out.put(("change", change, change["seq"]))
                # server closed the feed normally: go round again
            except Exception as exc:  # CouchDB trouble or a bug: never let the feed die silently
                if self.stop_event.is_set():
                    return
                if not isinstance(exc, (CouchUnavailable, CouchError)):
                    log.exception("changes feed of %s failed; reconnecting", self.db.name)
                elif self.connected.is_set():
                    log.warning("changes feed of %s lost: %s; reconnecting", self.db.name, exc)
                if isinstance(exc, CouchError) and exc.status == 400 and self.since is not None:
                    # CouchDB refuses the since value: following from the beginning finds all
                    # (the consumers are idempotent); staying stuck would find nothing, ever
                    log.error("CouchDB refuses to follow %s since %r (%s): following from the beginning",
                              self.db.name, str(self.since)[:80], exc)
                    self.since = None
                self._failed(exc)
                self.connected.clear()
                metrics.FEED_RECONNECTS.labels(self.db.name).inc()
                self.stop_event.wait(delay)
                delay = min(delay * 2, 5.0)
