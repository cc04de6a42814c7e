//! A WebP's RIFF chunks (WebP container specification), walked in linear time: the check made
//! before image-webp reads them, where the container ends (bytes after it are not the image's:
//! PRODUCT.md "Real-world inputs"), and the metadata-free `original`, which keeps a whitelist
//! (PRODUCT.md "What the `original` keeps": `VP8X`, `ICCP`, `ANIM`/`ANMF`, `ALPH` and the
//! image data, and a one-tag EXIF orientation) with its `VP8X` flags matching what is kept.

use crate::image::error::ImageError;

/// A chunk: its FourCC, its payload (from offset `body`), and whether the whole payload is
/// inside the container.
struct Chunk<'a> {
    id: [u8; 4],
    body: usize,
    payload: &'a [u8],
    whole: bool,
}

/// The chunks of `b[from..end]`, in order; the walk stops after a chunk cut off by `end`.
fn chunks(b: &[u8], from: usize, end: usize) -> impl Iterator<Item = Chunk<'_>> {
    let mut at = Some(from);
    std::iter::from_fn(move || {
        let i = at?;
        let head = b.get(i..i.checked_add(8)?).filter(|_| i + 8 <= end)?;
        let id = [head[0], head[1], head[2], head[3]];
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let body = i + 8;
        let whole = size <= end - body;
        let stop = if whole { body + size } else { end };
        // Odd sizes are followed by a padding byte.
        at = whole.then(|| stop + (size & 1));
        Some(Chunk {
            id,
            body,
            payload: &b[body..stop],
            whole,
        })
    })
}

/// Where the RIFF container ends: 8 bytes of header plus its declared size, or the end of the
/// file when it declares more (a file cut short, for the decoders to refuse).
pub(in crate::image) fn riff_end(b: &[u8]) -> usize {
    let size = b
        .get(4..8)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize);
    size.saturating_add(8).min(b.len())
}

/// image-webp allocates whatever size a chunk header declares before reading it (found by
/// fuzzing: a 100-byte file asking for 4 GiB). Chunks, and the frames inside an animation, must
/// fit inside the container (`b`, cut at `riff_end`).
pub(in crate::image) fn check_riff(b: &[u8]) -> Result<(), ImageError> {
    crate::image::codecs::count::header_read("riff chunks");
    if b.len() < 20 {
        return Err(ImageError::Invalid(format!(
            "cannot decode: a WebP RIFF container of {} bytes holds no chunk",
            b.len()
        )));
    }
    let past_end =
        || ImageError::Invalid("cannot decode: a WebP chunk runs past the end of the file".into());
    for c in chunks(b, 12, b.len()) {
        if !c.whole {
            return Err(past_end());
        }
        if &c.id == b"ANMF" && c.payload.len() >= 16 {
            let end = c.body + c.payload.len();
            if chunks(b, c.body + 16, end).any(|f| !f.whole) {
                return Err(past_end());
            }
        }
    }
    Ok(())
}

/// VP8X flag bits (WebP container spec): ICC profile, alpha, EXIF, XMP, animation; the other
/// bits are reserved (zero).
const FLAG_ICC: u8 = 0x20;
const FLAG_ALPHA: u8 = 0x10;
const FLAG_EXIF: u8 = 0x08;
const FLAG_ANIMATION: u8 = 0x02;

