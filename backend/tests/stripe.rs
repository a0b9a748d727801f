//! Stripe Checkout end to end against a local fake of Stripe's API, on both databases.

mod common;
#[path = "support/fake_bot_api.rs"]
mod fake_bot_api;
#[path = "support/fake_stripe.rs"]
mod fake_stripe;

use common::*;
use fake_bot_api::FakeBotApi;
use fake_stripe::{sign, FakeStripe, WEBHOOK_SECRET};
use reqwest::Method;
use serde_json::{json, Value};

const USER: i64 = 4242;

async fn start(kind: Kind) -> Option<(TestApp, FakeStripe)> {
    let fake = FakeStripe::start().await;
    let env = fake.env();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn(kind, &pairs).await?;
    Some((app, fake))
}

/// [`start`] with the Bot API faked too, to see what the customer is told.
async fn start_with_bot(kind: Kind) -> Option<(TestApp, FakeStripe, FakeBotApi)> {
    let fake = FakeStripe::start().await;
    let bot = FakeBotApi::start(BOT_TOKEN).await;
    let mut env = fake.env();
    env.push(("TELEGRAM_API_URL", bot.url.clone()));
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn(kind, &pairs).await?;
    Some((app, fake, bot))
}

/// A USD product (the demo catalog is in UZS and Stars); answers its variant id.
async fn usd_product(app: &TestApp, price_minor: i64, stock: i64) -> i64 {
    let csrf = app.admin_login().await;
    let sku = format!("MUG-{}", rand::random::<u32>());
    let (s, v) = app
        .json(app.admin(Method::POST, "/api/admin/products", &csrf).json(&json!({
            "kind": "physical",
            "title": {"en": "Travel mug", "ru": "Термокружка"},
            "variants": [{"sku": sku, "options": {}, "price": {"amount_minor": price_minor, "currency": "USD"}, "stock": stock}]
        })))
        .await;
    assert_eq!(s, 201, "{v}");
    v["variants"][0]["id"].as_i64().unwrap()
}

async fn stripe_order(app: &TestApp, variant: i64, qty: i64) -> (u16, Value) {
    app.order(
        USER,
        json!({"items": [{"variant_id": variant, "quantity": qty}], "payment_method": "stripe", "contact": contact()}),
    )
    .await
}

/// Posts an event as Stripe would: pretty-printed (so re-serialising would break the
/// signature) and signed now.
async fn deliver(app: &TestApp, ev: &Value) -> Raw {
    let body = serde_json::to_string_pretty(ev).unwrap();
    deliver_signed(app, &body, &sign(WEBHOOK_SECRET, now(), &body)).await
}

async fn deliver_signed(app: &TestApp, body: &str, sig: &str) -> Raw {
    app.raw(
        app.client
            .post(app.url("/webhooks/stripe"))
            .header("Stripe-Signature", sig)
            .header("Content-Type", "application/json")
            .body(body.to_string()),
    )
    .await
}

async fn status(app: &TestApp, order: i64) -> String {
    status_for(app, order, USER).await
}

/// An order's status as its customer, Telegram user `user`, reads it.
async fn status_for(app: &TestApp, order: i64, user: i64) -> String {
    let (s, v) = app
        .json(app.as_user(Method::GET, &format!("/api/orders/{order}"), user))
        .await;
    assert_eq!(s, 200, "{v}");
    v["status"].as_str().unwrap().to_string()
}

async fn payments(app: &TestApp, order: i64) -> Vec<(String, i64, i64, i64)> {
    sqlx::query_as(
        "SELECT provider_payment_id, amount_minor, refunded_minor, needs_refund FROM payments WHERE order_id = $1 ORDER BY id",
    )
    .bind(order)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
}

