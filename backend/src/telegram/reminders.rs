//! Cart reminders: a cart left unchanged for `CART_REMINDER_HOURS` gets one message through
//! the bot, in the customer's language, with a button that opens the Mini App at the cart.
//!
//! Who may get one: a bot can write only to users who started it, so the shop records every
//! user who writes to the bot in private (`bot_users`); `/stop` (or blocking the bot) turns
//! reminders off and `/start` turns them back on. A customer the bot never heard from is never written to.
//!
//! Once per cart: the cart module stamps `customers.cart_changed_at` whenever the cart's
//! contents change, and the job clears the stamp when it reminds (or passes a cart over), in
//! one conditional UPDATE that only one caller can win. A cart changed after its reminder is
//! stamped again and may be reminded once more. Rounds are claimed with `Db::try_exclusive`,
//! so of several shop processes one does each round; the per-cart claim holds even without.

use std::time::Duration;

use serde_json::Value;
use shared::Lang;
use tokio::task::JoinHandle;

use crate::db::Db;
use crate::error::Result;
use crate::telegram::commands::with_open_button;
use crate::telegram::outbox::Kind;
use crate::telegram::texts::{lang_of, t};
use crate::telegram::{Bot, BotState};

/// The database-wide lock a reminder round holds (`Db::try_exclusive`).
const REMINDER_LOCK: i64 = 0x5245_4D49_4E44; // "REMIND"
/// How often the job looks for carts due.
const EVERY: Duration = Duration::from_secs(300);
/// Carts read per batch, and batches per round: at most 1000 reminders a round, which the
/// bot's outbox sends at Telegram's bulk pace (about 30 a second) in the background.
const BATCH: i64 = 100;
const BATCHES: usize = 10;
/// The Mini App's start parameter that opens the cart.
pub const CART_START: &str = "cart";

