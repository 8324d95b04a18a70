"""Series and season statistics (reference README §6): ``episodeCount`` = monitored-and-aired or
with a file, ``percentOfEpisodes`` = files / episodeCount, specials in ``totalEpisodeCount``;
and season monitoring from ``addOptions.monitor`` (reference README §4 ``MonitoringOptions``).
"""
from __future__ import annotations

from ..util import _mix, _num
from ..wordlists import _RELEASE_GROUPS


class SonarrStatistics:
    """Statistics recomputation and season monitoring."""

    def _recompute(self, r: dict) -> None:
        """Season and series statistics from the per-season totals and file counts (README §6)."""
        group = _RELEASE_GROUPS[_mix(r["tvdbId"], 22) % len(_RELEASE_GROUPS)]
        tot = {"episodeFileCount": 0, "episodeCount": 0, "totalEpisodeCount": 0, "sizeOnDisk": 0}
        for season in r["seasons"]:
            st = season.setdefault("statistics", {"episodeFileCount": 0, "episodeCount": 0, "totalEpisodeCount": 0,
                                                  "sizeOnDisk": 0, "releaseGroups": [], "percentOfEpisodes": 0})
            total = st["totalEpisodeCount"]
            files = min(st["episodeFileCount"], total)
            count = total if season["monitored"] else files  # (monitored and aired) or has a file
            st.update(episodeFileCount=files, episodeCount=count, sizeOnDisk=files * self.EPISODE_SIZE,
                      releaseGroups=[group] if files else [],
                      percentOfEpisodes=_num(files / count * 100) if count else 0)
            for k in tot:
                tot[k] += st[k]
        s = r["statistics"]
        s.update(seasonCount=sum(1 for x in r["seasons"] if x["seasonNumber"] > 0), **tot,
                 releaseGroups=[group] if tot["episodeFileCount"] else [],
                 percentOfEpisodes=_num(tot["episodeFileCount"] / tot["episodeCount"] * 100) if tot["episodeCount"] else 0)

    def _season_flags(self, meta: dict, requested: list[dict] | None, monitor: str | None) -> dict[int, bool]:
        numbers = [s for s, _ in meta["seasons"]]
        if requested:  # AddSkyhookData: seasons sent are used as they are
            flags = {s["seasonNumber"]: bool(s.get("monitored", False)) for s in requested if "seasonNumber" in s}
            for s in numbers:
                flags.setdefault(s, False)
        else:
            flags = {s: s > 0 for s in numbers}
        regular = sorted(s for s in flags if s > 0)
        if monitor in ("all", "missing", "existing", "recent"):
            flags = {s: s > 0 for s in flags}
        elif monitor == "none":
            flags = {s: False for s in flags}
        elif monitor in ("firstSeason", "pilot"):
            flags = {s: bool(regular) and s == regular[0] for s in flags}
        elif monitor in ("lastSeason", "latestSeason", "future"):
            flags = {s: bool(regular) and s == regular[-1] for s in flags}
        elif monitor == "monitorSpecials":
            flags[0] = True
        elif monitor == "unmonitorSpecials":
            flags[0] = False
        return flags

    def _set_episode_files(self, res: dict, file_count, episode_count) -> None:
        seasons = {s["seasonNumber"]: s for s in res["seasons"]}
        regular = sorted(n for n in seasons if n > 0)
        if episode_count is not None:
            if isinstance(episode_count, dict):
                for sn, c in episode_count.items():
                    if sn not in seasons:
                        seasons[sn] = {"seasonNumber": sn, "monitored": bool(res["monitored"]) and sn > 0,
                                       "statistics": {"episodeFileCount": 0, "episodeCount": 0, "totalEpisodeCount": 0,
                                                      "sizeOnDisk": 0, "releaseGroups": [], "percentOfEpisodes": 0}}
                    seasons[sn]["statistics"]["totalEpisodeCount"] = int(c)
                res["seasons"] = [seasons[k] for k in sorted(seasons)]
            else:
                targets = regular or [1]
                if not regular:
                    seasons[1] = {"seasonNumber": 1, "monitored": bool(res["monitored"]),
                                  "statistics": {"episodeFileCount": 0, "episodeCount": 0, "totalEpisodeCount": 0,
                                                 "sizeOnDisk": 0, "releaseGroups": [], "percentOfEpisodes": 0}}
                    res["seasons"] = [seasons[k] for k in sorted(seasons)]
                base, extra = divmod(int(episode_count), len(targets))
                for i, sn in enumerate(targets):
                    seasons[sn]["statistics"]["totalEpisodeCount"] = base + (1 if i < extra else 0)
        for s in seasons.values():
            s["statistics"]["episodeFileCount"] = 0
        if isinstance(file_count, dict):
            for sn, c in file_count.items():
                if sn in seasons:
                    st = seasons[sn]["statistics"]
                    st["episodeFileCount"] = min(int(c), st["totalEpisodeCount"])
        else:
            left = int(file_count)
            for sn in sorted(seasons, key=lambda x: (x == 0, x)):
                st = seasons[sn]["statistics"]
                take = min(left, st["totalEpisodeCount"])
                st["episodeFileCount"] = take
                left -= take
        self._recompute(res)
