#!/usr/bin/env python3
"""Judge the worker's `variants` on TIFF, GIF and BMP inputs against Pillow as the second
opinion, the way /work/shared/tools/corpus_check.py judges JPEG, PNG and WebP.

Run (standard library + Pillow + numpy; 2 jobs at most on a shared 2-core machine):

    python3 -m venv /tmp/fjudge && /tmp/fjudge/bin/pip install -q pillow==11.3.0 numpy
    nice -n 19 /tmp/fjudge/bin/python bench/formats_check.py BIN DIR [--out JSON]
        [--timeout S] [--jobs N]

BIN is a release binary of the worker, DIR a folder of test files (e.g. the TIFF, GIF and BMP
files of Pillow's sdist `Tests/images`, sorted by signature). Every file in DIR whose magic
bytes say TIFF (classic or BigTIFF), GIF or BMP is run as `BIN variants FILE --out TMP` with an
empty environment and a timeout; wall time and peak RSS come from os.wait4 (the process and
its reaped children) in a small helper process (see HELPER for why). The rules checked are PRODUCT.md "Input
formats" and "Real-world inputs":
- which image: TIFF the first full-resolution page (NewSubfileType bits 0 and 2 clear),
  Orientation tag applied (Pillow's ImageOps.exif_transpose); GIF the first frame as Pillow
  composes it; BMP as Pillow reads it, an all-zero alpha channel read as opaque (Chromium);
- colours as a colour-managed browser shows them: the TIFF ICC profile (tag 34675) or a BMP V5
  embedded profile converted to sRGB with Little CMS (PIL.ImageCms, relative colorimetric),
  CIELab converted from D50 Lab, CMYK without a profile read as R = (255 - C)(255 - K) / 255,
  alpha composited over mid-gray. GIF ICC extensions are ignored, as browsers ignore them;
- output format: GIF variants PNG, `original` the GIF itself minus metadata; TIFF and BMP
  variants and `original` PNG for alpha (some pixel not opaque), bilevel, gray under 8 bits and
  palette images, JPEG otherwise (an alpha channel that is all opaque allows either).

Verdicts, first match wins (then `slow` and `warn` are added as corpus_check adds `leak`/`slow`):
  crash     killed by a signal, or timed out
  badexit   exit code other than 0/1, exit 1 without a message, exit 0 without a JSON summary
  refused   we exit 1 while Pillow decodes the file fully (the page above) and it is within
            MAX_INPUT_BYTES (50 MiB) and MAX_INPUT_PIXELS (268,402,689): a candidate bug, or a
            coding we decided not to decode; `why` is our message
  agree_err both refuse: Pillow fails too, or the file is over the limits above
  lenient   we succeed while Pillow fails (look by hand); the variants must still decode and
            carry the content type their bytes say (else format)
  memory    peak RSS over 1.5 GiB
  dims      a variant's WxH differs by more than 1 px from PRODUCT.md's rule (thumb 400,
            medium 1200, large 2400 on the longest side when larger; original when <= 4000)
            applied to Pillow's upright size, or a variant is missing or extra
  format    a variant's content_type is not the one the rule above gives, its bytes are not
            that format, or it does not decode in Pillow at its stated size; GIF original not a
            GIF, not the same number of frames as Pillow's n_frames of the input, or carrying a
            comment, an application extension other than NETSCAPE2.0/ANIMEXTS1.0 looping (XMP,
            ICC, ...), no trailer or bytes after it; TIFF/BMP original not PNG/JPEG (never TIFF
            or BMP bytes) or not the full upright size
  colour    mean abs difference of our smallest variant against a Lanczos resize of the
            reference > 4 levels, over means of 64-px blocks, both as the browser shows them;
            for a JPEG variant the difference the same pixels get from a plain quality-80
            encode is allowed on top (a small TIFF/BMP's `original` is a re-encode at full
            size, where 64-px blocks hardly average JPEG's error away)
  detail    our smallest variant's SSIM to that resize is more than 0.05 below what the same
            pixels encoded in our variant's format at quality 80 get (PNG: the pixels
            themselves, SSIM 1): dithered, blocky or thresholded
  ok
  slow      `variants` took more than 5 s of wall time (the better of two runs)
  warn      a multi-page TIFF or animated GIF without a warning naming the count, or the count
            named differs from Pillow's (both shown). The count is Pillow's n_frames for a GIF,
            and for a TIFF the full-resolution pages among Pillow's IFDs (reduced-resolution
            overviews and masks are not pages)
  judge_error  this script failed on the file (a bug here, not in the worker)
`slow` and `warn` replace ok / lenient / agree_err; on a row that already has another finding
they are appended to `why` and to the JSON's `also` list.
Prints a table of the non-ok rows and a summary line; --out writes every row as JSON.
"""
import argparse
import io
import json
import os
import re
import signal
import subprocess
import tempfile
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image, ImageCms, ImageFile, ImageOps

