//! LDAP for plugins: the one directory server of an instance, reached over LDAPS or
//! StartTLS verified against the instance's CA (plain LDAP only when the instance allows
//! it), bound with credentials the guest never sees, with connect and operation timeouts.
//! Every `ldap` call of a plugin passes through an [`LdapSession`].

use super::bindings::ilm::plugin::ldap::{
    Attribute, Entry, Modification, ModifyOp, Scope, SearchRequest,
};
use super::net::{self, NetError};
use crate::error_chain;
use base64::Engine as _;
use ldap3::controls::{Control, ControlType, PagedResults};
use ldap3::{LdapConn, LdapConnSettings, Mod, ResultEntry, StdStream};
use std::collections::HashSet;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

/// Entries per page of a paged search.
const PAGE_SIZE: u32 = 500;
/// The most entries one search returns, whatever the plugin asks.
pub const MAX_SEARCH_ENTRIES: u32 = 10_000;

/// Attributes whose values are binary even when they happen to be valid UTF-8; they reach
/// the guest as base64.
const BINARY_ATTRIBUTES: &[&str] = &[
    "objectGUID",
    "objectSid",
    "sIDHistory",
    "tokenGroups",
    "mS-DS-ConsistencyGuid",
    "msExchMailboxGuid",
    "nTSecurityDescriptor",
    "logonHours",
    "thumbnailPhoto",
    "jpegPhoto",
    "userCertificate",
];

/// Attributes that carry passwords: only [`LdapSession::set_password`] may write them, so
/// the host alone decides how (and over what) a password travels.
const PASSWORD_ATTRIBUTES: &[&str] = &["unicodePwd", "userPassword"];

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TLS from the first byte (`ldaps://`).
    Ldaps,
    /// `ldap://` upgraded with StartTLS before the bind.
    StartTls,
    /// `ldap://` in clear, only when the instance explicitly allows it.
    Plain,
}

impl Transport {
    pub fn is_encrypted(self) -> bool {
        self != Transport::Plain
    }
}

/// An instance's directory, resolved from its parameters and secrets.
#[derive(Clone)]
pub struct LdapConfig {
    pub url: Url,
    pub transport: Transport,
    pub bind_dn: String,
    bind_password: String,
    pub ca_file: Option<PathBuf>,
    /// Bounds the TCP connect, the TLS handshake and each operation.
    pub timeout: Duration,
}

impl std::fmt::Debug for LdapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapConfig")
            .field("url", &self.url.as_str())
            .field("transport", &self.transport)
            .field("bind_dn", &self.bind_dn)
            .field("bind_password", &"<redacted>")
            .field("ca_file", &self.ca_file)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl LdapConfig {
    /// Checks the URL (`ldaps://` or `ldap://`, a host, nothing else) and picks the
    /// transport: `ldap://` means StartTLS unless `allow_plain`.
    pub fn new(
        url: &str,
        allow_plain: bool,
        bind_dn: String,
        bind_password: String,
        ca_file: Option<PathBuf>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let parsed = Url::parse(url).map_err(|e| anyhow::anyhow!("{url:?} is not a URL: {e}"))?;
        let transport = match parsed.scheme() {
            "ldaps" => Transport::Ldaps,
            "ldap" if allow_plain => Transport::Plain,
            "ldap" => Transport::StartTls,
            other => anyhow::bail!(
                "the directory URL {url:?} has the scheme {other:?}; use ldaps://host or ldap://host (StartTLS)"
            ),
        };
        if parsed.host_str().unwrap_or_default().is_empty() {
            anyhow::bail!("the directory URL {url:?} names no host");
        }
        if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() {
            anyhow::bail!(
                "the directory URL {url:?} must be only scheme, host and port (the base DN is a separate parameter)"
            );
        }
        Ok(Self {
            url: parsed,
            transport,
            bind_dn,
            bind_password,
            ca_file,
            timeout,
        })
    }

    /// Which idle connections may serve this configuration: same server, transport, CA and
    /// bind identity (the password enters only as a hash).
    fn pool_key(&self) -> String {
        use sha2::{Digest, Sha256};
        let identity = format!(
            "{}|{:?}|{:?}|{}|{}",
            self.url, self.transport, self.ca_file, self.bind_dn, self.bind_password
        );
        hex::encode(Sha256::digest(identity.as_bytes()))
    }

    fn host_port(&self) -> (String, u16) {
        let host = self
            .url
            .host_str()
            .unwrap_or_default()
            .trim_matches(['[', ']'])
            .to_owned();
        let default = if self.transport == Transport::Ldaps {
            636
        } else {
            389
        };
        (host, self.url.port().unwrap_or(default))
    }
}

