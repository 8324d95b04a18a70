"""Following a database, as pillowtop does: a ChangeFeed (continuous `_changes` in a thread,
reconnecting) fills a queue, and a Checkpoint (`_local/` doc) records how far its consumer has
worked it off. Used by the worker's pillows and the conflict resolver."""
from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from datetime import datetime, timezone

from . import metrics
from .couch import CouchError, CouchUnavailable, Database

log = logging.getLogger(__name__)


class Checkpoint:
    """How far a consumer has worked off a feed, in `_local/<name>` (never replicated, not in
    `_changes`). The seq is stored exactly as CouchDB gave it."""

    def __init__(self, db: Database, name: str):
        self.db = db
        self.doc_id = f"_local/{name}"
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
        doc = {"_id": self.doc_id, "seq": seq, "updated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}
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
                self.connected.clear()
                metrics.FEED_RECONNECTS.labels(self.db.name).inc()
                self.stop_event.wait(delay)
                delay = min(delay * 2, 5.0)
