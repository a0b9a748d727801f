//! What a transfer into the merchant's wallet does, exactly once.
//!
//! Each transfer is one row of `ton_transfers`, unique on (asset, transaction hash): the row
//! is inserted in the same write transaction as everything the transfer changes, so however
//! often the indexer lists it (a restart, overlapping pages, two processes) it counts once.
//!
//! A transfer whose comment is an order's reference is checked against that order:
//! - the wrong asset (USDT for a TON order, or the other way round), or an order that is no
//!   longer waiting (paid, expired, cancelled): recorded as a payment flagged for refund;
//! - less than what is still missing: counted (`partial`), the order keeps waiting and the
//!   buyer is told what is missing;
//! - enough, with what came before: the order is paid through the lifecycle (amount = the
//!   total), and any excess is a separate payment flagged for refund.
//!
//! A transfer whose comment names no order stays `unmatched` until the merchant attaches it.

use shared::{event_kind, OrderStatus, PaymentMethod};
use sqlx::AnyConnection;

use super::toncenter::Incoming;
use crate::db;
use crate::error::Result;
use crate::notify::Notice;
use crate::orders::lifecycle::{self, Outcome, PaymentSuccess, Shop};
use crate::orders::repo;

/// What one transfer came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credited {
    /// Counted before: nothing changed.
    Seen,
    /// Its comment names no TON order.
    Unmatched,
    /// Counted towards the order, which still misses `missing_minor`.
    Partial { order_id: i64, missing_minor: i64 },
    /// It completed the order's payment.
    Paid { order_id: i64 },
    /// The order could not take it: flagged for the merchant to return.
    Flagged { order_id: i64 },
}

/// Counts an incoming transfer once; tells the buyer after the commit.
pub async fn credit(shop: &dyn Shop, inc: &Incoming) -> Result<Credited> {
    let mut tx = shop.db().begin_write().await?;
    let now = db::now();
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO ton_transfers (asset, tx_hash, lt, sender, amount_minor, comment, state, \
         chain_time, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'unmatched', $7, $8, $8) \
         ON CONFLICT (asset, tx_hash) DO NOTHING RETURNING id",
    )
    .bind(inc.asset.code())
    .bind(&inc.tx_hash)
    .bind(inc.lt)
    .bind(inc.sender.as_deref())
    .bind(inc.amount_minor)
    .bind(inc.comment.as_deref())
    .bind(inc.chain_time)
    .bind(now)
    .fetch_optional(tx.conn())
    .await?;
    let Some(id) = id else {
        return Ok(Credited::Seen);
    };
    let order_id = match inc.comment.as_deref() {
        Some(c) => order_of_reference(tx.conn(), c).await?,
        None => None,
    };
    let done = match order_id {
        Some(order_id) => apply(tx.conn(), id, order_id).await?,
        None => {
            tracing::warn!(
                asset = inc.asset.code(),
                amount = inc.amount_minor,
                "TON transfer with no order's comment; listed for the merchant"
            );
            Credited::Unmatched
        }
    };
    tx.commit().await?;
    after(shop, done);
    Ok(done)
}

/// The customer's notice and the catalog bump for what committed.
pub fn after(shop: &dyn Shop, done: Credited) {
    match done {
        Credited::Paid { order_id } => {
            shop.catalog_changed();
            shop.notify(order_id, Notice::Paid);
        }
        Credited::Partial { order_id, .. } => shop.notify(order_id, Notice::Underpaid),
        _ => {}
    }
}

