//! The S3 side: HEAD, a verified and bounded GET, and a proven PUT (optionally create-only) on
//! the staging and archive buckets. Every request is signed by rust-s3 and sent by ureq
//! ([`request`]), goes through [`net::retry`] (rust-s3's own retry is off), and is judged here
//! from the whole answer. What to write where, and never overwriting, is
//! [`crate::archive`]'s.
//!
//! PRODUCT.md "Network behaviour": downloads are verified (length, MD5) before anything uses
//! them; writes are proven — a PUT counts only with an ETag equal to the body's MD5, or, when
//! the answer does not show that, a HEAD (or a read-back) showing the right size and bytes; an
//! S3 `<Error>` document is an error even inside a 2xx; every failure names the S3 code and
//! message.

mod answer;
mod request;

use request::Reply;

use std::io::Read;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;

use s3::command::Command;
use s3::creds::Credentials;
use s3::{Bucket, Region};
use ureq::http;

use answer::{checksum_mismatch, error_in_2xx_is_transient, ErrorDoc, Etag};
pub use answer::{clock_words, is_md5};

use crate::control::Control;
use crate::log;
use crate::net::{self, retry, Failure};

/// Per-request timeout of S3 calls that move an original (50 MiB over a slow link fits).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Per-request timeout of HEADs, and of PUTs and read-backs of bodies up to [`SMALL_BODY`]: a
/// `.ref.json` write, the run's last, must not hold a stopped run for long.
const SMALL_TIMEOUT: Duration = Duration::from_secs(10);
const SMALL_BODY: u64 = 1 << 20;

fn timeout_for(bytes: u64) -> Duration {
    if bytes <= SMALL_BODY {
        SMALL_TIMEOUT
    } else {
        REQUEST_TIMEOUT
    }
}

/// The most of a 2xx PUT answer's body read (S3 sends none; an `<Error>` is a few hundred
/// bytes).
const PUT_BODY_LIMIT: u64 = 64 * 1024;

/// What HEAD says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// `Content-Length` in bytes; `None` when the server did not say (unknown, never 0).
    pub size: Option<u64>,
    /// The ETag: for a strong single-part one the body's MD5 (lower case, no quotes); anything
    /// else (multipart, weak, a server's own) as given; empty when there is none.
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
    /// The object is larger than `limit` bytes, the limit that applied to it (from
    /// `Content-Length`, or counted while reading); `size` in bytes when the server said it.
    TooLarge { size: Option<u64>, limit: u64 },
    /// Not found, refused, unreachable, or a body that failed verification every time.
    Failed(Failure),
}

/// How many bytes a GET takes: at most `most` of any object, and of an object that starts with
/// given bytes (its first `SizeLimit::START_BYTES`, or all of a shorter one) what `for_start`
/// says — a TIFF may be larger than other images (PRODUCT.md "Input formats": scanner masters).
#[derive(Clone, Copy)]
pub struct SizeLimit<'a> {
    pub most: u64,
    /// At most `most`.
    pub for_start: &'a dyn Fn(&[u8]) -> u64,
}

impl SizeLimit<'_> {
    /// The bytes `for_start` is given: enough for every signature the worker reads.
    pub const START_BYTES: usize = 32;

    /// The limit for a body whose first bytes are `start`.
    fn of(&self, start: &[u8]) -> u64 {
        (self.for_start)(&start[..start.len().min(Self::START_BYTES)]).min(self.most)
    }
}

/// An object over the limit that applied to it, bytes (`size`: as the server said, if it did).
struct Over {
    size: Option<u64>,
    limit: u64,
}

/// The staging and archive buckets.
pub struct Storage {
    staging: Box<Bucket>,
    archive: Box<Bucket>,
    agent: ureq::Agent,
    /// Seconds to add to the machine's clock when signing: S3's time minus ours, learned from
    /// a request refused for its signing time ([`request`]); shared by every thread.
    clock_offset: AtomicI64,
    /// The run's stop switch and deadline: no write starts once the run is stopped.
    control: Arc<Control>,
}

/// Which of the two buckets.
#[derive(Debug, Clone, Copy)]
pub enum Which {
    Staging,
    Archive,
}

