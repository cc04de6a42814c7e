//! The one callback to the orchestrator (SPEC.md Step 8): payload building, pure, and delivery
//! with retries and one `Idempotency-Key` per run. A callback that cannot be delivered is
//! logged; it never fails the job.

use std::time::Duration;

use serde::Serialize;

use crate::control::Control;
use crate::error::Error;
use crate::image::{Output, Placeholder};
use crate::log;
use crate::net::{self, retry, Failure};
use crate::urls::Url;

/// SPEC.md's RefData; also the exact content of `.ref.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefData {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipfs_cid: Option<String>,
    #[serde(rename = "type")]
    pub content_type: String,
    pub size: u64,
    pub filename: String,
}

impl RefData {
    /// Pretty JSON with 2-space indentation, as SPEC.md's `JSON.stringify(refData, null, 2)`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Stage timings in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Performance {
    pub total_time_ms: u64,
    pub download_time_ms: u64,
    pub resize_time_ms: u64,
    pub cdn_upload_time_ms: u64,
    pub archive_time_ms: u64,
}

/// A variant as reported in the callback's optional `variants` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VariantInfo {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub bytes: usize,
    pub content_type: String,
    pub url: String,
    /// SHA-256 of the bytes sent to the CDN, lower-case hex.
    pub sha256: String,
}

/// The optional `source` extra: what the input file is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceInfo {
    /// The detected MIME type.
    pub format: &'static str,
    /// Upright dimensions (EXIF orientation applied), pixels.
    pub width: u32,
    pub height: u32,
    /// Dimensions as stored, pixels.
    pub stored_width: u32,
    pub stored_height: u32,
    /// The EXIF orientation turned into pixels, 1–8 (1: none was needed).
    pub orientation_applied: u8,
    /// Bits per sample as stored.
    pub bit_depth: u8,
    /// `gray`, `gray_alpha`, `rgb`, `rgba`, `indexed`, `ycbcr`, `cmyk`, `ycck` or `lab`.
    pub colour_model: &'static str,
    /// The embedded ICC profile's description; `null` without a profile.
    pub icc_profile: Option<String>,
    /// Whether the pixels were converted to sRGB (CMYK/YCCK JPEGs and TIFFs, CIELab TIFFs,
    /// profiles too large to carry).
    pub converted_to_srgb: bool,
    pub alpha: bool,
    /// Progressive JPEG or interlaced (Adam7) PNG.
    pub progressive: bool,
    /// Frames of an animation (the variants show the first); 1 for a still image.
    pub frames: u32,
    /// Full-resolution pages of a TIFF (the variants show the first); 1 for other formats.
    pub pages: u32,
    /// SHA-256 of the original's bytes, lower-case hex.
    pub sha256: String,
}

impl SourceInfo {
    /// The facts of `out`'s input, whose bytes hash to `sha256`.
    pub fn new(out: &Output, sha256: String) -> SourceInfo {
        let p = &out.identified;
        SourceInfo {
            format: p.format.content_type(),
            width: p.width,
            height: p.height,
            stored_width: p.source.stored_width,
            stored_height: p.source.stored_height,
            orientation_applied: p.orientation,
            bit_depth: p.source.bit_depth,
            colour_model: p.source.colour_model.name(),
            icc_profile: p.icc_description.clone(),
            converted_to_srgb: out.converted_to_srgb,
            alpha: p.source.alpha,
            progressive: p.source.progressive,
            frames: p.source.frames,
            pages: p.source.pages,
            sha256,
        }
    }
}

/// The optional `placeholder` extra.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlaceholderInfo {
    /// ThumbHash, base64.
    pub thumbhash: String,
    /// `#rrggbb`.
    pub dominant_color: String,
}

impl From<&Placeholder> for PlaceholderInfo {
    fn from(p: &Placeholder) -> Self {
        PlaceholderInfo {
            thumbhash: p.thumbhash.clone(),
            dominant_color: p.dominant_color.clone(),
        }
    }
}

/// `work()`, and the SHA-256 of `bytes` (lower-case hex): hashed on a thread of its own beside
/// `work` when `bytes` are large enough for that to pay (1 MiB and up: about 1 ms at
/// 1.1 GB/s, where starting a thread costs about 0.3 ms), after it otherwise. A panic in the
/// hashing thread is resumed here.
pub fn with_sha256<T>(bytes: &[u8], work: impl FnOnce() -> T) -> (T, String) {
    const ALONGSIDE_FROM: usize = 1 << 20;
    if bytes.len() < ALONGSIDE_FROM {
        let out = work();
        return (out, sha256_hex(bytes));
    }
    std::thread::scope(|s| {
        let hashing = s.spawn(|| sha256_hex(bytes));
        let out = work();
        let digest = hashing
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (out, digest)
    })
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SPEC.md's ImageCallbackResult, with PRODUCT.md's optional extras.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payload {
    pub task_id: String,
    pub batch_id: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ref_json_r2_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ref_data: Option<RefData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive_r2_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performance: Option<Performance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variants: Option<Vec<VariantInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<PlaceholderInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'static str>,
    /// On error: the CDN asset this run stored or may have stored, for the orchestrator to
    /// remove (PRODUCT.md "Network behaviour": a stopped job stops).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cdn_asset_id: Option<String>,
}

/// What a successful job hands over for its callback (SPEC.md Step 8's success fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Success {
    pub ref_json_r2_key: String,
    pub ref_data: RefData,
    pub archive_r2_key: String,
    pub performance: Performance,
    pub variants: Vec<VariantInfo>,
    pub source: SourceInfo,
    pub placeholder: PlaceholderInfo,
}

