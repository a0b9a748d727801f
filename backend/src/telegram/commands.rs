//! Bot commands: /start [param], /orders, /paysupport, /terms, /stop, /help.
//! Every command in a private chat records its user as one the bot may write to
//! (`reminders`); /stop turns cart reminders off, /start back on.

use serde_json::{json, Value};
use shared::{Currency, Lang, Money};

use crate::error::Result;
use crate::telegram::outbox::Kind;
use crate::telegram::reminders;
use crate::telegram::texts::{lang_of, status_name, t};
use crate::telegram::{Bot, BotState};

pub const COMMANDS: [&str; 6] = ["start", "orders", "paysupport", "terms", "stop", "help"];

/// The command list shown in Telegram's menu, in `lang`.
pub fn command_list(lang: Lang) -> Value {
    let d = |uz: &str, ru: &str, en: &str| match lang {
        Lang::Uz => uz.to_string(),
        Lang::Ru => ru.to_string(),
        Lang::En => en.to_string(),
    };
    json!([
        {"command": "start", "description": d("Do'konni ochish", "Открыть магазин", "Open the shop")},
        {"command": "orders", "description": d("Buyurtmalarim", "Мои заказы", "My orders")},
        {"command": "paysupport", "description": d("To'lov bo'yicha yordam", "Помощь с оплатой", "Payment support")},
        {"command": "terms", "description": d("Shartlar", "Условия", "Terms")},
        {"command": "stop", "description": d("Savat eslatmalarini o'chirish", "Отключить напоминания о корзине", "No more cart reminders")},
        {"command": "help", "description": d("Yordam", "Помощь", "Help")},
    ])
}

/// The Mini App URL, opening at `start` (e.g. `product_42`) when given.
pub fn app_url(public_url: &str, start: Option<&str>) -> String {
    match start {
        Some(p) => format!("{public_url}/?startapp={p}"),
        None => format!("{public_url}/"),
    }
}

/// A button that opens the Mini App. Telegram opens only https Mini Apps and refuses
/// buttons to local addresses, so a shop on plain http (a developer trying the bot with
/// polling) gets the link in the text instead: `(text, keyboard)`.
pub fn with_open_button(
    text: &str,
    public_url: &str,
    lang: Lang,
    start: Option<&str>,
) -> (String, Option<Value>) {
    let url = app_url(public_url, start);
    if url.starts_with("https://") {
        let button = json!({"text": t(lang, "open"), "web_app": {"url": url}});
        (
            text.to_string(),
            Some(json!({"inline_keyboard": [[button]]})),
        )
    } else {
        (format!("{text}\n\n{url}"), None)
    }
}

/// Start parameters are passed on to the Mini App only in the charset Telegram allows.
fn start_param(arg: &str) -> Option<&str> {
    let arg = arg.trim();
    (!arg.is_empty()
        && arg.len() <= 64
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
    .then_some(arg)
}

pub async fn handle(st: &BotState, bot: &Bot, msg: &Value) -> Result<()> {
    let Some(chat) = msg["chat"]["id"].as_i64() else {
        return Ok(());
    };
    let text = msg["text"].as_str().unwrap_or("");
    let lang = lang_of(msg["from"]["language_code"].as_str());
    let (cmd, arg) = text.split_once(' ').unwrap_or((text, ""));
    // `/start@shop_bot` in groups.
    let cmd = cmd.trim_start_matches('/').split('@').next().unwrap_or("");
    let public = &st.config.public_url;
    let code = msg["from"]["language_code"].as_str();
    let private = msg["chat"]["type"] == "private";
    let user = msg["from"]["id"].as_i64().filter(|_| private);
    match (user, cmd) {
        (Some(u), "stop") => reminders::record_stop(&st.db, u, code).await?,
        (Some(u), _) => reminders::record_user(&st.db, u, code, cmd == "start").await?,
        (None, _) => {}
    }
    // The reply is queued, not sent: sending waits for this chat's pace, and the update's
    // caller (the polling loop, or the webhook request Telegram waits on) must not.
    let (text, keyboard) = match cmd {
        "start" => {
            let param = start_param(arg);
            let greet = if param.is_some() {
                "greet_product"
            } else {
                "greet"
            };
            with_open_button(t(lang, greet), public, lang, param)
        }
        "orders" => {
            let user = msg["from"]["id"].as_i64().unwrap_or(chat);
            let text = orders_text(st, user, lang).await?;
            with_open_button(&text, public, lang, None)
        }
        "paysupport" => (t(lang, "paysupport").to_string(), None),
        "terms" => (t(lang, "terms").to_string(), None),
        // In a group /stop means nothing: reminders go to private chats only.
        "stop" if private => (t(lang, "stopped").to_string(), None),
        _ => (t(lang, "help").to_string(), None),
    };
    bot.send_later(chat, text, keyboard, Kind::Answer);
    Ok(())
}

async fn orders_text(st: &BotState, user: i64, lang: Lang) -> Result<String> {
    let rows: Vec<(i64, String, i64, String)> = sqlx::query_as(
        "SELECT id, status, total_minor, currency FROM orders WHERE customer_id = $1 ORDER BY id DESC LIMIT 10",
    )
    .bind(user)
    .fetch_all(&st.db.pool)
    .await?;
    if rows.is_empty() {
        return Ok(t(lang, "no_orders").to_string());
    }
    let mut out = t(lang, "your_orders").to_string();
    for (id, status, total, currency) in rows {
        let money = Currency::new(&currency)
            .map(|c| Money::new(total, c).display())
            .unwrap_or_else(|_| format!("{total} {currency}"));
        out.push_str(&format!(
            "\n#{id} · {money} · {}",
            status_name(lang, &status)
        ));
    }
    Ok(out)
}
