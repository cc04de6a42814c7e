//! The resize kernels: Lanczos3 (fast_image_resize) in bands, on a whole image, on one 8-bit
//! plane, or on rows still arriving from a decoder.

use fast_image_resize::PixelTrait;
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
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

/// Samples per unit of the Lanczos3 table: linear interpolation between them is within 5e-7 of
/// the exact kernel, far below the 14-bit fixed-point weights fast_image_resize filters with.
const LANCZOS_STEPS: usize = 1024;

/// Lanczos3, sinc(x)·sinc(x/3) on |x| < 3, from a table made once per process.
///
/// fast_image_resize computes a resize's weights in every call, two `sin` per weight; a JPEG's
/// `large` is made in ~11 bands, each recomputing the same horizontal weights (6 % of a 16 MP
/// `variants` run was `sin`). With the table, the kernel is computed once (3 × 1024 points)
/// and each weight is a lookup.
fn lanczos3() -> FilterType {
    match fast_image_resize::Filter::new("Lanczos3", lanczos3_kernel, 3.0) {
        Ok(filter) => FilterType::Custom(filter),
        Err(_) => FilterType::Lanczos3,
    }
}

/// The exact Lanczos3 kernel, sinc(x)·sinc(x/3) on |x| < 3.
fn lanczos3_exact(x: f64) -> f64 {
    let sinc = |x: f64| {
        if x == 0.0 {
            1.0
        } else {
            let px = std::f64::consts::PI * x;
            px.sin() / px
        }
    };
    if x.abs() < 3.0 {
        sinc(x) * sinc(x / 3.0)
    } else {
        0.0
    }
}

/// The tabulated Lanczos3 kernel (see `lanczos3`): linear between the table's points.
fn lanczos3_kernel(x: f64) -> f64 {
    static TABLE: std::sync::OnceLock<Box<[f64]>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        (0..=3 * LANCZOS_STEPS + 1)
            .map(|i| lanczos3_exact(i as f64 / LANCZOS_STEPS as f64))
            .collect()
    });
    let at = x.abs() * LANCZOS_STEPS as f64;
    if at >= (3 * LANCZOS_STEPS) as f64 {
        return 0.0;
    }
    let i = at as usize;
    table[i] + (table[i + 1] - table[i]) * (at - i as f64)
}

/// Resizes the top-left `(src_w, src_h)` of `src` into all of `dst`, in bands.
fn typed<P: PixelTrait>(
    src: &DynamicImage,
    extent: (f64, f64),
    dst: &mut DynamicImage,
    use_alpha: bool,
) -> Result<(), ImageError> {
    // The same view type as `resize_arriving`'s, so one copy of the resizing code per pixel type.
    bands::<P, _>(
        extent,
        dst,
        use_alpha,
        |_| {
            fast_image_resize::images::TypedImageRef::<P>::from_buffer(
                src.width(),
                src.height(),
                src.as_bytes(),
            )
            .map_err(|e| resize_failed(&e))
        },
        &mut |_| Ok(()),
    )
}

fn resize_failed(e: &dyn std::fmt::Display) -> ImageError {
    ImageError::Invalid(format!("cannot resize: {e}"))
}

/// Lanczos3 of the top-left `(src_w, src_h)` of a source into all of `dst`, band by band.
/// `rows(n)` gives a view of the source holding at least its first `n` rows (all of them, or
/// a growing prefix while it is still being decoded): each band asks for the rows its filter
/// reaches, so a prefix gives the same result as the whole. `made` gets each band's finished
/// rows (as bytes), top to bottom, as soon as they are.
fn bands<P: PixelTrait, V: fast_image_resize::ImageView<Pixel = P>>(
    (src_w, src_h): (f64, f64),
    dst: &mut DynamicImage,
    use_alpha: bool,
    mut rows: impl FnMut(u32) -> Result<V, ImageError>,
    made: &mut dyn FnMut(&[u8]) -> Result<(), ImageError>,
) -> Result<(), ImageError> {
    // Built here, not passed in: with the algorithm a constant, the compiler drops
    // fast_image_resize's other ones (passed in from several callers, it kept them: 40 KB).
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(lanczos3()))
        .use_alpha(use_alpha);
    let (dst_w, dst_h) = (dst.width(), dst.height());
    let stride = dst_w as usize * std::mem::size_of::<P>();
    let bytes = bytes_mut(dst)
        .filter(|b| b.len() == stride * dst_h as usize)
        .ok_or_else(|| resize_failed(&"pixel layout"))?;
    if dst_h == 0 || stride == 0 {
        return Ok(());
    }
    let scale = src_h / f64::from(dst_h);
    // Lanczos3 reaches 3 source pixels (3 × scale when shrinking) past a pixel's centre.
    let reach = 3.0 * scale.max(1.0);
    let mut resizer = Resizer::new();
    for (i, band_bytes) in bytes.chunks_mut(BAND_ROWS as usize * stride).enumerate() {
        let top = i as u32 * BAND_ROWS;
        let band = (band_bytes.len() / stride) as u32;
        let y = f64::from(top) * scale;
        let h = (f64::from(band) * scale).min(src_h - y);
        let needed = (y + h + reach).ceil() + 1.0;
        let src_view = rows(needed.min(f64::from(u32::MAX)) as u32)?;
        let mut part =
            fast_image_resize::images::TypedImage::<P>::from_buffer(dst_w, band, band_bytes)
                .map_err(|e| resize_failed(&e))?;
        resizer
            .resize_typed(&src_view, &mut part, &options.crop(0.0, y, src_w, h))
            .map_err(|e| resize_failed(&e))?;
        made(band_bytes)?;
    }
    Ok(())
}

