//! The bot's background life: setup (webhook or not, commands, menu button) and long polling
//! when there is no webhook. None of it blocks start-up: an unreachable Bot API is logged and
//! retried with growing pauses. (Stars reconciliation is the Stars rail's job.)

use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::{json, Value};
use shared::Lang;
use tokio::task::JoinHandle;

use crate::db::Db;
use crate::telegram::commands::{app_url, command_list};
use crate::telegram::texts::t;
use crate::telegram::{updates, Bot, BotError, BotState};

pub const ALLOWED_UPDATES: [&str; 5] = [
    "message",
    "pre_checkout_query",
    "shipping_query",
    "inline_query",
    // A user blocking the bot: no more reminders to them.
    "my_chat_member",
];
/// Long-poll wait; below the shared HTTP client's 15 s timeout.
const POLL_SECS: u64 = 10;

/// Whether updates come by webhook: `TELEGRAM_WEBHOOK_SECRET` set and `PUBLIC_URL` https.
pub fn webhook_mode(st: &BotState) -> bool {
    st.config.telegram_webhook_secret.is_some() && st.config.public_url.starts_with("https://")
}

/// The bot's background tasks: `background` may be stopped at any point; `jobs` watch the
/// stop signal and finish the item they are on (the bot has none of its own; startup adds
/// the Stars reconciliation).
pub struct Tasks {
    pub background: Vec<JoinHandle<()>>,
    pub jobs: Vec<JoinHandle<()>>,
}

/// Starts the bot's tasks; none in dev mode.
pub fn spawn(st: &BotState) -> Tasks {
    let Some(bot) = Bot::from_config(&st.config, &st.http) else {
        return Tasks {
            background: vec![],
            jobs: vec![],
        };
    };
    let mut tasks = vec![];
    let (s, b) = (st.clone(), bot.clone());
    tasks.push(tokio::spawn(async move { setup_until_done(&s, &b).await }));
    if !webhook_mode(st) {
        let (s, b) = (st.clone(), bot.clone());
        tasks.push(tokio::spawn(async move { poll(&s, &b).await }));
    }
    Tasks {
        background: tasks,
        jobs: vec![],
    }
}

/// The next pause after a failure: doubles from 1 s up to `max`.
fn backoff(prev: Duration, max: Duration) -> Duration {
    (prev * 2).clamp(Duration::from_secs(1), max)
}

async fn setup_until_done(st: &BotState, bot: &Bot) {
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

async fn setup(st: &BotState, bot: &Bot) -> Result<(), BotError> {
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
    // Inline mode is switched on in BotFather only; say so when it is off.
    let me = bot.me().await?;
    if !me.supports_inline_queries {
        tracing::warn!(
            bot = me.username,
            "inline mode is off, so `@{} <words>` lists nothing and Share on older clients \
             has nothing to send: turn it on with /setinline in @BotFather",
            me.username
        );
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

/// Long polling: `getUpdates` with the offset after the last handled update.
///
/// Each batch is handled most urgent first (see [`plan`]): queries with Telegram's 10 s
/// deadline all at once, then payment messages, then the rest, each of those two kinds in
/// update order. Nothing here waits for a chat's pace (replies are queued), and each update
/// gets at most [`HANDLE_LIMIT`]; so one chat's flood of commands costs the others next to
/// nothing.
///
/// An update that fails is tried again after 2, 4, 8 and 16 s and then skipped
/// (reconciliation still finds a missed Stars payment). The offset stays at it meanwhile,
/// but the loop keeps polling about once a second: updates after it are handled as they
/// come (and remembered, so the batches that bring them again skip them).
async fn poll(st: &BotState, bot: &Bot) {
    let mut offset: i64 = 0;
    let mut pause = Duration::ZERO;
    let mut failing = Failing::default();
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
        let batch: Vec<&Value> = updates
            .iter()
            .filter(|u| u["update_id"].as_i64().is_some_and(|id| id >= offset))
            .collect();
        let Some(last) = batch.iter().filter_map(|u| u["update_id"].as_i64()).max() else {
            continue;
        };
        match handle_batch(st, bot, &batch, &mut failing).await {
            None => offset = last + 1,
            Some(stuck) => {
                offset = stuck;
                // Telegram answers at once while the stuck update is pending: poll calmly.
                tokio::time::sleep(RETRY_TICK).await;
            }
        }
        failing.forget_before(offset);
    }
}

/// The longest one update may take before it counts as failed (and is tried again later).
const HANDLE_LIMIT: Duration = Duration::from_secs(10);
/// How often the loop polls while an update waits to be tried again.
const RETRY_TICK: Duration = Duration::from_secs(1);
/// Tries of an update that keeps failing before it is skipped.
const MAX_TRIES: u32 = 5;

/// A batch in the order it is handled: queries, payment messages, the rest.
fn plan<'a>(batch: &[&'a Value]) -> [Vec<&'a Value>; 3] {
    let (queries, rest): (Vec<&Value>, Vec<&Value>) =
        batch.iter().partition(|u| updates::is_query(u));
    let (payments, others) = rest.into_iter().partition(|u| updates::is_payment(u));
    [queries, payments, others]
}

