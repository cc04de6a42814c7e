//! Decoded pixels (an image, or a lossy WebP's 4:2:0 planes) and what is done to them: a layout
//! the output format can hold, alpha multiplied in for resizing and divided out again
//! (premultiplied alpha); resizing (`resize.rs`), orientation (`orient.rs`) and colour
//! management (`colour.rs`) for either kind.

pub(in crate::image) mod colour;
pub(in crate::image) mod orient;
pub(in crate::image) mod resize;
pub(in crate::image) mod yuv;

use fast_image_resize::{IntoImageViewMut, PixelTrait};
use image::{ColorType, DynamicImage};

use crate::image::codecs::OutputFormat;
use crate::image::error::ImageError;
use crate::image::pixels::resize::resize_image;
use crate::image::pixels::yuv::Yuv;

/// Converts decoded pixels to a layout the output format can hold, once, before any resize:
/// 8-bit for JPEG and WebP (RGB, gray, or RGBA where there is alpha), PNG keeps its depth.
pub(in crate::image) fn normalize(img: DynamicImage, format: OutputFormat) -> DynamicImage {
    use DynamicImage as D;
    match (format, img) {
        (
            OutputFormat::Png,
            img @ (D::ImageLuma8(_)
            | D::ImageLumaA8(_)
            | D::ImageRgb8(_)
            | D::ImageRgba8(_)
            | D::ImageLuma16(_)
            | D::ImageLumaA16(_)
            | D::ImageRgb16(_)
            | D::ImageRgba16(_)),
        ) => img,
        (OutputFormat::Png, img) => D::ImageRgba16(img.to_rgba16()),
        (OutputFormat::Jpeg, img @ (D::ImageLuma8(_) | D::ImageRgb8(_))) => img,
        (OutputFormat::Jpeg, img) if !img.color().has_color() => D::ImageLuma8(img.to_luma8()),
        (OutputFormat::Jpeg, img) => D::ImageRgb8(img.to_rgb8()),
        (OutputFormat::WebP, img @ (D::ImageRgb8(_) | D::ImageRgba8(_))) => img,
        (OutputFormat::WebP, img) if img.color().has_alpha() => D::ImageRgba8(img.to_rgba8()),
        (OutputFormat::WebP, img) => D::ImageRgb8(img.to_rgb8()),
    }
}

/// Decoded pixels: an image in RGB(A) or gray, or an opaque lossy WebP in its own 4:2:0 planes.
#[derive(Debug, Clone)]
pub(in crate::image) enum Pixels {
    Image(DynamicImage),
    Yuv(Yuv),
}

impl Pixels {
    pub(in crate::image) fn apply_orientation(
        &mut self,
        orientation: image::metadata::Orientation,
    ) {
        match self {
            Pixels::Image(img) => crate::image::pixels::orient::apply(img, orientation),
            Pixels::Yuv(yuv) => yuv.apply_orientation(orientation),
        }
    }
}

/// Multiplies the colour channels by alpha in place, when there is alpha; returns whether it
/// did. Resizing then filters premultiplied pixels (no dark fringes around transparency)
/// without the premultiplied copy of the whole source that fast_image_resize would otherwise
/// allocate (59 MB for a 15 MP RGBA PNG).
pub(in crate::image) fn premultiply(img: &mut DynamicImage) -> Result<bool, ImageError> {
    if !img.color().has_alpha() {
        return Ok(false);
    }
    alpha(img, Alpha::Multiply)?;
    Ok(true)
}

#[derive(Clone, Copy)]
pub(in crate::image) enum Alpha {
    Multiply,
    Divide,
}

pub(in crate::image) fn alpha(img: &mut DynamicImage, op: Alpha) -> Result<(), ImageError> {
    use fast_image_resize::pixels::{U16x2, U16x4, U8x2, U8x4};
    match img.color() {
        ColorType::La8 => alpha_typed::<U8x2>(img, op),
        ColorType::Rgba8 => alpha_typed::<U8x4>(img, op),
        ColorType::La16 => alpha_typed::<U16x2>(img, op),
        ColorType::Rgba16 => alpha_typed::<U16x4>(img, op),
        _ => Ok(()),
    }
}

fn alpha_typed<P: PixelTrait>(img: &mut DynamicImage, op: Alpha) -> Result<(), ImageError> {
    let fail = |e: &dyn std::fmt::Display| ImageError::Invalid(format!("cannot resize: {e}"));
    let mut view = img
        .image_view_mut::<P>()
        .ok_or_else(|| fail(&"pixel layout"))?;
    let md = fast_image_resize::MulDiv::default();
    match op {
        Alpha::Multiply => md.multiply_alpha_inplace_typed(&mut view),
        Alpha::Divide => md.divide_alpha_inplace_typed(&mut view),
    }
    .map_err(|e| fail(&e))
}

/// Lanczos3 resize. Pixels with alpha are filtered premultiplied: already so when
/// `premultiplied` (the result stays premultiplied), otherwise fast_image_resize does it on a copy.
pub(in crate::image) fn resize(
    src: &Pixels,
    width: u32,
    height: u32,
    premultiplied: bool,
) -> Result<Pixels, ImageError> {
    match src {
        Pixels::Image(img) => Ok(Pixels::Image(resize_image(
            img,
            width,
            height,
            premultiplied,
        )?)),
        Pixels::Yuv(yuv) => Ok(Pixels::Yuv(yuv.resize(width, height)?)),
    }
}
