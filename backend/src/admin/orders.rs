//! Following orders: list, detail with timeline, ship, deliver, cancel, refund. The changes
//! are the order lifecycle's; these handlers only read the merchant's request and answer.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use futures_util::future::BoxFuture;
use serde::Deserialize;
use shared::admin::{OrderPayment, OrderRefund, RefundRequest};
use shared::{Currency, Money, Order, OrderStatus, Page, PaymentMethod};

use super::auth::{record_audit, Admin, Owner};
use crate::catalog::{decode_cursor, encode_cursor};
use crate::db::{Db, SqlBuilder};
use crate::error::{AppJson, AppPath, AppQuery, Error, Result};
use crate::orders::lifecycle::{self, AuditTrail, By, Ending, Restock};
use crate::orders::{repo, risk};
use crate::payments::refund::{refund_order, RefundAsk};
use crate::state::AppState;
use crate::subscriptions::{self, Who};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/orders", get(list))
        .route("/api/admin/orders/{id}", get(one))
        .route("/api/admin/orders/{id}/ship", post(ship))
        .route("/api/admin/orders/{id}/deliver", post(deliver))
        .route("/api/admin/orders/{id}/cancel", post(cancel))
        .route("/api/admin/orders/{id}/refund", post(refund))
        .route("/api/admin/orders/{id}/confirm", post(confirm))
        .route(
            "/api/admin/orders/{id}/subscription/cancel",
            post(cancel_subscription),
        )
}

/// The orders list's filters; `orders.csv` takes the same ones.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    status: Option<String>,
    payment_method: Option<String>,
    customer: Option<i64>,
    /// `true`: only orders the shop's rules flagged for a look.
    flagged: Option<bool>,
    from: Option<i64>,
    to: Option<i64>,
    pub(crate) cursor: Option<String>,
    pub(crate) limit: Option<i64>,
}

/// Every customer's orders, newest first, with filters.
#[utoipa::path(get, path = "/api/admin/orders", tag = "admin", security(("admin_session" = [])),
    params(ListQuery),
    responses((status = 200, description = "A page of orders.", body = Page<Order>)))]
async fn list(
    State(st): State<AppState>,
    _admin: Admin,
    AppQuery(q): AppQuery<ListQuery>,
) -> Result<AppJson<Page<Order>>> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let before = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => decode_cursor(c)?,
        None => i64::MAX,
    };
    let mut heads = filtered(&st.db, &q, before, limit + 1).await?;
    let next_cursor = if heads.len() as i64 > limit {
        heads.truncate(limit as usize);
        heads.last().map(|h| encode_cursor(h.id))
    } else {
        None
    };
    let mut items = repo::load_many(
        &st.db,
        &heads,
        st.config.default_lang,
        &st.config.lang_fallback,
    )
    .await?;
    let ids: Vec<i64> = items.iter().map(|o| o.id).collect();
    for (id, r) in risk::of(&st.db, &ids).await? {
        if let Some(o) = items.iter_mut().find(|o| o.id == id) {
            o.risk = Some(r);
        }
    }
    Ok(AppJson(Page { items, next_cursor }))
}

/// Up to `limit` orders matching the filters with ids below `before`, newest first.
pub(crate) async fn filtered(
    db: &Db,
    filters: &ListQuery,
    before: i64,
    limit: i64,
) -> Result<Vec<repo::OrderHead>> {
    let mut q = SqlBuilder::new(concat!(
        "SELECT ",
        repo::head_cols!(),
        " FROM orders WHERE id < "
    ));
    q.push_bind(before);
    if let Some(s) = status_filter(filters)? {
        q.push(" AND status = ").push_bind(s.as_str().to_string());
    }
    if let Some(m) = filters.payment_method.as_deref().filter(|s| !s.is_empty()) {
        let m = PaymentMethod::parse(m).ok_or_else(|| {
            Error::field(
                "invalid_payment_method",
                "payment_method",
                format!("'{m}' is not a payment method"),
            )
        })?;
        q.push(" AND payment_method = ")
            .push_bind(m.as_str().to_string());
    }
    for (cond, v) in [
        (" AND customer_id = ", filters.customer),
        (" AND created_at >= ", filters.from),
        (" AND created_at < ", filters.to),
    ] {
        if let Some(v) = v {
            q.push(cond).push_bind(v);
        }
    }
    if filters.flagged == Some(true) {
        q.push(" AND risk_reason IS NOT NULL");
    }
    q.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
    Ok(q.build_query_as::<repo::OrderHead>()
        .fetch_all(&db.pool)
        .await?)
}

fn status_filter(filters: &ListQuery) -> Result<Option<OrderStatus>> {
    match filters.status.as_deref().filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => OrderStatus::parse(s).map(Some).ok_or_else(|| {
            Error::field(
                "invalid_status",
                "status",
                format!("'{s}' is not an order status"),
            )
        }),
    }
}

