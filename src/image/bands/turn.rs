//! A turned image's upright bands (EXIF orientation 2–8: every portrait photo a phone takes)
//! made one at a time from the image as stored, for an encoder that takes rows in order: the
//! upright image is never whole beside the stored one.

use image::metadata::Orientation;
use image::{ColorType, DynamicImage};

use crate::image::bands::queue::BandSender;
use crate::image::error::ImageError;
use crate::image::pixels::orient::{band, upright_size};

/// Upright rows per band: a band of a 1600 px RGB `large` is 300 KB.
const BAND_ROWS: usize = 64;

/// Turns `stored` (whole, 8-bit gray or RGB pixels) upright by `orientation`, band by band,
/// top to bottom, each band queued to `to` (waiting while the queue is full). Returns false
/// when the consumer stopped taking bands (turning then stops). Errors: other pixels
/// (`Internal`: the plan turns only these in bands).
pub(in crate::image) fn turn_bands(
    stored: &DynamicImage,
    orientation: Orientation,
    to: &BandSender<()>,
) -> Result<bool, ImageError> {
    let n = match stored.color() {
        ColorType::L8 => 1,
        ColorType::Rgb8 => 3,
        other => {
            return Err(ImageError::Internal(format!(
                "cannot turn {other:?} pixels band by band"
            )))
        }
    };
    let (w, h) = upright_size(
        (stored.width() as usize, stored.height() as usize),
        orientation,
    );
    for top in (0..h).step_by(BAND_ROWS) {
        let rows = top..(top + BAND_ROWS).min(h);
        let len = rows.len() * w * n;
        let mut turned = false;
        if !to.send((), len, |out| turned = band(stored, orientation, rows, out)) {
            return Ok(false);
        }
        if !turned {
            return Err(ImageError::Internal("a band was not turned".into()));
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::bands::queue::band_queue;
    use crate::image::codecs::jpeg::{encode, encode_bands};

    /// 700×97 pixels: 64-row bands cut either way, with a short last one.
    fn stored(gray: bool) -> DynamicImage {
        let rgb = image::RgbImage::from_fn(700, 97, |x, y| {
            image::Rgb([(x * 7) as u8, (y * 5) as u8, ((x * y) % 251) as u8])
        });
        match gray {
            true => DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(rgb).to_luma8()),
            false => DynamicImage::ImageRgb8(rgb),
        }
    }

    #[test]
    fn the_bands_make_the_upright_image_and_encode_to_its_bytes() {
        let icc = Some(&b"not really a profile"[..]);
        for gray in [true, false] {
            let image = stored(gray);
            for value in 1..=8 {
                let orientation = Orientation::from_exif(value).unwrap();
                let mut upright = image.clone();
                upright.apply_orientation(orientation);
                let (to, from) = band_queue();
                let stored = &image;
                let (done, bands) = std::thread::scope(|s| {
                    // The sender goes with the thread: the bands end when it does.
                    let t = s.spawn(move || turn_bands(stored, orientation, &to));
                    let bands: Vec<_> = from.iter().map(|(_, b)| b).collect();
                    (t.join().unwrap(), bands)
                });
                assert!(done.unwrap());
                let joined: Vec<u8> = bands.iter().flat_map(|b| b.iter().copied()).collect();
                assert!(
                    joined == upright.as_bytes(),
                    "orientation {value}, gray {gray}"
                );
                let size = (upright.width(), upright.height());
                let got = encode_bands(size, gray, 80, icc, bands).unwrap();
                assert!(got == encode(&upright, 80, icc).unwrap());
            }
        }
    }

    #[test]
    fn turning_stops_when_the_encoder_does_and_other_pixels_are_refused() {
        let image = stored(false);
        let (to, from) = band_queue();
        drop(from);
        assert!(!turn_bands(&image, Orientation::Rotate90, &to).unwrap());
        let rgba = DynamicImage::new_rgba8(4, 4);
        assert!(turn_bands(&rgba, Orientation::Rotate90, &to).is_err());
    }
}
