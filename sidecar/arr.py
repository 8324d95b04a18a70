"""Radarr and Sonarr API v3 clients.

Facts they rely on (../shared/reference/servarr/README.md): the key goes in `X-Api-Key`; POST
answers 201 (the OpenAPI file says 200: both accepted); validation failures are a 400 whose body
is a JSON *array*; "already added" is errorCode MovieExistsValidator / SeriesExistsValidator;
`GET /movie?tmdbId=` / `GET /series?tvdbId=` is the cheap existence check; always send
`addOptions` (without it Radarr sends no MovieAdded webhook).

Errors are sorted for the worker: TransientArrError (timeouts, refused connections, 5xx, 401/429:
try again later, with backoff) and PermanentArrError (400 validation, 404: retrying blindly
cannot help).
"""
from __future__ import annotations

import logging
from typing import Any

import requests

from .config import ArrInstance, redact_url

log = logging.getLogger(__name__)


class ArrError(Exception):
    transient = True

    def __init__(self, code: str, message: str, status: int | None = None):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


class TransientArrError(ArrError):
    transient = True


class PermanentArrError(ArrError):
    transient = False


def _messages(resp: requests.Response) -> tuple[str, list[str]]:
    """(error codes, readable messages) from a Radarr/Sonarr error body of any of its shapes."""
    try:
        body = resp.json()
    except ValueError:
        return "", [resp.text.strip()[:300]] if resp.text.strip() else []
    if isinstance(body, list):  # FluentValidation failures
        codes = ",".join(str(f.get("errorCode")) for f in body if isinstance(f, dict) and f.get("errorCode"))
        return codes, [str(f.get("errorMessage", f)) for f in body if isinstance(f, dict)]
    if isinstance(body, dict):
        if isinstance(body.get("errors"), dict):  # ASP.NET ValidationProblemDetails
            msgs = [f"{k}: {'; '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in body["errors"].items()]
            return "", msgs or [str(body.get("title", ""))]
        for key in ("message", "title", "content"):
            if body.get(key):
                return "", [str(body[key])]
    return "", [str(body)[:300]]


class ServarrClient:
    kind = ""  # "radarr" | "sonarr"
    resource = ""  # "movie" | "series"
    id_field = ""  # "tmdbId" | "tvdbId"
    exists_code = ""  # "MovieExistsValidator" | "SeriesExistsValidator"

    def __init__(self, instance: ArrInstance, timeout: float = 10.0):
        self.instance = instance
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"X-Api-Key": instance.api_key, "Accept": "application/json"})
        # many worker threads share this session: let the pool hold enough connections
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=64)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.instance.name}"

    def _call(self, method: str, path: str, timeout: float | None = None, **kw: Any) -> requests.Response:
        url = f"{self.instance.url}/api/v3/{path.lstrip('/')}"
        try:
            resp = self.session.request(method, url, timeout=timeout or self.timeout, **kw)
        except requests.Timeout:
            raise TransientArrError("timeout", f"{self.name} did not answer within {timeout or self.timeout:g} s") from None
        except requests.ConnectionError:
            raise TransientArrError("unreachable", f"{self.name} at {redact_url(self.instance.url)} refused or dropped the connection") from None
        except requests.RequestException as exc:
            raise TransientArrError("request_failed", f"{self.name}: {type(exc).__name__}") from None
        if resp.status_code < 400:
            return resp
        codes, msgs = _messages(resp)
        text = "; ".join(m for m in msgs if m) or resp.reason or "no details"
        if resp.status_code == 401:
            raise TransientArrError("unauthorized", f"{self.name} refused the API key (401); check its API key setting", 401)
        if resp.status_code in (408, 429) or resp.status_code >= 500:
            raise TransientArrError(f"http_{resp.status_code}", f"{self.name} answered {resp.status_code}: {text[:300]}", resp.status_code)
        err = PermanentArrError(codes or f"http_{resp.status_code}", text[:500], resp.status_code)
        raise err

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        resp = self._call(method, path, **kw)
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise TransientArrError("bad_response", f"{self.name} answered {resp.status_code} with a body that is not JSON") from None

    # --- reads
    def status(self) -> dict:
        return self._json("GET", "system/status", timeout=5)

    def find(self, external_id: int) -> dict | None:
        """The library entry for a tmdbId/tvdbId, or None (GET /movie?tmdbId=)."""
        found = self._json("GET", self.resource, params={self.id_field: external_id})
        return found[0] if found else None

    def open_listing(self) -> requests.Response:
        """GET the whole library unread (stream=True), for parsing it item by item."""
        return self._call("GET", self.resource, timeout=max(self.timeout, 120), stream=True)

    # --- add
    def build_add_body(self, item: dict) -> dict:
        raise NotImplementedError

    def add(self, item: dict, look_first: bool = True) -> tuple[dict, bool]:
        """Make sure the requested title is in the library. Returns (resource, created).

        Idempotent, so a retry or a takeover after a crash never adds twice: a title already
        there (found first, or "already added" on POST, or found after a POST timed out) is
        success. A title present but unmonitored is set monitored (and searched for a download).
        `look_first=False` skips the existence check on a first attempt (one request instead of
        two); Radarr/Sonarr's own "already added" answer still catches a title that is there.
        """
        external_id = int(item[self.id_field])  # CouchDB 3 may hand back 603 as 603.0
        if look_first:
            existing = self.find(external_id)
            if existing is not None:
                return self._make_wanted(existing, item), False
        body = self.build_add_body(item)
        try:
            resp = self._call("POST", self.resource, json=body)
        except PermanentArrError as exc:
            if self.exists_code in exc.code or "already been added" in exc.message:
                existing = self.find(external_id)
                if existing is not None:
                    return self._make_wanted(existing, item), False
            raise
        except TransientArrError as exc:
            if exc.code in ("timeout", "unreachable", "request_failed"):
                # the POST may have landed before the answer was lost: look before retrying
                try:
                    existing = self.find(external_id)
                except ArrError:
                    existing = None
                if existing is not None:
                    return existing, False
            raise
        try:
            return resp.json(), True
        except ValueError:
            raise TransientArrError("bad_response", f"{self.name} answered {resp.status_code} with a body that is not JSON") from None

    def _make_wanted(self, existing: dict, item: dict) -> dict:
        if existing.get("monitored"):
            return existing
        updated = dict(existing, monitored=True)
        resource = self._json("PUT", f"{self.resource}/{existing['id']}", json=updated) or updated
        if item.get("action") == "download":
            self.search(existing["id"])
        return resource

    def search(self, arr_id: int) -> None:
        raise NotImplementedError


