//! Issue 28 as a user checks it: TIFF, GIF and BMP jobs end to end against the stack — the
//! variants in a browser format (PRODUCT.md "Input formats"), upright, in their colours; the
//! `original` re-encoded (TIFF, BMP) or stripped (GIF); the input's own type kept for ref.json,
//! the archive and `original_content_type`; pages and frames reported; the TIFF byte limit.

use std::io::Cursor;

use image::ImageFormat::{Gif, Jpeg, Png};
use serde_json::{json, Value};
use tiff::encoder::{colortype, Compression, DeflateLevel, TiffEncoder};
use tiff::tags::Tag;

use crate::common::*;

/// The four colours of the generated pictures' quadrants, top-left, top-right, bottom-left,
/// bottom-right as stored.
const QUADRANTS: [[u8; 3]; 4] = [[200, 40, 40], [40, 160, 60], [30, 70, 190], [230, 210, 60]];

/// A `w`×`h` picture of four flat quadrants (`QUADRANTS`).
fn quadrants(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb(QUADRANTS[usize::from(x >= w / 2) + 2 * usize::from(y >= h / 2)])
    })
}

/// `img` as a 16-bit RGB TIFF, Deflate-compressed, with an Orientation tag.
fn tiff16(img: &image::RgbImage, orientation: u16) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let mut tiff = TiffEncoder::new(&mut out)
        .unwrap()
        .with_compression(Compression::Deflate(DeflateLevel::Fast));
    let mut page = tiff
        .new_image::<colortype::RGB16>(img.width(), img.height())
        .unwrap();
    page.encoder()
        .write_tag(Tag::Orientation, orientation)
        .unwrap();
    let samples: Vec<u16> = img.as_raw().iter().map(|&v| u16::from(v) * 257).collect();
    page.write_data(&samples).unwrap();
    out.into_inner()
}

/// `img` as an uncompressed 8-bit RGB TIFF.
fn tiff8(img: &image::RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    TiffEncoder::new(&mut out)
        .unwrap()
        .write_image::<colortype::RGB8>(img.width(), img.height(), img.as_raw())
        .unwrap();
    out.into_inner()
}

/// The colour at the centre of each quadrant of an encoded image, as shown (top-left,
/// top-right, bottom-left, bottom-right).
fn quadrant_colours(data: &[u8]) -> [[u8; 3]; 4] {
    let img = image::load_from_memory(data).unwrap().to_rgb8();
    let (w, h) = img.dimensions();
    [(1, 1), (3, 1), (1, 3), (3, 3)].map(|(i, j)| img.get_pixel(w * i / 4, h * j / 4).0)
}

/// The source facts a user reads from the callback.
fn source(stack: &Stack) -> Value {
    let cb = only_callback(stack);
    let s = &cb["source"];
    json!({
        "format": s["format"], "width": s["width"], "height": s["height"],
        "stored": [s["stored_width"], s["stored_height"]],
        "orientation_applied": s["orientation_applied"], "bit_depth": s["bit_depth"],
        "colour_model": s["colour_model"], "alpha": s["alpha"], "frames": s["frames"],
        "pages": s["pages"], "converted_to_srgb": s["converted_to_srgb"],
    })
}