warnings.filterwarnings('ignore')  # Pillow's notes on broken test files
Image.MAX_IMAGE_PIXELS = None     # our own limit check below decides what Pillow may load
ImageFile.LOAD_TRUNCATED_IMAGES = False

SIZES = (('thumb', 400), ('medium', 1200), ('large', 2400))
MAX_INPUT_PIXELS = 268402689      # PRODUCT.md defaults
MAX_INPUT_BYTES = 52428800
RSS_LIMIT_KB = 1536 * 1024
SLOW_S = 5.0
FINE = ('ok', 'lenient', 'agree_err')
MAGIC = {'image/png': b'\x89PNG\r\n\x1a\n', 'image/jpeg': b'\xff\xd8\xff', 'image/gif': b'GIF8'}
LOOPING = (b'NETSCAPE2.0', b'ANIMEXTS1.0')


def kind(path):
    head = open(path, 'rb').read(8)
    if head[:4] in (b'II*\x00', b'MM\x00*', b'II+\x00', b'MM\x00+'):
        return 'tiff'
    if head[:6] in (b'GIF87a', b'GIF89a'):
        return 'gif'
    if head[:2] == b'BM':
        return 'bmp'
    return None


def expected(w, h, original_max=4000):
    L = max(w, h)
    out = {}
    for name, t in SIZES:
        if L > t:
            s = t / L
            out[name] = (t, max(1, round(h * s))) if w >= h else (max(1, round(w * s)), t)
    if L <= original_max:
        out['original'] = (w, h)
    return out


# ---- running the worker -------------------------------------------------------------------

# A fresh, small interpreter forks and execs the worker and os.wait4s it: a child forked from
# this process would inherit its resident size as ru_maxrss (Linux keeps the high-water mark
# across exec), so the floor is the helper's ~5 MiB (/usr/bin/true measures 5), not the judge's.
HELPER = r"""
import os, sys, time
t = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execve(sys.argv[2], sys.argv[2:], {})
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
with open(sys.argv[1], 'w') as f:
    f.write(f'{status} {ru.ru_maxrss} {time.perf_counter() - t}')
"""


