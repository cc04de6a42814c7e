//! What every request shares (PRODUCT.md "Network behaviour"): the retry policy (at most 3
//! attempts, full-jitter exponential backoff, only transient failures retried), the HTTP agent
//! (timeouts set, redirects decided by us), POSTs that follow 307/308 with the same body and
//! refuse 301/302/303, and failure messages that name the endpoint in our own words.

use std::time::Duration;

use serde_json::json;

use crate::log;
use crate::urls::{endpoint, redact, resolve};

/// Attempts per request, the first included.
pub const ATTEMPTS: u32 = 3;
const BASE_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(4);

/// A failed attempt: what happened, and whether trying again could help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub transient: bool,
}

impl Failure {
    pub fn transient(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            transient: true,
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            transient: false,
        }
    }
    /// Classifies an HTTP status: 408, 429, 500, 502, 503 and 504 are worth another try
    /// (PRODUCT.md "Network behaviour"); any other status is final.
    pub fn from_status(status: u16, message: impl Into<String>) -> Self {
        let transient = matches!(status, 408 | 429 | 500 | 502 | 503 | 504);
        Failure {
            message: message.into(),
            transient,
        }
    }
}

/// The pause before attempt `attempt + 1`: uniform in [0, min(MAX, BASE·2^attempt)].
pub fn backoff(attempt: u32) -> Duration {
    let cap = BASE_DELAY
        .saturating_mul(1 << attempt.min(16))
        .min(MAX_DELAY);
    let ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(fastrand::u64(0..=ms))
}

/// The most 307/308 redirects one POST follows (PRODUCT.md "Network behaviour").
pub const MAX_REDIRECTS: u32 = 3;

/// A blocking agent with every timeout set (ureq has none by default): 10 s to connect,
/// `timeout` for the whole request. It follows no redirect by itself — ureq would turn a POST
/// into a GET on 301/302/303 and drop the body on 307/308 — and hands non-2xx answers back to
/// be read instead of turning them into errors.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// A POST's final answer: status, body (at most 10 MB, as text) and the URL that gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub url: String,
}

/// A request body that can be read again from its start: every attempt and every 307/308 hop
/// sends it whole. Its size goes in `Content-Length` (never chunked).
pub trait Replayable {
    /// Bytes the body has.
    fn size(&self) -> u64;
    /// A reader of the whole body, from its first byte.
    fn open(&self) -> Box<dyn std::io::Read + '_>;
}

impl Replayable for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn open(&self) -> Box<dyn std::io::Read + '_> {
        Box::new(self)
    }
}

/// One attempt at POSTing `body` to `url` with `headers`: 307/308 are followed with the same
/// method, headers and body, at most [`MAX_REDIRECTS`] hops; 301/302/303 are a permanent
/// failure naming the status and `Location` (a POST is never turned into a GET). Transport
/// errors are transient and name the endpoint; any status is returned, for the caller to judge.
pub fn post<B: Replayable + ?Sized>(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(&str, &str)],
    body: &B,
) -> Result<Answer, Failure> {
    let mut url = url.to_string();
    let mut hops = 0;
    loop {
        let mut req = agent.post(&url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut reader = body.open();
        let mut resp = req
            .header("content-length", body.size())
            .send(ureq::SendBody::from_reader(&mut *reader))
            .map_err(|e| transport(&e, &url))?;
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        match (status, location) {
            (307 | 308, Some(to)) if hops < MAX_REDIRECTS => {
                hops += 1;
                let next = redirect_target(&url, status, &to)?;
                crate::log::info(
                    "http",
                    &format!(
                        "{status} redirect from {} to {}; POSTing the same body there",
                        redact(&url),
                        redact(&next)
                    ),
                    &[],
                );
                url = next;
            }
            (307 | 308, Some(_)) => {
                return Err(Failure::permanent(format!(
                    "more than {MAX_REDIRECTS} redirects (last: {status} from {})",
                    redact(&url)
                )))
            }
            (301..=303, location) => {
                return Err(Failure::permanent(format!(
                    "HTTP {status} redirect to {}: not followed, a POST must not turn into a GET",
                    location.as_deref().map_or("(no Location)".into(), redact)
                )))
            }
            (status, _) => {
                let body = resp.body_mut().read_to_string().unwrap_or_default();
                return Ok(Answer { status, body, url });
            }
        }
    }
}

/// Where a 307/308 from `url` to `location` goes: resolved, and refused when it would take a
/// request made over HTTPS (its body, its idempotency key) to plain HTTP.
fn redirect_target(url: &str, status: u16, location: &str) -> Result<String, Failure> {
    let next = resolve(url, location);
    let https = |u: &str| {
        u.get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
    };
    if https(url) && !https(&next) {
        return Err(Failure::permanent(format!(
            "HTTP {status} redirect to {}: not followed, it leaves HTTPS",
            redact(&next)
        )));
    }
    Ok(next)
}

/// What an I/O error means, in words a person can act on.
pub fn io_words(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "connection refused".into(),
        K::ConnectionReset => "connection reset".into(),
        K::ConnectionAborted => "connection aborted".into(),
        K::TimedOut | K::WouldBlock => "timed out".into(),
        K::UnexpectedEof => "connection closed early".into(),
        K::NotConnected | K::BrokenPipe => "connection lost".into(),
        _ => e.to_string(),
    }
}

