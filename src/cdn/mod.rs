//! The CDN upload (SPEC.md Step 4): one JSON POST with every variant base64-encoded, a fresh
//! asset ID when the CDN says the ID is taken (409) by someone else — not by our own earlier
//! attempt whose answer was lost — transient failures retried, 307/308 followed with the same
//! body and 301/302/303 refused (PRODUCT.md "Network behaviour"). The client is [`client`].
//!
//! The request body is streamed ([`Streamed`]): its JSON is made as the connection reads it,
//! the base64 text 16 KB at a time from the variants' bytes, so the variants are in memory once,
//! as bytes, and not again as a body (issue 15: it had been three copies, then two).

mod client;

use std::io::Read;

use serde::Serialize;

pub use client::{Cdn, Uploaded};

use crate::image::Variant;
use crate::net;

/// A variant as SPEC.md's request body carries it: `data` is serialised as base64.
#[derive(Debug, Serialize)]
pub struct BodyVariant<'a> {
    pub name: &'a str,
    #[serde(serialize_with = "base64_text")]
    pub data: &'a [u8],
    pub content_type: &'a str,
    pub size: usize,
}

/// Standard base64 (RFC 4648, padded), written by the serialiser as it goes.
fn base64_text<S: serde::Serializer>(data: &&[u8], s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&base64::display::Base64Display::new(
        data,
        &base64::engine::general_purpose::STANDARD,
    ))
}

/// SPEC.md Step 4's request body.
#[derive(Debug, Serialize)]
pub struct Body<'a> {
    pub variants: Vec<BodyVariant<'a>>,
    pub original_filename: &'a str,
    pub original_content_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipfs_cid: Option<&'a str>,
}

impl<'a> Body<'a> {
    /// `original_content_type` is the detected type, not the declared one.
    pub fn new(
        variants: &'a [Variant],
        original_filename: &'a str,
        original_content_type: &'a str,
        ipfs_cid: Option<&'a str>,
    ) -> Self {
        Body {
            variants: variants
                .iter()
                .map(|v| BodyVariant {
                    name: v.name,
                    data: &v.data,
                    content_type: v.content_type,
                    size: v.data.len(),
                })
                .collect(),
            original_filename,
            original_content_type,
            ipfs_cid,
        }
    }
}

impl Body<'_> {
    /// The request body as `serde_json` writes it, in one buffer: what [`Body::streamed`] must
    /// produce byte for byte (the tests compare the two).
    #[cfg(test)]
    pub fn json(&self) -> Result<Vec<u8>, String> {
        // Base64 is 4 bytes per 3; a string escapes to at most 6 bytes per byte (`\u00XX`).
        let encoded: usize = self
            .variants
            .iter()
            .map(|v| v.data.len().div_ceil(3) * 4 + 6 * (v.name.len() + v.content_type.len()) + 64)
            .sum();
        let strings = self.original_filename.len()
            + self.original_content_type.len()
            + self.ipfs_cid.map_or(0, str::len);
        let mut json = Vec::with_capacity(encoded + 6 * strings + 256);
        serde_json::to_writer(&mut json, self).map_err(|e| format!("cannot build request: {e}"))?;
        Ok(json)
    }
}

/// Base64 input per step of a [`Streamed`] body: 12 KiB of a variant, 16 KiB of text.
const BASE64_STEP: usize = 12 * 1024;

/// SPEC.md Step 4's request body, streamed: the JSON `serde_json` writes for a [`Body`] (the
/// same bytes; tested), made as it is read. Its parts are the JSON between the variants' data,
/// built once (names and strings escaped by `serde_json`), and each variant's bytes, encoded to
/// base64 (RFC 4648, padded) a step at a time. Its length is known up front (`Content-Length`),
/// and every attempt or 307/308 hop reads it afresh ([`net::Replayable`]).
pub struct Streamed<'a> {
    parts: Vec<Part<'a>>,
    /// Bytes in all, base64 included.
    size: u64,
}

enum Part<'a> {
    Json(Vec<u8>),
    Base64(&'a [u8]),
}

impl<'a> Body<'a> {
    /// The body as a [`Streamed`] one. Errors only if a string cannot be written as JSON.
    pub fn streamed(&self) -> Result<Streamed<'a>, String> {
        let string =
            |s: &str| serde_json::to_vec(s).map_err(|e| format!("cannot build request: {e}"));
        let mut parts = Vec::with_capacity(2 * self.variants.len() + 1);
        let mut json = b"{\"variants\":[".to_vec();
        for (i, v) in self.variants.iter().enumerate() {
            if i > 0 {
                json.push(b',');
            }
            json.extend_from_slice(b"{\"name\":");
            json.extend(string(v.name)?);
            json.extend_from_slice(b",\"data\":\"");
            parts.push(Part::Json(std::mem::take(&mut json)));
            parts.push(Part::Base64(v.data));
            json.extend_from_slice(b"\",\"content_type\":");
            json.extend(string(v.content_type)?);
            json.extend_from_slice(format!(",\"size\":{}}}", v.size).as_bytes());
        }
        json.extend_from_slice(b"],\"original_filename\":");
        json.extend(string(self.original_filename)?);
        json.extend_from_slice(b",\"original_content_type\":");
        json.extend(string(self.original_content_type)?);
        if let Some(cid) = self.ipfs_cid {
            json.extend_from_slice(b",\"ipfs_cid\":");
            json.extend(string(cid)?);
        }
        json.push(b'}');
        parts.push(Part::Json(json));
        let size = parts
            .iter()
            .map(|p| match p {
                Part::Json(j) => j.len() as u64,
                Part::Base64(d) => d.len().div_ceil(3) as u64 * 4,
            })
            .sum();
        Ok(Streamed { parts, size })
    }
}

