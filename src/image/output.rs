//! What the image stage hands back: the encoded variants and what the header said.

use super::phases::Phase;
use super::placeholder::Placeholder;
use super::probe::Probe;

/// One encoded file ready for the CDN.
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: &'static str,
    pub width: u32,
    pub height: u32,
    pub content_type: &'static str,
    pub data: Vec<u8>,
}

/// Everything the image stage made.
#[derive(Debug, Clone)]
pub struct Output {
    pub probe: Probe,
    /// Smallest first: thumb, medium, large, then original.
    pub variants: Vec<Variant>,
    /// Things a person should know that did not stop the job (e.g. an animation cut to its
    /// first frame).
    pub warnings: Vec<String>,
    /// ThumbHash and dominant colour of the upright picture, from the smallest variant's pixels.
    pub placeholder: Placeholder,
    /// Whether the pixels were converted to sRGB (today: CMYK and YCCK JPEGs, by the
    /// browsers' formula); otherwise they keep their space and any profile rides along.
    pub converted_to_srgb: bool,
    /// Where the time went, step by step (`phases.rs`); for reports, never for decisions.
    pub phases: Vec<Phase>,
}
