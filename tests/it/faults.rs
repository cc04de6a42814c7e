//! Faults injected through the stack: flaky and dead servers, the deadline, SIGTERM (a stopped
//! job stops), an archive key that is taken, a task run twice, and secrets kept out of every
//! output.

use std::time::Duration;

use crate::common::*;

#[test]
fn s3_failing_twice_then_recovering_succeeds() {
    let stack = Stack::start();
    let job = thumb_job(&stack);
    stack.fault(
        Fault::new(Server::S3, Action::Status(503))
            .method("GET")
            .path(&job.key)
            .times(2),
    );
    let run = job.run();
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    let retries: Vec<u64> = log_lines(&run)
        .iter()
        .filter(|l| l["stage"] == "s3")
        .filter_map(|l| l["attempt"].as_u64())
        .collect();
    assert_eq!(retries, [1, 2], "both failed attempts logged");
}

#[test]
fn s3_down_is_download_failed() {
    let stack = Stack::start();
    let mut job = thumb_job(&stack);
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    job.set("R2_ENDPOINT", &format!("http://{closed}"));
    let run = job.run();
    let cb = assert_error(
        &stack,
        &job,
        &run,
        "download_failed",
        "Failed to download image: ",
    );
    // In our words, naming the endpoint (scheme, host, port), never a credential or a
    // dependency's type names.
    let msg = cb["error"].as_str().unwrap();
    assert!(
        msg.contains(&format!(
            "cannot reach http://{closed}: connection refused (after 3 attempts)"
        )),
        "{msg}"
    );
    assert!(
        !msg.contains("attohttpc") && !msg.contains("Io Error"),
        "{msg}"
    );
    assert_no_secret("unreachable", &all_output(&stack, &run));
}

#[test]
fn cdn_409_takes_a_new_asset_id() {
    let stack = Stack::start();
    stack.fault(
        Fault::new(
            Server::Cdn,
            Action::Json(409, serde_json::json!({"success": false})),
        )
        .method("POST")
        .times(1),
    );
    let job = thumb_job(&stack);
    let run = job.run();
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    let posts: Vec<String> = stack
        .requests()
        .into_iter()
        .filter(|(s, m, _)| *s == Server::Cdn && m == "POST")
        .map(|r| r.2)
        .collect();
    assert_eq!(posts.len(), 2);
    assert_ne!(posts[0], posts[1], "a fresh asset ID after 409");
    assert_eq!(posts[1], format!("/asset/{}", stack.assets()[0].id));
}

#[test]
fn cdn_success_false_is_a_failure() {
    let stack = Stack::start();
    stack.fault(Fault::new(
        Server::Cdn,
        Action::Json(
            200,
            serde_json::json!({"success": false, "error": "quota exceeded"}),
        ),
    ));
    let job = thumb_job(&stack);
    let run = job.run();
    let cb = assert_error(
        &stack,
        &job,
        &run,
        "cdn_upload_failed",
        "CDN upload failed: ",
    );
    assert!(
        cb["error"].as_str().unwrap().contains("quota exceeded"),
        "{cb}"
    );
}

#[test]
fn deadline_sends_a_timeout_callback() {
    let stack = Stack::start();
    stack.fault(Fault::new(
        Server::Cdn,
        Action::Hang(Duration::from_secs(60)),
    ));
    let mut job = thumb_job(&stack);
    job.set("JOB_TIMEOUT_SECS", "2");
    let run = job.run();
    assert_error(&stack, &job, &run, "timeout", "Job timed out after 2 s");
}

#[test]
fn sigterm_during_cdn_upload_sends_interrupted() {
    let stack = Stack::start();
    stack.fault(Fault::new(
        Server::Cdn,
        Action::Hang(Duration::from_secs(60)),
    ));
    let job = thumb_job(&stack);
    let child = job.spawn();
    wait_for("a CDN POST", || count(&stack, Server::Cdn, "POST", "") > 0);
    signal(&child, "TERM");
    let run = finish(child);
    assert_error(
        &stack,
        &job,
        &run,
        "interrupted",
        "Job interrupted by SIGTERM",
    );
}

