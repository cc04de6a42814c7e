//! `arke-stack`: the local stack as a program.
//!
//! - `arke-stack smoke [--photo FILE] [--worker BIN] [--out DIR] [--cdn-fail STATUS]`: a full
//!   local job, exactly as the Fly machine runs it (the worker built first unless given),
//!   with a report and an HTML page; with `--cdn-fail`, the failure demo;
//! - `arke-stack serve [--root DIR] [--photo FILE]`: starts the stack, puts the photo into
//!   staging, prints an environment that a hand-run worker succeeds with, and stops on
//!   SIGINT/SIGTERM;
//! - `arke-stack fixtures DIR`: regenerates the synthetic test fixtures;
//! - `arke-stack oversized --worker BIN [--bytes N]`: the worst download for memory — an object
//!   of N bytes (default 400 MB) whose HEAD and GET both hide their size — run through the
//!   worker under GNU time; prints the outcome and the worker's peak RSS (for `just bench`).

mod fixtures;
mod smoke;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("smoke") => smoke::run(&args[1..]),
        Some("serve") => serve(&args[1..]),
        Some("oversized") => oversized(&args[1..]),
        Some("fixtures") => match args.get(1) {
            Some(dir) => match fixtures::generate(std::path::Path::new(dir)).and_then(|()| {
                fixtures::generate_correctness(&std::path::Path::new(dir).join("correctness"))
            }) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            },
            None => {
                eprintln!("usage: arke-stack fixtures DIR");
                ExitCode::from(2)
            }
        },
        _ => {
            eprintln!(
                "usage: arke-stack smoke [--photo FILE] [--worker BIN] [--out DIR] [--cdn-fail STATUS]\n       arke-stack serve [--root DIR] [--photo FILE]\n       arke-stack fixtures DIR\n       arke-stack oversized --worker BIN [--bytes N]"
            );
            ExitCode::from(2)
        }
    }
}

fn serve(args: &[String]) -> ExitCode {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let usage = "usage: arke-stack serve [--root DIR] [--photo FILE]";
    let mut root = None;
    let mut photo = std::path::PathBuf::from(smoke::DEFAULT_PHOTO);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match (a.as_str(), it.next()) {
            ("--root", Some(d)) => root = Some(std::path::PathBuf::from(d)),
            ("--photo", Some(p)) => photo = p.into(),
            _ => {
                eprintln!("{usage}");
                return ExitCode::from(2);
            }
        }
    }
    let data = match std::fs::read(&photo) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", photo.display());
            return ExitCode::FAILURE;
        }
    };
    let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot watch signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stack = match &root {
        Some(dir) => arke_stack::Stack::start_in(dir),
        None => arke_stack::Stack::start(),
    };
    let file_name = photo
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "photo.jpg".into());
    let content_type = match image::guess_format(&data) {
        Ok(image::ImageFormat::Png) => "image/png",
        Ok(image::ImageFormat::WebP) => "image/webp",
        _ => "image/jpeg",
    };
    let key = format!("staging/batch_local/photos/{file_name}");
    stack.put(arke_stack::STAGING, &key, &data, content_type);
    println!("# S3 data in {}", stack.root.display());
    println!(
        "# Put {} ({} bytes) at {}/{key}",
        photo.display(),
        data.len(),
        arke_stack::STAGING
    );
    for (k, v) in stack.env(
        "img_local_1",
        "batch_local",
        &key,
        &file_name,
        content_type,
        data.len(),
    ) {
        // Single quotes: a `$` or a backtick in a file name stays as it is.
        println!("export {k}='{}'", v.replace('\'', "'\\''"));
    }
    println!("# Paste the lines above into another shell, then run the worker there:");
    println!("#   cargo run --release -p arke-image-processor");
    println!("# Callbacks are printed below as they arrive. Ctrl-C (or SIGTERM) stops the stack.");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let mut seen = 0;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let calls = stack.callbacks();
        for c in &calls[seen..] {
            println!("callback {}: {}", c.path, c.body);
        }
        seen = calls.len();
    }
    drop(stack);
    println!("# stack stopped");
    ExitCode::SUCCESS
}

fn oversized(args: &[String]) -> ExitCode {
    use arke_stack::{Action, Fault, Server, Stack, STAGING};
    let mut worker = None;
    let mut bytes: usize = 400_000_000;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match (a.as_str(), it.next()) {
            ("--worker", Some(w)) => worker = Some(w.clone()),
            ("--bytes", Some(n)) if n.parse::<usize>().is_ok() => bytes = n.parse().unwrap_or(0),
            _ => {
                eprintln!("usage: arke-stack oversized --worker BIN [--bytes N]");
                return ExitCode::from(2);
            }
        }
    }
    let Some(worker) = worker else {
        eprintln!("usage: arke-stack oversized --worker BIN [--bytes N]");
        return ExitCode::from(2);
    };
    let stack = Stack::start();
    let key = "staging/batch_bench/photos/oversized.jpg";
    let mut data = vec![0u8; bytes];
    data[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
    stack.put(STAGING, key, &data, "image/jpeg");
    drop(data);
    stack.fault(Fault::new(Server::S3, Action::NoLength).path(key));
    let report = std::env::temp_dir().join(format!("arke-oversized-{}.txt", std::process::id()));
    let status = std::process::Command::new("/usr/bin/time")
        .arg("-o")
        .arg(&report)
        .args(["-f", "%M", &worker])
        .env_clear()
        .envs(stack.env(
            "img_bench",
            "batch_bench",
            key,
            "oversized.jpg",
            "image/jpeg",
            bytes,
        ))
        .stdout(std::process::Stdio::null())
        .status();
    let peak_kib = std::fs::read_to_string(&report)
        .ok()
        .and_then(|t| t.split_whitespace().last()?.parse::<u64>().ok());
    let _ = std::fs::remove_file(&report);
    let (Ok(status), Some(peak_kib)) = (status, peak_kib) else {
        eprintln!("error: could not run {worker} under /usr/bin/time (apt-get install time)");
        return ExitCode::FAILURE;
    };
    let outcome = stack
        .callbacks()
        .first()
        .map(|c| {
            c.body["error_code"]
                .as_str()
                .unwrap_or("success")
                .to_string()
        })
        .unwrap_or_else(|| "no callback".into());
    println!(
        "{{\"bytes\": {bytes}, \"exit\": {}, \"outcome\": \"{outcome}\", \"peak_rss_mib\": {:.1}}}",
        status.code().unwrap_or(-1),
        peak_kib as f64 / 1024.0
    );
    ExitCode::SUCCESS
}
