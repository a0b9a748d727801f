//! Refunds, whoever started them (the merchant in the admin, or a provider's own
//! notification such as Telegram's `refunded_payment` or Stripe's `charge.refunded`).
//!
//! One refund can reach the shop twice: as the provider's answer to the admin's refund call
//! and as the provider's notification of it, in either order (the notification may even come
//! while the admin's call is still waiting for its answer). Every refund is therefore keyed
//! by the provider's own refund id: `refunds` is unique on `(rail, provider_refund_id)`, and
//! only the first sighting moves the payment's refunded total and the order's status.

use shared::event_kind;
use shared::{OrderStatus, PaymentMethod};
use sqlx::AnyConnection;

use super::{audit, snapshot, transition, After, By, Shop};
use crate::db;
use crate::error::{Error, Result};
use crate::notify::Notice;
use crate::orders::repo;

/// Our payment a refund belongs to (`payments.id`, its order, the rail it was paid through).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentOf {
    pub payment_id: i64,
    pub order_id: i64,
    pub rail: PaymentMethod,
}

/// Whether a refund puts the order's units back on sale (goods returned unopened).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restock {
    Yes,
    No,
}

/// A refund the provider reports made (its notification, or Payme's CancelTransaction):
/// counted once by its id; after the commit the customer is told when the order is refunded.
pub async fn refunded(
    shop: &dyn Shop,
    pay: PaymentOf,
    r: &Refund,
    restock: Restock,
    by: By<'_>,
) -> Result<Recorded> {
    let mut tx = shop.db().begin_write().await?;
    let done = record(tx.conn(), pay, r, restock, by).await?;
    tx.commit().await?;
    if done == Recorded::Full {
        After {
            stock_moved: restock == Restock::Yes,
            notice: Some(Notice::Refunded),
        }
        .run(shop, pay.order_id);
    }
    Ok(done)
}

/// A refund the provider now reports failed: taken back if it had counted ([`reverse`]), else
/// put on record as failed against `pay` ([`record_failed`]); in one write transaction. False
/// when nothing changed (told before, or the payment is not ours).
pub async fn refund_failed(
    shop: &dyn Shop,
    rail: PaymentMethod,
    r: &Refund,
    pay: Option<PaymentOf>,
    by: By<'_>,
) -> Result<bool> {
    let mut tx = shop.db().begin_write().await?;
    let mut changed = reverse(tx.conn(), rail, &r.provider_refund_id, by).await?;
    if changed.is_none() {
        if let Some(pay) = pay {
            if record_failed(tx.conn(), pay, r, by).await? {
                changed = Some(pay.order_id);
            }
        }
    }
    tx.commit().await?;
    if let Some(order_id) = changed {
        After {
            stock_moved: false,
            notice: Some(Notice::RefundFailed),
        }
        .run(shop, order_id);
    }
    Ok(changed.is_some())
}

/// What the merchant's refund came to at the provider.
pub struct RefundsMade<'a> {
    pub pay: PaymentOf,
    /// The refunds the provider reports done; empty when it accepted the refund but has not
    /// completed it yet (its notification records it then).
    pub made: &'a [Refund],
    pub restock: Restock,
    /// The timeline note when the provider has not completed the refund yet.
    pub pending_note: String,
}