/// The metadata-free `original` of a WebP (cut at its container's end): the whitelisted
/// chunks in the order the container specification gives them — `VP8X` (its flags set to what
/// is kept, reserved bits cleared), the first `ICCP`, `ANIM`, the image (`ALPH` and
/// `VP8`/`VP8L`, or the `ANMF` frames, each with only its `ALPH` and image data), then `exif`
/// (a TIFF block) as `EXIF` — and the RIFF size to match. Unknown chunks (artist, copyright,
/// a misspelt XMP), `EXIF` and `XMP ` are dropped; an empty or second `ICCP` too, named in
/// `warnings`. A simple-format file (no `VP8X`) keeps its image chunk alone.
pub(in crate::image) fn strip(
    b: &[u8],
    exif: Option<&[u8]>,
    warnings: &mut Vec<String>,
) -> Vec<u8> {
    let all = || chunks(b, 12, b.len()).filter(|c| c.whole);
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    let vp8x = all().find(|c| &c.id == b"VP8X" && c.payload.len() == 10);
    let icc = all().find(|c| &c.id == b"ICCP" && !c.payload.is_empty());
    let iccs = all().filter(|c| &c.id == b"ICCP").count();
    if iccs > usize::from(icc.is_some()) {
        warnings.push(format!(
            "{} WebP ICCP chunk(s) (empty, or after the first) left out of the original",
            iccs - usize::from(icc.is_some())
        ));
    }
    let extended = vp8x.is_some();
    // An animation's image data is in its frames; a still image's in its top-level chunks.
    let animated = extended && all().any(|c| matches!(&c.id, b"ANIM" | b"ANMF"));
    if let Some(v) = &vp8x {
        let mut payload = v.payload.to_vec();
        let mut flags = payload[0] & FLAG_ALPHA;
        flags |= if icc.is_some() { FLAG_ICC } else { 0 };
        flags |= if exif.is_some() { FLAG_EXIF } else { 0 };
        flags |= if animated { FLAG_ANIMATION } else { 0 };
        payload[0] = flags;
        payload[1..4].fill(0);
        write_chunk(&mut out, b"VP8X", &payload);
    }
    if let (true, Some(c)) = (extended, &icc) {
        write_chunk(&mut out, b"ICCP", c.payload);
    }
    if let (true, Some(c)) = (animated, all().find(|c| &c.id == b"ANIM")) {
        write_chunk(&mut out, b"ANIM", c.payload);
    }
    for c in all() {
        match &c.id {
            b"ALPH" if extended && !animated => write_chunk(&mut out, b"ALPH", c.payload),
            b"VP8 " | b"VP8L" if !animated => write_chunk(&mut out, &c.id, c.payload),
            b"ANMF" if animated => write_frame(&mut out, c.payload),
            _ => {}
        }
    }
    if let (true, Some(tiff)) = (extended, exif) {
        write_chunk(&mut out, b"EXIF", tiff);
    }
    let size = u32::try_from(out.len() - 8).unwrap_or(u32::MAX);
    out[4..8].copy_from_slice(&size.to_le_bytes());
    out
}

/// An `ANMF` chunk with only its frame header (16 bytes) and the frame's `ALPH` and image
/// data kept.
fn write_frame(out: &mut Vec<u8>, payload: &[u8]) {
    if payload.len() < 16 {
        return;
    }
    let mut frame = payload[..16].to_vec();
    for c in chunks(payload, 16, payload.len()).filter(|c| c.whole) {
        if matches!(&c.id, b"ALPH" | b"VP8 " | b"VP8L") {
            write_chunk(&mut frame, &c.id, c.payload);
        }
    }
    write_chunk(out, b"ANMF", &frame);
}

/// Appends a chunk: FourCC, little-endian size, payload, a padding byte after an odd size.
pub(in crate::image) fn write_chunk(out: &mut Vec<u8>, id: &[u8; 4], payload: &[u8]) {
    out.extend_from_slice(id);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    if payload.len() % 2 == 1 {
        out.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webp(chunks: &[(&[u8; 4], &[u8])], after: &[u8]) -> Vec<u8> {
        let mut body = b"WEBP".to_vec();
        for (id, payload) in chunks {
            write_chunk(&mut body, id, payload);
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend(body);
        out.extend_from_slice(after);
        out
    }

    fn ids(b: &[u8]) -> Vec<String> {
        chunks(b, 12, b.len())
            .map(|c| String::from_utf8_lossy(&c.id).into_owned())
            .collect()
    }

    #[test]
    fn the_original_keeps_the_whitelist_with_flags_to_match() {
        // Flags claim XMP, EXIF and a reserved bit; an unknown chunk sits in the first frame.
        let vp8x: &[u8] = &[0xFF, 1, 2, 3, 0, 0, 0, 0, 0, 0];
        let frame = {
            let mut f = vec![0u8; 16];
            write_chunk(&mut f, b"VP8L", &[0x2F, 0, 0, 0, 0]);
            write_chunk(&mut f, b"NOTE", b"secret");
            f
        };
        let b = webp(
            &[
                (b"VP8X", vp8x),
                (b"ANIM", &[0; 6]),
                (b"ICCP", &[]),
                (b"ICCP", b"profile"),
                (b"ANMF", &frame),
                (b"XMP ", b"secret"),
                (b"ARTS", b"secret"),
            ],
            b"after",
        );
        let end = riff_end(&b);
        assert_eq!(end, b.len() - 5);
        assert!(check_riff(&b[..end]).is_ok());
        let mut warnings = Vec::new();
        let out = strip(&b[..end], Some(b"MM\0*"), &mut warnings);
        assert_eq!(ids(&out), ["VP8X", "ICCP", "ANIM", "ANMF", "EXIF"]);
        assert_eq!(&out[20..24], [0x10 | 0x20 | 0x08 | 0x02, 0, 0, 0]);
        assert_eq!(riff_end(&out), out.len());
        assert!(!out.windows(6).any(|w| w == b"secret"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        // A simple-format file keeps its image chunk alone (no EXIF without VP8X).
        let simple = webp(&[(b"VP8L", &[0x2F, 0, 0, 0, 0]), (b"ARTS", b"x")], &[]);
        let out = strip(&simple, Some(b"MM\0*"), &mut Vec::new());
        assert_eq!(ids(&out), ["VP8L"]);
    }
}
