//! TIFF (issue 28; PRODUCT.md "Input formats", FORMATS.md §1.1): the first full-resolution
//! page of a TIFF or BigTIFF, decoded by image-rs's `tiff` crate with the gaps an archive meets
//! filled here.
//!
//! - `ifd.rs`: the container walked first (cycle check, caps on IFDs and entries; pages
//!   counted; reduced-resolution subfiles and transparency masks skipped).
//! - `samples.rs`: what the samples are, and the codings we do not decode, refused by name.
//! - `view.rs`: the bytes the crate reads, with a few fields patched so that it decodes the
//!   chosen page only and hands over palette, Lab and WhiteIsZero samples as stored, and
//!   FillOrder 2 bits reversed.
//! - `repair.rs`: those patches, and what libtiff reads past but the crate refuses, repaired
//!   with a warning (BitsPerSample or SampleFormat with a count other than SamplesPerPixel;
//!   no PhotometricInterpretation tag, guessed as libtiff guesses it).
//! - `band.rs`: a band of rows at a time (a row of strips or tiles; uncompressed strips read
//!   row by row, however large), so memory is bounded by a band, never the image.
//! - `convert.rs`, `spaces.rs`: rows to 8-bit L/LA/RGB/RGBA with straight alpha (palette
//!   expanded, CMYK through its ICC profile by moxcms, CIELab and Y′CbCr to sRGB, 16 bits
//!   rounded), or 16-bit gray and RGB kept whole by `decode`.
//!
//! Decoded here: strips and tiles; chunky and planar; uncompressed, LZW, Deflate, PackBits,
//! CCITT G4 (FillOrder 1 and 2), JPEG (compression 7, Y′CbCr subsampled or not); 1–8- and 16-bit
//! gray (WhiteIsZero and BlackIsZero), 1–8-bit palette, 8/16-bit RGB, CMYK, CIELab, ICCLab;
//! 8-bit uncompressed Y′CbCr without subsampling; associated and unassociated alpha; BigTIFF.
//! Refused by name (`Unsupported`): CCITT MH and G3, old-style JPEG, LZMA, Zstandard, WebP,
//! JPEG 2000, and other compressions; 9–15-, 24-, 32-, 64-bit, signed and floating-point samples; ITU Lab,
//! LogLuv, CFA; subsampled Y′CbCr without JPEG.

mod band;
mod convert;
mod ifd;
mod repair;
mod samples;
mod spaces;
mod view;

#[cfg(test)]
mod tests;

use std::panic::{catch_unwind, AssertUnwindSafe};

use image::{ColorType, DynamicImage, ImageBuffer};
use tiff::decoder::Limits;
use tiff::tags::Tag;
use tiff::TiffError;

use super::rows::Header;
use crate::image::ImageError;
use band::{Band, Chunks};
use convert::Convert;
use samples::{Colour, Samples};

/// The `tiff` crate's decoder over our view of the input.
type Tiff<'a> = tiff::decoder::Decoder<view::View<'a>>;

/// The most one band (a row of strips or tiles, decoded at its stored depth, with the chunk
/// being placed) may take, bytes. Scanner masters come in strips of kilobytes; a file whose
/// one compressed strip decodes to more is refused (`TooLarge`) rather than held whole.
/// Uncompressed strips of any size are read a few rows at a time, so this never limits them.
pub(crate) const MAX_BAND_BYTES: u64 = 256 * 1024 * 1024;

/// The most `decode` allocates for the whole image, bytes (the budget `probe.rs` keeps for
/// every decoder: the largest allowed image as 16-bit RGBA would not fit a 2 GiB machine).
pub(crate) const MAX_DECODE_BYTES: u64 = 1536 * 1024 * 1024;

/// The largest ICC profile read, bytes (print LUT profiles are 0.5–2 MB); a larger one is
/// dropped with a warning.
const MAX_ICC_BYTES: u64 = 8 * 1024 * 1024;

/// A TIFF or BigTIFF, by its signature (TIFF 6.0 section 2; BigTIFF: version 43).
pub(crate) fn detect(bytes: &[u8]) -> bool {
    ifd::signature(bytes)
}

