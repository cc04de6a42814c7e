//! What the decoders of the formats browsers do not all show (TIFF, GIF, BMP, HEIC/HEIF/AVIF:
//! PRODUCT.md "Input formats") share: the header they read first, the checks that refuse an image from
//! it, and the one way the pipeline reads their pixels — rows top to bottom, or the image
//! whole.

use image::{ColorType, DynamicImage};

use super::ColourModel;
use super::MAX_DECODED_BYTES;
use crate::image::error::ImageError;

/// What a header (container) says, read without decoding the pixels of the image itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::image) struct Header {
    /// As the decoder gives the pixels, before `orientation`, pixels.
    pub width: u32,
    pub height: u32,
    /// EXIF-style 1–8 still to apply after decoding (TIFF's Orientation tag); 1 for GIF and
    /// BMP, which have none, and for HEIF, whose decoder applies its transformations.
    pub orientation: u8,
    /// As coded in the file, pixels (HEIF: before its crop and turns; otherwise `width` and
    /// `height`), for the report.
    pub coded: (u32, u32),
    /// The EXIF orientation (1–8) equal to the turns the decoder applied itself (HEIF's
    /// `irot`/`imir`), for the report; 1 for the others.
    pub turned_by_decoder: u8,
    /// The embedded ICC profile as stored (not applied).
    pub icc: Option<Vec<u8>>,
    /// The decoder gives sRGB pixels whatever the file's colour space (TIFF CMYK through its
    /// profile, CIELab): `icc` then describes the file, not the pixels, and is neither carried
    /// nor applied.
    pub in_srgb: bool,
    /// Bits per sample as stored (a palette's index bits for indexed images).
    pub bit_depth: u8,
    pub colour_model: ColourModel,
    /// True when the decoded image has pixels that are not fully opaque.
    pub alpha: bool,
    /// Frames of an animation (GIF), or 1.
    pub frames: u32,
    /// Full-resolution pages (TIFF), or 1.
    pub pages: u32,
    /// What a person should know about the file (damage repaired, parts ignored).
    pub warnings: Vec<String>,
}

/// An open decoder of one image that gives its pixels as 8-bit rows, top to bottom, or whole.
/// Memory it holds while giving rows is bounded by a strip, a tile row or a row, never the
/// image (each decoder documents its own).
pub(in crate::image) trait RowDecoder {
    /// The layout `read` fills: `L8`, `La8`, `Rgb8` or `Rgba8` (straight alpha).
    fn layout(&self) -> ColorType;
    /// Fills `rows` (a whole number of `layout()` rows of the stored width) with the next
    /// rows. Errors: `Invalid` for damaged data; `Internal` for rows not whole or past the
    /// last.
    fn read(&mut self, rows: &mut [u8]) -> Result<(), ImageError>;
    /// The image whole, at the depth the file keeps (16-bit gray and RGB TIFFs stay 16-bit),
    /// alpha straight, no profile applied. Errors: as `read`; `TooLarge` past the decoder's
    /// budget.
    fn decode(self: Box<Self>) -> Result<DynamicImage, ImageError>;
}

/// Implements [`RowDecoder`] for a codec's `Decoder<'_>` by its own `layout`, `read` and
/// `decode` (each codec documents what they give).
macro_rules! row_decoder {
    ($decoder:ident) => {
        impl $crate::image::codecs::rows::RowDecoder for $decoder<'_> {
            fn layout(&self) -> ::image::ColorType {
                $decoder::layout(self)
            }

            fn read(&mut self, rows: &mut [u8]) -> Result<(), $crate::image::ImageError> {
                $decoder::read(self, rows)
            }

            fn decode(self: Box<Self>) -> Result<::image::DynamicImage, $crate::image::ImageError> {
                $decoder::decode(*self)
            }
        }
    };
}
pub(crate) use row_decoder;

/// Refusal of an image whose pixels are over `max_pixels` (`MAX_INPUT_PIXELS`,
/// `input_too_large`), or that has none (`Invalid`).
pub(in crate::image) fn check_pixels(
    (w, h): (u32, u32),
    max_pixels: u64,
) -> Result<(), ImageError> {
    let pixels = u64::from(w) * u64::from(h);
    if pixels > max_pixels {
        return Err(ImageError::TooLarge(format!(
            "{w}x{h} is {pixels} pixels, over MAX_INPUT_PIXELS ({max_pixels})"
        )));
    }
    if w == 0 || h == 0 {
        return Err(ImageError::Invalid(format!(
            "image has no pixels ({w}x{h})"
        )));
    }
    Ok(())
}

/// Refusal (`TooLarge`) of an image whose decoding would hold more than `MAX_DECODED_BYTES`;
/// `what` names it ("the GIF").
pub(in crate::image) fn check_budget(bytes: u64, what: &str) -> Result<(), ImageError> {
    if bytes > MAX_DECODED_BYTES {
        return Err(ImageError::TooLarge(format!(
            "{what} needs {bytes} bytes decoded, over the {MAX_DECODED_BYTES}-byte decoding budget"
        )));
    }
    Ok(())
}

/// The whole image from a decoder's `read`: `(w, h)` pixels of 8-bit `layout` (`L8`, `La8`,
/// `Rgb8` or `Rgba8`). Errors: `read`'s; `Internal` for another layout.
pub(in crate::image) fn whole(
    (w, h): (u32, u32),
    layout: ColorType,
    read: impl FnOnce(&mut [u8]) -> Result<(), ImageError>,
) -> Result<DynamicImage, ImageError> {
    use image::ImageBuffer;
    let mut buf = vec![0; w as usize * h as usize * usize::from(layout.channel_count())];
    read(&mut buf)?;
    let image = match layout {
        ColorType::L8 => ImageBuffer::from_raw(w, h, buf).map(DynamicImage::ImageLuma8),
        ColorType::La8 => ImageBuffer::from_raw(w, h, buf).map(DynamicImage::ImageLumaA8),
        ColorType::Rgb8 => ImageBuffer::from_raw(w, h, buf).map(DynamicImage::ImageRgb8),
        ColorType::Rgba8 => ImageBuffer::from_raw(w, h, buf).map(DynamicImage::ImageRgba8),
        _ => None,
    };
    image.ok_or_else(|| ImageError::Internal(format!("no {w}x{h} {layout:?} image from rows")))
}

/// `rows` cut into rows of `width` pixels of `layout`, for a decoder's `read`.
///
/// Errors: `Internal` when `rows` is not a whole number of rows.
pub(in crate::image) fn rows_of(
    rows: &mut [u8],
    width: u32,
    layout: ColorType,
) -> Result<std::slice::ChunksExactMut<'_, u8>, ImageError> {
    let stride = width as usize * usize::from(layout.channel_count());
    if stride == 0 || !rows.len().is_multiple_of(stride) {
        return Err(ImageError::Internal(format!(
            "rows of {stride} bytes asked for in a buffer of {}",
            rows.len()
        )));
    }
    Ok(rows.chunks_exact_mut(stride))
}
