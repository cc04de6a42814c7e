//! The eight steps of SPEC.md, in order, with the timings for `performance`.
//!
//! download → probe → (archive ‖ decode+resize → CDN upload) → `.ref.json` → result for the
//! callback. The archive upload starts as soon as the original is known to be an image and runs
//! alongside resizing and the CDN upload.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::archive::{self, ArchiveBucket};
use crate::callback::{
    sha256_hex, with_sha256, Payload, Performance, PlaceholderInfo, RefData, SourceInfo, Success,
    VariantInfo,
};
use crate::cdn::{Body, Cdn, Uploaded};
use crate::config::Config;
use crate::control::Control;
use crate::error::Error;
use crate::image::Output;
use crate::log;
use crate::plan;
use crate::sandbox::{self, SealedInput, Stage};
use crate::storage::{GetError, SizeLimit, Storage, Which, WriteMode};

/// The CDN upload carries every variant in one body; give it time.
pub const CDN_TIMEOUT: Duration = Duration::from_secs(120);

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Runs the job and returns the success callback payload. `warnings` collects what a person
/// should know either way (it goes into the error callback too).
pub fn run(
    cfg: &Config,
    storage: &Storage,
    cdn: &Cdn,
    control: &Control,
    warnings: &mut Vec<String>,
) -> Result<Payload, Error> {
    let started = Instant::now();
    debug_panic("job", cfg);
    // Checked by the configuration already; built here as it will be sent.
    let metadata = plan::archive_metadata(
        &cfg.input_r2_key,
        &cfg.batch_id,
        &cfg.task_id,
        cfg.input_cid.as_deref(),
    )
    .map_err(|why| Error::InputInvalid(vec![why]))?;

    // Step 1: download, verified and bounded.
    let (original, download_ms) = fetch(cfg, storage, warnings)?;

    // Step 2, first half: what is it? Decided from the bytes, not the declared type.
    let stage = identify(cfg, &original, warnings)?;
    let content_type = stage.identified().format.content_type();

    // Steps 2–5: archive alongside resizing and the CDN upload (asset ID made in `cdn`).
    // The original's fingerprint beside the image work.
    let (archived, (made, fingerprint)) = std::thread::scope(|s| {
        let archive =
            s.spawn(|| timed(|| archive_step(cfg, storage, &original, content_type, &metadata)));
        let made = with_sha256(&original, || resize_and_upload(cfg, cdn, stage));
        let archived = archive
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("archive thread panicked".into())));
        (archived, made)
    });
    let made = made?;
    let (archive_key, archive_ms) = archived?;
    collect_warnings(&made, storage, warnings);

    // Step 6: .ref.json beside the original: the run's last write, made only by a run that
    // will report success (PRODUCT.md "Network behaviour": a stopped job stops).
    control
        .commit()
        .map_err(|stop| Error::stopped(stop, cfg.job_timeout.as_secs()))?;
    let (ref_key, ref_data) =
        write_ref_json(cfg, storage, &made.uploaded, content_type, &original)?;

    // Step 7: the original stays in staging (SPEC.md's decision). Step 8 is the caller's.
    let done = Success {
        ref_json_r2_key: ref_key,
        ref_data,
        archive_r2_key: archive_key,
        performance: Performance {
            total_time_ms: ms(started.elapsed()),
            download_time_ms: download_ms,
            resize_time_ms: made.resize_ms,
            cdn_upload_time_ms: made.cdn_ms,
            archive_time_ms: archive_ms,
        },
        variants: variant_infos(&made.out, &made.uploaded.variant_urls),
        source: SourceInfo::new(&made.out, fingerprint),
        placeholder: PlaceholderInfo::from(&made.out.placeholder),
    };
    Ok(Payload::success(
        &cfg.task_id,
        &cfg.batch_id,
        done,
        std::mem::take(warnings),
    ))
}

/// Step 1, and what it tells: the original downloaded (verified and bounded: [`download`]),
/// logged, compared with the declared size, and held once, in a sealed memory file that the
/// image stage's child process maps too. Returns it with the download's duration, ms.
fn fetch(
    cfg: &Config,
    storage: &Storage,
    warnings: &mut Vec<String>,
) -> Result<(SealedInput, u64), Error> {
    let (original, download_ms) = timed(|| download(cfg, storage))?;
    log::info(
        "download",
        "original downloaded and verified",
        &[
            ("bytes", json!(original.len())),
            ("duration_ms", json!(download_ms)),
        ],
    );
    warn_if_declared_differs(cfg, &original, warnings);
    let original = SealedInput::new(original)
        .map_err(|e| Error::Internal(format!("cannot hold the original in memory: {e}")))?;
    Ok((original, download_ms))
}

