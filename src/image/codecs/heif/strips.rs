//! The primary image decoded one strip of pictures at a time and written out as displayed
//! rows: a `grid` is walked one tile row (or, when the picture is turned a quarter, one tile
//! column) at a time, in the order the displayed rows need them, so memory holds one strip,
//! not the image (the 200 MP Samsung photo: 16320 × 512 pixels at a time, not 16320 × 12240).
//!
//! Chroma upsampling blends each line with the chroma of the line before or after it, across
//! the seam between two strips too. The last line of a strip therefore waits for the next
//! strip: two lines and their chroma are carried over and converted again with it, so every
//! pixel comes out exactly as heic-rs converts the whole composed image.

use heic_rs::hevc::{ChromaFormat, Frame};
use heic_rs::PixelLayout;

use super::container::{Codec, Container, Layout};
use super::planes::{self, Axis};
use super::transforms::{Orientation, Rect};
use super::{av1::Av1, colour, from_heic_rs, hevc, THREADS};
use crate::image::ImageError;

/// Lines carried from one strip to the next where chroma is subsampled along the walk: the
/// one still to convert and the one before it, which holds their shared chroma line.
const CARRY: u32 = 2;

/// The displayed image's pixels: how many samples, how wide, and which samples of heic-rs's
/// converted pixels they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pixels {
    /// Samples a pixel: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA.
    pub channels: usize,
    /// 16-bit samples (native-endian) instead of 8-bit.
    pub wide: bool,
}

impl Pixels {
    pub fn bytes(self) -> usize {
        self.channels * if self.wide { 2 } else { 1 }
    }

    /// The layout heic-rs converts into, and which of its samples make a pixel.
    fn converted(self) -> (PixelLayout, &'static [usize]) {
        match (self.channels, self.wide) {
            (1, false) => (PixelLayout::Gray8, &[0]),
            (1, true) => (PixelLayout::Rgb16, &[0]),
            (2, false) => (PixelLayout::Rgba8, &[0, 3]),
            (2, true) => (PixelLayout::Rgba16, &[0, 3]),
            (3, false) => (PixelLayout::Rgb8, &[0, 1, 2]),
            (3, true) => (PixelLayout::Rgb16, &[0, 1, 2]),
            (_, false) => (PixelLayout::Rgba8, &[0, 1, 2, 3]),
            (_, true) => (PixelLayout::Rgba16, &[0, 1, 2, 3]),
        }
    }
}

/// Where the displayed rows come from: the crop of the coded image and the walk along it.
#[derive(Debug, Clone, Copy)]
pub(super) struct View {
    pub crop: Rect,
    pub orientation: Orientation,
}

impl View {
    fn axis(&self) -> Axis {
        if self.orientation.swaps_axes() {
            Axis::Columns
        } else {
            Axis::Rows
        }
    }

    /// The crop along the walk (first line, end) and across it (first sample, count).
    fn ranges(&self) -> ((u32, u32), (u32, u32)) {
        let c = self.crop;
        match self.axis() {
            Axis::Rows => ((c.y, c.y + c.h), (c.x, c.w)),
            Axis::Columns => ((c.x, c.x + c.w), (c.y, c.h)),
        }
    }
}

/// A converted strip and the lines of it still to write, in the order they are written.
struct Ready {
    image: heic_rs::Image,
    /// First line of `image` along the walk (coded coordinates).
    first: u32,
    /// Lines still to write: `next` towards `end` (exclusive), up or down.
    next: i64,
    end: i64,
}

/// The primary image of a `Container`, decoded strip by strip into displayed rows.
pub(super) struct Stream {
    view: View,
    pixels: Pixels,
    av1: Option<Av1>,
    /// Strips (tile rows or columns) still to decode, in the order they are needed.
    strips: std::vec::IntoIter<u32>,
    /// The last lines of the previous strip (colour, alpha), converted again with the next.
    carry: Option<(Frame, Option<Frame>)>,
    ready: Option<Ready>,
    /// The alpha image decoded whole, when its tiling differs from the image's.
    alpha_whole: Option<Frame>,
}

