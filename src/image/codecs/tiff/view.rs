//! The bytes the `tiff` crate reads: the input, seen through a few small patches (TIFF 6.0
//! fields rewritten in place, never copied), optionally followed by a short tail of our own
//! (a rewritten IFD, `repair.rs`), and, while strip or tile data is read, with each byte's
//! bits reversed (FillOrder 2).
//!
//! The patches let the crate decode what it refuses or gets wrong by itself: the chosen page
//! made the file's first (and only) IFD, a PhotometricInterpretation it does not take
//! (palette, CIELab) or would invert behind our back (WhiteIsZero) turned into one whose
//! samples it hands over untouched (`samples.rs` interprets them by the real one), and the
//! repairs of `repair.rs` (per-sample counts cut, a missing PhotometricInterpretation added).

use std::io::{self, Read, Seek, SeekFrom};

/// Reversed bit order of every byte value (FillOrder 2: the first pixel in the low bit).
const REVERSED: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).reverse_bits();
        i += 1;
    }
    t
};

/// A patch: (file offset, bytes that replace the input's there); a few bytes each.
pub(super) type Patch = (u64, Vec<u8>);

/// The input with `patches` laid over it (a later patch wins where two overlap), then zeros up
/// to `tail_at` and the `tail`; `Read + Seek` for the `tiff` crate.
#[derive(Debug)]
pub(super) struct View<'a> {
    bytes: &'a [u8],
    pos: u64,
    patches: Vec<Patch>,
    /// Where `tail` starts: at or after the input's end.
    tail_at: u64,
    /// Bytes served after the input (a rewritten IFD, at most about 20 KB); empty for none.
    tail: Vec<u8>,
    /// Reads return each byte's bits reversed (set only while strip or tile data is read).
    pub reverse_bits: bool,
}

impl<'a> View<'a> {
    pub fn new(bytes: &'a [u8], patches: Vec<Patch>) -> Self {
        View {
            bytes,
            pos: 0,
            patches,
            tail_at: bytes.len() as u64,
            tail: Vec::new(),
            reverse_bits: false,
        }
    }

    /// The same view with `tail` served from `at` (rounded up to the input's end if before
    /// it), and the bytes between the input's end and `at` read as zeros.
    pub fn with_tail(mut self, at: u64, tail: Vec<u8>) -> Self {
        self.tail_at = at.max(self.bytes.len() as u64);
        self.tail = tail;
        self
    }

    /// Bytes the view holds: the input's, or up to the tail's end.
    fn len(&self) -> u64 {
        match self.tail.is_empty() {
            true => self.bytes.len() as u64,
            false => self.tail_at + self.tail.len() as u64,
        }
    }

    /// `len` bytes of the input from `at`, as stored (no patch, no bit reversal); `None` past
    /// its end.
    pub fn slice(&self, at: u64, len: u64) -> Option<&'a [u8]> {
        let start = usize::try_from(at).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        self.bytes.get(start..end.min(self.bytes.len()))
    }

    /// Copies `out.len()` bytes from `at` (patches and bit order applied); `false` when the
    /// view ends first (nothing is then promised about `out`).
    pub fn read_at(&self, at: u64, out: &mut [u8]) -> bool {
        if at
            .checked_add(out.len() as u64)
            .is_none_or(|end| end > self.len())
        {
            return false;
        }
        // The input's part, then (past its end, a few kilobytes at most) zeros and the tail.
        let input = (self.bytes.len() as u64)
            .saturating_sub(at)
            .min(out.len() as u64) as usize;
        if input > 0 {
            let start = at as usize;
            out[..input].copy_from_slice(&self.bytes[start..start + input]);
        }
        for (i, b) in out[input..].iter_mut().enumerate() {
            let p = at + (input + i) as u64;
            *b = p
                .checked_sub(self.tail_at)
                .map_or(0, |t| self.tail[t as usize]);
        }
        self.overlay(at, out);
        true
    }

    fn overlay(&self, at: u64, out: &mut [u8]) {
        let end = at + out.len() as u64;
        for (p_at, p) in &self.patches {
            let p_end = p_at + p.len() as u64;
            if *p_at >= end || p_end <= at {
                continue;
            }
            let from = (*p_at).max(at);
            let to = p_end.min(end);
            let dst = &mut out[(from - at) as usize..(to - at) as usize];
            dst.copy_from_slice(&p[(from - p_at) as usize..(to - p_at) as usize]);
        }
        if self.reverse_bits {
            out.iter_mut().for_each(|b| *b = REVERSED[usize::from(*b)]);
        }
    }
}

impl Read for View<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (self.len().saturating_sub(self.pos)).min(buf.len() as u64) as usize;
        let at = self.pos;
        if n > 0 && !self.read_at(at, &mut buf[..n]) {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for View<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let base = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let pos = base.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        self.pos = pos;
        Ok(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_and_reversed_bits_are_seen_through_reads() {
        let bytes = [1u8, 2, 3, 4, 5, 6];
        let mut v = View::new(&bytes, vec![(2, vec![9, 9]), (5, vec![7, 7])]);
        let mut out = [0u8; 6];
        v.read_exact(&mut out).unwrap();
        assert_eq!(out, [1, 2, 9, 9, 5, 7], "a patch past the end is cut");
        v.seek(SeekFrom::Start(3)).unwrap();
        v.reverse_bits = true;
        let mut two = [0u8; 2];
        v.read_exact(&mut two).unwrap();
        assert_eq!(two, [0b1001_0000, 0b1010_0000]);
        assert!(v.read_exact(&mut [0u8; 2]).is_err(), "only one byte left");
        assert!(v.seek(SeekFrom::Current(-100)).is_err());
    }

    #[test]
    fn a_tail_is_served_after_zeros_past_the_input() {
        let bytes = [1u8, 2, 3];
        let mut v = View::new(&bytes, vec![(5, vec![8])]).with_tail(4, vec![7, 7, 9]);
        let mut out = [0u8; 7];
        v.read_exact(&mut out).unwrap();
        assert_eq!(
            out,
            [1, 2, 3, 0, 7, 8, 9],
            "input, a zero, the tail (patched)"
        );
        assert!(
            v.read_exact(&mut [0u8; 1]).is_err(),
            "the view ends with the tail"
        );
        let mut two = [0u8; 2];
        assert!(v.read_at(2, &mut two));
        assert_eq!(two, [3, 0]);
        assert!(!v.read_at(6, &mut two));
        assert_eq!(
            v.slice(2, 4),
            Some(&bytes[2..]),
            "slices are of the input only"
        );
    }
}
