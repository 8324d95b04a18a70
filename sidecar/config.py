"""Settings, built once from the environment (and a `.env` file if present).

Every knob has a default that works on the local dev server. Secrets (API keys,
passwords) are kept out of `repr()` so that logging a Settings never leaks them.
"""
from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class ArrInstance:
    """One Radarr or Sonarr instance the sidecar talks to."""

    kind: str  # "radarr" | "sonarr"
    name: str  # "default", "4k", ...
    url: str
    api_key: str = field(repr=False)
    quality_profile_id: int = 1
    root_folder: str = ""
    minimum_availability: str = "released"  # Radarr only
    language_profile_id: int = 1  # Sonarr v3 only; v4 ignores it
    season_folder: bool = True  # Sonarr only
    # the instanceName Radarr/Sonarr put in their webhooks (Settings > General), to tell instances apart
    instance_name: str | None = None

    @property
    def env_prefix(self) -> str:
        """The environment variables' prefix for this instance: RADARR, RADARR_4K, SONARR..."""
        return env_prefix(self.kind, self.name)

    @property
    def app(self) -> str:
        """The application's own name, as its /api/v3/system/status says it: Radarr or Sonarr."""
        return "Radarr" if self.kind == "radarr" else "Sonarr"


def env_prefix(kind: str, name: str) -> str:
    """RADARR for the default Radarr, RADARR_4K for the instance "4k" (RADARR_4K_URL...)."""
    prefix = kind.upper()
    return prefix if name == "default" else f"{prefix}_{name.upper().replace('-', '_')}"


@dataclass(frozen=True)
class Settings:
    couchdb_url: str = "http://127.0.0.1:5984"
    couchdb_user: str | None = None
    couchdb_password: str | None = field(default=None, repr=False)
    movies_buffer_db: str = "movies_buffer"
    movies_db: str = "movies"
    series_buffer_db: str = "series_buffer"
    series_db: str = "series"
    # the sidecar's own bookkeeping (feed checkpoints, the reconcile lock, worker status): a
    # database only the sidecar's role may read and write, unlike `_local` docs in the others
    sidecar_db: str = "sidecar"
    # CouchDB role the sidecar's own user holds; validate_doc_update lets only it (or _admin)
    # write sidecar-owned fields and the collection.
    sidecar_role: str = "sidecar"
    radarr: tuple[ArrInstance, ...] = ()
    sonarr: tuple[ArrInstance, ...] = ()
    webhook_user: str = "webhook"
    webhook_password: str | None = field(default=None, repr=False)
    reconcile_token: str | None = field(default=None, repr=False)
    worker_id: str = field(default_factory=socket.gethostname)
    arr_timeout: float = 10.0  # seconds per Radarr/Sonarr request
    arr_concurrency: int = 8  # parallel Radarr/Sonarr calls per buffer db
    claim_timeout: float = 300.0  # a `processing` claim older than this is taken over
    retry_base: float = 10.0  # first retry delay; doubles each attempt
    retry_max: float = 3600.0  # cap of the retry delay
    scan_interval: float = 5.0  # how often (when idle) due retries / stale claims are looked for
    batch_size: int = 200  # most feed changes taken in one pass of the worker
    max_body_bytes: int = 1_000_000  # webhook bodies larger than this get 413
    cors_origins: tuple[str, ...] = ()
    public_couchdb_url: str | None = None  # CouchDB as a browser reaches it (the page's config.json)
    log_level: str = "INFO"
    # title search through CouchDB: the frontend writes {kind, term}, the sidecar answers there
    lookups_db: str = "lookups"
    lookup_ttl: float = 86400.0  # seconds an answered lookup is kept before it is cleaned up
    # download progress: seconds between two reads of each instance's queue while titles are grabbed
    queue_poll_interval: float = 5.0
    # posters stored on collection docs as attachments (replicated, so they show offline)
    posters: bool = True
    posters_max_bytes: int = 200 * 1024 * 1024  # total budget per collection database
    # the CouchDB role a user needs to ask for a title's removal from Radarr/Sonarr
    remove_role: str = "collection-admin"

    @property
    def couch_auth(self) -> tuple[str, str] | None:
        if self.couchdb_user is not None:
            return (self.couchdb_user, self.couchdb_password or "")
        return None

    def instances(self, kind: str) -> tuple[ArrInstance, ...]:
        return self.radarr if kind == "radarr" else self.sonarr

    def instance(self, kind: str, name: str | None) -> ArrInstance | None:
        """The named instance, or the first configured one when no name is given."""
        pool = self.instances(kind)
        if not pool:
            return None
        if not name:
            return pool[0]
        return next((i for i in pool if i.name == name), None)


