//! A local YooKassa (API v3): the parts the shop uses, checked the way YooKassa checks them
//! (HTTP Basic shop id : secret key, JSON bodies, an `Idempotence-Key` of at most 64
//! characters on every POST that replays the first answer for the same body, amounts as
//! decimal strings in the account's currency, RUB; the limits of description, metadata,
//! return_url and receipt), with payments and refunds the test moves on (succeed, cancel,
//! complete a pending refund) and notifications built from them as YooKassa sends them.
//!
//! What YooKassa answers to a reused key with another body is not documented (see the
//! reference sheet): this fake refuses it with a 400 `invalid_request`, so a shop that ever
//! did it would fail here.
#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};

pub const SHOP_ID: &str = "506751";
pub const SECRET_KEY: &str = "test_Fh8hUAVVBGUGbjmlzba6TB0iyUbos_lueTHE-axOwM0";

#[derive(Debug, Clone)]
pub struct Seen {
    pub method: &'static str,
    pub path: String,
    pub idempotence_key: Option<String>,
    pub status: u16,
    pub body: Value,
}

/// Runs with the refund YooKassa just made, before it answers the call that made it.
pub type RefundHook = Arc<dyn Fn(Value) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

#[derive(Default)]
pub struct Inner {
    /// Payment objects as `GET /payments/{id}` answers them.
    pub payments: Vec<Value>,
    /// The body each payment was created with, by payment id.
    pub created_with: HashMap<String, Value>,
    pub refunds: Vec<Value>,
    /// The body each refund was created with, by refund id.
    pub refund_bodies: HashMap<String, Value>,
    /// Idempotence-Key -> (path + body, status, answer).
    idem: HashMap<String, (String, u16, Value)>,
    pub requests: Vec<Seen>,
    on_refund: Option<RefundHook>,
    /// New refunds start `pending` instead of `succeeded`.
    pub refunds_pending: bool,
    /// The next N POSTs are carried out and remembered under their key, then answered 500:
    /// YooKassa's "result unknown", which a client must retry with the same key.
    pub fail_next: u32,
    /// New refunds are canceled at once (the shop's balance is short, say).
    pub cancel_refunds: bool,
    /// Every request is answered 503 before YooKassa looks at it (an outage).
    pub down: bool,
    next: u64,
}

#[derive(Clone)]
pub struct FakeYookassa {
    pub url: String,
    pub inner: Arc<Mutex<Inner>>,
}

type Answer = (StatusCode, Value);

fn error(status: StatusCode, code: &str, description: &str, parameter: Option<&str>) -> Answer {
    let mut v = json!({"type": "error", "id": "0f1c4a3e-7f5f-4e56-9f5a-fake", "code": code,
        "description": description});
    if let Some(p) = parameter {
        v["parameter"] = json!(p);
    }
    (status, v)
}

fn invalid(description: &str, parameter: &str) -> Answer {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        description,
        Some(parameter),
    )
}

fn now_iso() -> String {
    "2026-12-07T12:00:00.000Z".into()
}

/// `"1500.00"` in kopecks; `None` unless it has exactly two decimals, as the shop must send.
pub fn kopecks(v: &Value) -> Option<i64> {
    let s = v.as_str()?;
    let (int, frac) = s.split_once('.')?;
    if int.is_empty()
        || frac.len() != 2
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some(int.parse::<i64>().ok()? * 100 + frac.parse::<i64>().ok()?)
}

fn rub(minor: i64) -> Value {
    json!({"value": format!("{}.{:02}", minor / 100, minor % 100), "currency": "RUB"})
}

/// `amount` at `field`: exact kopecks in RUB (the account's currency), more than zero.
fn check_amount(v: &Value, field: &str) -> Result<i64, Answer> {
    if !v["value"].is_string() {
        return Err(invalid("value must be a string", &format!("{field}.value")));
    }
    let Some(k) = kopecks(&v["value"]) else {
        return Err(invalid("Invalid amount value", &format!("{field}.value")));
    };
    if v["currency"] != "RUB" {
        return Err(invalid(
            "Currency is not supported by the shop",
            &format!("{field}.currency"),
        ));
    }
    if k <= 0 {
        return Err(invalid(
            "Amount must be positive",
            &format!("{field}.value"),
        ));
    }
    Ok(k)
}

