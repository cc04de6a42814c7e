//! Decoding and resizing at once: a decoder decodes rows in order while a second thread
//! resizes the rows already decoded (`scanlines`).
//!
//! The decoder fills chunks of rows and sends them, through a bounded queue, to the resizing
//! thread, which keeps the rows its next bands reach in a window of its own and hands each
//! chunk's buffer back for the decoder to refill. Nothing is shared but the queue: no lock,
//! no `unsafe`. Each decoded row is copied once more than it would be in a buffer both threads
//! write and read (measured: under 2 % of the 16 MP photo's image stage, issue 26).

use std::sync::mpsc::{channel, sync_channel, Receiver, Sender};

use image::{ColorType, DynamicImage, GrayImage, RgbImage};

use crate::image::error::{invalid, ImageError};
use crate::image::pixels::resize::{band_reach, resize_arriving, MadeBand, Reach, RowSource};

/// Rows the decoder hands the resizing thread per chunk (libjpeg makes 8 or 16 at a time).
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
/// Resizing, the decoded rows never make a full-size image: the resizer's window holds the rows
/// its next bands reach, and the decoder runs ahead of it by at most a few bands' worth of
/// chunks (`ahead_rows`). For the 16 MP seeding photo at 4/8 that is about 5 MB instead of
/// 11.9 MB, for a 12 MP baseline photo at full scale about 13 MB instead of 36.5 MB (and as
/// many fewer pages for the kernel to fault in and zero). A `progressive` file's rows come from
/// libjpeg's output pass over coefficients it already holds (inverse DCT and colour conversion
/// only): that decoder keeps ahead with a band less (`PROGRESSIVE_AHEAD_BANDS`), while the
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
        true => PROGRESSIVE_AHEAD_BANDS,
        false => AHEAD_BANDS,
    };
    let ahead = ahead_rows(h, th, bands);
    let (chunks, arriving) = sync_channel::<Vec<u8>>(ahead.div_ceil(CHUNK_ROWS) as usize);
    let (back, spare) = channel::<Vec<u8>>();
    let (decoded, resized) = std::thread::scope(|scope| {
        let resizer = scope.spawn(move || {
            let mut sink = sink.map(|make| make()).transpose()?;
            let mut window = Window::new(stride, band_reach(h, th) + CHUNK_ROWS, arriving, back);
            let made = resize_arriving::<P>(
                (w, h),
                DynamicImage::new(tw, th, color),
                &mut window,
                &mut |band| sink.as_mut().map_or(Ok(()), |s| s.rows(band)),
            )?;
            Ok((made, sink))
        });
        // `Err(None)`: the resizer ended first (its own error says why).
        let decoded = (|| -> Result<(), Option<ImageError>> {
            let mut row = 0;
            while row < h {
                let k = CHUNK_ROWS.min(h - row);
                let mut chunk = spare.try_recv().unwrap_or_default();
                chunk.resize(k as usize * stride, 0);
                read(&mut chunk).map_err(Some)?;
                chunks.send(chunk).map_err(|_| None)?;
                row += k;
            }
            Ok(())
        })();
        // The resizer sees the queue end, whether decoding finished, failed or unwound.
        drop(chunks);
        let resized = resizer
            .join()
            .unwrap_or_else(|_| Err(ImageError::Internal("resizing thread panicked".into())));
        (decoded, resized)
    });
    // A decoding error is the cause when both failed; when the resizer failed first (the
    // decoder then found the queue closed), its error.
    match decoded {
        Ok(()) => resized,
        Err(Some(e)) => Err(e),
        Err(None) => Err(resized
            .err()
            .unwrap_or_else(|| ImageError::Internal("resizing stopped early".into()))),
    }
}

/// `scanlines` with no sink: all `w`×`h` pixels of 8-bit gray (`L8`) or RGB (`Rgb8`) rows
/// read by `read` (top to bottom, whole rows), resized to `to` while they arrive. The decoders
/// of `codecs::rows` (TIFF, GIF, BMP, HEIF) feed it. Errors: `read`'s; `Internal` for another layout.
pub(in crate::image) fn resize_rows(
    size: (u32, u32),
    color: ColorType,
    to: (u32, u32),
    read: impl FnMut(&mut [u8]) -> Result<(), ImageError>,
) -> Result<DynamicImage, ImageError> {
    use fast_image_resize::pixels::{U8x3, U8};
    let none = None::<fn() -> Result<NoSink, ImageError>>;
    let (image, _) = match color {
        ColorType::L8 => scanlines::<U8, _>(size, color, Some(to), false, none, read)?,
        ColorType::Rgb8 => scanlines::<U8x3, _>(size, color, Some(to), false, none, read)?,
        other => {
            return Err(ImageError::Internal(format!(
                "rows of {other:?} are not resized as they arrive"
            )))
        }
    };
    Ok(image)
}

