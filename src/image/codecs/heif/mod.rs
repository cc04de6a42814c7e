//! HEIC/HEIF and AVIF input (PRODUCT.md "Input formats"; FORMATS.md §1.2, §1.3): the primary
//! image of a HEIF file (ISO/IEC 23008-12), HEVC-coded (heic-rs, pure Rust, patched in
//! `vendor/heic-rs`) or AV1-coded (rav1d), through one container parser (heic-rs's) for both.
//!
//! What comes out is the image as a browser shows it: grids composed; `clap`, `irot` and
//! `imir` applied in the order the file lists them (HEIF's transformations are authoritative;
//! an EXIF orientation in the file is ignored, FORMATS.md §3), so [`Header::orientation`] is
//! always 1 and [`Header::transforms`] says what was applied; 8-bit rows from [`Decoder::read`]
//! (16-bit from [`Decoder::decode`] for deeper files); alpha straight. Thumbnails, depth maps
//! and HDR gain maps are ignored (a gain map with a warning), burst frames and sequence frames
//! counted in [`Header::frames`].
//!
//! Colour: the pixels are RGB as stored (the YCbCr matrix and range from `nclx`, else the
//! bitstream), not colour-managed; [`Header::icc`] is the file's ICC profile or, for an `nclx`
//! description that is not sRGB (Display P3 from phones, BT.2020), one made for it
//! ([`Header::icc_synthesized`]). PQ HDR is refused, HLG read as SDR (`colour.rs`).
//!
//! Memory: a grid is decoded one tile row (or column, for a quarter turn) at a time (the 200 MP
//! Samsung photo through `read`: 83 MB peak RSS, `bench/heif.py`); a single coded picture is
//! decoded whole.
//!
//! Confinement: nothing here opens files or asks the system for CPU counts; rav1d gets an
//! explicit thread count ([`THREADS`]). rav1d aborts the process on some corrupt AV1 data
//! (rav1d #1497): in the confined child that is `image_invalid`.

// Until the lead wires the format into the probe (issue 26), only the tests call it.
#![cfg_attr(not(test), allow(dead_code))]

mod av1;
mod colour;
mod container;
mod hevc;
mod planes;
mod scan;
mod strips;
mod transforms;

#[cfg(test)]
mod tests;

use heic_rs::hevc::ChromaFormat;
use heic_rs::Nclx;
use image::{ColorType, DynamicImage, ImageBuffer};

use crate::image::codecs::ColourModel;
use crate::image::ImageError;
use container::Container;
use strips::{Pixels, Stream, View};
pub(crate) use transforms::Applied;

/// Threads a decode uses: HEVC tiles of a strip decoded side by side, and rav1d's own worker
/// threads for an AV1 picture. Explicit, because the confined child may not read the CPU
/// count (`/sys`, `/proc`) that rav1d would otherwise ask for.
pub(crate) const THREADS: usize = 2;

/// The most memory a decode may take (bytes, PRODUCT.md "Memory envelope"), as a PNG frame's
/// or a WebP's: checked from the header before any picture is decoded.
const MAX_DECODE_BYTES: u64 = 1024 * 1024 * 1024;

/// `decode` gives 16-bit samples for a deeper file only up to this size (bytes), 8-bit past
/// it (PNG's rule, `png::MAX_16BIT_FRAME_BYTES`).
const MAX_16BIT_BYTES: u64 = 256 * 1024 * 1024;

/// Which of the three the file is, for the content type the worker reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// HEVC-coded, with an HEVC brand (`heic`, `heix`, …): `image/heic`.
    Heic,
    /// HEVC-coded under the generic brands only (`mif1`, `msf1`): `image/heif`.
    Heif,
    /// AV1-coded (`avif`, `avis`, or `mif1` with an AV1 primary image): `image/avif`.
    Avif,
}

impl Kind {
    /// The IANA media type.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Kind::Heic => "image/heic",
            Kind::Heif => "image/heif",
            Kind::Avif => "image/avif",
        }
    }

    /// The name in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Heic => "HEIC",
            Kind::Heif => "HEIF",
            Kind::Avif => "AVIF",
        }
    }
}

