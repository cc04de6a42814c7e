//! SPEC.md's "Testing Checklist", one test per item, each against the real binary and stack.

use image::ImageFormat::{Jpeg, Png, WebP};

use crate::common::*;

#[test]
fn small_image_uploads_original_only() {
    let stack = Stack::start();
    let job = Job::fixture(&stack, "jpeg_small_300x200.jpg", "image/jpeg");
    let run = job.run();
    let got = assert_success(
        &stack,
        &job,
        &run,
        "image/jpeg",
        &[("original", Jpeg, 300, 200)],
    );
    // No resizing happened: the original's pixel data went to the CDN unchanged.
    assert_eq!(
        got["original"], job.data,
        "metadata-free fixture goes through byte for byte"
    );
}

#[test]
fn medium_image_gets_thumb() {
    let stack = Stack::start();
    let job = Job::fixture(&stack, "jpeg_thumb_band_800x600.jpg", "image/jpeg");
    let run = job.run();
    assert_success(
        &stack,
        &job,
        &run,
        "image/jpeg",
        &[("thumb", Jpeg, 400, 300), ("original", Jpeg, 800, 600)],
    );
}

#[test]
fn large_image_gets_thumb_and_medium() {
    let stack = Stack::start();
    let job = Job::fixture(&stack, "jpeg_medium_band_2000x1200.jpg", "image/jpeg");
    let run = job.run();
    assert_success(
        &stack,
        &job,
        &run,
        "image/jpeg",
        &[
            ("thumb", Jpeg, 400, 240),
            ("medium", Jpeg, 1200, 720),
            ("original", Jpeg, 2000, 1200),
        ],
    );
}

#[test]
fn very_large_image_gets_thumb_medium_and_large() {
    let stack = Stack::start();
    let job = Job::fixture(&stack, "jpeg_large_band_3000x2000.jpg", "image/jpeg");
    let run = job.run();
    assert_success(
        &stack,
        &job,
        &run,
        "image/jpeg",
        &[
            ("thumb", Jpeg, 400, 267),
            ("medium", Jpeg, 1200, 800),
            ("large", Jpeg, 2400, 1600),
            ("original", Jpeg, 3000, 2000),
        ],
    );
}

/// The red mark of the fixtures sits in the top-left corner; after resizing it must still be
/// there (not flipped, not rotated).
#[track_caller]
fn assert_mark_top_left(name: &str, data: &[u8]) {
    let img = image::load_from_memory(data).unwrap().to_rgb8();
    let p = img.get_pixel(2, 2).0;
    assert!(
        p[0] > 150 && p[1] < 90 && p[2] < 90,
        "{name}: top-left pixel {p:?} is not the red mark"
    );
    let (w, h) = img.dimensions();
    let q = img.get_pixel(w - 3, h - 3).0;
    assert!(
        q[2] > 150 && q[0] < 90,
        "{name}: bottom-right pixel {q:?} is not the blue mark"
    );
}

#[test]
fn portrait_keeps_aspect_ratio() {
    let stack = Stack::start();
    let job = Job::fixture(&stack, "jpeg_portrait_1500x2600.jpg", "image/jpeg");
    let run = job.run();
    let got = assert_success(
        &stack,
        &job,
        &run,
        "image/jpeg",
        &[
            ("thumb", Jpeg, 231, 400),
            ("medium", Jpeg, 692, 1200),
            ("large", Jpeg, 1385, 2400),
            ("original", Jpeg, 1500, 2600),
        ],
    );
    for (name, data) in &got {
        assert_mark_top_left(name, data);
    }
}

#[test]
fn landscape_keeps_aspect_ratio() {
    // A real 4272×2848 photo: over ORIGINAL_MAX_DIMENSION, so no `original` variant.
    let stack = Stack::start();
    let job = Job::fixture(&stack, "photos/jpeg_sunset_4272x2848.jpg", "image/jpeg");
    let run = job.run();
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
}

