//! PNG: the chunk walk read once at probe time (the palette check, the palette the variants
//! keep, orientation, colour chunks, the profile inflated under a cap), decoding through the
//! `png` crate within a memory budget, the encoder (palette-mapped or truecolour), and which
//! chunks the metadata-free original keeps.

use std::io::Cursor;

use image::{DynamicImage, ImageEncoder};
use img_parts::{Bytes, ImageICC};

use crate::image::codecs::count;
use crate::image::codecs::png::palette::Palette;
use crate::image::codecs::source::Source;
use crate::image::codecs::ColourModel;
use crate::image::error::{invalid, ImageError};

mod chunks;
pub(in crate::image) mod palette;
#[cfg(test)]
pub(in crate::image) use chunks::write_chunk;
use chunks::{all_chunks, unfit, Place};
pub(in crate::image) use chunks::{repair, strip};

/// Walks the chunks once: refuses a palette the png crate would panic on (found by fuzzing;
/// the panic was caught, but as "decoder failed" with a backtrace in the log: such a file is
/// invalid, PNG spec 11.2.3: 1 to 256 entries of 3 bytes, so it is refused by name first), and
/// reads the palette the variants keep (`None` for other kinds of PNG). Also reads, anywhere
/// in the file, the first `eXIf` chunk's orientation (browsers read it before or after the
/// image data), and before the palette and image data the colour signals, each checked as
/// libpng checks it (`chunks::unfit`: a malformed, repeated or misplaced one is ignored, as
/// libpng and browsers ignore it). A malformed palette in an image without one was taken out
/// by `repair` first.
pub(in crate::image) fn read_chunks(bytes: &[u8]) -> Result<Chunks, ImageError> {
    count::header_read("png chunks");
    let (mut ihdr, mut plte, mut trns, mut actl) = (None, None, None, None);
    let (mut orientation, mut signals) = (None, Vec::new());
    let mut place = Place::default();
    let mut header = (2, 8);
    for chunk in all_chunks(bytes) {
        let kind = &chunk.kind;
        if kind == b"eXIf" && orientation.is_none() {
            orientation = chunk.data.map(crate::image::codecs::exif::orientation);
        }
        place.image_data |= matches!(kind, b"IDAT" | b"IEND");
        if place.image_data {
            continue;
        }
        let len = chunk.len;
        match (kind, chunk.data) {
            (b"IHDR", Some(d)) if d.len() == 13 => header = (d[9], d[8]),
            (b"PLTE", _) if !chunks::palette_length_ok(len) => {
                return Err(ImageError::Invalid(format!(
                    "cannot decode: PNG palette of {len} bytes (must be 3 to 768, a multiple of 3)"
                )));
            }
            (b"PLTE", _) => place.keep(kind),
            (b"iCCP" | b"sRGB" | b"gAMA" | b"cHRM" | b"cICP", Some(data))
                if unfit(kind, data, &place, header, 0).is_none() =>
            {
                place.keep(kind);
                signals.push((chunk.kind, data));
            }
            _ => {}
        }
        let slot = match kind {
            b"IHDR" => &mut ihdr,
            b"PLTE" => &mut plte,
            b"tRNS" => &mut trns,
            b"acTL" => &mut actl,
            _ => continue,
        };
        // The first of each; a cut-off one counts as missing.
        if slot.is_none() {
            *slot = Some(chunk.data);
        }
    }
    let header = ihdr.flatten().filter(|d| d.len() >= 13).map(|d| Header {
        width: u32::from_be_bytes([d[0], d[1], d[2], d[3]]),
        height: u32::from_be_bytes([d[4], d[5], d[6], d[7]]),
        bit_depth: d[8],
        colour_type: d[9],
        interlaced: d[12] == 1,
        transparency: trns.flatten().is_some(),
        frames: actl
            .flatten()
            .and_then(|a| a.get(..4))
            .map_or(1, |n| u32::from_be_bytes([n[0], n[1], n[2], n[3]]).max(1)),
    });
    let (icc, colour) = colour_signals(&signals);
    Ok(Chunks {
        palette: Palette::from_chunks(ihdr, plte, trns),
        header,
        orientation: orientation.unwrap_or(image::metadata::Orientation::NoTransforms),
        icc,
        colour,
    })
}

