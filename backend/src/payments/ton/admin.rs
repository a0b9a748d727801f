//! The merchant's view of the TON wallet: every transfer the shop counted, the unmatched ones
//! to attach to an order, and the money to send back (recorded here once it is sent, since
//! the shop holds no key and cannot send it itself).

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use serde::Deserialize;
use shared::admin::{AttachTransfer, TonTransfer};
use shared::{Currency, Money, Page, PaymentMethod};

use super::credit;
use crate::admin::auth::{record_audit, Admin, Owner};
use crate::catalog::{decode_cursor, encode_cursor};
use crate::db::{self, Db};
use crate::error::{AppJson, AppPath, AppQuery, Error, Result};
use crate::orders::lifecycle::{self, By, Refund, RefundsMade, Restock};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/ton/transfers", get(list))
        .route("/api/admin/ton/transfers/{id}/attach", post(attach))
        .route("/api/admin/ton/transfers/{id}/returned", post(returned))
}

const STATES: [&str; 5] = ["partial", "paid", "flagged", "unmatched", "returned"];

/// `GET /api/admin/ton/transfers` filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only transfers in this state: `partial`, `paid`, `flagged`, `unmatched`, `returned`.
    state: Option<String>,
    /// Only those still owing money back to their sender (`to_return_minor` > 0).
    #[serde(default)]
    to_return: bool,
    cursor: Option<String>,
    /// 1 to 100 (default 50).
    limit: Option<i64>,
}

#[derive(shop_macros::FromRow)]
struct Row {
    id: i64,
    asset: String,
    tx_hash: String,
    sender: Option<String>,
    amount_minor: i64,
    comment: Option<String>,
    order_id: Option<i64>,
    state: String,
    note: Option<String>,
    chain_time: i64,
    to_return: i64,
}

/// A `Row`'s columns over `ton_transfers t`, a literal so that each statement is one fixed
/// string (`concat!`). `to_return` is what of a transfer is still owed back: all of an
/// unmatched one, else the unrefunded rest of the flagged payments it made (itself, or an
/// overpayment's excess).
macro_rules! cols {
    () => {
        "t.id, t.asset, t.tx_hash, t.sender, t.amount_minor, t.comment, t.order_id, \
         t.state, t.note, t.chain_time, \
         CASE WHEN t.state = 'unmatched' THEN t.amount_minor ELSE \
         (SELECT CAST(COALESCE(SUM(p.amount_minor - p.refunded_minor), 0) AS BIGINT) FROM payments p \
          WHERE p.provider = 'ton' AND p.needs_refund = 1 \
          AND (p.provider_payment_id = t.tx_hash OR p.provider_payment_id = t.tx_hash || ':excess')) END \
         AS to_return"
    };
}

fn view(r: Row) -> Result<TonTransfer> {
    let currency = Currency::new(&r.asset).map_err(Error::internal)?;
    let hash_hex = base64::engine::general_purpose::STANDARD
        .decode(&r.tx_hash)
        .map(hex::encode)
        .unwrap_or_else(|_| r.tx_hash.clone());
    Ok(TonTransfer {
        id: r.id,
        amount: Money::new(r.amount_minor, currency),
        explorer_url: format!("https://tonviewer.com/transaction/{hash_hex}"),
        tx_hash: r.tx_hash,
        sender: r.sender,
        comment: r.comment,
        order_id: r.order_id,
        state: r.state,
        note: r.note,
        to_return_minor: r.to_return,
        chain_time: r.chain_time,
    })
}

async fn one_transfer(db: &Db, id: i64) -> Result<TonTransfer> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM ton_transfers t WHERE t.id = $1");
    let row = sqlx::query_as::<_, Row>(SQL)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(|| Error::not_found("transfer"))?;
    view(row)
}

/// The transfers counted towards or flagged on `order_id`, oldest first (the admin's order
/// page).
pub async fn of_order(db: &Db, order_id: i64) -> Result<Vec<TonTransfer>> {
    const SQL: &str = concat!(
        "SELECT ",
        cols!(),
        " FROM ton_transfers t WHERE t.order_id = $1 ORDER BY t.id"
    );
    sqlx::query_as::<_, Row>(SQL)
        .bind(order_id)
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .map(view)
        .collect()
}

/// Transfers into the TON wallet, newest first.
#[utoipa::path(get, path = "/api/admin/ton/transfers", tag = "admin", security(("admin_session" = [])),
    params(ListQuery),
    responses((status = 200, description = "A page of transfers.", body = Page<TonTransfer>),
        (status = 400, description = "An unknown `state`.")))]
async fn list(
    State(db): State<Db>,
    _admin: Admin,
    AppQuery(q): AppQuery<ListQuery>,
) -> Result<AppJson<Page<TonTransfer>>> {
    let limit = q.limit.unwrap_or(50).clamp(1, 100);
    let before = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => decode_cursor(c)?,
        None => i64::MAX,
    };
    let state = q.state.as_deref().filter(|s| !s.is_empty());
    if let Some(s) = state {
        if !STATES.contains(&s) {
            return Err(Error::field(
                "invalid_state",
                "state",
                format!("state is one of {}", STATES.join(", ")),
            ));
        }
    }
    const SQL: &str = concat!(
        "SELECT * FROM (SELECT ",
        cols!(),
        " FROM ton_transfers t WHERE t.id < $1 AND ($2 = '' OR t.state = $2)) x \
         WHERE ($3 = 0 OR x.to_return > 0) ORDER BY x.id DESC LIMIT $4"
    );
    let mut rows = sqlx::query_as::<_, Row>(SQL)
        .bind(before)
        .bind(state.unwrap_or(""))
        .bind(i64::from(q.to_return))
        .bind(limit + 1)
        .fetch_all(&db.pool)
        .await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| encode_cursor(r.id))
    } else {
        None
    };
    let items = rows.into_iter().map(view).collect::<Result<Vec<_>>>()?;
    Ok(AppJson(Page { items, next_cursor }))
}

