"""``/api/v3/tag``: create (an existing label is returned, labels lowercased, only a-z 0-9 -),
list, get, delete. Tags are ids in the API and labels in webhooks (reference README §10).
"""
from __future__ import annotations

import re

from .binding import INT, STR
from .request import _Req
from .responses import _Resp, _empty, _json
from .util import _blank
from .validation import _failure, _not_empty


class TagsMixin:
    """``/tag`` routes."""

    def _tag_route(self, req: "_Req", rest: list[str]) -> _Resp:
        m = req.method
        if not rest:
            bad = self._only(m, "GET", "POST")
            if bad:
                return bad
            if m == "GET":
                return _json(200, self.tags)
            data = self._bind(req, {"id": INT, "label": STR}, "NzbDrone.Api.V3.Tags.TagResource")
            label = data.get("label")
            if _blank(label):
                raise self._validation_failed([_not_empty("Label", label)])
            if not re.fullmatch(r"[a-z0-9-]+", label, re.IGNORECASE):
                raise self._validation_failed([_failure(
                    "Label", "Allowed characters a-z, 0-9 and -", label, "RegularExpressionValidator",
                    {"regularExpression": "^[a-z0-9-]+$"})])
            for t in self.tags:
                if t["label"].lower() == label.lower():
                    tag = t
                    break
            else:
                tag = {"label": label.lower(), "id": max((t["id"] for t in self.tags), default=0) + 1}
                self.tags.append(tag)
            return _json(201, tag, [("Location", f"{req.base_url}/api/v3/tag/{tag['id']}")])
        if len(rest) == 1 and (tag_id := self._int_seg(rest[0])) is not None:
            bad = self._only(m, "GET", "DELETE")
            if bad:
                return bad
            if tag_id <= 0:
                raise self._bad_request(f"{tag_id} is not a valid ID")
            tag = next((t for t in self.tags if t["id"] == tag_id), None)
            if m == "GET":
                return _json(200, tag) if tag else self._not_found_problem()
            if tag:
                self.tags.remove(tag)
            return _empty(200)
        return _empty(404)
