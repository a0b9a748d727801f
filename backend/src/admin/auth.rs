//! Merchant sign-in: argon2id passwords, an HttpOnly SameSite=Strict session cookie, and a
//! per-session CSRF token that every state-changing call must echo in `X-CSRF-Token`.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::extract::{FromRequestParts, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use rand::RngCore;
use sha2::{Digest, Sha256};
use shared::{AdminInfo, LoginRequest, LoginResponse};
use subtle::ConstantTimeEq;

use crate::db::{self, Db};
use crate::error::{AppJson, Error, Result};
use crate::state::AppState;

pub const COOKIE: &str = "shop_admin";
/// Failures allowed before the account is locked for a while; each further failure doubles it.
const FREE_FAILURES: i64 = 5;
const BASE_LOCK_SECS: i64 = 30;
const MAX_LOCK_SECS: i64 = 3600;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/login", post(login))
        .route("/api/admin/logout", post(logout))
        .route("/api/admin/me", get(whoami))
}

pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Creates the first admin from `ADMIN_EMAIL`/`ADMIN_PASSWORD` when there is none yet.
///
/// The password rule is the admin form's (`MIN_PASSWORD_CHARS`), checked only when an admin is
/// actually created: a shop that already has its admins keeps starting with whatever these
/// variables held when it was set up.
pub async fn bootstrap(db: &Db, email: &str, password: &str) -> std::result::Result<(), String> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admins")
        .fetch_one(&db.pool)
        .await
        .map_err(|e| e.to_string())?;
    if n > 0 {
        return Ok(());
    }
    let min = super::accounts::MIN_PASSWORD_CHARS;
    if password.chars().count() < min {
        return Err(format!("the password must have at least {min} characters"));
    }
    create_admin(db, email, password)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(email, "created the first merchant admin");
    Ok(())
}

