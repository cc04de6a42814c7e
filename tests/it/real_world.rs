//! The files the world sends (PRODUCT.md "Real-world inputs"), one test per class, on the
//! fixtures in `testdata/real_world/` (made by its `make.py`; the expected values in its
//! `EXPECTED.md` come from Little CMS through Pillow's ImageCms, Pillow's Lanczos, djpeg,
//! webpinfo and pngcheck, not from this worker). Each runs the real binary's `variants`.

use crate::common::*;
use image::{DynamicImage, GenericImageView};
use img_parts::Bytes;

pub(crate) fn decoded(data: &[u8]) -> DynamicImage {
    image::load_from_memory(data).unwrap()
}

/// The `variants` command refusing a fixture: its exit code and message.
pub(crate) fn refused(fixture: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let run = run_variants(fixture, dir.path());
    (
        run.status.code(),
        String::from_utf8_lossy(&run.stderr).into_owned(),
    )
}

pub(crate) fn warnings(summary: &serde_json::Value) -> Vec<String> {
    summary["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect()
}

/// Patch centres in the thumb and their expected sRGB (EXPECTED.md's tables).
type Patches = [((u32, u32), [u8; 3]); 6];

fn assert_patches(fixture: &str, thumb: &Out, patches: &Patches, tol: u8) {
    let rgb = decoded(&thumb.data).to_rgb8();
    for ((x, y), want) in patches {
        near(
            &format!("{fixture} at ({x},{y})"),
            rgb.get_pixel(*x, *y).0,
            *want,
            tol,
        );
    }
}

/// A Photoshop-style CMYK JPEG (APP14, inverted samples) with a press profile: converted
/// through the profile, within PRODUCT.md's 2 levels of Little CMS (+1 for the thumb's own
/// JPEG encode). The naive formula is 44 to 125 levels off on these patches.
#[test]
fn cmyk_with_a_profile_matches_little_cms() {
    let f = "real_world/cmyk_profile_adobe_600x400.jpg";
    let (outs, summary) = variants(f);
    let thumb = by_name(&outs, "thumb");
    assert_eq!((thumb.width, thumb.height), (400, 267));
    let lcms: Patches = [
        ((67, 67), [58, 153, 212]),
        ((200, 67), [227, 62, 56]),
        ((333, 67), [57, 51, 130]),
        ((67, 200), [47, 48, 51]),
        ((200, 200), [145, 70, 60]),
        ((333, 200), [83, 85, 89]),
    ];
    assert_patches(f, thumb, &lcms, 3);
    assert_eq!(icc(&thumb.data), None, "no CMYK profile on sRGB pixels");
    assert_eq!(summary["source"]["colour_model"], "cmyk");
    assert_eq!(summary["source"]["converted_to_srgb"], true);
    assert_eq!(
        summary["source"]["icc_profile"],
        "Arke test press CMYK (synthetic)"
    );
}

/// A CMYK JPEG with neither profile nor APP14 marker: read as browsers read it (stored samples
/// as Adobe-inverted). Read non-inverted, the first patch would be red and the others black.
#[test]
fn cmyk_without_profile_or_app14_reads_as_browsers_do() {
    let f = "real_world/cmyk_plain_noapp14_600x400.jpg";
    let (outs, summary) = variants(f);
    let browsers: Patches = [
        ((67, 67), [0, 0, 0]),
        ((200, 67), [255, 0, 0]),
        ((333, 67), [255, 255, 255]),
        ((67, 200), [0, 255, 255]),
        ((200, 200), [128, 128, 128]),
        ((333, 200), [200, 100, 200]),
    ];
    assert_patches(f, by_name(&outs, "thumb"), &browsers, 3);
    assert_eq!(summary["source"]["colour_model"], "cmyk");
}

/// A 131,872-byte LUT profile is applied (pixels to sRGB, as Little CMS converts them) and not
/// copied into the thumb, which stays small.
#[test]
fn a_large_lut_profile_is_applied_and_dropped() {
    let f = "real_world/rgb_large_lut_profile_1000x700.jpg";
    let (outs, summary) = variants(f);
    let thumb = by_name(&outs, "thumb");
    assert!(thumb.data.len() < 20_000, "{} bytes", thumb.data.len());
    assert_eq!(icc(&thumb.data), None);
    let lcms: Patches = [
        ((80, 80), [134, 127, 119]),
        ((200, 80), [201, 119, 81]),
        ((320, 80), [222, 53, 40]),
        ((80, 200), [62, 141, 100]),
        ((200, 200), [57, 77, 191]),
        ((320, 200), [150, 179, 207]),
    ];
    assert_patches(f, thumb, &lcms, 3);
    assert_eq!(summary["source"]["converted_to_srgb"], true);
    // The original keeps its pixels, so it keeps the profile that describes them.
    let original = icc(&by_name(&outs, "original").data);
    assert_eq!(original.map(|p| p.len()), Some(131_872));
}

/// A PNG whose colour is given by `gAMA` alone (linear samples): the chunk rides into the
/// variants, so they show what the original shows (grey 128 displayed as about 188).
#[test]
fn a_gama_only_png_keeps_its_gamma() {
    let (outs, _) = variants("real_world/png_gama_only_linear_800x600.png");
    let thumb = by_name(&outs, "thumb");
    let gama = img_parts::png::Png::from_bytes(Bytes::copy_from_slice(&thumb.data))
        .unwrap()
        .chunk_by_type(*b"gAMA")
        .map(|c| c.contents().to_vec());
    assert_eq!(gama, Some(100_000u32.to_be_bytes().to_vec()));
    let px = decoded(&thumb.data).to_rgb8().get_pixel(100, 150).0;
    near("flat grey (as stored)", px, [128, 128, 128], 1);
}

/// The mean SSIM of two gray images over every 8×8 window (stride 1), as EXPECTED.md defines it.
fn ssim(a: &image::GrayImage, b: &image::GrayImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let (w, h) = a.dimensions();
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let (mut total, mut n) = (0.0, 0u32);
    for y0 in 0..=h - 8 {
        for x0 in 0..=w - 8 {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for y in y0..y0 + 8 {
                for x in x0..x0 + 8 {
                    let p = f64::from(a.get_pixel(x, y)[0]);
                    let q = f64::from(b.get_pixel(x, y)[0]);
                    sa += p;
                    sb += q;
                    saa += p * p;
                    sbb += q * q;
                    sab += p * q;
                }
            }
            let (ma, mb) = (sa / 64.0, sb / 64.0);
            let (va, vb, cov) = (
                saa / 64.0 - ma * ma,
                sbb / 64.0 - mb * mb,
                sab / 64.0 - ma * mb,
            );
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            n += 1;
        }
    }
    total / f64::from(n)
}

/// A 1-bit scanned text page: 8-bit anti-aliased variants, as legible as Pillow's Lanczos
/// (a 1-bit dithered thumb scores 0.79 against it).
#[test]
fn a_scanned_one_bit_page_stays_legible() {
    let (outs, _) = variants("real_world/bilevel_scan_2000x2800.png");
    let thumb = by_name(&outs, "thumb");
    assert_eq!(thumb.data[24], 8, "8 bits a sample");
    let got = decoded(&thumb.data).to_luma8();
    let want = decoded(&fixture(
        "real_world/ref/bilevel_scan_thumb_lanczos_286x400.png",
    ))
    .to_luma8();
    let score = ssim(&got, &want);
    assert!(score >= 0.95, "thumb SSIM {score:.4} to Lanczos");
    let names: Vec<&str> = outs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["thumb", "medium", "large", "original"]);
}

