//! The image stage: original bytes in, encoded variants out. No network, no files.
//!
//! The original is decoded once (colour profile kept) and resized once to the largest variant
//! (a JPEG while it is being decoded), which is then turned upright (EXIF orientation); the
//! smaller variants are made from that in their own threads, in the input's format. An opaque
//! lossy WebP stays in its 4:2:0 planes throughout. The `original` variant is the input file with
//! its metadata removed and its pixel data untouched.

mod cmyk;
mod encode;
mod jpeg;
mod metadata;
mod palette;
mod yuv;

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use crate::config::ImageSettings;
use crate::plan::{self, Target};
use encode::Pixels;

pub use metadata::strip_metadata;

/// The formats the worker takes and produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    WebP,
}

impl Format {
    /// Detects the format from the file's signature, whatever its name or declared type says.
    pub fn detect(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Format::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Format::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Format::WebP)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::WebP => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::WebP => "webp",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Format::Jpeg => ImageFormat::Jpeg,
            Format::Png => ImageFormat::Png,
            Format::WebP => ImageFormat::WebP,
        }
    }
}

/// Why the image stage refused or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// Not a JPEG, PNG or WebP.
    Unsupported(String),
    /// Over `MAX_INPUT_PIXELS`, known from the header before decoding.
    TooLarge(String),
    /// Claims a supported format but does not decode.
    Invalid(String),
}

impl std::fmt::Display for ImageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageError::Unsupported(m) | ImageError::TooLarge(m) | ImageError::Invalid(m) => {
                f.write_str(m)
            }
        }
    }
}

/// What the header says, read without decoding any pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub format: Format,
    /// Upright dimensions: EXIF orientation applied.
    pub width: u32,
    pub height: u32,
    /// EXIF orientation, 1–8.
    pub orientation: u8,
}

/// One encoded file ready for the CDN.
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: &'static str,
    pub width: u32,
    pub height: u32,
    pub content_type: &'static str,
    pub data: Vec<u8>,
}

/// Everything the image stage made.
#[derive(Debug, Clone)]
pub struct Output {
    pub probe: Probe,
    /// Smallest first: thumb, medium, large, then original.
    pub variants: Vec<Variant>,
    /// Things a person should know that did not stop the job (e.g. an animation cut to its
    /// first frame).
    pub warnings: Vec<String>,
}

/// The decoding memory budget: the largest allowed image as 16-bit RGBA would not fit a 2 GiB
/// machine, so allocations past this are refused instead of risking an out-of-memory kill.
const MAX_DECODE_ALLOC: u64 = 1536 * 1024 * 1024;

fn reader(bytes: &[u8], format: Format) -> ImageReader<Cursor<&[u8]>> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    reader
}

fn invalid(e: impl std::fmt::Display) -> ImageError {
    ImageError::Invalid(format!("cannot decode: {e}"))
}

/// Reads format, dimensions and orientation from the header, refusing images over
/// `max_pixels` before any pixel is decoded.
pub fn probe(bytes: &[u8], max_pixels: u64) -> Result<Probe, ImageError> {
    contain(|| {
        if detect(bytes)? == Format::Jpeg {
            let h = jpeg_header(bytes, max_pixels)?;
            return Ok(upright(Format::Jpeg, (h.width, h.height), h.orientation));
        }
        let (format, mut decoder) = open(bytes, max_pixels)?;
        Ok(make_probe(format, &mut decoder))
    })
}

fn detect(bytes: &[u8]) -> Result<Format, ImageError> {
    Format::detect(bytes).ok_or_else(|| {
        ImageError::Unsupported("not a JPEG, PNG or WebP file (unrecognised signature)".into())
    })
}

