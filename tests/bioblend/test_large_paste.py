"""A 100 MiB paste through BioBlend's paste_content: the dataset ends ok with the same size
and checksum, and the server's peak memory grows by much less than the pasted text.

Usage: python test_large_paste.py URL ADMIN_KEY SERVER_PID
Prints "LARGE PASTE OK" when every step worked; any exception exits non-zero.
"""

import hashlib
import sys
import time
import uuid

from bioblend.galaxy import GalaxyInstance

LINES = 1024 * 1024  # of 100 bytes: 100 MiB
MIB = 1024 * 1024


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def peak_rss(pid):
    """VmHWM of the process, in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for pid {pid}")


def main():
    url, admin_key, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
    suffix = uuid.uuid4().hex[:10]
    admin = GalaxyInstance(url, key=admin_key)
    user = admin.users.create_local_user(f"big-{suffix}", f"big-{suffix}@example.org", "bioblend-password")
    gi = GalaxyInstance(url, key=admin.users.create_user_apikey(user["id"]))
    history_id = gi.histories.create_history(name="large paste")["id"]

    content = "".join(f"{i:08d} " + "abcdefghij" * 9 + "\n" for i in range(LINES))
    check(len(content) == 100 * MIB, f"content is {len(content)} bytes")
    digest = hashlib.sha256(content.encode()).hexdigest()

    before = peak_rss(pid)
    started = time.monotonic()
    upload = gi.tools.paste_content(content, history_id, file_type="txt", file_name="big.txt")
    job = gi.jobs.wait_for_job(upload["jobs"][0]["id"], maxwait=120, interval=0.5)
    took = time.monotonic() - started
    after = peak_rss(pid)
    check(job["state"] == "ok", f"upload job: {job}")
    grew = after - before
    print(f"pasted {len(content)} bytes in {took:.1f} s; server peak RSS {before // MIB} MiB "
          f"before, {after // MIB} MiB after (grew {grew / MIB:.1f} MiB)")
    check(grew < 25 * MIB, f"the server's peak RSS grew by {grew / MIB:.1f} MiB for a 100 MiB paste")

    dataset_id = upload["outputs"][0]["id"]
    shown = gi.datasets.show_dataset(dataset_id)
    check(shown["state"] == "ok" and shown["file_size"] == len(content), f"dataset: {shown}")
    del content
    stored = gi.datasets.download_dataset(dataset_id, maxwait=60)
    check(len(stored) == 100 * MIB, f"downloaded {len(stored)} bytes")
    check(hashlib.sha256(stored).hexdigest() == digest, "the stored content differs from the pasted one")
    print("LARGE PASTE OK")


if __name__ == "__main__":
    main()
