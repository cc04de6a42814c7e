//! The plan step: everything about how an image goes through the stage, decided once from its
//! probe before a pixel moves — which variants it gets and their exact dimensions (PRODUCT.md
//! "Variants"), the format they are written in and how the `original` is made (PRODUCT.md
//! "Input formats"), the route its pixels take from the decoder to the largest variant, what
//! happens to its colours, and how it is turned upright.

use image::metadata::Orientation;

use crate::image::codecs::ColourModel;
use crate::image::codecs::{Format, OutputFormat};
use crate::image::pixels::colour::MAX_CARRIED_ICC_BYTES;
use crate::image::probe::{Facts, Probe};
use crate::image::settings::ImageSettings;

/// How the pixels travel from the decoder to the largest variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::image) enum Route {
    /// Decoded whole (PNG, WebP; a JPEG at its DCT scale, CMYK and YCCK converted to sRGB as
    /// decoded, or one with no resized variant; an image with alpha, or one whose `original` is
    /// re-encoded from its pixels), then resized to the largest variant.
    Whole,
    /// Rows resized to the largest variant as they are decoded (`bands::window`): a JPEG's as
    /// libjpeg decodes them, at the smallest DCT scale that reaches it; an opaque TIFF's, GIF's,
    /// BMP's, HEIC's or AVIF's as their decoders give them (`codecs::rows`: a scanner master or
    /// a 200 MP phone photo is never whole).
    ResizeAlong,
    /// The same, with the largest variant and the next size down encoded as their rows are
    /// made (`codecs::jpeg::along`): a baseline JPEG that needs no turning and whose colours
    /// are carried as decoded. A progressive file holds all its DCT coefficients while it
    /// decodes, and the encoders' buffers on top would raise the peak (measured +15 MB on a
    /// 10 MP photo).
    EncodeAlong,
}

/// What the colour step does (PRODUCT.md "Real-world inputs", Colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::image) enum Colour<'p> {
    /// The pixels keep their space; the variants carry this ICC profile (at most
    /// `MAX_CARRIED_ICC_BYTES`, describing the decoded pixels), or none — then a PNG's colour
    /// chunks, if any, say what the pixels are.
    Carry(Option<&'p [u8]>),
    /// This profile (a larger one) is applied: the pixels converted to sRGB, no profile carried.
    Apply(&'p [u8]),
    /// Converted to sRGB while decoded: CMYK or YCCK through the file's profile (JPEG, TIFF),
    /// CIELab (TIFF).
    Converted,
}

/// How the `original` variant is made (PRODUCT.md "Input formats", "What the `original`
/// keeps").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::image) enum Original {
    /// The input's own bytes without metadata (JPEG, PNG, WebP, GIF: `original.rs`).
    Stripped,
    /// The decoded pixels at full size, upright, in the variants' format with their colour
    /// (TIFF, BMP, HEIC/HEIF, AVIF): never the input's own bytes, which browsers do not all
    /// show.
    Reencoded,
}

/// Everything decided about one image before it is decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::image) struct Plan<'p> {
    /// The variants, resized ones smallest first, then `original` if there is one.
    pub targets: Vec<Target>,
    /// The format every variant is written in (`original` too when `Original::Reencoded`).
    pub output: OutputFormat,
    pub original_from: Original,
    pub route: Route,
    pub colour: Colour<'p>,
    /// The EXIF orientation the variants' pixels are turned by.
    pub turn: Orientation,
    /// A turned largest variant is turned band by band as its encoder takes its rows (a JPEG
    /// variant: 8-bit gray or RGB pixels), not whole: the upright copy is never whole beside the
    /// stored one. Smaller variants are resized as stored and turned whole, as libvips does.
    pub turn_in_bands: bool,
    /// What a person should know about these decisions.
    pub warnings: Vec<String>,
}

