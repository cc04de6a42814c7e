//! The fixtures of `testdata/formats/tiff/` (made by its `make.py`, expected values in its
//! `expected.json`) decoded as a user would check them, and malformed files refused cleanly.

use image::{DynamicImage, GenericImageView};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::*;
use crate::image::DEFAULT_MAX_INPUT_PIXELS;

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/formats/tiff")
}

fn fixtures() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(dir().join("expected.json")).unwrap();
    let all: Value = serde_json::from_str(&text).unwrap();
    all["fixtures"].as_object().unwrap().clone()
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every row through `read`, in uneven steps (1 row, then 3, 2, 1, …) to cross band edges.
fn read_all(d: &mut Decoder<'_>, h: u32) -> Vec<u8> {
    let row = d.size.0 as usize * usize::from(d.layout().channel_count());
    let mut out = vec![0u8; row * h as usize];
    let mut y = 0usize;
    for step in [1usize, 3, 2].into_iter().cycle() {
        if y == h as usize {
            break;
        }
        let n = step.min(h as usize - y);
        d.read(&mut out[y * row..(y + n) * row]).unwrap();
        y += n;
    }
    out
}

fn check_header(name: &str, h: &Header, layout: ColorType, e: &Value) {
    let u = |k: &str| e[k].as_u64().unwrap_or_else(|| panic!("{name}: {k}"));
    assert_eq!(
        (u64::from(h.width), u64::from(h.height)),
        (u("width"), u("height")),
        "{name}"
    );
    assert_eq!(u64::from(h.orientation), u("orientation"), "{name}");
    assert_eq!(u64::from(h.pages), u("frames"), "{name}");
    assert_eq!(u64::from(h.bit_depth), u("bit_depth"), "{name}");
    assert_eq!(h.colour_model.name(), e["colour_model"], "{name}");
    assert_eq!(Value::Bool(h.alpha), e["alpha"], "{name}");
    assert_eq!(format!("{layout:?}"), e["layout"], "{name}");
    let srgb_out = matches!(h.colour_model.name(), "cmyk") || name.contains("lab");
    assert_eq!(h.in_srgb, srgb_out, "{name}: pixels already sRGB");
    let icc = h.icc.as_deref().map(|p| format!("{:x}", Sha256::digest(p)));
    assert_eq!(
        icc.as_deref(),
        e["icc_sha256"].as_str(),
        "{name}: ICC profile"
    );
    let wanted: Vec<&str> = e["warnings"]
        .as_array()
        .map(|w| w.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(h.warnings.len(), wanted.len(), "{name}: {:?}", h.warnings);
    for (got, want) in h.warnings.iter().zip(wanted) {
        assert!(got.contains(want), "{name}: {got:?} should say {want:?}");
    }
}

/// The expected 8-bit values at the fixture's points, within 3 levels.
fn check_points(name: &str, rows: &[u8], width: u32, channels: usize, e: &Value) {
    for p in e["points"].as_array().unwrap() {
        let (x, y) = (
            p[0].as_u64().unwrap() as usize,
            p[1].as_u64().unwrap() as usize,
        );
        let want: Vec<i64> = p[2]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        let at = (y * width as usize + x) * channels;
        let got: Vec<i64> = rows[at..at + channels]
            .iter()
            .map(|&v| i64::from(v))
            .collect();
        assert_eq!(
            got.len(),
            want.len(),
            "{name} at {x},{y}: {got:?} vs {want:?}"
        );
        let off = got
            .iter()
            .zip(&want)
            .map(|(g, w)| (g - w).abs())
            .max()
            .unwrap();
        assert!(off <= 3, "{name} at {x},{y}: {got:?}, expected {want:?}");
    }
}

fn check_refusal(name: &str, bytes: &[u8], e: &Value) {
    let kind = e["error"][0].as_str().unwrap();
    let needle = e["error"][1].as_str().unwrap();
    let err = match open(bytes, DEFAULT_MAX_INPUT_PIXELS) {
        Ok((d, _)) => d.decode().expect_err(name),
        Err(err) => err,
    };
    let (got_kind, message) = match &err {
        ImageError::Unsupported(m) => ("Unsupported", m),
        ImageError::TooLarge(m) => ("TooLarge", m),
        ImageError::Invalid(m) => ("Invalid", m),
        ImageError::Internal(m) => ("Internal", m),
    };
    assert_eq!(got_kind, kind, "{name}: {err:?}");
    assert!(
        message.contains(needle),
        "{name}: {message:?} should name {needle:?}"
    );
}

#[test]
fn every_fixture_decodes_to_its_expected_values() {
    let all = fixtures();
    assert!(all.len() >= 50, "{} fixtures", all.len());
    for (name, e) in &all {
        let data = bytes(name);
        if e.get("error").is_some() {
            check_refusal(name, &data, e);
            continue;
        }
        let (mut d, h) =
            open(&data, DEFAULT_MAX_INPUT_PIXELS).unwrap_or_else(|err| panic!("{name}: {err:?}"));
        let layout = d.layout();
        check_header(name, &h, layout, e);
        let rows = read_all(&mut d, h.height);
        let channels = usize::from(layout.channel_count());
        check_points(name, &rows, h.width, channels, e);
        let (d, _) = open(&data, DEFAULT_MAX_INPUT_PIXELS).unwrap();
        let img = d.decode().unwrap_or_else(|err| panic!("{name}: {err:?}"));
        assert_eq!(img.dimensions(), (h.width, h.height), "{name}");
        match e.get("points16") {
            Some(points16) => check_16_bits(name, &img, points16),
            None => assert!(
                img.as_bytes() == &rows[..],
                "{name}: decode and read differ"
            ),
        }
    }
}

fn check_16_bits(name: &str, img: &DynamicImage, points: &Value) {
    let channels = usize::from(img.color().channel_count());
    let samples: &[u16] = match img {
        DynamicImage::ImageLuma16(b) => b,
        DynamicImage::ImageLumaA16(b) => b,
        DynamicImage::ImageRgb16(b) => b,
        DynamicImage::ImageRgba16(b) => b,
        other => panic!("{name}: 16 bits kept, not {:?}", other.color()),
    };
    for p in points.as_array().unwrap() {
        let (x, y) = (
            p[0].as_u64().unwrap() as usize,
            p[1].as_u64().unwrap() as usize,
        );
        let at = (y * img.width() as usize + x) * channels;
        let want: Vec<u64> = p[2]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let got: Vec<u64> = samples[at..at + want.len()]
            .iter()
            .map(|&v| u64::from(v))
            .collect();
        assert_eq!(got, want, "{name}: 16-bit samples at {x},{y}");
    }
}

#[test]
fn orientation_1_to_8_turns_the_stored_pattern_upright() {
    for n in 1u8..=8 {
        let data = bytes(&format!("orientation_{n}.tif"));
        let (d, h) = open(&data, DEFAULT_MAX_INPUT_PIXELS).unwrap();
        assert_eq!(h.orientation, n);
        let mut img = d.decode().unwrap();
        img.apply_orientation(image::metadata::Orientation::from_exif(n).unwrap());
        let up = img.to_luma8();
        assert_eq!(up.dimensions(), (12, 8), "orientation {n}");
        let corners = [(1, 1), (10, 1), (1, 6), (10, 6)].map(|(x, y)| up.get_pixel(x, y)[0]);
        assert_eq!(corners, [255, 170, 85, 0], "orientation {n}");
    }
}

/// A little-endian classic TIFF with one IFD of `entries` (tag, type, count, value) and
/// `data` after the header (at offset 8); the IFD follows the data.
pub(super) fn tiff_with(entries: &[(u16, u16, u32, u32)], data: &[u8]) -> Vec<u8> {
    let ifd = 8 + data.len() as u32;
    let mut b = b"II*\0".to_vec();
    b.extend_from_slice(&ifd.to_le_bytes());
    b.extend_from_slice(data);
    b.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for &(tag, kind, count, value) in entries {
        b.extend_from_slice(&tag.to_le_bytes());
        b.extend_from_slice(&kind.to_le_bytes());
        b.extend_from_slice(&count.to_le_bytes());
        b.extend_from_slice(&value.to_le_bytes());
    }
    b.extend_from_slice(&0u32.to_le_bytes());
    b
}

/// The tags of a `w`×`h` 16-bit RGB page in one strip at offset 8 of `compression`.
fn rgb16_one_strip(
    w: u32,
    h: u32,
    compression: u32,
    strip_bytes: u32,
) -> Vec<(u16, u16, u32, u32)> {
    vec![
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, 1, 16),
        (259, 3, 1, compression),
        (262, 3, 1, 2),
        (273, 4, 1, 8),
        (277, 3, 1, 3),
        (278, 4, 1, h),
        (279, 4, 1, strip_bytes),
    ]
}

