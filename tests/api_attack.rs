//! The API under attack: clients that stall the TLS handshake or send half a request (head
//! or body), a flood past the connection cap, and key guessing from one address. Timeouts here are
//! short and every bound generous (3× the timeout), so a loaded machine cannot make these
//! pass or fail by luck: a bound only proves that the server closed a socket.

mod api_common;

use api_common::{client, get, Fixture};
use ilm::api::{ConnectionLimits, Limits, LockoutPolicy};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::json;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn limits(timeout: Duration, max_connections: usize) -> Limits {
    Limits {
        connections: ConnectionLimits {
            handshake_timeout: timeout,
            header_timeout: timeout,
            max_connections,
        },
        lockout: LockoutPolicy::default(),
    }
}

/// A TLS client that trusts the fixture's self-signed certificate.
fn tls_client(fx: &Fixture) -> Arc<rustls::ClientConfig> {
    let (cert, _) = ilm::api::self_signed_paths(fx.dir.path());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&cert).expect("certificate") {
        roots.add(cert.expect("certificate")).expect("root");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocols")
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}

/// How a stalled client stalls.
#[derive(Debug, Clone, Copy)]
enum Stall {
    /// Connects and sends nothing: stuck before the handshake.
    Silent,
    /// Sends the first half of a TLS ClientHello.
    HalfHello,
    /// Finishes the handshake, then sends nothing.
    TlsIdle,
    /// Finishes the handshake and sends half a request head.
    HalfHead,
    /// Sends a whole head, with a valid key, and a tenth of the body it announced.
    HalfBody,
}

trait Socket: Read + Write {}
impl<T: Read + Write> Socket for T {}

struct Stalled {
    stall: Stall,
    /// When it stopped sending: the server's clock for it starts no later.
    since: Instant,
    tcp: TcpStream,
    stream: Box<dyn Socket>,
}

fn stall(addr: SocketAddr, tls: &Arc<rustls::ClientConfig>, how: Stall, key: &str) -> Stalled {
    let tcp = TcpStream::connect(addr).expect("connect");
    let handle = tcp.try_clone().expect("clone");
    let name = ServerName::try_from("localhost").expect("name");
    let stream: Box<dyn Socket> = match how {
        Stall::Silent => Box::new(tcp),
        Stall::HalfHello => {
            let mut conn = rustls::ClientConnection::new(tls.clone(), name).expect("tls");
            let mut hello = Vec::new();
            conn.write_tls(&mut hello).expect("client hello");
            let mut tcp = tcp;
            tcp.write_all(&hello[..hello.len() / 2]).expect("send");
            Box::new(tcp)
        }
        Stall::TlsIdle | Stall::HalfHead | Stall::HalfBody => {
            let conn = rustls::ClientConnection::new(tls.clone(), name).expect("tls");
            let mut stream = rustls::StreamOwned::new(conn, tcp);
            while stream.conn.is_handshaking() {
                stream
                    .conn
                    .complete_io(&mut stream.sock)
                    .expect("handshake");
            }
            let sent = match how {
                Stall::HalfHead => {
                    "GET /users HTTP/1.1\r\nHost: localhost\r\nAuthorization: ".to_owned()
                }
                Stall::HalfBody => format!(
                    "POST /users/update HTTP/1.1\r\nHost: localhost\r\nAuthorization: {key}\r\n\
                     Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"id\":\""
                ),
                _ => String::new(),
            };
            stream.write_all(sent.as_bytes()).expect("send");
            stream.flush().expect("flush");
            Box::new(stream)
        }
    };
    Stalled {
        stall: how,
        since: Instant::now(),
        tcp: handle,
        stream,
    }
}

impl Stalled {
    /// Waits until `deadline` for the server to close the connection; true if it did.
    fn closed_by(&mut self, deadline: Instant) -> bool {
        let mut buf = [0u8; 4096];
        loop {
            // Past the deadline, one short read still sees a close that already happened.
            let left = deadline.saturating_duration_since(Instant::now());
            self.tcp
                .set_read_timeout(Some(left.max(Duration::from_millis(10))))
                .expect("timeout");
            match self.stream.read(&mut buf) {
                Ok(0) => return true,
                // Session tickets and the like: not a close yet.
                Ok(_) => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return false
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // A reset, or TLS cut off without close_notify: closed all the same.
                Err(_) => return true,
            }
        }
    }
}

