#!/usr/bin/env python3
"""The cost of the confined image stage (issue 27): `arke-image-processor variants PHOTO` with
IMAGE_STAGE=confined (the default: the stage in a child process under seccomp) against
IMAGE_STAGE=in-process, on the same photos, runs interleaved pair by pair.

Time: wall time of the whole command (parent and child). Memory: the confined run's parent
peak plus its child's peak (both from `variants`' summary: the parent's VmHWM, the child's
ru_maxrss when it was reaped; their sum is an upper bound of what the two held at once)
against the in-process run's one peak. Prints a Markdown table of medians and the deltas.

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


def run(worker, photo, isolation):
    """One `variants` run: (wall seconds, KiB held at the peak by the processes together)."""
    env = {"PATH": os.environ.get("PATH", ""), "IMAGE_STAGE": isolation}
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        done = subprocess.run([worker, "variants", str(photo), "--out", out], env=env,
                              capture_output=True, check=True)
        elapsed = time.perf_counter() - start
    stage = json.loads(done.stdout)["image_stage"]
    child = (stage.get("child") or {}).get("peak_rss_kib", 0)
    return elapsed, stage["peak_rss_kib"] + child


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("photos", nargs="?", default=str(ROOT / "testdata" / "photos"))
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--worker", default=str(target_dir() / "release" / "arke-image-processor"))
    args = ap.parse_args()
    photos = sorted(p for p in Path(args.photos).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
    print(f"Confined image stage against in-process, `variants`, median of {args.runs} interleaved runs each.\n")
    print("| photo | in-process | confined | time | in-process peak | confined peak (parent + child) | memory |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    deltas, ratios = [], []
    for photo in photos:
        confined, alone = [], []
        run(args.worker, photo, "confined")  # warm-up
        for _ in range(args.runs):
            confined.append(run(args.worker, photo, "confined"))
            alone.append(run(args.worker, photo, "in-process"))
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
