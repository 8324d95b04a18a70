"""Fake Radarr 6 and Sonarr 4 (API v3) servers for tests: real HTTP on loopback.

They follow the contracts in ../shared/reference/servarr/README.md (facts taken from the Radarr
and Sonarr source) and the shipped openapi.json files:

- Auth: the key from query ``apikey``, else header ``X-Api-Key``, else ``Authorization: Bearer``.
  Missing/wrong -> 401 with an empty body. ``GET /ping`` is anonymous.
- JSON like System.Text.Json: camelCase, enums as camelCase strings, null properties omitted,
  ``id`` omitted when 0 (lookup results of titles not in the library), property names
  case-insensitive on input, wrong JSON types -> 400 ValidationProblemDetails (an object).
- FluentValidation failures -> 400 with a JSON *array* (``MovieExistsValidator`` /
  ``SeriesExistsValidator`` for "already added", hand-built "not found" failures without
  ``errorCode``), POST -> 201 + Location, PUT -> 202, DELETE -> 200 with an empty body,
  get-by-id of an unknown id -> 404 ProblemDetails, other errors -> ``{message, description}``.

Test control (all thread-safe): ``delay``, ``fail_mode``, ``fail_next()``, ``hang_seconds``,
``unknown_ids``, ``list_fail_after``, ``creations``, ``requests_log``, ``add_existing()``,
``add_many()``, ``remove()``, ``set_file()`` / ``set_episode_files()``, ``reset()``,
``stop()`` / ``start()`` (same port again).

Metadata ("TMDb"/"TVDB") comes from a deterministic catalog: a few real titles by default
(``set_catalog()`` adds more), otherwise made up from the id (``Movie {tmdbId}`` /
``Series {tvdbId}``). As a convenience for tests, a title sent in the POST body is used for ids
that have no catalog entry (real Radarr/Sonarr always re-fetch the title).

Standalone demo::

    python -m tests.fakes.servarr --radarr-port 7878 --sonarr-port 8989
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import http.server
import json
import re
import signal
import socket
import sys
import threading
import time
import uuid
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, urlsplit

__all__ = ["FakeRadarr", "FakeSonarr", "FakeServarr"]

JSON_CT = "application/json; charset=utf-8"
PROBLEM_CT = "application/problem+json; charset=utf-8"
FAIL_MODES_DOC = 'None | "503" | "500" | any other 3-digit status | "timeout" | "close"'


# --------------------------------------------------------------------------- small helpers


def _iso(ts: float | None = None) -> str:
    """DateTime as Radarr/Sonarr's STJUtcConverter writes it: ``yyyy-MM-ddTHH:mm:ssZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if ts is None else ts))


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _mix(n: int, salt: int) -> int:
    """Cheap deterministic pseudo-random number from an id."""
    x = (n * 2654435761 + salt * 40503 + 0x9E3779B9) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 2246822519) & 0xFFFFFFFF
    x ^= x >> 13
    return x


def _hex(seed: str, n: int = 27) -> str:
    return hashlib.md5(seed.encode()).hexdigest()[:n]


def _trace_id() -> str:
    return f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00"


