//! Every query behind the admin accounts (the routes in this module and the command line's
//! password reset), so the handlers read as rules and this file as SQL. Functions take the
//! connection they run on: inside a write transaction they see (and are part of) that change.

use shared::admin::AdminRole;
use sqlx::AnyConnection;

use crate::db::DbKind;
use crate::error::Result;

#[derive(shop_macros::FromRow)]
pub struct Row {
    pub id: i64,
    pub email: String,
    #[sqlx(try_from = "String")]
    pub role: AdminRole,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
}

/// A `Row`'s columns, a literal so that each statement is one fixed string (`concat!`).
macro_rules! columns {
    () => {
        "id, email, role, disabled_at, created_at"
    };
}

/// Every admin, oldest first.
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<Row>> {
    const SQL: &str = concat!("SELECT ", columns!(), " FROM admins ORDER BY id");
    Ok(sqlx::query_as::<_, Row>(SQL).fetch_all(conn).await?)
}

pub async fn by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<Row>> {
    const SQL: &str = concat!("SELECT ", columns!(), " FROM admins WHERE id = $1");
    Ok(sqlx::query_as::<_, Row>(SQL)
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// Inserts an admin. The unique email constraint decides duplicates (two admins added at once
/// cannot both win): its violation on `admins.email` is left to the caller to name.
pub async fn insert(
    conn: &mut AnyConnection,
    email: &str,
    password_hash: &str,
    role: AdminRole,
    now: i64,
) -> std::result::Result<Row, sqlx::Error> {
    const SQL: &str = concat!(
        "INSERT INTO admins (email, password_hash, role, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING ",
        columns!()
    );
    sqlx::query_as::<_, Row>(SQL)
        .bind(email)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(now)
        .fetch_one(conn)
        .await
}

/// The ids of the active owners. On PostgreSQL their rows stay locked (`FOR UPDATE`) for the
/// rest of the transaction, so two owners disabling each other at once cannot both succeed;
/// SQLite's `BEGIN IMMEDIATE` already lets one writer in at a time.
pub async fn active_owners(conn: &mut AnyConnection, kind: DbKind) -> Result<Vec<i64>> {
    const SQL: &str = "SELECT id FROM admins WHERE role = 'owner' AND disabled_at IS NULL";
    const LOCKED: &str = concat!(
        "SELECT id FROM admins WHERE role = 'owner' AND disabled_at IS NULL",
        " FOR UPDATE"
    );
    let sql = if kind == DbKind::Postgres {
        LOCKED
    } else {
        SQL
    };
    Ok(sqlx::query_scalar(sql).fetch_all(conn).await?)
}

/// Deletes an admin; its sessions go with the row (ON DELETE CASCADE).
pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM admins WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Disables the admin since `at`, or enables it (`None`).
pub async fn set_disabled(conn: &mut AnyConnection, id: i64, at: Option<i64>) -> Result<()> {
    let q = match at {
        Some(at) => sqlx::query("UPDATE admins SET disabled_at = $1 WHERE id = $2").bind(at),
        None => sqlx::query("UPDATE admins SET disabled_at = NULL WHERE id = $1"),
    };
    q.bind(id).execute(conn).await?;
    Ok(())
}

/// Ends every session of the admin but the one with `keep` as its token hash; answers how
/// many ended.
pub async fn end_sessions(
    conn: &mut AnyConnection,
    admin_id: i64,
    keep: Option<&str>,
) -> Result<u64> {
    let done = match keep {
        Some(keep) => {
            sqlx::query("DELETE FROM admin_sessions WHERE admin_id = $1 AND token_hash <> $2")
                .bind(admin_id)
                .bind(keep.to_string())
                .execute(conn)
                .await?
        }
        None => {
            sqlx::query("DELETE FROM admin_sessions WHERE admin_id = $1")
                .bind(admin_id)
                .execute(conn)
                .await?
        }
    };
    Ok(done.rows_affected())
}

pub async fn password_hash(conn: &mut AnyConnection, id: i64) -> Result<String> {
    Ok(
        sqlx::query_scalar("SELECT password_hash FROM admins WHERE id = $1")
            .bind(id)
            .fetch_one(conn)
            .await?,
    )
}

pub async fn set_password_hash(conn: &mut AnyConnection, id: i64, hash: &str) -> Result<()> {
    sqlx::query("UPDATE admins SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets the password of the admin with this email; answers its id, `None` for no such admin.
pub async fn set_password_hash_by_email(
    conn: &mut AnyConnection,
    email: &str,
    hash: &str,
) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("UPDATE admins SET password_hash = $1 WHERE email = $2 RETURNING id")
            .bind(hash)
            .bind(email)
            .fetch_optional(conn)
            .await?,
    )
}

/// Forgets every failed sign-in (and its lock) on this email.
pub async fn clear_login_attempts(conn: &mut AnyConnection, email: &str) -> Result<()> {
    sqlx::query("DELETE FROM login_attempts WHERE email = $1")
        .bind(email)
        .execute(conn)
        .await?;
    Ok(())
}
