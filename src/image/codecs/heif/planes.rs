//! Decoded YCbCr planes (heic-rs's `Frame`: one `u16` a sample, any depth) cut and joined
//! along rows or columns: a grid's tiles composed into a strip, a strip's first or last lines
//! kept for the next one, a decoded picture cut to the size its container declares.

use heic_rs::grid::{self, Grid};
use heic_rs::hevc::{ChromaFormat, Frame};

use super::from_heic_rs;
use crate::image::ImageError;

/// Which lines a strip is made of: rows (tile rows, walked down or up) or columns (tile
/// columns, walked right or left, for a picture turned a quarter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Axis {
    Rows,
    Columns,
}

impl Axis {
    /// The frame's extent along this axis (lines) and across it (samples a line).
    pub fn extent(self, f: &Frame) -> (u32, u32) {
        match self {
            Axis::Rows => (f.height, f.width),
            Axis::Columns => (f.width, f.height),
        }
    }

    /// The extent along this axis of an image of `width` × `height`.
    pub fn extent_of(self, (width, height): (u32, u32)) -> u32 {
        match self {
            Axis::Rows => height,
            Axis::Columns => width,
        }
    }

    /// True when chroma is subsampled along this axis: each chroma line then serves two
    /// lines, and a line's colour depends on the chroma line before or after it.
    pub fn subsampled(self, chroma: ChromaFormat) -> bool {
        match self {
            Axis::Rows => chroma.y_shift() == 1,
            Axis::Columns => chroma.x_shift() == 1,
        }
    }
}

/// A picture decoded at least `declared` (width × height) cut to exactly that size, top-left
/// kept (an encoder codes whole blocks).
///
/// Errors: a picture smaller than declared (`Invalid`).
pub(super) fn fit(frame: Frame, declared: (u32, u32)) -> Result<Frame, ImageError> {
    let (w, h) = declared;
    if frame.width < w || frame.height < h {
        return Err(ImageError::Invalid(format!(
            "HEIF picture decoded as {}x{}, smaller than its declared {w}x{h}",
            frame.width, frame.height
        )));
    }
    if (frame.width, frame.height) == declared {
        return Ok(frame);
    }
    Ok(crop(&frame, 0, 0, w, h))
}

/// The luma plane alone (an alpha item's samples), as a monochrome frame.
pub(super) fn luma_only(frame: Frame) -> Frame {
    Frame {
        chroma: ChromaFormat::Monochrome,
        cb: Vec::new(),
        cr: Vec::new(),
        c_stride: 0,
        ..frame
    }
}

/// Lines `from..to` of `f` along `axis`; `from` is even where chroma is subsampled.
pub(super) fn lines(f: &Frame, axis: Axis, from: u32, to: u32) -> Frame {
    match axis {
        Axis::Rows => crop(f, 0, from, f.width, to - from),
        Axis::Columns => crop(f, from, 0, to - from, f.height),
    }
}

/// The `w` × `h` rectangle of `f` at (`x`, `y`), packed; `x` and `y` are even where chroma is
/// subsampled that way.
fn crop(f: &Frame, x: u32, y: u32, w: u32, h: u32) -> Frame {
    let plane = |src: &[u16], stride: u32, (x, y, w, h): (u32, u32, u32, u32)| {
        let mut out = Vec::with_capacity(w as usize * h as usize);
        for r in y..y + h {
            let s = r as usize * stride as usize + x as usize;
            out.extend_from_slice(&src[s..s + w as usize]);
        }
        out
    };
    let (xs, ys) = (f.chroma.x_shift(), f.chroma.y_shift());
    let (cw, ch) = f.chroma.chroma_size(w, h);
    let c_rect = (x >> xs, y >> ys, cw, ch);
    let mono = f.chroma == ChromaFormat::Monochrome;
    Frame {
        width: w,
        height: h,
        bit_depth: f.bit_depth,
        chroma: f.chroma,
        y: plane(&f.y, f.y_stride, (x, y, w, h)),
        cb: if mono {
            Vec::new()
        } else {
            plane(&f.cb, f.c_stride, c_rect)
        },
        cr: if mono {
            Vec::new()
        } else {
            plane(&f.cr, f.c_stride, c_rect)
        },
        y_stride: w,
        c_stride: cw,
    }
}

/// `a` followed by `b` along `axis` (both packed, the same size across it and the same
/// format; `a`'s extent along the axis is even where chroma is subsampled).
pub(super) fn join(a: &Frame, b: &Frame, axis: Axis) -> Frame {
    let (aw, ah, bw, bh) = (a.width, a.height, b.width, b.height);
    let (w, h) = match axis {
        Axis::Rows => (aw, ah + bh),
        Axis::Columns => (aw + bw, ah),
    };
    let (cw, _) = a.chroma.chroma_size(w, h);
    let plane = |pa: &[u16], pb: &[u16], wa: usize, wb: usize| -> Vec<u16> {
        match axis {
            Axis::Rows => [pa, pb].concat(),
            Axis::Columns if wa == 0 => Vec::new(),
            Axis::Columns => {
                let mut out = Vec::with_capacity(pa.len() + pb.len());
                for (ra, rb) in pa.chunks_exact(wa).zip(pb.chunks_exact(wb.max(1))) {
                    out.extend_from_slice(ra);
                    out.extend_from_slice(&rb[..wb]);
                }
                out
            }
        }
    };
    let (acw, bcw) = (a.c_stride as usize, b.c_stride as usize);
    Frame {
        width: w,
        height: h,
        bit_depth: a.bit_depth,
        chroma: a.chroma,
        y: plane(&a.y, &b.y, aw as usize, bw as usize),
        cb: plane(&a.cb, &b.cb, acw, bcw),
        cr: plane(&a.cr, &b.cr, acw, bcw),
        y_stride: w,
        c_stride: if a.chroma == ChromaFormat::Monochrome {
            0
        } else {
            cw
        },
    }
}

/// Decoded tiles laid `rows` × `columns` (row-major) composed into one frame of
/// `width` × `height`, the tiles past its right and bottom edges cut off, by heic-rs's own
/// compositor (which checks that the tiles agree in size and format).
///
/// Errors: tiles that do not form the grid (`Invalid`).
pub(super) fn compose(
    tiles: &[Frame],
    (rows, columns): (u32, u32),
    (width, height): (u32, u32),
) -> Result<Frame, ImageError> {
    let g = Grid {
        rows,
        columns,
        output_width: width,
        output_height: height,
    };
    grid::compose(&g, tiles, u64::MAX).map_err(from_heic_rs)
}
