//! The failure demo (`cargo smoke --cdn-fail 500`) is a check that can fail: it passes only
//! when the worker ran, exited 1 and sent one `cdn_upload_failed` callback. Here it must fail
//! for a worker that is missing, that succeeds, or that exits 1 without doing the job.

use std::process::Command;

fn smoke_fail(worker: &str) -> (Option<i32>, String) {
    let out_dir = tempfile::tempdir().unwrap();
    let photo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/jpeg_thumb_band_800x600.jpg"
    );
    let run = Command::new(env!("CARGO_BIN_EXE_arke-stack"))
        .args([
            "smoke",
            "--cdn-fail",
            "500",
            "--photo",
            photo,
            "--worker",
            worker,
        ])
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
