//! The server's access to the store. A `Store` is one SQLite connection, which is `Send`
//! but not `Sync`, and its calls block. So the server keeps a few connections to the same
//! database file and runs each store call on tokio's blocking pool with one of them: in WAL
//! mode readers do not wait for each other or for the writer, and writers queue on SQLite's
//! busy timeout. The permit count bounds both the connections and the blocking threads.

use crate::store::Store;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::Semaphore;

/// More connections than cores buys nothing for SQLite reads; a few cover writers waiting.
const CONNECTIONS: usize = 4;

/// A small pool of store connections for async handlers.
#[derive(Clone)]
pub struct Db(Arc<Pool>);

struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<Store>>,
    permits: Semaphore,
}

impl Db {
    /// Opens the database (applying migrations once, before any request).
    pub fn open(path: &Path) -> Result<Self> {
        let first = Store::open(path)?;
        Ok(Db(Arc::new(Pool {
            path: path.to_owned(),
            idle: Mutex::new(vec![first]),
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
        tokio::task::spawn_blocking(move || {
            let store = pool.checkout()?;
            let result = work(&store);
            pool.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(store);
            result
        })
        .await
        .context("a database task failed")?
    }
}

impl Pool {
    fn checkout(&self) -> Result<Store> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(store) => Ok(store),
            None => Store::open(&self.path),
        }
    }
}