/// What the container says, read without decoding pixels (`decode`/`read` then give exactly
/// this image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// Size of the pixels `decode` and `read` give: the HEIF transformations applied.
    pub width: u32,
    pub height: u32,
    /// Always 1: the decoder applies HEIF's own transformations (`transforms`) and ignores any
    /// EXIF orientation in the file.
    pub orientation: u8,
    /// The ICC profile: the file's `colr prof`/`rICC` as stored, or made from `nclx`.
    pub icc: Option<Vec<u8>>,
    /// Bits per sample as stored (8, 10 or 12).
    pub bit_depth: u8,
    /// `Gray`/`GrayAlpha` for a monochrome image; `YCbCr` for YCbCr-coded colour (with or
    /// without alpha: see `alpha`); `Rgb`/`Rgba` for RGB-coded (identity matrix) colour.
    pub colour_model: ColourModel,
    pub alpha: bool,
    /// Images in the file: burst frames or an image sequence's frames (the primary counts).
    pub frames: u32,
    pub warnings: Vec<String>,
    pub kind: Kind,
    /// The coded image's size (a grid's composed size) before the transformations, pixels.
    pub stored_width: u32,
    pub stored_height: u32,
    /// The transformations applied, in the order applied (the file's `ipma` order).
    pub transforms: Vec<Applied>,
    /// The EXIF orientation (1–8) equivalent to the turns and mirrors applied, for reports.
    pub applied_orientation: u8,
    /// `icc` was made from the file's `nclx` colour description (there is no ICC profile in
    /// the file); it describes the pixels as stored and is to be carried or applied like one.
    pub icc_synthesized: bool,
    /// The file has an HDR gain map (ignored: the SDR image is decoded).
    pub gain_map: bool,
    /// Bytes `decode` returns (8- or 16-bit, `width` × `height` × samples).
    pub decoded_bytes: u64,
}

impl Header {
    /// What the pipeline reads of it (`codecs::rows`): the pixels' size, the stored size and
    /// the turns applied for the report, the profile (embedded or made from `nclx`) carried or
    /// applied like any other. HEIF has no pages (`frames` counts bursts and sequences).
    pub(crate) fn rows(self) -> super::rows::Header {
        super::rows::Header {
            width: self.width,
            height: self.height,
            orientation: 1,
            coded: (self.stored_width, self.stored_height),
            turned_by_decoder: self.applied_orientation,
            icc: self.icc,
            in_srgb: false,
            bit_depth: self.bit_depth,
            colour_model: self.colour_model,
            alpha: self.alpha,
            frames: self.frames,
            pages: 1,
            warnings: self.warnings,
        }
    }
}

super::rows::row_decoder!(Decoder);

/// What a coded picture's configuration says, without decoding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Config {
    pub bit_depth: u8,
    pub chroma: ChromaFormat,
    /// Range and matrix (and primaries, transfer) the bitstream signals.
    pub signalled: Nclx,
}

/// heic-rs's error as ours: what it cannot do is `Unsupported`, a size over its limit
/// `TooLarge`, anything else `Invalid`.
pub(super) fn from_heic_rs(e: heic_rs::Error) -> ImageError {
    match e {
        heic_rs::Error::Unsupported(what) => {
            ImageError::Unsupported(format!("HEIF feature not decoded: {what}"))
        }
        heic_rs::Error::PixelLimit { pixels, max_pixels } => ImageError::TooLarge(format!(
            "HEIF image of {pixels} pixels, over the limit of {max_pixels}"
        )),
        e => ImageError::Invalid(format!("cannot decode: HEIF: {e}")),
    }
}

/// True when `bytes` start with an `ftyp` box naming a HEIF brand: HEVC's (`heic`, `heix`,
/// `hevc`, `hevx`, …), AVIF's (`avif`, `avis`) or the generic `mif1`/`msf1`.
pub(crate) fn detect(bytes: &[u8]) -> bool {
    let heif = |b: &[u8; 4]| {
        matches!(b, b"mif1" | b"msf1" | b"avif" | b"avis") || container::HEVC_BRANDS.contains(&b)
    };
    container::brands(bytes).is_some_and(|brands| brands.iter().any(heif))
}

/// Which of HEIC, HEIF and AVIF the file is, from its brands (and, under the generic brands
/// only, from its primary image's coding); `None` when it is none of them.
pub(crate) fn kind(bytes: &[u8]) -> Option<Kind> {
    container::kind(bytes)
}

/// The primary image's decoder, its container read.
pub(crate) struct Decoder<'a> {
    container: Container<'a>,
    view: View,
    pixels: Pixels,
    /// `read`'s stream, made at the first call.
    stream: Option<Stream>,
}