/// Records the merchant's refund (`by` is the admin): each refund by the provider's own id, so
/// one its notification recorded while the admin's call waited is not counted again; the
/// merchant's restock happens once even then. Audited in the same transaction.
pub async fn refunds_made(shop: &dyn Shop, m: RefundsMade<'_>, by: By<'_>) -> Result<Recorded> {
    let order_id = m.pay.order_id;
    let mut tx = shop.db().begin_write().await?;
    let before = snapshot(tx.conn(), order_id).await?;
    let mut recorded = Recorded::Nothing;
    for r in m.made {
        let done = record(tx.conn(), m.pay, r, m.restock, by).await?;
        recorded = match (recorded, done) {
            (Recorded::Full, _) | (_, Recorded::Nothing) => recorded,
            _ => done,
        };
    }
    // The provider's notification may have recorded the whole refund first, without
    // restocking: the merchant's restock still happens, once.
    let restock = m.restock == Restock::Yes;
    let restocked = restock
        && recorded != Recorded::Full
        && !m.made.is_empty()
        && restock_refunded(tx.conn(), order_id, by).await?;
    if m.made.is_empty() {
        repo::event(
            tx.conn(),
            order_id,
            event_kind::REFUND_PENDING,
            None,
            Some(&m.pending_note),
            Some(by.name()),
            db::now(),
        )
        .await?;
    }
    audit(tx.conn(), by, "refund", order_id, before.as_ref()).await?;
    tx.commit().await?;
    After {
        stock_moved: restock && recorded == Recorded::Full || restocked,
        notice: (recorded == Recorded::Full).then_some(Notice::Refunded),
    }
    .run(shop, order_id);
    Ok(recorded)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The whole payment is now refunded and the order is `refunded`.
    Full,
    Partial,
    /// Money back for a payment the order did not need (a duplicate, or one that came after
    /// the stock was gone): counted, the order itself stays as it is.
    ExtraPayment,
    /// Nothing changed: this refund was recorded before, or nothing was left to refund.
    Nothing,
}

/// One refund as the provider made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// The provider's id of the refund (Stripe `re_…`, PayPal's refund id, the Stars charge
    /// id, the Payme transaction id), or a key the shop made where there is none (cash).
    pub provider_refund_id: String,
    /// In our minor units for the currency (not the provider's).
    pub amount_minor: i64,
    pub currency: String,
}

/// Records refund `r` of payment `payment_id` (made through `rail`, the payment's
/// `payments.provider`) inside the caller's transaction: adds it to the payment's refunded
/// total, moves the order to `refunded` when everything is given back (ending its
/// subscription, if it sold one) and optionally puts the units back on sale.
///
/// Idempotent per `(rail, provider_refund_id)`: a refund seen before answers
/// [`Recorded::Nothing`]. The total never exceeds what was paid; a refund for more than is
/// left counts only what is left and is logged and noted on the order for the merchant.
async fn record(
    conn: &mut AnyConnection,
    pay: PaymentOf,
    r: &Refund,
    restock: Restock,
    by: By<'_>,
) -> Result<Recorded> {
    let recorded = record_in(conn, pay, r, restock, by).await?;
    // Counted when recorded in the caller's transaction (a rare rollback after this still
    // counts: metrics are for watching, the refunds table is the record).
    let outcome = match recorded {
        Recorded::Nothing => "already_counted",
        _ => "counted",
    };
    metrics::counter!("shop_refunds_total", "rail" => pay.rail.as_str(), "outcome" => outcome)
        .increment(1);
    Ok(recorded)
}

