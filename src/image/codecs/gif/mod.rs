//! GIF (GIF89a specification, W3C): the first frame as a browser shows it, and the `original`
//! that keeps the animation without metadata (PRODUCT.md "Input formats").
//!
//! The block stream is walked by our own code (`blocks.rs`, `walk.rs`): the `original` is a
//! byte-level rewrite that the `gif` crate has no API for (it re-encodes), and one walk decides
//! for both what browsers read. The `gif` crate decodes the first frame's LZW data
//! (`frame.rs`); Chromium's rules colour it and place it on the canvas.

mod blocks;
mod frame;
mod original;
mod walk;

#[cfg(test)]
pub(super) mod tests;
#[cfg(test)]
mod tests_original;

use image::{ColorType, DynamicImage};

use super::rows::{check_budget, check_pixels, rows_of, whole, Header};
use crate::image::codecs::ColourModel;
use crate::image::ImageError;
use blocks::{Control, Image, Screen};
use frame::{Indices, Palette, Placement};
pub(crate) use original::strip;
use walk::{Item, Skipped, Stop, Walk};

/// Frames counted at most: past this the header read stops counting (a GIF of millions of
/// one-pixel frames is walked no further) and the warning says "at least".
pub(crate) const FRAME_COUNT_CAP: u32 = 1_000_000;

/// True when `bytes` start with a GIF signature (`GIF87a` or `GIF89a`, spec §17).
pub(crate) fn detect(bytes: &[u8]) -> bool {
    matches!(bytes.get(..6), Some(b"GIF87a" | b"GIF89a"))
}

/// Reads the GIF's blocks up to its first frame, refuses it from the header when the canvas is
/// over `max_pixels` or the decoding budget, counts the frames (up to `FRAME_COUNT_CAP`), and
/// keeps a decoder for the first frame.
///
/// `Header.alpha` is true when the first frame leaves part of the canvas uncovered, or when its
/// transparent index occurs in it (the frame's indices are decoded once to know: GIF encoders
/// often declare a transparent index that no pixel uses).
///
/// Errors: `Invalid` (no signature, nothing but metadata before the end, a malformed graphic
/// control extension before the first image, a first image cut short or with an LZW minimum
/// code size over 11), `Unsupported` (minimum code size 0, which Chromium accepts but the
/// `gif` crate does not), `TooLarge` (checked before anything else of the first frame).
pub(crate) fn open(bytes: &[u8], max_pixels: u64) -> Result<(Decoder<'_>, Header), ImageError> {
    let screen =
        blocks::screen(bytes).map_err(|e| ImageError::Invalid(format!("cannot decode: {e}")))?;
    let mut walk = Walk::new(bytes, &screen);
    let mut warnings = Vec::new();
    let (control, image) = first_frame(&mut walk, &mut warnings)?;
    let placement = Placement::new((screen.width, screen.height), &image);
    if placement.canvas.0 == 0 || placement.canvas.1 == 0 {
        return Err(ImageError::Invalid(format!(
            "cannot decode: GIF with an empty screen ({}x{}) and an empty first frame",
            placement.canvas.0, placement.canvas.1
        )));
    }
    check_pixels(placement.canvas, max_pixels)?;
    let empty = placement.width == 0 || placement.height == 0;
    if !empty {
        check_code_size(&image, &mut warnings)?;
    }
    let table = image.local.clone().or(screen.global.clone());
    if table.is_none() {
        warnings.push(
            "the GIF has no colour table: its pixels are drawn opaque black, as Chromium draws \
             them (Firefox draws white)"
                .into(),
        );
    }
    let transparent = control.as_ref().and_then(|c| c.transparent);
    let palette = frame::palette(table.map(|t| &bytes[t]), transparent);
    if empty {
        warnings.push(format!(
            "the GIF's first frame is empty ({}x{}): the canvas shows nothing (transparent), \
             as in Chromium",
            placement.width, placement.height
        ));
    }
    let alpha = placement.uncovered() || (!empty && shows(bytes, &image, transparent)?);
    let gray = palette.iter().all(|&[r, g, b, _]| r == g && g == b);
    let layout = layout(gray, alpha);
    let channels = u64::from(layout.channel_count());
    let held = if image.interlaced {
        u64::from(placement.width) * u64::from(placement.height)
    } else {
        0
    };
    let canvas_pixels = u64::from(placement.canvas.0) * u64::from(placement.canvas.1);
    check_budget(canvas_pixels * channels + held, "the GIF")?;
    let frames = count_frames(walk, &mut warnings);
    let header = Header {
        width: placement.canvas.0,
        height: placement.canvas.1,
        orientation: 1,
        coded: placement.canvas,
        turned_by_decoder: 1,
        icc: None,
        in_srgb: false,
        bit_depth: image
            .local
            .as_ref()
            .map_or(table_bits(&screen, bytes).unwrap_or(8), |_| {
                image.table_bits
            }),
        colour_model: ColourModel::Indexed,
        alpha,
        frames,
        pages: 1,
        warnings,
    };
    let decoder = Decoder {
        bytes,
        image,
        placement,
        palette,
        layout,
        row: 0,
        indices: None,
    };
    Ok((decoder, header))
}