/// A stop decided while the archive PUT is on the wire (it lands 5 s after it left) and the
/// CDN asset is stored. The callback's answer takes 8 s, so the process lives on past the
/// archive PUT's answer: the job thread must start nothing more — above all no `.ref.json`
/// for a run reported as failed (PRODUCT.md "Network behaviour": a stopped job stops).
fn stopped_during_the_archive_put(job_timeout: Option<&str>, code: &str, message: &str) {
    let stack = Stack::start();
    let mut job = thumb_job(&stack);
    let archive_path = archive_path(&job);
    stack.fault(
        Fault::new(Server::S3, Action::Delay(Duration::from_secs(5)))
            .method("PUT")
            .path(&archive_path),
    );
    stack.fault(Fault::new(Server::Callback, Action::Delay(Duration::from_secs(8))).method("POST"));
    if let Some(secs) = job_timeout {
        job.set("JOB_TIMEOUT_SECS", secs);
    }
    let child = job.spawn();
    wait_for("the CDN asset and the archive PUT", || {
        !stack.assets().is_empty() && count(&stack, Server::S3, "PUT", &archive_path) == 1
    });
    if job_timeout.is_none() {
        signal(&child, "TERM");
    }
    let run = finish(child);
    let ended = std::time::Instant::now();

    // One error callback, naming the asset the orchestrator now has to remove.
    let cb = assert_error(&stack, &job, &run, code, message);
    let assets = stack.assets();
    assert_eq!(assets.len(), 1, "one asset on the CDN");
    assert_eq!(cb["cdn_asset_id"], assets[0].id.as_str(), "{cb}");
    assert_eq!(count(&stack, Server::Cdn, "POST", ""), 1);
    // The PUT already on the wire landed; nothing started after the decision.
    assert_eq!(stack.keys(ARCHIVE), vec![job.file_name.clone()]);
    assert_eq!(
        stack.get(ARCHIVE, &job.file_name).as_deref(),
        Some(&job.data[..])
    );
    assert_eq!(stack.keys(STAGING), vec![job.key.clone()], "no .ref.json");
    // The worker's requests only (the checks above read the buckets too).
    let log = stack.request_log();
    let decided = log
        .iter()
        .find(|r| r.server == Server::Callback)
        .expect("the callback")
        .at;
    let archived = log
        .iter()
        .find(|r| r.method == "PUT" && r.path.ends_with(&archive_path))
        .expect("the archive PUT");
    assert!(
        archived.at < decided,
        "the archive PUT left before the stop"
    );
    let later: Vec<_> = log
        .iter()
        .filter(|r| r.server != Server::Callback && r.at > decided && r.at < ended)
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(later.is_empty(), "requests after the stop: {later:?}");
    assert_eq!(count(&stack, Server::S3, "PUT", ".ref.json"), 0);
}

#[test]
fn sigterm_during_the_archive_put_sends_one_callback_naming_the_asset_and_no_ref_json() {
    stopped_during_the_archive_put(None, "interrupted", "Job interrupted by SIGTERM");
}

#[test]
fn the_deadline_during_the_archive_put_sends_one_callback_naming_the_asset_and_no_ref_json() {
    stopped_during_the_archive_put(Some("3"), "timeout", "Job timed out after 3 s");
}

#[test]
fn archive_key_holding_other_bytes_is_never_overwritten() {
    let stack = Stack::start();
    let job = thumb_job(&stack);
    let other = b"someone else's sunset".to_vec();
    stack.put(ARCHIVE, &job.file_name, &other, "image/jpeg");
    let run = job.run();
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    let cb = only_callback(&stack);
    let fallback = format!("{BATCH}/{TASK}/{}", job.file_name);
    assert_eq!(cb["archive_r2_key"], fallback.as_str());
    assert_eq!(
        stack.get(ARCHIVE, &job.file_name),
        Some(other),
        "the other object is untouched"
    );
    assert_eq!(
        stack.get(ARCHIVE, &fallback).as_deref(),
        Some(&job.data[..])
    );
}

#[test]
fn archive_race_is_caught_by_the_conditional_put() {
    // HEAD says the key is free (as if another writer got there just after), so only
    // `If-None-Match: *` stands between the PUT and the other object.
    let stack = Stack::start();
    let job = thumb_job(&stack);
    let other = b"written by someone else in between".to_vec();
    stack.put(ARCHIVE, &job.file_name, &other, "image/jpeg");
    stack.fault(
        Fault::new(Server::S3, Action::Status(404))
            .method("HEAD")
            .path(&format!("/{ARCHIVE}/{}", job.file_name))
            .times(1),
    );
    let puts_to_taken_key = || {
        stack
            .requests()
            .into_iter()
            .filter(|(s, m, p)| {
                *s == Server::S3
                    && m == "PUT"
                    && p.ends_with(&format!("/{ARCHIVE}/{}", job.file_name))
            })
            .count()
    };
    let before = puts_to_taken_key();
    let run = job.run();
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    let fallback = format!("{BATCH}/{TASK}/{}", job.file_name);
    assert_eq!(only_callback(&stack)["archive_r2_key"], fallback.as_str());
    assert_eq!(
        stack.get(ARCHIVE, &job.file_name),
        Some(other),
        "not overwritten"
    );
    let puts = puts_to_taken_key() - before;
    assert_eq!(puts, 1, "one refused conditional PUT to the taken key");
}

