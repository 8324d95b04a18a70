"""Sonarr's out-of-the-box state: a few real TVDB series, the "Any" and "HD-1080p" quality
profiles, and ``system/status`` of Sonarr 4.0.19 in docker (reference README §0, §2, §4).
"""
from __future__ import annotations

from ..util import _iso


class SonarrDefaults:
    """Default catalog, quality profiles and system/status."""

    def _default_catalog(self) -> dict[int, dict]:
        return {
            81189: {"title": "Breaking Bad", "year": 2008, "imdbId": "tt0903747", "tmdbId": 1396, "network": "AMC",
                    "status": "ended", "seasons": [(0, 9), (1, 7), (2, 13), (3, 13), (4, 13), (5, 16)],
                    "genres": ["Crime", "Drama", "Thriller"], "certification": "TV-MA", "runtime": 47},
            121361: {"title": "Game of Thrones", "year": 2011, "imdbId": "tt0944947", "tmdbId": 1399, "network": "HBO",
                     "status": "ended", "seasons": [(0, 17), (1, 10), (2, 10), (3, 10), (4, 10), (5, 10), (6, 10),
                                                    (7, 7), (8, 6)],
                     "genres": ["Adventure", "Drama", "Fantasy"], "certification": "TV-MA", "runtime": 60},
            305288: {"title": "Stranger Things", "year": 2016, "imdbId": "tt4574334", "tmdbId": 66732,
                     "network": "Netflix", "status": "continuing",
                     "seasons": [(0, 3), (1, 8), (2, 9), (3, 8), (4, 9), (5, 8)],
                     "genres": ["Drama", "Fantasy", "Horror"], "certification": "TV-14", "runtime": 60},
            73244: {"title": "The Office (US)", "year": 2005, "imdbId": "tt0386676", "tmdbId": 2316, "network": "NBC",
                    "status": "ended", "seasons": [(0, 30), (1, 6), (2, 22), (3, 23), (4, 14), (5, 26), (6, 26),
                                                   (7, 24), (8, 24), (9, 23)],
                    "genres": ["Comedy"], "certification": "TV-14", "runtime": 22},
        }

    def _default_quality_profiles(self) -> list[dict]:
        def q(qid, name, source, res):
            return {"quality": {"id": qid, "name": name, "source": source, "resolution": res}, "items": [],
                    "allowed": True}

        def group(gid, name, items):
            return {"name": name, "items": items, "allowed": True, "id": gid}

        def profile(pid, name, cutoff, items):
            return {"name": name, "upgradeAllowed": False, "cutoff": cutoff, "items": items, "minFormatScore": 0,
                    "cutoffFormatScore": 0, "minUpgradeFormatScore": 1, "formatItems": [], "id": pid}

        web1080 = group(1002, "WEB 1080p", [q(15, "WEBRip-1080p", "webRip", 1080), q(3, "WEBDL-1080p", "web", 1080)])
        web720 = group(1001, "WEB 720p", [q(14, "WEBRip-720p", "webRip", 720), q(5, "WEBDL-720p", "web", 720)])
        any_items = [q(1, "SDTV", "television", 480), q(2, "DVD", "dvd", 480), q(4, "HDTV-720p", "television", 720),
                     web720, q(6, "Bluray-720p", "bluray", 720), q(9, "HDTV-1080p", "television", 1080), web1080,
                     q(7, "Bluray-1080p", "bluray", 1080)]
        hd_items = [q(9, "HDTV-1080p", "television", 1080), web1080, q(7, "Bluray-1080p", "bluray", 1080),
                    q(20, "Bluray-1080p Remux", "blurayRaw", 1080)]
        return [profile(1, "Any", 4, any_items), profile(4, "HD-1080p", 9, hd_items)]

    def _system_status(self) -> dict:
        return {"appName": "Sonarr", "instanceName": self.instance_name, "version": self.version,
                "buildTime": self.BUILD_TIME, "isDebug": False, "isProduction": True, "isAdmin": False,
                "isUserInteractive": False, "startupPath": "/app/sonarr/bin", "appData": "/config",
                "osName": "alpine", "osVersion": "3.22.2", "isNetCore": True, "isLinux": True, "isOsx": False,
                "isWindows": False, "isDocker": True, "mode": "console", "branch": "main",
                "authentication": "forms", "migrationVersion": 218, "urlBase": self.url_base,
                "runtimeVersion": "6.0.36", "runtimeName": ".NET", "startTime": _iso(self._started_at),
                "packageVersion": self.version,
                "packageAuthor": "[linuxserver.io](https://linuxserver.io)", "packageUpdateMechanism": "docker",
                "databaseVersion": "3.49.2", "databaseType": "sqLite"}
