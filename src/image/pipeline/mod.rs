//! The steps after the probe, in order: the plan, decided once (`plan.rs`), then decode — per
//! format, along the plan's route — → colour → the largest variant, resized as stored → encode
//! (`variants.rs`: the largest turned upright for its encoder, the smaller variants each resized
//! from the next size up and turned whole, sizes kept in order), with the metadata-free
//! `original` made beside them (`original.rs`).
//!
//! Orientation is applied after resizing (flips and quarter turns commute with a separable
//! filter): a phone photo is never turned at full size, in a second full-size buffer.

mod rows;
mod variants;

use image::metadata::Orientation;

use crate::image::codecs::source::Source;
use crate::image::codecs::{jpeg, png, webp};
use crate::image::encode::Encoder;
use crate::image::error::ImageError;
use crate::image::original::{finished_original, original, reencoded};
use crate::image::output::Output;
use crate::image::phases::Phases;
use crate::image::pixels::colour::apply_profile;
use crate::image::pixels::{normalize, premultiply, resize, Pixels};
use crate::image::placeholder::Placeholder;
use crate::image::plan::{Colour, Original, Plan, Route, Target};
use crate::image::probe::{contain, upright, Decoder, Facts, Opened, Probe};
use crate::image::settings::ImageSettings;

/// What the decode step hands on: the pixels as stored (orientation not applied).
enum Decoded {
    /// At the decoded size, to be resized (`Route::Whole`; a JPEG at its DCT scale).
    Whole(Pixels),
    /// Resized to the largest variant while decoded (`Route::ResizeAlong`).
    Largest(Pixels),
    /// Resized, and the largest variant and the next size encoded while decoded
    /// (`Route::EncodeAlong`; boxed: the encoders' state is large beside the pixels).
    Encoded(Pixels, Box<jpeg::EncodedAlong>),
}

impl Decoded {
    fn pixels(&mut self) -> &mut Pixels {
        match self {
            Decoded::Whole(p) | Decoded::Largest(p) | Decoded::Encoded(p, _) => p,
        }
    }
}

/// What the colour step found.
struct Coloured {
    /// The alpha is multiplied in (see `premultiply`).
    premultiplied: bool,
    /// The pixels were converted to sRGB (CMYK, or a profile applied).
    converted: bool,
}

/// The largest variant's pixels, and its upright copy when something needs it whole.
struct Largest {
    /// As stored when `turn` is a turn (the plan turns it band by band for its encoder),
    /// otherwise upright.
    pixels: Pixels,
    turn: Orientation,
    upright: std::sync::OnceLock<Pixels>,
}

impl Largest {
    /// The pixels upright, turned on first use if they are stored turned.
    fn upright(&self) -> &Pixels {
        if self.turn == Orientation::NoTransforms {
            return &self.pixels;
        }
        self.upright.get_or_init(|| {
            let mut upright = self.pixels.clone();
            upright.apply_orientation(self.turn);
            upright
        })
    }
}

/// Inputs up to this size have their metadata-free `original` made on its own thread while the
/// pixels are decoded; larger ones after the full-size pixels are gone, so that the copy does
/// not add to the peak.
const ORIGINAL_ALONGSIDE_BYTES: usize = 16 << 20;

