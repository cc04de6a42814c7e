//! WebP: the RIFF chunk check, then the header read once at probe time by image-webp
//! (dimensions, orientation, colour profile, lossy or lossless, animated, frames; the decoder
//! kept open), libwebp decoding (RGB(A), or an opaque lossy file's 4:2:0 planes) and encoding,
//! and which chunks the metadata-free original keeps. Animations and anything libwebp refuses
//! are decoded by the open image-webp decoder instead.

// libwebp's C API through libwebp-sys (each use has its SAFETY note).
#![allow(unsafe_code)]

use std::io::Cursor;

use image::DynamicImage;
use img_parts::{Bytes, ImageICC};

use crate::image::codecs::count;
use crate::image::error::{invalid, ImageError};
use crate::image::pixels::yuv::{chroma, Yuv};

mod riff;
pub(in crate::image) use riff::{check_riff, riff_end, strip};

/// What the WebP header says, beyond dimensions and orientation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::image) struct Kind {
    /// Lossy (VP8) data anywhere: the variants are lossy too; otherwise they stay lossless.
    pub lossy: bool,
    pub animated: bool,
    /// Frames of one loop of the animation; 1 for a still image.
    pub frames: u32,
    /// What libwebp's decoding needs to know of the bitstream.
    pub features: Features,
}

/// The header as image-webp read it, and its decoder, positioned for decoding.
pub(in crate::image) struct Header<'a> {
    pub width: u32,
    pub height: u32,
    /// EXIF orientation, 1–8 (from the `EXIF` chunk, as `image` reads it).
    pub orientation: image::metadata::Orientation,
    pub icc: Option<Vec<u8>>,
    pub kind: Kind,
    pub decoder: Decoder<'a>,
}

/// image-webp's decoder over the file's bytes, its header read.
pub(in crate::image) type Decoder<'a> = image_webp::WebPDecoder<Cursor<&'a [u8]>>;

/// The bitstream facts libwebp's decoding depends on (as `WebPGetFeatures` reports them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::image) struct Features {
    pub width: u32,
    pub height: u32,
    pub alpha: bool,
    pub animation: bool,
    /// The bitstream is lossy VP8 (not lossless, not mixed).
    pub lossy_bitstream: bool,
}

/// Reads the header of a WebP whose chunks passed `check_riff`, once: image-webp's decoder,
/// kept for decoding, with its allocations capped at `memory_limit` bytes.
pub(in crate::image) fn open(bytes: &[u8], memory_limit: usize) -> Result<Header<'_>, ImageError> {
    count::header_read("image-webp header");
    let mut decoder = image_webp::WebPDecoder::new(Cursor::new(bytes)).map_err(invalid)?;
    decoder.set_memory_limit(memory_limit);
    let (width, height) = decoder.dimensions();
    let orientation = decoder
        .exif_metadata()
        .ok()
        .flatten()
        .map_or(image::metadata::Orientation::NoTransforms, |exif| {
            crate::image::codecs::exif::orientation(&exif)
        });
    let icc = decoder.icc_profile().ok().flatten();
    let (lossy, animated) = (decoder.is_lossy(), decoder.is_animated());
    let kind = Kind {
        lossy,
        animated,
        frames: decoder.num_frames().max(1),
        features: Features {
            width,
            height,
            alpha: decoder.has_alpha(),
            animation: animated,
            lossy_bitstream: lossy && !animated,
        },
    };
    Ok(Header {
        width,
        height,
        orientation,
        icc,
        kind,
        decoder,
    })
}

/// The most decoding a WebP may take (bytes, PRODUCT.md "Memory envelope"), the same budget
/// as a PNG frame's (`codecs::MAX_DECODED_BYTES`).
const MAX_DECODE_BYTES: u64 = crate::image::codecs::MAX_DECODED_BYTES;

/// Refuses, from the header, a WebP whose decoding would pass `MAX_DECODE_BYTES`: the output
/// (3 or 4 bytes a pixel) plus, for lossless and animated files, the full ARGB picture (4 bytes
/// a pixel) that libwebp's lossless decoder and image-webp's canvas keep while decoding.
pub(in crate::image) fn check_budget(h: &Header<'_>) -> Result<(), ImageError> {
    let pixels = u64::from(h.width) * u64::from(h.height);
    let output = if h.kind.features.alpha { 4 } else { 3 };
    let internal = if h.kind.features.lossy_bitstream {
        0
    } else {
        4
    };
    let need = pixels * (output + internal);
    if need > MAX_DECODE_BYTES {
        let kind = if h.kind.features.lossy_bitstream {
            "lossy"
        } else if h.kind.animated {
            "animated"
        } else {
            "lossless"
        };
        return Err(ImageError::TooLarge(format!(
            "{}x{} {kind} WebP takes {} MiB to decode ({} bytes a pixel), over the {} MiB budget",
            h.width,
            h.height,
            need >> 20,
            output + internal,
            MAX_DECODE_BYTES >> 20
        )));
    }
    Ok(())
}

