//! Removing metadata from the original file without touching its pixel data. Colour (ICC
//! profile, Adobe colour transform, PNG colour chunks) is kept; EXIF, XMP, IPTC, comments, text
//! chunks and trailing data are dropped. A non-default orientation survives as a minimal EXIF
//! block holding that one tag, so the file still displays upright.

use img_parts::{Bytes, ImageEXIF};

use super::Format;

/// `bytes` of `format` without metadata beyond colour and orientation.
pub fn strip_metadata(format: Format, bytes: &[u8], orientation: u8) -> Result<Vec<u8>, String> {
    let exif = (orientation != 1).then(|| Bytes::from(orientation_exif(orientation)));
    let fail = |e: img_parts::Error| format!("cannot read file structure: {e}");
    let out = match format {
        Format::Jpeg => {
            let end = jpeg_end(bytes).ok_or("JPEG has no end-of-image marker")?;
            let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(Bytes::copy_from_slice(&bytes[..end]))
                .map_err(fail)?;
            jpeg.segments_mut()
                .retain(|s| keep_jpeg_segment(s.marker(), s.contents()));
            jpeg.set_exif(exif);
            jpeg.encoder().bytes()
        }
        Format::Png => {
            let mut png =
                img_parts::png::Png::from_bytes(Bytes::copy_from_slice(bytes)).map_err(fail)?;
            png.chunks_mut()
                .retain(|c| !matches!(&c.kind(), b"tEXt" | b"zTXt" | b"iTXt" | b"eXIf" | b"tIME"));
            png.set_exif(exif);
            png.encoder().bytes()
        }
        Format::WebP => {
            let mut webp =
                img_parts::webp::WebP::from_bytes(Bytes::copy_from_slice(bytes)).map_err(fail)?;
            webp.remove_chunks_by_id(*b"XMP ");
            // Also rewrites the VP8X flags to match the chunks left.
            webp.set_exif(exif);
            webp.encoder().bytes()
        }
    };
    Ok(out.to_vec())
}

/// Segments a decoder needs for correct colours: JFIF, ICC, Adobe (CMYK inversion); and every
/// non-APPn segment (tables, frame and scan headers).
fn keep_jpeg_segment(marker: u8, contents: &[u8]) -> bool {
    match marker {
        0xE0 => contents.starts_with(b"JFIF\0") || contents.starts_with(b"JFXX\0"),
        0xE2 => contents.starts_with(b"ICC_PROFILE\0"),
        0xEE => contents.starts_with(b"Adobe"),
        0xE1..=0xEF | 0xFE => false,
        _ => true,
    }
}

/// The length of the JPEG up to and including its EOI marker, so that data appended after it
/// (MPF secondary images, gain maps, vendor trailers, each with metadata of their own) is left
/// out.
pub(super) fn jpeg_end(b: &[u8]) -> Option<usize> {
    let mut i = 2;
    loop {
        // Marker: one or more 0xFF, then the code.
        while *b.get(i)? != 0xFF {
            i += 1;
        }
        while *b.get(i)? == 0xFF {
            i += 1;
        }
        let code = *b.get(i)?;
        i += 1;
        match code {
            0xD9 => return Some(i),
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]));
        i += len;
        if code == 0xDA {
            // Entropy-coded data: runs until a marker other than a stuffed byte or a restart.
            loop {
                if *b.get(i)? == 0xFF {
                    let next = *b.get(i + 1)?;
                    if next != 0 && !(0xD0..=0xD7).contains(&next) && next != 0xFF {
                        break;
                    }
                    i += if next == 0xFF { 1 } else { 2 };
                } else {
                    i += 1;
                }
            }
        }
    }
}

/// A minimal big-endian TIFF/EXIF block holding only the Orientation tag.
fn orientation_exif(orientation: u8) -> Vec<u8> {
    let mut v = Vec::with_capacity(26);
    v.extend_from_slice(b"MM\0*");
    v.extend_from_slice(&8u32.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    v.extend_from_slice(&0x0112u16.to_be_bytes());
    v.extend_from_slice(&3u16.to_be_bytes());
    v.extend_from_slice(&1u32.to_be_bytes());
    v.extend_from_slice(&u16::from(orientation).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&0u32.to_be_bytes());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orientation_block_reads_back() {
        let exif = orientation_exif(6);
        assert_eq!(
            image::metadata::Orientation::from_exif_chunk(&exif),
            image::metadata::Orientation::from_exif(6)
        );
    }

    #[test]
    fn jpeg_end_skips_trailing_data() {
        let img = image::RgbImage::from_pixel(16, 16, image::Rgb([200, 10, 10]));
        let mut j = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut j)
            .encode_image(&img)
            .unwrap();
        let len = j.len();
        j.extend_from_slice(b"\xFF\xD8trailing secret");
        assert_eq!(jpeg_end(&j), Some(len));
        let stripped = strip_metadata(Format::Jpeg, &j, 1).unwrap();
        assert_eq!(stripped.len(), len);
        assert!(image::load_from_memory(&stripped).is_ok());
    }
}
