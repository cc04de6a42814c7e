//! The resize kernels: Lanczos3 (fast_image_resize) in bands, on a whole image, on one 8-bit
//! plane, or on rows still arriving from a decoder.

use fast_image_resize::PixelTrait;
use fast_image_resize::{FilterType, IntoImageViewMut, ResizeAlg, ResizeOptions, Resizer};
use image::{ColorType, DynamicImage};

use super::error::ImageError;

/// Typed per layout: `normalize` leaves only 8- and 16-bit gray, gray+alpha, RGB and RGBA, and
/// resizing just those keeps fast_image_resize's other pixel types (a third of the binary) out.
pub(super) fn resize_image(
    src: &DynamicImage,
    width: u32,
    height: u32,
    premultiplied: bool,
) -> Result<DynamicImage, ImageError> {
    use fast_image_resize::pixels::{U16x2, U16x3, U16x4, U8x2, U8x3, U8x4, U16, U8};
    let mut dst = DynamicImage::new(width, height, src.color());
    let use_alpha = !premultiplied;
    let all = (f64::from(src.width()), f64::from(src.height()));
    match src.color() {
        ColorType::L8 => typed::<U8>(src, all, &mut dst, use_alpha),
        ColorType::La8 => typed::<U8x2>(src, all, &mut dst, use_alpha),
        ColorType::Rgb8 => typed::<U8x3>(src, all, &mut dst, use_alpha),
        ColorType::Rgba8 => typed::<U8x4>(src, all, &mut dst, use_alpha),
        ColorType::L16 => typed::<U16>(src, all, &mut dst, use_alpha),
        ColorType::La16 => typed::<U16x2>(src, all, &mut dst, use_alpha),
        ColorType::Rgb16 => typed::<U16x3>(src, all, &mut dst, use_alpha),
        ColorType::Rgba16 => typed::<U16x4>(src, all, &mut dst, use_alpha),
        other => Err(ImageError::Invalid(format!(
            "cannot resize {other:?} pixels"
        ))),
    }?;
    Ok(dst)
}

/// Lanczos3 resize of one 8-bit plane: its top-left `extent` (width, height; fractional, at
/// most the plane's size) becomes `width`×`height`.
pub(super) fn resize_plane(
    src: &DynamicImage,
    extent: (f64, f64),
    width: u32,
    height: u32,
) -> Result<DynamicImage, ImageError> {
    let mut dst = DynamicImage::new(width, height, ColorType::L8);
    typed::<fast_image_resize::pixels::U8>(src, extent, &mut dst, false)?;
    Ok(dst)
}

/// Destination rows per band. fast_image_resize's working buffer holds one band's worth of
/// source-width rows instead of the whole destination height: 27 MB less for a 15 MP RGBA
/// PNG's `large`. Each band is cropped from the source at exactly its place, and the filter
/// reads past the crop edge (clamped at the image's edges only), so bands join seamlessly.
/// (Bands on two threads saved at most 10 ms of a 180 ms JPEG job, for 0.47 MB more binary.)
const BAND_ROWS: u32 = 128;

/// Resizes the top-left `(src_w, src_h)` of `src` into all of `dst`, in bands.
fn typed<P: PixelTrait>(
    src: &DynamicImage,
    extent: (f64, f64),
    dst: &mut DynamicImage,
    use_alpha: bool,
) -> Result<(), ImageError> {
    // The same view type as `resize_arriving`'s, so one copy of the resizing code per pixel type.
    bands::<P, _>(extent, dst, use_alpha, |_| {
        fast_image_resize::images::TypedImageRef::<P>::from_buffer(
            src.width(),
            src.height(),
            src.as_bytes(),
        )
        .map_err(|e| resize_failed(&e))
    })
}

fn resize_failed(e: &dyn std::fmt::Display) -> ImageError {
    ImageError::Invalid(format!("cannot resize: {e}"))
}