/// Why an LDAP call failed; the code lets a plugin tell the cases apart.
#[derive(Debug, thiserror::Error)]
pub enum LdapFailure {
    /// The host would not do it (no directory granted, a password in clear, a forbidden
    /// address).
    #[error("{0}")]
    Refused(String),
    /// No LDAP answer: unreachable, timed out, the connection broke. Worth another try.
    #[error("{0}")]
    Unavailable(String),
    /// The directory cannot be trusted: its certificate fails verification against the
    /// instance's CA, or the CA file is unusable. Trying again gives the same answer.
    #[error("{0}")]
    Untrusted(String),
    /// The server answered with an LDAP result code other than success.
    #[error("{message}")]
    Result { rc: u32, message: String },
}

impl LdapFailure {
    pub fn code(&self) -> String {
        match self {
            LdapFailure::Refused(_) => "sandbox-refused".to_owned(),
            LdapFailure::Unavailable(_) => crate::retries::LDAP_UNAVAILABLE.to_owned(),
            LdapFailure::Untrusted(_) => "ldap-untrusted".to_owned(),
            LdapFailure::Result { rc, .. } => rc.to_string(),
        }
    }
}

/// The directory connection of one plugin call: taken from the idle pool (or opened and
/// bound) on first use, and given back to the pool when the call ends.
pub struct LdapSession {
    config: Arc<LdapConfig>,
    conn: Option<LdapConn>,
}

/// Bound connections kept between plugin calls, each under the key of the directory and
/// identity it was bound with, and with when it was given back: a new LDAPS connection costs
/// a TLS handshake and a bind, and one New Hire makes several calls.
static IDLE: std::sync::Mutex<Vec<Idle>> = std::sync::Mutex::new(Vec::new());

struct Idle {
    key: String,
    conn: LdapConn,
    since: Instant,
}

/// Idle connections kept at most, over all directories.
const MAX_IDLE: usize = 8;

/// How long a connection may have been idle and still be used without first checking that
/// the server still answers on it. Directories drop idle connections after minutes (AD's
/// MaxConnIdleTime is 900 s); a connection given back this recently is in the middle of a
/// run of calls, where the check would cost the directory one request in every few.
const TRUSTED_IDLE: Duration = Duration::from_secs(1);

fn idle() -> std::sync::MutexGuard<'static, Vec<Idle>> {
    IDLE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An idle connection for `config` that still answers, or a new one.
fn checkout(config: &LdapConfig) -> Result<LdapConn, LdapFailure> {
    let key = config.pool_key();
    loop {
        let taken = {
            let mut idle = idle();
            let at = idle.iter().position(|i| i.key == key);
            at.map(|i| idle.swap_remove(i))
        };
        let Some(Idle {
            mut conn, since, ..
        }) = taken
        else {
            return connect(config);
        };
        if since.elapsed() < TRUSTED_IDLE {
            return Ok(conn);
        }
        // The server may have closed it while idle: a root-DSE read tells, cheaply.
        let alive = conn
            .with_timeout(config.timeout)
            .search("", ldap3::Scope::Base, "(objectClass=*)", vec!["1.1"])
            .and_then(|r| r.success())
            .is_ok();
        if alive {
            return Ok(conn);
        }
    }
}

impl Drop for LdapSession {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = idle();
            if idle.len() < MAX_IDLE {
                idle.push(Idle {
                    key: self.config.pool_key(),
                    conn,
                    since: Instant::now(),
                });
            }
        }
    }
}

