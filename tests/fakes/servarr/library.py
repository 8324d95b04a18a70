"""The library: titles by arr id and by tmdbId/tvdbId, the test's view of it (``find``,
``remove``, ``set_catalog``) and the by-id routes (reference README §3/§4: get-by-id 404
ProblemDetails, DELETE 200 with an empty body, POST 201 + ``Location``).
"""
from __future__ import annotations

from typing import Callable

from .request import _Req
from .responses import _Resp, _empty, _json


class LibraryMixin:
    """The library store, the test's view of it and the by-id routes."""

    def set_catalog(self, ext_id: int, **fields) -> dict:
        """Define the upstream metadata for an id (title, year, ...); merged over the defaults."""
        with self._lock:
            entry = self.catalog.setdefault(int(ext_id), {})
            entry.update(fields)
            return entry

    def find(self, ext_id: int) -> dict | None:
        """The library resource for a tmdbId/tvdbId, or None."""
        with self._lock:
            arr_id = self._by_key.get(int(ext_id))
            return self.library.get(arr_id) if arr_id is not None else None

    def remove(self, ext_id: int) -> bool:
        """Delete from the library (as if deleted in the UI). True if it was there."""
        with self._lock:
            arr_id = self._by_key.get(int(ext_id))
            if arr_id is None:
                return False
            self._unstore(self.library[arr_id])
            return True

    def _search_titles(self, low: str) -> list[dict]:
        """Free-text lookup: library titles first (with their ids), then the catalog's."""
        found, seen = [], set()
        for res in self.library.values():
            if low in res["title"].lower():
                found.append(self._lookup_view(res))
                seen.add(res[self.KEY])
        for tid in self.catalog:
            if tid not in seen and low in (self.catalog[tid].get("title") or "").lower():
                found.extend(self._lookup_one(tid))
        return found

    def _alloc_id(self) -> int:
        arr_id = self._next_id
        self._next_id += 1
        return arr_id

    def _store(self, res: dict) -> dict:
        self.library[res["id"]] = res
        self._by_key[res[self.KEY]] = res["id"]
        self._slugs.add(res.get("titleSlug"))
        return res

    def _unstore(self, res: dict) -> None:
        self.library.pop(res["id"], None)
        self._by_key.pop(res[self.KEY], None)
        self._slugs.discard(res.get("titleSlug"))

    def _get_by_id(self, req: "_Req", arr_id: int, view: Callable[[dict], dict]) -> _Resp:
        if arr_id <= 0:
            raise self._bad_request(f"{arr_id} is not a valid ID")
        res = self.library.get(arr_id)
        if res is None:
            return self._not_found_problem()
        return _json(200, view(res))

    def _delete(self, req: "_Req", arr_id: int, exclusion_param: str) -> _Resp:
        if arr_id <= 0:
            raise self._bad_request(f"{arr_id} is not a valid ID")
        for name in ("deleteFiles", exclusion_param):
            raw = req.q(name)
            if raw is not None and raw.lower() not in ("true", "false", ""):
                raise self._validation_problem({name: [f"The value '{raw}' is not valid."]})
        res = self.library.get(arr_id)
        if res is None:
            raise self._model_not_found(arr_id)
        if (req.q(exclusion_param) or "").lower() == "true":
            self.exclusions.add(res[self.KEY])
        self._unstore(res)
        return _empty(200)

    def _created(self, req: "_Req", res: dict) -> _Resp:
        self.creations[res[self.KEY]] += 1
        return _json(201, res, [("Location", f"{req.base_url}/api/v3/{self.RESOURCE}/{res['id']}")])

    def _unknown(self, ext_id: int) -> bool:
        return ext_id <= 0 or ext_id in self.unknown_ids

    def _seed_flag(self, flag: bool | Callable[[int], bool], ext_id: int) -> bool:
        return bool(flag(ext_id)) if callable(flag) else bool(flag)
