"""The request pipeline: everything between "bytes arrived" and "the route answers".

Order as in Radarr/Sonarr: anonymous ``/ping``; then for ``/api``: logging, the test's delay
and failure modes, the API key (query ``apikey``, header ``X-Api-Key``, ``Authorization:
Bearer``; missing or wrong -> 401 with an empty body, reference README §2), routing, and
bugs in the fake answered like Radarr's error pipeline (500 ``{message, description}``).
"""
from __future__ import annotations

import json
import sys
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .request import _Req
from .responses import _Abort, _Drop, _Resp, _empty, _json
from .transport import _Handler
from .util import _blank


class PipelineMixin:
    """``_handle`` (one request, start to end), ``_authorized`` and ``log()`` over ``requests_log``."""

    def _handle(self, h: _Handler) -> None:
        arrived = time.time()
        method = h.command
        split = urlsplit(h.path)
        raw_path = split.path or "/"
        pairs = parse_qsl(split.query, keep_blank_values=True)
        try:
            body = self._read_body(h)
        except (ValueError, OSError):
            self._send(h, _Resp(400, b"Bad request body", "text/plain; charset=utf-8"))
            h.close_connection = True
            return
        path, under_base = self._split_url_base(raw_path)  # urlbase.py: UsePathBase
        lpath = path.lower().rstrip("/") or "/"
        if not lpath.startswith("/api/"):
            if not under_base:
                self._send(h, self._url_base_redirect(raw_path, split.query))
            elif lpath == "/ping" and method in ("GET", "HEAD"):
                self._send(h, _json(200, {"status": "OK"}))
            elif lpath.startswith("/mediacover/"):  # cover_routes.py: static content, no API key
                self._send(h, self._static_cover(method, path, h.headers))
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
        if self._url_base:
            entry["path_base"] = self._url_base if under_base else ""
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

        if not under_base:  # UrlBaseMiddleware runs after authentication
            entry["status"] = 302
            return self._send(h, self._url_base_redirect(raw_path, split.query))

        req = _Req(method, path, lpath, pairs, h.headers, body, self._url_base)
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

    def _authorized(self, h: _Handler, pairs: list[tuple[str, str]]) -> bool:
        key = next((v for k, v in pairs if k.lower() == "apikey"), None)
        if key is None:
            key = h.headers.get("X-Api-Key")
        if _blank(key):
            auth = h.headers.get("Authorization") or ""
            if auth[:7].lower() == "bearer ":
                key = auth[7:].strip()
        return bool(key) and key == self.api_key

    def log(self, method: str | None = None, path: str | None = None) -> list[dict]:
        """requests_log filtered by method and/or path (case-insensitive path match)."""
        with self._lock:
            return [r for r in self.requests_log
                    if (method is None or r["method"] == method.upper())
                    and (path is None or r["path"].lower().rstrip("/") == path.lower().rstrip("/"))]
