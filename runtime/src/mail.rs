//! Outgoing mail over SMTP (lettre). The server is one URL: `smtp://host:port` (plain, for
//! a local relay), `smtp://host:port?tls=required` (STARTTLS) or `smtps://host:port`, with
//! `user:password@` when the server wants a login, and `ca=FILE` (a PEM file of CA
//! certificates) for a server whose certificate an own CA issued.
//!
//! lettre speaks SMTP; the TCP connection is ours, so that it can send without Nagle's
//! algorithm: lettre writes a message's end (`\r\n.\r\n`) apart from its body, and a
//! server's delayed ACK then held every mail back 40 ms, most of a new hire's time in AD
//! after the directory's own. (lettre's own connections set `TCP_NODELAY` from its release
//! after 0.11.23 on; until then `smtps://`, which connects through lettre, still waits.)

use anyhow::{anyhow, bail, Context, Result};
use lettre::address::Envelope;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, Certificate, CertificateStore, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{SMTP_PORT, SUBMISSIONS_PORT, SUBMISSION_PORT};
use lettre::Message;
use rustls::pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::{Host, Url};

/// How long one delivery may take, from connecting to the server's answer to the message.
const TIMEOUT: Duration = Duration::from_secs(15);

/// One message as playbooks describe it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Mail {
    pub to: Vec<String>,
    #[serde(default)]
    pub cc: Vec<String>,
    pub subject: String,
    pub body: String,
}

pub struct Mailer {
    server: Server,
    from: Mailbox,
}

/// Where mail goes, as its URL says.
#[derive(Debug)]
struct Server {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    /// The CAs that verify the server, from `ca=`; `None`: the public roots.
    ca: Option<CaFile>,
}

/// A PEM file of CA certificates, read when the URL is.
struct CaFile {
    path: PathBuf,
    certificates: Vec<CertificateDer<'static>>,
}

impl std::fmt::Debug for CaFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CaFile({})", self.path.display())
    }
}