def run_variants(binary, path, outdir, timeout):
    """{'rc', 'signal', 'timed_out', 'wall', 'rss_kb', 'stdout', 'stderr'}: one run with an
    empty environment; wall time and peak RSS (KiB) from os.wait4 in the helper above."""
    with tempfile.TemporaryFile() as so, tempfile.TemporaryFile() as se, \
            tempfile.NamedTemporaryFile('r', suffix='.rusage') as ru:
        p = subprocess.Popen([sys.executable, '-S', '-I', '-c', HELPER, ru.name, binary, 'variants', path,
                              '--out', outdir], stdout=so, stderr=se, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        so.seek(0), se.seek(0)
        fields = ru.read().split()
        if len(fields) != 3:
            return {'timed_out': True, 'signal': None, 'wall': timeout, 'rss_kb': 0, 'rc': None,
                    'stdout': b'', 'stderr': se.read()}
        status = int(fields[0])
        return {'rc': os.waitstatus_to_exitcode(status), 'timed_out': False, 'wall': float(fields[2]),
                'signal': os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                'rss_kb': int(fields[1]), 'stdout': so.read(), 'stderr': se.read()}


# ---- the reference: Pillow, upright, as a browser shows it --------------------------------

def bmp_facts(data):
    """(bits a pixel, compression, embedded ICC profile or None) from a BMP's headers."""
    hsize = int.from_bytes(data[14:18], 'little')
    if hsize == 12:
        return int.from_bytes(data[24:26], 'little'), 0, None
    bits, comp, icc = int.from_bytes(data[28:30], 'little'), int.from_bytes(data[30:34], 'little'), None
    if hsize >= 124 and data[70:74] == b'DEBM':          # bV5CSType PROFILE_EMBEDDED 'MBED'
        off = 14 + int.from_bytes(data[126:130], 'little')
        size = int.from_bytes(data[130:134], 'little')
        if size and off + size <= len(data):
            icc = data[off:off + size]
    return bits, comp, icc


def tiff_pages(im):
    """(full-resolution pages, index of the first) in a Pillow TIFF's main IFD chain, left
    seeked to that first one. Reduced-resolution images and masks (NewSubfileType 254 bits 0
    and 2; old SubfileType 255 = 2) are not pages."""
    full = []
    for i in range(getattr(im, 'n_frames', 1)):
        im.seek(i)
        if not ((im.tag_v2.get(254, 0) or 0) & 5) and im.tag_v2.get(255, 1) != 2:
            full.append(i)
    im.seek(full[0] if full else 0)
    return len(full), (full[0] if full else 0)


def reference(path, k):
    """Pillow's view of the input: {'img' (upright, 'icc_profile' in info as a browser applies
    it), 'size', 'mode', 'frames', 'page', 'png' ('must'/'either'/'no'), 'why_png'}, or raises.
    Over MAX_INPUT_PIXELS the pixels are not loaded ('img' None)."""
    data = open(path, 'rb').read()
    im = Image.open(path)
    ref = {'frames': getattr(im, 'n_frames', 1), 'page': 0}
    if k == 'tiff':
        ref['frames'], ref['page'] = tiff_pages(im)
    ref.update(size=im.size, mode=im.mode, img=None)
    if im.size[0] * im.size[1] > MAX_INPUT_PIXELS:
        return ref
    im.load()
    facts = {}
    if k == 'tiff':
        bits = im.tag_v2.get(258, (1,))
        facts = {'bits': bits[0] if isinstance(bits, tuple) else bits, 'photometric': im.tag_v2.get(262)}
        out = ImageOps.exif_transpose(im)
        icc = im.info.get('icc_profile')
    elif k == 'gif':
        out, icc = im.copy(), None                          # browsers ignore GIF ICC extensions
    else:
        bits, comp, icc = bmp_facts(data)
        facts = {'bits': bits, 'compression': comp}
        out = im.copy()
        if out.mode == 'RGBA' and out.getchannel('A').getextrema() == (0, 0):
            out = out.convert('RGB')                      # Chromium: an unused alpha channel
    out.info = dict(im.info)
    out.info.pop('icc_profile', None)
    if icc:
        out.info['icc_profile'] = icc
    ref.update(img=out, size=out.size, **png_rule(k, out, facts))
    return ref


def png_rule(k, im, facts):
    """PRODUCT.md "Input formats": which format the variants must have. 'must' PNG, 'no' (JPEG)
    or 'either' (an alpha channel that is all opaque)."""
    if k == 'gif':
        return {'png': 'must', 'why_png': 'GIF'}
    has_alpha = im.mode in ('RGBA', 'LA', 'PA', 'RGBa', 'La') or 'transparency' in im.info
    bits = facts.get('bits') or 8
    if has_alpha and im.convert('RGBA').getchannel('A').getextrema()[0] < 255:
        return {'png': 'must', 'why_png': 'alpha'}
    if k == 'tiff':
        ph = facts.get('photometric')
        if ph == 3:
            return {'png': 'must', 'why_png': f'palette, {bits}-bit'}
        if ph in (0, 1, 4) and bits < 8:
            return {'png': 'must', 'why_png': 'bilevel' if bits == 1 else f'{bits}-bit gray'}
    if k == 'bmp' and bits <= 8:
        return {'png': 'must', 'why_png': f'palette, {bits}-bit'}
    if im.mode in ('1', 'P'):
        return {'png': 'must', 'why_png': f'Pillow mode {im.mode}'}
    if has_alpha:
        return {'png': 'either', 'why_png': 'alpha channel, all opaque'}
    return {'png': 'no', 'why_png': f'opaque {im.mode}'}


def to_srgb(im):
    """The colours a colour-managed viewer shows, as 8-bit sRGB (RGBA where there is alpha)."""
    icc = im.info.get('icc_profile')
    if im.mode.startswith('I;16'):                     # 16-bit gray: v * 255 / 65535, rounded
        info = im.info
        a = np.asarray(im).astype(np.float64)
        im = Image.fromarray(np.clip(a * 255 / 65535 + 0.5, 0, 255).astype('uint8'))
        im.info = info
    elif im.mode in ('I', 'F'):
        im = im.convert('L')
    if im.mode == 'LAB':
        return ImageCms.profileToProfile(im, ImageCms.createProfile('LAB'), ImageCms.createProfile('sRGB'),
                                         renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, outputMode='RGB')
    if im.info.get('transparency') is not None and im.mode in ('1', 'L', 'RGB', 'P'):
        im = im.convert('RGBA')
    if im.mode in ('RGBa', 'La'):
        im = im.convert('RGBA')
    alpha = im.getchannel('A') if im.mode in ('RGBA', 'LA', 'PA') else None
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            space = src.profile.xcolor_space.strip()
            base = im.convert({'CMYK': 'CMYK', 'GRAY': 'L'}.get(space, 'RGB'))
            out = ImageCms.profileToProfile(base, src, ImageCms.createProfile('sRGB'),
                                            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                                            outputMode='RGB')
            if alpha is not None:
                out.putalpha(alpha)
            return out
        except Exception:  # noqa: BLE001 - an unusable profile: shown as untagged
            pass
    if im.mode == 'CMYK':
        a = np.asarray(im, dtype=np.float32)
        rgb = (255 - a[..., :3]) * (255 - a[..., 3:4]) / 255
        return Image.fromarray(np.clip(rgb + 0.5, 0, 255).astype('uint8'))
    return im.convert('RGBA' if alpha is not None else 'RGB')


def flat(im):
    """Shown over mid-gray, as RGB."""
    im = to_srgb(im).convert('RGBA')
    return Image.alpha_composite(Image.new('RGBA', im.size, (128, 128, 128, 255)), im).convert('RGB')


def ssim(a, b):
    """Mean SSIM of luma over 8x8 blocks (as corpus_check.py)."""
    x = np.asarray(a.convert('L'), dtype=np.float64)
    y = np.asarray(b.convert('L'), dtype=np.float64)
    h, w = (x.shape[0] // 8) * 8, (x.shape[1] // 8) * 8
    if h == 0 or w == 0:
        return 1.0
    x = x[:h, :w].reshape(h // 8, 8, w // 8, 8).swapaxes(1, 2).reshape(-1, 64)
    y = y[:h, :w].reshape(h // 8, 8, w // 8, 8).swapaxes(1, 2).reshape(-1, 64)
    mx, my = x.mean(1), y.mean(1)
    vx, vy = x.var(1), y.var(1)
    cxy = ((x - mx[:, None]) * (y - my[:, None])).mean(1)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return float(s.mean())


def mad(a, b):
    return float(abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).mean())


def reencode(im, content_type):
    """The plain pipeline's output: the same pixels in our variant's format at quality 80."""
    if content_type != 'image/jpeg':
        return im
    buf = io.BytesIO()
    im.convert('RGB').save(buf, 'JPEG', quality=80)
    buf.seek(0)
    return Image.open(buf).convert(im.mode)


# ---- GIF block stream ----------------------------------------------------------------------

def gif_metadata(data):
    """What a GIF `original` keeps that PRODUCT.md says must go, and structural faults."""
    if data[:6] not in (b'GIF87a', b'GIF89a'):
        return ['not a GIF']
    found = []
    i = 13
    if data[10] & 0x80:
        i += 3 * (2 << (data[10] & 7))

    def skip_subblocks(j):
        first = None
        while j < len(data):
            n = data[j]
            j += 1
            if n == 0:
                return j, first
            if first is None:
                first = data[j:j + n]
            j += n
        return j, first
    while i < len(data):
        b = data[i]
        if b == 0x3B:
            if len(data) > i + 1:
                found.append(f'{len(data) - i - 1} bytes after the trailer')
            break
        if b == 0x21 and i + 1 < len(data):
            label = data[i + 1]
            i, first = skip_subblocks(i + 2)
            if label == 0xFE:
                found.append('comment extension')
            elif label == 0xFF:
                ident = (first or b'')[:11]
                if ident not in LOOPING:
                    found.append(f'application extension {ident.decode("latin-1")!r}')
        elif b == 0x2C and i + 10 <= len(data):
            fl = data[i + 9]
            i += 10 + (3 * (2 << (fl & 7)) if fl & 0x80 else 0) + 1
            i, _ = skip_subblocks(i)
        else:
            found.append(f'byte 0x{b:02x} at {i} starts no block')
            break
    else:
        found.append('no trailer')
    return [f'{m} x{found.count(m)}' if found.count(m) > 1 else m for m in dict.fromkeys(found)]


# ---- judging -------------------------------------------------------------------------------

def note(row, verdict, why):
    """Give a row a new verdict where it was fine, else add the finding to its `why`."""
    if row['verdict'] in FINE:
        prev = row['verdict']
        row.update(verdict=verdict, why=why if prev == 'ok' else f'{why} (otherwise {prev}: {row.get("why", "")})')
    else:
        row.setdefault('also', []).append(f'{verdict}: {why}')
        row['why'] = f'{row.get("why", "")} | also {verdict}: {why}'


def variant_files(summary, k, ref):
    """Format findings that need no reference decode: magic vs content type, Pillow decodes
    the file at its stated size, the GIF original's metadata and frame count."""
    bad = []
    for v in summary['variants']:
        ct, name = v['content_type'], v['name']
        try:
            data = open(v['path'], 'rb').read()
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                size = im.size
                frames = getattr(im, 'n_frames', 1)
        except Exception as e:  # noqa: BLE001
            bad.append(f'{name}: does not decode in Pillow ({type(e).__name__}: {str(e)[:60]})')
            continue
        if not data.startswith(MAGIC.get(ct, b'\x00no magic')):
            bad.append(f'{name}: bytes are not {ct} (start {data[:6]!r})')
        if size != (v['width'], v['height']):
            bad.append(f"{name}: decodes {size[0]}x{size[1]}, says {v['width']}x{v['height']}")
        if k == 'gif' and name == 'original':
            if ct != 'image/gif':
                bad.append(f'original: {ct}, not the GIF itself')
            bad += [f'original: {m}' for m in gif_metadata(data)]
            if ref and ref.get('frames') != frames:
                bad.append(f"original: {frames} frames in Pillow, input {ref['frames']}")
        elif name == 'original' and ct not in ('image/png', 'image/jpeg'):
            bad.append(f'original: {ct}, not a PNG/JPEG re-encode')
    return bad


def format_problems(summary, k, ref):
    bad = variant_files(summary, k, ref)
    want = {'must': ('image/png',), 'no': ('image/jpeg',), 'either': ('image/png', 'image/jpeg')}[ref['png']]
    for v in summary['variants']:
        if k == 'gif' and v['name'] == 'original':
            continue
        if v['content_type'] not in want:
            bad.append(f"{v['name']}: {v['content_type']}, want {'/'.join(want)} ({ref['why_png']})")
        if v['name'] == 'original' and k != 'gif' and (v['width'], v['height']) != ref['size']:
            bad.append(f"original: {v['width']}x{v['height']}, not the upright {ref['size'][0]}x{ref['size'][1]}")
    return bad


def warn_problem(summary, ref):
    """The multi-page / animated warning: present, naming Pillow's count."""
    n = ref.get('frames', 1) or 1
    named = []
    for w in summary.get('warnings', []):
        m = re.search(r'(\d+)\s+(pages|frames)', w)
        if m and ('page' in w or 'frame' in w):
            named.append(int(m.group(1)))
    if n > 1 and not named:
        src = summary.get('source', {})
        return f"Pillow counts {n}, no count warning (source pages {src.get('pages')}, frames {src.get('frames')})"
    if named and n not in named and (n > 1 or max(named) > 1):
        return f'warning names {named[0]}, Pillow counts {n}'
    return None


def compare(row, summary, k, ref):
    """dims, format, colour, detail or ok for a file both sides decode."""
    got = {v['name']: (v['width'], v['height']) for v in summary['variants']}
    want = expected(*ref['size'])
    dims = [f'{n}: want {want.get(n)} got {got.get(n)}' for n in sorted(set(want) | set(got))
            if n not in got or n not in want or abs(got[n][0] - want[n][0]) > 1 or abs(got[n][1] - want[n][1]) > 1]
    if dims:
        row.update(verdict='dims', why='; '.join(dims) + f" (Pillow upright {ref['size'][0]}x{ref['size'][1]})")
        return
    bad = format_problems(summary, k, ref)
    if bad:
        row.update(verdict='format', why='; '.join(bad))
        return
    smallest = min(summary['variants'], key=lambda v: v['width'] * v['height'])
    try:
        ours = Image.open(smallest['path'])
        ours.load()
        o = flat(ours)
        r = flat(ref['img'])
        if r.size != o.size:
            r = r.resize(o.size, Image.LANCZOS)
        small = (max(1, o.size[0] * 64 // max(o.size)), max(1, o.size[1] * 64 // max(o.size)))
        plain = reencode(r, smallest['content_type'])
        colour = mad(o.resize(small, Image.BOX), r.resize(small, Image.BOX))
        allowance = mad(plain.resize(small, Image.BOX), r.resize(small, Image.BOX))
        got_ssim, base = ssim(o, r), ssim(plain, r)
    except Exception as e:  # noqa: BLE001
        row.update(verdict='colour', why=f"{smallest['name']}: comparison failed: {type(e).__name__}: {e}")
        return
    row.update(colour_mad=round(colour, 2), colour_q80=round(allowance, 2), ssim=round(got_ssim, 3),
               ssim_q80=round(base, 3))
    if colour > 4 + allowance:
        row.update(verdict='colour', why=f"{smallest['name']}: colours off by {colour:.1f} levels (64 px means) "
                                         f'from the colour-managed reference (a plain q80 encode: {allowance:.1f})')
    elif got_ssim < base - 0.05:
        row.update(verdict='detail', why=f"{smallest['name']}: SSIM {got_ssim:.3f} vs {base:.3f} for a plain "
                                         'Lanczos + quality-80 encode of the same pixels')
    else:
        row['verdict'] = 'ok'


def judge(path, res, timeout):
    k = kind(path)
    size = os.path.getsize(path)
    row = {'file': os.path.basename(path), 'kind': k, 'bytes': size}
    try:
        ref = reference(path, k)
        extra = f" page {ref['page']}" if ref['page'] else ''
        row['pillow'] = f"{ref['size'][0]}x{ref['size'][1]} {ref['mode']} n={ref['frames']}{extra}"
    except Exception as e:  # noqa: BLE001
        ref = None
        row['pillow'] = f'error: {type(e).__name__}: {str(e)[:70]}'
    over = None
    if size > MAX_INPUT_BYTES:
        over = f'{size} bytes > MAX_INPUT_BYTES'
    elif ref and ref['size'][0] * ref['size'][1] > MAX_INPUT_PIXELS:
        over = f"{ref['size'][0]}x{ref['size'][1]} > MAX_INPUT_PIXELS"
    if res['timed_out'] or res['signal']:
        row.update(verdict='crash', why=f'timeout {timeout:.0f} s' if res['timed_out'] else f"signal {res['signal']}")
        return row
    row.update(wall_ms=round(res['wall'] * 1000), rss_kb=res['rss_kb'], rc=res['rc'])
    msg = ' '.join(res['stderr'].decode(errors='replace').split())
    msg = msg.removeprefix('error: ').removeprefix('Failed to process image: ')[:200]
    if res['rc'] not in (0, 1):
        row.update(verdict='badexit', why=f"rc={res['rc']} {msg}")
        return row
    if res['rc'] == 1:
        if not msg:
            row.update(verdict='badexit', why='exit 1 without a message')
        elif ref is None or over:
            row.update(verdict='agree_err', why=msg + (f' | {over}' if over else ''))
        else:
            row.update(verdict='refused', why=msg)
        if res['rss_kb'] > RSS_LIMIT_KB:
            row.update(verdict='memory', why=f"peak RSS {res['rss_kb'] // 1024} MiB > 1536 MiB before: {row['why']}")
        return row
    try:
        summary = json.loads(res['stdout'])
    except ValueError:
        row.update(verdict='badexit', why='exit 0 but no JSON summary')
        return row
    src = summary.get('source', {})
    row['ours'] = (f"{src.get('width')}x{src.get('height')} {src.get('colour_model')} {src.get('bit_depth')}-bit"
                   f"{' alpha' if src.get('alpha') else ''} pages={src.get('pages')} frames={src.get('frames')}"
                   f" orient={src.get('orientation_applied')}")
    row['variants'] = {v['name']: f"{v['width']}x{v['height']} {v['content_type']}" for v in summary['variants']}
    row['warnings'] = summary.get('warnings', [])
    if res['rss_kb'] > RSS_LIMIT_KB:
        row.update(verdict='memory', why=f"peak RSS {res['rss_kb'] // 1024} MiB > 1536 MiB")
    elif ref is None or ref.get('img') is None:
        bad = variant_files(summary, k, None)
        if bad:
            row.update(verdict='format', why='; '.join(bad))
        else:
            row.update(verdict='lenient', why=row['pillow'] + (f' ({over})' if over else ''))
    else:
        compare(row, summary, k, ref)
    if ref is not None:
        w = warn_problem(summary, ref)
        if w:
            note(row, 'warn', w)
    return row


def one(binary, path, timeout):
    """Run and judge one file; a run over 5 s is repeated and the better one counts."""
    with tempfile.TemporaryDirectory() as out:
        res = run_variants(binary, path, os.path.join(out, 'v'), timeout)
        try:
            row = judge(path, res, timeout)
        except Exception as e:  # noqa: BLE001 - a judge bug must not hide the other rows
            row = {'file': os.path.basename(path), 'kind': kind(path), 'verdict': 'judge_error',
                   'why': f'{type(e).__name__}: {e}'}
    if not res['timed_out'] and res['wall'] > SLOW_S:
        with tempfile.TemporaryDirectory() as out:
            res2 = run_variants(binary, path, os.path.join(out, 'v'), timeout)
        walls = [res['wall'], res2['wall']]
        row['wall_ms_runs'] = [round(w * 1000) for w in walls]
        if min(walls) > SLOW_S:
            note(row, 'slow', f'{min(walls):.1f} s wall (runs: {walls[0]:.1f} s, {walls[1]:.1f} s) > {SLOW_S:.0f} s')
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('binary')
    ap.add_argument('dir')
    ap.add_argument('--out', help='write every row as JSON here')
    ap.add_argument('--timeout', type=float, default=60)
    ap.add_argument('--jobs', type=int, default=2)
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    files = sorted(os.path.join(a.dir, f) for f in os.listdir(a.dir)
                   if os.path.isfile(os.path.join(a.dir, f)) and kind(os.path.join(a.dir, f)))
    with ThreadPoolExecutor(a.jobs) as ex:
        rows = list(ex.map(lambda f: one(binary, f, a.timeout), files))
    counts = {}
    for r in rows:
        counts[r['verdict']] = counts.get(r['verdict'], 0) + 1
        if r['verdict'] != 'ok':
            print(f"{r['verdict']:9} {r['file']:44} {r.get('pillow', '')[:34]:34} {r.get('why', '')}")
    print('summary:', ', '.join(f'{k} {v}' for k, v in sorted(counts.items())), f'of {len(rows)}')
    timed = sorted((r for r in rows if 'wall_ms' in r), key=lambda r: -r['wall_ms'])[:3]
    print('slowest:', ', '.join(f"{r['file']} {r['wall_ms']} ms" for r in timed))
    big = sorted((r for r in rows if 'rss_kb' in r), key=lambda r: -r['rss_kb'])[:3]
    print('largest RSS:', ', '.join(f"{r['file']} {r['rss_kb'] // 1024} MiB" for r in big))
    if a.out:
        with open(a.out, 'w') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
