#!/usr/bin/env python3
"""Makes the BMP fixtures in this folder (README.md lists them with their expected values).

Every header, colour table, mask and row is written here byte by byte (Microsoft's BMP
formats: BITMAPFILEHEADER, BITMAPCOREHEADER, BITMAPINFOHEADER, BITMAPV5HEADER; RLE4 and RLE8
as wingdi.h defines them), so that each file has exactly the header, coding and colour space
its test needs. Pillow (PyPI `pillow`) supplies the sRGB ICC profile and reads back each file
it can.

    python3 -m venv /tmp/fixtures && /tmp/fixtures/bin/pip install pillow==11.3.0
    /tmp/fixtures/bin/python testdata/formats/bmp/generate.py
"""

import struct
from pathlib import Path

from PIL import Image, ImageCms

HERE = Path(__file__).resolve().parent

RED = (230, 25, 75)
GREEN = (60, 180, 75)
BLUE = (0, 130, 200)
YELLOW = (255, 225, 25)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
GRAY = (128, 128, 128)
MAGENTA = (240, 50, 230)

LCS_SRGB = int.from_bytes(b"sRGB", "big")
PROFILE_LINKED = int.from_bytes(b"LINK", "big")
PROFILE_EMBEDDED = int.from_bytes(b"MBED", "big")