both_kinds!(checkout_session_describes_the_order, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = usd_product(&app, 1250, 5).await;
    let (s, order) = stripe_order(&app, variant, 2).await;
    assert_eq!(s, 201, "{order}");
    let id = order["id"].as_i64().unwrap();
    let session = fake.session_for(id);
    assert_eq!(
        order["checkout_url"].as_str().unwrap(),
        format!("https://checkout.stripe.test/c/pay/{}", session.id)
    );
    let f = &session.form;
    assert_eq!(f["line_items[0][price_data][currency]"], "usd");
    assert_eq!(f["line_items[0][price_data][unit_amount]"], "1250");
    assert_eq!(f["line_items[0][quantity]"], "2");
    assert_eq!(
        f["line_items[0][price_data][product_data][name]"],
        "Travel mug"
    );
    assert_eq!(f["client_reference_id"], id.to_string());
    assert_eq!(f["metadata[order_id]"], id.to_string());
    assert_eq!(f["payment_intent_data[metadata][order_id]"], id.to_string());
    assert_eq!(session.amount_total, 2500);
    // The 30-minute reservation is raised to Stripe's minimum, not beyond a few minutes.
    let exp: i64 = f["expires_at"].parse().unwrap();
    assert!(exp >= now() + 1800 && exp <= now() + 1800 + 420, "{exp}");
    let back = format!("http://127.0.0.1:8080/orders/{id}");
    assert!(f["success_url"].starts_with(&back), "{}", f["success_url"]);
    assert!(f["success_url"].contains("{CHECKOUT_SESSION_ID}"));
    assert!(f["cancel_url"].starts_with(&back));
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0]
        .idempotency_key
        .as_deref()
        .unwrap()
        .contains(&id.to_string()));

    // The cart offers Stripe for USD, not for UZS; a UZS order on Stripe is refused before
    // any call.
    app.json(
        app.as_user(Method::PUT, "/api/cart", USER)
            .json(&json!({"items": [{"variant_id": variant, "quantity": 1}]})),
    )
    .await;
    let (_, cart) = app.json(app.as_user(Method::GET, "/api/cart", USER)).await;
    assert!(
        cart["payment_methods"]
            .as_array()
            .unwrap()
            .contains(&json!("stripe")),
        "{cart}"
    );
    let uzs = app.variant_id("").await;
    let (s, v) = stripe_order(&app, uzs, 1).await;
    assert_eq!((s, error_code(&v)), (400, "payment_method_unfit"), "{v}");
    assert_eq!(fake.requests().len(), 1);
});

both_kinds!(paid_once_however_often_stripe_tells, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = usd_product(&app, 1250, 5).await;
    let (_, order) = stripe_order(&app, variant, 2).await;
    let id = order["id"].as_i64().unwrap();
    assert_eq!(
        (app.stock(variant).await, app.reserved(variant).await),
        (Some(3), 2)
    );

    let ev = fake.complete(id, true);
    let r = deliver(&app, &ev).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(status(&app, id).await, "paid");
    assert_eq!(
        (app.stock(variant).await, app.reserved(variant).await),
        (Some(3), 0)
    );
    let pays = payments(&app, id).await;
    assert_eq!(pays.len(), 1);
    assert_eq!(pays[0].1, 2500);
    assert!(pays[0].0.starts_with("pi_"));
    let raw: String = sqlx::query_scalar("SELECT raw FROM payments WHERE order_id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(raw, serde_json::to_string_pretty(&ev).unwrap());

    // Redelivered, twice concurrently, and a second event about the same payment.
    let (a, b) = tokio::join!(deliver(&app, &ev), deliver(&app, &ev));
    assert_eq!((a.status, b.status), (200, 200));
    let again = fake.event(
        "checkout.session.async_payment_succeeded",
        ev["data"]["object"].clone(),
    );
    assert_eq!(deliver(&app, &again).await.status, 200);
    assert_eq!(payments(&app, id).await.len(), 1);
    assert_eq!(
        (app.stock(variant).await, app.reserved(variant).await),
        (Some(3), 0)
    );
    let paid_events: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM order_events WHERE order_id = $1 AND kind = 'paid'",
    )
    .bind(id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(paid_events, 1);

    // An unknown event type is acknowledged and ignored.
    let other = fake.event("customer.created", json!({"id": "cus_1"}));
    assert_eq!(deliver(&app, &other).await.status, 200);
});

both_kinds!(events_in_any_order, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = usd_product(&app, 999, 10).await;
    // A bank debit: completed unpaid, then the money, delivered in reverse.
    let (_, o1) = stripe_order(&app, variant, 1).await;
    let id1 = o1["id"].as_i64().unwrap();
    let completed = fake.complete(id1, false);
    let succeeded = fake.async_succeeded(id1);
    assert_eq!(deliver(&app, &succeeded).await.status, 200);
    assert_eq!(status(&app, id1).await, "paid");
    assert_eq!(deliver(&app, &completed).await.status, 200);
    assert_eq!(status(&app, id1).await, "paid");

    // Unpaid completion alone does not pay.
    let (_, o2) = stripe_order(&app, variant, 1).await;
    let id2 = o2["id"].as_i64().unwrap();
    assert_eq!(deliver(&app, &fake.complete(id2, false)).await.status, 200);
    assert_eq!(status(&app, id2).await, "pending_payment");
    assert_eq!(payments(&app, id2).await.len(), 0);

    // "Expired" arriving after "paid" changes nothing: stock stays sold.
    let (_, o3) = stripe_order(&app, variant, 3).await;
    let id3 = o3["id"].as_i64().unwrap();
    let paid = fake.complete(id3, true);
    let expired = fake.expire(id3);
    assert_eq!(deliver(&app, &paid).await.status, 200);
    assert_eq!(deliver(&app, &expired).await.status, 200);
    assert_eq!(status(&app, id3).await, "paid");
    // 10 - 1 (o1 paid) - 1 (o2 held) - 3 (o3 paid)
    assert_eq!(
        (app.stock(variant).await, app.reserved(variant).await),
        (Some(5), 1)
    );
});

