//! The PostgreSQL connection behind [`super::db::Conn`]: the store's `?N` queries
//! rewritten to `$N` and prepared once per connection, values encoded for the column
//! types the server infers, a write lock shared by every process (a transaction-scoped
//! advisory lock) so writers take turns as on SQLite, and a reconnect when the server
//! went away between two calls.

use super::db::{DbError, DbResult, Row, Value};
use crate::error_chain;
use bytes::BytesMut;
use postgres::config::SslMode;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{FromSql, IsNull, ToSql, Type};
use postgres::{Client, Config, NoTls};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::error::Error;
use std::str::FromStr;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The advisory lock every write transaction holds ("ilm_writ"): one writer at a time
/// across all processes, as SQLite's own lock does for one file.
const WRITE_LOCK: i64 = 0x696c_6d5f_7772_6974;

/// Prepared statements kept per connection; past it the cache starts over.
const STATEMENT_CACHE: usize = 512;

/// The PostgreSQL schema, one file per version; `ilm_schema_version` records how many ran.
/// Never edit a released one: append.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("postgres/V1__schema.sql"),
    include_str!("postgres/V2__fetch_claims.sql"),
    include_str!("postgres/V3__user_roles_order.sql"),
    include_str!("postgres/V4__incidents_status_id.sql"),
    include_str!("postgres/V5__redact_journal_when_done.sql"),
];

pub struct PgConn {
    config: Config,
    /// The URL without its password, for messages.
    label: String,
    client: RefCell<Client>,
    statements: RefCell<HashMap<String, postgres::Statement>>,
    /// The actor audit entries name (`ilm.actor`), set again after a reconnect.
    actor: RefCell<String>,
    /// The actor the session has: `actor` reaches the server with the next statement
    /// (outside a transaction, whose rollback would undo it), not in a round trip of its
    /// own each time a pooled handle is set back to the default.
    session_actor: RefCell<String>,
    in_transaction: Cell<bool>,
    /// Set when the server closed the connection or could not be reached.
    lost: Cell<bool>,
}

