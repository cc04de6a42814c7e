//! The image stage: original bytes in, encoded variants out. No network, no files.
//!
//! The steps, in order: probe (`probe.rs`: the format from the bytes, each header read once,
//! refused there when too large, the decoder kept open) → plan (`plan.rs`: the variants and
//! their sizes, the route the pixels take, the colour decision and the turn, all decided before
//! a pixel moves) → decode (`codecs/`: one folder per format) → colour (`pixels/colour.rs`) →
//! resize to the largest variant, as stored (`pixels/resize.rs`; a JPEG while it decodes,
//! `bands/window.rs`) → encode the largest, turned upright (`pixels/orient.rs`, band by band
//! for a JPEG: `bands/turn.rs`), while a second thread resizes each smaller variant from the
//! next size up and turns it whole (`pipeline/variants.rs`, `encode.rs`). Beside them the
//! `original` (`original.rs`): the input with its metadata removed and its pixel data
//! untouched. `pipeline/` runs the steps after the probe.

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
