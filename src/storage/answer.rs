//! Reading an S3 answer, pure: its `<Error>` document (also inside a 2xx), its ETag, what a
//! failure says, and whether it says the machine's clock is off.

use serde::Deserialize;

/// How far the signing time may be from S3's clock before a 403 is taken as the clock's fault
/// (PRODUCT.md "Network behaviour"; S3 itself allows 15 minutes).
pub const SKEW_TOLERANCE_SECS: i64 = 5 * 60;

/// S3's error document (`<Error><Code>…</Code><Message>…</Message>…</Error>`), or the
/// `x-amz-error-*` headers some servers put on a HEAD answer, which has no body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ErrorDoc {
    #[serde(rename = "Code")]
    pub code: Option<String>,
    #[serde(rename = "Message")]
    pub message: Option<String>,
    /// `RequestTimeTooSkewed` answers carry S3's own time (ISO 8601).
    #[serde(rename = "ServerTime")]
    pub server_time: Option<String>,
}

impl ErrorDoc {
    /// The error document in `body`, when `body` is one: XML whose root element is `Error`
    /// (what S3 sends for a failure, and may send with a 200 — S3's CopyObject and
    /// CompleteMultipartUpload documentation; boto, arrow-rs and minio-go each shipped the bug
    /// of taking such an answer for success).
    pub fn parse(body: &[u8]) -> Option<ErrorDoc> {
        let text = std::str::from_utf8(body).ok()?;
        if root_element(text)? != "Error" {
            return None;
        }
        quick_xml::de::from_str(text).ok()
    }

    /// The error named by a HEAD answer's headers (`x-amz-error-code`, `x-amz-error-message`,
    /// or MinIO's `x-minio-error-code`, `x-minio-error-desc`).
    pub fn from_headers(header: impl Fn(&str) -> Option<String>) -> ErrorDoc {
        ErrorDoc {
            code: header("x-amz-error-code").or_else(|| header("x-minio-error-code")),
            message: header("x-amz-error-message").or_else(|| header("x-minio-error-desc")),
            server_time: None,
        }
    }

    /// `HTTP 403 AccessDenied: Access Denied`, or as much of it as the answer said.
    pub fn describe(&self, status: u16) -> String {
        let mut out = format!("HTTP {status}");
        if let Some(code) = self.code.as_deref().filter(|c| !c.is_empty()) {
            out.push(' ');
            out.push_str(code);
        }
        if let Some(message) = self.message.as_deref().map(str::trim) {
            if !message.is_empty() {
                out.push_str(": ");
                out.extend(message.chars().take(300));
            }
        }
        out
    }

    pub fn code_is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

/// The name of the first element of an XML text (after its declaration, comments and
/// processing instructions), without namespace prefix.
fn root_element(text: &str) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) => {
                return Some(String::from_utf8_lossy(e.local_name().as_ref()).into_owned())
            }
            Event::Eof => return None,
            Event::Text(t) if !t.iter().all(u8::is_ascii_whitespace) => return None,
            _ => {}
        }
    }
}

/// Whether an S3 error code is worth another try whatever the status that carried it: the
/// codes S3 documents as "retry" (and `RequestTimeout`, a 400 for a connection too slow).
pub fn code_is_transient(code: &str) -> bool {
    matches!(
        code,
        "InternalError"
            | "ServiceUnavailable"
            | "SlowDown"
            | "RequestTimeout"
            | "OperationAborted"
            | "Throttling"
            | "ThrottlingException"
            | "TooManyRequests"
            | "RequestLimitExceeded"
    )
}

/// Codes that say the request itself can never succeed: a 2xx carrying one is final.
fn code_is_final(code: &str) -> bool {
    matches!(
        code,
        "AccessDenied"
            | "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "NoSuchBucket"
            | "InvalidBucketName"
            | "KeyTooLongError"
            | "EntityTooLarge"
            | "MetadataTooLarge"
            | "InvalidArgument"
            | "InvalidRequest"
            | "NotImplemented"
            | "AccountProblem"
            | "AllAccessDisabled"
    )
}

/// Whether an `<Error>` inside a 2xx answer is worth another try: yes unless its code says the
/// request can never succeed (the server thought it had answered a success; the write's fate
/// is unknown, and trying again is cheap).
pub fn error_in_2xx_is_transient(doc: &ErrorDoc) -> bool {
    !doc.code.as_deref().is_some_and(code_is_final)
}

/// An ETag as a write's evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Etag {
    /// No ETag header, or an empty one (rust-s3 hands a missing one back as `""`).
    Missing,
    /// A strong ETag that is an MD5 (a single-part upload), lower-case hex.
    Md5(String),
    /// Anything else — multipart (`…-2`), weak (`W/"…"`), a server's own token — as given:
    /// not comparable with the body's MD5.
    Other(String),
}

