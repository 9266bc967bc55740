#!/usr/bin/env python3
"""Chaos soak: the web process and 3 job handlers under `galaxy-server ctl`, on a private
PostgreSQL, with jobs and API load running while handlers are killed, the database is restarted
and the web process is reloaded. See RELIABILITY.md.

    bash scripts/soak                    # 20 minutes (builds the release binary first)
    bash scripts/soak --minutes 3        # a short run
    python3 scripts/soak.py --help       # every option

What it does:
- starts a private PostgreSQL cluster (`initdb` + `pg_ctl` from /usr/lib/postgresql/*/bin) in a
  temporary directory, on a unix socket in that directory and a free TCP port on 127.0.0.1
  (run as root, the cluster runs as the `postgres` user through `runuser`); the server on port
  5432 is never used;
- writes a galaxy.yml (heartbeat_interval 2 s, a `gravity.handlers` entry of 3 processes) and
  starts everything with `galaxy-server ctl start`;
- for the duration, submits jobs of a `ledger` tool (each with a unique tag and a short random
  sleep; every start of a job appends its tag to a ledger file) and of `ledger_dep` (the same,
  on the output of an earlier job), loads the API from several client threads (half with a new
  connection per request, half on keep-alive connections), and at random intervals, in turn:
  `kill -9`s a handler process (ctl restarts it), restarts PostgreSQL (`pg_ctl restart -m fast`,
  or stop, wait a few seconds, start) and runs `galaxy-server ctl graceful`;
- then stops the chaos and the load, waits for the jobs to settle (at least 3 heartbeat
  intervals + the longest job + 30 s, longer only while jobs keep finishing, 5 minutes at most),
  and prints a report: jobs submitted, lost, run twice, stuck (with their states), ended in
  error (and why), requests made and failed by kind and cause, and the chaos events. A 503
  answer to a request overlapping a database outage (or the 3 s after it) is counted apart,
  as "refused during outage": it is the designed answer.

The report (report.md, report.json), the process logs, the PostgreSQL log and the ledger are
kept under target/soak/<date>/ (or --report-dir); the temporary directory, the processes and
the database cluster are removed on exit, Ctrl-C included.

Exit code: 0 when no job was lost, run twice or stuck; 1 when one was; 2 when the soak could
not run (setup failure).

Standard library only (Python 3.11).
"""

import argparse
import glob
import http.client
import json
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN_KEY = "soak-admin-key"
TERMINAL = {"ok", "error", "deleted", "paused", "stopped", "skipped"}
HEARTBEAT = 2.0
MAX_PAUSE = 3.0  # the longest sleep of a ledger job, seconds

LEDGER_TOOL = """<tool id="ledger" name="Ledger" version="1.0.0">
    <command><![CDATA[
echo "$tag" >> '{ledger}' && sleep $pause && echo "$tag" > '$out_file1'
    ]]></command>
    <inputs>
        <param name="tag" type="text" value="none"/>
        <param name="pause" type="float" value="0"/>
    </inputs>
    <outputs>
        <data name="out_file1" format="txt"/>
    </outputs>
</tool>
"""

LEDGER_DEP_TOOL = """<tool id="ledger_dep" name="Ledger on a dataset" version="1.0.0">
    <command><![CDATA[
echo "$tag" >> '{ledger}' && sleep $pause && cat '$input1' > '$out_file1' && echo "$tag" >> '$out_file1'
    ]]></command>
    <inputs>
        <param name="input1" type="data" format="data"/>
        <param name="tag" type="text" value="none"/>
        <param name="pause" type="float" value="0"/>
    </inputs>
    <outputs>
        <data name="out_file1" format="txt"/>
    </outputs>
</tool>
"""

TOOL_CONF = """<toolbox>
    <tool file="ledger.xml"/>
    <tool file="ledger_dep.xml"/>
</toolbox>
"""

JOB_CONF = """runners:
  local:
    load: galaxy.jobs.runners.local:LocalJobRunner
    workers: 4
execution:
  default: local
  environments:
    local: {runner: local}
"""


