//! A PNG's chunks (PNG spec, 3rd edition, 5.3): walked once in linear time, the repair of a
//! damaged but complete file for the decoder (PRODUCT.md "Real-world inputs"), which chunks
//! the metadata-free `original` keeps (PRODUCT.md "What the `original` keeps": a whitelist,
//! each kept chunk checked as libpng checks it), and the `original` itself, its image data
//! re-chunked.

/// A PNG chunk: its type, its declared length, its data (`None` when the file ends before the
/// declared length does) and its stored CRC (`None` likewise).
pub(in crate::image) struct Chunk<'a> {
    pub kind: [u8; 4],
    pub len: usize,
    pub data: Option<&'a [u8]>,
    /// Where the chunk starts (its length field) and ends (after its CRC), in the file.
    pub span: (usize, usize),
    crc: Option<u32>,
}

impl Chunk<'_> {
    /// Ancillary chunks (PNG spec 5.4: lower-case first letter) may be dropped by a reader.
    pub fn ancillary(&self) -> bool {
        self.kind[0] & 0x20 != 0
    }

    /// The stored CRC matches the type and data (PNG spec 5.3).
    pub fn crc_ok(&self) -> bool {
        let (Some(data), Some(crc)) = (self.data, self.crc) else {
            return false;
        };
        let mut h = crc32fast::Hasher::new();
        h.update(&self.kind);
        h.update(data);
        h.finalize() == crc
    }

    /// The whole chunk arrived: its data and its CRC.
    fn complete(&self) -> bool {
        self.data.is_some() && self.crc.is_some()
    }

    fn name(&self) -> String {
        String::from_utf8_lossy(&self.kind).into_owned()
    }
}

/// Every chunk of a PNG in order, through `IEND`. Stops early at a file cut off inside a
/// chunk header.
pub(in crate::image) fn all_chunks(bytes: &[u8]) -> impl Iterator<Item = Chunk<'_>> {
    let mut at = Some(8usize);
    std::iter::from_fn(move || {
        let i = at?;
        let head = bytes.get(i..i.checked_add(8)?)?;
        let kind = [head[4], head[5], head[6], head[7]];
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let start = i + 8;
        let end = start.checked_add(len);
        // Data, then a 4-byte CRC.
        let next = end.and_then(|e| e.checked_add(4));
        at = next.filter(|_| &kind != b"IEND");
        let crc = end
            .and_then(|e| bytes.get(e..e + 4))
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
        Some(Chunk {
            kind,
            len,
            data: end.and_then(|e| bytes.get(start..e)),
            span: (i, next.unwrap_or(usize::MAX).min(bytes.len())),
            crc,
        })
    })
}

/// Chunk names with why each was dropped, for one warning: repeats counted, at most
/// `Names::MOST` different ones listed (a flood of a million bad chunks is one short line).
#[derive(Debug, Default)]
struct Names {
    listed: Vec<(String, u64)>,
    more: u64,
}

impl Names {
    const MOST: usize = 12;