/// The colour signals the variants carry, by PNG's precedence (3rd edition, 4.3, as Chromium
/// and WebKit follow it: `cICP` over `iCCP` over `sRGB` over `gAMA`/`cHRM`; PRODUCT.md
/// "Precedence of colour signals"): the `iCCP` profile inflated (or why not, `Err`; also when
/// a `cICP` wins, for the `original`, which keeps both), and the chunks to carry (type,
/// data): the `cICP` alone, none under a profile that inflates, `sRGB` alone, or `gAMA` and
/// `cHRM`.
fn colour_signals(signals: &[([u8; 4], &[u8])]) -> (Option<Icc>, ColourChunks) {
    let get = |kind: &[u8; 4]| signals.iter().find(|(k, _)| k == kind).map(|(_, d)| *d);
    let icc = get(b"iCCP").map(inflate_profile);
    let carry = |kinds: &[&[u8; 4]]| -> ColourChunks {
        kinds
            .iter()
            .filter_map(|k| get(k).map(|d| (**k, d.to_vec())))
            .collect()
    };
    let icc = match (get(b"cICP"), icc) {
        (Some(_), Some(Ok(profile))) => Some(Icc::Outranked(profile)),
        (_, icc) => icc.map(|i| i.map_or_else(Icc::Unreadable, Icc::Carried)),
    };
    let colour = if get(b"cICP").is_some() {
        carry(&[b"cICP"])
    } else if matches!(icc, Some(Icc::Carried(_))) {
        Vec::new()
    } else if get(b"sRGB").is_some() {
        carry(&[b"sRGB"])
    } else {
        carry(&[b"gAMA", b"cHRM"])
    };
    (icc, colour)
}

/// PNG colour chunks (type, data).
pub(in crate::image) type ColourChunks = Vec<([u8; 4], Vec<u8>)>;

/// A PNG's `iCCP` profile, as the colour signals decide it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::image) enum Icc {
    /// Inflated, and the signal the variants follow.
    Carried(Vec<u8>),
    /// Inflated, but a `cICP` chunk wins (the `original` keeps both).
    Outranked(Vec<u8>),
    /// Why it could not be read: dropped, from the `original` too.
    Unreadable(String),
}

/// What the chunk walk found.
pub(in crate::image) struct Chunks {
    /// The few colours the variants keep (`None` for other kinds of PNG).
    pub palette: Option<Palette>,
    /// `None` when the IHDR chunk is missing or cut (the decoder then refuses the file).
    pub header: Option<Header>,
    /// EXIF orientation from the first `eXIf` chunk, 1–8 (1 without one).
    pub orientation: image::metadata::Orientation,
    /// The first `iCCP` profile before the palette and image data, if any.
    pub icc: Option<Icc>,
    /// The colour chunks the variants carry (type, data), by PNG's precedence
    /// (`colour_signals`): empty when a profile says the colours.
    pub colour: ColourChunks,
}

/// The largest ICC profile inflated from an `iCCP` chunk (bytes). Real profiles are a few KB,
/// the largest LUT profiles a few MB; 1 MB of deflate can inflate to 1 GiB (PRODUCT.md
/// "Memory envelope": compressed metadata is inflated under a cap).
pub(in crate::image) const MAX_ICC_BYTES: usize = 16 * 1024 * 1024;

/// The profile of an `iCCP` chunk (PNG spec 11.3.3.3: keyword, NUL, method 0, zlib data),
/// inflated to at most `MAX_ICC_BYTES`.
fn inflate_profile(data: &[u8]) -> Result<Vec<u8>, String> {
    let nul = data
        .iter()
        .take(80)
        .position(|&b| b == 0)
        .ok_or("iCCP chunk without a profile name")?;
    let zlib = data.get(nul + 2..).ok_or("iCCP chunk cut short")?;
    if data[nul + 1] != 0 {
        return Err("iCCP chunk with an unknown compression method".into());
    }
    fdeflate::decompress_to_vec_bounded(zlib, MAX_ICC_BYTES).map_err(|e| match e {
        fdeflate::BoundedDecompressionError::OutputTooLarge { .. } => format!(
            "iCCP profile inflates to more than {} MiB",
            MAX_ICC_BYTES >> 20
        ),
        fdeflate::BoundedDecompressionError::DecompressionError { inner } => {
            format!("iCCP profile does not inflate: {inner:?}")
        }
    })
}

/// The `png` crate's reader over the input, its header read.
pub(in crate::image) type PngReader<'a> = png::Reader<Cursor<Source<'a>>>;

