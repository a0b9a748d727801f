//! A local Stripe: the parts of the API the shop uses, checked the way Stripe checks them
//! (secret key, form encoding with bracketed keys, required and unknown parameters, limits,
//! idempotency keys that replay the first answer and refuse different parameters), plus
//! signed webhook events built from the sessions it holds. Subscription mode too: Checkout
//! starts a Subscription whose invoices (first, renewals, failed renewals) and changes
//! (cancel at period end, deletion) the test drives and announces as Stripe would.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::Query;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

pub const SECRET_KEY: &str = "sk_test_51FakeShopKey";
pub const WEBHOOK_SECRET: &str = "whsec_fake_shop_endpoint_secret";

#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub form: BTreeMap<String, String>,
    pub amount_total: i64,
    pub currency: String,
    pub order_id: String,
    pub payment_intent: Option<String>,
    pub status: String,
    pub payment_status: String,
    pub expires_at: i64,
    /// `payment` or `subscription`.
    pub mode: String,
    /// Subscription mode, once complete: the Subscription and its first invoice.
    pub subscription: Option<String>,
    pub invoice: Option<String>,
}

/// A Subscription a subscription-mode session started.
#[derive(Debug, Clone)]
pub struct Sub {
    pub id: String,
    pub order_id: String,
    pub session: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub cancel_at_period_end: bool,
    pub period_start: i64,
    pub period_end: i64,
    /// `recurring[interval]` x `interval_count`, in days.
    pub period_days: i64,
    pub ended_at: Option<i64>,
    /// Its invoices, oldest first.
    pub invoices: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Seen {
    pub method: &'static str,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub status: u16,
}

/// Runs with the refund Stripe just made, before Stripe answers the call that made it.
pub type RefundHook = Arc<dyn Fn(Value) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

#[derive(Default)]
pub struct Inner {
    pub sessions: Vec<Session>,
    /// Idempotency key -> (path + body, status, answer).
    idem: HashMap<String, (String, u16, Value)>,
    /// PaymentIntent -> (amount, refunded so far, currency, order id).
    pub intents: HashMap<String, (i64, i64, String, String)>,
    /// Every refund made, oldest first (Stripe lists them newest first).
    pub refunds: Vec<Value>,
    pub requests: Vec<Seen>,
    /// Set by [`FakeStripe::before_refund_answer`].
    on_refund: Option<RefundHook>,
    /// Answer the next N requests with a 500 (remembered under their key, as Stripe does).
    pub fail_next: u32,
    /// Answer the next N requests with a 503 before Stripe runs them (nothing remembered),
    /// as a load balancer in trouble would.
    pub drop_next: u32,
    /// New refunds start `pending` (as bank-account refunds do) instead of `succeeded`.
    pub refunds_pending: bool,
    pub subs: Vec<Sub>,
    /// Invoice id -> the invoice.
    pub invoices: HashMap<String, Value>,
    /// Invoice id -> the PaymentIntent that paid it.
    pub invoice_intents: HashMap<String, String>,
    /// Invoices and subscriptions as API versions before 2025-03-31 shaped them (top-level
    /// `subscription`, `payment_intent`), instead of today's `parent`/`payments`.
    pub legacy_shapes: bool,
    next: u64,
}

#[derive(Clone)]
pub struct FakeStripe {
    pub url: String,
    pub inner: Arc<Mutex<Inner>>,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn err(status: StatusCode, kind: &str, code: &str, message: &str) -> (StatusCode, Value) {
    (
        status,
        json!({"error": {"type": kind, "code": code, "message": message}}),
    )
}

impl FakeStripe {
    pub async fn start() -> FakeStripe {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route(
                "/v1/checkout/sessions",
                post(create_session).get(list_sessions),
            )
            .route(
                "/v1/subscriptions/{id}",
                post(update_subscription).delete(cancel_subscription),
            )
            .route("/v1/invoices/{id}", get(get_invoice))
            .route("/v1/invoice_payments", get(list_invoice_payments))
            .route("/v1/refunds", post(create_refund).get(list_refunds))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeStripe {
            url: format!("http://{addr}"),
            inner,
        }
    }

