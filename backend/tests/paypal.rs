//! PayPal Orders v2 end to end against a local fake of PayPal's API, on both databases.

mod common;
#[path = "support/fake_paypal.rs"]
mod fake_paypal;

use common::*;
use fake_paypal::FakePaypal;
use reqwest::Method;
use serde_json::{json, Value};

const USER: i64 = 5151;

async fn start(kind: Kind) -> Option<(TestApp, FakePaypal)> {
    let fake = FakePaypal::start().await;
    let env = fake.env();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn(kind, &pairs).await?;
    Some((app, fake))
}

async fn usd_product(app: &TestApp, price_minor: i64, stock: i64) -> i64 {
    let csrf = app.admin_login().await;
    let sku = format!("LAMP-{}", rand::random::<u32>());
    let (s, v) = app
        .json(app.admin(Method::POST, "/api/admin/products", &csrf).json(&json!({
            "kind": "physical",
            "title": {"en": "Desk lamp"},
            "variants": [{"sku": sku, "options": {}, "price": {"amount_minor": price_minor, "currency": "USD"}, "stock": stock}]
        })))
        .await;
    assert_eq!(s, 201, "{v}");
    v["variants"][0]["id"].as_i64().unwrap()
}

async fn paypal_order(app: &TestApp, variant: i64, qty: i64) -> i64 {
    let (s, v) = app
        .order(
            USER,
            json!({"items": [{"variant_id": variant, "quantity": qty}], "payment_method": "paypal", "contact": contact()}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_i64().unwrap()
}

/// The buyer's browser coming back from PayPal (redirects not followed).
async fn come_back(app: &TestApp, order: i64, token: &str) -> (u16, String) {
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = c
        .get(app.url(&format!(
            "/payments/paypal/return?order={order}&token={token}&PayerID=FAKEPAYER1"
        )))
        .send()
        .await
        .unwrap();
    let loc = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status().as_u16(), loc)
}

async fn deliver(app: &TestApp, (raw, headers): &(String, Vec<(String, String)>)) -> Raw {
    let mut rb = app
        .client
        .post(app.url("/webhooks/paypal"))
        .header("Content-Type", "application/json")
        .body(raw.clone());
    for (k, v) in headers {
        rb = rb.header(k, v);
    }
    app.raw(rb).await
}

async fn status(app: &TestApp, order: i64) -> String {
    let (s, v) = app
        .json(app.as_user(Method::GET, &format!("/api/orders/{order}"), USER))
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

fn captures(fake: &FakePaypal) -> Vec<Option<String>> {
    fake.requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/capture"))
        .map(|r| r.request_id)
        .collect()
}

both_kinds!(order_creates_a_paypal_order, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = usd_product(&app, 1250, 5).await;
    let (s, v) = app
        .order(USER, json!({"items": [{"variant_id": variant, "quantity": 2}], "payment_method": "paypal", "contact": contact()}))
        .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let pp = fake.order_for(id);
    assert_eq!(
        v["checkout_url"].as_str().unwrap(),
        format!(
            "https://www.sandbox.paypal.test/checkoutnow?token={}",
            pp.id
        )
    );
    let unit = &pp.body["purchase_units"][0];
    assert_eq!(
        unit["amount"],
        json!({"currency_code": "USD", "value": "25.00"})
    );
    assert_eq!(unit["custom_id"], id.to_string());
    assert!(unit["invoice_id"]
        .as_str()
        .unwrap()
        .contains(&id.to_string()));
    let ctx = &pp.body["payment_source"]["paypal"]["experience_context"];
    assert_eq!(
        ctx["return_url"],
        format!("http://127.0.0.1:8080/payments/paypal/return?order={id}")
    );
    assert!(ctx["cancel_url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:8080/payments/paypal/cancel"));
    let create = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/v2/checkout/orders")
        .unwrap();
    assert!(create.request_id.unwrap().contains(&id.to_string()));

    // A second order reuses the cached token.
    paypal_order(&app, variant, 1).await;
    assert_eq!(fake.inner.lock().unwrap().tokens_issued, 1);

    // UZS is refused before any call; USD carts offer PayPal.
    let before = fake.requests().len();
    let (s, v) = app
        .order(USER, json!({"items": [{"variant_id": app.variant_id("").await, "quantity": 1}], "payment_method": "paypal", "contact": contact()}))
        .await;
    assert_eq!((s, error_code(&v)), (400, "payment_method_unfit"), "{v}");
    assert_eq!(fake.requests().len(), before);
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
            .contains(&json!("paypal")),
        "{cart}"
    );
});

