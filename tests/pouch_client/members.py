"""A real, plain CouchDB user who is a member of the test's databases: how a frontend signs in
on CouchDB 3, where new databases are admin-only. Used by the PouchDB client tests and the
browser tests; on the local pouchdb-server too, where an authenticated user gets its own roles
(not the admin party's `_admin`), so validate_doc_update treats it as the frontend."""
from __future__ import annotations

import contextlib
import secrets
import uuid
from typing import Iterable, Iterator

import requests

MEMBER_ROLE = "household"


@contextlib.contextmanager
def member_user(url: str, admin, dbs: Iterable[str], role: str = MEMBER_ROLE) -> Iterator[dict]:
    """{username, password} of a new user with `role` (no admin), made a member of each of dbs
    (by name and role; the members already there, e.g. the sidecar's role, are kept). The user
    is deleted afterwards; the databases' _security is left (the tests drop the databases)."""
    name, password = f"fan{uuid.uuid4().hex[:10]}", secrets.token_urlsafe(12)
    user_url = f"{url}/_users/org.couchdb.user:{name}"
    r = requests.put(user_url, auth=admin, timeout=10,
                     json={"name": name, "password": password, "roles": [role], "type": "user"})
    assert r.status_code in (201, 202), r.text
    try:
        for db in dbs:
            sec = requests.get(f"{url}/{db}/_security", auth=admin, timeout=10).json() or {}
            members = dict(sec.get("members") or {})
            members["names"] = sorted(set(members.get("names") or []) | {name})
            members["roles"] = sorted(set(members.get("roles") or []) | {role})
            sec["members"] = members
            sec.setdefault("admins", {"names": [], "roles": []})
            r = requests.put(f"{url}/{db}/_security", auth=admin, json=sec, timeout=10)
            assert r.ok, r.text
        ctx = requests.get(f"{url}/_session", auth=(name, password), timeout=10).json()["userCtx"]
        assert ctx == {"name": name, "roles": [role]}, ctx
        yield {"username": name, "password": password}
    finally:
        doc = requests.get(user_url, auth=admin, timeout=10).json()
        if doc.get("_rev"):
            requests.delete(user_url, params={"rev": doc["_rev"]}, auth=admin, timeout=10)