/// A `receipt` whose items must add up to `total` kopecks.
fn check_receipt(r: &Value, total: i64) -> Result<(), Answer> {
    let c = &r["customer"];
    let email = c["email"].as_str().filter(|e| e.contains('@'));
    let phone = c["phone"]
        .as_str()
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if email.is_none() && phone.is_none() {
        return Err(invalid(
            "Receipt customer needs an email or a phone",
            "receipt.customer",
        ));
    }
    let items = r["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() || items.len() > 100 {
        return Err(invalid("1 to 100 receipt items", "receipt.items"));
    }
    let mut sum = 0;
    for (i, it) in items.iter().enumerate() {
        let p = |f: &str| format!("receipt.items[{i}].{f}");
        let d = it["description"].as_str().unwrap_or("");
        if d.is_empty() || d.chars().count() > 128 {
            return Err(invalid("description 1..128", &p("description")));
        }
        let q = it["quantity"].as_i64().filter(|q| *q > 0);
        let Some(q) = q else {
            return Err(invalid("quantity must be a number > 0", &p("quantity")));
        };
        let unit = check_amount(&it["amount"], &p("amount"))?;
        let vat = it["vat_code"].as_i64().unwrap_or(0);
        if !(1..=12).contains(&vat) {
            return Err(invalid("vat_code 1..12", &p("vat_code")));
        }
        for f in ["payment_subject", "payment_mode"] {
            if !it[f].is_string() {
                return Err(invalid("required", &p(f)));
            }
        }
        sum += unit * q;
    }
    if sum != total {
        return Err(invalid(
            "The sum of the receipt items does not match the amount",
            "receipt.items",
        ));
    }
    Ok(())
}

impl FakeYookassa {
    pub async fn start() -> FakeYookassa {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/payments", post(create_payment))
            .route("/payments/{id}", get(get_payment))
            .route("/refunds", post(create_refund).get(list_refunds))
            .route("/refunds/{id}", get(get_refund))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeYookassa {
            url: format!("http://{addr}"),
            inner,
        }
    }

