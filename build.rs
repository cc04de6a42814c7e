//! Build script: no silently slow build. libjpeg-turbo's SIMD code (mozjpeg-sys) is assembled
//! with `nasm` on x86; without it the build succeeds in plain C and the same photo takes about
//! 1.9× as long (16 MP baseline JPEG: 146 ms instead of 78 ms). So a release build without
//! `nasm` stops here with how to get it, unless `ARKE_PLAIN_C_JPEG=1` asks for plain C; other
//! builds (tests) warn. `--version` reports which it is (`ARKE_JPEG_SIMD`).

use std::process::{Command, Stdio};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=ARKE_PLAIN_C_JPEG");
    println!("cargo:rerun-if-env-changed=PATH");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let needs_nasm = matches!(arch.as_str(), "x86" | "x86_64");
    let have_nasm = Command::new("nasm")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let plain_c_asked = std::env::var_os("ARKE_PLAIN_C_JPEG").is_some_and(|v| v == "1");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let simd = if needs_nasm && !have_nasm {
        let why = "nasm not found: libjpeg-turbo would build without its SIMD code, and JPEG \
                   jobs would take about 1.9x as long. Install it (Debian/Ubuntu: \
                   `apt-get install nasm`; macOS: `brew install nasm`), or set \
                   ARKE_PLAIN_C_JPEG=1 to build plain C on purpose.";
        if release && !plain_c_asked {
            panic!("{why}");
        }
        println!("cargo:warning={why}");
        "no (plain C: nasm was missing)"
    } else if needs_nasm {
        "yes (nasm)"
    } else {
        "yes (compiler intrinsics)"
    };
    println!("cargo:rustc-env=ARKE_JPEG_SIMD={simd}");
}