/// The first frame through image-webp (animations, and what libwebp refuses), as `image`
/// decodes it: RGB, or RGBA where there is alpha.
pub(in crate::image) fn decode_first_frame(
    mut decoder: Decoder<'_>,
) -> Result<DynamicImage, ImageError> {
    let (w, h) = decoder.dimensions();
    let len = decoder
        .output_buffer_size()
        .ok_or_else(|| ImageError::TooLarge(format!("{w}x{h} WebP does not fit in memory")))?;
    let mut data = Vec::new();
    data.try_reserve_exact(len)
        .map_err(|_| ImageError::TooLarge(format!("{w}x{h} WebP: cannot allocate {len} bytes")))?;
    data.resize(len, 0u8);
    decoder.read_image(&mut data).map_err(invalid)?;
    let img = if decoder.has_alpha() {
        image::RgbaImage::from_raw(w, h, data).map(DynamicImage::ImageRgba8)
    } else {
        image::RgbImage::from_raw(w, h, data).map(DynamicImage::ImageRgb8)
    };
    img.ok_or_else(|| invalid("frame size does not match the picture"))
}

/// Still WebP through libwebp (several times faster than the pure-Rust decoder on lossy
/// files), straight into our buffer (libwebp's own buffer plus a copy doubled the peak memory);
/// `None` for animations and anything libwebp refuses, which go to `image` instead.
pub(in crate::image) fn decode_rgb(bytes: &[u8], features: &Features) -> Option<DynamicImage> {
    if features.animation {
        return None;
    }
    let (w, h, alpha) = (features.width, features.height, features.alpha);
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

/// Decodes a still, opaque, lossy WebP to its 4:2:0 planes (anything else is `None`: it takes
/// the RGB path).
pub(in crate::image) fn decode_planes(bytes: &[u8], features: &Features) -> Option<Yuv> {
    if features.animation || features.alpha || !features.lossy_bitstream {
        return None;
    }
    let (w, h) = (features.width, features.height);
    let (cw, ch) = chroma(w, h);
    let plane = |w: u32, h: u32| -> Option<Vec<u8>> {
        let len = usize::try_from(u64::from(w) * u64::from(h)).ok()?;
        let mut v = Vec::new();
        v.try_reserve_exact(len).ok()?;
        v.resize(len, 0u8);
        Some(v)
    };
    let (mut y, mut u, mut v) = (plane(w, h)?, plane(cw, ch)?, plane(cw, ch)?);
    let mut config = libwebp_sys::WebPDecoderConfig::new().ok()?;
    // A second thread runs the loop filter of the previous rows while the next are decoded.
    config.options.use_threads = 1;
    config.output.colorspace = libwebp_sys::WEBP_CSP_MODE::MODE_YUV;
    config.output.is_external_memory = 1;
    config.output.u.YUVA = libwebp_sys::WebPYUVABuffer {
        y: y.as_mut_ptr(),
        u: u.as_mut_ptr(),
        v: v.as_mut_ptr(),
        a: std::ptr::null_mut(),
        y_stride: std::ffi::c_int::try_from(w).ok()?,
        u_stride: std::ffi::c_int::try_from(cw).ok()?,
        v_stride: std::ffi::c_int::try_from(cw).ok()?,
        a_stride: 0,
        y_size: y.len(),
        u_size: u.len(),
        v_size: v.len(),
        a_size: 0,
    };
    // SAFETY: the three outputs are our vectors, each exactly stride × rows bytes, external
    // memory libwebp writes into and never frees; it checks those sizes against the
    // picture's and fails rather than write past them. No alpha plane is asked for.
    let status = unsafe { libwebp_sys::WebPDecode(bytes.as_ptr(), bytes.len(), &mut config) };
    // SAFETY: frees only what libwebp allocated itself (nothing, with external memory).
    unsafe { libwebp_sys::WebPFreeDecBuffer(&mut config.output) };
    if status != libwebp_sys::VP8StatusCode::VP8_STATUS_OK {
        return None;
    }
    Yuv::from_planes((w, h, y), (cw, ch, u), v)
}

fn encode_failed(what: String) -> ImageError {
    ImageError::Invalid(format!("cannot encode variant: {what}"))
}

/// Lossy WebP from 4:2:0 planes at `quality`, libwebp's default settings otherwise (method 4,
/// as `WebPEncodeRGB` and sharp use).
pub(in crate::image) fn encode_planes(yuv: &Yuv, quality: f32) -> Result<Vec<u8>, ImageError> {
    let fail = encode_failed;
    let int = |n: u32| std::ffi::c_int::try_from(n).map_err(|e| fail(e.to_string()));
    let mut config = libwebp_sys::WebPConfig::new().map_err(|()| fail("libwebp config".into()))?;
    config.quality = quality;
    let mut picture =
        libwebp_sys::WebPPicture::new().map_err(|()| fail("libwebp picture".into()))?;
    picture.use_argb = 0;
    picture.colorspace = libwebp_sys::WebPEncCSP::WEBP_YUV420;
    picture.width = int(yuv.width())?;
    picture.height = int(yuv.height())?;
    let bytes = |p: &DynamicImage| p.as_bytes().as_ptr().cast_mut();
    picture.y = bytes(&yuv.y);
    picture.u = bytes(&yuv.u);
    picture.v = bytes(&yuv.v);
    picture.y_stride = int(yuv.y.width())?;
    picture.uv_stride = int(yuv.u.width())?;
    let mut writer = std::mem::MaybeUninit::<libwebp_sys::WebPMemoryWriter>::uninit();
    // SAFETY: the writer is initialised before use and cleared (its buffer freed) after
    // the bytes are copied out. The picture points into our planes, which outlive the
    // call; libwebp's lossy encoder only reads them (it copies each macroblock in; it
    // would write to them only to clean up transparent areas, and there is no alpha
    // plane). The picture owns no memory of its own, so it needs no WebPPictureFree.
    unsafe {
        libwebp_sys::WebPMemoryWriterInit(writer.as_mut_ptr());
        picture.writer = Some(libwebp_sys::WebPMemoryWrite);
        picture.custom_ptr = writer.as_mut_ptr().cast();
        let ok = libwebp_sys::WebPEncode(&config, &mut picture) != 0;
        let mut writer = writer.assume_init();
        let out = if ok && !writer.mem.is_null() {
            Ok(std::slice::from_raw_parts(writer.mem, writer.size).to_vec())
        } else {
            Err(fail(format!("libwebp error {:?}", picture.error_code)))
        };
        libwebp_sys::WebPMemoryWriterClear(&mut writer);
        out
    }
}

/// How a WebP variant is encoded from RGB(A) pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(in crate::image) enum Compression {
    Lossy {
        quality: u8,
    },
    /// Lossless; `strongest` for the size-order retry.
    Lossless {
        strongest: bool,
    },
}

