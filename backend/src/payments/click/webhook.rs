//! `POST /webhooks/click/prepare` and `/webhooks/click/complete`.
//!
//! Checks run in the order of click-llc's own integration library (params, sign, action,
//! order, amount, already paid, prepare id, cancelled), so an answer never depends on what
//! a request could not have been checked for yet.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use md5::{Digest, Md5};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use shared::money::parse_major;
use shared::Currency;
use subtle::ConstantTimeEq;

use shared::PaymentMethod;

use crate::db;
use crate::orders::lifecycle::{self, PaymentSuccess};
use crate::payments::payment_by_provider_id;
use crate::payments::uz::{awaiting, is_paid, order_by_reference};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/click/prepare", post(prepare).fallback(not_post))
        .route(
            "/webhooks/click/complete",
            post(complete).fallback(not_post),
        )
}

/// Click's answer codes (docs.click.uz/en/click-api-error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClickError {
    Success = 0,
    SignCheckFailed = -1,
    IncorrectAmount = -2,
    ActionNotFound = -3,
    AlreadyPaid = -4,
    UserDoesNotExist = -5,
    TransactionDoesNotExist = -6,
    FailedToUpdateUser = -7,
    ErrorInRequest = -8,
    TransactionCancelled = -9,
}

impl ClickError {
    pub fn note(self) -> &'static str {
        match self {
            ClickError::Success => "Success",
            ClickError::SignCheckFailed => "SIGN CHECK FAILED!",
            ClickError::IncorrectAmount => "Incorrect parameter amount",
            ClickError::ActionNotFound => "Action not found",
            ClickError::AlreadyPaid => "Already paid",
            ClickError::UserDoesNotExist => "User does not exist",
            ClickError::TransactionDoesNotExist => "Transaction does not exist",
            ClickError::FailedToUpdateUser => "Failed to update user",
            ClickError::ErrorInRequest => "Error in request from click",
            ClickError::TransactionCancelled => "Transaction cancelled",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Prepare,
    Complete,
}

impl Stage {
    fn action(self) -> &'static str {
        match self {
            Stage::Prepare => "0",
            Stage::Complete => "1",
        }
    }
}

/// The form as Click sent it. Strings are kept exactly as received: the signature is over
/// them (notably `amount`, which may come as `15000` or `15000.00`).
struct Form {
    click_trans_id: String,
    service_id: String,
    click_paydoc_id: Option<String>,
    merchant_trans_id: String,
    merchant_prepare_id: Option<String>,
    amount: String,
    action: String,
    error: i64,
    sign_time: String,
    sign_string: String,
}

impl Form {
    fn parse(body: &[u8], stage: Stage) -> Option<Form> {
        let mut m: HashMap<String, String> = HashMap::new();
        for (k, v) in form_urlencoded::parse(body) {
            // A field sent twice is ambiguous: which one did Click sign?
            if m.insert(k.into_owned(), v.into_owned()).is_some() {
                return None;
            }
        }
        let mut take = |k: &str| m.remove(k).filter(|v| !v.is_empty());
        let f = Form {
            click_trans_id: take("click_trans_id")?,
            service_id: take("service_id")?,
            click_paydoc_id: take("click_paydoc_id"),
            merchant_trans_id: take("merchant_trans_id")?,
            merchant_prepare_id: take("merchant_prepare_id"),
            amount: take("amount")?,
            action: take("action")?,
            error: match take("error") {
                Some(e) => e.trim().parse().ok()?,
                None => 0,
            },
            sign_time: take("sign_time")?,
            sign_string: take("sign_string")?,
        };
        if stage == Stage::Complete && f.merchant_prepare_id.is_none() {
            return None;
        }
        Some(f)
    }