impl<'p> Plan<'p> {
    /// The plan for `probe` with `settings` (PRODUCT.md "Variants" and "Real-world inputs").
    pub(in crate::image) fn new(probe: &'p Probe, settings: &ImageSettings) -> Plan<'p> {
        let targets = targets(probe.width, probe.height, settings.original_max_dimension);
        let mut warnings = Vec::new();
        let colour = colour(probe, &mut warnings);
        let turn = probe.orientation;
        let upright = turn == Orientation::NoTransforms;
        let resized = targets.iter().any(|t| t.name != "original");
        let original_from = match probe.format {
            Format::Jpeg | Format::Png | Format::WebP | Format::Gif => Original::Stripped,
            Format::Tiff | Format::Bmp | Format::Heic | Format::Heif | Format::Avif => {
                Original::Reencoded
            }
        };
        let from_pixels =
            original_from == Original::Reencoded && targets.iter().any(|t| t.name == "original");
        let route = match (probe.format, colour) {
            (Format::Jpeg, Colour::Converted) => Route::Whole,
            (Format::Jpeg, _) if !resized => Route::Whole,
            (Format::Jpeg, Colour::Carry(_)) if upright && !probe.source.progressive => {
                Route::EncodeAlong
            }
            (Format::Jpeg, _) => Route::ResizeAlong,
            (Format::Png | Format::WebP, _) => Route::Whole,
            // The formats whose decoders give rows (`codecs::rows`).
            _ if resized && !from_pixels && !probe.source.alpha => Route::ResizeAlong,
            _ => Route::Whole,
        };
        let output = output_format(probe);
        Plan {
            targets,
            output,
            original_from,
            route,
            colour,
            turn,
            turn_in_bands: !upright && output == OutputFormat::Jpeg,
            warnings,
        }
    }

    /// The resized variants, smallest first.
    pub(in crate::image) fn resized(&self) -> Vec<&Target> {
        self.targets
            .iter()
            .filter(|t| t.name != "original")
            .collect()
    }

    /// The largest resized variant, if any.
    pub(in crate::image) fn largest(&self) -> Option<&Target> {
        self.resized().last().copied()
    }

    /// The `original`, if the image gets one.
    pub(in crate::image) fn original(&self) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == "original")
    }

    /// The ICC profile the variants carry.
    pub(in crate::image) fn carried_icc(&self) -> Option<&'p [u8]> {
        match self.colour {
            Colour::Carry(icc) => icc,
            Colour::Apply(_) | Colour::Converted => None,
        }
    }
}

/// The format of the variants (PRODUCT.md "Input formats"): a format every browser shows keeps
/// itself; GIF becomes PNG; TIFF, BMP, HEIC/HEIF and AVIF become PNG where PNG keeps what
/// matters — alpha, and
/// the bilevel, gray and few-colour scans of the legibility rules (1/2/4-bit gray, palettes) —
/// and JPEG for opaque continuous-tone pictures.
fn output_format(probe: &Probe) -> OutputFormat {
    if let Some(same) = probe.format.shown_by_browsers() {
        return same;
    }
    let s = &probe.source;
    let few_tones = match s.colour_model {
        ColourModel::Indexed => true,
        ColourModel::Gray | ColourModel::GrayAlpha => s.bit_depth < 8,
        _ => false,
    };
    match probe.format == Format::Gif || s.alpha || few_tones {
        true => OutputFormat::Png,
        false => OutputFormat::Jpeg,
    }
}

/// The colour decision for `probe`: CMYK converted (and CIELab, by its decoder); an RGB or gray
/// profile carried when it describes the decoded pixels (RGB for colour, GRAY for gray:
/// PRODUCT.md carries a profile only into pixels it describes) and is small, applied when
/// larger; one that describes other pixels dropped with a warning.
fn colour<'p>(probe: &'p Probe, warnings: &mut Vec<String>) -> Colour<'p> {
    let model = probe.source.colour_model;
    let in_srgb = matches!(probe.facts, Facts::Rows { in_srgb: true });
    if in_srgb || matches!(model, ColourModel::Cmyk | ColourModel::Ycck) {
        return Colour::Converted;
    }
    let Some(icc) = probe.icc.as_deref() else {
        return Colour::Carry(None);
    };
    let gray = matches!(model, ColourModel::Gray | ColourModel::GrayAlpha);
    let space = icc.get(16..20);
    if space != Some(if gray { &b"GRAY"[..] } else { &b"RGB "[..] }) {
        warnings.push("embedded colour profile does not match the decoded pixels; dropped".into());
        return Colour::Carry(None);
    }
    match icc.len() > MAX_CARRIED_ICC_BYTES {
        true => Colour::Apply(icc),
        false => Colour::Carry(Some(icc)),
    }
}

/// A variant to make: its name and its exact output dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub name: &'static str,
    pub width: u32,
    pub height: u32,
}

/// The resized variants, smallest first, with the longest side of each.
pub const SIZES: [(&str, u32); 3] = [("thumb", 400), ("medium", 1200), ("large", 2400)];
/// The variants of an upright `width`×`height` image (PRODUCT.md "Variants"): a resized
/// variant for every size the image is larger than, then `original` when its longest side is
/// at most `original_max`.
pub fn targets(width: u32, height: u32, original_max: u32) -> Vec<Target> {
    let longest = width.max(height);
    let mut out: Vec<Target> = SIZES
        .iter()
        .filter(|(_, max)| longest > *max)
        .map(|&(name, max)| {
            let (w, h) = fit_inside(width, height, max);
            Target {
                name,
                width: w,
                height: h,
            }
        })
        .collect();
    if longest <= original_max {
        out.push(Target {
            name: "original",
            width,
            height,
        });
    }
    out
}

