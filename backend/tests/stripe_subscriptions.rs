//! Stripe subscriptions end to end against the local fake of Stripe, on both databases:
//! Checkout in subscription mode, the first invoice paying the order once whichever event
//! says it first, renewals, failed renewals, the end, and cancelling from the storefront and
//! the admin.

mod common;
#[path = "support/fake_bot_api.rs"]
mod fake_bot_api;
#[path = "support/fake_stripe.rs"]
mod fake_stripe;
#[path = "support/tg.rs"]
mod tg;

use common::*;
use fake_bot_api::FakeBotApi;
use fake_stripe::{sign, FakeStripe, WEBHOOK_SECRET};
use reqwest::Method;
use serde_json::{json, Value};

const USER: i64 = 5151;
const PRICE: i64 = 999;

async fn start(kind: Kind) -> Option<(TestApp, FakeStripe, FakeBotApi)> {
    let fake = FakeStripe::start().await;
    let bot = FakeBotApi::start(BOT_TOKEN).await;
    let mut env = fake.env();
    env.push(("TELEGRAM_API_URL", bot.url.clone()));
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn(kind, &pairs).await?;
    Some((app, fake, bot))
}

/// A subscription product priced in USD; answers its variant id.
async fn usd_subscription(app: &TestApp) -> i64 {
    let csrf = app.admin_login().await;
    let (s, v) = app
        .json(
            app.admin(Method::POST, "/api/admin/products", &csrf)
                .json(&json!({
                    "kind": "subscription",
                    "title": {"en": "Tea club", "ru": "Чайный клуб"},
                    "variants": [{"sku": format!("TEA-{}", rand::random::<u32>()), "options": {},
                        "price": {"amount_minor": PRICE, "currency": "USD"}}]
                })),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    v["variants"][0]["id"].as_i64().unwrap()
}

async fn order_as(app: &TestApp, user: i64, variant: i64, qty: i64) -> (u16, Value) {
    app.order(
        user,
        json!({"items": [{"variant_id": variant, "quantity": qty}], "payment_method": "stripe", "contact": contact()}),
    )
    .await
}

/// Places a subscription order for [`USER`]; answers its id.
async fn place(app: &TestApp, variant: i64) -> i64 {
    let (s, o) = order_as(app, USER, variant, 1).await;
    assert_eq!(s, 201, "{o}");
    o["id"].as_i64().unwrap()
}

/// Posts an event as Stripe would: pretty-printed and signed now.
async fn deliver_raw(app: &TestApp, ev: &Value) -> Raw {
    let body = serde_json::to_string_pretty(ev).unwrap();
    app.raw(
        app.client
            .post(app.url("/webhooks/stripe"))
            .header("Stripe-Signature", sign(WEBHOOK_SECRET, now(), &body))
            .header("Content-Type", "application/json")
            .body(body),
    )
    .await
}

/// [`deliver_raw`], expecting 200.
async fn deliver(app: &TestApp, ev: &Value) {
    let r = deliver_raw(app, ev).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn order(app: &TestApp, id: i64) -> Value {
    let (s, v) = app
        .json(app.as_user(Method::GET, &format!("/api/orders/{id}"), USER))
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

/// (provider payment id, amount, needs_refund) of the order's payments, oldest first.
async fn payments(app: &TestApp, order: i64) -> Vec<(String, i64, i64)> {
    sqlx::query_as(
        "SELECT provider_payment_id, amount_minor, needs_refund FROM payments WHERE order_id = $1 ORDER BY id",
    )
    .bind(order)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
}

async fn events_of(app: &TestApp, order: i64, kind: &str) -> Vec<(Option<String>, Option<String>)> {
    sqlx::query_as(
        "SELECT actor, note FROM order_events WHERE order_id = $1 AND kind = $2 ORDER BY id",
    )
    .bind(order)
    .bind(kind)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
}

/// The customer's subscriptions as `GET /api/subscriptions` lists them.
async fn listed(app: &TestApp, user: i64) -> Vec<Value> {
    let (s, v) = app
        .json(app.as_user(Method::GET, "/api/subscriptions", user))
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v.get("next_cursor").is_some(), "{v}");
    v["items"].as_array().unwrap().clone()
}

/// Calls the fake saw to `/v1/subscriptions/…`.
fn subscription_calls(fake: &FakeStripe) -> Vec<fake_stripe::Seen> {
    fake.requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/subscriptions/"))
        .collect()
}

/// A paid subscription order (session event then first invoice); answers (order, sub id).
async fn subscribed(app: &TestApp, fake: &FakeStripe, variant: i64) -> (i64, String) {
    let id = place(app, variant).await;
    deliver(app, &fake.complete_subscription(id)).await;
    let sub = fake.sub_for(id);
    deliver(app, &fake.invoice_event("invoice.paid", &sub.invoices[0])).await;
    assert_eq!(order(app, id).await["status"], "paid");
    (id, sub.id)
}

both_kinds!(
    checkout_opens_a_subscription_mode_session,
    |kind| async move {
        let Some((app, fake, _bot)) = start(kind).await else {
            return;
        };
        let variant = usd_subscription(&app).await;
        let (s, o) = order_as(&app, USER, variant, 1).await;
        assert_eq!(s, 201, "{o}");
        let id = o["id"].as_i64().unwrap();
        let session = fake.session_for(id);
        assert_eq!(
            o["checkout_url"].as_str().unwrap(),
            format!("https://checkout.stripe.test/c/pay/{}", session.id)
        );
        let f = &session.form;
        assert_eq!(f["mode"], "subscription");
        assert_eq!(f["line_items[0][price_data][currency]"], "usd");
        assert_eq!(
            f["line_items[0][price_data][unit_amount]"],
            PRICE.to_string()
        );
        assert_eq!(
            f["line_items[0][price_data][product_data][name]"],
            "Tea club"
        );
        // Every 30 days, as Star subscriptions.
        assert_eq!(f["line_items[0][price_data][recurring][interval]"], "day");
        assert_eq!(
            f["line_items[0][price_data][recurring][interval_count]"],
            "30"
        );
        assert_eq!(f["line_items[0][quantity]"], "1");
        assert_eq!(f["client_reference_id"], id.to_string());
        assert_eq!(f["metadata[order_id]"], id.to_string());
        assert_eq!(f["subscription_data[metadata][order_id]"], id.to_string());
        assert!(
            !f.keys().any(|k| k.starts_with("payment_intent_data")),
            "{f:?}"
        );

        // One at a time, and on its own.
        let (s, v) = order_as(&app, USER, variant, 2).await;
        assert_eq!((s, error_code(&v)), (400, "subscription_quantity"), "{v}");
        // Nothing is started before it is paid.
        assert!(listed(&app, USER).await.is_empty());
        assert!(order(&app, id).await.get("subscription").is_none());
    }
);

both_kinds!(first_invoice_pays_the_order_once, |kind| async move {
    let Some((app, fake, _bot)) = start(kind).await else {
        return;
    };
    let variant = usd_subscription(&app).await;

    // The session's event first, repeated, then the first invoice's two events.
    let a = place(&app, variant).await;
    let done = fake.complete_subscription(a);
    deliver(&app, &done).await;
    deliver(&app, &done).await;
    let sub = fake.sub_for(a);
    let first = sub.invoices[0].clone();
    assert_eq!(order(&app, a).await["status"], "paid");
    let paid = fake.invoice_event("invoice.paid", &first);
    deliver(&app, &paid).await;
    deliver(&app, &paid).await;
    deliver(
        &app,
        &fake.invoice_event("invoice.payment_succeeded", &first),
    )
    .await;
    assert_eq!(payments(&app, a).await, vec![(first.clone(), PRICE, 0)]);
    assert_eq!(events_of(&app, a, "paid").await.len(), 1);
    let s = order(&app, a).await["subscription"].clone();
    assert_eq!(s["status"], "active", "{s}");
    assert_eq!(s["payment_method"], "stripe");
    assert_eq!(s["renews"], true);
    assert_eq!(s["renewals"], 0);
    // The first invoice's period end, exactly.
    assert_eq!(s["expires_at"], sub.period_end);

    // The invoice overtakes the session (today's and the older API shapes): the shop traces
    // the subscription to its session at Stripe, and the session's event then changes nothing.
    for legacy in [false, true] {
        fake.inner.lock().unwrap().legacy_shapes = legacy;
        let b = place(&app, variant).await;
        let done = fake.complete_subscription(b);
        let sub = fake.sub_for(b);
        deliver(&app, &fake.invoice_event("invoice.paid", &sub.invoices[0])).await;
        assert_eq!(order(&app, b).await["status"], "paid", "legacy {legacy}");
        deliver(&app, &done).await;
        assert_eq!(
            payments(&app, b).await,
            vec![(sub.invoices[0].clone(), PRICE, 0)]
        );
        assert_eq!(events_of(&app, b, "paid").await.len(), 1);
        assert_eq!(
            order(&app, b).await["subscription"]["expires_at"],
            sub.period_end
        );
        assert!(fake
            .requests()
            .iter()
            .any(|r| r.method == "GET" && r.path == "/v1/checkout/sessions"));
    }
    let all = listed(&app, USER).await;
    assert_eq!(all.len(), 3);
    assert!(all
        .iter()
        .all(|s| s["status"] == "active" && s["renewals"] == 0));
    assert!(all.iter().all(|s| s["title"] == "Tea club"));

    // A subscription the shop did not start, whose metadata names an order, pays nothing.
    let c = place(&app, variant).await;
    deliver(&app, &fake.foreign_invoice_event(c, PRICE, "usd")).await;
    assert_eq!(order(&app, c).await["status"], "pending_payment");
    assert!(payments(&app, c).await.is_empty());
});

both_kinds!(renewal_counts_once_and_extends, |kind| async move {
    let Some((app, fake, bot)) = start(kind).await else {
        return;
    };
    let variant = usd_subscription(&app).await;
    let (id, sub) = subscribed(&app, &fake, variant).await;

    let renewal = fake.renew(&sub, true);
    let ev = fake.invoice_event("invoice.paid", &renewal);
    deliver(&app, &ev).await;
    deliver(&app, &ev).await;
    deliver(
        &app,
        &fake.invoice_event("invoice.payment_succeeded", &renewal),
    )
    .await;
    let s = order(&app, id).await["subscription"].clone();
    assert_eq!(s["renewals"], 1, "{s}");
    assert_eq!(s["expires_at"], fake.sub(&sub).period_end);
    assert_eq!(payments(&app, id).await.len(), 2);
    assert_eq!(payments(&app, id).await[1], (renewal.clone(), PRICE, 0));
    assert_eq!(events_of(&app, id, "subscription_renewed").await.len(), 1);
    bot.wait_for("sendMessage", |b| {
        b["chat_id"] == USER && b["text"].as_str().is_some_and(|t| t.starts_with("🔁"))
    })
    .await;

    // A renewal of another amount (the price was changed in the dashboard) extends nothing
    // and is flagged for the merchant to give back.
    let odd = fake.renew(&sub, true);
    fake.inner.lock().unwrap().invoices.get_mut(&odd).unwrap()["amount_paid"] = json!(PRICE + 1);
    deliver(&app, &fake.invoice_event("invoice.paid", &odd)).await;
    let after = order(&app, id).await["subscription"].clone();
    assert_eq!(after["renewals"], 1);
    assert_eq!(after["expires_at"], s["expires_at"]);
    assert_eq!(payments(&app, id).await[2], (odd, PRICE + 1, 1));
    assert_eq!(events_of(&app, id, "payment_mismatch").await.len(), 1);
});

both_kinds!(failed_renewal_tells_the_customer_once, |kind| async move {
    let Some((app, fake, bot)) = start(kind).await else {
        return;
    };
    let variant = usd_subscription(&app).await;
    let (id, sub) = subscribed(&app, &fake, variant).await;
    let failed = fake.renew(&sub, false);
    // Stripe reports each retry; the customer hears it once per invoice.
    deliver(&app, &fake.invoice_event("invoice.payment_failed", &failed)).await;
    deliver(&app, &fake.invoice_event("invoice.payment_failed", &failed)).await;
    let told = bot
        .wait_for("sendMessage", |b| {
            b["chat_id"] == USER && b["text"].as_str().is_some_and(|t| t.starts_with("⚠️"))
        })
        .await;
    assert!(
        told["text"].as_str().unwrap().contains(&format!("#{id}")),
        "{told}"
    );
    assert_eq!(
        events_of(&app, id, "subscription_payment_failed")
            .await
            .len(),
        1
    );
    // Nothing was paid: the order's money and period are unchanged.
    assert_eq!(payments(&app, id).await.len(), 1);
    assert_eq!(order(&app, id).await["subscription"]["renewals"], 0);
    // A later notice (the merchant turns renewal off) arrives after any second warning
    // would have: there is none.
    let csrf = app.admin_login().await;
    let (s, v) = app
        .json(app.admin(
            Method::POST,
            &format!("/api/admin/orders/{id}/subscription/cancel"),
            &csrf,
        ))
        .await;
    assert_eq!(s, 200, "{v}");
    // The merchant's order shows the failed renewal, and still only the first payment.
    let o = app.admin_order(&csrf, id).await;
    assert!(
        o["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "subscription_payment_failed"),
        "{o}"
    );
    assert_eq!(o["payments"].as_array().unwrap().len(), 1, "{o}");
    assert_eq!(o["payments"][0]["rail"], "stripe");
    bot.wait_for("sendMessage", |b| {
        b["chat_id"] == USER && b["text"].as_str().is_some_and(|t| t.contains("renew"))
    })
    .await;
    let warnings = bot
        .calls("sendMessage")
        .into_iter()
        .filter(|b| b["text"].as_str().is_some_and(|t| t.starts_with("⚠️")))
        .count();
    assert_eq!(warnings, 1);
});

both_kinds!(deleted_subscription_ends_access, |kind| async move {
    let Some((app, fake, _bot)) = start(kind).await else {
        return;
    };
    let variant = usd_subscription(&app).await;
    let (id, sub) = subscribed(&app, &fake, variant).await;
    // Retries failed, or the merchant deleted it in the dashboard: Stripe ends it now.
    fake.end(&sub);
    let ev = fake.subscription_event("customer.subscription.deleted", &sub);
    deliver(&app, &ev).await;
    deliver(
        &app,
        &fake.subscription_event("customer.subscription.deleted", &sub),
    )
    .await;
    let s = order(&app, id).await["subscription"].clone();
    assert_eq!(s["status"], "expired", "{s}");
    assert_eq!(s["renews"], false);
    assert!(s["expires_at"].as_i64().unwrap() <= now());
    assert_eq!(events_of(&app, id, "subscription_ended").await.len(), 1);
    let listed = listed(&app, USER).await;
    assert_eq!(listed[0]["status"], "expired");
    // An ended subscription cannot be cancelled; nothing is asked of Stripe.
    let (s, v) = app
        .json(app.as_user(
            Method::POST,
            &format!("/api/subscriptions/{}/cancel", listed[0]["id"]),
            USER,
        ))
        .await;
    assert_eq!((s, error_code(&v)), (409, "subscription_expired"));
    assert!(subscription_calls(&fake).is_empty());
    // The order stays paid: the periods paid for were delivered.
    assert_eq!(order(&app, id).await["status"], "paid");
});

both_kinds!(customer_cancels_at_period_end, |kind| async move {
    let Some((app, fake, _bot)) = start(kind).await else {
        return;
    };
    let variant = usd_subscription(&app).await;
    let (id, sub) = subscribed(&app, &fake, variant).await;
    let sid = order(&app, id).await["subscription"]["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/subscriptions/{sid}/cancel");

    // Somebody else's subscription is not found, and Stripe is not asked.
    let (s, _) = app.json(app.as_user(Method::POST, &path, USER + 1)).await;
    assert_eq!(s, 404);
    assert!(subscription_calls(&fake).is_empty());

    let (s, v) = app.json(app.as_user(Method::POST, &path, USER)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "canceled");
    assert_eq!(v["renews"], false);
    let calls = subscription_calls(&fake);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        (calls[0].method, calls[0].path.as_str()),
        ("POST", format!("/v1/subscriptions/{sub}").as_str())
    );
    assert!(calls[0].idempotency_key.is_some());
    let at_stripe = fake.sub(&sub);
    assert!(at_stripe.cancel_at_period_end);
    assert_eq!(at_stripe.status, "active");
    // Stripe's echo of the change adds nothing; a second cancel asks Stripe nothing.
    deliver(
        &app,
        &fake.subscription_event("customer.subscription.updated", &sub),
    )
    .await;
    let (s, _) = app.json(app.as_user(Method::POST, &path, USER)).await;
    assert_eq!(s, 200);
    assert_eq!(subscription_calls(&fake).len(), 1);
    let ev = events_of(&app, id, "subscription_canceled").await;
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].0.as_deref(), Some("customer"));
    // The paid period runs on; the order's timeline (as the merchant reads it) shows the
    // change.
    let o = order(&app, id).await;
    assert_eq!(o["subscription"]["status"], "canceled");
    assert_eq!(o["subscription"]["expires_at"], at_stripe.period_end);
    let csrf = app.admin_login().await;
    let (_, admin_view) = app
        .json(app.admin(Method::GET, &format!("/api/admin/orders/{id}"), &csrf))
        .await;
    assert!(admin_view["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "subscription_canceled" && e["actor"] == "customer"));

    // Renewal back on: one call with cancel_at_period_end=false.
    let (s, v) = app
        .json(app.as_user(
            Method::POST,
            &format!("/api/subscriptions/{sid}/renew"),
            USER,
        ))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(subscription_calls(&fake).len(), 2);
    assert!(!fake.sub(&sub).cancel_at_period_end);
    assert_eq!(events_of(&app, id, "subscription_resumed").await.len(), 1);

    // Turned off in Stripe's dashboard: the shop follows, with Stripe as the actor.
    fake.inner
        .lock()
        .unwrap()
        .subs
        .iter_mut()
        .find(|s| s.id == sub)
        .unwrap()
        .cancel_at_period_end = true;
    deliver(
        &app,
        &fake.subscription_event("customer.subscription.updated", &sub),
    )
    .await;
    assert_eq!(order(&app, id).await["subscription"]["status"], "canceled");
    let ev = events_of(&app, id, "subscription_canceled").await;
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[1].0.as_deref(), Some("stripe"));
    assert_eq!(subscription_calls(&fake).len(), 2);
});

both_kinds!(merchant_cancels_from_the_admin, |kind| async move {
    let Some((app, fake, _bot)) = start(kind).await else {
        return;
    };
    let variant = usd_subscription(&app).await;
    let (id, sub) = subscribed(&app, &fake, variant).await;
    let csrf = app.admin_login().await;
    let path = format!("/api/admin/orders/{id}/subscription/cancel");
    // Without the CSRF token: refused, nothing asked of Stripe.
    let (s, _) = app.json(app.admin(Method::POST, &path, "wrong")).await;
    assert_eq!(s, 403);
    assert!(subscription_calls(&fake).is_empty());

    let (s, o) = app.json(app.admin(Method::POST, &path, &csrf)).await;
    assert_eq!(s, 200, "{o}");
    assert_eq!(o["subscription"]["status"], "canceled");
    assert_eq!(o["subscription"]["renews"], false);
    assert_eq!(subscription_calls(&fake).len(), 1);
    assert!(fake.sub(&sub).cancel_at_period_end);
    let events: Vec<&Value> = o["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "subscription_canceled")
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor"], "owner@shop.test");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'subscription.cancel' AND entity = 'order' AND entity_id = $1",
    )
    .bind(id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);
    // Again: nothing more at Stripe, nothing more in the log.
    let (s, _) = app.json(app.admin(Method::POST, &path, &csrf)).await;
    assert_eq!(s, 200);
    assert_eq!(subscription_calls(&fake).len(), 1);
    // An order that sold no subscription has none to cancel.
    let other = place(&app, variant).await;
    let (s, v) = app
        .json(app.admin(
            Method::POST,
            &format!("/api/admin/orders/{other}/subscription/cancel"),
            &csrf,
        ))
        .await;
    assert_eq!((s, error_code(&v)), (404, "not_found"), "{v}");
});

both_kinds!(
    refund_gives_back_the_invoice_and_ends_the_subscription,
    |kind| async move {
        let Some((app, fake, _bot)) = start(kind).await else {
            return;
        };
        let variant = usd_subscription(&app).await;
        let (id, sub) = subscribed(&app, &fake, variant).await;
        let first = fake.sub(&sub).invoices[0].clone();
        let pi = fake.inner.lock().unwrap().invoice_intents[&first].clone();
        let csrf = app.admin_login().await;
        let (s, v) = app.admin_refund(&csrf, id, json!({})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "refunded");
        // The refund named the invoice's PaymentIntent; the subscription was deleted at Stripe.
        assert_eq!(fake.refunded(&pi), PRICE);
        assert_eq!(fake.sub(&sub).status, "canceled");
        assert!(subscription_calls(&fake)
            .iter()
            .any(|r| r.method == "DELETE"));
        assert_eq!(v["subscription"]["status"], "expired");
        // Stripe's deletion event that follows changes nothing more.
        deliver(
            &app,
            &fake.subscription_event("customer.subscription.deleted", &sub),
        )
        .await;
        assert_eq!(events_of(&app, id, "subscription_ended").await.len(), 1);
    }
);

both_kinds!(
    a_renewal_before_the_first_payment_is_retried,
    |kind| async move {
        let Some((app, fake, _bot)) = start(kind).await else {
            return;
        };
        let variant = usd_subscription(&app).await;
        let id = place(&app, variant).await;
        // The session's and the first invoice's events are late; a renewal's comes first.
        let done = fake.complete_subscription(id);
        let sub = fake.sub_for(id).id;
        let renewal = fake.renew(&sub, true);
        let ev = fake.invoice_event("invoice.paid", &renewal);
        let r = deliver_raw(&app, &ev).await;
        // Not 2xx: Stripe delivers it again later instead of the money going unrecorded.
        assert_eq!(r.status, 409, "{}", r.text());
        assert!(payments(&app, id).await.is_empty());
        deliver(&app, &done).await;
        deliver(&app, &ev).await;
        let s = order(&app, id).await["subscription"].clone();
        assert_eq!(s["renewals"], 1, "{s}");
        assert_eq!(s["expires_at"], fake.sub(&sub).period_end);
        assert_eq!(payments(&app, id).await.len(), 2);
    }
);

both_kinds!(
    star_and_stripe_subscriptions_share_the_routes,
    |kind| async move {
        let fake = FakeStripe::start().await;
        let env = fake.env();
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let Some(t) = tg::Tg::start(kind, tg::Mode::Webhook, &pairs).await else {
            return;
        };
        let app = &t.app;
        // A Star subscription, paid as Telegram reports it.
        let star_order = t
            .order(USER, app.variant_id("Premium club").await, "stars")
            .await;
        let star_id = star_order["id"].as_i64().unwrap();
        let inv = t.invoice_of(&star_order).await;
        let exp = now() + 2_592_000;
        t.deliver(t.payment(USER, &inv, 100, "star-charge-1",
        json!({"is_recurring": true, "is_first_recurring": true, "subscription_expiration_date": exp})))
    .await;
        t.wait_status(star_id, "paid").await;
        // A Stripe one.
        let variant = usd_subscription(app).await;
        let (stripe_id, sub) = subscribed(app, &fake, variant).await;

        let items = listed(app, USER).await;
        assert_eq!(items.len(), 2, "{items:?}");
        let by_order = |o: i64| items.iter().find(|s| s["order_id"] == o).unwrap().clone();
        let (star, stripe) = (by_order(star_id), by_order(stripe_id));
        assert_eq!(
            (star["payment_method"].as_str(), star["status"].as_str()),
            (Some("stars"), Some("active"))
        );
        assert_eq!(star["expires_at"], exp);
        assert_eq!(
            (stripe["payment_method"].as_str(), stripe["status"].as_str()),
            (Some("stripe"), Some("active"))
        );
        for s in [&star, &stripe] {
            for k in [
                "id",
                "order_id",
                "product_id",
                "status",
                "renews",
                "expires_at",
                "renewals",
            ] {
                assert!(s.get(k).is_some(), "{k} missing in {s}");
            }
        }

        // The same cancel route, each to its own rail: one Bot API call, one Stripe call.
        for s in [&star, &stripe] {
            let (code, v) = app
                .json(app.as_user(
                    Method::POST,
                    &format!("/api/subscriptions/{}/cancel", s["id"]),
                    USER,
                ))
                .await;
            assert_eq!(code, 200, "{v}");
            assert_eq!(v["status"], "canceled");
        }
        let edits = t.fake.calls("editUserStarSubscription");
        assert_eq!(edits.len(), 1, "{edits:?}");
        assert_eq!(edits[0]["telegram_payment_charge_id"], "star-charge-1");
        assert_eq!(edits[0]["is_canceled"], true);
        assert_eq!(subscription_calls(&fake).len(), 1);
        assert!(fake.sub(&sub).cancel_at_period_end);
        assert!(listed(app, USER)
            .await
            .iter()
            .all(|s| s["status"] == "canceled"));
        assert_eq!(
            events_of(app, star_id, "subscription_canceled").await.len(),
            1
        );
    }
);

both_kinds!(a_flagged_first_payment_starts_nothing, |kind| async move {
    let Some((app, fake, _bot)) = start(kind).await else {
        return;
    };
    let variant = usd_subscription(&app).await;
    let id = place(&app, variant).await;
    // Stripe charged another amount than the order's (the session was tampered with, say).
    for s in fake.inner.lock().unwrap().sessions.iter_mut() {
        if s.order_id == id.to_string() {
            s.amount_total = PRICE + 1;
        }
    }
    deliver(&app, &fake.complete_subscription(id)).await;
    let sub = fake.sub_for(id);
    deliver(&app, &fake.invoice_event("invoice.paid", &sub.invoices[0])).await;
    assert_eq!(order(&app, id).await["status"], "pending_payment");
    assert_eq!(
        payments(&app, id).await,
        vec![(sub.invoices[0].clone(), PRICE + 1, 1)]
    );
    assert!(listed(&app, USER).await.is_empty());
    // Its renewals are not the shop's to take: answered, not recorded, not retried forever.
    let renewal = fake.renew(&sub.id, true);
    deliver(&app, &fake.invoice_event("invoice.paid", &renewal)).await;
    assert_eq!(payments(&app, id).await.len(), 1);
});

both_kinds!(
    a_cancelled_subscription_that_runs_out_ends_once,
    |kind| async move {
        let Some((app, fake, _bot)) = start(kind).await else {
            return;
        };
        let variant = usd_subscription(&app).await;
        let (id, sub) = subscribed(&app, &fake, variant).await;
        let sid = order(&app, id).await["subscription"]["id"]
            .as_i64()
            .unwrap();
        let (s, _) = app
            .json(app.as_user(
                Method::POST,
                &format!("/api/subscriptions/{sid}/cancel"),
                USER,
            ))
            .await;
        assert_eq!(s, 200);
        // The paid period is over (moved back here rather than waiting 30 days); Stripe ends the
        // subscription at that moment.
        let end = now() - 60;
        sqlx::query("UPDATE subscriptions SET expires_at = $1 WHERE id = $2")
            .bind(end)
            .bind(sid)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        {
            let mut g = fake.inner.lock().unwrap();
            let s = g.subs.iter_mut().find(|s| s.id == sub).unwrap();
            s.status = "canceled".into();
            s.ended_at = Some(end);
        }
        let ev = fake.subscription_event("customer.subscription.deleted", &sub);
        deliver(&app, &ev).await;
        deliver(
            &app,
            &fake.subscription_event("customer.subscription.deleted", &sub),
        )
        .await;
        let s = order(&app, id).await["subscription"].clone();
        assert_eq!(
            (s["status"].as_str(), s["expires_at"].as_i64()),
            (Some("expired"), Some(end))
        );
        assert_eq!(events_of(&app, id, "subscription_ended").await.len(), 1);
    }
);

both_kinds!(
    a_dashboard_refund_of_a_subscription_payment_counts_once,
    |kind| async move {
        let Some((app, fake, _bot)) = start(kind).await else {
            return;
        };
        let variant = usd_subscription(&app).await;
        let (id, sub) = subscribed(&app, &fake, variant).await;
        let first = fake.sub(&sub).invoices[0].clone();
        let pi = fake.inner.lock().unwrap().invoice_intents[&first].clone();
        // Refunded in Stripe's dashboard: the events name the PaymentIntent, the shop has the
        // payment by its invoice and finds it through Stripe.
        let r = fake.dashboard_refund(&pi, 400);
        deliver(&app, &fake.charge_refunded(&pi)).await;
        deliver(
            &app,
            &fake.refund_event("refund.created", r["id"].as_str().unwrap()),
        )
        .await;
        let refunded: i64 = sqlx::query_scalar(
            "SELECT refunded_minor FROM payments WHERE provider_payment_id = $1",
        )
        .bind(&first)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        assert_eq!(refunded, 400);
        assert_eq!(events_of(&app, id, "partial_refund").await.len(), 1);
        // The rest: the order is refunded and its subscription ends.
        fake.dashboard_refund(&pi, PRICE - 400);
        deliver(&app, &fake.charge_refunded(&pi)).await;
        let o = order(&app, id).await;
        assert_eq!(o["status"], "refunded");
        assert_eq!(o["subscription"]["status"], "expired");
        // …and Stripe stops charging for it.
        assert_eq!(fake.sub(&sub).status, "canceled");
    }
);
