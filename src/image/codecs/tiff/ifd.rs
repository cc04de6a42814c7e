//! The TIFF container, read before the `tiff` crate sees it (TIFF 6.0 section 2; BigTIFF):
//! the chain of IFDs walked with a cycle check and a cap, each IFD's entry count bounded, the
//! pages counted, and the first full-resolution page chosen (IFDs whose NewSubfileType says
//! reduced-resolution or transparency mask, or whose old SubfileType says 2 or 3, skipped).
//! Only the few fields that decide what to do (or what to repair, `repair.rs`) are read here;
//! the crate reads the rest.

use crate::image::ImageError;

/// IFDs walked in the main chain at most: no writer makes more pages than this, and the walk
/// stays linear and short (a page costs a few hundred bytes to read).
pub(super) const MAX_IFDS: u32 = 10_000;
/// Entries in one IFD at most (real files have tens; libtiff warns past a few hundred).
pub(super) const MAX_ENTRIES: u64 = 1_000;

/// TIFF tags read here (TIFF 6.0 section 8 and appendix A).
mod tag {
    pub const NEW_SUBFILE_TYPE: u16 = 254;
    pub const SUBFILE_TYPE: u16 = 255;
    pub const IMAGE_WIDTH: u16 = 256;
    pub const IMAGE_LENGTH: u16 = 257;
    pub const BITS_PER_SAMPLE: u16 = 258;
    pub const COMPRESSION: u16 = 259;
    pub const PHOTOMETRIC: u16 = 262;
    pub const FILL_ORDER: u16 = 266;
    pub const SAMPLES_PER_PIXEL: u16 = 277;
    pub const EXTRA_SAMPLES: u16 = 338;
    pub const SAMPLE_FORMAT: u16 = 339;
}

/// An inline SHORT, LONG or LONG8 value of an IFD entry, with where it sits in the file (so
/// that a patch can rewrite it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Field {
    pub at: u64,
    /// Bytes of the value as stored: 2, 4 or 8.
    pub size: u8,
    pub value: u64,
}

/// An IFD entry whose values may sit outside it: where the entry starts, its field type and
/// its count of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    pub at: u64,
    pub kind: u16,
    pub count: u64,
}

/// What one IFD says, of what is read here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Ifd {
    /// Where the IFD starts in the file.
    pub offset: u64,
    /// Its entries.
    pub entries: u64,
    /// Where its next-IFD pointer sits.
    pub next_at: u64,
    pub width: Option<u64>,
    pub height: Option<u64>,
    pub compression: Option<u64>,
    pub photometric: Option<Field>,
    /// A PhotometricInterpretation entry is there, readable as `photometric` or not.
    pub has_photometric: bool,
    pub fill_order: Option<u64>,
    pub samples_per_pixel: Option<u64>,
    pub bits_per_sample: Option<Entry>,
    pub sample_format: Option<Entry>,
    /// Values of ExtraSamples (0 without the tag).
    pub extra_samples: u64,
    /// NewSubfileType (bit 0: reduced resolution, bit 2: transparency mask).
    pub new_subfile: u64,
    /// The old SubfileType (2: reduced resolution, 3: one page of several).
    pub old_subfile: u64,
}

impl Ifd {
    /// A page of its own: not a reduced-resolution copy nor a transparency mask.
    pub fn full_resolution(&self) -> bool {
        self.new_subfile & 0b101 == 0 && self.old_subfile != 2
    }

    /// SamplesPerPixel (1 when absent or 0, as the crate and libtiff default it).
    pub fn samples(&self) -> u64 {
        self.samples_per_pixel.unwrap_or(1).max(1)
    }
}

/// The container as walked: byte order, BigTIFF, the chosen IFD and the page count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Container {
    pub big_endian: bool,
    pub bigtiff: bool,
    /// Where the header's pointer to the first IFD sits (4, or 8 in BigTIFF).
    pub first_ifd_at: u64,
    /// The first full-resolution IFD of the main chain (the first IFD if none is).
    pub chosen: Ifd,
    /// Full-resolution IFDs in the main chain (at least 1).
    pub pages: u32,
    pub warnings: Vec<String>,
}

impl Container {
    /// Bytes of an entry's value field (4, or 8 in BigTIFF): values that fit sit there.
    pub fn inline(&self) -> u64 {
        if self.bigtiff {
            8
        } else {
            4
        }
    }

