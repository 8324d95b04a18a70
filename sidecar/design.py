"""Design documents: built from the couchapp-style folders in couch/_design/ and pushed
to the databases they belong to.

Folder = object, file name = property (".js" stripped), so couch/_design/buffer/views/pending/map.js
becomes {"views": {"pending": {"map": "..."}}} in `_design/buffer`. Each design doc goes to both
databases of its role, with two settings added per database: `kind` (movie|series) and
`sidecar_role`, which the JS functions read as `this.kind` / `this.sidecar_role`. The sidecar's
own database gets `_design/state`, the lookups database (title searches) `_design/lookups`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import Settings

DESIGN_DIR = Path(__file__).resolve().parent.parent / "couch" / "_design"


def build_tree(folder: Path) -> dict:
    doc: dict = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            doc[entry.name] = build_tree(entry)
        else:
            key = entry.name[:-3] if entry.name.endswith(".js") else entry.name
            doc[key] = entry.read_text(encoding="utf-8").strip()
    return doc


def targets(settings: Settings) -> list[tuple[str, str, str]]:
    """(database, design doc name, kind) for every design doc the sidecar relies on."""
    return [
        (settings.movies_buffer_db, "buffer", "movie"),
        (settings.series_buffer_db, "buffer", "series"),
        (settings.movies_db, "collection", "movie"),
        (settings.series_db, "collection", "series"),
        (settings.sidecar_db, "state", "state"),
        (settings.lookups_db, "lookups", "lookups"),
    ]


def build_design_doc(name: str, kind: str, settings: Settings, design_dir: Path = DESIGN_DIR) -> dict:
    doc = build_tree(design_dir / name)
    doc.update({"_id": f"_design/{name}", "language": "javascript", "kind": kind,
                "sidecar_role": settings.sidecar_role, "remove_role": settings.remove_role})
    return doc


def same_content(built: dict, live: dict | None) -> bool:
    if live is None:
        return False
    return {k: v for k, v in live.items() if k != "_rev"} == built


def ensure_member_role(db, role: str) -> bool:
    """Add the sidecar role to the members of a database that has members (CouchDB 3 creates
    databases admin-only), so a non-admin sidecar user can work; a public db is left alone."""
    security = dict(db.security or {})
    members = dict(security.get("members") or {})
    roles = list(members.get("roles") or [])
    if not (members.get("names") or roles) or role in roles:
        return False
    members["roles"] = roles + [role]
    security["members"] = members
    db.security = security
    return True


def ensure_private(db, role: str) -> bool:
    """Make the sidecar's role the only member of its bookkeeping database (server admins keep
    access), so household members can neither read nor write checkpoints and locks."""
    security = dict(db.security or {})
    wanted = {"names": [], "roles": [role]}
    if security.get("members") == wanted:
        return False
    security["members"] = wanted
    db.security = security
    return True


@dataclass
class PushResult:
    db: str
    ddoc: str
    outcome: str  # created | updated | unchanged | would create | would update
    db_created: bool = False


def push_all(settings: Settings, dry_run: bool = False, design_dir: Path = DESIGN_DIR) -> list[PushResult]:
    """Create missing databases and write each design doc only when its content changed.

    Uses couchdb-python (the design card's tool for the couchapp-style push). Raises
    couchdb.http errors / socket errors on failure; scripts/push_design.py turns those into
    a clear message and a non-zero exit.
    """
    import couchdb

    server = couchdb.Server(settings.couchdb_url)
    if settings.couch_auth:
        server.resource.credentials = settings.couch_auth
    results = []
    for db_name, ddoc_name, kind in targets(settings):
        created = False
        if db_name in server:
            db = server[db_name]
        elif dry_run:
            results.append(PushResult(db_name, ddoc_name, "would create", db_created=True))
            continue
        else:
            db = server.create(db_name)
            created = True
        if not dry_run and ddoc_name == "state":
            ensure_private(db, settings.sidecar_role)
        elif not dry_run:
            ensure_member_role(db, settings.sidecar_role)
        built = build_design_doc(ddoc_name, kind, settings, design_dir)
        live = db.get(built["_id"])
        live_dict = dict(live) if live is not None else None
        if same_content(built, live_dict):
            outcome = "unchanged"
        elif dry_run:
            outcome = "would create" if live is None else "would update"
        else:
            doc = dict(built)
            if live is not None:
                doc["_rev"] = live["_rev"]
            db.save(doc)
            outcome = "created" if live is None else "updated"
        results.append(PushResult(db_name, ddoc_name, outcome, db_created=created))
    return results


def stale_design_docs(couch, settings: Settings) -> list[str]:
    """Names (db/_design/x) of design docs that are missing or differ from the folders."""
    stale = []
    for db_name, ddoc_name, kind in targets(settings):
        live = couch.db(db_name).get(f"_design/{ddoc_name}")
        if not same_content(build_design_doc(ddoc_name, kind, settings), live):
            stale.append(f"{db_name}/_design/{ddoc_name}")
    return stale
