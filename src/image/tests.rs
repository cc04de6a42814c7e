//! The image stage as a whole: bytes in, variants out, on generated and fixture files.

use super::*;
use codecs::{count, jpeg, webp};
use encode::Encoder;
use pixels::{yuv, Pixels};

/// Still WebP through libwebp, its features read as the probe reads them.
fn decode_webp(bytes: &[u8]) -> Option<image::DynamicImage> {
    let f = webp::open(bytes, usize::MAX).ok()?.kind.features;
    webp::decode_rgb(bytes, &f)
}

/// Opaque lossy WebP as 4:2:0 planes, its features read as the probe reads them.
fn decode_planes(bytes: &[u8]) -> Option<yuv::Yuv> {
    let f = webp::open(bytes, usize::MAX).ok()?.kind.features;
    webp::decode_planes(bytes, &f)
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

#[test]
fn detects_by_signature() {
    assert_eq!(Format::detect(&jpeg(2, 2)), Some(Format::Jpeg));
    assert_eq!(Format::detect(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::WebP));
    assert_eq!(Format::detect(b"GIF89a...."), Some(Format::Gif));
    assert_eq!(Format::detect(b"GIF90a...."), None);
    assert_eq!(Format::detect(b"II*\0\x08\0\0\0"), Some(Format::Tiff));
    assert_eq!(Format::detect(b"MM\0\x2B\0\x08\0\0"), Some(Format::Tiff));
    let bmp = [&b"BM"[..], &[0; 12], &40u32.to_le_bytes()].concat();
    assert_eq!(Format::detect(&bmp), Some(Format::Bmp));
    // "BM" text is not a BMP: no known info header size, no zero reserved fields.
    assert_eq!(Format::detect(b"BMW 320i, 1987, low mileage"), None);
    for f in Format::ALL {
        assert_eq!(Format::of_content_type(f.content_type()), Some(f));
    }
}

#[test]
fn pixel_limit_refuses_before_decoding() {
    let err = probe(&jpeg(100, 50), 4999).unwrap_err();
    assert!(matches!(err, ImageError::TooLarge(_)), "{err:?}");
    assert_eq!(probe(&jpeg(100, 50), 5000).unwrap().width, 100);
}

#[test]
fn makes_bands_with_exact_sizes() {
    let out = process(&jpeg(1300, 700), &ImageSettings::default()).unwrap();
    let got: Vec<_> = out
        .variants
        .iter()
        .map(|v| (v.name, v.width, v.height))
        .collect();
    assert_eq!(
        got,
        [
            ("thumb", 400, 215),
            ("medium", 1200, 646),
            ("original", 1300, 700)
        ]
    );
    for v in &out.variants {
        let img = image::load_from_memory(&v.data).unwrap();
        assert_eq!(
            (img.width(), img.height()),
            (v.width, v.height),
            "{}",
            v.name
        );
    }
}

#[test]
fn jpeg_variants_keep_their_colours() {
    let img = image::RgbImage::from_fn(900, 500, |x, _| {
        if x < 450 {
            image::Rgb([220, 20, 20])
        } else {
            image::Rgb([20, 20, 220])
        }
    });
    let mut src = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut src, 95)
        .encode_image(&img)
        .unwrap();
    let out = process(&src, &ImageSettings::default()).unwrap();
    let thumb = image::load_from_memory(&out.variants[0].data)
        .unwrap()
        .to_rgb8();
    let (l, r) = (thumb.get_pixel(50, 100).0, thumb.get_pixel(350, 100).0);
    assert!(l[0] > 190 && l[1] < 50 && l[2] < 50, "left {l:?}");
    assert!(r[2] > 190 && r[0] < 50 && r[1] < 50, "right {r:?}");
}

