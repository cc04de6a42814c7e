//! `cargo smoke`, the local full job, is a check that can fail:
//! - the failure demo (`--cdn-fail 500`) passes only when the worker ran, exited 1 and sent one
//!   `cdn_upload_failed` callback; here it must fail for a worker that is missing, that
//!   succeeds, or that exits 1 without doing the job;
//! - on a photo stored sideways (EXIF orientation 6) that ships an `original`, which keeps its
//!   orientation tag, the check compares the original's shown (upright) size with the callback's.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `arke-stack smoke --photo PHOTO ARGS --out TMP`: the exit code and stdout + stderr.
fn smoke(photo: &str, args: &[&OsStr]) -> (Option<i32>, String) {
    let out_dir = tempfile::tempdir().unwrap();
    let photo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(photo);
    let run = Command::new(env!("CARGO_BIN_EXE_arke-stack"))
        .arg("smoke")
        .arg("--photo")
        .arg(photo)
        .args(args)
        .arg("--out")
        .arg(out_dir.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    (run.status.code(), text)
}

fn smoke_fail(worker: &str) -> (Option<i32>, String) {
    let args = ["--cdn-fail", "500", "--worker", worker].map(OsStr::new);
    smoke("jpeg_thumb_band_800x600.jpg", &args)
}

/// The worker built beside this test (`cargo test --workspace` builds it for its own tests).
fn worker() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = profile_dir.join("arke-image-processor");
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo test --workspace`, which builds it",
        bin.display()
    );
    bin
}

#[test]
fn the_failure_demo_fails_when_the_worker_is_missing() {
    let (code, text) = smoke_fail("/nonexistent/arke-image-processor");
    assert_ne!(code, Some(0), "{text}");
    assert!(text.contains("not found"), "{text}");
}

#[test]
fn the_failure_demo_fails_when_the_worker_does_not_fail_as_expected() {
    let (code, text) = smoke_fail("/bin/true");
    assert_ne!(code, Some(0), "{text}");
    assert!(
        text.contains("worker exited with Some(0), expected 1"),
        "{text}"
    );

    let (code, text) = smoke_fail("/bin/false");
    assert_ne!(code, Some(0), "{text}");
    assert!(text.contains("the worker never reached the CDN"), "{text}");
    assert!(text.contains("0 callbacks received, expected 1"), "{text}");
}

#[test]
fn smoke_passes_on_a_turned_photo_with_an_original() {
    let worker = worker();
    let args = [OsStr::new("--worker"), worker.as_os_str()];
    let (code, text) = smoke("correctness/orient_6_1300x900.jpg", &args);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("SMOKE OK"), "{text}");
    let original = text
        .lines()
        .find(|l| l.trim_start().starts_with("original"))
        .unwrap_or_else(|| panic!("no original line: {text}"));
    assert!(original.contains("1300x900"), "{original}");
}
