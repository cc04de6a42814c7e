//! The image stage: original bytes in, encoded variants out. No network, no files.
//!
//! A pipeline of named steps: probe (`probe.rs`: each header read once, the decoder kept open)
//! → plan (`targets.rs`: the variants, computed once) → decode (per format: `jpeg.rs`,
//! `png.rs`, `webp.rs`) → colour (`pixels.rs`) → orient → resize (`resize.rs`) → encode
//! (`encode.rs`, the format files) → the metadata-free `original` (`metadata.rs`); `pipeline.rs`
//! runs the steps after the probe in order. The `original` variant is the input file with its
//! metadata removed and its pixel data untouched.

mod arriving;
mod band_pool;
mod colour;
mod count;
mod encode;
mod error;
mod format;
#[path = "codecs/heif/mod.rs"]
pub(crate) mod heif;
mod jpeg;
mod jpeg_coefficients;
mod metadata;
mod orient;
mod output;
mod palette;
mod phases;
mod pipeline;
mod pixels;
mod placeholder;
mod png;
mod probe;
mod release;
mod resize;
mod settings;
mod source;
mod targets;
mod turning;
mod webp;
mod yuv;

#[cfg(test)]
mod tests;

pub use error::ImageError;
pub use format::Format;
pub use metadata::strip_metadata;
pub use output::{Output, Variant};
pub use phases::Phase;
pub use pipeline::process_opened;
pub use placeholder::Placeholder;
pub use probe::{open, ColourModel, Identified, Opened, Probe, SourceFacts};
pub use settings::{
    ImageSettings, DEFAULT_MAX_INPUT_PIXELS, DEFAULT_ORIGINAL_MAX_DIMENSION, DEFAULT_QUALITY,
};
pub use targets::{fit_inside, targets, Target, SIZES};

/// Reads format, dimensions and orientation from the header, refusing images over
/// `max_pixels` before any pixel is decoded. (`open` keeps the decoder for processing.)
pub fn probe(bytes: &[u8], max_pixels: u64) -> Result<Probe, ImageError> {
    open(bytes, max_pixels).map(|opened| opened.probe)
}

/// Makes every variant of `bytes` (PRODUCT.md "Variants"): `open`, then `process_opened`.
pub fn process(bytes: &[u8], settings: &ImageSettings) -> Result<Output, ImageError> {
    process_opened(open(bytes, settings.max_input_pixels)?, settings)
}
