//! The steps after the probe, in order: plan → decode → colour → orient → resize → encode, and
//! the metadata-free `original`.
//!
//! The original is decoded once (colour profile kept) and resized once to the largest variant
//! (a JPEG while it is being decoded), which is then turned upright (EXIF orientation); each
//! smaller variant is made from the next size up, on a second thread, in the input's format.
//! An upright baseline JPEG has its two largest variants made and encoded while it decodes
//! (`encodes_along`), the largest taken band by band and never held whole (decoded again in
//! the rare case a second encoding needs it: `Big`). A turned one keeps its largest variant in
//! strips that each turn into one band of the upright image, each handed back once turned
//! (`turns_along`, `turning`). An opaque lossy WebP stays in its 4:2:0 planes throughout.

use image::metadata::Orientation;

use crate::image::bands::queue::QUEUED_BANDS;
use crate::image::bands::turn::{turn_bands, Stored, Strips};
use crate::image::codecs::source::Source;
use crate::image::codecs::{jpeg, png, webp};
use crate::image::encode::Job;
use crate::image::error::ImageError;
use crate::image::original::{finished_original, strip_metadata};
use crate::image::output::{Output, Variant};
use crate::image::phases::Phases;
use crate::image::pixels::colour::{apply_profile, MAX_CARRIED_ICC_BYTES};
use crate::image::pixels::{icc_matches, normalize, premultiply, resize, Pixels};
use crate::image::placeholder::Placeholder;
use crate::image::plan::{targets, Target};
use crate::image::probe::{contain, upright, ColourModel, Decoder, Facts, Opened, Probe};
use crate::image::settings::ImageSettings;

/// The plan step: the variants to make, computed once from the header.
struct Plan {
    targets: Vec<Target>,
}

impl Plan {
    fn new(probe: &Probe, settings: &ImageSettings) -> Plan {
        Plan {
            targets: targets(probe.width, probe.height, settings.original_max_dimension),
        }
    }

    /// The resized variants, smallest first.
    fn resized(&self) -> Vec<&Target> {
        self.targets
            .iter()
            .filter(|t| t.name != "original")
            .collect()
    }

    fn original(&self) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == "original")
    }
}

/// What the decode step hands on: the pixels as stored (orientation not applied).
struct Decoded<'p> {
    /// `None`: a JPEG whose largest variant was encoded band by band while it was decoded
    /// (`encoded`), its pixels not kept; `Big` decodes them again if something needs them.
    pixels: Option<Pixels>,
    size: Size,
    /// The largest variant, already encoded (a JPEG, while it was decoded and resized).
    encoded: Option<Encoded<'p>>,
    /// The largest variant, as stored, in the strips that turn into its upright bands (a
    /// turned JPEG, while it was decoded and resized: `turns_along`).
    strips: Option<Strips>,
    /// A JPEG's bytes libjpeg skipped at the end of scans' data (`jpeg::trim_scan_junk`).
    scan_junk: Vec<(u32, u32)>,
}

/// Variants encoded ahead of the colour step, while the file was decoded (all but the
/// encoder's last pass), with the profile they carry: the largest, and the next size with its
/// pixels.
struct Encoded<'p> {
    largest: jpeg::Encoding,
    next: Option<(Pixels, jpeg::Encoding)>,
    icc: Option<&'p [u8]>,
}

/// The size decoded pixels come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Size {
    /// The stored image's.
    Full,
    /// Already resized to the largest variant (a JPEG, while it was decoded).
    Largest,
}

/// What the colour step hands on: pixels in the output format's layout, ready to resize.
struct Coloured<'p> {
    /// As `Decoded::pixels`.
    pixels: Option<Pixels>,
    size: Size,
    /// The input's profile, when it describes these pixels and is small enough to carry.
    icc: Option<&'p [u8]>,
    /// The pixels were converted to sRGB (from CMYK, or through a profile too large to carry).
    converted: bool,
    /// The alpha is multiplied in (see `premultiply`).
    premultiplied: bool,
    /// The largest variant (and the next size) already encoded, but for the last pass, from
    /// exactly these pixels and this profile.
    encoded: Option<Encoded<'p>>,
    /// As `Decoded::strips`.
    strips: Option<Strips>,
}

/// Inputs up to this size have their metadata-free `original` made on its own thread while the
/// pixels are decoded; larger ones after the full-size pixels are gone, so that the copy does
/// not add to the peak.
const ORIGINAL_ALONGSIDE_BYTES: usize = 16 << 20;