/// Encodes 8-bit RGB or RGBA pixels.
pub(in crate::image) fn encode(
    img: &DynamicImage,
    compression: Compression,
) -> Result<Vec<u8>, ImageError> {
    let layout = if img.color() == image::ColorType::Rgba8 {
        webp::PixelLayout::Rgba
    } else {
        webp::PixelLayout::Rgb
    };
    let enc = webp::Encoder::new(img.as_bytes(), layout, img.width(), img.height());
    // Lossless WebP's "quality" is its compression effort.
    let mem = match compression {
        Compression::Lossy { quality } => enc.encode_simple(false, f32::from(quality)),
        Compression::Lossless { strongest: true } => enc.encode_simple(true, 100.0),
        Compression::Lossless { strongest: false } => enc.encode_simple(true, 75.0),
    }
    .map_err(|e| encode_failed(format!("{e:?}")))?;
    Ok(mem.to_vec())
}

/// Adds an ICC profile to an encoded WebP without re-encoding it.
pub(in crate::image) fn embed_icc(data: Vec<u8>, icc: &[u8]) -> Result<Vec<u8>, ImageError> {
    let mut webp = img_parts::webp::WebP::from_bytes(Bytes::from(data))
        .map_err(crate::image::error::icc_failed)?;
    webp.set_icc_profile(Some(Bytes::copy_from_slice(icc)));
    Ok(webp.encoder().bytes().to_vec())
}
