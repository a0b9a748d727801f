//! `POST /webhooks/cryptopay`: Crypto Pay's `invoice_paid` updates.
//!
//! The signature is checked on the raw bytes before anything is read (a missing or wrong one
//! is answered 401 and changes nothing). An update acts only on an invoice the shop created
//! (kept in `provider_checkouts`), and pays its order through the lifecycle with the invoice
//! id as the payment id: a repeated update (Crypto Pay retries, and update ids repeat) finds
//! the payment recorded and changes nothing. The amount and currency paid are the invoice's
//! own (`amount` with `asset`, or with `fiat` for a fiat invoice): the lifecycle pays the order
//! only when they are exactly the order's, and flags anything else for refund.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use shared::{event_kind, PaymentMethod};

use super::{priced, signature};
use crate::db;
use crate::error::{Error, Result};
use crate::orders::lifecycle::{self, Outcome, PaymentSuccess};
use crate::orders::repo;
use crate::payments::order_of_checkout;
use crate::state::AppState;

const RAIL: PaymentMethod = PaymentMethod::Cryptopay;
pub const SIGNATURE_HEADER: &str = "crypto-pay-api-signature";

pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/cryptopay", post(webhook))
}

/// The update, once its signature holds. Pure, so it can be fuzzed like the other rails'.
pub(crate) fn parse_update(header: Option<&str>, body: &[u8], token: &str) -> Result<Value> {
    let unsigned = |m: &str| Error::Status {
        status: StatusCode::UNAUTHORIZED,
        code: "invalid_signature",
        message: m.to_string(),
    };
    let header =
        header.ok_or_else(|| unsigned("The crypto-pay-api-signature header is missing."))?;
    if !signature::verify(header, body, token) {
        tracing::warn!("crypto pay webhook with a wrong signature refused");
        return Err(unsigned(
            "crypto-pay-api-signature does not match the body for this shop's token.",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|_| Error::invalid("invalid_json", "The update is not JSON."))
}

async fn webhook(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let Some(cfg) = &st.config.cryptopay else {
        return Err(Error::NotFound("Crypto Pay is not configured.".into()));
    };
    let header = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let update = parse_update(header, &body, cfg.token.expose_secret())?;
    if update["update_type"] != "invoice_paid" {
        tracing::debug!(kind = %update["update_type"], "crypto pay update ignored");
        return Ok(Json(json!({"ok": true})));
    }
    let invoice = &update["payload"];
    let Some(invoice_id) = invoice["invoice_id"].as_i64() else {
        return Err(Error::invalid(
            "invalid_update",
            "The update names no invoice_id.",
        ));
    };
    let Some(order_id) = order_of_checkout(&st.db, RAIL, &invoice_id.to_string()).await? else {
        tracing::warn!(
            invoice_id,
            "crypto pay invoice the shop did not create; ignored"
        );
        return Ok(Json(json!({"ok": true})));
    };
    if invoice["status"] != "paid" {
        tracing::info!(invoice_id, status = %invoice["status"], "crypto pay invoice not paid; ignored");
        return Ok(Json(json!({"ok": true})));
    }
    pay_invoice(&st, order_id, invoice, &String::from_utf8_lossy(&body)).await?;
    Ok(Json(json!({"ok": true})))
}

/// Pays order `order_id` with its paid invoice `invoice` (one the shop created for it), the
/// webhook's way and the reconciliation's: through the lifecycle, once per invoice id, on the
/// invoice's own amount and asset (or fiat). `None` when the invoice's price is not one the
/// shop can compare with its own: nothing is paid then, and the order's timeline says why
/// (once, however often the invoice is seen).
pub(crate) async fn pay_invoice(
    st: &AppState,
    order_id: i64,
    invoice: &Value,
    raw: &str,
) -> Result<Option<Outcome>> {
    let invoice_id = invoice["invoice_id"].as_i64().unwrap_or_default();
    match priced(invoice) {
        Ok((amount_minor, currency)) => Ok(Some(
            lifecycle::paid(
                st,
                &PaymentSuccess {
                    order_id,
                    rail: RAIL,
                    provider_payment_id: invoice_id.to_string(),
                    amount_minor,
                    currency: currency.as_str().to_string(),
                    raw: Some(raw.to_string()),
                },
            )
            .await?,
        )),
        Err(why) => {
            tracing::warn!(
                order_id,
                invoice_id,
                why,
                "crypto pay invoice not paid to the order"
            );
            let note = format!("cryptopay invoice {invoice_id}: {why}");
            let mut conn = st.db.writer.acquire().await?;
            let seen: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM order_events WHERE order_id = $1 AND kind = $2 AND note = $3",
            )
            .bind(order_id)
            .bind(event_kind::PAYMENT_MISMATCH)
            .bind(&note)
            .fetch_one(&mut *conn)
            .await?;
            if seen == 0 {
                repo::event(
                    &mut conn,
                    order_id,
                    event_kind::PAYMENT_MISMATCH,
                    None,
                    Some(&note),
                    Some(RAIL.as_str()),
                    db::now(),
                )
                .await?;
            }
            Ok(None)
        }
    }
}