    fn push(&mut self, name: String) {
        if let Some(entry) = self.listed.iter_mut().find(|(n, _)| *n == name) {
            entry.1 += 1;
        } else if self.listed.len() < Self::MOST {
            self.listed.push((name, 1));
        } else {
            self.more += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    fn said(&self) -> String {
        let mut parts: Vec<String> = self
            .listed
            .iter()
            .map(|(n, k)| match k {
                1 => n.clone(),
                _ => format!("{n} ×{k}"),
            })
            .collect();
        if self.more > 0 {
            parts.push(format!("{} more", self.more));
        }
        parts.join(", ")
    }
}

/// The colour type of a PNG's `IHDR` (0 gray, 2 RGB, 3 indexed, 4 gray + alpha, 6 RGBA) and
/// its bit depth, when the first chunk is a whole `IHDR`.
fn ihdr(bytes: &[u8]) -> Option<(u8, u8)> {
    let first = all_chunks(bytes).next()?;
    let data = first
        .data
        .filter(|d| &first.kind == b"IHDR" && d.len() == 13)?;
    Some((data[9], data[8]))
}

/// A damaged but complete PNG made readable for the decoder (PRODUCT.md "Real-world inputs"),
/// with a warning saying what was done; `None` when nothing needs doing. Dropped: ancillary
/// chunks with a bad CRC, a malformed or out-of-place `PLTE` in an image without a palette
/// (libpng ignores it: optional in truecolour, not allowed in gray). A file that ends without
/// `IEND` ends after its last whole chunk, with an `IEND` added: whether its image data is
/// complete is the decoder's to say (missing rows are refused). Critical chunks with a bad CRC
/// are left for the decoder to refuse.
pub(in crate::image) fn repair(bytes: &[u8]) -> Option<(Vec<u8>, String)> {
    let colour_type = ihdr(bytes).map(|(t, _)| t);
    let mut dropped = Names::default();
    let mut cuts = Vec::new();
    let mut end = None;
    let mut last = 8;
    for c in all_chunks(bytes) {
        if !c.complete() {
            break;
        }
        last = c.span.1;
        if &c.kind == b"IEND" {
            end = Some(c.span.1);
            break;
        }
        let bad_crc = c.ancillary() && !c.crc_ok();
        let stray_palette = &c.kind == b"PLTE"
            && colour_type.is_some_and(|t| t != 3)
            && (colour_type.is_some_and(|t| t & 2 == 0) || !palette_length_ok(c.len));
        if bad_crc || stray_palette {
            let why = if bad_crc { "bad CRC" } else { "ignored" };
            dropped.push(format!("{} ({why})", c.name()));
            cuts.push(c.span);
        }
    }
    if dropped.is_empty() && end.is_some() {
        return None;
    }
    let mut fixed = Vec::with_capacity(bytes.len() + 12);
    let mut from = 0;
    for (start, stop) in cuts {
        fixed.extend_from_slice(&bytes[from..start]);
        from = stop;
    }
    fixed.extend_from_slice(&bytes[from..end.unwrap_or(last)]);
    let mut said = Vec::new();
    if !dropped.is_empty() {
        said.push(format!("PNG chunk(s) dropped: {}", dropped.said()));
    }
    if end.is_none() {
        write_chunk(&mut fixed, b"IEND", &[]);
        said.push(format!(
            "PNG has no IEND chunk; read as ending after its last whole chunk ({} bytes after \
             it ignored)",
            bytes.len() - last
        ));
    }
    Some((fixed, said.join("; ")))
}

/// A `PLTE` chunk's length libpng accepts: 1 to 256 entries of 3 bytes (PNG spec 11.2.3).
pub(in crate::image) fn palette_length_ok(len: usize) -> bool {
    len > 0 && len <= 768 && len.is_multiple_of(3)
}

/// Where a chunk stands among the others, for the ordering rules of PNG spec 5.6.
#[derive(Debug, Default)]
pub(in crate::image) struct Place {
    /// `PLTE` has been seen.
    pub palette: bool,
    /// The image data has started (`IDAT`).
    pub image_data: bool,
    /// Chunk types already kept, for the ones that may appear once.
    seen: Vec<[u8; 4]>,
}

/// Why a whitelisted ancillary chunk cannot be kept (PNG spec 3rd ed. 11.3 for its length and
/// values, 5.6 for its place; libpng ignores such a chunk), `None` when it can; not whether it
/// is whitelisted. `(colour type, bit depth)` from `IHDR`; `palette_entries` the `PLTE`'s.
pub(in crate::image) fn unfit(
    kind: &[u8; 4],
    data: &[u8],
    place: &Place,
    (colour_type, bit_depth): (u8, u8),
    palette_entries: usize,
) -> Option<String> {
    let n = data.len();
    let before_palette = matches!(
        kind,
        b"iCCP" | b"sRGB" | b"gAMA" | b"cHRM" | b"cICP" | b"sBIT"
    );
    if place.seen.contains(kind) {
        return Some("a second one".into());
    }
    if place.image_data || (before_palette && place.palette) {
        return Some("out of place".into());
    }
    let sbit = match colour_type {
        0 => 1,
        4 => 2,
        6 => 4,
        _ => 3,
    };
    let fits = match kind {
        b"sRGB" => n == 1 && data[0] <= 3,
        b"gAMA" => n == 4 && data != [0, 0, 0, 0],
        b"cHRM" => n == 32,
        // ITU-T H.273: matrix coefficients 0 (RGB) for PNG; full range or narrow.
        b"cICP" => n == 4 && data[2] == 0 && data[3] <= 1,
        b"sBIT" => {
            let most = if colour_type == 3 { 8 } else { bit_depth };
            n == sbit && data.iter().all(|&b| b >= 1 && b <= most)
        }
        b"pHYs" => n == 9 && data[8] <= 1,
        b"tRNS" => match colour_type {
            0 => n == 2,
            2 => n == 6,
            3 => place.palette && n >= 1 && n <= palette_entries,
            _ => false,
        },
        b"acTL" => n == 8 && data[..4] != [0, 0, 0, 0],
        b"PLTE" => colour_type & 2 != 0 && palette_length_ok(n),
        _ => true,
    };
    (!fits).then(|| format!("{n} bytes"))
}

impl Place {
    /// Notes that `kind` was kept.
    pub fn keep(&mut self, kind: &[u8; 4]) {
        match kind {
            b"PLTE" => self.palette = true,
            b"IDAT" => self.image_data = true,
            _ => {}
        }
        self.seen.push(*kind);
    }
}

/// The chunk types the `original` keeps (PRODUCT.md "What the `original` keeps"), with
/// `IDAT`, `IEND` and the APNG frames handled on their own.
const KEPT: [&[u8; 4]; 10] = [
    b"PLTE", b"tRNS", b"iCCP", b"sRGB", b"gAMA", b"cHRM", b"cICP", b"sBIT", b"pHYs", b"acTL",
];

/// The largest `IDAT` chunk the `original` writes (bytes): its image data in a few chunks,
/// however many the input had (one file came as 189,000 chunks of one byte).
const IDAT_CHUNK: usize = 1 << 20;

/// The metadata-free `original` of a PNG (the repaired source): `IHDR`, the whitelisted
/// chunks before the image data (palette, transparency, colour, `sBIT`, `pHYs`, `acTL`; the
/// `iCCP` profile only when `keep_icc`: the probe read it), `exif` (a TIFF block) as an
/// `eXIf` chunk, the image data re-chunked (the zlib stream byte for byte the same), the APNG
/// frames (`fcTL`, `fdAT`) and `IEND`. A whitelisted chunk that libpng would not take
/// (malformed, duplicated, out of place) is dropped and named in `warnings`; so is an unknown
/// critical chunk. Everything else is dropped silently.
pub(in crate::image) fn strip(
    bytes: &[u8],
    exif: Option<&[u8]>,
    keep_icc: bool,
    warnings: &mut Vec<String>,
) -> Vec<u8> {
    let header = ihdr(bytes).unwrap_or((2, 8));
    let mut place = Place::default();
    let mut entries = 0;
    // Kept before the image data, the image data, and the frames after it.
    let (mut before, mut idat, mut after) = (Vec::new(), Vec::new(), Vec::new());
    let mut dropped = Names::default();
    for (i, c) in all_chunks(bytes).enumerate() {
        let Some(data) = c.data.filter(|_| c.complete()) else {
            break;
        };
        let kind = &c.kind;
        let list = if place.image_data {
            &mut after
        } else {
            &mut before
        };
        match kind {
            b"IHDR" if i == 0 => list.push((c.kind, data)),
            b"IHDR" => dropped.push("IHDR (a second one)".to_string()),
            b"IDAT" => {
                place.image_data = true;
                idat.extend_from_slice(data);
            }
            b"IEND" => break,
            b"fcTL" | b"fdAT" => list.push((c.kind, data)),
            b"iCCP" if !keep_icc => {}
            _ if KEPT.contains(&kind) => match unfit(kind, data, &place, header, entries) {
                Some(why) => dropped.push(format!("{} ({why})", c.name())),
                None => {
                    place.keep(kind);
                    if kind == b"PLTE" {
                        entries = data.len() / 3;
                    }
                    list.push((c.kind, data));
                }
            },
            _ if !c.ancillary() => dropped.push(format!("{} (not a known chunk)", c.name())),
            _ => {}
        }
    }
    keep_animation(&mut before, &mut after, &mut dropped);
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..8]);
    for (kind, data) in &before {
        write_chunk(&mut out, kind, data);
    }
    if let Some(tiff) = exif {
        write_chunk(&mut out, b"eXIf", tiff);
    }
    for part in idat.chunks(IDAT_CHUNK) {
        write_chunk(&mut out, b"IDAT", part);
    }
    for (kind, data) in &after {
        write_chunk(&mut out, kind, data);
    }
    write_chunk(&mut out, b"IEND", &[]);
    if !dropped.is_empty() {
        warnings.push(format!(
            "PNG chunk(s) left out of the original: {}",
            dropped.said()
        ));
    }
    out
}

