//! The CDN client: the upload under a fresh asset ID, retried with the same ID and body, and
//! the idempotency check a 409 on such a retry needs (PRODUCT.md "Network behaviour":
//! idempotent CDN upload). The asset this run stored, or may have stored, is kept in the run's
//! [`Control`] for an error callback to name (`cdn_asset_id`).

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::{Body, Streamed};
use crate::control::Control;
use crate::log;
use crate::net::{self, retry, Failure};
use crate::urls::{self, Url};

/// What the CDN answered, with the URLs filled in where it left them out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    pub asset_id: String,
    pub cdn_url: String,
    /// Variant name → URL, in the order of the upload.
    pub variant_urls: Vec<(String, String)>,
    /// What a person should know about the upload (for the callback's `warnings`): an asset
    /// ID whose 409 could not be checked, which may also hold these variants.
    pub warnings: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Response {
    success: Option<bool>,
    #[serde(rename = "cdnUrl")]
    cdn_url: Option<String>,
    variants: Option<serde_json::Map<String, Value>>,
    error: Option<Value>,
    message: Option<Value>,
}

/// How many fresh IDs to try when the CDN keeps answering 409.
const MAX_ID_COLLISIONS: u32 = 5;

/// Per-request timeout of the idempotency check's GET (one small variant).
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// The CDN's answer to the POSTs of one asset ID.
enum Posted {
    Stored(Response),
    /// The ID is taken (409). With `after_failure`, an earlier attempt with this ID failed
    /// in a way that may have stored the asset (its answer lost, a timeout, a 5xx), so the
    /// 409 may be our own.
    Taken {
        after_failure: bool,
    },
}

/// The CDN client.
pub struct Cdn {
    agent: ureq::Agent,
    /// For the idempotency check's GET: redirects followed (a GET stays a GET).
    reader: ureq::Agent,
    api_url: Url,
    /// `CDN_PUBLIC_URL` as configured, credentials included: where the check reads.
    public_url: Url,
    /// `CDN_PUBLIC_URL` without its credentials: the base of the URLs the worker publishes
    /// when the CDN leaves them out ([`urls::without_credentials`]).
    public_base: String,
    control: Arc<Control>,
}

impl Cdn {
    /// A client for `api_url` (POSTs) and `public_url` (reads), each POST attempt limited to
    /// `timeout`; nothing starts once `control` says the run is stopped.
    pub fn new(api_url: &Url, public_url: &Url, timeout: Duration, control: Arc<Control>) -> Cdn {
        Cdn {
            agent: net::agent(timeout),
            reader: net::reading_agent(CHECK_TIMEOUT),
            api_url: api_url.clone(),
            public_url: public_url.clone(),
            public_base: urls::without_credentials(public_url.expose()),
            control,
        }
    }

    /// POSTs `body` under a new asset ID from `new_id`. A 409 means the ID is taken: on the
    /// first attempt with an ID, by someone else (a new ID is taken); on a retry after an
    /// attempt that may have stored the asset, possibly by us — then the smallest variant is
    /// read back from `{CDN_PUBLIC_URL}/asset/{id}?size=NAME` and, when it is ours, the upload
    /// is done under that ID ([`Cdn::holds_ours`]).
    ///
    /// Errors: the CDN refused or failed (after retries), answered `success: false`, or kept
    /// answering 409.
    pub fn upload(
        &self,
        body: &Body<'_>,
        mut new_id: impl FnMut() -> String,
    ) -> Result<Uploaded, String> {
        let json = body.streamed()?;
        log::info(
            "cdn_upload",
            "request body streamed as it is sent",
            &[("bytes", serde_json::json!(net::Replayable::size(&json)))],
        );
        let names: Vec<&str> = body.variants.iter().map(|v| v.name).collect();
        let smallest = body.variants.iter().min_by_key(|v| v.data.len());
        let mut warnings = Vec::new();
        for _ in 0..MAX_ID_COLLISIONS {
            let id = new_id();
            match self.post(&id, &json).map_err(|f| f.message)? {
                Posted::Stored(resp) => {
                    let mut uploaded = self.read_response(&id, resp, &names)?;
                    uploaded.warnings = warnings;
                    return Ok(uploaded);
                }
                Posted::Taken {
                    after_failure: false,
                } => log::warn(
                    "cdn_upload",
                    &format!("asset ID {id} is taken (409); trying a new one"),
                    &[],
                ),
                Posted::Taken {
                    after_failure: true,
                } => match smallest.map(|v| self.holds_ours(&id, v.name, v.data)) {
                    Some(Ok(true)) => {
                        log::info(
                            "cdn_upload",
                            &format!(
                                "asset {id}: the 409 is our own earlier attempt, whose answer \
                                 was lost (its variants are ours); done under that ID"
                            ),
                            &[],
                        );
                        self.control.set_asset(Some(&id));
                        let mut uploaded = self.published(&id, None, &names);
                        uploaded.warnings = warnings;
                        return Ok(uploaded);
                    }
                    Some(Ok(false)) | None => log::warn(
                        "cdn_upload",
                        &format!("asset ID {id} is taken (409) by other content; trying a new one"),
                        &[],
                    ),
                    Some(Err(f)) => {
                        let w = format!(
                            "asset {id} answered 409 after an attempt whose answer was lost, and \
                             could not be checked ({}); it may also hold these variants",
                            f.message
                        );
                        log::warn("cdn_upload", &format!("{w}; trying a new ID"), &[]);
                        warnings.push(w);
                    }
                },
            }
            self.control.set_asset(None);
        }
        Err(format!(
            "409 asset ID taken {MAX_ID_COLLISIONS} times in a row"
        ))
    }