def _display_name(prop: str) -> str:
    """FluentValidation's display name: 'TmdbId' -> 'Tmdb Id'."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", prop)


def _pascal(prop: str) -> str:
    return prop[:1].upper() + prop[1:]


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _path_valid(p: Any) -> bool:
    if not isinstance(p, str) or not p.strip() or "\0" in p:
        return False
    return p.startswith("/") or bool(re.match(r"^[A-Za-z]:[\\/]", p)) or p.startswith("\\\\")


def _path_eq(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    return a.rstrip("/\\") == b.rstrip("/\\")


def _folder_name(title: str) -> str:
    t = title.replace(":", " -")
    t = re.sub(r'[<>"/\\|?*]', "", t)
    return re.sub(r"\s+", " ", t).strip().rstrip(".")


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "series"


def _sort_title(title: str) -> str:
    t = title.lower()
    for article in ("the ", "a ", "an "):
        if t.startswith(article):
            return t[len(article):]
    return t


def _clean_title(title: str, drop_words: bool = False) -> str:
    t = title.lower()
    if drop_words:
        t = re.sub(r"\b(a|an|the|and|or|of)\b", "", t)
    return re.sub(r"[^a-z0-9]", "", t)


def _split_pascal(name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)


def _num(x: float) -> float | int:
    """Doubles the way System.Text.Json writes them (100.0 -> 100)."""
    return int(x) if float(x).is_integer() else round(x, 2)


# --------------------------------------------------------------------------- responses


class _Resp:
    __slots__ = ("status", "body", "ctype", "headers", "partial")

    def __init__(self, status: int, body: bytes = b"", ctype: str | None = None,
                 headers: Iterable[tuple[str, str]] = (), partial: bytes | None = None):
        self.status, self.body, self.ctype, self.headers, self.partial = status, body, ctype, list(headers), partial


class _Abort(Exception):
    def __init__(self, resp: _Resp):
        super().__init__(resp.status)
        self.resp = resp


class _Drop(Exception):
    """Close the connection without answering."""


def _json(status: int, obj: Any, headers: Iterable[tuple[str, str]] = ()) -> _Resp:
    return _Resp(status, _dumps(obj), JSON_CT, headers)


def _empty(status: int) -> _Resp:
    return _Resp(status, b"")


def _failure(prop: str, message: str, attempted: Any, code: str | None = None,
             placeholders: dict | None = None) -> dict:
    """One FluentValidation ValidationFailure serialized with STJson (nulls omitted)."""
    f: dict[str, Any] = {"propertyName": prop, "errorMessage": message}
    if attempted is not None:
        f["attemptedValue"] = attempted
    f["severity"] = "error"
    if code is not None:  # validator failures; hand-built ones have no code/arguments
        f["errorCode"] = code
        f["formattedMessageArguments"] = []
        ph = dict(placeholders or {})
        ph["propertyName"] = _display_name(prop)
        ph["propertyValue"] = attempted
        f["formattedMessagePlaceholderValues"] = ph
    return f


def _not_empty(prop: str, value: Any) -> dict:
    return _failure(prop, f"'{_display_name(prop)}' must not be empty.", value, "NotEmptyValidator")


def _greater_than(prop: str, value: Any, than: int = 0) -> dict:
    return _failure(prop, f"'{_display_name(prop)}' must be greater than '{than}'.", value,
                    "GreaterThanValidator", {"comparisonValue": than})


def _invalid_path(prop: str, value: Any) -> dict:
    ph = {"path": value} if value is not None else {}
    return _failure(prop, f"Invalid Path: '{value if value is not None else ''}'", value, "PathValidator", ph)


# --------------------------------------------------------------------------- input binding (STJson)

INT, INT_N, BOOL, BOOL_N, STR, INTSET = "int", "int?", "bool", "bool?", "str", "intset"
_DOTNET = {INT: "System.Int32", INT_N: "System.Nullable`1[System.Int32]", BOOL: "System.Boolean",
           BOOL_N: "System.Nullable`1[System.Boolean]", STR: "System.String",
           INTSET: "System.Collections.Generic.HashSet`1[System.Int32]"}


class _Enum:
    def __init__(self, dotnet: str, values: list[str]):
        self.dotnet, self.values = dotnet, values


class _Obj:
    def __init__(self, dotnet: str, spec: dict, many: bool = False):
        self.dotnet, self.spec, self.many = dotnet, spec, many


class _BindError(Exception):
    def __init__(self, path: str, dotnet: str):
        super().__init__(path)
        self.path, self.dotnet = path, dotnet


def _bind_value(value: Any, kind: Any, path: str) -> Any:
    if isinstance(kind, _Enum):
        if isinstance(value, str):
            for v in kind.values:
                if v.lower() == value.lower():
                    return v
        elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(kind.values):
            return kind.values[value]
        raise _BindError(path, kind.dotnet)
    if isinstance(kind, _Obj):
        if value is None:
            return None
        if kind.many:
            if not isinstance(value, list):
                raise _BindError(path, f"System.Collections.Generic.List`1[{kind.dotnet}]")
            return [_bind_obj(v, kind.spec, f"{path}[{i}]", kind.dotnet) for i, v in enumerate(value)]
        return _bind_obj(value, kind.spec, path, kind.dotnet)
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == INT and is_int and -2**31 <= value < 2**31:
        return value
    if kind == INT_N and (value is None or (is_int and -2**31 <= value < 2**31)):
        return value
    if kind == BOOL and isinstance(value, bool):
        return value
    if kind == BOOL_N and (value is None or isinstance(value, bool)):
        return value
    if kind == STR and (value is None or isinstance(value, str)):
        return value
    if kind == INTSET:
        if value is None:
            return None
        if isinstance(value, list):
            for i, v in enumerate(value):
                if not (isinstance(v, int) and not isinstance(v, bool)):
                    raise _BindError(f"{path}[{i}]", _DOTNET[INTSET])
            return list(dict.fromkeys(value))
    raise _BindError(path, _DOTNET[kind])


def _bind_obj(data: Any, spec: dict, path: str, dotnet: str) -> dict:
    if not isinstance(data, dict):
        raise _BindError(path, dotnet)
    lower = {k.lower(): k for k in spec}
    out: dict[str, Any] = {}
    for key, value in data.items():
        canon = lower.get(key.lower())
        if canon is None:
            continue  # unknown properties are ignored
        out[canon] = _bind_value(value, spec[canon], f"{path}.{canon}")
    return out


def _line_col(raw: str, pos: int) -> tuple[int, int]:
    line = raw.count("\n", 0, pos)
    col = pos - (raw.rfind("\n", 0, pos) + 1)
    return line, col


# --------------------------------------------------------------------------- HTTP plumbing


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):  # quiet: clients vanish all the time in tests
        pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Kestrel"
    sys_version = ""
    timeout = 130  # Kestrel's keep-alive timeout
    fake: "FakeServarr" = None  # type: ignore[assignment]

    def version_string(self) -> str:
        return "Kestrel"

    def setup(self):
        super().setup()
        # Kestrel has Nagle off. With it on, the body (our second send()) waits for the client's
        # delayed ACK of the headers: ~40 ms added to every answer on Linux loopback
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.fake._conn_opened(self.connection)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.fake._conn_closed(self.connection)

    def handle(self):
        try:
            super().handle()
        except (OSError, ValueError):
            pass

    def log_message(self, format, *args):  # noqa: A002
        if self.fake.verbose:
            sys.stderr.write(f"[{self.fake.APP_NAME}] {self.address_string()} {format % args}\n")

    def _any(self):
        self.fake._handle(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _any


# --------------------------------------------------------------------------- the common fake


def _with_add_options(resource: dict, opts: dict) -> dict:
    """The 201 answer to an add: the resource with addOptions just before `ratings`, where the
    real serializer puts it."""
    out: dict = {}
    for k, v in resource.items():
        if k == "ratings":
            out["addOptions"] = opts
        out[k] = v
    return out


class FakeServarr:
    """What Radarr and Sonarr share. Use FakeRadarr / FakeSonarr.

    Lifecycle: ``start(host="127.0.0.1", port=0) -> self`` (background thread; after ``stop()`` it
    comes back on the same port, so ``url`` is stable), ``stop()`` (listening socket closed, open
    keep-alive connections dropped, waiting requests end unanswered), ``running``, ``url``,
    ``port``; also usable as a context manager.

    Control (thread-safe; ``reset()`` puts everything back and restarts a stopped fake):
      ``delay`` (s before answering each /api request), ``fail_mode`` (see its docstring),
      ``fail_next(n, mode)``, ``hang_seconds`` (for "timeout", default 30), ``unknown_ids``,
      ``list_fail_after`` (None; 0 -> the full-list GET answers 500 ``{message, description}``;
      n > 0 -> 200 chunked, the first n items, then the connection drops mid-body).
    Seeding: ``add_existing()``, ``add_many()``, ``remove()``, ``set_catalog()`` (upstream metadata),
      ``set_file()`` (Radarr) / ``set_episode_files()`` (Sonarr), ``quality_profiles``,
      ``root_folders`` (paths), ``tags``.
    Observation: ``creations`` (Counter id -> 201s), ``requests_log`` (every /api request:
      method, path, query, json, time, status — status None when dropped unanswered),
      ``log(method, path)``, ``find(id)``, ``library`` (arr id -> resource; the live entries, treat
      as read-only), ``commands``, ``exclusions``, ``connections_opened``.
    """

    APP_NAME = ""
    VERSION = ""
    KEY = ""  # "tmdbId" | "tvdbId"
    RESOURCE = ""  # "movie" | "series"
    MODEL = ""  # "Movie" | "Series" (exception messages)
    RESOURCE_TYPE = ""  # .NET type of the body parameter
    DEFAULT_ROOT = ""
    PROBLEM_TYPES: dict[int, str] = {}
    INPUT_SPEC: dict = {}
    COMMANDS: tuple[str, ...] = ()
    EXISTS_CODE = ""
    EXISTS_MESSAGE = ""
    NOT_FOUND_MESSAGE = ""

    def __init__(self, api_key: str, instance_name: str):
        self.api_key = api_key
        self.instance_name = instance_name
        self.verbose = False
        self._lock = threading.RLock()
        self._srv: _Server | None = None
        self._thread: threading.Thread | None = None
        self._host: str | None = None
        self._port: int | None = None
        self._conns: set[socket.socket] = set()
        self.connections_opened = 0  # TCP connections accepted (keep-alive checks)
        self._epoch = 0
        self._wake = threading.Event()
        self._started_at = time.time()
        # public state (reset() clears these in place, so references held by tests stay valid)
        self.unknown_ids: set[int] = set()
        self.creations: collections.Counter = collections.Counter()
        self.requests_log: list[dict] = []
        self.library: dict[int, dict] = {}
        self.catalog: dict[int, dict] = {}
        self.tags: list[dict] = []
        self.commands: list[dict] = []
        self.exclusions: set[int] = set()
        self.quality_profiles: list[dict] = []
        self.root_folders: list[str] = []
        self.internal_errors: list[str] = []  # tracebacks of bugs in the fake itself (answered 500)
        self.reset()

    # ------------------------------------------------------------------ lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0):
        """Listen in a background thread. Again after stop(): the same port as before."""
        with self._lock:
            if self._srv is not None:
                return self
            if port == 0 and self._port:
                port, host = self._port, self._host or host
            handler = type(f"{self.APP_NAME}Handler", (_Handler,), {"fake": self})
            deadline = time.monotonic() + 5
            while True:
                try:
                    srv = _Server((host, port), handler)
                    break
                except OSError:
                    if port == 0 or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            self._srv, self._host, self._port = srv, host, srv.server_address[1]
            self._thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"fake-{self.APP_NAME.lower()}-{self._port}", daemon=True)
            self._thread.start()
            return self

    def stop(self) -> None:
        """Stop listening (new connections are refused) and drop open connections."""
        with self._lock:
            srv, thread = self._srv, self._thread
            self._srv = self._thread = None
            conns = list(self._conns)
        if srv is None:
            return
        self._new_epoch()  # wakes delayed/hanging requests: they end without an answer
        srv.shutdown()
        srv.server_close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if thread is not None:
            thread.join(5)

    @property
    def running(self) -> bool:
        return self._srv is not None

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError(f"Fake{self.APP_NAME} was never started")
        host = "127.0.0.1" if self._host in ("", "0.0.0.0") else self._host
        if host and ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self._port}"

    @property
    def port(self) -> int | None:
        return self._port

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        where = self.url if self._port else "not started"
        return f"<Fake{self.APP_NAME} {where} {'up' if self.running else 'down'} {len(self.library)} items>"

    # ------------------------------------------------------------------ control

    def reset(self) -> None:
        """Empty library, counters zero, failure modes off, catalog/profiles/folders defaults.
        Requests still waiting (delay/timeout) from before are dropped without an answer."""
        with self._lock:
            self.delay = 0.0
            self.fail_mode = None
            self.hang_seconds = 30.0
            self.list_fail_after: int | None = None
            self._fail_queue: collections.deque = collections.deque()
            self.unknown_ids.clear()
            self.creations.clear()
            self.requests_log.clear()
            self.library.clear()
            self.catalog.clear()
            self.catalog.update({k: dict(v) for k, v in self._default_catalog().items()})
            self.tags.clear()
            self.commands.clear()
            self.exclusions.clear()
            self.internal_errors.clear()
            self.quality_profiles[:] = self._default_quality_profiles()
            self.root_folders[:] = [self.DEFAULT_ROOT]
            self._next_id = 1
            self._next_file_id = 1
            self._by_key: dict[int, int] = {}
            self._slugs: set = set()
            restart = self._port is not None and self._srv is None
        self._new_epoch()
        if restart:  # a fake left down by a test comes back up (same port)
            self.start()

    @property
    def fail_mode(self) -> str | None:
        """None, or how every API request fails: "503" (503, text body), "500" (500 {message, description}),
        any other 3-digit status, "timeout" (wait hang_seconds, then close without an answer) or "close"
        (close at once without an answer)."""
        return self._fail_mode

    @fail_mode.setter
    def fail_mode(self, mode: str | int | None) -> None:
        self._check_mode(mode)
        self._fail_mode = None if mode is None else str(mode)

    def fail_next(self, n: int, mode: str) -> None:
        """The next n API requests fail with mode (see fail_mode), then normal again."""
        self._check_mode(mode)
        with self._lock:
            self._fail_queue.extend([str(mode)] * int(n))

    def set_catalog(self, ext_id: int, **fields) -> dict:
        """Define the upstream metadata for an id (title, year, ...); merged over the defaults."""
        with self._lock:
            entry = self.catalog.setdefault(int(ext_id), {})
            entry.update(fields)
            return entry

    def find(self, ext_id: int) -> dict | None:
        """The library resource for a tmdbId/tvdbId, or None."""
        with self._lock:
            arr_id = self._by_key.get(int(ext_id))
            return self.library.get(arr_id) if arr_id is not None else None

    def remove(self, ext_id: int) -> bool:
        """Delete from the library (as if deleted in the UI). True if it was there."""
        with self._lock:
            arr_id = self._by_key.get(int(ext_id))
            if arr_id is None:
                return False
            self._unstore(self.library[arr_id])
            return True

    def _search_titles(self, low: str) -> list[dict]:
        """Free-text lookup: library titles first (with their ids), then the catalog's."""
        found, seen = [], set()
        for res in self.library.values():
            if low in res["title"].lower():
                found.append(self._lookup_view(res))
                seen.add(res[self.KEY])
        for tid in self.catalog:
            if tid not in seen and low in (self.catalog[tid].get("title") or "").lower():
                found.extend(self._lookup_one(tid))
        return found

    def log(self, method: str | None = None, path: str | None = None) -> list[dict]:
        """requests_log filtered by method and/or path (case-insensitive path match)."""
        with self._lock:
            return [r for r in self.requests_log
                    if (method is None or r["method"] == method.upper())
                    and (path is None or r["path"].lower().rstrip("/") == path.lower().rstrip("/"))]

    @staticmethod
    def _check_mode(mode: str | int | None) -> None:
        if mode is None or mode in ("timeout", "close") or re.fullmatch(r"[1-5]\d\d", str(mode)):
            return
        raise ValueError(f"fail mode must be {FAIL_MODES_DOC}, not {mode!r}")

    def _new_epoch(self) -> None:
        with self._lock:
            self._epoch += 1
            old, self._wake = self._wake, threading.Event()
        old.set()

    def _conn_opened(self, sock: socket.socket) -> None:
        with self._lock:
            self._conns.add(sock)
            self.connections_opened += 1

    def _conn_closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._conns.discard(sock)

    def _alloc_id(self) -> int:
        arr_id = self._next_id
        self._next_id += 1
        return arr_id

    def _store(self, res: dict) -> dict:
        self.library[res["id"]] = res
        self._by_key[res[self.KEY]] = res["id"]
        self._slugs.add(res.get("titleSlug"))
        return res

    def _unstore(self, res: dict) -> None:
        self.library.pop(res["id"], None)
        self._by_key.pop(res[self.KEY], None)
        self._slugs.discard(res.get("titleSlug"))

    # ------------------------------------------------------------------ request handling

    def _handle(self, h: _Handler) -> None:
        arrived = time.time()
        method = h.command
        split = urlsplit(h.path)
        path = split.path or "/"
        pairs = parse_qsl(split.query, keep_blank_values=True)
        try:
            body = self._read_body(h)
        except (ValueError, OSError):
            self._send(h, _Resp(400, b"Bad request body", "text/plain; charset=utf-8"))
            h.close_connection = True
            return
        lpath = path.lower().rstrip("/") or "/"
        if not lpath.startswith("/api/"):
            if lpath == "/ping" and method in ("GET", "HEAD"):
                self._send(h, _json(200, {"status": "OK"}))
            else:
                self._send(h, _empty(404))
            return

        query: dict[str, Any] = {}
        for k, v in pairs:
            if k in query:
                query[k] = (query[k] if isinstance(query[k], list) else [query[k]]) + [v]
            else:
                query[k] = v
        try:
            parsed = json.loads(body) if body.strip() else None
        except ValueError:
            parsed = None
        entry = {"method": method, "path": path, "query": query, "json": parsed, "time": arrived,
                 "status": None}
        with self._lock:
            self.requests_log.append(entry)
            epoch, wake = self._epoch, self._wake
            mode = self._fail_queue.popleft() if self._fail_queue else self.fail_mode
            delay = float(self.delay or 0)
            hang = float(self.hang_seconds)

        if delay > 0 and wake.wait(delay):
            return self._drop(h)  # reset()/stop() while waiting
        if mode is not None:
            mode = str(mode)
            if mode == "timeout":
                wake.wait(hang)
                return self._drop(h)
            if mode == "close":
                return self._drop(h)
            entry["status"] = int(mode)
            return self._send(h, self._failure_response(int(mode), method, path))

        if not self._authorized(h, pairs):
            entry["status"] = 401
            return self._send(h, _empty(401))

        req = _Req(method, path, lpath, pairs, h.headers, body)
        try:
            with self._lock:
                if epoch != self._epoch:
                    raise _Drop()
                resp = self._route(req)
        except _Abort as exc:
            resp = exc.resp
        except _Drop:
            return self._drop(h)
        except Exception as exc:  # a bug in the fake: answer like Radarr's error pipeline, and say so
            import traceback

            tb = traceback.format_exc()
            self.internal_errors.append(tb)
            sys.stderr.write(f"[Fake{self.APP_NAME}] internal error on {method} {path}:\n{tb}")
            resp = _json(500, {"message": str(exc), "description": tb})
        entry["status"] = resp.status
        self._send(h, resp)

    @staticmethod
    def _drop(h: _Handler) -> None:
        h.close_connection = True

    @staticmethod
    def _read_body(h: _Handler) -> bytes:
        if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size_line = h.rfile.readline(65537)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while h.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(h.rfile.read(size))
                h.rfile.readline(65537)
            return b"".join(chunks)
        n = int(h.headers.get("Content-Length") or 0)
        if n < 0:
            raise ValueError("negative Content-Length")
        return h.rfile.read(n) if n else b""

    def _send(self, h: _Handler, resp: _Resp) -> None:
        try:
            h.send_response(resp.status)
            if resp.ctype:
                h.send_header("Content-Type", resp.ctype)
            for k, v in resp.headers:
                h.send_header(k, v)
            if resp.partial is not None:
                # a response that breaks off: chunked, never terminated, then the connection drops
                h.send_header("Transfer-Encoding", "chunked")
                h.end_headers()
                if resp.partial:
                    h.wfile.write(b"%x\r\n%s\r\n" % (len(resp.partial), resp.partial))
                h.wfile.flush()
                h.close_connection = True
                return
            h.send_header("Content-Length", str(len(resp.body)))
            h.end_headers()
            if resp.body and h.command != "HEAD":
                h.wfile.write(resp.body)
        except OSError:
            h.close_connection = True

    def _authorized(self, h: _Handler, pairs: list[tuple[str, str]]) -> bool:
        key = next((v for k, v in pairs if k.lower() == "apikey"), None)
        if key is None:
            key = h.headers.get("X-Api-Key")
        if _blank(key):
            auth = h.headers.get("Authorization") or ""
            if auth[:7].lower() == "bearer ":
                key = auth[7:].strip()
        return bool(key) and key == self.api_key

    def _failure_response(self, status: int, method: str, path: str) -> _Resp:
        if status == 503:
            return _Resp(503, b"Service Unavailable", "text/plain; charset=utf-8")
        if status >= 500:
            msg = "database is locked\ndatabase is locked"
            return _json(status, {"message": msg, "description": (
                f"code = Busy (5), message = System.Data.SQLite.SQLiteException (0x800007AF): {msg}\n"
                f"   at System.Data.SQLite.SQLite3.Step(SQLiteStatement stmt)\n"
                f"   at NzbDrone.Core.Datastore.BasicRepository`1.All() ({method} {path})")})
        return _empty(status)

    # ------------------------------------------------------------------ error bodies

    def _problem(self, status: int, title: str, errors: dict | None = None) -> _Resp:
        body: dict[str, Any] = {"type": self.PROBLEM_TYPES.get(status, "about:blank"), "title": title,
                                "status": status}
        if errors is not None:
            body["errors"] = errors
        body["traceId"] = _trace_id()
        return _Resp(status, _dumps(body), PROBLEM_CT)

    def _not_found_problem(self) -> _Resp:
        return self._problem(404, "Not Found")

    def _validation_problem(self, errors: dict) -> _Abort:
        return _Abort(self._problem(400, "One or more validation errors occurred.", errors))

    @staticmethod
    def _bad_request(content: str) -> _Abort:
        return _Abort(_json(400, {"message": f"BadRequest: {content}", "content": content}))

    def _model_not_found(self, arr_id: int) -> _Abort:
        msg = f"{self.MODEL} with ID {arr_id} does not exist"
        return _Abort(_json(404, {"message": msg, "description": (
            f"NzbDrone.Core.Datastore.ModelNotFoundException: {msg}\n"
            f"   at NzbDrone.Core.Datastore.BasicRepository`1.Get(Int32 id)")}))

    @staticmethod
    def _validation_failed(failures: list[dict]) -> _Abort:
        return _Abort(_json(400, failures))

    def _bind(self, req: "_Req", spec: dict, dotnet: str) -> dict:
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json" and not ctype.endswith("+json"):
            raise _Abort(self._problem(415, "Unsupported Media Type"))
        raw = req.body.decode("utf-8", errors="replace")
        if not raw.strip():
            raise self._validation_problem({"": ["A non-empty request body is required."]})
        try:
            data = json.loads(raw)
        except ValueError as exc:
            pos = getattr(exc, "pos", 0) or 0
            line, col = _line_col(raw, pos)
            ch = raw[pos] if pos < len(raw) else ""
            raise self._validation_problem({"$": [
                f"'{ch}' is an invalid start of a value. Path: $ | LineNumber: {line} | BytePositionInLine: {col}."
            ]})
        try:
            return _bind_obj(data, spec, "$", dotnet)
        except _BindError as exc:
            leaf = exc.path.rsplit(".", 1)[-1].split("[")[0]
            pos = raw.lower().find(f'"{leaf.lower()}"') if exc.path != "$" else 0
            line, col = _line_col(raw, max(pos, 0))
            raise self._validation_problem({exc.path: [
                f"The JSON value could not be converted to {exc.dotnet}. Path: {exc.path} | "
                f"LineNumber: {line} | BytePositionInLine: {col + 1}."
            ]})

    def _int_query(self, req: "_Req", name: str) -> int | None:
        raw = req.q(name)
        if raw is None or raw == "":
            return None
        try:
            return int(raw)
        except ValueError:
            raise self._validation_problem({name: [f"The value '{raw}' is not valid."]})

    # ------------------------------------------------------------------ routing

    def _route(self, req: "_Req") -> _Resp:
        segs = req.segs
        if len(segs) < 3 or segs[1] != "v3":
            return _empty(404)
        s = segs[2:]
        m = req.method
        head, rest = s[0], s[1:]
        if head == "system" and rest == ["status"]:
            return self._only(m, "GET") or _json(200, self._system_status())
        if head == "qualityprofile":
            return self._simple_collection(req, rest, self.quality_profiles)
        if head == "rootfolder":
            return self._simple_collection(req, rest, self._root_folder_resources())
        if head == "tag":
            return self._tag_route(req, rest)
        if head == "command":
            return self._command_route(req, rest)
        resp = self._app_route(req, head, rest)
        return resp if resp is not None else _empty(404)

    def _app_route(self, req: "_Req", head: str, rest: list[str]) -> _Resp | None:
        raise NotImplementedError

    @staticmethod
    def _only(method: str, *allowed: str) -> _Resp | None:
        if method in allowed or (method == "HEAD" and "GET" in allowed):
            return None
        return _Resp(405, b"", None, [("Allow", ", ".join(allowed))])

    @staticmethod
    def _int_seg(seg: str) -> int | None:
        return int(seg) if re.fullmatch(r"-?\d{1,10}", seg) else None

    def _simple_collection(self, req: "_Req", rest: list[str], items: list[dict]) -> _Resp:
        if not rest:
            return self._only(req.method, "GET") or _json(200, items)
        if len(rest) == 1 and (item_id := self._int_seg(rest[0])) is not None:
            bad = self._only(req.method, "GET")
            if bad:
                return bad
            if item_id <= 0:
                raise self._bad_request(f"{item_id} is not a valid ID")
            for item in items:
                if item.get("id") == item_id:
                    return _json(200, item)
            return self._not_found_problem()
        return _empty(404)

    # ------------------------------------------------------------------ shared resources

    def _system_status(self) -> dict:
        raise NotImplementedError

    def _default_catalog(self) -> dict[int, dict]:
        return {}

    def _default_quality_profiles(self) -> list[dict]:
        raise NotImplementedError

    def _root_folder_resources(self) -> list[dict]:
        out = []
        for i, p in enumerate(self.root_folders, start=1):
            out.append({"path": p, "accessible": True, "freeSpace": 1_843_561_766_912 - i * 7_340_032,
                        "unmappedFolders": [], "id": i})
        return out

    def _root_folder_exists(self, path: str) -> bool:
        return any(_path_eq(path, rf) for rf in self.root_folders)

    def _best_root_folder(self, path: str | None) -> str | None:
        if not path:
            return None
        for rf in sorted(self.root_folders, key=len, reverse=True):
            if path.rstrip("/").startswith(rf.rstrip("/") + "/"):
                return rf
        return path.rsplit("/", 1)[0] or "/"

    def _tag_route(self, req: "_Req", rest: list[str]) -> _Resp:
        m = req.method
        if not rest:
            bad = self._only(m, "GET", "POST")
            if bad:
                return bad
            if m == "GET":
                return _json(200, self.tags)
            data = self._bind(req, {"id": INT, "label": STR}, "NzbDrone.Api.V3.Tags.TagResource")
            label = data.get("label")
            if _blank(label):
                raise self._validation_failed([_not_empty("Label", label)])
            if not re.fullmatch(r"[a-z0-9-]+", label, re.IGNORECASE):
                raise self._validation_failed([_failure(
                    "Label", "Allowed characters a-z, 0-9 and -", label, "RegularExpressionValidator",
                    {"regularExpression": "^[a-z0-9-]+$"})])
            for t in self.tags:
                if t["label"].lower() == label.lower():
                    tag = t
                    break
            else:
                tag = {"label": label.lower(), "id": max((t["id"] for t in self.tags), default=0) + 1}
                self.tags.append(tag)
            return _json(201, tag, [("Location", f"{req.base_url}/api/v3/tag/{tag['id']}")])
        if len(rest) == 1 and (tag_id := self._int_seg(rest[0])) is not None:
            bad = self._only(m, "GET", "DELETE")
            if bad:
                return bad
            if tag_id <= 0:
                raise self._bad_request(f"{tag_id} is not a valid ID")
            tag = next((t for t in self.tags if t["id"] == tag_id), None)
            if m == "GET":
                return _json(200, tag) if tag else self._not_found_problem()
            if tag:
                self.tags.remove(tag)
            return _empty(200)
        return _empty(404)

    def _command_route(self, req: "_Req", rest: list[str]) -> _Resp:
        m = req.method
        if not rest:
            bad = self._only(m, "GET", "POST")
            if bad:
                return bad
            if m == "GET":
                return _json(200, [self._command_view(c) for c in self.commands])
            raw = self._bind(req, {"name": STR}, f"{self.APP_NAME}.Api.V3.Commands.CommandResource")
            data = json.loads(req.body)
            name = raw.get("name") or ""
            canon = next((c for c in self.COMMANDS if c.lower() == name.lower()), None)
            if canon is None:
                raise self._bad_request(f"Unknown command: {name}")
            body = {k: v for k, v in data.items() if k.lower() != "name"}
            cmd = self._new_command(canon, body)
            self.commands.append(cmd)
            return _json(201, self._command_view(cmd, fresh=True),
                         [("Location", f"{req.base_url}/api/v3/command/{cmd['id']}")])
        if len(rest) == 1 and (cmd_id := self._int_seg(rest[0])) is not None:
            bad = self._only(m, "GET", "DELETE")
            if bad:
                return bad
            cmd = next((c for c in self.commands if c["id"] == cmd_id), None)
            if cmd is None:
                return self._not_found_problem()
            if m == "DELETE":
                cmd["status"] = "cancelled"
                return _empty(200)
            return _json(200, self._command_view(cmd))
        return _empty(404)

    def _new_command(self, name: str, body: dict) -> dict:
        cbody = dict(body)
        cbody.update({"sendUpdatesToClient": True, "updateScheduledTask": True, "completionMessage": "Completed",
                      "requiresDiskAccess": False, "isExclusive": False})
        if self.APP_NAME == "Radarr":
            cbody["isTypeExclusive"] = False
        cbody.update({"isLongRunning": False, "name": name, "trigger": "manual", "suppressMessages": False})
        return {"name": name, "commandName": _split_pascal(name), "body": cbody, "priority": "normal",
                "status": "queued", "result": "unknown", "queued": _iso(), "trigger": "manual",
                "sendUpdatesToClient": True, "updateScheduledTask": True, "id": len(self.commands) + 1,
                "_t": time.time()}

    @staticmethod
    def _command_view(cmd: dict, fresh: bool = False) -> dict:
        out = {k: v for k, v in cmd.items() if not k.startswith("_")}
        if not fresh and out["status"] == "queued":  # "runs" instantly once looked at again
            out.update(status="completed", result="successful", message="Completed",
                       started=_iso(cmd["_t"]), ended=_iso(cmd["_t"]), duration="00:00:00.0123456",
                       stateChangeTime=_iso(cmd["_t"]))
            order = ["name", "commandName", "message", "body", "priority", "status", "result", "queued",
                     "started", "ended", "duration", "trigger", "stateChangeTime", "sendUpdatesToClient",
                     "updateScheduledTask", "id"]
            out = {k: out[k] for k in order if k in out}
        return out

    # ------------------------------------------------------------------ generic library routes

    def _list_response(self, items: list[dict]) -> _Resp:
        n = self.list_fail_after
        if n is None:
            return _Resp(200, _dumps(items), JSON_CT)
        if n <= 0:
            raise _Abort(self._failure_response(500, "GET", f"/api/v3/{self.RESOURCE}"))
        partial = b"[" + b",".join(_dumps(i) for i in items[:n]) + b","
        return _Resp(200, b"", JSON_CT, partial=partial)

    def _get_by_id(self, req: "_Req", arr_id: int, view: Callable[[dict], dict]) -> _Resp:
        if arr_id <= 0:
            raise self._bad_request(f"{arr_id} is not a valid ID")
        res = self.library.get(arr_id)
        if res is None:
            return self._not_found_problem()
        return _json(200, view(res))

    def _delete(self, req: "_Req", arr_id: int, exclusion_param: str) -> _Resp:
        if arr_id <= 0:
            raise self._bad_request(f"{arr_id} is not a valid ID")
        for name in ("deleteFiles", exclusion_param):
            raw = req.q(name)
            if raw is not None and raw.lower() not in ("true", "false", ""):
                raise self._validation_problem({name: [f"The value '{raw}' is not valid."]})
        res = self.library.get(arr_id)
        if res is None:
            raise self._model_not_found(arr_id)
        if (req.q(exclusion_param) or "").lower() == "true":
            self.exclusions.add(res[self.KEY])
        self._unstore(res)
        return _empty(200)

    def _created(self, req: "_Req", res: dict) -> _Resp:
        self.creations[res[self.KEY]] += 1
        return _json(201, res, [("Location", f"{req.base_url}/api/v3/{self.RESOURCE}/{res['id']}")])

    def _check_profile_and_paths(self, data: dict, post: bool, failures: list[dict]) -> None:
        """The Shared + Post/Put validator rules common to both apps (in declaration order)."""
        path, rfp = data.get("path"), data.get("rootFolderPath")
        if not _blank(path):  # SharedValidator Path (Cascade.Stop)
            if not _path_valid(path):
                failures.append(_invalid_path("Path", path))
            elif self._root_folder_exists(path):
                failures.append(_failure("Path", f"Path '{path}' is already configured as a root folder",
                                         path, "RootFolderValidator", {"path": path}))
            else:
                other = next((r for r in self.library.values() if _path_eq(r.get("path"), path)
                              and r.get("id") != data.get("id")), None)
                if other is not None:
                    what = "movie" if self.RESOURCE == "movie" else "series"
                    failures.append(_failure("Path", f"Path '{path}' is already configured for an existing {what}",
                                             path, f"{self.MODEL}PathValidator", {"path": path}))
        qp = data.get("qualityProfileId", 0)  # SharedValidator QualityProfileId (Cascade.Stop)
        if qp <= 0:
            failures.append(_greater_than("QualityProfileId", qp))
        elif not any(p["id"] == qp for p in self.quality_profiles):
            failures.append(_failure("QualityProfileId", "Quality Profile does not exist", qp,
                                     "QualityProfileExistsValidator"))
        if post:
            if _blank(rfp):
                if _blank(path):
                    failures.append(_not_empty("Path", path))
                elif not _path_valid(path):
                    failures.append(_invalid_path("Path", path))
            if _blank(path):
                if _blank(rfp):
                    failures.append(_not_empty("RootFolderPath", rfp))
                elif not _path_valid(rfp):
                    failures.append(_invalid_path("RootFolderPath", rfp))
                elif not self._root_folder_exists(rfp):
                    failures.append(_failure("RootFolderPath", f"Root folder '{rfp}' does not exist", rfp,
                                             "RootFolderExistsValidator", {"path": rfp}))
        else:
            if _blank(path):
                failures.append(_not_empty("Path", path))
            elif not _path_valid(path):
                failures.append(_invalid_path("Path", path))

    def _exists_failure(self, ext_id: int) -> dict:
        prop = _pascal(self.KEY)
        return _failure(prop, self.EXISTS_MESSAGE, ext_id, self.EXISTS_CODE)

    def _upstream_not_found(self, ext_id: int, path: str | None) -> _Abort:
        return self._validation_failed([_failure(_pascal(self.KEY), f"{self.NOT_FOUND_MESSAGE} Path: {path or ''}",
                                                 ext_id)])

    def _unknown(self, ext_id: int) -> bool:
        return ext_id <= 0 or ext_id in self.unknown_ids

    def _seed_flag(self, flag: bool | Callable[[int], bool], ext_id: int) -> bool:
        return bool(flag(ext_id)) if callable(flag) else bool(flag)


