//! `POST /webhooks/stripe`: verified on the raw body, each event handled once, in any order.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use shared::{Currency, PaymentMethod};

use super::signature;
use crate::db;
use crate::error::{Error, Result};
use crate::orders::lifecycle::{self, By, Ending, PaymentSuccess, Refund};
use crate::payments::order_of_checkout;
use crate::payments::processed::{mark_seen, seen};
use crate::payments::refund::{provider_refund_failed, provider_refunded};
use crate::state::AppState;

const SOURCE: &str = "stripe";
const RAIL: PaymentMethod = PaymentMethod::Stripe;

pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/stripe", post(webhook))
}

/// Everything the webhook checks before it looks anything up: the signature over the raw body,
/// then that the body is a JSON event with an `id` and a `type`. Pure, so the fuzz targets
/// (fuzz/) call it as the route does.
pub(crate) fn parse_event(
    header: Option<&str>,
    body: &[u8],
    secret: &str,
    now: i64,
) -> Result<Value> {
    let header = header
        .ok_or_else(|| Error::invalid("invalid_signature", "Stripe-Signature is missing."))?;
    signature::verify(header, body, secret, now).map_err(|r| {
        tracing::warn!(reason = r.message(), "stripe webhook refused");
        Error::invalid("invalid_signature", r.message())
    })?;
    let event: Value = serde_json::from_slice(body)
        .map_err(|_| Error::invalid("invalid_json", "The event is not JSON."))?;
    if event["id"].as_str().is_none() || event["type"].as_str().is_none() {
        return Err(Error::invalid(
            "invalid_event",
            "The event has no id or type.",
        ));
    }
    Ok(event)
}

async fn webhook(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let Some(cfg) = &st.config.stripe else {
        return Err(Error::NotFound("Stripe is not configured.".into()));
    };
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    let event = parse_event(header, &body, cfg.webhook_secret.expose_secret(), db::now())?;
    // parse_event made sure both are strings.
    let id = event["id"].as_str().unwrap_or_default();
    let kind = event["type"].as_str().unwrap_or_default();
    if seen(&st.db, SOURCE, id).await? {
        return Ok(Json(json!({"received": true, "duplicate": true})));
    }
    let raw = String::from_utf8_lossy(&body);
    let obj = &event["data"]["object"];
    match kind {
        "checkout.session.completed" => {
            if obj["payment_status"] == "paid" {
                session_paid(&st, obj, &raw).await?;
            } else {
                // Bank debits and the like: the money comes later, in async_payment_succeeded.
                tracing::info!(event = id, order = %obj["client_reference_id"], "stripe session complete, payment pending");
            }
        }
        "checkout.session.async_payment_succeeded" => session_paid(&st, obj, &raw).await?,
        "checkout.session.async_payment_failed" => {
            if let Some(order_id) = order_of(&st, obj).await? {
                lifecycle::end_unpaid(
                    &st,
                    order_id,
                    Ending::PaymentFailed,
                    Some("Stripe payment failed"),
                    By::Rail(RAIL),
                )
                .await?;
            }
        }
        "checkout.session.expired" => {
            if let Some(order_id) = order_of(&st, obj).await? {
                lifecycle::end_unpaid(
                    &st,
                    order_id,
                    Ending::Expired,
                    Some("Stripe Checkout session expired"),
                    By::Rail(RAIL),
                )
                .await?;
            }
        }
        "charge.refunded" => {
            // The charge says how much is refunded in total, not by which refunds: ask Stripe
            // for them, so each counts once by its id (the admin's own call may have
            // recorded some already, or be about to).
            if let Some(pi) = id_of(&obj["payment_intent"]) {
                let stripe = super::Stripe::new(cfg, &st.config.public_url, &st.http);
                for r in stripe.refunds_of(pi).await? {
                    refunded(&st, id, pi, &r).await?;
                }
            }
        }
        "refund.created" | "refund.updated" | "charge.refund.updated" | "refund.failed" => {
            if obj["status"] == "failed" {
                // A refund can fail, even after it succeeded (the card was closed): Stripe puts
                // the money back in the shop's balance, so it stops counting as refunded.
                if let (Some(pi), Some(r)) = (id_of(&obj["payment_intent"]), super::any_refund(obj))
                {
                    if !provider_refund_failed(&st, RAIL, pi, &r).await? {
                        tracing::info!(event = id, refund = %r.provider_refund_id, "stripe refund failure changes nothing");
                    }
                }
            } else if let (Some(pi), Some(r)) =
                (id_of(&obj["payment_intent"]), super::refund_of(obj))
            {
                refunded(&st, id, pi, &r).await?;
            }
        }
        other => tracing::debug!(event = id, kind = other, "stripe event ignored"),
    }
    mark_seen(&st.db, SOURCE, id).await?;
    Ok(Json(json!({"received": true})))
}

async fn refunded(st: &AppState, event: &str, pi: &str, r: &Refund) -> Result<()> {
    if provider_refunded(st, RAIL, pi, r, By::Rail(RAIL))
        .await?
        .is_none()
    {
        tracing::info!(event, refund = %r.provider_refund_id, "stripe refund for a payment we do not know");
    }
    Ok(())
}

/// An expandable field: the id string, or the object's `id`.
fn id_of(v: &Value) -> Option<&str> {
    v.as_str().or_else(|| v["id"].as_str())
}

/// The shop order of a Checkout Session the shop opened; `None` for any other session. What
/// the session's metadata or client_reference_id say is not enough: a Payment Link or another
/// integration on the same Stripe account can put one of our order ids there, and its
/// expiry must not end our order (nor its payment pay for it).
async fn order_of(st: &AppState, session: &Value) -> Result<Option<i64>> {
    let found = match session["id"].as_str() {
        Some(id) => order_of_checkout(&st.db, PaymentMethod::Stripe, id).await?,
        None => None,
    };
    if found.is_none() {
        tracing::warn!(
            session = %session["id"],
            named = %session["client_reference_id"],
            "stripe session the shop did not open; ignored"
        );
    }
    Ok(found)
}

async fn session_paid(st: &AppState, session: &Value, raw: &str) -> Result<()> {
    let Some(order_id) = order_of(st, session).await? else {
        return Ok(());
    };
    let cur = session["currency"]
        .as_str()
        .and_then(|c| Currency::new(c).ok());
    let (Some(cur), Some(amount)) = (cur, session["amount_total"].as_i64()) else {
        return Err(Error::invalid(
            "invalid_event",
            "The session has no amount or currency.",
        ));
    };
    // The PaymentIntent is what refunds name; a session without one cannot be refunded,
    // so fall back to the session id only to keep the payment on record.
    let payment_id = id_of(&session["payment_intent"])
        .or_else(|| session["id"].as_str())
        .unwrap_or_default()
        .to_string();
    lifecycle::paid(
        st,
        &PaymentSuccess {
            order_id,
            rail: RAIL,
            provider_payment_id: payment_id,
            amount_minor: super::from_stripe(amount, &cur),
            currency: cur.as_str().to_string(),
            raw: Some(raw.to_string()),
        },
    )
    .await?;
    Ok(())
}
