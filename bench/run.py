#!/usr/bin/env python3
"""Benchmarks against the performance goals (issue #5): one command, every figure.

    .venv/bin/python bench/run.py            # full: 3 runs per figure, ~4-5 minutes on 2 cores
    .venv/bin/python bench/run.py --quick    # 1 run, smaller sizes, ~1 minute (not the goal sizes)

Exit status 0 when every goal is met, 1 when one falls short (the table says which).

Starts its own pouchdb-server (scripts/local_couch.start, free port, in memory unless
--on-disk), the fake Radarr/Sonarr (tests/fakes/servarr.py, in a child process), and real sidecar
processes: `python -m sidecar worker` and `python -m sidecar web` (gunicorn). Everything over
loopback. Each figure is the median of the runs (every run is printed too); ratios are taken
within a run, then their median. Progress goes to stderr, the results table to stdout.

Figures: worker latency (buffer doc → collection doc), webhook latency (POST → collection doc),
burst drain (1,000 items, Radarr 50 ms per request), worker CPU per item and peak RSS, reconcile
of 10,000 movies + 2,000 series (import and unchanged) against the I/O floor, web worker peak RSS.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (ROOT, CouchServer, FakeHost, machine_busy_seconds, median, own_cpu_seconds,  # noqa: E402
                    say)

GOALS = {
    "latency_p50_ms": 50.0, "latency_p99_ms": 250.0,
    "burst_factor": 1.2,
    "import_ratio": 2.0, "unchanged_ratio": 1.5,
    "rss_mb": 100.0,
}


class Ctx:
    def __init__(self, server: CouchServer, fakes: FakeHost, logdir: Path, sidecar_root: Path):
        self.server, self.fakes, self.logdir, self.sidecar_root = server, fakes, logdir, sidecar_root


class Table:
    def __init__(self):
        self.rows: list[tuple[str, str, str, str, str]] = []
        self.shortfalls: list[str] = []

    def add(self, name: str, values: list[float], fmt: str, goal: float | None = None, goal_text: str = "",
            lower_is_better: bool = True) -> None:
        vals = [v for v in values if v == v]  # drop NaN
        med = median(vals) if vals else float("nan")
        runs = " / ".join(fmt.format(v) for v in values) if len(values) > 1 else ""
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
    p.add_argument("--json", type=Path, help="also write every run's raw numbers here")
    p.add_argument("--keep-logs", action="store_true", help="keep the sidecar and server logs (kept anyway on failure)")
    args = p.parse_args(argv)

    runs = args.runs or (1 if args.quick else 3)
    size = {
        "latency": 100 if args.quick else 500, "webhook": 100 if args.quick else 500,
        "burst": 300 if args.quick else 1000, "movies": 2000 if args.quick else 10_000,
        "series": 400 if args.quick else 2000,
    }
    gap, delay = 0.02, 0.05
    only = set(args.only or ("latency", "webhook", "burst", "reconcile"))
    logdir = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    started = time.monotonic()
    busy0, own0 = machine_busy_seconds(), own_cpu_seconds()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    say(f"starting pouchdb-server ({'on disk' if args.on_disk else 'in memory'}) and the fakes; logs in {logdir}")
    server = CouchServer(in_memory=not args.on_disk)
    fakes = FakeHost(as_is=args.fake_as_is)
    ctx = Ctx(server, fakes, logdir, args.sidecar_root.resolve())
    raw: dict[str, list] = {}
    table = Table()
    try:
        import latency
        import burst
        import reconcile_scale

        if "latency" in only:
            raw["latency"] = []
            for r in range(runs):
                say(f"latency buffer→collection: run {r + 1}/{runs} ({size['latency']} items, {gap * 1000:.0f} ms gap)")
                raw["latency"].append(latency.worker_latency(ctx, size["latency"], gap))
                say(f"  {json.dumps(raw['latency'][-1])}")
        if "webhook" in only:
            raw["webhook"] = []
            for r in range(runs):
                say(f"latency webhook→collection: run {r + 1}/{runs} ({size['webhook']} webhooks)")
                raw["webhook"].append(latency.webhook_latency(ctx, size["webhook"], gap))
                say(f"  {json.dumps(raw['webhook'][-1])}")
        if "burst" in only:
            raw["burst"] = []
            for r in range(runs):
                say(f"burst: run {r + 1}/{runs} ({size['burst']} items, Radarr {delay * 1000:.0f} ms per request, "
                    f"concurrency {args.concurrency})")
                prof = logdir / f"burst-run{r + 1}.pyspy.txt" if args.profile else None
                res = burst.burst(ctx, size["burst"], delay, args.concurrency, profile_to=prof)
                if prof is not None and prof.exists():
                    res["profile_pct"] = burst.summarize_profile(prof)
                res["floor_post_s"] = burst.arr_floor(ctx, size["burst"], delay, args.concurrency, start_id=500_000)
                res["ratio_to_floor"] = res["drain_s"] / res["floor_post_s"]
                raw["burst"].append(res)
                say(f"  {json.dumps(res)}")
        if "reconcile" in only:
            raw["reconcile"] = []
            say("reconcile: warm-up pass (untimed, 2000 + 400 titles)")
            reconcile_scale.reconcile_scale(ctx, 2000, 400, repeats=1)
            for r in range(runs):
                say(f"reconcile: run {r + 1}/{runs} ({size['movies']} movies + {size['series']} series)")
                raw["reconcile"].append(reconcile_scale.reconcile_scale(ctx, size["movies"], size["series"],
                                                                       floor_first=r % 2 == 0))
                say(f"  {json.dumps(raw['reconcile'][-1])}")
    finally:
        fakes.stop()
        server.stop()

    col = lambda key, runs_: [x[key] for x in runs_]  # noqa: E731
    if "latency" in raw:
        lr = raw["latency"]
        table.section(f"worker latency: buffer doc written → collection doc visible ({size['latency']} items, fake Radarr at once)")
        table.add("p50", col("p50_ms", lr), "{:.1f} ms", GOALS["latency_p50_ms"], "≤ 50 ms")
        table.add("p99", col("p99_ms", lr), "{:.1f} ms", GOALS["latency_p99_ms"], "≤ 250 ms")
        table.add("max", col("max_ms", lr), "{:.1f} ms")
        table.add("items not visible within 10 s", col("timeouts", lr), "{:.0f}", 0, "0")
    if "webhook" in raw:
        wr = raw["webhook"]
        table.section(f"webhook latency: POST /webhooks/radarr → collection doc visible ({size['webhook']} events: "
                      "Download, Grab, MovieAdded in turn; `python -m sidecar web` defaults)")
        table.add("p50", col("p50_ms", wr), "{:.1f} ms", GOALS["latency_p50_ms"], "≤ 50 ms")
        table.add("p99", col("p99_ms", wr), "{:.1f} ms", GOALS["latency_p99_ms"], "≤ 250 ms")
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
                      f"ARR_CONCURRENCY={conc}")
        table.add("drain time (bulk write acknowledged → last buffer doc deleted)", col("drain_s", br), "{:.2f} s", budget,
                  f"≤ {budget:.2f} s (1.2 × {n} × {delay * 1000:.0f} ms / {conc})")
        table.add("all collection docs visible", col("collection_s", br), "{:.2f} s")
        table.add("floor: POST-only client, same fake, same concurrency", col("floor_post_s", br), "{:.2f} s")
        table.add("drain / floor (same run)", col("ratio_to_floor", br), "{:.2f}×", GOALS["burst_factor"], "≤ 1.2×")
        table.add("first Radarr POST after the write", col("first_post_s", br), "{:.2f} s")
        table.add("Radarr requests per item (GET ?tmdbId + POST)", [x["radarr_requests"] / n for x in br], "{:.2f}")
        table.add("CouchDB requests per item (all clients)", [x["couch_requests_total"] / n for x in br], "{:.2f}")
        table.add("pouchdb-server CPU per item", [x["cpu_s"]["couch"] / n * 1000 for x in br], "{:.2f} ms")
        table.add("worker CPU per moved item (user+sys)", col("cpu_ms_per_item", br), "{:.2f} ms")
        table.add("worker peak RSS (VmHWM) after the burst", col("worker_hwm_mb", br), "{:.1f} MB", GOALS["rss_mb"], "≤ 100 MB")
    if "reconcile" in raw:
        rr = raw["reconcile"]
        table.section(f"reconcile: {size['movies']} movies + {size['series']} series, POST /reconcile "
                      "(gunicorn, 1 worker) vs I/O floor (bench/floor_reconcile.py), same run")
        table.add("first import: reconcile", col("import_s", rr), "{:.2f} s")
        table.add("first import: floor, one _bulk_docs per kind", col("floor_import_one_bulk_s", rr), "{:.2f} s")
        table.add("first import: floor, _bulk_docs of 500", col("floor_import_batched_s", rr), "{:.2f} s")
        table.add("first import: floor (the faster of the two)", col("floor_import_s", rr), "{:.2f} s")
        table.add("first import: reconcile / floor", col("import_ratio", rr), "{:.2f}×", GOALS["import_ratio"], "≤ 2×")
        table.add("first import: docs written", col("import_written", rr), "{:.0f}", None)
        table.add("unchanged: reconcile (median of 3 per run)", col("unchanged_s", rr), "{:.2f} s")
        table.add("unchanged: floor (GET lists, _all_docs; median of 3)", col("floor_unchanged_s", rr), "{:.2f} s")
        table.add("unchanged: reconcile / floor (median of 3 pairs)", col("unchanged_ratio", rr), "{:.2f}×",
                  GOALS["unchanged_ratio"], "≤ 1.5×")
        table.add("unchanged: docs written", col("unchanged_written", rr), "{:.0f}", 0, "0")
        table.add("web worker RSS before (VmRSS)", col("web_rss_idle_mb", rr), "{:.1f} MB")
        table.add("web worker peak RSS (VmHWM) over import + unchanged", col("web_hwm_mb", rr), "{:.1f} MB",
                  GOALS["rss_mb"], "≤ 100 MB")

    profiles = [x.get("profile_pct") for x in raw.get("burst", []) if x.get("profile_pct")]
    elapsed = time.monotonic() - started
    # everything this benchmark started has been waited for by now: the rest is someone else's
    foreign = max(0.0, (machine_busy_seconds() - busy0) - (own_cpu_seconds() - own0))
    print(f"movietracker sidecar benchmarks — {when}")
    print(f"machine: {machine()}")
    print(f"server: {server.version()}, {server.storage}; fakes: tests/fakes/servarr.py in a child process"
          f"{' (as is: with its ~44 ms Nagle stall per answer)' if args.fake_as_is else ' with TCP_NODELAY (as Kestrel)'}; loopback")
    print(f"mode: {'quick (smaller sizes, not the goal sizes)' if args.quick else 'full'}, {runs} run(s) per figure; "
          f"sidecar from {ctx.sidecar_root}; took {elapsed / 60:.1f} min")
    print(f"other load on the machine meanwhile: {foreign:.0f} CPU-s = {100 * foreign / (elapsed * (os.cpu_count() or 1)):.0f} % "
          f"of its {os.cpu_count()} cores (noise: figures are only comparable at low values)")
    print()
    print(table.render())
    for i, prof in enumerate(profiles, 1):
        print(f"\nwhere the worker's time went in burst run {i} (py-spy samples, % of each thread's time):")
        for group, cats in prof.items():
            print(f"  {group}: " + "; ".join(f"{k} {v:.0f} %" for k, v in cats.items()))
    print("\nshort of goal: " + (", ".join(table.shortfalls) if table.shortfalls else "none"))
    if args.keep_logs or args.profile:
        print(f"logs: {logdir}")
    else:
        shutil.rmtree(logdir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps({"when": when, "machine": machine(), "sizes": size, "runs": raw}, indent=2))
    return 1 if table.shortfalls else 0


if __name__ == "__main__":
    sys.exit(main())
