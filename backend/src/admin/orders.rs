//! Following orders: list, detail with timeline, ship, deliver, cancel, refund.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use shared::admin::RefundRequest;
use shared::event_kind;
use shared::{Order, OrderStatus, Page, PaymentMethod};

use super::auth::{record_audit, Admin, Owner};
use crate::catalog::{decode_cursor, encode_cursor};
use crate::db::SqlBuilder;
use crate::error::{AppJson, AppPath, AppQuery, Error, Result};
use crate::orders::repo;
use crate::payments::fulfil::{fulfil, PaymentSuccess};
use crate::payments::refund::{self, Recorded, Refund};
use crate::payments::RefundRequest as ProviderRefund;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/orders", get(list))
        .route("/api/admin/orders/{id}", get(one))
        .route("/api/admin/orders/{id}/ship", post(ship))
        .route("/api/admin/orders/{id}/deliver", post(deliver))
        .route("/api/admin/orders/{id}/cancel", post(cancel))
        .route("/api/admin/orders/{id}/refund", post(refund))
}

/// The orders list's filters; `orders.csv` takes the same ones.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    status: Option<String>,
    payment_method: Option<String>,
    customer: Option<i64>,
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
    let mut heads = filtered(&st, &q, before, limit + 1).await?;
    let next_cursor = if heads.len() as i64 > limit {
        heads.truncate(limit as usize);
        heads.last().map(|h| encode_cursor(h.id))
    } else {
        None
    };
    let items = repo::load_many(
        &st.db,
        &heads,
        st.config.default_lang,
        &st.config.lang_fallback,
    )
    .await?;
    Ok(AppJson(Page { items, next_cursor }))
}

