"""``MovieResource`` in Radarr's property order, in its three views (reference README §3, §6):
library (``GET /movie``, POST/PUT answers: ``hasFile``, ``statistics``), lookup
(``/movie/lookup``: no ``hasFile``/``statistics``; library titles keep ``id``/``path``) and
tmdb (``/movie/lookup/tmdb``: metadata only, never merged with the library).
"""
from __future__ import annotations

from typing import Any

from ..util import _blank, _clean_title, _folder_name, _hex, _iso, _mix, _sort_title
from ..wordlists import _GENRES, _KEYWORDS, _STUDIOS, ENGLISH, _overview, _pick


class RadarrResources:
    """Metadata and MovieResource builders."""

    def _meta(self, tmdb_id: int, title_hint: str | None = None, extra: dict | None = None) -> dict:
        n = tmdb_id
        over = dict(self.catalog.get(tmdb_id) or {})
        over.update(extra or {})
        title = over.get("title") or (title_hint if not _blank(title_hint) else None) or f"Movie {tmdb_id}"
        year = over.get("year") or (1970 + _mix(n, 1) % 56)
        genres = _pick(n, 3, _GENRES, 2 + _mix(n, 4) % 2)
        m = {
            "title": title, "originalTitle": title, "year": year, "imdbId": f"tt{tmdb_id:07d}",
            "runtime": 84 + _mix(n, 2) % 70, "studio": _STUDIOS[_mix(n, 5) % len(_STUDIOS)],
            "certification": ["G", "PG", "PG-13", "R", "NR"][_mix(n, 6) % 5], "genres": genres,
            "keywords": _pick(n, 8, _KEYWORDS, 3), "overview": _overview(n, "film"), "status": "released",
            "popularity": round(5 + (_mix(n, 9) % 90000) / 1000, 3),
            "website": f"https://www.{_STUDIOS[_mix(n, 5) % len(_STUDIOS)].split()[0].lower()}.example/movies/{n}",
            "youTubeTrailerId": _hex(f"yt{n}", 11), "collection": None,
        }
        m.update({k: v for k, v in over.items() if k != "title"})
        m["title"] = title
        y = m["year"]
        m.setdefault("inCinemas", f"{y}-03-{10 + _mix(n, 10) % 18:02d}T00:00:00Z")
        m.setdefault("digitalRelease", f"{y}-06-{10 + _mix(n, 11) % 18:02d}T00:00:00Z")
        m.setdefault("physicalRelease", f"{y}-07-{10 + _mix(n, 12) % 18:02d}T00:00:00Z")
        if "ratings" not in m:
            base = 50 + _mix(n, 13) % 40
            m["ratings"] = {
                "imdb": {"votes": 1000 + _mix(n, 14) % 900000, "value": base / 10, "type": "user"},
                "tmdb": {"votes": 100 + _mix(n, 15) % 30000, "value": round(base / 10 + 0.3, 1), "type": "user"},
                "metacritic": {"votes": 0, "value": base + 3, "type": "user"},
                "rottenTomatoes": {"votes": 0, "value": min(100, base + 10), "type": "user"},
                "trakt": {"votes": 50 + _mix(n, 16) % 20000, "value": round(base / 10 + 0.1, 1), "type": "user"}}
        return m

    @staticmethod
    def _available(status: str, minimum: str) -> bool:
        order = {"tba": 0, "announced": 1, "inCinemas": 2, "released": 3, "deleted": 3}
        return order.get(status, 0) >= order.get(minimum, 3) or minimum in ("tba", "announced")

    def _images(self, n: int, arr_id: int, view: str) -> list[dict]:
        out = []
        for cover, ext in (("poster", "jpg"), ("fanart", "jpg"), ("clearlogo", "png")):
            remote = f"https://image.tmdb.org/t/p/original/{_hex(f'{cover}{n}')}.{ext}"
            if view == "tmdb":  # straight from SkyHook: no local url
                out.append({"coverType": cover, "remoteUrl": remote})
                continue
            if view == "lookup" and not arr_id:
                url = f"{self._url_base}/MediaCoverProxy/{_hex(remote, 64)}/{remote.rsplit('/', 1)[1]}"
            else:
                url = self._cover_url(arr_id, cover, ext, n)  # covers.py
            out.append({"coverType": cover, "url": url, "remoteUrl": remote})
        return out

    def _movie_resource(self, meta: dict, tmdb_id: int, *, view: str = "library", arr_id: int = 0,
                        path: str | None = None, root: str | None = None, quality_profile_id: int = 0,
                        monitored: bool = False, minimum: str = "tba", tags: list | None = None,
                        added: str = "0001-01-01T00:00:00Z") -> dict:
        """MovieResource in Radarr's property order. view: "library" (GET /movie, POST/PUT answers),
        "lookup" (/movie/lookup: no hasFile/statistics/sizeOnDisk, with remotePoster/folder) or "tmdb"
        (/movie/lookup/tmdb: metadata only)."""
        n, title, year = tmdb_id, meta["title"], meta["year"]
        lib = view == "library"
        r: dict[str, Any] = {
            "title": title, "originalTitle": meta.get("originalTitle") or title, "originalLanguage": ENGLISH,
            "alternateTitles": [
                {"sourceType": "tmdb", "movieMetadataId": arr_id, "title": f"{title}: The Original Cut",
                 "cleanTitle": _clean_title(f"{title} The Original Cut"), **({"id": arr_id * 2} if arr_id else {})},
                {"sourceType": "tmdb", "movieMetadataId": arr_id, "title": f"El {title}",
                 "cleanTitle": _clean_title(f"El {title}"), **({"id": arr_id * 2 + 1} if arr_id else {})},
            ],
            "secondaryYearSourceId": 0, "sortTitle": _sort_title(title),
        }
        if lib:
            r["sizeOnDisk"] = 0
        r.update({"status": meta["status"], "overview": meta["overview"], "inCinemas": meta["inCinemas"],
                  "physicalRelease": meta["physicalRelease"], "digitalRelease": meta["digitalRelease"],
                  "releaseDate": meta["physicalRelease"], "images": self._images(n, arr_id, view),
                  "website": meta["website"]})
        if view == "lookup":
            r["remotePoster"] = r["images"][0]["remoteUrl"]
        r.update({"year": year, "youTubeTrailerId": meta["youTubeTrailerId"], "studio": meta["studio"]})
        if path:
            r["path"] = path
        r["qualityProfileId"] = quality_profile_id
        if lib:
            r["hasFile"] = False
        r.update({"movieFileId": 0, "monitored": monitored, "minimumAvailability": minimum,
                  "isAvailable": self._available(meta["status"], minimum)})
        if path:
            r["folderName"] = path
        r.update({"runtime": meta["runtime"], "cleanTitle": _clean_title(title), "imdbId": meta["imdbId"],
                  "tmdbId": tmdb_id, "titleSlug": str(tmdb_id)})
        if root and lib:
            r["rootFolderPath"] = root
        if view == "lookup":
            r["folder"] = (path.rstrip("/").rsplit("/", 1)[-1] if path else f"{_folder_name(title)} ({year})")
        r.update({"certification": meta["certification"], "genres": list(meta["genres"]),
                  "keywords": list(meta["keywords"]), "tags": list(tags or []), "added": added,
                  "ratings": meta["ratings"]})
        if meta.get("collection"):
            r["collection"] = dict(meta["collection"])
        r["popularity"] = meta["popularity"]
        if lib:
            r["statistics"] = {"movieFileCount": 0, "sizeOnDisk": 0, "releaseGroups": []}
        if arr_id:
            r["id"] = arr_id
        return r

    def _new_library_movie(self, meta: dict, tmdb_id: int, *, root: str | None, path: str | None,
                           quality_profile_id: int, monitored: bool, minimum: str, tags: list) -> dict:
        if _blank(path):
            path = f"{(root or self.DEFAULT_ROOT).rstrip('/')}/{_folder_name(meta['title'])} ({meta['year']})"
        root = self._best_root_folder(path)
        return self._movie_resource(meta, tmdb_id, arr_id=self._alloc_id(), path=path, root=root,
                                    quality_profile_id=quality_profile_id, monitored=monitored, minimum=minimum,
                                    tags=tags, added=_iso())

    def _lookup_view(self, res: dict) -> dict:
        """A library movie as /movie/lookup returns it (with id, path, monitored; no hasFile, statistics,
        sizeOnDisk, rootFolderPath, movieFile; plus remotePoster and folder)."""
        out: dict[str, Any] = {}
        for k, v in res.items():
            if k in ("hasFile", "statistics", "sizeOnDisk", "rootFolderPath", "movieFile"):
                continue
            out[k] = v
            if k == "website":
                out["remotePoster"] = next((i["remoteUrl"] for i in res["images"] if i["coverType"] == "poster"),
                                           None)
            elif k == "titleSlug":
                out["folder"] = (res.get("path") or "").rstrip("/").rsplit("/", 1)[-1]
        return {k: v for k, v in out.items() if v is not None}
