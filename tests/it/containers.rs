//! The containers the world sends (issue 25; PRODUCT.md "Real-world inputs": bounded time,
//! what the `original` keeps, damaged but complete files, precedence of colour signals,
//! animated PNG), one test per class on the fixtures in `testdata/containers/` (made by the
//! fixtures generator, `stack/src/fixtures/containers.rs`). Each runs the real binary's
//! `variants`. The bound on work is asserted as a count (the scans at which a JPEG is
//! refused), never as a time: `bench/floods.py` measures the times.

use crate::common::*;
use crate::real_world::{decoded, png_crcs_ok, refused, warnings, webp_strict};
use image::GenericImageView;

/// What every fixture with metadata carries somewhere; no variant may.
const PRIVATE: &str = "SecretCam";

fn assert_private_gone(fixture: &str, outs: &[Out]) {
    for o in outs {
        assert!(
            !o.data
                .windows(PRIVATE.len())
                .any(|w| w == PRIVATE.as_bytes()),
            "{fixture}: {} carries private metadata",
            o.name
        );
    }
}

/// The marker segments of a JPEG up to EOI: (marker, payload), entropy-coded data skipped. A
/// strict walk: every segment must start right where the last one ended.
fn jpeg_segments(b: &[u8]) -> Vec<(u8, Vec<u8>)> {
    assert_eq!(&b[..2], [0xFF, 0xD8], "SOI");
    let mut out = Vec::new();
    let mut i = 2;
    loop {
        assert_eq!(b[i], 0xFF, "a marker at {i}: no bytes between segments");
        let marker = b[i + 1];
        if marker == 0xD9 {
            assert_eq!(i + 2, b.len(), "nothing after EOI");
            out.push((marker, Vec::new()));
            return out;
        }
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        out.push((marker, b[i + 4..i + 2 + len].to_vec()));
        i += 2 + len;
        if marker == 0xDA {
            while !(b[i] == 0xFF && b[i + 1] != 0 && !(0xD0..=0xD7).contains(&b[i + 1])) {
                i += 1;
            }
        }
    }
}

/// The one-tag EXIF block the worker writes for an orientation (big-endian TIFF, IFD0 holding
/// only Orientation).
fn orientation_exif(orientation: u8) -> Vec<u8> {
    let mut v = b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0".to_vec();
    v.extend_from_slice(&[orientation, 0, 0, 0, 0, 0, 0]);
    v
}

/// Checks the red top-left and blue bottom-right marks of `fixtures::marked` on an upright
/// variant (green top-right).
fn assert_marked(what: &str, data: &[u8]) {
    let img = decoded(data).to_rgb8();
    let (w, h) = img.dimensions();
    near(
        &format!("{what} top-left"),
        img.get_pixel(w / 20, h / 20).0,
        [230, 20, 20],
        30,
    );
    near(
        &format!("{what} top-right"),
        img.get_pixel(w - 1 - w / 20, h / 20).0,
        [20, 200, 20],
        30,
    );
    near(
        &format!("{what} bottom-right"),
        img.get_pixel(w - 1 - w / 20, h - 1 - h / 20).0,
        [20, 20, 230],
        30,
    );
}

/// A progressive JPEG of 102 scans (34 for each component) is refused from its marker walk,
/// before any pixel is decoded, naming the count; one of 99 is decoded as usual. (The scan at
/// which libjpeg itself stops, the 101st, is a unit test: `jpeg::tests`.)
#[test]
fn jpeg_scans_past_the_limit_are_refused_by_count() {
    let (code, message) = refused("containers/jpeg_progressive_102_scans_600x400.jpg");
    assert_eq!(code, Some(1));
    assert!(
        message.contains("too many scans: the JPEG has 102, at most 100"),
        "{message}"
    );
    let (outs, summary) = variants("containers/jpeg_progressive_99_scans_600x400.jpg");
    assert_eq!(summary["source"]["progressive"], true);
    let thumb = by_name(&outs, "thumb");
    assert_eq!((thumb.width, thumb.height), (400, 267));
    assert_marked("99-scan thumb", &thumb.data);
}

