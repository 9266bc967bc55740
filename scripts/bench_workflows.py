#!/usr/bin/env python3
"""Workflow scheduling benchmark (BENCHMARKS.md, "Workflow scheduling").

Run through `bash scripts/bench_workflows [--quick]`: it builds the release binaries and runs
this driver (standard library only). Every figure uses the real release binary on a fresh
PostgreSQL database per deployment: a web process and K `--mode handler --pool
workflow-schedulers` processes, and the workflow is a 10-step chain (one input, then `sort1`
ten times, each step reading the previous one's output).

  throughput  N invocations inserted with one INSERT ... generate_series (state `new`, in the
              `workflow-schedulers` pool) and pg_notify in the same transaction while K
              schedulers are up and idle, no job handler: invocations/s = N / (commit -> the
              driver sees all N `scheduled`, polled every 20 ms), jobs/s = 10 x that; K = 1, 2.
              Then: exactly 10 jobs and 11 steps per invocation.
  latency     one scheduler and one job handler with the no-op runner: M invocations through
              POST /api/workflows/{id}/invocations, one at a time, each waited for: invoke ->
              `scheduled` seen by the client (the HTTP request sent -> the row read
              `scheduled` by a psql session polling every ~1 ms), and from the database
              (server clocks): invocation create_time -> its last job's create_time
              (scheduled), and -> the first step's `running` row in job_state_history.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
from bench_dispatch import Session, psql  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN_KEY = "bench-admin-key"
STEPS = 10

log = bench.log
BenchError = bench.BenchError


def chain(n):
    steps = {"0": {"id": 0, "type": "data_input", "label": "in", "tool_state": "{}", "input_connections": {}}}
    for i in range(1, n + 1):
        src = {"id": 0, "output_name": "output"} if i == 1 else {"id": i - 1, "output_name": "out_file1"}
        steps[str(i)] = {"id": i, "type": "tool", "tool_id": "sort1", "label": f"sort {i}",
                         "tool_state": "{\"order\": \"ascending\"}", "input_connections": {"input": src}}
    return {"a_galaxy_workflow": "true", "format-version": "0.1", "name": f"chain of {n}", "steps": steps}


class Deployment:
    def __init__(self, args, binary, label, schedulers, job_handler):
        self.args, self.binary, self.label = args, binary, label
        self.dir = tempfile.mkdtemp(prefix="galaxy-wf-bench-")
        self.db = f"gs_wf_bench_{os.getpid()}_{label}"
        self.admin = f"{args.postgres}/postgres"
        psql(self.admin, f'DROP DATABASE IF EXISTS "{self.db}"')
        psql(self.admin, f'CREATE DATABASE "{self.db}"')
        self.url = f"{args.postgres}/{self.db}"
        self.port = bench.free_port()
        self.procs = {}
        with open(os.path.join(self.dir, "job_conf.yml"), "w") as f:
            f.write("runners:\n  noop:\n    load: galaxy_server.bench:NoopRunner\n    workers: 64\n"
                    "execution:\n  default: noop\n  environments:\n    noop: {runner: noop}\n")
        self.config = os.path.join(self.dir, "galaxy.yml")
        with open(self.config, "w") as f:
            f.write("gravity:\n"
                    f"  gunicorn: {{bind: '127.0.0.1:{self.port}', workers: 2}}\n"
                    "galaxy:\n"
                    f"  database_connection: '{self.url}?sslmode=disable'\n"
                    f"  tool_config_file: '{REPO}/config/tool_conf.xml'\n"
                    f"  job_config_file: '{self.dir}/job_conf.yml'\n"
                    f"  file_path: '{self.dir}/objects'\n"
                    f"  job_working_directory: '{self.dir}/jobs'\n"
                    "  id_secret: bench-id-secret-0123456789\n"
                    f"  bootstrap_admin_api_key: {ADMIN_KEY}\n"
                    "  heartbeat_interval: 10\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("GALAXY_CONFIG_")}
        self.procs["main"] = bench.Proc([binary, "-c", self.config, "--mode", "web"], self.dir,
                                        os.path.join(self.dir, "main.log"), env=env)
        self.procs["main"].wait_first_200(self.port)
        for i in range(schedulers):
            name = f"sched{i}"
            self.procs[name] = bench.Proc(
                [binary, "-c", self.config, "--mode", "handler", "--server-name", name, "--pool", "workflow-schedulers"],
                self.dir, os.path.join(self.dir, f"{name}.log"), env=env)
        if job_handler:
            self.procs["h0"] = bench.Proc(
                [binary, "-c", self.config, "--mode", "handler", "--server-name", "h0", "--pool", "job-handlers"],
                self.dir, os.path.join(self.dir, "h0.log"), env=env)
        self.session = Session(self.url)
        want = schedulers + (1 if job_handler else 0)
        deadline = time.monotonic() + 30
        while int(self.session.value("SELECT count(*) FROM worker_process WHERE mode = 'handler'") or 0) < want:
            if time.monotonic() > deadline:
                raise BenchError(f"{label}: handlers did not start")
            time.sleep(0.05)
        time.sleep(0.5)
        self.api = bench.Api(self.port, key=ADMIN_KEY)
        h = self.api.ok("POST", "/api/histories", {"name": "bench"})
        self.hid = h["id"]
        run = self.api.ok("POST", "/api/tools", {"tool_id": "upload1", "history_id": self.hid, "inputs": {
            "files_0|url_paste": "b\na\nc\n", "files_0|type": "upload_dataset", "file_type": "txt"}})
        self.data = run["outputs"][0]["id"]
        self.wf = self.api.ok("POST", "/api/workflows/upload", {"workflow": chain(STEPS)})["id"]
        self.raw = {
            "workflow": self.session.value("SELECT max(id) FROM workflow"),
            "history": self.session.value("SELECT max(id) FROM history"),
            "dataset": self.session.value("SELECT max(id) FROM dataset"),
        }

    def close(self):
        for p in self.procs.values():
            p.stop()
        self.session.close()
        if not self.args.keep:
            psql(self.admin, f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            log(f"kept {self.dir} and database {self.db}")


def throughput(args, binary, k, n):
    d = Deployment(args, binary, f"tp{k}", schedulers=k, job_handler=False)
    try:
        r = d.raw
        sql = (
            "BEGIN; INSERT INTO workflow_invocation (workflow_id, history_id, uuid, state, pool, claim_token, "
            "inputs, parameters, create_time, update_time) "
            f"SELECT {r['workflow']}, {r['history']}, md5(g::text), 'new', 'workflow-schedulers', 0, "
            f"'{{\"0\": {r['dataset']}}}', '{{}}', now() AT TIME ZONE 'utc', now() AT TIME ZONE 'utc' "
            f"FROM generate_series(1, {n}) AS g; SELECT pg_notify('galaxy_job_new', 'workflow-schedulers'); COMMIT"
        )
        t0 = time.perf_counter()
        d.session.query(sql)
        t_commit = time.perf_counter()
        while True:
            done = int(d.session.value("SELECT count(*) FROM workflow_invocation WHERE state = 'scheduled'") or 0)
            if done >= n:
                break
            if time.perf_counter() - t0 > 600:
                raise BenchError(f"{k} scheduler(s): only {done} of {n} scheduled after 600 s")
            time.sleep(0.02)
        elapsed = time.perf_counter() - t_commit
        jobs = int(d.session.value("SELECT count(*) FROM job WHERE tool_id = 'sort1'"))
        odd = int(d.session.value(
            "SELECT count(*) FROM (SELECT invocation_id FROM workflow_invocation_step GROUP BY 1 "
            f"HAVING count(*) <> {STEPS + 1}) x"))
        by = d.session.query("SELECT handler, count(*) FROM workflow_invocation GROUP BY 1 ORDER BY 1")
        if jobs != n * STEPS or odd:
            raise BenchError(f"{k} scheduler(s): {jobs} jobs for {n} invocations, {odd} with a wrong step count")
        return {"schedulers": k, "invocations": n, "seconds": elapsed, "per_s": n / elapsed,
                "jobs_per_s": jobs / elapsed, "by_scheduler": by, "insert_s": t_commit - t0}
    finally:
        d.close()


def latency(args, binary, m):
    d = Deployment(args, binary, "lat", schedulers=1, job_handler=True)
    try:
        client = []
        for _ in range(m):
            t0 = time.perf_counter()
            inv = d.api.ok("POST", f"/api/workflows/{d.wf}/invocations",
                           {"history_id": d.hid, "inputs": {"0": {"src": "hda", "id": d.data}}})
            uuid = inv["uuid"]
            while d.session.value(f"SELECT state FROM workflow_invocation WHERE uuid = '{uuid}'") != "scheduled":
                if time.perf_counter() - t0 > 30:
                    raise BenchError(f"invocation {uuid} not scheduled after 30 s")
            client.append((time.perf_counter() - t0) * 1000.0)
            # Let its jobs run (no-op runner) so the next one starts from an idle system.
            while int(d.session.value(
                    f"SELECT count(*) FROM job j JOIN workflow_invocation_step s ON s.job_id = j.id "
                    f"JOIN workflow_invocation i ON i.id = s.invocation_id WHERE i.uuid = '{uuid}' "
                    "AND j.state <> 'ok'") or 0) > 0:
                if time.perf_counter() - t0 > 60:
                    raise BenchError(f"the jobs of {uuid} did not finish")
                time.sleep(0.005)
        created = [float(x) for x in d.session.query(
            "SELECT EXTRACT(EPOCH FROM (max(j.create_time) - i.create_time)) * 1000 FROM workflow_invocation i "
            "JOIN workflow_invocation_step s ON s.invocation_id = i.id JOIN job j ON j.id = s.job_id GROUP BY i.id") if x]
        running = [float(x) for x in d.session.query(
            "SELECT EXTRACT(EPOCH FROM (h.create_time - i.create_time)) * 1000 FROM workflow_invocation i "
            "JOIN workflow_invocation_step s ON s.invocation_id = i.id AND s.order_index = 1 "
            "JOIN job_state_history h ON h.job_id = s.job_id AND h.state = 'running'") if x]
        return {"n": m, "client": client, "created": created, "running": running}
    finally:
        d.close()


def pct(values):
    return f"p50 {bench.percentile(values, 50):.1f} ms, p99 {bench.percentile(values, 99):.1f} ms"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--postgres", default=os.environ.get("GALAXY_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"))
    ap.add_argument("--invocations", type=int, default=1000, help="throughput: invocations per run")
    ap.add_argument("--latency-invocations", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="100 and 20")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--json", help="write the figures here")
    a = ap.parse_args()
    if a.quick:
        a.invocations, a.latency_invocations = 100, 20
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
    if not os.path.isabs(target):
        target = os.path.join(REPO, target)
    binary = os.path.join(target, "release", "galaxy-server")
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"bench_workflows: {binary} is missing; run `cargo build --release --bins`")
    results = {"throughput": []}
    for k in (1, 2):
        log(f"throughput: {a.invocations} invocations of a {STEPS}-step workflow, {k} scheduler(s)")
        r = throughput(a, binary, k, a.invocations)
        results["throughput"].append(r)
        print(f"{k} scheduler(s): {r['invocations']} invocations scheduled in {r['seconds']:.2f} s: "
              f"{r['per_s']:.0f} invocations/s, {r['jobs_per_s']:.0f} jobs/s (by scheduler: {', '.join(r['by_scheduler'])})")
    log(f"latency: {a.latency_invocations} invocations one at a time")
    lat = latency(a, binary, a.latency_invocations)
    results["latency"] = lat
    print(f"invoke -> scheduled (client, HTTP + poll): {pct(lat['client'])}")
    print(f"invoke -> every step's job created (server clocks): {pct(lat['created'])}")
    print(f"invoke -> first step running (server clocks): {pct(lat['running'])}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
