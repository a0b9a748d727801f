//! What the international rails' notifications do to orders, in one place for Stripe and
//! PayPal: pay through [`fulfil`], release a reservation, record a provider-side refund,
//! and remember which notifications were handled.

use shared::OrderStatus;

use crate::db;
use crate::error::Result;
use crate::notify::Notice;
use crate::orders::repo;
use crate::payments::fulfil::{fulfil, Outcome, PaymentSuccess};
use crate::payments::refund::{self, Recorded, Refund};
use crate::state::AppState;

/// Whether `(source, event_id)` was handled before.
pub async fn seen(st: &AppState, source: &str, event_id: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM processed_events WHERE source = $1 AND event_id = $2",
    )
    .bind(source)
    .bind(event_id)
    .fetch_one(&st.db.pool)
    .await?;
    Ok(n > 0)
}

/// Remembers a handled event. Marked after handling (not before), so a crash midway lets the
/// provider's redelivery finish the job; every handler is idempotent on its own, so two
/// deliveries racing past [`seen`] still change things once.
pub async fn mark_seen(st: &AppState, source: &str, event_id: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO processed_events (source, event_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (source, event_id) DO NOTHING",
    )
    .bind(source)
    .bind(event_id)
    .bind(db::now())
    .execute(&st.db.pool)
    .await?;
    Ok(())
}

pub async fn order_exists(st: &AppState, order_id: i64) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE id = $1")
        .bind(order_id)
        .fetch_one(&st.db.pool)
        .await?;
    Ok(n > 0)
}

/// A verified success: the one fulfilment path, then the customer is told.
pub async fn pay(st: &AppState, p: &PaymentSuccess) -> Result<Outcome> {
    let outcome = fulfil(&st.db, p).await?;
    if outcome == Outcome::Fulfilled {
        st.catalog_changed();
        st.notify(p.order_id, Notice::Paid);
    }
    Ok(outcome)
}

/// Ends an unpaid order (`expired` or `cancelled`) and gives its stock back; false if it was
/// no longer pending (paid meanwhile, or already ended).
pub async fn end_unpaid(
    st: &AppState,
    order_id: i64,
    to: OrderStatus,
    note: &str,
    actor: &str,
) -> Result<bool> {
    let mut tx = st.db.begin_write().await?;
    let moved = repo::transition(
        tx.conn(),
        order_id,
        &[OrderStatus::PendingPayment],
        to,
        Some(note),
        Some(actor),
    )
    .await?;
    if moved {
        repo::release_reservation(tx.conn(), order_id).await?;
    }
    tx.commit().await?;
    if moved {
        st.catalog_changed();
        st.notify(
            order_id,
            if to == OrderStatus::Expired {
                Notice::Expired
            } else {
                Notice::Cancelled
            },
        );
    }
    Ok(moved)
}

/// Records a refund a provider's notification reports, by the provider's refund id, against
/// the payment `provider_payment_id`. Answers `None` when the payment is not ours. The same
/// refund arriving again, or the admin's own call recording it first, changes nothing.
pub async fn provider_refund(
    st: &AppState,
    provider: &str,
    provider_payment_id: &str,
    r: &Refund,
) -> Result<Option<Recorded>> {
    let row = payment_of(
        &mut *st.db.pool.acquire().await?,
        provider,
        provider_payment_id,
    )
    .await?;
    let Some((payment_id, order_id)) = row else {
        return Ok(None);
    };
    let done =
        refund::record_now(&st.db, order_id, payment_id, provider, r, false, provider).await?;
    if done == Recorded::Full {
        st.notify(order_id, Notice::Refunded);
    }
    Ok(Some(done))
}

/// A refund of payment `provider_payment_id` that the provider now reports failed: taken back
/// if it had counted ([`refund::reverse`]), else put on record as failed
/// ([`refund::record_failed`]); in one write transaction. False when nothing changed (told
/// before, or the payment is not ours).
pub async fn provider_refund_failed(
    st: &AppState,
    provider: &str,
    provider_payment_id: &str,
    r: &Refund,
) -> Result<bool> {
    let mut tx = st.db.begin_write().await?;
    let mut changed = refund::reverse(tx.conn(), provider, &r.provider_refund_id, provider).await?;
    if changed.is_none() {
        if let Some((payment_id, order_id)) =
            payment_of(tx.conn(), provider, provider_payment_id).await?
        {
            if refund::record_failed(tx.conn(), order_id, payment_id, provider, r, provider).await?
            {
                changed = Some(order_id);
            }
        }
    }
    tx.commit().await?;
    if let Some(order_id) = changed {
        st.notify(order_id, Notice::RefundFailed);
    }
    Ok(changed.is_some())
}

/// Our `(payments.id, order id)` of the provider's payment `provider_payment_id`, if it is ours.
async fn payment_of(
    conn: &mut sqlx::AnyConnection,
    provider: &str,
    provider_payment_id: &str,
) -> Result<Option<(i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT id, order_id FROM payments WHERE provider = $1 AND provider_payment_id = $2",
    )
    .bind(provider)
    .bind(provider_payment_id)
    .fetch_optional(conn)
    .await?)
}
