//! The child's side: `arke-image-processor __image-stage SETTINGS PARENT_PID MODE CPU_SECS
//! [FAULT]`, started by `parent.rs` with an empty environment and three descriptors. Before it
//! reads a byte of the input it ties its life to the parent's, closes any other descriptor,
//! takes its resource limits, maps the sealed input and — `MODE` `confined` — confines itself
//! with seccomp (`seccomp.rs`). Then the image stage, its answer in frames on stdout
//! (`frames.rs`).

// prctl, getppid, setrlimit and close_range through libc (each use has its SAFETY note), and
// the tests' crash hook.
#![allow(unsafe_code)]

use std::ffi::OsString;
use std::io::BufWriter;
use std::os::fd::AsFd;
use std::process::ExitCode;

use super::frames::{Report, Writer};
use super::memfd::Mapping;
use super::seccomp;
use crate::image::{self, ImageError, ImageSettings};

/// The hidden subcommand the parent starts.
pub const SUBCOMMAND: &str = "__image-stage";

/// The most memory the child may map for data (`RLIMIT_DATA`), bytes: the 1.5 GiB envelope
/// (PRODUCT.md "Memory envelope") less what the parent holds meanwhile (the input, at most
/// `MAX_INPUT_BYTES`, and its own ~10 MB). An allocation past it fails in the child, which the
/// parent reports as `input_too_large`, instead of the kernel killing the machine's worker.
/// A larger input (a TIFF up to `MAX_TIFF_INPUT_BYTES`) lowers it: [`memory_limit`].
pub const MEMORY_LIMIT_BYTES: u64 = 1280 << 20;

/// The child's limit never goes below this, bytes (a scanner master streams through a few
/// megabytes; the variants of a 16 MP image need about 200 MB).
const MIN_MEMORY_LIMIT_BYTES: u64 = 512 << 20;

/// The child's memory limit for an input of `input_bytes` (bytes): `MEMORY_LIMIT_BYTES`, less
/// what the input holds past `DEFAULT_MAX_INPUT_BYTES` (the parent maps it all the while), at
/// least `MIN_MEMORY_LIMIT_BYTES`.
pub fn memory_limit(input_bytes: u64) -> u64 {
    let beyond = input_bytes.saturating_sub(crate::config::DEFAULT_MAX_INPUT_BYTES);
    MEMORY_LIMIT_BYTES
        .saturating_sub(beyond)
        .max(MIN_MEMORY_LIMIT_BYTES)
}

/// A fault the tests make the child commit after it is confined (debug builds only): a
/// forbidden call, a crash, an allocation past its limit, a pause while it holds the decoded
/// image, or a kernel that refuses seccomp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Open,
    Connect,
    Segv,
    Alloc,
    Pause,
    NoSeccomp,
}

