//! The server's access to the store. A `Store` is one database connection, which is `Send`
//! but not `Sync`, and its calls block. So the server keeps a few connections to the same
//! database and runs each store call on tokio's blocking pool with one of them: readers do
//! not wait for each other or for the writer (SQLite's WAL mode, PostgreSQL's MVCC), and
//! writers take turns on the store's write lock. The permit count bounds both the
//! connections and the blocking threads.

use crate::store::{Database, Store, StorePool};
use anyhow::{Context, Result};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// More connections than cores buys nothing for SQLite reads; a few cover writers waiting.
const CONNECTIONS: usize = 4;

/// A small pool of store connections for async handlers.
#[derive(Clone)]
pub struct Db(Arc<Pool>);

struct Pool {
    stores: StorePool,
    permits: Semaphore,
}

impl Db {
    /// Opens the database (applying migrations once, before any request).
    pub fn open(database: &Database) -> Result<Self> {
        let stores = StorePool::new(database.clone());
        drop(stores.get()?);
        Ok(Db(Arc::new(Pool {
            stores,
            permits: Semaphore::new(CONNECTIONS),
        })))
    }

    /// Runs `work` with a connection on the blocking pool.
    pub async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T> + Send + 'static,
    {
        let _permit = self
            .0
            .permits
            .acquire()
            .await
            .context("the connection pool is closed")?;
        let pool = self.0.clone();
        tokio::task::spawn_blocking(move || work(&*pool.stores.get()?))
            .await
            .context("a database task failed")?
    }
}
