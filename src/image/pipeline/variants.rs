//! The encode step: the largest variant encoded on this thread — its encoding finished when the
//! decode step made it, taken band by band as a second thread turns it upright, or whole —
//! while the second thread makes the smaller variants, each resized from the next size up
//! (thumb from medium: Lanczos3 from at least twice the size loses nothing visible, and costs
//! a third of a pass from `large`) and turned upright whole if it is not yet. Then sizes are
//! kept in order.

use image::metadata::Orientation;

use super::Largest;
use crate::image::bands::queue::band_queue;
use crate::image::bands::turn::turn_bands;
use crate::image::codecs::jpeg;
use crate::image::encode::Encoder;
use crate::image::error::ImageError;
use crate::image::output::Variant;
use crate::image::phases::Phases;
use crate::image::pixels::Pixels;
use crate::image::placeholder::Placeholder;
use crate::image::plan::Target;

/// Encodes `largest` (with what the decode step encoded of it, `along`) as the largest of
/// `resized` (smallest first) while the smaller variants are made on a second thread; then
/// keeps sizes in order, the largest capped by the original's size (`cap`, bytes). Returns the
/// variants, smallest first, and the placeholder, made from the smallest variant's pixels.
pub(super) fn encode_all(
    job: &Encoder,
    (largest, along): (&Largest, Option<jpeg::EncodedAlong>),
    resized: &[&Target],
    cap: Option<usize>,
    phases: &Phases,
    warnings: &mut Vec<String>,
) -> Result<(Vec<Variant>, Placeholder), ImageError> {
    let (smaller, t) = match resized.split_last() {
        Some((t, smaller)) => (smaller, *t),
        None => return Err(ImageError::Internal("no variant to encode".into())),
    };
    let (encoded, made_along) = match along {
        Some(along) => (Some(along.largest), along.next),
        None => (None, None),
    };
    std::thread::scope(|scope| {
        // A largest variant stored turned: the second thread turns it upright band by band for
        // this thread's encoder (at most a few bands ahead of it), then makes the smaller
        // variants. For the 9.8 MP wine photo's `large`, 13 ms of turning beside a 40 ms encode
        // (turning on the encoding thread: 10 % slower overall).
        let turned = largest.turn != Orientation::NoTransforms;
        let (bands, upright_bands) = turned.then(band_queue::<()>).unzip();
        let chain = scope.spawn(move || {
            if let (Some(bands), Pixels::Image(stored)) = (bands, &largest.pixels) {
                let name = format!("orient {}", t.name);
                let all = phases.time(name, || turn_bands(stored, largest.turn, &bands))?;
                if !all {
                    // The encode failed: its error is the one told.
                    return Ok((Vec::new(), None));
                }
            }
            let made_along = made_along.map(|(image, encoding)| (Pixels::Image(image), encoding));
            smaller_variants(job, largest, smaller, made_along, phases)
        });
        let big = match (encoded, upright_bands) {
            // Encoded while decoded: only its last pass is left.
            (Some(encoding), _) => last_pass(job, t, encoding, phases),
            (None, Some(bands)) => phases.time(format!("encode {}", t.name), || {
                let gray = matches!(&largest.pixels, Pixels::Image(i) if i.color() == image::ColorType::L8);
                job.finish_bands(gray, bands.into_iter().map(|(_, band)| band), t)
            }),
            (None, None) => job
                .unpremultiplied(largest.upright())
                .and_then(|shown| encode(job, &shown, t, None, phases)),
        };
        let (mut made, placeholder) = chain
            .join()
            .unwrap_or_else(|_| Err(ImageError::Internal("resizing thread panicked".into())))?;
        made.push(big?);
        let placeholder = match placeholder {
            Some(placeholder) => placeholder,
            None => job.placeholder(&*job.unpremultiplied(largest.upright())?),
        };
        phases.time("keep sizes in order", || {
            keep_sizes_in_order(job, largest, resized, &mut made, cap, warnings)
        })?;
        Ok::<_, ImageError>((made, placeholder))
    })
}

/// The variants below the largest (`smaller`, smallest first), each resized from the next
/// larger one, largest first — the first from the largest as stored, and turned upright whole;
/// or made by the decode step with its encoding (`made_along`). The placeholder from the
/// smallest. Returned smallest first.
fn smaller_variants(
    job: &Encoder,
    largest: &Largest,
    smaller: &[&Target],
    mut made_along: Option<(Pixels, jpeg::Encoding)>,
    phases: &Phases,
) -> Result<(Vec<Variant>, Option<Placeholder>), ImageError> {
    debug_panic_in_resizing_thread();
    let mut made = Vec::with_capacity(smaller.len());
    let mut placeholder = None;
    // The next size up, upright.
    let mut above: Option<Pixels> = None;
    for (i, t) in smaller.iter().enumerate().rev() {
        let (pixels, ahead) = match (made_along.take(), &above) {
            (Some((pixels, encoding)), _) => (pixels, Some(encoding)),
            (None, Some(from)) => {
                let pixels = phases.time(format!("resize {}", t.name), || {
                    job.resized(from, t.width, t.height)
                })?;
                (pixels, None)
            }
            (None, None) => (from_largest(job, largest, t, phases)?, None),
        };
        let shown = job.unpremultiplied(&pixels)?;
        let variant = encode(job, &shown, t, ahead, phases)?;
        if i == 0 {
            placeholder = Some(phases.time("placeholder", || job.placeholder(&shown)));
        }
        drop(shown);
        made.push(variant);
        above = Some(pixels);
    }
    made.reverse();
    Ok((made, placeholder))
}

