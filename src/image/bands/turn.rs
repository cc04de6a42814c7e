//! A turned JPEG's largest variant (EXIF orientation 2–8: every portrait photo a phone takes)
//! turned upright band by band for its encoder, the next size down resized from the same
//! bands, so that the upright variant is never whole.
//!
//! A baseline file's variant comes from the decode as `Strips`: the resizing thread writes
//! each row it makes into the strips of the stored image that turn into the upright image's
//! bands (64 stored columns each for a quarter turn, 64 rows for a flip). Each strip's memory
//! is handed back once it is turned (`release`), while the encoder's DCT coefficients grow
//! by about as many bytes: the two are never whole together. Otherwise (a progressive file,
//! or pixels converted after the decode: CMYK, an applied profile) the bands are turned from
//! the whole stored image.

use fast_image_resize::pixels::{U8x3, U8};
use fast_image_resize::PixelTrait;
use image::metadata::Orientation;
use image::{ColorType, DynamicImage};

use crate::image::bands::queue::{Band, BandPool};
use crate::image::bands::window::RowSink;
use crate::image::error::ImageError;
use crate::image::pixels::orient::{turn_into, upright_size};
use crate::image::pixels::resize::{band_reach, Cascade, MadeBand, BAND_ROWS};

/// Upright rows per band (and so per strip): a band of a 1600 px RGB `large` is 300 KB.
const STRIP_ROWS: usize = 64;

/// The upright rows of band `k` of an image `height` rows high: `STRIP_ROWS` of them, the
/// last band fewer.
fn band_rows(k: usize, height: usize) -> std::ops::Range<usize> {
    k * STRIP_ROWS..((k + 1) * STRIP_ROWS).min(height)
}

/// A stored image of 8-bit gray or RGB pixels kept as the strips that each turn into one band
/// of `STRIP_ROWS` upright rows, one after the other in one buffer.
pub(in crate::image) struct Strips {
    bytes: Vec<u8>,
    /// Width and height as stored, in pixels.
    stored: (usize, usize),
    /// Bytes per pixel: 1 or 3.
    n: usize,
    orientation: Orientation,
    /// Stored rows written so far (`write_rows`).
    written: usize,
}

impl Strips {
    /// Room for a `stored` image (width, height) of `color` pixels (8-bit gray or RGB) to be
    /// turned by `orientation`.
    pub(in crate::image) fn new(
        stored: (u32, u32),
        color: ColorType,
        orientation: Orientation,
    ) -> Result<Strips, ImageError> {
        let n = usize::from(color.bytes_per_pixel());
        if !matches!(color, ColorType::L8 | ColorType::Rgb8) {
            return Err(ImageError::Internal(format!(
                "cannot keep {color:?} pixels in strips"
            )));
        }
        let stored = (stored.0 as usize, stored.1 as usize);
        Ok(Strips {
            bytes: vec![0u8; stored.0 * stored.1 * n],
            stored,
            n,
            orientation,
            written: 0,
        })
    }

    /// A quarter turn: the upright rows are stored columns, and the strips column ranges.
    fn across(&self) -> bool {
        matches!(
            self.orientation,
            Orientation::Rotate90
                | Orientation::Rotate270
                | Orientation::Rotate90FlipH
                | Orientation::Rotate270FlipH
        )
    }

    fn upright(&self) -> (usize, usize) {
        upright_size(self.stored, self.orientation)
    }

    fn count(&self) -> usize {
        self.upright().1.div_ceil(STRIP_ROWS)
    }

    /// The strips, once every stored row has been written; an error if rows are missing.
    pub(in crate::image) fn complete(self) -> Result<Strips, ImageError> {
        if self.written != self.stored.1 {
            return Err(ImageError::Internal(format!(
                "{} of {} rows split into strips",
                self.written, self.stored.1
            )));
        }
        Ok(self)
    }

