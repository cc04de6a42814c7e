//! JPEG decoding through mozjpeg (libjpeg-turbo's SIMD decoder): the header read once at
//! probe time (the decoder then kept open), then decoded at the smallest DCT scale that still
//! reaches the largest variant — the format's own reduced-size decode: the inverse DCT makes
//! 1/2, 1/4 or 1/8 of the size directly, so a 20 MP photo whose largest variant is 2400 px is
//! decoded to 5 MP (libvips under sharp does the same) — and resized to the largest variant as
//! its rows arrive (`bands::window`). CMYK and YCCK come out as sRGB through their profile.
//!
//! Warnings that mean the pixel data is damaged (truncated file, bad Huffman code) fail the
//! decode, as sharp's default `failOn: 'warning'` does, instead of handing the CDN a picture
//! half filled with grey.

use std::io::Cursor;

use image::{ColorType, DynamicImage, RgbImage};
use mozjpeg::Decompress;

use super::along::{EncodeAlong, EncodedAlong, EncodingAlong};
use super::libjpeg::{error_mgr, guard, too_many_scans, warning_text, Tally, MAX_SCANS, TALLY};
use super::markers;
use crate::image::bands::window::{scanlines, short};
use crate::image::codecs::count;
use crate::image::codecs::source::Source;
use crate::image::codecs::ColourModel;
use crate::image::error::{invalid, ImageError};
use crate::image::pixels::colour::cmyk_to_srgb;

/// What the header says.
pub(in crate::image) struct Header {
    pub width: u32,
    pub height: u32,
    /// EXIF orientation, 1–8.
    pub orientation: image::metadata::Orientation,
    /// The ICC profile, reassembled from its APP2 chunks.
    pub icc: Option<Vec<u8>>,
    /// Progressive files only: the bytes libjpeg holds for the whole image's DCT coefficients
    /// (2 per sample) until the last scan is read.
    pub coefficient_bytes: Option<u64>,
    /// A progressive (SOF2/6/10/14) frame.
    pub progressive: bool,
    /// The colour space of the stored samples, as libjpeg reads it (JFIF, Adobe, component
    /// count).
    pub colour_model: ColourModel,
    /// What a person should know about the header (a damaged profile dropped).
    pub warnings: Vec<String>,
}

/// A JPEG whose header libjpeg has read, ready to decode.
pub(in crate::image) struct Decoder<'a> {
    pub(super) decompress: Decompress<Cursor<Source<'a>>>,
    /// The frame is progressive (its rows come from coefficients held in memory).
    pub(super) progressive: bool,
    /// What libjpeg's messages said while reading the header.
    pub(super) tally: Tally,
}

/// libjpeg over `source`, its header read, saving no marker segment (`markers` reads them).
pub(super) fn open_decompress<'a>(
    source: &Source<'a>,
) -> Result<Decompress<Cursor<Source<'a>>>, ImageError> {
    count::header_read("libjpeg");
    Decompress::builder()
        .with_err(error_mgr())
        .from_reader(source.reader())
        .map_err(invalid)
}

/// Reads the header (dimensions, orientation, profile), keeping the decoder open for `decode`.
/// A coding libjpeg is not built for (arithmetic, lossless, 12-bit) is `Unsupported`, named;
/// a file with more than `MAX_SCANS` scans is `Invalid`, before anything is decoded.
pub(in crate::image) fn open<'a>(source: &Source<'a>) -> Result<(Decoder<'a>, Header), ImageError> {
    let layout = markers::layout(source);
    if let Some(coding) = layout.frame.and_then(unsupported_coding) {
        return Err(ImageError::Unsupported(format!(
            "{coding} JPEG (only baseline and progressive Huffman-coded 8-bit JPEG is decoded)"
        )));
    }
    if layout.scans > MAX_SCANS {
        return Err(invalid(too_many_scans(Some(layout.scans))));
    }
    guard(invalid, || {
        TALLY.with(|t| t.take());
        let decompress = open_decompress(source)?;
        let header = header_of(&decompress, layout)?;
        let decoder = Decoder {
            decompress,
            progressive: header.progressive,
            tally: TALLY.with(|t| t.take()),
        };
        Ok((decoder, header))
    })
}

