//! Star subscriptions: the record that first and recurring payments keep current, and the
//! customer's routes to see them and turn renewal off and on again.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use serde_json::{json, Value};
use shared::event_kind;
use shared::Page;

use super::{bot_failure, SUBSCRIPTION_PERIOD};
use crate::auth::Customer;
use crate::catalog::repo::texts;
use crate::db;
use crate::error::{AppJson, AppPath, Error, Result};
use crate::lang::{pick, ReqLang};
use crate::notify::Notice;
use crate::orders::repo as orders;
use crate::state::AppState;
use crate::telegram::Bot;

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
    /// `active` (renews), `canceled` (runs until `expires_at`, no renewal) or `expired`.
    #[schema(value_type = String, example = "active")]
    pub status: &'static str,
    pub renews: bool,
    pub expires_at: i64,
    pub renewals: i64,
}

#[derive(shop_macros::FromRow)]
struct Row {
    id: i64,
    customer_id: i64,
    order_id: i64,
    product_id: i64,
    charge_id: String,
    expires_at: i64,
    canceled: i64,
    renewals: i64,
}

const COLS: &str =
    "id, customer_id, order_id, product_id, charge_id, expires_at, canceled, renewals";

/// The first payment of an order: starts its subscription record (once), if it sold one.
pub async fn started(
    st: &AppState,
    order_id: i64,
    user: Option<i64>,
    charge: &str,
    expires_at: i64,
) -> Result<()> {
    let mut conn = st.db.pool.acquire().await?;
    let Some(o) = orders::head(&mut conn, order_id).await? else {
        return Ok(());
    };
    let items = orders::items(&mut conn, order_id).await?;
    let Some(item) = items.iter().find(|i| i.kind == "subscription") else {
        return Ok(());
    };
    let now = db::now();
    sqlx::query(
        "INSERT INTO subscriptions (customer_id, order_id, product_id, charge_id, expires_at, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(user.unwrap_or(o.customer_id))
    .bind(order_id)
    .bind(item.product_id)
    .bind(charge)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A recurring payment: stored once per charge id, and the subscription runs on.
/// False when there is no subscription for the order yet.
pub async fn renewed(
    st: &AppState,
    order_id: i64,
    charge: &str,
    amount: i64,
    currency: &str,
    expires_at: Option<i64>,
    raw: &Value,
) -> Result<bool> {
    let now = db::now();
    let mut tx = st.db.begin_write().await?;
    let sub: Option<(i64, i64)> =
        sqlx::query_as("SELECT id, expires_at FROM subscriptions WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(tx.conn())
            .await?;
    let Some((sub_id, old_expiry)) = sub else {
        return Ok(false);
    };
    let refunded = orders::head(tx.conn(), order_id)
        .await?
        .is_some_and(|o| o.status == shared::OrderStatus::Refunded);
    // Stored once per charge id either way. If the order was refunded, which ended the
    // subscription, a renewal that still comes (Telegram had not stopped it yet) extends
    // nothing and is money to give back.
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO payments (order_id, provider, provider_payment_id, status, amount_minor, \
         currency, raw, needs_refund, created_at, updated_at) \
         VALUES ($1, 'stars', $2, 'succeeded', $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (provider, provider_payment_id) DO NOTHING RETURNING id",
    )
    .bind(order_id)
    .bind(charge)
    .bind(amount)
    .bind(currency)
    .bind(raw.to_string())
    .bind(i64::from(refunded))
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    if refunded {
        if inserted.is_some() {
            tracing::warn!(
                order_id,
                charge,
                "renewal of a refunded subscription; flagged for refund"
            );
            orders::event(
                tx.conn(),
                order_id,
                event_kind::PAYMENT_AFTER_REFUND,
                None,
                Some(&format!(
                    "stars {charge}: renewal after the refund, to give back"
                )),
                Some("telegram"),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        return Ok(true);
    }
    if inserted.is_none() {
        return Ok(true);
    }
    let expiry = expires_at.unwrap_or(old_expiry.max(now) + SUBSCRIPTION_PERIOD);
    sqlx::query(
        "UPDATE subscriptions SET expires_at = $1, renewals = renewals + 1, updated_at = $2 WHERE id = $3",
    )
    .bind(expiry.max(old_expiry))
    .bind(now)
    .bind(sub_id)
    .execute(tx.conn())
    .await?;
    orders::event(
        tx.conn(),
        order_id,
        event_kind::SUBSCRIPTION_RENEWED,
        None,
        Some(&format!("stars {charge}")),
        Some("telegram"),
        now,
    )
    .await?;
    tx.commit().await?;
    st.notify(order_id, Notice::SubscriptionRenewed);
    Ok(true)
}

/// After a full refund (which ended the subscription in our records), asks Telegram to stop
/// renewing it too. Best effort: if it fails, a renewal that still comes is flagged for
/// refund by [`renewed`] rather than extending anything.
pub async fn stop_after_refund(st: &AppState, order_id: i64) {
    let row: Option<(i64, String)> = match sqlx::query_as(
        "SELECT customer_id, charge_id FROM subscriptions WHERE order_id = $1",
    )
    .bind(order_id)
    .fetch_optional(&st.db.pool)
    .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(order_id, error = %e, "could not read the refunded subscription");
            return;
        }
    };
    let (Some((user, charge)), Some(bot)) = (row, Bot::from_config(&st.config, &st.http)) else {
        return;
    };
    let body = json!({"user_id": user, "telegram_payment_charge_id": charge, "is_canceled": true});
    if let Err(e) = bot.call::<Value>("editUserStarSubscription", &body).await {
        tracing::warn!(order_id, error = %e, "could not stop the refunded subscription's renewal");
    }
}

fn status(r: &Row, now: i64) -> &'static str {
    if r.expires_at <= now {
        "expired"
    } else if r.canceled != 0 {
        "canceled"
    } else {
        "active"
    }
}

/// The customer's subscriptions.
#[utoipa::path(get, path = "/api/subscriptions", tag = "customer", security(("init_data" = [])),
    params(("lang" = Option<shared::Lang>, Query, description = "Language of the texts; else `Accept-Language`, else the shop's default.")),
    responses((status = 200, description = "Every subscription of the customer (one page).", body = Page<Subscription>)))]
