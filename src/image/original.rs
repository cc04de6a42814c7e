//! The `original` variant. Of a JPEG, PNG, WebP or GIF: the input file without metadata and with
//! its pixel data untouched, each format's rules in its own codec. PRODUCT.md "What the
//! `original` keeps" is a whitelist in every format: the image data and the chunks that say how
//! to show it (colour, transparency, animation; a GIF's looping), and a one-tag EXIF block when
//! the orientation is not the default, so that the file still displays upright. Everything
//! else — EXIF, XMP, IPTC, comments, text, previews, editor data, private and unknown chunks,
//! application extensions, trailing data — is left out. Of a TIFF, BMP, HEIC/HEIF or AVIF
//! (PRODUCT.md "Input formats"): the decoded pixels at full size, upright, re-encoded in the variants' format with
//! their colour (`reencoded`).

use crate::image::codecs::source::Source;
use crate::image::codecs::Format;
use crate::image::codecs::{exif, gif, jpeg, png, webp};
use crate::image::encode::Encoder;
use crate::image::error::ImageError;
use crate::image::output::Variant;
use crate::image::pixels::Pixels;
use crate::image::plan::{Original, Plan};
use crate::image::probe::{Facts, Probe};

/// `bytes` of `format` without metadata beyond colour and orientation, and what a person
/// should know (a malformed chunk that the whitelist would keep, dropped). `profile_read`: the
/// probe read the embedded ICC profile; one it did not read (a PNG `iCCP` that inflates past
/// `png::MAX_ICC_BYTES`, broken JPEG APP2 chunks) is left out of the `original` too.
/// Never fails: what cannot be read as a kept chunk is left out (PRODUCT.md: metadata removal
/// never fails a job whose pixels decode). `None` for TIFF, BMP, HEIC/HEIF and AVIF, whose
/// `original` is made from their pixels, never their bytes.
pub fn strip_metadata(
    format: Format,
    bytes: &[u8],
    orientation: image::metadata::Orientation,
    profile_read: bool,
) -> Option<(Vec<u8>, Vec<String>)> {
    let upright = orientation == image::metadata::Orientation::NoTransforms;
    let exif = (!upright).then(|| exif::orientation_block(orientation));
    let exif = exif.as_deref();
    let mut warnings = Vec::new();
    let out = match format {
        Format::Jpeg => jpeg::strip(bytes, exif, profile_read, &mut warnings),
        Format::Png => png::strip(bytes, exif, profile_read, &mut warnings),
        Format::WebP => webp::strip(bytes, exif, &mut warnings),
        // A GIF has no orientation and no profile a browser reads.
        Format::Gif => gif::strip(bytes, &mut warnings),
        Format::Tiff | Format::Bmp | Format::Heic | Format::Heif | Format::Avif => return None,
    };
    Some((out, warnings))
}

/// The metadata-free `original`, when the plan has one made from the input's bytes
/// (`Original::Stripped`; PRODUCT.md "Variants"), and what its making warned about. `bytes` as
/// the decoders read them (a damaged file repaired).
pub(in crate::image) fn original(
    bytes: &Source<'_>,
    probe: &Probe,
    plan: &Plan<'_>,
) -> Result<Option<(Variant, Vec<String>)>, ImageError> {
    let Some(t) = plan
        .original()
        .filter(|_| plan.original_from == Original::Stripped)
    else {
        return Ok(None);
    };
    let profile_read = match &probe.facts {
        Facts::Png { profile_read, .. } => *profile_read,
        _ => probe.icc.is_some(),
    };
    let Some((data, warnings)) =
        strip_metadata(probe.format, bytes, probe.orientation, profile_read)
    else {
        return Err(ImageError::Internal(format!(
            "a {} original is never stripped",
            probe.format.name()
        )));
    };
    let variant = Variant {
        name: t.name,
        width: t.width,
        height: t.height,
        content_type: probe.format.content_type(),
        data,
    };
    Ok(Some((variant, warnings)))
}

/// The `original` of a TIFF, BMP, HEIC/HEIF or AVIF (`Original::Reencoded`), when the plan has one: `pixels`
/// (decoded whole at full size, as stored, coloured; premultiplied when the job is) turned
/// upright and encoded like the variants, in their format, carrying their profile.
pub(in crate::image) fn reencoded(
    job: &Encoder,
    pixels: &Pixels,
    plan: &Plan<'_>,
) -> Result<Option<(Variant, Vec<String>)>, ImageError> {
    let Some(t) = plan.original() else {
        return Ok(None);
    };
    let mut shown = job.unpremultiplied(pixels)?.into_owned();
    shown.apply_orientation(plan.turn);
    Ok(Some((job.finish(&shown, t)?, Vec::new())))
}

/// The `original` as made (`original`, `reencoded`), its warnings added to `warnings`, and for a JPEG the
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
        )
        .unwrap();
        assert_eq!(stripped.len(), len);
        assert_eq!(warnings, Vec::<String>::new());
        assert!(image::load_from_memory(&stripped).is_ok());
    }
}
