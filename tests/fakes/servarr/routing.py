"""Routing under ``/api/v3`` (reference README §2: ``/{urlBase}/api/v3/<resource>``, paths
case-insensitive): the resources both apps have, then the app's own (``_app_route``).
Unknown paths 404 with an empty body; a wrong method 405 with ``Allow``.
"""
from __future__ import annotations

import re

from .request import _Req
from .responses import _Resp, _empty, _json


class RoutingMixin:
    """``/api/v3`` routing and the small helpers routes share."""

    def _route(self, req: "_Req") -> _Resp:
        segs = req.segs
        if len(segs) < 3 or segs[1] != "v3":
            return _empty(404)
        s = segs[2:]
        m = req.method
        head, rest = s[0], s[1:]
        if head == "system" and rest == ["status"]:
            return self._only(m, "GET") or _json(200, self._system_status())
        if head == "qualityprofile":
            return self._simple_collection(req, rest, self.quality_profiles)
        if head == "rootfolder":
            return self._simple_collection(req, rest, self._root_folder_resources())
        if head == "tag":
            return self._tag_route(req, rest)
        if head == "command":
            return self._command_route(req, rest)
        if head == "queue":
            return self._queue_route(req, rest)  # queue_routes.py
        if head == "mediacover":
            return self._api_cover(req, rest)  # cover_routes.py
        resp = self._app_route(req, head, rest)
        return resp if resp is not None else _empty(404)

    def _app_route(self, req: "_Req", head: str, rest: list[str]) -> _Resp | None:
        raise NotImplementedError

    @staticmethod
    def _only(method: str, *allowed: str) -> _Resp | None:
        if method in allowed or (method == "HEAD" and "GET" in allowed):
            return None
        return _Resp(405, b"", None, [("Allow", ", ".join(allowed))])

    @staticmethod
    def _int_seg(seg: str) -> int | None:
        return int(seg) if re.fullmatch(r"-?\d{1,10}", seg) else None

    def _simple_collection(self, req: "_Req", rest: list[str], items: list[dict]) -> _Resp:
        if not rest:
            return self._only(req.method, "GET") or _json(200, items)
        if len(rest) == 1 and (item_id := self._int_seg(rest[0])) is not None:
            bad = self._only(req.method, "GET")
            if bad:
                return bad
            if item_id <= 0:
                raise self._bad_request(f"{item_id} is not a valid ID")
            for item in items:
                if item.get("id") == item_id:
                    return _json(200, item)
            return self._not_found_problem()
        return _empty(404)
