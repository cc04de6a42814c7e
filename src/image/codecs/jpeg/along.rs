//! A JPEG's largest variant (and the next size down) encoded while the file is still being
//! decoded (the plan's `Route::EncodeAlong`: an upright baseline JPEG whose colours are kept):
//! the resizing thread hands each band of rows it makes to an encoding thread of its own through
//! a short queue, and resizes the next size from the same rows (`Cascade`). Three threads share
//! the two cores (decoding, resizing, encoding); with the encodes on the resizing thread it was
//! the slowest of the two, and the decoder waited for room in its window.

use image::{ColorType, DynamicImage};
use mozjpeg::ColorSpace;

use super::encode::{Encoding, RowEncoder};
use super::libjpeg::guard;
use crate::image::bands::queue::{band_queue, BandSender};
use crate::image::bands::window::RowSink;
use crate::image::error::ImageError;
use crate::image::pixels::resize::{Cascade, MadeBand};

/// What to encode while the file decodes: the same settings and bytes as `encode` on the
/// whole image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::image) struct EncodeAlong<'a> {
    pub quality: u8,
    /// The profile the variants carry (the plan's colour decision, made before decoding).
    pub icc: Option<&'a [u8]>,
    /// The next size down (width, height), resized from the largest's rows as they are made
    /// and encoded the same way.
    pub next: Option<(u32, u32)>,
}

/// The largest variant's encoding, made while the file decoded (all but the encoder's last
/// pass, `Encoding::finish`), and the next size's pixels and encoding.
pub(in crate::image) struct EncodedAlong {
    pub largest: Encoding,
    pub next: Option<(DynamicImage, Encoding)>,
}

/// The resizing thread's sink for the largest variant's rows as they are made: resizes them to
/// the next size (`Cascade`) and hands both sizes' rows to the encoding thread through a short
/// queue.
pub(super) struct EncodingAlong<P> {
    /// Bytes per row of the largest variant.
    stride: usize,
    /// The next size's resize and its bytes per row.
    next: Option<(Cascade<P>, usize)>,
    /// Rows for the encoders: the largest variant's (`false`) or the next size's (`true`).
    rows: Option<BandSender<bool>>,
    encoders: Option<std::thread::JoinHandle<Encoders>>,
}

/// The encoding thread's result: the largest variant's encoder and the next size's, each with
/// every row written.
type Encoders = Result<(RowEncoder, Option<RowEncoder>), ImageError>;

impl<P: fast_image_resize::PixelTrait> EncodingAlong<P> {
    /// Starts the encoding thread for `size` (and `e.next`), `gray` or RGB pixels.
    pub(super) fn start(
        e: EncodeAlong<'_>,
        size: (u32, u32),
        gray: bool,
    ) -> Result<EncodingAlong<P>, ImageError> {
        let (space, color) = if gray {
            (ColorSpace::JCS_GRAYSCALE, ColorType::L8)
        } else {
            (ColorSpace::JCS_RGB, ColorType::Rgb8)
        };
        let pixel = std::mem::size_of::<P>();
        let next = match e.next {
            Some(next) => Some((Cascade::new(size, next, color)?, next.0 as usize * pixel)),
            None => None,
        };
        let (quality, icc, next_size) = (e.quality, e.icc.map(<[u8]>::to_vec), e.next);
        let (rows, queue) = band_queue::<bool>();
        let encoders = std::thread::Builder::new()
            .name("encode".into())
            .spawn(move || -> Encoders {
                let start = |size| {
                    guard(
                        |m| RowEncoder::fail(&m),
                        || RowEncoder::start(size, space, gray, quality, icc.as_deref()),
                    )
                };
                let mut largest = start(size)?;
                let mut next = next_size.map(start).transpose()?;
                for (is_next, rows) in queue {
                    let encoder = match (is_next, next.as_mut()) {
                        (true, Some(e)) => e,
                        _ => &mut largest,
                    };
                    guard(|m| RowEncoder::fail(&m), || encoder.write(&rows))?;
                }
                Ok((largest, next))
            })
            .map_err(|e| ImageError::Internal(format!("cannot start an encoding thread: {e}")))?;
        Ok(EncodingAlong {
            stride: size.0 as usize * pixel,
            next,
            rows: Some(rows),
            encoders: Some(encoders),
        })
    }

    /// The encoding thread's result, once it has every row (or has failed). Closing the
    /// queue first lets the thread end.
    fn join(&mut self) -> Encoders {
        self.rows = None;
        self.encoders
            .take()
            .ok_or_else(|| ImageError::Internal("encoding thread already joined".into()))?
            .join()
            .unwrap_or_else(|_| Err(ImageError::Internal("encoding thread panicked".into())))
    }

    /// The largest variant's encoding, and the next size's pixels and encoding.
    pub(super) fn finish(mut self) -> Result<EncodedAlong, ImageError> {
        let (largest, next_encoder) = self.join()?;
        let next = match (self.next.take(), next_encoder) {
            (Some((cascade, _)), Some(encoder)) => Some((cascade.finish()?, Encoding(encoder))),
            _ => None,
        };
        Ok(EncodedAlong {
            largest: Encoding(largest),
            next,
        })
    }

    /// The encoding thread's error, after it stopped taking rows.
    fn stopped(&mut self) -> ImageError {
        self.join()
            .err()
            .unwrap_or_else(|| ImageError::Internal("encoding thread stopped".into()))
    }
}

/// On an error path (decoding or resizing failed, `finish` never called), the encoding thread
/// is still joined: it ends with its queue, and its buffers (~14 MB for a 2400 px `large`) are
/// not left behind the failed decode.
impl<P> Drop for EncodingAlong<P> {
    fn drop(&mut self) {
        self.rows = None;
        if let Some(thread) = self.encoders.take() {
            let _ = thread.join();
        }
    }
}

/// Queues a copy of `rows` for an encoder (`is_next`: the next size's); false if the encoding
/// thread has stopped.
fn queue(to: &Option<BandSender<bool>>, is_next: bool, rows: &[u8]) -> bool {
    to.as_ref().is_some_and(|q| q.send_copy(is_next, rows))
}

impl<P: fast_image_resize::PixelTrait> RowSink for EncodingAlong<P> {
    fn rows(&mut self, band: MadeBand<'_>) -> Result<(), ImageError> {
        if !queue(&self.rows, false, band.band(self.stride)) {
            return Err(self.stopped());
        }
        let mut sent = true;
        if let Some((cascade, stride)) = &mut self.next {
            let to = &self.rows;
            cascade.push(band, &mut |next| {
                sent = sent && queue(to, true, next.band(*stride));
                Ok(())
            })?;
        }
        if !sent {
            return Err(self.stopped());
        }
        Ok(())
    }
}
