//! JPEG through mozjpeg (libjpeg-turbo's SIMD code), by job: the header and DCT-scaled
//! decoding (`decode`), the largest variants encoded while the file decodes (`along`), encoding
//! (`encode`), libjpeg's error manager (`libjpeg`), the marker segments walked in linear time —
//! the header's facts, the whitelisted `original`, repairs (`markers`) — and the encoder's
//! memory hook (`coefficients`).

mod along;
pub(in crate::image) mod coefficients;
mod decode;
mod encode;
mod libjpeg;
mod markers;

pub(in crate::image) use along::{EncodeAlong, EncodedAlong};
pub(in crate::image) use decode::{check_budget, decode, open, without_scan_junk, Decoder};
pub(in crate::image) use encode::{encode, encode_bands, Encoding};
#[cfg(test)]
pub(in crate::image) use encode::{encode_unhooked, encoder_error_manager};
pub(in crate::image) use markers::{repair, strip};

#[cfg(test)]
mod tests {
    use super::decode::{header_of, open_decompress, scale_for, Header};
    use super::libjpeg::{guard, MAX_SCANS, TALLY};
    use super::*;
    use crate::image::codecs::source::Source;
    use crate::image::error::{invalid, ImageError};
    use image::{DynamicImage, RgbImage};
    use mozjpeg::ColorSpace;

    /// Opens and decodes, as the pipeline does in two steps: the pixels, and whether they are
    /// resized to `to`.
    fn decode(
        bytes: &[u8],
        min_long_side: u32,
        to: Option<(u32, u32)>,
    ) -> Result<(DynamicImage, bool), ImageError> {
        let (decoder, h) = open(&Source::Downloaded(bytes))?;
        let d = super::decode(
            decoder,
            h.icc.as_deref(),
            min_long_side,
            to,
            None,
            &mut Vec::new(),
        )?;
        Ok((d.image, d.resized))
    }

    fn header(bytes: &[u8]) -> Result<Header, ImageError> {
        open(&Source::Downloaded(bytes)).map(|(_, h)| h)
    }

    #[test]
    fn scale_is_the_smallest_that_reaches_the_largest_variant() {
        assert_eq!(scale_for(5312, 2988, 2400), 4);
        assert_eq!(scale_for(4800, 3200, 2400), 4, "exactly 2400");
        assert_eq!(scale_for(4799, 3200, 2400), 4, "libjpeg rounds 2399.5 up");
        assert_eq!(scale_for(4798, 3200, 2400), 8, "2399 is not enough");
        assert_eq!(scale_for(4272, 2848, 2400), 8);
        assert_eq!(scale_for(9600, 5400, 2400), 2);
        assert_eq!(scale_for(16383, 16383, 2400), 2);
        assert_eq!(scale_for(6400, 4800, 800), 1);
        assert_eq!(scale_for(6391, 4800, 800), 2);
        assert_eq!(scale_for(2988, 5312, 1200), 2);
        assert_eq!(scale_for(300, 200, 0), 1);
    }