impl Payload {
    /// The success callback of a job; `warnings` as collected along the way.
    pub fn success(task_id: &str, batch_id: &str, done: Success, warnings: Vec<String>) -> Self {
        Payload {
            task_id: task_id.to_string(),
            batch_id: batch_id.to_string(),
            status: "success",
            ref_json_r2_key: Some(done.ref_json_r2_key),
            ref_data: Some(done.ref_data),
            archive_r2_key: Some(done.archive_r2_key),
            performance: Some(done.performance),
            variants: Some(done.variants),
            source: Some(done.source),
            placeholder: Some(done.placeholder),
            warnings,
            error: None,
            error_code: None,
            cdn_asset_id: None,
        }
    }

    /// The error callback for `e`: its message (redacted: no registered secret leaves the
    /// process, [`log::redact`]), its `error_code`, and the CDN asset the run left behind.
    pub fn failure(
        task_id: &str,
        batch_id: &str,
        e: &Error,
        warnings: Vec<String>,
        cdn_asset_id: Option<String>,
    ) -> Self {
        Payload {
            task_id: task_id.to_string(),
            batch_id: batch_id.to_string(),
            status: "error",
            ref_json_r2_key: None,
            ref_data: None,
            archive_r2_key: None,
            performance: None,
            variants: None,
            source: None,
            placeholder: None,
            warnings,
            error: Some(log::redact(&e.to_string())),
            error_code: Some(e.code()),
            cdn_asset_id,
        }
    }
}

/// The time all attempts at delivering the callback may take, waits included: it is sent after
/// a signal too, within Fly's `kill_timeout`.
const DELIVERY_BUDGET: Duration = Duration::from_secs(35);

/// A fresh `Idempotency-Key` for one run's callback: 128 random bits in hex.
pub fn idempotency_key() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// POSTs the payload, retrying transient failures; returns the final status or failure.
///
/// Delivery is at least once (PRODUCT.md "Network behaviour"): every attempt, and every
/// 307/308 hop, sends the identical body with the same `Idempotency-Key`, so the orchestrator
/// can drop a copy whose answer was lost. A 301/302/303 is a failure naming the `Location`.
pub fn deliver(
    url: &Url,
    payload: &Payload,
    idempotency_key: &str,
    timeout: Duration,
) -> Result<u16, Failure> {
    let body = serde_json::to_vec(payload).map_err(|e| Failure::permanent(e.to_string()))?;
    let agent = net::agent(timeout);
    // Sent after a stop too; its waits (a Retry-After included) fit in a budget of their own.
    let control = Control::budget(DELIVERY_BUDGET);
    retry("callback", &format!("POST {url}"), &control, || {
        let answer = net::post(
            &agent,
            url.expose(),
            &[
                ("content-type", "application/json"),
                ("idempotency-key", idempotency_key),
            ],
            &body[..],
            &control,
        )?;
        let status = answer.status;
        if (200..300).contains(&status) {
            Ok(status)
        } else {
            Err(Failure::from_answer(
                status,
                format!("HTTP {status}"),
                answer.retry_after,
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_json_is_pretty_and_omits_missing_cid() {
        let r = RefData {
            url: "https://cdn/asset/X".into(),
            ipfs_cid: None,
            content_type: "image/jpeg".into(),
            size: 12,
            filename: "a.jpg".into(),
        };
        assert_eq!(
            r.to_json(),
            "{\n  \"url\": \"https://cdn/asset/X\",\n  \"type\": \"image/jpeg\",\n  \"size\": 12,\n  \"filename\": \"a.jpg\"\n}"
        );
    }

    #[test]
    fn sha256_is_the_standard_digest() {
        // FIPS 180-2's "abc" example.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_fingerprint_is_the_same_inline_or_alongside() {
        for len in [10, 3 << 20] {
            let bytes = vec![42u8; len];
            let (out, digest) = with_sha256(&bytes, || 7);
            assert_eq!(out, 7);
            assert_eq!(digest, sha256_hex(&bytes), "{len} bytes");
        }
    }

    #[test]
    fn error_payload_is_specs_shape() {
        let e = Error::Download {
            key: "k".into(),
            cause: "x".into(),
        };
        let p = Payload::failure("t", "b", &e, vec![], None);
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({
                "task_id": "t", "batch_id": "b", "status": "error",
                "error": "Failed to download image: k: x", "error_code": "download_failed"
            })
        );
        let p = Payload::failure("t", "b", &e, vec![], Some("M2K9X7P4".into()));
        assert_eq!(
            serde_json::to_value(&p).unwrap()["cdn_asset_id"],
            "M2K9X7P4"
        );
    }
}
