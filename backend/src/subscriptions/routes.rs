//! The customer's subscription routes, for every rail: the list, and renewal off and on again.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use serde_json::Value;
use shared::{Page, PaymentMethod};

use super::{Row, Who};
use crate::auth::Customer;
use crate::catalog::repo::texts;
use crate::db;
use crate::error::{AppJson, AppPath, Error, Result};
use crate::lang::{pick, ReqLang};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/subscriptions", get(list))
        .route("/api/subscriptions/{id}/cancel", post(cancel))
        .route("/api/subscriptions/{id}/renew", post(renew))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Subscription {
    pub id: i64,
    pub order_id: i64,
    pub product_id: i64,
    pub title: String,
    /// The rail that renews it (`stars` or `stripe`).
    pub payment_method: PaymentMethod,
    /// `active` (renews), `canceled` (runs until `expires_at`, no renewal) or `expired`.
    #[schema(value_type = String, example = "active")]
    pub status: &'static str,
    pub renews: bool,
    pub expires_at: i64,
    pub renewals: i64,
}

/// The customer's subscriptions.
#[utoipa::path(get, path = "/api/subscriptions", tag = "customer", security(("init_data" = [])),
    params(("lang" = Option<shared::Lang>, Query, description = "Language of the texts; else `Accept-Language`, else the shop's default.")),
    responses((status = 200, description = "Every subscription of the customer (one page), Star and Stripe ones alike.", body = Page<Subscription>)))]
async fn list(
    State(st): State<AppState>,
    customer: Customer,
    ReqLang(lang): ReqLang,
) -> Result<AppJson<Page<Subscription>>> {
    let rows = super::of_customer(&st.db, customer.id()).await?;
    let now = db::now();
    let mut items = Vec::with_capacity(rows.len());
    for (r, title) in rows {
        let status = r.status(now);
        items.push(Subscription {
            id: r.id,
            order_id: r.order_id,
            product_id: r.product_id,
            title: pick(
                &texts(title.as_deref().unwrap_or("{}")),
                lang,
                &st.config.lang_fallback,
            ),
            payment_method: r.provider,
            status,
            renews: status == "active",
            expires_at: r.expires_at,
            renewals: r.renewals,
        });
    }
    Ok(AppJson(Page {
        items,
        next_cursor: None,
    }))
}

/// Stops renewal (Stars: `editUserStarSubscription`; Stripe: cancel at period end); the paid
/// period runs out.
#[utoipa::path(post, path = "/api/subscriptions/{id}/cancel", tag = "customer", security(("init_data" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The subscription's id.")),
    responses(
        (status = 200, description = "`{id, order_id, status, renews, expires_at}` after the change.", body = Object),
        (status = 404, description = "No such subscription of this customer."),
        (status = 409, description = "`subscription_expired`, or `no_bot`: the shop runs without its Telegram bot, or `payment_method_unavailable`: the shop no longer has the subscription's rail."),
        (status = 502, description = "The provider refused or did not answer; nothing changed."),
    ))]
async fn cancel(
    State(st): State<AppState>,
    customer: Customer,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<Value>> {
    let row = own(&st, &customer, id).await?;
    Ok(AppJson(
        super::set_renewal(&st, &row, false, Who::Customer).await?,
    ))
}

/// Turns renewal back on before the period ends.
#[utoipa::path(post, path = "/api/subscriptions/{id}/renew", tag = "customer", security(("init_data" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The subscription's id.")),
    responses(
        (status = 200, description = "`{id, order_id, status, renews, expires_at}` after the change.", body = Object),
        (status = 404, description = "No such subscription of this customer."),
        (status = 409, description = "`subscription_expired`, or `no_bot`: the shop runs without its Telegram bot, or `payment_method_unavailable`: the shop no longer has the subscription's rail."),
        (status = 502, description = "The provider refused or did not answer; nothing changed."),
    ))]
async fn renew(
    State(st): State<AppState>,
    customer: Customer,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<Value>> {
    let row = own(&st, &customer, id).await?;
    Ok(AppJson(
        super::set_renewal(&st, &row, true, Who::Customer).await?,
    ))
}

/// The customer's subscription `id`; somebody else's is "not found": ids reveal nothing.
async fn own(st: &AppState, customer: &Customer, id: i64) -> Result<Row> {
    super::by_id(&st.db, id)
        .await?
        .filter(|r| r.customer_id == customer.id())
        .ok_or_else(|| Error::not_found("subscription"))
}