/// Lanczos3 of the top-left `(src_w, src_h)` of a source into all of `dst`, band by band.
/// `rows(n)` gives a view of the source holding at least its first `n` rows (all of them, or
/// a growing prefix while it is still being decoded): each band asks for the rows its filter
/// reaches, so a prefix gives the same result as the whole.
fn bands<P: PixelTrait, V: fast_image_resize::ImageView<Pixel = P>>(
    (src_w, src_h): (f64, f64),
    dst: &mut DynamicImage,
    use_alpha: bool,
    mut rows: impl FnMut(u32) -> Result<V, ImageError>,
) -> Result<(), ImageError> {
    // Built here, not passed in: with the algorithm a constant, the compiler drops
    // fast_image_resize's other ones (passed in from several callers, it kept them: 40 KB).
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .use_alpha(use_alpha);
    use fast_image_resize::{ImageView, ImageViewMut};
    use std::num::NonZeroU32;
    let mut dst_view = dst
        .image_view_mut::<P>()
        .ok_or_else(|| resize_failed(&"pixel layout"))?;
    let dst_h = dst_view.height();
    let (Some(height), Some(bands)) = (
        NonZeroU32::new(dst_h),
        NonZeroU32::new(dst_h.div_ceil(BAND_ROWS)),
    ) else {
        return Ok(());
    };
    let scale = src_h / f64::from(dst_h);
    // Lanczos3 reaches 3 source pixels (3 × scale when shrinking) past a pixel's centre.
    let reach = 3.0 * scale.max(1.0);
    let parts = dst_view
        .split_by_height_mut(0, height, bands)
        .ok_or_else(|| resize_failed(&"bands"))?;
    let mut resizer = Resizer::new();
    let mut top = 0u32;
    for mut part in parts {
        let band = part.height();
        let y = f64::from(top) * scale;
        let h = (f64::from(band) * scale).min(src_h - y);
        let needed = (y + h + reach).ceil() + 1.0;
        let src_view = rows(needed.min(f64::from(u32::MAX)) as u32)?;
        resizer
            .resize_typed(&src_view, &mut part, &options.crop(0.0, y, src_w, h))
            .map_err(|e| resize_failed(&e))?;
        top += band;
    }
    Ok(())
}

/// Lanczos3 of an 8-bit gray (`P` = U8) or RGB (`P` = U8x3) image arriving row by row, into
/// `dst` (same layout). `rows(n)` blocks until the first `n` rows are decoded (or all there
/// are) and gives them as bytes; `None` if decoding stopped before.
pub(super) fn resize_arriving<'a, P: PixelTrait>(
    (src_w, src_h): (u32, u32),
    dst: &mut DynamicImage,
    mut rows: impl FnMut(u32) -> Option<&'a [u8]>,
) -> Result<(), ImageError> {
    let extent = (f64::from(src_w), f64::from(src_h));
    let stride = src_w as usize * std::mem::size_of::<P>();
    bands::<P, _>(extent, dst, false, |n| {
        let bytes = rows(n.min(src_h)).ok_or_else(|| resize_failed(&"decoding stopped"))?;
        let have = u32::try_from(bytes.len() / stride.max(1)).unwrap_or(0);
        fast_image_resize::images::TypedImageRef::<P>::from_buffer(src_w, have, bytes)
            .map_err(|e| resize_failed(&e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banded_resize_equals_one_pass() {
        let src = DynamicImage::ImageRgba8(image::RgbaImage::from_fn(1501, 1003, |x, y| {
            image::Rgba([
                (x * 13 % 256) as u8,
                (y * 7 % 256) as u8,
                ((x ^ y) % 256) as u8,
                255,
            ])
        }));
        let mut one = DynamicImage::new(700, 468, src.color());
        let options = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
            .use_alpha(false);
        Resizer::new().resize(&src, &mut one, &options).unwrap();
        let banded = resize_image(&src, 700, 468, true).unwrap();
        let worst = one
            .as_bytes()
            .iter()
            .zip(banded.as_bytes())
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        assert!(worst <= 1, "off by {worst}");
    }

    #[test]
    fn resizing_rows_as_they_arrive_equals_resizing_the_whole() {
        let (w, h) = (1501u32, 1003u32);
        let src = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([
                (x * 13 % 256) as u8,
                (y * 7 % 256) as u8,
                ((x ^ y) % 256) as u8,
            ])
        });
        let whole = resize_image(&DynamicImage::ImageRgb8(src.clone()), 700, 468, false).unwrap();
        // Each band gets exactly the rows it asks for, as if the decoder had just made them.
        let mut arriving = DynamicImage::new(700, 468, ColorType::Rgb8);
        let stride = w as usize * 3;
        let mut asked = Vec::new();
        resize_arriving::<fast_image_resize::pixels::U8x3>((w, h), &mut arriving, |n| {
            asked.push(n);
            Some(&src.as_raw()[..n as usize * stride])
        })
        .unwrap();
        assert!(
            arriving.as_bytes() == whole.as_bytes(),
            "not the same pixels"
        );
        assert!(asked.windows(2).all(|p| p[0] <= p[1]), "{asked:?}");
        assert_eq!(asked.last(), Some(&h));
        assert!(
            asked[0] < h / 2,
            "the first band waits for {} rows",
            asked[0]
        );
    }
}
