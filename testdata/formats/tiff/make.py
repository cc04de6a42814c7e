#!/usr/bin/env python3
"""Regenerates the TIFF decoder's fixtures (src/image/codecs/tiff) and their expected values.

    python3 -m venv /tmp/tiffgen && /tmp/tiffgen/bin/pip install pillow numpy
    apt-get install -y libtiff-tools            # tiffcp: LZW, Deflate, PackBits, JPEG, G3/G4...
    /tmp/tiffgen/bin/python testdata/formats/tiff/make.py

Every file is synthetic. The uncompressed baseline files are written byte by byte here (a small
TIFF writer below: every tag is ours to set, including the odd ones a decoder must meet); the
compressed, tiled, planar and fill-order variants are those files recoded by libtiff's `tiffcp`.
The CMYK profile is the project's own synthetic print profile, taken from
`testdata/real_world/cmyk_profile_adobe_600x400.jpg` (made by `testdata/real_world/make.py`).

Expected values go to `expected.json` (the Rust tests read it) and `README.md`. Colours are what
the stored samples mean, as 8-bit RGB/gray with straight alpha, in stored orientation:
  - CMYK through the embedded profile: Little CMS (Pillow's ImageCms, relative colorimetric, no
    black point compensation), computed here once; without a profile the browsers' formula
    R = (255 - C)(255 - K)/255;
  - CIELab: Little CMS from its built-in Lab (D50) profile to sRGB (unoptimised pipeline);
  - JPEG-compressed files: Pillow's (libtiff + libjpeg) decode of the written file;
  - the rest: the exact source values (16-bit ones rounded to 8 bits: v * 255 / 65535).
Each file is also decoded by Pillow where it can, and the script stops if Pillow disagrees by
more than 2 levels with what it expects (a check of the generator, not of the decoder). The
files with faults libtiff reads past (`repaired_family`) are checked against libtiff itself
(`tiff2rgba`, the same package as `tiffcp`) instead where Pillow reads them otherwise.
"""

import hashlib
import io
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, features

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
EXPECTED = {}

# The four flat patches of the colour fixtures (8-bit RGB), in reading order.
PATCHES = [(200, 40, 30), (30, 170, 60), (40, 60, 210), (128, 128, 128)]


# ---------------------------------------------------------------------------------------------
# A small TIFF writer: uncompressed strips, any tags, classic or BigTIFF, either byte order.
# ---------------------------------------------------------------------------------------------

TYPES = {1: "B", 2: "s", 3: "H", 4: "I", 5: "II", 7: "B", 16: "Q"}
SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 16: 8}


def tiff(pages, big_endian=False, bigtiff=False):
    """`pages`: dicts with `width`, `height`, `tags` ({tag: (type, [values])}), `planes` (a list
    of byte strings: one for chunky data, one per sample for planar) and `rows_per_strip`."""
    e = ">" if big_endian else "<"
    out = bytearray(b"MM" if big_endian else b"II")
    out += struct.pack(e + "HHHQ", 43, 8, 0, 0) if bigtiff else struct.pack(e + "HI", 42, 0)
    link = 8 if bigtiff else 4  # where the pointer to the next IFD goes
    for page in pages:
        h, rps = page["height"], page.get("rows_per_strip", page["height"])
        offsets, counts = [], []
        for plane in page["planes"]:
            row = len(plane) // h
            for top in range(0, h, rps):
                chunk = plane[top * row:min(h, top + rps) * row]
                if len(out) % 2:
                    out += b"\0"
                offsets.append(len(out))
                counts.append(len(chunk))
                out += chunk
        tags = dict(page["tags"])
        tags[256] = (4, [page["width"]])
        tags[257] = (4, [h])
        tags[278] = (4, [rps])
        kind = 16 if bigtiff else 4
        tags[273] = (kind, offsets)
        tags[279] = (kind, counts)
        link = write_ifd(out, tags, link, e, bigtiff)
    return bytes(out)


def write_ifd(out, tags, link, e, bigtiff):
    """Appends one IFD (its out-of-line values first) and points `link` at it; returns where
    its own next-IFD pointer sits."""
    inline = 8 if bigtiff else 4
    entries = []
    for tag in sorted(tags):
        kind, values = tags[tag]
        if kind == 2:
            data = values.encode() + b"\0"
            count = len(data)
        else:
            data = struct.pack(e + TYPES[kind] * len(values), *flatten(values))
            count = len(values)
        if len(data) > inline:
            if len(out) % 2:
                out += b"\0"
            at = len(out)
            out += data
            data = struct.pack(e + ("Q" if bigtiff else "I"), at)
        entries.append((tag, kind, count, data.ljust(inline, b"\0")))
    if len(out) % 2:
        out += b"\0"
    ifd = len(out)
    struct.pack_into(e + ("Q" if bigtiff else "I"), out, link, ifd)
    out += struct.pack(e + ("Q" if bigtiff else "H"), len(entries))
    for tag, kind, count, data in entries:
        out += struct.pack(e + ("HHQ" if bigtiff else "HHI"), tag, kind, count) + data
    next_at = len(out)
    out += b"\0" * inline
    return next_at


def flatten(values):
    for v in values:
        if isinstance(v, tuple):
            yield from v
        else:
            yield v


