//! What Click and Payme send to the shop, built the way the real gateways build it: Click's
//! form-encoded requests with an md5 `sign_string` computed here from the documented
//! formula, Payme's JSON-RPC calls with `Authorization: Basic base64("Paycom:<key>")`.
#![allow(dead_code)]

use base64::Engine;
use md5::{Digest, Md5};
use serde_json::{json, Value};

use crate::common::{contact, TestApp};

pub const CLICK_SERVICE_ID: &str = "40001";
pub const CLICK_MERCHANT_ID: &str = "30001";
pub const CLICK_SECRET: &str = "click-test-secret";
pub const PAYME_MERCHANT_ID: &str = "5e730e8e0b852a417aa49ceb";
pub const PAYME_KEY: &str = "payme-test-key&#ABC";
pub const PAYME_CHECKOUT: &str = "https://checkout.test.paycom.uz";

/// Configuration that turns both Uzbek rails on.
pub const ENV: &[(&str, &str)] = &[
    ("CLICK_SERVICE_ID", CLICK_SERVICE_ID),
    ("CLICK_MERCHANT_ID", CLICK_MERCHANT_ID),
    ("CLICK_SECRET_KEY", CLICK_SECRET),
    ("PAYME_MERCHANT_ID", PAYME_MERCHANT_ID),
    ("PAYME_KEY", PAYME_KEY),
    ("PAYME_CHECKOUT_URL", PAYME_CHECKOUT),
    ("PUBLIC_URL", "https://shop.example.uz"),
];

/// A placed order through the HTTP API (initData), `qty` of the teapot (150 000 sum each).
pub async fn order(app: &TestApp, user: i64, method: &str, qty: i64) -> Value {
    let vid = app.variant_id("Teapot").await;
    let (s, v) = app
        .order(
            user,
            json!({
                "items": [{"variant_id": vid, "quantity": qty}],
                "payment_method": method,
                "contact": contact(),
            }),
        )
        .await;
    assert_eq!(s, 201, "order: {v}");
    v
}

pub fn id(v: &Value) -> i64 {
    v["id"].as_i64().expect("order id")
}

/// The reference Click and Payme name an order by, read from its `checkout_url` as a client
/// (or Click's and Payme's page) reads it: Click's `transaction_param`, or `ac.order_id` in
/// Payme's base64 parameters.
pub fn pay_ref(order: &Value) -> String {
    let url = order["checkout_url"].as_str().expect("checkout_url");
    if let Some(encoded) = url.strip_prefix(&format!("{PAYME_CHECKOUT}/")) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("base64");
        let params = String::from_utf8(decoded).unwrap();
        return params
            .split(';')
            .find_map(|kv| kv.strip_prefix("ac.order_id="))
            .unwrap_or_else(|| panic!("no ac.order_id in {params}"))
            .to_string();
    }
    let url = reqwest::Url::parse(url).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "transaction_param")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no transaction_param in {url}"))
}

/// [`order`], answering the order's id and its Click / Payme reference.
pub async fn placed(app: &TestApp, user: i64, method: &str, qty: i64) -> (i64, String) {
    let o = order(app, user, method, qty).await;
    (id(&o), pay_ref(&o))
}

// ------------------------------------------------------------------------------------ Click

/// One Click request. `prepare_id` is sent only at Complete; `action` is as Click would
/// send it (0 Prepare, 1 Complete) unless a test wants it wrong.
#[derive(Clone, Debug)]
pub struct ClickReq {
    pub click_trans_id: i64,
    pub service_id: String,
    pub merchant_trans_id: String,
    pub prepare_id: Option<i64>,
    pub amount: String,
    pub action: String,
    pub error: i64,
    pub sign_time: String,
    pub secret: String,
}

impl ClickReq {
    /// `reference` is what Click sends as merchant_trans_id: the order's reference.
    pub fn prepare(click_trans_id: i64, reference: &str, amount: &str) -> Self {
        ClickReq {
            click_trans_id,
            service_id: CLICK_SERVICE_ID.into(),
            merchant_trans_id: reference.to_string(),
            prepare_id: None,
            amount: amount.into(),
            action: "0".into(),
            error: 0,
            sign_time: "2026-11-25 12:00:00".into(),
            secret: CLICK_SECRET.into(),
        }
    }

    pub fn complete(click_trans_id: i64, reference: &str, prepare_id: i64, amount: &str) -> Self {
        ClickReq {
            prepare_id: Some(prepare_id),
            action: "1".into(),
            ..Self::prepare(click_trans_id, reference, amount)
        }
    }

    /// md5(click_trans_id + service_id + SECRET + merchant_trans_id [+ merchant_prepare_id]
    /// + amount + action + sign_time), lowercase hex, as docs.click.uz gives it.
    pub fn sign(&self) -> String {
        let prep = self.prepare_id.map(|p| p.to_string()).unwrap_or_default();
        let s = format!(
            "{}{}{}{}{}{}{}{}",
            self.click_trans_id,
            self.service_id,
            self.secret,
            self.merchant_trans_id,
            prep,
            self.amount,
            self.action,
            self.sign_time
        );
        hex::encode(Md5::digest(s.as_bytes()))
    }

