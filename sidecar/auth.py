"""Auth for the endpoints that write: HTTP basic auth for webhooks (what Radarr/Sonarr's
Webhook connection sends) and a bearer token for /reconcile. Comparisons are constant-time."""
from __future__ import annotations

import hmac
from functools import wraps

from flask import current_app, jsonify, request


def _same(a: str | None, b: str | None) -> bool:
    if not a or not b:  # an unset or empty secret never matches (an empty *_FILE must not open the door)
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def require_basic_auth(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        settings = current_app.config["SETTINGS"]
        auth = request.authorization
        ok = (settings.webhook_password is not None and auth is not None and auth.type == "basic"
              and _same(auth.username, settings.webhook_user) & _same(auth.password, settings.webhook_password))
        if not ok:
            resp = jsonify(error="unauthorized", message="webhook needs HTTP basic auth (WEBHOOK_USER / WEBHOOK_PASSWORD)")
            resp.status_code = 401
            resp.headers["WWW-Authenticate"] = 'Basic realm="movietracker-sidecar"'
            return resp
        return view(*args, **kwargs)
    return wrapped


def require_token(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        settings = current_app.config["SETTINGS"]
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else request.headers.get("X-Reconcile-Token")
        if not _same(token, settings.reconcile_token):
            resp = jsonify(error="unauthorized", message="needs 'Authorization: Bearer <RECONCILE_TOKEN>'")
            resp.status_code = 401
            resp.headers["WWW-Authenticate"] = 'Bearer realm="movietracker-sidecar"'
            return resp
        return view(*args, **kwargs)
    return wrapped
