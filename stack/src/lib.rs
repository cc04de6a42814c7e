//! A local stack for tests and smoke runs, on free loopback ports:
//! - a real S3 server (s3s + s3s-fs: file-backed, checks SigV4 signatures);
//! - a CDN stand-in implementing SPEC.md Step 4 (validates the body, decodes every variant,
//!   checks `size`, stores it, answers as SPEC.md, serves `GET /asset/{id}?size=NAME`, 409 on a
//!   known asset ID);
//! - an orchestrator stand-in that records every callback;
//! - fault switches for each of them: a status code, N failures then success, a hang, a delay, a
//!   body cut short, an answer without `Content-Length`, a corrupted body, a HEAD with another
//!   size, a redirect, an S3 error code, a 200 carrying an S3 `<Error>`, a PUT answered without
//!   its ETag, with another ETag or checksum, or with nothing stored, `Retry-After`, an answer lost after the request was
//!   carried out (a callback recorded, an object or an asset stored);
//! - the S3 server refuses a request signed more than 15 minutes off its clock
//!   (`RequestTimeTooSkewed`, s3s's check; every answer has a `Date`), and [`skewed_clock`]
//!   starts the worker with its clock off (an `LD_PRELOAD` shim);
//! - a log of every request: when, which server, method, path, query, Basic-auth user, status.
//!
//! Everything runs on one tokio runtime owned by [`Stack`]; dropping it stops the servers.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tokio::net::TcpListener;

pub const ACCESS_KEY: &str = "ARKETESTACCESSKEY0001";
pub const SECRET_KEY: &str = "arke-test-secret-0123456789abcdefSECRET";
pub const STAGING: &str = "arke-staging";
pub const ARCHIVE: &str = "arke-archive";

/// Which server a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    S3,
    Cdn,
    Callback,
}

/// What a matching request gets instead of the real answer.
#[derive(Debug, Clone)]
pub enum Action {
    /// An empty (S3: XML error) answer with this status.
    Status(u16),
    /// This status and JSON body.
    Json(u16, Value),
    /// No answer for this long, then the connection is closed.
    Hang(Duration),
    /// S3 only: the real answer with its real headers (`Content-Length` included), but the body
    /// stops after this many bytes and the connection is closed (a download cut short).
    CutBody(usize),
    /// S3 only: the real answer without `Content-Length` (HEAD: size unknown; GET: a chunked
    /// body, whose length is known only at its end).
    NoLength,
    /// S3 only: the real answer with one byte of its body changed (same length, same ETag):
    /// corruption that only a checksum catches.
    CorruptBody,
    /// S3 only: the real answer, its `Content-Length` replaced by this (a HEAD that describes
    /// another version of the object than the GET that follows).
    SizeSays(u64),
    /// A redirect with this status and `Location` (absolute, or a path on the same server).
    Redirect(u16, String),
    /// S3's XML error with this status and `<Code>`, e.g. 409 `ConditionalRequestConflict`.
    S3Error(u16, String),
    /// The request is carried out — the orchestrator records the callback, the CDN stores the
    /// asset, S3 stores the object — and the connection is closed without an answer: an answer
    /// lost after the fact.
    LoseAnswer,
    /// `200 OK` carrying S3's `<Error>` document with this code, and no ETag; nothing stored
    /// (S3 documents such answers; boto, arrow-rs and minio-go took them for success).
    ErrorIn2xx(String),
    /// An empty answer with this status and no ETag; nothing done (a 200 that stored nothing).
    Empty(u16),
    /// S3 only: the real answer (the object stored) without its `ETag` header.
    NoEtag,
    /// S3 only: the real answer with this header set to this value — an `ETag` or an
    /// `x-amz-checksum-*` that a proxy or a server got wrong.
    HeaderSays(String, String),
    /// This status with `Retry-After: VALUE` (seconds or an HTTP-date): S3's error document
    /// (`SlowDown` for 503, `TooManyRequests` otherwise), or JSON from the CDN and orchestrator.
    RetryAfter(u16, String),
    /// The real answer, after this pause (the request body read first).
    Delay(Duration),
}

