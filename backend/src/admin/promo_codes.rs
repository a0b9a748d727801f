//! Promo codes for the merchant: create, list (with uses and the revenue of paid orders that
//! used each), pause and resume. A code's rule (discount, minimum, limits, window) is fixed
//! once made: the orders placed with it were priced by it. Pausing stops new orders from
//! using it at once (the guard that takes a use checks `paused`); resuming lets them again.
//! Pause and resume are two POSTs rather than a PATCH, as they are the only changes there are.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use shared::admin::{NewPromoCode, PromoCode, PromoStatus};
use shared::{Currency, Money, Page};
use sqlx::AnyConnection;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::auth::{record_audit, Admin};
use crate::catalog::{decode_cursor, encode_cursor};
use crate::db::{self, Db, SqlBuilder};
use crate::error::{AppJson, AppPath, AppQuery, Error, Result};
use crate::promo::{self, PromoRow};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/promo-codes", get(list).post(create))
        .route("/api/admin/promo-codes/{id}/pause", post(pause))
        .route("/api/admin/promo-codes/{id}/resume", post(resume))
}

/// Far above any real limit, far below an overflow.
const MAX_LIMIT: i64 = 1_000_000_000;
const MAX_AMOUNT: i64 = 1_000_000_000_000;

fn rfc3339(field: &str, s: &str) -> Result<i64> {
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| {
            Error::field(
                "invalid_time",
                field,
                format!("{field} must be an RFC 3339 time such as 2026-12-31T23:59:59Z."),
            )
        })
}

fn show_time(t: Option<i64>) -> Option<String> {
    t.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
}

fn amount(m: &Money, field: &str) -> Result<()> {
    if m.amount_minor <= 0 || m.amount_minor > MAX_AMOUNT {
        return Err(Error::field(
            "invalid_amount",
            field,
            format!("{field} must be above zero and at most {MAX_AMOUNT} minor units."),
        ));
    }
    Ok(())
}

fn limit(v: Option<i64>, field: &str) -> Result<Option<i64>> {
    match v {
        Some(n) if !(1..=MAX_LIMIT).contains(&n) => Err(Error::field(
            "invalid_limit",
            field,
            format!("{field} must be from 1 to {MAX_LIMIT}, or left out for no limit."),
        )),
        _ => Ok(v),
    }
}

/// The checked rule of a new code: its code, window, limits.
struct Checked {
    code: String,
    starts_at: Option<i64>,
    ends_at: Option<i64>,
}

fn validate(req: &NewPromoCode) -> Result<Checked> {
    let code = promo::normalise(&req.code).ok_or_else(|| {
        Error::field(
            "invalid_code",
            "code",
            format!(
                "A code is {} to {} letters (A-Z), digits, '-' or '_', without spaces.",
                promo::CODE_MIN,
                promo::CODE_MAX
            ),
        )
    })?;
    match (req.percent_off, &req.amount_off) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(Error::field(
                "discount_required",
                "percent_off",
                "Give exactly one of percent_off (1-100) and amount_off.",
            ))
        }
        (Some(p), None) if !(1..=100).contains(&p) => {
            return Err(Error::field(
                "invalid_percent",
                "percent_off",
                "percent_off must be a whole number from 1 to 100.",
            ))
        }
        (None, Some(m)) => amount(m, "amount_off")?,
        _ => {}
    }
    if let Some(m) = &req.min_total {
        amount(m, "min_total")?;
        if let Some(off) = &req.amount_off {
            if off.currency != m.currency {
                return Err(Error::field(
                    "currency_mismatch",
                    "min_total",
                    format!(
                        "min_total is in {} but amount_off in {}: use one currency.",
                        m.currency, off.currency
                    ),
                ));
            }
        }
    }
    limit(req.max_uses, "max_uses")?;
    limit(req.max_uses_per_customer, "max_uses_per_customer")?;
    let starts_at = req
        .starts_at
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| rfc3339("starts_at", s))
        .transpose()?;
    let ends_at = req
        .ends_at
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| rfc3339("ends_at", s))
        .transpose()?;
    if let (Some(s), Some(e)) = (starts_at, ends_at) {
        if e <= s {
            return Err(Error::field(
                "invalid_window",
                "ends_at",
                "ends_at must be after starts_at.",
            ));
        }
    }
    Ok(Checked {
        code,
        starts_at,
        ends_at,
    })
}

