#!/usr/bin/env python3
"""The formats of issue 28 against libvips, whole process against whole process, same files,
same run: for each input, the median wall time and peak RSS of

    ours    `arke-image-processor variants FILE --out DIR` (every variant, confined child)
    decode  `vips avg FILE`: libvips decoding every pixel (the floor: no resize, no encode)
    thumb   `vipsthumbnail FILE -s 2400 -o large.jpg`: libvips making one 2400 px JPEG

and the ratios ours / decode and ours / thumb. A benchmark, not a test: it asserts nothing.

    python3 bench/formats.py [--bin BIN] [--runs N] [--cache DIR] [--only NAME ...]
    just bench                   (runs it after the photo benchmark; `--skip-formats` there)

The inputs are made once into a cache folder (default target/format-inputs) from a real photo
(testdata/photos), with Pillow and numpy (pip), libtiff's tiffcp and avifenc; two real phone
HEICs come from pillow-heif's source distribution (pip download): pug.heic (an iPhone's 12 MP
grid) and 200MP.heic (a Samsung 200 MP photo). libvips from apt (libvips-tools, with libheif).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True
from corpus import run_measured  # noqa: E402 (bench/corpus.py, beside this file)

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
PHOTO = ROOT / "testdata/photos/jpeg_portrait_wine_2560x3837.jpg"
VERSION = "v1"  # bump when an input changes


def ensure_deps():
    missing = [p for t, p in (("vips", "libvips-tools"), ("tiffcp", "libtiff-tools"),
                              ("avifenc", "libavif-bin")) if not shutil.which(t)]
    if missing:
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True)
    try:
        import numpy  # noqa: F401
        import PIL  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "numpy", "Pillow"],
                       check=True)


def photo(size):
    """The test photo, turned landscape and resized to `size` (Lanczos), RGB."""
    from PIL import Image
    im = Image.open(PHOTO).convert("RGB").transpose(Image.Transpose.ROTATE_90)
    return im.resize(size, Image.Resampling.LANCZOS)


def write_tiff16(path, im):
    """`im` (8-bit RGB) as an uncompressed 16-bit RGB TIFF in 64-row strips: a scanner master
    (libtiff's and Pillow's writers have no 16-bit RGB)."""
    import numpy as np
    from envelope import write_tiff  # bench/envelope.py, beside this file
    a = np.asarray(im, dtype=np.uint16)
    a = (a * 257 + (np.arange(a.shape[1], dtype=np.uint16)[None, :, None] % 7)).astype("<u2")
    h, w, _ = a.shape
    write_tiff(path, w, h, 3, 16, lambda y: a[y].tobytes(), 64, False)


def a4_page():
    """A 300 dpi A4 page (2480 x 3508) of black text-like bars and a border, bilevel."""
    from PIL import Image, ImageDraw
    page = Image.new("L", (2480, 3508), 255)
    d = ImageDraw.Draw(page)
    d.rectangle((150, 150, 2330, 3358), outline=0, width=6)
    for line in range(90):
        y = 300 + line * 33
        x = 250
        for word in range(14):
            length = 60 + (line * 37 + word * 53) % 120
            d.rectangle((x, y, x + length, y + 18), fill=0)
            x += length + 25
    return page.convert("1")


def make(name, path):
    from PIL import Image
    if name == "tiff-rgb16-24mp":
        write_tiff16(path, photo((6000, 4000)))
    elif name == "tiff-rgb8-lzw-24mp":
        photo((6000, 4000)).save(path, "TIFF", compression="tiff_lzw")
    elif name == "tiff-cmyk8-lzw-12mp":
        photo((4000, 3000)).convert("CMYK").save(path, "TIFF", compression="tiff_lzw")
    elif name == "tiff-g4-a4":
        plain = path.with_name(path.name + ".plain.tif")
        a4_page().save(plain, "TIFF")
        subprocess.run(["tiffcp", "-c", "g4", str(plain), str(path)], check=True)
        plain.unlink()
    elif name == "gif-anim-10f":
        base = photo((1000, 700)).quantize(256)
        frames = [base.rotate(3 * i, fillcolor=0) for i in range(10)]
        frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], loop=0, duration=80)
    elif name == "bmp-rgb24-12mp":
        photo((4000, 3000)).save(path, "BMP")
    elif name == "avif-12mp":
        png, out = path.with_name(path.name + ".png"), path.with_name(path.name + ".avif")
        photo((4000, 3000)).save(png)
        subprocess.run(["avifenc", "--min", "20", "--max", "30", "-s", "6", "-y", "420", str(png),
                        "-o", str(out)], check=True, stdout=subprocess.DEVNULL)
        png.unlink()
        out.rename(path)
    elif name in ("heic-pug-12mp", "heic-200mp"):
        member = {"heic-pug-12mp": "heif_other/pug.heic", "heic-200mp": "heif_special/200MP.heic"}
        shutil.copy(pillow_heif_images(path.parent) / member[name], path)


def pillow_heif_images(cache):
    """pillow-heif 1.9.0's tests/images, from its source distribution (PyPI), unpacked once."""
    import tarfile
    root = cache / "pillow_heif-1.9.0"
    if not root.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary",
                        ":all:", "pillow-heif==1.9.0", "-d", str(cache)], check=True)
        with tarfile.open(cache / "pillow_heif-1.9.0.tar.gz") as t:
            t.extractall(cache, filter="data")
    return root / "tests" / "images"


