//! The ILM runtime: HR-driven identity lifecycle through sandboxed WebAssembly integrations.

pub mod cli;
pub mod iam;
pub mod integrations;
pub mod mappers;
pub mod plugins;
pub mod scripting;
pub mod store;
pub mod transformers;
