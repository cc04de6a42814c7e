#!/usr/bin/env python3
"""The cost of the confined image stage (issue 27): `arke-image-processor variants PHOTO` with
IMAGE_STAGE=confined (the default: the stage in a child process under seccomp) against
IMAGE_STAGE=in-process, on the same photos, runs interleaved pair by pair.

Time: wall time of the whole command (parent and child). Memory: the peak of what the command's
processes held together, as the kernel charges it: each run in a memory cgroup of its own
(cgroup v1 `memory.max_usage_in_bytes`, or v2 `memory.peak`), so pages the parent and the child
share (the sealed input, the binary's text) count once, as they do on the machine. Without a
writable cgroup hierarchy it falls back to the parent's peak plus the child's (from `variants`'
summary: an upper bound, the shared pages counted twice). Prints a Markdown table of medians
and the deltas.

    python3 bench/confinement.py [--runs N] [--worker BIN] [PHOTOS_DIR]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
from bench import target_dir  # noqa: E402


CGROUPS = [(Path("/sys/fs/cgroup/memory"), "memory.max_usage_in_bytes"),
           (Path("/sys/fs/cgroup/unified"), "memory.peak"), (Path("/sys/fs/cgroup"), "memory.peak")]


def cgroup_root():
    """A cgroup hierarchy with a memory peak we can create groups in, or None."""
    for root, peak in CGROUPS:
        probe = root / f"arke-bench-probe-{os.getpid()}"
        try:
            probe.mkdir()
        except OSError:
            continue
        ok = (probe / peak).exists()
        probe.rmdir()
        if ok:
            return root, peak
    return None


def run(worker, photo, isolation, cgroup):
    """One `variants` run: (wall seconds, KiB held at the peak by its processes together)."""
    env = {"PATH": os.environ.get("PATH", ""), "IMAGE_STAGE": isolation}
    with tempfile.TemporaryDirectory() as out:
        cmd = [worker, "variants", str(photo), "--out", out]
        group = None
        if cgroup:
            group = cgroup[0] / f"arke-bench-{os.getpid()}-{time.monotonic_ns()}"
            group.mkdir()
            # The shell joins the group, then becomes the worker: nothing else is charged.
            cmd = ["sh", "-c", f'echo $$ > "{group}/cgroup.procs" && exec "$@"', "sh", *cmd]
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, check=True)
        elapsed = time.perf_counter() - start
        stage = json.loads(done.stdout)["image_stage"]
        if group:
            peak_kib = int((group / cgroup[1]).read_text()) / 1024
            group.rmdir()
        else:
            peak_kib = stage["peak_rss_kib"] + (stage.get("child") or {}).get("peak_rss_kib", 0)
    return elapsed, peak_kib


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("photos", nargs="?", default=str(ROOT / "testdata" / "photos"))
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--worker", default=str(target_dir() / "release" / "arke-image-processor"))
    args = ap.parse_args()
    photos = sorted(p for p in Path(args.photos).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
    cgroup = cgroup_root()
    how = f"cgroup {cgroup[1]}" if cgroup else "parent + child peak RSS (shared pages twice)"
    print(f"Confined image stage against in-process, `variants`, median of {args.runs} interleaved runs each; "
          f"memory: {how}.\n")
    print("| photo | in-process | confined | time | in-process peak | confined peak | memory |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    deltas, ratios = [], []
    for photo in photos:
        confined, alone = [], []
        run(args.worker, photo, "confined", cgroup)  # warm-up
        for _ in range(args.runs):
            confined.append(run(args.worker, photo, "confined", cgroup))
            alone.append(run(args.worker, photo, "in-process", cgroup))
        t_c, t_a = (statistics.median(r[0] for r in rs) * 1000 for rs in (confined, alone))
        m_c, m_a = (statistics.median(r[1] for r in rs) / 1024 for rs in (confined, alone))
        deltas.append(t_c - t_a)
        ratios.append(m_c / m_a)
        print(f"| {photo.name} | {t_a:.1f} ms | {t_c:.1f} ms | {t_c - t_a:+.1f} ms | {m_a:.1f} MiB | "
              f"{m_c:.1f} MiB | {100 * (m_c / m_a - 1):+.1f} % |")
    if deltas:
        print(f"\nMedian time added: {statistics.median(deltas):+.1f} ms (worst {max(deltas):+.1f} ms); "
              f"peak memory: median {100 * (statistics.median(ratios) - 1):+.1f} % "
              f"(worst {100 * (max(ratios) - 1):+.1f} %).")


if __name__ == "__main__":
    main()