impl PgConn {
    /// Connects to `url` (`postgres://user:password@host:port/database`).
    pub fn connect(url: &str) -> anyhow::Result<Self> {
        let config = Config::from_str(url).map_err(|e| {
            anyhow::anyhow!(
                "the database URL is not a PostgreSQL connection URL ({e}); \
                 write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE"
            )
        })?;
        let label = redacted(url);
        let client = open(&config, &label)?;
        Ok(PgConn {
            config,
            label,
            client: RefCell::new(client),
            statements: RefCell::new(HashMap::new()),
            actor: RefCell::new(String::new()),
            session_actor: RefCell::new(String::new()),
            in_transaction: Cell::new(false),
            lost: Cell::new(false),
        })
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn execute(&self, sql: &str, values: &[Value]) -> DbResult<usize> {
        let changed = self.run(sql, values, |client, statement, params| {
            client.execute(statement, params)
        })?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    }

    pub fn execute_batch(&self, sql: &str) -> DbResult<()> {
        self.reconnect_if_closed()?;
        self.send_actor()?;
        self.client
            .borrow_mut()
            .batch_execute(sql)
            .map_err(|e| self.error(e))
    }

    pub fn query(&self, sql: &str, values: &[Value]) -> DbResult<Vec<Row>> {
        let rows = self.run(sql, values, |client, statement, params| {
            client.query(statement, params)
        })?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        row.try_get::<_, PgValue>(i)
                            .map(|v| v.0)
                            .map_err(|e| DbError::Conversion {
                                column: i,
                                message: e.to_string(),
                            })
                    })
                    .collect::<DbResult<Vec<_>>>()
                    .map(Row::new)
            })
            .collect()
    }

    /// Every row of a query whose columns are all text, handed to `f` as the server sends
    /// it. `f` must not use this connection: it is busy with the rows.
    pub fn each_text_row<E: From<DbError>>(
        &self,
        sql: &str,
        values: &[Value],
        f: &mut dyn FnMut(&[&str]) -> Result<(), E>,
    ) -> Result<(), E> {
        let statement = self.statement(sql)?;
        let params = values.iter().map(|v| v as &(dyn ToSql + Sync));
        // The server's error, kept until the client is no longer borrowed.
        let mut failed = None;
        let outcome = {
            let mut client = self.client.borrow_mut();
            let rows = client.query_raw(&statement, params);
            match rows {
                Err(e) => {
                    failed = Some(e);
                    Ok(())
                }
                Ok(mut rows) => loop {
                    let row = match rows.next() {
                        Ok(Some(row)) => row,
                        Ok(None) => break Ok(()),
                        Err(e) => {
                            failed = Some(e);
                            break Ok(());
                        }
                    };
                    let texts = (0..row.len())
                        .map(|i| {
                            row.try_get::<_, &str>(i).map_err(|e| DbError::Conversion {
                                column: i,
                                message: e.to_string(),
                            })
                        })
                        .collect::<DbResult<Vec<_>>>();
                    if let Err(e) = texts.map_err(E::from).and_then(|texts| f(&texts)) {
                        break Err(e);
                    }
                },
            }
        };
        match failed {
            Some(e) => Err(self.error(e).into()),
            None => outcome,
        }
    }

    pub fn begin_write(&self) -> DbResult<()> {
        self.execute_batch(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"
        ))?;
        self.in_transaction.set(true);
        Ok(())
    }

    /// `COMMIT` or `ROLLBACK`.
    pub fn end_transaction(&self, how: &str) -> DbResult<()> {
        self.in_transaction.set(false);
        if how != "COMMIT" {
            // A rollback undoes an actor set inside the transaction.
            self.session_actor.borrow_mut().clear();
        }
        self.client
            .borrow_mut()
            .batch_execute(how)
            .map_err(|e| self.error(e))
    }

    /// The actor this connection's changes are audited under.
    pub fn set_actor(&self, actor: &str) -> DbResult<()> {
        actor.clone_into(&mut self.actor.borrow_mut());
        if self.in_transaction.get() {
            self.send_actor()?;
        }
        Ok(())
    }

    /// Gives the session the actor set last, if it has another.
    fn send_actor(&self) -> DbResult<()> {
        if *self.actor.borrow() == *self.session_actor.borrow() {
            return Ok(());
        }
        let actor = self.actor();
        let statement = self.prepared("SELECT set_config('ilm.actor', ?1, false)")?;
        let value = Value::Text(actor.clone());
        self.client
            .borrow_mut()
            .execute(&statement, &[&value as &(dyn ToSql + Sync)])
            .map_err(|e| self.error(e))?;
        *self.session_actor.borrow_mut() = actor;
        Ok(())
    }

    pub fn was_lost(&self) -> bool {
        self.lost.get()
    }

    pub fn actor(&self) -> String {
        self.actor.borrow().clone()
    }

    /// Runs `call` with `sql` prepared and `values` as its parameters.
    fn run<T>(
        &self,
        sql: &str,
        values: &[Value],
        call: impl FnOnce(
            &mut Client,
            &postgres::Statement,
            &[&(dyn ToSql + Sync)],
        ) -> Result<T, postgres::Error>,
    ) -> DbResult<T> {
        let statement = self.statement(sql)?;
        let params: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        let result = call(&mut self.client.borrow_mut(), &statement, &params);
        result.map_err(|e| self.error(e))
    }

    /// The prepared form of `sql` for a statement about to run, with the session's actor
    /// brought up to date first unless it is a query (a `SELECT` writes nothing, so no
    /// audit entry names the actor).
    fn statement(&self, sql: &str) -> DbResult<postgres::Statement> {
        self.reconnect_if_closed()?;
        if !self.in_transaction.get() && !sql.trim_start().starts_with("SELECT") {
            self.send_actor()?;
        }
        self.prepared(sql)
    }

    /// The prepared form of `sql`, preparing it on first use.
    fn prepared(&self, sql: &str) -> DbResult<postgres::Statement> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self
            .client
            .borrow_mut()
            .prepare(&dollar_placeholders(sql))
            .map_err(|e| self.error(e))?;
        let mut cache = self.statements.borrow_mut();
        if cache.len() >= STATEMENT_CACHE {
            cache.clear();
        }
        cache.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// A connection the server closed (it restarted, say) is opened again, unless it
    /// was inside a transaction: that one is gone, and its caller gets the error.
    fn reconnect_if_closed(&self) -> DbResult<()> {
        if !self.client.borrow().is_closed() || self.in_transaction.get() {
            return Ok(());
        }
        let client = open(&self.config, &self.label).map_err(|e| {
            self.lost.set(true);
            DbError::Unavailable(format!("{e:#}"))
        })?;
        *self.client.borrow_mut() = client;
        self.statements.borrow_mut().clear();
        tracing::info!("reconnected to the database {}", self.label);
        // The new session has no actor yet: the next statement sets it.
        self.session_actor.borrow_mut().clear();
        Ok(())
    }

    fn error(&self, err: postgres::Error) -> DbError {
        let code = err.code().map(|c| c.code().to_owned()).unwrap_or_default();
        // Class 08 is a broken connection, 57P a server shutting down or restarting; an
        // error without a server's answer is the socket's.
        let lost = err.is_closed()
            || code.starts_with("08")
            || code.starts_with("57P")
            || (err.as_db_error().is_none()
                && err.source().is_some_and(|s| s.is::<std::io::Error>()));
        if lost {
            self.in_transaction.set(false);
            self.lost.set(true);
            return DbError::Unavailable(format!(
                "lost the connection to the database {} ({}); the next call reconnects",
                self.label,
                error_chain(&err)
            ));
        }
        if let Some(db) = err.as_db_error() {
            let mut message = db.message().to_owned();
            if let Some(detail) = db.detail() {
                message.push_str(&format!(" ({detail})"));
            }
            if code.starts_with("23") {
                return DbError::Constraint(message);
            }
            return DbError::Postgres(format!("{message} [SQLSTATE {code}]"));
        }
        DbError::Postgres(format!(
            "the database {}: {}",
            self.label,
            error_chain(&err)
        ))
    }
}

