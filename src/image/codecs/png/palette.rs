//! An indexed PNG keeps its palette where that loses no detail. An indexed PNG (a palette, as
//! pngquant and most graphics tools write) decodes to full RGB(A); resizing then blends
//! neighbouring colours, and written back in full colour a variant can be several times the
//! size of the original (a 3000 px photo quantized to 256 colours, 1.05 MB, gave a 2.75 MB
//! `large`). So a variant of such a file is mapped back to the original's own palette with
//! Floyd–Steinberg error diffusion, which keeps the average colour of every area, and written
//! as an indexed PNG: the size follows the pixel count again (0.90 MB).
//!
//! Only where that keeps the picture (PRODUCT.md "Bilevel and few-colour images"): when the
//! mapped variant's SSIM to the resized one (luma, 8×8 windows) is at least 0.95. A few-colour
//! palette (a scanned page, line art) fails it, as dithered noise would replace the
//! anti-aliased edges, and goes out in full colour. 1-, 2- and 4-bit gray PNGs are never
//! mapped back: their variants are anti-aliased 8-bit gray.

use image::DynamicImage;

use crate::image::error::ImageError;

/// The few colours a PNG is stored with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::image) enum Palette {
    /// Colour type 3: up to 256 RGBA entries (alpha from `tRNS`, 255 where it has none).
    Indexed(Vec<[u8; 4]>),
}

/// The least SSIM a palette-mapped variant may have to its resized pixels (PRODUCT.md: within
/// 0.05 of a plain Lanczos resize, which a lossless PNG keeps at 1).
const MIN_SSIM: f64 = 0.95;

impl Palette {
    /// The palette of a PNG from its first `IHDR`, `PLTE` and `tRNS` chunks (each `None` when
    /// missing, `Some(None)` when cut off), `None` for any other kind of PNG.
    pub(in crate::image) fn from_chunks(
        ihdr: Option<Option<&[u8]>>,
        plte: Option<Option<&[u8]>>,
        trns: Option<Option<&[u8]>>,
    ) -> Option<Palette> {
        let ihdr = ihdr.flatten()?;
        match *ihdr.get(9)? {
            3 => {
                let alpha = trns.flatten().unwrap_or(&[]);
                let entries: Vec<[u8; 4]> = plte
                    .flatten()?
                    .chunks_exact(3)
                    .enumerate()
                    .map(|(i, c)| [c[0], c[1], c[2], alpha.get(i).copied().unwrap_or(255)])
                    .collect();
                (!entries.is_empty() && entries.len() <= 256).then_some(Palette::Indexed(entries))
            }
            _ => None,
        }
    }

    /// Encodes `img` (8-bit gray or RGB(A), as resized from the decoded original) as a PNG in
    /// this palette. `None` if the pixels are of another kind, or if mapping them to the
    /// palette loses detail (SSIM under `MIN_SSIM`): they then go out as they are.
    pub(in crate::image) fn encode(
        &self,
        img: &DynamicImage,
        strongest: bool,
    ) -> Option<Result<Vec<u8>, ImageError>> {
        let (w, h) = (img.width(), img.height());
        let (indices, depth, colour) = match (self, img) {
            (Palette::Indexed(entries), img) => {
                // Read in place: a copy of `large` as RGBA would be 4 bytes a pixel more.
                let raw = img.as_bytes();
                let indices = match img {
                    DynamicImage::ImageRgba8(_) => {
                        dither_indexed(raw, 4, w, entries, |p| [p[0], p[1], p[2], p[3]])
                    }
                    DynamicImage::ImageRgb8(_) => {
                        dither_indexed(raw, 3, w, entries, |p| [p[0], p[1], p[2], 255])
                    }
                    DynamicImage::ImageLuma8(_) => {
                        dither_indexed(raw, 1, w, entries, |p| [p[0], p[0], p[0], 255])
                    }
                    DynamicImage::ImageLumaA8(_) => {
                        dither_indexed(raw, 2, w, entries, |p| [p[0], p[0], p[0], p[1]])
                    }
                    _ => return None,
                };
                if ssim_of_mapping(img, &indices, entries)? < MIN_SSIM {
                    return None;
                }
                let depth = match entries.len() {
                    0..=2 => 1,
                    3..=4 => 2,
                    5..=16 => 4,
                    _ => 8,
                };
                (indices, depth, png::ColorType::Indexed)
            }
        };
        Some(write(self, &indices, (w, h), depth, colour, strongest))
    }
}