def quadrant(x, y, width, height):
    """0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right (as shown, top row first)."""
    return (2 if y >= height // 2 else 0) + (1 if x >= width // 2 else 0)


def padded(row):
    return row + b"\x00" * (-len(row) % 4)


def file_header(size, offset):
    return b"BM" + struct.pack("<IHHI", size, 0, 0, offset)


def info_v3(width, height, bits, compression=0, image_size=0, colours=0):
    return struct.pack(
        "<IiiHHIIiiII", 40, width, height, 1, bits, compression, image_size, 2835, 2835, colours, 0
    )


def info_v5(width, height, bits, compression, masks, cs_type, profile=(0, 0), image_size=0):
    """BITMAPV5HEADER: `masks` (red, green, blue, alpha), `profile` (offset from the header's
    start, size)."""
    head = struct.pack(
        "<IiiHHIIiiII", 124, width, height, 1, bits, compression, image_size, 2835, 2835, 0, 0
    )
    endpoints = b"\x00" * 36 + b"\x00" * 12  # CIEXYZTRIPLE and three gammas, unused
    tail = struct.pack("<IIII", 4, profile[0], profile[1], 0)  # LCS_GM_IMAGES
    return head + struct.pack("<IIIII", *masks, cs_type) + endpoints + tail


def palette_bytes(colours, entry=4):
    return b"".join(bytes((b, g, r)) + b"\x00" * (entry - 3) for r, g, b in colours)


def assemble(info, table, rows, extra=b""):
    """File header + info header + colour table (or masks) + pixel rows + `extra`."""
    offset = 14 + len(info) + len(table)
    data = b"".join(rows)
    return file_header(offset + len(data) + len(extra), offset) + info + table + data + extra


def stored(shown_rows, top_down=False):
    """Rows in file order: bottom row first unless top-down."""
    return list(shown_rows) if top_down else list(reversed(shown_rows))


def pack_indices(indices, bits):
    out = bytearray()
    per = 8 // bits
    for i in range(0, len(indices), per):
        byte = 0
        for j, index in enumerate(indices[i : i + per]):
            byte |= index << (8 - bits * (j + 1))
        out.append(byte)
    return bytes(out)


def run_at(indices, i):
    """How many pixels from i repeat indices[i] (at most 255)."""
    run = 1
    while i + run < len(indices) and run < 255 and indices[i + run] == indices[i]:
        run += 1
    return run


def rle_row(indices, rle4):
    """One row in RLE8 or RLE4: runs of one index (2+ pixels in RLE8, 3+ in RLE4) as encoded
    runs, 3+ other pixels as absolute runs (up to 8 in RLE4), 1-2 others as runs of one."""
    out, i = bytearray(), 0
    shortest, longest = (3, 8) if rle4 else (2, 255)
    while i < len(indices):
        run = run_at(indices, i)
        if run >= shortest:
            out += bytes((run, indices[i] * 17 if rle4 else indices[i]))
            i += run
            continue
        j = i + 1
        while j < len(indices) and j - i < longest and run_at(indices, j) < shortest:
            j += 1
        literal = list(indices[i:j])
        if len(literal) >= 3:
            data = pack_indices(literal + [0] * (len(literal) % 2), 4) if rle4 else bytes(literal)
            out += bytes((0, len(literal))) + data + b"\x00" * (len(data) % 2)
        else:
            out += b"".join(bytes((1, p << 4 if rle4 else p)) for p in literal)
        i += len(literal)
    return bytes(out)


def rle8_row(indices):
    return rle_row(indices, rle4=False)


def rle4_row(indices):
    return rle_row(indices, rle4=True)


def rle(shown, encode, ops=None):
    """RLE data of shown rows (bottom-up), each row ended by EOL, then EOF; `ops` replaces
    the codes of some stored rows (for skips)."""
    data = b""
    for r, row in enumerate(stored(shown)):
        data += (ops or {}).get(r, encode(row) + b"\x00\x00")
    return data + b"\x00\x01"


def pal1():
    """37x21, 1 bit, black and white: pixel (x, y) is white when (x // 3 + y // 7) is odd."""
    w, h = 37, 21
    shown = [pack_indices([(x // 3 + y // 7) % 2 for x in range(w)], 1) for y in range(h)]
    table = palette_bytes([BLACK, WHITE])
    return assemble(info_v3(w, h, 1, colours=2), table, [padded(r) for r in stored(shown)])


def pal4_rle():
    """33x20, RLE4, quadrants red/green/blue/yellow, with a 1-pixel column of magenta at
    x = 5 and mixed pixels that force absolute runs in row 0."""
    w, h = 33, 20
    colours = [RED, GREEN, BLUE, YELLOW, MAGENTA, WHITE]
    shown = []
    for y in range(h):
        row = [quadrant(x, y, w, h) for x in range(w)]
        row[5] = 4
        if y == 0:
            row[10:16] = [5, 4, 5, 4, 5, 4]
        shown.append(row)
    data = rle(shown, rle4_row)
    info = info_v3(w, h, 4, compression=2, image_size=len(data), colours=len(colours))
    return assemble(info, palette_bytes(colours), [data])


def pal8_rle_rows(w, h):
    rows = []
    for y in range(h):
        row = [quadrant(x, y, w, h) for x in range(w)]
        row[7:12] = [4, 5, 6, 7, 4]  # an absolute run
        rows.append(row)
    return rows


PAL8 = [RED, GREEN, BLUE, YELLOW, MAGENTA, WHITE, GRAY, BLACK]


def pal8_rle():
    """40x30, RLE8, quadrants red/green/blue/yellow and an absolute run at x = 7..12."""
    w, h = 40, 30
    data = rle(pal8_rle_rows(w, h), rle8_row)
    info = info_v3(w, h, 8, compression=1, image_size=len(data), colours=len(PAL8))
    return assemble(info, palette_bytes(PAL8), [data])


def pal8_rle_delta():
    """pal8_rle's pixels, but stored row 5 ends after 10 pixels (EOL), stored row 10 skips
    x = 10..29 with a delta, and the data ends (EOF) after stored row 27."""
    w, h = 40, 30
    shown = pal8_rle_rows(w, h)
    rows = stored(shown)
    ops = {
        5: rle8_row(rows[5][:10]) + b"\x00\x00",
        10: rle8_row(rows[10][:10]) + b"\x00\x02\x14\x00" + rle8_row(rows[10][30:]) + b"\x00\x00",
    }
    data = b"".join(ops.get(r, rle8_row(row) + b"\x00\x00") for r, row in enumerate(rows[:28]))
    data += b"\x00\x01"
    info = info_v3(w, h, 8, compression=1, image_size=len(data), colours=len(PAL8))
    return assemble(info, palette_bytes(PAL8), [data])


def rgb_rows(w, h, colours, fmt):
    return [b"".join(fmt(colours[quadrant(x, y, w, h)]) for x in range(w)) for y in range(h)]


def rgb24():
    """31x17, 24 bits, bottom-up, quadrants red/green/blue/yellow (rows padded)."""
    w, h = 31, 17
    shown = rgb_rows(w, h, [RED, GREEN, BLUE, YELLOW], lambda c: bytes((c[2], c[1], c[0])))
    return assemble(info_v3(w, h, 24), b"", [padded(r) for r in stored(shown)])


def topdown():
    """24x12, 24 bits, top-down (negative height): quadrants red/green/blue/yellow."""
    w, h = 24, 12
    shown = rgb_rows(w, h, [RED, GREEN, BLUE, YELLOW], lambda c: bytes((c[2], c[1], c[0])))
    return assemble(info_v3(w, -h, 24), b"", [padded(r) for r in stored(shown, top_down=True)])


ALPHA_MASKS = (0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000)


def bgra(colour, alpha):
    r, g, b = colour
    return bytes((b, g, r, alpha))


def rgba32_v5():
    """32x16, V5, BI_BITFIELDS with an alpha mask, sRGB: quadrants red/green/blue/yellow; alpha
    0 in the first 8 columns, 128 in the next 8, 255 in the rest."""
    w, h = 32, 16
    shown = [
        b"".join(
            bgra((RED, GREEN, BLUE, YELLOW)[quadrant(x, y, w, h)], 0 if x < 8 else 128 if x < 16 else 255)
            for x in range(w)
        )
        for y in range(h)
    ]
    return assemble(info_v5(w, h, 32, 3, ALPHA_MASKS, LCS_SRGB), b"", stored(shown))


def rgb32_zero_alpha():
    """32x16, V5, BI_BITFIELDS with an alpha mask, but every alpha byte 0: quadrants
    red/green/blue/yellow, shown opaque (as Chromium shows it)."""
    w, h = 32, 16
    shown = rgb_rows(w, h, [RED, GREEN, BLUE, YELLOW], lambda c: bgra(c, 0))
    return assemble(info_v5(w, h, 32, 3, ALPHA_MASKS, LCS_SRGB), b"", stored(shown))


def rgb32_v3_fourth_byte():
    """16x8, 32 bits under a 40-byte header (BI_RGB) whose fourth bytes vary (0, 7, 200):
    browsers ignore them; quadrants red/green/blue/yellow, opaque."""
    w, h = 16, 8
    shown = [
        b"".join(bgra((RED, GREEN, BLUE, YELLOW)[quadrant(x, y, w, h)], (0, 7, 200)[x % 3]) for x in range(w))
        for y in range(h)
    ]
    return assemble(info_v3(w, h, 32), b"", stored(shown))


def rgb16_565():
    """30x20, 16 bits, BI_BITFIELDS 5-6-5 (masks after a 40-byte header): quadrants pure red
    (0xF800), pure green (0x07E0), pure blue (0x001F), and 0x8410 (132, 130, 132)."""
    w, h = 30, 20
    values = [0xF800, 0x07E0, 0x001F, 0x8410]
    shown = [b"".join(struct.pack("<H", values[quadrant(x, y, w, h)]) for x in range(w)) for y in range(h)]
    masks = struct.pack("<III", 0xF800, 0x07E0, 0x001F)
    return assemble(info_v3(w, h, 16, compression=3), masks, [padded(r) for r in stored(shown)])


def icc_v5(profile, cs_type, linked=False):
    """16x8, V5, BI_RGB 24 bits, quadrants red/green/blue/yellow, with an embedded profile (or a
    linked profile's file name) after the pixel data."""
    w, h = 16, 8
    shown = rgb_rows(w, h, [RED, GREEN, BLUE, YELLOW], lambda c: bytes((c[2], c[1], c[0])))
    rows = [padded(r) for r in stored(shown)]
    at = 124 + sum(len(r) for r in rows)  # from the info header's start
    info = info_v5(w, h, 24, 0, (0, 0, 0, 0), cs_type, (at, len(profile)))
    return assemble(info, b"", rows, extra=profile)


def os2_core():
    """12x6, OS/2 1.x core header (3-byte palette entries), 8 bits: left half green, right half
    magenta."""
    w, h = 12, 6
    info = struct.pack("<IHHHH", 12, w, h, 1, 8)
    table = palette_bytes([GREEN, MAGENTA], entry=3)
    shown = [bytes(0 if x < w // 2 else 1 for x in range(w)) for y in range(h)]
    return assemble(info, table, [padded(r) for r in stored(shown)])


def bad_header_size():
    """16x8, 24 bits, quadrants, with a sound file header (reserved fields 0, file size and
    pixel data offset right) but an info header of 66 bytes, a size no BMP variant has: the
    40-byte header's fields and 26 zero bytes."""
    w, h = 16, 8
    info = bytearray(info_v3(w, h, 24)) + bytes(26)
    info[0:4] = struct.pack("<I", len(info))
    shown = rgb_rows(w, h, [RED, GREEN, BLUE, YELLOW], lambda c: bytes((c[2], c[1], c[0])))
    return assemble(bytes(info), b"", [padded(r) for r in stored(shown)])


def main():
    srgb = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    srgb[24:36] = bytes(12)  # its creation date: every run writes the same files
    srgb = bytes(srgb)
    fixtures = [
        ("pal1_37x21.bmp", pal1()),
        ("pal4_rle_33x20.bmp", pal4_rle()),
        ("pal8_rle_40x30.bmp", pal8_rle()),
        ("pal8_rle_delta_40x30.bmp", pal8_rle_delta()),
        ("rgb24_31x17.bmp", rgb24()),
        ("rgb24_topdown_24x12.bmp", topdown()),
        ("rgba32_v5_32x16.bmp", rgba32_v5()),
        ("rgb32_zero_alpha_v5_32x16.bmp", rgb32_zero_alpha()),
        ("rgb32_v3_fourth_byte_16x8.bmp", rgb32_v3_fourth_byte()),
        ("rgb16_565_30x20.bmp", rgb16_565()),
        ("icc_embedded_v5_16x8.bmp", icc_v5(srgb, PROFILE_EMBEDDED)),
        ("icc_linked_v5_16x8.bmp", icc_v5(b"C:\\profiles\\scanner.icc\x00", PROFILE_LINKED)),
        ("pal8_os2_core_12x6.bmp", os2_core()),
    ]
    for name, data in fixtures:
        (HERE / name).write_bytes(data)
        check(HERE / name)
        print(f"{name}: {len(data)} bytes")
    # Refused: Pillow refuses it too ("Unsupported BMP header type (66)").
    name, data = "bad_header_size_66.bmp", bad_header_size()
    (HERE / name).write_bytes(data)
    try:
        Image.open(HERE / name).load()
        raise AssertionError(f"{name}: Pillow reads it")
    except OSError as e:
        assert "66" in str(e), e
    print(f"{name}: {len(data)} bytes")


def check(path):
    """Pillow reads the file back at the size its name says."""
    size = tuple(int(n) for n in path.stem.rsplit("_", 1)[1].split("x"))
    with Image.open(path) as im:
        im.load()
        assert im.size == size, (path.name, im.size)


if __name__ == "__main__":
    main()
