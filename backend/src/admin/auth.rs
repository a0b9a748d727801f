//! Merchant sign-in: argon2id passwords, an HttpOnly SameSite=Strict session cookie, and a
//! per-session CSRF token that every state-changing call must echo in `X-CSRF-Token`.
//!
//! Sign-in cannot be turned against the owner: failures are counted per (client address,
//! email), so an attacker locks only itself out of that account; the count is a claim taken
//! before the password check, so a burst of parallel guesses gets no more checks than one
//! guess at a time; it is forgotten with time; and an unknown email goes through exactly the
//! same steps as a known one, so the answers do not tell which emails are admins.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use rand::RngCore;
use sha2::{Digest, Sha256};
use shared::admin::AdminRole;
use shared::{AdminInfo, LoginRequest, LoginResponse};
use subtle::ConstantTimeEq;

use crate::admin::password::PasswordChecks;
use crate::client_ip::ClientIp;
use crate::config::Config;
use crate::db::{self, Db};
use crate::error::{AppJson, Error, Result};
use crate::state::AppState;

/// The cookie over plain http (local development).
pub const COOKIE: &str = "shop_admin";
/// The cookie over https: the `__Host-` prefix makes browsers accept it only when it is
/// `Secure`, has `Path=/` and no `Domain`, so a sibling subdomain cannot plant or shadow it.
pub const HOST_COOKIE: &str = "__Host-shop_admin";

/// Failures one (client, email) pair gets before it is locked; each further one doubles the
/// lock, up to `MAX_LOCK_SECS`.
pub const FREE_FAILURES: i64 = 5;
const BASE_LOCK_SECS: i64 = 30;
const MAX_LOCK_SECS: i64 = 900;
/// A pair whose last attempt is older than this starts counting again from zero, so one
/// wrong try now and then never adds up to a lock.
pub const FORGET_AFTER_SECS: i64 = 1800;
const _: () = assert!(
    FREE_FAILURES > 1 && BASE_LOCK_SECS < MAX_LOCK_SECS && FORGET_AFTER_SECS > MAX_LOCK_SECS
);

/// What signing in and out (and changing passwords) needs: the admin tables, the cookie's
/// settings, and the bounded argon2 work.
#[derive(Clone)]
pub struct AuthState {
    pub db: Db,
    pub config: Arc<Config>,
    pub passwords: Arc<PasswordChecks>,
}