/// Reads the header of the first full-resolution page, checking everything that bounds the
/// decode before any pixel is read: its pixel count against `max_pixels` (`TooLarge`, "WxH is
/// N pixels, over MAX_INPUT_PIXELS (M)"), the bytes of one band against `MAX_BAND_BYTES`
/// (`TooLarge`), the coding (`Unsupported` naming it), the IFD chain (bounded, cycle-checked).
/// `Invalid` for a file that is not a readable TIFF. Never panics (a panic in the decoder
/// becomes `Invalid`).
pub(crate) fn open(bytes: &[u8], max_pixels: u64) -> Result<(Decoder<'_>, Header), ImageError> {
    contain(|| open_page(bytes, max_pixels))
}

fn open_page(bytes: &[u8], max_pixels: u64) -> Result<(Decoder<'_>, Header), ImageError> {
    let c = ifd::walk(bytes)?;
    let (width, height) = size(&c.chosen, max_pixels)?;
    let formats = (c.chosen.sample_format)
        .and_then(|e| c.values(bytes, &e, c.chosen.samples()))
        .unwrap_or_default();
    let (compression, photometric) = samples::check_coding(&c.chosen, &formats)?;
    let mut warnings = c.warnings.clone();
    let view = repair::view(bytes, &c, photometric, &mut warnings);
    let mut limits = Limits::default();
    limits.decoding_buffer_size = MAX_BAND_BYTES as usize;
    limits.intermediate_buffer_size = MAX_BAND_BYTES as usize;
    let mut t = Tiff::new(view).map_err(tiff_error)?.with_limits(limits);
    let samples = samples::read(&mut t, photometric, compression)?;
    let chunks = Chunks::new(&mut t, &samples, (width, height), c.big_endian)?;
    let band_bytes = chunks.band_bytes(&samples);
    if band_bytes > MAX_BAND_BYTES {
        return Err(ImageError::TooLarge(format!(
            "TIFF strip or tile row decodes to {band_bytes} bytes at once, over {MAX_BAND_BYTES}"
        )));
    }
    let orientation = orientation(&mut t, &mut warnings);
    let icc = icc_profile(&mut t, &mut warnings);
    let inks = (samples.colour == Colour::Cmyk).then(|| {
        let (inks, warning) = spaces::Inks::new(icc.as_deref());
        warnings.extend(warning);
        inks
    });
    if c.pages > 1 {
        warnings.push(format!(
            "multi-page TIFF: {} pages; the variants show the first full-resolution page",
            c.pages
        ));
    }
    let header = Header {
        width,
        height,
        orientation,
        coded: (width, height),
        turned_by_decoder: 1,
        icc,
        // CMYK (through its profile) and CIELab come out as sRGB.
        in_srgb: matches!(samples.colour, Colour::Cmyk | Colour::Lab { .. }),
        bit_depth: samples.bits,
        colour_model: samples.colour_model(),
        alpha: samples.alpha.is_some(),
        frames: 1,
        pages: c.pages,
        warnings,
    };
    let decoder = Decoder {
        convert: Convert::new(&samples, width, inks),
        tiff: t,
        samples,
        chunks,
        band: Band::default(),
        size: (width, height),
        next_row: 0,
        failed: false,
    };
    Ok((decoder, header))
}

/// The page's dimensions, refused over `max_pixels` before anything is allocated for them.
fn size(page: &ifd::Ifd, max_pixels: u64) -> Result<(u32, u32), ImageError> {
    let (Some(w), Some(h)) = (page.width, page.height) else {
        return Err(ImageError::Invalid(
            "cannot decode: TIFF without ImageWidth and ImageLength".into(),
        ));
    };
    let pixels = w.saturating_mul(h);
    if pixels > max_pixels {
        return Err(ImageError::TooLarge(format!(
            "{w}x{h} is {pixels} pixels, over MAX_INPUT_PIXELS ({max_pixels})"
        )));
    }
    match (u32::try_from(w), u32::try_from(h)) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 => Ok((w, h)),
        _ => Err(ImageError::Invalid(format!(
            "image has no pixels ({w}x{h})"
        ))),
    }
}

