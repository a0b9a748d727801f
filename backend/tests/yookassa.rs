//! YooKassa end to end against a local fake of its API, on both databases: the payment the
//! shop creates, unsigned notifications trusted only through the API, refunds counted once.

mod common;
#[path = "support/fake_yookassa.rs"]
mod fake_yookassa;

use common::*;
use fake_yookassa::FakeYookassa;
use reqwest::Method;
use serde_json::{json, Value};

const USER: i64 = 7373;
const SHOP: &str = "http://127.0.0.1:8080";

async fn start_with(kind: Kind, extra: &[(&str, &str)]) -> Option<(TestApp, FakeYookassa)> {
    let fake = FakeYookassa::start().await;
    let app = spawn_with_fake(kind, &fake.env(), extra).await?;
    Some((app, fake))
}

async fn start(kind: Kind) -> Option<(TestApp, FakeYookassa)> {
    start_with(kind, &[]).await
}

/// A product priced in roubles; answers its variant id.
async fn rub_product(
    app: &TestApp,
    kind: &str,
    price_minor: i64,
    stock: i64,
    vat: Option<i64>,
) -> i64 {
    let mut body = json!({"kind": kind, "title": {"en": "Samovar", "ru": "Самовар"}});
    if let Some(v) = vat {
        body["vat_percent"] = json!(v);
    }
    if kind == "digital" {
        body["digital_content"] = json!("https://example.test/download");
    }
    app.admin_product(body, "SAMOVAR", price_minor, "RUB", stock)
        .await
}

fn rub_contact() -> Value {
    json!({"name": "Ivan Petrov", "phone": "+7 900 123-45-67", "address": "Moscow, Tverskaya 1", "email": "ivan@example.ru"})
}

async fn yk_order(app: &TestApp, variant: i64, qty: i64) -> Value {
    app.place_order(USER, variant, qty, "yookassa", rub_contact())
        .await
}

async fn deliver(app: &TestApp, body: &Value) -> Raw {
    app.raw(
        app.client
            .post(app.url("/webhooks/yookassa"))
            .header("Content-Type", "application/json")
            .body(body.to_string()),
    )
    .await
}

/// A notification as if sent through a proxy that says it came from `from`
/// (`X-Forwarded-For`; believed only when the shop trusts the peer, 127.0.0.1 here).
async fn deliver_from(app: &TestApp, body: &Value, from: &str) -> Raw {
    app.raw(
        app.client
            .post(app.url("/webhooks/yookassa"))
            .header("Content-Type", "application/json")
            .header("X-Forwarded-For", from)
            .body(body.to_string()),
    )
    .await
}

/// Asserts a notification was refused for its source: 403 in the error envelope, and
/// YooKassa was not asked anything.
#[track_caller]
fn refused_for_source(r: &Raw, fake: &FakeYookassa, calls_before: usize) {
    let v = assert_envelope(r, 403, Some("source_not_allowed"));
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("YooKassa's addresses"),
        "{v}"
    );
    assert_eq!(fake.requests().len(), calls_before, "no call to YooKassa");
}

async fn status(app: &TestApp, order: i64) -> String {
    app.order_status(USER, order).await
}

/// (provider payment id, amount, refunded, needs_refund) of an order's payments.
async fn payments(app: &TestApp, order: i64) -> Vec<(String, i64, i64, i64)> {
    sqlx::query_as(
        "SELECT provider_payment_id, amount_minor, refunded_minor, needs_refund FROM payments WHERE order_id = $1 ORDER BY id",
    )
    .bind(order)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
}

/// The counted refunds of an order: (provider refund id, amount).
async fn refund_rows(app: &TestApp, order: i64) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT provider_refund_id, amount_minor FROM refunds WHERE order_id = $1 AND rail = 'yookassa' AND failed_at IS NULL ORDER BY id",
    )
    .bind(order)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
}

fn gets(fake: &FakeYookassa, path: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == path)
        .count()
}

/// An order of `qty` units paid: the payment succeeded at YooKassa and its notification came.
async fn paid_order(app: &TestApp, fake: &FakeYookassa, variant: i64, qty: i64) -> (i64, String) {
    let id = yk_order(app, variant, qty).await["id"].as_i64().unwrap();
    let pid = fake.payment_for(id)["id"].as_str().unwrap().to_string();
    let p = fake.succeed(&pid);
    assert_eq!(
        deliver(app, &fake.notification("payment.succeeded", p))
            .await
            .status,
        200
    );
    assert_eq!(status(app, id).await, "paid");
    (id, pid)
}