/// The global table's index bits (2^n colours), when there is one.
fn table_bits(screen: &Screen, bytes: &[u8]) -> Option<u8> {
    screen.global.as_ref()?;
    Some((bytes[10] & 7) + 1)
}

/// The output layout: gray when every colour the frame can show is gray.
fn layout(gray: bool, alpha: bool) -> ColorType {
    match (gray, alpha) {
        (true, false) => ColorType::L8,
        (true, true) => ColorType::La8,
        (false, false) => ColorType::Rgb8,
        (false, true) => ColorType::Rgba8,
    }
}

/// Walks to the first image, noting what browsers skip on the way.
fn first_frame(
    walk: &mut Walk<'_>,
    warnings: &mut Vec<String>,
) -> Result<(Option<Control>, Image), ImageError> {
    for item in walk.by_ref() {
        match item {
            Item::Frame { control, image } => return Ok((control, image)),
            Item::Skipped(Skipped::Icc) => warnings.push(icc_ignored()),
            Item::Skipped(_) | Item::Looping { .. } => {}
            Item::Stop(stop) => {
                let why = stop
                    .problem()
                    .unwrap_or_else(|| "the trailer comes first".into());
                return Err(ImageError::Invalid(format!(
                    "cannot decode: GIF without an image ({why})"
                )));
            }
        }
    }
    Err(ImageError::Invalid(
        "cannot decode: GIF without an image".into(),
    ))
}

fn icc_ignored() -> String {
    "the GIF's ICC profile (ICCRGBG1012 extension) is ignored, as browsers ignore it".into()
}

/// Refuses an LZW minimum code size the `gif` crate does not decode (0, or over 11); sizes
/// 9 to 11, which Chromium refuses but Firefox and Pillow show, are decoded with a warning.
fn check_code_size(image: &Image, warnings: &mut Vec<String>) -> Result<(), ImageError> {
    match image.min_code_size {
        Some(1..=8) => Ok(()),
        Some(size @ 9..=11) => {
            warnings.push(format!(
                "the GIF's first frame has LZW minimum code size {size} (over 8): Firefox and \
                 Pillow show it, Chromium does not"
            ));
            Ok(())
        }
        Some(0) => Err(ImageError::Unsupported(
            "GIF whose first frame has LZW minimum code size 0".into(),
        )),
        Some(size) => Err(ImageError::Invalid(format!(
            "cannot decode: the GIF's first frame has LZW minimum code size {size} (at most 11)"
        ))),
        None => Err(ImageError::Invalid(
            "cannot decode: the GIF ends inside its first image descriptor".into(),
        )),
    }
}

