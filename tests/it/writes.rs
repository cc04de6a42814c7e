//! Writes proven (PRODUCT.md "Network behaviour"): an S3 PUT counts only with evidence that the
//! object holds our bytes. Rebuilt from public bug reports of S3 clients: a 200 carrying an S3
//! `<Error>` (boto, arrow-rs, minio-go), a 200 without an ETag that stored nothing, a PUT whose
//! answer lost its ETag on the way, an answer lost after the object was stored.

use image::ImageFormat::Jpeg;

use crate::common::*;

const THUMB_BAND: &[Expect] = &[("thumb", Jpeg, 400, 300), ("original", Jpeg, 800, 600)];

fn thumb_job(stack: &Stack) -> Job {
    Job::fixture(stack, "jpeg_thumb_band_800x600.jpg", "image/jpeg")
}

fn archive_path(job: &Job) -> String {
    format!("/{ARCHIVE}/{}", job.file_name)
}

fn ref_path(job: &Job) -> String {
    format!("/{STAGING}/{}.ref.json", job.key)
}

/// A fault on the PUTs to `path`, `times` times (`None`: every time).
fn on_put(stack: &Stack, path: &str, action: Action, times: Option<u32>) {
    let fault = Fault::new(Server::S3, action).method("PUT").path(path);
    stack.fault(match times {
        Some(n) => fault.times(n),
        None => fault,
    });
}

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

#[test]
fn an_archive_put_answered_200_with_an_s3_error_once_is_retried_and_archived() {
    let stack = Stack::start();
    let job = thumb_job(&stack);
    on_put(
        &stack,
        &archive_path(&job),
        Action::ErrorIn2xx("InternalError".into()),
        Some(1),
    );
    let run = job.run();
    // The archive holds the exact bytes, ref.json and the callback are right.
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    assert_eq!(stack.keys(ARCHIVE), vec![job.file_name.clone()]);
    assert_eq!(count(&stack, Server::S3, "PUT", &archive_path(&job)), 2);
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
    let stack = Stack::start();
    let job = thumb_job(&stack);
    on_put(
        &stack,
        &archive_path(&job),
        Action::ErrorIn2xx("InternalError".into()),
        None,
    );
    let run = job.run();
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
    let stack = Stack::start();
    let job = thumb_job(&stack);
    on_put(
        &stack,
        &ref_path(&job),
        Action::ErrorIn2xx("InternalError".into()),
        Some(1),
    );
    let run = job.run();
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    assert_eq!(count(&stack, Server::S3, "PUT", &ref_path(&job)), 2);
}

#[test]
fn a_ref_json_put_answered_200_with_an_s3_error_every_time_is_ref_write_failed() {
    let stack = Stack::start();
    let job = thumb_job(&stack);
    on_put(
        &stack,
        &ref_path(&job),
        Action::ErrorIn2xx("SlowDown".into()),
        None,
    );
    let run = job.run();
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
        on_put(&stack, &path, Action::NoEtag, None);
    }
    let run = job.run();
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    for path in [archive_path(&job), ref_path(&job)] {
        assert_eq!(
            count(&stack, Server::S3, "PUT", &path),
            1,
            "{path}: one PUT"
        );
        // The HEAD before the archive PUT, and one after each PUT to check it.
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

/// An ETag that is an MD5 but not the body's: the PUT is settled by what is stored — the HEAD's
/// ETag on the archive, and on the ref.json (whose HEAD and GET give the wrong ETag too) the
/// bytes read back.
#[test]
fn puts_answered_with_another_etag_are_settled_by_what_is_stored() {
    let stack = Stack::start();
    let job = thumb_job(&stack);
    let wrong = "\"0123456789abcdef0123456789abcdef\"";
    on_put(
        &stack,
        &archive_path(&job),
        Action::EtagSays(wrong.into()),
        None,
    );
    stack.fault(Fault::new(Server::S3, Action::EtagSays(wrong.into())).path(&ref_path(&job)));
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
    let stack = Stack::start();
    let job = thumb_job(&stack);
    on_put(&stack, &archive_path(&job), Action::Empty(200), Some(1));
    let run = job.run();
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    assert_eq!(count(&stack, Server::S3, "PUT", &archive_path(&job)), 2);

    // Every time on the ref.json: ref_write_failed, saying what the check found.
    let stack = Stack::start();
    let job = thumb_job(&stack);
    on_put(&stack, &ref_path(&job), Action::Empty(200), None);
    let run = job.run();
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
    let stack = Stack::start();
    let job = thumb_job(&stack);
    on_put(&stack, &archive_path(&job), Action::LoseAnswer, Some(1));
    let run = job.run();
    assert_success(&stack, &job, &run, "image/jpeg", THUMB_BAND);
    assert_eq!(
        only_callback(&stack)["archive_r2_key"],
        job.file_name.as_str()
    );
    assert_eq!(
        stack.keys(ARCHIVE),
        vec![job.file_name.clone()],
        "no fallback copy"
    );
    assert_eq!(count(&stack, Server::S3, "PUT", &archive_path(&job)), 2);
}
