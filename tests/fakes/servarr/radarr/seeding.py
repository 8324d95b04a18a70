"""Putting movies into the fake Radarr directly (as if added in its UI) and giving them files
(``hasFile``/``movieFile``/``statistics`` from the file, reference README §6).
"""
from __future__ import annotations

from typing import Callable

from ..util import _folder_name, _iso, _mix
from ..wordlists import _RELEASE_GROUPS, ENGLISH


class RadarrSeeding:
    """``add_existing``, ``add_many``, ``set_file``."""

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
