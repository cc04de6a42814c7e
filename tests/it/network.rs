//! What the network does to a job (PRODUCT.md "Network behaviour"), rebuilt in the stack from
//! public bug reports of S3 and HTTP clients: downloads cut short, sizes unknown, keys in any
//! alphabet, redirects, conditional writes refused the old way, callback and CDN answers lost,
//! a machine clock off, `Retry-After`.

use crate::common::*;

/// A failed download leaves nothing behind: no CDN request, nothing archived, no ref.json,
/// the staging original untouched.
#[track_caller]
fn assert_nothing_written(stack: &Stack, job: &Job) {
    stack.clear_faults();
    assert_eq!(count(stack, Server::Cdn, "POST", ""), 0, "no CDN upload");
    assert!(stack.keys(ARCHIVE).is_empty(), "nothing archived");
    assert_eq!(
        stack.keys(STAGING),
        vec![job.key.clone()],
        "staging holds only the original"
    );
    assert_eq!(stack.get(STAGING, &job.key).as_deref(), Some(&job.data[..]));
}

/// Runs `job` with `fault` on its object and checks a verified download's failure: retried
/// (3 GETs), `download_failed` with a message containing `says`, nothing written anywhere.
#[track_caller]
fn download_fails(stack: &Stack, job: &Job, fault: Fault, says: &str) {
    stack.fault(fault.path(&job.key));
    let run = job.run();
    stack.clear_faults();
    let cb = assert_error(
        stack,
        job,
        &run,
        "download_failed",
        "Failed to download image: ",
    );
    let msg = cb["error"].as_str().unwrap();
    assert!(
        msg.contains(says) && msg.contains("after 3 attempts"),
        "{msg}"
    );
    assert_eq!(count(stack, Server::S3, "GET", &job.key), 3, "retried");
    assert_nothing_written(stack, job);
}

#[test]
fn get_cut_short_is_retried_then_download_failed_and_nothing_archived() {
    let stack = Stack::start();
    let job = thumb_job(&stack);
    let cut = Fault::new(Server::S3, Action::CutBody(job.data.len() / 2)).method("GET");
    download_fails(&stack, &job, cut, "cut short");
}