/// Makes every variant of a probed input (PRODUCT.md "Variants").
pub fn process_opened(opened: Opened<'_>, settings: &ImageSettings) -> Result<Output, ImageError> {
    let phases = Phases::new();
    let Opened {
        probe,
        bytes,
        decoder,
        mut warnings,
    } = opened;
    let plan = Plan::new(&probe, settings);
    let original = || phases.time("original", || original(&bytes, &probe, &plan));
    let made = std::thread::scope(|scope| {
        // A panic there (a parser on a malformed file) comes back as an error, not as the
        // scope's own panic when the decode fails first and nobody joins it.
        let alongside = (plan.original().is_some() && bytes.len() <= ORIGINAL_ALONGSIDE_BYTES)
            .then(|| {
                scope.spawn(|| {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(original)).unwrap_or_else(
                        |_| Err(ImageError::Internal("original thread panicked".into())),
                    )
                })
            });
        let original = || match alongside {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(ImageError::Internal("original thread panicked".into()))),
            None => original(),
        };
        // The largest variant's pixels decoded again, for when they were not kept (`Big`);
        // timed, so that a use outside the rare cases shows.
        let again = || {
            phases.time("decode largest again", || {
                contain(|| decode_largest_again(&bytes, &probe, &plan))
            })
        };
        let mut decoded = phases.time(decode_phase(&decoder, &probe, &plan), || {
            contain(|| decode(decoder, &probe, &bytes, &plan, settings, &mut warnings))
        })?;
        let scan_junk = std::mem::take(&mut decoded.scan_junk);
        let junk = (&scan_junk[..], matches!(bytes, Source::Repaired(_)));
        let (lossy, palette, chunks) = match &probe.facts {
            Facts::WebP(kind) => (kind.lossy, None, &[][..]),
            Facts::Png {
                palette, colour, ..
            } => (true, palette.as_ref(), &colour[..]),
            Facts::Jpeg => (true, None, &[][..]),
        };
        let coloured = phases.time("colour", || colour(decoded, &probe, &mut warnings))?;
        let job = Job {
            format: probe.format,
            lossy,
            icc: coloured.icc,
            // Without a profile, the PNG colour chunks say what the pixels are.
            colour_chunks: if coloured.icc.is_none() && !coloured.converted {
                chunks
            } else {
                &[]
            },
            settings,
            premultiplied: coloured.premultiplied,
            palette,
        };
        let resized = plan.resized();
        let (mut variants, original, placeholder) = match resized.split_last() {
            None => {
                let pixels = coloured.pixels.ok_or_else(|| {
                    ImageError::Internal("no pixels for an image without variants".into())
                })?;
                let placeholder = phases.time("placeholder", || {
                    placeholder_of_stored(&job, pixels, &probe)
                })?;
                let original = finished_original(original(), junk, &mut warnings)?;
                (Vec::new(), original, placeholder)
            }
            Some((largest, _)) => {
                let big = largest_upright(
                    &job,
                    (coloured.pixels, coloured.strips.is_some()),
                    coloured.size,
                    largest,
                    &probe,
                    &phases,
                    &again,
                )?;
                let original = finished_original(original(), junk, &mut warnings)?;
                let cap = original.as_ref().map(|o| o.data.len());
                let (encoded, next) = coloured.encoded.map(|e| (e.largest, e.next)).unzip();
                let largest = Made {
                    target: largest,
                    encoded,
                    next: next.flatten(),
                    strips: coloured.strips,
                };
                let (made, placeholder) =
                    encode_all(&job, &big, largest, &resized, cap, &phases, &mut warnings)?;
                (made, original, placeholder)
            }
        };
        variants.extend(original);
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

/// The decode step's name in the timings: a JPEG is resized while it is decoded, and may have
/// its two largest variants made and encoded along.
fn decode_phase(decoder: &Decoder<'_>, probe: &Probe, plan: &Plan) -> String {
    let resized = plan.resized();
    match (decoder, resized.split_last()) {
        (Decoder::Jpeg(_), Some((largest, rest))) if encodes_along(probe) => match rest.last() {
            Some(next) => format!("decode + resize + encode {}, {}", largest.name, next.name),
            None => format!("decode + resize + encode {}", largest.name),
        },
        (Decoder::Jpeg(_), Some((largest, rest))) if turns_along(probe, rest) => {
            format!("decode + resize + split {}", largest.name)
        }
        // CMYK is converted at the decoded size, then resized ("resize large").
        (Decoder::Jpeg(_), Some((largest, _)))
            if !matches!(
                probe.source.colour_model,
                ColourModel::Cmyk | ColourModel::Ycck
            ) =>
        {
            format!("decode + resize {}", largest.name)
        }
        _ => "decode".to_string(),
    }
}

/// The placeholder of an image that gets no resized variant (at most 400 px): its decoded
/// pixels, alpha divided out again and turned upright, on a copy.
fn placeholder_of_stored(
    job: &Job,
    pixels: Pixels,
    probe: &Probe,
) -> Result<Placeholder, ImageError> {
    let mut shown = job.shown(&pixels)?.into_owned();
    shown.apply_orientation(
        Orientation::from_exif(probe.orientation).unwrap_or(Orientation::NoTransforms),
    );
    Ok(job.placeholder(&shown))
}

/// Whether the input's profile is applied to the pixels rather than carried (PRODUCT.md: over
/// 4 KB).
fn applies_profile(probe: &Probe) -> bool {
    probe
        .icc
        .as_ref()
        .is_some_and(|p| p.len() > MAX_CARRIED_ICC_BYTES)
}

/// Whether a JPEG's two largest variants are made and encoded while it is decoded: a baseline
/// file (a progressive one holds all its DCT coefficients while decoding, and the encoders'
/// buffers on top would raise the peak: measured +15 MB on a 10 MP photo), that needs no
/// turning (EXIF orientation 1) and keeps the pixels' colours (no CMYK, no profile to apply).
/// The colour step checks the result against its own decisions (`colour`).
fn encodes_along(probe: &Probe) -> bool {
    !probe.source.progressive
        && probe.orientation <= 1
        && !applies_profile(probe)
        && !matches!(
            probe.source.colour_model,
            ColourModel::Cmyk | ColourModel::Ycck
        )
}

/// Whether a JPEG's largest variant is split into strips while the file is decoded, each
/// turned upright and handed back in turn (`jpeg::RowsAlong::Turn`, `turning`): a baseline
/// file turned by its EXIF orientation (a phone's portrait photo) whose pixels keep their
/// colours, as for `encodes_along`, and with smaller variants (`smaller`: otherwise the
/// placeholder is made from the largest's pixels, which are then kept whole). A progressive
/// file is decoded into a whole image and turned band by band from it (its coefficients make
/// its peak).
fn turns_along(probe: &Probe, smaller: &[&Target]) -> bool {
    !probe.source.progressive
        && probe.orientation > 1
        && !smaller.is_empty()
        && !applies_profile(probe)
        && !matches!(
            probe.source.colour_model,
            ColourModel::Cmyk | ColourModel::Ycck
        )
}

/// The profile a JPEG's variants will carry, as the colour step decides it: the file's, when
/// it describes the decoded pixels (RGB for colour, GRAY for gray).
fn carried_icc(probe: &Probe) -> Option<&[u8]> {
    let gray = probe.source.colour_model == ColourModel::Gray;
    probe.icc.as_deref().filter(|p| {
        let space = p.get(16..20);
        space == Some(if gray { b"GRAY" } else { b"RGB " })
    })
}

/// The decode step, per format: a JPEG at the smallest DCT scale that still leaves the largest
/// variant a downscale (and resized to it while decoding); PNG and WebP at full size, opaque
/// lossy WebP as its 4:2:0 planes (unless its profile is to be applied, which needs RGB),
/// other still WebP through libwebp, the rest through image-webp; PNG through `png`.
fn decode<'p>(
    decoder: Decoder<'_>,
    probe: &'p Probe,
    bytes: &Source<'_>,
    plan: &Plan,
    settings: &ImageSettings,
    warnings: &mut Vec<String>,
) -> Result<Decoded<'p>, ImageError> {
    match decoder {
        Decoder::Jpeg(decoder) => {
            let (largest, long) = jpeg_largest(probe, plan);
            let icc = probe.icc.as_deref();
            // The next size down, made from the largest's rows when it needs no turning.
            let resized = plan.resized();
            let then = resized
                .len()
                .checked_sub(2)
                .map(|i| (resized[i].width, resized[i].height));
            let carried = carried_icc(probe);
            let turn = Orientation::from_exif(probe.orientation)
                .filter(|_| turns_along(probe, &resized[..resized.len().saturating_sub(1)]));
            let along = if encodes_along(probe) {
                Some(jpeg::RowsAlong::Encode(jpeg::EncodeAlong {
                    quality: settings.jpeg_quality,
                    icc: carried,
                    then,
                }))
            } else {
                turn.map(jpeg::RowsAlong::Turn)
            };
            let d = jpeg::decode(*decoder, icc, long, largest, along, warnings)?;
            let size = if d.resized { Size::Largest } else { Size::Full };
            Ok(Decoded {
                pixels: d.image.map(Pixels::Image),
                size,
                encoded: d.encoded.map(|largest| Encoded {
                    largest,
                    next: d.next.map(|(image, e)| (Pixels::Image(image), e)),
                    icc: carried,
                }),
                strips: d.strips,
                scan_junk: d.scan_junk,
            })
        }
        Decoder::WebP(decoder) => {
            let features = match &probe.facts {
                Facts::WebP(kind) => Some(kind.features),
                _ => None,
            };
            let planes = !applies_profile(probe);
            let libwebp = features.and_then(|f| {
                planes
                    .then(|| webp::decode_planes(bytes, &f))
                    .flatten()
                    .map(Pixels::Yuv)
                    .or_else(|| webp::decode_rgb(bytes, &f).map(Pixels::Image))
            });
            let pixels = match libwebp {
                Some(pixels) => pixels,
                None => Pixels::Image(webp::decode_first_frame(*decoder)?),
            };
            Ok(Decoded {
                pixels: Some(pixels),
                size: Size::Full,
                encoded: None,
                strips: None,
                scan_junk: Vec::new(),
            })
        }
        Decoder::Png(reader) => Ok(Decoded {
            pixels: Some(Pixels::Image(png::decode(*reader)?)),
            size: Size::Full,
            encoded: None,
            strips: None,
            scan_junk: Vec::new(),
        }),
    }
}

