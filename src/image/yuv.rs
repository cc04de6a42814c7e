//! An opaque lossy WebP kept in the colour space it is stored in: 4:2:0 Y′CbCr planes (decoded
//! and encoded by libwebp in `webp.rs`), each plane resized on its own. Half the bytes of RGB at
//! every stage (a 16.8 MP photo is 25 MB decoded instead of 50), and neither the decoder's
//! chroma upsampling to RGB nor the encoder's conversion back to 4:2:0 runs.

use image::{DynamicImage, GrayImage};

use super::error::ImageError;
use super::resize::resize_plane;

/// One picture as 4:2:0 planes: `u` and `v` have half the width and height of `y`, rounded up.
/// Each plane is an 8-bit gray image, so resizing and orientation work on it as on any other.
#[derive(Debug, Clone)]
pub(super) struct Yuv {
    pub y: DynamicImage,
    pub u: DynamicImage,
    pub v: DynamicImage,
}

/// The chroma plane size of a `w`×`h` picture.
pub(super) fn chroma(w: u32, h: u32) -> (u32, u32) {
    (w.div_ceil(2), h.div_ceil(2))
}

impl Yuv {
    pub(super) fn width(&self) -> u32 {
        self.y.width()
    }

    pub(super) fn height(&self) -> u32 {
        self.y.height()
    }

    /// The planes as libwebp wrote them: `y` of `w`×`h`, `u` and `v` of the chroma size.
    pub(super) fn from_planes(
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
    /// When that reaches past the source's chroma plane (an odd output size), it is clamped to
    /// the plane: colour then sits at most half a chroma sample off at the far edge, less than
    /// the usual disagreement between decoders about where chroma samples sit.
    pub(super) fn resize(&self, w: u32, h: u32) -> Result<Yuv, ImageError> {
        let (sw, sh) = (f64::from(self.width()), f64::from(self.height()));
        let y = resize_plane(&self.y, (sw, sh), w, h)?;
        let (cw, ch) = chroma(w, h);
        let extent = (
            (f64::from(cw) * sw / f64::from(w)).min(f64::from(self.u.width())),
            (f64::from(ch) * sh / f64::from(h)).min(f64::from(self.u.height())),
        );
        Ok(Yuv {
            y,
            u: resize_plane(&self.u, extent, cw, ch)?,
            v: resize_plane(&self.v, extent, cw, ch)?,
        })
    }

    /// Turns the picture by an EXIF orientation, every plane alike.
    pub(super) fn apply_orientation(&mut self, orientation: image::metadata::Orientation) {
        for plane in [&mut self.y, &mut self.u, &mut self.v] {
            plane.apply_orientation(orientation);
        }
    }
}
