"""URL base: Radarr/Sonarr served under ``/{urlBase}`` (Settings > General > URL Base).

Follows the source (R/S ``src/NzbDrone.Host/Startup.cs``, ``Radarr.Http/Middleware/UrlBaseMiddleware.cs``,
``NzbDrone.Core/Configuration/ConfigFileProvider.cs``; reference README §2 "Base path is
``/{urlBase}/api/v3/<resource>``"):

- ``ConfigFileProvider.UrlBase`` trims slashes and puts one in front: "radarr/" -> "/radarr".
- ``UsePathBase`` strips the base (segment-wise, case-insensitive) from the request path.
- ``UrlBaseMiddleware``: a request whose path does *not* start with the base gets
  ``Response.Redirect($"{urlBase}{Path}{QueryString}")``: **302 Found**, a relative
  ``Location``, empty body. It runs after authentication, so an API request without a valid
  key still gets its 401 first; with the key it gets the 302 (``/ping`` is anonymous: 302).
- ``system/status`` reports ``urlBase``; cover urls and ``Location`` headers carry the base.

Off by default (``url_base == ""``): every path is served as before.
"""
from __future__ import annotations

from .responses import _Resp


def normalize_url_base(value: str | None) -> str:
    """ConfigFileProvider.UrlBase: "" stays "", otherwise one leading slash and none at the end."""
    base = (value or "").strip().strip("/")
    return f"/{base}" if base else ""


class UrlBaseMixin:
    """``url_base`` (settable, "" = off), the path split and the redirect."""

    @property
    def url_base(self) -> str:
        return self._url_base

    @url_base.setter
    def url_base(self, value: str | None) -> None:
        new = normalize_url_base(value)
        with self._lock:
            old, self._url_base = getattr(self, "_url_base", ""), new
            if old != new:  # cover urls already handed out carry the base: as after a restart of the app
                for res in self.library.values():
                    self._rebase_images(res.get("images") or (), old, new)

    @staticmethod
    def _rebase_images(images, old: str, new: str) -> None:
        for img in images:
            url = img.get("url")
            if url and url.startswith(old + "/MediaCover"):
                img["url"] = new + url[len(old):]

    def _split_url_base(self, raw_path: str) -> tuple[str, bool]:
        """(Request.Path, matched): the path without the base, and whether it was under the base.
        With no base set every path matches as it is."""
        base = self._url_base
        if not base:
            return raw_path, True
        low, lbase = raw_path.lower(), base.lower()
        if low == lbase or low.startswith(lbase + "/"):
            return raw_path[len(base):] or "/", True
        return raw_path, False

    def _url_base_redirect(self, raw_path: str, query: str) -> _Resp:
        location = f"{self._url_base}{raw_path}{'?' + query if query else ''}"
        return _Resp(302, b"", None, [("Location", location)])
