//! The orient step's pixel work: EXIF orientation (flips and quarter turns, TIFF/EXIF 2.32
//! tag 0x0112) applied to a decoded image, tile by tile.
//!
//! `image`'s `apply_orientation` moves one pixel at a time through bounds-checked accessors: 80
//! ms to turn a 2400×1601 RGB `large` a quarter, more than encoding it. Here each 64×64 tile of
//! the output is filled from one tile of the input, both staying in cache: a few ms.

use image::metadata::Orientation;
use image::DynamicImage;

/// Output tile side, in pixels.
const TILE: usize = 64;

/// Turns `img` upright by `orientation`, as `DynamicImage::apply_orientation` does.
pub(in crate::image) fn apply(img: &mut DynamicImage, orientation: Orientation) {
    use DynamicImage as D;
    if orientation == Orientation::NoTransforms {
        return;
    }
    let (w, h) = (img.width() as usize, img.height() as usize);
    let turned = match img {
        D::ImageLuma8(i) => typed::<1>(i, w, h, orientation).map(|(w, h, b)| wrap(1, w, h, b)),
        D::ImageLumaA8(i) => typed::<2>(i, w, h, orientation).map(|(w, h, b)| wrap(2, w, h, b)),
        D::ImageRgb8(i) => typed::<3>(i, w, h, orientation).map(|(w, h, b)| wrap(3, w, h, b)),
        D::ImageRgba8(i) => typed::<4>(i, w, h, orientation).map(|(w, h, b)| wrap(4, w, h, b)),
        _ => None,
    };
    match turned {
        Some(Some(turned)) => *img = turned,
        // 16-bit and float layouts (PNG only, rarely turned): `image`'s own.
        _ => img.apply_orientation(orientation),
    }
}

/// An 8-bit image of `n` channels (the input's layout), from its turned bytes.
fn wrap(n: usize, w: u32, h: u32, bytes: Vec<u8>) -> Option<DynamicImage> {
    match n {
        1 => image::GrayImage::from_raw(w, h, bytes).map(DynamicImage::ImageLuma8),
        2 => image::GrayAlphaImage::from_raw(w, h, bytes).map(DynamicImage::ImageLumaA8),
        3 => image::RgbImage::from_raw(w, h, bytes).map(DynamicImage::ImageRgb8),
        _ => image::RgbaImage::from_raw(w, h, bytes).map(DynamicImage::ImageRgba8),
    }
}

/// `src` (`w`×`h` pixels of `N` bytes) turned: the upright width, height and bytes.
fn typed<const N: usize>(
    src: &[u8],
    w: usize,
    h: usize,
    orientation: Orientation,
) -> Option<(u32, u32, Vec<u8>)> {
    let (ow, oh) = upright_size((w, h), orientation);
    let mut out = vec![0u8; src.len()];
    rows::<N>(src, (w, h), orientation, 0..oh, &mut out);
    Some((u32::try_from(ow).ok()?, u32::try_from(oh).ok()?, out))
}

/// The upright (width, height) of a `w`×`h` stored image: swapped by the quarter turns.
pub(in crate::image) fn upright_size(
    (w, h): (usize, usize),
    orientation: Orientation,
) -> (usize, usize) {
    use Orientation as O;
    match orientation {
        O::Rotate90 | O::Rotate270 | O::Rotate90FlipH | O::Rotate270FlipH => (h, w),
        _ => (w, h),
    }
}

/// A band of the upright image: its rows `band` (of the upright height), turned from
/// `stored` (an 8-bit gray or RGB image as stored) into `out`, which holds at least that many
/// upright rows. Lets an encoder take the upright image band by band without it ever being
/// whole (`turning::turn_bands`). Returns false for other layouts.
pub(in crate::image) fn band(
    stored: &DynamicImage,
    orientation: Orientation,
    band: std::ops::Range<usize>,
    out: &mut [u8],
) -> bool {
    let size = (stored.width() as usize, stored.height() as usize);
    match stored {
        DynamicImage::ImageLuma8(i) => rows::<1>(i, size, orientation, band, out),
        DynamicImage::ImageRgb8(i) => rows::<3>(i, size, orientation, band, out),
        _ => return false,
    }
    true
}

/// Fills `out` with the upright rows `band` of `src` (`w`×`h` stored pixels of `N` bytes).
fn rows<const N: usize>(
    src: &[u8],
    (w, h): (usize, usize),
    orientation: Orientation,
    band: std::ops::Range<usize>,
    out: &mut [u8],
) {
    use Orientation as O;
    let (ow, _) = upright_size((w, h), orientation);
    let o = (out, ow, band);
    // Where the upright pixel (x, y) comes from in the stored image (its index); one loop per
    // orientation, each compiled with its own arithmetic.
    match orientation {
        O::NoTransforms => tiles::<N>(src, o, |x, y| y * w + x),
        O::FlipHorizontal => tiles::<N>(src, o, |x, y| y * w + (w - 1 - x)),
        O::Rotate180 => tiles::<N>(src, o, |x, y| (h - 1 - y) * w + (w - 1 - x)),
        O::FlipVertical => tiles::<N>(src, o, |x, y| (h - 1 - y) * w + x),
        O::Rotate90FlipH => tiles::<N>(src, o, |x, y| x * w + y),
        O::Rotate90 => tiles::<N>(src, o, |x, y| (h - 1 - x) * w + y),
        O::Rotate270FlipH => tiles::<N>(src, o, |x, y| (h - 1 - x) * w + (w - 1 - y)),
        O::Rotate270 => tiles::<N>(src, o, |x, y| x * w + (w - 1 - y)),
    }
}

/// Fills `out` (upright rows `band` of width `ow`, pixels of `N` bytes, from its start) tile by
/// tile, pixel (x, y) from `src`'s pixel `from(x, y)`.
fn tiles<const N: usize>(
    src: &[u8],
    (out, ow, band): (&mut [u8], usize, std::ops::Range<usize>),
    from: impl Fn(usize, usize) -> usize,
) {
    for ty in band.clone().step_by(TILE) {
        for tx in (0..ow).step_by(TILE) {
            for y in ty..(ty + TILE).min(band.end) {
                let at_row = (y - band.start) * ow * N;
                let row = &mut out[at_row..at_row + ow * N];
                for x in tx..(tx + TILE).min(ow) {
                    let at = from(x, y) * N;
                    row[x * N..x * N + N].copy_from_slice(&src[at..at + N]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_orientation_and_layout_equals_image_crates() {
        let rgba = image::RgbaImage::from_fn(131, 67, |x, y| {
            image::Rgba([(x * 3) as u8, (y * 5) as u8, (x ^ y) as u8, (x + y) as u8])
        });
        let rgba = DynamicImage::ImageRgba8(rgba);
        let layouts = [
            DynamicImage::ImageLuma8(rgba.to_luma8()),
            DynamicImage::ImageLumaA8(rgba.to_luma_alpha8()),
            DynamicImage::ImageRgb8(rgba.to_rgb8()),
            rgba.clone(),
            DynamicImage::ImageRgb16(rgba.to_rgb16()),
        ];
        for value in 1..=8 {
            let orientation = Orientation::from_exif(value).unwrap();
            for img in &layouts {
                let mut want = img.clone();
                want.apply_orientation(orientation);
                let mut got = img.clone();
                apply(&mut got, orientation);
                assert_eq!(got.color(), want.color());
                assert_eq!((got.width(), got.height()), (want.width(), want.height()));
                assert!(
                    got.as_bytes() == want.as_bytes(),
                    "orientation {value}, {:?}",
                    img.color()
                );
            }
        }
    }
}
