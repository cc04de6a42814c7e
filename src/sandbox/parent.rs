//! The parent's side: starts the child (`child.rs`) on the sealed input, reads its answer
//! (`frames.rs`), waits for it, and turns a child that died, overran or answered nonsense into
//! an error. The child is killed when the job stops ([`stop`]) or when the parent lets go of
//! it early (`Drop`).

// wait4 and kill through libc (each use has its SAFETY note).
#![allow(unsafe_code)]

use std::io::{BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::Mutex;

use super::child::{memory_limit, Fault, SUBCOMMAND};
use super::frames::{Frame, Malformed, Reader};
use super::memfd::SealedInput;
use crate::image::{Identified, ImageError, ImageSettings, Output, Variant};

/// The running child's process ID, while it runs (0: none); and whether the job was stopped,
/// after which no child starts.
static RUNNING: Mutex<(u32, bool)> = Mutex::new((0, false));

/// Kills the running child, if any, and lets no other start: the job was stopped (SIGTERM, or
/// the deadline: PRODUCT.md "A stopped job stops").
pub fn stop() {
    let mut running = RUNNING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    running.1 = true;
    if running.0 != 0 {
        // SAFETY: kill(2) of a child of ours not yet reaped (its ID is cleared under this
        // lock before it is waited for), so the ID is not reused.
        unsafe { libc::kill(running.0 as libc::pid_t, libc::SIGKILL) };
    }
}

/// `ARKE_DEBUG_PANIC`, the tests' panic in a resizing thread, handed to the child (debug
/// builds only: the variable is not a secret, and release builds pass nothing).
fn test_panic() -> Option<(&'static str, String)> {
    if !cfg!(debug_assertions) {
        return None;
    }
    std::env::var("ARKE_DEBUG_PANIC")
        .ok()
        .map(|v| ("ARKE_DEBUG_PANIC", v))
}

/// The answer's pipe holds 1 MiB instead of 64 KiB: the variants cross it in a few large
/// writes rather than dozens of wake-ups (the most an unprivileged process may ask for).
fn widen(pipe: &ChildStdout) {
    use std::os::fd::AsRawFd;
    // SAFETY: F_SETPIPE_SZ on a pipe we hold; a refusal leaves it as it was.
    unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20) };
}

/// The child is about to be reaped: `stop` must not kill its process ID any more.
fn forget_running() {
    RUNNING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .0 = 0;
}

/// What the child used, from the kernel's accounting when it was reaped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChildUsage {
    /// Its peak resident memory, KiB.
    pub peak_rss_kib: u64,
    /// CPU time, user and system, ms.
    pub user_ms: u64,
    pub system_ms: u64,
}

/// How the child should run: confined by seccomp, or not (an operator's choice, `IMAGE_STAGE`).
#[derive(Debug, Clone, Copy)]
pub struct Launch {
    pub confined: bool,
    /// Its CPU-time limit, seconds.
    pub cpu_secs: u64,
    /// A fault for the tests (debug builds only).
    pub fault: Option<Fault>,
}

/// A started child whose input is identified.
pub struct Running {
    process: Process,
    identified: Identified,
}

/// Starts the child on `input` and reads its first frame. Errors: the child cannot start
/// (`Internal`), or it refused the input from its header (its own error), or it died.
pub fn start(
    input: &SealedInput,
    settings: &ImageSettings,
    launch: Launch,
) -> Result<Running, ImageError> {
    let mut process = Process::spawn(input, settings, launch)?;
    match process.answer.next() {
        Ok(Some(Frame::Identified(identified))) => Ok(Running {
            process,
            identified,
        }),
        other => Err(process.ended(other)),
    }
}

impl Running {
    /// What the input is (the child's first frame).
    pub fn identified(&self) -> &Identified {
        &self.identified
    }

