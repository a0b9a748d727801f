//! A local Crypto Pay API (@CryptoBot): every method at `/<method>`, parameters in a JSON body
//! or the query string, the `Crypto-Pay-API-Token` header checked, answers
//! `{"ok":true,"result":…}` or `{"ok":false,"error":{"code","name"}}` as the real API does.
//! It keeps invoices (createInvoice with the documented limits, getInvoices, deleteInvoice)
//! and transfers (a spend_id is accepted once: a repeat pays nothing and answers the first
//! transfer), and plays Crypto Pay's side of a payment: the buyer pays, and the webhook body
//! and signature it would send come out of [`FakeCryptopay::paid_update`].
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::any;
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

pub const TOKEN: &str = "12345:AAFakeCryptoPayToken";

const ASSETS: &[&str] = &[
    "USDT", "TON", "BTC", "ETH", "LTC", "BNB", "TRX", "USDC", "JET",
];
const FIATS: &[&str] = &[
    "USD", "EUR", "RUB", "BYN", "UAH", "GBP", "CNY", "KZT", "UZS", "GEL", "TRY", "AMD", "THB",
    "INR", "BRL", "IDR", "AZN", "AED", "PLN", "ILS",
];

#[derive(Debug, Clone)]
pub struct Transfer {
    pub transfer_id: i64,
    pub user_id: i64,
    pub asset: String,
    pub amount: String,
    pub spend_id: String,
    pub comment: Option<String>,
}

pub struct Inner {
    /// getInvoices calls.
    pub get_invoices: u32,
    /// Invoices by id (deleted ones are gone, as at Crypto Pay).
    pub invoices: HashMap<i64, Value>,
    /// Every createInvoice's parameters, oldest first.
    pub created: Vec<Value>,
    pub deleted: Vec<i64>,
    pub transfers: Vec<Transfer>,
    /// Every transfer call (repeats included): (spend_id, answered ok).
    pub transfer_calls: Vec<String>,
    pub transfers_enabled: bool,
    /// Answer a repeated spend_id with an error instead of the first transfer.
    pub repeat_spend_is_error: bool,
    /// Make the next transfer, then answer 500 as if the connection broke after it.
    pub lose_next_transfer_answer: bool,
    pub bad_tokens: u32,
    next: i64,
}

#[derive(Clone)]
pub struct FakeCryptopay {
    pub url: String,
    pub inner: Arc<Mutex<Inner>>,
    deletions: Arc<Notify>,
}

type Answer = (StatusCode, Json<Value>);

fn ok(result: Value) -> Answer {
    (StatusCode::OK, Json(json!({"ok": true, "result": result})))
}

fn err(code: u16, name: &str) -> Answer {
    (
        StatusCode::from_u16(code).unwrap(),
        Json(json!({"ok": false, "error": {"code": code, "name": name}})),
    )
}

/// A positive decimal string such as Crypto Pay takes ("125.50").
fn decimal_ok(s: &str) -> bool {
    let (i, f) = s.split_once('.').unwrap_or((s, ""));
    !i.is_empty()
        && i.bytes().all(|b| b.is_ascii_digit())
        && f.bytes().all(|b| b.is_ascii_digit())
        && !(s.contains('.') && f.is_empty())
        && s.bytes().any(|b| (b'1'..=b'9').contains(&b))
}

/// The parameters of a call: the JSON body, or the query string (both are allowed).
fn params(query: Option<String>, body: &Bytes) -> Map<String, Value> {
    if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(body) {
        return m;
    }
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect()
}

