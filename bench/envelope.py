#!/usr/bin/env python3
"""Memory-envelope benchmark: the worker's image stage on worst-case inputs at its limits
(MAX_INPUT_PIXELS = 16383 x 16383, files under MAX_INPUT_BYTES = 50 MiB), whole process.
A benchmark, not a test: it asserts nothing and exits 0 whatever it measures.

    python3 bench/envelope.py [--bin BIN] [--only CASE ...] [--cache DIR] [--timeout S]
    just envelope [ARGS]            (builds the release worker first; `just bench` runs it too)

The inputs are generated once into a cache folder (default: target/envelope-inputs, beside the
builds; delete it to regenerate) and reused on later runs:

    png16-rgba      16-bit RGBA PNG, 16383 x 16383 (flat colour blocks; a few MB)
    png16-rgb       16-bit RGB PNG, 16383 x 16383
    png8-rgba       8-bit RGBA PNG, 16383 x 16383
    webp-lossless   lossless WebP with alpha, 16383 x 16383 (cwebp -lossless from png8-rgba)
    jpeg-prog-420   progressive JPEG, 4:2:0, 16383 x 16383 (cjpeg -progressive)
    jpeg-prog-444   progressive JPEG, 4:4:4, 16383 x 16383
    tiff16-rgb-400mb   uncompressed 16-bit RGB TIFF, 10000 x 6667: a 400 MB scanner master (over
                    MAX_INPUT_BYTES, within MAX_TIFF_INPUT_BYTES), streamed strip by strip
    tiff8-rgb-max   Deflate 8-bit RGB TIFF, 16383 x 16383, strips of 16 rows (streamed)
    tiff8-rgba-max  Deflate 8-bit RGBA TIFF, 16383 x 16383 (alpha: decoded whole, 1.07 GB)
    bmp-rle8-max    RLE8 BMP, 16383 x 16383 (runs of one colour: a few MB)
    heic-200mp      a Samsung 200 MP phone HEIC (16320 x 12240, a grid of 512 x 512 tiles), from
                    pillow-heif 1.9.0's source distribution (pip download), streamed tile row by
                    tile row
    avif-grid-256mp AVIF, 16000 x 16000 as an 8 x 8 grid (avifenc --grid, speed 10), streamed
    png-iccp-1gib   64 x 64 PNG whose iCCP profile inflates to 1 GiB of zeros
    png-ztxt-1gib   64 x 64 PNG whose zTXt text inflates to 1 GiB
    png-itxt-1gib   64 x 64 PNG whose compressed iTXt text inflates to 1 GiB

The PNGs are written by this script, row by row through a streaming zlib compressor, so
generating them takes little memory. The WebP needs `cwebp` and the JPEGs `cjpeg`
(apt-get install -y webp libjpeg-turbo-progs); a case whose tool is missing is skipped.

For each case, `BIN variants FILE --out TMPDIR` runs once and a Markdown row is printed: case,
file bytes, outcome (ok and the variants made / refused and the first 100 characters of the
message / crash / timeout), wall seconds, peak RSS (ru_maxrss from os.wait4, which includes the
RSS floor printed below the table) and whether that peak is under 1.5 GiB (1536 MiB), the
envelope docs/PRODUCT.md sets. Standard library only; no network.
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.dont_write_bytecode = True  # no bench/__pycache__ from the import below
from corpus import run_measured  # noqa: E402 (bench/corpus.py, beside this file)

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
DEFAULT_BIN = TARGET / "release" / "arke-image-processor"
DEFAULT_CACHE = TARGET / "envelope-inputs"
GENERATOR = "v1"  # part of every cached file's name: bump it when an input changes
ENVELOPE_MIB = 1536
MAX_INPUT_BYTES = 50 * 1024 * 1024
MAX_TIFF_INPUT_BYTES = 512 * 1024 * 1024

SIDE = 16383  # the largest square MAX_INPUT_PIXELS allows, and WebP's largest side
BLOCK = 1024  # the picture is a 16 x 16 grid of flat colour blocks (the last ones 1023 px)
SPANS = [min(BLOCK, SIDE - start) for start in range(0, SIDE, BLOCK)]
BOMB_BYTES = 1 << 30


# --- the picture -----------------------------------------------------------------------------

def block_colour(bx, by):
    """RGBA (0-255) of block (bx, by): a red ramp across, green down, blue checkered, alpha
    falling down the picture (never 0, so every colour stays visible)."""
    return (24 + 14 * bx, 24 + 14 * by, 200 if (bx + by) % 2 else 60, 255 - 6 * by)


def pixel_bytes(bx, by, channels, depth):
    samples = block_colour(bx, by)[:channels]
    if depth == 16:
        return bytes(b for s in samples for b in (s, s))  # s * 257, big-endian
    return bytes(samples)


def png_row(by, channels, depth, width=SIDE):
    """One PNG scanline of block row `by`, with filter type 1 (Sub): each byte minus the byte one
    pixel to the left, so a flat block is all zeros and compresses to almost nothing."""
    bpp = channels * depth // 8
    out = bytearray([1])
    prev = bytes(bpp)
    done = 0
    for bx, span in enumerate(SPANS):
        span = min(span, width - done)
        if span <= 0:
            break
        px = pixel_bytes(bx, by, channels, depth)
        out += bytes((a - b) & 0xFF for a, b in zip(px, prev))
        out += bytes(bpp * (span - 1))
        prev = px
        done += span
    return bytes(out)


def rgb_row(by):
    """One unfiltered 8-bit RGB row of block row `by` (for a PPM)."""
    return b"".join(pixel_bytes(bx, by, 3, 8) * span for bx, span in enumerate(SPANS))


# --- PNG writing -----------------------------------------------------------------------------

def chunk(kind, data):
    """A PNG chunk: length, type, data, CRC of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png(path, width, height, depth, colour_type, row_for_y, extra=b"", level=6):
    """Writes a PNG, compressing the rows (filter byte included) as they come; IDAT chunks of
    about 1 MiB. `extra` is put between IHDR and IDAT (ancillary chunks)."""
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)))
        f.write(extra)
        z = zlib.compressobj(level)
        pending = bytearray()
        for y in range(height):
            pending += z.compress(row_for_y(y))
            if len(pending) >= 1 << 20:
                f.write(chunk(b"IDAT", bytes(pending)))
                pending.clear()
        pending += z.flush()
        f.write(chunk(b"IDAT", bytes(pending)))
        f.write(chunk(b"IEND", b""))


