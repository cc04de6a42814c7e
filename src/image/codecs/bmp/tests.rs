//! The BMP decoder on the fixtures of `testdata/formats/bmp/` (README.md there gives their
//! expected values), against `image`'s `bmp` codec where browsers and it agree, and on files
//! broken here one rule at a time.

use image::{ColorType, DynamicImage, GenericImageView};

use super::*;
use crate::image::codecs::gif::tests::{assert_refusal, fixture_of, sized};

fn fixture(name: &str) -> Vec<u8> {
    fixture_of("bmp", name)
}

const LIMIT: u64 = crate::image::DEFAULT_MAX_INPUT_PIXELS;

fn decoded(bytes: &[u8]) -> (DynamicImage, Header) {
    sized(open(bytes, LIMIT), Decoder::decode)
}

const RED: [u8; 3] = [230, 25, 75];
const GREEN: [u8; 3] = [60, 180, 75];
const BLUE: [u8; 3] = [0, 130, 200];
const YELLOW: [u8; 3] = [255, 225, 25];
const MAGENTA: [u8; 3] = [240, 50, 230];

fn rgba(image: &DynamicImage, x: u32, y: u32) -> [u8; 4] {
    image.get_pixel(x, y).0
}

fn opaque([r, g, b]: [u8; 3]) -> [u8; 4] {
    [r, g, b, 255]
}

/// The four quadrants (top-left, top-right, bottom-left, bottom-right) and their colours.
#[track_caller]
fn quadrants(image: &DynamicImage, colours: [[u8; 3]; 4]) {
    let (w, h) = (image.width(), image.height());
    let points = [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)];
    for ((x, y), colour) in points.into_iter().zip(colours) {
        assert_eq!(rgba(image, x, y), opaque(colour), "({x}, {y})");
    }
}

/// `image`'s own `bmp` codec, as a second decoder where it agrees with browsers.
fn image_rs(bytes: &[u8]) -> DynamicImage {
    image::load_from_memory_with_format(bytes, image::ImageFormat::Bmp).expect("image-rs decodes")
}

#[test]
fn one_bit_black_and_white_is_gray() {
    let bytes = fixture("pal1_37x21.bmp");
    let (image, header) = decoded(&bytes);
    assert_eq!(
        (header.bit_depth, header.colour_model, header.alpha),
        (1, ColourModel::Indexed, false)
    );
    assert_eq!(image.color(), ColorType::L8);
    let gray = image.to_luma8();
    for (x, y, px) in gray.enumerate_pixels() {
        let white = (x / 3 + y / 7) % 2 == 1;
        assert_eq!(px.0[0], if white { 255 } else { 0 }, "({x}, {y})");
    }
    assert_eq!(gray, image_rs(&bytes).to_luma8());
}

#[test]
fn rle4_and_rle8_without_skips_are_opaque() {
    let bytes = fixture("pal4_rle_33x20.bmp");
    let (image, header) = decoded(&bytes);
    assert_eq!(
        (header.bit_depth, header.alpha, image.color()),
        (4, false, ColorType::Rgb8)
    );
    quadrants(&image, [RED, GREEN, BLUE, YELLOW]);
    assert_eq!(rgba(&image, 5, 10), opaque(MAGENTA));
    assert_eq!(image.to_rgb8(), image_rs(&bytes).to_rgb8());

    let bytes = fixture("pal8_rle_40x30.bmp");
    let (image, header) = decoded(&bytes);
    assert_eq!((header.bit_depth, header.alpha), (8, false));
    quadrants(&image, [RED, GREEN, BLUE, YELLOW]);
    assert_eq!(rgba(&image, 8, 0), [255, 255, 255, 255]);
    assert_eq!(image.to_rgb8(), image_rs(&bytes).to_rgb8());
    assert!(header.warnings.is_empty(), "{:?}", header.warnings);
}

#[test]
fn pixels_rle_skips_are_transparent_as_in_browsers() {
    let (image, header) = decoded(&fixture("pal8_rle_delta_40x30.bmp"));
    assert!(header.alpha);
    assert_eq!(
        (header.colour_model, image.color()),
        (ColourModel::Indexed, ColorType::Rgba8)
    );
    let clear = [0, 0, 0, 0];
    // Stored row 5 (shown row 24) ends after 10 pixels.
    assert_eq!(rgba(&image, 6, 24), opaque(BLUE));
    assert_eq!(rgba(&image, 10, 24), clear);
    // Stored row 10 (shown row 19) skips x = 10..30.
    assert_eq!(rgba(&image, 6, 19), opaque(BLUE));
    assert_eq!(rgba(&image, 10, 19), clear);
    assert_eq!(rgba(&image, 29, 19), clear);
    assert_eq!(rgba(&image, 30, 19), opaque(YELLOW));
    // The data ends after stored row 27: shown rows 0 and 1 are skipped.
    assert_eq!(rgba(&image, 0, 1), clear);
    assert_eq!(rgba(&image, 0, 2), opaque(RED));
}

