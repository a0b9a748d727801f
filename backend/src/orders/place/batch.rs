//! PostgreSQL: a whole group of orders in one statement.
//!
//! The group writer hands every order waiting to one transaction; this writes them all with
//! one statement instead of one each. Each statement PostgreSQL runs costs its own executor
//! start, its own trip through the protocol and its own triggers' set-up, and with orders
//! spread over many variants (no row lock to wait for) that per-statement cost was most of an
//! order's database time.
//!
//! The statement takes the stock of every variant the group names (summed per variant), and
//! inserts the orders, their items and their first events only if every line's stock, every
//! customer's cap of unpaid orders (counting the group's own) and every Idempotency-Key held.
//! It is all or nothing: when anything is refused it writes no order, the caller gives the
//! stock back ([`Batch::took`]) and each order then runs its own statement, which says which
//! of them was refused and why. Refusals are rare (a customer at the cap, the last units of a
//! variant, a repeated key), so the common group costs one statement.
//!
//! Each order's id is drawn from the orders' sequence as the statement reads it, so its items
//! and event can name it; a refused group leaves a gap in the ids, as a rolled-back insert
//! does.
//!
//! The rows travel as two JSON documents read by `json_to_recordset`: the statement's text is
//! the same for every group size and every number of lines, so each connection prepares and
//! plans it once. (The shop reaches PostgreSQL through sqlx's `Any` driver, which binds no
//! arrays; one statement text per group size would be planned again for each size.)

use serde::Serialize;
use sqlx::AnyConnection;

use super::NewOrder;
use crate::orders::MAX_OPEN_ORDERS;

/// One order of the group as the statement reads it (`o_in`). `idx` is its place in the
/// group, which the statement answers beside each new order's id.
#[derive(Serialize)]
struct OrderIn<'a> {
    idx: usize,
    customer_id: i64,
    currency: &'a str,
    total_minor: i64,
    payment_method: &'a str,
    contact_json: Option<&'a str>,
    lang: &'a str,
    idempotency_key: Option<&'a str>,
    request_hash: Option<&'a str>,
    expires_at: Option<i64>,
    at: i64,
    pay_ref: Option<&'a str>,
    delivery_fee_minor: i64,
    delivery_json: Option<&'a str>,
    from_cart: bool,
}

/// One line of an order of the group (`l_in`), with the item row it becomes.
#[derive(Serialize)]
struct LineIn<'a> {
    idx: usize,
    variant_id: i64,
    product_id: i64,
    title_json: &'a str,
    sku: &'a str,
    options_json: &'a str,
    kind: &'a str,
    unit_price_minor: i64,
    quantity: i64,
    line_total_minor: i64,
}

/// The group's statement. `$1` the orders ([`OrderIn`]), `$2` their lines ([`LineIn`]), `$3`
/// the cap of unpaid orders per customer. The cap counts through `orders_customer_pending`
/// (checked by a plan test), as every count of a customer's unpaid orders does.
pub const SQL: &str =
    "WITH o_in AS (SELECT x.*, nextval(pg_get_serial_sequence('orders', 'id')) AS id \
     FROM json_to_recordset($1::JSON) AS x (idx BIGINT, \
     customer_id BIGINT, currency TEXT, total_minor BIGINT, payment_method TEXT, \
     contact_json TEXT, lang TEXT, idempotency_key TEXT, request_hash TEXT, expires_at BIGINT, \
     at BIGINT, pay_ref TEXT, delivery_fee_minor BIGINT, delivery_json TEXT, from_cart BOOLEAN)), \
     l_in AS (SELECT * FROM json_to_recordset($2::JSON) AS x (idx BIGINT, variant_id BIGINT, \
     product_id BIGINT, title_json TEXT, sku TEXT, options_json TEXT, kind TEXT, \
     unit_price_minor BIGINT, quantity BIGINT, line_total_minor BIGINT)), \
     need AS (SELECT variant_id, SUM(quantity)::BIGINT AS qty FROM l_in GROUP BY variant_id), \
     s AS (UPDATE variants SET stock = variants.stock - need.qty, \
     reserved = variants.reserved + need.qty FROM need \
     WHERE variants.id = need.variant_id AND variants.archived = 0 \
     AND (variants.stock IS NULL OR variants.stock >= need.qty) \
     RETURNING variants.id, need.qty), \
     ok (ok) AS (SELECT (SELECT COUNT(*) FROM s) = (SELECT COUNT(*) FROM need) \
     AND NOT EXISTS (SELECT 1 FROM (SELECT customer_id, COUNT(*) AS n FROM o_in \
     GROUP BY customer_id) g WHERE g.n + (SELECT COUNT(*) FROM orders \
     WHERE orders.customer_id = g.customer_id AND orders.status = 'pending_payment') > $3) \
     AND NOT EXISTS (SELECT 1 FROM o_in JOIN orders ON orders.customer_id = o_in.customer_id \
     AND orders.idempotency_key = o_in.idempotency_key) \
     AND NOT EXISTS (SELECT 1 FROM o_in WHERE idempotency_key IS NOT NULL \
     GROUP BY customer_id, idempotency_key HAVING COUNT(*) > 1)), \
     o AS (INSERT INTO orders (id, customer_id, status, currency, total_minor, payment_method, \
     contact_json, lang, idempotency_key, request_hash, holds_stock, expires_at, created_at, \
     updated_at, pay_ref, delivery_fee_minor, delivery_json) \
     SELECT id, customer_id, 'pending_payment', currency, total_minor, payment_method, \
     contact_json, lang, idempotency_key, request_hash, 1, expires_at, at, at, pay_ref, \
     delivery_fee_minor, delivery_json FROM o_in WHERE (SELECT ok FROM ok)), \
     i AS (INSERT INTO order_items (order_id, variant_id, product_id, title_json, sku, \
     options_json, kind, unit_price_minor, quantity, line_total_minor) \
     SELECT o_in.id, l_in.variant_id, l_in.product_id, l_in.title_json, l_in.sku, \
     l_in.options_json, l_in.kind, l_in.unit_price_minor, l_in.quantity, l_in.line_total_minor \
     FROM l_in JOIN o_in ON o_in.idx = l_in.idx WHERE (SELECT ok FROM ok)), \
     e AS (INSERT INTO order_events (order_id, kind, status, note, actor, created_at) \
     SELECT id, 'created', 'pending_payment', NULL, 'customer', at FROM o_in \
     WHERE (SELECT ok FROM ok)), \
     c AS (DELETE FROM cart_items WHERE (SELECT ok FROM ok) \
     AND customer_id IN (SELECT customer_id FROM o_in WHERE from_cart)) \
     SELECT (SELECT ok FROM ok) AS ok, \
     (SELECT string_agg(idx::TEXT || ':' || id::TEXT, ',') FROM o_in) AS ids, \
     (SELECT string_agg(id::TEXT || ':' || qty::TEXT, ',') FROM s) AS took";

