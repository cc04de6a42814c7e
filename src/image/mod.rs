//! The image stage: original bytes in, encoded variants out. No network, no files.
//!
//! A pipeline of named steps: probe (`probe.rs`: each header read once, the decoder kept open)
//! → plan (`targets.rs`: the variants, computed once) → decode (per format: `jpeg.rs`,
//! `png.rs`, `webp.rs`) → colour (`pixels.rs`) → orient → resize (`resize.rs`) → encode
//! (`encode.rs`, the format files) → the metadata-free `original` (`metadata.rs`); `pipeline.rs`
//! runs the steps after the probe in order. The `original` variant is the input file with its
//! metadata removed and its pixel data untouched.

mod bands;
mod codecs;
mod encode;
mod error;
mod original;
mod output;
mod phases;
mod pipeline;
mod pixels;
mod placeholder;
mod plan;
mod probe;
mod settings;

#[cfg(test)]
mod tests;

pub use ::image::metadata::Orientation;
pub use codecs::Format;
pub use error::ImageError;
pub use original::strip_metadata;
pub use output::{Output, Variant};
pub use phases::Phase;
pub use pipeline::process_opened;
pub use placeholder::Placeholder;
pub use plan::{fit_inside, targets, Target, SIZES};
pub use probe::{open, ColourModel, Identified, Opened, Probe, SourceFacts};
pub use settings::{
    ImageSettings, DEFAULT_MAX_INPUT_PIXELS, DEFAULT_ORIGINAL_MAX_DIMENSION, DEFAULT_QUALITY,
};

/// Reads format, dimensions and orientation from the header, refusing images over
/// `max_pixels` before any pixel is decoded. (`open` keeps the decoder for processing.)
pub fn probe(bytes: &[u8], max_pixels: u64) -> Result<Probe, ImageError> {
    open(bytes, max_pixels).map(|opened| opened.probe)
}

/// Makes every variant of `bytes` (PRODUCT.md "Variants"): `open`, then `process_opened`.
pub fn process(bytes: &[u8], settings: &ImageSettings) -> Result<Output, ImageError> {
    process_opened(open(bytes, settings.max_input_pixels)?, settings)
}
