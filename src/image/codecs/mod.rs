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
pub(in crate::image) mod heif;
pub(in crate::image) mod jpeg;
pub(in crate::image) mod png;
pub(in crate::image) mod rows;
pub(in crate::image) mod source;
pub(in crate::image) mod tiff;
pub(in crate::image) mod webp;

/// The most bytes one decoded image may take (a PNG frame, a WebP decode): the largest image
/// allowed (`MAX_INPUT_PIXELS`) as 8-bit RGBA is 1 GiB; more would not fit beside the variants
/// in the image stage's memory (PRODUCT.md "Memory envelope").
pub(in crate::image) const MAX_DECODED_BYTES: u64 = 1024 * 1024 * 1024;

/// The formats the worker reads (PRODUCT.md "Input formats"), serialised as their MIME types.
/// JPEG, PNG and WebP are also what it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Format {
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/webp")]
    WebP,
    #[serde(rename = "image/tiff")]
    Tiff,
    #[serde(rename = "image/gif")]
    Gif,
    #[serde(rename = "image/bmp")]
    Bmp,
    /// HEVC-coded HEIF with an HEVC brand (iPhones since iOS 11).
    #[serde(rename = "image/heic")]
    Heic,
    /// HEVC-coded HEIF under the generic brands only.
    #[serde(rename = "image/heif")]
    Heif,
    #[serde(rename = "image/avif")]
    Avif,
}

impl Format {
    /// Every format, for lookups by name or type.
    pub const ALL: [Format; 9] = [
        Format::Jpeg,
        Format::Png,
        Format::WebP,
        Format::Tiff,
        Format::Gif,
        Format::Bmp,
        Format::Heic,
        Format::Heif,
        Format::Avif,
    ];

    /// Detects the format from the file's signature, whatever its name or declared type says:
    /// JPEG's SOI and a marker, PNG's eight bytes, RIFF `WEBP`, TIFF's and BigTIFF's byte order
    /// and version, `GIF87a`/`GIF89a`, BMP's `BM` with a known info header size (or zeroed
    /// reserved fields and a pixel offset inside the file), an `ftyp` box with a HEIF brand
    /// (HEIC, HEIF or AVIF by its brands and primary image's coding).
    pub fn detect(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Format::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Format::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Format::WebP)
        } else if tiff::detect(bytes) {
            Some(Format::Tiff)
        } else if gif::detect(bytes) {
            Some(Format::Gif)
        } else if bmp::detect(bytes) {
            Some(Format::Bmp)
        } else {
            heif::kind(bytes).map(|kind| match kind {
                heif::Kind::Heic => Format::Heic,
                heif::Kind::Heif => Format::Heif,
                heif::Kind::Avif => Format::Avif,
            })
        }
    }

    /// The format's name, for people.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::WebP => "WebP",
            Format::Tiff => "TIFF",
            Format::Gif => "GIF",
            Format::Bmp => "BMP",
            Format::Heic => "HEIC",
            Format::Heif => "HEIF",
            Format::Avif => "AVIF",
        }
    }

    /// The MIME type: what the callback's `source.format`, `ref.json`'s `type` and the
    /// archive's `Content-Type` say for an input; a variant's `content_type` for an output.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::WebP => "image/webp",
            Format::Tiff => "image/tiff",
            Format::Gif => "image/gif",
            Format::Bmp => "image/bmp",
            Format::Heic => "image/heic",
            Format::Heif => "image/heif",
            Format::Avif => "image/avif",
        }
    }

    /// The usual file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::WebP => "webp",
            Format::Tiff => "tif",
            Format::Gif => "gif",
            Format::Bmp => "bmp",
            Format::Heic => "heic",
            Format::Heif => "heif",
            Format::Avif => "avif",
        }
    }

    /// The format whose MIME type is `content_type` (as [`Format::content_type`] gives it).
    pub fn of_content_type(content_type: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.content_type() == content_type)
    }

    /// The format itself when every browser shows it, so that its variants keep it (JPEG, PNG,
    /// WebP; PRODUCT.md "Input formats"); `None` for the others.
    pub fn shown_by_browsers(self) -> Option<OutputFormat> {
        match self {
            Format::Jpeg => Some(OutputFormat::Jpeg),
            Format::Png => Some(OutputFormat::Png),
            Format::WebP => Some(OutputFormat::WebP),
            _ => None,
        }
    }
}

