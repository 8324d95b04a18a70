"""Shared pieces of the benchmarks: the server, the fakes, sidecar processes, a changes
follower that timestamps collection docs as they become visible, /proc readings, statistics.

Everything runs over loopback on one machine. Timestamps are time.perf_counter() of the
measuring process (bench/run.py), so "written" and "visible" are read off the same clock.
"""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from sidecar.config import ArrInstance, Settings, to_env  # noqa: E402
from sidecar.couch import Couch  # noqa: E402
from sidecar.design import push_all  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
WEBHOOK_USER, WEBHOOK_PASSWORD = "radarr", "bench-hook-pw"
RECONCILE_TOKEN = "bench-reconcile-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- statistics


def pct(values: list[float], p: float) -> float:
    """Percentile with linear interpolation between closest ranks (numpy's default)."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --------------------------------------------------------------------------- /proc


def cpu_seconds(pid: int) -> float:
    """user + system CPU time of a process (its threads included, its children not)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    # after the ")": state is field 3, utime field 14, stime field 15 (1-based in proc(5))
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def vm_kb(pid: int, key: str = "VmHWM") -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def proc_comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def parent_pid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


def tree_cpu_seconds(pid: int) -> float:
    """user + system CPU of a process and all its descendants, plus what its descendants' dead
    children used (cutime + cstime: reaped children count once their parent waited for them).
    For CouchDB: beam.smp, erl_child_setup and the couchjs processes it starts and ends."""
    total, todo, seen = 0.0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            todo += children(p)
        except OSError:  # ended meanwhile: its CPU shows up in its parent's cutime once reaped
            continue
        # after the ")": utime, stime, cutime, cstime are fields 14-17 (1-based in proc(5))
        total += sum(int(x) for x in fields[11:15]) / CLK_TCK
    return total


