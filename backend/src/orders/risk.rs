//! Orders to look at: simple rules that flag an order for the merchant when it is placed.
//!
//! A flag never refuses a customer: it puts the reason on the order (the admin lists and
//! filters flagged orders), and a flagged cash order (goods handed over before any money) is
//! not shipped or delivered until the merchant confirms it ([`hold`], [`confirm`]). Paid
//! orders are only marked: their money has already arrived through a verified rail.
//!
//! The rules read a handful of rows; they run after the order's answer is on its way
//! ([`Assessor`], in batches), so a checkout never waits for them.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use shared::{OrderRisk, PaymentMethod};
use sqlx::AnyConnection;
use tokio::sync::mpsc;

use super::lifecycle::AuditTrail;
use crate::db::{self, Db};
use crate::error::{Error, Result};

/// Failed payments by one customer within [`FAILED_WINDOW_SECS`] that flag their next order.
pub const FAILED_PAYMENTS: i64 = 3;
pub const FAILED_WINDOW_SECS: i64 = 3600;
/// A customer's first order above this many times the shop's average paid order (in the
/// same currency) is flagged, once the shop has [`AVERAGE_AFTER`] paid orders to average.
pub const ABOVE_AVERAGE: i64 = 5;
pub const AVERAGE_AFTER: i64 = 5;
/// The average is taken over the latest this many paid orders in the currency: what the shop
/// sells now, and a bounded read (the index `orders_paid`), where an average over every order
/// ever paid would read the whole table for each new customer's order.
pub const AVERAGE_OVER: i64 = 1000;
/// Orders by one customer to this many different addresses within [`ADDRESS_WINDOW_SECS`].
pub const ADDRESSES: usize = 3;
pub const ADDRESS_WINDOW_SECS: i64 = 24 * 3600;
/// The most recent contacts of a customer that the address rule reads.
const CONTACTS_READ: i64 = 50;
/// Between the contacts [`ASSESS_SQL`] joins into one text: JSON writes this control
/// character escaped (`\u001e`), so it never occurs inside a contact.
const CONTACT_SEPARATOR: &str = "\u{1e}";

/// Everything the rules read about orders, in one statement for a batch of them (placing an
/// order used to start five reads of its own): each one's customer's failed payments within
/// the window, whether they ordered before, the shop's average over the latest
/// [`AVERAGE_OVER`] paid orders in its currency (first orders only, through the index
/// `orders_paid`) and recent contacts. Binds [`FAILED_WINDOW_SECS`], [`AVERAGE_OVER`],
/// [`AVERAGE_AFTER`], [`ADDRESS_WINDOW_SECS`], [`CONTACTS_READ`], [`CONTACT_SEPARATOR`], then
/// the orders' ids ([`assess_sql`] ends it). Only what came before each order counts.
const ASSESS_HEAD: &str = "SELECT a.id, a.total_minor, a.failed, a.ordered_before, \
     CASE WHEN a.ordered_before = 0 THEN (SELECT CASE WHEN COUNT(*) >= $3 \
       THEN CAST(SUM(latest.total_minor) AS BIGINT) / COUNT(*) END \
       FROM (SELECT total_minor FROM orders WHERE currency = a.currency AND paid_at IS NOT NULL \
             AND id <> a.id ORDER BY paid_at DESC LIMIT $2) latest) END AS average, \
     (SELECT string_agg(recent.contact_json, $6) FROM (SELECT contact_json FROM orders \
       WHERE customer_id = a.customer_id AND created_at >= a.created_at - $4 AND id <= a.id \
       AND contact_json IS NOT NULL ORDER BY id DESC LIMIT $5) recent) AS contacts \
     FROM (SELECT o.id, o.customer_id, o.currency, o.total_minor, o.created_at, \
       (SELECT COUNT(*) FROM order_events e JOIN orders p ON p.id = e.order_id \
        WHERE p.customer_id = o.customer_id AND p.id < o.id AND e.kind = 'payment_failed' \
        AND e.created_at >= o.created_at - $1) AS failed, \
       CASE WHEN EXISTS (SELECT 1 FROM orders p WHERE p.customer_id = o.customer_id \
       AND p.id < o.id) THEN 1 ELSE 0 END AS ordered_before \
       FROM orders o WHERE o.id IN ";

/// The values [`ASSESS_HEAD`] binds before the ids.
const ASSESS_PARAMS: usize = 6;

/// The assessment's read for `n` orders; public so a test can check its plan.
pub fn assess_sql(n: usize) -> String {
    [
        ASSESS_HEAD,
        "(",
        &db::sql::placeholder_list(ASSESS_PARAMS + 1, n),
        ")) a",
    ]
    .concat()
}

