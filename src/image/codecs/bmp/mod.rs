//! BMP (Microsoft's device-independent bitmap with its file header; OS/2 1.x and 2.x
//! variants): the image as a browser shows it (PRODUCT.md "Input formats").
//!
//! Decoded by our own code, not `image`'s `bmp` codec: the image crate decodes the whole
//! image into memory (up to 1.07 GB for a 268 MP RLE or 1-bit BMP inside the input limits; we
//! read uncompressed rows straight from the file's bytes, one at a time), shows pixels that
//! RLE skips as black and ignores the alpha mask of a V4/V5 header unless the coding is
//! `BI_BITFIELDS` (browsers show the first transparent and respect the second), shows an
//! all-zero alpha channel as fully transparent (browsers show it opaque), refuses OS/2 2.x
//! headers and exposes no ICC profile. Chromium (`bmp_image_reader.cc`) is the reference where
//! browsers differ; the differences from Firefox are noted where they arise.

mod header;
mod pixels;
mod rle;

#[cfg(test)]
mod tests;

use image::{ColorType, DynamicImage};

use super::rows::{check_budget, check_pixels, rows_of, whole, Header};
use crate::image::codecs::ColourModel;
use crate::image::ImageError;
use header::{Coding, Info};
use rle::Canvas;

/// True when `bytes` start like a BMP file: the `BM` signature (what browsers sniff), and
/// either an info header size one of the BMP variants has (12, 16 to 64, 108 or 124 bytes)
/// or, for any other size, a file header that holds together: its reserved fields zero and
/// its pixel-data offset past the file header and the info header's size field, and within
/// the file (its declared size, or its length when that says 0). So a BMP with a damaged info
/// header reaches the BMP reader, which names what is wrong ("BMP info header of 66 bytes"),
/// while a text starting with "BM" (no NUL bytes) is not taken for one.
pub(crate) fn detect(bytes: &[u8]) -> bool {
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (Some(declared), Some(reserved), Some(offset), Some(size)) =
        (u32_at(2), u32_at(6), u32_at(10), u32_at(14))
    else {
        return false;
    };
    if !bytes.starts_with(b"BM") {
        return false;
    }
    let end = match declared {
        0 => bytes.len() as u64,
        n => u64::from(n),
    };
    matches!(size, 12 | 16..=64 | 108 | 124)
        || (reserved == 0 && (18..=end).contains(&u64::from(offset)))
}

/// Reads the headers, refuses the image over `max_pixels` or the decoding budget, checks that
/// the pixel data is all there (walking RLE data once), and keeps a decoder.
///
/// `Header.alpha` is true only when some pixel shows transparency: RLE data that skips pixels,
/// or an alpha mask (`BI_ALPHABITFIELDS`, or a V3+ header's, whatever the coding) whose values
/// are not all 0 (shown opaque, as Chromium shows it; Firefox shows it transparent) and not
/// all 255. The fourth byte of a 32-bit pixel under a 40-byte header is ignored, as browsers
/// ignore it. `Header.icc` is a V5 header's embedded profile as stored, when moxcms reads it.
///
/// Errors: `Invalid` (malformed or cut-short headers, colour table or pixel data, RLE codes
/// past the image), `Unsupported` (embedded JPEG or PNG, CMYK, OS/2 Huffman or RLE24, a side
/// of 65,536 pixels or more), `TooLarge`.
pub(crate) fn open(bytes: &[u8], max_pixels: u64) -> Result<(Decoder<'_>, Header), ImageError> {
    let mut info = header::read(bytes)?;
    check_pixels((info.width, info.height), max_pixels)?;
    let mut warnings = std::mem::take(&mut info.warnings);
    let (alpha, alpha_values) = match info.coding {
        Coding::Rle => {
            let walked = rle::walk(bytes, &info, None)?;
            if !walked.marker {
                warnings
                    .push("the BMP's run-length data ends without its end-of-bitmap marker".into());
            }
            (walked.skips, false)
        }
        Coding::Indexed | Coding::Packed => {
            pixels::check_data(bytes, &info)?;
            let (nonzero, translucent) = pixels::alpha_use(bytes, &info);
            (nonzero && translucent, nonzero)
        }
    };
    let indexed = info.coding != Coding::Packed;
    let gray = indexed && info.palette.iter().all(|&[r, g, b]| r == g && g == b);
    let layout = match (gray, alpha) {
        (true, false) => ColorType::L8,
        (true, true) => ColorType::La8,
        (false, false) => ColorType::Rgb8,
        (false, true) => ColorType::Rgba8,
    };
    let pixels = u64::from(info.width) * u64::from(info.height);
    let held = match info.coding {
        Coding::Rle => pixels + pixels / 8,
        _ => 0,
    };
    check_budget(pixels * u64::from(layout.channel_count()) + held, "the BMP")?;
    let icc = info.icc.clone().and_then(|range| {
        let profile = &bytes[range];
        match moxcms::ColorProfile::new_from_slice(profile) {
            Ok(_) => Some(profile.to_vec()),
            Err(e) => {
                warnings.push(format!(
                    "the BMP's embedded ICC profile is unreadable ({e:?}): ignored"
                ));
                None
            }
        }
    });
    let header = Header {
        width: info.width,
        height: info.height,
        orientation: 1,
        coded: (info.width, info.height),
        turned_by_decoder: 1,
        icc,
        in_srgb: false,
        bit_depth: bit_depth(&info),
        colour_model: match (indexed, alpha) {
            (true, _) => ColourModel::Indexed,
            (false, false) => ColourModel::Rgb,
            (false, true) => ColourModel::Rgba,
        },
        alpha,
        frames: 1,
        pages: 1,
        warnings,
    };
    let decoder = Decoder {
        bytes,
        info,
        layout,
        alpha_values: alpha_values && alpha,
        skips: alpha && indexed,
        row: 0,
        canvas: None,
    };
    Ok((decoder, header))
}

