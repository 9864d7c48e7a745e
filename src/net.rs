//! Where requests may go and how they get there: what counts as this
//! machine's loopback (the only place plain `http://` may go), which proxy
//! carries requests to an `https://` tenant, and how a URL is shown without
//! the credentials it may carry.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use reqwest::Url;

/// Bodies longer than this are cut; no answer the tool reads is near it.
pub const BODY_CAP: usize = 64 * 1024;

/// An answer's body read to at most [`BODY_CAP`] bytes.
pub struct Capped {
    pub text: String,
    /// Whether the body went on past the cap (the rest was never read).
    pub cut: bool,
}

/// Reads `response`'s body up to [`BODY_CAP`], so a hostile or broken
/// server cannot make the tool hold more: the one way every answer is read.
pub async fn read_capped(mut response: reqwest::Response) -> Result<Capped, reqwest::Error> {
    let mut body = Vec::new();
    let mut cut = false;
    while let Some(chunk) = response.chunk().await? {
        let room = BODY_CAP - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            cut = true;
            break;
        }
        body.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    Ok(Capped { text, cut })
}

/// Whether `host` (as found in a URL: a name, an IPv4 address, or an IPv6
/// address with or without brackets) is this machine's loopback: an address
/// in 127.0.0.0/8, `::1`, or the name `localhost` exactly. `localhost.` and
/// `*.localhost` are not: a resolver may send them anywhere. A `localhost`
/// tenant is reached at 127.0.0.1 without asking a resolver (see
/// [`pin_localhost`]).
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => a.is_loopback(),
        Ok(IpAddr::V6(a)) => a.is_loopback(),
        Err(_) => false,
    }
}

/// Makes `builder` connect to 127.0.0.1 for a `localhost` URL, so the name
/// never reaches a resolver (whose answer could point off this machine).
pub fn pin_localhost(builder: reqwest::ClientBuilder, base: &Url) -> reqwest::ClientBuilder {
    match base.host_str() {
        // Port 0: the port in the URL is used.
        Some(host) if host.eq_ignore_ascii_case("localhost") => {
            builder.resolve(host, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        }
        _ => builder,
    }
}

/// `text` with the user name and password of every URL-like value in it
/// replaced by `***`: the one redaction for every message, command line and
/// file that may show a URL. It reads `scheme://user:pw@host` and also the
/// scheme-less `user:pw@host:port` that `--proxy` and `HTTPS_PROXY` accept,
/// whether the value parses or not, and finds them inside longer text. An
/// e-mail address (`alice@example.com`, no `:` before the `@`) is kept.
pub fn redact_url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let (before, after) = rest.split_at(at);
        // The word the `@` ends: back to a space, quote or `=`.
        let word_start = before
            .rfind(|c: char| c.is_whitespace() || "\"'=<>(),;`".contains(c))
            .map_or(0, |i| {
                i + before[i..].chars().next().map_or(1, char::len_utf8)
            });
        let word = &before[word_start..];
        let userinfo_start = match word.rfind("://") {
            Some(i) => Some(word_start + i + 3),
            // Scheme-less: `user:password@host`.
            None if word.contains(':') => Some(word_start),
            None => None,
        };
        match userinfo_start {
            // A `/` between the scheme and the `@` is a path, not userinfo.
            Some(from) if !before[from..].contains('/') && from < at => {
                out.push_str(&before[..from]);
                out.push_str("***");
            }
            _ => out.push_str(before),
        }
        out.push('@');
        rest = &after[1..];
    }
    out.push_str(rest);
    out
}

/// Accepts a tenant root or a URL ending in `/AdminInterface/...` (the
/// REST URL, with or without `/v1`) and returns the root, checked by
/// [`checked_url`].
pub fn tenant_url(text: &str, from: UrlSource) -> Result<Url, UrlError> {
    let mut url = checked_url(text, from)?;
    let path = url.path().to_owned();
    let root = match path.find("/AdminInterface") {
        Some(at) => &path[..at],
        None => path.trim_end_matches('/'),
    };
    url.set_path(root);
    Ok(url)
}

