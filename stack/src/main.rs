//! `arke-stack`: the local stack as a program.
//!
//! - `arke-stack smoke [--photo FILE] [--worker BIN] [--out DIR] [--cdn-fail STATUS]`: a full
//!   local job, exactly as the Fly machine runs it, with a report and an HTML page;
//! - `arke-stack serve [--root DIR]`: starts the stack and prints the environment to use;
//! - `arke-stack fixtures DIR`: regenerates the synthetic test fixtures.

mod fixtures;
mod smoke;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("smoke") => smoke::run(&args[1..]),
        Some("serve") => serve(&args[1..]),
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
                "usage: arke-stack smoke [--photo FILE] [--worker BIN] [--out DIR] [--cdn-fail STATUS]\n       arke-stack serve [--root DIR]\n       arke-stack fixtures DIR"
            );
            ExitCode::from(2)
        }
    }
}

fn serve(args: &[String]) -> ExitCode {
    let stack = match args {
        [flag, dir] if flag == "--root" => arke_stack::Stack::start_in(std::path::Path::new(dir)),
        [] => arke_stack::Stack::start(),
        _ => {
            eprintln!("usage: arke-stack serve [--root DIR]");
            return ExitCode::from(2);
        }
    };
    println!("# S3 data in {}", stack.root.display());
    for (k, v) in stack.env(
        "img_local_1",
        "batch_local",
        "staging/batch_local/photos/photo.jpg",
        "photo.jpg",
        "image/jpeg",
        0,
    ) {
        println!("export {k}={v:?}");
    }
    println!("# Callbacks are printed below as they arrive. Ctrl-C stops the stack.");
    let mut seen = 0;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let calls = stack.callbacks();
        for c in &calls[seen..] {
            println!("callback {}: {}", c.path, c.body);
        }
        seen = calls.len();
    }
}
