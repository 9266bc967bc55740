#!/usr/bin/env python3
"""Slurm benchmark: galaxy-server's Slurm runner against bare `sbatch` (BENCHMARKS.md, "Slurm").

Run through `bash scripts/bench_slurm`: it builds the release binary, starts a private
one-node Slurm cluster (scripts/slurm-cluster) in a temporary directory, runs this driver with
SLURM_CONF pointing at it and stops the cluster at exit. Standard library only; the helpers
(Api, Proc, percentile, parse_ts, machine_info) are scripts/bench.py's.

In one run, on the same cluster, alternating (galaxy-server, bare, galaxy-server, bare, …):

  galaxy    N cat1 jobs on one pasted dataset through POST /api/tools (--client-threads
            threads) to an all-in-one galaxy-server on SQLite whose only environment is its
            Slurm runner (--runner-workers, --poll-interval); end to end = the first POST ->
            the last job seen terminal (GET /api/jobs?history_id=H&state=…&limit=1 every
            --client-poll s). Slurm client calls from GET /metrics
            (galaxy_server_slurm_calls_total{command}) before/after.
  bare      the same N commands (`cat a > b`), a batch script per job with the same kind of
            #SBATCH lines (--job-name, --output, --error), submitted with `sbatch --parsable`
            in a bash loop, then `squeue -h -j id1,…,idN -o %i` every --poll-interval s until
            it prints nothing; end to end = the loop's start -> that empty squeue.

Submit -> running: galaxy-server from its database (job_state_history: the `queued` row, i.e.
the claim, and job.create_time (`new`), to the first `running` row); for both, from Slurm's
own record of each job (jobcomp/filetxt: SubmitTime -> StartTime, 1 s resolution).
"""

import argparse
import datetime as _dt
import json
import os
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (helpers of scripts/bench.py)

REPO = bench.REPO
ADMIN_KEY = bench.ADMIN_KEY
PASTE = bench.PASTE
NON_TERMINAL = bench.NON_TERMINAL
COMMANDS = ("sbatch", "squeue", "scontrol", "scancel")
TARGET_RATIO = 1.2  # issue 11: galaxy-server within 1.2x of bare sbatch (shown, not asserted)

BenchError = bench.BenchError


def log(msg):
    print(f"bench_slurm: {msg}", file=sys.stderr, flush=True)


def median(xs):
    return statistics.median(xs) if xs else None


def fmt_s(x):
    return "n/a" if x is None else f"{x:.1f} s"


def fmt_lat(xs, unit="ms"):
    """p50 / p99 (nearest rank) of a list of seconds."""
    if not xs:
        return "n/a"
    p50, p99 = bench.percentile(xs, 50), bench.percentile(xs, 99)
    if unit == "s":
        return f"p50 {int(round(p50))} s, p99 {int(round(p99))} s"
    return f"p50 {bench.fmt_ms(p50 * 1000)}, p99 {bench.fmt_ms(p99 * 1000)}"


# --------------------------------------------------------------------------------------------
# The cluster