both_kinds!(
    order_creates_a_payment_with_the_exact_amount,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = rub_product(&app, "physical", 123_456, 5, None).await;
        let v = yk_order(&app, variant, 2).await;
        let id = v["id"].as_i64().unwrap();
        assert_eq!(v["payment_method"], "yookassa");
        let p = fake.payment_for(id);
        let pid = p["id"].as_str().unwrap();
        assert_eq!(v["checkout_url"], p["confirmation"]["confirmation_url"]);
        let body = fake.created_with(pid);
        assert_eq!(
            body["amount"],
            json!({"value": "2469.12", "currency": "RUB"})
        );
        assert_eq!(body["capture"], true);
        assert_eq!(
            body["confirmation"],
            json!({"type": "redirect", "return_url": format!("{SHOP}/orders/{id}?paid=yookassa"), "locale": "en_US"})
        );
        assert_eq!(body["metadata"], json!({"order_id": id.to_string()}));
        assert!(body["description"]
            .as_str()
            .unwrap()
            .contains(&id.to_string()));
        assert!(
            body.get("receipt").is_none(),
            "no receipt unless YOOKASSA_RECEIPTS: {body}"
        );
        let create: Vec<_> = fake
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == "/payments")
            .collect();
        assert_eq!(create.len(), 1);
        assert_eq!(create[0].status, 200);
        let key = create[0].idempotence_key.clone().unwrap();
        assert!(key.starts_with(&format!("shop-checkout-{id}-")), "{key}");
        // The payment is kept as the shop's own.
        let kept: i64 = sqlx::query_scalar(
        "SELECT order_id FROM provider_checkouts WHERE provider = 'yookassa' AND checkout_id = $1",
    )
    .bind(pid)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
        assert_eq!(kept, id);
        assert_eq!(
            (app.stock(variant).await, app.reserved(variant).await),
            (Some(3), 2)
        );

        // Other currencies are refused before any call to YooKassa, and not offered.
        let before = fake.requests().len();
        let uzs = app.variant_id("").await;
        let (s, v) = app
        .order(USER, json!({"items": [{"variant_id": uzs, "quantity": 1}], "payment_method": "yookassa", "contact": contact()}))
        .await;
        assert_eq!((s, error_code(&v)), (400, "payment_method_unfit"), "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("RUB"),
            "{v}"
        );
        assert_eq!(fake.requests().len(), before);
        // A subscription would be paid once and never renew: only Stars and Stripe renew.
        let csrf = app.admin_login().await;
        let (st, sub) = app
            .json(app.admin(Method::POST, "/api/admin/products", &csrf).json(&json!({
                "kind": "subscription",
                "title": {"en": "Tea club"},
                "variants": [{"sku": format!("YKS-{}", rand::random::<u32>()), "options": {},
                    "price": {"amount_minor": 49_900, "currency": "RUB"}}]
            })))
            .await;
        assert_eq!(st, 201, "{sub}");
        let sub = sub["variants"][0]["id"].as_i64().unwrap();
        let (s, v) = app
            .order(USER, json!({"items": [{"variant_id": sub, "quantity": 1}], "payment_method": "yookassa", "contact": contact()}))
            .await;
        assert_eq!((s, error_code(&v)), (400, "payment_method_unfit"), "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("subscriptions"),
            "{v}"
        );
        assert_eq!(fake.requests().len(), before);
        let offered = |items: Value| {
            let app = &app;
            async move {
                app.json(
                    app.as_user(Method::PUT, "/api/cart", USER)
                        .json(&json!({"items": items})),
                )
                .await;
                let (_, cart) = app.json(app.as_user(Method::GET, "/api/cart", USER)).await;
                cart["payment_methods"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("yookassa"))
            }
        };
        assert!(offered(json!([{"variant_id": variant, "quantity": 1}])).await);
        assert!(!offered(json!([{"variant_id": uzs, "quantity": 1}])).await);
    }
);

both_kinds!(succeeded_notification_fulfils_once, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = rub_product(&app, "physical", 150_000, 5, None).await;
    let id = yk_order(&app, variant, 2).await["id"].as_i64().unwrap();
    let pid = fake.payment_for(id)["id"].as_str().unwrap().to_string();
    let n = fake.notification("payment.succeeded", fake.succeed(&pid));
    // YooKassa repeats; deliveries may overlap.
    let (a, b, c) = tokio::join!(deliver(&app, &n), deliver(&app, &n), deliver(&app, &n));
    assert_eq!(
        (a.status, b.status, c.status),
        (200, 200, 200),
        "{}",
        a.text()
    );
    assert_eq!(deliver(&app, &n).await.status, 200);
    assert_eq!(status(&app, id).await, "paid");
    assert_eq!(payments(&app, id).await, vec![(pid.clone(), 300_000, 0, 0)]);
    assert_eq!(
        (app.stock(variant).await, app.reserved(variant).await),
        (Some(3), 0)
    );
    // Every one was checked with YooKassa's API.
    assert_eq!(gets(&fake, &format!("/payments/{pid}")), 4);
    let paid_events: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM order_events WHERE order_id = $1 AND kind = 'paid'",
    )
    .bind(id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(paid_events, 1);
});

