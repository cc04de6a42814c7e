//! `arke-stack smoke`: one full local job, run exactly as the Fly machine runs it, then a report
//! of what was created and an HTML page to look at the variants. Exits non-zero when anything
//! is missing or the job failed — or, with `--cdn-fail STATUS`, unless the worker ran, exited 1
//! and sent exactly one error callback with `cdn_upload_failed`.
//!
//! Without `--worker`, it builds the worker itself (`cargo build --release`, cargo's progress
//! shown) and takes the binary's path from cargo's own report, so it works wherever the target
//! directory is (`CARGO_TARGET_DIR` included).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

use arke_stack::{
    s3_bucket, Action, Fault, Server, Stack, ACCESS_KEY, ARCHIVE, SECRET_KEY, STAGING,
};

/// The photo a smoke run (and `serve`) uses unless told otherwise: in this checkout, wherever
/// the command runs from.
pub const DEFAULT_PHOTO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/photos/jpeg_sunset_4272x2848.jpg"
);

struct Args {
    photo: PathBuf,
    worker: Option<PathBuf>,
    out: PathBuf,
    cdn_fail: Option<u16>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        photo: PathBuf::from(DEFAULT_PHOTO),
        worker: None,
        out: PathBuf::from("smoke-out"),
        cdn_fail: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--photo" => a.photo = value()?.into(),
            "--worker" => a.worker = Some(value()?.into()),
            "--out" => a.out = value()?.into(),
            "--cdn-fail" => {
                a.cdn_fail = Some(
                    value()?
                        .parse()
                        .map_err(|_| "--cdn-fail needs a status code")?,
                )
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

/// Builds the worker in release mode with the cargo that runs us, and returns the binary's path
/// as cargo reports it. A release build needs `nasm` for libjpeg-turbo's SIMD (the worker's
/// build script refuses to build without it): installed here with apt-get when that is
/// possible (root on Debian/Ubuntu), otherwise the build's own message says what to do.
pub fn build_worker() -> Result<PathBuf, String> {
    ensure_nasm();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("Building the worker: cargo build --release -p arke-image-processor (a first release build takes about 8 minutes on 2 cores)");
    let out = Command::new(&cargo)
        .args([
            "build",
            "--release",
            "-p",
            "arke-image-processor",
            "--bin",
            "arke-image-processor",
            "--message-format=json-render-diagnostics",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if !out.status.success() {
        return Err("building the worker failed (cargo's messages above)".into());
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| {
            m["reason"] == "compiler-artifact" && m["target"]["name"] == "arke-image-processor"
        })
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .next_back()
        .ok_or_else(|| "cargo built no arke-image-processor binary".into())
}

/// Installs nasm with apt-get when it is missing and we can (root, apt-get present).
fn ensure_nasm() {
    let have = |cmd: &str, arg: &str| {
        Command::new(cmd)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if have("nasm", "-v") || std::env::var_os("ARKE_PLAIN_C_JPEG").is_some() {
        return;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    if root && have("apt-get", "--version") {
        eprintln!("nasm (for libjpeg-turbo's SIMD) is missing: apt-get install nasm");
        let _ = Command::new("sh")
            .args([
                "-c",
                "apt-get update -qq && apt-get install -y -qq nasm >/dev/null",
            ])
            .status();
    }
}

/// Where the S3 side lives: the local s3s-fs server, or an existing S3/MinIO from the environment.
struct S3 {
    endpoint: String,
    access: String,
    secret: String,
    staging: String,
    archive: String,
}

impl S3 {
    fn from_env_or(stack: &Stack) -> (S3, bool) {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let (Some(endpoint), Some(access), Some(secret)) = (
            var("R2_ENDPOINT"),
            var("R2_ACCESS_KEY_ID"),
            var("R2_SECRET_ACCESS_KEY"),
        ) {
            let s3 = S3 {
                endpoint,
                access,
                secret,
                staging: var("R2_BUCKET").unwrap_or_else(|| STAGING.into()),
                archive: var("ARCHIVE_BUCKET").unwrap_or_else(|| ARCHIVE.into()),
            };
            return (s3, true);
        }
        let s3 = S3 {
            endpoint: stack.s3_endpoint.clone(),
            access: ACCESS_KEY.into(),
            secret: SECRET_KEY.into(),
            staging: STAGING.into(),
            archive: ARCHIVE.into(),
        };
        (s3, false)
    }

    fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        let resp = s3_bucket(&self.endpoint, bucket, &self.access, &self.secret)
            .get_object(key)
            .map_err(|e| e.to_string())?;
        match resp.status_code() {
            200 => Ok(Some(resp.to_vec())),
            404 => Ok(None),
            s => Err(format!("GET {bucket}/{key}: HTTP {s}")),
        }
    }
}

const USAGE: &str =
    "usage: cargo smoke [--photo FILE] [--worker BIN] [--out DIR] [--cdn-fail STATUS]
  --photo FILE      the photo to process (default testdata/photos/jpeg_sunset_4272x2848.jpg)
  --worker BIN      a worker binary to run (default: build the release worker first)
  --out DIR         where the contact sheet and the variants go (default smoke-out)
  --cdn-fail STATUS the failure demo: the CDN answers STATUS; passes only if the worker
                    exits 1 with one error callback saying cdn_upload_failed
S3: the local s3s-fs server, or R2_ENDPOINT + R2_ACCESS_KEY_ID + R2_SECRET_ACCESS_KEY
(and R2_BUCKET, ARCHIVE_BUCKET) from the environment.";

pub fn run(args: &[String]) -> ExitCode {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match smoke(&args) {
        Ok(problems) if problems.is_empty() => {
            println!("\nSMOKE OK");
            ExitCode::SUCCESS
        }
        Ok(problems) => {
            println!("\nSMOKE FAILED:");
            for p in problems {
                println!("  - {p}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn smoke(args: &Args) -> Result<Vec<String>, String> {
    let photo = std::fs::read(&args.photo)
        .map_err(|e| format!("cannot read {}: {e}", args.photo.display()))?;
    let worker = match &args.worker {
        Some(w) if w.exists() => w.clone(),
        Some(w) => return Err(format!("{} not found", w.display())),
        None => build_worker()?,
    };
    let stack = Stack::start();
    let (s3, external) = S3::from_env_or(&stack);
    if let Some(status) = args.cdn_fail {
        stack.fault(Fault::new(Server::Cdn, Action::Status(status)));
    }
    let file_name = args
        .photo
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("the photo needs a file name")?
        .to_string();
    let stamp = chrono_stamp();
    let (task_id, batch_id) = (format!("img_smoke_{stamp}"), format!("batch_smoke_{stamp}"));
    let key = format!("staging/{batch_id}/photos/{file_name}");
    let content_type = match file_name
        .rsplit('.')
        .next()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        _ => "image/jpeg",
    };
    println!(
        "S3:           {} ({})",
        s3.endpoint,
        if external {
            "from R2_ENDPOINT"
        } else {
            "local s3s-fs, SigV4 checked"
        }
    );
    println!(
        "CDN:          {}{}",
        stack.cdn_url,
        args.cdn_fail
            .map(|s| format!(" (set to fail with {s})"))
            .unwrap_or_default()
    );
    println!("Orchestrator: {}", stack.orchestrator_url);
    s3_bucket(&s3.endpoint, &s3.staging, &s3.access, &s3.secret)
        .put_object_with_content_type(&key, &photo, content_type)
        .map_err(|e| format!("cannot put the photo into staging: {e}"))
        .and_then(|r| {
            if r.status_code() == 200 {
                Ok(())
            } else {
                Err(format!("PUT staging: HTTP {}", r.status_code()))
            }
        })?;
    println!(
        "Put {} ({} bytes) at {}/{key}\n",
        args.photo.display(),
        photo.len(),
        s3.staging
    );

    let mut env = stack.env(
        &task_id,
        &batch_id,
        &key,
        &file_name,
        content_type,
        photo.len(),
    );
    for (k, v) in env.iter_mut() {
        match k.as_str() {
            "R2_ENDPOINT" => v.clone_from(&s3.endpoint),
            "R2_ACCESS_KEY_ID" => v.clone_from(&s3.access),
            "R2_SECRET_ACCESS_KEY" => v.clone_from(&s3.secret),
            "R2_BUCKET" => v.clone_from(&s3.staging),
            "ARCHIVE_BUCKET" => v.clone_from(&s3.archive),
            _ => {}
        }
    }
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let output = Command::new(&worker)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", worker.display()))?;
    let elapsed = started.elapsed();
    std::fs::write(args.out.join("worker.log"), &output.stdout).map_err(|e| e.to_string())?;
    println!(
        "--- worker log ({} ms, exit {:?}) ---",
        elapsed.as_millis(),
        output.status.code()
    );
    print!("{}", String::from_utf8_lossy(&output.stdout));
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    println!("---\n");

    if let Some(status) = args.cdn_fail {
        return Ok(expected_failure(&stack, output.status.code(), status));
    }
    let mut problems = Vec::new();
    if output.status.code() != Some(0) {
        problems.push(format!("worker exited with {:?}", output.status.code()));
    }
    let callbacks = stack.callbacks();
    if callbacks.len() != 1 {
        problems.push(format!(
            "{} callbacks received, expected 1",
            callbacks.len()
        ));
    }
    let Some(cb) = callbacks.last() else {
        return Ok(problems);
    };
    println!(
        "Callback POST {}:\n{}\n",
        cb.path,
        serde_json::to_string_pretty(&cb.body).unwrap_or_default()
    );
    if cb.body["status"] != "success" {
        problems.push(format!("callback status is {}", cb.body["status"]));
        return Ok(problems);
    }

    let ref_key = cb.body["ref_json_r2_key"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    match s3.get(&s3.staging, &ref_key)? {
        Some(r) => println!(
            "ref.json:     {}/{ref_key}\n{}\n",
            s3.staging,
            String::from_utf8_lossy(&r)
        ),
        None => problems.push(format!("no ref.json at {}/{ref_key}", s3.staging)),
    }
    let archive_key = cb.body["archive_r2_key"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    match s3.get(&s3.archive, &archive_key)? {
        Some(b) if b == photo => println!(
            "Archive:      {}/{archive_key} ({} bytes, identical to the original)",
            s3.archive,
            b.len()
        ),
        Some(_) => problems.push(format!("archive {archive_key} differs from the original")),
        None => problems.push(format!("nothing archived at {}/{archive_key}", s3.archive)),
    }
    if s3.get(&s3.staging, &key)?.is_none() {
        problems.push("the staging original was deleted".into());
    }

    let assets = stack.assets();
    let Some(asset) = assets.first() else {
        problems.push("the CDN holds no asset".into());
        return Ok(problems);
    };
    println!(
        "CDN asset:    {}",
        cb.body["ref_data"]["url"].as_str().unwrap_or_default()
    );
    let mut html = String::from("<!doctype html><meta charset=utf-8><title>arke smoke</title><style>body{font-family:sans-serif;background:#eee}figure{display:inline-block;margin:8px;vertical-align:top}img{max-width:600px;background:repeating-conic-gradient(#ccc 0 25%,#fff 0 50%) 0 0/16px 16px}</style>");
    let _ = write!(
        html,
        "<h1>{}</h1><p>{} → asset {}</p>",
        esc(&file_name),
        esc(&key),
        esc(&asset.id)
    );
    let listed = cb.body["variants"].as_array().cloned().unwrap_or_default();
    let longest = upright_longest(&photo)?;
    let mut not_made = Vec::new();
    for name in ["thumb", "medium", "large", "original"] {
        let info = listed.iter().find(|v| v["name"] == name);
        let stored = asset.variants.iter().find(|v| v.name == name);
        match (info, stored) {
            (Some(info), Some(stored)) => {
                let ext = stored
                    .content_type
                    .rsplit('/')
                    .next()
                    .unwrap_or("bin")
                    .replace("jpeg", "jpg");
                let file = format!("{name}.{ext}");
                std::fs::write(args.out.join(&file), &stored.data).map_err(|e| e.to_string())?;
                let dims = upright_dims(&stored.data);
                let url = info["url"].as_str().unwrap_or_default();
                println!(
                    "  {name:<8} {url}  {}x{}  {} bytes",
                    info["width"],
                    info["height"],
                    stored.data.len()
                );
                match dims {
                    Ok((w, h)) if info["width"] == w && info["height"] == h => {}
                    Ok((w, h)) => problems.push(format!(
                        "{name}: decodes to {w}x{h}, callback says {}x{}",
                        info["width"], info["height"]
                    )),
                    Err(e) => problems.push(format!("{name}: does not decode: {e}")),
                }
                let _ = write!(
                    html,
                    "<figure><img src=\"{file}\" alt=\"{name}\"><figcaption><b>{name}</b> {}×{} · {} bytes · {}</figcaption></figure>",
                    info["width"], info["height"], stored.data.len(), esc(&stored.content_type)
                );
            }
            (None, None) => {
                let why = not_made_because(name, longest);
                println!("  {name:<8} not made: {why}");
                not_made.push(format!("<li><b>{name}</b>: {}</li>", esc(&why)));
            }
            _ => problems.push(format!("{name}: in the callback or the CDN but not both")),
        }
    }
    if !not_made.is_empty() {
        let _ = write!(html, "<h2>Not made</h2><ul>{}</ul>", not_made.join(""));
    }
    html.push_str(&extras_html(&cb.body, &args.out, &mut problems));
    for (name, band) in [("thumb", 400), ("medium", 1200), ("large", 2400)] {
        if longest > band && !asset.variants.iter().any(|v| v.name == name) {
            problems.push(format!(
                "{name} missing (the photo's longest side is {longest} px)"
            ));
        }
    }
    let page = args.out.join("index.html");
    std::fs::write(&page, html).map_err(|e| e.to_string())?;
    println!("\nHTML page:    {}", page.display());
    Ok(problems)
}

/// The callback's placeholder (the ThumbHash decoded to `placeholder.png`, beside a swatch of
/// the dominant colour) and the source facts, as HTML. A missing or undecodable placeholder
/// is a problem.
fn extras_html(
    cb: &serde_json::Value,
    out: &std::path::Path,
    problems: &mut Vec<String>,
) -> String {
    use base64::Engine;
    let mut html = String::new();
    let placeholder = &cb["placeholder"];
    let hash = placeholder["thumbhash"]
        .as_str()
        .and_then(|h| base64::engine::general_purpose::STANDARD.decode(h).ok())
        .and_then(|h| thumbhash::thumb_hash_to_rgba(&h).ok());
    match hash {
        Some((w, h, rgba)) => {
            let png = out.join("placeholder.png");
            let saved = image::RgbaImage::from_raw(w as u32, h as u32, rgba)
                .map(|img| img.save(&png).is_ok())
                .unwrap_or(false);
            if !saved {
                problems.push("the ThumbHash does not make an image".into());
            }
            let colour = esc(placeholder["dominant_color"].as_str().unwrap_or("#000"));
            let _ = write!(
                html,
                "<h2>Placeholder</h2><figure><img src=\"placeholder.png\" width=\"{}\" \
                 alt=\"ThumbHash\"><figcaption>ThumbHash {w}×{h}, shown at 300 px</figcaption></figure>\
                 <figure><div style=\"width:120px;height:80px;background:{colour}\"></div>\
                 <figcaption>dominant colour {colour}</figcaption></figure>",
                300
            );
            println!(
                "Placeholder:  ThumbHash {w}x{h} -> {}/placeholder.png, dominant colour {colour}",
                out.display()
            );
        }
        None => problems.push("the callback has no decodable placeholder".into()),
    }
    if let Some(facts) = cb["source"].as_object() {
        html.push_str("<h2>Source</h2><table>");
        for (k, v) in facts {
            let _ = write!(
                html,
                "<tr><th align=left>{}</th><td>{}</td></tr>",
                esc(k),
                esc(&v.to_string())
            );
        }
        html.push_str("</table>");
    } else {
        problems.push("the callback has no source facts".into());
    }
    html
}

/// The failure demo's checks: the worker ran, exited 1, and sent exactly one error callback
/// with `cdn_upload_failed`, after the CDN answered `status`. Returns what is wrong.
fn expected_failure(stack: &Stack, exit: Option<i32>, status: u16) -> Vec<String> {
    let mut problems = Vec::new();
    if exit != Some(1) {
        problems.push(format!("worker exited with {exit:?}, expected 1"));
    }
    let posts = stack
        .requests()
        .iter()
        .filter(|(s, m, _)| *s == Server::Cdn && m == "POST")
        .count();
    if posts == 0 {
        problems.push("the worker never reached the CDN".into());
    }
    let callbacks = stack.callbacks();
    match callbacks.as_slice() {
        [cb] => {
            println!(
                "Callback POST {}:\n{}\n",
                cb.path,
                serde_json::to_string_pretty(&cb.body).unwrap_or_default()
            );
            if cb.body["status"] != "error" || cb.body["error_code"] != "cdn_upload_failed" {
                problems.push(format!(
                    "callback is {} / {}, expected error / cdn_upload_failed",
                    cb.body["status"], cb.body["error_code"]
                ));
            }
        }
        other => problems.push(format!("{} callbacks received, expected 1", other.len())),
    }
    if problems.is_empty() {
        println!("As expected: the CDN answered {status}, the worker exited 1 and reported cdn_upload_failed.");
    }
    problems
}

/// Why the worker makes no `name` variant of a photo whose longest side is `longest` px
/// (PRODUCT.md "Variants"; the smoke run leaves `ORIGINAL_MAX_DIMENSION` at its default).
fn not_made_because(name: &str, longest: u32) -> String {
    match name {
        "original" => format!(
            "the longest side, {longest} px, is over ORIGINAL_MAX_DIMENSION (4000): the original is only archived"
        ),
        _ => {
            let band = match name {
                "thumb" => 400,
                "medium" => 1200,
                _ => 2400,
            };
            format!("the longest side, {longest} px, is not over {band} px (never upscaled)")
        }
    }
}

/// A stored variant's size as shown: decoded, then swapped when its EXIF orientation turns it
/// a quarter (an `original` keeps its orientation tag; the callback reports upright sizes).
fn upright_dims(data: &[u8]) -> Result<(u32, u32), String> {
    use image::metadata::Orientation as O;
    use image::ImageDecoder;
    let mut decoder = image::ImageReader::new(std::io::Cursor::new(data))
        .with_guessed_format()
        .map_err(|e| e.to_string())?
        .into_decoder()
        .map_err(|e| e.to_string())?;
    let (w, h) = decoder.dimensions();
    let turned = matches!(
        decoder.orientation().map_err(|e| e.to_string())?,
        O::Rotate90 | O::Rotate270 | O::Rotate90FlipH | O::Rotate270FlipH
    );
    // Decoding proves the file whole, as the check always did.
    let mut pixels = vec![0u8; decoder.total_bytes() as usize];
    decoder.read_image(&mut pixels).map_err(|e| e.to_string())?;
    Ok(if turned { (h, w) } else { (w, h) })
}

/// The photo's longest side, read from the header (orientation does not change it).
fn upright_longest(photo: &[u8]) -> Result<u32, String> {
    use image::ImageDecoder;
    let reader = image::ImageReader::new(std::io::Cursor::new(photo))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let (w, h) = decoder.dimensions();
    Ok(w.max(h))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

fn chrono_stamp() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}{:03}", d.as_secs(), d.subsec_millis())
}