impl Etag {
    /// Reads an `ETag` header, quoted or not, any case.
    pub fn of(raw: Option<&str>) -> Etag {
        let raw = raw.map(str::trim).unwrap_or_default();
        if raw.is_empty() || raw == "\"\"" {
            return Etag::Missing;
        }
        let bare = raw.trim_matches('"').to_ascii_lowercase();
        if !raw.starts_with("W/") && is_md5(&bare) {
            Etag::Md5(bare)
        } else {
            Etag::Other(raw.to_string())
        }
    }
}

/// The `x-amz-checksum-*` headers of an answer that can be checked here — CRC32 and SHA-256
/// (base64 of the big-endian digest, as S3 writes them); a composite one of a multipart upload
/// (`…-3`) cannot — against `body`: the first that disagrees, as `(header, value)`, or `None`
/// when every one agrees or there is none.
pub fn checksum_mismatch(
    header: impl Fn(&str) -> Option<String>,
    body: &[u8],
) -> Option<(&'static str, String)> {
    use base64::Engine;
    use sha2::Digest;
    let ours = |name: &str| {
        let digest = if name == "x-amz-checksum-crc32" {
            crc32fast::hash(body).to_be_bytes().to_vec()
        } else {
            sha2::Sha256::digest(body).to_vec()
        };
        base64::engine::general_purpose::STANDARD.encode(digest)
    };
    ["x-amz-checksum-crc32", "x-amz-checksum-sha256"]
        .into_iter()
        .find_map(|name| {
            let theirs = header(name)?.trim().to_string();
            (!theirs.contains('-') && theirs != ours(name)).then_some((name, theirs))
        })
}

/// Whether a text is 32 hex digits, as an MD5 is written.
pub fn is_md5(etag: &str) -> bool {
    etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What a refused request says about the machine's clock: S3's time told by its `Date`
/// header (or a `RequestTimeTooSkewed` document's `<ServerTime>`), when the answer says the
/// signing time was off — the code `RequestTimeTooSkewed`, or a 403 whose `Date` is more than
/// [`SKEW_TOLERANCE_SECS`] from the time the request was signed with (a HEAD answer has no
/// body to name a code). Times in Unix seconds. `None` when the answer says nothing about
/// the clock.
pub fn skew_of(status: u16, doc: &ErrorDoc, date: Option<&str>, signed_at: i64) -> Option<Skew> {
    let from_date = date.and_then(crate::net::http_date).map(|t| t.timestamp());
    let from_doc = doc
        .server_time
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t.trim()).ok())
        .map(|t| t.timestamp());
    let server_time = from_date.or(from_doc);
    let told = doc.code_is("RequestTimeTooSkewed")
        || (status == 403
            && from_date.is_some_and(|t| (t - signed_at).abs() > SKEW_TOLERANCE_SECS));
    told.then_some(Skew { server_time })
}

/// A refused request's word on the clock ([`skew_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skew {
    /// S3's time, Unix seconds; `None` when the answer did not give it.
    pub server_time: Option<i64>,
}