/// The largest variant's size as stored (orientation not applied) and its longest side: what
/// a JPEG is decoded to.
fn jpeg_largest(probe: &Probe, plan: &Plan) -> (Option<(u32, u32)>, u32) {
    let largest = plan
        .resized()
        .into_iter()
        .max_by_key(|t| t.width.max(t.height))
        .map(|t| upright((t.width, t.height), probe.orientation));
    (largest, largest.map_or(0, |(w, h)| w.max(h)))
}

/// The largest variant's pixels (as stored) of a JPEG whose decode step encoded them band by
/// band or split them into strips, and did not keep them (`Decoded::pixels`): the same decode
/// again, without the encoding, and the colour step's layout. Needed only when a variant is
/// encoded a second time (`keep_sizes_in_order`) or the placeholder has no smaller variant to
/// come from.
fn decode_largest_again(
    bytes: &Source<'_>,
    probe: &Probe,
    plan: &Plan,
) -> Result<Pixels, ImageError> {
    let (largest, long) = jpeg_largest(probe, plan);
    let (image, _) = jpeg::decode_whole(bytes, long, largest)?;
    Ok(Pixels::Image(normalize(image, probe.format)))
}

/// The colour step: pixels in a layout the output format holds, the profile kept only when it
/// describes them and is small (a larger one is applied: the pixels converted to sRGB), alpha
/// multiplied in for resizing. CMYK was converted while decoding.
fn colour<'p>(
    decoded: Decoded<'p>,
    probe: &'p Probe,
    warnings: &mut Vec<String>,
) -> Result<Coloured<'p>, ImageError> {
    let mut pixels = decoded.pixels.map(|pixels| match pixels {
        Pixels::Image(img) => Pixels::Image(normalize(img, probe.format)),
        planes @ Pixels::Yuv(_) => planes,
    });
    let cmyk = matches!(
        probe.source.colour_model,
        ColourModel::Cmyk | ColourModel::Ycck
    );
    let mut converted = cmyk;
    let icc = probe.icc.as_deref().filter(|_| !cmyk).filter(|p| {
        let fits = match &pixels {
            Some(pixels) => icc_matches(p, pixels),
            // Not kept: the encoders carried the profile if it described their pixels
            // (`carried_icc`, the same test).
            None => carried_icc(probe) == Some(*p),
        };
        if !fits {
            warnings
                .push("embedded colour profile does not match the decoded pixels; dropped".into());
        }
        fits
    });
    let icc = match (icc, &mut pixels) {
        (Some(p), Some(Pixels::Image(img))) if applies_profile(probe) => {
            match apply_profile(img, p) {
                Ok(()) => converted = true,
                Err(e) => warnings.push(format!(
                    "colour profile of {} bytes could not be applied ({e}); dropped",
                    p.len()
                )),
            }
            None
        }
        (icc, _) => icc,
    };
    let premultiplied = match &mut pixels {
        Some(Pixels::Image(img)) => premultiply(img)?,
        Some(Pixels::Yuv(_)) | None => false,
    };
    // Made before these decisions: used only if they agree.
    let encoded = decoded
        .encoded
        .filter(|e| e.icc == icc && !converted && !premultiplied);
    // Pixels not kept come with their encoding (the same decisions, made along the decode) or
    // in strips (pixels no decision changes: `turns_along`).
    debug_assert!(pixels.is_some() || encoded.is_some() || decoded.strips.is_some());
    Ok(Coloured {
        pixels,
        size: decoded.size,
        icc,
        converted,
        premultiplied,
        encoded,
        strips: decoded.strips,
    })
}

