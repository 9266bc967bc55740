"""Benchmark: BioBlend's upload_file of a large file (tus in 10 MB chunks, then the fetch
API): MB/s from the call to the dataset ok, and how much the server's peak RSS grew.

Usage: python bench_upload.py URL ADMIN_KEY SERVER_PID [SIZE_MIB (default 1024)]
Prints "UPLOAD BENCH OK" when the dataset is ok with the right size.
"""

import os
import sys
import tempfile
import time
import uuid

from bioblend.galaxy import GalaxyInstance

MIB = 1024 * 1024


def peak_rss(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for pid {pid}")


def main():
    url, admin_key, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
    size_mib = int(sys.argv[4]) if len(sys.argv) > 4 else 1024
    suffix = uuid.uuid4().hex[:10]
    admin = GalaxyInstance(url, key=admin_key)
    user = admin.users.create_local_user(f"bench-{suffix}", f"bench-{suffix}@example.org", "bioblend-password")
    gi = GalaxyInstance(url, key=admin.users.create_user_apikey(user["id"]))
    history_id = gi.histories.create_history(name="upload bench")["id"]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "big.bin")
        block = os.urandom(MIB)
        with open(path, "wb") as f:
            for i in range(size_mib):
                f.write(bytes([i % 256]) + block[1:])
        before = peak_rss(pid)
        started = time.monotonic()
        up = gi.tools.upload_file(path, history_id)
        took = time.monotonic() - started
        after = peak_rss(pid)
    shown = gi.datasets.show_dataset(up["outputs"][0]["id"])
    assert shown["state"] == "ok" and shown["file_size"] == size_mib * MIB, shown
    print(f"uploaded {size_mib} MiB in {took:.2f} s: {size_mib * MIB / 1e6 / took:.0f} MB/s; "
          f"server peak RSS {before / MIB:.1f} MiB before, {after / MIB:.1f} MiB after "
          f"(grew {(after - before) / MIB:.1f} MiB)")
    print("UPLOAD BENCH OK")


if __name__ == "__main__":
    main()
