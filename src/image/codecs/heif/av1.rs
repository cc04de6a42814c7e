//! `av01` items (AV1) through rav1d, ISRG's memory-safety port of dav1d.
//!
//! rav1d's public API is dav1d's C API (`unsafe extern "C" fn dav1d_*`), so this is the one
//! file of the HEIF decoder that allows `unsafe`: every call has its SAFETY note against the
//! function's `# Safety` section in rav1d 1.1.0 `src/lib.rs`. rav1d aborts the process on
//! some corrupt input (rav1d #1497: a panic cannot cross its `extern "C"` boundary); the
//! image stage runs in a confined child process, so that ends the child, which the parent
//! reports as `image_invalid`.
#![allow(unsafe_code)]

use std::mem::MaybeUninit;
use std::ptr::NonNull;

use heic_rs::context::Context;
use heic_rs::hevc::{ChromaFormat, Frame};
use heic_rs::{MatrixCoefficients, Nclx, Range};
use rav1d::include::dav1d::data::Dav1dData;
use rav1d::include::dav1d::dav1d::{Dav1dContext, Dav1dLogger, Dav1dSettings};
use rav1d::include::dav1d::headers::{
    Dav1dSequenceHeader, DAV1D_PIXEL_LAYOUT_I400, DAV1D_PIXEL_LAYOUT_I420, DAV1D_PIXEL_LAYOUT_I422,
};
use rav1d::include::dav1d::picture::Dav1dPicture;
use rav1d::src::lib as dav1d;

use super::{from_heic_rs, Config};
use crate::image::ImageError;

/// dav1d's "try again" (`-EAGAIN`): more data needed, or a picture not yet ready.
const EAGAIN: i32 = -libc::EAGAIN;

fn failed(what: &str, code: i32) -> ImageError {
    ImageError::Invalid(format!("cannot decode: AV1 {what} failed (error {code})"))
}

/// What an item's `av1C` and sequence header say, without decoding.
///
/// Errors: no `av1C`, or a sequence header that does not parse (`Invalid`).
pub(super) fn config(ctx: &Context<'_>, item: u32) -> Result<Config, ImageError> {
    let av1c = ctx
        .meta
        .props
        .find(item, b"av1C")
        .and_then(|b| b.payload.get(2).copied())
        .ok_or_else(|| ImageError::Invalid("cannot decode: AVIF image without av1C".into()))?;
    // av1C byte 2: seq_tier_0, high_bitdepth, twelve_bit, monochrome, chroma_subsampling_x/_y.
    let bit_depth = match (av1c & 0x40 != 0, av1c & 0x20 != 0) {
        (true, true) => 12,
        (true, false) => 10,
        _ => 8,
    };
    let chroma = match (av1c & 0x10 != 0, av1c & 0x08 != 0, av1c & 0x04 != 0) {
        (true, _, _) => ChromaFormat::Monochrome,
        (false, true, true) => ChromaFormat::Yuv420,
        (false, true, false) => ChromaFormat::Yuv422,
        _ => ChromaFormat::Yuv444,
    };
    let data = ctx.item_data(item).map_err(from_heic_rs)?;
    Ok(Config {
        bit_depth,
        chroma,
        signalled: sequence_header(&data)?,
    })
}

/// The colour description in the sequence header at the start of `data` (an item's OBUs).
fn sequence_header(data: &[u8]) -> Result<Nclx, ImageError> {
    let mut seq = MaybeUninit::<Dav1dSequenceHeader>::uninit();
    let ptr = NonNull::new(data.as_ptr().cast_mut());
    // SAFETY: `seq` is valid to write to; `ptr` is the start of `data`, `data.len()` long
    // (an empty item is refused by the function: sz > 0).
    let r = unsafe {
        dav1d::dav1d_parse_sequence_header(NonNull::new(seq.as_mut_ptr()), ptr, data.len())
    };
    if r.0 < 0 {
        return Err(failed("sequence header", r.0));
    }
    // SAFETY: on success the function wrote the whole header.
    let seq = unsafe { seq.assume_init() };
    Ok(signalled(&seq))
}

