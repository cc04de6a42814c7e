//! Resizing (fast_image_resize, Lanczos3) and encoding of one variant in the input's format.

use fast_image_resize::PixelTrait;
use fast_image_resize::{FilterType, IntoImageViewMut, ResizeAlg, ResizeOptions, Resizer};
use image::{ColorType, DynamicImage, ImageEncoder};
use img_parts::{Bytes, ImageICC};

use super::yuv::Yuv;
use super::{Format, ImageError, Variant};
use crate::config::ImageSettings;
use crate::plan::Target;

/// Converts decoded pixels to a layout the output format can hold, once, before any resize:
/// 8-bit for JPEG and WebP (RGB, gray, or RGBA where there is alpha), PNG keeps its depth.
pub(super) fn normalize(img: DynamicImage, format: Format) -> DynamicImage {
    use DynamicImage as D;
    match (format, img) {
        (
            Format::Png,
            img @ (D::ImageLuma8(_)
            | D::ImageLumaA8(_)
            | D::ImageRgb8(_)
            | D::ImageRgba8(_)
            | D::ImageLuma16(_)
            | D::ImageLumaA16(_)
            | D::ImageRgb16(_)
            | D::ImageRgba16(_)),
        ) => img,
        (Format::Png, img) => D::ImageRgba16(img.to_rgba16()),
        (Format::Jpeg, img @ (D::ImageLuma8(_) | D::ImageRgb8(_))) => img,
        (Format::Jpeg, img) if !img.color().has_color() => D::ImageLuma8(img.to_luma8()),
        (Format::Jpeg, img) => D::ImageRgb8(img.to_rgb8()),
        (Format::WebP, img @ (D::ImageRgb8(_) | D::ImageRgba8(_))) => img,
        (Format::WebP, img) if img.color().has_alpha() => D::ImageRgba8(img.to_rgba8()),
        (Format::WebP, img) => D::ImageRgb8(img.to_rgb8()),
    }
}

/// Decoded pixels: an image in RGB(A) or gray, or an opaque lossy WebP in its own 4:2:0 planes.
#[derive(Debug, Clone)]
pub(super) enum Pixels {
    Image(DynamicImage),
    Yuv(Yuv),
}

impl Pixels {
    fn has_color(&self) -> bool {
        match self {
            Pixels::Image(img) => img.color().has_color(),
            Pixels::Yuv(_) => true,
        }
    }

    /// Turns the pixels upright by an EXIF orientation.
    pub fn apply_orientation(&mut self, orientation: image::metadata::Orientation) {
        match self {
            Pixels::Image(img) => img.apply_orientation(orientation),
            Pixels::Yuv(yuv) => yuv.apply_orientation(orientation),
        }
    }
}

/// Whether an ICC profile describes pixels of this kind (a CMYK profile on pixels the decoder
/// already turned into RGB would shift every colour).
pub(super) fn icc_matches(profile: &[u8], pixels: &Pixels) -> bool {
    let space = profile.get(16..20);
    if pixels.has_color() {
        space == Some(b"RGB ")
    } else {
        space == Some(b"GRAY")
    }
}

/// What every variant of one image shares.
pub(super) struct Job<'a> {
    pub format: Format,
    /// WebP only: whether the input was lossy (lossless stays lossless).
    pub lossy: bool,
    pub icc: Option<&'a [u8]>,
    pub settings: &'a ImageSettings,
    /// The source pixels have their alpha multiplied in (see `premultiply`).
    pub premultiplied: bool,
    /// PNG only: the few colours the input is stored with, which the variants keep.
    pub palette: Option<&'a super::palette::Palette>,
}

/// How hard an encoder works for small files.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Effort {
    /// The configured quality, the usual speed.
    Normal,
    /// A lossy encoding at this quality.
    Quality(u8),
    /// Lossless, with the strongest compression.
    Strongest,
}

