//! EXIF, as far as the image stage reads and writes it: the orientation of an image (JPEG
//! APP1, PNG `eXIf`, WebP `EXIF`: PRODUCT.md "Real-world inputs" — read where browsers read it),
//! and the one-tag block an `original` carries so that it still displays upright.

use image::metadata::Orientation;

/// The EXIF orientation of a TIFF-structured EXIF block, with or without the `Exif\0\0`
/// identifier that JPEG's APP1 puts before it (ImageMagick and Pillow write it in PNG and
/// WebP too); 1 when the block has none or cannot be read. Only the first IFD is read (CIPA
/// DC-008: Orientation is a 0th-IFD tag), so a block of any size is read in linear time.
pub(in crate::image) fn orientation(exif: &[u8]) -> Orientation {
    let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
    Orientation::from_exif_chunk(tiff).unwrap_or(Orientation::NoTransforms)
}

/// A minimal big-endian TIFF/EXIF block holding only the Orientation tag: 26 bytes.
pub(in crate::image) fn orientation_block(orientation: Orientation) -> Vec<u8> {
    let mut v = Vec::with_capacity(26);
    v.extend_from_slice(b"MM\0*");
    v.extend_from_slice(&8u32.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    v.extend_from_slice(&0x0112u16.to_be_bytes());
    v.extend_from_slice(&3u16.to_be_bytes());
    v.extend_from_slice(&1u32.to_be_bytes());
    v.extend_from_slice(&u16::from(orientation.to_exif()).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&0u32.to_be_bytes());
    v
}

/// `jpeg` with an APP1 Exif block holding `orientation` right after its SOI (tests build their
/// turned JPEGs with it).
#[cfg(test)]
pub(in crate::image) fn with_orientation_app1(jpeg: &[u8], orientation: Orientation) -> Vec<u8> {
    let app1 = [&b"Exif\0\0"[..], &orientation_block(orientation)].concat();
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&(app1.len() as u16 + 2).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_orientation_block_reads_back_with_or_without_its_identifier() {
        for o in (1..=8).filter_map(Orientation::from_exif) {
            let block = orientation_block(o);
            assert_eq!(orientation(&block), o);
            assert_eq!(orientation(&[&b"Exif\0\0"[..], &block].concat()), o);
        }
        assert_eq!(orientation(b"not exif"), Orientation::NoTransforms);
    }
}