class Cluster:
    """The private cluster started by scripts/slurm-cluster in `dir`."""

    def __init__(self, d):
        self.dir = os.path.abspath(d)
        self.conf = os.path.join(self.dir, "slurm.conf")
        self.jobcomp_path = os.path.join(self.dir, "jobcomp.log")
        if not os.path.exists(self.conf):
            raise SystemExit(f"bench_slurm: {self.conf} is missing: start the cluster first (scripts/bench_slurm does)")
        self.env = dict(os.environ, SLURM_CONF=self.conf)
        with open(self.conf) as f:
            text = f.read()
        self.settings = dict(re.findall(r"^(\w+)=(\S+)", text, re.M))
        node = re.search(r"^NodeName=.*\bCPUs=(\d+)", text, re.M)
        part = re.search(r"^PartitionName=.*?(OverSubscribe=\S+|$)", text, re.M)
        self.cpus = node.group(1) if node else "?"
        self.oversubscribe = (part.group(1) if part and part.group(1) else "OverSubscribe=NO")
        r = subprocess.run(["sbatch", "--version"], capture_output=True, text=True, env=self.env)
        self.version = (r.stdout.strip() or "?")

    def daemon_cpu(self):
        """CPU seconds used so far by slurmctld and slurmd (themselves)."""
        total = 0.0
        for name in ("slurmctld", "slurmd"):
            try:
                with open(os.path.join(self.dir, f"{name}.pid")) as f:
                    c = bench.cpu_seconds(int(f.read().strip()))
            except (OSError, ValueError):
                c = None
            if c:
                total += c[0]
        return total

    def jobcomp(self):
        """{Slurm job id: {field: value}} from jobcomp/filetxt's log."""
        out = {}
        try:
            with open(self.jobcomp_path) as f:
                for line in f:
                    fields = dict(re.findall(r"(\w+)=(\S*)", line))
                    if "JobId" in fields:
                        out[fields["JobId"]] = fields
        except OSError:
            pass
        return out

    def ctld_events(self):
        """{Slurm job id: {"sub", "start", "end": epoch s}} from slurmctld's log (SlurmctldDebug=info:
        millisecond timestamps of the submission RPC, the allocation and the completion)."""
        ev = {}
        pats = (("sub", re.compile(r"_slurm_rpc_submit_batch_job: JobId=(\d+)")),
                ("start", re.compile(r"(?:sched: Allocate|_start_job: Started) JobId=(\d+)")),
                ("end", re.compile(r"_job_complete: JobId=(\d+) done")))
        try:
            with open(os.path.join(self.dir, "log", "slurmctld.log"), errors="replace") as f:
                for line in f:
                    m = re.match(r"\[(\d{4}-\d\d-\d\dT[\d:.]+)\] (.*)", line)
                    if not m:
                        continue
                    for key, pat in pats:
                        mm = pat.search(m.group(2))
                        if mm:
                            ev.setdefault(mm.group(1), {})[key] = _dt.datetime.fromisoformat(m.group(1)).timestamp()
                            break
        except OSError:
            pass
        return ev

    def ctld_figures(self, ids):
        """Per-job submit -> start and start -> end (s), and the scheduling passes that started
        `ids` (allocations less than 50 ms apart count as one pass)."""
        ev = self.ctld_events()
        e = [ev[i] for i in ids if i in ev and {"sub", "start", "end"} <= set(ev[i])]
        if not e:
            return {}
        starts = sorted(x["start"] for x in e)
        passes = []
        for t in starts:
            if passes and t - passes[-1][-1] < 0.05:
                passes[-1].append(t)
            else:
                passes.append([t])
        gaps = [b[0] - a[0] for a, b in zip(passes, passes[1:])]
        return {"ctld_n": len(e),
                "ctld_submit_to_start": [x["start"] - x["sub"] for x in e],
                "ctld_start_to_end": [x["end"] - x["start"] for x in e],
                "ctld_passes": len(passes), "ctld_jobs_per_pass_max": max(len(p) for p in passes),
                "ctld_pass_gap_median_s": median(gaps)}

    def jobcomp_for(self, ids, timeout=15.0):
        """jobcomp records of `ids`, waiting a little for the last ones to be written."""
        deadline = time.time() + timeout
        while True:
            comp = self.jobcomp()
            found = {i: comp[i] for i in ids if i in comp}
            if len(found) == len(ids) or time.time() > deadline:
                return found
            time.sleep(0.2)