    /// Bytes of an IFD's entry count (2, or 8 in BigTIFF).
    pub fn count_size(&self) -> u64 {
        if self.bigtiff {
            8
        } else {
            2
        }
    }

    /// Bytes of one IFD entry (12, or 20 in BigTIFF).
    pub fn entry_size(&self) -> u64 {
        if self.bigtiff {
            20
        } else {
            12
        }
    }

    /// Where an entry's count sits (its value field follows it).
    pub fn count_at(&self, e: &Entry) -> u64 {
        e.at + 4
    }

    /// Where an entry's value field sits.
    pub fn value_at(&self, e: &Entry) -> u64 {
        e.at + 4 + self.inline()
    }

    /// The first `max` values of an unsigned-integer entry (BYTE, SHORT, LONG or LONG8),
    /// inline or where its value field points; `None` for another type or values outside
    /// the file.
    pub fn values(&self, bytes: &[u8], e: &Entry, max: u64) -> Option<Vec<u64>> {
        let size = type_size(e.kind)?;
        let r = Bytes {
            bytes,
            big_endian: self.big_endian,
        };
        let total = e.count.checked_mul(u64::from(size))?;
        let at = match total <= self.inline() {
            true => self.value_at(e),
            false => r.uint(self.value_at(e), self.inline() as u8)?,
        };
        (0..e.count.min(max))
            .map(|i| r.uint(at.checked_add(i * u64::from(size))?, size))
            .collect()
    }
}

/// Bytes of one value of an unsigned-integer field type: BYTE, SHORT, LONG, LONG8.
pub(super) fn type_size(kind: u16) -> Option<u8> {
    match kind {
        1 => Some(1),
        3 => Some(2),
        4 => Some(4),
        16 => Some(8),
        _ => None,
    }
}

/// The TIFF signature: `II*\0` or `MM\0*`, or BigTIFF's `II+\0` / `MM\0+`.
pub(super) fn signature(bytes: &[u8]) -> bool {
    matches!(
        bytes.get(..4),
        Some(b"II*\0" | b"MM\0*" | b"II+\0" | b"MM\0+")
    )
}

fn invalid(what: impl std::fmt::Display) -> ImageError {
    ImageError::Invalid(format!("cannot decode: TIFF {what}"))
}

/// Reads integers in the file's byte order, bounds-checked.
struct Bytes<'a> {
    bytes: &'a [u8],
    big_endian: bool,
}

impl Bytes<'_> {
    fn uint(&self, at: u64, size: u8) -> Option<u64> {
        let start = usize::try_from(at).ok()?;
        let b = self
            .bytes
            .get(start..start.checked_add(usize::from(size))?)?;
        let mut v = 0u64;
        for i in 0..b.len() {
            let byte = if self.big_endian {
                b[i]
            } else {
                b[b.len() - 1 - i]
            };
            v = (v << 8) | u64::from(byte);
        }
        Some(v)
    }
}