/// The sink of `resize_rows`: takes nothing.
struct NoSink;

impl RowSink for NoSink {
    fn rows(&mut self, _: MadeBand<'_>) -> Result<(), ImageError> {
        Ok(())
    }
}

/// Bands' worth of decoded rows the decoder may run ahead of the resizer, in chunks queued to
/// it (with the window's own band, the four bands the window held before issue 26: with two in
/// all, the decoder waited on the resizer, 25 % slower; with three, a baseline photo turned by
/// EXIF 8 ms slower of 130).
const AHEAD_BANDS: f64 = 3.0;

/// The same for a progressive JPEG's rows (see `scanlines`). Measured with `variants`,
/// hyperfine medians of 20 runs, three batches: 12 MP sunset at full scale 253/277/250 ms
/// with four bands in all, 256/256/258 with three; peak RSS 79.3 → 76.4 MB (2 bands: 73.5 MB,
/// but 3–5 % slower).
const PROGRESSIVE_AHEAD_BANDS: f64 = 2.0;

/// Rows the decoder may have decoded ahead of the resizer: `bands` bands' reach, at most the
/// image.
fn ahead_rows(h: u32, th: u32, bands: f64) -> u32 {
    ((bands * f64::from(band_reach(h, th))) as u32)
        .max(CHUNK_ROWS)
        .min(h)
}

/// The resizer's window of decoded rows: the rows from `top` on, filled from the decoder's
/// chunks as the bands ask for them, the rows no band will reach again dropped when there is
/// no room for the next chunk.
struct Window {
    rows: Vec<u8>,
    /// Bytes per row.
    stride: usize,
    /// The image row at the start of `rows`.
    top: u32,
    /// The first row a band may still ask for.
    keep_from: u32,
    /// Rows `rows` holds before dropping any (a band's reach and a chunk).
    room: u32,
    arriving: Receiver<Vec<u8>>,
    /// Chunk buffers back to the decoder.
    back: Sender<Vec<u8>>,
}

impl RowSource for Window {
    /// The decoded rows from the window's first (returned with it) holding those `reach`
    /// names, waiting for the decoder as needed; an error if decoding stopped before. Rows
    /// above `reach.first` are not asked for again.
    fn rows(&mut self, reach: Reach) -> Result<(&[u8], u32), ImageError> {
        self.keep_from = self.keep_from.max(reach.first);
        while self.end() < reach.end {
            let chunk = self
                .arriving
                .recv()
                .map_err(|_| invalid("decoding stopped early"))?;
            let chunk_rows = (chunk.len() / self.stride.max(1)) as u32;
            if self.end() - self.top + chunk_rows > self.room {
                // The rows no band will reach again go; the rest move to the window's start.
                let top = self.keep_from.min(self.end());
                self.rows.drain(..(top - self.top) as usize * self.stride);
                self.top = top;
            }
            self.rows.extend_from_slice(&chunk);
            // The decoder may be gone already: the buffer is then freed.
            let _ = self.back.send(chunk);
        }
        Ok((&self.rows, self.top))
    }
}

impl Window {
    fn new(stride: usize, room: u32, arriving: Receiver<Vec<u8>>, back: Sender<Vec<u8>>) -> Self {
        Window {
            rows: Vec::with_capacity(room as usize * stride),
            stride,
            top: 0,
            keep_from: 0,
            room,
            arriving,
            back,
        }
    }

    /// The image row after the window's last.
    fn end(&self) -> u32 {
        self.top + (self.rows.len() / self.stride.max(1)) as u32
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
            ahead_rows(6001, 1999, AHEAD_BANDS) < 6001 / 2,
            "the decoder runs ahead by part of the image"
        );
        assert!(
            ahead_rows(6001, 1999, PROGRESSIVE_AHEAD_BANDS) < ahead_rows(6001, 1999, AHEAD_BANDS)
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
