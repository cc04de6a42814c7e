//! One S3 request on the wire: signed by rust-s3 at a signing time we choose, sent by ureq, its
//! answer handed back whole — and, when S3 says the machine's clock is off, signed again with
//! S3's time and sent once more (PRODUCT.md "Network behaviour": clock skew).
//!
//! rust-s3 signs (SigV4) through its sync backend's request type, `AttoRequest`, whose signing
//! time is a public field; its own send path is not used: it signs with the clock as it is,
//! hands a PUT's ETag back in place of the answer's body (so an `<Error>` inside a 200 cannot
//! be seen) and hides the `Date` and `Retry-After` headers.

use std::io::Read;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use s3::command::{Command, HttpMethod};
use s3::request::blocking::AttoRequest;
use s3::request::Request as _;
use s3::Bucket;
use ureq::http;

use super::answer::{self, clock_words, ErrorDoc};
use super::Storage;
use crate::log;
use crate::net::{self, Failure};

/// The most of a failure's body kept (S3's error documents are a few hundred bytes).
const ERROR_BODY_LIMIT: u64 = 64 * 1024;

/// An S3 answer. A 2xx keeps its body unread (a GET streams it); any other status has had its
/// body read into [`Reply::error`].
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    /// The body of a 2xx (or 304) answer, unread.
    pub body: Option<ureq::Body>,
    /// What a non-2xx answer said (its `<Error>` document, or a HEAD's error headers).
    pub error: ErrorDoc,
    /// The clock correction this request needed, in seconds (S3's time minus the machine's),
    /// when S3 refused its first signing time.
    pub corrected: Option<i64>,
}

impl Reply {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<String> {
        header(&self.headers, name)
    }

    /// The body of a 2xx answer, at most `limit` bytes of it (the rest is not read).
    pub fn read_body(&mut self, limit: u64) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(body) = self.body.take() {
            let _ = body.into_reader().take(limit).read_to_end(&mut out);
        }
        out
    }

    /// A non-2xx answer as a failure: the S3 code and message, whether another try could help
    /// (by status, or by an S3 code S3 documents as retryable), the `Retry-After` of a 429 or
    /// 503, and what was done about the clock.
    pub fn failure(&self) -> Failure {
        let mut message = self.error.describe(self.status);
        if let Some(offset) = self.corrected {
            message.push_str(&format!(
                " (the machine's clock is {}: signed again with that correction, refused again)",
                clock_words(offset)
            ));
        } else if self.error.code_is("RequestTimeTooSkewed") {
            message.push_str(" (the machine's clock is off, and S3 gave no time to correct it by)");
        }
        let wait = net::retry_after(
            self.status,
            self.header("retry-after").as_deref(),
            self.header("date").as_deref(),
        );
        let mut f = Failure::from_answer(self.status, message, wait);
        if self
            .error
            .code
            .as_deref()
            .is_some_and(answer::code_is_transient)
        {
            f.transient = true;
        }
        f
    }
}