impl Job<'_> {
    /// Resizes `src` to `target` and encodes it.
    pub fn make(&self, src: &Pixels, target: &Target) -> Result<Variant, ImageError> {
        self.finish(&self.pixels(src, target.width, target.height)?, target)
    }

    /// `src` resized, alpha divided out again if it was multiplied in: ready to encode.
    pub fn pixels(&self, src: &Pixels, w: u32, h: u32) -> Result<Pixels, ImageError> {
        let mut out = resize(src, w, h, self.premultiplied)?;
        if let (true, Pixels::Image(img)) = (self.premultiplied, &mut out) {
            alpha(img, Alpha::Divide)?;
        }
        Ok(out)
    }

    /// The pixels of `big` (made from the source by `resize`) ready to encode.
    pub fn shown<'b>(&self, big: &'b Pixels) -> Result<std::borrow::Cow<'b, Pixels>, ImageError> {
        match big {
            Pixels::Image(img) if self.premultiplied => {
                let mut copy = img.clone();
                alpha(&mut copy, Alpha::Divide)?;
                Ok(std::borrow::Cow::Owned(Pixels::Image(copy)))
            }
            _ => Ok(std::borrow::Cow::Borrowed(big)),
        }
    }

    /// Encodes pixels already at `target`'s size.
    pub fn finish(&self, resized: &Pixels, target: &Target) -> Result<Variant, ImageError> {
        self.variant(resized, target, Effort::Normal)
    }

    /// Whether the output is lossy (JPEG, lossy WebP), so a lower quality makes it smaller.
    pub fn is_lossy(&self) -> bool {
        match self.format {
            Format::Jpeg => true,
            Format::Png => false,
            Format::WebP => self.lossy,
        }
    }

    /// Encodes pixels already at `target`'s size again, to fit in `limit` bytes: lossy formats
    /// step the quality down by 10 (at most four times, not below 10), lossless ones use their
    /// strongest compression. Returns the smallest encoding tried, which may still not fit.
    pub fn within(
        &self,
        resized: &Pixels,
        target: &Target,
        limit: usize,
    ) -> Result<Variant, ImageError> {
        let efforts: Vec<Effort> = match self.is_lossy() {
            false => vec![Effort::Strongest],
            true => {
                let q = match self.format {
                    Format::Jpeg => self.settings.jpeg_quality,
                    _ => self.settings.webp_quality,
                };
                let steps: Vec<Effort> = (1..=4u8)
                    .map(|k| q.saturating_sub(10 * k))
                    .filter(|&q| q >= 10)
                    .map(Effort::Quality)
                    .collect();
                if steps.is_empty() {
                    vec![Effort::Quality(1)]
                } else {
                    steps
                }
            }
        };
        let mut best: Option<Variant> = None;
        for effort in efforts {
            let v = self.variant(resized, target, effort)?;
            let fits = v.data.len() <= limit;
            if best.as_ref().is_none_or(|b| v.data.len() < b.data.len()) {
                best = Some(v);
            }
            if fits {
                break;
            }
        }
        best.ok_or_else(|| ImageError::Invalid("no encoding tried".into()))
    }

    fn variant(
        &self,
        resized: &Pixels,
        target: &Target,
        effort: Effort,
    ) -> Result<Variant, ImageError> {
        let data = self.encode(resized, effort)?;
        Ok(Variant {
            name: target.name,
            width: target.width,
            height: target.height,
            content_type: self.format.content_type(),
            data,
        })
    }

    fn encode(&self, pixels: &Pixels, effort: Effort) -> Result<Vec<u8>, ImageError> {
        let fail =
            |e: &dyn std::fmt::Display| ImageError::Invalid(format!("cannot encode variant: {e}"));
        let quality = |configured: u8| match effort {
            Effort::Quality(q) => q,
            _ => configured,
        };
        let img = match pixels {
            Pixels::Image(img) => img,
            Pixels::Yuv(yuv) => {
                // Only a lossy WebP is decoded to planes, and it stays lossy WebP.
                let out = yuv.encode(f32::from(quality(self.settings.webp_quality)))?;
                return match self.icc {
                    Some(icc) => embed_icc(Format::WebP, out, icc),
                    None => Ok(out),
                };
            }
        };
        let (w, h) = (img.width(), img.height());
        let mut out = Vec::new();
        match self.format {
            Format::Jpeg => {
                // The profile goes in as APP2 segments while encoding.
                return super::jpeg::encode(img, quality(self.settings.jpeg_quality), self.icc);
            }
            Format::Png => match self
                .palette
                .and_then(|p| p.encode(img, effort == Effort::Strongest))
            {
                Some(encoded) => out = encoded?,
                None => {
                    // fdeflate with adaptive filtering: 8x faster than zlib level 6 on a 2400 px
                    // RGBA variant for 12% more bytes, still well under libvips' unfiltered output.
                    let compression = if effort == Effort::Strongest {
                        image::codecs::png::CompressionType::Best
                    } else {
                        image::codecs::png::CompressionType::Fast
                    };
                    image::codecs::png::PngEncoder::new_with_quality(
                        &mut out,
                        compression,
                        image::codecs::png::FilterType::Adaptive,
                    )
                    .write_image(img.as_bytes(), w, h, img.color().into())
                    .map_err(|e| fail(&e))?;
                }
            },
            Format::WebP => {
                let layout = if img.color() == ColorType::Rgba8 {
                    webp::PixelLayout::Rgba
                } else {
                    webp::PixelLayout::Rgb
                };
                let enc = webp::Encoder::new(img.as_bytes(), layout, w, h);
                // Lossless WebP's "quality" is its compression effort.
                let mem = if self.lossy {
                    enc.encode_simple(false, f32::from(quality(self.settings.webp_quality)))
                } else if effort == Effort::Strongest {
                    enc.encode_simple(true, 100.0)
                } else {
                    enc.encode_simple(true, 75.0)
                }
                .map_err(|e| fail(&format!("{e:?}")))?;
                out = mem.to_vec();
            }
        }
        match self.icc {
            Some(icc) => embed_icc(self.format, out, icc),
            None => Ok(out),
        }
    }
}