impl Fault {
    pub fn parse(s: &str) -> Option<Fault> {
        Some(match s {
            "open" => Fault::Open,
            "connect" => Fault::Connect,
            "segv" => Fault::Segv,
            "alloc" => Fault::Alloc,
            "pause" => Fault::Pause,
            "no-seccomp" => Fault::NoSeccomp,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Fault::Open => "open",
            Fault::Connect => "connect",
            Fault::Segv => "segv",
            Fault::Alloc => "alloc",
            Fault::Pause => "pause",
            Fault::NoSeccomp => "no-seccomp",
        }
    }
}

/// The child's arguments.
#[derive(Debug)]
struct Args {
    settings: ImageSettings,
    parent: u32,
    confined: bool,
    cpu_secs: u64,
    fault: Option<Fault>,
}

fn parse(args: &[OsString]) -> Result<Args, String> {
    let text: Vec<&str> = args
        .iter()
        .map(|a| a.to_str().ok_or("a non-UTF-8 argument"))
        .collect::<Result<_, _>>()?;
    let [settings, parent, mode, cpu_secs, rest @ ..] = &text[..] else {
        return Err("usage: __image-stage SETTINGS PARENT_PID MODE CPU_SECS [FAULT]".into());
    };
    let fault = match rest {
        [] => None,
        // The hooks exist for the tests only: a release build refuses them.
        [f] if cfg!(debug_assertions) => Some(Fault::parse(f).ok_or("unknown fault")?),
        _ => return Err("unexpected arguments".into()),
    };
    Ok(Args {
        settings: serde_json::from_str(settings).map_err(|e| format!("settings: {e}"))?,
        parent: parent.parse().map_err(|_| "parent pid")?,
        confined: match *mode {
            "confined" => true,
            "unconfined" => false,
            _ => return Err("MODE is confined or unconfined".into()),
        },
        cpu_secs: cpu_secs.parse().map_err(|_| "cpu seconds")?,
        fault,
    })
}

/// The child process: exit 0 after a whole answer (variants or an `E` frame), 2 when it could
/// not even start one (its reason on stderr).
pub fn main(args: &[OsString]) -> ExitCode {
    let args = match parse(args) {
        Ok(args) => args,
        Err(why) => {
            eprintln!("image stage: {why}");
            return ExitCode::from(2);
        }
    };
    die_with_parent(args.parent);
    close_other_descriptors();
    one_malloc_arena();
    // A shared read-only mapping: not data, so not under the limit set next.
    let input = match Mapping::of_sealed(std::io::stdin().as_fd()) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("image stage: cannot map its input: {e}");
            return ExitCode::from(2);
        }
    };
    let memory = memory_limit(input.bytes().len() as u64);
    if let Err(why) = limit_resources(memory, args.cpu_secs) {
        eprintln!("image stage: {why}");
        return ExitCode::from(2);
    }
    // Frames go out in large writes (std's line buffering flushes at any newline byte).
    let mut answer = Writer(BufWriter::with_capacity(
        256 << 10,
        std::io::stdout().lock(),
    ));
    let refused = args.fault == Some(Fault::NoSeccomp);
    let answered = match confine(args.confined, refused) {
        Ok(()) => {
            if let Some(fault) = args.fault {
                commit(fault);
            }
            stage(input.bytes(), &args.settings, args.fault, &mut answer)
        }
        Err(e) => answer.failed(&e),
    };
    match answered.and_then(|()| answer.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("image stage: cannot write its answer: {e}");
            ExitCode::from(2)
        }
    }
}

/// The image stage on `input`, answered in frames: the identification, then every variant
/// and the report, or why it failed.
fn stage(
    input: &[u8],
    settings: &ImageSettings,
    fault: Option<Fault>,
    answer: &mut Writer<impl std::io::Write>,
) -> std::io::Result<()> {
    let opened = match image::open(input, settings.max_input_pixels) {
        Ok(opened) => opened,
        Err(e) => return answer.failed(&e),
    };
    answer.identified(&opened.probe.identified())?;
    // The parent starts the archive on it.
    answer.flush()?;
    let out = match image::process_opened(opened, settings) {
        Ok(out) => out,
        Err(e) => return answer.failed(&e),
    };
    if fault == Some(Fault::Pause) {
        std::thread::sleep(std::time::Duration::from_secs(3));
    }
    for v in &out.variants {
        answer.variant(v)?;
    }
    answer.report(&Report {
        warnings: out.warnings,
        placeholder: out.placeholder,
        converted_to_srgb: out.converted_to_srgb,
        phases: out.phases,
    })
}

/// Seccomp, or nothing when the operator asked for an unconfined child (`IMAGE_STAGE`).
/// `refused`: the tests' kernel without seccomp (the answer such a kernel gives, EINVAL).
fn confine(confined: bool, refused: bool) -> Result<(), ImageError> {
    if !confined {
        return Ok(());
    }
    let confined = match refused {
        true => Err(std::io::Error::from_raw_os_error(libc::EINVAL).to_string()),
        false => seccomp::confine(),
    };
    confined.map_err(|why| {
        ImageError::Internal(format!(
            "cannot confine the image stage with seccomp ({why}); IMAGE_STAGE=unconfined runs \
             it without, where the kernel has no seccomp"
        ))
    })
}

