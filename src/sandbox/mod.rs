//! The image stage in a confined child process: the bytes anyone can upload are turned into
//! pixels by C and Rust decoders in a process that holds no secret, reaches no network and no
//! file, and may make only the system calls image work needs (issue 27).
//!
//! The parent — the job, or `variants` — moves the input into a sealed memory file
//! (`memfd.rs`), starts its own executable again as `__image-stage` with an empty environment
//! and three descriptors (the input as stdin, a pipe for the answer, one for its last words),
//! and reads the answer (`frames.rs`): what the input is first, so that the archive can start,
//! then each variant, then the report. Before it reads a byte of the input the child ties its
//! life to the parent's, takes its resource limits and confines itself with
//! `PR_SET_NO_NEW_PRIVS` and a seccomp allow-list (`child.rs`, `seccomp.rs`). A child that
//! dies, overruns or answers nonsense is an error, never a success (`parent.rs`).
//!
//! [`Isolation`] says how the stage runs (`IMAGE_STAGE`); in-process is for profiling and
//! debugging only.

mod child;
mod frames;
mod memfd;
mod parent;
mod seccomp;

pub use child::{main as child_main, memory_limit, Fault, MEMORY_LIMIT_BYTES, SUBCOMMAND};
pub use memfd::SealedInput;
pub use parent::{stop, ChildUsage};

use crate::image::{self, Identified, ImageError, ImageSettings, Output};

/// How the image stage runs (`IMAGE_STAGE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// In a child process confined by seccomp (the default).
    #[default]
    Confined,
    /// In a child process without seccomp: for an operator whose kernel has none. The child
    /// still holds no secret and no network connection, but could open files and sockets.
    Unconfined,
    /// In the worker's own process, beside the archive keys: for profiling and debugging only.
    InProcess,
}

impl Isolation {
    /// `confined`, `unconfined` or `in-process`.
    pub fn parse(s: &str) -> Option<Isolation> {
        Some(match s.trim() {
            "confined" => Isolation::Confined,
            "unconfined" => Isolation::Unconfined,
            "in-process" => Isolation::InProcess,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Isolation::Confined => "confined",
            Isolation::Unconfined => "unconfined",
            Isolation::InProcess => "in-process",
        }
    }
}

/// An image stage started on an input whose header is read.
pub enum Stage<'a> {
    Child(parent::Running),
    InProcess(image::Opened<'a>, &'a ImageSettings),
}

/// Starts the image stage on `input` as `isolation` says, up to the input identified from
/// its header. `cpu_secs`: the child's CPU-time limit, seconds. Errors: the input is refused
/// from its header (`Unsupported`, `TooLarge`, `Invalid`), or the child could not start or
/// died (`Internal`, or what its death says about the input).
pub fn start<'a>(
    input: &'a SealedInput,
    settings: &'a ImageSettings,
    isolation: Isolation,
    cpu_secs: u64,
) -> Result<Stage<'a>, ImageError> {
    let confined = match isolation {
        Isolation::InProcess => {
            let opened = image::open(input, settings.max_input_pixels)?;
            return Ok(Stage::InProcess(opened, settings));
        }
        Isolation::Confined => true,
        Isolation::Unconfined => false,
    };
    let launch = parent::Launch {
        confined,
        cpu_secs,
        fault: test_fault(),
    };
    parent::start(input, settings, launch).map(Stage::Child)
}

impl Stage<'_> {
    /// What the input is.
    pub fn identified(&self) -> Identified {
        match self {
            Stage::Child(running) => running.identified().clone(),
            Stage::InProcess(opened, _) => opened.probe.identified(),
        }
    }

    /// Every variant, and what the child used (`None` in-process).
    pub fn finish(self) -> Result<(Output, Option<ChildUsage>), ImageError> {
        match self {
            Stage::Child(running) => running.finish().map(|(out, usage)| (out, Some(usage))),
            Stage::InProcess(opened, settings) => {
                image::process_opened(opened, settings).map(|out| (out, None))
            }
        }
    }
}

/// The fault the tests ask the child to commit (`ARKE_DEBUG_CHILD_FAULT`), in debug builds
/// only; release builds compile this to nothing.
fn test_fault() -> Option<Fault> {
    if !cfg!(debug_assertions) {
        return None;
    }
    std::env::var("ARKE_DEBUG_CHILD_FAULT")
        .ok()
        .and_then(|f| Fault::parse(&f))
}