both_kinds!(expired_session_releases_stock_once, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = usd_product(&app, 500, 4).await;
    let (_, order) = stripe_order(&app, variant, 3).await;
    let id = order["id"].as_i64().unwrap();
    assert_eq!(app.stock(variant).await, Some(1));
    let ev = fake.expire(id);
    assert_eq!(deliver(&app, &ev).await.status, 200);
    assert_eq!(status(&app, id).await, "expired");
    assert_eq!(
        (app.stock(variant).await, app.reserved(variant).await),
        (Some(4), 0)
    );
    // The same event again, and a fresh one for the same session: nothing more given back.
    assert_eq!(deliver(&app, &ev).await.status, 200);
    assert_eq!(deliver(&app, &fake.expire(id)).await.status, 200);
    assert_eq!(
        (app.stock(variant).await, app.reserved(variant).await),
        (Some(4), 0)
    );

    // A payment that lands after expiry still sells the goods if they are there.
    let ev = fake.complete(id, true);
    assert_eq!(deliver(&app, &ev).await.status, 200);
    assert_eq!(status(&app, id).await, "paid");
    assert_eq!(
        (app.stock(variant).await, app.reserved(variant).await),
        (Some(1), 0)
    );
});

both_kinds!(
    bad_old_or_future_signatures_are_refused,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = usd_product(&app, 1250, 5).await;
        let (_, order) = stripe_order(&app, variant, 1).await;
        let id = order["id"].as_i64().unwrap();
        let body = serde_json::to_string(&fake.complete(id, true)).unwrap();
        let t = now();
        let cases = [
            sign("whsec_someone_else", t, &body),
            // Well outside the 300 s tolerance: a loaded machine can take seconds between
            // `now()` here and the check in the shop, which once let t + 301 pass.
            sign(WEBHOOK_SECRET, t - 600, &body),
            sign(WEBHOOK_SECRET, t + 600, &body),
            // Keyed without the "whsec_" prefix.
            sign(WEBHOOK_SECRET.trim_start_matches("whsec_"), t, &body),
            sign(WEBHOOK_SECRET, t, &body).replace("v1=", "v0="),
            format!("t={t}"),
            "nonsense".to_string(),
            // A timestamp this far back overflowed `now - t` (a panic, so a 500, in debug builds).
            format!("t={},v1=00", i64::MIN),
            format!("t={},v1=00", i64::MAX),
        ];
        for sig in &cases {
            let r = deliver_signed(&app, &body, sig).await;
            assert_envelope(&r, 400, Some("invalid_signature"));
        }
        let tampered = body.replace("\"paid\"", "\"paid\" ");
        let r = deliver_signed(&app, &tampered, &sign(WEBHOOK_SECRET, t, &body)).await;
        assert_envelope(&r, 400, Some("invalid_signature"));
        let r = app
            .raw(
                app.client
                    .post(app.url("/webhooks/stripe"))
                    .body(body.clone()),
            )
            .await;
        assert_envelope(&r, 400, Some("invalid_signature"));
        assert_eq!(status(&app, id).await, "pending_payment");
        assert_eq!(payments(&app, id).await.len(), 0);

        // During secret rotation a header carries several v1; one good one is enough.
        let good = sign(WEBHOOK_SECRET, t, &body);
        let rotated = format!(
            "{},v1={}",
            sign("whsec_old", t, &body),
            good.split("v1=").nth(1).unwrap()
        );
        assert_eq!(deliver_signed(&app, &body, &rotated).await.status, 200);
        assert_eq!(status(&app, id).await, "paid");
    }
);

