"""Failure modes a test switches on: how a busy, broken or unreachable Radarr/Sonarr answers.

"503" is a proxy's plain-text page, "500" (and other 5xx) is Radarr's error pipeline answering
an SQLite "database is locked" (``{message, description}``, reference README §5), "timeout"
hangs then closes, "close" closes at once; ``list_fail_after`` breaks the full-list GET.
"""
from __future__ import annotations

import re

from .responses import JSON_CT, _Abort, _Resp, _empty, _json
from .util import _dumps

FAIL_MODES_DOC = 'None | "503" | "500" | any other 3-digit status | "timeout" | "close"'


class FailureMixin:
    """``fail_mode``, ``fail_next()``, ``list_fail_after`` and the answers they produce."""

    @property
    def fail_mode(self) -> str | None:
        """None, or how every API request fails: "503" (503, text body), "500" (500 {message, description}),
        any other 3-digit status, "timeout" (wait hang_seconds, then close without an answer) or "close"
        (close at once without an answer)."""
        return self._fail_mode

    @fail_mode.setter
    def fail_mode(self, mode: str | int | None) -> None:
        self._check_mode(mode)
        self._fail_mode = None if mode is None else str(mode)

    def fail_next(self, n: int, mode: str) -> None:
        """The next n API requests fail with mode (see fail_mode), then normal again."""
        self._check_mode(mode)
        with self._lock:
            self._fail_queue.extend([str(mode)] * int(n))


    @staticmethod
    def _check_mode(mode: str | int | None) -> None:
        if mode is None or mode in ("timeout", "close") or re.fullmatch(r"[1-5]\d\d", str(mode)):
            return
        raise ValueError(f"fail mode must be {FAIL_MODES_DOC}, not {mode!r}")


    def _failure_response(self, status: int, method: str, path: str) -> _Resp:
        if status == 503:
            return _Resp(503, b"Service Unavailable", "text/plain; charset=utf-8")
        if status >= 500:
            msg = "database is locked\ndatabase is locked"
            return _json(status, {"message": msg, "description": (
                f"code = Busy (5), message = System.Data.SQLite.SQLiteException (0x800007AF): {msg}\n"
                f"   at System.Data.SQLite.SQLite3.Step(SQLiteStatement stmt)\n"
                f"   at NzbDrone.Core.Datastore.BasicRepository`1.All() ({method} {path})")})
        return _empty(status)


    def _list_response(self, items: list[dict]) -> _Resp:
        """The whole library as Radarr/Sonarr send it: a JSON array, streamed in pieces (memory
        of the fake and of the bench stays flat at 100,000 titles)."""
        n = self.list_fail_after
        if n is None:
            return _Resp(200, b"", JSON_CT, stream=_listing(items))
        if n <= 0:
            raise _Abort(self._failure_response(500, "GET", f"/api/v3/{self.RESOURCE}"))
        partial = b"[" + b",".join(_dumps(i) for i in items[:n]) + b","
        return _Resp(200, b"", JSON_CT, partial=partial)


def _listing(items: list[dict], per_piece: int = 200):
    """A JSON array of items, a few hundred at a time."""
    yield b"["
    for start in range(0, len(items), per_piece):
        piece = b",".join(_dumps(i) for i in items[start:start + per_piece])
        yield (b"," if start else b"") + piece
    yield b"]"
