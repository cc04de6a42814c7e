//! The S3 side: HEAD, a verified and bounded GET, and PUT (optionally create-only) on the
//! staging and archive buckets. rust-s3 (sync API) signs every request; rust-s3's own retry is
//! off, every call goes through [`net::retry`], and status codes are checked here because
//! `fail-on-err` is off. What to write where, and never overwriting, is [`crate::archive`]'s.
//!
//! The GET is a SigV4-presigned URL (signed by rust-s3) read with ureq, because rust-s3's sync
//! GET buffers whatever arrives, without a bound and without the response's headers: a body
//! cut short by a clean close would pass for the whole object (PRODUCT.md "Network behaviour").

use std::io::Read;
use std::time::Duration;

use s3::creds::Credentials;
use s3::{Bucket, Region};

use crate::net::{self, retry, Failure};

/// Per-request timeout of S3 calls (a 50 MiB object over a slow link still fits).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a presigned GET URL is valid. It is used at once; this only has to outlast the
/// retries of one download.
const PRESIGN_SECS: u32 = 600;

/// What HEAD says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// `Content-Length` in bytes; `None` when the server did not say (unknown, never 0).
    pub size: Option<u64>,
    /// The ETag without quotes, lower case; the MD5 of the body for single-part uploads.
    pub etag: String,
}

/// How a PUT treats an existing object at the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// `If-None-Match: *`: written only if the key is free (R2 and S3 support it).
    CreateOnly,
    /// A plain PUT: replaces whatever is there (`.ref.json`, which is ours to rewrite).
    Overwrite,
}

/// Result of a PUT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    Written,
    /// A [`WriteMode::CreateOnly`] PUT was refused (412, or 304 from older MinIO): the key
    /// exists.
    Exists,
}

/// Why a GET returned no body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetError {
    /// The object is larger than the limit (from `Content-Length`, or counted while reading).
    /// Holds the size in bytes when the server said it.
    TooLarge(Option<u64>),
    /// Not found, refused, unreachable, or a body that failed verification every time.
    Failed(Failure),
}

/// The staging and archive buckets.
pub struct Storage {
    staging: Box<Bucket>,
    archive: Box<Bucket>,
    /// `scheme://host:port` of the S3 endpoint, for messages.
    endpoint: String,
    agent: ureq::Agent,
}

/// Which of the two buckets.
#[derive(Debug, Clone, Copy)]
pub enum Which {
    Staging,
    Archive,
}

impl Storage {
    /// Clients for `staging` and `archive` at `endpoint` (path-style, region `auto`).
    /// Errors: credentials or bucket names rust-s3 refuses (no request is made).
    pub fn new(
        endpoint: &str,
        access_key_id: &str,
        secret_access_key: &str,
        staging: &str,
        archive: &str,
    ) -> Result<Storage, String> {
        // Our retry policy replaces rust-s3's (which retries even 403/404, without jitter).
        s3::set_retries(0);
        let creds = Credentials::new(
            Some(access_key_id),
            Some(secret_access_key),
            None,
            None,
            None,
        )
        .map_err(|e| format!("bad credentials: {e}"))?;
        let region = Region::Custom {
            region: "auto".into(),
            endpoint: endpoint.to_string(),
        };
        let open = |name: &str| -> Result<Box<Bucket>, String> {
            let b = Bucket::new(name, region.clone(), creds.clone())
                .map_err(|e| format!("bucket {name}: {e}"))?
                .with_path_style();
            b.with_request_timeout(REQUEST_TIMEOUT)
                .map_err(|e| format!("bucket {name}: {e}"))
        };
        Ok(Storage {
            staging: open(staging)?,
            archive: open(archive)?,
            endpoint: crate::urls::endpoint(endpoint),
            agent: net::agent(REQUEST_TIMEOUT),
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
            let (head, status) = bucket
                .head_object(key)
                .map_err(|e| self.transport(e, "HEAD"))?;
            match status {
                200..=299 => Ok(Some(ObjectInfo {
                    size: head.content_length.and_then(|l| u64::try_from(l).ok()),
                    etag: unquote(head.e_tag.as_deref().unwrap_or_default()),
                })),
                404 => Ok(None),
                s => Err(Failure::from_status(s, format!("HTTP {s}"))),
            }
        })
    }