async fn list(
    State(st): State<AppState>,
    customer: Customer,
    ReqLang(lang): ReqLang,
) -> Result<AppJson<Page<Subscription>>> {
    let rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLS} FROM subscriptions WHERE customer_id = $1 ORDER BY id DESC LIMIT 100"
    ))
    .bind(customer.id())
    .fetch_all(&st.db.pool)
    .await?;
    let now = db::now();
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let title: Option<String> =
            sqlx::query_scalar("SELECT title_json FROM products WHERE id = $1")
                .bind(r.product_id)
                .fetch_optional(&st.db.pool)
                .await?;
        let status = status(&r, now);
        items.push(Subscription {
            id: r.id,
            order_id: r.order_id,
            product_id: r.product_id,
            title: pick(
                &texts(title.as_deref().unwrap_or("{}")),
                lang,
                &st.config.lang_fallback,
            ),
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

/// Stops renewal; the paid period runs out.
#[utoipa::path(post, path = "/api/subscriptions/{id}/cancel", tag = "customer", security(("init_data" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The subscription's id.")),
    responses(
        (status = 200, description = "`{id, order_id, status, renews, expires_at}` after the change.", body = Object),
        (status = 404, description = "No such subscription of this customer."),
        (status = 409, description = "`subscription_expired`, or `no_bot`: the shop runs without its Telegram bot."),
        (status = 502, description = "Telegram refused or did not answer; nothing changed."),
    ))]
async fn cancel(
    State(st): State<AppState>,
    customer: Customer,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<Value>> {
    set_canceled(&st, &customer, id, true).await
}

/// Turns renewal back on before the period ends.
#[utoipa::path(post, path = "/api/subscriptions/{id}/renew", tag = "customer", security(("init_data" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The subscription's id.")),
    responses(
        (status = 200, description = "`{id, order_id, status, renews, expires_at}` after the change.", body = Object),
        (status = 404, description = "No such subscription of this customer."),
        (status = 409, description = "`subscription_expired`, or `no_bot`: the shop runs without its Telegram bot."),
        (status = 502, description = "Telegram refused or did not answer; nothing changed."),
    ))]
async fn renew(
    State(st): State<AppState>,
    customer: Customer,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<Value>> {
    set_canceled(&st, &customer, id, false).await
}

async fn set_canceled(
    st: &AppState,
    customer: &Customer,
    id: i64,
    canceled: bool,
) -> Result<AppJson<Value>> {
    let r = sqlx::query_as::<_, Row>(&format!("SELECT {COLS} FROM subscriptions WHERE id = $1"))
        .bind(id)
        .fetch_optional(&st.db.pool)
        .await?
        // Somebody else's subscription is "not found": ids reveal nothing.
        .filter(|r| r.customer_id == customer.id())
        .ok_or_else(|| Error::not_found("subscription"))?;
    let now = db::now();
    if r.expires_at <= now {
        return Err(Error::conflict(
            "subscription_expired",
            "This subscription has ended; order it again to subscribe.",
        ));
    }
    if (r.canceled != 0) != canceled {
        let bot = Bot::from_config(&st.config, &st.http)
            .ok_or_else(|| Error::conflict("no_bot", "Subscriptions need the Telegram bot."))?;
        bot.call::<Value>(
            "editUserStarSubscription",
            &json!({
                "user_id": r.customer_id,
                "telegram_payment_charge_id": r.charge_id,
                "is_canceled": canceled,
            }),
        )
        .await
        .map_err(|e| bot_failure("subscription change", e))?;
        sqlx::query("UPDATE subscriptions SET canceled = $1, updated_at = $2 WHERE id = $3")
            .bind(if canceled { 1i64 } else { 0 })
            .bind(now)
            .bind(id)
            .execute(&st.db.pool)
            .await?;
        if canceled {
            st.notify(r.order_id, Notice::SubscriptionEnding);
        }
    }
    let status = if canceled { "canceled" } else { "active" };
    Ok(AppJson(json!({
        "id": r.id,
        "order_id": r.order_id,
        "status": status,
        "renews": !canceled,
        "expires_at": r.expires_at,
    })))
}
