//! Database access for SQLite (embedded default) and PostgreSQL behind one pool type.
//!
//! We use sqlx's `Any` driver so that one set of queries serves both databases; the queries
//! keep to the SQL both understand (`$1` placeholders, `RETURNING`, integers for times and
//! money, TEXT for JSON). Schemas live only in `migrations/<kind>/`. The same integration
//! tests run against both kinds.

pub mod constraint;
pub mod sql;

pub use constraint::{unique_violation, UniqueViolation};
pub use sql::SqlBuilder;

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, ConnectOptions, Connection, Executor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub kind: DbKind,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

impl Db {
    /// Connects (creating a SQLite file and its folder if needed) and runs the migrations.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let kind = if url.starts_with("sqlite:") {
            DbKind::Sqlite
        } else {
            DbKind::Postgres
        };
        let url = match kind {
            DbKind::Sqlite => prepare_sqlite_url(url)?,
            DbKind::Postgres => url.to_string(),
        };
        let opts = AnyConnectOptions::from_str(&url)?
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500))
            .log_statements(tracing::log::LevelFilter::Trace);
        let pool = match kind {
            DbKind::Sqlite => {
                AnyPoolOptions::new()
                    // SQLite has one writer at a time; a handful of connections serve reads in
                    // WAL mode while writers queue on the busy timeout instead of failing.
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await?
            }
            DbKind::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await?
            }
        };
        let db = Db { pool, kind };
        db.migrate().await?;
        Ok(db)
    }

    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        let m = match self.kind {
            DbKind::Sqlite => &SQLITE_MIGRATIONS,
            DbKind::Postgres => &POSTGRES_MIGRATIONS,
        };
        m.run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e) => e,
            other => sqlx::Error::Protocol(other.to_string()),
        })
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// A random 32-byte secret named `name`, made once per database and then read by every
    /// process that shares it (so what one process signs, another accepts). The first writer
    /// wins; the others read its value.
    pub async fn instance_secret(&self, name: &str) -> Result<[u8; 32], sqlx::Error> {
        let mut fresh = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut fresh);
        sqlx::query(
            "INSERT INTO instance_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(hex::encode(fresh))
        .execute(&self.pool)
        .await?;
        let v: String = sqlx::query_scalar("SELECT value FROM instance_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(v, &mut out)
            .map_err(|e| sqlx::Error::Decode(format!("instance secret {name}: {e}").into()))?;
        Ok(out)
    }

    /// Holds the database-wide lock named `key` until the answer is dropped: every process on
    /// this database waits for it, not only this one. On PostgreSQL a transaction-level
    /// advisory lock on a connection of its own (dropping it rolls back, which releases the
    /// lock even on an error path); SQLite is one process's database, so an in-process mutex
    /// per key is the same guarantee there.
    pub async fn exclusive(&self, key: i64) -> Result<Exclusive, sqlx::Error> {
        match self.kind {
            DbKind::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
                Ok(Exclusive::Postgres(tx))
            }
            DbKind::Sqlite => {
                static LOCKS: std::sync::OnceLock<
                    std::sync::Mutex<
                        std::collections::HashMap<i64, std::sync::Arc<tokio::sync::Mutex<()>>>,
                    >,
                > = std::sync::OnceLock::new();
                let m = LOCKS
                    .get_or_init(Default::default)
                    .lock()
                    .expect("lock table")
                    .entry(key)
                    .or_default()
                    .clone();
                Ok(Exclusive::Sqlite(m.lock_owned().await))
            }
        }
    }

    /// [`Db::exclusive`] without waiting: `None` when another holder (in any process) has it.
    /// For scheduled work that one process should do per round: the others skip the round.
    pub async fn try_exclusive(&self, key: i64) -> Result<Option<Exclusive>, sqlx::Error> {
        match self.kind {
            DbKind::Postgres => {
                let mut tx = self.pool.begin().await?;
                let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await?;
                Ok(got.then_some(Exclusive::Postgres(tx)))
            }
            DbKind::Sqlite => Ok(sqlite_lock(key)
                .try_lock_owned()
                .ok()
                .map(Exclusive::Sqlite)),
        }
    }

    /// Starts a transaction that writes. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes can fail with
    /// SQLITE_BUSY when another writer got in between, which busy_timeout cannot fix.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let begin = match self.kind {
            DbKind::Sqlite => "BEGIN IMMEDIATE",
            DbKind::Postgres => "BEGIN",
        };
        // The guard exists before BEGIN runs: if this future is dropped while BEGIN waits
        // for the write lock, Drop still rolls back (or closes) the connection instead of
        // returning it to the pool inside a transaction.
        let mut tx = WriteTx {
            conn: Some(self.pool.acquire().await?),
            done: false,
        };
        tx.conn().execute(begin).await?;
        Ok(tx)
    }
}

/// A write transaction on one pooled connection; rolled back unless committed.
///
/// sqlx's own `Transaction` always issues a plain `BEGIN`, hence this small wrapper.
/// The in-process stand-in for an advisory lock on SQLite (one process's database).
fn sqlite_lock(key: i64) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    type Table =
        std::sync::Mutex<std::collections::HashMap<i64, std::sync::Arc<tokio::sync::Mutex<()>>>>;
    static LOCKS: std::sync::OnceLock<Table> = std::sync::OnceLock::new();
    LOCKS
        .get_or_init(Default::default)
        .lock()
        .expect("lock table")
        .entry(key)
        .or_default()
        .clone()
}

/// A held [`Db::exclusive`] lock; released when dropped.
pub enum Exclusive {
    Postgres(sqlx::Transaction<'static, Any>),
    Sqlite(tokio::sync::OwnedMutexGuard<()>),
}

pub struct WriteTx {
    conn: Option<PoolConnection<Any>>,
    done: bool,
}

impl WriteTx {
    pub fn conn(&mut self) -> &mut sqlx::AnyConnection {
        self.conn.as_mut().expect("transaction connection")
    }

    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.conn().execute("COMMIT").await?;
        self.done = true;
        Ok(())
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Some(mut conn) = self.conn.take() {
            // Roll back off the request path; if that fails the connection is closed rather
            // than returned to the pool in the middle of a transaction.
            tokio::spawn(async move {
                if conn.execute("ROLLBACK").await.is_err() {
                    let _ = conn.detach().close().await;
                }
            });
        }
    }
}

fn prepare_sqlite_url(url: &str) -> Result<String, sqlx::Error> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or("");
    if !path.is_empty() && path != ":memory:" {
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
            }
        }
    }
    Ok(if url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
