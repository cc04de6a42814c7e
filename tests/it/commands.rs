//! The subcommands for people (`variants`, `check`, `--help`, `--version`) and configuration
//! errors.

use std::process::Stdio;

use serde_json::Value;

use crate::common::*;

#[test]
fn variants_writes_the_three_sizes_of_a_6000x4000_jpeg() {
    let (outs, summary) = variants("jpeg_6000x4000.jpg");
    assert_eq!(
        (summary["width"].as_u64(), summary["height"].as_u64()),
        (Some(6000), Some(4000))
    );
    let got: Vec<(&str, u32, u32)> = outs
        .iter()
        .map(|o| (o.name.as_str(), o.width, o.height))
        .collect();
    assert_eq!(
        got,
        [
            ("thumb", 400, 267),
            ("medium", 1200, 800),
            ("large", 2400, 1600)
        ],
        "6000 px is over ORIGINAL_MAX_DIMENSION: no original"
    );
    for o in &outs {
        assert_eq!(
            image::guess_format(&o.data).unwrap(),
            image::ImageFormat::Jpeg
        );
        let img = image::load_from_memory(&o.data).unwrap();
        assert_eq!(
            (img.width(), img.height()),
            (o.width, o.height),
            "{}",
            o.name
        );
    }
}

/// Every step of the image stage is timed for people (`phases_ms`: name, start, duration in
/// ms); which route a JPEG takes is the plan's decision, tested in `src/image/plan.rs`.
#[test]
fn variants_reports_where_the_time_went() {
    for fixture in ["jpeg_6000x4000.jpg", "correctness/orient_6_1300x900.jpg"] {
        let (outs, summary) = variants(fixture);
        let phases = summary["phases_ms"].as_array().expect("phases_ms");
        assert!(phases.len() >= outs.len(), "{fixture}: {phases:?}");
        for p in phases {
            assert!(p["name"].as_str().is_some_and(|n| !n.is_empty()));
            assert!(p["start_ms"].as_f64().unwrap() >= 0.0 && p["ms"].as_f64().unwrap() >= 0.0);
        }
        // Every resized variant is a whole, decodable JPEG of its size, upright (the `original`
        // keeps its EXIF orientation).
        for o in outs.iter().filter(|o| o.name != "original") {
            let img = image::load_from_memory(&o.data).unwrap();
            assert_eq!(
                (img.width(), img.height()),
                (o.width, o.height),
                "{}",
                o.name
            );
        }
    }
}

/// A reader that goes away before the summary is printed (`variants … | head -c 0`) ends the
/// command as usual: exit 0 with the files written, no panic from the closed pipe (`EPIPE`).
#[test]
fn variants_and_help_survive_a_reader_that_went_away() {
    let dir = tempfile::tempdir().unwrap();
    let input = testdata("jpeg_6000x4000.jpg");
    let out = dir.path().to_str().unwrap();
    for args in [
        vec!["variants", input.to_str().unwrap(), "--out", out],
        vec!["--help"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader); // gone before the command starts: its first write meets EPIPE
        let run = worker()
            .args(&args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    assert!(dir.path().join("large.jpg").is_file());
}

#[test]
fn variants_refuses_a_non_image() {
    let run = worker()
        .args([
            "variants",
            testdata("not_an_image.txt").to_str().unwrap(),
            "--out",
            "/nonexistent-never-written",
        ])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr)
        .contains("not a JPEG, PNG, WebP, TIFF, GIF, BMP, HEIC, HEIF or AVIF file"));
}

#[test]
fn check_prints_the_plan_without_secrets() {
    let stack = Stack::start();
    let job = Job::fixture(&stack, "jpeg_small_300x200.jpg", "image/jpeg");
    let run = worker()
        .arg("check")
        .env_clear()
        .envs(job.env.iter().cloned())
        .output()
        .unwrap();
    assert!(run.status.success());
    let text = String::from_utf8_lossy(&run.stdout);
    let plan: Value = serde_json::from_str(&text).expect("JSON plan");
    assert_eq!(
        plan["outputs"]["ref_json_key"],
        format!("{}.ref.json", job.key)
    );
    assert_eq!(plan["r2"]["secret_access_key"], "[REDACTED]");
    assert!(!text.contains(arke_stack::SECRET_KEY) && !text.contains(arke_stack::ACCESS_KEY));
    assert!(stack.callbacks().is_empty(), "check sends nothing");
}

#[test]
fn invalid_configuration_exits_2_with_an_error_callback() {
    let stack = Stack::start();
    let mut job = Job::fixture(&stack, "jpeg_small_300x200.jpg", "image/jpeg");
    job.unset("R2_BUCKET")
        .set("JPEG_QUALITY", "high")
        .set("CDN_API_URL", "not a url");
    let run = job.run();
    assert_eq!(run.code, Some(2));
    let cb = only_callback(&stack);
    assert_eq!(cb["status"], "error");
    assert_eq!(cb["error_code"], "config_invalid");
    let msg = cb["error"].as_str().unwrap();
    for name in ["R2_BUCKET", "JPEG_QUALITY", "CDN_API_URL"] {
        assert!(msg.contains(name), "{name} missing from {msg}");
    }
    assert!(
        !run.stdout.contains(arke_stack::SECRET_KEY)
            && !run.stderr.contains(arke_stack::SECRET_KEY)
    );
}

#[test]
fn unsafe_file_name_is_input_invalid() {
    let stack = Stack::start();
    let mut job = Job::fixture(&stack, "jpeg_small_300x200.jpg", "image/jpeg");
    job.set("INPUT_FILE_NAME", "../../etc/passwd");
    let run = job.run();
    assert_error(
        &stack,
        &job,
        &run,
        "input_invalid",
        "Invalid input: INPUT_FILE_NAME",
    );
    assert!(stack.keys(ARCHIVE).is_empty());
}

#[test]
fn help_and_version() {
    let help = worker()
        .arg("--help")
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("variants INPUT"));
    // Every variable with its default: the binary explains itself in a scratch image.
    for line in [
        "R2_ENDPOINT [https://{R2_ACCOUNT_ID}.r2.cloudflarestorage.com]",
        "MAX_INPUT_BYTES [52428800]",
        "MAX_TIFF_INPUT_BYTES [536870912]",
        "JOB_TIMEOUT_SECS [300]",
        "CALLBACK_URL\n",
    ] {
        assert!(help.contains(line), "{line} missing from\n{help}");
    }
    // The README is not in the scratch image: --help says where it is, not that it is here.
    assert!(
        help.contains("README.md in the source repository"),
        "--help points to the README\n{help}"
    );
    let version = worker().arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout);
    let lines: Vec<&str> = version.lines().collect();
    assert_eq!(
        lines[0],
        format!("arke-image-processor {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(
        lines[1].starts_with("libjpeg-turbo SIMD: yes")
            || lines[1].starts_with("libjpeg-turbo SIMD: no"),
        "{version}"
    );
}