/// A WebP whose `EXIF` chunk starts with `Exif\0\0` (as Pillow and ImageMagick write it) is
/// turned upright like any other, and its `original` keeps the orientation.
#[test]
fn a_webp_with_prefixed_exif_comes_out_upright() {
    let (outs, summary) = variants("real_world/webp_exif_prefixed_orientation6_600x400.webp");
    assert_eq!(summary["source"]["orientation_applied"], 6);
    let thumb = by_name(&outs, "thumb");
    assert_eq!((thumb.width, thumb.height), (267, 400));
    let rgb = decoded(&thumb.data).to_rgb8();
    assert_eq!(rgb.dimensions(), (267, 400));
    near("top band", rgb.get_pixel(133, 40).0, [221, 30, 31], 12);
    near("left band", rgb.get_pixel(33, 240).0, [30, 61, 221], 12);
    near("bottom right", rgb.get_pixel(233, 367).0, [29, 170, 61], 12);
    let original = by_name(&outs, "original");
    assert_eq!(upright_dimensions(&original.data), (400, 600));
    assert_eq!(webp_strict(&original.data), Ok(()));
}

/// Complete JPEGs that lack their EOI marker, or carry a phone's trailer (also where the EOI
/// should be), are decoded whole with a warning where the EOI is missing; the `original` ends
/// at its EOI. A file whose rows are missing is still refused.
#[test]
fn complete_jpegs_without_eoi_or_with_a_trailer_are_accepted() {
    for (f, warned) in [
        ("real_world/jpeg_no_eoi_800x600.jpg", true),
        ("real_world/jpeg_trailer_800x600.jpg", false),
        ("real_world/jpeg_no_eoi_trailer_800x600.jpg", true),
    ] {
        let (outs, summary) = variants(f);
        let thumb = by_name(&outs, "thumb");
        let mean = mean_rgb(&thumb.data);
        for (c, want) in [149.835, 133.8, 139.604].into_iter().enumerate() {
            assert!((mean[c] - want).abs() <= 2.0, "{f}: mean {mean:?}");
        }
        let w = warnings(&summary);
        assert_eq!(
            w.iter().any(|w| w.contains("no end-of-image marker")),
            warned,
            "{f}: {w:?}"
        );
        let original = &by_name(&outs, "original").data;
        assert!(
            original.ends_with(&[0xFF, 0xD9]),
            "{f}: original ends at EOI"
        );
        assert!(
            !original.windows(4).any(|w| w == b"SEFH"),
            "{f}: trailer left"
        );
        let complete = decoded(&fixture("real_world/ref/jpeg_complete_800x600.jpg"));
        assert_eq!(
            decoded(original).to_rgb8().as_raw(),
            complete.to_rgb8().as_raw(),
            "{f}: original decodes to the complete file's pixels"
        );
    }
    let (code, message) = refused("real_world/jpeg_truncated_800x600.jpg");
    assert_eq!(code, Some(1));
    assert!(message.contains("damaged JPEG data"), "{message}");
}

