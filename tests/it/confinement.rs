//! The image stage in its confined child process (issue 27), measured from outside: the child
//! holds no secret, runs under seccomp with no new privileges and three descriptors, and a
//! child that misbehaves (a forbidden call, a crash, an allocation past its limit) ends the
//! job in one error callback with nothing wrong in either bucket.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use image::ImageFormat::Jpeg;

use crate::common::*;

/// A token in the callback URL's query: a secret the child must not hold either.
const CALLBACK_TOKEN: &str = "cb-token-7f3a9c2e5d1b";

/// The worker started on `job` (not waited for), with `env` added.
fn spawn(job: &Job, env: &[(&str, &str)]) -> Child {
    worker()
        .env_clear()
        .envs(job.env.iter().cloned())
        .envs(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> Run {
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The image-stage child of process `parent`, waited for (up to 60 s).
fn image_stage_of(parent: u32) -> u32 {
    let waited = Instant::now();
    loop {
        let children = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
            .unwrap_or_default();
        // The job thread starts the child: look at every thread's children.
        let mut all: Vec<u32> = children
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) {
            for t in tasks.flatten() {
                let path = t.path().join("children");
                let more = std::fs::read_to_string(path).unwrap_or_default();
                all.extend(
                    more.split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok()),
                );
            }
        }
        for pid in all {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if cmdline.starts_with(b"arke-image-stage\0__image-stage\0") {
                return pid;
            }
        }
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "no image-stage child of {parent} appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The `Name:\tvalue` line of `/proc/PID/status`.
fn status_field(pid: u32, name: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
        .trim()
        .to_string()
}

/// Every readable byte of process `pid`'s memory, region by region (`/proc/PID/maps` and
/// `/proc/PID/mem`; regions the kernel will not read, such as `[vvar]`, are skipped), and how
/// many bytes that was.
fn scan_memory(pid: u32, needles: &[&[u8]]) -> (usize, Vec<String>) {
    use std::io::{Read, Seek, SeekFrom};
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
    let mut read = 0;
    let mut found = Vec::new();
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        if !perms.starts_with('r') {
            continue;
        }
        let (start, end) = range.split_once('-').unwrap();
        let start = u64::from_str_radix(start, 16).unwrap();
        let end = u64::from_str_radix(end, 16).unwrap();
        let mut region = vec![0u8; (end - start) as usize];
        if mem.seek(SeekFrom::Start(start)).is_err() || mem.read_exact(&mut region).is_err() {
            continue;
        }
        read += region.len();
        for needle in needles {
            if region.windows(needle.len()).any(|w| w == *needle) {
                found.push(format!("{} in {line}", String::from_utf8_lossy(needle)));
            }
        }
    }
    (read, found)
}

#[test]
fn the_image_stage_runs_in_a_confined_child_that_holds_no_secret() {
    let stack = Stack::start();
    let mut job = Job::fixture(&stack, "jpeg_6000x4000.jpg", "image/jpeg");
    let callback = format!(
        "{}/callback/{BATCH}/{TASK}?token={CALLBACK_TOKEN}",
        stack.orchestrator_url
    );
    job.set("CALLBACK_URL", &callback);
    // The child pauses once it holds the decoded image's variants (a test-only hook).
    let worker = spawn(&job, &[("ARKE_DEBUG_CHILD_FAULT", "pause")]);
    let parent = worker.id();
    let child = image_stage_of(parent);

    assert_eq!(
        std::fs::read(format!("/proc/{child}/environ")).unwrap(),
        b"",
        "the child's environment is empty"
    );
    // It confines itself first thing: seccomp in filter mode (2) before it reads the input.
    let waited = Instant::now();
    while status_field(child, "Seccomp") != "2" {
        assert!(waited.elapsed() < Duration::from_secs(10), "never confined");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(status_field(child, "NoNewPrivs"), "1");
    let fds: Vec<String> = std::fs::read_dir(format!("/proc/{child}/fd"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut fds = fds;
    fds.sort();
    assert_eq!(fds, ["0", "1", "2"], "only its three descriptors");
    // Its stdin is the sealed input: a memory file, not a copy on disk.
    let stdin = std::fs::read_link(format!("/proc/{child}/fd/0")).unwrap();
    assert!(
        stdin.to_string_lossy().starts_with("/memfd:arke-input"),
        "{stdin:?}"
    );

    // The parent holds the secrets (the needles are right), the child none of them.
    let needles: [&[u8]; 3] = [
        arke_stack::SECRET_KEY.as_bytes(),
        arke_stack::ACCESS_KEY.as_bytes(),
        CALLBACK_TOKEN.as_bytes(),
    ];
    let (_, in_parent) = scan_memory(parent, &needles[..1]);
    assert!(
        !in_parent.is_empty(),
        "the scan finds the secret where it is"
    );
    let (read, in_child) = scan_memory(child, &needles);
    assert!(read > 20 << 20, "read {read} bytes of the child's memory");
    assert!(in_child.is_empty(), "secrets in the child: {in_child:?}");

    let run = finish(worker);
    assert_success(
        &stack,
        &job,
        &run,
        "image/jpeg",
        &[
            ("thumb", Jpeg, 400, 267),
            ("medium", Jpeg, 1200, 800),
            ("large", Jpeg, 2400, 1600),
        ],
    );
    let resize = log_lines(&run)
        .into_iter()
        .find(|l| l["stage"] == "resize" && l.get("image_stage").is_some())
        .expect("the resize log line");
    assert_eq!(resize["image_stage"]["isolation"], "confined");
    assert!(resize["image_stage"]["child"]["peak_rss_kib"].as_u64() > Some(1000));
}

/// A job whose child commits `fault` after it is confined.
fn faulty_job(fault: &str) -> (Stack, Job, Run) {
    let stack = Stack::start();
    let job = Job::fixture(&stack, "jpeg_thumb_band_800x600.jpg", "image/jpeg");
    let run = finish(spawn(&job, &[("ARKE_DEBUG_CHILD_FAULT", fault)]));
    (stack, job, run)
}

/// Nothing wrong in either bucket: the original still in staging, nothing archived, no asset.
#[track_caller]
fn nothing_written(stack: &Stack, job: &Job) {
    assert_eq!(
        stack.get(STAGING, &job.key).as_deref(),
        Some(&job.data[..]),
        "staging original kept"
    );
    assert_eq!(
        stack.keys(ARCHIVE),
        Vec::<String>::new(),
        "nothing archived"
    );
    assert!(stack.assets().is_empty(), "no CDN asset");
}

#[test]
fn a_forbidden_call_in_the_child_kills_it_and_ends_in_one_error_callback() {
    for fault in ["open", "connect"] {
        let (stack, job, run) = faulty_job(fault);
        let cb = assert_error(
            &stack,
            &job,
            &run,
            "image_invalid",
            "Failed to process image: ",
        );
        let msg = cb["error"].as_str().unwrap();
        assert!(
            msg.contains("forbidden system call") && msg.contains("SIGSYS"),
            "{fault}: {msg}"
        );
        nothing_written(&stack, &job);
    }
}

#[test]
fn a_kernel_without_seccomp_is_a_clear_error_never_an_unconfined_run() {
    let (stack, job, run) = faulty_job("no-seccomp");
    let cb = assert_error(&stack, &job, &run, "internal", "Internal error: ");
    let msg = cb["error"].as_str().unwrap();
    assert!(
        msg.contains("cannot confine the image stage with seccomp")
            && msg.contains("IMAGE_STAGE=unconfined"),
        "{msg}"
    );
    nothing_written(&stack, &job);
    // The operator's way out: the same job with IMAGE_STAGE=unconfined succeeds.
    let stack = Stack::start();
    let mut job = Job::fixture(&stack, "jpeg_thumb_band_800x600.jpg", "image/jpeg");
    job.set("IMAGE_STAGE", "unconfined");
    let run = finish(spawn(&job, &[("ARKE_DEBUG_CHILD_FAULT", "no-seccomp")]));
    assert_success(
        &stack,
        &job,
        &run,
        "image/jpeg",
        &[("thumb", Jpeg, 400, 300), ("original", Jpeg, 800, 600)],
    );
}

#[test]
fn a_crashing_child_is_an_error_never_a_success() {
    let (stack, job, run) = faulty_job("segv");
    let cb = assert_error(
        &stack,
        &job,
        &run,
        "image_invalid",
        "Failed to process image: ",
    );
    let msg = cb["error"].as_str().unwrap();
    assert!(
        msg.contains("a decoder crashed on this input (SIGSEGV)"),
        "{msg}"
    );
    nothing_written(&stack, &job);
}

#[test]
fn an_allocation_past_the_childs_limit_is_an_error_callback_not_a_killed_worker() {
    let (stack, job, run) = faulty_job("alloc");
    let cb = assert_error(
        &stack,
        &job,
        &run,
        "input_too_large",
        "Failed to process image: ",
    );
    let msg = cb["error"].as_str().unwrap();
    assert!(msg.contains("1280 MiB of memory"), "{msg}");
    assert!(
        msg.contains("memory allocation of"),
        "its last words: {msg}"
    );
    nothing_written(&stack, &job);
}

#[test]
fn sigterm_and_the_deadline_kill_the_child_with_the_job() {
    for stop in ["SIGTERM", "deadline"] {
        let stack = Stack::start();
        let mut job = Job::fixture(&stack, "jpeg_6000x4000.jpg", "image/jpeg");
        if stop == "deadline" {
            job.set("JOB_TIMEOUT_SECS", "2");
        }
        let worker = spawn(&job, &[("ARKE_DEBUG_CHILD_FAULT", "pause")]);
        let child = image_stage_of(worker.id());
        if stop == "SIGTERM" {
            let status = std::process::Command::new("kill")
                .args(["-TERM", &worker.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
        }
        let run = finish(worker);
        let (code, message) = match stop {
            "SIGTERM" => ("interrupted", "Job interrupted by SIGTERM"),
            _ => ("timeout", "Job timed out after 2 s"),
        };
        assert_error(&stack, &job, &run, code, message);
        let gone = || {
            std::fs::read_to_string(format!("/proc/{child}/status")).map_or(true, |s| {
                s.lines()
                    .any(|l| l.starts_with("State:") && l.contains('Z'))
            })
        };
        // Killed (SIGKILL) when the stop was decided; on a loaded machine it may take a
        // moment to be scheduled and die.
        let waited = Instant::now();
        while !gone() && waited.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(gone(), "{stop}: the image stage outlived the job");
        assert!(stack.assets().is_empty(), "{stop}: no CDN asset");
    }
}

#[test]
fn in_process_and_confined_runs_make_the_same_bytes() {
    for fixture in [
        "jpeg_large_band_3000x2000.jpg",
        "correctness/orient_6_1300x900.jpg",
        "png_alpha_landscape_1000x600.png",
        "webp_lossy_2600x1400.webp",
    ] {
        let run = |isolation: &str| {
            let dir = tempfile::tempdir().unwrap();
            let out = worker()
                .arg("variants")
                .arg(testdata(fixture))
                .arg("--out")
                .arg(dir.path())
                .env_clear()
                .env("IMAGE_STAGE", isolation)
                .output()
                .unwrap();
            assert!(out.status.success(), "{fixture} {isolation}");
            let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(summary["image_stage"]["isolation"], isolation);
            summary["variants"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| (v["name"].clone(), v["sha256"].clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(run("confined"), run("in-process"), "{fixture}");
    }
}