def log(msg):
    print(f"soak {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Setup(Exception):
    """The soak could not be set up."""


# --------------------------------------------------------------------------------------------
# The private PostgreSQL cluster


class Postgres:
    def __init__(self, root):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
        if not bins:
            raise Setup("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
        self.bin = os.path.dirname(bins[-1])
        self.dir = os.path.join(root, "pg")
        self.data = os.path.join(self.dir, "data")
        self.logfile = os.path.join(self.dir, "postgresql.log")
        self.port = free_port()
        self.started = False
        os.makedirs(self.dir)
        self.as_user = []
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root: the cluster belongs to `postgres`.
            os.chmod(root, 0o711)
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def run(self, *args, timeout=120, check=True):
        cmd = self.as_user + [os.path.join(self.bin, args[0]), *args[1:]]
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=timeout,
                           start_new_session=True)
        if check and r.returncode != 0:
            raise Setup(f"{' '.join(cmd)} exited {r.returncode}: {r.stdout.strip()[-2000:]}")
        return r

    def init(self):
        self.run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-N", "-E", "UTF8")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                    f"unix_socket_directories = '{self.dir}'\nmax_connections = 200\n"
                    "fsync = off\nlogging_collector = off\n")

    def start(self):
        self.started = True
        return self.run("pg_ctl", "start", "-w", "-t", "60", "-D", self.data, "-l", self.logfile,
                        check=False)

    def stop(self, mode="fast"):
        return self.run("pg_ctl", "stop", "-w", "-t", "60", "-m", mode, "-D", self.data,
                        check=False)

    def restart(self):
        return self.run("pg_ctl", "restart", "-w", "-t", "60", "-m", "fast", "-D", self.data,
                        "-l", self.logfile, check=False)

    def psql(self, sql, db="galaxy", timeout=60):
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.dir,
                            "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"psql: {r.stderr.strip()}")
        return r.stdout

    def url(self):
        return f"postgresql://postgres@127.0.0.1:{self.port}/galaxy"


# --------------------------------------------------------------------------------------------
# Galaxy under ctl


