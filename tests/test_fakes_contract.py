"""The fake Radarr/Sonarr (the tests/fakes/servarr/ package) against the real contracts.

Two kinds of checks, over real HTTP:
- schema: every JSON body the fakes send for a documented operation validates against the
  response schema that operation declares in the shipped openapi.json (components resolved by
  $ref, OpenAPI 3.0 `nullable` mapped to JSON Schema, `additionalProperties: false` kept, int32 /
  int64 / date-time formats checked). Skipped when the reference folder is absent.
- behaviour: status codes and bodies from ../shared/reference/servarr/README.md (201/202/200,
  the exact "already added" array, 401 with an empty body, ProblemDetails, lookups, ...) and the
  test controls (fail_mode, fail_next, delay, timeout, stop/start, list_fail_after, counters),
  and the behaviours a test switches on (URL base, version / Sonarr v3, the 409 add race, the
  download queue, MediaCover files).
"""
from __future__ import annotations

import copy
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.servarr import FakeRadarr, FakeSonarr  # noqa: E402
from tests.fakes.servarr.images import jpeg_segments  # noqa: E402


# --------------------------------------------------------------------------- reference / schemas


def _reference_dir() -> Path:
    env = os.environ.get("SERVARR_REFERENCE_DIR")
    if env:
        p = Path(env)
        for cand in (p, p / "servarr", p / "reference" / "servarr"):
            if (cand / "radarr-openapi.json").is_file():
                return cand
        return p
    return Path(__file__).resolve().parents[2] / "shared" / "reference" / "servarr"


REF_DIR = _reference_dir()


def _to_json_schema(node):
    """OpenAPI 3.0 schema objects -> JSON Schema (draft 7): `nullable: true` becomes a null type."""
    if isinstance(node, list):
        return [_to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items()}
    if out.get("nullable") is True:
        del out["nullable"]
        if "$ref" in out:
            out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
        elif isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = list(out["enum"]) + [None]
    return out


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})$")
_DATE_SPAN = re.compile(r"^-?(\d+\.)?\d{2}:\d{2}:\d{2}(\.\d{1,7})?$")


def _format_checker():
    from jsonschema import FormatChecker

    fc = FormatChecker()

    @fc.checks("int32")
    def _int32(v):
        return not isinstance(v, int) or -2**31 <= v < 2**31

    @fc.checks("int64")
    def _int64(v):
        return not isinstance(v, int) or -2**63 <= v < 2**63

    @fc.checks("date-time")
    def _dt(v):
        return not isinstance(v, str) or bool(_DATE_TIME.match(v))

    @fc.checks("date-span")
    def _span(v):
        return not isinstance(v, str) or bool(_DATE_SPAN.match(v))

    return fc


class Spec:
    """One openapi.json, ready to validate response bodies."""

    def __init__(self, path: Path, urn: str):
        from jsonschema import Draft7Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT7

        raw = json.loads(path.read_text())
        doc = _to_json_schema(copy.deepcopy(raw))
        # `Command` is polymorphic in the code (MoviesSearchCommand adds movieIds, SeriesSearchCommand
        # adds seriesId, ...) but the generated spec only knows the base class: let subclass fields in.
        doc["components"]["schemas"]["Command"]["additionalProperties"] = True
        self.raw, self.urn, self._cls = raw, urn, Draft7Validator
        self.registry = Registry().with_resource(urn, Resource.from_contents(doc, default_specification=DRAFT7))
        self.formats = _format_checker()

    def validator(self, pointer: str):
        return self._cls({"$ref": f"{self.urn}#{pointer}"}, registry=self.registry, format_checker=self.formats)

    def check_component(self, name: str, instance) -> None:
        self._check(self.validator(f"/components/schemas/{name}"), instance, name)

    def check_response(self, method: str, path: str, resp: requests.Response) -> None:
        """Validate a 2xx response body against the spec's declared 200 schema for method+path."""
        assert 200 <= resp.status_code < 300, (resp.status_code, resp.text[:500])
        op = self.raw["paths"][path][method.lower()]
        responses = op["responses"]
        code = "200" if "200" in responses else str(resp.status_code)
        content = responses[code].get("content") or {}
        if "application/json" not in content:
            assert resp.content == b"", f"{method} {path}: spec declares no body"
            return
        esc = path.replace("~", "~0").replace("/", "~1")
        pointer = f"/paths/{esc}/{method.lower()}/responses/{code}/content/application~1json/schema"
        self._check(self.validator(pointer), resp.json(), f"{method} {path}")

    @staticmethod
    def _check(validator, instance, what: str) -> None:
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}" for e in errors[:15]]
            pytest.fail(f"{what} does not match the OpenAPI schema ({len(errors)} errors):\n" + "\n".join(lines))


@pytest.fixture(scope="module")
def radarr_spec() -> Spec:
    path = REF_DIR / "radarr-openapi.json"
    if not path.is_file():
        pytest.skip(f"Radarr OpenAPI reference not found at {path} (set SERVARR_REFERENCE_DIR)")
    return Spec(path, "urn:radarr-openapi")


@pytest.fixture(scope="module")
def sonarr_spec() -> Spec:
    path = REF_DIR / "sonarr-openapi.json"
    if not path.is_file():
        pytest.skip(f"Sonarr OpenAPI reference not found at {path} (set SERVARR_REFERENCE_DIR)")
    return Spec(path, "urn:sonarr-openapi")


