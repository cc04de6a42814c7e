//! The S3 side (rust-s3, sync API): reading the original, writing the archive copy without ever
//! overwriting a different object, writing `.ref.json`. rust-s3's own retry is off; every call
//! goes through `net::retry`, and status codes are checked here because `fail-on-err` is off.

use std::time::Duration;

use s3::creds::Credentials;
use s3::{Bucket, Region};

use crate::config::Config;
use crate::net::{retry, Failure};

/// Per-request timeout of S3 calls (a 50 MiB object over a slow link still fits).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// What HEAD says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    /// The ETag without quotes; the MD5 of the body for single-part uploads.
    pub etag: String,
}

/// Result of a conditional PUT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    Written,
    /// `If-None-Match: *` refused: the key exists.
    Exists,
}

/// The staging and archive buckets.
pub struct Storage {
    staging: Box<Bucket>,
    archive: Box<Bucket>,
}

/// Which of the two buckets.
#[derive(Debug, Clone, Copy)]
pub enum Which {
    Staging,
    Archive,
}

impl Storage {
    pub fn new(cfg: &Config) -> Result<Storage, String> {
        // Our retry policy replaces rust-s3's (which retries even 403/404, without jitter).
        s3::set_retries(0);
        let creds = Credentials::new(
            Some(cfg.r2_access_key_id.expose()),
            Some(cfg.r2_secret_access_key.expose()),
            None,
            None,
            None,
        )
        .map_err(|e| format!("bad credentials: {e}"))?;
        let region = Region::Custom {
            region: "auto".into(),
            endpoint: cfg.r2_endpoint.clone(),
        };
        let open = |name: &str| -> Result<Box<Bucket>, String> {
            let b = Bucket::new(name, region.clone(), creds.clone())
                .map_err(|e| format!("bucket {name}: {e}"))?
                .with_path_style();
            b.with_request_timeout(REQUEST_TIMEOUT)
                .map_err(|e| format!("bucket {name}: {e}"))
        };
        Ok(Storage {
            staging: open(&cfg.r2_bucket)?,
            archive: open(&cfg.archive_bucket)?,
        })
    }

    fn bucket(&self, which: Which) -> &Bucket {
        match which {
            Which::Staging => &self.staging,
            Which::Archive => &self.archive,
        }
    }

    /// HEAD: `None` when the key does not exist.
    pub fn head(&self, which: Which, key: &str) -> Result<Option<ObjectInfo>, Failure> {
        let bucket = self.bucket(which);
        retry("s3", &format!("HEAD {}/{key}", bucket.name), || {
            let (head, status) = bucket.head_object(key).map_err(transport)?;
            match status {
                200..=299 => Ok(Some(ObjectInfo {
                    size: head
                        .content_length
                        .and_then(|l| u64::try_from(l).ok())
                        .unwrap_or(0),
                    etag: head.e_tag.unwrap_or_default().trim_matches('"').to_string(),
                })),
                404 => Ok(None),
                s => Err(Failure::from_status(s, format!("HTTP {s}"))),
            }
        })
    }

    /// GET the whole object.
    pub fn get(&self, which: Which, key: &str) -> Result<Vec<u8>, Failure> {
        let bucket = self.bucket(which);
        retry("s3", &format!("GET {}/{key}", bucket.name), || {
            let resp = bucket.get_object(key).map_err(transport)?;
            check_status(resp.status_code(), resp.as_slice())?;
            Ok(resp.to_vec())
        })
    }

    /// PUT with a content type, extra headers (e.g. `x-amz-meta-*`), and optionally
    /// `If-None-Match: *`. The returned ETag is checked against the body's MD5.
    pub fn put(
        &self,
        which: Which,
        key: &str,
        body: &[u8],
        content_type: &str,
        headers: &[(String, String)],
        if_none_match: bool,
    ) -> Result<PutOutcome, Failure> {
        let bucket = self.bucket(which);
        let md5 = md5_hex(body);
        retry("s3", &format!("PUT {}/{key}", bucket.name), || {
            let mut req = bucket
                .put_object_builder(key, body)
                .with_content_type(content_type);
            for (k, v) in headers {
                req = req
                    .with_header(k, v)
                    .map_err(|e| Failure::permanent(format!("header {k}: {e}")))?;
            }
            if if_none_match {
                req = req
                    .with_header("if-none-match", "*")
                    .map_err(|e| Failure::permanent(e.to_string()))?;
            }
            let resp = req.execute().map_err(transport)?;
            if if_none_match && resp.status_code() == 412 {
                return Ok(PutOutcome::Exists);
            }
            check_status(resp.status_code(), resp.as_slice())?;
            // For PUTs rust-s3 returns the ETag header as the body.
            let etag = String::from_utf8_lossy(resp.as_slice())
                .trim_matches('"')
                .to_ascii_lowercase();
            if is_md5(&etag) && etag != md5 {
                return Err(Failure::transient(format!(
                    "integrity check failed: ETag {etag} is not the MD5 {md5} of what was sent"
                )));
            }
            Ok(PutOutcome::Written)
        })
    }
}

/// Lower-case hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    format!("{:x}", md5::compute(data))
}

/// Whether an ETag is a plain MD5 (single-part upload) and so comparable with one.
pub fn is_md5(etag: &str) -> bool {
    etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Transport errors (connect, reset, timeout) are transient; errors building the request are not.
fn transport(e: s3::error::S3Error) -> Failure {
    use s3::error::S3Error as E;
    match e {
        E::Io(_) | E::Atto(_) => Failure::transient(format!("connection failed: {e}")),
        other => Failure::permanent(other.to_string()),
    }
}

/// Maps a non-2xx answer to a failure, naming the S3 error code from the XML body.
fn check_status(status: u16, body: &[u8]) -> Result<(), Failure> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let text = String::from_utf8_lossy(body);
    let code = text
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| code.to_string());
    let message = match &code {
        Some(c) => format!("HTTP {status} {c}"),
        None => format!("HTTP {status}"),
    };
    if code.as_deref() == Some("SlowDown") {
        return Err(Failure::transient(message));
    }
    Err(Failure::from_status(status, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_error_codes_are_named_and_classified() {
        let f = check_status(404, b"<Error><Code>NoSuchKey</Code></Error>").unwrap_err();
        assert_eq!(f.message, "HTTP 404 NoSuchKey");
        assert!(!f.transient);
        let f = check_status(503, b"<Error><Code>SlowDown</Code></Error>").unwrap_err();
        assert!(f.transient);
        assert!(check_status(200, b"").is_ok());
    }

    #[test]
    fn md5_helpers() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert!(is_md5("d41d8cd98f00b204e9800998ecf8427e"));
        assert!(!is_md5("d41d8cd98f00b204e9800998ecf8427e-2"));
    }
}
