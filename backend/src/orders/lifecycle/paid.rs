//! An order becomes paid.
//!
//! Every rail calls [`paid`] after it has verified a success notification. The payment row
//! is unique per (provider, provider payment id), so a repeated notification finds its row
//! and changes nothing; the order moves to `paid` with a conditional update, so two rails
//! racing for one order cannot both win; the loser's money is recorded and flagged for refund.

use shared::{event_kind, PaymentMethod};
use sqlx::AnyConnection;

use super::{After, Shop};
use crate::db;
use crate::error::{Error, Result};
use crate::notify::Notice;
use crate::orders::repo;

/// The statement that marks an order paid (`$1` the time, `$2` the order) where `$guard`, fixed
/// SQL, holds too; see [`mark_paid`].
macro_rules! mark_paid_where {
    ($guard:literal) => {
        concat!(
            "UPDATE orders SET status = CASE WHEN status = 'shipped' THEN 'shipped' ELSE 'paid' END, \
             paid_at = $1, holds_stock = 0, updated_at = $1 WHERE id = $2 AND ",
            $guard
        )
    };
}

/// A payment a rail verified.
#[derive(Debug, Clone)]
pub struct PaymentSuccess {
    pub order_id: i64,
    /// The rail it came through (`payments.provider`).
    pub rail: PaymentMethod,
    pub provider_payment_id: String,
    pub amount_minor: i64,
    pub currency: String,
    /// The notification as received, kept for audit.
    pub raw: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// This payment paid the order: stock committed, customer to be told.
    Fulfilled,
    /// This payment was seen before; nothing changed.
    AlreadyRecorded,
    /// Recorded, but the order was already paid, or the amount did not match, or its stock
    /// is gone: the money must go back.
    FlaggedForRefund,
}

/// Records a verified payment and pays its order with it, once; after the commit the catalog
/// is bumped and the customer told when this payment paid the order.
pub async fn paid(shop: &dyn Shop, p: &PaymentSuccess) -> Result<Outcome> {
    let mut tx = shop.db().begin_write().await?;
    let outcome = record_payment(tx.conn(), p).await?;
    tx.commit().await?;
    tracing::info!(
        order_id = p.order_id,
        provider = p.rail.as_str(),
        ?outcome,
        "payment applied"
    );
    if outcome == Outcome::Fulfilled {
        After {
            stock_moved: true,
            notice: Some(Notice::Paid),
        }
        .run(shop, p.order_id);
    }
    Ok(outcome)
}

/// [`paid`]'s change inside the caller's transaction, without the after-commit effects (a cash
/// order delivered is told "delivered", not "paid").
pub async fn record_payment(conn: &mut AnyConnection, p: &PaymentSuccess) -> Result<Outcome> {
    let outcome = apply(conn, p).await?;
    let rail = p.rail.as_str();
    let label = match outcome {
        Outcome::Fulfilled => "fulfilled",
        Outcome::AlreadyRecorded => "already_recorded",
        Outcome::FlaggedForRefund => "flagged_for_refund",
    };
    metrics::counter!("shop_payments_total", "rail" => rail, "outcome" => label).increment(1);
    if outcome == Outcome::Fulfilled {
        metrics::counter!("shop_orders_paid_total", "rail" => rail).increment(1);
    }
    Ok(outcome)
}

