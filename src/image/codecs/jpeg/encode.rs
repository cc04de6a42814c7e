//! JPEG encoding through mozjpeg (libjpeg-turbo): baseline, 4:2:0 chroma subsampling for
//! colour, optimised Huffman tables, the ICC profile as APP2 segments numbered from 1 — as sharp
//! writes it by default. Rows are written in order (`RowEncoder`), whole or in bands; the
//! entropy coder's passes run in `Encoding::finish`, wherever the caller has a free core.

// libjpeg's C API through mozjpeg-sys (each use has its SAFETY note).
#![allow(unsafe_code)]

use image::DynamicImage;
use mozjpeg::{ColorSpace, Marker};

#[cfg(test)]
use super::libjpeg::error_mgr;
use super::libjpeg::{encoder_error_mgr, guard};
use crate::image::error::ImageError;

/// A JPEG encoding with every row written: `finish` runs the entropy coder's passes (optimised
/// Huffman tables: statistics, then output), a third of the encode, wherever the caller has a
/// free core.
pub(in crate::image) struct Encoding(pub(super) RowEncoder);

impl Encoding {
    pub(in crate::image) fn finish(self) -> Result<Vec<u8>, ImageError> {
        guard(|m| RowEncoder::fail(&m), || self.0.finish())
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
/// allocated: what `encode` must give byte for byte (`coefficients`' tests).
#[cfg(test)]
pub(in crate::image) fn encode_unhooked(img: &DynamicImage, quality: u8) -> Vec<u8> {
    let gray = img.color() == image::ColorType::L8;
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

/// A libjpeg compressor fed whole rows in order, top to bottom.
pub(super) struct RowEncoder {
    started: mozjpeg::compress::CompressStarted<Vec<u8>>,
}

// SAFETY: a libjpeg compressor has no tie to the thread that made it (no thread-local state;
// errors unwind on whichever thread calls it); it is used by one thread at a time: made and
// fed on the encoding thread, then moved to the threads that run its last pass (`Encoding`).
unsafe impl Send for RowEncoder {}

impl RowEncoder {
    pub(super) fn fail(e: &dyn std::fmt::Display) -> ImageError {
        ImageError::Invalid(format!("cannot encode variant: {e}"))
    }

    /// Writes the headers (and `icc` as APP2 segments) of a `width`×`height` image.
    pub(super) fn start(
        size: (u32, u32),
        space: ColorSpace,
        gray: bool,
        quality: u8,
        icc: Option<&[u8]>,
    ) -> Result<RowEncoder, ImageError> {
        Self::start_with(encoder_error_mgr(), size, space, gray, quality, icc)
    }

    /// `start` with the error manager `err` (the tests' reference: libjpeg's own memory
    /// manager, without `coefficients`' hook).
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
    pub(super) fn write(&mut self, rows: &[u8]) -> Result<(), ImageError> {
        self.started
            .write_scanlines(rows)
            .map_err(|e| Self::fail(&e))
    }

    /// The encoded file, once every row is written.
    pub(super) fn finish(self) -> Result<Vec<u8>, ImageError> {
        self.started.finish().map_err(|e| Self::fail(&e))
    }
}