    /// Settings that point the shop at this fake.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("STRIPE_SECRET_KEY", SECRET_KEY.to_string()),
            ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.to_string()),
            ("STRIPE_API_URL", self.url.clone()),
        ]
    }

    pub fn session_for(&self, order_id: i64) -> Session {
        let g = self.inner.lock().unwrap();
        g.sessions
            .iter()
            .rev()
            .find(|s| s.order_id == order_id.to_string())
            .cloned()
            .unwrap_or_else(|| panic!("no Stripe session for order {order_id}"))
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.inner.lock().unwrap().requests.clone()
    }

    pub fn fail_next(&self, n: u32) {
        self.inner.lock().unwrap().fail_next = n;
    }

    pub fn drop_next(&self, n: u32) {
        self.inner.lock().unwrap().drop_next = n;
    }

    fn next_id(&self, prefix: &str) -> String {
        let mut g = self.inner.lock().unwrap();
        g.next += 1;
        format!("{prefix}_{:024}", g.next)
    }

    fn session_json(s: &Session) -> Value {
        json!({
            "id": s.id, "object": "checkout.session", "mode": s.mode,
            "subscription": s.subscription, "invoice": s.invoice,
            "amount_total": s.amount_total, "currency": s.currency,
            "client_reference_id": s.order_id,
            "metadata": {"order_id": s.order_id},
            "payment_intent": s.payment_intent,
            "status": s.status, "payment_status": s.payment_status,
            "expires_at": s.expires_at,
            "url": if s.status == "open" { Value::String(format!("https://checkout.stripe.test/c/pay/{}", s.id)) } else { Value::Null },
        })
    }

    /// A webhook event of `kind` about `object`.
    pub fn event(&self, kind: &str, object: Value) -> Value {
        json!({
            "id": self.next_id("evt"), "object": "event", "api_version": "2024-06-20",
            "created": now(), "livemode": false, "type": kind,
            "data": {"object": object},
        })
    }

    /// The buyer finishes paying (or, with `paid` false, submits a bank debit): the session
    /// completes and a PaymentIntent exists.
    pub fn complete(&self, order_id: i64, paid: bool) -> Value {
        let sid = self.session_for(order_id).id;
        let pi = self.next_id("pi");
        let s = {
            let mut g = self.inner.lock().unwrap();
            let s = g.sessions.iter_mut().find(|s| s.id == sid).unwrap();
            s.status = "complete".into();
            s.payment_status = if paid { "paid" } else { "unpaid" }.into();
            if s.payment_intent.is_none() {
                s.payment_intent = Some(pi);
            }
            let s = s.clone();
            if paid {
                g.intents.insert(
                    s.payment_intent.clone().unwrap(),
                    (s.amount_total, 0, s.currency.clone(), s.order_id.clone()),
                );
            }
            s
        };
        self.event("checkout.session.completed", Self::session_json(&s))
    }

    /// The same order paid a second time (another tab's session completing, say): a new
    /// PaymentIntent, announced like the first.
    pub fn pay_again(&self, order_id: i64) -> Value {
        let sid = self.session_for(order_id).id;
        let pi = self.next_id("pi");
        let s = {
            let mut g = self.inner.lock().unwrap();
            let mut s = g.sessions.iter().find(|s| s.id == sid).unwrap().clone();
            s.payment_intent = Some(pi.clone());
            g.intents.insert(
                pi,
                (s.amount_total, 0, s.currency.clone(), s.order_id.clone()),
            );
            s
        };
        self.event("checkout.session.completed", Self::session_json(&s))
    }

    /// An event of `kind` about a Checkout Session the shop did not open (a Payment Link on the
    /// same Stripe account, say) whose `client_reference_id` and metadata name `order_id`;
    /// paid (with a PaymentIntent) when `paid`.
    pub fn foreign_session_event(
        &self,
        kind: &str,
        order_id: i64,
        amount_total: i64,
        currency: &str,
        paid: bool,
    ) -> Value {
        let s = Session {
            id: self.next_id("cs_test_plink"),
            form: BTreeMap::new(),
            amount_total,
            currency: currency.into(),
            order_id: order_id.to_string(),
            payment_intent: paid.then(|| self.next_id("pi")),
            status: if kind.ends_with(".expired") {
                "expired"
            } else {
                "complete"
            }
            .into(),
            payment_status: if paid { "paid" } else { "unpaid" }.into(),
            expires_at: now(),
            mode: "payment".into(),
            subscription: None,
            invoice: None,
        };
        self.event(kind, Self::session_json(&s))
    }

    /// The delayed payment of a completed session arrives.
    pub fn async_succeeded(&self, order_id: i64) -> Value {
        let s = {
            let mut g = self.inner.lock().unwrap();
            let s = g
                .sessions
                .iter_mut()
                .rev()
                .find(|s| s.order_id == order_id.to_string())
                .unwrap();
            s.payment_status = "paid".into();
            let s = s.clone();
            g.intents.insert(
                s.payment_intent.clone().unwrap(),
                (s.amount_total, 0, s.currency.clone(), s.order_id.clone()),
            );
            s
        };
        self.event(
            "checkout.session.async_payment_succeeded",
            Self::session_json(&s),
        )
    }

    pub fn expire(&self, order_id: i64) -> Value {
        let s = {
            let mut g = self.inner.lock().unwrap();
            let s = g
                .sessions
                .iter_mut()
                .rev()
                .find(|s| s.order_id == order_id.to_string())
                .unwrap();
            s.status = "expired".into();
            s.clone()
        };
        self.event("checkout.session.expired", Self::session_json(&s))
    }

    /// `charge.refunded` for a PaymentIntent, with its refunded total as Stripe holds it.
    pub fn charge_refunded(&self, pi: &str) -> Value {
        let (amount, refunded, currency, order) =
            self.inner.lock().unwrap().intents.get(pi).cloned().unwrap();
        self.event(
            "charge.refunded",
            json!({
                "id": format!("ch_{}", &pi[3..]), "object": "charge", "payment_intent": pi,
                "amount": amount, "amount_refunded": refunded, "currency": currency,
                "refunded": refunded == amount, "metadata": {"order_id": order},
            }),
        )
    }

    pub fn refunded(&self, pi: &str) -> i64 {
        self.inner
            .lock()
            .unwrap()
            .intents
            .get(pi)
            .map(|i| i.1)
            .unwrap_or(0)
    }

    /// Refunds made outside the shop (the Stripe dashboard); answers the refund.
    pub fn dashboard_refund(&self, pi: &str, amount: i64) -> Value {
        let mut g = self.inner.lock().unwrap();
        g.intents.get_mut(pi).unwrap().1 += amount;
        make_refund(&mut g, pi, amount)
    }

    /// `refund.created` (or another `refund.*` kind) for refund `refund_id`.
    pub fn refund_event(&self, kind: &str, refund_id: &str) -> Value {
        let r = self
            .inner
            .lock()
            .unwrap()
            .refunds
            .iter()
            .find(|r| r["id"] == refund_id)
            .cloned()
            .unwrap_or_else(|| panic!("no refund {refund_id}"));
        self.event(kind, r)
    }

    /// The refunds Stripe holds for a PaymentIntent, oldest first.
    pub fn refunds_of(&self, pi: &str) -> Vec<Value> {
        let g = self.inner.lock().unwrap();
        g.refunds
            .iter()
            .filter(|r| r["payment_intent"] == pi)
            .cloned()
            .collect()
    }

    /// A succeeded or pending refund fails, as Stripe reports when the customer's card was
    /// closed: it turns `failed` (with a `failure_reason`) and its amount is the shop's again.
    /// Answers the refund as it now is.
    pub fn fail_refund(&self, refund_id: &str) -> Value {
        let mut g = self.inner.lock().unwrap();
        let r = g
            .refunds
            .iter_mut()
            .find(|r| r["id"] == refund_id)
            .unwrap_or_else(|| panic!("no refund {refund_id}"));
        assert!(
            r["status"] == "succeeded" || r["status"] == "pending",
            "a {} refund cannot fail",
            r["status"]
        );
        r["status"] = json!("failed");
        r["failure_reason"] = json!("expired_or_canceled_card");
        let (r, pi, amount) = (
            r.clone(),
            r["payment_intent"].as_str().unwrap().to_string(),
            r["amount"].as_i64().unwrap(),
        );
        g.intents.get_mut(&pi).unwrap().1 -= amount;
        r
    }

    /// From now on, every refund the shop asks for is first announced by `hook` (which
    /// typically delivers Stripe's webhook about it to the shop) and only then answered:
    /// the notification overtakes the answer, as it can in production.
    pub fn before_refund_answer<F, Fut>(&self, hook: F)
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.inner.lock().unwrap().on_refund = Some(Arc::new(move |v| Box::pin(hook(v))));
    }

    // ---- subscriptions ----

    /// The buyer pays a subscription-mode session: the session completes, Stripe creates the
    /// Customer, the Subscription (its period from the session's recurring price) and its
    /// first invoice, paid. Answers `checkout.session.completed`; the first invoice's
    /// `invoice.paid` is [`FakeStripe::invoice_event`] of [`FakeStripe::sub_for`]`.invoices[0]`.
    pub fn complete_subscription(&self, order_id: i64) -> Value {
        let sid = self.session_for(order_id).id;
        let sub_id = self.next_id("sub");
        let mut g = self.inner.lock().unwrap();
        let s = g.sessions.iter().find(|s| s.id == sid).unwrap().clone();
        assert_eq!(
            s.mode, "subscription",
            "session {sid} is not in subscription mode"
        );
        let unit = |k: &str| s.form[&format!("line_items[0][price_data]{k}")].clone();
        let days = match unit("[recurring][interval]").as_str() {
            "day" => 1,
            "week" => 7,
            "month" => 30,
            _ => 365,
        } * s
            .form
            .get("line_items[0][price_data][recurring][interval_count]")
            .map(|c| c.parse::<i64>().unwrap())
            .unwrap_or(1);
        let start = now();
        let sub = Sub {
            id: sub_id.clone(),
            order_id: s.order_id.clone(),
            session: s.id.clone(),
            amount: s.amount_total,
            currency: s.currency.clone(),
            status: "active".into(),
            cancel_at_period_end: false,
            period_start: start,
            period_end: start + days * 86_400,
            period_days: days,
            ended_at: None,
            invoices: vec![],
        };
        g.subs.push(sub);
        let inv = new_invoice(&mut g, &sub_id, "subscription_create", true);
        let s = {
            let s = g.sessions.iter_mut().find(|x| x.id == sid).unwrap();
            s.status = "complete".into();
            s.payment_status = "paid".into();
            s.subscription = Some(sub_id);
            s.invoice = Some(inv);
            s.clone()
        };
        drop(g);
        self.event("checkout.session.completed", Self::session_json(&s))
    }

    /// The Subscription order `order_id`'s session started.
    pub fn sub_for(&self, order_id: i64) -> Sub {
        let g = self.inner.lock().unwrap();
        g.subs
            .iter()
            .rev()
            .find(|s| s.order_id == order_id.to_string())
            .cloned()
            .unwrap_or_else(|| panic!("no Stripe subscription for order {order_id}"))
    }

    pub fn sub(&self, id: &str) -> Sub {
        let g = self.inner.lock().unwrap();
        g.subs.iter().find(|s| s.id == id).cloned().unwrap()
    }

    /// The invoice `id` as Stripe holds it.
    pub fn invoice(&self, id: &str) -> Value {
        self.inner.lock().unwrap().invoices[id].clone()
    }

    /// An event of `kind` (`invoice.paid`, `invoice.payment_succeeded`,
    /// `invoice.payment_failed`) about invoice `id`.
    pub fn invoice_event(&self, kind: &str, id: &str) -> Value {
        let inv = self.invoice(id);
        self.event(kind, inv)
    }

    /// The next period is charged: the period moves on and a `subscription_cycle` invoice is
    /// paid (`paid`) or fails (the subscription goes `past_due`). Answers the invoice id.
    pub fn renew(&self, sub: &str, paid: bool) -> String {
        let mut g = self.inner.lock().unwrap();
        {
            let s = g.subs.iter_mut().find(|s| s.id == sub).unwrap();
            assert_eq!(s.status, "active", "only an active subscription renews");
            assert!(
                !s.cancel_at_period_end,
                "a subscription set to cancel does not renew"
            );
            if paid {
                s.period_start = s.period_end;
                s.period_end += s.period_days * 86_400;
            } else {
                s.status = "past_due".into();
            }
        }
        new_invoice(&mut g, sub, "subscription_cycle", paid)
    }

    /// The subscription ends (at its period's end after a cancel, after failed retries, or
    /// deleted in the dashboard): `status=canceled`, `ended_at` now.
    pub fn end(&self, sub: &str) {
        let mut g = self.inner.lock().unwrap();
        let s = g.subs.iter_mut().find(|s| s.id == sub).unwrap();
        s.status = "canceled".into();
        s.ended_at = Some(now());
    }

    /// A `customer.subscription.*` event about the subscription as it is now.
    pub fn subscription_event(&self, kind: &str, sub: &str) -> Value {
        let v = {
            let g = self.inner.lock().unwrap();
            sub_json(&g, g.subs.iter().find(|s| s.id == sub).unwrap())
        };
        self.event(kind, v)
    }

    /// The invoice of a subscription the shop did not start (another integration on the same
    /// account) whose metadata names `order_id`.
    pub fn foreign_invoice_event(&self, order_id: i64, amount: i64, currency: &str) -> Value {
        let sub = self.next_id("sub_foreign");
        let inv = self.next_id("in");
        let end = now() + 30 * 86_400;
        self.event(
            "invoice.paid",
            json!({"id": inv, "object": "invoice", "billing_reason": "subscription_create",
                "status": "paid", "amount_paid": amount, "amount_due": amount, "currency": currency,
                "parent": {"type": "subscription_details", "subscription_details": {
                    "subscription": sub, "metadata": {"order_id": order_id.to_string()}}},
                "lines": {"object": "list", "data": [{"period": {"start": now(), "end": end}}]}}),
        )
    }
}