/// Makes every variant of a probed input (PRODUCT.md "Variants"). Errors: the input does not
/// decode (`Invalid`), or a bug (`Internal`: a thread of the stage panicked).
pub fn process_opened(opened: Opened<'_>, settings: &ImageSettings) -> Result<Output, ImageError> {
    let phases = Phases::new();
    let Opened {
        probe,
        bytes,
        decoder,
        mut warnings,
    } = opened;
    let plan = Plan::new(&probe, settings);
    warnings.extend(plan.warnings.iter().cloned());
    let stripped = plan.original_from == Original::Stripped;
    let original = || phases.time("original", || original(&bytes, &probe, &plan));
    let made = std::thread::scope(|scope| {
        // A panic there (a parser on a malformed file) comes back as an error, not as the
        // scope's own panic when the decode fails first and nobody joins it.
        let alongside =
            (stripped && plan.original().is_some() && bytes.len() <= ORIGINAL_ALONGSIDE_BYTES)
                .then(|| scope.spawn(|| caught(original)));
        let (decoded, scan_junk) = phases.time(decode_phase(&plan), || {
            contain(|| decode(decoder, &probe, &bytes, &plan, settings, &mut warnings))
        })?;
        let junk = (&scan_junk[..], matches!(bytes, Source::Repaired(_)));
        let (mut decoded, coloured) =
            phases.time("colour", || colour(decoded, &plan, &mut warnings))?;
        let job = job(&probe, &plan, settings, &coloured);
        // Re-encoded from the full-size pixels before they are resized (and dropped).
        let made_original = match (stripped, alongside) {
            (false, _) => phases.time("original", || reencoded(&job, decoded.pixels(), &plan)),
            (true, Some(thread)) => thread.join().unwrap_or_else(|_| original_panicked()),
            (true, None) => original(),
        };
        let (variants, placeholder) = match plan.largest() {
            None => {
                let Decoded::Whole(pixels) = decoded else {
                    return Err(ImageError::Internal("resized without a variant".into()));
                };
                let placeholder = phases.time("placeholder", || {
                    placeholder_of_stored(&job, pixels, plan.turn)
                })?;
                let original = finished_original(made_original, junk, &mut warnings)?;
                (original.into_iter().collect(), placeholder)
            }
            Some(target) => {
                let (largest, along) = largest(&job, decoded, target, &plan, &phases)?;
                let original = finished_original(made_original, junk, &mut warnings)?;
                let cap = original.as_ref().map(|o| o.data.len());
                let made = variants::encode_all(
                    &job,
                    (&largest, along),
                    &plan.resized(),
                    cap,
                    &phases,
                    &mut warnings,
                )?;
                let (mut made, placeholder) = made;
                made.extend(original);
                (made, placeholder)
            }
        };
        Ok::<_, ImageError>((variants, placeholder, coloured.converted))
    });
    let (variants, placeholder, converted_to_srgb) = made?;
    Ok(Output {
        identified: probe.identified(),
        variants,
        warnings,
        placeholder,
        converted_to_srgb,
        phases: phases.into_list(),
    })
}

/// `f`'s result (the stripped `original`, made on a thread of its own), a panic in it (a
/// parser on a malformed file) an `Internal` error.
fn caught<T>(f: impl FnOnce() -> Result<T, ImageError>) -> Result<T, ImageError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| original_panicked())
}

fn original_panicked<T>() -> Result<T, ImageError> {
    Err(ImageError::Internal("original thread panicked".into()))
}

/// The decode step's name in the timings.
fn decode_phase(plan: &Plan<'_>) -> String {
    let resized = plan.resized();
    match (plan.route, resized.split_last()) {
        (Route::EncodeAlong, Some((largest, rest))) => match rest.last() {
            Some(next) => format!("decode + resize + encode {}, {}", largest.name, next.name),
            None => format!("decode + resize + encode {}", largest.name),
        },
        (Route::ResizeAlong, Some((largest, _))) => format!("decode + resize {}", largest.name),
        _ => "decode".to_string(),
    }
}

/// What every variant of the image shares (`Encoder`), from the plan and the colour step.
fn job<'a>(
    probe: &'a Probe,
    plan: &Plan<'a>,
    settings: &'a ImageSettings,
    coloured: &Coloured,
) -> Encoder<'a> {
    let (lossy, palette, chunks) = match &probe.facts {
        Facts::WebP(kind) => (kind.lossy, None, &[][..]),
        Facts::Png {
            palette, colour, ..
        } => (true, palette.as_ref(), &colour[..]),
        Facts::Jpeg | Facts::Rows { .. } => (true, None, &[][..]),
    };
    let icc = plan.carried_icc();
    Encoder {
        format: plan.output,
        lossy,
        icc,
        // Without a profile, the PNG colour chunks say what the pixels are.
        colour_chunks: if icc.is_none() && !coloured.converted {
            chunks
        } else {
            &[]
        },
        settings,
        premultiplied: coloured.premultiplied,
        palette,
    }
}

/// The placeholder of an image that gets no resized variant (at most 400 px): its decoded
/// pixels, alpha divided out again and turned upright, on a copy.
fn placeholder_of_stored(
    job: &Encoder,
    pixels: Pixels,
    turn: Orientation,
) -> Result<Placeholder, ImageError> {
    let mut shown = job.unpremultiplied(&pixels)?.into_owned();
    shown.apply_orientation(turn);
    Ok(job.placeholder(&shown))
}