both_kinds!(forged_notifications_change_nothing, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = rub_product(&app, "physical", 150_000, 10, None).await;
    let id = yk_order(&app, variant, 2).await["id"].as_i64().unwrap();
    let pending = fake.payment_for(id);
    let pid = pending["id"].as_str().unwrap().to_string();

    // A body claiming success for a payment YooKassa says is still pending.
    let mut forged = pending.clone();
    forged["status"] = json!("succeeded");
    forged["paid"] = json!(true);
    let r = deliver(
        &app,
        &fake.notification("payment.succeeded", forged.clone()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Likewise a forged cancellation.
    let mut canceled = pending.clone();
    canceled["status"] = json!("canceled");
    assert_eq!(
        deliver(&app, &fake.notification("payment.canceled", canceled))
            .await
            .status,
        200
    );
    assert_eq!(status(&app, id).await, "pending_payment");
    assert!(payments(&app, id).await.is_empty());
    assert_eq!(app.reserved(variant).await, 2);

    // A payment the shop never created: ignored without asking YooKassa.
    let mut foreign = forged.clone();
    let other = "2f3bffff-000f-5000-8000-1d6e87c7fbde";
    foreign["id"] = json!(other);
    assert_eq!(
        deliver(&app, &fake.notification("payment.succeeded", foreign))
            .await
            .status,
        200
    );
    assert_eq!(gets(&fake, &format!("/payments/{other}")), 0);
    assert_eq!(status(&app, id).await, "pending_payment");

    // Not a notification at all: 400 with the envelope; an event the shop does not use: 200.
    for body in [
        "not json",
        r#"{"type":"notification","event":"payment.succeeded"}"#,
        r#"{"event":"x","object":{"id":"1"}}"#,
    ] {
        let r = app
            .raw(
                app.client
                    .post(app.url("/webhooks/yookassa"))
                    .header("Content-Type", "application/json")
                    .body(body),
            )
            .await;
        assert_envelope(&r, 400, Some("invalid_notification"));
    }
    let r = deliver(
        &app,
        &fake.notification("payout.succeeded", json!({"id": "po-1"})),
    )
    .await;
    assert_eq!(r.status, 200);

    // YooKassa's own answer names another order: not this order's payment.
    fake.succeed(&pid);
    fake.set_order(&pid, "999999");
    assert_eq!(
        deliver(
            &app,
            &fake.notification("payment.succeeded", forged.clone())
        )
        .await
        .status,
        200
    );
    assert_eq!(status(&app, id).await, "pending_payment");
    assert!(payments(&app, id).await.is_empty());

    // YooKassa says it succeeded, for another amount: recorded to be given back, never paid.
    fake.set_order(&pid, &id.to_string());
    fake.set_amount(&pid, "1.00");
    assert_eq!(
        deliver(&app, &fake.notification("payment.succeeded", forged))
            .await
            .status,
        200
    );
    assert_eq!(status(&app, id).await, "pending_payment");
    assert_eq!(payments(&app, id).await, vec![(pid.clone(), 100, 0, 1)]);
    assert_eq!(app.reserved(variant).await, 2);
});

both_kinds!(canceled_payment_releases_the_stock, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = rub_product(&app, "physical", 150_000, 5, None).await;
    let id = yk_order(&app, variant, 2).await["id"].as_i64().unwrap();
    let pid = fake.payment_for(id)["id"].as_str().unwrap().to_string();
    let n = fake.notification(
        "payment.canceled",
        fake.cancel(&pid, "expired_on_confirmation"),
    );
    assert_eq!(deliver(&app, &n).await.status, 200);
    assert_eq!(deliver(&app, &n).await.status, 200);
    assert_eq!(status(&app, id).await, "expired");
    assert_eq!(
        (app.stock(variant).await, app.reserved(variant).await),
        (Some(5), 0)
    );

    // A declined card cancels the order; a late forged success changes nothing.
    let id2 = yk_order(&app, variant, 1).await["id"].as_i64().unwrap();
    let pid2 = fake.payment_for(id2)["id"].as_str().unwrap().to_string();
    let c = fake.cancel(&pid2, "insufficient_funds");
    assert_eq!(
        deliver(&app, &fake.notification("payment.canceled", c.clone()))
            .await
            .status,
        200
    );
    assert_eq!(status(&app, id2).await, "cancelled");
    let mut late = c;
    late["status"] = json!("succeeded");
    assert_eq!(
        deliver(&app, &fake.notification("payment.succeeded", late))
            .await
            .status,
        200
    );
    assert_eq!(status(&app, id2).await, "cancelled");
    assert!(payments(&app, id2).await.is_empty());
    assert_eq!(
        (app.stock(variant).await, app.reserved(variant).await),
        (Some(5), 0)
    );
});