impl FromRef<AppState> for AuthState {
    fn from_ref(st: &AppState) -> Self {
        AuthState {
            db: st.db.clone(),
            config: st.config.clone(),
            passwords: st.passwords.clone(),
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/login", post(login))
        .route("/api/admin/logout", post(logout))
        .route("/api/admin/logout-everywhere", post(logout_everywhere))
        .route("/api/admin/me", get(whoami))
}

/// The session cookie's name for this configuration.
pub fn cookie_name(config: &Config) -> &'static str {
    if config.public_url.starts_with("https://") {
        HOST_COOKIE
    } else {
        COOKIE
    }
}

fn session_cookie(config: &Config, value: &str, max_age: i64) -> Result<HeaderValue> {
    let name = cookie_name(config);
    let secure = if name == HOST_COOKIE { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .map_err(Error::internal)
}

/// Creates the first admin, an owner, from `ADMIN_EMAIL`/`ADMIN_PASSWORD` when there is none.
///
/// The password rule is the admin form's (`MIN_ADMIN_PASSWORD_CHARS`, in `shared` so sign-in and
/// the accounts screen share it without importing each other), checked only when an admin is
/// actually created: a shop that already has its admins keeps starting with whatever these
/// variables held when it was set up. Processes starting at once on a new database may all
/// see no admin: the insert skips an existing email, so each of them comes up.
pub async fn bootstrap(db: &Db, email: &str, password: &str) -> std::result::Result<(), String> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins")
        .fetch_one(&db.pool)
        .await
        .map_err(|e| e.to_string())?;
    if n > 0 {
        return Ok(());
    }
    let min = shared::admin::MIN_ADMIN_PASSWORD_CHARS;
    if password.chars().count() < min {
        return Err(format!("the password must have at least {min} characters"));
    }
    // Before the server takes requests, so no slot is needed; still off the async workers.
    let pw = password.to_string();
    let hash = tokio::task::spawn_blocking(move || super::password::hash_password(&pw))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let created = sqlx::query(
        "INSERT INTO admins (email, password_hash, role, created_at) VALUES ($1, $2, 'owner', $3) \
         ON CONFLICT (email) DO NOTHING",
    )
    .bind(email.trim().to_lowercase())
    .bind(hash)
    .bind(db::now())
    .execute(&db.pool)
    .await
    .map_err(|e| e.to_string())?
    .rows_affected();
    if created > 0 {
        tracing::info!(email, "created the first merchant admin (owner)");
    }
    Ok(())
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[derive(shop_macros::FromRow)]
struct AdminRow {
    id: i64,
    email: String,
    password_hash: String,
    #[sqlx(try_from = "String")]
    role: AdminRole,
}

/// A (client, email) pair's attempt, counted before the password is checked.
struct Claim {
    locked_until: i64,
}

/// The failures a (client, email) pair has with this attempt counted (`$4` the time before
/// which a pair's count is forgotten).
macro_rules! counted {
    () => {
        "(CASE WHEN login_attempts.updated_at < $4 THEN 1 ELSE login_attempts.failures + 1 END)"
    };
}

/// One row of the lock table: `WHEN <counted> <$rest>`.
macro_rules! when_counted {
    ($rest:literal) => {
        concat!(" WHEN ", counted!(), $rest)
    };
}

/// The lock a pair gets at its `counted!()`th failure (`$3` now): the table that
/// `FREE_FAILURES`, `BASE_LOCK_SECS` and `MAX_LOCK_SECS` make, written out because both
/// databases lack a portable power function (a test holds it to them).
macro_rules! lock {
    () => {
        concat!(
            "CASE",
            when_counted!(" = 5 THEN $3 + 30"),
            when_counted!(" = 6 THEN $3 + 60"),
            when_counted!(" = 7 THEN $3 + 120"),
            when_counted!(" = 8 THEN $3 + 240"),
            when_counted!(" = 9 THEN $3 + 480"),
            when_counted!(" >= 10 THEN $3 + 900"),
            " ELSE 0 END"
        )
    };
}

/// Takes one attempt for (client, email) in one statement: counts it as a failure and sets
/// the lock it earns, unless the pair is locked now, in which case nothing is counted and the
/// answer is 429 `account_locked`. A success deletes the row again.
async fn claim(db: &Db, client: &str, email: &str, now: i64) -> Result<Claim> {
    const SQL: &str = concat!(
        "INSERT INTO login_attempts (client, email, failures, locked_until, updated_at) \
         VALUES ($1, $2, 1, 0, $3) \
         ON CONFLICT (client, email) DO UPDATE SET failures = ",
        counted!(),
        ", locked_until = ",
        lock!(),
        ", updated_at = $3 WHERE login_attempts.locked_until <= $3 \
         RETURNING locked_until"
    );
    let claimed: Option<i64> = sqlx::query_scalar(SQL)
        .bind(client)
        .bind(email)
        .bind(now)
        .bind(now - FORGET_AFTER_SECS)
        .fetch_optional(&db.pool)
        .await?;
    if let Some(locked_until) = claimed {
        return Ok(Claim { locked_until });
    }
    let until: Option<i64> = sqlx::query_scalar(
        "SELECT locked_until FROM login_attempts WHERE client = $1 AND email = $2",
    )
    .bind(client)
    .bind(email)
    .fetch_optional(&db.pool)
    .await?;
    Err(locked(until.unwrap_or(now) - now))
}

fn locked(secs: i64) -> Error {
    let secs = secs.max(1);
    Error::too_many(
        "account_locked",
        format!("Too many wrong passwords: sign-in is locked for {secs} more second(s)."),
        secs as u64,
    )
}

fn wrong_password() -> Error {
    Error::Unauthorized("Wrong email or password.".into())
}

/// Signs a merchant in: sets the HttpOnly session cookie and answers the session's CSRF token,
/// which every state-changing admin call sends back in `X-CSRF-Token`.
#[utoipa::path(post, path = "/api/admin/login", tag = "admin",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the session cookie is set.", body = LoginResponse,
            headers(("Set-Cookie" = String, description = "The session cookie (HttpOnly, SameSite=Strict)."))),
        (status = 401, description = "Wrong email or password (unknown emails answer alike)."),
        (status = 429, description = "Too many password checks (per client, per account or in total); or the request rate limit.",
            headers(("Retry-After" = i64, description = "Seconds until a check is allowed again."))),
    ))]