    pub fn fields(&self) -> Vec<(String, String)> {
        let mut f = vec![
            ("click_trans_id".into(), self.click_trans_id.to_string()),
            ("service_id".into(), self.service_id.clone()),
            (
                "click_paydoc_id".into(),
                (self.click_trans_id + 7_000_000).to_string(),
            ),
            ("merchant_trans_id".into(), self.merchant_trans_id.clone()),
            ("amount".into(), self.amount.clone()),
            ("action".into(), self.action.clone()),
            ("error".into(), self.error.to_string()),
            (
                "error_note".into(),
                if self.error == 0 {
                    "Success"
                } else {
                    "Insufficient funds"
                }
                .into(),
            ),
            ("sign_time".into(), self.sign_time.clone()),
            ("sign_string".into(), self.sign()),
        ];
        if let Some(p) = self.prepare_id {
            f.insert(4, ("merchant_prepare_id".into(), p.to_string()));
        }
        f
    }
}

/// Posts form fields to `/webhooks/click/<endpoint>`; asserts HTTP 200 JSON with `error`
/// and `error_note`, and answers the JSON.
pub async fn click_raw(app: &TestApp, endpoint: &str, fields: &[(String, String)]) -> Value {
    let res = app
        .client
        .post(app.url(&format!("/webhooks/click/{endpoint}")))
        .form(fields)
        .send()
        .await
        .expect("click request");
    assert_eq!(res.status().as_u16(), 200, "Click always gets HTTP 200");
    let v: Value = res.json().await.expect("Click answer is JSON");
    assert!(v["error"].is_i64(), "no error code in {v}");
    assert!(v["error_note"].is_string(), "no error_note in {v}");
    v
}

pub async fn click(app: &TestApp, endpoint: &str, r: &ClickReq) -> Value {
    click_raw(app, endpoint, &r.fields()).await
}

pub fn err(v: &Value) -> i64 {
    v["error"].as_i64().unwrap()
}

/// Prepare then Complete for an order (by its reference); answers the Complete reply.
pub async fn click_pay(app: &TestApp, trans: i64, reference: &str, amount: &str) -> Value {
    let p = click(app, "prepare", &ClickReq::prepare(trans, reference, amount)).await;
    assert_eq!(err(&p), 0, "{p}");
    let prep = p["merchant_prepare_id"].as_i64().unwrap();
    click(
        app,
        "complete",
        &ClickReq::complete(trans, reference, prep, amount),
    )
    .await
}

// ------------------------------------------------------------------------------------ Payme

pub fn basic(login: &str, key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{login}:{key}"))
    )
}

/// Sends a JSON-RPC body with this Authorization header (none when `None`); asserts HTTP 200.
pub async fn payme_raw(app: &TestApp, auth: Option<&str>, body: &str) -> Value {
    let mut rb = app
        .client
        .post(app.url("/webhooks/payme"))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some(a) = auth {
        rb = rb.header("Authorization", a);
    }
    let res = rb.send().await.expect("payme request");
    assert_eq!(res.status().as_u16(), 200, "Payme always gets HTTP 200");
    res.json().await.expect("Payme answer is JSON")
}

static RPC_ID: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);

/// A correctly authenticated Merchant API call.
pub async fn payme(app: &TestApp, method: &str, params: Value) -> Value {
    let id = RPC_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let body = json!({"method": method, "params": params, "id": id}).to_string();
    let v = payme_raw(app, Some(&basic("Paycom", PAYME_KEY)), &body).await;
    assert_eq!(v["id"], json!(id), "JSON-RPC id echoed: {v}");
    v
}

/// The error code of a JSON-RPC answer (None when it is a result), checking that the
/// message comes in all three languages.
pub fn code(v: &Value) -> Option<i64> {
    let e = v.get("error")?;
    for l in ["uz", "ru", "en"] {
        assert!(
            e["message"][l].as_str().is_some_and(|m| !m.is_empty()),
            "error message in {l} missing: {v}"
        );
    }
    e["code"].as_i64()
}

/// A 24-character Payme transaction id.
pub fn payme_id(n: u64) -> String {
    format!("{:024x}", 0x5f00_0000_0000u64 + n)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Payme's account object for the order with this reference.
pub fn account(reference: &str) -> Value {
    json!({"order_id": reference})
}

/// CreateTransaction for an order (by its reference) at `time`; answers the reply.
pub async fn create(app: &TestApp, pid: &str, reference: &str, amount: i64, time: i64) -> Value {
    payme(
        app,
        "CreateTransaction",
        json!({"id": pid, "time": time, "amount": amount, "account": account(reference)}),
    )
    .await
}

/// How many times the order was paid (its `paid` events) and how many of its payments
/// are live (not flagged for refund).
pub async fn paid_counts(app: &TestApp, order_id: i64) -> (i64, i64) {
    let paid: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM order_events WHERE order_id = $1 AND kind = 'paid'",
    )
    .bind(order_id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM payments WHERE order_id = $1 AND needs_refund = 0",
    )
    .bind(order_id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    (paid, live)
}

/// The order as its customer sees it over HTTP.
pub async fn order_status(app: &TestApp, user: i64, order_id: i64) -> String {
    let (s, v) = app
        .json(app.as_user(
            reqwest::Method::GET,
            &format!("/api/orders/{order_id}"),
            user,
        ))
        .await;
    assert_eq!(s, 200, "{v}");
    v["status"].as_str().unwrap().to_string()
}
