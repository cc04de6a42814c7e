//! A JPEG's marker segments, walked once in linear time as libjpeg reads them (ITU T.81
//! Annex B; libjpeg's `jdmarker.c` leniency: fill bytes, bytes between segments skipped, an
//! APPn/COM length under 2 read as 2), and what the worker takes from them without libjpeg:
//! the frame's coding, the EXIF orientation and the ICC profile as browsers read them, the
//! scan count (`MAX_SCANS`), where the image data ends (the repair of a complete file whose
//! end-of-image marker is missing or damaged) and the metadata-free `original`, which keeps a
//! whitelist (PRODUCT.md "What the `original` keeps": JFIF without its thumbnail, the ICC
//! profile, Adobe APP14, a one-tag EXIF orientation).
//!
//! libjpeg is asked to save no marker: its saved-marker list is appended to by walking it from
//! the head (`save_marker` in `jdmarker.c`, libjpeg-turbo#764, fixed in libjpeg-turbo 3.0.4,
//! which no mozjpeg-sys release carries), so 150,000 empty APP1 segments took 58–90 s.

use std::ops::Range;

/// A piece of a JPEG after its SOI marker, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::image) enum Piece {
    /// A marker segment: its code, where its marker starts (the 0xFF), its payload (after the
    /// length field) and where it ends (for SOS, after its entropy-coded data).
    Segment {
        marker: u8,
        at: usize,
        body: Range<usize>,
        end: usize,
    },
    /// A marker without a payload outside entropy-coded data (RSTn, TEM).
    Bare { at: usize },
    /// Bytes that are no marker, which libjpeg skips with a warning ("extraneous bytes").
    Junk(Range<usize>),
    /// The end-of-image marker, at this offset: the walk ends.
    Eoi { at: usize },
    /// A marker libjpeg stops at (SOI, reserved codes) or a segment cut off by the end of the
    /// file: the walk ends, at this offset.
    Stop { at: usize },
}

const SOS: u8 = 0xDA;

/// Walks `b` (a JPEG: SOI first) piece by piece; ends with `Eoi`, `Stop`, or at the end of
/// the file after a complete piece.
pub(in crate::image) fn pieces(b: &[u8]) -> impl Iterator<Item = Piece> + '_ {
    let mut at = Some(2usize);
    std::iter::from_fn(move || {
        let i = at?;
        let (piece, next) = piece_at(b, i)?;
        at = next;
        Some(piece)
    })
}

/// The piece starting at `i`, and where the next one starts (`None`: the walk ends).
fn piece_at(b: &[u8], i: usize) -> Option<(Piece, Option<usize>)> {
    if i >= b.len() {
        return None;
    }
    // libjpeg's next_marker: anything but 0xFF is skipped, and so is a stuffed 0xFF 0x00.
    let Some(marker_at) = next_marker(b, i) else {
        return Some((Piece::Junk(i..b.len()), None));
    };
    if marker_at > i {
        return Some((Piece::Junk(i..marker_at), Some(marker_at)));
    }
    // Fill bytes: 0xFF repeated before the code.
    let mut k = i + 1;
    while b.get(k) == Some(&0xFF) {
        k += 1;
    }
    let Some(&code) = b.get(k) else {
        return Some((Piece::Stop { at: i }, None));
    };
    match code {
        0xD9 => return Some((Piece::Eoi { at: i }, None)),
        0x01 | 0xD0..=0xD7 => return Some((Piece::Bare { at: i }, Some(k + 1))),
        0xC0..=0xCF | 0xDA..=0xDD | 0xE0..=0xEF | 0xFE => {}
        _ => return Some((Piece::Stop { at: i }, None)),
    }
    let Some(len) = b.get(k + 1..k + 3) else {
        return Some((Piece::Stop { at: i }, None));
    };
    let len = usize::from(u16::from_be_bytes([len[0], len[1]])).max(2);
    let body = k + 3..k + 1 + len;
    if body.end > b.len() {
        return Some((Piece::Stop { at: i }, None));
    }
    let end = match code {
        SOS => scan_data_end(b, body.end),
        _ => body.end,
    };
    let segment = Piece::Segment {
        marker: code,
        at: i,
        body,
        end,
    };
    Some((segment, (end < b.len()).then_some(end)))
}

