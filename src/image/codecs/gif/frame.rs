//! The first frame as a browser shows it: its indices decoded by the `gif` crate (LZW through
//! `weezl`, interlaced rows put in order), coloured by Chromium's rules and placed on the
//! canvas. Chromium (Wuffs with `QUIRK_IGNORE_TOO_MUCH_PIXEL_DATA`, as Skia drives it) is the
//! reference where browsers differ:
//! - the canvas is the logical screen, enlarged to hold the first frame when it sticks out;
//! - the canvas starts transparent (the background colour is ignored), so the area outside
//!   the first frame is transparent (Firefox agrees);
//! - the transparent index is transparent even past the colour table;
//! - indices past the colour table, and every index of a frame with no colour table at all,
//!   are opaque black (Firefox uses white for a missing table);
//! - pixel data past the frame's last row is ignored; data that ends before it is an error.

use std::borrow::Cow;
use std::io::{Chain, Cursor, Read};

use ::gif::{ColorOutput, DecodeOptions, MemoryLimit};

use super::blocks::{self, Image};
use crate::image::ImageError;

/// A colour table as browsers use it: 256 RGBA entries.
pub(super) type Palette = [[u8; 4]; 256];

/// Builds the palette of a frame from its colour table (3 bytes a colour, `None`: no table)
/// and its transparent index.
pub(super) fn palette(table: Option<&[u8]>, transparent: Option<u8>) -> Palette {
    let mut palette = [[0, 0, 0, 255]; 256];
    for (entry, rgb) in palette
        .iter_mut()
        .zip(table.unwrap_or_default().chunks_exact(3))
    {
        *entry = [rgb[0], rgb[1], rgb[2], 255];
    }
    if let Some(t) = transparent {
        palette[usize::from(t)] = [0, 0, 0, 0];
    }
    palette
}

/// Where the first frame lies on the canvas, pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Placement {
    pub canvas: (u32, u32),
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
}

impl Placement {
    /// The logical screen enlarged to hold the frame (Wuffs without
    /// `QUIRK_IMAGE_BOUNDS_ARE_STRICT`, which Chromium does not set).
    pub(super) fn new(screen: (u16, u16), image: &Image) -> Self {
        let (left, top) = (u32::from(image.left), u32::from(image.top));
        let (width, height) = (u32::from(image.width), u32::from(image.height));
        Placement {
            canvas: (
                u32::from(screen.0).max(left + width),
                u32::from(screen.1).max(top + height),
            ),
            left,
            top,
            width,
            height,
        }
    }

    /// True when the frame leaves part of the canvas uncovered (transparent).
    pub(super) fn uncovered(&self) -> bool {
        (self.width, self.height) != self.canvas
    }
}

/// The image block as the `gif` crate reads it: a fixed header and a two-colour global table
/// (the crate asks for some table even when it only hands out indices; the colours come from
/// `palette`), the image's own bytes unchanged, the trailer.
type Stream<'a> = Chain<Chain<Cursor<[u8; 19]>, Cursor<Cow<'a, [u8]>>>, &'static [u8]>;

/// The first frame's indices, row by row from the top, without holding the frame (an
/// interlaced frame is held whole: its rows arrive out of order).
pub(super) struct Indices<'a> {
    decoder: ::gif::Decoder<Stream<'a>>,
    width: usize,
    height: u32,
    /// Rows handed out so far.
    row: u32,
    line: Vec<u8>,
    /// The whole frame, for an interlaced one, filled on the first row asked for.
    whole: Option<Vec<u8>>,
}

impl<'a> Indices<'a> {
    /// Starts decoding `image` (a complete image block of `bytes`, or one cut short after its
    /// minimum code size, which is read closed: the crate needs the block terminator to hand
    /// out the last pixels LZW holds back).
    pub(super) fn new(bytes: &'a [u8], image: &Image) -> Result<Self, ImageError> {
        let mut header = [0u8; 19];
        header[..6].copy_from_slice(b"GIF89a");
        header[6..10].copy_from_slice(&[
            image.width.to_le_bytes()[0],
            image.width.to_le_bytes()[1],
            image.height.to_le_bytes()[0],
            image.height.to_le_bytes()[1],
        ]);
        header[10] = 0x80;
        let block = match image.complete {
            true => Cow::Borrowed(&bytes[image.span.clone()]),
            false => Cow::Owned(blocks::closed(bytes, image)),
        };
        let stream = Cursor::new(header)
            .chain(Cursor::new(block))
            .chain(&b";"[..]);
        let (width, height) = (usize::from(image.width), u32::from(image.height));
        let frame_bytes = width * height as usize;
        let mut options = DecodeOptions::new();
        options.set_color_output(ColorOutput::Indexed);
        // Only an interlaced frame is held by us; nothing the crate keeps can be larger.
        options.set_memory_limit(MemoryLimit::Bytes(
            std::num::NonZeroU64::new(frame_bytes as u64 + 1).unwrap_or(std::num::NonZeroU64::MIN),
        ));
        let mut decoder = options.read_info(stream).map_err(failed)?;
        decoder.next_frame_info().map_err(failed)?.ok_or_else(|| {
            ImageError::Invalid("cannot decode: the GIF's first image block is unreadable".into())
        })?;
        let whole = image.interlaced.then(Vec::new);
        Ok(Indices {
            decoder,
            width,
            height,
            row: 0,
            line: vec![0; width],
            whole,
        })
    }

    /// The next row of indices (`width` of them).
    ///
    /// Errors: the image data ends or breaks before the row (`Invalid`, naming the row).
    pub(super) fn next_row(&mut self) -> Result<&[u8], ImageError> {
        let y = self.row;
        if y >= self.height {
            return Err(ImageError::Internal(
                "read past the GIF frame's last row".into(),
            ));
        }
        self.row += 1;
        let Some(whole) = self.whole.as_mut() else {
            let filled = self.decoder.fill_buffer(&mut self.line).map_err(failed)?;
            return match filled {
                true => Ok(&self.line),
                false => Err(truncated(y, self.height)),
            };
        };
        if y == 0 {
            *whole = vec![0; self.width * self.height as usize];
            self.decoder.read_into_buffer(whole).map_err(|e| match e {
                ::gif::DecodingError::Format(_) => ImageError::Invalid(format!(
                    "cannot decode: the GIF's interlaced first frame ({e})"
                )),
                other => failed(other),
            })?;
        }
        let start = y as usize * self.width;
        Ok(&whole[start..start + self.width])
    }
}

fn truncated(row: u32, height: u32) -> ImageError {
    ImageError::Invalid(format!(
        "cannot decode: the GIF's first frame ends at row {row} of {height} (image data cut \
         short)"
    ))
}

fn failed(e: ::gif::DecodingError) -> ImageError {
    ImageError::Invalid(format!("cannot decode: the GIF's first frame: {e}"))
}
