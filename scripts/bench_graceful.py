#!/usr/bin/env python3
"""Graceful reload benchmark (BENCHMARKS.md, "Graceful reload").

Starts `galaxy-server ctl start --foreground` (web + 2 handlers) on a fresh PostgreSQL database
in a temporary directory, loads a GET path (default /api/version) with N client threads, on
keep-alive connections or with a new connection per request (`--connection new`, Python urllib),
runs `ctl graceful` R times, and prints per reload: requests, failed requests, and p50/p99
latency in a steady window before the reload and during it (from the `graceful` command's start
to its end); then every failed request of the whole run, with its error.

    python3 scripts/bench_graceful.py [--clients 4] [--reloads 3] [--connection keepalive|new]
        [--path /api/version] [--binary target/release/galaxy-server]

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) or --postgres URL; standard library only.
"""

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class Load:
    """Client threads recording (start, latency, ok) for every GET of `path`."""

    def __init__(self, port, clients, path, connection):
        self.port, self.path, self.stop, self.samples, self.errors = port, path, False, [], []
        self.lock = threading.Lock()
        run = self.run_new if connection == "new" else self.run_keepalive
        self.threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]

    def record(self, t0, ok, error=None):
        with self.lock:
            self.samples.append((t0, time.monotonic() - t0, ok))
            if error is not None:
                self.errors.append(error)

    def run_keepalive(self):
        conn = None
        while not self.stop:
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", self.path)
                r = conn.getresponse()
                r.read()
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
                self.record(t0, r.status == 200, None if r.status == 200 else f"status {r.status}")
            except Exception as e:
                conn = None
                self.record(t0, False, repr(e))

    def run_new(self):
        url = f"http://127.0.0.1:{self.port}{self.path}"
        while not self.stop:
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(url, timeout=10) as r:
                    r.read()
                    self.record(t0, r.status == 200, None if r.status == 200 else f"status {r.status}")
            except Exception as e:
                self.record(t0, False, repr(e))

    def window(self, a, b):
        with self.lock:
            return [s for s in self.samples if a <= s[0] < b]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--reloads", type=int, default=3)
    p.add_argument("--connection", choices=["keepalive", "new"], default="keepalive")
    p.add_argument("--path", default="/api/version")
    p.add_argument("--binary", default=os.path.join(REPO, "target", "release", "galaxy-server"))
    p.add_argument("--postgres", default=os.environ.get("GALAXY_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"))
    a = p.parse_args()
    if not os.path.exists(a.binary):
        sys.exit(f"bench_graceful: {a.binary} not found (cargo build --release)")
    db = f"gs_bench_graceful_{os.getpid()}"
    subprocess.run(["psql", f"{a.postgres}/postgres", "-X", "-q", "-c", f'CREATE DATABASE "{db}"'], check=True)
    tmp = tempfile.mkdtemp(prefix="gs-bench-graceful-")
    port = free_port()
    cfg = os.path.join(tmp, "galaxy.yml")
    with open(cfg, "w") as f:
        f.write(f"""gravity:
  state_dir: {tmp}/state
  gunicorn: {{bind: "127.0.0.1:{port}", workers: 2}}
  handlers:
    handler: {{processes: 2, pools: [job-handlers]}}
galaxy:
  database_connection: "{a.postgres}/{db}"
  tool_config_file: "{REPO}/config/tool_conf.xml"
  job_config_file: "{REPO}/config/job_conf.yml"
  file_path: "{tmp}/objects"
  job_working_directory: "{tmp}/jobs"
  id_secret: bench
""")
    env = dict(os.environ, RUST_LOG="warn")
    manager = subprocess.Popen([a.binary, "-c", cfg, "ctl", "start", "--foreground"], cwd=tmp, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    try:
        deadline = time.time() + 60
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/api/version")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                sys.exit("bench_graceful: the web process never answered")
            time.sleep(0.2)
        load = Load(port, a.clients, a.path, a.connection)
        for t in load.threads:
            t.start()
        time.sleep(3)
        for i in range(a.reloads):
            before_a = time.monotonic()
            time.sleep(3)
            g0 = time.monotonic()
            subprocess.run([a.binary, "-c", cfg, "ctl", "graceful"], cwd=tmp, env=env, check=True,
                           stdout=subprocess.DEVNULL)
            g1 = time.monotonic()
            time.sleep(1)
            steady = [s[1] for s in load.window(before_a, g0) if s[2]]
            during = load.window(g0, g1)
            rows.append((i + 1, g1 - g0, len(during), sum(1 for s in during if not s[2]),
                         pct(steady, 50) * 1000, pct(steady, 99) * 1000,
                         pct([s[1] for s in during if s[2]], 50) * 1000,
                         pct([s[1] for s in during if s[2]], 99) * 1000,
                         max((s[1] for s in during), default=0) * 1000))
        load.stop = True
        for t in load.threads:
            t.join(timeout=15)
    finally:
        manager.terminate()
        manager.wait(timeout=60)
        subprocess.run(["psql", f"{a.postgres}/postgres", "-X", "-q", "-c", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'])
    total, failed = len(load.samples), sum(1 for s in load.samples if not s[2])
    kind = "keep-alive" if a.connection == "keepalive" else "new-connection"
    print(f"graceful reload, {a.clients} {kind} clients on GET {a.path} (ms)")
    print("| reload | graceful s | requests during | failed | p50 before | p99 before | p50 during | p99 during | max during | p99 added |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]:.1f} | {r[2]} | {r[3]} | {r[4]:.2f} | {r[5]:.2f} | {r[6]:.2f} | {r[7]:.2f} | {r[8]:.1f} | {r[7] - r[5]:+.2f} |")
    print(f"whole run: {total} requests, {failed} failed")
    for e in load.errors:
        print(f"  {e}")


if __name__ == "__main__":
    main()