class _Req:
    __slots__ = ("method", "path", "lpath", "pairs", "headers", "body", "segs")

    def __init__(self, method, path, lpath, pairs, headers, body):
        self.method, self.path, self.lpath, self.pairs, self.headers, self.body = (
            method, path, lpath, pairs, headers, body)
        self.segs = [s for s in lpath.split("/") if s]

    def q(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.pairs if k.lower() == name), None)

    @property
    def base_url(self) -> str:
        return f"http://{self.headers.get('Host') or 'localhost'}"


# --------------------------------------------------------------------------- shared metadata bits

_GENRES = ["Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Family", "Fantasy",
           "History", "Horror", "Music", "Mystery", "Romance", "Science Fiction", "Thriller", "War", "Western"]
_STUDIOS = ["Warner Bros. Pictures", "Universal Pictures", "Paramount Pictures", "Columbia Pictures",
            "20th Century Studios", "A24", "Lionsgate", "Legendary Pictures", "Focus Features", "Neon"]
_NETWORKS = ["HBO", "AMC", "Netflix", "BBC One", "NBC", "FX", "Apple TV+", "Prime Video", "Hulu", "Showtime"]
_WORDS = ("a retired detective reluctantly returns to the city where everything began and uncovers a "
          "conspiracy that reaches far beyond the precinct while an unlikely friendship with a young "
          "journalist forces old wounds open as secrets buried for decades surface one by one and the "
          "price of the truth grows higher with every step toward the people who control the harbour "
          "the courts and the newspapers").split()