#[test]
fn twenty_four_bits_bottom_up_and_top_down() {
    for name in ["rgb24_31x17.bmp", "rgb24_topdown_24x12.bmp"] {
        let bytes = fixture(name);
        let (image, header) = decoded(&bytes);
        assert_eq!(
            (
                header.bit_depth,
                header.colour_model,
                header.alpha,
                image.color()
            ),
            (8, ColourModel::Rgb, false, ColorType::Rgb8),
            "{name}"
        );
        quadrants(&image, [RED, GREEN, BLUE, YELLOW]);
        assert_eq!(image.to_rgb8(), image_rs(&bytes).to_rgb8(), "{name}");
    }
}

#[test]
fn a_v5_alpha_mask_is_shown_and_an_all_zero_alpha_is_opaque() {
    let bytes = fixture("rgba32_v5_32x16.bmp");
    let (image, header) = decoded(&bytes);
    assert_eq!(
        (header.colour_model, header.alpha),
        (ColourModel::Rgba, true)
    );
    assert_eq!(image.color(), ColorType::Rgba8);
    let [r, g, b] = RED;
    assert_eq!(rgba(&image, 0, 0), [r, g, b, 0]);
    assert_eq!(rgba(&image, 8, 0), [r, g, b, 128]);
    assert_eq!(rgba(&image, 31, 15), opaque(YELLOW));
    assert_eq!(image.to_rgba8(), image_rs(&bytes).to_rgba8());

    let (image, header) = decoded(&fixture("rgb32_zero_alpha_v5_32x16.bmp"));
    assert_eq!(
        (header.colour_model, header.alpha),
        (ColourModel::Rgb, false)
    );
    assert_eq!(image.color(), ColorType::Rgb8);
    quadrants(&image, [RED, GREEN, BLUE, YELLOW]);
}

#[test]
fn the_fourth_byte_of_a_32_bit_v3_bmp_is_ignored() {
    let (image, header) = decoded(&fixture("rgb32_v3_fourth_byte_16x8.bmp"));
    assert!(!header.alpha);
    assert_eq!(image.color(), ColorType::Rgb8);
    quadrants(&image, [RED, GREEN, BLUE, YELLOW]);
}

#[test]
fn sixteen_bits_565_scale_as_chromium_scales_them() {
    let bytes = fixture("rgb16_565_30x20.bmp");
    let (image, header) = decoded(&bytes);
    assert_eq!((header.bit_depth, header.alpha), (6, false));
    quadrants(
        &image,
        [[255, 0, 0], [0, 255, 0], [0, 0, 255], [132, 130, 132]],
    );
    // image-rs rounds the same way; Pillow truncates (131, 129, 131): within 1.
    assert_eq!(image.to_rgb8(), image_rs(&bytes).to_rgb8());
}

#[test]
fn an_embedded_profile_is_read_and_a_linked_one_ignored_with_a_warning() {
    let bytes = fixture("icc_embedded_v5_16x8.bmp");
    let (image, header) = decoded(&bytes);
    let icc = header.icc.expect("the embedded profile");
    assert_eq!(icc.len(), 588);
    assert_eq!(&icc[36..40], b"acsp");
    assert_eq!(icc[..], bytes[bytes.len() - 588..]);
    assert!(header.warnings.is_empty());
    quadrants(&image, [RED, GREEN, BLUE, YELLOW]);

    let (_, header) = decoded(&fixture("icc_linked_v5_16x8.bmp"));
    assert_eq!(header.icc, None);
    assert_eq!(
        header.warnings,
        ["the BMP links to an ICC profile by file name: ignored, as browsers ignore it"]
    );
}

#[test]
fn an_os2_core_header_with_a_three_byte_palette() {
    let (image, header) = decoded(&fixture("pal8_os2_core_12x6.bmp"));
    assert_eq!((header.width, header.height, header.bit_depth), (12, 6, 8));
    quadrants(&image, [GREEN, MAGENTA, GREEN, MAGENTA]);
}

/// One fixture of each coding.
const CODINGS: [&str; 8] = [
    "pal1_37x21.bmp",
    "pal4_rle_33x20.bmp",
    "pal8_rle_delta_40x30.bmp",
    "rgb24_31x17.bmp",
    "rgba32_v5_32x16.bmp",
    "rgb16_565_30x20.bmp",
    "icc_embedded_v5_16x8.bmp",
    "pal8_os2_core_12x6.bmp",
];

