"""Sonarr's queue records (S ``src/Sonarr.Api.V3/Queue/QueueResource.cs``, ``QueueController.cs``):
one record per episode. Head ``seriesId``, ``episodeId``, ``seasonNumber`` (absent for unknown
items), ``series`` (``includeSeries=true``: ``Series.ToResource()``, no statistics, stored images)
and ``episode`` (``includeEpisode=true``: ``EpisodeResource``, as Overseerr asks for); tail
``episodeHasFile``. Episodes get ids on first use; the first ``episodeFileCount`` episodes of a
season have files (``set_episode_files``).
"""
from __future__ import annotations

from ..util import _mix
from ..wordlists import _RELEASE_GROUPS

WEBDL_1080P = {"quality": {"id": 3, "name": "WEBDL-1080p", "source": "web", "resolution": 1080},
               "revision": {"version": 1, "real": 0, "isRepack": False}}


class SonarrQueue:
    """The Sonarr half of the queue: ``season``/``episode`` pick the episode (default S01E01)."""

    QUEUE_FLAGS = ("includeUnknownSeriesItems", "includeSeries", "includeEpisode")
    QUEUE_UNKNOWN_FLAG = "includeUnknownSeriesItems"
    QUEUE_ID_FILTER = "seriesIds"
    QUEUE_SORT_KEYS = ("added", "downloadClient", "episode", "episode.airDateUtc", "episode.title",
                       "episodes.airDateUtc", "episodes.title", "estimatedCompletionTime", "indexer", "language",
                       "languages", "progress", "protocol", "quality", "series.sortTitle", "size", "status",
                       "timeleft", "title")

    def _reset_episode_ids(self) -> None:
        self._episode_ids: dict[tuple[int, int, int], int] = {}

    def _queue_item_defaults(self, tvdb_id: int, fields: dict) -> dict:
        season, episode = int(fields.pop("season", 1)), int(fields.pop("episode", 1))
        res = self.find(tvdb_id)
        title = (res or self._meta(tvdb_id))["title"]
        group = _RELEASE_GROUPS[_mix(tvdb_id, 22) % len(_RELEASE_GROUPS)]
        return {"season": season, "episode": episode, "size": 1_000_000_000 + _mix(tvdb_id, 23) % 2_000_000_000,
                "title": f"{title.replace(' ', '.')}.S{season:02d}E{episode:02d}.1080p.WEB-DL.DDP5.1.H.264-{group}"}

    def _queue_select(self, tvdb_id: int, changes: dict) -> list[dict]:
        season, episode = changes.pop("season", None), changes.pop("episode", None)
        return [i for i in self.queue_items if i["ext_id"] == tvdb_id
                and (season is None or i["season"] == season) and (episode is None or i["episode"] == episode)]

    def _queue_known(self, item: dict) -> bool:
        return self.find(item["ext_id"]) is not None

    def _queue_owner_id(self, item: dict) -> int | None:
        res = self.find(item["ext_id"])
        return res["id"] if res else None

    def _queue_quality(self) -> dict:
        return {"quality": dict(WEBDL_1080P["quality"]), "revision": dict(WEBDL_1080P["revision"])}

    def _episode_id(self, series_id: int, season: int, episode: int) -> int:
        key = (series_id, season, episode)
        if key not in self._episode_ids:
            self._episode_ids[key] = len(self._episode_ids) + 1
        return self._episode_ids[key]

    def _episode_resource(self, res: dict, season: int, episode: int) -> dict:
        """EpisodeResource in Sonarr's property order (S ``src/Sonarr.Api.V3/Episodes/EpisodeResource.cs``)."""
        stats = next((s.get("statistics") or {} for s in res["seasons"] if s["seasonNumber"] == season), {})
        monitored = next((s["monitored"] for s in res["seasons"] if s["seasonNumber"] == season), False)
        has_file = episode <= stats.get("episodeFileCount", 0)
        year = res["year"] + max(season - 1, 0)
        day = 1 + (episode * 7) % 28
        return {"seriesId": res["id"], "tvdbId": res["tvdbId"] * 1000 + season * 100 + episode,
                "episodeFileId": res["id"] * 10000 + season * 100 + episode if has_file else 0,
                "seasonNumber": season, "episodeNumber": episode,
                "title": f"Episode {episode}", "airDate": f"{year}-09-{day:02d}",
                "airDateUtc": f"{year}-09-{day:02d}T02:00:00Z", "runtime": res["runtime"],
                "overview": f"Season {season}, episode {episode} of {res['title']}.", "hasFile": has_file,
                "monitored": bool(monitored), "unverifiedSceneNumbering": False,
                "id": self._episode_id(res["id"], season, episode)}

    def _queue_head(self, item: dict, include: dict) -> dict:
        res = self.find(item["ext_id"])
        if res is None:
            return {}
        ep = self._episode_resource(res, item["season"], item["episode"])
        head = {"seriesId": res["id"], "episodeId": ep["id"], "seasonNumber": item["season"]}
        if include.get("includeSeries"):
            head["series"] = {k: ([{"seasonNumber": s["seasonNumber"], "monitored": s["monitored"]} for s in v]
                                  if k == "seasons" else
                                  [{"coverType": i["coverType"], "remoteUrl": i["remoteUrl"]} for i in v]
                                  if k == "images" else v)
                              for k, v in res.items() if k not in ("statistics", "rootFolderPath", "previousAiring")}
        if include.get("includeEpisode"):
            head["episode"] = ep
        return head

    def _queue_tail(self, item: dict) -> dict:
        res = self.find(item["ext_id"])
        has = bool(res) and self._episode_resource(res, item["season"], item["episode"])["hasFile"]
        return {"episodeHasFile": has}
