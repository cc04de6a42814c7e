//! Colour management (PRODUCT.md "Real-world inputs", Colour): CMYK and YCCK JPEGs converted
//! to sRGB through their embedded ICC profile, and large RGB or gray profiles applied to the
//! pixels (then dropped from the variants), by moxcms, relative colorimetric.
//!
//! moxcms rather than lcms2: it is already in the tree under `image`, pure Rust (no C build,
//! nothing for the static musl binary to link), reads v2 and v4 profiles with LUTs, and agrees
//! with Little CMS to within the 2 levels PRODUCT.md asks (checked against Pillow's ImageCms in
//! `tests/it/real_world.rs`'s fixtures).

use image::DynamicImage;
use moxcms::{ColorProfile, DataColorSpace, Layout, RenderingIntent, TransformOptions};

/// The largest ICC profile carried into the variants (bytes, PRODUCT.md): a matrix-shaper
/// profile is well under it; a larger one (a LUT profile, 100 KB and up) would outweigh a
/// thumbnail, so its pixels are converted to sRGB and it is dropped.
pub(in crate::image) const MAX_CARRIED_ICC_BYTES: usize = 4096;

/// Pixels converted per step, so no second full-size buffer is needed.
const BLOCK_PIXELS: usize = 64 * 1024;

fn options(rendering_intent: RenderingIntent) -> TransformOptions {
    TransformOptions {
        rendering_intent,
        prefer_fixed_point: false,
        ..TransformOptions::default()
    }
}

/// Makes a transform, relative colorimetric; a LUT profile without that intent's table falls
/// back to its `A2B0`/perceptual one, as ICC.1 (8.10) and Little CMS do.
fn transform<T>(
    make: impl Fn(TransformOptions) -> Result<T, moxcms::CmsError>,
) -> Result<T, String> {
    make(options(RenderingIntent::RelativeColorimetric))
        .or_else(|_| make(options(RenderingIntent::Perceptual)))
        .map_err(|e| e.to_string())
}

/// CMYK samples as a JPEG stores them (4 bytes a pixel) to sRGB (3 bytes a pixel).
///
/// The samples are read as Adobe-inverted (255 means no ink), with or without an APP14 marker:
/// the convention of browsers, which show every CMYK JPEG this way (PRODUCT.md). With a CMYK
/// `icc` profile the ink values go through it to sRGB; without one (or one moxcms cannot use,
/// which the returned warning says), R = (255 − C)(255 − K)/255 on ink values, and likewise for
/// G and B.
pub(in crate::image) fn cmyk_to_srgb(
    stored: &[u8],
    icc: Option<&[u8]>,
) -> (Vec<u8>, Option<String>) {
    let pixels = stored.len() / 4;
    let mut rgb = vec![0u8; pixels * 3];
    let mut warning = None;
    if let Some(icc) = icc {
        match cmyk_profile_to_srgb(stored, icc, &mut rgb) {
            Ok(()) => return (rgb, None),
            Err(e) => {
                warning = Some(format!(
                    "CMYK colour profile not usable ({e}); converted by the browsers' formula"
                ));
            }
        }
    }
    for (p, out) in stored.chunks_exact(4).zip(rgb.chunks_exact_mut(3)) {
        let k = u32::from(p[3]);
        for c in 0..3 {
            out[c] = (u32::from(p[c]) * k / 255) as u8;
        }
    }
    (rgb, warning)
}

