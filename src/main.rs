//! The binary: everything lives in the library; this hands it the arguments, as bytes (a
//! non-UTF-8 argument must not panic), and returns its exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    arke_image_processor::cli::main(&args)
}