async fn record_in(
    conn: &mut AnyConnection,
    pay_of: PaymentOf,
    r: &Refund,
    restock: Restock,
    by: By<'_>,
) -> Result<Recorded> {
    let PaymentOf {
        payment_id,
        order_id,
        rail,
    } = pay_of;
    let rail = rail.as_str();
    #[derive(shop_macros::FromRow)]
    struct Pay {
        amount_minor: i64,
        refunded_minor: i64,
        currency: String,
        needs_refund: i64,
    }
    let now = db::now();
    if r.amount_minor <= 0 {
        return Err(Error::field(
            "invalid_amount",
            "amount_minor",
            "A refund must be for more than nothing.",
        ));
    }
    // Lock the payment row first (PostgreSQL; SQLite's write transaction already holds the
    // database), so two different refunds of one payment add up one after the other.
    let locked = sqlx::query("UPDATE payments SET updated_at = $1 WHERE id = $2 AND order_id = $3")
        .bind(now)
        .bind(payment_id)
        .bind(order_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if locked != 1 {
        return Err(Error::not_found("payment"));
    }
    let pay = sqlx::query_as::<_, Pay>(
        "SELECT amount_minor, refunded_minor, currency, needs_refund FROM payments WHERE id = $1",
    )
    .bind(payment_id)
    .fetch_one(&mut *conn)
    .await?;
    if !r.currency.eq_ignore_ascii_case(&pay.currency) {
        tracing::error!(
            order_id,
            rail,
            refund = %r.provider_refund_id,
            currency = %r.currency,
            paid_in = %pay.currency,
            "refund in another currency than its payment; not counted"
        );
        return Ok(Recorded::Nothing);
    }
    let left = pay.amount_minor - pay.refunded_minor;
    let amount = r.amount_minor.min(left);
    let row = NewRefund {
        order_id,
        payment_id,
        rail,
        currency: &pay.currency,
        counted_minor: amount.max(0),
        unneeded_payment: pay.needs_refund,
        failed_at: None,
    };
    if !insert(conn, &row, r, now).await? {
        return Ok(Recorded::Nothing);
    }
    if amount < r.amount_minor {
        // The provider gave back more than our books had left: count what is left, never
        // more than was paid, and tell the merchant.
        let note = format!(
            "{rail} refund {} of {} {} is more than the {} {} left to refund; counted {}",
            r.provider_refund_id,
            r.amount_minor,
            pay.currency,
            left.max(0),
            pay.currency,
            amount.max(0)
        );
        tracing::warn!(order_id, payment_id, "{note}");
        repo::event(
            conn,
            order_id,
            event_kind::REFUND_EXCEEDS_PAYMENT,
            None,
            Some(&note),
            Some(by.name()),
            now,
        )
        .await?;
    }
    if amount <= 0 {
        return Ok(Recorded::Nothing);
    }
    sqlx::query("UPDATE payments SET refunded_minor = refunded_minor + $1 WHERE id = $2")
        .bind(amount)
        .bind(payment_id)
        .execute(&mut *conn)
        .await?;
    let note = format!("{amount} {} refunded", pay.currency);
    let full = amount == left;
    if pay.needs_refund != 0 {
        // Money back for a duplicate or unusable payment: the order itself stays as it is.
        sqlx::query("UPDATE payments SET status = 'refunded', needs_refund = 0 WHERE id = $1 AND refunded_minor = amount_minor")
            .bind(payment_id)
            .execute(&mut *conn)
            .await?;
        repo::event(
            conn,
            order_id,
            event_kind::DUPLICATE_REFUNDED,
            None,
            Some(&note),
            Some(by.name()),
            now,
        )
        .await?;
        return Ok(Recorded::ExtraPayment);
    } else if full {
        sqlx::query("UPDATE payments SET status = 'refunded' WHERE id = $1")
            .bind(payment_id)
            .execute(&mut *conn)
            .await?;
        let moved = transition(
            conn,
            order_id,
            &[
                OrderStatus::Paid,
                OrderStatus::Shipped,
                OrderStatus::Delivered,
                OrderStatus::Completed,
            ],
            OrderStatus::Refunded,
            Some(&note),
            by,
        )
        .await?;
        if moved {
            end_subscription(conn, order_id, now).await?;
        }
        if moved && restock == Restock::Yes {
            put_back(conn, order_id, by, now).await?;
        }
    } else {
        repo::event(
            conn,
            order_id,
            event_kind::PARTIAL_REFUND,
            None,
            Some(&note),
            Some(by.name()),
            now,
        )
        .await?;
    }
    Ok(if full {
        Recorded::Full
    } else {
        Recorded::Partial
    })
}

/// Takes back refund `provider_refund_id` of `rail`, which the provider now reports failed after
/// it had succeeded (the money is the shop's again), inside the caller's transaction: what it
/// counted leaves the payment's refunded total, a payment flagged for refund is flagged again,
/// and an order it had moved to `refunded` returns to the status it had before, so the merchant
/// can refund it again. Notes it on the order for the merchant and the customer. Units put back
/// on sale and a subscription ended by the refund stay so (the goods may be back with the shop;
/// the merchant decides).
///
/// Idempotent: a refund unknown here or already taken back answers `None`; otherwise the
/// order's id.
async fn reverse(
    conn: &mut AnyConnection,
    rail: PaymentMethod,
    provider_refund_id: &str,
    by: By<'_>,
) -> Result<Option<i64>> {
    let rail = rail.as_str();
    #[derive(shop_macros::FromRow)]
    struct Row {
        order_id: i64,
        payment_id: i64,
        counted_minor: i64,
        unneeded_payment: i64,
        currency: String,
    }
    let now = db::now();
    // Claiming the row first (only one caller sets failed_at) keeps a replayed notification
    // from taking the money back twice.
    let row = sqlx::query_as::<_, Row>(
        "UPDATE refunds SET failed_at = $1 WHERE rail = $2 AND provider_refund_id = $3 \
         AND failed_at IS NULL \
         RETURNING order_id, payment_id, counted_minor, unneeded_payment, currency",
    )
    .bind(now)
    .bind(rail)
    .bind(provider_refund_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    sqlx::query(
        "UPDATE payments SET refunded_minor = refunded_minor - $1, updated_at = $2, \
         status = CASE WHEN status = 'refunded' AND $1 > 0 THEN 'succeeded' ELSE status END, \
         needs_refund = CASE WHEN $3 <> 0 THEN 1 ELSE needs_refund END \
         WHERE id = $4",
    )
    .bind(row.counted_minor)
    .bind(now)
    .bind(row.unneeded_payment)
    .bind(row.payment_id)
    .execute(&mut *conn)
    .await?;
    let note = format!(
        "{rail} refund {provider_refund_id} of {} {} failed; the money is back with the shop",
        row.counted_minor, row.currency
    );
    if row.unneeded_payment == 0 && row.counted_minor > 0 {
        let before: Option<String> = sqlx::query_scalar(
            "SELECT status FROM order_events WHERE order_id = $1 AND status IS NOT NULL \
             AND status <> 'refunded' ORDER BY id DESC LIMIT 1",
        )
        .bind(row.order_id)
        .fetch_optional(&mut *conn)
        .await?;
        let before = before
            .as_deref()
            .and_then(OrderStatus::parse)
            .filter(|s| {
                matches!(
                    s,
                    OrderStatus::Paid
                        | OrderStatus::Shipped
                        | OrderStatus::Delivered
                        | OrderStatus::Completed
                )
            })
            .unwrap_or(OrderStatus::Paid);
        transition(
            conn,
            row.order_id,
            &[OrderStatus::Refunded],
            before,
            Some(&note),
            by,
        )
        .await?;
    }
    note_failed(conn, row.order_id, &note, by, now).await?;
    Ok(Some(row.order_id))
}

/// Puts on record refund `r` of payment `payment_id`, which failed before it ever succeeded
/// (the admin asked, the provider accepted it as pending, then it failed): nothing was
/// refunded, but the merchant waiting for it and the customer are told, once, and the failed
/// row makes the next refund of this payment a new one (`RefundRequest::failed_refunds`).
/// False when this refund is on record already.
async fn record_failed(
    conn: &mut AnyConnection,
    pay: PaymentOf,
    r: &Refund,
    by: By<'_>,
) -> Result<bool> {
    let PaymentOf {
        payment_id,
        order_id,
        rail,
    } = pay;
    let rail = rail.as_str();
    let now = db::now();
    let row = NewRefund {
        order_id,
        payment_id,
        rail,
        currency: &r.currency,
        counted_minor: 0,
        unneeded_payment: 0,
        failed_at: Some(now),
    };
    if !insert(conn, &row, r, now).await? {
        return Ok(false);
    }
    let note = format!(
        "{rail} refund {} of {} {} failed before it completed; nothing was refunded",
        r.provider_refund_id, r.amount_minor, r.currency
    );
    note_failed(conn, order_id, &note, by, now).await?;
    Ok(true)
}

/// Logs a failed refund and puts it on the order's timeline (`refund_failed`, which the
/// merchant and the customer see).
async fn note_failed(
    conn: &mut AnyConnection,
    order_id: i64,
    note: &str,
    by: By<'_>,
    now: i64,
) -> Result<()> {
    tracing::warn!(order_id, "{note}");
    repo::event(
        conn,
        order_id,
        event_kind::REFUND_FAILED,
        None,
        Some(note),
        Some(by.name()),
        now,
    )
    .await
}

/// A `refunds` row's own columns (the refund's come from [`Refund`]).
struct NewRefund<'a> {
    order_id: i64,
    payment_id: i64,
    rail: &'a str,
    currency: &'a str,
    counted_minor: i64,
    unneeded_payment: i64,
    failed_at: Option<i64>,
}

/// Inserts refund `r` unless `(rail, provider_refund_id)` is on record; true when inserted.
/// ON CONFLICT rather than catching the unique violation: on PostgreSQL a failed statement
/// would abort the caller's whole transaction.
async fn insert(
    conn: &mut AnyConnection,
    row: &NewRefund<'_>,
    r: &Refund,
    now: i64,
) -> Result<bool> {
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO refunds (order_id, payment_id, rail, provider_refund_id, amount_minor, \
         currency, created_at, counted_minor, unneeded_payment, failed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (rail, provider_refund_id) DO NOTHING RETURNING id",
    )
    .bind(row.order_id)
    .bind(row.payment_id)
    .bind(row.rail)
    .bind(&r.provider_refund_id)
    .bind(r.amount_minor)
    .bind(row.currency)
    .bind(now)
    .bind(row.counted_minor)
    .bind(row.unneeded_payment)
    .bind(row.failed_at)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(inserted.is_some())
}

/// Puts a refunded order's units back on sale, once: for the merchant who asked for it while
/// the provider's notification (which never restocks) had already recorded the refund.
/// False when the order is not refunded or was restocked before.
async fn restock_refunded(conn: &mut AnyConnection, order_id: i64, by: By<'_>) -> Result<bool> {
    let refunded = repo::head(conn, order_id)
        .await?
        .is_some_and(|o| o.status == OrderStatus::Refunded);
    let restocked: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM order_events WHERE order_id = $1 AND kind = 'restocked'",
    )
    .bind(order_id)
    .fetch_one(&mut *conn)
    .await?;
    if !refunded || restocked > 0 {
        return Ok(false);
    }
    put_back(conn, order_id, by, db::now()).await?;
    Ok(true)
}

