#!/usr/bin/env python3
"""Makes the HEIC/HEIF and AVIF fixtures of `src/image/codecs/heif/` (issue 28) from drawn test
cards: no third-party image is copied. Run from anywhere; writes beside this script.

Needs (registry packages only):
    python3 -m venv /tmp/heif-fixtures && /tmp/heif-fixtures/bin/pip install \
        pillow-heif==1.9.0 pillow numpy          # libheif 1.23 + x265 (HEIC encoder)
    apt-get install libavif-bin                  # avifenc 0.11 (aom), the AVIF encoder
    /tmp/heif-fixtures/bin/python testdata/formats/heif/make_fixtures.py

Three test cards, each of flat areas whose centres the tests compare with the colours below
(within 3 levels: chroma subsampling and the codecs blur only the edges):
- `quad`: four quadrants (top-left RED, top-right GREEN, bottom-left BLUE, bottom-right YELLOW),
  so any turn or mirror shows in which colour lands in which corner.
- `patches`: six 32 x 32 patches in a 3 x 2 layout (PATCHES, left to right, top to bottom).
- `card`: a hue gradient under the quadrants, for the grid fixtures: tile seams cross colour.
A few fixtures are then edited in their container (same tools as a hex editor, documented at
each edit) for what no encoder writes: a gain-map-like auxiliary image, an `iovl` primary, an
`ispe` smaller than the coded picture, transforms listed in a non-MIAF order, limited-range
alpha. README.md lists every fixture with its expected values.
"""
import os
import struct
import subprocess
import tempfile

import numpy as np
import pillow_heif
from PIL import Image, ImageCms

HERE = os.path.dirname(os.path.abspath(__file__))
RED, GREEN, BLUE, YELLOW = (200, 40, 40), (40, 180, 60), (40, 60, 200), (230, 210, 50)
PATCHES = [(200, 30, 30), (30, 170, 60), (40, 60, 200), (128, 128, 128), (222, 171, 140), (90, 140, 217)]


