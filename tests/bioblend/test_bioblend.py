"""BioBlend against a running galaxy-server.

Usage: python test_bioblend.py URL ADMIN_KEY [OBJECT_STORE_DIR]
Prints "BIOBLEND OK" when every step worked; any exception exits non-zero.
"""

import os
import sys
import tempfile
import uuid
import zipfile

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


def check_password_login(url, user, key, suffix):
    """GalaxyInstance(url, email=..., password=...): the user's own key, through baseauth."""
    email = f"bb-{suffix}@example.org"
    by_email = GalaxyInstance(url, email=email, password="bioblend-password")
    me = by_email.users.get_current_user()
    check(me["id"] == user["id"], f"logged in by password as {me}, not {user}")
    check(by_email.key == key, f"baseauth key {by_email.key!r} is not the user's {key!r}")
    by_username = GalaxyInstance(url, email=f"bb-{suffix}", password="bioblend-password")
    check(by_username.key == key, f"username login key {by_username.key!r}")
    for identity, password in ((email, "wrong-password"), (f"nobody-{suffix}@example.org", "x")):
        try:
            GalaxyInstance(url, email=identity, password=password).users.get_current_user()
        except Exception as e:
            check("Failed to authenticate" in str(e), f"login as {identity}: {e!r}")
        else:
            raise AssertionError(f"login as {identity} with a wrong password succeeded")


def files_with(root, content):
    """The files under `root` whose content is exactly `content`."""
    found = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                if f.read() == content:
                    found.append(path)
    return found


def upkeep(gi, objects):
    """Listing, renaming, deleting and purging histories and datasets, and downloads."""
    history_id = gi.histories.create_history(name="upkeep")["id"]
    texts = [f"upkeep {i} {uuid.uuid4().hex}\n" for i in range(3)]
    ids = []
    for text in texts:
        upload = gi.tools.paste_content(text, history_id, file_type="txt")
        job = gi.jobs.wait_for_job(upload["jobs"][0]["id"], maxwait=60, interval=0.2)
        check(job["state"] == "ok", f"upload job: {job}")
        ids.append(upload["outputs"][0]["id"])

    listed = gi.datasets.get_datasets(history_id=history_id)
    check([d["id"] for d in listed] == ids[::-1], f"get_datasets(history_id): {listed}")
    listed = gi.datasets.get_datasets(history_id=history_id, state="ok", extension=["txt"],
                                      deleted=False, visible=True, order="hid-asc", limit=2)
    check([d["id"] for d in listed] == ids[:2], f"get_datasets(filters): {listed}")

    updated = gi.histories.update_history(history_id, name="kept tidy", annotation="notes")
    check(updated["name"] == "kept tidy" and updated["annotation"] == "notes",
          f"update_history: {updated}")
    renamed = gi.histories.update_dataset(history_id, ids[0], name="renamed", visible=False)
    check(renamed["name"] == "renamed" and renamed["visible"] is False, f"update_dataset: {renamed}")
    listed = gi.datasets.get_datasets(name="renamed")
    check([d["id"] for d in listed] == [ids[0]], f"get_datasets(name): {listed}")

    with tempfile.TemporaryDirectory() as tmp:
        path = gi.datasets.download_dataset(ids[1], file_path=tmp, maxwait=60)
        with open(path, "rb") as f:
            check(f.read() == texts[1].encode(), f"downloaded {path}")
        check(os.path.basename(path).startswith("Galaxy2-["), f"download name: {path}")

    gi.histories.delete_dataset(history_id, ids[1], purge=True)
    shown = gi.datasets.show_dataset(ids[1])
    check(shown["deleted"] and shown["purged"], f"purged dataset: {shown}")
    if objects:
        check(not files_with(objects, texts[1].encode()), "purged dataset's file still on disk")
        check(len(files_with(objects, texts[2].encode())) == 1, "other dataset's file gone")
    size = gi.histories.show_history(history_id)["size"]
    check(size == len(texts[0]) + len(texts[2]), f"history size after purge: {size}")

    gi.histories.delete_history(history_id, purge=True)
    shown = gi.histories.show_history(history_id)
    check(shown["deleted"] and shown["purged"], f"purged history: {shown}")
    if objects:
        check(not files_with(objects, texts[2].encode()), "purged history's file still on disk")
    deleted = gi.histories.get_histories(deleted=True)
    check(history_id in {h["id"] for h in deleted}, f"get_histories(deleted=True): {deleted}")
    live = gi.histories.get_histories()
    check(history_id not in {h["id"] for h in live}, f"get_histories(): {live}")


def main():
    url, admin_key = sys.argv[1], sys.argv[2]
    objects = sys.argv[3] if len(sys.argv) > 3 else None
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
    check_password_login(url, user, key, suffix)

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

    upkeep(gi, objects)

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
    collections(gi, history_id)
    fetched_collection(gi, history_id)
    legacy_upload(gi, history_id)

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


