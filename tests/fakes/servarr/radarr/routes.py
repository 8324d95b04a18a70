"""Radarr's own routes: ``/movie`` (list, ``?tmdbId=``, by id, POST, PUT, DELETE with
``addImportExclusion``) and ``/movie/lookup``, ``/lookup/tmdb`` (unknown id -> 500
``MovieNotFoundException``), ``/lookup/imdb`` (reference README §3).
"""
from __future__ import annotations

from ..request import _Req
from ..responses import _Abort, _Resp, _empty, _json


class RadarrRoutes:
    """Routing of ``/movie`` and its lookups."""

    def _app_route(self, req: _Req, head: str, rest: list[str]) -> _Resp | None:
        m = req.method
        if head != "movie":
            return None
        if not rest:
            bad = self._only(m, "GET", "POST", "PUT")
            if bad:
                return bad
            if m == "GET":
                tmdb_id = self._int_query(req, "tmdbId")
                if tmdb_id is not None:
                    res = self.find(tmdb_id)
                    return _json(200, [res] if res else [])
                return self._list_response(list(self.library.values()))
            if m == "POST":
                return self._add_movie(req)
            return self._update_movie(req, None)
        if rest[0] == "lookup":
            bad = self._only(m, "GET")
            if bad:
                return bad
            if len(rest) == 1:
                return _json(200, self._lookup_term(req.q("term") or ""))
            if rest[1:] == ["tmdb"]:
                tmdb_id = self._int_query(req, "tmdbId") or 0
                if self._unknown(tmdb_id):
                    raise self._tmdb_not_found(tmdb_id)
                return _json(200, self._movie_resource(self._meta(tmdb_id), tmdb_id, view="tmdb"))
            if rest[1:] == ["imdb"]:
                imdb = req.q("imdbId") or ""
                found = self._lookup_term(f"imdb:{imdb}")
                if not found:
                    msg = f"Movie with IMDb {imdb} was not found, it may have been removed from IMDb."
                    raise _Abort(_json(404, {"message": msg, "description":
                                             f"NzbDrone.Core.Exceptions.MovieNotFoundException: {msg}"}))
                return _json(200, found[0])
            return _empty(404)
        arr_id = self._int_seg(rest[0])
        if arr_id is None or len(rest) != 1:
            return _empty(404)
        bad = self._only(m, "GET", "PUT", "DELETE")
        if bad:
            return bad
        if m == "GET":
            return self._get_by_id(req, arr_id, lambda r: r)
        if m == "PUT":
            return self._update_movie(req, arr_id)
        return self._delete(req, arr_id, "addImportExclusion")

    def _tmdb_not_found(self, tmdb_id: int) -> _Abort:
        msg = f"Movie with tmdbId {tmdb_id} was not found, it may have been removed from TMDb."
        return _Abort(_json(500, {"message": msg, "description": (
            f"NzbDrone.Core.Exceptions.MovieNotFoundException: {msg}\n"
            f"   at NzbDrone.Core.MetadataSource.SkyHook.SkyHookProxy.GetMovieInfo(Int32 tmdbId) in "
            f"./Radarr.Core/MetadataSource/SkyHook/SkyHookProxy.cs:line 128\n"
            f"   at Radarr.Api.V3.Movies.MovieLookupController.SearchByTmdbId(Int32 tmdbId) in "
            f"./Radarr.Api.V3/Movies/MovieLookupController.cs:line 42")}))
