//! Promo codes: what a code takes off an order, the checks before an order is placed with
//! one, and the use that order holds (taken in the order's own transaction, given back in the
//! lifecycle's transaction when the order ends unpaid).
//!
//! The rules, chosen once and kept here:
//! - a percent code takes `floor(items' sum × percent / 100)` minor units: never more than
//!   the advertised percent, at most one minor unit less;
//! - a fixed amount applies only to orders in its own currency, as does a minimum total;
//! - the discount is capped so the order still costs the currency's smallest positive amount
//!   (1 minor unit): no rail takes a payment of 0, and a free order would need a way to be
//!   fulfilled without one. A code that would take nothing off (1 % of 50 Stars) does not
//!   apply;
//! - a subscription is not discounted: its renewals charge the same price for ever;
//! - a use is held by an order from the moment it is placed (an `Idempotency-Key` retry
//!   answers the same order, so the same use) and given back when it is cancelled or expires
//!   unpaid; `max_uses` and `max_uses_per_customer` count the uses held.

use shared::{Currency, Money};
use sqlx::AnyConnection;

use crate::db::Db;
use crate::error::{Error, Result};

pub const CODE_MIN: usize = 3;
pub const CODE_MAX: usize = 32;

/// The code as stored: trimmed, upper-case; `None` when it has characters a code never has
/// or a length outside `CODE_MIN..=CODE_MAX`.
pub fn normalise(code: &str) -> Option<String> {
    let c = code.trim().to_ascii_uppercase();
    let ok = (CODE_MIN..=CODE_MAX).contains(&c.len())
        && c.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
    ok.then_some(c)
}

#[derive(Debug, Clone, shop_macros::FromRow)]
pub struct PromoRow {
    pub id: i64,
    pub code: String,
    pub percent_off: Option<i64>,
    pub amount_off_minor: Option<i64>,
    pub amount_off_currency: Option<String>,
    pub min_total_minor: Option<i64>,
    pub min_total_currency: Option<String>,
    pub max_uses: Option<i64>,
    pub max_uses_per_customer: Option<i64>,
    pub uses: i64,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub paused: i64,
    pub created_at: i64,
}

/// A `PromoRow`'s columns, a literal so that each statement is one fixed string (`concat!`).
macro_rules! promo_cols {
    () => {
        "id, code, percent_off, amount_off_minor, amount_off_currency, min_total_minor, \
         min_total_currency, max_uses, max_uses_per_customer, uses, starts_at, ends_at, paused, \
         created_at"
    };
}
pub(crate) use promo_cols;

impl PromoRow {
    pub fn amount_off(&self) -> Option<Money> {
        money(self.amount_off_minor, self.amount_off_currency.as_deref())
    }
    pub fn min_total(&self) -> Option<Money> {
        money(self.min_total_minor, self.min_total_currency.as_deref())
    }
}

fn money(minor: Option<i64>, currency: Option<&str>) -> Option<Money> {
    Some(Money::new(minor?, Currency::new(currency?).ok()?))
}

/// A code that fits an order, and what it takes off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub promo_id: i64,
    pub code: String,
    pub discount_minor: i64,
}

/// 422 `promo_code_invalid`, naming the field, with why.
pub fn invalid(message: impl Into<String>) -> Error {
    Error::Unprocessable {
        code: "promo_code_invalid",
        message: message.into(),
        field: Some("promo_code".into()),
    }
}

/// What `row`'s rule takes off an order of `subtotal` in `currency` (its own rule only; the
/// time window, pause and limits are checked elsewhere).
pub fn discount(row: &PromoRow, currency: &Currency, subtotal: i64) -> Result<i64> {
    let code = &row.code;
    if let Some(min) = row.min_total() {
        if min.currency != *currency {
            return Err(invalid(format!(
                "{code} applies only to orders in {}.",
                min.currency
            )));
        }
        if subtotal < min.amount_minor {
            return Err(invalid(format!(
                "{code} applies to orders of at least {}.",
                min.display()
            )));
        }
    }
    let off = match (row.percent_off, row.amount_off()) {
        (Some(pct), _) => {
            // i128: a large total times 100 does not overflow.
            (subtotal as i128 * pct.clamp(0, 100) as i128 / 100) as i64
        }
        (None, Some(amount)) => {
            if amount.currency != *currency {
                return Err(invalid(format!(
                    "{code} applies only to orders in {}.",
                    amount.currency
                )));
            }
            amount.amount_minor
        }
        (None, None) => 0,
    };
    // The order still costs the smallest positive amount (see the module's rules).
    let off = off.min(subtotal - 1);
    if off <= 0 {
        return Err(invalid(format!("{code} takes nothing off this order.")));
    }
    Ok(off)
}