#[test]
fn rows_read_in_batches_equal_the_whole_image() {
    for name in CODINGS {
        let bytes = fixture(name);
        let whole = decoded(&bytes).0.into_bytes();
        let (mut decoder, header) = open(&bytes, LIMIT).unwrap();
        let stride = header.width as usize * usize::from(decoder.layout().channel_count());
        let mut rows = Vec::new();
        for n in [1, 2, 3, 4, 5, 6, 7].iter().cycle() {
            let n = (*n).min((whole.len() - rows.len()) / stride);
            if n == 0 {
                break;
            }
            let mut buf = vec![0; n * stride];
            decoder.read(&mut buf).unwrap();
            rows.extend_from_slice(&buf);
        }
        assert_eq!(rows, whole, "{name}");
        assert!(matches!(
            decoder.read(&mut vec![0; stride]),
            Err(ImageError::Internal(_))
        ));
    }
}

fn refused(bytes: &[u8], max_pixels: u64) -> ImageError {
    open(bytes, max_pixels)
        .and_then(|(d, _)| d.decode())
        .expect_err("refused")
}

#[track_caller]
fn invalid_naming(bytes: &[u8], words: &str) {
    assert_refusal(refused(bytes, LIMIT), true, words);
}

#[track_caller]
fn unsupported_naming(bytes: &[u8], words: &str) {
    assert_refusal(refused(bytes, LIMIT), false, words);
}

fn with(bytes: &[u8], at: usize, value: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at..at + value.len()].copy_from_slice(value);
    out
}

#[test]
fn refusals_name_the_problem() {
    let rgb = fixture("rgb24_31x17.bmp");
    invalid_naming(&rgb[..16], "file header");
    invalid_naming(
        &with(&rgb, 14, &200u32.to_le_bytes()),
        "info header of 200 bytes",
    );
    invalid_naming(&rgb[..40], "info header cut short");
    invalid_naming(
        &with(&rgb, 10, &20u32.to_le_bytes()),
        "inside the 40-byte info header",
    );
    invalid_naming(&with(&rgb, 18, &0u32.to_le_bytes()), "of 0x17 pixels");
    invalid_naming(
        &with(&rgb, 28, &7u16.to_le_bytes()),
        "compression 0 and 7 bits",
    );
    invalid_naming(&rgb[..rgb.len() - 100], "pixel data cut short");
    // The last row's padding may be missing.
    assert!(open(&rgb[..rgb.len() - 3], LIMIT).is_ok());
    invalid_naming(
        &with(&rgb, 30, &4u32.to_le_bytes()),
        "compression 4 and 24 bits",
    );
    let mut jpeg = with(&rgb, 30, &4u32.to_le_bytes());
    jpeg[28] = 0;
    unsupported_naming(&jpeg, "embedded JPEG");
    unsupported_naming(&with(&rgb, 30, &12u32.to_le_bytes()), "CMYK");
    unsupported_naming(
        &with(&rgb, 18, &70_000u32.to_le_bytes()),
        "65,535 pixels a side",
    );

    let masks = fixture("rgb16_565_30x20.bmp");
    invalid_naming(
        &with(&masks, 54, &0xF00Fu32.to_le_bytes()),
        "not contiguous",
    );
    invalid_naming(
        &with(&masks, 58, &0xF800u32.to_le_bytes()),
        "overlaps another",
    );

    let pal = fixture("pal1_37x21.bmp");
    invalid_naming(&pal[..60], "colour table cut short");

    let rle = fixture("pal8_rle_40x30.bmp");
    invalid_naming(&rle[..rle.len() - 40], "cut short at row");
    // The end-of-bitmap marker after the last row may be missing.
    let (_, header) = decoded(&rle[..rle.len() - 2]);
    assert_eq!(
        header.warnings,
        ["the BMP's run-length data ends without its end-of-bitmap marker"]
    );
    // Codes after the last row's end-of-line.
    let extra = [&rle[..rle.len() - 2], &[0, 0, 0, 1][..]].concat();
    invalid_naming(&extra, "goes on after the last row");
}

#[test]
fn a_pixel_data_offset_inside_the_colour_table_cuts_it_with_a_warning() {
    let pal = fixture("pal1_37x21.bmp");
    assert_eq!(u32::from_le_bytes(pal[10..14].try_into().unwrap()), 62);
    let (_, header) = decoded(&with(&pal, 10, &58u32.to_le_bytes()));
    assert_eq!(
        header.warnings,
        [
            "the BMP's pixel data starts inside its colour table: 1 of 2 colours read (as \
          Chromium reads them; indices past them show black)"
        ]
    );
}

