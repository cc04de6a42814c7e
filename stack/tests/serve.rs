//! `cargo stack` (`arke-stack serve`): the environment it prints names a photo that is really
//! in staging, with its real size, and SIGTERM stops it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn serve_puts_the_photo_prints_a_working_environment_and_stops_on_sigterm() {
    let photo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/png_square_1300x1300.png"
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_arke-stack"))
        .args(["serve", "--photo", photo])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut env = std::collections::BTreeMap::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some((k, v)) = line
            .strip_prefix("export ")
            .and_then(|kv| kv.split_once('='))
        {
            env.insert(k.to_string(), v.trim_matches('\'').to_string());
        }
        if line.starts_with("# Callbacks are printed") {
            break;
        }
    }
    let data = std::fs::read(photo).unwrap();
    assert_eq!(env["INPUT_FILE_SIZE"], data.len().to_string());
    assert_eq!(env["INPUT_CONTENT_TYPE"], "image/png");
    assert_eq!(env["INPUT_FILE_NAME"], "png_square_1300x1300.png");
    let bucket = arke_stack::s3_bucket(
        &env["R2_ENDPOINT"],
        &env["R2_BUCKET"],
        &env["R2_ACCESS_KEY_ID"],
        &env["R2_SECRET_ACCESS_KEY"],
    );
    let got = bucket.get_object(&env["INPUT_R2_KEY"]).unwrap();
    assert_eq!(got.status_code(), 200);
    assert_eq!(
        got.to_vec(),
        data,
        "the photo is in staging at INPUT_R2_KEY"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "stopped cleanly on SIGTERM");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l == "# stack stopped"), "{rest:?}");
}