_KEYWORDS = ["based on novel or book", "dystopia", "revenge", "friendship", "heist", "small town", "time travel",
             "artificial intelligence", "family drama", "coming of age", "detective", "road trip"]
_RELEASE_GROUPS = ["FraMeSToR", "SPARKS", "NTb", "FLUX", "playWEB", "EDITH", "CiNEPHiLES", "DON"]


_ENDINGS = ["loyalty, loss and the long way home", "ambition and the cost of keeping a promise",
            "second chances in a city that gives none", "family, guilt and the things left unsaid",
            "courage, friendship and a very bad plan"]


def _overview(n: int, kind: str) -> str:
    return (f"When {' '.join(_WORDS)}. This {kind} follows what happens next, in a story about "
            f"{_ENDINGS[_mix(n, 7) % len(_ENDINGS)]}.")


def _pick(n: int, salt: int, seq: list, k: int) -> list:
    out = []
    i = _mix(n, salt)
    while len(out) < k:
        v = seq[i % len(seq)]
        if v not in out:
            out.append(v)
        i = i // 7 + 3
    return out


ENGLISH = {"id": 1, "name": "English"}


# =========================================================================== Radarr


class FakeRadarr(FakeServarr):
    APP_NAME = "Radarr"
    VERSION = "6.0.4.10291"
    KEY = "tmdbId"
    RESOURCE = "movie"
    MODEL = "Movie"
    RESOURCE_TYPE = "Radarr.Api.V3.Movies.MovieResource"
    DEFAULT_ROOT = "/movies"
    PROBLEM_TYPES = {400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                     404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
                     405: "https://tools.ietf.org/html/rfc9110#section-15.5.6",
                     415: "https://tools.ietf.org/html/rfc9110#section-15.5.16"}
    COMMANDS = ("MoviesSearch", "MissingMoviesSearch", "CutoffUnmetMoviesSearch", "RefreshMovie", "RescanMovie",
                "RssSync", "RenameMovie", "DownloadedMoviesScan", "ApplicationCheckUpdate")
    EXISTS_CODE = "MovieExistsValidator"
    EXISTS_MESSAGE = "This movie has already been added"
    NOT_FOUND_MESSAGE = "A movie with this ID was not found."
    STATUSES = ["tba", "announced", "inCinemas", "released", "deleted"]
    META_KEYS = ("title", "originalTitle", "year", "status", "imdbId", "overview", "runtime", "studio",
                 "certification", "genres", "keywords", "collection", "ratings", "inCinemas", "digitalRelease",
                 "physicalRelease", "popularity", "website", "youTubeTrailerId")
    INPUT_SPEC = {
        "id": INT, "title": STR, "originalTitle": STR, "tmdbId": INT, "imdbId": STR, "year": INT,
        "qualityProfileId": INT, "rootFolderPath": STR, "path": STR, "folder": STR, "monitored": BOOL,
        "minimumAvailability": _Enum("NzbDrone.Core.Movies.MovieStatusType", STATUSES), "tags": INTSET,
        "titleSlug": STR, "hasFile": BOOL_N, "movieFileId": INT, "runtime": INT, "secondaryYear": INT_N,
        "addOptions": _Obj("NzbDrone.Core.Movies.AddMovieOptions", {
            "ignoreEpisodesWithFiles": BOOL, "ignoreEpisodesWithoutFiles": BOOL,
            "monitor": _Enum("NzbDrone.Core.Movies.MonitorTypes", ["movieOnly", "movieAndCollection", "none"]),
            "searchForMovie": BOOL,
            "addMethod": _Enum("NzbDrone.Core.Movies.AddMovieMethod", ["manual", "list", "collection"])}),
    }

    def __init__(self, api_key: str = "test-radarr-key", instance_name: str = "Radarr"):
        super().__init__(api_key, instance_name)

    # ---------------------------------------------------------------- defaults

    def _default_catalog(self) -> dict[int, dict]:
        return {
            603: {"title": "The Matrix", "year": 1999, "imdbId": "tt0133093", "runtime": 136,
                  "studio": "Village Roadshow Pictures", "certification": "R", "genres": ["Action", "Science Fiction"],
                  "collection": {"title": "The Matrix Collection", "tmdbId": 2344}},
            550: {"title": "Fight Club", "year": 1999, "imdbId": "tt0137523", "runtime": 139,
                  "studio": "Fox 2000 Pictures", "certification": "R", "genres": ["Drama"]},
            27205: {"title": "Inception", "year": 2010, "imdbId": "tt1375666", "runtime": 148,
                    "studio": "Legendary Pictures", "certification": "PG-13",
                    "genres": ["Action", "Science Fiction", "Adventure"]},
            157336: {"title": "Interstellar", "year": 2014, "imdbId": "tt0816692", "runtime": 169,
                     "studio": "Paramount Pictures", "certification": "PG-13",
                     "genres": ["Adventure", "Drama", "Science Fiction"]},
            680: {"title": "Pulp Fiction", "year": 1994, "imdbId": "tt0110912", "runtime": 154,
                  "studio": "Miramax", "certification": "R", "genres": ["Thriller", "Crime"]},
        }

    def _default_quality_profiles(self) -> list[dict]:
        def q(qid, name, source, res, modifier="none"):
            return {"quality": {"id": qid, "name": name, "source": source, "resolution": res, "modifier": modifier},
                    "items": [], "allowed": True}

        def group(gid, name, items):
            return {"name": name, "items": items, "allowed": True, "id": gid}

        def profile(pid, name, cutoff, items):
            return {"name": name, "upgradeAllowed": False, "cutoff": cutoff, "items": items, "minFormatScore": 0,
                    "cutoffFormatScore": 0, "minUpgradeFormatScore": 1, "formatItems": [], "language": ENGLISH,
                    "id": pid}

        web1080 = group(1003, "WEB 1080p", [q(15, "WEBRip-1080p", "webrip", 1080), q(3, "WEBDL-1080p", "webdl", 1080)])
        web720 = group(1002, "WEB 720p", [q(14, "WEBRip-720p", "webrip", 720), q(5, "WEBDL-720p", "webdl", 720)])
        any_items = [q(1, "SDTV", "tv", 480), q(2, "DVD", "dvd", 480), q(4, "HDTV-720p", "tv", 720), web720,
                     q(6, "Bluray-720p", "bluray", 720), q(9, "HDTV-1080p", "tv", 1080), web1080,
                     q(7, "Bluray-1080p", "bluray", 1080)]
        hd_items = [q(9, "HDTV-1080p", "tv", 1080), web1080, q(7, "Bluray-1080p", "bluray", 1080),
                    q(30, "Remux-1080p", "bluray", 1080, "remux")]
        return [profile(1, "Any", 1, any_items), profile(4, "HD-1080p", 7, hd_items)]

    def _system_status(self) -> dict:
        return {"appName": "Radarr", "instanceName": self.instance_name, "version": self.VERSION,
                "buildTime": "2025-11-03T05:10:29Z", "isDebug": False, "isProduction": True, "isAdmin": False,
                "isUserInteractive": False, "startupPath": "/app/radarr/bin", "appData": "/config",
                "osName": "alpine", "osVersion": "3.22.2", "isNetCore": True, "isLinux": True, "isOsx": False,
                "isWindows": False, "isDocker": True, "mode": "console", "branch": "master",
                "databaseType": "sqLite", "databaseVersion": "3.49.2", "authentication": "forms",
                "migrationVersion": 242, "urlBase": "", "runtimeVersion": "8.0.12", "runtimeName": ".NET",
                "startTime": _iso(self._started_at), "packageVersion": self.VERSION,
                "packageAuthor": "[linuxserver.io](https://linuxserver.io)", "packageUpdateMechanism": "docker"}

    # ---------------------------------------------------------------- metadata ("TMDb")

    def _meta(self, tmdb_id: int, title_hint: str | None = None, extra: dict | None = None) -> dict:
        n = tmdb_id
        over = dict(self.catalog.get(tmdb_id) or {})
        over.update(extra or {})
        title = over.get("title") or (title_hint if not _blank(title_hint) else None) or f"Movie {tmdb_id}"
        year = over.get("year") or (1970 + _mix(n, 1) % 56)
        genres = _pick(n, 3, _GENRES, 2 + _mix(n, 4) % 2)
        m = {
            "title": title, "originalTitle": title, "year": year, "imdbId": f"tt{tmdb_id:07d}",
            "runtime": 84 + _mix(n, 2) % 70, "studio": _STUDIOS[_mix(n, 5) % len(_STUDIOS)],
            "certification": ["G", "PG", "PG-13", "R", "NR"][_mix(n, 6) % 5], "genres": genres,
            "keywords": _pick(n, 8, _KEYWORDS, 3), "overview": _overview(n, "film"), "status": "released",
            "popularity": round(5 + (_mix(n, 9) % 90000) / 1000, 3),
            "website": f"https://www.{_STUDIOS[_mix(n, 5) % len(_STUDIOS)].split()[0].lower()}.example/movies/{n}",
            "youTubeTrailerId": _hex(f"yt{n}", 11), "collection": None,
        }
        m.update({k: v for k, v in over.items() if k != "title"})
        m["title"] = title
        y = m["year"]
        m.setdefault("inCinemas", f"{y}-03-{10 + _mix(n, 10) % 18:02d}T00:00:00Z")
        m.setdefault("digitalRelease", f"{y}-06-{10 + _mix(n, 11) % 18:02d}T00:00:00Z")
        m.setdefault("physicalRelease", f"{y}-07-{10 + _mix(n, 12) % 18:02d}T00:00:00Z")
        if "ratings" not in m:
            base = 50 + _mix(n, 13) % 40
            m["ratings"] = {
                "imdb": {"votes": 1000 + _mix(n, 14) % 900000, "value": base / 10, "type": "user"},
                "tmdb": {"votes": 100 + _mix(n, 15) % 30000, "value": round(base / 10 + 0.3, 1), "type": "user"},
                "metacritic": {"votes": 0, "value": base + 3, "type": "user"},
                "rottenTomatoes": {"votes": 0, "value": min(100, base + 10), "type": "user"},
                "trakt": {"votes": 50 + _mix(n, 16) % 20000, "value": round(base / 10 + 0.1, 1), "type": "user"}}
        return m

    @staticmethod
    def _available(status: str, minimum: str) -> bool:
        order = {"tba": 0, "announced": 1, "inCinemas": 2, "released": 3, "deleted": 3}
        return order.get(status, 0) >= order.get(minimum, 3) or minimum in ("tba", "announced")

    def _images(self, n: int, arr_id: int, view: str) -> list[dict]:
        out = []
        for cover, ext in (("poster", "jpg"), ("fanart", "jpg"), ("clearlogo", "png")):
            remote = f"https://image.tmdb.org/t/p/original/{_hex(f'{cover}{n}')}.{ext}"
            if view == "tmdb":  # straight from SkyHook: no local url
                out.append({"coverType": cover, "remoteUrl": remote})
                continue
            if view == "lookup" and not arr_id:
                url = f"/MediaCoverProxy/{_hex(remote, 64)}/{remote.rsplit('/', 1)[1]}"
            else:
                url = f"/MediaCover/{arr_id}/{cover}.{ext}?lastWrite={638967000000000000 + n}"
            out.append({"coverType": cover, "url": url, "remoteUrl": remote})
        return out

    def _movie_resource(self, meta: dict, tmdb_id: int, *, view: str = "library", arr_id: int = 0,
                        path: str | None = None, root: str | None = None, quality_profile_id: int = 0,
                        monitored: bool = False, minimum: str = "tba", tags: list | None = None,
                        added: str = "0001-01-01T00:00:00Z") -> dict:
        """MovieResource in Radarr's property order. view: "library" (GET /movie, POST/PUT answers),
        "lookup" (/movie/lookup: no hasFile/statistics/sizeOnDisk, with remotePoster/folder) or "tmdb"
        (/movie/lookup/tmdb: metadata only)."""
        n, title, year = tmdb_id, meta["title"], meta["year"]
        lib = view == "library"
        r: dict[str, Any] = {
            "title": title, "originalTitle": meta.get("originalTitle") or title, "originalLanguage": ENGLISH,
            "alternateTitles": [
                {"sourceType": "tmdb", "movieMetadataId": arr_id, "title": f"{title}: The Original Cut",
                 "cleanTitle": _clean_title(f"{title} The Original Cut"), **({"id": arr_id * 2} if arr_id else {})},
                {"sourceType": "tmdb", "movieMetadataId": arr_id, "title": f"El {title}",
                 "cleanTitle": _clean_title(f"El {title}"), **({"id": arr_id * 2 + 1} if arr_id else {})},
            ],
            "secondaryYearSourceId": 0, "sortTitle": _sort_title(title),
        }
        if lib:
            r["sizeOnDisk"] = 0
        r.update({"status": meta["status"], "overview": meta["overview"], "inCinemas": meta["inCinemas"],
                  "physicalRelease": meta["physicalRelease"], "digitalRelease": meta["digitalRelease"],
                  "releaseDate": meta["physicalRelease"], "images": self._images(n, arr_id, view),
                  "website": meta["website"]})
        if view == "lookup":
            r["remotePoster"] = r["images"][0]["remoteUrl"]
        r.update({"year": year, "youTubeTrailerId": meta["youTubeTrailerId"], "studio": meta["studio"]})
        if path:
            r["path"] = path
        r["qualityProfileId"] = quality_profile_id
        if lib:
            r["hasFile"] = False
        r.update({"movieFileId": 0, "monitored": monitored, "minimumAvailability": minimum,
                  "isAvailable": self._available(meta["status"], minimum)})
        if path:
            r["folderName"] = path
        r.update({"runtime": meta["runtime"], "cleanTitle": _clean_title(title), "imdbId": meta["imdbId"],
                  "tmdbId": tmdb_id, "titleSlug": str(tmdb_id)})
        if root and lib:
            r["rootFolderPath"] = root
        if view == "lookup":
            r["folder"] = (path.rstrip("/").rsplit("/", 1)[-1] if path else f"{_folder_name(title)} ({year})")
        r.update({"certification": meta["certification"], "genres": list(meta["genres"]),
                  "keywords": list(meta["keywords"]), "tags": list(tags or []), "added": added,
                  "ratings": meta["ratings"]})
        if meta.get("collection"):
            r["collection"] = dict(meta["collection"])
        r["popularity"] = meta["popularity"]
        if lib:
            r["statistics"] = {"movieFileCount": 0, "sizeOnDisk": 0, "releaseGroups": []}
        if arr_id:
            r["id"] = arr_id
        return r

    def _new_library_movie(self, meta: dict, tmdb_id: int, *, root: str | None, path: str | None,
                           quality_profile_id: int, monitored: bool, minimum: str, tags: list) -> dict:
        if _blank(path):
            path = f"{(root or self.DEFAULT_ROOT).rstrip('/')}/{_folder_name(meta['title'])} ({meta['year']})"
        root = self._best_root_folder(path)
        return self._movie_resource(meta, tmdb_id, arr_id=self._alloc_id(), path=path, root=root,
                                    quality_profile_id=quality_profile_id, monitored=monitored, minimum=minimum,
                                    tags=tags, added=_iso())

    def _lookup_view(self, res: dict) -> dict:
        """A library movie as /movie/lookup returns it (with id, path, monitored; no hasFile, statistics,
        sizeOnDisk, rootFolderPath, movieFile; plus remotePoster and folder)."""
        out: dict[str, Any] = {}
        for k, v in res.items():
            if k in ("hasFile", "statistics", "sizeOnDisk", "rootFolderPath", "movieFile"):
                continue
            out[k] = v
            if k == "website":
                out["remotePoster"] = next((i["remoteUrl"] for i in res["images"] if i["coverType"] == "poster"),
                                           None)
            elif k == "titleSlug":
                out["folder"] = (res.get("path") or "").rstrip("/").rsplit("/", 1)[-1]
        return {k: v for k, v in out.items() if v is not None}

    # ---------------------------------------------------------------- public seeding API

    def add_existing(self, tmdb_id: int, title: str | None = None, monitored: bool = True, has_file: bool = False,
                     **extra) -> dict:
        """Put a movie into the library directly (as if added in Radarr's UI). Not counted in creations.
        extra: qualityProfileId, rootFolderPath, path, tags, minimumAvailability, added, year, ... (any
        other key is set on the resource as given)."""
        with self._lock:
            return self._add_existing(int(tmdb_id), title, monitored, has_file, extra)

    def _add_existing(self, tmdb_id: int, title, monitored, has_file, extra) -> dict:
        if tmdb_id in self._by_key:
            raise ValueError(f"tmdbId {tmdb_id} is already in the fake Radarr library")
        extra = dict(extra)
        meta_over = {k: extra.pop(k) for k in self.META_KEYS if k in extra}
        if title:
            meta_over["title"] = title
        res = self._new_library_movie(
            self._meta(tmdb_id, None, meta_over), tmdb_id, root=extra.pop("rootFolderPath", None),
            path=extra.pop("path", None), quality_profile_id=extra.pop("qualityProfileId", 1),
            monitored=bool(monitored), minimum=extra.pop("minimumAvailability", "released"),
            tags=list(extra.pop("tags", [])))
        res.update(extra)
        self._store(res)
        if has_file:
            self._set_file(res, True)
        return res

    def add_many(self, n: int, start_id: int = 1, monitored: bool | Callable[[int], bool] = True,
                 has_file: bool | Callable[[int], bool] = False, **extra) -> list[dict]:
        """Seed n movies with tmdbIds start_id.. (fast: dicts built directly). monitored/has_file may be
        callables tmdbId -> bool. Returns the resources."""
        out = []
        with self._lock:
            for tmdb_id in range(int(start_id), int(start_id) + int(n)):
                out.append(self._add_existing(tmdb_id, None, self._seed_flag(monitored, tmdb_id),
                                              self._seed_flag(has_file, tmdb_id), extra))
        return out

    def set_file(self, tmdb_id: int, has_file: bool) -> dict:
        """Give the library movie a file (statistics, hasFile, movieFile) or take it away."""
        with self._lock:
            res = self.find(tmdb_id)
            if res is None:
                raise KeyError(f"tmdbId {tmdb_id} is not in the fake Radarr library")
            self._set_file(res, has_file)
            return res

    def _set_file(self, res: dict, has_file: bool) -> None:
        if not has_file:
            res.update(hasFile=False, movieFileId=0, sizeOnDisk=0)
            res.pop("movieFile", None)
            res["statistics"] = {"movieFileCount": 0, "sizeOnDisk": 0, "releaseGroups": []}
            return
        n = res["tmdbId"]
        file_id = self._next_file_id
        self._next_file_id += 1
        size = 4_000_000_000 + _mix(n, 20) % 9_000_000_000
        group = _RELEASE_GROUPS[_mix(n, 21) % len(_RELEASE_GROUPS)]
        name = f"{_folder_name(res['title'])} ({res['year']}) Bluray-1080p"
        rel = f"{name}.mkv"
        movie_file = {
            "movieId": res["id"], "relativePath": rel, "path": f"{res.get('path', '')}/{rel}", "size": size,
            "dateAdded": _iso(), "sceneName": f"{res['title'].replace(' ', '.')}.{res['year']}.1080p.BluRay.x264-{group}",
            "releaseGroup": group, "edition": "", "languages": [ENGLISH],
            "quality": {"quality": {"id": 7, "name": "Bluray-1080p", "source": "bluray", "resolution": 1080,
                                    "modifier": "none"},
                        "revision": {"version": 1, "real": 0, "isRepack": False}},
            "customFormats": [], "customFormatScore": 0, "indexerFlags": 0,
            "mediaInfo": {"audioBitrate": 1509000, "audioChannels": 5.1, "audioCodec": "DTS", "audioLanguages": "eng",
                          "audioStreamCount": 1, "videoBitDepth": 8, "videoBitrate": 0, "videoCodec": "x264",
                          "videoFps": 23.976, "videoDynamicRange": "", "videoDynamicRangeType": "",
                          "resolution": "1920x800", "runTime": f"{res['runtime'] // 60}:{res['runtime'] % 60:02d}:17",
                          "scanType": "Progressive", "subtitles": "eng"},
            "qualityCutoffNotMet": False, "id": file_id}
        res.update(hasFile=True, movieFileId=file_id, sizeOnDisk=size)
        stats = {"movieFileCount": 1, "sizeOnDisk": size, "releaseGroups": [group]}
        # keep Radarr's key order: movieFile sits after ratings, statistics stays last-but-id
        items = [(k, v) for k, v in res.items() if k not in ("movieFile", "statistics", "id")]
        res.clear()
        for k, v in items:
            res[k] = v
            if k == "ratings":
                res["movieFile"] = movie_file
        res.setdefault("movieFile", movie_file)
        res["statistics"] = stats
        res["id"] = movie_file["movieId"]

    # ---------------------------------------------------------------- routes

    def _app_route(self, req: _Req, head: str, rest: list[str]) -> _Resp | None:
        m = req.method
        if head != "movie":
            return None
        if not rest:
            bad = self._only(m, "GET", "POST", "PUT")
            if bad:
                return bad
            if m == "GET":
                tmdb_id = self._int_query(req, "tmdbId")
                if tmdb_id is not None:
                    res = self.find(tmdb_id)
                    return _json(200, [res] if res else [])
                return self._list_response(list(self.library.values()))
            if m == "POST":
                return self._add_movie(req)
            return self._update_movie(req, None)
        if rest[0] == "lookup":
            bad = self._only(m, "GET")
            if bad:
                return bad
            if len(rest) == 1:
                return _json(200, self._lookup_term(req.q("term") or ""))
            if rest[1:] == ["tmdb"]:
                tmdb_id = self._int_query(req, "tmdbId") or 0
                if self._unknown(tmdb_id):
                    raise self._tmdb_not_found(tmdb_id)
                return _json(200, self._movie_resource(self._meta(tmdb_id), tmdb_id, view="tmdb"))
            if rest[1:] == ["imdb"]:
                imdb = req.q("imdbId") or ""
                found = self._lookup_term(f"imdb:{imdb}")
                if not found:
                    msg = f"Movie with IMDb {imdb} was not found, it may have been removed from IMDb."
                    raise _Abort(_json(404, {"message": msg, "description":
                                             f"NzbDrone.Core.Exceptions.MovieNotFoundException: {msg}"}))
                return _json(200, found[0])
            return _empty(404)
        arr_id = self._int_seg(rest[0])
        if arr_id is None or len(rest) != 1:
            return _empty(404)
        bad = self._only(m, "GET", "PUT", "DELETE")
        if bad:
            return bad
        if m == "GET":
            return self._get_by_id(req, arr_id, lambda r: r)
        if m == "PUT":
            return self._update_movie(req, arr_id)
        return self._delete(req, arr_id, "addImportExclusion")

    def _tmdb_not_found(self, tmdb_id: int) -> _Abort:
        msg = f"Movie with tmdbId {tmdb_id} was not found, it may have been removed from TMDb."
        return _Abort(_json(500, {"message": msg, "description": (
            f"NzbDrone.Core.Exceptions.MovieNotFoundException: {msg}\n"
            f"   at NzbDrone.Core.MetadataSource.SkyHook.SkyHookProxy.GetMovieInfo(Int32 tmdbId) in "
            f"./Radarr.Core/MetadataSource/SkyHook/SkyHookProxy.cs:line 128\n"
            f"   at Radarr.Api.V3.Movies.MovieLookupController.SearchByTmdbId(Int32 tmdbId) in "
            f"./Radarr.Api.V3/Movies/MovieLookupController.cs:line 42")}))

    def _lookup_one(self, tmdb_id: int) -> list[dict]:
        if self._unknown(tmdb_id):
            return []
        res = self.find(tmdb_id)
        if res is not None:
            return [self._lookup_view(res)]
        return [self._movie_resource(self._meta(tmdb_id), tmdb_id, view="lookup")]

    def _lookup_term(self, term: str) -> list[dict]:
        t = term.strip()
        low = t.lower()
        m = re.match(r"^(?:tmdb|tmdbid):\s*(.*)$", low) or re.search(r"themoviedb\.org/movie/(\d+)", low)
        if m:
            slug = m.group(1).strip()
            if not re.fullmatch(r"-?\d+", slug or "x"):
                return []
            return self._lookup_one(int(slug))
        m = re.match(r"^(?:imdb|imdbid):\s*(tt\d+)$", low) or re.search(r"imdb\.com/title/(tt\d+)", low)
        if m:
            imdb = m.group(1)
            for res in self.library.values():
                if (res.get("imdbId") or "").lower() == imdb:
                    return [self._lookup_view(res)]
            for tid, entry in self.catalog.items():
                if (entry.get("imdbId") or "").lower() == imdb:
                    return self._lookup_one(tid)
            return self._lookup_one(int(imdb[2:])) if int(imdb[2:]) else []
        if not t:
            return []
        return self._search_titles(low)

    def _add_movie(self, req: _Req) -> _Resp:
        data = self._bind(req, self.INPUT_SPEC, self.RESOURCE_TYPE)
        failures: list[dict] = []
        self._check_profile_and_paths(data, True, failures)
        tmdb_id = data.get("tmdbId", 0)
        title = data.get("title")
        if tmdb_id <= 0 and _blank(title):
            failures.append(_not_empty("Title", title))
        if tmdb_id == 0:
            failures.append(_not_empty("TmdbId", tmdb_id))
        if self.find(tmdb_id) is not None:
            failures.append(self._exists_failure(tmdb_id))
        if failures:
            raise self._validation_failed(failures)
        if self._unknown(tmdb_id):  # AddMovieService.AddSkyhookData
            raise self._upstream_not_found(tmdb_id, data.get("path"))
        res = self._new_library_movie(
            self._meta(tmdb_id, title), tmdb_id, root=data.get("rootFolderPath"), path=data.get("path"),
            quality_profile_id=data["qualityProfileId"], monitored=data.get("monitored", True),
            minimum=data.get("minimumAvailability") or "released", tags=data.get("tags") or [])
        self._store(res)
        resp = dict(res)
        if "addOptions" in data and data["addOptions"] is not None:
            resp = _with_add_options(resp, {"ignoreEpisodesWithFiles": False, "ignoreEpisodesWithoutFiles": False,
                                            "monitor": "movieOnly", "searchForMovie": False, "addMethod": "manual",
                                            **data["addOptions"]})
        return self._created(req, resp)

    def _update_movie(self, req: _Req, route_id: int | None) -> _Resp:
        data = self._bind(req, self.INPUT_SPEC, self.RESOURCE_TYPE)
        if not data.get("id") and route_id is not None:
            data["id"] = route_id
        failures: list[dict] = []
        self._check_profile_and_paths(data, False, failures)
        if failures:
            raise self._validation_failed(failures)
        arr_id = data.get("id", 0)
        res = self.library.get(arr_id)
        if res is None:
            raise self._model_not_found(arr_id)
        res["monitored"] = data.get("monitored", True)
        res["qualityProfileId"] = data["qualityProfileId"]
        if data.get("minimumAvailability"):
            res["minimumAvailability"] = data["minimumAvailability"]
            res["isAvailable"] = self._available(res["status"], res["minimumAvailability"])
        res["tags"] = list(data.get("tags") or [])
        res["path"] = res["folderName"] = data["path"]
        res["rootFolderPath"] = self._best_root_folder(data["path"])
        return _json(202, res, [("Location", f"{req.base_url}/api/v3/movie/{arr_id}")])


