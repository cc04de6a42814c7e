//! The GIF decoder on the fixtures of `testdata/formats/gif/` (README.md there gives their
//! expected values) and on files made here to break one rule each.

use image::{ColorType, DynamicImage, GenericImageView};

use super::*;

pub(super) fn fixture(name: &str) -> Vec<u8> {
    fixture_of("gif", name)
}

/// A file of `testdata/formats/<format>/`. Shared with the BMP tests.
pub(crate) fn fixture_of(format: &str, name: &str) -> Vec<u8> {
    let path = format!(
        "{}/testdata/formats/{format}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const LIMIT: u64 = crate::image::DEFAULT_MAX_INPUT_PIXELS;

fn decoded(bytes: &[u8]) -> (DynamicImage, Header) {
    sized(open(bytes, LIMIT), Decoder::decode)
}

/// The image an opened decoder decodes, with its header; the image's size checked against the
/// header's. Shared with the BMP tests.
#[track_caller]
pub(crate) fn sized<D>(
    opened: Result<(D, Header), ImageError>,
    decode: impl FnOnce(D) -> Result<DynamicImage, ImageError>,
) -> (DynamicImage, Header) {
    let (decoder, header) = opened.expect("opens");
    let image = decode(decoder).expect("decodes");
    let size = (image.width(), image.height());
    assert_eq!(size, (header.width, header.height));
    (image, header)
}

fn rgba(image: &DynamicImage, x: u32, y: u32) -> [u8; 4] {
    image.get_pixel(x, y).0
}

/// A frame for `encoded`: left, top, width, height, indices, transparent index.
pub(super) type TestFrame = (u16, u16, u16, u16, Vec<u8>, Option<u8>);

/// A GIF written by the `gif` crate's encoder: `screen` and global `palette`, then `frames`.
pub(super) fn encoded(screen: (u16, u16), palette: &[u8], frames: &[TestFrame]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = ::gif::Encoder::new(&mut out, screen.0, screen.1, palette).unwrap();
        for (left, top, width, height, indices, transparent) in frames {
            let mut frame =
                ::gif::Frame::from_indexed_pixels(*width, *height, indices.clone(), *transparent);
            frame.left = *left;
            frame.top = *top;
            encoder.write_frame(&frame).unwrap();
        }
    }
    out
}

/// A one-frame GIF written by the `gif` crate's encoder.
pub(super) fn single(screen: (u16, u16), palette: &[u8], frame: TestFrame) -> Vec<u8> {
    encoded(screen, palette, &[frame])
}

const RED: [u8; 3] = [230, 25, 75];
const GREEN: [u8; 3] = [60, 180, 75];
const BLUE: [u8; 3] = [0, 130, 200];
const WHITE: [u8; 3] = [255, 255, 255];

#[test]
fn still_quadrants_exact_and_opaque_though_a_transparent_index_is_declared() {
    let (image, header) = decoded(&fixture("still_64x48.gif"));
    assert_eq!(
        header,
        Header {
            width: 64,
            height: 48,
            orientation: 1,
            coded: (64, 48),
            turned_by_decoder: 1,
            icc: None,
            in_srgb: false,
            bit_depth: 3,
            colour_model: ColourModel::Indexed,
            alpha: false,
            frames: 1,
            pages: 1,
            warnings: vec![],
        }
    );
    assert_eq!(image.color(), ColorType::Rgb8);
    let rgb = image.to_rgb8();
    for (x, y, want) in [(5, 5, RED), (40, 5, GREEN), (5, 40, BLUE), (63, 47, WHITE)] {
        assert_eq!(rgb.get_pixel(x, y).0, want, "({x}, {y})");
    }
}

#[test]
fn animated_first_frame_on_a_transparent_canvas_as_browsers_show_it() {
    let (image, header) = decoded(&fixture("animated_3_frames_64x48.gif"));
    assert_eq!((header.width, header.height, header.frames), (64, 48, 3));
    assert!(header.alpha);
    assert_eq!(
        header.warnings,
        vec!["the GIF's ICC profile (ICCRGBG1012 extension) is ignored, as browsers ignore it"]
    );
    assert_eq!(image.color(), ColorType::Rgba8);
    let clear = [0, 0, 0, 0];
    // Outside the 32x24 frame at (16, 12): transparent, not the background colour (white).
    for (x, y) in [(0, 0), (15, 11), (48, 12), (16, 36), (63, 47)] {
        assert_eq!(rgba(&image, x, y), clear, "({x}, {y})");
    }
    let [r, g, b] = RED;
    assert_eq!(rgba(&image, 16, 12), [r, g, b, 255]);
    let [r, g, b] = BLUE;
    assert_eq!(rgba(&image, 47, 35), [r, g, b, 255]);
    // The frame's transparent hole at frame (14..18, 10..14).
    assert_eq!(rgba(&image, 30, 22), clear);
    assert_eq!(rgba(&image, 33, 25), clear);
    assert_eq!(rgba(&image, 34, 26)[3], 255);
}

#[test]
fn interlaced_rows_come_out_in_order() {
    let (image, header) = decoded(&fixture("interlaced_40x37.gif"));
    assert_eq!((header.width, header.height, header.alpha), (40, 37, false));
    assert_eq!(header.bit_depth, 4);
    let rgb = image.to_rgb8();
    for (x, y, px) in rgb.enumerate_pixels() {
        let i = ((y + x / 10) % 16) as u8;
        let want = [i * 16, 255 - i * 16, i.wrapping_mul(37)];
        assert_eq!(px.0, want, "({x}, {y})");
    }
}

#[test]
fn a_gray_table_decodes_to_gray() {
    let (image, header) = decoded(&fixture("bilevel_48x32.gif"));
    assert_eq!(
        (header.bit_depth, header.colour_model),
        (1, ColourModel::Indexed)
    );
    assert_eq!(image.color(), ColorType::L8);
    let gray = image.to_luma8();
    assert_eq!(gray.get_pixel(0, 0).0, [0]);
    assert_eq!(gray.get_pixel(8, 0).0, [255]);
    assert_eq!(gray.get_pixel(8, 8).0, [0]);
}

#[test]
fn rows_read_in_any_batches_equal_the_whole_image() {
    for name in [
        "still_64x48.gif",
        "animated_3_frames_64x48.gif",
        "interlaced_40x37.gif",
        "bilevel_48x32.gif",
    ] {
        let bytes = fixture(name);
        let whole = decoded(&bytes).0.into_bytes();
        let (mut decoder, header) = open(&bytes, LIMIT).unwrap();
        let stride = header.width as usize * usize::from(decoder.layout().channel_count());
        let mut rows = Vec::new();
        let mut batch = 1;
        while rows.len() < whole.len() {
            let n = batch.min((whole.len() - rows.len()) / stride);
            let mut buf = vec![0; n * stride];
            decoder.read(&mut buf).unwrap();
            rows.extend_from_slice(&buf);
            batch += 2;
        }
        assert_eq!(rows, whole, "{name}");
        let past = decoder.read(&mut vec![0; stride]).unwrap_err();
        assert!(matches!(past, ImageError::Internal(_)), "{name}: {past:?}");
    }
}

#[test]
fn a_frame_sticking_out_of_the_screen_enlarges_the_canvas() {
    let gif = single(
        (4, 4),
        &[9, 9, 9, 200, 0, 0],
        (3, 2, 5, 3, vec![1; 15], None),
    );
    let (image, header) = decoded(&gif);
    assert_eq!((header.width, header.height, header.alpha), (8, 5, true));
    assert_eq!(rgba(&image, 0, 0), [0, 0, 0, 0]);
    assert_eq!(rgba(&image, 7, 4), [200, 0, 0, 255]);
}

#[test]
fn an_empty_screen_takes_the_first_frame_size() {
    let gif = single(
        (0, 0),
        &[0, 0, 0, 10, 20, 30],
        (0, 0, 3, 2, vec![1; 6], None),
    );
    let (image, header) = decoded(&gif);
    assert_eq!((header.width, header.height, header.alpha), (3, 2, false));
    assert_eq!(image.to_rgb8().get_pixel(2, 1).0, [10, 20, 30]);
}

#[test]
fn indices_past_the_table_are_opaque_black_and_a_missing_table_is_black_with_a_warning() {
    // A 2-colour table; index 5 is past it, index 3 is the transparent one (past it too).
    let gif = single(
        (3, 1),
        &[50, 60, 70, 80, 90, 100],
        (0, 0, 3, 1, vec![1, 5, 3], Some(3)),
    );
    let (image, _) = decoded(&gif);
    assert_eq!(rgba(&image, 0, 0), [80, 90, 100, 255]);
    assert_eq!(rgba(&image, 1, 0), [0, 0, 0, 255]);
    assert_eq!(rgba(&image, 2, 0), [0, 0, 0, 0]);

    let mut none = single(
        (2, 1),
        &[50, 60, 70, 80, 90, 100],
        (0, 0, 2, 1, vec![1, 0], None),
    );
    none[10] &= 0x7F; // the screen descriptor says: no global table
    none.drain(13..19);
    let (image, header) = decoded(&none);
    assert_eq!(image.color(), ColorType::L8);
    assert_eq!(image.to_luma8().into_raw(), vec![0, 0]);
    assert!(
        header.warnings[0].contains("no colour table"),
        "{:?}",
        header.warnings
    );
}

#[test]
fn an_empty_first_frame_gives_a_transparent_canvas_with_a_warning() {
    let gif = single(
        (3, 2),
        &[0, 0, 0, 255, 255, 255],
        (1, 1, 0, 0, vec![], None),
    );
    let (image, header) = decoded(&gif);
    assert!(header.alpha);
    assert!(image.to_rgba8().pixels().all(|p| p.0 == [0, 0, 0, 0]));
    assert!(
        header.warnings[0].contains("first frame is empty"),
        "{:?}",
        header.warnings
    );
}

fn refused(bytes: &[u8], max_pixels: u64) -> ImageError {
    open(bytes, max_pixels)
        .and_then(|(d, _)| d.decode())
        .expect_err("refused")
}

/// Asserts that `error` is `Invalid` (or `Unsupported` when `invalid` is false) and that its
/// message names `words`. Shared with the BMP tests.
#[track_caller]
pub(crate) fn assert_refusal(error: ImageError, invalid: bool, words: &str) {
    match (&error, invalid) {
        (ImageError::Invalid(m), true) | (ImageError::Unsupported(m), false) => {
            assert!(m.contains(words), "{m:?} should name {words:?}")
        }
        _ => panic!("{error:?} is not the refusal naming {words:?}"),
    }
}

#[track_caller]
fn invalid_naming(bytes: &[u8], words: &str) {
    assert_refusal(refused(bytes, LIMIT), true, words);
}

#[test]
fn refusals_name_the_problem() {
    let still = fixture("still_64x48.gif");
    let mut bad = still.clone();
    bad[4] = b'8';
    invalid_naming(&bad, "not a GIF87a or GIF89a");
    invalid_naming(&still[..10], "logical screen descriptor");
    invalid_naming(&still[..20], "global colour table");
    // The screen, then the trailer.
    let header_only = [&still[..37], b";"].concat();
    invalid_naming(&header_only, "without an image");
    let unknown = [&still[..37], &[0x99, 0, 0][..]].concat();
    invalid_naming(&unknown, "0x99");
    let mut control = still.clone();
    control[39] = 5; // the graphic control extension's block size
    invalid_naming(&control, "graphic control extension");
    // Cut inside the image data: the rows that are missing are named.
    invalid_naming(&still[..still.len() - 30], "first frame");

    let mut nine = still.clone();
    let code_at = 37 + 8 + 10;
    assert_eq!(nine[code_at], 8, "Pillow writes LZW minimum code size 8");
    nine[code_at] = 12;
    invalid_naming(&nine, "minimum code size 12");
    nine[code_at] = 0;
    assert_refusal(refused(&nine, LIMIT), false, "size 0");
}

/// The first image block of a GIF.
fn first_image(gif: &[u8]) -> blocks::Image {
    let screen = blocks::screen(gif).unwrap();
    blocks::Blocks::new(gif, &screen)
        .find_map(|b| match b {
            blocks::Block::Image(image) => Some(image),
            _ => None,
        })
        .unwrap()
}

#[test]
fn code_sizes_9_to_11_decode_with_a_warning_as_firefox_and_pillow_show_them() {
    // A 1x1 frame whose LZW data at minimum code size 9 is clear (512), index 1 and end (513),
    // in 10-bit codes.
    let mut gif = single((1, 1), &[0, 0, 0, 9, 8, 7], (0, 0, 1, 1, vec![1], None));
    let image = first_image(&gif);
    let codes: u32 = 512 | (1 << 10) | (513 << 20);
    let data = [&[9, 4][..], &codes.to_le_bytes(), &[0, 0x3B]].concat();
    gif.splice(image.data - 1.., data);
    let (image, header) = decoded(&gif);
    assert_eq!(image.to_rgb8().into_raw(), [9, 8, 7]);
    assert!(
        header.warnings[0].contains("minimum code size 9"),
        "{:?}",
        header.warnings
    );
}

#[test]
fn the_canvas_is_checked_against_max_pixels_before_decoding() {
    let mut huge = fixture("still_64x48.gif");
    huge[6..10].copy_from_slice(&[0xFF; 4]);
    match refused(&huge, LIMIT) {
        ImageError::TooLarge(m) => assert_eq!(
            m,
            format!("65535x65535 is 4294836225 pixels, over MAX_INPUT_PIXELS ({LIMIT})")
        ),
        other => panic!("{other:?}"),
    }
    // A frame placed far out enlarges the canvas past the limit too.
    let far = single((2, 2), &[0; 6], (60000, 60000, 1, 1, vec![0], None));
    assert!(
        matches!(refused(&far, LIMIT), ImageError::TooLarge(m) if m.starts_with("60001x60001"))
    );
    assert!(matches!(
        refused(&fixture("still_64x48.gif"), 64 * 48 - 1),
        ImageError::TooLarge(_)
    ));
}

#[test]
fn a_truncated_bomb_is_refused_after_the_rows_it_has() {
    // 3000x3000 of index 0 compresses to a few KB; cut it in half.
    let gif = single(
        (3000, 3000),
        &[0; 6],
        (0, 0, 3000, 3000, vec![0; 9_000_000], None),
    );
    assert!(gif.len() < 40_000, "{} bytes", gif.len());
    invalid_naming(&gif[..gif.len() / 2], "first frame");
    assert!(matches!(
        refused(&gif, 2_999 * 3000),
        ImageError::TooLarge(_)
    ));
}

#[test]
fn complete_pixels_without_the_block_terminator_and_trailer_decode_with_a_warning() {
    let still = fixture("still_64x48.gif");
    let (image, header) = decoded(&still[..still.len() - 2]);
    assert_eq!(image.to_rgb8().get_pixel(63, 47).0, WHITE);
    assert_eq!(header.warnings, vec!["the GIF ends without its trailer"]);
}

#[test]
fn frames_are_counted_after_the_first_and_stop_where_browsers_stop() {
    let frame = |i: u8| (0, 0, 1, 1, vec![i % 2], None);
    let five = encoded(
        (1, 1),
        &[0, 0, 0, 255, 255, 255],
        &(0..5).map(frame).collect::<Vec<_>>(),
    );
    assert_eq!(open(&five, LIMIT).unwrap().1.frames, 5);
    // An unknown byte after the second frame: browsers show two.
    let second_end = {
        let screen = blocks::screen(&five).unwrap();
        let mut ends = blocks::Blocks::new(&five, &screen).filter_map(|b| match b {
            blocks::Block::Image(image) => Some(image.span.end),
            _ => None,
        });
        ends.nth(1).unwrap()
    };
    let cut = [&five[..second_end], &[0x00, 0x2C][..], &five[second_end..]].concat();
    let header = open(&cut, LIMIT).unwrap().1;
    assert_eq!(header.frames, 2);
    assert!(
        header.warnings[0].starts_with("byte 0x00 at offset"),
        "{:?}",
        header.warnings
    );
}

#[test]
fn a_million_one_pixel_frames_are_counted_up_to_the_cap_in_one_pass() {
    let many = many_frames(FRAME_COUNT_CAP as usize + 3);
    let started = std::time::Instant::now();
    let header = open(&many, LIMIT).unwrap().1;
    eprintln!(
        "{} frames ({} bytes) walked in {:?}",
        header.frames,
        many.len(),
        started.elapsed()
    );
    assert_eq!(header.frames, FRAME_COUNT_CAP);
    assert_eq!(
        header.warnings,
        vec![format!(
            "the GIF has more than {FRAME_COUNT_CAP} frames; counted no further"
        )]
    );
}

/// A 1x1 GIF of `n` frames, each a graphic control extension and a one-pixel image.
pub(super) fn many_frames(n: usize) -> Vec<u8> {
    let one = single(
        (1, 1),
        &[0, 0, 0, 255, 255, 255],
        (0, 0, 1, 1, vec![1], None),
    );
    let screen = blocks::screen(&one).unwrap();
    let frame = &one[screen.end..one.len() - 1];
    let mut out = one[..screen.end].to_vec();
    out.reserve(frame.len() * n + 1);
    for _ in 0..n {
        out.extend_from_slice(frame);
    }
    out.push(0x3B);
    out
}

/// Truncations at every length and byte flips of the animated fixture: no panic, and every
/// `original` is a GIF whose blocks end with the trailer.
#[test]
fn fuzzed_inputs_never_panic() {
    let animated = fixture("animated_3_frames_64x48.gif");
    let mut inputs: Vec<Vec<u8>> = (0..animated.len())
        .map(|n| animated[..n].to_vec())
        .collect();
    let mut rng = fastrand::Rng::with_seed(28);
    for _ in 0..3000 {
        let mut flipped = animated.clone();
        for _ in 0..rng.usize(1..4) {
            let at = rng.usize(..flipped.len());
            flipped[at] ^= 1 << rng.u8(..8);
        }
        inputs.push(flipped);
    }
    let mut decoded = 0;
    for input in &inputs {
        if let Ok((decoder, _)) = open(input, LIMIT) {
            decoded += usize::from(decoder.decode().is_ok());
        }
        let mut warnings = Vec::new();
        let original = strip(input, &mut warnings);
        if blocks::screen(input).is_ok() {
            let screen = blocks::screen(&original).unwrap();
            let last = blocks::Blocks::new(&original, &screen).last();
            assert!(matches!(last, Some(blocks::Block::Trailer(at)) if at + 1 == original.len()));
        }
    }
    eprintln!("{} fuzzed inputs, {decoded} decoded", inputs.len());
}

#[test]
fn detected_by_signature() {
    assert!(detect(b"GIF87a...."));
    assert!(detect(&fixture("still_64x48.gif")));
    assert!(!detect(b"GIF88a"));
    assert!(!detect(b"GIF8"));
    assert!(!detect(b"\x89PNG\r\n\x1a\n"));
}