INPUTS = {
    "tiff-rgb16-24mp": "tif",
    "tiff-rgb8-lzw-24mp": "tif",
    "tiff-cmyk8-lzw-12mp": "tif",
    "tiff-g4-a4": "tif",
    "gif-anim-10f": "gif",
    "bmp-rgb24-12mp": "bmp",
    "heic-pug-12mp": "heic",
    "heic-200mp": "heic",
    "avif-12mp": "avif",
}


def measure(cmd, runs):
    """Median wall seconds and peak RSS MiB over `runs` runs (exit status checked)."""
    times, peaks = [], []
    for _ in range(runs):
        status, elapsed, peak, timed_out = run_measured(cmd, 300, subprocess.DEVNULL,
                                                        subprocess.DEVNULL)
        if timed_out or status != 0:
            return None
        times.append(elapsed)
        peaks.append(peak)
    return statistics.median(times), statistics.median(peaks)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", type=Path, default=TARGET / "release" / "arke-image-processor")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cache", type=Path, default=TARGET / "format-inputs")
    ap.add_argument("--only", action="append", choices=list(INPUTS))
    ap.add_argument("--make", nargs=2, metavar=("NAME", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make:
        name, path = args.make
        partial = Path(path + ".partial")
        make(name, partial)
        partial.rename(path)
        return 0
    if not args.bin.is_file():
        sys.exit(f"formats.py: no worker at {args.bin} (build it, or pass --bin)")
    ensure_deps()
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"Formats against libvips ({subprocess.run(['vips', '--version'], capture_output=True, text=True).stdout.strip()}), "
          f"medians of {args.runs} runs, whole processes.\n")
    print("| input | bytes | ours s | vips decode s | vipsthumbnail s | ours / decode | ours / thumb "
          "| ours MiB | decode MiB | thumb MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    for name in args.only or INPUTS:
        path = args.cache / f"{name}.{VERSION}.{INPUTS[name]}"
        if not path.exists():
            # In a process of its own: ru_maxrss of the runs measured below starts at this
            # process's peak, which generating a 24 MP picture would raise to ~600 MiB.
            subprocess.run([sys.executable, __file__, "--make", name, str(path)], check=True)
        with tempfile.TemporaryDirectory() as out:
            ours = measure([str(args.bin), "variants", str(path), "--out", out], args.runs)
            decode = measure(["vips", "avg", str(path)], args.runs)
            thumb = measure(["vipsthumbnail", str(path), "-s", "2400",
                             "-o", os.path.join(out, "vips-large.jpg")], args.runs)
        cells = [f"{path.stat().st_size:,}"]
        for m in (ours, decode, thumb):
            cells.append("failed" if m is None else f"{m[0]:.3f}")
        for m in (decode, thumb):
            cells.append("—" if None in (ours, m) else f"{ours[0] / m[0]:.2f}")
        for m in (ours, decode, thumb):
            cells.append("—" if m is None else f"{m[1]:.0f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
