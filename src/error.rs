//! The one error type of the worker: which stage failed, why, its stable `error_code` and the
//! process exit code it maps to.

use std::fmt;

/// Every way a job can fail. Messages start as SPEC.md's do, so the orchestrator's logs read the
/// same as with the reference worker.
#[derive(Debug)]
pub enum Error {
    /// Environment variables missing or malformed (each listed by name).
    Config(Vec<String>),
    /// `TASK_ID`, `BATCH_ID`, `INPUT_FILE_NAME`, `INPUT_R2_KEY` or `INPUT_CID` unsafe or
    /// malformed, or a key or the archive metadata over S3's limits.
    InputInvalid(Vec<String>),
    /// The original could not be fetched from the staging bucket.
    Download { key: String, cause: String },
    /// The original is over `MAX_INPUT_BYTES` (a TIFF: `MAX_TIFF_INPUT_BYTES`) or
    /// `MAX_INPUT_PIXELS`, or its decoding would pass the memory budget.
    InputTooLarge(String),
    /// The bytes are none of the formats read, or a coding the decoders do not decode.
    UnsupportedFormat(String),
    /// The bytes claim a supported format but do not decode.
    ImageInvalid(String),
    /// The CDN refused or never answered the upload.
    CdnUpload(String),
    /// The original could not be written to the archive bucket.
    Archive { key: String, cause: String },
    /// `.ref.json` could not be written to the staging bucket.
    RefWrite { key: String, cause: String },
    /// `JOB_TIMEOUT_SECS` passed before the job finished.
    Timeout(u64),
    /// SIGINT or SIGTERM arrived (Fly stopping the machine).
    Interrupted(&'static str),
    /// A bug: a panic or a broken invariant.
    Internal(String),
}

impl Error {
    /// The stable, machine-readable code sent as `error_code` in the callback. An exhaustive
    /// match, no `_` arm: `tests/it/docs.rs` reads these arms to hold the README's table to them.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Config(_) => "config_invalid",
            Error::InputInvalid(_) => "input_invalid",
            Error::Download { .. } => "download_failed",
            Error::InputTooLarge(_) => "input_too_large",
            Error::UnsupportedFormat(_) => "unsupported_format",
            Error::ImageInvalid(_) => "image_invalid",
            Error::CdnUpload(_) => "cdn_upload_failed",
            Error::Archive { .. } => "archive_failed",
            Error::RefWrite { .. } => "ref_write_failed",
            Error::Timeout(_) => "timeout",
            Error::Interrupted(_) => "interrupted",
            Error::Internal(_) => "internal",
        }
    }

    /// The error a stop is reported as: `interrupted` naming the signal, or `timeout` after
    /// `job_timeout_secs`.
    pub fn stopped(stop: crate::control::Stop, job_timeout_secs: u64) -> Error {
        match stop {
            crate::control::Stop::Signal(name) => Error::Interrupted(name),
            crate::control::Stop::Deadline => Error::Timeout(job_timeout_secs),
        }
    }

    /// Process exit code: 2 for a configuration the job could not even start with, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) => 2,
            _ => 1,
        }
    }

    /// The stage the failure belongs to, for the log line.
    pub fn stage(&self) -> &'static str {
        match self {
            Error::Config(_) | Error::InputInvalid(_) => "config",
            Error::Download { .. } | Error::InputTooLarge(_) => "download",
            Error::UnsupportedFormat(_) | Error::ImageInvalid(_) => "resize",
            Error::CdnUpload(_) => "cdn_upload",
            Error::Archive { .. } => "archive",
            Error::RefWrite { .. } => "ref_json",
            Error::Timeout(_) | Error::Interrupted(_) | Error::Internal(_) => "job",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(problems) => write!(f, "Invalid configuration: {}", problems.join("; ")),
            Error::InputInvalid(problems) => write!(f, "Invalid input: {}", problems.join("; ")),
            Error::Download { key, cause } => write!(f, "Failed to download image: {key}: {cause}"),
            Error::InputTooLarge(why) => {
                write!(f, "Failed to process image: input too large: {why}")
            }
            Error::UnsupportedFormat(why) => {
                write!(f, "Failed to process image: unsupported format: {why}")
            }
            Error::ImageInvalid(why) => write!(f, "Failed to process image: {why}"),
            Error::CdnUpload(why) => write!(f, "CDN upload failed: {why}"),
            Error::Archive { key, cause } => write!(f, "Failed to archive image: {key}: {cause}"),
            Error::RefWrite { key, cause } => write!(f, "Failed to write ref.json: {key}: {cause}"),
            Error::Timeout(secs) => write!(f, "Job timed out after {secs} s (JOB_TIMEOUT_SECS)"),
            Error::Interrupted(signal) => write!(f, "Job interrupted by {signal}"),
            Error::Internal(why) => write!(f, "Internal error: {why}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<crate::image::ImageError> for Error {
    fn from(e: crate::image::ImageError) -> Self {
        use crate::image::ImageError as I;
        match e {
            I::Unsupported(m) => Error::UnsupportedFormat(m),
            I::TooLarge(m) => Error::InputTooLarge(m),
            I::Invalid(m) => Error::ImageInvalid(m),
            I::Internal(m) => Error::Internal(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_start_as_spec_does() {
        let e = Error::Download {
            key: "staging/a.jpg".into(),
            cause: "HTTP 404 NoSuchKey".into(),
        };
        assert_eq!(
            e.to_string(),
            "Failed to download image: staging/a.jpg: HTTP 404 NoSuchKey"
        );
        assert_eq!(e.code(), "download_failed");
        assert_eq!(e.exit_code(), 1);
        assert_eq!(
            Error::Config(vec!["TASK_ID: missing".into()]).exit_code(),
            2
        );
        assert!(Error::CdnUpload("500 boom".into())
            .to_string()
            .starts_with("CDN upload failed: 500"));
    }

    #[test]
    fn a_panicking_image_thread_is_internal_not_bad_input() {
        let e = Error::from(crate::image::ImageError::Internal(
            "resizing thread panicked".into(),
        ));
        assert_eq!(e.code(), "internal");
    }
}
