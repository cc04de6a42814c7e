//! The job's configuration, read from the environment once and validated up front: every
//! problem is reported by variable name, and no secret value ever reaches `Debug` or `Display`.

use std::fmt;
use std::time::Duration;

use crate::error::Error;
use crate::plan;
use crate::urls::{self, Url};

mod raw;
pub use raw::{CallbackTarget, RawConfig, VARIABLES};

/// A credential. Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The raw value, for signing requests only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

pub use crate::image::{
    ImageSettings, DEFAULT_MAX_INPUT_PIXELS, DEFAULT_ORIGINAL_MAX_DIMENSION, DEFAULT_QUALITY,
};
pub use crate::sandbox::Isolation;

/// Defaults of the optional variables (PRODUCT.md "Environment").
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 50 * 1024 * 1024;
/// A TIFF's own limit (PRODUCT.md "Input formats": a 400 MB uncompressed 16-bit scanner master
/// is processed with the defaults; it is decoded a strip at a time, so only the input itself
/// is held whole).
pub const DEFAULT_MAX_TIFF_INPUT_BYTES: u64 = 512 * 1024 * 1024;
pub const DEFAULT_JOB_TIMEOUT_SECS: u64 = 300;

/// Everything the job needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub task_id: String,
    pub batch_id: String,
    pub input_r2_key: String,
    pub input_file_name: String,
    pub input_content_type: String,
    /// The size the orchestrator declared; the real size wins where they differ.
    pub input_file_size: u64,
    /// `None` when `INPUT_CID` is unset or empty.
    pub input_cid: Option<String>,
    /// The URLs show themselves redacted ([`Url`]: userinfo and query are secrets).
    pub r2_endpoint: Url,
    pub r2_access_key_id: Secret,
    pub r2_secret_access_key: Secret,
    pub r2_bucket: String,
    pub archive_bucket: String,
    pub cdn_api_url: Url,
    pub cdn_public_url: Url,
    pub callback_url: Url,
    pub image: ImageSettings,
    pub max_input_bytes: u64,
    /// The limit of a TIFF instead of `max_input_bytes`, when larger (`MAX_TIFF_INPUT_BYTES`).
    pub max_tiff_input_bytes: u64,
    pub job_timeout: Duration,
    /// How the image stage runs (`IMAGE_STAGE`).
    pub isolation: Isolation,
}

impl ImageSettings {
    /// The image settings alone (for `variants`), from the same variables as the job.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ImageSettings, Error> {
        let mut r = Reader {
            lookup: &lookup,
            config: Vec::new(),
            input: Vec::new(),
        };
        let settings = read_image_settings(&mut r);
        if r.config.is_empty() {
            Ok(settings)
        } else {
            Err(Error::Config(r.config))
        }
    }
}

impl Isolation {
    /// `IMAGE_STAGE` alone (for `variants`), as the job reads it.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Isolation, Error> {
        let mut r = Reader {
            lookup: &lookup,
            config: Vec::new(),
            input: Vec::new(),
        };
        let isolation = r.isolation();
        if r.config.is_empty() {
            Ok(isolation)
        } else {
            Err(Error::Config(r.config))
        }
    }
}

fn read_image_settings<F: Fn(&str) -> Option<String>>(r: &mut Reader<'_, F>) -> ImageSettings {
    ImageSettings {
        original_max_dimension: r.number(
            "ORIGINAL_MAX_DIMENSION",
            Some(DEFAULT_ORIGINAL_MAX_DIMENSION),
            (1, 1 << 20),
        ),
        max_input_pixels: r.number(
            "MAX_INPUT_PIXELS",
            Some(DEFAULT_MAX_INPUT_PIXELS),
            (1, u64::from(u32::MAX)),
        ),
        jpeg_quality: r.number("JPEG_QUALITY", Some(DEFAULT_QUALITY), (1, 100)),
        webp_quality: r.number("WEBP_QUALITY", Some(DEFAULT_QUALITY), (1, 100)),
    }
}

/// Collects problems instead of stopping at the first one.
struct Reader<'a, F> {
    lookup: &'a F,
    config: Vec<String>,
    input: Vec<String>,
}

