//! The resize kernels: Lanczos3 (fast_image_resize) in bands, on a whole image, on one 8-bit
//! plane, or on rows still arriving from a decoder.

use fast_image_resize::PixelTrait;
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::{ColorType, DynamicImage};

use crate::image::error::ImageError;

/// Typed per layout: `normalize` leaves only 8- and 16-bit gray, gray+alpha, RGB and RGBA, and
/// resizing just those keeps fast_image_resize's other pixel types (a third of the binary) out.
pub(in crate::image) fn resize_image(
    src: &DynamicImage,
    width: u32,
    height: u32,
    premultiplied: bool,
) -> Result<DynamicImage, ImageError> {
    use fast_image_resize::pixels::{U16x2, U16x3, U16x4, U8x2, U8x3, U8x4, U16, U8};
    let dst = DynamicImage::new(width, height, src.color());
    let use_alpha = !premultiplied;
    let all = (f64::from(src.width()), f64::from(src.height()));
    match src.color() {
        ColorType::L8 => typed::<U8>(src, all, dst, use_alpha),
        ColorType::La8 => typed::<U8x2>(src, all, dst, use_alpha),
        ColorType::Rgb8 => typed::<U8x3>(src, all, dst, use_alpha),
        ColorType::Rgba8 => typed::<U8x4>(src, all, dst, use_alpha),
        ColorType::L16 => typed::<U16>(src, all, dst, use_alpha),
        ColorType::La16 => typed::<U16x2>(src, all, dst, use_alpha),
        ColorType::Rgb16 => typed::<U16x3>(src, all, dst, use_alpha),
        ColorType::Rgba16 => typed::<U16x4>(src, all, dst, use_alpha),
        other => Err(ImageError::Invalid(format!(
            "cannot resize {other:?} pixels"
        ))),
    }
}

/// Lanczos3 resize of one 8-bit plane: its top-left `extent` (width, height; fractional, at
/// most the plane's size) becomes `width`×`height`.
pub(in crate::image) fn resize_plane(
    src: &DynamicImage,
    extent: (f64, f64),
    width: u32,
    height: u32,
) -> Result<DynamicImage, ImageError> {
    let dst = DynamicImage::new(width, height, ColorType::L8);
    typed::<fast_image_resize::pixels::U8>(src, extent, dst, false)
}

/// Destination rows per band. fast_image_resize's working buffer holds one band's worth of
/// source-width rows instead of the whole destination height: 27 MB less for a 15 MP RGBA
/// PNG's `large`. Each band is cropped from the source at exactly its place, and the filter
/// reads past the crop edge (clamped at the image's edges only), so bands join seamlessly.
/// (Bands on two threads saved at most 10 ms of a 180 ms JPEG job, for 0.47 MB more binary.)
pub(in crate::image) const BAND_ROWS: u32 = 128;

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

/// Resizes the top-left `extent` of `src` into all of `dst`, in bands.
fn typed<P: PixelTrait>(
    src: &DynamicImage,
    extent: (f64, f64),
    dst: DynamicImage,
    use_alpha: bool,
) -> Result<DynamicImage, ImageError> {
    // The same band loop as `resize_arriving`'s, so one copy of the resizing code per pixel
    // type.
    let banded = Banded::new(extent, dst, use_alpha)?;
    bands::<P>(banded, src.width(), &mut Whole(src.as_bytes()), &mut |_| {
        Ok(())
    })
    .map(Banded::into_image)
}

fn resize_failed(e: &dyn std::fmt::Display) -> ImageError {
    ImageError::Invalid(format!("cannot resize: {e}"))
}

/// Called after each band with its rows (`MadeBand`).
pub(in crate::image) type BandMade<'a> = dyn FnMut(MadeBand<'_>) -> Result<(), ImageError> + 'a;

/// A band just made: `rows` (as bytes) are the destination's rows from its top to the band's
/// end, the band those from `first` on.
#[derive(Clone, Copy)]
pub(in crate::image) struct MadeBand<'a> {
    pub rows: &'a [u8],
    pub first: u32,
}

impl<'a> MadeBand<'a> {
    /// The band's own rows, `stride` bytes each.
    pub(in crate::image) fn band(&self, stride: usize) -> &'a [u8] {
        &self.rows[self.first as usize * stride..]
    }
}

