//! The rows of the chosen page, one band at a time: a row of strips or tiles decoded by the
//! `tiff` crate (TIFF 6.0 sections 3 and 15), or, for uncompressed strips, rows read straight
//! from the input — so a scanner master stored as one 400 MB strip still needs a band of a
//! few rows, not the image. A band holds full-width rows of stored samples in native byte
//! order (`stride` samples a pixel); planar data is interleaved into it.

use tiff::decoder::ChunkType;
use tiff::tags::Tag;

use super::samples::{compression, Samples};
use super::{tiff_error, Tiff};
use crate::image::ImageError;

/// Rows of a band read straight from uncompressed strips.
const RAW_BAND_ROWS: u32 = 32;

/// Decoded rows held at once.
#[derive(Debug, Default)]
pub(super) struct Band {
    pub data: Vec<u8>,
    /// The first row held, and how many.
    pub top: u32,
    pub rows: u32,
    /// Samples a pixel in `data`.
    pub stride: u16,
}

/// How the page is cut into chunks, and how a band is made of them.
#[derive(Debug)]
pub(super) struct Chunks {
    width: u32,
    height: u32,
    /// Strip or tile size, pixels (a strip is the image's width), at most the image's.
    chunk: (u32, u32),
    /// The tile or strip size as stored (a JPEG chunk codes all of it).
    stored_chunk: (u32, u32),
    tiles: bool,
    /// Chunks across a row of chunks (1 for strips), and in one plane.
    across: u32,
    per_plane: u32,
    offsets: Vec<u64>,
    counts: Vec<u64>,
    /// Uncompressed strips: read by us, not the crate.
    raw: bool,
    /// Samples a pixel the crate gives for chunky data.
    crate_stride: u16,
    /// The file's byte order (for rows read by us).
    big_endian: bool,
    /// FillOrder 2 on a coding where bits are reversed.
    reversed: bool,
}

impl Chunks {
    pub fn new(
        t: &mut Tiff<'_>,
        samples: &Samples,
        (width, height): (u32, u32),
        big_endian: bool,
    ) -> Result<Self, ImageError> {
        let tiles = t.get_chunk_type() == ChunkType::Tile;
        let (w, h) = t.chunk_dimensions();
        let chunk = (w.min(width), h.min(height));
        let (off_tag, count_tag) = match tiles {
            true => (Tag::TileOffsets, Tag::TileByteCounts),
            false => (Tag::StripOffsets, Tag::StripByteCounts),
        };
        let list = |t: &mut Tiff<'_>, tag| {
            t.find_tag(tag)
                .map_err(tiff_error)?
                .map(|v| v.into_u64_vec().map_err(tiff_error))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let offsets = list(t, off_tag)?;
        let counts = list(t, count_tag)?;
        let across = width.div_ceil(w);
        let per_plane = across * height.div_ceil(h);
        let planes = if samples.planar { samples.stored } else { 1 };
        if offsets.len() as u64 != u64::from(per_plane) * u64::from(planes) {
            return Err(ImageError::Invalid(format!(
                "cannot decode: TIFF with {} chunk offsets for {per_plane} chunks per plane",
                offsets.len()
            )));
        }
        let crate_stride = match samples.planar {
            true => 1,
            false => t.colortype().map_err(tiff_error)?.num_samples(),
        };
        let reversed = samples_reversed(t, samples)?;
        Ok(Chunks {
            width,
            height,
            chunk,
            stored_chunk: (w, h),
            tiles,
            across,
            per_plane,
            offsets,
            counts,
            raw: samples.compression == compression::NONE && !tiles,
            crate_stride,
            big_endian,
            reversed,
        })
    }

    /// Rows in a band (the last may have fewer).
    pub fn band_rows(&self) -> u32 {
        match self.raw {
            true => RAW_BAND_ROWS.min(self.height),
            false => self.chunk.1,
        }
    }

    /// Samples a pixel in a band.
    pub fn stride(&self, samples: &Samples) -> u16 {
        match (samples.planar, self.raw) {
            (true, _) => samples.used(),
            (false, true) => samples.stored,
            (false, false) => self.crate_stride,
        }
    }