impl<F: Fn(&str) -> Option<String>> Reader<'_, F> {
    fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    fn required(&mut self, name: &str) -> String {
        match self.optional(name) {
            Some(v) => v,
            None => {
                self.config.push(format!("{name}: missing"));
                String::new()
            }
        }
    }

    fn url(&mut self, name: &str) -> Url {
        let v = self.required(name);
        if !v.is_empty() && !is_http_url(&v) {
            self.config.push(not_a_url(name, &v));
        }
        Url::new(trim_url(&v))
    }

    fn number<T>(&mut self, name: &str, default: Option<T>, range: (T, T)) -> T
    where
        T: std::str::FromStr + PartialOrd + fmt::Display + Copy + Default,
    {
        let raw = match (self.optional(name), default) {
            (Some(raw), _) => raw,
            (None, Some(d)) => return d,
            (None, None) => {
                self.config.push(format!("{name}: missing"));
                return T::default();
            }
        };
        match raw.trim().parse::<T>() {
            Ok(v) if v >= range.0 && v <= range.1 => v,
            Ok(_) => {
                self.config.push(format!(
                    "{name}: {} is outside {}..={}",
                    printable(&raw),
                    range.0,
                    range.1
                ));
                T::default()
            }
            Err(_) => {
                self.config
                    .push(format!("{name}: not a whole number: {}", printable(&raw)));
                T::default()
            }
        }
    }
}

impl<F: Fn(&str) -> Option<String>> Reader<'_, F> {
    /// `IMAGE_STAGE`: `confined` (the default), `unconfined` or `in-process`.
    fn isolation(&mut self) -> Isolation {
        match self.optional("IMAGE_STAGE") {
            None => Isolation::default(),
            Some(v) => Isolation::parse(&v).unwrap_or_else(|| {
                self.config.push(format!(
                    "IMAGE_STAGE: {} is not confined, unconfined or in-process",
                    printable(&v)
                ));
                Isolation::default()
            }),
        }
    }

    /// `R2_ENDPOINT`, or R2's endpoint for `R2_ACCOUNT_ID` (PRODUCT.md "Environment").
    fn endpoint(&mut self) -> Url {
        let account_id = self.optional("R2_ACCOUNT_ID");
        Url::new(match self.optional("R2_ENDPOINT") {
            Some(e) if is_http_url(&e) => trim_url(&e),
            Some(e) => {
                self.config.push(not_a_url("R2_ENDPOINT", &e));
                String::new()
            }
            None => match account_id {
                Some(id) if id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => {
                    format!("https://{id}.r2.cloudflarestorage.com")
                }
                Some(_) => {
                    self.config
                        .push("R2_ACCOUNT_ID: only letters, digits and '-' allowed".into());
                    String::new()
                }
                None => {
                    self.config
                        .push("R2_ACCOUNT_ID: missing (and no R2_ENDPOINT given)".into());
                    String::new()
                }
            },
        })
    }

    /// PRODUCT.md "Input safety", then — nothing is sent before everything is known to be
    /// sendable (PRODUCT.md "Network behaviour") — every key the job writes and the archive
    /// metadata as it will be sent. Problems go to `input` (`input_invalid`).
    fn check_inputs(
        &mut self,
        task_id: &str,
        batch_id: &str,
        key: &str,
        file_name: &str,
        cid: &Option<String>,
    ) {
        if !file_name.is_empty() {
            if let Err(why) = check_file_name(file_name) {
                self.input.push(format!("INPUT_FILE_NAME: {why}"));
            }
        }
        // Both IDs become segments of the archive fallback key.
        for (name, id) in [("TASK_ID", task_id), ("BATCH_ID", batch_id)] {
            if let Err(why) = check_id(id) {
                self.input.push(format!("{name}: {why}"));
            }
        }
        if !key.is_empty() {
            if let Err(why) = check_key(key) {
                self.input.push(format!("INPUT_R2_KEY: {why}"));
            }
        }
        if let Some(cid) = cid {
            if cid.chars().any(char::is_control) || cid.len() > 512 {
                self.input
                    .push("INPUT_CID: control characters or over 512 bytes".into());
            }
        }
        if self.input.is_empty() && !key.is_empty() && !file_name.is_empty() {
            if let Err(why) = plan::check_output_keys(key, batch_id, task_id, file_name) {
                self.input.push(why);
            }
            if let Err(why) = plan::archive_metadata(key, batch_id, task_id, cid.as_deref()) {
                self.input.push(why);
            }
        }
    }
}

