//! The first stage of the configuration: which variables exist (with their defaults, for
//! `--help`) and their values exactly as given, before anything is checked.

use std::fmt;

use super::{is_http_url, Config};
use crate::error::Error;
use crate::urls::Url;

/// Every variable the worker reads (SPEC.md "Input", PRODUCT.md "Environment"): name,
/// default (`""` for a required one, `"—"` for an optional one without default), meaning.
/// The raw stage reads exactly these; `--help` lists them.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("TASK_ID", "", "task ID, e.g. img_1234567890_abcdef"),
    ("BATCH_ID", "", "batch ID, e.g. batch_abc123"),
    (
        "INPUT_R2_KEY",
        "",
        "key of the original in the staging bucket",
    ),
    (
        "INPUT_FILE_NAME",
        "",
        "file name; the archive key (a plain name, 1-255 bytes)",
    ),
    (
        "INPUT_CONTENT_TYPE",
        "",
        "declared MIME type (the detected one wins)",
    ),
    (
        "INPUT_FILE_SIZE",
        "",
        "declared size in bytes (the real one wins)",
    ),
    (
        "INPUT_CID",
        "—",
        "IPFS CID; unset or empty: no ipfs_cid anywhere",
    ),
    (
        "R2_ACCOUNT_ID",
        "",
        "Cloudflare account (optional when R2_ENDPOINT is set)",
    ),
    ("R2_ACCESS_KEY_ID", "", "R2 access key ID (never printed)"),
    ("R2_SECRET_ACCESS_KEY", "", "R2 secret key (never printed)"),
    ("R2_BUCKET", "", "staging bucket, e.g. arke-staging"),
    ("ARCHIVE_BUCKET", "", "archive bucket, e.g. arke-archive"),
    ("CDN_API_URL", "", "CDN API base URL (http/https)"),
    (
        "CDN_PUBLIC_URL",
        "",
        "public CDN base URL, used when the CDN's answer leaves URLs out",
    ),
    (
        "CALLBACK_URL",
        "",
        "the orchestrator's callback URL (http/https)",
    ),
    (
        "R2_ENDPOINT",
        "https://{R2_ACCOUNT_ID}.r2.cloudflarestorage.com",
        "any S3 endpoint (path-style, region auto)",
    ),
    (
        "ORIGINAL_MAX_DIMENSION",
        "4000",
        "the original goes to the CDN as `original` when its longest side is at most this (px)",
    ),
    (
        "MAX_INPUT_BYTES",
        "52428800",
        "larger objects are refused (input_too_large)",
    ),
    (
        "MAX_TIFF_INPUT_BYTES",
        "536870912",
        "a TIFF's limit instead, when larger: scanner masters, decoded a strip at a time",
    ),
    (
        "MAX_INPUT_PIXELS",
        "268402689",
        "larger images are refused from their header",
    ),
    (
        "JPEG_QUALITY",
        "80",
        "JPEG quality of resized variants, 1-100",
    ),
    (
        "WEBP_QUALITY",
        "80",
        "lossy WebP quality of resized variants, 1-100",
    ),
    (
        "JOB_TIMEOUT_SECS",
        "300",
        "whole-job deadline (s); past it: a timeout callback, exit 1",
    ),
    (
        "IMAGE_STAGE",
        "confined",
        "confined: decode in a child process under seccomp; unconfined: a child without \
         seccomp (kernels without it); in-process: profiling and debugging only",
    ),
];

/// The variables holding URLs, whose userinfo and query string are secrets.
pub const URL_VARIABLES: &[&str] = &[
    "R2_ENDPOINT",
    "CDN_API_URL",
    "CDN_PUBLIC_URL",
    "CALLBACK_URL",
];

/// The first stage of the configuration: the variables of [`VARIABLES`] exactly as given,
/// nothing checked yet. The failure path reports from here (the callback target, the values
/// to redact), so it never has to read the environment a second time.
#[derive(Clone, Default)]
pub struct RawConfig {
    values: std::collections::BTreeMap<&'static str, String>,
}

impl fmt::Debug for RawConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.values.keys())
            .finish_non_exhaustive()
    }
}

/// Where the error callback of a run goes when the configuration as a whole is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackTarget {
    pub url: Url,
    pub task_id: String,
    pub batch_id: String,
}

impl RawConfig {
    /// Reads every variable of [`VARIABLES`] through `lookup` (e.g. `std::env::var(k).ok()`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> RawConfig {
        let values = VARIABLES
            .iter()
            .filter_map(|(name, _, _)| Some((*name, lookup(name)?)))
            .collect();
        RawConfig { values }
    }

    /// The value as given, if any.
    pub fn get(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }

    /// The second stage: every value checked, every problem reported by name
    /// ([`Config::from_lookup`]).
    pub fn validate(&self) -> Result<Config, Error> {
        Config::from_lookup(|k| self.get(k))
    }

    /// The callback URL (if it is usable) with the task and batch IDs as given.
    pub fn callback_target(&self) -> Option<CallbackTarget> {
        let url = self.get("CALLBACK_URL").filter(|u| is_http_url(u))?;
        Some(CallbackTarget {
            url: Url::new(super::trim_url(&url)),
            task_id: self.get("TASK_ID").unwrap_or_default(),
            batch_id: self.get("BATCH_ID").unwrap_or_default(),
        })
    }

    /// The values no output may show, valid or not: the R2 keys, and the userinfo secrets and
    /// query strings of the URLs (PRODUCT.md "Environment").
    pub fn secrets(&self) -> Vec<String> {
        let keys = ["R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"]
            .iter()
            .filter_map(|k| self.get(k));
        let urls = URL_VARIABLES
            .iter()
            .filter_map(|k| self.get(k))
            .flat_map(|u| crate::urls::secrets(&u));
        keys.chain(urls).collect()
    }
}
