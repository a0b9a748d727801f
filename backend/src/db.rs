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
    /// Reads, and writes outside [`Db::begin_write`].
    pub pool: AnyPool,
    /// Where write transactions run. On SQLite one connection of its own: SQLite lets one
    /// writer in at a time, and connections that queue for its lock poll on the busy timeout
    /// (sleeping up to tens of milliseconds between tries), which made the tail of every write
    /// slow; waiting for this pool's one connection is a fair queue instead. On PostgreSQL the
    /// same pool as `pool` (row locks, not one database lock).
    pub writer: AnyPool,
    pub kind: DbKind,
    /// The group writer's queue, started on first use (see [`Db::group_write`]).
    group: std::sync::Arc<std::sync::OnceLock<Vec<GroupQueue>>>,
}

/// The schema: `migrations/<kind>/<version>_<description>.sql`, embedded in the binary.
type Migrations = &'static [(i64, &'static str, &'static str)];
const SQLITE_MIGRATIONS: Migrations = shop_macros::embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: Migrations = shop_macros::embed_migrations!("../migrations/postgres");

/// The embedded files as sqlx's migrator takes them (each in its own transaction, checksummed
/// as sqlx's `migrate!` does, so databases migrated before agree).
#[derive(Debug)]
struct Embedded(Migrations);

impl<'s> sqlx::migrate::MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> futures_util::future::BoxFuture<
        's,
        Result<Vec<sqlx::migrate::Migration>, sqlx::error::BoxDynError>,
    > {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    sqlx::migrate::Migration::new(
                        *version,
                        (*description).into(),
                        sqlx::migrate::MigrationType::Simple,
                        (*sql).into(),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// How long a pooled connection may sit unused before it is pinged when taken again.
const PING_AFTER_IDLE: Duration = Duration::from_secs(30);

/// The pools' common settings. A connection taken from the pool is checked with a round trip
/// to the database only after it sat idle for [`PING_AFTER_IDLE`] (one that broke then, say
/// by a database restart, is replaced before use). sqlx checks every one by default: that is
/// a round trip per query under load, where connections never sit idle long, and one that
/// broke mid-use fails its query either way.
fn pool_options() -> AnyPoolOptions {
    AnyPoolOptions::new()
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

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
        let (pool, writer) = match kind {
            DbKind::Sqlite => {
                let sqlite = |max| {
                    pool_options()
                        .max_connections(max)
                        .after_connect(|conn, _meta| {
                            Box::pin(async move {
                                // busy_timeout: other processes on the same file, and writes
                                // made outside the writer connection, wait instead of failing.
                                conn.execute(
                                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                                )
                                .await?;
                                Ok(())
                            })
                        })
                };
                // WAL mode: a handful of connections read while the one writer writes.
                let pool = sqlite(8).connect_with(opts.clone()).await?;
                let writer = sqlite(1).connect_with(opts).await?;
                (pool, writer)
            }
            DbKind::Postgres => {
                let pool = pool_options()
                    .max_connections(16)
                    .connect_with(opts)
                    .await?;
                (pool.clone(), pool)
            }
        };
        let db = Db {
            pool,
            writer,
            kind,
            group: Default::default(),
        };
        db.migrate().await?;
        Ok(db)
    }

    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        let files = match self.kind {
            DbKind::Sqlite => SQLITE_MIGRATIONS,
            DbKind::Postgres => POSTGRES_MIGRATIONS,
        };
        let m = sqlx::migrate::Migrator::new(Embedded(files))
            .await
            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
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
            conn: Some(self.writer.acquire().await?),
            done: false,
        };
        tx.conn().execute(begin).await?;
        Ok(tx)
    }
}