/// What the image stage and the CDN upload found worth saying, and a clock that S3 refused
/// (PRODUCT.md "Network behaviour": clock skew): the machine's clock wants fixing, so the
/// callback says so — from a minute off (below that the offset is within the `Date` header's
/// one-second grain of noise).
fn collect_warnings(made: &Made, storage: &Storage, warnings: &mut Vec<String>) {
    warnings.extend(made.out.warnings.iter().cloned());
    warnings.extend(made.uploaded.warnings.iter().cloned());
    let offset = storage.clock_offset();
    if offset.abs() >= 60 {
        warnings.push(format!(
            "the machine's clock is {}: S3 requests were signed with that correction",
            crate::storage::clock_words(offset)
        ));
    }
}

/// `f`'s result with how long it took, in ms.
fn timed<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<(T, u64), Error> {
    let t = Instant::now();
    f().map(|v| (v, ms(t.elapsed())))
}

/// The declared size is the orchestrator's word; the real one wins (PRODUCT.md "Outputs").
fn warn_if_declared_differs(cfg: &Config, original: &[u8], warnings: &mut Vec<String>) {
    let real = original.len() as u64;
    if real != cfg.input_file_size {
        let w = format!(
            "INPUT_FILE_SIZE says {} bytes, the object has {real}; using {real}",
            cfg.input_file_size
        );
        log::warn("download", &w, &[]);
        warnings.push(w);
    }
}

/// Step 2's probe: the image stage started (in its confined child process: `sandbox`), the
/// format from the bytes (a mismatch with `INPUT_CONTENT_TYPE` is a warning), the header read
/// once and refused when too large.
fn identify<'a>(
    cfg: &'a Config,
    original: &'a SealedInput,
    warnings: &mut Vec<String>,
) -> Result<Stage<'a>, Error> {
    // The child's CPU time: the deadline's worth on both cores.
    let cpu_secs = 2 * cfg.job_timeout.as_secs();
    let stage = sandbox::start(original, &cfg.image, cfg.isolation, cpu_secs)?;
    let content_type = stage.identified().format.content_type();
    if !cfg.input_content_type.eq_ignore_ascii_case(content_type) {
        let w = format!(
            "INPUT_CONTENT_TYPE says {}, the bytes are {content_type}; using {content_type}",
            cfg.input_content_type
        );
        log::warn("resize", &w, &[]);
        warnings.push(w);
    }
    Ok(stage)
}

/// Step 5: the exact original into the archive, never over another object
/// ([`archive::archive`]). Returns the key used.
fn archive_step(
    cfg: &Config,
    storage: &Storage,
    original: &[u8],
    content_type: &str,
    metadata: &[(String, String)],
) -> Result<String, Error> {
    debug_panic("archive", cfg);
    let fallback = plan::archive_fallback_key(&cfg.batch_id, &cfg.task_id, &cfg.input_file_name);
    archive::archive(
        &ArchiveBucket(storage),
        [&cfg.input_file_name, &fallback],
        original,
        content_type,
        metadata,
    )
    .map_err(|e| Error::Archive {
        key: e.key,
        cause: e.cause,
    })
}

/// What steps 2–4 made: the variants and what the CDN answered, with their timings (ms).
struct Made {
    out: Output,
    uploaded: Uploaded,
    resize_ms: u64,
    cdn_ms: u64,
}

