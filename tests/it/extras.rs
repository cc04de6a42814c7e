//! The callback's optional extras (placeholder, fingerprints, source facts) checked as a
//! front end would use them, and byte-for-byte deterministic output.

use std::collections::BTreeMap;

use base64::Engine;
use image::ImageFormat::Jpeg;

use crate::common::*;

/// Mean RGB of an image, 0–255.
fn mean_rgb(img: &image::RgbImage) -> [f64; 3] {
    let mut sum = [0f64; 3];
    for p in img.pixels() {
        for (s, v) in sum.iter_mut().zip(p.0) {
            *s += f64::from(v);
        }
    }
    let n = f64::from(img.width() * img.height());
    sum.map(|s| s / n)
}

#[test]
fn placeholder_fingerprints_and_source_facts_of_an_upright_turned_photo() {
    let stack = Stack::start();
    // Stored 900×1300 with EXIF orientation 6: displayed 1300×900.
    let mut job = Job::fixture(&stack, "correctness/orient_6_1300x900.jpg", "image/jpeg");
    // No `original` variant (whose pixels stay as stored, turned by its EXIF tag): every
    // variant checked here is upright in its pixels.
    job.set("ORIGINAL_MAX_DIMENSION", "1000");
    let run = job.run();
    // assert_success also checks each variant's sha256 against the bytes the CDN received
    // and source.sha256 against the original (archived byte for byte).
    let by_name = assert_success(
        &stack,
        &job,
        &run,
        "image/jpeg",
        &[("thumb", Jpeg, 400, 277), ("medium", Jpeg, 1200, 831)],
    );
    let cb = only_callback(&stack);
    let source = &cb["source"];
    let facts: BTreeMap<&str, serde_json::Value> = [
        "format",
        "width",
        "height",
        "stored_width",
        "stored_height",
        "orientation_applied",
        "bit_depth",
        "colour_model",
        "icc_profile",
        "converted_to_srgb",
        "alpha",
        "progressive",
        "frames",
    ]
    .into_iter()
    .map(|k| (k, source[k].clone()))
    .collect();
    assert_eq!(
        serde_json::to_value(&facts).unwrap(),
        serde_json::json!({
            "format": "image/jpeg", "width": 1300, "height": 900,
            "stored_width": 900, "stored_height": 1300, "orientation_applied": 6,
            "bit_depth": 8, "colour_model": "ycbcr", "icc_profile": null,
            "converted_to_srgb": false, "alpha": false, "progressive": false, "frames": 1
        })
    );

    // The ThumbHash decodes (with the same crate) to the thumb's colours, upright.
    let thumb = image::load_from_memory(&by_name["thumb"])
        .unwrap()
        .to_rgb8();
    let hash = base64::engine::general_purpose::STANDARD
        .decode(cb["placeholder"]["thumbhash"].as_str().unwrap())
        .unwrap();
    let (w, h, rgba) = thumbhash::thumb_hash_to_rgba(&hash).unwrap();
    assert!(w > h, "the placeholder is upright (landscape): {w}x{h}");
    let decoded = image::RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let i = (y as usize * w + x as usize) * 4;
        image::Rgb([rgba[i], rgba[i + 1], rgba[i + 2]])
    });
    let (a, b) = (mean_rgb(&decoded), mean_rgb(&thumb));
    for c in 0..3 {
        assert!((a[c] - b[c]).abs() <= 8.0, "channel {c}: {a:?} vs {b:?}");
    }

    // The dominant colour covers a real share of the thumb.
    let dominant = cb["placeholder"]["dominant_color"].as_str().unwrap();
    assert!(
        dominant.len() == 7 && dominant.starts_with('#'),
        "{dominant}"
    );
    let want: Vec<i32> = (0..3)
        .map(|i| i32::from_str_radix(&dominant[1 + 2 * i..3 + 2 * i], 16).unwrap())
        .collect();
    let near = thumb
        .pixels()
        .filter(|p| (0..3).all(|c| (i32::from(p.0[c]) - want[c]).abs() <= 24))
        .count();
    let share = near as f64 / f64::from(thumb.width() * thumb.height());
    assert!(share >= 0.10, "{dominant} covers {share:.3} of the thumb");
}

/// Every file `variants` writes, by name, and the summary without its paths.
fn run_variants(fixture: &str) -> (BTreeMap<String, Vec<u8>>, serde_json::Value) {
    let (outs, mut summary) = variants(fixture);
    for v in summary["variants"].as_array_mut().unwrap() {
        v.as_object_mut().unwrap().remove("path");
    }
    // Timings and the processes' memory differ from run to run by nature; everything else
    // must not.
    for varying in ["phases_ms", "image_stage"] {
        assert!(summary.as_object_mut().unwrap().remove(varying).is_some());
    }
    (
        outs.into_iter().map(|o| (o.name, o.data)).collect(),
        summary,
    )
}

#[test]
fn the_same_input_gives_the_same_bytes_every_run() {
    for fixture in [
        "jpeg_large_band_3000x2000.jpg",
        "png_square_1300x1300.png",
        "webp_lossy_2600x1400.webp",
        "correctness/webp_lossless_alpha_900x600.webp",
        "correctness/palette_900x600.png",
    ] {
        let (first, first_summary) = run_variants(fixture);
        let (second, second_summary) = run_variants(fixture);
        assert!(!first.is_empty(), "{fixture}");
        assert_eq!(
            first.keys().collect::<Vec<_>>(),
            second.keys().collect::<Vec<_>>()
        );
        for (name, bytes) in &first {
            assert!(
                bytes == &second[name],
                "{fixture}: {name} differs between runs"
            );
        }
        assert_eq!(first_summary, second_summary, "{fixture}: summary");
    }
}
