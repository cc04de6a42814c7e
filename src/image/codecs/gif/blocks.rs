//! The GIF block stream (GIF89a specification §17–§27) walked as browsers walk it, without
//! decoding pixels: byte spans of every block, for the header read and for the `original`'s
//! byte-level rewrite. One pass, constant work per byte.
//!
//! What counts as what follows Chromium (Wuffs, `std/gif/decode_gif.wuffs`), checked against
//! Firefox (`nsGIFDecoder2.cpp`): a graphic control extension applies to the next image and the
//! last one before an image wins; one that is not 4 bytes followed by a terminator ends the
//! stream; comment, plain text and unknown extensions are skipped; any byte that starts no
//! block (not `!`, `,` or `;`) ends the stream, as does the end of the bytes.

use std::ops::Range;

/// The header, the logical screen descriptor and the global colour table (spec §17–§19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Screen {
    /// The logical screen, pixels.
    pub width: u16,
    pub height: u16,
    /// The global colour table's bytes (3 a colour), if there is one.
    pub global: Option<Range<usize>>,
    /// Where the blocks start: the end of the global colour table.
    pub end: usize,
}

/// Reads the header, the screen descriptor and the global colour table.
///
/// Errors (the message names the problem): no `GIF87a`/`GIF89a` signature (browsers accept
/// only those two), a descriptor or colour table cut short.
pub(super) fn screen(bytes: &[u8]) -> Result<Screen, String> {
    match bytes.get(..6) {
        Some(b"GIF87a" | b"GIF89a") => {}
        _ => return Err("not a GIF87a or GIF89a file".into()),
    }
    let Some(d) = bytes.get(6..13) else {
        return Err(format!(
            "GIF cut short in its logical screen descriptor ({} of 13 bytes)",
            bytes.len()
        ));
    };
    let global = table(d[4]).map(|len| 13..13 + len);
    let end = global.as_ref().map_or(13, |g| g.end);
    if end > bytes.len() {
        return Err(format!(
            "GIF cut short in its global colour table ({} of {} bytes)",
            bytes.len() - 13,
            end - 13
        ));
    }
    Ok(Screen {
        width: u16::from_le_bytes([d[0], d[1]]),
        height: u16::from_le_bytes([d[2], d[3]]),
        global,
        end,
    })
}

/// The length in bytes of the colour table a descriptor's packed field announces (spec §18,
/// §20: 3 × 2^(n+1) bytes when the top bit is set).
fn table(flags: u8) -> Option<usize> {
    (flags & 0x80 != 0).then(|| 3 << ((flags & 7) + 1))
}

/// One block of the stream, by the byte that starts it (spec §27, "Grammar").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Block {
    /// An extension (`!`, spec §23–§26): its label and its bytes, introducer to terminator.
    Extension {
        label: u8,
        span: Range<usize>,
        /// False when the bytes end inside it.
        complete: bool,
    },
    Image(Image),
    /// The trailer (`;`) at this offset.
    Trailer(usize),
    /// The bytes end where a block should start, or inside a block too short to read.
    End(usize),
    /// A byte that starts no block, at this offset.
    Unknown {
        at: usize,
        byte: u8,
    },
}

/// An image: descriptor, local colour table, LZW minimum code size and data sub-blocks
/// (spec §20–§22).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Image {
    /// Its bytes, from the image separator to past the block terminator (or to the end of the
    /// bytes when `complete` is false).
    pub span: Range<usize>,
    /// Position and size on the logical screen, pixels.
    pub left: u16,
    pub top: u16,
    pub width: u16,
    pub height: u16,
    pub interlaced: bool,
    /// The local colour table's bytes, if there is one.
    pub local: Option<Range<usize>>,
    /// The packed field's colour table size bits: 2^(n+1) colours.
    pub table_bits: u8,
    /// The LZW minimum code size, if the bytes reach it.
    pub min_code_size: Option<u8>,
    /// Where the data sub-blocks start (after the minimum code size).
    pub data: usize,
    /// False when the bytes end inside the image.
    pub complete: bool,
}

/// The blocks after the screen, in order, ending with the first `Trailer`, `End` or `Unknown`
/// (a block the bytes end inside is followed by `End`).
pub(super) struct Blocks<'a> {
    bytes: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Blocks<'a> {
    pub(super) fn new(bytes: &'a [u8], screen: &Screen) -> Self {
        Blocks {
            bytes,
            pos: screen.end,
            done: false,
        }
    }

    fn extension(&mut self, at: usize) -> Block {
        let Some(&label) = self.bytes.get(at + 1) else {
            self.done = true;
            return Block::End(at);
        };
        let (end, complete) = skip_sub_blocks(self.bytes, at + 2);
        self.pos = end;
        Block::Extension {
            label,
            span: at..end,
            complete,
        }
    }

    fn image(&mut self, at: usize) -> Block {
        let Some(d) = self.bytes.get(at + 1..at + 10) else {
            self.done = true;
            return Block::End(at);
        };
        let word = |i: usize| u16::from_le_bytes([d[i], d[i + 1]]);
        let flags = d[8];
        let local = table(flags).map(|len| at + 10..at + 10 + len);
        let code_at = local.as_ref().map_or(at + 10, |l| l.end);
        let min_code_size = self.bytes.get(code_at).copied();
        let (end, complete) = match min_code_size {
            Some(_) => skip_sub_blocks(self.bytes, code_at + 1),
            None => (self.bytes.len(), false),
        };
        self.pos = end;
        Block::Image(Image {
            span: at..end,
            left: word(0),
            top: word(2),
            width: word(4),
            height: word(6),
            interlaced: flags & 0x40 != 0,
            local,
            table_bits: (flags & 7) + 1,
            min_code_size,
            data: (code_at + 1).min(self.bytes.len()),
            complete,
        })
    }
}