fn header(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The machine's clock, Unix seconds.
fn system_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Why a request got no answer.
enum Sent {
    Form(String),
    Transport(ureq::Error),
}

impl Storage {
    /// Sends `command` for `key` in `bucket` and returns the answer ([`Reply`]). A write (a PUT)
    /// starts only while the run is not stopped. When S3 refuses the request for its signing
    /// time ([`answer::skew_of`]), the offset to S3's clock is learned from its `Date` (kept
    /// for every later request, on every thread) and the request is signed and sent once more.
    ///
    /// Errors: the request could not be formed, or never got an answer (transient, naming the
    /// endpoint).
    pub(super) fn send(
        &self,
        bucket: &Bucket,
        key: &str,
        command: Command<'_>,
        timeout: Duration,
    ) -> Result<Reply, Failure> {
        let mut corrected = None;
        loop {
            if command.http_verb() == HttpMethod::Put {
                self.control
                    .check()
                    .map_err(|stop| Failure::stopped("not started", stop))?;
            }
            let offset = self.clock_offset.load(Ordering::Relaxed);
            let signed_at = system_now().saturating_add(offset);
            let resp = self.send_signed(bucket, key, command.clone(), signed_at, timeout)?;
            let status = resp.status().as_u16();
            let (parts, body) = resp.into_parts();
            if (200..300).contains(&status) || status == 304 {
                return Ok(Reply {
                    status,
                    headers: parts.headers,
                    body: Some(body),
                    error: ErrorDoc::default(),
                    corrected,
                });
            }
            let mut text = Vec::new();
            let _ = body
                .into_reader()
                .take(ERROR_BODY_LIMIT)
                .read_to_end(&mut text);
            let error = ErrorDoc::parse(&text)
                .unwrap_or_else(|| ErrorDoc::from_headers(|h| header(&parts.headers, h)));
            let date = header(&parts.headers, "date");
            let skew = answer::skew_of(status, &error, date.as_deref(), signed_at);
            match skew.and_then(|s| s.server_time) {
                Some(server_time) if corrected.is_none() => {
                    let offset = server_time - system_now();
                    self.clock_offset.store(offset, Ordering::Relaxed);
                    log::warn(
                        "s3",
                        &format!(
                            "{}: the machine's clock is {} (S3's Date: {}); signing with that \
                             offset from now on and sending the request again",
                            error.describe(status),
                            clock_words(offset),
                            date.as_deref().unwrap_or("none, its ServerTime")
                        ),
                        &[],
                    );
                    corrected = Some(offset);
                }
                _ => {
                    return Ok(Reply {
                        status,
                        headers: parts.headers,
                        body: None,
                        error,
                        corrected,
                    })
                }
            }
        }
    }

    /// The clock correction in use: S3's time minus the machine's, in seconds (0 until S3
    /// refused a signing time).
    pub fn clock_offset(&self) -> i64 {
        self.clock_offset.load(Ordering::Relaxed)
    }

    /// Runs a formed request with its own timeout.
    fn run<B: ureq::AsSendBody>(
        &self,
        request: Result<http::Request<B>, http::Error>,
        timeout: Duration,
    ) -> Result<http::Response<ureq::Body>, Sent> {
        let request = request.map_err(|e| Sent::Form(e.to_string()))?;
        let request = self
            .agent
            .configure_request(request)
            .timeout_global(Some(timeout))
            .build();
        self.agent.run(request).map_err(Sent::Transport)
    }

    /// One request signed at `signed_at` (Unix seconds) and sent. HEAD and GET ask caches along
    /// the way not to answer for S3 (`Cache-Control: no-cache`, unsigned).
    fn send_signed(
        &self,
        bucket: &Bucket,
        key: &str,
        command: Command<'_>,
        signed_at: i64,
        timeout: Duration,
    ) -> Result<http::Response<ureq::Body>, Failure> {
        let content: &[u8] = match &command {
            Command::PutObject { content, .. } => content,
            _ => &[],
        };
        let verb = command.http_verb();
        let now = s3::utils::now_utc();
        let shift = Duration::from_secs(signed_at.abs_diff(now.unix_timestamp()));
        let datetime = if signed_at >= now.unix_timestamp() {
            now + shift
        } else {
            now - shift
        };
        let request = AttoRequest {
            bucket,
            path: key,
            command,
            datetime,
            sync: true,
        };
        let cannot =
            |e: s3::error::S3Error| Failure::permanent(format!("cannot sign the request: {e}"));
        let url = request.url().map_err(cannot)?;
        let headers = request.headers().map_err(cannot)?;
        let method = match verb {
            HttpMethod::Get => http::Method::GET,
            HttpMethod::Head => http::Method::HEAD,
            HttpMethod::Put => http::Method::PUT,
            HttpMethod::Post => http::Method::POST,
            HttpMethod::Delete => http::Method::DELETE,
        };
        let mut builder = http::Request::builder().method(method).uri(url.as_str());
        for (name, value) in &headers {
            builder = builder.header(name, value);
        }
        if matches!(verb, HttpMethod::Get | HttpMethod::Head) {
            builder = builder.header("cache-control", "no-cache");
        }
        // GET and HEAD carry no body at all (ureq refuses one on a HEAD).
        let sent = if content.is_empty() && verb != HttpMethod::Put {
            self.run(builder.body(()), timeout)
        } else {
            self.run(builder.body(content), timeout)
        };
        sent.map_err(|e| match e {
            Sent::Form(why) => Failure::permanent(format!("cannot form the request: {why}")),
            Sent::Transport(e) => net::transport(&e, url.as_str()),
        })
    }
}