    /// GETs the whole object, verified: its length must equal the answer's `Content-Length`
    /// and `expected_size` (HEAD's, when known), and its MD5 the ETag when that is a plain MD5.
    /// A body that fails is a transient failure (retried). Never holds more than `limit` + 1
    /// bytes of body, whatever the headers say.
    ///
    /// Errors: [`GetError::TooLarge`] past `limit` bytes; [`GetError::Failed`] otherwise.
    pub fn get(
        &self,
        which: Which,
        key: &str,
        limit: u64,
        expected_size: Option<u64>,
    ) -> Result<Vec<u8>, GetError> {
        let bucket = self.bucket(which);
        let url = bucket
            .presign_get(key, PRESIGN_SECS, None)
            .map_err(|e| GetError::Failed(Failure::permanent(format!("cannot sign GET: {e}"))))?;
        let fetched = retry("s3", &format!("GET {}/{key}", bucket.name), || {
            self.get_once(&url, limit, expected_size)
        });
        match fetched {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(size)) => Err(GetError::TooLarge(size)),
            Err(f) => Err(GetError::Failed(f)),
        }
    }

    /// One GET attempt: `Ok(Err(size))` when the object is over `limit`.
    fn get_once(
        &self,
        url: &str,
        limit: u64,
        expected_size: Option<u64>,
    ) -> Result<Result<Vec<u8>, Option<u64>>, Failure> {
        let resp = self
            .agent
            .get(url)
            .call()
            .map_err(|e| net::transport(&e, url))?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_length = header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
        let etag = unquote(&header("etag").unwrap_or_default());
        let mut reader = resp.into_body().into_reader();
        if !(200..300).contains(&status) {
            let mut text = Vec::new();
            let _ = reader.by_ref().take(64 * 1024).read_to_end(&mut text);
            check_status(status, &text)?;
        }
        if content_length.is_some_and(|len| len > limit) {
            return Ok(Err(content_length));
        }
        // Room for what the headers announce, never past the limit.
        let capacity = content_length
            .or(expected_size)
            .unwrap_or(1 << 20)
            .min(limit);
        let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
        let mut md5 = md5::Context::new();
        let mut chunk = vec![0u8; 256 * 1024];
        loop {
            let n = match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    let of = content_length
                        .map(|l| format!(" of {l}"))
                        .unwrap_or_default();
                    return Err(Failure::transient(format!(
                        "body cut short: {}{of} bytes arrived, then {}",
                        body.len(),
                        net::io_words(&e)
                    )));
                }
            };
            if body.len() as u64 + n as u64 > limit {
                return Ok(Err(content_length));
            }
            md5.consume(&chunk[..n]);
            body.extend_from_slice(&chunk[..n]);
        }
        let got = body.len() as u64;
        if let Some(len) = content_length.filter(|&l| l != got) {
            return Err(Failure::transient(format!(
                "body cut short: {got} of {len} bytes (Content-Length) arrived"
            )));
        }
        if let Some(size) = expected_size.filter(|&s| s != got) {
            return Err(Failure::transient(format!(
                "body has {got} bytes, HEAD said {size}"
            )));
        }
        let md5 = format!("{:x}", md5.finalize());
        if is_md5(&etag) && etag != md5 {
            return Err(Failure::transient(format!(
                "integrity check failed: body MD5 {md5} is not the ETag {etag}"
            )));
        }
        Ok(Ok(body))
    }

    /// PUTs `body` with a content type and extra headers (e.g. `x-amz-meta-*`, already
    /// encoded to plain ASCII by [`crate::plan::metadata_value`]). The returned ETag is checked
    /// against the body's MD5. With [`WriteMode::CreateOnly`], 412 and 304 mean
    /// [`PutOutcome::Exists`], and 409 (`ConditionalRequestConflict`, a concurrent write) is
    /// transient.
    pub fn put(
        &self,
        which: Which,
        key: &str,
        body: &[u8],
        content_type: &str,
        headers: &[(String, String)],
        mode: WriteMode,
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
            if mode == WriteMode::CreateOnly {
                req = req
                    .with_header("if-none-match", "*")
                    .map_err(|e| Failure::permanent(e.to_string()))?;
            }
            let resp = req.execute().map_err(|e| self.transport(e, "PUT"))?;
            let status = resp.status_code();
            if mode == WriteMode::CreateOnly {
                match status {
                    412 | 304 => return Ok(PutOutcome::Exists),
                    // rust-s3 hands a PUT's ETag back instead of its body, so the XML code
                    // is not readable here.
                    409 => {
                        return Err(Failure::transient(
                            "HTTP 409 on a create-only PUT: a concurrent write to the key \
                             (S3's ConditionalRequestConflict)",
                        ))
                    }
                    _ => {}
                }
            }
            check_status(status, resp.as_slice())?;
            // For PUTs rust-s3 returns the ETag header as the body.
            let etag = unquote(&String::from_utf8_lossy(resp.as_slice()));
            if is_md5(&etag) && etag != md5 {
                return Err(Failure::transient(format!(
                    "integrity check failed: ETag {etag} is not the MD5 {md5} of what was sent"
                )));
            }
            Ok(PutOutcome::Written)
        })
    }

    /// rust-s3's errors in our words: transport errors (connect, reset, timeout) are transient
    /// and name the endpoint; errors building the request are not.
    fn transport(&self, e: s3::error::S3Error, op: &str) -> Failure {
        use s3::error::S3Error as E;
        match &e {
            E::Io(io) => Failure::transient(format!(
                "cannot reach {}: {}",
                self.endpoint,
                net::io_words(io)
            )),
            E::Atto(atto) => {
                use attohttpc::ErrorKind as K;
                let (what, transient) = match atto.kind() {
                    K::Io(io) => (net::io_words(io), true),
                    K::Tls(tls) => (format!("TLS error: {tls}"), false),
                    K::InvalidResponse(why) => (format!("invalid answer: {why}"), true),
                    _ => ("connection failed".to_string(), true),
                };
                Failure {
                    message: format!("cannot reach {}: {what}", self.endpoint),
                    transient,
                }
            }
            other => Failure::permanent(format!("cannot send {op}: {other}")),
        }
    }
}

/// An ETag without its quotes, lower case.
fn unquote(etag: &str) -> String {
    etag.trim().trim_matches('"').to_ascii_lowercase()
}

/// Lower-case hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    format!("{:x}", md5::compute(data))
}

/// Whether an ETag is a plain MD5 (single-part upload) and so comparable with one.
pub fn is_md5(etag: &str) -> bool {
    etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The `<Code>` of an S3 XML error body.
fn s3_code(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    text.split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| code.to_string())
}

/// Maps a non-2xx answer to a failure, naming the S3 error code from the XML body.
fn check_status(status: u16, body: &[u8]) -> Result<(), Failure> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let code = s3_code(body);
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
        assert_eq!(unquote("\"ABCDEF\""), "abcdef");
    }
}