/// A fault: which requests it matches, what they get, and how many times (`None`: always).
#[derive(Debug, Clone)]
pub struct Fault {
    pub server: Server,
    pub method: Option<String>,
    pub path_contains: Option<String>,
    pub action: Action,
    pub times: Option<u32>,
}

impl Fault {
    pub fn new(server: Server, action: Action) -> Fault {
        Fault {
            server,
            method: None,
            path_contains: None,
            action,
            times: None,
        }
    }
    pub fn method(mut self, m: &str) -> Fault {
        self.method = Some(m.to_string());
        self
    }
    pub fn path(mut self, p: &str) -> Fault {
        self.path_contains = Some(p.to_string());
        self
    }
    pub fn times(mut self, n: u32) -> Fault {
        self.times = Some(n);
        self
    }
}

/// A variant as the CDN stand-in stored it.
#[derive(Debug, Clone)]
pub struct StoredVariant {
    pub name: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// An asset as the CDN stand-in stored it, with the request body minus the image data.
#[derive(Debug, Clone)]
pub struct Asset {
    pub id: String,
    pub variants: Vec<StoredVariant>,
    pub request: Value,
}

/// A callback the orchestrator stand-in received.
#[derive(Debug, Clone)]
pub struct Callback {
    pub path: String,
    pub body: Value,
    /// The body exactly as it arrived.
    pub raw: Vec<u8>,
    /// The `Idempotency-Key` header, if any.
    pub idempotency_key: Option<String>,
}

/// A request as one of the servers saw it.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// When it arrived (its headers read).
    pub at: std::time::Instant,
    pub server: Server,
    pub method: String,
    pub path: String,
    /// The query string as sent, if any.
    pub query: Option<String>,
    /// The user name of a Basic `Authorization` header, if any (the userinfo of the URL).
    pub basic_user: Option<String>,
    /// The status answered; `None` when no answer was given (lost on purpose, or not yet).
    pub status: Option<u16>,
}

#[derive(Default)]
struct State {
    faults: Mutex<Vec<Fault>>,
    assets: Mutex<BTreeMap<String, Asset>>,
    cdn_posts: Mutex<u32>,
    callbacks: Mutex<Vec<Callback>>,
    requests: Mutex<Vec<RequestRecord>>,
    cdn_public: Mutex<String>,
}

impl State {
    /// Logs a request as it arrives; returns its place in the log.
    fn arrived<B>(&self, server: Server, req: &Request<B>) -> usize {
        let basic_user = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .map(|raw| String::from_utf8_lossy(&raw).into_owned())
            .map(|pair| pair.split(':').next().unwrap_or_default().to_string());
        let mut log = self.requests.lock().unwrap();
        log.push(RequestRecord {
            at: std::time::Instant::now(),
            server,
            method: req.method().to_string(),
            path: req.uri().path().to_string(),
            query: req.uri().query().map(str::to_string),
            basic_user,
            status: None,
        });
        log.len() - 1
    }

    /// Logs the status answered to request `i`.
    fn answered<B, E>(&self, i: usize, resp: &Result<Response<B>, E>) {
        if let Ok(r) = resp {
            self.requests.lock().unwrap()[i].status = Some(r.status().as_u16());
        }
    }

    /// The action of the first fault matching this request, using up one of its times.
    fn fault_for(&self, server: Server, method: &str, path: &str) -> Option<Action> {
        let mut faults = self.faults.lock().unwrap();
        let i = faults.iter().position(|f| {
            f.server == server
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && f.path_contains.as_deref().is_none_or(|p| path.contains(p))
                && f.times != Some(0)
        })?;
        if let Some(n) = faults[i].times.as_mut() {
            *n -= 1;
        }
        Some(faults[i].action.clone())
    }
}