/// Reads the container of `bytes` (a HEIF file, see [`detect`]) and describes its primary
/// image, refusing before any pixel is decoded what is over `max_pixels` or over the decoding
/// budget (`TooLarge`), a coding or feature not decoded (`Unsupported`: HEVC 4:2:2/4:4:4,
/// overlays, PQ HDR, unknown essential properties) and inconsistent containers (`Invalid`).
pub(crate) fn open(bytes: &[u8], max_pixels: u64) -> Result<(Decoder<'_>, Header), ImageError> {
    let c = container::open(bytes, max_pixels)?;
    let (crop, orientation, applied) =
        transforms::plan(c.image.width, c.image.height, &c.transforms)?;
    let (width, height) = match orientation.swaps_axes() {
        true => (crop.h, crop.w),
        false => (crop.w, crop.h),
    };
    let mono = c.config.chroma == ChromaFormat::Monochrome;
    let alpha = c.alpha.is_some();
    let channels = usize::from(!mono) * 2 + 1 + usize::from(alpha);
    let colour = colour::describe(c.kind.name(), c.icc, c.nclx, c.nclx_stated)?;
    let mut warnings: Vec<String> = colour.warning.into_iter().collect();
    if let Some(urn) = &c.gain_map {
        warnings.push(format!(
            "HDR gain map ignored ({urn}): the SDR image is shown, without its gain map"
        ));
    }
    let wide = c.config.bit_depth > 8
        && u64::from(width) * u64::from(height) * channels as u64 * 2 <= MAX_16BIT_BYTES;
    let pixels = Pixels { channels, wide };
    let decoded_bytes = u64::from(width) * u64::from(height) * pixels.bytes() as u64;
    check_budget(&c, channels)?;
    let header = Header {
        width,
        height,
        orientation: 1,
        icc: colour.icc,
        bit_depth: c.config.bit_depth,
        colour_model: colour_model(mono, alpha, c.nclx),
        alpha,
        frames: c.frames,
        warnings,
        kind: c.kind,
        stored_width: c.image.width,
        stored_height: c.image.height,
        transforms: applied,
        applied_orientation: orientation.exif(),
        icc_synthesized: colour.synthesized,
        gain_map: c.gain_map.is_some(),
        decoded_bytes,
    };
    let view = View { crop, orientation };
    let decoder = Decoder {
        container: c,
        view,
        pixels,
        stream: None,
    };
    Ok((decoder, header))
}

fn colour_model(mono: bool, alpha: bool, nclx: Nclx) -> ColourModel {
    match (mono, alpha, nclx.matrix.is_identity()) {
        (true, false, _) => ColourModel::Gray,
        (true, true, _) => ColourModel::GrayAlpha,
        (false, false, true) => ColourModel::Rgb,
        (false, true, true) => ColourModel::Rgba,
        (false, _, false) => ColourModel::YCbCr,
    }
}

/// Refuses an image whose streaming decode would pass `MAX_DECODE_BYTES`: one strip of
/// pictures (a tile row or column with the carried lines; a single picture whole) as decoded
/// tiles, composed and joined planes (16-bit samples), the codec's own buffers and the
/// converted pixels, plus a whole alpha image where it is tiled unlike the image.
fn check_budget(c: &Container<'_>, channels: usize) -> Result<(), ImageError> {
    let l = &c.image;
    let (w, h) = (u64::from(l.width), u64::from(l.height));
    let strip = match (l.rows, l.columns) {
        (1, 1) => w * h,
        _ => (w * (u64::from(l.tile.1) + 2)).max((u64::from(l.tile.0) + 2) * h),
    };
    let planes = match c.config.chroma {
        ChromaFormat::Monochrome => 2,
        ChromaFormat::Yuv420 => 3,
        ChromaFormat::Yuv422 => 4,
        ChromaFormat::Yuv444 => 6,
    };
    let tile = u64::from(l.tile.0) * u64::from(l.tile.1);
    let codec = tile * 2 * planes;
    let alpha = match &c.alpha {
        Some(a)
            if (a.layout.rows, a.layout.columns, a.layout.tile) != (l.rows, l.columns, l.tile) =>
        {
            w * h * 2
        }
        _ => 0,
    };
    let need = strip * (3 * planes + channels as u64 * 2) + codec + alpha;
    if need > MAX_DECODE_BYTES {
        return Err(ImageError::TooLarge(format!(
            "{}x{} {} takes {} MiB to decode (its largest coded picture is {}x{}), over the {} \
             MiB budget",
            l.width,
            l.height,
            c.kind.name(),
            need >> 20,
            l.tile.0,
            l.tile.1,
            MAX_DECODE_BYTES >> 20
        )));
    }
    Ok(())
}

