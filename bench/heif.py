#!/usr/bin/env python3
"""Benchmark: our HEIC/AVIF decoder (src/image/codecs/heif) against pillow-heif (libheif +
libde265; for AVIF, Pillow's libavif + dav1d) decoding the same files, in the same run.

For each file, --runs times each, alternating: our decode through `read` 16 rows at a time,
keeping nothing (the release test binary's `heif::tests::files::each_file_streams_through_a_
band_of_rows`, HEIF_STREAM=1), and the reference decoding the whole image into memory. Prints
the median in-process decode time and whole-process peak RSS (ru_maxrss of the child, from
os.wait4) of each, and the ratios ours / reference. Both use 2 threads (our THREADS; pillow-heif
DECODE_THREADS, Pillow's AVIF max_threads).

Files are arguments (they are not in git):
- the 200 MP Samsung HEIC: `pip download --no-binary :all: --no-deps pillow-heif==1.9.0`,
  tests/images/heif_special/200MP.heic in the sdist;
- a 12 MP iPhone HEIC: pug.heic (tests/images/heif_other/ in the same sdist);
- a 12 MP AVIF: `--make-avif PHOTO` encodes one with Debian's `avifenc` (4:2:0, speed 6).

Needs: numpy, Pillow >= 11.3 (AVIF), pillow-heif (pip); the release test binary is built here
(`cargo test --release --lib --no-run`, LTO: minutes).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST = "image::heif::tests::files::each_file_streams_through_a_band_of_rows"

REFERENCE = r"""
import sys, time
import numpy as np
import pillow_heif
from PIL import Image
pillow_heif.options.DECODE_THREADS = 2
path = sys.argv[1]
t = time.perf_counter()
if path.lower().endswith((".avif", ".avifs")):
    im = Image.open(path, formats=["AVIF"])
    im.load()
    a = np.asarray(im)
else:
    hf = pillow_heif.open_heif(path, convert_hdr_to_8bit=True)
    a = np.asarray(hf[hf.primary_index])
print(f"decoded_ms {(time.perf_counter() - t) * 1e3:.1f} {a.shape}")
"""


def test_binary():
    out = subprocess.run(
        ["cargo", "test", "--release", "--lib", "--no-run", "--message-format", "json"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg["target"]["name"] == "arke_image_processor":
            return msg["executable"]
    sys.exit("no test binary built")


def run(cmd, env=None):
    """(decode ms the command printed, peak RSS MiB of the child)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0:
        sys.exit(f"{cmd[0]} failed ({status}): {out}")
    found = re.search(r"decoded_ms (\d+(?:\.\d+)?)", out)
    if not found:
        sys.exit(f"{cmd[0]} printed no decode time: {out}")
    return float(found.group(1)), usage.ru_maxrss / 1024


def make_avif(photo, tmp):
    path = Path(tmp) / (Path(photo).stem + ".avif")
    subprocess.run(["avifenc", "-s", "6", "-j", "2", "-y", "420", photo, str(path)], check=True, capture_output=True)
    return str(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--make-avif", metavar="PHOTO", help="also a 12 MP AVIF made from PHOTO by avifenc")
    ap.add_argument("--bin", help="the release test binary (default: built here)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    files = list(a.files) + ([make_avif(a.make_avif, tmp)] if a.make_avif else [])
    binary = a.bin or test_binary()
    ref = Path(tmp) / "reference.py"
    ref.write_text(REFERENCE)
    print("| file | ours: decode ms · peak MiB | reference: decode ms · peak MiB | ratio time · memory |")
    print("|---|---|---|---|")
    for f in files:
        ours, theirs = [], []
        for _ in range(a.runs):
            env = dict(os.environ, HEIF_STREAM="1", HEIF_FILES=f)
            ours.append(run([binary, TEST, "--exact", "--test-threads=1", "--nocapture", "-q"], env))
            theirs.append(run([sys.executable, str(ref), f]))
        (om, orss), (tm, trss) = [(statistics.median(x[0] for x in r), statistics.median(x[1] for x in r)) for r in (ours, theirs)]
        print(f"| {Path(f).name} | {om:.0f} · {orss:.0f} | {tm:.0f} · {trss:.0f} | {om / tm:.2f} · {orss / trss:.2f} |")


if __name__ == "__main__":
    main()
