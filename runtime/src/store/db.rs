//! The two databases the store runs on, behind the few calls its queries make: SQLite
//! embedded in the process (the default), or a PostgreSQL server that several processes
//! on several machines share. The store's queries are written once, in the SQL both
//! understand: `?N` placeholders (rewritten to `$N` for PostgreSQL), values as text,
//! integers and blobs, and the same-named helper functions each backend defines
//! (`ilm_now()`, `ilm_after(seconds)`, `ilm_today()`). What differs (schema, migrations,
//! the audit triggers, locking) is chosen per backend in `store/mod.rs`, `change_log.rs`
//! and `postgres.rs`.

use super::postgres::PgConn;
use std::fmt;

/// A value as both backends store it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// A failed database call.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A query that must return a row returned none (`OptionalExtension` turns it into `None`).
    #[error("the query returned no rows")]
    NoRows,
    /// A UNIQUE, FOREIGN KEY, CHECK or NOT NULL constraint refused a write.
    #[error("{0}")]
    Constraint(String),
    /// A column held a value the code did not expect.
    #[error("column {column}: {message}")]
    Conversion { column: usize, message: String },
    /// The database server cannot be reached, or closed the connection mid-call.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Sqlite(rusqlite::Error),
    #[error("{0}")]
    Postgres(String),
}

pub type DbResult<T> = Result<T, DbError>;

impl From<rusqlite::Error> for DbError {
    fn from(err: rusqlite::Error) -> Self {
        match err {
            rusqlite::Error::QueryReturnedNoRows => DbError::NoRows,
            rusqlite::Error::SqliteFailure(f, message)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                DbError::Constraint(message.unwrap_or_else(|| f.to_string()))
            }
            other => DbError::Sqlite(other),
        }
    }
}

/// `query_row(..).optional()`: no row is `None`, not an error.
pub trait OptionalExtension<T> {
    fn optional(self) -> DbResult<Option<T>>;
}

impl<T> OptionalExtension<T> for DbResult<T> {
    fn optional(self) -> DbResult<Option<T>> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(DbError::NoRows) => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// A Rust value a query takes as a parameter.
pub trait ToValue {
    fn to_value(&self) -> Value;
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_owned())
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}
impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
}
impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Integer(i64::from(*self))
    }
}
impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}
macro_rules! integer_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                // Saturates: no count or id the store keeps comes near i64::MAX.
                Value::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
integer_to_value!(i32, i64, u32, u64, usize);

/// A column value read back into Rust.
pub trait FromValue: Sized {
    fn from_value(value: Value) -> Result<Self, String>;
}

impl FromValue for Value {
    fn from_value(value: Value) -> Result<Self, String> {
        Ok(value)
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}
impl FromValue for String {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Text(text) => Ok(text),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Blob(bytes) => Ok(bytes),
            other => Err(format!("expected a blob, found {other:?}")),
        }
    }
}
impl FromValue for bool {
    fn from_value(value: Value) -> Result<Self, String> {
        i64::from_value(value).map(|n| n != 0)
    }
}
impl FromValue for f64 {
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Real(x) => Ok(x),
            Value::Integer(n) => Ok(n as f64),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}
macro_rules! integer_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(value: Value) -> Result<Self, String> {
                match value {
                    Value::Integer(n) => <$t>::try_from(n)
                        .map_err(|_| format!("{n} is out of range for {}", stringify!($t))),
                    other => Err(format!("expected an integer, found {other:?}")),
                }
            }
        }
    )*};
}
integer_from_value!(i32, i64, u32, u64, usize);

/// A query's parameters: `()`, an array of values, or `params![a, b]`.
pub trait Params {
    fn values(self) -> Vec<Value>;
}

impl Params for () {
    fn values(self) -> Vec<Value> {
        Vec::new()
    }
}
impl Params for &[&dyn ToValue] {
    fn values(self) -> Vec<Value> {
        self.iter().map(|p| p.to_value()).collect()
    }
}
impl<T: ToValue, const N: usize> Params for [T; N] {
    fn values(self) -> Vec<Value> {
        self.iter().map(ToValue::to_value).collect()
    }
}
impl Params for Vec<Value> {
    fn values(self) -> Vec<Value> {
        self
    }
}