# =========================================================================== Sonarr


class FakeSonarr(FakeServarr):
    APP_NAME = "Sonarr"
    VERSION = "4.0.19.2841"
    KEY = "tvdbId"
    RESOURCE = "series"
    MODEL = "Series"
    RESOURCE_TYPE = "Sonarr.Api.V3.Series.SeriesResource"
    DEFAULT_ROOT = "/tv"
    PROBLEM_TYPES = {400: "https://tools.ietf.org/html/rfc7231#section-6.5.1",
                     404: "https://tools.ietf.org/html/rfc7231#section-6.5.4",
                     405: "https://tools.ietf.org/html/rfc7231#section-6.5.5",
                     415: "https://tools.ietf.org/html/rfc7231#section-6.5.13"}
    COMMANDS = ("SeriesSearch", "SeasonSearch", "EpisodeSearch", "MissingEpisodeSearch", "CutoffUnmetEpisodeSearch",
                "RefreshSeries", "RescanSeries", "RssSync", "RenameSeries", "DownloadedEpisodesScan")
    EXISTS_CODE = "SeriesExistsValidator"
    EXISTS_MESSAGE = "This series has already been added"
    NOT_FOUND_MESSAGE = "A series with this ID was not found."
    MONITOR_TYPES = ["unknown", "all", "future", "missing", "existing", "firstSeason", "lastSeason", "latestSeason",
                     "pilot", "recent", "monitorSpecials", "unmonitorSpecials", "none", "skip"]
    INPUT_SPEC = {
        "id": INT, "title": STR, "tvdbId": INT, "imdbId": STR, "year": INT, "qualityProfileId": INT,
        "rootFolderPath": STR, "path": STR, "folder": STR, "monitored": BOOL, "seasonFolder": BOOL,
        "useSceneNumbering": BOOL, "titleSlug": STR, "tags": INTSET,
        "seriesType": _Enum("NzbDrone.Core.Tv.SeriesTypes", ["standard", "daily", "anime"]),
        "monitorNewItems": _Enum("NzbDrone.Core.Tv.NewItemMonitorTypes", ["all", "none"]),
        "seasons": _Obj("Sonarr.Api.V3.Series.SeasonResource", {"seasonNumber": INT, "monitored": BOOL}, many=True),
        "addOptions": _Obj("NzbDrone.Core.Tv.AddSeriesOptions", {
            "ignoreEpisodesWithFiles": BOOL, "ignoreEpisodesWithoutFiles": BOOL,
            "monitor": _Enum("NzbDrone.Core.Tv.MonitorTypes", MONITOR_TYPES),
            "searchForMissingEpisodes": BOOL, "searchForCutoffUnmetEpisodes": BOOL}),
    }
    EPISODE_SIZE = 1_468_006_400
    META_KEYS = ("title", "year", "status", "imdbId", "tmdbId", "tvMazeId", "overview", "runtime", "network",
                 "airTime", "certification", "genres", "ratings", "firstAired", "seriesType")

    def __init__(self, api_key: str = "test-sonarr-key", instance_name: str = "Sonarr"):
        super().__init__(api_key, instance_name)

    # ---------------------------------------------------------------- defaults

    def _default_catalog(self) -> dict[int, dict]:
        return {
            81189: {"title": "Breaking Bad", "year": 2008, "imdbId": "tt0903747", "tmdbId": 1396, "network": "AMC",
                    "status": "ended", "seasons": [(0, 9), (1, 7), (2, 13), (3, 13), (4, 13), (5, 16)],
                    "genres": ["Crime", "Drama", "Thriller"], "certification": "TV-MA", "runtime": 47},
            121361: {"title": "Game of Thrones", "year": 2011, "imdbId": "tt0944947", "tmdbId": 1399, "network": "HBO",
                     "status": "ended", "seasons": [(0, 17), (1, 10), (2, 10), (3, 10), (4, 10), (5, 10), (6, 10),
                                                    (7, 7), (8, 6)],
                     "genres": ["Adventure", "Drama", "Fantasy"], "certification": "TV-MA", "runtime": 60},
            305288: {"title": "Stranger Things", "year": 2016, "imdbId": "tt4574334", "tmdbId": 66732,
                     "network": "Netflix", "status": "continuing",
                     "seasons": [(0, 3), (1, 8), (2, 9), (3, 8), (4, 9), (5, 8)],
                     "genres": ["Drama", "Fantasy", "Horror"], "certification": "TV-14", "runtime": 60},
            73244: {"title": "The Office (US)", "year": 2005, "imdbId": "tt0386676", "tmdbId": 2316, "network": "NBC",
                    "status": "ended", "seasons": [(0, 30), (1, 6), (2, 22), (3, 23), (4, 14), (5, 26), (6, 26),
                                                   (7, 24), (8, 24), (9, 23)],
                    "genres": ["Comedy"], "certification": "TV-14", "runtime": 22},
        }

    def _default_quality_profiles(self) -> list[dict]:
        def q(qid, name, source, res):
            return {"quality": {"id": qid, "name": name, "source": source, "resolution": res}, "items": [],
                    "allowed": True}

        def group(gid, name, items):
            return {"name": name, "items": items, "allowed": True, "id": gid}

        def profile(pid, name, cutoff, items):
            return {"name": name, "upgradeAllowed": False, "cutoff": cutoff, "items": items, "minFormatScore": 0,
                    "cutoffFormatScore": 0, "minUpgradeFormatScore": 1, "formatItems": [], "id": pid}

        web1080 = group(1002, "WEB 1080p", [q(15, "WEBRip-1080p", "webRip", 1080), q(3, "WEBDL-1080p", "web", 1080)])
        web720 = group(1001, "WEB 720p", [q(14, "WEBRip-720p", "webRip", 720), q(5, "WEBDL-720p", "web", 720)])
        any_items = [q(1, "SDTV", "television", 480), q(2, "DVD", "dvd", 480), q(4, "HDTV-720p", "television", 720),
                     web720, q(6, "Bluray-720p", "bluray", 720), q(9, "HDTV-1080p", "television", 1080), web1080,
                     q(7, "Bluray-1080p", "bluray", 1080)]
        hd_items = [q(9, "HDTV-1080p", "television", 1080), web1080, q(7, "Bluray-1080p", "bluray", 1080),
                    q(20, "Bluray-1080p Remux", "blurayRaw", 1080)]
        return [profile(1, "Any", 4, any_items), profile(4, "HD-1080p", 9, hd_items)]

    def _system_status(self) -> dict:
        return {"appName": "Sonarr", "instanceName": self.instance_name, "version": self.VERSION,
                "buildTime": "2026-06-26T04:12:51Z", "isDebug": False, "isProduction": True, "isAdmin": False,
                "isUserInteractive": False, "startupPath": "/app/sonarr/bin", "appData": "/config",
                "osName": "alpine", "osVersion": "3.22.2", "isNetCore": True, "isLinux": True, "isOsx": False,
                "isWindows": False, "isDocker": True, "mode": "console", "branch": "main",
                "authentication": "forms", "migrationVersion": 218, "urlBase": "", "runtimeVersion": "6.0.36",
                "runtimeName": ".NET", "startTime": _iso(self._started_at), "packageVersion": self.VERSION,
                "packageAuthor": "[linuxserver.io](https://linuxserver.io)", "packageUpdateMechanism": "docker",
                "databaseVersion": "3.49.2", "databaseType": "sqLite"}

    # ---------------------------------------------------------------- metadata ("TVDB")

    def _meta(self, tvdb_id: int, title_hint: str | None = None, extra: dict | None = None) -> dict:
        n = tvdb_id
        over = dict(self.catalog.get(tvdb_id) or {})
        over.update(extra or {})
        title = over.get("title") or (title_hint if not _blank(title_hint) else None) or f"Series {tvdb_id}"
        year = over.get("year") or (1990 + _mix(n, 1) % 36)
        n_seasons = 1 + _mix(n, 2) % 5
        per = 6 + _mix(n, 3) % 8
        m = {
            "title": title, "year": year, "imdbId": f"tt{tvdb_id:07d}", "tmdbId": 100000 + n % 900000,
            "tvMazeId": 10000 + n % 90000, "tvRageId": 0, "network": _NETWORKS[_mix(n, 4) % len(_NETWORKS)],
            "airTime": f"{18 + _mix(n, 5) % 5}:00", "runtime": [22, 30, 45, 60][_mix(n, 6) % 4],
            "status": "continuing" if n % 2 == 0 else "ended", "certification": ["TV-PG", "TV-14", "TV-MA"][n % 3],
            "genres": _pick(n, 7, _GENRES, 2 + _mix(n, 8) % 2), "overview": _overview(n, "series"),
            "seasons": [(0, 2)] + [(s, per) for s in range(1, n_seasons + 1)],
            "ratings": {"votes": 100 + _mix(n, 9) % 50000, "value": round(6 + (_mix(n, 10) % 35) / 10, 1)},
            "seriesType": "standard",
        }
        m.update({k: v for k, v in over.items() if k != "title"})
        m["title"] = title
        m.setdefault("firstAired", f"{m['year']}-0{1 + _mix(n, 11) % 9}-{10 + _mix(n, 12) % 18:02d}T00:00:00Z")
        return m

    def _images(self, n: int, arr_id: int, lookup: bool) -> list[dict]:
        out = []
        for cover, remote in (("banner", f"https://artworks.thetvdb.com/banners/graphical/{n}-g{_mix(n, 30) % 9}.jpg"),
                              ("poster", f"https://artworks.thetvdb.com/banners/posters/{n}-{1 + _mix(n, 31) % 9}.jpg"),
                              ("fanart", f"https://artworks.thetvdb.com/banners/fanart/original/{n}-{1 + _mix(n, 32) % 9}.jpg"),
                              ("clearlogo", f"https://artworks.thetvdb.com/banners/v4/series/{n}/clearlogo/{_hex(f'logo{n}', 13)}.png")):
            ext = remote.rsplit(".", 1)[1]
            if lookup:
                url = f"/MediaCoverProxy/{_hex(remote, 64)}/{remote.rsplit('/', 1)[1]}"
            else:
                url = f"/MediaCover/{arr_id}/{cover}.{ext}?lastWrite={638967000000000000 + n}"
            out.append({"coverType": cover, "url": url, "remoteUrl": remote})
        return out

    def _season_airing(self, meta: dict, season: int) -> str:
        y = meta["year"] + max(season - 1, 0)
        return f"{y}-11-{10 + season % 18:02d}T02:00:00Z"

    def _series_resource(self, meta: dict, tvdb_id: int, *, arr_id: int = 0, path: str | None = None,
                         root: str | None = None, quality_profile_id: int = 0, monitored: bool = False,
                         season_flags: dict[int, bool] | None = None, season_folder: bool = False,
                         series_type: str | None = None, monitor_new: str = "all", tags: list | None = None,
                         added: str = "0001-01-01T00:00:00Z", lookup: bool = False,
                         use_scene: bool = False) -> dict:
        n, title = tvdb_id, meta["title"]
        seasons = []
        totals = dict(meta["seasons"])
        flags = season_flags if season_flags is not None else {s: s > 0 for s in totals}
        for s in sorted(set(totals) | set(flags)):
            season: dict[str, Any] = {"seasonNumber": s, "monitored": bool(flags.get(s, False))}
            if not lookup:
                st: dict[str, Any] = {}
                if totals.get(s, 0):
                    st["previousAiring"] = self._season_airing(meta, s)
                st.update({"episodeFileCount": 0, "episodeCount": 0, "totalEpisodeCount": totals.get(s, 0),
                           "sizeOnDisk": 0, "releaseGroups": [], "percentOfEpisodes": 0})
                season["statistics"] = st
            seasons.append(season)
        last = max((s for s, c in totals.items() if c), default=0)
        r: dict[str, Any] = {"title": title, "alternateTitles": [], "sortTitle": _sort_title(title),
                             "status": meta["status"], "ended": meta["status"] == "ended",
                             "overview": meta["overview"]}
        if last:
            r["previousAiring"] = self._season_airing(meta, last)
        r.update({"network": meta["network"], "airTime": meta["airTime"], "images": self._images(n, arr_id, lookup),
                  "originalLanguage": ENGLISH})
        if lookup:
            r["remotePoster"] = r["images"][1]["remoteUrl"]
        r["seasons"] = seasons
        r["year"] = meta["year"]
        if path:
            r["path"] = path
        r.update({"qualityProfileId": quality_profile_id, "seasonFolder": season_folder, "monitored": monitored,
                  "monitorNewItems": monitor_new, "useSceneNumbering": use_scene, "runtime": meta["runtime"],
                  "tvdbId": tvdb_id, "tvRageId": meta["tvRageId"], "tvMazeId": meta["tvMazeId"],
                  "tmdbId": meta["tmdbId"], "firstAired": meta["firstAired"]})
        if meta["status"] == "ended" and last:
            r["lastAired"] = self._season_airing(meta, last)
        r.update({"seriesType": series_type or meta.get("seriesType") or "standard",
                  "cleanTitle": _clean_title(title, drop_words=True), "imdbId": meta["imdbId"],
                  "titleSlug": meta.get("titleSlug") or _slug(title)})
        if root:
            r["rootFolderPath"] = root
        if lookup:
            r["folder"] = _folder_name(title)
        r.update({"certification": meta["certification"], "genres": list(meta["genres"]), "tags": list(tags or []),
                  "added": added, "ratings": dict(meta["ratings"])})
        r["statistics"] = {"seasonCount": sum(1 for s in seasons if s["seasonNumber"] > 0), "episodeFileCount": 0,
                           "episodeCount": 0, "totalEpisodeCount": 0, "sizeOnDisk": 0, "releaseGroups": [],
                           "percentOfEpisodes": 0}
        r["languageProfileId"] = 1
        if arr_id:
            r["id"] = arr_id
        if not lookup:
            self._recompute(r)
        return r

    def _recompute(self, r: dict) -> None:
        """Season and series statistics from the per-season totals and file counts (README §6)."""
        group = _RELEASE_GROUPS[_mix(r["tvdbId"], 22) % len(_RELEASE_GROUPS)]
        tot = {"episodeFileCount": 0, "episodeCount": 0, "totalEpisodeCount": 0, "sizeOnDisk": 0}
        for season in r["seasons"]:
            st = season.setdefault("statistics", {"episodeFileCount": 0, "episodeCount": 0, "totalEpisodeCount": 0,
                                                  "sizeOnDisk": 0, "releaseGroups": [], "percentOfEpisodes": 0})
            total = st["totalEpisodeCount"]
            files = min(st["episodeFileCount"], total)
            count = total if season["monitored"] else files  # (monitored and aired) or has a file
            st.update(episodeFileCount=files, episodeCount=count, sizeOnDisk=files * self.EPISODE_SIZE,
                      releaseGroups=[group] if files else [],
                      percentOfEpisodes=_num(files / count * 100) if count else 0)
            for k in tot:
                tot[k] += st[k]
        s = r["statistics"]
        s.update(seasonCount=sum(1 for x in r["seasons"] if x["seasonNumber"] > 0), **tot,
                 releaseGroups=[group] if tot["episodeFileCount"] else [],
                 percentOfEpisodes=_num(tot["episodeFileCount"] / tot["episodeCount"] * 100) if tot["episodeCount"] else 0)

    def _season_flags(self, meta: dict, requested: list[dict] | None, monitor: str | None) -> dict[int, bool]:
        numbers = [s for s, _ in meta["seasons"]]
        if requested:  # AddSkyhookData: seasons sent are used as they are
            flags = {s["seasonNumber"]: bool(s.get("monitored", False)) for s in requested if "seasonNumber" in s}
            for s in numbers:
                flags.setdefault(s, False)
        else:
            flags = {s: s > 0 for s in numbers}
        regular = sorted(s for s in flags if s > 0)
        if monitor in ("all", "missing", "existing", "recent"):
            flags = {s: s > 0 for s in flags}
        elif monitor == "none":
            flags = {s: False for s in flags}
        elif monitor in ("firstSeason", "pilot"):
            flags = {s: bool(regular) and s == regular[0] for s in flags}
        elif monitor in ("lastSeason", "latestSeason", "future"):
            flags = {s: bool(regular) and s == regular[-1] for s in flags}
        elif monitor == "monitorSpecials":
            flags[0] = True
        elif monitor == "unmonitorSpecials":
            flags[0] = False
        return flags

    def _new_library_series(self, meta: dict, tvdb_id: int, *, root: str | None, path: str | None,
                            quality_profile_id: int, monitored: bool, season_flags: dict[int, bool] | None,
                            season_folder: bool, series_type: str | None, monitor_new: str, tags: list,
                            use_scene: bool = False) -> dict:
        slug = _slug(meta["title"])
        if slug in self._slugs:
            meta["titleSlug"] = f"{slug}-{tvdb_id}"  # TVDB slugs are unique
        if _blank(path):
            path = f"{(root or self.DEFAULT_ROOT).rstrip('/')}/{_folder_name(meta['title'])}"
        root = self._best_root_folder(path)
        return self._series_resource(meta, tvdb_id, arr_id=self._alloc_id(), path=path, root=root,
                                     quality_profile_id=quality_profile_id, monitored=monitored,
                                     season_flags=season_flags, season_folder=season_folder,
                                     series_type=series_type, monitor_new=monitor_new, tags=tags, added=_iso(),
                                     use_scene=use_scene)

    def _lookup_view(self, res: dict) -> dict:
        """A library series as /series/lookup returns it: with id, zero statistics, no season statistics."""
        out = {}
        for k, v in res.items():
            if k == "seasons":
                v = [{"seasonNumber": s["seasonNumber"], "monitored": s["monitored"]} for s in v]
            elif k == "statistics":
                v = {"seasonCount": v["seasonCount"], "episodeFileCount": 0, "episodeCount": 0,
                     "totalEpisodeCount": 0, "sizeOnDisk": 0, "releaseGroups": [], "percentOfEpisodes": 0}
            elif k == "rootFolderPath" or k == "id":
                continue
            out[k] = v
            if k == "originalLanguage":
                out["remotePoster"] = next((i["remoteUrl"] for i in res["images"] if i["coverType"] == "poster"), None)
            if k == "titleSlug":
                out["folder"] = (res.get("path") or "").rstrip("/").rsplit("/", 1)[-1]
        out["id"] = res["id"]
        return out

    # ---------------------------------------------------------------- public seeding API

    def add_existing(self, tvdb_id: int, title: str | None = None, monitored: bool = True, has_file: bool = False,
                     **extra) -> dict:
        """Put a series into the library directly (as if added in Sonarr's UI). Not counted in creations.
        has_file=True: every regular episode has a file. extra: qualityProfileId, rootFolderPath, path, tags,
        seasons=[{seasonNumber, monitored}], seriesType, seasonFolder, year, ... (other keys set as given)."""
        with self._lock:
            return self._add_existing(int(tvdb_id), title, monitored, has_file, extra)

    def _add_existing(self, tvdb_id: int, title, monitored, has_file, extra) -> dict:
        if tvdb_id in self._by_key:
            raise ValueError(f"tvdbId {tvdb_id} is already in the fake Sonarr library")
        extra = dict(extra)
        meta_over = {k: extra.pop(k) for k in self.META_KEYS if k in extra}
        if "seasons_episodes" in extra:  # [(seasonNumber, episodeCount), ...]
            meta_over["seasons"] = [tuple(x) for x in extra.pop("seasons_episodes")]
        if title:
            meta_over["title"] = title
        meta = self._meta(tvdb_id, None, meta_over)
        flags = self._season_flags(meta, extra.pop("seasons", None), extra.pop("monitor", None))
        res = self._new_library_series(
            meta, tvdb_id, root=extra.pop("rootFolderPath", None), path=extra.pop("path", None),
            quality_profile_id=extra.pop("qualityProfileId", 1), monitored=bool(monitored), season_flags=flags,
            season_folder=extra.pop("seasonFolder", True), series_type=extra.pop("seriesType", None),
            monitor_new=extra.pop("monitorNewItems", "all"), tags=list(extra.pop("tags", [])))
        res.update(extra)
        self._store(res)
        if has_file:
            self._set_episode_files(res, sum(s["statistics"]["totalEpisodeCount"] for s in res["seasons"]
                                             if s["seasonNumber"] > 0), None)
        return res

    def add_many(self, n: int, start_id: int = 1, monitored: bool | Callable[[int], bool] = True,
                 has_file: bool | Callable[[int], bool] = False, **extra) -> list[dict]:
        """Seed n series with tvdbIds start_id.. (fast). monitored/has_file may be callables tvdbId -> bool."""
        out = []
        with self._lock:
            for tvdb_id in range(int(start_id), int(start_id) + int(n)):
                out.append(self._add_existing(tvdb_id, None, self._seed_flag(monitored, tvdb_id),
                                              self._seed_flag(has_file, tvdb_id), extra))
        return out

    def set_episode_files(self, tvdb_id: int, file_count: int | dict[int, int],
                          episode_count: int | dict[int, int] | None = None) -> dict:
        """Set how many episodes have files: an int is spread over the regular seasons in order (season 1
        first, specials last), a dict gives it per seasonNumber. episode_count (int: spread evenly over
        the regular seasons; dict: per season) changes the number of episodes. Statistics follow README §6."""
        with self._lock:
            res = self.find(tvdb_id)
            if res is None:
                raise KeyError(f"tvdbId {tvdb_id} is not in the fake Sonarr library")
            self._set_episode_files(res, file_count, episode_count)
            return res

    def _set_episode_files(self, res: dict, file_count, episode_count) -> None:
        seasons = {s["seasonNumber"]: s for s in res["seasons"]}
        regular = sorted(n for n in seasons if n > 0)
        if episode_count is not None:
            if isinstance(episode_count, dict):
                for sn, c in episode_count.items():
                    if sn not in seasons:
                        seasons[sn] = {"seasonNumber": sn, "monitored": bool(res["monitored"]) and sn > 0,
                                       "statistics": {"episodeFileCount": 0, "episodeCount": 0, "totalEpisodeCount": 0,
                                                      "sizeOnDisk": 0, "releaseGroups": [], "percentOfEpisodes": 0}}
                    seasons[sn]["statistics"]["totalEpisodeCount"] = int(c)
                res["seasons"] = [seasons[k] for k in sorted(seasons)]
            else:
                targets = regular or [1]
                if not regular:
                    seasons[1] = {"seasonNumber": 1, "monitored": bool(res["monitored"]),
                                  "statistics": {"episodeFileCount": 0, "episodeCount": 0, "totalEpisodeCount": 0,
                                                 "sizeOnDisk": 0, "releaseGroups": [], "percentOfEpisodes": 0}}
                    res["seasons"] = [seasons[k] for k in sorted(seasons)]
                base, extra = divmod(int(episode_count), len(targets))
                for i, sn in enumerate(targets):
                    seasons[sn]["statistics"]["totalEpisodeCount"] = base + (1 if i < extra else 0)
        for s in seasons.values():
            s["statistics"]["episodeFileCount"] = 0
        if isinstance(file_count, dict):
            for sn, c in file_count.items():
                if sn in seasons:
                    st = seasons[sn]["statistics"]
                    st["episodeFileCount"] = min(int(c), st["totalEpisodeCount"])
        else:
            left = int(file_count)
            for sn in sorted(seasons, key=lambda x: (x == 0, x)):
                st = seasons[sn]["statistics"]
                take = min(left, st["totalEpisodeCount"])
                st["episodeFileCount"] = take
                left -= take
        self._recompute(res)

    # ---------------------------------------------------------------- routes

    def _app_route(self, req: _Req, head: str, rest: list[str]) -> _Resp | None:
        m = req.method
        if head == "languageprofile":
            profile = {"name": "Deprecated", "upgradeAllowed": True, "cutoff": ENGLISH,
                       "languages": [{"language": ENGLISH, "allowed": True}], "id": 1}
            if not rest:
                return self._only(m, "GET") or _json(200, [profile])
            if len(rest) == 1 and self._int_seg(rest[0]) is not None:
                return self._only(m, "GET") or _json(200, profile)
            return _empty(404)
        if head != "series":
            return None
        if not rest:
            bad = self._only(m, "GET", "POST", "PUT")
            if bad:
                return bad
            if m == "GET":
                tvdb_id = self._int_query(req, "tvdbId")
                if tvdb_id is not None:
                    res = self.find(tvdb_id)
                    return _json(200, [res] if res else [])
                return self._list_response(list(self.library.values()))
            if m == "POST":
                return self._add_series(req)
            return self._update_series(req, None)
        if rest == ["lookup"]:
            return self._only(m, "GET") or _json(200, self._lookup_term(req.q("term") or ""))
        arr_id = self._int_seg(rest[0])
        if arr_id is None or len(rest) != 1:
            return _empty(404)
        bad = self._only(m, "GET", "PUT", "DELETE")
        if bad:
            return bad
        if m == "GET":
            return self._get_by_id(req, arr_id, lambda r: r)
        if m == "PUT":
            return self._update_series(req, arr_id)
        return self._delete(req, arr_id, "addImportListExclusion")

    def _lookup_one(self, tvdb_id: int) -> list[dict]:
        if self._unknown(tvdb_id):
            return []
        res = self.find(tvdb_id)
        if res is not None:
            return [self._lookup_view(res)]
        return [self._series_resource(self._meta(tvdb_id), tvdb_id, lookup=True)]

    def _lookup_term(self, term: str) -> list[dict]:
        t = term.strip()
        low = t.lower()
        m = re.match(r"^(tvdb|tvdbid):\s*(.*)$", low)
        if m:
            slug = m.group(2).strip()
            if not re.fullmatch(r"\d+", slug or "x"):
                return []
            return self._lookup_one(int(slug))
        if not t:
            return []
        return self._search_titles(low)

    def _add_series(self, req: _Req) -> _Resp:
        data = self._bind(req, self.INPUT_SPEC, self.RESOURCE_TYPE)
        failures: list[dict] = []
        self._check_profile_and_paths(data, True, failures)
        title = data.get("title")
        if _blank(title):
            failures.append(_not_empty("Title", title))
        tvdb_id = data.get("tvdbId", 0)
        if tvdb_id <= 0:
            failures.append(_greater_than("TvdbId", tvdb_id))
        if self.find(tvdb_id) is not None:
            failures.append(self._exists_failure(tvdb_id))
        if failures:
            raise self._validation_failed(failures)
        if self._unknown(tvdb_id):  # AddSeriesService.AddSkyhookData
            raise self._upstream_not_found(tvdb_id, data.get("path"))
        opts_in = data.get("addOptions")
        monitor = (opts_in or {}).get("monitor")
        meta = self._meta(tvdb_id, title)
        flags = self._season_flags(meta, data.get("seasons"), monitor)
        monitored = data.get("monitored", False)
        if monitor == "none":
            monitored = False
        res = self._new_library_series(
            meta, tvdb_id, root=data.get("rootFolderPath"), path=data.get("path"),
            quality_profile_id=data["qualityProfileId"], monitored=monitored, season_flags=flags,
            season_folder=data.get("seasonFolder", False), series_type=data.get("seriesType"),
            monitor_new=data.get("monitorNewItems") or "all", tags=data.get("tags") or [],
            use_scene=data.get("useSceneNumbering", False))
        self._store(res)
        resp = dict(res)
        if opts_in is not None:
            resp = _with_add_options(resp, {"ignoreEpisodesWithFiles": False, "ignoreEpisodesWithoutFiles": False,
                                            "monitor": "unknown", "searchForMissingEpisodes": False,
                                            "searchForCutoffUnmetEpisodes": False, **opts_in})
        return self._created(req, resp)

    def _update_series(self, req: _Req, route_id: int | None) -> _Resp:
        data = self._bind(req, self.INPUT_SPEC, self.RESOURCE_TYPE)
        if not data.get("id") and route_id is not None:
            data["id"] = route_id
        failures: list[dict] = []
        self._check_profile_and_paths(data, False, failures)
        if failures:
            raise self._validation_failed(failures)
        arr_id = data.get("id", 0)
        res = self.library.get(arr_id)
        if res is None:
            raise self._model_not_found(arr_id)
        res["monitored"] = data.get("monitored", False)
        res["qualityProfileId"] = data["qualityProfileId"]
        for key in ("seasonFolder", "seriesType", "monitorNewItems", "useSceneNumbering"):
            if data.get(key) is not None:
                res[key] = data[key]
        res["tags"] = list(data.get("tags") or [])
        res["path"] = data["path"]
        res["rootFolderPath"] = self._best_root_folder(data["path"])
        if data.get("seasons"):
            by_number = {s["seasonNumber"]: s for s in res["seasons"]}
            for s in data["seasons"]:
                if s.get("seasonNumber") in by_number and "monitored" in s:
                    by_number[s["seasonNumber"]]["monitored"] = bool(s["monitored"])
        self._recompute(res)
        return _json(202, res, [("Location", f"{req.base_url}/api/v3/series/{arr_id}")])