fn cmyk_profile_to_srgb(stored: &[u8], icc: &[u8], rgb: &mut [u8]) -> Result<(), String> {
    let profile = ColorProfile::new_from_slice(icc).map_err(|e| e.to_string())?;
    if profile.color_space != DataColorSpace::Cmyk {
        return Err("not a CMYK profile".into());
    }
    let srgb = ColorProfile::new_srgb();
    let transform =
        transform(|o| profile.create_transform_8bit(Layout::Rgba, &srgb, Layout::Rgb, o))?;
    let mut ink = vec![0u8; BLOCK_PIXELS * 4];
    for (src, dst) in stored
        .chunks(BLOCK_PIXELS * 4)
        .zip(rgb.chunks_mut(BLOCK_PIXELS * 3))
    {
        let ink = &mut ink[..src.len()];
        for (i, s) in ink.iter_mut().zip(src) {
            *i = 255 - s;
        }
        transform.transform(ink, dst).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Converts RGB(A) or gray pixels (8 or 16 bits) from their `icc` profile to sRGB in place
/// (alpha untouched; gray stays gray, as sRGB's neutral axis). An error says why the profile
/// could not be applied (unparseable, or not for these pixels); the pixels are then unchanged.
pub(in crate::image) fn apply_profile(img: &mut DynamicImage, icc: &[u8]) -> Result<(), String> {
    let profile = ColorProfile::new_from_slice(icc).map_err(|e| e.to_string())?;
    apply(img, &profile)
}

/// `apply_profile` with the profile parsed (or built).
fn apply(img: &mut DynamicImage, profile: &ColorProfile) -> Result<(), String> {
    let srgb = ColorProfile::new_srgb();
    let fail = |e: moxcms::CmsError| e.to_string();
    let gray = profile.color_space == DataColorSpace::Gray;
    let rgb = profile.color_space == DataColorSpace::Rgb;
    match img {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) if rgb => {
            let layout = layout(img.color().has_alpha());
            let t = transform(|o| profile.create_transform_8bit(layout, &srgb, layout, o))?;
            let samples: &mut [u8] = match img {
                DynamicImage::ImageRgb8(b) => b,
                DynamicImage::ImageRgba8(b) => b,
                _ => unreachable!("matched above"),
            };
            in_blocks(samples, layout_len(layout), |src, dst| {
                t.transform(src, dst).map_err(fail)
            })
        }
        DynamicImage::ImageRgb16(_) | DynamicImage::ImageRgba16(_) if rgb => {
            let layout = layout(img.color().has_alpha());
            let t = transform(|o| profile.create_transform_16bit(layout, &srgb, layout, o))?;
            let samples: &mut [u16] = match img {
                DynamicImage::ImageRgb16(b) => b,
                DynamicImage::ImageRgba16(b) => b,
                _ => unreachable!("matched above"),
            };
            in_blocks(samples, layout_len(layout), |src, dst| {
                t.transform(src, dst).map_err(fail)
            })
        }
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLumaA8(_) if gray => {
            let alpha = img.color().has_alpha();
            let (src_layout, dst_layout) = gray_layouts(alpha);
            let t = transform(|o| profile.create_transform_8bit(src_layout, &srgb, dst_layout, o))?;
            let samples: &mut [u8] = match img {
                DynamicImage::ImageLuma8(b) => b,
                DynamicImage::ImageLumaA8(b) => b,
                _ => unreachable!("matched above"),
            };
            gray_in_blocks(samples, alpha, |src, dst| {
                t.transform(src, dst).map_err(fail)
            })
        }
        DynamicImage::ImageLuma16(_) | DynamicImage::ImageLumaA16(_) if gray => {
            let alpha = img.color().has_alpha();
            let (src_layout, dst_layout) = gray_layouts(alpha);
            let t =
                transform(|o| profile.create_transform_16bit(src_layout, &srgb, dst_layout, o))?;
            let samples: &mut [u16] = match img {
                DynamicImage::ImageLuma16(b) => b,
                DynamicImage::ImageLumaA16(b) => b,
                _ => unreachable!("matched above"),
            };
            gray_in_blocks(samples, alpha, |src, dst| {
                t.transform(src, dst).map_err(fail)
            })
        }
        _ => Err(format!(
            "a {:?} profile for {:?} pixels",
            profile.color_space,
            img.color()
        )),
    }
}

/// A PNG's carried colour chunks (type, data; `png::read_chunks` checked them and chose them
/// by PNG's precedence) as a profile: `cICP`'s primaries and transfer (ITU-T H.273), or
/// `gAMA` and `cHRM` (a missing one taken from sRGB, as PNG spec 3rd ed. 4.3 and browsers
/// do); `None` for `sRGB`, for nothing, and for what moxcms cannot model (PQ, HLG).
fn profile_of_chunks(chunks: &[([u8; 4], Vec<u8>)]) -> Option<ColorProfile> {
    use moxcms::{
        Chromaticity, CicpColorPrimaries, CicpProfile, ColorPrimaries, MatrixCoefficients,
        ToneReprCurve, TransferCharacteristics, XyY,
    };
    let get = |k: &[u8; 4]| {
        chunks
            .iter()
            .find(|(kind, _)| kind == k)
            .map(|(_, d)| &d[..])
    };
    let fixed = |d: &[u8], i: usize| {
        f64::from(u32::from_be_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]])) / 100_000.0
    };
    if let Some(c) = get(b"cICP").filter(|c| c.len() == 4) {
        let profile = ColorProfile::new_from_cicp(CicpProfile {
            color_primaries: CicpColorPrimaries::try_from(c[0]).ok()?,
            transfer_characteristics: TransferCharacteristics::try_from(c[1]).ok()?,
            matrix_coefficients: MatrixCoefficients::Identity,
            full_range: c[3] == 1,
        });
        return profile.red_trc.is_some().then_some(profile);
    }
    let gamma = get(b"gAMA").filter(|d| d.len() == 4).map(|d| fixed(d, 0));
    let chrm = get(b"cHRM").filter(|d| d.len() == 32);
    if get(b"sRGB").is_some() || (gamma.is_none() && chrm.is_none()) {
        return None;
    }
    let mut profile = ColorProfile::new_srgb();
    if let Some(d) = chrm {
        let xy = |i| Chromaticity::new(fixed(d, i) as f32, fixed(d, i + 4) as f32);
        let white = XyY::new(fixed(d, 0), fixed(d, 4), 1.0);
        let primaries = ColorPrimaries {
            red: xy(8),
            green: xy(16),
            blue: xy(24),
        };
        profile.update_rgb_colorimetry(white, primaries);
    }
    if let Some(g) = gamma.filter(|&g| g > 0.0) {
        // gAMA is the encoding exponent; the curve decodes.
        let curve = ToneReprCurve::Parametric(vec![(1.0 / g) as f32]);
        profile.red_trc = Some(curve.clone());
        profile.green_trc = Some(curve.clone());
        profile.blue_trc = Some(curve);
    }
    Some(profile)
}