/// A Subscription object in the shape of the fake's API version.
fn sub_json(g: &Inner, s: &Sub) -> Value {
    let mut v = json!({
        "id": s.id, "object": "subscription", "status": s.status,
        "cancel_at_period_end": s.cancel_at_period_end,
        "cancel_at": if s.cancel_at_period_end { json!(s.period_end) } else { Value::Null },
        "ended_at": s.ended_at,
        "metadata": {"order_id": s.order_id},
        "latest_invoice": s.invoices.last(),
        "items": {"object": "list", "data": [{"object": "subscription_item",
            "current_period_start": s.period_start, "current_period_end": s.period_end,
            "price": {"currency": s.currency, "unit_amount": s.amount,
                "recurring": {"interval": "day", "interval_count": s.period_days}}}]},
    });
    if g.legacy_shapes {
        v["current_period_start"] = json!(s.period_start);
        v["current_period_end"] = json!(s.period_end);
    }
    v
}

/// A new invoice of `sub` for its current period; paid ones get a PaymentIntent refunds can
/// name. Answers its id.
fn new_invoice(g: &mut Inner, sub: &str, reason: &str, paid: bool) -> String {
    g.next += 1;
    let id = format!("in_{:024}", g.next);
    g.next += 1;
    let pi = format!("pi_{:024}", g.next);
    let legacy = g.legacy_shapes;
    let s = g.subs.iter_mut().find(|s| s.id == sub).unwrap();
    s.invoices.push(id.clone());
    let s = s.clone();
    let mut v = json!({
        "id": id, "object": "invoice", "billing_reason": reason,
        "status": if paid { "paid" } else { "open" },
        "amount_due": s.amount, "amount_paid": if paid { s.amount } else { 0 },
        "currency": s.currency, "customer": format!("cus_{}", &s.id[4..]),
        "attempt_count": 1,
        "period_start": s.period_start, "period_end": s.period_start,
        "lines": {"object": "list", "data": [{"object": "line_item", "amount": s.amount,
            "currency": s.currency, "period": {"start": s.period_start, "end": s.period_end}}]},
    });
    if legacy {
        v["subscription"] = json!(s.id);
        v["subscription_details"] = json!({"metadata": {"order_id": s.order_id}});
        v["payment_intent"] = if paid { json!(pi) } else { Value::Null };
        v["paid"] = json!(paid);
    } else {
        v["parent"] = json!({"type": "subscription_details", "quote_details": null,
            "subscription_details": {"subscription": s.id, "metadata": {"order_id": s.order_id}}});
    }
    if paid {
        g.intents.insert(
            pi.clone(),
            (s.amount, 0, s.currency.clone(), s.order_id.clone()),
        );
    }
    g.invoices.insert(id.clone(), v);
    if paid {
        g.invoice_intents.insert(id.clone(), pi);
    }
    id
}