/// One piece of work for the group writer ([`Db::group_write`]).
///
/// `run` may be called more than once (the group is retried one by one after a database
/// error), so it starts from scratch each time and keeps what it found for `done`. When it
/// refuses (out of stock, say) it must leave the database as it found it, undoing its own
/// writes: the group it shares a transaction with still commits.
pub trait GroupWrite: Send + 'static {
    fn run<'a>(
        &'a mut self,
        conn: &'a mut sqlx::AnyConnection,
    ) -> futures_util::future::BoxFuture<'a, Result<(), sqlx::Error>>;
    /// Called once, after its transaction committed (`Ok`) or failed (`Err`).
    fn done(self: Box<Self>, committed: Result<(), &sqlx::Error>);
    /// How to write a whole group of this kind at once, if there is a way: run before any
    /// piece's `run`, with every piece of the group, in the group's transaction. It settles
    /// what it can (a piece it settled makes its `run` do nothing) and leaves the rest to
    /// their own `run`; like `run` it may be called again and starts from scratch. The first
    /// piece's answer counts for the group. None by default.
    fn group(&self) -> Option<GroupFn> {
        None
    }
    /// The piece itself, for a [`GroupFn`] to find the pieces of its kind.
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;
}

/// Writes a whole group at once ([`GroupWrite::group`]).
pub type GroupFn = for<'a> fn(
    &'a mut [Box<dyn GroupWrite>],
    &'a mut sqlx::AnyConnection,
) -> futures_util::future::BoxFuture<'a, Result<(), sqlx::Error>>;

/// Where one lane's group writer takes its work from ([`Db::group_write_in`]).
type GroupQueue = tokio::sync::mpsc::Sender<Box<dyn GroupWrite>>;

/// How many pieces of work one group transaction takes at most.
const GROUP_MAX: usize = 64;
/// How many groups form side by side on PostgreSQL ([`Db::group_write_in`]). A group's orders
/// are one statement ([`GroupWrite::group`]), so the fewer groups, the bigger each and the
/// less each order costs: one group (as on SQLite) placed the most orders per second, with
/// orders on one variant and spread over 50 (docs/PERFORMANCE.md, session 12, one, two and
/// four lanes measured). Kept as a setting: four lanes served PostgreSQL best while each order
/// was a statement of its own.
pub const POSTGRES_LANES: usize = 1;

impl Db {
    /// Runs `work` in a write transaction that it shares with whatever other work was waiting
    /// ("group commit"). One task per process (per lane, [`Db::group_write_in`]) takes
    /// everything queued, runs it on a writer connection in one transaction and commits once; the next group forms while this one
    /// commits. On SQLite a commit writes every page the transaction changed to the WAL, and
    /// the same pages (the ends of the orders table and its indexes) are shared by all the
    /// orders of a group, so a group costs little more than one order. If the group fails,
    /// each piece runs again in a transaction of its own, so one piece's error is not the
    /// others'.
    ///
    /// Work queued here still commits if the caller stops waiting (a client that hung up).
    pub async fn group_write(&self, work: Box<dyn GroupWrite>) {
        self.group_write_in(0, work).await
    }

    /// [`Db::group_write`] in one of several groups that form side by side, chosen by `lane`
    /// (work on the same rows should name the same lane). SQLite has one writer connection, so
    /// one group. PostgreSQL runs [`POSTGRES_LANES`] groups at once, each on a connection of
    /// its own (one today: a group is one statement, and bigger groups cost less per order).
    /// With several lanes, work whose rows are in one lane never waits for another lane's
    /// locks; work that spans lanes (or processes) can, and if two groups wait for each other
    /// PostgreSQL ends one of them, whose work then runs again alone.
    pub async fn group_write_in(&self, lane: u64, work: Box<dyn GroupWrite>) {
        let lanes = self.group.get_or_init(|| {
            let n = match self.kind {
                DbKind::Sqlite => 1,
                DbKind::Postgres => POSTGRES_LANES,
            };
            (0..n)
                .map(|_| {
                    let (tx, rx) = tokio::sync::mpsc::channel(1024);
                    tokio::spawn(group_writer(self.writer_only(), rx));
                    tx
                })
                .collect()
        });
        let tx = lanes[(lane % lanes.len() as u64) as usize].clone();
        if let Err(back) = tx.send(work).await {
            back.0.done(Err(&sqlx::Error::PoolClosed));
        }
    }

    /// A handle for the group writer task that does not keep its own queue open (the task ends
    /// when the last `Db` that can send to it is dropped).
    fn writer_only(&self) -> Db {
        Db {
            pool: self.pool.clone(),
            writer: self.writer.clone(),
            kind: self.kind,
            group: Default::default(),
        }
    }
}