/// Orientation (tag 274): 1–8, 1 when absent; another value is ignored with a warning.
fn orientation(t: &mut Tiff<'_>, warnings: &mut Vec<String>) -> u8 {
    match t.find_tag_unsigned::<u16>(Tag::Orientation) {
        Ok(None) => 1,
        Ok(Some(v @ 1..=8)) => v as u8,
        Ok(Some(v)) => {
            warnings.push(format!("TIFF Orientation {v} is not 1-8; ignored"));
            1
        }
        Err(e) => {
            warnings.push(format!("TIFF Orientation unreadable ({e}); ignored"));
            1
        }
    }
}

/// The ICC profile (tag 34675, InterColorProfile) as stored, read into a buffer of its own
/// size (at most `MAX_ICC_BYTES`); a larger or cut-short one is dropped with a warning.
fn icc_profile(t: &mut Tiff<'_>, warnings: &mut Vec<String>) -> Option<Vec<u8>> {
    let entry = t.image_ifd().find_entry(Tag::IccProfile)?;
    let len = entry.count();
    if len > MAX_ICC_BYTES {
        warnings.push(format!(
            "ICC profile of {len} bytes is over {MAX_ICC_BYTES}; dropped"
        ));
        return None;
    }
    let mut icc = vec![0u8; len as usize];
    match t.image_ifd().find_tag_bytes(Tag::IccProfile, &mut icc, 0) {
        Ok(Some(n)) if n as u64 == len && len > 0 => Some(icc),
        _ => {
            warnings.push("ICC profile cut short or unreadable; dropped".into());
            None
        }
    }
}

/// A `tiff` crate error as ours: what it does not decode is `Unsupported`, the rest `Invalid`.
fn tiff_error(e: TiffError) -> ImageError {
    match e {
        TiffError::UnsupportedError(u) => ImageError::Unsupported(format!("TIFF with {u}")),
        TiffError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            ImageError::Invalid("cannot decode: TIFF data ends early (truncated file)".into())
        }
        // Band sizes are checked from the header first: past that, only a strip or tile byte
        // count no file of ours can hold gets here.
        TiffError::LimitsExceeded => ImageError::Invalid(format!(
            "cannot decode: TIFF strip or tile byte count over {MAX_BAND_BYTES} bytes"
        )),
        e => ImageError::Invalid(format!("cannot decode: TIFF {e}")),
    }
}

/// Runs decoder code so that a panic inside the `tiff` crate (or ours) is an `Invalid` error.
fn contain<T>(f: impl FnOnce() -> Result<T, ImageError>) -> Result<T, ImageError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(ImageError::Invalid(
            "cannot decode: TIFF decoder failed on malformed data".into(),
        ))
    })
}

/// The open decoder of one page; rows come out top to bottom.
pub(crate) struct Decoder<'a> {
    tiff: Tiff<'a>,
    samples: Samples,
    chunks: Chunks,
    convert: Convert,
    band: Band,
    /// Stored width and height, pixels.
    size: (u32, u32),
    /// The next row `read` gives.
    next_row: u32,
    /// A panic was caught: the decoder's state is not trusted again.
    failed: bool,
}