fn check_auth(headers: &HeaderMap) -> Result<(), (StatusCode, Value)> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bearer {SECRET_KEY}") {
        return Err(err(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "api_key_invalid",
            "Invalid API Key provided.",
        ));
    }
    Ok(())
}

fn no_such(what: &str, id: &str) -> (StatusCode, Value) {
    err(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "resource_missing",
        &format!("No such {what}: '{id}'"),
    )
}

/// `GET /v1/checkout/sessions?subscription=&limit=`: the sessions that started a subscription.
async fn list_sessions(
    State(st): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let path = "/v1/checkout/sessions";
    let mut g = st.lock().unwrap();
    if let Err(e) = check_auth(&headers) {
        return answer_as(&mut g, "GET", path, None, e);
    }
    for k in q.keys() {
        if !["subscription", "payment_intent", "limit", "starting_after"].contains(&k.as_str()) {
            let r = bad(&format!("Received unknown parameter: {k}"));
            return answer_as(&mut g, "GET", path, None, r);
        }
    }
    let data: Vec<Value> = g
        .sessions
        .iter()
        .rev()
        .filter(|s| {
            q.get("subscription")
                .is_none_or(|w| s.subscription.as_deref() == Some(w.as_str()))
        })
        .map(FakeStripe::session_json)
        .collect();
    let v = json!({"object": "list", "url": path, "has_more": false, "data": data});
    answer_as(&mut g, "GET", path, None, (StatusCode::OK, v))
}