def _secret(env: dict, name: str) -> str | None:
    """NAME, or the contents of the file named by NAME_FILE (Docker secrets style)."""
    if env.get(name):
        return env[name]
    path = env.get(f"{name}_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                value = fh.read().strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from None
        if not value:
            raise ConfigError(f"{name}_FILE: {path} is empty")
        return value
    return None


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _float(env: dict, name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def _instances(env: dict, kind: str) -> tuple[ArrInstance, ...]:
    """RADARR_URL/RADARR_API_KEY is the instance "default"; RADARR_INSTANCES=default,4k adds
    RADARR_4K_URL, RADARR_4K_API_KEY, ... for the others."""
    prefix = kind.upper()
    names = [n.strip() for n in env.get(f"{prefix}_INSTANCES", "default").split(",") if n.strip()]
    found = []
    for name in names:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            raise ConfigError(f"{prefix}_INSTANCES: bad instance name {name!r}")
        p = env_prefix(kind, name)
        url = env.get(f"{p}_URL", "").rstrip("/")
        if not url:
            if name == "default":
                continue  # no default instance configured: that kind is simply off
            raise ConfigError(f"{p}_URL is not set but {prefix}_INSTANCES names {name!r}")
        key = _secret(env, f"{p}_API_KEY")
        if not key:
            raise ConfigError(f"{p}_API_KEY (or {p}_API_KEY_FILE) is required with {p}_URL")
        found.append(ArrInstance(
            kind=kind, name=name, url=url, api_key=key,
            quality_profile_id=_int(env, f"{p}_QUALITY_PROFILE_ID", 1),
            root_folder=env.get(f"{p}_ROOT_FOLDER") or ("/movies" if kind == "radarr" else "/tv"),
            minimum_availability=env.get(f"{p}_MINIMUM_AVAILABILITY", "released"),
            language_profile_id=_int(env, f"{p}_LANGUAGE_PROFILE_ID", 1),
            season_folder=env.get(f"{p}_SEASON_FOLDER", "true").lower() not in ("0", "false", "no"),
            instance_name=env.get(f"{p}_INSTANCE_NAME") or None,
        ))
    return tuple(found)


def redact_url(url: str) -> str:
    """The URL with any user:password@ replaced by ***@, for messages."""
    if "@" not in url:
        return url
    scheme, sep, rest = url.partition("//")
    if not sep:
        scheme, rest = "", url
    return scheme + sep + "***@" + rest.rpartition("@")[2]


def _split_couch_url(url: str) -> tuple[str, str | None, str | None]:
    """Credentials may ride in COUCHDB_URL (http://user:pass@host:5984); take them out so the
    URL itself is safe to log."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("COUCHDB_URL has a port that is not a number (like http://host:5984)") from None
    if not parts.scheme or not parts.hostname:
        raise ConfigError(f"COUCHDB_URL must look like http://host:5984, got {redact_url(url)!r}")
    if parts.username is None:
        return url.rstrip("/"), None, None
    netloc = parts.hostname + (f":{port}" if port else "")
    clean = urlunsplit((parts.scheme, netloc, parts.path, "", "")).rstrip("/")
    return clean, unquote(parts.username), unquote(parts.password or "")


def load_settings(env: dict | None = None, dotenv_path: str | None = ".env") -> Settings:
    """Settings from `env` (default: os.environ, after loading `.env` without overriding)."""
    if env is None:
        if dotenv_path and os.path.exists(dotenv_path):
            from dotenv import load_dotenv

            load_dotenv(dotenv_path, override=False)
        env = dict(os.environ)
    url, user, password = _split_couch_url(env.get("COUCHDB_URL", "http://127.0.0.1:5984"))
    user = env.get("COUCHDB_USER") or user
    password = _secret(env, "COUCHDB_PASSWORD") or password
    settings = Settings(
        couchdb_url=url,
        couchdb_user=user,
        couchdb_password=password,
        movies_buffer_db=env.get("MOVIES_BUFFER_DB", "movies_buffer"),
        movies_db=env.get("MOVIES_DB", "movies"),
        sidecar_db=env.get("SIDECAR_DB", "sidecar"),
        series_buffer_db=env.get("SERIES_BUFFER_DB", "series_buffer"),
        series_db=env.get("SERIES_DB", "series"),
        sidecar_role=env.get("SIDECAR_ROLE", "sidecar"),
        radarr=_instances(env, "radarr"),
        sonarr=_instances(env, "sonarr"),
        webhook_user=env.get("WEBHOOK_USER", "webhook"),
        webhook_password=_secret(env, "WEBHOOK_PASSWORD"),
        reconcile_token=_secret(env, "RECONCILE_TOKEN"),
        worker_id=env.get("WORKER_ID") or socket.gethostname(),
        arr_timeout=_float(env, "ARR_TIMEOUT", 10.0),
        arr_concurrency=max(1, _int(env, "ARR_CONCURRENCY", 8)),
        claim_timeout=_float(env, "CLAIM_TIMEOUT", 300.0),
        retry_base=_float(env, "RETRY_BASE", 10.0),
        retry_max=_float(env, "RETRY_MAX", 3600.0),
        scan_interval=_float(env, "SCAN_INTERVAL", 5.0),
        batch_size=max(1, _int(env, "BATCH_SIZE", 200)),
        max_body_bytes=_int(env, "MAX_BODY_BYTES", 1_000_000),
        cors_origins=tuple(o.strip() for o in env.get("CORS_ORIGINS", "").split(",") if o.strip()),
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
        public_couchdb_url=(env.get("PUBLIC_COUCHDB_URL") or "").rstrip("/") or None,
        lookups_db=env.get("LOOKUPS_DB", "lookups"),
        lookup_ttl=_float(env, "LOOKUP_TTL", 86400.0),
        queue_poll_interval=_float(env, "QUEUE_POLL_INTERVAL", 5.0),
        posters=env.get("POSTERS", "true").lower() not in ("0", "false", "no", "off"),
        posters_max_bytes=int(_float(env, "POSTERS_MAX_MB", 200.0) * 1024 * 1024),
        remove_role=env.get("REMOVE_ROLE", "collection-admin"),
    )
    for db in (settings.movies_buffer_db, settings.movies_db, settings.series_buffer_db, settings.series_db,
               settings.sidecar_db, settings.lookups_db):
        # CouchDB's own rule for database names
        if not re.fullmatch(r"[a-z][a-z0-9_$()+/-]*", db):
            raise ConfigError(f"database name {db!r} is not a valid CouchDB name")
    return settings


def to_env(s: Settings) -> dict[str, str]:
    """The environment variables from which load_settings() builds these settings again: how a
    test or benchmark starts `python -m sidecar ...` with a Settings it made."""
    env = {
        "COUCHDB_URL": s.couchdb_url,
        "MOVIES_BUFFER_DB": s.movies_buffer_db, "MOVIES_DB": s.movies_db, "SIDECAR_DB": s.sidecar_db,
        "SERIES_BUFFER_DB": s.series_buffer_db, "SERIES_DB": s.series_db,
        "SIDECAR_ROLE": s.sidecar_role, "WEBHOOK_USER": s.webhook_user, "WORKER_ID": s.worker_id,
        "ARR_TIMEOUT": str(s.arr_timeout), "ARR_CONCURRENCY": str(s.arr_concurrency),
        "CLAIM_TIMEOUT": str(s.claim_timeout), "RETRY_BASE": str(s.retry_base), "RETRY_MAX": str(s.retry_max),
        "SCAN_INTERVAL": str(s.scan_interval), "BATCH_SIZE": str(s.batch_size),
        "MAX_BODY_BYTES": str(s.max_body_bytes), "LOG_LEVEL": s.log_level,
        "CORS_ORIGINS": ",".join(s.cors_origins), "PUBLIC_COUCHDB_URL": s.public_couchdb_url or "",
        "LOOKUPS_DB": s.lookups_db, "LOOKUP_TTL": str(s.lookup_ttl),
        "QUEUE_POLL_INTERVAL": str(s.queue_poll_interval), "POSTERS": "true" if s.posters else "false",
        "POSTERS_MAX_MB": str(s.posters_max_bytes / 1024 / 1024), "REMOVE_ROLE": s.remove_role,
    }
    optional = {"COUCHDB_USER": s.couchdb_user, "COUCHDB_PASSWORD": s.couchdb_password,
                "WEBHOOK_PASSWORD": s.webhook_password, "RECONCILE_TOKEN": s.reconcile_token}
    env.update({k: v for k, v in optional.items() if v is not None})
    for kind, pool in (("RADARR", s.radarr), ("SONARR", s.sonarr)):
        env[f"{kind}_INSTANCES"] = ",".join(i.name for i in pool) or "default"
        for i in pool:
            p = i.env_prefix
            env.update({
                f"{p}_URL": i.url, f"{p}_API_KEY": i.api_key,
                f"{p}_QUALITY_PROFILE_ID": str(i.quality_profile_id), f"{p}_ROOT_FOLDER": i.root_folder,
                f"{p}_MINIMUM_AVAILABILITY": i.minimum_availability,
                f"{p}_LANGUAGE_PROFILE_ID": str(i.language_profile_id),
                f"{p}_SEASON_FOLDER": "true" if i.season_folder else "false",
                f"{p}_INSTANCE_NAME": i.instance_name or "",
            })
    return env
