//! Merchant accounts. Owners list, add, disable, enable and remove admins (there is no self
//! sign-up, so a shop's staff is exactly who its owners let in); every admin changes its own
//! password. The shop always keeps at least one active owner. The SQL is in `repo`.

pub mod repo;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use shared::admin::{AdminAccount, AdminRole, NewAdmin, PasswordChange, MAX_ADMIN_PASSWORD_CHARS};
use shared::Page;

use super::auth::{record_audit, Actor, Admin, AuthState, Owner};
use crate::db::{self, Db, DbKind};
use crate::error::{AppJson, AppPath, Error, Result};
use crate::state::AppState;
use repo::Row;

/// Long enough that a guessed or reused short password is unlikely; argon2id does the rest.
/// One number in `shared`, so the admin's form checks the same minimum.
pub const MIN_PASSWORD_CHARS: usize = shared::admin::MIN_ADMIN_PASSWORD_CHARS;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/admins", get(list).post(add))
        .route("/api/admin/admins/{id}", axum::routing::delete(remove))
        .route("/api/admin/admins/{id}/disable", post(disable))
        .route("/api/admin/admins/{id}/enable", post(enable))
        .route("/api/admin/password", post(change_password))
}

impl From<Row> for AdminAccount {
    fn from(r: Row) -> Self {
        AdminAccount {
            id: r.id,
            email: r.email,
            role: r.role,
            disabled_at: r.disabled_at,
            created_at: r.created_at,
        }
    }
}

/// Every admin account (owner only).
#[utoipa::path(get, path = "/api/admin/admins", tag = "admin", security(("admin_session" = [])),
    responses(
        (status = 200, description = "The admins (one page).", body = Page<AdminAccount>),
        (status = 403, description = "`owner_only`."),
    ))]
async fn list(State(st): State<AuthState>, _owner: Owner) -> Result<AppJson<Page<AdminAccount>>> {
    let rows = repo::all(&mut *st.db.pool.acquire().await?).await?;
    Ok(AppJson(Page {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}

/// 400 naming `field` unless the password's length is within the rule.
fn check_password(password: &str, field: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(Error::field(
            "weak_password",
            field,
            format!("The password must have at least {MIN_PASSWORD_CHARS} characters."),
        ));
    }
    if n > MAX_ADMIN_PASSWORD_CHARS {
        return Err(Error::field(
            "invalid_password",
            field,
            format!("The password must have at most {MAX_ADMIN_PASSWORD_CHARS} characters."),
        ));
    }
    Ok(())
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

/// Adds an admin (owner only).
#[utoipa::path(post, path = "/api/admin/admins", tag = "admin", security(("admin_session" = [])),
    request_body = NewAdmin,
    responses(
        (status = 201, description = "The new admin.", body = AdminAccount),
        (status = 409, description = "`email_taken`."),
    ))]
async fn add(
    State(st): State<AuthState>,
    Owner(admin): Owner,
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
    check_password(&req.password, "password")?;
    let hash = st.passwords.slot().await?.hash(req.password).await?;
    let mut tx = st.db.begin_write().await?;
    // The unique email constraint decides duplicates, so two admins added at once cannot
    // both win.
    let row = repo::insert(tx.conn(), &email, &hash, req.role, db::now())
        .await
        .map_err(|e| {
            Error::from(e).on_unique("admins.email", || {
                Error::conflict("email_taken", format!("{email} is already an admin."))
            })
        })?;
    let account = AdminAccount::from(row);
    // The password (and its hash) never goes into the log.
    record_audit(
        tx.conn(),
        &admin.actor(),
        "create",
        "admin",
        Some(account.id),
        None,
        Some(&json!({"id": account.id, "email": email, "role": account.role})),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(account)).into_response())
}

/// The active owners other than `id`, their rows locked for the rest of the transaction (see
/// [`repo::active_owners`]).
async fn other_active_owners(
    conn: &mut sqlx::AnyConnection,
    kind: DbKind,
    id: i64,
) -> Result<usize> {
    let ids = repo::active_owners(conn, kind).await?;
    Ok(ids.into_iter().filter(|o| *o != id).count())
}

async fn fetch_for_change(conn: &mut sqlx::AnyConnection, id: i64) -> Result<Row> {
    repo::by_id(conn, id)
        .await?
        .ok_or_else(|| Error::not_found("admin"))
}

fn last_owner() -> Error {
    Error::conflict(
        "last_owner",
        "This is the shop's last active owner; make another owner first.",
    )
}

/// What an owner does to another admin.
#[derive(Clone, Copy, PartialEq)]
enum Change {
    Disable,
    Enable,
    Remove,
}

impl Change {
    fn action(self) -> &'static str {
        match self {
            Change::Disable => "disable",
            Change::Enable => "enable",
            Change::Remove => "delete",
        }
    }
}

