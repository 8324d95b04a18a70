"""CouchDB access over its HTTP API (CouchDB 3; the local pouchdb-server speaks the same).

A thin layer on `requests` with the few calls the sidecar needs. Rules that keep it
portable between CouchDB 3 and pouchdb-server:
- `seq` values are opaque: stored and sent back as given, never compared or parsed.
- `_bulk_docs` results are matched to documents by id, never by position.
- feed requests send `Accept-Encoding: identity` (a gzipping server would otherwise buffer
  a continuous feed and deliver nothing live).
"""
from __future__ import annotations

import json
import logging
import threading
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import quote

import requests

log = logging.getLogger(__name__)


class CouchError(Exception):
    """CouchDB answered with an error status."""

    def __init__(self, status: int, error: str, reason: str):
        super().__init__(f"CouchDB {status} {error}: {reason}")
        self.status, self.error, self.reason = status, error, reason


class CouchUnavailable(Exception):
    """CouchDB could not be reached (refused, timed out, connection dropped)."""


class Conflict(CouchError):
    pass


class NoQuorum(CouchError):
    """CouchDB stored the write on fewer copies than its write quorum (202 Accepted, or
    `"accepted": true` in a `_bulk_docs` row): in a cluster another writer may win, so a write
    meant to let only one of several win (a claim, a lock) does not count."""


class NotFound(CouchError):
    pass


class Forbidden(CouchError):
    pass


_ERRORS = {409: Conflict, 404: NotFound, 403: Forbidden}


def _raise_for(resp: requests.Response) -> None:
    if resp.status_code < 400:
        return
    try:
        body = resp.json()
        error, reason = str(body.get("error", "")), str(body.get("reason", ""))
    except ValueError:
        error, reason = "http_error", resp.text[:200]
    raise _ERRORS.get(resp.status_code, CouchError)(resp.status_code, error, reason)


def docid_path(doc_id: str) -> str:
    # design and _local ids keep their slash; everything else is fully escaped ("tmdb:1" is fine as is)
    for prefix in ("_design/", "_local/"):
        if doc_id.startswith(prefix):
            return prefix + quote(doc_id[len(prefix):], safe="")
    return quote(doc_id, safe="")


