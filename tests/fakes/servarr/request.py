"""One parsed API request as the routes see it.
"""
from __future__ import annotations


class _Req:
    __slots__ = ("method", "path", "lpath", "pairs", "headers", "body", "segs")

    def __init__(self, method, path, lpath, pairs, headers, body):
        self.method, self.path, self.lpath, self.pairs, self.headers, self.body = (
            method, path, lpath, pairs, headers, body)
        self.segs = [s for s in lpath.split("/") if s]

    def q(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.pairs if k.lower() == name), None)

    @property
    def base_url(self) -> str:
        return f"http://{self.headers.get('Host') or 'localhost'}"
