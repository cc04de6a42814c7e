//! Pure decisions: which variants an image gets and at what size, the asset ID, the keys, and
//! the archive's metadata headers as they will be sent.

use base64::Engine;

pub use crate::image::{fit_inside, targets, Target, SIZES};

/// SPEC.md Step 3: base-36 upper-case millisecond timestamp followed by 16 upper-case hex digits.
pub fn asset_id(now_ms: u64, random: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut ts = Vec::new();
    let mut n = now_ms;
    loop {
        ts.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    ts.reverse();
    format!("{}{random:016X}", String::from_utf8_lossy(&ts))
}

/// The key a `.ref.json` is written to, beside the original.
pub fn ref_json_key(input_key: &str) -> String {
    format!("{input_key}.ref.json")
}

/// Where the original goes when `INPUT_FILE_NAME` already holds a different object.
pub fn archive_fallback_key(batch_id: &str, task_id: &str, file_name: &str) -> String {
    format!("{batch_id}/{task_id}/{file_name}")
}

/// The longest object key S3 and R2 accept, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

/// The most user-defined metadata one object may carry, names (without `x-amz-meta-`) and
/// values counted in bytes of UTF-8: AWS S3's limit (R2 allows 8 KB; we keep to the stricter,
/// so the same archive works on any S3).
pub const MAX_METADATA_BYTES: usize = 2048;

/// The `x-amz-meta-*` headers of the archived original (SPEC.md Step 5), each value ready to
/// send ([`metadata_value`]).
///
/// Errors: the metadata would be over [`MAX_METADATA_BYTES`] once encoded (a long key).
pub fn archive_metadata(
    original_r2_key: &str,
    batch_id: &str,
    task_id: &str,
    ipfs_cid: Option<&str>,
) -> Result<Vec<(String, String)>, String> {
    let mut pairs = vec![
        ("original-r2-key", original_r2_key),
        ("batch-id", batch_id),
        ("task-id", task_id),
    ];
    if let Some(cid) = ipfs_cid {
        pairs.push(("ipfs-cid", cid));
    }
    let headers: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(name, value)| (format!("x-amz-meta-{name}"), metadata_value(value)))
        .collect();
    let total: usize = headers
        .iter()
        .map(|(k, v)| k.len() - "x-amz-meta-".len() + v.len())
        .sum();
    if total > MAX_METADATA_BYTES {
        return Err(format!(
            "the archive metadata would be {total} bytes encoded, over S3's {MAX_METADATA_BYTES}"
        ));
    }
    Ok(headers)
}

