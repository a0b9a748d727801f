//! One dispatcher for every update, whether it came by webhook or by polling. Each
//! `update_id` is remembered in `processed_events`, so a redelivered update changes nothing;
//! payments are in any case keyed by their charge id.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::db;
use crate::error::{Error, Result};
use crate::payments::stars::updates as pay;
use crate::payments::telegram_invoice;
use crate::state::AppState;
use crate::telegram::{commands, Bot};

/// Handles one update exactly once. An error un-remembers it so a redelivery retries.
pub async fn handle(st: &AppState, bot: &Bot, update: &Value) -> Result<()> {
    let Some(id) = update["update_id"].as_i64() else {
        return Ok(());
    };
    let fresh: Option<String> = sqlx::query_scalar(
        "INSERT INTO processed_events (source, event_id, created_at) VALUES ('telegram', $1, $2) \
         ON CONFLICT (source, event_id) DO NOTHING RETURNING event_id",
    )
    .bind(id.to_string())
    .bind(db::now())
    .fetch_optional(&st.db.pool)
    .await?;
    if fresh.is_none() {
        tracing::debug!(update_id = id, "update seen before");
        return Ok(());
    }
    if let Err(e) = dispatch(st, bot, update).await {
        tracing::warn!(update_id = id, error = %e, "update failed; it will be retried");
        let _ =
            sqlx::query("DELETE FROM processed_events WHERE source = 'telegram' AND event_id = $1")
                .bind(id.to_string())
                .execute(&st.db.pool)
                .await;
        return Err(e);
    }
    Ok(())
}

async fn dispatch(st: &AppState, bot: &Bot, u: &Value) -> Result<()> {
    if u["pre_checkout_query"].is_object() {
        return pay::pre_checkout(st, bot, &u["pre_checkout_query"]).await;
    }
    if u["shipping_query"].is_object() {
        return telegram_invoice::shipping_query(st, bot, &u["shipping_query"]).await;
    }
    let msg = &u["message"];
    if msg.is_object() {
        if msg["successful_payment"].is_object() {
            return pay::successful_payment(st, bot, msg).await;
        }
        if msg["refunded_payment"].is_object() {
            return pay::refunded_payment(st, msg).await;
        }
        if msg["text"].as_str().is_some_and(|t| t.starts_with('/')) {
            return commands::handle(st, bot, msg).await;
        }
    }
    Ok(())
}

/// `POST /webhooks/telegram`: only Telegram knows the secret given to setWebhook.
pub async fn webhook(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
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
