#!/usr/bin/env python3
"""Makes the GIF fixtures in this folder (README.md lists them with their expected values).

Pillow (PyPI `pillow`) LZW-encodes each frame; the blocks around the image data are written
here byte by byte (GIF89a specification, W3C), so that each file has exactly the extensions,
offsets and flags its test needs.

    python3 -m venv /tmp/fixtures && /tmp/fixtures/bin/pip install pillow==11.3.0
    /tmp/fixtures/bin/python testdata/formats/gif/generate.py
"""

import io
import struct
from pathlib import Path

from PIL import Image, ImageCms

HERE = Path(__file__).resolve().parent

# The animated fixture's global colour table; index 0 is its transparent colour.
COLOURS = [
    (0, 0, 0),
    (230, 25, 75),  # 1 red
    (60, 180, 75),  # 2 green
    (0, 130, 200),  # 3 blue
    (255, 225, 25),  # 4 yellow
    (255, 255, 255),  # 5 white (the background index, which browsers ignore)
    (128, 128, 128),  # 6 gray
    (240, 50, 230),  # 7 magenta
]


def table(colours):
    """A colour table padded to a power of two: (bytes, size bits for the packed field)."""
    bits = 1
    while (1 << bits) < len(colours):
        bits += 1
    padded = list(colours) + [(0, 0, 0)] * ((1 << bits) - len(colours))
    return b"".join(bytes(c) for c in padded), bits - 1


def sub_blocks(data):
    """Data sub-blocks (at most 255 bytes each) and the block terminator."""
    out = b""
    for i in range(0, len(data), 255):
        chunk = data[i : i + 255]
        out += bytes([len(chunk)]) + chunk
    return out + b"\x00"


def lzw(indices, width, height, interlace):
    """The LZW minimum code size and data sub-blocks Pillow writes for these indices (Pillow
    always writes minimum code size 8, whatever the colour table's size)."""
    im = Image.new("P", (width, height))
    im.putpalette(bytes(range(256)) * 3)
    im.putdata(indices)
    buf = io.BytesIO()
    im.save(buf, "GIF", optimize=False, interlace=interlace)
    data = buf.getvalue()
    pos = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    while data[pos] == 0x21:  # extensions Pillow may write before the image
        pos += 2
        while data[pos]:
            pos += 1 + data[pos]
        pos += 1
    assert data[pos] == 0x2C, "Pillow wrote no image descriptor"
    flags = data[pos + 9]
    assert bool(flags & 0x40) == interlace
    pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    start = pos
    pos += 1
    while data[pos]:
        pos += 1 + data[pos]
    return data[start : pos + 1]


def screen(width, height, colours, background=0, version=b"GIF89a"):
    gct, bits = table(colours)
    return version + struct.pack("<HHBBB", width, height, 0x80 | bits, background, 0) + gct


def control(transparent=None, delay=0, disposal=0):
    flags = (disposal << 2) | (1 if transparent is not None else 0)
    return b"\x21\xf9\x04" + struct.pack("<BHB", flags, delay, transparent or 0) + b"\x00"


def image(left, top, width, height, indices, local=None, interlace=False):
    flags = 0x40 if interlace else 0
    lct = b""
    if local is not None:
        lct, bits = table(local)
        flags |= 0x80 | bits
    head = b"\x2c" + struct.pack("<HHHHB", left, top, width, height, flags)
    return head + lct + lzw(indices, width, height, interlace)


def comment(text):
    return b"\x21\xfe" + sub_blocks(text.encode())


def application(ident, payload):
    return b"\x21\xff\x0b" + ident + sub_blocks(payload)


def looping(loops):
    return b"\x21\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", loops) + b"\x00"


def xmp(packet):
    """XMP as Adobe's XMP specification part 3 writes it in GIF: the packet's raw bytes, then
    the 258-byte "magic trailer" that makes them parse as sub-blocks."""
    ramp = bytes([1]) + bytes(range(255, -1, -1)) + b"\x00"
    return b"\x21\xff\x0bXMP DataXMP" + packet.encode() + ramp


def plain_text(text):
    grid = struct.pack("<HHHHBBBB", 0, 0, 64, 8, 8, 8, 5, 0)
    return b"\x21\x01\x0c" + grid + sub_blocks(text.encode())


def quadrants(width, height, ids):
    """Indices of four quadrants: top-left, top-right, bottom-left, bottom-right."""
    return [
        ids[(2 if y >= height // 2 else 0) + (1 if x >= width // 2 else 0)]
        for y in range(height)
        for x in range(width)
    ]


def still():
    """64x48, quadrants red/green/blue/white; a transparent index (7) that no pixel uses."""
    colours = COLOURS[:8]
    return (
        screen(64, 48, colours)
        + control(transparent=7)
        + image(0, 0, 64, 48, quadrants(64, 48, [1, 2, 3, 5]))
        + b";"
    )


def animated():
    """Three frames on a 64x48 screen; the first is 32x24 at (16, 12): its left half red, its
    right half blue, a transparent 4x4 hole at frame (14, 10). Comment, XMP, ICC profile and
    plain text extensions, a looping extension, a comment after the second frame."""
    first = []
    for y in range(24):
        for x in range(32):
            hole = 14 <= x < 18 and 10 <= y < 14
            first.append(0 if hole else (1 if x < 16 else 3))
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    profile[24:36] = bytes(12)  # its creation date: every run writes the same file
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="A. Person"/>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )
    local = [(255, 225, 25), (128, 128, 128), (240, 50, 230), (255, 255, 255)]
    return (
        screen(64, 48, COLOURS, background=5)
        + looping(0)
        + comment("made by generate.py; GPS 52.37N 4.90E")
        + xmp(packet)
        + application(b"ICCRGBG1012", bytes(profile))
        + control(transparent=0, delay=50, disposal=1)
        + image(16, 12, 32, 24, first)
        + plain_text("hello")
        + control(delay=50)
        + image(0, 0, 64, 48, quadrants(64, 48, [0, 1, 2, 3]), local=local)
        + comment("second comment")
        + control(delay=50, disposal=2)
        + image(40, 20, 20, 20, [2] * 400)
        + b";"
    )


def interlaced():
    """40x37, interlaced; pixel (x, y) has index (y + x // 10) % 16 of a 16-colour table."""
    colours = [(i * 16, 255 - i * 16, (i * 37) % 256) for i in range(16)]
    indices = [(y + x // 10) % 16 for y in range(37) for x in range(40)]
    return screen(40, 37, colours, version=b"GIF87a") + image(
        0, 0, 40, 37, indices, interlace=True
    ) + b";"


def bilevel():
    """48x32, black and white 8x8 checks (black at the top left): a gray two-colour table."""
    indices = [((x // 8) + (y // 8)) % 2 for y in range(32) for x in range(48)]
    return screen(48, 32, [(0, 0, 0), (255, 255, 255)]) + image(0, 0, 48, 32, indices) + b";"


def main():
    for name, make, frames in [
        ("still_64x48.gif", still, 1),
        ("animated_3_frames_64x48.gif", animated, 3),
        ("interlaced_40x37.gif", interlaced, 1),
        ("bilevel_48x32.gif", bilevel, 1),
    ]:
        data = make()
        (HERE / name).write_bytes(data)
        with Image.open(HERE / name) as im:  # Pillow reads every frame back
            assert getattr(im, "n_frames", 1) == frames, name
            for i in range(frames):
                im.seek(i)
                im.load()
        print(f"{name}: {len(data)} bytes, {frames} frame(s)")


if __name__ == "__main__":
    main()