    /// Settings that point the shop at this fake.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("YOOKASSA_SHOP_ID", SHOP_ID.to_string()),
            ("YOOKASSA_SECRET_KEY", SECRET_KEY.to_string()),
            ("YOOKASSA_API_URL", self.url.clone()),
        ]
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// The newest payment whose metadata names `order_id`.
    pub fn payment_for(&self, order_id: i64) -> Value {
        let g = self.inner.lock().unwrap();
        g.payments
            .iter()
            .rev()
            .find(|p| p["metadata"]["order_id"].as_str() == Some(order_id.to_string().as_str()))
            .cloned()
            .unwrap_or_else(|| panic!("no YooKassa payment for order {order_id}"))
    }

    pub fn payment(&self, id: &str) -> Value {
        let g = self.inner.lock().unwrap();
        g.payments
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no YooKassa payment {id}"))
    }

    /// The body the shop created payment `id` with.
    pub fn created_with(&self, id: &str) -> Value {
        self.inner.lock().unwrap().created_with[id].clone()
    }

    fn edit_payment(&self, id: &str, f: impl FnOnce(&mut Value)) -> Value {
        let mut g = self.inner.lock().unwrap();
        let p = g
            .payments
            .iter_mut()
            .find(|p| p["id"] == id)
            .unwrap_or_else(|| panic!("no YooKassa payment {id}"));
        f(p);
        p.clone()
    }

    /// The buyer pays: the payment (captured at once) is `succeeded`. Answers it.
    pub fn succeed(&self, id: &str) -> Value {
        self.edit_payment(id, |p| {
            assert_eq!(p["status"], "pending", "only a pending payment can succeed");
            p["status"] = json!("succeeded");
            p["paid"] = json!(true);
            p["refundable"] = json!(true);
            p["captured_at"] = json!(now_iso());
            p["income_amount"] = p["amount"].clone();
            p["refunded_amount"] = rub(0);
            p.as_object_mut().unwrap().remove("confirmation");
        })
    }

    /// YooKassa cancels the payment for `reason` (`expired_on_confirmation`, …).
    pub fn cancel(&self, id: &str, reason: &str) -> Value {
        self.edit_payment(id, |p| {
            assert_eq!(
                p["status"], "pending",
                "only a pending payment can be canceled"
            );
            p["status"] = json!("canceled");
            p["cancellation_details"] = json!({"party": "yoo_money", "reason": reason});
        })
    }

    /// Makes the payment's amount, as the API answers it, `value` (a payment changed on
    /// YooKassa's side, or another integration's): what the shop must check.
    pub fn set_amount(&self, id: &str, value: &str) {
        self.edit_payment(id, |p| p["amount"]["value"] = json!(value));
    }

    /// Makes the payment's metadata name another order.
    pub fn set_order(&self, id: &str, order_id: &str) {
        self.edit_payment(id, |p| p["metadata"]["order_id"] = json!(order_id));
    }

    /// A notification of `event` about `object`, as YooKassa POSTs it.
    pub fn notification(&self, event: &str, object: Value) -> Value {
        json!({"type": "notification", "event": event, "object": object})
    }

    pub fn refund(&self, id: &str) -> Value {
        let g = self.inner.lock().unwrap();
        g.refunds
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no YooKassa refund {id}"))
    }

    pub fn refunds_of(&self, payment_id: &str) -> Vec<Value> {
        let g = self.inner.lock().unwrap();
        g.refunds
            .iter()
            .filter(|r| r["payment_id"] == payment_id)
            .cloned()
            .collect()
    }

    /// The body the shop created refund `id` with.
    pub fn refund_body(&self, id: &str) -> Value {
        self.inner.lock().unwrap().refund_bodies[id].clone()
    }

    /// Kopecks refunded (succeeded or pending) of a payment.
    pub fn refunded(&self, payment_id: &str) -> i64 {
        kopecks(&self.payment(payment_id)["refunded_amount"]["value"]).unwrap_or(0)
    }

    pub fn fail_next(&self, n: u32) {
        self.inner.lock().unwrap().fail_next = n;
    }

    pub fn refunds_pending(&self, on: bool) {
        self.inner.lock().unwrap().refunds_pending = on;
    }

    /// A pending refund finishes (`succeeded`) or is `canceled`. Answers it.
    pub fn settle_refund(&self, id: &str, status: &str) -> Value {
        let mut g = self.inner.lock().unwrap();
        let r = g
            .refunds
            .iter_mut()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no YooKassa refund {id}"));
        assert_eq!(r["status"], "pending");
        r["status"] = json!(status);
        if status == "canceled" {
            r["cancellation_details"] =
                json!({"party": "yoo_money", "reason": "insufficient_funds"});
        }
        let r = r.clone();
        if status == "canceled" {
            let (pid, amount) = (
                r["payment_id"].as_str().unwrap().to_string(),
                kopecks(&r["amount"]["value"]).unwrap(),
            );
            let p = g.payments.iter_mut().find(|p| p["id"] == pid).unwrap();
            let was = kopecks(&p["refunded_amount"]["value"]).unwrap_or(0);
            p["refunded_amount"] = rub(was - amount);
        }
        r
    }

    /// From now on, every refund the shop asks for is first announced by `hook` (which
    /// typically delivers YooKassa's notification about it) and only then answered.
    pub fn before_refund_answer<F, Fut>(&self, hook: F)
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.inner.lock().unwrap().on_refund = Some(Arc::new(move |v| Box::pin(hook(v))));
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SHOP_ID}:{SECRET_KEY}"))
    );
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == want)
}

fn outage() -> Answer {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "internal_server_error",
        "Service unavailable",
        None,
    )
}

