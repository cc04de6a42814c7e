//! The retry policy every request shares (PRODUCT.md "Network behaviour"): at most 3 attempts,
//! full-jitter exponential backoff, and only transient failures retried.

use std::time::Duration;

use serde_json::json;

use crate::log;

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
    /// Classifies an HTTP status: 408, 429 and 5xx but 501 are worth another try.
    pub fn from_status(status: u16, message: impl Into<String>) -> Self {
        let transient = matches!(status, 408 | 429 | 500 | 502 | 503 | 504);
        Failure {
            message: message.into(),
            transient,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
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
    fn backoff_is_bounded() {
        for a in 0..40 {
            assert!(backoff(a) <= MAX_DELAY);
        }
    }
}