fn write(
    palette: &Palette,
    indices: &[u8],
    (w, h): (u32, u32),
    depth: u8,
    colour: png::ColorType,
    strongest: bool,
) -> Result<Vec<u8>, ImageError> {
    let fail = |e: png::EncodingError| ImageError::Invalid(format!("cannot encode variant: {e}"));
    let packed = pack(indices, w as usize, depth);
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(colour);
    enc.set_depth(match depth {
        1 => png::BitDepth::One,
        2 => png::BitDepth::Two,
        4 => png::BitDepth::Four,
        _ => png::BitDepth::Eight,
    });
    let Palette::Indexed(entries) = palette;
    {
        enc.set_palette(
            entries
                .iter()
                .flat_map(|e| [e[0], e[1], e[2]])
                .collect::<Vec<u8>>(),
        );
        // tRNS up to the last entry that is not opaque (none at all if every one is).
        let alpha: Vec<u8> = entries.iter().map(|e| e[3]).collect();
        let kept = alpha.iter().rposition(|&a| a != 255).map_or(0, |i| i + 1);
        if kept > 0 {
            enc.set_trns(alpha[..kept].to_vec());
        }
    }
    // fdeflate (the truecolour variants' `Fast`) is tuned for filtered samples and leaves
    // dithered indices all but uncompressed (3.2 MB for a 3.2 MP `large`). zlib level 3:
    // 3 % over level 6's bytes in 80 % of its time; the size-order retry uses level 9.
    enc.set_deflate_compression(png::DeflateCompression::Level(if strongest {
        9
    } else {
        3
    }));
    // Indices are not magnitudes: predicting them from their neighbours only adds noise
    // (libpng's advice for palette images). Gray levels are, but dithered ones barely.
    enc.set_filter(png::Filter::NoFilter);
    let mut writer = enc.write_header().map_err(fail)?;
    writer.write_image_data(&packed).map_err(fail)?;
    writer.finish().map_err(fail)?;
    Ok(out)
}

/// Rows of one index (or level) per byte packed to `depth` bits, first pixel in the high bits,
/// each row starting on a byte.
fn pack(indices: &[u8], w: usize, depth: u8) -> std::borrow::Cow<'_, [u8]> {
    if depth == 8 || w == 0 {
        return indices.into();
    }
    let per_byte = 8 / usize::from(depth);
    let mut out = Vec::with_capacity(indices.len().div_ceil(per_byte) + indices.len() / w);
    for row in indices.chunks(w) {
        for group in row.chunks(per_byte) {
            let mut byte = 0u8;
            for (k, &v) in group.iter().enumerate() {
                byte |= v << (8 - usize::from(depth) * (k + 1));
            }
            out.push(byte);
        }
    }
    out.into()
}

/// Floyd–Steinberg error diffusion: 7/16 of a pixel's error to the right, 3/16, 5/16 and 1/16
/// to the row below. Errors are carried in 1/16 units.
struct Diffusion<const N: usize> {
    w: usize,
    this: Vec<[i32; N]>,
    next: Vec<[i32; N]>,
}

impl<const N: usize> Diffusion<N> {
    fn new(w: usize) -> Self {
        // One spare entry at each end, so no pixel needs an edge test.
        Diffusion {
            w,
            this: vec![[0; N]; w + 2],
            next: vec![[0; N]; w + 2],
        }
    }

    /// The wanted value of pixel `x` of the current row: its own plus the error it received.
    fn want(&self, x: usize, own: [i32; N]) -> [i32; N] {
        std::array::from_fn(|c| (own[c] + (self.this[x + 1][c] + 8).div_euclid(16)).clamp(0, 255))
    }

    fn spread(&mut self, x: usize, err: [i32; N]) {
        for (c, &e) in err.iter().enumerate() {
            self.this[x + 2][c] += 7 * e;
            self.next[x][c] += 3 * e;
            self.next[x + 1][c] += 5 * e;
            self.next[x + 2][c] += e;
        }
    }