    /// Bytes a band needs, and the chunk buffer beside it (tiles and planes), at most.
    pub fn band_bytes(&self, samples: &Samples) -> u64 {
        let bits = u64::from(samples.bits);
        let row = |w: u32, spp: u16| (u64::from(w) * u64::from(spp) * bits).div_ceil(8);
        let band = row(self.width, self.stride(samples)) * u64::from(self.band_rows());
        let chunk = match (self.raw, self.tiles || samples.planar) {
            (false, true) => row(self.chunk.0, self.crate_stride) * u64::from(self.chunk.1),
            _ => 0,
        };
        band + chunk
    }

    /// Decodes the band starting at row `top` into `band`.
    pub fn fill(
        &self,
        t: &mut Tiff<'_>,
        samples: &Samples,
        band: &mut Band,
        top: u32,
    ) -> Result<(), ImageError> {
        let rows = self.band_rows().min(self.height - top);
        band.top = top;
        band.rows = rows;
        band.stride = self.stride(samples);
        let row_bytes =
            (self.width as usize * usize::from(band.stride) * usize::from(samples.bits))
                .div_ceil(8);
        band.data.resize(row_bytes * rows as usize, 0);
        t.inner().reverse_bits = self.reversed;
        let done = match self.raw {
            true => self.fill_raw(t, samples, band, row_bytes),
            false => self.fill_chunks(t, samples, band, row_bytes),
        };
        t.inner().reverse_bits = false;
        done
    }

    fn fill_chunks(
        &self,
        t: &mut Tiff<'_>,
        samples: &Samples,
        band: &mut Band,
        row_bytes: usize,
    ) -> Result<(), ImageError> {
        let band_index = band.top / self.chunk.1;
        let planes = if samples.planar { samples.used() } else { 1 };
        let mut chunk_buf = Vec::new();
        for plane in 0..u32::from(planes) {
            for x in 0..self.across {
                let index = plane * self.per_plane + band_index * self.across + x;
                self.check_jpeg(t, samples, index)?;
                let layout = t.image_chunk_buffer_layout(index).map_err(tiff_error)?;
                let direct = !self.tiles && !samples.planar;
                let dst = match direct {
                    true => &mut band.data[..],
                    false => {
                        chunk_buf.resize(layout.len, 0);
                        &mut chunk_buf[..]
                    }
                };
                if dst.len() < layout.len {
                    return Err(ImageError::Internal(
                        "TIFF band smaller than its strip".into(),
                    ));
                }
                t.read_chunk_bytes(index, &mut dst[..layout.len])
                    .map_err(tiff_error)?;
                if !direct {
                    let stride = layout.row_stride.map_or(layout.len, |s| s.get());
                    let x0 = x * self.chunk.0;
                    let w = self.chunk.0.min(self.width - x0);
                    place(&chunk_buf, stride, band, row_bytes, (x0, w), plane, samples);
                }
            }
        }
        Ok(())
    }

    /// A JPEG chunk's frame size, checked against the chunk before zune-jpeg allocates what
    /// the frame header claims.
    fn check_jpeg(
        &self,
        t: &mut Tiff<'_>,
        samples: &Samples,
        index: u32,
    ) -> Result<(), ImageError> {
        if samples.compression != compression::JPEG {
            return Ok(());
        }
        let at = self.offsets[index as usize];
        let len = self.counts.get(index as usize).copied().unwrap_or(0);
        let data = t.inner().slice(at, len).unwrap_or(&[]);
        let (cw, ch) = self.stored_chunk;
        match jpeg_frame(data) {
            Some((_, scans)) if scans > MAX_SCANS => Err(ImageError::Invalid(format!(
                "cannot decode: TIFF JPEG chunk {index} has more than {MAX_SCANS} scans"
            ))),
            Some(((w, h), _)) if w <= cw.next_multiple_of(16) && h <= ch.next_multiple_of(16) => {
                Ok(())
            }
            Some(((w, h), _)) => Err(ImageError::Invalid(format!(
                "cannot decode: TIFF JPEG chunk {index} is {w}x{h}, larger than its {cw}x{ch} chunk"
            ))),
            None => Err(ImageError::Invalid(format!(
                "cannot decode: TIFF JPEG chunk {index} has no frame header"
            ))),
        }
    }

