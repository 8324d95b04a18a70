"""Auth for the endpoints that write: HTTP basic auth for webhooks (what Radarr/Sonarr's
Webhook connection sends) and a bearer token for /reconcile. Comparisons are constant-time."""
from __future__ import annotations

import base64
import binascii
import hmac
from functools import wraps

from flask import current_app, jsonify, request


def _same(a: str | None, b: str | None) -> bool:
    if not a or not b:  # an unset or empty secret never matches (an empty *_FILE must not open the door)
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def basic_credentials(header: str | None) -> list[tuple[str, str]]:
    """(user, password) readings of an `Authorization: Basic …` header: as UTF-8 (RFC 7617's
    charset="UTF-8") and as ISO-8859-1, which Radarr 6 and Sonarr 4 use for the bytes of
    user:password (reference README §8.1); [] if it is not Basic auth."""
    scheme, _, data = (header or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return []
    try:
        raw = base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        return []
    readings = []
    for charset in ("utf-8", "iso-8859-1"):
        try:
            user, sep, password = raw.decode(charset).partition(":")
        except UnicodeDecodeError:
            continue
        if sep and (user, password) not in readings:
            readings.append((user, password))
    return readings


def require_basic_auth(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        settings = current_app.config["SETTINGS"]
        # every reading is compared (no early exit), so timing says nothing about which matched
        matches = [_same(user, settings.webhook_user) & _same(password, settings.webhook_password)
                   for user, password in basic_credentials(request.headers.get("Authorization"))]
        ok = settings.webhook_password is not None and any(matches)
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
