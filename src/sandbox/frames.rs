//! The child's answer on its standard output, in frames: a tag byte, the payload's length
//! (u64, little-endian, bytes), the payload. In order:
//!
//! - `I`: what the input is ([`Identified`], JSON), as soon as its header is read — the parent
//!   starts the archive on it;
//! - `V`, once per variant, smallest first: the header's length (u32, little-endian), the header
//!   (JSON: name, width, height, content type), then the encoded bytes;
//! - `R`: the report ([`Report`], JSON), the last frame of a success;
//! - `E`: instead of any of these, why the stage failed ([`Failed`], JSON), the last frame.
//!
//! The reader trusts nothing: lengths are bounded before anything is allocated, frames must
//! come in this order, and anything else is [`Malformed`].

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::image::{Identified, ImageError, Phase, Placeholder, Variant};

/// The most a JSON frame may hold, bytes: warnings and timings are a few KB.
const MAX_JSON_BYTES: u64 = 1 << 20;

/// The most one variant may hold, bytes: a full-size `original` is at most the input (within
/// `MAX_INPUT_BYTES`) or a re-encode of at most `ORIGINAL_MAX_DIMENSION`² pixels.
pub const MAX_VARIANT_BYTES: u64 = 1 << 30;

/// Frames of a success hold at most the four variants and three JSON frames.
const MAX_FRAMES: usize = 8;

/// What the child reports besides the variants (the rest of [`crate::image::Output`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub warnings: Vec<String>,
    pub placeholder: Placeholder,
    pub converted_to_srgb: bool,
    pub phases: Vec<Phase>,
}

/// A variant's header in its `V` frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct VariantHeader {
    name: String,
    width: u32,
    height: u32,
    content_type: String,
}

/// Why the image stage failed, as the `E` frame says it: the kind of [`ImageError`] and its
/// message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failed {
    kind: String,
    message: String,
}

impl From<&ImageError> for Failed {
    fn from(e: &ImageError) -> Failed {
        let (kind, message) = match e {
            ImageError::Unsupported(m) => ("unsupported", m),
            ImageError::TooLarge(m) => ("too_large", m),
            ImageError::Invalid(m) => ("invalid", m),
            ImageError::Internal(m) => ("internal", m),
        };
        Failed {
            kind: kind.into(),
            message: message.clone(),
        }
    }
}

impl From<Failed> for ImageError {
    fn from(f: Failed) -> ImageError {
        match f.kind.as_str() {
            "unsupported" => ImageError::Unsupported(f.message),
            "too_large" => ImageError::TooLarge(f.message),
            "invalid" => ImageError::Invalid(f.message),
            _ => ImageError::Internal(f.message),
        }
    }
}

/// One frame as read.
#[derive(Debug)]
pub enum Frame {
    Identified(Identified),
    Variant(Variant),
    Report(Report),
    Failed(Failed),
}

/// The answer broke the format: the reason, for the error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

/// Writes the child's frames.
pub struct Writer<W: Write>(pub W);