def quad(w, h, alpha=None):
    img = np.zeros((h, w, 3), np.uint8)
    img[: h // 2, : w // 2] = RED
    img[: h // 2, w // 2:] = GREEN
    img[h // 2:, : w // 2] = BLUE
    img[h // 2:, w // 2:] = YELLOW
    return with_alpha(img, alpha)


def patches(alpha=None):
    img = np.zeros((64, 96, 3), np.uint8)
    for i, c in enumerate(PATCHES):
        y, x = (i // 3) * 32, (i % 3) * 32
        img[y: y + 32, x: x + 32] = c
    return with_alpha(img, alpha)


def with_alpha(img, alpha):
    """`alpha`: None, or one alpha value for the left half and 255 for the right half."""
    if alpha is None:
        return img
    a = np.full(img.shape[:2] + (1,), 255, np.uint8)
    a[:, : img.shape[1] // 2] = alpha
    return np.concatenate([img, a], axis=2)


def card(w, h):
    """A hue gradient (rows top to bottom) under the four quadrant colours at the corners."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    hue = (x / w + y / h) * 3.0
    img = np.stack([np.sin(hue) * 0.4 + 0.5, np.sin(hue + 2.1) * 0.4 + 0.5, np.sin(hue + 4.2) * 0.4 + 0.5], -1)
    img = (img * 255 + 0.5).astype(np.uint8)
    q = quad(w, h)
    for y0, x0 in ((0, 0), (0, w - w // 5), (h - h // 5, 0), (h - h // 5, w - w // 5)):
        img[y0: y0 + h // 5, x0: x0 + w // 5] = q[y0: y0 + h // 5, x0: x0 + w // 5]
    return img


def deep(img8):
    """The same picture with 16-bit samples (value * 257: exact again at 8 bits)."""
    return img8.astype(np.uint16) * 257


def out(name):
    return os.path.join(HERE, name)


# ---------------------------------------------------------------- HEIC (pillow-heif, x265)
def heic(name, arr, exif_orientation=None, **kw):
    if arr.dtype == np.uint16:
        mode = "RGB;16" if arr.shape[2] == 3 else "RGBA;16"
        hf = pillow_heif.from_bytes(mode=mode, size=(arr.shape[1], arr.shape[0]), data=arr.tobytes())
    else:
        hf = pillow_heif.from_pillow(Image.fromarray(arr))
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        hf[0].info["exif"] = exif.tobytes()
    for key in ("icc_profile", "thumbnails"):
        if key in kw:
            hf[0].info[key] = kw.pop(key)
    hf.save(out(name), quality=kw.pop("quality", 92), **kw)


# ---------------------------------------------------------------- AVIF (avifenc, aom)
def avif(name, arrays, *args):
    """`arrays`: one picture, or several for an image sequence (`avis`)."""
    arrays = arrays if isinstance(arrays, list) else [arrays]
    with tempfile.TemporaryDirectory() as tmp:
        inputs = []
        for i, a in enumerate(arrays):
            p = os.path.join(tmp, f"{i}.png")
            write_png(p, a)
            inputs.append(p)
        cmd = ["avifenc", "-s", "8", "-j", "1", "--min", "0", "--max", "12", *args, *inputs, out(name)]
        subprocess.run(cmd, check=True, capture_output=True)


def write_png(path, arr):
    """8- or 16-bit RGB(A) PNG (Pillow writes no 16-bit RGB)."""
    if arr.dtype == np.uint8:
        Image.fromarray(arr).save(path)
        return
    import zlib
    h, w, c = arr.shape
    raw = b"".join(b"\0" + arr[i].astype(">u2").tobytes() for i in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, {3: 2, 4: 6}[c], 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    open(path, "wb").write(data)


# ---------------------------------------------------------------- container edits
def boxes(buf, start, end):
    """(type, box start, payload start, box end) of each box in buf[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, typ = struct.unpack(">I4s", buf[pos: pos + 8])
        hdr = 8
        if size == 1:
            size, hdr = struct.unpack(">Q", buf[pos + 8: pos + 16])[0], 16
        elif size == 0:
            size = end - pos
        yield typ, pos, pos + hdr, pos + size
        pos += size


def find(buf, path, start=0, end=None):
    """The box at `path` (types separated by '/'; meta and iinf/iref are full boxes)."""
    end = len(buf) if end is None else end
    first, _, rest = path.partition("/")
    for typ, b0, p0, b1 in boxes(buf, start, end):
        if typ == first.encode():
            if not rest:
                return b0, p0, b1
            skip = {b"meta": 4, b"iinf": 4 + 2, b"iref": 4, b"dref": 8}.get(typ, 0)
            return find(buf, rest, p0 + skip, b1)
    raise KeyError(path)


def item_type_offsets(buf):
    """Item id -> file offset of its `infe` item_type (infe versions 2 and 3)."""
    _, p0, b1 = find(buf, "meta/iinf")
    version = buf[p0]
    start = p0 + 4 + (2 if version == 0 else 4)
    res = {}
    for typ, _, q0, _ in boxes(buf, start, b1):
        v = buf[q0]
        if v == 2:
            res[struct.unpack(">H", buf[q0 + 4: q0 + 6])[0]] = q0 + 8
        else:
            res[struct.unpack(">I", buf[q0 + 4: q0 + 8])[0]] = q0 + 10
    return res


def primary(buf):
    _, p0, _ = find(buf, "meta/pitm")
    return struct.unpack(">H", buf[p0 + 4: p0 + 6])[0]


def grow_meta(buf, at, removed, inserted):
    """Replaces buf[at:at+removed] (inside `meta`) with `inserted`, fixing the size of every
    box around it and shifting `iloc` file offsets that point past `meta`."""
    delta = len(inserted) - removed
    out_buf = bytearray(buf[:at] + inserted + buf[at + removed:])

    def fix(start, end, depth):
        for typ, b0, p0, b1 in boxes(buf, start, end):
            if b0 <= at < b1:
                size = struct.unpack(">I", buf[b0: b0 + 4])[0]
                out_buf[b0: b0 + 4] = struct.pack(">I", size + delta)
                skip = {b"meta": 4}.get(typ, 0)
                if typ in (b"meta", b"iprp", b"ipco"):
                    fix(p0 + skip, b1, depth + 1)
                return

    fix(0, len(buf), 0)
    meta_end = find(bytes(out_buf), "meta")[2]
    shift_iloc(out_buf, meta_end - delta, delta)
    return bytes(out_buf)


def iloc_fields(buf):
    """Each `iloc` item as (item id, construction method, (position, size) of base_offset,
    [(position, size) of each extent_offset, extent_length]): where the offsets are stored."""
    _, p0, _ = find(bytes(buf), "meta/iloc")
    version = buf[p0]
    r = p0 + 4
    off_size, len_size = buf[r] >> 4, buf[r] & 15
    base_size, idx_size = buf[r + 1] >> 4, (buf[r + 1] & 15) if version in (1, 2) else 0
    r += 2
    count_size = 2 if version < 2 else 4
    count = int.from_bytes(buf[r: r + count_size], "big")
    r += count_size
    items = []
    for _ in range(count):
        item = int.from_bytes(buf[r: r + count_size], "big")
        r += count_size
        method = 0
        if version in (1, 2):
            method = int.from_bytes(buf[r: r + 2], "big") & 15
            r += 2
        r += 2  # data_reference_index
        base = (r, base_size)
        r += base_size
        n = int.from_bytes(buf[r: r + 2], "big")
        r += 2
        extents = []
        for _ in range(n):
            r += idx_size
            extents.append(((r, off_size), (r + off_size, len_size)))
            r += off_size + len_size
        items.append((item, method, base, extents))
    return items


def field(buf, at):
    pos, size = at
    return int.from_bytes(buf[pos: pos + size], "big") if size else 0


def shift_iloc(buf, after, delta):
    """File offsets (construction method 0) at or past `after` moved by `delta`."""
    def shift(at):
        pos, size = at
        if size and field(buf, at) >= after:
            buf[pos: pos + size] = (field(buf, at) + delta).to_bytes(size, "big")

    for _, method, base, extents in iloc_fields(buf):
        if method != 0:
            continue
        shift(base)
        if field(buf, base) == 0:
            for offset, _ in extents:
                shift(offset)


def zero_track_times(path):
    """Creation and modification times (mvhd, tkhd, mdhd) set to 0: the same bytes each run."""
    buf = bytearray(open(path, "rb").read())

    def walk(start, end):
        for typ, _, p0, b1 in boxes(bytes(buf), start, end):
            if typ in (b"moov", b"trak", b"mdia"):
                walk(p0, b1)
            elif typ in (b"mvhd", b"tkhd", b"mdhd"):
                n = 16 if buf[p0] == 1 else 8
                buf[p0 + 4: p0 + 4 + n] = bytes(n)

    walk(0, len(buf))
    open(path, "wb").write(bytes(buf))


def relabel_aux(path, new_urn):
    """Gives the (only) auxiliary image a new `auxC` type: the alpha plane of an RGBA file
    becomes a "gain map" the decoder must ignore (no encoder here writes a gain map)."""
    buf = open(path, "rb").read()
    for typ, b0, p0, b1 in boxes(buf, *find(buf, "meta/iprp/ipco")[1:]):
        if typ == b"auxC":
            old = buf[p0 + 4: b1]
            urn_end = old.index(b"\0")
            new = new_urn.encode() + b"\0" + old[urn_end + 1:]
            open(path, "wb").write(grow_meta(buf, p0 + 4, len(old), new))
            return
    raise KeyError("auxC")


def set_primary_type(path, item_type):
    buf = bytearray(open(path, "rb").read())
    at = item_type_offsets(bytes(buf))[primary(bytes(buf))]
    buf[at: at + 4] = item_type
    open(path, "wb").write(bytes(buf))


def set_ispe(path, w, h):
    buf = bytearray(open(path, "rb").read())
    for typ, b0, p0, b1 in boxes(bytes(buf), *find(bytes(buf), "meta/iprp/ipco")[1:]):
        if typ == b"ispe":
            buf[p0 + 4: p0 + 12] = struct.pack(">II", w, h)
    open(path, "wb").write(bytes(buf))


def reverse_transforms(path):
    """Lists the primary's transformative properties (clap, irot, imir) in reverse order in
    `ipma`: the decoder must apply them in the order listed, not in MIAF's fixed order."""
    buf = bytearray(open(path, "rb").read())
    ipco = [typ for typ, *_ in boxes(bytes(buf), *find(bytes(buf), "meta/iprp/ipco")[1:])]
    _, p0, b1 = find(bytes(buf), "meta/iprp/ipma")
    version, flags = buf[p0], buf[p0 + 3]
    wide = flags & 1
    r = p0 + 4
    count = struct.unpack(">I", buf[r: r + 4])[0]
    r += 4
    pid = primary(bytes(buf))
    for _ in range(count):
        item = struct.unpack(">H" if version < 1 else ">I", buf[r: r + (2 if version < 1 else 4)])[0]
        r += 2 if version < 1 else 4
        n = buf[r]
        r += 1
        size = 2 if wide else 1
        entries = [bytes(buf[r + i * size: r + (i + 1) * size]) for i in range(n)]
        if item == pid:
            def index(e):
                v = int.from_bytes(e, "big")
                return v & (0x7FFF if wide else 0x7F)
            slots = [i for i, e in enumerate(entries) if ipco[index(e) - 1] in (b"clap", b"irot", b"imir")]
            moved = [entries[i] for i in slots][::-1]
            for i, e in zip(slots, moved):
                entries[i] = e
            buf[r: r + n * size] = b"".join(entries)
        r += n * size
    open(path, "wb").write(bytes(buf))


def iloc_extents(buf):
    """Item id -> list of (file offset, length) of its extents (construction method 0)."""
    return {
        item: [(field(buf, base) + field(buf, off), field(buf, length)) for off, length in extents]
        for item, method, base, extents in iloc_fields(buf)
        if method == 0
    }


def av1_alpha_limited_range(path):
    """Sets `color_range` to 0 (limited) in the alpha item's AV1 sequence header (in its data,
    and in its `av1C` if that carries one) without touching the samples: the decoder must then expand the alpha
    samples from 16..235 (as libavif does), which the test checks against the stored values.
    For avifenc's layout: a monochrome reduced-still-picture sequence header first in the item."""
    buf = bytearray(open(path, "rb").read())
    starts = [off for ext in iloc_extents(buf).values() for off, _ in ext[:1]]
    _, c0, c1 = find(bytes(buf), "meta/iprp/ipco")
    starts += [p0 + 4 for typ, _, p0, _ in boxes(bytes(buf), c0, c1) if typ == b"av1C"]
    n = 0
    for pos in starts:
        if buf[pos: pos + 2] == b"\x12\x00":  # a temporal delimiter OBU first
            pos += 2
        if buf[pos] != 0x0A:  # OBU_SEQUENCE_HEADER with obu_has_size_field
            continue
        size = buf[pos + 1]
        bit = color_range_bit(bytes(buf[pos + 2: pos + 2 + size]))
        if bit is not None:
            byte, shift = divmod(bit, 8)
            buf[pos + 2 + byte] &= ~(0x80 >> shift) & 0xFF
            n += 1
    if n == 0:
        raise RuntimeError("no monochrome sequence header found")
    open(path, "wb").write(bytes(buf))


def color_range_bit(body):
    """Bit offset of `color_range` in a monochrome reduced-still-picture sequence header, or
    None when `body` is not one (AV1 specification 5.5.1, 5.5.2)."""
    bits = "".join(f"{b:08b}" for b in body)

    def take(n):
        nonlocal i
        v = int(bits[i: i + n], 2)
        i += n
        return v

    i = 0
    profile, still, reduced = take(3), take(1), take(1)
    if profile != 0 or not still or not reduced:
        return None
    take(5)  # seq_level_idx[0]
    wbits, hbits = take(4) + 1, take(4) + 1
    take(wbits)  # max_frame_width_minus_1
    take(hbits)  # max_frame_height_minus_1
    take(3)  # use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
    take(3)  # enable_superres, enable_cdef, enable_restoration
    take(1)  # high_bitdepth
    if not take(1):  # mono_chrome: the colour item's header is not the alpha's
        return None
    if take(1):  # color_description_present_flag
        take(24)
    return i


def main():
    srgb_icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    srgb_icc[24:36] = struct.pack(">6H", 2026, 12, 7, 0, 0, 0)  # a fixed creation date: same bytes each run
    srgb_icc = bytes(srgb_icc)
    # HEIC ------------------------------------------------------------------------------
    heic("h_patches.heic", patches())
    heic("h_grid.heic", card(640, 400), tile_size=256)
    for o in (3, 6, 8):
        heic(f"h_grid_orient{o}.heic", card(520, 300), tile_size=128, exif_orientation=o, quality=60)
    # A last tile row (3) or column (8) one pixel deep, walked first.
    heic("h_grid_odd_orient3.heic", card(200, 257), tile_size=128, exif_orientation=3, quality=60)
    heic("h_grid_odd_orient8.heic", card(257, 200), tile_size=128, exif_orientation=8, quality=60)
    for o in range(1, 9):
        heic(f"h_orient{o}.heic", quad(64, 48), exif_orientation=o)
    heic("h_clap_orient6.heic", quad(61, 45), exif_orientation=6)
    heic("h_10bit.heic", deep(patches()))
    heic("h_icc.heic", patches(), icc_profile=srgb_icc, save_nclx_profile=False)
    heic("h_p3_nclx.heic", patches(), color_primaries=12, transfer_characteristic=13, matrix_coefficients=6,
         full_range_flag=1)
    heic("h_vui_bt601.heic", patches(), save_nclx_profile=False, color_primaries=6, transfer_characteristic=6,
         matrix_coefficients=6, full_range_flag=1)
    heic("h_limited709.heic", patches(), color_primaries=1, transfer_characteristic=13, matrix_coefficients=1,
         full_range_flag=0)
    heic("h_alpha.heic", patches(alpha=96))
    heic("h_thumb.heic", patches(), thumbnails=[32])
    burst = pillow_heif.from_pillow(Image.fromarray(patches()))
    burst.add_from_pillow(Image.fromarray(quad(96, 64)))
    burst.add_from_pillow(Image.fromarray(patches()[::-1].copy()))
    burst.save(out("h_burst.heic"), quality=92)
    heic("h_gainmap.heic", patches(alpha=96))
    relabel_aux(out("h_gainmap.heic"), "urn:com:apple:photo:2020:aux:hdrgainmap")
    heic("h_444.heic", patches(), chroma=444)
    heic("h_422.heic", patches(), chroma=422)
    heic("h_iovl.heic", card(320, 200), tile_size=128)
    set_primary_type(out("h_iovl.heic"), b"iovl")
    heic("h_ispe_small.heic", quad(512, 384), quality=30)
    set_ispe(out("h_ispe_small.heic"), 64, 48)
    # AVIF ------------------------------------------------------------------------------
    avif("a_patches.avif", patches(), "-y", "420")
    avif("a_444.avif", patches(), "-y", "444")
    avif("a_mono.avif", patches(), "-y", "400")
    avif("a_grid.avif", card(512, 384), "-y", "420", "--grid", "2x2")
    avif("a_irot1_imir0.avif", quad(64, 48), "-y", "420", "--irot", "1", "--imir", "0")
    avif("a_clap_irot3.avif", quad(64, 48), "-y", "444", "--crop", "8,6,40,30", "--irot", "3")
    avif("a_irot3_then_clap.avif", quad(64, 48), "-y", "444", "--crop", "8,6,40,30", "--irot", "3")
    reverse_transforms(out("a_irot3_then_clap.avif"))
    avif("a_10bit.avif", deep(patches()), "-d", "10", "-y", "420")
    avif("a_12bit.avif", deep(patches()), "-d", "12", "-y", "444")
    with tempfile.NamedTemporaryFile(suffix=".icc") as icc:
        icc.write(srgb_icc)
        icc.flush()
        avif("a_icc.avif", patches(), "-y", "420", "--icc", icc.name)
    avif("a_limited709.avif", patches(), "-y", "420", "-r", "limited", "--cicp", "1/13/1")
    avif("a_p3_nclx.avif", patches(), "-y", "444", "--cicp", "12/13/6")
    avif("a_bt601_nclx.avif", patches(), "-y", "444", "--cicp", "6/6/6")
    avif("a_bt2020.avif", patches(), "-y", "444", "--cicp", "9/14/9")
    avif("a_pq.avif", deep(patches()), "-d", "10", "-y", "444", "--cicp", "9/16/9")
    avif("a_hlg.avif", deep(patches()), "-d", "10", "-y", "444", "--cicp", "9/18/9")
    avif("a_alpha.avif", patches(alpha=96), "-y", "420")
    avif("a_alpha_prem.avif", patches(alpha=96), "-y", "444", "-p")
    avif("a_alpha_limited.avif", patches(alpha=96), "-y", "420")
    av1_alpha_limited_range(out("a_alpha_limited.avif"))
    avif("a_sequence.avifs", [patches(), quad(96, 64), patches()[::-1].copy()], "-y", "420")
    zero_track_times(out("a_sequence.avifs"))


if __name__ == "__main__":
    main()
