"""BioBlend against a running galaxy-server.

Usage: python test_bioblend.py URL ADMIN_KEY
Prints "BIOBLEND OK" when every step worked; any exception exits non-zero.
"""

import sys
import uuid

from bioblend.galaxy import GalaxyInstance

TEXT = "pear\napple\nfig\n"
SORTED = b"apple\nfig\npear\n"


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    url, admin_key = sys.argv[1], sys.argv[2]
    suffix = uuid.uuid4().hex[:10]

    admin = GalaxyInstance(url, key=admin_key)
    version = admin.config.get_version()
    check("version_major" in version, f"version: {version}")

    user = admin.users.create_local_user(f"bb-{suffix}", f"bb-{suffix}@example.org", "bioblend-password")
    check(user.get("id"), f"created user: {user}")
    key = admin.users.create_user_apikey(user["id"])
    check(isinstance(key, str) and key, f"api key: {key!r}")

    gi = GalaxyInstance(url, key=key)
    me = gi.users.get_current_user()
    check(me["id"] == user["id"], f"current user {me} is not {user}")
    check(me["email"] == f"bb-{suffix}@example.org", f"current user: {me}")

    history = gi.histories.create_history(name="bioblend test")
    history_id = history["id"]
    check(history["name"] == "bioblend test", f"history: {history}")

    upload = gi.tools.paste_content(TEXT, history_id, file_type="txt")
    dataset_id = upload["outputs"][0]["id"]
    upload_job = gi.jobs.wait_for_job(upload["jobs"][0]["id"], maxwait=60, interval=0.2)
    check(upload_job["state"] == "ok", f"upload job: {upload_job}")
    pasted = gi.datasets.download_dataset(dataset_id, maxwait=60)
    check(pasted == TEXT.encode(), f"pasted content: {pasted!r}")

    run = gi.tools.run_tool(history_id, "sort1", {"input": {"src": "hda", "id": dataset_id}})
    job_id = run["jobs"][0]["id"]
    output_id = run["outputs"][0]["id"]
    job = gi.jobs.wait_for_job(job_id, maxwait=60, interval=0.2)
    check(job["state"] == "ok", f"sort1 job: {job}")

    content = gi.datasets.download_dataset(output_id, maxwait=60)
    check(content == SORTED, f"sorted content: {content!r}")
    shown = gi.datasets.show_dataset(output_id)
    check(shown["state"] == "ok" and shown["file_size"] == len(SORTED), f"dataset: {shown}")

    full = gi.jobs.show_job(job_id, full_details=True)
    for k in ("id", "state", "tool_id", "history_id", "exit_code", "stdout", "stderr",
              "command_line", "inputs", "outputs", "create_time", "update_time"):
        check(k in full, f"show_job(full_details=True) lacks {k}: {full}")
    check(full["tool_id"] == "sort1" and full["exit_code"] == 0, f"job: {full}")
    check(full["inputs"]["input"]["id"] == dataset_id, f"job inputs: {full['inputs']}")
    check(full["outputs"]["out_file1"]["id"] == output_id, f"job outputs: {full['outputs']}")

    metrics = {m["name"]: m for m in gi.jobs.get_metrics(job_id)}
    for name in ("runtime_seconds", "start_epoch", "end_epoch", "galaxy_slots"):
        check(name in metrics, f"get_metrics lacks {name}: {metrics}")
    check(all(m["plugin"] == "core" for m in metrics.values()), f"get_metrics: {metrics}")
    check(float(metrics["runtime_seconds"]["raw_value"]) >= 0, f"runtime: {metrics}")
    check(float(metrics["start_epoch"]["raw_value"]) <= float(metrics["end_epoch"]["raw_value"]),
          f"start after end: {metrics}")
    check(metrics["galaxy_slots"]["value"] == "1", f"slots: {metrics}")
    admin_full = admin.jobs.show_job(job_id, full_details=True)
    check({m["name"] for m in admin_full["job_metrics"]} == set(metrics),
          f"show_job(full_details=True) metrics: {admin_full['job_metrics']}")

    jobs = gi.jobs.get_jobs(history_id=history_id, state="ok", tool_id="sort1")
    check([j["id"] for j in jobs] == [job_id], f"get_jobs: {jobs}")

    contents = gi.histories.show_history(history_id, contents=True)
    ids = {c["id"] for c in contents}
    check({dataset_id, output_id} <= ids, f"history contents: {contents}")
    shown_history = gi.histories.show_history(history_id)
    check(shown_history["state"] == "ok", f"history: {shown_history}")
    histories = gi.histories.get_histories()
    check(history_id in {h["id"] for h in histories}, f"get_histories: {histories}")

    # upload_file: a 50 MB file through tus (10 MB chunks) and POST /api/tools/fetch.
    import hashlib
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "reads.bin")
        block = os.urandom(1 << 20)
        digest = hashlib.sha256()
        with open(path, "wb") as f:
            for i in range(50):
                piece = bytes([i]) + block[1:]
                f.write(piece)
                digest.update(piece)
        uploaded = gi.tools.upload_file(path, history_id)
        check(uploaded["jobs"][0]["state"] == "ok", f"upload_file job: {uploaded}")
        up_id = uploaded["outputs"][0]["id"]
        check(uploaded["outputs"][0]["name"] == "reads.bin", f"upload_file name: {uploaded}")
        shown = gi.datasets.show_dataset(up_id)
        check(shown["file_size"] == 50 << 20, f"upload_file size: {shown}")
        got = os.path.join(tmp, "got.bin")
        gi.datasets.download_dataset(up_id, file_path=got, use_default_filename=False)
        with open(got, "rb") as f:
            check(hashlib.sha256(f.read()).hexdigest() == digest.hexdigest(), "upload_file content differs")

    print("BIOBLEND OK")


if __name__ == "__main__":
    main()
