#!/usr/bin/env python3
"""Runs the worker's image stage over every JPEG, PNG and WebP in a folder and reports how each
one went: the quick way to see what a corpus of other people's test images does to the worker.

    python3 bench/corpus.py [--bin BIN] [--jobs N] [--timeout S] [--json OUT] DIR
    just corpus DIR [ARGS]          (builds the release worker first)

Files are found recursively and recognised by their magic bytes, not their extension. For each,
`BIN variants FILE --out TMPDIR` runs with the environment of this script (so ORIGINAL_MAX_DIMENSION,
MAX_INPUT_PIXELS, ... can be set for an experiment), and one line is printed:

    verdict  file  wall ms  peak RSS MiB  [variants: name WxH bytes, ...]

Verdicts: `ok` (exit 0), `refused` (exit 1; the first line of the worker's error follows),
`crash` (killed by a signal), `timeout` (killed after --timeout seconds), `badexit N` (any
other exit, or exit 0 without a JSON summary). A summary line follows with the count of each
verdict (refusals broken down by kind, e.g. `cannot decode`), the largest peak RSS and the
slowest file. Exit status 1 if there was any crash, timeout or badexit, else 0.

Peak RSS is the child's ru_maxrss from os.wait4. On Linux a child's ru_maxrss starts at the
peak RSS of the process that spawned it (this Python), so values near the printed floor (a
/bin/true spawned the same way) say only "small". Standard library only; no network.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BIN = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "release" / "arke-image-processor"
BAD_VERDICTS = ("crash", "timeout", "badexit")


def image_kind(path):
    """'jpeg', 'png' or 'webp' from the file's first bytes, or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return None
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def run_measured(cmd, timeout, stdout, stderr, env=None):
    """Runs cmd; returns (exit status from wait4, wall seconds, peak RSS MiB, timed_out).
    The child is reaped with os.wait4 so its rusage is its own; a timer kills it with SIGKILL
    at the timeout (only while it is still unreaped, so a reused pid is never hit)."""
    lock = threading.Lock()
    state = {"reaped": False, "killed": False}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env)

    def kill():
        with lock:
            if not state["reaped"]:
                state["killed"] = True
                os.kill(proc.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        # Wait for the exit without reaping, so that kill() above cannot race with the reaping.
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        elapsed = time.perf_counter() - start
        with lock:
            state["reaped"] = True
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen never waits for it again
    return status, elapsed, usage.ru_maxrss / 1024, state["killed"]


def refusal_kind(message):
    """The code-like part of an error: 'Failed to process image: cannot decode: ...' gives
    'cannot decode'."""
    text = message.removeprefix("error: ")
    text = text.removeprefix("Failed to process image: ")
    return text.split(":", 1)[0].strip() or "?"


def run_one(binary, root, path, timeout):
    """One file through the image stage; returns its row (a dict)."""
    row = {"file": str(path.relative_to(root)), "format": image_kind(path), "bytes": path.stat().st_size}
    out_dir = tempfile.mkdtemp(prefix="arke-corpus-")
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            status, elapsed, peak, timed_out = run_measured(
                [str(binary), "variants", str(path), "--out", out_dir], timeout, out, err)
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode(errors="replace")
            stderr = err.read().decode(errors="replace").strip()
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    row["wall_ms"] = round(elapsed * 1000, 1)
    row["peak_rss_mib"] = round(peak, 1)
    first_line = stderr.splitlines()[0] if stderr else ""
    if timed_out:
        row["verdict"] = "timeout"
    elif os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        row["verdict"] = "crash"
        row["detail"] = signal.Signals(signum).name if signum in signal.valid_signals() else f"signal {signum}"
        row["stderr"] = stderr[-2000:]
    elif os.WEXITSTATUS(status) == 1:
        row["verdict"] = "refused"
        row["reason"] = refusal_kind(first_line)
        row["detail"] = first_line.removeprefix("error: ")
    elif os.WEXITSTATUS(status) == 0:
        try:
            summary = json.loads(stdout)
            row["verdict"] = "ok"
            row["variants"] = [{k: v[k] for k in ("name", "width", "height", "bytes")} for v in summary["variants"]]
            row["warnings"] = summary.get("warnings", [])
            row["source"] = summary.get("source")
        except (ValueError, KeyError, TypeError) as e:
            row["verdict"] = "badexit 0"
            row["detail"] = f"exit 0 but the summary is not the expected JSON ({e})"
    else:
        row["verdict"] = f"badexit {os.WEXITSTATUS(status)}"
        row["detail"] = first_line
    return row


def format_row(row):
    verdict = row["verdict"]
    line = f"{verdict:<10} {row['file']}  {row['wall_ms']:.0f} ms  {row['peak_rss_mib']:.1f} MiB"
    if verdict == "ok":
        made = ", ".join(f"{v['name']} {v['width']}x{v['height']} {v['bytes']}" for v in row["variants"])
        line += f"  [{made}]"
        if row["warnings"]:
            line += f"  ({len(row['warnings'])} warning{'s' if len(row['warnings']) > 1 else ''}: {str(row['warnings'][0])[:120]})"
    elif row.get("detail"):
        line += f"  {row['detail']}"
    return line


def summary_line(rows, floor):
    counts = {}
    for r in rows:
        key = r["verdict"].split()[0]
        counts[key] = counts.get(key, 0) + 1
    parts = []
    for key in ("ok", "refused", "crash", "timeout", "badexit"):
        if key not in counts:
            continue
        part = f"{counts[key]} {key}"
        if key == "refused":
            kinds = {}
            for r in rows:
                if r["verdict"] == "refused":
                    kinds[r["reason"]] = kinds.get(r["reason"], 0) + 1
            part += " (" + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])) + ")"
        parts.append(part)
    text = f"{len(rows)} files: " + ", ".join(parts)
    if rows:
        biggest = max(rows, key=lambda r: r["peak_rss_mib"])
        slowest = max(rows, key=lambda r: r["wall_ms"])
        text += (f"; largest peak RSS {biggest['peak_rss_mib']:.1f} MiB ({biggest['file']});"
                 f" slowest {slowest['wall_ms']:.0f} ms ({slowest['file']})")
    text += f"; RSS floor {floor:.1f} MiB"
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path, help="folder to search recursively for JPEG, PNG and WebP files")
    ap.add_argument("--bin", type=Path, default=DEFAULT_BIN, help=f"the worker (default: {DEFAULT_BIN})")
    ap.add_argument("--jobs", type=int, default=1, help="files run at once (default 1: timings undisturbed)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per file before it is killed (default 60)")
    ap.add_argument("--json", type=Path, metavar="OUT", help="write every row to this file as JSON")
    args = ap.parse_args()
    if not args.bin.is_file():
        sys.exit(f"corpus.py: no worker at {args.bin} (build it, or pass --bin)")
    if not args.dir.is_dir():
        sys.exit(f"corpus.py: {args.dir} is not a folder")

    files = sorted(p for p in args.dir.rglob("*") if p.is_file() and not p.is_symlink() and image_kind(p))
    skipped = sum(1 for p in args.dir.rglob("*") if p.is_file()) - len(files)
    print(f"{len(files)} images in {args.dir} ({skipped} other files skipped); worker {args.bin}; "
          f"{args.jobs} at a time, timeout {args.timeout:g} s", flush=True)
    _, _, floor, _ = run_measured(["/bin/true"], 10, subprocess.DEVNULL, subprocess.DEVNULL)

    rows = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for row in pool.map(lambda p: run_one(args.bin, args.dir, p, args.timeout), files):
            rows.append(row)
            print(format_row(row), flush=True)
    print(summary_line(rows, floor))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 1 if any(r["verdict"].startswith(BAD_VERDICTS) for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
