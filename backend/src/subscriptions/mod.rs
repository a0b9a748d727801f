//! Subscriptions, whichever rail renews them (Telegram Stars, Stripe): the one record a first
//! payment starts and renewals keep current, and the changes the customer, the merchant and
//! the providers make to it.
//!
//! A rail knows its provider's messages and calls; what they mean for the record is here, once
//! for every rail: a renewal counts once per provider payment id and extends the paid period,
//! an ended subscription stops access, a stop of renewal is one provider call (dispatched
//! through [`crate::rails::Provider::change_subscription`]) and one timeline entry. So Stars
//! and Stripe share this instead of copying each other, and neither imports the other.
//!
//! There is no scheduled work: a subscription's status follows from its paid period
//! (`expires_at`) and its renewal flag when it is read, so several processes never race to
//! expire one.

pub mod routes;

use serde_json::{json, Value};
use shared::{event_kind, OrderStatus, PaymentMethod};

use crate::db::{self, Db};
use crate::error::{Error, Result};
use crate::notify::Notice;
use crate::orders::lifecycle::AuditTrail;
use crate::orders::repo as orders;
use crate::rails::{SubscriptionChange, SubscriptionRef};
use crate::state::AppState;

pub use routes::router;

/// Every subscription renews every 30 days: Telegram's only period, and the period the shop
/// asks Stripe for (`recurring[interval]=day`, `interval_count=30`).
pub const PERIOD: i64 = 2_592_000;

/// A subscription record.
#[derive(Debug, Clone, shop_macros::FromRow)]
pub struct Row {
    pub id: i64,
    pub customer_id: i64,
    pub order_id: i64,
    pub product_id: i64,
    #[sqlx(try_from = "String")]
    pub provider: PaymentMethod,
    /// The provider's handle on it (see [`SubscriptionRef::handle`]).
    pub charge_id: String,
    pub expires_at: i64,
    pub canceled: i64,
    pub renewals: i64,
    pub updated_at: i64,
}

/// A `Row`'s columns, a literal so that each statement is one fixed string (`concat!`).
macro_rules! cols {
    () => {
        "id, customer_id, order_id, product_id, provider, charge_id, expires_at, canceled, \
         renewals, updated_at"
    };
}

impl Row {
    pub fn status(&self, now: i64) -> &'static str {
        orders::subscription_status(self.expires_at, self.canceled != 0, now)
    }

    fn reference(&self) -> SubscriptionRef {
        SubscriptionRef {
            id: self.id,
            order_id: self.order_id,
            customer_id: self.customer_id,
            handle: self.charge_id.clone(),
            version: self.updated_at,
        }
    }
}

