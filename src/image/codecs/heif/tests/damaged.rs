//! Damaged files: truncations and changed bytes (as the HEIC/AVIF study's `mutate.py` makes
//! them) decode or fail with an error, never a panic or a hang. AVIF goes through a child
//! process, as in the worker: rav1d aborts on some corrupt AV1 data (rav1d #1497), which ends
//! only the child; those aborts are counted apart.
//!
//! More of them: `HEIF_MUTANTS=N` mutants a file (default 40 HEIC, 12 AVIF), and
//! `HEIF_MUTATE_DIR=DIR` adds every HEIC/HEIF/AVIF file in DIR (through child processes).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::*;
use crate::image::ImageError;

/// Set in a child process: the file it decodes.
const CHILD: &str = "HEIF_DAMAGED_CHILD";

/// Decodes every row of `bytes`.
fn decode_all(bytes: &[u8]) -> Result<(), ImageError> {
    stream(bytes).map(|_| ())
}

/// `n` damaged copies of `data`: every third cut short, the others with 1–8 bytes changed,
/// mostly in the first 4 KiB (boxes and parameter sets).
fn mutants(data: &[u8], n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n)
        .map(|i| {
            let mut m = data.to_vec();
            if i % 3 == 0 {
                m.truncate(rng.usize(8..data.len().max(9)));
            } else {
                for _ in 0..rng.usize(1..9) {
                    let at = match rng.f32() < 0.7 {
                        true => rng.usize(..data.len().min(4096)),
                        false => rng.usize(..data.len()),
                    };
                    m[at] = rng.u8(..);
                }
            }
            m
        })
        .collect()
}

fn count() -> Option<usize> {
    std::env::var("HEIF_MUTANTS").ok()?.parse().ok()
}

#[test]
fn damaged_heic_files_give_errors_never_panics() {
    let names = [
        "h_patches.heic",
        "h_grid_orient6.heic",
        "h_alpha.heic",
        "h_10bit.heic",
        "h_clap_orient6.heic",
        "h_burst.heic",
    ];
    let (mut decoded, mut refused, mut panics) = (0, 0, Vec::new());
    for (f, name) in names.iter().enumerate() {
        for (i, m) in mutants(&fixture(name), count().unwrap_or(40), f as u64)
            .iter()
            .enumerate()
        {
            match std::panic::catch_unwind(|| decode_all(m)) {
                Ok(Ok(())) => decoded += 1,
                Ok(Err(_)) => refused += 1,
                Err(_) => panics.push(format!("{name} mutant {i}")),
            }
        }
    }
    eprintln!(
        "damaged HEIC: {decoded} decoded, {refused} refused, {} panicked",
        panics.len()
    );
    assert!(panics.is_empty(), "{panics:?}");
    assert!(
        refused > decoded / 2,
        "the mutants should mostly be refused"
    );
}

/// What a child process decoding one file came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Outcome {
    Decoded,
    Refused,
    /// A panic of ours (the test harness's exit code 101).
    Panicked,
    /// SIGABRT: rav1d's abort (rav1d #1497).
    Aborted,
    /// Killed by another signal (a memory fault would be a bug of ours).
    Crashed,
    TimedOut,
}

