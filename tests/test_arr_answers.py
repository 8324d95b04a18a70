"""Radarr and Sonarr as people run them: behind reverse proxies, with a URL base, answering
in shapes the happy path never sees. Each kind of answer gets a readable, transient reason (or
success after a look-up), never raw HTML in a doc and never an `internal` error code.

The far side is either the fake Radarr or a small loopback server (`FarSide`) that answers what a
proxy, a login page or a racing Radarr really sends (reference README §2, §5, §8.1).
"""
from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sidecar.config import ArrInstance
from tests.conftest import WEBHOOK_AUTH, movie_request, replace, wait_for

Answer = tuple[int, dict, bytes]


class FarSide:
    """A loopback HTTP server whose answers a test scripts: answer(method, path, query, json)
    returns (status, headers, body). Every request is kept in `seen`."""

    def __init__(self, answer: Callable[[str, str, dict, object], Answer]):
        self.answer, self.seen = answer, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                split = urlsplit(self.path)
                body = json.loads(raw) if raw.strip() else None
                outer.seen.append((self.command, split.path, parse_qs(split.query), body))
                status, headers, payload = outer.answer(self.command, split.path, parse_qs(split.query), body)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def jsonb(status: int, body) -> Answer:
    return status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(body).encode()


def html(status: int, title: str) -> Answer:
    page = f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1><p>nginx</p></body></html>"
    return status, {"Content-Type": "text/html"}, page.encode()


def movie_resource(tmdb_id: int, arr_id: int = 1) -> dict:
    return {"id": arr_id, "title": "The Matrix", "year": 1999, "tmdbId": tmdb_id, "monitored": True, "hasFile": False,
            "statistics": {"movieFileCount": 0, "sizeOnDisk": 0}}


@pytest.fixture
def far_side():
    servers = []

    def start(answer):
        s = FarSide(answer)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


def radarr_at(settings, url: str):
    return replace(settings, radarr=(ArrInstance("radarr", "default", url, "k", 1, "/movies"),))


def wish_error(couch, settings, doc_id: str) -> dict:
    db = couch.db(settings.movies_buffer_db)
    doc = wait_for(lambda: (d := db.get(doc_id)) and d.get("state") in ("retry", "failed") and d, timeout=15,
                   message=f"{doc_id} failed once")
    assert doc["state"] == "retry", f"a far-side answer must never fail a wish for good: {doc}"
    err = doc["last_error"]
    assert "<" not in err["message"] and err["code"] != "internal", err
    return err


# --------------------------------------------------------------------------- 1. URL base


def test_a_missing_url_base_is_named_and_nothing_is_followed(settings, couch, far_side, start_worker):
    """Radarr's URL base is /radarr, RADARR_URL leaves it out: Radarr redirects every call."""
    def answer(method, path, query, body):
        if path.startswith("/radarr/"):
            return jsonb(200, [])
        return 302, {"Location": "/radarr" + path}, b""
    side = far_side(answer)
    start_worker(radarr=radarr_at(settings, side.url).radarr)
    couch.db(settings.movies_buffer_db).put(
        {"_id": "tmdb:672", "type": "movie", "tmdbId": 672, "title": "x", "action": "download",
         "requested_at": "2026-11-25T10:00:00Z"})
    err = wish_error(couch, settings, "tmdb:672")
    assert err["code"] == "redirected"
    assert "URL base is /radarr" in err["message"] and f"RADARR_URL to {side.url}/radarr" in err["message"]
    assert not [r for r in side.seen if r[1].startswith("/radarr/")], "a redirect was followed"
    assert [r[0] for r in side.seen if r[1] == "/api/v3/movie"][:1] == ["POST"]  # never turned into a GET


def test_readyz_names_the_missing_url_base(settings, far_side, sidecar):
    side = far_side(lambda m, path, q, b: (302, {"Location": "/radarr" + path}, b""))
    web = sidecar(radarr_at(settings, side.url))
    body = requests.get(f"{web.url}/readyz", timeout=10).json()
    assert body["ready"] is False and "URL base is /radarr" in body["checks"]["radarr:default"]


