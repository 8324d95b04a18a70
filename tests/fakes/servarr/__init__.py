"""Fake Radarr 6 and Sonarr 4 (API v3) servers for tests: real HTTP on loopback.

They follow the contracts in ../shared/reference/servarr/README.md (facts taken from the Radarr
and Sonarr source) and the shipped openapi.json files:

- Auth: the key from query ``apikey``, else header ``X-Api-Key``, else ``Authorization: Bearer``.
  Missing/wrong -> 401 with an empty body. ``GET /ping`` is anonymous.
- JSON like System.Text.Json: camelCase, enums as camelCase strings, null properties omitted,
  ``id`` omitted when 0 (lookup results of titles not in the library), property names
  case-insensitive on input, wrong JSON types -> 400 ValidationProblemDetails (an object).
- FluentValidation failures -> 400 with a JSON *array* (``MovieExistsValidator`` /
  ``SeriesExistsValidator`` for "already added", hand-built "not found" failures without
  ``errorCode``), POST -> 201 + Location, PUT -> 202, DELETE -> 200 with an empty body,
  get-by-id of an unknown id -> 404 ProblemDetails, other errors -> ``{message, description}``.

Test control (all thread-safe): ``delay``, ``fail_mode``, ``fail_next()``, ``hang_seconds``,
``unknown_ids``, ``list_fail_after``, ``creations``, ``requests_log``, ``add_existing()``,
``add_many()``, ``remove()``, ``set_file()`` / ``set_episode_files()``, ``reset()``,
``stop()`` / ``start()`` (same port again). Off by default, switched on by a test: ``url_base``,
``version`` (Sonarr "3.x": v3 language profiles), ``race_on_add`` (409 on add), the download
queue (``queue_add()``, ``queue_progress()``, ``queue_remove()``) and MediaCover files
(``set_poster()``); see ``FakeServarr``.

Metadata ("TMDb"/"TVDB") comes from a deterministic catalog: a few real titles by default
(``set_catalog()`` adds more), otherwise made up from the id (``Movie {tmdbId}`` /
``Series {tvdbId}``). As a convenience for tests, a title sent in the POST body is used for ids
that have no catalog entry (real Radarr/Sonarr always re-fetch the title).

Standalone demo::

    python -m tests.fakes.servarr --radarr-port 7878 --sonarr-port 8989

Layout (one module per decision; each names the reference fact it follows):

- ``transport``, ``lifecycle``: HTTP like Kestrel, start/stop on a stable port.
- ``pipeline``, ``failures``, ``urlbase``: the request pipeline (URL base, log, delay, failure
  modes, API key).
- ``routing``, ``request``, ``responses``: ``/api/v3`` routing and answers as values.
- ``errors``, ``validation``, ``binding``: ProblemDetails, FluentValidation arrays, STJson input.
- ``library``, ``add_rules``, ``race``, ``profiles``, ``tags``, ``commands``: what both apps share.
- ``queue``, ``queue_routes``: the download queue; ``covers``, ``cover_routes``, ``images``: MediaCover.
- ``radarr/``, ``sonarr/``: each app's defaults, resources, seeding, lookups, routes, writes and
  queue records; ``sonarr/v3``: Sonarr v3's language profiles.
- ``util``, ``wordlists``: pure helpers and made-up metadata; ``cli``: the standalone demo.
"""
from __future__ import annotations

from .base import FakeServarr
from .cli import main  # noqa: F401  (the standalone demo, also as tests.fakes.servarr.main)
from .radarr import FakeRadarr
from .sonarr import FakeSonarr
from .transport import _Handler  # noqa: F401  (bench/fakehost.py patches _Handler.setup)

__all__ = ["FakeRadarr", "FakeSonarr", "FakeServarr"]