    /// The rest of the answer: every variant and the report, then the child reaped.
    pub fn finish(mut self) -> Result<(Output, ChildUsage), ImageError> {
        let mut variants: Vec<Variant> = Vec::new();
        let report = loop {
            match self.process.answer.next() {
                Ok(Some(Frame::Variant(v))) => variants.push(v),
                Ok(Some(Frame::Report(r))) => break r,
                other => return Err(self.process.ended(other)),
            }
        };
        // The stream ends after the report (the reader refuses anything more).
        if let other @ (Ok(Some(_)) | Err(_)) = self.process.answer.next() {
            return Err(self.process.ended(other));
        }
        let (status, usage, words) = self.process.reap();
        if let Some(e) = died(status, &words, self.process.memory_limit) {
            return Err(e);
        }
        let output = Output {
            identified: self.identified,
            variants,
            warnings: report.warnings,
            placeholder: report.placeholder,
            converted_to_srgb: report.converted_to_srgb,
            phases: report.phases,
        };
        Ok((output, usage))
    }
}

/// The child process and its two pipes.
struct Process {
    /// `None` once reaped.
    child: Option<Child>,
    answer: Reader<BufReader<ChildStdout>>,
    /// The tail of its stderr, read on a thread of its own.
    last_words: Option<std::thread::JoinHandle<String>>,
    /// Its memory limit, bytes (`child::memory_limit` of the input's size).
    memory_limit: u64,
}

impl Process {
    fn spawn(
        input: &SealedInput,
        settings: &ImageSettings,
        launch: Launch,
    ) -> Result<Process, ImageError> {
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            ImageError::Internal(format!("cannot start the image stage: {what}: {e}"))
        };
        let stdin = input.file().try_clone().map_err(|e| failed("input", &e))?;
        let settings = serde_json::to_string(settings).map_err(|e| failed("settings", &e))?;
        let mut command = Command::new("/proc/self/exe");
        command
            .arg0("arke-image-stage")
            .arg(SUBCOMMAND)
            .arg(settings)
            .arg(std::process::id().to_string())
            .arg(if launch.confined {
                "confined"
            } else {
                "unconfined"
            })
            .arg(launch.cpu_secs.to_string())
            .args(launch.fault.map(Fault::name))
            .env_clear()
            .envs(test_panic())
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = {
            let mut running = RUNNING
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if running.1 {
                return Err(ImageError::Internal("the job was stopped".into()));
            }
            // Through /proc: the same executable even if its file was replaced since.
            let child = command
                .spawn()
                .map_err(|e| failed("/proc/self/exe (is /proc mounted?)", &e))?;
            running.0 = child.id();
            child
        };
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            // Never: both are piped above.
            let _ = child.kill();
            let _ = child.wait();
            forget_running();
            return Err(failed("pipes", &"missing"));
        };
        widen(&stdout);
        Ok(Process {
            child: Some(child),
            answer: Reader::new(BufReader::with_capacity(256 << 10, stdout)),
            last_words: Some(std::thread::spawn(move || tail(stderr))),
            memory_limit: memory_limit(input.len() as u64),
        })
    }

    /// The error for an answer that ended early, `read` being what came instead: the child's
    /// own error frame, nothing (it died: its status says why), or a malformed answer (it is
    /// killed). A death by signal explains more than a cut answer.
    fn ended(&mut self, read: Result<Option<Frame>, Malformed>) -> ImageError {
        let said = match read {
            Ok(Some(Frame::Failed(f))) => Some(ImageError::from(f)),
            Ok(None) => None,
            Ok(Some(_)) => Some(malformed("a frame out of order")),
            Err(Malformed(why)) => {
                self.kill();
                Some(malformed(&why))
            }
        };
        let (status, _, words) = self.reap();
        let killed_by_us = status.signal() == Some(libc::SIGKILL) && said.is_some();
        match (said, killed_by_us) {
            (Some(said), true) => said,
            (said, _) => died(status, &words, self.memory_limit)
                .or(said.map(|e| with_last_words(e, &words)))
                .unwrap_or_else(|| {
                    ImageError::Internal(format!(
                        "the image stage ended ({status}) without its answer{}",
                        said_last(&words)
                    ))
                }),
        }
    }

    fn kill(&self) {
        if let Some(child) = &self.child {
            // SAFETY: kill(2) of our own child, not yet reaped (`reap` takes it).
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
        }
    }

    /// Waits for the child (once), with what it used and the tail of its stderr.
    fn reap(&mut self) -> (ExitStatus, ChildUsage, String) {
        let Some(child) = self.child.take() else {
            return (
                ExitStatus::from_raw(0),
                ChildUsage::default(),
                String::new(),
            );
        };
        let pid = child.id() as libc::pid_t;
        forget_running();
        let mut status: libc::c_int = 0;
        // SAFETY: a zeroed rusage is valid plain data for wait4 to fill.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: wait4 on our own child, with valid pointers.
            let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            let interrupted =
                r < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted;
            if !interrupted {
                break;
            }
        }
        drop(child);
        let words = self
            .last_words
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        let ms = |t: libc::timeval| t.tv_sec as u64 * 1000 + t.tv_usec as u64 / 1000;
        let usage = ChildUsage {
            peak_rss_kib: usage.ru_maxrss as u64,
            user_ms: ms(usage.ru_utime),
            system_ms: ms(usage.ru_stime),
        };
        (ExitStatus::from_raw(status), usage, words)
    }
}