impl Decoder<'_> {
    /// The whole image, as the header describes it: 8-bit L, LA, RGB or RGBA, or 16-bit for a
    /// deeper file up to `MAX_16BIT_BYTES`; alpha straight; RGB as stored (the header's ICC
    /// profile not applied).
    ///
    /// Errors: the decoders' (`Invalid`, `Unsupported`); the whole image over the decoding
    /// budget (`TooLarge`: use `read`).
    pub(crate) fn decode(self) -> Result<DynamicImage, ImageError> {
        let (w, h) = self.size();
        let bytes = u64::from(w) * u64::from(h) * self.pixels.bytes() as u64;
        if bytes > MAX_DECODE_BYTES {
            return Err(ImageError::TooLarge(format!(
                "{w}x{h} image takes {} MiB whole, over the {} MiB budget",
                bytes >> 20,
                MAX_DECODE_BYTES >> 20
            )));
        }
        let mut data = vec![0u8; bytes as usize];
        let mut stream = Stream::new(&self.container, self.view, self.pixels)?;
        stream.fill(&self.container, &mut data)?;
        image_of(w, h, self.pixels, data)
    }

    /// The pixels `read` gives: L8, La8, Rgb8 or Rgba8.
    pub(crate) fn layout(&self) -> ColorType {
        match self.pixels.channels {
            1 => ColorType::L8,
            2 => ColorType::La8,
            3 => ColorType::Rgb8,
            _ => ColorType::Rgba8,
        }
    }

    /// Fills `rows` (a whole number of rows of `layout()`) with the next rows of the image,
    /// top to bottom, 8-bit; the decoder holds one strip of pictures at a time.
    ///
    /// Errors: the decoders' (`Invalid`, `Unsupported`); `rows` not a whole number of rows,
    /// or past the image's end (`Internal`).
    pub(crate) fn read(&mut self, rows: &mut [u8]) -> Result<(), ImageError> {
        let row = self.size().0 as usize * self.pixels.channels;
        if row == 0 || !rows.len().is_multiple_of(row) {
            return Err(ImageError::Internal(format!(
                "HEIF read: {} bytes is not a whole number of {row}-byte rows",
                rows.len()
            )));
        }
        if self.stream.is_none() {
            let pixels = Pixels {
                wide: false,
                ..self.pixels
            };
            self.pixels = pixels;
            self.stream = Some(Stream::new(&self.container, self.view, pixels)?);
        }
        match self.stream.as_mut() {
            Some(s) => s.fill(&self.container, rows),
            None => Ok(()),
        }
    }

    fn size(&self) -> (u32, u32) {
        let c = self.view.crop;
        match self.view.orientation.swaps_axes() {
            true => (c.h, c.w),
            false => (c.w, c.h),
        }
    }
}

/// `data` (rows of `pixels`) as an image.
fn image_of(w: u32, h: u32, pixels: Pixels, data: Vec<u8>) -> Result<DynamicImage, ImageError> {
    let short = || ImageError::Internal("HEIF decoder made a short image".into());
    if pixels.wide {
        let samples: Vec<u16> = data
            .chunks_exact(2)
            .map(|s| u16::from_ne_bytes([s[0], s[1]]))
            .collect();
        return Ok(match pixels.channels {
            1 => DynamicImage::ImageLuma16(ImageBuffer::from_raw(w, h, samples).ok_or_else(short)?),
            2 => {
                DynamicImage::ImageLumaA16(ImageBuffer::from_raw(w, h, samples).ok_or_else(short)?)
            }
            3 => DynamicImage::ImageRgb16(ImageBuffer::from_raw(w, h, samples).ok_or_else(short)?),
            _ => DynamicImage::ImageRgba16(ImageBuffer::from_raw(w, h, samples).ok_or_else(short)?),
        });
    }
    Ok(match pixels.channels {
        1 => DynamicImage::ImageLuma8(ImageBuffer::from_raw(w, h, data).ok_or_else(short)?),
        2 => DynamicImage::ImageLumaA8(ImageBuffer::from_raw(w, h, data).ok_or_else(short)?),
        3 => DynamicImage::ImageRgb8(ImageBuffer::from_raw(w, h, data).ok_or_else(short)?),
        _ => DynamicImage::ImageRgba8(ImageBuffer::from_raw(w, h, data).ok_or_else(short)?),
    })
}
