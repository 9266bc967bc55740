"""BioBlend's workflows and invocations clients against a running galaxy-server.

Usage: python test_workflows.py URL ADMIN_KEY WORKFLOW_GA
Imports the 4-step workflow (input -> sort1 -> cat1 of two branches -> wc_gnu), invokes it,
waits for the invocation and its jobs, reads the outputs, exports and re-imports it, cancels
an invocation, deletes the workflow. Prints "BIOBLEND WORKFLOWS OK"; any exception exits
non-zero.
"""

import json
import sys
import uuid

from bioblend.galaxy import GalaxyInstance

TEXT = "pear\napple\nfig\n"


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    url, admin_key, ga_path = sys.argv[1], sys.argv[2], sys.argv[3]
    admin = GalaxyInstance(url, key=admin_key)
    suffix = uuid.uuid4().hex[:8]
    user = admin.users.create_local_user(f"wf-{suffix}", f"wf-{suffix}@example.org", "wf-password-1")
    gi = GalaxyInstance(url, key=admin.users.create_user_apikey(user["id"]))

    with open(ga_path) as f:
        ga = json.load(f)
    wf = gi.workflows.import_workflow_dict(ga)
    check(wf["name"] == ga["name"], f"imported {wf}")
    shown = gi.workflows.show_workflow(wf["id"])
    check(len(shown["steps"]) == 4, f"show_workflow: {shown}")
    check(set(shown["inputs"]) == {"0"}, f"inputs: {shown['inputs']}")
    check(any(w["id"] == wf["id"] for w in gi.workflows.get_workflows()), "get_workflows")

    history = gi.histories.create_history(name="workflow run")
    upload = gi.tools.paste_content(TEXT, history["id"], file_type="txt")
    gi.jobs.wait_for_job(upload["jobs"][0]["id"])
    data = upload["outputs"][0]["id"]

    inv = gi.workflows.invoke_workflow(
        wf["id"], inputs={"0": {"src": "hda", "id": data}}, history_id=history["id"]
    )
    check(inv["state"] in ("new", "ready", "scheduled"), f"invoke_workflow: {inv}")
    inv = gi.invocations.wait_for_invocation(inv["id"], maxwait=60)
    check(inv["state"] == "scheduled", f"wait_for_invocation: {inv}")
    jobs = [s["job_id"] for s in inv["steps"] if s["job_id"]]
    check(len(jobs) == 3, f"one job per tool step: {inv['steps']}")
    for job in jobs:
        done = gi.jobs.wait_for_job(job, maxwait=60)
        check(done["state"] == "ok", f"job {done}")
    inv = gi.invocations.show_invocation(inv["id"])
    both = gi.datasets.download_dataset(inv["outputs"]["concatenated"]["id"])
    check(both == b"apple\nfig\npear\npear\napple\nfig\n", f"cat1 output: {both!r}")
    counts = gi.datasets.download_dataset(inv["outputs"]["counts"]["id"])
    check(counts == b"#lines\twords\tcharacters\n6\t6\t30\n", f"wc_gnu output: {counts!r}")
    summary = gi.invocations.get_invocation_summary(inv["id"])
    check(summary["states"] == {"ok": 3}, f"get_invocation_summary: {summary}")
    listed = gi.invocations.get_invocations(workflow_id=wf["id"])
    check([i["id"] for i in listed] == [inv["id"]], f"get_invocations: {listed}")
    listed = gi.invocations.get_invocations(history_id=history["id"])
    check([i["id"] for i in listed] == [inv["id"]], f"get_invocations by history: {listed}")

    # Export -> import: the same document.
    exported = gi.workflows.export_workflow_dict(wf["id"])
    again = gi.workflows.import_workflow_dict(exported)
    check(gi.workflows.export_workflow_dict(again["id"]) == exported, "round trip")

    # A new history by name, parameters by step label; then cancel.
    # ... and the RenameDatasetAction's name taken from replacement_params.
    ga2 = json.loads(json.dumps(ga))
    ga2["steps"]["1"]["post_job_actions"]["RenameDatasetActionout_file1"]["action_arguments"][
        "newname"] = "sorted ${sample}"
    renamed = gi.workflows.import_workflow_dict(ga2)
    inv2 = gi.workflows.invoke_workflow(
        renamed["id"],
        inputs={"text input": {"src": "hda", "id": data}},
        params={"sorted": {"order": "descending"}},
        history_name="second run",
        inputs_by="name",
        replacement_params={"sample": "S1"},
    )
    check(inv2["history_id"] != history["id"], f"history_name: {inv2}")
    inv2 = gi.invocations.wait_for_invocation(inv2["id"], maxwait=60)
    sort_job = [s["job_id"] for s in inv2["steps"] if s["order_index"] == 1][0]
    sorted_out = gi.jobs.show_job(sort_job, full_details=True)["outputs"]["out_file1"]["id"]
    name = gi.datasets.show_dataset(sorted_out)["name"]
    check(name == "sorted S1", f"replacement_params: the sort's output is named {name!r}")
    cancelled = gi.invocations.cancel_invocation(inv2["id"])
    check(cancelled["state"] == "cancelled", f"cancel_invocation: {cancelled}")

    gi.workflows.delete_workflow(again["id"])
    check(all(w["id"] != again["id"] for w in gi.workflows.get_workflows()), "deleted")
    print("BIOBLEND WORKFLOWS OK")


if __name__ == "__main__":
    main()
