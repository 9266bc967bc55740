#!/usr/bin/env python3
"""Dispatch benchmark of split mode (see BENCHMARKS.md, "Dispatch (split mode)").

Standard library only; run through `bash scripts/bench_claims` (it builds the release binary).
Every figure uses real `galaxy-server --mode handler` processes on a fresh PostgreSQL database
and the benchmark-only no-op runner (`galaxy_server.bench:NoopRunner`): a claimed job goes
queued -> running -> ok through the real fenced transitions, nothing is executed, so the
dispatch path itself is measured.

  throughput  N jobs inserted unclaimed in one transaction, then K handlers started; jobs/s =
              N / (first handler start -> last job ok), per assignment method and K in 1, 2, 4
  pickup      one idle handler; a job inserted (with NOTIFY in the same transaction, or
              without: the fallback poll of 1 s); latency = its `queued` row - job.create_time
  backlog     pickup with NOTIFY on an empty table vs with a backlog of unclaimed jobs in a tag
              no handler serves, and of jobs in the handler's own tag that are not ready
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the shared helpers of scripts/bench.py)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def psql(url, sql):
    out = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qtAc", sql], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"psql: {out.stderr.strip()}")
    return out.stdout.strip()


class Cluster:
    def __init__(self, base, method, max_grab, monitor_sleep=1.0):
        self.tmp = tempfile.mkdtemp(prefix="galaxy-claims-")
        self.db = f"gs_claims_{os.getpid()}_{int(time.time() * 1000) % 10**9}"
        psql(f"{base}/postgres", f"CREATE DATABASE {self.db}")
        self.base = base
        self.url = f"{base}/{self.db}"
        with open(os.path.join(self.tmp, "job_conf.yml"), "w") as f:
            f.write(
                "runners:\n  noop:\n    load: galaxy_server.bench:NoopRunner\n    workers: 64\n"
                "execution:\n  default: noop\n  environments:\n    noop: {runner: noop}\n"
                f"handling:\n  assign: [{method}]\n  max_grab: {max_grab}\n"
            )
        with open(os.path.join(self.tmp, "galaxy.yml"), "w") as f:
            f.write(
                f"gravity:\n  gunicorn: {{bind: '127.0.0.1:{bench.free_port()}'}}\n"
                f"galaxy:\n  database_connection: '{self.url}'\n"
                f"  tool_config_file: '{REPO}/config/tool_conf.xml'\n"
                f"  job_config_file: '{self.tmp}/job_conf.yml'\n"
                f"  file_path: '{self.tmp}/objects'\n  job_working_directory: '{self.tmp}/jobs'\n"
                f"  job_handler_monitor_sleep: {monitor_sleep}\n  heartbeat_interval: 5\n"
            )
        self.procs = []
        self.binary = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "release", "galaxy-server")
        subprocess.run([self.binary, "migrate", "-c", os.path.join(self.tmp, "galaxy.yml")], check=True, capture_output=True)
        self.history = psql(self.url, "INSERT INTO history (name, create_time, update_time) VALUES ('bench', now(), now()) RETURNING id")

    def handler(self, name):
        log = open(os.path.join(self.tmp, f"{name}.log"), "w")
        env = dict(os.environ, RUST_LOG="warn")
        p = subprocess.Popen([self.binary, "-c", os.path.join(self.tmp, "galaxy.yml"), "--mode", "handler",
                              "--server-name", name, "--pool", "job-handlers"], stdout=log, stderr=log, env=env, cwd=self.tmp)
        self.procs.append(p)
        return p

    def wait_live(self, n):
        for _ in range(300):
            if psql(self.url, "SELECT count(*) FROM worker_process") == str(n):
                return
            time.sleep(0.05)
        raise RuntimeError("handlers did not start")

    def insert(self, n, tag="_default_", handler_expr="NULL", notify=False, waiting=False):
        sql = (
            "INSERT INTO job (history_id, tool_id, tool_version, state, handler, handler_tag, claim_token, params, "
            "destination_id, create_time, update_time) "
            f"SELECT {self.history}, 'cat1', '1.0.0', 'new', {handler_expr}, "
            f"{'NULL' if handler_expr != 'NULL' else repr(tag)}, 0, '{{}}', 'noop', "
            "(now() AT TIME ZONE 'utc'), (now() AT TIME ZONE 'utc') FROM generate_series(1, " + str(n) + ") AS g"
        )
        if waiting:
            ds = psql(self.url, f"INSERT INTO dataset (history_id, hid, name, state, extension, file_size, deleted, create_time, update_time) "
                                f"VALUES ({self.history}, 1, 'pending', 'queued', 'txt', 0, false, now(), now()) RETURNING id")
            sql = f"WITH j AS ({sql} RETURNING id) INSERT INTO job_to_input_dataset (job_id, dataset_id, name) SELECT id, {ds}, 'input1' FROM j"
        if notify:
            sql = f"BEGIN; {sql}; SELECT pg_notify('galaxy_job_new', '{tag}'); COMMIT;"
        psql(self.url, sql)

    def ok_count(self):
        return int(psql(self.url, "SELECT count(*) FROM job WHERE state = 'ok'"))

    def close(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        psql(f"{self.base}/postgres", f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)")


def throughput(base, method, handlers, n, max_grab):
    c = Cluster(base, method, max_grab)
    try:
        if method == "db-preassign":
            names = [f"h{i}" for i in range(handlers)]
            for name in names:
                c.insert(n // handlers, handler_expr=repr(name))
        else:
            c.insert(n)
        start = time.monotonic()
        for i in range(handlers):
            c.handler(f"h{i}")
        deadline = start + 600
        while c.ok_count() < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {c.ok_count()} of {n} ok")
            time.sleep(0.02)
        return n / (time.monotonic() - start)
    finally:
        c.close()


def pickup(base, samples, notify, backlog=0, backlog_kind=None):
    c = Cluster(base, "db-skip-locked", 16, monitor_sleep=1.0)
    try:
        if backlog:
            if backlog_kind == "other-tag":
                c.insert(backlog, tag="backlog")
            else:
                c.insert(backlog, waiting=True)
            psql(c.url, "ANALYZE")
        c.handler("h0")
        c.wait_live(1)
        time.sleep(1.5)
        lat = []
        for _ in range(samples):
            before = c.ok_count()
            c.insert(1, notify=notify)
            deadline = time.monotonic() + 10
            while c.ok_count() <= before:
                if time.monotonic() > deadline:
                    raise RuntimeError("a job was not picked up")
                time.sleep(0.002)
            row = psql(c.url, "SELECT extract(epoch FROM h.create_time - j.create_time) * 1000 FROM job j "
                              "JOIN job_state_history h ON h.job_id = j.id AND h.state = 'queued' ORDER BY j.id DESC LIMIT 1")
            lat.append(float(row))
        return statistics.median(lat), bench.percentile(lat, 99)
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--postgres", default=os.environ.get("GALAXY_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"))
    a = ap.parse_args()
    n = 2000 if a.quick else 20000
    samples = 20 if a.quick else 100
    backlog = 100_000 if a.quick else 1_000_000
    rows = []
    for method in ["db-skip-locked", "db-transaction-isolation", "db-preassign"]:
        for k in [1, 2, 4]:
            bench.log(f"throughput {method} x{k}")
            try:
                rows.append((f"dispatch {method}, {k} handler(s), {n} jobs", f"{throughput(a.postgres, method, k, n, 100):,.0f} jobs/s"))
            except RuntimeError as e:
                rows.append((f"dispatch {method}, {k} handler(s)", f"FAILED: {e}"))
    for label, notify in [("NOTIFY", True), ("polling only (job_handler_monitor_sleep 1 s)", False)]:
        bench.log(f"pickup {label}")
        p50, p99 = pickup(a.postgres, samples, notify)
        rows.append((f"pickup latency, {label}, {samples} jobs one at a time", f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"))
    empty = pickup(a.postgres, samples, True)
    rows.append(("claim/pickup with NOTIFY, empty table", f"p50 {empty[0]:.1f} ms, p99 {empty[1]:.1f} ms"))
    for kind, what in [("other-tag", "unclaimed jobs in a tag no handler serves"), ("waiting", "jobs in the handler's tag waiting on an input")]:
        bench.log(f"backlog {kind}")
        p50, p99 = pickup(a.postgres, samples, True, backlog, kind)
        rows.append((f"claim/pickup with NOTIFY, backlog of {backlog:,} {what}", f"p50 {p50:.1f} ms, p99 {p99:.1f} ms ({p50 / empty[0]:.1f}x the empty table)"))
    print(f"\nCommand: `bash scripts/bench_claims{' --quick' if a.quick else ''}`\n")
    print(bench.machine_info() if hasattr(bench, "machine_info") else "")
    print("\n| measurement | galaxy-server |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
