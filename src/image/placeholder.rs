//! What a front end shows while the picture loads: a ThumbHash (Evan Wallace's format, by the
//! `thumbhash` crate, its author's port) and the dominant colour, both from pixels the pipeline
//! already holds — the smallest variant's, upright — so they cost well under a millisecond.

use base64::Engine;
use image::RgbaImage;

use crate::image::pixels::yuv::Yuv;
use crate::image::pixels::Pixels;

/// The placeholder of an image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Placeholder {
    /// The ThumbHash, base64 (standard alphabet, padded): at most ~35 bytes before encoding.
    pub thumbhash: String,
    /// The colour that covers the largest share of the picture, `#rrggbb` (the mean of the
    /// most common 4-bit-per-channel colour cell, alpha-weighted).
    pub dominant_color: String,
}

/// The picture is hashed at 32 px on its longest side. ThumbHash keeps at most 7 cosine
/// terms an axis, which 32 samples resolve (Nyquist: 16); its encoder loops over every pixel
/// for every term, so 100 px (the format's limit) cost ten times as much for the same hash.
const MAX_SIDE: u32 = 32;

/// The placeholder of upright pixels (alpha, if any, not multiplied in) whose colours the
/// variants' carried ICC profile (`icc`) or PNG colour chunks (`chunks`) say: hashed in sRGB,
/// as a browser shows them (`colour::shown_as_srgb`).
pub(in crate::image) fn of(
    pixels: &Pixels,
    icc: Option<&[u8]>,
    chunks: &[([u8; 4], Vec<u8>)],
) -> Placeholder {
    let rgba = match pixels {
        Pixels::Image(img) => img.to_rgba8(),
        Pixels::Yuv(yuv) => yuv_to_rgba(yuv),
    };
    let small = fit(&rgba);
    let small = crate::image::pixels::colour::shown_as_srgb(&small, icc, chunks).unwrap_or(small);
    let (w, h) = small.dimensions();
    let hash = thumbhash::rgba_to_thumb_hash(w as usize, h as usize, small.as_raw());
    Placeholder {
        thumbhash: base64::engine::general_purpose::STANDARD.encode(hash),
        dominant_color: dominant(&small),
    }
}

/// `img` shrunk to fit in 32×32 (never enlarged) by area averaging (`image`'s `thumbnail`,
/// integer arithmetic, several times faster than its filtered resize): enough for a picture
/// that is itself a blur.
fn fit(img: &RgbaImage) -> RgbaImage {
    let (w, h) = img.dimensions();
    let longest = w.max(h).max(1);
    if longest <= MAX_SIDE {
        return img.clone();
    }
    let scale = |side: u32| ((u64::from(side) * u64::from(MAX_SIDE)) / u64::from(longest)).max(1);
    image::imageops::thumbnail(img, scale(w) as u32, scale(h) as u32)
}

/// The mean colour of the most populated cell when each channel is cut to 4 bits, each pixel
/// weighted by its alpha; ties go to the lower cell. White for a fully transparent picture.
fn dominant(img: &RgbaImage) -> String {
    let mut cells = vec![[0u64; 4]; 4096];
    for p in img.pixels() {
        let [r, g, b, a] = p.0;
        let cell = (usize::from(r >> 4) << 8) | (usize::from(g >> 4) << 4) | usize::from(b >> 4);
        let a = u64::from(a);
        let c = &mut cells[cell];
        c[0] += u64::from(r) * a;
        c[1] += u64::from(g) * a;
        c[2] += u64::from(b) * a;
        c[3] += a;
    }
    let best = cells
        .iter()
        .enumerate()
        .max_by(|(i, a), (j, b)| a[3].cmp(&b[3]).then(j.cmp(i)))
        .map(|(_, c)| *c)
        .unwrap_or_default();
    if best[3] == 0 {
        return "#ffffff".into();
    }
    let mean = |sum: u64| (sum + best[3] / 2) / best[3];
    format!(
        "#{:02x}{:02x}{:02x}",
        mean(best[0]),
        mean(best[1]),
        mean(best[2])
    )
}

