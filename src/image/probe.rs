//! The probe step: each header read once (format, dimensions, orientation, and the colour
//! facts the later steps need), the image refused from it when too large, and its decoder
//! kept open for the decode step.

use std::panic::{catch_unwind, AssertUnwindSafe};

use image::metadata::Orientation;

use crate::image::codecs::png::palette::Palette;
use crate::image::codecs::rows::{self, check_pixels, RowDecoder};
use crate::image::codecs::source::{repair, Source};
pub use crate::image::codecs::ColourModel;
use crate::image::codecs::{bmp, gif, heif, jpeg, png, tiff, webp};
use crate::image::codecs::{unsupported, Format};
use crate::image::error::ImageError;

/// What the header says, read without decoding any pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub format: Format,
    /// Upright dimensions: EXIF orientation applied.
    pub width: u32,
    pub height: u32,
    /// The EXIF orientation the variants are turned by.
    pub orientation: Orientation,
    /// The EXIF orientation equal to the turns the decoder applies itself (HEIF's `irot` and
    /// `imir`), 1–8; 1 for the other formats. Reported, never applied again.
    pub(in crate::image) turned_by_decoder: u8,
    /// The embedded ICC profile, as stored.
    pub(in crate::image) icc: Option<Vec<u8>>,
    pub(in crate::image) facts: Facts,
    /// What the file is, for people (the callback's `source`).
    pub source: SourceFacts,
}

impl Probe {
    /// What the probe found, as the image stage reports it ([`Identified`]).
    pub fn identified(&self) -> Identified {
        Identified {
            format: self.format,
            width: self.width,
            height: self.height,
            orientation: match self.turned_by_decoder {
                1 => self.orientation.to_exif(),
                turned => turned,
            },
            icc_description: self.icc_description(),
            source: self.source.clone(),
        }
    }

    /// The embedded ICC profile's description (its `desc` tag, read by moxcms), if any.
    pub fn icc_description(&self) -> Option<String> {
        use moxcms::ProfileText;
        let profile = moxcms::ColorProfile::new_from_slice(self.icc.as_deref()?).ok()?;
        let text = match profile.description? {
            ProfileText::PlainString(s) => s,
            ProfileText::Description(d) => d.ascii_string,
            ProfileText::Localizable(list) => {
                let english = list.iter().find(|l| l.language == "en");
                english.or(list.first())?.value.clone()
            }
        };
        let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
        (!text.is_empty()).then(|| text.to_string())
    }
}

/// What the probe found: the input's format and size as shown (upright) and as stored, read
/// from its header before any pixel is decoded. The callback's `source` is made from it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identified {
    pub format: Format,
    /// Upright size (EXIF orientation applied), pixels.
    pub width: u32,
    pub height: u32,
    /// The EXIF orientation turned into pixels, 1–8 (1: none needed).
    pub orientation: u8,
    /// The embedded ICC profile's description (its `desc` tag), if there is a profile.
    pub icc_description: Option<String>,
    pub source: SourceFacts,
}

/// The facts of the input file that its header gives.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceFacts {
    /// As stored, before EXIF orientation (pixels).
    pub stored_width: u32,
    pub stored_height: u32,
    /// Bits per sample as stored: 1, 2, 4, 8 or 16.
    pub bit_depth: u8,
    pub colour_model: ColourModel,
    /// An alpha channel or (PNG) a `tRNS` transparency.
    pub alpha: bool,
    /// A progressive JPEG or an Adam7-interlaced PNG.
    pub progressive: bool,
    /// Frames in one loop of an animation (the variants show the first); 1 for a still image.
    pub frames: u32,
    /// Full-resolution pages of a TIFF (the variants show the first); 1 for other formats.
    pub pages: u32,
}

/// What a format's header says that decoding and encoding depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::image) enum Facts {
    Jpeg,
    Png {
        /// The few colours the PNG is stored with, which the variants may keep.
        palette: Option<Palette>,
        /// The colour chunks the variants carry by PNG's precedence of colour signals (type,
        /// data): `cICP`, `sRGB`, or `gAMA` and `cHRM` (none under a profile).
        colour: Vec<([u8; 4], Vec<u8>)>,
        /// The `iCCP` profile inflated (the `original` keeps it even when `cICP` wins).
        profile_read: bool,
    },
    WebP(webp::Kind),
    /// A format whose decoder gives rows (`codecs::rows`: TIFF, GIF, BMP, HEIC/HEIF, AVIF).
    Rows {
        /// The pixels come out in sRGB (TIFF CMYK and CIELab): the profile is not theirs.
        in_srgb: bool,
    },
}

