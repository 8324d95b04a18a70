"""POST and PUT ``/series`` (reference README §4 body table, §5): ``title`` and ``tvdbId``
required, ``monitored`` defaults to false, seasons from the body or TVDB, ``addOptions.monitor``
applied; 201 + ``Location``, PUT 202.
"""
from __future__ import annotations

from ..add_rules import _with_add_options
from ..request import _Req
from ..responses import _Resp, _json
from ..util import _blank
from ..validation import _greater_than, _not_empty


class SonarrWrites:
    """POST/PUT ``/series``."""

    def _add_series(self, req: _Req) -> _Resp:
        data = self._bind(req, self._input_spec(), self.RESOURCE_TYPE)
        failures: list[dict] = []
        self._check_profile_and_paths(data, True, failures)
        title = data.get("title")
        if _blank(title):
            failures.append(_not_empty("Title", title))
        tvdb_id = data.get("tvdbId", 0)
        if tvdb_id <= 0:
            failures.append(_greater_than("TvdbId", tvdb_id))
        if self.find(tvdb_id) is not None:
            failures.append(self._exists_failure(tvdb_id))
        if failures:
            raise self._validation_failed(failures)
        if self._unknown(tvdb_id):  # AddSeriesService.AddSkyhookData
            raise self._upstream_not_found(tvdb_id, data.get("path"))
        opts_in = data.get("addOptions")
        monitor = (opts_in or {}).get("monitor")
        meta = self._meta(tvdb_id, title)
        flags = self._season_flags(meta, data.get("seasons"), monitor)
        monitored = data.get("monitored", False)
        if monitor == "none":
            monitored = False
        res = self._new_library_series(
            meta, tvdb_id, root=data.get("rootFolderPath"), path=data.get("path"),
            quality_profile_id=data["qualityProfileId"], monitored=monitored, season_flags=flags,
            season_folder=data.get("seasonFolder", False), series_type=data.get("seriesType"),
            monitor_new=data.get("monitorNewItems") or "all", tags=data.get("tags") or [],
            use_scene=data.get("useSceneNumbering", False))
        if self.is_v3:  # v3.py: the profile sent (validated above) is kept
            res["languageProfileId"] = data.get("languageProfileId", 0)
        if self._take_race():  # race.py: a concurrent add of the same title won the INSERT
            raise self._lose_race(req, res)
        self._store(res)
        resp = dict(res)
        if opts_in is not None:
            resp = _with_add_options(resp, {"ignoreEpisodesWithFiles": False, "ignoreEpisodesWithoutFiles": False,
                                            "monitor": "unknown", "searchForMissingEpisodes": False,
                                            "searchForCutoffUnmetEpisodes": False, **opts_in})
        return self._created(req, resp)

    def _update_series(self, req: _Req, route_id: int | None) -> _Resp:
        data = self._bind(req, self._input_spec(), self.RESOURCE_TYPE)
        if not data.get("id") and route_id is not None:
            data["id"] = route_id
        failures: list[dict] = []
        self._check_profile_and_paths(data, False, failures)
        if failures:
            raise self._validation_failed(failures)
        arr_id = data.get("id", 0)
        res = self.library.get(arr_id)
        if res is None:
            raise self._model_not_found(arr_id)
        res["monitored"] = data.get("monitored", False)
        res["qualityProfileId"] = data["qualityProfileId"]
        for key in ("seasonFolder", "seriesType", "monitorNewItems", "useSceneNumbering"):
            if data.get(key) is not None:
                res[key] = data[key]
        res["tags"] = list(data.get("tags") or [])
        if self.is_v3:
            res["languageProfileId"] = data.get("languageProfileId", 0)
        res["path"] = data["path"]
        res["rootFolderPath"] = self._best_root_folder(data["path"])
        if data.get("seasons"):
            by_number = {s["seasonNumber"]: s for s in res["seasons"]}
            for s in data["seasons"]:
                if s.get("seasonNumber") in by_number and "monitored" in s:
                    by_number[s["seasonNumber"]]["monitored"] = bool(s["monitored"])
        self._recompute(res)
        return _json(202, res, [("Location", f"{req.base_url}/api/v3/series/{arr_id}")])