/// The largest variant's pixels, upright or, for a JPEG whose encoder takes them upright band
/// by band as a second thread turns them (`encode_all`), as stored with the turn to make. A
/// JPEG whose largest variant was encoded while it was decoded, or split into strips
/// (`turns_along`), has none kept: they are decoded again the first time something asks
/// (`again`), as stored, and turned here.
struct Big<'a> {
    pixels: Option<Pixels>,
    /// The EXIF orientation still to apply to `pixels` (`NoTransforms`: they are upright).
    turn: Orientation,
    /// `pixels` turned upright, made only if something needs them whole (the placeholder of
    /// an image with no smaller variant, or a second encoding to keep sizes in order).
    upright: std::sync::OnceLock<Pixels>,
    /// Makes the pixels again when they were not kept (`decode_largest_again`).
    again: &'a (dyn Fn() -> Result<Pixels, ImageError> + Sync),
    /// `again`'s result, once asked for.
    remade: std::sync::OnceLock<Result<Pixels, ImageError>>,
}

impl Big<'_> {
    /// The pixels as stored (decoded again if they were not kept).
    fn stored(&self) -> Result<&Pixels, ImageError> {
        match &self.pixels {
            Some(pixels) => Ok(pixels),
            None => self
                .remade
                .get_or_init(self.again)
                .as_ref()
                .map_err(Clone::clone),
        }
    }

    /// The pixels upright.
    fn upright(&self) -> Result<&Pixels, ImageError> {
        let stored = self.stored()?;
        if self.turn == Orientation::NoTransforms {
            return Ok(stored);
        }
        Ok(self.upright.get_or_init(|| {
            let mut upright = stored.clone();
            upright.apply_orientation(self.turn);
            upright
        }))
    }
}