    fn photo(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([
                (x * 7 % 256) as u8,
                (y * 3 % 256) as u8,
                ((x ^ y) % 256) as u8,
            ])
        });
        encode(&DynamicImage::ImageRgb8(img), 90, Some(b"profile")).unwrap()
    }

    #[test]
    fn decodes_at_the_smallest_scale_that_is_enough() {
        let bytes = photo(3200, 1600);
        let img = decode(&bytes, 200, None).unwrap().0;
        assert_eq!((img.width(), img.height()), (400, 200));
        let img = decode(&bytes, 801, None).unwrap().0;
        assert_eq!((img.width(), img.height()), (1600, 800));
        let img = decode(&bytes, 1601, None).unwrap().0;
        assert_eq!((img.width(), img.height()), (3200, 1600));
        let h = header(&bytes).unwrap();
        assert_eq!((h.width, h.height), (3200, 1600));
        assert_eq!(h.orientation, image::metadata::Orientation::NoTransforms);
        assert_eq!(h.coefficient_bytes, None, "baseline");
        assert_eq!(
            h.icc.as_deref(),
            Some(&b"profile"[..]),
            "ICC chunks numbered from 1"
        );
    }

    #[test]
    fn damaged_data_is_an_error_not_a_grey_picture() {
        let bytes = photo(800, 600);
        let err = decode(&bytes[..bytes.len() * 2 / 3], 0, None).unwrap_err();
        assert!(
            matches!(&err, ImageError::Invalid(m) if m.contains("premature end")),
            "{err:?}"
        );
        let mut bad = bytes.clone();
        let mid = bad.len() / 2;
        bad[mid..mid + 64].fill(0xFF);
        assert!(decode(&bad, 0, None).is_err());
        assert!(decode(&bytes, 0, None).is_ok());
    }

    /// A `w`×`h` JPEG of a busy pattern, baseline or progressive, RGB or gray.
    fn pattern(w: u32, h: u32, progressive: bool, gray: bool) -> Vec<u8> {
        let space = if gray {
            ColorSpace::JCS_GRAYSCALE
        } else {
            ColorSpace::JCS_RGB
        };
        let channels = if gray { 1 } else { 3 };
        let mut c = mozjpeg::Compress::new(space);
        c.set_size(w as usize, h as usize);
        if progressive {
            c.set_progressive_mode();
        }
        let mut s = c.start_compress(Vec::new()).unwrap();
        let px: Vec<u8> = (0..w * h * channels)
            .map(|i| ((i / channels % w) * 7 + (i / channels / w) * 3 + i % channels * 50) as u8)
            .collect();
        s.write_scanlines(&px).unwrap();
        s.finish().unwrap()
    }

    #[test]
    fn bands_that_stop_short_are_an_error() {
        // A turning thread that ended early.
        let short = encode_bands((10, 10), false, 80, None, [vec![0u8; 10 * 3 * 5]]);
        assert!(matches!(short, Err(ImageError::Invalid(_))), "{short:?}");
        let rgba = DynamicImage::new_rgba8(8, 8);
        assert!(encode(&rgba, 80, None).is_err());
    }

    #[test]
    fn resizing_while_decoding_equals_resizing_after() {
        let to = (600, 451);
        for (progressive, gray) in [(false, false), (true, false), (false, true), (true, true)] {
            let bytes = pattern(1301, 977, progressive, gray);
            let (full, resized) = decode(&bytes, 700, None).unwrap();
            assert!(!resized);
            assert_eq!((full.width(), full.height()), (1301, 977));
            let full = crate::image::pixels::Pixels::Image(full);
            let crate::image::pixels::Pixels::Image(want) =
                crate::image::pixels::resize(&full, to.0, to.1, false).unwrap()
            else {
                unreachable!("an image stays an image")
            };
            let (got, resized) = decode(&bytes, 700, Some(to)).unwrap();
            assert!(resized);
            // Encoded while resized: the same file as encoding the resized image after.
            let along = EncodeAlong {
                quality: 80,
                icc: Some(b"profile"),
                next: Some((200, 150)),
            };
            let decode_along =
                |decoder| super::decode(decoder, None, 700, Some(to), Some(along), &mut Vec::new());
            let (decoder, _) = open(&Source::Downloaded(&bytes)).unwrap();
            let made = decode_along(decoder).unwrap();
            assert!(made.image.as_bytes() == got.as_bytes(), "kept whole");
            let want_file = encode(&got, 80, Some(b"profile")).unwrap();
            let encoded = made.encoded.expect("encoded along");
            assert!(
                encoded.largest.finish().unwrap() == want_file,
                "progressive {progressive}, gray {gray}"
            );
            // The next size, resized from the largest's rows as they were made.
            let (medium, medium_file) = encoded.next.expect("the next size");
            let got_pixels = crate::image::pixels::Pixels::Image(got.clone());
            let crate::image::pixels::Pixels::Image(want_medium) =
                crate::image::pixels::resize(&got_pixels, 200, 150, false).unwrap()
            else {
                unreachable!("an image stays an image")
            };
            assert!(
                medium.as_bytes() == want_medium.as_bytes(),
                "medium's pixels"
            );
            let want_medium_file = encode(&medium, 80, Some(b"profile")).unwrap();
            assert!(medium_file.finish().unwrap() == want_medium_file);
            assert_eq!(got.color(), want.color(), "gray {gray}");
            assert!(
                got.as_bytes() == want.as_bytes(),
                "progressive {progressive}, gray {gray}: not the same pixels"
            );
            // Decoding that fails part-way stops the resizing thread too: an error, no hang;
            // with the encoders along, their thread is joined on the way out.
            let err = decode(&bytes[..bytes.len() / 2], 700, Some(to)).unwrap_err();
            assert!(matches!(err, ImageError::Invalid(_)), "{err:?}");
            let (decoder, _) = open(&Source::Downloaded(&bytes[..bytes.len() / 2])).unwrap();
            let err = decode_along(decoder);
            assert!(
                matches!(err, Err(ImageError::Invalid(_))),
                "{:?}",
                err.err()
            );
        }
    }

    #[test]
    fn icc_chunks_in_any_order_or_refused() {
        let a: &[u8] = b"abc";
        let b: &[u8] = b"def";
        assert_eq!(
            markers::assemble_icc(vec![(2, 2, b), (1, 2, a)]).as_deref(),
            Some(&b"abcdef"[..])
        );
        assert_eq!(markers::assemble_icc(vec![(1, 2, a)]), None);
        assert_eq!(markers::assemble_icc(vec![(1, 2, a), (1, 2, a)]), None);
        assert_eq!(markers::assemble_icc(vec![]), None);
    }

    /// A small progressive JPEG with its last scan (and the tables just before it) repeated
    /// until it has `scans` scans: repeated scans are a bogus progression, but libjpeg reads
    /// each one, which is the work that is bounded.
    fn with_scans(scans: u32) -> Vec<u8> {
        let base = pattern(64, 48, true, false);
        let pieces: Vec<markers::Piece> = markers::pieces(&base).collect();
        let sos: Vec<usize> = (0..pieces.len())
            .filter(|&i| matches!(pieces[i], markers::Piece::Segment { marker: 0xDA, .. }))
            .collect();
        let last = *sos.last().unwrap();
        let span = |i: usize| match &pieces[i] {
            markers::Piece::Segment { at, end, .. } => (*at, *end),
            other => panic!("{other:?}"),
        };
        let from = match &pieces[last - 1] {
            markers::Piece::Segment {
                marker: 0xC4, at, ..
            } => *at,
            _ => span(last).0,
        };
        let (_, end) = span(last);
        let repeat = &base[from..end];
        let mut out = base[..end].to_vec();
        for _ in sos.len() as u32..scans {
            out.extend_from_slice(repeat);
        }
        out.extend_from_slice(&base[end..]);
        assert_eq!(markers::layout(&out).scans, scans);
        out
    }

    #[test]
    fn more_than_max_scans_are_refused_before_decoding() {
        assert!(header(&with_scans(MAX_SCANS)).is_ok());
        let err = header(&with_scans(MAX_SCANS + 1)).err().unwrap();
        assert_eq!(
            err,
            invalid("too many scans: the JPEG has 101, at most 100 are decoded (encoders write up to about 20)")
        );
    }

    /// libjpeg's own count stops the decode when it reads the 101st SOS marker, before that
    /// scan's data, whatever the marker walk found: at most `MAX_SCANS` scans are decoded.
    #[test]
    fn libjpeg_stops_at_the_scan_past_the_limit() {
        let bytes = with_scans(MAX_SCANS + 50);
        let source = Source::Downloaded(&bytes);
        let (decoder, h) = guard(invalid, || {
            TALLY.with(|t| t.take());
            let decompress = open_decompress(&source)?;
            let h = header_of(&decompress, markers::layout(&source))?;
            let tally = TALLY.with(|t| t.take());
            let progressive = h.progressive;
            Ok((
                Decoder {
                    decompress,
                    progressive,
                    tally,
                },
                h,
            ))
        })
        .unwrap();
        assert_eq!(h.width, 64);
        let err = super::decode(decoder, None, 0, None, None, &mut Vec::new())
            .err()
            .unwrap();
        assert!(
            matches!(&err, ImageError::Invalid(m) if m.contains("too many scans")),
            "{err:?}"
        );
        assert_eq!(TALLY.with(|t| t.borrow().scans), MAX_SCANS + 1);
    }

    #[test]
    fn the_marker_walk_follows_libjpeg() {
        let base = photo(32, 16);
        // Junk, a comment of length 0, an APP5 of length 1, fill bytes before a marker.
        let mut b = base[..2].to_vec();
        b.extend_from_slice(b"junk\xFF\x00more");
        b.extend_from_slice(&[0xFF, 0xFE, 0, 0, 0xFF, 0xE5, 0, 1, 0xFF, 0xFF]);
        b.extend_from_slice(&base[2..]);
        let pieces: Vec<markers::Piece> = markers::pieces(&b).collect();
        assert_eq!(pieces[0], markers::Piece::Junk(2..12));
        let spans: Vec<(u8, usize, usize)> = pieces[1..4]
            .iter()
            .filter_map(|p| match p {
                markers::Piece::Segment {
                    marker, at, end, ..
                } => Some((*marker, *at, *end)),
                _ => None,
            })
            .collect();
        assert_eq!(spans[..2], [(0xFE, 12, 16), (0xE5, 16, 20)]);
        assert_eq!((spans[2].0, spans[2].1), (0xE0, 20));
        let l = markers::layout(&b);
        assert_eq!(
            (l.frame, l.scans, l.end),
            (Some((0xC0, 8)), 1, Some(markers::End::Eoi(b.len())))
        );
        assert!(decode(&b, 0, None).is_ok(), "libjpeg reads it too");
        // The EOI damaged into SOF9 after the scan: the image data ends there.
        let mut damaged = base[..base.len() - 2].to_vec();
        damaged.extend_from_slice(&[0xFF, 0xC9, 0, 2, 0xFF, 0xD9]);
        let end = base.len() - 2;
        assert_eq!(
            markers::layout(&damaged).end,
            Some(markers::End::Unterminated(end))
        );
        let (fixed, _) = repair(&damaged).unwrap();
        assert_eq!(fixed, base, "cut where the data ends, EOI put back");
    }
}
