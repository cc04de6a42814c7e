//! Decoding and resizing at once: a decoder fills rows of a buffer in order while a second
//! thread resizes the rows already there (`scanlines`).

// Raw row pointers shared between the decoding and the resizing thread (each use has its
// SAFETY note).
#![allow(unsafe_code)]

use image::{ColorType, DynamicImage, GrayImage, RgbImage};

use super::error::{invalid, ImageError};
use super::resize::resize_arriving;

/// Rows handed from the decoder to the resizing thread per step (libjpeg makes 8 or 16 at a time).
const CHUNK_ROWS: u32 = 16;

/// Takes a resized image's rows, top to bottom, on the resizing thread as they are made: the
/// largest variant's encoder, so that it encodes while the decoder is still decoding. It comes
/// back with the image, to be finished where that suits the caller.
pub(super) trait RowSink: Send {
    /// The next whole rows.
    fn rows(&mut self, rows: &[u8]) -> Result<(), ImageError>;
}

/// Reads all `w`×`h` pixels (`P`: one pixel of `color`) with `read`, which fills whole rows in
/// order. The image at full size, or with `to`, resized to it while the rows arrive; then with
/// `sink` (made on the resizing thread), the resized rows also go to it as they are made, and
/// it comes back too.
pub(super) fn scanlines<P: fast_image_resize::PixelTrait, S: RowSink>(
    (w, h): (u32, u32),
    color: ColorType,
    to: Option<(u32, u32)>,
    sink: Option<impl FnOnce() -> Result<S, ImageError> + Send>,
    mut read: impl FnMut(&mut [u8]) -> Result<(), ImageError>,
) -> Result<(DynamicImage, Option<S>), ImageError> {
    let stride = w as usize * std::mem::size_of::<P>();
    let mut buf = vec![0u8; stride * h as usize];
    let Some((tw, th)) = to else {
        read(&mut buf)?;
        let img = match color {
            ColorType::L8 => GrayImage::from_raw(w, h, buf).map(DynamicImage::ImageLuma8),
            _ => RgbImage::from_raw(w, h, buf).map(DynamicImage::ImageRgb8),
        };
        return img.map(|img| (img, None)).ok_or_else(short);
    };
    let mut dst = DynamicImage::new(tw, th, color);
    let arrived = Arrived::default();
    let base = Rows(buf.as_mut_ptr());
    let sink = std::thread::scope(|scope| {
        let resizer = scope.spawn(|| {
            let mut sink = sink.map(|make| make()).transpose()?;
            resize_arriving::<P>(
                (w, h),
                &mut dst,
                |n| {
                    let rows = arrived.wait(n)?;
                    // SAFETY: the first `rows` rows of `buf` are written, and the decoder
                    // writes only below them from now on; `buf` is not touched otherwise until
                    // the scope has joined this thread.
                    Some(unsafe { std::slice::from_raw_parts(base.at(0), rows as usize * stride) })
                },
                &mut |rows| sink.as_mut().map_or(Ok(()), |s| s.rows(rows)),
            )?;
            Ok(sink)
        });
        // Wakes the resizer when decoding stops, whether it finished, failed or unwound.
        let _close = Closer(&arrived);
        let mut row = 0;
        while row < h {
            let k = CHUNK_ROWS.min(h - row);
            // SAFETY: rows `row..row + k` are inside `buf`; this thread alone writes them, and
            // the resizer reads only rows already published (below `row`).
            let dest = unsafe {
                std::slice::from_raw_parts_mut(base.at(row as usize * stride), k as usize * stride)
            };
            read(dest)?;
            row += k;
            arrived.publish(row);
        }
        resizer
            .join()
            .unwrap_or_else(|_| Err(ImageError::Internal("resizing thread panicked".into())))
    })?;
    drop(buf);
    Ok((dst, sink))
}

/// The decoded rows' buffer, shared with the resizing thread (see `scanlines`).
struct Rows(*mut u8);
// SAFETY: the two threads touch disjoint rows, and `Arrived`'s mutex orders the writes of a row
// before any read of it.
unsafe impl Sync for Rows {}

impl Rows {
    /// The address `offset` bytes into the buffer (`offset` within it).
    fn at(&self, offset: usize) -> *mut u8 {
        self.0.wrapping_add(offset)
    }
}

/// How many rows are decoded, and whether decoding has stopped.
#[derive(Default)]
struct Arrived {
    state: std::sync::Mutex<(u32, bool)>,
    changed: std::sync::Condvar,
}

impl Arrived {
    fn update(&self, f: impl FnOnce(&mut (u32, bool))) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut state);
        self.changed.notify_all();
    }

    fn publish(&self, rows: u32) {
        self.update(|s| s.0 = rows);
    }

    /// Blocks until at least `n` rows are decoded; how many are, or `None` if decoding stopped
    /// before.
    fn wait(&self, n: u32) -> Option<u32> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            match *state {
                (rows, _) if rows >= n => return Some(rows),
                (_, true) => return None,
                _ => {
                    state = self
                        .changed
                        .wait(state)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
            }
        }
    }
}

struct Closer<'a>(&'a Arrived);

impl Drop for Closer<'_> {
    fn drop(&mut self) {
        self.0.update(|s| s.1 = true);
    }
}

pub(super) fn short() -> ImageError {
    invalid("short pixel data")
}
