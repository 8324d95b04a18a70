"""The download queue: what the download clients are fetching for the library, as ``/api/v3/queue``
shows it (reference README §7 "Pagination", §9 "Downloads"; the ``QueueResource`` schema of
both openapi.json files; R ``src/Radarr.Api.V3/Queue/QueueResource.cs``, S
``src/Sonarr.Api.V3/Queue/QueueResource.cs``).

A test moves a download along with ``queue_add()``, ``queue_progress()``, ``queue_remove()``.
Records follow ``QueueResource``'s property order: the app's head (``movieId``/``movie``, or
``seriesId``/``episodeId``/``seasonNumber``/``series``/``episode``), then ``languages, quality,
customFormats, customFormatScore, size, title, estimatedCompletionTime, added, status,
trackedDownloadStatus, trackedDownloadState, statusMessages, errorMessage, downloadId, protocol,
downloadClient, downloadClientHasPostImportCategory, indexer, outputPath``, the app's tail, then
the deprecated ``sizeleft``/``timeleft`` and ``id``; nulls omitted (STJson). ``timeleft`` is a
.NET TimeSpan ("c" format, e.g. ``"1.02:03:04"``); ``estimatedCompletionTime`` = now + timeleft.
Off by default: the queue is empty.
"""
from __future__ import annotations

import hashlib
import time

from .util import _iso
from .wordlists import ENGLISH

QUEUE_STATUSES = ("unknown", "queued", "paused", "downloading", "completed", "failed", "warning", "delay",
                  "downloadClientUnavailable", "fallback")
TRACKED_STATUSES = ("ok", "warning", "error")
TRACKED_STATES = ("downloading", "importBlocked", "importPending", "importing", "imported", "failedPending",
                  "failed", "ignored")
PROTOCOLS = ("unknown", "usenet", "torrent")
BYTES_PER_SECOND = 12_500_000  # the made-up download speed behind a computed timeleft
# queue_add()/queue_progress() keyword -> stored item key; the record field is noted where it differs
FIELDS = ("size", "sizeleft", "status", "tracked_status", "tracked_state", "title", "protocol", "download_client",
          "indexer", "download_id", "timeleft", "error_message", "status_messages", "output_path", "added")


def timespan(seconds: float) -> str:
    """A .NET TimeSpan in the invariant "c" format: ``[d.]hh:mm:ss``."""
    s = max(int(round(seconds)), 0)
    days, s = divmod(s, 86400)
    return f"{str(days) + '.' if days else ''}{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _hash31(text: str) -> int:
    """A positive int32 from a string (Radarr's queue ids are hashes too: HashConverter.GetHashInt31)."""
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:4], "big") & 0x7FFFFFFF