/// SIGKILL when the parent dies (a worker killed by the kernel leaves no decoder running);
/// gone already, the child ends at once.
fn die_with_parent(parent: u32) {
    // SAFETY: prctl with plain integer arguments; getppid cannot fail.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() as u32 != parent {
            libc::_exit(1);
        }
    }
}

/// Closes every descriptor but stdin, stdout and stderr, whatever the parent let through
/// (std opens its own with close-on-exec; this holds for any library's too).
fn close_other_descriptors() {
    // SAFETY: close_range(2) on descriptors this process holds no Rust handle to (only 0–2
    // exist for std here); on a kernel before 5.9 it fails with ENOSYS and closes nothing.
    unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
}

/// glibc's allocator gives threads arenas of their own, and the first time it shrinks one it
/// reads `/proc/sys/vm/overcommit_memory` (arena.c, `check_may_shrink_heap`): an `open` that
/// seccomp answers by killing the child, at whatever moment a thread frees enough memory. With
/// one arena (the main one, grown and trimmed by `brk`) that read never happens. musl's
/// allocator (the static binary that ships) reads nothing.
fn one_malloc_arena() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt with a plain option, before the child starts any thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Memory for data (`memory` bytes: [`memory_limit`]), CPU time (`cpu_secs`, then SIGXCPU), no
/// core dump and no file written.
fn limit_resources(memory: u64, cpu_secs: u64) -> Result<(), String> {
    let limits = [
        (libc::RLIMIT_DATA, memory, memory),
        (libc::RLIMIT_CPU, cpu_secs, cpu_secs.saturating_add(5)),
        (libc::RLIMIT_CORE, 0, 0),
        (libc::RLIMIT_FSIZE, 0, 0),
    ];
    for (resource, soft, hard) in limits {
        let limit = libc::rlimit {
            rlim_cur: soft as libc::rlim_t,
            rlim_max: hard as libc::rlim_t,
        };
        // SAFETY: setrlimit with a valid pointer to a filled struct.
        if unsafe { libc::setrlimit(resource, &limit) } != 0 {
            return Err(format!(
                "cannot set a resource limit: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}

/// Commits `fault` (debug builds only; `parse` lets none through otherwise).
fn commit(fault: Fault) {
    if !cfg!(debug_assertions) {
        return;
    }
    match fault {
        Fault::Open => drop(std::fs::File::open("/etc/hostname")),
        Fault::Connect => drop(std::net::TcpStream::connect("127.0.0.1:9")),
        // SAFETY: none; a deliberate write through a null pointer, to crash as a decoder bug
        // would (tests only).
        Fault::Segv => unsafe { std::ptr::null_mut::<u8>().write_volatile(1) },
        Fault::Alloc => {
            let too_much = vec![1u8; (MEMORY_LIMIT_BYTES + (256 << 20)) as usize];
            std::hint::black_box(too_much);
        }
        Fault::Pause | Fault::NoSeccomp => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn arguments_parse_and_faults_exist_in_debug_builds_only() {
        let settings = serde_json::to_string(&ImageSettings::default()).unwrap();
        let a = parse(&args(&[&settings, "42", "confined", "600"])).unwrap();
        assert_eq!(
            (a.parent, a.confined, a.cpu_secs, a.fault),
            (42, true, 600, None)
        );
        assert_eq!(a.settings, ImageSettings::default());
        let a = parse(&args(&[&settings, "42", "unconfined", "600", "segv"]));
        assert_eq!(a.map(|a| a.fault).ok(), Some(Some(Fault::Segv)));
        assert!(parse(&args(&[&settings, "42", "loose", "600"])).is_err());
        assert!(parse(&args(&[&settings, "42"])).is_err());
        assert!(parse(&args(&["{", "42", "confined", "600"])).is_err());
    }
}