def fetched_collection(gi, history_id):
    """Three files through BioBlend's tus uploader into a new list (the fetch API with an
    hdca destination), shown, then renamed, hidden, deleted and purged with BioBlend's
    collection calls."""
    texts = [f"fetched {i} {uuid.uuid4().hex}\n" for i in range(3)]
    payload = {"history_id": history_id, "targets": [{
        "destination": {"type": "hdca"}, "collection_type": "list", "name": "fetched",
        "elements": []}]}
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(texts):
            path = os.path.join(tmp, f"part{i}.txt")
            with open(path, "w") as f:
                f.write(text)
            uploader = gi.get_tus_uploader(path)
            uploader.upload()
            payload[f"files_{i}|file_data"] = {"session_id": uploader.session_id,
                                               "name": f"part{i}.txt"}
            payload["targets"][0]["elements"].append(
                {"src": "files", "name": f"e{i}", "ext": "txt", "dbkey": "?"})
        run = gi.make_post_request(gi.url + "/tools/fetch", payload=payload)
    check(run["jobs"][0]["state"] == "ok", f"fetch into a list: {run}")
    colls = run["output_collections"]
    check(len(colls) == 1 and colls[0]["collection_type"] == "list", f"fetch: {run}")
    coll_id = colls[0]["id"]

    shown = gi.histories.show_dataset_collection(history_id, coll_id)
    check([e["element_identifier"] for e in shown["elements"]] == ["e0", "e1", "e2"],
          f"show_dataset_collection: {shown}")
    for e, text in zip(shown["elements"], texts):
        check(e["object"]["visible"] is False, f"element shown in the history: {e}")
        got = gi.datasets.download_dataset(e["object"]["id"], maxwait=60)
        check(got == text.encode(), f"element {e['element_identifier']}: {got!r}")
    shown_ids = {c["id"] for c in gi.histories.show_history(history_id, contents=True,
                                                             visible=True)}
    check(coll_id in shown_ids, "the fetched collection is not listed as visible")
    check(not any(e["object"]["id"] in shown_ids for e in shown["elements"]),
          "a collection's element datasets are listed as visible")
    colls = gi.histories.show_history(history_id, contents=True, types=["dataset_collection"])
    check(coll_id in {c["id"] for c in colls}
          and all(c["history_content_type"] == "dataset_collection" for c in colls),
          f"show_history(types=['dataset_collection']): {colls}")
    again = gi.dataset_collections.show_dataset_collection(coll_id)
    check(again["name"] == "fetched" and again["element_count"] == 3, f"show: {again}")

    with tempfile.TemporaryDirectory() as tmp:
        archive = os.path.join(tmp, "fetched.zip")
        got = gi.dataset_collections.download_dataset_collection(coll_id, archive)
        check(got["archive_type"] == "zip", f"download_dataset_collection: {got}")
        with zipfile.ZipFile(archive) as z:
            names = sorted(z.namelist())
            check(names == [f"fetched/e{i}.txt" for i in range(3)], f"archive: {names}")
            check(z.read("fetched/e1.txt") == texts[1].encode(), "archive content")

    updated = gi.histories.update_dataset_collection(history_id, coll_id, name="kept",
                                                     visible=False)
    check(updated["name"] == "kept" and updated["visible"] is False,
          f"update_dataset_collection: {updated}")
    gi.histories.delete_dataset_collection(history_id, coll_id)
    shown = gi.histories.show_dataset_collection(history_id, coll_id)
    check(shown["deleted"] is True, f"after delete_dataset_collection: {shown}")
    check(gi.datasets.show_dataset(shown["elements"][0]["object"]["id"])["deleted"] is False,
          "deleting a collection deleted its datasets")


def legacy_upload(gi, history_id):
    """upload_file as BioBlend sends it to a Galaxy older than 22.01: a multipart POST
    /api/tools with the file part files_0|file_data."""
    from bioblend.util import attach_file

    text = f"legacy {uuid.uuid4().hex}\r\nsecond line\r\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "legacy.txt")
        with open(path, "w", newline="") as f:
            f.write(text)
        payload = gi.tools._upload_payload(history_id, file_type="txt", file_name="legacy.txt")
        payload["files_0|file_data"] = attach_file(path, name="legacy.txt")
        try:
            up = gi.tools._post(payload, files_attached=True)
        finally:
            payload["files_0|file_data"].close()
    check(up["jobs"][0]["state"] == "ok", f"legacy upload: {up}")
    check(up["outputs"][0]["name"] == "legacy.txt", f"legacy upload name: {up}")
    got = gi.datasets.download_dataset(up["outputs"][0]["id"], maxwait=60)
    check(got == text.replace("\r\n", "\n").encode(), f"legacy upload content: {got!r}")


if __name__ == "__main__":
    main()
