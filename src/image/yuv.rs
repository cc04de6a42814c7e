//! Opaque lossy WebP kept in the colour space it is stored in: 4:2:0 Y′CbCr planes from
//! libwebp's decoder, each plane resized on its own, and handed back to libwebp's encoder as
//! they are. Half the bytes of RGB at every stage (a 16.8 MP photo is 25 MB decoded instead
//! of 50), and neither the decoder's chroma upsampling to RGB nor the encoder's conversion
//! back to 4:2:0 runs.

use image::{DynamicImage, GrayImage};

use super::encode;
use super::ImageError;

/// One picture as 4:2:0 planes: `u` and `v` have half the width and height of `y`, rounded up.
/// Each plane is an 8-bit gray image, so resizing and orientation work on it as on any other.
#[derive(Debug, Clone)]
pub(super) struct Yuv {
    pub y: DynamicImage,
    pub u: DynamicImage,
    pub v: DynamicImage,
}

/// The chroma plane size of a `w`×`h` picture.
fn chroma(w: u32, h: u32) -> (u32, u32) {
    (w.div_ceil(2), h.div_ceil(2))
}

impl Yuv {
    pub fn width(&self) -> u32 {
        self.y.width()
    }

    pub fn height(&self) -> u32 {
        self.y.height()
    }

    /// Decodes a still, opaque, lossy WebP (anything else is `None`: it takes the RGB path).
    pub fn decode(bytes: &[u8]) -> Option<Yuv> {
        let features = webp::BitstreamFeatures::new(bytes)?;
        if features.has_animation()
            || features.has_alpha()
            || !matches!(features.format(), Some(webp::BitstreamFormat::Lossy))
        {
            return None;
        }
        let (w, h) = (features.width(), features.height());
        let (cw, ch) = chroma(w, h);
        let plane = |w: u32, h: u32| -> Option<Vec<u8>> {
            let len = usize::try_from(u64::from(w) * u64::from(h)).ok()?;
            let mut v = Vec::new();
            v.try_reserve_exact(len).ok()?;
            v.resize(len, 0u8);
            Some(v)
        };
        let (mut y, mut u, mut v) = (plane(w, h)?, plane(cw, ch)?, plane(cw, ch)?);
        let mut config = libwebp_sys::WebPDecoderConfig::new().ok()?;
        // A second thread runs the loop filter of the previous rows while the next are decoded.
        config.options.use_threads = 1;
        config.output.colorspace = libwebp_sys::WEBP_CSP_MODE::MODE_YUV;
        config.output.is_external_memory = 1;
        config.output.u.YUVA = libwebp_sys::WebPYUVABuffer {
            y: y.as_mut_ptr(),
            u: u.as_mut_ptr(),
            v: v.as_mut_ptr(),
            a: std::ptr::null_mut(),
            y_stride: std::ffi::c_int::try_from(w).ok()?,
            u_stride: std::ffi::c_int::try_from(cw).ok()?,
            v_stride: std::ffi::c_int::try_from(cw).ok()?,
            a_stride: 0,
            y_size: y.len(),
            u_size: u.len(),
            v_size: v.len(),
            a_size: 0,
        };
        // SAFETY: the three outputs are our vectors, each exactly stride × rows bytes, external
        // memory libwebp writes into and never frees; it checks those sizes against the
        // picture's and fails rather than write past them. No alpha plane is asked for.
        let status = unsafe { libwebp_sys::WebPDecode(bytes.as_ptr(), bytes.len(), &mut config) };
        // SAFETY: frees only what libwebp allocated itself (nothing, with external memory).
        unsafe { libwebp_sys::WebPFreeDecBuffer(&mut config.output) };
        if status != libwebp_sys::VP8StatusCode::VP8_STATUS_OK {
            return None;
        }
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
    pub fn resize(&self, w: u32, h: u32) -> Result<Yuv, ImageError> {
        let (sw, sh) = (f64::from(self.width()), f64::from(self.height()));
        let y = encode::resize_plane(&self.y, (sw, sh), w, h)?;
        let (cw, ch) = chroma(w, h);
        let extent = (
            (f64::from(cw) * sw / f64::from(w)).min(f64::from(self.u.width())),
            (f64::from(ch) * sh / f64::from(h)).min(f64::from(self.u.height())),
        );
        Ok(Yuv {
            y,
            u: encode::resize_plane(&self.u, extent, cw, ch)?,
            v: encode::resize_plane(&self.v, extent, cw, ch)?,
        })
    }

    /// Turns the picture by an EXIF orientation, every plane alike.
    pub fn apply_orientation(&mut self, orientation: image::metadata::Orientation) {
        for plane in [&mut self.y, &mut self.u, &mut self.v] {
            plane.apply_orientation(orientation);
        }
    }

    /// Lossy WebP at `quality`, libwebp's default settings otherwise (method 4, as
    /// `WebPEncodeRGB` and sharp use).
    pub fn encode(&self, quality: f32) -> Result<Vec<u8>, ImageError> {
        let fail = |what: String| ImageError::Invalid(format!("cannot encode variant: {what}"));
        let int = |n: u32| std::ffi::c_int::try_from(n).map_err(|e| fail(e.to_string()));
        let mut config =
            libwebp_sys::WebPConfig::new().map_err(|()| fail("libwebp config".into()))?;
        config.quality = quality;
        let mut picture =
            libwebp_sys::WebPPicture::new().map_err(|()| fail("libwebp picture".into()))?;
        picture.use_argb = 0;
        picture.colorspace = libwebp_sys::WebPEncCSP::WEBP_YUV420;
        picture.width = int(self.width())?;
        picture.height = int(self.height())?;
        let bytes = |p: &DynamicImage| p.as_bytes().as_ptr().cast_mut();
        picture.y = bytes(&self.y);
        picture.u = bytes(&self.u);
        picture.v = bytes(&self.v);
        picture.y_stride = int(self.y.width())?;
        picture.uv_stride = int(self.u.width())?;
        let mut writer = std::mem::MaybeUninit::<libwebp_sys::WebPMemoryWriter>::uninit();
        // SAFETY: the writer is initialised before use and cleared (its buffer freed) after
        // the bytes are copied out. The picture points into our planes, which outlive the
        // call; libwebp's lossy encoder only reads them (it copies each macroblock in; it
        // would write to them only to clean up transparent areas, and there is no alpha
        // plane). The picture owns no memory of its own, so it needs no WebPPictureFree.
        unsafe {
            libwebp_sys::WebPMemoryWriterInit(writer.as_mut_ptr());
            picture.writer = Some(libwebp_sys::WebPMemoryWrite);
            picture.custom_ptr = writer.as_mut_ptr().cast();
            let ok = libwebp_sys::WebPEncode(&config, &mut picture) != 0;
            let mut writer = writer.assume_init();
            let out = if ok && !writer.mem.is_null() {
                Ok(std::slice::from_raw_parts(writer.mem, writer.size).to_vec())
            } else {
                Err(fail(format!("libwebp error {:?}", picture.error_code)))
            };
            libwebp_sys::WebPMemoryWriterClear(&mut writer);
            out
        }
    }
}