impl Config {
    /// Reads and validates every variable through `lookup` (e.g. `|k| std::env::var(k).ok()`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, Error> {
        let mut r = Reader {
            lookup: &lookup,
            config: Vec::new(),
            input: Vec::new(),
        };
        let task_id = r.required("TASK_ID");
        let batch_id = r.required("BATCH_ID");
        let input_r2_key = r.required("INPUT_R2_KEY");
        let input_file_name = r.required("INPUT_FILE_NAME");
        let input_content_type = r.required("INPUT_CONTENT_TYPE");
        let input_file_size = r.number::<u64>("INPUT_FILE_SIZE", None, (0, u64::MAX));
        let input_cid = r.optional("INPUT_CID");
        let r2_endpoint = r.endpoint();
        let r2_access_key_id = Secret::new(r.required("R2_ACCESS_KEY_ID"));
        let r2_secret_access_key = Secret::new(r.required("R2_SECRET_ACCESS_KEY"));
        let r2_bucket = r.required("R2_BUCKET");
        let archive_bucket = r.required("ARCHIVE_BUCKET");
        let cdn_api_url = r.url("CDN_API_URL");
        let cdn_public_url = r.url("CDN_PUBLIC_URL");
        let callback_url = r.url("CALLBACK_URL");
        let image = read_image_settings(&mut r);
        let max_input_bytes = r.number(
            "MAX_INPUT_BYTES",
            Some(DEFAULT_MAX_INPUT_BYTES),
            (1, 1 << 40),
        );
        let max_tiff_input_bytes = r.number(
            "MAX_TIFF_INPUT_BYTES",
            Some(DEFAULT_MAX_TIFF_INPUT_BYTES),
            (1, 1 << 40),
        );
        let job_timeout = Duration::from_secs(r.number(
            "JOB_TIMEOUT_SECS",
            Some(DEFAULT_JOB_TIMEOUT_SECS),
            (1, 24 * 3600),
        ));
        let isolation = r.isolation();

        r.check_inputs(
            &task_id,
            &batch_id,
            &input_r2_key,
            &input_file_name,
            &input_cid,
        );

        if !r.config.is_empty() {
            r.config.extend(r.input);
            return Err(Error::Config(r.config));
        }
        if !r.input.is_empty() {
            return Err(Error::InputInvalid(r.input));
        }
        Ok(Config {
            task_id,
            batch_id,
            input_r2_key,
            input_file_name,
            input_content_type,
            input_file_size,
            input_cid,
            r2_endpoint,
            r2_access_key_id,
            r2_secret_access_key,
            r2_bucket,
            archive_bucket,
            cdn_api_url,
            cdn_public_url,
            callback_url,
            image,
            max_input_bytes,
            max_tiff_input_bytes,
            job_timeout,
            isolation,
        })
    }

    /// The plan `check` prints: every setting, secrets redacted.
    pub fn plan(&self) -> serde_json::Value {
        serde_json::json!({
            "task_id": self.task_id,
            "batch_id": self.batch_id,
            "input": {
                "r2_key": self.input_r2_key,
                "file_name": self.input_file_name,
                "content_type": self.input_content_type,
                "declared_size": self.input_file_size,
                "ipfs_cid": self.input_cid,
            },
            "r2": {
                "endpoint": self.r2_endpoint.to_string(),
                "access_key_id": self.r2_access_key_id.to_string(),
                "secret_access_key": self.r2_secret_access_key.to_string(),
                "staging_bucket": self.r2_bucket,
                "archive_bucket": self.archive_bucket,
            },
            "cdn": {
                "api_url": self.cdn_api_url.to_string(),
                "public_url": self.cdn_public_url.to_string(),
            },
            "callback_url": self.callback_url.to_string(),
            "limits": {
                "max_input_bytes": self.max_input_bytes,
                "max_tiff_input_bytes": self.max_tiff_input_bytes,
                "max_input_pixels": self.image.max_input_pixels,
                "original_max_dimension": self.image.original_max_dimension,
                "job_timeout_secs": self.job_timeout.as_secs(),
            },
            "quality": { "jpeg": self.image.jpeg_quality, "webp": self.image.webp_quality },
            "image_stage": self.isolation.name(),
            "outputs": {
                "archive_key": self.input_file_name,
                "archive_fallback_key": plan::archive_fallback_key(&self.batch_id, &self.task_id, &self.input_file_name),
                "ref_json_key": plan::ref_json_key(&self.input_r2_key),
            },
        })
    }
}