async fn load(st: &AppState, id: i64) -> Result<Order> {
    let mut order = repo::load(
        &st.db,
        id,
        st.config.default_lang,
        &st.config.lang_fallback,
        true,
    )
    .await?
    .ok_or_else(|| Error::not_found("order"))?;
    order.risk = risk::of(&st.db, &[id]).await?.pop().map(|(_, r)| r);
    order.payments = payments_of(st, id).await?;
    order.refunds = refunds_of(st, id).await?;
    if order.payment_method == PaymentMethod::Ton {
        order.ton_transfers = crate::payments::ton::admin::of_order(&st.db, id).await?;
    }
    Ok(order)
}

/// Every payment a rail reported for the order, oldest first.
async fn payments_of(st: &AppState, order_id: i64) -> Result<Vec<OrderPayment>> {
    #[derive(shop_macros::FromRow)]
    struct Row {
        #[sqlx(try_from = "String")]
        provider: PaymentMethod,
        provider_payment_id: String,
        amount_minor: i64,
        #[sqlx(try_from = "String")]
        currency: Currency,
        refunded_minor: i64,
        needs_refund: i64,
        created_at: i64,
    }
    let rows = sqlx::query_as::<_, Row>(
        "SELECT provider, provider_payment_id, amount_minor, currency, refunded_minor, \
         needs_refund, created_at FROM payments WHERE order_id = $1 ORDER BY id",
    )
    .bind(order_id)
    .fetch_all(&st.db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| OrderPayment {
            rail: r.provider,
            provider_payment_id: r.provider_payment_id,
            amount: Money::new(r.amount_minor, r.currency),
            refunded_minor: r.refunded_minor,
            needs_refund: r.needs_refund != 0,
            created_at: r.created_at,
        })
        .collect())
}

/// Every refund counted for the order, failed ones included, oldest first.
async fn refunds_of(st: &AppState, order_id: i64) -> Result<Vec<OrderRefund>> {
    #[derive(shop_macros::FromRow)]
    struct Row {
        #[sqlx(try_from = "String")]
        rail: PaymentMethod,
        provider_refund_id: String,
        amount_minor: i64,
        #[sqlx(try_from = "String")]
        currency: Currency,
        failed_at: Option<i64>,
        created_at: i64,
    }
    let rows = sqlx::query_as::<_, Row>(
        "SELECT rail, provider_refund_id, amount_minor, currency, failed_at, created_at \
         FROM refunds WHERE order_id = $1 ORDER BY id",
    )
    .bind(order_id)
    .fetch_all(&st.db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| OrderRefund {
            manual: crate::payments::refund::is_manual(&r.provider_refund_id),
            rail: r.rail,
            provider_refund_id: r.provider_refund_id,
            amount: Money::new(r.amount_minor, r.currency),
            failed_at: r.failed_at,
            created_at: r.created_at,
        })
        .collect())
}

/// One order with its whole timeline (`events`).
#[utoipa::path(get, path = "/api/admin/orders/{id}", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The order's id.")),
    responses((status = 200, description = "The order.", body = Order), (status = 404, description = "No such order.")))]
async fn one(
    State(st): State<AppState>,
    _admin: Admin,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<Order>> {
    Ok(AppJson(load(&st, id).await?))
}

fn bad_state(order: &Order, action: &str) -> Error {
    Error::conflict(
        "invalid_state",
        format!(
            "Order {} is {} and cannot be {action}.",
            order.id,
            order.status.as_str()
        ),
    )
}

/// A merchant's change is audited in its own transaction, with the status before and after.
impl AuditTrail for Admin {
    fn email(&self) -> &str {
        &self.email
    }

    fn record<'c>(
        &'c self,
        conn: &'c mut sqlx::AnyConnection,
        action: &'static str,
        order_id: i64,
        before: serde_json::Value,
        after: serde_json::Value,
    ) -> BoxFuture<'c, Result<()>> {
        Box::pin(async move {
            record_audit(
                conn,
                &self.actor(),
                action,
                "order",
                Some(order_id),
                Some(&before),
                Some(&after),
            )
            .await
        })
    }
}

/// Marks a paid physical order shipped.
#[utoipa::path(post, path = "/api/admin/orders/{id}/ship", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The order's id.")),
    responses((status = 200, description = "The order after the change.", body = Order), (status = 404, description = "No such order."),
        (status = 409, description = "The order's status does not allow this.")))]
async fn ship(
    State(st): State<AppState>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<Order>> {
    let before = load(&st, id).await?;
    if !lifecycle::ship(&st, id, By::Admin(&admin)).await? {
        return Err(bad_state(&before, "shipped"));
    }
    Ok(AppJson(load(&st, id).await?))
}

/// Marks the order delivered.
#[utoipa::path(post, path = "/api/admin/orders/{id}/deliver", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The order's id.")),
    responses((status = 200, description = "The order after the change.", body = Order), (status = 404, description = "No such order."),
        (status = 409, description = "The order's status does not allow this.")))]
