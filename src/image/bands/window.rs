//! Decoding and resizing at once: a decoder fills the rows of a window in order while a
//! second thread resizes the rows already there (`scanlines`).
//!
//! The window is the only buffer the two threads share. Its soundness is its own: the resizer
//! reads decoded rows only through a `View`, a guard that lets go of them when dropped, and the
//! decoder writes only rows past those decoded, and moves rows only while no `View` is held —
//! all decided under the window's lock.

// The window's buffer is written by the decoding thread and read by the resizing thread
// through raw pointers (each use has its SAFETY note).
#![allow(unsafe_code)]

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use image::{ColorType, DynamicImage, GrayImage, RgbImage};

use crate::image::error::{invalid, ImageError};
use crate::image::pixels::resize::{band_reach, resize_arriving, MadeBand, Reach};

/// Rows handed from the decoder to the resizing thread per step (libjpeg makes 8 or 16 at a time).
const CHUNK_ROWS: u32 = 16;

/// Takes a resized image's rows, top to bottom, on the resizing thread as they are made (the
/// largest variant's encoder and the next size's resize, `codecs::jpeg::along`), so that they
/// work while the decoder is still decoding. It comes back with the image.
pub(in crate::image) trait RowSink: Send {
    /// A band just made, with the rows made above it.
    fn rows(&mut self, band: MadeBand<'_>) -> Result<(), ImageError>;
}

/// Reads all `w`×`h` pixels (`P`: one pixel of `color`) with `read`, which fills whole rows in
/// order. The image at full size, or with `to`, resized to it while the rows arrive; then with
/// `sink` (made on the resizing thread), the resized rows also go to it as they are made, and
/// it comes back too.
///
/// Resizing, the decoded rows live in a window a few bands high (`window_rows`), not in a
/// full-size buffer: the rows no band will reach again are dropped as decoding goes on. For the
/// 16 MP seeding photo at 4/8 that is 5.0 MB instead of 11.9 MB, for a 12 MP baseline photo at
/// full scale 12.6 MB instead of 36.5 MB (and as many fewer pages for the kernel to fault in
/// and zero). A `progressive` file's rows come from libjpeg's output pass over coefficients it
/// already holds (inverse DCT and colour conversion only): that decoder keeps ahead with a
/// band less of window (`PROGRESSIVE_WINDOW_BANDS`: 9.5 MB for the 12 MP sunset), while the
/// coefficients make the peak.
pub(in crate::image) fn scanlines<P: fast_image_resize::PixelTrait, S: RowSink>(
    (w, h): (u32, u32),
    color: ColorType,
    to: Option<(u32, u32)>,
    progressive: bool,
    sink: Option<impl FnOnce() -> Result<S, ImageError> + Send>,
    mut read: impl FnMut(&mut [u8]) -> Result<(), ImageError>,
) -> Result<(DynamicImage, Option<S>), ImageError> {
    let stride = w as usize * std::mem::size_of::<P>();
    let Some((tw, th)) = to else {
        let mut buf = vec![0u8; stride * h as usize];
        read(&mut buf)?;
        let img = match color {
            ColorType::L8 => GrayImage::from_raw(w, h, buf).map(DynamicImage::ImageLuma8),
            _ => RgbImage::from_raw(w, h, buf).map(DynamicImage::ImageRgb8),
        };
        return img.map(|img| (img, None)).ok_or_else(short);
    };
    let bands = match progressive {
        true => PROGRESSIVE_WINDOW_BANDS,
        false => WINDOW_BANDS,
    };
    let mut buf = vec![0u8; stride * window_rows(h, th, bands) as usize];
    let window = Window::new(&mut buf, stride);
    let (decoded, resized) = std::thread::scope(|scope| {
        let resizer = scope.spawn(|| {
            // Lets the decoder go on (or stop) however this thread ends.
            let _gone = Gone(&window);
            let mut sink = sink.map(|make| make()).transpose()?;
            let dst = DynamicImage::new(tw, th, color);
            let made = resize_arriving::<P, View<'_>>(
                (w, h),
                dst,
                |reach| {
                    let view = window.read(reach)?;
                    let top = view.top;
                    Some((view, top))
                },
                &mut |band| sink.as_mut().map_or(Ok(()), |s| s.rows(band)),
            )?;
            Ok((made, sink))
        });
        // Wakes the resizer when decoding stops, whether it finished, failed or unwound.
        let close = Closer(&window);
        // `Err(None)`: the resizer ended first (its own error says why).
        let decoded = (|| -> Result<(), Option<ImageError>> {
            let mut row = 0;
            while row < h {
                let k = CHUNK_ROWS.min(h - row);
                window.fill(row, k, &mut read)?;
                row += k;
            }
            Ok(())
        })();
        drop(close);
        let resized = resizer
            .join()
            .unwrap_or_else(|_| Err(ImageError::Internal("resizing thread panicked".into())));
        (decoded, resized)
    });
    // A decoding error is the cause when both failed; when the resizer failed first (the
    // decoder then stopped for want of room), its error.
    let made = match decoded {
        Ok(()) => resized?,
        Err(Some(e)) => return Err(e),
        Err(None) => {
            return Err(resized
                .err()
                .unwrap_or_else(|| ImageError::Internal("resizing stopped early".into())))
        }
    };
    drop(buf);
    Ok(made)
}

