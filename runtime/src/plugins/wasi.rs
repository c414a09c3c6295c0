//! The WASI 0.2 a plugin may import, granting nothing: no preopened directories, an empty
//! environment and argument list, closed stdin, every socket address and name lookup
//! refused. Clocks work, randomness comes from the operating system's CSPRNG, and stdout and
//! stderr go line by line into the host's log under the plugin's name. A plugin lists the
//! interfaces it imports in its manifest (`[wasi] imports`); anything else it imports is
//! refused at load, every such import named.

use super::sandbox::CallState;
use super::Manifest;
use anyhow::{bail, Result};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::Engine;
use wasmtime::StoreContextMut;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// The WASI interfaces the host links (major version 0.2), as a manifest names them.
pub const PROVIDED: &[&str] = &[
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/ip-name-lookup",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
];

/// The interfaces the host's own WIT gives every plugin.
const HOST_PACKAGE: &str = "ilm:plugin/";

/// A guest's stdout or stderr logs at most this much per call; the rest is dropped (and
/// the drop logged once), so a chatty plugin cannot flood the log.
const OUTPUT_BUDGET: usize = 64 * 1024;
/// A line longer than this is logged in pieces.
const MAX_LINE: usize = 4 * 1024;

/// The monotonic clock as the host links it.
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

pub fn add_to_linker(linker: &mut Linker<CallState>) -> Result<()> {
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    bound_clock_waits(linker)
}

/// A guest blocked in `wasi:io/poll` runs no code, so the call's deadline cannot stop it
/// there: every clock a guest subscribes to fires by the deadline at the latest, after
/// which its next instruction traps.
fn bound_clock_waits(linker: &mut Linker<CallState>) -> Result<()> {
    use wasmtime_wasi::clocks::WasiClocksView;
    use wasmtime_wasi::p2::bindings::clocks::monotonic_clock::Host;
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap(
        "subscribe-duration",
        |mut store: StoreContextMut<'_, CallState>, (nanos,): (u64,)| {
            let nanos = store.data().bounded_wait(nanos);
            Ok((store.data_mut().clocks().subscribe_duration(nanos)?,))
        },
    )?;
    clock.func_wrap(
        "subscribe-instant",
        |mut store: StoreContextMut<'_, CallState>, (when,): (u64,)| {
            let mut clocks = store.data_mut().clocks();
            let nanos = when.saturating_sub(clocks.now()?);
            let nanos = store.data().bounded_wait(nanos);
            Ok((store.data_mut().clocks().subscribe_duration(nanos)?,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

impl CallState {
    /// A wait of `nanos`, cut to end at the call's deadline.
    fn bounded_wait(&self, nanos: u64) -> u64 {
        let left = self
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        nanos.min(u64::try_from(left.as_nanos()).unwrap_or(u64::MAX))
    }
}

/// Every import of `component` the host will not satisfy for `manifest`, with why; an
/// error listing them all when there is any.
pub fn check_imports(engine: &Engine, manifest: &Manifest, component: &Component) -> Result<()> {
    let declared = manifest.wasi_imports();
    let refused: Vec<String> = component
        .component_type()
        .imports(engine)
        .filter_map(|(name, _)| refusal(name, declared).map(|why| format!("  {name}: {why}")))
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    bail!(
        "plugin {:?} imports what this host does not grant it:\n{}\n\
         declare each WASI 0.2 interface the plugin uses in its manifest ([wasi] imports = [...], \
         names without the version), and rebuild the plugin without any other import",
        manifest.name,
        refused.join("\n")
    )
}

/// Why the host refuses the import `name`, or `None` when it grants it.
fn refusal(name: &str, declared: &[String]) -> Option<&'static str> {
    if name.starts_with(HOST_PACKAGE) {
        return None;
    }
    let (interface, version) = name.split_once('@').unwrap_or((name, ""));
    if !PROVIDED.contains(&interface) {
        return Some("not a capability this host provides");
    }
    if !version.starts_with("0.2.") {
        return Some("this host provides WASI 0.2 only");
    }
    if !declared.iter().any(|d| d == interface) {
        return Some("not declared in the manifest's [wasi] imports");
    }
    None
}

/// One call's WASI: the context granting nothing and the guest's WASI resources.
pub struct WasiState {
    ctx: WasiCtx,
    table: ResourceTable,
}

impl WasiState {
    fn new(plugin: &Arc<str>, instance: &Arc<str>) -> Self {
        let log = |stream| GuestOutput::new(plugin.clone(), instance.clone(), stream);
        let ctx = WasiCtx::builder()
            .stdout(log("stdout"))
            .stderr(log("stderr"))
            .secure_random(OsRandom)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false)
            .build();
        Self {
            ctx,
            table: ResourceTable::new(),
        }
    }
}

impl WasiView for CallState {
    /// Built on the first WASI call only, so a plugin without WASI pays nothing for it.
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let state = self
            .wasi
            .get_or_insert_with(|| WasiState::new(&self.plugin, &self.instance));
        WasiCtxView {
            ctx: &mut state.ctx,
            table: &mut state.table,
        }
    }
}