/// A child let go early (an error elsewhere in the job) is killed and reaped.
impl Drop for Process {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.kill();
            self.reap();
        }
    }
}

/// What a death by signal says about the input: a decoder crash or a forbidden call is
/// `image_invalid` (the input made a decoder misbehave), an allocation past the limit
/// `input_too_large` (`memory_limit`: the child's, bytes), SIGKILL from elsewhere `internal`.
/// `None` for a normal exit.
fn died(status: ExitStatus, words: &str, memory_limit: u64) -> Option<ImageError> {
    let signal = status.signal()?;
    let last = said_last(words);
    Some(match signal {
        libc::SIGSYS => ImageError::Invalid(format!(
            "the image stage made a forbidden system call and was killed (SIGSYS, seccomp){last}"
        )),
        libc::SIGABRT if words.contains("memory allocation of") => ImageError::TooLarge(format!(
            "decoding needs more than the image stage's {} MiB of memory{last}",
            memory_limit >> 20
        )),
        libc::SIGXCPU => ImageError::Invalid(format!(
            "the image stage ran past its CPU-time limit (SIGXCPU){last}"
        )),
        libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE | libc::SIGABRT => {
            ImageError::Invalid(format!(
                "a decoder crashed on this input ({}){last}",
                signal_name(signal)
            ))
        }
        other => ImageError::Internal(format!(
            "the image stage was killed by {}{last}",
            signal_name(other)
        )),
    })
}

fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGILL => "SIGILL".into(),
        libc::SIGFPE => "SIGFPE".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGSYS => "SIGSYS".into(),
        n => format!("signal {n}"),
    }
}

/// `: "…"` with the last line the child wrote to stderr, if any (Rust's closing "note: run
/// with RUST_BACKTRACE" left out).
fn said_last(words: &str) -> String {
    let said = |l: &&str| !l.trim().is_empty() && !l.starts_with("note: ");
    match words.lines().rev().find(said) {
        Some(line) => format!(": {:?}", line.trim()),
        None => String::new(),
    }
}

/// A bug of the child's own (a panic on one of its threads) comes with its last words, the
/// panic's message: they hold no secret (it has none).
fn with_last_words(e: ImageError, words: &str) -> ImageError {
    match e {
        ImageError::Internal(m) => ImageError::Internal(format!("{m}{}", said_last(words))),
        other => other,
    }
}

fn malformed(why: &str) -> ImageError {
    ImageError::Internal(format!("malformed answer from the image stage: {why}"))
}

/// The last 4 KB the child wrote to stderr (read to the end, so it never blocks on a full
/// pipe).
fn tail(mut from: impl Read) -> String {
    const KEEP: usize = 4096;
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > 2 * KEEP {
                    kept.drain(..kept.len() - KEEP);
                }
            }
        }
    }
    let start = kept.len().saturating_sub(KEEP);
    String::from_utf8_lossy(&kept[start..]).into_owned()
}