    /// md5 over the plain concatenation Click documents for each stage.
    fn expected_sign(&self, secret: &str) -> String {
        let mut h = Md5::new();
        h.update(self.click_trans_id.as_bytes());
        h.update(self.service_id.as_bytes());
        h.update(secret.as_bytes());
        h.update(self.merchant_trans_id.as_bytes());
        if let Some(p) = &self.merchant_prepare_id {
            h.update(p.as_bytes());
        }
        h.update(self.amount.as_bytes());
        h.update(self.action.as_bytes());
        h.update(self.sign_time.as_bytes());
        hex::encode(h.finalize())
    }
}

/// The answer: always HTTP 200 JSON.
struct Reply {
    stage: Stage,
    click_trans_id: Value,
    merchant_trans_id: Value,
    our_id: Option<i64>,
    error: ClickError,
}

impl Reply {
    fn into_json(self) -> Json<Value> {
        let id_key = match self.stage {
            Stage::Prepare => "merchant_prepare_id",
            Stage::Complete => "merchant_confirm_id",
        };
        Json(json!({
            "click_trans_id": self.click_trans_id,
            "merchant_trans_id": self.merchant_trans_id,
            id_key: self.our_id,
            "error": self.error as i64,
            "error_note": self.error.note(),
        }))
    }
}

/// Click only POSTs; anything else still gets Click's answer shape.
async fn not_post() -> Json<Value> {
    Reply {
        stage: Stage::Prepare,
        click_trans_id: Value::Null,
        merchant_trans_id: Value::Null,
        our_id: None,
        error: ClickError::ErrorInRequest,
    }
    .into_json()
}

async fn prepare(State(st): State<AppState>, body: Bytes) -> Json<Value> {
    handle(&st, &body, Stage::Prepare).await
}

async fn complete(State(st): State<AppState>, body: Bytes) -> Json<Value> {
    handle(&st, &body, Stage::Complete).await
}

/// The checks `decide` makes before it reads the database, in its order: the form, the ids,
/// the signature and the amount in UZS. `Err` is the Click error the request would get. Pure,
/// so the fuzz targets (fuzz/) run Click's parsing without a database.
pub(crate) fn check_form(body: &[u8], complete: bool, secret: &str) -> Result<i64, i64> {
    use ClickError as E;
    let stage = if complete {
        Stage::Complete
    } else {
        Stage::Prepare
    };
    let f = Form::parse(body, stage).ok_or(E::ErrorInRequest as i64)?;
    f.click_trans_id
        .parse::<i64>()
        .map_err(|_| E::ErrorInRequest as i64)?;
    if let Some(p) = &f.merchant_prepare_id {
        p.parse::<i64>().map_err(|_| E::ErrorInRequest as i64)?;
    }
    let expected = f.expected_sign(secret);
    let given = f.sign_string.to_ascii_lowercase();
    if !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
        return Err(E::SignCheckFailed as i64);
    }
    if f.action != stage.action() {
        return Err(E::ActionNotFound as i64);
    }
    let _ = raw_summary(&f);
    let uzs = Currency::new("UZS").expect("UZS");
    parse_major(&f.amount, &uzs).map_err(|_| E::IncorrectAmount as i64)
}

async fn handle(st: &AppState, body: &[u8], stage: Stage) -> Json<Value> {
    let form = Form::parse(body, stage);
    let (trans, merchant_trans) = match &form {
        Some(f) => (
            f.click_trans_id
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::from(f.click_trans_id.clone())),
            Value::from(f.merchant_trans_id.clone()),
        ),
        None => (Value::Null, Value::Null),
    };
    let (error, our_id) = match form {
        None => (ClickError::ErrorInRequest, None),
        Some(f) => match decide(st, &f, stage).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "click webhook failed");
                (ClickError::FailedToUpdateUser, None)
            }
        },
    };
    if error != ClickError::Success {
        tracing::info!(?error, click_trans_id = %trans, "click request refused");
    }
    Reply {
        stage,
        click_trans_id: trans,
        merchant_trans_id: merchant_trans,
        our_id,
        error,
    }
    .into_json()
}

#[derive(shop_macros::FromRow)]
struct Attempt {
    id: i64,
    click_trans_id: i64,
    order_id: i64,
    state: String,
}