/// Walks the header and the main IFD chain. Refuses (`Invalid`) a file whose first IFD cannot
/// be read; past the first, an IFD outside the file, a loop back to an IFD already seen, or
/// more than `MAX_IFDS` IFDs end the walk with a warning (the pages counted up to there), as
/// libtiff reads the first page of such files.
pub(super) fn walk(bytes: &[u8]) -> Result<Container, ImageError> {
    let big_endian = match bytes.get(..2) {
        Some(b"II") => false,
        Some(b"MM") => true,
        _ => return Err(ImageError::Unsupported("not a TIFF file".into())),
    };
    let r = Bytes { bytes, big_endian };
    let bigtiff = match r.uint(2, 2) {
        Some(42) => false,
        Some(43) if r.uint(4, 2) == Some(8) && r.uint(6, 2) == Some(0) => true,
        _ => return Err(invalid("header is not TIFF 6.0 or BigTIFF")),
    };
    let first_ifd_at = if bigtiff { 8 } else { 4 };
    let ptr = if bigtiff { 8 } else { 4 };
    let mut next = r
        .uint(first_ifd_at, ptr)
        .ok_or_else(|| invalid("header is cut short"))?;
    let mut seen = std::collections::HashSet::new();
    let mut warnings = Vec::new();
    let (mut first, mut chosen, mut pages) = (None, None, 0u32);
    let mut walked = 0u32;
    while next != 0 {
        if walked == MAX_IFDS {
            warnings.push(format!(
                "TIFF with more than {MAX_IFDS} IFDs: pages counted up to there"
            ));
            break;
        }
        if !seen.insert(next) {
            warnings.push(format!(
                "TIFF IFD chain loops back to offset {next} after {walked} IFDs: pages counted up to there"
            ));
            break;
        }
        let ifd = match read_ifd(&r, next, bigtiff) {
            Ok(ifd) => ifd,
            Err(e) if first.is_some() => {
                warnings.push(format!(
                    "TIFF IFD {} not readable ({e}): it and the pages after it are ignored",
                    walked + 1
                ));
                break;
            }
            Err(e) => return Err(invalid(e)),
        };
        walked += 1;
        next = r.uint(ifd.next_at, ptr).unwrap_or(0);
        if ifd.full_resolution() {
            pages += 1;
            if chosen.is_none() {
                chosen = Some(ifd.clone());
            }
        }
        first.get_or_insert(ifd);
    }
    let first = first.ok_or_else(|| invalid("file has no IFD (no image)"))?;
    Ok(Container {
        big_endian,
        bigtiff,
        first_ifd_at,
        chosen: chosen.unwrap_or(first),
        pages: pages.max(1),
        warnings,
    })
}

/// One IFD's entries (count bounded by `MAX_ENTRIES` and by the file), keeping the inline
/// values of the tags read here.
fn read_ifd(r: &Bytes<'_>, offset: u64, bigtiff: bool) -> Result<Ifd, String> {
    let (count_size, entry_size, value_at) = if bigtiff { (8, 20, 12) } else { (2, 12, 8) };
    let count = r
        .uint(offset, count_size)
        .ok_or_else(|| format!("IFD at offset {offset} is outside the file"))?;
    if count > MAX_ENTRIES {
        return Err(format!(
            "IFD at offset {offset} has {count} entries, more than {MAX_ENTRIES}"
        ));
    }
    let entries = offset + u64::from(count_size);
    let next_at = entries + count * entry_size;
    let ptr = if bigtiff { 8 } else { 4 };
    if r.uint(next_at, ptr).is_none() {
        return Err(format!("IFD at offset {offset} is cut short"));
    }
    let mut ifd = Ifd {
        offset,
        entries: count,
        next_at,
        ..Ifd::default()
    };
    for i in 0..count {
        let at = entries + i * entry_size;
        let (Some(tag), Some(kind)) = (r.uint(at, 2), r.uint(at + 2, 2)) else {
            continue;
        };
        let n = if bigtiff {
            r.uint(at + 4, 8)
        } else {
            r.uint(at + 4, 4)
        };
        let entry = n.map(|count| Entry {
            at,
            kind: kind as u16,
            count,
        });
        match tag as u16 {
            tag::BITS_PER_SAMPLE => ifd.bits_per_sample = entry,
            tag::SAMPLE_FORMAT => ifd.sample_format = entry,
            tag::EXTRA_SAMPLES => ifd.extra_samples = n.unwrap_or(0),
            tag::PHOTOMETRIC => ifd.has_photometric = true,
            _ => {}
        }
        // SHORT, LONG, LONG8; one value, which then sits in the entry itself.
        let size = match kind {
            3 => 2,
            4 => 4,
            16 if bigtiff => 8,
            _ => continue,
        };
        if n != Some(1) {
            continue;
        }
        let field = Field {
            at: at + value_at,
            size,
            value: r.uint(at + value_at, size).unwrap_or(0),
        };
        match tag as u16 {
            tag::NEW_SUBFILE_TYPE => ifd.new_subfile = field.value,
            tag::SUBFILE_TYPE => ifd.old_subfile = field.value,
            tag::IMAGE_WIDTH => ifd.width = Some(field.value),
            tag::IMAGE_LENGTH => ifd.height = Some(field.value),
            tag::COMPRESSION => ifd.compression = Some(field.value),
            tag::PHOTOMETRIC => ifd.photometric = Some(field),
            tag::FILL_ORDER => ifd.fill_order = Some(field.value),
            tag::SAMPLES_PER_PIXEL => ifd.samples_per_pixel = Some(field.value),
            _ => {}
        }
    }
    Ok(ifd)
}

