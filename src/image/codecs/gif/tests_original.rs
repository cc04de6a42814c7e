//! The GIF `original`: what `strip` keeps (its blocks walked), that every frame decodes the
//! same in the `gif` crate, and what it drops or repairs.

use super::blocks::{Block, Blocks};
use super::tests::{encoded, fixture, many_frames, single};
use super::*;

/// The blocks of a GIF, each as (kind, its bytes); kinds: "looping", "control", "image",
/// "comment", "plain text", "application", "trailer", "end", "unknown".
fn walk_blocks(bytes: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let screen = blocks::screen(bytes).expect("a screen");
    Blocks::new(bytes, &screen)
        .map(|block| match block {
            Block::Extension { label, span, .. } => {
                let kind = match label {
                    blocks::GRAPHIC_CONTROL => "control",
                    blocks::COMMENT => "comment",
                    blocks::PLAIN_TEXT => "plain text",
                    blocks::APPLICATION => match blocks::application(bytes, &span) {
                        blocks::Application::Looping { .. } => "looping",
                        _ => "application",
                    },
                    _ => "unknown",
                };
                (kind, bytes[span].to_vec())
            }
            Block::Image(image) => ("image", bytes[image.span].to_vec()),
            Block::Trailer(at) => ("trailer", bytes[at..].to_vec()),
            Block::End(_) => ("end", vec![]),
            Block::Unknown { .. } => ("unknown", vec![]),
        })
        .collect()
}

/// A frame as the `gif` crate decodes it: left, top, width, height, delay, disposal,
/// transparent index, RGBA pixels.
type Decoded = (u16, u16, u16, u16, u16, u8, Option<u8>, Vec<u8>);

/// Every frame as the `gif` crate decodes it.
fn frames(bytes: &[u8]) -> Vec<Decoded> {
    let mut options = ::gif::DecodeOptions::new();
    options.set_color_output(::gif::ColorOutput::RGBA);
    let decoder = options.read_info(bytes).expect("the gif crate reads it");
    decoder
        .into_iter()
        .map(|frame| {
            let f = frame.expect("every frame decodes");
            let dispose = f.dispose as u8;
            let buffer = f.buffer.into_owned();
            (
                f.left,
                f.top,
                f.width,
                f.height,
                f.delay,
                dispose,
                f.transparent,
                buffer,
            )
        })
        .collect()
}

#[test]
fn the_animated_original_keeps_exactly_what_browsers_show() {
    let input = fixture("animated_3_frames_64x48.gif");
    let mut warnings = Vec::new();
    let output = strip(&input, &mut warnings);
    let screen = blocks::screen(&input).unwrap();
    assert_eq!(output[..screen.end], input[..screen.end]);
    let kinds: Vec<&str> = walk_blocks(&output).iter().map(|(k, _)| *k).collect();
    assert_eq!(
        kinds,
        ["looping", "control", "image", "control", "image", "control", "image", "trailer"]
    );
    // Byte for byte: every kept block is a block of the input.
    let kept = walk_blocks(&input);
    for (kind, bytes) in walk_blocks(&output) {
        assert!(kept.contains(&(kind, bytes)), "{kind} is not the input's");
    }
    assert_eq!(
        kept.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        [
            "looping",
            "comment",
            "application",
            "application",
            "control",
            "image",
            "plain text",
            "control",
            "image",
            "comment",
            "control",
            "image",
            "trailer"
        ]
    );
    assert_eq!(frames(&output), frames(&input));
    assert!(
        output.len() < input.len() - 900,
        "{} -> {}",
        input.len(),
        output.len()
    );
    assert_eq!(
        warnings,
        [
            "original: dropped comment extension (×2), XMP application extension, ICC profile \
          application extension (ICCRGBG1012), plain text extension"
        ]
    );
    let (decoder, header) = open(&output, crate::image::DEFAULT_MAX_INPUT_PIXELS).unwrap();
    assert_eq!((header.frames, header.warnings.len()), (3, 0));
    let first = |bytes: &[u8]| {
        let (decoder, _) = open(bytes, crate::image::DEFAULT_MAX_INPUT_PIXELS).unwrap();
        decoder.decode().unwrap().into_bytes()
    };
    assert_eq!(decoder.decode().unwrap().into_bytes(), first(&input));
}

#[test]
fn a_gif_without_metadata_comes_out_unchanged() {
    for name in [
        "still_64x48.gif",
        "interlaced_40x37.gif",
        "bilevel_48x32.gif",
    ] {
        let input = fixture(name);
        let mut warnings = Vec::new();
        assert_eq!(strip(&input, &mut warnings), input, "{name}");
        assert!(warnings.is_empty(), "{name}: {warnings:?}");
    }
}

#[track_caller]
fn stripped(input: &[u8]) -> (Vec<u8>, Vec<String>) {
    let mut warnings = Vec::new();
    let output = strip(input, &mut warnings);
    (output, warnings)
}