#[test]
fn webp_chunks_must_fit_the_file() {
    let mut w = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\x08\0\0\0\0\0\0\0\0\0".to_vec();
    w.extend_from_slice(b"EXIF\x00\xff\xff\xff");
    let riff = (w.len() - 8) as u32;
    w[4..8].copy_from_slice(&riff.to_le_bytes());
    let err = process(&w, &ImageSettings::default()).unwrap_err();
    assert!(
        matches!(&err, ImageError::Invalid(m) if m.contains("past the end")),
        "{err:?}"
    );
    // Found by fuzzing; image-webp asked for ~4 GiB before this check.
    let found = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/fuzz/webp_chunk_claims_4gib.webp"
    ))
    .unwrap();
    assert!(matches!(
        process(&found, &ImageSettings::default()),
        Err(ImageError::Invalid(_))
    ));
}

#[test]
fn a_palette_not_made_of_rgb_triples_is_refused_by_name() {
    // Found by fuzzing (CRCs made valid): a 58-byte PLTE made the png crate panic.
    let found = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/fuzz/png_palette_of_58_bytes.png"
    ))
    .unwrap();
    let err = process(&found, &ImageSettings::default()).unwrap_err();
    assert!(
        matches!(&err, ImageError::Invalid(m) if m.contains("PNG palette of 58 bytes")),
        "{err:?}"
    );
    // A valid palette PNG still goes through.
    let ok = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/correctness/palette_900x600.png"
    ))
    .unwrap();
    assert!(process(&ok, &ImageSettings::default()).is_ok());
}

/// A 16×16 progressive 4:4:4 JPEG whose frame header then claims `w`×`h`.
fn progressive_claiming(w: u16, h: u16) -> Vec<u8> {
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    c.set_size(16, 16);
    c.set_chroma_sampling_pixel_sizes((1, 1), (1, 1));
    c.set_progressive_mode();
    let mut s = c.start_compress(Vec::new()).unwrap();
    s.write_scanlines(&[90u8; 16 * 16 * 3]).unwrap();
    let mut b = s.finish().unwrap();
    let sof = b.windows(2).position(|m| m == [0xFF, 0xC2]).unwrap();
    b[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    b[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    b
}

#[test]
fn progressive_jpeg_coefficients_are_budgeted_from_the_header() {
    // 16000² 4:4:4: 256 MP is under the pixel limit, but 1.5 GB of coefficients.
    let err = probe(&progressive_claiming(16000, 16000), 268_402_689).unwrap_err();
    assert!(
        matches!(&err, ImageError::TooLarge(m) if m.contains("coefficients")),
        "{err:?}"
    );
    let err = process(
        &progressive_claiming(16000, 16000),
        &ImageSettings::default(),
    );
    assert!(matches!(err, Err(ImageError::TooLarge(_))), "{err:?}");
    // 8000² needs 384 MB: allowed (and then fails on the missing data, not the budget).
    assert_eq!(
        probe(&progressive_claiming(8000, 8000), 268_402_689)
            .unwrap()
            .width,
        8000
    );
    let small = progressive_claiming(16, 16);
    assert_eq!(
        jpeg::open(&crate::image::codecs::source::Source::Downloaded(&small))
            .unwrap()
            .1
            .coefficient_bytes,
        Some(3 * 4 * 128)
    );
}

#[test]
fn webp_decodes_into_our_buffer_and_refuses_truncation() {
    let webp = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/webp_lossy_2600x1400.webp"
    ))
    .unwrap();
    let img = decode_webp(&webp).unwrap();
    assert_eq!((img.width(), img.height()), (2600, 1400));
    assert!(decode_webp(&webp[..webp.len() / 2]).is_none());
    assert!(matches!(
        process(&webp[..webp.len() / 2], &ImageSettings::default()),
        Err(ImageError::Invalid(_))
    ));
}