/// The running stack. Dropping it stops every server.
pub struct Stack {
    pub s3_endpoint: String,
    pub cdn_url: String,
    pub orchestrator_url: String,
    pub root: PathBuf,
    state: Arc<State>,
    _tmp: Option<tempfile::TempDir>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Stack {
    /// Starts the three servers on free loopback ports, S3 data in a new temporary folder.
    pub fn start() -> Stack {
        let tmp = tempfile::tempdir().expect("temporary folder");
        let root = tmp.path().to_path_buf();
        let mut stack = Stack::start_in(&root);
        stack._tmp = Some(tmp);
        stack
    }

    /// Starts the servers with S3 data under `root` (buckets `arke-staging`, `arke-archive`).
    pub fn start_in(root: &Path) -> Stack {
        for b in [STAGING, ARCHIVE] {
            std::fs::create_dir_all(root.join(b)).expect("bucket folder");
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let state = Arc::new(State::default());
        let (s3, cdn, orch) = runtime.block_on(async {
            let s3 = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let cdn = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let orch = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            (s3, cdn, orch)
        });
        let addr = |l: &TcpListener| -> SocketAddr { l.local_addr().expect("addr") };
        let s3_endpoint = format!("http://{}", addr(&s3));
        let cdn_url = format!("http://{}", addr(&cdn));
        let orchestrator_url = format!("http://{}", addr(&orch));
        *state.cdn_public.lock().unwrap() = cdn_url.clone();

        let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs root");
        let mut builder = s3s::service::S3ServiceBuilder::new(fs);
        builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let s3_service = builder.build();

        let st = state.clone();
        runtime.spawn(serve(s3, move |req| {
            let st = st.clone();
            let svc = s3_service.clone();
            async move {
                let i = st.arrived(Server::S3, &req);
                let resp = s3_handler(st.clone(), svc, req).await;
                st.answered(i, &resp);
                resp
            }
        }));
        let st = state.clone();
        runtime.spawn(serve(cdn, move |req| {
            let st = st.clone();
            async move {
                let i = st.arrived(Server::Cdn, &req);
                let resp = cdn_handler(st.clone(), req).await;
                st.answered(i, &resp);
                resp
            }
        }));
        let st = state.clone();
        runtime.spawn(serve(orch, move |req| {
            let st = st.clone();
            async move {
                let i = st.arrived(Server::Callback, &req);
                let resp = orchestrator_handler(st.clone(), req).await;
                st.answered(i, &resp);
                resp
            }
        }));
        Stack {
            s3_endpoint,
            cdn_url,
            orchestrator_url,
            root: root.to_path_buf(),
            state,
            _tmp: None,
            runtime: Some(runtime),
        }
    }

    /// SPEC.md's environment for one task against this stack (plus `R2_ENDPOINT`).
    pub fn env(
        &self,
        task_id: &str,
        batch_id: &str,
        key: &str,
        file_name: &str,
        content_type: &str,
        size: usize,
    ) -> Vec<(String, String)> {
        [
            ("TASK_ID", task_id.to_string()),
            ("BATCH_ID", batch_id.to_string()),
            ("INPUT_R2_KEY", key.to_string()),
            ("INPUT_FILE_NAME", file_name.to_string()),
            ("INPUT_CONTENT_TYPE", content_type.to_string()),
            ("INPUT_FILE_SIZE", size.to_string()),
            ("R2_ACCOUNT_ID", "localaccount".to_string()),
            ("R2_ENDPOINT", self.s3_endpoint.clone()),
            ("R2_ACCESS_KEY_ID", ACCESS_KEY.to_string()),
            ("R2_SECRET_ACCESS_KEY", SECRET_KEY.to_string()),
            ("R2_BUCKET", STAGING.to_string()),
            ("ARCHIVE_BUCKET", ARCHIVE.to_string()),
            ("CDN_API_URL", self.cdn_url.clone()),
            ("CDN_PUBLIC_URL", self.cdn_url.clone()),
            (
                "CALLBACK_URL",
                format!("{}/callback/{batch_id}/{task_id}", self.orchestrator_url),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// A client for one of the stack's buckets, over HTTP with SigV4 like any S3 client.
    pub fn bucket(&self, name: &str) -> Box<s3::Bucket> {
        s3_bucket(&self.s3_endpoint, name, ACCESS_KEY, SECRET_KEY)
    }

    pub fn put(&self, bucket: &str, key: &str, data: &[u8], content_type: &str) {
        let resp = self
            .bucket(bucket)
            .put_object_with_content_type(key, data, content_type)
            .expect("PUT");
        assert_eq!(resp.status_code(), 200, "PUT {bucket}/{key}");
    }

    /// The object's bytes, or `None` if there is none.
    pub fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let resp = self.bucket(bucket).get_object(key).expect("GET");
        match resp.status_code() {
            200 => Some(resp.to_vec()),
            404 => None,
            s => panic!("GET {bucket}/{key}: HTTP {s}"),
        }
    }

    /// Content type and `x-amz-meta-*` metadata of an object, from a GET's headers: rust-s3
    /// 0.38's sync HEAD parser reads the content type from a misspelt header (`get-Type`).
    pub fn head(&self, bucket: &str, key: &str) -> Option<(String, BTreeMap<String, String>)> {
        let resp = self.bucket(bucket).get_object(key).expect("GET");
        match resp.status_code() {
            200 => {
                let headers = resp.headers();
                let meta = headers
                    .iter()
                    .filter_map(|(k, v)| {
                        Some((k.strip_prefix("x-amz-meta-")?.to_string(), v.clone()))
                    })
                    .collect();
                Some((
                    headers.get("content-type").cloned().unwrap_or_default(),
                    meta,
                ))
            }
            404 => None,
            s => panic!("GET {bucket}/{key}: HTTP {s}"),
        }
    }

    /// Every key in a bucket, sorted.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let pages = self.bucket(bucket).list(String::new(), None).expect("LIST");
        let mut keys: Vec<String> = pages
            .into_iter()
            .flat_map(|p| p.contents)
            .map(|o| o.key)
            .collect();
        keys.sort();
        keys
    }

    pub fn fault(&self, fault: Fault) {
        self.state.faults.lock().unwrap().push(fault);
    }

    pub fn clear_faults(&self) {
        self.state.faults.lock().unwrap().clear();
    }

    pub fn callbacks(&self) -> Vec<Callback> {
        self.state.callbacks.lock().unwrap().clone()
    }

    pub fn assets(&self) -> Vec<Asset> {
        self.state
            .assets
            .lock()
            .unwrap()
            .values()
            .cloned()
            .collect()
    }

    /// Registers an asset ID as taken, so a POST to it gets 409.
    pub fn take_asset_id(&self, id: &str) {
        self.state.assets.lock().unwrap().insert(
            id.to_string(),
            Asset {
                id: id.to_string(),
                variants: Vec::new(),
                request: Value::Null,
            },
        );
    }

    /// How many POSTs reached the CDN stand-in (faulted ones included).
    pub fn cdn_posts(&self) -> u32 {
        *self.state.cdn_posts.lock().unwrap()
    }

    /// Every request the servers saw: server, method, path.
    pub fn requests(&self) -> Vec<(Server, String, String)> {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| (r.server, r.method.clone(), r.path.clone()))
            .collect()
    }

    /// Every request the servers saw, in order, with its time, query, Basic-auth user and the
    /// status it got.
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.state.requests.lock().unwrap().clone()
    }
}

/// The environment that starts a (dynamically linked, glibc) process with its wall clock
/// `offset_secs` off: an `LD_PRELOAD` shim (`clock_shim.c`, compiled once per test process with
/// the system's C compiler, `$CC` or `cc`) that shifts `clock_gettime(CLOCK_REALTIME)`,
/// `gettimeofday` and `time`. Everything in the process sees the wrong time — its signing
/// time, its log timestamps — as on a machine whose clock is off.
///
/// Panics when the shim cannot be built (a test must fail, not skip).
pub fn skewed_clock(offset_secs: i64) -> Vec<(String, String)> {
    static SHIM: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let shim = SHIM.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary folder").keep();
        let source = dir.join("clock_shim.c");
        std::fs::write(&source, include_str!("clock_shim.c")).expect("write the shim");
        let library = dir.join("clock_shim.so");
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let built = std::process::Command::new(&cc)
            .args(["-shared", "-fPIC", "-O2", "-o"])
            .arg(&library)
            .arg(&source)
            .arg("-ldl")
            .output()
            .unwrap_or_else(|e| panic!("{cc} (to build the clock shim): {e}"));
        assert!(
            built.status.success(),
            "building the clock shim failed:\n{}",
            String::from_utf8_lossy(&built.stderr)
        );
        library
    });
    vec![
        ("LD_PRELOAD".into(), shim.display().to_string()),
        (
            "ARKE_TEST_CLOCK_OFFSET_SECS".into(),
            offset_secs.to_string(),
        ),
    ]
}