/// Codings libjpeg is not built for are refused by name, as `unsupported_format`.
#[test]
fn arithmetic_lossless_and_12_bit_jpegs_are_unsupported_by_name() {
    let base = fixture("real_world/ref/jpeg_complete_800x600.jpg");
    let sof = base
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame");
    for (marker, precision, name) in [
        (0xC9u8, 8u8, "arithmetic-coded JPEG"),
        (0xC3, 8, "lossless JPEG"),
        (0xC1, 12, "12-bit JPEG"),
    ] {
        let mut bytes = base.clone();
        bytes[sof + 1] = marker;
        bytes[sof + 4] = precision;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coding.jpg");
        std::fs::write(&path, &bytes).unwrap();
        let (code, message) = refused(path.to_str().unwrap());
        assert_eq!(code, Some(1), "{name}");
        assert!(
            message.contains("unsupported") && message.contains(name),
            "{name}: {message}"
        );
    }
}

/// Whether every chunk CRC of a PNG is right (PNG spec 5.3), as libpng checks them.
pub(crate) fn png_crcs_ok(data: &[u8]) -> bool {
    let mut i = 8;
    while i + 12 <= data.len() {
        let len = u32::from_be_bytes(data[i..i + 4].try_into().unwrap()) as usize;
        let Some(body) = data.get(i + 4..i + 8 + len) else {
            return false;
        };
        let crc = u32::from_be_bytes(data[i + 8 + len..i + 12 + len].try_into().unwrap());
        if crc32fast::hash(body) != crc {
            return false;
        }
        i += 12 + len;
    }
    i == data.len()
}