fn str_param(p: &Map<String, Value>, k: &str) -> Option<String> {
    match p.get(k)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn int_param(p: &Map<String, Value>, k: &str) -> Option<i64> {
    str_param(p, k)?.parse().ok()
}

impl FakeCryptopay {
    pub async fn start() -> FakeCryptopay {
        let inner = Arc::new(Mutex::new(Inner {
            get_invoices: 0,
            invoices: HashMap::new(),
            created: vec![],
            deleted: vec![],
            transfers: vec![],
            transfer_calls: vec![],
            transfers_enabled: true,
            repeat_spend_is_error: false,
            lose_next_transfer_answer: false,
            bad_tokens: 0,
            next: 1000,
        }));
        let deletions = Arc::new(Notify::new());
        let app = Router::new()
            .route("/api/{method}", any(call))
            .with_state((inner.clone(), deletions.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeCryptopay {
            url: format!("http://{addr}/api"),
            inner,
            deletions,
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("CRYPTOPAY_TOKEN", TOKEN.into()),
            ("CRYPTOPAY_API_URL", self.url.clone()),
        ]
    }

    /// The invoice created last whose payload is `payload`.
    pub fn invoice_with_payload(&self, payload: &str) -> Value {
        let g = self.inner.lock().unwrap();
        g.invoices
            .values()
            .filter(|i| i["payload"] == payload)
            .max_by_key(|i| i["invoice_id"].as_i64())
            .cloned()
            .unwrap_or_else(|| panic!("no invoice with payload {payload}"))
    }

    pub fn invoice(&self, id: i64) -> Option<Value> {
        self.inner.lock().unwrap().invoices.get(&id).cloned()
    }

    pub fn created(&self) -> Vec<Value> {
        self.inner.lock().unwrap().created.clone()
    }

    pub fn deleted(&self) -> Vec<i64> {
        self.inner.lock().unwrap().deleted.clone()
    }

    pub fn transfers(&self) -> Vec<Transfer> {
        self.inner.lock().unwrap().transfers.clone()
    }

    pub fn transfer_calls(&self) -> Vec<String> {
        self.inner.lock().unwrap().transfer_calls.clone()
    }

    pub fn set(&self, f: impl FnOnce(&mut Inner)) {
        f(&mut self.inner.lock().unwrap())
    }

    /// Waits until invoice `id` is deleted (the shop deletes in the background); panics after
    /// ten seconds.
    pub async fn wait_deleted(&self, id: i64) {
        let wait = async {
            loop {
                let notified = self.deletions.notified();
                if self.deleted().contains(&id) {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("invoice {id} was not deleted"));
    }

    /// An invoice someone else's integration created on the same app (not the shop's).
    pub fn foreign_invoice(&self, asset: &str, amount: &str, payload: &str) -> i64 {
        let mut g = self.inner.lock().unwrap();
        let mut p = Map::new();
        p.insert("asset".into(), json!(asset));
        p.insert("amount".into(), json!(amount));
        p.insert("payload".into(), json!(payload));
        new_invoice(&mut g, &p)["invoice_id"].as_i64().unwrap()
    }

    /// The buyer pays invoice `id` (in `paid_asset`/`paid_amount`: for a crypto invoice its own
    /// asset and amount): answers the webhook body Crypto Pay sends and its signature.
    pub fn paid_update(&self, id: i64, paid: Option<(&str, &str)>) -> (String, String) {
        let inv = {
            let mut g = self.inner.lock().unwrap();
            let inv = g.invoices.get_mut(&id).expect("invoice");
            let (asset, amount) = match paid {
                Some((a, m)) => (a.to_string(), m.to_string()),
                None => (
                    inv["asset"].as_str().unwrap().to_string(),
                    inv["amount"].as_str().unwrap().to_string(),
                ),
            };
            inv["status"] = json!("paid");
            inv["paid_at"] = json!("2026-12-07T12:00:00.000Z");
            inv["paid_asset"] = json!(asset);
            inv["paid_amount"] = json!(amount);
            inv["paid_anonymously"] = json!(false);
            inv["fee_asset"] = json!(asset);
            inv["fee_amount"] = json!("0");
            inv["paid_usd_rate"] = json!("1.00");
            inv.clone()
        };
        self.update_of(inv)
    }

    /// The webhook body Crypto Pay sends about `invoice`, and its signature.
    pub fn update_of(&self, invoice: Value) -> (String, String) {
        let body = json!({
            "update_id": 7,
            "update_type": "invoice_paid",
            "request_date": "2026-12-07T12:00:01.000Z",
            "payload": invoice,
        })
        .to_string();
        let sig = sign(TOKEN, body.as_bytes());
        (body, sig)
    }
}

/// hex(HMAC-SHA256(key = SHA-256(token), raw body)), as Crypto Pay signs its webhooks.
pub fn sign(token: &str, body: &[u8]) -> String {
    let key = Sha256::digest(token.as_bytes());
    let mut m = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    m.update(body);
    hex::encode(m.finalize().into_bytes())
}

fn new_invoice(g: &mut Inner, p: &Map<String, Value>) -> Value {
    g.next += 1;
    let id = g.next;
    let hash = format!("IV{id}xYz");
    let fiat = str_param(p, "currency_type").as_deref() == Some("fiat");
    let mut inv = json!({
        "invoice_id": id,
        "hash": hash,
        "currency_type": if fiat { "fiat" } else { "crypto" },
        "amount": str_param(p, "amount").unwrap(),
        "status": "active",
        "bot_invoice_url": format!("https://t.me/CryptoTestnetBot?start={hash}"),
        "mini_app_invoice_url": format!("https://t.me/CryptoTestnetBot/app?startapp=invoice-{hash}&mode=compact"),
        "web_app_invoice_url": format!("https://testnet-app.send.tg/invoices/{hash}"),
        "description": str_param(p, "description"),
        "created_at": "2026-12-07T11:59:00.000Z",
        "allow_comments": p.get("allow_comments").cloned().unwrap_or(json!(true)),
        "allow_anonymous": p.get("allow_anonymous").cloned().unwrap_or(json!(true)),
    });
    if fiat {
        inv["fiat"] = json!(str_param(p, "fiat").unwrap());
        if let Some(a) = str_param(p, "accepted_assets") {
            inv["accepted_assets"] = json!(a.split(',').collect::<Vec<_>>());
        }
    } else {
        inv["asset"] = json!(str_param(p, "asset").unwrap());
    }
    if let Some(pl) = str_param(p, "payload") {
        inv["payload"] = json!(pl);
    }
    if let Some(e) = int_param(p, "expires_in") {
        inv["expiration_date"] = json!(format!("+{e}s"));
    }
    g.invoices.insert(id, inv.clone());
    inv
}

async fn call(
    State((inner, deletions)): State<(Arc<Mutex<Inner>>, Arc<Notify>)>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    if headers
        .get("Crypto-Pay-API-Token")
        .and_then(|v| v.to_str().ok())
        != Some(TOKEN)
    {
        inner.lock().unwrap().bad_tokens += 1;
        return err(401, "UNAUTHORIZED");
    }
    let p = params(query, &body);
    let mut g = inner.lock().unwrap();
    match method.as_str() {
        "getMe" => ok(
            json!({"app_id": 1, "name": "Shop", "payment_processing_bot_username": "CryptoTestnetBot"}),
        ),
        "createInvoice" => {
            let fiat = match str_param(&p, "currency_type").as_deref() {
                None | Some("crypto") => false,
                Some("fiat") => true,
                Some(_) => return err(400, "CURRENCY_TYPE_INVALID"),
            };
            if fiat {
                if !str_param(&p, "fiat").is_some_and(|f| FIATS.contains(&f.as_str())) {
                    return err(400, "FIAT_INVALID");
                }
                if let Some(a) = str_param(&p, "accepted_assets") {
                    if !a.split(',').all(|x| ASSETS.contains(&x)) {
                        return err(400, "ACCEPTED_ASSETS_INVALID");
                    }
                }
            } else {
                if !str_param(&p, "asset").is_some_and(|a| ASSETS.contains(&a.as_str())) {
                    return err(400, "ASSET_INVALID");
                }
                if p.contains_key("accepted_assets") {
                    return err(400, "ACCEPTED_ASSETS_INVALID");
                }
            }
            // The amount is a string in major units.
            if !p
                .get("amount")
                .and_then(Value::as_str)
                .is_some_and(decimal_ok)
            {
                return err(400, "AMOUNT_INVALID");
            }
            if str_param(&p, "payload").is_some_and(|s| s.len() > 4096) {
                return err(400, "PAYLOAD_TOO_LONG");
            }
            if str_param(&p, "description").is_some_and(|s| s.chars().count() > 1024) {
                return err(400, "DESCRIPTION_TOO_LONG");
            }
            if let Some(e) = p.get("expires_in") {
                if !e.as_i64().is_some_and(|e| (1..=2_678_400).contains(&e)) {
                    return err(400, "EXPIRES_IN_INVALID");
                }
            }
            g.created.push(Value::Object(p.clone()));
            ok(new_invoice(&mut g, &p))
        }
        "getInvoices" => {
            g.get_invoices += 1;
            let ids: Vec<i64> = str_param(&p, "invoice_ids")
                .unwrap_or_default()
                .split(',')
                .filter_map(|s| s.trim().parse().ok())
                .collect();
            let mut items: Vec<Value> = g
                .invoices
                .values()
                .filter(|i| ids.is_empty() || ids.contains(&i["invoice_id"].as_i64().unwrap()))
                .filter(|i| str_param(&p, "status").is_none_or(|st| i["status"] == st.as_str()))
                .cloned()
                .collect();
            items.sort_by_key(|i| i["invoice_id"].as_i64());
            ok(json!({"items": items}))
        }
        "deleteInvoice" => {
            let Some(id) = int_param(&p, "invoice_id") else {
                return err(400, "INVOICE_ID_REQUIRED");
            };
            if g.invoices.remove(&id).is_none() {
                return err(400, "INVOICE_NOT_FOUND");
            }
            g.deleted.push(id);
            drop(g);
            deletions.notify_waiters();
            ok(json!(true))
        }
        "transfer" => {
            if !g.transfers_enabled {
                return err(403, "METHOD_DISABLED");
            }
            let (Some(user_id), Some(asset), Some(spend_id)) = (
                int_param(&p, "user_id"),
                str_param(&p, "asset"),
                str_param(&p, "spend_id"),
            ) else {
                return err(400, "PARAMETERS_MISSING");
            };
            if spend_id.len() > 64 {
                return err(400, "SPEND_ID_TOO_LONG");
            }
            if !ASSETS.contains(&asset.as_str()) {
                return err(400, "ASSET_INVALID");
            }
            let Some(amount) = p
                .get("amount")
                .and_then(Value::as_str)
                .filter(|a| decimal_ok(a))
            else {
                return err(400, "AMOUNT_INVALID");
            };
            g.transfer_calls.push(spend_id.clone());
            let answer = |t: &Transfer| {
                ok(
                    json!({"transfer_id": t.transfer_id, "spend_id": t.spend_id, "user_id": t.user_id,
                    "asset": t.asset, "amount": t.amount, "status": "completed",
                    "completed_at": "2026-12-07T12:30:00.000Z", "comment": t.comment}),
                )
            };
            if let Some(t) = g.transfers.iter().find(|t| t.spend_id == spend_id) {
                // Accepted once: nothing is paid again.
                return if g.repeat_spend_is_error {
                    err(400, "SPEND_ID_ALREADY_USED")
                } else {
                    answer(t)
                };
            }
            g.next += 1;
            let t = Transfer {
                transfer_id: g.next,
                user_id,
                asset,
                amount: amount.to_string(),
                spend_id,
                comment: str_param(&p, "comment"),
            };
            g.transfers.push(t.clone());
            if g.lose_next_transfer_answer {
                g.lose_next_transfer_answer = false;
                return err(500, "INTERNAL_ERROR");
            }
            answer(&t)
        }
        _ => err(405, "METHOD_NOT_FOUND"),
    }
}