    /// The stored columns and rows of strip `k` (band `k` of the upright image, its rows
    /// `a..b`): where `orient`'s maps take those upright rows from.
    fn extent(&self, k: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        use Orientation as O;
        let (w, h) = self.stored;
        let std::ops::Range { start: a, end: b } = band_rows(k, self.upright().1);
        match self.orientation {
            O::Rotate90 | O::Rotate90FlipH => (a..b, 0..h),
            O::Rotate270 | O::Rotate270FlipH => (w - b..w - a, 0..h),
            O::Rotate180 | O::FlipVertical => (0..w, h - b..h - a),
            O::NoTransforms | O::FlipHorizontal => (0..w, a..b),
        }
    }

    /// Where strip `k` starts in `bytes`: every strip before it is whole.
    fn offset(&self, k: usize) -> usize {
        let across = if self.across() {
            self.stored.1
        } else {
            self.stored.0
        };
        k * STRIP_ROWS * across * self.n
    }

    /// Writes stored rows `first..` (`rows`, whole rows) into their strips.
    fn write_rows(&mut self, first: usize, rows: &[u8]) -> Result<(), ImageError> {
        let stride = self.stored.0 * self.n;
        let count = rows.len() / stride.max(1);
        if first != self.written || first + count > self.stored.1 {
            return Err(ImageError::Internal(format!(
                "stored rows {first}..{} out of order (next {})",
                first + count,
                self.written
            )));
        }
        let n = self.n;
        for (i, row) in rows.chunks_exact(stride).enumerate() {
            let y = first + i;
            if self.across() {
                // One piece of the row per strip, at row `y` of each.
                for k in 0..self.count() {
                    let (cols, _) = self.extent(k);
                    let at = self.offset(k) + y * cols.len() * n;
                    self.bytes[at..at + cols.len() * n]
                        .copy_from_slice(&row[cols.start * n..cols.end * n]);
                }
            } else {
                // The upright row this stored row becomes, and so its strip.
                let upright = match self.orientation {
                    Orientation::Rotate180 | Orientation::FlipVertical => self.stored.1 - 1 - y,
                    _ => y,
                };
                let k = upright / STRIP_ROWS;
                let at = self.offset(k) + (y - self.extent(k).1.start) * stride;
                self.bytes[at..at + stride].copy_from_slice(row);
            }
        }
        self.written += count;
        Ok(())
    }

    /// Band `k` of the upright image, turned from strip `k` into `out` (its size).
    fn turn(&self, k: usize, out: &mut [u8]) {
        let (cols, rows) = self.extent(k);
        let at = self.offset(k);
        let strip = &self.bytes[at..at + cols.len() * rows.len() * self.n];
        turn_into(
            strip,
            (cols.len(), rows.len()),
            self.n,
            self.orientation,
            out,
        );
    }

    /// Hands strip `k`'s memory back (`release`): it is not read again.
    fn release(&mut self, k: usize) {
        let (cols, rows) = self.extent(k);
        let at = self.offset(k);
        crate::image::bands::release::release(
            &mut self.bytes[at..at + cols.len() * rows.len() * self.n],
        );
    }
}

/// The resizing thread's sink for the largest variant's rows as they are made: each written
/// into its strips, none held by the resize itself.
impl RowSink for Strips {
    fn rows(&mut self, band: MadeBand<'_>) -> Result<u32, ImageError> {
        let stride = self.stored.0 * self.n;
        self.write_rows(band.first as usize, band.band(stride))?;
        Ok(u32::MAX)
    }

    /// Each band is copied out as it is made: a window of one band is enough.
    fn window(&self) -> Option<u32> {
        Some(BAND_ROWS)
    }
}

/// Where a turned variant's upright bands come from.
pub(in crate::image) enum Stored<'a> {
    /// Strips, each handed back once turned.
    Strips(Strips),
    /// A whole stored image of 8-bit gray or RGB pixels, and the turn to make.
    Whole(&'a DynamicImage, Orientation),
}