both_kinds!(refunds_partial_full_and_repeated, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = usd_product(&app, 1000, 5).await;
    let (_, order) = stripe_order(&app, variant, 1).await;
    let id = order["id"].as_i64().unwrap();
    deliver(&app, &fake.complete(id, true)).await;
    let pi = payments(&app, id).await[0].0.clone();
    let csrf = app.admin_login().await;
    let refund = |body: Value| app.admin_refund(&csrf, id, body);

    let (s, v) = refund(json!({"amount_minor": 300})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "paid");
    assert_eq!(fake.refunded(&pi), 300);
    // Stripe's own notification of that refund adds nothing.
    assert_eq!(deliver(&app, &fake.charge_refunded(&pi)).await.status, 200);
    assert_eq!(payments(&app, id).await[0].2, 300);

    // A second partial refund of the same amount is a new refund, not a replay.
    let (s, v) = refund(json!({"amount_minor": 300})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(fake.refunded(&pi), 600);

    // A refund made in Stripe's dashboard arrives only as a webhook; it is recorded.
    fake.dashboard_refund(&pi, 100);
    let ev = fake.charge_refunded(&pi);
    assert_eq!(deliver(&app, &ev).await.status, 200);
    assert_eq!(deliver(&app, &ev).await.status, 200);
    assert_eq!(payments(&app, id).await[0].2, 700);

    let (s, v) = refund(json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "refunded");
    assert_eq!(fake.refunded(&pi), 1000);
    let (s, v) = refund(json!({})).await;
    assert_eq!((s, error_code(&v)), (409, "already_refunded"));
    assert_eq!(deliver(&app, &fake.charge_refunded(&pi)).await.status, 200);
    assert_eq!(payments(&app, id).await[0].2, 1000);
    assert_eq!(fake.refunded(&pi), 1000);
    let keys: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/refunds" && r.method == "POST")
        .map(|r| r.idempotency_key.unwrap())
        .collect();
    assert_eq!(keys.len(), 3);
});

both_kinds!(
    outage_answers_502_and_the_order_retries,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = usd_product(&app, 1250, 5).await;
        // One 500, which Stripe then replays for every retry with that key.
        fake.fail_next(1);
        let body = json!({"items": [{"variant_id": variant, "quantity": 1}], "payment_method": "stripe", "contact": contact()});
        let send = || {
            app.raw(
                app.as_user(Method::POST, "/api/orders", USER)
                    .header("Idempotency-Key", "retry-me-1")
                    .json(&body),
            )
        };
        let r = send().await;
        assert_envelope(&r, 502, Some("provider_unavailable"));
        // Three tries with one key, then the order waits with its reservation.
        let reqs = fake.requests();
        assert_eq!(reqs.len(), 3);
        assert!(reqs
            .iter()
            .all(|q| q.idempotency_key == reqs[0].idempotency_key));
        assert_eq!(app.reserved(variant).await, 1);

        // Stripe remembers the 500 under the old key; the retry uses a new one and succeeds.
        let r = send().await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert!(v["checkout_url"]
            .as_str()
            .unwrap()
            .starts_with("https://checkout.stripe.test/"));
        let reqs = fake.requests();
        assert_eq!(reqs.len(), 4);
        assert_ne!(reqs[3].idempotency_key, reqs[0].idempotency_key);
        assert_eq!(app.reserved(variant).await, 1);
        // And once it has a checkout, a retry does not call Stripe again.
        let r = send().await;
        assert_eq!(r.status, 200);
        assert_eq!(fake.requests().len(), 4);
    }
);

both!(
    unconfigured_stripe_is_not_offered,
    |app: TestApp| async move {
        let (s, v) = app
        .order(USER, json!({"items": [{"variant_id": app.variant_id("").await, "quantity": 1}], "payment_method": "stripe", "contact": contact()}))
        .await;
        assert_eq!(
            (s, error_code(&v)),
            (400, "payment_method_unavailable"),
            "{v}"
        );
        let r = app
            .raw(
                app.client
                    .post(app.url("/webhooks/stripe"))
                    .header("Stripe-Signature", "t=1,v1=00")
                    .body("{}"),
            )
            .await;
        assert_envelope(&r, 404, None);
    }
);

both_kinds!(
    passing_trouble_is_retried_with_the_same_key,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = usd_product(&app, 1250, 5).await;
        fake.drop_next(2);
        let (s, v) = stripe_order(&app, variant, 1).await;
        assert_eq!(s, 201, "{v}");
        let reqs = fake.requests();
        assert_eq!(
            reqs.iter().map(|r| r.status).collect::<Vec<_>>(),
            vec![503, 503, 200]
        );
        assert!(reqs
            .iter()
            .all(|q| q.idempotency_key == reqs[0].idempotency_key));
        assert_eq!(fake.inner.lock().unwrap().sessions.len(), 1);
    }
);