/// The decoder for a PNG or WebP `bytes`, its header read and the pixel limit checked.
fn open(bytes: &[u8], max_pixels: u64) -> Result<(Format, Box<dyn ImageDecoder + '_>), ImageError> {
    let format = detect(bytes)?;
    match format {
        Format::WebP => check_riff(bytes)?,
        Format::Png => check_palette(bytes)?,
        Format::Jpeg => {}
    }
    let decoder = reader(bytes, format).into_decoder().map_err(invalid)?;
    check_pixels(decoder.dimensions(), max_pixels)?;
    Ok((format, Box::new(decoder)))
}

/// image-webp allocates whatever size a chunk header declares before reading it (found by
/// fuzzing: a 100-byte file asking for 4 GiB). Chunks, and the frames inside an animation, must
/// fit inside the file.
fn check_riff(bytes: &[u8]) -> Result<(), ImageError> {
    fn chunks(b: &[u8], mut i: usize, end: usize) -> Result<(), ImageError> {
        while i + 8 <= end {
            let size = u32::from_le_bytes([b[i + 4], b[i + 5], b[i + 6], b[i + 7]]) as usize;
            let body = i + 8;
            if size > end - body {
                return Err(ImageError::Invalid(
                    "cannot decode: a WebP chunk runs past the end of the file".into(),
                ));
            }
            if &b[i..i + 4] == b"ANMF" && size >= 16 {
                chunks(b, body + 16, body + size)?;
            }
            i = body + size + (size & 1);
        }
        Ok(())
    }
    chunks(bytes, 12, bytes.len())
}

/// The png crate panics on a palette whose length is not a multiple of 3 (found by fuzzing; the
/// panic was caught, but as "decoder failed" with a backtrace in the log). Such a file is
/// invalid (PNG spec 11.2.3: 1 to 256 entries of 3 bytes), so it is refused by name first.
fn check_palette(bytes: &[u8]) -> Result<(), ImageError> {
    // The palette comes before the image data.
    for chunk in palette::chunks(bytes) {
        let len = chunk.len;
        if &chunk.kind == b"PLTE" && (len == 0 || !len.is_multiple_of(3) || len > 768) {
            return Err(ImageError::Invalid(format!(
                "cannot decode: PNG palette of {len} bytes (must be 3 to 768, a multiple of 3)"
            )));
        }
    }
    Ok(())
}

fn check_pixels((w, h): (u32, u32), max_pixels: u64) -> Result<(), ImageError> {
    let pixels = u64::from(w) * u64::from(h);
    if pixels > max_pixels {
        return Err(ImageError::TooLarge(format!(
            "{w}x{h} is {pixels} pixels, over MAX_INPUT_PIXELS ({max_pixels})"
        )));
    }
    if w == 0 || h == 0 {
        return Err(ImageError::Invalid(format!(
            "image has no pixels ({w}x{h})"
        )));
    }
    Ok(())
}

fn make_probe(format: Format, decoder: &mut (impl ImageDecoder + ?Sized)) -> Probe {
    let orientation = decoder.orientation().map(|o| o.to_exif()).unwrap_or(1);
    upright(format, decoder.dimensions(), orientation)
}

fn upright(format: Format, (w, h): (u32, u32), orientation: u8) -> Probe {
    let swaps = matches!(orientation, 5..=8);
    let (width, height) = if swaps { (h, w) } else { (w, h) };
    Probe {
        format,
        width,
        height,
        orientation,
    }
}

/// Runs decoder code so that a panic inside a codec becomes an `Invalid` error, not a crash.
fn contain<T>(f: impl FnOnce() -> Result<T, ImageError>) -> Result<T, ImageError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(ImageError::Invalid(
            "decoder failed on malformed data".into(),
        ))
    })
}

