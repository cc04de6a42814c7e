#!/usr/bin/env python3
"""Flood benchmark: the image stage on inputs built to hold the machine (PRODUCT.md "Bounded
time": structures no encoder writes, refused early or handled in linear time), whole process,
this build against another (the build before a change) pair by pair. A benchmark, not a test: it
asserts nothing and exits 0 whatever it measures.

    python3 bench/floods.py [--bin BIN] [--vs BIN_B] [--only CASE ...] [--runs N]
                            [--cache DIR] [--timeout S] [--limits]

The inputs are generated once into a cache folder (default: target/flood-inputs; delete it to
regenerate). The issue's worst cases (issue 25, each rebuilt from a public report):

    jpeg-scans      4000 x 3000 flat grey progressive JPEG (cjpeg -progressive) whose
                    cheapest scan (end-of-band runs) is repeated to 100,001 scans in all
    jpeg-app1       a 640 x 480 JPEG after 150,000 empty APP1 segments (libjpeg-turbo#764)
    jpeg-app2       the same with 150,000 empty APP2 segments
    png-idat        a 300 x 210 noise PNG (a 189 KB zlib stream) in 189,000 one-byte IDAT chunks

With --limits, the same classes at the input limits (50 MiB, MAX_INPUT_PIXELS), which a
quadratic or unbounded build would not finish (run them without --vs):

    jpeg-app1-50mib   13 million empty APP1 segments
    jpeg-com-50mib    13 million empty COM segments
    jpeg-scans-limit  16383 x 16383 progressive JPEG (a gradient: its scans cost more than
                      a flat picture's) with its cheapest scan repeated to MAX_SCANS (100)
                      scans: the most scan work a file within the limit asks for
    png-chunks-50mib  4.4 million empty private chunks before the image data
    png-idat-50mib    4 million one-byte IDAT chunks
    webp-chunks-50mib 6.5 million empty unknown chunks in an extended WebP

The JPEGs need `cjpeg` (apt-get install -y libjpeg-turbo-progs); a case whose tool is missing
is skipped. For each case and binary, `BIN variants FILE --out TMPDIR` runs --runs times
(default 1; with --vs the two binaries alternate, A B A B) and a Markdown row gives the outcome
(ok, or the refusal's first words), the median wall seconds and peak RSS (ru_maxrss from
os.wait4) of each, and the ratios A/B. Standard library only; no network.
"""
import argparse
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

sys.dont_write_bytecode = True  # no bench/__pycache__ from the imports below
from corpus import run_measured  # noqa: E402 (bench/corpus.py, beside this file)
from envelope import DEFAULT_BIN, MAX_INPUT_BYTES, TARGET, chunk  # noqa: E402 (bench/envelope.py)

DEFAULT_CACHE = TARGET / "flood-inputs"
GENERATOR = "v2"  # part of every cached file's name: bump it when an input changes
MAX_SCANS = 100  # src/image/jpeg.rs


# --- JPEG ------------------------------------------------------------------------------------