/// The most source rows one band's filter reaches when `src_h` rows become `dst_h`: a band's
/// share, Lanczos3's reach on both sides, and rounding.
pub(in crate::image) fn band_reach(src_h: u32, dst_h: u32) -> u32 {
    let scale = f64::from(src_h) / f64::from(dst_h.max(1));
    let reach = 3.0 * scale.max(1.0);
    ((f64::from(BAND_ROWS) * scale).ceil() + 2.0 * reach + 4.0) as u32
}

/// The source rows a band's filter reaches: from `first`, up to (not including) `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::image) struct Reach {
    pub first: u32,
    pub end: u32,
}

/// A Lanczos3 resize of the top-left `src` extent (width, height; fractional for a plane) of
/// a source into an image of its own, made band by band, top to bottom. Each band reads only
/// the source rows its filter reaches (`next`), which move down from band to band, so the
/// source can be a window of rows or a prefix still growing, with the same result as the whole
/// (the same weights, but for the last bits of their f64 arithmetic: in the tests, identical).
/// A window or prefix needs an integer extent: with a fractional one (a padded plane) the last
/// band's filter may reach a row past it, which only a whole source has.
pub(in crate::image) struct Banded<P> {
    dst: DynamicImage,
    /// Bytes per row of `dst`.
    stride: usize,
    /// Rows of the destination made so far.
    done: u32,
    src: (f64, f64),
    /// Source rows per destination row.
    scale: f64,
    /// How far Lanczos3 reaches past a pixel's centre, in source rows (3 × scale when
    /// shrinking).
    reach: f64,
    use_alpha: bool,
    resizer: Resizer,
    pixel: std::marker::PhantomData<P>,
}

impl<P: PixelTrait> Banded<P> {
    /// Into `dst` (its size and layout, `P` its pixel); `use_alpha`: fast_image_resize
    /// multiplies alpha in on a copy (not needed for premultiplied or opaque pixels).
    pub(in crate::image) fn new(
        src: (f64, f64),
        mut dst: DynamicImage,
        use_alpha: bool,
    ) -> Result<Banded<P>, ImageError> {
        let stride = dst.width() as usize * std::mem::size_of::<P>();
        let rows = dst.height() as usize;
        bytes_mut(&mut dst)
            .filter(|b| b.len() == stride * rows)
            .ok_or_else(|| resize_failed(&"pixel layout"))?;
        let scale = src.1 / f64::from(dst.height().max(1));
        Ok(Banded {
            dst,
            stride,
            done: 0,
            src,
            scale,
            reach: 3.0 * scale.max(1.0),
            use_alpha,
            resizer: Resizer::new(),
            pixel: std::marker::PhantomData,
        })
    }

    /// The next band's rows (`done..done + band`) and where they come from in the source
    /// (`y`, `h` rows).
    fn band(&self) -> (u32, f64, f64) {
        let band = BAND_ROWS.min(self.dst.height() - self.done);
        let y = f64::from(self.done) * self.scale;
        (band, y, (f64::from(band) * self.scale).min(self.src.1 - y))
    }

    /// The source rows the next band reaches, or `None` when every band is made.
    pub(in crate::image) fn next(&self) -> Option<Reach> {
        if self.done >= self.dst.height() || self.stride == 0 {
            return None;
        }
        let (_, y, h) = self.band();
        let end = ((y + h + self.reach).ceil() + 1.0).min(self.src.1.ceil());
        let first = (y - self.reach).floor() - 1.0;
        Some(Reach {
            first: first.clamp(0.0, self.src.1) as u32,
            end: end as u32,
        })
    }

    /// Makes the next band from `view`, source rows from `top` on (holding at least `next()`'s
    /// rows). Returns the band, with the rows made above it.
    pub(in crate::image) fn make<V: fast_image_resize::ImageView<Pixel = P>>(
        &mut self,
        view: &V,
        top: u32,
    ) -> Result<MadeBand<'_>, ImageError> {
        let (band, y, h) = self.band();
        let (dst_w, stride, first) = (self.dst.width(), self.stride, self.done);
        let bytes = bytes_mut(&mut self.dst).ok_or_else(|| resize_failed(&"pixel layout"))?;
        let rows = first as usize * stride..(first + band) as usize * stride;
        let mut part = fast_image_resize::images::TypedImage::<P>::from_buffer(
            dst_w,
            band,
            &mut bytes[rows.clone()],
        )
        .map_err(|e| resize_failed(&e))?;
        // Built here, where it is used, not stored or passed in: with the algorithm a constant
        // at the call, the compiler drops fast_image_resize's other ones (kept otherwise:
        // 40 KB and more of the binary).
        let crop = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(lanczos3()))
            .use_alpha(self.use_alpha)
            .crop(0.0, y - f64::from(top), self.src.0, h);
        self.resizer
            .resize_typed(view, &mut part, &crop)
            .map_err(|e| resize_failed(&e))?;
        self.done += band;
        Ok(MadeBand {
            rows: &bytes[..rows.end],
            first,
        })
    }

    /// The resized image (complete once `next()` is `None`).
    pub(in crate::image) fn into_image(self) -> DynamicImage {
        self.dst
    }
}

