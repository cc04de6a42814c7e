#!/usr/bin/env python3
"""Which DCT scale to decode a JPEG at (src/image/jpeg.rs `scale_for`): for each JPEG given and
each scale M/8 whose long side reaches the largest variant, `large` made the worker's way
(libjpeg-turbo's `djpeg -scale M/8`, Lanczos3 to the variant's size, JPEG quality 80 4:2:0)
and scored against a Lanczos3 downscale of the full-size decode (luma SSIM, bench.py's), with
its bytes and djpeg's median time at that scale.

    python3 bench/dct_scale.py testdata/photos/*.jpg

Needs djpeg (libjpeg-turbo-progs), numpy and Pillow.
"""
import io
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import SIZES, ssim  # noqa: E402


def djpeg(path, m):
    out = subprocess.run(["djpeg", "-scale", f"{m}/8", str(path)], capture_output=True, check=True).stdout
    return Image.open(io.BytesIO(out)).convert("RGB")


def seconds(path, m, runs=5):
    def once():
        start = time.perf_counter()
        subprocess.run(["djpeg", "-scale", f"{m}/8", "-outfile", "/dev/null", str(path)], check=True)
        return time.perf_counter() - start
    return statistics.median(once() for _ in range(runs))


def luma(im):
    return np.asarray(ImageOps.grayscale(im), dtype=np.float64)


def main():
    for path in map(Path, sys.argv[1:]):
        full = djpeg(path, 8)
        w, h = full.size
        long = max(w, h)
        target = max((s for s in SIZES if long > s), default=None)
        if target is None:
            continue
        size = (target, round(h * target / w)) if w >= h else (round(w * target / h), target)
        reference = luma(full.resize(size, Image.LANCZOS))
        print(f"{path.name} ({w}x{h}), large {size[0]}x{size[1]}:")
        for m in range(1, 9):
            if -(-long * m // 8) < target:
                continue
            buf = io.BytesIO()
            djpeg(path, m).resize(size, Image.LANCZOS).save(buf, "JPEG", quality=80, subsampling=2, optimize=True)
            buf.seek(0)
            score = ssim(luma(Image.open(buf).convert("RGB")), reference)
            print(f"  {m}/8: SSIM {score:.4f}, {buf.getbuffer().nbytes // 1024} KiB, djpeg {seconds(path, m) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