both_kinds!(
    refund_answer_first_then_notification_counts_once,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = rub_product(&app, "physical", 150_000, 5, None).await;
        let (id, pid) = paid_order(&app, &fake, variant, 2).await;
        let pay_id: i64 = sqlx::query_scalar("SELECT id FROM payments WHERE order_id = $1")
            .bind(id)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        let csrf = app.admin_login().await;
        let (s, v) = app
            .admin_refund(&csrf, id, json!({"amount_minor": 50_000}))
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "paid");
        let made = fake.refunds_of(&pid);
        assert_eq!(made.len(), 1);
        let rid = made[0]["id"].as_str().unwrap().to_string();
        assert_eq!(
            fake.refund_body(&rid),
            json!({"payment_id": pid, "amount": {"value": "500.00", "currency": "RUB"},
               "description": format!("Order {id}"), "metadata": {"order_id": id.to_string()}})
        );
        let key = fake
            .requests()
            .into_iter()
            .find(|r| r.path == "/refunds")
            .and_then(|r| r.idempotence_key)
            .unwrap();
        assert_eq!(key, format!("shop-refund-{pay_id}-0-50000"));
        // The notification of the same refund, twice: counted once.
        let n = fake.notification("refund.succeeded", made[0].clone());
        assert_eq!(deliver(&app, &n).await.status, 200);
        assert_eq!(deliver(&app, &n).await.status, 200);
        assert_eq!(refund_rows(&app, id).await, vec![(rid.clone(), 50_000)]);
        assert_eq!(payments(&app, id).await[0].2, 50_000);

        // The rest: refunded in full.
        let (s, v) = app.admin_refund(&csrf, id, json!({})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "refunded");
        assert_eq!(fake.refunded(&pid), 300_000);
        let last = fake.refunds_of(&pid)[1].clone();
        assert_eq!(last["amount"]["value"], "2500.00");
        assert_eq!(
            deliver(&app, &fake.notification("refund.succeeded", last))
                .await
                .status,
            200
        );
        assert_eq!(refund_rows(&app, id).await.len(), 2);
        assert_eq!(payments(&app, id).await[0].2, 300_000);
        let (s, v) = app.admin_refund(&csrf, id, json!({})).await;
        assert_eq!((s, error_code(&v)), (409, "already_refunded"));

        // A refund of a payment the shop does not have: ignored without asking YooKassa.
        let stranger = json!({"id": "2f3cffff-0015-5000-9000-000000000001", "payment_id": "2f3bffff-000f-5000-8000-000000000001",
        "status": "succeeded", "amount": {"value": "1.00", "currency": "RUB"}});
        assert_eq!(
            deliver(&app, &fake.notification("refund.succeeded", stranger))
                .await
                .status,
            200
        );
        assert_eq!(
            gets(&fake, "/refunds/2f3cffff-0015-5000-9000-000000000001"),
            0
        );
    }
);

