"""Sonarr's own routes: ``/languageprofile`` (see ``v3``), ``/series`` (list,
``?tvdbId=``, by id, POST, PUT, DELETE with ``addImportListExclusion``) and
``/series/lookup`` (reference README §4).
"""
from __future__ import annotations

import re

from ..request import _Req
from ..responses import _Resp, _empty, _json


class SonarrRoutes:
    """Routing of ``/languageprofile``, ``/series`` and its lookup."""

    def _app_route(self, req: _Req, head: str, rest: list[str]) -> _Resp | None:
        m = req.method
        if head == "languageprofile":  # v3.py: real profiles in v3, a deprecated placeholder in v4
            return self._languageprofile_route(req, rest)
        if head != "series":
            return None
        if not rest:
            bad = self._only(m, "GET", "POST", "PUT")
            if bad:
                return bad
            if m == "GET":
                tvdb_id = self._int_query(req, "tvdbId")
                if tvdb_id is not None:
                    res = self.find(tvdb_id)
                    return _json(200, [res] if res else [])
                return self._list_response(list(self.library.values()))
            if m == "POST":
                return self._add_series(req)
            return self._update_series(req, None)
        if rest == ["lookup"]:
            return self._only(m, "GET") or _json(200, self._lookup_term(req.q("term") or ""))
        arr_id = self._int_seg(rest[0])
        if arr_id is None or len(rest) != 1:
            return _empty(404)
        bad = self._only(m, "GET", "PUT", "DELETE")
        if bad:
            return bad
        if m == "GET":
            return self._get_by_id(req, arr_id, lambda r: r)
        if m == "PUT":
            return self._update_series(req, arr_id)
        return self._delete(req, arr_id, "addImportListExclusion")

    def _lookup_one(self, tvdb_id: int) -> list[dict]:
        if self._unknown(tvdb_id):
            return []
        res = self.find(tvdb_id)
        if res is not None:
            return [self._lookup_view(res)]
        return [self._series_resource(self._meta(tvdb_id), tvdb_id, lookup=True)]

    def _lookup_term(self, term: str) -> list[dict]:
        t = term.strip()
        low = t.lower()
        m = re.match(r"^(tvdb|tvdbid):\s*(.*)$", low)
        if m:
            slug = m.group(2).strip()
            if not re.fullmatch(r"\d+", slug or "x"):
                return []
            return self._lookup_one(int(slug))
        if not t:
            return []
        return self._search_titles(low)