pub(crate) fn is_http_url(v: &str) -> bool {
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"));
    matches!(rest, Some(r) if !r.is_empty() && !r.starts_with('/'))
        && !v.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// A configured URL without the trailing `/` of its path (SPEC.md appends `/asset/…`); one
/// with a query or fragment is kept as given ([`urls::join`] places paths before the query).
fn trim_url(v: &str) -> String {
    if v.contains(['?', '#']) {
        v.to_string()
    } else {
        v.trim_end_matches('/').to_string()
    }
}

/// A URL variable that is not an http(s) URL, shown redacted: a malformed URL may hold a
/// password or a token as well (PRODUCT.md "Environment").
fn not_a_url(name: &str, value: &str) -> String {
    format!(
        "{name}: not an http(s) URL: {}",
        printable(&urls::redact(value))
    )
}

/// A value quoted for an error message, cut short and without control characters.
fn printable(v: &str) -> String {
    let cleaned: String = v
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(80)
        .collect();
    format!("{cleaned:?}")
}

/// A plain file name: the archive key is built from it, so it must not name a folder.
pub fn check_file_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("empty")
    } else if name.len() > 255 {
        Err("over 255 bytes")
    } else if name.contains('/') || name.contains('\\') {
        Err("contains a path separator")
    } else if name == "." || name.contains("..") {
        Err("contains '..'")
    } else if name.chars().any(char::is_control) {
        Err("contains control characters")
    } else {
        Ok(())
    }
}

/// A task or batch ID: one segment of the fallback archive key `{BATCH_ID}/{TASK_ID}/{name}`,
/// so no separator, no `..`, no control characters, at most 255 bytes.
pub fn check_id(id: &str) -> Result<(), &'static str> {
    if id.len() > 255 {
        Err("over 255 bytes")
    } else if id.contains('/') || id.contains('\\') {
        Err("contains a path separator")
    } else if id == "." || id == ".." {
        Err("is '.' or '..'")
    } else if id.chars().any(char::is_control) {
        Err("contains control characters")
    } else {
        Ok(())
    }
}