def page(pixels, photometric, bits=8, extra=None, tags=None, planar=False, rows_per_strip=None,
         big_endian=False):
    """One page from a (h, w, samples) array of unsigned samples (packed from the high bit
    when `bits` < 8, one sample a pixel)."""
    h, w, spp = pixels.shape
    e = ">" if big_endian else "<"
    if bits < 8:
        planes = [pack_bits(pixels[:, :, 0], bits)]
    elif planar:
        planes = [sample_bytes(pixels[:, :, s:s + 1], bits, e) for s in range(spp)]
    else:
        planes = [sample_bytes(pixels, bits, e)]
    # SampleFormat one value a sample, as GIMP, Pillow and libtiff write it.
    t = {258: (3, [bits] * spp), 259: (3, [1]), 262: (3, [photometric]), 277: (3, [spp]),
         284: (3, [2 if planar else 1]), 339: (3, [1] * spp)}
    if extra is not None:
        t[338] = (3, extra)
    t.update(tags or {})
    return {"width": w, "height": h, "tags": t, "planes": planes,
            "rows_per_strip": rows_per_strip or max(1, 8192 // max(1, len(planes[0]) // h))}


def sample_bytes(a, bits, e):
    return a.astype(e + ("u2" if bits == 16 else "u1")).tobytes()


def pack_bits(a, bits):
    rows = []
    for r in a:
        v, n, row = 0, 0, bytearray()
        for s in r:
            v, n = (v << bits) | int(s), n + bits
            if n == 8:
                row.append(v)
                v, n = 0, 0
        if n:
            row.append(v << (8 - n))
        rows.append(bytes(row))
    return b"".join(rows)


# ---------------------------------------------------------------------------------------------
# Helpers: patterns, tiffcp, Pillow checks, expected values
# ---------------------------------------------------------------------------------------------

def quadrants(w, h, colours):
    a = np.zeros((h, w, len(colours[0])), np.uint16)
    for i, c in enumerate(colours):
        ys = slice(0, h // 2) if i < 2 else slice(h // 2, h)
        xs = slice(0, w // 2) if i % 2 == 0 else slice(w // 2, w)
        a[ys, xs] = c
    return a


def centres(w, h):
    return [(w // 4, h // 4), (3 * w // 4, h // 4), (w // 4, 3 * h // 4), (3 * w // 4, 3 * h // 4)]


def tiffcp(src, name, *args):
    with tempfile.TemporaryDirectory() as d:
        a = Path(d) / "in.tif"
        a.write_bytes(src)
        b = Path(d) / "out.tif"
        subprocess.run(["tiffcp", *args, str(a), str(b)], check=True, capture_output=True)
        data = b.read_bytes()
    if name:
        (HERE / name).write_bytes(data)
    return data


def drop_tag(data, tag):
    """A little-endian classic TIFF (one IFD) with `tag`'s entry taken out of its IFD (which
    then ends 12 bytes early; the bytes after it are zeroed)."""
    b = bytearray(data)
    at = struct.unpack_from("<I", b, 4)[0]
    n = struct.unpack_from("<H", b, at)[0]
    entries = [bytes(b[at + 2 + 12 * i:at + 14 + 12 * i]) for i in range(n)]
    kept = [e for e in entries if struct.unpack_from("<H", e)[0] != tag]
    assert len(kept) == n - 1, (tag, n)
    end = at + 6 + 12 * n
    ifd = struct.pack("<H", len(kept)) + b"".join(kept) + bytes(b[end - 4:end])
    b[at:end] = ifd.ljust(end - at, b"\0")
    return bytes(b)


def libtiff_agrees(name, data, points):
    """Stops the script unless libtiff's `tiff2rgba` shows `points` (8-bit gray, gray+alpha,
    RGB or RGBA) within 2 levels. Its output's samples are compared as stored, colour only
    where opaque: it premultiplies RGB by alpha but not gray."""
    with tempfile.TemporaryDirectory() as d:
        a, b = Path(d) / "in.tif", Path(d) / "out.tif"
        a.write_bytes(data)
        subprocess.run(["tiff2rgba", "-c", "none", str(a), str(b)], check=True,
                       capture_output=True)
        seen = np.asarray(Image.open(b))
    for x, y, c in points:
        c = list(c)
        gray = c[:1] * 3 + c[1:] if len(c) < 3 else c
        want = gray + [255] * (4 - len(gray))
        got = [int(v) for v in seen[y, x]]
        n = 4 if want[3] == 255 else 1
        if max(abs(g - w) for g, w in list(zip(got, want))[-n:]) > 2:
            sys.exit(f"{name}: libtiff shows {got} at {x},{y}, expected {want}")


def save(name, data):
    (HERE / name).write_bytes(data)
    return data


def pillow_rgba(data):
    """Pillow's decode as 8-bit RGBA (None when Pillow cannot)."""
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except Exception:  # noqa: BLE001 - Pillow refusing is an answer too
        return None
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im).astype(np.float64) * 255 / 65535
        g = np.round(a).astype(np.uint8)
        return np.dstack([g, g, g, np.full_like(g, 255)])
    return np.asarray(im.convert("RGBA"))


def expect(name, what, data, points, check_pillow=True, **facts):
    """Records `name`'s expected facts; checks them against Pillow's decode where it can."""
    e = {"what": what, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
         "points": [[x, y, list(map(int, c))] for x, y, c in points]}
    e.update(facts)
    EXPECTED[name] = e
    if not check_pillow or not points:
        return
    seen = pillow_rgba(data)
    if seen is None:
        return
    for x, y, c in points:
        got = seen[y, x]
        want = list(c) if len(c) != 1 else [c[0]] * 3
        if len(c) == 2:
            want = [c[0]] * 3 + [c[1]]
        n = min(len(want), 4)
        if max(abs(int(got[i]) - int(want[i])) for i in range(n)) > 2:
            sys.exit(f"{name}: Pillow shows {list(got)} at {x},{y}, expected {want}")


def rgb_facts(model="rgb", bits=8, layout="Rgb8", alpha=False, frames=1, orientation=1):
    return {"colour_model": model, "bit_depth": bits, "layout": layout, "alpha": alpha,
            "frames": frames, "orientation": orientation}


def to8(v16):
    return int(np.floor(v16 * 255 / 65535 + 0.5))


# ---------------------------------------------------------------------------------------------
# The fixtures
# ---------------------------------------------------------------------------------------------

def rgb_family():
    w, h = 40, 30
    px = quadrants(w, h, PATCHES)
    pts = [(x, y, PATCHES[i]) for i, (x, y) in enumerate(centres(w, h))]
    base = tiff([page(px, 2, rows_per_strip=7)])
    expect("rgb8_uncompressed.tif", "8-bit RGB, 4 flat quadrants, uncompressed strips of 7 rows",
           save("rgb8_uncompressed.tif", base), pts, width=w, height=h, **rgb_facts())
    for name, args, what in [
        ("rgb8_lzw.tif", ["-c", "lzw"], "LZW"),
        ("rgb8_lzw_predictor.tif", ["-c", "lzw:2"], "LZW with horizontal predictor"),
        ("rgb8_deflate.tif", ["-c", "zip"], "Deflate"),
        ("rgb8_packbits.tif", ["-c", "packbits"], "PackBits"),
        ("rgb8_tiled_lzw.tif", ["-c", "lzw", "-t", "-w", "16", "-l", "16"],
         "LZW in 16x16 tiles (edge tiles cut by the 40x30 image)"),
        ("rgb8_planar_deflate.tif", ["-c", "zip", "-p", "separate"],
         "Deflate, planar configuration 2 (one plane a sample)"),
        ("rgb8_planar_tiled.tif", ["-p", "separate", "-t", "-w", "16", "-l", "16"],
         "uncompressed planar tiles"),
        ("rgb8_bigtiff_lzw.tif", ["-c", "lzw", "-8"], "BigTIFF, LZW"),
        ("rgb8_bigendian_lzw.tif", ["-c", "lzw", "-B"], "big-endian (MM), LZW"),
    ]:
        data = tiffcp(base, name, *args)
        expect(name, f"the quadrants of rgb8_uncompressed.tif: {what}", data, pts,
               width=w, height=h, **rgb_facts())
    pl = tiff([page(px, 2, planar=True, rows_per_strip=4)])
    expect("rgb8_planar_uncompressed.tif", "the quadrants, uncompressed planar strips (read by us)",
           save("rgb8_planar_uncompressed.tif", pl), pts, width=w, height=h, **rgb_facts())


def rgb16_family():
    w, h = 40, 30
    # 16-bit values off the 257 grid, so that rounding to 8 bits is tested: v8 * 257 + 100.
    c16 = [tuple(v * 257 + (100 if v < 255 else 0) for v in c) for c in PATCHES]
    px = quadrants(w, h, c16)
    pts = [(x, y, [to8(v) for v in c16[i]]) for i, (x, y) in enumerate(centres(w, h))]
    p16 = [(x, y, list(c16[i])) for i, (x, y) in enumerate(centres(w, h))]
    facts = rgb_facts(bits=16)
    one_strip = tiff([page(px, 2, bits=16, rows_per_strip=h, big_endian=True)], big_endian=True)
    expect("rgb16_uncompressed_one_strip_be.tif",
           "16-bit RGB, big-endian, one uncompressed strip (read row by row by us)",
           save("rgb16_uncompressed_one_strip_be.tif", one_strip), pts, points16=p16,
           width=w, height=h, **facts)
    le = tiff([page(px, 2, bits=16, rows_per_strip=5)])
    data = tiffcp(le, "rgb16_deflate_predictor.tif", "-c", "zip:2")
    expect("rgb16_deflate_predictor.tif", "16-bit RGB, Deflate with horizontal predictor", data,
           pts, points16=p16, width=w, height=h, **facts)
    pl = tiff([page(px, 2, bits=16, planar=True, rows_per_strip=8)])
    # Not checked against Pillow: 11.3 misreads 16-bit planar RGB (libvips agrees with us).
    expect("rgb16_planar_uncompressed.tif", "16-bit RGB, uncompressed planar strips",
           save("rgb16_planar_uncompressed.tif", pl), pts, check_pillow=False, points16=p16,
           width=w, height=h, **facts)
    g = quadrants(w, h, [(1000,), (20000,), (40000,), (65535,)])
    gpts = [(x, y, [to8(v)]) for (x, y), v in zip(centres(w, h), [1000, 20000, 40000, 65535])]
    data = tiffcp(tiff([page(g, 1, bits=16)]), "gray16_lzw.tif", "-c", "lzw")
    expect("gray16_lzw.tif", "16-bit gray (BlackIsZero), LZW", data, gpts,
           points16=[(x, y, [v]) for (x, y), v in zip(centres(w, h), [1000, 20000, 40000, 65535])],
           width=w, height=h, **rgb_facts("gray", 16, "L8"))


def gray_family():
    w, h = 40, 30
    for bits in (2, 4):
        top = (1 << bits) - 1
        vals = [0, top // 3, 2 * top // 3, top]
        g = quadrants(w, h, [(v,) for v in vals])
        data = tiffcp(tiff([page(g, 1, bits=bits)]), f"gray{bits}_packbits.tif", "-c", "packbits")
        pts = [(x, y, [v * 255 // top]) for (x, y), v in zip(centres(w, h), vals)]
        expect(f"gray{bits}_packbits.tif", f"{bits}-bit gray, PackBits", data, pts, width=w,
               height=h, **rgb_facts("gray", bits, "L8"))
    g = quadrants(w, h, [(0,), (60,), (180,), (255,)])
    data = save("gray8_whiteiszero.tif", tiff([page(255 - g, 0)]))
    pts = [(x, y, [v]) for (x, y), v in zip(centres(w, h), [0, 60, 180, 255])]
    expect("gray8_whiteiszero.tif", "8-bit WhiteIsZero (stored 255 - gray), uncompressed", data,
           pts, width=w, height=h, **rgb_facts("gray", 8, "L8"))
    data = save("gray8_bigtiff.tif", tiff([page(g, 1)], bigtiff=True))
    expect("gray8_bigtiff.tif", "8-bit gray, BigTIFF written here (LONG8 offsets)", data, pts,
           width=w, height=h, **rgb_facts("gray", 8, "L8"))


def text_page(w, h):
    """A bilevel page: black bars and dots on white (1 = black)."""
    a = np.zeros((h, w), np.uint8)
    a[4:8, 4:w - 4] = 1
    a[12:h - 4:3, 6:w // 2:2] = 1
    a[h // 2:, w - 12:w - 4] = 1
    return a


def bilevel_family():
    w, h = 64, 40
    ink = text_page(w, h)
    pts = [(x, y, [0 if ink[y, x] else 255]) for x, y in [(10, 5), (2, 2), (w - 8, h - 3), (30, 20)]]
    base = tiff([page(ink[:, :, None], 0, bits=1)])  # WhiteIsZero: 1 = black
    facts = rgb_facts("gray", 1, "L8")
    for name, args, what in [
        ("bilevel_g4_miniswhite.tif", ["-c", "g4"], "CCITT G4, WhiteIsZero"),
        ("bilevel_g4_fillorder2.tif", ["-c", "g4", "-f", "lsb2msb"], "CCITT G4, FillOrder 2"),
        ("bilevel_uncompressed_fillorder2.tif", ["-c", "none", "-f", "lsb2msb"],
         "uncompressed 1-bit, FillOrder 2"),
    ]:
        data = tiffcp(base, name, *args)
        expect(name, f"a bilevel page (bars and dots): {what}", data, pts, width=w, height=h,
               **facts)
    black_is_zero = tiff([page((1 - ink)[:, :, None], 1, bits=1)])
    data = tiffcp(black_is_zero, "bilevel_g4_minisblack.tif", "-c", "g4")
    expect("bilevel_g4_minisblack.tif", "the same page, BlackIsZero (0 = black), CCITT G4", data,
           pts, width=w, height=h, **facts)


def palette_family():
    w, h = 40, 30
    colours = [(200, 40, 30), (30, 170, 60), (40, 60, 210), (250, 250, 20)]
    for bits in (8, 4, 1):
        n = 1 << bits
        cmap = [(i * 37 % 256, i * 91 % 256, i * 53 % 256) for i in range(n)]
        idx = [1, 2, 3, 0] if bits > 1 else [1, 0, 0, 1]
        for i, k in enumerate(idx):
            cmap[k] = colours[i] if bits > 1 else cmap[k]
        px = quadrants(w, h, [(k,) for k in idx])
        red = [c[0] * 257 for c in cmap] + [c[1] * 257 for c in cmap] + [c[2] * 257 for c in cmap]
        base = tiff([page(px, 3, bits=bits, tags={320: (3, red)})])
        name = f"palette{bits}_lzw.tif"
        data = tiffcp(base, name, "-c", "lzw")
        pts = [(x, y, cmap[k]) for (x, y), k in zip(centres(w, h), idx)]
        expect(name, f"{bits}-bit palette (ColorMap, 16-bit entries), LZW", data, pts, width=w,
               height=h, **rgb_facts("indexed", bits, "Rgb8"))
    # ColorMap written with 8-bit values (all < 256): read as 8-bit, as libtiff does.
    px = quadrants(w, h, [(0,), (1,), (2,), (3,)])
    cmap = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (20, 20, 20)] + [(0, 0, 0)] * 252
    flat = [c[0] for c in cmap] + [c[1] for c in cmap] + [c[2] for c in cmap]
    data = save("palette8_8bit_colormap.tif", tiff([page(px, 3, tags={320: (3, flat)})]))
    pts = [(x, y, cmap[k]) for (x, y), k in zip(centres(w, h), range(4))]
    expect("palette8_8bit_colormap.tif",
           "8-bit palette whose ColorMap holds 8-bit values (libtiff's heuristic: read as 8-bit)",
           data, pts, check_pillow=False, width=w, height=h, **rgb_facts("indexed", 8, "Rgb8"))
    # Palette + unassociated alpha (Microsoft Office writes these).
    cmap = [(200, 40, 30), (30, 170, 60), (40, 60, 210), (250, 250, 20)] + [(0, 0, 0)] * 252
    flat = [c[0] * 257 for c in cmap] + [c[1] * 257 for c in cmap] + [c[2] * 257 for c in cmap]
    px = quadrants(w, h, [(0, 255), (1, 200), (2, 100), (3, 0)])
    data = tiffcp(tiff([page(px, 3, extra=[2], tags={320: (3, flat)})]), "palette8_alpha_lzw.tif",
                  "-c", "lzw")
    pts = [(x, y, list(cmap[k]) + [al]) for (x, y), (k, al) in
           zip(centres(w, h), [(0, 255), (1, 200), (2, 100), (3, 0)])]
    expect("palette8_alpha_lzw.tif", "8-bit palette + unassociated alpha (255/200/100/0), LZW",
           data, pts, check_pillow=False, width=w, height=h,
           **rgb_facts("indexed", 8, "Rgba8", True))
    grays = [(v, v, v) for v in range(256)]
    flat = [c[0] * 257 for c in grays] * 3
    data = save("palette8_grays.tif", tiff([page(quadrants(w, h, [(0,), (90,), (160,), (255,)]),
                                                 3, tags={320: (3, flat)})]))
    pts = [(x, y, [v]) for (x, y), v in zip(centres(w, h), [0, 90, 160, 255])]
    expect("palette8_grays.tif", "8-bit palette of grays only: comes out gray (L8)", data, pts,
           width=w, height=h, **rgb_facts("indexed", 8, "L8"))


def cmyk_family():
    w, h = 40, 30
    profile = Image.open(ROOT / "testdata/real_world/cmyk_profile_adobe_600x400.jpg").info["icc_profile"]
    inks = [(0, 230, 230, 0), (200, 0, 180, 20), (90, 60, 0, 10), (0, 0, 0, 128)]
    srgb = ImageCms.createProfile("sRGB")
    t = ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(profile)), srgb, "CMYK", "RGB",
                                renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    lcms = [ImageCms.applyTransform(Image.new("CMYK", (1, 1), c), t).getpixel((0, 0)) for c in inks]
    px = quadrants(w, h, inks)
    pts = [(x, y, lcms[i]) for i, (x, y) in enumerate(centres(w, h))]
    icc_tag = {34675: (7, list(profile))}
    data = tiffcp(tiff([page(px, 5, tags=icc_tag)]), "cmyk8_profile_lzw.tif", "-c", "lzw")
    expect("cmyk8_profile_lzw.tif", "8-bit CMYK ink values with the synthetic CMYK profile: "
           "Little CMS's sRGB", data, pts, check_pillow=False, width=w, height=h,
           icc_sha256=hashlib.sha256(profile).hexdigest(), **rgb_facts("cmyk"))
    px16 = (px * 257).astype(np.uint16)
    data = tiffcp(tiff([page(px16, 5, bits=16, tags=icc_tag)]), "cmyk16_profile_deflate.tif",
                  "-c", "zip")
    expect("cmyk16_profile_deflate.tif", "the same inks at 16 bits (v * 257), Deflate", data, pts,
           check_pillow=False, width=w, height=h, icc_sha256=hashlib.sha256(profile).hexdigest(),
           **rgb_facts("cmyk", 16))
    naive = [tuple((255 - c[i]) * (255 - c[3]) // 255 for i in range(3)) for c in inks]
    data = save("cmyk8_no_profile.tif", tiff([page(px, 5)]))
    expect("cmyk8_no_profile.tif", "the same inks, no profile: (255 - C)(255 - K)/255", data,
           [(x, y, naive[i]) for i, (x, y) in enumerate(centres(w, h))], check_pillow=False,
           width=w, height=h, **rgb_facts("cmyk"))
    alpha = np.dstack([px, np.full((h, w, 1), 255, np.uint16)])
    alpha[:, : w // 2, 4] = 100
    data = save("cmyka8_no_profile.tif", tiff([page(alpha, 5, extra=[2])]))
    pts = [(x, y, list(naive[i]) + [100 if x < w // 2 else 255])
           for i, (x, y) in enumerate(centres(w, h))]
    expect("cmyka8_no_profile.tif", "CMYK + unassociated alpha (100 on the left half)", data, pts,
           check_pillow=False, width=w, height=h, **rgb_facts("cmyk", 8, "Rgba8", True))


def lab_family():
    w, h = 40, 30
    labs = [(60.0, 50, 30), (80.0, -60, 70), (35.0, 20, -60), (50.0, 0, 0)]
    enc = [(round(l * 255 / 100), a, b) for l, a, b in labs]
    # cmsFLAGS_NOOPTIMIZE: the exact pipeline. Little CMS's default 8-bit transform goes
    # through a precalculated grid whose interpolation is 11 levels off for dark blues here.
    t = ImageCms.buildTransform(ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"),
                                "LAB", "RGB", renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                                flags=0x0100)
    rgb = [ImageCms.applyTransform(Image.new("LAB", (1, 1), (l, a + 128, b + 128)), t).getpixel((0, 0))
           for l, a, b in enc]
    px = quadrants(w, h, [(l, a & 255, b & 255) for l, a, b in enc])
    pts = [(x, y, rgb[i]) for i, (x, y) in enumerate(centres(w, h))]
    data = tiffcp(tiff([page(px, 8)]), "cielab8_lzw.tif", "-c", "lzw")
    expect("cielab8_lzw.tif", "8-bit CIELab (a*, b* signed), LZW: Little CMS's sRGB", data, pts,
           check_pillow=False, width=w, height=h, **rgb_facts("lab"))
    px = quadrants(w, h, [(l, a + 128, b + 128) for l, a, b in enc])
    data = save("icclab8.tif", tiff([page(px, 9)]))
    expect("icclab8.tif", "8-bit ICCLab (a*, b* + 128), uncompressed", data, pts,
           check_pillow=False, width=w, height=h, **rgb_facts("lab"))


def ycbcr_family():
    w, h = 64, 48
    px = quadrants(w, h, PATCHES)
    base = tiff([page(px, 2)])
    for name, args, what in [
        ("ycbcr_jpeg.tif", ["-c", "jpeg:90", "-r", "16"], "JPEG (Y′CbCr 2x2), strips of 16 rows"),
        ("ycbcr_jpeg_tiled.tif", ["-c", "jpeg:90", "-t", "-w", "32", "-l", "32"],
         "JPEG (Y′CbCr 2x2) in 32x32 tiles"),
        ("rgb_jpeg.tif", ["-c", "jpeg:r:90", "-r", "16"], "JPEG, photometric RGB (no Y′CbCr)"),
    ]:
        data = tiffcp(base, name, *args)
        seen = pillow_rgba(data)
        pts = [(x, y, seen[y, x][:3]) for x, y in centres(w, h)]
        for (x, y, c), want in zip(pts, PATCHES):
            assert max(abs(int(a) - b) for a, b in zip(c, want)) <= 4, (name, c, want)
        model = "rgb" if name.startswith("rgb") else "ycbcr"
        expect(name, f"the quadrants, {what}: Pillow's (libjpeg's) decode", data, pts,
               check_pillow=False, width=w, height=h, **rgb_facts(model))
    # Uncompressed Y′CbCr without subsampling, JFIF's coefficients.
    ycc = np.array(Image.fromarray(px.astype(np.uint8)).convert("YCbCr")).astype(np.uint16)
    tags = {530: (3, [1, 1]), 532: (5, [(0, 1), (255, 1), (128, 1), (255, 1), (128, 1), (255, 1)])}
    data = save("ycbcr_uncompressed_1x1.tif", tiff([page(ycc, 6, tags=tags)]))
    want = [Image.frombytes("YCbCr", (w, h), ycc.astype(np.uint8).tobytes()).convert("RGB").getpixel(c)
            for c in centres(w, h)]
    expect("ycbcr_uncompressed_1x1.tif", "uncompressed Y′CbCr, no subsampling", data,
           [(x, y, want[i]) for i, (x, y) in enumerate(centres(w, h))], check_pillow=False,
           width=w, height=h, **rgb_facts("ycbcr"))


def alpha_family():
    w, h = 40, 30
    a = np.array([255, 128, 64, 0])
    straight = [(200, 40, 30), (30, 170, 60), (40, 60, 210), (0, 0, 0)]
    px = quadrants(w, h, [c + (int(al),) for c, al in zip(straight, a)])
    pts = [(x, y, list(c) + [int(al)]) for (x, y), c, al in zip(centres(w, h), straight, a)]
    data = tiffcp(tiff([page(px, 2, extra=[2])]), "rgba8_unassociated_lzw.tif", "-c", "lzw")
    expect("rgba8_unassociated_lzw.tif", "RGB + unassociated alpha (255/128/64/0), LZW", data,
           pts, width=w, height=h, **rgb_facts("rgba", 8, "Rgba8", True))
    pre = [tuple(round(v * al / 255) for v in c) + (int(al),) for c, al in zip(straight, a)]
    px = quadrants(w, h, pre)
    back = [[min(255, (v * 255 + al // 2) // al) if al else 0 for v in c[:3]] + [c[3]]
            for c, al in zip(pre, a)]
    data = save("rgba8_associated.tif", tiff([page(px, 2, extra=[1])]))
    expect("rgba8_associated.tif", "RGB + associated (premultiplied) alpha: comes out straight",
           data, [(x, y, back[i]) for i, (x, y) in enumerate(centres(w, h))], check_pillow=False,
           width=w, height=h, **rgb_facts("rgba", 8, "Rgba8", True))
    g = quadrants(w, h, [(30000, 65535), (30000, 32768), (65535, 0), (0, 65535)])
    data = save("gray16_alpha_planar.tif", tiff([page(g, 1, bits=16, extra=[2], planar=True)]))
    pts = [(x, y, [to8(v), to8(al)]) for (x, y), (v, al) in
           zip(centres(w, h), [(30000, 65535), (30000, 32768), (65535, 0), (0, 65535)])]
    p16 = [(x, y, list(va)) for (x, y), va in
           zip(centres(w, h), [(30000, 65535), (30000, 32768), (65535, 0), (0, 65535)])]
    expect("gray16_alpha_planar.tif", "16-bit gray + alpha, planar, uncompressed", data, pts,
           points16=p16, check_pillow=False, width=w, height=h, **rgb_facts("gray_alpha", 16, "La8", True))


def pages_family():
    w, h = 40, 30
    full_a = page(quadrants(w, h, PATCHES), 2)
    full_b = page(quadrants(w, h, PATCHES[::-1]), 2)
    thumb = page(np.full((6, 8, 3), 250, np.uint16), 2, tags={254: (4, [1])})
    pts = [(x, y, PATCHES[i]) for i, (x, y) in enumerate(centres(w, h))]
    warn = ["multi-page TIFF: 2 pages"]
    data = save("pages_reduced_first.tif", tiff([thumb, full_a, full_b]))
    expect("pages_reduced_first.tif", "a reduced-resolution 8x6 preview (NewSubfileType 1), then "
           "two full pages: the first full page is shown", data, pts, check_pillow=False,
           width=w, height=h, warnings=warn, **rgb_facts(frames=2))
    data = save("pages_reduced_second.tif", tiff([full_a, thumb, full_b]))
    expect("pages_reduced_second.tif", "full page, reduced-resolution preview, full page", data,
           pts, width=w, height=h, warnings=warn, **rgb_facts(frames=2))


def orientation_family():
    """Orientation 1-8: the stored pixels are the upright 12x8 pattern turned back, so that
    applying the tag (EXIF's meaning) gives the upright pattern (corners 255, 170, 85, 0)."""
    up = np.full((8, 12), 40, np.uint8)
    up[:3, :3], up[:3, -3:], up[-3:, :3], up[-3:, -3:] = 255, 170, 85, 0
    undo = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
            6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_270}
    for n in range(1, 9):
        im = Image.fromarray(up)
        stored = im if undo[n] is None else im.transpose(undo[n])
        arr = np.asarray(stored)
        data = save(f"orientation_{n}.tif", tiff([page(arr[:, :, None].astype(np.uint16), 1,
                                                        tags={274: (3, [n])})]))
        shown = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
        assert np.array_equal(np.asarray(shown), up), n
        sh, sw = arr.shape
        pts = [(x, y, [int(arr[y, x])]) for x, y in [(1, 1), (sw - 2, 1), (1, sh - 2), (sw - 2, sh - 2)]]
        # Not checked against Pillow, which turns some TIFFs upright while loading them.
        expect(f"orientation_{n}.tif", f"Orientation {n}: upright 12x8, corners 255 170 85 0",
               data, pts, check_pillow=False, width=sw, height=sh, upright_corners=[255, 170, 85, 0],
               **rgb_facts("gray", 8, "L8", orientation=n))


def icc_family():
    w, h = 40, 30
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    # Its creation date, pinned to the committed file's: every run writes the same bytes.
    icc[24:36] = struct.pack(">6H", 2026, 12, 7, 6, 38, 36)
    icc = bytes(icc)
    data = tiffcp(tiff([page(quadrants(w, h, PATCHES), 2, tags={34675: (7, list(icc))})]),
                  "rgb8_icc_lzw.tif", "-c", "lzw")
    pts = [(x, y, PATCHES[i]) for i, (x, y) in enumerate(centres(w, h))]
    expect("rgb8_icc_lzw.tif", "RGB with an ICC profile (Little CMS's sRGB, 588 bytes), "
           "carried as stored, not applied", data, pts, width=w, height=h,
           icc_sha256=hashlib.sha256(icc).hexdigest(), **rgb_facts())


def refused_family():
    w, h = 16, 8
    px = quadrants(w, h, PATCHES)
    base = tiff([page(px, 2)])
    for name, args, needle in [
        ("refused_lzma.tif", ["-c", "lzma"], "LZMA compression"),
        ("refused_zstd.tif", ["-c", "zstd"], "Zstandard compression"),
        ("refused_webp.tif", ["-c", "webp"], "WebP compression"),
    ]:
        data = tiffcp(base, name, *args)
        expect(name, f"a valid file we do not decode: {needle}", data, [], check_pillow=False,
               error=["Unsupported", needle])
    ink = text_page(64, 40)
    data = tiffcp(tiff([page(ink[:, :, None], 0, bits=1)]), "refused_g3.tif", "-c", "g3")
    expect("refused_g3.tif", "CCITT Group 3 fax", data, [], check_pillow=False,
           error=["Unsupported", "CCITT Group 3"])
    g12 = tiff([page(np.full((h, w, 1), 3000, np.uint16), 1, bits=16)])
    g12 = g12.replace(struct.pack("<HHII", 258, 3, 1, 16), struct.pack("<HHII", 258, 3, 1, 12))
    expect("refused_12bit.tif", "12-bit gray (BitsPerSample patched)", save("refused_12bit.tif", g12),
           [], check_pillow=False, error=["Unsupported", "12-bit samples"])
    big = tiff([page(np.zeros((2, 2, 1), np.uint16), 1)])
    big = big.replace(struct.pack("<HHII", 256, 4, 1, 2), struct.pack("<HHII", 256, 4, 1, 100000))
    big = big.replace(struct.pack("<HHII", 257, 4, 1, 2), struct.pack("<HHII", 257, 4, 1, 100000))
    expect("refused_too_many_pixels.tif", "claims 100000x100000 in a 200-byte file",
           save("refused_too_many_pixels.tif", big), [], check_pillow=False,
           error=["TooLarge", "100000x100000 is 10000000000 pixels"])


def repaired_family():
    """Faults libtiff (and so Pillow and GIMP) reads past and the `tiff` crate refuses, which
    our decoder repairs with a warning: per-sample tags with a count other than
    SamplesPerPixel, and no PhotometricInterpretation tag (libtiff's guess by the number of
    colour samples)."""
    w, h = 40, 30
    pts = [(x, y, PATCHES[i]) for i, (x, y) in enumerate(centres(w, h))]
    # GIMP writes BitsPerSample (8, 8, 8, 1) for RGB: 8 bytes before and 6 after the cut, both
    # outside the entry.
    name = "rgb8_bps_8881.tif"
    data = save(name, tiff([page(quadrants(w, h, PATCHES), 2, tags={258: (3, [8, 8, 8, 1])})]))
    libtiff_agrees(name, data, pts)
    expect(name, "RGB with BitsPerSample (8, 8, 8, 1) for 3 samples, as GIMP writes it",
           data, pts, width=w, height=h, **rgb_facts(),
           warnings=["TIFF BitsPerSample has 4 values for 3 samples per pixel: the first 3 "
                     "(8, 8, 8) are used"])
    # Gray + alpha, big-endian: 3 values (6 bytes, outside) cut to 2 (4 bytes: inline).
    ga = quadrants(w, h, [(0, 255), (60, 128), (180, 255), (255, 128)])
    gpts = [(x, y, list(c)) for (x, y), c in
            zip(centres(w, h), [(0, 255), (60, 128), (180, 255), (255, 128)])]
    name = "gray_alpha8_be_bps_count3.tif"
    data = save(name, tiff([page(ga, 1, extra=[2], big_endian=True,
                                 tags={258: (3, [8] * 3), 339: (3, [1] * 3)})], big_endian=True))
    libtiff_agrees(name, data, gpts)
    expect(name, "8-bit gray + alpha, big-endian, BitsPerSample and SampleFormat with 3 values "
           "for 2 samples (the 2 kept fit inline)", data, gpts, check_pillow=False, width=w,
           height=h, **rgb_facts("gray_alpha", 8, "La8", True),
           warnings=["TIFF BitsPerSample has 3 values for 2 samples per pixel: the first 2",
                     "TIFF SampleFormat has 3 values for 2 samples per pixel: the first 2"])
    # BigTIFF: 5 values (10 bytes, outside) cut to 3 (6 bytes: inline in BigTIFF's 8).
    name = "rgb8_bigtiff_bps_count5.tif"
    data = save(name, tiff([page(quadrants(w, h, PATCHES), 2, tags={258: (3, [8] * 5)})],
                           bigtiff=True))
    libtiff_agrees(name, data, pts)
    expect(name, "BigTIFF RGB, BitsPerSample with 5 values for 3 samples (the 3 kept fit "
           "inline)", data, pts, check_pillow=False, width=w, height=h, **rgb_facts(),
           warnings=["TIFF BitsPerSample has 5 values for 3 samples per pixel: the first 3"])
    # Fewer values than samples: libtiff takes the missing ones as the first since b8fda5ee
    # (November 2025, GDAL issue 13465); the libtiff tools here (4.5) still refuse the file.
    rgba = [c + (al,) for c, al in zip(PATCHES, (255, 200, 100, 255))]
    apts = [(x, y, rgba[i]) for i, (x, y) in enumerate(centres(w, h))]
    name = "rgba8_bps_count3.tif"
    data = save(name, tiff([page(quadrants(w, h, rgba), 2, extra=[2],
                                 tags={258: (3, [8] * 3)})]))
    expect(name, "RGB + unassociated alpha, BitsPerSample with 3 values for 4 samples", data,
           apts, check_pillow=False, width=w, height=h, **rgb_facts("rgba", 8, "Rgba8", True),
           warnings=["TIFF BitsPerSample has 3 values for 4 samples per pixel: the first (8) "
                     "is used for every sample"])
    # No PhotometricInterpretation: one colour sample is BlackIsZero (Pillow reads it as
    # WhiteIsZero, inverted: not checked against Pillow), three are RGB, CCITT is WhiteIsZero.
    g = quadrants(w, h, [(0,), (60,), (180,), (255,)])
    gray_pts = [(x, y, [v]) for (x, y), v in zip(centres(w, h), [0, 60, 180, 255])]
    p = page(g, 1)
    del p["tags"][262]
    name = "gray8_no_photometric.tif"
    data = save(name, tiff([p]))
    libtiff_agrees(name, data, gray_pts)
    expect(name, "8-bit gray without PhotometricInterpretation: BlackIsZero, as libtiff "
           "guesses (Pillow inverts it)", data, gray_pts, check_pillow=False, width=w,
           height=h, **rgb_facts("gray", 8, "L8"),
           warnings=["TIFF without a PhotometricInterpretation tag: read as BlackIsZero gray"])
    # Three colour samples: RGB, as libtiff's TIFFRGBAImage means to guess. Not checked
    # against libtiff, whose directory reader first takes the missing tag as WhiteIsZero and
    # so samples 2 and 3 as extra samples (tiff2rgba shows the red samples as gray); Pillow
    # refuses the file.
    p = page(quadrants(w, h, PATCHES), 2, big_endian=True)
    del p["tags"][262]
    name = "rgb8_be_no_photometric.tif"
    data = save(name, tiff([p], big_endian=True))
    expect(name, "8-bit RGB, big-endian, without PhotometricInterpretation: RGB, as libtiff's "
           "TIFFRGBAImage guesses", data, pts, check_pillow=False, width=w, height=h, **rgb_facts(),
           warnings=["TIFF without a PhotometricInterpretation tag: read as RGB, libtiff's "
                     "guess for 3 colour samples"])
    ink = text_page(64, 40)
    bpts = [(x, y, [0 if ink[y, x] else 255]) for x, y in [(10, 5), (2, 2), (56, 37), (30, 20)]]
    g4 = tiffcp(tiff([page(ink[:, :, None], 0, bits=1)]), None, "-c", "g4")
    name = "bilevel_g4_no_photometric.tif"
    data = save(name, drop_tag(g4, 262))
    libtiff_agrees(name, data, bpts)
    expect(name, "the bilevel page, CCITT G4 without PhotometricInterpretation: WhiteIsZero, "
           "as libtiff guesses under CCITT compression", data, bpts, check_pillow=False,
           width=64, height=40, **rgb_facts("gray", 1, "L8"),
           warnings=["TIFF without a PhotometricInterpretation tag: read as WhiteIsZero gray"])
    floats = np.linspace(0, 1, 16 * 8, dtype="<f4").tobytes()
    data = tiff([{"width": 16, "height": 8, "planes": [floats],
                  "tags": {258: (3, [32]), 259: (3, [1]), 277: (3, [1]), 339: (3, [3])}}])
    expect("refused_float_no_photometric.tif", "32-bit floating-point gray without "
           "PhotometricInterpretation: the coding is named, not the missing tag",
           save("refused_float_no_photometric.tif", data), [], check_pillow=False,
           error=["Unsupported", "TIFF with floating-point samples"])
    p = page(quadrants(16, 8, [(0, 9)] * 4), 1)
    del p["tags"][262]
    expect("refused_no_photometric_2_samples.tif", "2 samples, no ExtraSamples, no "
           "PhotometricInterpretation: libtiff makes no guess either",
           save("refused_no_photometric_2_samples.tif", tiff([p])), [], check_pillow=False,
           error=["Invalid", "without a PhotometricInterpretation tag, with 2 samples"])


def main():
    for f in HERE.glob("*.tif"):
        f.unlink()
    for family in (rgb_family, rgb16_family, gray_family, bilevel_family, palette_family,
                   cmyk_family, lab_family, ycbcr_family, alpha_family, pages_family,
                   orientation_family, icc_family, refused_family, repaired_family):
        family()
    tools = {"pillow": Image.__version__, "littlecms2": features.version("littlecms2"),
             "libtiff": features.version("libtiff"), "numpy": np.__version__,
             "tiffcp": subprocess.run(["tiffcp"], capture_output=True, text=True).stderr.split("\n")[0]}
    (HERE / "expected.json").write_text(json.dumps({"tools": tools, "fixtures": EXPECTED},
                                                   indent=1, sort_keys=True) + "\n")
    readme(tools)


def readme(tools):
    lines = ["# TIFF decoder fixtures", "",
             "Made by `make.py` in this folder (see its docstring for how to run it and where each",
             "expected value comes from); `expected.json` holds every value below and more. Do not",
             "edit by hand. Points are `x,y → value` in stored orientation, 8-bit, alpha straight.",
             "", "Tools: " + ", ".join(f"{k} {v}" for k, v in tools.items()) + ".", "",
             "| file | bytes | what | size | expected |", "|---|---:|---|---|---|"]
    for name, e in sorted(EXPECTED.items()):
        if "error" in e:
            want = f"refused: `{e['error'][0]}` naming \"{e['error'][1]}\""
            size = ""
        else:
            pts = "; ".join(f"{x},{y} → {tuple(c)}" for x, y, c in e["points"])
            want = (f"{e['colour_model']}, {e['bit_depth']}-bit, {e['layout']}, orientation "
                    f"{e['orientation']}, {e['frames']} page(s); {pts}")
            size = f"{e['width']}×{e['height']}"
        lines.append(f"| `{name}` | {e['bytes']:,} | {e['what']} | {size} | {want} |")
    (HERE / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