/// The coding this build of libjpeg does not decode, by name (ITU T.81 Table B.1), for
/// PRODUCT.md's `unsupported_format`, from the first frame header's marker and sample
/// precision; `None` for Huffman-coded 8-bit files.
fn unsupported_coding((marker, precision): (u8, u8)) -> Option<String> {
    match marker {
        0xC3 | 0xC7 | 0xCB | 0xCF => Some("lossless".into()),
        0xC9..=0xCF => Some("arithmetic-coded".into()),
        _ if precision != 8 => Some(format!("{precision}-bit")),
        _ => None,
    }
}

/// The header: libjpeg's dimensions and colour space, the marker walk's frame, orientation
/// and profile (libjpeg saves no marker).
pub(super) fn header_of(
    d: &Decompress<Cursor<Source<'_>>>,
    layout: markers::Layout<'_>,
) -> Result<Header, ImageError> {
    let (w, h) = d.size();
    let (Ok(width), Ok(height)) = (u32::try_from(w), u32::try_from(h)) else {
        return Err(invalid("dimensions out of range"));
    };
    let progressive = layout.frame.is_some_and(|(m, _)| markers::progressive(m));
    let coefficient_bytes = progressive.then(|| {
        d.components()
            .iter()
            .map(|c| u64::from(c.width_in_blocks) * u64::from(c.height_in_blocks) * 128)
            .sum()
    });
    let colour_model = match d.color_space() {
        mozjpeg_sys::J_COLOR_SPACE::JCS_GRAYSCALE => ColourModel::Gray,
        mozjpeg_sys::J_COLOR_SPACE::JCS_CMYK => ColourModel::Cmyk,
        mozjpeg_sys::J_COLOR_SPACE::JCS_YCCK => ColourModel::Ycck,
        mozjpeg_sys::J_COLOR_SPACE::JCS_RGB => ColourModel::Rgb,
        _ => ColourModel::YCbCr,
    };
    let chunks = layout.icc_chunks.len();
    let icc = markers::assemble_icc(layout.icc_chunks);
    let warnings = match (chunks, &icc) {
        (1.., None) => vec![format!(
            "colour profile dropped: its {chunks} APP2 chunk(s) do not make a whole profile"
        )],
        _ => Vec::new(),
    };
    Ok(Header {
        width,
        height,
        orientation: layout.orientation,
        icc,
        coefficient_bytes,
        progressive,
        colour_model,
        warnings,
    })
}

/// A progressive JPEG is decoded from all its coefficients at once (2 bytes per sample, kept
/// until the last scan): 805 MB for a 268 MP 4:2:0 photo, 1.6 GB for 4:4:4. With the pixels
/// and variants on top, more than 1 GiB would not fit a 2 GiB machine.
const MAX_COEFFICIENT_BYTES: u64 = 1024 * 1024 * 1024;

/// For a progressive file, the coefficient memory libjpeg will need, checked before any
/// decoding.
pub(in crate::image) fn check_budget(h: &Header) -> Result<(), ImageError> {
    if let Some(need) = h.coefficient_bytes.filter(|&b| b > MAX_COEFFICIENT_BYTES) {
        return Err(ImageError::TooLarge(format!(
            "{}x{} progressive JPEG needs {} MiB for its DCT coefficients while decoding, over \
             the {} MiB budget",
            h.width,
            h.height,
            need >> 20,
            MAX_COEFFICIENT_BYTES >> 20
        )));
    }
    Ok(())
}

