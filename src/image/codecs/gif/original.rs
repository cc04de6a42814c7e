//! The GIF `original`: the file minus its metadata (PRODUCT.md "Input formats": "the GIF minus
//! metadata (comments, XMP, application extensions except looping)"), rewritten block by block
//! with the image data byte for byte.
//!
//! Kept: the header, the logical screen descriptor and global colour table, each image's
//! graphic control extension (the last one before it, the one browsers apply), image
//! descriptor, local colour table and data sub-blocks, the looping extension, the trailer.
//! Dropped: comment, XMP, ICC and every other application extension, and plain text
//! extensions: browsers do not draw plain text (Chromium and Firefox skip it), so dropping it
//! changes nothing anyone sees, and its text is exactly the kind of content metadata removal
//! is for. Also dropped: anything after the trailer, and anything after the point where
//! browsers stop reading (a byte that starts no block, a malformed graphic control extension).

use super::blocks::{self, Image};
use super::walk::{Item, Skipped, Stop, Walk};

/// The GIF without its metadata (see the module's doc for what is kept), in one pass over the
/// blocks. The output is always a structurally valid GIF: a cut-short first image is closed
/// (its last sub-block shortened to the bytes there are, the terminator and trailer added),
/// a later one is dropped, and the trailer is added where it is missing. What was dropped or
/// repaired is pushed to `warnings`.
///
/// Meant for bytes `super::open` accepted; bytes that do not even hold a GIF screen descriptor
/// and colour table are returned unchanged (they hold no block, so no metadata).
pub(crate) fn strip(bytes: &[u8], warnings: &mut Vec<String>) -> Vec<u8> {
    let Ok(screen) = blocks::screen(bytes) else {
        return bytes.to_vec();
    };
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..screen.end]);
    let mut dropped = Dropped::default();
    let mut frames = 0u64;
    for item in Walk::new(bytes, &screen) {
        match item {
            Item::Frame { control, image } if image.complete || first_readable(&image, frames) => {
                if let Some(control) = control {
                    out.extend_from_slice(&bytes[control.span]);
                }
                if image.complete {
                    out.extend_from_slice(&bytes[image.span]);
                } else {
                    out.extend_from_slice(&blocks::closed(bytes, &image));
                    warnings.push(
                        "original: the GIF ends inside its first frame; the frame was closed \
                         with the bytes there are"
                            .into(),
                    );
                }
                frames += 1;
            }
            Item::Frame { .. } => warnings.push(format!(
                "original: frame {} of the GIF is cut short and was dropped",
                frames + 1
            )),
            Item::Looping { ident, loops, .. } => {
                out.extend_from_slice(&[0x21, blocks::APPLICATION, 11]);
                out.extend_from_slice(&bytes[ident..ident + 11]);
                out.extend_from_slice(&[3, 1]);
                out.extend_from_slice(&loops.to_le_bytes());
                out.push(0);
            }
            Item::Skipped(kind) => dropped.add(kind),
            Item::Stop(stop) => finish(bytes, stop, frames, warnings),
        }
    }
    out.push(0x3B);
    dropped.report(warnings);
    out
}

/// Notes how the stream ended, for the warnings.
fn finish(bytes: &[u8], stop: Stop, frames: u64, warnings: &mut Vec<String>) {
    match stop {
        Stop::Trailer(at) if at + 1 < bytes.len() => warnings.push(format!(
            "original: {} bytes after the GIF's trailer dropped",
            bytes.len() - at - 1
        )),
        Stop::Trailer(_) => {}
        Stop::Missing(_) => warnings.push("original: the GIF's missing trailer was added".into()),
        other => {
            let problem = other.problem().unwrap_or_default();
            let rest = match other {
                Stop::Unknown { at, .. } | Stop::BadControl(at) => bytes.len() - at,
                _ => 0,
            };
            warnings.push(format!(
                "original: {problem}; the {rest} bytes from there were dropped (browsers stop \
                 there too, after {frames} frame(s))"
            ));
        }
    }
}

/// True for a cut-short first image that reaches its data (its minimum code size): kept and
/// closed, so that the output still has a frame.
fn first_readable(image: &Image, frames: u64) -> bool {
    frames == 0 && image.min_code_size.is_some()
}

/// How many of each kind of extension were dropped.
#[derive(Default)]
struct Dropped(Vec<(Skipped, usize)>);

impl Dropped {
    fn add(&mut self, kind: Skipped) {
        match self.0.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.0.push((kind, 1)),
        }
    }

    fn report(&self, warnings: &mut Vec<String>) {
        if self.0.is_empty() {
            return;
        }
        let list: Vec<String> = self
            .0
            .iter()
            .map(|(kind, n)| match n {
                1 => kind.name(),
                n => format!("{} (×{n})", kind.name()),
            })
            .collect();
        warnings.push(format!("original: dropped {}", list.join(", ")));
    }
}