both_kinds!(refund_notification_first_counts_once, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = rub_product(&app, "physical", 150_000, 5, None).await;
    let (id, pid) = paid_order(&app, &fake, variant, 2).await;
    // YooKassa notifies before it answers the refund call.
    let (base, client) = (app.base.clone(), app.client.clone());
    fake.before_refund_answer(move |refund: Value| {
        let (base, client) = (base.clone(), client.clone());
        async move {
            let n = json!({"type": "notification", "event": "refund.succeeded", "object": refund});
            let r = client
                .post(format!("{base}/webhooks/yookassa"))
                .json(&n)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
    });
    let csrf = app.admin_login().await;
    let (s, v) = app
        .admin_refund(&csrf, id, json!({"amount_minor": 100_000}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "paid");
    assert_eq!(refund_rows(&app, id).await.len(), 1);
    assert_eq!(payments(&app, id).await[0].2, 100_000);
    let (s, v) = app.admin_refund(&csrf, id, json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "refunded");
    let rows = refund_rows(&app, id).await;
    assert_eq!(
        rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        vec![100_000, 200_000]
    );
    assert_eq!(payments(&app, id).await[0].2, 300_000);
    assert_eq!(fake.refunded(&pid), 300_000);
});

both_kinds!(pending_and_canceled_refunds, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = rub_product(&app, "physical", 150_000, 5, None).await;
    let (id, pid) = paid_order(&app, &fake, variant, 1).await;
    fake.refunds_pending(true);
    let csrf = app.admin_login().await;
    // Pending: nothing counted until YooKassa says it succeeded.
    let (s, v) = app.admin_refund(&csrf, id, json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "paid");
    assert!(refund_rows(&app, id).await.is_empty());
    // The admin's order: the payment as YooKassa has it, no refund counted, one pending.
    let o = app.admin_order(&csrf, id).await;
    assert_eq!(
        o["payments"],
        json!([{"rail": "yookassa", "provider_payment_id": pid, "amount": {"amount_minor": 150_000, "currency": "RUB"},
                "refunded_minor": 0, "needs_refund": false, "created_at": o["payments"][0]["created_at"]}])
    );
    assert!(o.get("refunds").is_none(), "{o}");
    assert_eq!(
        o["events"].as_array().unwrap().last().unwrap()["kind"],
        "refund_pending"
    );
    let r1 = fake.refunds_of(&pid)[0].clone();
    // A forged success for the still pending refund changes nothing.
    let mut forged = r1.clone();
    forged["status"] = json!("succeeded");
    assert_eq!(
        deliver(&app, &fake.notification("refund.succeeded", forged))
            .await
            .status,
        200
    );
    assert!(refund_rows(&app, id).await.is_empty());
    // YooKassa cancels it: on record as failed, so the next try is a new refund (new key).
    let c = fake.settle_refund(r1["id"].as_str().unwrap(), "canceled");
    assert_eq!(
        deliver(&app, &fake.notification("refund.succeeded", c))
            .await
            .status,
        200
    );
    assert!(refund_rows(&app, id).await.is_empty());
    assert_eq!(status(&app, id).await, "paid");
    let (s, v) = app.admin_refund(&csrf, id, json!({})).await;
    assert_eq!(s, 200, "{v}");
    let keys: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/refunds")
        .filter_map(|r| r.idempotence_key)
        .collect();
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], keys[1]);
    // The failure on record and the canceled refund at YooKassa both make it a new refund.
    assert_eq!(keys[1], format!("{}-retry1-c1", keys[0]));
    let r2 = fake.refunds_of(&pid)[1].clone();
    let done = fake.settle_refund(r2["id"].as_str().unwrap(), "succeeded");
    let n = fake.notification("refund.succeeded", done);
    assert_eq!(deliver(&app, &n).await.status, 200);
    assert_eq!(deliver(&app, &n).await.status, 200);
    assert_eq!(status(&app, id).await, "refunded");
    assert_eq!(refund_rows(&app, id).await.len(), 1);
    assert_eq!(payments(&app, id).await[0].2, 150_000);
    // The admin's order lists both refunds: the canceled one failed, the second succeeded.
    let o = app.admin_order(&csrf, id).await;
    let refunds = o["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 2, "{o}");
    assert_eq!(refunds[0]["provider_refund_id"], r1["id"]);
    assert!(refunds[0]["failed_at"].is_i64(), "{o}");
    assert_eq!(refunds[1]["provider_refund_id"], r2["id"]);
    assert!(refunds[1].get("failed_at").is_none(), "{o}");
    for r in refunds {
        assert_eq!(r["rail"], "yookassa");
        assert_eq!(r["manual"], false);
        assert_eq!(
            r["amount"],
            json!({"amount_minor": 150_000, "currency": "RUB"})
        );
    }
    assert_eq!(o["payments"][0]["refunded_minor"], 150_000);
    // The customer's order carries none of it.
    let (_, mine) = app
        .json(app.as_user(Method::GET, &format!("/api/orders/{id}"), USER))
        .await;
    for k in ["payments", "refunds", "ton_transfers"] {
        assert!(mine.get(k).is_none(), "{k} in {mine}");
    }
});