/// Up to `limit` orders matching the filters with ids below `before`, newest first.
pub(crate) async fn filtered(
    st: &AppState,
    filters: &ListQuery,
    before: i64,
    limit: i64,
) -> Result<Vec<repo::OrderHead>> {
    let mut q = SqlBuilder::new(format!(
        "SELECT {} FROM orders WHERE id < ",
        repo::HEAD_COLS
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
    q.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
    Ok(q.build_query_as::<repo::OrderHead>()
        .fetch_all(&st.db.pool)
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
    repo::load(
        &st.db,
        id,
        st.config.default_lang,
        &st.config.lang_fallback,
        true,
    )
    .await?
    .ok_or_else(|| Error::not_found("order"))
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

/// The order's audit entry, written in the change's own transaction: the status after is
/// read through it, so the entry says what that transaction did.
async fn audit(
    conn: &mut sqlx::AnyConnection,
    admin: &Admin,
    action: &str,
    before: &Order,
) -> Result<()> {
    let status: String = sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
        .bind(before.id)
        .fetch_one(&mut *conn)
        .await?;
    record_audit(
        conn,
        &admin.actor(),
        action,
        "order",
        Some(before.id),
        Some(&serde_json::json!({"status": before.status, "total": before.total})),
        Some(&serde_json::json!({"status": status, "total": before.total})),
    )
    .await
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
    // Cash on delivery ships unpaid: the courier collects the money.
    let from: &[OrderStatus] = if before.payment_method == PaymentMethod::Cash {
        &[OrderStatus::Paid, OrderStatus::PendingPayment]
    } else {
        &[OrderStatus::Paid]
    };
    let mut tx = st.db.begin_write().await?;
    let ok = repo::transition(
        tx.conn(),
        id,
        from,
        OrderStatus::Shipped,
        None,
        Some(&admin.email),
    )
    .await?;
    if !ok {
        return Err(bad_state(&before, "shipped"));
    }
    audit(tx.conn(), &admin, "ship", &before).await?;
    tx.commit().await?;
    let after = load(&st, id).await?;
    st.notify(id, crate::notify::Notice::Shipped);
    Ok(AppJson(after))
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
    if before.payment_method == PaymentMethod::Cash && before.status == OrderStatus::PendingPayment
        || before.payment_method == PaymentMethod::Cash
            && before.status == OrderStatus::Shipped
            && !paid(&st, id).await?
    {
        // Delivering a cash order is when its money arrives: record it through fulfilment.
        fulfil(
            &st.db,
            &PaymentSuccess {
                order_id: id,
                provider: "cash",
                provider_payment_id: format!("cash-{id}"),
                amount_minor: before.total.amount_minor,
                currency: before.total.currency.as_str().to_string(),
                raw: Some(format!(
                    "collected on delivery, confirmed by {}",
                    admin.email
                )),
            },
        )
        .await?;
    }
    let mut tx = st.db.begin_write().await?;
    let ok = repo::transition(
        tx.conn(),
        id,
        &[OrderStatus::Paid, OrderStatus::Shipped],
        OrderStatus::Delivered,
        None,
        Some(&admin.email),
    )
    .await?;
    if !ok {
        return Err(bad_state(&before, "delivered"));
    }
    audit(tx.conn(), &admin, "deliver", &before).await?;
    tx.commit().await?;
    let after = load(&st, id).await?;
    st.notify(id, crate::notify::Notice::Delivered);
    Ok(AppJson(after))
}

async fn paid(st: &AppState, id: i64) -> Result<bool> {
    let paid_at: Option<i64> = sqlx::query_scalar("SELECT paid_at FROM orders WHERE id = $1")
        .bind(id)
        .fetch_one(&st.db.pool)
        .await?;
    Ok(paid_at.is_some())
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
    let mut tx = st.db.begin_write().await?;
    let mut ok = repo::transition(
        tx.conn(),
        id,
        &[OrderStatus::PendingPayment],
        OrderStatus::Cancelled,
        None,
        Some(&admin.email),
    )
    .await?;
    // An unpaid cash order that is already on its way can still be called back.
    if !ok && before.payment_method == PaymentMethod::Cash && before.status == OrderStatus::Shipped
    {
        let unpaid: Option<i64> = sqlx::query_scalar("SELECT paid_at FROM orders WHERE id = $1")
            .bind(id)
            .fetch_one(tx.conn())
            .await?;
        if unpaid.is_none() {
            ok = repo::transition(
                tx.conn(),
                id,
                &[OrderStatus::Shipped],
                OrderStatus::Cancelled,
                None,
                Some(&admin.email),
            )
            .await?;
        }
    }
    if ok {
        repo::release_reservation(tx.conn(), id).await?;
        audit(tx.conn(), &admin, "cancel", &before).await?;
    }
    tx.commit().await?;
    if !ok {
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
    st.catalog_changed();
    let after = load(&st, id).await?;
    st.notify(id, crate::notify::Notice::Cancelled);
    Ok(AppJson(after))
}

/// Refunds (owners only: money leaves the shop) through the order's own rail: the provider gives the money back first, then the
/// refund is recorded (cash is handed back by the merchant, so it is only recorded).
#[utoipa::path(post, path = "/api/admin/orders/{id}/refund", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The order's id.")),
    request_body(content = Option<RefundRequest>, description = "Optional: no body is a full refund."),
    responses((status = 200, description = "The order after the refund.", body = Order), (status = 404, description = "No such order."),
        (status = 409, description = "Nothing (or less than asked) is left to refund, or the order is not paid."),
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
    let before = load(&st, id).await?;
    if !matches!(
        before.status,
        OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Completed
    ) {
        return Err(if before.status == OrderStatus::Refunded {
            Error::conflict(
                "already_refunded",
                format!("Order {id} is already refunded."),
            )
        } else {
            bad_state(&before, "refunded")
        });
    }
    #[derive(sqlx::FromRow)]
    struct Pay {
        id: i64,
        provider: String,
        provider_payment_id: String,
        amount_minor: i64,
        refunded_minor: i64,
    }
    let pay = sqlx::query_as::<_, Pay>(
        "SELECT id, provider, provider_payment_id, amount_minor, refunded_minor FROM payments \
         WHERE order_id = $1 AND needs_refund = 0 AND status <> 'refunded' ORDER BY id LIMIT 1",
    )
    .bind(id)
    .fetch_optional(&st.db.pool)
    .await?
    .ok_or_else(|| {
        Error::conflict(
            "no_payment",
            format!("Order {id} has no payment to refund."),
        )
    })?;
    let failed_refunds: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM refunds WHERE payment_id = $1 AND failed_at IS NOT NULL",
    )
    .bind(pay.id)
    .fetch_one(&st.db.pool)
    .await?;
    let left = pay.amount_minor - pay.refunded_minor;
    let amount = req.amount_minor.unwrap_or(left);
    if amount <= 0 || amount > left {
        return Err(Error::field(
            "invalid_amount",
            "amount_minor",
            format!("Refund between 1 and {left} (minor units) for this order."),
        ));
    }
    let currency = before.total.currency.clone();
    let made = if before.payment_method == PaymentMethod::Cash {
        // Cash is handed back by the merchant. The key repeats for a double-clicked button
        // (same refunded total, same amount), so that is recorded once too.
        vec![Refund {
            provider_refund_id: format!("cash-{}-{}-{amount}", pay.id, pay.refunded_minor),
            amount_minor: amount,
            currency: currency.as_str().to_string(),
        }]
    } else {
        let provider = st.payments.get(before.payment_method).ok_or_else(|| {
            Error::conflict(
                "refund_unavailable",
                format!(
                    "{} is not configured any more; refund it in the provider's dashboard.",
                    before.payment_method.as_str()
                ),
            )
        })?;
        provider
            .refund(&ProviderRefund {
                order_id: id,
                customer_id: before.customer_id.unwrap_or_default(),
                payment_id: pay.id,
                provider_payment_id: pay.provider_payment_id.clone(),
                amount_minor: amount,
                currency: currency.clone(),
                refunded_minor: pay.refunded_minor,
                failed_refunds,
                full: amount == left,
            })
            .await?
    };
    // Each refund by the provider's own id: if the provider's notification of it came in
    // while we waited for this answer, it is already counted and is not counted again.
    let mut recorded = Recorded::Nothing;
    let mut tx = st.db.begin_write().await?;
    for r in &made {
        let done = refund::record(
            tx.conn(),
            id,
            pay.id,
            &pay.provider,
            r,
            req.restock,
            &admin.email,
        )
        .await?;
        recorded = match (recorded, done) {
            (Recorded::Full, _) | (_, Recorded::Nothing) => recorded,
            _ => done,
        };
    }
    // The provider's notification may have recorded the whole refund first, without
    // restocking: the merchant's restock still happens, once.
    let restocked = req.restock
        && recorded != Recorded::Full
        && !made.is_empty()
        && refund::restock_refunded(tx.conn(), id, &admin.email).await?;
    if made.is_empty() {
        repo::event(
            tx.conn(),
            id,
            event_kind::REFUND_PENDING,
            None,
            Some(&format!(
                "{} accepted the refund of {amount} {currency}; the order changes when it confirms",
                before.payment_method.as_str()
            )),
            Some(&admin.email),
            crate::db::now(),
        )
        .await?;
    }
    audit(tx.conn(), &admin, "refund", &before).await?;
    tx.commit().await?;
    if req.restock && recorded == Recorded::Full || restocked {
        st.catalog_changed();
    }
    let after = load(&st, id).await?;
    if recorded == Recorded::Full {
        if pay.provider == "stars" {
            crate::telegram::subscriptions::stop_after_refund(&st, id).await;
        }
        st.notify(id, crate::notify::Notice::Refunded);
    }
    Ok(AppJson(after))
}