both_kinds!(unreachable_stripe_answers_502, |kind| async move {
    // Nothing listens on port 9 (discard) of localhost here.
    let Some(app) = spawn(
        kind,
        &[
            ("STRIPE_SECRET_KEY", fake_stripe::SECRET_KEY),
            ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
            ("STRIPE_API_URL", "http://127.0.0.1:9"),
        ],
    )
    .await
    else {
        return;
    };
    let variant = usd_product(&app, 1250, 5).await;
    let r = app
        .raw(app.as_user(Method::POST, "/api/orders", USER).json(&json!({
            "items": [{"variant_id": variant, "quantity": 1}],
            "payment_method": "stripe",
            "contact": contact()
        })))
        .await;
    let v = assert_envelope(&r, 502, Some("provider_unavailable"));
    assert!(!v.to_string().contains(fake_stripe::SECRET_KEY));
    assert_eq!(app.reserved(variant).await, 1);
});

both_kinds!(
    a_second_payment_for_a_paid_order_is_flagged,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = usd_product(&app, 1250, 5).await;
        let (_, order) = stripe_order(&app, variant, 1).await;
        let id = order["id"].as_i64().unwrap();
        let first = fake.complete(id, true);
        assert_eq!(deliver(&app, &first).await.status, 200);
        // The buyer paid again in another tab: another PaymentIntent for the same order.
        let second = fake.pay_again(id);
        assert_eq!(deliver(&app, &second).await.status, 200);
        assert_eq!(status(&app, id).await, "paid");
        let pays = payments(&app, id).await;
        assert_eq!(pays.len(), 2);
        assert_eq!((pays[0].3, pays[1].3), (0, 1));
        assert_eq!(
            pays[1].0,
            second["data"]["object"]["payment_intent"].as_str().unwrap()
        );
        assert_eq!(
            (app.stock(variant).await, app.reserved(variant).await),
            (Some(4), 0)
        );
    }
);

both_kinds!(
    sessions_the_shop_did_not_open_change_nothing,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = usd_product(&app, 1250, 5).await;
        let (_, order) = stripe_order(&app, variant, 2).await;
        let id = order["id"].as_i64().unwrap();
        // A Payment Link on the same Stripe account whose metadata names our order: signed by
        // Stripe all right, but the shop never opened that session.
        for (kind, paid) in [
            ("checkout.session.expired", false),
            ("checkout.session.async_payment_failed", false),
            ("checkout.session.completed", true),
            ("checkout.session.async_payment_succeeded", true),
        ] {
            let ev = fake.foreign_session_event(kind, id, 2500, "usd", paid);
            assert_eq!(ev["data"]["object"]["metadata"]["order_id"], id.to_string());
            let r = deliver(&app, &ev).await;
            assert_eq!(r.status, 200, "{kind}: {}", r.text());
            assert_eq!(status(&app, id).await, "pending_payment", "{kind}");
            assert_eq!(
                (app.stock(variant).await, app.reserved(variant).await),
                (Some(3), 2),
                "{kind}: the reservation stands"
            );
            assert!(payments(&app, id).await.is_empty(), "{kind}");
        }
        // The session the shop opened still pays it.
        assert_eq!(deliver(&app, &fake.complete(id, true)).await.status, 200);
        assert_eq!(status(&app, id).await, "paid");
        assert_eq!(
            (app.stock(variant).await, app.reserved(variant).await),
            (Some(3), 0)
        );
    }
);

/// Posts a signed event to the shop at `base` from outside the test's own client (the fake's
/// hook runs inside the fake Stripe, while the admin's request is still waiting).
async fn deliver_to(base: &str, ev: &Value) -> u16 {
    let body = serde_json::to_string_pretty(ev).unwrap();
    reqwest::Client::new()
        .post(format!("{base}/webhooks/stripe"))
        .header("Stripe-Signature", sign(WEBHOOK_SECRET, now(), &body))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// The `refunds` rows of an order: (provider refund id, amount).
async fn refund_rows(app: &TestApp, order: i64) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT provider_refund_id, amount_minor FROM refunds WHERE order_id = $1 AND rail = 'stripe' ORDER BY id",
    )
    .bind(order)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
}