/// Where a banded resize pulls its source rows from.
pub(in crate::image) trait RowSource {
    /// Source rows from `top` on (returned with them), holding at least the rows `reach`
    /// names; an error if they will never come.
    fn rows(&mut self, reach: Reach) -> Result<(&[u8], u32), ImageError>;
}

/// A whole image's rows as a `RowSource`.
struct Whole<'a>(&'a [u8]);

impl RowSource for Whole<'_> {
    fn rows(&mut self, _: Reach) -> Result<(&[u8], u32), ImageError> {
        Ok((self.0, 0))
    }
}

/// The resize of `banded` from a source `width` pixels wide, pulling its rows from `source`.
/// `made` gets each band. Returns `banded`, complete.
fn bands<P: PixelTrait>(
    mut banded: Banded<P>,
    width: u32,
    source: &mut impl RowSource,
    made: &mut BandMade<'_>,
) -> Result<Banded<P>, ImageError> {
    let stride = width as usize * std::mem::size_of::<P>();
    while let Some(reach) = banded.next() {
        let (held, top) = source.rows(reach)?;
        let have = u32::try_from(held.len() / stride.max(1)).unwrap_or(0);
        let view = fast_image_resize::images::TypedImageRef::<P>::from_buffer(
            width,
            have,
            &held[..have as usize * stride],
        )
        .map_err(|e| resize_failed(&e))?;
        made(banded.make(&view, top)?)?;
    }
    Ok(banded)
}

/// A resize fed by another one (`medium` made from `large`'s rows while `large` is being
/// made): `push` makes every band whose source rows are in.
pub(in crate::image) struct Cascade<P> {
    banded: Banded<P>,
    src_w: u32,
}

impl<P: PixelTrait> Cascade<P> {
    /// A `w`×`h` image of `P` pixels, from a `src_w`×`src_h` one.
    pub(in crate::image) fn new(
        (src_w, src_h): (u32, u32),
        (w, h): (u32, u32),
        color: ColorType,
    ) -> Result<Cascade<P>, ImageError> {
        let extent = (f64::from(src_w), f64::from(src_h));
        let banded = Banded::new(extent, DynamicImage::new(w, h, color), false)?;
        Ok(Cascade { banded, src_w })
    }

    /// `source`: the source's rows made so far (`source.rows`, from its top). Makes each band
    /// they are enough for, handing it on as `bands` does.
    pub(in crate::image) fn push(
        &mut self,
        source: MadeBand<'_>,
        made: &mut BandMade<'_>,
    ) -> Result<(), ImageError> {
        let stride = self.src_w as usize * std::mem::size_of::<P>();
        let held = u32::try_from(source.rows.len() / stride.max(1)).unwrap_or(0);
        while self.banded.next().is_some_and(|r| r.end <= held) {
            let view = fast_image_resize::images::TypedImageRef::<P>::from_buffer(
                self.src_w,
                held,
                &source.rows[..held as usize * stride],
            )
            .map_err(|e| resize_failed(&e))?;
            let band = self.banded.make(&view, 0)?;
            made(band)?;
        }
        Ok(())
    }

