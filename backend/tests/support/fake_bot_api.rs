//! An in-process fake of the Telegram Bot API (`/bot<token>/<method>`), strict where
//! Telegram is strict: wrong token 401, unknown method 404, invoices checked the way
//! Telegram checks them (XTR: empty provider token, exactly one price, no tips; payload
//! 1-128 bytes; subscription period 2592000 only, ≤ 10000 Stars), inline results checked
//! the way answerInlineQuery and savePreparedInlineMessage check them (ids 1-64 bytes and
//! unique, a known type with its required fields, no `web_app` buttons, at most 50 results,
//! `next_offset` ≤ 64 bytes). Every call is recorded.
#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::Notify;

#[derive(Default)]
struct Inner {
    calls: Vec<(String, Value)>,
    updates: Vec<Value>,
    refunded: HashSet<String>,
    transactions: Vec<Value>,
    /// sendMessage answers 429 this many times before accepting.
    throttle: u32,
    /// getUpdates answers nothing while set, so a test can line up a batch.
    held: bool,
    links: u64,
    prepared: u64,
    /// answerInlineQuery answers only after this long (a slow Bot API, or a slow network).
    inline_delay: Duration,
    /// answerInlineQuery calls answered so far (after their delay).
    inline_answered: usize,
    /// Every request, even those refused for a wrong token.
    hits: u64,
}

#[derive(Clone)]
pub struct FakeBotApi {
    pub url: String,
    token: String,
    inner: Arc<Mutex<Inner>>,
    changed: Arc<Notify>,
}

type St = FakeBotApi;

fn ok(result: Value) -> Response {
    Json(json!({"ok": true, "result": result})).into_response()
}

fn fail(code: u16, description: &str) -> Response {
    let mut body = json!({"ok": false, "error_code": code, "description": description});
    if code == 429 {
        body["parameters"] = json!({"retry_after": 1});
    }
    (StatusCode::from_u16(code).unwrap(), Json(body)).into_response()
}

fn bad(description: &str) -> Response {
    fail(400, &format!("Bad Request: {description}"))
}

impl FakeBotApi {
    pub async fn start(token: &str) -> FakeBotApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = FakeBotApi {
            url: format!("http://{}", listener.local_addr().unwrap()),
            token: token.to_string(),
            inner: Default::default(),
            changed: Default::default(),
        };
        let app = Router::new()
            .route("/{bot}/{method}", post(call))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        fake
    }

    /// Every call of `method` so far (its JSON body), oldest first.
    pub fn calls(&self, method: &str) -> Vec<Value> {
        let g = self.inner.lock().unwrap();
        g.calls
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// Every call so far, in the order the calls arrived: (method, JSON body).
    pub fn log(&self) -> Vec<(String, Value)> {
        self.inner.lock().unwrap().calls.clone()
    }

    pub fn all_methods(&self) -> Vec<String> {
        let g = self.inner.lock().unwrap();
        g.calls.iter().map(|(m, _)| m.clone()).collect()
    }

    /// Waits until `method` has been called with a body satisfying `pred`; answers it.
    pub async fn wait_for(&self, method: &str, pred: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..200 {
            if let Some(v) = self.calls(method).into_iter().find(|v| pred(v)) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no {method} call matched; calls: {:?}",
            self.inner.lock().unwrap().calls
        );
    }

    /// Queues an update for getUpdates.
    pub fn push_update(&self, update: Value) {
        self.inner.lock().unwrap().updates.push(update);
        self.changed.notify_waiters();
    }

    /// getUpdates answers an empty list until [`FakeBotApi::release_updates`]: updates
    /// pushed meanwhile then come in one batch.
    pub fn hold_updates(&self) {
        self.inner.lock().unwrap().held = true;
    }

    pub fn release_updates(&self) {
        self.inner.lock().unwrap().held = false;
        self.changed.notify_waiters();
    }

    /// Adds a Star transaction for getStarTransactions.
    pub fn add_transaction(&self, tx: Value) {
        self.inner.lock().unwrap().transactions.push(tx);
    }

    pub fn hits(&self) -> u64 {
        self.inner.lock().unwrap().hits
    }

    /// answerInlineQuery takes `d` before it answers.
    pub fn slow_inline_answers(&self, d: Duration) {
        self.inner.lock().unwrap().inline_delay = d;
    }

    /// How many answerInlineQuery calls have been answered (not merely received).
    pub fn inline_answered(&self) -> usize {
        self.inner.lock().unwrap().inline_answered
    }

    pub fn throttle_next_messages(&self, n: u32) {
        self.inner.lock().unwrap().throttle = n;
    }
}

