//! Outbound HTTP for plugins: the allow-list, the address guard, credential injection and
//! the request itself. Everything a plugin sends passes through [`NetPolicy::send`]. The
//! instance's credentials go only to the hosts they are for, never to another allowed
//! host, and a URL cannot bring credentials of its own (user-info is refused).

use crate::error_chain;
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;
use url::Url;

/// One allow-list entry: scheme, host (exact, or `*.` wildcard that excludes the bare
/// domain) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowEntry {
    scheme: String,
    host: HostPattern,
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// Matches any name ending in this suffix (which starts with '.').
    Subdomains(String),
}

impl AllowEntry {
    /// Parses `scheme://host[:port]`; the host may start with `*.`.
    pub fn parse(entry: &str) -> Result<Self> {
        let (scheme, rest) = entry.split_once("://").with_context(|| {
            format!("allow-list entry {entry:?} needs a scheme, like https://host")
        })?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            bail!("allow-list entry {entry:?}: only http and https are supported");
        }
        let authority = rest.split('/').next().unwrap_or_default();
        let (pattern, probe) = match authority.strip_prefix("*.") {
            Some(domain) => (true, format!("{scheme}://wildcard.{domain}")),
            None => (false, format!("{scheme}://{authority}")),
        };
        let url = Url::parse(&probe)
            .with_context(|| format!("allow-list entry {entry:?} is not a valid origin"))?;
        if !url.username().is_empty() || url.password().is_some() {
            bail!("allow-list entry {:?} carries a user name or password; give credentials as secret parameters", url.origin().ascii_serialization());
        }
        let host = url
            .host_str()
            .with_context(|| format!("allow-list entry {entry:?} has no host"))?
            .to_ascii_lowercase();
        let port = url
            .port_or_known_default()
            .with_context(|| format!("allow-list entry {entry:?} has no port"))?;
        let host = if pattern {
            HostPattern::Subdomains(host.trim_start_matches("wildcard").to_owned())
        } else {
            HostPattern::Exact(host)
        };
        Ok(Self { scheme, host, port })
    }

    fn matches(&self, url: &Url) -> bool {
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        url.scheme() == self.scheme
            && port == self.port
            && match &self.host {
                HostPattern::Exact(h) => *h == host,
                HostPattern::Subdomains(suffix) => host.ends_with(suffix.as_str()),
            }
    }
}

/// The IPv6 instance-metadata address of AWS (outside link-local).
const AWS_IPV6_METADATA: std::net::Ipv6Addr =
    std::net::Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

/// Whether an address is one a plugin may never reach, whatever the allow-list says:
/// link-local (which holds the cloud metadata endpoint 169.254.169.254), unspecified,
/// multicast and broadcast, and the well-known metadata addresses outside link-local.
pub fn is_forbidden_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.octets()[0] == 0
                || v4 == std::net::Ipv4Addr::new(100, 100, 100, 200)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_forbidden_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            (first & 0xffc0) == 0xfe80
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6 == AWS_IPV6_METADATA
        }
    }
}

/// Credentials resolved from the instance's secrets, added by the host to the requests
/// that go to their hosts.
#[derive(Clone, Default)]
pub struct InjectedHeader {
    pub name: String,
    pub value: String,
}

impl std::fmt::Debug for InjectedHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: <redacted>", self.name)
    }
}

/// The instance's credentials and the hosts they are for (a subset of the allow-list).
#[derive(Debug, Clone)]
pub struct ScopedCredentials {
    pub header: InjectedHeader,
    pub hosts: Vec<AllowEntry>,
}

/// What a plugin instance may do on the network.
#[derive(Debug, Clone)]
pub struct NetPolicy {
    pub allow: Vec<AllowEntry>,
    pub credentials: Option<ScopedCredentials>,
    pub timeout: Duration,
    pub max_response_bytes: usize,
    /// A private CA the instance trusts besides the public roots (e.g. an on-premises HR
    /// server's).
    pub extra_root: Option<reqwest::Certificate>,
}

