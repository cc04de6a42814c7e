//! Colour spaces a TIFF stores that we turn into 8-bit RGB: CMYK (through its ICC profile by
//! moxcms, the engine `image::colour` uses for CMYK JPEGs), CIE L*a*b* (D50) and Y′CbCr.
//!
//! The CMYK transform is made once per image, not per strip (a print profile's LUT is
//! 0.5–2 MB): `colour::cmyk_to_srgb` builds one per call, which suits a whole JPEG but not a
//! TIFF read in bands, so the same conversion (relative colorimetric, perceptual where the
//! profile has only that table) is held here. The lead may fold it into `colour.rs`.

use std::sync::Arc;

use moxcms::{
    ColorProfile, DataColorSpace, Layout, RenderingIntent, TransformExecutor, TransformOptions,
};

/// CMYK ink values (0 = no ink, TIFF's convention: not Adobe-inverted) to sRGB.
pub(super) enum Inks {
    /// Through the embedded CMYK profile.
    Profile(Arc<dyn TransformExecutor<u8> + Send + Sync>),
    /// No usable profile: R = (255 − C)(255 − K)/255, and likewise G from M and B from Y —
    /// the convention browsers use for a CMYK JPEG without a profile (PRODUCT.md "Colour").
    Formula,
}

impl Inks {
    /// The conversion for `icc` (the page's profile, if any), and a warning when a profile is
    /// there but cannot be used (worded as `colour::cmyk_to_srgb` words it for JPEGs).
    pub fn new(icc: Option<&[u8]>) -> (Inks, Option<String>) {
        let Some(icc) = icc else {
            return (Inks::Formula, None);
        };
        match profile_transform(icc) {
            Ok(t) => (Inks::Profile(t), None),
            Err(e) => (
                Inks::Formula,
                Some(format!(
                    "CMYK colour profile not usable ({e}); converted by the browsers' formula"
                )),
            ),
        }
    }

    /// `cmyk` (4 bytes a pixel) into `rgb` (3 bytes a pixel).
    pub fn convert(&self, cmyk: &[u8], rgb: &mut [u8]) -> Result<(), String> {
        match self {
            Inks::Profile(t) => t.transform(cmyk, rgb).map_err(|e| e.to_string()),
            Inks::Formula => {
                for (p, out) in cmyk.chunks_exact(4).zip(rgb.chunks_exact_mut(3)) {
                    let white = 255 - u32::from(p[3]);
                    for c in 0..3 {
                        out[c] = ((255 - u32::from(p[c])) * white / 255) as u8;
                    }
                }
                Ok(())
            }
        }
    }
}

fn profile_transform(icc: &[u8]) -> Result<Arc<dyn TransformExecutor<u8> + Send + Sync>, String> {
    let profile = ColorProfile::new_from_slice(icc).map_err(|e| e.to_string())?;
    if profile.color_space != DataColorSpace::Cmyk {
        return Err("not a CMYK profile".into());
    }
    let srgb = ColorProfile::new_srgb();
    let make = |rendering_intent| {
        let o = TransformOptions {
            rendering_intent,
            prefer_fixed_point: false,
            ..TransformOptions::default()
        };
        profile.create_transform_8bit(Layout::Rgba, &srgb, Layout::Rgb, o)
    };
    make(RenderingIntent::RelativeColorimetric)
        .or_else(|_| make(RenderingIntent::Perceptual))
        .map_err(|e| e.to_string())
}

/// The sRGB transfer function, linear light in 1/4096 steps to 8-bit codes.
pub(super) struct Encode([u8; 4097]);

impl Encode {
    pub fn new() -> Self {
        let mut t = [0u8; 4097];
        for (i, v) in t.iter_mut().enumerate() {
            let l = i as f32 / 4096.0;
            let e = if l <= 0.003_130_8 {
                12.92 * l
            } else {
                1.055 * l.powf(1.0 / 2.4) - 0.055
            };
            *v = (e * 255.0).round() as u8;
        }
        Encode(t)
    }

    fn code(&self, linear: f32) -> u8 {
        self.0[(linear.clamp(0.0, 1.0) * 4096.0).round() as usize]
    }
}

