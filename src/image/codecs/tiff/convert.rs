//! One row of stored samples (as the band holds them: `stride` samples a pixel, native byte
//! order, rows of fewer than 8 bits packed from the high bit) to the rows `read` and `decode`
//! give: 8-bit L, LA, RGB or RGBA with straight alpha, or 16-bit gray and RGB kept as they are.

use super::samples::{Alpha, Colour, Samples};
use super::spaces::{lab_to_srgb, Encode, Inks, YCbCr};
use crate::image::ImageError;

/// Converts rows of one image; holds its tables and scratch rows.
pub(super) struct Convert {
    samples: Samples,
    width: usize,
    inks: Option<Inks>,
    lab: Option<Encode>,
    ycbcr: Option<YCbCr>,
    /// One row as 8-bit samples (`used` a pixel), alpha already straight.
    scratch: Vec<u8>,
    /// CMYK with alpha: the inks alone, and their RGB.
    inks_row: Vec<u8>,
    rgb_row: Vec<u8>,
}

impl Convert {
    /// `inks`: the CMYK conversion, for CMYK samples.
    pub fn new(samples: &Samples, width: u32, inks: Option<Inks>) -> Self {
        let width = width as usize;
        let lab = matches!(samples.colour, Colour::Lab { .. }).then(Encode::new);
        let ycbcr = match samples.colour {
            Colour::YCbCr {
                luma, reference, ..
            } => Some(YCbCr::new(luma, reference)),
            _ => None,
        };
        let with_alpha_inks = samples.colour == Colour::Cmyk && samples.alpha.is_some();
        Convert {
            samples: samples.clone(),
            width,
            inks,
            lab,
            ycbcr,
            scratch: vec![0; width * usize::from(samples.used())],
            inks_row: vec![0; if with_alpha_inks { width * 4 } else { 0 }],
            rgb_row: vec![0; if with_alpha_inks { width * 3 } else { 0 }],
        }
    }

    /// Bytes of one stored row of `stride` samples a pixel.
    pub fn stored_row_bytes(&self, stride: u16) -> usize {
        (self.width * usize::from(stride) * usize::from(self.samples.bits)).div_ceil(8)
    }

    /// One row to 8 bits in `layout()`'s channels.
    pub fn row8(&mut self, src: &[u8], stride: u16, out: &mut [u8]) -> Result<(), ImageError> {
        self.gather(src, usize::from(stride));
        let s = &self.samples;
        let used = usize::from(s.used());
        let px = self.scratch.chunks_exact(used);
        match &s.colour {
            Colour::Gray { white_is_zero } => {
                let max = (1u32 << s.bits.min(8)) - 1;
                for (p, o) in px.zip(out.chunks_exact_mut(used)) {
                    let v = (u32::from(p[0]) * 255 / max) as u8;
                    o[0] = if *white_is_zero { 255 - v } else { v };
                    if used == 2 {
                        o[1] = p[1];
                    }
                }
            }
            Colour::Palette(map) => {
                // Gray out (a palette of grays) has 1 or 2 channels a pixel, RGB 3 or 4.
                let n = out.len() / self.width;
                let colour = n - (used - 1);
                for (p, o) in px.zip(out.chunks_exact_mut(n)) {
                    let c = map.get(usize::from(p[0])).copied().unwrap_or_default();
                    o[..colour].copy_from_slice(&c[..colour]);
                    if used == 2 {
                        o[colour] = p[1];
                    }
                }
            }
            Colour::Rgb => out.copy_from_slice(&self.scratch),
            Colour::Cmyk => self.cmyk(out)?,
            Colour::Lab { icc } => {
                let enc = self.lab.as_ref().expect("made for Lab");
                for (p, o) in px.zip(out.chunks_exact_mut(used)) {
                    let l = f32::from(p[0]) * 100.0 / 255.0;
                    let (a, b) = match icc {
                        true => (f32::from(p[1]) - 128.0, f32::from(p[2]) - 128.0),
                        false => (f32::from(p[1] as i8), f32::from(p[2] as i8)),
                    };
                    o[..3].copy_from_slice(&lab_to_srgb(enc, l, a, b));
                    if used == 4 {
                        o[3] = p[3];
                    }
                }
            }
            Colour::YCbCr { .. } => {
                let t = self.ycbcr.as_ref().expect("made for Y′CbCr");
                for (p, o) in px.zip(out.chunks_exact_mut(used)) {
                    o[..3].copy_from_slice(&t.rgb(p[0], p[1], p[2]));
                    if used == 4 {
                        o[3] = p[3];
                    }
                }
            }
        }
        Ok(())
    }

    fn cmyk(&mut self, out: &mut [u8]) -> Result<(), ImageError> {
        let inks = self.inks.as_ref().expect("made for CMYK");
        let failed = |e: String| ImageError::Invalid(format!("cannot convert CMYK: {e}"));
        if self.samples.alpha.is_none() {
            return inks.convert(&self.scratch, out).map_err(failed);
        }
        for (p, i) in self
            .scratch
            .chunks_exact(5)
            .zip(self.inks_row.chunks_exact_mut(4))
        {
            i.copy_from_slice(&p[..4]);
        }
        inks.convert(&self.inks_row, &mut self.rgb_row)
            .map_err(failed)?;
        let px = self
            .scratch
            .chunks_exact(5)
            .zip(self.rgb_row.chunks_exact(3));
        for ((p, rgb), o) in px.zip(out.chunks_exact_mut(4)) {
            o[..3].copy_from_slice(rgb);
            o[3] = p[4];
        }
        Ok(())
    }