/// The values [`assess_sql`] binds for these orders.
pub fn assess_args(order_ids: &[i64]) -> sqlx::any::AnyArguments<'static> {
    use sqlx::Arguments;
    let mut args = sqlx::any::AnyArguments::default();
    // Integers and text always encode into `Any`'s buffer.
    let mut encoded = args
        .add(FAILED_WINDOW_SECS)
        .and_then(|()| args.add(AVERAGE_OVER))
        .and_then(|()| args.add(AVERAGE_AFTER))
        .and_then(|()| args.add(ADDRESS_WINDOW_SECS))
        .and_then(|()| args.add(CONTACTS_READ))
        .and_then(|()| args.add(CONTACT_SEPARATOR));
    for id in order_ids {
        encoded = encoded.and_then(|()| args.add(*id));
    }
    encoded.expect("Any encodes integers and text");
    args
}

/// How many orders one background read assesses at most.
const BATCH: usize = 64;

/// The lengths of id list the read is sent with: a batch's ids are padded to the next one by
/// repeating the last (`IN` counts an id once). Each length is its own statement, which
/// PostgreSQL plans again and again on each connection until it settles on a generic plan;
/// with a length per batch size, planning the read cost more than running it.
const LIST_LENGTHS: [usize; 4] = [1, 4, 16, BATCH];

fn padded(order_ids: &[i64]) -> Vec<i64> {
    let want = LIST_LENGTHS
        .into_iter()
        .find(|n| *n >= order_ids.len())
        .unwrap_or(order_ids.len());
    let mut ids = order_ids.to_vec();
    if let Some(last) = order_ids.last() {
        ids.resize(want, *last);
    }
    ids
}

/// Assesses newly placed orders in the background, in batches: one task per shop takes every
/// order queued since its last read and reads their facts in one statement, so a busy
/// checkout costs the database one read per batch here, not one per order. A failure is
/// logged, never the customer's problem.
#[derive(Clone, Default)]
pub struct Assessor(Arc<OnceLock<mpsc::Sender<i64>>>);

impl Assessor {
    pub fn later(&self, db: &Db, order_id: i64) {
        let queue = self.0.get_or_init(|| {
            let (tx, rx) = mpsc::channel(4096);
            // The task ends when the last `Assessor` (the shop's state) is gone.
            tokio::spawn(assess_queued(db.clone(), rx));
            tx
        });
        if queue.try_send(order_id).is_err() {
            // Queue full (or its task gone): this order is assessed on its own.
            let db = db.clone();
            tokio::spawn(async move { log_failure(assess_many(&db, &[order_id]).await) });
        }
    }
}

async fn assess_queued(db: Db, mut rx: mpsc::Receiver<i64>) {
    let mut ids = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut ids, BATCH).await > 0 {
        log_failure(assess_many(&db, &ids).await);
        ids.clear();
    }
}

fn log_failure<T>(r: Result<T>) {
    if let Err(e) = r {
        tracing::warn!(error = %e, "order risk: assessment failed");
    }
}

/// Applies the rules to an order and stores the reasons (none: nothing is written).
/// Answers the reason stored, if any. Only what came before the order counts (it may be
/// assessed after later orders were placed).
pub async fn assess(db: &Db, order_id: i64) -> Result<Option<String>> {
    Ok(assess_many(db, &[order_id])
        .await?
        .into_iter()
        .next()
        .and_then(|(_, reason)| reason))
}