/// The decode step, per format, along the plan's route: a JPEG at the smallest DCT scale that
/// still leaves the largest variant a downscale, resized to it while decoding (and encoded, for
/// `Route::EncodeAlong`); PNG and WebP whole, an opaque lossy WebP as its 4:2:0 planes (unless
/// its profile is applied, which needs RGB), other still WebP through libwebp, the rest
/// through image-webp; PNG through `png`. Returns the bytes libjpeg skipped at the end of
/// scans' data, for the `original`.
fn decode(
    decoder: Decoder<'_>,
    probe: &Probe,
    bytes: &Source<'_>,
    plan: &Plan<'_>,
    settings: &ImageSettings,
    warnings: &mut Vec<String>,
) -> Result<(Decoded, Vec<(u32, u32)>), ImageError> {
    match decoder {
        Decoder::Jpeg(decoder) => {
            let stored = |t: &Target| upright((t.width, t.height), probe.orientation);
            let largest = plan.largest().map(stored);
            let long = largest.map_or(0, |(w, h)| w.max(h));
            let resized = plan.resized();
            // Encoded along only when upright (the plan): the next size is as stored too.
            let next = resized.len().checked_sub(2).map(|i| stored(resized[i]));
            let along = (plan.route == Route::EncodeAlong).then_some(jpeg::EncodeAlong {
                quality: settings.jpeg_quality,
                icc: plan.carried_icc(),
                next,
            });
            let to = largest.filter(|_| plan.route != Route::Whole);
            let d = jpeg::decode(*decoder, probe.icc.as_deref(), long, to, along, warnings)?;
            let pixels = Pixels::Image(d.image);
            let decoded = match (d.encoded, d.resized) {
                (Some(along), _) => Decoded::Encoded(pixels, Box::new(along)),
                (None, true) => Decoded::Largest(pixels),
                (None, false) => Decoded::Whole(pixels),
            };
            Ok((decoded, d.scan_junk))
        }
        Decoder::WebP(decoder) => {
            let Facts::WebP(kind) = &probe.facts else {
                return Err(ImageError::Internal(
                    "a WebP decoder without WebP facts".into(),
                ));
            };
            let planes = !matches!(plan.colour, Colour::Apply(_));
            let libwebp = planes
                .then(|| webp::decode_planes(bytes, &kind.features))
                .flatten()
                .map(Pixels::Yuv)
                .or_else(|| webp::decode_rgb(bytes, &kind.features).map(Pixels::Image));
            let pixels = match libwebp {
                Some(pixels) => pixels,
                None => Pixels::Image(webp::decode_first_frame(*decoder)?),
            };
            Ok((Decoded::Whole(pixels), Vec::new()))
        }
        Decoder::Png(reader) => Ok((
            Decoded::Whole(Pixels::Image(png::decode(*reader)?)),
            Vec::new(),
        )),
        Decoder::Rows(decoder) => Ok((rows::decode(decoder, probe, plan)?, Vec::new())),
    }
}

/// The colour step: pixels in a layout the output format holds, the plan's profile applied
/// (`Colour::Apply`: converted to sRGB), alpha multiplied in for resizing. CMYK was converted
/// while decoding.
fn colour(
    mut decoded: Decoded,
    plan: &Plan<'_>,
    warnings: &mut Vec<String>,
) -> Result<(Decoded, Coloured), ImageError> {
    let pixels = decoded.pixels();
    if let Pixels::Image(img) = pixels {
        *img = normalize(std::mem::take(img), plan.output);
    }
    let mut converted = plan.colour == Colour::Converted;
    if let (Colour::Apply(icc), Pixels::Image(img)) = (plan.colour, &mut *pixels) {
        match apply_profile(img, icc) {
            Ok(()) => converted = true,
            Err(e) => warnings.push(format!(
                "colour profile of {} bytes could not be applied ({e}); dropped",
                icc.len()
            )),
        }
    }
    let premultiplied = match pixels {
        Pixels::Image(img) => premultiply(img)?,
        Pixels::Yuv(_) => false,
    };
    Ok((
        decoded,
        Coloured {
            premultiplied,
            converted,
        },
    ))
}