/// The smallest DCT scale n/8 (n in 1, 2, 4, 8) whose output's longest side reaches
/// `min_long_side` (the largest variant's): libjpeg's reduced inverse DCT skips the work for
/// the coefficients it drops, and the Lanczos pass after it then has 1–2× left to do.
///
/// Decided by measurement (`bench/dct_scale.py` on the bench photos, `large` at quality 80 and
/// its SSIM to a Lanczos3 downscale of the full-size decode):
/// - n = 4 for the 5312 px seeding photo: SSIM 0.9731 against 0.9746 at full scale (−0.0015,
///   a tenth of what the JPEG encode itself costs), 2 % fewer bytes, the whole decode in 0.6×
///   the time. sharp makes the same choice (libvips shrink-on-load, `fastShrinkOnLoad`).
/// - 3/8, 5/8, 6/8 and 7/8 are never used: libjpeg-turbo has SIMD inverse DCTs only for 1/8, 2/8,
///   4/8 and 8/8, and `djpeg` at 5/8–7/8 was 1.0–1.6× its time at 8/8, with SSIM no better
///   than the next smaller power of two.
pub(super) fn scale_for(width: u32, height: u32, min_long_side: u32) -> u8 {
    let long = u64::from(width.max(height));
    [1u8, 2, 4]
        .into_iter()
        .find(|&n| (long * u64::from(n)).div_ceil(8) >= u64::from(min_long_side))
        .unwrap_or(8)
}

/// What `decode` hands back.
pub(in crate::image) struct Picture {
    /// The pixels (8-bit gray or RGB; CMYK converted to sRGB), resized to `to` when `resized`,
    /// otherwise at the DCT-scaled size.
    pub image: DynamicImage,
    pub resized: bool,
    /// With `along`: `image` and the next size, encoded as they were made.
    pub encoded: Option<EncodedAlong>,
    /// Bytes libjpeg skipped at the end of scans' data (scan number from 1, bytes), for the
    /// `original` (`markers::trim_scan_junk`).
    pub scan_junk: Vec<(u32, u32)>,
}

/// Decodes at the smallest DCT scale that leaves at least `min_long_side` pixels on the
/// longest side (orientation not applied).
///
/// With `to` (a size in the stored orientation), gray and RGB pixels come back resized to it
/// (`resized`): a second thread resizes the rows while the rest are still being decoded, and
/// with `along` it also encodes the resized rows as they are made, and the next size
/// (`along.rs`). A progressive file's last pass (inverse DCT, colour conversion) and a baseline
/// file's whole decode then overlap the resize and the encodes. CMYK and YCCK come back as
/// sRGB at the decoded size, converted through `icc` (the file's profile) by
/// `colour::cmyk_to_srgb`, whose warning, if any, is pushed to `warnings`. Errors: `Invalid`
/// for damaged data or more than `MAX_SCANS` scans.
pub(in crate::image) fn decode(
    decoder: Decoder<'_>,
    icc: Option<&[u8]>,
    min_long_side: u32,
    to: Option<(u32, u32)>,
    along: Option<EncodeAlong<'_>>,
    warnings: &mut Vec<String>,
) -> Result<Picture, ImageError> {
    guard(invalid, || {
        decode_scaled(decoder, icc, min_long_side, to, along, warnings)
    })
}

/// A JPEG `original` (made from the scans libjpeg just decoded) without the bytes that end
/// some scans' entropy-coded data but are not part of it: `junk` (scan number from 1, bytes)
/// as libjpeg reported skipping them, or, when `repaired` (its end-of-image marker put back
/// after the last scan's data, which may end in a trailer's first bytes), none reported.
///
/// A reader loads up to 8 bytes past a scan's last coded bit into its bit buffer before it
/// stops at the marker, and reports only the bytes it skips after them ("N extraneous bytes
/// before marker", a warning djpeg prints): how many it loads differs between builds of
/// libjpeg-turbo (Debian's djpeg counted 3 where ours counted 7). So the last such scan is
/// cut at its last coded byte exactly: the most of those few bytes that can go without the
/// scan running short (libjpeg's "premature end of data segment"), found by decoding at 1/8
/// scale one to four times. Other scans lose what libjpeg reported.
pub(in crate::image) fn without_scan_junk(
    original: Vec<u8>,
    junk: &[(u32, u32)],
    repaired: bool,
) -> Vec<u8> {
    if junk.is_empty() && !repaired {
        return original;
    }
    let trimmed = markers::trim_scan_junk(original, junk);
    let last = junk
        .last()
        .map_or_else(|| markers::layout(&trimmed).scans, |&(scan, _)| scan);
    let cut = |extra: u32| markers::trim_scan_junk(trimmed.clone(), &[(last, extra)]);
    let clean = |bytes: &[u8]| {
        let source = Source::Downloaded(bytes);
        let decoded = open(&source).and_then(|(decoder, h)| {
            decode(decoder, h.icc.as_deref(), 0, None, None, &mut Vec::new())
        });
        decoded.is_ok_and(|d| d.scan_junk.is_empty())
    };
    // Binary search for the most bytes that still decode cleanly (0 always does: libjpeg
    // just read it so, less what it skipped); most files lose none, told by one decode.
    if !clean(&cut(1)) {
        return trimmed;
    }
    let (mut lo, mut hi) = (1u32, 8u32);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if clean(&cut(mid)) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    cut(lo)
}