# =========================================================================== standalone demo


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fakes.servarr",
                                description="Run fake Radarr and Sonarr (API v3) until killed.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--radarr-port", type=int, default=7878)
    p.add_argument("--sonarr-port", type=int, default=8989)
    p.add_argument("--radarr-key", default="test-radarr-key")
    p.add_argument("--sonarr-key", default="test-sonarr-key")
    p.add_argument("--seed-movies", type=int, default=0, help="seed the library with N movies (tmdbId 1..N)")
    p.add_argument("--seed-series", type=int, default=0, help="seed the library with N series (tvdbId 1..N)")
    p.add_argument("--delay", type=float, default=0.0, help="seconds before every API answer")
    p.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    args = p.parse_args(argv)

    radarr = FakeRadarr(api_key=args.radarr_key)
    sonarr = FakeSonarr(api_key=args.sonarr_key)
    for fake, port, seed in ((radarr, args.radarr_port, args.seed_movies), (sonarr, args.sonarr_port, args.seed_series)):
        fake.verbose = args.verbose
        fake.delay = args.delay
        if seed:
            fake.add_many(seed, has_file=lambda i: i % 3 == 0)
        fake.start(args.host, port)
    print(f"Fake Radarr {radarr.VERSION}: {radarr.url}  api key: {radarr.api_key}", flush=True)
    print(f"Fake Sonarr {sonarr.VERSION}: {sonarr.url}  api key: {sonarr.api_key}", flush=True)
    print("Ctrl-C to stop.", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    radarr.stop()
    sonarr.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