/// The most a decoded PNG frame may take (bytes): a 16383 × 16383 RGBA image at 8 bits fits;
/// with the resized copies on top, the process stays under PRODUCT.md's 1.5 GiB.
const MAX_FRAME_BYTES: u64 = crate::image::codecs::MAX_DECODED_BYTES;

/// A 16-bit frame larger than this (bytes) is decoded to 8 bits a sample, row by row, instead:
/// never a full 16-bit frame of a large image (16383² RGBA at 16 bits is 2 GiB).
const MAX_16BIT_FRAME_BYTES: u64 = 256 * 1024 * 1024;

impl Header {
    /// Samples per pixel once palettes and `tRNS` are expanded.
    fn channels(&self) -> u64 {
        let alpha = u64::from(self.transparency);
        match self.colour_type {
            0 => 1 + alpha,
            4 => 2,
            6 => 4,
            _ => 3 + alpha,
        }
    }
}

/// Opens the `png` reader (header read, text and `iCCP` chunks left to our own walk) for a
/// `width` × `height` PNG, refusing it when its decoded frame would pass `MAX_FRAME_BYTES` and
/// reducing 16-bit samples to 8 when a 16-bit frame would pass `MAX_16BIT_FRAME_BYTES` (with
/// a warning).
pub(in crate::image) fn open<'a>(
    source: &Source<'a>,
    header: Option<&Header>,
    warnings: &mut Vec<String>,
) -> Result<PngReader<'a>, ImageError> {
    count::header_read("png decoder");
    let mut transformations = png::Transformations::EXPAND;
    if let Some(h) = header {
        let pixels = u64::from(h.width) * u64::from(h.height);
        let bytes8 = pixels * h.channels();
        if h.bit_depth == 16 && bytes8 * 2 > MAX_16BIT_FRAME_BYTES {
            transformations |= png::Transformations::STRIP_16;
            warnings.push(format!(
                "16-bit samples reduced to 8 bits: at 16 bits the image would take {} MiB",
                (bytes8 * 2) >> 20
            ));
        }
        if bytes8 > MAX_FRAME_BYTES {
            return Err(ImageError::TooLarge(format!(
                "{}x{} PNG takes {} MiB decoded ({} bytes a pixel), over the {} MiB budget",
                h.width,
                h.height,
                bytes8 >> 20,
                h.channels(),
                MAX_FRAME_BYTES >> 20
            )));
        }
    }
    let limits = png::Limits {
        bytes: usize::try_from(MAX_FRAME_BYTES + (64 << 20)).unwrap_or(usize::MAX),
    };
    let mut decoder = png::Decoder::new_with_limits(source.reader(), limits);
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    decoder.set_transformations(transformations);
    decoder.read_info().map_err(invalid)
}

/// Decodes the first frame a browser shows, as the reader was set up: palettes and low bit
/// depths expanded to 8-bit gray or RGB(A), 16-bit samples kept unless reduced. That is the
/// `IDAT` image, unless an animated PNG's `IDAT` image is a default for viewers without APNG
/// (no `fcTL` before it: APNG spec): then the first `fcTL` frame, placed on the transparent
/// canvas the animation starts from (PRODUCT.md "Animated PNG").
pub(in crate::image) fn decode(mut reader: PngReader<'_>) -> Result<DynamicImage, ImageError> {
    let (w, h) = (reader.info().width, reader.info().height);
    let hidden_default =
        reader.info().animation_control.is_some() && reader.info().frame_control.is_none();
    if hidden_default {
        reader.next_frame_info().map_err(invalid)?;
    }
    let len = reader
        .output_buffer_size()
        .ok_or_else(|| ImageError::TooLarge(format!("{w}x{h} PNG does not fit in memory")))?;
    let frame = next_frame(&mut reader, len)?;
    let Some(fc) = reader.info().frame_control.filter(|_| hidden_default) else {
        return Ok(frame);
    };
    if (fc.x_offset, fc.y_offset, frame.width(), frame.height()) == (0, 0, w, h) {
        return Ok(frame);
    }
    let (x, y) = (i64::from(fc.x_offset), i64::from(fc.y_offset));
    Ok(if frame.color().bytes_per_pixel() > 4 {
        let mut canvas = image::ImageBuffer::<image::Rgba<u16>, _>::new(w, h);
        image::imageops::replace(&mut canvas, &frame.to_rgba16(), x, y);
        DynamicImage::ImageRgba16(canvas)
    } else {
        let mut canvas = image::RgbaImage::new(w, h);
        image::imageops::replace(&mut canvas, &frame.to_rgba8(), x, y);
        DynamicImage::ImageRgba8(canvas)
    })
}