def assert_no_nulls(obj, where="$"):
    """STJson omits null properties (dictionary values such as placeholder values excepted)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert v is not None, f"{where}.{k} is null (STJson omits null properties)"
            assert_no_nulls(v, f"{where}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            assert_no_nulls(v, f"{where}[{i}]")


# --------------------------------------------------------------------------- fixtures / helpers


@pytest.fixture(scope="module")
def radarr():
    fake = FakeRadarr().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def sonarr():
    fake = FakeSonarr().start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def _fresh(radarr, sonarr):
    for f in (radarr, sonarr):
        f.reset()
        f.start()  # a test may have stopped it
    yield
    for f in (radarr, sonarr):
        assert not f.internal_errors, f.internal_errors[0]
        f.reset()


def call(fake, method, path, *, key="__default__", timeout=5, session=None, **kw) -> requests.Response:
    headers = dict(kw.pop("headers", {}) or {})
    if key == "__default__":
        headers.setdefault("X-Api-Key", fake.api_key)
    elif key is not None:
        headers["X-Api-Key"] = key
    return (session or requests).request(method, fake.url + path, headers=headers, timeout=timeout, **kw)


def movie_body(tmdb_id, **kw):
    body = {"tmdbId": tmdb_id, "title": f"Movie {tmdb_id}", "qualityProfileId": 1, "rootFolderPath": "/movies",
            "monitored": True, "minimumAvailability": "released", "tags": [],
            "addOptions": {"searchForMovie": True, "monitor": "movieOnly", "addMethod": "manual"}}
    body.update(kw)
    return body


def series_body(tvdb_id, **kw):
    body = {"tvdbId": tvdb_id, "title": f"Series {tvdb_id}", "qualityProfileId": 1, "rootFolderPath": "/tv",
            "monitored": True, "seasonFolder": True, "seriesType": "standard", "tags": [],
            "languageProfileId": 1,
            "addOptions": {"searchForMissingEpisodes": True, "ignoreEpisodesWithFiles": False}}
    body.update(kw)
    return body


# =========================================================================== schema checks


@pytest.mark.parametrize("app", ["radarr", "sonarr"])
def test_system_profiles_folders_tags_match_schema(app, request):
    fake = request.getfixturevalue(app)
    spec = request.getfixturevalue(f"{app}_spec")
    r = call(fake, "GET", "/api/v3/system/status")
    spec.check_response("GET", "/api/v3/system/status", r)
    status = r.json()
    assert status["appName"] == fake.APP_NAME and status["instanceName"] == fake.instance_name
    assert status["version"] == ("6.0.4.10291" if app == "radarr" else status["version"])
    assert status["version"].startswith("6.0.4" if app == "radarr" else "4.0.19.")

    r = call(fake, "GET", "/api/v3/qualityprofile")
    spec.check_response("GET", "/api/v3/qualityprofile", r)
    assert {(p["id"], p["name"]) for p in r.json()} == {(1, "Any"), (4, "HD-1080p")}
    spec.check_response("GET", "/api/v3/qualityprofile/{id}", call(fake, "GET", "/api/v3/qualityprofile/4"))

    r = call(fake, "GET", "/api/v3/rootfolder")
    spec.check_response("GET", "/api/v3/rootfolder", r)
    root = "/movies" if app == "radarr" else "/tv"
    assert [(f["id"], f["path"], f["accessible"], f["unmappedFolders"]) for f in r.json()] == [(1, root, True, [])]

    r = call(fake, "POST", "/api/v3/tag", json={"label": "Sidecar"})
    assert r.status_code == 201 and r.json() == {"label": "sidecar", "id": 1}
    spec.check_response("POST", "/api/v3/tag", r)
    again = call(fake, "POST", "/api/v3/tag", json={"label": "sidecar"})
    assert again.status_code == 201 and again.json()["id"] == 1  # an existing label is returned
    spec.check_response("GET", "/api/v3/tag", call(fake, "GET", "/api/v3/tag"))
    bad = call(fake, "POST", "/api/v3/tag", json={"label": "no spaces"})
    assert bad.status_code == 400 and isinstance(bad.json(), list)

    if app == "sonarr":
        r = call(fake, "GET", "/api/v3/languageprofile")
        spec.check_response("GET", "/api/v3/languageprofile", r)
        assert [p["name"] for p in r.json()] == ["Deprecated"]


def test_movie_resources_match_schema(radarr, radarr_spec):
    spec = radarr_spec
    r = call(radarr, "POST", "/api/v3/movie", json=movie_body(603))
    assert r.status_code == 201
    spec.check_response("POST", "/api/v3/movie", r)
    created = r.json()
    assert_no_nulls(created)
    assert 2000 <= len(r.content) <= 4500, len(r.content)  # realistic size (benchmarks)

    radarr.add_existing(550, has_file=True)
    radarr.add_existing(680, monitored=False, tags=[1])
    radarr.add_many(20, start_id=10_000, has_file=lambda i: i % 2 == 0)
    listing = call(radarr, "GET", "/api/v3/movie")
    spec.check_response("GET", "/api/v3/movie", listing)
    assert_no_nulls(listing.json())
    spec.check_response("GET", "/api/v3/movie", call(radarr, "GET", "/api/v3/movie", params={"tmdbId": 550}))
    spec.check_response("GET", "/api/v3/movie/{id}", call(radarr, "GET", f"/api/v3/movie/{created['id']}"))
    with_file = radarr.find(550)
    spec.check_component("MovieResource", with_file)
    assert "movieFile" in with_file

    for term in ("tmdb:603", "tmdb:27205", "imdb:tt0137523", "matrix"):
        r = call(radarr, "GET", "/api/v3/movie/lookup", params={"term": term})
        spec.check_response("GET", "/api/v3/movie/lookup", r)
        assert r.json(), term
        assert_no_nulls(r.json())
    r = call(radarr, "GET", "/api/v3/movie/lookup/tmdb", params={"tmdbId": 157336})
    spec.check_response("GET", "/api/v3/movie/lookup/tmdb", r)

    put = call(radarr, "PUT", f"/api/v3/movie/{created['id']}", json=dict(created, monitored=False))
    assert put.status_code == 202
    spec.check_response("PUT", "/api/v3/movie/{id}", put)

    cmd = call(radarr, "POST", "/api/v3/command", json={"name": "MoviesSearch", "movieIds": [created["id"]]})
    assert cmd.status_code == 201
    spec.check_response("POST", "/api/v3/command", cmd)
    spec.check_response("GET", "/api/v3/command/{id}", call(radarr, "GET", f"/api/v3/command/{cmd.json()['id']}"))


def test_series_resources_match_schema(sonarr, sonarr_spec):
    spec = sonarr_spec
    r = call(sonarr, "POST", "/api/v3/series", json=series_body(81189))
    assert r.status_code == 201
    spec.check_response("POST", "/api/v3/series", r)
    created = r.json()
    assert_no_nulls(created)

    sonarr.add_existing(121361, has_file=True)
    sonarr.add_many(20, start_id=5000, has_file=lambda i: i % 3 == 0)
    sonarr.set_episode_files(5001, 3)
    listing = call(sonarr, "GET", "/api/v3/series")
    spec.check_response("GET", "/api/v3/series", listing)
    assert_no_nulls(listing.json())
    spec.check_response("GET", "/api/v3/series/{id}", call(sonarr, "GET", f"/api/v3/series/{created['id']}"))
    for term in ("tvdb:81189", "tvdb:305288", "office"):
        r = call(sonarr, "GET", "/api/v3/series/lookup", params={"term": term})
        spec.check_response("GET", "/api/v3/series/lookup", r)
        assert r.json(), term
        assert_no_nulls(r.json())

    put = call(sonarr, "PUT", "/api/v3/series", json=dict(created, monitored=False))
    assert put.status_code == 202
    spec.check_response("PUT", "/api/v3/series/{id}", put)

    cmd = call(sonarr, "POST", "/api/v3/command", json={"name": "SeriesSearch", "seriesId": created["id"]})
    assert cmd.status_code == 201
    spec.check_response("POST", "/api/v3/command", cmd)
    assert cmd.json()["body"]["seriesId"] == created["id"]


# =========================================================================== auth


@pytest.mark.parametrize("app", ["radarr", "sonarr"])
def test_ping_is_anonymous_and_api_needs_the_key(app, request):
    fake = request.getfixturevalue(app)
    r = requests.get(fake.url + "/ping", timeout=5)
    assert r.status_code == 200 and r.json() == {"status": "OK"}
    for kw in ({"key": None}, {"key": "wrong"},
               {"key": None, "headers": {"Authorization": "Bearer wrong"}},
               {"key": None, "params": {"apikey": "wrong"}}):
        r = call(fake, "GET", "/api/v3/system/status", **kw)
        assert r.status_code == 401 and r.content == b"", kw
    ok = [call(fake, "GET", "/api/v3/system/status"),
          call(fake, "GET", "/api/v3/system/status", key=None, params={"apikey": fake.api_key}),
          call(fake, "GET", "/api/v3/system/status", key=None, headers={"Authorization": f"Bearer {fake.api_key}"})]
    assert [r.status_code for r in ok] == [200, 200, 200]
    # the query parameter wins over the header (read first)
    r = call(fake, "GET", "/api/v3/system/status", params={"apikey": "wrong"})
    assert r.status_code == 401


# =========================================================================== Radarr behaviour


def test_radarr_add_201_then_exact_exists_body(radarr):
    r = call(radarr, "POST", "/api/v3/movie", json=movie_body(603))
    assert r.status_code == 201
    movie = r.json()
    assert r.headers["Location"].endswith(f"/api/v3/movie/{movie['id']}")
    assert movie["id"] > 0 and movie["tmdbId"] == 603 and movie["hasFile"] is False
    assert movie["title"] == "The Matrix" and movie["year"] == 1999  # from "TMDb", not the request
    assert movie["path"] == "/movies/The Matrix (1999)" and movie["rootFolderPath"] == "/movies"
    assert movie["statistics"] == {"movieFileCount": 0, "sizeOnDisk": 0, "releaseGroups": []}
    assert movie["addOptions"]["searchForMovie"] is True
    assert radarr.creations[603] == 1

    again = call(radarr, "POST", "/api/v3/movie", json=movie_body(603))
    assert again.status_code == 400
    assert again.json() == [{
        "propertyName": "TmdbId", "errorMessage": "This movie has already been added", "attemptedValue": 603,
        "severity": "error", "errorCode": "MovieExistsValidator", "formattedMessageArguments": [],
        "formattedMessagePlaceholderValues": {"propertyName": "Tmdb Id", "propertyValue": 603}}]
    assert radarr.creations[603] == 1
    assert radarr.log("POST", "/api/v3/movie")[0]["json"]["addOptions"]["searchForMovie"] is True


def test_radarr_defaults_and_title_for_unknown_catalog(radarr):
    body = {"tmdbId": 4242, "qualityProfileId": 4, "rootFolderPath": "/movies/"}
    r = call(radarr, "POST", "/api/v3/movie", json=body)
    assert r.status_code == 201, r.text
    m = r.json()
    assert m["monitored"] is True and m["minimumAvailability"] == "released"  # Radarr defaults
    assert m["title"] == "Movie 4242" and m["titleSlug"] == "4242" and "addOptions" not in m
    assert m["path"].startswith("/movies/Movie 4242 (")
    named = call(radarr, "POST", "/api/v3/movie", json=movie_body(4243, title="Some Film"))
    assert named.json()["title"] == "Some Film"
    # property names are case-insensitive on input (System.Text.Json)
    r = call(radarr, "POST", "/api/v3/movie", json={"TmdbId": 4244, "QualityProfileId": 1, "RootFolderPath": "/movies"})
    assert r.status_code == 201 and r.json()["tmdbId"] == 4244


def test_radarr_unknown_id_is_400_without_error_code(radarr):
    radarr.unknown_ids.add(999999)
    r = call(radarr, "POST", "/api/v3/movie", json=movie_body(999999))
    assert r.status_code == 400
    assert r.json() == [{"propertyName": "TmdbId", "errorMessage": "A movie with this ID was not found. Path: ",
                         "attemptedValue": 999999, "severity": "error"}]
    assert radarr.creations[999999] == 0 and radarr.find(999999) is None


def test_radarr_validator_messages(radarr):
    r = call(radarr, "POST", "/api/v3/movie", json=movie_body(1, qualityProfileId=0, rootFolderPath="/nope"))
    assert r.status_code == 400
    assert [(f["propertyName"], f["errorCode"], f["errorMessage"]) for f in r.json()] == [
        ("QualityProfileId", "GreaterThanValidator", "'Quality Profile Id' must be greater than '0'."),
        ("RootFolderPath", "RootFolderExistsValidator", "Root folder '/nope' does not exist")]
    r = call(radarr, "POST", "/api/v3/movie", json=movie_body(1, qualityProfileId=7))
    assert [(f["errorMessage"], f["errorCode"]) for f in r.json()] == [
        ("Quality Profile does not exist", "QualityProfileExistsValidator")]
    r = call(radarr, "POST", "/api/v3/movie", json={"qualityProfileId": 1, "rootFolderPath": "/movies"})
    assert [(f["propertyName"], f["errorCode"]) for f in r.json()] == [
        ("Title", "NotEmptyValidator"), ("TmdbId", "NotEmptyValidator")]
    r = call(radarr, "POST", "/api/v3/movie", json={"tmdbId": 2, "qualityProfileId": 1})
    assert [(f["propertyName"], f["errorCode"]) for f in r.json()] == [
        ("Path", "NotEmptyValidator"), ("RootFolderPath", "NotEmptyValidator")]
    assert sum(radarr.creations.values()) == 0


@pytest.mark.parametrize("app,type_url,param", [
    ("radarr", "https://tools.ietf.org/html/rfc9110#section-15.5.1", "tmdbId"),
    ("sonarr", "https://tools.ietf.org/html/rfc7231#section-6.5.1", "tvdbId")])
def test_unparseable_or_mistyped_body_is_problem_details(app, type_url, param, request):
    fake = request.getfixturevalue(app)
    res = fake.RESOURCE
    r = call(fake, "POST", f"/api/v3/{res}", data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("application/problem+json")
    body = r.json()
    assert isinstance(body, dict) and body["type"] == type_url and body["status"] == 400
    assert body["title"] == "One or more validation errors occurred." and "$" in body["errors"] and body["traceId"]
    r = call(fake, "POST", f"/api/v3/{res}", json={param: "603", "qualityProfileId": 1})
    assert r.status_code == 400 and list(r.json()["errors"]) == [f"$.{param}"]
    assert "System.Int32" in r.json()["errors"][f"$.{param}"][0]
    r = call(fake, "POST", f"/api/v3/{res}", data=b"", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["errors"] == {"": ["A non-empty request body is required."]}
    r = call(fake, "POST", f"/api/v3/{res}", data=b"{}", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.json()["status"] == 415
    assert sum(fake.creations.values()) == 0


def test_radarr_filter_get_by_id_and_404(radarr):
    assert call(radarr, "GET", "/api/v3/movie", params={"tmdbId": 603}).json() == []
    m = radarr.add_existing(603, title="The Matrix")
    found = call(radarr, "GET", "/api/v3/movie", params={"tmdbId": 603}).json()
    assert [x["id"] for x in found] == [m["id"]]
    assert call(radarr, "GET", f"/api/v3/movie/{m['id']}").json() == m
    r = call(radarr, "GET", "/api/v3/movie/9999")
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json()["status"] == 404 and r.json()["title"] == "Not Found"
    r = call(radarr, "GET", "/api/v3/movie/0")
    assert r.status_code == 400 and r.json() == {"message": "BadRequest: 0 is not a valid ID",
                                                 "content": "0 is not a valid ID"}
    bad = call(radarr, "GET", "/api/v3/movie", params={"tmdbId": "abc"})
    assert bad.status_code == 400 and "tmdbId" in bad.json()["errors"]


def test_radarr_lookups(radarr):
    r = call(radarr, "GET", "/api/v3/movie/lookup/tmdb", params={"tmdbId": 603})
    assert r.status_code == 200
    meta = r.json()
    assert meta["tmdbId"] == 603 and meta["title"] == "The Matrix"
    assert "id" not in meta and "hasFile" not in meta and "path" not in meta

    radarr.unknown_ids.add(31337)
    r = call(radarr, "GET", "/api/v3/movie/lookup/tmdb", params={"tmdbId": 31337})
    assert r.status_code == 500 and set(r.json()) == {"message", "description"}
    assert r.json()["message"] == "Movie with tmdbId 31337 was not found, it may have been removed from TMDb."
    assert call(radarr, "GET", "/api/v3/movie/lookup", params={"term": "tmdb:31337"}).json() == []

    new = call(radarr, "GET", "/api/v3/movie/lookup", params={"term": "tmdb:550"}).json()
    assert len(new) == 1 and "id" not in new[0] and "hasFile" not in new[0] and new[0]["monitored"] is False
    assert new[0]["folder"] == "Fight Club (1999)" and new[0]["remotePoster"].startswith("https://image.tmdb.org/")

    lib = radarr.add_existing(550, monitored=False, has_file=True)
    found = call(radarr, "GET", "/api/v3/movie/lookup", params={"term": "tmdb:550"}).json()
    assert len(found) == 1 and found[0]["id"] == lib["id"] and found[0]["monitored"] is False
    assert found[0]["path"] == lib["path"] and "hasFile" not in found[0] and "statistics" not in found[0]
    # lookup/tmdb is never merged with the library
    assert "id" not in call(radarr, "GET", "/api/v3/movie/lookup/tmdb", params={"tmdbId": 550}).json()


def test_radarr_put_and_delete(radarr):
    m = dict(radarr.add_existing(603, monitored=False))  # (add_existing returns the live library entry)
    r = call(radarr, "PUT", "/api/v3/movie", json=dict(m, monitored=True, tags=[3]))  # Overseerr style
    assert r.status_code == 202 and r.json()["monitored"] is True and r.json()["tags"] == [3]
    r = call(radarr, "PUT", f"/api/v3/movie/{m['id']}", json={k: v for k, v in m.items() if k != "id"})
    assert r.status_code == 202 and r.json()["id"] == m["id"] and r.json()["monitored"] is False
    r = call(radarr, "PUT", "/api/v3/movie/777", json=dict(m, id=777))  # another movie's path: validator
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "MoviePathValidator"
    r = call(radarr, "PUT", "/api/v3/movie/777", json=dict(m, id=777, path="/movies/Elsewhere"))
    assert r.status_code == 404 and r.json()["message"] == "Movie with ID 777 does not exist"
    r = call(radarr, "PUT", f"/api/v3/movie/{m['id']}", json={"id": m["id"], "qualityProfileId": 1})
    assert r.status_code == 400 and r.json()[0]["propertyName"] == "Path"

    r = call(radarr, "DELETE", f"/api/v3/movie/{m['id']}", params={"deleteFiles": "false", "addImportExclusion": "true"})
    assert r.status_code == 200 and r.content == b""
    assert radarr.find(603) is None and 603 in radarr.exclusions
    assert call(radarr, "GET", f"/api/v3/movie/{m['id']}").status_code == 404
    assert call(radarr, "DELETE", f"/api/v3/movie/{m['id']}").status_code == 404


def test_radarr_set_file_and_statistics(radarr):
    m = radarr.add_existing(603)
    assert m["hasFile"] is False and "movieFile" not in m
    radarr.set_file(603, True)
    got = call(radarr, "GET", f"/api/v3/movie/{m['id']}").json()
    assert got["hasFile"] is True and got["movieFileId"] > 0 and got["movieFile"]["movieId"] == m["id"]
    assert got["statistics"]["movieFileCount"] == 1 and got["sizeOnDisk"] == got["statistics"]["sizeOnDisk"] > 0
    assert list(got)[-2:] == ["statistics", "id"]
    radarr.set_file(603, False)
    got = call(radarr, "GET", f"/api/v3/movie/{m['id']}").json()
    assert got["hasFile"] is False and "movieFile" not in got and got["statistics"]["movieFileCount"] == 0


def test_command_search_and_unknown_command(radarr):
    r = call(radarr, "POST", "/api/v3/command", json={"name": "MoviesSearch", "movieIds": [1, 2]})
    assert r.status_code == 201
    cmd = r.json()
    assert cmd["name"] == "MoviesSearch" and cmd["status"] == "queued" and cmd["body"]["movieIds"] == [1, 2]
    assert call(radarr, "GET", f"/api/v3/command/{cmd['id']}").json()["status"] == "completed"
    r = call(radarr, "POST", "/api/v3/command", json={"name": "NoSuchThing"})
    assert r.status_code == 400 and "Unknown command" in r.json()["message"]


# =========================================================================== Sonarr behaviour


def test_sonarr_add_201_defaults_then_exists(sonarr):
    body = series_body(305288, seasons=[{"seasonNumber": n, "monitored": n == 2} for n in range(6)])
    body.pop("monitored")
    r = call(sonarr, "POST", "/api/v3/series", json=body)
    assert r.status_code == 201, r.text
    s = r.json()
    assert r.headers["Location"].endswith(f"/api/v3/series/{s['id']}")
    assert s["monitored"] is False  # Sonarr: no default true
    assert s["title"] == "Stranger Things" and s["languageProfileId"] == 1
    assert {x["seasonNumber"]: x["monitored"] for x in s["seasons"]} == {0: False, 1: False, 2: True, 3: False,
                                                                          4: False, 5: False}
    stats = s["statistics"]
    assert stats["seasonCount"] == 5 and stats["episodeFileCount"] == 0
    assert stats["episodeCount"] == 9 and stats["totalEpisodeCount"] == 3 + 8 + 9 + 8 + 9 + 8
    assert sonarr.creations[305288] == 1

    again = call(sonarr, "POST", "/api/v3/series", json=body)
    assert again.status_code == 400
    assert again.json() == [{
        "propertyName": "TvdbId", "errorMessage": "This series has already been added", "attemptedValue": 305288,
        "severity": "error", "errorCode": "SeriesExistsValidator", "formattedMessageArguments": [],
        "formattedMessagePlaceholderValues": {"propertyName": "Tvdb Id", "propertyValue": 305288}}]
    assert sonarr.creations[305288] == 1


def test_sonarr_title_required_unknown_id_and_monitor_none(sonarr):
    r = call(sonarr, "POST", "/api/v3/series", json=series_body(81189, title=""))
    assert r.status_code == 400 and [(f["propertyName"], f["errorCode"]) for f in r.json()] == [
        ("Title", "NotEmptyValidator")]
    sonarr.unknown_ids.add(424242)
    r = call(sonarr, "POST", "/api/v3/series", json=series_body(424242))
    assert r.status_code == 400 and r.json() == [{
        "propertyName": "TvdbId", "errorMessage": "A series with this ID was not found. Path: ",
        "attemptedValue": 424242, "severity": "error"}]
    r = call(sonarr, "POST", "/api/v3/series", json=series_body(0))
    assert [f["errorCode"] for f in r.json()] == ["GreaterThanValidator"]
    r = call(sonarr, "POST", "/api/v3/series", json=series_body(7001, addOptions={"monitor": "none"}))
    assert r.status_code == 201 and r.json()["monitored"] is False
    assert not any(x["monitored"] for x in r.json()["seasons"])
    assert sonarr.creations == {7001: 1}


def test_sonarr_lookup_filter_and_404(sonarr):
    assert call(sonarr, "GET", "/api/v3/series/lookup", params={"term": "tvdb:1"}).json()[0].get("id") is None
    sonarr.unknown_ids.add(1)
    assert call(sonarr, "GET", "/api/v3/series/lookup", params={"term": "tvdb:1"}).json() == []
    assert call(sonarr, "GET", "/api/v3/series/lookup", params={"term": "tvdb:abc"}).json() == []
    lib = sonarr.add_existing(121361, has_file=True)
    found = call(sonarr, "GET", "/api/v3/series/lookup", params={"term": "tvdb:121361"}).json()
    assert found[0]["id"] == lib["id"] and found[0]["statistics"]["episodeFileCount"] == 0  # zeros in lookups
    assert all("statistics" not in s for s in found[0]["seasons"])
    assert call(sonarr, "GET", "/api/v3/series", params={"tvdbId": 121361}).json()[0]["id"] == lib["id"]
    assert call(sonarr, "GET", "/api/v3/series", params={"tvdbId": 5}).json() == []
    assert call(sonarr, "GET", "/api/v3/series/999").status_code == 404


def test_sonarr_episode_files_statistics(sonarr):
    s = sonarr.add_existing(81189)  # seasons 0:9 1:7 2:13 3:13 4:13 5:16
    assert s["statistics"]["totalEpisodeCount"] == 71 and s["statistics"]["episodeCount"] == 62
    sonarr.set_episode_files(81189, 10)
    got = call(sonarr, "GET", f"/api/v3/series/{s['id']}").json()
    per = {x["seasonNumber"]: x["statistics"] for x in got["seasons"]}
    assert per[1]["episodeFileCount"] == 7 and per[1]["percentOfEpisodes"] == 100
    assert per[2]["episodeFileCount"] == 3 and per[0]["episodeFileCount"] == 0
    assert got["statistics"]["episodeFileCount"] == 10 and got["statistics"]["sizeOnDisk"] > 0
    assert got["statistics"]["releaseGroups"]
    sonarr.set_episode_files(81189, {1: 7, 2: 13, 3: 13, 4: 13, 5: 16})
    got = call(sonarr, "GET", f"/api/v3/series/{s['id']}").json()
    assert got["statistics"]["episodeFileCount"] == 62 and got["statistics"]["percentOfEpisodes"] == 100
    assert got["statistics"]["totalEpisodeCount"] == 71  # specials count in the total
    sonarr.set_episode_files(81189, 2, episode_count=4)
    got = call(sonarr, "GET", f"/api/v3/series/{s['id']}").json()
    assert sum(x["statistics"]["totalEpisodeCount"] for x in got["seasons"] if x["seasonNumber"] > 0) == 4
    # unmonitoring a season through PUT changes episodeCount (monitored & aired, or with a file)
    put = call(sonarr, "PUT", f"/api/v3/series/{s['id']}",
               json=dict(got, seasons=[{"seasonNumber": 1, "monitored": False}]))
    assert put.status_code == 202
    s1 = next(x for x in put.json()["seasons"] if x["seasonNumber"] == 1)["statistics"]
    assert s1["episodeCount"] == s1["episodeFileCount"]


def test_sonarr_delete_uses_import_list_exclusion(sonarr):
    s = sonarr.add_existing(81189)
    r = call(sonarr, "DELETE", f"/api/v3/series/{s['id']}",
             params={"deleteFiles": "true", "addImportListExclusion": "true"})
    assert r.status_code == 200 and r.content == b"" and 81189 in sonarr.exclusions
    s = sonarr.add_existing(81189)
    call(sonarr, "DELETE", f"/api/v3/series/{s['id']}", params={"addImportExclusion": "true"})  # Radarr's name
    assert sonarr.find(81189) is None and sonarr.log("DELETE")[-1]["status"] == 200


# =========================================================================== test controls


def test_creations_counter_and_seeding(radarr):
    radarr.add_existing(605, title="Already There")
    radarr.add_many(3, start_id=700)
    assert sum(radarr.creations.values()) == 0 and len(radarr.library) == 4
    assert radarr.find(605)["title"] == "Already There" and radarr.find(605)["path"] == "/movies/Already There (" \
        + str(radarr.find(605)["year"]) + ")"
    with pytest.raises(ValueError):
        radarr.add_existing(605)
    call(radarr, "POST", "/api/v3/movie", json=movie_body(606))
    call(radarr, "POST", "/api/v3/movie", json=movie_body(606))
    assert radarr.creations == {606: 1}
    assert radarr.remove(606) and radarr.find(606) is None
    call(radarr, "POST", "/api/v3/movie", json=movie_body(606))
    assert radarr.creations[606] == 2


def test_requests_log(radarr):
    call(radarr, "GET", "/api/v3/movie", params={"tmdbId": 5})
    call(radarr, "POST", "/api/v3/movie", json=movie_body(5))
    call(radarr, "GET", "/api/v3/movie", key="wrong")
    log = radarr.requests_log
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", "/api/v3/movie", 200), ("POST", "/api/v3/movie", 201), ("GET", "/api/v3/movie", 401)]
    assert log[0]["query"] == {"tmdbId": "5"} and log[0]["json"] is None
    assert log[1]["json"]["tmdbId"] == 5 and log[0]["time"] <= log[1]["time"] <= time.time()
    requests.get(radarr.url + "/ping", timeout=5)
    assert len(radarr.requests_log) == 3  # only API requests are logged


@pytest.mark.parametrize("app", ["radarr", "sonarr"])
def test_fail_mode_and_fail_next(app, request):
    fake = request.getfixturevalue(app)
    fake.fail_mode = "503"
    r = call(fake, "GET", "/api/v3/system/status")
    assert r.status_code == 503
    assert requests.get(fake.url + "/ping", timeout=5).status_code == 200  # only /api fails
    fake.fail_mode = "500"
    r = call(fake, "GET", "/api/v3/system/status")
    assert r.status_code == 500 and set(r.json()) == {"message", "description"}
    fake.fail_mode = None
    fake.fail_next(2, "503")
    codes = [call(fake, "GET", "/api/v3/system/status").status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    with pytest.raises(ValueError):
        fake.fail_mode = "sometimes"
    fake.fail_mode = "close"
    with pytest.raises(requests.ConnectionError):
        call(fake, "GET", "/api/v3/system/status")


def test_failures_do_not_create(radarr):
    radarr.fail_mode = "503"
    assert call(radarr, "POST", "/api/v3/movie", json=movie_body(610)).status_code == 503
    assert radarr.find(610) is None and radarr.creations[610] == 0


def test_timeout_mode_hangs_then_closes(radarr):
    radarr.fail_mode = "timeout"
    radarr.hang_seconds = 0.6
    t0 = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        call(radarr, "GET", "/api/v3/system/status", timeout=0.2)
    with pytest.raises(requests.ConnectionError):  # after hang_seconds the connection is closed unanswered
        call(radarr, "GET", "/api/v3/system/status", timeout=3)
    assert time.monotonic() - t0 >= 0.6
    radarr.hang_seconds = 30
    t0 = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        call(radarr, "GET", "/api/v3/system/status", timeout=0.2)
    radarr.reset()  # ends the hang at once
    assert call(radarr, "GET", "/api/v3/system/status").status_code == 200
    assert time.monotonic() - t0 < 5


def test_delay_slows_api_and_still_processes(radarr):
    radarr.delay = 0.4
    t0 = time.monotonic()
    assert call(radarr, "GET", "/api/v3/system/status").status_code == 200
    assert time.monotonic() - t0 >= 0.4
    t0 = time.monotonic()
    assert requests.get(radarr.url + "/ping", timeout=5).status_code == 200
    assert time.monotonic() - t0 < 0.3
    # a POST whose answer comes too late for the client still lands (the classic lost-answer case)
    with pytest.raises(requests.ReadTimeout):
        call(radarr, "POST", "/api/v3/movie", json=movie_body(611), timeout=0.1)
    deadline = time.monotonic() + 3
    while radarr.find(611) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert radarr.creations[611] == 1


def test_stop_then_start_on_the_same_port(radarr):
    radarr.add_existing(603)
    url = radarr.url
    session = requests.Session()
    assert call(radarr, "GET", "/api/v3/system/status", session=session).status_code == 200
    radarr.stop()
    assert not radarr.running and radarr.url == url
    with pytest.raises(requests.ConnectionError):
        call(radarr, "GET", "/api/v3/system/status", session=session)  # kept-alive connection is gone too
    with pytest.raises(requests.ConnectionError):
        call(radarr, "GET", "/api/v3/system/status")
    radarr.start()
    assert radarr.url == url
    assert call(radarr, "GET", "/api/v3/system/status", session=session).status_code == 200
    assert radarr.find(603) is not None  # the library survives a restart


def test_keep_alive_reuses_one_connection(sonarr):
    before = sonarr.connections_opened
    with requests.Session() as s:
        for _ in range(5):
            assert call(sonarr, "GET", "/api/v3/series", session=s).status_code == 200
        assert call(sonarr, "POST", "/api/v3/series", session=s, json=series_body(81189)).status_code == 201
        assert call(sonarr, "POST", "/api/v3/series", session=s, json=series_body(81189)).status_code == 400
        assert call(sonarr, "GET", "/api/v3/series", session=s, key="nope").status_code == 401
        assert call(sonarr, "GET", "/api/v3/series", session=s).status_code == 200
    assert sonarr.connections_opened - before == 1


@pytest.mark.parametrize("app", ["radarr", "sonarr"])
def test_list_fail_after(app, request):
    fake = request.getfixturevalue(app)
    fake.add_many(10, start_id=100)
    fake.list_fail_after = 0
    r = call(fake, "GET", f"/api/v3/{fake.RESOURCE}")
    assert r.status_code == 500
    fake.list_fail_after = 3
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        call(fake, "GET", f"/api/v3/{fake.RESOURCE}").json()
    # the filtered existence check is not affected
    assert len(call(fake, "GET", f"/api/v3/{fake.RESOURCE}", params={fake.KEY: 100}).json()) == 1
    fake.list_fail_after = None
    assert len(call(fake, "GET", f"/api/v3/{fake.RESOURCE}").json()) == 10


def test_ten_thousand_titles_fast_and_realistic(radarr):
    t0 = time.monotonic()
    radarr.add_many(10_000, start_id=1, has_file=lambda i: i % 4 == 0, monitored=lambda i: i % 10 != 0)
    seeded = time.monotonic() - t0
    t0 = time.monotonic()
    r = call(radarr, "GET", "/api/v3/movie", timeout=30)
    listed = time.monotonic() - t0
    movies = r.json()
    assert len(movies) == 10_000 and len({m["id"] for m in movies}) == 10_000
    assert sum(m["hasFile"] for m in movies) == 2500 and sum(not m["monitored"] for m in movies) == 1000
    per_movie = len(r.content) / len(movies)
    assert 2000 <= per_movie <= 4500, per_movie
    assert seeded < 4 and listed < 4, (seeded, listed)


def test_paths_are_case_insensitive(radarr):
    r = call(radarr, "GET", "/api/v3/qualityProfile")  # Overseerr spells it so
    assert r.status_code == 200 and len(r.json()) == 2
    assert call(radarr, "GET", "/api/v3/rootfolder/").status_code == 200
    assert call(radarr, "GET", "/api/v3/nothing-here").status_code == 404


def test_standalone_cli_serves_both():
    def free_port():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    rp, sp = free_port(), free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.servarr", "--radarr-port", str(rp),
                             "--sonarr-port", str(sp), "--radarr-key", "rk", "--sonarr-key", "sk"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(2)]
        assert f"http://127.0.0.1:{rp}" in lines[0] and "rk" in lines[0], lines
        assert f"http://127.0.0.1:{sp}" in lines[1] and "sk" in lines[1], lines
        r = requests.get(f"http://127.0.0.1:{rp}/api/v3/system/status", headers={"X-Api-Key": "rk"}, timeout=5)
        assert r.json()["appName"] == "Radarr"
        r = requests.get(f"http://127.0.0.1:{sp}/api/v3/system/status", params={"apikey": "sk"}, timeout=5)
        assert r.json()["appName"] == "Sonarr"
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


# =========================================================================== switchable behaviours


@pytest.mark.parametrize("app", ["radarr", "sonarr"])
def test_url_base_serves_under_it_and_redirects_the_rest(app, request):
    fake = request.getfixturevalue(app)
    spec = request.getfixturevalue(f"{app}_spec")
    base = f"/{app}"
    fake.url_base = f"{app}/"  # ConfigFileProvider.UrlBase: trimmed, one leading slash
    assert fake.url_base == base
    r = call(fake, "GET", f"{base}/api/v3/system/status")
    spec.check_response("GET", "/api/v3/system/status", r)
    assert r.json()["urlBase"] == base
    assert call(fake, "GET", f"{base.upper()}/api/v3/system/status").status_code == 200  # PathBase: any case

    res = fake.RESOURCE
    r = call(fake, "GET", f"/api/v3/{res}?{fake.KEY}=603&x=1", allow_redirects=False)
    assert r.status_code == 302 and r.content == b""
    assert r.headers["Location"] == f"{base}/api/v3/{res}?{fake.KEY}=603&x=1"  # relative, query kept
    r = call(fake, "GET", f"/api/v3/{res}", key=None, allow_redirects=False)
    assert r.status_code == 401  # authentication runs before UrlBaseMiddleware
    r = call(fake, "GET", "/ping", key=None, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == f"{base}/ping"
    assert call(fake, "GET", f"{base}/ping", key=None).json() == {"status": "OK"}
    r = call(fake, "GET", f"{base}x/api/v3/tag", allow_redirects=False)  # segment-wise match
    assert r.status_code == 302 and r.headers["Location"] == f"{base}{base}x/api/v3/tag"
    followed = call(fake, "GET", "/api/v3/system/status")  # requests follows, keeping the key (same host)
    assert followed.status_code == 200 and [h.status_code for h in followed.history] == [302]

    body = movie_body(603) if app == "radarr" else series_body(81189)
    r = call(fake, "POST", f"{base}/api/v3/{res}", json=body)
    assert r.status_code == 201 and r.headers["Location"].endswith(f"{base}/api/v3/{res}/{r.json()['id']}")
    assert all(i["url"].startswith(f"{base}/MediaCover/{r.json()['id']}/") for i in r.json()["images"])
    entry = fake.log("POST", f"/api/v3/{res}")[0]
    assert entry["path"] == f"/api/v3/{res}" and entry["path_base"] == base and entry["status"] == 201
    assert fake.log("GET", f"/api/v3/{res}")[0]["status"] == 302
    fake.url_base = ""  # urls handed out follow the setting
    assert fake.find(body[fake.KEY])["images"][0]["url"].startswith("/MediaCover/")
    fake.url_base = base
    fake.reset()
    assert fake.url_base == "" and call(fake, "GET", "/api/v3/system/status").json()["urlBase"] == ""


@pytest.mark.parametrize("app,version", [("radarr", "6.0.4"), ("sonarr", "4.0.19"), ("sonarr", "3.0.10.1567")])
def test_version_and_instance_name_settable(app, version, request):
    fake = request.getfixturevalue(app)
    default = fake.version
    assert default == fake.VERSION
    fake.version, old_name = version, fake.instance_name
    fake.instance_name = f"{fake.APP_NAME} 4K"
    try:
        status = call(fake, "GET", "/api/v3/system/status").json()
        assert status["version"] == version and status["packageVersion"] == version
        assert status["instanceName"] == f"{fake.APP_NAME} 4K"
    finally:
        fake.instance_name = old_name
    fake.reset()
    assert fake.version == default


def test_sonarr_v3_requires_an_existing_language_profile(sonarr, sonarr_spec):
    assert not sonarr.is_v3
    r = call(sonarr, "POST", "/api/v3/series", json=series_body(121361, languageProfileId=7))
    assert r.status_code == 201 and r.json()["languageProfileId"] == 1  # v4: read-only, ignored
    sonarr.version = "3.0.10.1567"
    assert sonarr.is_v3
    r = call(sonarr, "GET", "/api/v3/languageprofile")
    sonarr_spec.check_response("GET", "/api/v3/languageprofile", r)
    assert [(p["id"], p["name"]) for p in r.json()] == [(1, "English")]
    assert call(sonarr, "GET", "/api/v3/languageprofile/1").json()["name"] == "English"
    assert call(sonarr, "GET", "/api/v3/languageprofile/9").status_code == 404

    body = series_body(81189)
    body.pop("languageProfileId")
    r = call(sonarr, "POST", "/api/v3/series", json=body)
    assert r.status_code == 400 and r.json() == [{
        "propertyName": "LanguageProfileId", "errorMessage": "Language profile does not exist", "attemptedValue": 0,
        "severity": "error", "errorCode": "LanguageProfileExistsValidator", "formattedMessageArguments": [],
        "formattedMessagePlaceholderValues": {"propertyName": "Language Profile Id", "propertyValue": 0}}]
    r = call(sonarr, "POST", "/api/v3/series", json=dict(body, languageProfileId=2, qualityProfileId=9))
    assert [f["errorCode"] for f in r.json()] == ["QualityProfileExistsValidator", "LanguageProfileExistsValidator"]
    assert sonarr.creations[81189] == 0
    english = {"id": 1, "name": "English"}
    sonarr.language_profiles.append({"name": "Original", "upgradeAllowed": False, "cutoff": english,
                                     "languages": [{"language": english, "allowed": True}], "id": 2})
    r = call(sonarr, "POST", "/api/v3/series", json=dict(body, languageProfileId=2))
    assert r.status_code == 201 and r.json()["languageProfileId"] == 2
    put = call(sonarr, "PUT", f"/api/v3/series/{r.json()['id']}", json={k: v for k, v in r.json().items()
                                                                         if k != "languageProfileId"})
    assert put.status_code == 400 and put.json()[0]["propertyName"] == "LanguageProfileId"  # SharedValidator
    sonarr.reset()
    assert not sonarr.is_v3 and call(sonarr, "GET", "/api/v3/languageprofile").json()[0]["name"] == "Deprecated"


@pytest.mark.parametrize("app,index", [("radarr", "MovieMetadata.TmdbId"), ("sonarr", "Series.TvdbId")])
def test_race_on_add_stores_the_title_and_answers_409(app, index, request):
    fake = request.getfixturevalue(app)
    make = movie_body if app == "radarr" else series_body
    res = fake.RESOURCE
    fake.race_on_add = True
    r = call(fake, "POST", f"/api/v3/{res}", json=make(7001, qualityProfileId=9))
    assert r.status_code == 400 and fake.race_on_add is True  # validation first: the race is still to come
    r = call(fake, "POST", f"/api/v3/{res}", json=make(7001))
    assert r.status_code == 409
    body = r.json()
    assert body["message"] == f"constraint failed\nUNIQUE constraint failed: {index}"
    if app == "radarr":
        assert body == {"message": body["message"]}  # a new ErrorModel { Message }: no description
    else:
        assert set(body) == {"message", "description"} and "SQLiteException" in body["description"]
    assert fake.find(7001) is not None and fake.creations[7001] == 1  # the concurrent add's 201
    assert fake.race_on_add is False
    again = call(fake, "POST", f"/api/v3/{res}", json=make(7001))
    assert again.status_code == 400 and again.json()[0]["errorCode"].endswith("ExistsValidator")
    assert len(call(fake, "GET", f"/api/v3/{res}", params={fake.KEY: 7001}).json()) == 1
    fake.race_on_add = 2
    codes = [call(fake, "POST", f"/api/v3/{res}", json=make(i)).status_code for i in (7002, 7003, 7004)]
    assert codes == [409, 409, 201]
    assert fake.creations == {7001: 1, 7002: 1, 7003: 1, 7004: 1}


def _queue(fake, **params):
    r = call(fake, "GET", "/api/v3/queue", params=params)
    assert r.status_code == 200, r.text
    return r


def test_radarr_queue_moves_a_download_along(radarr, radarr_spec):
    spec = radarr_spec
    r = _queue(radarr)
    spec.check_response("GET", "/api/v3/queue", r)
    assert r.json() == {"page": 1, "pageSize": 10, "sortKey": "timeleft", "sortDirection": "descending",
                        "totalRecords": 0, "records": []}
    m = radarr.add_existing(603)
    radarr.add_existing(550)
    item = radarr.queue_add(603, size=8_000_000_000)
    assert item["movieId"] == m["id"] and item["size"] == item["sizeleft"] == 8_000_000_000
    assert item["status"] == "downloading" and item["trackedDownloadState"] == "downloading"
    assert item["trackedDownloadStatus"] == "ok" and item["protocol"] == "torrent" and item["statusMessages"] == []
    assert re.fullmatch(r"[0-9A-F]{40}", item["downloadId"]) and item["title"].startswith("The.Matrix.1999.")
    assert item["timeleft"] == "00:10:40" and "estimatedCompletionTime" in item and "movie" not in item
    radarr.queue_add(550, sizeleft=0, status="completed", tracked_state="importPending")
    radarr.queue_add(424242, protocol="usenet", status="queued")  # not in the library
    r = _queue(radarr)
    spec.check_response("GET", "/api/v3/queue", r)
    assert r.json()["totalRecords"] == 2 and [x["movieId"] for x in r.json()["records"]] == [m["id"], m["id"] + 1]
    r = _queue(radarr, includeUnknownMovieItems="true", includeMovie="true")
    spec.check_response("GET", "/api/v3/queue", r)
    records = r.json()["records"]
    assert r.json()["totalRecords"] == 3 and records[0]["downloadClient"] == "SABnzbd"
    assert "movieId" not in records[0] and "timeleft" not in records[0]  # queued: no time left known yet
    assert records[1]["movie"]["id"] == m["id"] and "hasFile" not in records[1]["movie"]
    assert all("url" not in i for i in records[1]["movie"]["images"])  # stored covers: remote urls only
    assert [x["movieId"] for x in _queue(radarr, movieIds=m["id"]).json()["records"]] == [m["id"]]
    assert _queue(radarr, status="completed").json()["totalRecords"] == 1

    done = radarr.queue_progress(603, sizeleft=2_000_000_000)
    assert done["sizeleft"] == 2_000_000_000 and done["timeleft"] == "00:02:40"
    warned = radarr.queue_progress(603, sizeleft=0, status="completed", tracked_state="importBlocked",
                                   tracked_status="warning", status_messages=[
                                       {"title": "The.Matrix.mkv", "messages": ["Not an upgrade"]}])
    r = _queue(radarr, movieIds=m["id"])
    spec.check_response("GET", "/api/v3/queue", r)
    assert r.json()["records"] == [warned] and warned["statusMessages"][0]["messages"] == ["Not an upgrade"]
    assert radarr.queue_remove(603) == 1 and _queue(radarr).json()["totalRecords"] == 1
    with pytest.raises(ValueError):
        radarr.queue_add(603, status="done")
    with pytest.raises(KeyError):
        radarr.queue_progress(603, sizeleft=0)
    assert call(radarr, "GET", "/api/v3/queue", params={"includeMovie": "yes"}).status_code == 400


def test_queue_paging_and_sorting(radarr, radarr_spec):
    radarr.add_many(15, start_id=100)
    for i in range(100, 115):
        radarr.queue_add(i, size=1000, sizeleft=(i - 100) * 50, title=f"Release {chr(ord('A') + i - 100)}")
    r = _queue(radarr)
    assert r.json()["totalRecords"] == 15 and len(r.json()["records"]) == 10  # first page only by default
    lefts = [x["sizeleft"] for x in r.json()["records"]]
    assert lefts == sorted(lefts, reverse=True)  # timeleft, descending when no direction is sent
    r = _queue(radarr, page=2)
    spec = radarr_spec
    spec.check_response("GET", "/api/v3/queue", r)
    assert r.json()["page"] == 2 and len(r.json()["records"]) == 5
    r = _queue(radarr, page=5)  # past the end: page max(15 / 10, 1) in integer division = 1
    assert r.json()["page"] == 1 and len(r.json()["records"]) == 10
    r = _queue(radarr, sortKey="title", sortDirection="ascending", pageSize=20)
    assert [x["title"] for x in r.json()["records"]] == [f"Release {chr(ord('A') + k)}" for k in range(15)]
    assert r.json()["sortKey"] == "title" and r.json()["sortDirection"] == "ascending"
    r = _queue(radarr, sortKey="nonsense", sortDirection="default")
    assert r.json()["sortKey"] == "timeleft" and r.json()["sortDirection"] == "default"
    assert [x["sizeleft"] for x in r.json()["records"]][:3] == [0, 50, 100]


def test_sonarr_queue_per_episode_with_series_and_episode(sonarr, sonarr_spec):
    s = sonarr.add_existing(81189)  # seasons 1..5
    sonarr.set_episode_files(81189, {1: 2})
    first = sonarr.queue_add(81189, season=1, episode=2)
    third = sonarr.queue_add(81189, season=1, episode=3, protocol="usenet")
    assert first["seriesId"] == s["id"] and first["seasonNumber"] == 1 and first["episodeHasFile"] is True
    assert third["episodeHasFile"] is False and third["episodeId"] != first["episodeId"]
    assert ".S01E03." in third["title"] and third["downloadId"].startswith("SABnzbd_nzo_")
    r = _queue(sonarr, includeEpisode="true")  # what Overseerr asks for
    sonarr_spec.check_response("GET", "/api/v3/queue", r)
    eps = {x["episode"]["episodeNumber"]: x for x in r.json()["records"]}
    assert set(eps) == {2, 3} and eps[2]["episode"]["id"] == eps[2]["episodeId"]
    assert eps[2]["episode"]["seriesId"] == s["id"] and "series" not in eps[2]
    r = _queue(sonarr, includeSeries="true", seriesIds=s["id"])
    sonarr_spec.check_response("GET", "/api/v3/queue", r)
    assert r.json()["records"][0]["series"]["id"] == s["id"]
    assert "statistics" not in r.json()["records"][0]["series"]
    moved = sonarr.queue_progress(81189, episode=3, sizeleft=0, status="completed", tracked_state="importing")
    assert moved["episodeId"] == third["episodeId"] and moved["timeleft"] == "00:00:00"
    assert sonarr.queue_remove(81189, episode=2) == 1
    assert [x["episodeId"] for x in _queue(sonarr).json()["records"]] == [third["episodeId"]]
    sonarr.queue_add(999999)
    assert _queue(sonarr).json()["totalRecords"] == 1
    assert _queue(sonarr, includeUnknownSeriesItems="true").json()["totalRecords"] == 2


def _is_jpeg(data: bytes) -> bool:
    markers = jpeg_segments(data)
    return markers[-2:] == [0xDA, 0xD9] and 0xC0 in markers and 0xC4 in markers


@pytest.mark.parametrize("app", ["radarr", "sonarr"])
def test_media_covers_served_and_replaced(app, request):
    fake = request.getfixturevalue(app)
    ext_id = 603 if app == "radarr" else 81189
    res = fake.add_existing(ext_id)
    poster = dict(next(i for i in res["images"] if i["coverType"] == "poster"))  # (res is the live entry)
    assert re.fullmatch(rf"/MediaCover/{res['id']}/poster\.jpg\?lastWrite=\d{{18}}", poster["url"])
    assert poster["remoteUrl"].startswith("https://")
    r = requests.get(fake.url + poster["url"], timeout=5)  # static content: no API key
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/jpeg" and _is_jpeg(r.content)
    assert r.content == fake.cover_bytes(ext_id)
    assert r.headers["Cache-Control"] == "max-age=31536000, public"
    built = r.headers["Last-Modified"]  # the app's build time (CacheHeaderMiddleware), not the file's
    assert built.endswith(" GMT") and built[12:16] == fake.BUILD_TIME[:4]
    small = requests.get(f"{fake.url}/MediaCover/{res['id']}/poster-250.jpg", timeout=5)
    big = requests.get(f"{fake.url}/MediaCover/{res['id']}/poster-500.jpg", timeout=5)
    assert _is_jpeg(small.content) and len({small.content, big.content, r.content}) == 3
    odd = requests.get(f"{fake.url}/MediaCover/{res['id']}/poster-100.jpg", timeout=5)
    assert odd.content == r.content  # no such size: the full-size file
    fan = requests.get(f"{fake.url}/mediacover/{res['id']}/fanart-360.jpg", timeout=5)  # prefix: any case
    assert fan.status_code == 200 and _is_jpeg(fan.content)
    logo = requests.get(f"{fake.url}/MediaCover/{res['id']}/clearlogo.png", timeout=5)
    assert logo.headers["Content-Type"] == "image/png" and logo.content.startswith(b"\x89PNG\r\n\x1a\n")
    for missing in ("Poster.jpg", "poster.png", "headshot.jpg", "poster.jpg.bak", "clearlogo-250.png"):
        assert requests.get(f"{fake.url}/MediaCover/{res['id']}/{missing}", timeout=5).status_code == 404
    assert requests.get(f"{fake.url}/MediaCover/{res['id'] + 50}/poster.jpg", timeout=5).status_code == 404
    assert [e["status"] for e in fake.cover_requests][:2] == [200, 200] and not fake.requests_log

    api = f"/api/v3/mediacover/{res['id']}/poster-250.jpg"
    assert call(fake, "GET", api, key=None).status_code == 401
    r = call(fake, "GET", api)
    assert r.status_code == 200 and r.content == small.content and r.headers["Last-Modified"] != built
    assert call(fake, "GET", api, headers={"If-Modified-Since": r.headers["Last-Modified"]}).status_code == 304

    new = b"\xff\xd8" + b"replaced poster" + b"\xff\xd9"
    img = fake.set_poster(ext_id, new)
    ticks = lambda u: int(u.rsplit("lastWrite=", 1)[1])  # noqa: E731
    assert img["url"].split("?")[0] == poster["url"].split("?")[0] and ticks(img["url"]) > ticks(poster["url"])
    listed = call(fake, "GET", f"/api/v3/{fake.RESOURCE}/{res['id']}").json()
    assert next(i for i in listed["images"] if i["coverType"] == "poster")["url"] == img["url"]
    assert requests.get(fake.url + img["url"], timeout=5).content == new
    assert requests.get(f"{fake.url}/MediaCover/{res['id']}/poster-250.jpg", timeout=5).content == new
    assert requests.get(fake.url + img["url"], timeout=5).headers["Last-Modified"] == built  # unchanged
    r2 = call(fake, "GET", api, headers={"If-Modified-Since": r.headers["Last-Modified"]})
    assert r2.status_code == 200 and r2.content == new  # the API route's Last-Modified is the file's
    fake.set_poster(ext_id)  # None: new made-up bytes
    assert _is_jpeg(fake.cover_bytes(ext_id)) and fake.cover_bytes(ext_id) not in (new, small.content)

    fake.url_base = f"/{app}"
    based = fake.find(ext_id)["images"][0]["url"]
    assert based.startswith(f"/{app}/MediaCover/")
    assert requests.get(fake.url + based, timeout=5).status_code == 200
    r = requests.get(fake.url + based[len(app) + 1:], timeout=5, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == based
