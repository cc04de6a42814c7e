//! Passwords and tokens in URLs (PRODUCT.md "Environment"): `CALLBACK_URL`, `CDN_API_URL`,
//! `CDN_PUBLIC_URL` and `R2_ENDPOINT` may carry userinfo or a query-string token — common for
//! webhooks. They are used as given and shown nowhere but as `https://user:***@host:port/path?***`:
//! not in log lines (retries, redirects), errors, callbacks, CDN bodies or `check`.

use crate::common::*;

/// The thumb-band job with a password and a token in all three URLs, `cdn` as the CDN API's
/// base.
fn job_with_secrets(stack: &Stack, cdn: &str) -> Job {
    let mut job = thumb_job(stack);
    with_url_secrets(stack, &mut job, cdn);
    job
}

/// Retries of the CDN POST and of the callback, a 307 to a Location carrying a token: the job
/// succeeds, the credentials reach the servers (Basic auth, the query kept after the path), and
/// no output shows them.
#[test]
fn credentials_in_urls_travel_through_retries_and_a_307_and_never_show() {
    let stack = Stack::start();
    let job = job_with_secrets(&stack, &stack.cdn_url);
    stack.fault(
        Fault::new(Server::Cdn, Action::Status(503))
            .method("POST")
            .times(1),
    );
    stack.fault(
        Fault::new(
            Server::Cdn,
            Action::Redirect(307, "/asset/MOVEDASSETID?key=LOCTOKENMARKER".into()),
        )
        .method("POST")
        .times(1),
    );
    stack.fault(
        Fault::new(Server::Callback, Action::Status(503))
            .method("POST")
            .times(1),
    );
    let run = job.run();
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let cb = only_callback(&stack);
    assert_eq!(cb["status"], "success");
    assert_eq!(stack.assets().len(), 1);
    assert_eq!(stack.assets()[0].id, "MOVEDASSETID");
    assert_eq!(
        stack.get(ARCHIVE, &job.file_name).as_deref(),
        Some(&job.data[..])
    );
    assert!(stack
        .get(STAGING, &format!("{}.ref.json", job.key))
        .is_some());
    assert_no_secret("success", &all_output(&stack, &run));

    // The credentials were used: Basic auth from the userinfo, the token after the path.
    for r in stack.request_log() {
        match (r.server, r.method.as_str()) {
            (Server::Cdn, "POST") => {
                assert_eq!(r.basic_user.as_deref(), Some("cdn"), "{r:?}");
                assert!(r.path.starts_with("/asset/"), "{r:?}");
                let q = r.query.unwrap_or_default();
                assert!(
                    q == "key=CDNTOKENMARKER" || q == "key=LOCTOKENMARKER",
                    "{}",
                    r.path
                );
            }
            (Server::Callback, _) => {
                assert_eq!(r.basic_user.as_deref(), Some("orch"));
                assert_eq!(r.query.as_deref(), Some("token=CBTOKENMARKER"));
            }
            _ => {}
        }
    }
    // And they are shown redacted where the URLs are logged.
    let cdn_host = stack.cdn_url.trim_start_matches("http://");
    for shown in [
        format!("POST http://cdn:***@{cdn_host}/asset/"),
        format!("redirect from http://cdn:***@{cdn_host}/asset/"),
        format!("to http://cdn:***@{cdn_host}/asset/MOVEDASSETID?***"),
        format!(
            "POST http://orch:***@{}/callback/{BATCH}/{TASK}?***",
            stack.orchestrator_url.trim_start_matches("http://")
        ),
    ] {
        assert!(
            run.stdout.contains(&shown),
            "{shown} not in:\n{}",
            run.stdout
        );
    }
}