/// A metadata value as it can travel in an HTTP header and be signed the same way on both
/// sides: plain printable ASCII goes as it is; anything else — non-ASCII, control characters,
/// runs of spaces (SigV4's canonical form collapses them — AWS Signature Version 4, "Create a
/// canonical request": header values trimmed and sequential spaces converted to one — and
/// rust-s3 0.38 signs them uncollapsed, so the server's signature would differ), spaces at either end (header parsers
/// strip them), or text that looks like an encoded word — goes RFC 2047-encoded, the encoding
/// S3 documents for non-ASCII metadata: `=?UTF-8?B?…?=` words of at most 75 characters
/// (RFC 2047 §2), each holding whole characters, separated by one space.
pub fn metadata_value(value: &str) -> String {
    let plain = value.bytes().all(|b| (b' '..=b'~').contains(&b))
        && !value.starts_with(' ')
        && !value.ends_with(' ')
        && !value.contains("  ")
        && !value.contains("=?");
    if plain {
        return value.to_string();
    }
    // 75 - len("=?UTF-8?B??=") = 63 characters of base64: 45 bytes of text.
    const TEXT_BYTES_PER_WORD: usize = 45;
    let mut words = Vec::new();
    let mut start = 0;
    let mut end = 0;
    for (i, c) in value.char_indices() {
        if i + c.len_utf8() - start > TEXT_BYTES_PER_WORD {
            words.push(&value[start..end]);
            start = i;
        }
        end = i + c.len_utf8();
    }
    words.push(&value[start..end]);
    words
        .iter()
        .map(|w| {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every key the job writes is within [`MAX_KEY_BYTES`]: `.ref.json` beside the original and
/// both archive keys. Errors name the key that would be too long.
pub fn check_output_keys(
    input_key: &str,
    batch_id: &str,
    task_id: &str,
    file_name: &str,
) -> Result<(), String> {
    let keys = [
        ("INPUT_R2_KEY", input_key.to_string()),
        ("the .ref.json key", ref_json_key(input_key)),
        ("the archive key", file_name.to_string()),
        (
            "the archive fallback key",
            archive_fallback_key(batch_id, task_id, file_name),
        ),
    ];
    for (what, key) in keys {
        if key.len() > MAX_KEY_BYTES {
            return Err(format!(
                "{what} would be {} bytes, over S3's {MAX_KEY_BYTES}",
                key.len()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(t: &[Target]) -> Vec<&str> {
        t.iter().map(|t| t.name).collect()
    }

    #[test]
    fn size_bands() {
        assert_eq!(names(&targets(128, 128, 4000)), ["original"]);
        assert_eq!(names(&targets(400, 300, 4000)), ["original"]);
        assert_eq!(names(&targets(401, 300, 4000)), ["thumb", "original"]);
        assert_eq!(
            names(&targets(1201, 800, 4000)),
            ["thumb", "medium", "original"]
        );
        assert_eq!(
            names(&targets(4000, 10, 4000)),
            ["thumb", "medium", "large", "original"]
        );
        assert_eq!(
            names(&targets(4001, 10, 4000)),
            ["thumb", "medium", "large"]
        );
    }

    #[track_caller]
    fn fit(w: u32, h: u32, max: u32, expect: (u32, u32)) {
        assert_eq!(fit_inside(w, h, max), expect);
    }

    #[test]
    fn fitting_rounds_and_never_upscales() {
        fit(6000, 4000, 400, (400, 267));
        fit(6000, 4000, 1200, (1200, 800));
        fit(6000, 4000, 2400, (2400, 1600));
        fit(4000, 6000, 400, (267, 400));
        fit(3000, 3000, 1200, (1200, 1200));
        fit(10000, 3, 400, (400, 1));
        fit(300, 200, 400, (300, 200));
    }

    /// RFC 2047 decoding, written from the RFC for the test: encoded words separated by
    /// whitespace are joined.
    fn decode(v: &str) -> String {
        if !v.starts_with("=?") {
            return v.to_string();
        }
        let mut bytes = Vec::new();
        for word in v.split(' ') {
            let b64 = word
                .strip_prefix("=?UTF-8?B?")
                .and_then(|w| w.strip_suffix("?="))
                .expect("encoded word");
            assert!(word.len() <= 75, "{word}");
            let part = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap();
            assert!(
                std::str::from_utf8(&part).is_ok(),
                "whole characters per word"
            );
            bytes.extend(part);
        }
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn metadata_values_round_trip() {
        for v in [
            "staging/batch_1/photos/sunset.jpg",
            "a b+c%20d?e#f&g=h",
            "staging/фото/café 🌅.jpg",
            "two  spaces",
            " lead",
            "trail ",
            "looks =?like?= a word",
            "tab\there",
            &"日本語のファイル名".repeat(20),
        ] {
            let sent = metadata_value(v);
            assert!(sent.bytes().all(|b| (b' '..=b'~').contains(&b)), "{sent}");
            assert!(!sent.contains("  "), "{sent}");
            assert_eq!(decode(&sent), v);
        }
        assert_eq!(metadata_value("plain-key/a b.jpg"), "plain-key/a b.jpg");
        assert_eq!(metadata_value("é"), "=?UTF-8?B?w6k=?=");
    }

    #[test]
    fn oversized_metadata_and_keys_are_refused_up_front() {
        assert!(archive_metadata("k", "b", "t", Some("Qm")).is_ok());
        let long = "я".repeat(800);
        let err = archive_metadata(&long, "b", "t", None).unwrap_err();
        assert!(err.contains("over S3's 2048"), "{err}");
        assert!(check_output_keys("a/b.jpg", "b", "t", "b.jpg").is_ok());
        let key = format!("{}/x.jpg", "k".repeat(1012));
        let err = check_output_keys(&key, "b", "t", "x.jpg").unwrap_err();
        assert!(
            err.starts_with("the .ref.json key would be 1027 bytes"),
            "{err}"
        );
    }

    #[test]
    fn asset_id_shape() {
        assert_eq!(asset_id(0, 0), "00000000000000000");
        assert_eq!(asset_id(35, 0xABCDEF), "Z0000000000ABCDEF");
        let id = asset_id(1_732_790_000_000, u64::MAX);
        assert_eq!(id, "M416FCZKFFFFFFFFFFFFFFFF");
    }
}