/// A ureq transport error as a failure that names the endpoint (never the path or query: a
/// presigned URL carries a signature there). Connection problems and timeouts are transient.
pub fn transport(e: &ureq::Error, url: &str) -> Failure {
    use ureq::Error as E;
    let at = endpoint(url);
    let (what, transient) = match e {
        E::Io(io) => (io_words(io), true),
        E::Timeout(t) => (format!("timed out ({t})"), true),
        E::HostNotFound => ("host not found".to_string(), true),
        E::ConnectionFailed => ("connection failed".to_string(), true),
        E::Tls(why) => (format!("TLS error: {why}"), false),
        E::Rustls(why) => (format!("TLS error: {why}"), false),
        E::BodyExceedsLimit(n) => (format!("answer over {n} bytes"), false),
        E::Protocol(p) => (format!("HTTP protocol error: {p}"), true),
        // ureq's own words may quote the URL: shown redacted.
        other => (
            format!("request failed: {other}").replace(url, &redact(url)),
            false,
        ),
    };
    Failure {
        message: format!("cannot reach {at}: {what}"),
        transient,
    }
}

/// Runs `op` until it succeeds, fails permanently, or has used its attempts; each retry is
/// logged under `stage` with what failed.
pub fn retry<T>(
    stage: &str,
    what: &str,
    mut op: impl FnMut() -> Result<T, Failure>,
) -> Result<T, Failure> {
    let mut attempt = 1;
    loop {
        match op() {
            Ok(v) => return Ok(v),
            Err(f) if f.transient && attempt < ATTEMPTS => {
                let pause = backoff(attempt);
                log::warn(
                    stage,
                    &format!(
                        "{what}: attempt {attempt} of {ATTEMPTS} failed, retrying: {}",
                        f.message
                    ),
                    &[
                        ("attempt", json!(attempt)),
                        ("retry_in_ms", json!(pause.as_millis() as u64)),
                    ],
                );
                std::thread::sleep(pause);
                attempt += 1;
            }
            Err(f) => {
                let message = if attempt > 1 {
                    format!("{} (after {attempt} attempts)", f.message)
                } else {
                    f.message
                };
                return Err(Failure { message, ..f });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_transient_only_up_to_three_times() {
        let mut calls = 0;
        let r: Result<(), _> = retry("t", "op", || {
            calls += 1;
            Err(Failure::from_status(503, "busy"))
        });
        assert_eq!(calls, 3);
        assert_eq!(r.unwrap_err().message, "busy (after 3 attempts)");

        let mut calls = 0;
        let r: Result<(), _> = retry("t", "op", || {
            calls += 1;
            Err(Failure::from_status(403, "denied"))
        });
        assert_eq!(calls, 1);
        assert!(!r.unwrap_err().transient);

        let mut calls = 0;
        let r = retry("t", "op", || {
            calls += 1;
            if calls < 2 {
                Err(Failure::transient("reset"))
            } else {
                Ok(7)
            }
        });
        assert_eq!(r, Ok(7));
    }

    #[test]
    fn redirects_never_leave_https() {
        assert_eq!(
            redirect_target("https://cdn/asset/A", 307, "/asset/B").unwrap(),
            "https://cdn/asset/B"
        );
        let f = redirect_target("https://cdn/asset/A", 308, "http://cdn/asset/A").unwrap_err();
        assert!(!f.transient);
        assert!(f.message.contains("leaves HTTPS"), "{}", f.message);
        assert!(redirect_target("http://orch/cb", 307, "https://orch/cb").is_ok());
    }

    #[test]
    fn backoff_is_bounded() {
        for a in 0..40 {
            assert!(backoff(a) <= MAX_DELAY);
        }
    }
}