/// A URL for a new, empty schema on `server`, for one test.
#[cfg(test)]
pub fn scratch_schema(server: &str) -> anyhow::Result<String> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let schema = format!(
        "t_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    );
    let conn = PgConn::connect(server)?;
    conn.execute_batch(&format!("CREATE SCHEMA {schema}"))?;
    let separator = if server.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{server}{separator}options=-c%20search_path%3D{schema}%2Cpublic"
    ))
}

fn open(config: &Config, label: &str) -> anyhow::Result<Client> {
    let mut config = config.clone();
    if config.get_application_name().is_none() {
        config.application_name("ilm");
    }
    let connected = if config.get_ssl_mode() == SslMode::Disable {
        config.connect(NoTls)
    } else {
        config.connect(MakeRustlsConnect::new(tls_config()?))
    };
    connected.map_err(|e| {
        let cause = error_chain(&e);
        let hint = if cause.contains("UnknownIssuer") || cause.contains("unknown issuer") {
            format!(
                "; the server's certificate is not signed by a public CA: give your CA's \
                 certificate (PEM) in {CA_FILE_ENV}"
            )
        } else {
            String::new()
        };
        anyhow::anyhow!(
            "cannot connect to the database {label}: {cause}{hint}; check that PostgreSQL is \
             running there and that --database (or ILM_DATABASE) names it"
        )
    })
}

/// A PEM file of the CA certificates that sign the database server's certificate, when
/// it is not signed by a public CA.
const CA_FILE_ENV: &str = "ILM_DATABASE_CA_FILE";

