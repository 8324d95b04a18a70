"""Radarr's out-of-the-box state: a few real TMDb titles, the "Any" and "HD-1080p" quality
profiles, and ``system/status`` of Radarr 6.0.4 in docker (reference README §0, §2, §3).
"""
from __future__ import annotations

from ..util import _iso
from ..wordlists import ENGLISH


class RadarrDefaults:
    """Default catalog, quality profiles and system/status."""

    def _default_catalog(self) -> dict[int, dict]:
        return {
            603: {"title": "The Matrix", "year": 1999, "imdbId": "tt0133093", "runtime": 136,
                  "studio": "Village Roadshow Pictures", "certification": "R", "genres": ["Action", "Science Fiction"],
                  "collection": {"title": "The Matrix Collection", "tmdbId": 2344}},
            550: {"title": "Fight Club", "year": 1999, "imdbId": "tt0137523", "runtime": 139,
                  "studio": "Fox 2000 Pictures", "certification": "R", "genres": ["Drama"]},
            27205: {"title": "Inception", "year": 2010, "imdbId": "tt1375666", "runtime": 148,
                    "studio": "Legendary Pictures", "certification": "PG-13",
                    "genres": ["Action", "Science Fiction", "Adventure"]},
            157336: {"title": "Interstellar", "year": 2014, "imdbId": "tt0816692", "runtime": 169,
                     "studio": "Paramount Pictures", "certification": "PG-13",
                     "genres": ["Adventure", "Drama", "Science Fiction"]},
            680: {"title": "Pulp Fiction", "year": 1994, "imdbId": "tt0110912", "runtime": 154,
                  "studio": "Miramax", "certification": "R", "genres": ["Thriller", "Crime"]},
        }

    def _default_quality_profiles(self) -> list[dict]:
        def q(qid, name, source, res, modifier="none"):
            return {"quality": {"id": qid, "name": name, "source": source, "resolution": res, "modifier": modifier},
                    "items": [], "allowed": True}

        def group(gid, name, items):
            return {"name": name, "items": items, "allowed": True, "id": gid}

        def profile(pid, name, cutoff, items):
            return {"name": name, "upgradeAllowed": False, "cutoff": cutoff, "items": items, "minFormatScore": 0,
                    "cutoffFormatScore": 0, "minUpgradeFormatScore": 1, "formatItems": [], "language": ENGLISH,
                    "id": pid}

        web1080 = group(1003, "WEB 1080p", [q(15, "WEBRip-1080p", "webrip", 1080), q(3, "WEBDL-1080p", "webdl", 1080)])
        web720 = group(1002, "WEB 720p", [q(14, "WEBRip-720p", "webrip", 720), q(5, "WEBDL-720p", "webdl", 720)])
        any_items = [q(1, "SDTV", "tv", 480), q(2, "DVD", "dvd", 480), q(4, "HDTV-720p", "tv", 720), web720,
                     q(6, "Bluray-720p", "bluray", 720), q(9, "HDTV-1080p", "tv", 1080), web1080,
                     q(7, "Bluray-1080p", "bluray", 1080)]
        hd_items = [q(9, "HDTV-1080p", "tv", 1080), web1080, q(7, "Bluray-1080p", "bluray", 1080),
                    q(30, "Remux-1080p", "bluray", 1080, "remux")]
        return [profile(1, "Any", 1, any_items), profile(4, "HD-1080p", 7, hd_items)]

    def _system_status(self) -> dict:
        return {"appName": "Radarr", "instanceName": self.instance_name, "version": self.version,
                "buildTime": self.BUILD_TIME, "isDebug": False, "isProduction": True, "isAdmin": False,
                "isUserInteractive": False, "startupPath": "/app/radarr/bin", "appData": "/config",
                "osName": "alpine", "osVersion": "3.22.2", "isNetCore": True, "isLinux": True, "isOsx": False,
                "isWindows": False, "isDocker": True, "mode": "console", "branch": "master",
                "databaseType": "sqLite", "databaseVersion": "3.49.2", "authentication": "forms",
                "migrationVersion": 242, "urlBase": self.url_base, "runtimeVersion": "8.0.12",
                "runtimeName": ".NET", "startTime": _iso(self._started_at), "packageVersion": self.version,
                "packageAuthor": "[linuxserver.io](https://linuxserver.io)", "packageUpdateMechanism": "docker"}
