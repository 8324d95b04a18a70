"""The small web page (web/): a frontend to try the contract with, served at /app/.

The page never calls the sidecar's API: it only loads its files and `config.json` (where
CouchDB is, which databases) from here, then talks to CouchDB itself with PouchDB (local
databases in the browser, live sync over CORS), exactly like the real frontend does.

PouchDB's browser build comes from npm (node_modules/pouchdb/dist/pouchdb.min.js, installed by
`npm ci`); an image without node_modules can copy that file to web/vendor/pouchdb.min.js.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, abort, current_app, jsonify, redirect, send_from_directory

ROOT = Path(__file__).resolve().parent.parent
WEB_DIR = ROOT / "web"
POUCHDB_CANDIDATES = (
    WEB_DIR / "vendor" / "pouchdb.min.js",
    ROOT / "node_modules" / "pouchdb" / "dist" / "pouchdb.min.js",
)
STATIC_FILES = {"index.html", "app.js", "style.css", "collection.js", "search.js", "collection.css"}
# where a search result's poster may come from (the lookup answers name TMDb/TheTVDB images)
REMOTE_IMAGES = "https://image.tmdb.org https://artworks.thetvdb.com"

bp = Blueprint("webui", __name__)


def browser_couch_url(settings) -> str:
    """The CouchDB URL as the browser must use it: PUBLIC_COUCHDB_URL when the settings have one
    (the sidecar may reach CouchDB by an internal name such as http://couchdb:5984), else
    COUCHDB_URL; never with credentials in it."""
    url = getattr(settings, "public_couchdb_url", None) or settings.couchdb_url
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _no_cache(resp, store: bool = False):
    resp.headers["Cache-Control"] = "no-store" if store else "no-cache"
    return resp


@bp.after_request
def _security_headers(resp):
    settings = current_app.config["SETTINGS"]
    # the page may only talk to itself and to CouchDB; no inline script, no eval
    resp.headers.setdefault(
        "Content-Security-Policy",
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: {REMOTE_IMAGES}; "
        f"connect-src 'self' {_origin(browser_couch_url(settings))}; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "no-referrer")
    return resp


@bp.get("/app")
def app_root():
    return redirect("/app/", code=308)


@bp.get("/app/")
def index():
    return _no_cache(send_from_directory(WEB_DIR, "index.html"))


@bp.get("/app/config.json")
def config():
    settings = current_app.config["SETTINGS"]
    return _no_cache(jsonify(
        couchdb_url=browser_couch_url(settings),
        databases={
            "movies_buffer": settings.movies_buffer_db,
            "movies": settings.movies_db,
            "series_buffer": settings.series_buffer_db,
            "series": settings.series_db,
        },
    ), store=True)


@bp.get("/app/lookups.json")
def lookups_config():
    """The lookups database (title search, web/search.js): apart from config.json, whose shape
    the page and its tests pin down."""
    settings = current_app.config["SETTINGS"]
    return _no_cache(jsonify(lookups=settings.lookups_db), store=True)


@bp.get("/app/vendor/pouchdb.min.js")
def pouchdb_bundle():
    for candidate in POUCHDB_CANDIDATES:
        if candidate.is_file():
            return _no_cache(send_from_directory(candidate.parent, candidate.name, mimetype="text/javascript"))
    return ("pouchdb.min.js not found: run `npm ci` in the project folder (it installs pouchdb), "
            "or copy node_modules/pouchdb/dist/pouchdb.min.js to web/vendor/\n",
            503, {"Content-Type": "text/plain; charset=utf-8"})


@bp.get("/app/<name>")
def static_file(name: str):
    if name not in STATIC_FILES:
        abort(404)
    return _no_cache(send_from_directory(WEB_DIR, name))