/// Adds an ICC profile to an encoded PNG or WebP without re-encoding it (JPEG has it already).
fn embed_icc(format: Format, data: Vec<u8>, icc: &[u8]) -> Result<Vec<u8>, ImageError> {
    let fail =
        |e: img_parts::Error| ImageError::Invalid(format!("cannot embed colour profile: {e}"));
    let profile = Some(Bytes::copy_from_slice(icc));
    let bytes = Bytes::from(data);
    let out = match format {
        Format::Png => {
            let mut png = img_parts::png::Png::from_bytes(bytes).map_err(fail)?;
            png.set_icc_profile(profile);
            png.encoder().bytes()
        }
        Format::WebP => {
            let mut webp = img_parts::webp::WebP::from_bytes(bytes).map_err(fail)?;
            webp.set_icc_profile(profile);
            webp.encoder().bytes()
        }
        Format::Jpeg => bytes, // the encoder wrote it
    };
    Ok(out.to_vec())
}

/// Multiplies the colour channels by alpha in place, when there is alpha; returns whether it
/// did. Resizing then filters premultiplied pixels (no dark fringes around transparency)
/// without the premultiplied copy of the whole source that fast_image_resize would otherwise
/// allocate (59 MB for a 15 MP RGBA PNG).
pub(super) fn premultiply(img: &mut DynamicImage) -> Result<bool, ImageError> {
    if !img.color().has_alpha() {
        return Ok(false);
    }
    alpha(img, Alpha::Multiply)?;
    Ok(true)
}

#[derive(Clone, Copy)]
enum Alpha {
    Multiply,
    Divide,
}

fn alpha(img: &mut DynamicImage, op: Alpha) -> Result<(), ImageError> {
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
pub(super) fn resize(
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

/// Typed per layout: `normalize` leaves only 8- and 16-bit gray, gray+alpha, RGB and RGBA, and
/// resizing just those keeps fast_image_resize's other pixel types (a third of the binary) out.
fn resize_image(
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

    fn target(w: u32, h: u32) -> Target {
        Target {
            name: "large",
            width: w,
            height: h,
        }
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

    #[test]
    fn within_tries_harder_until_it_fits() {
        let settings = ImageSettings::default();
        let img = Pixels::Image(DynamicImage::ImageRgb8(image::RgbImage::from_fn(
            600,
            400,
            |x, y| {
                image::Rgb([
                    (x % 7 * 30) as u8,
                    (y % 5 * 40) as u8,
                    ((x * y) % 251) as u8,
                ])
            },
        )));
        let t = target(600, 400);
        for (format, lossy) in [
            (Format::Png, false),
            (Format::Jpeg, true),
            (Format::WebP, true),
        ] {
            let job = Job {
                format,
                lossy,
                icc: None,
                settings: &settings,
                premultiplied: false,
                palette: None,
            };
            let normal = job.finish(&img, &t).unwrap().data.len();
            let smaller = job.within(&img, &t, normal - 1).unwrap();
            assert!(
                smaller.data.len() < normal,
                "{format:?}: {} is not under {normal}",
                smaller.data.len()
            );
            // An impossible limit: the smallest attempt comes back, still decodable.
            let best = job.within(&img, &t, 0).unwrap();
            assert!(best.data.len() <= smaller.data.len(), "{format:?}");
            let back = image::load_from_memory(&best.data).unwrap();
            assert_eq!((back.width(), back.height()), (600, 400), "{format:?}");
        }
    }
}
