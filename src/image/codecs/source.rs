//! The input's bytes as the decoders read them: as downloaded, or, for a damaged but complete
//! file, a repaired copy (PRODUCT.md "Real-world inputs": a JPEG without its end-of-image
//! marker where its image data ends, a PNG whose ancillary chunk has a bad CRC or whose `IEND`
//! is missing, a WebP followed by other bytes). The archive always gets the bytes as
//! downloaded; the decoders and the metadata-free `original` read these.

use std::io::Cursor;
use std::sync::Arc;

use super::{jpeg, png, webp};
use crate::image::codecs::Format;

/// The bytes the decoders read. Cheap to clone: a repaired copy is shared.
#[derive(Debug, Clone)]
pub(in crate::image) enum Source<'a> {
    Downloaded(&'a [u8]),
    Repaired(Arc<[u8]>),
}

impl AsRef<[u8]> for Source<'_> {
    fn as_ref(&self) -> &[u8] {
        match self {
            Source::Downloaded(b) => b,
            Source::Repaired(b) => b,
        }
    }
}

impl std::ops::Deref for Source<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_ref()
    }
}

impl<'a> Source<'a> {
    /// The bytes behind a reader, for decoders that read through `BufRead` + `Seek`.
    pub(in crate::image) fn reader(&self) -> Cursor<Source<'a>> {
        Cursor::new(self.clone())
    }
}

/// `bytes` made whole where the format allows it without guessing, with a warning saying what
/// was repaired; as they are otherwise. What cannot be repaired is left for the decoder to
/// refuse.
pub(in crate::image) fn repair(format: Format, bytes: &[u8]) -> (Source<'_>, Option<String>) {
    let repaired = match format {
        Format::Jpeg => jpeg::repair(bytes),
        Format::Png => png::repair(bytes),
        Format::WebP => {
            // Bytes after the RIFF container are not the image's: left out, no copy needed.
            let end = webp::riff_end(bytes);
            let warning = (end < bytes.len()).then(|| {
                format!(
                    "{} bytes after the WebP's RIFF container ignored",
                    bytes.len() - end
                )
            });
            return (Source::Downloaded(&bytes[..end]), warning);
        }
        // Their decoders take what a browser shows of a damaged file themselves.
        _ => None,
    };
    match repaired {
        Some((fixed, warning)) => (Source::Repaired(fixed.into()), Some(warning)),
        None => (Source::Downloaded(bytes), None),
    }
}
