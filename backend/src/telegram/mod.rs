//! The Telegram bot: Bot API client, updates (webhook or long polling, each processed
//! once), commands, order messages. A leaf: payment updates are handed to the
//! [`PaymentUpdates`] registered at startup (`payments::stars`), and handlers take the bot's
//! own narrow [`BotState`], never the whole app's.
//! Chat messages leave through per-chat queues (`outbox`), so no update's handling waits
//! for Telegram's pace and one flooding chat cannot delay another buyer's payment.
//!
//! Inline mode (`inline`) lists products in any chat; `reminders` tells customers who started
//! the bot about a cart they left.
//!
//! In dev mode (no bot token) none of this runs.

pub mod api;
pub mod commands;
pub mod inline;
pub mod notifier;
pub mod outbox;
pub mod payments;
pub mod reminders;
pub mod run;
pub mod texts;
pub mod updates;

pub use api::{Bot, BotError};
pub use payments::PaymentUpdates;

use std::sync::Arc;

use axum::routing::post;
use axum::Router;

use crate::config::Config;
use crate::db::Db;

/// What the bot's handlers and tasks need: the database, the settings, outbound HTTP, and the
/// handler of payment updates.
#[derive(Clone)]
pub struct BotState {
    pub db: Db,
    pub config: Arc<Config>,
    pub http: reqwest::Client,
    pub payments: Arc<dyn PaymentUpdates>,
}

/// `POST /webhooks/telegram` (mounted at startup beside the payment webhooks).
pub fn router() -> Router<BotState> {
    Router::new().route("/webhooks/telegram", post(updates::webhook))
}
