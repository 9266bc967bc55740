#!/usr/bin/env python3
"""Benchmark driver for galaxy-server (see BENCHMARKS.md; run through `bash scripts/bench`).

Standard library only. Every measurement starts the real release binary
(`$CARGO_TARGET_DIR/release/galaxy-server`, default `target/`) in a fresh temporary directory
with a generated galaxy.yml, and the bare actix-web baseline (`hello_baseline`) next to it.

Measurements (each section can be chosen with --sections):
  startup   spawn -> first 200 OK on /api/version (first start on a fresh database, then the
            median of restarts on the migrated database), SQLite and PostgreSQL
  rss       VmRSS of the idle server (start + 2 s), and of the baseline
  http      GET /api/version requests/s with wrk, galaxy-server and hello_baseline, same run
  nginx     GET /api/version through nginx (the shipped config/nginx/galaxy.conf, adapted to
            temporary paths) on the unix socket vs the same server's direct TCP bind, same run
  jobs      1000 cat1 jobs end to end (jobs/s) and submit->running latency (burst and low
            load), on SQLite and on PostgreSQL
"""

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN_KEY = "bench-admin-key"
TERMINAL = ("ok", "error", "deleted", "stopped", "paused")
NON_TERMINAL = ("new", "queued", "running", "deleting", "stop")
PASTE = "a\nb\n"

# Figures from the issue, shown next to ours (never asserted).
TARGET_RPS = 50_000
TARGET_RPS_RATIO = 0.70
TARGET_JOBS_PER_S = 300
TARGET_P50_MS = 5
TARGET_RSS_MB = 30
TARGET_FIRST_200_MS = 100
GALAXY_RPS = 922
GALAXY_JOBS_PER_S = 0.22
GALAXY_RSS = "1.2 GB"


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Helpers


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """(CPU seconds of the process itself, CPU seconds of its waited-for children) so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime) / tick, (cutime + cstime) / tick


def nginx_workers(master):
    """The pids of an nginx master's worker processes."""
    try:
        with open(f"/proc/{master}/task/{master}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(1, int(-(-p * len(s) // 100)))  # ceil(p/100 * n), at least 1
    return s[min(k, len(s)) - 1]


def parse_ts(value):
    """A database timestamp (text as diesel writes it, or epoch seconds) -> epoch seconds."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().replace("T", " ")
    if text.endswith("Z"):
        text = text[:-1]
    try:
        return float(text)
    except ValueError:
        pass
    # fromisoformat wants at most 6 fractional digits.
    m = re.match(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.(\d+))?([+-]\d\d(?::?\d\d)?)?$", text)
    if not m:
        raise BenchError(f"cannot parse database timestamp {value!r}")
    base, frac, tz = m.group(1), (m.group(2) or "0")[:6], m.group(3)
    t = dt.datetime.fromisoformat(f"{base}.{frac.ljust(6, '0')}")
    if tz:
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        off = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        t = t - sign * off
    return t.replace(tzinfo=dt.timezone.utc).timestamp()


def fmt_int(x):
    return f"{x:,.0f}" if x is not None else "n/a"


def fmt_ms(x):
    if x is None:
        return "n/a"
    return f"{x:.1f} ms" if x < 100 else f"{x:.0f} ms"


def machine_info():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) // 1024
    except OSError:
        pass

    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    try:
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
    except OSError:
        load = "?"
    rev = out(["git", "rev-parse", "--short", "HEAD"])
    dirty = out(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "mem_mib": mem,
        "kernel": platform.release(),
        "loadavg_at_start": load,
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "git": (rev + ("+dirty" if dirty else "")) or "unknown",
        "wrk": (out(["wrk", "--version"]) or "").splitlines()[0:1],
        "rustc": out(["rustc", "--version"]),
    }


# --------------------------------------------------------------------------------------------
# HTTP client (keep-alive, one connection per thread)


class Api:
    def __init__(self, port, key=ADMIN_KEY, timeout=60):
        self.port = port
        self.key = key
        self.timeout = timeout
        self.conn = None
        self.used = False

    def _connect(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        self.used = False

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None):
        """-> (status, parsed JSON or raw text). Retries once when a reused keep-alive
        connection turns out to be closed by the server before it answered."""
        headers = {"x-api-key": self.key} if self.key else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        for attempt in (0, 1):
            if self.conn is None:
                self._connect()
            reused = self.used
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                self.used = True
                if resp.getheader("connection", "").lower() == "close":
                    self.close()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 0 and reused:
                    continue
                raise
        text = raw.decode("utf-8", "replace")
        try:
            return resp.status, json.loads(text) if text else None
        except ValueError:
            return resp.status, text

    def ok(self, method, path, body=None, what=None):
        status, payload = self.request(method, path, body)
        if status != 200:
            raise BenchError(
                f"{what or method + ' ' + path}: HTTP {status} {str(payload)[:400]}"
                + (f"\n  request body: {json.dumps(body)[:400]}" if body is not None else "")
            )
        return payload


# --------------------------------------------------------------------------------------------
# Databases


class Postgres:
    def __init__(self, base_url):
        self.base = base_url.rstrip("/")
        self.created = []

    def psql(self, db, sql, check=True):
        r = subprocess.run(
            ["psql", f"{self.base}/{db}", "-X", "-q", "-At", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and r.returncode != 0:
            raise BenchError(f"psql {db}: {sql[:120]}: {r.stderr.strip()}")
        return r.stdout

    def create(self, tag):
        name = f"galaxy_bench_{os.getpid()}_{tag}_{len(self.created)}"
        self.psql("postgres", f'DROP DATABASE IF EXISTS "{name}"')
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return name

    def drop_all(self):
        for name in self.created:
            r = subprocess.run(
                ["psql", f"{self.base}/postgres", "-X", "-q", "-At", "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if r.returncode != 0:
                log(f"could not drop database {name}: {r.stderr.strip()}")
        self.created = []


class DbReader:
    """Reads job timings straight from the server's database."""

    def __init__(self, kind, sqlite_path=None, pg=None, pg_db=None):
        self.kind, self.sqlite_path, self.pg, self.pg_db = kind, sqlite_path, pg, pg_db

    def rows(self, sql_sqlite, sql_pg):
        if self.kind == "sqlite":
            con = sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True, timeout=30)
            try:
                return [tuple(r) for r in con.execute(sql_sqlite).fetchall()]
            finally:
                con.close()
        out = self.pg.psql(self.pg_db, sql_pg)
        return [tuple(None if v == "" else v for v in line.split("|")) for line in out.splitlines() if line]

    def max_job_id(self):
        r = self.rows("SELECT COALESCE(MAX(id), 0) FROM job", "SELECT COALESCE(MAX(id), 0) FROM job")
        return int(r[0][0])

    def job_timings(self, after_id, tool_id="cat1"):
        """[(id, state, created, first running, last terminal)] in epoch seconds."""
        terminal = ",".join(f"'{s}'" for s in TERMINAL)
        rows = self._job_timings_rows(after_id, tool_id, terminal)
        return [(int(r[0]), r[1], parse_ts(r[2]), parse_ts(r[3]), parse_ts(r[4])) for r in rows]

    def _job_timings_rows(self, after_id, tool_id, terminal):
        a = int(after_id)
        lite = (
            "SELECT j.id, j.state, j.create_time, "
            "(SELECT MIN(h.create_time) FROM job_state_history h WHERE h.job_id = j.id AND h.state = 'running'), "
            f"(SELECT MAX(h.create_time) FROM job_state_history h WHERE h.job_id = j.id AND h.state IN ({terminal})) "
            f"FROM job j WHERE j.id > {a} AND j.tool_id = '{tool_id}' ORDER BY j.id"
        )
        pg = (
            "SELECT j.id, j.state, EXTRACT(EPOCH FROM j.create_time), "
            "(SELECT EXTRACT(EPOCH FROM MIN(h.create_time)) FROM job_state_history h "
            "WHERE h.job_id = j.id AND h.state = 'running'), "
            "(SELECT EXTRACT(EPOCH FROM MAX(h.create_time)) FROM job_state_history h "
            f"WHERE h.job_id = j.id AND h.state IN ({terminal})) "
            f"FROM job j WHERE j.id > {a} AND j.tool_id = '{tool_id}' ORDER BY j.id"
        )
        return self.rows(lite, pg)


