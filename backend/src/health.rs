//! Liveness and readiness probes.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::db::Db;
use crate::error::{Error, Result};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up; says nothing about the database.
async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The database answers; a load balancer keeps traffic away until it does.
async fn readyz(State(db): State<Db>) -> Result<Json<Value>> {
    db.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        Error::Status {
            status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
            code: "database_unavailable",
            message: "The database is not reachable.".into(),
        }
    })?;
    Ok(Json(json!({"status": "ready"})))
}