def machine_busy_seconds() -> float:
    """CPU-seconds the whole machine has been busy (all cores), from /proc/stat."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


def own_cpu_seconds() -> float:
    """CPU-seconds of this process and every child it has waited for (servers, workers, web,
    gunicorn's workers through their master, the floor scripts)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


# --------------------------------------------------------------------------- the server


class CouchServer:
    """pouchdb-server via scripts/local_couch.start, on a free port, in a temp dir.

    What every server class offers the figures: url, auth (None here: admin party), couch (a
    sidecar.couch.Couch), name/label/storage/version() for the report, track() for the databases
    a run creates, cpu_seconds() (None when it cannot be read; cpu_note says why), and
    request_mark() / requests_since(mark, dbs) (None when they cannot be read; requests_note
    says why, or what is counted)."""

    kind = "pouchdb-server"
    auth: tuple[str, str] | None = None
    external = False

    def __init__(self, in_memory: bool = True):
        import local_couch

        self.in_memory = in_memory
        self.tmp = tempfile.TemporaryDirectory(prefix="bench-pouchdb-")
        self.port = free_port()
        self.proc = local_couch.start(self.port, self.tmp.name, in_memory=in_memory)
        self.url = f"http://127.0.0.1:{self.port}"
        self.couch = Couch(self.url)
        self.name = "local"
        self.cpu_note = f"its node process (pid {self.proc.pid})"
        self.requests_note = "every request in its log (log.txt), the followers' feeds included"

    @property
    def label(self) -> str:
        return f"local pouchdb-server ({'in memory' if self.in_memory else 'on disk'})"

    @property
    def storage(self) -> str:
        return "in-memory (memdown)" if self.in_memory else f"on disk (leveldown, {self.tmp.name})"

    def track(self, db_names) -> None:
        """The run's databases (an external server drops leftovers at stop; here the temp dir goes)."""

    def untrack(self, db_names) -> None:
        pass

    def cpu_seconds(self) -> float | None:
        return cpu_seconds(self.proc.pid)

    def request_mark(self) -> int:
        return self.log_offset()

    @property
    def request_log(self) -> Path:
        return Path(self.tmp.name) / "log.txt"

    def log_offset(self) -> int:
        try:
            return self.request_log.stat().st_size
        except OSError:
            return 0

    def query_server_mark(self):
        return None  # pouchdb-server runs its JavaScript in-process: no such counters

    def query_server_since(self, mark):
        return None

    def requests_since(self, offset: int, dbs: dict[str, str]) -> dict[str, int]:
        """Requests pouchdb-server logged (log.txt) after `offset`, by method and kind of path,
        databases named by role (dbs: {name: role})."""
        return _count_log_requests(self.request_log, offset, dbs, _pouchdb_log_request)

    def version(self) -> str:
        try:
            info = requests.get(self.url + "/", timeout=5).json()
            return f"pouchdb-server {info.get('version', '?')}"
        except Exception:
            return "pouchdb-server"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.tmp.cleanup()


def _pouchdb_log_request(line: str) -> tuple[str, str] | None:
    """(method, path) of a pouchdb-server log.txt line (`host - - METHOD /path ...`)."""
    parts = line.split(" - - ", 1)
    if len(parts) != 2:
        return None
    fields = parts[1].split()
    return (fields[0], fields[1]) if len(fields) >= 2 else None


def _couch_log_request(line: str) -> tuple[str, str] | None:
    """(method, path) of a CouchDB 3 couchdb.log request line:
    `[notice] <time> <node> <pid> <req id> <host:port> <peer> <user> METHOD /path STATUS ok MS`."""
    if not line.startswith("[notice] "):
        return None
    fields = line.split()
    if len(fields) < 11 or not fields[9].startswith("/") or not fields[8].isupper():
        return None
    return fields[8], fields[9]


def _count_log_requests(path: Path, offset: int, dbs: dict[str, str], parse, only_dbs: bool = False) -> dict[str, int]:
    """Requests in a server's request log after `offset`, by method and kind of path, databases
    named by role (dbs: {name: role}); only_dbs: only requests to those databases (a server
    shared with other clients)."""
    counts: dict[str, int] = {}
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return counts
    for line in data.splitlines():
        req = parse(line)
        if req is None:
            continue
        method, path_ = req[0], req[1].split("?", 1)[0]
        segs = path_.strip("/").split("/")
        if only_dbs and segs[0] not in dbs:
            continue
        db = dbs.get(segs[0], "other") if segs and segs[0] else "server"
        rest = segs[1] if len(segs) > 1 else ""
        if rest == "_design" and len(segs) > 3:
            rest = f"_view/{segs[4] if len(segs) > 4 else segs[3]}"
        elif rest == "_local":
            rest = "_local"
        elif rest and not rest.startswith("_"):
            rest = "doc"
        key = f"{method} {db}/{rest}".rstrip("/")
        counts[key] = counts.get(key, 0) + 1
    return counts


def split_url(url: str) -> tuple[str, str | None, str | None]:
    """(url without credentials, user, password) from http://user:pass@host:port."""
    parts = urlsplit(url.rstrip("/"))
    if parts.username is None:
        return url.rstrip("/"), None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return (urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)),
            unquote(parts.username), unquote(parts.password or ""))


