//! What a connection may hold. Each connection takes one of `max_connections` slots before
//! its TLS handshake and keeps it until it closes; one that finds no slot free is closed at
//! once, so a flood cannot exhaust file descriptors. A connection makes no progress for
//! long: the handshake must finish within `handshake_timeout`, every request's head must
//! arrive within `header_timeout` of the server starting to wait for it (which also closes
//! idle keep-alive connections), and its body within as long again (`body_deadline`), so
//! silent or slow clients give their slots back.

use axum_server::accept::Accept;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a connection may take, and how many there may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub handshake_timeout: Duration,
    /// For a request's head, and again for its body.
    pub header_timeout: Duration,
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            // Far more than the API's few clients need, and under the usual 1024 open files.
            max_connections: 512,
        }
    }
}

/// An acceptor that gives each connection a slot, or closes it when none is free. It runs
/// before TLS, so a connection stalled in its handshake holds a slot too.
#[derive(Clone)]
pub struct Slots {
    free: Arc<Semaphore>,
    /// Set while connections are being turned away, so that it is logged once per episode.
    full: Arc<AtomicBool>,
}

impl Slots {
    pub fn new(max_connections: usize) -> Self {
        Self {
            free: Arc::new(Semaphore::new(max_connections)),
            full: Arc::default(),
        }
    }
}

impl<S> Accept<TcpStream, S> for Slots {
    type Stream = Slotted;
    type Service = S;
    type Future = std::future::Ready<io::Result<(Slotted, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        std::future::ready(match self.free.clone().try_acquire_owned() {
            Ok(slot) => {
                if self.full.swap(false, Ordering::Relaxed) {
                    tracing::warn!("a connection slot is free again");
                }
                Ok((
                    Slotted {
                        stream,
                        _slot: slot,
                    },
                    service,
                ))
            }
            Err(_) => {
                if !self.full.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "all connection slots are taken: closing new connections on arrival"
                    );
                }
                Err(io::Error::other("no connection slot free"))
            }
        })
    }
}

/// A connection and the slot it holds until dropped.
pub struct Slotted {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
}

impl AsyncRead for Slotted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Slotted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