    /// The row's `used` samples of each pixel into `scratch` at 8 bits (fewer than 8 bits: the
    /// stored value, unscaled), premultiplied alpha made straight first.
    fn gather(&mut self, src: &[u8], stride: usize) {
        let s = &self.samples;
        let used = usize::from(s.used());
        let straight = s.alpha == Some(Alpha::Premultiplied);
        match s.bits {
            16 => {
                let lab = matches!(s.colour, Colour::Lab { .. });
                let mut wide = [0u16; 5];
                for (x, o) in self.scratch.chunks_exact_mut(used).enumerate() {
                    let p = &src[x * stride * 2..];
                    for (i, w) in wide[..used].iter_mut().enumerate() {
                        *w = u16::from_ne_bytes([p[2 * i], p[2 * i + 1]]);
                    }
                    if straight {
                        unpremultiply(&mut wide[..used], 65535);
                    }
                    for (o, &w) in o.iter_mut().zip(&wide[..used]) {
                        // Lab keeps its high byte: the signed a*, b* of 8-bit CIELab.
                        *o = if lab {
                            (w >> 8) as u8
                        } else {
                            ((u32::from(w) + 128) / 257) as u8
                        };
                    }
                }
            }
            8 => {
                for (o, p) in self.scratch.chunks_exact_mut(used).zip(src.chunks(stride)) {
                    o.copy_from_slice(&p[..used]);
                }
                if straight {
                    for p in self.scratch.chunks_exact_mut(used) {
                        let mut wide = [0u16; 5];
                        wide[..used]
                            .iter_mut()
                            .zip(&*p)
                            .for_each(|(w, v)| *w = u16::from(*v));
                        unpremultiply(&mut wide[..used], 255);
                        p.iter_mut().zip(&wide).for_each(|(v, w)| *v = *w as u8);
                    }
                }
            }
            bits => {
                let bits = usize::from(bits);
                let mask = (1u16 << bits) - 1;
                for (x, o) in self.scratch.iter_mut().enumerate() {
                    let bit = x * bits;
                    let pair =
                        u16::from_be_bytes([src[bit / 8], *src.get(bit / 8 + 1).unwrap_or(&0)]);
                    *o = ((pair >> (16 - bits - bit % 8)) & mask) as u8;
                }
            }
        }
    }

    /// One 16-bit gray or RGB row (`Samples::keeps_16_bits`), alpha straight, WhiteIsZero
    /// inverted.
    pub fn row16(&self, src: &[u8], stride: u16, out: &mut [u16]) {
        let s = &self.samples;
        let used = usize::from(s.used());
        let stride = usize::from(stride);
        let invert = s.colour
            == Colour::Gray {
                white_is_zero: true,
            };
        for (x, o) in out.chunks_exact_mut(used).enumerate() {
            let p = &src[x * stride * 2..];
            for (i, w) in o.iter_mut().enumerate() {
                *w = u16::from_ne_bytes([p[2 * i], p[2 * i + 1]]);
            }
            if s.alpha == Some(Alpha::Premultiplied) {
                unpremultiply(o, 65535);
            }
            if invert {
                o[0] = 65535 - o[0];
            }
        }
    }
}

/// Premultiplied colour samples (all but the last, alpha) made straight: c·max/a, rounded,
/// at most `max`; nothing where alpha is 0.
fn unpremultiply(px: &mut [u16], max: u32) {
    let Some((&mut a, colour)) = px.split_last_mut() else {
        return;
    };
    let a = u32::from(a);
    for c in colour {
        *c = match a {
            0 => 0,
            _ => ((u32::from(*c) * max + a / 2) / a).min(max) as u16,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(colour: Colour, bits: u8, colour_samples: u16, alpha: Option<Alpha>) -> Samples {
        Samples {
            colour,
            bits,
            colour_samples,
            alpha,
            stored: colour_samples + u16::from(alpha.is_some()),
            planar: false,
            compression: 1,
            predictor: false,
        }
    }

    #[test]
    fn packed_gray_is_scaled_and_white_is_zero_inverted() {
        let s = samples(
            Colour::Gray {
                white_is_zero: true,
            },
            1,
            1,
            None,
        );
        let mut c = Convert::new(&s, 10, None);
        let mut out = [0u8; 10];
        c.row8(&[0b1010_0000, 0b0100_0000], 1, &mut out).unwrap();
        assert_eq!(out, [0, 255, 0, 255, 255, 255, 255, 255, 255, 0]);
        let s = samples(
            Colour::Gray {
                white_is_zero: false,
            },
            4,
            1,
            None,
        );
        let mut c = Convert::new(&s, 3, None);
        let mut out = [0u8; 3];
        c.row8(&[0xF0, 0x80], 1, &mut out).unwrap();
        assert_eq!(out, [255, 0, 136]);
    }

    #[test]
    fn premultiplied_16_bit_rgba_comes_out_straight_at_8_bits() {
        let s = samples(Colour::Rgb, 16, 3, Some(Alpha::Premultiplied));
        let mut c = Convert::new(&s, 1, None);
        let px: Vec<u8> = [16384u16, 0, 32768, 32768]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect();
        let mut out = [0u8; 4];
        c.row8(&px, 4, &mut out).unwrap();
        assert_eq!(out, [128, 0, 255, 128]);
        let mut wide = [0u16; 4];
        c.row16(&px, 4, &mut wide);
        assert_eq!(wide, [32768, 0, 65535, 32768]);
    }

    #[test]
    fn palette_indices_of_extra_samples_are_skipped_by_stride() {
        let map = vec![[10, 20, 30], [40, 50, 60]];
        let s = samples(Colour::Palette(map), 8, 1, None);
        let mut c = Convert::new(&s, 2, None);
        let mut out = [0u8; 6];
        c.row8(&[1, 9, 0, 9], 2, &mut out).unwrap();
        assert_eq!(out, [40, 50, 60, 10, 20, 30]);
    }
}