impl Stored<'_> {
    /// 8-bit gray pixels (otherwise RGB).
    pub(in crate::image) fn gray(&self) -> bool {
        match self {
            Stored::Strips(strips) => strips.n == 1,
            Stored::Whole(image, _) => image.color() == ColorType::L8,
        }
    }

    /// The upright size (width, height).
    fn upright(&self) -> (usize, usize) {
        match self {
            Stored::Strips(strips) => strips.upright(),
            Stored::Whole(image, orientation) => upright_size(
                (image.width() as usize, image.height() as usize),
                *orientation,
            ),
        }
    }

    /// The upright rows of band `k`.
    fn rows(&self, k: usize) -> std::ops::Range<usize> {
        band_rows(k, self.upright().1)
    }

    /// Band `k` (`rows(k)`), turned into `out` (its size).
    fn turn(&self, k: usize, out: &mut [u8]) -> Result<(), ImageError> {
        match self {
            Stored::Strips(strips) => strips.turn(k, out),
            Stored::Whole(image, orientation) => {
                if !crate::image::pixels::orient::band(image, *orientation, self.rows(k), out) {
                    return Err(ImageError::Internal(format!(
                        "cannot turn {:?} pixels band by band",
                        image.color()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Band `k` is turned: strips hand its memory back.
    fn done(&mut self, k: usize) {
        if let Stored::Strips(strips) = self {
            strips.release(k);
        }
    }
}

/// Turns `stored` (8-bit gray or RGB) upright band by band, top to bottom: each band goes to
/// `send` (the encoder, which may stop taking them: `send` then returns false and turning
/// stops early, with no next size) and to a resize to `next` (the next size down, upright),
/// which comes back when every band went through.
pub(in crate::image) fn turn_bands(
    stored: Stored<'_>,
    next: Option<(u32, u32)>,
    send: impl FnMut(Band) -> bool,
) -> Result<Option<DynamicImage>, ImageError> {
    match stored.gray() {
        true => turn_typed::<U8>(stored, next, send),
        false => turn_typed::<U8x3>(stored, next, send),
    }
}

/// `turn_bands` for pixels `P`.
fn turn_typed<P: PixelTrait>(
    mut stored: Stored<'_>,
    next: Option<(u32, u32)>,
    mut send: impl FnMut(Band) -> bool,
) -> Result<Option<DynamicImage>, ImageError> {
    let (w, h) = stored.upright();
    let stride = w * std::mem::size_of::<P>();
    let color = match std::mem::size_of::<P>() {
        1 => ColorType::L8,
        _ => ColorType::Rgb8,
    };
    let size = (w as u32, h as u32);
    // The upright rows `next` may still reach, from row `top`, with each band turned below
    // them: room for two of its bands' reach and a band, so that the rows no longer needed
    // are dropped (the rest moved up) only every few bands.
    let room = next.map_or(STRIP_ROWS, |(_, to_h)| {
        2 * band_reach(size.1, to_h) as usize + STRIP_ROWS
    });
    let mut next = next
        .map(|to| Cascade::<P>::new(size, to, color))
        .transpose()?;
    let mut held = Vec::with_capacity(room * stride);
    let (mut top, mut keep) = (0u32, 0u32);
    let pool = BandPool::new();
    for k in 0..h.div_ceil(STRIP_ROWS) {
        let rows = stored.rows(k);
        let band = rows.len() * stride;
        if held.len() + band > held.capacity() {
            held.drain(..(keep - top) as usize * stride);
            top = keep;
        }
        let start = held.len();
        held.resize(start + band, 0);
        stored.turn(k, &mut held[start..])?;
        stored.done(k);
        if !send(pool.copy_of(&held[start..])) {
            return Ok(None);
        }
        let Some(cascade) = next.as_mut() else {
            (top, keep) = (rows.end as u32, rows.end as u32);
            held.clear();
            continue;
        };
        let first = rows.start as u32;
        cascade.push(
            MadeBand {
                rows: &held,
                top,
                first,
            },
            &mut |_| Ok(0),
        )?;
        keep = cascade.needs_from().unwrap_or(rows.end as u32).max(top);
    }
    next.map(Cascade::finish).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::pixels::{resize, Pixels};

    /// 700×97 pixels: 64-row bands cut either way, with a short last one; turned a quarter,
    /// 11 bands, enough for the rows the next size needs to be dropped and moved up.
    fn stored(gray: bool) -> DynamicImage {
        let rgb = image::RgbImage::from_fn(700, 97, |x, y| {
            image::Rgb([(x * 7) as u8, (y * 5) as u8, ((x * y) % 251) as u8])
        });
        match gray {
            true => DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(rgb).to_luma8()),
            false => DynamicImage::ImageRgb8(rgb),
        }
    }

    /// `image`'s rows written into strips in uneven bands, as the resizer hands them on.
    fn split(image: &DynamicImage, orientation: Orientation) -> Strips {
        let size = (image.width(), image.height());
        let mut s = Strips::new(size, image.color(), orientation).unwrap();
        let stride = image.width() as usize * usize::from(image.color().bytes_per_pixel());
        for (top, end) in [(0usize, 5usize), (5, 70), (70, 97)] {
            let rows = &image.as_bytes()[top * stride..end * stride];
            s.write_rows(top, rows).unwrap();
        }
        s.complete().unwrap()
    }

    #[test]
    fn turned_from_strips_or_whole_the_bands_make_the_upright_image_and_its_next_size() {
        for gray in [true, false] {
            let image = stored(gray);
            for value in 1..=8 {
                let orientation = Orientation::from_exif(value).unwrap();
                let mut upright = image.clone();
                upright.apply_orientation(orientation);
                // Half: the rows it needs are dropped once on the way down (a quarter turn).
                let next = (upright.width() / 2, upright.height() / 2);
                let Pixels::Image(want_next) =
                    resize(&Pixels::Image(upright.clone()), next.0, next.1, false).unwrap()
                else {
                    unreachable!("an image stays an image")
                };
                let from_strips = Stored::Strips(split(&image, orientation));
                for from in [from_strips, Stored::Whole(&image, orientation)] {
                    let mut joined = Vec::new();
                    let made = turn_bands(from, Some(next), |band| {
                        joined.extend_from_slice(&band);
                        true
                    })
                    .unwrap()
                    .unwrap();
                    assert!(
                        joined == upright.as_bytes(),
                        "orientation {value}, gray {gray}"
                    );
                    assert!(
                        made.as_bytes() == want_next.as_bytes(),
                        "next size, orientation {value}, gray {gray}"
                    );
                }
            }
        }
    }

    #[test]
    fn bands_turned_from_strips_encode_to_the_upright_images_bytes() {
        use crate::image::codecs::jpeg::{encode, encode_bands};
        let icc = Some(&b"not really a profile"[..]);
        for gray in [true, false] {
            let image = stored(gray);
            for value in [3, 6, 8] {
                let orientation = Orientation::from_exif(value).unwrap();
                let mut upright = image.clone();
                upright.apply_orientation(orientation);
                let want = encode(&upright, 80, icc).unwrap();
                let mut bands = Vec::new();
                let from = Stored::Strips(split(&image, orientation));
                turn_bands(from, None, |band| {
                    bands.push(band);
                    true
                })
                .unwrap();
                let size = (upright.width(), upright.height());
                let got = encode_bands(size, gray, 80, icc, bands).unwrap();
                assert!(got == want, "orientation {value}, gray {gray}");
            }
        }
    }

    #[test]
    fn turning_stops_when_the_encoder_does() {
        let image = stored(false);
        let mut sent = 0;
        let made = turn_bands(
            Stored::Strips(split(&image, Orientation::Rotate90)),
            Some((32, 233)),
            |_| {
                sent += 1;
                false
            },
        );
        assert!(matches!(made, Ok(None)));
        assert_eq!(sent, 1);
    }

    #[test]
    fn rows_out_of_order_or_missing_are_an_error() {
        let image = stored(false);
        let stride = 700 * 3;
        let mut s = Strips::new((700, 97), ColorType::Rgb8, Orientation::Rotate90).unwrap();
        assert!(s.write_rows(5, &image.as_bytes()[..stride]).is_err());
        s.write_rows(0, &image.as_bytes()[..stride]).unwrap();
        assert!(s.complete().is_err());
        let rgba = Strips::new((4, 4), ColorType::Rgba8, Orientation::Rotate90);
        assert!(rgba.is_err());
    }
}
