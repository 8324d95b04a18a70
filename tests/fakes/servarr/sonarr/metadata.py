"""Series metadata as "TVDB" would give it: the catalog entry, else made up from the id
(seasons and episode counts included), and the cover images (reference README §8.2 image urls).
"""
from __future__ import annotations

from ..util import _blank, _hex, _mix
from ..wordlists import _GENRES, _NETWORKS, _overview, _pick


class SonarrMetadata:
    """Series metadata and cover images."""

    def _meta(self, tvdb_id: int, title_hint: str | None = None, extra: dict | None = None) -> dict:
        n = tvdb_id
        over = dict(self.catalog.get(tvdb_id) or {})
        over.update(extra or {})
        title = over.get("title") or (title_hint if not _blank(title_hint) else None) or f"Series {tvdb_id}"
        year = over.get("year") or (1990 + _mix(n, 1) % 36)
        n_seasons = 1 + _mix(n, 2) % 5
        per = 6 + _mix(n, 3) % 8
        m = {
            "title": title, "year": year, "imdbId": f"tt{tvdb_id:07d}", "tmdbId": 100000 + n % 900000,
            "tvMazeId": 10000 + n % 90000, "tvRageId": 0, "network": _NETWORKS[_mix(n, 4) % len(_NETWORKS)],
            "airTime": f"{18 + _mix(n, 5) % 5}:00", "runtime": [22, 30, 45, 60][_mix(n, 6) % 4],
            "status": "continuing" if n % 2 == 0 else "ended", "certification": ["TV-PG", "TV-14", "TV-MA"][n % 3],
            "genres": _pick(n, 7, _GENRES, 2 + _mix(n, 8) % 2), "overview": _overview(n, "series"),
            "seasons": [(0, 2)] + [(s, per) for s in range(1, n_seasons + 1)],
            "ratings": {"votes": 100 + _mix(n, 9) % 50000, "value": round(6 + (_mix(n, 10) % 35) / 10, 1)},
            "seriesType": "standard",
        }
        m.update({k: v for k, v in over.items() if k != "title"})
        m["title"] = title
        m.setdefault("firstAired", f"{m['year']}-0{1 + _mix(n, 11) % 9}-{10 + _mix(n, 12) % 18:02d}T00:00:00Z")
        return m

    def _images(self, n: int, arr_id: int, lookup: bool) -> list[dict]:
        out = []
        for cover, remote in (("banner", f"https://artworks.thetvdb.com/banners/graphical/{n}-g{_mix(n, 30) % 9}.jpg"),
                              ("poster", f"https://artworks.thetvdb.com/banners/posters/{n}-{1 + _mix(n, 31) % 9}.jpg"),
                              ("fanart", f"https://artworks.thetvdb.com/banners/fanart/original/{n}-{1 + _mix(n, 32) % 9}.jpg"),
                              ("clearlogo", f"https://artworks.thetvdb.com/banners/v4/series/{n}/clearlogo/{_hex(f'logo{n}', 13)}.png")):
            ext = remote.rsplit(".", 1)[1]
            if lookup:
                url = f"{self._url_base}/MediaCoverProxy/{_hex(remote, 64)}/{remote.rsplit('/', 1)[1]}"
            else:
                url = self._cover_url(arr_id, cover, ext, n)  # covers.py
            out.append({"coverType": cover, "url": url, "remoteUrl": remote})
        return out

    def _season_airing(self, meta: dict, season: int) -> str:
        y = meta["year"] + max(season - 1, 0)
        return f"{y}-11-{10 + season % 18:02d}T02:00:00Z"
