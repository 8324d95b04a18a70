"""Radarr's queue records (R ``src/Radarr.Api.V3/Queue/QueueResource.cs``, ``QueueController.cs``):
head ``movieId`` (absent for unknown items) and, with ``includeMovie=true``, ``movie`` =
``Movie.ToResource(0)``: the resource without the statistics the controllers link
(``hasFile``, ``statistics``, ``sizeOnDisk``), without ``rootFolderPath``/``movieFile``, and
with the stored images (``{coverType, remoteUrl}``: not mapped to local urls).
"""
from __future__ import annotations

from ..util import _mix
from ..wordlists import _RELEASE_GROUPS

BLURAY_1080P = {"quality": {"id": 7, "name": "Bluray-1080p", "source": "bluray", "resolution": 1080,
                            "modifier": "none"},
                "revision": {"version": 1, "real": 0, "isRepack": False}}


class RadarrQueue:
    """The Radarr half of the queue: one record per movie download."""

    QUEUE_FLAGS = ("includeUnknownMovieItems", "includeMovie")
    QUEUE_UNKNOWN_FLAG = "includeUnknownMovieItems"
    QUEUE_ID_FILTER = "movieIds"
    QUEUE_SORT_KEYS = ("added", "downloadClient", "estimatedCompletionTime", "indexer", "languages",
                       "movies.sortTitle", "progress", "protocol", "quality", "size", "status", "timeleft", "title",
                       "year")

    def _queue_item_defaults(self, tmdb_id: int, fields: dict) -> dict:
        res = self.find(tmdb_id)
        meta = res or self._meta(tmdb_id)
        group = _RELEASE_GROUPS[_mix(tmdb_id, 21) % len(_RELEASE_GROUPS)]
        return {"size": 4_000_000_000 + _mix(tmdb_id, 20) % 9_000_000_000,
                "title": f"{meta['title'].replace(' ', '.')}.{meta['year']}.1080p.BluRay.x264-{group}"}

    def _queue_known(self, item: dict) -> bool:
        return self.find(item["ext_id"]) is not None

    def _queue_owner_id(self, item: dict) -> int | None:
        res = self.find(item["ext_id"])
        return res["id"] if res else None

    def _queue_quality(self) -> dict:
        return {"quality": dict(BLURAY_1080P["quality"]), "revision": dict(BLURAY_1080P["revision"])}

    def _queue_head(self, item: dict, include: dict) -> dict:
        res = self.find(item["ext_id"])
        if res is None:
            return {}
        head = {"movieId": res["id"]}
        if include.get("includeMovie"):
            head["movie"] = {k: ([{"coverType": i["coverType"], "remoteUrl": i["remoteUrl"]} for i in v]
                                 if k == "images" else v)
                             for k, v in res.items()
                             if k not in ("hasFile", "statistics", "sizeOnDisk", "rootFolderPath", "movieFile")}
        return head

    def _queue_tail(self, item: dict) -> dict:
        return {}