/// Parameters of different types: `params![id, name, fields.to_string()]`.
macro_rules! params {
    ($($param:expr),* $(,)?) => {
        &[$(&$param as &dyn $crate::store::db::ToValue),*] as &[&dyn $crate::store::db::ToValue]
    };
}
pub(crate) use params;

/// One row of a query's result.
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    pub(super) fn new(values: Vec<Value>) -> Self {
        Row { values }
    }

    /// Column `index` (from 0) as a `T`.
    pub fn get<T: FromValue>(&self, index: usize) -> DbResult<T> {
        let value = self
            .values
            .get(index)
            .cloned()
            .ok_or_else(|| DbError::Conversion {
                column: index,
                message: format!("the row has only {} columns", self.values.len()),
            })?;
        T::from_value(value).map_err(|message| DbError::Conversion {
            column: index,
            message,
        })
    }
}

/// An open database connection.
pub enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Box<PgConn>),
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Conn::Sqlite(_) => "Conn::Sqlite",
            Conn::Postgres(_) => "Conn::Postgres",
        })
    }
}

impl Conn {
    pub fn is_postgres(&self) -> bool {
        matches!(self, Conn::Postgres(_))
    }

    /// Whether the server closed this connection, or could not be reached, since it
    /// opened (SQLite's never does).
    pub fn was_lost(&self) -> bool {
        match self {
            Conn::Sqlite(_) => false,
            Conn::Postgres(conn) => conn.was_lost(),
        }
    }

    /// Runs one statement; returns how many rows it changed.
    pub fn execute(&self, sql: &str, params: impl Params) -> DbResult<usize> {
        let values = params.values();
        match self {
            Conn::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(values.iter()))?)
            }
            Conn::Postgres(conn) => conn.execute(sql, &values),
        }
    }

    /// Runs statements separated by `;`, without parameters.
    pub fn execute_batch(&self, sql: &str) -> DbResult<()> {
        match self {
            Conn::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            Conn::Postgres(conn) => conn.execute_batch(sql),
        }
    }

    /// The first row of a query, mapped by `f`; [`DbError::NoRows`] when there is none.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row) -> DbResult<T>,
    ) -> DbResult<T> {
        match self.query(sql, params.values(), Some(1))?.first() {
            Some(row) => f(row),
            None => Err(DbError::NoRows),
        }
    }

    /// A query to run (`prepare(sql)?.query_map(params, f)?`). Both backends cache the
    /// statements they prepare, per connection.
    pub fn prepare<'c>(&'c self, sql: &str) -> DbResult<Statement<'c>> {
        Ok(Statement {
            conn: self,
            sql: sql.to_owned(),
        })
    }

    /// Every row (or the first `limit`) of a query.
    fn query(&self, sql: &str, values: Vec<Value>, limit: Option<usize>) -> DbResult<Vec<Row>> {
        match self {
            Conn::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                let columns = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(values.iter()))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let values = (0..columns)
                        .map(|i| row.get::<_, rusqlite::types::Value>(i).map(from_sqlite))
                        .collect::<Result<_, _>>()?;
                    out.push(Row::new(values));
                    if limit == Some(out.len()) {
                        break;
                    }
                }
                Ok(out)
            }
            Conn::Postgres(conn) => conn.query(sql, &values),
        }
    }

    /// Every row of a query whose columns are all text, handed to `f` as it is read and
    /// without a copy: for reads too large to hold at once. `f` must not use this
    /// connection.
    pub fn each_text_row<E: From<DbError>>(
        &self,
        sql: &str,
        params: impl Params,
        f: &mut dyn FnMut(&[&str]) -> Result<(), E>,
    ) -> Result<(), E> {
        let values = params.values();
        match self {
            Conn::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql).map_err(DbError::from)?;
                let columns = stmt.column_count();
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(values.iter()))
                    .map_err(DbError::from)?;
                while let Some(row) = rows.next().map_err(DbError::from)? {
                    let texts = (0..columns)
                        .map(|i| {
                            row.get_ref(i)
                                .map_err(DbError::from)?
                                .as_str()
                                .map_err(|e| DbError::Conversion {
                                    column: i,
                                    message: e.to_string(),
                                })
                        })
                        .collect::<DbResult<Vec<_>>>()?;
                    f(&texts)?;
                }
                Ok(())
            }
            Conn::Postgres(conn) => conn.each_text_row(sql, &values, f),
        }
    }

    /// Begins a transaction that writes: it waits for, then holds, the store's write
    /// lock, so writers take turns as they do on SQLite and a transaction's reads stay
    /// true until it commits.
    pub fn begin_write(&self) -> DbResult<()> {
        match self {
            Conn::Sqlite(conn) => Ok(conn.execute_batch("BEGIN IMMEDIATE")?),
            Conn::Postgres(conn) => conn.begin_write(),
        }
    }

    pub fn commit(&self) -> DbResult<()> {
        match self {
            Conn::Sqlite(conn) => Ok(conn.execute_batch("COMMIT")?),
            Conn::Postgres(conn) => conn.end_transaction("COMMIT"),
        }
    }

    pub fn rollback(&self) -> DbResult<()> {
        match self {
            Conn::Sqlite(conn) => Ok(conn.execute_batch("ROLLBACK")?),
            Conn::Postgres(conn) => conn.end_transaction("ROLLBACK"),
        }
    }
}