def slurm_time(value):
    """jobcomp's local time (second resolution) -> epoch seconds."""
    if not value or value == "Unknown":
        return None
    try:
        return time.mktime(time.strptime(value, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


def slurm_spans(records):
    """From jobcomp records: (SubmitTime -> StartTime list, first submit, last submit, last end)."""
    sub = [slurm_time(r.get("SubmitTime")) for r in records]
    start = [slurm_time(r.get("StartTime")) for r in records]
    end = [slurm_time(r.get("EndTime")) for r in records]
    waits = [b - a for a, b in zip(sub, start) if a is not None and b is not None]
    subs = [x for x in sub if x is not None]
    ends = [x for x in end if x is not None]
    return waits, (min(subs) if subs else None), (max(subs) if subs else None), (max(ends) if ends else None)


# --------------------------------------------------------------------------------------------
# galaxy-server with its Slurm runner


class Server:
    def __init__(self, run):
        a = run.args
        self.run = run
        self.dir = tempfile.mkdtemp(prefix="galaxy-bench-slurm-", dir=a.tmp)
        self.port = bench.free_port()
        self.db_path = os.path.join(self.dir, "universe.sqlite")
        job_conf = os.path.join(self.dir, "job_conf.yml")
        with open(job_conf, "w") as f:
            f.write(
                "runners:\n"
                "  slurm:\n"
                "    load: galaxy.jobs.runners.slurm:SlurmJobRunner\n"
                f"    workers: {a.runner_workers}\n"
                f"    poll_interval: {a.poll_interval:g}\n"
                "execution:\n"
                "  default: slurm\n"
                "  environments:\n"
                "    slurm:\n"
                "      runner: slurm\n"
            )
        self.config = os.path.join(self.dir, "galaxy.yml")
        with open(self.config, "w") as f:
            f.write(
                "gravity:\n"
                f"  state_dir: {self.dir}/gravity\n"
                "  gunicorn:\n"
                f"    bind: 127.0.0.1:{self.port}\n"
                "    workers: 2\n"
                "galaxy:\n"
                f"  database_connection: sqlite:///{self.db_path}\n"
                f"  tool_config_file: {os.path.join(REPO, 'config', 'tool_conf.xml')}\n"
                f"  job_config_file: {job_conf}\n"
                f"  file_path: {self.dir}/objects\n"
                f"  job_working_directory: {self.dir}/jobs_directory\n"
                "  id_secret: bench-id-secret-0123456789\n"
                f"  bootstrap_admin_api_key: {ADMIN_KEY}\n"
                "  job_handler_monitor_sleep: 1.0\n"
            )
        env = dict(run.cluster.env)
        if a.rust_log:
            env["RUST_LOG"] = a.rust_log
        else:
            env.pop("RUST_LOG", None)
        self.proc = bench.Proc(
            [run.server_bin, "-c", self.config, "--mode", "all-in-one"],
            self.dir, os.path.join(self.dir, "server.log"), env=env,
        )
        self.proc.wait_first_200(self.port)
        self.api = bench.Api(self.port)

    def stop(self):
        self.api.close()
        code, secs = self.proc.stop()
        if code not in (0, -15):
            self.run.problem(f"galaxy-server exited with {code} after SIGTERM ({secs:.1f} s); log: {self.dir}/server.log")

    def dataset(self):
        """A history with one pasted dataset (ok) -> its id."""
        h = self.api.ok("POST", "/api/histories", {"name": "bench-slurm"}, what="create history")["id"]
        up = self.api.ok(
            "POST", "/api/tools",
            {"tool_id": "upload1", "history_id": h,
             "inputs": {"files_0|url_paste": PASTE, "files_0|type": "upload_dataset", "file_type": "txt"}},
            what="upload1 (paste)",
        )
        d = up["outputs"][0]["id"]
        deadline = time.time() + 60
        while True:
            ds = self.api.ok("GET", f"/api/datasets/{d}", what="show pasted dataset")
            if ds.get("state") == "ok":
                return d
            if time.time() > deadline or ds.get("state") in ("error", "paused", "discarded"):
                raise BenchError(f"pasted dataset not ok: {ds}")
            time.sleep(0.05)

    def slurm_calls(self):
        """{command: count} from GET /metrics."""
        st, text = self.api.request("GET", "/metrics")
        if st != 200 or not isinstance(text, str):
            raise BenchError(f"GET /metrics: HTTP {st}")
        calls = {c: 0 for c in COMMANDS}
        for m in re.finditer(r'^galaxy_server_slurm_calls_total\{command="([^"]+)"\}\s+(\S+)', text, re.M):
            calls[m.group(1)] = int(float(m.group(2)))
        return calls

    def submitted_log(self):
        """{job id: epoch s} of the server log's `(job N) submitted to Slurm as ID` lines
        (sbatch answered; the log's local time, millisecond resolution)."""
        out = {}
        try:
            with open(self.proc.log_path, errors="replace") as f:
                for line in f:
                    m = re.search(r" (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) .*\(job (\d+)\) submitted to Slurm as ", line)
                    if m:
                        t = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000
                        out[int(m.group(3))] = t
        except OSError:
            pass
        return out

    def max_job_id(self):
        return int(self.rows("SELECT COALESCE(MAX(id), 0) FROM job")[0][0])

    def rows(self, sql):
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def job_rows(self, after_id):
        """[(id, state, new, queued, running, ok/terminal, Slurm job id)] (epoch s) of the cat1
        jobs after `after_id`, from job and job_state_history."""
        rows = self.rows(
            "SELECT j.id, j.state, j.create_time, "
            "(SELECT MIN(h.create_time) FROM job_state_history h WHERE h.job_id = j.id AND h.state = 'queued'), "
            "(SELECT MIN(h.create_time) FROM job_state_history h WHERE h.job_id = j.id AND h.state = 'running'), "
            "(SELECT MAX(h.create_time) FROM job_state_history h WHERE h.job_id = j.id "
            " AND h.state IN ('ok', 'error', 'deleted', 'stopped', 'paused')), "
            "j.job_runner_external_id "
            f"FROM job j WHERE j.id > {int(after_id)} AND j.tool_id = 'cat1' ORDER BY j.id"
        )
        return [(r[0], r[1], bench.parse_ts(r[2]), bench.parse_ts(r[3]), bench.parse_ts(r[4]),
                 bench.parse_ts(r[5]), r[6]) for r in rows]


# --------------------------------------------------------------------------------------------
# The bare loop

BARE_LOOP = r"""
# The bare baseline: N batch scripts submitted with sbatch in a loop, then squeue until none
# of them is left. Arguments: DIR N POLL_INTERVAL TAG
set -u
D=$1 N=$2 P=$3 TAG=$4
ids=""
for i in $(seq 1 "$N"); do
    j="$D/$i"
    mkdir -p "$j"
    cat >"$j/job.sh" <<EOF
#!/bin/bash
#SBATCH --job-name=bench_bare_${TAG}_$i
#SBATCH --output=$j/slurm.out
#SBATCH --error=$j/slurm.err
cat $D/a > $j/b
EOF
    id=$(sbatch --parsable "$j/job.sh") || { echo "sbatch of job $i failed" >&2; exit 1; }
    ids="$ids${ids:+,}${id%%;*}"
done
echo "submitted $EPOCHREALTIME"
polls=0 failed=0
while :; do
    polls=$((polls + 1))
    if ! left=$(squeue -h -j "$ids" -o %i); then
        failed=$((failed + 1))
        [ "$failed" -le 10 ] || { echo "squeue failed 10 times" >&2; exit 1; }
    elif [ -z "$left" ]; then
        break
    fi
    sleep "$P"
done
echo "done $EPOCHREALTIME"
echo "polls $polls"
echo "ids $ids"
"""


# --------------------------------------------------------------------------------------------
# The run


class Run:
    def __init__(self, args):
        self.args = args
        target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
        if not os.path.isabs(target):
            target = os.path.join(REPO, target)
        self.server_bin = os.path.join(target, "release", "galaxy-server")
        if not os.access(self.server_bin, os.X_OK):
            raise SystemExit(f"bench_slurm: {self.server_bin} is missing; run `cargo build --release --bins` (scripts/bench_slurm does)")
        self.cluster = Cluster(args.cluster_dir)
        self.tmp = tempfile.mkdtemp(prefix="galaxy-bench-slurm-bare-", dir=args.tmp)
        self.problems = []
        self.results = {"galaxy": [], "bare": []}
        self.server = None
        self.dataset = None

    def problem(self, msg):
        log("PROBLEM: " + msg.splitlines()[0])
        self.problems.append(msg)

    # -- galaxy-server ---------------------------------------------------------------------

    def galaxy_round(self, n, label, timed=True):
        a, s = self.args, self.server
        h = s.api.ok("POST", "/api/histories", {"name": f"bench-slurm-{label}"}, what="create history")["id"]
        body = {"tool_id": "cat1", "history_id": h, "inputs": {"input1": {"src": "hda", "id": self.dataset}}}
        before_id = s.max_job_id()
        calls0, cpu0, ctld0 = s.slurm_calls(), bench.cpu_seconds(s.proc.pid), self.cluster.daemon_cpu()
        lock = threading.Lock()
        counter = iter(range(n))
        submitted, errors = [], []

        def worker():
            api = bench.Api(s.port)
            try:
                while True:
                    with lock:
                        i = next(counter, None)
                    if i is None:
                        return
                    try:
                        st, payload = api.request("POST", "/api/tools", body)
                    except OSError as e:
                        st, payload = None, f"{type(e).__name__}: {e}"
                    with lock:
                        if st == 200 and isinstance(payload, dict) and payload.get("jobs"):
                            submitted.append(payload["jobs"][0]["id"])
                        else:
                            errors.append(f"HTTP {st} {str(payload)[:300]}")
            finally:
                api.close()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(a.client_threads)]
        t0, w0 = time.perf_counter(), time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        t_posted = time.perf_counter()
        if errors:
            self.problem(f"galaxy {label}: {len(errors)} of {n} submissions failed; first: {errors[0]}")
        if not submitted:
            raise BenchError(f"galaxy {label}: no cat1 job accepted ({errors[0] if errors else '?'})")
        q = f"/api/jobs?history_id={h}&tool_id=cat1&state={','.join(NON_TERMINAL)}&limit=1"
        deadline, last_report, polls = t0 + a.job_timeout, t0, 0
        while True:
            st, lst = s.api.request("GET", q)
            polls += 1
            now = time.perf_counter()
            if st != 200 or not isinstance(lst, list):
                raise BenchError(f"GET {q}: HTTP {st} {str(lst)[:300]}")
            if not lst:
                t_done = now
                break
            if now > deadline:
                raise BenchError(f"galaxy {label}: jobs still not terminal after {a.job_timeout:.0f} s")
            if now - last_report > 10:
                st2, left = s.api.request("GET", q.replace("&limit=1", f"&limit={n + 10}"))
                log(f"  galaxy {label}: {len(left) if isinstance(left, list) else '?'} jobs left after {now - t0:.0f} s")
                last_report = now
            time.sleep(a.client_poll)
        calls1, cpu1, ctld1 = s.slurm_calls(), bench.cpu_seconds(s.proc.pid), self.cluster.daemon_cpu()
        elapsed = t_done - t0
        res = {"label": label, "n": len(submitted), "errors": len(errors), "elapsed_s": elapsed,
               "post_s": t_posted - t0, "client_polls": polls,
               "calls": {c: calls1.get(c, 0) - calls0.get(c, 0) for c in set(calls0) | set(calls1)}}
        if cpu0 and cpu1:
            res["server_cpu_s"] = cpu1[0] - cpu0[0]
            res["server_children_cpu_s"] = cpu1[1] - cpu0[1]
        res["slurm_daemons_cpu_s"] = ctld1 - ctld0
        # Final states and outputs.
        st, lst = s.api.request("GET", f"/api/jobs?history_id={h}&tool_id=cat1&limit={n + 100}")
        states = {}
        for j in lst if isinstance(lst, list) else []:
            states[j.get("state")] = states.get(j.get("state"), 0) + 1
        res["states"] = states
        if states.get("ok", 0) != len(submitted):
            self.problem(f"galaxy {label}: {len(submitted)} jobs accepted, states {states}")
        for jid in (submitted[0], submitted[-1]):
            st, full = s.api.request("GET", f"/api/jobs/{jid}?full=true")
            try:
                outs = full["outputs"]
                out = (outs.get("out_file1") or next(iter(outs.values()))) if isinstance(outs, dict) else outs[0]
                st2, text = s.api.request("GET", f"/api/datasets/{out['id']}/display")
                if st2 != 200 or text != PASTE:
                    self.problem(f"galaxy {label}: output of job {jid}: HTTP {st2} {str(text)[:80]!r}")
            except (KeyError, TypeError, IndexError, StopIteration, AttributeError) as e:
                self.problem(f"galaxy {label}: no output found for job {jid} ({e})")
        if not timed:
            return res
        # Timings from the database and from Slurm's own records.
        rows = s.job_rows(before_id)
        if len(rows) != len(submitted):
            self.problem(f"galaxy {label}: {len(rows)} cat1 rows in the database, {len(submitted)} accepted")
        res["queued_to_running"] = [r[4] - r[3] for r in rows if r[3] is not None and r[4] is not None]
        res["new_to_running"] = [r[4] - r[2] for r in rows if r[2] is not None and r[4] is not None]
        # A `running` row written within 50 ms before the terminal one: the job was not seen
        # RUNNING by a poll, only ended (marked running on its way to the end).
        res["running_at_end"] = sum(1 for r in rows if r[4] is not None and r[5] is not None and r[5] - r[4] < 0.05)
        ids = [str(r[6]) for r in rows if r[6]]
        comp = self.cluster.jobcomp_for(ids)
        if len(comp) != len(rows):
            self.problem(f"galaxy {label}: {len(comp)} of {len(rows)} jobs found in Slurm's jobcomp log")
        recs = list(comp.values())
        res.update(self.cluster.ctld_figures(ids))
        waits, first_sub, last_sub, last_end = slurm_spans(recs)
        res["slurm_submit_to_start"] = waits
        res["slurm_states"] = sorted({r.get("JobState") for r in recs})
        if last_sub is not None:
            res["first_sbatch_after_s"] = first_sub - w0
            res["last_sbatch_after_s"] = last_sub - w0
        if first_sub is not None and last_end is not None:
            res["slurm_span_s"] = last_end - first_sub
        if last_end is not None:
            res["last_slurm_end_after_s"] = last_end - w0
        sent = s.submitted_log()
        res["claim_to_sbatch_answer"] = [sent[r[0]] - r[3] for r in rows if r[0] in sent and r[3] is not None]
        if any(r[0] in sent for r in rows):
            res["last_sbatch_answer_after_s"] = max(sent[r[0]] for r in rows if r[0] in sent) - w0
        by_id = {str(r[6]): r for r in rows if r[6]}
        claim_to_sbatch, end_to_ok = [], []
        for i, rec in comp.items():
            r = by_id.get(i)
            sub, end = slurm_time(rec.get("SubmitTime")), slurm_time(rec.get("EndTime"))
            if r and r[3] is not None and sub is not None:
                claim_to_sbatch.append(sub - r[3])
            if r and r[5] is not None and end is not None:
                end_to_ok.append(r[5] - end)
        res["claim_to_sbatch"] = claim_to_sbatch
        res["end_to_ok"] = end_to_ok
        news = [r[2] for r in rows if r[2] is not None]
        claims = [r[3] for r in rows if r[3] is not None]
        oks = [r[5] for r in rows if r[5] is not None]
        if news and claims:
            res["last_claim_after_s"] = max(claims) - w0
            res["last_new_after_s"] = max(news) - w0
        if oks:
            res["last_ok_after_s"] = max(oks) - w0
        return res

    # -- bare sbatch -----------------------------------------------------------------------

    def bare_round(self, n, label, timed=True):
        a = self.args
        d = os.path.join(self.tmp, label)
        os.makedirs(d)
        with open(os.path.join(d, "a"), "w") as f:
            f.write(PASTE)
        script = os.path.join(d, "loop.sh")
        with open(script, "w") as f:
            f.write(BARE_LOOP)
        ctld0 = self.cluster.daemon_cpu()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        w0 = time.time()
        t0 = time.perf_counter()
        p = subprocess.run(["bash", script, d, str(n), f"{a.poll_interval:g}", label],
                           capture_output=True, text=True, env=self.cluster.env, timeout=a.job_timeout)
        t1 = time.perf_counter()
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        ctld1 = self.cluster.daemon_cpu()
        if p.returncode != 0:
            raise BenchError(f"bare {label}: the sbatch loop exited {p.returncode}: {p.stderr.strip()[-400:]}")
        out = dict(line.split(" ", 1) for line in p.stdout.splitlines() if " " in line)
        ids = [x for x in out.get("ids", "").split(",") if x]
        polls = int(out.get("polls", "0"))
        res = {"label": label, "n": len(ids), "elapsed_s": t1 - t0,
               "submit_loop_s": float(out["submitted"]) - w0 if "submitted" in out else None,
               "calls": {"sbatch": len(ids), "squeue": polls, "scontrol": 0, "scancel": 0},
               "loop_cpu_s": (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime),
               "slurm_daemons_cpu_s": ctld1 - ctld0}
        if len(ids) != n:
            self.problem(f"bare {label}: {len(ids)} Slurm job ids for {n} jobs")
        wrong = [i for i in range(1, n + 1) if not _same(os.path.join(d, str(i), "b"), PASTE)]
        if wrong:
            self.problem(f"bare {label}: {len(wrong)} outputs missing or wrong (e.g. {d}/{wrong[0]}/b)")
        if not timed:
            return res
        comp = self.cluster.jobcomp_for(ids)
        if len(comp) != len(ids):
            self.problem(f"bare {label}: {len(comp)} of {len(ids)} jobs found in Slurm's jobcomp log")
        recs = list(comp.values())
        res.update(self.cluster.ctld_figures(ids))
        waits, first_sub, last_sub, last_end = slurm_spans(recs)
        res["slurm_submit_to_start"] = waits
        res["slurm_states"] = sorted({r.get("JobState") for r in recs})
        if last_end is not None:
            res["last_slurm_end_after_s"] = last_end - w0
        if last_sub is not None:
            res["last_sbatch_after_s"] = last_sub - w0
        if first_sub is not None and last_end is not None:
            res["slurm_span_s"] = last_end - first_sub
        if res["slurm_states"] != ["COMPLETED"]:
            self.problem(f"bare {label}: Slurm states {res['slurm_states']}")
        return res

    # -- the whole run ---------------------------------------------------------------------

    def main(self):
        a = self.args
        log(f"galaxy-server with its Slurm runner ({a.runner_workers} workers, poll_interval {a.poll_interval:g} s), SQLite")
        self.server = Server(self)
        try:
            self.dataset = self.server.dataset()
            if a.warmup:
                log(f"warm-up: {a.warmup} jobs each way (not reported)")
                self.galaxy_round(a.warmup, "warmup", timed=False)
                self.bare_round(a.warmup, "warmup", timed=False)
            for r in range(1, a.rounds + 1):
                for kind in ("galaxy", "bare"):
                    log(f"round {r}: {kind}, {a.jobs} jobs")
                    fn = self.galaxy_round if kind == "galaxy" else self.bare_round
                    try:
                        res = fn(a.jobs, f"r{r}")
                    except BenchError as e:
                        self.problem(str(e))
                        continue
                    self.results[kind].append(res)
                    log(f"round {r}: {kind}: {res['elapsed_s']:.1f} s; Slurm calls {res['calls']}")
        finally:
            self.server.stop()
            if not a.keep:
                shutil.rmtree(self.server.dir, ignore_errors=True)
                shutil.rmtree(self.tmp, ignore_errors=True)
            else:
                log(f"kept: {self.server.dir} (galaxy.yml, server.log, universe.sqlite), {self.tmp}, {self.cluster.dir}")

    # -- report ----------------------------------------------------------------------------

    def report(self, machine, wall_s):
        a = self.args
        G, B = self.results["galaxy"], self.results["bare"]
        n = a.jobs
        rows = []

        def row(m, g, b):
            rows.append((m, g, b))

        for i in range(max(len(G), len(B))):
            g = G[i] if i < len(G) else None
            b = B[i] if i < len(B) else None
            ratio = f"; galaxy-server / bare {g['elapsed_s'] / b['elapsed_s']:.2f}×" if g and b else ""
            row(f"{n} jobs end to end, round {i + 1}",
                f"{g['elapsed_s']:.1f} s ({g['n'] / g['elapsed_s']:.2f} jobs/s)" if g else "FAILED",
                (f"{b['elapsed_s']:.1f} s ({b['n'] / b['elapsed_s']:.2f} jobs/s)" if b else "FAILED") + ratio)
        gm, bm = median([g["elapsed_s"] for g in G]), median([b["elapsed_s"] for b in B])
        if gm and bm:
            row(f"{n} jobs end to end, median of {len(G)} / {len(B)} rounds",
                f"**{gm:.1f} s** ({n / gm:.2f} jobs/s)",
                f"**{bm:.1f} s** ({n / bm:.2f} jobs/s); **galaxy-server / bare {gm / bm:.2f}×** (target ≤ {TARGET_RATIO}×)")

        def phase(res, key):
            return median([r[key] for r in res if r.get(key) is not None])

        row("… the submission phase: start → the last sbatch answered (median)",
            f"{fmt_s(phase(G, 'last_sbatch_answer_after_s'))} (server log; all POSTs answered after {fmt_s(phase(G, 'post_s'))}, "
            f"the last job claimed after {fmt_s(phase(G, 'last_claim_after_s'))})",
            f"{fmt_s(phase(B, 'submit_loop_s'))} (the sbatch loop, one at a time)")
        row("… in Slurm: the first SubmitTime → the last EndTime (median; jobcomp, 1 s)",
            fmt_s(phase(G, "slurm_span_s")), fmt_s(phase(B, "slurm_span_s")))
        row("… the last job's Slurm EndTime (jobcomp, 1 s) → end seen (median)",
            f"{fmt_s(_diff(phase(G, 'elapsed_s'), phase(G, 'last_slurm_end_after_s')))}",
            f"{fmt_s(_diff(phase(B, 'elapsed_s'), phase(B, 'last_slurm_end_after_s')))}")

        def calls_per_job(res):
            tot = {c: sum(r["calls"].get(c, 0) for r in res) for c in COMMANDS}
            jobs = sum(r["n"] for r in res) or 1
            parts = [f"{c} {tot[c] / jobs:.2f}" for c in COMMANDS]
            return f"{sum(tot.values()) / jobs:.2f} ({', '.join(parts)})", tot

        if G and B:
            gtxt, gtot = calls_per_job(G)
            btxt, btot = calls_per_job(B)
            row("Slurm client calls per job (all timed rounds)",
                gtxt + " — GET /metrics galaxy_server_slurm_calls_total before/after",
                btxt + f" — {n} sbatch + the squeue polls")
            gsec = sum(g["elapsed_s"] for g in G)
            row(f"squeue calls per {a.poll_interval:g} s poll interval (1 handler)",
                f"{gtot['squeue'] / (gsec / a.poll_interval):.2f} ({gtot['squeue']} calls in {gsec:.0f} s)",
                f"{btot['squeue'] / (sum(b['elapsed_s'] for b in B) / a.poll_interval):.2f} (the loop polls after its last sbatch only)")

        def pooled(res, key):
            return [x for r in res for x in r.get(key, [])]

        row("submit → running, galaxy-server database: `queued` row (claim) → first `running` row",
            fmt_lat(pooled(G, "queued_to_running")),
            "—")
        row("submit → running, galaxy-server database: job.create_time (`new`) → first `running` row",
            fmt_lat(pooled(G, "new_to_running")),
            "—")
        row("submit → running, Slurm's record: SubmitTime → StartTime (jobcomp, **1 s resolution**)",
            fmt_lat(pooled(G, "slurm_submit_to_start"), "s"),
            fmt_lat(pooled(B, "slurm_submit_to_start"), "s"))
        row("submit → running, slurmctld's log (ms): submission RPC → allocation",
            fmt_lat(pooled(G, "ctld_submit_to_start")), fmt_lat(pooled(B, "ctld_submit_to_start")))
        row("a job's time on the node, slurmctld's log: allocation → completion",
            fmt_lat(pooled(G, "ctld_start_to_end")), fmt_lat(pooled(B, "ctld_start_to_end")))

        def passes(res):
            if not any("ctld_passes" in r for r in res):
                return "n/a"
            return (f"{median([r['ctld_passes'] for r in res if 'ctld_passes' in r]):.0f} passes, at most "
                    f"{max(r['ctld_jobs_per_pass_max'] for r in res if 'ctld_passes' in r)} jobs each, "
                    f"{median([r['ctld_pass_gap_median_s'] for r in res if r.get('ctld_pass_gap_median_s') is not None]):.2f} s apart (medians)")

        row(f"Slurm's scheduling passes that started a round's {n} jobs (slurmctld's log; allocations < 50 ms apart = one pass)",
            passes(G), passes(B))
        ran = sum(r.get("running_at_end", 0) for r in G)
        tot = sum(r["n"] for r in G)
        row("galaxy-server, where a job's time goes: claim (`queued` row) → its sbatch answered (server log, ms)",
            fmt_lat(pooled(G, "claim_to_sbatch_answer")), "—")
        row("galaxy-server, where a job's time goes: Slurm EndTime → `ok` row (jobcomp, 1 s resolution)",
            fmt_lat(pooled(G, "end_to_ok"), "s"), "—")
        row("galaxy-server: jobs never seen RUNNING by a poll (`running` row written < 50 ms before the end)",
            f"{ran} of {tot}", "—")
        gcpu = [r for r in G if "server_cpu_s" in r]
        if gcpu and B:
            gj = sum(r["n"] for r in gcpu)
            bj = sum(r["n"] for r in B)
            row("CPU per job: client side (galaxy-server incl. its sbatch/squeue children; the bash loop incl. sbatch/squeue)",
                f"{1000 * sum(r['server_cpu_s'] for r in gcpu) / gj:.1f} ms server + "
                f"{1000 * sum(r['server_children_cpu_s'] for r in gcpu) / gj:.1f} ms children",
                f"{1000 * sum(r['loop_cpu_s'] for r in B) / bj:.1f} ms")
            row("CPU per job: slurmctld + slurmd (themselves)",
                f"{1000 * sum(r['slurm_daemons_cpu_s'] for r in G) / tot:.1f} ms",
                f"{1000 * sum(r['slurm_daemons_cpu_s'] for r in B) / bj:.1f} ms")

        c = self.cluster
        lines = [
            f"Command: `{' '.join(['bash scripts/bench_slurm'] + sys.argv[1:])}`",
            "",
            f"Machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['mem_mib']} MiB RAM, Linux {machine['kernel']}; "
            f"{machine['date']}; galaxy-server {machine['git']}; {machine['rustc']}; {c.version}; "
            f"load average at start {machine['loadavg_at_start']}. Cluster: scripts/slurm-cluster, one node "
            f"(CPUs={c.cpus}, {c.oversubscribe}, {c.settings.get('SelectType', '?')} {c.settings.get('SelectTypeParameters', '')}, "
            f"{c.settings.get('SchedulerParameters', '')}), the daemons, the server and the client on the same CPUs. "
            f"galaxy-server: all-in-one, SQLite, Slurm runner with {a.runner_workers} workers and poll_interval {a.poll_interval:g} s; "
            f"{a.client_threads} client threads; completion polled every {a.client_poll:g} s. Bare: squeue every {a.poll_interval:g} s. "
            f"Rounds alternate galaxy-server, bare, … after a warm-up of {a.warmup} jobs each; the whole run took {wall_s / 60:.1f} min.",
            "",
            "| measurement | galaxy-server (Slurm runner) | bare `sbatch` loop + `squeue` |",
            "|---|---|---|",
        ]
        for m, g, b in rows:
            lines.append(f"| {m} | {g} | {b} |")
        if self.problems:
            lines += ["", "Problems seen:"] + ["- " + p.replace("\n", "\n  ") for p in self.problems]
        return "\n".join(lines)


def _diff(a, b):
    return None if a is None or b is None else a - b


def _same(path, text):
    try:
        with open(path) as f:
            return f.read() == text
    except OSError:
        return False


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cluster-dir", default=os.environ.get("GALAXY_BENCH_SLURM_DIR"),
                   help="directory of a cluster started by scripts/slurm-cluster (scripts/bench_slurm passes it)")
    p.add_argument("--jobs", type=int, default=200, help="jobs per round, each way (200)")
    p.add_argument("--rounds", type=int, default=2, help="rounds of galaxy-server then bare (2)")
    p.add_argument("--poll-interval", type=float, default=1.0,
                   help="seconds between squeue polls: the Slurm runner's poll_interval and the bare loop's sleep (1)")
    p.add_argument("--runner-workers", type=int, default=4, help="workers of galaxy-server's Slurm runner (4)")
    p.add_argument("--client-threads", type=int, default=4, help="threads submitting POST /api/tools (4)")
    p.add_argument("--client-poll", type=float, default=0.1, help="seconds between the client's completion polls (0.1)")
    p.add_argument("--warmup", type=int, default=4, help="jobs each way before the first round, not reported (4)")
    p.add_argument("--job-timeout", type=float, default=600.0, help="seconds one round may take (600)")
    p.add_argument("--rust-log", default=None, help="RUST_LOG for the server (default: unset)")
    p.add_argument("--tmp", default=None, help="directory for the temporary directories")
    p.add_argument("--keep", action="store_true", help="keep the temporary directories")
    p.add_argument("--markdown", default=None, help="also write the report to this file")
    p.add_argument("--json", default=None, help="also write every figure as JSON to this file")
    a = p.parse_args()
    if not a.cluster_dir:
        p.error("--cluster-dir is required (or run `bash scripts/bench_slurm`)")
    if a.jobs < 1 or a.rounds < 1 or a.poll_interval <= 0:
        p.error("--jobs and --rounds must be at least 1, --poll-interval positive")
    t0 = time.perf_counter()
    run = Run(a)
    machine = bench.machine_info()
    try:
        run.main()
    except BenchError as e:
        run.problem(str(e))
    report = run.report(machine, time.perf_counter() - t0)
    print(report)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(report + "\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": machine, "args": vars(a), "results": run.results, "problems": run.problems}, f, indent=2)
    failed = len(run.results["galaxy"]) < a.rounds or len(run.results["bare"]) < a.rounds
    return 1 if failed or run.problems else 0


if __name__ == "__main__":
    sys.exit(main())
