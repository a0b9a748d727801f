//! `POST /webhooks/payme`: the Merchant API methods Payme calls.

use shared::event_kind;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use shared::{Lang, OrderStatus, PaymentMethod};
use subtle::ConstantTimeEq;

use super::errors::{Code, RpcError};
use super::params::{self, Account, Call, FiscalKind, PaymeId};
use crate::catalog::repo::texts;
use crate::error::is_unique_violation;
use crate::orders::lifecycle::{self, By, PaymentSuccess, Refund, Restock};
use crate::orders::repo::{self as orders, OrderHead};
use crate::payments::payment_by_provider_id;
use crate::payments::uz::{awaiting, is_paid, order_by_reference, payable_order};
use crate::state::AppState;

/// A transaction still waiting this long after Payme's `time` can no longer be performed.
const TIMEOUT_MS: i64 = 43_200_000;

/// Cancel reasons (Payme's numbering).
const REASON_TRANSACTION_ERROR: i64 = 3;
const REASON_TIMEOUT: i64 = 4;

/// Payme's methods read a transaction, decide, and write it back; one database-wide lock
/// (`Db::exclusive`) keeps a Perform and a Cancel of one transaction (or two retries of it)
/// from interleaving, in this process or any other on the same database. Orders are still
/// guarded against other rails by `fulfil()` itself. Payme calls one at a time per cash desk
/// anyway, so serializing them costs nothing.
const PAYME_LOCK: i64 = 0x5041_594d_4500; // "PAYME"

type RpcResult = Result<Value, RpcError>;

pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/payme", post(endpoint).fallback(not_post))
}

fn answer(id: Value, r: RpcResult) -> Json<Value> {
    Json(match r {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(e) => json!({"jsonrpc": "2.0", "id": id, "error": e.code.error(e.data)}),
    })
}

async fn not_post() -> Json<Value> {
    answer(Value::Null, Err(Code::NotPost.into()))
}

/// A JSON-RPC request as Payme sends it: the `id` to echo (null when unreadable) and the method
/// with its params read ([`Call`]), or the error to answer. Pure, so the fuzz targets (fuzz/)
/// call it as the route does; whether the caller is authorized is decided before the answer
/// (`key_matches`), so a caller without the key learns nothing about its params.
pub(crate) struct Parsed {
    pub id: Value,
    pub request: Result<Call, RpcError>,
}

pub(crate) fn parse_request(body: &[u8]) -> Parsed {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let id = parsed
        .as_ref()
        .and_then(|v| v.get("id").cloned())
        .unwrap_or(Value::Null);
    let request = match parsed {
        None => Err(Code::ParseError.into()),
        Some(mut req) => {
            let method = req
                .get("method")
                .and_then(Value::as_str)
                .map(str::to_string);
            // Payme names its params: an object, never a list.
            match (method, req.get_mut("params").map(Value::take)) {
                (Some(m), Some(Value::Object(p))) => Call::parse(&m, p),
                _ => Err(Code::InvalidRequest.into()),
            }
        }
    };
    Parsed { id, request }
}

async fn endpoint(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Json<Value> {
    let Parsed { id, request } = parse_request(&body);
    if !authorized(&st, &headers) {
        return answer(id, Err(Code::Unauthorized.into()));
    }
    let call = match request {
        Ok(call) => call,
        Err(e) => return answer(id, Err(e)),
    };
    let _serial = match st.db.exclusive(PAYME_LOCK).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "payme: cannot take the database lock");
            return answer(id, Err(Code::Internal.into()));
        }
    };
    let r = match &call {
        Call::CheckPerform(p) => check_perform(&st, p).await,
        Call::Create(p) => create(&st, p).await,
        Call::Perform(p) => perform(&st, p).await,
        Call::Cancel(p) => cancel(&st, p).await,
        Call::Check(p) => check(&st, p).await,
        Call::Statement(p) => statement(&st, p).await,
        Call::SetFiscalData(p) => set_fiscal_data(&st, p).await,
    };
    answer(id, r)
}