/// The resize and orient steps for the largest variant, made from the original (`pixels`;
/// `split`: instead in strips, `Made::strips`).
///
/// The pixels are as stored; the orientation is applied to the resized ones (the same picture:
/// flips and quarter turns commute with a separable filter), so a phone photo is not turned at
/// full size, in a second full-size buffer. A JPEG comes already resized, and stays as stored
/// (or in strips): it is turned band by band as its encoder takes it, and the next size is
/// resized from the upright bands (`encode_all`).
fn largest_upright<'a>(
    job: &Job,
    (pixels, split): (Option<Pixels>, bool),
    size: Size,
    largest: &Target,
    probe: &Probe,
    phases: &Phases,
    again: &'a (dyn Fn() -> Result<Pixels, ImageError> + Sync),
) -> Result<Big<'a>, ImageError> {
    let orientation =
        Orientation::from_exif(probe.orientation).unwrap_or(Orientation::NoTransforms);
    let Some(pixels) = pixels else {
        // Encoded while decoded, which only an upright JPEG is (`encodes_along`), or split into
        // strips: not kept.
        if orientation != Orientation::NoTransforms && !split {
            return Err(ImageError::Internal(
                "a turned JPEG's largest variant was not kept".into(),
            ));
        }
        return Ok(Big {
            pixels: None,
            turn: orientation,
            upright: std::sync::OnceLock::new(),
            again,
            remade: std::sync::OnceLock::new(),
        });
    };
    let (w, h) = upright((largest.width, largest.height), probe.orientation);
    let mut pixels = match size {
        Size::Largest => pixels,
        Size::Full => phases.time(format!("resize {}", largest.name), || {
            let big = resize(&pixels, w, h, job.premultiplied);
            drop(pixels);
            big
        })?,
    };
    let mut turn = Orientation::NoTransforms;
    if orientation != Orientation::NoTransforms {
        if turned_while_encoded(job, &pixels) {
            turn = orientation;
        } else {
            phases.time(format!("orient {}", largest.name), || {
                pixels.apply_orientation(orientation)
            });
        }
    }
    Ok(Big {
        pixels: Some(pixels),
        turn,
        upright: std::sync::OnceLock::new(),
        again,
        remade: std::sync::OnceLock::new(),
    })
}