/// Decodes `path` in a child process (this test binary, running only `child_decodes_one_file`):
/// the outcome, the time, and where a panic that ended it happened (rav1d's file and line).
fn in_child(path: &Path) -> (Outcome, Duration, Option<String>) {
    let test = module_path!().split_once("::").map_or("", |(_, rest)| rest);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            &format!("{test}::child_decodes_one_file"),
            "--exact",
            "--test-threads=1",
            "--nocapture",
            "-q",
        ])
        .env(CHILD, path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            use std::os::unix::process::ExitStatusExt;
            let outcome = match (status.code(), status.signal()) {
                (Some(0), _) => Outcome::Decoded,
                (Some(2), _) => Outcome::Refused,
                (Some(101), _) => Outcome::Panicked,
                (_, Some(libc::SIGABRT)) => Outcome::Aborted,
                _ => Outcome::Crashed,
            };
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
            let at = err
                .lines()
                .find_map(|l| l.split_once("panicked at "))
                .map(|(_, at)| {
                    // The last three parts of the path: crate-version/src/file.rs:line:column.
                    let parts: Vec<&str> = at.trim_end_matches(':').rsplitn(4, '/').collect();
                    let last = &parts[..parts.len().min(3)];
                    last.iter().rev().copied().collect::<Vec<_>>().join("/")
                });
            return (outcome, start.elapsed(), at);
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            return (Outcome::TimedOut, start.elapsed(), None);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The child's side of `in_child`: exit 0 when the file decodes, 2 when it is refused. Run
/// without `HEIF_DAMAGED_CHILD` (as a test of its own), it decodes a good fixture.
#[test]
fn child_decodes_one_file() {
    let Some(path) = std::env::var_os(CHILD) else {
        assert!(decode_all(&fixture("a_grid.avif")).is_ok());
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    // Markers for `strace`: what the decoder asks of the system lies between them.
    eprintln!("decoding");
    let ok = decode_all(&bytes).is_ok();
    eprintln!("decoded");
    std::process::exit(if ok { 0 } else { 2 });
}

/// Mutants of each file through child processes: the outcomes counted, the slowest time.
fn campaign(
    files: &[PathBuf],
    per_file: usize,
) -> Vec<(String, std::collections::HashMap<Outcome, usize>, Duration)> {
    let dir = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    let mut aborts = std::collections::BTreeMap::new();
    for (f, file) in files.iter().enumerate() {
        let data = std::fs::read(file).unwrap();
        let (mut tally, mut slowest) = (std::collections::HashMap::new(), Duration::ZERO);
        for (i, m) in mutants(&data, per_file, 1000 + f as u64).iter().enumerate() {
            let path = dir.path().join(format!("{f}-{i}"));
            std::fs::write(&path, m).unwrap();
            let (outcome, took, at) = in_child(&path);
            *tally.entry(outcome).or_insert(0) += 1;
            if outcome == Outcome::Aborted {
                *aborts
                    .entry(at.unwrap_or_else(|| "no panic message".into()))
                    .or_insert(0) += 1;
            }
            slowest = slowest.max(took);
            if matches!(
                outcome,
                Outcome::Panicked | Outcome::Crashed | Outcome::TimedOut
            ) {
                let keep = std::env::temp_dir().join(format!("heif-damaged-{f}-{i}.bin"));
                std::fs::copy(&path, &keep).unwrap();
                eprintln!("{outcome:?}: kept as {}", keep.display());
            }
        }
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        eprintln!(
            "{name}: {per_file} mutants {tally:?}, slowest {:.2} s",
            slowest.as_secs_f64()
        );
        report.push((name, tally, slowest));
    }
    eprintln!("aborts by the panic that caused them: {aborts:?}");
    let ours: Vec<_> = aborts
        .keys()
        .filter(|at| !at.starts_with("rav1d-"))
        .collect();
    assert!(ours.is_empty(), "aborts not in rav1d: {ours:?}");
    report
}

#[test]
fn damaged_avif_files_end_in_an_error_or_a_decoder_abort_never_a_panic_or_hang() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/formats/heif");
    let mut files: Vec<PathBuf> = [
        "a_patches.avif",
        "a_grid.avif",
        "a_alpha_prem.avif",
        "a_clap_irot3.avif",
    ]
    .iter()
    .map(|n| dir.join(n))
    .collect();
    let mut per_file = count().unwrap_or(12);
    if let Some(more) = std::env::var_os("HEIF_MUTATE_DIR") {
        files = std::fs::read_dir(more)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.retain(|p| {
            p.extension().is_some_and(|e| {
                ["heic", "heif", "hif", "avif", "avifs"]
                    .iter()
                    .any(|x| e.eq_ignore_ascii_case(x))
            })
        });
        files.sort();
        per_file = count().unwrap_or(150);
    }
    let report = campaign(&files, per_file);
    let total = |o: Outcome| {
        report
            .iter()
            .map(|(_, t, _)| t.get(&o).copied().unwrap_or(0))
            .sum::<usize>()
    };
    eprintln!(
        "damaged files: {} decoded, {} refused, {} aborted (rav1d), {} panicked, {} crashed, {} \
         timed out",
        total(Outcome::Decoded),
        total(Outcome::Refused),
        total(Outcome::Aborted),
        total(Outcome::Panicked),
        total(Outcome::Crashed),
        total(Outcome::TimedOut)
    );
    let bad = [Outcome::Panicked, Outcome::Crashed, Outcome::TimedOut].map(total);
    assert_eq!(bad, [0, 0, 0], "panics, crashes, time-outs");
    assert!(total(Outcome::Refused) > 0);
}