fn warnings(stack: &Stack) -> Vec<String> {
    let cb = only_callback(stack);
    cb["warnings"]
        .as_array()
        .map(|w| w.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// A 16-bit scan stored sideways (Orientation 6): JPEG variants, upright, in its colours; the
/// `original` a full-size upright JPEG re-encode, never the TIFF; everything that names the
/// input says `image/tiff`. With a smaller ORIGINAL_MAX_DIMENSION it has no `original` and is
/// resized as its strips arrive: the same variants.
#[test]
fn a_turned_16_bit_tiff_gets_upright_jpeg_variants_and_a_reencoded_original() {
    let stored = quadrants(2800, 1900);
    let data = tiff16(&stored, 6);
    // Turned a quarter clockwise: the stored bottom-left quadrant shows at the top left.
    let shown = [QUADRANTS[2], QUADRANTS[0], QUADRANTS[3], QUADRANTS[1]];
    let variants = [
        ("thumb", Jpeg, 271, 400),
        ("medium", Jpeg, 814, 1200),
        ("large", Jpeg, 1629, 2400),
        ("original", Jpeg, 1900, 2800),
    ];
    for original_max in ["4000", "2000"] {
        let stack = Stack::start();
        let mut job = Job::new(&stack, "scan 0042.tif", data.clone(), "image/tiff");
        job.set("ORIGINAL_MAX_DIMENSION", original_max);
        let run = job.run();
        let want = match original_max {
            "4000" => &variants[..],
            _ => &variants[..3],
        };
        let got = assert_success(&stack, &job, &run, "image/tiff", want);
        for (name, data) in &got {
            for (q, (got, want)) in quadrant_colours(data).into_iter().zip(shown).enumerate() {
                near(&format!("{name} quadrant {q}"), got, want, 3);
            }
        }
        assert_eq!(
            source(&stack),
            json!({
                "format": "image/tiff", "width": 1900, "height": 2800, "stored": [2800, 1900],
                "orientation_applied": 6, "bit_depth": 16, "colour_model": "rgb",
                "alpha": false, "frames": 1, "pages": 1, "converted_to_srgb": false,
            })
        );
        assert_eq!(warnings(&stack), Vec::<String>::new(), "{original_max}");
    }
}

/// A multi-page CMYK TIFF (the fixture's first page is full resolution, the second a
/// reduced-resolution preview, the third a second full page): the first page, a warning
/// naming the pages, converted to sRGB through its profile.
#[test]
fn a_multi_page_tiff_warns_and_a_cmyk_one_is_converted() {
    let stack = Stack::start();
    let job = Job::fixture(&stack, "formats/tiff/pages_reduced_first.tif", "image/tiff");
    let run = job.run();
    let (w, h) = expected_size("pages_reduced_first.tif");
    assert_success(
        &stack,
        &job,
        &run,
        "image/tiff",
        &[("original", Jpeg, w, h)],
    );
    let pages = source(&stack)["pages"].as_u64().unwrap();
    assert!(pages >= 2, "{pages}");
    let w = warnings(&stack);
    assert!(
        w.iter()
            .any(|w| w.starts_with(&format!("multi-page TIFF: {pages} pages"))),
        "{w:?}"
    );

    let stack = Stack::start();
    let job = Job::fixture(&stack, "formats/tiff/cmyk8_profile_lzw.tif", "image/tiff");
    let run = job.run();
    let (w, h) = expected_size("cmyk8_profile_lzw.tif");
    let got = assert_success(
        &stack,
        &job,
        &run,
        "image/tiff",
        &[("original", Jpeg, w, h)],
    );
    let s = source(&stack);
    assert_eq!(
        (&s["colour_model"], &s["converted_to_srgb"]),
        (&json!("cmyk"), &json!(true))
    );
    // No profile rides along: the pixels are sRGB now, Little CMS's colours (make.py) but for
    // what JPEG's 4:2:0 chroma does to 20x15 quadrants (up to 5 levels at their centres; the
    // decoder itself is within 2, `codecs::tiff::tests`).
    assert_eq!(icc(&got["original"]), None);
    assert_points("cmyk8_profile_lzw.tif", &got["original"], 6);
}

/// A TIFF fixture's expected facts (`testdata/formats/tiff/expected.json`, made with the
/// fixtures by `make.py`): width, height and the colours of known points.
fn expected(fixture: &str) -> Value {
    let text = std::fs::read_to_string(testdata("formats/tiff/expected.json")).unwrap();
    let all: Value = serde_json::from_str(&text).unwrap();
    all["fixtures"][fixture].clone()
}

/// A TIFF fixture's width and height in pixels, from `expected`.
fn expected_size(fixture: &str) -> (u32, u32) {
    let e = expected(fixture);
    let px = |k: &str| u32::try_from(e[k].as_u64().unwrap()).unwrap();
    (px("width"), px("height"))
}

/// Every known point of a TIFF fixture (`expected`) within `tol` levels in `variant`.
#[track_caller]
fn assert_points(fixture: &str, variant: &[u8], tol: u8) {
    let rgb = image::load_from_memory(variant).unwrap().to_rgb8();
    for p in expected(fixture)["points"].as_array().unwrap() {
        let n = |v: &Value| v.as_u64().unwrap();
        let (x, y) = (n(&p[0]) as u32, n(&p[1]) as u32);
        let c: Vec<u8> = p[2]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| n(v) as u8)
            .collect();
        let c = if c.len() == 1 {
            [c[0]; 3]
        } else {
            [c[0], c[1], c[2]]
        };
        near(
            &format!("{fixture} at {x},{y}"),
            rgb.get_pixel(x, y).0,
            c,
            tol,
        );
    }
}

/// Bilevel and palette scans keep their legibility: PNG variants (a bilevel page in gray),
/// every known point exact.
#[test]
fn bilevel_and_palette_tiffs_get_png_variants() {
    for (fixture, model, gray) in [
        ("bilevel_g4_miniswhite.tif", "gray", true),
        ("palette8_lzw.tif", "indexed", false),
    ] {
        let want = expected(fixture);
        let (w, h) = (
            want["width"].as_u64().unwrap(),
            want["height"].as_u64().unwrap(),
        );
        let stack = Stack::start();
        let job = Job::fixture(&stack, &format!("formats/tiff/{fixture}"), "image/tiff");
        let run = job.run();
        let got = assert_success(
            &stack,
            &job,
            &run,
            "image/tiff",
            &[("original", Png, w as u32, h as u32)],
        );
        let png = image::load_from_memory(&got["original"]).unwrap();
        assert_eq!(
            !png.color().has_color(),
            gray,
            "{fixture}: {:?}",
            png.color()
        );
        assert_points(fixture, &got["original"], 0);
        assert_eq!(source(&stack)["colour_model"], model, "{fixture}");
    }
}

/// An animated GIF with a comment, XMP and looping: PNG variants of the first frame; the
/// `original` the GIF itself, every frame and the looping kept, the metadata gone; a warning
/// naming the frames.
#[test]
fn an_animated_gif_gets_png_variants_and_a_stripped_gif_original() {
    let (w, h) = (600u16, 400u16);
    let palette: Vec<u8> = QUADRANTS.iter().flatten().copied().collect();
    let mut gif = gif::Encoder::new(Vec::new(), w, h, &palette).unwrap();
    gif.set_repeat(gif::Repeat::Infinite).unwrap();
    gif.write_raw_extension(gif::AnyExtension(0xFE), &[b"scanned by J. Doe, 555-0100"])
        .unwrap();
    gif.write_raw_extension(
        gif::AnyExtension(0xFF),
        &[b"XMP DataXMP", b"<x:xmpmeta>GPS 52.1N</x:xmpmeta>"],
    )
    .unwrap();
    for frame in 0..3u32 {
        let indices: Vec<u8> = (0..u32::from(w) * u32::from(h))
            .map(|i| {
                let (x, y) = (i % u32::from(w), i / u32::from(w));
                ((u32::from(x >= 300) + 2 * u32::from(y >= 200) + frame) % 4) as u8
            })
            .collect();
        let f = gif::Frame {
            width: w,
            height: h,
            delay: 10,
            buffer: indices.into(),
            ..gif::Frame::default()
        };
        gif.write_frame(&f).unwrap();
    }
    let data = gif.into_inner().unwrap();
    let stack = Stack::start();
    let job = Job::new(&stack, "banner.gif", data, "image/gif");
    let run = job.run();
    let got = assert_success(
        &stack,
        &job,
        &run,
        "image/gif",
        &[("thumb", Png, 400, 267), ("original", Gif, 600, 400)],
    );
    let thumb = quadrant_colours(&got["thumb"]);
    for (q, (got, want)) in thumb.into_iter().zip(QUADRANTS).enumerate() {
        near(&format!("thumb quadrant {q}"), got, want, 2);
    }
    let original = &got["original"];
    assert!(original.starts_with(b"GIF89a"));
    let has = |what: &[u8]| original.windows(what.len()).any(|w| w == what);
    assert!(has(b"NETSCAPE2.0"), "looping kept");
    assert!(
        !has(b"555-0100") && !has(b"XMP") && !has(b"GPS"),
        "metadata dropped"
    );
    let frames = image::codecs::gif::GifDecoder::new(Cursor::new(original)).unwrap();
    assert_eq!(image::AnimationDecoder::into_frames(frames).count(), 3);
    let s = source(&stack);
    assert_eq!(
        (&s["frames"], &s["colour_model"]),
        (&json!(3), &json!("indexed"))
    );
    let w = warnings(&stack);
    assert!(
        w.iter().any(|w| w.starts_with("animated GIF: 3 frames")),
        "{w:?}"
    );
}

/// A 24-bit BMP photo gets JPEG variants and a JPEG `original`; an 8-bit palette BMP PNG.
#[test]
fn bmp_photos_get_jpeg_and_palette_bmps_png() {
    let photo = quadrants(1000, 700);
    let mut rgb = Vec::new();
    image::DynamicImage::ImageRgb8(photo)
        .write_to(&mut Cursor::new(&mut rgb), image::ImageFormat::Bmp)
        .unwrap();
    let gray = image::GrayImage::from_fn(500, 300, |x, _| image::Luma([(x / 125 * 80) as u8]));
    let mut indexed = Vec::new();
    image::DynamicImage::ImageLuma8(gray)
        .write_to(&mut Cursor::new(&mut indexed), image::ImageFormat::Bmp)
        .unwrap();
    for (data, model, want) in [
        (
            rgb,
            "rgb",
            [("thumb", Jpeg, 400, 280), ("original", Jpeg, 1000, 700)],
        ),
        (
            indexed,
            "indexed",
            [("thumb", Png, 400, 240), ("original", Png, 500, 300)],
        ),
    ] {
        let stack = Stack::start();
        let job = Job::new(&stack, "old.bmp", data, "image/bmp");
        let run = job.run();
        let got = assert_success(&stack, &job, &run, "image/bmp", &want);
        let s = source(&stack);
        assert_eq!(
            (&s["format"], &s["colour_model"]),
            (&json!("image/bmp"), &json!(model))
        );
        let second = image::load_from_memory(&job.data).unwrap().to_rgb8();
        let original = image::load_from_memory(&got["original"]).unwrap().to_rgb8();
        let tol = if model == "rgb" { 3 } else { 0 };
        for (x, y) in [(100, 100), (400, 100), (100, 250), (450, 250)] {
            near(
                model,
                original.get_pixel(x, y).0,
                second.get_pixel(x, y).0,
                tol,
            );
        }
    }
}

/// `MAX_TIFF_INPUT_BYTES`: a TIFF may pass `MAX_INPUT_BYTES`, up to its own limit; any other
/// image over `MAX_INPUT_BYTES` is refused after its first read, named by that limit.
#[test]
fn a_tiff_has_its_own_byte_limit() {
    let data = tiff8(&quadrants(200, 150));
    assert!(data.len() > 90_000);
    let stack = Stack::start();
    let mut job = Job::new(&stack, "master.tif", data.clone(), "image/tiff");
    job.set("MAX_INPUT_BYTES", "20000");
    let run = job.run();
    assert_success(
        &stack,
        &job,
        &run,
        "image/tiff",
        &[("original", Jpeg, 200, 150)],
    );

    // Refused with `input_too_large` naming the limit that applied, after `gets` GETs (none
    // when HEAD's size is over every limit; one, not retried, when only the first bytes tell).
    let refused =
        |name: &str, data: &[u8], content_type: &str, limits: &[(&str, &str)], want, gets| {
            let stack = Stack::start();
            let mut job = Job::new(&stack, name, data.to_vec(), content_type);
            for (k, v) in limits {
                job.set(k, v);
            }
            let run = job.run();
            let cb = assert_error(
                &stack,
                &job,
                &run,
                "input_too_large",
                "Failed to process image: ",
            );
            let want = format!("{} bytes, over {want}", data.len());
            assert!(cb["error"].as_str().unwrap().contains(&want), "{cb}");
            assert_eq!(count(&stack, Server::S3, "GET", &job.key), gets, "{name}");
        };
    let limits = [
        ("MAX_INPUT_BYTES", "20000"),
        ("MAX_TIFF_INPUT_BYTES", "50000"),
    ];
    refused(
        "master.tif",
        &data,
        "image/tiff",
        &limits,
        "MAX_TIFF_INPUT_BYTES (50000)",
        0,
    );
    // A JPEG of the same size: HEAD passes (a TIFF might), the GET stops at its first read.
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(400, 300, |x, y| {
        image::Rgb([
            (x * y % 251) as u8,
            (x * 7 % 253) as u8,
            (y * 13 % 241) as u8,
        ])
    }))
    .write_to(&mut Cursor::new(&mut jpeg), Jpeg)
    .unwrap();
    assert!(jpeg.len() > 20_000);
    let limits = [("MAX_INPUT_BYTES", "20000")];
    refused(
        "photo.jpg",
        &jpeg,
        "image/jpeg",
        &limits,
        "MAX_INPUT_BYTES (20000)",
        1,
    );
}