/// Where the next marker (0xFF then a code that is neither 0x00 nor 0xFF) starts at or after
/// `i`, as libjpeg's `next_marker` finds it; `None` at the end of the file.
fn next_marker(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        i += memchr::memchr(0xFF, b.get(i..)?)?;
        let mut k = i + 1;
        while b.get(k) == Some(&0xFF) {
            k += 1;
        }
        match b.get(k)? {
            0 => i = k + 1,
            _ => return Some(i),
        }
    }
}

/// Where the entropy-coded data starting at `i` ends: where the first marker other than a
/// stuffed byte (0xFF 0x00) or a restart marker starts (its first 0xFF, fill bytes included),
/// or at the end of the file. memchr: a 16 MB photo's scan data is passed over in about a
/// millisecond.
fn scan_data_end(b: &[u8], mut i: usize) -> usize {
    loop {
        let Some(ff) = b.get(i..).and_then(|rest| memchr::memchr(0xFF, rest)) else {
            return b.len();
        };
        let ff = i + ff;
        let mut k = ff + 1;
        while b.get(k) == Some(&0xFF) {
            k += 1;
        }
        match b.get(k) {
            None => return b.len(),
            Some(0 | 0xD0..=0xD7) => i = k + 1,
            Some(_) => return ff,
        }
    }
}

/// Where a JPEG's image data ends, as the walk finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::image) enum End {
    /// At its end-of-image marker (offset just past it); what follows is not the image's.
    Eoi(usize),
    /// A file with scans but no end-of-image marker where one belongs: its data ends here
    /// (the end of the file, or where a marker that cannot follow a scan starts: another
    /// image's SOI, a trailer's bytes, an EOI damaged into another code).
    Unterminated(usize),
    /// Neither (no scan at all): for libjpeg to refuse.
    Unknown,
}

/// The facts of the marker segments, from one walk.
#[derive(Debug)]
pub(in crate::image) struct Layout<'a> {
    /// The first frame header's marker (SOF0 baseline, SOF2 progressive…) and precision.
    pub frame: Option<(u8, u8)>,
    /// EXIF orientation as browsers read it: the first APP1 Exif before the first scan that
    /// gives one (none without).
    pub orientation: image::metadata::Orientation,
    /// The APP2 ICC_PROFILE chunks before the first scan (sequence number, count, data), at
    /// most `MAX_ICC_CHUNKS + 1` kept (more is a damaged profile anyway).
    pub icc_chunks: Vec<(u8, u8, &'a [u8])>,
    /// SOS segments in the whole file.
    pub scans: u32,
    pub end: Option<End>,
}

/// ICC.1 B.4: a profile in at most 255 APP2 chunks.
pub(in crate::image) const MAX_ICC_CHUNKS: usize = 255;

/// Walks `b` once for what the probe needs (`Layout`).
pub(in crate::image) fn layout(b: &[u8]) -> Layout<'_> {
    let mut l = Layout {
        frame: None,
        orientation: image::metadata::Orientation::NoTransforms,
        icc_chunks: Vec::new(),
        scans: 0,
        end: None,
    };
    // The end of the last piece that can belong to the image.
    let mut last_end = 2;
    for piece in pieces(b) {
        match piece {
            Piece::Segment {
                marker, body, end, ..
            } => {
                let data = &b[body];
                if l.scans > 0 && !after_scan(marker) {
                    l.end = Some(End::Unterminated(last_end));
                    return l;
                }
                read_segment(&mut l, marker, data);
                last_end = end;
            }
            Piece::Bare { .. } | Piece::Junk(_) => {}
            Piece::Eoi { at } => {
                l.end = Some(End::Eoi(at + 2));
                return l;
            }
            Piece::Stop { .. } => break,
        }
    }
    l.end = Some(match l.scans {
        0 => End::Unknown,
        _ => End::Unterminated(last_end),
    });
    l
}

