//! `ilm serve`: the XSOAR-compatible REST API and the web console over HTTPS, and the limits
//! it holds clients to.

use super::{Context, Outcome};
use crate::api::{ConnectionLimits, Db, Limits, LockoutPolicy, Plugins, Server, Tls, Transport};
use anyhow::Result;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on (0.0.0.0:8443 for every interface).
    #[arg(long, env = "ILM_LISTEN", default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// PEM certificate chain to serve (with --key). Without both, a self-signed pair is
    /// made once in <data-dir>/tls and reused.
    #[arg(long, requires = "key", conflicts_with = "insecure_http")]
    cert: Option<PathBuf>,
    /// PEM private key of --cert.
    #[arg(long, requires = "cert", conflicts_with = "insecure_http")]
    key: Option<PathBuf>,
    /// Serve plain HTTP. API keys then cross the network in clear: only for loopback tests
    /// or behind a proxy that terminates TLS. (ConductorOne's connector requires https.)
    #[arg(long)]
    insecure_http: bool,
    /// Seconds a client has to finish the TLS handshake before it is disconnected.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = seconds())]
    handshake_timeout: u64,
    /// Seconds a client has to send a request's headers (also how long an idle
    /// connection stays open), and again its body, before it is disconnected.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = seconds())]
    header_timeout: u64,
    /// Connections served at once; more are closed on arrival. Keep it under the open
    /// file limit (`ulimit -n`).
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Failed authentications from one address, within --auth-failure-window, after which
    /// that address is answered 429 for --lockout (0: never). Behind a proxy, every client
    /// has the proxy's address.
    #[arg(long, value_name = "N", default_value_t = 10)]
    auth_failures: u32,
    /// Seconds over which --auth-failures are counted.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = seconds())]
    auth_failure_window: u64,
    /// Seconds an address that failed too often is answered 429 (with Retry-After).
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = seconds())]
    lockout: u64,
}

/// Whole seconds, from 1 to a day.
fn seconds() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..=86_400)
}

impl ServeArgs {
    fn limits(&self) -> Limits {
        Limits {
            connections: ConnectionLimits {
                handshake_timeout: Duration::from_secs(self.handshake_timeout),
                header_timeout: Duration::from_secs(self.header_timeout),
                max_connections: self.max_connections as usize,
            },
            lockout: LockoutPolicy {
                max_failures: self.auth_failures,
                window: Duration::from_secs(self.auth_failure_window),
                block: Duration::from_secs(self.lockout),
            },
        }
    }
}

pub fn run(ctx: &Context, args: ServeArgs) -> Result<Outcome> {
    drop(ctx.store()?); // creates the data directory and applies migrations
    let db = Db::open(&ctx.database())?;
    let (transport, scheme) = if args.insecure_http {
        eprintln!("warning: serving plain HTTP; API keys cross the network in clear");
        (Transport::Http, "http")
    } else {
        let tls = match (&args.cert, &args.key) {
            (Some(cert), Some(key)) => Tls::from_files(cert, key)?,
            _ => Tls::self_signed(&ctx.data_dir)?,
        };
        println!(
            "certificate {}{}",
            tls.cert_path.display(),
            if tls.generated {
                " (self-signed, made now)"
            } else {
                ""
            }
        );
        println!("SHA-256 fingerprint {}", tls.fingerprint);
        (Transport::Https(tls.config), "https")
    };
    // With the playbooks at hand, an answer resumes its incident at once. Without them
    // the API still serves (ConductorOne needs it); workers resume answered incidents.
    let playbooks = match ctx.playbooks_dir.is_dir().then(|| ctx.services()) {
        Some(Ok(services)) => Some(services),
        Some(Err(err)) => {
            tracing::warn!(
                "answered incidents wait for `ilm worker` or `ilm run`: the playbooks cannot \
                 run here: {err:#}"
            );
            None
        }
        None => {
            tracing::warn!(
                "no playbooks folder at {}: answered incidents wait for `ilm worker` or `ilm run`",
                ctx.playbooks_dir.display()
            );
            None
        }
    };
    let plugins = Plugins {
        host: ctx.host()?,
        mappers: ctx.mappers(),
        playbooks,
    };
    let server = Server::start_with(db, plugins, args.listen, transport, args.limits())?;
    let addr = server.addr();
    let host = if addr.ip().is_unspecified() {
        "localhost".to_owned()
    } else {
        match addr {
            SocketAddr::V4(v4) => v4.ip().to_string(),
            SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
        }
    };
    server.run_until_signal(|| {
        println!(
            "listening on {addr}; API URL {scheme}://{host}:{port}/xsoar; console \
             {scheme}://{host}:{port}/ (a user signs in once `ilm user set-password USER` gave them a password)",
            port = addr.port()
        );
    })?;
    Ok(Outcome::Success)
}