#[test]
fn square_keeps_aspect_ratio() {
    let stack = Stack::start();
    let job = Job::fixture(&stack, "png_square_1300x1300.png", "image/png");
    let run = job.run();
    let got = assert_success(
        &stack,
        &job,
        &run,
        "image/png",
        &[
            ("thumb", Png, 400, 400),
            ("medium", Png, 1200, 1200),
            ("original", Png, 1300, 1300),
        ],
    );
    for (name, data) in &got {
        assert_mark_top_left(name, data);
    }
}

#[test]
fn jpeg_input_processed_correctly() {
    // A real portrait photo (2560×3837): every band plus the original.
    let stack = Stack::start();
    let job = Job::fixture(
        &stack,
        "photos/jpeg_portrait_wine_2560x3837.jpg",
        "image/jpeg",
    );
    let run = job.run();
    let got = assert_success(
        &stack,
        &job,
        &run,
        "image/jpeg",
        &[
            ("thumb", Jpeg, 267, 400),
            ("medium", Jpeg, 801, 1200),
            ("large", Jpeg, 1601, 2400),
            ("original", Jpeg, 2560, 3837),
        ],
    );
    // The thumb looks like the photo: its mean colour is close to the original's.
    let (a, b) = (mean_rgb(&got["thumb"]), mean_rgb(&job.data));
    for c in 0..3 {
        assert!(
            (a[c] - b[c]).abs() < 4.0,
            "channel {c}: thumb mean {} vs original {}",
            a[c],
            b[c]
        );
    }
}

#[test]
fn png_input_processed_correctly() {
    let stack = Stack::start();
    let job = Job::fixture(&stack, "png_alpha_landscape_1000x600.png", "image/png");
    let run = job.run();
    let got = assert_success(
        &stack,
        &job,
        &run,
        "image/png",
        &[("thumb", Png, 400, 240), ("original", Png, 1000, 600)],
    );
    // Transparency is kept: the right half of the fixture fades out towards the bottom.
    let thumb = image::load_from_memory(&got["thumb"]).unwrap();
    assert!(thumb.color().has_alpha(), "thumb lost its alpha channel");
    let rgba = thumb.to_rgba8();
    assert_eq!(rgba.get_pixel(100, 120).0[3], 255, "left half opaque");
    let a = rgba.get_pixel(300, 230).0[3];
    assert!(
        a < 120,
        "bottom right should be mostly transparent, alpha {a}"
    );
}

#[test]
fn webp_input_processed_correctly() {
    let stack = Stack::start();
    let job = Job::fixture(&stack, "webp_lossy_2600x1400.webp", "image/webp");
    let run = job.run();
    let got = assert_success(
        &stack,
        &job,
        &run,
        "image/webp",
        &[
            ("thumb", WebP, 400, 215),
            ("medium", WebP, 1200, 646),
            ("large", WebP, 2400, 1292),
            ("original", WebP, 2600, 1400),
        ],
    );
    for (name, data) in &got {
        // Lossy in, lossy out: the bitstream chunk is VP8, not VP8L.
        assert!(
            data.windows(4).any(|w| w == b"VP8 "),
            "{name} is not lossy WebP"
        );
        assert_mark_top_left(name, data);
    }
}

#[test]
fn invalid_image_format_sends_error_callback() {
    let stack = Stack::start();
    let job = Job::fixture(&stack, "not_an_image.txt", "image/jpeg");
    let run = job.run();
    assert_error(
        &stack,
        &job,
        &run,
        "unsupported_format",
        "Failed to process image: unsupported format",
    );
    assert!(stack.assets().is_empty(), "nothing reaches the CDN");
    assert!(
        stack.keys(ARCHIVE).is_empty(),
        "a non-image is not archived"
    );
    assert_eq!(
        stack.get(STAGING, &job.key).as_deref(),
        Some(&job.data[..]),
        "staging original kept"
    );
}