#[test]
fn bytes_after_the_trailer_and_a_missing_trailer() {
    let still = fixture("still_64x48.gif");
    let (output, warnings) = stripped(&[&still[..], b"PK\x03\x04 a zip"].concat());
    assert_eq!(output, still);
    assert_eq!(
        warnings,
        ["original: 10 bytes after the GIF's trailer dropped"]
    );
    let (output, warnings) = stripped(&still[..still.len() - 1]);
    assert_eq!(output, still);
    assert_eq!(warnings, ["original: the GIF's missing trailer was added"]);
}

#[test]
fn the_stream_stops_where_browsers_stop() {
    let two = encoded(
        (1, 1),
        &[0, 0, 0, 9, 9, 9],
        &vec![(0, 0, 1, 1, vec![1], None); 2],
    );
    let screen = blocks::screen(&two).unwrap();
    let blocks = walk_blocks(&two);
    let image = blocks.iter().position(|(k, _)| *k == "image").unwrap();
    let first_end = screen.end + blocks[..=image].iter().map(|(_, b)| b.len()).sum::<usize>();
    assert_eq!(two[first_end - 1], 0, "the first image's terminator");
    let broken = [&two[..first_end], &[0x07][..], &two[first_end..]].concat();
    let (output, warnings) = stripped(&broken);
    assert_eq!(output, [&two[..first_end], b";"].concat());
    assert_eq!(frames(&output).len(), 1);
    assert!(warnings[0].contains("byte 0x07"), "{warnings:?}");
    // A malformed graphic control extension: browsers stop there too.
    let bad_control = [
        &two[..first_end],
        &b"\x21\xf9\x03\x00\x00\x00\x00"[..],
        &two[first_end..],
    ]
    .concat();
    let (output, warnings) = stripped(&bad_control);
    assert_eq!(frames(&output).len(), 1);
    assert!(
        warnings[0].contains("graphic control extension"),
        "{warnings:?}"
    );
}

#[test]
fn only_the_last_graphic_control_before_an_image_is_kept_and_looping_is_rewritten() {
    let one = single((1, 1), &[0, 0, 0, 9, 9, 9], (0, 0, 1, 1, vec![1], None));
    let screen = blocks::screen(&one).unwrap();
    let (head, rest) = one.split_at(screen.end);
    // The encoder's own graphic control extension comes first.
    let (encoders, rest) = rest.split_at(8);
    let ignored = b"\x21\xf9\x04\x01\x10\x00\x01\x00";
    let applied = b"\x21\xf9\x04\x05\x20\x00\x00\x00";
    // NETSCAPE2.0 with its loop sub-block (3 loops) and a buffering sub-block after it.
    let looping = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x03\x00\x05\x02\x00\x10\x00\x00\x00";
    let input = [head, looping, encoders, ignored, applied, rest].concat();
    let (output, _) = stripped(&input);
    let want_looping = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x03\x00\x00";
    assert_eq!(output, [head, want_looping, applied, rest].concat());
    let frame = &frames(&output)[0];
    assert_eq!((frame.4, frame.5, frame.6), (0x20, 1, Some(0)));
}

#[test]
fn a_looping_extension_browsers_cannot_read_is_dropped() {
    let one = single((1, 1), &[0, 0, 0, 9, 9, 9], (0, 0, 1, 1, vec![1], None));
    let screen = blocks::screen(&one).unwrap();
    let (head, rest) = one.split_at(screen.end);
    let unread = b"\x21\xff\x0bNETSCAPE2.0\x04\x01\x03\x00\x00\x00";
    let (output, warnings) = stripped(&[head, unread, rest].concat());
    assert_eq!(output, one);
    assert_eq!(warnings, ["original: dropped other application extension"]);
}

#[test]
fn a_cut_short_first_frame_is_closed_and_a_cut_short_later_frame_dropped() {
    let still = fixture("still_64x48.gif");
    let cut = &still[..still.len() - 40];
    let (output, warnings) = stripped(cut);
    // The same bytes but the last sub-block's length, shortened to the bytes there are.
    assert_eq!(output.len(), cut.len() + 2);
    let changed = output.iter().zip(cut).filter(|(a, b)| a != b).count();
    assert_eq!(changed, 1);
    assert_eq!(walk_blocks(&output).last().unwrap().0, "trailer");
    assert!(
        warnings[0].contains("inside its first frame"),
        "{warnings:?}"
    );

    let two = encoded(
        (1, 1),
        &[0, 0, 0, 9, 9, 9],
        &vec![(0, 0, 1, 1, vec![1], None); 2],
    );
    let (output, warnings) = stripped(&two[..two.len() - 3]);
    assert_eq!(frames(&output).len(), 1);
    assert_eq!(
        warnings,
        [
            "original: frame 2 of the GIF is cut short and was dropped",
            "original: the GIF's missing trailer was added"
        ]
    );
}

#[test]
fn a_million_frames_are_kept_in_one_pass() {
    let input = many_frames(1_000_003);
    let started = std::time::Instant::now();
    let (output, warnings) = stripped(&input);
    eprintln!("{} bytes stripped in {:?}", input.len(), started.elapsed());
    assert_eq!(output, input);
    assert!(warnings.is_empty());
}