#[test]
fn lossy_webp_planes_resize_like_rgb() {
    // Odd sizes in and out: the chroma planes round up, and must stay on the luma grid.
    let (w, h) = (2601u32, 1403u32);
    let edges = |x: u32, y: u32| (x >= w - 40 || y >= h - 40, x < 1000, y < 700);
    let img = image::RgbImage::from_fn(w, h, |x, y| match edges(x, y) {
        (true, ..) => image::Rgb([200, 40, 200]),
        (_, true, true) => image::Rgb([220, 30, 30]),
        (_, false, true) => image::Rgb([30, 180, 40]),
        (_, true, false) => image::Rgb([40, 60, 220]),
        _ => image::Rgb([230, 210, 40]),
    });
    let webp = ::webp::Encoder::from_rgb(&img, w, h).encode(95.0).to_vec();
    let settings = ImageSettings {
        webp_quality: 100,
        ..ImageSettings::default()
    };
    let job = Encoder {
        format: crate::image::codecs::OutputFormat::WebP,
        lossy: true,
        icc: None,
        colour_chunks: &[],
        settings: &settings,
        premultiplied: false,
        palette: None,
    };
    let planes = Pixels::Yuv(decode_planes(&webp).unwrap());
    let rgb = Pixels::Image(decode_webp(&webp).unwrap());
    for (tw, th) in [(2400u32, 1295u32), (1200, 647), (401, 217)] {
        let t = Target {
            name: "large",
            width: tw,
            height: th,
        };
        let shown = |p: &Pixels| {
            let v = job
                .finish(&job.pixels(p, t.width, t.height).unwrap(), &t)
                .unwrap();
            image::load_from_memory(&v.data).unwrap().to_rgb8()
        };
        let (a, b) = (shown(&planes), shown(&rgb));
        assert_eq!(a.dimensions(), (tw, th));
        // Away from the colour edges (4 px), every pixel as from RGB and as drawn.
        let near = |v: u32, edge: u32, of: u32, to: u32| {
            (i64::from(v) - i64::from(edge * to / of)).abs() < 4
        };
        for (x, y, pa) in a.enumerate_pixels() {
            if near(x, 1000, w, tw)
                || near(x, w - 40, w, tw)
                || near(y, 700, h, th)
                || near(y, h - 40, h, th)
            {
                continue;
            }
            let pb = b.get_pixel(x, y);
            let drawn = img.get_pixel(x * w / tw, y * h / th);
            for c in 0..3 {
                assert!(
                    pa[c].abs_diff(pb[c]) <= 8 && pa[c].abs_diff(drawn[c]) <= 12,
                    "{tw}x{th} at ({x},{y}): planes {pa:?}, rgb {pb:?}, drawn {drawn:?}"
                );
            }
        }
    }
}

#[test]
fn garbage_is_unsupported_and_truncation_invalid() {
    assert!(matches!(
        process(b"hello world", &ImageSettings::default()),
        Err(ImageError::Unsupported(_))
    ));
    let mut j = jpeg(600, 400);
    j.truncate(300);
    assert!(matches!(
        process(&j, &ImageSettings::default()),
        Err(ImageError::Invalid(_))
    ));
}

#[test]
fn each_header_is_read_once_per_job() {
    let webp: &[&str] = &["riff chunks", "image-webp header"];
    for (file, parsers) in [
        ("jpeg_small_300x200.jpg", &["libjpeg"][..]),
        ("correctness/cmyk_adobe_inverted_600x400.jpg", &["libjpeg"]),
        ("correctness/orient_6_1300x900.jpg", &["libjpeg"]),
        (
            "correctness/palette_900x600.png",
            &["png chunks", "png decoder"],
        ),
        ("correctness/orient_6.png", &["png chunks", "png decoder"]),
        ("correctness/orient_6.webp", webp),
        ("correctness/webp_lossless_alpha_900x600.webp", webp),
        ("correctness/webp_animated_900x600.webp", webp),
    ] {
        let path = format!("{}/testdata/{file}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap();
        count::take();
        // As `job::run` does: probe, look at the probe, then process it.
        let opened = open(&bytes, DEFAULT_MAX_INPUT_PIXELS).unwrap();
        assert!(opened.probe.width > 0, "{file}");
        let out = process_opened(opened, &ImageSettings::default()).unwrap();
        assert!(!out.variants.is_empty(), "{file}");
        assert_eq!(count::take(), parsers, "{file}: header reads");
        // `process` is the same two steps.
        process(&bytes, &ImageSettings::default()).unwrap();
        assert_eq!(count::take(), parsers, "{file}: header reads");
    }
}