both_kinds!(receipts_when_turned_on, |kind| async move {
    let Some((app, fake)) = start_with(kind, &[("YOOKASSA_RECEIPTS", "1")]).await else {
        return;
    };
    let samovar = rub_product(&app, "physical", 150_000, 5, Some(20)).await;
    let ebook = rub_product(&app, "digital", 49_900, 5, None).await;
    // A digital order needs no delivery contact, but a receipt needs an email or phone: refused
    // before anything is reserved or sent to YooKassa.
    let (s, v) = app
        .order(
            USER,
            json!({"items": [{"variant_id": ebook, "quantity": 1}], "payment_method": "yookassa"}),
        )
        .await;
    assert_eq!((s, error_code(&v)), (400, "contact_required"), "{v}");
    assert_eq!(v["error"]["field"], "contact.email", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("email"),
        "{v}"
    );
    assert_eq!(app.reserved(ebook).await, 0);
    assert!(fake.requests().is_empty());
    // An email alone is enough for it.
    let (s, v) = app
        .order(USER, json!({"items": [{"variant_id": ebook, "quantity": 1}], "payment_method": "yookassa", "contact": {"email": "reader@example.ru"}}))
        .await;
    assert_eq!(s, 201, "{v}");
    let body = fake.created_with(
        fake.payment_for(v["id"].as_i64().unwrap())["id"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        body["receipt"],
        json!({"customer": {"email": "reader@example.ru"}, "items": [{
            "description": "Samovar", "quantity": 1, "amount": {"value": "499.00", "currency": "RUB"},
            "vat_code": 1, "payment_subject": "service", "payment_mode": "full_payment"}]})
    );

    let (id, pid) = paid_order(&app, &fake, samovar, 2).await;
    let body = fake.created_with(&pid);
    assert_eq!(body["amount"]["value"], "3000.00");
    assert_eq!(
        body["receipt"],
        json!({"customer": {"email": "ivan@example.ru"}, "items": [{
            "description": "Samovar", "quantity": 2, "amount": {"value": "1500.00", "currency": "RUB"},
            "vat_code": 4, "payment_subject": "commodity", "payment_mode": "full_prepayment"}]})
    );
    // Refunds carry their own receipt (the fake refuses one without, as YooKassa does).
    let csrf = app.admin_login().await;
    let (s, v) = app
        .admin_refund(&csrf, id, json!({"amount_minor": 50_000}))
        .await;
    assert_eq!(s, 200, "{v}");
    let r = fake.refunds_of(&pid)[0].clone();
    let rb = fake.refund_body(r["id"].as_str().unwrap());
    assert_eq!(rb["receipt"]["items"][0]["amount"]["value"], "500.00");
    assert_eq!(rb["receipt"]["items"][0]["quantity"], 1);
    assert_eq!(rb["receipt"]["items"][0]["vat_code"], 4);
    assert_eq!(
        rb["receipt"]["customer"],
        json!({"email": "ivan@example.ru"})
    );
    let (s, v) = app.admin_refund(&csrf, id, json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "refunded");

    // A phone is used when there is no email, as digits.
    let (s, v) = app
        .order(USER, json!({"items": [{"variant_id": ebook, "quantity": 1}], "payment_method": "yookassa", "contact": {"phone": "+7 900 123-45-67"}}))
        .await;
    assert_eq!(s, 201, "{v}");
    let body = fake.created_with(
        fake.payment_for(v["id"].as_i64().unwrap())["id"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(body["receipt"]["customer"], json!({"phone": "79001234567"}));
});

both_kinds!(
    a_lost_answer_is_retried_with_the_same_key,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = rub_product(&app, "physical", 150_000, 5, None).await;
        // YooKassa makes the payment but its answer is a 500 (result unknown): the retry with the
        // same key gets that payment, and no second one exists.
        fake.fail_next(1);
        let v = yk_order(&app, variant, 1).await;
        let id = v["id"].as_i64().unwrap();
        let posts: Vec<_> = fake
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == "/payments")
            .collect();
        assert_eq!(
            posts.iter().map(|r| r.status).collect::<Vec<_>>(),
            vec![500, 200]
        );
        assert_eq!(posts[0].idempotence_key, posts[1].idempotence_key);
        assert_eq!(fake.inner.lock().unwrap().payments.len(), 1);
        assert_eq!(
            v["checkout_url"],
            fake.payment_for(id)["confirmation"]["confirmation_url"]
        );

        // Same for a refund: one refund at YooKassa, counted once.
        let pid = fake.payment_for(id)["id"].as_str().unwrap().to_string();
        let n = fake.notification("payment.succeeded", fake.succeed(&pid));
        assert_eq!(deliver(&app, &n).await.status, 200);
        fake.fail_next(1);
        let csrf = app.admin_login().await;
        let (s, v) = app.admin_refund(&csrf, id, json!({})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "refunded");
        assert_eq!(fake.refunds_of(&pid).len(), 1);
        assert_eq!(refund_rows(&app, id).await.len(), 1);

        // A contact email that is not one is refused before anything is reserved.
        let (s, v) = app
        .order(USER, json!({"items": [{"variant_id": variant, "quantity": 1}], "payment_method": "yookassa",
            "contact": {"name": "Ivan Petrov", "phone": "+7 900 123-45-67", "address": "Moscow, Tverskaya 1", "email": "ivan at example"}}))
        .await;
        assert_eq!((s, error_code(&v)), (400, "invalid_email"), "{v}");
        assert_eq!(v["error"]["field"], "contact.email");
    }
);

both_kinds!(
    a_refund_yookassa_cancels_can_be_tried_again,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = rub_product(&app, "physical", 150_000, 5, None).await;
        let (id, pid) = paid_order(&app, &fake, variant, 1).await;
        let csrf = app.admin_login().await;
        // YooKassa cancels the refund at once: the merchant is told, nothing is counted.
        fake.inner.lock().unwrap().cancel_refunds = true;
        let (s, v) = app.admin_refund(&csrf, id, json!({})).await;
        assert_eq!((s, error_code(&v)), (409, "refund_refused"), "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("insufficient_funds"),
            "{v}"
        );
        assert!(refund_rows(&app, id).await.is_empty());
        assert_eq!(status(&app, id).await, "paid");
        // Once the balance is topped up, the next try is a new refund, not the canceled one again.
        fake.inner.lock().unwrap().cancel_refunds = false;
        let (s, v) = app.admin_refund(&csrf, id, json!({})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "refunded");
        let keys: Vec<String> = fake
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == "/refunds")
            .filter_map(|r| r.idempotence_key)
            .collect();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1], format!("{}-c1", keys[0]));
        let made = fake.refunds_of(&pid);
        assert_eq!(
            made.iter()
                .map(|r| r["status"].as_str().unwrap())
                .collect::<Vec<_>>(),
            vec!["canceled", "succeeded"]
        );
        assert_eq!(refund_rows(&app, id).await.len(), 1);
    }
);