fn signalled(seq: &Dav1dSequenceHeader) -> Nclx {
    Nclx {
        primaries: seq.pri as u16,
        transfer: seq.trc as u16,
        matrix: MatrixCoefficients::from_code(seq.mtrx as u16),
        matrix_code: seq.mtrx as u16,
        range: if seq.color_range != 0 {
            Range::Full
        } else {
            Range::Limited
        },
    }
}

/// An open rav1d decoder, reused for every item of one image (flushed between items).
pub(super) struct Av1 {
    context: Option<Dav1dContext>,
}

// SAFETY: the context is rav1d's `Arc` of its context, which its own worker threads share
// (so the context is `Send + Sync`); dav1d's API may be called from any thread, one call at a
// time, which `&mut self` ensures. Moving the decoder to another thread is therefore sound.
unsafe impl Send for Av1 {}

impl Drop for Av1 {
    fn drop(&mut self) {
        // SAFETY: the context came from `dav1d_open` and is closed only here (`None` is
        // accepted and does nothing).
        unsafe { dav1d::dav1d_close(NonNull::new(&mut self.context)) };
    }
}

/// A decoded picture, released on drop.
struct Picture(Dav1dPicture);

impl Drop for Picture {
    fn drop(&mut self) {
        // SAFETY: the picture was filled by `dav1d_get_picture` or is the default (no
        // buffers), which `dav1d_picture_unref` accepts.
        unsafe { dav1d::dav1d_picture_unref(NonNull::new(&mut self.0)) };
    }
}

impl Av1 {
    /// A decoder on `threads` threads of its own (an explicit count: with 0, rav1d would ask
    /// the system for the CPU count, which the confined child may not read), refusing any
    /// frame over `max_pixels` before allocating it, silent (no log lines on stderr).
    ///
    /// Errors: rav1d refused the settings (`Invalid`).
    pub fn new(threads: usize, max_pixels: u64) -> Result<Av1, ImageError> {
        let mut s = MaybeUninit::<Dav1dSettings>::uninit();
        let ptr = NonNull::new(s.as_mut_ptr()).ok_or_else(|| failed("settings", 0))?;
        // SAFETY: `ptr` is valid to write to; the function writes every field.
        let mut s = unsafe {
            dav1d::dav1d_default_settings(ptr);
            s.assume_init()
        };
        s.n_threads = i32::try_from(threads.clamp(1, 8)).unwrap_or(1);
        s.max_frame_delay = 1;
        s.all_layers = 0;
        s.frame_size_limit = u32::try_from(max_pixels).unwrap_or(u32::MAX);
        // SAFETY: no callback: rav1d then logs nothing.
        s.logger = unsafe { Dav1dLogger::new(None, None) };
        let mut av1 = Av1 { context: None };
        // SAFETY: both pointers are valid for the call.
        let r = unsafe { dav1d::dav1d_open(NonNull::new(&mut av1.context), NonNull::new(&mut s)) };
        if r.0 < 0 {
            return Err(failed("decoder set-up", r.0));
        }
        Ok(av1)
    }

    /// Decodes one `av01` item (its OBUs, `data`) declared `declared` (its `ispe`) into
    /// planes of exactly that size.
    ///
    /// Errors: rav1d's, a frame over the decoder's limit, a picture smaller than declared
    /// (`Invalid`).
    pub fn decode(&mut self, data: &[u8], declared: (u32, u32)) -> Result<Frame, ImageError> {
        if data.is_empty() {
            return Err(ImageError::Invalid("cannot decode: empty AV1 item".into()));
        }
        if let Some(c) = self.context {
            // SAFETY: `c` is open (from `dav1d_open`, not closed).
            unsafe { dav1d::dav1d_flush(c) };
        }
        let pic = self.picture(data)?;
        super::planes::fit(planes(&pic.0)?, declared)
    }

