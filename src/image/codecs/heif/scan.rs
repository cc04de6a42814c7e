//! What the file's boxes count, read before heic-rs's parser runs: the `meta` box's entry
//! counts (refused past a cap, so that no parse is quadratic in a file-controlled count), and
//! the sample count of an image sequence's track (`moov`), which item counts miss.

use heic_rs::boxes::{BoxHeader, BoxIter};

use crate::image::ImageError;

/// The most items, properties, associations or references a file may declare. A 200 MP
/// Samsung photo has 822 items (768 tiles); this allows a 256 MP image in 128 × 128 tiles
/// with a gain map. heic-rs looks items up by linear search (`Meta::item`,
/// `Properties::associations`), so a file at the cap costs about 16384² ≈ 2.7 × 10⁸ steps.
pub(super) const MAX_ITEMS: u64 = 16_384;

/// The most top-level boxes walked to find `meta` and `moov` (an encoder writes a handful).
const MAX_TOP_BOXES: usize = 4096;

/// The most boxes walked inside `moov` (a sequence has one or two tracks of ten boxes).
const MAX_MOOV_BOXES: usize = 4096;

fn invalid(what: impl std::fmt::Display) -> ImageError {
    ImageError::Invalid(format!("cannot decode: HEIF container: {what}"))
}

fn too_many(what: &str, n: u64) -> ImageError {
    ImageError::Invalid(format!(
        "HEIF file declares {n} {what}, over the {MAX_ITEMS} allowed"
    ))
}

/// The top-level boxes, at most `MAX_TOP_BOXES` of them; a box that does not parse ends the
/// walk (heic-rs reports it when it matters).
fn top_level(bytes: &[u8]) -> Result<Vec<BoxHeader<'_>>, ImageError> {
    let mut found = Vec::new();
    for b in BoxIter::new(bytes) {
        let Ok(b) = b else { break };
        if found.len() == MAX_TOP_BOXES {
            return Err(invalid(format!(
                "more than {MAX_TOP_BOXES} top-level boxes"
            )));
        }
        found.push(b);
    }
    Ok(found)
}

/// Refuses a `meta` box that declares more items, properties, associations or references
/// than `MAX_ITEMS`, reading only the counts (and walking `ipco` and `iref`, whose children
/// are not counted up front).
pub(super) fn check_counts(bytes: &[u8]) -> Result<(), ImageError> {
    let Some(meta) = top_level(bytes)?.into_iter().find(|b| b.is(b"meta")) else {
        return Ok(());
    };
    let body = meta.payload.get(4..).unwrap_or_default();
    for child in BoxIter::new(body) {
        let Ok(child) = child else { break };
        match &child.boxtype {
            b"iinf" => check(count_field(&child, 2, 4), "items (iinf)")?,
            b"iloc" => check(iloc_count(&child), "item locations (iloc)")?,
            b"iref" => check(children(child.payload.get(4..)), "item references (iref)")?,
            b"iprp" => {
                for p in BoxIter::new(child.payload) {
                    let Ok(p) = p else { break };
                    if p.is(b"ipco") {
                        check(children(Some(p.payload)), "item properties (ipco)")?;
                    } else if p.is(b"ipma") {
                        check(count_field(&p, 4, 4), "property associations (ipma)")?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn check(n: u64, what: &str) -> Result<(), ImageError> {
    if n > MAX_ITEMS {
        return Err(too_many(what, n));
    }
    Ok(())
}

/// A full box's entry count: `v0_len` bytes after version and flags in version 0, else
/// `v1_len` (iinf: 16 / 32 bits; ipma: 32 bits either way).
fn count_field(b: &BoxHeader<'_>, v0_len: usize, v1_len: usize) -> u64 {
    let p = b.payload;
    let len = if p.first() == Some(&0) {
        v0_len
    } else {
        v1_len
    };
    p.get(4..4 + len)
        .map_or(0, |f| f.iter().fold(0u64, |n, &x| n << 8 | u64::from(x)))
}

fn iloc_count(b: &BoxHeader<'_>) -> u64 {
    let p = b.payload;
    let (at, len) = if p.first().is_some_and(|&v| v >= 2) {
        (6, 4)
    } else {
        (6, 2)
    };
    p.get(at..at + len)
        .map_or(0, |f| f.iter().fold(0u64, |n, &x| n << 8 | u64::from(x)))
}

/// Child boxes in `payload`, counted up to one past the cap.
fn children(payload: Option<&[u8]>) -> u64 {
    let mut n = 0;
    for b in BoxIter::new(payload.unwrap_or_default()) {
        if b.is_err() || n > MAX_ITEMS {
            break;
        }
        n += 1;
    }
    n
}

/// The most samples of an image-sequence track (`moov/trak` whose handler is `pict` or
/// `vide`; an alpha track, `auxv`, is not counted): the frames of an `avis`/`msf1` file,
/// which its items do not show. `None` without such a track.
pub(super) fn track_samples(bytes: &[u8]) -> Result<Option<u64>, ImageError> {
    let Some(moov) = top_level(bytes)?.into_iter().find(|b| b.is(b"moov")) else {
        return Ok(None);
    };
    let mut walked = 0usize;
    let mut most = None;
    for trak in BoxIter::new(moov.payload) {
        let Ok(trak) = trak else { break };
        walked += 1;
        if walked > MAX_MOOV_BOXES {
            return Err(invalid(format!("more than {MAX_MOOV_BOXES} boxes in moov")));
        }
        if !trak.is(b"trak") {
            continue;
        }
        let Some(mdia) = child(trak.payload, b"mdia") else {
            continue;
        };
        let handler = child(mdia.payload, b"hdlr").and_then(|h| h.payload.get(8..12));
        if !matches!(handler, Some(b"pict" | b"vide")) {
            continue;
        }
        let stbl = child(mdia.payload, b"minf").and_then(|m| child(m.payload, b"stbl"));
        if let Some(n) = stbl.and_then(|s| sample_count(s.payload)) {
            most = Some(most.map_or(n, |m: u64| m.max(n)));
        }
    }
    Ok(most)
}

/// The first child of type `code` among the first `MAX_MOOV_BOXES` boxes of `payload`.
fn child<'a>(payload: &'a [u8], code: &[u8; 4]) -> Option<BoxHeader<'a>> {
    BoxIter::new(payload)
        .take(MAX_MOOV_BOXES)
        .map_while(Result::ok)
        .find(|b| b.is(code))
}

/// `stsz`/`stz2` `sample_count` (ISO/IEC 14496-12 8.7.3).
fn sample_count(stbl: &[u8]) -> Option<u64> {
    let b = child(stbl, b"stsz").or_else(|| child(stbl, b"stz2"))?;
    let f = b.payload.get(8..12)?;
    Some(u64::from(u32::from_be_bytes([f[0], f[1], f[2], f[3]])))
}
