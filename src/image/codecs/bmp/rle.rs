//! Run-length encoded BMPs (`BI_RLE8`, `BI_RLE4`), walked as Chromium walks them
//! (`BMPImageReader::ProcessRLEData`): runs past the row's end are cut there; an absolute run
//! or a delta past it, or any code after the last row but the end-of-bitmap marker, is an
//! error; pixels that an end-of-line, delta or early end-of-bitmap skip are transparent (as
//! in Chromium and Firefox), not black or palette entry 0 as some decoders show them.

use super::header::Info;
use crate::image::ImageError;

/// What a walk found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Walked {
    /// Some pixel was skipped (and is transparent).
    pub skips: bool,
    /// The end-of-bitmap marker was there (it may be missing after the last row).
    pub marker: bool,
}

/// The decoded indices, canvas rows from the top, and which pixels were written (the others
/// are transparent), when some were skipped.
pub(super) struct Canvas {
    pub indices: Vec<u8>,
    pub written: Option<Vec<u64>>,
}

impl Canvas {
    pub(super) fn written(&self, at: usize) -> bool {
        self.written
            .as_ref()
            .is_none_or(|bits| bits[at / 64] & (1 << (at % 64)) != 0)
    }

    fn set(&mut self, at: usize, index: u8) {
        self.indices[at] = index;
        if let Some(bits) = self.written.as_mut() {
            bits[at / 64] |= 1 << (at % 64);
        }
    }
}

fn invalid(what: impl std::fmt::Display) -> ImageError {
    ImageError::Invalid(format!("cannot decode: BMP run-length data {what}"))
}

/// Walks the RLE data, writing into `canvas` when given (its `indices` sized width × height,
/// `written` present when the scan found skips). One pass over the codes; each writes at most
/// a row's pixels.
///
/// Errors (`Invalid`, naming the row): data cut short before the last row, an absolute run or
/// a delta past the row's end or the image's, codes after the last row.
pub(super) fn walk(
    bytes: &[u8],
    info: &Info,
    canvas: Option<&mut Canvas>,
) -> Result<Walked, ImageError> {
    let mut walker = Walker {
        bytes,
        info,
        x: 0,
        r: 0,
        pos: info.data,
        skips: false,
        canvas,
    };
    let (w, h) = (info.width as usize, info.height as usize);
    loop {
        let (x, r, pos) = (walker.x, walker.r, walker.pos);
        let Some(&[count, code]) = bytes.get(pos..pos + 2) else {
            return match r >= h {
                true => Ok(walker.walked(false)),
                false => Err(walker.cut()),
            };
        };
        if r >= h && (count, code) != (0, 1) {
            return Err(invalid(format!("goes on after the last row (byte {pos})")));
        }
        match (count, code) {
            (0, 0) => {
                walker.skips |= x < w;
                (walker.x, walker.r, walker.pos) = (0, r + 1, pos + 2);
            }
            (0, 1) => {
                walker.skips |= r < h && (x < w || r + 1 < h);
                return Ok(walker.walked(true));
            }
            (0, 2) => walker.delta()?,
            (0, n) => walker.absolute(usize::from(n))?,
            (count, index) => walker.run(usize::from(count), index),
        }
    }
}

/// Where a walk is: column `x` of stored row `r`, at byte `pos`.
struct Walker<'a, 'c> {
    bytes: &'a [u8],
    info: &'a Info,
    x: usize,
    r: usize,
    pos: usize,
    skips: bool,
    canvas: Option<&'c mut Canvas>,
}

impl Walker<'_, '_> {
    fn walked(&self, marker: bool) -> Walked {
        Walked {
            skips: self.skips,
            marker,
        }
    }

    fn cut(&self) -> ImageError {
        invalid(format!(
            "cut short at row {} of {}",
            self.r, self.info.height
        ))
    }

    /// Sets pixel `x` of the current row, when writing.
    fn set(&mut self, x: usize, index: u8) {
        let (w, h) = (self.info.width as usize, self.info.height as usize);
        let y = if self.info.top_down {
            self.r
        } else {
            h - 1 - self.r
        };
        if let Some(canvas) = self.canvas.as_deref_mut() {
            canvas.set(y * w + x, index);
        }
    }

    /// A delta: skips `dx` pixels and `dy` rows (transparent).
    fn delta(&mut self) -> Result<(), ImageError> {
        let Some(&[dx, dy]) = self.bytes.get(self.pos + 2..self.pos + 4) else {
            return Err(self.cut());
        };
        let (dx, dy) = (usize::from(dx), usize::from(dy));
        self.skips |= dx != 0 || dy != 0;
        if self.x + dx > self.info.width as usize || self.r + dy >= self.info.height as usize {
            return Err(invalid(format!("moves past the image at row {}", self.r)));
        }
        (self.x, self.r, self.pos) = (self.x + dx, self.r + dy, self.pos + 4);
        Ok(())
    }

    /// An absolute run of `n` indices, padded to 16 bits; it may not pass the row's end.
    fn absolute(&mut self, n: usize) -> Result<(), ImageError> {
        let rle4 = self.info.bits == 4;
        let len = if rle4 { n.div_ceil(2) } else { n };
        let Some(data) = self.bytes.get(self.pos + 2..self.pos + 2 + len) else {
            return Err(self.cut());
        };
        let (x, w) = (self.x, self.info.width as usize);
        if x + n > w {
            return Err(invalid(format!(
                "has {n} pixels at column {x} of row {}, past its end ({w})",
                self.r
            )));
        }
        if self.canvas.is_some() {
            for i in 0..n {
                let index = match rle4 {
                    true => (data[i / 2] >> (4 * (1 - i % 2))) & 0xF,
                    false => data[i],
                };
                self.set(x + i, index);
            }
        }
        (self.x, self.pos) = (x + n, self.pos + 2 + len + len % 2);
        Ok(())
    }

    /// An encoded run of `count` pixels (RLE4: two indices alternating), cut at the row's end.
    fn run(&mut self, count: usize, index: u8) {
        let end = (self.x + count).min(self.info.width as usize);
        if self.canvas.is_some() {
            let pair = match self.info.bits == 4 {
                true => [index >> 4, index & 0xF],
                false => [index, index],
            };
            for (i, x) in (self.x..end).enumerate() {
                self.set(x, pair[i % 2]);
            }
        }
        (self.x, self.pos) = (end, self.pos + 2);
    }
}