pub async fn by_id(db: &Db, id: i64) -> Result<Option<Row>> {
    Ok(sqlx::query_as::<_, Row>(concat!(
        "SELECT ",
        cols!(),
        " FROM subscriptions WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?)
}

pub async fn by_order(db: &Db, order_id: i64) -> Result<Option<Row>> {
    Ok(sqlx::query_as::<_, Row>(concat!(
        "SELECT ",
        cols!(),
        " FROM subscriptions WHERE order_id = $1"
    ))
    .bind(order_id)
    .fetch_optional(&db.pool)
    .await?)
}

/// The subscription `rail` knows by `handle`; `None` for one the shop did not start.
pub async fn by_handle(db: &Db, rail: PaymentMethod, handle: &str) -> Result<Option<Row>> {
    Ok(sqlx::query_as::<_, Row>(concat!(
        "SELECT ",
        cols!(),
        " FROM subscriptions WHERE provider = $1 AND charge_id = $2"
    ))
    .bind(rail.as_str())
    .bind(handle)
    .fetch_optional(&db.pool)
    .await?)
}

/// A customer's subscriptions, newest first (at most 100), each with its product's title
/// texts (JSON; `None` for a product since deleted).
pub async fn of_customer(db: &Db, customer_id: i64) -> Result<Vec<(Row, Option<String>)>> {
    let rows = sqlx::query_as::<_, Row>(concat!(
        "SELECT ",
        cols!(),
        " FROM subscriptions WHERE customer_id = $1 ORDER BY id DESC LIMIT 100"
    ))
    .bind(customer_id)
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let title: Option<String> =
            sqlx::query_scalar("SELECT title_json FROM products WHERE id = $1")
                .bind(r.product_id)
                .fetch_optional(&db.pool)
                .await?;
        out.push((r, title));
    }
    Ok(out)
}

/// The first payment of an order: starts its subscription record (once), if it sold one.
/// `user` is the subscriber when the provider names one (Stars), else the order's customer.
pub async fn started(
    st: &AppState,
    rail: PaymentMethod,
    order_id: i64,
    user: Option<i64>,
    handle: &str,
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
    // Either key may already be there: the order's (a repeated first payment) or the
    // handle's (the same provider subscription announced again).
    sqlx::query(
        "INSERT INTO subscriptions (customer_id, order_id, product_id, provider, charge_id, \
         expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT DO NOTHING",
    )
    .bind(user.unwrap_or(o.customer_id))
    .bind(order_id)
    .bind(item.product_id)
    .bind(rail.as_str())
    .bind(handle)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The first period's exact end, once the provider says it (Stripe's first invoice, which may
/// come after the session that started the record with an estimate). Renewed records keep
/// their own.
pub async fn first_period_ends(
    st: &AppState,
    rail: PaymentMethod,
    handle: &str,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE subscriptions SET expires_at = $1, updated_at = $2 \
         WHERE provider = $3 AND charge_id = $4 AND renewals = 0 AND canceled = 0",
    )
    .bind(expires_at)
    .bind(db::now())
    .bind(rail.as_str())
    .bind(handle)
    .execute(&st.db.pool)
    .await?;
    Ok(())
}

/// A renewal payment the rail verified.
pub struct Renewal<'a> {
    pub rail: PaymentMethod,
    pub order_id: i64,
    /// The provider's id of this payment (a Star charge, a Stripe invoice): counted once.
    pub payment_id: &'a str,
    pub amount_minor: i64,
    pub currency: &'a str,
    /// The end of the period it pays for, when the provider says it.
    pub expires_at: Option<i64>,
    pub raw: &'a Value,
}

/// A renewal payment: stored once per provider payment id, and the subscription runs on.
/// False when there is no subscription for the order yet.
///
/// A renewal of a refunded order, or of another amount or currency than the order's, extends
/// nothing: it is recorded and flagged for refund (the merchant sees it in the admin).
pub async fn renewed(st: &AppState, r: &Renewal<'_>) -> Result<bool> {
    let now = db::now();
    let rail = r.rail.as_str();
    let mut tx = st.db.begin_write().await?;
    let sub: Option<(i64, i64)> =
        sqlx::query_as("SELECT id, expires_at FROM subscriptions WHERE order_id = $1")
            .bind(r.order_id)
            .fetch_optional(tx.conn())
            .await?;
    let Some((sub_id, old_expiry)) = sub else {
        return Ok(false);
    };
    let Some(order) = orders::head(tx.conn(), r.order_id).await? else {
        return Ok(false);
    };
    let refunded = order.status == OrderStatus::Refunded;
    let mismatch = order.total_minor != r.amount_minor || order.currency != r.currency;
    let flagged = refunded || mismatch;
    // Stored once per payment id either way. If the order was refunded, which ended the
    // subscription, a renewal that still comes (the provider had not stopped it yet) extends
    // nothing and is money to give back.
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO payments (order_id, provider, provider_payment_id, status, amount_minor, \
         currency, raw, needs_refund, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
         ON CONFLICT (provider, provider_payment_id) DO NOTHING RETURNING id",
    )
    .bind(r.order_id)
    .bind(rail)
    .bind(r.payment_id)
    .bind(if flagged { "needs_refund" } else { "succeeded" })
    .bind(r.amount_minor)
    .bind(r.currency)
    .bind(r.raw.to_string())
    .bind(i64::from(flagged))
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    if inserted.is_none() {
        return Ok(true);
    }
    if flagged {
        let (kind, note) = if refunded {
            (
                event_kind::PAYMENT_AFTER_REFUND,
                format!(
                    "{rail} {}: renewal after the refund, to give back",
                    r.payment_id
                ),
            )
        } else {
            (
                event_kind::PAYMENT_MISMATCH,
                format!(
                    "{rail} renewal {} of {} {} for an order of {} {}; to give back",
                    r.payment_id, r.amount_minor, r.currency, order.total_minor, order.currency
                ),
            )
        };
        tracing::warn!(
            order_id = r.order_id,
            payment = r.payment_id,
            note,
            "renewal flagged for refund"
        );
        orders::event(
            tx.conn(),
            r.order_id,
            kind,
            None,
            Some(&note),
            Some(rail),
            now,
        )
        .await?;
        tx.commit().await?;
        return Ok(true);
    }
    let expiry = r.expires_at.unwrap_or(old_expiry.max(now) + PERIOD);
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
        r.order_id,
        event_kind::SUBSCRIPTION_RENEWED,
        None,
        Some(&format!("{rail} {}", r.payment_id)),
        Some(rail),
        now,
    )
    .await?;
    tx.commit().await?;
    st.notify(r.order_id, Notice::SubscriptionRenewed);
    Ok(true)
}

