"""Title search without calling the sidecar: lookups answered through CouchDB.

A frontend writes `{type: "lookup", kind: "movie"|"series", term, requested_at, requested_by?}`
into the lookups database (LOOKUPS_DB); a LookupPillow in every worker follows that database's
`_changes` (unanswered lookups only: nobody has claimed or answered them yet), asks Radarr's
`/movie/lookup` or Sonarr's `/series/lookup` (the first configured instance) and answers on the
same document:

    state: "answered", results: [{tmdbId|tvdbId, imdbId?, title, year, overview, poster,
                                   inLibrary, inCollection, status?}], answered_at
    state: "failed",   error: {code, message}, answered_at

Several workers answer each lookup once: a worker claims it first (`state: "working"`,
`claimed_by`, `claimed_at`, written with the doc's `_rev`: a conflict means another worker has
it; a claim CouchDB stores on fewer copies than its quorum, 202, is not acted on). A claim older
than `claim_timeout_for(settings)` (every try timing out, plus margin) is taken over by anyone, an
own claim that is not in flight (a crash and restart, CouchDB failing mid-answer) at once.

Lookups are answered in a small thread pool, so one slow search holds up nothing but its own
thread. Answered and failed lookups older than LOOKUP_TTL are deleted by the sidecar (any worker;
the tombstones replicate, so they leave the phones too).
"""
from __future__ import annotations

import concurrent.futures as cf
import logging
import queue
import threading
import time
from datetime import datetime, timedelta, timezone

from . import metrics
from .arr import ArrError, PermanentArrError, ServarrClient, TransientArrError, client_for
from .collection import iso, parse_iso
from .config import Settings
from .couch import Conflict, Couch, CouchError, CouchUnavailable, Forbidden, NoQuorum
from .feeds import ChangeFeed, Checkpoint, take_batch

log = logging.getLogger(__name__)

MAX_RESULTS = 20  # titles per answer (Radarr's own search returns up to ~20 anyway)
OVERVIEW_CHARS = 500  # overviews are trimmed to this many characters (a list, not a detail page)
RETRY_DELAYS = (0.5, 1.5)  # seconds before the second and third try after a transient failure
MAX_THREADS = 8
ARR = {"movie": "radarr", "series": "sonarr"}
ID_FIELD = {"movie": "tmdbId", "series": "tvdbId"}
PREFIX = {"movie": "tmdb:", "series": "tvdb:"}
# the same lookups as couch/_design/lookups/filters/unanswered.js, as a Mango selector
UNANSWERED_SELECTOR = {"type": "lookup", "state": {"$exists": False}}


def claim_timeout_for(settings: Settings) -> float:
    """Seconds after which a `working` claim is stale: every try running into the request
    timeout (connect + read, each up to ARR_TIMEOUT), the pauses between tries, and a margin for
    the CouchDB writes. (The buffer's CLAIM_TIMEOUT is for adds, which may rightly take long.)"""
    tries = len(RETRY_DELAYS) + 1
    return tries * 2 * settings.arr_timeout + sum(RETRY_DELAYS) + 10


def trim(text, limit: int = OVERVIEW_CHARS) -> str:
    """Whitespace collapsed; over `limit` characters cut at a word and ended with an ellipsis."""
    if not isinstance(text, str):
        return ""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def poster_url(resource: dict) -> str | None:
    """The poster's remote URL (TMDb/TheTVDB): `remotePoster`, else the poster image's
    `remoteUrl`. Never Radarr's own MediaCover path (a phone cannot reach it)."""
    candidates = [resource.get("remotePoster")]
    for image in resource.get("images") or []:
        if isinstance(image, dict) and image.get("coverType") == "poster":
            candidates.append(image.get("remoteUrl"))
    for url in candidates:
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            return url
    return None


def result_entry(kind: str, resource: dict, collection_doc: dict | None) -> dict:
    """One answer row from a lookup resource and the collection doc of the same title (or None)."""
    id_field = ID_FIELD[kind]
    year = resource.get("year")
    entry = {id_field: int(resource[id_field])}
    imdb = resource.get("imdbId")
    if isinstance(imdb, str) and imdb.strip():
        entry["imdbId"] = imdb.strip()
    entry.update({
        "title": str(resource.get("title") or "")[:500],
        "year": int(year) if isinstance(year, (int, float)) and year > 0 else None,
        "overview": trim(resource.get("overview")),
        "poster": poster_url(resource),
        # a lookup returns a title already in the library as the library's resource, with its id
        "inLibrary": bool(resource.get("id")),
        "inCollection": collection_doc is not None,
    })
    if collection_doc is not None:
        entry["status"] = collection_doc.get("status")
    return entry