/// `GET /v1/invoice_payments?payment[type]=payment_intent&payment[payment_intent]=&limit=`:
/// the invoice a PaymentIntent paid (today's API versions).
async fn list_invoice_payments(
    State(st): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let path = "/v1/invoice_payments";
    let mut g = st.lock().unwrap();
    if let Err(e) = check_auth(&headers) {
        return answer_as(&mut g, "GET", path, None, e);
    }
    for k in q.keys() {
        if ![
            "invoice",
            "payment[type]",
            "payment[payment_intent]",
            "limit",
        ]
        .contains(&k.as_str())
        {
            let r = bad(&format!("Received unknown parameter: {k}"));
            return answer_as(&mut g, "GET", path, None, r);
        }
    }
    if q.contains_key("payment[payment_intent]")
        && q.get("payment[type]").map(String::as_str) != Some("payment_intent")
    {
        return answer_as(&mut g, "GET", path, None, bad("payment[type] is required"));
    }
    let data: Vec<Value> = g
        .invoice_intents
        .iter()
        .filter(|(inv, pi)| {
            q.get("payment[payment_intent]").is_none_or(|p| p == *pi)
                && q.get("invoice").is_none_or(|i| i == *inv)
        })
        .map(|(inv, pi)| {
            json!({"object": "invoice_payment", "invoice": inv, "status": "paid",
            "payment": {"type": "payment_intent", "payment_intent": pi}})
        })
        .collect();
    let v = json!({"object": "list", "url": path, "has_more": false, "data": data});
    answer_as(&mut g, "GET", path, None, (StatusCode::OK, v))
}

/// `GET /v1/invoices/{id}[?expand[]=payments]`.
async fn get_invoice(
    State(st): State<Arc<Mutex<Inner>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let path = format!("/v1/invoices/{id}");
    let mut g = st.lock().unwrap();
    if let Err(e) = check_auth(&headers) {
        return answer_as(&mut g, "GET", &path, None, e);
    }
    let Some(mut v) = g.invoices.get(&id).cloned() else {
        return answer_as(&mut g, "GET", &path, None, no_such("invoice", &id));
    };
    // Today's versions list the payments only when asked to expand them.
    let pi = g.invoice_intents.get(&id).cloned();
    let expand = q.iter().any(|(k, v)| k == "expand[]" && v == "payments");
    if expand && !g.legacy_shapes {
        let data: Vec<Value> = pi
            .as_deref()
            .map(|p| {
                vec![json!({"object": "invoice_payment", "status": "paid",
                "payment": {"type": "payment_intent", "payment_intent": p}})]
            })
            .unwrap_or_default();
        v["payments"] = json!({"object": "list", "data": data, "has_more": false});
    }
    answer_as(&mut g, "GET", &path, None, (StatusCode::OK, v))
}

/// `POST /v1/subscriptions/{id}`: the shop only sets `cancel_at_period_end`.
async fn update_subscription(
    State(st): State<Arc<Mutex<Inner>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v1/subscriptions/{id}");
    let mut g = st.lock().unwrap();
    let (form, key) = match check_common(&mut g, &path, &headers, &body) {
        Ok(x) => x,
        Err(e) => return answer(&mut g, &path, None, e),
    };
    let fp = format!("{path}?{}", String::from_utf8_lossy(&body));
    if let Some(r) = replay(&mut g, &key, &fp) {
        return answer(&mut g, &path, Some(key), r);
    }
    for k in form.keys() {
        if k != "cancel_at_period_end" {
            let r = bad(&format!("Received unknown parameter: {k}"));
            return answer(&mut g, &path, Some(key), r);
        }
    }
    let stop = match form.get("cancel_at_period_end").map(String::as_str) {
        Some("true") => true,
        Some("false") => false,
        _ => {
            return answer(
                &mut g,
                &path,
                Some(key),
                bad("cancel_at_period_end: true or false"),
            )
        }
    };
    let Some(s) = g.subs.iter_mut().find(|s| s.id == id) else {
        let r = no_such("subscription", &id);
        return answer(&mut g, &path, Some(key), r);
    };
    if s.status == "canceled" {
        let r =
            bad("A canceled subscription can only update its cancellation_details and metadata.");
        return answer(&mut g, &path, Some(key), r);
    }
    s.cancel_at_period_end = stop;
    let s = s.clone();
    let v = sub_json(&g, &s);
    g.idem.insert(key.clone(), (fp, 200, v.clone()));
    answer(&mut g, &path, Some(key), (StatusCode::OK, v))
}

