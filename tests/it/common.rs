//! Running the worker against a fresh stack, and the checks every successful job must pass.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub use arke_stack::{Action, Fault, Server, Stack, ARCHIVE, STAGING};
use serde_json::{json, Value};

pub const TASK: &str = "img_1234567890_abcdef";
pub const BATCH: &str = "batch_abc123";
pub const CID: &str = "QmX5ZzBqN8vK3Lm9Rt4Yw2Pq7Jh8Fg6Dc5Ab1Mn3Kp9Xy4";

pub fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(testdata(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

pub fn worker() -> Command {
    Command::new(env!("CARGO_BIN_EXE_arke-image-processor"))
}

/// What a run of the worker left behind.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// One task: a file put into staging and the environment SPEC.md gives the worker.
pub struct Job {
    pub key: String,
    pub file_name: String,
    pub data: Vec<u8>,
    pub env: Vec<(String, String)>,
}

impl Job {
    /// Puts `data` into staging as `staging/{BATCH}/photos/{file_name}` with `INPUT_CID` set.
    pub fn new(stack: &Stack, file_name: &str, data: Vec<u8>, content_type: &str) -> Job {
        let key = format!("staging/{BATCH}/photos/{file_name}");
        Job::at(stack, &key, file_name, data, content_type)
    }

    /// Puts `data` into staging at `key` with `INPUT_CID` set.
    pub fn at(stack: &Stack, key: &str, file_name: &str, data: Vec<u8>, content_type: &str) -> Job {
        let key = key.to_string();
        stack.put(STAGING, &key, &data, content_type);
        let mut env = stack.env(TASK, BATCH, &key, file_name, content_type, data.len());
        env.push(("INPUT_CID".into(), CID.into()));
        Job {
            key,
            file_name: file_name.to_string(),
            data,
            env,
        }
    }

    pub fn fixture(stack: &Stack, name: &str, content_type: &str) -> Job {
        let file_name = name.rsplit('/').next().unwrap_or(name);
        Job::new(stack, file_name, fixture(name), content_type)
    }

    pub fn set(&mut self, key: &str, value: &str) -> &mut Job {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn unset(&mut self, key: &str) -> &mut Job {
        self.env.retain(|(k, _)| k != key);
        self
    }

    pub fn cid(&self) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == "INPUT_CID")
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn run(&self) -> Run {
        finish(self.spawn())
    }

    /// Starts the worker without waiting for it (to signal it, or watch it meanwhile).
    pub fn spawn(&self) -> Child {
        worker()
            .env_clear()
            .envs(self.env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start worker")
    }
}

/// The variants of `jpeg_thumb_band_800x600.jpg`, the small photo most fault tests run.
pub const THUMB_BAND: &[Expect] = &[
    ("thumb", image::ImageFormat::Jpeg, 400, 300),
    ("original", image::ImageFormat::Jpeg, 800, 600),
];

/// `jpeg_thumb_band_800x600.jpg` in staging, ready to run.
pub fn thumb_job(stack: &Stack) -> Job {
    Job::fixture(stack, "jpeg_thumb_band_800x600.jpg", "image/jpeg")
}

/// The request path of a job's archive object (its first key).
pub fn archive_path(job: &Job) -> String {
    format!("/{ARCHIVE}/{}", job.file_name)
}

/// The request path of a job's `.ref.json`.
pub fn ref_path(job: &Job) -> String {
    format!("/{STAGING}/{}.ref.json", job.key)
}

/// The thumb-band job on a fresh stack, run with `action` answering its S3 PUTs to
/// `path(job)`, `times` times (`None`: every time).
pub fn run_with_put_fault(
    path: fn(&Job) -> String,
    action: Action,
    times: Option<u32>,
) -> (Stack, Job, Run) {
    let stack = Stack::start();
    let job = thumb_job(&stack);
    let fault = Fault::new(Server::S3, action)
        .method("PUT")
        .path(&path(&job));
    stack.fault(match times {
        Some(n) => fault.times(n),
        None => fault,
    });
    let run = job.run();
    (stack, job, run)
}

/// Values that must not show up in any output: the R2 keys, and the passwords and tokens that
/// [`with_url_secrets`] puts into the job's URLs (PRODUCT.md "Environment").
pub const SECRETS: [&str; 10] = [
    arke_stack::SECRET_KEY,
    arke_stack::ACCESS_KEY,
    "CBPASSMARKER",
    "CBTOKENMARKER",
    "CDNPASSMARKER",
    "CDNTOKENMARKER",
    "PUBPASSMARKER",
    "PUBTOKENMARKER",
    "LOCTOKENMARKER",
    "R2PASSMARKER",
];

/// Fails if any of [`SECRETS`] shows up in `all` (e.g. [`all_output`]).
#[track_caller]
pub fn assert_no_secret(what: &str, all: &str) {
    for secret in SECRETS {
        assert!(!all.contains(secret), "{what}: {secret} leaked:\n{all}");
    }
}

/// `SCHEME://HOST:PORT` with a user and password put in, then `path` and `?query`.
fn with_credentials(base: &str, user: &str, password: &str, path: &str, query: &str) -> String {
    let (scheme, host) = base.split_once("://").unwrap();
    format!("{scheme}://{user}:{password}@{host}{path}?{query}")
}

/// A password and a token in each of the job's callback and CDN URLs, as webhooks often carry
/// them; `cdn` is the CDN API's base (`http://HOST:PORT`).
pub fn with_url_secrets(stack: &Stack, job: &mut Job, cdn: &str) {
    let callback = with_credentials(
        &stack.orchestrator_url,
        "orch",
        "CBPASSMARKER",
        &format!("/callback/{BATCH}/{TASK}"),
        "token=CBTOKENMARKER",
    );
    let api = with_credentials(cdn, "cdn", "CDNPASSMARKER", "", "key=CDNTOKENMARKER");
    let public = with_credentials(
        &stack.cdn_url,
        "pub",
        "PUBPASSMARKER",
        "/",
        "sig=PUBTOKENMARKER",
    );
    job.set("CALLBACK_URL", &callback)
        .set("CDN_API_URL", &api)
        .set("CDN_PUBLIC_URL", &public);
}

/// Waits for a worker started with [`Job::spawn`].
pub fn finish(child: Child) -> Run {
    let out = child.wait_with_output().expect("worker output");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Sends `signal` (`TERM`, `INT`) to a running worker.
pub fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{signal}");
}

/// Polls until `done` holds; fails after 60 s, saying what never happened.
#[track_caller]
pub fn wait_for(what: &str, done: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{what}: not within 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Requests to one server with this method whose path ends with `path_end`.
pub fn count(stack: &Stack, server: Server, method: &str, path_end: &str) -> usize {
    stack
        .requests()
        .iter()
        .filter(|(s, m, p)| *s == server && m == method && p.ends_with(path_end))
        .count()
}

/// Everything a run printed and sent: stdout, stderr, every callback body as it arrived, and
/// every CDN request body (its image data aside).
pub fn all_output(stack: &Stack, run: &Run) -> String {
    let callbacks: Vec<String> = stack
        .callbacks()
        .iter()
        .map(|c| String::from_utf8_lossy(&c.raw).into_owned())
        .collect();
    let cdn: Vec<String> = stack
        .assets()
        .iter()
        .map(|a| a.request.to_string())
        .collect();
    format!(
        "{}\n{}\n{}\n{}",
        run.stdout,
        run.stderr,
        callbacks.join("\n"),
        cdn.join("\n")
    )
}

/// The run's log: every stdout line parsed as the JSON object it must be.
pub fn log_lines(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The one callback of the run; fails if there were none or several.
pub fn only_callback(stack: &Stack) -> Value {
    let calls = stack.callbacks();
    assert_eq!(
        calls.len(),
        1,
        "expected exactly one callback, got {calls:?}"
    );
    assert_eq!(calls[0].path, format!("/callback/{BATCH}/{TASK}"));
    calls[0].body.clone()
}

/// A variant the job should have made: name, format, width, height.
pub type Expect = (&'static str, image::ImageFormat, u32, u32);

/// The MIME type of a variant format.
pub fn mime(format: image::ImageFormat) -> &'static str {
    match format {
        image::ImageFormat::Jpeg => "image/jpeg",
        image::ImageFormat::Png => "image/png",
        image::ImageFormat::WebP => "image/webp",
        // A GIF's `original` is the GIF without its metadata.
        image::ImageFormat::Gif => "image/gif",
        other => panic!("no variant is written as {other:?}"),
    }
}

/// Everything a successful job must leave: the callback, ref.json, archive, staging, CDN.
/// `content_type` is the input's (ref.json, the archive, `original_content_type`); each variant's
/// is its format's (`expected`). Returns the CDN variants' bytes by name.
#[track_caller]
pub fn assert_success(
    stack: &Stack,
    job: &Job,
    run: &Run,
    content_type: &str,
    expected: &[Expect],
) -> BTreeMap<String, Vec<u8>> {
    assert_eq!(
        run.code,
        Some(0),
        "worker failed:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    let cb = only_callback(stack);

    // The CDN got exactly the expected variants, each decoding to its format and size.
    let assets = stack.assets();
    assert_eq!(assets.len(), 1, "one asset expected");
    let asset = &assets[0];
    let names: Vec<&str> = asset.variants.iter().map(|v| v.name.as_str()).collect();
    let want: Vec<&str> = expected.iter().map(|e| e.0).collect();
    assert_eq!(names, want, "variants uploaded");
    let mut by_name = BTreeMap::new();
    for ((name, format, w, h), v) in expected.iter().zip(&asset.variants) {
        assert_eq!(
            image::guess_format(&v.data).ok(),
            Some(*format),
            "{name} format"
        );
        assert_eq!(v.content_type, mime(*format), "{name} content type");
        let img = image::load_from_memory(&v.data)
            .unwrap_or_else(|e| panic!("{name} does not decode: {e}"));
        assert_eq!((img.width(), img.height()), (*w, *h), "{name} dimensions");
        by_name.insert(name.to_string(), v.data.clone());
    }
    // What a second decoder reads from the input's header; for inputs it does not read (TIFF
    // palettes, CMYK), what the callback says.
    let original_dims = try_upright_dimensions(&job.data).unwrap_or_else(|| {
        let s = &cb["source"];
        let side = |k: &str| s[k].as_u64().expect("source dimensions") as u32;
        (side("width"), side("height"))
    });
    for ((name, _, _, _), v) in expected.iter().zip(&asset.variants) {
        let img = image::load_from_memory(&v.data).expect("decodes");
        assert_aspect(name, (img.width(), img.height()), original_dims);
    }
    let req = &asset.request;
    assert_eq!(req["original_filename"], job.file_name.as_str());
    assert_eq!(req["original_content_type"], content_type);
    assert_eq!(req.get("ipfs_cid").and_then(Value::as_str), job.cid());
    for (i, v) in req["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .enumerate()
    {
        assert_eq!(
            v["size"],
            asset.variants[i].data.len(),
            "size field of {}",
            v["name"]
        );
        assert_eq!(v["content_type"], mime(expected[i].1));
    }

    // ref.json: exactly SPEC.md's shape, pretty-printed.
    let cdn_url = format!("{}/asset/{}", stack.cdn_url, asset.id);
    let ref_key = format!("{}.ref.json", job.key);
    let mut ref_data = json!({"url": cdn_url});
    if let Some(cid) = job.cid() {
        ref_data["ipfs_cid"] = json!(cid);
    }
    ref_data["type"] = json!(content_type);
    ref_data["size"] = json!(job.data.len());
    ref_data["filename"] = json!(job.file_name);
    let stored_ref =
        String::from_utf8(stack.get(STAGING, &ref_key).expect("ref.json written")).expect("utf-8");
    let cid_line = job
        .cid()
        .map(|c| format!("  \"ipfs_cid\": \"{c}\",\n"))
        .unwrap_or_default();
    let expected_ref = format!(
        "{{\n  \"url\": \"{cdn_url}\",\n{cid_line}  \"type\": \"{content_type}\",\n  \"size\": {},\n  \"filename\": \"{}\"\n}}",
        job.data.len(),
        job.file_name
    );
    assert_eq!(
        stored_ref, expected_ref,
        "ref.json content, in SPEC.md's field order"
    );

    // The archive holds the exact original with Step 5's metadata; staging still has it.
    let archive_key = cb["archive_r2_key"]
        .as_str()
        .expect("archive_r2_key")
        .to_string();
    assert_eq!(
        stack.get(ARCHIVE, &archive_key).as_deref(),
        Some(&job.data[..]),
        "archived bytes"
    );
    let (archived_type, meta) = stack.head(ARCHIVE, &archive_key).expect("archive head");
    assert_eq!(archived_type, content_type);
    let meta: BTreeMap<String, String> = meta
        .into_iter()
        .map(|(k, v)| (k, decode_rfc2047(&v)))
        .collect();
    let mut want_meta = BTreeMap::from([
        ("batch-id".to_string(), BATCH.to_string()),
        ("original-r2-key".to_string(), job.key.clone()),
        ("task-id".to_string(), TASK.to_string()),
    ]);
    if let Some(cid) = job.cid() {
        want_meta.insert("ipfs-cid".into(), cid.into());
    }
    assert_eq!(meta, want_meta, "archive metadata");
    assert_eq!(
        stack.get(STAGING, &job.key).as_deref(),
        Some(&job.data[..]),
        "staging original kept"
    );

    // The callback: SPEC.md Step 8 fields exactly, plus the documented extras.
    assert_eq!(cb["task_id"], TASK);
    assert_eq!(cb["batch_id"], BATCH);
    assert_eq!(cb["status"], "success");
    assert_eq!(cb["ref_json_r2_key"], ref_key.as_str());
    assert_eq!(cb["ref_data"], ref_data);
    let perf = cb["performance"].as_object().expect("performance");
    let perf_keys: Vec<&str> = perf.keys().map(String::as_str).collect();
    assert_eq!(
        perf_keys,
        [
            "archive_time_ms",
            "cdn_upload_time_ms",
            "download_time_ms",
            "resize_time_ms",
            "total_time_ms"
        ]
    );
    assert!(perf.values().all(Value::is_u64), "{perf:?}");
    let listed: Vec<(String, u64, u64, String)> = cb["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_string(),
                v["width"].as_u64().unwrap(),
                v["height"].as_u64().unwrap(),
                v["url"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want_listed: Vec<(String, u64, u64, String)> = expected
        .iter()
        .map(|(n, _, w, h)| {
            (
                n.to_string(),
                u64::from(*w),
                u64::from(*h),
                format!("{cdn_url}?size={n}"),
            )
        })
        .collect();
    assert_eq!(listed, want_listed);
    let allowed = [
        "task_id",
        "batch_id",
        "status",
        "ref_json_r2_key",
        "ref_data",
        "archive_r2_key",
        "performance",
        "variants",
        "source",
        "placeholder",
        "warnings",
    ];
    // PRODUCT.md's optional extras: the SPEC.md fields above stay exactly as they are.
    for k in ["variants", "source", "placeholder"] {
        assert!(cb.get(k).is_some(), "success callback without {k}");
    }
    for (v, stored) in cb["variants"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&asset.variants)
    {
        assert_eq!(
            v["sha256"].as_str(),
            Some(sha256_hex(&stored.data).as_str()),
            "{}: sha256 of the bytes the CDN received",
            v["name"]
        );
    }
    assert_eq!(
        cb["source"]["sha256"].as_str(),
        Some(sha256_hex(&job.data).as_str()),
        "source.sha256 of the original"
    );
    for k in cb.as_object().unwrap().keys() {
        assert!(
            allowed.contains(&k.as_str()),
            "unexpected callback field {k}"
        );
    }
    by_name
}

/// SHA-256, lower-case hex (the `sha2` crate, as the worker; the value is checked against a
/// known digest in `callback`'s unit tests).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A metadata value as S3 stores it, decoded: RFC 2047 `=?UTF-8?B?…?=` words (joined, the
/// whitespace between them dropped, RFC 2047 §6.2), or the value itself when it is plain.
/// Written from the RFC, independently of the worker's encoder.
pub fn decode_rfc2047(value: &str) -> String {
    use base64::Engine;
    if !value.starts_with("=?") {
        return value.to_string();
    }
    let mut bytes = Vec::new();
    for word in value.split_whitespace() {
        let (charset, rest) = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| w.split_once('?'))
            .unwrap_or_else(|| panic!("not an encoded word: {word}"));
        assert!(charset.eq_ignore_ascii_case("utf-8"), "{word}");
        let (encoding, text) = rest.split_once('?').expect("encoding");
        assert!(encoding.eq_ignore_ascii_case("b"), "{word}");
        bytes.extend(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_else(|e| panic!("{word}: {e}")),
        );
    }
    String::from_utf8(bytes).expect("UTF-8")
}

/// The input's width and height as displayed: read from its header by the `image` crate (not
/// the worker), swapped when its EXIF orientation turns it a quarter.
pub fn upright_dimensions(data: &[u8]) -> (u32, u32) {
    try_upright_dimensions(data).expect("a header the image crate reads")
}

/// `upright_dimensions`, `None` for a header the `image` crate does not read.
pub fn try_upright_dimensions(data: &[u8]) -> Option<(u32, u32)> {
    use image::metadata::Orientation as O;
    use image::ImageDecoder;
    let mut decoder = image::ImageReader::new(std::io::Cursor::new(data))
        .with_guessed_format()
        .ok()?
        .into_decoder()
        .ok()?;
    let (w, h) = decoder.dimensions();
    Some(match decoder.orientation().unwrap_or(O::NoTransforms) {
        O::Rotate90 | O::Rotate270 | O::Rotate90FlipH | O::Rotate270FlipH => (h, w),
        _ => (w, h),
    })
}

/// Aspect ratio kept within 1 px of the original's.
#[track_caller]
pub fn assert_aspect(name: &str, (w, h): (u32, u32), (ow, oh): (u32, u32)) {
    let expect_h = f64::from(w) * f64::from(oh) / f64::from(ow);
    let expect_w = f64::from(h) * f64::from(ow) / f64::from(oh);
    assert!(
        (f64::from(h) - expect_h).abs() <= 1.0 || (f64::from(w) - expect_w).abs() <= 1.0,
        "{name}: {w}x{h} is not the aspect ratio of {ow}x{oh}"
    );
}

/// Checks an error run: exit 1, one error callback with this code and message start, and
/// nothing written to staging but the original.
#[track_caller]
pub fn assert_error(stack: &Stack, job: &Job, run: &Run, code: &str, message_start: &str) -> Value {
    assert_eq!(
        run.code,
        Some(1),
        "exit code\n{}\n{}",
        run.stdout,
        run.stderr
    );
    let cb = only_callback(stack);
    assert_eq!(cb["task_id"], TASK);
    assert_eq!(cb["batch_id"], BATCH);
    assert_eq!(cb["status"], "error");
    assert_eq!(cb["error_code"], code, "{cb}");
    let msg = cb["error"].as_str().expect("error message");
    assert!(
        msg.starts_with(message_start),
        "error {msg:?} should start with {message_start:?}"
    );
    for k in ["ref_json_r2_key", "ref_data", "archive_r2_key"] {
        assert!(cb.get(k).is_none(), "{k} in an error callback");
    }
    assert_eq!(
        stack.get(STAGING, &format!("{}.ref.json", job.key)),
        None,
        "no ref.json on error"
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l.contains("\"level\":\"error\"")),
        "error logged:\n{}",
        run.stdout
    );
    cb
}

/// A variant as `variants` wrote it.
pub struct Out {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

/// The worker's `variants` command on a fixture (or any path), its files written into `out`.
pub fn run_variants(fixture: &str, out: &std::path::Path) -> std::process::Output {
    worker()
        .arg("variants")
        .arg(testdata(fixture))
        .arg("--out")
        .arg(out)
        .env_clear()
        .output()
        .unwrap()
}

pub fn variants(fixture: &str) -> (Vec<Out>, Value) {
    let dir = tempfile::tempdir().unwrap();
    let run = run_variants(fixture, dir.path());
    assert!(
        run.status.success(),
        "{fixture}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: Value = serde_json::from_slice(&run.stdout).unwrap();
    let outs = summary["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| Out {
            name: v["name"].as_str().unwrap().to_string(),
            width: v["width"].as_u64().unwrap() as u32,
            height: v["height"].as_u64().unwrap() as u32,
            data: std::fs::read(v["path"].as_str().unwrap()).unwrap(),
        })
        .collect();
    (outs, summary)
}

/// The variant called `name`.
pub fn by_name<'a>(outs: &'a [Out], name: &str) -> &'a Out {
    outs.iter()
        .find(|o| o.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

/// The ICC profile embedded in an encoded JPEG, PNG or WebP, as stored.
pub fn icc(data: &[u8]) -> Option<Vec<u8>> {
    use img_parts::{Bytes, ImageICC};
    let bytes = Bytes::copy_from_slice(data);
    let profile = match image::guess_format(data).unwrap() {
        image::ImageFormat::Jpeg => img_parts::jpeg::Jpeg::from_bytes(bytes)
            .unwrap()
            .icc_profile(),
        image::ImageFormat::Png => img_parts::png::Png::from_bytes(bytes)
            .unwrap()
            .icc_profile(),
        _ => img_parts::webp::WebP::from_bytes(bytes)
            .unwrap()
            .icc_profile(),
    };
    profile.map(|b| b.to_vec())
}

/// Each channel of `got` within `tol` levels of `want`.
#[track_caller]
pub fn near(what: &str, got: [u8; 3], want: [u8; 3], tol: u8) {
    for c in 0..3 {
        assert!(
            got[c].abs_diff(want[c]) <= tol,
            "{what}: {got:?} is not within {tol} of {want:?}"
        );
    }
}

/// The mean of each RGB channel over every pixel of an encoded image.
pub fn mean_rgb(data: &[u8]) -> [f64; 3] {
    let rgb = image::load_from_memory(data).unwrap().to_rgb8();
    let n = f64::from(rgb.width() * rgb.height());
    let mut sum = [0f64; 3];
    for p in rgb.pixels() {
        for c in 0..3 {
            sum[c] += f64::from(p[c]);
        }
    }
    sum.map(|s| s / n)
}