/// The largest variant's pixels, resized from the decoded ones unless the decode step made
/// them, kept as stored when the plan turns them band by band for their encoder, otherwise
/// turned upright whole; and what the decode step encoded of it.
fn largest(
    job: &Encoder,
    decoded: Decoded,
    target: &Target,
    plan: &Plan<'_>,
    phases: &Phases,
) -> Result<(Largest, Option<jpeg::EncodedAlong>), ImageError> {
    let turn = plan.turn;
    let (w, h) = match turn {
        Orientation::Rotate90
        | Orientation::Rotate270
        | Orientation::Rotate90FlipH
        | Orientation::Rotate270FlipH => (target.height, target.width),
        _ => (target.width, target.height),
    };
    let (mut pixels, along) = match decoded {
        Decoded::Whole(pixels) => {
            let resized = phases.time(format!("resize {}", target.name), || {
                let made = resize(&pixels, w, h, job.premultiplied);
                drop(pixels);
                made
            })?;
            (resized, None)
        }
        Decoded::Largest(pixels) => (pixels, None),
        Decoded::Encoded(pixels, along) => (pixels, Some(*along)),
    };
    let in_bands = plan.turn_in_bands;
    if turn != Orientation::NoTransforms && !in_bands {
        phases.time(format!("orient {}", target.name), || {
            pixels.apply_orientation(turn)
        });
    }
    let largest = Largest {
        pixels,
        turn: if in_bands {
            turn
        } else {
            Orientation::NoTransforms
        },
        upright: std::sync::OnceLock::new(),
    };
    Ok((largest, along))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::image::codecs::exif::with_orientation_app1;
    use crate::image::probe::open;

    /// A smooth 1300×900 picture with a dark corner at the stored top-left.
    pub(in crate::image::pipeline) fn picture() -> image::RgbImage {
        image::RgbImage::from_fn(1300, 900, |x, y| {
            let corner = x < 200 && y < 200;
            let v = |a: u32, b: u32| (a * 255 / b) as u8;
            match corner {
                true => image::Rgb([20, 20, 20]),
                false => image::Rgb([v(x, 1300), v(y, 900), 160]),
            }
        })
    }

    /// `img` as a JPEG (baseline or progressive) with an EXIF `orientation`.
    fn jpeg(img: &image::RgbImage, orientation: Orientation, progressive: bool) -> Vec<u8> {
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        if !progressive {
            c.set_fastest_defaults();
        }
        c.set_size(img.width() as usize, img.height() as usize);
        c.set_quality(95.0);
        let mut s = c.start_compress(Vec::new()).unwrap();
        s.write_scanlines(img.as_raw()).unwrap();
        let file = s.finish().unwrap();
        with_orientation_app1(&file, orientation)
    }

    /// The mean absolute difference (levels) between an encoded variant and `want`.
    pub(in crate::image::pipeline) fn mean_difference(
        variant: &[u8],
        want: &image::RgbImage,
    ) -> f64 {
        let got = image::load_from_memory(variant).unwrap().to_rgb8();
        assert_eq!(got.dimensions(), want.dimensions());
        let sum: u64 = got
            .as_raw()
            .iter()
            .zip(want.as_raw())
            .map(|(a, b)| u64::from(a.abs_diff(*b)))
            .sum();
        sum as f64 / got.as_raw().len() as f64
    }

    /// Each route — encoded along (upright baseline), resized along and turned band by band
    /// (turned), resized along (progressive) — makes every variant upright, of the same
    /// picture as turning the whole original and resizing it.
    #[test]
    fn every_route_makes_the_same_upright_picture() {
        let stored = picture();
        let settings = ImageSettings::default();
        for (orientation, progressive, route) in [
            (Orientation::NoTransforms, false, Route::EncodeAlong),
            (Orientation::Rotate90, false, Route::ResizeAlong),
            (Orientation::Rotate180, true, Route::ResizeAlong),
        ] {
            let bytes = jpeg(&stored, orientation, progressive);
            let opened = open(&bytes, settings.max_input_pixels).unwrap();
            assert_eq!(Plan::new(&opened.probe, &settings).route, route);
            let out = process_opened(opened, &settings).unwrap();
            let mut upright = image::DynamicImage::ImageRgb8(stored.clone());
            upright.apply_orientation(orientation);
            for v in out.variants.iter().filter(|v| v.name != "original") {
                let Pixels::Image(want) =
                    resize(&Pixels::Image(upright.clone()), v.width, v.height, false).unwrap()
                else {
                    unreachable!("an image stays an image")
                };
                let d = mean_difference(&v.data, &want.to_rgb8());
                assert!(d < 2.0, "{orientation:?} {}: {d} levels off", v.name);
            }
        }
    }

    #[test]
    fn the_largest_variant_is_turned_upright_once_when_asked() {
        let img = image::DynamicImage::ImageRgb8(picture());
        let largest = Largest {
            pixels: Pixels::Image(img.clone()),
            turn: Orientation::Rotate270,
            upright: std::sync::OnceLock::new(),
        };
        let Pixels::Image(up) = largest.upright() else {
            unreachable!("an image stays an image")
        };
        assert_eq!((up.width(), up.height()), (900, 1300));
        assert!(
            std::ptr::eq(largest.upright(), largest.upright()),
            "made once"
        );
    }
}
