//! URLs as the worker holds, shows and builds them.
//!
//! PRODUCT.md "Environment": the userinfo and the query string of every URL (`CALLBACK_URL`,
//! `CDN_API_URL`, `CDN_PUBLIC_URL`, `R2_ENDPOINT`) are secrets — webhooks commonly carry a
//! password or a token there. Wherever a URL is printed, logged or sent it goes through
//! [`redact`], the one function that hides them: `https://user:***@host:port/path?***`. The
//! configured URLs are held as [`Url`], whose `Display` and `Debug` are that redacted form.
//!
//! Also here: joining a base URL and a path (before the base's query, which stays with the
//! request), resolving a redirect's `Location`, and the `scheme://host:port` an error may name.

use std::fmt;

/// A configured URL. `Display` and `Debug` show it redacted ([`redact`]); [`Url::expose`] gives
/// the value itself, for the request that needs it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Url(String);

impl Url {
    pub fn new(value: impl Into<String>) -> Url {
        Url(value.into())
    }

    /// The URL as given, credentials and query included: for sending requests only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `path` (starting with `/`) appended to this URL's path, before its query
    /// ([`join`]).
    pub fn join(&self, path: &str, query: Option<&str>) -> Url {
        Url(join(&self.0, path, query))
    }

    /// The values of this URL that no output may show ([`secrets`]).
    pub fn secrets(&self) -> Vec<String> {
        secrets(&self.0)
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", redact(&self.0))
    }
}

/// A URL string cut into its parts without judging it: a malformed value (`htps:/user:pw@h`)
/// is cut too, so that whatever it holds can still be hidden. The userinfo ends at the last
/// `@` before the query — for a valid URL the authority's, and for a password holding a `/`
/// or a path holding an `@` more than the userinfo (hidden too much rather than too little).
struct Parts<'a> {
    /// `https://` and the like, with its `://`; empty when there is none.
    scheme: &'a str,
    userinfo: Option<&'a str>,
    /// Host, port and path.
    rest: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

fn parts(url: &str) -> Parts<'_> {
    let (url, fragment) = match url.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (url, None),
    };
    let (url, query) = match url.split_once('?') {
        Some((u, q)) => (u, Some(q)),
        None => (url, None),
    };
    let (scheme, url) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let (userinfo, rest) = match url.rfind('@') {
        Some(i) => (Some(&url[..i]), &url[i + 1..]),
        None => (None, url),
    };
    Parts {
        scheme,
        userinfo,
        rest,
        query,
        fragment,
    }
}

/// `url` as it may be shown (PRODUCT.md "Environment"): the password of its userinfo (or the
/// whole userinfo when it has no `:`, a token on its own), its query string and its fragment
/// replaced by `***` — `https://user:***@host:port/path?***`. Scheme, user name, host, port
/// and path stay, so a person can tell which endpoint it was.
pub fn redact(url: &str) -> String {
    let p = parts(url);
    let mut out = String::from(p.scheme);
    if let Some(userinfo) = p.userinfo {
        match userinfo.split_once(':') {
            Some((user, _)) if !user.contains('/') => {
                out.push_str(user);
                out.push_str(":***@");
            }
            _ => out.push_str("***@"),
        }
    }
    out.push_str(p.rest);
    if let Some(q) = p.query {
        out.push_str(if q.is_empty() { "?" } else { "?***" });
    }
    if p.fragment.is_some_and(|f| !f.is_empty()) {
        out.push_str("#***");
    }
    out
}

