//! `arke-image-processor`: turns one uploaded photo into web-ready variants.
//!
//! A Fly machine runs the binary once per image. It reads its task from the environment
//! ([`config`]), downloads the original from the staging bucket ([`storage`]), makes `thumb`,
//! `medium`, `large` and a metadata-free `original` ([`plan`], [`image`]), uploads them to the
//! CDN ([`cdn`]) while archiving the untouched original, writes `{INPUT_R2_KEY}.ref.json`, and
//! POSTs exactly one callback ([`callback`]) — also on errors, panics, the deadline and
//! SIGINT/SIGTERM. The steps themselves are in [`job`].

pub mod archive;
pub mod callback;
pub mod cdn;
pub mod config;
pub mod error;
pub mod image;
pub mod job;
pub mod log;
pub mod net;
pub mod plan;
pub mod storage;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::callback::Payload;
use crate::config::{Config, ImageSettings};
use crate::error::Error;

/// Timeout of each callback attempt.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(10);

pub const USAGE: &str = "\
arke-image-processor — one uploaded photo in, web-ready variants out

USAGE:
    arke-image-processor                      run the job described by the environment
    arke-image-processor variants INPUT [--out DIR]
                                              make the variants of a local file, print a summary
    arke-image-processor check                validate the environment, print the plan
    arke-image-processor --help | --version

Exit codes: 0 job succeeded, 1 job failed, 2 configuration invalid.
The environment variables are listed in README.md.
";