#[test]
fn one_uncompressed_strip_is_read_a_band_of_rows_at_a_time() {
    let (w, h) = (1000u32, 700u32);
    let mut data = Vec::with_capacity((w * h * 6) as usize);
    for y in 0..h {
        for x in 0..w {
            for v in [x * 65, y * 93, 40000] {
                data.extend_from_slice(&(v as u16).to_le_bytes());
            }
        }
    }
    let file = tiff_with(&rgb16_one_strip(w, h, 1, w * h * 6), &data);
    let (mut d, header) = open(&file, DEFAULT_MAX_INPUT_PIXELS).unwrap();
    assert_eq!((header.bit_depth, d.layout()), (16, ColorType::Rgb8));
    let rows = read_all(&mut d, h);
    let at = |x: u32, y: u32| (y * w + x) as usize * 3;
    assert_eq!(&rows[at(999, 699)..][..3], [253, 253, 156]);
    // 32 rows of 6,000 bytes: the band, never the 4.2 MB strip.
    assert!(
        d.band.data.capacity() <= 32 * 6000,
        "{}",
        d.band.data.capacity()
    );
}

#[test]
fn a_compressed_strip_too_large_for_one_band_is_refused_from_the_header() {
    let file = tiff_with(&rgb16_one_strip(12_000, 12_000, 5, 100), &[0; 100]);
    let err = open(&file, DEFAULT_MAX_INPUT_PIXELS).err().unwrap();
    assert!(
        matches!(&err, ImageError::TooLarge(m) if m.contains("864000000 bytes at once")),
        "{err:?}"
    );
}