/// The patches (`view::View`) that make `chosen` the file's only IFD: the header points at it
/// and its next-IFD pointer says there is none. (Pages before it, such as a reduced-resolution
/// preview the `tiff` crate might refuse, are then never read by the crate.)
pub(super) fn only_chosen(c: &Container) -> Vec<(u64, Vec<u8>)> {
    let ptr = if c.bigtiff { 8 } else { 4 };
    vec![
        (c.first_ifd_at, encode(c.chosen.offset, ptr, c.big_endian)),
        (c.chosen.next_at, vec![0; usize::from(ptr)]),
    ]
}

/// `value` as `size` bytes in the file's byte order.
pub(super) fn encode(value: u64, size: u8, big_endian: bool) -> Vec<u8> {
    let le = value.to_le_bytes();
    let mut v = le[..usize::from(size)].to_vec();
    if big_endian {
        v.reverse();
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian classic TIFF whose IFDs (one entry: NewSubfileType) chain as `next`.
    fn chain(subfiles: &[u32], next: impl Fn(usize) -> u32) -> Vec<u8> {
        let mut b = b"II*\0\x08\0\0\0".to_vec();
        for (i, s) in subfiles.iter().enumerate() {
            b.extend_from_slice(&1u16.to_le_bytes());
            b.extend_from_slice(&254u16.to_le_bytes());
            b.extend_from_slice(&4u16.to_le_bytes());
            b.extend_from_slice(&1u32.to_le_bytes());
            b.extend_from_slice(&s.to_le_bytes());
            b.extend_from_slice(&next(i).to_le_bytes());
        }
        b
    }

    const IFD: u32 = 18; // bytes of one one-entry IFD

    #[test]
    fn pages_skip_reduced_resolution_subfiles() {
        let n = 4;
        let b = chain(&[1, 0, 1, 0], |i| {
            if i + 1 < n {
                8 + IFD * (i as u32 + 1)
            } else {
                0
            }
        });
        let c = walk(&b).unwrap();
        assert_eq!(c.pages, 2);
        assert_eq!(c.chosen.offset, u64::from(8 + IFD), "the second IFD");
        assert!(c.warnings.is_empty());
        assert_eq!(only_chosen(&c)[0], (4, 26u32.to_le_bytes().to_vec()));
    }

    #[test]
    fn a_loop_and_an_ifd_outside_the_file_end_the_walk_with_a_warning() {
        let b = chain(&[0, 0], |_| 8);
        let c = walk(&b).unwrap();
        assert_eq!(c.pages, 1);
        assert!(
            c.warnings[0].contains("loops back to offset 8"),
            "{:?}",
            c.warnings
        );
        let b = chain(&[0], |_| 1_000_000);
        let c = walk(&b).unwrap();
        assert!(
            c.warnings[0].contains("IFD 2 not readable"),
            "{:?}",
            c.warnings
        );
        let e = walk(&b"II*\0\xff\0\0\0"[..]).unwrap_err();
        assert!(matches!(e, ImageError::Invalid(m) if m.contains("outside the file")));
    }

    #[test]
    fn ifd_count_and_entry_count_are_capped() {
        let n = MAX_IFDS as usize + 5;
        let b = chain(&vec![0; n], |i| {
            if i + 1 < n {
                8 + IFD * (i as u32 + 1)
            } else {
                0
            }
        });
        let c = walk(&b).unwrap();
        assert_eq!(c.pages, MAX_IFDS);
        assert!(c.warnings[0].contains("more than 10000 IFDs"));
        let mut b = b"MM\0*\0\0\0\x08".to_vec();
        b.extend_from_slice(&5000u16.to_be_bytes());
        b.resize(8 + 2 + 5000 * 12 + 4, 0);
        let e = walk(&b).unwrap_err();
        assert!(matches!(e, ImageError::Invalid(m) if m.contains("5000 entries")));
    }

    #[test]
    fn values_are_encoded_in_the_file_byte_order() {
        assert_eq!(encode(0x0102, 2, true), [1, 2]);
        assert_eq!(encode(0x0102, 4, false), [2, 1, 0, 0]);
        assert!(signature(b"MM\0+\0\x08\0\0"));
        assert!(!signature(b"II*"));
    }
}