async fn call(
    State(f): State<St>,
    Path((bot, method)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    f.inner.lock().unwrap().hits += 1;
    if bot != format!("bot{}", f.token) {
        return fail(401, "Unauthorized");
    }
    let b: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return bad("can't parse JSON"),
        }
    };
    f.inner
        .lock()
        .unwrap()
        .calls
        .push((method.clone(), b.clone()));
    match method.as_str() {
        "getMe" => ok(
            json!({"id": 123456789, "is_bot": true, "first_name": "Shop", "username": "shop_bot",
                "can_join_groups": true, "can_read_all_group_messages": false,
                "supports_inline_queries": true}),
        ),
        "setWebhook" => {
            let url = b["url"].as_str().unwrap_or("");
            if !url.starts_with("https://") {
                return bad("bad webhook: An HTTPS URL must be provided for webhook");
            }
            let s = b["secret_token"].as_str().unwrap_or("");
            if !s.is_empty()
                && (s.len() > 256
                    || !s
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-'))
            {
                return bad("secret token contains unallowed characters");
            }
            ok(json!(true))
        }
        "deleteWebhook" => ok(json!(true)),
        "setMyCommands" => {
            let cmds = b["commands"].as_array().cloned().unwrap_or_default();
            if cmds.is_empty() || cmds.len() > 100 {
                return bad("commands must be non-empty");
            }
            for c in cmds {
                let name = c["command"].as_str().unwrap_or("");
                if name.is_empty()
                    || name.len() > 32
                    || !name
                        .bytes()
                        .all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == b'_')
                    || c["description"]
                        .as_str()
                        .is_none_or(|d| d.is_empty() || d.chars().count() > 256)
                {
                    return bad("BOT_COMMAND_INVALID");
                }
            }
            ok(json!(true))
        }
        "setChatMenuButton" => {
            let mb = &b["menu_button"];
            if mb["type"] == "web_app"
                && !mb["web_app"]["url"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("https://")
            {
                return bad("BUTTON_URL_INVALID");
            }
            ok(json!(true))
        }
        "sendMessage" => {
            let text = b["text"].as_str().unwrap_or("");
            if b["chat_id"].as_i64().is_none() {
                return bad("chat_id is empty");
            }
            if text.is_empty() || text.chars().count() > 4096 {
                return bad("message text is empty or too long");
            }
            if let Some(rows) = b["reply_markup"]["inline_keyboard"].as_array() {
                for btn in rows
                    .iter()
                    .flat_map(|r| r.as_array().cloned().unwrap_or_default())
                {
                    if let Some(u) = btn["web_app"]["url"].as_str() {
                        if !u.starts_with("https://") {
                            return bad("BUTTON_TYPE_INVALID");
                        }
                    }
                }
            }
            {
                let mut g = f.inner.lock().unwrap();
                if g.throttle > 0 {
                    g.throttle -= 1;
                    drop(g);
                    return fail(429, "Too Many Requests: retry after 1");
                }
            }
            ok(json!({"message_id": 1, "chat": {"id": b["chat_id"]}, "text": text}))
        }
        "createInvoiceLink" => create_invoice_link(&f, &b),
        "answerInlineQuery" => {
            if b["inline_query_id"].as_str().is_none_or(str::is_empty) {
                return bad("QUERY_ID_INVALID");
            }
            let Some(results) = b["results"].as_array() else {
                return bad("results must be an array");
            };
            if results.len() > 50 {
                return bad("RESULTS_TOO_MUCH");
            }
            let mut ids = HashSet::new();
            for r in results {
                if let Err(e) = check_inline_result(r) {
                    return bad(&e);
                }
                if !ids.insert(r["id"].as_str().unwrap_or("").to_string()) {
                    return bad("RESULT_ID_DUPLICATE");
                }
            }
            if b["next_offset"].as_str().is_some_and(|o| o.len() > 64) {
                return bad("NEXT_OFFSET_INVALID");
            }
            if b.get("cache_time").is_some_and(|c| c.as_u64().is_none()) {
                return bad("cache_time must be an integer");
            }
            let delay = f.inner.lock().unwrap().inline_delay;
            tokio::time::sleep(delay).await;
            f.inner.lock().unwrap().inline_answered += 1;
            ok(json!(true))
        }
        "savePreparedInlineMessage" => {
            if b["user_id"].as_i64().is_none() {
                return bad("user_id is required");
            }
            if let Err(e) = check_inline_result(&b["result"]) {
                return bad(&e);
            }
            let any_chat = [
                "allow_user_chats",
                "allow_bot_chats",
                "allow_group_chats",
                "allow_channel_chats",
            ]
            .iter()
            .any(|k| b[*k] == true);
            if !any_chat {
                return bad("at least one chat type must be allowed");
            }
            let mut g = f.inner.lock().unwrap();
            g.prepared += 1;
            ok(json!({"id": format!("prepared_{}", g.prepared), "expiration_date": 1_900_000_000}))
        }
        "answerPreCheckoutQuery" => {
            if b["pre_checkout_query_id"].as_str().is_none() || b["ok"].as_bool().is_none() {
                return bad("pre_checkout_query_id and ok are required");
            }
            if b["ok"] == false && b["error_message"].as_str().is_none_or(|m| m.is_empty()) {
                return bad("ERROR_MESSAGE_EMPTY");
            }
            ok(json!(true))
        }
        "answerShippingQuery" => {
            if b["shipping_query_id"].as_str().is_none() || b["ok"].as_bool().is_none() {
                return bad("shipping_query_id and ok are required");
            }
            if b["ok"] == true
                && b["shipping_options"]
                    .as_array()
                    .is_none_or(|o| o.is_empty())
            {
                return bad("SHIPPING_OPTIONS_EMPTY");
            }
            ok(json!(true))
        }
        "refundStarPayment" => {
            let (Some(_), Some(charge)) = (
                b["user_id"].as_i64(),
                b["telegram_payment_charge_id"].as_str(),
            ) else {
                return bad("user_id and telegram_payment_charge_id are required");
            };
            if !f.inner.lock().unwrap().refunded.insert(charge.to_string()) {
                return bad("CHARGE_ALREADY_REFUNDED");
            }
            ok(json!(true))
        }
        "editUserStarSubscription" => {
            if b["user_id"].as_i64().is_none()
                || b["telegram_payment_charge_id"].as_str().is_none()
                || b["is_canceled"].as_bool().is_none()
            {
                return bad("user_id, telegram_payment_charge_id and is_canceled are required");
            }
            ok(json!(true))
        }
        "getStarTransactions" => {
            let offset = b["offset"].as_u64().unwrap_or(0) as usize;
            let limit = b["limit"].as_u64().unwrap_or(100);
            if !(1..=100).contains(&limit) {
                return bad("limit must be 1-100");
            }
            let g = f.inner.lock().unwrap();
            let txs: Vec<Value> = g
                .transactions
                .iter()
                .skip(offset)
                .take(limit as usize)
                .cloned()
                .collect();
            ok(json!({"transactions": txs}))
        }
        "getUpdates" => {
            let offset = b["offset"].as_i64().unwrap_or(0);
            let timeout = b["timeout"].as_u64().unwrap_or(0).min(1);
            let pick = |f: &St| -> Vec<Value> {
                let mut g = f.inner.lock().unwrap();
                if g.held {
                    return vec![];
                }
                // Confirming with an offset forgets the updates before it, like Telegram.
                g.updates
                    .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
                g.updates.clone()
            };
            let now = pick(&f);
            if !now.is_empty() || timeout == 0 {
                return ok(json!(now));
            }
            let _ = tokio::time::timeout(Duration::from_secs(timeout), f.changed.notified()).await;
            ok(json!(pick(&f)))
        }
        _ => fail(404, "Not Found"),
    }
}