fn status(r: &PromoRow, now: i64) -> PromoStatus {
    if r.paused != 0 {
        PromoStatus::Paused
    } else if r.ends_at.is_some_and(|e| now >= e) {
        PromoStatus::Ended
    } else if r.starts_at.is_some_and(|s| now < s) {
        PromoStatus::Scheduled
    } else if r.max_uses.is_some_and(|m| r.uses >= m) {
        PromoStatus::UsedUp
    } else {
        PromoStatus::Active
    }
}

/// The codes of `rows` as the admin shows them, with their paid orders and revenue, read in one
/// query through `conn`.
async fn shown(conn: &mut AnyConnection, rows: Vec<PromoRow>) -> Result<Vec<PromoCode>> {
    let mut revenue: BTreeMap<i64, (i64, Vec<Money>)> = BTreeMap::new();
    if !rows.is_empty() {
        let mut q = SqlBuilder::new(
            "SELECT promo_code_id, currency, COUNT(*), CAST(SUM(total_minor) AS BIGINT) FROM orders \
             WHERE paid_at IS NOT NULL AND promo_code_id IN (",
        );
        q.push_bind_list(rows.iter().map(|r| r.id))
            .push(") GROUP BY promo_code_id, currency ORDER BY promo_code_id, currency");
        let sums = q
            .build_query_as::<(i64, String, i64, i64)>()
            .fetch_all(conn)
            .await?;
        for (id, currency, n, sum) in sums {
            let e = revenue.entry(id).or_default();
            e.0 += n;
            e.1.push(Money::new(
                sum,
                Currency::new(&currency).map_err(Error::internal)?,
            ));
        }
    }
    let now = db::now();
    Ok(rows
        .into_iter()
        .map(|r| {
            let (paid_orders, revenue) = revenue.remove(&r.id).unwrap_or_default();
            PromoCode {
                id: r.id,
                code: r.code.clone(),
                percent_off: r.percent_off,
                amount_off: r.amount_off(),
                min_total: r.min_total(),
                max_uses: r.max_uses,
                max_uses_per_customer: r.max_uses_per_customer,
                uses: r.uses,
                starts_at: show_time(r.starts_at),
                ends_at: show_time(r.ends_at),
                paused: r.paused != 0,
                status: status(&r, now),
                paid_orders,
                revenue,
                created_at: r.created_at,
            }
        })
        .collect())
}

async fn fetch(conn: &mut AnyConnection, id: i64) -> Result<PromoCode> {
    const SQL: &str = concat!(
        "SELECT ",
        promo::promo_cols!(),
        " FROM promo_codes WHERE id = $1"
    );
    let row = sqlx::query_as::<_, PromoRow>(SQL)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::not_found("promo code"))?;
    Ok(shown(conn, vec![row]).await?.remove(0))
}

/// `GET /api/admin/promo-codes` paging.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Codes per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// The promo codes, newest first, with their uses and the revenue of paid orders that used them.
#[utoipa::path(get, path = "/api/admin/promo-codes", tag = "admin", security(("admin_session" = [])),
    params(ListQuery),
    responses((status = 200, description = "A page of promo codes.", body = Page<PromoCode>)))]