/// A bad CRC in an ancillary chunk drops that chunk with a warning; in a critical one the
/// file is refused.
#[test]
fn a_png_with_a_bad_ancillary_crc_is_accepted_without_that_chunk() {
    let (outs, summary) = variants("real_world/png_bad_ancillary_crc_640x480.png");
    assert!(
        warnings(&summary).iter().any(|w| w.contains("tEXt")),
        "{summary}"
    );
    let mean = mean_rgb(&by_name(&outs, "thumb").data);
    for (c, want) in [155.991, 139.214, 133.803].into_iter().enumerate() {
        assert!((mean[c] - want).abs() <= 2.0, "mean {mean:?}");
    }
    for o in &outs {
        assert!(png_crcs_ok(&o.data), "{}: a bad CRC", o.name);
        assert!(
            !o.data.windows(9).any(|w| w == b"SecretCam"),
            "{}: private text",
            o.name
        );
    }
    let good = decoded(&fixture("real_world/ref/png_crc_good_640x480.png"));
    let original = decoded(&by_name(&outs, "original").data);
    assert_eq!(original.to_rgb8().as_raw(), good.to_rgb8().as_raw());
    let (code, message) = refused("real_world/png_bad_critical_crc_640x480.png");
    assert_eq!(code, Some(1));
    assert!(message.contains("CRC"), "{message}");
}

/// The WebP container rules `webpinfo` applies (WebP container spec), as a test can check
/// them: RIFF size, chunk bounds and padding, VP8X first with reserved bits clear, and its
/// flags exactly the chunks present.
pub(crate) fn webp_strict(b: &[u8]) -> Result<(), String> {
    if b.get(..4) != Some(b"RIFF") || b.get(8..12) != Some(b"WEBP") {
        return Err("not RIFF/WEBP".into());
    }
    let riff = u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize;
    if riff + 8 != b.len() || !b.len().is_multiple_of(2) {
        return Err(format!("RIFF size {riff} for {} bytes", b.len()));
    }
    let mut chunks = Vec::new();
    let mut i = 12;
    while i < b.len() {
        let head = b.get(i..i + 8).ok_or("chunk header past the end")?;
        let size = u32::from_le_bytes(head[4..8].try_into().unwrap()) as usize;
        let end = i + 8 + size;
        let body = b.get(i + 8..end).ok_or("chunk past the end")?;
        if size % 2 == 1 && b.get(end) != Some(&0) {
            return Err("odd chunk without a zero pad byte".into());
        }
        chunks.push((<[u8; 4]>::try_from(&head[..4]).unwrap(), body));
        i = end + size % 2;
    }
    let has = |k: &[u8; 4]| chunks.iter().any(|(c, _)| c == k);
    let Some((first, vp8x)) = chunks.first() else {
        return Err("no chunks".into());
    };
    if first != b"VP8X" {
        let extended = [
            b"VP8X", b"ICCP", b"ALPH", b"EXIF", b"XMP ", b"ANIM", b"ANMF",
        ];
        return match extended.iter().any(|k| has(k)) {
            true => Err("extended chunks in a simple-format file".into()),
            false => Ok(()),
        };
    }
    if vp8x.len() != 10 || vp8x[0] & 0xC1 != 0 || vp8x[1..4] != [0, 0, 0] {
        return Err("VP8X size or reserved bits".into());
    }
    let flags = vp8x[0];
    let vp8l_alpha = chunks
        .iter()
        .find(|(c, _)| c == b"VP8L")
        .is_some_and(|(_, d)| d.len() > 4 && d[4] & 0x10 != 0);
    for (bit, present, name) in [
        (0x20, has(b"ICCP"), "ICC"),
        (0x10, has(b"ALPH") || vp8l_alpha, "alpha"),
        (0x08, has(b"EXIF"), "EXIF"),
        (0x04, has(b"XMP "), "XMP"),
        (0x02, has(b"ANIM") || has(b"ANMF"), "animation"),
    ] {
        if (flags & bit != 0) != present {
            return Err(format!(
                "{name} flag {:#04x} but chunk present: {present}",
                flags & bit
            ));
        }
    }
    if has(b"ICCP") && chunks.get(1).map(|c| &c.0) != Some(b"ICCP") {
        return Err("ICCP not right after VP8X".into());
    }
    Ok(())
}

