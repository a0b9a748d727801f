//! A thin typed client for the Telegram Bot API.
//!
//! Why not teloxide or frankenstein: the shop calls about fifteen methods, all with JSON
//! bodies, and answers updates itself (webhook and polling share one dispatcher). A thin
//! client over the shop's shared `reqwest::Client` adds no compile time, reuses its pool and
//! timeouts, and points at a fake Bot API in tests through `TELEGRAM_API_URL` unchanged.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::telegram::outbox::Outbox;

#[derive(Clone)]
pub struct Bot {
    http: reqwest::Client,
    /// `<api url>/bot<token>`: never logged (reqwest errors are stripped of their URL).
    base: String,
    /// Signs invoice payloads, derived from the bot token so nobody else can forge one.
    payload_key: [u8; 32],
    shared: Arc<Shared>,
}

/// What every `Bot` value for the same API and token shares, however it was made (the
/// webhook handler makes one per request): Telegram's limits are per bot, so its pace and
/// its chats' queues must be too.
pub(super) struct Shared {
    pace: Mutex<Pace>,
    pub(super) outbox: Outbox,
    /// The bot's `@username` from getMe, asked once (inline results link to `t.me/<it>`).
    username: tokio::sync::OnceCell<String>,
    /// Inline queries being answered; one beyond [`INLINE_AT_ONCE`] is dropped (see `inline`).
    pub(super) inline: Arc<tokio::sync::Semaphore>,
}

/// How many inline queries one bot answers at once. A person types one letter at a time and
/// each letter is a query: this bounds what a crowd of typists costs the database, and
/// a dropped query is only a list Telegram shows a moment later for the next letter.
pub const INLINE_AT_ONCE: usize = 8;

impl Default for Shared {
    fn default() -> Shared {
        Shared {
            pace: Mutex::default(),
            outbox: Outbox::default(),
            username: tokio::sync::OnceCell::new(),
            inline: Arc::new(tokio::sync::Semaphore::new(INLINE_AT_ONCE)),
        }
    }
}

/// The live `Shared` of each bot, by a digest of its `<api url>/bot<token>` (the token is
/// not kept in the clear here). Weak, so a bot nobody holds any more is forgotten.
static BOTS: LazyLock<Mutex<HashMap<[u8; 32], Weak<Shared>>>> = LazyLock::new(Default::default);

fn shared_for(base: &str) -> Arc<Shared> {
    let key: [u8; 32] = Sha256::digest(base.as_bytes()).into();
    let mut bots = BOTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = bots.get(&key).and_then(Weak::upgrade) {
        return s;
    }
    bots.retain(|_, w| w.strong_count() > 0);
    let s = Arc::new(Shared::default());
    bots.insert(key, Arc::downgrade(&s));
    s
}

/// What getMe tells about the bot.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Me {
    pub username: String,
    /// Inline mode is on (BotFather's /setinline).
    #[serde(default)]
    pub supports_inline_queries: bool,
}

#[derive(Debug, Clone)]
pub enum BotError {
    /// Telegram answered `ok: false`.
    Api {
        code: i64,
        description: String,
        retry_after: Option<u64>,
    },
    /// No answer, or not a Bot API answer.
    Transport(String),
}

impl std::fmt::Display for BotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BotError::Api {
                code, description, ..
            } => write!(f, "Bot API {code}: {description}"),
            BotError::Transport(e) => write!(f, "Bot API unreachable: {e}"),
        }
    }
}

impl BotError {
    pub fn description(&self) -> &str {
        match self {
            BotError::Api { description, .. } => description,
            BotError::Transport(e) => e,
        }
    }
}

/// When each chat may next be written to, and when any chat may: Telegram allows about
/// one message per second per chat and about 30 per second in all.
#[derive(Default)]
struct Pace {
    chats: HashMap<i64, Instant>,
    any: Option<Instant>,
}
const PER_CHAT_GAP: Duration = Duration::from_millis(1000);
const GLOBAL_GAP: Duration = Duration::from_millis(34);

