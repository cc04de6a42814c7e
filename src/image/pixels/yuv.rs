//! An opaque lossy WebP kept in the colour space it is stored in: 4:2:0 Y′CbCr planes (decoded
//! and encoded by libwebp in `codecs::webp`), each plane resized on its own. Half the bytes of RGB at
//! every stage (a 16.8 MP photo is 25 MB decoded instead of 50), and neither the decoder's
//! chroma upsampling to RGB nor the encoder's conversion back to 4:2:0 runs.

use image::{DynamicImage, GrayImage};

use crate::image::error::ImageError;
use crate::image::pixels::resize::resize_plane;

/// One picture as 4:2:0 planes: `u` and `v` have half the width and height of `y`, rounded up.
/// Each plane is an 8-bit gray image, so resizing and orientation work on it as on any other.
#[derive(Debug, Clone)]
pub(in crate::image) struct Yuv {
    pub y: DynamicImage,
    pub u: DynamicImage,
    pub v: DynamicImage,
}

/// `plane` extended to at least `w`×`h` by repeating its last column and row; `None` when it
/// is that large already.
fn extend(plane: &DynamicImage, w: u32, h: u32) -> Option<DynamicImage> {
    let (pw, ph) = (plane.width(), plane.height());
    if w <= pw && h <= ph {
        return None;
    }
    let src = plane.as_luma8()?;
    let (w, h) = (w.max(pw), h.max(ph));
    let mut data = Vec::with_capacity(w as usize * h as usize);
    for y in 0..h {
        let row = &src.as_raw()[(y.min(ph - 1) * pw) as usize..][..pw as usize];
        data.extend_from_slice(row);
        data.resize(data.len() + (w - pw) as usize, row[row.len() - 1]);
    }
    GrayImage::from_raw(w, h, data).map(DynamicImage::ImageLuma8)
}

/// The chroma plane size of a `w`×`h` picture.
pub(in crate::image) fn chroma(w: u32, h: u32) -> (u32, u32) {
    (w.div_ceil(2), h.div_ceil(2))
}

impl Yuv {
    pub(in crate::image) fn width(&self) -> u32 {
        self.y.width()
    }

    pub(in crate::image) fn height(&self) -> u32 {
        self.y.height()
    }

    /// The planes as libwebp wrote them: `y` of `w`×`h`, `u` and `v` of the chroma size.
    pub(in crate::image) fn from_planes(
        (w, h, y): (u32, u32, Vec<u8>),
        (cw, ch, u): (u32, u32, Vec<u8>),
        v: Vec<u8>,
    ) -> Option<Yuv> {
        let gray = |w, h, data| GrayImage::from_raw(w, h, data).map(DynamicImage::ImageLuma8);
        Some(Yuv {
            y: gray(w, h, y)?,
            u: gray(cw, ch, u)?,
            v: gray(cw, ch, v)?,
        })
    }

    /// Lanczos3 to `w`×`h`, plane by plane. A chroma sample stands for a 2×2 block of luma
    /// samples, so the chroma planes are resized over the same part of the picture as luma:
    /// `ceil(w/2)` output samples span `2·ceil(w/2)` output pixels, `W/w` source pixels each.
    /// When that reaches past the source's chroma plane (an odd output size), the plane is
    /// extended by repeating its last column and row, as the filter does at any edge: every
    /// output chroma sample then sits exactly over its luma (clamping the span to the plane
    /// instead stretched the chroma by up to one sample, a colour fringe along the bottom and
    /// right edges of sharp shapes).
    pub(in crate::image) fn resize(&self, w: u32, h: u32) -> Result<Yuv, ImageError> {
        let (sw, sh) = (f64::from(self.width()), f64::from(self.height()));
        let y = resize_plane(&self.y, (sw, sh), w, h)?;
        let (cw, ch) = chroma(w, h);
        let extent = (
            f64::from(cw) * sw / f64::from(w),
            f64::from(ch) * sh / f64::from(h),
        );
        let plane = |p: &DynamicImage| -> Result<DynamicImage, ImageError> {
            let padded = extend(p, extent.0.ceil() as u32, extent.1.ceil() as u32);
            resize_plane(padded.as_ref().unwrap_or(p), extent, cw, ch)
        };
        Ok(Yuv {
            y,
            u: plane(&self.u)?,
            v: plane(&self.v)?,
        })
    }

    /// Turns the picture by an EXIF orientation, every plane alike.
    pub(in crate::image) fn apply_orientation(
        &mut self,
        orientation: image::metadata::Orientation,
    ) {
        for plane in [&mut self.y, &mut self.u, &mut self.v] {
            crate::image::pixels::orient::apply(plane, orientation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chroma that rises linearly down (or across) the picture must come out of an odd-size
    /// resize where the luma grid says: output chroma row `j` covers output pixel rows `2j` and
    /// `2j + 1`, whose centre maps to source chroma position `(2j + 1)·H/h/2 − 0.5`. Lanczos
    /// keeps a linear ramp exact away from the edges, so any misplacement shows as an offset.
    #[test]
    fn odd_sizes_keep_chroma_on_the_luma_grid() {
        let (sw, sh) = (121u32, 121u32);
        let (cw, ch) = chroma(sw, sh);
        let ramp = |i: u32| (4 * i) as u8;
        let planes = Yuv::from_planes(
            (sw, sh, vec![128; (sw * sh) as usize]),
            (cw, ch, (0..cw * ch).map(|i| ramp(i / cw)).collect()),
            (0..cw * ch).map(|i| ramp(i % cw)).collect(),
        )
        .unwrap();
        for (w, h) in [(41u32, 41u32), (43, 37), (101, 99)] {
            let out = planes.resize(w, h).unwrap();
            let (ow, oh) = chroma(w, h);
            let (u, v) = (out.u.as_luma8().unwrap(), out.v.as_luma8().unwrap());
            let at = |j: u32, src: u32, dst: u32| {
                4.0 * ((2 * j + 1) as f64 * f64::from(src) / f64::from(dst) / 2.0 - 0.5)
            };
            for j in 5..oh - 5 {
                let got = f64::from(u.get_pixel(ow / 2, j)[0]);
                let want = at(j, sh, h);
                assert!(
                    (got - want).abs() <= 0.75,
                    "{w}x{h} row {j}: {got}, want {want}"
                );
            }
            for i in 5..ow - 5 {
                let got = f64::from(v.get_pixel(i, oh / 2)[0]);
                let want = at(i, sw, w);
                assert!(
                    (got - want).abs() <= 0.75,
                    "{w}x{h} column {i}: {got}, want {want}"
                );
            }
        }
    }
}