#[test]
fn r2_download_failure_sends_error_callback() {
    let stack = Stack::start();
    // S3 answers 500 to every GET of the original: retried, then reported.
    let job = Job::fixture(&stack, "jpeg_small_300x200.jpg", "image/jpeg");
    stack.fault(
        Fault::new(Server::S3, Action::Status(500))
            .method("GET")
            .path(&job.key),
    );
    let run = job.run();
    stack.clear_faults();
    let cb = assert_error(
        &stack,
        &job,
        &run,
        "download_failed",
        "Failed to download image: ",
    );
    assert!(
        cb["error"].as_str().unwrap().contains("after 3 attempts"),
        "{cb}"
    );
    assert!(stack.assets().is_empty());
    assert!(stack.keys(ARCHIVE).is_empty());
}

#[test]
fn cdn_upload_failure_sends_error_callback() {
    let stack = Stack::start();
    stack.fault(Fault::new(
        Server::Cdn,
        Action::Json(500, serde_json::json!({"error": "disk full"})),
    ));
    let job = Job::fixture(&stack, "jpeg_thumb_band_800x600.jpg", "image/jpeg");
    let run = job.run();
    let cb = assert_error(
        &stack,
        &job,
        &run,
        "cdn_upload_failed",
        "CDN upload failed: 500",
    );
    assert!(
        cb["error"].as_str().unwrap().contains("disk full"),
        "the CDN's reason is reported: {cb}"
    );
    assert_eq!(
        stack.cdn_posts(),
        3,
        "a 500 is retried up to 3 attempts in all"
    );
    assert_eq!(
        stack.get(STAGING, &job.key).as_deref(),
        Some(&job.data[..]),
        "staging original kept"
    );
}

#[test]
fn archive_upload_failure_sends_error_callback() {
    let stack = Stack::start();
    stack.fault(
        Fault::new(Server::S3, Action::Status(403))
            .method("PUT")
            .path(&format!("/{ARCHIVE}/")),
    );
    let job = Job::fixture(&stack, "jpeg_thumb_band_800x600.jpg", "image/jpeg");
    let run = job.run();
    assert_error(
        &stack,
        &job,
        &run,
        "archive_failed",
        "Failed to archive image: ",
    );
    assert!(stack.keys(ARCHIVE).is_empty());
}

#[test]
fn missing_ipfs_cid_omits_the_field() {
    for unset in [true, false] {
        let stack = Stack::start();
        let mut job = Job::fixture(&stack, "jpeg_thumb_band_800x600.jpg", "image/jpeg");
        if unset {
            job.unset("INPUT_CID");
        } else {
            job.set("INPUT_CID", "");
        }
        let run = job.run();
        // assert_success expects ipfs_cid absent from ref.json, ref_data, the CDN body and the
        // archive metadata when the job has no CID.
        assert_success(
            &stack,
            &job,
            &run,
            "image/jpeg",
            &[("thumb", Jpeg, 400, 300), ("original", Jpeg, 800, 600)],
        );
        let ref_json = String::from_utf8(
            stack
                .get(STAGING, &format!("{}.ref.json", job.key))
                .unwrap(),
        )
        .unwrap();
        assert!(!ref_json.contains("ipfs_cid"), "{ref_json}");
    }
}

#[test]
fn callback_failure_is_logged_but_worker_completes() {
    let stack = Stack::start();
    stack.fault(Fault::new(Server::Callback, Action::Status(500)));
    let job = Job::fixture(&stack, "jpeg_thumb_band_800x600.jpg", "image/jpeg");
    let run = job.run();
    assert_eq!(
        run.code,
        Some(0),
        "the job itself succeeded\n{}",
        run.stdout
    );
    let attempts = stack
        .requests()
        .iter()
        .filter(|(s, m, _)| *s == Server::Callback && m == "POST")
        .count();
    assert_eq!(attempts, 3, "the callback is retried");
    let logged = run
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .any(|l| {
            l["level"] == "error"
                && l["stage"] == "callback"
                && l["msg"].as_str().unwrap_or("").contains("HTTP 500")
        });
    assert!(logged, "callback failure logged:\n{}", run.stdout);
    assert!(
        stack
            .get(STAGING, &format!("{}.ref.json", job.key))
            .is_some(),
        "the job's work is done"
    );
    assert_eq!(stack.assets().len(), 1);
}
