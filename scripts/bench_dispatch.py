#!/usr/bin/env python3
"""Dispatch benchmark of split mode (BENCHMARKS.md, "Dispatch (split mode)").

Run through `bash scripts/bench_dispatch [--quick]`: it builds the release binaries, installs
the peers (graphile-worker with npm, pgqueuer in a venv) and then runs this driver. Standard
library only. Every figure uses the real release binary on a fresh PostgreSQL database per
run and the benchmark-only no-op runner (`load: galaxy_server.bench:NoopRunner`: a claimed job
goes queued -> running -> ok through the real fenced transitions; nothing is executed), so
what is measured is the dispatch path: wake-up, claim, state transitions.

  throughput  N jobs inserted with one INSERT ... generate_series while K `--mode handler`
              processes are up and idle, the job table analyzed and pg_notify sent in the same
              transaction; jobs/s = N / (commit -> the last job's `ok` row in
              job_state_history), per method and K in 1, 2, 4 (--no-analyze: no ANALYZE).
              mem-self / db-self only exist inside one all-in-one process: measured through
              the API (POST /api/tools, 8 client threads), labelled so.
  pickup      one idle handler; one job inserted at a time, with pg_notify in the same
              transaction or without it (the fallback poll, job_handler_monitor_sleep 1 s);
              latency = the job's `queued` row - job.create_time (clock_timestamp() in UTC).
  backlog     pickup with NOTIFY on an empty table, with a backlog of unclaimed jobs in a tag
              no handler serves, and with a backlog of not-ready jobs (input dataset 'queued')
              in the handler's own tag.
  peers       graphile-worker 0.17.3's own perfTest/run.js (+ latencyTest.js) against the npm
              package, and pgqueuer 1.6.0's own tools/benchmark.py (drain strategy), each on a
              fresh database of the same PostgreSQL server, in the same run.
"""

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (helpers of scripts/bench.py: Api, Proc, free_port, percentile, ...)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN_KEY = "bench-admin-key"
TOOL_ID, TOOL_VERSION = "cat1", "1.0.0"

# The dispatch targets of split mode; printed beside the figures, never asserted.
TARGET_PICKUP_P50_MS = 2.0
TARGET_PICKUP_P99_MS = 15.0
TARGET_BACKLOG_RATIO = 2.0
GRAPHILE_REFERENCE = "19k jobs/s batched on this machine earlier"

METHODS = ("db-skip-locked", "db-transaction-isolation", "db-preassign")
# Log lines a handler writes on purpose: not problems.
EXPECTED_LOG = ("no-op runner is configured",)

log = bench.log
BenchError = bench.BenchError


def fmt_rate(x):
    return f"{x:,.0f} jobs/s" if x >= 100 else f"{x:,.1f} jobs/s"


# --------------------------------------------------------------------------------------------
# PostgreSQL