async fn group_writer(db: Db, mut rx: tokio::sync::mpsc::Receiver<Box<dyn GroupWrite>>) {
    let mut group = Vec::with_capacity(GROUP_MAX);
    while rx.recv_many(&mut group, GROUP_MAX).await > 0 {
        metrics::histogram!("shop_db_group_size").record(group.len() as f64);
        match run_group(&db, &mut group).await {
            Ok(()) => group.drain(..).for_each(|w| w.done(Ok(()))),
            Err(e) if group.len() == 1 => group.drain(..).for_each(|w| w.done(Err(&e))),
            Err(e) => {
                tracing::warn!(error = %e, size = group.len(), "group write failed; retrying one by one");
                for mut w in group.drain(..) {
                    let res = run_group(&db, std::slice::from_mut(&mut w)).await;
                    w.done(res.as_ref().map(|_| ()));
                }
            }
        }
    }
}

async fn run_group(db: &Db, group: &mut [Box<dyn GroupWrite>]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    if let Some(write_all) = group.first().and_then(|w| w.group()) {
        write_all(group, tx.conn()).await?;
    }
    for w in group.iter_mut() {
        w.run(tx.conn()).await?;
    }
    tx.commit().await
}

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

/// A write transaction on the writer connection; rolled back unless committed.
///
/// sqlx's own `Transaction` always issues a plain `BEGIN`, hence this small wrapper.
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Inserts one row; a negative value breaks the table's CHECK (a database error).
    struct Insert {
        v: i64,
        runs: Arc<AtomicUsize>,
        reply: Option<tokio::sync::oneshot::Sender<Result<(), String>>>,
    }

    impl GroupWrite for Insert {
        fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
            self
        }
        fn run<'a>(
            &'a mut self,
            conn: &'a mut sqlx::AnyConnection,
        ) -> futures_util::future::BoxFuture<'a, Result<(), sqlx::Error>> {
            Box::pin(async move {
                self.runs.fetch_add(1, Ordering::SeqCst);
                sqlx::query("INSERT INTO group_test (v) VALUES ($1)")
                    .bind(self.v)
                    .execute(conn)
                    .await?;
                Ok(())
            })
        }

        fn done(mut self: Box<Self>, committed: Result<(), &sqlx::Error>) {
            let _ = self
                .reply
                .take()
                .expect("done once")
                .send(committed.map_err(|e| e.to_string()));
        }
    }

    /// Fifty writes queued at once form one group; one of them fails, so the group is rolled
    /// back and each write runs again alone: the failing one gets its error, the others commit
    /// and each hears about its own.
    #[tokio::test]
    async fn a_failing_write_does_not_take_its_group_down() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/g.db", dir.path().display()))
            .await
            .unwrap();
        sqlx::query("CREATE TABLE group_test (v INTEGER NOT NULL CHECK (v >= 0))")
            .execute(&db.pool)
            .await
            .unwrap();
        let runs = Arc::new(AtomicUsize::new(0));
        let mut answers = vec![];
        for v in 0..50i64 {
            let (reply, answer) = tokio::sync::oneshot::channel();
            let v = if v == 25 { -1 } else { v };
            // Queued without waiting for an answer: the writer takes them as one group.
            db.group_write(Box::new(Insert {
                v,
                runs: runs.clone(),
                reply: Some(reply),
            }))
            .await;
            answers.push((v, answer));
        }
        for (v, answer) in answers {
            let got = answer.await.expect("answered");
            if v < 0 {
                assert!(
                    got.unwrap_err().contains("CHECK"),
                    "the failing write hears why"
                );
            } else {
                assert_eq!(got, Ok(()), "write {v}");
            }
        }
        let rows: Vec<i64> = sqlx::query_scalar("SELECT v FROM group_test ORDER BY v")
            .fetch_all(&db.pool)
            .await
            .unwrap();
        assert_eq!(rows, (0..50).filter(|v| *v != 25).collect::<Vec<_>>());
        // One group of all 50 that stopped at the failing 26th, then 50 single runs.
        assert_eq!(runs.load(Ordering::SeqCst), 26 + 50);
    }
}
