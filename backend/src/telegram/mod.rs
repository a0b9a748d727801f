//! The Telegram bot: Bot API client, updates (webhook or long polling, each processed
//! once), commands, order messages. Payment updates are handed to `payments::stars`.
//! Chat messages leave through per-chat queues (`outbox`), so no update's handling waits
//! for Telegram's pace and one flooding chat cannot delay another buyer's payment.
//!
//! In dev mode (no bot token) none of this runs.

pub mod api;
pub mod commands;
pub mod notifier;
pub mod outbox;
pub mod run;
pub mod subscriptions;
pub mod texts;
pub mod updates;

pub use api::{Bot, BotError};

use axum::routing::post;
use axum::Router;

use crate::state::AppState;

/// `POST /webhooks/telegram` (merged into the payment webhooks).
pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/telegram", post(updates::webhook))
}

/// Customer routes under `/api` (subscriptions).
pub fn api_router() -> Router<AppState> {
    subscriptions::router()
}