class Couch:
    """One CouchDB server. Thread-safe: each thread gets its own requests.Session."""

    def __init__(self, url: str, auth: tuple[str, str] | None = None, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.auth = auth
        self.timeout = timeout
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.auth = self.auth
            s.headers["Accept"] = "application/json"
            self._local.session = s
        return s

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", self.timeout)
        try:
            resp = self.session.request(method, f"{self.url}/{path.lstrip('/')}", **kw)
        except requests.RequestException as exc:
            # never echo the URL's credentials: the exception text names host and port only
            raise CouchUnavailable(f"CouchDB at {self.url} unreachable: {type(exc).__name__}") from None
        return resp

    def json(self, method: str, path: str, **kw: Any) -> Any:
        resp = self.request(method, path, **kw)
        _raise_for(resp)
        return resp.json()

    def db(self, name: str) -> "Database":
        return Database(self, name)

    def is_couchdb(self) -> bool:
        """True for Apache CouchDB (its root says {"couchdb": "Welcome"}), False for the local
        pouchdb-server (the development server, whose differences the callers work around).
        Raises CouchUnavailable / CouchError."""
        if getattr(self, "_is_couchdb", None) is None:
            self._is_couchdb = "couchdb" in self.json("GET", "/")
        return self._is_couchdb


class Database:
    def __init__(self, couch: Couch, name: str):
        self.couch = couch
        self.name = name

    def __repr__(self) -> str:
        return f"Database({self.name!r})"

    def _p(self, rest: str = "") -> str:
        return f"{quote(self.name, safe='')}/{rest}" if rest else quote(self.name, safe="")

    # --- database level
    def create(self) -> bool:
        """Create the database; False if it already existed."""
        resp = self.couch.request("PUT", self._p())
        if resp.status_code == 412:
            return False
        _raise_for(resp)
        return True

    def exists(self) -> bool:
        resp = self.couch.request("HEAD", self._p())
        if resp.status_code == 404:
            return False
        _raise_for(resp)
        return True

    def delete_db(self) -> None:
        resp = self.couch.request("DELETE", self._p())
        if resp.status_code != 404:
            _raise_for(resp)

    def info(self) -> dict:
        return self.couch.json("GET", self._p())

    # --- documents
    def get(self, doc_id: str, **params: Any) -> dict | None:
        resp = self.couch.request("GET", self._p(docid_path(doc_id)), params=params or None)
        if resp.status_code == 404:
            return None
        _raise_for(resp)
        return resp.json()

    def put(self, doc: dict, quorum: bool = False) -> str:
        """Write `doc` (its `_rev` decides MVCC); returns the new rev and sets it on doc.

        quorum=True: raise NoQuorum when CouchDB answers 202 (the write reached fewer copies
        than the write quorum; the new rev is still set on doc)."""
        resp = self.couch.request("PUT", self._p(docid_path(doc["_id"])), json=doc)
        _raise_for(resp)
        body = resp.json()
        doc["_rev"] = body["rev"]
        if quorum and resp.status_code == 202:
            raise NoQuorum(202, "accepted", f"{doc['_id']} was written to fewer copies than the quorum")
        return body["rev"]

    def delete(self, doc_id: str, rev: str) -> None:
        self.couch.json("DELETE", self._p(docid_path(doc_id)), params={"rev": rev})

    def bulk_docs(self, docs: list[dict]) -> dict[str, dict]:
        """Write many docs; returns {id: result} where result has `rev` or `error`/`reason`.

        Matched by id (pouchdb-server does not keep request order). Successful writes get
        their new `_rev` set on the doc passed in. A row with `"accepted": true` (CouchDB 3 in a
        cluster, chttpd_db:update_doc_result_to_json) was stored on fewer copies than the write
        quorum: see NoQuorum.
        """
        if not docs:
            return {}
        rows = self.couch.json("POST", self._p("_bulk_docs"), json={"docs": docs})
        results = {r.get("id"): r for r in rows}
        for doc in docs:
            r = results.get(doc.get("_id"))
            if r and "rev" in r and "error" not in r:
                doc["_rev"] = r["rev"]
        return results

    def all_docs(self, keys: Iterable[str] | None = None, include_docs: bool = True, **params: Any) -> list[dict]:
        """Rows of _all_docs; with keys, a missing doc's row has no `doc` (error: not_found)."""
        q = {"include_docs": json.dumps(include_docs)}
        q.update({k: json.dumps(v) for k, v in params.items()})
        if keys is not None:
            body = self.couch.json("POST", self._p("_all_docs"), params=q, json={"keys": list(keys)})
        else:
            body = self.couch.json("GET", self._p("_all_docs"), params=q)
        return body["rows"]

    def all_docs_pages(self, page: int, include_docs: bool = True) -> Iterator[list[dict]]:
        """The whole `_all_docs`, in id order, as pages of at most `page` rows (each page starts
        after the last id of the one before: startkey + skip=1), in memory one page at a time.
        Raises CouchUnavailable / CouchError."""
        start = None
        while True:
            params: dict[str, Any] = {"limit": page}
            if start is not None:
                params.update(startkey=start, skip=1)
            rows = self.all_docs(include_docs=include_docs, **params)
            if rows:
                yield rows
            if len(rows) < page:
                return
            start = rows[-1]["id"]

    def leaves(self, doc_id: str) -> list[dict]:
        """Every leaf revision of a doc, live and deleted (`open_revs=all&revs=true`), each with
        `_rev`, `_revisions` and, if deleted, `_deleted`; [] when the doc does not exist."""
        return self.revisions(doc_id, "all")

    def revisions(self, doc_id: str, revs: list[str] | str) -> list[dict]:
        """The bodies of these revisions (those the server still has; compaction keeps only
        leaves), with `_revisions`."""
        open_revs = revs if revs == "all" else json.dumps(list(revs))
        resp = self.couch.request("GET", self._p(docid_path(doc_id)), params={"open_revs": open_revs, "revs": "true"})
        if resp.status_code == 404:
            return []
        _raise_for(resp)
        return [row["ok"] for row in resp.json() if isinstance(row, dict) and "ok" in row]

    def docs_by_id(self, ids: Iterable[str]) -> dict[str, dict]:
        """Existing (not deleted) docs for these ids."""
        out = {}
        for row in self.all_docs(keys=list(ids)):
            doc = row.get("doc")
            if doc and not (row.get("value") or {}).get("deleted"):
                out[row["id"]] = doc
        return out

    def view(self, ddoc: str, view: str, **params: Any) -> dict:
        """Query a view; keys/startkey/endkey/... are JSON-encoded as CouchDB expects."""
        q = {k: (json.dumps(v) if not isinstance(v, str) or k in ("key", "startkey", "endkey", "start_key", "end_key") else v)
             for k, v in params.items()}
        return self.couch.json("GET", self._p(f"_design/{ddoc}/_view/{view}"), params=q)

    # --- changes
    def changes(self, **params: Any) -> dict:
        """One normal (non-continuous) _changes request."""
        return self.couch.json("GET", self._p("_changes"), params=params,
                               headers={"Accept-Encoding": "identity"})

    def follow(self, since: str | int | None = None, filter: str | None = None, heartbeat_ms: int = 5000,
               include_docs: bool = True, timeout: float | None = None,
               on_open: Callable[[requests.Response], None] | None = None, selector: dict | None = None,
               **extra: str) -> Iterator[dict | None]:
        """Continuous _changes: yields each change dict, and None on every heartbeat so the
        caller gets a regular chance to do timed work. Ends (returns) when the server closes
        the feed; raises CouchUnavailable when it cannot be reached. `on_open` gets the open
        response, so another thread can close it to end the feed at once. `extra`: more
        _changes parameters as CouchDB takes them (style=all_docs, conflicts=true...). `selector`:
        a Mango selector for CouchDB's built-in `_selector` filter, sent in a POST body (CouchDB
        docs, /db/_changes; it runs without JavaScript — pouchdb-server crashes on it)."""
        params: dict[str, Any] = {"feed": "continuous", "heartbeat": heartbeat_ms,
                                  "include_docs": json.dumps(include_docs)}
        if since is not None:
            params["since"] = since
        if filter:
            params["filter"] = filter
        if selector is not None:
            params["filter"] = "_selector"
        params.update(extra)
        # the read timeout must outlast a heartbeat interval
        read_timeout = timeout or max(heartbeat_ms / 1000 * 3, 10)
        try:
            resp = self.couch.session.request(
                "POST" if selector is not None else "GET", f"{self.couch.url}/{self._p('_changes')}", params=params,
                json={"selector": selector} if selector is not None else None, stream=True,
                headers={"Accept-Encoding": "identity"}, timeout=(5, read_timeout))
        except requests.RequestException as exc:
            raise CouchUnavailable(f"CouchDB feed {self.name}: {type(exc).__name__}") from None
        if on_open:
            on_open(resp)
        with resp:
            _raise_for(resp)
            try:
                # chunk_size=None hands over each chunk as it arrives (chunked transfer), so
                # live changes are seen at once without reading byte by byte
                buf = b""
                for chunk in resp.iter_content(chunk_size=None):
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    for line in lines:
                        if not line.strip():
                            yield None
                            continue
                        change = json.loads(line)
                        if "error" in change:  # CouchDB 3 reports a failing filter or a deleted db in the feed
                            raise CouchError(200, str(change["error"]), str(change.get("reason", "")))
                        if "last_seq" in change and "id" not in change:
                            return  # the server ended the feed
                        yield change
            except (requests.RequestException, ValueError) as exc:
                raise CouchUnavailable(f"CouchDB feed {self.name} broke: {type(exc).__name__}") from None
