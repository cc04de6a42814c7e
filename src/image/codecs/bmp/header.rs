//! The BMP headers (Microsoft's BITMAPFILEHEADER, BITMAPCOREHEADER, BITMAPINFOHEADER and its
//! V2–V5 extensions; IBM's OS/2 2.x BITMAPINFOHEADER2), read as Chromium reads them
//! (`third_party/blink/renderer/platform/image-decoders/bmp/bmp_image_reader.cc`): which header
//! sizes, bit depths and codings are accepted, where the masks and palette are, which alpha
//! mask counts, where the pixel data starts, and the embedded ICC profile.

use std::ops::Range;

use crate::image::ImageError;

/// How the pixels are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Coding {
    /// Palette indices of 1, 2, 4 or 8 bits, rows padded to 4 bytes.
    Indexed,
    /// Run-length encoded indices of 4 or 8 bits (`BI_RLE4`, `BI_RLE8`).
    Rle,
    /// 16-, 24- or 32-bit little-endian values whose channels the masks pick out.
    Packed,
}

/// What the headers say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Info {
    /// Pixels.
    pub width: u32,
    pub height: u32,
    /// Rows stored top row first (a negative height); bottom row first otherwise.
    pub top_down: bool,
    /// Bits a pixel: 1, 2, 4, 8, 16, 24 or 32.
    pub bits: u16,
    pub coding: Coding,
    /// The colour table read (at most 256 RGB entries; indices past it show opaque black).
    pub palette: Vec<[u8; 3]>,
    /// Red, green, blue and alpha masks of a `Packed` pixel (alpha 0: none).
    pub masks: [u32; 4],
    /// Where the pixel data starts.
    pub data: usize,
    /// The embedded ICC profile's bytes (`PROFILE_EMBEDDED`), when inside the file.
    pub icc: Option<Range<usize>>,
    /// What a person should know: ignored colour information.
    pub warnings: Vec<String>,
}

const FILE_HEADER: usize = 14;

// biCompression values (Microsoft's wingdi.h).
const BI_RGB: u32 = 0;
const BI_RLE8: u32 = 1;
const BI_RLE4: u32 = 2;
const BI_BITFIELDS: u32 = 3;
const BI_JPEG: u32 = 4;
const BI_PNG: u32 = 5;
const BI_ALPHABITFIELDS: u32 = 6;

// bV4CSType values.
const LCS_CALIBRATED_RGB: u32 = 0;
const PROFILE_LINKED: u32 = u32::from_be_bytes(*b"LINK");
const PROFILE_EMBEDDED: u32 = u32::from_be_bytes(*b"MBED");

fn invalid(what: impl std::fmt::Display) -> ImageError {
    ImageError::Invalid(format!("cannot decode: BMP {what}"))
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// The kind of info header, by its size (Chromium's `ReadInfoHeaderSize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// BITMAPCOREHEADER (OS/2 1.x, Windows 2): 12 bytes, 16-bit sizes, 3-byte palette entries.
    Core,
    /// OS/2 2.x: 16 to 64 bytes, most fields optional.
    Os2,
    /// Windows V3 and later: 40, 52, 56, 108 or 124 bytes.
    Windows,
}

/// Reads the headers, colour table and masks; refuses what browsers refuse, naming it.
///
/// Errors: `Invalid` for a malformed or cut-short header, mask or colour table;
/// `Unsupported` for a coding we do not decode (embedded JPEG or PNG, CMYK, OS/2 Huffman or
/// RLE24) or a side of 65,536 pixels or more (browsers refuse those too).
pub(super) fn read(bytes: &[u8]) -> Result<Info, ImageError> {
    if bytes.len() < FILE_HEADER + 4 || &bytes[..2] != b"BM" {
        return Err(invalid("file header cut short or without its BM signature"));
    }
    let offset = u32_at(bytes, 10) as usize;
    let size = u32_at(bytes, 14) as usize;
    let kind = match size {
        12 => Kind::Core,
        40 | 52 | 56 | 108 | 124 => Kind::Windows,
        16..=64 if size.is_multiple_of(4) || size == 42 || size == 46 => Kind::Os2,
        _ => return Err(invalid(format!("info header of {size} bytes"))),
    };
    let header_end = FILE_HEADER + size;
    if bytes.len() < header_end {
        return Err(invalid(format!(
            "info header cut short ({} of {size} bytes)",
            bytes.len() - FILE_HEADER
        )));
    }
    if offset != 0 && offset < header_end {
        return Err(invalid(format!(
            "pixel data offset {offset} inside the {size}-byte info header"
        )));
    }
    let fields = fields(bytes, kind, size)?;
    let mut info = Info {
        width: fields.width,
        height: fields.height,
        top_down: fields.top_down,
        bits: fields.bits,
        coding: fields.coding,
        palette: Vec::new(),
        masks: [0; 4],
        data: 0,
        icc: None,
        warnings: Vec::new(),
    };
    let header = Header { kind, size, offset };
    let after = match info.coding {
        Coding::Packed => masks(bytes, &header, fields.compression, &mut info)?,
        Coding::Indexed | Coding::Rle => palette(bytes, &header, fields.colours, &mut info)?,
    };
    info.data = if offset == 0 { after } else { offset };
    if kind == Kind::Windows && size >= 108 {
        colour_space(bytes, size, &mut info);
    }
    Ok(info)
}