pub async fn create_admin(db: &Db, email: &str, password: &str) -> Result<i64> {
    // Argon2 is deliberately slow: keep it off the async workers.
    let pw = password.to_string();
    let hash = tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .map_err(Error::internal)??;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO admins (email, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(email.trim().to_lowercase())
    .bind(hash)
    .bind(db::now())
    .fetch_one(&db.pool)
    .await?;
    Ok(id)
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[derive(sqlx::FromRow)]
struct AdminRow {
    id: i64,
    email: String,
    password_hash: String,
    locked_until: i64,
}

/// A hash to verify against when the email is unknown, so response time does not tell
/// which emails are admins.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default())
}

async fn login(
    State(st): State<AppState>,
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
    let now = db::now();
    let row = sqlx::query_as::<_, AdminRow>(
        "SELECT id, email, password_hash, locked_until FROM admins WHERE email = $1",
    )
    .bind(&email)
    .fetch_optional(&st.db.pool)
    .await?;
    let Some(admin) = row else {
        let pw = req.password.clone();
        let _ = tokio::task::spawn_blocking(move || verify_password(&pw, dummy_hash())).await;
        return Err(Error::Unauthorized("Wrong email or password.".into()));
    };
    if admin.locked_until > now {
        return Err(locked(admin.locked_until - now));
    }
    // Argon2 is deliberately slow: keep it off the async workers.
    let (pw, hash) = (req.password.clone(), admin.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
        .await
        .map_err(Error::internal)?;
    if !ok {
        // Counted in the database, so parallel guesses cannot all see the same old count.
        let failures: i64 = sqlx::query_scalar(
            "UPDATE admins SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins",
        )
        .bind(admin.id)
        .fetch_one(&st.db.pool)
        .await?;
        let lock = if failures >= FREE_FAILURES {
            let exp = (failures - FREE_FAILURES).min(10) as u32;
            (BASE_LOCK_SECS << exp).min(MAX_LOCK_SECS)
        } else {
            0
        };
        if lock > 0 {
            sqlx::query("UPDATE admins SET locked_until = $1 WHERE id = $2")
                .bind(now + lock)
                .bind(admin.id)
                .execute(&st.db.pool)
                .await?;
        }
        record_audit(
            &st.db,
            Some((admin.id, &admin.email)),
            "login_failed",
            "admin",
            Some(admin.id),
            None,
            None,
        )
        .await?;
        if lock > 0 {
            return Err(locked(lock));
        }
        return Err(Error::Unauthorized("Wrong email or password.".into()));
    }
    sqlx::query("UPDATE admins SET failed_logins = 0, locked_until = 0 WHERE id = $1")
        .bind(admin.id)
        .execute(&st.db.pool)
        .await?;
    let token = random_token();
    let csrf = random_token();
    let ttl = st.config.admin_session_ttl.as_secs() as i64;
    sqlx::query(
        "INSERT INTO admin_sessions (token_hash, admin_id, csrf_token, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash(&token))
    .bind(admin.id)
    .bind(&csrf)
    .bind(now + ttl)
    .bind(now)
    .execute(&st.db.pool)
    .await?;
    sqlx::query("DELETE FROM admin_sessions WHERE expires_at < $1")
        .bind(now)
        .execute(&st.db.pool)
        .await?;
    record_audit(
        &st.db,
        Some((admin.id, &admin.email)),
        "login",
        "admin",
        Some(admin.id),
        None,
        None,
    )
    .await?;
    let secure = if st.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie =
        format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={ttl}{secure}");
    let body = LoginResponse {
        csrf_token: csrf,
        admin: AdminInfo {
            id: admin.id,
            email: admin.email,
        },
    };
    Ok((
        [(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).map_err(Error::internal)?,
        )],
        AppJson(body),
    )
        .into_response())
}

fn locked(secs: i64) -> Error {
    Error::Status {
        status: StatusCode::TOO_MANY_REQUESTS,
        code: "account_locked",
        message: format!(
            "Too many wrong passwords: sign-in is locked for {} more second(s).",
            secs.max(1)
        ),
    }
}

async fn logout(State(st): State<AppState>, admin: Admin) -> Result<Response> {
    sqlx::query("DELETE FROM admin_sessions WHERE token_hash = $1")
        .bind(&admin.token_hash)
        .execute(&st.db.pool)
        .await?;
    record_audit(
        &st.db,
        Some((admin.id, &admin.email)),
        "logout",
        "admin",
        Some(admin.id),
        None,
        None,
    )
    .await?;
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).map_err(Error::internal)?,
        )],
    )
        .into_response())
}

async fn whoami(admin: Admin) -> AppJson<serde_json::Value> {
    AppJson(
        serde_json::json!({"id": admin.id, "email": admin.email, "csrf_token": admin.csrf_token}),
    )
}

/// A signed-in merchant. For state-changing methods it also proves the CSRF token.
pub struct Admin {
    pub id: i64,
    pub email: String,
    pub csrf_token: String,
    token_hash: String,
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

impl FromRequestParts<AppState> for Admin {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self> {
        let token = cookie_value(&parts.headers, COOKIE)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Unauthorized("Sign in to the admin first.".into()))?;
        #[derive(sqlx::FromRow)]
        struct Row {
            admin_id: i64,
            email: String,
            csrf_token: String,
            expires_at: i64,
        }
        let hash = token_hash(token);
        let row = sqlx::query_as::<_, Row>(
            "SELECT s.admin_id, a.email, s.csrf_token, s.expires_at FROM admin_sessions s \
             JOIN admins a ON a.id = s.admin_id WHERE s.token_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(&st.db.pool)
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
            csrf_token: row.csrf_token,
            token_hash: hash,
        })
    }
}

/// Writes one audit entry: who did what to which thing, with before/after snapshots.
pub async fn record_audit(
    db: &Db,
    who: Option<(i64, &str)>,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (admin_id, admin_email, action, entity, entity_id, before_json, after_json, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(who.map(|w| w.0))
    .bind(who.map(|w| w.1.to_string()))
    .bind(action)
    .bind(entity)
    .bind(entity_id)
    .bind(before.map(|v| v.to_string()))
    .bind(after.map(|v| v.to_string()))
    .bind(db::now())
    .execute(&db.pool)
    .await?;
    Ok(())
}