/// What the group's statement did.
#[derive(Debug, PartialEq, Eq)]
pub enum Batch {
    /// Every order was written: their new ids, in the group's order.
    Written(Vec<i64>),
    /// Something was refused and no order was written; the stock it took, per variant, is to
    /// be given back before the orders run one by one.
    Refused { took: Vec<(i64, i64)> },
}

/// Writes `orders` (a group whose customers' rows are already locked) in one statement.
pub async fn write(conn: &mut AnyConnection, orders: &[&NewOrder]) -> Result<Batch, sqlx::Error> {
    let rows: Vec<OrderIn> = orders
        .iter()
        .enumerate()
        .map(|(idx, o)| OrderIn {
            idx,
            customer_id: o.user.id,
            currency: &o.currency,
            total_minor: o.total,
            payment_method: o.method,
            contact_json: o.contact_json.as_deref(),
            lang: o.lang,
            idempotency_key: o.key.as_deref(),
            request_hash: o.request_hash.as_deref(),
            expires_at: o.expires_at,
            at: o.now,
            pay_ref: o.pay_ref.as_deref(),
            delivery_fee_minor: o.delivery_fee,
            delivery_json: o.delivery_json.as_deref(),
            from_cart: o.from_cart,
        })
        .collect();
    let lines: Vec<LineIn> = orders
        .iter()
        .enumerate()
        .flat_map(|(idx, o)| {
            o.items.iter().map(move |i| LineIn {
                idx,
                variant_id: i.variant_id,
                product_id: i.product_id,
                title_json: &i.title_json,
                sku: &i.sku,
                options_json: &i.options_json,
                kind: &i.kind,
                unit_price_minor: i.unit_price_minor,
                quantity: i.quantity,
                line_total_minor: i.line_total_minor,
            })
        })
        .collect();
    let json = |v: serde_json::Result<String>| v.map_err(|e| sqlx::Error::Encode(e.into()));
    let (rows, lines) = (
        json(serde_json::to_string(&rows))?,
        json(serde_json::to_string(&lines))?,
    );
    let (ok, ids, took): (Option<bool>, Option<String>, Option<String>) = sqlx::query_as(SQL)
        .bind(rows)
        .bind(lines)
        .bind(MAX_OPEN_ORDERS)
        .fetch_one(conn)
        .await?;
    let pairs = |s: Option<String>| -> Vec<(i64, i64)> {
        s.unwrap_or_default()
            .split(',')
            .filter_map(|p| {
                let (a, b) = p.split_once(':')?;
                Some((a.parse().ok()?, b.parse().ok()?))
            })
            .collect()
    };
    if ok != Some(true) {
        let mut took = pairs(took);
        took.sort_unstable();
        return Ok(Batch::Refused { took });
    }
    let mut written = vec![0_i64; orders.len()];
    for (idx, id) in pairs(ids) {
        if let Some(slot) = usize::try_from(idx).ok().and_then(|i| written.get_mut(i)) {
            *slot = id;
        }
    }
    if written.contains(&0) {
        return Err(sqlx::Error::Protocol(
            "the group's order statement left an order without an id".into(),
        ));
    }
    Ok(Batch::Written(written))
}