async fn change(st: &AuthState, owner: &Admin, id: i64, what: Change) -> Result<Response> {
    let mut tx = st.db.begin_write().await?;
    let target = fetch_for_change(tx.conn(), id).await?;
    let takes_an_owner = target.role == AdminRole::Owner && target.disabled_at.is_none();
    if what != Change::Enable
        && takes_an_owner
        && other_active_owners(tx.conn(), st.db.kind, id).await? == 0
    {
        return Err(last_owner());
    }
    let before =
        json!({"email": target.email, "role": target.role, "disabled_at": target.disabled_at});
    let after = match what {
        Change::Remove => {
            // Sessions go with the row (ON DELETE CASCADE); audit rows keep the email.
            repo::delete(tx.conn(), id).await?;
            None
        }
        Change::Disable | Change::Enable => {
            let at = (what == Change::Disable).then(|| target.disabled_at.unwrap_or_else(db::now));
            repo::set_disabled(tx.conn(), id, at).await?;
            if what == Change::Disable {
                repo::end_sessions(tx.conn(), id, None).await?;
            }
            Some(json!({"email": target.email, "role": target.role, "disabled_at": at}))
        }
    };
    record_audit(
        tx.conn(),
        &owner.actor(),
        what.action(),
        "admin",
        Some(id),
        Some(&before),
        after.as_ref(),
    )
    .await?;
    let answer = match what {
        Change::Remove => None,
        _ => Some(AdminAccount::from(fetch_for_change(tx.conn(), id).await?)),
    };
    tx.commit().await?;
    Ok(match answer {
        Some(a) => AppJson(a).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// `POST /api/admin/admins/{id}/disable`: it cannot sign in and its sessions end (owner only;
/// never the last active owner).
#[utoipa::path(post, path = "/api/admin/admins/{id}/disable", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The admin's id.")),
    responses(
        (status = 200, description = "It cannot sign in and its sessions end (owner only; never the last active owner).", body = AdminAccount),
        (status = 404, description = "No such admin."),
        (status = 409, description = "`last_owner`: the shop's last active owner."),
    ))]
async fn disable(
    State(st): State<AuthState>,
    Owner(owner): Owner,
    AppPath(id): AppPath<i64>,
) -> Result<Response> {
    change(&st, &owner, id, Change::Disable).await
}

#[utoipa::path(post, path = "/api/admin/admins/{id}/enable", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The admin's id.")),
    responses(
        (status = 200, description = "It can sign in again (owner only).", body = AdminAccount),
        (status = 404, description = "No such admin."),
        (status = 409, description = "`last_owner`: the shop's last active owner."),
    ))]
async fn enable(
    State(st): State<AuthState>,
    Owner(owner): Owner,
    AppPath(id): AppPath<i64>,
) -> Result<Response> {
    change(&st, &owner, id, Change::Enable).await
}

/// `DELETE /api/admin/admins/{id}` (owner only; never the last active owner): 204.
/// Deletes an admin (owner only; never the last active owner). Audit entries keep its email.
#[utoipa::path(delete, path = "/api/admin/admins/{id}", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The admin's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such admin."),
        (status = 409, description = "`last_owner`: the shop's last active owner."),
    ))]
async fn remove(
    State(st): State<AuthState>,
    Owner(owner): Owner,
    AppPath(id): AppPath<i64>,
) -> Result<Response> {
    change(&st, &owner, id, Change::Remove).await
}

/// `POST /api/admin/password`: the old password proves it is the admin at the keyboard and not
/// someone at an unlocked screen; the admin's other sessions end, this one stays.
#[utoipa::path(post, path = "/api/admin/password", tag = "admin", security(("admin_session" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; the admin's other sessions ended."),
        (status = 401, description = "The old password is wrong, or not signed in."),
    ))]
async fn change_password(
    State(st): State<AuthState>,
    admin: Admin,
    AppJson(req): AppJson<PasswordChange>,
) -> Result<Response> {
    check_password(&req.new_password, "new_password")?;
    let hash = repo::password_hash(&mut *st.db.pool.acquire().await?, admin.id).await?;
    // Checked in a slot like a sign-in, and counted against the same budgets: this is a
    // password check a stolen session could otherwise repeat at will.
    st.passwords.budget(admin.client, &admin.email)?;
    let ok = st
        .passwords
        .slot()
        .await?
        .verify(req.old_password, Some(hash))
        .await?;
    if !ok {
        return Err(Error::field(
            "wrong_password",
            "old_password",
            "The current password is not right.",
        ));
    }
    let new_hash = st.passwords.slot().await?.hash(req.new_password).await?;
    let mut tx = st.db.begin_write().await?;
    repo::set_password_hash(tx.conn(), admin.id, &new_hash).await?;
    let ended = repo::end_sessions(tx.conn(), admin.id, Some(&admin.token_hash)).await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        "change_password",
        "admin",
        Some(admin.id),
        None,
        Some(&json!({"other_sessions_ended": ended})),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `shop admin reset-password <email>` on the server's command line: for an owner locked out
/// or who forgot the password. Sets the new password, clears every sign-in lock on that email
/// and ends the admin's sessions, in one transaction with its audit entry.
pub async fn reset_password(
    db: &Db,
    email: &str,
    password: &str,
) -> std::result::Result<(), String> {
    let email = email.trim().to_lowercase();
    check_password(password, "password").map_err(|e| e.to_string())?;
    let pw = password.to_string();
    let hash = tokio::task::spawn_blocking(move || super::password::hash_password(&pw))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let run = async {
        let mut tx = db.begin_write().await?;
        let Some(id) = repo::set_password_hash_by_email(tx.conn(), &email, &hash).await? else {
            return Ok(None);
        };
        repo::end_sessions(tx.conn(), id, None).await?;
        repo::clear_login_attempts(tx.conn(), &email).await?;
        record_audit(
            tx.conn(),
            &Actor::command_line(),
            "reset_password",
            "admin",
            Some(id),
            None,
            Some(&json!({"email": email})),
        )
        .await?;
        tx.commit().await?;
        Ok::<_, Error>(Some(id))
    };
    match run.await.map_err(|e| e.to_string())? {
        Some(_) => Ok(()),
        None => Err(format!("no admin has the email {email}")),
    }
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