#[test]
fn rle_runs_past_the_row_are_cut_and_absolute_runs_or_deltas_past_it_refused() {
    let rle = fixture("pal8_rle_40x30.bmp");
    let data = u32::from_le_bytes(rle[10..14].try_into().unwrap()) as usize;
    // An encoded run of 255 pixels, then end of line, for every row: cut at 40.
    let rows: Vec<u8> = (0..30).flat_map(|_| [255, 1, 0, 0]).chain([0, 1]).collect();
    let long = [&rle[..data], &rows[..]].concat();
    let (image, _) = decoded(&long);
    assert!(image.to_rgb8().pixels().all(|p| p.0 == GREEN));
    let absolute = [&rle[..data], &[30, 1, 0, 12][..], &[3; 12][..], &[0, 1][..]].concat();
    invalid_naming(&absolute, "past its end");
    let delta = [&rle[..data], &[0, 2, 41, 0, 0, 1][..]].concat();
    invalid_naming(&delta, "moves past the image");
}

#[test]
fn the_size_is_checked_against_max_pixels_from_the_header() {
    let rgb = fixture("rgb24_31x17.bmp");
    match refused(&rgb, 31 * 17 - 1) {
        ImageError::TooLarge(m) => {
            assert_eq!(m, "31x17 is 527 pixels, over MAX_INPUT_PIXELS (526)")
        }
        other => panic!("{other:?}"),
    }
    // An RLE bomb: 65,000 x 65,000 declared, a few bytes of data, refused before any walk.
    let rle = fixture("pal8_rle_40x30.bmp");
    let bomb = with(
        &with(&rle, 18, &65_000u32.to_le_bytes()),
        22,
        &65_000u32.to_le_bytes(),
    );
    assert!(
        matches!(refused(&bomb, LIMIT), ImageError::TooLarge(m) if m.starts_with("65000x65000"))
    );
}

#[test]
fn detected_by_signature_and_header_size() {
    assert!(detect(&fixture("rgb24_31x17.bmp")));
    assert!(detect(&fixture("pal8_os2_core_12x6.bmp")));
    assert!(!detect(
        b"BM is not a bitmap, just text that starts like one"
    ));
    assert!(!detect(b"BM"));
}

#[test]
fn an_unknown_info_header_size_is_a_bmp_by_its_file_header_and_refused_naming_it() {
    let bad = fixture("bad_header_size_66.bmp");
    assert_eq!(u32::from_le_bytes(bad[14..18].try_into().unwrap()), 66);
    assert!(detect(&bad));
    assert_eq!(
        crate::image::codecs::Format::detect(&bad),
        Some(crate::image::codecs::Format::Bmp)
    );
    match refused(&bad, LIMIT) {
        ImageError::Invalid(m) => assert_eq!(m, "cannot decode: BMP info header of 66 bytes"),
        other => panic!("{other:?}"),
    }
    // The declared file size may be 0 (the real length then bounds the offset).
    assert!(detect(&with(&bad, 2, &[0; 4])));
    // Not a sound file header: reserved fields not zero, a pixel-data offset inside the
    // file header or past the file's end.
    assert!(!detect(&with(&bad, 6, b"ab")));
    assert!(!detect(&with(&bad, 10, &17u32.to_le_bytes())));
    assert!(!detect(&with(&bad, 10, &465u32.to_le_bytes())));
    let zero_size = with(&with(&bad, 2, &[0; 4]), 10, &465u32.to_le_bytes());
    assert!(!detect(&zero_size), "past the real length of 464 bytes");
    // Text that starts with "BM" has no NUL bytes where the reserved fields are.
    let text = b"BMP is a format; this line has 66 as its 15th byte: B........";
    assert!(!detect(text));
}

/// Truncations at every length and byte flips of each fixture: no panic.
#[test]
fn fuzzed_inputs_never_panic() {
    let mut rng = fastrand::Rng::with_seed(28);
    let (mut inputs, mut decoded) = (0, 0);
    for name in CODINGS {
        let bytes = fixture(name);
        let mut cases: Vec<Vec<u8>> = (0..bytes.len()).map(|n| bytes[..n].to_vec()).collect();
        for _ in 0..500 {
            let mut flipped = bytes.clone();
            for _ in 0..rng.usize(1..4) {
                let at = rng.usize(..flipped.len().min(200));
                flipped[at] ^= 1 << rng.u8(..8);
            }
            cases.push(flipped);
        }
        for case in &cases {
            if let Ok((decoder, _)) = open(case, LIMIT) {
                decoded += usize::from(decoder.decode().is_ok());
            }
        }
        inputs += cases.len();
    }
    eprintln!("{inputs} fuzzed BMP inputs, {decoded} decoded");
}
