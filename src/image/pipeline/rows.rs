//! The decode step of the formats whose decoders give rows (`codecs::rows`: TIFF, GIF, BMP,
//! HEIC/HEIF, AVIF):
//! resized to the largest variant as the rows arrive (`Route::ResizeAlong`: an opaque image
//! with no `original` to re-encode, so a scanner master is never whole in memory), or whole.

use super::Decoded;
use crate::image::bands::window::resize_rows;
use crate::image::codecs::rows::{check_budget, whole, RowDecoder};
use crate::image::codecs::OutputFormat;
use crate::image::error::ImageError;
use crate::image::pixels::Pixels;
use crate::image::plan::{Plan, Route};
use crate::image::probe::{upright, Probe};

/// The most bytes an image is decoded whole at 16 bits a sample (a 16-bit TIFF or a 10-bit
/// AVIF whose variants are PNG); past it, or for JPEG variants, 8 bits (PNG's rule:
/// `png::MAX_16BIT_FRAME_BYTES`).
const MAX_16BIT_WHOLE_BYTES: u64 = 256 * 1024 * 1024;

/// Decodes along the plan's route. Errors: the decoder's (`Invalid`), `TooLarge` for a whole
/// image over the decoding budget (`codecs::MAX_DECODED_BYTES`), `Internal` for a route the
/// plan never gives these formats.
pub(super) fn decode(
    mut decoder: Box<dyn RowDecoder + '_>,
    probe: &Probe,
    plan: &Plan<'_>,
) -> Result<Decoded, ImageError> {
    // The decoder's size: the upright size turned back (a HEIF decoder applies its own turns
    // and crop, so this is not the size coded in the file).
    let size = upright((probe.width, probe.height), probe.orientation);
    let layout = decoder.layout();
    match (plan.route, plan.largest()) {
        (Route::ResizeAlong, Some(t)) => {
            let to = upright((t.width, t.height), probe.orientation);
            let img = resize_rows(size, layout, to, |rows| decoder.read(rows))?;
            Ok(Decoded::Largest(Pixels::Image(img)))
        }
        (Route::ResizeAlong | Route::EncodeAlong, _) => Err(ImageError::Internal(format!(
            "{:?} for a {}",
            plan.route,
            probe.format.name()
        ))),
        (Route::Whole, _) => {
            let (w, h) = size;
            let bytes16 = u64::from(w) * u64::from(h) * u64::from(layout.channel_count()) * 2;
            let deep = probe.source.bit_depth > 8
                && plan.output == OutputFormat::Png
                && bytes16 <= MAX_16BIT_WHOLE_BYTES;
            let img = match deep {
                true => decoder.decode()?,
                false => {
                    check_budget(bytes16 / 2, &format!("the {}", probe.format.name()))?;
                    whole(size, layout, |rows| decoder.read(rows))?
                }
            };
            Ok(Decoded::Whole(Pixels::Image(img)))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use image::metadata::Orientation;
    use tiff::encoder::{colortype::RGB16, Compression, DeflateLevel, TiffEncoder};
    use tiff::tags::Tag;

    use crate::image::pipeline::process_opened;
    use crate::image::pipeline::tests::{mean_difference, picture};
    use crate::image::pixels::{resize, Pixels};
    use crate::image::plan::{Original, Plan, Route};
    use crate::image::probe::open;
    use crate::image::settings::ImageSettings;

    /// `img` as a 16-bit RGB TIFF (Deflate) with an Orientation tag.
    fn tiff16(img: &image::RgbImage, orientation: Orientation) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut tiff = TiffEncoder::new(&mut out)
            .unwrap()
            .with_compression(Compression::Deflate(DeflateLevel::Fast));
        let mut page = tiff.new_image::<RGB16>(img.width(), img.height()).unwrap();
        let exif = u16::from(orientation.to_exif());
        page.encoder().write_tag(Tag::Orientation, exif).unwrap();
        let samples: Vec<u16> = img.as_raw().iter().map(|&v| u16::from(v) * 257).collect();
        page.write_data(&samples).unwrap();
        out.into_inner()
    }

    /// Streamed (no `original`: resized as the rows arrive) or whole (the `original`
    /// re-encoded), turned or not, a 16-bit TIFF gives every variant as JPEG, upright, of the
    /// same picture as turning the whole image and resizing it; the `original` is the whole
    /// picture, upright.
    #[test]
    fn a_tiff_makes_the_same_upright_jpeg_variants_streamed_or_whole() {
        let stored = picture();
        for orientation in [Orientation::NoTransforms, Orientation::Rotate90] {
            let bytes = tiff16(&stored, orientation);
            let mut upright = image::DynamicImage::ImageRgb8(stored.clone());
            upright.apply_orientation(orientation);
            for (original_max, route) in [(4000, Route::Whole), (1000, Route::ResizeAlong)] {
                let settings = ImageSettings {
                    original_max_dimension: original_max,
                    ..ImageSettings::default()
                };
                let opened = open(&bytes, settings.max_input_pixels).unwrap();
                let plan = Plan::new(&opened.probe, &settings);
                assert_eq!(
                    (plan.route, plan.original_from),
                    (route, Original::Reencoded)
                );
                let out = process_opened(opened, &settings).unwrap();
                let names: Vec<_> = out.variants.iter().map(|v| v.name).collect();
                let want: &[&str] = match route {
                    Route::Whole => &["thumb", "medium", "original"],
                    _ => &["thumb", "medium"],
                };
                assert_eq!(names, want);
                for v in &out.variants {
                    assert_eq!(v.content_type, "image/jpeg", "{}", v.name);
                    let resized = resize(&Pixels::Image(upright.clone()), v.width, v.height, false);
                    let Ok(Pixels::Image(want)) = resized else {
                        unreachable!("an image stays an image")
                    };
                    let d = mean_difference(&v.data, &want.to_rgb8());
                    assert!(
                        d < 2.0,
                        "{orientation:?} {route:?} {}: {d} levels off",
                        v.name
                    );
                }
            }
        }
    }
}