/// `DELETE /v1/subscriptions/{id}`: canceled at once.
async fn cancel_subscription(
    State(st): State<Arc<Mutex<Inner>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/v1/subscriptions/{id}");
    let mut g = st.lock().unwrap();
    if let Err(e) = check_auth(&headers) {
        return answer_as(&mut g, "DELETE", &path, None, e);
    }
    let Some(s) = g.subs.iter_mut().find(|s| s.id == id) else {
        return answer_as(&mut g, "DELETE", &path, None, no_such("subscription", &id));
    };
    if s.status == "canceled" {
        let r = bad("This subscription is already canceled.");
        return answer_as(&mut g, "DELETE", &path, None, r);
    }
    s.status = "canceled".into();
    s.ended_at = Some(now());
    let s = s.clone();
    let v = sub_json(&g, &s);
    answer_as(&mut g, "DELETE", &path, None, (StatusCode::OK, v))
}

/// Stores and answers a new succeeded refund of `amount` (Stripe units) on `pi`.
fn make_refund(g: &mut Inner, pi: &str, amount: i64) -> Value {
    g.next += 1;
    let currency = g.intents.get(pi).map(|i| i.2.clone()).unwrap_or_default();
    let v = json!({"id": format!("re_{:024}", g.next), "object": "refund", "amount": amount,
        "charge": format!("ch_{}", &pi[3..]), "currency": currency,
        "payment_intent": pi, "status": "succeeded", "metadata": {}});
    g.refunds.push(v.clone());
    v
}

/// `GET /v1/refunds?payment_intent=|charge=&limit=&starting_after=`: newest first, paged.
async fn list_refunds(
    State(st): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let path = "/v1/refunds";
    let mut g = st.lock().unwrap();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bearer {SECRET_KEY}") {
        let r = err(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "api_key_invalid",
            "Invalid API Key provided.",
        );
        return answer_as(&mut g, "GET", path, None, r);
    }
    for k in q.keys() {
        if !["payment_intent", "charge", "limit", "starting_after"].contains(&k.as_str()) {
            let r = bad(&format!("Received unknown parameter: {k}"));
            return answer_as(&mut g, "GET", path, None, r);
        }
    }
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 10,
        Some(Ok(l)) if (1..=100).contains(&l) => l,
        _ => return answer_as(&mut g, "GET", path, None, bad("limit: 1 to 100")),
    };
    let mut all: Vec<Value> = g
        .refunds
        .iter()
        .rev()
        .filter(|r| {
            q.get("payment_intent")
                .is_none_or(|p| r["payment_intent"] == p.as_str())
                && q.get("charge").is_none_or(|c| r["charge"] == c.as_str())
        })
        .cloned()
        .collect();
    if let Some(after) = q.get("starting_after") {
        match all.iter().position(|r| r["id"] == after.as_str()) {
            Some(i) => {
                all.drain(..=i);
            }
            None => {
                let r = err(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "resource_missing",
                    "No such refund",
                );
                return answer_as(&mut g, "GET", path, None, r);
            }
        }
    }
    let has_more = all.len() > limit;
    all.truncate(limit);
    let v = json!({"object": "list", "url": path, "has_more": has_more, "data": all});
    answer_as(&mut g, "GET", path, None, (StatusCode::OK, v))
}

/// Stripe's signature header for `body` at time `t` with `secret`.
pub fn sign(secret: &str, t: i64, body: &str) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(m.finalize().into_bytes()))
}

fn check_common(
    g: &mut Inner,
    path: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(BTreeMap<String, String>, String), (StatusCode, Value)> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bearer {SECRET_KEY}") {
        return Err(err(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "api_key_invalid",
            "Invalid API Key provided.",
        ));
    }
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "parameter_invalid",
            "Stripe takes form-encoded bodies.",
        ));
    }
    // The shop promises an idempotency key on every POST.
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            err(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "idempotency_key_missing",
                "The shop must send Idempotency-Key.",
            )
        })?;
    let mut form = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        if form.insert(k.to_string(), v.to_string()).is_some() {
            return Err(err(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "parameter_invalid",
                &format!("{k} given twice"),
            ));
        }
    }
    let _ = (g, path);
    Ok((form, key))
}

/// Replays or refuses a reused key; `None` when the request is new.
fn replay(g: &mut Inner, key: &str, fingerprint: &str) -> Option<(StatusCode, Value)> {
    let (fp, status, v) = g.idem.get(key)?;
    if fp != fingerprint {
        return Some(err(
            StatusCode::BAD_REQUEST,
            "idempotency_error",
            "idempotency_key_in_use",
            "Keys for idempotent requests can only be used with the same parameters they were first used with.",
        ));
    }
    Some((StatusCode::from_u16(*status).unwrap(), v.clone()))
}

fn answer(g: &mut Inner, path: &str, key: Option<String>, res: (StatusCode, Value)) -> Response {
    answer_as(g, "POST", path, key, res)
}

fn answer_as(
    g: &mut Inner,
    method: &'static str,
    path: &str,
    key: Option<String>,
    res: (StatusCode, Value),
) -> Response {
    g.requests.push(Seen {
        method,
        path: path.into(),
        idempotency_key: key,
        status: res.0.as_u16(),
    });
    (res.0, Json(res.1)).into_response()
}

