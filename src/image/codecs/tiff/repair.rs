//! The view of the input the `tiff` crate reads (`view::View`): the chosen page made the only
//! IFD, its photometric interpretation shown as `samples::shown` has it, and two faults that
//! libtiff (and so Pillow, GIMP and every viewer built on it) reads past but the crate refuses,
//! repaired with a warning each:
//!
//! - a per-sample tag (BitsPerSample, SampleFormat) whose count is not SamplesPerPixel. GIMP
//!   writes BitsPerSample `(8, 8, 8, 1)` for RGB; the crate takes only 1 or SamplesPerPixel
//!   values ("inconsistent sizes encountered"). libtiff (`TIFFReadDirEntryPersampleShort` in
//!   tif_dirread.c) ignores the extra values, and takes missing ones as the first: the count
//!   is cut to SamplesPerPixel, or to 1 when fewer values (all equal) are given, and values
//!   that then fit in the entry's value field (4 bytes, 8 in BigTIFF) are moved there, where
//!   TIFF 6.0 section 2 says a reader looks for them.
//! - no PhotometricInterpretation tag (the crate requires one): libtiff's guess
//!   (`samples::default_photometric`). The IFD has no room for another entry, so the view
//!   serves a copy of it with the entry added, in tag order, after the input's end (at most
//!   `ifd::MAX_ENTRIES` + 1 entries: 20 KB), and the header points there.

use super::ifd::{encode, type_size, Container, Entry};
use super::samples;
use super::view::{Patch, View};

/// The view of `bytes` for the crate, `real` being the page's photometric interpretation
/// (`samples::check_coding`'s, libtiff's guess when the tag is missing); a warning is added to
/// `warnings` for each repair.
pub(super) fn view<'a>(
    bytes: &'a [u8],
    c: &Container,
    real: u16,
    warnings: &mut Vec<String>,
) -> View<'a> {
    let mut patches = super::ifd::only_chosen(c);
    for (name, entry) in [
        ("BitsPerSample", c.chosen.bits_per_sample),
        ("SampleFormat", c.chosen.sample_format),
    ] {
        if let Some(e) = entry {
            patches.extend(per_sample_count(bytes, c, &e, name, warnings));
        }
    }
    let shown = samples::shown(real);
    match c.chosen.photometric {
        Some(f) if u64::from(shown) != f.value => {
            patches.push((f.at, encode(u64::from(shown), f.size, c.big_endian)));
        }
        Some(_) => {}
        None => {
            let colours = c.chosen.samples().saturating_sub(c.chosen.extra_samples);
            warnings.push(format!(
                "TIFF without a PhotometricInterpretation tag: read as {}, libtiff's guess \
                 for {colours} colour sample{}",
                samples::photometric_long_name(real),
                if colours == 1 { "" } else { "s" }
            ));
            return with_photometric(bytes, patches, c, shown);
        }
    }
    View::new(bytes, patches)
}