class QueueMixin:
    """Queue state and control; the app adds its head/tail fields (radarr/queue.py, sonarr/queue.py)."""

    def _reset_queue(self) -> None:
        if not hasattr(self, "queue_items"):
            self.queue_items: list[dict] = []  # the stored downloads, oldest first (treat as read-only)
        self.queue_items.clear()

    def queue_add(self, ext_id: int, **fields) -> dict:
        """A download for a tmdbId/tvdbId appears in the queue. fields: size, sizeleft (default size),
        status ("downloading"), tracked_status ("ok"), tracked_state ("downloading"), title, protocol
        ("torrent"), download_client ("qBittorrent"; "SABnzbd" for usenet), indexer, download_id,
        timeleft (seconds; default from sizeleft while downloading), error_message, status_messages
        ([{title, messages}]), output_path, added (epoch seconds); Sonarr also season, episode. A
        title not in the library is an "unknown item" (listed only with includeUnknown...Items=true).
        Returns the record."""
        with self._lock:
            item = {"ext_id": int(ext_id), "added": time.time(), "status": "downloading", "tracked_status": "ok",
                    "tracked_state": "downloading", "protocol": "torrent", "download_client": "qBittorrent",
                    "indexer": "1337x (Prowlarr)", "status_messages": [], "timeleft": None}
            item.update(self._queue_item_defaults(int(ext_id), fields))
            if fields.get("protocol") == "usenet":
                item["download_client"] = "SABnzbd"
            self._queue_apply(item, fields)
            item.setdefault("sizeleft", item["size"])
            item.setdefault("download_id", self._queue_download_id(item))
            item.setdefault("output_path", f"/downloads/{item['title']}")
            item["id"] = _hash31(f"trackedDownload-{item['download_client']}-{item['download_id']}-"
                                 f"{ext_id}-{item.get('season')}-{item.get('episode')}")
            self.queue_items.append(item)
            return self._queue_record(item, {})

    def queue_progress(self, ext_id: int, **changes) -> dict:
        """Change the download(s) of a title (same keywords as queue_add; Sonarr: season=/episode= pick
        the episode). Returns the (last) changed record."""
        with self._lock:
            items = self._queue_select(int(ext_id), changes)
            if not items:
                raise KeyError(f"no queue item for {self.KEY} {ext_id}")
            for item in items:
                self._queue_apply(item, changes)
            return self._queue_record(items[-1], {})

    def queue_remove(self, ext_id: int, **which) -> int:
        """Take the title's download(s) off the queue (imported, removed, ...). Returns how many."""
        with self._lock:
            gone = self._queue_select(int(ext_id), dict(which))
            self.queue_items[:] = [i for i in self.queue_items if i not in gone]
            return len(gone)

    def _queue_select(self, ext_id: int, changes: dict) -> list[dict]:
        return [i for i in self.queue_items if i["ext_id"] == ext_id]

    @staticmethod
    def _queue_apply(item: dict, changes: dict) -> None:
        for key, value in changes.items():
            if key not in FIELDS:
                raise TypeError(f"unknown queue field {key!r} (one of {', '.join(FIELDS)})")
            for name, allowed in (("status", QUEUE_STATUSES), ("tracked_status", TRACKED_STATUSES),
                                  ("tracked_state", TRACKED_STATES), ("protocol", PROTOCOLS)):
                if key == name and value not in allowed:
                    raise ValueError(f"{key} must be one of {allowed}, not {value!r}")
            item[key] = value

    def _queue_download_id(self, item: dict) -> str:
        seed = f"{self.APP_NAME}-{item['ext_id']}-{item.get('season')}-{item.get('episode')}-{len(self.queue_items)}"
        if item["protocol"] == "usenet":
            return f"SABnzbd_nzo_{hashlib.md5(seed.encode()).hexdigest()[:8]}"
        return hashlib.sha1(seed.encode()).hexdigest().upper()

    def _queue_timeleft(self, item: dict) -> float | None:
        if item["timeleft"] is not None:
            return float(item["timeleft"])
        if item["sizeleft"] <= 0:
            return 0.0
        if item["status"] in ("downloading", "warning"):
            return item["sizeleft"] / BYTES_PER_SECOND
        return None

    def _queue_record(self, item: dict, include: dict) -> dict:
        r = self._queue_head(item, include)
        r.update({"languages": [dict(ENGLISH)], "quality": self._queue_quality(), "customFormats": [],
                  "customFormatScore": 0, "size": item["size"], "title": item["title"]})
        left = self._queue_timeleft(item)
        if left is not None:
            r["estimatedCompletionTime"] = _iso(time.time() + left)
        r.update({"added": _iso(item["added"]), "status": item["status"],
                  "trackedDownloadStatus": item["tracked_status"], "trackedDownloadState": item["tracked_state"],
                  "statusMessages": list(item["status_messages"])})
        if item.get("error_message"):
            r["errorMessage"] = item["error_message"]
        r.update({"downloadId": item["download_id"], "protocol": item["protocol"],
                  "downloadClient": item["download_client"], "downloadClientHasPostImportCategory": False,
                  "indexer": item["indexer"], "outputPath": item["output_path"]})
        r.update(self._queue_tail(item))
        r["sizeleft"] = item["sizeleft"]
        if left is not None:
            r["timeleft"] = timespan(left)
        r["id"] = item["id"]
        return r
