"""One parsed API request as the routes see it: the path without the URL base (ASP.NET's
``Request.Path``) and the base itself (``PathBase``), which ``Location`` headers carry."""
from __future__ import annotations


class _Req:
    """Method, path (without the base), lowercased path, query pairs, headers, body, path base."""

    __slots__ = ("method", "path", "lpath", "pairs", "headers", "body", "segs", "path_base")

    def __init__(self, method, path, lpath, pairs, headers, body, path_base: str = ""):
        self.method, self.path, self.lpath, self.pairs, self.headers, self.body = (
            method, path, lpath, pairs, headers, body)
        self.path_base = path_base
        self.segs = [s for s in lpath.split("/") if s]

    def q(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.pairs if k.lower() == name), None)

    @property
    def base_url(self) -> str:
        return f"http://{self.headers.get('Host') or 'localhost'}{self.path_base}"