both_kinds!(return_captures_and_pays_once, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = usd_product(&app, 1250, 5).await;
    let id = paypal_order(&app, variant, 2).await;
    let token = fake.approve(id);
    let (s, loc) = come_back(&app, id, &token).await;
    assert_eq!(s, 303);
    assert_eq!(
        loc,
        format!("http://127.0.0.1:8080/orders/{id}?paid=paypal")
    );
    assert_eq!(status(&app, id).await, "paid");
    assert_eq!(
        (app.stock(variant).await, app.reserved(variant).await),
        (Some(3), 0)
    );
    let cap = fake.capture_of(id);
    assert_eq!(
        payments(&app, id).await,
        vec![(cap["id"].as_str().unwrap().to_string(), 2500, 0, 0)]
    );

    // The buyer reloads the page; then PayPal's own notification comes, twice.
    let (s, _) = come_back(&app, id, &token).await;
    assert_eq!(s, 303);
    let ev = fake.capture_event("PAYMENT.CAPTURE.COMPLETED", cap.clone());
    assert_eq!(deliver(&app, &ev).await.status, 200);
    assert_eq!(deliver(&app, &ev).await.status, 200);
    assert_eq!(payments(&app, id).await.len(), 1);
    let ids = captures(&fake);
    assert_eq!(ids.len(), 2);
    assert!(ids[0].is_some() && ids[0] == ids[1], "{ids:?}");
    assert_eq!(
        (app.stock(variant).await, app.reserved(variant).await),
        (Some(3), 0)
    );
});

both_kinds!(capture_racing_the_webhook_pays_once, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = usd_product(&app, 700, 10).await;
    let id = paypal_order(&app, variant, 1).await;
    let token = fake.approve(id);
    let approved = fake.approved_event(id);
    let (a, b, c) = tokio::join!(
        come_back(&app, id, &token),
        deliver(&app, &approved),
        come_back(&app, id, &token)
    );
    assert_eq!((a.0, b.status, c.0), (303, 200, 303), "{}", b.text());
    assert_eq!(status(&app, id).await, "paid");
    let completed = fake.capture_event("PAYMENT.CAPTURE.COMPLETED", fake.capture_of(id));
    assert_eq!(deliver(&app, &completed).await.status, 200);
    assert_eq!(payments(&app, id).await.len(), 1);
    assert_eq!(
        (app.stock(variant).await, app.reserved(variant).await),
        (Some(9), 0)
    );

    // The webhook first this time: the capture is completed, then the buyer returns to an
    // order captured under another request id (ORDER_ALREADY_CAPTURED).
    let id2 = paypal_order(&app, variant, 1).await;
    let token2 = fake.approve(id2);
    fake.capture_elsewhere(id2);
    let ev = fake.capture_event("PAYMENT.CAPTURE.COMPLETED", fake.capture_of(id2));
    assert_eq!(deliver(&app, &ev).await.status, 200);
    let (s, loc) = come_back(&app, id2, &token2).await;
    assert_eq!((s, loc.ends_with("?paid=paypal")), (303, true), "{loc}");
    assert_eq!(status(&app, id2).await, "paid");
    assert_eq!(payments(&app, id2).await.len(), 1);
    assert_eq!(app.stock(variant).await, Some(8));
});

both_kinds!(webhooks_are_verified_with_paypal, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = usd_product(&app, 1000, 5).await;
    let id = paypal_order(&app, variant, 1).await;
    fake.approve(id);
    fake.capture_elsewhere(id);
    let cap = fake.capture_of(id);
    let (raw, headers) = fake.capture_event("PAYMENT.CAPTURE.COMPLETED", cap.clone());

    // The same headers over a changed body, over a re-serialised body, and no headers.
    let tampered = raw.replace("10.00", "1.00");
    assert_envelope(
        &deliver(&app, &(tampered, headers.clone())).await,
        400,
        Some("invalid_signature"),
    );
    let compact = serde_json::to_string(&serde_json::from_str::<Value>(&raw).unwrap()).unwrap();
    assert_envelope(
        &deliver(&app, &(compact, headers.clone())).await,
        400,
        Some("invalid_signature"),
    );
    let r = app
        .raw(
            app.client
                .post(app.url("/webhooks/paypal"))
                .header("Content-Type", "application/json")
                .body(raw.clone()),
        )
        .await;
    assert_envelope(&r, 400, Some("invalid_signature"));
    // Headers PayPal never sent.
    let mut forged = headers.clone();
    forged[2].1 = "tx-forged".into();
    assert_envelope(
        &deliver(&app, &(raw.clone(), forged)).await,
        400,
        Some("invalid_signature"),
    );
    assert_eq!(status(&app, id).await, "pending_payment");
    assert!(payments(&app, id).await.is_empty());

    assert_eq!(deliver(&app, &(raw, headers)).await.status, 200);
    assert_eq!(status(&app, id).await, "paid");

    // A mismatched amount is recorded for refund, never paid.
    let id2 = paypal_order(&app, variant, 1).await;
    let mut cheap = cap.clone();
    cheap["id"] = json!("3CCHEAP000000001");
    cheap["custom_id"] = json!(id2.to_string());
    cheap["supplementary_data"]["related_ids"]["order_id"] = json!(fake.order_for(id2).id);
    cheap["amount"]["value"] = json!("1.00");
    let ev = fake.capture_event("PAYMENT.CAPTURE.COMPLETED", cheap);
    assert_eq!(deliver(&app, &ev).await.status, 200);
    assert_eq!(status(&app, id2).await, "pending_payment");
    assert_eq!(payments(&app, id2).await[0].3, 1);
});