/// Bands' worth of decoded rows the window holds: one being resized, the rest for the decoder
/// to run ahead into while it is (with two, the decoder waited on the resizer: 25 % slower;
/// with three, a baseline photo turned by EXIF 8 ms slower of 130).
const WINDOW_BANDS: f64 = 4.0;

/// The window for a progressive JPEG's rows (see `scanlines`). Measured with `variants`,
/// hyperfine medians of 20 runs, three batches: 12 MP sunset at full scale 253/277/250 ms
/// with four bands, 256/256/258 with three; peak RSS 79.3 → 76.4 MB (2 bands: 73.5 MB, but
/// 3–5 % slower).
const PROGRESSIVE_WINDOW_BANDS: f64 = 3.0;

/// Rows of the decoding window: `bands` bands' reach and a decoder step, at most the image.
fn window_rows(h: u32, th: u32, bands: f64) -> u32 {
    ((bands * f64::from(band_reach(h, th))) as u32)
        .saturating_add(CHUNK_ROWS)
        .min(h)
}

/// Where decoding and resizing stand (all rows counted from the image's top).
#[derive(Default)]
struct WindowState {
    /// Rows decoded.
    decoded: u32,
    /// The row at the start of the buffer.
    top: u32,
    /// The first row the resizer may still ask for.
    keep_from: u32,
    /// A `View` is held.
    reading: bool,
    /// Decoding has stopped (finished or failed).
    stopped: bool,
    /// The resizing thread has ended.
    gone: bool,
}

/// The decoded rows' buffer, shared by the decoder (writing rows past those decoded) and the
/// resizer (reading decoded rows through a `View`).
struct Window {
    base: *mut u8,
    /// Bytes per row.
    stride: usize,
    /// Rows the buffer holds.
    capacity: u32,
    state: Mutex<WindowState>,
    changed: Condvar,
}

// SAFETY: the two threads touch disjoint rows of the buffer, and the lock orders the writes
// of a row (and any move of rows) before any read of it (see `read`, `fill`).
unsafe impl Sync for Window {}

impl Window {
    /// Over `buf` (borrowed for as long as the window lives), `stride` bytes a row.
    fn new(buf: &mut [u8], stride: usize) -> Window {
        Window {
            base: buf.as_mut_ptr(),
            stride,
            capacity: u32::try_from(buf.len() / stride.max(1)).unwrap_or(u32::MAX),
            state: Mutex::new(WindowState::default()),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, WindowState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn update(&self, f: impl FnOnce(&mut WindowState)) {
        f(&mut self.lock());
        self.changed.notify_all();
    }

    /// The resizer: blocks until the rows `reach` names are decoded; a view of the decoded
    /// rows from the buffer's first (`View::top`), or `None` if decoding stopped before.
    /// Rows above `reach.first` are not asked for again.
    fn read(&self, reach: Reach) -> Option<View<'_>> {
        let mut s = self.lock();
        s.keep_from = s.keep_from.max(reach.first);
        self.changed.notify_all();
        loop {
            if s.decoded >= reach.end {
                s.reading = true;
                let rows = (s.decoded - s.top) as usize;
                // SAFETY: rows `top..decoded` are written at the start of the buffer (inside
                // it: `fill` keeps within `capacity`). Until this view is dropped (`reading`),
                // the decoder writes only rows below `decoded`, further on in the buffer, and
                // moves none (`fill` checks `reading` under this lock).
                let bytes = unsafe { std::slice::from_raw_parts(self.base, rows * self.stride) };
                return Some(View {
                    window: self,
                    bytes,
                    top: s.top,
                });
            }
            if s.stopped {
                return None;
            }
            s = self.changed.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The decoder: writes rows `row..row + k` with `read` once they fit in the buffer, moving
    /// the rows still needed to its start when no `View` is held; then publishes them.
    /// `Err(None)` if the resizer has ended.
    fn fill(
        &self,
        row: u32,
        k: u32,
        read: &mut impl FnMut(&mut [u8]) -> Result<(), ImageError>,
    ) -> Result<(), Option<ImageError>> {
        let top = {
            let mut s = self.lock();
            loop {
                if row + k - s.top <= self.capacity {
                    break s.top;
                }
                if s.gone {
                    return Err(None);
                }
                let from = s.keep_from.min(row);
                if !s.reading && from > s.top {
                    let (start, end) = ((from - s.top) as usize, (row - s.top) as usize);
                    // SAFETY: no `View` is held (checked under the lock, which `read` needs
                    // to make one); rows `start..end` are inside the buffer.
                    unsafe {
                        std::ptr::copy(
                            self.base.add(start * self.stride),
                            self.base,
                            (end - start) * self.stride,
                        )
                    };
                    s.top = from;
                    continue;
                }
                s = self.changed.wait(s).unwrap_or_else(PoisonError::into_inner);
            }
        };
        // SAFETY: rows `row..row + k` fit in the buffer (checked above); this thread alone
        // writes them, and a `View` covers only rows already published (below `row`). `top`
        // cannot change meanwhile: only this thread moves rows.
        let dest = unsafe {
            std::slice::from_raw_parts_mut(
                self.base.add((row - top) as usize * self.stride),
                k as usize * self.stride,
            )
        };
        read(dest).map_err(Some)?;
        self.update(|s| s.decoded = row + k);
        Ok(())
    }
}

/// The resizer's view of the decoded rows, from row `top` of the image: while it is held the
/// decoder moves no row; dropping it lets go.
struct View<'w> {
    window: &'w Window,
    bytes: &'w [u8],
    top: u32,
}

impl std::ops::Deref for View<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.bytes
    }
}