def psql(url, sql, timeout=900):
    r = subprocess.run(
        ["psql", url, "-X", "-q", "-At", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True, text=True, timeout=timeout,
    )
    if r.returncode != 0:
        raise BenchError(f"psql: {sql[:160]}: {r.stderr.strip()}")
    return r.stdout.strip()


class Session:
    """One long-lived psql process: polling and single-job inserts without spawning psql
    (and a new backend) every few milliseconds on a 2-CPU machine."""

    MARK = "__bench_dispatch_end__"

    def __init__(self, url):
        self.p = subprocess.Popen(
            ["psql", url, "-X", "-q", "-At", "-F", "|", "-v", "ON_ERROR_STOP=0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        )

    def query(self, sql):
        self.p.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo " + self.MARK + "\n")
        self.p.stdin.flush()
        out = []
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise BenchError(f"psql session ended while running: {sql[:160]}")
            line = line.rstrip("\n")
            if line == self.MARK:
                break
            out.append(line)
        errors = [x for x in out if x.startswith(("ERROR:", "FATAL:", "psql:"))]
        if errors:
            raise BenchError(f"psql: {sql[:160]}: {' '.join(errors)}")
        return out

    def value(self, sql):
        rows = [x for x in self.query(sql) if x != ""]
        return rows[-1] if rows else None

    def close(self):
        try:
            self.p.stdin.close()
            self.p.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.p.kill()


def insert_jobs_sql(history, n, tag="'_default_'", handler="NULL", inputs_ready=True):
    """INSERT … SELECT of n `new` jobs: unclaimed in `tag`, or pre-assigned (`handler` an SQL
    expression over g, the generate_series counter; handler_tag is then NULL). `inputs_ready`
    False for jobs whose inputs are not ok, as the server records a job created on them."""
    return (
        "INSERT INTO job (history_id, tool_id, tool_version, state, handler, handler_tag, claim_token, params, "
        "destination_id, create_time, update_time, inputs_ready) "
        f"SELECT {history}, '{TOOL_ID}', '{TOOL_VERSION}', 'new', {handler}, {tag if handler == 'NULL' else 'NULL'}, "
        "0, '{}', 'noop', clock_timestamp() AT TIME ZONE 'utc', clock_timestamp() AT TIME ZONE 'utc', "
        f"{'TRUE' if inputs_ready else 'FALSE'} "
        f"FROM generate_series(0, {n - 1}) AS g"
    )


# --------------------------------------------------------------------------------------------
# A galaxy-server deployment on a fresh database


class Cluster:
    def __init__(self, run, label, method, monitor_sleep=1.0, max_grab=100, workers=64):
        self.run = run
        self.label = label
        self.dir = tempfile.mkdtemp(prefix="galaxy-dispatch-")
        self.db = f"gs_dispatch_{os.getpid()}_{run.next_db()}"
        self.admin = f"{run.args.postgres}/postgres"
        psql(self.admin, f'DROP DATABASE IF EXISTS "{self.db}"')
        psql(self.admin, f'CREATE DATABASE "{self.db}"')
        self.url = f"{run.args.postgres}/{self.db}"
        self.port = bench.free_port()
        self.procs = {}
        self.session = None
        with open(os.path.join(self.dir, "job_conf.yml"), "w") as f:
            f.write(
                f"runners:\n  noop:\n    load: galaxy_server.bench:NoopRunner\n    workers: {workers}\n"
                "execution:\n  default: noop\n  environments:\n    noop: {runner: noop}\n"
                f"handling:\n  assign: [{method}]\n  max_grab: {max_grab}\n"
            )
        self.config = os.path.join(self.dir, "galaxy.yml")
        with open(self.config, "w") as f:
            f.write(
                "gravity:\n"
                f"  state_dir: {self.dir}/gravity\n"
                f"  gunicorn: {{bind: '127.0.0.1:{self.port}', workers: 2}}\n"
                "galaxy:\n"
                # No TLS on the loopback connection, as the peers' drivers (node-postgres)
                # connect; libpq would otherwise negotiate it (sslmode=prefer).
                f"  database_connection: '{self.url}?sslmode=disable'\n"
                f"  tool_config_file: '{REPO}/config/tool_conf.xml'\n"
                f"  job_config_file: '{self.dir}/job_conf.yml'\n"
                f"  file_path: '{self.dir}/objects'\n"
                f"  job_working_directory: '{self.dir}/jobs'\n"
                "  id_secret: bench-id-secret-0123456789\n"
                f"  bootstrap_admin_api_key: {ADMIN_KEY}\n"
                f"  job_handler_monitor_sleep: {monitor_sleep}\n"
                "  heartbeat_interval: 10\n"
            )
        r = subprocess.run([run.binary, "migrate", "-c", self.config], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise BenchError(f"galaxy-server migrate exited {r.returncode}: {(r.stderr or r.stdout).strip()[-400:]}")
        self.history = psql(
            self.url,
            "INSERT INTO history (name, create_time, update_time) "
            "VALUES ('bench-dispatch', now() AT TIME ZONE 'utc', now() AT TIME ZONE 'utc') RETURNING id",
        )
        self.session = Session(self.url)

    def _env(self):
        env = dict(os.environ)
        env["RUST_LOG"] = self.run.args.rust_log
        for k in [k for k in env if k.startswith("GALAXY_CONFIG_")]:
            del env[k]
        return env

    def start_handler(self, name):
        self.procs[name] = bench.Proc(
            [self.run.binary, "-c", self.config, "--mode", "handler", "--server-name", name, "--pool", "job-handlers"],
            self.dir, os.path.join(self.dir, f"{name}.log"), env=self._env(),
        )

    def start_all_in_one(self, name="main"):
        self.procs[name] = bench.Proc(
            [self.run.binary, "-c", self.config, "--mode", "all-in-one", "--server-name", name],
            self.dir, os.path.join(self.dir, f"{name}.log"), env=self._env(),
        )
        return self.procs[name].wait_first_200(self.port)

    def wait_handlers_ready(self, names, timeout=30.0):
        """Every handler has its worker_process row and its LISTEN connection."""
        deadline = time.monotonic() + timeout
        want = len(names)
        while True:
            for name, p in self.procs.items():
                if p.p.poll() is not None:
                    raise BenchError(f"{name} exited with {p.p.returncode} at start:\n{p.log_tail()}")
            live = int(self.session.value("SELECT count(*) FROM worker_process") or 0)
            listening = int(self.session.value(
                f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{self.db}' AND query ILIKE 'LISTEN%'") or 0)
            if live >= want and listening >= want:
                time.sleep(0.2)  # let the first monitor pass (empty) finish
                return
            if time.monotonic() > deadline:
                raise BenchError(f"handlers not ready after {timeout:.0f} s ({live} rows in worker_process, {listening} LISTEN)")
            time.sleep(0.05)

    def states(self):
        rows = self.session.query("SELECT state, count(*) FROM job GROUP BY state ORDER BY state")
        return {r.split("|")[0]: int(r.split("|")[1]) for r in rows if "|" in r}

    def check_history(self, what):
        """Every ok cat1 job: exactly one queued, one running and one ok row (no double dispatch;
        upload1 is finished by the web process itself, with no queued/running rows)."""
        bad = self.session.query(
            "SELECT state, count(*) FROM (SELECT job_id, state, count(*) AS c FROM job_state_history "
            "GROUP BY job_id, state HAVING count(*) > 1) x GROUP BY state"
        )
        bad = [b for b in bad if "|" in b]
        if bad:
            self.run.problem(f"{what}: jobs with a repeated job_state_history state (state|jobs): {', '.join(bad)}")
        missing = self.session.value(
            f"SELECT count(*) FROM job j WHERE j.state = 'ok' AND j.tool_id = '{TOOL_ID}' AND (SELECT count(DISTINCT state) FROM job_state_history h "
            "WHERE h.job_id = j.id AND h.state IN ('queued', 'running', 'ok')) <> 3"
        )
        if missing and int(missing):
            self.run.problem(f"{what}: {missing} ok jobs lack one of their queued/running/ok rows in job_state_history")

    def stop(self):
        for name, p in self.procs.items():
            code, secs = p.stop()
            if code not in (0, -15):
                self.run.problem(f"{self.label}: {name} exited with {code} after SIGTERM ({secs:.1f} s); log {p.log_path}")
        for name, p in self.procs.items():
            self.run.scan_log(f"{self.label}: {name}", p.log_path)
        self.procs = {}

    def close(self):
        try:
            self.stop()
        finally:
            if self.session:
                self.session.close()
            if not self.run.args.keep:
                try:
                    psql(self.admin, f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
                except BenchError as e:
                    log(f"could not drop {self.db}: {e}")
                shutil.rmtree(self.dir, ignore_errors=True)
            else:
                log(f"kept {self.dir} and database {self.db}")


# --------------------------------------------------------------------------------------------
# The measurements


class Run:
    def __init__(self, args):
        self.args = args
        target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
        if not os.path.isabs(target):
            target = os.path.join(REPO, target)
        self.binary = os.path.join(target, "release", "galaxy-server")
        if not os.access(self.binary, os.X_OK):
            raise SystemExit(f"bench_dispatch: {self.binary} is missing; run `cargo build --release --bins`")
        self.rows = []
        self.problems = []
        self.results = {}
        self._db = 0

    def next_db(self):
        self._db += 1
        return self._db

    def problem(self, msg):
        log("PROBLEM: " + msg.splitlines()[0])
        self.problems.append(msg)

    def row(self, measurement, ours, reference):
        self.rows.append((measurement, ours, reference))

    def scan_log(self, who, path):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            return
        bad = [x for x in lines if re.search(r"\b(ERROR|WARN|WARNING)\b|panicked", x) and not any(e in x for e in EXPECTED_LOG)]
        if bad:
            self.problem(f"{who}: {len(bad)} warning/error line(s) in its log, e.g.: " + " | ".join(b.strip()[:300] for b in bad[:3]))

    def section(self, name, fn, *a):
        log(f"--- {name}")
        try:
            fn(*a)
        except BenchError as e:
            self.problem(f"{name}: {e}")
            self.row(name, "FAILED", str(e).splitlines()[0][:200])
        except Exception as e:  # keep going with the other measurements
            self.problem(f"{name}: {type(e).__name__}: {e}")
            self.row(name, "FAILED", f"{type(e).__name__}: {e}"[:200])

    # -- 1. throughput of the handler processes ----------------------------------------------

    def wait_all_ok(self, c, n, what, t_start):
        a = self.args
        last, last_change = None, time.monotonic()
        while True:
            row = c.session.value("SELECT count(*) FILTER (WHERE state = 'ok') || '|' || count(*) FILTER (WHERE state <> 'new') FROM job")
            ok = int(row.split("|")[0])
            if ok >= n:
                return
            now = time.monotonic()
            if row != last:  # progress: more jobs ok, or more jobs out of `new`
                last, last_change = row, now
            if now - last_change > a.stall_timeout or now - t_start > a.job_timeout:
                raise BenchError(
                    f"{what}: {ok} of {n} jobs ok after {now - t_start:.0f} s, states {c.states()} "
                    f"({'no progress for ' + str(a.stall_timeout) + ' s' if now - last_change > a.stall_timeout else 'timeout'})"
                )
            # The end is read from job_state_history, not from this poll: polling seldom only
            # keeps its full count of the job table from taking CPU from what is measured.
            time.sleep(0.5)

    def throughput(self, method, k):
        a = self.args
        n = a.jobs
        what = f"dispatch {method}, {k} handler process(es)"
        c = Cluster(self, what, method, max_grab=a.max_grab, monitor_sleep=a.monitor_sleep)
        try:
            names = [f"h{i}" for i in range(k)]
            for name in names:
                c.start_handler(name)
            c.wait_handlers_ready(names)
            if method == "db-preassign":
                arr = "ARRAY[" + ",".join(f"'{x}'" for x in names) + "]"
                ins = insert_jobs_sql(c.history, n, handler=f"({arr})[g % {k} + 1]")
                notify = "; ".join(f"SELECT pg_notify('galaxy_job_new', '{x}')" for x in names)
            else:
                ins = insert_jobs_sql(c.history, n)
                notify = "SELECT pg_notify('galaxy_job_new', '_default_')"
            # One transaction: the insert, ANALYZE of the job table (it counts the transaction's
            # own new rows; as autovacuum does after a bulk insert on a live server), the NOTIFY;
            # t0 = clock_timestamp() right before COMMIT, so neither the insert's duration nor a
            # fallback poll during it is counted. --no-analyze: no ANALYZE, so PostgreSQL plans
            # the claim on a table it has no statistics for.
            t_wall = time.monotonic()
            analyze = "ANALYZE job; " if a.analyze else ""
            out = c.session.query(
                f"BEGIN; {ins}; {analyze}{notify}; SELECT 't0=' || extract(epoch FROM clock_timestamp()); COMMIT"
            )
            t0 = float(next(x for x in out if x.startswith("t0="))[3:])
            self.wait_all_ok(c, n, what, t_wall)
            t_seen = time.monotonic()
            t_end = float(c.session.value("SELECT extract(epoch FROM max(create_time)) FROM job_state_history WHERE state = 'ok'"))
            t_first = float(c.session.value("SELECT extract(epoch FROM min(create_time)) FROM job_state_history WHERE state = 'queued'"))
            secs = t_end - t0
            rate = n / secs
            split = c.session.query("SELECT handler, count(*) FROM job GROUP BY handler ORDER BY handler")
            split = " / ".join(r.split("|")[1] for r in split if "|" in r)
            states = c.states()
            if states.get("ok", 0) != n or len(states) != 1:
                self.problem(f"{what}: job states at the end {states}, expected {{'ok': {n}}}")
            c.check_history(what)
            c.stop()
            self.results.setdefault("throughput", {})[f"{method}/{k}"] = {
                "jobs": n, "seconds": secs, "jobs_per_s": rate, "first_claim_after_s": t_first - t0,
                "seen_by_poll_s": t_seen - t_wall, "per_handler": split,
            }
            log(f"{what}: {rate:,.0f} jobs/s ({secs:.2f} s; first claim {1000 * (t_first - t0):.0f} ms after the commit; split {split})")
            return rate, secs, split
        finally:
            c.close()

    def throughput_method(self, method):
        a = self.args
        cells, details = [], []
        for k in a.handlers:
            try:
                rate, secs, split = self.throughput(method, k)
                cells.append(f"{k}: **{fmt_rate(rate)}**")
                first = self.results["throughput"][f"{method}/{k}"]["first_claim_after_s"]
                details.append(f"{k}: {secs:.1f} s, first 'queued' row {1000 * first:,.0f} ms after the commit, jobs per handler {split}")
            except BenchError as e:
                self.problem(f"dispatch {method}, {k} handler(s): {e}")
                cells.append(f"{k}: FAILED ({str(e).splitlines()[0][:120]})")
        self.row(
            f"dispatch {method}: {a.jobs:,} jobs inserted unclaimed{' (pre-assigned round-robin)' if method == 'db-preassign' else ''}, "
            f"{'ANALYZE and NOTIFY in the same transaction' if a.analyze else 'NOTIFY at commit, no ANALYZE'}; 1 / 2 / 4 `--mode handler` processes",
            "; ".join(cells),
            self.graphile_target() + "; " + "; ".join(details),
        )

    def graphile_target(self):
        g = self.results.get("graphile_batched")
        if g:
            return f"target ≥ graphile-worker in this run ({fmt_rate(g)})"
        return f"target ≥ graphile-worker ({GRAPHILE_REFERENCE}; not measured in this run)"

    # -- 1b. mem-self / db-self: one all-in-one process, through the API ----------------------

    def api_throughput(self, method):
        a = self.args
        n = a.api_jobs
        what = f"{method} (all-in-one, through the API)"
        c = Cluster(self, what, method, max_grab=a.max_grab)
        try:
            c.start_all_in_one()
            api = bench.Api(c.port)
            h = api.ok("POST", "/api/histories", {"name": "bench-dispatch"}, what="create history")["id"]
            up = api.ok("POST", "/api/tools", {
                "tool_id": "upload1", "history_id": h,
                "inputs": {"files_0|url_paste": "a\n", "files_0|type": "upload_dataset", "file_type": "txt"},
            }, what="upload1 (paste)")
            d = up["outputs"][0]["id"]
            deadline = time.monotonic() + 30
            while api.ok("GET", f"/api/datasets/{d}", what="show dataset").get("state") != "ok":
                if time.monotonic() > deadline:
                    raise BenchError("the pasted dataset is not ok after 30 s")
                time.sleep(0.01)
            api.close()
            before = int(c.session.value("SELECT count(*) FROM job WHERE state = 'ok'"))
            body = {"tool_id": TOOL_ID, "history_id": h, "inputs": {"input1": {"src": "hda", "id": d}}}
            lock = threading.Lock()
            todo = iter(range(n))
            errors, accepted = [], []

            def worker():
                cl = bench.Api(c.port)
                try:
                    while True:
                        with lock:
                            i = next(todo, None)
                        if i is None:
                            return
                        try:
                            st, payload = cl.request("POST", "/api/tools", body)
                        except OSError as e:
                            st, payload = None, str(e)
                        with lock:
                            (accepted if st == 200 else errors).append((st, str(payload)[:200]))
                finally:
                    cl.close()

            threads = [threading.Thread(target=worker, daemon=True) for _ in range(a.client_threads)]
            t0 = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            t_sub = time.monotonic()
            if errors:
                self.problem(f"{what}: {len(errors)} of {n} submissions failed, first: HTTP {errors[0][0]} {errors[0][1]}")
            self.wait_all_ok(c, before + len(accepted), what, t0)
            t_done = time.monotonic()
            rate = len(accepted) / (t_done - t0)
            states = c.states()
            if states.get("ok", 0) != before + len(accepted) or len(states) != 1:
                self.problem(f"{what}: job states at the end {states}")
            c.check_history(what)
            self.results[f"api_{method}"] = {"jobs": len(accepted), "seconds": t_done - t0, "jobs_per_s": rate,
                                              "submit_req_per_s": len(accepted) / (t_sub - t0)}
            log(f"{what}: {rate:,.0f} jobs/s")
            self.row(
                f"{method}, one `--mode all-in-one` process, **through the API**: {n:,} `POST /api/tools` ({TOOL_ID}) "
                f"from {a.client_threads} client threads, first request → all ok",
                f"**{fmt_rate(rate)}** ({t_done - t0:.1f} s)",
                f"includes HTTP and job creation, not comparable to the rows above; the submissions alone "
                f"{len(accepted) / (t_sub - t0):,.0f} req/s",
            )
        finally:
            c.close()

    # -- 2./3. pickup latency ------------------------------------------------------------------

    def pickup(self, notify, backlog=0, kind=None):
        """-> ({'queued': ms, 'running': ms} per job, seconds spent inserting the backlog).

        Both rows are stamped by the handler: `queued` when its claim starts (before the claim
        statement runs), `running` once the claim has committed and the runner takes the job,
        so create → running includes the claim statement itself."""
        a = self.args
        what = f"pickup ({'NOTIFY' if notify else 'polling only'}" + (f", backlog {backlog:,} {kind}" if backlog else "") + ")"
        c = Cluster(self, what, "db-skip-locked", monitor_sleep=a.monitor_sleep, max_grab=a.max_grab)
        try:
            fill = 0.0
            if backlog:
                t = time.monotonic()
                if kind == "other-tag":
                    psql(c.url, insert_jobs_sql(c.history, backlog, tag="'backlog'"))
                else:
                    psql(c.url, (
                        "WITH d AS (INSERT INTO dataset (history_id, hid, name, state, extension, file_size, deleted, create_time, update_time) "
                        f"SELECT {c.history}, g, 'pending input', 'queued', 'txt', 0, false, now() AT TIME ZONE 'utc', now() AT TIME ZONE 'utc' "
                        f"FROM generate_series(1, {backlog}) AS g RETURNING id), "
                        f"j AS ({insert_jobs_sql(c.history, backlog, inputs_ready=False)} RETURNING id) "
                        "INSERT INTO job_to_input_dataset (job_id, dataset_id, name) "
                        "SELECT jj.id, dd.id, 'input1' FROM (SELECT id, row_number() OVER (ORDER BY id) AS r FROM j) jj "
                        "JOIN (SELECT id, row_number() OVER (ORDER BY id) AS r FROM d) dd USING (r)"
                    ))
                psql(c.url, "VACUUM ANALYZE")
                fill = time.monotonic() - t
                log(f"backlog of {backlog:,} ({kind}) inserted in {fill:.1f} s")
            c.start_handler("h0")
            c.wait_handlers_ready(["h0"])
            time.sleep(0.5)
            lat = {"queued": [], "running": []}
            t_begin = time.monotonic()
            for i in range(a.samples):
                if time.monotonic() - t_begin > a.pickup_budget:
                    self.problem(f"{what}: stopped after {i} of {a.samples} samples (time budget {a.pickup_budget:.0f} s)")
                    break
                if not notify:
                    time.sleep(random.uniform(0, a.monitor_sleep))  # a random phase against the poll
                else:
                    time.sleep(random.uniform(0, 0.01))
                sql = insert_jobs_sql(c.history, 1) + " RETURNING id"
                if notify:
                    out = c.session.query(f"BEGIN; {sql}; SELECT pg_notify('galaxy_job_new', '_default_'); COMMIT")
                else:
                    out = c.session.query(sql)
                jid = int(next(x for x in out if x.strip().isdigit()))
                deadline = time.monotonic() + 60
                time.sleep(0.02 if notify else 0.05)
                while True:
                    st = c.session.value(f"SELECT state FROM job WHERE id = {jid}")
                    if st == "ok":
                        break
                    if st not in ("new", "queued", "running"):
                        raise BenchError(f"job {jid} went to state {st}")
                    if time.monotonic() > deadline:
                        raise BenchError(f"job {jid} still {st} 60 s after its insert")
                    time.sleep(0.003 if notify else 0.02)
                for state in ("queued", "running"):
                    ms = c.session.value(
                        "SELECT extract(epoch FROM h.create_time - j.create_time) * 1000 FROM job j JOIN job_state_history h "
                        f"ON h.job_id = j.id AND h.state = '{state}' WHERE j.id = {jid} ORDER BY h.id LIMIT 1"
                    )
                    if ms is None:
                        raise BenchError(f"job {jid} is ok but has no '{state}' row in job_state_history")
                    lat[state].append(float(ms))
            for state, xs in lat.items():
                neg = [x for x in xs if x < 0]
                if neg:
                    self.problem(f"{what}: {len(neg)} jobs '{state}' before their create_time (min {min(neg):.2f} ms)")
            c.check_history(what)
            if backlog:
                left = c.states()
                if left.get("new", 0) != backlog:
                    self.problem(f"{what}: the backlog was touched: job states at the end {left}")
            return lat, fill
        finally:
            c.close()

    def pickup_rows(self):
        a = self.args
        ms = a.monitor_sleep
        res = {}
        for label, notify in (("NOTIFY in the inserting transaction", True),
                              (f"polling only (no NOTIFY; job_handler_monitor_sleep {ms:g} s, insert at a random phase)", False)):
            name = f"pickup latency, {label}"
            try:
                both, _ = self.pickup(notify)
                lat, q = both["running"], both["queued"]
                p50, p99 = bench.percentile(lat, 50), bench.percentile(lat, 99)
                q50, q99 = bench.percentile(q, 50), bench.percentile(q, 99)
                res[notify] = (p50, p99)
                self.results[f"pickup_{'notify' if notify else 'poll'}"] = {
                    "n": len(lat), "p50_ms": p50, "p99_ms": p99, "max_ms": max(lat), "mean_ms": statistics.mean(lat),
                    "to_claim_start_p50_ms": q50, "to_claim_start_p99_ms": q99}
                self.row(
                    f"{name}: 1 idle handler, {len(lat)} jobs one at a time; job.create_time → its 'running' row "
                    "(claim committed, job handed to the runner)",
                    f"p50 **{bench.fmt_ms(p50)}**, p99 **{bench.fmt_ms(p99)}** (mean {bench.fmt_ms(statistics.mean(lat))}, "
                    f"max {bench.fmt_ms(max(lat))})",
                    (f"target p50 ≤ {TARGET_PICKUP_P50_MS:g} ms, p99 ≤ {TARGET_PICKUP_P99_MS:g} ms; " if notify
                     else f"Galaxy's only mechanism (1 s poll); expected ≈ {ms * 500:.0f} ms mean; ")
                    + f"to the start of the claim ('queued' row): p50 {bench.fmt_ms(q50)}, p99 {bench.fmt_ms(q99)}",
                )
            except BenchError as e:
                self.problem(f"{name}: {e}")
                self.row(name, "FAILED", str(e).splitlines()[0][:200])
        return res

    def backlog_rows(self):
        a = self.args
        n = a.backlog
        try:
            both, _ = self.pickup(True)
            empty, empty_q = both["running"], both["queued"]
        except BenchError as e:
            self.problem(f"claim latency, empty table: {e}")
            self.row("claim latency with NOTIFY, empty table", "FAILED", str(e)[:200])
            return
        e50, e99 = bench.percentile(empty, 50), bench.percentile(empty, 99)
        self.results["backlog_empty"] = {"n": len(empty), "p50_ms": e50, "p99_ms": e99}
        self.row(
            f"claim latency with NOTIFY, (a) empty table ({len(empty)} jobs one at a time; job.create_time → 'running' row)",
            f"p50 **{bench.fmt_ms(e50)}**, p99 **{bench.fmt_ms(e99)}**",
            f"the reference for the two rows below; to the claim's start p50 {bench.fmt_ms(bench.percentile(empty_q, 50))}",
        )
        for kind, text in (
            ("other-tag", f"(b) + {n:,} unclaimed jobs in tag `backlog`, which no handler serves"),
            ("not-ready", f"(c) + {n:,} jobs in `_default_` not ready (each with its own input dataset in state 'queued')"),
        ):
            try:
                both, fill = self.pickup(True, n, kind)
                lat, q = both["running"], both["queued"]
                p50, p99 = bench.percentile(lat, 50), bench.percentile(lat, 99)
                self.results[f"backlog_{kind}"] = {"n": len(lat), "p50_ms": p50, "p99_ms": p99, "fill_s": fill}
                self.row(
                    f"claim latency with NOTIFY, {text} ({len(lat)} jobs)",
                    f"p50 **{bench.fmt_ms(p50)}** (**{p50 / e50:.1f}×** (a)), p99 **{bench.fmt_ms(p99)}** ({p99 / e99:.1f}× (a))",
                    f"target ≤ {TARGET_BACKLOG_RATIO:g}× (a); to the claim's start p50 {bench.fmt_ms(bench.percentile(q, 50))}; "
                    f"backlog inserted by one generate_series INSERT in {fill:.0f} s, then VACUUM ANALYZE",
                )
            except BenchError as e:
                self.problem(f"claim latency, backlog {kind}: {e}")
                self.row(f"claim latency with NOTIFY, {text}", "FAILED", str(e).splitlines()[0][:200])

    # -- 4. peers --------------------------------------------------------------------------------

    def peer_db(self, tag):
        name = f"gs_dispatch_{os.getpid()}_{tag}"
        admin = f"{self.args.postgres}/postgres"
        psql(admin, f'DROP DATABASE IF EXISTS "{name}"')
        psql(admin, f'CREATE DATABASE "{name}"')
        return name

    def drop_db(self, name):
        if not self.args.keep:
            try:
                psql(f"{self.args.postgres}/postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except BenchError as e:
                log(f"could not drop {name}: {e}")

    def graphile(self):
        a = self.args
        node_dir = os.path.join(a.peers_dir, "node")
        pkg = os.path.join(node_dir, "node_modules", "graphile-worker")
        why = self.peer_missing("graphile-worker")
        if why is None and not os.path.isdir(pkg):
            why = f"graphile-worker is not installed in {node_dir} (npm failed?)"
        if why:
            self.row("peer: graphile-worker 0.17.3", "not run", why)
            return
        version = json.load(open(os.path.join(pkg, "package.json")))["version"]
        if os.path.exists(os.path.join(pkg, "perfTest", "run.js")):
            self.graphile_perftest(pkg, version)
        else:
            self.graphile_driver(node_dir, version)

    def graphile_perftest(self, pkg, version):
        """graphile-worker's own perfTest/run.js (from its repository at the release tag, beside
        the npm package's dist/): startup of `cli --once` on an empty queue; N jobs added with
        add_jobs; 4 `cli --once` processes in parallel (graphile.config.js: 24 concurrent jobs,
        localQueue 500, completeJobBatchDelay 0); jobs/s = N / (drain - startup); then its
        latencyTest.js (1000 jobs one at a time, add_job -> task start)."""
        a = self.args
        db = self.peer_db("graphile")
        try:
            env = dict(os.environ, TEST_CONNECTION_STRING=f"{a.postgres}/{db}")
            if a.peer_jobs:
                env["PERF_JOB_COUNT"] = str(a.peer_jobs)
            t = time.monotonic()
            r = subprocess.run(["node", "run.js"], cwd=os.path.join(pkg, "perfTest"), capture_output=True, text=True,
                               env=env, timeout=1800)
            secs = time.monotonic() - t
            out = r.stdout + "\n" + r.stderr
            with open(os.path.join(a.peers_dir, "graphile-perftest.log"), "w") as f:
                f.write(out)
            rate = re.search(r"Jobs per second: ([0-9.]+)", out)
            lat = re.search(r"Latencies - min: ([0-9.]+)ms, max: ([0-9.]+)ms, avg: ([0-9.]+)ms", out)
            n = re.search(r"Timing (\d+) job execution", out)
            if r.returncode != 0 or not rate:
                raise BenchError(f"perfTest/run.js exited {r.returncode}: {out.strip()[-400:]}")
            rate, n = float(rate.group(1)), int(n.group(1)) if n else a.peer_jobs
            self.results["graphile_batched"] = rate
            self.results["graphile_perftest"] = {"jobs": n, "jobs_per_s": rate, "version": version, "seconds": secs,
                                                 "latency_ms": dict(zip(("min", "max", "avg"), map(float, lat.groups()))) if lat else None}
            log(f"graphile-worker perfTest: {rate:,.0f} jobs/s" + (f", latency avg {lat.group(3)} ms" if lat else ""))
            self.row(
                f"peer: graphile-worker {version}, its own perfTest/run.js: {n:,} jobs added with add_jobs, then 4 "
                "`graphile-worker --once` processes (24 concurrent jobs each, localQueue 500, completeJobBatchDelay 0)",
                f"**{fmt_rate(rate)}**",
                "perfTest's formula: N / (drain time − startup/shutdown of one `--once` on an empty queue)",
            )
            if lat:
                self.row(
                    f"peer: graphile-worker {version}, its own perfTest/latencyTest.js: 1,000 jobs one at a time, "
                    "add_job → task start (NOTIFY)",
                    f"avg **{float(lat.group(3)):.2f} ms** (min {float(lat.group(1)):.2f}, max {float(lat.group(2)):.2f})",
                    "its own figure; it reports no percentiles",
                )
        except (BenchError, subprocess.SubprocessError, OSError, ValueError) as e:
            self.problem(f"graphile-worker perfTest: {e}")
            self.row("peer: graphile-worker perfTest", "FAILED", str(e).splitlines()[0][:200])
        finally:
            self.drop_db(db)

    def graphile_driver(self, node_dir, version):
        """When perfTest/ could not be fetched: a driver of ours reproducing what it measures."""
        a = self.args
        driver = os.path.join(node_dir, "gw_dispatch_driver.js")
        with open(driver, "w") as f:
            f.write(GRAPHILE_DRIVER)
        n = a.peer_jobs or 200_000
        for batched in (True,):
            db = self.peer_db("graphile")
            url = f"{a.postgres}/{db}"
            mode = "batched" if batched else "unbatched"

            def node(*args, timeout=900):
                r = subprocess.run(["node", driver, *args], cwd=node_dir, capture_output=True, text=True, timeout=timeout)
                if r.returncode != 0:
                    raise BenchError(f"node gw_dispatch_driver.js {' '.join(args[:1])} exited {r.returncode}: {r.stderr.strip()[-400:]}")
                return r

            try:
                node("migrate", url)
                t = time.monotonic()
                node("work", url, mode)  # start + stop of one worker on an empty queue
                startup = time.monotonic() - t
                t = time.monotonic()
                node("add", url, str(n))
                add_s = time.monotonic() - t
                queued = int(psql(url, "SELECT count(*) FROM graphile_worker._private_jobs"))
                if queued != n:
                    raise BenchError(f"{queued} jobs in graphile_worker._private_jobs after adding {n}")
                t = time.monotonic()
                procs = [subprocess.Popen(["node", driver, "work", url, mode], cwd=node_dir, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True) for _ in range(a.graphile_workers)]
                outs = [p.communicate(timeout=900) for p in procs]
                dur = time.monotonic() - t
                for p, (_, err) in zip(procs, outs):
                    if p.returncode != 0:
                        raise BenchError(f"a graphile-worker process exited {p.returncode}: {err.strip()[-300:]}")
                left = int(psql(url, "SELECT count(*) FROM graphile_worker._private_jobs"))
                if left:
                    raise BenchError(f"{left} of {n} graphile-worker jobs left after the run")
                rate = n / max(dur - startup, 1e-3)
                self.results[f"graphile_{mode}"] = rate
                self.results[f"graphile_{mode}_detail"] = {"jobs": n, "drain_s": dur, "startup_s": startup, "add_s": add_s,
                                                           "raw_jobs_per_s": n / dur, "version": version}
                log(f"graphile-worker {mode}: {rate:,.0f} jobs/s ({dur:.2f} s, startup {startup:.2f} s)")
                conf = ("localQueue 500, completeJobBatchDelay 0 (perfTest's preset)" if batched
                        else "library defaults: no local queue, no batching")
                self.row(
                    f"peer: graphile-worker {version}, {mode} — {n:,} jobs added with addJobs, then "
                    f"{a.graphile_workers} worker processes `runOnce` (concurrency 24; {conf}), no-op task",
                    f"**{fmt_rate(rate)}**",
                    f"perfTest's formula: N / (drain − one empty runOnce = {startup:.2f} s); without the subtraction "
                    f"{fmt_rate(n / dur)}; a driver of ours reproducing perfTest (its folder could not be fetched)",
                )
            except (BenchError, subprocess.SubprocessError, OSError, ValueError) as e:
                self.problem(f"graphile-worker {mode}: {e}")
                self.row(f"peer: graphile-worker {mode}", "FAILED", str(e).splitlines()[0][:200])
            finally:
                self.drop_db(db)

    def pgqueuer(self):
        a = self.args
        py = os.path.join(a.peers_dir, "venv", "bin", "python")
        script = os.path.join(a.peers_dir, "pgqueuer", "tools", "benchmark.py")
        why = self.peer_missing("pgqueuer")
        if why is None and not os.access(py, os.X_OK):
            why = f"no venv at {os.path.dirname(os.path.dirname(py))} (pip failed?)"
        if why is None and not os.path.exists(script):
            why = f"{script} missing (the sdist's tools/benchmark.py could not be fetched)"
        if why:
            self.row("pgqueuer 1.6", "not run", why)
            return
        db = self.peer_db("pgqueuer")
        try:
            m = re.match(r"postgres(?:ql)?://(?:([^@/:]+)@)?([^/:]+)(?::(\d+))?", a.postgres)
            env = dict(os.environ, PGUSER=(m.group(1) or "postgres"), PGHOST=m.group(2), PGPORT=(m.group(3) or "5432"),
                       PGDATABASE=db, PGQUEUER_TABLEFMT="github")
            version = subprocess.run([py, "-c", "import importlib.metadata as m; print(m.version('pgqueuer'))"],
                                     capture_output=True, text=True, env=env).stdout.strip()
            r = subprocess.run([py, "-m", "pgqueuer", "install"], capture_output=True, text=True, env=env, timeout=120)
            if r.returncode != 0:
                raise BenchError(f"pgqueuer install exited {r.returncode}: {(r.stderr or r.stdout).strip()[-300:]}")
            out_json = os.path.join(tempfile.mkdtemp(prefix="pgq-"), "result.json")
            n = a.peer_jobs or 50_000  # its own default for --strategy drain
            cmd = [py, script, "--strategy", "drain", "--jobs", str(n), "--output-json", out_json]
            r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800,
                               cwd=os.path.dirname(os.path.dirname(script)))
            if r.returncode != 0 or not os.path.exists(out_json):
                raise BenchError(f"tools/benchmark.py exited {r.returncode}: {(r.stderr or r.stdout).strip()[-400:]}")
            res = json.load(open(out_json))
            rate = float(res["rate"])
            self.results["pgqueuer"] = res
            log(f"pgqueuer drain: {rate:,.0f} jobs/s")
            self.row(
                f"peer: pgqueuer {version}, its own `tools/benchmark.py --strategy drain --jobs {n}` (from the sdist): "
                f"{n:,} jobs enqueued, then drained by 5 consumers × batch 10 (its defaults, asyncpg), no-op entrypoint",
                f"**{fmt_rate(rate)}**",
                f"its own figure (jobs / drain time); {res.get('steps')} jobs processed",
            )
        except (BenchError, subprocess.SubprocessError, OSError, ValueError, KeyError) as e:
            self.problem(f"pgqueuer: {e}")
            self.row("peer: pgqueuer", "FAILED", str(e).splitlines()[0][:200])
        finally:
            self.drop_db(db)

    def peer_missing(self, name):
        status = os.path.join(self.args.peers_dir, f"{name}.status")
        if os.path.exists(status):
            text = open(status).read().strip()
            if text and text != "ok":
                return text
        return None

    # -- report ----------------------------------------------------------------------------------

    def targets(self):
        r = self.results
        met = lambda ok: "**met**" if ok else "**missed**"  # noqa: E731
        out = []
        g = r.get("graphile_batched")
        tp = r.get("throughput", {})
        if tp and g:
            best = max(tp.items(), key=lambda kv: kv[1]["jobs_per_s"])
            out.append(f"dispatch ≥ graphile-worker's perfTest in this run ({fmt_rate(g)}): best of ours "
                       f"{fmt_rate(best[1]['jobs_per_s'])} ({best[0].replace('/', ', ')} handler(s)), "
                       f"{best[1]['jobs_per_s'] / g:.2f}× — {met(best[1]['jobs_per_s'] >= g)}")
        else:
            out.append("dispatch ≥ graphile-worker: not measured in this run (a side is missing)")
        p = r.get("pickup_notify")
        if p:
            out.append(f"pickup with NOTIFY p50 ≤ {TARGET_PICKUP_P50_MS:g} ms: {bench.fmt_ms(p['p50_ms'])} — "
                       f"{met(p['p50_ms'] <= TARGET_PICKUP_P50_MS)}; p99 ≤ {TARGET_PICKUP_P99_MS:g} ms: "
                       f"{bench.fmt_ms(p['p99_ms'])} — {met(p['p99_ms'] <= TARGET_PICKUP_P99_MS)}")
        e = r.get("backlog_empty")
        for kind, text in (("other-tag", "unclaimed in another tag"), ("not-ready", "not ready, in the handler's tag")):
            b = r.get(f"backlog_{kind}")
            if e and b:
                ratio = b["p50_ms"] / e["p50_ms"]
                out.append(f"claim latency with a backlog of {self.args.backlog:,} ({text}) ≤ {TARGET_BACKLOG_RATIO:g}× the "
                           f"empty table: p50 {bench.fmt_ms(b['p50_ms'])} vs {bench.fmt_ms(e['p50_ms'])}, {ratio:.1f}× — "
                           f"{met(ratio <= TARGET_BACKLOG_RATIO)}")
        return out

    def report(self, machine, cmd):
        a = self.args
        lines = [
            f"Command: `{cmd}`",
            "",
            f"Machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['mem_mib']} MiB RAM, Linux {machine['kernel']}; "
            f"{machine['date']}; galaxy-server {machine['git']}; {machine['rustc']}; {machine.get('postgres', '')}; "
            f"node {machine.get('node', '?')}; load average at start {machine['loadavg_at_start']}. "
            "PostgreSQL, the handlers, the peers and the driver share the same CPUs.",
            "",
            "| measurement | galaxy-server | peers / target / notes |",
            "|---|---|---|",
        ]
        for m, o, r in self.rows:
            lines.append(f"| {m} | {o} | {r} |".replace("\n", " "))
        lines += ["", "Targets of the issue (split mode):", ""]
        lines += [f"- {t}" for t in self.targets()]
        if self.problems:
            lines += ["", "Problems seen:"]
            lines += ["- " + p.replace("\n", "\n  ") for p in self.problems]
        return "\n".join(lines)


# A driver of our own for graphile-worker's public API, reproducing what its perfTest measures
# (perfTest/ is in graphile-worker's repository, not in the npm package).
GRAPHILE_DRIVER = r"""'use strict';
// node gw_dispatch_driver.js migrate URL | add URL N | work URL batched|unbatched
const gw = require('graphile-worker');
const [cmd, url, arg] = process.argv.slice(2);
const logger = new gw.Logger(() => (level, message) => { if (level === 'error') console.error(message); });
async function main() {
  if (cmd === 'migrate') {
    await gw.runMigrations({ connectionString: url, logger });
  } else if (cmd === 'add') {
    const n = parseInt(arg, 10);
    const utils = await gw.makeWorkerUtils({ connectionString: url, logger });
    try {
      for (let done = 0; done < n; ) {
        const k = Math.min(10000, n - done);
        const specs = [];
        for (let i = 0; i < k; i++) specs.push({ identifier: 'noop', payload: { i: done + i } });
        await utils.addJobs(specs);
        done += k;
      }
    } finally {
      await utils.release();
    }
  } else if (cmd === 'work') {
    const worker = arg === 'batched'
      ? { localQueue: { size: 500, refetchDelay: { durationMs: 10 } }, completeJobBatchDelay: 0, failJobBatchDelay: 0 }
      : {};
    await gw.runOnce({
      connectionString: url, concurrency: 24, maxPoolSize: 25, logger, noHandleSignals: true,
      taskList: { noop: async () => {} }, preset: { worker },
    });
  } else {
    throw new Error('unknown command ' + cmd);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
"""


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small numbers: a smoke check")
    p.add_argument("--sections", default="throughput,api,pickup,backlog,peers",
                   help="comma list of throughput,api,pickup,backlog,peers (all)")
    p.add_argument("--postgres", default=os.environ.get("GALAXY_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"))
    p.add_argument("--jobs", type=int, default=None, help="backlog per throughput run (20000; quick 2000)")
    p.add_argument("--handlers", default="1,2,4", help="handler processes per throughput run (1,2,4)")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--max-grab", type=int, default=100, help="handling.max_grab (100)")
    p.add_argument("--no-analyze", dest="analyze", action="store_false",
                   help="throughput runs: no ANALYZE of the job table in the inserting transaction")
    p.add_argument("--api-jobs", type=int, default=None, help="jobs through the API for mem-self/db-self (2000; quick 300)")
    p.add_argument("--client-threads", type=int, default=8)
    p.add_argument("--samples", type=int, default=None, help="pickup samples (200; quick 30)")
    p.add_argument("--monitor-sleep", type=float, default=1.0, help="job_handler_monitor_sleep of the pickup runs (1.0)")
    p.add_argument("--pickup-budget", type=float, default=240.0, help="most seconds per pickup series (240)")
    p.add_argument("--backlog", type=int, default=None, help="backlog for the claim-latency rows (1000000; quick 100000)")
    p.add_argument("--peer-jobs", type=int, default=None,
                   help="jobs per peer run (quick 10000; else each tool's own default: perfTest 200000, pgqueuer drain 50000)")
    p.add_argument("--graphile-workers", type=int, default=4, help="graphile-worker processes (4, as perfTest)")
    p.add_argument("--peers-dir", default=None,
                   help="where scripts/bench_dispatch installed the peers (env BENCH_DISPATCH_PEERS; "
                        "default $CARGO_TARGET_DIR/bench-dispatch-peers)")
    p.add_argument("--job-timeout", type=float, default=900.0)
    p.add_argument("--stall-timeout", type=float, default=120.0, help="give up when no job changes state for this long (120)")
    p.add_argument("--rust-log", default="warn", help="RUST_LOG of the servers (warn)")
    p.add_argument("--keep", action="store_true", help="keep temporary directories and databases")
    p.add_argument("--markdown", default=None)
    p.add_argument("--json", default=None)
    a = p.parse_args()
    a.jobs = a.jobs or (2000 if a.quick else 20000)
    a.api_jobs = a.api_jobs or (300 if a.quick else 2000)
    a.samples = a.samples or (30 if a.quick else 200)
    a.backlog = a.backlog or (100_000 if a.quick else 1_000_000)
    a.peer_jobs = a.peer_jobs or (10_000 if a.quick else None)
    a.handlers = [int(x) for x in a.handlers.split(",") if x]
    a.methods = [x for x in a.methods.split(",") if x]
    a.sections = [x.strip() for x in a.sections.split(",") if x.strip()]
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
    a.peers_dir = a.peers_dir or os.environ.get("BENCH_DISPATCH_PEERS") or os.path.join(target, "bench-dispatch-peers")
    a.postgres = a.postgres.rstrip("/")

    run = Run(a)
    machine = bench.machine_info()

    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"

    machine["postgres"] = out(["psql", f"{a.postgres}/postgres", "-XAtc", "SHOW server_version"]).split(" ")[0]
    machine["postgres"] = f"PostgreSQL {machine['postgres']}"
    machine["node"] = out(["node", "--version"])
    t_start = time.monotonic()
    # The peers first: graphile-worker's figure is the target of the throughput rows.
    if "peers" in a.sections:
        run.section("graphile-worker", run.graphile)
        run.section("pgqueuer", run.pgqueuer)
    if "throughput" in a.sections:
        for m in a.methods:
            run.section(f"dispatch {m}", run.throughput_method, m)
    if "api" in a.sections:
        for m in ("mem-self", "db-self"):
            run.section(f"{m} through the API", run.api_throughput, m)
    if "pickup" in a.sections:
        run.section("pickup latency", run.pickup_rows)
    if "backlog" in a.sections:
        run.section("claim latency with a backlog", run.backlog_rows)
    # Peers first in the run, but printed last.
    peers = [r for r in run.rows if r[0].startswith(("peer:", "graphile", "pgqueuer"))]
    run.rows = [r for r in run.rows if r not in peers] + peers
    cmd = " ".join(["bash scripts/bench_dispatch"] + sys.argv[1:])
    report = run.report(machine, cmd)
    log(f"done in {time.monotonic() - t_start:.0f} s")
    return bench.emit(report, a, machine, run)


if __name__ == "__main__":
    sys.exit(main())