/// The patches that give entry `e` of tag `name` the count the crate takes, with a warning
/// saying what was cut; none when its count is already 1 or SamplesPerPixel, or when its
/// values cannot be read (the crate then says what is wrong).
fn per_sample_count(
    bytes: &[u8],
    c: &Container,
    e: &Entry,
    name: &str,
    warnings: &mut Vec<String>,
) -> Vec<Patch> {
    let samples = c.chosen.samples();
    if e.count <= 1 || e.count == samples {
        return Vec::new();
    }
    let (Some(size), Some(given)) = (type_size(e.kind), c.values(bytes, e, samples)) else {
        return Vec::new();
    };
    let keep = match e.count > samples {
        true => samples,
        // Fewer values than samples: libtiff takes the missing ones as the first, which it
        // requires all given ones to equal (and the crate, all of them).
        false if given.iter().all(|&v| v == given[0]) => 1,
        false => return Vec::new(),
    };
    let mut patches = vec![(c.count_at(e), encode(keep, c.inline() as u8, c.big_endian))];
    let fits = |n: u64| n * u64::from(size) <= c.inline();
    if fits(keep) && !fits(e.count) {
        let mut field: Vec<u8> = given[..keep as usize]
            .iter()
            .flat_map(|&v| encode(v, size, c.big_endian))
            .collect();
        field.resize(c.inline() as usize, 0);
        patches.push((c.value_at(e), field));
    }
    warnings.push(match keep {
        1 => format!(
            "TIFF {name} has {} values for {samples} samples per pixel: the first ({}) is \
             used for every sample, as libtiff reads it",
            e.count, given[0]
        ),
        _ => format!(
            "TIFF {name} has {} values for {samples} samples per pixel: the first {samples} \
             ({}) are used, as libtiff reads it",
            e.count,
            given
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    });
    patches
}

/// The view of `bytes` with `patches` and a copy of the chosen IFD served after the input: its
/// entries as `patches` show them plus PhotometricInterpretation = `shown` (SHORT), sorted by
/// tag, no next IFD; the header points at the copy.
fn with_photometric<'a>(
    bytes: &'a [u8],
    mut patches: Vec<Patch>,
    c: &Container,
    shown: u16,
) -> View<'a> {
    let entry_size = c.entry_size() as usize;
    let first = c.chosen.offset + c.count_size();
    let patched = View::new(bytes, patches.clone());
    let mut entries: Vec<Vec<u8>> = (0..c.chosen.entries)
        .filter_map(|i| {
            let mut e = vec![0u8; entry_size];
            patched
                .read_at(first + i * entry_size as u64, &mut e)
                .then_some(e)
        })
        .collect();
    let mut added = encode(262, 2, c.big_endian);
    added.extend(encode(3, 2, c.big_endian));
    added.extend(encode(1, c.inline() as u8, c.big_endian));
    added.extend(encode(u64::from(shown), 2, c.big_endian));
    added.resize(entry_size, 0);
    entries.push(added);
    let tag = |e: &Vec<u8>| match c.big_endian {
        true => u16::from_be_bytes([e[0], e[1]]),
        false => u16::from_le_bytes([e[0], e[1]]),
    };
    // Stable: an IFD written in tag order stays in it, with the new entry in its place.
    entries.sort_by_key(tag);
    let mut ifd = encode(entries.len() as u64, c.count_size() as u8, c.big_endian);
    entries.iter().for_each(|e| ifd.extend_from_slice(e));
    ifd.resize(ifd.len() + c.inline() as usize, 0);
    let at = (bytes.len() as u64).next_multiple_of(8);
    patches.retain(|(p, _)| *p != c.first_ifd_at);
    patches.push((c.first_ifd_at, encode(at, c.inline() as u8, c.big_endian)));
    View::new(bytes, patches).with_tail(at, ifd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::codecs::tiff::ifd::walk;

    fn fixture(name: &str) -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/formats/tiff");
        std::fs::read(dir.join(name)).unwrap()
    }

    /// The bytes `view` shows at `at`.
    fn seen(v: &View<'_>, at: u64, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        assert!(v.read_at(at, &mut out), "{len} bytes at {at}");
        out
    }

    #[test]
    fn counts_past_samples_per_pixel_are_cut_and_values_that_then_fit_moved_inline() {
        // Big-endian gray + alpha: (8, 8, 8) at an offset becomes (8, 8) in the entry.
        let bytes = fixture("gray_alpha8_be_bps_count3.tif");
        let c = walk(&bytes).unwrap();
        let mut warnings = Vec::new();
        let v = view(&bytes, &c, 1, &mut warnings);
        let bps = c.chosen.bits_per_sample.unwrap();
        assert_eq!(seen(&v, bps.at, 12), [1, 2, 0, 3, 0, 0, 0, 2, 0, 8, 0, 8]);
        let format = c.chosen.sample_format.unwrap();
        assert_eq!(
            seen(&v, format.at, 12),
            [1, 83, 0, 3, 0, 0, 0, 2, 0, 1, 0, 1]
        );
        assert_eq!(
            warnings,
            [
                "TIFF BitsPerSample has 3 values for 2 samples per pixel: the first 2 (8, 8) \
                 are used, as libtiff reads it",
                "TIFF SampleFormat has 3 values for 2 samples per pixel: the first 2 (1, 1) \
                 are used, as libtiff reads it"
            ]
        );

        // GIMP's (8, 8, 8, 1): 6 bytes still do not fit; the count alone changes.
        let bytes = fixture("rgb8_bps_8881.tif");
        let c = walk(&bytes).unwrap();
        let v = view(&bytes, &c, 2, &mut Vec::new());
        let bps = c.chosen.bits_per_sample.unwrap();
        let stored = &bytes[bps.at as usize..bps.at as usize + 12];
        assert_eq!(seen(&v, bps.at, 8), [2, 1, 3, 0, 3, 0, 0, 0]);
        assert_eq!(seen(&v, bps.at + 8, 4), stored[8..], "the offset is kept");

        // BigTIFF: 5 values (10 bytes) cut to 3, which fit in its 8-byte value field.
        let bytes = fixture("rgb8_bigtiff_bps_count5.tif");
        let c = walk(&bytes).unwrap();
        let v = view(&bytes, &c, 2, &mut Vec::new());
        let bps = c.chosen.bits_per_sample.unwrap();
        assert_eq!(
            seen(&v, bps.at + 4, 16),
            [3, 0, 0, 0, 0, 0, 0, 0, 8, 0, 8, 0, 8, 0, 0, 0]
        );
    }

    #[test]
    fn fewer_values_than_samples_become_one_when_they_agree() {
        let bytes = fixture("rgba8_bps_count3.tif");
        let c = walk(&bytes).unwrap();
        let mut warnings = Vec::new();
        let v = view(&bytes, &c, 2, &mut warnings);
        let bps = c.chosen.bits_per_sample.unwrap();
        assert_eq!(seen(&v, bps.at + 4, 8), [1, 0, 0, 0, 8, 0, 0, 0]);
        assert_eq!(
            warnings,
            [
                "TIFF BitsPerSample has 3 values for 4 samples per pixel: the first (8) is used \
              for every sample, as libtiff reads it"
            ]
        );
        // (8, 16, 8): libtiff refuses them, and so does the crate, shown them as stored.
        let mut odd = bytes.clone();
        let at = u32::from_le_bytes(bytes[bps.at as usize + 8..][..4].try_into().unwrap());
        odd[at as usize + 2] = 16;
        let mut warnings = Vec::new();
        let v = view(&odd, &c, 2, &mut warnings);
        assert_eq!(seen(&v, bps.at + 4, 4), [3, 0, 0, 0]);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn a_missing_photometric_is_added_to_a_sorted_copy_of_the_ifd_after_the_input() {
        for (name, real, shown, what) in [
            ("gray8_no_photometric.tif", 1, 1, "BlackIsZero gray"),
            ("bilevel_g4_no_photometric.tif", 0, 1, "WhiteIsZero gray"),
        ] {
            let bytes = fixture(name);
            let c = walk(&bytes).unwrap();
            let mut warnings = Vec::new();
            let v = view(&bytes, &c, real, &mut warnings);
            assert_eq!(
                warnings,
                [format!(
                    "TIFF without a PhotometricInterpretation tag: read as {what}, libtiff's \
                     guess for 1 colour sample"
                )]
            );
            let at = u32::from_le_bytes(seen(&v, 4, 4).try_into().unwrap()) as u64;
            assert_eq!(at, (bytes.len() as u64).next_multiple_of(8), "{name}");
            let n = u16::from_le_bytes(seen(&v, at, 2).try_into().unwrap()) as u64;
            assert_eq!(n, c.chosen.entries + 1, "{name}");
            let entries: Vec<Vec<u8>> = (0..n).map(|i| seen(&v, at + 2 + 12 * i, 12)).collect();
            let tags: Vec<u16> = entries
                .iter()
                .map(|e| u16::from_le_bytes([e[0], e[1]]))
                .collect();
            assert!(tags.is_sorted(), "{name}: {tags:?}");
            let added = entries.iter().find(|e| e[..2] == [6, 1]).unwrap();
            assert_eq!(added[2..], [3, 0, 1, 0, 0, 0, shown, 0, 0, 0], "{name}");
            assert_eq!(seen(&v, at + 2 + 12 * n, 4), [0; 4], "{name}: no next IFD");
            // The original entries as stored, the page's width first.
            let width = &bytes[c.chosen.offset as usize + 2..][..12];
            assert_eq!(entries[0], width, "{name}");
        }
    }
}
