#!/usr/bin/env python3
"""Benchmark: our image stage against SPEC.md's sharp reference, whole process against whole
process, on the same photos in the same run.

For each photo: median wall time and peak RSS over --runs runs of
`arke-image-processor variants PHOTO` and of `node sharp_reference.js PHOTO`, bytes of each
variant, and SSIM of each variant against a high-quality reference downscale (Pillow Lanczos
from the decoded original, luma). Prints a Markdown table of ratios (ours / sharp).

Beside it, the floor: the codec's own command-line decoder on the same file, in the same run
(libjpeg-turbo's `djpeg -scale M/8` at the scale the worker decodes at: the smallest of 1/8,
2/8, 4/8 and 8/8 whose long side reaches the largest variant; `dwebp` for WebP; PNG has none),
and where our time goes, phase by phase (`phases_ms` of one more `variants` run).

Then the limits (a bomb, the largest JPEG allowed, a 400 MB object through the local stack),
bench/envelope.py's memory envelope at MAX_INPUT_PIXELS, bench/formats.py's TIFF, GIF, BMP, HEIC
and AVIF against libvips, bench/confinement.py's cost of the
confined image stage and bench/job.py's whole job against SPEC.md's reference worker
(--skip-limits, --skip-envelope, --skip-formats, --skip-confinement, --skip-job).

Installs what it needs: numpy and Pillow (pip), sharp (npm, into bench-out/node), djpeg and
dwebp (apt: libjpeg-turbo-progs, webp).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-out"
NODE_DIR = OUT / "node"


def target_dir():
    """Where cargo puts its builds (CARGO_TARGET_DIR included)."""
    import json
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT,
                          capture_output=True, check=True)
    return Path(json.loads(meta.stdout)["target_directory"])


def ensure_deps():
    if not Path("/usr/bin/time").exists():
        subprocess.run(["apt-get", "install", "-y", "-qq", "time"], check=True)
    for tool, package in (("djpeg", "libjpeg-turbo-progs"), ("dwebp", "webp")):
        if not shutil.which(tool):
            subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True)
    try:
        import numpy  # noqa: F401
        import PIL  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "numpy", "Pillow"], check=True)
    if not (NODE_DIR / "node_modules" / "sharp").exists():
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR), "sharp"], check=True)
    shutil.copy(Path(__file__).parent / "sharp_reference.js", NODE_DIR / "sharp_reference.js")


def measure(cmd, env=None):
    """Runs cmd under GNU time, returns (seconds, peak RSS in MiB). A child forked from this
    Python process would inherit its memory high-water mark, so `time` (1 MiB) forks it."""
    with tempfile.NamedTemporaryFile("r") as report:
        start = time.perf_counter()
        run = subprocess.run(["/usr/bin/time", "-o", report.name, "-f", "%M", *cmd],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        elapsed = time.perf_counter() - start
        if run.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed ({run.returncode}): {run.stderr.decode(errors='replace').strip()[:500]}")
        peak_kib = int(report.read().split()[-1])
    return elapsed, peak_kib / 1024


def ssim(a, b):
    """Mean SSIM of two equal-sized float luma arrays, 8x8 uniform windows."""
    import numpy as np

    def box(x, k=8):
        c = np.cumsum(np.cumsum(np.pad(x, ((1, 0), (1, 0))), 0), 1)
        return (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / (k * k)

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = box(a), box(b)
    va = box(a * a) - mu_a ** 2
    vb = box(b * b) - mu_b ** 2
    cov = box(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (va + vb + c2))
    return float(s.mean())


def quality(original, variant_path):
    import numpy as np
    from PIL import Image, ImageOps

    v = Image.open(variant_path)
    v.load()
    ref = original.resize(v.size, Image.LANCZOS)
    la = np.asarray(ImageOps.grayscale(v.convert("RGB")), dtype=np.float64)
    lb = np.asarray(ImageOps.grayscale(ref), dtype=np.float64)
    return ssim(la, lb)


SIZES = (400, 1200, 2400)  # src/image/plan.rs SIZES: thumb, medium, large


def floor_command(photo, width, height):
    """The codec's own decoder on `photo`, output thrown away; (label, argv) or None (PNG)."""
    suffix = photo.suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        long = max(width, height)
        largest = max((s for s in SIZES if long > s), default=long)
        # The scale the worker decodes at (src/image/codecs/jpeg/decode.rs `scale_for`): the
        # smallest of 1/8, 2/8, 4/8, 8/8 (libjpeg-turbo's SIMD inverse DCTs) that reaches it.
        m = next(m for m in (1, 2, 4, 8) if -(-long * m // 8) >= largest)
        return f"djpeg -scale {m}/8", ["djpeg", "-scale", f"{m}/8", "-outfile", "/dev/null", str(photo)]
    if suffix == ".webp":
        return "dwebp", ["dwebp", str(photo), "-ppm", "-o", "/dev/null"]
    return None


def phases(worker, photo, env):
    """`phases_ms` of one `variants` run: [(name, start ms, duration ms)]."""
    import json
    out = tempfile.mkdtemp()
    try:
        run = subprocess.run([worker, "variants", str(photo), "--out", out], env=env, capture_output=True, check=True)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return [(p["name"], p["start_ms"], p["ms"]) for p in json.loads(run.stdout)["phases_ms"]]


def geomean(xs):
    import math
    return math.exp(sum(map(math.log, xs)) / len(xs))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("photos", nargs="?", default=str(ROOT / "testdata" / "photos"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--worker", default=str(target_dir() / "release" / "arke-image-processor"))
    ap.add_argument("--skip-limits", action="store_true", help="skip the bomb and the 268 MP JPEG")
    ap.add_argument("--skip-envelope", action="store_true", help="skip bench/envelope.py (worst-case inputs at the limits)")
    ap.add_argument("--skip-formats", action="store_true", help="skip bench/formats.py (TIFF, GIF, BMP, HEIC, AVIF against libvips)")
    ap.add_argument("--skip-job", action="store_true", help="skip bench/job.py (the whole job against SPEC.md's reference worker)")
    ap.add_argument("--skip-confinement", action="store_true", help="skip bench/confinement.py (the confined image stage against in-process)")
    args = ap.parse_args()
    ensure_deps()
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = None
    photos = sorted(p for p in Path(args.photos).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
    rows, sums = [], {"t": [], "m": []}
    floors, timelines = [], []
    env = {"PATH": os.environ.get("PATH", "")}
    for photo in photos:
        ours_dir, sharp_dir = OUT / "ours" / photo.stem, OUT / "sharp" / photo.stem
        for d in (ours_dir, sharp_dir):
            shutil.rmtree(d, ignore_errors=True)
        ours = [measure([args.worker, "variants", str(photo), "--out", str(ours_dir)], env) for _ in range(args.runs)]
        sharp = [measure(["node", str(NODE_DIR / "sharp_reference.js"), str(photo), str(sharp_dir)]) for _ in range(args.runs)]
        t_o, t_s = statistics.median(r[0] for r in ours), statistics.median(r[0] for r in sharp)
        m_o, m_s = statistics.median(r[1] for r in ours), statistics.median(r[1] for r in sharp)
        stored = Image.open(photo)
        floor = floor_command(photo, *stored.size)
        if floor:
            t_f = statistics.median(measure(floor[1])[0] for _ in range(args.runs))
            floors.append(f"| {photo.name} | {t_o * 1000:.0f} ms | `{floor[0]}` {t_f * 1000:.0f} ms | **{t_o / t_f:.2f}×** |")
        timelines.append((photo.name, phases(args.worker, photo, env)))
        original = ImageOps.exif_transpose(stored).convert("RGB")
        cells = []
        for name in ("thumb", "medium", "large"):
            o = next(iter(ours_dir.glob(f"{name}.*")), None)
            s = next(iter(sharp_dir.glob(f"{name}.*")), None)
            if not o or not s:
                cells.append("—")
                continue
            bo, bs = o.stat().st_size, s.stat().st_size
            qo, qs = quality(original, o), quality(original, s)
            cells.append(f"{bo / bs:.2f}× ({bo // 1024} / {bs // 1024} KiB), SSIM {qo:.4f} / {qs:.4f}")
        sums["t"].append(t_o / t_s)
        sums["m"].append(m_o / m_s)
        rows.append(f"| {photo.name} | {t_o * 1000:.0f} / {t_s * 1000:.0f} ms = **{t_o / t_s:.2f}×** | {m_o:.0f} / {m_s:.0f} MiB = **{m_o / m_s:.2f}×** | " + " | ".join(cells) + " |")
    print(f"Median of {args.runs} runs per tool; ours = `arke-image-processor variants`, sharp = SPEC.md's logic in Node. Ratios are ours / sharp.\n")
    print("| photo | wall time | peak RSS | thumb bytes, SSIM ours / sharp | medium | large |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(r)
    if rows:
        print(f"\nGeomean ratios: time {geomean(sums['t']):.2f}×, peak RSS {geomean(sums['m']):.2f}×. "
              f"Worst: time {max(sums['t']):.2f}×, peak RSS {max(sums['m']):.2f}×.")
    if floors:
        print("\nThe floor: the codec's own decoder on the same file, median of the same number of runs "
              "(M/8: the scale we decode at, the smallest of 1/8, 2/8, 4/8, 8/8 whose long side reaches the largest variant).\n")
        print("| photo | ours (`variants`, whole process) | codec's decoder alone | ours / decoder |")
        print("|---|---|---|---|")
        print("\n".join(floors))
    print("\nWhere the time goes (`phases_ms` of one more run; ms from the start of the image stage, "
          "threads overlap):\n")
    print("| photo | phase: start + duration (ms) |")
    print("|---|---|")
    for name, steps in timelines:
        print(f"| {name} | " + "; ".join(f"{n} {s:.0f}+{d:.0f}" for n, s, d in steps) + " |")
    if not args.skip_limits:
        limits(args, env)
    if not args.skip_envelope:
        print(flush=True)
        subprocess.run([sys.executable, str(Path(__file__).parent / "envelope.py"), "--bin", args.worker], check=True)
    if not args.skip_formats:
        print(flush=True)
        subprocess.run([sys.executable, str(Path(__file__).parent / "formats.py"), "--bin", args.worker,
                        "--runs", str(args.runs)], check=True)
    if not args.skip_confinement:
        print(flush=True)
        subprocess.run([sys.executable, str(Path(__file__).parent / "confinement.py"), "--worker", args.worker,
                        "--runs", str(args.runs), args.photos], check=True)
    if not args.skip_job:
        print(flush=True)
        subprocess.run([sys.executable, str(Path(__file__).parent / "job.py"), "--worker", args.worker,
                        "--runs", str(args.runs), args.photos], check=True)


def limits(args, env):
    """The two extremes: a decompression bomb (refused from its header) and the largest JPEG
    MAX_INPUT_PIXELS allows (16383 x 16383 = 268 MP), whole process, ours only."""
    import numpy as np
    from PIL import Image

    huge = OUT / "huge_16383x16383.jpg"
    if not huge.exists():
        ramp = np.linspace(0, 255, 16383, dtype=np.float32)
        rgb = np.empty((16383, 16383, 3), dtype=np.uint8)
        rgb[..., 0] = ramp[None, :]
        rgb[..., 1] = ramp[:, None]
        rgb[..., 2] = 128
        Image.fromarray(rgb).save(huge, quality=85)
        del rgb
    bomb = ROOT / "testdata" / "correctness" / "bomb_50000x50000.png"
    print("\n| input | what happens | wall time | peak RSS |")
    print("|---|---|---|---|")
    out = OUT / "limits"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    with tempfile.NamedTemporaryFile("r") as report:
        run = subprocess.run(["/usr/bin/time", "-o", report.name, "-f", "%M", args.worker, "variants", str(bomb), "--out", str(out)],
                             capture_output=True, env=env)
        elapsed = time.perf_counter() - start
        peak = int(report.read().split()[-1]) / 1024
    refused = run.returncode == 1 and b"input too large" in run.stderr
    print(f"| {bomb.name} (66 bytes, declares 2.5 gigapixels) | {'refused: input too large' if refused else 'NOT REFUSED'} | {elapsed * 1000:.0f} ms | {peak:.1f} MiB |")
    t, m = measure([args.worker, "variants", str(huge), "--out", str(out)], env)
    print(f"| {huge.name} ({huge.stat().st_size // (1024 * 1024)} MiB, 268 MP) | thumb, medium, large | {t * 1000:.0f} ms | {m:.0f} MiB |")
    # The whole job through the local stack: a 400 MB object whose HEAD and GET hide their
    # size (chunked), so only the bounded read stands between it and the machine's memory.
    import json
    start = time.perf_counter()
    run = subprocess.run(["cargo", "run", "-q", "-p", "arke-stack", "--", "oversized", "--worker", args.worker],
                         cwd=ROOT, capture_output=True, check=True)
    elapsed = time.perf_counter() - start
    r = json.loads(run.stdout.decode().strip().splitlines()[-1])
    print(f"| 400 MB object, HEAD and GET without size (job, local stack) | {r['outcome']}, exit {r['exit']} | {elapsed * 1000:.0f} ms (stack included) | {r['peak_rss_mib']:.0f} MiB |")


if __name__ == "__main__":
    main()