/// The facts one segment gives (`layout`).
fn read_segment<'a>(l: &mut Layout<'a>, marker: u8, data: &'a [u8]) {
    let before_scans = l.scans == 0;
    match marker {
        0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) && l.frame.is_none() => {
            l.frame = data.first().map(|&precision| (marker, precision));
        }
        SOS => l.scans = l.scans.saturating_add(1),
        0xE1 if before_scans
            && l.orientation == image::metadata::Orientation::NoTransforms
            && data.starts_with(b"Exif\0\0") =>
        {
            l.orientation = crate::image::codecs::exif::orientation(data);
        }
        0xE2 if before_scans && l.icc_chunks.len() <= MAX_ICC_CHUNKS => {
            if let Some(rest) = data.strip_prefix(b"ICC_PROFILE\0") {
                if rest.len() > 2 {
                    l.icc_chunks.push((rest[0], rest[1], &rest[2..]));
                }
            }
        }
        _ => {}
    }
}

/// Whether a marker may follow a scan's data (tables, restart interval, the next scan, DNL,
/// application data, comments); any other code there (another frame, an SOI, a reserved code)
/// is not part of this image: libjpeg stops with an error.
fn after_scan(marker: u8) -> bool {
    matches!(marker, 0xC4 | 0xCC | 0xDA..=0xDD | 0xE0..=0xEF | 0xFE)
}

/// Chunks numbered 1..=count, each once; anything else is a damaged profile, dropped.
pub(in crate::image) fn assemble_icc(mut chunks: Vec<(u8, u8, &[u8])>) -> Option<Vec<u8>> {
    chunks.sort_by_key(|c| c.0);
    let count = chunks.first()?.1;
    let complete = usize::from(count) == chunks.len()
        && chunks
            .iter()
            .enumerate()
            .all(|(i, c)| usize::from(c.0) == i + 1 && c.1 == count);
    complete.then(|| chunks.iter().flat_map(|c| c.2.iter().copied()).collect())
}

