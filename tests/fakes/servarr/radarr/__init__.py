"""``FakeRadarr``: a fake Radarr 6 (API v3), put together from the modules beside it.

Constants below are Radarr's: ProblemDetails ``type`` URLs of .NET 8 (reference README §2
"Runtime"), the commands it knows, the "already added"/"not found" messages (§5) and the
POST/PUT body it binds (§3 ``MovieResource``).
"""
from __future__ import annotations

from ..base import FakeServarr
from ..binding import BOOL, BOOL_N, INT, INT_N, INTSET, STR, _Enum, _Obj
from .defaults import RadarrDefaults
from .lookup import RadarrLookup
from .queue import RadarrQueue
from .resources import RadarrResources
from .routes import RadarrRoutes
from .seeding import RadarrSeeding
from .writes import RadarrWrites


class FakeRadarr(RadarrRoutes, RadarrWrites, RadarrLookup, RadarrSeeding, RadarrResources, RadarrDefaults,
                 RadarrQueue, FakeServarr):
    """A fake Radarr 6 on loopback. See the package docstring and ``FakeServarr`` for the controls."""

    APP_NAME = "Radarr"
    BUILD_TIME = "2025-11-03T05:10:29Z"
    VERSION = "6.0.4.10291"
    KEY = "tmdbId"
    RESOURCE = "movie"
    MODEL = "Movie"
    RESOURCE_TYPE = "Radarr.Api.V3.Movies.MovieResource"
    DEFAULT_ROOT = "/movies"
    PROBLEM_TYPES = {400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                     404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
                     405: "https://tools.ietf.org/html/rfc9110#section-15.5.6",
                     415: "https://tools.ietf.org/html/rfc9110#section-15.5.16"}
    COMMANDS = ("MoviesSearch", "MissingMoviesSearch", "CutoffUnmetMoviesSearch", "RefreshMovie", "RescanMovie",
                "RssSync", "RenameMovie", "DownloadedMoviesScan", "ApplicationCheckUpdate")
    EXISTS_CODE = "MovieExistsValidator"
    EXISTS_MESSAGE = "This movie has already been added"
    NOT_FOUND_MESSAGE = "A movie with this ID was not found."
    RACE_INDEX = "MovieMetadata.TmdbId"  # race.py: Radarr 6 keeps tmdbId unique in MovieMetadata
    STATUSES = ["tba", "announced", "inCinemas", "released", "deleted"]
    META_KEYS = ("title", "originalTitle", "year", "status", "imdbId", "overview", "runtime", "studio",
                 "certification", "genres", "keywords", "collection", "ratings", "inCinemas", "digitalRelease",
                 "physicalRelease", "popularity", "website", "youTubeTrailerId")
    INPUT_SPEC = {
        "id": INT, "title": STR, "originalTitle": STR, "tmdbId": INT, "imdbId": STR, "year": INT,
        "qualityProfileId": INT, "rootFolderPath": STR, "path": STR, "folder": STR, "monitored": BOOL,
        "minimumAvailability": _Enum("NzbDrone.Core.Movies.MovieStatusType", STATUSES), "tags": INTSET,
        "titleSlug": STR, "hasFile": BOOL_N, "movieFileId": INT, "runtime": INT, "secondaryYear": INT_N,
        "addOptions": _Obj("NzbDrone.Core.Movies.AddMovieOptions", {
            "ignoreEpisodesWithFiles": BOOL, "ignoreEpisodesWithoutFiles": BOOL,
            "monitor": _Enum("NzbDrone.Core.Movies.MonitorTypes", ["movieOnly", "movieAndCollection", "none"]),
            "searchForMovie": BOOL,
            "addMethod": _Enum("NzbDrone.Core.Movies.AddMovieMethod", ["manual", "list", "collection"])}),
    }

    def __init__(self, api_key: str = "test-radarr-key", instance_name: str = "Radarr"):
        super().__init__(api_key, instance_name)