/// Chunks to write (type, data).
type Kept<'a> = Vec<([u8; 4], &'a [u8])>;

/// The APNG chunks kept only as a whole (APNG spec): without `acTL` the frame chunks mean
/// nothing and go; a frame control chunk of the wrong length (26 bytes) or a frame data chunk
/// without its sequence number makes the animation unreadable, so then all of it goes (the
/// file shows its still image) and `dropped` says why.
fn keep_animation(before: &mut Kept<'_>, after: &mut Kept<'_>, dropped: &mut Names) {
    let frame = |k: &[u8; 4]| matches!(k, b"fcTL" | b"fdAT" | b"acTL");
    let animated = before.iter().any(|(k, _)| k == b"acTL");
    let bad = before
        .iter()
        .chain(after.iter())
        .find(|(kind, data)| match kind {
            b"fcTL" => data.len() != 26,
            b"fdAT" => data.len() < 4,
            _ => false,
        });
    if let (true, Some((kind, data))) = (animated, bad) {
        dropped.push(format!(
            "{} ({} bytes: the animation)",
            String::from_utf8_lossy(kind),
            data.len()
        ));
    }
    if !animated || bad.is_some() {
        before.retain(|(k, _)| !frame(k));
        after.retain(|(k, _)| !frame(k));
    }
}

