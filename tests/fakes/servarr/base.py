"""``FakeServarr``: what the fake Radarr and Sonarr share, put together from the mixins beside it.

Each mixin decides one thing (transport, lifecycle, failure modes, pipeline, URL base, routing,
error bodies, binding, library, validators, the add race, tags, commands, profiles, queue,
covers); this module holds the state they work on and ``reset()``, which puts all of it back.
"""
from __future__ import annotations

import collections
import socket
import threading
import time

from .add_rules import AddRulesMixin
from .binding import BindingMixin
from .commands import CommandsMixin
from .cover_routes import CoverRoutesMixin
from .covers import CoversMixin
from .errors import ErrorBodiesMixin
from .failures import FailureMixin
from .library import LibraryMixin
from .lifecycle import LifecycleMixin
from .pipeline import PipelineMixin
from .profiles import ProfilesMixin
from .queue import QueueMixin
from .queue_routes import QueueRoutesMixin
from .race import RaceMixin
from .routing import RoutingMixin
from .tags import TagsMixin
from .transport import TransportMixin, _Server
from .urlbase import UrlBaseMixin


class FakeServarr(LifecycleMixin, PipelineMixin, TransportMixin, FailureMixin, UrlBaseMixin, RoutingMixin,
                  ErrorBodiesMixin, BindingMixin, LibraryMixin, AddRulesMixin, RaceMixin, ProfilesMixin, TagsMixin,
                  CommandsMixin, QueueMixin, QueueRoutesMixin, CoversMixin, CoverRoutesMixin):
    """What Radarr and Sonarr share. Use FakeRadarr / FakeSonarr.

    Lifecycle: ``start(host="127.0.0.1", port=0) -> self`` (background thread; after ``stop()`` it
    comes back on the same port, so ``url`` is stable), ``stop()`` (listening socket closed, open
    keep-alive connections dropped, waiting requests end unanswered), ``running``, ``url``,
    ``port``; also usable as a context manager.

    Control (thread-safe; ``reset()`` puts everything back and restarts a stopped fake):
      ``delay`` (s before answering each /api request), ``fail_mode`` (see its docstring),
      ``fail_next(n, mode)``, ``hang_seconds`` (for "timeout", default 30), ``unknown_ids``,
      ``list_fail_after`` (None; 0 -> the full-list GET answers 500 ``{message, description}``;
      n > 0 -> 200 chunked, the first n items, then the connection drops mid-body).
    Seeding: ``add_existing()``, ``add_many()``, ``remove()``, ``set_catalog()`` (upstream metadata),
      ``set_file()`` (Radarr) / ``set_episode_files()`` (Sonarr), ``quality_profiles``,
      ``root_folders`` (paths), ``tags``.
    Observation: ``creations`` (Counter id -> 201s), ``requests_log`` (every /api request:
      method, path, query, json, time, status — status None when dropped unanswered; ``path_base``
      too while a URL base is set), ``log(method, path)``, ``find(id)``, ``library`` (arr id ->
      resource; the live entries, treat as read-only), ``commands``, ``exclusions``,
      ``connections_opened``, ``cover_requests`` (static MediaCover requests), ``queue_items``.
    Behaviours off by default (``reset()`` turns them off again):
      ``url_base`` ("/radarr": served under it, the rest 302s there; urlbase.py), ``version``
      (system/status; Sonarr "3.x" = v3 ``languageProfileId`` rules, sonarr/v3.py),
      ``instance_name`` (constructor argument, not reset), ``race_on_add`` (True/n: the add
      loses a race, 409; race.py), the queue (``queue_add()``, ``queue_progress()``,
      ``queue_remove()``; queue.py), covers (``set_poster()``, ``set_cover()``,
      ``cover_bytes()``; covers.py).
    """

    APP_NAME = ""
    VERSION = ""
    KEY = ""  # "tmdbId" | "tvdbId"
    RESOURCE = ""  # "movie" | "series"
    MODEL = ""  # "Movie" | "Series" (exception messages)
    RESOURCE_TYPE = ""  # .NET type of the body parameter
    DEFAULT_ROOT = ""
    PROBLEM_TYPES: dict[int, str] = {}
    INPUT_SPEC: dict = {}
    COMMANDS: tuple[str, ...] = ()
    EXISTS_CODE = ""
    EXISTS_MESSAGE = ""
    NOT_FOUND_MESSAGE = ""

    def __init__(self, api_key: str, instance_name: str):
        self.api_key = api_key
        self.instance_name = instance_name
        self.verbose = False
        self._lock = threading.RLock()
        self._srv: _Server | None = None
        self._thread: threading.Thread | None = None
        self._host: str | None = None
        self._port: int | None = None
        self._conns: set[socket.socket] = set()
        self.connections_opened = 0  # TCP connections accepted (keep-alive checks)
        self._epoch = 0
        self._wake = threading.Event()
        self._started_at = time.time()
        # public state (reset() clears these in place, so references held by tests stay valid)
        self.unknown_ids: set[int] = set()
        self.creations: collections.Counter = collections.Counter()
        self.requests_log: list[dict] = []
        self.library: dict[int, dict] = {}
        self.catalog: dict[int, dict] = {}
        self.tags: list[dict] = []
        self.commands: list[dict] = []
        self.exclusions: set[int] = set()
        self.quality_profiles: list[dict] = []
        self.root_folders: list[str] = []
        self.internal_errors: list[str] = []  # tracebacks of bugs in the fake itself (answered 500)
        self.reset()

    def reset(self) -> None:
        """Empty library, counters zero, failure modes off, catalog/profiles/folders defaults.
        Requests still waiting (delay/timeout) from before are dropped without an answer."""
        with self._lock:
            self.delay = 0.0
            self.fail_mode = None
            self.hang_seconds = 30.0
            self.list_fail_after: int | None = None
            self._fail_queue: collections.deque = collections.deque()
            self.unknown_ids.clear()
            self.creations.clear()
            self.requests_log.clear()
            self.library.clear()
            self.catalog.clear()
            self.catalog.update({k: dict(v) for k, v in self._default_catalog().items()})
            self.tags.clear()
            self.commands.clear()
            self.exclusions.clear()
            self.internal_errors.clear()
            self.quality_profiles[:] = self._default_quality_profiles()
            self.root_folders[:] = [self.DEFAULT_ROOT]
            self._next_id = 1
            self._next_file_id = 1
            self._by_key: dict[int, int] = {}
            self._slugs: set = set()
            self.version = self.VERSION  # system/status; Sonarr "3.x" switches on v3 behaviour (sonarr/v3.py)
            self.url_base = ""  # urlbase.py
            self.race_on_add: bool | int = False  # race.py
            self._reset_queue()
            self._reset_covers()
            self._reset_app()
            restart = self._port is not None and self._srv is None
        self._new_epoch()
        if restart:  # a fake left down by a test comes back up (same port)
            self.start()

    def _reset_app(self) -> None:
        """What only one app or version keeps (Sonarr: language profiles, episode ids)."""
