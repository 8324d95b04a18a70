"""POST and PUT ``/movie`` (reference README §3 body table, §5): validators, ``tmdbId`` required,
``monitored`` defaults to true, ``minimumAvailability`` to "released", 201 + ``Location``
with ``addOptions`` echoed; PUT answers 202.
"""
from __future__ import annotations

from ..add_rules import _with_add_options
from ..request import _Req
from ..responses import _Resp, _json
from ..util import _blank
from ..validation import _not_empty


class RadarrWrites:
    """POST/PUT ``/movie``."""

    def _add_movie(self, req: _Req) -> _Resp:
        data = self._bind(req, self.INPUT_SPEC, self.RESOURCE_TYPE)
        failures: list[dict] = []
        self._check_profile_and_paths(data, True, failures)
        tmdb_id = data.get("tmdbId", 0)
        title = data.get("title")
        if tmdb_id <= 0 and _blank(title):
            failures.append(_not_empty("Title", title))
        if tmdb_id == 0:
            failures.append(_not_empty("TmdbId", tmdb_id))
        if self.find(tmdb_id) is not None:
            failures.append(self._exists_failure(tmdb_id))
        if failures:
            raise self._validation_failed(failures)
        if self._unknown(tmdb_id):  # AddMovieService.AddSkyhookData
            raise self._upstream_not_found(tmdb_id, data.get("path"))
        res = self._new_library_movie(
            self._meta(tmdb_id, title), tmdb_id, root=data.get("rootFolderPath"), path=data.get("path"),
            quality_profile_id=data["qualityProfileId"], monitored=data.get("monitored", True),
            minimum=data.get("minimumAvailability") or "released", tags=data.get("tags") or [])
        if self._take_race():  # race.py: a concurrent add of the same title won the INSERT
            raise self._lose_race(req, res)
        self._store(res)
        resp = dict(res)
        if "addOptions" in data and data["addOptions"] is not None:
            resp = _with_add_options(resp, {"ignoreEpisodesWithFiles": False, "ignoreEpisodesWithoutFiles": False,
                                            "monitor": "movieOnly", "searchForMovie": False, "addMethod": "manual",
                                            **data["addOptions"]})
        return self._created(req, resp)

    def _update_movie(self, req: _Req, route_id: int | None) -> _Resp:
        data = self._bind(req, self.INPUT_SPEC, self.RESOURCE_TYPE)
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
        res["monitored"] = data.get("monitored", True)
        res["qualityProfileId"] = data["qualityProfileId"]
        if data.get("minimumAvailability"):
            res["minimumAvailability"] = data["minimumAvailability"]
            res["isAvailable"] = self._available(res["status"], res["minimumAvailability"])
        res["tags"] = list(data.get("tags") or [])
        res["path"] = res["folderName"] = data["path"]
        res["rootFolderPath"] = self._best_root_folder(data["path"])
        return _json(202, res, [("Location", f"{req.base_url}/api/v3/movie/{arr_id}")])