async fn attempt_by_trans(
    st: &AppState,
    click_trans_id: i64,
) -> crate::error::Result<Option<Attempt>> {
    Ok(sqlx::query_as::<_, Attempt>(
        "SELECT id, click_trans_id, order_id, state FROM click_attempts WHERE click_trans_id = $1",
    )
    .bind(click_trans_id)
    .fetch_optional(&st.db.pool)
    .await?)
}

/// Whether this Click attempt's payment is recorded.
async fn paid_by(st: &AppState, click_trans_id: i64) -> crate::error::Result<bool> {
    Ok(
        payment_by_provider_id(&st.db, PaymentMethod::Click, &click_trans_id.to_string())
            .await?
            .is_some(),
    )
}

async fn decide(
    st: &AppState,
    f: &Form,
    stage: Stage,
) -> crate::error::Result<(ClickError, Option<i64>)> {
    use ClickError as E;
    let Some(cfg) = st.config.click.as_ref() else {
        // Without our secret nothing Click sends can be verified.
        return Ok((E::SignCheckFailed, None));
    };
    let Ok(click_trans_id) = f.click_trans_id.parse::<i64>() else {
        return Ok((E::ErrorInRequest, None));
    };
    let prepare_id = match &f.merchant_prepare_id {
        Some(p) => match p.parse::<i64>() {
            Ok(p) => Some(p),
            Err(_) => return Ok((E::ErrorInRequest, None)),
        },
        None => None,
    };
    let expected = f.expected_sign(cfg.secret_key.expose_secret());
    let given = f.sign_string.to_ascii_lowercase();
    if !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
        return Ok((E::SignCheckFailed, None));
    }
    if f.service_id != cfg.service_id {
        return Ok((E::ErrorInRequest, None));
    }
    if f.action != stage.action() {
        return Ok((E::ActionNotFound, None));
    }
    let Some(order) = order_by_reference(&st.db, &f.merchant_trans_id).await? else {
        return Ok((E::UserDoesNotExist, None));
    };
    let uzs = Currency::new("UZS").expect("UZS");
    match parse_major(&f.amount, &uzs) {
        Ok(a) if a == order.total_minor => {}
        _ => return Ok((E::IncorrectAmount, None)),
    }
    let existing = attempt_by_trans(st, click_trans_id).await?;
    // Another order's attempt under this click_trans_id is not a retry of this one.
    if existing.as_ref().is_some_and(|a| a.order_id != order.id) {
        return Ok((E::ErrorInRequest, None));
    }
    let mine = existing.as_ref().map(|a| a.id);
    if is_paid(&st.db, order.id).await? {
        // A repeat of a confirmed attempt also lands here: it gets -4 again, with the same
        // merchant_confirm_id, and nothing is fulfilled twice.
        let confirmed = match &existing {
            Some(a) if a.state == "confirmed" => Some(a.id),
            // A concurrent repeat may have paid it a moment ago, before marking it confirmed.
            Some(a) if a.state == "prepared" && paid_by(st, click_trans_id).await? => Some(a.id),
            _ => None,
        };
        return Ok((
            E::AlreadyPaid,
            if stage == Stage::Complete {
                confirmed
            } else {
                mine
            },
        ));
    }
    match stage {
        Stage::Prepare => prepare_attempt(st, f, click_trans_id, &order, existing).await,
        Stage::Complete => {
            complete_attempt(
                st,
                f,
                click_trans_id,
                prepare_id.unwrap_or(0),
                &order,
                existing,
            )
            .await
        }
    }
}

