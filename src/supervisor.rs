//! The run the Fly machine makes: the configuration validated, the job on its own thread, and
//! exactly one callback outcome whatever ends it — the job's result, a panic in any of its
//! threads, SIGINT/SIGTERM (Fly stopping the machine) or the `JOB_TIMEOUT_SECS` deadline
//! (PRODUCT.md "Outputs").
//!
//! A signal or the deadline is a decision ([`Control::stop`]): from then on the job starts no
//! request, and the error callback names the CDN asset the run left behind. Only while the job
//! writes its last record (`.ref.json`, claimed with [`Control::commit`]) does the decision
//! wait, for that write alone, so that the record exists exactly when success is reported.

use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::callback::{self, Payload};
use crate::cdn::Cdn;
use crate::config::{Config, RawConfig};
use crate::control::{Control, Stop};
use crate::error::Error;
use crate::storage::Storage;
use crate::urls::Url;
use crate::{job, log, sandbox};

/// Timeout of each callback attempt.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a signal or the deadline waits for a `.ref.json` write already under way (its
/// requests' own timeouts fit in it); past it the stop is reported anyway.
const COMMIT_GRACE: Duration = Duration::from_secs(35);

/// What ends a run: the job's own result, a panic in it, a signal, or the deadline.
enum Ending {
    Finished(Box<Result<Payload, Error>>, Vec<String>),
    Panicked(String),
    Signal(&'static str),
    /// A stop decided by the supervisor.
    Stopped(Stop),
}

/// Runs the job described by `raw` and sends its one callback (when `CALLBACK_URL` is usable).
/// Returns the job's error, already logged and reported; a callback that cannot be delivered
/// is logged and does not change the outcome. Returns without waiting for a job thread that
/// is still running past the deadline or a signal (the process exits after it).
pub fn run(raw: &RawConfig) -> Result<(), Error> {
    let started = Instant::now();
    let cfg = match raw.validate() {
        Ok(cfg) => cfg,
        Err(e) => {
            config_failure(raw, &e);
            return Err(e);
        }
    };
    let secrets = raw.secrets();
    log::init(
        &cfg.task_id,
        &cfg.batch_id,
        &secrets.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    install_panic_hook();
    install_tls_provider();
    log::info("start", &format!("processing {}", cfg.input_r2_key), &[]);

    let deadline = started + cfg.job_timeout;
    let control = Arc::new(Control::new(deadline));
    let (tx, rx) = mpsc::channel::<Ending>();
    watch_signals(tx.clone());
    spawn_job(&cfg, control.clone(), tx);
    let (outcome, warnings) = match wait(&rx, &control, deadline) {
        Ending::Finished(result, warnings) => (*result, warnings),
        Ending::Panicked(msg) => (Err(Error::Internal(format!("panic: {msg}"))), Vec::new()),
        Ending::Signal(sig) => (Err(Error::Interrupted(sig)), Vec::new()),
        Ending::Stopped(stop) => (
            Err(Error::stopped(stop, cfg.job_timeout.as_secs())),
            Vec::new(),
        ),
    };
    let payload = match &outcome {
        Ok(payload) => {
            log::info(
                "done",
                "job succeeded",
                &[("duration_ms", json!(started.elapsed().as_millis() as u64))],
            );
            payload.clone()
        }
        Err(e) => {
            let asset = control.asset();
            let mut fields = vec![("error_code", json!(e.code()))];
            if let Some(id) = &asset {
                fields.push(("cdn_asset_id", json!(id)));
            }
            log::error(e.stage(), &e.to_string(), &fields);
            Payload::failure(&cfg.task_id, &cfg.batch_id, e, warnings, asset)
        }
    };
    send_callback(&cfg.callback_url, &payload);
    outcome.map(|_| ())
}

/// The run's ending: the job's result or panic, or — decided here — a signal or the deadline
/// ([`Control::stop`]). When the job is writing its last record, the stop waits for that write
/// (at most [`COMMIT_GRACE`]) and the job's own result is the ending.
fn wait(rx: &mpsc::Receiver<Ending>, control: &Control, deadline: Instant) -> Ending {
    let stop = match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(Ending::Signal(sig)) => Stop::Signal(sig),
        Ok(other) => return other,
        Err(mpsc::RecvTimeoutError::Timeout) => Stop::Deadline,
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            return Ending::Panicked("the job thread ended without a result".into())
        }
    };
    if control.stop(stop) {
        // The image stage's child goes with the job.
        sandbox::stop();
        log::warn(
            "job",
            &format!("{}: no new request starts", stop.words()),
            &[],
        );
        return Ending::Stopped(stop);
    }
    log::warn(
        "job",
        &format!(
            "{} while .ref.json is being written: waiting for that write (at most {} s) \
             before reporting",
            stop.words(),
            COMMIT_GRACE.as_secs()
        ),
        &[],
    );
    let until = Instant::now() + COMMIT_GRACE;
    loop {
        match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(Ending::Signal(_)) => continue,
            Ok(other) => return other,
            Err(_) => {
                log::error(
                    "job",
                    "the .ref.json write did not finish in time; reporting the stop",
                    &[],
                );
                return Ending::Stopped(stop);
            }
        }
    }
}

