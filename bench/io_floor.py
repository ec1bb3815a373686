#!/usr/bin/env python3
"""io_floor.py: what the disk alone costs for writing N bridge manifests
durably, whatever the agent does around it. Three strategies, each the same
bytes (a ~3 KiB manifest per file, 0600) into a fresh directory:

  per-file   temp, write, fsync, rename, fsync dir  (x N)  -- fs_write_atomic_at
  batch      N temps written, syncfs once, N renames, fsync dir once
             -- fs_write_batch_at / bridge_dir_write_batch
  batch-fsync  N temps each fsynced, N renames, fsync dir once
  batch-range  N temps written, sync_file_range(WRITE) on each (writeback of
             all of them starts at once), then fdatasync each, N renames,
             fsync dir once: a barrier on our files only, unlike syncfs

    bench/io_floor.py [--dir D] [--files 110] [--repeat 5] [--dirty-mib M]

--dirty-mib leaves M MiB of unsynced data in the same filesystem before each
run, as a busy node would have: syncfs() must flush it, the others need not.

Prints median and worst milliseconds per strategy. Standard library only
(syncfs through ctypes).
"""
import argparse
import ctypes
import json
import os
import shutil
import statistics
import tempfile
import time

LIBC = ctypes.CDLL(None, use_errno=True)
BODY = (b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n" + b"#" * 3000 + b"\n")


SYNC_FILE_RANGE_WRITE = 2


def write_temp(dirfd, name, sync, keep=False):
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600,
                 dir_fd=dirfd)
    try:
        os.write(fd, BODY)
        if sync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        raise
    if keep:
        return fd
    os.close(fd)
    return None


def per_file(dirfd, names):
    for n in names:
        write_temp(dirfd, "." + n + ".tmp", True)
        os.rename("." + n + ".tmp", n, src_dir_fd=dirfd, dst_dir_fd=dirfd)
        os.fsync(dirfd)


def batch(dirfd, names, fsync_each=False):
    for n in names:
        write_temp(dirfd, "." + n + ".tmp", fsync_each)
    if not fsync_each and LIBC.syncfs(dirfd) != 0:
        raise OSError(ctypes.get_errno(), "syncfs")
    for n in names:
        os.rename("." + n + ".tmp", n, src_dir_fd=dirfd, dst_dir_fd=dirfd)
    os.fsync(dirfd)


def batch_range(dirfd, names):
    fds = []
    try:
        for n in names:
            fds.append(write_temp(dirfd, "." + n + ".tmp", False, keep=True))
        for fd in fds:
            if LIBC.sync_file_range(fd, ctypes.c_int64(0), ctypes.c_int64(0),
                                    SYNC_FILE_RANGE_WRITE) != 0:
                raise OSError(ctypes.get_errno(), "sync_file_range")
        for fd in fds:
            os.fdatasync(fd)
    finally:
        for fd in fds:
            os.close(fd)
    for n in names:
        os.rename("." + n + ".tmp", n, src_dir_fd=dirfd, dst_dir_fd=dirfd)
    os.fsync(dirfd)


STRATEGIES = {
    "per-file": per_file,
    "batch": batch,
    "batch-fsync": lambda fd, names: batch(fd, names, fsync_each=True),
    "batch-range": batch_range,
}


def dirty(path, mib):
    with open(path, "wb") as f:
        chunk = os.urandom(1 << 20)
        for _ in range(mib):
            f.write(chunk)


def measure(base, files, repeat, dirty_mib=0):
    out = {}
    names = ["kubelet-checkpoint_kube-system_ds%03d.yaml" % i for i in range(files)]
    for label, fn in STRATEGIES.items():
        times = []
        for _ in range(repeat):
            d = tempfile.mkdtemp(prefix="kc-io-floor-", dir=base)
            dirfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.sync()  # start from a quiet disk
                if dirty_mib:
                    dirty(os.path.join(d, ".dirty"), dirty_mib)
                t0 = time.monotonic()
                fn(dirfd, names)
                times.append((time.monotonic() - t0) * 1000)
            finally:
                os.close(dirfd)
                shutil.rmtree(d, ignore_errors=True)
        out[label] = {"median_ms": round(statistics.median(times), 1),
                      "worst_ms": round(max(times), 1)}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=None, help="where to write (default: $TMPDIR)")
    ap.add_argument("--files", type=int, default=110)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dirty-mib", type=int, default=0)
    args = ap.parse_args()
    res = measure(args.dir, args.files, args.repeat, args.dirty_mib)
    for label, r in res.items():
        print("%-12s %4d files, %d MiB dirty: median %7.1f ms, worst %7.1f ms" % (
            label, args.files, args.dirty_mib, r["median_ms"], r["worst_ms"]))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