impl Drop for View<'_> {
    fn drop(&mut self) {
        self.window.update(|s| s.reading = false);
    }
}

/// Marks decoding stopped when dropped.
struct Closer<'a>(&'a Window);

impl Drop for Closer<'_> {
    fn drop(&mut self) {
        self.0.update(|s| s.stopped = true);
    }
}

/// Marks the resizer gone when dropped.
struct Gone<'a>(&'a Window);

impl Drop for Gone<'_> {
    fn drop(&mut self) {
        self.0.update(|s| s.gone = true);
    }
}

pub(in crate::image) fn short() -> ImageError {
    invalid("short pixel data")
}

#[cfg(test)]
mod tests {
    use super::*;
    use fast_image_resize::pixels::U8x3;

    /// A sink that keeps the rows, or fails at the `fail_at`-th call.
    #[derive(Debug)]
    struct Keep {
        /// Bytes per row of the resized image.
        stride: usize,
        rows: Vec<u8>,
        calls: usize,
        fail_at: Option<usize>,
    }

    impl RowSink for Keep {
        fn rows(&mut self, band: MadeBand<'_>) -> Result<(), ImageError> {
            self.calls += 1;
            if Some(self.calls) == self.fail_at {
                return Err(invalid("sink failed"));
            }
            self.rows.extend_from_slice(band.band(self.stride));
            Ok(())
        }
    }

    fn source(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([
                (x * 7 % 256) as u8,
                (y * 5 % 256) as u8,
                ((x ^ y) % 256) as u8,
            ])
        })
    }

    /// `scanlines` over `src`, `k` rows per read (or an error at row `fail_row`), with a
    /// `progressive` file's window or a baseline one's.
    fn run(
        src: &RgbImage,
        to: (u32, u32),
        progressive: bool,
        fail_row: Option<u32>,
        sink_fails_at: Option<usize>,
    ) -> Result<(DynamicImage, Option<Keep>), ImageError> {
        let stride = src.width() as usize * 3;
        let mut next = 0usize;
        let make = move || {
            Ok(Keep {
                stride: to.0 as usize * 3,
                rows: Vec::new(),
                calls: 0,
                fail_at: sink_fails_at,
            })
        };
        scanlines::<U8x3, _>(
            src.dimensions(),
            ColorType::Rgb8,
            Some(to),
            progressive,
            Some(make),
            |dest| {
                let row = (next / stride) as u32;
                if fail_row.is_some_and(|f| row >= f) {
                    return Err(invalid("decoder failed"));
                }
                dest.copy_from_slice(&src.as_raw()[next..next + dest.len()]);
                next += dest.len();
                Ok(())
            },
        )
    }

    #[test]
    fn a_window_of_rows_gives_the_same_pixels_as_the_whole_image() {
        let src = source(601, 6001);
        let to = (200, 1999);
        assert!(
            window_rows(6001, 1999, WINDOW_BANDS) < 6001 / 2,
            "the window is smaller"
        );
        assert!(
            window_rows(6001, 1999, PROGRESSIVE_WINDOW_BANDS)
                < window_rows(6001, 1999, WINDOW_BANDS)
        );
        let want = crate::image::pixels::resize::resize_image(
            &DynamicImage::ImageRgb8(src.clone()),
            to.0,
            to.1,
            false,
        )
        .unwrap();
        for progressive in [false, true] {
            let (got, sink) = run(&src, to, progressive, None, None).unwrap();
            assert!(got.as_bytes() == want.as_bytes(), "not the same pixels");
            assert!(
                sink.unwrap().rows == want.as_bytes(),
                "the sink got other rows"
            );
        }
    }

    #[test]
    fn a_failing_decoder_or_sink_ends_both_threads_with_an_error() {
        let src = source(601, 6001);
        let err = run(&src, (200, 1999), false, Some(2000), None).unwrap_err();
        assert!(
            matches!(&err, ImageError::Invalid(m) if m.ends_with("decoder failed")),
            "{err:?}"
        );
        let err = run(&src, (200, 1999), true, None, Some(2)).unwrap_err();
        assert!(
            matches!(&err, ImageError::Invalid(m) if m.ends_with("sink failed")),
            "{err:?}"
        );
    }
}
