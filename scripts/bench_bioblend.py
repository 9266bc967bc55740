#!/usr/bin/env python3
"""BioBlend benchmarks of galaxy-server (BENCHMARKS.md, "BioBlend uploads and mapping"); run
through `bash scripts/bench_bioblend`, with the Python of a virtualenv holding BioBlend.

Every measurement starts the real release binary in a fresh temporary directory with a
generated galaxy.yml (the machinery of scripts/bench.py).

Sections (--sections):
  upload    BioBlend's `upload_file` of a SIZE MiB file (tus in BioBlend's 10 MB chunks, then
            the fetch API), MB/s from the call to the dataset `ok`, and how much the server's
            peak RSS (VmHWM) grew; baseline: copying the same file with `cp` in the same run
  mapping   `cat1` mapped over a list of N elements (one request): the request's answer time
            (median of --rounds), and request → every job `ok`; baseline: the same N jobs
            submitted one request each from one client, in the same run
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as base  # noqa: E402

from bioblend.galaxy import GalaxyInstance as BioBlend  # noqa: E402

MIB = 1024 * 1024
TARGET_UPLOAD_MBS = 200
TARGET_RSS_GROWTH_MIB = 20
TARGET_MAP_MS = 500


def peak_rss(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise base.BenchError(f"no VmHWM for pid {pid}")


class Bench(base.Bench):
    def new_user(self, inst):
        admin = BioBlend(f"http://127.0.0.1:{inst.port}", key=base.ADMIN_KEY)
        suffix = uuid.uuid4().hex[:10]
        user = admin.users.create_local_user(f"bench-{suffix}", f"bench-{suffix}@example.org", "bench-password")
        return BioBlend(f"http://127.0.0.1:{inst.port}", key=admin.users.create_user_apikey(user["id"]))

    def upload(self, db_kind):
        size = self.args.upload_mib
        inst = base.GalaxyInstance(self, db_kind, f"upload-{db_kind}")
        with open(inst.config, "a") as f:
            f.write(f"  upload_body_limit: {size + 64}M\n")
        try:
            inst.start()
            gi = self.new_user(inst)
            history_id = gi.histories.create_history(name="upload bench")["id"]
            with tempfile.TemporaryDirectory(dir=self.args.tmp) as tmp:
                path = os.path.join(tmp, "big.bin")
                block = os.urandom(MIB)
                with open(path, "wb") as f:
                    for i in range(size):
                        f.write(bytes([i % 256]) + block[1:])
                started = time.monotonic()
                shutil.copyfile(path, os.path.join(tmp, "copy.bin"))
                os.sync()
                cp_s = time.monotonic() - started
                os.unlink(os.path.join(tmp, "copy.bin"))
                before = peak_rss(inst.proc.pid)
                started = time.monotonic()
                up = gi.tools.upload_file(path, history_id)
                took = time.monotonic() - started
                after = peak_rss(inst.proc.pid)
            shown = gi.datasets.show_dataset(up["outputs"][0]["id"])
            if shown["state"] != "ok" or shown["file_size"] != size * MIB:
                raise base.BenchError(f"uploaded dataset is {shown['state']} with {shown['file_size']} bytes")
            mbs = size * MIB / 1e6 / took
            grew = (after - before) / MIB
            self.results[f"upload_{db_kind}"] = {"mib": size, "seconds": took, "mb_s": mbs, "rss_before_mib": before / MIB, "rss_growth_mib": grew, "cp_mb_s": size * MIB / 1e6 / cp_s}
            label = "SQLite" if db_kind == "sqlite" else "PostgreSQL"
            self.row(f"upload_file of {size} MiB, {label}: MB/s (call → dataset ok)", f"{mbs:.0f} MB/s",
                     f"cp of the same file {size * MIB / 1e6 / cp_s:.0f} MB/s; target ≥ {TARGET_UPLOAD_MBS} MB/s")
            self.row(f"upload_file of {size} MiB, {label}: server peak RSS growth", f"{grew:+.1f} MiB (from {before / MIB:.1f})",
                     f"target ≤ {TARGET_RSS_GROWTH_MIB} MiB")
        finally:
            inst.cleanup()

    def mapping(self, db_kind):
        n = self.args.elements
        inst = base.GalaxyInstance(self, db_kind, f"mapping-{db_kind}")
        try:
            inst.start()
            gi = self.new_user(inst)
            api = base.Api(inst.port, key=gi.key, timeout=300)
            history_id = gi.histories.create_history(name="mapping bench")["id"]
            pasted = api.ok("POST", "/api/tools", {"tool_id": "upload1", "history_id": history_id,
                            "inputs": {"files_0|type": "upload_dataset", "files_0|url_paste": "b\na\n", "file_type": "txt"}})
            one = pasted["outputs"][0]["id"]
            self.wait_ok(api, [pasted["jobs"][0]["id"]])
            elements = [{"name": f"e{i:05}", "src": "hda", "id": one} for i in range(n)]
            hdca = api.ok("POST", f"/api/histories/{history_id}/contents",
                          {"type": "dataset_collection", "collection_type": "list", "element_identifiers": elements})
            answers, ends = [], []
            for r in range(self.args.rounds):
                started = time.monotonic()
                run = api.ok("POST", "/api/tools", {"tool_id": "cat1", "history_id": history_id,
                             "inputs": {"input1": {"batch": True, "values": [{"src": "hdca", "id": hdca["id"]}]}}})
                answered = time.monotonic() - started
                jobs = [j["id"] for j in run["jobs"]]
                if len(jobs) != n:
                    raise base.BenchError(f"the mapped run made {len(jobs)} jobs, not {n}")
                self.wait_ok(api, jobs)
                ended = time.monotonic() - started
                base.log(f"mapping {r + 1}/{self.args.rounds} ({db_kind}): answered in {answered * 1000:.0f} ms, every job ok after {ended:.2f} s")
                answers.append(answered)
                ends.append(ended)
            # The same request while the previous run's jobs still run (the 2 cores shared
            # with 8 running jobs and the handler claiming and finishing the rest).
            body = {"tool_id": "cat1", "history_id": history_id,
                    "inputs": {"input1": {"batch": True, "values": [{"src": "hdca", "id": hdca["id"]}]}}}
            first = api.ok("POST", "/api/tools", body)
            time.sleep(0.5)
            started = time.monotonic()
            second = api.ok("POST", "/api/tools", body)
            busy = time.monotonic() - started
            self.wait_ok(api, [j["id"] for j in first["jobs"] + second["jobs"]])
            base.log(f"mapping while busy ({db_kind}): answered in {busy * 1000:.0f} ms")
            # Baseline: the same jobs, one request each, one client.
            started = time.monotonic()
            singles = []
            for _ in range(n):
                run = api.ok("POST", "/api/tools", {"tool_id": "cat1", "history_id": history_id,
                             "inputs": {"input1": {"src": "hda", "id": one}}})
                singles.append(run["jobs"][0]["id"])
            single_answer = time.monotonic() - started
            self.wait_ok(api, singles)
            single_end = time.monotonic() - started
            label = "SQLite" if db_kind == "sqlite" else "PostgreSQL"
            self.results[f"mapping_{db_kind}"] = {"elements": n, "answer_s": answers, "all_ok_s": ends,
                                                  "busy_answer_s": busy, "singles_answer_s": single_answer, "singles_all_ok_s": single_end}
            self.row(f"cat1 mapped over {n} elements, {label}: request answered (median of {len(answers)})",
                     f"{statistics.median(answers) * 1000:.0f} ms (min {min(answers) * 1000:.0f}, max {max(answers) * 1000:.0f})",
                     f"{n} single requests: {single_answer * 1000:.0f} ms; target ≤ {TARGET_MAP_MS} ms")
            self.row(f"cat1 mapped over {n} elements, {label}: request answered while the previous run's {n} jobs run",
                     f"{busy * 1000:.0f} ms", f"target ≤ {TARGET_MAP_MS} ms")
            self.row(f"cat1 mapped over {n} elements, {label}: request → every job ok (median)",
                     f"{statistics.median(ends):.2f} s", f"{n} single requests → every job ok: {single_end:.2f} s")
            api.close()
        finally:
            inst.cleanup()

    def wait_ok(self, api, job_ids, timeout=600.0):
        """Polls until none of `job_ids` is new, queued or running; then every one must be ok."""
        deadline = time.monotonic() + timeout
        wanted = set(job_ids)
        while True:
            busy = api.ok("GET", "/api/jobs?state=new,queued,running&limit=10000") or []
            if not wanted & {j["id"] for j in busy}:
                break
            if time.monotonic() > deadline:
                raise base.BenchError(f"jobs not finished after {timeout:.0f} s")
            time.sleep(0.05)
        ok = {j["id"] for j in api.ok("GET", "/api/jobs?state=ok&limit=10000") or []}
        if not wanted <= ok:
            raise base.BenchError(f"{len(wanted - ok)} of {len(wanted)} jobs did not end ok")

    def report(self, machine):
        lines = [f"Command: `{' '.join(['bash scripts/bench_bioblend'] + sys.argv[1:])}`", ""]
        lines.append(
            f"Machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['mem_mib']} MiB RAM, Linux {machine['kernel']}; "
            f"{machine['date']}; galaxy-server {machine['git']}; {machine['rustc']}; load average at start "
            f"{machine['loadavg_at_start']}. Server and client share the same CPUs."
        )
        lines += ["", "| measurement | galaxy-server | baseline / target |", "|---|---|---|"]
        for m, o, r in self.rows:
            lines.append(f"| {m} | {o} | {r} |".replace("\n", " "))
        if self.problems:
            lines += ["", "Problems seen:"] + ["- " + p.replace("\n", "\n  ") for p in self.problems]
        return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sections", default="upload,mapping", help="comma list of upload,mapping")
    p.add_argument("--no-postgres", action="store_true", help="SQLite only")
    p.add_argument("--postgres", default=os.environ.get("GALAXY_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
                   help="PostgreSQL server URL without database (env GALAXY_BENCH_POSTGRES)")
    p.add_argument("--upload-mib", type=int, default=1024, help="size of the uploaded file in MiB (1024)")
    p.add_argument("--elements", type=int, default=1000, help="elements of the mapped list (1000)")
    p.add_argument("--rounds", type=int, default=3, help="mapped runs per database (3)")
    p.add_argument("--workers", type=int, default=2, help="web workers (2)")
    p.add_argument("--runner-workers", type=int, default=8, help="local runner workers (8)")
    p.add_argument("--tmp", default=None, help="directory for the temporary server directories")
    p.add_argument("--keep", action="store_true", help="keep temporary directories (logs, databases)")
    p.add_argument("--markdown", default=None, help="also write the report to this file")
    p.add_argument("--json", default=None, help="also write every figure as JSON to this file")
    a = p.parse_args()
    a.sections = [s.strip() for s in a.sections.split(",") if s.strip()]
    for s in a.sections:
        if s not in ("upload", "mapping"):
            p.error(f"unknown section {s!r}")
    # What GalaxyInstance reads from the shared driver's arguments.
    a.job_conf, a.rust_log, a.quick = "generated", None, False
    if a.no_postgres:
        a.postgres = None
    bench = Bench(a)
    machine = base.machine_info()
    dbs = ["sqlite"] + (["postgres"] if bench.pg else [])
    try:
        for db in dbs:
            if "upload" in a.sections:
                bench.section(f"upload_file ({db})", bench.upload, db)
            if "mapping" in a.sections:
                bench.section(f"mapping ({db})", bench.mapping, db)
    finally:
        if bench.pg and not a.keep:
            bench.pg.drop_all()
    return base.emit(bench.report(machine), a, machine, bench)


if __name__ == "__main__":
    sys.exit(main())
