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

/// Decoded tiles laid `rows` × `columns` (row-major), composed into one frame of
/// `width` × `height` (the tiles past its right and bottom edges cut off) by heic-rs's
/// `Mosaic` (which checks that the tiles agree in size and format), with `carried` lines put
/// before them along `axis` (or after them, with `true`) in the same copy.
///
/// Errors: tiles that do not form the grid (`Invalid`).
pub(super) fn compose(
    tiles: &[Frame],
    (rows, columns): (u32, u32),
    (width, height): (u32, u32),
    carried: Option<(&Frame, bool)>,
    axis: Axis,
) -> Result<Frame, ImageError> {
    let g = Grid {
        rows,
        columns,
        output_width: width,
        output_height: height,
    };
    let mosaic = grid::Mosaic::new(&g, tiles).map_err(from_heic_rs)?;
    let (kw, kh) = carried.map_or((0, 0), |(c, _)| (c.width, c.height));
    let (w, h) = match axis {
        Axis::Rows => (width, height + kh),
        Axis::Columns => (width + kw, height),
    };
    let chroma = mosaic.chroma();
    let mut out = Frame {
        width: w,
        height: h,
        bit_depth: mosaic.bit_depth(),
        chroma,
        y: vec![0; w as usize * h as usize],
        y_stride: w,
        ..Frame::default()
    };
    let (cw, ch) = chroma.chroma_size(w, h);
    if chroma != ChromaFormat::Monochrome {
        out.cb = vec![0; cw as usize * ch as usize];
        out.cr = out.cb.clone();
        out.c_stride = cw;
    }
    let after = carried.is_some_and(|(_, after)| after);
    let planes = [
        ((w, h), (width, height), (kw, kh)),
        ((cw, ch), mosaic.chroma_size(), chroma_of(chroma, kw, kh)),
        ((cw, ch), mosaic.chroma_size(), chroma_of(chroma, kw, kh)),
    ];
    let mono = chroma == ChromaFormat::Monochrome;
    for (plane, ((pw, _), (mw, mh), (qw, qh))) in planes.into_iter().enumerate() {
        if pw == 0 || (plane > 0 && mono) {
            continue;
        }
        // Where the mosaic's samples and the carried ones start in this plane.
        let (m_at, c_at) = match (axis, after) {
            (Axis::Rows, false) => ((0, qh), (0, 0)),
            (Axis::Rows, true) => ((0, 0), (0, mh)),
            (Axis::Columns, false) => ((qw, 0), (0, 0)),
            (Axis::Columns, true) => ((0, 0), (mw, 0)),
        };
        let dst = match plane {
            0 => &mut out.y,
            1 => &mut out.cb,
            _ => &mut out.cr,
        };
        for r in 0..mh as usize {
            let at = (m_at.1 as usize + r) * pw as usize + m_at.0 as usize;
            let row = &mut dst[at..at + mw as usize];
            let got = match plane {
                0 => mosaic.luma_row(r, row),
                p => mosaic.chroma_row(p == 2, r, row),
            };
            got.ok_or_else(|| ImageError::Invalid("HEIF grid tile shorter than its row".into()))?;
        }
        if let Some((c, _)) = carried {
            copy_plane(c, plane, (qw, qh), dst, pw, c_at);
        }
    }
    Ok(out)
}

/// Plane `plane` (0 luma, 1 Cb, 2 Cr) of `from`, `w` × `h` samples, into `dst` (`stride`
/// samples a row) at (`x`, `y`).
fn copy_plane(
    from: &Frame,
    plane: usize,
    (w, h): (u32, u32),
    dst: &mut [u16],
    stride: u32,
    (x, y): (u32, u32),
) {
    let (src, src_stride) = match plane {
        0 => (&from.y, from.y_stride),
        1 => (&from.cb, from.c_stride),
        _ => (&from.cr, from.c_stride),
    };
    for r in 0..h as usize {
        let at = (y as usize + r) * stride as usize + x as usize;
        let s = r * src_stride as usize;
        dst[at..at + w as usize].copy_from_slice(&src[s..s + w as usize]);
    }
}

/// The chroma size of `w` × `h` carried luma samples.
fn chroma_of(chroma: ChromaFormat, w: u32, h: u32) -> (u32, u32) {
    if w == 0 || h == 0 {
        return (0, 0);
    }
    chroma.chroma_size(w, h)
}
