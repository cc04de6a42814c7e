#!/usr/bin/env python3
"""Two builds of the worker on the same inputs: which variants differ, and by how much.

    python3 bench/compare_builds.py --a NEW_BIN --b OLD_BIN [DIR ...]

Runs `variants` with each binary on every image under the folders (default: testdata/ and
../shared/corpora/, files recognised by their magic bytes) and compares, file by file, the
verdict, the summary (variant names, sizes, content types, source facts, placeholder, warnings;
not the timings or the processes' memory) and each variant's bytes. A variant whose bytes
differ is decoded with Pillow (when it is installed) to say by how much its pixels differ:
the largest difference of any sample and the mean. Prints one line per file that differs and
a summary; exit 0 either way (a difference is a finding to explain, not a failure).
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF", b"II*\x00", b"MM\x00*", b"GIF8", b"BM")


def images(dirs):
    for d in dirs:
        for p in sorted(Path(d).rglob("*")):
            if p.is_file():
                with open(p, "rb") as f:
                    head = f.read(12)
                if any(head.startswith(m) for m in MAGIC) or head[4:8] == b"ftyp":
                    yield p


def run(binary, path, out):
    env = {"PATH": os.environ.get("PATH", "")}
    done = subprocess.run([binary, "variants", str(path), "--out", out], env=env,
                          capture_output=True, timeout=300)
    if done.returncode != 0:
        return {"error": done.stderr.decode(errors="replace").strip().splitlines()[-1:]}, {}
    summary = json.loads(done.stdout)
    for varying in ("phases_ms", "image_stage", "input"):
        summary.pop(varying, None)
    files = {}
    for v in summary.get("variants", []):
        data = Path(v.pop("path")).read_bytes()
        files[v["name"]] = data
    return summary, files


def pixel_diff(a, b):
    try:
        import io
        import numpy as np
        from PIL import Image
    except ImportError:
        return "pixels not compared (no Pillow)"
    x = np.asarray(Image.open(io.BytesIO(a)).convert("RGBA"), dtype=np.int16)
    y = np.asarray(Image.open(io.BytesIO(b)).convert("RGBA"), dtype=np.int16)
    if x.shape != y.shape:
        return f"sizes {x.shape} / {y.shape}"
    d = np.abs(x - y)
    return f"max {d.max()} levels, mean {d.mean():.4f}, {(d.max(axis=2) > 0).mean() * 100:.2f} % of pixels"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, help="the new build")
    ap.add_argument("--b", required=True, help="the build to compare with")
    ap.add_argument("dirs", nargs="*", default=[str(ROOT / "testdata"), str(ROOT.parent / "shared" / "corpora")])
    args = ap.parse_args()
    total = differ = 0
    for path in images(args.dirs):
        total += 1
        with tempfile.TemporaryDirectory() as da, tempfile.TemporaryDirectory() as db:
            sa, fa = run(args.a, path, da)
            sb, fb = run(args.b, path, db)
        if sa == sb and fa == fb:
            continue
        differ += 1
        notes = []
        if sa.keys() != sb.keys() or "error" in sa or "error" in sb:
            notes.append(f"verdict: {sa.get('error', 'ok')} / {sb.get('error', 'ok')}")
        else:
            for key in sorted(set(sa) | set(sb)):
                if key != "variants" and sa.get(key) != sb.get(key):
                    notes.append(f"{key}: {json.dumps(sa.get(key))[:120]} / {json.dumps(sb.get(key))[:120]}")
            for name in sorted(set(fa) | set(fb)):
                a, b = fa.get(name), fb.get(name)
                if a != b:
                    if a is None or b is None:
                        notes.append(f"{name}: only in {'b' if a is None else 'a'}")
                    else:
                        notes.append(f"{name}: {len(a)} / {len(b)} bytes, {pixel_diff(a, b)}")
        print(f"{path}: " + "; ".join(notes), flush=True)
    print(f"\n{total} files, {differ} differ", flush=True)


if __name__ == "__main__":
    main()
