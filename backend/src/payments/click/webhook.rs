//! `POST /webhooks/click/prepare` and `/webhooks/click/complete`.
//!
//! Checks run in the order of click-llc's own integration library (params, sign, action,
//! order, amount, already paid, prepare id, cancelled), so an answer never depends on what
//! a request could not have been checked for yet.

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use md5::{Digest, Md5};
use secrecy::ExposeSecret;
use serde::de::value::{Error as FormError, MapDeserializer};
use serde::{Deserialize, Deserializer};
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

/// The form as Click sent it, read through serde: a field missing, empty, sent twice or not a
/// number where Click sends ids is Click's -8 ("Error in request from click"). Strings are
/// kept exactly as received: the signature is over them (notably `amount`, which may come as
/// `15000` or `15000.00`, and is only read as money after the signature is checked, so a
/// bad one is -2). Fields Click sends beyond these (`error_note`) are let through: its
/// libraries read the form as a dictionary, and the set is not promised closed.
#[derive(Debug, Deserialize)]
struct Form {
    click_trans_id: Id,
    service_id: Text,
    #[serde(default, deserialize_with = "optional")]
    click_paydoc_id: Option<Text>,
    merchant_trans_id: Text,
    /// Only in Complete, where it is required.
    #[serde(default, deserialize_with = "optional")]
    merchant_prepare_id: Option<Id>,
    amount: Text,
    action: Text,
    /// Click's own outcome of the payment (Complete): below 0 it failed on Click's side.
    #[serde(default, deserialize_with = "click_error")]
    error: i64,
    sign_time: Text,
    sign_string: Text,
}

/// A form value that is not empty, as received.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
struct Text(String);

impl TryFrom<String> for Text {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.is_empty() {
            return Err("empty");
        }
        Ok(Text(s))
    }
}

impl Text {
    fn as_str(&self) -> &str {
        &self.0
    }
}

/// An id Click sends as a whole number (`click_trans_id`, `merchant_prepare_id`): the number,
/// and the text as received for the signature.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
struct Id {
    sent: String,
    value: i64,
}

impl TryFrom<String> for Id {
    type Error = &'static str;
    fn try_from(sent: String) -> Result<Self, Self::Error> {
        let value = sent.parse().map_err(|_| "not a whole number")?;
        Ok(Id { sent, value })
    }
}

/// An optional field: absent or empty is `None`.
fn optional<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<String, Error = &'static str>,
{
    let s = String::deserialize(d)?;
    if s.is_empty() {
        return Ok(None);
    }
    T::try_from(s).map(Some).map_err(serde::de::Error::custom)
}

/// `error`: absent or empty is 0, else a whole number (Click's codes, e.g. -5017).
fn click_error<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        return Ok(0);
    }
    s.trim()
        .parse()
        .map_err(|_| serde::de::Error::custom("error is not a whole number"))
}

/// The form's fields as serde reads them: each name with its value, in the order sent.
fn fields(
    body: &[u8],
) -> MapDeserializer<'_, impl Iterator<Item = (String, String)> + '_, FormError> {
    MapDeserializer::new(
        form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())),
    )
}

impl Form {
    /// The form, or why it is not one (for the log; Click gets -8).
    fn parse(body: &[u8], stage: Stage) -> Result<Form, String> {
        // A field sent twice is refused by serde ("duplicate field"): which one did Click sign?
        let f = Form::deserialize(fields(body)).map_err(|e| e.to_string())?;
        if stage == Stage::Complete && f.merchant_prepare_id.is_none() {
            return Err("missing field `merchant_prepare_id`".into());
        }
        Ok(f)
    }

