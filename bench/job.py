#!/usr/bin/env python3
"""Whole-job benchmark: our worker against SPEC.md's reference worker (bench/reference_worker.js,
Node + @aws-sdk/client-s3 + sharp), both run as the Fly machine runs them, against the local
stack (S3 with SigV4, CDN and orchestrator stand-ins): download, variants, CDN upload, archive,
.ref.json, callback.

For each photo: one `arke-stack serve --photo PHOTO`, then --runs runs of each worker,
alternating, each with its own TASK_ID and INPUT_FILE_NAME (so every run archives under a free
key: ours never overwrites and would skip an archive that already holds the same bytes, the
reference overwrites; a fresh key makes both do the full write). A run counts only if it exits
0 and the orchestrator stand-in got a success callback for its task. Prints median wall time
and peak RSS of the whole process (ratios ours / reference) and their geometric means.

Installs what it needs: GNU time (apt) and @aws-sdk/client-s3 + sharp (npm, into bench-out/node).
"""
import argparse
import json
import math
import os
import queue
import shlex
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import NODE_DIR, ROOT, measure, target_dir  # noqa: E402

REFERENCE = ROOT / "bench" / "reference_worker.js"
NPM_DEPS = ["@aws-sdk/client-s3", "sharp"]


def ensure_deps():
    if not Path("/usr/bin/time").exists():
        subprocess.run(["apt-get", "install", "-y", "-qq", "time"], check=True)
    if not all((NODE_DIR / "node_modules" / d / "package.json").exists() for d in NPM_DEPS):
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR), *NPM_DEPS], check=True)


def stack_binary():
    path = target_dir() / "debug" / "arke-stack"
    if not path.exists():
        subprocess.run(["cargo", "build", "-q", "-p", "arke-stack"], cwd=ROOT, check=True)
    return path


class Stack:
    """`arke-stack serve --photo PHOTO`: its exports, then the callbacks it prints as they come."""

    def __init__(self, binary, photo):
        self.proc = subprocess.Popen([str(binary), "serve", "--photo", str(photo)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.env, self.callbacks = {}, {}
        while True:
            line = self.lines.get(timeout=30)
            if line is None:
                raise RuntimeError(f"arke-stack serve exited ({self.proc.wait()}) before printing its environment")
            if line.startswith("export "):
                key, _, value = shlex.split(line)[1].partition("=")
                self.env[key] = value
            elif line.startswith("# Paste"):
                break

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def callback(self, task_id, timeout=5.0):
        """The first callback body for this task (the stack polls every 100 ms)."""
        deadline = time.monotonic() + timeout
        while task_id not in self.callbacks:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if line is None:
                return None
            if line.startswith("callback "):
                path, _, body = line[len("callback "):].partition(": ")
                self.callbacks.setdefault(path.rsplit("/", 1)[-1], json.loads(body))
        return self.callbacks[task_id]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def run_job(stack, cmd, extra_env, who, n, photo):
    """One measured job with a fresh task; returns (seconds, MiB) after checking its callback."""
    base = stack.env
    task_id = f"img_{who}_{n}"
    file_name = f"{photo.stem}.{who}{n}{photo.suffix}"
    orchestrator = base["CALLBACK_URL"].rsplit("/callback/", 1)[0]
    env = {"PATH": os.environ.get("PATH", ""), **base, **extra_env, "TASK_ID": task_id,
           "INPUT_FILE_NAME": file_name,
           "CALLBACK_URL": f"{orchestrator}/callback/{base['BATCH_ID']}/{task_id}"}
    seconds, mib = measure(cmd, env)  # raises unless the exit code is 0
    cb = stack.callback(task_id)
    if cb is None or cb.get("status") != "success" or cb.get("archive_r2_key") != file_name:
        raise RuntimeError(f"{who} run {n} on {photo.name}: callback {json.dumps(cb)[:500]}")
    return seconds, mib


def geomean(xs):
    return math.exp(sum(map(math.log, xs)) / len(xs))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("photos", nargs="*", help="photos or folders (default: testdata/photos)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--worker", default=None, help="default: target/release/arke-image-processor")
    args = ap.parse_args()
    ensure_deps()
    worker = args.worker or str(target_dir() / "release" / "arke-image-processor")
    binary = stack_binary()
    photos = []
    for p in map(Path, args.photos or [ROOT / "testdata" / "photos"]):
        photos += sorted(p.iterdir()) if p.is_dir() else [p]
    photos = [p for p in photos if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp")]
    workers = [("ours", [worker], {}),
               ("ref", ["node", str(REFERENCE)], {"NODE_PATH": str(NODE_DIR / "node_modules")})]
    rows, ratios_t, ratios_m = [], [], []
    for photo in photos:
        print(f"{photo.name} ...", file=sys.stderr, flush=True)
        stack = Stack(binary, photo)
        try:
            results = {who: [] for who, _, _ in workers}
            for n in range(args.runs):
                for who, cmd, extra in workers:
                    results[who].append(run_job(stack, cmd, extra, who, n, photo))
        finally:
            stack.stop()
        t_o, t_r = (statistics.median(r[0] for r in results[w]) for w in ("ours", "ref"))
        m_o, m_r = (statistics.median(r[1] for r in results[w]) for w in ("ours", "ref"))
        ratios_t.append(t_o / t_r)
        ratios_m.append(m_o / m_r)
        rows.append(f"| {photo.name} | {t_o * 1000:.0f} | {t_r * 1000:.0f} | {t_o / t_r:.2f}× | {m_o:.0f} | {m_r:.0f} | {m_o / m_r:.2f}× |")
    print(f"Whole job against the local stack, median of {args.runs} runs each; "
          "ours = arke-image-processor, reference = bench/reference_worker.js (SPEC.md in Node). Ratios are ours / reference.\n")
    print("| photo | ours ms | reference ms | ratio | ours MiB | reference MiB | ratio |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    if rows:
        print(f"\nGeomean ratio: wall time {geomean(ratios_t):.2f}×, peak RSS {geomean(ratios_m):.2f}×.")


if __name__ == "__main__":
    main()
