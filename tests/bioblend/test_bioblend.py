"""BioBlend against a running galaxy-server.

Usage: python test_bioblend.py URL ADMIN_KEY
Prints "BIOBLEND OK" when every step worked; any exception exits non-zero.
"""

import sys
import uuid

from bioblend.galaxy import GalaxyInstance
from bioblend.galaxy.dataset_collections import (
    CollectionDescription,
    CollectionElement,
    HistoryDatasetElement,
)

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

    collections(gi, history_id)

    print("BIOBLEND OK")


def collections(gi, history_id):
    """A list and a list:paired built with create_dataset_collection, shown, and sort1 mapped
    over the list."""
    texts = [f"b{i}\na{i}\nc{i}\n" for i in range(4)]
    ids = []
    for text in texts:
        up = gi.tools.paste_content(text, history_id, file_type="txt")
        gi.jobs.wait_for_job(up["jobs"][0]["id"], maxwait=60, interval=0.2)
        ids.append(up["outputs"][0]["id"])

    listed = gi.histories.create_dataset_collection(
        history_id,
        CollectionDescription(
            name="bb list",
            type="list",
            elements=[HistoryDatasetElement(name=f"s{i}", id=d) for i, d in enumerate(ids)],
        ),
    )
    check(listed["collection_type"] == "list" and listed["element_count"] == 4, f"list: {listed}")
    paired = gi.histories.create_dataset_collection(
        history_id,
        CollectionDescription(
            name="bb pairs",
            type="list:paired",
            elements=[
                CollectionElement(
                    name=f"p{p}",
                    type="paired",
                    elements=[
                        HistoryDatasetElement(name="forward", id=ids[2 * p]),
                        HistoryDatasetElement(name="reverse", id=ids[2 * p + 1]),
                    ],
                )
                for p in range(2)
            ],
        ),
    )
    check(paired["collection_type"] == "list:paired" and paired["element_count"] == 2,
          f"list:paired: {paired}")

    shown = gi.dataset_collections.show_dataset_collection(listed["id"])
    check([e["element_identifier"] for e in shown["elements"]] == ["s0", "s1", "s2", "s3"],
          f"show_dataset_collection: {shown}")
    shown = gi.histories.show_dataset_collection(history_id, paired["id"])
    check(shown["elements"][1]["object"]["elements"][0]["object"]["id"] == ids[2],
          f"histories.show_dataset_collection: {shown}")
    contents = gi.histories.show_history(history_id, contents=True)
    check({listed["id"], paired["id"]} <= {c["id"] for c in contents
                                           if c["history_content_type"] == "dataset_collection"},
          f"contents: {contents}")

    run = gi.tools.run_tool(history_id, "sort1",
                            {"input": {"batch": True, "values": [{"src": "hdca", "id": listed["id"]}]}})
    check(len(run["jobs"]) == 4 and len(run["implicit_collections"]) == 1, f"mapped run: {run}")
    for job in run["jobs"]:
        job = gi.jobs.wait_for_job(job["id"], maxwait=60, interval=0.2)
        check(job["state"] == "ok", f"mapped job: {job}")
    out = gi.dataset_collections.show_dataset_collection(run["implicit_collections"][0]["id"])
    check([e["element_identifier"] for e in out["elements"]] == ["s0", "s1", "s2", "s3"],
          f"output collection: {out}")
    for i, e in enumerate(out["elements"]):
        content = gi.datasets.download_dataset(e["object"]["id"], maxwait=60)
        check(content == f"a{i}\nb{i}\nc{i}\n".encode(), f"element {i}: {content!r}")


if __name__ == "__main__":
    main()
