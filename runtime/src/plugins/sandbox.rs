//! The state of one sandboxed call and the host capabilities a plugin imports
//! (`http`, `ldap`, `log`, `instance`; WASI in `plugins::wasi`). A fresh [`CallState`] is made for every call.

use super::bindings::ilm::plugin::{http, instance, ldap, log, types};
use super::ldap::{LdapFailure, LdapSession};
use super::net::{NetError, NetPolicy, OutboundRequest};
use super::retry::{self, RetryPolicy};
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
    /// When the call's deadline passes; a guest's clock waits end by then.
    pub deadline: std::time::Instant,
    /// Retries of rate-limited and failed requests, bounded by the call's deadline.
    pub retry: RetryPolicy,
    /// The instance's directory; `None` for a plugin without an `[ldap]` section.
    pub ldap: Option<LdapSession>,
    pub context: String,
    /// Set when the guest replaced the integration context; the caller persists it.
    pub context_changed: bool,
    pub limits: MemoryLimiter,
    /// The plugin's WASI, made on its first WASI call (see `plugins::wasi`).
    pub wasi: Option<super::wasi::WasiState>,
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
        let request = OutboundRequest {
            method: req.method,
            url: req.url,
            headers: req.headers,
            body: req.body,
        };
        let result = retry::send(&self.net, request, &self.retry);
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

impl CallState {
    /// The directory session, or the refusal every `ldap` call of a plugin without an
    /// `[ldap]` section gets.
    fn ldap_session(&mut self) -> Result<&mut LdapSession, LdapFailure> {
        let plugin = &self.plugin;
        self.ldap.as_mut().ok_or_else(|| {
            LdapFailure::Refused(format!(
                "plugin {plugin} has no [ldap] section in its manifest, so the host grants it no directory"
            ))
        })
    }

    /// Runs one `ldap` operation and logs a refusal like an HTTP one.
    fn ldap_call<T>(
        &mut self,
        op: impl FnOnce(&mut LdapSession) -> Result<T, LdapFailure>,
    ) -> Result<T, types::AppError> {
        self.ldap_session().and_then(op).map_err(|err| {
            if matches!(err, LdapFailure::Refused(_)) {
                tracing::warn!(plugin = %self.plugin, instance = %self.instance, "sandbox refused: {err}");
            }
            types::AppError {
                code: err.code(),
                message: err.to_string(),
            }
        })
    }
}

impl ldap::Host for CallState {
    fn search(&mut self, req: ldap::SearchRequest) -> Result<Vec<ldap::Entry>, types::AppError> {
        self.ldap_call(|s| s.search(&req))
    }

    fn add(&mut self, dn: String, attributes: Vec<ldap::Attribute>) -> Result<(), types::AppError> {
        self.ldap_call(|s| s.add(&dn, &attributes))
    }

    fn modify(
        &mut self,
        dn: String,
        changes: Vec<ldap::Modification>,
    ) -> Result<(), types::AppError> {
        self.ldap_call(|s| s.modify(&dn, &changes))
    }

    fn modify_dn(
        &mut self,
        dn: String,
        new_rdn: String,
        new_superior: Option<String>,
    ) -> Result<(), types::AppError> {
        self.ldap_call(|s| s.modify_dn(&dn, &new_rdn, new_superior.as_deref()))
    }

    fn delete(&mut self, dn: String) -> Result<(), types::AppError> {
        self.ldap_call(|s| s.delete(&dn))
    }

    fn set_password(&mut self, dn: String, password: String) -> Result<(), types::AppError> {
        self.ldap_call(|s| s.set_password(&dn, &password))
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