fn unauthorized() -> Answer {
    error(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "Authentication by given credentials failed",
        None,
    )
}

fn record(
    g: &mut Inner,
    method: &'static str,
    path: &str,
    key: Option<String>,
    a: &Answer,
    body: Value,
) {
    g.requests.push(Seen {
        method,
        path: path.to_string(),
        idempotence_key: key,
        status: a.0.as_u16(),
        body,
    });
}

fn respond(a: Answer) -> Response {
    (a.0, Json(a.1)).into_response()
}

/// What every POST must bring: credentials, JSON, an Idempotence-Key. Answers the key and the
/// body, or the error YooKassa gives; or a replayed answer for a key seen before.
enum Pre {
    Go(String, Value),
    Done(Answer),
}

fn pre_post(g: &mut Inner, path: &str, headers: &HeaderMap, body: &Bytes) -> Pre {
    if g.down {
        return Pre::Done(outage());
    }
    if !authorized(headers) {
        return Pre::Done(unauthorized());
    }
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/json") {
        return Pre::Done(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "Content-Type must be application/json",
            None,
        ));
    }
    let Some(key) = headers
        .get("idempotence-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        return Pre::Done(invalid(
            "Idempotence-Key header is required",
            "Idempotence-Key",
        ));
    };
    let key_ok = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'_' | b'.'));
    if !key_ok {
        return Pre::Done(invalid("Idempotence-Key is invalid", "Idempotence-Key"));
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Pre::Done(invalid("Request body is not JSON", "body"));
    };
    // Same key, same request: the first answer again, nothing done twice.
    let fp = format!("{path} {v}");
    if let Some((seen, status, answer)) = g.idem.get(&key) {
        if *seen == fp {
            return Pre::Done((StatusCode::from_u16(*status).unwrap(), answer.clone()));
        }
        return Pre::Done(invalid(
            "Idempotence-Key was already used with another request",
            "Idempotence-Key",
        ));
    }
    Pre::Go(key, v)
}

fn remember(g: &mut Inner, path: &str, key: &str, body: &Value, a: &Answer) {
    // YooKassa keeps the answer under the key for 24 h, errors included.
    g.idem.insert(
        key.to_string(),
        (format!("{path} {body}"), a.0.as_u16(), a.1.clone()),
    );
}

/// The answer, or a 500 in its place while `fail_next` lasts (the work is done regardless).
fn lost_answer(g: &mut Inner, a: Answer) -> Answer {
    if g.fail_next == 0 {
        return a;
    }
    g.fail_next -= 1;
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_server_error",
        "Internal server error",
        None,
    )
}

fn check_metadata(m: &Value) -> Result<(), Answer> {
    let Some(m) = m.as_object() else {
        return Ok(());
    };
    if m.len() > 16 {
        return Err(invalid("At most 16 metadata keys", "metadata"));
    }
    for (k, v) in m {
        if k.chars().count() > 32 || v.as_str().is_none_or(|s| s.chars().count() > 512) {
            return Err(invalid("Metadata key ≤ 32, string value ≤ 512", "metadata"));
        }
    }
    Ok(())
}

