//! The metadata-free `original`: the input file without metadata and with its pixel data
//! untouched, each format's rules in its own file. Colour (ICC profile, Adobe colour
//! transform, PNG colour chunks) is kept; EXIF, XMP, IPTC, comments, text chunks and trailing
//! data are dropped. A non-default orientation survives as a minimal EXIF block holding that
//! one tag, so the file still displays upright.

use img_parts::Bytes;

use super::format::Format;
use super::{jpeg, png, webp};

/// `bytes` of `format` without metadata beyond colour and orientation. `profile_read`: the
/// probe read the embedded ICC profile; a PNG `iCCP` it did not read (one that inflates past
/// `png::MAX_ICC_BYTES`, or broken) is left out of the `original` too.
pub fn strip_metadata(
    format: Format,
    bytes: &[u8],
    orientation: u8,
    profile_read: bool,
) -> Result<Vec<u8>, String> {
    let exif = (orientation != 1).then(|| Bytes::from(orientation_exif(orientation)));
    let out = match format {
        Format::Jpeg => jpeg::strip(bytes, exif)?,
        Format::Png => png::strip(bytes, exif, profile_read)?,
        Format::WebP => webp::strip(bytes, exif)?,
    };
    Ok(out.to_vec())
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
    use jpeg::jpeg_end;

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
        let stripped = strip_metadata(Format::Jpeg, &j, 1, false).unwrap();
        assert_eq!(stripped.len(), len);
        assert!(image::load_from_memory(&stripped).is_ok());
    }
}
