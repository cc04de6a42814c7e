//! SPEC.md Step 5 with PRODUCT.md's rule: the exact original bytes go to `ARCHIVE_BUCKET` /
//! `INPUT_FILE_NAME` and never overwrite a different object. The same bytes already there
//! count as done (a retried task); other bytes send the original to
//! `{BATCH_ID}/{TASK_ID}/{INPUT_FILE_NAME}` instead; if that is taken by other bytes too,
//! nothing is written and the job fails.
//!
//! The rule runs against a small [`Store`] trait: the job hands it the real archive bucket, the
//! unit tests an in-memory one that can play every path (a key written between our HEAD and
//! our PUT included).

use serde_json::json;

use crate::log;
use crate::net::Failure;
use crate::storage::{
    is_md5, md5_hex, GetError, ObjectInfo, PutOutcome, Storage, Which, WriteMode,
};

/// What the archive rule needs from a bucket.
pub trait Store {
    /// HEAD: `None` when the key is free.
    fn head(&self, key: &str) -> Result<Option<ObjectInfo>, Failure>;
    /// The object's bytes, at most `limit` of them ([`GetError::TooLarge`] past it).
    fn get(&self, key: &str, limit: u64, expected_size: Option<u64>) -> Result<Vec<u8>, GetError>;
    /// A create-only PUT: [`PutOutcome::Exists`] when the key was taken meanwhile.
    fn put_new(
        &self,
        key: &str,
        body: &[u8],
        content_type: &str,
        metadata: &[(String, String)],
    ) -> Result<PutOutcome, Failure>;
}

/// The archive bucket of [`Storage`] as a [`Store`].
pub struct ArchiveBucket<'a>(pub &'a Storage);

impl Store for ArchiveBucket<'_> {
    fn head(&self, key: &str) -> Result<Option<ObjectInfo>, Failure> {
        self.0.head(Which::Archive, key)
    }
    fn get(&self, key: &str, limit: u64, expected_size: Option<u64>) -> Result<Vec<u8>, GetError> {
        self.0.get(Which::Archive, key, limit, expected_size)
    }
    fn put_new(
        &self,
        key: &str,
        body: &[u8],
        content_type: &str,
        metadata: &[(String, String)],
    ) -> Result<PutOutcome, Failure> {
        self.0.put(
            Which::Archive,
            key,
            body,
            content_type,
            metadata,
            WriteMode::CreateOnly,
        )
    }
}

/// The archive could not be written: the key tried last and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveError {
    pub key: String,
    pub cause: String,
}

/// Writes `bytes` under the first of `keys` (the file name, then the fallback) that is free or
/// already holds exactly these bytes, and returns that key. `metadata` are the `x-amz-meta-*`
/// headers, ready to send ([`crate::plan::archive_metadata`]).
///
/// Errors: a request failed (after retries), or every key holds other bytes.
pub fn archive(
    store: &dyn Store,
    keys: [&str; 2],
    bytes: &[u8],
    content_type: &str,
    metadata: &[(String, String)],
) -> Result<String, ArchiveError> {
    let md5 = md5_hex(bytes);
    for key in keys {
        let fail = |cause: String| ArchiveError {
            key: key.to_string(),
            cause,
        };
        let holds_ours = match store.head(key).map_err(|f| fail(f.message))? {
            None => match store
                .put_new(key, bytes, content_type, metadata)
                .map_err(|f| fail(f.message))?
            {
                PutOutcome::Written => {
                    log::info(
                        "archive",
                        &format!("archived as {key}"),
                        &[("bytes", json!(bytes.len()))],
                    );
                    return Ok(key.to_string());
                }
                // Someone wrote it between our HEAD and PUT: compare with what is there now.
                PutOutcome::Exists => match store.head(key).map_err(|f| fail(f.message))? {
                    Some(info) => holds(store, key, &info, bytes, &md5).map_err(fail)?,
                    None => false,
                },
            },
            Some(info) => holds(store, key, &info, bytes, &md5).map_err(fail)?,
        };
        if holds_ours {
            log::info(
                "archive",
                &format!("{key} already holds these exact bytes"),
                &[],
            );
            return Ok(key.to_string());
        }
        log::warn(
            "archive",
            &format!("{key} already holds a different object; not overwriting it"),
            &[],
        );
    }
    Err(ArchiveError {
        key: keys[0].to_string(),
        cause: "the key and its fallback both hold different objects; nothing overwritten".into(),
    })
}