/// The formats variants are written in: the ones every browser shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Jpeg,
    Png,
    WebP,
}

impl OutputFormat {
    /// The input format of the same name.
    pub fn format(self) -> Format {
        match self {
            OutputFormat::Jpeg => Format::Jpeg,
            OutputFormat::Png => Format::Png,
            OutputFormat::WebP => Format::WebP,
        }
    }

    /// The MIME type: a variant's `content_type`.
    pub fn content_type(self) -> &'static str {
        self.format().content_type()
    }
}

/// Why `bytes` (no [`Format`] detected) are refused (`unsupported_format`, PRODUCT.md "Input
/// formats": anything else is refused naming it): the format named when its signature is one
/// an archive's intake meets, otherwise the formats read.
pub(in crate::image) fn unsupported(bytes: &[u8]) -> String {
    let read = || {
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        match names.split_last() {
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    };
    match other_format(bytes) {
        Some(name) => format!(
            "{name}, a format the worker does not read (it reads {})",
            read()
        ),
        None => format!("not a {} file (unrecognised signature)", read()),
    }
}

/// The name of a format the worker does not read, by its signature.
fn other_format(bytes: &[u8]) -> Option<&'static str> {
    let at = |i: usize, sig: &[u8]| bytes.get(i..i + sig.len()) == Some(sig);
    let brand = bytes.get(8..12).filter(|_| at(4, b"ftyp"));
    let text = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(bytes)
        .trim_ascii_start();
    Some(match bytes {
        _ if at(0, b"\xFF\x0A") || at(0, b"\0\0\0\x0CJXL \r\n\x87\n") => "JPEG XL",
        _ if at(0, b"\0\0\0\x0CjP  \r\n\x87\n") || at(0, b"\xFF\x4F\xFF\x51") => "JPEG 2000",
        _ if matches!(brand, Some(b"avif" | b"avis")) => "AVIF",
        _ if matches!(
            brand,
            Some(b"heic" | b"heix" | b"hevc" | b"hevx" | b"mif1" | b"msf1")
        ) =>
        {
            "HEIF"
        }
        _ if brand.is_some() => "an MP4 or QuickTime file",
        _ if at(0, b"8BPS") => "a Photoshop document (PSD)",
        _ if at(0, b"%PDF-") => "PDF",
        _ if at(0, b"\x76\x2F\x31\x01") => "OpenEXR",
        _ if at(0, b"qoif") => "QOI",
        _ if text.starts_with(b"<svg") || text.starts_with(b"<?xml") => "SVG or XML",
        _ => return None,
    })
}

/// How the stored samples describe colour; serialised by [`ColourModel::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColourModel {
    Gray,
    GrayAlpha,
    Rgb,
    Rgba,
    /// A palette (PNG colour type 3).
    Indexed,
    /// JPEG's usual luma + chroma.
    #[serde(rename = "ycbcr")]
    YCbCr,
    Cmyk,
    /// Adobe's Y′CbCr + K.
    Ycck,
    /// CIE L*a*b* (TIFF's CIELab and ICCLab), with or without alpha.
    Lab,
}

impl ColourModel {
    /// The name the callback uses.
    pub fn name(self) -> &'static str {
        match self {
            ColourModel::Gray => "gray",
            ColourModel::GrayAlpha => "gray_alpha",
            ColourModel::Rgb => "rgb",
            ColourModel::Rgba => "rgba",
            ColourModel::Indexed => "indexed",
            ColourModel::YCbCr => "ycbcr",
            ColourModel::Cmyk => "cmyk",
            ColourModel::Ycck => "ycck",
            ColourModel::Lab => "lab",
        }
    }
}