impl Decoder<'_> {
    /// The rows `read` gives: `L8` (gray; 1–16-bit gray and palettes of grays), `La8`, `Rgb8`
    /// (RGB, palette, CMYK, Lab, Y′CbCr) or `Rgba8`.
    pub fn layout(&self) -> ColorType {
        self.samples.layout()
    }

    /// Fills `rows` (a whole number of `layout()` rows, stored width) with the next rows, top
    /// to bottom, 8 bits a sample, alpha straight. Memory held: one band (a row of strips or
    /// tiles, or 32 rows of uncompressed strips). `Invalid` for damaged data (a truncated
    /// strip), `Internal` for rows not whole or past the last.
    pub fn read(&mut self, rows: &mut [u8]) -> Result<(), ImageError> {
        if self.failed {
            return Err(ImageError::Invalid(
                "cannot decode: TIFF decoder failed earlier".into(),
            ));
        }
        let result = contain(|| self.read_rows(rows));
        self.failed = result.is_err();
        result
    }

    fn read_rows(&mut self, rows: &mut [u8]) -> Result<(), ImageError> {
        let row_len = self.size.0 as usize * usize::from(self.layout().channel_count());
        if !rows.len().is_multiple_of(row_len) {
            return Err(ImageError::Internal(
                "TIFF rows asked for are not whole".into(),
            ));
        }
        for out in rows.chunks_exact_mut(row_len) {
            let src = self.next_stored_row()?;
            self.convert
                .row8(&self.band.data[src], self.band.stride, out)?;
            self.next_row += 1;
        }
        Ok(())
    }

    /// Where the stored samples of row `next_row` are in the band (decoding the next band when
    /// needed).
    fn next_stored_row(&mut self) -> Result<std::ops::Range<usize>, ImageError> {
        let y = self.next_row;
        if y >= self.size.1 {
            return Err(ImageError::Internal(
                "TIFF rows asked for past the last".into(),
            ));
        }
        if y >= self.band.top + self.band.rows {
            self.chunks
                .fill(&mut self.tiff, &self.samples, &mut self.band, y)?;
        }
        let row_bytes = self.convert.stored_row_bytes(self.band.stride);
        let at = (y - self.band.top) as usize * row_bytes;
        Ok(at..at + row_bytes)
    }

    /// The whole page: 16-bit gray or RGB (± alpha) as stored, anything else as `read` gives
    /// it; alpha straight, no ICC profile applied (CMYK aside). `TooLarge` when the image
    /// would pass `MAX_DECODE_BYTES`.
    pub fn decode(mut self) -> Result<DynamicImage, ImageError> {
        let (w, h) = self.size;
        let wide = self.samples.keeps_16_bits();
        let channels = u64::from(self.layout().channel_count());
        let bytes = u64::from(w) * u64::from(h) * channels * if wide { 2 } else { 1 };
        if bytes > MAX_DECODE_BYTES {
            return Err(ImageError::TooLarge(format!(
                "TIFF {w}x{h} decodes to {bytes} bytes, over {MAX_DECODE_BYTES}"
            )));
        }
        let layout = self.layout();
        if !wide {
            let mut buf = vec![0u8; bytes as usize];
            self.read(&mut buf)?;
            return whole(w, h, layout, buf);
        }
        let mut buf = vec![0u16; (bytes / 2) as usize];
        let row_len = w as usize * channels as usize;
        contain(|| {
            for out in buf.chunks_exact_mut(row_len) {
                let src = self.next_stored_row()?;
                self.convert
                    .row16(&self.band.data[src], self.band.stride, out);
                self.next_row += 1;
            }
            Ok(())
        })?;
        whole(w, h, layout, buf)
    }
}

/// Rows of 8- or 16-bit samples as a `DynamicImage` of `layout`'s channels.
fn whole<T: image::Primitive>(
    w: u32,
    h: u32,
    layout: ColorType,
    buf: Vec<T>,
) -> Result<DynamicImage, ImageError>
where
    image::Luma<T>: image::Pixel<Subpixel = T>,
    image::LumaA<T>: image::Pixel<Subpixel = T>,
    image::Rgb<T>: image::Pixel<Subpixel = T>,
    image::Rgba<T>: image::Pixel<Subpixel = T>,
    DynamicImage: From<ImageBuffer<image::Luma<T>, Vec<T>>>
        + From<ImageBuffer<image::LumaA<T>, Vec<T>>>
        + From<ImageBuffer<image::Rgb<T>, Vec<T>>>
        + From<ImageBuffer<image::Rgba<T>, Vec<T>>>,
{
    let img = match layout {
        ColorType::L8 => ImageBuffer::<image::Luma<T>, _>::from_raw(w, h, buf).map(Into::into),
        ColorType::La8 => ImageBuffer::<image::LumaA<T>, _>::from_raw(w, h, buf).map(Into::into),
        ColorType::Rgb8 => ImageBuffer::<image::Rgb<T>, _>::from_raw(w, h, buf).map(Into::into),
        _ => ImageBuffer::<image::Rgba<T>, _>::from_raw(w, h, buf).map(Into::into),
    };
    img.ok_or_else(|| ImageError::Internal("TIFF image buffer size".into()))
}

super::rows::row_decoder!(Decoder);
