//! The merchant dashboard: revenue per day per currency, orders created vs paid, best
//! sellers and low stock over a range of UTC days.
//!
//! Days are cut from unix seconds in Rust, not with date functions in SQL, so SQLite and
//! PostgreSQL answer identically. Revenue is what the shop kept: each applied payment
//! (`needs_refund = 0`) minus what was refunded from it, counted on the day its order was
//! paid (`orders.paid_at`). A refund therefore lowers the day of the sale, not the day of the
//! refund, so no day goes below zero; a refund that failed later no longer counts (it left
//! `refunded_minor` again, see `payments::refund::reverse`). Booking refunds on their own day
//! would use `refunds.created_at` and `counted_minor`, and a chart that can go below zero.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use shared::admin::{Dashboard, DayOrders, DayRevenue, LowStock, TopProduct};
use shared::{Currency, Money};
use time::{Date, Duration, OffsetDateTime};

use super::auth::Admin;
use crate::catalog::repo::texts;
use crate::db::Db;
use crate::error::{AppJson, AppQuery, Error, Result};
use crate::state::AppState;

/// A year and a leap day: enough for year-on-year views, small enough to answer quickly.
pub const MAX_DAYS: i64 = 366;
const DEFAULT_DAYS: i64 = 30;
const DEFAULT_LOW_STOCK: i64 = 5;
const TOP_N: usize = 10;
const LOW_STOCK_ROWS: i64 = 100;
const DAY: i64 = 86_400;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/admin/dashboard", get(dashboard))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Query {
    from: Option<String>,
    to: Option<String>,
    low_stock: Option<i64>,
}

const DAY_FORMAT: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

fn parse_day(s: &str, field: &str) -> Result<Date> {
    Date::parse(s.trim(), DAY_FORMAT).map_err(|_| {
        Error::field(
            "invalid_date",
            field,
            format!("'{s}' is not a date: write it as YYYY-MM-DD, for example 2026-01-31."),
        )
    })
}

fn day_string(d: Date) -> String {
    d.format(DAY_FORMAT).unwrap_or_default()
}

/// Unix seconds at 00:00 UTC of `d`.
fn midnight(d: Date) -> i64 {
    d.midnight().assume_utc().unix_timestamp()
}

/// The UTC day a unix time falls on, as an index from the start of the range.
fn day_index(t: i64, start: i64) -> usize {
    ((t - start).div_euclid(DAY)).max(0) as usize
}

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// Validated `[from, to]` (both inclusive) and the threshold.
fn range(q: &Query) -> Result<(Date, Date)> {
    let to = match q.to.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => parse_day(s, "to")?,
        None => today(),
    };
    let from = match q.from.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => parse_day(s, "from")?,
        None => to - Duration::days(DEFAULT_DAYS - 1),
    };
    if from > to {
        return Err(Error::field(
            "invalid_range",
            "from",
            "The start date is after the end date.",
        ));
    }
    let days = (to - from).whole_days() + 1;
    if days > MAX_DAYS {
        return Err(Error::field(
            "range_too_long",
            "to",
            format!("Choose at most {MAX_DAYS} days ({days} asked)."),
        ));
    }
    Ok((from, to))
}

#[utoipa::path(get, path = "/api/admin/dashboard", tag = "admin", security(("admin_session" = [])),
    params(Query),
    responses((status = 200, description = "Revenue, orders, best sellers and low stock over the range.", body = Dashboard)))]
