//! Why the image stage refused or failed.

/// Why the image stage refused or failed. Shown to people through the worker's error type (its
/// `From` impl), which adds the stage's wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// Not a JPEG, PNG or WebP.
    Unsupported(String),
    /// Over `MAX_INPUT_PIXELS`, known from the header before decoding.
    TooLarge(String),
    /// Claims a supported format but does not decode.
    Invalid(String),
    /// A bug of ours, not a property of the input (a worker thread panicked).
    Internal(String),
}

/// A decoder's failure, as the `Invalid` error that names it.
pub(in crate::image) fn invalid(e: impl std::fmt::Display) -> ImageError {
    ImageError::Invalid(format!("cannot decode: {e}"))
}

/// img-parts could not read back an encoded variant to add its colour profile.
pub(in crate::image) fn icc_failed(e: img_parts::Error) -> ImageError {
    ImageError::Invalid(format!("cannot embed colour profile: {e}"))
}