async fn events_of(app: &TestApp, order: i64, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM order_events WHERE order_id = $1 AND kind = $2")
        .bind(order)
        .bind(kind)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// A paid Stripe order of one unit at `price` (of 5 in stock); answers (order id,
/// PaymentIntent, variant id).
async fn paid_order(app: &TestApp, fake: &FakeStripe, price: i64) -> (i64, String, i64) {
    paid_order_of(app, fake, price, USER).await
}

/// [`paid_order`] placed by Telegram user `user`.
async fn paid_order_of(
    app: &TestApp,
    fake: &FakeStripe,
    price: i64,
    user: i64,
) -> (i64, String, i64) {
    let variant = usd_product(app, price, 5).await;
    let (_, order) = app
        .order(
            user,
            json!({"items": [{"variant_id": variant, "quantity": 1}], "payment_method": "stripe", "contact": contact()}),
        )
        .await;
    let id = order["id"].as_i64().unwrap();
    assert_eq!(deliver(app, &fake.complete(id, true)).await.status, 200);
    let pi = payments(app, id).await[0].0.clone();
    (id, pi, variant)
}

both_kinds!(
    refund_webhook_before_the_admin_answer_counts_once,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let (id, pi, variant) = paid_order(&app, &fake, 1000).await;
        // Stripe delivers its notification of each refund before it answers the admin's
        // call: first `charge.refunded` (the shop lists the charge's refunds), then
        // `refund.created` for the second refund.
        let delivered = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, u16)>::new()));
        let (f, base, seen) = (fake.clone(), app.base.clone(), delivered.clone());
        fake.before_refund_answer(move |refund: Value| {
            let (f, base, seen) = (f.clone(), base.clone(), seen.clone());
            async move {
                let pi = refund["payment_intent"].as_str().unwrap().to_string();
                let rid = refund["id"].as_str().unwrap().to_string();
                let ev = if f.refunds_of(&pi).len() == 1 {
                    f.charge_refunded(&pi)
                } else {
                    f.refund_event("refund.created", &rid)
                };
                let kind = ev["type"].as_str().unwrap().to_string();
                let status = deliver_to(&base, &ev).await;
                seen.lock().unwrap().push((kind, status));
            }
        });
        let csrf = app.admin_login().await;
        let refund = |body: Value| app.admin_refund(&csrf, id, body);

        let (s, v) = refund(json!({"amount_minor": 300})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "paid");
        assert_eq!(
            delivered.lock().unwrap().clone(),
            vec![("charge.refunded".to_string(), 200)]
        );
        let made = fake.refunds_of(&pi);
        assert_eq!(made.len(), 1);
        let rows = refund_rows(&app, id).await;
        assert_eq!(
            rows,
            vec![(made[0]["id"].as_str().unwrap().to_string(), 300)]
        );
        assert_eq!(payments(&app, id).await[0].2, 300);
        assert_eq!(events_of(&app, id, "partial_refund").await, 1);

        // The rest, with `refund.created` overtaking the answer: refunded once, in full,
        // and the merchant's restock still happens (the webhook never restocks), once.
        assert_eq!(app.stock(variant).await, Some(4));
        let (s, v) = refund(json!({"restock": true})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "refunded");
        assert_eq!(delivered.lock().unwrap().len(), 2);
        assert_eq!(
            delivered.lock().unwrap()[1],
            ("refund.created".to_string(), 200)
        );
        let rows = refund_rows(&app, id).await;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].1, 700);
        assert_eq!(payments(&app, id).await[0].2, 1000);
        assert_eq!(fake.refunded(&pi), 1000);
        assert_eq!(events_of(&app, id, "partial_refund").await, 1);
        assert_eq!(app.stock(variant).await, Some(5));
        assert_eq!(events_of(&app, id, "restocked").await, 1);
    }
);

both_kinds!(a_replayed_refund_event_records_once, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let (id, pi, _) = paid_order(&app, &fake, 1000).await;
    let r = fake.dashboard_refund(&pi, 400);
    let charge = fake.charge_refunded(&pi);
    let created = fake.refund_event("refund.created", r["id"].as_str().unwrap());
    // The same event twice at once (both pass the "seen before" check), again later, and two
    // other events about the same refund.
    let (a, b) = tokio::join!(deliver(&app, &charge), deliver(&app, &charge));
    assert_eq!((a.status, b.status), (200, 200));
    assert_eq!(deliver(&app, &charge).await.status, 200);
    assert_eq!(deliver(&app, &created).await.status, 200);
    let updated = fake.refund_event("refund.updated", r["id"].as_str().unwrap());
    assert_eq!(deliver(&app, &updated).await.status, 200);
    assert_eq!(refund_rows(&app, id).await.len(), 1);
    assert_eq!(payments(&app, id).await[0].2, 400);
    assert_eq!(events_of(&app, id, "partial_refund").await, 1);
    assert_eq!(status(&app, id).await, "paid");

    // A refund that has not succeeded is not counted.
    let mut pending = fake.dashboard_refund(&pi, 100);
    pending["status"] = json!("pending");
    let ev = fake.event("refund.created", pending);
    assert_eq!(deliver(&app, &ev).await.status, 200);
    assert_eq!(refund_rows(&app, id).await.len(), 1);
    assert_eq!(payments(&app, id).await[0].2, 400);
});

