//! The bot's background life: setup (webhook or not, commands, menu button), long polling
//! when there is no webhook, and Stars reconciliation. None of it blocks start-up: an
//! unreachable Bot API is logged and retried with growing pauses.

use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::{json, Value};
use shared::Lang;
use tokio::task::JoinHandle;

use crate::payments::stars::reconcile;
use crate::state::AppState;
use crate::telegram::commands::{app_url, command_list};
use crate::telegram::texts::t;
use crate::telegram::{updates, Bot, BotError};

pub const ALLOWED_UPDATES: [&str; 3] = ["message", "pre_checkout_query", "shipping_query"];
/// Long-poll wait; below the shared HTTP client's 15 s timeout.
const POLL_SECS: u64 = 10;
const RECONCILE_EVERY: Duration = Duration::from_secs(300);

/// Whether updates come by webhook: `TELEGRAM_WEBHOOK_SECRET` set and `PUBLIC_URL` https.
pub fn webhook_mode(st: &AppState) -> bool {
    st.config.telegram_webhook_secret.is_some() && st.config.public_url.starts_with("https://")
}

/// Starts the bot's tasks; none in dev mode.
pub fn spawn(st: &AppState) -> Vec<JoinHandle<()>> {
    let Some(bot) = Bot::from_config(&st.config, &st.http) else {
        return vec![];
    };
    let mut tasks = vec![];
    let (s, b) = (st.clone(), bot.clone());
    tasks.push(tokio::spawn(async move { setup_until_done(&s, &b).await }));
    if !webhook_mode(st) {
        let (s, b) = (st.clone(), bot.clone());
        tasks.push(tokio::spawn(async move { poll(&s, &b).await }));
    }
    let s = st.clone();
    tasks.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(RECONCILE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut from = 0;
        loop {
            tick.tick().await;
            match reconcile::scan(&s, &bot, from).await {
                Ok((_, next)) => from = next,
                Err(e) => tracing::warn!(error = %e, "Stars reconciliation failed"),
            }
            forget_old_updates(&s).await;
        }
    }));
    tasks
}

/// The next pause after a failure: doubles from 1 s up to `max`.
fn backoff(prev: Duration, max: Duration) -> Duration {
    (prev * 2).clamp(Duration::from_secs(1), max)
}

async fn setup_until_done(st: &AppState, bot: &Bot) {
    let mut pause = Duration::ZERO;
    loop {
        match setup(st, bot).await {
            Ok(()) => {
                tracing::info!(webhook = webhook_mode(st), "Telegram bot set up");
                return;
            }
            Err(e) => {
                pause = backoff(pause, Duration::from_secs(300));
                tracing::warn!(error = %e, retry_in = ?pause, "Telegram bot setup failed");
                tokio::time::sleep(pause).await;
            }
        }
    }
}

async fn setup(st: &AppState, bot: &Bot) -> Result<(), BotError> {
    let public = &st.config.public_url;
    if let (true, Some(secret)) = (webhook_mode(st), &st.config.telegram_webhook_secret) {
        bot.call::<Value>(
            "setWebhook",
            &json!({
                "url": format!("{public}/webhooks/telegram"),
                "secret_token": secret.expose_secret(),
                "allowed_updates": ALLOWED_UPDATES,
                "max_connections": 40,
            }),
        )
        .await?;
    } else {
        // getUpdates is refused while a webhook is set (e.g. left by a deployed copy).
        bot.call::<Value>("deleteWebhook", &json!({"drop_pending_updates": false}))
            .await?;
    }
    bot.call::<Value>(
        "setMyCommands",
        &json!({"commands": command_list(Lang::En)}),
    )
    .await?;
    for lang in Lang::ALL {
        bot.call::<Value>(
            "setMyCommands",
            &json!({"commands": command_list(lang), "language_code": lang.code()}),
        )
        .await?;
    }
    // Telegram opens only https Mini Apps from the menu button.
    if public.starts_with("https://") {
        bot.call::<Value>(
            "setChatMenuButton",
            &json!({"menu_button": {"type": "web_app", "text": t(Lang::En, "menu"),
                "web_app": {"url": app_url(public, None)}}}),
        )
        .await?;
    }
    Ok(())
}

/// Long polling: `getUpdates` with the offset after the last handled update. An update
/// whose handling fails is retried a few times, then skipped (reconciliation still finds a
/// missed payment).
async fn poll(st: &AppState, bot: &Bot) {
    let mut offset: i64 = 0;
    let mut pause = Duration::ZERO;
    let mut failures: u32 = 0;
    loop {
        let got = bot
            .call_timeout::<Vec<Value>>(
                "getUpdates",
                &json!({"offset": offset, "timeout": POLL_SECS, "limit": 100,
                    "allowed_updates": ALLOWED_UPDATES}),
                Some(Duration::from_secs(POLL_SECS + 5)),
            )
            .await;
        let updates = match got {
            Ok(u) => {
                pause = Duration::ZERO;
                u
            }
            Err(e) => {
                let max = match &e {
                    BotError::Api { code: 401, .. } | BotError::Api { code: 404, .. } => {
                        Duration::from_secs(600)
                    }
                    _ => Duration::from_secs(60),
                };
                pause = match &e {
                    BotError::Api {
                        retry_after: Some(s),
                        ..
                    } => Duration::from_secs(*s),
                    _ => backoff(pause, max),
                };
                tracing::warn!(error = %e, retry_in = ?pause, "getUpdates failed");
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        for u in &updates {
            let id = u["update_id"].as_i64().unwrap_or(offset);
            if id < offset {
                continue;
            }
            match updates::handle(st, bot, u).await {
                Ok(()) => {
                    offset = id + 1;
                    failures = 0;
                }
                Err(_) if failures < 4 => {
                    failures += 1;
                    tokio::time::sleep(Duration::from_secs(1 << failures)).await;
                    break;
                }
                Err(e) => {
                    tracing::error!(update_id = id, error = %e, "skipping an update that keeps failing");
                    offset = id + 1;
                    failures = 0;
                }
            }
        }
    }
}

/// Telegram keeps an update at most 24 hours, so remembering ids for a week is plenty.
async fn forget_old_updates(st: &AppState) {
    let r =
        sqlx::query("DELETE FROM processed_events WHERE source = 'telegram' AND created_at < $1")
            .bind(crate::db::now() - 7 * 86_400)
            .execute(&st.db.pool)
            .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "could not prune processed Telegram updates");
    }
}