impl Iterator for Blocks<'_> {
    type Item = Block;

    fn next(&mut self) -> Option<Block> {
        if self.done {
            return None;
        }
        let at = self.pos;
        let Some(&byte) = self.bytes.get(at) else {
            self.done = true;
            return Some(Block::End(at));
        };
        Some(match byte {
            0x21 => self.extension(at),
            0x2C => self.image(at),
            0x3B => {
                self.done = true;
                Block::Trailer(at)
            }
            _ => {
                self.done = true;
                Block::Unknown { at, byte }
            }
        })
    }
}

/// Skips the data sub-blocks starting at `from` (spec §15: a length byte, that many bytes, until
/// a zero length): the offset past the terminator, and whether the bytes held it.
pub(super) fn skip_sub_blocks(bytes: &[u8], from: usize) -> (usize, bool) {
    let mut pos = from;
    loop {
        match bytes.get(pos) {
            None => return (bytes.len(), false),
            Some(0) => return (pos + 1, true),
            Some(&len) => {
                pos += 1 + usize::from(len);
                if pos > bytes.len() {
                    return (bytes.len(), false);
                }
            }
        }
    }
}

/// A cut-short image block closed: its descriptor, colour table, minimum code size and the
/// sub-blocks there are (the last shortened to its bytes), then the terminator. For an image
/// whose bytes reach its minimum code size.
pub(super) fn closed(bytes: &[u8], image: &Image) -> Vec<u8> {
    let mut out = bytes[image.span.start..image.data.min(image.span.end)].to_vec();
    for data in sub_blocks(bytes, image.data) {
        if data.is_empty() {
            break;
        }
        out.push(data.len() as u8);
        out.extend_from_slice(data);
    }
    out.push(0);
    out
}

/// The data sub-blocks starting at `from`, in order, up to the terminator or the end of the
/// bytes (a sub-block cut short is yielded as far as it goes).
pub(super) fn sub_blocks(bytes: &[u8], from: usize) -> impl Iterator<Item = &[u8]> {
    let mut pos = from;
    std::iter::from_fn(move || {
        let len = usize::from(*bytes.get(pos).filter(|&&len| len != 0)?);
        let data = bytes.get(pos + 1..)?;
        let data = &data[..len.min(data.len())];
        pos += 1 + len;
        Some(data)
    })
}

/// A graphic control extension that browsers read (spec §23): one sub-block of 4 bytes, then
/// the terminator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Control {
    /// Its bytes, introducer to terminator.
    pub span: Range<usize>,
    /// The transparent colour index, when the flag is set.
    pub transparent: Option<u8>,
}

/// Reads the graphic control extension at `span`; `None` when it is malformed (Chromium stops
/// the stream there: "bad graphic control").
pub(super) fn control(bytes: &[u8], span: Range<usize>) -> Option<Control> {
    let body = bytes.get(span.start + 2..span.end)?;
    let [4, flags, _, _, index, 0] = *body else {
        return None;
    };
    Some(Control {
        span,
        transparent: (flags & 1 != 0).then_some(index),
    })
}

/// What an application extension is (spec §26), by its 11-byte identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Application {
    /// NETSCAPE2.0 or ANIMEXTS1.0 with a loop sub-block (3 bytes, id 1) as browsers read it:
    /// the identifier's offset and the loop count (0: forever).
    Looping {
        ident: usize,
        loops: u16,
    },
    /// NETSCAPE2.0 or ANIMEXTS1.0 without a loop sub-block browsers read.
    BadLooping,
    /// `XMP DataXMP`.
    Xmp,
    /// `ICCRGBG1012`: an ICC profile, which neither Chromium nor Firefox applies.
    Icc,
    Other,
}

/// Reads the application extension at `span` (its label already known to be 0xFF).
pub(super) fn application(bytes: &[u8], span: &Range<usize>) -> Application {
    let mut subs = sub_blocks(&bytes[..span.end], span.start + 2);
    let ident = subs.next();
    match ident {
        Some(b"NETSCAPE2.0" | b"ANIMEXTS1.0") => match subs.next() {
            Some(&[1, lo, hi]) => Application::Looping {
                ident: span.start + 3,
                loops: u16::from_le_bytes([lo, hi]),
            },
            _ => Application::BadLooping,
        },
        Some(b"XMP DataXMP") => Application::Xmp,
        Some(b"ICCRGBG1012") => Application::Icc,
        _ => Application::Other,
    }
}

/// Extension labels (spec §23–§26).
pub(super) const GRAPHIC_CONTROL: u8 = 0xF9;
pub(super) const APPLICATION: u8 = 0xFF;
pub(super) const COMMENT: u8 = 0xFE;
pub(super) const PLAIN_TEXT: u8 = 0x01;