# --------------------------------------------------------------------------------------------
# Processes


class Proc:
    """A spawned server process with its log file."""

    def __init__(self, argv, cwd, log_path, env=None):
        self.argv, self.cwd, self.log_path = argv, cwd, log_path
        self.logf = open(log_path, "ab")
        self.t_spawn = time.perf_counter()
        self.p = subprocess.Popen(argv, cwd=cwd, stdout=self.logf, stderr=subprocess.STDOUT, env=env)

    @property
    def pid(self):
        return self.p.pid

    def log_tail(self, n=25):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join("    " + line for line in lines[-n:])
        except OSError:
            return "    (no log)"

    def wait_first_200(self, port, timeout=30.0):
        """Tight loop of connects until GET /api/version answers 200; -> ms since spawn."""
        req = f"GET /api/version HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
        deadline = self.t_spawn + timeout
        last = "no answer"
        n = 0
        while True:
            n += 1
            if n % 64 == 0 and self.p.poll() is not None:
                raise BenchError(f"{os.path.basename(self.argv[0])} exited with {self.p.returncode} before answering:\n{self.log_tail()}")
            now = time.perf_counter()
            if now > deadline:
                raise BenchError(f"no 200 OK on /api/version within {timeout:.0f} s (last: {last}):\n{self.log_tail()}")
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=2)
            except OSError as e:
                last = str(e)
                continue
            try:
                s.sendall(req)
                buf = b""
                while b"\r\n" not in buf:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    buf += chunk
            except OSError as e:
                last = str(e)
                continue
            finally:
                s.close()
            t = time.perf_counter()
            status = buf.split(b"\r\n", 1)[0].decode("latin-1", "replace")
            if re.match(r"HTTP/1\.[01] 200", status):
                return (t - self.t_spawn) * 1000.0
            last = status or "empty answer"
            time.sleep(0.001)

    def stop(self, timeout=15.0):
        """SIGTERM, then SIGKILL; -> (exit code, seconds to stop)."""
        if self.p.poll() is None:
            t = time.perf_counter()
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                self.logf.close()
                return "killed", time.perf_counter() - t
            self.logf.close()
            return self.p.returncode, time.perf_counter() - t
        self.logf.close()
        return self.p.returncode, 0.0


class GalaxyInstance:
    """A temporary directory with galaxy.yml (+ job_conf.yml) and a database."""

    def __init__(self, bench, db_kind, tag, unix_socket=False):
        self.bench = bench
        self.db_kind = db_kind
        self.dir = tempfile.mkdtemp(prefix=f"galaxy-bench-{tag}-", dir=bench.args.tmp)
        self.port = free_port()
        self.proc = None
        self.starts = 0
        a = bench.args
        if db_kind == "sqlite":
            self.sqlite_path = os.path.join(self.dir, "universe.sqlite")
            conn = f"sqlite:///{self.sqlite_path}"
            self.reader = DbReader("sqlite", sqlite_path=self.sqlite_path)
        else:
            self.pg_db = bench.pg.create(tag)
            conn = f"{bench.pg.base}/{self.pg_db}"
            self.reader = DbReader("postgres", pg=bench.pg, pg_db=self.pg_db)
        if a.job_conf == "repo":
            job_conf = os.path.join(REPO, "config", "job_conf.yml")
        else:
            job_conf = os.path.join(self.dir, "job_conf.yml")
            with open(job_conf, "w") as f:
                f.write(
                    "runners:\n"
                    "  local:\n"
                    "    load: galaxy.jobs.runners.local:LocalJobRunner\n"
                    f"    workers: {a.runner_workers}\n"
                    "execution:\n"
                    "  default: local\n"
                    "  environments:\n"
                    "    local:\n"
                    "      runner: local\n"
                )
        self.config = os.path.join(self.dir, "galaxy.yml")
        with open(self.config, "w") as f:
            f.write(
                "gravity:\n"
                f"  state_dir: {self.dir}/gravity\n"
                "  gunicorn:\n"
                + (
                    f"    bind: [\"127.0.0.1:{self.port}\", \"unix:{self.dir}/galaxy.sock\"]\n    umask: \"000\"\n"
                    if unix_socket
                    else f"    bind: 127.0.0.1:{self.port}\n"
                )
                + f"    workers: {a.workers}\n"
                "galaxy:\n"
                f"  database_connection: {conn}\n"
                f"  tool_config_file: {os.path.join(REPO, 'config', 'tool_conf.xml')}\n"
                f"  job_config_file: {job_conf}\n"
                f"  file_path: {self.dir}/objects\n"
                f"  job_working_directory: {self.dir}/jobs_directory\n"
                "  id_secret: bench-id-secret-0123456789\n"
                f"  bootstrap_admin_api_key: {ADMIN_KEY}\n"
                "  job_handler_monitor_sleep: 1.0\n"
            )

    def start(self):
        """Spawns the server; -> ms from spawn to the first 200 OK."""
        self.starts += 1
        env = dict(os.environ)
        if not self.bench.args.rust_log:
            env.pop("RUST_LOG", None)
        else:
            env["RUST_LOG"] = self.bench.args.rust_log
        self.proc = Proc(
            [self.bench.server_bin, "-c", self.config, "--mode", "all-in-one"],
            self.dir,
            os.path.join(self.dir, "server.log"),
            env=env,
        )
        try:
            return self.proc.wait_first_200(self.port)
        except BenchError:
            self.stop()
            raise

    def stop(self):
        if self.proc is None:
            return None
        code, secs = self.proc.stop()
        self.proc = None
        if code not in (0, -signal.SIGTERM):
            self.bench.problem(f"galaxy-server ({self.db_kind}) exited with {code} after SIGTERM ({secs:.1f} s); log: {self.dir}/server.log")
        return code

    def cleanup(self):
        self.stop()
        if not self.bench.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# The measurements


