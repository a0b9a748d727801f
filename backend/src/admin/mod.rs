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

use std::sync::Arc;

use axum::extract::FromRef;
use axum::Router;

use crate::catalog::CatalogVersion;
use crate::config::Config;
use crate::db::Db;
use crate::state::AppState;

/// What the admin's catalog screens (categories, products, images, spreadsheets) need: the
/// database, the shop's languages and media folder, and the catalog version their edits
/// bump so the storefront's cached pages are not served stale.
#[derive(Clone)]
pub struct CatalogAdmin {
    pub db: Db,
    pub config: Arc<Config>,
    pub catalog: CatalogVersion,
}

impl CatalogAdmin {
    /// Every committed edit calls this, so the catalog's cached answers are rendered again.
    pub fn catalog_changed(&self) {
        self.catalog.changed();
    }
}

impl FromRef<AppState> for CatalogAdmin {
    fn from_ref(st: &AppState) -> Self {
        CatalogAdmin {
            db: st.db.clone(),
            config: st.config.clone(),
            catalog: st.catalog_version.clone(),
        }
    }
}

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