/// Gives the order's units back to free stock and notes it (the note keeps it to once).
async fn put_back(conn: &mut AnyConnection, order_id: i64, by: By<'_>, now: i64) -> Result<()> {
    let lines: Vec<(i64, i64)> = repo::items(conn, order_id)
        .await?
        .into_iter()
        .map(|i| (i.variant_id, i.quantity))
        .collect();
    repo::give_lines(conn, &lines, false).await?;
    repo::event(
        conn,
        order_id,
        event_kind::RESTOCKED,
        None,
        None,
        Some(by.name()),
        now,
    )
    .await
}

/// A refunded order's subscription ends now and does not renew: the customer has their
/// money back, so access stops, and a renewal that still arrives is not taken as extending it.
async fn end_subscription(conn: &mut AnyConnection, order_id: i64, now: i64) -> Result<()> {
    let ended = sqlx::query(
        "UPDATE subscriptions SET expires_at = CASE WHEN expires_at > $1 THEN $1 ELSE expires_at END, \
         canceled = 1, updated_at = $1 WHERE order_id = $2",
    )
    .bind(now)
    .bind(order_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if ended > 0 {
        repo::event(
            conn,
            order_id,
            event_kind::SUBSCRIPTION_ENDED,
            None,
            Some("refunded"),
            None,
            now,
        )
        .await?;
    }
    Ok(())
}
