//! The wasmtime engine: component model, epoch interruption driven by a ticker thread, and
//! a pooling allocator sized for a small machine (2 cores, 24 GiB).

use anyhow::Result;
use std::time::Duration;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The largest memory cap an instance may ask for.
pub const MAX_MEMORY_CAP_BYTES: usize = 1024 * 1024 * 1024;

/// How much of a returned sandbox's memory stays mapped for the next call. Only the pages the
/// call wrote are reset (found with the kernel's `PAGEMAP_SCAN`), so this bounds what each
/// idle slot keeps, not work done per call.
const KEEP_RESIDENT_BYTES: usize = 1024 * 1024;

/// Sandboxes alive at once. Each call gets a fresh one and returns it when done, so this
/// bounds concurrent calls, not calls in total.
const POOL_INSTANCES: u32 = 64;

pub fn new_engine() -> Result<Engine> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(POOL_INSTANCES)
        .total_core_instances(POOL_INSTANCES * 4)
        .total_memories(POOL_INSTANCES * 2)
        .total_tables(POOL_INSTANCES * 4)
        .max_memory_size(MAX_MEMORY_CAP_BYTES)
        // Profiled: handing a call's dirty pages back to the kernel (madvise) and faulting
        // them in again in the next call was most of a fresh sandbox's cost. Resetting just
        // the pages the call wrote, in place (the kernel says which), keeps them mapped.
        // Without `PAGEMAP_SCAN` (Linux before 6.7) the whole kept prefix would be zeroed
        // on every call, which costs more than the faults (a Rust guest's stack alone is
        // 1 MiB), so nothing is kept there.
        .pagemap_scan(Enabled::Auto);
    let keep = if PoolingAllocationConfig::is_pagemap_scan_available() {
        KEEP_RESIDENT_BYTES
    } else {
        0
    };
    pool.linear_memory_keep_resident(keep)
        .table_keep_resident(keep);

    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .max_wasm_stack(1 << 20)
        // Profiled: with guard pages, every call paid two `mprotect`s (the guest's
        // allocator grows memory, and the slot shrinks back when reused) and a TLB
        // shootdown on every core, about a third of a fresh sandbox. Bounds checked in the
        // compiled code instead, a slot's pages stay read/write from call to call.
        .signals_based_traps(false)
        .memory_guard_size(0)
        .guard_before_linear_memory(false)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config)?;
    start_epoch_ticker(&engine);
    Ok(engine)
}

/// Advances the engine's epoch until the engine is dropped.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("ilm-epoch".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        })
        .ok();
}

/// The ticks that make up a deadline, at least one.
pub fn deadline_ticks(deadline: Duration) -> u64 {
    (deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}
