//! The ILM runtime: HR-driven identity lifecycle through sandboxed WebAssembly integrations.

pub mod api;
pub mod cli;
pub mod console;
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