/// A rust-s3 bucket client for an endpoint, path-style, region `auto`.
pub fn s3_bucket(endpoint: &str, name: &str, access: &str, secret: &str) -> Box<s3::Bucket> {
    s3::set_retries(0);
    let creds = s3::creds::Credentials::new(Some(access), Some(secret), None, None, None)
        .expect("credentials");
    let region = s3::Region::Custom {
        region: "auto".into(),
        endpoint: endpoint.to_string(),
    };
    s3::Bucket::new(name, region, creds)
        .expect("bucket")
        .with_path_style()
}

async fn serve<F, Fut, B, E>(listener: TcpListener, handler: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<B>, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        // As a real server does: without it, a GET's body (written after its headers) waits
        // for the client's delayed ACK of the headers, about 40 ms on Linux, in every answer
        // that is streamed from a file.
        let _ = socket.set_nodelay(true);
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(handler);
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}

/// The whole request body (empty if the client went away).
async fn read_body(req: Request<Incoming>) -> Bytes {
    req.into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default()
}

fn respond(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", content_type)
        .body(Full::new(body.into()))
        .expect("response")
}

fn json_response(status: u16, v: &Value) -> Response<Full<Bytes>> {
    respond(status, "application/json", v.to_string())
}

fn s3_error(status: u16, code: &str) -> Response<Full<Bytes>> {
    if status == 304 {
        // A 304 has no body (RFC 9110 §15.4.5).
        return respond(304, "application/xml", Bytes::new());
    }
    let xml = format!("<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>injected fault</Message></Error>");
    respond(status, "application/xml", xml)
}

