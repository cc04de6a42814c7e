//! Writes proven (PRODUCT.md "Network behaviour"): an S3 PUT counts only with evidence that the
//! object holds our bytes. Rebuilt from public bug reports of S3 clients: a 200 carrying an S3
//! `<Error>` (boto, arrow-rs, minio-go), a 200 without an ETag that stored nothing, a PUT whose
//! answer lost its ETag on the way, an answer lost after the object was stored.

use crate::common::*;

/// A run that failed after its CDN upload: exit 1, one error callback with `code` naming the
/// one asset on the CDN, no `.ref.json`. Returns the callback's error message.
#[track_caller]
fn failed_after_upload(stack: &Stack, job: &Job, run: &Run, code: &str, start: &str) -> String {
    let cb = assert_error(stack, job, run, code, start);
    let assets = stack.assets();
    assert_eq!(assets.len(), 1, "one asset on the CDN");
    assert_eq!(cb["cdn_asset_id"], assets[0].id.as_str(), "{cb}");
    cb["error"].as_str().unwrap().to_string()
}

/// A fault once on the PUTs to `path`: retried, and the job succeeds with the exact bytes.
#[track_caller]
fn retried_once(path: fn(&Job) -> String, action: Action) -> (Stack, Job, Run) {
    let (stack, job, run) = run_with_put_fault(path, action, Some(1));
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    assert_eq!(count(&stack, Server::S3, "PUT", &path(&job)), 2, "retried");
    (stack, job, run)
}

