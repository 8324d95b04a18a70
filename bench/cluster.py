#!/usr/bin/env python3
"""Claims on a real CouchDB 3 cluster: are they exclusive?

Three workers (`python -m sidecar worker`), each pointed at a different node of a 3-node CouchDB 3
cluster (databases with n=3), fake Radarr answering every request after 20 ms, N wishes written
round-robin over the nodes (`_bulk_docs` batches). It waits until every wish is moved (no buffer
doc with a live leaf, every collection doc there), lets the cluster settle, and reports:

- drain time;
- ids POSTed to Radarr more than once (POST /api/v3/movie per tmdbId in the fake's request log:
  the fake answers a second POST "already added", so its `creations` alone would not show it);
- lost wishes (no collection doc on any node), wishes never created in Radarr;
- collection docs with `_conflicts` and buffer docs with a live leaf, on every node
  (`_all_docs?include_docs=true&conflicts=true`, and `GET <id>?open_revs=all` per wish);
- claims CouchDB accepted on fewer copies than the quorum (202; the worker logs "reached fewer
  copies than the quorum" and hands them back), conflicts the resolver settled ("conflict
  settled"), claims resumed or taken over.

Modes:
    plain   the burst as is
    kills   kill -9 a random worker 6 times during the burst, each restarted at once with the
            same WORKER_ID (so its own claims are resumed at once)
    node    stop node 2 (/opt/couch3/stop-cluster.sh 2) mid-burst and start it again 20 s later;
            300 wishes. The worker on node 2 cannot reach CouchDB meanwhile (expected).

    .venv/bin/python bench/cluster.py --mode plain
    .venv/bin/python bench/cluster.py --mode kills
    .venv/bin/python bench/cluster.py --mode node \\
        --nodes http://127.0.0.1:15984,http://127.0.0.1:25984,http://127.0.0.1:35984 --user admin --password adminpass

--claim-timeout (CLAIM_TIMEOUT, default 300 s as in production) bounds how long a claim nobody
works on can hold a wish; a shorter one shows whether such wishes are finished later.

Exit status: 0 when no id was POSTed twice, no wish was lost, no wish is left in a buffer and no
`_conflicts` are left `--settle` seconds after the drain; 1 otherwise; 2 when the drain did not
finish within `--timeout` seconds or the setup failed. Everything runs on loopback; the fake
Radarr runs in this process (with TCP_NODELAY, as bench/fakehost.py does). The databases are
dropped afterwards unless the run failed or --keep is given; the worker logs are kept.
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import dataclasses
import json
import os
import random
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (ROOT, Proc, cpu_seconds, machine_busy_seconds, movie_request, own_cpu_seconds,  # noqa: E402
                    start_worker)
from sidecar.config import ArrInstance, Settings  # noqa: E402
from sidecar.design import push_all  # noqa: E402

DEFAULT_NODES = "http://127.0.0.1:15984,http://127.0.0.1:25984,http://127.0.0.1:35984"
FIRST_TMDB_ID = 10_000


def beam_cpu(pid_files: list[str]) -> dict[str, tuple[int, float]]:
    """{pid file: (pid, CPU-s)} of the cluster's BEAM processes that can be read."""
    out = {}
    for f in pid_files:
        try:
            pid = int(Path(f).read_text().split()[0])
            out[f] = (pid, cpu_seconds(pid))
        except (OSError, ValueError, IndexError):
            pass
    return out


def ours_cpu(slots: list["WorkerSlot"]) -> float:
    """CPU-s of this process, of the workers it has waited for (killed ones) and of the live
    workers."""
    total = own_cpu_seconds()
    for w in slots:
        if w.proc is not None and w.proc.popen.poll() is None:
            try:
                total += cpu_seconds(w.proc.pid)
            except OSError:
                pass
    return total