/// Steps 2–4: every variant made, then uploaded to the CDN in one POST.
fn resize_and_upload(cfg: &Config, cdn: &Cdn, stage: Stage<'_>) -> Result<Made, Error> {
    let content_type = stage.identified().format.content_type();
    let ((out, child), resize_ms) = timed(|| stage.finish().map_err(Error::from))?;
    log::info(
        "resize",
        &format!("{} variant(s) made", out.variants.len()),
        &[
            ("duration_ms", json!(resize_ms)),
            (
                "bytes",
                json!(out.variants.iter().map(|v| v.data.len()).sum::<usize>()),
            ),
            ("phases_ms", json!(out.phases)),
            (
                "image_stage",
                json!({ "isolation": cfg.isolation.name(), "child": child }),
            ),
        ],
    );
    let body = Body::new(
        &out.variants,
        &cfg.input_file_name,
        content_type,
        cfg.input_cid.as_deref(),
    );
    let (uploaded, cdn_ms) = timed(|| cdn.upload(&body, new_asset_id).map_err(Error::CdnUpload))?;
    log::info(
        "cdn_upload",
        &format!("asset {} registered", uploaded.asset_id),
        &[("duration_ms", json!(cdn_ms))],
    );
    Ok(Made {
        out,
        uploaded,
        resize_ms,
        cdn_ms,
    })
}

/// Step 6: `{INPUT_R2_KEY}.ref.json`, SPEC.md's RefData with the real size and the detected
/// type. Returns its key and content.
fn write_ref_json(
    cfg: &Config,
    storage: &Storage,
    uploaded: &Uploaded,
    content_type: &str,
    original: &[u8],
) -> Result<(String, RefData), Error> {
    let ref_key = plan::ref_json_key(&cfg.input_r2_key);
    let ref_data = RefData {
        url: uploaded.cdn_url.clone(),
        ipfs_cid: cfg.input_cid.clone(),
        content_type: content_type.to_string(),
        size: original.len() as u64,
        filename: cfg.input_file_name.clone(),
    };
    storage
        .put(
            Which::Staging,
            &ref_key,
            ref_data.to_json().as_bytes(),
            "application/json",
            &[],
            WriteMode::Overwrite,
        )
        .map_err(|f| Error::RefWrite {
            key: ref_key.clone(),
            cause: f.message,
        })?;
    log::info("ref_json", &format!("wrote {ref_key}"), &[]);
    Ok((ref_key, ref_data))
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
            sha256: sha256_hex(&v.data),
        })
        .collect()
}

fn new_asset_id() -> String {
    let now = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    plan::asset_id(now, fastrand::u64(..))
}

/// Step 1: HEAD (refusing what is too large before fetching it; an unknown size is not 0),
/// then the verified, bounded GET ([`Storage::get_limited`]). The limit is `MAX_INPUT_BYTES`,
/// or for a TIFF (told by its first bytes) `MAX_TIFF_INPUT_BYTES` when that is larger.
fn download(cfg: &Config, storage: &Storage) -> Result<Vec<u8>, Error> {
    let key = &cfg.input_r2_key;
    let failed = |cause: String| Error::Download {
        key: key.clone(),
        cause,
    };
    let most = cfg.max_input_bytes.max(cfg.max_tiff_input_bytes);
    let for_start = |start: &[u8]| match crate::image::Format::detect(start) {
        Some(crate::image::Format::Tiff) => most,
        _ => cfg.max_input_bytes,
    };
    let name = |limit: u64| match limit == cfg.max_input_bytes {
        true => "MAX_INPUT_BYTES",
        false => "MAX_TIFF_INPUT_BYTES",
    };
    let too_large = |size: Option<u64>, limit: u64| {
        let name = name(limit);
        Error::InputTooLarge(match size {
            Some(size) => format!("{size} bytes, over {name} ({limit})"),
            None => format!("over {name} ({limit} bytes); stopped reading there"),
        })
    };
    let info = storage
        .head(Which::Staging, key)
        .map_err(|f| failed(f.message))?
        .ok_or_else(|| failed("object not found (HTTP 404)".into()))?;
    if info.size.is_some_and(|size| size > most) {
        // Over every limit, whatever it is.
        return Err(too_large(info.size, most));
    }
    if info.size.is_none() {
        log::warn(
            "download",
            "HEAD gave no size; the GET is read up to MAX_INPUT_BYTES (a TIFF: \
             MAX_TIFF_INPUT_BYTES) and no further",
            &[],
        );
    }
    let limit = SizeLimit {
        most,
        for_start: &for_start,
    };
    storage
        .get_limited(Which::Staging, key, limit, info.size)
        .map_err(|e| match e {
            GetError::TooLarge { size, limit } => too_large(size, limit),
            GetError::Failed(f) => failed(f.message),
        })
}