async fn dashboard(
    State(db): State<Db>,
    _admin: Admin,
    AppQuery(q): AppQuery<Query>,
) -> Result<AppJson<Dashboard>> {
    let (from, to) = range(&q)?;
    let threshold = q.low_stock.unwrap_or(DEFAULT_LOW_STOCK);
    if !(0..=1_000_000_000).contains(&threshold) {
        return Err(Error::field(
            "invalid_low_stock",
            "low_stock",
            "The low-stock threshold is a whole number from 0.",
        ));
    }
    let start = midnight(from);
    let end = midnight(to) + DAY;
    let n_days = day_index(end - 1, start) + 1;
    let pool = &db.pool;

    // Orders created and paid per day, zero days included.
    let mut orders: Vec<DayOrders> = (0..n_days)
        .map(|i| DayOrders {
            day: day_string(from + Duration::days(i as i64)),
            created: 0,
            paid: 0,
        })
        .collect();
    let created: Vec<i64> = sqlx::query_scalar(
        "SELECT created_at FROM orders WHERE created_at >= $1 AND created_at < $2",
    )
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await?;
    for t in created {
        orders[day_index(t, start)].created += 1;
    }
    let paid: Vec<i64> =
        sqlx::query_scalar("SELECT paid_at FROM orders WHERE paid_at >= $1 AND paid_at < $2")
            .bind(start)
            .bind(end)
            .fetch_all(pool)
            .await?;
    for t in paid {
        orders[day_index(t, start)].paid += 1;
    }

    // Revenue net of refunds, per day of payment and currency.
    let pays: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT o.paid_at, p.currency, p.amount_minor - p.refunded_minor FROM payments p \
         JOIN orders o ON o.id = p.order_id \
         WHERE o.paid_at >= $1 AND o.paid_at < $2 AND p.needs_refund = 0",
    )
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await?;
    let mut by_day: BTreeMap<(usize, String), i64> = BTreeMap::new();
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    for (t, cur, net) in pays {
        *by_day
            .entry((day_index(t, start), cur.clone()))
            .or_default() += net;
        *totals.entry(cur).or_default() += net;
    }
    let revenue = by_day
        .into_iter()
        .filter(|(_, a)| *a != 0)
        .map(|((i, currency), amount_minor)| DayRevenue {
            day: day_string(from + Duration::days(i as i64)),
            currency,
            amount_minor,
        })
        .collect();
    let totals = totals
        .into_iter()
        .filter(|(_, a)| *a != 0)
        .map(|(c, a)| money(&c, a))
        .collect::<Result<Vec<_>>>()?;

    // Best sellers: units of orders paid in the range that were not refunded in full.
    let lines: Vec<(i64, String, i64, i64)> = sqlx::query_as(
        "SELECT i.product_id, o.currency, CAST(SUM(i.quantity) AS BIGINT), \
         CAST(SUM(i.line_total_minor) AS BIGINT) \
         FROM order_items i JOIN orders o ON o.id = i.order_id \
         WHERE o.paid_at >= $1 AND o.paid_at < $2 AND o.status <> 'refunded' \
         GROUP BY i.product_id, o.currency",
    )
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await?;
    let mut per_product: BTreeMap<i64, (i64, Vec<Money>)> = BTreeMap::new();
    for (pid, cur, qty, amount) in lines {
        let e = per_product.entry(pid).or_default();
        e.0 += qty;
        e.1.push(money(&cur, amount)?);
    }
    let mut ranked: Vec<(i64, i64, Vec<Money>)> = per_product
        .into_iter()
        .map(|(pid, (q, r))| (pid, q, r))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(TOP_N);
    let mut top_products = Vec::with_capacity(ranked.len());
    for (product_id, quantity, revenue) in ranked {
        let title: Option<String> =
            sqlx::query_scalar("SELECT title_json FROM products WHERE id = $1")
                .bind(product_id)
                .fetch_optional(pool)
                .await?;
        top_products.push(TopProduct {
            product_id,
            title: title.as_deref().map(texts).unwrap_or_default(),
            quantity,
            revenue,
        });
    }

    let low: Vec<(i64, i64, String, String, i64)> = sqlx::query_as(
        "SELECT p.id, v.id, p.title_json, v.sku, v.stock FROM variants v \
         JOIN products p ON p.id = v.product_id \
         WHERE v.archived = 0 AND p.archived = 0 AND v.stock IS NOT NULL AND v.stock <= $1 \
         ORDER BY v.stock, v.id LIMIT $2",
    )
    .bind(threshold)
    .bind(LOW_STOCK_ROWS)
    .fetch_all(pool)
    .await?;
    let low_stock = low
        .into_iter()
        .map(|(product_id, variant_id, title, sku, stock)| LowStock {
            product_id,
            variant_id,
            title: texts(&title),
            sku,
            stock,
        })
        .collect();

    Ok(AppJson(Dashboard {
        from: day_string(from),
        to: day_string(to),
        revenue,
        orders,
        totals,
        top_products,
        low_stock,
    }))
}

fn money(currency: &str, amount_minor: i64) -> Result<Money> {
    Ok(Money::new(
        amount_minor,
        Currency::new(currency).map_err(Error::internal)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_cut_in_utc() {
        let d = parse_day("2026-03-01", "from").unwrap();
        let start = midnight(d);
        assert_eq!(start, 1_772_323_200);
        assert_eq!(day_index(start, start), 0);
        assert_eq!(day_index(start + DAY - 1, start), 0);
        assert_eq!(day_index(start + DAY, start), 1);
        assert_eq!(day_string(d + Duration::days(1)), "2026-03-02");
        assert!(parse_day("2026-02-30", "from").is_err());
        assert!(parse_day("01.03.2026", "from").is_err());
    }
}