/// The TON order whose reference is `comment`, or is a word of it (a buyer who wrote
/// "order 3f9c…"). References are lower-case hex; a wallet that changed the case still names
/// the same order.
async fn order_of_reference(conn: &mut AnyConnection, comment: &str) -> Result<Option<i64>> {
    let c = comment.trim().to_ascii_lowercase();
    let words = c
        .split(|ch: char| !ch.is_ascii_alphanumeric())
        .filter(|w| w.len() == REF_LEN && w.bytes().all(|b| b.is_ascii_hexdigit()));
    for candidate in std::iter::once(c.as_str()).chain(words).take(8) {
        if candidate.is_empty() || candidate.len() > 64 {
            continue;
        }
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM orders WHERE pay_ref = $1 AND payment_method = 'ton'",
        )
        .bind(candidate)
        .fetch_optional(&mut *conn)
        .await?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// The length of a reference (`rails::new_pay_ref`: 12 random bytes in hex).
const REF_LEN: usize = 24;

#[derive(shop_macros::FromRow)]
struct Transfer {
    asset: String,
    tx_hash: String,
    amount_minor: i64,
}

/// Applies transfer `id` (already in `ton_transfers`, not yet counted anywhere) to order
/// `order_id`, inside the caller's transaction.
pub async fn apply(conn: &mut AnyConnection, id: i64, order_id: i64) -> Result<Credited> {
    let now = db::now();
    // Lock the order's row first (PostgreSQL), so two transfers for one order add up one
    // after the other even if two processes were reading the wallet.
    sqlx::query("UPDATE orders SET updated_at = updated_at WHERE id = $1")
        .bind(order_id)
        .execute(&mut *conn)
        .await?;
    let t = sqlx::query_as::<_, Transfer>(
        "SELECT asset, tx_hash, amount_minor FROM ton_transfers WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let order = repo::head(conn, order_id)
        .await?
        .ok_or_else(|| crate::error::Error::not_found("order"))?;
    let success = |provider_payment_id: String, amount_minor: i64, raw: String| PaymentSuccess {
        order_id,
        rail: PaymentMethod::Ton,
        provider_payment_id,
        amount_minor,
        currency: t.asset.clone(),
        raw: Some(raw),
    };
    let raw = format!("{} {} {}", t.asset, t.amount_minor, t.tx_hash);

    let refusal = if order.currency != t.asset {
        Some((
            event_kind::PAYMENT_MISMATCH,
            format!(
                "ton: {} {} sent to an order priced in {}",
                t.amount_minor, t.asset, order.currency
            ),
        ))
    } else if order.status != OrderStatus::PendingPayment {
        let kind = if matches!(order.status, OrderStatus::Expired | OrderStatus::Cancelled) {
            event_kind::PAYMENT_NEEDS_REFUND
        } else {
            event_kind::DUPLICATE_PAYMENT
        };
        Some((
            kind,
            format!(
                "ton: {} {} arrived for an order that is already {}",
                t.amount_minor,
                t.asset,
                order.status.as_str()
            ),
        ))
    } else {
        None
    };
    if let Some((kind, note)) = refusal {
        lifecycle::record_unneeded(
            conn,
            &success(t.tx_hash.clone(), t.amount_minor, raw),
            kind,
            &note,
        )
        .await?;
        mark(
            conn,
            id,
            order_id,
            "flagged",
            Some(&note),
            Some(&t.tx_hash),
            now,
        )
        .await?;
        return Ok(Credited::Flagged { order_id });
    }

    let before: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(SUM(amount_minor) AS BIGINT) FROM ton_transfers \
         WHERE order_id = $1 AND state = 'partial' AND asset = $2",
    )
    .bind(order_id)
    .bind(&t.asset)
    .fetch_one(&mut *conn)
    .await?;
    let received = before.unwrap_or(0).saturating_add(t.amount_minor);
    if received < order.total_minor {
        let missing = order.total_minor - received;
        let note = format!(
            "received {received} of {} {}; {missing} missing",
            order.total_minor, t.asset
        );
        mark(conn, id, order_id, "partial", Some(&note), None, now).await?;
        repo::event(
            conn,
            order_id,
            event_kind::UNDERPAID,
            None,
            Some(&note),
            Some("ton"),
            now,
        )
        .await?;
        return Ok(Credited::Partial {
            order_id,
            missing_minor: missing,
        });
    }

    let outcome = lifecycle::record_payment(
        conn,
        &success(
            t.tx_hash.clone(),
            order.total_minor,
            format!("{raw} (with earlier part-payments: {received} in all)"),
        ),
    )
    .await?;
    if outcome != Outcome::Fulfilled {
        // The order stopped waiting within this transaction's view (an expiry that won the
        // race): the lifecycle flagged the payment; the earlier parts are flagged by the
        // next sweep.
        mark(
            conn,
            id,
            order_id,
            "flagged",
            Some("the order could not take it"),
            Some(&t.tx_hash),
            now,
        )
        .await?;
        return Ok(Credited::Flagged { order_id });
    }
    sqlx::query(
        "UPDATE ton_transfers SET state = 'paid', payment_ref = $1, updated_at = $2 \
         WHERE order_id = $3 AND state = 'partial' AND asset = $4",
    )
    .bind(&t.tx_hash)
    .bind(now)
    .bind(order_id)
    .bind(&t.asset)
    .execute(&mut *conn)
    .await?;
    mark(conn, id, order_id, "paid", None, Some(&t.tx_hash), now).await?;
    let excess = received - order.total_minor;
    if excess > 0 {
        let note = format!(
            "ton: received {received} {} for a total of {}; {excess} to return",
            t.asset, order.total_minor
        );
        lifecycle::record_unneeded(
            conn,
            &success(excess_id(&t.tx_hash), excess, raw),
            event_kind::OVERPAID,
            &note,
        )
        .await?;
        sqlx::query("UPDATE ton_transfers SET note = $1 WHERE id = $2")
            .bind(&note)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(Credited::Paid { order_id })
}

/// The provider payment id of an overpayment's excess (the transfer's own id is its payment).
pub fn excess_id(tx_hash: &str) -> String {
    format!("{tx_hash}:excess")
}

async fn mark(
    conn: &mut AnyConnection,
    id: i64,
    order_id: i64,
    state: &str,
    note: Option<&str>,
    payment_ref: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE ton_transfers SET order_id = $1, state = $2, note = $3, payment_ref = $4, \
         updated_at = $5 WHERE id = $6",
    )
    .bind(order_id)
    .bind(state)
    .bind(note)
    .bind(payment_ref)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Part-payments of orders that stopped waiting (expired or cancelled before the rest came):
/// each becomes a payment flagged for refund, once. Answers how many.
pub async fn sweep_stranded(shop: &dyn Shop) -> Result<usize> {
    #[derive(shop_macros::FromRow)]
    struct Row {
        id: i64,
        order_id: i64,
        status: String,
    }
    let rows = sqlx::query_as::<_, Row>(
        "SELECT t.id, t.order_id, o.status FROM ton_transfers t JOIN orders o ON o.id = t.order_id \
         WHERE t.state = 'partial' AND o.status <> 'pending_payment' ORDER BY t.id LIMIT 200",
    )
    .fetch_all(&shop.db().pool)
    .await?;
    let mut n = 0;
    for r in rows {
        let mut tx = shop.db().begin_write().await?;
        let now = db::now();
        let t = sqlx::query_as::<_, Transfer>(
            "SELECT asset, tx_hash, amount_minor FROM ton_transfers WHERE id = $1 AND state = 'partial'",
        )
        .bind(r.id)
        .fetch_optional(tx.conn())
        .await?;
        let Some(t) = t else { continue };
        let note = format!(
            "ton: part-payment of {} {} for an order that is {}",
            t.amount_minor, t.asset, r.status
        );
        lifecycle::record_unneeded(
            tx.conn(),
            &PaymentSuccess {
                order_id: r.order_id,
                rail: PaymentMethod::Ton,
                provider_payment_id: t.tx_hash.clone(),
                amount_minor: t.amount_minor,
                currency: t.asset.clone(),
                raw: Some(format!("{} {} {}", t.asset, t.amount_minor, t.tx_hash)),
            },
            event_kind::PAYMENT_NEEDS_REFUND,
            &note,
        )
        .await?;
        mark(
            tx.conn(),
            r.id,
            r.order_id,
            "flagged",
            Some(&note),
            Some(&t.tx_hash),
            now,
        )
        .await?;
        tx.commit().await?;
        n += 1;
    }
    Ok(n)
}
