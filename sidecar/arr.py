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
import re
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

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
    """(error codes, readable messages) from a Radarr/Sonarr error body of any of its shapes
    (reference README §5: a FluentValidation array, ProblemDetails, or {message, description})."""
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
                return "", [str(body[key]).splitlines()[0]]
    return "", [str(body)[:300]]


def _is_json(resp: requests.Response) -> bool:
    if not resp.content:
        return False
    try:
        resp.json()
    except ValueError:
        return False
    return True


def _html_title(text: str) -> str:
    m = re.search(r"<title[^>]*>([^<]{1,120})</title>", text, re.I)
    return f' ("{" ".join(m.group(1).split())}")' if m else ""


def _looks_like_html(resp: requests.Response) -> bool:
    """A web page rather than API JSON. The body is only looked at for errors (small, read
    anyway): a 2xx may be a streamed library listing that must not be read here."""
    if "html" in resp.headers.get("Content-Type", "").lower():
        return True
    if resp.status_code < 300:
        return False
    return resp.text.lstrip()[:100].lower().startswith(("<!doctype", "<html"))


# hints for the validation failures a person can fix by a setting (reference README §5)
_HINTS = {
    "QualityProfileExistsValidator": "set {p}_QUALITY_PROFILE_ID (or the wish's options.qualityProfileId) to one of "
                                     "{app}'s quality profiles (Settings → Profiles)",
    "RootFolderExistsValidator": "set {p}_ROOT_FOLDER (or the wish's options.rootFolderPath) to one of {app}'s root "
                                 "folders (Settings → Media Management)",
    "LanguageProfileExistsValidator": "set {p}_LANGUAGE_PROFILE_ID to one of Sonarr v3's language profiles",
}


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

    @property
    def _where(self) -> str:
        """"Radarr at http://host:7878" (or "Radarr (4k) at ...") for messages, credentials redacted."""
        label = self.instance.app if self.instance.name == "default" else f"{self.instance.app} ({self.instance.name})"
        return f"{label} at {redact_url(self.instance.url)}"

    def _call(self, method: str, path: str, timeout: float | None = None, **kw: Any) -> requests.Response:
        """One API request. Returns a 2xx answer that came from Radarr/Sonarr; raises
        TransientArrError (try again later) or PermanentArrError (only a real Radarr/Sonarr
        validation failure or 404) with a reason a person can act on. Redirects are never
        followed: requests would turn a POST into a GET (RFC 9110 §15.4 leaves it to clients)."""
        url = f"{self.instance.url}/api/v3/{path.lstrip('/')}"
        limit = timeout or self.timeout
        try:
            resp = self.session.request(method, url, timeout=limit, allow_redirects=False, **kw)
        except requests.Timeout:
            raise TransientArrError("timeout", f"{self._where} did not answer within {limit:g} s; it may be busy "
                                    "or down (ARR_TIMEOUT sets the limit)") from None
        except requests.ConnectionError:
            raise TransientArrError("unreachable", f"could not connect to {self._where} (refused or dropped): is it "
                                    f"running, and is {self.instance.env_prefix}_URL right?") from None
        except requests.RequestException as exc:
            raise TransientArrError("request_failed", f"{self._where}: {type(exc).__name__}") from None
        foreign = self._not_from_the_api(resp)
        if foreign is not None:
            raise foreign
        if resp.status_code < 400:
            return resp
        raise self._error(resp)

    def _not_from_the_api(self, resp: requests.Response) -> ArrError | None:
        """An answer Radarr/Sonarr's API would never give: a redirect, a web page (a proxy's
        error or login page), an error without its JSON body. Always transient: what is in
        between may be fixed or come back."""
        status, app, p = resp.status_code, self.instance.app, self.instance.env_prefix
        if 300 <= status < 400:
            return TransientArrError("redirected", self._redirect_reason(resp.headers.get("Location", "")), status)
        if _looks_like_html(resp):
            title = _html_title(resp.text)
            if status in (502, 503, 504):
                why = (f"a proxy in front of {app} answered {status} {resp.reason or ''}{title}: {app} is down or the "
                       f"proxy cannot reach it")
            elif status in (401, 403) or (status == 200 and re.search(r"log ?in|sign ?in|auth", title, re.I)):
                why = (f"an authentication proxy answered with its login page ({status}{title}) instead of {app}: "
                       f"let /api/ through with the X-Api-Key header, or set {p}_URL to {app} itself")
            else:
                why = (f"{self._where} answered {status} with a web page{title}, not {app}'s API: check {p}_URL "
                       f"(is {app} there, with its URL base?)")
            return TransientArrError(f"not_{self.kind}", why, status)
        if status >= 500 and not _is_json(resp):
            return TransientArrError(f"http_{status}", f"{self._where} answered {status} {resp.reason or ''} without "
                                     f"details: {app} starting or stopping, or a proxy that cannot reach it", status)
        if status >= 400 and status != 401 and not _is_json(resp):
            # Radarr/Sonarr errors always carry JSON (reference README §5): this came from something else
            return TransientArrError(f"not_{self.kind}", f"{self._where} answered {status} {resp.reason or ''} "
                                     f"without {app}'s error details: a proxy or the wrong address? check {p}_URL", status)
        return None

    def _redirect_reason(self, location: str) -> str:
        app, p = self.instance.app, self.instance.env_prefix
        ours = urlsplit(self.instance.url)
        target = urlsplit(urljoin(self.instance.url + "/", location))
        if target.netloc == ours.netloc and "/api/" in target.path:
            base = target.path[:target.path.index("/api/")]
            if base and base.rstrip("/") != ours.path.rstrip("/"):
                fixed = urlunsplit((ours.scheme, ours.netloc, base, "", ""))
                return (f"{app} redirects its API to {base}/api/…: its URL base is {base}, so set {p}_URL to "
                        f"{redact_url(fixed)}")
        shown = redact_url(urlunsplit((target.scheme, target.netloc, target.path, "", "")))
        return (f"{self._where} redirects to {shown} (a login page, or another address): set {p}_URL to where "
                f"{app}'s API answers")

    def _error(self, resp: requests.Response) -> ArrError:
        """The ArrError for an error answer that did come from Radarr/Sonarr."""
        status, app, p = resp.status_code, self.instance.app, self.instance.env_prefix
        codes, msgs = _messages(resp)
        text = "; ".join(m for m in msgs if m) or resp.reason or "no details"
        if status == 401:
            return TransientArrError("unauthorized", f"{self._where} refused the API key (401): copy it from {app}'s "
                                     f"Settings → General → API Key into {p}_API_KEY", 401)
        if status == 409:
            # a database constraint (reference README §5), e.g. two adds racing: look again later
            return TransientArrError("http_409", f"{app} reported a conflict in its database: {text[:200]}", 409)
        if status in (408, 429) or status >= 500:
            return TransientArrError(f"http_{status}", f"{app} answered {status}: {text[:300]}", status)
        hints = [_HINTS[c].format(p=p, app=app) for c in codes.split(",") if c in _HINTS]
        return PermanentArrError(codes or f"http_{status}", (text[:400] + ("; " + "; ".join(hints) if hints else "")),
                                 status)

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        resp = self._call(method, path, **kw)
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise TransientArrError(f"not_{self.kind}", f"{self._where} answered {resp.status_code} with a body that "
                                    f"is not JSON: check {self.instance.env_prefix}_URL") from None

    # --- reads
    def status(self) -> dict:
        return self._json("GET", "system/status", timeout=5)

    def identify(self) -> tuple[dict | None, list[str]]:
        """(system status, problems): whether this address and key reach the configured app.

        `GET /api/v3/system/status` (appName, version, urlBase, instanceName; reference README §2)
        through the same checks as every call, so a missing URL base, a proxy's login page or a
        wrong key each get their own reason. Problems beyond reachability: the other app on that
        port, a Sonarr v3 without the configured language profile (v4 ignores it), an Instance
        Name other than the one configured for webhooks. [] means ready."""
        app, p = self.instance.app, self.instance.env_prefix
        try:
            status = self._json("GET", "system/status", timeout=5)
        except ArrError as exc:
            return None, [exc.message]
        if not isinstance(status, dict) or not status.get("appName"):
            return None, [f"{self._where} answered system/status without an appName: is {app} there? check {p}_URL"]
        problems = []
        found, version = str(status["appName"]), str(status.get("version", "?"))
        if found.lower() != self.kind:
            problems.append(f"{p}_URL reaches {found} {version}, not {app}: swapped addresses or ports?")
        elif self.kind == "sonarr" and version.startswith("3."):
            try:
                profiles = self._json("GET", "languageprofile", timeout=5) or []
            except ArrError as exc:
                profiles, problems = [], problems + [exc.message]
            ids = [pr.get("id") for pr in profiles if isinstance(pr, dict)]
            if ids and self.instance.language_profile_id not in ids:
                problems.append(f"Sonarr {version} (v3) needs a language profile: {p}_LANGUAGE_PROFILE_ID is "
                                f"{self.instance.language_profile_id}, Sonarr has {ids}")
        wanted_name = self.instance.instance_name
        if wanted_name and status.get("instanceName") and status["instanceName"] != wanted_name:
            problems.append(f"{app}'s Instance Name is {status['instanceName']!r} but {p}_INSTANCE_NAME is "
                            f"{wanted_name!r}: its webhooks would not be matched to this instance")
        return status, problems

    def find(self, external_id: int) -> dict | None:
        """The library entry for a tmdbId/tvdbId, or None (GET /movie?tmdbId=)."""
        found = self._json("GET", self.resource, params={self.id_field: external_id})
        if found is not None and not isinstance(found, list):
            raise TransientArrError(f"not_{self.kind}", f"{self._where} answered the library query with something "
                                    f"other than a list: check {self.instance.env_prefix}_URL")
        return found[0] if found else None

    def lookup(self, term: str) -> list[dict]:
        """Radarr's/Sonarr's own title search: `GET /movie/lookup?term=` / `/series/lookup?term=`
        (free text, or `tmdb:`/`imdb:`/`tvdb:` ids). A title already in the library comes back
        as the library's resource, with its `id` (reference README §3, §4)."""
        found = self._json("GET", f"{self.resource}/lookup", params={"term": term})
        return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []

    def queue_page(self, page: int = 1, page_size: int = 100) -> dict:
        """One page of the download queue with the title embedded: `GET /queue` (paged:
        {page, pageSize, totalRecords, records[]}; reference README §7, QueueResource in the
        OpenAPI specs)."""
        include = {"includeMovie": "true"} if self.kind == "radarr" else {"includeSeries": "true",
                                                                          "includeEpisode": "true"}
        body = self._json("GET", "queue", params={"page": page, "pageSize": page_size, **include})
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise TransientArrError(f"not_{self.kind}", f"{self._where} answered the queue without records")
        return body

    def media_cover(self, url: str, max_bytes: int = 2_000_000) -> tuple[bytes, str]:
        """(bytes, content type) of a MediaCover image by its `images[].url` (a path such as
        `{urlBase}/MediaCover/12/poster.jpg?lastWrite=…`, served as static content). Raises
        ArrError; a body over max_bytes is refused."""
        path = urlsplit(url).path
        target = urlunsplit((*urlsplit(self.instance.url)[:2], path, urlsplit(url).query, ""))
        try:
            resp = self.session.get(target, timeout=self.timeout, allow_redirects=False, stream=True)
        except requests.RequestException as exc:
            raise TransientArrError("unreachable", f"{self._where}: {type(exc).__name__} fetching a poster") from None
        with resp:
            if resp.status_code != 200 or not resp.headers.get("Content-Type", "").startswith("image/"):
                raise TransientArrError(f"http_{resp.status_code}", f"{self._where} has no image at {path}")
            data = resp.raw.read(max_bytes + 1, decode_content=True)
        if len(data) > max_bytes:
            raise PermanentArrError("too_large", f"the image at {path} is over {max_bytes} bytes")
        return data, resp.headers["Content-Type"].split(";")[0]

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
        success, returned as it is (what the wish then does to it is sidecar.actions' job).
        `look_first=False` skips the existence check on a first attempt (one request instead of
        two); Radarr/Sonarr's own "already added" answer still catches a title that is there.
        """
        external_id = int(item[self.id_field])  # CouchDB 3 may hand back 603 as 603.0
        if look_first:
            existing = self.find(external_id)
            if existing is not None:
                return existing, False
        body = self.build_add_body(item)
        try:
            resp = self._call("POST", self.resource, json=body)
        except PermanentArrError as exc:
            if self.exists_code in exc.code or "already been added" in exc.message:
                existing = self.find(external_id)
                if existing is not None:
                    return existing, False
            raise
        except TransientArrError as exc:
            # "it is there already" in every shape: a 409 from two adds racing, or an answer lost
            # (timeout, dropped connection) after the POST landed: look before trying again
            if exc.code in ("timeout", "unreachable", "request_failed", "http_409"):
                # the POST may have landed before the answer was lost: look before retrying
                try:
                    existing = self.find(external_id)
                except ArrError:
                    existing = None
                if existing is not None:
                    return existing, False
            raise
        created = resp.json() if _is_json(resp) else None
        if not isinstance(created, dict) or not created.get("id"):
            # not the MovieResource/SeriesResource a 201 carries: look it up rather than guess
            existing = self.find(external_id)
            if existing is None:
                raise TransientArrError(f"not_{self.kind}", f"{self._where} answered {resp.status_code} to the add "
                                        f"without the {self.resource} it created, and does not list it: check "
                                        f"{self.instance.env_prefix}_URL")
            return existing, True
        return created, True

    # --- changes to a title in the library (wish actions other than a first add)
    def update(self, resource: dict) -> dict:
        """PUT the whole resource back (`PUT /movie/{id}` / `/series/{id}`; 202 with the
        resource, reference README §3/§4). Returns what Radarr/Sonarr answered."""
        return self._json("PUT", f"{self.resource}/{resource['id']}", json=resource) or resource

    def delete(self, arr_id: int, delete_files: bool = False, exclude: bool = False) -> None:
        """Remove a title from the library; with its files, and/or an import-list exclusion so
        lists do not bring it back (the parameter names differ: Radarr addImportExclusion,
        Sonarr addImportListExclusion — reference README §4). A 404 (already gone) is success."""
        name = "addImportExclusion" if self.kind == "radarr" else "addImportListExclusion"
        try:
            self._call("DELETE", f"{self.resource}/{arr_id}",
                       params={"deleteFiles": str(delete_files).lower(), name: str(exclude).lower()})
        except PermanentArrError as exc:
            if exc.status != 404:
                raise

    def search(self, arr_id: int, seasons: list[int] | None = None) -> None:
        """Start a search (a command, answered 201 and run by Radarr/Sonarr in the background)."""
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

    def search(self, arr_id: int, seasons: list[int] | None = None) -> None:
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

    def search(self, arr_id: int, seasons: list[int] | None = None) -> None:
        """SeriesSearch (missing episodes of monitored seasons), or one SeasonSearch per asked season."""
        if not seasons:
            self._json("POST", "command", json={"name": "SeriesSearch", "seriesId": arr_id})
        for number in seasons or ():
            self._json("POST", "command", json={"name": "SeasonSearch", "seriesId": arr_id, "seasonNumber": number})


def client_for(instance: ArrInstance, timeout: float = 10.0) -> ServarrClient:
    return (RadarrClient if instance.kind == "radarr" else SonarrClient)(instance, timeout)