/// A query, run with [`Statement::query_map`].
pub struct Statement<'c> {
    conn: &'c Conn,
    sql: String,
}

impl Statement<'_> {
    /// Every row, mapped by `f`.
    pub fn query_map<T>(
        &mut self,
        params: impl Params,
        f: impl FnMut(&Row) -> DbResult<T>,
    ) -> DbResult<std::vec::IntoIter<DbResult<T>>> {
        let rows = self.conn.query(&self.sql, params.values(), None)?;
        Ok(rows.iter().map(f).collect::<Vec<_>>().into_iter())
    }

    /// The first row, mapped by `f`; [`DbError::NoRows`] when there is none.
    pub fn query_row<T>(
        &mut self,
        params: impl Params,
        f: impl FnOnce(&Row) -> DbResult<T>,
    ) -> DbResult<T> {
        self.conn.query_row(&self.sql, params, f)
    }

    /// Whether the query returns a row.
    pub fn exists(&mut self, params: impl Params) -> DbResult<bool> {
        Ok(self.conn.query(&self.sql, params.values(), Some(1))?.len() == 1)
    }

    /// Runs it as a statement that returns no rows.
    pub fn execute(&mut self, params: impl Params) -> DbResult<usize> {
        self.conn.execute(&self.sql, params)
    }
}

/// A write transaction, rolled back when dropped uncommitted.
pub struct WriteTx<'c> {
    conn: &'c Conn,
    done: bool,
}

impl<'c> WriteTx<'c> {
    pub fn begin(conn: &'c Conn) -> DbResult<Self> {
        conn.begin_write()?;
        Ok(WriteTx { conn, done: false })
    }

    pub fn commit(mut self) -> DbResult<()> {
        self.done = true;
        self.conn.commit()
    }
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Nothing to report: a failed rollback leaves the transaction to end with the
            // connection, which discards it as well.
            let _ = self.conn.rollback();
        }
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::ValueRef;
        Ok(rusqlite::types::ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Integer(n) => ValueRef::Integer(*n),
            Value::Real(x) => ValueRef::Real(*x),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn from_sqlite(value: rusqlite::types::Value) -> Value {
    use rusqlite::types::Value as V;
    match value {
        V::Null => Value::Null,
        V::Integer(n) => Value::Integer(n),
        V::Real(x) => Value::Real(x),
        V::Text(t) => Value::Text(t),
        V::Blob(b) => Value::Blob(b),
    }
}