#[test]
fn stalled_clients_are_disconnected_and_others_are_served() {
    let timeout = Duration::from_secs(1);
    let fx = Fixture::start_with(limits(timeout, 512));
    let tls = tls_client(&fx);
    let addr = fx.server.addr();
    let kinds = [
        Stall::Silent,
        Stall::HalfHello,
        Stall::TlsIdle,
        Stall::HalfHead,
        Stall::HalfBody,
    ];
    let mut stalled: Vec<Stalled> = (0..40)
        .flat_map(|_| kinds)
        .map(|how| stall(addr, &tls, how, &fx.keys.admin))
        .collect();

    // Meanwhile a client that behaves is served.
    let reply = get(&client(), &fx.url("/users"), Some(&fx.keys.admin));
    assert_eq!(reply.status, 200);

    let mut open = Vec::new();
    for s in &mut stalled {
        if !s.closed_by(s.since + 3 * timeout) {
            open.push(s.stall);
        }
    }
    assert!(
        open.is_empty(),
        "{} of {} stalled connections still open {:?} after they stalled: {open:?}",
        open.len(),
        stalled.len(),
        3 * timeout
    );
    // And the server still serves.
    let reply = get(&client(), &fx.url("/users"), Some(&fx.keys.admin));
    assert_eq!(reply.status, 200);
}

#[test]
fn connections_past_the_cap_are_closed_until_slots_free_up() {
    // Long enough that the slots are surely still held when the next client comes.
    let timeout = Duration::from_secs(3);
    let fx = Fixture::start_with(limits(timeout, 8));
    let tls = tls_client(&fx);
    let mut silent: Vec<Stalled> = (0..8)
        .map(|_| stall(fx.server.addr(), &tls, Stall::Silent, ""))
        .collect();
    let started = Instant::now();
    // The accept loop takes the eight before the ninth.
    std::thread::sleep(Duration::from_millis(200));
    let refused = client()
        .get(fx.url("/users"))
        .header("Authorization", &fx.keys.admin)
        .send();
    assert!(
        refused.is_err() || started.elapsed() >= timeout,
        "a ninth connection was served while eight held every slot: {refused:?}"
    );
    for s in &mut silent {
        assert!(
            s.closed_by(s.since + 3 * timeout),
            "a silent client kept its slot"
        );
    }
    let reply = get(&client(), &fx.url("/users"), Some(&fx.keys.admin));
    assert_eq!(reply.status, 200, "slots are given back");
}

#[test]
fn guessing_keys_from_one_address_is_answered_429_and_audited() {
    let policy = LockoutPolicy {
        max_failures: 5,
        window: Duration::from_secs(60),
        block: Duration::from_secs(30),
    };
    let fx = Fixture::start_with(Limits {
        lockout: policy,
        ..Limits::default()
    });
    let client = client();
    assert_eq!(
        get(&client, &fx.url("/users"), Some(&fx.keys.admin)).status,
        200,
        "a valid key counts for nothing"
    );
    let guesses = [
        fx.keys.unknown.clone(),
        fx.keys.wrong_secret.clone(),
        "0".repeat(64),
        "not a key".to_owned(),
        fx.keys.revoked.clone(),
    ];
    for guess in &guesses {
        let reply = get(&client, &fx.url("/users"), Some(guess));
        assert_eq!(reply.status, 401, "{guess}");
    }

    // Now even the right key is refused from this address, with the time to wait.
    let reply = get(&client, &fx.url("/xsoar//users"), Some(&fx.keys.admin));
    assert_eq!(reply.status, 429);
    assert!(reply
        .error_detail()
        .contains("too many failed authentications from 127.0.0.1"));
    let wait: u64 = reply.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=30).contains(&wait), "Retry-After: {wait}");
    assert_eq!(get(&client, &fx.url("/nowhere"), None).status, 429);

    // Another address is not held to this one's failures.
    let elsewhere = reqwest::blocking::Client::builder()
        .danger_accept_invalid_certs(true)
        .local_address("127.0.0.2".parse::<IpAddr>().expect("address"))
        .build()
        .expect("client");
    let reply = get(&elsewhere, &fx.url("/users"), Some(&fx.keys.admin));
    assert_eq!(reply.status, 200);

    let log = fx.store().audit_log(100).expect("audit");
    let failures: Vec<_> = log.iter().filter(|e| e.action == "auth.fail").collect();
    assert_eq!(failures.len(), guesses.len());
    for entry in &failures {
        assert_eq!(entry.target, "127.0.0.1");
        assert_eq!(entry.actor, ilm::store::ANONYMOUS);
        assert_eq!(entry.after["request"], "GET /users");
        assert!(entry.after["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty()));
    }
    assert!(failures
        .iter()
        .any(|e| e.after["reason"] == "this API key was revoked"));
    let lockouts: Vec<_> = log.iter().filter(|e| e.action == "auth.lockout").collect();
    assert_eq!(lockouts.len(), 1);
    assert_eq!(lockouts[0].target, "127.0.0.1");
    assert_eq!(lockouts[0].after, json!({"seconds": 30}));
}