/// Notes that a user wrote to the bot in private (so it may write back). `start`: they sent
/// `/start`, which also turns cart reminders back on after a `/stop`.
pub async fn record_user(db: &Db, user_id: i64, language: Option<&str>, start: bool) -> Result<()> {
    let now = crate::db::now();
    let sql = if start {
        "INSERT INTO bot_users (user_id, language_code, started_at, stopped, updated_at) \
         VALUES ($1, $2, $3, 0, $3) ON CONFLICT (user_id) DO UPDATE SET \
         language_code = excluded.language_code, stopped = 0, updated_at = excluded.updated_at"
    } else {
        "INSERT INTO bot_users (user_id, language_code, started_at, stopped, updated_at) \
         VALUES ($1, $2, $3, 0, $3) ON CONFLICT (user_id) DO UPDATE SET \
         language_code = excluded.language_code, updated_at = excluded.updated_at"
    };
    sqlx::query(sql)
        .bind(user_id)
        .bind(language)
        .bind(now)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// `/stop`: no more cart reminders for this user until their next `/start`.
pub async fn record_stop(db: &Db, user_id: i64, language: Option<&str>) -> Result<()> {
    let now = crate::db::now();
    sqlx::query(
        "INSERT INTO bot_users (user_id, language_code, started_at, stopped, updated_at) \
         VALUES ($1, $2, $3, 1, $3) ON CONFLICT (user_id) DO UPDATE SET \
         language_code = excluded.language_code, stopped = 1, updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(language)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// `my_chat_member` about a private chat: a user who blocked the bot (`kicked`) can no longer
/// be written to, so no reminders go to them; unblocking sends /start, which turns them on.
pub async fn chat_member(db: &Db, update: &Value) -> Result<()> {
    let (Some(user), true) = (
        update["from"]["id"].as_i64(),
        update["chat"]["type"] == "private",
    ) else {
        return Ok(());
    };
    if update["new_chat_member"]["status"] == "kicked" {
        sqlx::query("UPDATE bot_users SET stopped = 1, updated_at = $1 WHERE user_id = $2")
            .bind(crate::db::now())
            .bind(user)
            .execute(&db.pool)
            .await?;
    }
    Ok(())
}

/// A cart whose change is old enough, with what decides whether it is reminded.
#[derive(shop_macros::FromRow)]
struct Due {
    id: i64,
    cart_changed_at: i64,
    /// From the Mini App (initData), the freshest.
    customer_lang: Option<String>,
    /// From the user's last message to the bot.
    bot_lang: Option<String>,
    /// `None`: the user never wrote to the bot.
    stopped: Option<i64>,
    items: i64,
}

/// Reminds every cart left unchanged since before `now - CART_REMINDER_HOURS`, once each;
/// answers how many reminders were queued. `now` is a parameter so tests need not wait.
pub async fn remind_due(st: &BotState, bot: &Bot, now: i64) -> Result<usize> {
    let Some(after) = st.config.cart_reminder else {
        return Ok(0);
    };
    let cutoff = now - after.as_secs() as i64;
    let mut sent = 0;
    for _ in 0..BATCHES {
        let due: Vec<Due> = sqlx::query_as(
            "SELECT c.id, c.cart_changed_at, c.language_code AS customer_lang, \
             b.language_code AS bot_lang, b.stopped, \
             (SELECT CAST(COALESCE(SUM(i.quantity), 0) AS BIGINT) FROM cart_items i \
              WHERE i.customer_id = c.id) AS items \
             FROM customers c LEFT JOIN bot_users b ON b.user_id = c.id \
             WHERE c.cart_changed_at IS NOT NULL AND c.cart_changed_at <= $1 \
             ORDER BY c.cart_changed_at, c.id LIMIT $2",
        )
        .bind(cutoff)
        .bind(BATCH)
        .fetch_all(&st.db.pool)
        .await?;
        let n = due.len() as i64;
        for d in due {
            let remind = d.items > 0 && d.stopped == Some(0);
            // Whoever clears this change's stamp owns it: another process, or a cart changed
            // meanwhile (a new stamp), makes this a no-op. Passed-over carts are cleared too,
            // so they are not read again every round.
            let claimed = sqlx::query(
                "UPDATE customers SET cart_changed_at = NULL, \
                 cart_reminded_at = CASE WHEN $1 = 1 THEN $2 ELSE cart_reminded_at END \
                 WHERE id = $3 AND cart_changed_at = $4",
            )
            .bind(remind as i64)
            .bind(now)
            .bind(d.id)
            .bind(d.cart_changed_at)
            .execute(&st.db.pool)
            .await?
            .rows_affected()
                == 1;
            if !(claimed && remind) {
                continue;
            }
            let lang = lang_of(d.customer_lang.as_deref().or(d.bot_lang.as_deref()));
            let (text, markup) = message(&st.config.public_url, lang, d.items);
            // After the claim: at most once. A reminder lost to a full queue is not worth a
            // second one.
            bot.send_later(d.id, text, markup, Kind::Answer);
            sent += 1;
        }
        if n < BATCH {
            break;
        }
    }
    Ok(sent)
}

/// The reminder's text and its button to the cart.
pub fn message(public_url: &str, lang: Lang, items: i64) -> (String, Option<Value>) {
    let text = t(lang, "reminder").replace("{items}", &items.to_string());
    let (text, mut markup) = with_open_button(&text, public_url, lang, Some(CART_START));
    if let Some(m) = markup.as_mut() {
        m["inline_keyboard"][0][0]["text"] = t(lang, "open_cart").into();
    }
    (text, markup)
}

/// Runs [`remind_due`] every few minutes until the stop signal; `None` in dev mode or with
/// `CART_REMINDER_HOURS=0`.
pub fn spawn(
    st: &BotState,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Option<JoinHandle<()>> {
    st.config.cart_reminder?;
    let bot = Bot::from_config(&st.config, &st.http)?;
    let st = st.clone();
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let claim = match st.db.try_exclusive(REMINDER_LOCK).await {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "cart reminders: cannot claim the round");
                    continue;
                }
            };
            let res = remind_due(&st, &bot, crate::db::now()).await;
            drop(claim);
            let outcome = if res.is_ok() { "ok" } else { "error" };
            metrics::counter!("shop_jobs_runs_total", "job" => "cart_reminders", "outcome" => outcome)
                .increment(1);
            match res {
                Ok(0) => {}
                Ok(n) => tracing::info!(reminded = n, "cart reminders queued"),
                Err(e) => tracing::warn!(error = %e, "cart reminders failed"),
            }
        }
    }))
}