async fn deliver(
    State(st): State<AppState>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<Order>> {
    let before = load(&st, id).await?;
    if !lifecycle::deliver(&st, id, By::Admin(&admin)).await? {
        return Err(bad_state(&before, "delivered"));
    }
    Ok(AppJson(load(&st, id).await?))
}

/// Cancels an order that is not paid yet (its stock returns).
#[utoipa::path(post, path = "/api/admin/orders/{id}/cancel", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The order's id.")),
    responses((status = 200, description = "The order after the change.", body = Order), (status = 404, description = "No such order."),
        (status = 409, description = "The order's status does not allow this.")))]
async fn cancel(
    State(st): State<AppState>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<Order>> {
    let before = load(&st, id).await?;
    if !lifecycle::end_unpaid(&st, id, Ending::Cancelled, None, By::Admin(&admin)).await? {
        return Err(
            if matches!(
                before.status,
                OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Delivered
            ) {
                Error::conflict(
                    "refund_instead",
                    format!("Order {id} is paid: refund it instead of cancelling."),
                )
            } else {
                bad_state(&before, "cancelled")
            },
        );
    }
    Ok(AppJson(load(&st, id).await?))
}

/// Confirms a flagged order after the merchant checked it (a flagged cash order is not shipped
/// or delivered before).
#[utoipa::path(post, path = "/api/admin/orders/{id}/confirm", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The order's id.")),
    responses((status = 200, description = "The order after the change.", body = Order), (status = 404, description = "No such order."),
        (status = 409, description = "The order is not flagged, or was confirmed already.")))]
async fn confirm(
    State(st): State<AppState>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<Order>> {
    load(&st, id).await?;
    if !risk::confirm(&st.db, id, &admin).await? {
        return Err(Error::conflict(
            "not_flagged",
            format!("Order {id} is not flagged, or was confirmed already."),
        ));
    }
    Ok(AppJson(load(&st, id).await?))
}

/// Refunds (owners only: money leaves the shop) through the order's own rail
/// ([`refund_order`]); with `"manual": true` it only records a refund the merchant made by
/// hand (a Crypto Pay app without transfer permission answers 409 `refund_by_hand`).
#[utoipa::path(post, path = "/api/admin/orders/{id}/refund", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The order's id.")),
    request_body(content = Option<RefundRequest>, description = "Optional: no body is a full refund."),
    responses((status = 200, description = "The order after the refund.", body = Order), (status = 404, description = "No such order."),
        (status = 409, description = "Nothing (or less than asked) is left to refund, the order is not paid, or the provider refused and the refund must be made by hand (`refund_by_hand`, `refund_refused`)."),
        (status = 502, description = "The payment provider refused or did not answer; nothing was recorded.")))]
async fn refund(
    State(st): State<AppState>,
    Owner(admin): Owner,
    AppPath(id): AppPath<i64>,
    body: axum::body::Bytes,
) -> Result<AppJson<Order>> {
    // The body is optional: none (or empty) means a full refund.
    let req: RefundRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RefundRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            Error::invalid(
                "invalid_body",
                format!("The body is not a refund request: {e}"),
            )
        })?
    };
    // Answers 404 for an unknown order before anything else.
    load(&st, id).await?;
    let ask = RefundAsk {
        amount_minor: req.amount_minor,
        restock: if req.restock {
            Restock::Yes
        } else {
            Restock::No
        },
        manual: req.manual,
    };
    refund_order(&st, id, ask, By::Admin(&admin)).await?;
    Ok(AppJson(load(&st, id).await?))
}

/// Stops the renewal of the subscription the order sold (Stars: `editUserStarSubscription`;
/// Stripe: cancel at period end): one call to its rail, a timeline entry and an audit entry.
/// The customer keeps what they paid for until the period ends; a refund is separate.
#[utoipa::path(post, path = "/api/admin/orders/{id}/subscription/cancel", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The order's id.")),
    responses((status = 200, description = "The order after the change (see its `subscription`).", body = Order),
        (status = 404, description = "No such order, or it sold no subscription (yet)."),
        (status = 409, description = "`subscription_expired`, `no_bot` or `payment_method_unavailable`: the subscription's rail is not configured any more."),
        (status = 502, description = "The provider refused or did not answer; nothing changed.")))]
async fn cancel_subscription(
    State(st): State<AppState>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<Order>> {
    load(&st, id).await?;
    let row = subscriptions::by_order(&st.db, id)
        .await?
        .ok_or_else(|| Error::not_found("subscription"))?;
    subscriptions::set_renewal(&st, &row, false, Who::Admin(&admin)).await?;
    Ok(AppJson(load(&st, id).await?))
}