/// `wasi:random/random` straight from the operating system.
struct OsRandom;

impl rand_core::TryRng for OsRandom {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut bytes = [0; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut bytes = [0; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Infallible> {
        // The trait cannot fail; an OS without a random source cannot run the host at all
        // (TLS and the secret store need it too).
        getrandom::fill(dest).expect("the operating system's random source failed");
        Ok(())
    }
}

/// A guest's stdout or stderr, logged a line at a time under the plugin's name.
#[derive(Clone)]
struct GuestOutput(Arc<Mutex<LineLog>>);

impl GuestOutput {
    fn new(plugin: Arc<str>, instance: Arc<str>, stream: &'static str) -> Self {
        Self(Arc::new(Mutex::new(LineLog {
            plugin,
            instance,
            stream,
            partial: Vec::new(),
            budget: OUTPUT_BUDGET,
        })))
    }

    fn log(&self) -> std::sync::MutexGuard<'_, LineLog> {
        // A panic while logging leaves the buffer usable.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

struct LineLog {
    plugin: Arc<str>,
    instance: Arc<str>,
    stream: &'static str,
    /// The current line, not yet ended by a newline.
    partial: Vec<u8>,
    /// Bytes still allowed in the log this call.
    budget: usize,
}

impl LineLog {
    fn write(&mut self, bytes: &[u8]) {
        if self.budget == 0 {
            return;
        }
        let kept = &bytes[..bytes.len().min(self.budget)];
        self.budget -= kept.len();
        for piece in kept.split_inclusive(|b| *b == b'\n') {
            let (text, ended) = match piece.strip_suffix(b"\n") {
                Some(text) => (text, true),
                None => (piece, false),
            };
            self.partial.extend_from_slice(text);
            while self.partial.len() > MAX_LINE {
                let rest = self.partial.split_off(MAX_LINE);
                self.emit();
                self.partial = rest;
            }
            if ended {
                self.emit();
            }
        }
        if self.budget == 0 {
            self.emit();
            tracing::warn!(plugin = %self.plugin, instance = %self.instance, stream = self.stream,
                "the plugin wrote more than {OUTPUT_BUDGET} bytes in one call; the rest is dropped");
        }
    }

    fn emit(&mut self) {
        if self.partial.is_empty() {
            return;
        }
        let line = String::from_utf8_lossy(&self.partial);
        tracing::info!(plugin = %self.plugin, instance = %self.instance, stream = self.stream, "{line}");
        self.partial.clear();
    }
}

impl Drop for LineLog {
    /// The call is over: an unterminated last line is logged too.
    fn drop(&mut self) {
        self.emit();
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.log().write(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always writable: what exceeds the budget is dropped, not blocked on.
        Ok(MAX_LINE)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.log().write(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_import_is_refused_unless_provided_in_wasi_0_2_and_declared() {
        let declared = vec!["wasi:cli/stderr".to_owned()];
        assert_eq!(refusal("ilm:plugin/http@0.1.0", &declared), None);
        assert_eq!(refusal("wasi:cli/stderr@0.2.6", &declared), None);
        assert_eq!(
            refusal("wasi:cli/environment@0.2.6", &declared),
            Some("not declared in the manifest's [wasi] imports")
        );
        assert_eq!(
            refusal("wasi:cli/stderr@0.3.0", &declared),
            Some("this host provides WASI 0.2 only")
        );
        assert_eq!(
            refusal("wasi:http/outgoing-handler@0.2.6", &declared),
            Some("not a capability this host provides")
        );
    }

    #[test]
    fn output_is_logged_by_line_and_bounded() {
        let mut log = GuestOutput::new("p".into(), "i".into(), "stderr").0;
        let log = Arc::get_mut(&mut log).unwrap().get_mut().unwrap();
        log.write(b"first\nsecond");
        assert_eq!(log.partial, b"second", "an unended line waits for its end");
        log.write(&vec![b'x'; MAX_LINE + 10]);
        let left = "second".len() + 10;
        assert_eq!(log.partial.len(), left, "a long line is logged in pieces");
        log.write(&vec![b'y'; OUTPUT_BUDGET]);
        assert_eq!(log.budget, 0);
        assert!(log.partial.is_empty(), "the budget's end logs what is left");
        log.write(b"more\n");
        assert!(log.partial.is_empty(), "nothing is kept past the budget");
    }
}
