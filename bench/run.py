#!/usr/bin/env python3
"""Benchmarks against the performance goals (issues #5 and #14): one command, every figure.

    .venv/bin/python bench/run.py            # full: 3 runs per figure, ~4-5 minutes on 2 cores
    .venv/bin/python bench/run.py --quick    # 1 run, smaller sizes, ~1 minute (not the goal sizes)

Exit status 0 when every goal is met, 1 when one falls short (the table says which).

Starts its own pouchdb-server (scripts/local_couch.start, free port, in memory unless
--on-disk), the fake Radarr/Sonarr (tests/fakes/servarr/, in a child process), and real sidecar
processes: `python -m sidecar worker` and `python -m sidecar web` (gunicorn). Everything over
loopback. Each figure is the median of the runs (every run is printed too); ratios are taken
within a run, then their median. Progress goes to stderr, the results table to stdout.

With COUCHDB_URL (+ COUCHDB_USER / COUCHDB_PASSWORD, an admin: CouchDB 3 makes new databases
admin-only) or --couch-url/--couch-user/--couch-password, every figure runs against that CouchDB
instead, in fresh uniquely named databases that are deleted afterwards. Its CPU is read only with
--server-pid (beam.smp, same machine); request counts come from CouchDB 3's node-wide counter
(/_node/_local/_stats/couchdb/httpd/requests) or, with --server-log, from its couchdb.log:

    COUCHDB_URL=http://127.0.0.1:5984 COUCHDB_USER=admin COUCHDB_PASSWORD=... \
        .venv/bin/python bench/run.py --quick --server-pid PID
    ... .venv/bin/python bench/run.py --quick --side-by-side     # local pouchdb-server AND that CouchDB
    .venv/bin/python bench/run.py --servers local,http://127.0.0.1:5984 --couch-user admin ...

Figures: worker latency (buffer doc → collection doc), webhook latency (POST → collection doc),
burst drain (1,000 items, Radarr 50 ms per request), worker CPU per item and peak RSS (these with
POSTERS=false unless --posters: the poster a move queues is background work, measured on its own),
reconcile of 10,000 movies + 2,000 series (import and unchanged, POSTERS=false) against the I/O
floor paged as the reconcile pages, web worker peak RSS, and what posters cost (time and bytes per
title); --reconcile-sizes 10000+2000,100000+10000 adds larger libraries (RSS flat as it grows).
No figure is asserted in the test suite: these are measurements, not tests.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (ROOT, CouchServer, ExternalCouch, FakeHost, machine_busy_seconds, median,  # noqa: E402
                    own_cpu_seconds, say)

# issue #14 (fast where users run it, i.e. on CouchDB 3) tightened issue #5's latency goals (50 / 250 ms)
GOALS = {
    "latency_p50_ms": 25.0, "latency_p99_ms": 100.0,
    "burst_factor": 1.2,
    "import_ratio": 2.0, "unchanged_ratio": 1.5,
    "rss_mb": 100.0,
}


class Ctx:
    def __init__(self, server, fakes: FakeHost, logdir: Path, sidecar_root: Path):
        self.server, self.fakes, self.logdir, self.sidecar_root = server, fakes, logdir, sidecar_root


def _num(v) -> float:
    return float("nan") if v is None else v


class Table:
    def __init__(self):
        self.rows: list[tuple[str, str, str, str, str]] = []
        self.shortfalls: list[str] = []

    def add(self, name: str, values: list[float], fmt: str, goal: float | None = None, goal_text: str = "",
            lower_is_better: bool = True, na: str = "") -> None:
        values = [_num(v) for v in values]
        vals = [v for v in values if v == v]  # drop NaN (and figures that could not be read)
        med = median(vals) if vals else float("nan")
        runs = " / ".join(fmt.format(v) if v == v else "n/a" for v in values) if len(values) > 1 else ""
        if not vals and na:
            runs = na  # why the figure could not be read
        if goal is None:
            verdict = "info"
        elif not vals:
            verdict = "SHORT (no data)"
        else:
            ok = med <= goal if lower_is_better else med >= goal
            verdict = "pass" if ok else "SHORT"
        if verdict.startswith("SHORT"):
            self.shortfalls.append(name)
        self.rows.append((name, fmt.format(med) if vals else "n/a", runs, goal_text, verdict))

    def section(self, title: str) -> None:
        self.rows.append((f"-- {title}", "", "", "", ""))

    def render(self) -> str:
        heads = ("figure", "median", "runs", "goal", "result")
        body = [r for r in self.rows if not r[0].startswith("-- ")]
        widths = [max(len(heads[i]), *(len(r[i]) for r in body)) for i in range(5)]
        line = "  ".join("{:<%d}" % w for w in widths)
        out = [line.format(*heads), line.format(*("-" * w for w in widths))]
        for r in self.rows:
            out.append(r[0] if r[0].startswith("-- ") else line.format(*r))
        return "\n".join(out)


class SideTable:
    """Several servers' figures in one table: figure, goal, then median (and runs) and result per
    server. Rows are matched by section and figure name; a figure a server lacks shows "—"."""

    def __init__(self, names: list[str], heads: list[str]):
        self.names, self.heads = names, heads
        self.tables = {n: Table() for n in names}

    @staticmethod
    def _keyed(rows) -> list[tuple[tuple[str, str], tuple]]:
        out, section = [], ""
        for r in rows:
            if r[0].startswith("-- "):
                section = r[0]
            out.append(((section, r[0]), r))
        return out

    def render(self) -> str:
        keyed = {n: self._keyed(self.tables[n].rows) for n in self.names}
        by = {n: dict(k) for n, k in keyed.items()}
        order: list[tuple[str, str]] = []
        for n in self.names:  # the first server's rows, then any other's, each after its predecessor
            prev = None
            for key, _ in keyed[n]:
                if key not in order:
                    order.insert(order.index(prev) + 1 if prev in order else len(order), key)
                prev = key
        heads = ["figure", "goal"]
        for h in self.heads:
            heads += [h, "result"]
        rows = []
        for key in order:
            name = key[1]
            if name.startswith("-- "):
                rows.append([name])
                continue
            goal = next((by[n][key][3] for n in self.names if key in by[n] and by[n][key][3]), "")
            row = [name, goal]
            for n in self.names:
                r = by[n].get(key)
                row += ["—", ""] if r is None else [r[1] + (f" ({r[2]})" if r[2] else ""), r[4]]
            rows.append(row)
        body = [r for r in rows if len(r) > 1]
        widths = [max(len(heads[i]), *(len(r[i]) for r in body)) for i in range(len(heads))]
        line = "  ".join("{:<%d}" % w for w in widths)
        out = [line.format(*heads), line.format(*("-" * w for w in widths))]
        for r in rows:
            out.append(r[0] if len(r) == 1 else line.format(*r))
        return "\n".join(out)

    @property
    def shortfalls(self) -> list[str]:
        return [f"{s} [{n}]" for n in self.names for s in self.tables[n].shortfalls]


def fill_table(table: Table, raw: dict, size: dict, args, server, delay: float, side: bool) -> None:
    """The figures of one server's runs, as rows of `table`. side: labels that read the same for
    every server (the side-by-side table matches rows by label)."""
    col = lambda key, runs_: [x[key] for x in runs_]  # noqa: E731
    if "latency" in raw:
        lr = raw["latency"]
        table.section(f"worker latency: buffer doc written → collection doc visible ({size['latency']} items, fake Radarr at once, "
                      f"{posters_note(args)})")
        table.add("p50", col("p50_ms", lr), "{:.1f} ms", GOALS["latency_p50_ms"], "≤ 25 ms")
        table.add("p99", col("p99_ms", lr), "{:.1f} ms", GOALS["latency_p99_ms"], "≤ 100 ms")
        table.add("max", col("max_ms", lr), "{:.1f} ms")
        table.add("items not visible within 10 s", col("timeouts", lr), "{:.0f}", 0, "0")
        add_query_server(table, lr, size["latency"])
    if "webhook" in raw:
        wr = raw["webhook"]
        table.section(f"webhook latency: POST /webhooks/radarr → collection doc visible ({size['webhook']} events: "
                      f"Download, Grab, MovieAdded in turn; `python -m sidecar web` defaults, {posters_note(args)})")
        table.add("p50", col("p50_ms", wr), "{:.1f} ms", GOALS["latency_p50_ms"], "≤ 25 ms")
        table.add("p99", col("p99_ms", wr), "{:.1f} ms", GOALS["latency_p99_ms"], "≤ 100 ms")
        table.add("max", col("max_ms", wr), "{:.1f} ms")
        for ev in ("Download", "Grab", "MovieAdded"):
            table.add(f"p50 {ev}", [x["p50_by_event_ms"].get(ev, float("nan")) for x in wr], "{:.1f} ms")
        table.add("events failed or not visible within 10 s",
                  [x["timeouts"] + sum(x["http_errors"].values()) for x in wr], "{:.0f}", 0, "0")
    if "burst" in raw:
        br = raw["burst"]
        n, conc = size["burst"], args.concurrency
        budget = GOALS["burst_factor"] * n * delay / conc
        table.section(f"burst: {n} items in one _bulk_docs, fake Radarr {delay * 1000:.0f} ms per request, "
                      f"ARR_CONCURRENCY={conc}, {posters_note(args)}")
        table.add("drain time (bulk write acknowledged → last buffer doc deleted)", col("drain_s", br), "{:.2f} s", budget,
                  f"≤ {budget:.2f} s (1.2 × {n} × {delay * 1000:.0f} ms / {conc})")
        table.add("all collection docs visible", col("collection_s", br), "{:.2f} s")
        table.add("floor: POST-only client, same fake, same concurrency", col("floor_post_s", br), "{:.2f} s")
        table.add("drain / floor (same run)", col("ratio_to_floor", br), "{:.2f}×", GOALS["burst_factor"], "≤ 1.2×")
        table.add("first Radarr POST after the write", col("first_post_s", br), "{:.2f} s")
        table.add("Radarr requests per item (GET ?tmdbId + POST)", [x["radarr_requests"] / n for x in br], "{:.2f}")
        if side:
            what = "CouchDB requests per item (see notes)"
        elif not server.external:
            what = "CouchDB requests per item (all clients)"
        elif getattr(server, "log_path", None) is not None:
            what = "CouchDB requests per item (this run's databases, server log)"
        else:
            what = "CouchDB requests per item (node-wide counter: every client)"
        reqs_na = server.requests_note[len("n/a: "):] if server.requests_note.startswith("n/a") else ""
        table.add(what, [None if x["couch_requests_total"] is None else x["couch_requests_total"] / n for x in br],
                  "{:.2f}", na=reqs_na)
        if any("couch_requests_node_wide" in x for x in br):
            table.add("CouchDB requests per item, node-wide counter (every client)",
                      [x.get("couch_requests_node_wide", float("nan")) / n for x in br], "{:.2f}")
        cpu_what = "server CPU per item (see notes)" if side else f"{server.kind} CPU per item"
        cpu_na = server.cpu_note[len("n/a: "):] if server.cpu_note.startswith("n/a") else ""
        table.add(cpu_what, [None if x["cpu_s"]["couch"] is None else x["cpu_s"]["couch"] / n * 1000 for x in br],
                  "{:.2f} ms", na=cpu_na)
        add_query_server(table, br, n)
        table.add("worker CPU per moved item (user+sys)", col("cpu_ms_per_item", br), "{:.2f} ms")
        table.add("worker peak RSS (VmHWM) after the burst", col("worker_hwm_mb", br), "{:.1f} MB", GOALS["rss_mb"], "≤ 100 MB")
    for movies, series in size["reconcile"]:
        rr = raw.get(reconcile_key(movies, series))
        if not rr:
            continue
        table.section(f"reconcile: {movies:,} movies + {series:,} series, POST /reconcile (gunicorn, 1 worker, "
                      "POSTERS=false) vs I/O floor (bench/floor_reconcile.py, paged like the reconcile), same run")
        table.add("first import: reconcile", col("import_s", rr), "{:.2f} s")
        table.add("first import: floor (listing, _bulk_docs of 500)", col("floor_import_s", rr), "{:.2f} s")
        table.add("first import: reconcile / floor", col("import_ratio", rr), "{:.2f}×", GOALS["import_ratio"], "≤ 2×")
        table.add("first import: docs written", col("import_written", rr), "{:.0f}", None)
        table.add("unchanged: reconcile (median of the pairs in a run)", col("unchanged_s", rr), "{:.2f} s")
        table.add("unchanged: floor (listing, keyed reads of 500, ids-only pages)", col("floor_unchanged_s", rr), "{:.2f} s")
        table.add("unchanged: reconcile / floor (median of the pairs)", col("unchanged_ratio", rr), "{:.2f}×",
                  GOALS["unchanged_ratio"], "≤ 1.5×")
        table.add("unchanged: docs written", col("unchanged_written", rr), "{:.0f}", 0, "0")
        table.add("web worker RSS before (VmRSS)", col("web_rss_idle_mb", rr), "{:.1f} MB")
        table.add("web worker peak RSS (VmHWM) over import + unchanged", col("web_hwm_mb", rr), "{:.1f} MB",
                  GOALS["rss_mb"], "≤ 100 MB")
        if any("posters_s" in x for x in rr):
            pr = [x for x in rr if "posters_s" in x]
            table.add("posters (POSTERS=true): first reconcile storing every poster", col("posters_s", pr), "{:.2f} s")
            table.add("posters: time per poster stored (that reconcile − unchanged) / stored",
                      col("poster_ms_per_title", pr), "{:.2f} ms")
            table.add("posters: stored", col("posters_stored", pr), "{:.0f}")
            table.add("posters: bytes per title (attachment; the fake's -250 files are tiny)",
                      col("poster_bytes_per_title", pr), "{:.0f} B")
            table.add("posters: unchanged reconcile with every poster in place / floor (median of the pairs)",
                      col("posters_unchanged_ratio", pr), "{:.2f}×", GOALS["unchanged_ratio"], "≤ 1.5×")
            table.add("posters: web worker peak RSS (VmHWM)", col("web_hwm_posters_mb", pr), "{:.1f} MB",
                      GOALS["rss_mb"], "≤ 100 MB")


def add_query_server(table, runs: list[dict], n: int) -> None:
    """CouchDB 3's couchjs calls per item (node-wide counters): validate_doc_update calls, and
    the ms each costs with the process reset that precedes it. Only where the server has them."""
    if not any(x.get("query_server") for x in runs):
        return
    qs = [x.get("query_server") or {} for x in runs]
    vdu = [q.get("ddoc_vdu", {}).get("calls", 0) / n for q in qs]
    table.add("CouchDB validate_doc_update calls per item (node-wide)", vdu, "{:.2f}")
    def per_call(q: dict, kind: str) -> float:
        got = q.get(kind) or {}
        return got["ms"] / got["calls"] if got.get("calls") else float("nan")

    # every call to couchjs first takes a process from the pool and resets it (a full JS GC)
    table.add("couchjs ms per validate call + its process reset (node-wide)",
              [per_call(q, "ddoc_vdu") + per_call(q, "reset") for q in qs], "{:.2f} ms")
    table.add("couchjs ms per item, all calls (node-wide)",
              [sum(v["ms"] for v in q.values()) / n for q in qs], "{:.2f} ms")


def reconcile_key(movies: int, series: int) -> str:
    return f"reconcile {movies}+{series}"


def posters_note(args) -> str:
    return "POSTERS=true" if args.posters else "POSTERS=false"


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """"10000+2000,100000+10000" -> [(10000, 2000), (100000, 10000)]."""
    out = []
    for part in text.split(","):
        movies, _, series = part.strip().partition("+")
        out.append((int(movies.replace("_", "")), int((series or "0").replace("_", ""))))
    return out


def machine() -> str:
    cpu = "?"
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GB RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def couch_credentials(args) -> tuple[str | None, str | None]:
    user = args.couch_user if args.couch_user is not None else os.environ.get("COUCHDB_USER") or None
    password = args.couch_password if args.couch_password is not None else os.environ.get("COUCHDB_PASSWORD")
    if password is None and os.environ.get("COUCHDB_PASSWORD_FILE"):
        password = Path(os.environ["COUCHDB_PASSWORD_FILE"]).read_text(encoding="utf-8").strip()
    return user, password


def server_specs(args, p: argparse.ArgumentParser) -> list[str]:
    """Which servers to run on: "local" (our own pouchdb-server) and/or CouchDB URLs."""
    external = args.couch_url or os.environ.get("COUCHDB_URL") or None
    if args.servers:
        specs = [x.strip() for x in args.servers.split(",") if x.strip()]
        specs = [external if x in ("couchdb", "external") and external else x for x in specs]
        for x in specs:
            if x != "local" and not x.startswith(("http://", "https://")):
                p.error(f"--servers: {x!r} is neither 'local' nor an http(s) URL")
    elif args.side_by_side:
        if not external:
            p.error("--side-by-side needs an external CouchDB: COUCHDB_URL or --couch-url")
        specs = ["local", external]
    else:
        specs = [external] if external else ["local"]
    if len(set(specs)) != len(specs):
        p.error(f"--servers: a server is named twice: {specs}")
    if sum(x != "local" for x in specs) > 1 and (args.server_pid or args.server_log):
        p.error("--server-pid / --server-log name one external server; give only one CouchDB URL")
    if (args.server_pid or args.server_log) and all(x == "local" for x in specs):
        p.error("--server-pid / --server-log are for an external CouchDB (the local pouchdb-server is measured anyway)")
    return specs


def start_server(spec: str, args, n_external: int):
    if spec == "local":
        return CouchServer(in_memory=not args.on_disk)
    user, password = couch_credentials(args)
    name = "couchdb" if n_external == 1 else "couchdb@" + (urlsplit(spec).netloc.rsplit("@", 1)[-1])
    return ExternalCouch(spec, user, password, server_pid=args.server_pid, server_log=args.server_log, name=name)


def column_head(server) -> str:
    if not server.external:
        return "pouchdb-server" + ("" if server.in_memory else " (disk)")
    v = server.info.get("version", "?")
    return f"CouchDB {v}" if server.name == "couchdb" else f"CouchDB {v} {server.name.split('@', 1)[1]}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--quick", action="store_true", help="1 run, smaller sizes (a smoke run; not the goal's sizes)")
    p.add_argument("--runs", type=int, help="runs per figure (default 3, --quick 1)")
    p.add_argument("--only", action="append", choices=("latency", "webhook", "burst", "reconcile"),
                   help="run only these figures (repeatable)")
    p.add_argument("--on-disk", action="store_true", help="pouchdb-server on disk (leveldown, temp dir) instead of in memory")
    p.add_argument("--concurrency", type=int, default=int(os.environ.get("ARR_CONCURRENCY") or 8),
                   help="ARR_CONCURRENCY for the burst (default: $ARR_CONCURRENCY or 8)")
    p.add_argument("--sidecar-root", type=Path, default=ROOT,
                   help="run the sidecar processes from this checkout (to measure a patch side by side)")
    p.add_argument("--fake-as-is", action="store_true",
                   help="leave the fakes' Nagle stall in (~44 ms per answer; see bench/fakehost.py)")
    p.add_argument("--profile", action="store_true", help="py-spy the worker during the burst (collapsed stacks in the log dir)")
    p.add_argument("--posters", action="store_true",
                   help="keep POSTERS=true (the production default) for the latency, webhook and burst figures; "
                        "by default they run with POSTERS=false and the reconcile figure measures posters separately")
    p.add_argument("--reconcile-sizes", metavar="M+S,...",
                   help="library sizes of the reconcile figure, e.g. 10000+2000,100000+10000 (default 10000+2000, "
                        "--quick 2000+400); the posters figures at the first size only")
    p.add_argument("--reconcile-repeats", type=int, default=3, help="unchanged reconcile/floor pairs per run (default 3)")
    p.add_argument("--json", type=Path, help="also write every run's raw numbers here")
    p.add_argument("--keep-logs", action="store_true", help="keep the sidecar and server logs (kept anyway on failure)")
    g = p.add_argument_group("external CouchDB (instead of, or beside, the local pouchdb-server)")
    g.add_argument("--couch-url", help="run every figure against this CouchDB (default: $COUCHDB_URL; "
                                       "without either, the local pouchdb-server)")
    g.add_argument("--couch-user", help="its admin user (default: $COUCHDB_USER; CouchDB 3 makes new databases "
                                        "admin-only, so the benchmark uses the admin for everything)")
    g.add_argument("--couch-password", help="its admin password (default: $COUCHDB_PASSWORD or $COUCHDB_PASSWORD_FILE)")
    g.add_argument("--server-pid", type=int,
                   help="the external CouchDB's beam.smp pid (same machine): its CPU and its children's (couchjs) "
                        "from /proc; without it, server CPU is n/a")
    g.add_argument("--server-log", type=Path,
                   help="the external CouchDB's couchdb.log (same machine, readable): count the requests to this "
                        "run's own databases per kind, as for pouchdb-server; without it, the node-wide counter "
                        "/_node/_local/_stats/couchdb/httpd/requests (every client of the node)")
    g.add_argument("--side-by-side", action="store_true",
                   help="run every figure on the local pouchdb-server AND on the external CouchDB, one table")
    g.add_argument("--servers", help="comma-separated servers to run on, in one table: 'local' and/or CouchDB URLs "
                                     "('couchdb' = $COUCHDB_URL / --couch-url); e.g. --servers local,http://127.0.0.1:5984")
    args = p.parse_args(argv)
    specs = server_specs(args, p)
    side = len(specs) > 1

    runs = args.runs or (1 if args.quick else 3)
    size = {
        "latency": 100 if args.quick else 500, "webhook": 100 if args.quick else 500,
        "burst": 300 if args.quick else 1000,
        "reconcile": parse_sizes(args.reconcile_sizes) if args.reconcile_sizes
        else [(2000, 400) if args.quick else (10_000, 2000)],
    }
    gap, delay = 0.02, 0.05
    only = set(args.only or ("latency", "webhook", "burst", "reconcile"))
    logdir = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    started = time.monotonic()
    busy0, own0 = machine_busy_seconds(), own_cpu_seconds()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    n_external = sum(x != "local" for x in specs)
    servers = []
    fakes = None
    try:
        for spec in specs:
            if spec == "local":
                say(f"starting pouchdb-server ({'on disk' if args.on_disk else 'in memory'}); logs in {logdir}")
            servers.append(start_server(spec, args, n_external))
            srv = servers[-1]
            if srv.external:
                say(f"external {srv.version()}: server CPU: {srv.cpu_note}; requests: {srv.requests_note}")
        say("starting the fakes")
        fakes = FakeHost(as_is=args.fake_as_is)
    except BaseException as exc:
        if fakes is not None:
            fakes.stop()
        for srv in servers:
            srv.stop()
        if isinstance(exc, RuntimeError):  # a server that cannot be used: say why, no traceback
            print(f"run.py: error: {exc}", file=sys.stderr)
            shutil.rmtree(logdir, ignore_errors=True)
            return 2
        raise
    ctxs = [Ctx(srv, fakes, logdir, args.sidecar_root.resolve()) for srv in servers]
    for ctx in ctxs:
        ctx.posters = args.posters
    versions = {srv.name: srv.version() for srv in servers}  # asked now: the servers are stopped before the report
    server_cpu0 = [srv.cpu_seconds() if srv.external else None for srv in servers]
    raw: dict[str, dict[str, list]] = {srv.name: {} for srv in servers}

    def each_run(figure: str, what: str, fn) -> None:
        """`runs` runs of a figure; with several servers, each run on every server in turn (the
        order alternates between runs, so that neither always goes first)."""
        for ctx in ctxs:
            raw[ctx.server.name][figure] = []
        for r in range(runs):
            for ctx in (ctxs if r % 2 == 0 else ctxs[::-1]):
                where = f"[{ctx.server.name}] " if side else ""
                say(f"{where}{what}: run {r + 1}/{runs}")
                res = fn(ctx, r)
                raw[ctx.server.name][figure].append(res)
                say(f"  {json.dumps(res)}")

    def one_burst(ctx, r: int) -> dict:
        prof = logdir / f"burst-{ctx.server.name}-run{r + 1}.pyspy.txt" if args.profile else None
        res = burst.burst(ctx, size["burst"], delay, args.concurrency, profile_to=prof)
        if prof is not None and prof.exists():
            res["profile_pct"] = burst.summarize_profile(prof)
        res["floor_post_s"] = burst.arr_floor(ctx, size["burst"], delay, args.concurrency, start_id=500_000)
        res["ratio_to_floor"] = res["drain_s"] / res["floor_post_s"]
        return res

    try:
        import latency
        import burst
        import reconcile_scale

        if "latency" in only:
            each_run("latency", f"latency buffer→collection ({size['latency']} items, {gap * 1000:.0f} ms gap)",
                     lambda ctx, r: latency.worker_latency(ctx, size["latency"], gap))
        if "webhook" in only:
            each_run("webhook", f"latency webhook→collection ({size['webhook']} webhooks)",
                     lambda ctx, r: latency.webhook_latency(ctx, size["webhook"], gap))
        if "burst" in only:
            each_run("burst", f"burst ({size['burst']} items, Radarr {delay * 1000:.0f} ms per request, "
                              f"concurrency {args.concurrency})", one_burst)
        if "reconcile" in only:
            for ctx in ctxs:
                say(f"{f'[{ctx.server.name}] ' if side else ''}reconcile: warm-up pass (untimed, 2000 + 400 titles)")
                reconcile_scale.reconcile_scale(ctx, 2000, 400, repeats=1)
            for k, (movies, series) in enumerate(size["reconcile"]):
                each_run(reconcile_key(movies, series), f"reconcile ({movies} movies + {series} series)",
                         lambda ctx, r, m=movies, n=series, first=k == 0: reconcile_scale.reconcile_scale(
                             ctx, m, n, floor_first=r % 2 == 0, repeats=args.reconcile_repeats, posters=first))
    finally:
        server_cpu1 = [srv.cpu_seconds() if srv.external else None for srv in servers]
        fakes.stop()
        for srv in servers:
            srv.stop()

    if side:
        table = SideTable([srv.name for srv in servers], [column_head(srv) for srv in servers])
        for srv in servers:
            fill_table(table.tables[srv.name], raw[srv.name], size, args, srv, delay, side=True)
    else:
        table = Table()
        fill_table(table, raw[servers[0].name], size, args, servers[0], delay, side=False)

    profiles = [(srv.name, i, x["profile_pct"]) for srv in servers
                for i, x in enumerate(raw[srv.name].get("burst", []), 1) if x.get("profile_pct")]
    elapsed = time.monotonic() - started
    # everything this benchmark started has been waited for by now: the rest is someone else's
    # (an external CouchDB's CPU too, unless its pid was given: then it is taken out)
    ext_cpu = sum(b - a for a, b in zip(server_cpu0, server_cpu1) if a is not None and b is not None)
    foreign = max(0.0, (machine_busy_seconds() - busy0) - (own_cpu_seconds() - own0) - ext_cpu)
    fakes_text = ("tests/fakes/servarr/ in a child process"
                  f"{' (as is: with its ~44 ms Nagle stall per answer)' if args.fake_as_is else ' with TCP_NODELAY (as Kestrel)'}; loopback")
    print(f"movietracker sidecar benchmarks — {when}")
    print(f"machine: {machine()}")
    if side:
        for srv, head in zip(servers, [column_head(s) for s in servers]):
            print(f"server {head!r}: {versions[srv.name]}, {srv.storage}")
        print(f"fakes: {fakes_text}")
    else:
        print(f"server: {versions[servers[0].name]}, {servers[0].storage}; fakes: {fakes_text}")
    print(f"mode: {'quick (smaller sizes, not the goal sizes)' if args.quick else 'full'}, {runs} run(s) per figure; "
          f"sidecar from {ctxs[0].sidecar_root}; took {elapsed / 60:.1f} min")
    external_cpu_unknown = [srv.name for srv, a in zip(servers, server_cpu0) if srv.external and a is None]
    print(f"other load on the machine meanwhile: {foreign:.0f} CPU-s = {100 * foreign / (elapsed * (os.cpu_count() or 1)):.0f} % "
          f"of its {os.cpu_count()} cores (noise: figures are only comparable at low values)"
          + (f"; includes the external CouchDB's own CPU (no --server-pid)" if external_cpu_unknown else ""))
    if side or servers[0].external:
        for srv in servers:
            who = f"{column_head(srv)}: " if side else ""
            print(f"{who}server CPU: {srv.cpu_note}; CouchDB requests: {srv.requests_note}")
    print()
    print(table.render())
    for name, i, prof in profiles:
        where = f" on {name}" if side else ""
        print(f"\nwhere the worker's time went in burst run {i}{where} (py-spy samples, % of each thread's time):")
        for group, cats in prof.items():
            print(f"  {group}: " + "; ".join(f"{k} {v:.0f} %" for k, v in cats.items()))
    print("\nshort of goal: " + (", ".join(table.shortfalls) if table.shortfalls else "none"))
    if args.keep_logs or args.profile:
        print(f"logs: {logdir}")
    else:
        shutil.rmtree(logdir, ignore_errors=True)
    if args.json:
        if side:
            doc = {"when": when, "machine": machine(), "sizes": size,
                   "servers": {srv.name: {"server": versions[srv.name], "storage": srv.storage,
                                          "cpu": srv.cpu_note, "requests": srv.requests_note, "runs": raw[srv.name]}
                               for srv in servers}}
        else:
            doc = {"when": when, "machine": machine(), "sizes": size, "server": versions[servers[0].name],
                   "runs": raw[servers[0].name]}
        args.json.write_text(json.dumps(doc, indent=2))
    return 1 if table.shortfalls else 0


if __name__ == "__main__":
    sys.exit(main())
