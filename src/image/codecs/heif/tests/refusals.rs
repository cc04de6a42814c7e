//! What the decoder recognises, and what it refuses before decoding: by kind, with a message
//! naming the problem.

use super::*;
use crate::image::codecs::heif::{detect, kind, open, Kind};
use crate::image::ImageError;

#[test]
fn every_fixture_is_detected_and_named_by_its_brands() {
    let heic = [
        "h_patches.heic",
        "h_grid.heic",
        "h_444.heic",
        "h_burst.heic",
    ];
    let avif = [
        "a_patches.avif",
        "a_grid.avif",
        "a_sequence.avifs",
        "a_pq.avif",
    ];
    for (names, want) in [(heic, Kind::Heic), (avif, Kind::Avif)] {
        for name in names {
            assert!(detect(&fixture(name)), "{name}");
            assert_eq!(kind(&fixture(name)), Some(want), "{name}");
        }
    }
    // Only the generic brands: the primary image's coding decides (HEVC: image/heif).
    let mut generic = fixture("h_patches.heic");
    let ftyp = u32::from_be_bytes(generic[..4].try_into().unwrap()) as usize;
    for at in (8..ftyp).step_by(4) {
        if &generic[at..at + 4] == b"heic" {
            generic[at..at + 4].copy_from_slice(b"mif1");
        }
    }
    assert_eq!(kind(&generic), Some(Kind::Heif));
    assert_eq!(open(&generic, LIMIT).unwrap().1.kind, Kind::Heif);
    assert_eq!(Kind::Heif.content_type(), "image/heif");
    let mut mp4 = b"\0\0\0\x18ftypisom\0\0\0\0isommp42".to_vec();
    mp4.extend([0u8; 64]);
    assert!(!detect(&mp4));
    assert!(!detect(b"\x89PNG\r\n\x1a\n"));
    assert!(!detect(&[]));
}

#[test]
fn hdr_pq_is_refused_and_hlg_shown_as_sdr() {
    let err = open(&fixture("a_pq.avif"), LIMIT).err().unwrap();
    assert!(
        matches!(&err, ImageError::Unsupported(m) if m.contains("PQ (SMPTE ST 2084)")),
        "{err:?}"
    );
    let (h, img) = decode_fixture("a_hlg.avif");
    assert!(
        h.warnings.iter().any(|w| w.contains("HLG")),
        "{:?}",
        h.warnings
    );
    assert!(h.icc_synthesized);
    assert_patches("a_hlg", &img);
}

#[track_caller]
fn assert_refused(bytes: &[u8], max_pixels: u64, want: fn(&ImageError) -> bool, says: &str) {
    let err = match open(bytes, max_pixels) {
        Err(e) => e,
        Ok((d, _)) => d.decode().expect_err("refused"),
    };
    let text = format!("{err:?}");
    assert!(
        want(&err) && text.contains(says),
        "{text} (want it to say {says:?})"
    );
}

fn unsupported(e: &ImageError) -> bool {
    matches!(e, ImageError::Unsupported(_))
}

fn invalid(e: &ImageError) -> bool {
    matches!(e, ImageError::Invalid(_))
}

fn too_large(e: &ImageError) -> bool {
    matches!(e, ImageError::TooLarge(_))
}

#[test]
fn what_is_not_decoded_is_refused_by_name() {
    assert_refused(
        &fixture("h_444.heic"),
        LIMIT,
        unsupported,
        "HEIC in 4:4:4 chroma",
    );
    assert_refused(
        &fixture("h_422.heic"),
        LIMIT,
        unsupported,
        "HEIC in 4:2:2 chroma",
    );
    assert_refused(
        &fixture("h_iovl.heic"),
        LIMIT,
        unsupported,
        "overlay image (iovl",
    );
    // An essential property the decoder does not know (h_orient2's `imir`, renamed).
    let mut odd = fixture("h_orient2.heic");
    let at = odd.windows(4).position(|w| w == b"imir").unwrap();
    odd[at..at + 4].copy_from_slice(b"imiz");
    assert_refused(&odd, LIMIT, unsupported, "essential property `imiz`");
}

#[test]
fn sizes_are_refused_from_the_header() {
    assert_refused(
        &fixture("h_grid.heic"),
        1000,
        too_large,
        "640x400 is 256000 pixels, over MAX_INPUT_PIXELS (1000)",
    );
    // A single coded picture declared 16000 × 16000: within the pixel limit, not the budget.
    let mut huge = fixture("h_patches.heic");
    let at = huge.windows(4).position(|w| w == b"ispe").unwrap() + 8;
    huge[at..at + 8].copy_from_slice(&[0, 0, 0x3e, 0x80, 0, 0, 0x3e, 0x80]);
    assert_refused(&huge, LIMIT, too_large, "over the 1024 MiB budget");
}

#[test]
fn a_grid_of_too_many_tiles_is_refused_before_its_tiles_are_looked_up() {
    // h_grid's grid payload (version, flags, rows - 1, columns - 1, …) edited to 256 x 256.
    let mut many = fixture("h_grid.heic");
    let at = many.windows(4).position(|w| w == [0, 0, 1, 2]).unwrap();
    many[at + 2..at + 4].copy_from_slice(&[255, 255]);
    assert_refused(
        &many,
        LIMIT,
        invalid,
        "HEIF grid of 65536 tiles, over the 16384 allowed",
    );
}

#[test]
fn a_coded_picture_larger_than_its_ispe_is_refused_before_decoding() {
    // 512 × 384 coded, `ispe` edited to 64 × 48: heic-rs would allocate for the SPS size.
    assert_refused(
        &fixture("h_ispe_small.heic"),
        LIMIT,
        invalid,
        "HEIC coded picture 512x384 is larger than its container declares (64x48)",
    );
}

#[test]
fn read_takes_any_whole_number_of_rows_and_no_more() {
    let bytes = fixture("h_grid_orient8.heic");
    let (_, whole) = read_all(&bytes);
    let want = whole.to_rgb8().into_raw();
    for step in [1usize, 5, 300] {
        let (mut d, h) = open(&bytes, LIMIT).unwrap();
        let row = h.width as usize * 3;
        let mut got = vec![0u8; want.len()];
        for chunk in got.chunks_mut(row * step) {
            d.read(chunk).unwrap();
        }
        assert_same(&format!("{step} rows at a time"), &got, &want);
        let past = d.read(&mut vec![0u8; row]).err();
        assert!(matches!(past, Some(ImageError::Internal(_))), "{past:?}");
        let mut partial = open(&bytes, LIMIT).unwrap().0;
        assert!(matches!(
            partial.read(&mut vec![0u8; row + 1]),
            Err(ImageError::Internal(_))
        ));
    }
}