/// The job on its own thread, so the deadline and signals can end the run without it; its
/// result or its panic is sent on `tx`.
fn spawn_job(cfg: &Config, control: Arc<Control>, tx: mpsc::Sender<Ending>) {
    let job_cfg = cfg.clone();
    let job_tx = tx.clone();
    let spawned = std::thread::Builder::new()
        .name("job".into())
        .spawn(move || {
            let mut warnings = Vec::new();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let storage = Storage::new(
                    job_cfg.r2_endpoint.expose(),
                    job_cfg.r2_access_key_id.expose(),
                    job_cfg.r2_secret_access_key.expose(),
                    &job_cfg.r2_bucket,
                    &job_cfg.archive_bucket,
                    control.clone(),
                )
                .map_err(Error::Internal)?;
                let cdn = Cdn::new(
                    &job_cfg.cdn_api_url,
                    &job_cfg.cdn_public_url,
                    job::CDN_TIMEOUT,
                    control.clone(),
                );
                job::run(&job_cfg, &storage, &cdn, &control, &mut warnings)
            }));
            let ending = match result {
                Ok(r) => Ending::Finished(Box::new(r), warnings),
                Err(panic) => Ending::Panicked(panic_message(&*panic)),
            };
            let _ = job_tx.send(ending);
        });
    if let Err(e) = spawned {
        let _ = tx.send(Ending::Panicked(format!(
            "cannot start the job thread: {e}"
        )));
    }
}

/// Sends the run's one callback outcome, under a key unique to this run.
fn send_callback(url: &Url, payload: &Payload) {
    match callback::deliver(url, payload, &callback::idempotency_key(), CALLBACK_TIMEOUT) {
        Ok(status) => log::info("callback", &format!("callback delivered ({status})"), &[]),
        Err(f) => log::error("callback", &format!("callback failed: {}", f.message), &[]),
    }
}

/// A configuration that does not validate: logged, and reported by callback when
/// `CALLBACK_URL` itself is usable — all from the raw values, secrets redacted.
fn config_failure(raw: &RawConfig, e: &Error) {
    let target = raw.callback_target();
    let secrets = raw.secrets();
    let (task, batch) = target
        .as_ref()
        .map(|t| (t.task_id.clone(), t.batch_id.clone()))
        .unwrap_or_default();
    log::init(
        &task,
        &batch,
        &secrets.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    log::error("config", &e.to_string(), &[("error_code", json!(e.code()))]);
    if let Some(t) = target {
        let payload = Payload::failure(&t.task_id, &t.batch_id, e, Vec::new(), None);
        send_callback(&t.url, &payload);
    }
}

fn watch_signals(tx: mpsc::Sender<Ending>) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
        Ok(mut signals) => {
            std::thread::spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
                    let _ = tx.send(Ending::Signal(name));
                }
            });
        }
        Err(e) => log::warn("start", &format!("cannot watch signals: {e}"), &[]),
    }
}

/// Both HTTP clients (ureq for the CDN, callback and GET; attohttpc under rust-s3) build their
/// TLS configuration from the process-wide rustls provider; without one they panic on the
/// first HTTPS request.
pub fn install_tls_provider() {
    // Err means a provider is already installed, which is just as good.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = panic_message(info.payload());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        log::error("panic", &format!("panic{at}: {msg}"), &[]);
    }));
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .map(|s| log::redact(&s))
        .unwrap_or_else(|| "unknown panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_and_panics_are_redacted() {
        let _guard = log::test_lock();
        log::init("t", "b", &["AKIAINTERNALTEST", "internal-secret-value"]);
        let panic: Box<dyn std::any::Any + Send> =
            Box::new(String::from("bucket creds internal-secret-value broke"));
        let msg = panic_message(&*panic);
        assert_eq!(msg, "bucket creds [REDACTED] broke");
        let e = Error::Internal(format!("panic: AKIAINTERNALTEST {msg}"));
        let p = Payload::failure("t", "b", &e, Vec::new(), None);
        let json = serde_json::to_string(&p).unwrap();
        assert!(
            !json.contains("AKIAINTERNALTEST") && !json.contains("internal-secret-value"),
            "{json}"
        );
        assert_eq!(p.error_code, Some("internal"));
    }
}
