"""The Flask app factory (served by gunicorn: `gunicorn 'sidecar.app:create_app()'`).

Web workers are stateless: every request reads and writes CouchDB; the buffer worker runs in
its own process (`python -m sidecar worker`).
"""
from __future__ import annotations

from flask import Flask, jsonify

from .config import Settings, load_settings
from .couch import Couch, CouchError, CouchUnavailable
from .logs import setup_logging


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    setup_logging(settings)
    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["couch"] = Couch(settings.couchdb_url, settings.couch_auth)

    from . import health

    app.register_blueprint(health.bp)

    @app.errorhandler(CouchUnavailable)
    def couch_down(exc):
        # CouchDB away is weather, not a crash: the caller (Radarr/Sonarr, cron) sees 503
        return jsonify(error="couchdb_unavailable", message="CouchDB cannot be reached; try again later"), 503

    @app.errorhandler(CouchError)
    def couch_error(exc):
        return jsonify(error="couchdb_error", message=f"CouchDB answered {exc.status} {exc.error}"), 502

    @app.errorhandler(413)
    def too_large(exc):
        return jsonify(error="payload_too_large", message=f"request body over {settings.max_body_bytes} bytes"), 413

    return app
