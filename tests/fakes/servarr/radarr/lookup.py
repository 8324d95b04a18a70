"""``/movie/lookup?term=``: ``tmdb:``/``tmdbid:``/``imdb:``/URLs or free text; titles already in
the library come back as the library movie (reference README §3 ``SearchForNewMovie``).
"""
from __future__ import annotations

import re


class RadarrLookup:
    """``/movie/lookup`` term parsing and results."""

    def _lookup_one(self, tmdb_id: int) -> list[dict]:
        if self._unknown(tmdb_id):
            return []
        res = self.find(tmdb_id)
        if res is not None:
            return [self._lookup_view(res)]
        return [self._movie_resource(self._meta(tmdb_id), tmdb_id, view="lookup")]

    def _lookup_term(self, term: str) -> list[dict]:
        t = term.strip()
        low = t.lower()
        m = re.match(r"^(?:tmdb|tmdbid):\s*(.*)$", low) or re.search(r"themoviedb\.org/movie/(\d+)", low)
        if m:
            slug = m.group(1).strip()
            if not re.fullmatch(r"-?\d+", slug or "x"):
                return []
            return self._lookup_one(int(slug))
        m = re.match(r"^(?:imdb|imdbid):\s*(tt\d+)$", low) or re.search(r"imdb\.com/title/(tt\d+)", low)
        if m:
            imdb = m.group(1)
            for res in self.library.values():
                if (res.get("imdbId") or "").lower() == imdb:
                    return [self._lookup_view(res)]
            for tid, entry in self.catalog.items():
                if (entry.get("imdbId") or "").lower() == imdb:
                    return self._lookup_one(tid)
            return self._lookup_one(int(imdb[2:])) if int(imdb[2:]) else []
        if not t:
            return []
        return self._search_titles(low)
