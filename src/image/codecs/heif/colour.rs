//! What the decoded RGB means: the ICC profile the file carries, or one made from its `nclx`
//! colour description when that is not sRGB (so that the variants show the right colours);
//! the refusal of HDR transfers; and the alpha fixes heic-rs leaves to its caller
//! (limited-range alpha samples, premultiplied colour).

use heic_rs::hevc::Frame;
use heic_rs::Nclx;
use moxcms::{
    CicpColorPrimaries, CicpProfile, ColorProfile, LocalizableString, ProfileText,
    TransferCharacteristics,
};

use crate::image::ImageError;

/// The colour of the decoded pixels, as the header reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Colour {
    /// The ICC profile: the file's (`colr prof`/`rICC`), or made from `nclx`.
    pub icc: Option<Vec<u8>>,
    /// `icc` was made here from the `nclx` colour description (no profile in the file).
    pub synthesized: bool,
    pub warning: Option<String>,
}

/// The colour of a file with `icc` (as stored) and the colour description `nclx` (its `colr
/// nclx`, else what its bitstream signals): the profile as stored; without one, nothing for
/// sRGB and an sRGB-like description, a profile made by moxcms for other primaries or
/// transfers (Display P3 from a phone, BT.2020).
///
/// `stated`: the description is a `colr nclx` box, honoured whatever it says. One signalled
/// only in the bitstream (HEVC VUI, AV1 sequence header) with SDR video primaries close to
/// sRGB's (BT.601 625 and 525, SMPTE 240M) is read as sRGB: Android's encoders write BT.601
/// there by default for camera pictures made as sRGB, as their JPEGs are (`xiaomi.heic`).
///
/// HDR transfers: PQ (SMPTE ST 2084) has no SDR rendition in the file and is refused; HLG
/// (ARIB STD-B67) is made to be shown on SDR displays as it is (ITU-R BT.2100, BT.2390 §6),
/// so it is read as SDR, with a warning.
///
/// Errors: `Unsupported` naming the transfer (PQ, SMPTE ST 428).
pub(super) fn describe(
    format: &str,
    icc: Option<&[u8]>,
    nclx: Nclx,
    stated: bool,
) -> Result<Colour, ImageError> {
    if let Some(icc) = icc {
        return Ok(Colour {
            icc: Some(icc.to_vec()),
            synthesized: false,
            warning: None,
        });
    }
    let mut warning = None;
    let transfer = match nclx.transfer {
        16 => return Err(hdr(format, "PQ (SMPTE ST 2084)")),
        17 => return Err(hdr(format, "SMPTE ST 428 (D-Cinema)")),
        18 => {
            warning = Some(format!(
                "{format} with the HLG (ARIB STD-B67) HDR transfer: shown as its SDR-compatible \
                 rendition (no tone mapping)"
            ));
            TransferCharacteristics::Srgb
        }
        t if srgb_like_transfer(t) => TransferCharacteristics::Srgb,
        t => TransferCharacteristics::try_from(t as u8).unwrap_or(TransferCharacteristics::Srgb),
    };
    let primaries = CicpColorPrimaries::try_from(nclx.primaries.min(255) as u8)
        .unwrap_or(CicpColorPrimaries::Reserved);
    let srgb_primaries = matches!(
        primaries,
        CicpColorPrimaries::Bt709 | CicpColorPrimaries::Unspecified | CicpColorPrimaries::Reserved
    ) || (!stated
        && matches!(
            primaries,
            CicpColorPrimaries::Bt470Bg | CicpColorPrimaries::Bt601 | CicpColorPrimaries::Smpte240
        ));
    if srgb_primaries && transfer == TransferCharacteristics::Srgb {
        return Ok(Colour {
            icc: None,
            synthesized: false,
            warning,
        });
    }
    let icc = synthesize(primaries, transfer, &nclx).ok_or_else(|| {
        ImageError::Unsupported(format!(
            "{format} colour description (nclx {}/{}) no ICC profile can express",
            nclx.primaries, nclx.transfer
        ))
    })?;
    Ok(Colour {
        icc: Some(icc),
        synthesized: true,
        warning,
    })
}

fn hdr(format: &str, transfer: &str) -> ImageError {
    ImageError::Unsupported(format!(
        "{format} with the {transfer} HDR transfer (no SDR rendition to show)"
    ))
}

/// Transfers shown as sRGB, as browsers show untagged and BT.709-family content: BT.709,
/// BT.601, BT.2020 (the same curve), sRGB, unspecified and reserved codes.
fn srgb_like_transfer(t: u16) -> bool {
    matches!(t, 0..=3 | 6 | 13..=15) || t > 18
}