#[test]
fn truncated_and_damaged_data_is_refused_not_panicked_on() {
    let data = bytes("rgb8_lzw.tif");
    let strip_end = data.len() / 2;
    let mut cut = data.clone();
    cut.truncate(strip_end);
    // The IFD sits at the end: cut, the file has none.
    assert!(matches!(
        open(&cut, DEFAULT_MAX_INPUT_PIXELS),
        Err(ImageError::Invalid(_))
    ));
    let one = bytes("rgb16_uncompressed_one_strip_be.tif");
    let mut broken = one.clone();
    // The IFD comes after the strip: point the strip past the end of the file.
    let pos = one
        .windows(4)
        .position(|w| w == [1, 17, 0, 4])
        .expect("StripOffsets entry");
    broken[pos + 8..pos + 12].copy_from_slice(&(one.len() as u32 - 100).to_be_bytes());
    let (d, _) = open(&broken, DEFAULT_MAX_INPUT_PIXELS).unwrap();
    let err = d.decode().unwrap_err();
    assert!(
        matches!(&err, ImageError::Invalid(m) if m.contains("cut short")),
        "{err:?}"
    );
    // An LZW strip claiming 300 MB in a file of a few hundred bytes.
    let file = tiff_with(&rgb16_one_strip(16, 16, 5, 300_000_000), &[0x80; 64]);
    let (d, _) = open(&file, DEFAULT_MAX_INPUT_PIXELS).unwrap();
    let err = d.decode().unwrap_err();
    assert!(
        matches!(&err, ImageError::Invalid(m) if m.contains("byte count over")),
        "{err:?}"
    );
}

/// Truncations and bit flips of every fixture: each open and decode returns (no panic
/// caught, no hang); the counts are printed (`--nocapture`).
#[test]
fn fuzzed_fixtures_never_panic() {
    let mut rng = fastrand::Rng::with_seed(28);
    let (mut runs, mut decoded, mut panics) = (0, 0, Vec::new());
    for name in fixtures().keys() {
        let data = bytes(name);
        let mut cases: Vec<Vec<u8>> = (1..8)
            .map(|i| data[..data.len() * i / 8].to_vec())
            .collect();
        for _ in 0..24 {
            let mut d = data.clone();
            for _ in 0..rng.usize(1..4) {
                let i = rng.usize(..d.len());
                d[i] ^= 1 << rng.u8(..8);
            }
            cases.push(d);
        }
        for case in cases {
            runs += 1;
            let result = open(&case, DEFAULT_MAX_INPUT_PIXELS).and_then(|(d, _)| d.decode());
            match result {
                Ok(_) => decoded += 1,
                Err(ImageError::Invalid(m)) if m.contains("failed on malformed data") => {
                    panics.push(name.clone())
                }
                Err(_) => {}
            }
        }
    }
    println!(
        "{runs} fuzzed TIFFs: {decoded} decoded, {} panics caught",
        panics.len()
    );
    assert!(panics.is_empty(), "panics caught on {panics:?}");
}
