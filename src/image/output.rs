//! What the image stage hands back: what the input is, the encoded variants, and what a person
//! should know. Everything here crosses the boundary of the confined child process
//! (`crate::sandbox`), so all of it is plain data that serialises.

use crate::image::phases::Phase;
use crate::image::placeholder::Placeholder;
use crate::image::probe::Identified;

/// One encoded file ready for the CDN.
#[derive(Debug, Clone)]
pub struct Variant {
    /// `thumb`, `medium`, `large` or `original` ([`Variant::NAMES`]).
    pub name: &'static str,
    /// Upright size, pixels.
    pub width: u32,
    pub height: u32,
    /// The MIME type of `data` (the format it is encoded in).
    pub content_type: &'static str,
    pub data: Vec<u8>,
}

impl Variant {
    /// Every variant name, smallest first (PRODUCT.md "Variants").
    pub const NAMES: [&'static str; 4] = ["thumb", "medium", "large", "original"];

    /// The static name for `name`, if it is one of [`Variant::NAMES`].
    pub fn name_of(name: &str) -> Option<&'static str> {
        Variant::NAMES.into_iter().find(|n| *n == name)
    }
}

/// Everything the image stage made.
#[derive(Debug, Clone)]
pub struct Output {
    pub identified: Identified,
    /// Smallest first: thumb, medium, large, then original.
    pub variants: Vec<Variant>,
    /// Things a person should know that did not stop the job (e.g. an animation cut to its
    /// first frame).
    pub warnings: Vec<String>,
    /// ThumbHash and dominant colour of the upright picture, from the smallest variant's pixels.
    pub placeholder: Placeholder,
    /// Whether the pixels were converted to sRGB (CMYK and YCCK JPEGs, profiles too large to
    /// carry); otherwise they keep their space and any profile rides along.
    pub converted_to_srgb: bool,
    /// Where the time went, step by step (`phases.rs`); for reports, never for decisions.
    pub phases: Vec<Phase>,
}
