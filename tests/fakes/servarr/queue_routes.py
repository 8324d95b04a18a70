"""``GET /api/v3/queue``: one page of the queue (reference README §7; R
``src/Radarr.Api.V3/Queue/QueueController.cs`` ``GetQueue``, ``src/Radarr.Http/PagingResource.cs``,
``Extensions/RequestExtensions.cs`` ``ApplyToPage``; Sonarr alike).

- ``page`` (default 1), ``pageSize`` (default 10): Overseerr reads only the first page.
- ``sortKey``: one of the controller's allowed keys, else "timeleft"; ``sortDirection`` absent ->
  **descending** (``PagingResource``: ``?? SortDirection.Descending``), "default" -> ascending.
  Ties: most progress first. ``timeleft``/``estimatedCompletionTime``: unknown sorts after known.
- Titles not in the library are left out unless ``includeUnknownMovieItems``/``...SeriesItems``;
  ``movieIds``/``seriesIds``, ``status`` and ``protocol`` filter; ``includeMovie`` (Radarr),
  ``includeSeries``/``includeEpisode`` (Sonarr) embed the resources.
- A page past the end comes back as page ``max(totalRecords / pageSize, 1)`` with *integer*
  division (the controller's ``Math.Ceiling((decimal)(a / b))``), so 15 records at 10 a page
  answer page 1, not 2, for ``page=5``.
- Answer: ``{page, pageSize, sortKey, sortDirection, totalRecords, records}``.
"""
from __future__ import annotations

from .request import _Req
from .responses import _Resp, _empty, _json

DIRECTIONS = ("default", "ascending", "descending")


class QueueRoutesMixin:
    """The paged queue listing; ``QUEUE_SORT_KEYS`` and the include/filter names come from the app."""

    QUEUE_SORT_KEYS: tuple[str, ...] = ()

    def _queue_route(self, req: _Req, rest: list[str]) -> _Resp:
        if rest:
            return _empty(404)
        bad = self._only(req.method, "GET")
        if bad:
            return bad
        page = self._int_query(req, "page")
        size = self._int_query(req, "pageSize")
        page, size = (1 if page is None else page), (10 if size is None else size)
        key_in = req.q("sortKey")
        key = next((k for k in self.QUEUE_SORT_KEYS if key_in and k.lower() == key_in.lower()), None)
        sort_key = key_in if key else "timeleft"
        direction = self._enum_query(req, "sortDirection", DIRECTIONS) or "descending"
        ascending = direction in ("ascending", "default")
        flags = {name: self._bool_query(req, name) for name in self.QUEUE_FLAGS}
        statuses = {s.lower() for s in self._all_query(req, "status")}
        protocol = self._enum_query(req, "protocol", ("unknown", "usenet", "torrent"))
        ids = {self._int_value(req, self.QUEUE_ID_FILTER, v) for v in self._all_query(req, self.QUEUE_ID_FILTER)}

        items = [i for i in self.queue_items if flags[self.QUEUE_UNKNOWN_FLAG] or self._queue_known(i)]
        items = [i for i in items if (not ids or self._queue_owner_id(i) in ids)
                 and (not statuses or i["status"].lower() in statuses)
                 and (protocol is None or i["protocol"] == protocol)]
        ordered = sorted(items, key=self._queue_progress_value, reverse=True)
        ordered.sort(key=lambda i: self._queue_sort_value(i, (key or "timeleft").lower()), reverse=not ascending)
        records = ordered[max(page - 1, 0) * size:][:max(size, 0)]
        if not records and page > 1:
            if size == 0:
                return _json(500, {"message": "Attempted to divide by zero.",
                                   "description": "System.DivideByZeroException: Attempted to divide by zero."})
            page = max(len(ordered) // size, 1)
            records = ordered[(page - 1) * size:][:size]
        return _json(200, {"page": page, "pageSize": size, "sortKey": sort_key, "sortDirection": direction,
                           "totalRecords": len(items), "records": [self._queue_record(i, flags) for i in records]})

    @staticmethod
    def _queue_progress_value(item: dict) -> float:
        return 0 if not item["size"] else 100 - item["sizeleft"] / item["size"] * 100

    def _queue_sort_value(self, item: dict, key: str):
        if key in ("timeleft", "estimatedcompletiontime"):
            left = self._queue_timeleft(item)
            return (left is None, left or 0)  # unknown after known (TimeleftComparer)
        if key == "progress":
            return (False, self._queue_progress_value(item))
        if key in ("added", "size", "status", "protocol", "indexer", "title"):
            value = item[key]
            return (False, value.lower() if isinstance(value, str) else value)
        if key == "downloadclient":
            return (False, item["download_client"].lower())
        if key in ("movies.sorttitle", "series.sorttitle"):
            res = self.find(item["ext_id"])
            return (False, (res or {}).get("sortTitle") or item["title"].lower())
        if key == "year":
            return (False, (self.find(item["ext_id"]) or {}).get("year", 0))
        return self._queue_sort_value(item, "timeleft")  # quality, languages, episode.*: approximated

    # ---------------------------------------------------------------- query parsing (ASP.NET binding)

    def _all_query(self, req: _Req, name: str) -> list[str]:
        return [v for k, v in req.pairs if k.lower() == name.lower() and v != ""]

    def _int_value(self, req: _Req, name: str, raw: str) -> int:
        try:
            return int(raw)
        except ValueError:
            raise self._validation_problem({name: [f"The value '{raw}' is not valid."]})

    def _bool_query(self, req: _Req, name: str) -> bool:
        raw = req.q(name)
        if raw is None or raw == "":
            return False
        if raw.lower() not in ("true", "false"):
            raise self._validation_problem({name: [f"The value '{raw}' is not valid."]})
        return raw.lower() == "true"

    def _enum_query(self, req: _Req, name: str, values: tuple[str, ...]) -> str | None:
        raw = req.q(name)
        if raw is None or raw == "":
            return None
        for i, v in enumerate(values):
            if raw.lower() == v.lower() or raw == str(i):
                return v
        raise self._validation_problem({name: [f"The value '{raw}' is not valid."]})