both_kinds!(
    only_paypal_orders_the_shop_created_are_captured,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = usd_product(&app, 1000, 5).await;
        let id = paypal_order(&app, variant, 1).await;
        let token = fake.approve(id);
        let id2 = paypal_order(&app, variant, 1).await;
        let token2 = fake.approve(id2);
        let foreign = fake.foreign_order(id);

        // The return route with a token the shop did not issue for this order: refused with no
        // call to PayPal (a made-up one, another order's, another integration's).
        for t in ["5OMADEUP0000001", token2.as_str(), foreign.as_str()] {
            let r = app
                .raw(app.get(&format!("/payments/paypal/return?order={id}&token={t}")))
                .await;
            assert_envelope(&r, 400, Some("unknown_paypal_order"));
        }
        assert_eq!(fake.calls("/capture"), 0);

        // PayPal's verified notifications about the foreign order: no capture, no effect,
        // although its custom_id names our order.
        let r = deliver(&app, &fake.approved_event_of(&foreign)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(fake.calls("/capture"), 0);
        let cap = fake.capture_order(&foreign);
        assert_eq!(cap["custom_id"], id.to_string());
        let mut denied = cap.clone();
        denied["status"] = json!("DECLINED");
        for ev in [
            fake.capture_event("PAYMENT.CAPTURE.DENIED", denied),
            fake.capture_event("PAYMENT.CAPTURE.COMPLETED", cap),
        ] {
            assert_eq!(deliver(&app, &ev).await.status, 200);
            assert_eq!(status(&app, id).await, "pending_payment");
            assert!(payments(&app, id).await.is_empty());
        }
        assert_eq!(app.reserved(variant).await, 2);

        // The buyer's own return captures their own PayPal order, once.
        let (s, loc) = come_back(&app, id, &token).await;
        assert_eq!((s, loc.ends_with("?paid=paypal")), (303, true), "{loc}");
        assert_eq!(fake.calls("/capture"), 1);
        assert_eq!(status(&app, id).await, "paid");
        assert_eq!(status(&app, id2).await, "pending_payment");
    }
);

both_kinds!(
    webhook_headers_are_checked_before_asking_paypal,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = usd_product(&app, 1000, 5).await;
        let id = paypal_order(&app, variant, 1).await;
        fake.approve(id);
        fake.capture_elsewhere(id);
        let (raw, headers) = fake.capture_event("PAYMENT.CAPTURE.COMPLETED", fake.capture_of(id));
        let hour_ago = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
        let rfc = |t: time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        // (header index, value): 0 auth algo, 1 cert URL, 2 transmission id, 4 time.
        let cases: Vec<(usize, String)> = vec![
            (0, "none".into()),
            (
                1,
                "http://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-1".into(),
            ),
            (
                1,
                "https://attacker.example/v1/notifications/certs/CERT-1".into(),
            ),
            (
                1,
                "https://api-m.sandbox.paypal.com.attacker.example/certs/CERT-1".into(),
            ),
            (2, "x".repeat(500)),
            (4, rfc(hour_ago)),
            (4, rfc(hour_ago + time::Duration::days(1))),
            (4, "yesterday".into()),
        ];
        for (i, v) in cases {
            let mut h = headers.clone();
            h[i].1 = v.clone();
            let r = deliver(&app, &(raw.clone(), h)).await;
            assert_envelope(&r, 400, Some("invalid_signature"));
        }
        assert_eq!(
            fake.calls("/verify-webhook-signature"),
            0,
            "PayPal was not asked"
        );
        assert_eq!(status(&app, id).await, "pending_payment");

        // PayPal's own headers pass, and PayPal is asked once.
        assert_eq!(deliver(&app, &(raw, headers)).await.status, 200);
        assert_eq!(fake.calls("/verify-webhook-signature"), 1);
        assert_eq!(status(&app, id).await, "paid");
    }
);

