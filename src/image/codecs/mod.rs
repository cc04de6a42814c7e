//! The codecs, one folder per format, each split by job (header and decoding, encoding, the
//! container's chunks or segments for the `original` and repairs): `jpeg/`, `png/`, `webp/`;
//! what they share — EXIF orientation (`exif.rs`), the input's bytes as the decoders read them,
//! repaired when damaged but complete (`source.rs`), the decoded-bytes budget — and the formats
//! themselves, told apart by their signatures. Adding a format is a folder here and its arms in
//! `probe.rs` (open), `pipeline/` (decode) and `encode.rs` (encode).

pub(in crate::image) mod bmp;
pub(in crate::image) mod count;
pub(in crate::image) mod exif;
pub(in crate::image) mod gif;
pub(in crate::image) mod jpeg;
pub(in crate::image) mod png;
pub(in crate::image) mod source;
pub(in crate::image) mod tiff;
pub(in crate::image) mod webp;

/// The most bytes one decoded image may take (a PNG frame, a WebP decode): the largest image
/// allowed (`MAX_INPUT_PIXELS`) as 8-bit RGBA is 1 GiB; more would not fit beside the variants
/// in the image stage's memory (PRODUCT.md "Memory envelope").
pub(in crate::image) const MAX_DECODED_BYTES: u64 = 1024 * 1024 * 1024;

/// The formats the worker takes and produces; serialised as their MIME types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Format {
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/webp")]
    WebP,
}

impl Format {
    /// Every format, for lookups by name or type.
    pub const ALL: [Format; 3] = [Format::Jpeg, Format::Png, Format::WebP];

    /// Detects the format from the file's signature, whatever its name or declared type says.
    pub fn detect(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Format::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Format::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Format::WebP)
        } else {
            None
        }
    }

    /// The format's name, for people.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::WebP => "WebP",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::WebP => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::WebP => "webp",
        }
    }
}