/// `Authorization: Basic base64("Paycom:<PAYME_KEY>")`, compared in constant time.
fn authorized(st: &AppState, headers: &HeaderMap) -> bool {
    let Some(cfg) = st.config.payme.as_ref() else {
        return false;
    };
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    key_matches(header, cfg.key.expose_secret())
}

/// Whether an `Authorization` header value carries `Paycom:<key>`. Pure, for the fuzz targets.
pub(crate) fn key_matches(header: Option<&str>, key: &str) -> bool {
    let Some(given) = header.and_then(|v| v.strip_prefix("Basic ")).and_then(|b| {
        base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .ok()
    }) else {
        return false;
    };
    let expected = format!("Paycom:{key}");
    bool::from(given.ct_eq(expected.as_bytes()))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The order `account.order_id` names, if it may be paid for `amount` now. The field carries
/// the order's reference from its checkout link, never the order id (see
/// [`order_by_reference`]).
async fn payable(st: &AppState, amount: i64, account: &Account) -> Result<OrderHead, RpcError> {
    let reference = account
        .order_ref()
        .ok_or_else(|| RpcError::account(Code::OrderNotFound))?;
    let order = order_by_reference(&st.db, reference)
        .await?
        .ok_or_else(|| RpcError::account(Code::OrderNotFound))?;
    if amount != order.total_minor {
        return Err(Code::WrongAmount.into());
    }
    if is_paid(&st.db, order.id).await? {
        return Err(RpcError::account(Code::OrderPaid));
    }
    if !awaiting(&order) {
        return Err(RpcError::account(Code::OrderUnavailable));
    }
    Ok(order)
}

#[derive(Debug, shop_macros::FromRow)]
struct Tx {
    id: i64,
    payme_id: String,
    order_id: i64,
    amount_minor: i64,
    account_json: String,
    payme_time: i64,
    create_time: i64,
    perform_time: i64,
    cancel_time: i64,
    #[sqlx(try_from = "i64")]
    state: TxState,
    reason: Option<i64>,
}

/// A Payme transaction's state, in Payme's numbering: what is stored and what is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(into = "i64")]
enum TxState {
    /// Created, waiting for PerformTransaction.
    Waiting = 1,
    Performed = 2,
    /// Cancelled before it was performed: no money moved.
    CancelledWaiting = -1,
    /// Cancelled after it was performed: the money went back.
    CancelledPerformed = -2,
}

impl From<TxState> for i64 {
    fn from(s: TxState) -> i64 {
        s as i64
    }
}

impl TryFrom<i64> for TxState {
    type Error = String;
    fn try_from(n: i64) -> Result<Self, String> {
        Ok(match n {
            1 => TxState::Waiting,
            2 => TxState::Performed,
            -1 => TxState::CancelledWaiting,
            -2 => TxState::CancelledPerformed,
            other => return Err(format!("unknown Payme transaction state {other}")),
        })
    }
}

/// A `Tx`'s columns, a literal so that each statement is one fixed string (`concat!`).
macro_rules! tx_cols {
    () => {
        "id, payme_id, order_id, amount_minor, account_json, payme_time, create_time, \
         perform_time, cancel_time, state, reason"
    };
}

async fn tx_by_payme_id(st: &AppState, payme_id: &str) -> Result<Option<Tx>, RpcError> {
    const SQL: &str = concat!(
        "SELECT ",
        tx_cols!(),
        " FROM payme_transactions WHERE payme_id = $1"
    );
    Ok(sqlx::query_as::<_, Tx>(SQL)
        .bind(payme_id)
        .fetch_optional(&st.db.pool)
        .await?)
}

async fn tx_required(st: &AppState, id: &PaymeId) -> Result<Tx, RpcError> {
    tx_by_payme_id(st, id.as_str())
        .await?
        .ok_or_else(|| Code::NotFound.into())
}

fn stale(t: &Tx, now: i64) -> bool {
    t.state == TxState::Waiting && now - t.payme_time > TIMEOUT_MS
}

/// Cancels a waiting transaction (state 1 -> -1). Only the transaction ends: its order keeps
/// its reservation until that lapses and may be paid by a new transaction (or another rail),
/// so an abandoned or refused attempt, or one opened by someone else, cannot end the order.
async fn cancel_waiting(st: &AppState, t: &Tx, reason: i64) -> Result<Tx, RpcError> {
    sqlx::query(
        "UPDATE payme_transactions SET state = -1, reason = $1, cancel_time = $2 \
         WHERE id = $3 AND state = 1",
    )
    .bind(reason)
    .bind(now_ms())
    .bind(t.id)
    .execute(&st.db.pool)
    .await?;
    reload(st, t).await
}

async fn reload(st: &AppState, t: &Tx) -> Result<Tx, RpcError> {
    tx_by_payme_id(st, &t.payme_id)
        .await?
        .ok_or_else(|| Code::Internal.into())
}

/// CheckPerformTransaction: may this order be paid, and what goes on its fiscal receipt.
///
/// One-time orders: while a transaction for the order is waiting, a new payment is refused
/// with -31008 here and in CreateTransaction. Integrations in the wild answer either -31008
/// (what Payme's sandbox test text expects) or an account error -31050 (Payme's PHP
/// template, in CreateTransaction only); we follow the sandbox.
async fn check_perform(st: &AppState, p: &params::CheckPerform) -> RpcResult {
    let order = payable(st, p.amount, &p.account).await?;
    if waiting_for(st, order.id).await?.is_some() {
        return Err(Code::Impossible.into());
    }
    let mut result = json!({"allow": true});
    if let Some(detail) = receipt(st, &order).await? {
        result["detail"] = detail;
    }
    Ok(result)
}

/// The order's waiting transaction, if any.
async fn waiting_for(st: &AppState, order_id: i64) -> Result<Option<Tx>, RpcError> {
    const SQL: &str = concat!(
        "SELECT ",
        tx_cols!(),
        " FROM payme_transactions WHERE order_id = $1 AND state = 1"
    );
    Ok(sqlx::query_as::<_, Tx>(SQL)
        .bind(order_id)
        .fetch_optional(&st.db.pool)
        .await?)
}

/// Fiscal receipt lines: each product's MXIK (IKPU) code, package code and VAT percent, so
/// Payme can fiscalise the payment. Left out (with a warning) when a product lacks its codes,
/// since a receipt with empty codes is rejected by the tax service anyway.
async fn receipt(st: &AppState, order: &OrderHead) -> Result<Option<Value>, RpcError> {
    #[derive(shop_macros::FromRow)]
    struct Line {
        title_json: String,
        unit_price_minor: i64,
        quantity: i64,
        ikpu_code: Option<String>,
        package_code: Option<String>,
        vat_percent: Option<i64>,
    }
    let lines = sqlx::query_as::<_, Line>(
        "SELECT oi.title_json, oi.unit_price_minor, oi.quantity, p.ikpu_code, p.package_code, \
         p.vat_percent FROM order_items oi JOIN products p ON p.id = oi.product_id \
         WHERE oi.order_id = $1 ORDER BY oi.id",
    )
    .bind(order.id)
    .fetch_all(&st.db.pool)
    .await?;
    let lang = Lang::parse(&order.lang).unwrap_or(st.config.default_lang);
    let discounts = spread_discount(
        order.discount_minor,
        &lines
            .iter()
            .map(|l| l.unit_price_minor * l.quantity)
            .collect::<Vec<_>>(),
    );
    let mut items = Vec::with_capacity(lines.len());
    for (l, discount) in lines.iter().zip(discounts) {
        let (Some(code), Some(package)) = (
            l.ikpu_code.as_deref().filter(|c| !c.is_empty()),
            l.package_code.as_deref().filter(|c| !c.is_empty()),
        ) else {
            tracing::warn!(
                order_id = order.id,
                "a product has no IKPU or package code; Payme gets no receipt detail"
            );
            return Ok(None);
        };
        items.push(json!({
            "title": texts(&l.title_json).pick(lang, &st.config.lang_fallback).unwrap_or(""),
            "price": l.unit_price_minor,
            "count": l.quantity,
            "code": code,
            "package_code": package,
            // A product without a VAT rate belongs to a merchant who is not a VAT payer.
            "vat_percent": l.vat_percent.unwrap_or(0),
        }));
        // A promo code's discount, on the lines it came off: Payme checks that the lines'
        // price × count less their discounts add up to the amount paid.
        if discount > 0 {
            if let Some(item) = items.last_mut() {
                item["discount"] = json!(discount);
            }
        }
    }
    // The delivery fee is a line of its own, with the fiscal codes the merchant configured
    // for delivery (a service has its own IKPU code).
    if order.delivery_fee_minor > 0 {
        let payme = st.config.payme.as_ref();
        let (Some(code), Some(package)) = (
            payme.and_then(|p| p.delivery_ikpu.as_deref()),
            payme.and_then(|p| p.delivery_package_code.as_deref()),
        ) else {
            tracing::warn!(
                order_id = order.id,
                "PAYME_DELIVERY_IKPU or PAYME_DELIVERY_PACKAGE_CODE is not set; Payme gets no receipt detail"
            );
            return Ok(None);
        };
        items.push(json!({
            "title": crate::delivery::label(lang),
            "price": order.delivery_fee_minor,
            "count": 1,
            "code": code,
            "package_code": package,
            "vat_percent": payme.map_or(0, |p| p.delivery_vat_percent),
        }));
    }
    Ok(Some(json!({"receipt_type": 0, "items": items})))
}

/// Shares `discount` out over lines worth `totals`, in proportion (rounded down), the rest a
/// unit at a time from the first line on; no line's share is more than its total. The shares
/// add up to `discount`, or to the lines' sum if that is less (a promo discount never is).
fn spread_discount(discount: i64, totals: &[i64]) -> Vec<i64> {
    let sum: i64 = totals.iter().sum();
    if discount <= 0 || sum <= 0 {
        return vec![0; totals.len()];
    }
    let discount = discount.min(sum);
    let mut shares: Vec<i64> = totals
        .iter()
        .map(|t| (*t as i128 * discount as i128 / sum as i128) as i64)
        .collect();
    let mut left = discount - shares.iter().sum::<i64>();
    for (share, total) in shares.iter_mut().zip(totals) {
        let more = left.min(total - *share);
        *share += more;
        left -= more;
    }
    shares
}

fn created(t: &Tx) -> Value {
    json!({"create_time": t.create_time, "transaction": t.id.to_string(), "state": t.state})
}

async fn create(st: &AppState, p: &params::Create) -> RpcResult {
    let (payme_id, time) = (p.id.as_str(), p.time);
    let now = now_ms();
    if let Some(t) = tx_by_payme_id(st, payme_id).await? {
        if t.state != TxState::Waiting {
            return Err(Code::Impossible.into());
        }
        if stale(&t, now) {
            cancel_waiting(st, &t, REASON_TIMEOUT).await?;
            return Err(Code::Impossible.into());
        }
        return Ok(created(&t));
    }
    let order = payable(st, p.amount, &p.account).await?;
    if now - time > TIMEOUT_MS {
        return Err(Code::Impossible.into());
    }
    if let Some(other) = waiting_for(st, order.id).await? {
        if !stale(&other, now) {
            return Err(Code::Impossible.into());
        }
        // A forgotten transaction must not block the order for ever: it times out, and this
        // one goes on.
        cancel_waiting(st, &other, REASON_TIMEOUT).await?;
    }
    let account = p.account.to_json();
    const SQL: &str = concat!(
        "INSERT INTO payme_transactions (payme_id, order_id, amount_minor, account_json, \
         payme_time, create_time, state) VALUES ($1, $2, $3, $4, $5, $6, 1) RETURNING ",
        tx_cols!()
    );
    match sqlx::query_as::<_, Tx>(SQL)
        .bind(payme_id)
        .bind(order.id)
        .bind(order.total_minor)
        .bind(&account)
        .bind(time)
        .bind(now)
        .fetch_one(&st.db.pool)
        .await
    {
        Ok(t) => {
            let mut conn = st.db.pool.acquire().await?;
            orders::event(
                &mut conn,
                order.id,
                event_kind::PAYME_TRANSACTION,
                None,
                Some(&format!("Payme transaction {payme_id} created")),
                Some("payme"),
                crate::db::now(),
            )
            .await?;
            Ok(created(&t))
        }
        // Another process created it (same id: answer it) or another transaction for this
        // order won the race (refuse).
        Err(e) if is_unique_violation(&e) => match tx_by_payme_id(st, payme_id).await? {
            Some(t) if t.state == TxState::Waiting => Ok(created(&t)),
            _ => Err(Code::Impossible.into()),
        },
        Err(e) => Err(e.into()),
    }
}

fn performed(t: &Tx) -> Value {
    json!({"transaction": t.id.to_string(), "perform_time": t.perform_time, "state": t.state})
}

async fn perform(st: &AppState, p: &params::ById) -> RpcResult {
    let t = tx_required(st, &p.id).await?;
    match t.state {
        TxState::Performed => return Ok(performed(&t)),
        TxState::Waiting => {}
        TxState::CancelledWaiting | TxState::CancelledPerformed => {
            return Err(Code::Impossible.into())
        }
    }
    let now = now_ms();
    if stale(&t, now) {
        cancel_waiting(st, &t, REASON_TIMEOUT).await?;
        return Err(Code::Impossible.into());
    }
    let recorded = payment_by_provider_id(&st.db, PaymentMethod::Payme, &t.payme_id).await?;
    if recorded.is_none() {
        let order = payable_order(&st.db, t.order_id)
            .await?
            .ok_or(Code::Internal)?;
        if is_paid(&st.db, order.id).await? || !awaiting(&order) {
            // Paid through another rail, or lapsed: refusing lets Payme give the money
            // back before it is ever ours, instead of a refund later.
            cancel_waiting(st, &t, REASON_TRANSACTION_ERROR).await?;
            return Err(Code::Impossible.into());
        }
    }
    lifecycle::paid(
        st,
        &PaymentSuccess {
            order_id: t.order_id,
            rail: PaymentMethod::Payme,
            provider_payment_id: t.payme_id.clone(),
            amount_minor: t.amount_minor,
            currency: "UZS".into(),
            raw: Some(
                json!({"method": "PerformTransaction", "params": {"id": p.id.as_str()}})
                    .to_string(),
            ),
        },
    )
    .await?;
    sqlx::query(
        "UPDATE payme_transactions SET state = 2, perform_time = $1 WHERE id = $2 AND state = 1",
    )
    .bind(now)
    .bind(t.id)
    .execute(&st.db.pool)
    .await?;
    // A race lost to another rail after the check above is recorded and flagged for refund
    // by the lifecycle; Payme's money did arrive, so the transaction is performed.
    Ok(performed(&reload(st, &t).await?))
}

fn cancelled(t: &Tx) -> Value {
    json!({"transaction": t.id.to_string(), "cancel_time": t.cancel_time, "state": t.state})
}

async fn cancel(st: &AppState, p: &params::Cancel) -> RpcResult {
    let reason = p.reason;
    let t = tx_required(st, &p.id).await?;
    match t.state {
        TxState::Waiting => Ok(cancelled(&cancel_waiting(st, &t, reason).await?)),
        TxState::Performed => {
            let mut conn = st.db.pool.acquire().await?;
            let order = orders::head(&mut conn, t.order_id)
                .await?
                .ok_or(Code::Internal)?;
            drop(conn);
            let pay = payment_by_provider_id(&st.db, PaymentMethod::Payme, &t.payme_id)
                .await?
                .ok_or(Code::Internal)?;
            let left = pay.amount_minor - pay.refunded_minor;
            // Delivered goods cannot be taken back by cancelling their payment; a payment
            // that lost a race to another rail paid for nothing and always goes back.
            if pay.needs_refund == 0
                && matches!(
                    order.status,
                    OrderStatus::Delivered | OrderStatus::Completed
                )
            {
                return Err(Code::CannotCancel.into());
            }
            // Cancelling gives back everything left; the Payme transaction is the refund's id.
            let r = Refund {
                provider_refund_id: t.payme_id.clone(),
                amount_minor: left,
                currency: pay.currency.clone(),
            };
            if left > 0 {
                lifecycle::refunded(
                    st,
                    pay.of(),
                    &r,
                    Restock::Yes,
                    By::Rail(PaymentMethod::Payme),
                )
                .await?;
            }
            sqlx::query(
                "UPDATE payme_transactions SET state = -2, reason = $1, cancel_time = $2 \
                 WHERE id = $3 AND state = 2",
            )
            .bind(reason)
            .bind(now_ms())
            .bind(t.id)
            .execute(&st.db.pool)
            .await?;
            Ok(cancelled(&reload(st, &t).await?))
        }
        TxState::CancelledWaiting | TxState::CancelledPerformed => Ok(cancelled(&t)),
    }
}

fn checked(t: &Tx) -> Value {
    json!({
        "create_time": t.create_time,
        "perform_time": t.perform_time,
        "cancel_time": t.cancel_time,
        "transaction": t.id.to_string(),
        "state": t.state,
        "reason": t.reason,
    })
}

async fn check(st: &AppState, p: &params::ById) -> RpcResult {
    Ok(checked(&tx_required(st, &p.id).await?))
}

async fn statement(st: &AppState, p: &params::Statement) -> RpcResult {
    const SQL: &str = concat!(
        "SELECT ",
        tx_cols!(),
        " FROM payme_transactions WHERE payme_time >= $1 AND payme_time <= $2 \
         ORDER BY payme_time, id"
    );
    let rows = sqlx::query_as::<_, Tx>(SQL)
        .bind(p.from)
        .bind(p.to)
        .fetch_all(&st.db.pool)
        .await?;
    let transactions: Vec<Value> = rows
        .iter()
        .map(|t| {
            json!({
                "id": t.payme_id,
                "time": t.payme_time,
                "amount": t.amount_minor,
                "account": serde_json::from_str::<Value>(&t.account_json).unwrap_or(Value::Null),
                "create_time": t.create_time,
                "perform_time": t.perform_time,
                "cancel_time": t.cancel_time,
                "transaction": t.id.to_string(),
                "state": t.state,
                "reason": t.reason,
            })
        })
        .collect();
    Ok(json!({ "transactions": transactions }))
}

/// SetFiscalData: Payme reports the fiscal receipt it registered for a perform or a cancel.
async fn set_fiscal_data(st: &AppState, p: &params::FiscalData) -> RpcResult {
    let data = Value::Object(p.fiscal_data.clone()).to_string();
    let sql = match p.kind {
        FiscalKind::Perform => "UPDATE payme_transactions SET fiscal_perform = $1 WHERE id = $2",
        FiscalKind::Cancel => "UPDATE payme_transactions SET fiscal_cancel = $1 WHERE id = $2",
    };
    let t = tx_required(st, &p.id).await?;
    sqlx::query(sql)
        .bind(data)
        .bind(t.id)
        .execute(&st.db.pool)
        .await?;
    Ok(json!({"success": true}))
}

#[cfg(test)]
mod spread_tests {
    use super::spread_discount;

    #[test]
    fn shares_add_up_and_stay_within_each_line() {
        assert_eq!(spread_discount(0, &[100, 200]), vec![0, 0]);
        assert_eq!(spread_discount(30, &[100, 200]), vec![10, 20]);
        assert_eq!(spread_discount(10, &[1, 1, 1]), vec![1, 1, 1]);
        for (d, totals) in [(7, vec![3, 3, 3]), (299, vec![100, 200]), (1, vec![5])] {
            let s = spread_discount(d, &totals);
            assert_eq!(s.iter().sum::<i64>(), d, "{d} over {totals:?}: {s:?}");
            assert!(s.iter().zip(&totals).all(|(s, t)| s <= t));
        }
    }
}