/// Makes every variant of `bytes` (PRODUCT.md "Variants").
pub fn process(bytes: &[u8], settings: &ImageSettings) -> Result<Output, ImageError> {
    let mut warnings = Vec::new();
    let (format, probe, icc, pixels, at_largest) = contain(|| {
        let (probe, icc, img, at_largest) = if detect(bytes)? == Format::Jpeg {
            decode_jpeg(bytes, settings)?
        } else {
            decode_other(bytes, settings)?
        };
        Ok((probe.format, probe, icc, img, at_largest))
    })?;
    let webp = (format == Format::WebP).then(|| webp_kind(bytes));
    if let Some(kind) = webp {
        if kind.animated {
            warnings.push("animated WebP: variants show the first frame only".to_string());
        }
    }
    let lossy = webp.is_none_or(|k| k.lossy);
    let mut pixels = match pixels {
        Pixels::Image(img) => Pixels::Image(encode::normalize(img, format)),
        planes @ Pixels::Yuv(_) => planes,
    };
    let icc = icc.filter(|p| {
        let fits = encode::icc_matches(p, &pixels);
        if !fits {
            warnings
                .push("embedded colour profile does not match the decoded pixels; dropped".into());
        }
        fits
    });

    let targets = plan::targets(probe.width, probe.height, settings.original_max_dimension);
    let palette = (format == Format::Png)
        .then(|| palette::Palette::of_png(bytes))
        .flatten();
    let job = encode::Job {
        format,
        lossy,
        icc: icc.as_deref(),
        settings,
        premultiplied: match &mut pixels {
            Pixels::Image(img) => encode::premultiply(img)?,
            Pixels::Yuv(_) => false,
        },
        palette: palette.as_ref(),
    };
    // After the full-size pixels are gone: a copy of the file does not add to the peak.
    let original = || -> Result<Option<Variant>, ImageError> {
        let Some(t) = targets.iter().find(|t| t.name == "original") else {
            return Ok(None);
        };
        Ok(Some(Variant {
            name: t.name,
            width: t.width,
            height: t.height,
            content_type: format.content_type(),
            data: strip_metadata(format, bytes, probe.orientation).map_err(ImageError::Invalid)?,
        }))
    };
    // The largest variant is made from the original; the smaller ones from it, in parallel
    // with its encoding. One full-resolution pass instead of one per variant, and the decoded
    // original is freed early. Lanczos3 from at least twice the size loses nothing visible.
    let resized: Vec<&Target> = targets.iter().filter(|t| t.name != "original").collect();
    let (mut variants, original) = match resized.split_last() {
        None => (Vec::new(), original()?),
        Some((largest, smaller)) => {
            // The pixels are as stored; the orientation is applied to the resized ones (the same picture:
            // flips and quarter turns commute with a separable filter), so a phone photo is not
            // turned at full size, in a second full-size buffer. A JPEG comes already resized.
            let (w, h) = stored((largest.width, largest.height), probe.orientation);
            let mut big = if at_largest {
                pixels
            } else {
                let big = encode::resize(&pixels, w, h, job.premultiplied)?;
                drop(pixels);
                big
            };
            big.apply_orientation(
                image::metadata::Orientation::from_exif(probe.orientation)
                    .unwrap_or(image::metadata::Orientation::NoTransforms),
            );
            let original = original()?;
            let made = std::thread::scope(|scope| {
                let handles: Vec<_> = smaller
                    .iter()
                    .map(|t| scope.spawn(|| job.make(&big, t)))
                    .collect();
                let shown = job.shown(&big)?;
                let big_variant = job.finish(&shown, largest);
                let mut made = handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(ImageError::Invalid("resizing thread panicked".into()))
                        })
                    })
                    .collect::<Result<Vec<Variant>, ImageError>>()?;
                made.push(big_variant?);
                let cap = original.as_ref().map(|o| o.data.len());
                keep_sizes_in_order(
                    &job,
                    (&big, &shown),
                    &resized,
                    &mut made,
                    cap,
                    &mut warnings,
                )?;
                Ok::<_, ImageError>(made)
            })?;
            (made, original)
        }
    };
    variants.extend(original);
    Ok(Output {
        probe,
        variants,
        warnings,
    })
}

/// The header, the ICC profile, and the pixels: at full size, or (`true`) already resized to the
/// largest variant's size in the stored orientation.
type Decoded = (Probe, Option<Vec<u8>>, Pixels, bool);