    /// The POSTs of one asset ID: retried with the same ID and body on transient failures;
    /// 307/308 followed with the same body, 301/302/303 refused ([`net::post`]). The ID is
    /// the run's asset from the first attempt on, and stays so unless the CDN's answers show
    /// nothing was stored.
    fn post(&self, id: &str, json: &Streamed<'_>) -> Result<Posted, Failure> {
        let url = self.api_url.join(&format!("/asset/{id}"), None);
        self.control.set_asset(Some(id));
        let mut may_be_stored = false;
        let posted = retry("cdn_upload", &format!("POST {url}"), &self.control, || {
            let answer = net::post(
                &self.agent,
                url.expose(),
                &[("content-type", "application/json")],
                json,
                &self.control,
            )
            .inspect_err(|f| may_be_stored |= f.transient)?;
            let (status, text) = (answer.status, answer.body);
            if status == 409 {
                return Ok(Posted::Taken {
                    after_failure: may_be_stored,
                });
            }
            if !(200..300).contains(&status) {
                let f = Failure::from_answer(
                    status,
                    format!("{status} {}", short(&text)),
                    answer.retry_after,
                );
                may_be_stored |= f.transient;
                return Err(f);
            }
            serde_json::from_str::<Response>(&text)
                .map(Posted::Stored)
                .map_err(|e| {
                    Failure::permanent(format!(
                        "{status} unreadable response ({e}): {}",
                        short(&text)
                    ))
                })
        });
        let stored_nothing = match &posted {
            Ok(Posted::Taken { .. }) => true,
            Ok(Posted::Stored(resp)) => resp.success == Some(false),
            Err(_) => !may_be_stored,
        };
        if stored_nothing {
            self.control.set_asset(None);
        }
        posted
    }

    /// Whether asset `id` holds our variant `name` (its bytes `ours`): a GET of
    /// `{CDN_PUBLIC_URL}/asset/{id}?size=NAME` compared byte for byte (never more than one
    /// byte past ours is read). 404: no.
    ///
    /// Errors: the CDN could not be asked (after retries), or answered something else.
    fn holds_ours(&self, id: &str, name: &str, ours: &[u8]) -> Result<bool, Failure> {
        let url = self
            .public_url
            .join(&format!("/asset/{id}"), Some(&format!("size={name}")));
        retry("cdn_upload", &format!("GET {url}"), &self.control, || {
            let resp = self
                .reader
                .get(url.expose())
                .call()
                .map_err(|e| net::transport(&e, url.expose()))?;
            let status = resp.status().as_u16();
            match status {
                200..=299 => {
                    let mut stored = Vec::with_capacity(ours.len());
                    resp.into_body()
                        .into_reader()
                        .take(ours.len() as u64 + 1)
                        .read_to_end(&mut stored)
                        .map_err(|e| {
                            Failure::transient(format!(
                                "reading the variant: {}",
                                net::io_words(&e)
                            ))
                        })?;
                    Ok(stored == ours)
                }
                404 | 410 => Ok(false),
                s => Err(Failure::from_status(s, format!("HTTP {s}"))),
            }
        })
    }

    fn read_response(&self, id: &str, resp: Response, names: &[&str]) -> Result<Uploaded, String> {
        if resp.success == Some(false) {
            let why = resp
                .error
                .or(resp.message)
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .unwrap_or_else(|| "no reason given".into());
            return Err(format!("CDN answered success=false: {why}"));
        }
        Ok(self.published(id, Some(resp), names))
    }

    /// The asset's URLs: the CDN's `cdnUrl` and variant URLs where it gave them, else
    /// `{CDN_PUBLIC_URL}/asset/{id}` (`?size=NAME`), credentials left out.
    fn published(&self, id: &str, resp: Option<Response>, names: &[&str]) -> Uploaded {
        let (cdn_url, from_cdn) = match resp {
            Some(r) => (r.cdn_url, r.variants.unwrap_or_default()),
            None => (None, serde_json::Map::new()),
        };
        let cdn_url = cdn_url
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| format!("{}/asset/{id}", self.public_base));
        let variant_urls = names
            .iter()
            .map(|name| {
                let url = from_cdn
                    .get(*name)
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{}/asset/{id}?size={name}", self.public_base));
                (name.to_string(), url)
            })
            .collect();
        Uploaded {
            asset_id: id.to_string(),
            cdn_url,
            variant_urls,
            warnings: Vec::new(),
        }
    }
}

/// The first 300 characters of a response body, for an error message.
fn short(text: &str) -> String {
    let t: String = text.trim().chars().take(300).collect();
    if t.is_empty() {
        "(empty body)".into()
    } else {
        t
    }
}