both_kinds!(an_outage_makes_yookassa_deliver_again, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = rub_product(&app, "physical", 150_000, 5, None).await;
    let id = yk_order(&app, variant, 1).await["id"].as_i64().unwrap();
    let pid = fake.payment_for(id)["id"].as_str().unwrap().to_string();
    let n = fake.notification("payment.succeeded", fake.succeed(&pid));
    // YooKassa's API is down: the shop cannot check the payment, so it answers 5xx and
    // YooKassa delivers the notification again later.
    fake.inner.lock().unwrap().down = true;
    let r = deliver(&app, &n).await;
    assert_envelope(&r, 502, Some("provider_unavailable"));
    assert!(!r.text().contains(fake_yookassa::SECRET_KEY));
    assert_eq!(status(&app, id).await, "pending_payment");
    fake.inner.lock().unwrap().down = false;
    assert_eq!(deliver(&app, &n).await.status, 200);
    assert_eq!(status(&app, id).await, "paid");
    assert_eq!(payments(&app, id).await.len(), 1);
});

both_kinds!(
    with_the_source_check_only_yookassa_s_addresses_are_heard,
    |kind| async move {
        let Some((app, fake)) = start_with(
            kind,
            &[
                ("YOOKASSA_CHECK_SOURCE", "1"),
                ("TRUSTED_PROXIES", "127.0.0.1"),
                ("METRICS_TOKEN", "yk-metrics"),
            ],
        )
        .await
        else {
            return;
        };
        let variant = rub_product(&app, "physical", 150_000, 5, None).await;
        let id = yk_order(&app, variant, 1).await["id"].as_i64().unwrap();
        let pid = fake.payment_for(id)["id"].as_str().unwrap().to_string();
        let n = fake.notification("payment.succeeded", fake.succeed(&pid));
        let calls = fake.requests().len();

        // Forwarded by the trusted proxy for an address outside YooKassa's networks.
        let r = deliver_from(&app, &n, "203.0.113.9").await;
        refused_for_source(&r, &fake, calls);
        // Just outside 185.71.76.0/27.
        let r = deliver_from(&app, &n, "185.71.76.32").await;
        refused_for_source(&r, &fake, calls);
        // A client that wrote YooKassa's address itself: the proxy appended the real one.
        let r = deliver_from(&app, &n, "185.71.76.7, 203.0.113.9").await;
        refused_for_source(&r, &fake, calls);
        // Straight from the proxy itself, naming nobody: the proxy is not YooKassa.
        let r = deliver(&app, &n).await;
        refused_for_source(&r, &fake, calls);
        assert_eq!(status(&app, id).await, "pending_payment");

        // Each refusal is counted with its reason.
        let m = app
            .raw(
                app.get("/metrics")
                    .header("Authorization", "Bearer yk-metrics"),
            )
            .await;
        assert_eq!(m.status, 200);
        assert!(
            m.text().contains(
                "shop_webhook_rejections_total{rail=\"yookassa\",reason=\"source_not_allowed\"}"
            ),
            "{}",
            m.text()
        );

        // From YooKassa (through the proxy, behind a client-written hop the proxy appended
        // to): heard, and still read back from the API before it pays.
        let r = deliver_from(&app, &n, "1.1.1.1, 185.71.76.7").await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(gets(&fake, &format!("/payments/{pid}")), 1);
        assert_eq!(status(&app, id).await, "paid");
        // YooKassa's IPv6 network is on the list too.
        let r = deliver_from(&app, &n, "2a02:5180:0:1509::12").await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(gets(&fake, &format!("/payments/{pid}")), 2);
        assert_eq!(payments(&app, id).await.len(), 1);
    }
);