/// A URL requests may go to, without query or fragment. Plain http is
/// refused unless the host is a loopback address; so is a user name or
/// password, and the message shows neither. The error names where the URL
/// came from, the URL and why.
pub fn checked_url(text: &str, from: UrlSource) -> Result<Url, UrlError> {
    let shown = redact_url(text);
    let bad = |why: &str| UrlError {
        from,
        reason: format!("{shown:?}: {why}"),
    };
    let mut url = Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
    let host = url.host_str().ok_or_else(|| bad("no host"))?.to_owned();
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(&host) => {}
        "http" => {
            return Err(bad(
                "plain http is allowed only to loopback (127.0.0.0/8, ::1, or exactly localhost, which is never looked up); use https://",
            ))
        }
        other => return Err(bad(&format!("unsupported scheme {other}; use https://"))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "credentials in the URL are not accepted; pass them as credentials (--token, --key-file or an OAuth client)",
        ));
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// The one way an HTTP client is built, for the tenant and for a token
/// endpoint alike: timeouts, no redirects, a `localhost` target pinned to
/// 127.0.0.1, and exactly the proxy `route` (none for loopback).
pub fn http_client(
    target: &Url,
    timeout: std::time::Duration,
    route: Option<&Url>,
    pool: usize,
) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(std::time::Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(pool.max(1))
        .user_agent(concat!("securid-bulk/", env!("CARGO_PKG_VERSION")));
    apply_route(pin_localhost(builder, target), route)?.build()
}

/// A tenant as banners and summaries show it: `host:port`, the port given
/// or the scheme's own, so two tenants on one host are never confused.
pub fn host_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// "to HOST via proxy URL" or "to HOST directly (no proxy)", for the banner.
pub fn describe_route(base: &Url, proxy: Option<&Url>) -> String {
    let host = host_port(base);
    match proxy {
        Some(proxy) => format!("to {host} via proxy {}", show_proxy(proxy)),
        None => format!("to {host} directly (no proxy)"),
    }
}

/// Which proxy the user asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ProxyChoice {
    /// The standard environment variables (`HTTPS_PROXY`, `ALL_PROXY`,
    /// `NO_PROXY`, in either case).
    #[default]
    Environment,
    /// `--proxy URL`.
    Given(Url),
    /// `--no-proxy`.
    Direct,
}

impl ProxyChoice {
    /// The proxy requests to `base` go through, if any. Plain `http://`
    /// (always loopback) never goes through one: the bearer token would
    /// leave the machine in clear text.
    /// A proxy variable the tool cannot use (a `socks5://` one, say) is an
    /// error naming the variable, never a silent direct connection.
    pub fn route(&self, base: &Url) -> Result<Option<Url>, String> {
        let host = match base.host_str() {
            Some(host) if base.scheme() == "https" => host,
            _ => return Ok(None),
        };
        match self {
            ProxyChoice::Direct => Ok(None),
            ProxyChoice::Given(proxy) => Ok(Some(proxy.clone())),
            ProxyChoice::Environment => {
                if excluded_by(&env_var(&["NO_PROXY", "no_proxy"]).1, host) {
                    return Ok(None);
                }
                let (name, proxy) =
                    env_var(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]);
                if proxy.trim().is_empty() {
                    return Ok(None);
                }
                parse_proxy(&proxy)
                    .map(Some)
                    .map_err(|why| format!("{name}={}: {why}", redact_url(&proxy)))
            }
        }
    }
}

/// Applies the route to `builder`: no proxy at all, or exactly `route`.
/// The environment is never read behind our back, so what the banner shows
/// is what is used.
pub fn apply_route(
    builder: reqwest::ClientBuilder,
    route: Option<&Url>,
) -> reqwest::Result<reqwest::ClientBuilder> {
    let builder = builder.no_proxy();
    Ok(match route {
        Some(proxy) => builder.proxy(reqwest::Proxy::https(proxy.clone())?),
        None => builder,
    })
}

