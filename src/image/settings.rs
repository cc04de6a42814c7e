//! The knobs of the image stage, beside the code that reads them.

/// PRODUCT.md "Environment": `ORIGINAL_MAX_DIMENSION`.
pub const DEFAULT_ORIGINAL_MAX_DIMENSION: u32 = 4000;
/// PRODUCT.md "Environment": `MAX_INPUT_PIXELS`.
pub const DEFAULT_MAX_INPUT_PIXELS: u64 = 268_402_689;
/// PRODUCT.md "Environment": `JPEG_QUALITY` and `WEBP_QUALITY`.
pub const DEFAULT_QUALITY: u8 = 80;

/// The knobs of the image stage; `Default` gives PRODUCT.md's defaults. Serialised to hand
/// them to the confined child process (`crate::sandbox`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImageSettings {
    /// The original goes to the CDN as `original` when its longest side is at most this. Default 4000.
    pub original_max_dimension: u32,
    /// Images with more pixels are refused from their header. Default 268 402 689.
    pub max_input_pixels: u64,
    /// JPEG encoder quality, 1–100. Default 80.
    pub jpeg_quality: u8,
    /// Lossy WebP encoder quality, 1–100. Default 80.
    pub webp_quality: u8,
}

impl Default for ImageSettings {
    fn default() -> Self {
        ImageSettings {
            original_max_dimension: DEFAULT_ORIGINAL_MAX_DIMENSION,
            max_input_pixels: DEFAULT_MAX_INPUT_PIXELS,
            jpeg_quality: DEFAULT_QUALITY,
            webp_quality: DEFAULT_QUALITY,
        }
    }
}