def cjpeg(path, width, height, progressive=True, flat=False):
    """A smooth gradient (or one flat grey: every AC coefficient zero, so each AC scan is a few
    bytes of end-of-band runs) through cjpeg, rows streamed in (cjpeg holds the coefficients)."""
    cmd = ["cjpeg", "-quality", "85", "-outfile", str(path)] + (["-progressive"] if progressive else [])
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    proc.stdin.write(f"P6\n{width} {height}\n255\n".encode())
    if flat:
        ramp = bytes([128]) * (width * 3)
    else:
        ramp = bytes(v for x in range(width) for v in (x * 255 // width, 128, 255 - x * 255 // width))
    for y in range(height):
        proc.stdin.write(ramp[(y % 7) * 3:] + ramp[:(y % 7) * 3])
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"cjpeg failed ({proc.returncode})")


def segments(data):
    """(marker, start, end) of each marker segment after SOI, an SOS's end after its data."""
    out, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        m = data[i + 1]
        if m == 0xD9:
            out.append((m, i, i + 2))
            break
        end = i + 2 + int.from_bytes(data[i + 2:i + 4], "big")
        if m == 0xDA:
            while True:
                end = data.index(b"\xff", end)
                if data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                    end += 2
                    continue
                break
        out.append((m, i, end))
        i = end
    return out


def repeat_cheapest_scan(data, total):
    """`data` (a progressive JPEG) with its shortest scan, and the tables just before it,
    repeated before EOI until it has `total` scans."""
    segs = segments(data)
    scans = [k for k, s in enumerate(segs) if s[0] == 0xDA]
    cheapest = min(scans, key=lambda k: segs[k][2] - segs[k][1])
    k = cheapest
    while k > 0 and segs[k - 1][0] in (0xC4, 0xDD):  # DHT / DRI that belong to it
        k -= 1
    piece = data[segs[k][1]:segs[cheapest][2]]
    eoi = segs[-1][1]
    return data[:eoi] + piece * (total - len(scans)) + data[eoi:]


def gen_jpeg_scans(path, width, height, total, flat):
    with tempfile.TemporaryDirectory() as d:
        base = Path(d) / "base.jpg"
        cjpeg(base, width, height, flat=flat)
        path.write_bytes(repeat_cheapest_scan(base.read_bytes(), total))


def gen_marker_flood(path, marker, count):
    """A 640 x 480 baseline JPEG with `count` empty segments of `marker` after its SOI."""
    with tempfile.TemporaryDirectory() as d:
        base = Path(d) / "base.jpg"
        cjpeg(base, 640, 480, progressive=False)
        data = base.read_bytes()
    if count is None:  # as many as fit in MAX_INPUT_BYTES
        count = (MAX_INPUT_BYTES - len(data)) // 4
    with open(path, "wb") as f:
        f.write(data[:2])
        f.write(bytes([0xFF, marker, 0, 2]) * count)
        f.write(data[2:])


# --- PNG and WebP ----------------------------------------------------------------------------

def noise_png_parts(width, height):
    """IHDR and the zlib stream of an RGB noise picture (deterministic)."""
    rnd = random.Random(25)
    raw = b"".join(b"\0" + rnd.randbytes(width * 3) for _ in range(height))
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)), zlib.compress(raw, 6)


def gen_idat_flood(path, width, height, piece):
    ihdr, stream = noise_png_parts(width, height)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + ihdr)
        for i in range(0, len(stream), piece):
            f.write(chunk(b"IDAT", stream[i:i + piece]))
        f.write(chunk(b"IEND", b""))


def gen_idat_flood_50mib(path):
    """One-byte IDAT chunks (13 bytes each) up to MAX_INPUT_BYTES: a 1000 x 1330 noise stream."""
    gen_idat_flood(path, 1000, 1330, 1)


def gen_png_chunk_flood(path):
    ihdr, stream = noise_png_parts(64, 64)
    empty = chunk(b"prVt", b"")
    count = (MAX_INPUT_BYTES - 1024 - len(stream)) // len(empty)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + ihdr)
        f.write(empty * count)
        f.write(chunk(b"IDAT", stream) + chunk(b"IEND", b""))


def gen_webp_chunk_flood(path):
    """An extended lossless 1 x 1 WebP with empty unknown chunks between VP8X and the image."""
    # A 1 x 1 transparent lossless bitstream (13 bytes) and its pad byte.
    vp8l = b"VP8L" + struct.pack("<I", 13) + bytes.fromhex("2f00000010071011118888fe07") + b"\0"
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes(4) + bytes(3) + bytes(3)
    count = (MAX_INPUT_BYTES - 64) // 8
    body = b"WEBP" + vp8x + b"abcd\0\0\0\0" * count + vp8l
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


# --- the cases -------------------------------------------------------------------------------

