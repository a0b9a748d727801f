//! Merchant accounts: every admin can list the others and add one (there is no self sign-up,
//! so a shop's staff is exactly who its admins let in).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use shared::admin::AdminAccount;
use shared::Page;

use super::auth::{create_admin, record_audit, Admin};
use crate::error::{is_unique_violation, AppJson, Error, Result};
use crate::state::AppState;

/// Long enough that a guessed or reused short password is unlikely; argon2id does the rest.
/// One number in `shared`, so the admin's form checks the same minimum.
pub const MIN_PASSWORD_CHARS: usize = shared::admin::MIN_ADMIN_PASSWORD_CHARS;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/admin/admins", get(list).post(add))
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    email: String,
    created_at: i64,
}

async fn list(State(st): State<AppState>, _admin: Admin) -> Result<AppJson<Page<AdminAccount>>> {
    let rows = sqlx::query_as::<_, Row>("SELECT id, email, created_at FROM admins ORDER BY id")
        .fetch_all(&st.db.pool)
        .await?;
    Ok(AppJson(Page {
        items: rows
            .into_iter()
            .map(|r| AdminAccount {
                id: r.id,
                email: r.email,
                created_at: r.created_at,
            })
            .collect(),
        next_cursor: None,
    }))
}

#[derive(Deserialize)]
struct NewAdmin {
    email: String,
    password: String,
}

/// A plausible address: one `@`, something before it, a dotted domain after it, no spaces.
/// Deliverability is not checked (the shop sends no email); this catches typos only.
fn email_shape(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && email.len() <= 254
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

async fn add(
    State(st): State<AppState>,
    admin: Admin,
    AppJson(req): AppJson<NewAdmin>,
) -> Result<Response> {
    let email = req.email.trim().to_lowercase();
    if !email_shape(&email) {
        return Err(Error::field(
            "invalid_email",
            "email",
            "Enter an email address such as name@example.com.",
        ));
    }
    if req.password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::field(
            "weak_password",
            "password",
            format!("The password must have at least {MIN_PASSWORD_CHARS} characters."),
        ));
    }
    if req.password.chars().count() > 1024 {
        return Err(Error::field(
            "invalid_password",
            "password",
            "The password must have at most 1024 characters.",
        ));
    }
    // The unique email constraint decides duplicates, so two admins added at once cannot
    // both win.
    let id = create_admin(&st.db, &email, &req.password)
        .await
        .map_err(|e| match e {
            Error::Db(ref d) if is_unique_violation(d) => {
                Error::conflict("email_taken", format!("{email} is already an admin."))
            }
            other => other,
        })?;
    let created_at: i64 = sqlx::query_scalar("SELECT created_at FROM admins WHERE id = $1")
        .bind(id)
        .fetch_one(&st.db.pool)
        .await?;
    let account = AdminAccount {
        id,
        email: email.clone(),
        created_at,
    };
    // The password (and its hash) never goes into the log.
    record_audit(
        &st.db,
        Some((admin.id, &admin.email)),
        "create",
        "admin",
        Some(id),
        None,
        Some(&json!({"id": id, "email": email})),
    )
    .await?;
    Ok((StatusCode::CREATED, AppJson(account)).into_response())
}

#[cfg(test)]
mod tests {
    use super::email_shape;

    #[test]
    fn email_shapes() {
        assert!(email_shape("a@b.uz"));
        assert!(!email_shape("a@b"));
        assert!(!email_shape("@b.uz"));
        assert!(!email_shape("a b@c.uz"));
        assert!(!email_shape("a@@c.uz"));
        assert!(!email_shape("a@.uz"));
    }
}
