//! Store handles a process keeps open and hands out again: a worker runs each incident on
//! two (the run's, fenced with its lease, and its lease heartbeat's), and opening one costs
//! a connection, the schema check, the audit triggers (SQLite) and the statements
//! prepared anew (PostgreSQL). A handle comes back unfenced and acting as the default actor.

use super::{Database, Lease, Store};
use anyhow::Result;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, PoisonError};

/// Handles kept for the next caller; more are opened when all are out.
const KEEP: usize = 16;

#[derive(Clone)]
pub struct StorePool(Arc<Inner>);

struct Inner {
    database: Database,
    idle: Mutex<Vec<Store>>,
}

impl StorePool {
    pub fn new(database: Database) -> Self {
        StorePool(Arc::new(Inner {
            database,
            idle: Mutex::new(Vec::new()),
        }))
    }

    /// An open handle: an idle one, or a new one.
    pub fn get(&self) -> Result<PooledStore> {
        let idle = self
            .0
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let store = match idle {
            Some(store) => store,
            None => Store::open(&self.0.database)?,
        };
        Ok(PooledStore {
            store: Some(store),
            pool: self.clone(),
        })
    }

    fn put_back(&self, mut store: Store) {
        store.fence = None;
        // A handle that cannot be reset (its connection is gone) is not kept.
        if store.act_as(super::change_log::DEFAULT_ACTOR).is_err() || store.connection_lost() {
            return;
        }
        let mut idle = self.0.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < KEEP {
            idle.push(store);
        }
    }
}

/// A store handle on loan from a [`StorePool`]; it goes back when dropped.
pub struct PooledStore {
    store: Option<Store>,
    pool: StorePool,
}

impl PooledStore {
    /// This handle, fenced with `lease` (see [`Store::fenced`]).
    pub fn fenced(mut self, lease: &Lease) -> Self {
        if let Some(store) = self.store.as_mut() {
            store.fence = Some((lease.incident, lease.token));
        }
        self
    }
}

impl Deref for PooledStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        self.store
            .as_ref()
            .expect("a pooled store is present until dropped")
    }
}

impl DerefMut for PooledStore {
    fn deref_mut(&mut self) -> &mut Store {
        self.store
            .as_mut()
            .expect("a pooled store is present until dropped")
    }
}

impl Drop for PooledStore {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            self.pool.put_back(store);
        }
    }
}
