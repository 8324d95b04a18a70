"""Wish actions: what each `action` of a wish does in Radarr/Sonarr (docs/data-model.md, "Wish
actions"). One small handler per action, all of one shape — (client, wish, look_first) →
Outcome — behind one table the worker dispatches on; the worker's claim → act → record steps
are the same for all of them.

Every handler is idempotent, as the worker's crash safety needs (a crash after the act and
before the record re-runs the act): monitoring what is monitored, or removing what is gone,
changes nothing. A search started twice after a crash is the one repeat, and harmless.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .arr import PermanentArrError, ServarrClient


@dataclass
class Outcome:
    """What an action did. resource: the title as Radarr/Sonarr has it now (None: not in the
    library); what: a word for logs and metrics (added, found, monitored, searched, unmonitored,
    removed, absent)."""
    resource: dict | None
    what: str

    @property
    def removed(self) -> bool:
        return self.resource is None


def _seasons(wish: dict) -> list[int]:
    return sorted({int(n) for n in ((wish.get("options") or {}).get("seasons") or [])})


def _monitored(client: ServarrClient, resource: dict, wish: dict, monitored: bool = True) -> tuple[dict, bool]:
    """The title (and, for a series, the wish's seasons) set to `monitored`; (resource, changed).
    Seasons not asked for keep their flags (what Overseerr does on a request for more seasons)."""
    asked = _seasons(wish)
    # stopping some seasons leaves the series as it is; asking for any monitors the series
    wanted = dict(resource) if (asked and not monitored) else dict(resource, monitored=monitored)
    if client.kind == "sonarr" and asked:
        seasons = [dict(s) for s in resource.get("seasons") or []]
        known = {s.get("seasonNumber") for s in seasons}
        seasons += [{"seasonNumber": n, "monitored": monitored} for n in asked if n not in known]
        for season in seasons:
            if season.get("seasonNumber") in asked:
                season["monitored"] = monitored
        wanted["seasons"] = seasons
    elif client.kind == "sonarr" and not monitored:
        wanted["seasons"] = [dict(s, monitored=False) for s in resource.get("seasons") or []]
    if wanted == resource:
        return resource, False
    return client.update(wanted), True


def ensure(client: ServarrClient, wish: dict, look_first: bool) -> Outcome:
    """download / monitor: add the title if it is missing; if it is there, apply the wish to it —
    monitor it and the asked seasons, and for `download` search them (a movie with a file is not
    searched again)."""
    resource, created = client.add(wish, look_first=look_first)
    if created:
        return Outcome(resource, "added")
    resource, changed = _monitored(client, resource, wish)
    if wish.get("action") == "download" and not (client.kind == "radarr" and resource.get("hasFile")):
        client.search(resource["id"], _seasons(wish) or None)
        return Outcome(resource, "searched")
    return Outcome(resource, "monitored" if changed else "found")


def search_again(client: ServarrClient, wish: dict, look_first: bool) -> Outcome:
    """search: search again for a title (its asked seasons) that is stuck; a title not in the
    library yet is added and searched, as `download` would."""
    existing = client.find(int(wish[client.id_field]))
    if existing is None:
        return ensure(client, {**wish, "action": "download"}, look_first=False)
    client.search(existing["id"], _seasons(wish) or None)
    return Outcome(existing, "searched")


def unmonitor(client: ServarrClient, wish: dict, look_first: bool) -> Outcome:
    """unmonitor: stop monitoring the title (or only the asked seasons); nothing to do for a
    title that is not in the library."""
    existing = client.find(int(wish[client.id_field]))
    if existing is None:
        return Outcome(None, "absent")
    resource, changed = _monitored(client, existing, wish, monitored=False)
    return Outcome(resource, "unmonitored" if changed else "found")


def remove(client: ServarrClient, wish: dict, look_first: bool) -> Outcome:
    """remove: delete the title from Radarr/Sonarr, with its files and an import-list exclusion
    when the wish's options say so (validate_doc_update lets only REMOVE_ROLE ask for it)."""
    existing = client.find(int(wish[client.id_field]))
    if existing is not None:
        opts = wish.get("options") or {}
        client.delete(existing["id"], delete_files=bool(opts.get("deleteFiles")),
                      exclude=bool(opts.get("addImportExclusion")))
    return Outcome(None, "removed" if existing is not None else "absent")


Handler = Callable[[ServarrClient, dict, bool], Outcome]
HANDLERS: dict[str, Handler] = {
    "download": ensure,
    "monitor": ensure,
    "search": search_again,
    "unmonitor": unmonitor,
    "remove": remove,
}


def act(client: ServarrClient, wish: dict, look_first: bool) -> Outcome:
    """Run the wish's action. Raises ArrError (PermanentArrError for an action no handler knows:
    validate_doc_update keeps those out, so only a newer frontend could send one)."""
    handler = HANDLERS.get(wish.get("action") or "")
    if handler is None:
        raise PermanentArrError("unknown_action", f"the sidecar does not know the action {wish.get('action')!r}")
    return handler(client, wish, look_first)