impl LdapSession {
    pub fn new(config: Arc<LdapConfig>) -> Self {
        Self { config, conn: None }
    }

    /// Searches with the paged-results control until `limit` entries or the end.
    pub fn search(&mut self, req: &SearchRequest) -> Result<Vec<Entry>, LdapFailure> {
        let limit = match req.limit {
            0 => MAX_SEARCH_ENTRIES,
            n => n.min(MAX_SEARCH_ENTRIES),
        } as usize;
        let scope = match req.scope {
            Scope::Base => ldap3::Scope::Base,
            Scope::OneLevel => ldap3::Scope::OneLevel,
            Scope::Subtree => ldap3::Scope::Subtree,
        };
        let what = format!("searching {:?} for {}", req.base, req.filter);
        let mut entries = Vec::new();
        let mut cookie = Vec::new();
        loop {
            // One more than wanted: a search that holds no more ends with its page (no
            // cookie) instead of needing another request to end it.
            let wanted = (limit - entries.len()) as u32;
            let page = PagedResults {
                size: PAGE_SIZE.min(wanted + 1) as i32,
                cookie,
            };
            let timeout = self.config.timeout;
            let result = self.run(&what, |conn| {
                conn.with_timeout(timeout)
                    .with_controls(page)
                    .search(&req.base, scope, &req.filter, &req.attributes)?
                    .success()
            })?;
            let (found, done) = result;
            for raw in found {
                entries.push(to_entry(raw).ok_or_else(|| {
                    LdapFailure::Unavailable(format!("{what}: the server sent a malformed entry"))
                })?);
            }
            cookie = next_cookie(&done.ctrls);
            if cookie.is_empty() || entries.len() >= limit {
                entries.truncate(limit);
                if !cookie.is_empty() {
                    self.abandon_paging(&req.base, scope, &req.filter, cookie);
                }
                return Ok(entries);
            }
        }
    }

    /// Tells the server to drop the rest of a paged search (RFC 2696: size 0 with the
    /// cookie). Best effort: the entries are already in hand.
    fn abandon_paging(&mut self, base: &str, scope: ldap3::Scope, filter: &str, cookie: Vec<u8>) {
        let timeout = self.config.timeout;
        let _ = self.run("ending a paged search", |conn| {
            conn.with_timeout(timeout)
                .with_controls(PagedResults { size: 0, cookie })
                .search(base, scope, filter, vec!["1.1"])
        });
    }

    pub fn add(&mut self, dn: &str, attributes: &[Attribute]) -> Result<(), LdapFailure> {
        refuse_password_attributes(attributes.iter().map(|a| a.name.as_str()))?;
        let attrs: Vec<(String, HashSet<String>)> = attributes
            .iter()
            .map(|a| (a.name.clone(), a.values.iter().cloned().collect()))
            .collect();
        let timeout = self.config.timeout;
        self.run(&format!("adding {dn:?}"), |conn| {
            conn.with_timeout(timeout).add(dn, attrs)?.success()
        })
        .map(drop)
    }

    pub fn modify(&mut self, dn: &str, changes: &[Modification]) -> Result<(), LdapFailure> {
        refuse_password_attributes(changes.iter().map(|c| c.attribute.as_str()))?;
        let mods: Vec<Mod<String>> = changes
            .iter()
            .map(|c| {
                let values: HashSet<String> = c.values.iter().cloned().collect();
                let attribute = c.attribute.clone();
                match c.op {
                    ModifyOp::Add => Mod::Add(attribute, values),
                    ModifyOp::Delete => Mod::Delete(attribute, values),
                    ModifyOp::Replace => Mod::Replace(attribute, values),
                }
            })
            .collect();
        let timeout = self.config.timeout;
        self.run(&format!("modifying {dn:?}"), |conn| {
            conn.with_timeout(timeout).modify(dn, mods)?.success()
        })
        .map(drop)
    }

