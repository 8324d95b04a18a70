"""Conflict policy: all leaves of a document in, the writes that settle it out.

Replication conflicts are normal here (phones edit offline, CouchDB is multi-master; CouchDB's
guide, "Replication and conflict model", leaves resolving them to the application). These are
pure functions, one per database role, used by the resolver job and by the worker before it
claims a wish. They never read the clock for what they write, so two resolvers that see the same
leaves write the same revisions (CouchDB's revision ids are a hash of parent and body), and a
conflict on a resolving write just means somebody else settled it first.

Leaves come as `GET /db/<id>?open_revs=all&revs=true` returns them: each a document with `_rev`,
`_revisions` and, for a deleted leaf, `_deleted: true` (its body kept, since CouchDB and PouchDB
keep the fields of a tombstone written with them). Winner order is CouchDB's: a live leaf beats
a deleted one, then the higher revision position, then the higher revision id as a string.

Buffer (wishes): the frontend owns the request fields, the sidecar its state fields.
- A wish is identified by its `requested_at` (validate_doc_update keeps it fixed across edits;
  a new wish after a withdrawal gets a new one). A deleted leaf that *ends* a wish (the worker's
  move, a withdrawal) ends every live leaf of the same wish: a moved wish is gone, so an offline
  edit of it never resurrects it; a withdrawal wins over sidecar bookkeeping, except while a
  claim is in flight (then the add may already have happened: the worker's next write decides).
- Tombstones say what they are: `ended: "moved" | "withdrawn"` with the wish's `requested_at`
  (worker, webhooks, resolver), `merged_into: <rev>` (a branch merged away: ends nothing). A
  bare tombstone (a frontend's DELETE) ends the wish of its parent revision; the resolver writes
  that down on it (`annotate`) while the parent is still readable (compaction drops it later).
- Live branches of one wish merge field by field: state fields from the branch furthest along
  (attempts, then processing < retry/failed < new), request fields from a branch whose request
  differs from that one (a frontend edit), else from the winner. Nothing merges while a claim is
  in flight: the worker's next write brings the doc back here.

Collection: every branch was written by the one merge (collection.merge) that stamps each fact
with the time it was learnt in `clock`; branches merge fact by fact, the later fact winning, and
`status` is derived again. Losing leaves are deleted (`merged_into`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

from .collection import CLOCKED_EXCLUDE, clock_keys, derive, get_path, parse_iso, set_path

SIDECAR_FIELDS = ("state", "attempts", "last_error", "next_attempt_at", "claimed_by", "claimed_at")
_META = ("_id", "_rev", "_revisions", "_conflicts", "_deleted_conflicts", "_deleted", "_attachments")
_STATE_RANK = {"processing": 1, "retry": 2, "failed": 2, "new": 3}


@dataclass
class Resolution:
    """What settles one document.

    writes: documents to write with normal edits, each carrying the `_rev` of the leaf it
        replaces (a merged body on the winner, tombstones on the other leaves);
    outcome: "none" (nothing to do), "waiting" (a claim is in flight), "merged", "moved",
        "withdrawn" or "annotated" — for logs and the `sidecar_conflicts_resolved_total` metric;
    live: the one live document left when nothing is written (the worker may claim it), else None.
    """
    writes: list[dict] = field(default_factory=list)
    outcome: str = "none"
    live: dict | None = None


def winner_order(leaves: Iterable[dict]) -> list[dict]:
    """Leaves sorted as CouchDB picks its winner: live first, then revision position, then id."""
    def key(leaf: dict):
        pos, _, rid = leaf["_rev"].partition("-")
        return (not leaf.get("_deleted"), int(pos), rid)
    return sorted(leaves, key=key, reverse=True)


def parent_rev(leaf: dict) -> str | None:
    """The revision a leaf was written on, from its `_revisions` (None for a first revision)."""
    ancestors = ancestor_revs(leaf)
    return ancestors[0] if ancestors else None


def ancestor_revs(leaf: dict, limit: int = 20) -> list[str]:
    """The revisions a leaf descends from, nearest first, from its `_revisions`."""
    revs = leaf.get("_revisions") or {}
    ids = (revs.get("ids") or [])[1:limit + 1]
    return [f"{revs['start'] - 1 - i}-{rid}" for i, rid in enumerate(ids)]


def body(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in _META}


def _same(a: dict, b: dict) -> bool:
    return json.dumps(body(a), sort_keys=True) == json.dumps(body(b), sort_keys=True)


def _tombstone(leaf: dict, **fields) -> dict:
    return {"_id": leaf["_id"], "_rev": leaf["_rev"], "_deleted": True, **fields}


# --------------------------------------------------------------------------- buffer


def ended_wish(tombstone: dict, parents: dict[str, dict]) -> tuple[str, str | None] | None:
    """(how, requested_at) of the wish a deleted leaf ends, None if it ends nothing.

    A bare tombstone ends the wish of its nearest readable ancestor (as CouchDB validates a
    replicated revision against its nearest ancestor on disk); requested_at None means "unknown"
    (no ancestor readable any more): it ends every wish, so a withdrawal is never lost.
    `parents` maps revision → body of the ancestors that could be read."""
    if tombstone.get("merged_into"):
        return None
    how = tombstone.get("ended") if tombstone.get("ended") in ("moved", "withdrawn") else "withdrawn"
    if tombstone.get("requested_at"):
        return how, tombstone["requested_at"]
    for rev in ancestor_revs(tombstone):
        if rev in parents:
            return how, parents[rev].get("requested_at")
    return how, None


def _in_flight(leaf: dict, now: datetime, claim_timeout: float, idle: str | None = None,
               started: dict[str, str] | None = None) -> bool:
    """A claim younger than claim_timeout, unless it is `idle`'s (a worker that knows it is not
    working on the doc) or its worker started again after taking it (`started`: worker id →
    when its running process started, from the workers' reports): nobody works on those."""
    if leaf.get("state") != "processing" or (idle is not None and leaf.get("claimed_by") == idle):
        return False
    restarted = (started or {}).get(leaf.get("claimed_by") or "")
    if restarted and (leaf.get("claimed_at") or "") < restarted:
        return False
    claimed = parse_iso(leaf.get("claimed_at"))
    return claimed is not None and claimed > now - timedelta(seconds=claim_timeout)


def _progress(leaf: dict) -> tuple:
    state = leaf.get("state") or "new"
    err = leaf.get("last_error") or {}
    at = leaf.get("claimed_at") if state == "processing" else err.get("at") if isinstance(err, dict) else None
    return (int(leaf.get("attempts") or 0), _STATE_RANK.get(state, 0), at or "")


def _request(leaf: dict) -> dict:
    return {k: v for k, v in body(leaf).items() if k not in SIDECAR_FIELDS}


def resolve_buffer(leaves: list[dict], parents: dict[str, dict], now: datetime,
                   claim_timeout: float, idle: str | None = None, started: dict[str, str] | None = None) -> Resolution:
    """Settle a wish's leaves (see the module docstring for the policy).

    leaves: every leaf, live and deleted (open_revs=all, revs=true); parents: revision → body of
    the ancestors of bare tombstones that could still be read; now: aware UTC time (only used to
    tell a claim in flight from a stale one, never written); claim_timeout: seconds; idle: the
    id of the worker asking, which is working on none of this doc's claims; started: worker id →
    ISO time its process started (a claim older than that is nobody's work)."""
    ordered = winner_order(leaves)
    live = [leaf for leaf in ordered if not leaf.get("_deleted")]
    dead = [leaf for leaf in ordered if leaf.get("_deleted")]
    res = Resolution()
    ends: list[tuple[str, str | None]] = []
    for tomb in dead:
        wish = ended_wish(tomb, parents)
        if wish is None:
            continue
        ends.append(wish)
        if not tomb.get("requested_at") and wish[1] is not None and len(ordered) > 1:
            # write down which wish this bare tombstone ended, while its parent is readable
            res.writes.append(_tombstone(tomb, ended=wish[0], requested_at=wish[1]))
    if res.writes:
        res.outcome = "annotated"

    survivors, waiting = [], False
    for leaf in live:
        hows = {how for how, requested_at in ends if requested_at in (None, leaf.get("requested_at"))}
        if not hows:
            survivors.append(leaf)
        elif "moved" in hows:
            res.writes.append(_tombstone(leaf, ended="moved", requested_at=leaf.get("requested_at")))
            res.outcome = "moved"
        elif _in_flight(leaf, now, claim_timeout, idle, started):
            waiting = True  # the add may have happened: the worker's next write settles it
        else:
            res.writes.append(_tombstone(leaf, ended="withdrawn", requested_at=leaf.get("requested_at")))
            res.outcome = "withdrawn"
    if waiting or (len(survivors) > 1 and any(_in_flight(leaf, now, claim_timeout, idle, started)
                                              for leaf in survivors)):
        res.outcome = "waiting" if not res.writes else res.outcome
        return res
    if len(survivors) == 1:
        if not res.writes:
            res.live = survivors[0]
        return res
    if not survivors:
        return res

    keep = survivors[0]
    furthest = max(survivors, key=lambda leaf: (_progress(leaf), survivors.index(leaf) * -1))
    edits = [leaf for leaf in survivors if _request(leaf) != _request(furthest)]
    request_from = edits[0] if edits else keep
    merged = {"_id": keep["_id"], "_rev": keep["_rev"], **_request(request_from),
              **{k: furthest[k] for k in SIDECAR_FIELDS if k in furthest}}
    if not _same(merged, keep):
        res.writes.append(merged)
    for leaf in survivors[1:]:
        res.writes.append(_tombstone(leaf, merged_into=keep["_rev"]))
    res.outcome = "merged"
    return res


# --------------------------------------------------------------------------- collection


def merge_collection_leaves(live: list[dict]) -> dict:
    """One collection doc from live branches (winner first): per fact the value stamped latest
    in `clock` wins (ties: the earlier branch in winner order), then `status` is derived.

    A leaf without a stamp for a fact (written before `clock` existed) counts it at its
    `updated_at`."""
    keep = live[0]
    chosen: dict[str, tuple[str, int]] = {}
    for index, leaf in enumerate(live):
        stamps = leaf.get("clock") or {}
        for key in clock_keys(leaf) | set(stamps):
            at = stamps.get(key) or leaf.get("updated_at") or ""
            best = chosen.get(key)
            if best is None or at > best[0]:
                chosen[key] = (at, index)
    merged: dict = {"_id": keep["_id"], "_rev": keep["_rev"], "instances": {}}
    if keep.get("_attachments"):
        # the winner's attachments (the poster) stay: stubs keep them without sending the bytes
        merged["_attachments"] = {name: {"stub": True, "content_type": att.get("content_type")}
                                  for name, att in keep["_attachments"].items()}
    for key in sorted(chosen, key=lambda k: k.count(".")):  # whole entries before their fields
        at, index = chosen[key]
        present, value = get_path(live[index], key)
        set_path(merged, key, value, present)
    merged["clock"] = {key: at for key, (at, _) in chosen.items() if at}
    for key in CLOCKED_EXCLUDE:
        if key in ("_id", "_rev", "clock"):
            continue
        values = [leaf[key] for leaf in live if key in leaf]
        if values:
            merged[key] = max(values) if key == "updated_at" else min(values) if key == "created_at" else values[0]
    latest = max(live, key=lambda leaf: leaf.get("updated_at") or "")
    if "source" in latest:
        merged["source"] = latest["source"]
    return derive(merged)


def resolve_collection(leaves: list[dict]) -> Resolution:
    """Settle a collection doc: merge every live branch onto the winner, delete the others.
    Deleted leaves are history (a collection doc is never deleted; `removed` is a status)."""
    live = [leaf for leaf in winner_order(leaves) if not leaf.get("_deleted")]
    res = Resolution()
    if len(live) < 2:
        res.live = live[0] if live else None
        return res
    merged = merge_collection_leaves(live)
    if not _same(merged, live[0]):
        res.writes.append(merged)
    res.writes += [_tombstone(leaf, merged_into=live[0]["_rev"]) for leaf in live[1:]]
    res.outcome = "merged"
    return res