    fn next_row(&mut self) {
        std::mem::swap(&mut self.this, &mut self.next);
        self.next.iter_mut().for_each(|e| *e = [0; N]);
        debug_assert_eq!(self.this.len(), self.w + 2);
    }
}

/// The SSIM between `img` and its palette mapping (`indices` into `entries`), on the luma of
/// premultiplied colours (so transparency counts); `None` for pixels of another kind.
fn ssim_of_mapping(img: &DynamicImage, indices: &[u8], entries: &[[u8; 4]]) -> Option<f64> {
    let luma = |[r, g, b, a]: [u8; 4]| {
        let [r, g, b, _] = premultiply([r, g, b, a]);
        (299 * r + 587 * g + 114 * b) as f32 / 1000.0
    };
    let raw = img.as_bytes();
    let original: Vec<f32> = match img {
        DynamicImage::ImageRgba8(_) => raw
            .chunks_exact(4)
            .map(|p| luma([p[0], p[1], p[2], p[3]]))
            .collect(),
        DynamicImage::ImageRgb8(_) => raw
            .chunks_exact(3)
            .map(|p| luma([p[0], p[1], p[2], 255]))
            .collect(),
        DynamicImage::ImageLuma8(_) => raw.iter().map(|&v| f32::from(v)).collect(),
        DynamicImage::ImageLumaA8(_) => raw
            .chunks_exact(2)
            .map(|p| luma([p[0], p[0], p[0], p[1]]))
            .collect(),
        _ => return None,
    };
    let table: Vec<f32> = entries.iter().map(|&e| luma(e)).collect();
    let mapped: Vec<f32> = indices.iter().map(|&i| table[usize::from(i)]).collect();
    Some(ssim(&original, &mapped, img.width() as usize))
}

/// Mean SSIM (Wang et al. 2004) of two gray images `w` pixels wide, over 8×8 windows that do
/// not overlap (a partial window at the right or bottom edge is left out; an image smaller
/// than one window is compared whole), with the usual constants for 8-bit samples.
pub(in crate::image) fn ssim(a: &[f32], b: &[f32], w: usize) -> f64 {
    const C1: f64 = (0.01 * 255.0) * (0.01 * 255.0);
    const C2: f64 = (0.03 * 255.0) * (0.03 * 255.0);
    let h = a.len() / w.max(1);
    let (win_w, win_h) = (8.min(w), 8.min(h));
    let (mut total, mut windows) = (0.0, 0usize);
    for y0 in (0..=h.saturating_sub(win_h)).step_by(win_h.max(1)) {
        for x0 in (0..=w.saturating_sub(win_w)).step_by(win_w.max(1)) {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for y in y0..y0 + win_h {
                for x in x0..x0 + win_w {
                    let (p, q) = (f64::from(a[y * w + x]), f64::from(b[y * w + x]));
                    sa += p;
                    sb += q;
                    saa += p * p;
                    sbb += q * q;
                    sab += p * q;
                }
            }
            let n = (win_w * win_h) as f64;
            let (ma, mb) = (sa / n, sb / n);
            let (va, vb, cov) = (saa / n - ma * ma, sbb / n - mb * mb, sab / n - ma * mb);
            total += ((2.0 * ma * mb + C1) * (2.0 * cov + C2))
                / ((ma * ma + mb * mb + C1) * (va + vb + C2));
            windows += 1;
        }
    }
    if windows == 0 {
        1.0
    } else {
        total / windows as f64
    }
}

/// Pixels (`channels` bytes each, `w` a row, read as RGBA by `rgba`) to indices into
/// `entries`, nearest in premultiplied RGBA (so every fully transparent colour is the same,
/// and a transparent pixel takes a transparent entry).
fn dither_indexed(
    raw: &[u8],
    channels: usize,
    w: u32,
    entries: &[[u8; 4]],
    rgba: impl Fn(&[u8]) -> [u8; 4],
) -> Vec<u8> {
    let w = w as usize;
    let mut nearest = Nearest::new(entries);
    let mut diffusion = Diffusion::<4>::new(w);
    let mut out = Vec::with_capacity(raw.len() / channels);
    for row in raw.chunks((w * channels).max(1)) {
        for (x, p) in row.chunks_exact(channels).enumerate() {
            let want = diffusion.want(x, premultiply(rgba(p)));
            let (index, got) = nearest.find(want);
            diffusion.spread(x, std::array::from_fn(|c| want[c] - got[c]));
            out.push(index);
        }
        diffusion.next_row();
    }
    out
}