/// A JPEG with every kind of metadata: its `original` keeps a plain JFIF (thumbnail and JFXX
/// gone), a one-tag EXIF orientation, the ICC profile and Adobe APP14, then the image's own
/// segments byte for byte, nothing between segments and nothing after EOI.
#[test]
fn a_jpeg_original_keeps_only_the_whitelist() {
    let f = "containers/jpeg_metadata_zoo_600x400.jpg";
    let (outs, summary) = variants(f);
    assert_private_gone(f, &outs);
    assert_eq!(summary["source"]["orientation_applied"], 6);
    let original = &by_name(&outs, "original").data;
    let segments = jpeg_segments(original);
    let markers: Vec<u8> = segments.iter().map(|s| s.0).take(4).collect();
    assert_eq!(markers, [0xE0, 0xE1, 0xE2, 0xEE]);
    assert_eq!(
        segments[0].1, b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00",
        "no thumbnail"
    );
    assert_eq!(
        segments[1].1,
        [&b"Exif\0\0"[..], &orientation_exif(6)].concat()
    );
    assert!(segments[2].1.starts_with(b"ICC_PROFILE\0\x01\x01"));
    assert_eq!(segments[3].1, b"Adobe\0\x64\0\0\0\0\x01");
    let base = fixture("containers/ref/jpeg_metadata_zoo_base_600x400.jpg");
    let image_data = 2 + 2 + usize::from(u16::from_be_bytes([base[4], base[5]]));
    assert!(
        original.ends_with(&base[image_data..]),
        "the image's segments as they were"
    );
    assert_eq!(upright_dimensions(original), (600, 400));
    assert_marked("thumb", &by_name(&outs, "thumb").data);
}

/// A sequential JPEG without EOI before a phone's binary trailer, and one whose EOI was damaged
/// into another marker: accepted with a warning, and their `original` is byte for byte the
/// complete file's (its last scan cut at its last coded byte: djpeg reads it without a
/// warning).
#[test]
fn jpegs_with_a_binary_trailer_or_a_damaged_eoi_are_accepted_and_repaired() {
    let (complete, _) = variants("containers/ref/jpeg_complete_800x600.jpg");
    let want = &by_name(&complete, "original").data;
    for f in [
        "containers/jpeg_no_eoi_binary_trailer_800x600.jpg",
        "containers/jpeg_eoi_damaged_800x600.jpg",
    ] {
        let (outs, summary) = variants(f);
        let w = warnings(&summary);
        assert!(
            w.iter().any(|w| w.contains("no end-of-image marker")),
            "{f}: {w:?}"
        );
        assert!(&by_name(&outs, "original").data == want, "{f}: original");
        assert_private_gone(f, &outs);
        assert_eq!(
            by_name(&outs, "thumb").data,
            by_name(&complete, "thumb").data,
            "{f}: the complete file's thumb"
        );
    }
}

/// 60,000 empty APP1, APP2 and COM segments before the ICC profile: read in one pass (libjpeg
/// saves none), the profile found after them and kept, the flood left out of the `original`.
#[test]
fn a_jpeg_marker_flood_is_read_in_one_pass() {
    let f = "containers/jpeg_marker_flood_600x400.jpg";
    let (outs, summary) = variants(f);
    assert_eq!(summary["source"]["icc_profile"], "Display P3");
    let original = &by_name(&outs, "original").data;
    let markers: Vec<u8> = jpeg_segments(original).iter().map(|s| s.0).collect();
    assert_eq!(&markers[..2], [0xE0, 0xE2], "JFIF, ICC, then the image");
    assert!(markers[2..]
        .iter()
        .all(|m| !(0xE0..=0xEF).contains(m) && *m != 0xFE));
    assert!(
        icc(&by_name(&outs, "thumb").data).is_some(),
        "the profile travels"
    );
}

/// The chunks of a PNG in order through IEND: (type, data).
fn png_chunks(b: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 8;
    while i + 12 <= b.len() {
        let len = u32::from_be_bytes(b[i..i + 4].try_into().unwrap()) as usize;
        out.push((
            b[i + 4..i + 8].try_into().unwrap(),
            b[i + 8..i + 8 + len].to_vec(),
        ));
        i += 12 + len;
        if out.last().is_some_and(|(k, _)| k == b"IEND") {
            break;
        }
    }
    out
}

fn kinds(chunks: &[([u8; 4], Vec<u8>)]) -> Vec<String> {
    chunks
        .iter()
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
        .collect()
}

fn idat(chunks: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    chunks
        .iter()
        .filter(|(k, _)| k == b"IDAT")
        .flat_map(|(_, d)| d.clone())
        .collect()
}