def test_a_login_redirect_of_an_auth_proxy_is_named_without_its_query(settings, couch, far_side, start_worker):
    side = far_side(lambda m, p, q, b: (302, {"Location": "https://auth.example.test/login?rd=secret-token"}, b""))
    start_worker(radarr=radarr_at(settings, side.url).radarr)
    couch.db(settings.movies_buffer_db).put(movie_request(680))
    err = wish_error(couch, settings, "tmdb:680")
    assert "auth.example.test/login" in err["message"] and "secret-token" not in err["message"]


# --------------------------------------------------------------------------- 2. every "already there"


def test_a_409_from_two_racing_adds_is_success_after_a_look_up(settings, couch, far_side, start_worker):
    stored = {}

    def answer(method, path, query, body):
        if method == "POST" and path == "/api/v3/movie":
            stored[body["tmdbId"]] = movie_resource(body["tmdbId"], 7)  # the other add won
            return jsonb(409, {"message": "constraint failed\nUNIQUE constraint failed: MovieMetadata.TmdbId",
                               "description": "code = Constraint (19)"})
        if method == "GET" and path == "/api/v3/movie":
            found = stored.get(int(query["tmdbId"][0]))
            return jsonb(200, [found] if found else [])
        if method == "POST" and path == "/api/v3/command":  # the wish's search, on the title found
            return jsonb(201, {"id": 1, "name": body["name"], "status": "queued"})
        return jsonb(404, {"message": "NotFound"})
    side = far_side(answer)
    start_worker(radarr=radarr_at(settings, side.url).radarr)
    couch.db(settings.movies_buffer_db).put(movie_request(672))
    doc = wait_for(lambda: couch.db(settings.movies_db).get("tmdb:672"), timeout=15, message="moved")
    assert doc["radarrId"] == 7
    assert [(m, p) for m, p, _, _ in side.seen].count(("POST", "/api/v3/movie")) == 1


def test_an_add_whose_answer_is_lost_is_found_after(settings, couch, fake_radarr, start_worker):
    fake_radarr.delay = 1.5  # the POST lands, its answer comes after our timeout
    start_worker(arr_timeout=0.5)
    couch.db(settings.movies_buffer_db).put(movie_request(681))
    time.sleep(1.0)
    fake_radarr.delay = 0
    wait_for(lambda: couch.db(settings.movies_db).get("tmdb:681"), timeout=20, message="moved")
    assert fake_radarr.creations[681] == 1


# --------------------------------------------------------------------------- 4. answers that are not Radarr's


@pytest.mark.parametrize("answer,code,words", [
    (html(400, "400 Bad Request"), "not_radarr", "web page (\"400 Bad Request\")"),
    (html(502, "502 Bad Gateway"), "not_radarr", "proxy in front of Radarr answered 502"),
    (html(401, "Sign in"), "not_radarr", "authentication proxy"),
    (html(200, "Authelia - Login"), "not_radarr", "login page"),
    ((404, {}, b""), "not_radarr", "without Radarr's error details"),
    ((504, {"Content-Type": "text/plain"}, b"upstream timed out"), "http_504", "without details"),
    ((201, {"Content-Type": "application/json"}, b""), "not_radarr", "without the movie it created"),
])
def test_answers_that_are_not_radarrs_are_transient_and_readable(settings, couch, far_side, start_worker,
                                                                 answer, code, words):
    def respond(method, path, query, body):
        if method == "GET" and path == "/api/v3/movie":
            return jsonb(200, [])
        return answer
    side = far_side(respond)
    start_worker(radarr=radarr_at(settings, side.url).radarr)
    couch.db(settings.movies_buffer_db).put(movie_request(690))
    err = wish_error(couch, settings, "tmdb:690")
    assert err["code"] == code and words in err["message"], err


def test_radarrs_own_validation_failure_still_fails_for_good_with_a_hint(settings, couch, fake_radarr, start_worker):
    start_worker(radarr=(ArrInstance("radarr", "default", fake_radarr.url, fake_radarr.api_key, 99, "/movies"),))
    couch.db(settings.movies_buffer_db).put(movie_request(691))
    db = couch.db(settings.movies_buffer_db)
    doc = wait_for(lambda: (d := db.get("tmdb:691")) and d.get("state") == "failed" and d, message="failed")
    assert "Quality Profile does not exist" in doc["last_error"]["message"]
    assert "RADARR_QUALITY_PROFILE_ID" in doc["last_error"]["message"]