/// JPEG at the smallest DCT scale that still leaves the largest variant a downscale.
/// The JPEG header, its pixel count and, for a progressive file, the coefficient memory libjpeg
/// will need, checked before any decoding.
fn jpeg_header(bytes: &[u8], max_pixels: u64) -> Result<jpeg::Header, ImageError> {
    let h = jpeg::header(bytes)?;
    check_pixels((h.width, h.height), max_pixels)?;
    if let Some(need) = h.coefficient_bytes.filter(|&b| b > MAX_COEFFICIENT_BYTES) {
        return Err(ImageError::TooLarge(format!(
            "{}x{} progressive JPEG needs {} MiB for its DCT coefficients while decoding, over \
             the {} MiB budget",
            h.width,
            h.height,
            need >> 20,
            MAX_COEFFICIENT_BYTES >> 20
        )));
    }
    Ok(h)
}

/// A progressive JPEG is decoded from all its coefficients at once (2 bytes per sample, kept
/// until the last scan): 805 MB for a 268 MP 4:2:0 photo, 1.6 GB for 4:4:4. With the pixels
/// and variants on top, more than 1 GiB would not fit a 2 GiB machine.
const MAX_COEFFICIENT_BYTES: u64 = 1024 * 1024 * 1024;

fn decode_jpeg(bytes: &[u8], settings: &ImageSettings) -> Result<Decoded, ImageError> {
    let h = jpeg_header(bytes, settings.max_input_pixels)?;
    let probe = upright(Format::Jpeg, (h.width, h.height), h.orientation);
    let largest = plan::targets(probe.width, probe.height, settings.original_max_dimension)
        .iter()
        .filter(|t| t.name != "original")
        .max_by_key(|t| t.width.max(t.height))
        .map(|t| stored((t.width, t.height), probe.orientation));
    let long = largest.map_or(0, |(w, h)| w.max(h));
    let (img, resized) = jpeg::decode(bytes, long, largest)?;
    Ok((probe, h.icc, Pixels::Image(img), resized))
}

/// Upright dimensions back in the stored orientation (EXIF 5–8 swap them).
fn stored((w, h): (u32, u32), orientation: u8) -> (u32, u32) {
    if matches!(orientation, 5..=8) {
        (h, w)
    } else {
        (w, h)
    }
}

/// PNG and WebP, at full size: opaque lossy WebP as its 4:2:0 planes, other still WebP
/// through libwebp, the rest through `image`.
fn decode_other(bytes: &[u8], settings: &ImageSettings) -> Result<Decoded, ImageError> {
    let (format, mut decoder) = open(bytes, settings.max_input_pixels)?;
    let probe = make_probe(format, &mut decoder);
    let icc = decoder.icc_profile().ok().flatten();
    let webp = || {
        yuv::Yuv::decode(bytes)
            .map(Pixels::Yuv)
            .or_else(|| decode_webp(bytes).map(Pixels::Image))
    };
    let pixels = match (format == Format::WebP).then(webp).flatten() {
        Some(pixels) => {
            drop(decoder);
            pixels
        }
        None => Pixels::Image(DynamicImage::from_decoder(decoder).map_err(invalid)?),
    };
    Ok((probe, icc, pixels, false))
}