fn int(form: &BTreeMap<String, String>, k: &str) -> Result<i64, (StatusCode, Value)> {
    form.get(k)
        .and_then(|v| v.parse::<i64>().ok())
        .ok_or_else(|| {
            err(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "parameter_missing",
                &format!("{k} must be an integer"),
            )
        })
}

fn bad(msg: &str) -> (StatusCode, Value) {
    err(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "parameter_invalid",
        msg,
    )
}

const LOCALES: &[&str] = &[
    "auto", "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "hu", "id", "it", "ja",
    "ko", "lt", "lv", "ms", "nb", "nl", "pl", "pt", "ro", "ru", "sk", "sl", "sv", "th", "tr", "vi",
    "zh",
];

fn validate_session(form: &BTreeMap<String, String>) -> Result<(i64, String), (StatusCode, Value)> {
    const TOP: &[&str] = &[
        "mode",
        "line_items",
        "success_url",
        "cancel_url",
        "client_reference_id",
        "metadata",
        "payment_intent_data",
        "expires_at",
        "locale",
        "customer_email",
        "subscription_data",
    ];
    let mode = form.get("mode").map(String::as_str);
    for k in form.keys() {
        let top = k.split('[').next().unwrap();
        if !TOP.contains(&top) {
            return Err(bad(&format!("Received unknown parameter: {k}")));
        }
        if top == "payment_intent_data" && !k.starts_with("payment_intent_data[metadata][") {
            return Err(bad(&format!("Received unknown parameter: {k}")));
        }
        if top == "subscription_data" && !k.starts_with("subscription_data[metadata][") {
            return Err(bad(&format!("Received unknown parameter: {k}")));
        }
        // Stripe refuses the parameters of the other mode.
        if top == "payment_intent_data" && mode == Some("subscription") {
            return Err(bad(
                "You can not pass `payment_intent_data` in `subscription` mode.",
            ));
        }
        if top == "subscription_data" && mode == Some("payment") {
            return Err(bad(
                "You can not pass `subscription_data` in `payment` mode.",
            ));
        }
    }
    if !matches!(mode, Some("payment" | "subscription")) {
        return Err(bad("mode must be payment or subscription"));
    }
    for u in ["success_url", "cancel_url"] {
        let v = form
            .get(u)
            .ok_or_else(|| bad(&format!("{u} is required")))?;
        if !(v.starts_with("https://") || v.starts_with("http://")) {
            return Err(bad(&format!("{u}: Not a valid URL")));
        }
    }
    if let Some(l) = form.get("locale") {
        if !LOCALES.contains(&l.as_str()) {
            return Err(bad(&format!("locale: invalid value {l}")));
        }
    }
    if form
        .get("client_reference_id")
        .is_some_and(|c| c.len() > 200)
    {
        return Err(bad("client_reference_id is longer than 200"));
    }
    for (k, v) in form {
        if let Some(rest) = k.strip_prefix("metadata[") {
            if rest.len() - 1 > 40 || v.len() > 500 {
                return Err(bad("metadata keys are at most 40, values 500 characters"));
            }
        }
    }
    let exp = int(form, "expires_at")?;
    let n = now();
    if exp < n + 1800 || exp > n + 86_400 {
        return Err(bad(
            "expires_at must be between 30 minutes and 24 hours from now",
        ));
    }
    let mut total = 0i64;
    let mut currency: Option<String> = None;
    let mut i = 0;
    while form
        .keys()
        .any(|k| k.starts_with(&format!("line_items[{i}]")))
    {
        let p = format!("line_items[{i}]");
        let c = form
            .get(&format!("{p}[price_data][currency]"))
            .ok_or_else(|| bad(&format!("{p}[price_data][currency] is required")))?;
        if c.len() != 3 || c.to_lowercase() != *c {
            return Err(bad(&format!("Invalid currency: {c}")));
        }
        if currency.get_or_insert(c.clone()) != c {
            return Err(bad("All line items must use the same currency"));
        }
        let unit = int(form, &format!("{p}[price_data][unit_amount]"))?;
        let qty = int(form, &format!("{p}[quantity]"))?;
        if unit < 0 || qty < 1 {
            return Err(bad("unit_amount >= 0 and quantity >= 1"));
        }
        if form
            .get(&format!("{p}[price_data][product_data][name]"))
            .is_none_or(|n| n.trim().is_empty())
        {
            return Err(bad(&format!(
                "{p}[price_data][product_data][name] is required"
            )));
        }
        let interval = form.get(&format!("{p}[price_data][recurring][interval]"));
        let count = form.get(&format!("{p}[price_data][recurring][interval_count]"));
        match (mode, interval) {
            (Some("payment"), Some(_)) => {
                return Err(bad(
                    "You must provide at least one recurring price in `subscription` mode when using prices; a recurring price is not allowed in `payment` mode.",
                ))
            }
            (Some("subscription"), None) => {
                return Err(bad(
                    "You must provide at least one recurring price in `subscription` mode.",
                ))
            }
            (_, Some(iv)) => {
                let max = match iv.as_str() {
                    "day" => 1095,
                    "week" => 156,
                    "month" => 36,
                    "year" => 3,
                    _ => return Err(bad(&format!("Invalid recurring interval: {iv}"))),
                };
                let n = match count {
                    None => 1,
                    Some(c) => c.parse::<i64>().map_err(|_| bad("interval_count: invalid integer"))?,
                };
                if !(1..=max).contains(&n) {
                    return Err(bad("The maximum recurring interval is 3 years"));
                }
            }
            _ => {
                if count.is_some() {
                    return Err(bad("interval_count needs an interval"));
                }
            }
        }
        total += unit * qty;
        i += 1;
    }
    let known = |k: &String| {
        !k.starts_with("line_items[") || (0..i).any(|j| k.starts_with(&format!("line_items[{j}]")))
    };
    if i == 0 || !form.keys().all(known) {
        return Err(bad("line_items must be given, numbered from 0"));
    }
    Ok((total, currency.unwrap()))
}