impl Storage {
    /// Clients for `staging` and `archive` at `endpoint` (path-style, region `auto`), whose
    /// requests stop when `control` says so.
    /// Errors: credentials or bucket names rust-s3 refuses (no request is made).
    pub fn new(
        endpoint: &str,
        access_key_id: &str,
        secret_access_key: &str,
        staging: &str,
        archive: &str,
        control: Arc<Control>,
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
            Ok(Bucket::new(name, region.clone(), creds.clone())
                .map_err(|e| format!("bucket {name}: {e}"))?
                .with_path_style())
        };
        Ok(Storage {
            staging: open(staging)?,
            archive: open(archive)?,
            agent: net::agent(REQUEST_TIMEOUT),
            clock_offset: AtomicI64::new(0),
            control,
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
        retry(
            "s3",
            &format!("HEAD {}/{key}", bucket.name),
            &self.control,
            || self.head_once(bucket, key),
        )
    }

    fn head_once(&self, bucket: &Bucket, key: &str) -> Result<Option<ObjectInfo>, Failure> {
        let reply = self.send(bucket, key, Command::HeadObject, SMALL_TIMEOUT)?;
        match reply.status {
            200..=299 => Ok(Some(ObjectInfo {
                size: reply
                    .header("content-length")
                    .and_then(|l| l.trim().parse().ok()),
                etag: match Etag::of(reply.header("etag").as_deref()) {
                    Etag::Missing => String::new(),
                    Etag::Md5(md5) => md5,
                    Etag::Other(raw) => raw,
                },
            })),
            404 => Ok(None),
            _ => Err(reply.failure()),
        }
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
        let flat = |_: &[u8]| limit;
        let limit = SizeLimit {
            most: limit,
            for_start: &flat,
        };
        self.get_limited(which, key, limit, expected_size)
    }

    /// [`Storage::get`] with a limit that depends on how the object starts: checked against
    /// `Content-Length` as soon as `SizeLimit::START_BYTES` have arrived (a 300 MB JPEG under
    /// a 512 MB TIFF limit is refused after its first read, not downloaded).
    ///
    /// Errors: [`GetError::TooLarge`] with the limit that applied; [`GetError::Failed`].
    pub fn get_limited(
        &self,
        which: Which,
        key: &str,
        limit: SizeLimit<'_>,
        expected_size: Option<u64>,
    ) -> Result<Vec<u8>, GetError> {
        let bucket = self.bucket(which);
        let fetched = retry(
            "s3",
            &format!("GET {}/{key}", bucket.name),
            &self.control,
            || self.get_once(bucket, key, limit, expected_size, false),
        );
        match fetched {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(Over { size, limit })) => Err(GetError::TooLarge { size, limit }),
            Err(f) => Err(GetError::Failed(f)),
        }
    }

    /// One GET attempt: `Ok(Err(Over { size, limit }))` when the object is over the limit that
    /// applies to it. A download has the full timeout, and a body whose MD5 is not the
    /// answer's plain-MD5 ETag fails; a `read_back` (a write's proof) has the timeout of its
    /// size, and its caller compares the bytes themselves.
    fn get_once(
        &self,
        bucket: &Bucket,
        key: &str,
        limit: SizeLimit<'_>,
        expected_size: Option<u64>,
        read_back: bool,
    ) -> Result<Result<Vec<u8>, Over>, Failure> {
        let timeout = if read_back {
            timeout_for(limit.most)
        } else {
            REQUEST_TIMEOUT
        };
        let mut reply = self.send(bucket, key, Command::GetObject, timeout)?;
        if !(200..300).contains(&reply.status) {
            return Err(reply.failure());
        }
        let content_length = reply
            .header("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        let etag = Etag::of(reply.header("etag").as_deref());
        if content_length.is_some_and(|len| len > limit.most) {
            return Ok(Err(Over {
                size: content_length,
                limit: limit.most,
            }));
        }
        let Some(body) = reply.body.take() else {
            return Err(Failure::transient("answer without a body"));
        };
        let capacity = content_length.or(expected_size);
        let (body, md5) = match read_bounded(body.into_reader(), content_length, capacity, limit)? {
            Ok(read) => read,
            Err(applied) => {
                return Ok(Err(Over {
                    size: content_length,
                    limit: applied,
                }))
            }
        };
        let got = body.len() as u64;
        // An image is never an S3 error document: a 200 carrying one is that error.
        if let Some(doc) = (got <= PUT_BODY_LIMIT)
            .then(|| ErrorDoc::parse(&body))
            .flatten()
        {
            return Err(Failure::new(
                format!(
                    "{} (an S3 error document in a {} answer, not the object)",
                    doc.describe(reply.status),
                    reply.status
                ),
                error_in_2xx_is_transient(&doc),
            ));
        }
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
        if !read_back {
            check_digests(&reply, &body, &md5, &etag)?;
        }
        Ok(Ok(body))
    }

    /// PUTs `body` with a content type and extra headers (e.g. `x-amz-meta-*`, already
    /// encoded to plain ASCII by [`crate::plan::metadata_value`]), and returns only once the
    /// write is proven (PRODUCT.md "Network behaviour"): the answer's ETag is the body's MD5,
    /// or else [`Storage::prove`] finds our bytes at the key. A 2xx carrying an S3 `<Error>`
    /// document is that error; an unproven write is a transient failure, retried. With
    /// [`WriteMode::CreateOnly`], 412 and 304 mean [`PutOutcome::Exists`], and 409
    /// (`ConditionalRequestConflict`, a concurrent write) is transient.
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
        let custom = put_headers(headers, mode)?;
        retry(
            "s3",
            &format!("PUT {}/{key}", bucket.name),
            &self.control,
            || {
                let command = Command::PutObject {
                    content: body,
                    content_type,
                    custom_headers: Some(custom.clone()),
                    multipart: None,
                };
                let mut reply = self.send(bucket, key, command, timeout_for(body.len() as u64))?;
                let status = reply.status;
                if mode == WriteMode::CreateOnly {
                    match status {
                        412 | 304 => return Ok(PutOutcome::Exists),
                        409 => {
                            return Err(Failure::transient(format!(
                                "{} (a create-only PUT refused by a concurrent write to the key)",
                                reply.error.describe(409)
                            )))
                        }
                        _ => {}
                    }
                }
                if !(200..300).contains(&status) {
                    return Err(reply.failure());
                }
                match shown_by(&mut reply, body, &md5)? {
                    None => return Ok(PutOutcome::Written),
                    Some(why) => self.prove(bucket, key, body, &md5, &why)?,
                }
                Ok(PutOutcome::Written)
            },
        )
    }