/// Bits a sample as stored: the index bits of a palette image, the widest colour mask of a
/// packed one (5 for 5-5-5, 6 for 5-6-5, 8 for 24-bit).
fn bit_depth(info: &Info) -> u8 {
    match info.coding {
        Coding::Indexed | Coding::Rle => info.bits as u8,
        Coding::Packed => info.masks[..3]
            .iter()
            .map(|m| m.count_ones() as u8)
            .max()
            .unwrap_or(8),
    }
}

/// The BMP's decoder: canvas rows from the top, read from the file's bytes.
pub(crate) struct Decoder<'a> {
    bytes: &'a [u8],
    info: Info,
    layout: ColorType,
    /// The alpha mask's values are shown (else pixels are opaque).
    alpha_values: bool,
    /// RLE data skips pixels (shown transparent).
    skips: bool,
    /// Canvas rows handed out so far.
    row: u32,
    /// An RLE image's indices, decoded whole on the first read.
    canvas: Option<Canvas>,
}

impl Decoder<'_> {
    /// The image whole: 8-bit L, LA, RGB or RGBA as `layout()` says, straight alpha, colours as
    /// stored (the ICC profile not applied).
    ///
    /// Errors: `Invalid` when RLE data turns out damaged.
    pub(crate) fn decode(mut self) -> Result<DynamicImage, ImageError> {
        let (size, layout) = ((self.info.width, self.info.height), self.layout);
        whole(size, layout, |buf| self.read(buf))
    }

    /// The layout `read` fills: `L8` (a gray palette), `La8`, `Rgb8` or `Rgba8`.
    pub(crate) fn layout(&self) -> ColorType {
        self.layout
    }

    /// Fills `rows` (a whole number of rows) with the next rows, top to bottom. An
    /// uncompressed BMP is read a row at a time from the file's bytes; an RLE one is decoded
    /// whole on the first call (1 byte a pixel, and 1 bit a pixel when it skips pixels).
    ///
    /// Errors: `Invalid` when RLE data turns out damaged; `Internal` when `rows` is not a whole
    /// number of rows or goes past the last one.
    pub(crate) fn read(&mut self, rows: &mut [u8]) -> Result<(), ImageError> {
        let channels = usize::from(self.layout.channel_count());
        for out in rows_of(rows, self.info.width, self.layout)? {
            let y = self.row;
            if y >= self.info.height {
                return Err(ImageError::Internal("read past the BMP's last row".into()));
            }
            self.row += 1;
            match self.info.coding {
                Coding::Rle => self.rle_row(y, channels, out)?,
                _ => pixels::row(self.bytes, &self.info, y, channels, self.alpha_values, out),
            }
        }
        Ok(())
    }

    fn rle_row(&mut self, y: u32, channels: usize, out: &mut [u8]) -> Result<(), ImageError> {
        if self.canvas.is_none() {
            let pixels = self.info.width as usize * self.info.height as usize;
            let mut canvas = Canvas {
                indices: vec![0; pixels],
                written: self.skips.then(|| vec![0; pixels.div_ceil(64)]),
            };
            rle::walk(self.bytes, &self.info, Some(&mut canvas))?;
            self.canvas = Some(canvas);
        }
        let Some(canvas) = self.canvas.as_ref() else {
            return Err(ImageError::Internal("BMP run-length canvas missing".into()));
        };
        let start = y as usize * self.info.width as usize;
        for (x, px) in out.chunks_exact_mut(channels).enumerate() {
            let at = start + x;
            let colour = match canvas.written(at) {
                true => pixels::colour(&self.info.palette, canvas.indices[at]),
                false => [0; 4],
            };
            pixels::put(px, colour);
        }
        Ok(())
    }
}

super::rows::row_decoder!(Decoder);