class RadarrClient(ServarrClient):
    kind, resource, id_field, exists_code = "radarr", "movie", "tmdbId", "MovieExistsValidator"

    def build_add_body(self, item: dict) -> dict:
        opts = item.get("options") or {}
        body = {
            "tmdbId": int(item["tmdbId"]),
            "title": item.get("title") or "",
            "qualityProfileId": opts.get("qualityProfileId", self.instance.quality_profile_id),
            "rootFolderPath": opts.get("rootFolderPath", self.instance.root_folder),
            "minimumAvailability": opts.get("minimumAvailability", self.instance.minimum_availability),
            "monitored": True,
            "tags": opts.get("tags", []),
            # always sent: without addOptions Radarr silently sends no MovieAdded webhook
            "addOptions": {"searchForMovie": item.get("action") == "download",
                           "monitor": "movieOnly", "addMethod": "manual"},
        }
        if item.get("year"):
            body["year"] = item["year"]
        return body

    def search(self, arr_id: int) -> None:
        self._json("POST", "command", json={"name": "MoviesSearch", "movieIds": [arr_id]})


class SonarrClient(ServarrClient):
    kind, resource, id_field, exists_code = "sonarr", "series", "tvdbId", "SeriesExistsValidator"

    def build_add_body(self, item: dict) -> dict:
        opts = item.get("options") or {}
        download = item.get("action") == "download"
        body = {
            "tvdbId": int(item["tvdbId"]),
            "title": item.get("title") or "",  # required by Sonarr (unlike Radarr)
            "qualityProfileId": opts.get("qualityProfileId", self.instance.quality_profile_id),
            "languageProfileId": self.instance.language_profile_id,  # Sonarr v3 needs it, v4 ignores it
            "rootFolderPath": opts.get("rootFolderPath", self.instance.root_folder),
            "seasonFolder": self.instance.season_folder,
            "monitored": True,
            "seriesType": opts.get("seriesType", "standard"),
            "tags": opts.get("tags", []),
            "addOptions": {"searchForMissingEpisodes": download, "searchForCutoffUnmetEpisodes": False,
                           "ignoreEpisodesWithFiles": False, "ignoreEpisodesWithoutFiles": False},
        }
        if item.get("year"):
            body["year"] = item["year"]
        if "seasons" in opts:
            # only the asked-for seasons: send every known season with its flag and leave
            # addOptions.monitor out, so Sonarr applies the season flags (what Overseerr does)
            wanted = set(opts["seasons"])
            found = self._json("GET", "series/lookup", params={"term": f"tvdb:{item['tvdbId']}"}) or []
            known = [s.get("seasonNumber") for s in (found[0].get("seasons") or [])] if found else []
            numbers = sorted(set(known) | wanted)
            body["seasons"] = [{"seasonNumber": n, "monitored": n in wanted} for n in numbers]
        else:
            body["addOptions"]["monitor"] = opts.get("monitor", "all")
        return body

    def search(self, arr_id: int) -> None:
        self._json("POST", "command", json={"name": "SeriesSearch", "seriesId": arr_id})


def client_for(instance: ArrInstance, timeout: float = 10.0) -> ServarrClient:
    return (RadarrClient if instance.kind == "radarr" else SonarrClient)(instance, timeout)