async fn apply(conn: &mut AnyConnection, p: &PaymentSuccess) -> Result<Outcome> {
    let now = db::now();
    let rail = p.rail.as_str();
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO payments (order_id, provider, provider_payment_id, status, amount_minor, \
         currency, raw, created_at, updated_at) VALUES ($1, $2, $3, 'succeeded', $4, $5, $6, $7, $7) \
         ON CONFLICT (provider, provider_payment_id) DO NOTHING RETURNING id",
    )
    .bind(p.order_id)
    .bind(rail)
    .bind(&p.provider_payment_id)
    .bind(p.amount_minor)
    .bind(&p.currency)
    .bind(p.raw.as_deref())
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(payment_id) = inserted else {
        return Ok(Outcome::AlreadyRecorded);
    };

    let order = repo::head(conn, p.order_id)
        .await?
        .ok_or_else(|| Error::not_found("order"))?;
    let outcome = if order.total_minor != p.amount_minor || order.currency != p.currency {
        let note = format!(
            "{rail} reported {} {} for an order of {} {}",
            p.amount_minor, p.currency, order.total_minor, order.currency
        );
        flag(
            conn,
            payment_id,
            p.order_id,
            event_kind::PAYMENT_MISMATCH,
            &note,
            now,
        )
        .await?;
        Outcome::FlaggedForRefund
    } else if mark_paid(
        conn,
        p,
        now,
        mark_paid_where!("holds_stock = 1 AND status IN ('pending_payment', 'shipped')"),
    )
    .await?
    {
        // It held stock, so it was never paid: a pending order, or a cash order on its way.
        // The guarded UPDATE above is the decision; a concurrent expiry or cancel that got
        // there first makes it match nothing.
        repo::commit_reservation(conn, p.order_id).await?;
        paid_event(conn, p, now).await?;
        Outcome::Fulfilled
    } else if mark_paid(
        conn,
        p,
        now,
        mark_paid_where!(
            "holds_stock = 0 AND paid_at IS NULL AND status IN ('expired', 'cancelled')"
        ),
    )
    .await?
    {
        // Paid after the reservation lapsed: sell it if the stock is still there.
        if repo::take_stock(conn, p.order_id, false).await? {
            // It was paid at its discounted price, so it holds its promo use again (even
            // past max_uses: the money is in).
            crate::promo::hold_again(conn, p.order_id, now).await?;
            paid_event(conn, p, now).await?;
            Outcome::Fulfilled
        } else {
            sqlx::query("UPDATE orders SET status = $1, paid_at = NULL WHERE id = $2")
                .bind(order.status.as_str())
                .bind(p.order_id)
                .execute(&mut *conn)
                .await?;
            let note = format!(
                "{rail} paid after the order {}; stock is gone",
                order.status.as_str()
            );
            flag(
                conn,
                payment_id,
                p.order_id,
                event_kind::PAYMENT_NEEDS_REFUND,
                &note,
                now,
            )
            .await?;
            Outcome::FlaggedForRefund
        }
    } else {
        let note = format!(
            "{rail} paid an order that is already {}",
            order.status.as_str()
        );
        flag(
            conn,
            payment_id,
            p.order_id,
            event_kind::DUPLICATE_PAYMENT,
            &note,
            now,
        )
        .await?;
        Outcome::FlaggedForRefund
    };
    Ok(outcome)
}

/// Records money an order cannot take as a payment flagged for refund, without touching the
/// order: what a rail that sees every transfer (TON) decides itself is unneeded (an
/// overpayment's excess, a transfer after the order ended or was paid, the wrong asset).
/// `kind` is the timeline entry (an [`event_kind`]). Once per (rail, provider payment id):
/// false when it was recorded before. Inside the caller's transaction.
pub async fn record_unneeded(
    conn: &mut AnyConnection,
    p: &PaymentSuccess,
    kind: &str,
    note: &str,
) -> Result<bool> {
    let now = db::now();
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO payments (order_id, provider, provider_payment_id, status, amount_minor, \
         currency, raw, needs_refund, created_at, updated_at) \
         VALUES ($1, $2, $3, 'needs_refund', $4, $5, $6, 1, $7, $7) \
         ON CONFLICT (provider, provider_payment_id) DO NOTHING RETURNING id",
    )
    .bind(p.order_id)
    .bind(p.rail.as_str())
    .bind(&p.provider_payment_id)
    .bind(p.amount_minor)
    .bind(&p.currency)
    .bind(p.raw.as_deref())
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    if inserted.is_none() {
        return Ok(false);
    }
    tracing::warn!(order_id = p.order_id, note, "payment flagged for refund");
    metrics::counter!("shop_payments_total", "rail" => p.rail.as_str(), "outcome" => "flagged_for_refund")
        .increment(1);
    repo::event(
        conn,
        p.order_id,
        kind,
        None,
        Some(note),
        Some(p.rail.as_str()),
        now,
    )
    .await?;
    Ok(true)
}

/// Marks the order paid with `sql`, a `mark_paid_where!` statement; true if its guard matched.
/// A shipped cash order stays shipped (its money arrives on delivery).
async fn mark_paid(
    conn: &mut AnyConnection,
    p: &PaymentSuccess,
    now: i64,
    sql: &'static str,
) -> Result<bool> {
    let n = sqlx::query(sql)
        .bind(now)
        .bind(p.order_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

async fn paid_event(conn: &mut AnyConnection, p: &PaymentSuccess, now: i64) -> Result<()> {
    repo::event(
        conn,
        p.order_id,
        "paid",
        Some("paid"),
        Some(&format!("{} {}", p.rail.as_str(), p.provider_payment_id)),
        Some(p.rail.as_str()),
        now,
    )
    .await
}

async fn flag(
    conn: &mut AnyConnection,
    payment_id: i64,
    order_id: i64,
    kind: &str,
    note: &str,
    now: i64,
) -> Result<()> {
    tracing::warn!(order_id, note, "payment flagged for refund");
    sqlx::query("UPDATE payments SET needs_refund = 1, status = 'needs_refund' WHERE id = $1")
        .bind(payment_id)
        .execute(&mut *conn)
        .await?;
    repo::event(conn, order_id, kind, None, Some(note), None, now).await
}