    pub fn modify_dn(
        &mut self,
        dn: &str,
        new_rdn: &str,
        new_superior: Option<&str>,
    ) -> Result<(), LdapFailure> {
        let timeout = self.config.timeout;
        let what = match new_superior {
            Some(parent) => format!("moving {dn:?} to {new_rdn:?} under {parent:?}"),
            None => format!("renaming {dn:?} to {new_rdn:?}"),
        };
        self.run(&what, |conn| {
            conn.with_timeout(timeout)
                .modifydn(dn, new_rdn, true, new_superior)?
                .success()
        })
        .map(drop)
    }

    pub fn delete(&mut self, dn: &str) -> Result<(), LdapFailure> {
        let timeout = self.config.timeout;
        self.run(&format!("deleting {dn:?}"), |conn| {
            conn.with_timeout(timeout).delete(dn)?.success()
        })
        .map(drop)
    }

    /// Replaces `unicodePwd` with the UTF-16LE of the quoted password, as AD expects; never
    /// over a connection in clear (AD refuses that, Samba does not, so the host must).
    pub fn set_password(&mut self, dn: &str, password: &str) -> Result<(), LdapFailure> {
        if !self.config.transport.is_encrypted() {
            return Err(LdapFailure::Refused(format!(
                "setting a password needs an encrypted connection (ldaps:// or StartTLS); this instance talks to {} in clear",
                self.config.url
            )));
        }
        let encoded: Vec<u8> = format!("\"{password}\"")
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let mods = vec![Mod::Replace(
            b"unicodePwd".to_vec(),
            HashSet::from([encoded]),
        )];
        let timeout = self.config.timeout;
        self.run(&format!("setting the password of {dn:?}"), |conn| {
            conn.with_timeout(timeout).modify(dn, mods)?.success()
        })
        .map(drop)
    }

    /// Runs one operation on the (possibly new) connection. A failure that is not an LDAP
    /// result may have broken the connection, so the next operation opens a new one.
    fn run<T>(
        &mut self,
        what: &str,
        op: impl FnOnce(&mut LdapConn) -> ldap3::result::Result<T>,
    ) -> Result<T, LdapFailure> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            empty => empty.insert(checkout(&self.config)?),
        };
        let result = op(conn);
        tracing::debug!(url = %self.config.url, ok = result.is_ok(), "ldap: {what}");
        result.map_err(|e| {
            let failure = failure(what, e);
            if matches!(failure, LdapFailure::Unavailable(_)) {
                self.conn = None;
            }
            failure
        })
    }
}

/// Opens the connection to the checked address, protects it, and binds.
fn connect(config: &LdapConfig) -> Result<LdapConn, LdapFailure> {
    let (host, port) = config.host_port();
    let addrs = net::resolve(&host, port).map_err(|e| match e {
        NetError::Refused(m) => LdapFailure::Refused(m),
        other => LdapFailure::Unavailable(other.to_string()),
    })?;
    // Connect to the addresses just checked, so a second DNS answer cannot redirect us.
    let mut last_error = None;
    let stream = addrs.iter().find_map(|addr| {
        TcpStream::connect_timeout(addr, config.timeout)
            .map_err(|e| last_error = Some(format!("{addr}: {e}")))
            .ok()
    });
    let stream = stream.ok_or_else(|| {
        LdapFailure::Unavailable(format!(
            "cannot reach the directory at {} ({})",
            config.url,
            last_error.unwrap_or_default()
        ))
    })?;
    let mut settings = LdapConnSettings::new()
        .set_conn_timeout(config.timeout)
        .set_std_stream(StdStream::Tcp(stream))
        .set_starttls(config.transport == Transport::StartTls);
    if let Some(ca_file) = &config.ca_file {
        settings = settings.set_config(tls_config(ca_file)?);
    }
    let mut conn = LdapConn::from_url_with_settings(settings, &config.url).map_err(|e| {
        let message = format!(
            "cannot open a {} connection to {}: {}",
            transport_name(config.transport),
            config.url,
            error_chain(&e)
        );
        if certificate_rejected(&e) {
            LdapFailure::Untrusted(format!(
                "{message}; the directory's certificate must be issued by a CA in the instance's ca-file (the system's CAs when it has none)"
            ))
        } else {
            LdapFailure::Unavailable(message)
        }
    })?;
    conn.with_timeout(config.timeout)
        .simple_bind(&config.bind_dn, &config.bind_password)
        .and_then(|r| r.success())
        .map_err(|e| {
            failure(
                &format!("binding to {} as {:?}", config.url, config.bind_dn),
                e,
            )
        })?;
    Ok(conn)
}