/// TLS to the server (as `sslmode` asks: `prefer` uses it when the server offers it,
/// `require` insists): the server's certificate is checked against the CAs in
/// `ILM_DATABASE_CA_FILE`, or else the public CAs.
fn tls_config() -> anyhow::Result<rustls::ClientConfig> {
    let roots = match std::env::var_os(CA_FILE_ENV) {
        Some(file) => {
            let file = std::path::Path::new(&file);
            crate::ca_file::roots(file).map_err(|why| {
                anyhow::anyhow!("{CA_FILE_ENV} ({}) is unusable: {why}", file.display())
            })?
        }
        None => rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    };
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The URL with its password replaced by `***`.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// `?1`/`?` placeholders (outside quotes) as PostgreSQL's `$1`.
fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 0;
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (Some(_), c) => out.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                out.push(c);
            }
            (None, '?') => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    next += 1;
                    digits = next.to_string();
                }
                out.push('$');
                out.push_str(&digits);
            }
            (None, c) => out.push(c),
        }
    }
    out
}

fn is_text(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    ) || ty.name() == "citext"
}

type BoxError = Box<dyn Error + Sync + Send>;

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match (self, ty) {
            (Value::Null, _) => return Ok(IsNull::Yes),
            (Value::Integer(n), &Type::INT8) => return n.to_sql(ty, out),
            (Value::Integer(n), &Type::INT4) => return i32::try_from(*n)?.to_sql(ty, out),
            (Value::Integer(n), &Type::INT2) => return i16::try_from(*n)?.to_sql(ty, out),
            (Value::Integer(n), &Type::BOOL) => return (*n != 0).to_sql(ty, out),
            (Value::Integer(n), &Type::FLOAT8) => return (*n as f64).to_sql(ty, out),
            (Value::Integer(n), ty) if is_text(ty) => {
                out.extend_from_slice(n.to_string().as_bytes())
            }
            (Value::Real(x), &Type::FLOAT8) => return x.to_sql(ty, out),
            (Value::Real(x), ty) if is_text(ty) => out.extend_from_slice(x.to_string().as_bytes()),
            (Value::Text(t), &Type::JSONB) => {
                out.extend_from_slice(&[1]);
                out.extend_from_slice(t.as_bytes());
            }
            (Value::Text(t), ty) if is_text(ty) || *ty == Type::JSON => {
                out.extend_from_slice(t.as_bytes())
            }
            (Value::Blob(b), &Type::BYTEA) => out.extend_from_slice(b),
            (value, ty) => {
                return Err(
                    format!("the store cannot pass {value:?} as a value of type {ty}").into(),
                )
            }
        }
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// A column of any type the store reads, as a [`Value`].
struct PgValue(Value);

impl<'a> FromSql<'a> for PgValue {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(PgValue(match *ty {
            Type::INT8 => Value::Integer(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Integer(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Integer(i16::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Integer(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::BYTEA => Value::Blob(raw.to_vec()),
            // Binary jsonb is a version byte, then the text.
            Type::JSONB => {
                Value::Text(std::str::from_utf8(raw.get(1..).unwrap_or_default())?.to_owned())
            }
            ref ty if is_text(ty) || *ty == Type::JSON => {
                Value::Text(std::str::from_utf8(raw)?.to_owned())
            }
            ref ty => return Err(format!("the store does not read values of type {ty}").into()),
        }))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(PgValue(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::{dollar_placeholders, redacted};

    #[test]
    fn placeholders_become_numbered_outside_quotes_only() {
        assert_eq!(
            dollar_placeholders("SELECT a FROM t WHERE b = ?2 AND c = '?' AND d = ?1"),
            "SELECT a FROM t WHERE b = $2 AND c = '?' AND d = $1"
        );
        assert_eq!(
            dollar_placeholders("INSERT INTO t VALUES (?, ?, \"x?\")"),
            "INSERT INTO t VALUES ($1, $2, \"x?\")"
        );
    }

    #[test]
    fn a_urls_password_never_reaches_a_message() {
        assert_eq!(
            redacted("postgres://ilm:s3cret@db.example:5432/ilm"),
            "postgres://ilm:***@db.example:5432/ilm"
        );
        assert_eq!(redacted("postgres://db/ilm"), "postgres://db/ilm");
    }
}