/// The info header's kind and size, and the file header's pixel data offset (0: unset).
struct Header {
    kind: Kind,
    size: usize,
    offset: usize,
}

/// The fields of the info header that say what the pixels are.
struct Fields {
    width: u32,
    height: u32,
    top_down: bool,
    bits: u16,
    coding: Coding,
    compression: u32,
    /// `biClrUsed`.
    colours: u32,
}

/// Size, depth and coding, checked as Chromium's `IsInfoHeaderValid` checks them.
fn fields(bytes: &[u8], kind: Kind, size: usize) -> Result<Fields, ImageError> {
    let (width, height, bits, compression, colours) = match kind {
        Kind::Core => (
            i64::from(u16_at(bytes, 18)),
            i64::from(u16_at(bytes, 20)),
            u16_at(bytes, 24),
            BI_RGB,
            0,
        ),
        _ => (
            i64::from(u32_at(bytes, 18) as i32),
            i64::from(u32_at(bytes, 22) as i32),
            u16_at(bytes, 28),
            if size >= 20 {
                u32_at(bytes, 30)
            } else {
                BI_RGB
            },
            if size >= 36 { u32_at(bytes, 46) } else { 0 },
        ),
    };
    if width <= 0 || height == 0 {
        return Err(invalid(format!("of {width}x{height} pixels")));
    }
    let top_down = height < 0;
    if top_down && kind != Kind::Windows {
        return Err(invalid("stored top-down in an OS/2 header"));
    }
    let height = height.abs();
    if width >= 1 << 16 || height >= 1 << 16 {
        return Err(ImageError::Unsupported(format!(
            "BMP of {width}x{height} pixels: browsers show BMPs up to 65,535 pixels a side"
        )));
    }
    let windows = kind == Kind::Windows;
    let (coding, bits) = match (compression, bits) {
        (BI_RGB, 1 | 4 | 8) => (Coding::Indexed, bits),
        (BI_RGB, 2) if windows => (Coding::Indexed, bits),
        (BI_RGB, 24) => (Coding::Packed, bits),
        (BI_RGB | BI_BITFIELDS | BI_ALPHABITFIELDS, 16 | 32) if windows => (Coding::Packed, bits),
        (BI_RLE8, 1..=8) => (Coding::Rle, 8),
        (BI_RLE4, 1..=4) => (Coding::Rle, 4),
        (BI_BITFIELDS, 1) if !windows => return Err(unsupported("OS/2 Huffman 1D coding")),
        (BI_JPEG, 24) if !windows => return Err(unsupported("OS/2 RLE24 coding")),
        (BI_JPEG, 0) => return Err(unsupported("an embedded JPEG")),
        (BI_PNG, 0) => return Err(unsupported("an embedded PNG")),
        (11..=13, _) => return Err(unsupported("CMYK")),
        (compression, bits) => {
            return Err(invalid(format!(
                "with compression {compression} and {bits} bits a pixel"
            )))
        }
    };
    Ok(Fields {
        width: width as u32,
        height: height as u32,
        top_down,
        bits,
        coding,
        compression,
        colours,
    })
}

fn unsupported(what: &str) -> ImageError {
    ImageError::Unsupported(format!("BMP with {what}"))
}