/// A WebP with ICC, EXIF, XMP and alpha: its `original` drops EXIF and XMP, keeps the rest,
/// and its VP8X flags say exactly that (webpinfo and webpmux refused the XMP flag left set).
#[test]
fn a_webp_original_without_metadata_passes_the_strict_check() {
    let f = "real_world/webp_icc_exif_xmp_alpha_640x480.webp";
    assert_eq!(webp_strict(&fixture(f)), Ok(()), "the fixture itself");
    let (outs, _) = variants(f);
    for o in &outs {
        assert_eq!(webp_strict(&o.data), Ok(()), "{}", o.name);
        for private in [&b"SecretCam"[..], b"Private Person"] {
            assert!(
                !o.data.windows(private.len()).any(|w| w == private),
                "{}: private metadata",
                o.name
            );
        }
    }
    let original = &by_name(&outs, "original").data;
    assert_eq!(original[20], 0x30, "VP8X flags: ICC and alpha only");
    let kinds: Vec<&[u8]> = {
        let mut v = Vec::new();
        let mut i = 12;
        while i + 8 <= original.len() {
            let size = u32::from_le_bytes(original[i + 4..i + 8].try_into().unwrap()) as usize;
            v.push(&original[i..i + 4]);
            i += 8 + size + size % 2;
        }
        v
    };
    assert_eq!(kinds, [&b"VP8X"[..], b"ICCP", b"ALPH", b"VP8 "]);
    let thumb = decoded(&by_name(&outs, "thumb").data);
    assert!(thumb.color().has_alpha());
    assert_eq!(thumb.dimensions(), (400, 300));
}

/// Where the mean Cr (BT.601) of rows `rows` over `columns` crosses half-way between its
/// first and last row's values: the position of a horizontal colour edge, in rows.
fn cr_edge(img: &DynamicImage, columns: std::ops::Range<u32>, rows: std::ops::Range<u32>) -> f64 {
    let rgb = img.to_rgb8();
    let cr: Vec<f64> = rows
        .clone()
        .map(|y| {
            let sum: f64 = columns
                .clone()
                .map(|x| {
                    let [r, g, b] = rgb.get_pixel(x, y).0.map(f64::from);
                    128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b
                })
                .sum();
            sum / f64::from(columns.end - columns.start)
        })
        .collect();
    let half = (cr[0] + cr[cr.len() - 1]) / 2.0;
    let k = cr
        .windows(2)
        .position(|w| (w[0] - half) * (w[1] - half) <= 0.0)
        .expect("an edge");
    let t = (cr[k] - half) / (cr[k] - cr[k + 1]);
    f64::from(rows.start) + k as f64 + t
}

/// An odd-sized lossy WebP (1001×667, 4:2:0 planes of 501×334): the thumb's chroma stays on
/// the luma grid, so a red shape's bottom colour edge lands where a reference resize (libwebp
/// decode, Lanczos, cwebp q80) puts it. Stretched chroma put it 0.25–0.6 px too low.
#[test]
fn an_odd_sized_webp_keeps_its_chroma_aligned() {
    let (outs, _) = variants("real_world/webp_odd_1001x667.webp");
    let thumb = decoded(&by_name(&outs, "thumb").data);
    assert_eq!(thumb.dimensions(), (400, 267));
    let reference = decoded(&fixture(
        "real_world/ref/webp_odd_thumb_lanczos_cwebp_q80_400x267.webp",
    ));
    let (got, want) = (
        cr_edge(&thumb, 130..370, 236..257),
        cr_edge(&reference, 130..370, 236..257),
    );
    assert!(
        (got - want).abs() <= 0.15,
        "bottom colour edge at row {got:.3}, reference {want:.3}"
    );
}