/// Appends a chunk: length, type, data, CRC of type and data (PNG spec 5.3).
pub(in crate::image) fn write_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut h = crc32fast::Hasher::new();
    h.update(kind);
    h.update(data);
    out.extend_from_slice(&h.finalize().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG of `chunks` (type, data) after the signature.
    fn png(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in chunks {
            write_chunk(&mut out, kind, data);
        }
        out
    }

    fn kinds(bytes: &[u8]) -> Vec<String> {
        all_chunks(bytes).map(|c| c.name()).collect()
    }

    const RGB: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 4, 8, 2, 0, 0, 0];

    #[test]
    fn whitelisted_chunks_are_checked_as_libpng_checks_them() {
        let place = Place::default();
        let rgb = (2, 8);
        assert_eq!(unfit(b"sRGB", &[0], &place, rgb, 0), None);
        assert_eq!(unfit(b"sRGB", &[], &place, rgb, 0), Some("0 bytes".into()));
        assert_eq!(unfit(b"sRGB", &[4], &place, rgb, 0), Some("1 bytes".into()));
        assert_eq!(
            unfit(b"cHRM", &[1; 31], &place, rgb, 0),
            Some("31 bytes".into())
        );
        assert_eq!(
            unfit(b"pHYs", &[0; 8], &place, rgb, 0),
            Some("8 bytes".into())
        );
        assert_eq!(
            unfit(b"cICP", &[1, 13, 1, 1], &place, rgb, 0),
            Some("4 bytes".into())
        );
        assert_eq!(
            unfit(b"sBIT", &[8, 8, 9], &place, rgb, 0),
            Some("3 bytes".into())
        );
        assert_eq!(unfit(b"tRNS", &[0; 6], &place, rgb, 0), None);
        assert_eq!(
            unfit(b"tRNS", &[0; 2], &place, (6, 8), 0),
            Some("2 bytes".into())
        );
        assert_eq!(
            unfit(b"PLTE", &[0; 771], &place, rgb, 0),
            Some("771 bytes".into())
        );
        let mut after = Place::default();
        after.keep(b"gAMA");
        after.keep(b"PLTE");
        assert_eq!(
            unfit(b"gAMA", &[0, 1, 0, 0], &after, rgb, 0),
            Some("a second one".into())
        );
        assert_eq!(
            unfit(b"cHRM", &[0; 32], &after, rgb, 0),
            Some("out of place".into())
        );
        assert_eq!(
            unfit(b"tRNS", &[0; 2], &after, (3, 8), 1),
            Some("2 bytes".into())
        );
        after.keep(b"IDAT");
        assert_eq!(
            unfit(b"pHYs", &[0; 9], &after, rgb, 0),
            Some("out of place".into())
        );
    }

    #[test]
    fn the_original_has_its_image_data_in_few_chunks_and_the_whitelist_only() {
        let stream: Vec<u8> = (0..(IDAT_CHUNK * 2 + 10)).map(|i| i as u8).collect();
        let mut chunks: Vec<(&[u8; 4], &[u8])> = vec![(b"IHDR", RGB), (b"tEXt", b"a\0b")];
        chunks.push((b"sRGB", &[]));
        chunks.push((b"gAMA", &[0, 0, 177, 143]));
        // A flood of a kept type: one short warning, however many.
        chunks.extend(std::iter::repeat_n((b"gAMA", &[0u8, 1, 0, 0][..]), 5000));
        chunks.extend(stream.chunks(1000).map(|c| (b"IDAT", c)));
        chunks.push((b"tIME", &[0; 7]));
        chunks.push((b"IEND", &[]));
        let mut warnings = Vec::new();
        let out = strip(&png(&chunks), Some(b"MM\0*"), false, &mut warnings);
        assert_eq!(
            kinds(&out),
            ["IHDR", "gAMA", "eXIf", "IDAT", "IDAT", "IDAT", "IEND"]
        );
        let data: Vec<u8> = all_chunks(&out)
            .filter(|c| &c.kind == b"IDAT")
            .flat_map(|c| c.data.unwrap().to_vec())
            .collect();
        assert!(data == stream, "the zlib stream byte for byte");
        assert!(all_chunks(&out).all(|c| c.crc_ok()));
        assert_eq!(
            warnings,
            ["PNG chunk(s) left out of the original: sRGB (0 bytes), gAMA (a second one) ×5000"]
        );
    }

    #[test]
    fn a_missing_iend_and_a_stray_palette_are_repaired() {
        let whole = png(&[(b"IHDR", RGB), (b"PLTE", &[]), (b"IDAT", &[1, 2, 3])]);
        let (fixed, warning) = repair(&whole).unwrap();
        assert_eq!(kinds(&fixed), ["IHDR", "IDAT", "IEND"]);
        assert!(
            warning.contains("PLTE (ignored)") && warning.contains("no IEND"),
            "{warning}"
        );
        // Cut inside a chunk: what follows the last whole chunk goes.
        let (cut, _) = repair(&whole[..whole.len() - 3]).unwrap();
        assert_eq!(kinds(&cut), ["IHDR", "IEND"]);
        let fine = png(&[(b"IHDR", RGB), (b"IDAT", &[1]), (b"IEND", &[])]);
        assert!(repair(&fine).is_none());
    }

    #[test]
    fn an_animation_is_kept_whole_or_not_at_all() {
        let fctl = [0u8; 26];
        let idat: &[u8] = &[1, 2];
        let chunks: Vec<(&[u8; 4], &[u8])> = vec![
            (b"IHDR", RGB),
            (b"acTL", &[0, 0, 0, 1, 0, 0, 0, 0]),
            (b"fcTL", &fctl),
            (b"IDAT", idat),
            (b"fcTL", &fctl[..25]),
            (b"fdAT", &[0, 0, 0, 2, 9]),
            (b"IEND", &[]),
        ];
        let mut warnings = Vec::new();
        let out = strip(&png(&chunks), None, false, &mut warnings);
        assert_eq!(kinds(&out), ["IHDR", "IDAT", "IEND"]);
        assert!(
            warnings[0].contains("fcTL (25 bytes: the animation)"),
            "{warnings:?}"
        );
        let mut good = chunks.clone();
        good[4] = (b"fcTL", &fctl);
        let out = strip(&png(&good), None, false, &mut Vec::new());
        assert_eq!(
            kinds(&out),
            ["IHDR", "acTL", "fcTL", "IDAT", "fcTL", "fdAT", "IEND"]
        );
    }
}
