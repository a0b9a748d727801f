//! Customer authentication: Telegram initData in `Authorization: tma <initData>`.

pub mod init_data;

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::{header, request::Parts};

use crate::db::{self, Db};
use crate::error::Error;
use init_data::{InitData, TgUser, Verifier};

/// A customer whose initData verified. Handlers that take it are closed to everybody else.
pub struct Customer(pub InitData);

impl Customer {
    pub fn id(&self) -> i64 {
        self.0.user.id
    }
    pub fn user(&self) -> &TgUser {
        &self.0.user
    }
}

/// Needs only the verifier, so any state that holds one can take customers.
impl<S> FromRequestParts<S> for Customer
where
    S: Send + Sync,
    Arc<Verifier>: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| {
                Error::Unauthorized(
                    "Open the shop from Telegram: the request carries no Authorization header."
                        .into(),
                )
            })?
            .to_str()
            .map_err(|_| Error::Unauthorized("The Authorization header is not text.".into()))?;
        let raw = header
            .strip_prefix("tma ")
            .or_else(|| header.strip_prefix("TMA "))
            .ok_or_else(|| Error::Unauthorized("Authorization must be `tma <initData>`.".into()))?;
        Arc::<Verifier>::from_ref(state)
            .verify(raw.trim(), db::now())
            .map(Customer)
            .map_err(|e| Error::Unauthorized(format!("Telegram sign-in failed: {}", e.message())))
    }
}

/// Creates or refreshes the customer's row (names and language change over time).
pub async fn ensure_customer(db: &Db, user: &TgUser) -> Result<(), Error> {
    upsert_customer(&db.pool, user, db::now()).await?;
    Ok(())
}

/// [`ensure_customer`] on any executor: placing an order does it inside its own write
/// transaction (on PostgreSQL the upsert also locks the customer's row until the order commits).
/// A Telegram user's names as the `customers` row stores them: PostgreSQL text cannot hold
/// NUL, and Telegram names never need it. Every writer of that row goes through this.
pub struct StoredUser {
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub language_code: Option<String>,
}

impl From<&TgUser> for StoredUser {
    fn from(user: &TgUser) -> Self {
        let clean = |s: &str| s.replace('\0', "");
        let opt = |s: &Option<String>| s.as_deref().map(clean);
        StoredUser {
            first_name: clean(&user.first_name),
            last_name: opt(&user.last_name),
            username: opt(&user.username),
            language_code: opt(&user.language_code),
        }
    }
}

pub async fn upsert_customer<'e, E>(conn: E, user: &TgUser, now: i64) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let stored = StoredUser::from(user);
    sqlx::query(
        "INSERT INTO customers (id, first_name, last_name, username, language_code, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) \
         ON CONFLICT (id) DO UPDATE SET first_name = excluded.first_name, \
         last_name = excluded.last_name, username = excluded.username, \
         language_code = excluded.language_code, updated_at = excluded.updated_at",
    )
    .bind(user.id)
    .bind(stored.first_name)
    .bind(stored.last_name)
    .bind(stored.username)
    .bind(stored.language_code)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// [`upsert_customer`] for several customers in one statement, in customer id order (so two
/// such statements lock shared rows in the same order); the newest `now` of a customer named
/// twice wins. A group of orders locks all its customers' rows with it.
pub async fn upsert_customers(
    conn: &mut sqlx::AnyConnection,
    users: &[(&TgUser, i64)],
) -> Result<(), sqlx::Error> {
    let mut latest: std::collections::BTreeMap<i64, (&TgUser, i64)> = Default::default();
    for (user, now) in users {
        let e = latest.entry(user.id).or_insert((user, *now));
        if *now >= e.1 {
            *e = (user, *now);
        }
    }
    if latest.is_empty() {
        return Ok(());
    }
    let mut q = crate::db::SqlBuilder::new(
        "INSERT INTO customers (id, first_name, last_name, username, language_code, created_at, \
         updated_at) VALUES ",
    );
    for (n, (id, (user, now))) in latest.iter().enumerate() {
        let stored = StoredUser::from(*user);
        q.push(if n == 0 { "(" } else { ", (" });
        q.push_bind(*id).push(", ");
        q.push_bind(stored.first_name).push(", ");
        q.push_bind(stored.last_name).push(", ");
        q.push_bind(stored.username).push(", ");
        q.push_bind(stored.language_code).push(", ");
        q.push_bind(*now).push(", ");
        q.push_bind(*now).push(")");
    }
    q.push(
        " ON CONFLICT (id) DO UPDATE SET first_name = excluded.first_name, \
         last_name = excluded.last_name, username = excluded.username, \
         language_code = excluded.language_code, updated_at = excluded.updated_at",
    );
    q.build().execute(conn).await?;
    Ok(())
}