impl Stream {
    /// Ready to write `c`'s primary image as seen through `view`, in `pixels`.
    ///
    /// Errors: an AV1 decoder that cannot be set up (`Invalid`).
    pub fn new(c: &Container<'_>, view: View, pixels: Pixels) -> Result<Stream, ImageError> {
        let (count, size) = match view.axis() {
            Axis::Rows => (c.image.rows, c.image.tile.1),
            Axis::Columns => (c.image.columns, c.image.tile.0),
        };
        // Strips touching the crop, with the lines the crop's edges need around them.
        let ((lo, hi), _) = view.ranges();
        let first = lo.saturating_sub(CARRY) / size;
        let last = (hi + CARRY).div_ceil(size).min(count);
        let mut order: Vec<u32> = (first..last).collect();
        if view.orientation.lines_reversed() {
            order.reverse();
        }
        let area = |l: &Layout| u64::from(l.tile.0) * u64::from(l.tile.1);
        let largest = c
            .alpha
            .as_ref()
            .map_or(0, |a| area(&a.layout))
            .max(area(&c.image));
        let av1 = match c.codec {
            Codec::Av1 => Some(Av1::new(THREADS, largest)?),
            Codec::Hevc => None,
        };
        Ok(Stream {
            view,
            pixels,
            av1,
            strips: order.into_iter(),
            carry: None,
            ready: None,
            alpha_whole: None,
        })
    }

    /// Fills `out` with the next displayed rows of `c`'s image (a whole number of them).
    ///
    /// Errors: the decoders' (`Invalid`, `Unsupported`); rows past the image's end (`Internal`).
    pub fn fill(&mut self, c: &Container<'_>, out: &mut [u8]) -> Result<(), ImageError> {
        let (_, (_, across)) = self.view.ranges();
        let row_bytes = across as usize * self.pixels.bytes();
        for row in out.chunks_mut(row_bytes) {
            while self.ready.as_ref().is_none_or(|r| r.next == r.end) {
                let ready = self.next_strip(c)?;
                self.ready = Some(ready);
            }
            if let Some(ready) = self.ready.as_mut() {
                write_line(ready, &self.view, self.pixels, row);
            }
        }
        Ok(())
    }

    /// Decodes the next strip with the carried lines before (or after) it, converts it.
    fn next_strip(&mut self, c: &Container<'_>) -> Result<Ready, ImageError> {
        let strip = self.strips.next().ok_or_else(|| {
            ImageError::Internal("HEIF decoder asked for rows past the image's end".into())
        })?;
        let axis = self.view.axis();
        let reversed = self.view.orientation.lines_reversed();
        let (carried, carried_alpha) = self.carry.take().unzip();
        let carried_alpha = carried_alpha.flatten();
        let mut first = strip * strip_size(&c.image, axis);
        if let (Some(k), false) = (&carried, reversed) {
            first -= axis.extent(k).0;
        }
        let colour = compose(
            c,
            &mut self.av1,
            &c.image,
            strip,
            axis,
            None,
            (carried.as_ref(), reversed),
        )?;
        let end = first + axis.extent(&colour).0;
        let alpha = self.alpha_lines(c, strip, (first, end), (carried_alpha.as_ref(), reversed))?;
        self.convert(c, colour, alpha, first)
    }

    /// Converts `frame` (and its alpha), whose first line is `first`, keeping for the next
    /// strip the lines it needs; the lines written are those whose chroma neighbours `frame`
    /// holds (or that have none, at the image's edges).
    fn convert(
        &mut self,
        c: &Container<'_>,
        frame: Frame,
        alpha: Option<Frame>,
        first: u32,
    ) -> Result<Ready, ImageError> {
        let axis = self.view.axis();
        let (n, _) = axis.extent(&frame);
        let end = first + n;
        let whole = axis.extent_of((c.image.width, c.image.height));
        let sub = axis.subsampled(frame.chroma);
        let exact = (
            first + u32::from(sub && first > 0),
            end - u32::from(sub && end < whole),
        );
        let reversed = self.view.orientation.lines_reversed();
        // Walking up or left, the carried lines go after the next strip (a short last strip,
        // walked first, is carried whole); walking down or right, before it, from an even line
        // (only the last strip can be shorter than two lines, and it needs no carry).
        let keep = match reversed {
            true => Some((0, n.min(CARRY))),
            false => (n >= CARRY).then(|| (n - CARRY, n)),
        };
        if let (true, Some((from, to))) = (sub, keep) {
            let keep = |f: &Frame| planes::lines(f, axis, from, to);
            self.carry = Some((keep(&frame), alpha.as_ref().map(keep)));
        }
        let (layout, _) = self.pixels.converted();
        let mut image =
            heic_rs::color::convert(&frame, alpha.as_ref(), c.nclx, layout, u64::MAX, Some(1))
                .map_err(from_heic_rs)?;
        drop(frame);
        if c.alpha.as_ref().is_some_and(|a| a.premultiplied) {
            colour::unpremultiply(&mut image.data, layout.channels(), self.pixels.wide);
        }
        let ((lo, hi), _) = self.view.ranges();
        let (lo, hi) = (i64::from(lo.max(exact.0)), i64::from(hi.min(exact.1)));
        let (mut next, end) = if reversed { (hi - 1, lo - 1) } else { (lo, hi) };
        // Lines an earlier strip already wrote.
        if let Some(prev) = &self.ready {
            next = if reversed {
                next.min(prev.end)
            } else {
                next.max(prev.end)
            };
        }
        let end = if reversed {
            end.min(next)
        } else {
            end.max(next)
        };
        Ok(Ready {
            image,
            first,
            next,
            end,
        })
    }