class Galaxy:
    def __init__(self, root, binary, pg, port):
        self.root, self.binary, self.port = root, binary, port
        self.state = os.path.join(root, "state")
        self.ledger = os.path.join(root, "ledger.txt")
        self.config = os.path.join(root, "galaxy.yml")
        tools = os.path.join(root, "tools")
        os.makedirs(tools)
        for name, text in (("ledger.xml", LEDGER_TOOL), ("ledger_dep.xml", LEDGER_DEP_TOOL)):
            with open(os.path.join(tools, name), "w") as f:
                f.write(text.replace("{ledger}", self.ledger))
        with open(os.path.join(tools, "tool_conf.xml"), "w") as f:
            f.write(TOOL_CONF)
        with open(os.path.join(root, "job_conf.yml"), "w") as f:
            f.write(JOB_CONF)
        with open(self.config, "w") as f:
            f.write(f"""gravity:
  state_dir: "{self.state}"
  gunicorn: {{bind: "127.0.0.1:{port}", workers: 2}}
  handlers:
    handler: {{processes: 3, pools: [job-handlers]}}
galaxy:
  database_connection: "{pg.url()}"
  database_engine_option_pool_size: 5
  tool_config_file: "{tools}/tool_conf.xml"
  job_config_file: "{root}/job_conf.yml"
  file_path: "{root}/objects"
  job_working_directory: "{root}/jobs"
  id_secret: soak-secret
  bootstrap_admin_api_key: {ADMIN_KEY}
  job_handler_monitor_sleep: 1.0
  heartbeat_interval: {HEARTBEAT:g}
""")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GALAXY_CONFIG_")}
        self.env.setdefault("RUST_LOG", "info")

    def cli(self, *args, timeout=180):
        return subprocess.run([self.binary, "-c", self.config, *args], cwd=self.root, env=self.env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout,
                              start_new_session=True)

    def processes(self):
        try:
            with open(os.path.join(self.state, "processes.json")) as f:
                return json.load(f).get("processes", [])
        except (OSError, ValueError):
            return []

    def manager_pid(self):
        try:
            with open(os.path.join(self.state, "galaxy-server.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


# --------------------------------------------------------------------------------------------
# Chaos windows and request accounting


class Windows:
    """Time intervals (monotonic) of database outages and graceful reloads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []  # [kind, start, end or None]

    def open(self, kind):
        w = [kind, time.monotonic(), None]
        with self.lock:
            self.items.append(w)
        return w

    def close(self, w):
        with self.lock:
            w[2] = time.monotonic()

    def overlapping(self, t0, t1, grace=3.0):
        """Kinds of the windows overlapping [t0, t1] (a window is widened by `grace` seconds
        after its end: the processes reconnect)."""
        now = time.monotonic()
        with self.lock:
            return {k for k, a, b in self.items
                    if t0 <= (b if b is not None else now) + grace and t1 >= a}


class Stats:
    def __init__(self, windows):
        self.windows = windows
        self.lock = threading.Lock()
        self.counts = Counter()  # (kind, outcome) -> n
        self.during = Counter()  # (kind, outcome, window) -> n
        self.examples = defaultdict(list)
        # Per kind, requests overlapping a database outage: how many, how many took more than
        # 2 s to be answered (or to fail), and the slowest.
        self.outage_requests = Counter()
        self.outage_slow = Counter()
        self.outage_max = defaultdict(float)

    def record(self, kind, t0, t1, status, error, body=None):
        wins = self.windows.overlapping(t0, t1)
        if error is not None:
            outcome = "timeout" if isinstance(error, (socket.timeout, TimeoutError)) else "connection error"
        elif 200 <= status < 300:
            outcome = "ok"
        elif status == 503 and "outage" in wins:
            outcome = "refused during outage"
        else:
            outcome = f"{status}"  # any other status is a failure, a 503 outside an outage too
        with self.lock:
            self.counts[(kind, outcome)] += 1
            for w in wins:
                self.during[(kind, outcome, w)] += 1
            if "outage" in wins:
                self.outage_requests[kind] += 1
                self.outage_max[kind] = max(self.outage_max[kind], t1 - t0)
                if t1 - t0 > 2.0:
                    self.outage_slow[kind] += 1
            if outcome != "ok" and len(self.examples[outcome]) < 5:
                during = "/".join(sorted(wins)) or "no chaos window"
                what = repr(error) if error is not None else f"HTTP {status} {str(body)[:160]}"
                self.examples[outcome].append(f"{kind} ({during}, {t1 - t0:.1f} s): {what}")
        return outcome


class Client:
    """One HTTP client: a new connection per request, or one kept alive."""

    def __init__(self, port, keepalive, timeout=30):
        self.port, self.keepalive, self.timeout = port, keepalive, timeout
        self.conn = None

    def _dropped(self):
        # As urllib3 does before reusing a pooled connection: a readable idle socket was closed.
        sock = self.conn.sock
        if sock is None:
            return True
        try:
            r, _, _ = select.select([sock], [], [], 0)
            return bool(r)
        except (OSError, ValueError):
            return True

    def request(self, method, path, body=None):
        """(status, parsed body or None, error or None)."""
        if self.conn is not None and self._dropped():
            self.close()
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        headers = {"x-api-key": ADMIN_KEY}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["content-type"] = "application/json"
        if not self.keepalive:
            headers["connection"] = "close"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            r = self.conn.getresponse()
            raw = r.read()
            if not self.keepalive or r.getheader("connection", "").lower() == "close":
                self.close()
        except Exception as e:  # noqa: BLE001 - every failure is a measured outcome
            self.close()
            return 0, None, e
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return r.status, parsed, None

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
            self.conn = None


# --------------------------------------------------------------------------------------------
# The soak


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.stop = threading.Event()
        self.windows = Windows()
        self.stats = Stats(self.windows)
        self.lock = threading.Lock()
        self.accepted = {}  # tag -> {"job": id, "output": id, "tool": ..., "parent": tag}
        self.unacknowledged = {}  # tag -> outcome (the POST failed; the job may exist anyway)
        self.outputs = []  # (tag, output dataset id) of accepted jobs, for dependent jobs
        self.job_ids = []
        self.events = Counter()
        self.pg_fast = self.rng.random() < 0.5  # the next PostgreSQL restart: fast or stop/start
        self.event_log = []  # (seconds since start, text)
        self.t_start = time.monotonic()
        self.seq = 0
        self.root = None
        self.pg = None
        self.galaxy = None
        self.cleaned = False
        self.history = None

    def event(self, kind, text):
        self.events[kind] += 1
        self.event_log.append((time.monotonic() - self.t_start, f"{kind}: {text}"))
        log(f"chaos {kind}: {text}")

    # ---- setup

    def setup(self):
        self.root = tempfile.mkdtemp(prefix="gs-soak-")
        log(f"temporary directory {self.root}")
        self.pg = Postgres(self.root)
        self.pg.init()
        r = self.pg.start()
        if r.returncode != 0:
            raise Setup(f"pg_ctl start: {r.stdout.strip()}")
        self.pg.psql("CREATE DATABASE galaxy", db="postgres")
        log(f"PostgreSQL {os.path.basename(os.path.dirname(self.pg.bin))} on 127.0.0.1:{self.pg.port} "
            f"and {self.pg.dir}")
        self.galaxy = Galaxy(self.root, self.args.binary, self.pg, free_port())
        r = self.galaxy.cli("migrate")
        if r.returncode != 0:
            raise Setup(f"galaxy-server migrate exited {r.returncode}: {r.stdout[-2000:]}")
        r = self.galaxy.cli("ctl", "start", timeout=120)
        if r.returncode != 0:
            raise Setup(f"galaxy-server ctl start exited {r.returncode}: {r.stdout[-2000:]}")
        deadline = time.monotonic() + 60
        client = Client(self.galaxy.port, keepalive=False, timeout=5)
        while True:
            procs = self.galaxy.processes()
            running = [p for p in procs if p.get("pid") and p.get("state") == "running"]
            status, handlers, _ = client.request("GET", "/api/handlers")
            live = len(handlers) if status == 200 and isinstance(handlers, list) else 0
            if len(running) == 4 and live >= 3:
                break
            if time.monotonic() > deadline:
                raise Setup(f"not every process came up within 60 s: {procs}; {live} live handlers")
            time.sleep(0.5)
        status, h, err = client.request("POST", "/api/histories", {"name": "soak"})
        if status != 200:
            raise Setup(f"POST /api/histories: {status} {h} {err}")
        self.history = h["id"]
        log(f"web on 127.0.0.1:{self.galaxy.port}, {len(running)} processes: "
            + ", ".join(f"{p['name']}={p['pid']}" for p in running))

    # ---- load

    def submitter(self, n):
        client = Client(self.galaxy.port, keepalive=(n % 2 == 0))
        rng = random.Random(self.rng.random())
        while not self.stop.is_set():
            with self.lock:
                self.seq += 1
                tag = f"soak{self.seq:06d}"
                parents = self.outputs[-30:]
            pause = round(rng.uniform(0.1, MAX_PAUSE), 2)
            if parents and rng.random() < 0.25:
                ptag, pout = rng.choice(parents)
                body = {"tool_id": "ledger_dep", "history_id": self.history,
                        "inputs": {"input1": {"src": "hda", "id": pout}, "tag": tag, "pause": pause}}
            else:
                ptag = None
                body = {"tool_id": "ledger", "history_id": self.history,
                        "inputs": {"tag": tag, "pause": pause}}
            t0 = time.monotonic()
            status, run, err = client.request("POST", "/api/tools", body)
            outcome = self.stats.record("submit", t0, time.monotonic(), status, err, run)
            if outcome == "ok":
                try:
                    job, out = run["jobs"][0]["id"], run["outputs"][0]["id"]
                except (TypeError, KeyError, IndexError):
                    with self.lock:
                        self.unacknowledged[tag] = f"200 without a job: {str(run)[:200]}"
                else:
                    with self.lock:
                        self.accepted[tag] = {"job": job, "output": out, "tool": body["tool_id"],
                                              "parent": ptag}
                        self.outputs.append((tag, out))
                        self.job_ids.append(job)
            else:
                with self.lock:
                    self.unacknowledged[tag] = outcome
            self.stop.wait(rng.uniform(0.1, 0.8))
        client.close()

    def reader(self, n):
        client = Client(self.galaxy.port, keepalive=(n % 2 == 0))
        rng = random.Random(self.rng.random())
        while not self.stop.is_set():
            with self.lock:
                job = rng.choice(self.job_ids[-200:]) if self.job_ids else None
                out = rng.choice(self.outputs[-200:])[1] if self.outputs else None
            paths = ["/api/version", "/api/jobs?limit=20", "/api/handlers",
                     f"/api/histories/{self.history}", "/api/tools/ledger"]
            if job:
                paths += [f"/api/jobs/{job}", f"/api/jobs/{job}?full=true"]
            if out:
                paths.append(f"/api/datasets/{out}")
            path = rng.choice(paths)
            t0 = time.monotonic()
            status, body, err = client.request("GET", path)
            self.stats.record("read", t0, time.monotonic(), status, err, body)
            self.stop.wait(rng.uniform(0.0, 0.1))
        client.close()

    # ---- chaos

    def kill_handler(self):
        procs = [p for p in self.galaxy.processes()
                 if p.get("mode") == "handler" and p.get("pid") and alive(p["pid"])]
        if not procs:
            self.event("handler kill -9", "skipped: no live handler")
            return
        p = self.rng.choice(procs)
        try:
            os.kill(p["pid"], signal.SIGKILL)
        except OSError as e:
            self.event("handler kill -9", f"{p['name']} pid {p['pid']}: {e}")
            return
        t0 = time.monotonic()
        new = None
        while time.monotonic() - t0 < 40 and not self.stop.is_set():
            q = next((x for x in self.galaxy.processes() if x["name"] == p["name"]), {})
            if q.get("pid") and q["pid"] != p["pid"] and alive(q["pid"]):
                new = q["pid"]
                break
            time.sleep(0.2)
        self.event("handler kill -9", f"{p['name']} pid {p['pid']}; "
                   + (f"restarted as {new} after {time.monotonic() - t0:.1f} s" if new
                      else "NOT restarted within 40 s"))
        if not new:
            self.events["handler not restarted"] += 1

    def restart_postgres(self):
        # The two ways alternate, so that even a short run has both.
        fast, self.pg_fast = self.pg_fast, not self.pg_fast
        w = self.windows.open("outage")
        if fast:
            r = self.pg.restart()
            self.windows.close(w)
            self.event("postgres restart -m fast",
                       f"rc {r.returncode}, down {w[2] - w[1]:.1f} s")
        else:
            r1 = self.pg.stop()
            down = self.rng.uniform(2, 8)
            time.sleep(down)
            r2 = self.pg.start()
            self.windows.close(w)
            self.event("postgres stop, wait, start", f"rc {r1.returncode}/{r2.returncode}, "
                       f"down {w[2] - w[1]:.1f} s")
            r = r2
        if r.returncode != 0:
            self.events["postgres failed to come back"] += 1
            log(f"pg_ctl: {r.stdout.strip()}")
            # Try again: the rest of the soak needs a database.
            self.pg.start()

    def graceful(self):
        w = self.windows.open("graceful")
        try:
            r = self.galaxy.cli("ctl", "graceful", timeout=240)
            rc, out = r.returncode, r.stdout
        except subprocess.TimeoutExpired:
            rc, out = "timeout", ""
        self.windows.close(w)
        self.event("ctl graceful", f"rc {rc} in {w[2] - w[1]:.1f} s")
        if rc != 0:
            self.events["ctl graceful failed"] += 1
            log(f"ctl graceful said: {out.strip()[-1000:]}")

    def chaos(self):
        kinds = [self.kill_handler, self.restart_postgres, self.graceful]
        lo, hi = self.args.gap
        order = []
        while not self.stop.wait(self.rng.uniform(lo, hi)):
            if not order:
                order = kinds[:]
                self.rng.shuffle(order)
            try:
                order.pop()()
            except Exception as e:  # noqa: BLE001 - keep the soak going, but say so
                self.event("chaos error", repr(e))

    # ---- settle and report

    def job_rows(self):
        """Every job of the soak's tools, from the database: tag -> list of rows."""
        sql = ("SELECT json_build_object('id', id, 'tool', tool_id, 'state', state, 'handler', "
               "handler, 'exit_code', exit_code, 'info', info, 'stderr', right(stderr, 300), "
               "'params', params) FROM job WHERE tool_id IN ('ledger', 'ledger_dep')")
        rows = defaultdict(list)
        for line in self.pg.psql(sql).splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            try:
                params = json.loads(row["params"])
            except (TypeError, ValueError):
                params = {}
            tag = self.find_tag(params) or f"?{row['id']}"
            rows[tag].append(row)
        return rows

    @staticmethod
    def find_tag(params):
        if isinstance(params, dict):
            v = params.get("tag")
            if isinstance(v, str):
                return v
            if isinstance(v, dict):
                for k in ("value", "v"):
                    if isinstance(v.get(k), str):
                        return v[k]
            for v in params.values():
                t = Soak.find_tag(v)
                if t:
                    return t
        if isinstance(params, list):
            for v in params:
                t = Soak.find_tag(v)
                if t:
                    return t
        return None

    def ledger(self):
        try:
            with open(self.galaxy.ledger) as f:
                return Counter(line.strip() for line in f if line.strip())
        except OSError:
            return Counter()

    def settle(self):
        floor = 3 * HEARTBEAT + MAX_PAUSE + 30
        t0 = time.monotonic()
        last_open, last_progress = None, t0
        while True:
            try:
                n = int(self.pg.psql("SELECT count(*) FROM job WHERE tool_id IN ('ledger', "
                                     "'ledger_dep') AND state NOT IN ('ok', 'error', 'deleted', "
                                     "'paused', 'stopped', 'skipped')").strip())
            except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
                log(f"settle: {e}")
                n = None
            now = time.monotonic()
            if n == 0:
                break
            if n is not None and (last_open is None or n < last_open):
                last_open, last_progress = n, now
            if now - t0 >= floor and (now - last_progress > 10 or now - t0 > 300):
                break
            time.sleep(1)
        return time.monotonic() - t0, floor

    def report(self, settled, floor):
        with self.lock:
            accepted = dict(self.accepted)
            unack = dict(self.unacknowledged)
        rows = self.job_rows()
        ledger = self.ledger()
        missing = sorted(t for t in accepted if t not in rows)
        created_twice = sorted(t for t, r in rows.items() if len(r) > 1)
        state = {t: r[0]["state"] for t, r in rows.items()}
        stuck = sorted(t for t, s in state.items() if s not in TERMINAL)
        stuck_acc = [t for t in stuck if t in accepted]
        twice = sorted(t for t, n in ledger.items() if n > 1)
        ok_not_run = sorted(t for t, s in state.items() if s == "ok" and ledger.get(t, 0) == 0)
        unack_created = sorted(t for t in unack if t in rows)
        by_state = Counter(state[t] for t in accepted if t in state)
        errors = Counter()
        for t, r in rows.items():
            if r[0]["state"] == "error":
                why = (r[0].get("info") or "").strip() or (r[0].get("stderr") or "").strip() \
                    or f"exit code {r[0].get('exit_code')}"
                errors[" ".join(why.split())[:160]] += 1
        paused = Counter()
        for t, r in rows.items():
            if r[0]["state"] == "paused":
                parent = accepted.get(t, {}).get("parent")
                paused[f"input from a job that ended {state.get(parent, '?')}"] += 1
        lost = len(missing) + len(stuck_acc)

        out = []
        out.append(f"soak: {self.args.minutes:g} min of chaos, web + 3 handlers on PostgreSQL, "
                   f"heartbeat_interval {HEARTBEAT:g} s, seed {self.args.seed}; settled in "
                   f"{settled:.0f} s (floor {floor:.0f} s)")
        out.append("")
        out.append("| jobs | count |")
        out.append("|---|---|")
        out.append(f"| submitted (POST /api/tools answered 200) | {len(accepted)} |")
        out.append(f"| of which on an earlier job's output (`ledger_dep`) | "
                   f"{sum(1 for a in accepted.values() if a['tool'] == 'ledger_dep')} |")
        out.append(f"| final states of the submitted jobs | "
                   f"{', '.join(f'{k} {v}' for k, v in sorted(by_state.items())) or '-'} |")
        out.append(f"| **lost** (accepted, then missing or not terminal) | **{lost}** |")
        out.append(f"| of which missing from the database | {len(missing)} |")
        out.append(f"| **run twice** (tag twice in the ledger) | **{len(twice)}** |")
        out.append(f"| **stuck** (not terminal after settling) | **{len(stuck)}** |")
        out.append(f"| stuck, by state | "
                   f"{', '.join(f'{k} {v}' for k, v in sorted(Counter(state[t] for t in stuck).items())) or '-'} |")
        out.append(f"| ended `error` | {sum(errors.values())} |")
        out.append(f"| ended `paused` | {sum(paused.values())} |")
        out.append(f"| ended `ok` without a run in the ledger | {len(ok_not_run)} |")
        out.append(f"| created twice (two rows, one tag) | {len(created_twice)} |")
        out.append(f"| submissions answered with an error | {len(unack)} |")
        out.append(f"| of which created anyway | {len(unack_created)} |")
        if errors or paused:
            out.append("")
            out.append("| ended error / paused, why | jobs |")
            out.append("|---|---|")
            for why, n in errors.most_common():
                out.append(f"| error: {why.replace('|', '/')} | {n} |")
            for why, n in paused.most_common():
                out.append(f"| paused: {why} | {n} |")

        kinds = ("read", "submit")
        outcomes = sorted({o for (_, o) in self.stats.counts}, key=lambda o: (o != "ok", o))
        out.append("")
        out.append("| requests | " + " | ".join(kinds) + " |")
        out.append("|---|" + "---|" * len(kinds))
        out.append("| made | " + " | ".join(str(sum(v for (k, _), v in self.stats.counts.items()
                                                    if k == kind)) for kind in kinds) + " |")
        for o in outcomes:
            label = {"ok": "answered 2xx", "refused during outage": "503 during a database outage "
                     "(the designed answer)", "connection error": "failed: connection error",
                     "timeout": "failed: no answer within 30 s"}.get(o, f"failed: HTTP {o}")
            out.append(f"| {label} | " + " | ".join(str(self.stats.counts[(k, o)]) for k in kinds)
                       + " |")
        for w, label in (("graceful", "failed while `ctl graceful` ran"),
                         ("outage", "failed during a database outage (not 503)")):
            out.append(f"| {label} | " + " | ".join(
                str(sum(v for (k, o, ww), v in self.stats.during.items()
                        if k == kind and ww == w and o not in ("ok", "refused during outage")))
                for kind in kinds) + " |")
        out.append("| overlapping a database outage | " + " | ".join(
            str(self.stats.outage_requests[k]) for k in kinds) + " |")
        out.append("| of which answered (or failed) after more than 2 s | " + " | ".join(
            str(self.stats.outage_slow[k]) for k in kinds) + " |")
        out.append("| slowest during an outage | " + " | ".join(
            f"{self.stats.outage_max[k]:.1f} s" for k in kinds) + " |")

        out.append("")
        out.append("| chaos event | count |")
        out.append("|---|---|")
        for k in ("handler kill -9", "postgres restart -m fast", "postgres stop, wait, start",
                  "ctl graceful"):
            self.events.setdefault(k, 0)
        for k, v in sorted(self.events.items()):
            out.append(f"| {k} | {v} |")
        restarts = ", ".join(f"{p['name']} {p.get('restarts', 0)}" for p in self.galaxy.processes())
        out.append(f"| restarts counted by ctl at the end | {restarts or '-'} |")
        levels = Counter()
        for path in glob.glob(os.path.join(self.root, "state", "log", "*.log")):
            with open(path, errors="replace") as f:
                for line in f:
                    if " ERROR " in line:
                        levels["ERROR"] += 1
                    elif " WARN " in line:
                        levels["WARN"] += 1
                    if "panicked" in line:
                        levels["panics"] += 1
        out.append(f"| process log lines: ERROR / WARN / panics | {levels['ERROR']} / "
                   f"{levels['WARN']} / {levels['panics']} |")

        detail = []
        if missing:
            detail.append(f"missing: {missing[:20]}")
        if stuck:
            detail.append("stuck: " + ", ".join(
                f"{t} (job {rows[t][0]['id']}, {rows[t][0]['state']}, handler {rows[t][0]['handler']})"
                for t in stuck[:30]))
        if twice:
            detail.append("run twice: " + ", ".join(
                f"{t} x{ledger[t]} (job {rows[t][0]['id'] if t in rows else '?'})" for t in twice[:30]))
        if ok_not_run:
            detail.append(f"ok without a run: {ok_not_run[:20]}")
        # The last log lines about each stuck or twice-run job, as evidence.
        for t in (stuck + twice)[:10]:
            if t in rows:
                for line in self.log_lines(f"(job {rows[t][0]['id']})")[-3:]:
                    detail.append(f"  {t}: {line}")
        for o, ex in self.stats.examples.items():
            detail.append(f"examples of '{o}': {ex}")
        text = "\n".join(out)
        result = {
            "submitted": len(accepted), "lost": lost, "missing": missing, "stuck": stuck,
            "stuck_states": {t: state[t] for t in stuck}, "run_twice": {t: ledger[t] for t in twice},
            "errors": dict(errors), "paused": dict(paused), "ok_not_run": ok_not_run,
            "unacknowledged": unack, "unacknowledged_created": unack_created,
            "requests": {f"{k} {o}": v for (k, o), v in self.stats.counts.items()},
            "events": dict(self.events), "event_log": self.event_log,
            "job_db_ids": {t: [r["id"] for r in rs] for t, rs in rows.items()},
        }
        failed = lost > 0 or len(twice) > 0 or len(stuck) > 0
        return text, detail, result, failed

    def log_lines(self, needle):
        """Lines of the process logs containing `needle`, in time order."""
        found = []
        for path in glob.glob(os.path.join(self.root, "state", "log", "*.log")):
            with open(path, errors="replace") as f:
                found += [line.rstrip() for line in f if needle in line]
        # Lines start "logger LEVEL date time [...]": sort on the date and time.
        return sorted(found, key=lambda line: line.split(" ", 4)[2:4])

    # ---- cleanup

    def cleanup(self, report_dir):
        if self.cleaned:
            return
        self.cleaned = True
        self.stop.set()
        g, pg = self.galaxy, self.pg
        pids = set()
        if g is not None:
            pids = {p["pid"] for p in g.processes() if p.get("pid")}
            manager = g.manager_pid()
            if manager and alive(manager):
                if pg is not None and pg.started:
                    pg.start()  # so the processes can hand their jobs back on the way out
                try:
                    g.cli("ctl", "stop", timeout=90)
                except subprocess.TimeoutExpired:
                    log("ctl stop did not finish in 90 s")
                if alive(manager):
                    os.kill(manager, signal.SIGKILL)
            pids |= {p["pid"] for p in g.processes() if p.get("pid")}
            for pid in pids:
                if alive(pid):
                    log(f"killing left-over process {pid}")
                    os.kill(pid, signal.SIGKILL)
            # Job scripts still running in the temporary directory.
            for cwd in glob.glob("/proc/[0-9]*/cwd"):
                try:
                    if os.readlink(cwd).startswith(self.root + "/"):
                        os.kill(int(cwd.split("/")[2]), signal.SIGKILL)
                except OSError:
                    pass
        if pg is not None and pg.started:
            pg.stop("fast")
        if report_dir and self.root:
            os.makedirs(report_dir, exist_ok=True)
            for src in glob.glob(os.path.join(self.root, "state", "log", "*.log")) + \
                    [os.path.join(self.root, "ledger.txt"), os.path.join(self.root, "galaxy.yml")] + \
                    ([pg.logfile] if pg else []):
                if os.path.exists(src):
                    shutil.copy(src, report_dir)
        if self.root and not self.args.keep:
            shutil.rmtree(self.root, ignore_errors=True)
        elif self.root:
            log(f"kept {self.root}")


def main():
    p = argparse.ArgumentParser(description="Chaos soak of galaxy-server (RELIABILITY.md).")
    p.add_argument("--minutes", type=float, default=20.0, help="chaos duration (default 20)")
    p.add_argument("--binary", default=os.path.join(REPO, "target", "release", "galaxy-server"),
                   help="the galaxy-server binary (default target/release/galaxy-server; "
                   "scripts/soak builds it unless this is given)")
    p.add_argument("--clients", type=int, default=4, help="API reader threads (default 4; half "
                   "keep-alive, half a new connection per request)")
    p.add_argument("--submitters", type=int, default=2, help="job submitter threads (default 2)")
    p.add_argument("--gap", default="10,30", help="seconds between chaos events, MIN,MAX "
                   "(default 10,30)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock)")
    p.add_argument("--report-dir", default=None,
                   help="where the report and logs go (default target/soak/<date>)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = p.parse_args()
    a.gap = tuple(float(x) for x in a.gap.split(","))
    a.binary = os.path.abspath(a.binary)
    if a.seed is None:
        a.seed = int(time.time()) % 100000
    if a.report_dir is None:
        a.report_dir = os.path.join(REPO, "target", "soak", time.strftime("%Y%m%d-%H%M%S"))
    if not os.path.exists(a.binary):
        sys.exit(f"soak: {a.binary} not found (cargo build --release)")

    soak = Soak(a)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    # SIGINT too: a shell without job control starts background commands with SIGINT ignored.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    code = 2
    try:
        soak.setup()
        threads = [threading.Thread(target=soak.submitter, args=(i,), daemon=True)
                   for i in range(a.submitters)]
        threads += [threading.Thread(target=soak.reader, args=(i,), daemon=True)
                    for i in range(a.clients)]
        chaos = threading.Thread(target=soak.chaos, daemon=True)
        for t in threads:
            t.start()
        chaos.start()
        soak.t_start = time.monotonic()
        end = soak.t_start + a.minutes * 60
        log(f"chaos for {a.minutes:g} min (seed {a.seed}); report in {a.report_dir}")
        last = 0
        while time.monotonic() < end:
            time.sleep(1)
            if time.monotonic() - last >= 30:
                last = time.monotonic()
                log(f"{len(soak.accepted)} jobs accepted, "
                    f"{sum(soak.stats.counts.values())} requests, events {dict(soak.events)}")
        log("stopping the chaos and the load")
        soak.stop.set()
        chaos.join(timeout=300)
        for t in threads:
            t.join(timeout=60)
        # The last outage may have left the database down; the run ends with everything up.
        try:
            soak.pg.psql("SELECT 1", db="postgres")
        except RuntimeError:
            soak.pg.start()
        settled, floor = soak.settle()
        text, detail, result, failed = soak.report(settled, floor)
        os.makedirs(a.report_dir, exist_ok=True)
        with open(os.path.join(a.report_dir, "report.md"), "w") as f:
            f.write(text + "\n\n" + "\n".join(detail) + "\n")
        with open(os.path.join(a.report_dir, "report.json"), "w") as f:
            json.dump(result, f, indent=1, default=str)
        print(text)
        if detail:
            print()
            print("\n".join(detail))
        print(f"\nreport and logs: {a.report_dir}")
        code = 1 if failed else 0
    except Setup as e:
        log(f"setup failed: {e}")
        code = 2
    except KeyboardInterrupt as e:
        log(f"interrupted ({e or 'Ctrl-C'}); cleaning up")
        code = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            soak.cleanup(a.report_dir)
        except Exception as e:  # noqa: BLE001
            log(f"cleanup: {e!r}")
    sys.exit(code)


if __name__ == "__main__":
    main()