/// The provider ended the subscription (Stripe `customer.subscription.deleted`): it renews no
/// more, and access stops at `ended_at` (now when not given) unless the paid period ended
/// before. The timeline says so once per order, also when the record needed no change (a
/// subscription that ran out after its renewal was turned off); a refund that ended it first
/// has said so already. True when this wrote the timeline entry.
pub async fn ended(
    st: &AppState,
    rail: PaymentMethod,
    handle: &str,
    ended_at: Option<i64>,
) -> Result<bool> {
    let now = db::now();
    let end = ended_at.unwrap_or(now).min(now);
    let mut tx = st.db.begin_write().await?;
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT id, order_id FROM subscriptions WHERE provider = $1 AND charge_id = $2",
    )
    .bind(rail.as_str())
    .bind(handle)
    .fetch_optional(tx.conn())
    .await?;
    let Some((id, order_id)) = row else {
        return Ok(false);
    };
    sqlx::query(
        "UPDATE subscriptions SET canceled = 1, \
         expires_at = CASE WHEN expires_at > $1 THEN $1 ELSE expires_at END, updated_at = $2 \
         WHERE id = $3 AND (canceled = 0 OR expires_at > $1)",
    )
    .bind(end)
    .bind(now)
    .bind(id)
    .execute(tx.conn())
    .await?;
    let told: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM order_events WHERE order_id = $1 AND kind = $2")
            .bind(order_id)
            .bind(event_kind::SUBSCRIPTION_ENDED)
            .fetch_one(tx.conn())
            .await?;
    if told > 0 {
        tx.commit().await?;
        return Ok(false);
    }
    orders::event(
        tx.conn(),
        order_id,
        event_kind::SUBSCRIPTION_ENDED,
        None,
        Some(&format!("{}: ended at the provider", rail.as_str())),
        Some(rail.as_str()),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The provider reports whether the subscription renews (Stripe `customer.subscription.updated`:
/// the echo of our own change, or one made in its dashboard). The record follows; the timeline
/// shows the change once, whoever made it, and the customer hears of a stop once (the echo
/// can overtake the shop's own change, which then finds nothing to do).
pub async fn renewal_reported(
    st: &AppState,
    rail: PaymentMethod,
    handle: &str,
    renews: bool,
) -> Result<bool> {
    let Some(row) = by_handle(&st.db, rail, handle).await? else {
        return Ok(false);
    };
    let changed = set_flag(st, &row, renews, rail.as_str(), None).await?;
    if changed && !renews {
        st.notify(row.order_id, Notice::SubscriptionEnding);
    }
    Ok(changed)
}

/// A renewal charge failed (Stripe `invoice.payment_failed`; Stripe retries it): the customer
/// is told once per failed payment (`payment_id`, the invoice), however often the provider
/// reports it. True when this was the first report.
pub async fn renewal_failed(
    st: &AppState,
    rail: PaymentMethod,
    handle: &str,
    payment_id: &str,
) -> Result<bool> {
    let Some(row) = by_handle(&st.db, rail, handle).await? else {
        return Ok(false);
    };
    let now = db::now();
    let mut tx = st.db.begin_write().await?;
    let first: Option<String> = sqlx::query_scalar(
        "INSERT INTO processed_events (source, event_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (source, event_id) DO NOTHING RETURNING event_id",
    )
    .bind(format!("{}-renewal-failed", rail.as_str()))
    .bind(payment_id)
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    if first.is_none() {
        return Ok(false);
    }
    orders::event(
        tx.conn(),
        row.order_id,
        event_kind::SUBSCRIPTION_PAYMENT_FAILED,
        None,
        Some(&format!("{} {payment_id}", rail.as_str())),
        Some(rail.as_str()),
        now,
    )
    .await?;
    tx.commit().await?;
    st.notify(row.order_id, Notice::SubscriptionPaymentFailed);
    Ok(true)
}

/// Who turns renewal off or on.
pub enum Who<'a> {
    /// The subscriber, from the storefront.
    Customer,
    /// A signed-in merchant: audited.
    Admin(&'a dyn AuditTrail),
}

/// Turns renewal off (`renews` false) or back on: one call to the subscription's own rail, then
/// the record and a timeline entry (and for a merchant the audit log). The paid period runs on
/// either way. Answers `{id, order_id, status, renews, expires_at}`.
pub async fn set_renewal(st: &AppState, row: &Row, renews: bool, who: Who<'_>) -> Result<Value> {
    let now = db::now();
    if row.expires_at <= now {
        return Err(Error::conflict(
            "subscription_expired",
            "This subscription has ended; order it again to subscribe.",
        ));
    }
    if (row.canceled == 0) != renews {
        let provider = st
            .payments
            .get(row.provider)
            .ok_or_else(|| match row.provider {
                PaymentMethod::Stars => {
                    Error::conflict("no_bot", "Subscriptions need the Telegram bot.")
                }
                m => Error::conflict(
                    "payment_method_unavailable",
                    format!(
                        "This shop no longer has {} configured; change the subscription there.",
                        m.as_str()
                    ),
                ),
            })?;
        let change = if renews {
            SubscriptionChange::Resume
        } else {
            SubscriptionChange::StopRenewal
        };
        provider
            .change_subscription(&row.reference(), change)
            .await?;
        let (actor, audit) = match &who {
            Who::Customer => ("customer", None),
            Who::Admin(a) => (a.email(), Some(*a)),
        };
        if set_flag(st, row, renews, actor, audit).await? && !renews {
            st.notify(row.order_id, Notice::SubscriptionEnding);
        }
    }
    let status = if renews { "active" } else { "canceled" };
    Ok(json!({
        "id": row.id,
        "order_id": row.order_id,
        "status": status,
        "renews": renews,
        "expires_at": row.expires_at,
    }))
}

/// Sets the record's renewal flag if it differs, with its timeline entry (and audit entry) in
/// the same transaction. True when it changed.
async fn set_flag(
    st: &AppState,
    row: &Row,
    renews: bool,
    actor: &str,
    audit: Option<&dyn AuditTrail>,
) -> Result<bool> {
    let now = db::now();
    let canceled = i64::from(!renews);
    let mut tx = st.db.begin_write().await?;
    let n = sqlx::query(
        "UPDATE subscriptions SET canceled = $1, updated_at = $2 WHERE id = $3 AND canceled <> $1",
    )
    .bind(canceled)
    .bind(now)
    .bind(row.id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    let kind = if renews {
        event_kind::SUBSCRIPTION_RESUMED
    } else {
        event_kind::SUBSCRIPTION_CANCELED
    };
    orders::event(
        tx.conn(),
        row.order_id,
        kind,
        None,
        Some(&format!("{} {}", row.provider.as_str(), row.charge_id)),
        Some(actor),
        now,
    )
    .await?;
    if let Some(a) = audit {
        let action = if renews {
            "subscription.resume"
        } else {
            "subscription.cancel"
        };
        a.record(
            tx.conn(),
            action,
            row.order_id,
            json!({"subscription_id": row.id, "renews": row.canceled == 0}),
            json!({"subscription_id": row.id, "renews": renews}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// After a full refund (which ended the subscription in our records), asks the rail to stop
/// it too. Best effort: if it fails, a renewal that still comes is flagged for refund by
/// [`renewed`] rather than extending anything.
pub async fn stop_after_refund(st: &AppState, order_id: i64) {
    let row = match by_order(&st.db, order_id).await {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(order_id, error = %e, "could not read the refunded subscription");
            return;
        }
    };
    let Some(provider) = st.payments.get(row.provider) else {
        return;
    };
    if let Err(e) = provider
        .change_subscription(&row.reference(), SubscriptionChange::EndNow)
        .await
    {
        tracing::warn!(order_id, error = %e, "could not stop the refunded subscription's renewal");
    }
}