/// An ICC profile for `primaries` and `transfer` (D65 white, as every CICP set but DCI-P3 and
/// film), made by moxcms, with a stable creation date so the same file gives the same bytes.
fn synthesize(
    primaries: CicpColorPrimaries,
    transfer: TransferCharacteristics,
    nclx: &Nclx,
) -> Option<Vec<u8>> {
    let mut profile =
        if primaries == CicpColorPrimaries::Smpte432 && transfer == TransferCharacteristics::Srgb {
            ColorProfile::new_display_p3()
        } else {
            let cicp = CicpProfile {
                color_primaries: primaries,
                transfer_characteristics: transfer,
                matrix_coefficients: moxcms::MatrixCoefficients::Bt709,
                full_range: true,
            };
            let mut p = ColorProfile::new_from_cicp(cicp);
            p.red_trc.as_ref()?;
            p.description = Some(ProfileText::Localizable(vec![LocalizableString::new(
                "en".into(),
                "US".into(),
                format!("HEIF nclx {}/{}", nclx.primaries, nclx.transfer),
            )]));
            p.cicp = None;
            p
        };
    // A display profile for RGB data: what browsers and Little CMS expect to meet.
    profile.media_white_point.get_or_insert(profile.white_point);
    let mut icc = profile.encode().ok()?;
    // Header bytes 24..36: the creation date, which moxcms sets to now.
    let date = [2026u16, 12, 7, 0, 0, 0];
    for (i, v) in date.iter().enumerate() {
        icc.get_mut(24 + 2 * i..26 + 2 * i)?
            .copy_from_slice(&v.to_be_bytes());
    }
    Some(icc)
}

/// Alpha samples stored in limited range (16–235 at 8 bits; AV1's `color_range` 0 on the
/// alpha item) stretched to the full range in place, as libavif does.
pub(super) fn full_range_alpha(alpha: &mut Frame) {
    let d = u32::from(alpha.bit_depth.clamp(8, 16));
    let (lo, span, max) = (16i64 << (d - 8), 219i64 << (d - 8), (1i64 << d) - 1);
    for v in &mut alpha.y {
        let x = (i64::from(*v) - lo) * max;
        *v = ((x + span / 2).div_euclid(span)).clamp(0, max) as u16;
    }
}

/// Colour premultiplied by alpha (`prem` reference, ISO/IEC 23008-12 6.6.1.5) made straight
/// in place: `pixels` of `channels` samples (alpha last), 8-bit or, `wide`, native-endian
/// 16-bit. A fully transparent pixel keeps colour 0.
pub(super) fn unpremultiply(pixels: &mut [u8], channels: usize, wide: bool) {
    // c · max / a, rounded; 0 where a is 0.
    let straight =
        |c: u32, a: u32, max: u32| (c * max + a / 2).checked_div(a).map_or(0, |s| s.min(max));
    if wide {
        for px in pixels.chunks_exact_mut(channels * 2) {
            let (colour, a) = px.split_at_mut((channels - 1) * 2);
            let a = u32::from(u16::from_ne_bytes([a[0], a[1]]));
            for c in colour.chunks_exact_mut(2) {
                let v = straight(u32::from(u16::from_ne_bytes([c[0], c[1]])), a, 65535);
                c.copy_from_slice(&(v as u16).to_ne_bytes());
            }
        }
        return;
    }
    for px in pixels.chunks_exact_mut(channels) {
        let (colour, a) = px.split_at_mut(channels - 1);
        let a = u32::from(a[0]);
        for c in colour {
            *c = straight(u32::from(*c), a, 255) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heic_rs::hevc::ChromaFormat;

    #[test]
    fn limited_range_alpha_is_stretched_to_full_range() {
        let mut a = Frame {
            width: 4,
            height: 1,
            bit_depth: 8,
            chroma: ChromaFormat::Monochrome,
            y: vec![0, 16, 128, 235],
            y_stride: 4,
            ..Frame::default()
        };
        full_range_alpha(&mut a);
        assert_eq!(a.y, [0, 0, 130, 255]);
        a.bit_depth = 10;
        a.y = vec![64, 512, 940, 1023];
        full_range_alpha(&mut a);
        assert_eq!(a.y, [0, 523, 1023, 1023]);
    }

    #[test]
    fn premultiplied_colour_is_divided_by_its_alpha() {
        let mut px = [50u8, 100, 0, 128, 10, 20, 30, 0, 255, 255, 255, 255];
        unpremultiply(&mut px, 4, false);
        assert_eq!(px, [100, 199, 0, 128, 0, 0, 0, 0, 255, 255, 255, 255]);
        let mut wide: Vec<u8> = [32768u16, 16384]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect();
        unpremultiply(&mut wide, 2, true);
        assert_eq!(u16::from_ne_bytes([wide[0], wide[1]]), 65535);
    }
}
