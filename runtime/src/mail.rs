//! Outgoing mail over SMTP (lettre). The server is one URL: `smtp://host:port` (plain, for
//! a local relay), `smtp://host:port?tls=required` (STARTTLS) or `smtps://host:port`.

use anyhow::{bail, Context, Result};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::{Message, SmtpTransport, Transport};
use serde::{Deserialize, Serialize};
use std::time::Duration;

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
    transport: SmtpTransport,
    from: Mailbox,
}

impl Mailer {
    pub fn new(url: &str, from: &str) -> Result<Self> {
        let transport = SmtpTransport::from_url(url)
            .with_context(|| {
                format!("the SMTP URL {url:?} is not valid (smtp://host:port, smtps://host:port)")
            })?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        let from = from
            .parse()
            .with_context(|| format!("the sender address {from:?} is not valid"))?;
        Ok(Self { transport, from })
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
        self.transport
            .send(&message)
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