/// Whether the object described by `info` is exactly `bytes`: a different size says no at
/// once, a plain-MD5 ETag is compared with `md5`, anything else (a multipart ETag, no size) is
/// settled by reading the object, never more than `bytes.len()` of it.
fn holds(
    store: &dyn Store,
    key: &str,
    info: &ObjectInfo,
    bytes: &[u8],
    md5: &str,
) -> Result<bool, String> {
    let len = bytes.len() as u64;
    if info.size.is_some_and(|s| s != len) {
        return Ok(false);
    }
    if is_md5(&info.etag) {
        return Ok(info.etag.eq_ignore_ascii_case(md5));
    }
    match store.get(key, len, info.size) {
        Ok(existing) => Ok(existing == bytes),
        Err(GetError::TooLarge { .. }) => Ok(false),
        Err(GetError::Failed(f)) => Err(f.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    /// An in-memory bucket. `etag_md5: false` plays a store whose ETags are not MD5s
    /// (multipart uploads, some S3s); `race` is an object another writer puts at a key just
    /// before our PUT reaches it.
    #[derive(Default)]
    struct Mem {
        objects: RefCell<BTreeMap<String, Vec<u8>>>,
        etag_md5: bool,
        race: RefCell<Option<(String, Vec<u8>)>>,
        gets: RefCell<u32>,
    }

    impl Mem {
        fn new() -> Mem {
            Mem {
                etag_md5: true,
                ..Mem::default()
            }
        }
        fn with(self, key: &str, bytes: &[u8]) -> Mem {
            self.objects
                .borrow_mut()
                .insert(key.to_string(), bytes.to_vec());
            self
        }
        fn object(&self, key: &str) -> Option<Vec<u8>> {
            self.objects.borrow().get(key).cloned()
        }
    }

    impl Store for Mem {
        fn head(&self, key: &str) -> Result<Option<ObjectInfo>, Failure> {
            Ok(self.objects.borrow().get(key).map(|b| ObjectInfo {
                size: Some(b.len() as u64),
                etag: if self.etag_md5 {
                    md5_hex(b)
                } else {
                    format!("{}-2", &md5_hex(b)[..8])
                },
            }))
        }
        fn get(&self, key: &str, limit: u64, _expected: Option<u64>) -> Result<Vec<u8>, GetError> {
            *self.gets.borrow_mut() += 1;
            match self.objects.borrow().get(key) {
                Some(b) if b.len() as u64 > limit => Err(GetError::TooLarge {
                    size: Some(b.len() as u64),
                    limit,
                }),
                Some(b) => Ok(b.clone()),
                None => Err(GetError::Failed(Failure::permanent("HTTP 404"))),
            }
        }
        fn put_new(
            &self,
            key: &str,
            body: &[u8],
            _content_type: &str,
            _metadata: &[(String, String)],
        ) -> Result<PutOutcome, Failure> {
            if let Some((k, v)) = self.race.borrow_mut().take_if(|(k, _)| k == key) {
                self.objects.borrow_mut().insert(k, v);
            }
            let mut objects = self.objects.borrow_mut();
            if objects.contains_key(key) {
                return Ok(PutOutcome::Exists);
            }
            objects.insert(key.to_string(), body.to_vec());
            Ok(PutOutcome::Written)
        }
    }

    const KEYS: [&str; 2] = ["sunset.jpg", "batch/task/sunset.jpg"];
    const OURS: &[u8] = b"our exact original bytes";
    const OTHER: &[u8] = b"someone else's original!"; // same length as OURS

    #[track_caller]
    fn case(store: &Mem, expect: Result<&str, ()>) {
        let got = archive(store, KEYS, OURS, "image/jpeg", &[]);
        assert_eq!(got.as_deref().map_err(|_| ()), expect);
    }

    #[test]
    fn absent_key_is_written() {
        let store = Mem::new();
        case(&store, Ok(KEYS[0]));
        assert_eq!(store.object(KEYS[0]).as_deref(), Some(OURS));
    }

    #[test]
    fn refused_put_then_same_bytes_is_done() {
        let store = Mem::new();
        *store.race.borrow_mut() = Some((KEYS[0].into(), OURS.to_vec()));
        case(&store, Ok(KEYS[0]));
        assert_eq!(store.object(KEYS[1]), None, "no second copy");
    }

    #[test]
    fn refused_put_then_other_bytes_goes_to_the_fallback() {
        let store = Mem::new();
        *store.race.borrow_mut() = Some((KEYS[0].into(), OTHER.to_vec()));
        case(&store, Ok(KEYS[1]));
        assert_eq!(store.object(KEYS[0]).as_deref(), Some(OTHER), "untouched");
        assert_eq!(store.object(KEYS[1]).as_deref(), Some(OURS));
    }

    #[test]
    fn other_size_goes_to_the_fallback_without_reading() {
        let store = Mem::new().with(KEYS[0], b"short");
        case(&store, Ok(KEYS[1]));
        assert_eq!(*store.gets.borrow(), 0);
        assert_eq!(store.object(KEYS[0]).as_deref(), Some(&b"short"[..]));
    }

    #[test]
    fn equal_md5_etag_is_done_without_reading() {
        let store = Mem::new().with(KEYS[0], OURS);
        case(&store, Ok(KEYS[0]));
        assert_eq!(*store.gets.borrow(), 0);
        assert_eq!(store.object(KEYS[1]), None);
    }

    #[test]
    fn different_md5_etag_goes_to_the_fallback() {
        let store = Mem::new().with(KEYS[0], OTHER);
        case(&store, Ok(KEYS[1]));
        assert_eq!(*store.gets.borrow(), 0);
        assert_eq!(store.object(KEYS[0]).as_deref(), Some(OTHER));
    }

    #[test]
    fn non_md5_etag_is_settled_by_comparing_bytes() {
        let mut store = Mem::new().with(KEYS[0], OURS);
        store.etag_md5 = false;
        case(&store, Ok(KEYS[0]));
        assert_eq!(*store.gets.borrow(), 1);

        let mut store = Mem::new().with(KEYS[0], OTHER);
        store.etag_md5 = false;
        case(&store, Ok(KEYS[1]));
        assert_eq!(store.object(KEYS[0]).as_deref(), Some(OTHER));
    }

    #[test]
    fn both_keys_taken_writes_nothing() {
        let store = Mem::new().with(KEYS[0], OTHER).with(KEYS[1], b"x");
        case(&store, Err(()));
        assert_eq!(store.object(KEYS[0]).as_deref(), Some(OTHER));
        assert_eq!(store.object(KEYS[1]).as_deref(), Some(&b"x"[..]));
    }
}