both_kinds!(token_is_cached_and_renewed_once_on_401, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = usd_product(&app, 1000, 10).await;
    paypal_order(&app, variant, 1).await;
    paypal_order(&app, variant, 1).await;
    assert_eq!(fake.inner.lock().unwrap().tokens_issued, 1);
    fake.revoke_tokens();
    paypal_order(&app, variant, 1).await;
    assert_eq!(fake.inner.lock().unwrap().tokens_issued, 2);
    let unauthorized = fake.requests().iter().filter(|r| r.status == 401).count();
    assert_eq!(unauthorized, 1);
});

both_kinds!(refunds_through_the_capture, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = usd_product(&app, 2000, 5).await;
    let id = paypal_order(&app, variant, 1).await;
    let token = fake.approve(id);
    come_back(&app, id, &token).await;
    let cap_id = payments(&app, id).await[0].0.clone();
    let csrf = app.admin_login().await;
    let refund = |body: Value| app.admin_refund(&csrf, id, body);
    let (s, v) = refund(json!({"amount_minor": 500})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "paid");
    assert_eq!(fake.refunded(&cap_id), 500);
    // PayPal's notification of it adds nothing; redelivered, still nothing.
    let ev = fake.refund_event(&cap_id, 500);
    assert_eq!(deliver(&app, &ev).await.status, 200);
    assert_eq!(deliver(&app, &ev).await.status, 200);
    assert_eq!(payments(&app, id).await[0].2, 500);

    let (s, v) = refund(json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "refunded");
    assert_eq!(fake.refunded(&cap_id), 2000);
    let (s, v) = refund(json!({})).await;
    assert_eq!((s, error_code(&v)), (409, "already_refunded"));
    assert_eq!(
        deliver(&app, &fake.refund_event(&cap_id, 1500))
            .await
            .status,
        200
    );
    assert_eq!(payments(&app, id).await[0].2, 2000);
    assert_eq!(fake.refunded(&cap_id), 2000);
});

both_kinds!(pending_denied_cancelled_and_outage, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = usd_product(&app, 1000, 5).await;
    // Pending capture: the buyer is told to wait; the denial then releases the stock.
    fake.set_capture_status("PENDING");
    let id = paypal_order(&app, variant, 2).await;
    let token = fake.approve(id);
    let (s, loc) = come_back(&app, id, &token).await;
    assert_eq!((s, loc.ends_with("?pending=paypal")), (303, true), "{loc}");
    assert_eq!(status(&app, id).await, "pending_payment");
    let mut denied = fake.capture_of(id);
    denied["status"] = json!("DECLINED");
    assert_eq!(
        deliver(&app, &fake.capture_event("PAYMENT.CAPTURE.DENIED", denied))
            .await
            .status,
        200
    );
    assert_eq!(status(&app, id).await, "cancelled");
    assert_eq!(
        (app.stock(variant).await, app.reserved(variant).await),
        (Some(5), 0)
    );

    // Cancel at PayPal: back to the cart, reservation kept.
    let id2 = paypal_order(&app, variant, 1).await;
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = c
        .get(app.url(&format!("/payments/paypal/cancel?order={id2}&token=X")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("http://127.0.0.1:8080/cart"));
    assert_eq!(status(&app, id2).await, "pending_payment");
    assert_eq!(app.reserved(variant).await, 1);

    // PayPal down: 502, the order kept; the retry with the same key gets its checkout.
    fake.fail_next(3);
    let body = json!({"items": [{"variant_id": variant, "quantity": 1}], "payment_method": "paypal", "contact": contact()});
    let send = || {
        app.raw(
            app.as_user(Method::POST, "/api/orders", USER)
                .header("Idempotency-Key", "pp-1")
                .json(&body),
        )
    };
    assert_envelope(&send().await, 502, Some("provider_unavailable"));
    assert_eq!(app.reserved(variant).await, 2);
    let r = send().await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["checkout_url"]
        .as_str()
        .unwrap()
        .contains("checkoutnow"));
});