/// [`assess`] for several orders with one read, and their flags in one write.
async fn assess_many(db: &Db, order_ids: &[i64]) -> Result<Vec<(i64, Option<String>)>> {
    #[derive(shop_macros::FromRow)]
    struct Facts {
        id: i64,
        total_minor: i64,
        failed: i64,
        /// 1 when the customer ordered before, else 0.
        ordered_before: i64,
        /// The shop's average paid order, for a first order once there are enough to average.
        average: Option<i64>,
        contacts: Option<String>,
    }
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = padded(order_ids);
    let sql = assess_sql(ids.len());
    let facts = sqlx::query_as_with::<_, Facts, _>(&sql, assess_args(&ids))
        .fetch_all(&db.pool)
        .await?;
    let found: Vec<(i64, Option<String>)> = facts
        .iter()
        .map(|o| {
            let mut reasons = Vec::new();
            if o.failed >= FAILED_PAYMENTS {
                reasons.push(format!("{} failed payments within an hour", o.failed));
            }
            if o.ordered_before == 0 {
                if let Some(average) = o.average {
                    if average > 0 && o.total_minor > average.saturating_mul(ABOVE_AVERAGE) {
                        reasons.push(format!(
                            "a first order {}× the shop's average",
                            o.total_minor / average
                        ));
                    }
                }
            }
            let addresses: BTreeSet<String> = o
                .contacts
                .as_deref()
                .unwrap_or_default()
                .split(CONTACT_SEPARATOR)
                .filter_map(|j| serde_json::from_str::<shared::Contact>(j).ok())
                .map(|c| normalise(&c.address))
                .filter(|a| !a.is_empty())
                .collect();
            if addresses.len() >= ADDRESSES {
                reasons.push(format!(
                    "orders to {} different addresses within a day",
                    addresses.len()
                ));
            }
            (o.id, (!reasons.is_empty()).then(|| reasons.join("; ")))
        })
        .collect();
    if found.iter().all(|(_, r)| r.is_none()) {
        return Ok(found);
    }
    let mut tx = db.begin_write().await?;
    let now = db::now();
    for (order_id, reason) in &found {
        let Some(reason) = reason else { continue };
        sqlx::query("UPDATE orders SET risk_reason = $1 WHERE id = $2")
            .bind(reason)
            .bind(order_id)
            .execute(tx.conn())
            .await?;
        super::repo::event(
            tx.conn(),
            *order_id,
            shared::event_kind::FLAGGED,
            None,
            Some(reason),
            Some("shop"),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(found)
}

/// One address however it is spaced or capitalised.
fn normalise(address: &str) -> String {
    address
        .split(|c: char| c.is_whitespace() || c == ',' || c == '.')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The flag of each of these orders (admin answers).
pub async fn of(db: &Db, ids: &[i64]) -> Result<Vec<(i64, OrderRisk)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = db::SqlBuilder::new(
        "SELECT id, risk_reason, risk_confirmed_at FROM orders \
         WHERE risk_reason IS NOT NULL AND id IN (",
    );
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.push_bind(*id);
    }
    q.push(")");
    let rows: Vec<(i64, String, Option<i64>)> = q.build_query_as().fetch_all(&db.pool).await?;
    Ok(rows
        .into_iter()
        .map(|(id, reason, confirmed_at)| {
            (
                id,
                OrderRisk {
                    reason,
                    confirmed_at,
                },
            )
        })
        .collect())
}

/// Refuses to hand over a flagged cash order the merchant has not confirmed. Called inside
/// the ship / deliver transaction, so a confirmation and a shipment cannot cross.
pub async fn hold(conn: &mut AnyConnection, order_id: i64, method: PaymentMethod) -> Result<()> {
    if method != PaymentMethod::Cash {
        return Ok(());
    }
    let reason: Option<String> = sqlx::query_scalar(
        "SELECT risk_reason FROM orders WHERE id = $1 AND risk_reason IS NOT NULL \
         AND risk_confirmed_at IS NULL",
    )
    .bind(order_id)
    .fetch_optional(&mut *conn)
    .await?;
    match reason {
        None => Ok(()),
        Some(r) => Err(Error::conflict(
            "risk_unconfirmed",
            format!(
                "Order {order_id} is flagged ({r}). Check it with the customer, then confirm it \
                 before it is shipped or delivered."
            ),
        )),
    }
}

/// The merchant confirms a flagged order; false when it was not flagged or already confirmed.
pub async fn confirm(db: &Db, order_id: i64, by: &dyn AuditTrail) -> Result<bool> {
    let mut tx = db.begin_write().await?;
    let now = db::now();
    let n = sqlx::query(
        "UPDATE orders SET risk_confirmed_at = $1 WHERE id = $2 AND risk_reason IS NOT NULL \
         AND risk_confirmed_at IS NULL",
    )
    .bind(now)
    .bind(order_id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 1 {
        let actor = by.email().to_string();
        super::repo::event(
            tx.conn(),
            order_id,
            shared::event_kind::CONFIRMED,
            None,
            None,
            Some(&actor),
            now,
        )
        .await?;
        by.record(
            tx.conn(),
            "confirm",
            order_id,
            serde_json::json!({"risk_confirmed": false}),
            serde_json::json!({"risk_confirmed": true}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::{normalise, padded, BATCH};

    #[test]
    fn a_batch_is_read_with_one_of_four_list_lengths() {
        assert_eq!(padded(&[7]), vec![7]);
        assert_eq!(padded(&[7, 8]), vec![7, 8, 8, 8]);
        assert_eq!(padded(&(1..=5).collect::<Vec<_>>()).len(), 16);
        let full: Vec<i64> = (1..=BATCH as i64).collect();
        assert_eq!(padded(&full), full);
        assert_eq!(padded(&[]), Vec::<i64>::new());
        // Every id of the batch is still read.
        let some: Vec<i64> = (1..=17).collect();
        let p = padded(&some);
        assert_eq!(p.len(), BATCH);
        assert!(some.iter().all(|id| p.contains(id)));
    }

    #[test]
    fn one_address_however_it_is_written() {
        assert_eq!(
            normalise("Tashkent,  Amir Temur 1."),
            normalise("tashkent amir temur 1")
        );
        assert_ne!(normalise("Amir Temur 1"), normalise("Amir Temur 2"));
    }
}