def gen_big_png(path, depth, channels):
    rows = [png_row(by, channels, depth) for by in range(len(SPANS))]
    write_png(path, SIDE, SIDE, depth, 6 if channels == 4 else 2, lambda y: rows[y // BLOCK])


_zeros_deflated = None


def deflated_zeros():
    """zlib stream of 1 GiB of zero bytes (about 1 MB), made once per run."""
    global _zeros_deflated
    if _zeros_deflated is None:
        z = zlib.compressobj(9)
        mib = bytes(1 << 20)
        parts = [z.compress(mib) for _ in range(BOMB_BYTES >> 20)]
        parts.append(z.flush())
        _zeros_deflated = b"".join(parts)
    return _zeros_deflated


def gen_bomb_png(path, kind):
    """A 64 x 64 RGB PNG with one well-formed ancillary chunk that inflates to 1 GiB."""
    if kind == "iccp":
        extra = chunk(b"iCCP", b"ICC profile\0" + b"\0" + deflated_zeros())
    elif kind == "ztxt":
        extra = chunk(b"zTXt", b"Comment\0" + b"\0" + deflated_zeros())
    else:  # iTXt: keyword, compression flag 1, method 0, empty language tag and translated keyword
        extra = chunk(b"iTXt", b"Comment\0" + b"\1\0" + b"\0" + b"\0" + deflated_zeros())
    row = png_row(3, 3, 8, width=64)
    write_png(path, 64, 64, 8, 2, lambda y: row, extra=extra)


# --- WebP and JPEG through the command-line encoders ----------------------------------------

def gen_webp(path, cache):
    source = ensure(cache, "png8-rgba")
    subprocess.run(["cwebp", "-quiet", "-lossless", "-z", "1", str(source), "-o", str(path)], check=True)


def gen_jpeg(path, sampling):
    """Streams a PPM into cjpeg (which holds the coefficients, not this process)."""
    rows = [rgb_row(by) for by in range(len(SPANS))]
    cmd = ["cjpeg", "-progressive", "-quality", "85", "-sample", sampling, "-outfile", str(path)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    proc.stdin.write(f"P6\n{SIDE} {SIDE}\n255\n".encode())
    for y in range(SIDE):
        proc.stdin.write(rows[y // BLOCK])
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"cjpeg failed ({proc.returncode})")


# --- TIFF and BMP -----------------------------------------------------------------------------

def write_tiff(path, width, height, channels, depth, row_for_y, rows_per_strip, deflate):
    """A little-endian baseline TIFF written strip by strip (Deflate or none), its IFD and the
    strip offset and byte count arrays at the end; RGB or RGBA (unassociated alpha)."""
    strips = (height + rows_per_strip - 1) // rows_per_strip
    offsets, counts = [], []
    with open(path, "wb") as f:
        f.write(b"II*\0" + b"\0\0\0\0")  # the IFD offset, patched below
        for s in range(strips):
            rows = b"".join(row_for_y(y) for y in range(s * rows_per_strip,
                                                         min(height, (s + 1) * rows_per_strip)))
            data = zlib.compress(rows, 6) if deflate else rows
            offsets.append(f.tell())
            counts.append(len(data))
            f.write(data)
        arrays = f.tell()
        f.write(struct.pack(f"<{strips}I", *offsets) + struct.pack(f"<{strips}I", *counts))
        bits = f.tell()
        f.write(struct.pack(f"<{channels}H", *[depth] * channels))
        tags = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, channels, bits),
                (259, 3, 1, 8 if deflate else 1), (262, 3, 1, 2),
                (273, 4, strips, arrays), (277, 3, 1, channels), (278, 4, 1, rows_per_strip),
                (279, 4, strips, arrays + 4 * strips)]
        if channels == 4:
            tags.append((338, 3, 1, 2))  # ExtraSamples: unassociated alpha
        ifd = f.tell()
        f.write(struct.pack("<H", len(tags)))
        for tag, kind, count, value in sorted(tags):
            f.write(struct.pack("<HHII", tag, kind, count, value))
        f.write(b"\0\0\0\0")
        f.seek(4)
        f.write(struct.pack("<I", ifd))


def tiff_row(by, channels, depth, width):
    """One row of block row `by` (little-endian samples for 16 bits)."""
    spans = [min(BLOCK, width - start) for start in range(0, width, BLOCK)]
    out = bytearray()
    for bx, span in enumerate(spans):
        samples = block_colour(bx, by)[:channels]
        px = bytes(samples) if depth == 8 else struct.pack(f"<{channels}H", *[v * 257 for v in samples])
        out += px * span
    return bytes(out)


def gen_tiff(path, width, height, channels, depth, deflate, rows_per_strip):
    rows = [tiff_row(by, channels, depth, width) for by in range((height + BLOCK - 1) // BLOCK)]
    write_tiff(path, width, height, channels, depth, lambda y: rows[y // BLOCK], rows_per_strip,
               deflate)


def gen_bmp_rle8(path):
    """A bottom-up 8-bit RLE BMP of SIDE x SIDE: each row runs of 255 then the rest, one
    palette colour per block row, end-of-line codes, end-of-bitmap."""
    colours = [block_colour(i % 16, i // 16) for i in range(256)]
    palette = b"".join(bytes((b, g, r, 0)) for r, g, b, _ in colours)
    data = bytearray()
    for y in range(SIDE):
        colour = (SIDE - 1 - y) // BLOCK
        left = SIDE
        while left:
            n = min(255, left)
            data += bytes((n, colour))
            left -= n
        data += b"\0\0"
    data += b"\0\1"
    header = struct.pack("<IiiHHIIiiII", 40, SIDE, SIDE, 1, 8, 1, len(data), 2835, 2835, 256, 0)
    offset = 14 + len(header) + len(palette)
    with open(path, "wb") as f:
        f.write(b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset))
        f.write(header + palette + data)


def gen_heic_200mp(path, cache):
    """200MP.heic from pillow-heif 1.9.0's sdist (tests/images/heif_special)."""
    import tarfile
    sdist = cache / "pillow_heif-1.9.0.tar.gz"
    if not sdist.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary",
                        ":all:", "pillow-heif==1.9.0", "-d", str(cache)], check=True)
    with tarfile.open(sdist) as t:
        member = t.extractfile("pillow_heif-1.9.0/tests/images/heif_special/200MP.heic")
        path.write_bytes(member.read())


def gen_avif_grid(path, cache):
    """A 16000 x 16000 picture of flat blocks as an AVIF 8 x 8 grid of 2000 x 2000 cells."""
    side = 16000
    png = path.with_name(path.name + ".png")
    out = path.with_name(path.name + ".avif")
    rows = [png_row(by, 3, 8, width=side) for by in range((side + BLOCK - 1) // BLOCK)]
    write_png(png, side, side, 8, 2, lambda y: rows[y // BLOCK])
    subprocess.run(["avifenc", "-s", "10", "--min", "30", "--max", "40", "-y", "420",
                    "--grid", "8x8", str(png), "-o", str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    png.unlink()
    out.rename(path)


# --- the cases -------------------------------------------------------------------------------

# name: (file suffix, tool it needs or None, generator(path, cache))
CASES = {
    "png16-rgba": ("png", None, lambda p, c: gen_big_png(p, 16, 4)),
    "png16-rgb": ("png", None, lambda p, c: gen_big_png(p, 16, 3)),
    "png8-rgba": ("png", None, lambda p, c: gen_big_png(p, 8, 4)),
    "webp-lossless": ("webp", "cwebp", gen_webp),
    "jpeg-prog-420": ("jpg", "cjpeg", lambda p, c: gen_jpeg(p, "2x2")),
    "jpeg-prog-444": ("jpg", "cjpeg", lambda p, c: gen_jpeg(p, "1x1")),
    "tiff16-rgb-400mb": ("tif", None, lambda p, c: gen_tiff(p, 10000, 6667, 3, 16, False, 64)),
    "tiff8-rgb-max": ("tif", None, lambda p, c: gen_tiff(p, SIDE, SIDE, 3, 8, True, 16)),
    "tiff8-rgba-max": ("tif", None, lambda p, c: gen_tiff(p, SIDE, SIDE, 4, 8, True, 16)),
    "bmp-rle8-max": ("bmp", None, lambda p, c: gen_bmp_rle8(p)),
    "heic-200mp": ("heic", None, gen_heic_200mp),
    "avif-grid-256mp": ("avif", "avifenc", gen_avif_grid),
    "png-iccp-1gib": ("png", None, lambda p, c: gen_bomb_png(p, "iccp")),
    "png-ztxt-1gib": ("png", None, lambda p, c: gen_bomb_png(p, "ztxt")),
    "png-itxt-1gib": ("png", None, lambda p, c: gen_bomb_png(p, "itxt")),
}
generation_log = []


def ensure(cache, name):
    """The cached input of case `name`, generated first if missing (written under a temporary
    name and renamed, so an interrupted run leaves no half file)."""
    suffix, tool, generate = CASES[name]
    path = cache / f"{name}.{GENERATOR}.{suffix}"
    if not path.exists():
        if tool and not shutil.which(tool):
            raise FileNotFoundError(f"needs {tool} (apt-get install -y webp libjpeg-turbo-progs)")
        partial = path.with_name(path.name + ".partial")
        start = time.perf_counter()
        generate(partial, cache)
        partial.rename(path)
        generation_log.append(f"{name} {time.perf_counter() - start:.1f} s")
    return path


def describe(status, stdout, stderr):
    """The outcome cell from the exit status and the worker's output."""
    if os.WIFSIGNALED(status):
        return f"**crash** (signal {os.WTERMSIG(status)})"
    code = os.WEXITSTATUS(status)
    first = (stderr.strip().splitlines() or [""])[0].removeprefix("error: ")
    if code == 0:
        try:
            made = ", ".join(v["name"] for v in json.loads(stdout)["variants"])
        except (ValueError, KeyError, TypeError):
            made = "summary not JSON"
        return f"ok: {made}"
    if code == 1:
        return "refused: " + first[:100].replace("|", "\\|")
    return f"**exit {code}**: {first[:100]}"


def run_case(binary, path, timeout):
    out_dir = tempfile.mkdtemp(prefix="arke-envelope-")
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            status, elapsed, peak, timed_out = run_measured(
                [str(binary), "variants", str(path), "--out", out_dir], timeout, out, err,
                env={"PATH": os.environ.get("PATH", "")})  # the worker's defaults, whatever this shell sets
            out.seek(0)
            err.seek(0)
            outcome = "**timeout**" if timed_out else describe(status, out.read().decode(errors="replace"),
                                                                err.read().decode(errors="replace"))
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return outcome, elapsed, peak


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", type=Path, default=DEFAULT_BIN, help=f"the worker (default: {DEFAULT_BIN})")
    ap.add_argument("--only", action="append", choices=list(CASES), metavar="CASE",
                    help="run only this case (repeatable): " + ", ".join(CASES))
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"where inputs are kept (default: {DEFAULT_CACHE})")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per case before it is killed (default 600)")
    args = ap.parse_args()
    if not args.bin.is_file():
        sys.exit(f"envelope.py: no worker at {args.bin} (build it, or pass --bin)")
    args.cache.mkdir(parents=True, exist_ok=True)
    names = args.only or list(CASES)

    inputs, skipped = {}, []
    start = time.perf_counter()
    for name in names:
        try:
            inputs[name] = ensure(args.cache, name)
        except FileNotFoundError as e:
            skipped.append(f"{name}: {e}")
    if generation_log:
        print(f"Generated into {args.cache} in {time.perf_counter() - start:.0f} s: " + ", ".join(generation_log) + "\n")

    print(f"Memory envelope, `{args.bin.name} variants` at the limits (16383 x 16383 = MAX_INPUT_PIXELS), one run each.\n")
    print("| case | file bytes | outcome | wall s | peak RSS MiB | < 1.5 GiB |")
    print("|---|---:|---|---:|---:|---|", flush=True)
    for name, path in inputs.items():
        size = path.stat().st_size
        outcome, elapsed, peak = run_case(args.bin, path, args.timeout)
        tiff = path.suffix == ".tif"
        limit = MAX_TIFF_INPUT_BYTES if tiff else MAX_INPUT_BYTES
        over = ""
        if size > limit:
            over = " (over MAX_INPUT_BYTES: a job would refuse it before download)"
        elif size > MAX_INPUT_BYTES:
            over = " (within MAX_TIFF_INPUT_BYTES)"
        within = "yes" if peak < ENVELOPE_MIB else "**no**"
        print(f"| {name} | {size:,}{over} | {outcome} | {elapsed:.2f} | {peak:.0f} | {within} |", flush=True)
    _, _, floor, _ = run_measured(["/bin/true"], 10, subprocess.DEVNULL, subprocess.DEVNULL)
    print(f"\nPeak RSS is ru_maxrss, which starts at this script's own peak: {floor:.1f} MiB (a /bin/true).")
    for s in skipped:
        print(f"Skipped {s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
