//! The audit log: who did what, from where, when, with before/after snapshots (owners only).

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use shared::Page;

use super::auth::Owner;
use crate::catalog::{decode_cursor, encode_cursor};
use crate::db::{Db, SqlBuilder};
use crate::error::{AppJson, AppQuery, Result};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/admin/audit", get(list))
}

#[derive(Debug, Serialize, shop_macros::FromRow, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub admin_id: Option<i64>,
    pub admin_email: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<i64>,
    /// The client address the change came from (after `TRUSTED_PROXIES`).
    pub client_ip: Option<String>,
    #[serde(skip)]
    pub before_json: Option<String>,
    #[serde(skip)]
    pub after_json: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditItem {
    #[serde(flatten)]
    entry: AuditEntry,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Query {
    entity: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// The audit log, newest first (owner only).
#[utoipa::path(get, path = "/api/admin/audit", tag = "admin", security(("admin_session" = [])),
    params(Query),
    responses((status = 200, description = "A page of audit entries.", body = Page<AuditItem>),
        (status = 403, description = "`owner_only`.")))]
async fn list(
    State(db): State<Db>,
    _owner: Owner,
    AppQuery(q): AppQuery<Query>,
) -> Result<AppJson<Page<AuditItem>>> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let before = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => decode_cursor(c)?,
        None => i64::MAX,
    };
    let mut sql = SqlBuilder::new(
        "SELECT id, admin_id, admin_email, client_ip, action, entity, entity_id, before_json, after_json, created_at \
         FROM audit_log WHERE id < ",
    );
    sql.push_bind(before);
    if let Some(e) = &q.entity {
        sql.push(" AND entity = ").push_bind(e.clone());
    }
    sql.push(" ORDER BY id DESC LIMIT ").push_bind(limit + 1);
    let mut rows = sql
        .build_query_as::<AuditEntry>()
        .fetch_all(&db.pool)
        .await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| encode_cursor(r.id))
    } else {
        None
    };
    let parse = |s: &Option<String>| s.as_deref().and_then(|s| serde_json::from_str(s).ok());
    let items = rows
        .into_iter()
        .map(|e| AuditItem {
            before: parse(&e.before_json),
            after: parse(&e.after_json),
            entry: e,
        })
        .collect();
    Ok(AppJson(Page { items, next_cursor }))
}