impl Bot {
    pub fn new(http: reqwest::Client, api_url: &str, token: &str) -> Bot {
        let mut key = [0u8; 32];
        key.copy_from_slice(&Sha256::digest(format!("shop invoice payload\n{token}")));
        let base = format!("{}/bot{token}", api_url.trim_end_matches('/'));
        Bot {
            http,
            shared: shared_for(&base),
            base,
            payload_key: key,
        }
    }

    pub(super) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The bot of this shop, or `None` in dev mode.
    pub fn from_config(c: &Config, http: &reqwest::Client) -> Option<Bot> {
        use secrecy::ExposeSecret;
        c.telegram_bot_token
            .as_ref()
            .map(|t| Bot::new(http.clone(), &c.telegram_api_url, t.expose_secret()))
    }

    /// Calls `method` with a JSON body and decodes `result`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        body: &Value,
    ) -> Result<T, BotError> {
        self.call_timeout(method, body, None).await
    }

    pub async fn call_timeout<T: DeserializeOwned>(
        &self,
        method: &str,
        body: &Value,
        timeout: Option<Duration>,
    ) -> Result<T, BotError> {
        let res = self.call_once(method, body, timeout).await;
        let outcome = match &res {
            Ok(_) => "ok",
            Err(BotError::Api { .. }) => "api_error",
            Err(_) => "transport_error",
        };
        metrics::counter!("shop_bot_api_calls_total", "method" => method.to_string(), "outcome" => outcome)
            .increment(1);
        res
    }

    async fn call_once<T: DeserializeOwned>(
        &self,
        method: &str,
        body: &Value,
        timeout: Option<Duration>,
    ) -> Result<T, BotError> {
        let mut rb = self.http.post(format!("{}/{method}", self.base)).json(body);
        if let Some(t) = timeout {
            rb = rb.timeout(t);
        }
        let res = rb
            .send()
            .await
            .map_err(|e| BotError::Transport(e.without_url().to_string()))?;
        let status = res.status().as_u16() as i64;
        let v: Value = res
            .json()
            .await
            .map_err(|e| BotError::Transport(format!("{status}: {}", e.without_url())))?;
        if v["ok"].as_bool() == Some(true) {
            return serde_json::from_value(v["result"].clone())
                .map_err(|e| BotError::Transport(format!("{method}: unexpected result: {e}")));
        }
        Err(BotError::Api {
            code: v["error_code"].as_i64().unwrap_or(status),
            description: v["description"].as_str().unwrap_or("").to_string(),
            retry_after: v["parameters"]["retry_after"].as_u64(),
        })
    }

    /// The bot's username (without `@`), from getMe the first time it is needed; a failed
    /// getMe is asked again next time.
    pub async fn username(&self) -> Result<String, BotError> {
        self.shared
            .username
            .get_or_try_init(|| async { Ok(self.me().await?.username) })
            .await
            .cloned()
    }

    /// getMe; remembers the username for [`Bot::username`].
    pub async fn me(&self) -> Result<Me, BotError> {
        let me: Me = self.call("getMe", &json!({})).await?;
        let _ = self.shared.username.set(me.username.clone());
        Ok(me)
    }

    /// Sends a message, keeping to Telegram's per-chat pace and waiting out `retry_after`
    /// when it answers 429 (a few times, then gives up: notices are not worth a stuck task).
    /// Only a chat's queue calls this (see `outbox`): whoever else waited here would be held
    /// for as long as the chat's backlog.
    pub(super) async fn send_message(
        &self,
        chat_id: i64,
        text: &str,
        reply_markup: Option<Value>,
    ) -> Result<(), BotError> {
        let mut body = json!({"chat_id": chat_id, "text": text, "link_preview_options": {"is_disabled": true}});
        if let Some(m) = reply_markup {
            body["reply_markup"] = m;
        }
        for attempt in 0..4 {
            self.pace(chat_id).await;
            match self.call::<Value>("sendMessage", &body).await {
                Ok(_) => return Ok(()),
                Err(BotError::Api {
                    code: 429,
                    retry_after,
                    ..
                }) if attempt < 3 => {
                    let wait = retry_after.unwrap_or(1).clamp(1, 60);
                    tracing::info!(chat_id, wait, "Telegram asked us to slow down");
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// An invoice payload naming `order_id` that only this bot can have made:
    /// `<order id>.<first 16 bytes of HMAC-SHA256, hex>`, at most 53 bytes.
    pub fn payload(&self, order_id: i64) -> String {
        format!("{order_id}.{}", hex::encode(&self.mac(order_id)[..16]))
    }

    /// The order a payload names, if this bot signed it.
    pub fn verify_payload(&self, payload: &str) -> Option<i64> {
        let (id, sig) = payload.split_once('.')?;
        let order_id: i64 = id.parse().ok()?;
        let sig = hex::decode(sig).ok()?;
        let want = self.mac(order_id);
        (sig.len() == 16 && bool::from(sig.ct_eq(&want[..16]))).then_some(order_id)
    }

    fn mac(&self, order_id: i64) -> Vec<u8> {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.payload_key).expect("any key size");
        m.update(format!("order:{order_id}").as_bytes());
        m.finalize().into_bytes().to_vec()
    }
}

impl Pace {
    /// Reserves the time the next message to `chat_id` may go: a second after the chat's
    /// previous one, and a bot-wide gap after the previous message to any chat.
    fn reserve(&mut self, chat_id: i64, now: Instant) -> Instant {
        let any_next = self.any.map_or(now, |t| t.max(now));
        let chat_next = self.chats.get(&chat_id).map_or(now, |t| (*t).max(now));
        let slot = chat_next.max(any_next);
        self.chats.insert(chat_id, slot + PER_CHAT_GAP);
        // The bot-wide pace counts this message at its earliest bot-wide time, not at its
        // chat's later slot: a chat with a queue of messages must not hold back every other
        // customer's (it did, by moving the bot-wide slot to its own).
        self.any = Some(any_next + GLOBAL_GAP);
        if self.chats.len() > 10_000 {
            self.chats.retain(|_, t| *t > now);
        }
        slot
    }
}

impl Bot {
    /// Waits for this message's slot: the chat's and the bot's pace both kept.
    async fn pace(&self, chat_id: i64) {
        let wait = {
            let now = Instant::now();
            let mut pace = self.shared.pace.lock().unwrap_or_else(|e| e.into_inner());
            pace.reserve(chat_id, now) - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_busy_chat_does_not_hold_back_the_others() {
        let mut pace = Pace::default();
        let t0 = Instant::now();
        let busy: Vec<Duration> = (0..5).map(|_| pace.reserve(1, t0) - t0).collect();
        assert_eq!(busy, (0..5).map(|i| i * PER_CHAT_GAP).collect::<Vec<_>>());
        // Another customer's message waits only for the bot-wide gap, not for chat 1's queue.
        let other = pace.reserve(2, t0) - t0;
        assert_eq!(other, 5 * GLOBAL_GAP);
        // Chat 1 keeps its own pace.
        assert_eq!(pace.reserve(1, t0) - t0, 5 * PER_CHAT_GAP);
        // Time passing frees the slots.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(pace.reserve(2, later), later);
    }

    #[test]
    fn payloads_verify_only_for_the_same_bot_and_order() {
        let a = Bot::new(reqwest::Client::new(), "http://x", "1:a");
        let b = Bot::new(reqwest::Client::new(), "http://x", "1:b");
        let p = a.payload(42);
        assert!(p.len() <= 128);
        assert_eq!(a.verify_payload(&p), Some(42));
        assert_eq!(b.verify_payload(&p), None);
        let forged = p.replacen("42.", "43.", 1);
        assert_eq!(a.verify_payload(&forged), None);
        assert_eq!(a.verify_payload("42"), None);
        assert_eq!(a.verify_payload(""), None);
    }
}