both!(
    unconfigured_paypal_is_not_offered,
    |app: TestApp| async move {
        let (s, v) = app
        .order(
            USER,
            json!({"items": [{"variant_id": app.variant_id("").await, "quantity": 1}], "payment_method": "paypal", "contact": contact()}),
        )
        .await;
        assert_eq!(
            (s, error_code(&v)),
            (400, "payment_method_unavailable"),
            "{v}"
        );
        let r = app
            .raw(app.client.post(app.url("/webhooks/paypal")).body("{}"))
            .await;
        assert_envelope(&r, 404, None);
        let r = app
            .raw(app.get("/payments/paypal/return?order=1&token=X"))
            .await;
        assert_envelope(&r, 404, None);
    }
);

/// The `refunds` rows of an order: (provider refund id, amount).
async fn refund_rows(app: &TestApp, order: i64) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT provider_refund_id, amount_minor FROM refunds WHERE order_id = $1 AND rail = 'paypal' ORDER BY id",
    )
    .bind(order)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
}

/// Delivers a webhook to the shop at `base` from inside the fake (a client of its own).
async fn deliver_to(base: &str, (raw, headers): &(String, Vec<(String, String)>)) -> u16 {
    let mut rb = reqwest::Client::new()
        .post(format!("{base}/webhooks/paypal"))
        .header("Content-Type", "application/json")
        .body(raw.clone());
    for (k, v) in headers {
        rb = rb.header(k, v);
    }
    rb.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
}

both_kinds!(
    refund_webhook_before_the_admin_answer_counts_once,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = usd_product(&app, 2000, 5).await;
        let id = paypal_order(&app, variant, 1).await;
        let token = fake.approve(id);
        come_back(&app, id, &token).await;
        let cap_id = payments(&app, id).await[0].0.clone();
        // PayPal delivers PAYMENT.CAPTURE.REFUNDED before it answers the refund call.
        let delivered = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u16>::new()));
        let (f, base, seen, cap) = (
            fake.clone(),
            app.base.clone(),
            delivered.clone(),
            cap_id.clone(),
        );
        fake.before_refund_answer(move |refund: Value| {
            let (f, base, seen, cap) = (f.clone(), base.clone(), seen.clone(), cap.clone());
            async move {
                let ev = f.refund_resource_event(&cap, refund);
                let status = deliver_to(&base, &ev).await;
                seen.lock().unwrap().push(status);
            }
        });
        let csrf = app.admin_login().await;
        let refund = |body: Value| app.admin_refund(&csrf, id, body);
        let (s, v) = refund(json!({"amount_minor": 500})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "paid");
        assert_eq!(delivered.lock().unwrap().clone(), vec![200]);
        assert_eq!(refund_rows(&app, id).await.len(), 1);
        assert_eq!(refund_rows(&app, id).await[0].1, 500);
        assert_eq!(payments(&app, id).await[0].2, 500);

        let (s, v) = refund(json!({})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "refunded");
        assert_eq!(delivered.lock().unwrap().clone(), vec![200, 200]);
        let rows = refund_rows(&app, id).await;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].1, 1500);
        assert_eq!(payments(&app, id).await[0].2, 2000);
        assert_eq!(fake.refunded(&cap_id), 2000);
    }
);

both_kinds!(a_replayed_refund_event_records_once, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = usd_product(&app, 2000, 5).await;
    let id = paypal_order(&app, variant, 1).await;
    let token = fake.approve(id);
    come_back(&app, id, &token).await;
    let cap_id = payments(&app, id).await[0].0.clone();
    let r = fake.dashboard_refund(&cap_id, 700);
    let ev = fake.refund_resource_event(&cap_id, r.clone());
    // Twice at once (both pass the "seen before" check), once more, and a second delivery
    // (new event id) about the same refund.
    let (a, b) = tokio::join!(deliver(&app, &ev), deliver(&app, &ev));
    assert_eq!((a.status, b.status), (200, 200));
    assert_eq!(deliver(&app, &ev).await.status, 200);
    let again = fake.refund_resource_event(&cap_id, r);
    assert_eq!(deliver(&app, &again).await.status, 200);
    assert_eq!(refund_rows(&app, id).await.len(), 1);
    assert_eq!(payments(&app, id).await[0].2, 700);
    assert_eq!(status(&app, id).await, "paid");
    // A refund PayPal has not completed is not counted.
    let mut pending = fake.dashboard_refund(&cap_id, 100);
    pending["status"] = json!("PENDING");
    let ev = fake.refund_resource_event(&cap_id, pending);
    assert_eq!(deliver(&app, &ev).await.status, 200);
    assert_eq!(payments(&app, id).await[0].2, 700);
});