/// Whether TLS failed because the server's certificate did not verify (rustls's error,
/// inside the I/O error ldap3 reports it as).
fn certificate_rejected(err: &(dyn std::error::Error + 'static)) -> bool {
    let is_rejection = |e: &(dyn std::error::Error + 'static)| {
        matches!(
            e.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidCertificate(_))
        )
    };
    let mut next = Some(err);
    while let Some(e) = next {
        let wrapped = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .is_some_and(|inner| is_rejection(inner));
        if is_rejection(e) || wrapped {
            return true;
        }
        next = e.source();
    }
    false
}

fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::Ldaps => "LDAPS",
        Transport::StartTls => "StartTLS",
        Transport::Plain => "plain LDAP",
    }
}

/// A TLS configuration that trusts only the CA certificates in `ca_file`.
fn tls_config(ca_file: &Path) -> Result<Arc<rustls::ClientConfig>, LdapFailure> {
    let unusable = |why: String| {
        LdapFailure::Untrusted(format!(
            "the directory CA file {} is unusable: {why}",
            ca_file.display()
        ))
    };
    let roots = crate::ca_file::roots(ca_file).map_err(unusable)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| unusable(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn failure(what: &str, err: ldap3::LdapError) -> LdapFailure {
    match err {
        ldap3::LdapError::LdapResult { result } => LdapFailure::Result {
            rc: result.rc,
            message: format!("{what}: {result}"),
        },
        other => LdapFailure::Unavailable(format!("{what}: {}", error_chain(&other))),
    }
}

fn refuse_password_attributes<'a>(
    mut names: impl Iterator<Item = &'a str>,
) -> Result<(), LdapFailure> {
    match names.find(|n| PASSWORD_ATTRIBUTES.iter().any(|p| p.eq_ignore_ascii_case(n))) {
        Some(name) => Err(LdapFailure::Refused(format!(
            "{name} cannot be written directly; use set-password, which the host encodes and sends only over an encrypted connection"
        ))),
        None => Ok(()),
    }
}

/// The cookie of the paged-results response control; empty when the search is complete.
fn next_cookie(controls: &[Control]) -> Vec<u8> {
    controls
        .iter()
        .find(|c| matches!(c.0, Some(ControlType::PagedResults)) && c.1.val.is_some())
        .map(|c| c.1.parse::<PagedResults>().cookie)
        .unwrap_or_default()
}

/// Decodes a search result entry without trusting it (ldap3's own decoder panics on
/// malformed input). Binary values become base64.
fn to_entry(raw: ResultEntry) -> Option<Entry> {
    let mut parts = raw.0.match_id(4)?.expect_constructed()?.into_iter();
    let dn = String::from_utf8(parts.next()?.expect_primitive()?).ok()?;
    let mut attributes = Vec::new();
    for attribute in parts.next()?.expect_constructed()? {
        let mut pair = attribute.expect_constructed()?.into_iter();
        let name = String::from_utf8(pair.next()?.expect_primitive()?).ok()?;
        let raw_values: Vec<Vec<u8>> = pair
            .next()?
            .expect_constructed()?
            .into_iter()
            .map(|v| v.expect_primitive())
            .collect::<Option<_>>()?;
        attributes.push(Attribute {
            values: text_values(&name, raw_values),
            name,
        });
    }
    Some(Entry { dn, attributes })
}

/// Values as text, or all as base64 when the attribute is binary or any value is not UTF-8.
fn text_values(name: &str, raw: Vec<Vec<u8>>) -> Vec<String> {
    let binary = BINARY_ATTRIBUTES
        .iter()
        .any(|b| b.eq_ignore_ascii_case(name))
        || raw.iter().any(|v| std::str::from_utf8(v).is_err());
    raw.into_iter()
        .map(|v| {
            if binary {
                base64::engine::general_purpose::STANDARD.encode(v)
            } else {
                String::from_utf8(v).unwrap_or_default()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str, allow_plain: bool) -> anyhow::Result<LdapConfig> {
        LdapConfig::new(
            url,
            allow_plain,
            "CN=admin".into(),
            "s3cret".into(),
            None,
            Duration::from_secs(1),
        )
    }

    #[test]
    fn the_url_picks_the_transport_and_plain_needs_consent() {
        let t = |url, plain| config(url, plain).map(|c| c.transport).ok();
        assert_eq!(t("ldaps://dc.example.test", false), Some(Transport::Ldaps));
        assert_eq!(t("ldaps://dc.example.test", true), Some(Transport::Ldaps));
        assert_eq!(
            t("ldap://dc.example.test", false),
            Some(Transport::StartTls)
        );
        assert_eq!(t("ldap://dc.example.test", true), Some(Transport::Plain));
        assert_eq!(t("https://dc.example.test", false), None);
        assert_eq!(t("ldaps://dc.example.test/DC=example", false), None);
        let ports = |url| config(url, false).map(|c| c.host_port()).ok();
        assert_eq!(ports("ldaps://dc.test"), Some(("dc.test".into(), 636)));
        assert_eq!(ports("ldap://dc.test"), Some(("dc.test".into(), 389)));
        assert_eq!(ports("ldaps://[::1]:1636"), Some(("::1".into(), 1636)));
    }

    #[test]
    fn the_bind_password_is_not_in_debug_output() {
        let text = format!("{:?}", config("ldaps://dc.test", false).expect("config"));
        assert!(
            !text.contains("s3cret") && text.contains("<redacted>"),
            "{text}"
        );
    }

    #[test]
    fn a_metadata_address_is_refused_before_connecting() {
        let cfg = config("ldaps://169.254.169.254", false).expect("config");
        let err = LdapSession::new(Arc::new(cfg))
            .delete("CN=x")
            .expect_err("refused");
        assert_eq!(err.code(), "sandbox-refused", "{err}");
    }

    #[test]
    fn a_password_is_never_sent_in_clear() {
        // Port 9 (discard) on loopback: the refusal must come before any connection.
        let cfg = config("ldap://127.0.0.1:9", true).expect("config");
        let err = LdapSession::new(Arc::new(cfg))
            .set_password("CN=x", "P@ssw0rd")
            .expect_err("refused");
        assert_eq!(err.code(), "sandbox-refused", "{err}");
        assert!(err.to_string().contains("encrypted connection"), "{err}");
    }

    #[test]
    fn password_attributes_cannot_bypass_set_password() {
        let cfg = config("ldaps://127.0.0.1:9", false).expect("config");
        let mut session = LdapSession::new(Arc::new(cfg));
        let change = Modification {
            op: ModifyOp::Replace,
            attribute: "UnicodePwd".into(),
            values: vec!["x".into()],
        };
        let err = session.modify("CN=x", &[change]).expect_err("refused");
        assert_eq!(err.code(), "sandbox-refused", "{err}");
        let attr = Attribute {
            name: "userPassword".into(),
            values: vec!["x".into()],
        };
        assert_eq!(
            session.add("CN=x", &[attr]).expect_err("refused").code(),
            "sandbox-refused"
        );
    }

    #[test]
    fn binary_values_are_base64() {
        let guid = vec![b'a', b'b', b'c'];
        assert_eq!(text_values("objectGUID", vec![guid]), vec!["YWJj"]);
        assert_eq!(text_values("cn", vec![b"Jane".to_vec()]), vec!["Jane"]);
        assert_eq!(
            text_values("photo", vec![b"ok".to_vec(), vec![0xff, 0xfe]]),
            vec!["b2s=", "//4="]
        );
    }
}
