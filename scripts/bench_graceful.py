#!/usr/bin/env python3
"""Graceful reload benchmark (BENCHMARKS.md, "Graceful reload").

Starts `galaxy-server ctl start --foreground` (web + 2 handlers) on a fresh PostgreSQL database
in a temporary directory, loads GET /api/version with N client threads on keep-alive
connections, runs `ctl graceful` R times, and prints per reload: requests, failed requests,
and p50/p99 latency in a steady window before the reload and during it (from the `graceful`
command's start to its end).

    python3 scripts/bench_graceful.py [--clients 4] [--reloads 3] [--binary target/release/galaxy-server]

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
    """Client threads recording (start, latency, ok) for every GET /api/version."""

    def __init__(self, port, clients):
        self.port, self.stop, self.samples = port, False, []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(clients)]

    def run(self):
        conn = None
        while not self.stop:
            t0 = time.monotonic()
            ok = False
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", "/api/version")
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except Exception:
                conn = None
            with self.lock:
                self.samples.append((t0, time.monotonic() - t0, ok))

    def window(self, a, b):
        with self.lock:
            return [s for s in self.samples if a <= s[0] < b]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--reloads", type=int, default=3)
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
        load = Load(port, a.clients)
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
    print(f"graceful reload, {a.clients} keep-alive clients on GET /api/version (ms)")
    print("| reload | graceful s | requests during | failed | p50 before | p99 before | p50 during | p99 during | max during | p99 added |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]:.1f} | {r[2]} | {r[3]} | {r[4]:.2f} | {r[5]:.2f} | {r[6]:.2f} | {r[7]:.2f} | {r[8]:.1f} | {r[7] - r[5]:+.2f} |")


if __name__ == "__main__":
    main()