async fn list(
    State(db): State<Db>,
    _admin: Admin,
    AppQuery(q): AppQuery<ListQuery>,
) -> Result<AppJson<Page<PromoCode>>> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let before = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => decode_cursor(c)?,
        None => i64::MAX,
    };
    const SQL: &str = concat!(
        "SELECT ",
        promo::promo_cols!(),
        " FROM promo_codes WHERE id < $1 ORDER BY id DESC LIMIT $2"
    );
    let mut conn = db.pool.acquire().await?;
    let mut rows = sqlx::query_as::<_, PromoRow>(SQL)
        .bind(before)
        .bind(limit + 1)
        .fetch_all(&mut *conn)
        .await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| encode_cursor(r.id))
    } else {
        None
    };
    let items = shown(&mut conn, rows).await?;
    Ok(AppJson(Page { items, next_cursor }))
}

/// Creates a promo code.
#[utoipa::path(post, path = "/api/admin/promo-codes", tag = "admin", security(("admin_session" = [])),
    request_body = NewPromoCode,
    responses(
        (status = 201, description = "The new code.", body = PromoCode),
        (status = 409, description = "`code_taken`: a code with the same letters exists (in any case)."),
    ))]
async fn create(
    State(db): State<Db>,
    admin: Admin,
    AppJson(req): AppJson<NewPromoCode>,
) -> Result<Response> {
    let c = validate(&req)?;
    let now = db::now();
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO promo_codes (code, percent_off, amount_off_minor, amount_off_currency, \
         min_total_minor, min_total_currency, max_uses, max_uses_per_customer, starts_at, ends_at, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
    )
    .bind(&c.code)
    .bind(req.percent_off)
    .bind(req.amount_off.as_ref().map(|m| m.amount_minor))
    .bind(req.amount_off.as_ref().map(|m| m.currency.as_str().to_string()))
    .bind(req.min_total.as_ref().map(|m| m.amount_minor))
    .bind(req.min_total.as_ref().map(|m| m.currency.as_str().to_string()))
    .bind(req.max_uses)
    .bind(req.max_uses_per_customer)
    .bind(c.starts_at)
    .bind(c.ends_at)
    .bind(now)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| {
        Error::from(e).on_unique("promo_codes.code", || Error::Conflict {
            code: "code_taken",
            message: format!("A promo code {} exists already; choose another.", c.code),
        })
    })?;
    let made = fetch(tx.conn(), id).await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        "create",
        "promo_code",
        Some(id),
        None,
        Some(&serde_json::to_value(&made).map_err(Error::internal)?),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, AppJson(made)).into_response())
}

async fn set_paused(db: &Db, admin: &Admin, id: i64, paused: bool) -> Result<PromoCode> {
    let mut tx = db.begin_write().await?;
    let before = fetch(tx.conn(), id).await?;
    sqlx::query("UPDATE promo_codes SET paused = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(paused))
        .bind(db::now())
        .bind(id)
        .execute(tx.conn())
        .await?;
    let after = fetch(tx.conn(), id).await?;
    if before.paused != paused {
        record_audit(
            tx.conn(),
            &admin.actor(),
            if paused { "pause" } else { "resume" },
            "promo_code",
            Some(id),
            Some(&serde_json::to_value(&before).map_err(Error::internal)?),
            Some(&serde_json::to_value(&after).map_err(Error::internal)?),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(after)
}

/// Pauses a code: orders placed from now on cannot use it (422 `promo_code_invalid`); orders
/// placed with it keep their discount. Pausing a paused code changes nothing.
#[utoipa::path(post, path = "/api/admin/promo-codes/{id}/pause", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The promo code's id.")),
    responses((status = 200, description = "The code, paused.", body = PromoCode), (status = 404, description = "No such promo code.")))]
async fn pause(
    State(db): State<Db>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<PromoCode>> {
    Ok(AppJson(set_paused(&db, &admin, id, true).await?))
}

/// Lets a paused code be used again.
#[utoipa::path(post, path = "/api/admin/promo-codes/{id}/resume", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The promo code's id.")),
    responses((status = 200, description = "The code, resumed.", body = PromoCode), (status = 404, description = "No such promo code.")))]
async fn resume(
    State(db): State<Db>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<PromoCode>> {
    Ok(AppJson(set_paused(&db, &admin, id, false).await?))
}