/// Scales so the longest side is `max` (never up); the short side is rounded, at least 1.
pub fn fit_inside(width: u32, height: u32, max: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= max {
        return (width, height);
    }
    let scale = |short: u32| -> u32 {
        let v =
            (u64::from(short) * u64::from(max) * 2 + u64::from(longest)) / (2 * u64::from(longest));
        (v as u32).max(1)
    };
    if width >= height {
        (max, scale(height))
    } else {
        (scale(width), max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::probe::{Facts, SourceFacts};

    /// A probe of `format`, `w`×`h` as stored, with the facts the plan reads.
    fn probe(format: Format, (w, h): (u32, u32), exif: u8, model: ColourModel) -> Probe {
        let orientation = Orientation::from_exif(exif).unwrap();
        let (width, height) = crate::image::probe::upright((w, h), orientation);
        Probe {
            format,
            width,
            height,
            orientation,
            turned_by_decoder: 1,
            icc: None,
            // The plan reads the format and the source facts, not the codec's own.
            facts: Facts::Jpeg,
            source: SourceFacts {
                stored_width: w,
                stored_height: h,
                bit_depth: 8,
                colour_model: model,
                alpha: false,
                progressive: false,
                frames: 1,
                pages: 1,
            },
        }
    }

    fn profile(space: &[u8; 4], len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len.max(20)];
        p[16..20].copy_from_slice(space);
        p
    }

    #[track_caller]
    fn case(p: &Probe, route: Route, turn_in_bands: bool) {
        let plan = Plan::new(p, &ImageSettings::default());
        assert_eq!(
            (plan.route, plan.turn_in_bands),
            (route, turn_in_bands),
            "{p:?}"
        );
    }

    #[test]
    fn the_route_is_decided_from_the_probe() {
        use ColourModel::*;
        let photo = (5312, 2988);
        case(
            &probe(Format::Jpeg, photo, 1, YCbCr),
            Route::EncodeAlong,
            false,
        );
        case(
            &probe(Format::Jpeg, photo, 1, Gray),
            Route::EncodeAlong,
            false,
        );
        // Turned: resized along, turned band by band for the encoder.
        case(
            &probe(Format::Jpeg, photo, 6, YCbCr),
            Route::ResizeAlong,
            true,
        );
        case(
            &probe(Format::Jpeg, photo, 2, YCbCr),
            Route::ResizeAlong,
            true,
        );
        // Progressive: its coefficients make the peak; no encoders beside them.
        let mut progressive = probe(Format::Jpeg, photo, 1, YCbCr);
        progressive.source.progressive = true;
        case(&progressive, Route::ResizeAlong, false);
        // CMYK is converted at the decoded size, then resized.
        case(&probe(Format::Jpeg, photo, 1, Cmyk), Route::Whole, false);
        case(&probe(Format::Jpeg, photo, 8, Ycck), Route::Whole, true);
        // No resized variant: decoded whole (at 1/8) for the placeholder.
        case(
            &probe(Format::Jpeg, (300, 200), 1, YCbCr),
            Route::Whole,
            false,
        );
        // PNG and WebP are decoded whole; turned whole.
        case(&probe(Format::Png, photo, 6, Rgba), Route::Whole, false);
        case(&probe(Format::WebP, photo, 1, Rgb), Route::Whole, false);
    }

    /// The variants' format and the `original`'s making (PRODUCT.md "Input formats"), and the
    /// route of the formats whose decoders give rows.
    #[test]
    fn other_formats_are_written_in_a_browser_format_and_streamed_when_they_can_be() {
        use ColourModel::*;
        let photo = (5312, 2988);
        let small = (3000, 2000);
        #[track_caller]
        fn plan_of(p: &Probe) -> (OutputFormat, Original, Route) {
            let plan = Plan::new(p, &ImageSettings::default());
            (plan.output, plan.original_from, plan.route)
        }
        let with = |format, size, model, bits: u8, alpha: bool| {
            let mut p = probe(format, size, 1, model);
            p.source.bit_depth = bits;
            p.source.alpha = alpha;
            p.facts = Facts::Rows { in_srgb: false };
            p
        };
        use Format::{Bmp, Gif, Tiff};
        use OutputFormat::{Jpeg, Png};
        let (stripped, reencoded) = (Original::Stripped, Original::Reencoded);
        let (along, whole) = (Route::ResizeAlong, Route::Whole);
        for (p, want) in [
            // Opaque continuous tone: JPEG, a scanner master streamed (no original to make).
            (with(Tiff, photo, Rgb, 16, false), (Jpeg, reencoded, along)),
            (with(Tiff, photo, Gray, 8, false), (Jpeg, reencoded, along)),
            (with(Tiff, photo, Cmyk, 8, false), (Jpeg, reencoded, along)),
            // The original is re-encoded from the whole pixels.
            (with(Tiff, small, Rgb, 8, false), (Jpeg, reencoded, whole)),
            (with(Bmp, small, Rgb, 8, false), (Jpeg, reencoded, whole)),
            // Alpha, bilevel, few grays, palettes: PNG; alpha is resized whole.
            (with(Tiff, photo, Rgba, 8, true), (Png, reencoded, whole)),
            (with(Tiff, photo, Gray, 1, false), (Png, reencoded, along)),
            (with(Tiff, photo, Gray, 4, false), (Png, reencoded, along)),
            (
                with(Tiff, photo, Indexed, 8, false),
                (Png, reencoded, along),
            ),
            (with(Bmp, photo, Indexed, 8, false), (Png, reencoded, along)),
            // GIF: PNG variants, its own bytes stripped for the original.
            (with(Gif, small, Indexed, 8, false), (Png, stripped, along)),
            (with(Gif, small, Indexed, 8, true), (Png, stripped, whole)),
            // Browser formats keep themselves.
            (
                probe(Format::WebP, photo, 1, Rgb),
                (OutputFormat::WebP, stripped, whole),
            ),
        ] {
            assert_eq!(plan_of(&p), want, "{p:?}");
        }
        // CIELab and CMYK come out of the TIFF decoder in sRGB: converted, nothing carried.
        let mut lab = with(Tiff, photo, Lab, 8, false);
        lab.facts = Facts::Rows { in_srgb: true };
        lab.icc = Some(profile(b"Lab ", 600));
        let plan = Plan::new(&lab, &ImageSettings::default());
        assert_eq!((plan.colour, plan.warnings.len()), (Colour::Converted, 0));
        // A turned TIFF with JPEG variants is turned band by band, as a JPEG is.
        let mut turned = with(Tiff, photo, Rgb, 8, false);
        turned.orientation = Orientation::Rotate90;
        assert!(Plan::new(&turned, &ImageSettings::default()).turn_in_bands);
    }

    #[test]
    fn a_profile_is_carried_applied_or_dropped_once_and_steers_the_route() {
        use ColourModel::*;
        let photo = (5312, 2988);
        let small_rgb = profile(b"RGB ", 600);
        let large_rgb = profile(b"RGB ", 130_000);
        let gray = profile(b"GRAY", 400);
        let mut p = probe(Format::Jpeg, photo, 1, YCbCr);
        p.icc = Some(small_rgb.clone());
        let plan = Plan::new(&p, &ImageSettings::default());
        assert_eq!(plan.colour, Colour::Carry(Some(&small_rgb[..])));
        assert_eq!(plan.route, Route::EncodeAlong);
        // A large profile is applied: the pixels change, so nothing is encoded along.
        p.icc = Some(large_rgb.clone());
        let plan = Plan::new(&p, &ImageSettings::default());
        assert_eq!(plan.colour, Colour::Apply(&large_rgb[..]));
        assert_eq!((plan.route, plan.carried_icc()), (Route::ResizeAlong, None));
        // A gray profile on colour pixels (or the other way round) describes nothing here.
        p.icc = Some(gray.clone());
        let plan = Plan::new(&p, &ImageSettings::default());
        assert_eq!(plan.colour, Colour::Carry(None));
        assert_eq!(plan.warnings.len(), 1);
        let mut g = probe(Format::Png, photo, 1, Gray);
        g.icc = Some(gray.clone());
        assert_eq!(
            Plan::new(&g, &ImageSettings::default()).colour,
            Colour::Carry(Some(&gray[..]))
        );
        // CMYK: converted, its profile used for that and not carried.
        let mut c = probe(Format::Jpeg, photo, 1, Cmyk);
        c.icc = Some(profile(b"CMYK", 600));
        let plan = Plan::new(&c, &ImageSettings::default());
        assert_eq!((plan.colour, plan.carried_icc()), (Colour::Converted, None));
        assert!(plan.warnings.is_empty());
    }

    #[test]
    fn the_targets_and_the_turn_come_with_the_plan() {
        let p = probe(Format::Jpeg, (2560, 3837), 6, ColourModel::YCbCr);
        let plan = Plan::new(&p, &ImageSettings::default());
        assert_eq!(plan.turn, Orientation::Rotate90);
        let names: Vec<_> = plan
            .targets
            .iter()
            .map(|t| (t.name, t.width, t.height))
            .collect();
        assert_eq!(
            names,
            [
                ("thumb", 400, 267),
                ("medium", 1200, 801),
                ("large", 2400, 1601),
                ("original", 3837, 2560)
            ]
        );
        assert_eq!(plan.largest().map(|t| t.name), Some("large"));
    }
}
