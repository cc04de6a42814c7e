//! JPEG through mozjpeg (libjpeg-turbo's SIMD code): the header read once at probe time (the
//! decoder then kept open), DCT-scaled decoding (CMYK through its profile, `colour.rs`),
//! encoding with optimised Huffman tables, which segments the metadata-free original keeps,
//! and the repair of a complete file that lacks its end-of-image marker.
//!
//! Scaled decoding is the format's own reduced-size decode: the inverse DCT produces 1/2, 1/4 or
//! 1/8 of the size directly, so a 20 MP photo whose largest variant is 2400 px is decoded to
//! 5 MP, in a fraction of the time and memory. libvips (under sharp) does the same.
//!
//! libjpeg reports errors by unwinding (the `mozjpeg` crate's design); callers run this inside
//! `catch_unwind`. Warnings that mean the pixel data is damaged (truncated file, bad Huffman
//! code) fail the decode, as sharp's default `failOn: 'warning'` does, instead of handing the
//! CDN a picture half filled with grey.

// libjpeg's C API through mozjpeg-sys (each use has its SAFETY note).
#![allow(unsafe_code)]

use std::io::Cursor;
use std::os::raw::c_int;

use image::{ColorType, DynamicImage};
use mozjpeg::{ColorSpace, Decompress, Marker};
use mozjpeg_sys::jpeg_common_struct;

use crate::image::bands::queue::{Band, BandPool, QUEUED_BANDS};
use crate::image::bands::turn::Strips;
use crate::image::bands::window::{scanlines, short};
use crate::image::codecs::count;
use crate::image::codecs::source::Source;
use crate::image::error::{invalid, ImageError};
use crate::image::pixels::colour::cmyk_to_srgb;
use crate::image::pixels::resize::{Cascade, MadeBand};
use crate::image::probe::ColourModel;

pub(in crate::image) mod coefficients;
mod markers;
pub(in crate::image) use markers::{repair, strip};

/// What the header says.
pub(in crate::image) struct Header {
    pub width: u32,
    pub height: u32,
    /// EXIF orientation, 1–8.
    pub orientation: u8,
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
    decompress: Decompress<Cursor<Source<'a>>>,
    /// The frame is progressive (its rows come from coefficients held in memory).
    progressive: bool,
    /// What libjpeg's messages said while reading the header.
    tally: Tally,
}

/// The most scans a JPEG may have (SOS markers, progressive or not). Each scan of a
/// progressive file is a pass over the coefficients of the components it covers, however few
/// bytes it has: 100,001 scans of a 12 MP photo (2.6 MB) held the machine for 74 s. Encoders
/// write 1 to about 20 (libjpeg's progressive script 10, or 6 for gray; the most in the corpora
/// here is 11). libjpeg-turbo's `-maxscans` / `TJPARAM_SCANLIMIT` is the model (its fuzzers use
/// 500). Measured at `MAX_INPUT_PIXELS` (16383 × 16383, 4:2:0, `bench/floods.py`), an added
/// scan costs about 13 ms (20–30 ms while other builds ran): the file's own 10 scans decode in
/// 0.9 s, 100 scans in 2.1 s, 500 would take 7.5 s. So 100: five times what encoders write,
/// and seconds at the pixel limit.
pub(in crate::image) const MAX_SCANS: u32 = 100;

/// What libjpeg's messages said about the decode running on this thread (its error manager's
/// `emit_message`, which sees every trace message too).
#[derive(Debug, Default, Clone)]
struct Tally {
    /// The first damaged-data warning.
    damage: Option<c_int>,
    /// SOS markers read so far (libjpeg's `JTRC_SOS` trace): past `MAX_SCANS`, the decode
    /// stops.
    scans: u32,
    /// The last marker libjpeg read is an SOS: bytes it skips now end that scan's data.
    in_scan: bool,
    /// Bytes libjpeg skipped at the end of a scan's entropy-coded data (scan number from 1,
    /// bytes): `markers::trim_scan_junk` takes them out of the `original`.
    scan_junk: Vec<(u32, u32)>,
}

/// Scan ends with junk recorded at most (`Tally::scan_junk`); a file needs one per scan.
const MAX_SCAN_JUNK: usize = MAX_SCANS as usize;

thread_local! {
    /// The tally of the decode running on this thread.
    static TALLY: std::cell::RefCell<Tally> = std::cell::RefCell::new(Tally::default());
}

fn error_mgr() -> mozjpeg_sys::jpeg_error_mgr {
    // SAFETY: jpeg_std_error fills every field of a zeroed struct (plain C data).
    let mut err: mozjpeg_sys::jpeg_error_mgr = unsafe { std::mem::zeroed() };
    unsafe { mozjpeg_sys::jpeg_std_error(&mut err) };
    err.error_exit = Some(fatal);
    err.emit_message = Some(message);
    err
}

/// An encoder's error manager: `error_mgr`'s, and the hook that spares mozjpeg's unused copy
/// of the coefficients (`jpeg_coefficients`).
fn encoder_error_mgr() -> mozjpeg_sys::jpeg_error_mgr {
    let mut err = error_mgr();
    err.reset_error_mgr = Some(crate::image::codecs::jpeg::coefficients::reset_error_mgr);
    err
}