fn create_invoice_link(f: &St, b: &Value) -> Response {
    let title = b["title"].as_str().unwrap_or("");
    let description = b["description"].as_str().unwrap_or("");
    let payload = b["payload"].as_str().unwrap_or("");
    let currency = b["currency"].as_str().unwrap_or("");
    let prices = b["prices"].as_array().cloned().unwrap_or_default();
    if !(1..=32).contains(&title.chars().count()) {
        return bad("INVOICE_TITLE_INVALID");
    }
    if !(1..=255).contains(&description.chars().count()) {
        return bad("INVOICE_DESCRIPTION_INVALID");
    }
    if !(1..=128).contains(&payload.len()) {
        return bad("INVOICE_PAYLOAD_INVALID");
    }
    if currency.len() != 3 {
        return bad("CURRENCY_INVALID");
    }
    if prices.is_empty()
        || prices.iter().any(|p| {
            p["label"].as_str().is_none_or(str::is_empty) || p["amount"].as_i64().is_none()
        })
    {
        return bad("prices are required");
    }
    let provider_token = b["provider_token"].as_str().unwrap_or("");
    if currency == "XTR" {
        if !provider_token.is_empty() {
            return bad("PROVIDER_TOKEN_INVALID: XTR invoices take an empty provider_token");
        }
        if prices.len() != 1 {
            return bad("XTR invoices must have exactly one price");
        }
        if b.get("max_tip_amount").is_some() {
            return bad("tips are not allowed for XTR");
        }
        if prices[0]["amount"].as_i64().unwrap_or(0) < 1 {
            return bad("XTR amount must be at least 1");
        }
    } else if provider_token.is_empty() {
        return bad("PAYMENT_PROVIDER_INVALID");
    } else if prices
        .iter()
        .filter_map(|p| p["amount"].as_i64())
        .sum::<i64>()
        < 1
    {
        // Components may be negative (a discount), the invoice's total may not.
        return bad("CURRENCY_TOTAL_AMOUNT_INVALID");
    }
    if let Some(p) = b.get("subscription_period") {
        if p.as_i64() != Some(2_592_000) || currency != "XTR" {
            return bad("SUBSCRIPTION_PERIOD_INVALID");
        }
        if prices[0]["amount"].as_i64().unwrap_or(0) > 10_000 {
            return bad("SUBSCRIPTION_PRICE_INVALID");
        }
    }
    let mut g = f.inner.lock().unwrap();
    g.links += 1;
    ok(json!(format!("https://t.me/$fake_invoice_{}", g.links)))
}

