"""Serving MediaCover files: static ``{urlBase}/MediaCover/{id}/{file}`` and the API's
``/api/v3/mediacover/{id}/{file}`` (what they answer and why: see ``covers``; R
``src/Radarr.Http/Frontend/StaticResourceController.cs``, ``Middleware/CacheHeaderMiddleware.cs``,
``Middleware/IfModifiedMiddleware.cs``, ``src/Radarr.Api.V3/MediaCovers/MediaCoverController.cs``).
"""
from __future__ import annotations

import calendar
import email.utils
import re
import time

from .covers import _http_date, _ticks_to_unix
from .request import _Req
from .responses import _Resp, _empty


class CoverRoutesMixin:
    """Static covers (no API key, build-time ``Last-Modified``) and API covers (file-time ``Last-Modified``)."""

    def _static_cover(self, method: str, path: str, headers) -> _Resp:
        """``{urlBase}/MediaCover/{id}/{file}`` (path without the base)."""
        entry = {"method": method, "path": path, "time": time.time(), "status": None}
        with self._lock:
            self.cover_requests.append(entry)
            parts = path.split("/")  # "", "MediaCover", id, file
            found = None
            if len(parts) == 4 and parts[2].isdigit():
                found = self._cover_file(int(parts[2]), parts[3])
        if method not in ("GET", "HEAD"):
            resp = _Resp(405, b"", None, [("Allow", "GET")])
        elif found is None:
            resp = _empty(404)
        else:
            data, ctype, _ = found
            built = calendar.timegm(time.strptime(self.BUILD_TIME, "%Y-%m-%dT%H:%M:%SZ"))
            cache = [("Cache-Control", "max-age=31536000, public"), ("Last-Modified", _http_date(built))]
            if headers.get("IfModifiedSince") is not None:
                resp = _Resp(304, b"", ctype, cache)
            else:
                resp = _Resp(200, data, ctype, cache)
        entry["status"] = resp.status
        return resp

    def _api_cover(self, req: _Req, rest: list[str]) -> _Resp:
        """``/api/v3/mediacover/{id}/{filename}`` (MediaCoverController, a ``PhysicalFile``)."""
        if len(rest) != 2 or not re.fullmatch(r"\d{1,10}", rest[0]) or not re.fullmatch(r".+\.(jpg|png|gif)", rest[1]):
            return _empty(404)
        bad = self._only(req.method, "GET")
        if bad:
            return bad
        name = req.path.rstrip("/").rsplit("/", 1)[-1]  # as sent: file names are case-sensitive
        found = self._cover_file(int(rest[0]), name)
        if found is None:
            return self._not_found_problem()
        data, ctype, ticks = found
        modified = int(_ticks_to_unix(ticks))
        hdrs = [("Last-Modified", _http_date(modified))]
        since = req.headers.get("If-Modified-Since")
        if since:
            try:
                if email.utils.parsedate_to_datetime(since).timestamp() >= modified:
                    return _Resp(304, b"", None, hdrs)
            except (TypeError, ValueError):
                pass
        return _Resp(200, data, ctype, hdrs)