#[test]
fn an_archive_put_answered_200_with_an_s3_error_once_is_retried_and_archived() {
    let (stack, job, run) = retried_once(archive_path, Action::ErrorIn2xx("InternalError".into()));
    assert_eq!(stack.keys(ARCHIVE), vec![job.file_name.clone()]);
    assert!(
        run.stdout.contains(
            "HTTP 200 InternalError: injected fault (an S3 error document in a 200 answer: \
             not stored)"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn an_archive_put_answered_200_with_an_s3_error_every_time_is_archive_failed() {
    let (stack, job, run) = run_with_put_fault(
        archive_path,
        Action::ErrorIn2xx("InternalError".into()),
        None,
    );
    let msg = failed_after_upload(
        &stack,
        &job,
        &run,
        "archive_failed",
        "Failed to archive image: jpeg_thumb_band_800x600.jpg: HTTP 200 InternalError",
    );
    assert!(msg.ends_with("(after 3 attempts)"), "{msg}");
    assert!(stack.keys(ARCHIVE).is_empty(), "nothing archived");
    assert_eq!(count(&stack, Server::S3, "PUT", &archive_path(&job)), 3);
}

#[test]
fn a_ref_json_put_answered_200_with_an_s3_error_once_is_retried() {
    retried_once(ref_path, Action::ErrorIn2xx("InternalError".into()));
}

#[test]
fn a_ref_json_put_answered_200_with_an_s3_error_every_time_is_ref_write_failed() {
    let (stack, job, run) =
        run_with_put_fault(ref_path, Action::ErrorIn2xx("SlowDown".into()), None);
    let msg = failed_after_upload(
        &stack,
        &job,
        &run,
        "ref_write_failed",
        "Failed to write ref.json: ",
    );
    assert!(
        msg.contains("HTTP 200 SlowDown: injected fault") && msg.ends_with("(after 3 attempts)"),
        "{msg}"
    );
    // The archive was written before: the original is safe, the run reported failed.
    assert_eq!(
        stack.get(ARCHIVE, &job.file_name).as_deref(),
        Some(&job.data[..])
    );
    assert_eq!(count(&stack, Server::S3, "PUT", &ref_path(&job)), 3);
}

#[test]
fn puts_answered_without_an_etag_are_proven_by_a_head() {
    let stack = Stack::start();
    let job = thumb_job(&stack);
    for path in [archive_path(&job), ref_path(&job)] {
        stack.fault(
            Fault::new(Server::S3, Action::NoEtag)
                .method("PUT")
                .path(&path),
        );
    }
    let run = job.run();
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    for path in [archive_path(&job), ref_path(&job)] {
        assert_eq!(
            count(&stack, Server::S3, "PUT", &path),
            1,
            "{path}: one PUT"
        );
        let heads = count(&stack, Server::S3, "HEAD", &path);
        assert!(heads >= 1, "{path}: checked by HEAD");
    }
    let checks = log_lines(&run)
        .iter()
        .filter(|l| {
            l["msg"]
                .as_str()
                .unwrap()
                .contains("answered 200 without an ETag: checking what is stored")
        })
        .count();
    assert_eq!(checks, 2, "{}", run.stdout);
}

fn etag_says(value: &str) -> Action {
    Action::HeaderSays("etag".into(), value.into())
}

/// A PUT answered with an `x-amz-checksum-sha256` that is not the body's (its ETag right): the
/// answer contradicts itself, and the HEAD settles it.
#[test]
fn a_put_answered_with_another_checksum_is_settled_by_a_head() {
    let wrong = Action::HeaderSays(
        "x-amz-checksum-sha256".into(),
        "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=".into(),
    );
    let (stack, job, run) = run_with_put_fault(archive_path, wrong, None);
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    assert_eq!(count(&stack, Server::S3, "PUT", &archive_path(&job)), 1);
    assert!(
        run.stdout
            .contains("answered 200 with x-amz-checksum-sha256 ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=, not that of what was sent: checking what is stored"),
        "{}",
        run.stdout
    );
}

/// An ETag that is an MD5 but not the body's: the PUT is settled by what is stored — the HEAD's
/// ETag on the archive, and on the ref.json (whose HEAD and GET give the wrong ETag too) the
/// bytes read back.
#[test]
fn puts_answered_with_another_etag_are_settled_by_what_is_stored() {
    let wrong = "\"0123456789abcdef0123456789abcdef\"";
    let stack = Stack::start();
    let job = thumb_job(&stack);
    stack.fault(
        Fault::new(Server::S3, etag_says(wrong))
            .method("PUT")
            .path(&archive_path(&job)),
    );
    stack.fault(Fault::new(Server::S3, etag_says(wrong)).path(&ref_path(&job)));
    let run = job.run();
    // Counted before assert_success reads the buckets too.
    let read_back = count(&stack, Server::S3, "GET", &ref_path(&job));
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    assert_eq!(read_back, 1, "the ref.json read back once");
    assert_eq!(count(&stack, Server::S3, "PUT", &archive_path(&job)), 1);
    assert_eq!(count(&stack, Server::S3, "PUT", &ref_path(&job)), 1);
}

#[test]
fn a_200_that_stored_nothing_is_found_out() {
    // Once on the archive: the HEAD finds nothing, the PUT is tried again and succeeds.
    retried_once(archive_path, Action::Empty(200));

    // Every time on the ref.json: ref_write_failed, saying what the check found.
    let (stack, job, run) = run_with_put_fault(ref_path, Action::Empty(200), None);
    let msg = failed_after_upload(
        &stack,
        &job,
        &run,
        "ref_write_failed",
        "Failed to write ref.json: ",
    );
    assert!(
        msg.contains("PUT answered 200 without an ETag, and HEAD finds no object at the key"),
        "{msg}"
    );
    assert_eq!(
        stack.get(ARCHIVE, &job.file_name).as_deref(),
        Some(&job.data[..])
    );
}

#[test]
fn an_archive_put_whose_answer_is_lost_after_storing_is_not_archived_twice() {
    // The retry's create-only PUT is refused (the key holds our bytes now): compared, done.
    let (stack, job, _) = retried_once(archive_path, Action::LoseAnswer);
    assert_eq!(
        only_callback(&stack)["archive_r2_key"],
        job.file_name.as_str()
    );
    assert_eq!(
        stack.keys(ARCHIVE),
        vec![job.file_name.clone()],
        "no fallback copy"
    );
}
