//! Mail over TLS to aiosmtpd with a certificate of a test CA: STARTTLS and `smtps://`
//! deliver when the URL's `ca=` names that CA, and refuse the server when it does not.

mod support;

use ilm::mail::{Mail, Mailer};
use std::ffi::OsStr;
use support::{SmtpSink, TestCa};

fn welcome() -> Mail {
    Mail {
        to: vec!["manager@acme.test".into()],
        cc: vec![],
        subject: "New Hire Account Created: jdoe".into(),
        body: "Password: s3cret".into(),
    }
}

/// aiosmtpd with the test CA's server certificate, under the two options given.
fn sink(ca: &TestCa, cert_option: &str, key_option: &str) -> SmtpSink {
    let (cert, key) = (ca.path("cert.pem"), ca.path("key.pem"));
    SmtpSink::start_with(&[
        OsStr::new(cert_option),
        cert.as_os_str(),
        OsStr::new(key_option),
        key.as_os_str(),
    ])
}

/// Sends [`welcome`] through `url`; the error with its causes.
fn send(url: &str) -> Result<(), String> {
    let mailer = Mailer::new(url, "ilm@acme.test").map_err(|e| format!("{e:#}"))?;
    mailer
        .send(&welcome(), "ilm.1.1.0")
        .map_err(|e| format!("{e:#}"))
}

#[test]
fn starttls_and_smtps_deliver_to_a_server_of_the_named_ca_and_refuse_it_otherwise() {
    let ca = TestCa::new();
    let ca_file = ca.path("ca.pem").display().to_string();
    for (scheme, cert_option, key_option, tls) in [
        ("smtp", "--tlscert", "--tlskey", "tls=required&"),
        ("smtps", "--smtpscert", "--smtpskey", ""),
    ] {
        let smtp = sink(&ca, cert_option, key_option);
        let address = format!("{scheme}://127.0.0.1:{}", smtp.server.port);

        // The public roots do not know the test CA: nothing is sent.
        let refused = send(&format!("{address}?{}", tls.trim_end_matches('&')))
            .expect_err("a server of an unknown CA is refused");
        assert!(
            refused.starts_with("sending \"New Hire Account Created: jdoe\"")
                && refused.to_lowercase().contains("certificate"),
            "{scheme}: {refused}"
        );
        assert!(smtp.messages().is_empty(), "{scheme}");

        send(&format!("{address}?{tls}ca={ca_file}")).unwrap_or_else(|e| panic!("{scheme}: {e}"));
        let messages = smtp.messages();
        assert_eq!(messages.len(), 1, "{scheme}");
        assert!(
            messages[0].contains("Subject: New Hire Account Created: jdoe")
                && messages[0].contains("Password: s3cret"),
            "{scheme}: {}",
            messages[0]
        );
    }
}
