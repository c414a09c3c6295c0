//! Running the API: a listening socket, HTTPS (or, when asked for, plain HTTP), and a tokio
//! runtime of its own, so that the synchronous rest of `ilm` (and tests) can start and
//! stop a server without being async themselves. Every connection is held to
//! [`ConnectionLimits`], and every request carries the client's address, which the
//! lockout, the audit of failed logins and the request log use.

use super::connections::{ConnectionLimits, Slots};
use super::lockout::{Lockout, LockoutPolicy};
use super::{paths, router, Db, Plugins};
use anyhow::{Context, Result};
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use axum_server::Handle;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tower::util::MapRequestLayer;
use tower::{service_fn, Layer};

/// How long requests in flight may take to finish when the server stops.
const GRACE: Duration = Duration::from_secs(5);

pub enum Transport {
    Https(Arc<rustls::ServerConfig>),
    /// Keys cross the network in clear: only for loopback or behind a TLS proxy.
    Http,
}

/// How the server defends itself; the defaults suit an API with a few clients.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub connections: ConnectionLimits,
    pub lockout: LockoutPolicy,
}

/// A running server; it stops (gracefully) when dropped. Drop it outside async code.
pub struct Server {
    addr: SocketAddr,
    handle: Handle<SocketAddr>,
    serving: Option<JoinHandle<()>>,
    runtime: Option<Runtime>,
}

impl Server {
    /// Binds `listen` (port 0 picks a free port) and starts serving, with default limits.
    pub fn start(
        db: Db,
        plugins: Plugins,
        listen: SocketAddr,
        transport: Transport,
    ) -> Result<Self> {
        Self::start_with(db, plugins, listen, transport, Limits::default())
    }

    /// Binds `listen` (port 0 picks a free port) and starts serving within `limits`.
    /// `plugins` are the ones the runtime's instances use (for `GET /status`).
    pub fn start_with(
        db: Db,
        plugins: Plugins,
        listen: SocketAddr,
        transport: Transport,
        limits: Limits,
    ) -> Result<Self> {
        let listener = std::net::TcpListener::bind(listen)
            .with_context(|| format!("listening on {listen}"))?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("ilm-api")
            .build()
            .context("starting the server's runtime")?;
        let handle = Handle::new();
        let app = router(
            db,
            Arc::new(plugins),
            Arc::new(Lockout::new(limits.lockout)),
            limits.connections.header_timeout,
        );
        let make_service = service_fn(move |peer: SocketAddr| {
            std::future::ready(Ok::<_, Infallible>(for_connection(app.clone(), peer)))
        });
        let connections = limits.connections;
        let slots = Slots::new(connections.max_connections);
        let entered = runtime.enter();
        let serving = match transport {
            Transport::Https(config) => {
                let tls = RustlsAcceptor::new(RustlsConfig::from_config(config))
                    .handshake_timeout(connections.handshake_timeout)
                    .acceptor(slots);
                let server = axum_server::from_tcp(listener)?.acceptor(tls);
                let server = within(server, &handle, &connections);
                runtime.spawn(log_failure(server.serve(make_service)))
            }
            Transport::Http => {
                let server = axum_server::from_tcp(listener)?.acceptor(slots);
                let server = within(server, &handle, &connections);
                runtime.spawn(log_failure(server.serve(make_service)))
            }
        };
        drop(entered);
        Ok(Self {
            addr,
            handle,
            serving: Some(serving),
            runtime: Some(runtime),
        })
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until Ctrl-C or SIGTERM, then stops gracefully. `ready` runs once the signal
    /// handlers are in place, so a signal sent after it was seen is never lost.
    pub fn run_until_signal(self, ready: impl FnOnce()) -> Result<()> {
        if let Some(runtime) = &self.runtime {
            runtime.block_on(shutdown_signal(ready))?;
        }
        tracing::info!("stopping: letting requests in flight finish");
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.handle.graceful_shutdown(Some(GRACE));
        if let Some(runtime) = self.runtime.take() {
            if let Some(serving) = self.serving.take() {
                // The serve task ends once connections are closed or the grace runs out.
                let _ = runtime.block_on(serving);
            }
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

/// HTTP/1 only (the API needs nothing more, and it spares hyper's untimed protocol
/// detection), with the header timeout.
fn within<A>(
    server: axum_server::Server<SocketAddr, A>,
    handle: &Handle<SocketAddr>,
    limits: &ConnectionLimits,
) -> axum_server::Server<SocketAddr, A> {
    let mut server = server.handle(handle.clone()).http1_only();
    server
        .http_builder()
        .http1()
        .header_read_timeout(limits.header_timeout);
    // Refused slots, handshake timeouts and failures: the client's doing, so only at debug.
    server.accept_error_handler(|peer, err| {
        tracing::debug!("connection from {peer:?} dropped before its first request: {err}");
    })
}

/// The service for one connection: paths normalized before routing, and the client's
/// address in every request.
fn for_connection<B>(
    app: Router,
    peer: SocketAddr,
) -> tower::util::MapRequest<Router, impl FnMut(Request<B>) -> Request<B> + Clone> {
    MapRequestLayer::new(move |mut request: Request<B>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        paths::normalize(request)
    })
    .layer(app)
}

async fn log_failure(serve: impl std::future::Future<Output = std::io::Result<()>>) {
    if let Err(err) = serve.await {
        tracing::error!("the API server stopped: {err}");
    }
}

async fn shutdown_signal(ready: impl FnOnce()) -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
        let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        ready();
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        ready();
        tokio::signal::ctrl_c()
            .await
            .context("listening for Ctrl-C")?;
    }
    Ok(())
}