/// Sets the masks of a `Packed` image (Chromium's `ProcessBitmasks`): the file's for
/// `BI_BITFIELDS` (in a V2+ header, or 12 bytes after a 40-byte one; 16 with alpha for
/// `BI_ALPHABITFIELDS`), 5-5-5 or 8-8-8 otherwise; the alpha mask of a V3+ header whatever the
/// coding, and none for a 40-byte one (browsers ignore the fourth byte of a 32-bit V3 BMP).
/// Returns where the masks end.
fn masks(
    bytes: &[u8],
    header: &Header,
    compression: u32,
    info: &mut Info,
) -> Result<usize, ImageError> {
    let header_end = FILE_HEADER + header.size;
    let windows = header.kind == Kind::Windows;
    let mut end = header_end;
    let mut masks = match (compression, windows && header.size >= 52) {
        (BI_BITFIELDS | BI_ALPHABITFIELDS, true) => {
            [u32_at(bytes, 54), u32_at(bytes, 58), u32_at(bytes, 62), 0]
        }
        (BI_BITFIELDS | BI_ALPHABITFIELDS, false) => {
            let alpha = compression == BI_ALPHABITFIELDS;
            end += if alpha { 16 } else { 12 };
            if end > bytes.len() || (header.offset != 0 && header.offset < end) {
                return Err(invalid("bit field masks cut short"));
            }
            let at = |i: usize| u32_at(bytes, header_end + 4 * i);
            [at(0), at(1), at(2), if alpha { at(3) } else { 0 }]
        }
        _ if info.bits == 16 => [0x7C00, 0x03E0, 0x001F, 0],
        _ => [0xFF_0000, 0xFF00, 0xFF, 0],
    };
    if windows && header.size >= 56 {
        masks[3] = u32_at(bytes, 66);
    }
    if info.bits < 32 {
        let bits = (1u32 << info.bits) - 1;
        masks.iter_mut().for_each(|m| *m &= bits);
    }
    for (i, &mask) in masks.iter().enumerate() {
        let shifted = mask.checked_shr(mask.trailing_zeros()).unwrap_or(0);
        if shifted & shifted.wrapping_add(1) != 0 {
            return Err(invalid(format!(
                "bit field mask 0x{mask:08X} is not contiguous"
            )));
        }
        if masks[..i].iter().any(|&m| m & mask != 0) {
            return Err(invalid(format!(
                "bit field mask 0x{mask:08X} overlaps another"
            )));
        }
    }
    info.masks = masks;
    Ok(end)
}

/// Reads the colour table of an indexed or RLE image (Chromium's `ProcessColorTable`):
/// `biClrUsed` entries, or all 2^bits when it is 0 or too large, cut where the pixel data
/// starts. Returns where the table ends.
fn palette(
    bytes: &[u8],
    header: &Header,
    colours: u32,
    info: &mut Info,
) -> Result<usize, ImageError> {
    let start = FILE_HEADER + header.size;
    let max = 1u32 << info.bits;
    let colours = if colours == 0 || colours > max {
        max
    } else {
        colours
    } as usize;
    let entry = if header.kind == Kind::Core { 3 } else { 4 };
    let mut end = start + colours * entry;
    if header.offset != 0 && header.offset < end {
        end = start + (header.offset - start) / entry * entry;
        info.warnings.push(format!(
            "the BMP's pixel data starts inside its colour table: {} of {colours} colours read \
             (as Chromium reads them; indices past them show black)",
            (end - start) / entry
        ));
    }
    if end > bytes.len() {
        return Err(invalid(format!(
            "colour table cut short ({} of {} bytes)",
            bytes.len() - start,
            end - start
        )));
    }
    info.palette = bytes[start..end]
        .chunks_exact(entry)
        .map(|bgr| [bgr[2], bgr[1], bgr[0]])
        .collect();
    Ok(end)
}

/// Reads a V4/V5 header's colour space (`bV5CSType`): an embedded ICC profile is kept as
/// stored (its offset counts from the info header); a linked one (a file name) is ignored
/// with a warning, as browsers ignore it; calibrated RGB endpoints are not applied (a
/// warning when they are set).
fn colour_space(bytes: &[u8], size: usize, info: &mut Info) {
    match u32_at(bytes, FILE_HEADER + 56) {
        PROFILE_EMBEDDED if size >= 124 => {
            let start = FILE_HEADER.saturating_add(u32_at(bytes, FILE_HEADER + 112) as usize);
            let len = u32_at(bytes, FILE_HEADER + 116) as usize;
            match start.checked_add(len).filter(|&end| end <= bytes.len() && len > 0) {
                Some(end) => info.icc = Some(start..end),
                None => info.warnings.push(format!(
                    "the BMP's embedded ICC profile ({len} bytes at offset {start}) lies outside                      the file: ignored"
                )),
            }
        }
        PROFILE_LINKED => info.warnings.push(
            "the BMP links to an ICC profile by file name: ignored, as browsers ignore it".into(),
        ),
        LCS_CALIBRATED_RGB if bytes[FILE_HEADER + 60..FILE_HEADER + 108].iter().any(|&b| b != 0) => {
            info.warnings.push(
                "the BMP's calibrated RGB colour space (endpoints and gamma) is not applied:                  its colours are read as sRGB"
                    .into(),
            )
        }
        _ => {}
    }
}