/// `variants` names each file by its own format.
#[test]
fn variants_of_a_tiff_are_written_as_jpeg_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.tif");
    std::fs::write(&path, tiff8(&quadrants(600, 450))).unwrap();
    let out = dir.path().join("out");
    let run = run_variants(path.to_str().unwrap(), &out);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(summary["format"], "image/tiff");
    let files: Vec<(&str, &str)> = summary["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["path"].as_str().unwrap(),
                v["content_type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(files.len(), 2);
    for (path, content_type) in files {
        assert!(path.ends_with(".jpg"), "{path}");
        assert_eq!(content_type, "image/jpeg");
        assert_eq!(
            image::guess_format(&std::fs::read(path).unwrap()).unwrap(),
            Jpeg
        );
    }
}

/// The quad card's colours (testdata/formats/heif/README.md): red, green, blue, yellow.
const CARD: [[u8; 3]; 4] = [[200, 40, 40], [40, 180, 60], [40, 60, 200], [230, 210, 50]];

/// The colour near each corner of an encoded image (a tenth in from each side): top-left,
/// top-right, bottom-left, bottom-right.
fn corner_colours(data: &[u8]) -> [[u8; 3]; 4] {
    let img = image::load_from_memory(data).unwrap().to_rgb8();
    let (w, h) = img.dimensions();
    [(1, 1), (9, 1), (1, 9), (9, 9)].map(|(i, j)| img.get_pixel(w * i / 10, h * j / 10).0)
}

/// An iPhone-style HEIC grid turned by `irot` (EXIF orientation 6 written as HEIF does):
/// JPEG variants upright by the HEIF transform, a re-encoded original; the input's type kept
/// everywhere else; the coded size and the turn reported.
#[test]
fn a_turned_heic_grid_gets_upright_jpeg_variants() {
    let stack = Stack::start();
    let job = Job::fixture(&stack, "formats/heif/h_grid_orient6.heic", "image/heic");
    let run = job.run();
    let got = assert_success(
        &stack,
        &job,
        &run,
        "image/heic",
        &[("thumb", Jpeg, 231, 400), ("original", Jpeg, 300, 520)],
    );
    // Turned a quarter clockwise: blue and red at the top, yellow and green below.
    let shown = [CARD[2], CARD[0], CARD[3], CARD[1]];
    for (name, data) in &got {
        for (c, (got, want)) in corner_colours(data).into_iter().zip(shown).enumerate() {
            near(&format!("{name} corner {c}"), got, want, 4);
        }
    }
    let s = source(&stack);
    assert_eq!(
        s,
        json!({
            "format": "image/heic", "width": 300, "height": 520, "stored": [520, 300],
            "orientation_applied": 6, "bit_depth": 8, "colour_model": "ycbcr",
            "alpha": false, "frames": 1, "pages": 1, "converted_to_srgb": false,
        })
    );
}

/// AVIF with alpha: PNG variants keeping the transparency; a Display P3 HEIC: its profile
/// (made from the `nclx` box) named and carried; a burst and a gain map: warnings.
#[test]
fn avif_alpha_p3_heic_bursts_and_gain_maps() {
    let stack = Stack::start();
    let job = Job::fixture(&stack, "formats/heif/a_alpha.avif", "image/avif");
    let run = job.run();
    let got = assert_success(
        &stack,
        &job,
        &run,
        "image/avif",
        &[("original", Png, 96, 64)],
    );
    let rgba = image::load_from_memory(&got["original"])
        .unwrap()
        .to_rgba8();
    assert!(
        rgba.get_pixel(16, 16).0[3].abs_diff(96) <= 1,
        "left half alpha 96"
    );
    assert_eq!(rgba.get_pixel(80, 48).0[3], 255, "right half opaque");
    assert_eq!(source(&stack)["format"], "image/avif");

    let stack = Stack::start();
    let job = Job::fixture(&stack, "formats/heif/h_p3_nclx.heic", "image/heic");
    let run = job.run();
    let got = assert_success(
        &stack,
        &job,
        &run,
        "image/heic",
        &[("original", Jpeg, 96, 64)],
    );
    let cb = only_callback(&stack);
    assert_eq!(cb["source"]["icc_profile"], "Display P3");
    let profile = icc(&got["original"]).expect("the P3 profile rides along");
    // Shown through it (moxcms, relative colorimetric), the patches are the colours P3's
    // numbers give in sRGB (README of the fixtures: computed independently with numpy); JPEG's
    // chroma subsampling adds a level or two on 32 px patches.
    let profile = moxcms::ColorProfile::new_from_slice(&profile).unwrap();
    let to_srgb = profile
        .create_transform_8bit(
            moxcms::Layout::Rgb,
            &moxcms::ColorProfile::new_srgb(),
            moxcms::Layout::Rgb,
            moxcms::TransformOptions::default(),
        )
        .unwrap();
    let stored = image::load_from_memory(&got["original"]).unwrap().to_rgb8();
    let mut shown = vec![0u8; stored.as_raw().len()];
    to_srgb.transform(stored.as_raw(), &mut shown).unwrap();
    let shown = image::RgbImage::from_raw(96, 64, shown).unwrap();
    for ((x, y), want) in [
        ((80, 16), [34, 61, 208]),
        ((16, 48), [128, 128, 128]),
        ((48, 48), [232, 168, 135]),
        ((80, 48), [73, 142, 223]),
    ] {
        near(
            &format!("P3 patch at {x},{y}"),
            shown.get_pixel(x, y).0,
            want,
            5,
        );
    }

    for (fixture, content_type, warning) in [
        ("h_burst.heic", "image/heic", "HEIC with 3 images"),
        ("h_gainmap.heic", "image/heic", "gain map"),
        ("a_sequence.avifs", "image/avif", "AVIF with 3 images"),
    ] {
        let stack = Stack::start();
        let job = Job::fixture(&stack, &format!("formats/heif/{fixture}"), content_type);
        let run = job.run();
        assert_eq!(run.code, Some(0), "{fixture}: {}", run.stderr);
        let w = warnings(&stack);
        assert!(w.iter().any(|w| w.contains(warning)), "{fixture}: {w:?}");
    }
}

/// A coding the decoders do not take is refused by name, the original kept in staging.
#[test]
fn heic_in_4_4_4_is_refused_by_name() {
    let stack = Stack::start();
    let job = Job::fixture(&stack, "formats/heif/h_444.heic", "image/heic");
    let run = job.run();
    let cb = assert_error(
        &stack,
        &job,
        &run,
        "unsupported_format",
        "Failed to process image: unsupported format: ",
    );
    assert!(
        cb["error"]
            .as_str()
            .unwrap()
            .contains("HEIC in 4:4:4 chroma"),
        "{cb}"
    );
}
