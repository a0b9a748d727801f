//! The merchant admin JSON API under `/api/admin/…` (the admin UI is served at `/admin`).

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod categories;
pub mod dashboard;
pub mod delivery_methods;
pub mod images;
pub mod orders;
pub mod password;
pub mod products;
pub mod promo_codes;
pub mod spreadsheet;
pub mod validate;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(accounts::router())
        .merge(categories::router())
        .merge(products::router())
        .merge(images::router())
        .merge(orders::router())
        .merge(dashboard::router())
        .merge(spreadsheet::router())
        .merge(audit::router())
        .merge(promo_codes::router())
        .merge(delivery_methods::router())
        // The TON wallet's transfers: the rail's own admin screen.
        .merge(crate::payments::ton::admin::router())
}
