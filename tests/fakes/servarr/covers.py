"""MediaCover: the poster, fanart, banner and clear logo files Radarr/Sonarr keep per title.

Follows the source (reference README §8.2 "Image ``url`` is a local path"; R
``src/NzbDrone.Core/MediaCover/MediaCoverService.cs``, ``src/Radarr.Http/Frontend/Mappers/MediaCoverMapper.cs``,
``src/Radarr.Http/Frontend/StaticResourceController.cs``, ``src/Radarr.Http/Middleware/CacheHeaderMiddleware.cs``,
``IfModifiedMiddleware.cs``, ``src/Radarr.Api.V3/MediaCovers/MediaCoverController.cs``; Sonarr alike):

- A library resource's ``images[].url`` is ``{urlBase}/MediaCover/{id}/{type}.{jpg|png}?lastWrite={ticks}``
  (.NET ticks of the file's last write: **the change signal**); ``remoteUrl`` is TMDb's/TVDB's.
- Resized copies exist for poster (-500, -250), fanart (-360, -180) and banner (-70, -35); asking
  for another ``-NNN.jpg`` serves the full-size file (``RegexResizedImage`` fallback). File names
  are case-sensitive (Linux), the ``/MediaCover/`` prefix is not.
- ``GET {urlBase}/MediaCover/...`` is static content (StaticResourceController, UI auth policy:
  no API key involved; the fake serves it to anyone, as with authentication disabled for local
  addresses). Headers from CacheHeaderMiddleware: ``Cache-Control: max-age=31536000, public`` and
  ``Last-Modified`` = the app's **build time**, not the file's; only the misspelt request header
  ``IfModifiedSince`` gets a 304 (IfModifiedMiddleware). Logged in ``cover_requests``.
- ``GET /api/v3/mediacover/{id}/{file}`` (API key needed) serves the same files as
  ``PhysicalFile``: ``Last-Modified`` = the file's time, ``If-Modified-Since`` -> 304.

``set_poster(ext_id, data)`` / ``set_cover(...)`` replace a file: new bytes (all sizes), a newer
``lastWrite`` in the resource's url. Default bytes are a tiny JPEG/PNG per id, type, size, version.
"""
from __future__ import annotations

import email.utils
import re
import time

from .images import jpeg, png

TICKS_AT_UNIX_EPOCH = 621_355_968_000_000_000
DEFAULT_TICKS = 638_967_000_000_000_000  # + tmdbId/tvdbId: lastWrite of covers nobody replaced
RESIZED = {"poster": (500, 250), "headshot": (500, 250), "fanart": (360, 180), "screenshot": (360, 180),
           "banner": (70, 35)}
_FILE = re.compile(r"^(?P<cover>[a-z]+)(?:-(?P<height>\d+))?\.(?P<ext>jpg|png)$")
_CTYPES = {"jpg": "image/jpeg", "png": "image/png"}


def _ticks_to_unix(ticks: int) -> float:
    return (ticks - TICKS_AT_UNIX_EPOCH) / 10_000_000


def _http_date(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


class CoversMixin:
    """Cover urls for resources, ``set_poster()``/``set_cover()``/``cover_bytes()``; serving: ``cover_routes``."""

    def _reset_covers(self) -> None:
        self._covers: dict[tuple[int, str], dict] = {}  # (arr id, coverType) -> {"ticks", "data"}
        if not hasattr(self, "cover_requests"):
            self.cover_requests: list[dict] = []
        self.cover_requests.clear()

    def _cover_url(self, arr_id: int, cover: str, ext: str, ext_id: int) -> str:
        ticks = self._covers.get((arr_id, cover), {}).get("ticks", DEFAULT_TICKS + ext_id)
        return f"{self._url_base}/MediaCover/{arr_id}/{cover}.{ext}?lastWrite={ticks}"

    def set_poster(self, ext_id: int, data: bytes | None = None) -> dict:
        """Replace the library title's poster (all sizes) with data (None: new made-up bytes).
        Returns the updated ``images`` entry; its url has a newer ``lastWrite``."""
        return self.set_cover(ext_id, "poster", data)

    def set_cover(self, ext_id: int, cover: str = "poster", data: bytes | None = None) -> dict:
        """set_poster() for any cover type the title has (fanart, banner, clearlogo, ...)."""
        with self._lock:
            res = self.find(ext_id)
            if res is None:
                raise KeyError(f"{self.KEY} {ext_id} is not in the fake {self.APP_NAME} library")
            img = next((i for i in res.get("images") or () if i.get("coverType") == cover and i.get("url")), None)
            if img is None:
                raise KeyError(f"{self.KEY} {ext_id} has no {cover} cover")
            old = int(img["url"].rsplit("lastWrite=", 1)[-1])
            now = TICKS_AT_UNIX_EPOCH + int(time.time() * 10_000_000)
            ticks = max(now, old + 10_000_000)  # a later second, so Last-Modified moves on too
            self._covers[(res["id"], cover)] = {"ticks": ticks, "data": data}
            img["url"] = f"{img['url'].split('?', 1)[0]}?lastWrite={ticks}"
            return dict(img)

    def cover_bytes(self, ext_id: int, cover: str = "poster", height: int | None = None) -> bytes:
        """The bytes the fake serves for a library title's cover (``height``: a resized copy)."""
        with self._lock:
            res = self.find(ext_id)
            if res is None:
                raise KeyError(f"{self.KEY} {ext_id} is not in the fake {self.APP_NAME} library")
            ext = "png" if cover == "clearlogo" else "jpg"
            found = self._cover_file(res["id"], f"{cover}{'-%d' % height if height else ''}.{ext}")
            if found is None:
                raise KeyError(f"{self.KEY} {ext_id} has no {cover} cover")
            return found[0]

    def _cover_file(self, arr_id: int, name: str) -> tuple[bytes, str, int] | None:
        """(bytes, content type, lastWrite ticks) of MediaCover/{arr_id}/{name}, or None."""
        m = _FILE.match(name)
        res = self.library.get(arr_id)
        if m is None or res is None:
            return None
        cover, ext = m["cover"], m["ext"]
        img = next((i for i in res.get("images") or () if i.get("coverType") == cover and i.get("url")), None)
        if img is None or not img["url"].split("?", 1)[0].endswith(f"/{cover}.{ext}"):
            return None
        height = int(m["height"]) if m["height"] else None
        if height is not None and height not in RESIZED.get(cover, ()):
            if ext != "jpg":
                return None
            height = None  # the full-size file instead (RegexResizedImage)
        ticks = int(img["url"].rsplit("lastWrite=", 1)[-1])
        data = self._covers.get((arr_id, cover), {}).get("data")
        if data is None:
            label = f"{self.APP_NAME} MediaCover {arr_id} {cover}{'-%d' % height if height else ''} lastWrite={ticks}"
            data = png(label) if ext == "png" else jpeg(label)
        return data, _CTYPES[ext], ticks