fn new_payment(g: &mut Inner, b: &Value) -> Result<Value, Answer> {
    let total = check_amount(&b["amount"], "amount")?;
    let c = &b["confirmation"];
    if c["type"] != "redirect" {
        return Err(invalid("confirmation.type", "confirmation.type"));
    }
    let ret = c["return_url"].as_str().unwrap_or("");
    if ret.is_empty() || ret.len() > 2048 {
        return Err(invalid("return_url is required", "confirmation.return_url"));
    }
    if let Some(l) = c.get("locale") {
        if l != "ru_RU" && l != "en_US" {
            return Err(invalid("Unknown locale", "confirmation.locale"));
        }
    }
    if let Some(cap) = b.get("capture") {
        if !cap.is_boolean() {
            return Err(invalid("capture is a boolean", "capture"));
        }
    }
    if b["description"]
        .as_str()
        .is_some_and(|d| d.chars().count() > 128)
    {
        return Err(invalid("description ≤ 128", "description"));
    }
    check_metadata(&b["metadata"])?;
    if let Some(r) = b.get("receipt") {
        check_receipt(r, total)?;
    }
    let allowed = [
        "amount",
        "capture",
        "confirmation",
        "description",
        "metadata",
        "receipt",
        "merchant_customer_id",
        "payment_method_data",
        "save_payment_method",
        "client_ip",
    ];
    if let Some(k) = b
        .as_object()
        .unwrap()
        .keys()
        .find(|k| !allowed.contains(&k.as_str()))
    {
        return Err(invalid("Unknown parameter", k));
    }
    g.next += 1;
    let id = format!(
        "{:08x}-000f-5000-8000-{:012x}",
        0x2f3b_0000 + g.next,
        g.next
    );
    let p = json!({
        "id": id, "status": "pending", "paid": false, "refundable": false, "test": true,
        "amount": b["amount"], "description": b["description"],
        "recipient": {"account_id": SHOP_ID, "gateway_id": "2340"},
        "created_at": now_iso(),
        "confirmation": {"type": "redirect", "return_url": ret,
            "confirmation_url": format!("https://yoomoney.ru/checkout/payments/v2/contract?orderId={id}")},
        "metadata": b.get("metadata").cloned().unwrap_or(json!({})),
    });
    g.payments.push(p.clone());
    g.created_with.insert(id, b.clone());
    Ok(p)
}

async fn create_payment(
    State(st): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = "/payments";
    let mut g = st.lock().unwrap();
    let seen_body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let key = headers
        .get("idempotence-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let a = match pre_post(&mut g, path, &headers, &body) {
        Pre::Done(a) => a,
        Pre::Go(key, b) => {
            let a = match new_payment(&mut g, &b) {
                Ok(p) => (StatusCode::OK, p),
                Err(e) => e,
            };
            remember(&mut g, path, &key, &b, &a);
            lost_answer(&mut g, a)
        }
    };
    record(&mut g, "POST", path, key, &a, seen_body);
    respond(a)
}

async fn get_payment(
    State(st): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/payments/{id}");
    let mut g = st.lock().unwrap();
    let a = if g.down {
        outage()
    } else if !authorized(&headers) {
        unauthorized()
    } else {
        match g.payments.iter().find(|p| p["id"] == id.as_str()) {
            Some(p) => (StatusCode::OK, p.clone()),
            None => error(
                StatusCode::NOT_FOUND,
                "not_found",
                "Payment not found",
                None,
            ),
        }
    };
    record(&mut g, "GET", &path, None, &a, Value::Null);
    respond(a)
}

/// `GET /refunds?payment_id=&limit=&cursor=`: one page of a payment's refunds, oldest
/// first, with `next_cursor` when more follow.
async fn list_refunds(
    State(st): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let mut g = st.lock().unwrap();
    let a = if !authorized(&headers) {
        unauthorized()
    } else if let Some(k) = q
        .keys()
        .find(|k| !["payment_id", "limit", "cursor", "status"].contains(&k.as_str()))
    {
        invalid("Unknown parameter", k)
    } else {
        let limit = q
            .get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(10);
        if !(1..=100).contains(&limit) {
            invalid("limit 1..100", "limit")
        } else {
            let all: Vec<Value> = g
                .refunds
                .iter()
                .filter(|r| {
                    q.get("payment_id")
                        .is_none_or(|p| r["payment_id"] == p.as_str())
                })
                .cloned()
                .collect();
            let from = q
                .get("cursor")
                .and_then(|c| c.parse::<usize>().ok())
                .unwrap_or(0);
            let page: Vec<Value> = all.iter().skip(from).take(limit).cloned().collect();
            let mut v = json!({"type": "list", "items": page});
            if from + limit < all.len() {
                v["next_cursor"] = json!((from + limit).to_string());
            }
            (StatusCode::OK, v)
        }
    };
    let path = format!(
        "/refunds?{}",
        q.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    );
    record(&mut g, "GET", &path, None, &a, Value::Null);
    respond(a)
}