impl CaFile {
    fn read(path: &Path) -> Result<Self> {
        let certificates = crate::ca_file::certificates(path)
            .map_err(|why| anyhow!("reading the SMTP CA file {}: {why}", path.display()))?;
        Ok(Self {
            path: path.to_owned(),
            certificates,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Security {
    /// `smtp://`: in clear, for a relay on the same machine or network.
    None,
    /// `smtp://...?tls=required`: STARTTLS, or no mail.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

impl Server {
    fn parse(text: &str) -> Result<Self> {
        let invalid = || {
            format!(
                "the SMTP URL {text:?} is not valid (smtp://host:port, smtp://host:port?tls=required, smtps://host:port)"
            )
        };
        let url = Url::parse(text).with_context(invalid)?;
        let (mut tls, mut ca) = (None, None);
        for (name, value) in url.query_pairs() {
            match name.as_ref() {
                "tls" => tls = Some(value.into_owned()),
                "ca" => ca = Some(PathBuf::from(value.as_ref())),
                other => bail!(
                    "{}: {other}= is not an option (tls=required, ca=FILE)",
                    invalid()
                ),
            }
        }
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtp", None) => Security::None,
            ("smtp", Some("required")) => Security::StartTls,
            ("smtps", None) => Security::Implicit,
            (_, Some(other)) => {
                bail!(
                    "{}: tls={other} is not a choice, only tls=required",
                    invalid()
                )
            }
            _ => bail!(invalid()),
        };
        // An IPv6 address, bracketed in a URL, is connected to without its brackets.
        let host = match url.host().with_context(invalid)? {
            Host::Domain("") => bail!(invalid()),
            Host::Domain(name) => name.to_owned(),
            Host::Ipv4(address) => address.to_string(),
            Host::Ipv6(address) => address.to_string(),
        };
        let port = url.port().unwrap_or(match security {
            Security::None => SMTP_PORT,
            Security::StartTls => SUBMISSION_PORT,
            Security::Implicit => SUBMISSIONS_PORT,
        });
        let decode = |part: &str| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8()
                .map(|text| text.into_owned())
                .with_context(invalid)
        };
        let credentials = match url.username() {
            "" => None,
            // A password never crosses the network in clear.
            _ if security == Security::None => bail!(
                "the SMTP URL {text:?} has a login but no TLS: use smtp://host:port?tls=required or smtps://host:port"
            ),
            user => Some(Credentials::new(
                decode(user)?,
                decode(url.password().unwrap_or_default())?,
            )),
        };
        let ca = match ca {
            None => None,
            Some(_) if security == Security::None => bail!(
                "{}: ca= verifies a TLS server; use it with tls=required or smtps://",
                invalid()
            ),
            Some(path) => Some(CaFile::read(&path)?),
        };
        Ok(Self {
            host,
            port,
            security,
            credentials,
            ca,
        })
    }

    /// TLS that verifies the server against `ca=`, or else the public roots.
    fn tls(&self) -> Result<TlsParameters> {
        let mut builder = TlsParameters::builder(self.host.clone());
        if let Some(ca) = &self.ca {
            builder = builder.certificate_store(CertificateStore::None);
            for certificate in &ca.certificates {
                let root = Certificate::from_der(certificate.to_vec()).with_context(|| {
                    format!("the SMTP CA file {} is unusable", ca.path.display())
                })?;
                builder = builder.add_root_certificate(root);
            }
        }
        Ok(builder.build()?)
    }

    /// Connects, greets, secures and logs in as the URL says.
    async fn connect(&self) -> Result<AsyncSmtpConnection> {
        let hello = ClientId::default();
        let address = (self.host.as_str(), self.port);
        let mut conn = match self.security {
            Security::Implicit => {
                // (The delivery's timeout bounds the connection too.)
                AsyncSmtpConnection::connect_tokio1(address, None, &hello, Some(self.tls()?), None)
                    .await?
            }
            Security::None | Security::StartTls => {
                let tcp = tokio::net::TcpStream::connect(address).await?;
                tcp.set_nodelay(true)?;
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello).await?
            }
        };
        if self.security == Security::StartTls {
            conn.starttls(self.tls()?, &hello).await?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .context("the SMTP server refused the login")?;
        }
        Ok(conn)
    }

    /// Delivers one message on a connection of its own.
    async fn deliver(&self, envelope: &Envelope, message: &[u8]) -> Result<()> {
        let mut conn = self.connect().await?;
        conn.send(envelope, message).await?;
        // The message is accepted; a failed goodbye changes nothing.
        drop(conn.quit().await);
        Ok(())
    }
}

impl Mailer {
    pub fn new(url: &str, from: &str) -> Result<Self> {
        let server = Server::parse(url)?;
        let from = from
            .parse()
            .with_context(|| format!("the sender address {from:?} is not valid"))?;
        Ok(Self { server, from })
    }

    /// Sends one message; every address must parse. `id` is the left part of its
    /// Message-ID (the sender's domain is the right): the same for a repeat of the same
    /// mail, so a receiver can drop repeats.
    pub fn send(&self, mail: &Mail, id: &str) -> Result<()> {
        if mail.to.is_empty() {
            bail!(
                "a mail needs at least one recipient (subject {:?})",
                mail.subject
            );
        }
        let mut builder = Message::builder()
            .message_id(Some(format!("<{id}@{}>", self.from.email.domain())))
            .from(self.from.clone())
            .subject(&mail.subject);
        for to in &mail.to {
            builder = builder.to(to
                .parse()
                .with_context(|| format!("recipient {to:?} is not a valid address"))?);
        }
        for cc in &mail.cc {
            builder = builder.cc(cc
                .parse()
                .with_context(|| format!("cc {cc:?} is not a valid address"))?);
        }
        // 8bit keeps the text readable as sent (no quoted-printable escapes in a password);
        // a body 8bit cannot carry (over-long lines) gets lettre's own choice.
        let body = Body::new_with_encoding(mail.body.clone(), ContentTransferEncoding::EightBit)
            .unwrap_or_else(Body::new);
        let message = builder.header(ContentType::TEXT_PLAIN).body(body)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the mail client")?;
        let (server, formatted) = (&self.server, message.formatted());
        runtime
            .block_on(async {
                let delivery = server.deliver(message.envelope(), &formatted);
                match tokio::time::timeout(TIMEOUT, delivery).await {
                    Ok(delivered) => delivered,
                    Err(_) => bail!(
                        "the SMTP server {}:{} did not answer within {TIMEOUT:?}",
                        server.host,
                        server.port
                    ),
                }
            })
            .with_context(|| format!("sending {:?} to {}", mail.subject, mail.to.join(", ")))?;
        Ok(())
    }
}

/// Splits a comma-separated recipient list (as the ILM lists hold them), dropping blanks.
pub fn recipients(csv: &str) -> Vec<String> {
    csv.split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipient_lists_are_split_and_trimmed() {
        assert_eq!(
            recipients(" a@x.test, b@x.test;;c@x.test ,"),
            vec!["a@x.test", "b@x.test", "c@x.test"]
        );
        assert!(recipients("").is_empty());
    }

    #[test]
    fn the_url_says_where_how_and_as_whom() {
        let plain = Server::parse("smtp://relay.example.test").unwrap();
        assert_eq!(
            (plain.host.as_str(), plain.port, plain.security),
            ("relay.example.test", 25, Security::None)
        );
        assert!(plain.credentials.is_none());
        let starttls = Server::parse("smtp://u%40x:p%2Fw@[::1]?tls=required").unwrap();
        assert_eq!(
            (starttls.host.as_str(), starttls.port, starttls.security),
            ("::1", 587, Security::StartTls)
        );
        assert_eq!(
            starttls.credentials,
            Some(Credentials::new("u@x".into(), "p/w".into()))
        );
        let implicit = Server::parse("smtps://mail.example.test:2465").unwrap();
        assert_eq!(
            (implicit.port, implicit.security),
            (2465, Security::Implicit)
        );
        let login_in_clear = Server::parse("smtp://u:p@relay.example.test").unwrap_err();
        assert!(
            login_in_clear
                .to_string()
                .contains("has a login but no TLS"),
            "{login_in_clear}"
        );
        for bad in [
            "ftp://x",
            "smtp://",
            "smtp://x?tls=opportunistic",
            "smtps://x?tls=required",
            "smtp://x?tsl=required",
            "smtp://x?ca=/etc/ssl/certs/ca-certificates.crt",
            "x",
        ] {
            let err = Server::parse(bad).unwrap_err().to_string();
            assert!(err.contains("is not valid"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_ca_file_is_read_with_the_url_and_must_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = format!(
            "{:#}",
            Server::parse(&format!("smtps://x?ca={}", missing.display())).unwrap_err()
        );
        assert!(
            err.contains("reading the SMTP CA file") && err.contains("missing.pem"),
            "{err}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = Server::parse(&format!("smtp://x?tls=required&ca={}", empty.display()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds no PEM certificate"), "{err}");
    }

    #[test]
    fn an_unreachable_server_is_an_error_naming_the_mail() {
        // A port nothing listens on: the connection is refused at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let mailer = Mailer::new(&format!("smtp://127.0.0.1:{port}"), "ilm@x.test").unwrap();
        let mail = Mail {
            to: vec!["a@x.test".into()],
            cc: vec![],
            subject: "Hello".into(),
            body: "b".into(),
        };
        let err = format!("{:#}", mailer.send(&mail, "ilm.1.1.0").unwrap_err());
        assert!(err.starts_with("sending \"Hello\" to a@x.test: "), "{err}");
        assert!(err.to_lowercase().contains("refused"), "{err}");
    }

    #[test]
    fn bad_addresses_and_urls_are_clear_errors() {
        assert!(Mailer::new("ftp://x", "ilm@x.test").is_err());
        let mailer = Mailer::new("smtp://127.0.0.1:1", "ilm@x.test").unwrap();
        let err = mailer
            .send(
                &Mail {
                    to: vec!["not an address".into()],
                    cc: vec![],
                    subject: "s".into(),
                    body: "b".into(),
                },
                "ilm.1.1.0",
            )
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("recipient \"not an address\""),
            "{err:#}"
        );
        let err = mailer
            .send(
                &Mail {
                    to: vec![],
                    cc: vec![],
                    subject: "s".into(),
                    body: "b".into(),
                },
                "ilm.1.1.0",
            )
            .unwrap_err();
        assert!(err.to_string().contains("at least one recipient"));
    }
}
