//! `ilm serve`: the XSOAR-compatible REST API over HTTPS.

use super::{Context, Outcome};
use crate::api::{Db, Server, Tls, Transport};
use anyhow::Result;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

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
}

pub fn run(ctx: &Context, args: ServeArgs) -> Result<Outcome> {
    drop(ctx.store()?); // creates the data directory and applies migrations
    let db = Db::open(&ctx.db_path())?;
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
    let server = Server::start(db, args.listen, transport)?;
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
            "listening on {addr}; API URL {scheme}://{host}:{}/xsoar",
            addr.port()
        );
    })?;
    Ok(Outcome::Success)
}