/// A PNG with private and editor chunks, malformed and repeated colour chunks, 1,000+ one-byte
/// IDAT chunks, a stray IHDR and an unknown critical chunk after the data: its `original`
/// keeps IHDR, the first valid gAMA, a one-tag eXIf and the zlib stream unchanged in one IDAT;
/// each whitelisted chunk it drops is named in a warning.
#[test]
fn a_png_original_keeps_only_the_whitelist_in_few_idat_chunks() {
    let f = "containers/png_chunk_zoo_640x480.png";
    let input = png_chunks(&fixture(f));
    assert!(input.iter().filter(|(k, _)| k == b"IDAT").count() > 1000);
    let (outs, summary) = variants(f);
    assert_private_gone(f, &outs);
    let original = &by_name(&outs, "original").data;
    assert!(png_crcs_ok(original));
    let chunks = png_chunks(original);
    assert_eq!(kinds(&chunks), ["IHDR", "gAMA", "eXIf", "IDAT", "IEND"]);
    assert_eq!(idat(&chunks), idat(&input), "the zlib stream byte for byte");
    assert_eq!(chunks[2].1, orientation_exif(6));
    let w = warnings(&summary).join(" | ");
    for dropped in [
        "sRGB (0 bytes)",
        "cHRM (31 bytes)",
        "pHYs (8 bytes)",
        "gAMA (a second one)",
        "IHDR (a second one)",
        "ZZZZ (not a known chunk)",
    ] {
        assert!(w.contains(dropped), "{dropped}: {w}");
    }
    let thumb = by_name(&outs, "thumb");
    assert_eq!((thumb.width, thumb.height), (400, 300));
    assert_marked("thumb", &thumb.data);
    let gama: Vec<_> = png_chunks(&thumb.data)
        .into_iter()
        .filter(|(k, _)| k == b"gAMA")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(
        gama,
        [45_455u32.to_be_bytes().to_vec()],
        "the valid gAMA rides along"
    );
}

/// A PNG whose image data is complete but whose IEND is missing is accepted with a warning,
/// its `original` ending in IEND; without its last two IDAT chunks (rows missing) it is
/// refused. A truecolour PNG with a 771-byte PLTE is read without it, as libpng reads it.
#[test]
fn damaged_but_complete_pngs_are_accepted_and_repaired() {
    let (outs, summary) = variants("containers/png_no_iend_640x480.png");
    assert!(warnings(&summary).iter().any(|w| w.contains("no IEND")));
    let original = &by_name(&outs, "original").data;
    assert!(png_crcs_ok(original));
    assert_eq!(
        kinds(&png_chunks(original)).last().map(String::as_str),
        Some("IEND")
    );
    assert_marked("original", original);
    let (code, message) = refused("containers/png_no_iend_rows_missing_640x480.png");
    assert_eq!(code, Some(1));
    assert!(message.contains("cannot decode"), "{message}");
    let (outs, summary) = variants("containers/png_rgb_palette_771_bytes_640x480.png");
    assert!(warnings(&summary).iter().any(|w| w.contains("PLTE")));
    let original = &by_name(&outs, "original").data;
    assert_eq!(kinds(&png_chunks(original)), ["IHDR", "IDAT", "IEND"]);
    assert_marked("thumb", &by_name(&outs, "thumb").data);
}

/// `cICP` (sRGB) beside `iCCP` (Display P3): the variants follow `cICP`, as PNG's third edition
/// and the browsers do — they carry it and no profile, their pixels as stored, and the
/// placeholder's colour is the stored red (P3 read as sRGB would make it (255, 0, 12)). The
/// `original` keeps both. A P3 profile alone still converts the placeholder.
#[test]
fn cicp_takes_precedence_over_an_icc_profile() {
    let f = "containers/png_cicp_srgb_iccp_p3_800x500.png";
    let (outs, summary) = variants(f);
    let thumb = by_name(&outs, "thumb");
    let chunks = png_chunks(&thumb.data);
    let cicp: Vec<_> = chunks.iter().filter(|(k, _)| k == b"cICP").collect();
    assert_eq!(cicp.len(), 1);
    assert_eq!(cicp[0].1, [1, 13, 0, 1]);
    assert!(
        !kinds(&chunks).contains(&"iCCP".to_string()),
        "{:?}",
        kinds(&chunks)
    );
    near(
        "thumb red",
        decoded(&thumb.data).to_rgb8().get_pixel(100, 125).0,
        [250, 30, 40],
        1,
    );
    assert_eq!(summary["placeholder"]["dominant_color"], "#fa1e28");
    let original = kinds(&png_chunks(&by_name(&outs, "original").data));
    assert_eq!(original, ["IHDR", "cICP", "iCCP", "IDAT", "IEND"]);
    let (_, p3) = variants("correctness/p3_800x500.png");
    assert_eq!(
        p3["placeholder"]["dominant_color"], "#ff000b",
        "Little CMS: (255, 0, 12)"
    );
}