/// A phone's motion photo: a complete JPEG, then a video trailer. A cut inside the trailer
/// leaves pixels that decode, so only the length check can catch it.
#[test]
fn get_cut_inside_a_trailer_is_download_failed() {
    let stack = Stack::start();
    let jpeg = fixture("jpeg_thumb_band_800x600.jpg");
    let mut data = jpeg.clone();
    data.extend_from_slice(b"\0\0\0\x18ftypmp42\0\0\0\0isommp42");
    data.extend((0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    let job = Job::new(&stack, "motion_photo.jpg", data, "image/jpeg");
    let cut = Fault::new(Server::S3, Action::CutBody(jpeg.len() + 100_000)).method("GET");
    download_fails(&stack, &job, cut, "cut short");
}

/// Same length, one byte changed: only the MD5 (the object's plain ETag) can tell.
#[test]
fn a_corrupted_body_fails_the_md5_check_and_nothing_is_archived() {
    let stack = Stack::start();
    let job = thumb_job(&stack);
    let corrupt = Fault::new(Server::S3, Action::CorruptBody).method("GET");
    download_fails(&stack, &job, corrupt, "integrity check failed: body MD5");
}

/// A body whose `x-amz-checksum-crc32` (or `-sha256`) is not its own: caught like an MD5.
#[test]
fn a_body_against_its_checksum_header_is_download_failed() {
    let stack = Stack::start();
    let job = thumb_job(&stack);
    let wrong = Action::HeaderSays("x-amz-checksum-crc32".into(), "AAAAAA==".into());
    let says = "integrity check failed: the body is not its x-amz-checksum-crc32 AAAAAA==";
    download_fails(
        &stack,
        &job,
        Fault::new(Server::S3, wrong).method("GET"),
        says,
    );
}

/// A 200 whose body is an S3 `<Error>` document instead of the object (HEAD did not say its
/// size): that error, named, not an image that fails to decode.
#[test]
fn a_200_carrying_an_s3_error_instead_of_the_object_is_download_failed() {
    let stack = Stack::start();
    let job = thumb_job(&stack);
    stack.fault(
        Fault::new(Server::S3, Action::NoLength)
            .method("HEAD")
            .path(&job.key),
    );
    let error = Action::ErrorIn2xx("InternalError".into());
    let says = "HTTP 200 InternalError: injected fault (an S3 error document in a 200 answer, not \
                the object)";
    download_fails(
        &stack,
        &job,
        Fault::new(Server::S3, error).method("GET"),
        says,
    );
}

/// The GET is whole and self-consistent, but HEAD described another size (the object changed
/// in between): the body is not the one that was checked against the limits.
#[test]
fn a_body_of_another_size_than_head_said_is_download_failed() {
    let stack = Stack::start();
    let job = thumb_job(&stack);
    let head = Fault::new(Server::S3, Action::SizeSays(job.data.len() as u64 + 10)).method("HEAD");
    let says = format!(
        "body has {} bytes, HEAD said {}",
        job.data.len(),
        job.data.len() + 10
    );
    download_fails(&stack, &job, head, &says);
}

#[test]
fn head_without_size_is_unknown_not_zero() {
    let stack = Stack::start();
    let job = thumb_job(&stack);
    stack.fault(
        Fault::new(Server::S3, Action::NoLength)
            .method("HEAD")
            .path(&job.key),
    );
    let run = job.run();
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    assert!(
        log_lines(&run)
            .iter()
            .any(|l| l["msg"].as_str().unwrap().contains("HEAD gave no size")),
        "{}",
        run.stdout
    );
}

#[test]
fn head_without_size_and_a_get_over_the_limit_is_input_too_large() {
    // The GET announces its length: refused before reading the body.
    let stack = Stack::start();
    let mut job = thumb_job(&stack);
    job.set("MAX_INPUT_BYTES", "20000");
    stack.fault(
        Fault::new(Server::S3, Action::NoLength)
            .method("HEAD")
            .path(&job.key),
    );
    let run = job.run();
    let cb = assert_error(
        &stack,
        &job,
        &run,
        "input_too_large",
        "Failed to process image: input too large: ",
    );
    let want = format!("{} bytes, over MAX_INPUT_BYTES (20000)", job.data.len());
    assert!(cb["error"].as_str().unwrap().contains(&want), "{cb}");
    assert_eq!(count(&stack, Server::S3, "GET", &job.key), 1, "not retried");
    assert_nothing_written(&stack, &job);

    // Neither HEAD nor GET says the size (a chunked body): reading stops past the limit.
    let stack = Stack::start();
    let mut job = thumb_job(&stack);
    job.set("MAX_INPUT_BYTES", "20000");
    stack.fault(Fault::new(Server::S3, Action::NoLength).path(&job.key));
    let run = job.run();
    stack.clear_faults();
    let cb = assert_error(
        &stack,
        &job,
        &run,
        "input_too_large",
        "Failed to process image: input too large: ",
    );
    assert!(
        cb["error"]
            .as_str()
            .unwrap()
            .contains("over MAX_INPUT_BYTES (20000 bytes); stopped reading there"),
        "{cb}"
    );
    assert_nothing_written(&stack, &job);
}

#[test]
fn keys_in_any_alphabet_and_with_space_runs_are_archived_with_exact_metadata() {
    for (key, file_name) in [
        ("staging/batch_abc123/фото/café 🌅.jpg", "café 🌅.jpg"),
        (
            "staging/batch_abc123/photos/two  spaces.jpg",
            "two  spaces.jpg",
        ),
        ("staging/batch_abc123/日本/写真 (1).jpg", "写真 (1).jpg"),
        // Characters that URLs, presigned queries and signatures treat specially.
        (
            "staging/batch_abc123/x/a+b%20c?d#e&f=g;h.jpg",
            "a+b%20c?d#e&f=g;h.jpg",
        ),
    ] {
        let stack = Stack::start();
        let job = Job::at(
            &stack,
            key,
            file_name,
            fixture("jpeg_thumb_band_800x600.jpg"),
            "image/jpeg",
        );
        let run = job.run();
        // assert_success decodes the archive's metadata (RFC 2047) and compares it with the
        // exact key, batch and task IDs and CID.
        assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
        // The S3 server (s3s) decoded our RFC 2047 words on the way in and re-encodes
        // non-ASCII on the way out: two independent decoders agree on the exact key. Sent
        // raw, the non-ASCII key could not be sent and the double space would fail SigV4.
        let (_, stored) = stack.head(ARCHIVE, file_name).expect("archived");
        assert_eq!(decode_rfc2047(&stored["original-r2-key"]), key);
    }
}

#[test]
fn a_key_that_cannot_be_sent_fails_before_any_request() {
    let stack = Stack::start();
    // 1,020 bytes: S3 takes the key itself, but its `.ref.json` (1,029 bytes) would be refused
    // after the CDN upload.
    let dir = "d".repeat(200);
    let key = format!("staging/{dir}/{dir}/{dir}/{dir}/{}.jpg", "k".repeat(204));
    assert_eq!(key.len(), 1020);
    // Nothing is put in staging: the worker must not even ask for it.
    let data = fixture("jpeg_thumb_band_800x600.jpg");
    let mut env = stack.env(TASK, BATCH, &key, "long.jpg", "image/jpeg", data.len());
    env.push(("INPUT_CID".into(), CID.into()));
    let job = Job {
        key,
        file_name: "long.jpg".into(),
        data,
        env,
    };
    let before = stack.requests().len();
    let run = job.run();
    // Not `assert_error`: the stack's S3 server (like S3 and R2) refuses to even look up the
    // 1,029-byte `.ref.json` key (400 KeyTooLong).
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let cb = only_callback(&stack);
    assert_eq!(cb["error_code"], "input_invalid");
    assert!(
        cb["error"]
            .as_str()
            .unwrap()
            .contains("the .ref.json key would be 1029 bytes, over S3's 1024"),
        "{cb}"
    );
    let after: Vec<_> = stack.requests()[before..]
        .iter()
        .filter(|(s, _, _)| *s != Server::Callback)
        .cloned()
        .collect();
    assert!(after.is_empty(), "no S3 or CDN request: {after:?}");
}

#[test]
fn cdn_302_is_cdn_upload_failed_naming_the_redirect() {
    let stack = Stack::start();
    // The reported bug: a 302 to a URL whose GET answers JSON passed for success.
    let location = format!("{}/asset/ELSEWHERE", stack.cdn_url);
    stack.fault(Fault::new(Server::Cdn, Action::Redirect(302, location.clone())).method("POST"));
    let job = thumb_job(&stack);
    let run = job.run();
    let cb = assert_error(
        &stack,
        &job,
        &run,
        "cdn_upload_failed",
        "CDN upload failed: ",
    );
    let msg = cb["error"].as_str().unwrap();
    assert!(
        msg.contains("HTTP 302 redirect to") && msg.contains(&location),
        "{msg}"
    );
    assert_eq!(count(&stack, Server::Cdn, "POST", ""), 1, "not retried");
    assert_eq!(count(&stack, Server::Cdn, "GET", ""), 0, "never a GET");
    assert!(stack.assets().is_empty());
}

#[test]
fn cdn_307_is_followed_with_the_same_body() {
    let stack = Stack::start();
    stack.fault(
        Fault::new(
            Server::Cdn,
            Action::Redirect(307, "/asset/MOVEDASSETID0000000000".into()),
        )
        .method("POST")
        .times(1),
    );
    let job = thumb_job(&stack);
    let run = job.run();
    // assert_success checks the stored variants, decoded, against the expected ones.
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    assert_eq!(stack.assets()[0].id, "MOVEDASSETID0000000000");
}

#[test]
fn callback_307_and_308_deliver_once_as_the_same_post() {
    for status in [307, 308] {
        let stack = Stack::start();
        let moved = format!("/v2/callback/{BATCH}/{TASK}");
        stack.fault(
            Fault::new(Server::Callback, Action::Redirect(status, moved.clone()))
                .method("POST")
                .times(1),
        );
        let job = thumb_job(&stack);
        let run = job.run();
        assert_eq!(run.code, Some(0), "{}", run.stdout);
        let calls = stack.callbacks();
        assert_eq!(calls.len(), 1, "{status}: delivered once");
        assert_eq!(calls[0].path, moved);
        assert_eq!(calls[0].body["status"], "success");
        assert_eq!(calls[0].body["task_id"], TASK);
        assert!(calls[0].idempotency_key.is_some());
        assert_eq!(count(&stack, Server::Callback, "POST", ""), 2);
        assert_eq!(count(&stack, Server::Callback, "GET", ""), 0, "never a GET");
    }
}

#[test]
fn callback_301_is_logged_with_status_and_location() {
    let stack = Stack::start();
    stack.fault(Fault::new(
        Server::Callback,
        Action::Redirect(301, "https://elsewhere.example/cb".into()),
    ));
    let job = thumb_job(&stack);
    let run = job.run();
    assert_eq!(
        run.code,
        Some(0),
        "the job itself succeeded\n{}",
        run.stdout
    );
    assert!(stack.callbacks().is_empty());
    assert_eq!(
        count(&stack, Server::Callback, "POST", ""),
        1,
        "not retried"
    );
    assert_eq!(count(&stack, Server::Callback, "GET", ""), 0, "never a GET");
    let logged = log_lines(&run).into_iter().any(|l| {
        let msg = l["msg"].as_str().unwrap_or("");
        l["level"] == "error"
            && l["stage"] == "callback"
            && msg.contains("HTTP 301 redirect to https://elsewhere.example/cb")
    });
    assert!(logged, "{}", run.stdout);
}

#[test]
fn archive_put_answered_304_means_the_key_exists() {
    // Older MinIO answers a refused `If-None-Match: *` with 304 instead of 412.
    let stack = Stack::start();
    let job = thumb_job(&stack);
    stack.put(ARCHIVE, &job.file_name, &job.data, "image/jpeg");
    let archive_path = format!("/{ARCHIVE}/{}", job.file_name);
    // HEAD first says the key is free (as if the object landed just after), then the PUT is
    // refused with 304.
    stack.fault(
        Fault::new(Server::S3, Action::Status(404))
            .method("HEAD")
            .path(&archive_path)
            .times(1),
    );
    stack.fault(
        Fault::new(Server::S3, Action::Status(304))
            .method("PUT")
            .path(&archive_path)
            .times(1),
    );
    let puts_before = count(&stack, Server::S3, "PUT", &archive_path);
    let run = job.run();
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    let cb = only_callback(&stack);
    assert_eq!(cb["status"], "success");
    assert_eq!(cb["archive_r2_key"], job.file_name.as_str());
    assert_eq!(
        count(&stack, Server::S3, "PUT", &archive_path) - puts_before,
        1,
        "one PUT, refused with 304, not retried"
    );
    assert_eq!(
        stack.keys(ARCHIVE),
        vec![job.file_name.clone()],
        "no fallback copy"
    );
    assert_eq!(
        stack.get(ARCHIVE, &job.file_name).as_deref(),
        Some(&job.data[..])
    );
}

#[test]
fn archive_put_409_is_retried_then_archived() {
    let conflict = Action::S3Error(409, "ConditionalRequestConflict".into());
    let (stack, job, run) = run_with_put_fault(archive_path, conflict, Some(1));
    let archive_path = archive_path(&job);
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    assert_eq!(
        only_callback(&stack)["archive_r2_key"],
        job.file_name.as_str()
    );
    assert_eq!(count(&stack, Server::S3, "PUT", &archive_path), 2);
    assert!(
        log_lines(&run).iter().any(|l| l["level"] == "warn"
            && l["msg"]
                .as_str()
                .unwrap()
                .contains("HTTP 409 ConditionalRequestConflict: injected fault (a create-only PUT refused by a concurrent write to the key)")),
        "{}",
        run.stdout
    );
}

#[test]
fn a_lost_callback_answer_gives_identical_copies() {
    let stack = Stack::start();
    stack.fault(
        Fault::new(Server::Callback, Action::LoseAnswer)
            .method("POST")
            .times(1),
    );
    let job = thumb_job(&stack);
    let run = job.run();
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    let calls = stack.callbacks();
    assert_eq!(calls.len(), 2, "the lost answer was retried");
    assert_eq!(calls[0].raw, calls[1].raw, "identical bodies");
    let key = calls[0].idempotency_key.clone().expect("Idempotency-Key");
    assert_eq!(calls[1].idempotency_key.as_deref(), Some(key.as_str()));
    assert!(
        key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit()),
        "{key}"
    );
    assert_eq!(calls[0].body["status"], "success");

    // Another run of the same task is another outcome: another key.
    let stack2 = Stack::start();
    let job2 = thumb_job(&stack2);
    assert_eq!(job2.run().code, Some(0));
    let other = stack2.callbacks()[0].idempotency_key.clone().unwrap();
    assert_ne!(other, key);
}

/// PRODUCT.md "Network behaviour": idempotent CDN upload. The first POST stores the asset and
/// its answer is lost; the retry with the same ID gets 409 from our own first attempt, the
/// smallest variant read back is ours: one asset, success under that ID.
#[test]
fn a_lost_cdn_answer_leaves_exactly_one_asset() {
    let stack = Stack::start();
    stack.fault(
        Fault::new(Server::Cdn, Action::LoseAnswer)
            .method("POST")
            .times(1),
    );
    let job = thumb_job(&stack);
    let run = job.run();
    // One asset, whose ID the ref.json and the callback carry.
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    let id = stack.assets()[0].id.clone();
    let posts: Vec<String> = stack
        .requests()
        .into_iter()
        .filter(|(s, m, _)| *s == Server::Cdn && m == "POST")
        .map(|r| r.2)
        .collect();
    assert_eq!(posts, [format!("/asset/{id}"), format!("/asset/{id}")]);
    let checks: Vec<_> = stack
        .request_log()
        .into_iter()
        .filter(|r| r.server == Server::Cdn && r.method == "GET")
        .map(|r| (r.path, r.query, r.status))
        .collect();
    assert_eq!(
        checks,
        [(
            format!("/asset/{id}"),
            Some("size=thumb".to_string()),
            Some(200)
        )],
        "the smallest variant read back once"
    );
}

/// The same, but the read-back finds nothing there (the asset is not ours to claim): a new ID,
/// and the callback warns that the first may also hold these variants.
#[test]
fn a_409_after_a_lost_cdn_answer_that_is_not_ours_takes_a_new_id() {
    let stack = Stack::start();
    stack.fault(
        Fault::new(Server::Cdn, Action::LoseAnswer)
            .method("POST")
            .times(1),
    );
    stack.fault(
        Fault::new(
            Server::Cdn,
            Action::Json(404, serde_json::json!({"success": false})),
        )
        .method("GET")
        .times(1),
    );
    let job = thumb_job(&stack);
    let run = job.run();
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    let cb = only_callback(&stack);
    let assets = stack.assets();
    assert_eq!(assets.len(), 2, "the lost attempt's asset and the new one");
    let url = cb["ref_data"]["url"].as_str().unwrap();
    let new = assets
        .iter()
        .find(|a| url.ends_with(&format!("/asset/{}", a.id)))
        .expect("the callback names one of them");
    assert_eq!(new.variants.len(), 2);
    assert_eq!(
        stack.get(ARCHIVE, &job.file_name).as_deref(),
        Some(&job.data[..])
    );
    assert!(stack
        .get(STAGING, &format!("{}.ref.json", job.key))
        .is_some());
}

/// The S3 requests the stack answered 403, as `METHOD path`.
fn refused(stack: &Stack) -> Vec<String> {
    stack
        .request_log()
        .into_iter()
        .filter(|r| r.server == Server::S3 && r.status == Some(403))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// A machine whose clock is 20 minutes off (behind, then ahead): the first request is refused
/// (S3 allows 15 minutes; a HEAD's 403 has no body, only a `Date`), the offset is taken from
/// `Date`, the request is signed again once, and every later request is signed right.
#[test]
fn a_clock_20_minutes_off_is_corrected_after_one_refusal() {
    for (offset, side) in [(-1200, "behind"), (1200, "ahead of")] {
        let stack = Stack::start();
        let mut job = thumb_job(&stack);
        for (k, v) in arke_stack::skewed_clock(offset) {
            job.set(&k, &v);
        }
        let run = job.run();
        assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
        assert_eq!(
            refused(&stack),
            [format!("HEAD /{STAGING}/{}", job.key)],
            "one refusal, then the corrected retry"
        );
        let cb = only_callback(&stack);
        let warned = cb["warnings"].as_array().unwrap().iter().any(|w| {
            let w = w.as_str().unwrap();
            w.starts_with("the machine's clock is ") && w.contains(&format!(" {side} S3's"))
        });
        assert!(warned, "{cb}");
    }
}

/// Still refused after the correction: the error says the clock is off, and by how much.
#[test]
fn a_clock_refused_again_after_the_correction_says_how_far_off_it_is() {
    let stack = Stack::start();
    let mut job = thumb_job(&stack);
    for (k, v) in arke_stack::skewed_clock(-1200) {
        job.set(&k, &v);
    }
    stack.fault(
        Fault::new(
            Server::S3,
            Action::S3Error(403, "RequestTimeTooSkewed".into()),
        )
        .method("HEAD")
        .path(&job.key),
    );
    let run = job.run();
    stack.clear_faults();
    let cb = assert_error(
        &stack,
        &job,
        &run,
        "download_failed",
        "Failed to download image: ",
    );
    let msg = cb["error"].as_str().unwrap();
    assert!(
        (msg.contains("the machine's clock is 20 min 0 s behind S3's")
            || msg.contains("the machine's clock is 19 min 59 s behind S3's"))
            && msg.contains("signed again with that correction, refused again"),
        "{msg}"
    );
    assert_eq!(
        refused(&stack).len(),
        2,
        "the first try and one corrected retry"
    );
    assert!(stack.assets().is_empty() && stack.keys(ARCHIVE).is_empty());
}

/// `RequestTimeTooSkewed` in an answer's body (a PUT's) is signed again once too.
#[test]
fn request_time_too_skewed_on_the_archive_put_is_signed_again_once() {
    let skewed = Action::S3Error(403, "RequestTimeTooSkewed".into());
    let (stack, job, run) = run_with_put_fault(archive_path, skewed, Some(1));
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    assert_eq!(count(&stack, Server::S3, "PUT", &archive_path(&job)), 2);
}

/// Seconds between the first two requests matching.
fn gap(stack: &Stack, server: Server, method: &str, path_end: &str) -> f64 {
    let at: Vec<_> = stack
        .request_log()
        .into_iter()
        .filter(|r| r.server == server && r.method == method && r.path.ends_with(path_end))
        .map(|r| r.at)
        .collect();
    assert!(at.len() >= 2, "{method} {path_end}: {} requests", at.len());
    (at[1] - at[0]).as_secs_f64()
}

/// `Retry-After` replaces the backoff (which is at most 0.5 s before a second attempt): 503
/// `SlowDown` with `Retry-After: 3` on the download, 429 with an HTTP-date about 5 s ahead from
/// the CDN, 503 with `Retry-After: 1` from the orchestrator. Coarse lower bounds, from the
/// stack's log.
#[test]
fn retry_after_is_waited_for_before_the_next_attempt() {
    let stack = Stack::start();
    let job = thumb_job(&stack);
    stack.fault(
        Fault::new(Server::S3, Action::RetryAfter(503, "3".into()))
            .method("GET")
            .path(&job.key)
            .times(1),
    );
    // The CDN POST comes after the download's 3 s wait: about 5 s after it.
    let date = chrono::Utc::now() + chrono::Duration::seconds(8);
    stack.fault(
        Fault::new(
            Server::Cdn,
            Action::RetryAfter(429, date.format("%a, %d %b %Y %H:%M:%S GMT").to_string()),
        )
        .method("POST")
        .times(1),
    );
    stack.fault(
        Fault::new(Server::Callback, Action::RetryAfter(503, "1".into()))
            .method("POST")
            .times(1),
    );
    let run = job.run();
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    let download = gap(&stack, Server::S3, "GET", &job.key);
    assert!(download >= 2.9, "the GET was retried after {download} s");
    let cdn = gap(&stack, Server::Cdn, "POST", "");
    assert!(cdn >= 2.0, "the CDN POST was retried after {cdn} s");
    let callback = gap(&stack, Server::Callback, "POST", "");
    assert!(
        callback >= 0.9,
        "the callback was retried after {callback} s"
    );
    assert!(
        run.stdout
            .contains("(Retry-After 3 s): HTTP 503 SlowDown: injected fault"),
        "{}",
        run.stdout
    );
}

/// A `Retry-After` the deadline leaves no room for is not waited for: the job fails at once
/// with what the server asked, not with `timeout` minutes later.
#[test]
fn retry_after_past_the_deadline_fails_at_once() {
    let stack = Stack::start();
    let mut job = thumb_job(&stack);
    job.set("JOB_TIMEOUT_SECS", "8");
    stack.fault(Fault::new(Server::Cdn, Action::RetryAfter(503, "15".into())).method("POST"));
    let run = job.run();
    let cb = assert_error(
        &stack,
        &job,
        &run,
        "cdn_upload_failed",
        "CDN upload failed: 503 ",
    );
    let msg = cb["error"].as_str().unwrap();
    assert!(
        msg.ends_with("(not retried: Retry-After 15 s would pass the deadline)"),
        "{msg}"
    );
    assert_eq!(count(&stack, Server::Cdn, "POST", ""), 1);
    assert!(stack.assets().is_empty());
    assert_eq!(
        stack.get(ARCHIVE, &job.file_name).as_deref(),
        Some(&job.data[..]),
        "the archive ran alongside"
    );
}
