//! The merchant admin JSON API under `/api/admin/…`.

pub mod auth;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(auth::router())
}
