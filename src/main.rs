//! The binary: everything lives in the library; this maps arguments to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    arke_image_processor::main_with_args(&args)
}