/// A proxy URL as given to `--proxy` or in the environment; `host:port`
/// alone means `http://host:port`.
pub fn parse_proxy(text: &str) -> Result<Url, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty proxy URL".into());
    }
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| e.to_string())?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some() => Ok(url),
        "http" | "https" => Err("no host; expected http://host:port or https://host:port".into()),
        other => Err(format!(
            "unsupported proxy scheme {other}: only http:// and https:// proxies are supported"
        )),
    }
}

/// A proxy URL for messages: credentials hidden.
pub fn show_proxy(proxy: &Url) -> String {
    redact_url(proxy.as_str())
}

/// The first of `names` set to something, with its name.
fn env_var(names: &[&'static str]) -> (&'static str, String) {
    names
        .iter()
        .filter_map(|name| Some((*name, std::env::var(name).ok()?)))
        .find(|(_, value)| !value.trim().is_empty())
        .unwrap_or_default()
}

/// Whether a `NO_PROXY` list exempts `host`: `*`, the host itself, a parent
/// domain (`example.com` or `.example.com`), or an address range
/// (`10.0.0.0/8`).
fn excluded_by(no_proxy: &str, host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    no_proxy
        .split(',')
        .map(|entry| entry.trim().to_ascii_lowercase())
        .filter(|entry| !entry.is_empty())
        .any(|entry| {
            let domain = entry.trim_start_matches("*.").trim_start_matches('.');
            entry == "*"
                || host == domain
                || host.ends_with(&format!(".{domain}"))
                || in_range(&entry, &host)
        })
}

fn in_range(range: &str, host: &str) -> bool {
    let Some((net, bits)) = range.split_once('/') else {
        return false;
    };
    let (Ok(net), Ok(addr), Ok(bits)) = (
        net.parse::<IpAddr>(),
        host.parse::<IpAddr>(),
        bits.parse::<u32>(),
    ) else {
        return false;
    };
    let (net, addr, width) = match (net, addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) => (u32::from(n) as u128, u32::from(a) as u128, 32),
        (IpAddr::V6(n), IpAddr::V6(a)) => (u128::from(n), u128::from(a), 128),
        _ => return false,
    };
    if bits > width {
        return false;
    }
    let shift = width - bits;
    shift >= 128 || net >> shift == addr >> shift
}

/// Where a tenant URL came from, so a refusal names what the admin typed
/// or set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UrlSource {
    #[default]
    BaseUrlFlag,
    BaseUrlEnvironment,
    /// `base-url` of a config-file profile.
    Profile,
    KeyFile,
    IssuerFlag,
    IssuerEnvironment,
    TokenUrlFlag,
    /// The `token_endpoint` of the issuer's discovery document.
    Discovery,
}

/// A URL refused by the URL policy of [`checked_url`].
#[derive(Debug, thiserror::Error)]
#[error("{} {reason}", .from.describe())]
pub struct UrlError {
    pub from: UrlSource,
    reason: String,
}