/// A probed input with its decoder open, past the header: what the decode step starts from.
pub struct Opened<'a> {
    pub probe: Probe,
    /// What the decoders read: the input, or its repaired copy (`codecs::source`).
    pub(in crate::image) bytes: Source<'a>,
    pub(in crate::image) decoder: Decoder<'a>,
    /// What the header and the repair found that a person should know.
    pub(in crate::image) warnings: Vec<String>,
}

/// A decoder that has read the header.
pub(in crate::image) enum Decoder<'a> {
    Jpeg(Box<jpeg::Decoder<'a>>),
    /// image-webp's, for what libwebp does not decode (animations, files it refuses).
    WebP(Box<webp::Decoder<'a>>),
    Png(Box<png::PngReader<'a>>),
    /// TIFF's, GIF's or BMP's.
    Rows(Box<dyn RowDecoder + 'a>),
}

/// The most a decoder may allocate (bytes): the largest allowed image as 16-bit RGBA would
/// not fit a 2 GiB machine, so allocations past this are refused instead of risking an
/// out-of-memory kill.
const MAX_DECODE_ALLOC: u64 = 1536 * 1024 * 1024;

/// Reads the header once, refusing images over `max_pixels` (or whose decoding would pass the
/// memory budget) before any pixel is decoded, and keeps the decoder open for
/// `process_opened`. A damaged but complete file is repaired first (`source::repair`).
pub fn open(bytes: &[u8], max_pixels: u64) -> Result<Opened<'_>, ImageError> {
    contain(|| {
        let format = detect(bytes)?;
        let (source, repaired) = repair(format, bytes);
        let mut opened = match format {
            Format::Jpeg => open_jpeg(source, max_pixels),
            Format::WebP => open_webp(source, max_pixels),
            Format::Png => open_png(source, max_pixels),
            Format::Tiff => open_rows(format, source, max_pixels, |b, m| {
                tiff::open(b, m).map(|(d, h)| (Box::new(d) as Box<dyn RowDecoder>, h))
            }),
            Format::Gif => open_rows(format, source, max_pixels, |b, m| {
                gif::open(b, m).map(|(d, h)| (Box::new(d) as Box<dyn RowDecoder>, h))
            }),
            Format::Bmp => open_rows(format, source, max_pixels, |b, m| {
                bmp::open(b, m).map(|(d, h)| (Box::new(d) as Box<dyn RowDecoder>, h))
            }),
            Format::Heic | Format::Heif | Format::Avif => {
                open_rows(format, source, max_pixels, |b, m| {
                    heif::open(b, m).map(|(d, h)| (Box::new(d) as Box<dyn RowDecoder>, h.rows()))
                })
            }
        }?;
        opened.warnings.splice(0..0, repaired);
        let frames = opened.probe.source.frames;
        let name = format.name();
        if frames > 1 {
            opened.warnings.push(match format {
                // A burst or an image sequence: the primary image is the one shown.
                Format::Heic | Format::Heif | Format::Avif => format!(
                    "{name} with {frames} images (a burst or a sequence); the variants show its \
                     primary image"
                ),
                _ => format!(
                    "animated {name}: {frames} frames; the variants show the first frame a \
                     browser shows"
                ),
            });
        }
        Ok(opened)
    })
}

/// A WebP: its chunks checked before image-webp, which would otherwise over-allocate on them,
/// reads its header (once; libwebp decodes from the bytes with what it found).
fn open_webp(bytes: Source<'_>, max_pixels: u64) -> Result<Opened<'_>, ImageError> {
    let Source::Downloaded(input) = bytes else {
        return Err(ImageError::Internal("a WebP is never repaired".into()));
    };
    webp::check_riff(input)?;
    let h = webp::open(
        input,
        usize::try_from(MAX_DECODE_ALLOC).unwrap_or(usize::MAX),
    )?;
    check_pixels((h.width, h.height), max_pixels)?;
    webp::check_budget(&h)?;
    let (width, height) = upright((h.width, h.height), h.orientation);
    let alpha = h.kind.features.alpha;
    let source = SourceFacts {
        stored_width: h.width,
        stored_height: h.height,
        bit_depth: 8,
        colour_model: if alpha {
            ColourModel::Rgba
        } else {
            ColourModel::Rgb
        },
        alpha,
        progressive: false,
        frames: h.kind.frames,
        pages: 1,
    };
    Ok(Opened {
        probe: Probe {
            format: Format::WebP,
            width,
            height,
            orientation: h.orientation,
            turned_by_decoder: 1,
            icc: h.icc,
            facts: Facts::WebP(h.kind),
            source,
        },
        bytes,
        decoder: Decoder::WebP(Box::new(h.decoder)),
        warnings: Vec::new(),
    })
}

fn detect(bytes: &[u8]) -> Result<Format, ImageError> {
    Format::detect(bytes).ok_or_else(|| ImageError::Unsupported(unsupported(bytes)))
}

/// A format whose decoder gives rows (`codecs::rows`), opened by `open` (the codec's: it
/// checks `max_pixels` and its decoding budget from the header itself).
fn open_rows<'a>(
    format: Format,
    bytes: Source<'a>,
    max_pixels: u64,
    open: impl FnOnce(&'a [u8], u64) -> Result<(Box<dyn RowDecoder + 'a>, rows::Header), ImageError>,
) -> Result<Opened<'a>, ImageError> {
    let Source::Downloaded(input) = bytes else {
        return Err(ImageError::Internal(format!(
            "a {} is never repaired",
            format.name()
        )));
    };
    let (decoder, h) = open(input, max_pixels)?;
    check_pixels((h.width, h.height), max_pixels)?;
    let orientation = Orientation::from_exif(h.orientation).unwrap_or(Orientation::NoTransforms);
    let (width, height) = upright((h.width, h.height), orientation);
    let source = SourceFacts {
        stored_width: h.coded.0,
        stored_height: h.coded.1,
        bit_depth: h.bit_depth,
        colour_model: h.colour_model,
        alpha: h.alpha,
        progressive: false,
        frames: h.frames,
        pages: h.pages,
    };
    Ok(Opened {
        probe: Probe {
            format,
            width,
            height,
            orientation,
            turned_by_decoder: h.turned_by_decoder,
            icc: h.icc,
            facts: Facts::Rows { in_srgb: h.in_srgb },
            source,
        },
        bytes,
        decoder: Decoder::Rows(decoder),
        warnings: h.warnings,
    })
}

/// The JPEG header, its pixel count and, for a progressive file, the coefficient memory
/// libjpeg will need, checked before any decoding.
fn open_jpeg(bytes: Source<'_>, max_pixels: u64) -> Result<Opened<'_>, ImageError> {
    let (decoder, h) = jpeg::open(&bytes)?;
    check_pixels((h.width, h.height), max_pixels)?;
    jpeg::check_budget(&h)?;
    let (width, height) = upright((h.width, h.height), h.orientation);
    let warnings = h.warnings;
    let source = SourceFacts {
        stored_width: h.width,
        stored_height: h.height,
        bit_depth: 8,
        colour_model: h.colour_model,
        alpha: false,
        progressive: h.progressive,
        frames: 1,
        pages: 1,
    };
    Ok(Opened {
        probe: Probe {
            format: Format::Jpeg,
            width,
            height,
            orientation: h.orientation,
            turned_by_decoder: 1,
            icc: h.icc,
            facts: Facts::Jpeg,
            source,
        },
        bytes,
        decoder: Decoder::Jpeg(Box::new(decoder)),
        warnings,
    })
}

/// A PNG: its chunks checked (and its palette, orientation, colour chunks and profile read)
/// before the `png` crate, which would otherwise panic on some of them, reads its header.
fn open_png(bytes: Source<'_>, max_pixels: u64) -> Result<Opened<'_>, ImageError> {
    let chunks = png::read_chunks(&bytes)?;
    let Some(h) = chunks.header else {
        return Err(ImageError::Invalid(
            "cannot decode: PNG without a complete IHDR chunk".into(),
        ));
    };
    check_pixels((h.width, h.height), max_pixels)?;
    let mut warnings = Vec::new();
    let reader = png::open(&bytes, Some(&h), &mut warnings)?;
    let profile_read = matches!(
        chunks.icc,
        Some(png::Icc::Carried(_) | png::Icc::Outranked(_))
    );
    let icc = match chunks.icc {
        Some(png::Icc::Unreadable(why)) => {
            warnings.push(format!("colour profile dropped: {why}"));
            None
        }
        Some(png::Icc::Outranked(_)) => {
            warnings.push(
                "the cICP chunk's colour space takes precedence over the iCCP profile (PNG \
                 third edition): the variants carry the cICP chunk"
                    .into(),
            );
            None
        }
        Some(png::Icc::Carried(icc)) => Some(icc),
        None => None,
    };
    let orientation = chunks.orientation;
    let (width, height) = upright((h.width, h.height), orientation);
    let source = SourceFacts {
        stored_width: h.width,
        stored_height: h.height,
        bit_depth: h.bit_depth,
        colour_model: h.colour_model(),
        alpha: matches!(h.colour_type, 4 | 6) || h.transparency,
        progressive: h.interlaced,
        frames: h.frames,
        pages: 1,
    };
    Ok(Opened {
        probe: Probe {
            format: Format::Png,
            width,
            height,
            orientation,
            turned_by_decoder: 1,
            icc,
            facts: Facts::Png {
                palette: chunks.palette,
                colour: chunks.colour,
                profile_read,
            },
            source,
        },
        bytes,
        decoder: Decoder::Png(Box::new(reader)),
        warnings,
    })
}

/// Stored dimensions turned upright by an EXIF orientation (the quarter turns, 5–8, swap
/// them); the same swap turns upright dimensions back to stored ones.
pub(in crate::image) fn upright((w, h): (u32, u32), orientation: Orientation) -> (u32, u32) {
    match orientation {
        Orientation::Rotate90
        | Orientation::Rotate270
        | Orientation::Rotate90FlipH
        | Orientation::Rotate270FlipH => (h, w),
        _ => (w, h),
    }
}

/// Runs decoder code so that a panic inside a codec becomes an `Invalid` error, not a crash.
pub(in crate::image) fn contain<T>(
    f: impl FnOnce() -> Result<T, ImageError>,
) -> Result<T, ImageError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(ImageError::Invalid(
            "decoder failed on malformed data".into(),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::codecs::exif::{orientation_block, with_orientation_app1};

    /// A baseline (or progressive) JPEG of `w`×`h`, with an APP1 Exif block holding
    /// `orientation` right after SOI when it is not upright.
    fn jpeg(w: u32, h: u32, orientation: Orientation, progressive: bool) -> Vec<u8> {
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        // mozjpeg's defaults are progressive; its fastest ones baseline.
        if !progressive {
            c.set_fastest_defaults();
        }
        c.set_size(w as usize, h as usize);
        let mut s = c.start_compress(Vec::new()).unwrap();
        s.write_scanlines(&vec![128u8; (w * h * 3) as usize])
            .unwrap();
        let file = s.finish().unwrap();
        if orientation == Orientation::NoTransforms {
            return file;
        }
        with_orientation_app1(&file, orientation)
    }

    /// A PNG of `img`, with `extra` chunks put before `IEND` (after the image data).
    fn png(img: &image::DynamicImage, extra: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
        let mut file = Vec::new();
        img.write_to(
            &mut std::io::Cursor::new(&mut file),
            image::ImageFormat::Png,
        )
        .unwrap();
        let iend = file.len() - 12;
        let mut out = file[..iend].to_vec();
        for (kind, data) in extra {
            crate::image::codecs::png::write_chunk(&mut out, kind, data);
        }
        out.extend_from_slice(&file[iend..]);
        out
    }

    #[test]
    fn a_turned_jpeg_is_upright_by_its_exif_orientation() {
        let bytes = jpeg(64, 40, Orientation::Rotate90, true);
        let p = open(&bytes, 1 << 20).unwrap().probe;
        assert_eq!((p.format, p.width, p.height), (Format::Jpeg, 40, 64));
        assert_eq!(p.orientation, Orientation::Rotate90);
        let s = &p.source;
        assert_eq!((s.stored_width, s.stored_height, s.bit_depth), (64, 40, 8));
        assert_eq!(
            (s.colour_model, s.progressive, s.alpha, s.frames),
            (ColourModel::YCbCr, true, false, 1)
        );
        assert_eq!(p.identified().orientation, 6, "reported as EXIF's number");
    }

    #[test]
    fn a_png_reads_its_facts_and_its_exif_after_the_image_data() {
        let gray16 = image::DynamicImage::ImageLuma16(image::ImageBuffer::from_pixel(
            30,
            20,
            image::Luma([4000u16]),
        ));
        let exif = orientation_block(Orientation::Rotate270);
        let p = open(&png(&gray16, &[(b"eXIf", exif)]), 1 << 20)
            .unwrap()
            .probe;
        assert_eq!(
            (p.width, p.height, p.orientation),
            (20, 30, Orientation::Rotate270)
        );
        assert_eq!(
            (p.source.bit_depth, p.source.colour_model),
            (16, ColourModel::Gray)
        );
        let rgba = image::DynamicImage::ImageRgba8(image::RgbaImage::new(8, 8));
        let p = open(&png(&rgba, &[]), 1 << 20).unwrap().probe;
        assert!(p.source.alpha);
        assert_eq!(p.source.colour_model, ColourModel::Rgba);
    }

    #[test]
    fn a_webp_reads_its_facts() {
        let rgb = image::RgbImage::from_pixel(20, 10, image::Rgb([10, 200, 30]));
        let lossy = crate::image::codecs::webp::encode(
            &image::DynamicImage::ImageRgb8(rgb),
            crate::image::codecs::webp::Compression::Lossy { quality: 80 },
        )
        .unwrap();
        let opened = open(&lossy, 1 << 20).unwrap();
        let p = &opened.probe;
        assert_eq!((p.format, p.width, p.height), (Format::WebP, 20, 10));
        assert!(matches!(&p.facts, Facts::WebP(kind) if kind.lossy && !kind.animated));
        assert!(opened.warnings.is_empty());
    }

    #[test]
    fn too_many_pixels_no_pixels_and_other_files_are_refused_from_the_header() {
        let bytes = jpeg(100, 50, Orientation::NoTransforms, false);
        let err = open(&bytes, 4999).err().unwrap();
        assert_eq!(
            err,
            ImageError::TooLarge("100x50 is 5000 pixels, over MAX_INPUT_PIXELS (4999)".into())
        );
        assert!(open(&bytes, 5000).is_ok());
        assert_eq!(
            check_pixels((0, 10), 100),
            Err(ImageError::Invalid("image has no pixels (0x10)".into()))
        );
        let err = open(b"hello, world", 100).err().unwrap();
        let read = "not a JPEG, PNG, WebP, TIFF, GIF, BMP, HEIC, HEIF or AVIF file \
                    (unrecognised signature)";
        assert_eq!(err, ImageError::Unsupported(read.into()));
        // A format an archive's intake meets is named.
        for (bytes, name) in [
            (&b"%PDF-1.7\n"[..], "PDF"),
            (b"\0\0\0\x0CJXL \r\n\x87\n", "JPEG XL"),
            (b"\0\0\0\x18ftypmp42\0\0\0\0", "an MP4 or QuickTime file"),
            (b"\xEF\xBB\xBF  <svg xmlns=", "SVG or XML"),
        ] {
            let err = open(bytes, 100).err().unwrap();
            let want = format!(
                "{name}, a format the worker does not read (it reads JPEG, PNG, WebP, TIFF, GIF, \
                 BMP, HEIC, HEIF or AVIF)"
            );
            assert_eq!(err, ImageError::Unsupported(want));
        }
    }

    #[test]
    fn a_complete_jpeg_without_its_end_marker_is_repaired_with_a_warning() {
        let mut bytes = jpeg(32, 32, Orientation::NoTransforms, false);
        bytes.truncate(bytes.len() - 2);
        let opened = open(&bytes, 1 << 20).unwrap();
        assert!(matches!(opened.bytes, Source::Repaired(_)));
        assert_eq!(opened.warnings.len(), 1, "{:?}", opened.warnings);
    }

    #[test]
    fn quarter_turns_swap_the_sides() {
        for value in 1..=8 {
            let o = Orientation::from_exif(value).unwrap();
            let want = if value >= 5 { (20, 10) } else { (10, 20) };
            assert_eq!(upright((10, 20), o), want, "orientation {value}");
        }
    }
}