async fn prepare_attempt(
    st: &AppState,
    f: &Form,
    click_trans_id: i64,
    order: &crate::orders::repo::OrderHead,
    existing: Option<Attempt>,
) -> crate::error::Result<(ClickError, Option<i64>)> {
    use ClickError as E;
    if let Some(a) = existing {
        return Ok(match a.state.as_str() {
            "prepared" if awaiting(order) => (E::Success, Some(a.id)),
            "confirmed" => (E::AlreadyPaid, Some(a.id)),
            _ => (E::TransactionCancelled, Some(a.id)),
        });
    }
    if !awaiting(order) {
        return Ok((E::TransactionCancelled, None));
    }
    let now = db::now();
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO click_attempts (click_trans_id, click_paydoc_id, order_id, amount_minor, state, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, 'prepared', $5, $5) \
         ON CONFLICT (click_trans_id) DO NOTHING RETURNING id",
    )
    .bind(click_trans_id)
    .bind(f.click_paydoc_id.as_deref())
    .bind(order.id)
    .bind(order.total_minor)
    .bind(now)
    .fetch_optional(&st.db.pool)
    .await?;
    match inserted {
        Some(id) => Ok((E::Success, Some(id))),
        // The same Prepare racing itself: answer what the winner stored.
        None => match attempt_by_trans(st, click_trans_id).await? {
            Some(a) if a.order_id == order.id && a.state == "prepared" => {
                Ok((E::Success, Some(a.id)))
            }
            _ => Ok((E::ErrorInRequest, None)),
        },
    }
}

async fn complete_attempt(
    st: &AppState,
    f: &Form,
    click_trans_id: i64,
    prepare_id: i64,
    order: &crate::orders::repo::OrderHead,
    existing: Option<Attempt>,
) -> crate::error::Result<(ClickError, Option<i64>)> {
    use ClickError as E;
    let Some(a) = existing.filter(|a| a.id == prepare_id && a.click_trans_id == click_trans_id)
    else {
        return Ok((E::TransactionDoesNotExist, None));
    };
    if a.state == "cancelled" {
        return Ok((E::TransactionCancelled, Some(a.id)));
    }
    let now = db::now();
    if f.error < 0 {
        // Click could not take the money (e.g. -5017): this attempt ends, the order does not.
        // It keeps its reservation until it lapses, so the buyer can try again (another card,
        // another rail); and nobody can end someone else's order by failing an attempt at it.
        sqlx::query(
            "UPDATE click_attempts SET state = 'cancelled', click_error = $1, updated_at = $2 \
             WHERE id = $3 AND state = 'prepared'",
        )
        .bind(f.error)
        .bind(now)
        .bind(a.id)
        .execute(&st.db.pool)
        .await?;
        return Ok((E::TransactionCancelled, Some(a.id)));
    }
    if !awaiting(order) {
        // Expired or cancelled meanwhile: refuse, so Click gives the money back itself.
        sqlx::query(
            "UPDATE click_attempts SET state = 'cancelled', updated_at = $1 WHERE id = $2 AND state = 'prepared'",
        )
        .bind(now)
        .bind(a.id)
        .execute(&st.db.pool)
        .await?;
        return Ok((E::TransactionCancelled, Some(a.id)));
    }
    lifecycle::paid(
        st,
        &PaymentSuccess {
            order_id: order.id,
            rail: PaymentMethod::Click,
            provider_payment_id: click_trans_id.to_string(),
            amount_minor: order.total_minor,
            currency: "UZS".into(),
            raw: Some(raw_summary(f)),
        },
    )
    .await?;
    sqlx::query(
        "UPDATE click_attempts SET state = 'confirmed', updated_at = $1 WHERE id = $2 AND state = 'prepared'",
    )
    .bind(now)
    .bind(a.id)
    .execute(&st.db.pool)
    .await?;
    // A lost race with another rail is recorded by the lifecycle and flagged for refund: the
    // money did arrive, so Click is told it was accepted.
    Ok((E::Success, Some(a.id)))
}

/// What Click sent, minus the signature, for the payment's audit trail.
fn raw_summary(f: &Form) -> String {
    json!({
        "click_trans_id": f.click_trans_id,
        "service_id": f.service_id,
        "click_paydoc_id": f.click_paydoc_id,
        "merchant_trans_id": f.merchant_trans_id,
        "merchant_prepare_id": f.merchant_prepare_id,
        "amount": f.amount,
        "action": f.action,
        "error": f.error,
        "sign_time": f.sign_time,
    })
    .to_string()
}