async fn login(
    State(st): State<AuthState>,
    ClientIp(ip): ClientIp,
    AppJson(req): AppJson<LoginRequest>,
) -> Result<Response> {
    let email = req.email.trim().to_lowercase();
    if email.is_empty() || req.password.is_empty() {
        return Err(Error::field(
            "invalid_credentials",
            "email",
            "Enter your email and password.",
        ));
    }
    if email.len() > 254 || req.password.chars().count() > shared::admin::MAX_ADMIN_PASSWORD_CHARS {
        return Err(wrong_password());
    }
    // Cheapest refusals first; none of them looks at whether the email is an admin's.
    st.passwords.budget(ip, &email)?;
    let slot = st.passwords.try_slot()?;
    let now = db::now();
    let client = ip.to_string();
    let claim = claim(&st.db, &client, &email, now).await?;
    if rand::random::<u8>() < 4 {
        // Forgotten pairs are dead weight; clearing them now and then keeps the table small.
        sqlx::query("DELETE FROM login_attempts WHERE updated_at < $1 AND locked_until < $2")
            .bind(now - FORGET_AFTER_SECS)
            .bind(now)
            .execute(&st.db.pool)
            .await?;
    }
    // A disabled admin is checked like any other (same time, same cost) but never signs in.
    let row = sqlx::query_as::<_, AdminRow>(
        "SELECT id, email, password_hash, role FROM admins WHERE email = $1 AND disabled_at IS NULL",
    )
    .bind(&email)
    .fetch_optional(&st.db.pool)
    .await?;
    // No database connection is held from here until the check is done.
    let ok = slot
        .verify(
            req.password.clone(),
            row.as_ref().map(|r| r.password_hash.clone()),
        )
        .await?;
    let admin = match (ok, row) {
        (true, Some(admin)) => admin,
        (_, row) => {
            if let Some(a) = row {
                let mut conn = st.db.pool.acquire().await?;
                let who = Actor::new(a.id, &a.email, Some(ip));
                record_audit(
                    &mut conn,
                    &who,
                    "login_failed",
                    "admin",
                    Some(a.id),
                    None,
                    None,
                )
                .await?;
            }
            return Err(if claim.locked_until > now {
                locked(claim.locked_until - now)
            } else {
                wrong_password()
            });
        }
    };
    let token = random_token();
    let csrf = random_token();
    let ttl = st.config.admin_session_ttl.as_secs() as i64;
    let mut tx = st.db.begin_write().await?;
    sqlx::query("DELETE FROM login_attempts WHERE client = $1 AND email = $2")
        .bind(&client)
        .bind(&email)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO admin_sessions (token_hash, admin_id, csrf_token, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash(&token))
    .bind(admin.id)
    .bind(&csrf)
    .bind(now + ttl)
    .bind(now)
    .execute(tx.conn())
    .await?;
    sqlx::query("DELETE FROM admin_sessions WHERE expires_at < $1")
        .bind(now)
        .execute(tx.conn())
        .await?;
    let who = Actor::new(admin.id, &admin.email, Some(ip));
    record_audit(
        tx.conn(),
        &who,
        "login",
        "admin",
        Some(admin.id),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    let body = LoginResponse {
        csrf_token: csrf,
        admin: AdminInfo {
            id: admin.id,
            email: admin.email,
            role: admin.role,
        },
    };
    Ok((
        [(header::SET_COOKIE, session_cookie(&st.config, &token, ttl)?)],
        AppJson(body),
    )
        .into_response())
}

fn signed_out(config: &Config) -> Result<Response> {
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, session_cookie(config, "", 0)?)],
    )
        .into_response())
}