    /// The alpha lines `lines` (first, end) of strip `strip`: decoded with the colour (the
    /// carried lines joined the same way) when both are tiled alike, else cut from the whole
    /// alpha image (decoded once).
    fn alpha_lines(
        &mut self,
        c: &Container<'_>,
        strip: u32,
        (first, end): (u32, u32),
        carried: (Option<&Frame>, bool),
    ) -> Result<Option<Frame>, ImageError> {
        let Some(a) = &c.alpha else {
            return Ok(None);
        };
        let axis = self.view.axis();
        let samples = Some(a.limited_range);
        if same_tiling(&a.layout, &c.image) {
            return compose(c, &mut self.av1, &a.layout, strip, axis, samples, carried).map(Some);
        }
        if self.alpha_whole.is_none() {
            let (width, height) = (a.layout.width, a.layout.height);
            let mut y = Vec::with_capacity(width as usize * height as usize);
            let mut bit_depth = 8;
            for r in 0..a.layout.rows {
                let f = compose(
                    c,
                    &mut self.av1,
                    &a.layout,
                    r,
                    Axis::Rows,
                    samples,
                    (None, false),
                )?;
                bit_depth = f.bit_depth;
                y.extend_from_slice(&f.y);
            }
            let chroma = ChromaFormat::Monochrome;
            let y_stride = width;
            let whole = Frame {
                width,
                height,
                bit_depth,
                chroma,
                y,
                y_stride,
                ..Frame::default()
            };
            self.alpha_whole = Some(whole);
        }
        let whole = self.alpha_whole.as_ref();
        let whole = whole.ok_or_else(|| ImageError::Internal("HEIF alpha".into()))?;
        Ok(Some(planes::lines(whole, axis, first, end)))
    }
}

/// Lines in a full strip of `layout` along `axis` (a tile's height or width).
fn strip_size(layout: &Layout, axis: Axis) -> u32 {
    match axis {
        Axis::Rows => layout.tile.1,
        Axis::Columns => layout.tile.0,
    }
}

fn same_tiling(a: &Layout, b: &Layout) -> bool {
    (a.rows, a.columns, a.tile) == (b.rows, b.columns, b.tile)
}

/// Strip `strip` of `layout` along `axis`: its pictures decoded and composed, with `carried`
/// lines before them (or after, walking `reversed`). `alpha`: the pictures are alpha samples
/// (their luma kept), `Some(true)` stored in limited range (stretched to full).
fn compose(
    c: &Container<'_>,
    av1: &mut Option<Av1>,
    layout: &Layout,
    strip: u32,
    axis: Axis,
    alpha: Option<bool>,
    (carried, reversed): (Option<&Frame>, bool),
) -> Result<Frame, ImageError> {
    let (tw, th) = layout.tile;
    let (ids, grid, size): (Vec<u32>, _, _) = match axis {
        Axis::Rows => {
            let from = (strip * layout.columns) as usize;
            let ids = layout.tiles[from..from + layout.columns as usize].to_vec();
            let height = th.min(layout.height - strip * th);
            (ids, (1, layout.columns), (layout.width, height))
        }
        Axis::Columns => {
            let at = |r: u32| layout.tiles[(r * layout.columns + strip) as usize];
            let width = tw.min(layout.width - strip * tw);
            (
                (0..layout.rows).map(at).collect(),
                (layout.rows, 1),
                (width, layout.height),
            )
        }
    };
    let mut frames = pictures(c, av1, &ids, layout.tile)?;
    if let Some(limited) = alpha {
        for f in &mut frames {
            *f = planes::luma_only(std::mem::take(f));
            if limited {
                colour::full_range_alpha(f);
            }
        }
    }
    let alone = frames.len() == 1 && (frames[0].width, frames[0].height) == size;
    if alone && carried.is_none() {
        return Ok(frames.pop().unwrap_or_default());
    }
    planes::compose(&frames, grid, size, carried.map(|k| (k, reversed)), axis)
}