fn premultiply([r, g, b, a]: [u8; 4]) -> [i32; 4] {
    let a32 = i32::from(a);
    let m = |c: u8| (i32::from(c) * a32 + 127) / 255;
    [m(r), m(g), m(b), a32]
}

/// Exact nearest-entry search (squared distance in premultiplied RGBA). Colour space is cut
/// into cells (64³ when every entry is opaque, 16⁴ otherwise); the first time a colour falls in
/// a cell, the entries that can be nearest to any colour of that cell are listed (those whose
/// closest possible distance is within the smallest farthest distance of any entry), and later
/// colours there search only that list: a few entries instead of up to 256.
struct Nearest {
    /// Each distinct colour once (palettes often repeat one, e.g. padded with black), with the
    /// first index that has it.
    entries: Vec<([i32; 4], u8)>,
    /// Bits of each channel that pick the cell; alpha is one of the channels unless opaque.
    bits: u32,
    channels: usize,
    /// Per cell: where its candidates start in `candidates` (`u32::MAX` until listed), and
    /// how many there are, less one.
    starts: Vec<u32>,
    lens: Vec<u8>,
    /// Positions in `entries`.
    candidates: Vec<u8>,
}

impl Nearest {
    fn new(palette: &[[u8; 4]]) -> Self {
        let opaque = palette.iter().all(|e| e[3] == 255);
        let (bits, channels) = if opaque { (6, 3) } else { (4, 4) };
        let mut entries: Vec<([i32; 4], u8)> = Vec::with_capacity(palette.len());
        for (i, &e) in palette.iter().enumerate() {
            let colour = premultiply(e);
            if !entries.iter().any(|(c, _)| *c == colour) {
                entries.push((colour, i as u8));
            }
        }
        let cells = 1 << (bits as usize * channels);
        Nearest {
            entries,
            bits,
            channels,
            starts: vec![u32::MAX; cells],
            lens: vec![0; cells],
            candidates: Vec::new(),
        }
    }

    /// `want` is premultiplied, and opaque when every entry is (an opaque palette PNG decodes
    /// to opaque pixels).
    fn find(&mut self, want: [i32; 4]) -> (u8, [i32; 4]) {
        debug_assert!(self.channels == 4 || want[3] == 255);
        let shift = 8 - self.bits;
        let cell = want[..self.channels]
            .iter()
            .fold(0usize, |acc, &v| (acc << self.bits) | (v >> shift) as usize);
        if self.starts[cell] == u32::MAX {
            let start = self.candidates.len();
            self.list(want, shift);
            // At most 64³ cells × 256 entries: within u32.
            self.starts[cell] = start as u32;
            self.lens[cell] = (self.candidates.len() - start - 1) as u8;
        }
        let start = self.starts[cell] as usize;
        let len = usize::from(self.lens[cell]) + 1;
        let mut best = (i32::MAX, 0u8);
        for &at in &self.candidates[start..start + len] {
            let e = &self.entries[usize::from(at)].0;
            let d: i32 = (0..4).map(|k| (e[k] - want[k]).pow(2)).sum();
            if d < best.0 {
                best = (d, at);
            }
        }
        let (colour, index) = self.entries[usize::from(best.1)];
        (index, colour)
    }

