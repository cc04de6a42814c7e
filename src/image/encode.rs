//! The encode step: one variant in the input's format (the format files do the encoding),
//! at the configured quality or, to keep sizes in order, harder.

use crate::image::codecs::png::palette::Palette;
use crate::image::codecs::OutputFormat;
use crate::image::codecs::{jpeg, png, webp};
use crate::image::error::ImageError;
use crate::image::output::Variant;
use crate::image::pixels::{alpha, resize, Alpha, Pixels};
use crate::image::plan::Target;
use crate::image::settings::ImageSettings;

/// What every variant of one image shares.
pub(in crate::image) struct Encoder<'a> {
    pub format: OutputFormat,
    /// WebP only: whether the input was lossy (lossless stays lossless).
    pub lossy: bool,
    pub icc: Option<&'a [u8]>,
    /// PNG only: the input's `gAMA`, `cHRM`, `sRGB`, `cICP` chunks (type, data), written into
    /// every variant (empty where a profile or a conversion to sRGB says the colours instead).
    pub colour_chunks: &'a [([u8; 4], Vec<u8>)],
    pub settings: &'a ImageSettings,
    /// The source pixels have their alpha multiplied in (see `premultiply`).
    pub premultiplied: bool,
    /// PNG only: the few colours the input is stored with, which the variants keep.
    pub palette: Option<&'a Palette>,
}

/// How hard an encoder works for small files.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Effort {
    /// The configured quality, the usual speed.
    Normal,
    /// A lossy encoding at this quality.
    Quality(u8),
    /// Lossless, with the strongest compression.
    Strongest,
}

