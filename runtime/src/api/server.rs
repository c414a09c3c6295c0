//! Running the API: a listening socket, HTTPS (or, when asked for, plain HTTP), and a tokio
//! runtime of its own, so that the synchronous rest of `ilm` (and tests) can start and
//! stop a server without being async themselves.

use super::{paths, router, Db};
use anyhow::{Context, Result};
use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tower::make::Shared;
use tower::util::MapRequestLayer;
use tower::Layer;

/// How long requests in flight may take to finish when the server stops.
const GRACE: Duration = Duration::from_secs(5);

pub enum Transport {
    Https(Arc<rustls::ServerConfig>),
    /// Keys cross the network in clear: only for loopback or behind a TLS proxy.
    Http,
}

/// A running server; it stops (gracefully) when dropped. Drop it outside async code.
pub struct Server {
    addr: SocketAddr,
    handle: Handle<SocketAddr>,
    serving: Option<JoinHandle<()>>,
    runtime: Option<Runtime>,
}

impl Server {
    /// Binds `listen` (port 0 picks a free port) and starts serving.
    pub fn start(db: Db, listen: SocketAddr, transport: Transport) -> Result<Self> {
        let listener = std::net::TcpListener::bind(listen)
            .with_context(|| format!("listening on {listen}"))?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("ilm-api")
            .build()
            .context("starting the server's runtime")?;
        let handle = Handle::new();
        // Paths are normalized before routing, so the rewrite wraps the router.
        let service = Shared::new(MapRequestLayer::new(paths::normalize).layer(router(db)));
        let entered = runtime.enter();
        let serving = match transport {
            Transport::Https(config) => {
                let server =
                    axum_server::from_tcp_rustls(listener, RustlsConfig::from_config(config))?
                        .handle(handle.clone());
                runtime.spawn(log_failure(server.serve(service)))
            }
            Transport::Http => {
                let server = axum_server::from_tcp(listener)?.handle(handle.clone());
                runtime.spawn(log_failure(server.serve(service)))
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