fn text(cinfo: &mut jpeg_common_struct) -> String {
    let mut buffer = [0u8; 80];
    // SAFETY: the error manager is the one `error_mgr` made; format_message writes at most
    // JMSG_LENGTH_MAX (80) bytes, NUL-terminated. The binding declares the buffer `&[u8; 80]`
    // though C writes into it, hence the pointer.
    unsafe {
        let err = &*cinfo.err;
        if let Some(format) = err.format_message {
            let format: unsafe extern "C-unwind" fn(&mut jpeg_common_struct, *mut [u8; 80]) =
                std::mem::transmute(format);
            format(cinfo, &mut buffer);
        }
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

extern "C-unwind" fn fatal(cinfo: &mut jpeg_common_struct) {
    // resume_unwind, not panic!: no panic hook, no "internal error" report for a bad file.
    std::panic::resume_unwind(Box::new(format!("libjpeg: {}", text(cinfo))));
}

/// libjpeg's messages: trace messages count the scans (and stop the decode past
/// `MAX_SCANS`, as TurboJPEG's scan limit does) and tell where a scan's data ends; warnings
/// that mean damaged data are kept (`Tally`).
extern "C-unwind" fn message(cinfo: &mut jpeg_common_struct, level: c_int) {
    use mozjpeg_sys as j;
    // SAFETY: cinfo.err points at the manager of this decode; msg_parm holds plain integers.
    let (code, parm) = unsafe {
        let err = &mut *cinfo.err;
        (err.msg_code, *err.msg_parm.i())
    };
    let over = TALLY.with(|t| {
        let mut t = t.borrow_mut();
        if level >= 0 {
            match code {
                j::JTRC_SOS => {
                    t.scans += 1;
                    t.in_scan = true;
                }
                j::JTRC_SOS_COMPONENT | j::JTRC_SOS_PARAMS | j::JTRC_RST => {}
                _ => t.in_scan = false,
            }
            return t.scans > MAX_SCANS;
        }
        let damaged = [
            j::JWRN_BOGUS_PROGRESSION,
            j::JWRN_HIT_MARKER,
            j::JWRN_HUFF_BAD_CODE,
            j::JWRN_JPEG_EOF,
            j::JWRN_MUST_RESYNC,
            j::JWRN_NOT_SEQUENTIAL,
        ];
        if damaged.contains(&code) && t.damage.is_none() {
            t.damage = Some(code);
        }
        let restart = (0xD0..=0xD7).contains(&parm[1]);
        if code == j::JWRN_EXTRANEOUS_DATA && t.in_scan && !restart {
            if t.scan_junk.len() < MAX_SCAN_JUNK {
                let (scan, bytes) = (t.scans, u32::try_from(parm[0]).unwrap_or(0));
                t.scan_junk.push((scan, bytes));
            }
            t.in_scan = false;
        }
        false
    });
    if over {
        std::panic::resume_unwind(Box::new(too_many_scans(None)));
    }
}

/// The refusal of a JPEG with more than `MAX_SCANS` scans: `scans` of them (the marker walk
/// counts them all), or at least one more (libjpeg stops at the first).
fn too_many_scans(scans: Option<u32>) -> String {
    let count = scans.map_or_else(|| format!("more than {MAX_SCANS}"), |n| n.to_string());
    format!(
        "too many scans: the JPEG has {count}, at most {MAX_SCANS} are decoded (encoders write \
         up to about 20)"
    )
}

/// Runs libjpeg code, turning its unwinding fatal errors into `err(message)`.
fn guard<T>(
    err: fn(String) -> ImageError,
    f: impl FnOnce() -> Result<T, ImageError>,
) -> Result<T, ImageError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let m = payload
            .downcast::<String>()
            .map_or_else(|_| "libjpeg failed".into(), |m| *m);
        Err(err(m))
    })
}