/// The placeholder's small picture (8-bit RGBA, a few hundred pixels) in sRGB, as a browser
/// shows the image: converted from what the variants carry, their ICC profile (`icc`) or a
/// PNG's colour chunks (`chunks`: `cICP` first, PRODUCT.md "Precedence of colour signals").
/// Left as it is where nothing says otherwise, or the conversion cannot be made.
pub(in crate::image) fn shown_as_srgb(
    small: &image::RgbaImage,
    icc: Option<&[u8]>,
    chunks: &[([u8; 4], Vec<u8>)],
) -> Option<image::RgbaImage> {
    let profile = match icc {
        Some(icc) => ColorProfile::new_from_slice(icc).ok()?,
        None => profile_of_chunks(chunks)?,
    };
    let mut img = match profile.color_space {
        DataColorSpace::Gray => {
            DynamicImage::ImageLumaA8(DynamicImage::ImageRgba8(small.clone()).to_luma_alpha8())
        }
        _ => DynamicImage::ImageRgba8(small.clone()),
    };
    apply(&mut img, &profile).ok()?;
    Some(img.to_rgba8())
}

fn layout(alpha: bool) -> Layout {
    if alpha {
        Layout::Rgba
    } else {
        Layout::Rgb
    }
}

fn layout_len(layout: Layout) -> usize {
    if layout == Layout::Rgba {
        4
    } else {
        3
    }
}

fn gray_layouts(alpha: bool) -> (Layout, Layout) {
    if alpha {
        (Layout::GrayAlpha, Layout::Rgba)
    } else {
        (Layout::Gray, Layout::Rgb)
    }
}

/// Runs `t` over `samples` (`channels` per pixel) a block at a time, in place.
fn in_blocks<V: Copy + Default>(
    samples: &mut [V],
    channels: usize,
    t: impl Fn(&[V], &mut [V]) -> Result<(), String>,
) -> Result<(), String> {
    let mut out = vec![V::default(); BLOCK_PIXELS * channels];
    for block in samples.chunks_mut(BLOCK_PIXELS * channels) {
        let out = &mut out[..block.len()];
        t(block, out)?;
        block.copy_from_slice(out);
    }
    Ok(())
}

/// Gray (+ alpha) through a gray-to-sRGB transform: the green sample of the result is the
/// gray level (sRGB's neutral axis has R = G = B).
fn gray_in_blocks<V: Copy + Default>(
    samples: &mut [V],
    alpha: bool,
    t: impl Fn(&[V], &mut [V]) -> Result<(), String>,
) -> Result<(), String> {
    let (src_n, dst_n) = if alpha { (2, 4) } else { (1, 3) };
    let mut out = vec![V::default(); BLOCK_PIXELS * dst_n];
    for block in samples.chunks_mut(BLOCK_PIXELS * src_n) {
        let pixels = block.len() / src_n;
        let out = &mut out[..pixels * dst_n];
        t(block, out)?;
        for (px, o) in block.chunks_exact_mut(src_n).zip(out.chunks_exact(dst_n)) {
            px[0] = o[1];
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmyk_without_a_profile_follows_the_browsers() {
        // Stored inverted: C0 M255 Y255 K0 inks (red) are stored 255, 0, 0, 255.
        let (rgb, w) = cmyk_to_srgb(&[255, 0, 0, 255, 255, 255, 255, 0], None);
        assert_eq!(rgb, [255, 0, 0, 0, 0, 0]);
        assert_eq!(w, None);
        let (_, w) = cmyk_to_srgb(&[255, 0, 0, 255], Some(b"not a profile"));
        assert!(w.is_some_and(|w| w.contains("browsers' formula")));
    }

    #[test]
    fn an_srgb_profile_changes_nothing_much() {
        let mut img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 64, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 4) as u8, 128])
        }));
        let before = img.clone();
        let icc = ColorProfile::new_srgb().encode().unwrap();
        apply_profile(&mut img, &icc).unwrap();
        let most = before
            .as_bytes()
            .iter()
            .zip(img.as_bytes())
            .map(|(a, b)| a.abs_diff(*b))
            .max();
        assert!(most <= Some(1), "{most:?}");
        let mut gray = DynamicImage::ImageLuma8(image::GrayImage::from_pixel(4, 4, [77].into()));
        assert!(
            apply_profile(&mut gray, &icc).is_err(),
            "RGB profile on gray"
        );
    }
}