    /// Evidence that `key` holds `body` after a PUT whose answer did not show it (`why`): a
    /// HEAD showing the body's size and an ETag equal to its MD5, or — when its ETag is
    /// anything else (none, multipart, weak, or another MD5: answers that contradict the body
    /// are settled by the bytes, not by one more header) — the object read back (never more
    /// than `body.len()` bytes) and compared.
    ///
    /// Errors (transient: the PUT is tried again): nothing at the key, another size or
    /// content, or the check itself failed.
    fn prove(
        &self,
        bucket: &Bucket,
        key: &str,
        body: &[u8],
        md5: &str,
        why: &str,
    ) -> Result<(), Failure> {
        let len = body.len() as u64;
        log::info(
            "s3",
            &format!("PUT {}/{key} {why}: checking what is stored", bucket.name),
            &[],
        );
        let unproven = |what: String| Failure::transient(format!("PUT {why}, and {what}"));
        let info = self
            .head_once(bucket, key)
            .map_err(|f| unproven(format!("the HEAD that checks it failed: {}", f.message)))?
            .ok_or_else(|| {
                unproven("HEAD finds no object at the key: nothing was stored".into())
            })?;
        if let Some(size) = info.size.filter(|&s| s != len) {
            return Err(unproven(format!(
                "HEAD finds {size} bytes, not the {len} sent"
            )));
        }
        if info.etag == md5 {
            return Ok(());
        }
        let flat = |_: &[u8]| len;
        let limit = SizeLimit {
            most: len,
            for_start: &flat,
        };
        match self.get_once(bucket, key, limit, info.size, true) {
            Ok(Ok(stored)) if stored == body => Ok(()),
            Ok(Ok(_)) => Err(unproven("the object read back is not what was sent".into())),
            Ok(Err(_)) => Err(unproven(
                "the object read back is larger than what was sent".into(),
            )),
            Err(f) => Err(unproven(format!("reading it back failed: {}", f.message))),
        }
    }
}