    fn fill_raw(
        &self,
        t: &mut Tiff<'_>,
        samples: &Samples,
        band: &mut Band,
        row_bytes: usize,
    ) -> Result<(), ImageError> {
        let planes = if samples.planar { samples.used() } else { 1 };
        let plane_row = (self.width as usize * usize::from(samples.bits)).div_ceil(8);
        let src_row = if samples.planar { plane_row } else { row_bytes };
        let mut buf = vec![0u8; src_row];
        let bytes = usize::from(samples.bits.div_ceil(8));
        for r in 0..band.rows {
            let y = band.top + r;
            let row = &mut band.data[r as usize * row_bytes..][..row_bytes];
            for plane in 0..u32::from(planes) {
                let strip = plane * self.per_plane + y / self.chunk.1;
                let at =
                    self.offsets[strip as usize] + u64::from(y % self.chunk.1) * src_row as u64;
                let dst = if samples.planar {
                    &mut buf[..]
                } else {
                    &mut *row
                };
                if !t.inner().read_at(at, dst) {
                    return Err(ImageError::Invalid(format!(
                        "cannot decode: TIFF strip {strip} is cut short (truncated file)"
                    )));
                }
                let spp = if samples.planar {
                    1
                } else {
                    usize::from(samples.stored)
                };
                fix_row(dst, samples, spp, self.big_endian);
                if samples.planar {
                    for (i, s) in buf.chunks_exact(bytes).enumerate() {
                        let o = (i * usize::from(band.stride) + plane as usize) * bytes;
                        row[o..o + bytes].copy_from_slice(s);
                    }
                }
            }
        }
        Ok(())
    }
}

/// FillOrder 2 (TIFF 6.0 section 8: bits filled from the low end) on coding where libtiff
/// reverses the bits: everything but JPEG and Deflate, whose codecs ask libtiff not to.
fn samples_reversed(t: &mut Tiff<'_>, samples: &Samples) -> Result<bool, ImageError> {
    let fill_order = t
        .find_tag_unsigned::<u16>(Tag::FillOrder)
        .map_err(tiff_error)?;
    Ok(fill_order == Some(2)
        && !matches!(
            samples.compression,
            compression::JPEG | compression::DEFLATE | compression::DEFLATE_OLD
        ))
}

/// A row read straight from the file in its byte order and with its predictor (`spp` samples
/// a pixel as stored) into native 16-bit samples and plain values.
fn fix_row(row: &mut [u8], samples: &Samples, spp: usize, big_endian: bool) {
    if samples.bits == 16 && big_endian != cfg!(target_endian = "big") {
        row.chunks_exact_mut(2).for_each(|s| s.swap(0, 1));
    }
    if !samples.predictor {
        return;
    }
    match samples.bits {
        8 => {
            for i in spp..row.len() {
                row[i] = row[i].wrapping_add(row[i - spp]);
            }
        }
        16 => {
            for i in (2 * spp..row.len() - 1).step_by(2) {
                let prev = u16::from_ne_bytes([row[i - 2 * spp], row[i - 2 * spp + 1]]);
                let v = u16::from_ne_bytes([row[i], row[i + 1]]).wrapping_add(prev);
                row[i..i + 2].copy_from_slice(&v.to_ne_bytes());
            }
        }
        _ => {}
    }
}

