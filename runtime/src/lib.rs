//! The ILM runtime: HR-driven identity lifecycle through sandboxed WebAssembly integrations.

pub mod api;
pub mod ca_file;
pub mod cli;
pub mod console;
pub mod fan_out;
pub mod fetch;
pub mod iam;
pub mod integrations;
pub mod leases;
pub mod lists;
pub mod mail;
pub mod mappers;
pub mod playbooks;
pub mod plugins;
pub mod retries;
pub mod scripting;
pub mod shipped;
pub mod sources;
pub mod status;
pub mod store;
#[cfg(test)]
mod testing;
pub mod transformers;
pub mod worker;

/// An error and its causes on one line, `outer: inner: innermost`: what a library error's
/// `Display` alone leaves out (a TLS or socket cause behind "error sending request").
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