impl net::Replayable for Streamed<'_> {
    fn size(&self) -> u64 {
        self.size
    }

    fn open(&self) -> Box<dyn Read + '_> {
        Box::new(StreamedReader {
            parts: &self.parts,
            part: 0,
            at: 0,
            encoded: Vec::with_capacity(BASE64_STEP / 3 * 4),
            sent: 0,
        })
    }
}

/// One reading of a [`Streamed`] body.
struct StreamedReader<'s, 'a> {
    parts: &'s [Part<'a>],
    /// The part being read, and how far into its source (JSON bytes, or variant bytes encoded).
    part: usize,
    at: usize,
    /// Base64 text of the last step, of which `sent` bytes are read.
    encoded: Vec<u8>,
    sent: usize,
}

impl Read for StreamedReader<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use base64::Engine;
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let rest = &self.encoded[self.sent..];
            if !rest.is_empty() {
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                self.sent += n;
                return Ok(n);
            }
            match self.parts.get(self.part) {
                None => return Ok(0),
                Some(Part::Json(json)) if self.at < json.len() => {
                    let n = (json.len() - self.at).min(buf.len());
                    buf[..n].copy_from_slice(&json[self.at..self.at + n]);
                    self.at += n;
                    return Ok(n);
                }
                Some(Part::Base64(data)) if self.at < data.len() => {
                    let end = (self.at + BASE64_STEP).min(data.len());
                    let step = &data[self.at..end];
                    self.encoded.resize(step.len().div_ceil(3) * 4, 0);
                    base64::engine::general_purpose::STANDARD
                        .encode_slice(step, &mut self.encoded)
                        .map_err(std::io::Error::other)?;
                    (self.at, self.sent) = (end, 0);
                }
                Some(_) => (self.part, self.at) = (self.part + 1, 0),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_specs_shape() {
        let v = vec![Variant {
            name: "thumb",
            width: 1,
            height: 1,
            content_type: "image/png",
            data: vec![1, 2, 3],
        }];
        let body = Body::new(&v, "a.png", "image/png", None).json().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "variants": [{"name": "thumb", "data": "AQID", "content_type": "image/png", "size": 3}],
                "original_filename": "a.png",
                "original_content_type": "image/png"
            })
        );
        let json = serde_json::to_value(Body::new(&v, "a.png", "image/png", Some("Qm1"))).unwrap();
        assert_eq!(json["ipfs_cid"], "Qm1");
    }

    /// Reads a whole body through reads of at most `step` bytes (as a socket takes it).
    fn read_all(body: &Streamed<'_>, step: usize) -> Vec<u8> {
        let mut reader = net::Replayable::open(body);
        let (mut out, mut buf) = (Vec::new(), vec![0u8; step]);
        loop {
            match reader.read(&mut buf).unwrap() {
                0 => return out,
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }

    #[test]
    fn streamed_body_is_serde_jsons_bytes_read_in_any_steps() {
        // Lengths around base64's 3-byte groups and the 12 KiB encoding step; strings to escape.
        let lengths = [
            0usize,
            1,
            2,
            3,
            4,
            5,
            12 * 1024 - 1,
            12 * 1024,
            12 * 1024 + 1,
            100_003,
        ];
        let v: Vec<Variant> = lengths
            .iter()
            .enumerate()
            .map(|(i, &n)| Variant {
                name: ["thumb", "medium", "large", "original"][i % 4],
                width: 1,
                height: 1,
                content_type: "image/jpeg",
                data: (0..n).map(|k| (k * 7919 % 251) as u8 ^ i as u8).collect(),
            })
            .collect();
        for cid in [None, Some("bafy\"ä\\")] {
            let body = Body::new(&v, "ä \"b\"\n.jpg", "image/jpeg", cid);
            let want = body.json().unwrap();
            let streamed = body.streamed().unwrap();
            assert_eq!(net::Replayable::size(&streamed), want.len() as u64);
            for step in [1, 7, 4096, 1 << 20] {
                assert!(
                    read_all(&streamed, step) == want,
                    "cid {cid:?}, step {step}"
                );
            }
        }
        let none = Body::new(&[], "a.png", "image/png", None);
        assert!(read_all(&none.streamed().unwrap(), 5) == none.json().unwrap());
    }

    #[test]
    fn base64_written_into_the_body_is_the_variant() {
        use base64::Engine;
        let data: Vec<u8> = (0..100_001u32).map(|i| (i * 7919 % 251) as u8).collect();
        let v = vec![Variant {
            name: "large",
            width: 1,
            height: 1,
            content_type: "image/jpeg",
            data: data.clone(),
        }];
        let body = Body::new(&v, "ä \"b\".jpg", "image/jpeg", None)
            .json()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let text = json["variants"][0]["data"].as_str().unwrap();
        let back = base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap();
        assert!(back == data);
        assert_eq!(json["variants"][0]["size"], 100_001);
        assert_eq!(json["original_filename"], "ä \"b\".jpg");
    }
}
