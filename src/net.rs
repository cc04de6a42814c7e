//! What every request shares (PRODUCT.md "Network behaviour"): the retry policy (at most 3
//! attempts, full-jitter exponential backoff, only transient failures retried), the HTTP agent
//! (timeouts set, redirects decided by us), POSTs that follow 307/308 with the same body and
//! refuse 301/302/303, and failure messages that name the endpoint in our own words.

use std::time::Duration;

use serde_json::json;

use crate::control::{Control, Stop};
use crate::log;
use crate::urls::{endpoint, redact, resolve};

/// Attempts per request, the first included.
pub const ATTEMPTS: u32 = 3;
const BASE_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(4);

/// A failed attempt: what happened, whether trying again could help, and how long the server
/// asked us to wait first (`Retry-After` on a 429 or 503).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub transient: bool,
    /// The server's `Retry-After`, as asked (uncapped); `None` when it gave none.
    pub retry_after: Option<Duration>,
}

impl Failure {
    /// A request not started, or not tried again, because the run was stopped (`doing`:
    /// `not started`, `not retried`).
    pub fn stopped(doing: &str, stop: Stop) -> Self {
        Failure::permanent(format!("{doing}: {}", stop.words()))
    }
    pub fn new(message: impl Into<String>, transient: bool) -> Self {
        Failure {
            message: message.into(),
            transient,
            retry_after: None,
        }
    }
    pub fn transient(message: impl Into<String>) -> Self {
        Failure::new(message, true)
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        Failure::new(message, false)
    }
    /// Classifies an HTTP status: 408, 429, 500, 502, 503 and 504 are worth another try
    /// (PRODUCT.md "Network behaviour"); any other status is final.
    pub fn from_status(status: u16, message: impl Into<String>) -> Self {
        Failure::new(message, matches!(status, 408 | 429 | 500 | 502 | 503 | 504))
    }
    /// [`Failure::from_status`] with the wait the answer asked for ([`retry_after`]).
    pub fn from_answer(status: u16, message: impl Into<String>, wait: Option<Duration>) -> Self {
        Failure {
            retry_after: wait,
            ..Failure::from_status(status, message)
        }
    }
}

/// The longest `Retry-After` honoured: a longer one is waited this long (PRODUCT.md "Network
/// behaviour").
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(20);

/// How long a 429 or 503 answer asks the client to wait (RFC 9110 §10.2.3): its `Retry-After`
/// in seconds, or an HTTP-date counted from the answer's own `Date` when it has one (so the
/// machine's clock does not matter), else from now. `None` for other statuses, without the
/// header, or when it cannot be read; a date in the past is no wait.
pub fn retry_after(status: u16, retry_after: Option<&str>, date: Option<&str>) -> Option<Duration> {
    if !matches!(status, 429 | 503) {
        return None;
    }
    let value = retry_after?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = http_date(value)?;
    let now = date.and_then(http_date).unwrap_or_else(chrono::Utc::now);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// An HTTP-date (RFC 9110 §5.6.7) in any of its three forms: IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), the obsolete RFC 850 form
/// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`).
pub fn http_date(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{DateTime, NaiveDateTime, Utc};
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc2822(text) {
        return Some(t.with_timezone(&Utc));
    }
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .map(|t| t.and_utc())
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

/// A blocking agent for reads: every timeout set like [`agent`]'s, non-2xx answers handed
/// back, and up to [`MAX_REDIRECTS`] redirects followed (a GET stays a GET).
pub fn reading_agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(MAX_REDIRECTS)
        .build()
        .into()
}

/// A POST's final answer: status, body (at most 10 MB, as text), and the wait it asked for
/// before another try ([`retry_after`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<Duration>,
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
/// No hop starts once `control` says the run is stopped.
pub fn post<B: Replayable + ?Sized>(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(&str, &str)],
    body: &B,
    control: &Control,
) -> Result<Answer, Failure> {
    let mut url = url.to_string();
    let mut hops = 0;
    loop {
        control
            .check()
            .map_err(|stop| Failure::stopped("not started", stop))?;
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
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let location = header("location");
        let wait = retry_after(
            status,
            header("retry-after").as_deref(),
            header("date").as_deref(),
        );
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
                return Ok(Answer {
                    status,
                    body,
                    retry_after: wait,
                });
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
        // rustls reports a certificate it refuses through the socket's I/O error: as final
        // as ureq's own TLS errors (another attempt meets the same certificate).
        E::Io(io)
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) =>
        {
            (format!("TLS error: {io}"), false)
        }
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
    Failure::new(format!("cannot reach {at}: {what}"), transient)
}