/// The reader's next frame (or subframe), decoded through a buffer of `len` bytes.
fn next_frame(reader: &mut PngReader<'_>, len: usize) -> Result<DynamicImage, ImageError> {
    let (colour, depth) = reader.output_color_type();
    let img = if depth == png::BitDepth::Sixteen {
        let mut samples = vec![0u16; len / 2];
        let info = reader
            .next_frame(bytemuck::cast_slice_mut(&mut samples))
            .map_err(invalid)?;
        samples.truncate(info.buffer_size() / 2);
        for s in &mut samples {
            *s = u16::from_be(*s);
        }
        let (w, h) = (info.width, info.height);
        match colour {
            png::ColorType::Grayscale => {
                image::ImageBuffer::from_raw(w, h, samples).map(DynamicImage::ImageLuma16)
            }
            png::ColorType::GrayscaleAlpha => {
                image::ImageBuffer::from_raw(w, h, samples).map(DynamicImage::ImageLumaA16)
            }
            png::ColorType::Rgb => {
                image::ImageBuffer::from_raw(w, h, samples).map(DynamicImage::ImageRgb16)
            }
            _ => image::ImageBuffer::from_raw(w, h, samples).map(DynamicImage::ImageRgba16),
        }
    } else {
        let mut data = vec![0u8; len];
        let info = reader.next_frame(&mut data).map_err(invalid)?;
        data.truncate(info.buffer_size());
        let (w, h) = (info.width, info.height);
        match colour {
            png::ColorType::Grayscale => {
                image::ImageBuffer::from_raw(w, h, data).map(DynamicImage::ImageLuma8)
            }
            png::ColorType::GrayscaleAlpha => {
                image::ImageBuffer::from_raw(w, h, data).map(DynamicImage::ImageLumaA8)
            }
            png::ColorType::Rgb => {
                image::ImageBuffer::from_raw(w, h, data).map(DynamicImage::ImageRgb8)
            }
            _ => image::ImageBuffer::from_raw(w, h, data).map(DynamicImage::ImageRgba8),
        }
    };
    img.ok_or_else(|| invalid("frame size does not match the picture"))
}

/// The facts of the IHDR chunk (PNG spec 11.2.2), with `tRNS` and the APNG `acTL` frame count.
pub(in crate::image) struct Header {
    pub width: u32,
    pub height: u32,
    pub bit_depth: u8,
    /// 0 gray, 2 RGB, 3 indexed, 4 gray + alpha, 6 RGBA.
    pub colour_type: u8,
    /// Adam7.
    pub interlaced: bool,
    /// A `tRNS` chunk: transparency without an alpha channel.
    pub transparency: bool,
    /// APNG frames (1 without `acTL`).
    pub frames: u32,
}

impl Header {
    pub(in crate::image) fn colour_model(&self) -> ColourModel {
        match self.colour_type {
            0 => ColourModel::Gray,
            3 => ColourModel::Indexed,
            4 => ColourModel::GrayAlpha,
            6 => ColourModel::Rgba,
            _ => ColourModel::Rgb,
        }
    }
}

/// Encodes a variant: in the input's own palette when it has one that fits these pixels,
/// otherwise as they are. `strongest`: the strongest compression, for the size-order retry.
pub(in crate::image) fn encode(
    img: &DynamicImage,
    palette: Option<&Palette>,
    strongest: bool,
) -> Result<Vec<u8>, ImageError> {
    if let Some(encoded) = palette.and_then(|p| p.encode(img, strongest)) {
        return encoded;
    }
    let mut out = Vec::new();
    // fdeflate with adaptive filtering: 8x faster than zlib level 6 on a 2400 px
    // RGBA variant for 12% more bytes, still well under libvips' unfiltered output.
    let compression = if strongest {
        image::codecs::png::CompressionType::Best
    } else {
        image::codecs::png::CompressionType::Fast
    };
    image::codecs::png::PngEncoder::new_with_quality(
        &mut out,
        compression,
        image::codecs::png::FilterType::Adaptive,
    )
    .write_image(
        img.as_bytes(),
        img.width(),
        img.height(),
        img.color().into(),
    )
    .map_err(|e| ImageError::Invalid(format!("cannot encode variant: {e}")))?;
    Ok(out)
}