/// Handles a batch; answers the lowest update id it has to come back to, if any.
async fn handle_batch(
    st: &BotState,
    bot: &Bot,
    batch: &[&Value],
    failing: &mut Failing,
) -> Option<i64> {
    let [queries, payments, others] = plan(batch);
    let mut stuck: Vec<i64> = vec![];
    // Queries only read and answer, so they need no order among themselves: all at once.
    let mut due = vec![];
    for u in queries {
        match failing.turn(id_of(u)) {
            Turn::Due => due.push(u),
            Turn::Later => stuck.push(id_of(u)),
            Turn::GivenUp => {}
        }
    }
    let results = futures_util::future::join_all(due.iter().map(|u| try_handle(st, bot, u))).await;
    for (u, r) in due.iter().zip(results) {
        if !failing.record(id_of(u), r) {
            stuck.push(id_of(u));
        }
    }
    // Payment messages and the rest in update order: a refund must not overtake its payment,
    // so one that has to wait holds back the later ones of its kind.
    for kind in [payments, others] {
        for u in kind {
            let id = id_of(u);
            let done = match failing.turn(id) {
                Turn::Due => {
                    let r = try_handle(st, bot, u).await;
                    failing.record(id, r)
                }
                Turn::Later => false,
                Turn::GivenUp => true,
            };
            if !done {
                stuck.push(id);
                break;
            }
        }
    }
    stuck.into_iter().min()
}

fn id_of(u: &Value) -> i64 {
    u["update_id"].as_i64().unwrap_or(0)
}

async fn try_handle(st: &BotState, bot: &Bot, u: &Value) -> crate::error::Result<()> {
    tokio::time::timeout(HANDLE_LIMIT, updates::handle(st, bot, u))
        .await
        .unwrap_or_else(|_| {
            Err(crate::error::Error::internal(
                "update handling took too long",
            ))
        })
}

/// Updates that failed: how often, and when each may be tried again.
#[derive(Default)]
struct Failing(std::collections::HashMap<i64, (u32, tokio::time::Instant)>);

enum Turn {
    Due,
    Later,
    GivenUp,
}

impl Failing {
    fn turn(&self, id: i64) -> Turn {
        match self.0.get(&id) {
            None => Turn::Due,
            Some((tries, _)) if *tries >= MAX_TRIES => Turn::GivenUp,
            Some((_, at)) if *at <= tokio::time::Instant::now() => Turn::Due,
            Some(_) => Turn::Later,
        }
    }

    /// Notes how handling `id` went; true when the loop may move past it (handled, or now
    /// given up on).
    fn record(&mut self, id: i64, r: crate::error::Result<()>) -> bool {
        let Err(e) = r else {
            self.0.remove(&id);
            return true;
        };
        let entry = self.0.entry(id).or_insert((0, tokio::time::Instant::now()));
        entry.0 += 1;
        if entry.0 >= MAX_TRIES {
            tracing::error!(update_id = id, error = %e, "skipping an update that keeps failing");
            return true;
        }
        entry.1 = tokio::time::Instant::now() + Duration::from_secs(1 << entry.0);
        false
    }

    fn forget_before(&mut self, offset: i64) {
        self.0.retain(|id, _| *id >= offset);
    }
}

/// Telegram keeps an update at most 24 hours, so remembering ids for a week is plenty.
pub async fn forget_old_updates(db: &Db) {
    let r =
        sqlx::query("DELETE FROM processed_events WHERE source = 'telegram' AND created_at < $1")
            .bind(crate::db::now() - 7 * 86_400)
            .execute(&db.pool)
            .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "could not prune processed Telegram updates");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_handled_queries_first_then_payments_then_the_rest_in_order() {
        let help = |id: i64, chat: i64| json!({"update_id": id, "message": {"chat": {"id": chat}, "text": "/help"}});
        let batch = [
            help(1, 10),
            json!({"update_id": 2, "message": {"chat": {"id": 11},
                "refunded_payment": {"telegram_payment_charge_id": "c0"}}}),
            help(3, 10),
            json!({"update_id": 4, "pre_checkout_query": {"id": "q"}}),
            json!({"update_id": 5, "message": {"chat": {"id": 12},
                "successful_payment": {"telegram_payment_charge_id": "c1"}}}),
            json!({"update_id": 6, "shipping_query": {"id": "s"}}),
            help(7, 10),
        ];
        let refs: Vec<&Value> = batch.iter().collect();
        let ids = |v: &Vec<&Value>| v.iter().map(|u| id_of(u)).collect::<Vec<_>>();
        let [queries, payments, others] = plan(&refs);
        assert_eq!(ids(&queries), [4, 6]);
        assert_eq!(ids(&payments), [2, 5]);
        assert_eq!(ids(&others), [1, 3, 7]);
    }

    #[tokio::test]
    async fn a_failing_update_waits_longer_each_time_then_is_skipped() {
        let mut f = Failing::default();
        assert!(matches!(f.turn(9), Turn::Due));
        let fail = || Err(crate::error::Error::internal("down"));
        assert!(!f.record(9, fail()));
        assert!(matches!(f.turn(9), Turn::Later));
        for _ in 2..MAX_TRIES {
            f.0.get_mut(&9).unwrap().1 = tokio::time::Instant::now();
            assert!(matches!(f.turn(9), Turn::Due));
            assert!(!f.record(9, fail()));
        }
        assert!(f.record(9, fail()), "given up after {MAX_TRIES} tries");
        assert!(matches!(f.turn(9), Turn::GivenUp));
        // Success forgets the failures.
        assert!(!f.record(3, fail()));
        assert!(f.record(3, Ok(())));
        assert!(matches!(f.turn(3), Turn::Due));
        f.forget_before(10);
        assert!(f.0.is_empty());
    }
}
