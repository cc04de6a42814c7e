//! Uncompressed BMP rows (indexed and packed), read straight from the file's bytes one row at a
//! time, and the alpha channel's scan that decides whether it is used.

use super::header::{Coding, Info};
use crate::image::ImageError;

/// Bytes a stored row takes, padding to 4 bytes included.
pub(super) fn stride(info: &Info) -> usize {
    (usize::from(info.bits) * info.width as usize).div_ceil(32) * 4
}

/// Refuses pixel data that ends before the last row's pixels (the padding after them may be
/// missing: browsers read only the pixels).
pub(super) fn check_data(bytes: &[u8], info: &Info) -> Result<(), ImageError> {
    let last = (usize::from(info.bits) * info.width as usize).div_ceil(8);
    let needed = (info.height as usize - 1) * stride(info) + last;
    let there = bytes.len().saturating_sub(info.data);
    if there < needed {
        return Err(ImageError::Invalid(format!(
            "cannot decode: BMP pixel data cut short ({there} of {needed} bytes)"
        )));
    }
    Ok(())
}

/// The bytes of stored row `row` (0: the first stored, the bottom one unless top-down).
fn stored<'a>(bytes: &'a [u8], info: &Info, row: usize) -> &'a [u8] {
    let start = info.data + row * stride(info);
    let end = (start + stride(info)).min(bytes.len());
    &bytes[start..end]
}

/// The stored row shown at canvas row `y` (0: the top).
pub(super) fn stored_row(info: &Info, y: u32) -> usize {
    match info.top_down {
        true => y as usize,
        false => (info.height - 1 - y) as usize,
    }
}

/// A channel's 8-bit value from a packed pixel (Chromium: the top 8 bits of a wider field; a
/// narrower one scaled, round(v × 255 / (2^n − 1))); 0 when the mask is empty.
fn channel(value: u32, mask: u32) -> u8 {
    if mask == 0 {
        return 0;
    }
    let v = (value & mask) >> mask.trailing_zeros();
    let width = mask.count_ones();
    if width >= 8 {
        return (v >> (width - 8)) as u8;
    }
    let max = (1u32 << width) - 1;
    ((v * 255 + max / 2) / max) as u8
}

/// The packed pixels of a stored row, as 32-bit values.
fn packed(row: &[u8], bits: u16) -> impl Iterator<Item = u32> + '_ {
    let size = usize::from(bits / 8);
    row.chunks_exact(size).map(move |p| match *p {
        [a, b] => u32::from(u16::from_le_bytes([a, b])),
        [a, b, c] => u32::from_le_bytes([a, b, c, 0]),
        [a, b, c, d] => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    })
}

/// Whether a packed image's alpha channel holds any non-zero value and any value short of
/// opaque. Chromium shows a BMP whose alpha is all zero as opaque ("Some BMPs specify an alpha
/// channel but don't actually use it"), and its alpha as stored otherwise.
pub(super) fn alpha_use(bytes: &[u8], info: &Info) -> (bool, bool) {
    let mask = info.masks[3];
    let (mut nonzero, mut translucent) = (false, false);
    if mask == 0 {
        return (false, false);
    }
    for row in 0..info.height as usize {
        for value in packed(stored(bytes, info, row), info.bits).take(info.width as usize) {
            let a = channel(value, mask);
            nonzero |= a != 0;
            translucent |= a != 255;
        }
        if nonzero && translucent {
            break;
        }
    }
    (nonzero, translucent)
}

/// Writes canvas row `y` of an uncompressed image into `out` (`channels`: 1 L, 2 LA, 3 RGB,
/// 4 RGBA), its alpha from the alpha mask when `alpha` (else opaque).
pub(super) fn row(bytes: &[u8], info: &Info, y: u32, channels: usize, alpha: bool, out: &mut [u8]) {
    let src = stored(bytes, info, stored_row(info, y));
    let width = info.width as usize;
    let pixels = out.chunks_exact_mut(channels).take(width);
    match info.coding {
        Coding::Packed => {
            let [r, g, b, a] = info.masks;
            for (px, v) in pixels.zip(packed(src, info.bits)) {
                let opacity = if alpha { channel(v, a) } else { 255 };
                put(px, [channel(v, r), channel(v, g), channel(v, b), opacity]);
            }
        }
        Coding::Indexed | Coding::Rle => {
            let bits = usize::from(info.bits);
            let mask = (1u16 << bits) - 1;
            let indices = src.iter().flat_map(|&byte| {
                (0..8 / bits).map(move |i| ((u16::from(byte) >> (8 - bits * (i + 1))) & mask) as u8)
            });
            for (px, i) in pixels.zip(indices) {
                put(px, colour(&info.palette, i));
            }
        }
    }
}

/// A palette entry as RGBA; indices past the table are opaque black (Chromium, Firefox).
pub(super) fn colour(palette: &[[u8; 3]], index: u8) -> [u8; 4] {
    let [r, g, b] = palette.get(usize::from(index)).copied().unwrap_or_default();
    [r, g, b, 255]
}

/// Writes an RGBA colour into a pixel of 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA) channels; a gray
/// layout takes red, which equals green and blue there.
pub(super) fn put(px: &mut [u8], [r, g, b, a]: [u8; 4]) {
    match px.len() {
        1 => px[0] = r,
        2 => px.copy_from_slice(&[r, a]),
        3 => px.copy_from_slice(&[r, g, b]),
        _ => px.copy_from_slice(&[r, g, b, a]),
    }
}

#[cfg(test)]
mod tests {
    use super::channel;

    #[test]
    fn channels_scale_as_chromium_scales_them() {
        assert_eq!(channel(0x1F, 0x1F), 255);
        assert_eq!(channel(0x10, 0x1F), 132);
        assert_eq!(channel(0x01, 0x1F), 8);
        assert_eq!(channel(0x3F << 5, 0x7E0), 255);
        assert_eq!(channel(0x3FF, 0x3FF), 255);
        assert_eq!(channel(0x200, 0x3FF), 128);
        assert_eq!(channel(0xAB00_0000, 0xFF00_0000), 0xAB);
        assert_eq!(channel(1, 1), 255);
        assert_eq!(channel(5, 0), 0);
    }
}