/// Whether a variant's encoder takes these pixels turned band by band (`turning::turn_bands`,
/// `Job::finish_bands`): 8-bit gray or RGB pixels for a JPEG.
fn turned_while_encoded(job: &Job, pixels: &Pixels) -> bool {
    job.format == crate::image::codecs::Format::Jpeg
        && matches!(
            pixels,
            Pixels::Image(image::DynamicImage::ImageLuma8(_) | image::DynamicImage::ImageRgb8(_))
        )
}

/// The largest variant: its target, and its encoding when the decode step made it already,
/// with the next size's pixels and encoding.
struct Made<'t> {
    target: &'t Target,
    encoded: Option<jpeg::Encoding>,
    next: Option<(Pixels, jpeg::Encoding)>,
    /// Its pixels, as stored, in the strips that turn into its upright bands (`Big` does not
    /// keep them).
    strips: Option<Strips>,
}

/// The encode step: `big` (the largest of `resized`, upright) encoded, unless it already is,
/// while the smaller variants are made on a second thread, each from the one above it (thumb
/// from medium: Lanczos3 from at least twice the size loses nothing visible, and costs a
/// third of a pass from `large`). Then sizes are kept in order, the largest capped by the
/// original's size (`cap`). The placeholder comes from the smallest variant's pixels, made
/// there anyway.
fn encode_all(
    job: &Job,
    big: &Big,
    largest: Made<'_>,
    resized: &[&Target],
    cap: Option<usize>,
    phases: &Phases,
    warnings: &mut Vec<String>,
) -> Result<(Vec<Variant>, Placeholder), ImageError> {
    let smaller = &resized[..resized.len().saturating_sub(1)];
    let t = largest.target;
    std::thread::scope(|scope| {
        // A turned largest variant (in strips, or whole as stored): the second thread turns it
        // upright band by band, each band going to this thread's encoder (at most a few bands
        // ahead of it) and to the next size's resize, then makes the smaller variants. For the
        // 9.8 MP wine photo's `large`, 13 ms of turning and 15 of resizing `medium` beside a
        // 40 ms encode (turning on the encoding thread: 10 % slower overall).
        let stored = match (largest.strips, &big.pixels) {
            (Some(strips), _) => Some(Stored::Strips(strips)),
            (None, Some(Pixels::Image(img))) if big.turn != Orientation::NoTransforms => {
                Some(Stored::Whole(img, big.turn))
            }
            _ => None,
        };
        // The queue of upright bands, and whether they are gray, when there is a turn.
        let (gray, queue) = stored
            .as_ref()
            .map(|s| (s.gray(), std::sync::mpsc::sync_channel(QUEUED_BANDS)))
            .unzip();
        let (bands, upright_bands) = queue.unzip();
        let made_ahead = largest.next;
        let chain = scope.spawn(move || {
            let mut made_ahead = made_ahead.map(|(pixels, encoding)| (pixels, Some(encoding)));
            if let (Some(stored), Some(bands)) = (stored, bands) {
                let then = smaller.last();
                let name = match then {
                    Some(n) => format!("orient {}, resize {}", t.name, n.name),
                    None => format!("orient {}", t.name),
                };
                let mut stopped = false;
                let resized = phases.time(name, || {
                    turn_bands(stored, then.map(|n| (n.width, n.height)), |band| {
                        stopped = bands.send(band).is_err();
                        !stopped
                    })
                })?;
                if stopped {
                    // The encode failed: its error is the one told.
                    return Ok((Vec::new(), None));
                }
                made_ahead = resized.map(|pixels| (Pixels::Image(pixels), None));
            }
            smaller_variants(job, big, smaller, made_ahead, phases)
        });
        let big_variant = match (largest.encoded, gray.zip(upright_bands)) {
            // Encoded while decoded: its pixels are not needed (and may not be kept).
            (Some(encoding), _) => last_pass(job, t, encoding, phases),
            (None, Some((gray, bands))) => phases.time(format!("encode {}", t.name), || {
                job.finish_bands(gray, bands, t)
            }),
            (None, None) => big
                .upright()
                .and_then(|upright| job.shown(upright))
                .and_then(|shown| encode(job, &shown, t, None, phases)),
        };
        let (mut made, placeholder) = chain
            .join()
            .unwrap_or_else(|_| Err(ImageError::Internal("resizing thread panicked".into())))?;
        made.push(big_variant?);
        let placeholder = match placeholder {
            Some(placeholder) => placeholder,
            None => job.placeholder(&*job.shown(big.upright()?)?),
        };
        phases.time("keep sizes in order", || {
            keep_sizes_in_order(job, big, resized, &mut made, cap, warnings)
        })?;
        Ok::<_, ImageError>((made, placeholder))
    })
}