class Bench:
    def __init__(self, args):
        self.args = args
        target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
        if not os.path.isabs(target):
            target = os.path.join(REPO, target)
        self.server_bin = os.path.join(target, "release", "galaxy-server")
        self.baseline_bin = os.path.join(target, "release", "hello_baseline")
        for b in (self.server_bin, self.baseline_bin):
            if not os.access(b, os.X_OK):
                raise SystemExit(f"bench: {b} is missing; run `cargo build --release --bins` (scripts/bench does)")
        self.pg = Postgres(args.postgres) if args.postgres else None
        self.results = {}
        self.problems = []
        self.rows = []

    def problem(self, msg):
        log("PROBLEM: " + msg.splitlines()[0])
        self.problems.append(msg)

    def row(self, measurement, ours, reference):
        self.rows.append((measurement, ours, reference))

    def section(self, name, fn, *a):
        log(f"--- {name}")
        try:
            fn(*a)
        except BenchError as e:
            self.problem(f"{name}: {e}")
            self.row(name, "FAILED", str(e).splitlines()[0][:120])
        except Exception as e:  # keep going with the other measurements
            self.problem(f"{name}: {type(e).__name__}: {e}")
            self.row(name, "FAILED", f"{type(e).__name__}: {e}"[:120])

    # -- start -> first 200 OK, idle RSS, req/s ---------------------------------------------

    def startup(self, db_kind):
        n = self.args.starts
        inst = GalaxyInstance(self, db_kind, f"start-{db_kind}")
        try:
            times = []
            for i in range(n):
                ms = inst.start()
                times.append(ms)
                log(f"start {i + 1}/{n} ({db_kind}): first 200 OK after {ms:.1f} ms")
                if i == n - 1 and "rss" in self.args.sections and db_kind == "sqlite":
                    time.sleep(2.0)
                    self.results["rss_idle_mib"] = rss_mib(inst.proc.pid)
                inst.stop()
            first, rest = times[0], times[1:]
            med = statistics.median(rest) if rest else None
            self.results[f"start_{db_kind}"] = {"all_ms": times, "first_ms": first, "median_migrated_ms": med}
            label = "SQLite" if db_kind == "sqlite" else "PostgreSQL"
            self.row(
                f"start → first 200 OK, {label}, first start (fresh database, migrations run)",
                fmt_ms(first),
                f"target ≤ {TARGET_FIRST_200_MS} ms",
            )
            if med is not None:
                self.row(
                    f"start → first 200 OK, {label}, median of starts 2–{n} (database already migrated)",
                    fmt_ms(med) + f" (min {min(rest):.1f}, max {max(rest):.1f})",
                    f"target ≤ {TARGET_FIRST_200_MS} ms",
                )
        finally:
            inst.cleanup()

    def start_baseline(self):
        port = free_port()
        d = tempfile.mkdtemp(prefix="galaxy-bench-baseline-", dir=self.args.tmp)
        proc = Proc(
            [self.baseline_bin, "--bind", f"127.0.0.1:{port}", "--workers", str(self.args.workers)],
            d,
            os.path.join(d, "baseline.log"),
        )
        ms = proc.wait_first_200(port)
        return proc, port, ms, d

    def idle_rss(self):
        if "rss_idle_mib" not in self.results:
            inst = GalaxyInstance(self, "sqlite", "rss")
            try:
                inst.start()
                time.sleep(2.0)
                self.results["rss_idle_mib"] = rss_mib(inst.proc.pid)
            finally:
                inst.cleanup()
        proc, _, ms, d = self.start_baseline()
        try:
            time.sleep(2.0)
            self.results["rss_baseline_mib"] = rss_mib(proc.pid)
            self.results["start_baseline_ms"] = ms
        finally:
            proc.stop()
            shutil.rmtree(d, ignore_errors=True)
        ours = self.results["rss_idle_mib"]
        base = self.results["rss_baseline_mib"]
        self.row(
            "idle RSS (VmRSS, SQLite, 2 s after first 200 OK)",
            f"{ours:.1f} MiB" if ours is not None else "n/a",
            f"target ≤ {TARGET_RSS_MB} MB; bare actix-web {base:.1f} MiB; Galaxy {GALAXY_RSS}",
        )

    def wrk(self, port, label, warmup=True, duration=None):
        a = self.args
        duration = duration or a.wrk_duration
        url = f"http://127.0.0.1:{port}/api/version"
        if warmup:
            subprocess.run(["wrk", "-t1", "-c8", "-d1s", url], capture_output=True, timeout=60)
        cmd = ["wrk", f"-t{a.wrk_threads}", f"-c{a.wrk_connections}", f"-d{duration}s", "--latency", url]
        t0 = os.times()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
        t1 = os.times()
        wrk_cpu = (t1.children_user + t1.children_system) - (t0.children_user + t0.children_system)
        if r.returncode != 0:
            raise BenchError(f"wrk against {label} failed: {r.stderr.strip()}")
        out = r.stdout
        m = re.search(r"Requests/sec:\s*([\d.]+)", out)
        if not m:
            raise BenchError(f"cannot read wrk output for {label}:\n{out}")
        res = {"rps": float(m.group(1))}
        if res["rps"]:
            res["wrk_us"] = wrk_cpu / (res["rps"] * duration) * 1e6
        for pct in ("50", "99"):
            mm = re.search(rf"^\s*{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
            if mm:
                f = {"us": 0.001, "ms": 1.0, "s": 1000.0}[mm.group(2)]
                res[f"p{pct}_ms"] = float(mm.group(1)) * f
        bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
        sock = re.search(r"Socket errors:(.*)", out)
        if bad:
            self.problem(f"wrk against {label}: {bad.group(1)} non-2xx answers")
            res["non_2xx"] = int(bad.group(1))
        if sock:
            res["socket_errors"] = sock.group(1).strip()
            self.problem(f"wrk against {label}: socket errors {sock.group(1).strip()}")
        log(f"wrk {label}: {res['rps']:,.0f} req/s")
        return res

    def http(self):
        """Both servers up at once (the idle one costs nothing); wrk rounds alternate between
        them, so background load on a shared machine hits both alike."""
        a = self.args
        inst = GalaxyInstance(self, "sqlite", "http")
        proc = d = None
        try:
            inst.start()
            proc, port, _, d = self.start_baseline()
            body_ours = Api(inst.port, key=None).ok("GET", "/api/version")
            body_base = Api(port, key=None).ok("GET", "/api/version")
            if body_ours != body_base:
                self.problem(f"/api/version bodies differ: galaxy-server {body_ours!r}, baseline {body_base!r}")
            rounds = []
            for r in range(a.wrk_rounds):
                pair = {}
                order = (("galaxy_server", inst.port), ("baseline", port))
                for name, prt in order if r % 2 == 0 else order[::-1]:
                    pair[name] = self.wrk(prt, name.replace("_", "-"), warmup=(r == 0))
                rounds.append(pair)
            self.results["rss_after_wrk_mib"] = rss_mib(inst.proc.pid)
        finally:
            if proc is not None:
                proc.stop()
                shutil.rmtree(d, ignore_errors=True)
            inst.cleanup()

        def median_round(name):
            ordered = sorted(rounds, key=lambda p: p[name]["rps"])
            return ordered[(len(ordered) - 1) // 2][name]

        ours, base = median_round("galaxy_server"), median_round("baseline")
        ratios = [p["galaxy_server"]["rps"] / p["baseline"]["rps"] for p in rounds if p["baseline"]["rps"]]
        ratio = statistics.median(ratios) if ratios else None
        self.results["http"] = {"rounds": rounds, "galaxy_server": ours, "baseline": base, "ratio": ratio}

        def lat(r):
            if "p50_ms" in r and "p99_ms" in r:
                return f", latency p50 {r['p50_ms']:.2f} ms / p99 {r['p99_ms']:.2f} ms"
            return ""

        rr = f"median of {a.wrk_rounds} alternating rounds" if a.wrk_rounds > 1 else "one round"
        self.row(
            f"GET /api/version req/s (wrk -t{a.wrk_threads} -c{a.wrk_connections} -d{a.wrk_duration}s, {rr}; {a.workers} workers)",
            f"{fmt_int(ours['rps'])}{lat(ours)}",
            f"bare actix-web {fmt_int(base['rps'])}{lat(base)}; target ≥ {TARGET_RPS:,} and ≥ {TARGET_RPS_RATIO:.0%}; Galaxy {GALAXY_RPS}",
        )
        self.row(
            "… ratio galaxy-server / bare actix-web (same run" + (", median of the per-round ratios)" if len(ratios) > 1 else ")"),
            (f"{ratio:.0%}" if ratio is not None else "n/a")
            + (f" (rounds: {', '.join(f'{x:.0%}' for x in ratios)})" if len(ratios) > 1 else ""),
            f"target ≥ {TARGET_RPS_RATIO:.0%}",
        )

    # -- jobs --------------------------------------------------------------------------------

    def start_nginx(self, d, sock):
        """nginx with the shipped site, adapted to `d`, proxying to `sock`; -> (Proc, port)."""
        nginx = os.environ.get("GALAXY_BENCH_NGINX", "/usr/sbin/nginx")
        if not os.path.exists(nginx):
            raise BenchError(f"nginx is not installed at {nginx} (apt-get install nginx; scripts/bench does it)")
        port = free_port()
        with open(os.path.join(REPO, "config", "nginx", "galaxy.conf")) as f:
            site = f.read()
        site = (
            site.replace("/srv/galaxy/var/galaxy.sock", sock)
            .replace("/srv/galaxy/server/static/", os.path.join(REPO, "static") + "/")
            .replace("listen 80;", f"listen 127.0.0.1:{port};")
        )
        if f"listen 127.0.0.1:{port};" not in site or sock not in site:
            raise BenchError("config/nginx/galaxy.conf changed shape: cannot adapt it")
        with open(os.path.join(d, "site.conf"), "w") as f:
            f.write(site)
        temp = " ".join(f"{k}_temp_path {d}/nginx-{k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(
                f"user root;\ndaemon off;\nworker_processes auto;\npid {d}/nginx.pid;\nerror_log {d}/nginx-error.log;\n"
                "events { worker_connections 1024; }\n"
                f"http {{\n  access_log off;\n  default_type application/octet-stream;\n  {temp}\n  include {d}/site.conf;\n}}\n"
            )
        proc = Proc([nginx, "-p", d, "-c", os.path.join(d, "nginx.conf")], d, os.path.join(d, "nginx.log"))
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc, port
            except OSError:
                if time.monotonic() > deadline:
                    proc.stop()
                    raise BenchError(f"nginx did not listen on {port}; see {d}/nginx-error.log")
                time.sleep(0.05)

    def nginx(self):
        """GET /api/version through nginx on the unix socket against the direct TCP bind of the
        same server, in alternating wrk rounds."""
        a = self.args
        inst = GalaxyInstance(self, "sqlite", "nginx", unix_socket=True)
        proxy = None
        try:
            inst.start()
            proxy, port = self.start_nginx(inst.dir, os.path.join(inst.dir, "galaxy.sock"))
            via = Api(port, key=None).ok("GET", "/api/version")
            direct = Api(inst.port, key=None).ok("GET", "/api/version")
            if via != direct:
                self.problem(f"/api/version through nginx {via!r} differs from direct {direct!r}")
            workers = nginx_workers(proxy.pid)

            def cpu_now():
                return (cpu_seconds(inst.proc.pid) or (0.0, 0.0))[0], sum((cpu_seconds(w) or (0.0, 0.0))[0] for w in workers)

            rounds = []
            for r in range(a.wrk_rounds):
                pair = {}
                order = (("nginx", port), ("direct", inst.port))
                for name, prt in order if r % 2 == 0 else order[::-1]:
                    if r == 0:
                        self.wrk(prt, f"{name} (nginx section, warm-up)", warmup=True, duration=1)
                    server0, nginx0 = cpu_now()
                    res = self.wrk(prt, f"{name} (nginx section)", warmup=False)
                    server1, nginx1 = cpu_now()
                    done = res["rps"] * a.wrk_duration
                    if done:
                        res["server_us"] = (server1 - server0) / done * 1e6
                        res["nginx_us"] = (nginx1 - nginx0) / done * 1e6
                    pair[name] = res
                rounds.append(pair)
        finally:
            if proxy is not None:
                proxy.stop()
            inst.cleanup()
        ratios = [p["nginx"]["rps"] / p["direct"]["rps"] for p in rounds if p["direct"]["rps"]]
        ratio = statistics.median(ratios) if ratios else float("nan")

        def median_round(name):
            ordered = sorted(rounds, key=lambda p: p[name]["rps"])
            return ordered[(len(ordered) - 1) // 2][name]

        via, direct = median_round("nginx"), median_round("direct")
        self.results["nginx"] = {"rounds": rounds, "ratio": ratio}
        self.row(
            f"GET /api/version through nginx → unix socket (wrk -t{a.wrk_threads} -c{a.wrk_connections} -d{a.wrk_duration}s, median of {a.wrk_rounds} alternating rounds)",
            f"{via['rps']:,.0f} req/s, p50 {via.get('p50_ms', float('nan')):.2f} ms / p99 {via.get('p99_ms', float('nan')):.2f} ms",
            f"direct TCP bind of the same server {direct['rps']:,.0f} req/s; through nginx {100 * ratio:.0f}% of it "
            f"(rounds: {', '.join(f'{100 * x:.0f}%' for x in ratios)}); target: loses ≤ 15%",
        )

        def us(name, key):
            values = [p[name][key] for p in rounds if key in p[name]]
            return statistics.median(values) if values else float("nan")

        self.row(
            "… CPU per request through nginx (median of the rounds; from /proc/<pid>/stat)",
            f"galaxy-server {us('nginx', 'server_us'):.1f} µs + nginx workers {us('nginx', 'nginx_us'):.1f} µs + wrk {us('nginx', 'wrk_us'):.1f} µs",
            f"direct TCP bind: galaxy-server {us('direct', 'server_us'):.1f} µs + wrk {us('direct', 'wrk_us'):.1f} µs",
        )

    def setup_user(self, port):
        """A user with its own key, a history and one pasted dataset (ok) -> (key, H, D)."""
        admin = Api(port)
        key = ADMIN_KEY
        tag = f"{os.getpid()}{int(time.time() * 1000) % 100000}"
        try:
            user = admin.ok(
                "POST",
                "/api/users",
                {"email": f"bench{tag}@example.org", "username": f"bench{tag}", "password": "bench-password"},
                what="create user",
            )
            k = admin.ok("POST", f"/api/users/{user['id']}/api_key", what="create API key")
            if isinstance(k, dict):
                k = k.get("key") or k.get("api_key")
            if not isinstance(k, str) or not k:
                raise BenchError(f"create API key: unexpected answer {k!r}")
            key = k
        except (BenchError, KeyError, TypeError) as e:
            self.problem(f"user set-up failed, using the bootstrap admin key instead: {e}")
        finally:
            admin.close()
        api = Api(port, key)
        hist = api.ok("POST", "/api/histories", {"name": "bench"}, what="create history")
        h = hist["id"]
        up = api.ok(
            "POST",
            "/api/tools",
            {
                "tool_id": "upload1",
                "history_id": h,
                "inputs": {"files_0|url_paste": PASTE, "files_0|type": "upload_dataset", "file_type": "txt"},
            },
            what="upload1 (paste)",
        )
        d = up["outputs"][0]["id"]
        deadline = time.time() + 60
        while True:
            ds = api.ok("GET", f"/api/datasets/{d}", what="show pasted dataset")
            if ds.get("state") == "ok":
                break
            if ds.get("state") in ("error", "paused", "discarded", "failed_metadata"):
                raise BenchError(f"pasted dataset went to state {ds.get('state')}: {ds}")
            if time.time() > deadline:
                raise BenchError(f"pasted dataset not ok after 60 s: {ds}")
            time.sleep(0.02)
        api.close()
        return key, h, d

    def cat1_body(self, h, d):
        return {"tool_id": "cat1", "history_id": h, "inputs": {"input1": {"src": "hda", "id": d}}}

    def burst(self, inst, key, h, d, n, after_id=None):
        """n cat1 jobs from client threads; -> dict of figures. With `after_id` (the history
        already holds earlier rounds' jobs) the final states are counted from the database
        for the jobs past that id, not listed through the API."""
        a = self.args
        lock = threading.Lock()
        counter = iter(range(n))
        submitted = []  # (t_start, t_end, job_id)
        errors = []
        body = self.cat1_body(h, d)

        def worker():
            api = Api(inst.port, key)
            try:
                while True:
                    with lock:
                        i = next(counter, None)
                    if i is None:
                        return
                    t0 = time.perf_counter()
                    try:
                        status, payload = api.request("POST", "/api/tools", body)
                    except OSError as e:
                        status, payload = None, f"{type(e).__name__}: {e}"
                    t1 = time.perf_counter()
                    with lock:
                        if status == 200 and isinstance(payload, dict) and payload.get("jobs"):
                            submitted.append((t0, t1, payload["jobs"][0]["id"]))
                        else:
                            errors.append((status, str(payload)[:300]))
            finally:
                api.close()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(a.client_threads)]
        t_first = time.perf_counter()
        for t in threads:
            t.start()
        # Wait for the submitters while watching for completion.
        for t in threads:
            t.join()
        t_submitted = time.perf_counter()
        if errors:
            self.problem(
                f"{len(errors)} of {n} cat1 submissions failed on {inst.db_kind}; first: HTTP {errors[0][0]} {errors[0][1]}"
                f"\n  request: POST /api/tools {json.dumps(body)}"
            )
        if not submitted:
            raise BenchError(f"no cat1 job was accepted (first error: HTTP {errors[0][0]} {errors[0][1]})")
        t_first = min(s[0] for s in submitted)
        log(f"{len(submitted)} jobs submitted in {t_submitted - t_first:.2f} s; waiting for them to finish")

        # Poll for "no job of this history left in a non-terminal state".
        poll = Api(inst.port, key)
        q_left = f"/api/jobs?history_id={h}&tool_id=cat1&state={','.join(NON_TERMINAL)}"
        deadline = time.perf_counter() + a.job_timeout
        last_progress, last_left, last_report = time.perf_counter(), None, 0.0
        t_done = None
        while True:
            status, payload = poll.request("GET", q_left + "&limit=1")
            now = time.perf_counter()
            if status != 200 or not isinstance(payload, list):
                raise BenchError(f"GET {q_left}&limit=1: HTTP {status} {str(payload)[:300]}")
            if not payload:
                t_done = now
                break
            if now - last_report > 2.0:
                st, lst = poll.request("GET", q_left + f"&limit={n + 10}")
                left = len(lst) if st == 200 and isinstance(lst, list) else None
                log(f"  {left} jobs not finished after {now - t_first:.1f} s")
                if left != last_left:
                    last_progress, last_left = now, left
                last_report = now
            if now > deadline or now - last_progress > a.stall_timeout:
                st, lst = poll.request("GET", q_left + f"&limit={n + 10}")
                left = len(lst) if isinstance(lst, list) else "?"
                states = {}
                for j in lst if isinstance(lst, list) else []:
                    states[j.get("state")] = states.get(j.get("state"), 0) + 1
                raise BenchError(
                    f"{left} of {len(submitted)} cat1 jobs on {inst.db_kind} still not terminal after "
                    f"{now - t_first:.0f} s (states {states}); "
                    f"{'no progress for ' + str(a.stall_timeout) + ' s' if now <= deadline else 'timeout'}"
                )
            time.sleep(a.poll_interval)

        if after_id is not None:
            rows = inst.reader.rows(
                f"SELECT state, COUNT(*) FROM job WHERE id > {int(after_id)} AND tool_id = 'cat1' GROUP BY state",
                f"SELECT state, COUNT(*) FROM job WHERE id > {int(after_id)} AND tool_id = 'cat1' GROUP BY state",
            )
            states = {r[0]: int(r[1]) for r in rows}
            if states.get("ok", 0) != len(submitted) or sum(states.values()) != len(submitted):
                self.problem(f"{inst.db_kind}: {len(submitted)} cat1 jobs accepted in a round, states {states}")
            poll.close()
            elapsed = t_done - t_first
            return {
                "submitted": len(submitted),
                "errors": len(errors),
                "states": states,
                "submit_s": t_submitted - t_first,
                "submit_rps": len(submitted) / (t_submitted - t_first),
                "elapsed_s": elapsed,
                "jobs_per_s": len(submitted) / elapsed,
                "submit_request_p50_ms": percentile([(s[1] - s[0]) * 1000 for s in submitted], 50),
                "submit_request_p99_ms": percentile([(s[1] - s[0]) * 1000 for s in submitted], 99),
            }
        # Final states.
        status, lst = poll.request("GET", f"/api/jobs?history_id={h}&tool_id=cat1&limit={n + 100}")
        if status != 200 or not isinstance(lst, list):
            raise BenchError(f"GET /api/jobs?history_id=…&tool_id=cat1: HTTP {status} {str(lst)[:300]}")
        states = {}
        for j in lst:
            states[j.get("state")] = states.get(j.get("state"), 0) + 1
        n_ok = states.get("ok", 0)
        if n_ok != len(submitted) or len(lst) != len(submitted):
            bad = next((j for j in lst if j.get("state") != "ok"), None)
            detail = ""
            if bad is not None:
                st, full = poll.request("GET", f"/api/jobs/{bad['id']}?full=true")
                detail = f"; e.g. GET /api/jobs/{bad['id']}?full=true -> HTTP {st} {json.dumps(full)[:600]}"
            self.problem(
                f"{inst.db_kind}: {len(submitted)} cat1 jobs accepted, listing shows {len(lst)} with states {states}{detail}"
            )
        # Spot-check outputs.
        sample = [submitted[0][2], submitted[-1][2]]
        for jid in sample:
            st, full = poll.request("GET", f"/api/jobs/{jid}?full=true")
            try:
                outs = full["outputs"]
                out_id = (outs.get("out_file1") or next(iter(outs.values())))["id"] if isinstance(outs, dict) else outs[0]["id"]
                st2, text = poll.request("GET", f"/api/datasets/{out_id}/display")
                if st2 != 200 or text != PASTE:
                    self.problem(f"{inst.db_kind}: output of cat1 job {jid}: HTTP {st2} {str(text)[:100]!r}, expected {PASTE!r}")
            except (KeyError, TypeError, IndexError, StopIteration, AttributeError) as e:
                self.problem(f"{inst.db_kind}: cannot find the output of job {jid} in GET /api/jobs/{jid}?full=true ({e}): {str(full)[:300]}")
        poll.close()
        elapsed = t_done - t_first
        return {
            "submitted": len(submitted),
            "errors": len(errors),
            "states": states,
            "submit_s": t_submitted - t_first,
            "submit_rps": len(submitted) / (t_submitted - t_first),
            "elapsed_s": elapsed,
            "jobs_per_s": len(submitted) / elapsed,
            "submit_request_p50_ms": percentile([(s[1] - s[0]) * 1000 for s in submitted], 50),
            "submit_request_p99_ms": percentile([(s[1] - s[0]) * 1000 for s in submitted], 99),
        }

    def low_load(self, inst, key, h, d, n):
        """n cat1 jobs one at a time, each finished before the next; -> client-side timings."""
        api = Api(inst.port, key)
        body = self.cat1_body(h, d)
        seen_running = []
        for i in range(n):
            t0 = time.perf_counter()
            resp = api.ok("POST", "/api/tools", body, what="submit cat1 (low load)")
            jid = resp["jobs"][0]["id"]
            t_run = None
            deadline = t0 + 60
            while True:
                j = api.ok("GET", f"/api/jobs/{jid}", what="show job")
                st = j.get("state")
                if st not in ("new", "queued") and t_run is None:
                    t_run = time.perf_counter()
                if st in TERMINAL:
                    if st != "ok":
                        self.problem(f"{inst.db_kind}: low-load cat1 job {jid} ended {st}")
                    break
                if time.perf_counter() > deadline:
                    raise BenchError(f"low-load cat1 job {jid} not finished after 60 s (state {st})")
                time.sleep(0.001)
            seen_running.append((t_run - t0) * 1000)
        api.close()
        return {
            "client_seen_p50_ms": percentile(seen_running, 50),
            "client_seen_p99_ms": percentile(seen_running, 99),
        }

    def latencies(self, inst, after_id, expect):
        rows = inst.reader.job_timings(after_id)
        lat = [(r[3] - r[2]) * 1000 for r in rows if r[3] is not None and r[2] is not None]
        no_running = [r[0] for r in rows if r[3] is None]
        if no_running:
            self.problem(
                f"{inst.db_kind}: {len(no_running)} of {len(rows)} cat1 jobs have no 'running' row in job_state_history (e.g. job {no_running[0]})"
            )
        if len(rows) != expect:
            self.problem(f"{inst.db_kind}: {len(rows)} cat1 job rows in the database, expected {expect}")
        neg = [x for x in lat if x < 0]
        if neg:
            self.problem(f"{inst.db_kind}: {len(neg)} jobs 'running' before their create_time (min {min(neg):.1f} ms)")
        res = {"n": len(lat)}
        if lat:
            res.update(p50_ms=percentile(lat, 50), p99_ms=percentile(lat, 99), max_ms=max(lat))
        created = [r[2] for r in rows if r[2] is not None]
        ended = [r[4] for r in rows if r[4] is not None]
        if created and ended and len(ended) == len(rows):
            res["db_span_s"] = max(ended) - min(created)
        done = [(r[4] - r[2]) * 1000 for r in rows if r[4] is not None and r[2] is not None]
        if done:
            res.update(to_terminal_p50_ms=percentile(done, 50), to_terminal_p99_ms=percentile(done, 99))
        return res

    def jobs(self, db_kind):
        a = self.args
        label = "SQLite" if db_kind == "sqlite" else "PostgreSQL"
        conf = (
            "config/job_conf.yml"
            if a.job_conf == "repo"
            else f"generated job_conf.yml: local runner, {a.runner_workers} workers"
        )
        inst = GalaxyInstance(self, db_kind, f"jobs-{db_kind}")
        res = {}
        try:
            inst.start()
            key, h, d = self.setup_user(inst.port)
            # Burst.
            before = inst.reader.max_job_id()
            log(f"{label}: submitting {a.jobs} cat1 jobs from {a.client_threads} threads")
            cpu0, client0 = cpu_seconds(inst.proc.pid), os.times()
            b = self.burst(inst, key, h, d, a.jobs)
            cpu1, client1 = cpu_seconds(inst.proc.pid), os.times()
            b["db"] = self.latencies(inst, before, b["submitted"])
            if cpu0 and cpu1 and b["submitted"]:
                n = b["submitted"]
                client = (client1.user + client1.system) - (client0.user + client0.system)
                self.row(
                    f"CPU per job in that run, {label} (/proc/<pid>/stat of the server; its children are the job scripts and tools)",
                    f"server {1000 * (cpu1[0] - cpu0[0]) / n:.2f} ms, job processes {1000 * (cpu1[1] - cpu0[1]) / n:.2f} ms",
                    f"the benchmark client {1000 * client / n:.2f} ms; {os.cpu_count()} CPUs give {1000 * (os.cpu_count() or 1)} ms of CPU per second",
                )
            res["burst"] = b
            self.results[f"rss_after_jobs_{db_kind}_mib"] = rss_mib(inst.proc.pid)
            log(
                f"{label}: {b['jobs_per_s']:.1f} jobs/s; submit→running p50 {b['db'].get('p50_ms', float('nan')):.1f} ms "
                f"p99 {b['db'].get('p99_ms', float('nan')):.1f} ms"
            )
            self.row(
                f"{a.jobs} cat1 jobs end to end, {label} ({conf}; {a.client_threads} client threads)",
                f"{b['jobs_per_s']:.1f} jobs/s ({b['elapsed_s']:.2f} s; {b['states'].get('ok', 0)} ok"
                + (f", {b['errors']} submit errors" if b["errors"] else "")
                + ")",
                (f"target ≥ {TARGET_JOBS_PER_S} jobs/s; " if db_kind == "sqlite" else "")
                + f"Galaxy {GALAXY_JOBS_PER_S} jobs/s; the submissions alone: {b['submit_rps']:.0f} req/s, "
                f"POST /api/tools p50 {fmt_ms(b['submit_request_p50_ms'])} / p99 {fmt_ms(b['submit_request_p99_ms'])}",
            )
            # Low load.
            hist2 = Api(inst.port, key).ok("POST", "/api/histories", {"name": "bench-low-load"})["id"]
            before = inst.reader.max_job_id()
            log(f"{label}: {a.latency_jobs} cat1 jobs one at a time")
            ll = self.low_load(inst, key, hist2, d, a.latency_jobs)
            ll["db"] = self.latencies(inst, before, a.latency_jobs)
            res["low_load"] = ll
            db = ll["db"]
            if "p50_ms" in db:
                self.row(
                    f"submit → running, {label}, low load ({a.latency_jobs} jobs one at a time; job.create_time → first 'running' row)",
                    f"p50 {fmt_ms(db['p50_ms'])}, p99 {fmt_ms(db['p99_ms'])}",
                    f"target p50 ≤ {TARGET_P50_MS} ms; seen by the client (incl. polling) p50 {fmt_ms(ll['client_seen_p50_ms'])}",
                )
            bdb = b["db"]
            if "p50_ms" in bdb:
                self.row(
                    f"submit → running, {label}, burst of {a.jobs} (queueing behind {a.runner_workers} runner workers)",
                    f"p50 {fmt_ms(bdb['p50_ms'])}, p99 {fmt_ms(bdb['p99_ms'])}",
                    "measures the queue, not dispatch"
                    + (f"; DB span first create → last terminal {bdb['db_span_s']:.2f} s" if "db_span_s" in bdb else ""),
                )
        finally:
            self.results[f"jobs_{db_kind}"] = res
            inst.cleanup()

    def rounds(self, db_kind):
        """Rounds of cat1 jobs in one history that keeps growing: jobs/s per round, first
        against last (issue 16: flat as the tables grow)."""
        a = self.args
        label = "SQLite" if db_kind == "sqlite" else "PostgreSQL"
        inst = GalaxyInstance(self, db_kind, f"rounds-{db_kind}")
        res = []
        try:
            inst.start()
            key, h, d = self.setup_user(inst.port)
            for r in range(a.rounds):
                before = inst.reader.max_job_id()
                b = self.burst(inst, key, h, d, a.round_jobs, after_id=before)
                res.append(b)
                log(
                    f"{label}: round {r + 1}/{a.rounds}: {b['jobs_per_s']:.1f} jobs/s, "
                    f"POST /api/tools {b['submit_rps']:.0f} req/s p50 {fmt_ms(b['submit_request_p50_ms'])}"
                )
            rates = [b["jobs_per_s"] for b in res]
            self.row(
                f"{a.rounds} rounds of {a.round_jobs} cat1 jobs in one history, {label} (jobs/s per round)",
                ", ".join(f"{x:.0f}" for x in rates),
                f"last/first {rates[-1] / rates[0]:.2f} (target 0.9–1.1); POST /api/tools per round "
                + ", ".join(f"{b['submit_rps']:.0f}" for b in res)
                + " req/s",
            )
        finally:
            self.results[f"rounds_{db_kind}"] = res
            inst.cleanup()

    # -- report ------------------------------------------------------------------------------

    def report(self, machine):
        a = self.args
        lines = []
        lines.append(f"Command: `{' '.join(['bash scripts/bench'] + sys.argv[1:])}`")
        lines.append("")
        lines.append(
            f"Machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['mem_mib']} MiB RAM, Linux {machine['kernel']}; "
            f"{machine['date']}; galaxy-server {machine['git']}; {machine['rustc']}; "
            f"{(machine['wrk'] or ['wrk ?'])[0].split(' [')[0]}; load average at start {machine['loadavg_at_start']}. "
            "Server, load generator and client share the same CPUs."
        )
        lines.append("")
        lines.append("| measurement | galaxy-server | baseline / target |")
        lines.append("|---|---|---|")
        for m, o, r in self.rows:
            lines.append(f"| {m} | {o} | {r} |".replace("\n", " "))
        extra = []
        for k, label in (
            ("rss_after_wrk_mib", "RSS after the wrk run"),
            ("rss_after_jobs_sqlite_mib", "RSS after the SQLite job runs"),
            ("rss_after_jobs_postgres_mib", "RSS after the PostgreSQL job runs"),
            ("start_baseline_ms", None),
        ):
            v = self.results.get(k)
            if v is not None and label:
                extra.append(f"{label}: {v:.1f} MiB")
        if extra:
            lines.append("")
            lines.append("Also: " + "; ".join(extra) + ".")
        if self.problems:
            lines.append("")
            lines.append("Problems seen:")
            for p in self.problems:
                lines.append("- " + p.replace("\n", "\n  "))
        return "\n".join(lines)


def emit(report, a, machine, run):
    """Prints the report, writes it to --markdown and the figures to --json; -> the exit code
    (1 when a measurement failed). `run` has `results`, `problems` and `rows`."""
    print(report)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(report + "\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": machine, "args": vars(a), "results": run.results, "problems": run.problems}, f, indent=2)
    return 1 if any(r[1] == "FAILED" for r in run.rows) else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small numbers: a smoke check of the script and the server")
    p.add_argument("--sections", default="startup,rss,http,nginx,jobs",
                   help="comma list of startup,rss,http,nginx,jobs,rounds (rounds: not in the default run)")
    p.add_argument("--rounds", type=int, default=None, help="rounds of the rounds section (10; quick 3)")
    p.add_argument("--round-jobs", type=int, default=None, help="cat1 jobs per round (2000; quick 100)")
    p.add_argument("--no-postgres", action="store_true", help="SQLite only")
    p.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only (startup, jobs, rounds)")
    p.add_argument("--postgres", default=os.environ.get("GALAXY_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
                   help="PostgreSQL server URL without database (env GALAXY_BENCH_POSTGRES)")
    p.add_argument("--workers", type=int, default=2, help="web workers of galaxy-server and of the baseline (2)")
    p.add_argument("--job-conf", choices=("generated", "repo"), default="generated",
                   help="generated: local runner with --runner-workers; repo: config/job_conf.yml")
    p.add_argument("--runner-workers", type=int, default=8, help="local runner workers in the generated job_conf.yml (8)")
    p.add_argument("--jobs", type=int, default=None, help="cat1 jobs in the burst (1000; quick 50)")
    p.add_argument("--latency-jobs", type=int, default=None, help="cat1 jobs one at a time (100; quick 10)")
    p.add_argument("--client-threads", type=int, default=8, help="submitting threads (8)")
    p.add_argument("--starts", type=int, default=None, help="starts for start→first 200 OK (5; quick 3)")
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--wrk-connections", type=int, default=64)
    p.add_argument("--wrk-duration", type=int, default=None, help="seconds per wrk run (10; quick 2)")
    p.add_argument("--wrk-rounds", type=int, default=None, help="alternating wrk rounds per server (3; quick 1)")
    p.add_argument("--job-timeout", type=float, default=900.0, help="seconds to wait for the burst to finish (900)")
    p.add_argument("--stall-timeout", type=float, default=60.0, help="give up when no job finishes for this long (60)")
    p.add_argument("--poll-interval", type=float, default=0.01, help="seconds between completion polls (0.01)")
    p.add_argument("--rust-log", default=None, help="RUST_LOG for the server (default: unset, the server's default)")
    p.add_argument("--tmp", default=None, help="directory for the temporary server directories")
    p.add_argument("--keep", action="store_true", help="keep temporary directories (logs, databases)")
    p.add_argument("--markdown", default=None, help="also write the report to this file")
    p.add_argument("--json", default=None, help="also write every figure as JSON to this file")
    a = p.parse_args()
    a.jobs = a.jobs if a.jobs is not None else (50 if a.quick else 1000)
    a.latency_jobs = a.latency_jobs if a.latency_jobs is not None else (10 if a.quick else 100)
    a.starts = a.starts if a.starts is not None else (3 if a.quick else 5)
    a.wrk_duration = a.wrk_duration if a.wrk_duration is not None else (2 if a.quick else 10)
    a.wrk_rounds = max(1, a.wrk_rounds if a.wrk_rounds is not None else (1 if a.quick else 3))
    a.rounds = a.rounds if a.rounds is not None else (3 if a.quick else 10)
    a.round_jobs = a.round_jobs if a.round_jobs is not None else (100 if a.quick else 2000)
    a.sections = [s.strip() for s in a.sections.split(",") if s.strip()]
    for s in a.sections:
        if s not in ("startup", "rss", "http", "nginx", "jobs", "rounds"):
            p.error(f"unknown section {s!r}")
    if a.no_postgres:
        a.postgres = None
    if a.job_conf == "repo" and not os.path.exists(os.path.join(REPO, "config", "job_conf.yml")):
        p.error("--job-conf repo: config/job_conf.yml does not exist")
    if ("http" in a.sections or "nginx" in a.sections) and not shutil.which("wrk"):
        p.error("wrk is not installed (scripts/bench installs it)")

    bench = Bench(a)
    machine = machine_info()
    dbs = ([] if a.no_sqlite else ["sqlite"]) + (["postgres"] if bench.pg else [])
    if "jobs" in a.sections and not os.path.exists(os.path.join(REPO, "config", "tool_conf.xml")):
        bench.problem("config/tool_conf.xml does not exist: the server has no tools to run")
    try:
        if "startup" in a.sections:
            for db in dbs:
                bench.section(f"start → first 200 OK ({db})", bench.startup, db)
        if "rss" in a.sections:
            bench.section("idle RSS", bench.idle_rss)
        if "http" in a.sections:
            bench.section("GET /api/version req/s", bench.http)
        if "nginx" in a.sections:
            bench.section("GET /api/version through nginx", bench.nginx)
        if "jobs" in a.sections:
            for db in dbs:
                bench.section(f"cat1 jobs end to end ({db})", bench.jobs, db)
        if "rounds" in a.sections:
            for db in dbs:
                bench.section(f"rounds of cat1 jobs in one history ({db})", bench.rounds, db)
    finally:
        if bench.pg and not a.keep:
            bench.pg.drop_all()
    return emit(bench.report(machine), a, machine, bench)


if __name__ == "__main__":
    sys.exit(main())
