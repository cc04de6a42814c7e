//! The eight steps of SPEC.md, in order, with the timings for `performance`.
//!
//! download → probe → (archive ‖ decode+resize → CDN upload) → `.ref.json` → result for the
//! callback. The archive upload starts as soon as the original is known to be an image and runs
//! alongside resizing and the CDN upload.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::callback::{Payload, Performance, RefData, VariantInfo};
use crate::cdn::{Body, Cdn};
use crate::config::Config;
use crate::error::Error;
use crate::image::{self, Output};
use crate::log;
use crate::plan;
use crate::storage::{is_md5, md5_hex, PutOutcome, Storage, Which};

/// The CDN upload carries every variant in one body; give it time.
const CDN_TIMEOUT: Duration = Duration::from_secs(120);

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Runs the job and returns the success callback payload. `warnings` collects what a person
/// should know either way (it goes into the error callback too).
pub fn run(cfg: &Config, warnings: &mut Vec<String>) -> Result<Payload, Error> {
    let started = Instant::now();
    debug_panic("job", cfg);
    let storage = Storage::new(cfg).map_err(Error::Internal)?;
    let key = &cfg.input_r2_key;

    // Step 1: download, refusing what is too large before fetching it.
    let t = Instant::now();
    let download = |cause: String| Error::Download {
        key: key.clone(),
        cause,
    };
    // Checked on HEAD's size before fetching, and again on what arrived (the object may have
    // been replaced in between).
    let within_limit = |size: u64| {
        if size > cfg.max_input_bytes {
            Err(Error::InputTooLarge(format!(
                "{size} bytes, over MAX_INPUT_BYTES ({})",
                cfg.max_input_bytes
            )))
        } else {
            Ok(())
        }
    };
    let info = storage
        .head(Which::Staging, key)
        .map_err(|f| download(f.message))?
        .ok_or_else(|| download("object not found (HTTP 404)".into()))?;
    within_limit(info.size)?;
    let original = storage
        .get(Which::Staging, key)
        .map_err(|f| download(f.message))?;
    within_limit(original.len() as u64)?;
    let download_ms = ms(t.elapsed());
    log::info(
        "download",
        "original downloaded",
        &[
            ("bytes", json!(original.len())),
            ("duration_ms", json!(download_ms)),
        ],
    );
    let real_size = original.len() as u64;
    if real_size != cfg.input_file_size {
        let w = format!(
            "INPUT_FILE_SIZE says {} bytes, the object has {real_size}; using {real_size}",
            cfg.input_file_size
        );
        log::warn("download", &w, &[]);
        warnings.push(w);
    }

    // Step 2a: what is it? Decided from the bytes, not the declared type.
    let probe = image::probe(&original, cfg.image.max_input_pixels).map_err(Error::from)?;
    let content_type = probe.format.content_type();
    if !cfg.input_content_type.eq_ignore_ascii_case(content_type) {
        let w = format!(
            "INPUT_CONTENT_TYPE says {}, the bytes are {content_type}; using {content_type}",
            cfg.input_content_type
        );
        log::warn("resize", &w, &[]);
        warnings.push(w);
    }

    // Steps 2–5: archive alongside resize + CDN upload.
    let cdn = Cdn::new(&cfg.cdn_api_url, &cfg.cdn_public_url, CDN_TIMEOUT);
    let (archived, processed) = std::thread::scope(|s| {
        let archive = s.spawn(|| {
            debug_panic("archive", cfg);
            let t = Instant::now();
            archive_original(&storage, cfg, &original, content_type)
                .map(|key| (key, ms(t.elapsed())))
        });
        let processed = (|| {
            let t = Instant::now();
            let out = image::process(&original, &cfg.image).map_err(Error::from)?;
            let resize_ms = ms(t.elapsed());
            log::info(
                "resize",
                &format!("{} variant(s) made", out.variants.len()),
                &[
                    ("duration_ms", json!(resize_ms)),
                    (
                        "bytes",
                        json!(out.variants.iter().map(|v| v.data.len()).sum::<usize>()),
                    ),
                ],
            );
            let t = Instant::now();
            let body = Body::new(
                &out.variants,
                &cfg.input_file_name,
                content_type,
                cfg.input_cid.as_deref(),
            );
            let uploaded = cdn.upload(&body, new_asset_id).map_err(Error::CdnUpload)?;
            let cdn_ms = ms(t.elapsed());
            log::info(
                "cdn_upload",
                &format!("asset {} registered", uploaded.asset_id),
                &[("duration_ms", json!(cdn_ms))],
            );
            Ok::<_, Error>((out, uploaded, resize_ms, cdn_ms))
        })();
        let archived = archive
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("archive thread panicked".into())));
        (archived, processed)
    });
    let (out, uploaded, resize_ms, cdn_ms) = processed?;
    let (archive_key, archive_ms) = archived?;
    warnings.extend(out.warnings.iter().cloned());

    // Step 6: .ref.json beside the original.
    let ref_key = plan::ref_json_key(key);
    let ref_data = RefData {
        url: uploaded.cdn_url.clone(),
        ipfs_cid: cfg.input_cid.clone(),
        content_type: content_type.to_string(),
        size: real_size,
        filename: cfg.input_file_name.clone(),
    };
    storage
        .put(
            Which::Staging,
            &ref_key,
            ref_data.to_json().as_bytes(),
            "application/json",
            &[],
            false,
        )
        .map_err(|f| Error::RefWrite {
            key: ref_key.clone(),
            cause: f.message,
        })?;
    log::info("ref_json", &format!("wrote {ref_key}"), &[]);

    // Step 7: the original stays in staging (SPEC.md's decision).
    let variants = variant_infos(&out, &uploaded.variant_urls);
    Ok(Payload {
        task_id: cfg.task_id.clone(),
        batch_id: cfg.batch_id.clone(),
        status: "success",
        ref_json_r2_key: Some(ref_key),
        ref_data: Some(ref_data),
        archive_r2_key: Some(archive_key),
        performance: Some(Performance {
            total_time_ms: ms(started.elapsed()),
            download_time_ms: download_ms,
            resize_time_ms: resize_ms,
            cdn_upload_time_ms: cdn_ms,
            archive_time_ms: archive_ms,
        }),
        variants: Some(variants),
        warnings: std::mem::take(warnings),
        error: None,
        error_code: None,
    })
}