    /// md5 over the plain concatenation Click documents for each stage.
    fn expected_sign(&self, secret: &str) -> String {
        let mut h = Md5::new();
        h.update(self.click_trans_id.sent.as_bytes());
        h.update(self.service_id.as_str().as_bytes());
        h.update(secret.as_bytes());
        h.update(self.merchant_trans_id.as_str().as_bytes());
        if let Some(p) = &self.merchant_prepare_id {
            h.update(p.sent.as_bytes());
        }
        h.update(self.amount.as_str().as_bytes());
        h.update(self.action.as_str().as_bytes());
        h.update(self.sign_time.as_str().as_bytes());
        hex::encode(h.finalize())
    }

    /// Whether `sign_string` is the signature with `secret`, compared in constant time.
    fn signed_with(&self, secret: &str) -> bool {
        let expected = self.expected_sign(secret);
        let given = self.sign_string.as_str().to_ascii_lowercase();
        bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
    }
}

/// What a request that is not a form still says about itself, for the answer's echo.
#[derive(Default, Deserialize)]
struct Echo {
    #[serde(default, deserialize_with = "optional")]
    click_trans_id: Option<Text>,
    #[serde(default, deserialize_with = "optional")]
    merchant_trans_id: Option<Text>,
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
    let f = Form::parse(body, stage).map_err(|_| E::ErrorInRequest as i64)?;
    if !f.signed_with(secret) {
        return Err(E::SignCheckFailed as i64);
    }
    if f.action.as_str() != stage.action() {
        return Err(E::ActionNotFound as i64);
    }
    let _ = raw_summary(&f);
    let uzs = Currency::new("UZS").expect("UZS");
    parse_major(f.amount.as_str(), &uzs).map_err(|_| E::IncorrectAmount as i64)
}