    /// Sends `data` and takes the one picture it holds.
    fn picture(&mut self, data: &[u8]) -> Result<Picture, ImageError> {
        let mut buf = Dav1dData::default();
        // SAFETY: `buf` is valid to write to; on success the returned pointer has room for
        // `data.len()` bytes.
        let dst = unsafe { dav1d::dav1d_data_create(NonNull::new(&mut buf), data.len()) };
        if dst.is_null() {
            return Err(failed("buffer", 0));
        }
        // SAFETY: `dst` has room for `data.len()` bytes and does not overlap `data`.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) };
        let mut pic = Picture(Dav1dPicture::default());
        let result = loop {
            if buf.sz > 0 {
                // SAFETY: the context is open; `buf` is a valid Dav1dData.
                let r = unsafe { dav1d::dav1d_send_data(self.context, NonNull::new(&mut buf)) };
                if r.0 < 0 && r.0 != EAGAIN {
                    break Err(failed("decoding", r.0));
                }
            }
            // SAFETY: the context is open; `pic.0` is valid to write to.
            let r = unsafe { dav1d::dav1d_get_picture(self.context, NonNull::new(&mut pic.0)) };
            match r.0 {
                0 => break Ok(()),
                EAGAIN if buf.sz > 0 => continue,
                EAGAIN => break Err(ImageError::Invalid("AV1 item holds no picture".into())),
                e => break Err(failed("decoding", e)),
            }
        };
        if buf.sz > 0 {
            // SAFETY: `buf` still owns the rest of the data it was given.
            unsafe { dav1d::dav1d_data_unref(NonNull::new(&mut buf)) };
        }
        result.map(|()| pic)
    }
}

/// The picture's planes as 16-bit samples.
fn planes(p: &Dav1dPicture) -> Result<Frame, ImageError> {
    let (w, h) = (p.p.w.max(0) as u32, p.p.h.max(0) as u32);
    let bpc = p.p.bpc as u8;
    let chroma = match p.p.layout {
        DAV1D_PIXEL_LAYOUT_I400 => ChromaFormat::Monochrome,
        DAV1D_PIXEL_LAYOUT_I420 => ChromaFormat::Yuv420,
        DAV1D_PIXEL_LAYOUT_I422 => ChromaFormat::Yuv422,
        _ => ChromaFormat::Yuv444,
    };
    let (cw, ch) = chroma.chroma_size(w, h);
    let plane = |i: usize, pw: u32, ph: u32, stride: isize| -> Result<Vec<u16>, ImageError> {
        let base = p.data[i]
            .ok_or_else(|| failed("picture", 0))?
            .as_ptr()
            .cast::<u8>();
        let mut out = Vec::with_capacity(pw as usize * ph as usize);
        for y in 0..ph as isize {
            // SAFETY: dav1d guarantees `ph` rows `stride` bytes apart (the stride may be
            // negative) of at least `pw` samples of `bpc` bits (one byte up to 8 bits, two
            // above) for this plane, alive while the picture is.
            unsafe {
                let row = base.offset(y * stride);
                if bpc == 8 {
                    let r = std::slice::from_raw_parts(row, pw as usize);
                    out.extend(r.iter().map(|&v| u16::from(v)));
                } else {
                    let r = std::slice::from_raw_parts(row.cast::<u16>(), pw as usize);
                    out.extend_from_slice(r);
                }
            }
        }
        Ok(out)
    };
    let y = plane(0, w, h, p.stride[0])?;
    let (cb, cr) = if chroma == ChromaFormat::Monochrome {
        (Vec::new(), Vec::new())
    } else {
        (
            plane(1, cw, ch, p.stride[1])?,
            plane(2, cw, ch, p.stride[1])?,
        )
    };
    let frame = Frame {
        width: w,
        height: h,
        bit_depth: bpc,
        chroma,
        y,
        cb,
        cr,
        y_stride: w,
        c_stride: cw,
    };
    frame.validate().map_err(from_heic_rs)?;
    Ok(frame)
}