both_kinds!(
    a_provider_refund_beyond_what_is_left_counts_what_is_left,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let (id, pi, _) = paid_order(&app, &fake, 1000).await;
        // Our books already count 800 as refunded (a refund recorded by hand, say); Stripe
        // then reports a refund of 500.
        sqlx::query("UPDATE payments SET refunded_minor = 800 WHERE order_id = $1")
            .bind(id)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        fake.dashboard_refund(&pi, 500);
        let ev = fake.charge_refunded(&pi);
        assert_eq!(deliver(&app, &ev).await.status, 200);
        assert_eq!(payments(&app, id).await[0].2, 1000);
        assert_eq!(status(&app, id).await, "refunded");
        assert_eq!(refund_rows(&app, id).await[0].1, 500);
        assert_eq!(events_of(&app, id, "refund_exceeds_payment").await, 1);
        // Told again (a new event about the same refund): no second note, no change.
        assert_eq!(deliver(&app, &fake.charge_refunded(&pi)).await.status, 200);
        assert_eq!(events_of(&app, id, "refund_exceeds_payment").await, 1);
        assert_eq!(payments(&app, id).await[0].2, 1000);
    }
);

both_kinds!(a_refund_that_fails_later_is_taken_back, |kind| async move {
    let Some((app, fake, bot)) = start_with_bot(kind).await else {
        return;
    };
    // A customer of its own: the bot paces messages per chat across the whole test binary.
    const CUSTOMER: i64 = 4343;
    let (id, pi, variant) = paid_order_of(&app, &fake, 1000, CUSTOMER).await;
    let csrf = app.admin_login().await;
    let refund = |body: Value| app.admin_refund(&csrf, id, body);
    let (s, v) = refund(json!({"restock": true})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "refunded");
    assert_eq!(app.stock(variant).await, Some(5));
    let first = fake.refunds_of(&pi)[0]["id"].as_str().unwrap().to_string();

    // The customer's card was closed: Stripe says so in `refund.failed`, then again in
    // `charge.refund.updated`. The money counts as the shop's again, once, and the order is
    // back where it was, so the merchant can refund it another time.
    let failed = fake.fail_refund(&first);
    assert_eq!(
        deliver(&app, &fake.event("refund.failed", failed.clone()))
            .await
            .status,
        200
    );
    assert_eq!(status_for(&app, id, CUSTOMER).await, "paid");
    assert_eq!(payments(&app, id).await[0].2, 0);
    assert_eq!(events_of(&app, id, "refund_failed").await, 1);
    let again = fake.event("charge.refund.updated", failed);
    assert_eq!(deliver(&app, &again).await.status, 200);
    assert_eq!(payments(&app, id).await[0].2, 0);
    assert_eq!(events_of(&app, id, "refund_failed").await, 1);
    // The customer hears it from the bot, in the order's language.
    let told = bot
        .wait_for("sendMessage", |b| {
            b["chat_id"] == CUSTOMER && b["text"].as_str().is_some_and(|t| t.starts_with("⚠️"))
        })
        .await;
    assert!(
        told["text"].as_str().unwrap().contains(&format!("#{id}")),
        "{told}"
    );
    // Units already back on sale stay there: the merchant decides about the goods.
    assert_eq!(app.stock(variant).await, Some(5));
    // The customer's timeline says why the order is paid again.
    let order = app
        .json(app.as_user(Method::GET, &format!("/api/orders/{id}"), CUSTOMER))
        .await
        .1;
    let kinds: Vec<&str> = order["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.ends_with(&["refunded", "paid", "refund_failed"]),
        "{kinds:?}"
    );

    // Refunding again is a new refund at Stripe (not the first one's answer replayed).
    let (s, v) = refund(json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "refunded");
    let made = fake.refunds_of(&pi);
    assert_eq!(made.len(), 2);
    assert_eq!(made[1]["status"], "succeeded");
    assert_eq!(fake.refunded(&pi), 1000);
    assert_eq!(payments(&app, id).await[0].2, 1000);
    assert_eq!(refund_rows(&app, id).await.len(), 2);
});