/// Fault injection for the tests, in debug builds only: `ARKE_DEBUG_PANIC=job|archive` panics
/// there, with the secret in the message, to prove a panic in any thread still ends in one
/// redacted `internal` callback. Release builds compile this to nothing.
fn debug_panic(place: &str, cfg: &Config) {
    if cfg!(debug_assertions) && std::env::var("ARKE_DEBUG_PANIC").is_ok_and(|v| v == place) {
        panic!(
            "injected panic in {place} holding {}",
            cfg.r2_secret_access_key.expose()
        );
    }
}

fn variant_infos(out: &Output, urls: &[(String, String)]) -> Vec<VariantInfo> {
    out.variants
        .iter()
        .map(|v| VariantInfo {
            name: v.name.to_string(),
            width: v.width,
            height: v.height,
            bytes: v.data.len(),
            content_type: v.content_type.to_string(),
            url: urls
                .iter()
                .find(|(n, _)| n == v.name)
                .map(|(_, u)| u.clone())
                .unwrap_or_default(),
        })
        .collect()
}

fn new_asset_id() -> String {
    let now = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    plan::asset_id(now, fastrand::u64(..))
}

/// Step 5: writes the exact original bytes to the archive without overwriting anything else.
/// The same bytes already there count as done (a retried task); other bytes send the original
/// to `{BATCH_ID}/{TASK_ID}/{INPUT_FILE_NAME}` instead. Returns the key used.
fn archive_original(
    storage: &Storage,
    cfg: &Config,
    bytes: &[u8],
    content_type: &str,
) -> Result<String, Error> {
    let mut headers = vec![
        (
            "x-amz-meta-original-r2-key".to_string(),
            cfg.input_r2_key.clone(),
        ),
        ("x-amz-meta-batch-id".to_string(), cfg.batch_id.clone()),
        ("x-amz-meta-task-id".to_string(), cfg.task_id.clone()),
    ];
    if let Some(cid) = &cfg.input_cid {
        headers.push(("x-amz-meta-ipfs-cid".to_string(), cid.clone()));
    }
    let md5 = md5_hex(bytes);
    let primary = cfg.input_file_name.clone();
    let fallback = plan::archive_fallback_key(&cfg.batch_id, &cfg.task_id, &cfg.input_file_name);
    for key in [primary, fallback] {
        let fail = |cause: String| Error::Archive {
            key: key.clone(),
            cause,
        };
        let existing = storage
            .head(Which::Archive, &key)
            .map_err(|f| fail(f.message))?;
        let holds_ours = match existing {
            None => match storage
                .put(Which::Archive, &key, bytes, content_type, &headers, true)
                .map_err(|f| fail(f.message))?
            {
                PutOutcome::Written => {
                    log::info(
                        "archive",
                        &format!("archived as {key}"),
                        &[("bytes", json!(bytes.len()))],
                    );
                    return Ok(key);
                }
                // Someone wrote it between our HEAD and PUT: compare with what is there now.
                PutOutcome::Exists => same_object(storage, &key, bytes, &md5).map_err(fail)?,
            },
            Some(info) if info.size != bytes.len() as u64 => false,
            Some(info) if is_md5(&info.etag) => info.etag.eq_ignore_ascii_case(&md5),
            Some(_) => same_object(storage, &key, bytes, &md5).map_err(fail)?,
        };
        if holds_ours {
            log::info(
                "archive",
                &format!("{key} already holds these exact bytes"),
                &[],
            );
            return Ok(key);
        }
        log::warn(
            "archive",
            &format!("{key} already holds a different object; not overwriting it"),
            &[],
        );
    }
    Err(Error::Archive {
        key: cfg.input_file_name.clone(),
        cause: "the key and its fallback both hold different objects; nothing overwritten".into(),
    })
}

fn same_object(storage: &Storage, key: &str, bytes: &[u8], md5: &str) -> Result<bool, String> {
    match storage.head(Which::Archive, key).map_err(|f| f.message)? {
        None => Ok(false),
        Some(info) if info.size != bytes.len() as u64 => Ok(false),
        Some(info) if is_md5(&info.etag) => Ok(info.etag.eq_ignore_ascii_case(md5)),
        Some(_) => Ok(storage.get(Which::Archive, key).map_err(|f| f.message)? == bytes),
    }
}