/// The coded pictures `ids`, each declared `declared`: AV1 one after the other through the
/// one rav1d decoder (on its own threads), HEVC on `THREADS` threads, a picture each in turn.
fn pictures(
    c: &Container<'_>,
    av1: &mut Option<Av1>,
    ids: &[u32],
    declared: (u32, u32),
) -> Result<Vec<Frame>, ImageError> {
    let frames = match av1 {
        Some(av1) => {
            let mut frames = Vec::with_capacity(ids.len());
            for &id in ids {
                let data = c.ctx.item_data(id).map_err(from_heic_rs)?;
                frames.push(av1.decode(&data, declared)?);
            }
            frames
        }
        None if ids.len() == 1 || THREADS == 1 => ids
            .iter()
            .map(|&id| hevc::decode(&c.ctx, id, declared))
            .collect::<Result<Vec<_>, _>>()?,
        None => hevc_in_parallel(c, ids, declared)?,
    };
    if frames
        .iter()
        .any(|f| f.chroma != c.config.chroma && f.chroma != ChromaFormat::Monochrome)
    {
        return Err(ImageError::Invalid(
            "HEIF tiles differ in chroma format".into(),
        ));
    }
    Ok(frames)
}

fn hevc_in_parallel(
    c: &Container<'_>,
    ids: &[u32],
    declared: (u32, u32),
) -> Result<Vec<Frame>, ImageError> {
    let workers = THREADS.min(ids.len());
    let decoded = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                s.spawn(move || {
                    let mine = ids.iter().enumerate().skip(w).step_by(workers);
                    mine.map(|(i, &id)| hevc::decode(&c.ctx, id, declared).map(|f| (i, f)))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join()).collect::<Vec<_>>()
    });
    let mut frames: Vec<Option<Frame>> = vec![None; ids.len()];
    for result in decoded {
        let done =
            result.map_err(|_| ImageError::Internal("HEVC tile thread panicked".into()))??;
        for (i, f) in done {
            frames[i] = Some(f);
        }
    }
    frames
        .into_iter()
        .map(|f| f.ok_or_else(|| ImageError::Internal("HEVC tile missing".into())))
        .collect()
}

/// Writes the next line of `ready` as one displayed row into `row`.
fn write_line(ready: &mut Ready, view: &View, pixels: Pixels, row: &mut [u8]) {
    let line = ready.next;
    ready.next += if ready.end < ready.next { -1 } else { 1 };
    let (layout, pick) = pixels.converted();
    let sample = if pixels.wide { 2 } else { 1 };
    let px = layout.bytes_per_pixel();
    let img = &ready.image;
    let local = (line - i64::from(ready.first)) as usize;
    let ((_, _), (start, count)) = view.ranges();
    // Step between consecutive samples along the line, in pixels of the converted strip.
    let (base, step) = match view.axis() {
        Axis::Rows => (local * img.width as usize + start as usize, 1),
        Axis::Columns => (
            start as usize * img.width as usize + local,
            img.width as usize,
        ),
    };
    let reversed = view.orientation.row_reversed();
    let count = count as usize;
    let at = |i: usize| {
        let along = if reversed { count - 1 - i } else { i };
        (base + along * step) * px
    };
    if px == pixels.bytes() {
        // Every converted sample kept: a row of the strip is the displayed row, or its pixels are.
        if step == 1 && !reversed {
            row[..count * px].copy_from_slice(&img.data[base * px..(base + count) * px]);
            return;
        }
        for (i, dst) in row.chunks_exact_mut(px).take(count).enumerate() {
            dst.copy_from_slice(&img.data[at(i)..at(i) + px]);
        }
        return;
    }
    for (i, dst) in row.chunks_exact_mut(pixels.bytes()).take(count).enumerate() {
        for (k, &c) in pick.iter().enumerate() {
            let from = at(i) + c * sample;
            dst[k * sample..(k + 1) * sample].copy_from_slice(&img.data[from..from + sample]);
        }
    }
}