#[test]
fn the_same_task_twice_succeeds_without_a_duplicate_archive() {
    let stack = Stack::start();
    let job = thumb_job(&stack);
    assert_eq!(job.run().code, Some(0));
    let second = job.run();
    assert_eq!(second.code, Some(0), "{}", second.stdout);
    let calls = stack.callbacks();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].body["status"], "success");
    assert_eq!(calls[1].body["archive_r2_key"], job.file_name.as_str());
    assert_eq!(
        stack.keys(ARCHIVE),
        vec![job.file_name.clone()],
        "one archive object"
    );
}

#[test]
fn declared_size_mismatch_is_a_warning_and_the_real_size_wins() {
    let stack = Stack::start();
    let mut job = thumb_job(&stack);
    job.set("INPUT_FILE_SIZE", "999");
    let run = job.run();
    // assert_success checks ref.json and ref_data carry the real byte count.
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    let cb = only_callback(&stack);
    let warnings = cb["warnings"].as_array().expect("warnings");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("INPUT_FILE_SIZE says 999")),
        "{cb}"
    );
    assert!(log_lines(&run)
        .iter()
        .any(|l| l["level"] == "warn" && l["msg"].as_str().unwrap().contains("INPUT_FILE_SIZE")));
}

#[test]
fn a_panic_in_any_thread_sends_one_redacted_internal_callback() {
    // 2000 px: thumb and medium, so a resizing thread runs beside the largest variant's encode.
    for place in ["job", "archive", "resize"] {
        let stack = Stack::start();
        let mut job = Job::fixture(&stack, "jpeg_medium_band_2000x1200.jpg", "image/jpeg");
        job.set("ARKE_DEBUG_PANIC", place);
        let run = job.run();
        assert_error(&stack, &job, &run, "internal", "Internal error: ");
        assert_no_secret(place, &all_output(&stack, &run));
        assert!(
            run.stdout.contains("injected panic"),
            "the panic is logged:\n{}",
            run.stdout
        );
    }
}

/// Every error code a run can reach from outside (`internal` needs a bug; its message goes
/// through the same redaction, checked in the unit tests of `log`), with a password and a token
/// in the callback and CDN URLs too.
#[test]
fn no_secret_in_any_output_on_failure_paths() {
    type Setup = fn(&Stack, &mut Job);
    let scenarios: [(&str, Setup); 13] = [
        ("config_invalid", |_, j| {
            j.unset("R2_BUCKET");
        }),
        ("input_invalid", |_, j| {
            j.set("INPUT_FILE_NAME", "a/b.jpg");
        }),
        ("download_failed", |s, j| {
            s.fault(
                Fault::new(Server::S3, Action::Status(403))
                    .method("GET")
                    .path(&j.key),
            )
        }),
        ("input_too_large", |_, j| {
            j.set("MAX_INPUT_BYTES", "100");
        }),
        ("unsupported_format", |s, j| {
            *j = Job::fixture(s, "not_an_image.txt", "image/jpeg")
        }),
        ("image_invalid", |s, j| {
            *j = Job::fixture(s, "corrupt.jpg", "image/jpeg")
        }),
        ("cdn_upload_failed", |s, _| {
            s.fault(Fault::new(Server::Cdn, Action::Status(400)))
        }),
        ("archive_failed", |s, _| {
            s.fault(
                Fault::new(Server::S3, Action::Status(403))
                    .method("PUT")
                    .path(&format!("/{ARCHIVE}/")),
            )
        }),
        ("ref_write_failed", |s, _| {
            s.fault(
                Fault::new(Server::S3, Action::Status(403))
                    .method("PUT")
                    .path(".ref.json"),
            )
        }),
        ("timeout", |s, j| {
            s.fault(Fault::new(
                Server::Cdn,
                Action::Hang(Duration::from_secs(60)),
            ));
            j.set("JOB_TIMEOUT_SECS", "1");
        }),
        ("download_failed", |s, j| {
            // The presigned GET's URL carries the access key: a body cut short must not
            // print it.
            s.fault(
                Fault::new(Server::S3, Action::CutBody(100))
                    .method("GET")
                    .path(&j.key),
            )
        }),
        ("input_invalid", |_, j| {
            j.set("INPUT_R2_KEY", &format!("staging/{}", "k".repeat(1020)));
        }),
        ("download_failed", |_, j| {
            // A wrong secret: the S3 server refuses the signature.
            j.set("R2_SECRET_ACCESS_KEY", "wrong-secret-value-0123456789");
        }),
    ];
    for (code, setup) in scenarios {
        let stack = Stack::start();
        let mut job = thumb_job(&stack);
        setup(&stack, &mut job);
        with_url_secrets(&stack, &mut job, &stack.cdn_url);
        let run = job.run();
        let cb = only_callback(&stack);
        assert_eq!(cb["error_code"], code, "{cb}");
        let all = all_output(&stack, &run);
        assert_no_secret(code, &all);
        assert!(!all.contains("wrong-secret-value-0123456789"), "{all}");
    }
}