# --------------------------------------------------------------------------- /readyz: is it the app we think


def test_readyz_says_which_app_answers_and_whether_the_key_works(settings, fake_radarr, fake_sonarr, sidecar):
    swapped = replace(settings, radarr=(ArrInstance("radarr", "default", fake_sonarr.url, fake_sonarr.api_key, 1,
                                                    "/movies"),),
                      sonarr=(ArrInstance("sonarr", "default", fake_sonarr.url, "wrong-key", 1, "/tv"),))
    body = requests.get(f"{sidecar(swapped).url}/readyz", timeout=10).json()
    assert "reaches Sonarr" in body["checks"]["radarr:default"] and "not Radarr" in body["checks"]["radarr:default"]
    assert "refused the API key" in body["checks"]["sonarr:default"]
    assert "SONARR_API_KEY" in body["checks"]["sonarr:default"]


def test_readyz_checks_the_instance_name_webhooks_are_matched_by(settings, fake_radarr, sidecar):
    named = replace(settings, radarr=(ArrInstance("radarr", "default", fake_radarr.url, fake_radarr.api_key, 1,
                                                  "/movies", instance_name="Radarr 4K"),))
    body = requests.get(f"{sidecar(named).url}/readyz", timeout=10).json()
    assert "RADARR_INSTANCE_NAME is 'Radarr 4K'" in body["checks"]["radarr:default"]


# --------------------------------------------------------------------------- 3. header encodings


def _basic(user: str, password: str, charset: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode(charset)).decode()}


@pytest.mark.parametrize("charset", ["iso-8859-1", "utf-8"])
def test_webhook_password_with_non_ascii_characters(settings, sidecar, charset):
    s = replace(settings, webhook_password="Pässwörd-ñ")
    web = sidecar(s)
    ok = web.hook("radarr", {"eventType": "Test", "instanceName": "Radarr"}, auth=None,
                  headers=_basic(WEBHOOK_AUTH[0], "Pässwörd-ñ", charset))
    assert ok.status_code == 200
    wrong = web.hook("radarr", {"eventType": "Test", "instanceName": "Radarr"}, auth=None,
                     headers=_basic(WEBHOOK_AUTH[0], "Passwörd-ñ", charset))
    assert wrong.status_code == 401


# --------------------------------------------------------------------------- one slow add


def test_one_slow_add_does_not_hold_up_new_wishes(settings, couch, far_side, start_worker):
    def answer(method, path, query, body):
        if method == "POST" and path == "/api/v3/movie":
            if body["tmdbId"] == 1:
                time.sleep(6)  # Radarr busy with this one (a slow metadata fetch)
            return jsonb(201, movie_resource(body["tmdbId"], body["tmdbId"]))
        return jsonb(200, [])
    side = far_side(answer)
    start_worker(radarr=radarr_at(settings, side.url).radarr, arr_timeout=10.0)
    buffer, collection = couch.db(settings.movies_buffer_db), couch.db(settings.movies_db)
    buffer.put(movie_request(1))
    wait_for(lambda: (buffer.get("tmdb:1") or {}).get("state") == "processing", message="slow add running")
    t0 = time.monotonic()
    buffer.put(movie_request(2))
    wait_for(lambda: collection.get("tmdb:2"), timeout=5, message="the new wish moved while the slow one runs")
    assert time.monotonic() - t0 < 3 and collection.get("tmdb:1") is None


def test_own_unfinished_claim_is_resumed_not_taken_over(settings, couch, start_worker, caplog):
    buffer = couch.db(settings.movies_buffer_db)
    buffer.put(movie_request(3, state="processing", claimed_by=settings.worker_id,
                             claimed_at="2026-11-25T10:00:00.000Z", attempts=1))
    with caplog.at_level("INFO", logger="sidecar.worker"):
        start_worker()
        wait_for(lambda: couch.db(settings.movies_db).get("tmdb:3"), message="moved")
    text = caplog.text
    assert "resuming own unfinished claim tmdb:3" in text and "taking over stale claim" not in text