/// A variant is never larger in bytes than the next larger one (the `original` included: a
/// heavily compressed original can be smaller than a fresh `large`). One that is gets encoded
/// again, at lower quality for lossy formats or with the strongest compression for lossless
/// ones (unless it is over 1.3× the limit, beyond what that can gain); if it is still larger,
/// the smallest encoding is kept and a warning says so.
/// `made` is smallest first; `big` holds the pixels of its last entry, as resized and as shown.
fn keep_sizes_in_order(
    job: &encode::Job,
    (big, shown): (&Pixels, &Pixels),
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
                let resized;
                let pixels = if i == last {
                    shown
                } else {
                    resized = job.pixels(big, targets[i].width, targets[i].height)?;
                    &resized
                };
                let smaller = job.within(pixels, targets[i], limit)?;
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

/// Still WebP through libwebp (several times faster than the pure-Rust decoder on lossy
/// files), straight into our buffer (libwebp's own buffer plus a copy doubled the peak memory);
/// `None` for animations and anything libwebp refuses, which go to `image` instead.
fn decode_webp(bytes: &[u8]) -> Option<DynamicImage> {
    let features = webp::BitstreamFeatures::new(bytes)?;
    if features.has_animation() {
        return None;
    }
    let (w, h, alpha) = (features.width(), features.height(), features.has_alpha());
    let channels: usize = if alpha { 4 } else { 3 };
    let stride = usize::try_from(w).ok()? * channels;
    let len = stride.checked_mul(usize::try_from(h).ok()?)?;
    let mut data = Vec::new();
    data.try_reserve_exact(len).ok()?;
    data.resize(len, 0u8);
    let mut config = libwebp_sys::WebPDecoderConfig::new().ok()?;
    // A second thread runs the loop filter of the previous rows while the next are decoded.
    config.options.use_threads = 1;
    config.output.colorspace = if alpha {
        libwebp_sys::WEBP_CSP_MODE::MODE_RGBA
    } else {
        libwebp_sys::WEBP_CSP_MODE::MODE_RGB
    };
    config.output.is_external_memory = 1;
    config.output.u.RGBA = libwebp_sys::WebPRGBABuffer {
        rgba: data.as_mut_ptr(),
        stride: std::ffi::c_int::try_from(stride).ok()?,
        size: len,
    };
    // SAFETY: the output is `data`, `len` bytes of `stride` × height, external memory that
    // libwebp writes into and never frees; it checks that size against the image's and fails
    // rather than write past it.
    let status = unsafe { libwebp_sys::WebPDecode(bytes.as_ptr(), bytes.len(), &mut config) };
    // SAFETY: frees only what libwebp allocated itself (nothing, with external memory).
    unsafe { libwebp_sys::WebPFreeDecBuffer(&mut config.output) };
    if status != libwebp_sys::VP8StatusCode::VP8_STATUS_OK {
        return None;
    }
    if alpha {
        image::RgbaImage::from_raw(w, h, data).map(DynamicImage::ImageRgba8)
    } else {
        image::RgbImage::from_raw(w, h, data).map(DynamicImage::ImageRgb8)
    }
}

#[derive(Debug, Clone, Copy)]
struct WebpKind {
    lossy: bool,
    animated: bool,
}

fn webp_kind(bytes: &[u8]) -> WebpKind {
    match image_webp::WebPDecoder::new(Cursor::new(bytes)) {
        Ok(mut d) => WebpKind {
            lossy: d.is_lossy(),
            animated: d.is_animated(),
        },
        Err(_) => WebpKind {
            lossy: true,
            animated: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn detects_by_signature() {
        assert_eq!(Format::detect(&jpeg(2, 2)), Some(Format::Jpeg));
        assert_eq!(Format::detect(b"GIF89a...."), None);
        assert_eq!(Format::detect(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::WebP));
    }

    #[test]
    fn pixel_limit_refuses_before_decoding() {
        let err = probe(&jpeg(100, 50), 4999).unwrap_err();
        assert!(matches!(err, ImageError::TooLarge(_)), "{err:?}");
        assert_eq!(probe(&jpeg(100, 50), 5000).unwrap().width, 100);
    }

    #[test]
    fn makes_bands_with_exact_sizes() {
        let out = process(&jpeg(1300, 700), &ImageSettings::default()).unwrap();
        let got: Vec<_> = out
            .variants
            .iter()
            .map(|v| (v.name, v.width, v.height))
            .collect();
        assert_eq!(
            got,
            [
                ("thumb", 400, 215),
                ("medium", 1200, 646),
                ("original", 1300, 700)
            ]
        );
        for v in &out.variants {
            let img = image::load_from_memory(&v.data).unwrap();
            assert_eq!(
                (img.width(), img.height()),
                (v.width, v.height),
                "{}",
                v.name
            );
        }
    }

    #[test]
    fn jpeg_variants_keep_their_colours() {
        let img = image::RgbImage::from_fn(900, 500, |x, _| {
            if x < 450 {
                image::Rgb([220, 20, 20])
            } else {
                image::Rgb([20, 20, 220])
            }
        });
        let mut src = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut src, 95)
            .encode_image(&img)
            .unwrap();
        let out = process(&src, &ImageSettings::default()).unwrap();
        let thumb = image::load_from_memory(&out.variants[0].data)
            .unwrap()
            .to_rgb8();
        let (l, r) = (thumb.get_pixel(50, 100).0, thumb.get_pixel(350, 100).0);
        assert!(l[0] > 190 && l[1] < 50 && l[2] < 50, "left {l:?}");
        assert!(r[2] > 190 && r[0] < 50 && r[1] < 50, "right {r:?}");
    }

    #[test]
    fn webp_chunks_must_fit_the_file() {
        let mut w = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\x08\0\0\0\0\0\0\0\0\0".to_vec();
        w.extend_from_slice(b"EXIF\x00\xff\xff\xff");
        let err = process(&w, &ImageSettings::default()).unwrap_err();
        assert!(
            matches!(&err, ImageError::Invalid(m) if m.contains("past the end")),
            "{err:?}"
        );
        // Found by fuzzing; image-webp asked for ~4 GiB before this check.
        let found = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/fuzz/webp_chunk_claims_4gib.webp"
        ))
        .unwrap();
        assert!(matches!(
            process(&found, &ImageSettings::default()),
            Err(ImageError::Invalid(_))
        ));
    }

    #[test]
    fn a_palette_not_made_of_rgb_triples_is_refused_by_name() {
        // Found by fuzzing (CRCs made valid): a 58-byte PLTE made the png crate panic.
        let found = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/fuzz/png_palette_of_58_bytes.png"
        ))
        .unwrap();
        let err = process(&found, &ImageSettings::default()).unwrap_err();
        assert!(
            matches!(&err, ImageError::Invalid(m) if m.contains("PNG palette of 58 bytes")),
            "{err:?}"
        );
        // A valid palette PNG still goes through.
        let ok = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/correctness/palette_900x600.png"
        ))
        .unwrap();
        assert!(process(&ok, &ImageSettings::default()).is_ok());
    }

    /// A 16×16 progressive 4:4:4 JPEG whose frame header then claims `w`×`h`.
    fn progressive_claiming(w: u16, h: u16) -> Vec<u8> {
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        c.set_size(16, 16);
        c.set_chroma_sampling_pixel_sizes((1, 1), (1, 1));
        c.set_progressive_mode();
        let mut s = c.start_compress(Vec::new()).unwrap();
        s.write_scanlines(&[90u8; 16 * 16 * 3]).unwrap();
        let mut b = s.finish().unwrap();
        let sof = b.windows(2).position(|m| m == [0xFF, 0xC2]).unwrap();
        b[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
        b[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
        b
    }

    #[test]
    fn progressive_jpeg_coefficients_are_budgeted_from_the_header() {
        // 16000² 4:4:4: 256 MP is under the pixel limit, but 1.5 GB of coefficients.
        let err = probe(&progressive_claiming(16000, 16000), 268_402_689).unwrap_err();
        assert!(
            matches!(&err, ImageError::TooLarge(m) if m.contains("coefficients")),
            "{err:?}"
        );
        let err = process(
            &progressive_claiming(16000, 16000),
            &ImageSettings::default(),
        );
        assert!(matches!(err, Err(ImageError::TooLarge(_))), "{err:?}");
        // 8000² needs 384 MB: allowed (and then fails on the missing data, not the budget).
        assert_eq!(
            probe(&progressive_claiming(8000, 8000), 268_402_689)
                .unwrap()
                .width,
            8000
        );
        let small = progressive_claiming(16, 16);
        assert_eq!(
            jpeg::header(&small).unwrap().coefficient_bytes,
            Some(3 * 4 * 128)
        );
    }

    #[test]
    fn webp_decodes_into_our_buffer_and_refuses_truncation() {
        let webp = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/webp_lossy_2600x1400.webp"
        ))
        .unwrap();
        let img = decode_webp(&webp).unwrap();
        assert_eq!((img.width(), img.height()), (2600, 1400));
        assert!(decode_webp(&webp[..webp.len() / 2]).is_none());
        assert!(matches!(
            process(&webp[..webp.len() / 2], &ImageSettings::default()),
            Err(ImageError::Invalid(_))
        ));
    }

    #[test]
    fn lossy_webp_planes_resize_like_rgb() {
        // Odd sizes in and out: the chroma planes round up, and must stay on the luma grid.
        let (w, h) = (2601u32, 1403u32);
        let edges = |x: u32, y: u32| (x >= w - 40 || y >= h - 40, x < 1000, y < 700);
        let img = image::RgbImage::from_fn(w, h, |x, y| match edges(x, y) {
            (true, ..) => image::Rgb([200, 40, 200]),
            (_, true, true) => image::Rgb([220, 30, 30]),
            (_, false, true) => image::Rgb([30, 180, 40]),
            (_, true, false) => image::Rgb([40, 60, 220]),
            _ => image::Rgb([230, 210, 40]),
        });
        let webp = webp::Encoder::from_rgb(&img, w, h).encode(95.0).to_vec();
        let settings = ImageSettings {
            webp_quality: 100,
            ..ImageSettings::default()
        };
        let job = encode::Job {
            format: Format::WebP,
            lossy: true,
            icc: None,
            settings: &settings,
            premultiplied: false,
            palette: None,
        };
        let planes = Pixels::Yuv(yuv::Yuv::decode(&webp).unwrap());
        let rgb = Pixels::Image(decode_webp(&webp).unwrap());
        for (tw, th) in [(2400u32, 1295u32), (1200, 647), (401, 217)] {
            let t = Target {
                name: "large",
                width: tw,
                height: th,
            };
            let shown = |p: &Pixels| {
                let v = job.make(p, &t).unwrap();
                image::load_from_memory(&v.data).unwrap().to_rgb8()
            };
            let (a, b) = (shown(&planes), shown(&rgb));
            assert_eq!(a.dimensions(), (tw, th));
            // Away from the colour edges (4 px), every pixel as from RGB and as drawn.
            let near = |v: u32, edge: u32, of: u32, to: u32| {
                (i64::from(v) - i64::from(edge * to / of)).abs() < 4
            };
            for (x, y, pa) in a.enumerate_pixels() {
                if near(x, 1000, w, tw)
                    || near(x, w - 40, w, tw)
                    || near(y, 700, h, th)
                    || near(y, h - 40, h, th)
                {
                    continue;
                }
                let pb = b.get_pixel(x, y);
                let drawn = img.get_pixel(x * w / tw, y * h / th);
                for c in 0..3 {
                    assert!(
                        pa[c].abs_diff(pb[c]) <= 8 && pa[c].abs_diff(drawn[c]) <= 12,
                        "{tw}x{th} at ({x},{y}): planes {pa:?}, rgb {pb:?}, drawn {drawn:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn garbage_is_unsupported_and_truncation_invalid() {
        assert!(matches!(
            process(b"hello world", &ImageSettings::default()),
            Err(ImageError::Unsupported(_))
        ));
        let mut j = jpeg(600, 400);
        j.truncate(300);
        assert!(matches!(
            process(&j, &ImageSettings::default()),
            Err(ImageError::Invalid(_))
        ));
    }
}