impl Encoder<'_> {
    /// `src` resized, alpha divided out again if it was multiplied in: ready to encode.
    pub fn pixels(&self, src: &Pixels, w: u32, h: u32) -> Result<Pixels, ImageError> {
        let mut out = self.resized(src, w, h)?;
        if let (true, Pixels::Image(img)) = (self.premultiplied, &mut out) {
            alpha(img, Alpha::Divide)?;
        }
        Ok(out)
    }

    /// `src` (premultiplied when the job is) resized to `w`×`h`, staying premultiplied: the
    /// source of a smaller variant; `shown` makes it ready to encode.
    pub fn resized(&self, src: &Pixels, w: u32, h: u32) -> Result<Pixels, ImageError> {
        resize(src, w, h, self.premultiplied)
    }

    /// The pixels of `big` (made from the source by `resize`) ready to encode.
    pub fn unpremultiplied<'b>(
        &self,
        big: &'b Pixels,
    ) -> Result<std::borrow::Cow<'b, Pixels>, ImageError> {
        match big {
            Pixels::Image(img) if self.premultiplied => {
                let mut copy = img.clone();
                alpha(&mut copy, Alpha::Divide)?;
                Ok(std::borrow::Cow::Owned(Pixels::Image(copy)))
            }
            _ => Ok(std::borrow::Cow::Borrowed(big)),
        }
    }

    /// The placeholder of upright, shown pixels (`shown`), in the colours the variants carry.
    pub fn placeholder(&self, shown: &Pixels) -> crate::image::placeholder::Placeholder {
        crate::image::placeholder::of(shown, self.icc, self.colour_chunks)
    }

    /// Encodes pixels already at `target`'s size.
    pub fn finish(&self, resized: &Pixels, target: &Target) -> Result<Variant, ImageError> {
        self.variant(resized, target, Effort::Normal)
    }

    /// Encodes a JPEG variant from its upright rows in `bands` (whole rows of `target`'s size,
    /// top to bottom, 8-bit `gray` or RGB, as another thread turns them:
    /// `turning::turn_bands`): the bytes `finish` gives for the upright pixels. An error when
    /// the bands stop short.
    pub fn finish_bands(
        &self,
        gray: bool,
        bands: impl IntoIterator<Item = impl AsRef<[u8]>>,
        target: &Target,
    ) -> Result<Variant, ImageError> {
        let size = (target.width, target.height);
        let quality = self.settings.jpeg_quality;
        let data = jpeg::encode_bands(size, gray, quality, self.icc, bands)?;
        Ok(self.named(target, data))
    }

    /// `data`, encoded in the job's format, as `target`'s variant.
    pub fn named(&self, target: &Target, data: Vec<u8>) -> Variant {
        Variant {
            name: target.name,
            width: target.width,
            height: target.height,
            content_type: self.format.content_type(),
            data,
        }
    }

    /// Whether the output is lossy (JPEG, lossy WebP), so a lower quality makes it smaller.
    pub fn is_lossy(&self) -> bool {
        match self.format {
            OutputFormat::Jpeg => true,
            OutputFormat::Png => false,
            OutputFormat::WebP => self.lossy,
        }
    }

    /// Encodes pixels already at `target`'s size again, to fit in `limit` bytes: lossy formats
    /// step the quality down by 10 (at most four times, not below 10), lossless ones use their
    /// strongest compression. Returns the smallest encoding tried, which may still not fit.
    pub fn within(
        &self,
        resized: &Pixels,
        target: &Target,
        limit: usize,
    ) -> Result<Variant, ImageError> {
        let efforts: Vec<Effort> = match self.is_lossy() {
            false => vec![Effort::Strongest],
            true => {
                let q = match self.format {
                    OutputFormat::Jpeg => self.settings.jpeg_quality,
                    _ => self.settings.webp_quality,
                };
                let steps: Vec<Effort> = (1..=4u8)
                    .map(|k| q.saturating_sub(10 * k))
                    .filter(|&q| q >= 10)
                    .map(Effort::Quality)
                    .collect();
                if steps.is_empty() {
                    vec![Effort::Quality(1)]
                } else {
                    steps
                }
            }
        };
        let mut best: Option<Variant> = None;
        for effort in efforts {
            let v = self.variant(resized, target, effort)?;
            let fits = v.data.len() <= limit;
            if best.as_ref().is_none_or(|b| v.data.len() < b.data.len()) {
                best = Some(v);
            }
            if fits {
                break;
            }
        }
        best.ok_or_else(|| ImageError::Invalid("no encoding tried".into()))
    }

    fn variant(
        &self,
        resized: &Pixels,
        target: &Target,
        effort: Effort,
    ) -> Result<Variant, ImageError> {
        let data = self.encode(resized, effort)?;
        Ok(self.named(target, data))
    }

    fn encode(&self, pixels: &Pixels, effort: Effort) -> Result<Vec<u8>, ImageError> {
        let quality = |configured: u8| match effort {
            Effort::Quality(q) => q,
            _ => configured,
        };
        let strongest = effort == Effort::Strongest;
        let (format, out) = match (pixels, self.format) {
            // Only a lossy WebP is decoded to planes, and it stays lossy WebP.
            (Pixels::Yuv(yuv), _) => {
                let q = f32::from(quality(self.settings.webp_quality));
                (OutputFormat::WebP, webp::encode_planes(yuv, q)?)
            }
            // The profile goes in as APP2 segments while encoding.
            (Pixels::Image(img), OutputFormat::Jpeg) => {
                return jpeg::encode(img, quality(self.settings.jpeg_quality), self.icc);
            }
            (Pixels::Image(img), OutputFormat::Png) => (
                OutputFormat::Png,
                png::encode(img, self.palette, strongest)?,
            ),
            (Pixels::Image(img), OutputFormat::WebP) => {
                let compression = if self.lossy {
                    webp::Compression::Lossy {
                        quality: quality(self.settings.webp_quality),
                    }
                } else {
                    webp::Compression::Lossless { strongest }
                };
                (OutputFormat::WebP, webp::encode(img, compression)?)
            }
        };
        // Added to the encoded file, without re-encoding it.
        match (self.icc, format) {
            (Some(icc), OutputFormat::Png) => png::embed_icc(out, icc),
            (Some(icc), _) => webp::embed_icc(out, icc),
            (None, OutputFormat::Png) if !self.colour_chunks.is_empty() => {
                png::embed_chunks(out, self.colour_chunks)
            }
            (None, _) => Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::DynamicImage;

    fn target(w: u32, h: u32) -> Target {
        Target {
            name: "large",
            width: w,
            height: h,
        }
    }

    #[test]
    fn within_tries_harder_until_it_fits() {
        let settings = ImageSettings::default();
        let img = Pixels::Image(DynamicImage::ImageRgb8(image::RgbImage::from_fn(
            600,
            400,
            |x, y| {
                image::Rgb([
                    (x % 7 * 30) as u8,
                    (y % 5 * 40) as u8,
                    ((x * y) % 251) as u8,
                ])
            },
        )));
        let t = target(600, 400);
        for (format, lossy) in [
            (OutputFormat::Png, false),
            (OutputFormat::Jpeg, true),
            (OutputFormat::WebP, true),
        ] {
            let job = Encoder {
                format,
                lossy,
                icc: None,
                colour_chunks: &[],
                settings: &settings,
                premultiplied: false,
                palette: None,
            };
            let normal = job.finish(&img, &t).unwrap().data.len();
            let smaller = job.within(&img, &t, normal - 1).unwrap();
            assert!(
                smaller.data.len() < normal,
                "{format:?}: {} is not under {normal}",
                smaller.data.len()
            );
            // An impossible limit: the smallest attempt comes back, still decodable.
            let best = job.within(&img, &t, 0).unwrap();
            assert!(best.data.len() <= smaller.data.len(), "{format:?}");
            let back = image::load_from_memory(&best.data).unwrap();
            assert_eq!((back.width(), back.height()), (600, 400), "{format:?}");
        }
    }
}