class ExternalCouch:
    """A CouchDB someone else runs (COUCHDB_URL / --couch-url). Every database a run creates has a
    fresh unique name and is deleted afterwards (stop() drops any the figures left). CouchDB 3
    makes new databases admin-only, so everything (the benchmark's own requests, the sidecar
    processes, the floor scripts) uses the admin credentials given.

    Server CPU: only with server_pid (beam.smp; read from /proc with its descendants, i.e. the
    couchjs processes that run validate_doc_update, views and filters). Request counts: CouchDB's
    node-wide counter /_node/_local/_stats/couchdb/httpd/requests (every client of the node, not
    only this benchmark), and with server_log (its couchdb.log, readable here) the requests to this
    run's own databases, counted per kind like pouchdb-server's log."""

    kind = "CouchDB"
    external = True
    STATS = "/_node/_local/_stats/couchdb/httpd/requests"

    def __init__(self, url: str, user: str | None = None, password: str | None = None,
                 server_pid: int | None = None, server_log: Path | None = None, name: str = "couchdb"):
        self.url, url_user, url_password = split_url(url)
        if user is None and url_user is not None:
            user, password = url_user, url_password
        self.auth = (user, password or "") if user is not None else None
        self.couch = Couch(self.url, auth=self.auth)
        self.name = name
        self._dbs: set[str] = set()
        self.session = requests.Session()
        self.session.auth = self.auth
        try:
            resp = self.session.get(self.url + "/", timeout=10)
        except requests.RequestException as exc:
            raise RuntimeError(f"CouchDB at {self.url} unreachable: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise RuntimeError(f"GET {self.url}/ answered {resp.status_code}: {resp.text[:200]}")
        self.info = resp.json()
        roles = (self.session.get(self.url + "/_session", timeout=10).json().get("userCtx") or {}).get("roles") or []
        if "_admin" not in roles:
            who = f"user {user!r} is" if user else "without credentials, the benchmark is"
            raise RuntimeError(f"{self.url}: {who} not a server admin (roles {roles}); the benchmark creates "
                               "and deletes databases, and on CouchDB 3 new databases are admin-only: "
                               "give the admin's COUCHDB_USER / COUCHDB_PASSWORD (or --couch-user/--couch-password)")

        self.pid, self.cpu_note = None, "n/a: no --server-pid given"
        if server_pid:
            self.pid, self.cpu_note = self._resolve_pid(server_pid)

        self.stats_ok, self.stats_why = self._probe_stats()
        self.log_path = server_log
        if server_log is not None:
            try:
                with open(server_log, "rb"):
                    pass
            except OSError as exc:
                raise RuntimeError(f"--server-log {server_log}: {exc.strerror}") from None
        if self.log_path is not None:
            self.requests_note = (f"requests to this run's databases in {self.log_path} (other clients' "
                                  "requests to other databases not counted)")
        elif self.stats_ok:
            self.requests_note = (f"node-wide counter {self.STATS}, after - before: every client of the node "
                                  "counts, not only this benchmark")
        else:
            self.requests_note = f"n/a: {self.stats_why}"

    @staticmethod
    def _resolve_pid(pid: int) -> tuple[int, str]:
        comm = proc_comm(pid)
        if not comm:
            raise RuntimeError(f"--server-pid {pid}: no such process")
        if comm == "beam.smp":
            return pid, f"beam.smp pid {pid} with its children (couchjs)"
        # e.g. `pgrep -f /opt/couch3/single | head -1` may name one of its couchjs processes
        p = pid
        while p > 1:
            try:
                p = parent_pid(p)
            except OSError:
                break
            if proc_comm(p) == "beam.smp":
                say(f"--server-pid {pid} is {comm}, not CouchDB's beam.smp: measuring its ancestor beam.smp pid {p}")
                return p, f"beam.smp pid {p} (--server-pid {pid} was its {comm}) with its children (couchjs)"
        return pid, f"pid {pid} ({comm}) with its children"

    def _probe_stats(self) -> tuple[bool, str]:
        try:
            resp = self.session.get(self.url + self.STATS, timeout=10)
        except requests.RequestException as exc:
            return False, f"GET {self.STATS}: {type(exc).__name__}"
        if resp.status_code != 200:
            return False, f"GET {self.STATS} answered {resp.status_code} (not CouchDB 3, or not an admin)"
        try:
            int(resp.json()["value"])
        except (ValueError, KeyError, TypeError):
            return False, f"GET {self.STATS}: no integer 'value' in {resp.text[:100]!r}"
        return True, ""

    @property
    def label(self) -> str:
        return f"CouchDB {self.info.get('version', '?')} at {self.url}"

    @property
    def storage(self) -> str:
        who = f"as {self.auth[0]}" if self.auth else "without credentials"
        return f"external, {who}; server CPU: {self.cpu_note}"

    def version(self) -> str:
        v = self.info.get("version", "?")
        sha = self.info.get("git_sha")
        return f"CouchDB {v}{f' ({sha})' if sha else ''} at {self.url}"

    def track(self, db_names) -> None:
        self._dbs.update(db_names)

    def untrack(self, db_names) -> None:
        self._dbs.difference_update(db_names)

    def cpu_seconds(self) -> float | None:
        if self.pid is None:
            return None
        try:
            return tree_cpu_seconds(self.pid)
        except OSError:
            return None

    def _stats_value(self) -> int | None:
        if not self.stats_ok:
            return None
        try:
            return int(self.session.get(self.url + self.STATS, timeout=10).json()["value"])
        except Exception:
            return None

    def request_mark(self) -> tuple[int | None, int | None]:
        offset = None
        if self.log_path is not None:
            try:
                offset = self.log_path.stat().st_size
            except OSError:
                offset = None
        return self._stats_value(), offset

    def requests_since(self, mark, dbs: dict[str, str]) -> dict[str, int] | None:
        """Requests since `mark`: per kind from the server log when given (this run's databases
        only), else {"node-wide": n} from CouchDB's counter (it counts a request when it ends:
        the `before` read itself is subtracted), else None."""
        stats0, offset = mark
        if offset is not None:
            return _count_log_requests(self.log_path, offset, dbs, _couch_log_request, only_dbs=True)
        stats1 = self._stats_value()
        if stats0 is None or stats1 is None:
            return None
        return {"node-wide": stats1 - stats0 - 1}

    def query_server_mark(self) -> dict[str, tuple[int, int]] | None:
        """CouchDB's query-server counters (/_node/_local/_stats/couchdb/query_server): per kind
        of call to couchjs (ddoc_vdu = validate_doc_update, reset = taking a process from the
        pool, map, ddoc_filter...), (calls, microseconds). Node-wide: every client's calls."""
        try:
            d = self.session.get(self.url + "/_node/_local/_stats/couchdb/query_server", timeout=10).json()
            return {k: (int(d["calls"][k]["value"]), int(d["time"][k]["value"])) for k in d["calls"] if k in d["time"]}
        except Exception:
            return None

    def query_server_since(self, mark) -> dict[str, dict[str, float]] | None:
        """{kind: {"calls": n, "ms": total ms}} since `mark`, for the kinds that were called."""
        now = self.query_server_mark()
        if mark is None or now is None:
            return None
        out = {}
        for k, (calls, us) in now.items():
            c0, u0 = mark.get(k, (0, 0))
            if calls > c0:
                out[k] = {"calls": calls - c0, "ms": (us - u0) / 1000}
        return out

    def node_requests_since(self, mark) -> int | None:
        stats0 = mark[0]
        stats1 = self._stats_value()
        return None if stats0 is None or stats1 is None else stats1 - stats0 - 1

    def stop(self) -> None:
        left = sorted(self._dbs)
        for db in left:
            try:
                self.couch.db(db).delete_db()
            except Exception:
                pass
        self._dbs.clear()
        self.session.close()


# --------------------------------------------------------------------------- the fakes


class FakeHost:
    """Fake Radarr and Sonarr (tests/fakes/servarr/) in a child process (bench/fakehost.py)."""

    def __init__(self, as_is: bool = False):
        self.as_is = as_is
        cmd = [sys.executable, str(BENCH / "fakehost.py")] + (["--as-is"] if as_is else [])
        self.proc = subprocess.Popen(cmd, cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        hello = json.loads(self.proc.stdout.readline())
        self.radarr_url, self.radarr_key = hello["radarr"]["url"], hello["radarr"]["api_key"]
        self.sonarr_url, self.sonarr_key = hello["sonarr"]["url"], hello["sonarr"]["api_key"]
        self._lock = threading.Lock()

    def _cmd(self, **cmd):
        with self._lock:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
            answer = json.loads(self.proc.stdout.readline())
        if not answer["ok"]:
            raise RuntimeError(f"fakehost {cmd['op']}: {answer['error']}")
        return answer["result"]

    def reset(self):
        return self._cmd(op="reset")

    def set(self, fake: str, attr: str, value):
        return self._cmd(op="set", fake=fake, attr=attr, value=value)

    def add_many(self, fake: str, n: int, start_id: int = 1, has_file_every: int = 3):
        return self._cmd(op="add_many", fake=fake, n=n, start_id=start_id, has_file_every=has_file_every)

    def stats(self, fake: str) -> dict:
        return self._cmd(op="stats", fake=fake)

    def clear_log(self, fake: str):
        return self._cmd(op="clear_log", fake=fake)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "stop"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)


# --------------------------------------------------------------------------- settings and processes


def make_settings(server: CouchServer, fakes: FakeHost, tag: str) -> Settings:
    """Fresh databases (unique names, the sidecar's own and the lookups db too, so that nothing
    is left on an external server) with the design docs pushed; production defaults for every
    knob the benchmark does not name."""
    prefix = f"bench_{tag}_{uuid.uuid4().hex[:6]}"
    user, password = server.auth or (None, None)
    s = Settings(
        couchdb_url=server.url, couchdb_user=user, couchdb_password=password,
        movies_buffer_db=f"{prefix}_movies_buffer", movies_db=f"{prefix}_movies",
        series_buffer_db=f"{prefix}_series_buffer", series_db=f"{prefix}_series",
        sidecar_db=f"{prefix}_sidecar", lookups_db=f"{prefix}_lookups",
        radarr=(ArrInstance("radarr", "default", fakes.radarr_url, fakes.radarr_key, 1, "/movies"),),
        sonarr=(ArrInstance("sonarr", "default", fakes.sonarr_url, fakes.sonarr_key, 1, "/tv"),),
        webhook_user=WEBHOOK_USER, webhook_password=WEBHOOK_PASSWORD, reconcile_token=RECONCILE_TOKEN,
        worker_id=f"bench-{prefix}",
    )
    server.track(db_names(s))
    push_all(s)
    return s


def db_names(s: Settings) -> tuple[str, ...]:
    return (s.movies_buffer_db, s.movies_db, s.series_buffer_db, s.series_db, s.sidecar_db, s.lookups_db)


def drop_dbs(server: CouchServer, s: Settings) -> None:
    for db in db_names(s):
        try:
            server.couch.db(db).delete_db()
        except Exception:
            continue
        server.untrack([db])


def sidecar_env(s: Settings, sidecar_root: Path, **extra) -> dict:
    """Environment that makes `python -m sidecar ...` use these settings (like
    tests/conftest.settings_env, but with the production timings)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RADARR", "SONARR", "COUCHDB", "ARR_", "WEB_", "GUNICORN"))}
    env.update(to_env(s))
    env.update({"PYTHONPATH": str(sidecar_root), "PYTHONUNBUFFERED": "1"})
    env.update({k: str(v) for k, v in extra.items()})
    return env


@dataclasses.dataclass
class Proc:
    popen: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self, timeout: float = 15) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)

    def tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def posters_env(ctx) -> dict:
    """POSTERS for the worker and web of a latency or burst figure: off unless ctx.posters."""
    return {"POSTERS": "true" if getattr(ctx, "posters", False) else "false"}


def start_worker(s: Settings, logdir: Path, sidecar_root: Path, **env_extra) -> Proc:
    log_path = logdir / f"worker-{s.worker_id}.log"
    p = subprocess.Popen([sys.executable, "-m", "sidecar", "worker"], cwd=sidecar_root,
                         env=sidecar_env(s, sidecar_root, **env_extra),
                         stdout=open(log_path, "ab"), stderr=subprocess.STDOUT)
    return Proc(p, log_path)


def start_web(s: Settings, logdir: Path, sidecar_root: Path, workers: int | None = None,
              **env_extra) -> tuple[Proc, str]:
    """`python -m sidecar web` (gunicorn) on a free port, with its default worker count unless
    `workers` is given; waits for /healthz."""
    port = free_port()
    log_path = logdir / f"web-{s.worker_id}.log"
    cmd = [sys.executable, "-m", "sidecar", "web", "--bind", f"127.0.0.1:{port}"]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    p = subprocess.Popen(cmd, cwd=sidecar_root,
                         env=sidecar_env(s, sidecar_root, **env_extra),
                         stdout=open(log_path, "ab"), stderr=subprocess.STDOUT)
    proc, url = Proc(p, log_path), f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise RuntimeError(f"web exited with {p.returncode}:\n{proc.tail()}")
        try:
            if requests.get(url + "/healthz", timeout=1).ok and children(p.pid):
                return proc, url
        except requests.RequestException:
            pass
        time.sleep(0.1)
    proc.stop()
    raise RuntimeError(f"web did not answer /healthz within 30 s:\n{proc.tail()}")


# --------------------------------------------------------------------------- changes follower


class Follower(threading.Thread):
    """Follows a database's continuous _changes (Accept-Encoding: identity: pouchdb-server
    buffers gzipped feeds) from its current update_seq and records, per doc id, the
    perf_counter() at which its first change (or its first deletion) arrived."""

    def __init__(self, url: str, db: str, deletions: bool = False, auth: tuple[str, str] | None = None):
        super().__init__(name=f"follow-{db}", daemon=True)
        self.url, self.db, self.deletions = url.rstrip("/"), db, deletions
        self.seen: dict[str, float] = {}
        self.cond = threading.Condition()
        self.stop_event = threading.Event()
        self.error: Exception | None = None
        self.ready = threading.Event()
        self.session = requests.Session()
        self.session.auth = auth
        info = self.session.get(f"{self.url}/{db}", timeout=10)
        info.raise_for_status()
        # an integer on pouchdb-server, an opaque string on CouchDB 3: passed back as is
        self.since = info.json()["update_seq"]

    def run(self) -> None:
        try:
            with self.session.get(f"{self.url}/{self.db}/_changes",
                                  params={"feed": "continuous", "since": self.since, "heartbeat": 500},
                                  headers={"Accept-Encoding": "identity"}, stream=True,
                                  timeout=(5, 30)) as resp:
                resp.raise_for_status()
                self.ready.set()
                buf = b""
                for chunk in resp.iter_content(chunk_size=None):
                    now = time.perf_counter()
                    if self.stop_event.is_set():
                        return
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    fresh = False
                    for line in lines:
                        if not line.strip():
                            continue
                        change = json.loads(line)
                        doc_id = change.get("id")
                        if not doc_id or doc_id.startswith("_design/"):
                            continue
                        if self.deletions and not change.get("deleted"):
                            continue
                        if doc_id not in self.seen:
                            self.seen[doc_id] = now
                            fresh = True
                    if fresh:
                        with self.cond:
                            self.cond.notify_all()
        except Exception as exc:  # surfaced by wait_for
            if not self.stop_event.is_set():
                self.error = exc
            self.ready.set()
            with self.cond:
                self.cond.notify_all()

    def wait_for(self, doc_id: str, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while doc_id not in self.seen:
                if self.error:
                    raise RuntimeError(f"follower of {self.db} failed: {self.error}")
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
        return self.seen[doc_id]

    def wait_count(self, n: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.seen) < n:
                if self.error:
                    raise RuntimeError(f"follower of {self.db} failed: {self.error}")
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 1.0))
        return True

    def close(self) -> None:
        self.stop_event.set()
        self.session.close()


def follow(server, db: str, deletions: bool = False) -> Follower:
    """Follow `db` on `server` (a server object from this module: its url and credentials)."""
    f = Follower(server.url, db, deletions, auth=server.auth)
    f.start()
    f.ready.wait(10)
    if f.error:
        raise RuntimeError(f"cannot follow {db}: {f.error}")
    return f


# --------------------------------------------------------------------------- requests


def movie_request(tmdb_id: int, action: str = "download") -> dict:
    return {"_id": f"tmdb:{tmdb_id}", "type": "movie", "tmdbId": tmdb_id, "title": f"Movie {tmdb_id}",
            "year": 2001, "action": action, "requested_at": "2026-11-25T10:00:00Z", "requested_by": "bench"}


def wait_http_idle(proc: Proc, seconds: float = 0.5) -> None:
    """Give a freshly started process a moment to settle (imports, connections)."""
    time.sleep(seconds)