/// Ends this session.
#[utoipa::path(post, path = "/api/admin/logout", tag = "admin", security(("admin_session" = [])),
    responses((status = 204, description = "Signed out; the cookie is cleared.")))]
async fn logout(State(st): State<AuthState>, admin: Admin) -> Result<Response> {
    let mut tx = st.db.begin_write().await?;
    sqlx::query("DELETE FROM admin_sessions WHERE token_hash = $1")
        .bind(&admin.token_hash)
        .execute(tx.conn())
        .await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        "logout",
        "admin",
        Some(admin.id),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    signed_out(&st.config)
}

/// Ends every session of the signed-in admin, this one included (a lost phone, a shared
/// computer).
#[utoipa::path(post, path = "/api/admin/logout-everywhere", tag = "admin", security(("admin_session" = [])),
    responses((status = 204, description = "Every session of this admin ended; the cookie is cleared.")))]
async fn logout_everywhere(State(st): State<AuthState>, admin: Admin) -> Result<Response> {
    let mut tx = st.db.begin_write().await?;
    let ended = sqlx::query("DELETE FROM admin_sessions WHERE admin_id = $1")
        .bind(admin.id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    record_audit(
        tx.conn(),
        &admin.actor(),
        "logout_everywhere",
        "admin",
        Some(admin.id),
        None,
        Some(&serde_json::json!({ "sessions_ended": ended })),
    )
    .await?;
    tx.commit().await?;
    signed_out(&st.config)
}

/// The signed-in admin and this session's CSRF token (the admin UI reloads with it).
#[utoipa::path(get, path = "/api/admin/me", tag = "admin", security(("admin_session" = [])),
    responses((status = 200, description = "The admin and the session's CSRF token.", body = AdminSession)))]
async fn whoami(admin: Admin) -> AppJson<AdminSession> {
    AppJson(AdminSession {
        id: admin.id,
        email: admin.email,
        role: admin.role,
        csrf_token: admin.csrf_token,
    })
}

/// `GET /api/admin/me`: who is signed in, with the token state-changing calls send back.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AdminSession {
    pub id: i64,
    pub email: String,
    pub role: AdminRole,
    pub csrf_token: String,
}

/// A signed-in merchant. For state-changing methods it also proves the CSRF token.
pub struct Admin {
    pub id: i64,
    pub email: String,
    pub role: AdminRole,
    pub csrf_token: String,
    /// Where this request came from (after `TRUSTED_PROXIES`), for the audit log.
    pub client: IpAddr,
    pub(crate) token_hash: String,
}

impl Admin {
    pub fn actor(&self) -> Actor<'_> {
        Actor::new(self.id, &self.email, Some(self.client))
    }

    /// 403 `owner_only` unless this admin is an owner.
    pub fn require_owner(&self) -> Result<()> {
        if self.role == AdminRole::Owner {
            Ok(())
        } else {
            Err(Error::Forbidden {
                code: "owner_only",
                message: "Only an owner of the shop can do this.".into(),
            })
        }
    }
}

/// A signed-in owner: [`Admin`] whose role is `owner`, or 403 `owner_only`.
pub struct Owner(pub Admin);

