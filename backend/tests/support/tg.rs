//! Test harness for the Telegram suites: an app wired to a fake Bot API, in webhook or
//! polling mode, and builders for the updates Telegram sends.
#![allow(dead_code)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::{json, Value};

use super::fake_bot_api::FakeBotApi;
use crate::common::{spawn, Kind, TestApp, BOT_TOKEN};

pub const SECRET: &str = "webhook-Secret_123";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Webhook,
    Polling,
}

pub struct Tg {
    pub app: TestApp,
    pub fake: FakeBotApi,
    pub mode: Mode,
    next_update: AtomicI64,
}

impl Tg {
    pub async fn start(kind: Kind, mode: Mode, extra: &[(&str, &str)]) -> Option<Tg> {
        let fake = FakeBotApi::start(BOT_TOKEN).await;
        let mut env: Vec<(&str, &str)> = vec![("TELEGRAM_API_URL", fake.url.as_str())];
        if mode == Mode::Webhook {
            env.push(("PUBLIC_URL", "https://shop.test"));
            env.push(("TELEGRAM_WEBHOOK_SECRET", SECRET));
        }
        env.extend_from_slice(extra);
        let app = spawn(kind, &env).await?;
        Some(Tg {
            app,
            fake,
            mode,
            next_update: AtomicI64::new(1000),
        })
    }

    pub fn update_id(&self) -> i64 {
        self.next_update.fetch_add(1, Ordering::SeqCst)
    }

    /// Hands an update to the shop the way this mode does: POST with the secret, or queued
    /// for getUpdates.
    pub async fn deliver(&self, update: Value) {
        match self.mode {
            Mode::Webhook => {
                let r = self
                    .app
                    .client
                    .post(self.app.url("/webhooks/telegram"))
                    .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
                    .json(&update)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
            }
            Mode::Polling => self.fake.push_update(update),
        }
    }

    /// An XTR (or any) order through the API; answers the order JSON (asserts 201).
    pub async fn order(&self, user: i64, variant_id: i64, method: &str) -> Value {
        let (s, v) = self
            .app
            .order(
                user,
                json!({"items": [{"variant_id": variant_id, "quantity": 1}], "payment_method": method,
                    "contact": crate::common::contact()}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v
    }

    /// The invoice createInvoiceLink was called with for this order's link.
    pub async fn invoice_of(&self, order: &Value) -> Value {
        let n: usize = order["invoice_link"]
            .as_str()
            .expect("invoice_link")
            .rsplit('_')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        self.fake.calls("createInvoiceLink")[n - 1].clone()
    }

    pub fn pre_checkout(&self, qid: &str, user: i64, invoice: &Value, amount: i64) -> Value {
        json!({"update_id": self.update_id(), "pre_checkout_query": {
            "id": qid, "from": {"id": user, "is_bot": false, "first_name": "U", "language_code": "ru"},
            "currency": invoice["currency"], "total_amount": amount,
            "invoice_payload": invoice["payload"]}})
    }

    pub fn payment(
        &self,
        user: i64,
        invoice: &Value,
        amount: i64,
        charge: &str,
        extra: Value,
    ) -> Value {
        let mut sp = json!({"currency": invoice["currency"], "total_amount": amount,
            "invoice_payload": invoice["payload"], "telegram_payment_charge_id": charge,
            "provider_payment_charge_id": format!("prov-{charge}")});
        if let Some(o) = extra.as_object() {
            for (k, v) in o {
                sp[k] = v.clone();
            }
        }
        json!({"update_id": self.update_id(), "message": {"message_id": 7, "date": 0,
            "from": {"id": user, "is_bot": false, "first_name": "U"},
            "chat": {"id": user, "type": "private"}, "successful_payment": sp}})
    }

    /// Waits for the answer to pre-checkout query `qid`.
    pub async fn answer(&self, qid: &str) -> Value {
        self.fake
            .wait_for("answerPreCheckoutQuery", |b| {
                b["pre_checkout_query_id"] == qid
            })
            .await
    }

    pub async fn status(&self, order_id: i64) -> String {
        sqlx::query_scalar::<_, String>("SELECT status FROM orders WHERE id = $1")
            .bind(order_id)
            .fetch_one(&self.app.state.db.pool)
            .await
            .unwrap()
    }

    /// Waits until the order reaches `status`.
    pub async fn wait_status(&self, order_id: i64, status: &str) {
        for _ in 0..200 {
            if self.status(order_id).await == status {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "order {order_id} is {} not {status}",
            self.status(order_id).await
        );
    }

    /// Lets in-flight background work settle (polling round trip, notifier).
    pub async fn settle(&self) {
        tokio::time::sleep(Duration::from_millis(700)).await;
    }

    pub async fn payments(&self, order_id: i64) -> Vec<(String, String, i64, i64)> {
        sqlx::query_as(
            "SELECT provider_payment_id, status, amount_minor, needs_refund FROM payments WHERE order_id = $1 ORDER BY id",
        )
        .bind(order_id)
        .fetch_all(&self.app.state.db.pool)
        .await
        .unwrap()
    }

    /// Messages the bot sent to `chat`.
    pub fn messages_to(&self, chat: i64) -> Vec<String> {
        self.fake
            .calls("sendMessage")
            .into_iter()
            .filter(|b| b["chat_id"] == chat)
            .map(|b| b["text"].as_str().unwrap_or("").to_string())
            .collect()
    }
}
