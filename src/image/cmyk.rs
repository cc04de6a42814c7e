//! Plain CMYK JPEGs. zune-jpeg (image's JPEG decoder) reads every CMYK JPEG as Adobe-inverted,
//! which is right for Photoshop's files (they carry an Adobe APP14 segment) but turns a plain
//! CMYK JPEG black. Those are decoded to raw CMYK here and converted with the plain formula.

use image::RgbImage;
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

/// Whether the JPEG's frame has 4 components and no Adobe APP14 segment says they are inverted.
pub fn is_plain_cmyk(b: &[u8]) -> bool {
    let mut adobe = false;
    let mut i = 2;
    while i + 4 <= b.len() && b[i] == 0xFF {
        let marker = b[i + 1];
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        let body = b.get(i + 4..i + 2 + len).unwrap_or_default();
        match marker {
            0xEE if body.starts_with(b"Adobe") => adobe = true,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                return body.get(5) == Some(&4) && !adobe;
            }
            0xDA => return false,
            _ => {}
        }
        i += 2 + len;
    }
    false
}

/// Decodes a plain CMYK JPEG to RGB: R = (255 − C)(255 − K)/255, and so on.
pub fn decode_plain_cmyk(b: &[u8], max_pixels: u64) -> Result<RgbImage, String> {
    let side = usize::try_from(max_pixels.min(1 << 16)).unwrap_or(1 << 16);
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::CMYK)
        .set_max_width(side)
        .set_max_height(side);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(b), options);
    let cmyk = decoder
        .decode()
        .map_err(|e| format!("cannot decode: {e:?}"))?;
    let (w, h) = decoder.dimensions().ok_or("cannot decode: no dimensions")?;
    let rgb: Vec<u8> = cmyk
        .chunks_exact(4)
        .flat_map(|p| {
            let k = 255 - u32::from(p[3]);
            let ch = |c: u8| ((255 - u32::from(c)) * k / 255) as u8;
            [ch(p[0]), ch(p[1]), ch(p[2])]
        })
        .collect();
    let (w, h) = (
        u32::try_from(w).map_err(|e| e.to_string())?,
        u32::try_from(h).map_err(|e| e.to_string())?,
    );
    RgbImage::from_raw(w, h, rgb).ok_or_else(|| "cannot decode: short CMYK data".into())
}
