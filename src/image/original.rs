//! The metadata-free `original`: the input file without metadata and with its pixel data
//! untouched, each format's rules in its own file. PRODUCT.md "What the `original` keeps" is a
//! whitelist in every format: the image data and the chunks that say how to show it (colour,
//! transparency, animation), and a one-tag EXIF block when the orientation is not the default,
//! so that the file still displays upright. Everything else — EXIF, XMP, IPTC, comments, text,
//! previews, editor data, private and unknown chunks, trailing data — is left out.

use crate::image::codecs::source::Source;
use crate::image::codecs::Format;
use crate::image::codecs::{exif, jpeg, png, webp};
use crate::image::error::ImageError;
use crate::image::output::Variant;
use crate::image::plan::Plan;
use crate::image::probe::{Facts, Probe};

/// `bytes` of `format` without metadata beyond colour and orientation, and what a person
/// should know (a malformed chunk that the whitelist would keep, dropped). `profile_read`: the
/// probe read the embedded ICC profile; one it did not read (a PNG `iCCP` that inflates past
/// `png::MAX_ICC_BYTES`, broken JPEG APP2 chunks) is left out of the `original` too.
/// Never fails: what cannot be read as a kept chunk is left out (PRODUCT.md: metadata removal
/// never fails a job whose pixels decode).
pub fn strip_metadata(
    format: Format,
    bytes: &[u8],
    orientation: image::metadata::Orientation,
    profile_read: bool,
) -> (Vec<u8>, Vec<String>) {
    let upright = orientation == image::metadata::Orientation::NoTransforms;
    let exif = (!upright).then(|| exif::orientation_block(orientation));
    let exif = exif.as_deref();
    let mut warnings = Vec::new();
    let out = match format {
        Format::Jpeg => jpeg::strip(bytes, exif, profile_read, &mut warnings),
        Format::Png => png::strip(bytes, exif, profile_read, &mut warnings),
        Format::WebP => webp::strip(bytes, exif, &mut warnings),
    };
    (out, warnings)
}

/// The metadata-free `original`, when the plan has one (PRODUCT.md "Variants"), and what its
/// making warned about. `bytes` as the decoders read them (a damaged file repaired).
pub(in crate::image) fn original(
    bytes: &Source<'_>,
    probe: &Probe,
    plan: &Plan<'_>,
) -> Result<Option<(Variant, Vec<String>)>, ImageError> {
    let Some(t) = plan.original() else {
        return Ok(None);
    };
    let profile_read = match &probe.facts {
        Facts::Png { profile_read, .. } => *profile_read,
        _ => probe.icc.is_some(),
    };
    let (data, warnings) = strip_metadata(probe.format, bytes, probe.orientation, profile_read);
    let variant = Variant {
        name: t.name,
        width: t.width,
        height: t.height,
        content_type: probe.format.content_type(),
        data,
    };
    Ok(Some((variant, warnings)))
}

/// The `original` as made (`original`), its warnings added to `warnings`, and for a JPEG the
/// bytes that end scans' data but are not part of it taken out (`jpeg::without_scan_junk`:
/// `scan_junk` as libjpeg skipped them while decoding; `repaired`: the file's EOI was put
/// back after its last scan's data).
pub(in crate::image) fn finished_original(
    made: Result<Option<(Variant, Vec<String>)>, ImageError>,
    (scan_junk, repaired): (&[(u32, u32)], bool),
    warnings: &mut Vec<String>,
) -> Result<Option<Variant>, ImageError> {
    let Some((mut variant, said)) = made? else {
        return Ok(None);
    };
    warnings.extend(said);
    if variant.content_type == Format::Jpeg.content_type() {
        variant.data = jpeg::without_scan_junk(variant.data, scan_junk, repaired);
    }
    Ok(Some(variant))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jpeg_original_ends_at_its_eoi() {
        let img = image::RgbImage::from_pixel(16, 16, image::Rgb([200, 10, 10]));
        let mut j = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut j)
            .encode_image(&img)
            .unwrap();
        let len = j.len();
        j.extend_from_slice(b"\xFF\xD8trailing secret");
        let (stripped, warnings) = strip_metadata(
            Format::Jpeg,
            &j,
            image::metadata::Orientation::NoTransforms,
            false,
        );
        assert_eq!(stripped.len(), len);
        assert_eq!(warnings, Vec::<String>::new());
        assert!(image::load_from_memory(&stripped).is_ok());
    }
}