/// 4:2:0 planes to RGBA: libwebp's Y′CbCr is BT.601 with studio swing (Y 16–235, chroma
/// 16–240), the WebP/VP8 specification's colour space.
fn yuv_to_rgba(yuv: &Yuv) -> RgbaImage {
    let (y, u, v) = (yuv.y.to_luma8(), yuv.u.to_luma8(), yuv.v.to_luma8());
    let (w, h) = y.dimensions();
    RgbaImage::from_fn(w, h, |x, row| {
        let luma = f32::from(y.get_pixel(x, row).0[0]) - 16.0;
        let cx = (x / 2).min(u.width().saturating_sub(1));
        let cy = (row / 2).min(u.height().saturating_sub(1));
        let cb = f32::from(u.get_pixel(cx, cy).0[0]) - 128.0;
        let cr = f32::from(v.get_pixel(cx, cy).0[0]) - 128.0;
        let to_u8 = |x: f32| x.round().clamp(0.0, 255.0) as u8;
        image::Rgba([
            to_u8(1.164 * luma + 1.596 * cr),
            to_u8(1.164 * luma - 0.392 * cb - 0.813 * cr),
            to_u8(1.164 * luma + 2.017 * cb),
            255,
        ])
    })
}

/// For tests: a placeholder of a decoded image.
#[cfg(test)]
pub(in crate::image) fn of_image(img: image::DynamicImage) -> Placeholder {
    of(&Pixels::Image(img), None, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_picture_hashes_to_its_colour() {
        let img = RgbaImage::from_pixel(400, 300, image::Rgba([200, 40, 90, 255]));
        let p = of_image(image::DynamicImage::ImageRgba8(img));
        assert_eq!(p.dominant_color, "#c8285a");
        let hash = base64::engine::general_purpose::STANDARD
            .decode(&p.thumbhash)
            .unwrap();
        let (r, g, b, a) = thumbhash::thumb_hash_to_average_rgba(&hash).unwrap();
        let level = |c: f32| (c * 255.0).round() as i32;
        assert!((level(r) - 200).abs() <= 3, "{r}");
        assert!((level(g) - 40).abs() <= 3, "{g}");
        assert!((level(b) - 90).abs() <= 3, "{b}");
        assert!(a > 0.99);
    }

    #[test]
    fn the_dominant_colour_is_the_largest_share() {
        // Two thirds blue, one third yellow.
        let img = RgbaImage::from_fn(90, 90, |x, _| {
            if x < 60 {
                image::Rgba([20, 40, 220, 255])
            } else {
                image::Rgba([250, 220, 10, 255])
            }
        });
        assert_eq!(dominant(&img), "#1428dc");
        let clear = RgbaImage::from_pixel(4, 4, image::Rgba([0, 0, 0, 0]));
        assert_eq!(dominant(&clear), "#ffffff");
    }

    #[test]
    fn studio_swing_planes_convert_to_their_colours() {
        let plane = |v: u8, w, h| {
            image::DynamicImage::ImageLuma8(image::GrayImage::from_pixel(w, h, image::Luma([v])))
        };
        // BT.601 studio-swing white and a pure-ish red.
        let white = Yuv {
            y: plane(235, 8, 6),
            u: plane(128, 4, 3),
            v: plane(128, 4, 3),
        };
        assert_eq!(yuv_to_rgba(&white).get_pixel(3, 3).0, [255, 255, 255, 255]);
        let red = Yuv {
            y: plane(81, 8, 6),
            u: plane(90, 4, 3),
            v: plane(240, 4, 3),
        };
        let [r, g, b, _] = yuv_to_rgba(&red).get_pixel(7, 5).0;
        assert!(r >= 250 && g <= 5 && b <= 5, "{r} {g} {b}");
    }
}
