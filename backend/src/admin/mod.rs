//! The merchant admin JSON API under `/api/admin/…` (the admin UI is served at `/admin`).

pub mod audit;
pub mod auth;
pub mod categories;
pub mod orders;
pub mod products;
pub mod validate;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(categories::router())
        .merge(products::router())
        .merge(orders::router())
        .merge(audit::router())
}