async fn create_session(
    State(st): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = "/v1/checkout/sessions";
    let mut g = st.lock().unwrap();
    let (form, key) = match check_common(&mut g, path, &headers, &body) {
        Ok(x) => x,
        Err(e) => return answer(&mut g, path, None, e),
    };
    if g.drop_next > 0 {
        g.drop_next -= 1;
        let r = err(
            StatusCode::SERVICE_UNAVAILABLE,
            "api_error",
            "",
            "Service unavailable.",
        );
        return answer(&mut g, path, Some(key), r);
    }
    let fp = format!("{path}?{}", String::from_utf8_lossy(&body));
    if let Some(r) = replay(&mut g, &key, &fp) {
        return answer(&mut g, path, Some(key), r);
    }
    if g.fail_next > 0 {
        g.fail_next -= 1;
        let r = err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "",
            "An unknown error occurred.",
        );
        g.idem.insert(key.clone(), (fp, 500, r.1.clone()));
        return answer(&mut g, path, Some(key), r);
    }
    let (total, currency) = match validate_session(&form) {
        Ok(x) => x,
        Err(e) => return answer(&mut g, path, Some(key), e),
    };
    g.next += 1;
    let s = Session {
        id: format!("cs_test_{:024}", g.next),
        amount_total: total,
        currency,
        order_id: form.get("client_reference_id").cloned().unwrap_or_default(),
        payment_intent: None,
        status: "open".into(),
        payment_status: "unpaid".into(),
        expires_at: form["expires_at"].parse().unwrap(),
        mode: form["mode"].clone(),
        subscription: None,
        invoice: None,
        form,
    };
    let v = FakeStripe::session_json(&s);
    g.sessions.push(s);
    g.idem.insert(key.clone(), (fp, 200, v.clone()));
    answer(&mut g, path, Some(key), (StatusCode::OK, v))
}

async fn create_refund(
    State(st): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = "/v1/refunds";
    let (key, res, hook) = {
        let mut g = st.lock().unwrap();
        let (key, res, made) = refund_call(&mut g, &headers, &body);
        (key, res, g.on_refund.clone().filter(|_| made))
    };
    if let Some(hook) = hook {
        // The refund is made; Stripe's notification of it overtakes this answer.
        hook(res.1.clone()).await;
    }
    let mut g = st.lock().unwrap();
    answer(&mut g, path, key, res)
}

/// `POST /v1/refunds`: the key it came with, the answer, and whether a refund was made.
fn refund_call(
    g: &mut Inner,
    headers: &HeaderMap,
    body: &Bytes,
) -> (Option<String>, (StatusCode, Value), bool) {
    let path = "/v1/refunds";
    let (form, key) = match check_common(g, path, headers, body) {
        Ok(x) => x,
        Err(e) => return (None, e, false),
    };
    let fp = format!("{path}?{}", String::from_utf8_lossy(body));
    if let Some(r) = replay(g, &key, &fp) {
        return (Some(key), r, false);
    }
    for k in form.keys() {
        let top = k.split('[').next().unwrap();
        if !["payment_intent", "amount", "reason", "metadata"].contains(&top) {
            let r = bad(&format!("Received unknown parameter: {k}"));
            return (Some(key), r, false);
        }
    }
    if let Some(r) = form.get("reason") {
        if !["duplicate", "fraudulent", "requested_by_customer"].contains(&r.as_str()) {
            let r = bad("reason: invalid");
            return (Some(key), r, false);
        }
    }
    let Some(pi) = form.get("payment_intent").cloned() else {
        let r = bad("payment_intent is required");
        return (Some(key), r, false);
    };
    let Some((amount, refunded, _, _)) = g.intents.get(&pi).cloned() else {
        let r = err(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "resource_missing",
            "No such payment_intent",
        );
        return (Some(key), r, false);
    };
    let left = amount - refunded;
    let want = match form.get("amount") {
        Some(a) => match a.parse::<i64>() {
            Ok(a) if a > 0 => a,
            _ => return (Some(key), bad("amount: invalid integer"), false),
        },
        None => left,
    };
    if left == 0 {
        let r = err(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "charge_already_refunded",
            "Charge has already been refunded.",
        );
        return (Some(key), r, false);
    }
    if want > left {
        let r = bad("Refund amount is greater than unrefunded amount on charge");
        return (Some(key), r, false);
    }
    g.intents.get_mut(&pi).unwrap().1 += want;
    let mut v = make_refund(g, &pi, want);
    if g.refunds_pending {
        v["status"] = json!("pending");
        *g.refunds.last_mut().unwrap() = v.clone();
    }
    g.idem.insert(key.clone(), (fp, 200, v.clone()));
    (Some(key), (StatusCode::OK, v), true)
}