/// CIE L*a*b* (D50, L* 0–100) to sRGB, relative colorimetric as Little CMS does it: XYZ (D50)
/// through sRGB's Bradford-adapted matrix (the one in an sRGB ICC profile), then its curve.
/// Out-of-gamut colours are clipped.
pub(super) fn lab_to_srgb(enc: &Encode, l: f32, a: f32, b: f32) -> [u8; 3] {
    const WHITE: [f32; 3] = [0.9642, 1.0, 0.8249];
    const M: [[f32; 3]; 3] = [
        [3.133_856, -1.616_867, -0.490_615],
        [-0.978_768, 1.916_142, 0.033_454],
        [0.071_945, -0.228_991, 1.405_243],
    ];
    let fy = (l + 16.0) / 116.0;
    let f = [fy + a / 500.0, fy, fy - b / 200.0];
    let xyz: [f32; 3] = std::array::from_fn(|i| {
        let t = f[i];
        let v = if t > 6.0 / 29.0 {
            t * t * t
        } else {
            3.0 * (6.0f32 / 29.0).powi(2) * (t - 4.0 / 29.0)
        };
        v * WHITE[i]
    });
    std::array::from_fn(|c| enc.code(M[c][0] * xyz[0] + M[c][1] * xyz[1] + M[c][2] * xyz[2]))
}

/// Y′CbCr to RGB by lookup (TIFF 6.0 section 21, libtiff's `TIFFYCbCrToRGB`): each code's
/// contribution to R, G and B in 1/65536 steps.
pub(super) struct YCbCr {
    y: [i32; 256],
    cr_r: [i32; 256],
    cb_b: [i32; 256],
    cr_g: [i32; 256],
    cb_g: [i32; 256],
}

impl YCbCr {
    /// `luma`: Kr, Kg, Kb; `reference`: ReferenceBlackWhite (black and white of Y, Cb, Cr).
    pub fn new(luma: [f32; 3], reference: [f32; 6]) -> Self {
        let [kr, mut kg, kb] = luma;
        if kg.abs() < 0.01 {
            kg = 0.587;
        }
        let scale = |code: usize, black: f32, white: f32, range: f32| {
            let span = if (white - black).abs() < 1e-3 {
                1.0
            } else {
                white - black
            };
            (code as f32 - black) * range / span
        };
        let fixed = |v: f32| (v * 65536.0).round() as i32;
        let mut t = YCbCr {
            y: [0; 256],
            cr_r: [0; 256],
            cb_b: [0; 256],
            cr_g: [0; 256],
            cb_g: [0; 256],
        };
        for i in 0..256 {
            let cb = scale(i, reference[2], reference[3], 127.0);
            let cr = scale(i, reference[4], reference[5], 127.0);
            t.y[i] = fixed(scale(i, reference[0], reference[1], 255.0));
            t.cr_r[i] = fixed(cr * (2.0 - 2.0 * kr));
            t.cb_b[i] = fixed(cb * (2.0 - 2.0 * kb));
            t.cr_g[i] = fixed(-cr * (2.0 - 2.0 * kr) * kr / kg);
            t.cb_g[i] = fixed(-cb * (2.0 - 2.0 * kb) * kb / kg);
        }
        t
    }

    pub fn rgb(&self, y: u8, cb: u8, cr: u8) -> [u8; 3] {
        let (y, cb, cr) = (usize::from(y), usize::from(cb), usize::from(cr));
        let out = |v: i32| ((v + 32768) >> 16).clamp(0, 255) as u8;
        let l = self.y[y];
        [
            out(l + self.cr_r[cr]),
            out(l + self.cr_g[cr] + self.cb_g[cb]),
            out(l + self.cb_b[cb]),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_white_black_and_a_saturated_red() {
        let e = Encode::new();
        assert_eq!(lab_to_srgb(&e, 100.0, 0.0, 0.0), [255, 255, 255]);
        assert_eq!(lab_to_srgb(&e, 0.0, 0.0, 0.0), [0, 0, 0]);
        // sRGB red is L*a*b* (D50) 54.29, 80.80, 69.89 (Little CMS).
        let [r, g, b] = lab_to_srgb(&e, 54.29, 80.80, 69.89);
        assert!(r >= 253 && g <= 3 && b <= 3, "{r} {g} {b}");
    }

    #[test]
    fn ycbcr_follows_jfif_with_the_default_tags() {
        let t = YCbCr::new(
            [0.299, 0.587, 0.114],
            [0.0, 255.0, 128.0, 255.0, 128.0, 255.0],
        );
        assert_eq!(t.rgb(128, 128, 128), [128, 128, 128]);
        // JFIF red (255, 0, 0): Y 76, Cb 85, Cr 255.
        let [r, g, b] = t.rgb(76, 85, 255);
        assert!(r >= 253 && g <= 2 && b <= 2, "{r} {g} {b}");
    }

    #[test]
    fn cmyk_without_a_profile_uses_the_formula_on_ink_values() {
        let (inks, warning) = Inks::new(None);
        assert!(warning.is_none());
        let mut rgb = [0u8; 6];
        inks.convert(&[0, 255, 255, 0, 0, 0, 0, 128], &mut rgb)
            .unwrap();
        assert_eq!(rgb, [255, 0, 0, 127, 127, 127]);
        let (_, warning) = Inks::new(Some(b"not a profile"));
        assert!(warning.is_some_and(|w| w.contains("browsers' formula")));
    }
}