both_kinds!(
    a_partial_refund_that_fails_leaves_the_order_paid,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let (id, pi, _) = paid_order(&app, &fake, 1000).await;
        let r = fake.dashboard_refund(&pi, 300);
        assert_eq!(deliver(&app, &fake.charge_refunded(&pi)).await.status, 200);
        assert_eq!(payments(&app, id).await[0].2, 300);
        let failed = fake.fail_refund(r["id"].as_str().unwrap());
        assert_eq!(
            deliver(&app, &fake.event("refund.updated", failed))
                .await
                .status,
            200
        );
        assert_eq!(status(&app, id).await, "paid");
        assert_eq!(payments(&app, id).await[0].2, 0);
        assert_eq!(events_of(&app, id, "refund_failed").await, 1);
        // A refund made in the dashboard that failed before it ever succeeded counted nothing
        // here: it is noted (once) and the books stay as they are.
        let mut never = fake.dashboard_refund(&pi, 100);
        never["status"] = json!("failed");
        let ev = fake.event("refund.failed", never);
        assert_eq!(deliver(&app, &ev).await.status, 200);
        assert_eq!(deliver(&app, &ev).await.status, 200);
        assert_eq!(payments(&app, id).await[0].2, 0);
        assert_eq!(status(&app, id).await, "paid");
        assert_eq!(events_of(&app, id, "refund_failed").await, 2);
    }
);

both_kinds!(
    a_failed_refund_of_a_duplicate_payment_flags_it_again,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let (id, _, _) = paid_order(&app, &fake, 1000).await;
        // The customer paid the same order a second time; that payment is flagged for refund.
        assert_eq!(deliver(&app, &fake.pay_again(id)).await.status, 200);
        let pays = payments(&app, id).await;
        assert_eq!(pays.len(), 2);
        assert_eq!(pays[1].3, 1);
        let dup = pays[1].0.clone();
        // Refunded in the Stripe dashboard: no longer flagged, the order untouched.
        let r = fake.dashboard_refund(&dup, 1000);
        assert_eq!(deliver(&app, &fake.charge_refunded(&dup)).await.status, 200);
        assert_eq!(
            (payments(&app, id).await[1].2, payments(&app, id).await[1].3),
            (1000, 0)
        );
        assert_eq!(status(&app, id).await, "paid");
        // The refund fails: the duplicate is the shop's money again and owed to the customer.
        let failed = fake.fail_refund(r["id"].as_str().unwrap());
        assert_eq!(
            deliver(&app, &fake.event("refund.failed", failed))
                .await
                .status,
            200
        );
        let pays = payments(&app, id).await;
        assert_eq!((pays[1].2, pays[1].3), (0, 1));
        assert_eq!((pays[0].2, pays[0].3), (0, 0));
        assert_eq!(status(&app, id).await, "paid");
        assert_eq!(events_of(&app, id, "refund_failed").await, 1);
    }
);

both_kinds!(
    a_pending_refund_that_fails_is_on_record_and_can_be_made_again,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let (id, pi, _) = paid_order(&app, &fake, 1000).await;
        let csrf = app.admin_login().await;
        let refund = |body: Value| app.admin_refund(&csrf, id, body);
        fake.inner.lock().unwrap().refunds_pending = true;
        let (s, v) = refund(json!({})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "paid");
        assert_eq!(events_of(&app, id, "refund_pending").await, 1);
        let pending = fake.refunds_of(&pi)[0]["id"].as_str().unwrap().to_string();

        // It never completes: the merchant and the customer are told, once, and the refund is
        // on record as failed although it never counted.
        let failed = fake.fail_refund(&pending);
        assert_eq!(
            deliver(&app, &fake.event("refund.failed", failed.clone()))
                .await
                .status,
            200
        );
        let again = fake.event("charge.refund.updated", failed);
        assert_eq!(deliver(&app, &again).await.status, 200);
        assert_eq!(events_of(&app, id, "refund_failed").await, 1);
        assert_eq!(status(&app, id).await, "paid");
        assert_eq!(payments(&app, id).await[0].2, 0);
        let failed_rows: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM refunds WHERE order_id = $1 AND failed_at IS NOT NULL \
             AND counted_minor = 0",
        )
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        assert_eq!(failed_rows, 1);

        // Asked again, Stripe makes a new refund rather than replaying the pending answer.
        fake.inner.lock().unwrap().refunds_pending = false;
        let (s, v) = refund(json!({})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "refunded");
        assert_eq!(fake.refunds_of(&pi).len(), 2);
        assert_eq!(payments(&app, id).await[0].2, 1000);
    }
);
