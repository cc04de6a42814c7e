//! `cargo smoke` on a photo stored sideways (EXIF orientation 6) that ships an `original`: the
//! original keeps its orientation tag, so the check must compare its shown (upright) size with
//! the callback's, as it does for the resized variants.

use std::path::PathBuf;
use std::process::Command;

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
fn smoke_passes_on_a_turned_photo_with_an_original() {
    let out_dir = tempfile::tempdir().unwrap();
    let photo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/correctness/orient_6_1300x900.jpg"
    );
    let run = Command::new(env!("CARGO_BIN_EXE_arke-stack"))
        .args(["smoke", "--photo", photo, "--worker"])
        .arg(worker())
        .arg("--out")
        .arg(out_dir.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(run.status.code(), Some(0), "{text}");
    assert!(text.contains("SMOKE OK"), "{text}");
    let original = text
        .lines()
        .find(|l| l.trim_start().starts_with("original"))
        .unwrap_or_else(|| panic!("no original line: {text}"));
    assert!(original.contains("1300x900"), "{original}");
}
