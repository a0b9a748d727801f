//! One dispatcher for every update, whether it came by webhook or by polling. Each handled
//! `update_id` is remembered in `processed_events`, so a redelivered update changes nothing;
//! payments are in any case keyed by their charge id.
//!
//! Handling never waits for Telegram's pace: chat replies are queued (`outbox`), payment
//! answers are single Bot API calls. So a webhook request is acknowledged as soon as the
//! update's effect is stored, and the polling loop moves on just as fast.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::db;
use crate::error::{Error, Result};
use crate::telegram::payments::{PaymentMessage, PreCheckoutQuery};
use crate::telegram::{commands, inline, reminders, Bot, BotState};

/// Handles an update unless it was handled before.
///
/// The update is remembered only after its handling succeeded, so one that failed, or was
/// cut off (the webhook request timed out, the polling loop's limit ran out, the process
/// stopped), is handled again when Telegram delivers it again. The price is that an update
/// delivered twice at the same moment may be handled twice: every payment effect is keyed
/// by its charge or refund id and counts once anyway, and a command is at worst answered
/// twice.
pub async fn handle(st: &BotState, bot: &Bot, update: &Value) -> Result<()> {
    let Some(id) = update["update_id"].as_i64() else {
        return Ok(());
    };
    let id = id.to_string();
    let seen: Option<String> = sqlx::query_scalar(
        "SELECT event_id FROM processed_events WHERE source = 'telegram' AND event_id = $1",
    )
    .bind(&id)
    .fetch_optional(&st.db.pool)
    .await?;
    if seen.is_some() {
        tracing::debug!(update_id = id, "update seen before");
        return Ok(());
    }
    if let Err(e) = dispatch(st, bot, update).await {
        tracing::warn!(update_id = id, error = %e, "update failed; it will be retried");
        return Err(e);
    }
    sqlx::query(
        "INSERT INTO processed_events (source, event_id, created_at) VALUES ('telegram', $1, $2) \
         ON CONFLICT (source, event_id) DO NOTHING",
    )
    .bind(&id)
    .bind(db::now())
    .execute(&st.db.pool)
    .await?;
    Ok(())
}

/// Whether an update is a payment message: `successful_payment` (first payments and
/// subscription renewals alike) or `refunded_payment`.
pub fn is_payment(u: &Value) -> bool {
    let msg = &u["message"];
    msg["successful_payment"].is_object() || msg["refunded_payment"].is_object()
}

/// Whether an update is a query Telegram gives us seconds to answer.
pub fn is_query(u: &Value) -> bool {
    u["pre_checkout_query"].is_object() || u["shipping_query"].is_object()
}

async fn dispatch(st: &BotState, bot: &Bot, u: &Value) -> Result<()> {
    if u["pre_checkout_query"].is_object() {
        let Some(q) = typed::<PreCheckoutQuery>(&u["pre_checkout_query"]) else {
            return Ok(());
        };
        return st.payments.pre_checkout(bot, &q).await;
    }
    if u["shipping_query"].is_object() {
        return st.payments.shipping_query(bot, &u["shipping_query"]).await;
    }
    if u["inline_query"].is_object() {
        // Answered on a task of its own: nothing behind it waits (see `inline`).
        if let Some(q) = typed::<inline::InlineQuery>(&u["inline_query"]) {
            inline::spawn_answer(st, bot, q);
        }
        return Ok(());
    }
    if u["my_chat_member"].is_object() {
        return reminders::chat_member(&st.db, &u["my_chat_member"]).await;
    }
    let msg = &u["message"];
    if msg.is_object() {
        if let Some(m) = payment_message(msg, "successful_payment") {
            return st.payments.successful_payment(bot, &m).await;
        }
        if let Some(m) = payment_message(msg, "refunded_payment") {
            return st.payments.refunded_payment(&m).await;
        }
        if msg["text"].as_str().is_some_and(|t| t.starts_with('/')) {
            return commands::handle(st, bot, msg).await;
        }
    }
    Ok(())
}

/// An update's part as its type; `None` (logged) when Telegram sent something else.
fn typed<T: serde::de::DeserializeOwned>(v: &Value) -> Option<T> {
    serde_json::from_value(v.clone())
        .map_err(|e| tracing::warn!(error = %e, "Telegram update of an unexpected shape; ignored"))
        .ok()
}

/// `message.<field>` as a typed payment message, if the message carries one.
fn payment_message<P: serde::de::DeserializeOwned>(
    msg: &Value,
    field: &str,
) -> Option<PaymentMessage<P>> {
    let raw = &msg[field];
    if !raw.is_object() {
        return None;
    }
    Some(PaymentMessage {
        from: typed(&msg["from"]),
        payment: typed(raw)?,
        raw: raw.clone(),
    })
}

/// `POST /webhooks/telegram`: only Telegram knows the secret given to setWebhook.
pub async fn webhook(State(st): State<BotState>, headers: HeaderMap, body: Bytes) -> Response {
    let expected = st.config.telegram_webhook_secret.as_ref();
    let given = headers
        .get("x-telegram-bot-api-secret-token")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let ok = expected.is_some_and(|s| bool::from(s.expose_secret().as_bytes().ct_eq(given)));
    let bot = Bot::from_config(&st.config, &st.http);
    let (true, Some(bot)) = (ok, bot) else {
        return Error::Unauthorized("Wrong or missing X-Telegram-Bot-Api-Secret-Token.".into())
            .into_response();
    };
    let Ok(update) = serde_json::from_slice::<Value>(&body) else {
        return Error::invalid("invalid_update", "The body is not a Telegram update.")
            .into_response();
    };
    match handle(&st, &bot, &update).await {
        Ok(()) => StatusCode::OK.into_response(),
        // Non-2xx makes Telegram deliver it again later.
        Err(e) => e.into_response(),
    }
}