impl<W: Write> Writer<W> {
    fn frame(&mut self, tag: u8, parts: &[&[u8]]) -> std::io::Result<()> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        self.0.write_all(&[tag])?;
        self.0.write_all(&(len as u64).to_le_bytes())?;
        for part in parts {
            self.0.write_all(part)?;
        }
        Ok(())
    }

    fn json(&mut self, tag: u8, value: &impl Serialize) -> std::io::Result<()> {
        let json = serde_json::to_vec(value).map_err(std::io::Error::other)?;
        self.frame(tag, &[&json])
    }

    pub fn identified(&mut self, identified: &Identified) -> std::io::Result<()> {
        self.json(b'I', identified)
    }

    pub fn variant(&mut self, v: &Variant) -> std::io::Result<()> {
        let header = serde_json::to_vec(&VariantHeader {
            name: v.name.into(),
            width: v.width,
            height: v.height,
            content_type: v.content_type.into(),
        })
        .map_err(std::io::Error::other)?;
        let header_len = (header.len() as u32).to_le_bytes();
        self.frame(b'V', &[&header_len, &header, &v.data])
    }

    pub fn report(&mut self, report: &Report) -> std::io::Result<()> {
        self.json(b'R', report)
    }

    pub fn failed(&mut self, e: &ImageError) -> std::io::Result<()> {
        self.json(b'E', &Failed::from(e))
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Reads the child's frames, checking their order.
pub struct Reader<R: Read> {
    from: R,
    frames: usize,
    seen_identified: bool,
    ended: bool,
}

impl<R: Read> Reader<R> {
    pub fn new(from: R) -> Reader<R> {
        Reader {
            from,
            frames: 0,
            seen_identified: false,
            ended: false,
        }
    }

    /// The next frame; `Ok(None)` at the end of the stream where one may end (after `R` or
    /// `E`, or before anything: the child died, which the caller learns from its status).
    pub fn next(&mut self) -> Result<Option<Frame>, Malformed> {
        let mut tag = [0u8; 1];
        match self.from.read(&mut tag) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(Malformed(format!("cannot read: {e}"))),
        }
        if self.ended {
            return Err(Malformed("bytes after the last frame".into()));
        }
        self.frames += 1;
        if self.frames > MAX_FRAMES {
            return Err(Malformed(format!("more than {MAX_FRAMES} frames")));
        }
        let mut len = [0u8; 8];
        self.from
            .read_exact(&mut len)
            .map_err(|e| Malformed(format!("frame length cut short: {e}")))?;
        let len = u64::from_le_bytes(len);
        let frame = match tag[0] {
            b'I' if !self.seen_identified => {
                self.seen_identified = true;
                Frame::Identified(self.json(len)?)
            }
            b'V' if self.seen_identified => Frame::Variant(self.variant(len)?),
            b'R' if self.seen_identified => Frame::Report(self.json(len)?),
            b'E' => Frame::Failed(self.json(len)?),
            t => {
                return Err(Malformed(format!(
                    "unexpected frame {:?} here",
                    char::from(t)
                )))
            }
        };
        self.ended = matches!(frame, Frame::Report(_) | Frame::Failed(_));
        Ok(Some(frame))
    }

    fn bytes(&mut self, len: u64, max: u64) -> Result<Vec<u8>, Malformed> {
        if len > max {
            return Err(Malformed(format!("a frame of {len} bytes, over {max}")));
        }
        let mut buf = Vec::new();
        let read = (&mut self.from)
            .take(len)
            .read_to_end(&mut buf)
            .map_err(|e| Malformed(format!("cannot read a frame: {e}")))?;
        if read as u64 != len {
            return Err(Malformed(format!(
                "a frame cut short: {read} of {len} bytes"
            )));
        }
        Ok(buf)
    }

    fn json<T: serde::de::DeserializeOwned>(&mut self, len: u64) -> Result<T, Malformed> {
        let bytes = self.bytes(len, MAX_JSON_BYTES)?;
        serde_json::from_slice(&bytes).map_err(|e| Malformed(format!("bad JSON in a frame: {e}")))
    }

    fn variant(&mut self, len: u64) -> Result<Variant, Malformed> {
        let mut header_len = [0u8; 4];
        if len < 4 {
            return Err(Malformed("a variant frame without its header".into()));
        }
        self.from
            .read_exact(&mut header_len)
            .map_err(|e| Malformed(format!("variant header cut short: {e}")))?;
        let header_len = u64::from(u32::from_le_bytes(header_len));
        let data_len = (len - 4)
            .checked_sub(header_len)
            .ok_or_else(|| Malformed("a variant header longer than its frame".into()))?;
        let header: VariantHeader = self.json(header_len)?;
        let name = Variant::name_of(&header.name)
            .ok_or_else(|| Malformed(format!("unknown variant {:?}", header.name)))?;
        let content_type = crate::image::Format::ALL
            .into_iter()
            .map(crate::image::Format::content_type)
            .find(|t| *t == header.content_type)
            .ok_or_else(|| Malformed(format!("unknown content type {:?}", header.content_type)))?;
        Ok(Variant {
            name,
            width: header.width,
            height: header.height,
            content_type,
            data: self.bytes(data_len, MAX_VARIANT_BYTES)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{ColourModel, Format, SourceFacts};

    fn identified() -> Identified {
        Identified {
            format: Format::Jpeg,
            width: 30,
            height: 20,
            orientation: 6,
            icc_description: Some("Display P3".into()),
            source: SourceFacts {
                stored_width: 20,
                stored_height: 30,
                bit_depth: 8,
                colour_model: ColourModel::YCbCr,
                alpha: false,
                progressive: true,
                frames: 1,
                pages: 1,
            },
        }
    }

    fn report() -> Report {
        Report {
            warnings: vec!["a warning".into()],
            placeholder: Placeholder {
                thumbhash: "abc".into(),
                dominant_color: "#102030".into(),
            },
            converted_to_srgb: false,
            phases: Vec::new(),
        }
    }

    fn written(f: impl FnOnce(&mut Writer<&mut Vec<u8>>)) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut Writer(&mut out));
        out
    }

    #[test]
    fn frames_come_back_as_written() {
        let bytes = written(|w| {
            w.identified(&identified()).unwrap();
            w.variant(&Variant {
                name: "thumb",
                width: 30,
                height: 20,
                content_type: "image/jpeg",
                data: vec![1, 2, 3],
            })
            .unwrap();
            w.report(&report()).unwrap();
        });
        let mut r = Reader::new(&bytes[..]);
        assert!(matches!(r.next(), Ok(Some(Frame::Identified(i))) if i == identified()));
        match r.next() {
            Ok(Some(Frame::Variant(v))) => {
                assert_eq!((v.name, v.width, v.height), ("thumb", 30, 20));
                assert_eq!(
                    (v.content_type, &v.data[..]),
                    ("image/jpeg", &[1u8, 2, 3][..])
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(r.next(), Ok(Some(Frame::Report(rep))) if rep == report()));
        assert!(matches!(r.next(), Ok(None)));
    }

    #[test]
    fn an_error_frame_is_the_stage_error() {
        let e = ImageError::TooLarge("9 pixels".into());
        let bytes = written(|w| w.failed(&e).unwrap());
        match Reader::new(&bytes[..]).next() {
            Ok(Some(Frame::Failed(f))) => assert_eq!(ImageError::from(f), e),
            other => panic!("{other:?}"),
        }
    }

    #[track_caller]
    fn malformed(bytes: &[u8]) {
        let mut r = Reader::new(bytes);
        loop {
            match r.next() {
                Err(_) => return,
                Ok(None) => panic!("accepted {bytes:?}"),
                Ok(Some(_)) => {}
            }
        }
    }

    #[test]
    fn out_of_order_oversized_or_cut_frames_are_malformed() {
        let ident = written(|w| w.identified(&identified()).unwrap());
        let rep = written(|w| w.report(&report()).unwrap());
        // A report or a variant before the input is identified.
        malformed(&rep);
        // An unknown tag, a huge length, a cut frame, bytes after the end.
        malformed(b"Z\0\0\0\0\0\0\0\0");
        malformed(&[&ident[..], b"V", &u64::MAX.to_le_bytes()].concat());
        malformed(&ident[..ident.len() - 1]);
        malformed(&[&ident[..], &rep, b"I"].concat());
        // A variant whose header claims more than its frame, or names no variant.
        malformed(
            &[
                &ident[..],
                b"V",
                &6u64.to_le_bytes(),
                &9u32.to_le_bytes(),
                b"{}",
            ]
            .concat(),
        );
        let odd = br#"{"name":"huge","width":1,"height":1,"content_type":"image/png"}"#;
        let frame_len = (4 + odd.len()) as u64;
        malformed(
            &[
                &ident[..],
                b"V",
                &frame_len.to_le_bytes(),
                &(odd.len() as u32).to_le_bytes(),
                odd,
            ]
            .concat(),
        );
        // Two identifications.
        malformed(&[&ident[..], &ident[..]].concat());
    }
}