/// Gray (`P` = U8) or RGB (`P` = U8x3) rows read by `read`, resized to `to` while they arrive
/// and, with `along`, encoded as they are made (see `decode`); `progressive`: see `scanlines`.
fn rows_in_flight<P: fast_image_resize::PixelTrait>(
    size: (u32, u32),
    color: ColorType,
    to: Option<(u32, u32)>,
    progressive: bool,
    along: Option<EncodeAlong<'_>>,
    read: impl FnMut(&mut [u8]) -> Result<(), ImageError>,
) -> Result<Picture, ImageError> {
    let gray = color == ColorType::L8;
    let sink = along
        .zip(to)
        .map(|(along, to)| move || EncodingAlong::<P>::start(along, to, gray));
    let (image, sink) = scanlines::<P, _>(size, color, to, progressive, sink, read)?;
    let encoded = sink.map(EncodingAlong::finish).transpose()?;
    Ok(Picture {
        image,
        resized: to.is_some(),
        encoded,
        scan_junk: Vec::new(),
    })
}

fn decode_scaled(
    decoder: Decoder<'_>,
    icc: Option<&[u8]>,
    min_long_side: u32,
    to: Option<(u32, u32)>,
    along: Option<EncodeAlong<'_>>,
    warnings: &mut Vec<String>,
) -> Result<Picture, ImageError> {
    use fast_image_resize::pixels::{U8x3, U8};
    TALLY.with(|t| t.replace(decoder.tally));
    let progressive = decoder.progressive;
    let mut d = decoder.decompress;
    let (w, h) = d.size();
    let n = scale_for(w as u32, h as u32, min_long_side);
    d.scale(n);
    let mut out = match d.image().map_err(invalid)? {
        mozjpeg::Format::Gray(mut s) => {
            let size = (s.width() as u32, s.height() as u32);
            let out = rows_in_flight::<U8>(size, ColorType::L8, to, progressive, along, |rows| {
                s.read_scanlines_into(rows).map(drop).map_err(invalid)
            })?;
            s.finish().map_err(invalid)?;
            out
        }
        mozjpeg::Format::RGB(mut s) => {
            let size = (s.width() as u32, s.height() as u32);
            let out =
                rows_in_flight::<U8x3>(size, ColorType::Rgb8, to, progressive, along, |rows| {
                    s.read_scanlines_into(rows).map(drop).map_err(invalid)
                })?;
            s.finish().map_err(invalid)?;
            out
        }
        mozjpeg::Format::CMYK(mut s) => {
            let (w, h) = (s.width() as u32, s.height() as u32);
            let px = s.read_scanlines::<u8>().map_err(invalid)?;
            s.finish().map_err(invalid)?;
            let (rgb, warning) = cmyk_to_srgb(&px, icc);
            drop(px);
            warnings.extend(warning);
            let image = DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, rgb).ok_or_else(short)?);
            Picture {
                image,
                resized: false,
                encoded: None,
                scan_junk: Vec::new(),
            }
        }
    };
    let tally = TALLY.with(|t| t.take());
    if let Some(code) = tally.damage {
        return Err(invalid(format!(
            "damaged JPEG data (libjpeg warning {code}: {})",
            warning_text(code)
        )));
    }
    out.scan_junk = tally.scan_junk;
    Ok(out)
}
