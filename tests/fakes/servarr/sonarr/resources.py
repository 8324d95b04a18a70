"""``SeriesResource`` in Sonarr's property order: library view (statistics per season and
series) and lookup view (``id`` only for library series, zero statistics; reference README §4).
"""
from __future__ import annotations

from typing import Any

from ..util import _blank, _clean_title, _folder_name, _iso, _slug, _sort_title
from ..wordlists import ENGLISH


class SonarrResources:
    """SeriesResource builders (library and lookup views)."""

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
