//! The command line: which command the arguments ask for, running it, and — in one place each,
//! as ripgrep's `main` does — printing its error and choosing the exit code.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;

use crate::callback::{sha256_hex, with_sha256, PlaceholderInfo, SourceInfo};
use crate::config::{ImageSettings, Isolation, RawConfig, DEFAULT_JOB_TIMEOUT_SECS, VARIABLES};
use crate::error::Error;
use crate::image::Format;
use crate::sandbox::{self, SealedInput};
use crate::{log, supervisor};

/// A command the binary can run.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    /// No arguments: the job described by the environment (the Fly machine command).
    Job,
    /// The image stage alone on a local file (PRODUCT.md "Subcommands for people").
    Variants {
        input: PathBuf,
        out: PathBuf,
    },
    /// Validate the environment and print the plan.
    Check,
    Help,
    Version,
}

/// Why a command did not succeed.
#[derive(Debug)]
enum Failure {
    /// The arguments make no command: exit 2, with the usage.
    Usage(String),
    /// The job, `check` or `variants` failed: the error's own exit code.
    Job(Error),
    /// A local file could not be read or written (`variants`): exit 1.
    Local(String),
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Job(e) => e.exit_code(),
            Failure::Local(_) => 1,
        }
    }
}

/// The whole program: `args` without the program name (any bytes: a non-UTF-8 argument is a
/// usage error or a path, never a panic) → exit code. 0 success, 1 job failed, 2 usage or
/// configuration invalid (PRODUCT.md "Exit code").
pub fn main(args: &[OsString]) -> ExitCode {
    // The confined image stage (`sandbox`): before anything else, and never for people.
    if args.first().is_some_and(|a| a == sandbox::SUBCOMMAND) {
        return sandbox::child_main(&args[1..]);
    }
    let outcome = parse(args).map_err(Failure::Usage).and_then(run);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            match &failure {
                Failure::Usage(why) => eprintln!("error: {why}\n\n{}", usage()),
                Failure::Job(e) => eprintln!("error: {}", log::redact(&e.to_string())),
                Failure::Local(why) => eprintln!("error: {why}"),
            }
            ExitCode::from(failure.exit_code())
        }
    }
}

fn parse(args: &[OsString]) -> Result<Command, String> {
    let Some(first) = args.first() else {
        return Ok(Command::Job);
    };
    match first.to_str() {
        Some("-h" | "--help" | "help") => Ok(Command::Help),
        Some("-V" | "--version") => Ok(Command::Version),
        Some("check") if args.len() == 1 => Ok(Command::Check),
        Some("check") => Err("check takes no arguments".into()),
        Some("variants") => parse_variants(&args[1..]),
        _ => Err(format!("unknown command {first:?}")),
    }
}

fn parse_variants(args: &[OsString]) -> Result<Command, String> {
    let mut input = None;
    let mut out = PathBuf::from(".");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--out") => out = it.next().ok_or("--out needs a directory")?.into(),
            Some(s) if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ if input.is_none() => input = Some(PathBuf::from(a)),
            _ => return Err(format!("unexpected argument {a:?}")),
        }
    }
    let input = input.ok_or("variants needs an INPUT file")?;
    Ok(Command::Variants { input, out })
}

fn env_lookup(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Job => supervisor::run(&RawConfig::from_lookup(env_lookup)).map_err(Failure::Job),
        Command::Variants { input, out } => variants(&input, &out),
        Command::Check => check(),
        Command::Help => {
            print_out(&usage());
            Ok(())
        }
        Command::Version => {
            print_out(&format!(
                "arke-image-processor {}\nlibjpeg-turbo SIMD: {}\n",
                env!("CARGO_PKG_VERSION"),
                env!("ARKE_JPEG_SIMD")
            ));
            Ok(())
        }
    }
}