/// The samples of an image of one of `resize_image`'s layouts, as bytes.
fn bytes_mut(img: &mut DynamicImage) -> Option<&mut [u8]> {
    use std::ops::DerefMut;
    Some(match img {
        DynamicImage::ImageLuma8(i) => i.deref_mut(),
        DynamicImage::ImageLumaA8(i) => i.deref_mut(),
        DynamicImage::ImageRgb8(i) => i.deref_mut(),
        DynamicImage::ImageRgba8(i) => i.deref_mut(),
        DynamicImage::ImageLuma16(i) => bytemuck::cast_slice_mut(i.deref_mut()),
        DynamicImage::ImageLumaA16(i) => bytemuck::cast_slice_mut(i.deref_mut()),
        DynamicImage::ImageRgb16(i) => bytemuck::cast_slice_mut(i.deref_mut()),
        DynamicImage::ImageRgba16(i) => bytemuck::cast_slice_mut(i.deref_mut()),
        _ => return None,
    })
}

/// Lanczos3 of an 8-bit gray (`P` = U8) or RGB (`P` = U8x3) image arriving row by row, into
/// `dst` (same layout). `rows(n)` blocks until the first `n` rows are decoded (or all there
/// are) and gives them as bytes; `None` if decoding stopped before. `made` gets `dst`'s rows
/// in order as they are finished (see `bands`).
pub(super) fn resize_arriving<'a, P: PixelTrait>(
    (src_w, src_h): (u32, u32),
    dst: &mut DynamicImage,
    mut rows: impl FnMut(u32) -> Option<&'a [u8]>,
    made: &mut dyn FnMut(&[u8]) -> Result<(), ImageError>,
) -> Result<(), ImageError> {
    let extent = (f64::from(src_w), f64::from(src_h));
    let stride = src_w as usize * std::mem::size_of::<P>();
    bands::<P, _>(
        extent,
        dst,
        false,
        |n| {
            let bytes = rows(n.min(src_h)).ok_or_else(|| resize_failed(&"decoding stopped"))?;
            let have = u32::try_from(bytes.len() / stride.max(1)).unwrap_or(0);
            fast_image_resize::images::TypedImageRef::<P>::from_buffer(src_w, have, bytes)
                .map_err(|e| resize_failed(&e))
        },
        made,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabulated_lanczos3_is_the_kernel() {
        let worst = (-3500..=3500)
            .map(|i| f64::from(i) * 0.001 + 0.000_37)
            .map(|x| (lanczos3_kernel(x) - lanczos3_exact(x)).abs())
            .fold(0.0, f64::max);
        assert!(worst < 5e-7, "{worst}");
        assert!(matches!(lanczos3(), FilterType::Custom(f) if f.support() == 3.0));
    }

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
        let mut made = Vec::new();
        resize_arriving::<fast_image_resize::pixels::U8x3>(
            (w, h),
            &mut arriving,
            |n| {
                asked.push(n);
                Some(&src.as_raw()[..n as usize * stride])
            },
            &mut |rows| {
                made.extend_from_slice(rows);
                Ok(())
            },
        )
        .unwrap();
        assert!(made == whole.as_bytes(), "the rows handed on are the image");
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