/// The metadata-free `original` of `b`, a JPEG whose image data ends at an end-of-image marker
/// (the repaired source): SOI, a plain JFIF APP0 (its thumbnail, and any JFXX extension,
/// gone), `exif` (a TIFF block) as APP1 Exif, then the segments a decoder needs for the
/// pixels and their colours — tables, frame, restart interval, scans with their data, the ICC
/// profile's APP2 chunks before the first scan (when `keep_icc`: the probe assembled them),
/// the first Adobe APP14 — and EOI. Every other APPn segment, comments, stray markers, bytes
/// between segments and anything after the image data are left out. A JFIF or Adobe segment
/// too short to be one is dropped with a warning in `warnings`.
pub(in crate::image) fn strip(
    b: &[u8],
    exif: Option<&[u8]>,
    keep_icc: bool,
    warnings: &mut Vec<String>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    if let Some(jfif) = plain_jfif(b, warnings) {
        write_segment(&mut out, 0xE0, &jfif);
    }
    if let Some(tiff) = exif {
        write_segment(&mut out, 0xE1, &[&b"Exif\0\0"[..], tiff].concat());
    }
    let (mut scans, mut adobe, mut short_adobe) = (0u32, false, false);
    for piece in pieces(b) {
        let Piece::Segment {
            marker,
            at,
            body,
            end,
        } = piece
        else {
            if matches!(piece, Piece::Eoi { .. } | Piece::Stop { .. }) {
                break;
            }
            continue;
        };
        let data = &b[body];
        let keep = match marker {
            0xE2 => keep_icc && scans == 0 && data.starts_with(b"ICC_PROFILE\0"),
            0xEE if scans == 0 && !adobe && data.starts_with(b"Adobe") => {
                // Version, two flag words and the colour transform (libjpeg's APP14_DATA_LEN).
                adobe = data.len() >= 12;
                if !adobe && !short_adobe {
                    short_adobe = true;
                    warnings.push(format!(
                        "Adobe APP14 segment of {} bytes (12 needed) dropped from the original",
                        data.len()
                    ));
                }
                adobe
            }
            0xE0..=0xEF | 0xFE => false,
            _ => true,
        };
        scans += u32::from(marker == SOS);
        if keep {
            out.extend_from_slice(&b[at..end]);
        }
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// The first JFIF APP0 segment's payload before the first scan, without its thumbnail: the
/// identifier, version, density unit and densities, and a 0×0 thumbnail (JFIF 1.02).
fn plain_jfif(b: &[u8], warnings: &mut Vec<String>) -> Option<Vec<u8>> {
    for piece in pieces(b) {
        match piece {
            Piece::Segment {
                marker: 0xE0, body, ..
            } if b[body.clone()].starts_with(b"JFIF\0") => {
                let data = &b[body];
                if data.len() < 14 {
                    warnings.push(format!(
                        "JFIF APP0 segment of {} bytes (14 needed) dropped from the original",
                        data.len()
                    ));
                    return None;
                }
                return Some([&data[..12], &[0, 0]].concat());
            }
            Piece::Segment { marker: SOS, .. } | Piece::Eoi { .. } | Piece::Stop { .. } => {
                return None
            }
            _ => {}
        }
    }
    None
}

/// Appends a marker segment: 0xFF, `marker`, the length (payload + 2, big-endian), `payload`
/// (at most 65,533 bytes).
fn write_segment(out: &mut Vec<u8>, marker: u8, payload: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&(payload.len() as u16 + 2).to_be_bytes());
    out.extend_from_slice(payload);
}

/// `jpeg` without the bytes libjpeg skipped at the end of scans' entropy-coded data (`junk`:
/// scan number from 1, bytes; libjpeg's "extraneous bytes before marker" warning while
/// decoding the same scans): a trailer's first bytes taken into a repaired file's last scan,
/// garbage before a marker. What is left decodes the same, and without that warning.
pub(in crate::image) fn trim_scan_junk(jpeg: Vec<u8>, junk: &[(u32, u32)]) -> Vec<u8> {
    if junk.is_empty() {
        return jpeg;
    }
    let mut cuts = Vec::new();
    let mut scans = 0;
    for piece in pieces(&jpeg) {
        if let Piece::Segment {
            marker: SOS,
            body,
            end,
            ..
        } = piece
        {
            scans += 1;
            let n = junk
                .iter()
                .filter(|(k, _)| *k == scans)
                .map(|&(_, n)| n as usize)
                .sum::<usize>();
            if n > 0 && end - body.end >= n {
                cuts.push(end - n..end);
            }
        }
    }
    let mut out = Vec::with_capacity(jpeg.len());
    let mut from = 0;
    for cut in cuts {
        out.extend_from_slice(&jpeg[from..cut.start]);
        from = cut.end;
    }
    out.extend_from_slice(&jpeg[from..]);
    out
}

/// Whether a frame marker codes a progressive image (SOF2, 6, 10, 14).
pub(in crate::image) fn progressive(marker: u8) -> bool {
    matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE)
}

/// A sequential JPEG whose image data is all there but whose end-of-image marker is not where
/// it belongs (the file just stops; a trailer, another image or an EOI damaged into another
/// code follows the last scan): the bytes up to the end of the image data with an EOI marker
/// added, and a warning. `None` for a file with its EOI (what follows it is never read), for
/// a progressive file (a later scan may be missing, and nothing can tell: libjpeg reports the
/// early end and the file is refused) and for anything else. Missing rows are not made up:
/// libjpeg still finds the scan data short.
pub(in crate::image) fn repair(b: &[u8]) -> Option<(Vec<u8>, String)> {
    let l = layout(b);
    let Some(End::Unterminated(end)) = l.end else {
        return None;
    };
    if progressive(l.frame?.0) {
        return None;
    }
    let mut fixed = Vec::with_capacity(end + 2);
    fixed.extend_from_slice(&b[..end]);
    fixed.extend_from_slice(&[0xFF, 0xD9]);
    let ignored = b.len() - end;
    let warning = if ignored == 0 {
        "JPEG has no end-of-image marker; decoded as complete".to_string()
    } else {
        format!(
            "JPEG has no end-of-image marker where its image data ends; decoded as complete, \
             the {ignored} bytes after its image data ignored"
        )
    };
    Some((fixed, warning))
}