/// The whole program: parses `args` (without the program name) and returns the exit code.
pub fn main_with_args(args: &[String]) -> ExitCode {
    match args.first().map(String::as_str) {
        None => run_from_env(),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("-V" | "--version") => {
            println!("arke-image-processor {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("check") => check(),
        Some("variants") => match parse_variants_args(&args[1..]) {
            Ok((input, out)) => variants_command(&input, &out),
            Err(msg) => {
                eprintln!("error: {msg}\n\n{USAGE}");
                ExitCode::from(2)
            }
        },
        Some(other) => {
            eprintln!("error: unknown command {other:?}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn parse_variants_args(args: &[String]) -> Result<(PathBuf, PathBuf), String> {
    let mut input = None;
    let mut out = PathBuf::from(".");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = it.next().ok_or("--out needs a directory")?.into(),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            s if input.is_none() => input = Some(PathBuf::from(s)),
            s => return Err(format!("unexpected argument {s:?}")),
        }
    }
    Ok((input.ok_or("variants needs an INPUT file")?, out))
}

fn env_lookup(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// `variants`: the image stage on a local file, no network.
fn variants_command(input: &Path, out_dir: &Path) -> ExitCode {
    let fail = |msg: String| {
        eprintln!("error: {msg}");
        ExitCode::from(1)
    };
    let settings = match ImageSettings::from_lookup(env_lookup) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let bytes = match std::fs::read(input) {
        Ok(b) => b,
        Err(e) => return fail(format!("cannot read {}: {e}", input.display())),
    };
    let out = match image::process(&bytes, &settings) {
        Ok(o) => o,
        Err(e) => return fail(Error::from(e).to_string()),
    };
    if let Err(e) = std::fs::create_dir_all(out_dir) {
        return fail(format!("cannot create {}: {e}", out_dir.display()));
    }
    let ext = out.probe.format.extension();
    let mut summary = Vec::new();
    for v in &out.variants {
        let path = out_dir.join(format!("{}.{ext}", v.name));
        if let Err(e) = std::fs::write(&path, &v.data) {
            return fail(format!("cannot write {}: {e}", path.display()));
        }
        summary.push(json!({
            "name": v.name, "width": v.width, "height": v.height,
            "bytes": v.data.len(), "content_type": v.content_type,
            "path": path.display().to_string(),
        }));
    }
    let report = json!({
        "input": input.display().to_string(),
        "format": out.probe.format.content_type(),
        "width": out.probe.width,
        "height": out.probe.height,
        "variants": summary,
        "warnings": out.warnings,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    ExitCode::SUCCESS
}

/// `check`: validates the environment and prints the plan, secrets redacted.
fn check() -> ExitCode {
    match Config::from_lookup(env_lookup) {
        Ok(cfg) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&cfg.plan()).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// What ends a run: the job's own result, a panic in it, a signal, or the deadline.
enum Ending {
    Finished(Box<Result<Payload, Error>>, Vec<String>),
    Panicked(String),
    Signal(&'static str),
}

/// The Fly machine's command: runs the job, always sends exactly one callback.
pub fn run_from_env() -> ExitCode {
    let started = Instant::now();
    let cfg = match Config::from_lookup(env_lookup) {
        Ok(cfg) => cfg,
        Err(e) => return config_failure(e),
    };
    log::init(
        &cfg.task_id,
        &cfg.batch_id,
        &[
            cfg.r2_access_key_id.expose(),
            cfg.r2_secret_access_key.expose(),
        ],
    );
    install_panic_hook();
    install_tls_provider();
    log::info("start", &format!("processing {}", cfg.input_r2_key), &[]);

    let (tx, rx) = mpsc::channel::<Ending>();
    watch_signals(tx.clone());
    let job_cfg = cfg.clone();
    let job_tx = tx.clone();
    let spawned = std::thread::Builder::new()
        .name("job".into())
        .spawn(move || {
            let mut warnings = Vec::new();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let storage = storage::Storage::new(
                    &job_cfg.r2_endpoint,
                    job_cfg.r2_access_key_id.expose(),
                    job_cfg.r2_secret_access_key.expose(),
                    &job_cfg.r2_bucket,
                    &job_cfg.archive_bucket,
                )
                .map_err(Error::Internal)?;
                let cdn = cdn::Cdn::new(
                    &job_cfg.cdn_api_url,
                    &job_cfg.cdn_public_url,
                    job::CDN_TIMEOUT,
                );
                job::run(&job_cfg, &storage, &cdn, &mut warnings)
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

    let ending = rx.recv_timeout(cfg.job_timeout.saturating_sub(started.elapsed()));
    let (payload, outcome) = match ending {
        Ok(Ending::Finished(result, warnings)) => match *result {
            Ok(payload) => (payload, Ok(())),
            Err(e) => (error_payload(&cfg, &e, warnings), Err(e)),
        },
        Ok(Ending::Panicked(msg)) => {
            let e = Error::Internal(format!("panic: {msg}"));
            (error_payload(&cfg, &e, Vec::new()), Err(e))
        }
        Ok(Ending::Signal(sig)) => {
            let e = Error::Interrupted(sig);
            (error_payload(&cfg, &e, Vec::new()), Err(e))
        }
        Err(_) => {
            let e = Error::Timeout(cfg.job_timeout.as_secs());
            (error_payload(&cfg, &e, Vec::new()), Err(e))
        }
    };
    match &outcome {
        Ok(()) => log::info(
            "done",
            "job succeeded",
            &[("duration_ms", json!(started.elapsed().as_millis() as u64))],
        ),
        Err(e) => log::error(
            e.stage(),
            &e.to_string(),
            &[("error_code", json!(e.code()))],
        ),
    }
    send_callback(&cfg.callback_url, &payload);
    let code = match outcome {
        Ok(()) => 0,
        Err(e) => e.exit_code(),
    };
    // Past the deadline or a signal the job thread may still be running: do not wait for it.
    std::process::exit(i32::from(code));
}

fn error_payload(cfg: &Config, e: &Error, warnings: Vec<String>) -> Payload {
    Payload::error(
        &cfg.task_id,
        &cfg.batch_id,
        log::redact(&e.to_string()),
        e.code(),
        warnings,
    )
}

/// Sends the run's one callback outcome, under a key unique to this run.
fn send_callback(url: &str, payload: &Payload) {
    match callback::deliver(url, payload, &callback::idempotency_key(), CALLBACK_TIMEOUT) {
        Ok(status) => log::info("callback", &format!("callback delivered ({status})"), &[]),
        Err(f) => log::error("callback", &format!("callback failed: {}", f.message), &[]),
    }
}

/// Configuration errors: reported on stderr and the log, and by callback when `CALLBACK_URL`
/// itself is usable.
fn config_failure(e: Error) -> ExitCode {
    let target = config::callback_target(env_lookup);
    let secrets: Vec<String> = ["R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"]
        .iter()
        .filter_map(|k| env_lookup(k))
        .collect();
    let (task, batch) = target
        .as_ref()
        .map(|(_, t, b)| (t.clone(), b.clone()))
        .unwrap_or_default();
    log::init(
        &task,
        &batch,
        &secrets.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    log::error("config", &e.to_string(), &[("error_code", json!(e.code()))]);
    eprintln!("{}", log::redact(&e.to_string()));
    if let Some((url, task, batch)) = target {
        let payload = Payload::error(
            &task,
            &batch,
            log::redact(&e.to_string()),
            e.code(),
            Vec::new(),
        );
        send_callback(&url, &payload);
    }
    ExitCode::from(e.exit_code())
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

/// Both HTTP clients (ureq for the CDN and callback, attohttpc under rust-s3) build their TLS
/// configuration from the process-wide rustls provider; without one they panic on the first
/// HTTPS request.
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
        log::init("t", "b", &["AKIAINTERNALTEST", "internal-secret-value"]);
        let panic: Box<dyn std::any::Any + Send> =
            Box::new(String::from("bucket creds internal-secret-value broke"));
        let msg = panic_message(&*panic);
        assert_eq!(msg, "bucket creds [REDACTED] broke");
        let e = Error::Internal(format!("panic: AKIAINTERNALTEST {msg}"));
        let p = Payload::error("t", "b", log::redact(&e.to_string()), e.code(), Vec::new());
        let json = serde_json::to_string(&p).unwrap();
        assert!(
            !json.contains("AKIAINTERNALTEST") && !json.contains("internal-secret-value"),
            "{json}"
        );
        assert_eq!(p.error_code, Some("internal"));
    }
}
