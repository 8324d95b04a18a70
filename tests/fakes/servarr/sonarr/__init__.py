"""``FakeSonarr``: a fake Sonarr 4 (API v3), put together from the modules beside it.

Constants below are Sonarr's: ProblemDetails ``type`` URLs of .NET 6 (reference README §2
"Runtime"), the commands it knows, the "already added"/"not found" messages (§5), the
``addOptions.monitor`` values and the POST/PUT body it binds (§4 ``SeriesResource``).
"""
from __future__ import annotations

from ..base import FakeServarr
from ..binding import BOOL, INT, INTSET, STR, _Enum, _Obj
from .defaults import SonarrDefaults
from .metadata import SonarrMetadata
from .queue import SonarrQueue
from .resources import SonarrResources
from .routes import SonarrRoutes
from .seeding import SonarrSeeding
from .statistics import SonarrStatistics
from .v3 import SonarrV3Mixin
from .writes import SonarrWrites


class FakeSonarr(SonarrRoutes, SonarrWrites, SonarrSeeding, SonarrStatistics, SonarrResources, SonarrMetadata,
                 SonarrDefaults, SonarrV3Mixin, SonarrQueue, FakeServarr):
    """A fake Sonarr 4 (or v3, see ``v3``) on loopback. Controls: ``FakeServarr``."""

    APP_NAME = "Sonarr"
    BUILD_TIME = "2026-06-26T04:12:51Z"
    VERSION = "4.0.19.2841"
    KEY = "tvdbId"
    RESOURCE = "series"
    MODEL = "Series"
    RESOURCE_TYPE = "Sonarr.Api.V3.Series.SeriesResource"
    DEFAULT_ROOT = "/tv"
    PROBLEM_TYPES = {400: "https://tools.ietf.org/html/rfc7231#section-6.5.1",
                     404: "https://tools.ietf.org/html/rfc7231#section-6.5.4",
                     405: "https://tools.ietf.org/html/rfc7231#section-6.5.5",
                     415: "https://tools.ietf.org/html/rfc7231#section-6.5.13"}
    COMMANDS = ("SeriesSearch", "SeasonSearch", "EpisodeSearch", "MissingEpisodeSearch", "CutoffUnmetEpisodeSearch",
                "RefreshSeries", "RescanSeries", "RssSync", "RenameSeries", "DownloadedEpisodesScan")
    EXISTS_CODE = "SeriesExistsValidator"
    EXISTS_MESSAGE = "This series has already been added"
    NOT_FOUND_MESSAGE = "A series with this ID was not found."
    RACE_INDEX = "Series.TvdbId"  # race.py
    RACE_DESCRIPTION = True
    MONITOR_TYPES = ["unknown", "all", "future", "missing", "existing", "firstSeason", "lastSeason", "latestSeason",
                     "pilot", "recent", "monitorSpecials", "unmonitorSpecials", "none", "skip"]
    INPUT_SPEC = {
        "id": INT, "title": STR, "tvdbId": INT, "imdbId": STR, "year": INT, "qualityProfileId": INT,
        "rootFolderPath": STR, "path": STR, "folder": STR, "monitored": BOOL, "seasonFolder": BOOL,
        "useSceneNumbering": BOOL, "titleSlug": STR, "tags": INTSET,
        "seriesType": _Enum("NzbDrone.Core.Tv.SeriesTypes", ["standard", "daily", "anime"]),
        "monitorNewItems": _Enum("NzbDrone.Core.Tv.NewItemMonitorTypes", ["all", "none"]),
        "seasons": _Obj("Sonarr.Api.V3.Series.SeasonResource", {"seasonNumber": INT, "monitored": BOOL}, many=True),
        "addOptions": _Obj("NzbDrone.Core.Tv.AddSeriesOptions", {
            "ignoreEpisodesWithFiles": BOOL, "ignoreEpisodesWithoutFiles": BOOL,
            "monitor": _Enum("NzbDrone.Core.Tv.MonitorTypes", MONITOR_TYPES),
            "searchForMissingEpisodes": BOOL, "searchForCutoffUnmetEpisodes": BOOL}),
    }
    EPISODE_SIZE = 1_468_006_400
    META_KEYS = ("title", "year", "status", "imdbId", "tmdbId", "tvMazeId", "overview", "runtime", "network",
                 "airTime", "certification", "genres", "ratings", "firstAired", "seriesType")

    def __init__(self, api_key: str = "test-sonarr-key", instance_name: str = "Sonarr"):
        super().__init__(api_key, instance_name)

    def _reset_app(self) -> None:
        self._reset_language_profiles()  # v3.py
        self._reset_episode_ids()  # queue.py