/// A request as the guest describes it.
#[derive(Clone)]
pub struct OutboundRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

pub struct InboundResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why the host refused or failed a request; the code lets a plugin tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
    #[error("the response is larger than the {0}-byte limit")]
    TooLarge(usize),
}

impl NetError {
    pub fn code(&self) -> &'static str {
        match self {
            NetError::Refused(_) => "sandbox-refused",
            NetError::Failed(_) => "network-error",
            NetError::TooLarge(_) => "response-too-large",
        }
    }
}

impl NetPolicy {
    /// Checks the request against the allow-list and the address guard, then sends it with
    /// the credentials meant for its host, no redirects, a timeout and a response-size cap.
    pub fn send(&self, req: OutboundRequest) -> Result<InboundResponse, NetError> {
        let response = self.open(req)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let origin = origin(response.url());
        let mut body = Vec::new();
        response
            .take(self.max_response_bytes as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|e| NetError::Failed(format!("reading the response from {origin}: {e}")))?;
        if body.len() > self.max_response_bytes {
            return Err(NetError::TooLarge(self.max_response_bytes));
        }
        Ok(InboundResponse {
            status,
            headers,
            body,
        })
    }

    /// Sends a request as [`NetPolicy::send`] does and returns the response with its body
    /// unread, for the caller to stream under its own size limit.
    pub fn open(&self, req: OutboundRequest) -> Result<reqwest::blocking::Response, NetError> {
        let url = Url::parse(&req.url)
            .map_err(|e| NetError::Refused(format!("invalid URL {:?}: {e}", req.url)))?;
        // reqwest would turn user-info into an Authorization header of the guest's choosing.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(NetError::Refused(format!(
                "a URL for {} carries a user name or password (user@host), which plugins may not send; the host adds the instance's credentials itself",
                origin(&url)
            )));
        }
        if !self.allow.iter().any(|entry| entry.matches(&url)) {
            return Err(NetError::Refused(format!(
                "{} is not on this instance's allow-list",
                origin(&url)
            )));
        }
        let host = url
            .host_str()
            .unwrap_or_default()
            .trim_matches(['[', ']'])
            .to_owned();
        let port = url.port_or_known_default().unwrap_or(0);
        let addrs = resolve(&host, port)?;
        let method = reqwest::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| NetError::Refused(format!("invalid HTTP method {:?}", req.method)))?;

        // Pin the checked addresses so a second DNS answer cannot redirect the connection.
        let mut client = reqwest::blocking::Client::builder();
        if let Some(root) = &self.extra_root {
            client = client.add_root_certificate(root.clone());
        }
        let client = client
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .resolve_to_addrs(&host, &addrs)
            .build()
            .map_err(|e| NetError::Failed(format!("building the HTTP client: {e}")))?;
        let mut builder = client.request(method, url.clone());
        let credentials = self
            .credentials
            .as_ref()
            .filter(|c| c.hosts.iter().any(|entry| entry.matches(&url)))
            .map(|c| &c.header);
        for (name, value) in &req.headers {
            // Where the host authenticates, the guest cannot replace or add to it.
            let overrides = credentials.is_some_and(|c| {
                c.name.eq_ignore_ascii_case(name) || name.eq_ignore_ascii_case("authorization")
            });
            if !overrides {
                builder = builder.header(name, value);
            }
        }
        if let Some(creds) = credentials {
            builder = builder.header(&creds.name, &creds.value);
        }
        if let Some(body) = req.body {
            builder = builder.body(body);
        }
        builder.send().map_err(|e| {
            let cause = error_chain(&e);
            NetError::Failed(format!(
                "{} {}: {cause}{}",
                req.method,
                origin(&url),
                tls_hint(&cause)
            ))
        })
    }
}