/// The variants below the largest (`smaller`, smallest first), each resized from the next
/// larger one, largest first (the first one's upright pixels, and its encoding when there is
/// one, given as `made_ahead` when made with the largest); the placeholder from the smallest.
/// Returned smallest first.
fn smaller_variants(
    job: &Job,
    big: &Big,
    smaller: &[&Target],
    mut made_ahead: Option<(Pixels, Option<jpeg::Encoding>)>,
    phases: &Phases,
) -> Result<(Vec<Variant>, Option<Placeholder>), ImageError> {
    debug_panic_in_resizing_thread();
    let mut made = Vec::with_capacity(smaller.len());
    let mut placeholder = None;
    let mut above: Option<Pixels> = None;
    for (i, t) in smaller.iter().enumerate().rev() {
        let (pixels, ahead) = match (made_ahead.take(), &above) {
            (Some((pixels, encoding)), _) => (pixels, encoding),
            (None, Some(from)) => {
                let pixels = phases.time(format!("resize {}", t.name), || {
                    job.resized(from, t.width, t.height)
                })?;
                (pixels, None)
            }
            // From the largest (a turned one's next size is made with it: `turn_bands`).
            (None, None) => {
                let pixels = phases.time(format!("resize {}", t.name), || {
                    job.resized(big.upright()?, t.width, t.height)
                })?;
                (pixels, None)
            }
        };
        let shown = job.shown(&pixels)?;
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

/// `t`'s variant: `shown` encoded, or the encoding the decode step made of the same pixels
/// finished (its last pass).
fn encode(
    job: &Job,
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
    job: &Job,
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

/// The metadata-free `original`, when the plan has one, and what its making warned about.
fn original(
    bytes: &Source<'_>,
    probe: &Probe,
    plan: &Plan,
) -> Result<Option<(Variant, Vec<String>)>, ImageError> {
    let Some(t) = plan.original() else {
        return Ok(None);
    };
    let profile_read = match &probe.facts {
        Facts::Png { profile_read, .. } => *profile_read,
        _ => probe.icc.is_some(),
    };
    let (data, warnings) = strip_metadata(probe.format, bytes, probe.orientation, profile_read);
    let variant = Variant {
        name: t.name,
        width: t.width,
        height: t.height,
        content_type: probe.format.content_type(),
        data,
    };
    Ok(Some((variant, warnings)))
}

/// A variant is never larger in bytes than the next larger one (the `original` included: a
/// heavily compressed original can be smaller than a fresh `large`). One that is gets encoded
/// again, at lower quality for lossy formats or with the strongest compression for lossless
/// ones (unless it is over 1.3× the limit, beyond what that can gain); if it is still larger,
/// the smallest encoding is kept and a warning says so.
/// `made` is smallest first; `big` gives the pixels of its last entry (decoded again if they
/// were not kept).
/// A smaller variant encoded again here is resized from `big` (made the first time from the
/// next size up: the same picture, within Lanczos's rounding); this is rare, and keeping every
/// size's pixels for it would hold them all to the end.
fn keep_sizes_in_order(
    job: &Job,
    big: &Big,
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
                    job.shown(big.upright()?)?
                } else {
                    let resized =
                        job.pixels(big.upright()?, targets[i].width, targets[i].height)?;
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