/// An object key without `..` segments or control characters.
pub fn check_key(key: &str) -> Result<(), &'static str> {
    if key.len() > 1024 {
        Err("over 1024 bytes")
    } else if key.chars().any(char::is_control) {
        Err("contains control characters")
    } else if key.split('/').any(|seg| seg == "..") {
        Err("contains a '..' segment")
    } else if key.starts_with('/') || key.ends_with('/') {
        Err("starts or ends with '/'")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        let mut m: HashMap<String, String> = [
            ("TASK_ID", "img_1"),
            ("BATCH_ID", "batch_1"),
            ("INPUT_R2_KEY", "staging/batch_1/photos/sunset.jpg"),
            ("INPUT_FILE_NAME", "sunset.jpg"),
            ("INPUT_CONTENT_TYPE", "image/jpeg"),
            ("INPUT_FILE_SIZE", "2457600"),
            ("R2_ACCOUNT_ID", "acc123"),
            ("R2_ACCESS_KEY_ID", "AKIDSECRET"),
            ("R2_SECRET_ACCESS_KEY", "SHHHSECRET"),
            ("R2_BUCKET", "arke-staging"),
            ("ARCHIVE_BUCKET", "arke-archive"),
            ("CDN_API_URL", "https://cdn.example/"),
            ("CDN_PUBLIC_URL", "https://cdn.example"),
            ("CALLBACK_URL", "https://orch.example/callback/b/t"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            if v.is_empty() {
                m.remove(*k);
            } else {
                m.insert(k.to_string(), v.to_string());
            }
        }
        m
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, Error> {
        let m = env(pairs);
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn full_environment_parses_with_defaults() {
        let c = parse(&[]).unwrap();
        assert_eq!(
            c.r2_endpoint.expose(),
            "https://acc123.r2.cloudflarestorage.com"
        );
        assert_eq!(c.cdn_api_url.expose(), "https://cdn.example");
        assert_eq!(c.input_cid, None);
        assert_eq!(c.image, ImageSettings::default());
        assert_eq!(c.max_input_bytes, 52_428_800);
        assert_eq!(c.job_timeout, Duration::from_secs(300));
    }

    #[test]
    fn every_problem_is_reported_by_name() {
        let err = parse(&[
            ("TASK_ID", ""),
            ("INPUT_FILE_SIZE", "lots"),
            ("JPEG_QUALITY", "101"),
            ("CDN_API_URL", "ftp://x"),
        ])
        .unwrap_err();
        let msg = err.to_string();
        for name in ["TASK_ID", "INPUT_FILE_SIZE", "JPEG_QUALITY", "CDN_API_URL"] {
            assert!(msg.contains(name), "{name} not in {msg}");
        }
        assert_eq!(err.code(), "config_invalid");
    }

    #[test]
    fn secrets_never_print() {
        let c = parse(&[]).unwrap();
        let shown = format!("{c:?} {}", c.plan());
        assert!(
            !shown.contains("AKIDSECRET") && !shown.contains("SHHHSECRET"),
            "{shown}"
        );
        let err = parse(&[("R2_SECRET_ACCESS_KEY", "")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("R2_SECRET_ACCESS_KEY: missing"));
    }

    #[test]
    fn url_passwords_and_tokens_never_print() {
        let c = parse(&[
            (
                "CDN_API_URL",
                "https://u:CDNPASS@cdn.example/api?token=CDNTOKEN",
            ),
            ("CALLBACK_URL", "https://orch.example/cb?sig=CBTOKEN"),
            ("R2_ENDPOINT", "https://k:R2PASS@r2.example"),
        ])
        .unwrap();
        let shown = format!("{c:?} {}", c.plan());
        for marker in ["CDNPASS", "CDNTOKEN", "CBTOKEN", "R2PASS"] {
            assert!(!shown.contains(marker), "{marker}: {shown}");
        }
        assert!(
            shown.contains("https://u:***@cdn.example/api?***"),
            "{shown}"
        );
        // A malformed URL is named and shown redacted too.
        let err = parse(&[("CDN_API_URL", "htps://u:CDNPASS@cdn?token=CDNTOKEN")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(r#"CDN_API_URL: not an http(s) URL: "htps://u:***@cdn?***""#),
            "{err}"
        );
    }

    #[test]
    fn endpoint_override_makes_account_optional() {
        let c = parse(&[
            ("R2_ACCOUNT_ID", ""),
            ("R2_ENDPOINT", "http://127.0.0.1:9000"),
        ])
        .unwrap();
        assert_eq!(c.r2_endpoint.expose(), "http://127.0.0.1:9000");
        assert!(parse(&[("R2_ACCOUNT_ID", "")]).is_err());
    }

    #[test]
    fn empty_cid_is_absent() {
        assert_eq!(parse(&[("INPUT_CID", "  ")]).unwrap().input_cid, None);
        assert_eq!(
            parse(&[("INPUT_CID", "QmX")]).unwrap().input_cid.as_deref(),
            Some("QmX")
        );
    }

    #[track_caller]
    fn name_case(name: &str, ok: bool) {
        assert_eq!(check_file_name(name).is_ok(), ok, "{name:?}");
    }

    #[test]
    fn file_names() {
        name_case("sunset.jpg", true);
        name_case("my photo (1).JPG", true);
        name_case("", false);
        name_case("a/b.jpg", false);
        name_case("a\\b.jpg", false);
        name_case("..", false);
        name_case("x..jpg", false);
        name_case("a\nb.jpg", false);
        name_case(&"a".repeat(256), false);
    }

    #[test]
    fn ids_are_single_key_segments() {
        assert!(check_id("img_1234567890_abcdef").is_ok());
        for bad in ["a/b", "a\\b", "..", "t\n1", &"x".repeat(256)] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
        let err = parse(&[("TASK_ID", "../../x")]).unwrap_err();
        assert_eq!(err.code(), "input_invalid");
        assert!(err
            .to_string()
            .contains("TASK_ID: contains a path separator"));
    }

    #[test]
    fn bad_input_is_input_invalid() {
        let err = parse(&[("INPUT_FILE_NAME", "../etc/passwd")]).unwrap_err();
        assert_eq!(err.code(), "input_invalid");
        let err = parse(&[("INPUT_R2_KEY", "staging/../x.jpg")]).unwrap_err();
        assert_eq!(err.code(), "input_invalid");
    }
}