async fn by_code(db: &Db, code: &str) -> Result<Option<PromoRow>> {
    const SQL: &str = concat!(
        "SELECT ",
        promo_cols!(),
        " FROM promo_codes WHERE code = $1"
    );
    Ok(sqlx::query_as::<_, PromoRow>(SQL)
        .bind(code)
        .fetch_optional(&db.pool)
        .await?)
}

/// Checks `typed` for an order of `customer_id` of `subtotal` in `currency` at `now` and
/// answers what it takes off, or 422 `promo_code_invalid` saying why. Read-only: the use is
/// taken, and every limit checked again, by [`take_use`] inside the order's transaction.
pub async fn check(
    db: &Db,
    typed: &str,
    customer_id: i64,
    currency: &Currency,
    subtotal: i64,
    now: i64,
) -> Result<Applied> {
    let unknown = || invalid("There is no such promo code; check how it is spelled.");
    let code = normalise(typed).ok_or_else(unknown)?;
    let row = by_code(db, &code).await?.ok_or_else(unknown)?;
    if row.paused != 0 {
        return Err(invalid(format!("{code} is paused for now.")));
    }
    if row.starts_at.is_some_and(|s| now < s) {
        return Err(invalid(format!("{code} is not valid yet.")));
    }
    if row.ends_at.is_some_and(|e| now >= e) {
        return Err(invalid(format!("{code} has expired.")));
    }
    if row.max_uses.is_some_and(|m| row.uses >= m) {
        return Err(invalid(format!("{code} has been used up.")));
    }
    if let Some(max) = row.max_uses_per_customer {
        let mine: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM promo_uses WHERE promo_id = $1 AND customer_id = $2 \
             AND released_at IS NULL",
        )
        .bind(row.id)
        .bind(customer_id)
        .fetch_one(&db.pool)
        .await?;
        if mine >= max {
            return Err(invalid(format!(
                "You have used {code} as many times as it allows."
            )));
        }
    }
    let discount_minor = discount(&row, currency, subtotal)?;
    Ok(Applied {
        promo_id: row.id,
        code,
        discount_minor,
    })
}

/// The guard every use is taken under, with `$1` the code, `$2` the customer, `$3` now: the
/// row's own lock (and, on PostgreSQL, the re-check of a row another order changed first)
/// makes two orders racing for the last use take it once. A literal, so that
/// [`take_use_for_order`]'s statement includes it (`concat!`).
macro_rules! take {
    () => {
        "UPDATE promo_codes SET uses = uses + 1, updated_at = $3 \
         WHERE id = $1 AND paused = 0 AND (max_uses IS NULL OR uses < max_uses) \
         AND (starts_at IS NULL OR starts_at <= $3) AND (ends_at IS NULL OR ends_at > $3) \
         AND (max_uses_per_customer IS NULL OR (SELECT COUNT(*) FROM promo_uses \
              WHERE promo_id = $1 AND customer_id = $2 AND released_at IS NULL) < max_uses_per_customer)"
    };
}
const TAKE: &str = take!();