/// libjpeg over `source`, its header read, saving no marker segment (`markers` reads them).
fn open_decompress<'a>(source: &Source<'a>) -> Result<Decompress<Cursor<Source<'a>>>, ImageError> {
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
fn header_of(
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
fn scale_for(width: u32, height: u32, min_long_side: u32) -> u8 {
    let long = u64::from(width.max(height));
    [1u8, 2, 4]
        .into_iter()
        .find(|&n| (long * u64::from(n)).div_ceil(8) >= u64::from(min_long_side))
        .unwrap_or(8)
}

/// What `decode` hands back.
pub(in crate::image) struct Decoded {
    /// The pixels, resized to `to` when `resized`, otherwise at the DCT-scaled size; `None`
    /// when `RowsAlong` took them band by band: encoded (`Along`, unless it keeps them: its
    /// `window`) or split into `strips`.
    pub image: Option<DynamicImage>,
    pub resized: bool,
    /// With `RowsAlong::Encode`: `image` encoded as a JPEG while it was being resized, all but
    /// the encoder's last pass (`Encoding::finish`).
    pub encoded: Option<Encoding>,
    /// With `RowsAlong::Encode`'s `then`: that size, resized from `image` and encoded likewise.
    pub next: Option<(DynamicImage, Encoding)>,
    /// With `RowsAlong::Turn`: `image` (resized, as stored) in the strips that each turn into a
    /// band of the upright image.
    pub strips: Option<Strips>,
    /// Bytes libjpeg skipped at the end of scans' data (scan number from 1, bytes), for the
    /// `original` (`markers::trim_scan_junk`).
    pub scan_junk: Vec<(u32, u32)>,
}

/// What the resizing thread does with the resized rows as they are made (`decode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::image) enum RowsAlong<'a> {
    /// Encodes them, and makes and encodes the next size (an upright image: `Along`).
    Encode(EncodeAlong<'a>),
    /// Writes them into strips for turning upright by this EXIF orientation
    /// (`turning::Strips`).
    Turn(image::metadata::Orientation),
}

/// Decodes at the smallest DCT scale that leaves at least `min_long_side` pixels on the
/// longest side (orientation not applied). CMYK comes out as RGB.
///
/// With `to` (a size in the stored orientation), gray and RGB pixels come back resized to it
/// (`resized`): a second thread resizes the rows while the rest are still being decoded, and
/// with `along` it also encodes the resized rows as they are made (`RowsAlong::Encode`: the
/// largest variant, when it needs no turning) or splits them into strips to be turned
/// (`RowsAlong::Turn`). A progressive file's last pass (inverse DCT, colour conversion) and a
/// baseline file's whole decode then overlap the resize and the encode. CMYK and YCCK
/// come back as sRGB at the decoded size, converted through `icc` (the file's profile) by
/// `colour::cmyk_to_srgb`, whose warning, if any, is pushed to `warnings`.
pub(in crate::image) fn decode(
    decoder: Decoder<'_>,
    icc: Option<&[u8]>,
    min_long_side: u32,
    to: Option<(u32, u32)>,
    along: Option<RowsAlong<'_>>,
    warnings: &mut Vec<String>,
) -> Result<Decoded, ImageError> {
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

/// Opens `source` and decodes it as `decode` does, without encoders: the pixels, resized to
/// `to` when `resized` (the header's profile for CMYK; warnings dropped: the first decode of the
/// same file reported them).
pub(in crate::image) fn decode_whole(
    source: &Source<'_>,
    min_long_side: u32,
    to: Option<(u32, u32)>,
) -> Result<(DynamicImage, bool), ImageError> {
    let (decoder, h) = open(source)?;
    let d = decode(
        decoder,
        h.icc.as_deref(),
        min_long_side,
        to,
        None,
        &mut Vec::new(),
    )?;
    let image = d
        .image
        .ok_or_else(|| ImageError::Internal("a JPEG decoded without pixels".into()))?;
    Ok((image, d.resized))
}

/// A JPEG encoding with every row written: `finish` runs the entropy coder's passes (optimised
/// Huffman tables: statistics, then output), a third of the encode, wherever the caller has a
/// free core.
pub(in crate::image) struct Encoding(RowEncoder);

impl Encoding {
    pub(in crate::image) fn finish(self) -> Result<Vec<u8>, ImageError> {
        guard(|m| RowEncoder::fail(&m), || self.0.finish())
    }
}

/// What the resizing thread does with the largest variant's rows as they are made: resizes
/// them to the next size, with one (`Cascade`), and hands both sizes' rows to an encoding
/// thread of their own, through a short queue. Three threads then share the two cores
/// (decoding, resizing, encoding): with the encodes on the resizing thread, it was the
/// slowest of the two and the decoder waited for room in its window.
struct Along<P> {
    /// Bytes per row of the largest variant.
    stride: usize,
    /// Rows of the largest variant held at a time: a band, and what the next size's band
    /// reaches above it (`RowSink::window`).
    window: u32,
    next: Option<(Cascade<P>, usize)>,
    /// Rows for the encoders: the largest variant's (`false`) or the next size's (`true`).
    rows: Option<std::sync::mpsc::SyncSender<(bool, Band)>>,
    /// The bands' buffers, handed back by the encoding thread.
    pool: BandPool,
    encoders: Option<std::thread::JoinHandle<Encoders>>,
}

/// The encoding thread's result: the largest variant's encoder and the next size's, each with
/// every row written.
type Encoders = Result<(RowEncoder, Option<RowEncoder>), ImageError>;

impl<P: fast_image_resize::PixelTrait> Along<P> {
    /// Starts the encoding thread for `size` (and `e.then`), `gray` or RGB pixels.
    fn start(e: EncodeAlong<'_>, size: (u32, u32), gray: bool) -> Result<Along<P>, ImageError> {
        let (space, color) = if gray {
            (ColorSpace::JCS_GRAYSCALE, ColorType::L8)
        } else {
            (ColorSpace::JCS_RGB, ColorType::Rgb8)
        };
        let pixel = std::mem::size_of::<P>();
        let next = match e.then {
            Some(then) => Some((Cascade::new(size, then, color)?, then.0 as usize * pixel)),
            None => None,
        };
        let (quality, icc, then) = (e.quality, e.icc.map(<[u8]>::to_vec), e.then);
        let (rows, queue) = std::sync::mpsc::sync_channel::<(bool, Band)>(QUEUED_BANDS);
        let encoders = std::thread::Builder::new()
            .name("encode".into())
            .spawn(move || -> Encoders {
                let start = |size| {
                    guard(
                        |m| RowEncoder::fail(&m),
                        || RowEncoder::start(size, space, gray, quality, icc.as_deref()),
                    )
                };
                let mut largest = start(size)?;
                let mut next = then.map(start).transpose()?;
                for (is_next, rows) in queue {
                    let encoder = match (is_next, next.as_mut()) {
                        (true, Some(e)) => e,
                        _ => &mut largest,
                    };
                    guard(|m| RowEncoder::fail(&m), || encoder.write(&rows))?;
                }
                Ok((largest, next))
            })
            .map_err(|e| ImageError::Internal(format!("cannot start an encoding thread: {e}")))?;
        let reach = then.map_or(0, |(_, h)| {
            crate::image::pixels::resize::band_reach(size.1, h)
        });
        Ok(Along {
            stride: size.0 as usize * pixel,
            window: crate::image::pixels::resize::BAND_ROWS + reach,
            next,
            rows: Some(rows),
            pool: BandPool::new(),
            encoders: Some(encoders),
        })
    }

    /// The encoding thread's result, once it has every row (or has failed). Closing the
    /// queue first lets the thread end.
    fn join(&mut self) -> Encoders {
        self.rows = None;
        self.encoders
            .take()
            .ok_or_else(|| ImageError::Internal("encoding thread already joined".into()))?
            .join()
            .unwrap_or_else(|_| Err(ImageError::Internal("encoding thread panicked".into())))
    }

    /// The largest variant's encoding (and its pixels, `image`, when they were kept whole:
    /// `window`), and the next size's pixels and encoding.
    fn finish(mut self, image: Option<DynamicImage>) -> Result<Decoded, ImageError> {
        let (largest, next_encoder) = self.join()?;
        let next = match (self.next.take(), next_encoder) {
            (Some((cascade, _)), Some(encoder)) => Some((cascade.finish()?, Encoding(encoder))),
            _ => None,
        };
        Ok(Decoded {
            image,
            resized: true,
            encoded: Some(Encoding(largest)),
            next,
            strips: None,
            scan_junk: Vec::new(),
        })
    }

    /// The encoding thread's error, after it stopped taking rows.
    fn stopped(&mut self) -> ImageError {
        self.join()
            .err()
            .unwrap_or_else(|| ImageError::Internal("encoding thread stopped".into()))
    }
}

/// On an error path (decoding or resizing failed, `finish` never called), the encoding thread
/// is still joined: it ends with its queue, and its buffers (~14 MB for a 2400 px `large`) are
/// not left behind the failed decode.
impl<P> Drop for Along<P> {
    fn drop(&mut self) {
        self.rows = None;
        if let Some(thread) = self.encoders.take() {
            let _ = thread.join();
        }
    }
}

/// Queues rows for an encoder (`is_next`: the next size's), copied into a band of `pool`;
/// false if the encoding thread has stopped.
fn queue(
    to: &Option<std::sync::mpsc::SyncSender<(bool, Band)>>,
    pool: &BandPool,
    is_next: bool,
    rows: &[u8],
) -> bool {
    to.as_ref()
        .is_some_and(|q| q.send((is_next, pool.copy_of(rows))).is_ok())
}

impl<P: fast_image_resize::PixelTrait> crate::image::bands::window::RowSink for Along<P> {
    fn rows(&mut self, band: MadeBand<'_>) -> Result<u32, ImageError> {
        if !queue(&self.rows, &self.pool, false, band.band(self.stride)) {
            return Err(self.stopped());
        }
        let mut sent = true;
        let mut keep = u32::MAX;
        if let Some((cascade, stride)) = &mut self.next {
            let (to, pool) = (&self.rows, &self.pool);
            cascade.push(band, &mut |next| {
                sent = sent && queue(to, pool, true, next.band(*stride));
                Ok(0)
            })?;
            keep = cascade.needs_from().unwrap_or(keep);
        }
        if !sent {
            return Err(self.stopped());
        }
        Ok(keep)
    }

    /// With a next size, the largest variant is taken band by band (encoded, and resized to
    /// the next size) and not kept whole: the placeholder comes from a smaller variant, and
    /// the pipeline decodes again only in the rare case it needs those pixels (`pipeline::Big`).
    /// Without one (a photo of 401–1200 px, whose only variant is `thumb`), the placeholder is
    /// made from the largest variant's pixels, so they are kept.
    fn window(&self) -> Option<u32> {
        self.next.as_ref().map(|_| self.window)
    }
}

/// The resizing thread's sink for `RowsAlong`.
enum Sink<P> {
    Encode(Box<Along<P>>),
    Turn(Strips),
}

impl<P: fast_image_resize::PixelTrait> crate::image::bands::window::RowSink for Sink<P> {
    fn rows(&mut self, band: MadeBand<'_>) -> Result<u32, ImageError> {
        match self {
            Sink::Encode(along) => along.rows(band),
            Sink::Turn(strips) => strips.rows(band),
        }
    }

    fn window(&self) -> Option<u32> {
        match self {
            Sink::Encode(along) => along.window(),
            Sink::Turn(strips) => strips.window(),
        }
    }
}

/// Gray (`P` = U8) or RGB (`P` = U8x3) rows read by `read`, resized to `to` while they arrive
/// and, with `along`, encoded or split into strips as they are made (see `decode`);
/// `progressive`: see `scanlines`.
fn rows_in_flight<P: fast_image_resize::PixelTrait>(
    size: (u32, u32),
    color: ColorType,
    to: Option<(u32, u32)>,
    progressive: bool,
    along: Option<(RowsAlong<'_>, (u32, u32))>,
    read: impl FnMut(&mut [u8]) -> Result<(), ImageError>,
) -> Result<Decoded, ImageError> {
    let gray = color == ColorType::L8;
    let sink = along.map(|(along, to)| {
        move || match along {
            RowsAlong::Encode(e) => {
                Along::<P>::start(e, to, gray).map(|a| Sink::Encode(Box::new(a)))
            }
            RowsAlong::Turn(orientation) => Strips::new(to, color, orientation).map(Sink::Turn),
        }
    });
    let (image, sink) = scanlines::<P, _>(size, color, to, progressive, sink, read)?;
    match sink {
        Some(Sink::Encode(along)) => along.finish(image),
        Some(Sink::Turn(strips)) => Ok(Decoded {
            image: None,
            resized: true,
            encoded: None,
            next: None,
            strips: Some(strips.complete()?),
            scan_junk: Vec::new(),
        }),
        None => Ok(Decoded {
            image,
            resized: to.is_some(),
            encoded: None,
            next: None,
            strips: None,
            scan_junk: Vec::new(),
        }),
    }
}

fn decode_scaled(
    decoder: Decoder<'_>,
    icc: Option<&[u8]>,
    min_long_side: u32,
    to: Option<(u32, u32)>,
    along: Option<RowsAlong<'_>>,
    warnings: &mut Vec<String>,
) -> Result<Decoded, ImageError> {
    use fast_image_resize::pixels::{U8x3, U8};
    use image::RgbImage;
    TALLY.with(|t| t.replace(decoder.tally));
    let progressive = decoder.progressive;
    let mut d = decoder.decompress;
    let (w, h) = d.size();
    let n = scale_for(w as u32, h as u32, min_long_side);
    d.scale(n);
    // What works on the resized rows, started on the resizing thread.
    let along = along.zip(to);
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
            Decoded {
                image: Some(image),
                resized: false,
                encoded: None,
                next: None,
                strips: None,
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

fn warning_text(code: c_int) -> &'static str {
    use mozjpeg_sys as j;
    match code {
        j::JWRN_JPEG_EOF => "premature end of file",
        j::JWRN_HIT_MARKER => "premature end of data segment",
        j::JWRN_HUFF_BAD_CODE => "bad Huffman code",
        j::JWRN_MUST_RESYNC => "lost sync in the entropy-coded data",
        j::JWRN_BOGUS_PROGRESSION => "inconsistent progression sequence",
        _ => "invalid scan parameters",
    }
}

/// Encodes 8-bit RGB (4:2:0) or gray at `quality`, baseline, with optimised Huffman tables —
/// libjpeg-turbo's output, as sharp writes it by default.
pub(in crate::image) fn encode(
    img: &DynamicImage,
    quality: u8,
    icc: Option<&[u8]>,
) -> Result<Vec<u8>, ImageError> {
    let gray = match img {
        DynamicImage::ImageLuma8(_) => true,
        DynamicImage::ImageRgb8(_) => false,
        other => return Err(RowEncoder::fail(&format!("{:?} pixels", other.color()))),
    };
    let size = (img.width(), img.height());
    encode_bands(size, gray, quality, icc, [img.as_bytes()])
}

/// A `width`×`height` gray or RGB image encoded from `bands` of its whole rows, top to bottom
/// (made as the encoder goes, on this or another thread): the bytes `encode` gives for the
/// whole image. An error (`Invalid`) when the bands hold fewer rows than `height`.
pub(in crate::image) fn encode_bands(
    (width, height): (u32, u32),
    gray: bool,
    quality: u8,
    icc: Option<&[u8]>,
    bands: impl IntoIterator<Item = impl AsRef<[u8]>>,
) -> Result<Vec<u8>, ImageError> {
    let space = match gray {
        true => ColorSpace::JCS_GRAYSCALE,
        false => ColorSpace::JCS_RGB,
    };
    // Runs on worker threads: a libjpeg error must come back as an error, not an unwind.
    guard(
        |m| RowEncoder::fail(&m),
        || {
            let mut e = RowEncoder::start((width, height), space, gray, quality, icc)?;
            for band in bands {
                e.write(band.as_ref())?;
            }
            e.finish()
        },
    )
}

/// `encode` through libjpeg's own memory manager, both of mozjpeg's coefficient arrays
/// allocated: what `encode` must give byte for byte (`jpeg_coefficients`' tests).
#[cfg(test)]
pub(in crate::image) fn encode_unhooked(img: &DynamicImage, quality: u8) -> Vec<u8> {
    let gray = img.color() == ColorType::L8;
    let space = match gray {
        true => ColorSpace::JCS_GRAYSCALE,
        false => ColorSpace::JCS_RGB,
    };
    let size = (img.width(), img.height());
    let mut e = RowEncoder::start_with(error_mgr(), size, space, gray, quality, None).unwrap();
    e.write(img.as_bytes()).unwrap();
    e.finish().unwrap()
}

/// An encoder's error manager, for tests of the hook outside this file.
#[cfg(test)]
pub(in crate::image) fn encoder_error_manager(hooked: bool) -> mozjpeg_sys::jpeg_error_mgr {
    match hooked {
        true => encoder_error_mgr(),
        false => error_mgr(),
    }
}

/// The largest variant's JPEG encoding, done on an encoding thread as its rows are made
/// (`decode`'s `RowsAlong::Encode`): the same settings and bytes as `encode` on the whole image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::image) struct EncodeAlong<'a> {
    pub quality: u8,
    /// The profile the variant carries (the colour step's decision, made before decoding).
    pub icc: Option<&'a [u8]>,
    /// The next size down (width, height), resized from the largest's rows as they are made
    /// and encoded the same way.
    pub then: Option<(u32, u32)>,
}

/// A libjpeg compressor fed whole rows in order, top to bottom.
struct RowEncoder {
    started: mozjpeg::compress::CompressStarted<Vec<u8>>,
}

// SAFETY: a libjpeg compressor has no tie to the thread that made it (no thread-local state;
// errors unwind on whichever thread calls it); it is used by one thread at a time: made and
// fed on the encoding thread, then moved to the threads that run its last pass (`Encoding`).
unsafe impl Send for RowEncoder {}

impl RowEncoder {
    fn fail(e: &dyn std::fmt::Display) -> ImageError {
        ImageError::Invalid(format!("cannot encode variant: {e}"))
    }

    /// Writes the headers (and `icc` as APP2 segments) of a `width`×`height` image.
    fn start(
        size: (u32, u32),
        space: ColorSpace,
        gray: bool,
        quality: u8,
        icc: Option<&[u8]>,
    ) -> Result<RowEncoder, ImageError> {
        Self::start_with(encoder_error_mgr(), size, space, gray, quality, icc)
    }

    /// `start` with the error manager `err` (the tests' reference: libjpeg's own memory
    /// manager, without `jpeg_coefficients`' hook).
    fn start_with(
        err: mozjpeg_sys::jpeg_error_mgr,
        (width, height): (u32, u32),
        space: ColorSpace,
        gray: bool,
        quality: u8,
        icc: Option<&[u8]>,
    ) -> Result<RowEncoder, ImageError> {
        let mut c = mozjpeg::Compress::new_err(Box::new(err), space);
        c.set_fastest_defaults();
        c.set_size(width as usize, height as usize);
        c.set_quality(f32::from(quality));
        c.set_optimize_coding(true);
        if !gray {
            c.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
        }
        let channels = if gray { 1 } else { 3 };
        let capacity = width as usize * height as usize * channels / 8;
        let mut s = c
            .start_compress(Vec::with_capacity(capacity))
            .map_err(|e| Self::fail(&e))?;
        if let Some(icc) = icc {
            // Not `write_icc_profile`: mozjpeg 0.10.13 numbers the chunks from 0, and readers
            // (image, browsers via the ICC spec) expect 1..=count, so the profile would be lost.
            let chunks = icc.chunks(65519);
            let count =
                u8::try_from(chunks.len()).map_err(|_| Self::fail(&"ICC profile over 16 MB"))?;
            for (i, chunk) in chunks.enumerate() {
                let mut segment = b"ICC_PROFILE\0".to_vec();
                segment.extend([i as u8 + 1, count]);
                segment.extend_from_slice(chunk);
                s.write_marker(Marker::APP(2), &segment);
            }
        }
        Ok(RowEncoder { started: s })
    }

    /// Compresses the next whole rows.
    fn write(&mut self, rows: &[u8]) -> Result<(), ImageError> {
        self.started
            .write_scanlines(rows)
            .map_err(|e| Self::fail(&e))
    }

    /// The encoded file, once every row is written.
    fn finish(self) -> Result<Vec<u8>, ImageError> {
        self.started.finish().map_err(|e| Self::fail(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::RgbImage;

    /// Opens and decodes, as the pipeline does in two steps.
    fn decode(
        bytes: &[u8],
        min_long_side: u32,
        to: Option<(u32, u32)>,
    ) -> Result<(DynamicImage, bool), ImageError> {
        decode_whole(&Source::Downloaded(bytes), min_long_side, to)
    }

    fn header(bytes: &[u8]) -> Result<Header, ImageError> {
        open(&Source::Downloaded(bytes)).map(|(_, h)| h)
    }

    #[test]
    fn scale_is_the_smallest_that_reaches_the_largest_variant() {
        assert_eq!(scale_for(5312, 2988, 2400), 4);
        assert_eq!(scale_for(4800, 3200, 2400), 4, "exactly 2400");
        assert_eq!(scale_for(4799, 3200, 2400), 4, "libjpeg rounds 2399.5 up");
        assert_eq!(scale_for(4798, 3200, 2400), 8, "2399 is not enough");
        assert_eq!(scale_for(4272, 2848, 2400), 8);
        assert_eq!(scale_for(9600, 5400, 2400), 2);
        assert_eq!(scale_for(16383, 16383, 2400), 2);
        assert_eq!(scale_for(6400, 4800, 800), 1);
        assert_eq!(scale_for(6391, 4800, 800), 2);
        assert_eq!(scale_for(2988, 5312, 1200), 2);
        assert_eq!(scale_for(300, 200, 0), 1);
    }

    fn photo(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([
                (x * 7 % 256) as u8,
                (y * 3 % 256) as u8,
                ((x ^ y) % 256) as u8,
            ])
        });
        encode(&DynamicImage::ImageRgb8(img), 90, Some(b"profile")).unwrap()
    }

    #[test]
    fn decodes_at_the_smallest_scale_that_is_enough() {
        let bytes = photo(3200, 1600);
        let img = decode(&bytes, 200, None).unwrap().0;
        assert_eq!((img.width(), img.height()), (400, 200));
        let img = decode(&bytes, 801, None).unwrap().0;
        assert_eq!((img.width(), img.height()), (1600, 800));
        let img = decode(&bytes, 1601, None).unwrap().0;
        assert_eq!((img.width(), img.height()), (3200, 1600));
        let h = header(&bytes).unwrap();
        assert_eq!((h.width, h.height, h.orientation), (3200, 1600, 1));
        assert_eq!(h.coefficient_bytes, None, "baseline");
        assert_eq!(
            h.icc.as_deref(),
            Some(&b"profile"[..]),
            "ICC chunks numbered from 1"
        );
    }

    #[test]
    fn damaged_data_is_an_error_not_a_grey_picture() {
        let bytes = photo(800, 600);
        let err = decode(&bytes[..bytes.len() * 2 / 3], 0, None).unwrap_err();
        assert!(
            matches!(&err, ImageError::Invalid(m) if m.contains("premature end")),
            "{err:?}"
        );
        let mut bad = bytes.clone();
        let mid = bad.len() / 2;
        bad[mid..mid + 64].fill(0xFF);
        assert!(decode(&bad, 0, None).is_err());
        assert!(decode(&bytes, 0, None).is_ok());
    }

    /// A `w`×`h` JPEG of a busy pattern, baseline or progressive, RGB or gray.
    fn pattern(w: u32, h: u32, progressive: bool, gray: bool) -> Vec<u8> {
        let space = if gray {
            ColorSpace::JCS_GRAYSCALE
        } else {
            ColorSpace::JCS_RGB
        };
        let channels = if gray { 1 } else { 3 };
        let mut c = mozjpeg::Compress::new(space);
        c.set_size(w as usize, h as usize);
        if progressive {
            c.set_progressive_mode();
        }
        let mut s = c.start_compress(Vec::new()).unwrap();
        let px: Vec<u8> = (0..w * h * channels)
            .map(|i| ((i / channels % w) * 7 + (i / channels / w) * 3 + i % channels * 50) as u8)
            .collect();
        s.write_scanlines(&px).unwrap();
        s.finish().unwrap()
    }

    #[test]
    fn bands_that_stop_short_are_an_error() {
        // A turning thread that ended early.
        let short = encode_bands((10, 10), false, 80, None, [vec![0u8; 10 * 3 * 5]]);
        assert!(matches!(short, Err(ImageError::Invalid(_))), "{short:?}");
        let rgba = DynamicImage::new_rgba8(8, 8);
        assert!(encode(&rgba, 80, None).is_err());
    }

    #[test]
    fn resizing_while_decoding_equals_resizing_after() {
        let to = (600, 451);
        for (progressive, gray) in [(false, false), (true, false), (false, true), (true, true)] {
            let bytes = pattern(1301, 977, progressive, gray);
            let (full, resized) = decode(&bytes, 700, None).unwrap();
            assert!(!resized);
            assert_eq!((full.width(), full.height()), (1301, 977));
            let full = crate::image::pixels::Pixels::Image(full);
            let crate::image::pixels::Pixels::Image(want) =
                crate::image::pixels::resize(&full, to.0, to.1, false).unwrap()
            else {
                unreachable!("an image stays an image")
            };
            let (got, resized) = decode(&bytes, 700, Some(to)).unwrap();
            assert!(resized);
            // Encoded while resized: the same file as encoding the resized image after.
            let along = EncodeAlong {
                quality: 80,
                icc: Some(b"profile"),
                then: Some((200, 150)),
            };
            let decode_along = |decoder| {
                let along = Some(RowsAlong::Encode(along));
                super::decode(decoder, None, 700, Some(to), along, &mut Vec::new())
            };
            let (decoder, _) = open(&Source::Downloaded(&bytes)).unwrap();
            let made = decode_along(decoder).unwrap();
            assert!(made.image.is_none(), "taken band by band, not kept");
            let want_file = encode(&got, 80, Some(b"profile")).unwrap();
            let file = made.encoded.map(|e| e.finish().unwrap());
            assert!(
                file == Some(want_file),
                "progressive {progressive}, gray {gray}"
            );
            // The next size, resized from the largest's rows as the window held them.
            let (medium, medium_file) = made.next.expect("the next size");
            let got_pixels = crate::image::pixels::Pixels::Image(got.clone());
            let crate::image::pixels::Pixels::Image(want_medium) =
                crate::image::pixels::resize(&got_pixels, 200, 150, false).unwrap()
            else {
                unreachable!("an image stays an image")
            };
            assert!(
                medium.as_bytes() == want_medium.as_bytes(),
                "medium's pixels"
            );
            let want_medium_file = encode(&medium, 80, Some(b"profile")).unwrap();
            assert!(medium_file.finish().unwrap() == want_medium_file);
            assert_eq!(got.color(), want.color(), "gray {gray}");
            assert!(
                got.as_bytes() == want.as_bytes(),
                "progressive {progressive}, gray {gray}: not the same pixels"
            );
            // Decoding that fails part-way stops the resizing thread too: an error, no hang;
            // with the encoders along, their thread is joined on the way out.
            let err = decode(&bytes[..bytes.len() / 2], 700, Some(to)).unwrap_err();
            assert!(matches!(err, ImageError::Invalid(_)), "{err:?}");
            let (decoder, _) = open(&Source::Downloaded(&bytes[..bytes.len() / 2])).unwrap();
            let err = decode_along(decoder);
            assert!(
                matches!(err, Err(ImageError::Invalid(_))),
                "{:?}",
                err.err()
            );
        }
    }

    #[test]
    fn icc_chunks_in_any_order_or_refused() {
        let a: &[u8] = b"abc";
        let b: &[u8] = b"def";
        assert_eq!(
            markers::assemble_icc(vec![(2, 2, b), (1, 2, a)]).as_deref(),
            Some(&b"abcdef"[..])
        );
        assert_eq!(markers::assemble_icc(vec![(1, 2, a)]), None);
        assert_eq!(markers::assemble_icc(vec![(1, 2, a), (1, 2, a)]), None);
        assert_eq!(markers::assemble_icc(vec![]), None);
    }

    /// A small progressive JPEG with its last scan (and the tables just before it) repeated
    /// until it has `scans` scans: repeated scans are a bogus progression, but libjpeg reads
    /// each one, which is the work that is bounded.
    fn with_scans(scans: u32) -> Vec<u8> {
        let base = pattern(64, 48, true, false);
        let pieces: Vec<markers::Piece> = markers::pieces(&base).collect();
        let sos: Vec<usize> = (0..pieces.len())
            .filter(|&i| matches!(pieces[i], markers::Piece::Segment { marker: 0xDA, .. }))
            .collect();
        let last = *sos.last().unwrap();
        let span = |i: usize| match &pieces[i] {
            markers::Piece::Segment { at, end, .. } => (*at, *end),
            other => panic!("{other:?}"),
        };
        let from = match &pieces[last - 1] {
            markers::Piece::Segment {
                marker: 0xC4, at, ..
            } => *at,
            _ => span(last).0,
        };
        let (_, end) = span(last);
        let repeat = &base[from..end];
        let mut out = base[..end].to_vec();
        for _ in sos.len() as u32..scans {
            out.extend_from_slice(repeat);
        }
        out.extend_from_slice(&base[end..]);
        assert_eq!(markers::layout(&out).scans, scans);
        out
    }

    #[test]
    fn more_than_max_scans_are_refused_before_decoding() {
        assert!(header(&with_scans(MAX_SCANS)).is_ok());
        let err = header(&with_scans(MAX_SCANS + 1)).err().unwrap();
        assert_eq!(
            err,
            invalid("too many scans: the JPEG has 101, at most 100 are decoded (encoders write up to about 20)")
        );
    }

    /// libjpeg's own count stops the decode when it reads the 101st SOS marker, before that
    /// scan's data, whatever the marker walk found: at most `MAX_SCANS` scans are decoded.
    #[test]
    fn libjpeg_stops_at_the_scan_past_the_limit() {
        let bytes = with_scans(MAX_SCANS + 50);
        let source = Source::Downloaded(&bytes);
        let (decoder, h) = guard(invalid, || {
            TALLY.with(|t| t.take());
            let decompress = open_decompress(&source)?;
            let h = header_of(&decompress, markers::layout(&source))?;
            let tally = TALLY.with(|t| t.take());
            let progressive = h.progressive;
            Ok((
                Decoder {
                    decompress,
                    progressive,
                    tally,
                },
                h,
            ))
        })
        .unwrap();
        assert_eq!(h.width, 64);
        let err = super::decode(decoder, None, 0, None, None, &mut Vec::new())
            .err()
            .unwrap();
        assert!(
            matches!(&err, ImageError::Invalid(m) if m.contains("too many scans")),
            "{err:?}"
        );
        assert_eq!(TALLY.with(|t| t.borrow().scans), MAX_SCANS + 1);
    }

    #[test]
    fn the_marker_walk_follows_libjpeg() {
        let base = photo(32, 16);
        // Junk, a comment of length 0, an APP5 of length 1, fill bytes before a marker.
        let mut b = base[..2].to_vec();
        b.extend_from_slice(b"junk\xFF\x00more");
        b.extend_from_slice(&[0xFF, 0xFE, 0, 0, 0xFF, 0xE5, 0, 1, 0xFF, 0xFF]);
        b.extend_from_slice(&base[2..]);
        let pieces: Vec<markers::Piece> = markers::pieces(&b).collect();
        assert_eq!(pieces[0], markers::Piece::Junk(2..12));
        let spans: Vec<(u8, usize, usize)> = pieces[1..4]
            .iter()
            .filter_map(|p| match p {
                markers::Piece::Segment {
                    marker, at, end, ..
                } => Some((*marker, *at, *end)),
                _ => None,
            })
            .collect();
        assert_eq!(spans[..2], [(0xFE, 12, 16), (0xE5, 16, 20)]);
        assert_eq!((spans[2].0, spans[2].1), (0xE0, 20));
        let l = markers::layout(&b);
        assert_eq!(
            (l.frame, l.scans, l.end),
            (Some((0xC0, 8)), 1, Some(markers::End::Eoi(b.len())))
        );
        assert!(decode(&b, 0, None).is_ok(), "libjpeg reads it too");
        // The EOI damaged into SOF9 after the scan: the image data ends there.
        let mut damaged = base[..base.len() - 2].to_vec();
        damaged.extend_from_slice(&[0xFF, 0xC9, 0, 2, 0xFF, 0xD9]);
        let end = base.len() - 2;
        assert_eq!(
            markers::layout(&damaged).end,
            Some(markers::End::Unterminated(end))
        );
        let (fixed, _) = repair(&damaged).unwrap();
        assert_eq!(fixed, base, "cut where the data ends, EOI put back");
    }
}