/// An offset of the machine's clock from S3's, in words: `20 min 0 s behind S3's`.
pub fn clock_words(offset_secs: i64) -> String {
    let n = offset_secs.unsigned_abs();
    let amount = match (n / 3600, n % 3600 / 60, n % 60) {
        (0, 0, s) => format!("{s} s"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, m, s) => format!("{h} h {m} min {s} s"),
    };
    // A positive offset: S3's time is ahead, the machine's clock behind.
    let side = if offset_secs >= 0 {
        "behind"
    } else {
        "ahead of"
    };
    format!("{amount} {side} S3's")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_documents_are_read_only_from_an_error_root() {
        let doc = ErrorDoc::parse(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code>\
              <Message>We encountered an internal error &amp; stopped.</Message>\
              <RequestId>4442587FB7D0A2F9</RequestId></Error>",
        )
        .unwrap();
        assert_eq!(
            doc.describe(200),
            "HTTP 200 InternalError: We encountered an internal error & stopped."
        );
        assert!(ErrorDoc::parse(b"").is_none());
        assert!(ErrorDoc::parse(b"<PutObjectResult><ETag>x</ETag></PutObjectResult>").is_none());
        assert!(ErrorDoc::parse(b"not xml <Error>").is_none());
        assert_eq!(
            ErrorDoc::parse(b"<Error><Code>NoSuchKey</Code></Error>")
                .unwrap()
                .describe(404),
            "HTTP 404 NoSuchKey"
        );
        assert_eq!(ErrorDoc::default().describe(403), "HTTP 403");
        let head = ErrorDoc::from_headers(|h| {
            (h == "x-minio-error-code").then(|| "AccessDenied".to_string())
        });
        assert_eq!(head.describe(403), "HTTP 403 AccessDenied");
    }

    #[test]
    fn an_error_in_a_2xx_is_retried_unless_final() {
        let doc = |code: &str| ErrorDoc {
            code: Some(code.into()),
            ..ErrorDoc::default()
        };
        assert!(error_in_2xx_is_transient(&doc("InternalError")));
        assert!(error_in_2xx_is_transient(&doc("SomethingNew")));
        assert!(!error_in_2xx_is_transient(&doc("AccessDenied")));
        assert!(code_is_transient("SlowDown") && code_is_transient("RequestTimeout"));
        assert!(!code_is_transient("NoSuchKey"));
    }

    #[test]
    fn etags_are_md5s_only_when_strong_and_plain() {
        let md5 = "d41d8cd98f00b204e9800998ecf8427e";
        assert_eq!(Etag::of(None), Etag::Missing);
        assert_eq!(Etag::of(Some("")), Etag::Missing);
        assert_eq!(Etag::of(Some("\"\"")), Etag::Missing);
        assert_eq!(Etag::of(Some(&format!("\"{md5}\""))), Etag::Md5(md5.into()));
        assert_eq!(
            Etag::of(Some(&md5.to_ascii_uppercase())),
            Etag::Md5(md5.into())
        );
        assert!(matches!(
            Etag::of(Some(&format!("W/\"{md5}\""))),
            Etag::Other(_)
        ));
        assert!(matches!(Etag::of(Some("\"abc-2\"")), Etag::Other(_)));
    }

    #[test]
    fn checksums_that_can_be_computed_are_compared() {
        // RFC 3720's and FIPS 180-2's "abc"-style checks: CRC32("abc") = 0x352441C2.
        let header = |pairs: &'static [(&'static str, &'static str)]| {
            move |h: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == h)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            checksum_mismatch(header(&[("x-amz-checksum-crc32", "NSRBwg==")]), b"abc"),
            None
        );
        assert_eq!(
            checksum_mismatch(
                header(&[(
                    "x-amz-checksum-sha256",
                    "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
                )]),
                b"abc"
            ),
            None
        );
        assert_eq!(
            checksum_mismatch(header(&[("x-amz-checksum-crc32", "AAAAAA==")]), b"abc"),
            Some(("x-amz-checksum-crc32", "AAAAAA==".to_string()))
        );
        // Composite (multipart) and uncomputable ones are left alone.
        assert_eq!(
            checksum_mismatch(header(&[("x-amz-checksum-crc32", "AAAAAA==-3")]), b"abc"),
            None
        );
        assert_eq!(
            checksum_mismatch(header(&[("x-amz-checksum-crc32c", "AAAAAA==")]), b"abc"),
            None
        );
        assert_eq!(checksum_mismatch(header(&[]), b"abc"), None);
    }

    #[test]
    fn skew_is_told_by_code_or_by_a_403_dated_far_off() {
        let date = Some("Sun, 06 Nov 1994 08:49:37 GMT");
        let server = 784_111_777;
        let skewed = ErrorDoc {
            code: Some("RequestTimeTooSkewed".into()),
            ..ErrorDoc::default()
        };
        // A HEAD: no body, only a Date 20 minutes after the signing time.
        assert_eq!(
            skew_of(403, &ErrorDoc::default(), date, server - 1200),
            Some(Skew {
                server_time: Some(server)
            })
        );
        // Within 5 minutes it is an ordinary 403.
        assert_eq!(skew_of(403, &ErrorDoc::default(), date, server - 200), None);
        assert_eq!(
            skew_of(404, &ErrorDoc::default(), date, server - 1200),
            None
        );
        // The code says so even when the Date agrees; the document's ServerTime stands in
        // for a missing Date.
        assert!(skew_of(403, &skewed, date, server).is_some());
        let with_time = ErrorDoc {
            server_time: Some("1994-11-06T08:49:37Z".into()),
            ..skewed
        };
        assert_eq!(
            skew_of(403, &with_time, None, 0),
            Some(Skew {
                server_time: Some(server)
            })
        );
    }

    #[test]
    fn clock_offsets_in_words() {
        assert_eq!(clock_words(1200), "20 min 0 s behind S3's");
        assert_eq!(clock_words(-3723), "1 h 2 min 3 s ahead of S3's");
        assert_eq!(clock_words(5), "5 s behind S3's");
    }
}