/// Resolves `host` and refuses it when any address is one plugins may never reach.
pub(super) fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, NetError> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| NetError::Failed(format!("resolving {host}: {e}")))?
        .collect();
    if addrs.is_empty() {
        return Err(NetError::Failed(format!("{host} resolves to no address")));
    }
    if let Some(bad) = addrs.iter().find(|a| is_forbidden_address(a.ip())) {
        return Err(NetError::Refused(format!(
            "{host} resolves to {}, a link-local or metadata address that plugins may not reach",
            bad.ip()
        )));
    }
    Ok(addrs)
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// An error with its causes, `: `-separated.
/// What to do about a certificate the client does not trust: most often a server whose
/// certificate comes from the organisation's own CA.
fn tls_hint(cause: &str) -> &'static str {
    if cause.contains("UnknownIssuer") || cause.contains("unknown issuer") {
        "; the server's certificate is not signed by a CA this host trusts: if it comes from \
         your organisation's own CA, give it with `ilm instance edit INSTANCE --ca-file ca.pem`"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(entry: &str, url: &str) -> bool {
        AllowEntry::parse(entry)
            .unwrap()
            .matches(&Url::parse(url).unwrap())
    }

    #[test]
    fn exact_entries_match_scheme_host_and_port() {
        assert!(allowed(
            "https://api.github.com",
            "https://api.github.com/scim/v2"
        ));
        assert!(allowed(
            "https://API.github.com",
            "https://api.github.com:443/x"
        ));
        assert!(!allowed("https://api.github.com", "http://api.github.com/"));
        assert!(!allowed(
            "https://api.github.com",
            "https://api.github.com:8443/"
        ));
        assert!(!allowed(
            "https://api.github.com",
            "https://evil.github.com/"
        ));
        assert!(!allowed(
            "https://api.github.com",
            "https://api.github.com.evil.test/"
        ));
        assert!(allowed(
            "http://127.0.0.1:18080",
            "http://127.0.0.1:18080/github/v2/Users"
        ));
        assert!(!allowed(
            "http://127.0.0.1:18080",
            "http://127.0.0.1:18081/"
        ));
    }

    #[test]
    fn wildcards_match_subdomains_but_not_the_bare_domain() {
        assert!(allowed(
            "https://*.okta.com",
            "https://acme.okta.com/api/v1/users"
        ));
        assert!(allowed("https://*.okta.com", "https://a.b.okta.com/"));
        assert!(!allowed("https://*.okta.com", "https://okta.com/"));
        assert!(!allowed("https://*.okta.com", "https://evilokta.com/"));
    }

    #[test]
    fn bad_entries_are_errors() {
        assert!(AllowEntry::parse("api.github.com").is_err());
        assert!(AllowEntry::parse("ftp://x.test").is_err());
        let err = AllowEntry::parse("https://me:pw@x.test").unwrap_err();
        assert!(err.to_string().contains("user name or password"), "{err}");
        assert!(!err.to_string().contains("pw@"), "{err}");
    }

    #[test]
    fn metadata_and_link_local_addresses_are_forbidden() {
        for bad in [
            "169.254.169.254",
            "169.254.1.1",
            "0.0.0.0",
            "fe80::1",
            "::ffff:169.254.169.254",
            "fd00:ec2::254",
            "100.100.100.200",
            "224.0.0.1",
        ] {
            assert!(is_forbidden_address(bad.parse().unwrap()), "{bad}");
        }
        for ok in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.10",
            "::1",
            "140.82.112.3",
        ] {
            assert!(!is_forbidden_address(ok.parse().unwrap()), "{ok}");
        }
    }

    #[test]
    fn a_name_resolving_to_a_metadata_address_is_refused() {
        // 169.254.169.254.nip.io-style names need DNS; an IP literal in the host goes
        // through the same resolver path and is checked after resolution.
        let err = resolve("169.254.169.254", 80).unwrap_err();
        assert!(matches!(err, NetError::Refused(_)), "{err}");
    }
}