/// Runs `op` until it succeeds, fails permanently, or has used its [`ATTEMPTS`]; each retry is
/// logged under `stage` with what failed. Between attempts it waits the backoff, or what the
/// server asked for with `Retry-After` (at most [`MAX_RETRY_AFTER`]); a wait that would end
/// past `control`'s deadline is not made (the failure is returned, saying so). No attempt
/// starts once `control` says the run is stopped, and a wait ends then.
pub fn retry<T>(
    stage: &str,
    what: &str,
    control: &Control,
    mut op: impl FnMut() -> Result<T, Failure>,
) -> Result<T, Failure> {
    let mut attempt = 1;
    loop {
        control
            .check()
            .map_err(|stop| Failure::stopped("not started", stop))?;
        let f = match op() {
            Ok(v) => return Ok(v),
            Err(f) => f,
        };
        let after = |f: Failure, note: &str| {
            let message = match (attempt > 1, note.is_empty()) {
                (true, true) => format!("{} (after {attempt} attempts)", f.message),
                (true, false) => format!("{} (after {attempt} attempts; {note})", f.message),
                (false, true) => f.message,
                (false, false) => format!("{} ({note})", f.message),
            };
            Failure { message, ..f }
        };
        if !f.transient || attempt >= ATTEMPTS {
            return Err(after(f, ""));
        }
        let (pause, why) = match f.retry_after {
            Some(asked) => (
                asked.min(MAX_RETRY_AFTER),
                format!("Retry-After {} s", asked.as_secs()),
            ),
            None => (backoff(attempt), "backoff".to_string()),
        };
        if control.remaining().is_some_and(|left| pause >= left) {
            let note = format!("not retried: {why} would pass the deadline");
            return Err(after(f, &note));
        }
        log::warn(
            stage,
            &format!(
                "{what}: attempt {attempt} of {ATTEMPTS} failed, retrying in {} ms ({why}): {}",
                pause.as_millis(),
                f.message
            ),
            &[
                ("attempt", json!(attempt)),
                ("retry_in_ms", json!(pause.as_millis() as u64)),
            ],
        );
        if let Err(stop) = control.pause(pause) {
            return Err(after(f, &Failure::stopped("not retried", stop).message));
        }
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn free() -> Control {
        Control::budget(Duration::from_secs(60))
    }

    #[test]
    fn retries_transient_only_up_to_three_times() {
        let mut calls = 0;
        let r: Result<(), _> = retry("t", "op", &free(), || {
            calls += 1;
            Err(Failure::from_status(503, "busy"))
        });
        assert_eq!(calls, 3);
        assert_eq!(r.unwrap_err().message, "busy (after 3 attempts)");

        let mut calls = 0;
        let r: Result<(), _> = retry("t", "op", &free(), || {
            calls += 1;
            Err(Failure::from_status(403, "denied"))
        });
        assert_eq!(calls, 1);
        assert!(!r.unwrap_err().transient);

        let mut calls = 0;
        let r = retry("t", "op", &free(), || {
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
    fn retry_after_is_read_for_429_and_503_only() {
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(retry_after(503, Some("3"), None), secs(3));
        assert_eq!(retry_after(429, Some(" 120 "), None), secs(120));
        assert_eq!(retry_after(500, Some("3"), None), None);
        assert_eq!(retry_after(503, None, None), None);
        assert_eq!(retry_after(503, Some("soon"), None), None);
        // An HTTP-date is counted from the answer's own Date, in each of the three forms.
        let date = Some("Sun, 06 Nov 1994 08:49:37 GMT");
        for later in [
            "Sun, 06 Nov 1994 08:49:42 GMT",
            "Sunday, 06-Nov-94 08:49:42 GMT",
            "Sun Nov  6 08:49:42 1994",
        ] {
            assert_eq!(retry_after(503, Some(later), date), secs(5), "{later}");
        }
        assert_eq!(
            retry_after(429, Some("Sun, 06 Nov 1994 08:40:00 GMT"), date),
            secs(0),
            "a date in the past is no wait"
        );
    }

    #[test]
    fn retry_after_replaces_the_backoff_within_the_deadline() {
        // Asked for 1 s: the second attempt comes after it.
        let t = Instant::now();
        let mut calls = 0;
        let r = retry("t", "op", &free(), || {
            calls += 1;
            if calls == 1 {
                Err(Failure::from_answer(
                    503,
                    "slow down",
                    Some(Duration::from_secs(1)),
                ))
            } else {
                Ok(())
            }
        });
        assert_eq!(r, Ok(()));
        assert!(t.elapsed() >= Duration::from_secs(1));

        // Asked for more than is left before the deadline: not waited, and said so.
        let short = Control::budget(Duration::from_secs(5));
        let t = Instant::now();
        let r: Result<(), _> = retry("t", "op", &short, || {
            Err(Failure::from_answer(
                503,
                "HTTP 503",
                Some(Duration::from_secs(15)),
            ))
        });
        assert!(t.elapsed() < Duration::from_secs(2));
        assert_eq!(
            r.unwrap_err().message,
            "HTTP 503 (not retried: Retry-After 15 s would pass the deadline)"
        );
    }

    #[test]
    fn a_stopped_run_starts_no_attempt() {
        let c = free();
        c.stop(crate::control::Stop::Deadline);
        let mut calls = 0;
        let r: Result<(), _> = retry("t", "op", &c, || {
            calls += 1;
            Ok(())
        });
        assert_eq!(calls, 0);
        assert!(r.unwrap_err().message.starts_with("not started: "));
    }

    #[test]
    fn a_refused_certificate_is_final() {
        let cert = rustls::Error::InvalidCertificate(rustls::CertificateError::Expired);
        let e = ureq::Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, cert));
        let f = transport(&e, "https://s3.example/b/k");
        assert!(!f.transient);
        assert!(
            f.message.starts_with(
                "cannot reach https://s3.example:443: TLS error: invalid peer certificate"
            ),
            "{}",
            f.message
        );
        let reset = ureq::Error::Io(std::io::ErrorKind::ConnectionReset.into());
        assert!(transport(&reset, "https://s3.example").transient);
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