/// Adds an ICC profile to an encoded PNG without re-encoding it.
pub(in crate::image) fn embed_icc(data: Vec<u8>, icc: &[u8]) -> Result<Vec<u8>, ImageError> {
    let mut png = img_parts::png::Png::from_bytes(Bytes::from(data))
        .map_err(crate::image::error::icc_failed)?;
    png.set_icc_profile(Some(Bytes::copy_from_slice(icc)));
    Ok(png.encoder().bytes().to_vec())
}

/// Adds chunks (type, data) right after `IHDR` of an encoded PNG without re-encoding it: the
/// colour chunks, which PNG spec 5.6 places before `PLTE` and `IDAT`.
pub(in crate::image) fn embed_chunks(
    data: Vec<u8>,
    chunks: &[([u8; 4], Vec<u8>)],
) -> Result<Vec<u8>, ImageError> {
    let mut png = img_parts::png::Png::from_bytes(Bytes::from(data))
        .map_err(crate::image::error::icc_failed)?;
    for (i, (kind, body)) in chunks.iter().enumerate() {
        let chunk = img_parts::png::PngChunk::new(*kind, Bytes::copy_from_slice(body));
        png.chunks_mut().insert(1 + i, chunk);
    }
    Ok(png.encoder().bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_palette_and_transparency_of_a_png() {
        let mut bytes = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut bytes, 2, 1);
            enc.set_color(png::ColorType::Indexed);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_palette(vec![1, 2, 3, 4, 5, 6, 7, 8, 9]);
            enc.set_trns(vec![0]);
            let mut w = enc.write_header().unwrap();
            w.write_image_data(&[0, 2]).unwrap();
        }
        assert_eq!(
            read_chunks(&bytes).unwrap().palette,
            Some(Palette::Indexed(vec![
                [1, 2, 3, 0],
                [4, 5, 6, 255],
                [7, 8, 9, 255]
            ]))
        );
        let img = DynamicImage::ImageRgba8(
            image::RgbaImage::from_raw(2, 1, vec![0, 0, 0, 0, 7, 8, 9, 255]).unwrap(),
        );
        let out = read_chunks(&bytes)
            .unwrap()
            .palette
            .unwrap()
            .encode(&img, false)
            .unwrap()
            .unwrap();
        assert_eq!(
            read_chunks(&out).unwrap().palette,
            read_chunks(&bytes).unwrap().palette
        );
        let back = image::load_from_memory(&out).unwrap().to_rgba8();
        assert_eq!(back.as_raw(), &vec![1, 2, 3, 0, 7, 8, 9, 255]);
    }

    #[test]
    fn colour_signals_follow_the_third_editions_precedence() {
        let iccp = {
            let mut v = b"p\0\0".to_vec();
            v.extend(fdeflate::compress_to_vec(b"profile"));
            v
        };
        let cicp: ([u8; 4], &[u8]) = (*b"cICP", &[1, 13, 0, 1]);
        let icc: ([u8; 4], &[u8]) = (*b"iCCP", &iccp);
        let srgb: ([u8; 4], &[u8]) = (*b"sRGB", &[0]);
        let gama: ([u8; 4], &[u8]) = (*b"gAMA", &[0, 0, 177, 143]);
        let chrm: ([u8; 4], &[u8]) = (*b"cHRM", &[7; 32]);
        let carried = |signals: &[([u8; 4], &[u8])]| {
            let (icc, colour) = colour_signals(signals);
            let kinds: Vec<String> = colour
                .iter()
                .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
                .collect();
            (icc, kinds)
        };
        let profile = b"profile".to_vec();
        assert_eq!(
            carried(&[gama, chrm, srgb, icc, cicp]),
            (
                Some(Icc::Outranked(profile.clone())),
                vec!["cICP".to_string()]
            )
        );
        assert_eq!(
            carried(&[gama, srgb, icc]),
            (Some(Icc::Carried(profile)), vec![])
        );
        assert_eq!(
            carried(&[gama, chrm, srgb]),
            (None, vec!["sRGB".to_string()])
        );
        assert_eq!(
            carried(&[chrm, gama]),
            (None, vec!["gAMA".to_string(), "cHRM".to_string()])
        );
        // A profile that does not inflate is no signal: the next one wins.
        let broken: ([u8; 4], &[u8]) = (*b"iCCP", b"p\0\0broken");
        let (icc, colour) = carried(&[broken, srgb]);
        assert!(matches!(icc, Some(Icc::Unreadable(_))));
        assert_eq!(colour, ["sRGB"]);
    }
}