both_kinds!(
    a_forged_forwarded_for_from_an_untrusted_peer_is_refused,
    |kind| async move {
        // The shop trusts no proxy: the TCP peer (127.0.0.1) is the client, whatever the
        // headers claim.
        let Some((app, fake)) = start_with(kind, &[("YOOKASSA_CHECK_SOURCE", "1")]).await else {
            return;
        };
        let variant = rub_product(&app, "physical", 150_000, 5, None).await;
        let id = yk_order(&app, variant, 1).await["id"].as_i64().unwrap();
        let pid = fake.payment_for(id)["id"].as_str().unwrap().to_string();
        let n = fake.notification("payment.succeeded", fake.succeed(&pid));
        let calls = fake.requests().len();
        let r = deliver_from(&app, &n, "185.71.76.7").await;
        refused_for_source(&r, &fake, calls);
        let r = app
            .raw(
                app.client
                    .post(app.url("/webhooks/yookassa"))
                    .header("Content-Type", "application/json")
                    .header("Forwarded", "for=185.71.76.7;proto=https")
                    .body(n.to_string()),
            )
            .await;
        refused_for_source(&r, &fake, calls);
        assert_eq!(status(&app, id).await, "pending_payment");
    }
);

both_kinds!(
    allowed_sources_replace_the_list_and_the_check_is_off_by_default,
    |kind| async move {
        // YOOKASSA_ALLOWED_SOURCES replaces the published list (YooKassa moved).
        let Some((app, fake)) = start_with(
            kind,
            &[
                ("YOOKASSA_CHECK_SOURCE", "1"),
                ("YOOKASSA_ALLOWED_SOURCES", "203.0.113.0/24, 2001:db8::5"),
                ("TRUSTED_PROXIES", "127.0.0.1"),
            ],
        )
        .await
        else {
            return;
        };
        let variant = rub_product(&app, "physical", 150_000, 5, None).await;
        let id = yk_order(&app, variant, 1).await["id"].as_i64().unwrap();
        let pid = fake.payment_for(id)["id"].as_str().unwrap().to_string();
        let n = fake.notification("payment.succeeded", fake.succeed(&pid));
        let calls = fake.requests().len();
        let r = deliver_from(&app, &n, "185.71.76.7").await;
        refused_for_source(&r, &fake, calls);
        let r = deliver_from(&app, &n, "2001:db8::6").await;
        refused_for_source(&r, &fake, calls);
        let r = deliver_from(&app, &n, "203.0.113.200").await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(status(&app, id).await, "paid");
        drop(app);

        // Without YOOKASSA_CHECK_SOURCE any address is heard (and read back from the API).
        let Some((app, fake)) = start_with(kind, &[("TRUSTED_PROXIES", "127.0.0.1")]).await else {
            return;
        };
        let variant = rub_product(&app, "physical", 150_000, 5, None).await;
        let id = yk_order(&app, variant, 1).await["id"].as_i64().unwrap();
        let pid = fake.payment_for(id)["id"].as_str().unwrap().to_string();
        let n = fake.notification("payment.succeeded", fake.succeed(&pid));
        let r = deliver_from(&app, &n, "203.0.113.9").await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(gets(&fake, &format!("/payments/{pid}")), 1);
        assert_eq!(status(&app, id).await, "paid");
    }
);