/// Counts an unmatched transfer towards a TON order, with the checks a matching comment gets
/// (asset, amount, the order still waiting). Audited.
#[utoipa::path(post, path = "/api/admin/ton/transfers/{id}/attach", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The transfer's id.")),
    request_body = AttachTransfer,
    responses((status = 200, description = "The transfer after attaching: `paid`, `partial` or `flagged`.", body = TonTransfer),
        (status = 404, description = "No such transfer or order."),
        (status = 409, description = "The transfer is not unmatched, or the order is not a TON order.")))]
async fn attach(
    State(st): State<AppState>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
    AppJson(req): AppJson<AttachTransfer>,
) -> Result<AppJson<TonTransfer>> {
    let before = one_transfer(&st.db, id).await?;
    let method: Option<String> =
        sqlx::query_scalar("SELECT payment_method FROM orders WHERE id = $1")
            .bind(req.order_id)
            .fetch_optional(&st.db.pool)
            .await?;
    match method.as_deref().and_then(PaymentMethod::parse) {
        None => return Err(Error::not_found("order")),
        Some(PaymentMethod::Ton) => {}
        Some(m) => {
            return Err(Error::conflict(
                "not_a_ton_order",
                format!(
                    "Order {} is paid through {}; a TON transfer can only pay a TON order.",
                    req.order_id,
                    m.as_str()
                ),
            ))
        }
    }
    let mut tx = st.db.begin_write().await?;
    // The guard decides: a second click (or another admin) finds it attached already.
    let took = sqlx::query(
        "UPDATE ton_transfers SET order_id = $1, updated_at = $2 WHERE id = $3 AND state = 'unmatched'",
    )
    .bind(req.order_id)
    .bind(db::now())
    .bind(id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if took != 1 {
        return Err(Error::conflict(
            "not_unmatched",
            format!(
                "Transfer {id} is {}: only an unmatched transfer can be attached.",
                before.state
            ),
        ));
    }
    let done = credit::apply(tx.conn(), id, req.order_id).await?;
    let after: (String, Option<String>) =
        sqlx::query_as("SELECT state, note FROM ton_transfers WHERE id = $1")
            .bind(id)
            .fetch_one(tx.conn())
            .await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        "ton_attach",
        "ton_transfer",
        Some(id),
        Some(&serde_json::json!({"state": before.state, "order_id": before.order_id})),
        Some(&serde_json::json!({"state": after.0, "order_id": req.order_id, "note": after.1})),
    )
    .await?;
    tx.commit().await?;
    credit::after(&st, done);
    Ok(AppJson(one_transfer(&st.db, id).await?))
}

/// Records that the merchant sent a transfer's money back from their wallet (owners only):
/// an unmatched transfer, a flagged one, or an overpayment's excess. Counted once: a second
/// call finds nothing left to return.
#[utoipa::path(post, path = "/api/admin/ton/transfers/{id}/returned", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, description = "The transfer's id.")),
    responses((status = 200, description = "The transfer after recording the return.", body = TonTransfer),
        (status = 404, description = "No such transfer."),
        (status = 409, description = "Nothing of this transfer is owed back.")))]
async fn returned(
    State(st): State<AppState>,
    Owner(admin): Owner,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<TonTransfer>> {
    let t = one_transfer(&st.db, id).await?;
    if t.to_return_minor <= 0 {
        return Err(Error::conflict(
            "nothing_to_return",
            format!("Nothing of transfer {id} is owed back."),
        ));
    }
    if t.state == "unmatched" {
        let mut tx = st.db.begin_write().await?;
        let took = sqlx::query(
            "UPDATE ton_transfers SET state = 'returned', updated_at = $1 WHERE id = $2 AND state = 'unmatched'",
        )
        .bind(db::now())
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if took == 1 {
            record_audit(
                tx.conn(),
                &admin.actor(),
                "ton_returned",
                "ton_transfer",
                Some(id),
                Some(&serde_json::json!({"state": "unmatched", "amount": t.amount})),
                Some(&serde_json::json!({"state": "returned"})),
            )
            .await?;
        }
        tx.commit().await?;
        return Ok(AppJson(one_transfer(&st.db, id).await?));
    }
    // The flagged payments this transfer made: itself, or its excess.
    for pid in [t.tx_hash.clone(), credit::excess_id(&t.tx_hash)] {
        let Some(pay) =
            super::super::payment_by_provider_id(&st.db, PaymentMethod::Ton, &pid).await?
        else {
            continue;
        };
        let left = pay.amount_minor - pay.refunded_minor;
        if pay.needs_refund == 0 || left <= 0 {
            continue;
        }
        let made = [Refund {
            // One return per flagged payment: a repeated call is the same refund.
            provider_refund_id: format!("ton-returned-{}", pay.id),
            amount_minor: left,
            currency: pay.currency.clone(),
        }];
        lifecycle::refunds_made(
            &st,
            RefundsMade {
                pay: pay.of(),
                made: &made,
                restock: Restock::No,
                pending_note: String::new(),
            },
            By::Admin(&admin),
        )
        .await?;
    }
    sqlx::query(
        "UPDATE ton_transfers SET state = 'returned', updated_at = $1 WHERE id = $2 AND state = 'flagged'",
    )
    .bind(db::now())
    .bind(id)
    .execute(&st.db.writer)
    .await?;
    Ok(AppJson(one_transfer(&st.db, id).await?))
}