    /// The resized image, once every source row was pushed.
    pub(in crate::image) fn finish(self) -> Result<DynamicImage, ImageError> {
        match self.banded.next() {
            None => Ok(self.banded.into_image()),
            Some(_) => Err(resize_failed(&"source rows missing")),
        }
    }
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
/// `dst` (same layout): `source` gives the rows each band reaches as they are decoded
/// (`bands::window`). `made` gets each band. Returns the image made.
pub(in crate::image) fn resize_arriving<P: PixelTrait>(
    (src_w, src_h): (u32, u32),
    dst: DynamicImage,
    source: &mut impl RowSource,
    made: &mut BandMade<'_>,
) -> Result<DynamicImage, ImageError> {
    let extent = (f64::from(src_w), f64::from(src_h));
    let banded = Banded::new(extent, dst, false)?;
    Ok(bands::<P>(banded, src_w, source, made)?.into_image())
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

    /// A busy 1501×1003 RGB source for the arriving-rows tests.
    fn pattern_1501x1003() -> image::RgbImage {
        image::RgbImage::from_fn(1501, 1003, |x, y| {
            image::Rgb([
                (x * 13 % 256) as u8,
                (y * 7 % 256) as u8,
                ((x ^ y) % 256) as u8,
            ])
        })
    }

    #[test]
    fn resizing_rows_as_they_arrive_equals_resizing_the_whole() {
        let src = pattern_1501x1003();
        let (w, h) = src.dimensions();
        let whole = resize_image(&DynamicImage::ImageRgb8(src.clone()), 700, 468, false).unwrap();
        // Each band gets exactly the rows it asks for, as if the decoder had just made them.
        let stride = w as usize * 3;
        let mut asked = Vec::new();
        let mut made = Vec::new();
        let dst_stride = 700 * 3;
        /// Only the rows asked for, as a window of decoded rows would give them.
        struct Asked<'a> {
            src: &'a [u8],
            stride: usize,
            asked: &'a mut Vec<Reach>,
        }
        impl RowSource for Asked<'_> {
            fn rows(&mut self, reach: Reach) -> Result<(&[u8], u32), ImageError> {
                self.asked.push(reach);
                let (a, b) = (reach.first as usize, reach.end as usize);
                Ok((&self.src[a * self.stride..b * self.stride], reach.first))
            }
        }
        let mut source = Asked {
            src: src.as_raw(),
            stride,
            asked: &mut asked,
        };
        let arriving = resize_arriving::<fast_image_resize::pixels::U8x3>(
            (w, h),
            DynamicImage::new(700, 468, ColorType::Rgb8),
            &mut source,
            &mut |band| {
                made.extend_from_slice(band.band(dst_stride));
                Ok(())
            },
        )
        .unwrap();
        assert!(made == whole.as_bytes(), "the rows handed on are the image");
        assert!(
            arriving.as_bytes() == whole.as_bytes(),
            "not the same pixels"
        );
        assert!(
            asked
                .windows(2)
                .all(|p| p[0].first <= p[1].first && p[0].end <= p[1].end),
            "{asked:?}"
        );
        assert_eq!(asked.last().map(|r| r.end), Some(h));
        assert!(
            asked[0].end < h / 2,
            "the first band waits for {:?}",
            asked[0]
        );
        // Each band reaches a few rows past its own: a window of two bands' rows is enough.
        let widest = asked.iter().map(|r| r.end - r.first).max().unwrap();
        assert!(widest < 2 * 128 * h / 468, "{widest}");
    }

    #[test]
    fn a_cascade_fed_rows_as_they_are_made_equals_resizing_the_whole() {
        use fast_image_resize::pixels::U8x3;
        let src = image::RgbImage::from_fn(1201, 803, |x, y| {
            image::Rgb([
                (x * 5 % 256) as u8,
                (y * 11 % 256) as u8,
                ((x + y) % 256) as u8,
            ])
        });
        let want = resize_image(&DynamicImage::ImageRgb8(src.clone()), 400, 268, false).unwrap();
        let mut cascade = Cascade::<U8x3>::new((1201, 803), (400, 268), ColorType::Rgb8).unwrap();
        let mut made = Vec::new();
        let stride = 1201 * 3;
        // The source arrives 37 rows at a time, as another resize's bands would.
        for rows in (37..803).step_by(37).chain([803]) {
            cascade
                .push(
                    MadeBand {
                        rows: &src.as_raw()[..rows * stride],
                        first: 0,
                    },
                    &mut |band| {
                        made.extend_from_slice(band.band(400 * 3));
                        Ok(())
                    },
                )
                .unwrap();
        }
        let got = cascade.finish().unwrap();
        assert!(got.as_bytes() == want.as_bytes(), "not the same pixels");
        assert!(made == want.as_bytes(), "the rows handed on are the image");
        let early = Cascade::<U8x3>::new((1201, 803), (400, 268), ColorType::Rgb8).unwrap();
        assert!(early.finish().is_err(), "finished before its rows came");
    }
}