class LookupPillow:
    """Feed (`lookups/unanswered`) → claim → Radarr/Sonarr lookup → answer, for the lookups db;
    checkpointed as `checkpoint:<lookups db>:lookups-<worker id>` in the sidecar's database.
    A Worker job: `name`, `run()` until the stop event, `feed`."""

    def __init__(self, settings: Settings, couch: Couch, stop: threading.Event):
        self.settings = settings
        self.db = couch.db(settings.lookups_db)
        self.collections = {"movie": couch.db(settings.movies_db), "series": couch.db(settings.series_db)}
        self.name = f"lookups-{self.db.name}"
        self.checkpoint = Checkpoint(couch.db(settings.sidecar_db), self.db.name, f"lookups-{settings.worker_id}")
        self.stop = stop
        self.queue: queue.Queue = queue.Queue()
        self.feed: ChangeFeed | None = None
        self.worker_id = settings.worker_id
        self.claim_timeout = claim_timeout_for(settings)
        self.cleanup_every = min(max(settings.lookup_ttl / 10, settings.scan_interval), 600.0)
        self.clients: dict[str, ServarrClient | None] = {}
        for kind, arr in ARR.items():
            instance = settings.instance(arr, None)
            self.clients[kind] = client_for(instance, settings.arr_timeout) if instance else None
        self.pool = cf.ThreadPoolExecutor(max_workers=max(2, min(MAX_THREADS, settings.arr_concurrency)),
                                          thread_name_prefix="lookup")
        self._lock = threading.Lock()
        self._active: set[str] = set()  # ids submitted to the pool and not finished
        self._no_quorum: dict[str, float] = {}  # own claims stored without quorum: left to go stale
        self.needs_full_scan = False

    # --- which lookups are ours to take
    def claimable(self, doc: dict | None, now: datetime) -> bool:
        if not doc or doc.get("_deleted") or doc.get("type") != "lookup" or doc.get("kind") not in ARR:
            return False
        state = doc.get("state")
        if not state:
            return True
        if state != "working":
            return False
        claimed = parse_iso(doc.get("claimed_at"))
        if claimed is None or claimed <= now - timedelta(seconds=self.claim_timeout):
            return True
        # an own claim that is not in flight (offer() skips those) is an orphan: a crash and
        # restart, or CouchDB failing while the answer was written. Not one stored without quorum:
        # another worker's claim may have won that doc.
        return doc.get("claimed_by") == self.worker_id and doc["_id"] not in self._no_quorum

    def offer(self, docs: list[dict]) -> int:
        """Submit the lookups that are ours to take to the pool (each id once while in flight).
        Stale versions are fine: the claim sorts them out. Returns how many were submitted."""
        now = datetime.now(timezone.utc)
        horizon = time.monotonic() - self.claim_timeout
        submitted = 0
        with self._lock:
            for doc_id in [i for i, t in self._no_quorum.items() if t < horizon]:
                del self._no_quorum[doc_id]
        for doc in docs:
            if not self.claimable(doc, now):
                continue
            with self._lock:
                if doc["_id"] in self._active:
                    continue
                self._active.add(doc["_id"])
            self.pool.submit(self._work, doc)
            submitted += 1
        return submitted

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._active)

    # --- one lookup, in the pool
    def _work(self, doc: dict) -> None:
        try:
            claim = self._claim(doc)
            if claim is not None:
                t0 = time.perf_counter()
                self._answer(claim)
                metrics.LOOKUP_SECONDS.labels(claim["kind"]).observe(time.perf_counter() - t0)
        except (CouchUnavailable, CouchError) as exc:
            # a claim of ours may be left `working`: not in flight any more, so the next scan takes it
            log.warning("lookup %s: CouchDB trouble (%s); the next scan takes it up again", doc["_id"], exc)
            self.needs_full_scan = True
        except Exception:  # a bug must not kill the pool thread or leave the id marked in flight
            log.exception("lookup %s: unexpected error", doc["_id"])
        finally:
            with self._lock:
                self._active.discard(doc["_id"])

    def _claim(self, doc: dict) -> dict | None:
        """The claimed doc, or None when someone else has it (or it changed meanwhile)."""
        if doc.get("state") == "working":
            if doc.get("claimed_by") == self.worker_id:
                log.info("resuming own unanswered lookup %s (claimed %s)", doc["_id"], doc.get("claimed_at"))
            else:
                log.info("taking over stale lookup %s (was %s at %s)", doc["_id"], doc.get("claimed_by"),
                         doc.get("claimed_at"))
        claim = {k: v for k, v in doc.items() if k not in ("_revisions", "_conflicts", "_deleted_conflicts")}
        claim.update(state="working", claimed_by=self.worker_id, claimed_at=iso(datetime.now(timezone.utc)))
        try:
            self.db.put(claim, quorum=True)
        except Conflict:
            return None  # another worker has it, or the frontend deleted it
        except NoQuorum:
            # in a cluster another worker's claim may have won on the other copies: not acted on;
            # whoever's claim wins answers it, or it goes stale and is taken over
            metrics.CLAIMS_WITHOUT_QUORUM.labels(self.db.name).inc()
            with self._lock:
                self._no_quorum[doc["_id"]] = time.monotonic()
            log.info("claim of lookup %s reached fewer copies than the quorum; not answering it", doc["_id"])
            return None
        except Forbidden as exc:
            log.warning("claim of lookup %s refused: %s", doc["_id"], exc.reason)
            return None
        return claim

    def _search(self, kind: str, term: str) -> tuple[list[dict] | None, ArrError | None]:
        """(resources, None) or (None, the last error): transient failures tried again a couple
        of times, a permanent one (Radarr/Sonarr refusing the request) at once."""
        client = self.clients.get(kind)
        if client is None:
            arr = ARR[kind]
            return None, PermanentArrError("not_configured", f"no {arr.capitalize()} is configured "
                                           f"({arr.upper()}_URL), so {kind} titles cannot be searched")
        tries = len(RETRY_DELAYS) + 1
        for attempt in range(tries):
            try:
                return client.lookup(term), None
            except PermanentArrError as exc:
                return None, exc
            except TransientArrError as exc:
                if attempt == tries - 1:
                    return None, TransientArrError(exc.code, f"{exc.message} (tried {tries} times)", exc.status)
                log.info("lookup %r in %s failed (%s); trying again", term, client.name, exc)
                if self.stop.wait(RETRY_DELAYS[attempt]):
                    raise _Stopping() from None
        raise AssertionError("unreachable")

    def _answer(self, claim: dict) -> None:
        kind, term = claim["kind"], " ".join(str(claim.get("term") or "").split())
        try:
            found, error = self._search(kind, term)
        except _Stopping:
            log.info("stopping: lookup %s is left claimed; resumed after a restart", claim["_id"])
            return
        answer = {k: v for k, v in claim.items() if k not in ("claimed_by", "claimed_at", "results", "error")}
        answer["answered_at"] = iso(datetime.now(timezone.utc))
        if error is not None:
            answer.update(state="failed", error={"code": error.code, "message": error.message})
            log.info("lookup %s (%s %r) failed: %s", claim["_id"], kind, term, error)
        else:
            answer.update(state="answered", results=self._results(kind, found or []))
            log.info("lookup %s (%s %r): %d results", claim["_id"], kind, term, len(answer["results"]))
        try:
            self.db.put(answer)
        except Conflict:
            log.info("lookup %s changed while it was answered (deleted by its frontend?); answer dropped",
                     claim["_id"])
            return
        metrics.LOOKUPS.labels(kind, answer["state"]).inc()

    def _results(self, kind: str, found: list[dict]) -> list[dict]:
        id_field = ID_FIELD[kind]
        picked, seen = [], set()
        for resource in found:
            try:
                ext = int(resource.get(id_field) or 0)
            except (TypeError, ValueError):
                continue
            if ext <= 0 or ext in seen:
                continue  # nothing a frontend could wish for, or a duplicate
            seen.add(ext)
            picked.append(dict(resource, **{id_field: ext}))
            if len(picked) >= MAX_RESULTS:
                break
        if not picked:
            return []
        have = self.collections[kind].docs_by_id(f"{PREFIX[kind]}{r[id_field]}" for r in picked)
        return [result_entry(kind, r, have.get(f"{PREFIX[kind]}{r[id_field]}")) for r in picked]

    # --- finding work without the feed, and cleaning up
    def due_docs(self, include_new: bool) -> list[dict]:
        """Claims to take over (stale, or own orphans) and, after a (re)connect, every
        unanswered lookup."""
        docs = []
        if include_new:
            docs += self._view_docs(["new", ""], ["new", {}])
        docs += self._view_docs(["working", ""], ["working", {}])
        return docs

    def _view_docs(self, start, end) -> list[dict]:
        rows = self.db.view("lookups", "by_state", reduce=False, include_docs=True, startkey=start, endkey=end,
                            limit=self.settings.batch_size * 10)["rows"]
        return [r["doc"] for r in rows if r.get("doc")]

    def cleanup(self) -> int:
        """Delete answered and failed lookups older than LOOKUP_TTL (every leaf, so a
        replication conflict does not bring one back). Returns how many were deleted."""
        cutoff = iso(datetime.now(timezone.utc) - timedelta(seconds=self.settings.lookup_ttl))
        deletes = []
        for state in ("answered", "failed"):
            rows = self.db.view("lookups", "by_state", reduce=False, include_docs=True, conflicts=True,
                                startkey=[state, ""], endkey=[state, cutoff], limit=1000)["rows"]
            for row in rows:
                doc = row.get("doc")
                if not doc:
                    continue
                for rev in [doc["_rev"], *doc.get("_conflicts", [])]:
                    deletes.append({"_id": doc["_id"], "_rev": rev, "_deleted": True})
        if not deletes:
            return 0
        results = self.db.bulk_docs(deletes)
        done = sum(1 for r in results.values() if "error" not in r)
        if done:
            metrics.LOOKUPS_CLEANED.inc(done)
            log.info("%s: deleted %d lookups answered before %s", self.db.name, done, cutoff)
        return done

    # --- the job
    def run(self) -> None:
        try:
            self._run()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def _run(self) -> None:
        since = self._until_ready(self.checkpoint.load)
        if self.stop.is_set():
            return
        # CouchDB 3's built-in `_selector` filter runs without JavaScript; pouchdb-server crashes on
        # it, so there the design doc's JS filter (as the buffer pillows do)
        filter_ = ({"selector": UNANSWERED_SELECTOR} if self._until_ready(self.db.couch.is_couchdb)
                   else {"filter": "lookups/unanswered"})
        if self.stop.is_set():
            return
        self.feed = ChangeFeed(self.db, since, self.queue, self.stop, **filter_)
        self.feed.start()
        self.offer(self._until_ready(lambda: self.due_docs(include_new=True)) or [])
        last_scan, last_cleanup = time.monotonic(), float("-inf")
        while not self.stop.is_set():
            batch = take_batch(self.queue, self.settings.scan_interval, self.settings.batch_size)
            try:
                docs = [change.get("doc") for kind, change, _ in batch if kind == "change"]
                self.offer(docs)  # the feed's lookups first: nothing below holds them up
                full = any(kind == "reconnected" for kind, _, _ in batch) or self.needs_full_scan
                idle = not docs and self.queue.empty()
                # the view query makes CouchDB index what changed: not while the feed brings work
                # (unless it has been busy for 30 scan intervals)
                if full or time.monotonic() - last_scan >= self.settings.scan_interval * (1 if idle else 30):
                    self.needs_full_scan = False
                    self.offer(self.due_docs(include_new=full))
                    last_scan = time.monotonic()
                if time.monotonic() - last_cleanup >= self.cleanup_every:
                    last_cleanup = time.monotonic()
                    self.cleanup()
                seqs = [seq for kind, _, seq in batch if kind == "change"]
                if seqs and (self.queue.empty() or time.monotonic() - self.checkpoint.saved_at > 1.0):
                    self.checkpoint.save(seqs[-1])
            except Exception as exc:  # CouchDB trouble or a bug: the pillow carries on either way
                if isinstance(exc, (CouchUnavailable, CouchError)):
                    log.warning("%s: CouchDB trouble (%s); carrying on", self.db.name, exc)
                else:
                    log.exception("%s: unexpected error; carrying on", self.db.name)
                self.needs_full_scan = True
                self.stop.wait(1.0)

    def _until_ready(self, fn):
        delay = 0.5
        while not self.stop.is_set():
            try:
                return fn()
            except (CouchUnavailable, CouchError) as exc:
                log.warning("%s: waiting for CouchDB (%s)", self.db.name, exc)
                self.stop.wait(delay)
                delay = min(delay * 2, 10)
        return None


class _Stopping(Exception):
    """The worker is stopping while a lookup waits to try again."""