# name: (file suffix, tool it needs or None, generator(path), limit case)
CASES = {
    "jpeg-scans": ("jpg", "cjpeg", lambda p: gen_jpeg_scans(p, 4000, 3000, 100_001, True), False),
    "jpeg-app1": ("jpg", "cjpeg", lambda p: gen_marker_flood(p, 0xE1, 150_000), False),
    "jpeg-app2": ("jpg", "cjpeg", lambda p: gen_marker_flood(p, 0xE2, 150_000), False),
    "png-idat": ("png", None, lambda p: gen_idat_flood(p, 300, 210, 1), False),
    "jpeg-app1-50mib": ("jpg", "cjpeg", lambda p: gen_marker_flood(p, 0xE1, None), True),
    "jpeg-com-50mib": ("jpg", "cjpeg", lambda p: gen_marker_flood(p, 0xFE, None), True),
    "jpeg-scans-limit": ("jpg", "cjpeg", lambda p: gen_jpeg_scans(p, 16383, 16383, MAX_SCANS, False),
                         True),
    "png-chunks-50mib": ("png", None, gen_png_chunk_flood, True),
    "png-idat-50mib": ("png", None, gen_idat_flood_50mib, True),
    "webp-chunks-50mib": ("webp", None, gen_webp_chunk_flood, True),
}


def ensure(cache, name):
    """The cached input of case `name`, generated first if missing, by a child process: a
    worker forked from this one would otherwise start with (and report) its memory."""
    suffix, tool, _, _ = CASES[name]
    path = cache / f"{name}.{GENERATOR}.{suffix}"
    if not path.exists():
        if tool and not shutil.which(tool):
            return None
        part = path.with_suffix(".part")
        subprocess.run([sys.executable, __file__, "--generate", name, str(part)], check=True)
        part.rename(path)
    return path


def run(binary, path, timeout):
    """(outcome, wall s, peak RSS MiB) of one `variants` run."""
    with tempfile.TemporaryDirectory() as out:
        err = tempfile.TemporaryFile()
        status, wall, rss, killed = run_measured([str(binary), "variants", str(path), "--out", out],
                                                 timeout, subprocess.DEVNULL, err)
        err.seek(0)
        message = err.read().decode(errors="replace").strip().replace("\n", " ")
    code = os.waitstatus_to_exitcode(status)
    if killed:
        return f"timeout ({timeout:.0f} s)", wall, rss
    if code == 0:
        return "ok", wall, rss
    return "refused: " + message.removeprefix("error: ").removeprefix("Failed to process image: ")[:70], wall, rss


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=str(DEFAULT_BIN))
    ap.add_argument("--vs", help="a second binary (B), run in turn with --bin (A)")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--cache", default=str(DEFAULT_CACHE))
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--limits", action="store_true", help="also the cases at the input limits")
    ap.add_argument("--generate", nargs=2, metavar=("CASE", "PATH"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.generate:
        CASES[a.generate[0]][2](Path(a.generate[1]))
        return
    cache = Path(a.cache)
    cache.mkdir(parents=True, exist_ok=True)
    names = a.only or [n for n, c in CASES.items() if a.limits or not c[3]]
    bins = [("A", a.bin)] + ([("B", a.vs)] if a.vs else [])
    print(f"A = {a.bin}" + (f", B = {a.vs}" if a.vs else ""))
    head = "| case | bytes | A outcome | A wall s | A peak MiB |"
    head += " B outcome | B wall s | B peak MiB | wall A/B | peak A/B |" if a.vs else ""
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for name in names:
        path = ensure(cache, name)
        if path is None:
            print(f"| {name} | skipped: needs {CASES[name][1]} |")
            continue
        got = {k: [] for k, _ in bins}
        for _ in range(a.runs):
            for k, b in bins:
                got[k].append(run(b, path, a.timeout))
        row = [name, f"{path.stat().st_size:,}"]
        med = {}
        for k, _ in bins:
            outcome = got[k][-1][0]
            wall = statistics.median(r[1] for r in got[k])
            rss = statistics.median(r[2] for r in got[k])
            med[k] = (wall, rss)
            row += [outcome, f"{wall:.2f}", f"{rss:.0f}"]
        if a.vs:
            row += [f"{med['A'][0] / med['B'][0]:.4f}", f"{med['A'][1] / med['B'][1]:.2f}"]
        print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
