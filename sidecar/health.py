"""Liveness and readiness: /healthz (the process answers), /readyz (CouchDB and every
Radarr/Sonarr reachable, design docs current)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from .arr import ArrError, client_for
from .couch import CouchError, CouchUnavailable
from .design import stale_design_docs

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    settings = current_app.config["SETTINGS"]
    couch = current_app.extensions["couch"]
    checks: dict[str, str] = {}
    try:
        stale = stale_design_docs(couch, settings)
        checks["couchdb"] = "ok"
        checks["design_docs"] = "ok" if not stale else "stale: " + ", ".join(stale) + " (run scripts/push_design.py)"
    except (CouchUnavailable, CouchError) as exc:
        checks["couchdb"] = f"unreachable: {exc}"
    for inst in settings.radarr + settings.sonarr:
        try:
            client_for(inst, timeout=3).status()
            checks[f"{inst.kind}:{inst.name}"] = "ok"
        except ArrError as exc:
            checks[f"{inst.kind}:{inst.name}"] = f"{exc.code}: {exc.message}"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(ready=ready, checks=checks), (200 if ready else 503)
