"""The Flask app factory (served by gunicorn: `gunicorn 'sidecar.app:create_app()'`).

Web workers are stateless: every request reads and writes CouchDB; the buffer worker runs in
its own process (`python -m sidecar worker`). Blueprints: health (/healthz, /readyz, /metrics),
webhooks (/webhooks/radarr, /webhooks/sonarr), reconcile (POST /reconcile), webui (the page, /app/).
"""
from __future__ import annotations

import json

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from .config import Settings, load_settings
from .couch import Couch, CouchError, CouchUnavailable
from .logs import setup_logging


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    setup_logging(settings)
    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    # werkzeug refuses larger bodies (413) when a view reads them, chunked uploads included
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["couch"] = Couch(settings.couchdb_url, settings.couch_auth)
    # /metrics must answer even when CouchDB hangs: its reads give up fast
    app.extensions["couch_scrape"] = Couch(settings.couchdb_url, settings.couch_auth, timeout=3.0)

    from . import health, reconcile, webhooks, webui

    app.register_blueprint(health.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(reconcile.bp)
    app.register_blueprint(webui.bp)

    @app.errorhandler(CouchUnavailable)
    def couch_down(exc):
        # CouchDB away is weather, not a crash: the caller (Radarr/Sonarr, cron) sees 503
        resp = jsonify(error="couchdb_unavailable", message="CouchDB cannot be reached; try again later")
        resp.headers["Retry-After"] = "30"
        return resp, 503

    @app.errorhandler(CouchError)
    def couch_error(exc):
        return jsonify(error="couchdb_error", message=f"CouchDB answered {exc.status} {exc.error}"), 502

    @app.errorhandler(413)
    def too_large(exc):
        return jsonify(error="payload_too_large", message=f"request body over {settings.max_body_bytes} bytes"), 413

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # JSON for every HTTP error (404, 405 with its Allow header, ...), like the rest of the API
        resp = exc.get_response()
        resp.data = json.dumps({"error": (exc.name or "error").lower().replace(" ", "_"),
                                "message": exc.description})
        resp.content_type = "application/json"
        return resp

    return app