    /// Appends the entries that can be nearest to some colour of the cell holding `want`.
    fn list(&mut self, want: [i32; 4], shift: u32) {
        // Per channel, the range of the cell (alpha, when not a cell channel, is exactly 255).
        let range: [(i32, i32); 4] = std::array::from_fn(|k| {
            if k < self.channels {
                let lo = (want[k] >> shift) << shift;
                (lo, lo + (1 << shift) - 1)
            } else {
                (want[k], want[k])
            }
        });
        // Squared distance from an entry to the cell's nearest and farthest points.
        let reach = |e: &[i32; 4]| -> (i32, i32) {
            range
                .iter()
                .zip(e)
                .fold((0, 0), |(near, far), (&(lo, hi), &v)| {
                    let n = (lo - v).max(v - hi).max(0);
                    let f = (v - lo).abs().max((v - hi).abs());
                    (near + n * n, far + f * f)
                })
        };
        let bound = self
            .entries
            .iter()
            .map(|e| reach(&e.0).1)
            .min()
            .unwrap_or(0);
        for (at, e) in self.entries.iter().enumerate() {
            if reach(&e.0).0 <= bound {
                self.candidates.push(at as u8);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_is_the_brute_force_nearest() {
        let mut rng = fastrand::Rng::with_seed(7);
        // Opaque (64³ cells) and translucent (16⁴ cells) palettes, of 1 to 256 entries.
        // `padded`: as many encoders write a palette, one colour repeated to the end.
        for (opaque, n, padded) in [
            (true, 256, false),
            (true, 256, true),
            (true, 3, false),
            (false, 200, false),
            (false, 200, true),
            (false, 1, false),
            (true, 1, false),
        ] {
            let alpha = |rng: &mut fastrand::Rng| {
                if opaque || rng.bool() {
                    255
                } else {
                    rng.u8(..)
                }
            };
            let mut entries: Vec<[u8; 4]> = (0..n)
                .map(|_| [rng.u8(..), rng.u8(..), rng.u8(..), alpha(&mut rng)])
                .collect();
            if !opaque {
                entries[0][3] = 100;
            }
            if padded {
                entries[10..].fill([0, 0, 0, 255]);
            }
            let mut nearest = Nearest::new(&entries);
            for _ in 0..20_000 {
                let want = premultiply([rng.u8(..), rng.u8(..), rng.u8(..), alpha(&mut rng)]);
                let (i, got) = nearest.find(want);
                let d = |c: [i32; 4]| -> i32 { (0..4).map(|k| (c[k] - want[k]).pow(2)).sum() };
                let brute = entries.iter().map(|&e| d(premultiply(e))).min().unwrap();
                assert_eq!(
                    d(got),
                    brute,
                    "{n} entries, opaque {opaque}, padded {padded}"
                );
                assert_eq!(got, premultiply(entries[usize::from(i)]));
            }
        }
    }

    #[test]
    fn dithering_keeps_the_average_and_uses_only_palette_colours() {
        // A horizontal gray ramp over a black-and-white palette: each column's share of white
        // follows its gray value.
        let (w, h) = (64usize, 64usize);
        let pixels: Vec<[u8; 4]> = (0..w * h)
            .map(|i| {
                let v = ((i % w) * 255 / (w - 1)) as u8;
                [v, v, v, 255]
            })
            .collect();
        let entries = [[0, 0, 0, 255], [255, 255, 255, 255]];
        let raw: Vec<u8> = pixels.concat();
        let out = dither_indexed(&raw, 4, w as u32, &entries, |p| [p[0], p[1], p[2], p[3]]);
        assert!(out.iter().all(|&i| i < 2));
        // Each 8-column band (error diffusion moves it sideways within a few pixels).
        for x0 in (0..w).step_by(8) {
            let white = (x0..x0 + 8)
                .flat_map(|x| (0..h).map(move |y| (x, y)))
                .filter(|&(x, y)| out[y * w + x] == 1)
                .count() as f64
                / (8 * h) as f64;
            let expected = (x0..x0 + 8)
                .map(|x| (x * 255 / (w - 1)) as f64 / 255.0)
                .sum::<f64>()
                / 8.0;
            assert!(
                (white - expected).abs() < 0.03,
                "columns {x0}..{}: {white} white, want {expected}",
                x0 + 8
            );
        }
    }

    #[test]
    fn packing_and_ssim() {
        let flat = vec![100.0f32; 64 * 64];
        assert!((ssim(&flat, &flat, 64) - 1.0).abs() < 1e-9);
        let noise: Vec<f32> = (0..64 * 64)
            .map(|i| if i % 2 == 0 { 0.0 } else { 200.0 })
            .collect();
        assert!(ssim(&flat, &noise, 64) < 0.5);
        // 3 pixels per row at 2 bits: one byte per row, padded with zero bits.
        assert_eq!(
            *pack(&[3, 0, 1, 2, 2, 2], 3, 2),
            vec![0b1100_0100, 0b1010_1000]
        );
        assert_eq!(
            *pack(&[1, 0, 1, 1, 0, 0, 0, 1, 1], 9, 1),
            vec![0b1011_0001, 0b1000_0000]
        );
    }
}
