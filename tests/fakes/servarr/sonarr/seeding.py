"""Putting series into the fake Sonarr directly (as if added in its UI) and setting how many
episodes have files.
"""
from __future__ import annotations

from typing import Callable


class SonarrSeeding:
    """``add_existing``, ``add_many``, ``set_episode_files``."""

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
