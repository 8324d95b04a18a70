"""Answers as values: ``_Resp`` (status, body, content type, headers, or a body that breaks off),
and the two exceptions that end request handling early (``_Abort`` with an answer, ``_Drop``
without one). JSON bodies are System.Text.Json-like (reference README §2).
"""
from __future__ import annotations

from typing import Any, Iterable

from .util import _dumps


JSON_CT = "application/json; charset=utf-8"
PROBLEM_CT = "application/problem+json; charset=utf-8"


class _Resp:
    """An answer: status, body, content type, extra headers; ``partial``: chunked and cut off;
    ``stream``: chunked, each piece sent as it is made (how ASP.NET writes a large list: the
    first bytes leave before the last item is serialized)."""

    __slots__ = ("status", "body", "ctype", "headers", "partial", "stream")

    def __init__(self, status: int, body: bytes = b"", ctype: str | None = None,
                 headers: Iterable[tuple[str, str]] = (), partial: bytes | None = None,
                 stream: Iterable[bytes] | None = None):
        self.status, self.body, self.ctype, self.headers, self.partial = status, body, ctype, list(headers), partial
        self.stream = stream


class _Abort(Exception):
    """Stop handling and send this answer (validation failures, 404s, ...)."""

    def __init__(self, resp: _Resp):
        super().__init__(resp.status)
        self.resp = resp


class _Drop(Exception):
    """Close the connection without answering."""


def _json(status: int, obj: Any, headers: Iterable[tuple[str, str]] = ()) -> _Resp:
    return _Resp(status, _dumps(obj), JSON_CT, headers)


def _empty(status: int) -> _Resp:
    return _Resp(status, b"")