/// The `--help` text, one screen: the commands, exit codes, where the README is, and every
/// environment variable with its default, so the binary explains itself where its README is
/// not (a scratch image). `tests/it/docs.rs` holds the README's tables to it.
pub fn usage() -> String {
    let mut text = String::from(
        "arke-image-processor — one uploaded photo in, web-ready variants out

USAGE:
    arke-image-processor                      run the job described by the environment
    arke-image-processor variants INPUT [--out DIR]
                                              make the variants of a local file, print a summary
    arke-image-processor check                validate the environment, print the plan
    arke-image-processor --help | --version

Exit codes: 0 job succeeded, 1 job failed, 2 configuration or usage invalid.
Error codes, outputs, deploying: README.md in the source repository (details in docs/).

URLs may carry a password (https://user:PASSWORD@host/...) or a token in their query string:
they are sent as given and shown everywhere (logs, errors, check, callbacks) as
https://user:***@host:port/path?***. The R2 keys are never shown.

ENVIRONMENT (default in brackets; none: required):
",
    );
    for (name, default, meaning) in VARIABLES {
        let default = match *default {
            "" => String::new(),
            "—" => " [unset]".to_string(),
            d => format!(" [{d}]"),
        };
        text.push_str(&format!("    {name}{default}\n        {meaning}\n"));
    }
    text
}

/// `variants`: the image stage on a local file, no network.
fn variants(input: &Path, out_dir: &Path) -> Result<(), Failure> {
    let settings = ImageSettings::from_lookup(env_lookup).map_err(Failure::Job)?;
    let isolation = Isolation::from_lookup(env_lookup).map_err(Failure::Job)?;
    let bytes = std::fs::File::open(input)
        .and_then(|mut file| SealedInput::copy_of(&mut file))
        .map_err(|e| Failure::Local(format!("cannot read {}: {e}", input.display())))?;
    // The input's fingerprint beside the image work (as in the job), which runs as the job's
    // does: in a confined child process unless IMAGE_STAGE says otherwise.
    let cpu_secs = 2 * DEFAULT_JOB_TIMEOUT_SECS;
    let (made, sha256) = with_sha256(&bytes, || {
        sandbox::start(&bytes, &settings, isolation, cpu_secs).and_then(sandbox::Stage::finish)
    });
    let (out, child) = made.map_err(|e| Failure::Job(Error::from(e)))?;
    std::fs::create_dir_all(out_dir)
        .map_err(|e| Failure::Local(format!("cannot create {}: {e}", out_dir.display())))?;
    let mut summary = Vec::new();
    for v in &out.variants {
        // Each variant's own format: a TIFF's are JPEG or PNG.
        let ext = Format::of_content_type(v.content_type).map_or("bin", Format::extension);
        let path = out_dir.join(format!("{}.{ext}", v.name));
        std::fs::write(&path, &v.data)
            .map_err(|e| Failure::Local(format!("cannot write {}: {e}", path.display())))?;
        summary.push(json!({
            "name": v.name, "width": v.width, "height": v.height,
            "bytes": v.data.len(), "content_type": v.content_type,
            "path": path.display().to_string(),
            "sha256": sha256_hex(&v.data),
        }));
    }
    let report = json!({
        "input": input.display().to_string(),
        "format": out.identified.format.content_type(),
        "width": out.identified.width,
        "height": out.identified.height,
        "variants": summary,
        "source": SourceInfo::new(&out, sha256),
        "placeholder": PlaceholderInfo::from(&out.placeholder),
        "warnings": out.warnings,
        "phases_ms": out.phases,
        "image_stage": image_stage_report(isolation, child),
    });
    print_out(&(serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"));
    Ok(())
}

/// How the image stage ran and what memory each process took at its peak (KiB: this one's
/// from the kernel's accounting, the child's from its reaping).
fn image_stage_report(
    isolation: Isolation,
    child: Option<sandbox::ChildUsage>,
) -> serde_json::Value {
    let own_peak_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        });
    json!({
        "isolation": isolation.name(),
        "peak_rss_kib": own_peak_kib,
        "child": child,
    })
}

/// `check`: validates the environment and prints the plan, secrets redacted.
fn check() -> Result<(), Failure> {
    let raw = RawConfig::from_lookup(env_lookup);
    log::init(
        "",
        "",
        &raw.secrets().iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let cfg = raw.validate().map_err(Failure::Job)?;
    // The plan's URLs are redacted already; the secret registry is the safety net.
    print_out(
        &(log::redact(&serde_json::to_string_pretty(&cfg.plan()).unwrap_or_default()) + "\n"),
    );
    Ok(())
}

/// Writes `text` to stdout. A reader that has gone away (`variants … | head`, a closed pipe) is
/// not an error of ours: unlike `print!`, which panics on `EPIPE`, this drops the text.
fn print_out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[track_caller]
    fn case(a: &[&str], expect: Result<Command, ()>) {
        assert_eq!(parse(&args(a)).map_err(|_| ()), expect, "{a:?}");
    }

    #[test]
    fn commands_parse() {
        case(&[], Ok(Command::Job));
        case(&["--help"], Ok(Command::Help));
        case(&["-V"], Ok(Command::Version));
        case(&["check"], Ok(Command::Check));
        case(&["check", "x"], Err(()));
        case(
            &["variants", "a.jpg", "--out", "d"],
            Ok(Command::Variants {
                input: "a.jpg".into(),
                out: "d".into(),
            }),
        );
        case(&["variants"], Err(()));
        case(&["variants", "a", "b"], Err(()));
        case(&["frobnicate"], Err(()));
    }

    #[test]
    fn non_utf8_arguments_are_paths_or_usage_errors_never_panics() {
        use std::os::unix::ffi::OsStringExt;
        let odd = OsString::from_vec(vec![b'f', 0xFF, b'.', b'j', b'p', b'g']);
        assert_eq!(
            parse(&[OsString::from("variants"), odd.clone()]),
            Ok(Command::Variants {
                input: PathBuf::from(odd.clone()),
                out: ".".into()
            })
        );
        assert!(parse(&[odd]).is_err());
    }

    #[test]
    fn help_lists_every_variable_with_its_default() {
        let text = usage();
        for (name, _, _) in VARIABLES {
            assert!(text.contains(name), "{name}");
        }
        assert!(text.contains("JOB_TIMEOUT_SECS [300]"));
        assert!(text.contains("shown everywhere (logs, errors, check, callbacks) as"));
        assert!(text.contains("https://user:***@host:port/path?***"));
        assert!(
            text.contains("README.md in the source repository"),
            "--help says where the README is"
        );
    }
}