/// An APNG whose IDAT image (grey) is a default for viewers without APNG: its variants show the
/// first frame a browser shows (a red patch on the transparent canvas), with a warning naming
/// the frame count; when the IDAT image is the first frame, it is the one shown. The `original`
/// keeps the animation.
#[test]
fn an_apng_shows_the_first_frame_a_browser_shows() {
    let (outs, summary) = variants("containers/apng_hidden_default_600x400.png");
    assert!(warnings(&summary).iter().any(|w| w.contains("2 frames")));
    let thumb = decoded(&by_name(&outs, "thumb").data);
    assert_eq!(thumb.dimensions(), (400, 267));
    let centre = thumb.get_pixel(200, 133).0;
    assert!(
        centre[0] > 200 && centre[1] < 50 && centre[3] == 255,
        "{centre:?}"
    );
    assert_eq!(
        thumb.get_pixel(20, 20).0[3],
        0,
        "outside the frame: transparent"
    );
    let original = kinds(&png_chunks(&by_name(&outs, "original").data));
    assert_eq!(
        original,
        ["IHDR", "acTL", "IDAT", "fcTL", "fdAT", "fcTL", "fdAT", "IEND"]
    );
    let (outs, summary) = variants("containers/apng_idat_first_600x400.png");
    assert!(warnings(&summary).iter().any(|w| w.contains("2 frames")));
    let px = decoded(&by_name(&outs, "thumb").data).to_rgba8();
    assert_eq!(px.get_pixel(200, 133).0, [128, 128, 128, 255]);
}

/// The chunks of a WebP (FourCC, payload) after its RIFF header.
fn riff_chunks(b: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 12;
    while i + 8 <= b.len() {
        let size = u32::from_le_bytes(b[i + 4..i + 8].try_into().unwrap()) as usize;
        out.push((
            b[i..i + 4].try_into().unwrap(),
            b[i + 8..i + 8 + size].to_vec(),
        ));
        i += 8 + size + size % 2;
    }
    out
}

/// A WebP with unknown chunks (artist, copyright, title, a misspelt XMP, 5,000 empty ones) and
/// bytes after its RIFF container: accepted with a warning; its `original` keeps VP8X (flags
/// ICC and EXIF only), ICCP, the image and a one-tag EXIF. An animated one loses the unknown
/// chunks in and between its frames and keeps its animation.
#[test]
fn a_webp_original_keeps_only_the_whitelist() {
    let f = "containers/webp_unknown_chunks_trailer_600x400.webp";
    let (outs, summary) = variants(f);
    assert_private_gone(f, &outs);
    assert!(warnings(&summary)
        .iter()
        .any(|w| w.contains("after the WebP's RIFF container")));
    let original = &by_name(&outs, "original").data;
    assert_eq!(webp_strict(original), Ok(()));
    let chunks = riff_chunks(original);
    assert_eq!(kinds(&chunks), ["VP8X", "ICCP", "VP8 ", "EXIF"]);
    assert_eq!(chunks[0].1[0], 0x28, "flags: ICC and EXIF");
    assert_eq!(chunks[3].1, orientation_exif(6));
    assert_eq!(upright_dimensions(original), (600, 400));
    assert_marked("thumb", &by_name(&outs, "thumb").data);

    let f = "containers/webp_animated_unknown_chunks_600x400.webp";
    let (outs, summary) = variants(f);
    assert_private_gone(f, &outs);
    assert!(warnings(&summary).iter().any(|w| w.contains("2 frames")));
    let original = &by_name(&outs, "original").data;
    assert_eq!(webp_strict(original), Ok(()));
    let chunks = riff_chunks(original);
    assert_eq!(kinds(&chunks), ["VP8X", "ANIM", "ANMF", "ANMF"]);
    for (_, frame) in &chunks[2..] {
        assert_eq!(
            kinds(&riff_chunks(&[&[0u8; 12][..], &frame[16..]].concat())),
            ["VP8L"]
        );
    }
    let px = decoded(&by_name(&outs, "thumb").data).to_rgb8();
    near("first frame", px.get_pixel(200, 133).0, [220, 30, 30], 2);
}
