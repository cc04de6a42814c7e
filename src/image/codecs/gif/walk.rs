//! The GIF stream as browsers show it, over the blocks of `blocks.rs`: frames (an image with
//! the graphic control extension that applies to it), looping extensions, the extensions
//! browsers skip, and where they stop reading.

use std::ops::Range;

use super::blocks::{self, Application, Block, Blocks, Control, Image, Screen};

/// One thing in the stream, in order; the last is a `Stop`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Item {
    /// An image and the last graphic control extension before it (Chromium: "the last one
    /// wins entirely"); `image.complete` is false when the bytes end inside it.
    Frame {
        control: Option<Control>,
        image: Image,
    },
    /// A NETSCAPE2.0 or ANIMEXTS1.0 loop count browsers read (0: forever).
    Looping {
        span: Range<usize>,
        ident: usize,
        loops: u16,
    },
    /// An extension browsers skip.
    Skipped(Skipped),
    Stop(Stop),
}

/// The kinds of extension browsers skip (and the `original` drops).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Skipped {
    Comment,
    PlainText,
    Xmp,
    Icc,
    /// An application extension other than XMP, ICC and a readable looping extension.
    Application,
    /// An extension with a label the specification does not define.
    Unknown(u8),
}

impl Skipped {
    /// Its name for people, singular.
    pub(super) fn name(self) -> String {
        match self {
            Skipped::Comment => "comment extension".into(),
            Skipped::PlainText => "plain text extension".into(),
            Skipped::Xmp => "XMP application extension".into(),
            Skipped::Icc => "ICC profile application extension (ICCRGBG1012)".into(),
            Skipped::Application => "other application extension".into(),
            Skipped::Unknown(label) => format!("extension with unknown label 0x{label:02X}"),
        }
    }
}

/// Where browsers stop reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// The trailer, at this offset.
    Trailer(usize),
    /// The bytes end without a trailer (or inside a block), at this offset.
    Missing(usize),
    /// A byte that starts no block.
    Unknown { at: usize, byte: u8 },
    /// A graphic control extension that is not 4 bytes and a terminator (Chromium stops there).
    BadControl(usize),
}

impl Stop {
    /// Why browsers stop there, for people; `None` for the trailer.
    pub(super) fn problem(self) -> Option<String> {
        match self {
            Stop::Trailer(_) => None,
            Stop::Missing(at) => Some(format!("the GIF ends at byte {at} without its trailer")),
            Stop::Unknown { at, byte } => Some(format!(
                "byte 0x{byte:02X} at offset {at} starts no GIF block"
            )),
            Stop::BadControl(at) => Some(format!(
                "the graphic control extension at byte {at} is malformed (not 4 bytes and a \
                 terminator)"
            )),
        }
    }
}

/// The items of a GIF whose screen has been read.
pub(super) struct Walk<'a> {
    bytes: &'a [u8],
    blocks: Blocks<'a>,
    control: Option<Control>,
    stopped: bool,
}

impl<'a> Walk<'a> {
    pub(super) fn new(bytes: &'a [u8], screen: &Screen) -> Self {
        Walk {
            bytes,
            blocks: Blocks::new(bytes, screen),
            control: None,
            stopped: false,
        }
    }

    /// The item an extension makes, if any (`None`: a graphic control extension, kept for the
    /// next image, or an extension cut short by the end of the bytes, which a `Stop` follows).
    fn extension(&mut self, label: u8, span: Range<usize>, complete: bool) -> Option<Item> {
        let at = span.start;
        // A graphic control extension is judged by its first 6 bytes, as Chromium reads it,
        // even when its size byte sends the sub-block walk astray.
        if label == blocks::GRAPHIC_CONTROL && self.bytes.len() >= at + 8 {
            return match blocks::control(self.bytes, at..at + 8) {
                Some(control) if complete => {
                    self.control = Some(control);
                    None
                }
                _ => Some(Item::Stop(Stop::BadControl(at))),
            };
        }
        if !complete {
            return None;
        }
        let skipped = match label {
            blocks::GRAPHIC_CONTROL => return Some(Item::Stop(Stop::BadControl(at))),
            blocks::APPLICATION => match blocks::application(self.bytes, &span) {
                Application::Looping { ident, loops } => {
                    return Some(Item::Looping { span, ident, loops })
                }
                Application::Xmp => Skipped::Xmp,
                Application::Icc => Skipped::Icc,
                Application::BadLooping | Application::Other => Skipped::Application,
            },
            blocks::COMMENT => Skipped::Comment,
            blocks::PLAIN_TEXT => Skipped::PlainText,
            other => Skipped::Unknown(other),
        };
        Some(Item::Skipped(skipped))
    }
}

impl Iterator for Walk<'_> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        while !self.stopped {
            let item = match self.blocks.next()? {
                Block::Extension {
                    label,
                    span,
                    complete,
                } => self.extension(label, span, complete),
                Block::Image(image) => Some(Item::Frame {
                    control: self.control.take(),
                    image,
                }),
                Block::Trailer(at) => Some(Item::Stop(Stop::Trailer(at))),
                Block::End(at) => Some(Item::Stop(Stop::Missing(at))),
                Block::Unknown { at, byte } => Some(Item::Stop(Stop::Unknown { at, byte })),
            };
            if let Some(item) = item {
                self.stopped = matches!(item, Item::Stop(_));
                return Some(item);
            }
        }
        None
    }
}