impl<S> FromRequestParts<S> for Owner
where
    S: Send + Sync,
    Db: FromRef<S>,
    Arc<Config>: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, st: &S) -> Result<Self> {
        let admin = Admin::from_request_parts(parts, st).await?;
        admin.require_owner()?;
        Ok(Owner(admin))
    }
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Needs only the database (the sessions) and the configuration (the cookie's name).
impl<S> FromRequestParts<S> for Admin
where
    S: Send + Sync,
    Db: FromRef<S>,
    Arc<Config>: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, st: &S) -> Result<Self> {
        let ClientIp(client) = ClientIp::from_request_parts(parts, st).await?;
        let token = cookie_value(&parts.headers, cookie_name(&Arc::<Config>::from_ref(st)))
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Unauthorized("Sign in to the admin first.".into()))?;
        #[derive(shop_macros::FromRow)]
        struct Row {
            admin_id: i64,
            email: String,
            #[sqlx(try_from = "String")]
            role: AdminRole,
            csrf_token: String,
            expires_at: i64,
        }
        let hash = token_hash(token);
        // A disabled admin's sessions are deleted when it is disabled; the join refuses them
        // anyway, whatever order things happen in.
        let row = sqlx::query_as::<_, Row>(
            "SELECT s.admin_id, a.email, a.role, s.csrf_token, s.expires_at FROM admin_sessions s \
             JOIN admins a ON a.id = s.admin_id WHERE s.token_hash = $1 AND a.disabled_at IS NULL",
        )
        .bind(&hash)
        .fetch_optional(&Db::from_ref(st).pool)
        .await?
        .filter(|r| r.expires_at > db::now())
        .ok_or_else(|| {
            Error::Unauthorized("Your admin session has ended; sign in again.".into())
        })?;
        let changes = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if changes {
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if sent.is_empty() || !bool::from(sent.as_bytes().ct_eq(row.csrf_token.as_bytes())) {
                return Err(Error::Forbidden {
                    code: "csrf_failed",
                    message: "Missing or wrong X-CSRF-Token; reload the admin and try again."
                        .into(),
                });
            }
        }
        Ok(Admin {
            id: row.admin_id,
            email: row.email,
            role: row.role,
            csrf_token: row.csrf_token,
            client,
            token_hash: hash,
        })
    }
}

/// Who an audit entry is about: the admin (none for the server's command line) and the
/// client address the request came from.
pub struct Actor<'a> {
    pub admin: Option<(i64, &'a str)>,
    pub client: Option<IpAddr>,
}

impl<'a> Actor<'a> {
    pub fn new(id: i64, email: &'a str, client: Option<IpAddr>) -> Self {
        Actor {
            admin: Some((id, email)),
            client,
        }
    }

    /// A change made on the server's own command line (`shop admin …`).
    pub fn command_line() -> Self {
        Actor {
            admin: None,
            client: None,
        }
    }
}

/// Writes one audit entry: who did what to which thing, with before/after snapshots.
///
/// It takes the connection of the change's own transaction, so an entry exists exactly when
/// the change it describes was committed.
pub async fn record_audit(
    conn: &mut sqlx::AnyConnection,
    who: &Actor<'_>,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (admin_id, admin_email, client_ip, action, entity, entity_id, before_json, after_json, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(who.admin.map(|w| w.0))
    .bind(who.admin.map(|w| w.1.to_string()))
    .bind(who.client.map(|c| c.to_string()))
    .bind(action)
    .bind(entity)
    .bind(entity_id)
    .bind(before.map(|v| v.to_string()))
    .bind(after.map(|v| v.to_string()))
    .bind(db::now())
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_double_from_the_free_failures_up_to_the_cap() {
        let mut table = String::from("CASE");
        let mut k = FREE_FAILURES;
        loop {
            let secs = (BASE_LOCK_SECS << (k - FREE_FAILURES)).min(MAX_LOCK_SECS);
            if secs == MAX_LOCK_SECS {
                table.push_str(&format!(" WHEN {} >= {k} THEN $3 + {secs}", counted!()));
                break;
            }
            table.push_str(&format!(" WHEN {} = {k} THEN $3 + {secs}", counted!()));
            k += 1;
        }
        table.push_str(" ELSE 0 END");
        assert_eq!(lock!(), table);
    }
}