/// True when the transparent index occurs in the frame (its indices decoded once, a row at a
/// time).
fn shows(bytes: &[u8], image: &Image, transparent: Option<u8>) -> Result<bool, ImageError> {
    let Some(t) = transparent else {
        return Ok(false);
    };
    let mut indices = Indices::new(bytes, image)?;
    for _ in 0..image.height {
        if indices.next_row()?.contains(&t) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Counts the frames browsers show after the first (up to `FRAME_COUNT_CAP`), with warnings
/// for where they stop early.
fn count_frames(walk: Walk<'_>, warnings: &mut Vec<String>) -> u32 {
    let mut frames = 1u32;
    for item in walk {
        match item {
            Item::Frame { image, .. } if !image.complete => {
                warnings.push(format!(
                    "frame {} of the GIF is cut short: browsers show the frames before it",
                    frames + 1
                ));
            }
            Item::Frame { .. } if frames == FRAME_COUNT_CAP => {
                warnings.push(format!(
                    "the GIF has more than {FRAME_COUNT_CAP} frames; counted no further"
                ));
                break;
            }
            Item::Frame { .. } => frames += 1,
            Item::Skipped(Skipped::Icc) => warnings.push(icc_ignored()),
            Item::Stop(Stop::Missing(_)) => {
                warnings.push("the GIF ends without its trailer".into());
            }
            Item::Stop(stop) => {
                if let Some(problem) = stop.problem() {
                    warnings.push(format!(
                        "{problem}: browsers stop there, after {frames} frame(s)"
                    ));
                }
            }
            Item::Skipped(_) | Item::Looping { .. } => {}
        }
    }
    frames
}

/// The first frame's decoder: its rows composited onto the transparent canvas.
pub(crate) struct Decoder<'a> {
    bytes: &'a [u8],
    image: Image,
    placement: Placement,
    palette: Palette,
    layout: ColorType,
    /// Canvas rows handed out so far.
    row: u32,
    indices: Option<Indices<'a>>,
}

impl Decoder<'_> {
    /// The first frame on its canvas, whole: 8-bit L, LA, RGB or RGBA as `layout()` says,
    /// straight alpha.
    ///
    /// Errors: `Invalid` when the frame's image data is damaged or cut short.
    pub(crate) fn decode(mut self) -> Result<DynamicImage, ImageError> {
        let layout = self.layout;
        whole(self.placement.canvas, layout, |buf| self.read(buf))
    }

    /// The layout `read` fills: `L8`, `La8`, `Rgb8` or `Rgba8`.
    pub(crate) fn layout(&self) -> ColorType {
        self.layout
    }

    /// Fills `rows` (a whole number of canvas rows) with the next rows, top to bottom. Holds
    /// one row of indices, or the whole frame's indices (1 byte a pixel) when it is
    /// interlaced.
    ///
    /// Errors: `Invalid` when the image data is damaged or cut short; `Internal` when `rows`
    /// is not a whole number of rows or goes past the last one.
    pub(crate) fn read(&mut self, rows: &mut [u8]) -> Result<(), ImageError> {
        let channels = usize::from(self.layout.channel_count());
        for out in rows_of(rows, self.placement.canvas.0, self.layout)? {
            self.next_row(out, channels)?;
        }
        Ok(())
    }

    fn next_row(&mut self, out: &mut [u8], channels: usize) -> Result<(), ImageError> {
        let y = self.row;
        let p = self.placement;
        if y >= p.canvas.1 {
            return Err(ImageError::Internal("read past the GIF's last row".into()));
        }
        self.row += 1;
        out.fill(0);
        if y < p.top || y >= p.top + p.height || p.width == 0 {
            return Ok(());
        }
        if self.indices.is_none() {
            self.indices = Some(Indices::new(self.bytes, &self.image)?);
        }
        let Some(indices) = self.indices.as_mut() else {
            return Err(ImageError::Internal("GIF indices missing".into()));
        };
        let row = indices.next_row()?;
        let start = p.left as usize * channels;
        let span = &mut out[start..start + p.width as usize * channels];
        for (px, &i) in span.chunks_exact_mut(channels).zip(row) {
            let [r, g, b, a] = self.palette[usize::from(i)];
            match channels {
                1 => px[0] = r,
                2 => px.copy_from_slice(&[r, a]),
                3 => px.copy_from_slice(&[r, g, b]),
                _ => px.copy_from_slice(&[r, g, b, a]),
            }
        }
        Ok(())
    }
}

super::rows::row_decoder!(Decoder);