impl UrlSource {
    fn describe(self) -> &'static str {
        match self {
            UrlSource::BaseUrlFlag => "--base-url",
            UrlSource::BaseUrlEnvironment => "SECURID_BASE_URL",
            UrlSource::Profile => "the profile's base-url",
            UrlSource::KeyFile => "the key file's adminRestApiUrl",
            UrlSource::IssuerFlag => "--issuer",
            UrlSource::IssuerEnvironment => "SECURID_ISSUER",
            UrlSource::TokenUrlFlag => "--token-url",
            UrlSource::Discovery => "the token_endpoint of the issuer's discovery document",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_addresses_and_the_exact_name_localhost() {
        let yes = "localhost LocalHost 127.0.0.1 127.255.0.9 ::1 [::1]";
        let no = "localhost. a.localhost 10.0.0.1 128.0.0.1 ::2 localhost.evil.com 127.0.0.1.nip.io ::ffff:a00:1";
        for (hosts, loopback) in [(yes, true), (no, false)] {
            for host in hosts.split(' ') {
                assert_eq!(is_loopback_host(host), loopback, "{host}");
            }
        }
    }

    #[test]
    fn base_urls_normalise_to_the_tenant_root() {
        for (given, root) in [
            (
                "https://acme.access.securid.com",
                "https://acme.access.securid.com/",
            ),
            (
                "https://acme.access.securid.com/AdminInterface/restapi/v1",
                "https://acme.access.securid.com/",
            ),
            (
                "https://acme.access.securid.com/AdminInterface/restapi/",
                "https://acme.access.securid.com/",
            ),
            (
                "http://127.0.0.1:8080/AdminInterface/restapi",
                "http://127.0.0.1:8080/",
            ),
            ("http://localhost:9", "http://localhost:9/"),
            ("http://[::1]:9", "http://[::1]:9/"),
        ] {
            assert_eq!(
                tenant_url(given, UrlSource::BaseUrlFlag).unwrap().as_str(),
                root,
                "{given}"
            );
        }
    }

    #[test]
    fn plain_http_off_loopback_is_refused() {
        for bad in [
            "http://acme.access.securid.com",
            "http://10.0.0.1",
            "ftp://x",
            "https://u:p@x",
        ] {
            assert!(tenant_url(bad, UrlSource::BaseUrlFlag).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_shown_without_credentials() {
        for (given, shown) in [
            ("https://u:hunter2@x.com/a", "https://***@x.com/a"),
            ("https://x.com/a", "https://x.com/a"),
            ("https://u:hunter2@", "https://***@"),
            ("not a url", "not a url"),
            ("u:hunter2@127.0.0.1:3128", "***@127.0.0.1:3128"),
            ("u:pw@[bad", "***@[bad"),
            (
                "HTTPS_PROXY=u:pw@[bad: invalid",
                "HTTPS_PROXY=***@[bad: invalid",
            ),
            ("--proxy=http://u:p@h:1", "--proxy=http://***@h:1"),
            ("alice@example.com not found", "alice@example.com not found"),
            ("https://x.com/a@b", "https://x.com/a@b"),
            ("'u:p@h' and http://a:b@c/", "'***@h' and http://***@c/"),
        ] {
            assert_eq!(redact_url(given), shown, "{given}");
        }
    }

    #[test]
    fn no_proxy_lists_match_hosts_domains_and_ranges() {
        let list = "foo.com, .corp.example,10.0.0.0/8,::1/128";
        for (host, excluded) in [
            ("foo.com", true),
            ("a.foo.com", true),
            ("xfoo.com", false),
            ("acme.corp.example", true),
            ("10.2.3.4", true),
            ("11.2.3.4", false),
            ("[::1]", true),
            ("acme.access.securid.com", false),
        ] {
            assert_eq!(excluded_by(list, host), excluded, "{host}");
        }
        assert!(excluded_by("*", "anything"));
        assert!(in_range("0.0.0.0/0", "1.2.3.4"));
    }

    #[test]
    fn plain_http_never_takes_a_proxy() {
        let proxy = parse_proxy("127.0.0.1:3128").unwrap();
        let given = ProxyChoice::Given(proxy.clone());
        let http = Url::parse("http://127.0.0.1:9").unwrap();
        let https = Url::parse("https://acme.access.securid.com").unwrap();
        assert_eq!(given.route(&http), Ok(None));
        assert_eq!(given.route(&https), Ok(Some(proxy)));
        assert_eq!(ProxyChoice::Direct.route(&https), Ok(None));
        assert!(parse_proxy("ftp://x").is_err());
    }

    #[test]
    fn only_http_and_https_proxies_are_accepted() {
        for socks in ["socks5://127.0.0.1:1080", "socks5h://proxy.corp:1080"] {
            let err = parse_proxy(socks).unwrap_err();
            assert!(err.contains("only http:// and https://"), "{err}");
        }
        assert!(parse_proxy("https://proxy.corp:3128").is_ok());
    }

    #[test]
    fn a_url_error_names_where_the_url_came_from() {
        for (source, named) in [
            (UrlSource::BaseUrlFlag, "--base-url "),
            (UrlSource::BaseUrlEnvironment, "SECURID_BASE_URL "),
            (UrlSource::KeyFile, "the key file's adminRestApiUrl "),
        ] {
            let err = tenant_url("http://tenant.example", source).unwrap_err();
            assert_eq!(err.from, source);
            assert!(err.to_string().starts_with(named), "{err}");
        }
    }
}
