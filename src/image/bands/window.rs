//! Decoding and resizing at once: a decoder fills rows of a buffer in order while a second
//! thread resizes the rows already there (`scanlines`).

// Raw row pointers shared between the decoding and the resizing thread (each use has its
// SAFETY note).
#![allow(unsafe_code)]

use image::{ColorType, DynamicImage, GrayImage, RgbImage};

use crate::image::error::{invalid, ImageError};
use crate::image::pixels::resize::{band_reach, resize_arriving, Destination, MadeBand, Reach};

/// Rows handed from the decoder to the resizing thread per step (libjpeg makes 8 or 16 at a time).
const CHUNK_ROWS: u32 = 16;

/// Takes a resized image's rows, top to bottom, on the resizing thread as they are made: the
/// largest variant's encoder (and the next size's resize), so that they work while the decoder
/// is still decoding. It comes back with the image, to be finished where that suits the caller.
pub(in crate::image) trait RowSink: Send {
    /// A band just made, with the rows held above it; returns the first row still needed
    /// (see `resize::BandMade`).
    fn rows(&mut self, band: MadeBand<'_>) -> Result<u32, ImageError>;

    /// `Some(rows)`: the resized image need not be kept whole, the sink taking every band as
    /// it comes; a window of that many rows is enough for what it reads (`Banded::windowed`).
    fn window(&self) -> Option<u32> {
        None
    }
}

/// Reads all `w`×`h` pixels (`P`: one pixel of `color`) with `read`, which fills whole rows in
/// order. The image at full size, or with `to`, resized to it while the rows arrive; then with
/// `sink` (made on the resizing thread), the resized rows also go to it as they are made, and
/// it comes back too. A sink that asks for a `window` takes the resized image band by band:
/// no image comes back (`None`), and only that many of its rows are held at once.
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
) -> Result<(Option<DynamicImage>, Option<S>), ImageError> {
    let stride = w as usize * std::mem::size_of::<P>();
    let Some((tw, th)) = to else {
        let mut buf = vec![0u8; stride * h as usize];
        read(&mut buf)?;
        let img = match color {
            ColorType::L8 => GrayImage::from_raw(w, h, buf).map(DynamicImage::ImageLuma8),
            _ => RgbImage::from_raw(w, h, buf).map(DynamicImage::ImageRgb8),
        };
        return img.map(|img| (Some(img), None)).ok_or_else(short);
    };
    let bands = match progressive {
        true => PROGRESSIVE_WINDOW_BANDS,
        false => WINDOW_BANDS,
    };
    let capacity = window_rows(h, th, bands);
    let mut buf = vec![0u8; stride * capacity as usize];
    let window = Window::default();
    let base = Rows(buf.as_mut_ptr());
    let (decoded, resized) = std::thread::scope(|scope| {
        let resizer = scope.spawn(|| {
            // Lets the decoder go on (or stop) however this thread ends.
            let _gone = Gone(&window);
            let mut sink = sink.map(|make| make()).transpose()?;
            let dst = match sink.as_ref().and_then(RowSink::window) {
                Some(rows) => Destination::Window {
                    size: (tw, th),
                    color,
                    rows,
                },
                None => Destination::Whole(DynamicImage::new(tw, th, color)),
            };
            let dst = resize_arriving::<P>(
                (w, h),
                dst,
                |reach| {
                    let (top, decoded) = window.read(reach)?;
                    // SAFETY: rows `top..decoded` are written at the start of `buf`; until the
                    // band is resized and its view dropped (`bands` drops it, then `release`
                    // below) or the thread ends, the decoder writes only rows below `decoded`,
                    // further on in `buf`, and moves none.
                    let rows = unsafe {
                        std::slice::from_raw_parts(base.at(0), (decoded - top) as usize * stride)
                    };
                    Some((rows, top))
                },
                &mut |band| {
                    // The band is resized: its view of `buf` is gone, the decoder may move rows.
                    window.release();
                    sink.as_mut().map_or(Ok(0), |s| s.rows(band))
                },
            )?;
            Ok((dst, sink))
        });
        // Wakes the resizer when decoding stops, whether it finished, failed or unwound.
        let close = Closer(&window);
        // `Err(None)`: the resizer ended first (its own error says why).
        let decoded = (|| -> Result<(), Option<ImageError>> {
            let mut row = 0;
            while row < h {
                let k = CHUNK_ROWS.min(h - row);
                let top = window
                    .make_room(row, k, capacity, |start, end| {
                        // SAFETY: the resizer holds no view of `buf` (`make_room` checked, under
                        // the lock it needs to take one); `start..end` are rows inside `buf`.
                        unsafe {
                            let (start, end) = (start as usize * stride, end as usize * stride);
                            std::ptr::copy(base.at(start), base.at(0), end - start);
                        }
                    })
                    .ok_or(None)?;
                // SAFETY: rows `row..row + k` fit in `buf` (`make_room`); this thread alone
                // writes them, and the resizer reads only rows already published (below `row`).
                let dest = unsafe {
                    std::slice::from_raw_parts_mut(
                        base.at((row - top) as usize * stride),
                        k as usize * stride,
                    )
                };
                read(dest).map_err(Some)?;
                row += k;
                window.publish(row);
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
    let (dst, sink) = match decoded {
        Ok(()) => resized?,
        Err(Some(e)) => return Err(e),
        Err(None) => {
            return Err(resized
                .err()
                .unwrap_or_else(|| ImageError::Internal("resizing stopped early".into())))
        }
    };
    drop(buf);
    Ok((dst, sink))
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

/// The decoded rows' buffer, shared with the resizing thread (see `scanlines`).
struct Rows(*mut u8);
// SAFETY: the two threads touch disjoint rows, and `Window`'s mutex orders the writes of a row
// (and any move of rows) before any read of it.
unsafe impl Sync for Rows {}

impl Rows {
    /// The address `offset` bytes into the buffer (`offset` within it).
    fn at(&self, offset: usize) -> *mut u8 {
        self.0.wrapping_add(offset)
    }
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
    /// The resizer holds a view of the buffer.
    reading: bool,
    /// Decoding has stopped (finished or failed).
    stopped: bool,
    /// The resizing thread has ended.
    gone: bool,
}

#[derive(Default)]
struct Window {
    state: std::sync::Mutex<WindowState>,
    changed: std::sync::Condvar,
}

impl Window {
    fn lock(&self) -> std::sync::MutexGuard<'_, WindowState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn update(&self, f: impl FnOnce(&mut WindowState)) {
        f(&mut self.lock());
        self.changed.notify_all();
    }

    fn publish(&self, rows: u32) {
        self.update(|s| s.decoded = rows);
    }

    /// The resizer holds no view of the buffer any more.
    fn release(&self) {
        self.update(|s| s.reading = false);
    }

    /// The resizer: gives up its view, then blocks until the rows `reach` names are decoded;
    /// the window's first row and how many rows are decoded (its view is `top..decoded`),
    /// holding the view, or `None` if decoding stopped before.
    fn read(&self, reach: Reach) -> Option<(u32, u32)> {
        let mut s = self.lock();
        s.reading = false;
        s.keep_from = s.keep_from.max(reach.first);
        self.changed.notify_all();
        loop {
            if s.decoded >= reach.end {
                s.reading = true;
                return Some((s.top, s.decoded));
            }
            if s.stopped {
                return None;
            }
            s = self
                .changed
                .wait(s)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// The decoder, before writing rows `row..row + k`: waits until they fit in the window
    /// (`capacity` rows), moving the rows still needed to its start when the resizer has let go
    /// of its view (`shift(start, end)`: the buffer's rows `start..end` to its start). Returns
    /// the row at the start of the buffer, or `None` if the resizer has ended.
    fn make_room(&self, row: u32, k: u32, capacity: u32, shift: impl Fn(u32, u32)) -> Option<u32> {
        let mut s = self.lock();
        loop {
            if row + k - s.top <= capacity {
                return Some(s.top);
            }
            if s.gone {
                return None;
            }
            let from = s.keep_from.min(row);
            if !s.reading && from > s.top {
                shift(from - s.top, row - s.top);
                s.top = from;
                continue;
            }
            s = self
                .changed
                .wait(s)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

/// Marks decoding stopped when dropped.
struct Closer<'a>(&'a Window);

impl Drop for Closer<'_> {
    fn drop(&mut self) {
        self.0.update(|s| s.stopped = true);
    }
}

/// Marks the resizer gone (holding no view) when dropped.
struct Gone<'a>(&'a Window);

impl Drop for Gone<'_> {
    fn drop(&mut self) {
        self.0.update(|s| {
            s.reading = false;
            s.gone = true;
        });
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
        fn rows(&mut self, band: MadeBand<'_>) -> Result<u32, ImageError> {
            self.calls += 1;
            if Some(self.calls) == self.fail_at {
                return Err(invalid("sink failed"));
            }
            self.rows.extend_from_slice(band.band(self.stride));
            Ok(0)
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
    ) -> Result<(Option<DynamicImage>, Option<Keep>), ImageError> {
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
            let got = got.unwrap();
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