def source_version() -> str:
    """The commit the sidecar processes ran from, and whether their code differed from it."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "sidecar", "couch",
                                "tests/fakes", "bench/common.py", "bench/fakehost.py"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return f"{ROOT} (not a git checkout)"
    if not head:
        return f"{ROOT} (not a git checkout)"
    return f"{ROOT} at commit {head}" + (" with uncommitted changes in sidecar/, couch/ or tests/fakes/" if dirty else "")


def say(msg: str) -> None:
    print(f"[cluster] {msg}", file=sys.stderr, flush=True)


class Node:
    """One CouchDB node over HTTP (a session per thread)."""

    def __init__(self, url: str, auth: tuple[str, str], name: str):
        self.url, self.auth, self.name = url.rstrip("/"), auth, name
        self._local = threading.local()

    @property
    def s(self) -> requests.Session:
        sess = getattr(self._local, "s", None)
        if sess is None:
            sess = self._local.s = requests.Session()
            sess.auth = self.auth
            sess.headers["Accept"] = "application/json"
        return sess

    def req(self, method: str, path: str, timeout: float = 30, **kw) -> requests.Response:
        return self.s.request(method, f"{self.url}/{path.lstrip('/')}", timeout=timeout, **kw)

    def json(self, method: str, path: str, **kw):
        r = self.req(method, path, **kw)
        if r.status_code >= 400:
            raise RuntimeError(f"{self.name} {method} {path}: {r.status_code} {r.text[:200]}")
        return r.json()

    def up(self) -> bool:
        try:
            return self.req("GET", "/_up", timeout=2).ok
        except requests.RequestException:
            return False


# --------------------------------------------------------------------------- workers


class WorkerSlot:
    """Worker i: its settings (its node, its WORKER_ID), its process, its log (appended to
    across restarts)."""

    def __init__(self, index: int, settings: Settings, logdir: Path, env: dict):
        self.index, self.settings, self.logdir, self.env = index, settings, logdir, env
        self.proc: Proc | None = None
        self.log_offset = 0
        self.starts = 0

    @property
    def name(self) -> str:
        return f"w{self.index + 1}"

    @property
    def log_path(self) -> Path:
        return self.logdir / f"worker-{self.settings.worker_id}.log"

    def start(self) -> None:
        try:
            self.log_offset = self.log_path.stat().st_size
        except OSError:
            self.log_offset = 0
        self.proc = start_worker(self.settings, self.logdir, ROOT, **self.env)
        self.starts += 1

    def is_up(self) -> bool:
        """The current process logged "worker ... following"."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(self.log_offset)
                return b"following" in fh.read()
        except OSError:
            return False

    def wait_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.is_up():
            if self.proc.popen.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited with {self.proc.popen.returncode}:\n{self.proc.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker {self.name} did not start within {timeout} s:\n{self.proc.tail()}")
            time.sleep(0.02)

    def kill9(self) -> None:
        self.proc.popen.send_signal(signal.SIGKILL)
        self.proc.popen.wait()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


# --------------------------------------------------------------------------- the run


@dataclasses.dataclass
class Run:
    args: argparse.Namespace
    nodes: list[Node]
    prefix: str
    logdir: Path
    dbs: dict[str, str]
    wanted: list[int]
    t0: float = 0.0  # wall clock (time.time()) of the first write
    written_at: float | None = None  # wall clock when the last batch was acknowledged
    write_errors: list[str] = dataclasses.field(default_factory=list)
    rerouted: int = 0
    events: list[tuple[float, str]] = dataclasses.field(default_factory=list)
    kills: list[dict] = dataclasses.field(default_factory=list)
    outage: dict = dataclasses.field(default_factory=dict)
    abort: threading.Event = dataclasses.field(default_factory=threading.Event)

    def event(self, text: str) -> None:
        self.events.append((time.time(), text))
        say(f"t={time.time() - self.t0:6.2f} s  {text}" if self.t0 else text)

    def drained(self) -> bool:
        """Every node that answers shows no buffer doc with a live leaf and every collection doc."""
        seen = 0
        for node in self.nodes:
            try:
                b = node.json("GET", quote(self.dbs["movies_buffer"]), timeout=5)["doc_count"] - 1
                c = node.json("GET", quote(self.dbs["movies"]), timeout=5)["doc_count"] - 1
            except (requests.RequestException, RuntimeError, KeyError):
                continue
            if b != 0 or c != len(self.wanted):
                return False
            seen += 1
        return seen > 0

    def counts(self) -> tuple[int, int] | None:
        """(buffer docs with a live leaf, collection docs), not counting design docs, from the
        first node that answers."""
        for node in self.nodes:
            try:
                b = node.json("GET", quote(self.dbs["movies_buffer"]), timeout=5)["doc_count"]
                c = node.json("GET", quote(self.dbs["movies"]), timeout=5)["doc_count"]
                return b - 1, c - 1  # one design doc each
            except (requests.RequestException, RuntimeError, KeyError):
                continue
        return None


def create_dbs(run: Run, q: int | None) -> None:
    node = run.nodes[0]
    for db in run.dbs.values():
        params = {"n": 3} | ({"q": q} if q else {})
        r = node.req("PUT", quote(db), params=params)
        if r.status_code not in (201, 202):
            raise RuntimeError(f"cannot create {db} on {node.url}: {r.status_code} {r.text[:200]}")
    shards = node.json("GET", f"{quote(run.dbs['movies_buffer'])}/_shards")["shards"]
    copies = sorted({len(v) for v in shards.values()})
    say(f"databases {run.prefix}_* created with n=3: {len(shards)} shard ranges, copies per range {copies}")
    if copies != [3]:
        say("WARNING: not every shard range has 3 copies")


def write_wishes(run: Run) -> None:
    """Batches round-robin over the nodes; a batch a node cannot take goes to the next node
    (a conflict there means the first attempt stored it)."""
    a = run.args
    docs = [movie_request(i) for i in run.wanted]
    batches = [docs[i:i + a.batch] for i in range(0, len(docs), a.batch)]
    pause = a.batch / a.rate if a.rate else 0.0
    start = time.monotonic()
    for k, batch in enumerate(batches):
        if run.abort.is_set():
            return
        if pause:
            time.sleep(max(0.0, start + k * pause - time.monotonic()))
        for attempt in range(len(run.nodes) * 3):
            node = run.nodes[(k + attempt) % len(run.nodes)]
            try:
                r = node.req("POST", f"{quote(run.dbs['movies_buffer'])}/_bulk_docs",
                             json={"docs": [dict(d) for d in batch]}, timeout=15)
            except requests.RequestException as exc:
                if attempt == 0:
                    run.rerouted += 1
                run.write_errors.append(f"batch {k} via {node.name}: {type(exc).__name__}")
                time.sleep(0.2)
                continue
            if r.status_code >= 500:
                run.write_errors.append(f"batch {k} via {node.name}: HTTP {r.status_code}")
                time.sleep(0.2)
                continue
            rows = r.json()
            bad = [row for row in rows if "error" in row and row["error"] != "conflict"]
            if bad:
                raise RuntimeError(f"batch {k} refused via {node.name}: {bad[:3]}")
            break
        else:
            raise RuntimeError(f"batch {k} could not be written on any node")
    run.written_at = time.time()
    run.event(f"all {len(docs)} wishes written ({len(batches)} batches of {a.batch}, round-robin over "
              f"{len(run.nodes)} nodes)")


def chaos_kills(run: Run, slots: list[WorkerSlot], rng: random.Random) -> None:
    a = run.args
    lo, hi = a.kill_every
    time.sleep(rng.uniform(lo, hi))
    while len(run.kills) < a.kills:
        if run.abort.is_set():
            return
        up = [w for w in slots if w.proc.popen.poll() is None and w.is_up()]
        if not up:
            time.sleep(0.05)
            continue
        victim = rng.choice(up)
        counts = run.counts()
        victim.kill9()
        t_kill = time.time()
        victim.start()
        run.kills.append({"t": t_kill - run.t0, "worker": victim.name,
                          "buffer_left": counts[0] if counts else None})
        run.event(f"kill -9 {victim.name} (pid {victim.proc.pid} now), buffer had "
                  f"{counts[0] if counts else '?'} wishes left; restarted with the same WORKER_ID")
        try:
            victim.wait_up(30)
        except RuntimeError as exc:
            run.event(f"restart of {victim.name} failed: {exc}")
            return
        run.event(f"{victim.name} following again")
        if len(run.kills) < a.kills:
            time.sleep(rng.uniform(lo, hi))


def chaos_node(run: Run) -> None:
    a = run.args
    target = int(a.stop_at * len(run.wanted))
    # mid-burst: once this share of the wishes is in the collection (or the writes are done, if
    # that comes first and nothing is moved yet, a moment later)
    while not run.abort.is_set():
        c = run.counts()
        if c and c[1] >= target:
            break
        time.sleep(0.02)
    if run.abort.is_set():
        return
    c = run.counts()
    run.event(f"stopping node {a.stop_node}: {shlex.join(a.stop_cmd)} (collection had {c[1] if c else '?'} docs)")
    run.outage["stop_issued"] = time.time() - run.t0
    run.outage["stopping"] = True
    out = subprocess.run(a.stop_cmd, capture_output=True, text=True, timeout=60)
    run.outage["stopped"] = time.time() - run.t0
    run.event(f"node {a.stop_node} stopped (exit {out.returncode}) {out.stdout.strip()[:200]}")
    run.abort.wait(a.down)
    run.event(f"starting node {a.stop_node}: {shlex.join(a.start_cmd)}")
    start_node(run)


def start_node(run: Run) -> None:
    a = run.args
    out = subprocess.run(a.start_cmd, capture_output=True, text=True, timeout=120)
    run.outage["started"] = time.time() - run.t0
    run.outage["stopping"] = False
    run.event(f"node {a.stop_node} started (exit {out.returncode}) {out.stdout.strip()[:200]}")


# --------------------------------------------------------------------------- checks


def leaves(node: Node, db: str, doc_id: str, revs: bool = False) -> list[dict]:
    params = {"open_revs": "all"} | ({"revs": "true"} if revs else {})
    r = node.req("GET", f"{quote(db)}/{quote(doc_id, safe='')}", params=params)
    if r.status_code == 404:
        return []
    r.raise_for_status()
    out = []
    for row in r.json():
        if "ok" in row:
            out.append(row["ok"])
        elif "missing" in row:
            out.append({"_rev": row["missing"], "_missing": True})
    return out


def check_node(run: Run, node: Node) -> dict:
    """What one node shows: collection ids present, collection docs with _conflicts, buffer
    docs with a live leaf (_all_docs and open_revs=all per wish), buffer docs with _conflicts."""
    coll = node.json("GET", f"{quote(run.dbs['movies'])}/_all_docs",
                     params={"include_docs": "true", "conflicts": "true"}, timeout=60)["rows"]
    buf = node.json("GET", f"{quote(run.dbs['movies_buffer'])}/_all_docs",
                    params={"include_docs": "true", "conflicts": "true"}, timeout=60)["rows"]
    coll = [r for r in coll if not r["id"].startswith("_design/")]
    buf = [r for r in buf if not r["id"].startswith("_design/")]
    ids = [f"tmdb:{i}" for i in run.wanted]
    with cf.ThreadPoolExecutor(8) as pool:
        all_leaves = dict(zip(ids, pool.map(lambda i: leaves(node, run.dbs["movies_buffer"], i), ids)))
    return {
        "collection_ids": {r["id"] for r in coll},
        "collection_conflicts": sorted(r["id"] for r in coll if r["doc"].get("_conflicts")),
        "buffer_live_all_docs": sorted(r["id"] for r in buf),
        "buffer_conflicts": sorted(r["id"] for r in buf if r["doc"].get("_conflicts")),
        "buffer_live_leaves": sorted(i for i, ls in all_leaves.items() if any(not x.get("_deleted") for x in ls)),
        "buffer_branched": sorted(i for i, ls in all_leaves.items() if len(ls) > 1),
        "buffer_missing": sorted(i for i, ls in all_leaves.items() if not ls),
    }


def check_all(run: Run) -> dict[str, dict]:
    out = {}
    for node in run.nodes:
        try:
            out[node.name] = check_node(run, node)
        except (requests.RequestException, RuntimeError) as exc:
            out[node.name] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


def read_logs(slots: list[WorkerSlot]) -> list[dict]:
    entries = []
    for w in slots:
        try:
            text = w.log_path.read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if isinstance(e, dict) and "msg" in e:
                e["worker"] = w.name
                entries.append(e)
    return entries


def log_time(e: dict) -> float:
    try:
        return datetime.strptime(e["t"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()
    except (KeyError, ValueError):
        return 0.0


def log_figures(entries: list[dict], dbs: dict[str, str]) -> dict:
    role = {v: k for k, v in dbs.items()}
    f = {"accepted_claims": collections.Counter(), "settled": collections.Counter(),
         "resumed_own": 0, "taken_over": 0, "added": 0, "found": 0, "hand_back_failed": 0,
         "still_changing": 0, "warnings": collections.Counter(), "errors": 0}
    for e in entries:
        msg = e["msg"]
        if "reached fewer copies than the quorum" in msg:
            f["accepted_claims"][e["worker"]] += 1
        elif "conflict settled" in msg:
            db = msg.split(" ", 1)[0]
            outcome = msg.split("conflict settled (", 1)[1].split(",", 1)[0] if "(" in msg else "?"
            f["settled"][f"{role.get(db, db)}:{outcome}"] += 1
        elif msg.startswith("resuming own unfinished claim"):
            f["resumed_own"] += 1
        elif msg.startswith("taking over stale claim"):
            f["taken_over"] += 1
        elif msg.startswith("added tmdb:"):
            f["added"] += 1
        elif msg.startswith("found tmdb:"):
            f["found"] += 1
        elif msg.startswith("could not hand back"):
            f["hand_back_failed"] += 1
        elif "still changing after" in msg:
            f["still_changing"] += 1
        if e.get("level") == "warning":
            key = msg.split(" (", 1)[0].split(":", 1)[0][:60]
            f["warnings"][key] += 1
        elif e.get("level") in ("error", "critical"):
            f["errors"] += 1
    return f


def explain(run: Run, doc_id: str, entries: list[dict], radarr) -> list[str]:
    """Timeline of one wish: the workers' log lines about it, the fake's requests for it, and
    its leaves (open_revs=all&revs=true) on every node."""
    tmdb = int(doc_id.split(":", 1)[1])
    lines = [f"--- {doc_id}"]
    events = []
    for e in entries:
        if doc_id in e["msg"] and not e["msg"].startswith(("added", "found")) or \
                e["msg"].startswith((f"added {doc_id} ", f"found {doc_id} ")):
            events.append((log_time(e), f"{e['worker']} {e.get('level', '')}: {e['msg']}"))
    with radarr._lock:
        reqs = list(radarr.requests_log)
    for r in reqs:
        body = r.get("json") if isinstance(r.get("json"), dict) else {}
        q = r.get("query") or {}
        if body.get("tmdbId") == tmdb or str(q.get("tmdbId", "")) == str(tmdb):
            events.append((r["time"], f"radarr {r['method']} {r['path']}{'?tmdbId=' + str(tmdb) if q else ''} "
                                      f"-> {r['status']}"))
    for t, text in sorted(events):
        lines.append(f"  t={t - run.t0:7.3f} s  {text}")
    for node in run.nodes:
        try:
            ls = leaves(node, run.dbs["movies_buffer"], doc_id, revs=True)
        except requests.RequestException as exc:
            lines.append(f"  {node.name}: {type(exc).__name__}")
            continue
        for leaf in ls:
            hist = leaf.get("_revisions") or {}
            chain = [f"{hist.get('start', 0) - k}-{rid[:6]}" for k, rid in enumerate(hist.get("ids", []))]
            what = "deleted" if leaf.get("_deleted") else "LIVE"
            fields = {k: leaf.get(k) for k in ("state", "claimed_by", "claimed_at", "attempts", "ended", "merged_into")
                      if leaf.get(k) is not None}
            lines.append(f"  {node.name} leaf {what}: {' <- '.join(chain) or leaf['_rev']} {json.dumps(fields)}")
    return lines


# --------------------------------------------------------------------------- table


def table(rows: list[tuple[str, str]]) -> str:
    w = max(len(r[0]) for r in rows if r[1] is not None)
    return "\n".join(f"  {name:<{w}}  {value}" if value is not None else name for name, value in rows)


def fmt_ids(ids, n: int = 8) -> str:
    ids = sorted(ids)
    return "" if not ids else " (" + ", ".join(ids[:n]) + (", ..." if len(ids) > n else "") + ")"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--mode", choices=("plain", "kills", "node"), default="plain")
    p.add_argument("--nodes", default=DEFAULT_NODES, help="comma-separated node URLs (three)")
    p.add_argument("--user", default="admin")
    p.add_argument("--password", default="adminpass")
    p.add_argument("--wishes", type=int, help="wishes to write (default 600; node mode 300)")
    p.add_argument("--batch", type=int, default=25, help="wishes per _bulk_docs (default 25)")
    p.add_argument("--rate", type=float, default=0.0,
                   help="wishes per second (0: as fast as the nodes take them; default 0, kills mode 100)")
    p.add_argument("--delay", type=float, default=0.02, help="fake Radarr's delay per request, s (default 0.02)")
    p.add_argument("--concurrency", type=int, default=8, help="ARR_CONCURRENCY of each worker (default 8)")
    p.add_argument("--claim-timeout", type=float, default=300.0,
                   help="CLAIM_TIMEOUT of the workers, s (default 300, the production default)")
    p.add_argument("--q", type=int, help="shard ranges per database (default: the cluster's, 2)")
    p.add_argument("--kills", type=int, default=6, help="kills mode: how many kill -9 (default 6)")
    p.add_argument("--kill-every", type=float, nargs=2, default=(0.3, 0.8), metavar=("MIN", "MAX"),
                   help="kills mode: seconds between a restarted worker following again and the next kill")
    p.add_argument("--stop-node", type=int, default=2, help="node mode: which node (1-based) to stop")
    p.add_argument("--stop-at", type=float, default=0.2,
                   help="node mode: stop the node once this share of the wishes is in the collection")
    p.add_argument("--down", type=float, default=20.0, help="node mode: seconds the node stays down")
    p.add_argument("--stop-cmd", help="node mode: command that stops it (default /opt/couch3/stop-cluster.sh N)")
    p.add_argument("--start-cmd", help="node mode: command that starts it (default /opt/couch3/start-cluster.sh N)")
    p.add_argument("--timeout", type=float, default=180.0, help="give up when not drained after this many s")
    p.add_argument("--settle", type=float, default=10.0, help="seconds after the drain before conflicts count")
    p.add_argument("--node-pid-files", default="/opt/couch3/node1/couchdb.pid,/opt/couch3/node2/couchdb.pid,"
                   "/opt/couch3/node3/couchdb.pid", help="the nodes' pid files, to report their CPU (optional)")
    p.add_argument("--seed", type=int)
    p.add_argument("--keep", action="store_true", help="keep the databases (kept anyway when the run fails)")
    p.add_argument("--explain", type=int, default=5, help="print the timeline of up to N faulty wishes")
    p.add_argument("--json", type=Path, help="write the figures here")
    a = p.parse_args(argv)
    if a.wishes is None:
        a.wishes = 300 if a.mode == "node" else 600
    if a.mode == "kills" and a.rate == 0.0 and "--rate" not in (argv or sys.argv):
        a.rate = 100.0
    a.stop_cmd = shlex.split(a.stop_cmd) if a.stop_cmd else ["/opt/couch3/stop-cluster.sh", str(a.stop_node)]
    a.start_cmd = shlex.split(a.start_cmd) if a.start_cmd else ["/opt/couch3/start-cluster.sh", str(a.stop_node)]
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)

    urls = [u.strip() for u in a.nodes.split(",") if u.strip()]
    if len(urls) != 3:
        p.error("--nodes takes three URLs")
    for u in urls:
        host = u.split("//", 1)[-1].split(":", 1)[0].split("/", 1)[0]
        if host not in ("127.0.0.1", "localhost", "[::1]"):
            p.error(f"{u}: only loopback nodes")
    auth = (a.user, a.password)
    nodes = [Node(u, auth, f"node{i + 1}") for i, u in enumerate(urls)]
    for n in nodes:
        if not n.up():
            say(f"{n.name} ({n.url}) does not answer /_up")
            return 2
        members = n.json("GET", "/_membership")
        if len(members.get("all_nodes", [])) != 3:
            say(f"{n.name}: all_nodes is {members.get('all_nodes')}; expected 3 nodes")
            return 2
    version = nodes[0].json("GET", "/").get("version", "?")

    prefix = f"cluster_{a.mode}_{uuid.uuid4().hex[:6]}"
    dbs = {"movies_buffer": f"{prefix}_movies_buffer", "movies": f"{prefix}_movies",
           "series_buffer": f"{prefix}_series_buffer", "series": f"{prefix}_series"}
    logdir = Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))
    run = Run(a, nodes, prefix, logdir, dbs, list(range(FIRST_TMDB_ID, FIRST_TMDB_ID + a.wishes)))
    say(f"CouchDB {version}, mode {a.mode}, {a.wishes} wishes, seed {seed}; logs in {logdir}")

    import fakehost  # noqa: E402  (bench/fakehost.py: TCP_NODELAY on the fake's connections)
    from tests.fakes.servarr import FakeRadarr  # noqa: E402

    fakehost.nodelay()
    radarr = FakeRadarr(api_key="bench-radarr-key").start()
    try:
        requests.get(f"{radarr.url}/api/v3/movie", headers={"X-Api-Key": radarr.api_key}, timeout=5).raise_for_status()
        with radarr._lock:
            radarr.requests_log.clear()
    except requests.RequestException as exc:
        say(f"the fake Radarr at {radarr.url} does not answer ({type(exc).__name__}: {exc})")
        radarr.stop()
        return 2
    slots: list[WorkerSlot] = []
    threads: list[threading.Thread] = []
    status, drained, timed_out = 2, None, False
    failed_reasons: list[str] = []
    try:
        create_dbs(run, a.q)
        base = Settings(couchdb_url=nodes[0].url, couchdb_user=a.user, couchdb_password=a.password,
                        movies_buffer_db=dbs["movies_buffer"], movies_db=dbs["movies"],
                        series_buffer_db=dbs["series_buffer"], series_db=dbs["series"],
                        radarr=(ArrInstance("radarr", "default", radarr.url, radarr.api_key, 1, "/movies"),),
                        worker_id=f"{prefix}-w1", arr_concurrency=a.concurrency,
                        claim_timeout=a.claim_timeout)
        push_all(base)
        radarr.delay = a.delay
        for i, node in enumerate(nodes):
            s = dataclasses.replace(base, couchdb_url=node.url, worker_id=f"{prefix}-w{i + 1}")
            slots.append(WorkerSlot(i, s, logdir, {}))
        for w in slots:
            w.start()
        for w in slots:
            w.wait_up(60)
        time.sleep(1.0)  # feeds open, first scans done
        say("3 workers following (" + ", ".join(f"{w.name} → {w.settings.couchdb_url}" for w in slots) + ")")

        pid_files = [f for f in a.node_pid_files.split(",") if f]
        cpu0 = (machine_busy_seconds(), ours_cpu(slots), beam_cpu(pid_files), time.time())
        run.t0 = time.time()
        writer = threading.Thread(target=lambda: _guard(run, write_wishes, run), name="writer", daemon=True)
        threads.append(writer)
        if a.mode == "kills":
            threads.append(threading.Thread(target=lambda: _guard(run, chaos_kills, run, slots, rng),
                                            name="kills", daemon=True))
        elif a.mode == "node":
            threads.append(threading.Thread(target=lambda: _guard(run, chaos_node, run), name="node", daemon=True))
        for t in threads:
            t.start()

        deadline = run.t0 + a.timeout
        last_note = 0.0
        while time.time() < deadline:
            c = run.counts()
            if run.written_at and c is not None and c[0] == 0 and c[1] == len(run.wanted) and run.drained():
                drained = time.time()
                break
            if "write_failed" in run.outage:
                break
            if time.time() - last_note > 5:
                last_note = time.time()
                say(f"t={time.time() - run.t0:6.1f} s  buffer {c[0] if c else '?'}, collection {c[1] if c else '?'}")
            time.sleep(0.1)
        if drained:
            run.event(f"drained: buffer empty, {len(run.wanted)} collection docs (doc_count on every node that answers)")
        else:
            timed_out = True
            c = run.counts()
            run.event(f"GAVE UP after {a.timeout:.0f} s: not drained (buffer {c[0] if c else '?'} left, "
                      f"collection {c[1] if c else '?'} of {len(run.wanted)})" + (
                          f"; the writer failed: {run.outage['write_failed']}" if "write_failed" in run.outage else ""))
            run.abort.set()
        for t in threads:  # the kills and the node's restart finish before anything is checked
            t.join(timeout=max(60.0, a.down + 60))
        if run.outage.get("stopping"):
            start_node(run)
        beams1 = beam_cpu(pid_files)
        cpu1 = (machine_busy_seconds(), ours_cpu(slots), time.time())
        at_drain = check_all(run)
        settle_end = (drained or time.time()) + a.settle
        time.sleep(max(0.0, settle_end - time.time()))
        say(f"checking every node {a.settle:.0f} s after the drain")
        final = check_all(run)
    except KeyboardInterrupt:
        say(f"interrupted; databases {prefix}_* kept, logs in {logdir}")
        return 130
    except Exception as exc:  # noqa: BLE001  (setup or check failed: say so clearly, keep the evidence)
        say(f"FAILED to run: {type(exc).__name__}: {exc}; databases {prefix}_* kept, logs in {logdir}")
        return 2
    finally:
        run.abort.set()
        if run.outage.get("stopping"):
            say("starting the stopped node again")
            start_node(run)
        for w in slots:
            w.stop()
        with radarr._lock:
            reqs = list(radarr.requests_log)
            creations = collections.Counter(radarr.creations)
        radarr.stop()

    # --------------------------------------------------------------------------- figures
    posts = collections.Counter()
    post_status = collections.Counter()
    gets = 0
    for r in reqs:
        path = (r.get("path") or "").lower().rstrip("/")
        if r["method"] == "POST" and path == "/api/v3/movie" and isinstance(r.get("json"), dict):
            posts[int(r["json"].get("tmdbId") or 0)] += 1
            post_status[r.get("status")] += 1
        elif r["method"] == "GET" and path == "/api/v3/movie":
            gets += 1
    twice = {f"tmdb:{i}": n for i, n in posts.items() if n > 1}
    created_twice = {f"tmdb:{i}": n for i, n in creations.items() if n > 1}
    never_created = [f"tmdb:{i}" for i in run.wanted if creations.get(i, 0) == 0]
    ids = {f"tmdb:{i}" for i in run.wanted}
    present_any = set().union(*(v.get("collection_ids", set()) for v in final.values()))
    not_in_collection = ids - present_any
    live_anywhere = set().union(*(set(v.get("buffer_live_leaves", ())) | set(v.get("buffer_live_all_docs", ()))
                                  for v in final.values()))
    lost = sorted(not_in_collection - live_anywhere)  # gone from the buffer without reaching the collection
    pending = sorted(not_in_collection & live_anywhere)  # not there yet: still a wish in the buffer
    missing_somewhere = sorted(set().union(*(ids - v["collection_ids"] for v in final.values() if "collection_ids" in v))
                               - not_in_collection)
    entries = read_logs(slots)
    lf = log_figures(entries, dbs)

    def per_node(check: dict, key: str) -> tuple[str, set]:
        parts, union = [], set()
        for name, v in check.items():
            if "error" in v:
                parts.append(f"{name} ?")
                continue
            parts.append(f"{name} {len(v[key])}")
            union |= set(v[key])
        return " / ".join(parts), union

    coll_conf_drain, _ = per_node(at_drain, "collection_conflicts")
    coll_conf_final, coll_conf_ids = per_node(final, "collection_conflicts")
    buf_live_drain, _ = per_node(at_drain, "buffer_live_leaves")
    buf_live_final, buf_live_ids = per_node(final, "buffer_live_leaves")
    buf_conf_final, buf_conf_ids = per_node(final, "buffer_conflicts")
    buf_alldocs_final, buf_alldocs_ids = per_node(final, "buffer_live_all_docs")
    branched_final, _ = per_node(final, "buffer_branched")
    node_errors = [f"{k}: {v['error']}" for k, v in final.items() if "error" in v]

    if twice:
        failed_reasons.append(f"{len(twice)} ids POSTed to Radarr more than once")
    if created_twice:
        failed_reasons.append(f"{len(created_twice)} ids created twice in Radarr")
    if lost:
        failed_reasons.append(f"{len(lost)} wishes lost")
    if pending:
        failed_reasons.append(f"{len(pending)} wishes not in the collection yet (still in the buffer)")
    if never_created:
        failed_reasons.append(f"{len(never_created)} wishes never created in Radarr")
    if coll_conf_ids:
        failed_reasons.append(f"{len(coll_conf_ids)} collection docs with _conflicts after {a.settle:.0f} s")
    if buf_live_ids or buf_alldocs_ids:
        failed_reasons.append(f"{len(buf_live_ids | buf_alldocs_ids)} buffer docs with a live leaf after {a.settle:.0f} s")
    if buf_conf_ids:
        failed_reasons.append(f"{len(buf_conf_ids)} buffer docs with _conflicts")
    if node_errors:
        failed_reasons.append("a node could not be checked: " + "; ".join(node_errors))
    if timed_out:
        failed_reasons.insert(0, f"not drained within {a.timeout:.0f} s")
    status = 2 if timed_out else (1 if failed_reasons else 0)

    # CPU from the first write to the drain (or the give-up): the cluster's BEAMs (those not
    # restarted meanwhile), this process with its workers, and everything else on the machine
    wall = cpu1[2] - cpu0[3]
    beam = sum(c - cpu0[2][f][1] for f, (pid, c) in beams1.items() if f in cpu0[2] and cpu0[2][f][0] == pid)
    beams_same = sum(1 for f, (pid, _) in beams1.items() if f in cpu0[2] and cpu0[2][f][0] == pid)
    ours = cpu1[1] - cpu0[1]
    busy = cpu1[0] - cpu0[0]
    other = max(0.0, busy - ours - beam)
    cores = os.cpu_count() or 1
    n = len(run.wanted)
    drain_s = (drained - run.t0) if drained else float("nan")
    rows: list[tuple[str, str | None]] = [
        (f"cluster claims: {n} wishes, 3 workers (one per node), fake Radarr {a.delay * 1000:.0f} ms per request, "
         f"ARR_CONCURRENCY={a.concurrency}, CLAIM_TIMEOUT={a.claim_timeout:g} s, mode {a.mode}", None),
        ("wishes written (round-robin, _bulk_docs of %d)" % a.batch,
         f"{n} in {((run.written_at or run.t0) - run.t0):.2f} s" + (f" (paced at {a.rate:.0f}/s)" if a.rate else "")
         + (f", {run.rerouted} batches re-routed to another node" if run.rerouted else "")),
        ("drain time (first write → buffer empty and all in the collection, on every node)", f"{drain_s:.2f} s" if drained else "NOT DRAINED"),
        ("  after the last write was acknowledged",
         f"{drained - run.written_at:.2f} s" if drained and run.written_at else "n/a"),
        ("Radarr POST /api/v3/movie", f"{sum(posts.values())} (statuses {dict(sorted(post_status.items(), key=str))})"),
        ("Radarr GET /api/v3/movie (look-ups)", str(gets)),
        ("ids POSTed more than once", f"{len(twice)}{fmt_ids(twice)}"),
        ("ids created more than once (201s)", f"{len(created_twice)}{fmt_ids(created_twice)}"),
        ("wishes never created in Radarr", f"{len(never_created)}{fmt_ids(never_created)}"),
        ("lost (in no buffer and no collection, on any node)", f"{len(lost)}{fmt_ids(lost)}"),
        ("not in the collection yet, still a wish in the buffer", f"{len(pending)}{fmt_ids(pending)}"),
        ("collection doc missing on some node only", f"{len(missing_somewhere)}{fmt_ids(missing_somewhere)}"),
        ("collection docs with _conflicts at the drain", coll_conf_drain),
        (f"collection docs with _conflicts after {a.settle:.0f} s", coll_conf_final + fmt_ids(coll_conf_ids)),
        ("buffer docs with a live leaf at the drain (open_revs=all)", buf_live_drain),
        (f"buffer docs with a live leaf after {a.settle:.0f} s (open_revs=all)", buf_live_final + fmt_ids(buf_live_ids)),
        (f"buffer docs in _all_docs after {a.settle:.0f} s", buf_alldocs_final + fmt_ids(buf_alldocs_ids)),
        (f"buffer docs with _conflicts after {a.settle:.0f} s", buf_conf_final + fmt_ids(buf_conf_ids)),
        ("buffer docs with several (deleted) leaves", branched_final),
        ("claims accepted on fewer copies than the quorum (202)",
         f"{sum(lf['accepted_claims'].values())} ("
         + ", ".join(f"{w.name} {lf['accepted_claims'].get(w.name, 0)}" for w in slots) + ")"),
        ("conflicts settled by the resolver",
         f"{sum(lf['settled'].values())}" + (f" ({', '.join(f'{k} {v}' for k, v in sorted(lf['settled'].items()))})"
                                            if lf["settled"] else "")),
        ("adds logged by the workers: added / found", f"{lf['added']} / {lf['found']}"),
        ("own claims resumed / stale claims taken over", f"{lf['resumed_own']} / {lf['taken_over']}"),
        ("hand-backs that failed / resolver gave up (still changing)", f"{lf['hand_back_failed']} / {lf['still_changing']}"),
        ("worker warnings / errors",
         f"{sum(lf['warnings'].values())} / {lf['errors']}"
         + (" (" + "; ".join(f"{k}: {v}" for k, v in lf["warnings"].most_common(4)) + ")" if lf["warnings"] else "")),
    ]
    rows.append((f"CPU-s over those {wall:.0f} s ({cores} cores = {cores * wall:.0f} CPU-s)",
                 f"cluster nodes {beam:.0f}" + (f" ({beams_same} of 3 measured)" if beams_same != 3 else "")
                 + f", this script + workers {ours:.0f}, other processes {other:.0f} ({100 * other / (cores * wall):.0f} %"
                 " of the machine: noise)"))
    if a.mode == "kills":
        during = sum(1 for k in run.kills if k["buffer_left"])
        rows.append(("kill -9 (restarted with the same WORKER_ID)",
                     f"{len(run.kills)}, {during} while wishes were left in the buffer; at t = "
                     + ", ".join(f"{k['t']:.1f} s ({k['worker']}, {k['buffer_left']} left)" for k in run.kills)))
    if a.mode == "node":
        o = run.outage
        rows.append((f"node {a.stop_node} outage", "never stopped" if "stop_issued" not in o else
                     f"stop issued t={o.get('stop_issued', float('nan')):.1f} s, down t={o.get('stopped', float('nan')):.1f} s, "
                     f"started again t={o.get('started', float('nan')):.1f} s"))
    rows.append(("result", "PASS" if status == 0 else "FAIL: " + "; ".join(failed_reasons)))

    print(f"CouchDB {version} cluster ({', '.join(urls)}), databases {prefix}_* (n=3), seed {seed}")
    print(f"sidecar: {source_version()}")
    print(table(rows))
    faulty = list(twice) + sorted(coll_conf_ids) + sorted(buf_live_ids | buf_alldocs_ids) + lost + pending
    seen, details = set(), []
    for doc_id in faulty:
        if doc_id in seen or len(seen) >= a.explain:
            continue
        seen.add(doc_id)
        details += explain(run, doc_id, entries, _LogOnly(reqs))
    if details:
        print("\nwhat happened to the first faulty wishes (t from the first write; leaves: open_revs=all&revs=true):")
        print("\n".join(details))
    keep = a.keep or status != 0
    if not keep:
        for db in dbs.values():
            try:
                nodes[0].req("DELETE", quote(db))
            except requests.RequestException:
                pass
    print(f"\nlogs: {logdir}" + (f"; databases kept: {prefix}_*" if keep else ""))
    if a.json:
        a.json.write_text(json.dumps({
            "mode": a.mode, "wishes": n, "seed": seed, "drain_s": drain_s if drained else None,
            "posted_twice": twice, "created_twice": created_twice, "lost": lost, "never_created": never_created,
            "pending": pending, "collection_conflicts": sorted(coll_conf_ids), "buffer_live": sorted(buf_live_ids | buf_alldocs_ids),
            "accepted_claims": sum(lf["accepted_claims"].values()), "settled": dict(lf["settled"]),
            "kills": run.kills, "outage": run.outage, "status": status, "reasons": failed_reasons,
            "logs": str(logdir), "prefix": prefix}, indent=2))
    return status


class _LogOnly:
    """The fake's request log after the fake was stopped, shaped as explain() reads it."""

    def __init__(self, reqs: list[dict]):
        self.requests_log = reqs
        self._lock = threading.Lock()


def _guard(run: Run, fn, *args) -> None:
    """Run a background step; a failure ends the run (abort) instead of dying silently."""
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001
        run.outage["write_failed" if fn is write_wishes else "chaos_failed"] = f"{type(exc).__name__}: {exc}"
        run.event(f"{fn.__name__} failed: {type(exc).__name__}: {exc}")
        if fn is write_wishes:
            run.abort.set()


if __name__ == "__main__":
    sys.exit(main())