/// A GET's body read in 256 KiB steps, its MD5 computed along: `Err(limit)` as soon as it
/// would pass the limit that applies to it (never more is held), or, once its first bytes say
/// which limit that is, as soon as `Content-Length` says it will; room made for `capacity`
/// bytes (what the headers announce) up to the limit.
///
/// Errors (transient): the connection ended or failed part-way.
fn read_bounded(
    mut reader: impl Read,
    content_length: Option<u64>,
    capacity: Option<u64>,
    limit: SizeLimit<'_>,
) -> Result<Result<(Vec<u8>, String), u64>, Failure> {
    let capacity = capacity.unwrap_or(1 << 20).min(limit.most);
    let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    let mut md5 = md5::Context::new();
    let mut chunk = vec![0u8; 256 * 1024];
    // The limit of this object, once its first bytes have arrived.
    let mut applies: Option<u64> = None;
    loop {
        if applies.is_none() && body.len() >= SizeLimit::START_BYTES {
            let l = limit.of(&body);
            if content_length.is_some_and(|len| len > l) {
                return Ok(Err(l));
            }
            applies = Some(l);
        }
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
        let most = applies.unwrap_or(limit.most);
        if body.len() as u64 + n as u64 > most {
            return Ok(Err(applies.unwrap_or_else(|| limit.of(&body))));
        }
        md5.consume(&chunk[..n]);
        body.extend_from_slice(&chunk[..n]);
    }
    // A body shorter than the bytes a limit is chosen by.
    let l = applies.unwrap_or_else(|| limit.of(&body));
    if body.len() as u64 > l {
        return Ok(Err(l));
    }
    Ok(Ok((body, format!("{:x}", md5.finalize()))))
}

/// A downloaded body against its answer's digests: a strong plain-MD5 ETag, and any
/// `x-amz-checksum-crc32`/`-sha256`.
///
/// Errors (transient): one of them is not the body's.
fn check_digests(reply: &Reply, body: &[u8], md5: &str, etag: &Etag) -> Result<(), Failure> {
    if let Etag::Md5(etag) = etag {
        if etag != md5 {
            return Err(Failure::transient(format!(
                "integrity check failed: body MD5 {md5} is not the ETag {etag}"
            )));
        }
    }
    if let Some((name, value)) = checksum_mismatch(|h| reply.header(h), body) {
        return Err(Failure::transient(format!(
            "integrity check failed: the body is not its {name} {value}"
        )));
    }
    Ok(())
}

/// What a 2xx answer to a PUT of `body` (whose MD5 is `md5`) shows: `None` when it proves the
/// write itself (a plain success whose ETag is the MD5, and no `x-amz-checksum-*` against the
/// body); otherwise why it does not, for [`Storage::prove`].
///
/// Errors: the answer carries an S3 `<Error>` document — that error (S3 documents such
/// answers; boto, arrow-rs and minio-go each took them for success).
fn shown_by(reply: &mut Reply, body: &[u8], md5: &str) -> Result<Option<String>, Failure> {
    let status = reply.status;
    let text = reply.read_body(PUT_BODY_LIMIT);
    if let Some(doc) = ErrorDoc::parse(&text) {
        return Err(Failure::new(
            format!(
                "{} (an S3 error document in a {status} answer: not stored)",
                doc.describe(status)
            ),
            error_in_2xx_is_transient(&doc),
        ));
    }
    if let Some((name, value)) = checksum_mismatch(|h| reply.header(h), body) {
        return Ok(Some(format!(
            "answered {status} with {name} {value}, not that of what was sent"
        )));
    }
    let plain = text.iter().all(u8::is_ascii_whitespace);
    Ok(Some(match Etag::of(reply.header("etag").as_deref()) {
        Etag::Md5(etag) if etag == md5 && plain => return Ok(None),
        Etag::Md5(etag) if etag != md5 => {
            format!("answered {status} with ETag {etag}, not the MD5 {md5} of what was sent")
        }
        Etag::Md5(_) => format!("answered {status} with a body that is not a plain success"),
        Etag::Missing => format!("answered {status} without an ETag"),
        Etag::Other(etag) => format!("answered {status} with ETag {etag}, not an MD5"),
    }))
}

/// A PUT's own headers (`x-amz-meta-*`, and `If-None-Match: *` for a create-only write).
/// Errors (permanent) on a name or value HTTP cannot carry.
fn put_headers(headers: &[(String, String)], mode: WriteMode) -> Result<http::HeaderMap, Failure> {
    let create_only = (mode == WriteMode::CreateOnly).then_some(("if-none-match", "*"));
    let pairs = headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let mut map = http::HeaderMap::new();
    for (k, v) in pairs.chain(create_only) {
        let name = http::HeaderName::from_bytes(k.as_bytes())
            .map_err(|e| Failure::permanent(format!("header {k}: {e}")))?;
        let value = http::HeaderValue::from_str(v)
            .map_err(|e| Failure::permanent(format!("header {k}: {e}")))?;
        map.insert(name, value);
    }
    Ok(map)
}

/// Lower-case hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    format!("{:x}", md5::compute(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_helpers() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert!(is_md5("d41d8cd98f00b204e9800998ecf8427e"));
        assert!(!is_md5("d41d8cd98f00b204e9800998ecf8427e-2"));
    }
}