/// `status` with `Retry-After: value`: S3's error document, or JSON.
fn retry_after(server: Server, status: u16, value: &str) -> Response<Full<Bytes>> {
    let mut resp = if server == Server::S3 {
        s3_error(
            status,
            if status == 503 {
                "SlowDown"
            } else {
                "TooManyRequests"
            },
        )
    } else {
        json_response(status, &json!({"success": false, "error": "slow down"}))
    };
    if let Ok(v) = hyper::header::HeaderValue::from_str(value) {
        resp.headers_mut().insert("retry-after", v);
    }
    resp
}

/// The answer a fault gives (the request body has been read, as a real server would). The
/// faults that need the real answer (`CutBody`, `NoLength`, `NoEtag`, `Delay`, …) or no answer
/// (`LoseAnswer`) are handled by the servers they apply to; anywhere else they are a 500 saying
/// so. `RetryAfter` is the servers' too (S3 answers XML, the others JSON).
async fn apply(action: Action) -> Response<Full<Bytes>> {
    match action {
        Action::Status(s) => s3_error(s, &format!("Injected{s}")),
        Action::S3Error(s, code) => s3_error(s, &code),
        Action::Json(s, v) => json_response(s, &v),
        Action::Hang(d) => {
            tokio::time::sleep(d).await;
            respond(504, "text/plain", "hung")
        }
        Action::Redirect(s, location) => Response::builder()
            .status(StatusCode::from_u16(s).unwrap_or(StatusCode::FOUND))
            .header("location", location)
            .header("content-type", "text/plain")
            .body(Full::new(Bytes::from_static(b"moved")))
            .expect("response"),
        Action::ErrorIn2xx(code) => s3_error(200, &code),
        Action::Empty(status) => respond(status, "application/xml", Bytes::new()),
        other => respond(
            500,
            "text/plain",
            format!("fault {other:?} does not apply to this server"),
        ),
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response body sent as these frames, then (optionally) an error that makes hyper close
/// the connection mid-body — after a pause, so that the headers and the frames already sent
/// have left hyper's buffers: the client sees a clean close part-way through the body. Its
/// length is unknown in advance, so hyper never adds a `Content-Length` of its own.
struct Frames {
    chunks: std::collections::VecDeque<Bytes>,
    close_after: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl hyper::body::Body for Frames {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, BoxError>>> {
        use std::task::Poll;
        if let Some(chunk) = self.chunks.pop_front() {
            return Poll::Ready(Some(Ok(hyper::body::Frame::data(chunk))));
        }
        if let Some(pause) = self.close_after.as_mut() {
            if pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.close_after = None;
            return Poll::Ready(Some(Err("injected: connection closed mid-body".into())));
        }
        Poll::Ready(None)
    }
}

/// `bytes` as 64 KiB frames; with `close`, the connection is closed after them.
fn frames(bytes: Bytes, close: bool) -> Frames {
    let chunks = (0..bytes.len())
        .step_by(64 * 1024)
        .map(|i| bytes.slice(i..(i + 64 * 1024).min(bytes.len())))
        .collect();
    Frames {
        chunks,
        close_after: close.then(|| Box::pin(tokio::time::sleep(Duration::from_millis(100)))),
    }
}

type S3Body = http_body_util::combinators::BoxBody<Bytes, BoxError>;

/// s3s failed to handle a request at all: a 500 saying why.
fn s3s_failure(e: impl std::fmt::Debug) -> Response<S3Body> {
    Response::builder()
        .status(500)
        .body(boxed(Full::new(Bytes::from(format!("{e:?}")))))
        .expect("response")
}

fn boxed<B>(body: B) -> S3Body
where
    B: hyper::body::Body<Data = Bytes> + Send + Sync + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(Into::into).boxed()
}

/// Whether a fault needs the real answer (or the request carried out), which its server makes.
fn needs_real_answer(action: &Action) -> bool {
    matches!(
        action,
        Action::CutBody(_)
            | Action::NoLength
            | Action::CorruptBody
            | Action::SizeSays(_)
            | Action::NoEtag
            | Action::HeaderSays(..)
            | Action::Delay(_)
            | Action::LoseAnswer
    )
}

async fn s3_handler(
    st: Arc<State>,
    svc: s3s::service::S3Service,
    req: Request<Incoming>,
) -> Result<Response<S3Body>, BoxError> {
    let (method, path) = (req.method().to_string(), req.uri().path().to_string());
    let fault = st.fault_for(Server::S3, &method, &path);
    if let Some(action) = fault.clone().filter(|a| !needs_real_answer(a)) {
        read_body(req).await;
        return Ok(match action {
            Action::RetryAfter(status, value) => retry_after(Server::S3, status, &value),
            other => apply(other).await,
        }
        .map(boxed));
    }
    if let Some(Action::Delay(pause)) = fault {
        // The whole request first, as a slow server would take it.
        let (parts, body) = req.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        tokio::time::sleep(pause).await;
        let req = Request::from_parts(parts, s3s::Body::from(bytes));
        return Ok(match svc.call(req).await {
            Ok(resp) => resp.map(boxed),
            Err(e) => s3s_failure(e),
        });
    }
    let req = req.map(s3s::Body::from);
    let resp = match svc.call(req).await {
        Ok(resp) => resp,
        Err(e) => return Ok(s3s_failure(e)),
    };
    let (mut parts, body) = resp.into_parts();
    match fault {
        Some(Action::LoseAnswer) => {
            // Carried out (stored), then the connection is closed without an answer.
            let _ = body.collect().await;
            Err("injected: answer lost".into())
        }
        Some(Action::NoEtag) => {
            parts.headers.remove("etag");
            Ok(Response::from_parts(parts, boxed(body)))
        }
        Some(Action::HeaderSays(name, value)) => {
            if let (Ok(k), Ok(v)) = (
                hyper::header::HeaderName::from_bytes(name.as_bytes()),
                hyper::header::HeaderValue::from_str(&value),
            ) {
                parts.headers.insert(k, v);
            }
            Ok(Response::from_parts(parts, boxed(body)))
        }
        Some(Action::CutBody(at)) => {
            let bytes = body
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            let cut = bytes.slice(..at.min(bytes.len()));
            Ok(Response::from_parts(parts, boxed(frames(cut, true))))
        }
        Some(Action::NoLength) => {
            parts.headers.remove("content-length");
            if method == "HEAD" {
                // hyper writes no length for a HEAD answer without one; there is no body.
                return Ok(Response::from_parts(parts, boxed(Full::new(Bytes::new()))));
            }
            let bytes = body
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            Ok(Response::from_parts(parts, boxed(frames(bytes, false))))
        }
        Some(Action::CorruptBody) => {
            let mut bytes = body
                .collect()
                .await
                .map(|c| c.to_bytes().to_vec())
                .unwrap_or_default();
            let middle = bytes.len() / 2;
            if let Some(b) = bytes.get_mut(middle) {
                *b ^= 0x01;
            }
            Ok(Response::from_parts(
                parts,
                boxed(Full::new(Bytes::from(bytes))),
            ))
        }
        Some(Action::SizeSays(size)) if method == "HEAD" => {
            parts
                .headers
                .insert("content-length", hyper::header::HeaderValue::from(size));
            Ok(Response::from_parts(parts, boxed(Full::new(Bytes::new()))))
        }
        _ => Ok(Response::from_parts(parts, boxed(body))),
    }
}

async fn cdn_handler(
    st: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, BoxError> {
    let (method, path, query) = (
        req.method().to_string(),
        req.uri().path().to_string(),
        req.uri().query().unwrap_or("").to_string(),
    );
    if method == "POST" {
        *st.cdn_posts.lock().unwrap() += 1;
    }
    let fault = st.fault_for(Server::Cdn, &method, &path);
    match fault.clone() {
        Some(Action::Delay(pause)) => tokio::time::sleep(pause).await,
        Some(Action::LoseAnswer) => {}
        Some(Action::RetryAfter(status, value)) => {
            read_body(req).await;
            return Ok(retry_after(Server::Cdn, status, &value));
        }
        Some(action) => {
            read_body(req).await;
            return Ok(apply(action).await);
        }
        None => {}
    }
    let answer = cdn_answer(&st, &method, &path, &query, req).await;
    if matches!(fault, Some(Action::LoseAnswer)) {
        // Stored, then the connection is closed without an answer.
        return Err("injected: answer lost".into());
    }
    Ok(answer)
}

/// The CDN stand-in's own answer: SPEC.md Step 4's POST, and the public GET of a variant.
async fn cdn_answer(
    st: &State,
    method: &str,
    path: &str,
    query: &str,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let Some(id) = path
        .strip_prefix("/asset/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
    else {
        return json_response(404, &json!({"success": false, "error": "not found"}));
    };
    let id = id.to_string();
    match method {
        "POST" => {
            let body = read_body(req).await;
            cdn_register(st, &id, &body)
        }
        "GET" => {
            let size = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("size="))
                .unwrap_or("original")
                .to_string();
            let assets = st.assets.lock().unwrap();
            let found = assets
                .get(&id)
                .and_then(|a| a.variants.iter().find(|v| v.name == size).cloned());
            match found {
                Some(v) => respond(200, &v.content_type, v.data),
                None => json_response(
                    404,
                    &json!({"success": false, "error": "no such asset or size"}),
                ),
            }
        }
        _ => json_response(
            405,
            &json!({"success": false, "error": "method not allowed"}),
        ),
    }
}

/// SPEC.md Step 4, checked strictly: a worker that sends anything else gets a 400 that says why.
fn cdn_register(st: &State, id: &str, body: &[u8]) -> Response<Full<Bytes>> {
    let bad = |why: String| json_response(400, &json!({"success": false, "error": why}));
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return bad("body is not JSON".into());
    };
    let str_field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(filename), Some(ctype)) = (
        str_field("original_filename"),
        str_field("original_content_type"),
    ) else {
        return bad("original_filename and original_content_type must be strings".into());
    };
    let _ = (filename, ctype);
    if v.get("ipfs_cid").is_some_and(|c| !c.is_string()) {
        return bad("ipfs_cid must be a string when present".into());
    }
    let Some(list) = v.get("variants").and_then(Value::as_array) else {
        return bad("variants must be an array".into());
    };
    let mut variants = Vec::new();
    for item in list {
        let (Some(name), Some(data), Some(content_type), Some(size)) = (
            item.get("name").and_then(Value::as_str),
            item.get("data").and_then(Value::as_str),
            item.get("content_type").and_then(Value::as_str),
            item.get("size").and_then(Value::as_u64),
        ) else {
            return bad("each variant needs name, data, content_type, size".into());
        };
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data) else {
            return bad(format!("variant {name}: data is not base64"));
        };
        if bytes.len() as u64 != size {
            return bad(format!(
                "variant {name}: size {size} but data has {} bytes",
                bytes.len()
            ));
        }
        if variants.iter().any(|v: &StoredVariant| v.name == name) {
            return bad(format!("variant {name} twice"));
        }
        variants.push(StoredVariant {
            name: name.to_string(),
            content_type: content_type.to_string(),
            data: bytes,
        });
    }
    let mut request = v.clone();
    if let Some(list) = request.get_mut("variants").and_then(Value::as_array_mut) {
        for item in list {
            if let Some(o) = item.as_object_mut() {
                o.remove("data");
            }
        }
    }
    let public = st.cdn_public.lock().unwrap().clone();
    let mut assets = st.assets.lock().unwrap();
    if assets.contains_key(id) {
        return json_response(
            409,
            &json!({"success": false, "error": "asset ID already exists"}),
        );
    }
    let urls: serde_json::Map<String, Value> = variants
        .iter()
        .map(|v| {
            (
                v.name.clone(),
                Value::String(format!("{public}/asset/{id}?size={}", v.name)),
            )
        })
        .collect();
    assets.insert(
        id.to_string(),
        Asset {
            id: id.to_string(),
            variants,
            request,
        },
    );
    json_response(
        200,
        &json!({
            "success": true,
            "assetId": id,
            "cdnUrl": format!("{public}/asset/{id}"),
            "variants": urls,
        }),
    )
}

async fn orchestrator_handler(
    st: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, BoxError> {
    let (method, path) = (req.method().to_string(), req.uri().path().to_string());
    let fault = st.fault_for(Server::Callback, &method, &path);
    match fault.clone() {
        Some(Action::Delay(pause)) => tokio::time::sleep(pause).await,
        Some(Action::LoseAnswer) | None => {}
        Some(Action::RetryAfter(status, value)) => {
            read_body(req).await;
            return Ok(retry_after(Server::Callback, status, &value));
        }
        Some(action) => {
            read_body(req).await;
            return Ok(apply(action).await);
        }
    }
    if method != "POST" {
        return Ok(json_response(405, &json!({"ok": false})));
    }
    let idempotency_key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let raw = read_body(req).await;
    let body = serde_json::from_slice(&raw)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&raw).into_owned()));
    st.callbacks.lock().unwrap().push(Callback {
        path,
        body,
        raw: raw.to_vec(),
        idempotency_key,
    });
    if matches!(fault, Some(Action::LoseAnswer)) {
        // Taken, recorded, and then the answer is lost: hyper closes the connection.
        return Err("injected: answer lost".into());
    }
    Ok(json_response(200, &json!({"ok": true})))
}