async fn handle(st: &AppState, body: &[u8], stage: Stage) -> Json<Value> {
    let form = Form::parse(body, stage);
    let (trans, merchant_trans) = match &form {
        Ok(f) => (
            Value::from(f.click_trans_id.value),
            Value::from(f.merchant_trans_id.as_str()),
        ),
        // Click still gets back the ids it sent, as far as they can be read: a number as a
        // number, anything else as the text.
        Err(_) => {
            let echo = Echo::deserialize(fields(body)).unwrap_or_default();
            let text = |t: Option<Text>| t.map_or(Value::Null, |t| Value::from(t.0));
            let trans = match echo.click_trans_id {
                Some(t) => t
                    .as_str()
                    .parse::<i64>()
                    .map_or_else(|_| text(Some(t.clone())), Value::from),
                None => Value::Null,
            };
            (trans, text(echo.merchant_trans_id))
        }
    };
    let (error, our_id) = match form {
        Err(why) => {
            tracing::info!(%why, "click request is not Click's form");
            (ClickError::ErrorInRequest, None)
        }
        Ok(f) => match decide(st, &f, stage).await {
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
    let click_trans_id = f.click_trans_id.value;
    let prepare_id = f.merchant_prepare_id.as_ref().map(|p| p.value);
    if !f.signed_with(cfg.secret_key.expose_secret()) {
        return Ok((E::SignCheckFailed, None));
    }
    if f.service_id.as_str() != cfg.service_id {
        return Ok((E::ErrorInRequest, None));
    }
    if f.action.as_str() != stage.action() {
        return Ok((E::ActionNotFound, None));
    }
    let Some(order) = order_by_reference(&st.db, f.merchant_trans_id.as_str()).await? else {
        return Ok((E::UserDoesNotExist, None));
    };
    let uzs = Currency::new("UZS").expect("UZS");
    match parse_major(f.amount.as_str(), &uzs) {
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
    .bind(f.click_paydoc_id.as_ref().map(|p| p.as_str().to_string()))
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
        "click_trans_id": f.click_trans_id.sent,
        "service_id": f.service_id.as_str(),
        "click_paydoc_id": f.click_paydoc_id.as_ref().map(Text::as_str),
        "merchant_trans_id": f.merchant_trans_id.as_str(),
        "merchant_prepare_id": f.merchant_prepare_id.as_ref().map(|p| p.sent.as_str()),
        "amount": f.amount.as_str(),
        "action": f.action.as_str(),
        "error": f.error,
        "sign_time": f.sign_time.as_str(),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cret";

    /// A form body signed as Click signs it, over the values as written here.
    fn body(pairs: &[(&str, &str)]) -> Vec<u8> {
        let get = |k: &str| pairs.iter().find(|(n, _)| *n == k).map_or("", |(_, v)| v);
        let sign = hex::encode(Md5::digest(
            [
                get("click_trans_id"),
                get("service_id"),
                SECRET,
                get("merchant_trans_id"),
                get("merchant_prepare_id"),
                get("amount"),
                get("action"),
                get("sign_time"),
            ]
            .concat()
            .as_bytes(),
        ));
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        s.append_pair("sign_string", &sign);
        s.finish().into_bytes()
    }

    fn prepare(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut p = vec![
            ("click_trans_id", "0123"),
            ("service_id", "40001"),
            ("click_paydoc_id", "77"),
            ("merchant_trans_id", "ref-1"),
            ("amount", "15000.00"),
            ("action", "0"),
            ("error", "0"),
            ("error_note", "Success"),
            ("sign_time", "2026-11-25 12:00:00"),
        ];
        for (k, v) in extra {
            match p.iter_mut().find(|(n, _)| n == k) {
                Some(p) => p.1 = v,
                None => p.push((k, v)),
            }
        }
        p
    }

    #[test]
    fn the_form_is_read_typed_and_signed_as_sent() {
        let f = Form::parse(&body(&prepare(&[])), Stage::Prepare).unwrap();
        // The number is read; the signature is over the text ("0123", not "123").
        assert_eq!(f.click_trans_id.value, 123);
        assert!(f.signed_with(SECRET));
        assert!(!f.signed_with("other"));
        assert_eq!(f.click_paydoc_id.as_ref().map(Text::as_str), Some("77"));
        assert_eq!((f.error, f.merchant_prepare_id.is_none()), (0, true));
        assert_eq!(
            check_form(&body(&prepare(&[])), false, SECRET),
            Ok(1_500_000)
        );
        let f = Form::parse(
            &body(&prepare(&[
                ("error", "-5017"),
                ("action", "1"),
                ("merchant_prepare_id", "9"),
            ])),
            Stage::Complete,
        )
        .unwrap();
        assert_eq!(
            (f.error, f.merchant_prepare_id.map(|p| p.value)),
            (-5017, Some(9))
        );
    }

    #[test]
    fn what_is_not_clicks_form_is_minus_8() {
        let minus_8 = |b: Vec<u8>, complete: bool| {
            assert_eq!(
                check_form(&b, complete, SECRET),
                Err(ClickError::ErrorInRequest as i64),
                "{}",
                String::from_utf8_lossy(&b)
            );
        };
        minus_8(body(&prepare(&[("click_trans_id", "12a")])), false);
        minus_8(body(&prepare(&[("error", "x")])), false);
        minus_8(body(&prepare(&[("merchant_trans_id", "")])), false);
        minus_8(
            body(&prepare(&[("action", "1"), ("merchant_prepare_id", "1.5")])),
            true,
        );
        // Complete without its prepare id.
        minus_8(body(&prepare(&[("action", "1")])), true);
        // A field sent twice: which one did Click sign?
        let mut twice = body(&prepare(&[]));
        twice.extend_from_slice(b"&amount=1.00");
        minus_8(twice, false);
        minus_8(Vec::new(), false);
        // Past the form: the signature (-1), then the action (-3), then the amount (-2).
        let mut forged = body(&prepare(&[]));
        forged.extend_from_slice(b"&card_type=uzcard");
        assert_eq!(check_form(&forged, false, "other"), Err(-1));
        assert_eq!(
            check_form(&body(&prepare(&[("action", "7")])), false, SECRET),
            Err(-3)
        );
        assert_eq!(
            check_form(&body(&prepare(&[("amount", "15000,00")])), false, SECRET),
            Err(-2)
        );
    }
}