/// An unreachable CDN (retried, then `cdn_upload_failed`), and a CDN and an orchestrator that
/// redirect with 302 and 301 to URLs carrying a token: the errors and log lines name the
/// endpoint or the redirect, never the credentials.
#[test]
fn credentials_never_show_when_the_cdn_is_unreachable_or_redirects_away() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let stack = Stack::start();
    let job = job_with_secrets(&stack, &format!("http://{closed}"));
    let run = job.run();
    let cb = assert_error(
        &stack,
        &job,
        &run,
        "cdn_upload_failed",
        "CDN upload failed: ",
    );
    assert!(
        cb["error"]
            .as_str()
            .unwrap()
            .contains(&format!("cannot reach http://{closed}: connection refused")),
        "{cb}"
    );
    assert!(
        run.stdout
            .contains(&format!("POST http://cdn:***@{closed}/asset/")),
        "{}",
        run.stdout
    );
    assert!(stack.assets().is_empty());
    assert_no_secret("unreachable", &all_output(&stack, &run));

    let stack = Stack::start();
    let job = job_with_secrets(&stack, &stack.cdn_url);
    stack.fault(
        Fault::new(
            Server::Cdn,
            Action::Redirect(302, "https://elsewhere.example/x?sig=LOCTOKENMARKER".into()),
        )
        .method("POST"),
    );
    stack.fault(Fault::new(
        Server::Callback,
        Action::Redirect(
            301,
            "https://elsewhere.example/cb?sig=LOCTOKENMARKER".into(),
        ),
    ));
    let run = job.run();
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(stack.callbacks().is_empty(), "a 301 is not followed");
    assert!(
        run.stdout
            .contains("HTTP 301 redirect to https://elsewhere.example/cb?***: not followed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "CDN upload failed: HTTP 302 redirect to https://elsewhere.example/x?***: not followed"
        ),
        "{}",
        run.stdout
    );
    assert!(stack.assets().is_empty());
    assert_no_secret("redirected", &all_output(&stack, &run));
}

/// A malformed URL holding a password and a token: the `config_invalid` callback (sent to the
/// valid `CALLBACK_URL`) names the variable and shows the value redacted.
#[test]
fn a_malformed_url_is_reported_redacted() {
    let stack = Stack::start();
    let mut job = job_with_secrets(&stack, &stack.cdn_url);
    job.set(
        "CDN_API_URL",
        "htp://cdn:CDNPASSMARKER@cdn.example?key=CDNTOKENMARKER",
    );
    let run = job.run();
    assert_eq!(run.code, Some(2), "{}", run.stdout);
    let cb = only_callback(&stack);
    assert_eq!(cb["error_code"], "config_invalid");
    assert_eq!(
        cb["error"],
        r#"Invalid configuration: CDN_API_URL: not an http(s) URL: "htp://cdn:***@cdn.example?***""#
    );
    assert!(stack.assets().is_empty() && stack.keys(ARCHIVE).is_empty());
    assert_eq!(stack.keys(STAGING), vec![job.key.clone()]);
    assert_no_secret("config_invalid", &all_output(&stack, &run));
}

/// `check` prints every URL redacted; `--help` shows the form.
#[test]
fn check_and_help_show_urls_redacted() {
    let stack = Stack::start();
    let mut job = job_with_secrets(&stack, &stack.cdn_url);
    job.set("R2_ENDPOINT", "http://r2:R2PASSMARKER@127.0.0.1:9000");
    let before = stack.requests().len();
    let out = worker()
        .arg("check")
        .env_clear()
        .envs(job.env.iter().cloned())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(plan["r2"]["endpoint"], "http://r2:***@127.0.0.1:9000");
    assert_eq!(
        plan["callback_url"],
        format!(
            "http://orch:***@{}/callback/{BATCH}/{TASK}?***",
            stack.orchestrator_url.trim_start_matches("http://")
        )
    );
    assert_eq!(
        plan["cdn"]["api_url"],
        format!(
            "http://cdn:***@{}?***",
            stack.cdn_url.trim_start_matches("http://")
        )
    );
    let all = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_no_secret("check", &all);
    assert_eq!(stack.requests().len(), before, "check makes no request");

    let help = worker().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("https://user:***@host:port/path?***"),
        "{help}"
    );
}
