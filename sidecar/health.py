"""Liveness, readiness and metrics: /healthz (the process answers), /readyz (CouchDB and every
Radarr/Sonarr reachable, design docs current), /metrics (Prometheus text format).

/metrics serves this process's counters (webhook events, adds, reconcile runs) plus gauges read
from CouchDB on each scrape, so they are the same whichever process answers: buffer requests by
state (views `pending` and `failed`), the age of the oldest new request (how far the worker is
behind its changes feed), and the last reconcile of any process (`result:reconcile`). With
CouchDB away the scrape still answers: `sidecar_couchdb_up 0` and the CouchDB gauges left out.
"""
from __future__ import annotations

import time
from datetime import datetime

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest

from . import metrics
from .arr import client_for
from .couch import CouchError, CouchUnavailable
from .design import stale_design_docs

bp = Blueprint("health", __name__)

BUFFER_ITEMS = Gauge("sidecar_buffer_items", "Buffer requests by state (new, retry, failed), read on scrape",
                     ["db", "state"])
BUFFER_LAG = Gauge("sidecar_buffer_lag_seconds",
                   "Age of the oldest request still new: how far the worker is behind the changes feed", ["db"])
COUCHDB_UP = Gauge("sidecar_couchdb_up", "1 if CouchDB answered the last scrape")
RECONCILE_LAST_SUCCESS = Gauge("sidecar_reconcile_last_success",
                               "1 if the last reconcile listed every instance and wrote every doc")
RECONCILE_LAST_DURATION = Gauge("sidecar_reconcile_last_duration_seconds", "How long the last reconcile took")


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
        client = client_for(inst, timeout=3)
        try:
            _, problems = client.identify()
            checks[f"{inst.kind}:{inst.name}"] = "; ".join(problems) or "ok"
        finally:
            client.session.close()
    if checks.get("couchdb") == "ok":
        checks.update(_worker_feeds(couch, settings))
        if settings.cors_origins:
            checks["cors"] = _cors_check(couch, settings.cors_origins)
    ready = all(v == "ok" for v in checks.values())
    return jsonify(ready=ready, checks=checks), (200 if ready else 503)


def _cors_check(couch, origins: tuple[str, ...]) -> str:
    """Whether CouchDB lets the browser origins in CORS_ORIGINS replicate: CORS on, each origin
    (or "*") in cors/origins, credentials allowed. CouchDB 3 keeps it under /_node/_local/_config
    (server admins only), pouchdb-server under /_config. A sidecar user that may not read the
    config is not a failure: the check says it could not look."""
    config = None
    for path in ("_node/_local/_config", "_config"):
        resp = couch.request("GET", path)
        if resp.status_code == 200:
            config = resp.json()
            break
        if resp.status_code in (401, 403):
            return "ok"  # not an admin: nothing to check with (docs/frontend.md says how to set it)
    if not isinstance(config, dict):
        return "ok"
    enabled = str((config.get("chttpd") or {}).get("enable_cors") or (config.get("httpd") or {}).get("enable_cors"))
    cors = config.get("cors") or {}
    allowed = {o.strip().rstrip("/") for o in str(cors.get("origins") or "").split(",") if o.strip()}
    problems = []
    if enabled.lower() != "true":
        problems.append("CORS is off in CouchDB (chttpd/enable_cors)")
    missing = [o for o in origins if "*" not in allowed and o.rstrip("/") not in allowed]
    if missing:
        problems.append(f"CouchDB's cors/origins does not allow {', '.join(missing)}")
    if str(cors.get("credentials", "")).lower() != "true":
        problems.append("cors/credentials is not true (a signed-in page cannot sync)")
    return "; ".join(problems) + " — see docs/frontend.md, CORS" if problems else "ok"


WORKER_REPORT_FRESH = 60.0  # seconds: a worker whose last report is older is gone, not broken
FEED_GRACE = 10.0  # seconds a feed may be reconnecting before readiness says so


def _worker_feeds(couch, settings) -> dict[str, str]:
    """Checks from the workers' own reports (`worker:<id>` in SIDECAR_DB): one per worker that
    reported in the last minute, "ok" or which feeds it cannot follow and why. A web process
    runs without a worker too, so no report is no failure."""
    try:
        rows = couch.db(settings.sidecar_db).all_docs(startkey="worker:", endkey="worker:\ufff0")
    except (CouchUnavailable, CouchError):
        return {}
    checks = {}
    now = time.time()
    for row in rows:
        doc = row.get("doc") or {}
        if not isinstance(doc.get("at_ts"), (int, float)) or now - doc["at_ts"] > WORKER_REPORT_FRESH:
            continue
        broken = [f"{name} cannot follow its database: {(f or {}).get('error') or 'not connected'}"
                  for name, f in sorted((doc.get("feeds") or {}).items())
                  if not (f or {}).get("following") and (f or {}).get("failing_since")
                  and now - f["failing_since"] > FEED_GRACE]
        checks[row["id"]] = "; ".join(broken) or "ok"
    return checks


@bp.get("/metrics")
def metrics_endpoint():
    _refresh_from_couch()
    return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)


def _age_seconds(iso: str | None) -> float:
    try:
        then = datetime.fromisoformat((iso or "").replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return max(0.0, time.time() - then.timestamp())


def _refresh_from_couch() -> None:
    settings = current_app.config["SETTINGS"]
    couch = current_app.extensions["couch_scrape"]
    BUFFER_ITEMS.clear()  # states that went to zero disappear from the view: start afresh
    BUFFER_LAG.clear()
    up = 1
    for name in (settings.movies_buffer_db, settings.series_buffer_db):
        db = couch.db(name)
        try:
            counts = {"new": 0, "retry": 0, "failed": 0}
            for row in db.view("buffer", "pending", group_level=1)["rows"]:
                counts[row["key"][0]] = row["value"]
            for row in db.view("buffer", "failed")["rows"]:
                counts["failed"] = row["value"]
            oldest = db.view("buffer", "pending", reduce=False, startkey=["new", ""], endkey=["new", {}], limit=1)
            lag = _age_seconds(oldest["rows"][0]["key"][1]) if oldest["rows"] else 0.0
        except CouchUnavailable:
            up = 0
            break
        except CouchError:
            continue  # e.g. design doc missing: report the rest
        for state, n in counts.items():
            BUFFER_ITEMS.labels(name, state).set(n)
        BUFFER_LAG.labels(name).set(lag)
    if up:
        try:
            last = couch.db(settings.sidecar_db).get("result:reconcile")
        except CouchUnavailable:
            up, last = 0, None
        except CouchError:
            last = None
        if last:
            metrics.RECONCILE_LAST.set(last.get("finished_ts", 0))
            for key in ("added", "updated", "removed", "unchanged", "errors"):
                metrics.RECONCILE_LAST_DOCS.labels(key).set(last.get(key, 0))
            RECONCILE_LAST_SUCCESS.set(1 if last.get("outcome") == "ok" else 0)
            RECONCILE_LAST_DURATION.set(last.get("duration", 0))
    COUCHDB_UP.set(up)
