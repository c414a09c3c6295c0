//! The state of one sandboxed call and the host capabilities a plugin imports
//! (`http`, `log`, `instance`). A fresh [`CallState`] is made for every call.

use super::bindings::ilm::plugin::{http, instance, log, types};
use super::net::{NetError, NetPolicy, OutboundRequest};
use std::sync::Arc;
use wasmtime::ResourceLimiter;

/// The largest integration context a plugin may store.
pub const MAX_CONTEXT_BYTES: usize = 1024 * 1024;

/// Per-call state: what the guest may see and use, and what it changed.
pub struct CallState {
    pub plugin: Arc<str>,
    pub instance: Arc<str>,
    /// Non-secret parameters as a JSON object text.
    pub params_json: Arc<str>,
    pub net: Arc<NetPolicy>,
    pub context: String,
    /// Set when the guest replaced the integration context; the caller persists it.
    pub context_changed: bool,
    pub limits: MemoryLimiter,
}

/// Caps guest memory and remembers when the cap was hit, so the error can say so.
pub struct MemoryLimiter {
    pub max_bytes: usize,
    pub exceeded: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl types::Host for CallState {}

impl http::Host for CallState {
    fn send(&mut self, req: http::Request) -> Result<http::Response, types::AppError> {
        let method = req.method.clone();
        let url = req.url.clone();
        let result = self.net.send(OutboundRequest {
            method: req.method,
            url: req.url,
            headers: req.headers,
            body: req.body,
        });
        match result {
            Ok(resp) => {
                tracing::debug!(plugin = %self.plugin, instance = %self.instance, %method, %url, status = resp.status, "plugin http");
                Ok(http::Response {
                    status: resp.status,
                    headers: resp.headers,
                    body: resp.body,
                })
            }
            Err(err) => {
                if matches!(err, NetError::Refused(_)) {
                    tracing::warn!(plugin = %self.plugin, instance = %self.instance, %method, %url, "sandbox refused: {err}");
                }
                Err(types::AppError {
                    code: err.code().to_owned(),
                    message: err.to_string(),
                })
            }
        }
    }
}

impl log::Host for CallState {
    fn write(&mut self, level: log::Level, message: String) {
        let (plugin, instance) = (&*self.plugin, &*self.instance);
        match level {
            log::Level::Debug => tracing::debug!(plugin, instance, "{message}"),
            log::Level::Info => tracing::info!(plugin, instance, "{message}"),
            log::Level::Warn => tracing::warn!(plugin, instance, "{message}"),
            log::Level::Error => tracing::error!(plugin, instance, "{message}"),
        }
    }
}

impl instance::Host for CallState {
    fn params(&mut self) -> String {
        self.params_json.to_string()
    }

    fn get_context(&mut self) -> String {
        self.context.clone()
    }

    fn set_context(&mut self, json: String) -> Result<(), String> {
        if json.len() > MAX_CONTEXT_BYTES {
            return Err(format!(
                "the integration context may hold at most {MAX_CONTEXT_BYTES} bytes"
            ));
        }
        match serde_json::from_str::<serde_json::Value>(&json) {
            Ok(serde_json::Value::Object(_)) => {
                self.context = json;
                self.context_changed = true;
                Ok(())
            }
            Ok(_) => Err("the integration context must be a JSON object".to_owned()),
            Err(e) => Err(format!("the integration context is not JSON: {e}")),
        }
    }
}