/// `t`'s pixels, upright, resized from the largest variant: as it is stored, then turned whole
/// when it is stored turned (small enough to turn whole, as libvips turns its thumbnails).
fn from_largest(
    job: &Encoder,
    largest: &Largest,
    t: &Target,
    phases: &Phases,
) -> Result<Pixels, ImageError> {
    let quarter = matches!(
        largest.turn,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    );
    let (w, h) = match quarter {
        true => (t.height, t.width),
        false => (t.width, t.height),
    };
    let mut pixels = phases.time(format!("resize {}", t.name), || {
        job.resized(&largest.pixels, w, h)
    })?;
    if largest.turn != Orientation::NoTransforms {
        phases.time(format!("orient {}", t.name), || {
            pixels.apply_orientation(largest.turn)
        });
    }
    Ok(pixels)
}

/// `t`'s variant: `shown` encoded, or the encoding the decode step made of the same pixels
/// finished (its last pass).
fn encode(
    job: &Encoder,
    shown: &Pixels,
    t: &Target,
    ahead: Option<jpeg::Encoding>,
    phases: &Phases,
) -> Result<Variant, ImageError> {
    match ahead {
        Some(encoding) => last_pass(job, t, encoding, phases),
        None => phases.time(format!("encode {}", t.name), || job.finish(shown, t)),
    }
}

/// `t`'s variant from the encoding the decode step made: its last pass.
fn last_pass(
    job: &Encoder,
    t: &Target,
    encoding: jpeg::Encoding,
    phases: &Phases,
) -> Result<Variant, ImageError> {
    phases.time(format!("encode {} (last pass)", t.name), || {
        Ok(job.named(t, encoding.finish()?))
    })
}

/// Fault injection for the tests, in debug builds only: `ARKE_DEBUG_PANIC=resize` panics in a
/// resizing thread, to prove that such a panic (a bug) ends as `internal`, not as bad input.
/// Release builds compile this to nothing.
fn debug_panic_in_resizing_thread() {
    if cfg!(debug_assertions) && std::env::var("ARKE_DEBUG_PANIC").is_ok_and(|v| v == "resize") {
        panic!("injected panic in a resizing thread");
    }
}

/// A variant is never larger in bytes than the next larger one (the `original` included: a
/// heavily compressed original can be smaller than a fresh `large`). One that is gets encoded
/// again, at lower quality for lossy formats or with the strongest compression for lossless
/// ones (unless it is over 1.3× the limit, beyond what that can gain); if it is still larger,
/// the smallest encoding is kept and a warning says so. `made` is smallest first, its last the
/// largest variant (`largest`'s pixels). A smaller variant encoded again here is resized from
/// the largest's upright pixels (made the first time from the next size up: the same picture,
/// within Lanczos's rounding); this is rare, and keeping every size's pixels for it would hold
/// them all to the end.
fn keep_sizes_in_order(
    job: &Encoder,
    largest: &Largest,
    targets: &[&Target],
    made: &mut [Variant],
    mut cap: Option<usize>,
    warnings: &mut Vec<String>,
) -> Result<(), ImageError> {
    let last = made.len() - 1;
    for i in (0..made.len()).rev() {
        if let Some(limit) = cap.filter(|&c| made[i].data.len() > c) {
            let have = made[i].data.len();
            // Lossless encoders gain 10-30% at their strongest; a resized line drawing can be
            // ten times its crisp original, where a second's recompression cannot help.
            let hopeless = !job.is_lossy() && have as u64 * 10 > limit as u64 * 13;
            if !hopeless {
                let pixels = if i == last {
                    job.unpremultiplied(largest.upright())?
                } else {
                    let t = targets[i];
                    let resized = job.pixels(largest.upright(), t.width, t.height)?;
                    std::borrow::Cow::Owned(resized)
                };
                let smaller = job.within(&pixels, targets[i], limit)?;
                if smaller.data.len() < have {
                    made[i] = smaller;
                }
            }
            if made[i].data.len() > limit {
                warnings.push(format!(
                    "{} is {} bytes, larger than the next size up ({limit} bytes){}",
                    made[i].name,
                    made[i].data.len(),
                    if hopeless {
                        " (lossless: out of reach of stronger compression)"
                    } else {
                        " even at the strongest compression"
                    }
                ));
            }
        }
        cap = Some(made[i].data.len());
    }
    Ok(())
}