/// Copies one decoded chunk (`stride` bytes a row) into the band at columns `x0..x0 + w`:
/// whole rows for chunky data, one sample of each pixel (`plane`) for planar data.
fn place(
    chunk: &[u8],
    stride: usize,
    band: &mut Band,
    row_bytes: usize,
    (x0, w): (u32, u32),
    plane: u32,
    samples: &Samples,
) {
    let bits = usize::from(samples.bits);
    let band_stride = usize::from(band.stride);
    for (r, src) in chunk.chunks(stride).take(band.rows as usize).enumerate() {
        let dst = &mut band.data[r * row_bytes..][..row_bytes];
        if !samples.planar {
            let start = x0 as usize * band_stride * bits / 8;
            let n = (w as usize * band_stride * bits).div_ceil(8).min(src.len());
            dst[start..start + n].copy_from_slice(&src[..n]);
            continue;
        }
        let bytes = bits / 8;
        for (i, s) in src.chunks_exact(bytes).take(w as usize).enumerate() {
            let o = ((x0 as usize + i) * band_stride + plane as usize) * bytes;
            dst[o..o + bytes].copy_from_slice(s);
        }
    }
}

/// The most scans (SOS markers) a JPEG chunk may have: each scan of a progressive stream is a
/// pass over its coefficients, so a stream of thousands of tiny scans holds the decoder for
/// minutes. The worker's JPEG rule (`jpeg.rs` `MAX_SCANS`, libjpeg-turbo's `-maxscans`).
const MAX_SCANS: u32 = 100;

/// A JPEG stream's frame size (SOFn width and height) and its scan count, found by walking its
/// marker segments (and passing over each scan's entropy-coded data); `None` without a frame
/// header.
fn jpeg_frame(data: &[u8]) -> Option<((u32, u32), u32)> {
    let (mut i, mut frame, mut scans) = (2, None, 0u32);
    while i + 4 <= data.len() {
        if data[i] != 0xFF {
            return frame.map(|f| (f, scans));
        }
        let marker = data[i + 1];
        if marker == 0xFF || (0xD0..=0xD7).contains(&marker) {
            i += if marker == 0xFF { 1 } else { 2 };
            continue;
        }
        if marker == 0xD9 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
        let sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if sof && frame.is_none() {
            let f = data.get(i + 5..i + 9)?;
            let h = u32::from(u16::from_be_bytes([f[0], f[1]]));
            frame = Some((u32::from(u16::from_be_bytes([f[2], f[3]])), h));
        }
        i += 2 + len;
        if marker == 0xDA {
            scans += 1;
            if scans > MAX_SCANS {
                break;
            }
            i = entropy_end(data, i);
        }
    }
    frame.map(|f| (f, scans))
}

/// Where a scan's entropy-coded data starting at `i` ends: the next marker that is neither a
/// stuffed 0xFF00 nor a restart marker.
fn entropy_end(data: &[u8], mut i: usize) -> usize {
    while let Some(at) = data.get(i..).and_then(|d| memchr::memchr(0xFF, d)) {
        let at = i + at;
        match data.get(at + 1) {
            Some(0x00 | 0xD0..=0xD7 | 0xFF) => i = at + 1,
            Some(_) => return at,
            None => return data.len(),
        }
    }
    data.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jpeg_frame_size_and_scans_are_found_past_other_segments() {
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xDB, 0, 4, 1, 2];
        j.extend_from_slice(&[0xFF, 0xC2, 0, 11, 8, 0, 16, 0, 32, 3, 1, 0x22, 0]);
        assert_eq!(jpeg_frame(&j), Some(((32, 16), 0)));
        assert_eq!(jpeg_frame(&j[..10]), None);
        assert_eq!(jpeg_frame(&[0xFF, 0xD8, 0, 0, 0, 0]), None);
        // Scans whose data hold stuffed bytes and restart markers; the count stops past 100.
        let scan = [
            0xFF, 0xDA, 0, 3, 0, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56,
        ];
        for n in [3usize, 150] {
            let mut k = j.clone();
            (0..n).for_each(|_| k.extend_from_slice(&scan));
            k.extend_from_slice(&[0xFF, 0xD9]);
            assert_eq!(
                jpeg_frame(&k),
                Some(((32, 16), n.min(101) as u32)),
                "{n} scans"
            );
        }
    }
}