async fn get_refund(
    State(st): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/refunds/{id}");
    let mut g = st.lock().unwrap();
    let a = if !authorized(&headers) {
        unauthorized()
    } else {
        match g.refunds.iter().find(|r| r["id"] == id.as_str()) {
            Some(r) => (StatusCode::OK, r.clone()),
            None => error(StatusCode::NOT_FOUND, "not_found", "Refund not found", None),
        }
    };
    record(&mut g, "GET", &path, None, &a, Value::Null);
    respond(a)
}

fn new_refund(g: &mut Inner, b: &Value) -> Result<Value, Answer> {
    let pid = b["payment_id"].as_str().unwrap_or("").to_string();
    let amount = check_amount(&b["amount"], "amount")?;
    if b["description"]
        .as_str()
        .is_some_and(|d| d.chars().count() > 250)
    {
        return Err(invalid("description ≤ 250", "description"));
    }
    check_metadata(&b["metadata"])?;
    let Some(p) = g.payments.iter().find(|p| p["id"] == pid.as_str()).cloned() else {
        return Err(invalid("Payment not found", "payment_id"));
    };
    if p["status"] != "succeeded" {
        return Err(invalid(
            "Only a succeeded payment can be refunded",
            "payment_id",
        ));
    }
    let paid = kopecks(&p["amount"]["value"]).unwrap();
    let refunded = kopecks(&p["refunded_amount"]["value"]).unwrap_or(0);
    if refunded + amount > paid {
        return Err(invalid(
            "The refund exceeds what is left of the payment",
            "amount.value",
        ));
    }
    // A fiscalised payment's refund needs its own receipt.
    let fiscal = g
        .created_with
        .get(&pid)
        .is_some_and(|c| c.get("receipt").is_some());
    match b.get("receipt") {
        Some(r) => check_receipt(r, amount)?,
        None if fiscal => return Err(invalid("Receipt is required for this shop", "receipt")),
        None => {}
    }
    g.next += 1;
    let id = format!(
        "{:08x}-0015-5000-9000-{:012x}",
        0x2f3c_0000 + g.next,
        g.next
    );
    if g.cancel_refunds {
        let r = json!({"id": id, "payment_id": pid, "status": "canceled", "amount": b["amount"],
            "created_at": now_iso(), "description": b["description"],
            "cancellation_details": {"party": "yoo_money", "reason": "insufficient_funds"}});
        g.refunds.push(r.clone());
        g.refund_bodies.insert(id, b.clone());
        return Ok(r);
    }
    let status = if g.refunds_pending {
        "pending"
    } else {
        "succeeded"
    };
    let r = json!({"id": id, "payment_id": pid, "status": status, "amount": b["amount"],
        "created_at": now_iso(), "description": b["description"]});
    let p = g
        .payments
        .iter_mut()
        .find(|p| p["id"] == pid.as_str())
        .unwrap();
    p["refunded_amount"] = rub(refunded + amount);
    g.refunds.push(r.clone());
    g.refund_bodies.insert(id, b.clone());
    Ok(r)
}

async fn create_refund(
    State(st): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = "/refunds";
    let seen_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let key = headers
        .get("idempotence-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (a, hook) = {
        let mut g = st.lock().unwrap();
        match pre_post(&mut g, path, &headers, &body) {
            Pre::Done(a) => (a, None),
            Pre::Go(k, b) => {
                let a = match new_refund(&mut g, &b) {
                    Ok(r) => (StatusCode::OK, r),
                    Err(e) => e,
                };
                remember(&mut g, path, &k, &b, &a);
                let hook = g.on_refund.clone().filter(|_| a.0 == StatusCode::OK);
                (lost_answer(&mut g, a), hook)
            }
        }
    };
    if let Some(hook) = hook {
        // The refund is made; YooKassa's notification of it overtakes this answer.
        hook(a.1.clone()).await;
    }
    let mut g = st.lock().unwrap();
    record(&mut g, "POST", path, key, &a, seen_body);
    respond(a)
}