/// `text` with every URL in it ([`redact`]ed): whatever a message quotes — a dependency's
/// error, a panic — shows no URL's credentials. A URL is taken from its scheme (`https://`) to
/// the next space, quote or angle bracket, less the punctuation that ends a sentence or a
/// clause (`:` `;` `,` `.` `)`), which stays as it was.
pub fn redact_all(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let start = rest[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
            .map_or(0, |i| i + 1);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || "\"'<>`".contains(c))
            .map_or(rest.len(), |i| at + i);
        let end = at
            + rest[at..end]
                .trim_end_matches([':', ';', ',', '.', ')'])
                .len();
        out.push_str(&rest[..start]);
        out.push_str(&redact(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The values a URL holds that must never be shown, for the redaction every output passes
/// through ([`crate::log::redact`]), in case one turns up outside a URL: the userinfo's secret
/// part, the whole query string and its longer values (8 characters and up: shorter ones such
/// as `json` or `true` would hide ordinary words), and the fragment.
pub fn secrets(url: &str) -> Vec<String> {
    let p = parts(url);
    let mut out = Vec::new();
    if let Some(userinfo) = p.userinfo {
        match userinfo.split_once(':') {
            Some((user, password)) if !user.contains('/') => out.push(password.to_string()),
            _ => out.push(userinfo.to_string()),
        }
    }
    if let Some(q) = p.query {
        out.push(q.to_string());
        out.extend(
            q.split('&')
                .filter_map(|kv| kv.split_once('=').map(|(_, v)| v))
                .filter(|v| v.len() >= 8)
                .map(str::to_string),
        );
    }
    out.extend(p.fragment.map(str::to_string));
    out.retain(|s| !s.is_empty());
    out
}

/// `base` with `path` (starting with `/`) appended to its path and `query` (`k=v`, already
/// encoded) added to its query: SPEC.md's `${CDN_API_URL}/asset/${assetId}`, where a token in
/// the base's query string stays a query parameter instead of swallowing the path
/// (`https://cdn/api?token=T` + `/asset/A` → `https://cdn/api/asset/A?token=T`). A trailing `/`
/// of the base's path is dropped; its fragment too (never sent).
pub fn join(base: &str, path: &str, query: Option<&str>) -> String {
    let base = base.split_once('#').map_or(base, |(b, _)| b);
    let (before, base_query) = match base.split_once('?') {
        Some((b, q)) => (b, Some(q).filter(|q| !q.is_empty())),
        None => (base, None),
    };
    let mut out = format!("{}{path}", before.trim_end_matches('/'));
    let queries: Vec<&str> = base_query.into_iter().chain(query).collect();
    if !queries.is_empty() {
        out.push('?');
        out.push_str(&queries.join("&"));
    }
    out
}

/// `url` without userinfo, query or fragment: the form of a configured URL that may go into
/// what the worker publishes (the ref.json `url` it composes from `CDN_PUBLIC_URL` when the CDN
/// leaves URLs out), since the credentials it carries are the worker's own.
pub fn without_credentials(url: &str) -> String {
    let p = parts(url);
    format!("{}{}", p.scheme, p.rest)
}

/// `scheme://host:port` of a URL, the port written out (80/443 by default), without any user
/// information, path or query: what an error message may say about where a request went.
pub fn endpoint(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let has_port = match host_port.rfind(':') {
        Some(i) => !host_port[i..].contains(']'),
        None => false,
    };
    if has_port {
        format!("{scheme}://{host_port}")
    } else {
        let port = if scheme.eq_ignore_ascii_case("https") {
            443
        } else {
            80
        };
        format!("{scheme}://{host_port}:{port}")
    }
}

/// `location` resolved against `base` (RFC 9110 §10.2.2 allows a relative reference):
/// absolute URLs as they are, `//host/…` with `base`'s scheme, `/path` on `base`'s origin,
/// anything else relative to `base`'s directory.
pub fn resolve(base: &str, location: &str) -> String {
    let scheme_of = |url: &str| {
        url.split_once("://")
            .map(|(s, _)| s.to_ascii_lowercase())
            .filter(|s| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            })
    };
    // A `://` later in a query (`/r?u=http://x`) does not make a URL absolute.
    if scheme_of(location).is_some() {
        return location.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    if let Some(net_path) = location.strip_prefix("//") {
        return format!("{scheme}://{net_path}");
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let origin = format!("{scheme}://{}", &rest[..authority_end]);
    if location.starts_with('/') {
        return format!("{origin}{location}");
    }
    let path = &rest[authority_end..];
    let path = &path[..path.find(['?', '#']).unwrap_or(path.len())];
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let dir = if dir.is_empty() { "/" } else { dir };
    format!("{origin}{dir}{location}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_password_query_and_fragment_only() {
        let cases = [
            (
                "https://user:pa55word@host:8443/path/cb?token=T0K3N&x=1",
                "https://user:***@host:8443/path/cb?***",
            ),
            ("https://host/p", "https://host/p"),
            ("http://[::1]:9000", "http://[::1]:9000"),
            // A user name alone is often a token.
            ("https://ghp_abcdef@host/hook", "https://***@host/hook"),
            ("https://u:p@ss@host/x", "https://u:***@host/x"),
            // A password holding an unencoded `/`: more is hidden, never less.
            ("https://user:pa/ss@host/x", "https://user:***@host/x"),
            ("https://host/cb?", "https://host/cb?"),
            ("https://host/cb#frag", "https://host/cb#***"),
            // Malformed: still nothing shown.
            ("htps:/user:secret@host?k=v", "htps:***@host?***"),
            ("user:secret@host", "user:***@host"),
            ("", ""),
        ];
        for (url, want) in cases {
            assert_eq!(redact(url), want, "{url}");
        }
    }

    #[test]
    fn every_url_in_a_text_is_redacted() {
        assert_eq!(
            redact_all(
                "POST https://u:pw@h/cb?t=1 failed: redirect to \"http://x/y?sig=2\" (see \
                 http://z/a?k=3)"
            ),
            "POST https://u:***@h/cb?*** failed: redirect to \"http://x/y?***\" (see \
             http://z/a?***)"
        );
        let plain = "cannot reach http://127.0.0.1:9000: connection refused; key a?b#c.jpg";
        assert_eq!(redact_all(plain), plain);
        assert_eq!(redact_all("://odd"), "://odd");
        assert_eq!(
            redact_all("redirect to https://e/x?sig=1: not followed; to http://h/?t=2."),
            "redirect to https://e/x?***: not followed; to http://h/?***."
        );
    }

    #[test]
    fn secrets_are_the_hidden_values() {
        assert_eq!(
            secrets("https://user:pa55word@host/cb?token=T0K3N-LONG&x=1#f"),
            ["pa55word", "token=T0K3N-LONG&x=1", "T0K3N-LONG", "f"]
        );
        assert_eq!(secrets("https://tok3n@host/"), ["tok3n"]);
        assert!(secrets("https://host/p").is_empty());
    }

    #[test]
    fn url_shows_itself_redacted() {
        let u = Url::new("https://u:pw@h/p?t=1");
        assert_eq!(u.to_string(), "https://u:***@h/p?***");
        assert_eq!(format!("{u:?}"), "\"https://u:***@h/p?***\"");
        assert_eq!(u.expose(), "https://u:pw@h/p?t=1");
    }

    #[test]
    fn join_puts_the_path_before_the_query() {
        assert_eq!(join("https://cdn", "/asset/A", None), "https://cdn/asset/A");
        assert_eq!(
            join("https://cdn/api/", "/asset/A", Some("size=thumb")),
            "https://cdn/api/asset/A?size=thumb"
        );
        assert_eq!(
            join(
                "https://u:p@cdn/api?token=T#x",
                "/asset/A",
                Some("size=thumb")
            ),
            "https://u:p@cdn/api/asset/A?token=T&size=thumb"
        );
        assert_eq!(
            join("https://cdn/?token=T", "/asset/A", None),
            "https://cdn/asset/A?token=T"
        );
    }

    #[test]
    fn credentials_are_left_out_of_published_urls() {
        assert_eq!(
            without_credentials("https://u:p@cdn.example:8443/pub?token=T#x"),
            "https://cdn.example:8443/pub"
        );
        assert_eq!(without_credentials("https://cdn"), "https://cdn");
    }

    #[test]
    fn endpoints_name_scheme_host_and_port_only() {
        assert_eq!(
            endpoint("http://127.0.0.1:9000/b/k?X-Amz-Signature=s"),
            "http://127.0.0.1:9000"
        );
        assert_eq!(
            endpoint("https://acc.r2.cloudflarestorage.com"),
            "https://acc.r2.cloudflarestorage.com:443"
        );
        assert_eq!(endpoint("http://user:pw@host/x"), "http://host:80");
        assert_eq!(endpoint("http://[::1]:8080/x"), "http://[::1]:8080");
        assert_eq!(endpoint("http://[::1]/x"), "http://[::1]:80");
    }

    #[test]
    fn redirect_locations_resolve() {
        let base = "http://h:1/callback/b/t?x=1";
        assert_eq!(resolve(base, "https://o/p"), "https://o/p");
        assert_eq!(resolve(base, "//o2/p"), "http://o2/p");
        assert_eq!(resolve(base, "/v2/cb"), "http://h:1/v2/cb");
        assert_eq!(resolve(base, "t2"), "http://h:1/callback/b/t2");
        assert_eq!(resolve("http://h", "a"), "http://h/a");
        assert_eq!(resolve(base, "/r?u=http://x"), "http://h:1/r?u=http://x");
        assert_eq!(resolve(base, "HTTPS://o/p"), "HTTPS://o/p");
    }
}