/// One `InlineQueryResult` as Telegram checks it.
fn check_inline_result(r: &Value) -> Result<(), String> {
    let id = r["id"].as_str().unwrap_or("");
    if id.is_empty() || id.len() > 64 {
        return Err("RESULT_ID_INVALID".into());
    }
    let text_ok = |v: &Value| v.as_str().is_some_and(|t| !t.is_empty());
    match r["type"].as_str().unwrap_or("") {
        "article" => {
            if !text_ok(&r["title"]) {
                return Err("RESULT_TITLE_EMPTY".into());
            }
            let content = &r["input_message_content"];
            if !content["message_text"]
                .as_str()
                .is_some_and(|t| !t.is_empty() && t.chars().count() <= 4096)
            {
                return Err("MESSAGE_EMPTY".into());
            }
        }
        "photo" => {
            if !text_ok(&r["photo_url"]) || !text_ok(&r["thumbnail_url"]) {
                return Err("PHOTO_INVALID".into());
            }
        }
        other => return Err(format!("RESULT_TYPE_INVALID: {other}")),
    }
    for key in ["thumbnail_url", "photo_url"] {
        if let Some(u) = r.get(key) {
            if !u
                .as_str()
                .is_some_and(|u| u.starts_with("https://") || u.starts_with("http://"))
            {
                return Err("WEBDOCUMENT_URL_INVALID".into());
            }
        }
    }
    if let Some(markup) = r.get("reply_markup") {
        let rows = markup["inline_keyboard"]
            .as_array()
            .ok_or("REPLY_MARKUP_INVALID")?;
        for btn in rows
            .iter()
            .flat_map(|r| r.as_array().cloned().unwrap_or_default())
        {
            if !text_ok(&btn["text"]) {
                return Err("BUTTON_TEXT_INVALID".into());
            }
            // Inline results may not carry web_app buttons (only the bot's own messages may).
            if btn.get("web_app").is_some() {
                return Err("BUTTON_TYPE_INVALID".into());
            }
            let url = btn["url"].as_str();
            if url.is_some_and(|u| !(u.starts_with("https://") || u.starts_with("tg://"))) {
                return Err("BUTTON_URL_INVALID".into());
            }
            let kinds = [
                "url",
                "callback_data",
                "switch_inline_query",
                "switch_inline_query_current_chat",
                "copy_text",
            ];
            if !kinds.iter().any(|k| btn.get(*k).is_some()) {
                return Err("BUTTON_TYPE_INVALID".into());
            }
        }
    }
    Ok(())
}