/// Takes one use of `a.promo_id` for a new order, inside that order's transaction: false when
/// the code is paused, out of its window or out of uses (for everyone or this customer) by
/// now. On SQLite call it before the order's row exists and record the order with
/// [`record_use`]; [`give_back_unrecorded`] undoes it if the order is then refused.
pub async fn take_use(
    conn: &mut AnyConnection,
    a: &Applied,
    customer_id: i64,
    now: i64,
) -> Result<bool> {
    let n = sqlx::query(TAKE)
        .bind(a.promo_id)
        .bind(customer_id)
        .bind(now)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Undoes a [`take_use`] whose order was refused afterwards (same transaction).
pub async fn give_back_unrecorded(conn: &mut AnyConnection, a: &Applied) -> Result<()> {
    sqlx::query("UPDATE promo_codes SET uses = uses - 1 WHERE id = $1")
        .bind(a.promo_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records which order holds a use taken by [`take_use`] (the orders row carries the discount
/// and the code from its INSERT).
pub async fn record_use(
    conn: &mut AnyConnection,
    a: &Applied,
    order_id: i64,
    customer_id: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO promo_uses (promo_id, order_id, customer_id, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(a.promo_id)
    .bind(order_id)
    .bind(customer_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// PostgreSQL: takes the use for an order already inserted in this transaction, records it and
/// puts the discount on the order, in one statement. False (nothing written) when the guard
/// refused; the caller rolls the order back.
pub async fn take_use_for_order(
    conn: &mut AnyConnection,
    a: &Applied,
    order_id: i64,
    customer_id: i64,
    now: i64,
) -> Result<bool> {
    const SQL: &str = concat!(
        "WITH p AS (",
        take!(),
        " RETURNING id), \
         u AS (INSERT INTO promo_uses (promo_id, order_id, customer_id, created_at) \
               SELECT id, $4, $2, $3 FROM p) \
         UPDATE orders SET discount_minor = $5, promo_code_id = $1 \
         WHERE id = $4 AND EXISTS (SELECT 1 FROM p)"
    );
    let n = sqlx::query(SQL)
        .bind(a.promo_id)
        .bind(customer_id)
        .bind(now)
        .bind(order_id)
        .bind(a.discount_minor)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Gives back the use `order_id` holds, once (an order ended unpaid). Called by the order
/// lifecycle in the transaction that ends the order.
pub async fn give_back(conn: &mut AnyConnection, order_id: i64, now: i64) -> Result<()> {
    let promo: Option<i64> = sqlx::query_scalar(
        "UPDATE promo_uses SET released_at = $1 WHERE order_id = $2 AND released_at IS NULL \
         RETURNING promo_id",
    )
    .bind(now)
    .bind(order_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = promo {
        sqlx::query("UPDATE promo_codes SET uses = uses - 1, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// The inverse of [`give_back`], for an order paid after it ended unpaid and sold after all.
pub async fn hold_again(conn: &mut AnyConnection, order_id: i64, now: i64) -> Result<()> {
    let promo: Option<i64> = sqlx::query_scalar(
        "UPDATE promo_uses SET released_at = NULL WHERE order_id = $1 \
         AND released_at IS NOT NULL RETURNING promo_id",
    )
    .bind(order_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = promo {
        sqlx::query("UPDATE promo_codes SET uses = uses + 1, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(conn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pct: Option<i64>, off: Option<(i64, &str)>, min: Option<(i64, &str)>) -> PromoRow {
        PromoRow {
            id: 1,
            code: "X".into(),
            percent_off: pct,
            amount_off_minor: off.map(|o| o.0),
            amount_off_currency: off.map(|o| o.1.into()),
            min_total_minor: min.map(|m| m.0),
            min_total_currency: min.map(|m| m.1.into()),
            max_uses: None,
            max_uses_per_customer: None,
            uses: 0,
            starts_at: None,
            ends_at: None,
            paused: 0,
            created_at: 0,
        }
    }

    #[test]
    fn percent_rounds_down_and_the_order_keeps_a_price() {
        let uzs = Currency::new("UZS").unwrap();
        assert_eq!(discount(&row(Some(10), None, None), &uzs, 999).unwrap(), 99);
        assert_eq!(
            discount(&row(Some(100), None, None), &uzs, 500).unwrap(),
            499
        );
        assert!(discount(&row(Some(1), None, None), &uzs, 50).is_err());
        assert_eq!(
            discount(&row(Some(50), None, None), &uzs, i64::MAX).unwrap(),
            i64::MAX / 2
        );
    }

    #[test]
    fn amounts_apply_in_their_own_currency_only() {
        let uzs = Currency::new("UZS").unwrap();
        let usd = Currency::new("USD").unwrap();
        let r = row(None, Some((500, "UZS")), Some((1000, "UZS")));
        assert_eq!(discount(&r, &uzs, 1000).unwrap(), 500);
        assert!(discount(&r, &uzs, 999).is_err(), "below min_total");
        assert!(discount(&r, &usd, 5000).is_err(), "another currency");
        assert_eq!(
            discount(&row(None, Some((5000, "UZS")), None), &uzs, 300).unwrap(),
            299
        );
    }

    #[test]
    fn codes_are_case_insensitive_and_bounded() {
        assert_eq!(normalise(" spring-10 ").as_deref(), Some("SPRING-10"));
        assert_eq!(normalise("ab"), None);
        assert_eq!(normalise("has space"), None);
        assert_eq!(normalise("ÄBC"), None);
        assert_eq!(normalise(&"A".repeat(33)), None);
    }
}
