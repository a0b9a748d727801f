//! Crypto Pay (@CryptoBot) end to end against a local fake of its API, on both databases:
//! invoices for crypto and fiat prices, the signed `invoice_paid` webhook (once, only for the
//! shop's invoices, only for the exact amount and currency), expiry deleting the invoice, and
//! refunds by transfer or by hand.

mod common;
#[path = "support/fake_cryptopay.rs"]
mod fake_cryptopay;

use common::*;
use fake_cryptopay::FakeCryptopay;
use reqwest::Method;
use serde_json::{json, Value};
use shop::orders::lifecycle::expire_due;
use shop::payments::cryptopay::reconcile;

const USER: i64 = 7272;

async fn start(kind: Kind) -> Option<(TestApp, FakeCryptopay)> {
    let fake = FakeCryptopay::start().await;
    let app = spawn_with_fake(kind, &fake.env(), &[]).await?;
    Some((app, fake))
}

/// A physical product priced `minor` in `currency`, with `stock` units: its variant id.
async fn product(app: &TestApp, minor: i64, currency: &str, stock: i64) -> i64 {
    let body = json!({"kind": "physical", "title": {"en": "Hardware wallet"}});
    app.admin_product(body, "CP", minor, currency, stock).await
}

async fn place(app: &TestApp, variant: i64, qty: i64) -> Value {
    app.place_order(USER, variant, qty, "cryptopay", contact())
        .await
}

async fn pay_ref(app: &TestApp, order: i64) -> String {
    sqlx::query_scalar("SELECT pay_ref FROM orders WHERE id = $1")
        .bind(order)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// The invoice the shop created for `order` (found by the reference in its payload).
async fn invoice_of(app: &TestApp, fake: &FakeCryptopay, order: i64) -> Value {
    fake.invoice_with_payload(&pay_ref(app, order).await)
}

async fn deliver(app: &TestApp, body: &str, sig: Option<&str>) -> Raw {
    let mut rb = app
        .client
        .post(app.url("/webhooks/cryptopay"))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some(s) = sig {
        rb = rb.header("crypto-pay-api-signature", s);
    }
    app.raw(rb).await
}

async fn status(app: &TestApp, order: i64) -> String {
    app.order_status(USER, order).await
}

/// (provider_payment_id, amount_minor, currency, needs_refund) of the order's payments.
async fn payments(app: &TestApp, order: i64) -> Vec<(String, i64, String, i64)> {
    sqlx::query_as(
        "SELECT provider_payment_id, amount_minor, currency, needs_refund FROM payments \
         WHERE order_id = $1 ORDER BY id",
    )
    .bind(order)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
}

async fn events(app: &TestApp, order: i64, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM order_events WHERE order_id = $1 AND kind = $2")
        .bind(order)
        .bind(kind)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// (provider_refund_id, amount_minor) of the order's refunds.
async fn refunds(app: &TestApp, order: i64) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT provider_refund_id, amount_minor FROM refunds WHERE order_id = $1 ORDER BY id",
    )
    .bind(order)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
}

/// The note of the order's `checkout_closed` event, once the background hook has written it
/// (ten seconds at most).
async fn closed_note(app: &TestApp, order: i64) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let note: Option<Option<String>> = sqlx::query_scalar(
            "SELECT note FROM order_events WHERE order_id = $1 AND kind = 'checkout_closed'",
        )
        .bind(order)
        .fetch_optional(&app.state.db.pool)
        .await
        .unwrap();
        if let Some(Some(n)) = note {
            return n;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no checkout_closed event"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

both_kinds!(
    invoices_carry_exact_amounts_and_the_reservation,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        // Crypto prices go as they are: 2 x 1.5 TON, and 2.5 USDT.
        let ton = product(&app, 1_500_000_000, "TON", 5).await;
        let o = place(&app, ton, 2).await;
        let id = o["id"].as_i64().unwrap();
        let inv = invoice_of(&app, &fake, id).await;
        let created = fake.created().pop().unwrap();
        assert_eq!(created["currency_type"], "crypto");
        assert_eq!(created["asset"], "TON");
        assert_eq!(created["amount"], "3");
        assert!(created.get("fiat").is_none() && created.get("accepted_assets").is_none());
        assert_eq!(created["payload"], pay_ref(&app, id).await);
        // The invoice lapses with the order's reservation (30 minutes by default).
        let expires_at = o["expires_at"].as_i64().unwrap();
        let expires_in = created["expires_in"].as_i64().unwrap();
        assert!(
            (1700..=1800).contains(&expires_in) && expires_at - now() <= expires_in + 5,
            "expires_in {expires_in}, order expires in {}",
            expires_at - now()
        );
        // Inside Telegram the Mini App invoice.
        assert_eq!(o["checkout_url"], inv["mini_app_invoice_url"]);
        assert!(o["checkout_url"]
            .as_str()
            .unwrap()
            .starts_with("https://t.me/"));

        let usdt = product(&app, 2_500_000, "USDT", 5).await;
        place(&app, usdt, 1).await;
        let created = fake.created().pop().unwrap();
        assert_eq!(
            (&created["asset"], &created["amount"]),
            (&json!("USDT"), &json!("2.5"))
        );

        // Fiat prices are converted by Crypto Pay: 125 000.50 so'm, paid in USDT or TON.
        let uzs = product(&app, 12_500_050, "UZS", 5).await;
        place(&app, uzs, 1).await;
        let created = fake.created().pop().unwrap();
        assert_eq!(created["currency_type"], "fiat");
        assert_eq!(created["fiat"], "UZS");
        assert_eq!(created["amount"], "125000.5");
        assert_eq!(created["accepted_assets"], "USDT,TON");
        assert!(created.get("asset").is_none());

        // Stars are refused before any call, with 400; the cart offers Crypto Pay for UZS.
        let calls = fake.created().len();
        let xtr = product(&app, 50, "XTR", 5).await;
        let (s, v) = app
        .order(USER, json!({"items": [{"variant_id": xtr, "quantity": 1}], "payment_method": "cryptopay", "contact": contact()}))
        .await;
        assert_eq!((s, error_code(&v)), (400, "payment_method_unfit"), "{v}");
        assert_eq!(fake.created().len(), calls);
        // A subscription would be sold once and never renew: only Stars and Stripe renew.
        let csrf = app.admin_login().await;
        let (st, sub) = app
            .json(app.admin(Method::POST, "/api/admin/products", &csrf).json(&json!({
                "kind": "subscription",
                "title": {"en": "Signals club"},
                "variants": [{"sku": format!("CPS-{}", rand::random::<u32>()), "options": {},
                    "price": {"amount_minor": 500, "currency": "USD"}}]
            })))
            .await;
        assert_eq!(st, 201, "{sub}");
        let sub = sub["variants"][0]["id"].as_i64().unwrap();
        let (s, v) = app
            .order(USER, json!({"items": [{"variant_id": sub, "quantity": 1}], "payment_method": "cryptopay"}))
            .await;
        assert_eq!((s, error_code(&v)), (400, "payment_method_unfit"), "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("subscriptions"),
            "{v}"
        );
        assert_eq!(fake.created().len(), calls);
        app.json(
            app.as_user(Method::PUT, "/api/cart", USER)
                .json(&json!({"items": [{"variant_id": uzs, "quantity": 1}]})),
        )
        .await;
        let (_, cart) = app.json(app.as_user(Method::GET, "/api/cart", USER)).await;
        assert!(
            cart["payment_methods"]
                .as_array()
                .unwrap()
                .contains(&json!("cryptopay")),
            "{cart}"
        );
    }
);

both_kinds!(paid_webhook_fulfils_once, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let ton = product(&app, 1_500_000_000, "TON", 5).await;
    let id = place(&app, ton, 2).await["id"].as_i64().unwrap();
    assert_eq!(
        (app.stock(ton).await, app.reserved(ton).await),
        (Some(3), 2)
    );
    let inv = invoice_of(&app, &fake, id).await;
    let invoice_id = inv["invoice_id"].as_i64().unwrap();
    let (body, sig) = fake.paid_update(invoice_id, None);
    let r = deliver(&app, &body, Some(&sig)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(status(&app, id).await, "paid");
    assert_eq!(
        (app.stock(ton).await, app.reserved(ton).await),
        (Some(3), 0)
    );
    let want = vec![(invoice_id.to_string(), 3_000_000_000, "TON".to_string(), 0)];
    assert_eq!(payments(&app, id).await, want);

    // Crypto Pay retries (update ids repeat), some of them at once: nothing changes.
    let again: Vec<_> = (0..4).map(|_| deliver(&app, &body, Some(&sig))).collect();
    for r in futures_util::future::join_all(again).await {
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(payments(&app, id).await, want);
    assert_eq!(events(&app, id, "paid").await, 1);
    assert_eq!(
        (app.stock(ton).await, app.reserved(ton).await),
        (Some(3), 0)
    );

    // A fiat invoice is checked on its fiat amount, whatever asset paid it.
    let uzs = product(&app, 12_500_000, "UZS", 5).await;
    let id = place(&app, uzs, 1).await["id"].as_i64().unwrap();
    let inv = invoice_of(&app, &fake, id).await;
    let invoice_id = inv["invoice_id"].as_i64().unwrap();
    let (body, sig) = fake.paid_update(invoice_id, Some(("USDT", "9.87")));
    assert_eq!(deliver(&app, &body, Some(&sig)).await.status, 200);
    assert_eq!(status(&app, id).await, "paid");
    assert_eq!(
        payments(&app, id).await,
        vec![(invoice_id.to_string(), 12_500_000, "UZS".to_string(), 0)]
    );
});

both_kinds!(
    forged_or_missing_signatures_are_refused,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let ton = product(&app, 1_500_000_000, "TON", 5).await;
        let id = place(&app, ton, 1).await["id"].as_i64().unwrap();
        let invoice_id = invoice_of(&app, &fake, id).await["invoice_id"]
            .as_i64()
            .unwrap();
        let (body, sig) = fake.paid_update(invoice_id, None);

        let r = deliver(&app, &body, None).await;
        assert_envelope(&r, 401, Some("invalid_signature"));
        // Signed with another app's token, or keyed with the plain token.
        let other = fake_cryptopay::sign("999:AAnotTheShopsToken", body.as_bytes());
        assert_envelope(
            &deliver(&app, &body, Some(&other)).await,
            401,
            Some("invalid_signature"),
        );
        let plain = {
            use hmac::Mac;
            let mut m =
                hmac::Hmac::<sha2::Sha256>::new_from_slice(fake_cryptopay::TOKEN.as_bytes())
                    .unwrap();
            m.update(body.as_bytes());
            hex::encode(m.finalize().into_bytes())
        };
        assert_envelope(
            &deliver(&app, &body, Some(&plain)).await,
            401,
            Some("invalid_signature"),
        );
        // The genuine signature over a body changed afterwards (a bigger amount says paid).
        let tampered = body.replace("\"amount\":\"1.5\"", "\"amount\":\"1.50\"");
        assert_ne!(tampered, body);
        assert_envelope(
            &deliver(&app, &tampered, Some(&sig)).await,
            401,
            Some("invalid_signature"),
        );
        assert_envelope(
            &deliver(&app, &body, Some("zz")).await,
            401,
            Some("invalid_signature"),
        );

        assert_eq!(status(&app, id).await, "pending_payment");
        assert!(payments(&app, id).await.is_empty());
        assert_eq!(app.reserved(ton).await, 1);
        // The genuine one still pays.
        assert_eq!(deliver(&app, &body, Some(&sig)).await.status, 200);
        assert_eq!(status(&app, id).await, "paid");
    }
);

both_kinds!(
    invoices_the_shop_did_not_create_are_ignored,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let ton = product(&app, 1_500_000_000, "TON", 5).await;
        let id = place(&app, ton, 1).await["id"].as_i64().unwrap();
        // Another integration on the same app, whose invoice even names our order.
        let foreign = fake.foreign_invoice("TON", "1.5", &pay_ref(&app, id).await);
        let (body, sig) = fake.paid_update(foreign, None);
        let r = deliver(&app, &body, Some(&sig)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(status(&app, id).await, "pending_payment");
        assert!(payments(&app, id).await.is_empty());
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(n, 0);
    }
);

both_kinds!(wrong_amounts_and_assets_do_not_pay, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let ton = product(&app, 1_500_000_000, "TON", 5).await;

    // Less than the order (as the invoice reports it).
    let id = place(&app, ton, 1).await["id"].as_i64().unwrap();
    let mut inv = invoice_of(&app, &fake, id).await;
    fake.paid_update(inv["invoice_id"].as_i64().unwrap(), None);
    inv = fake.invoice(inv["invoice_id"].as_i64().unwrap()).unwrap();
    inv["amount"] = json!("1.4");
    let (body, sig) = fake.update_of(inv.clone());
    assert_eq!(deliver(&app, &body, Some(&sig)).await.status, 200);
    assert_eq!(status(&app, id).await, "pending_payment");
    let p = payments(&app, id).await;
    assert_eq!(p.len(), 1);
    assert_eq!(
        (p[0].1, p[0].3),
        (1_400_000_000, 1),
        "recorded and flagged for refund"
    );
    assert_eq!(events(&app, id, "payment_mismatch").await, 1);

    // The right number in another asset.
    let id = place(&app, ton, 1).await["id"].as_i64().unwrap();
    let mut inv = invoice_of(&app, &fake, id).await;
    let invoice_id = inv["invoice_id"].as_i64().unwrap();
    fake.paid_update(invoice_id, None);
    inv = fake.invoice(invoice_id).unwrap();
    inv["asset"] = json!("USDT");
    inv["amount"] = json!("1.5");
    let (body, sig) = fake.update_of(inv.clone());
    assert_eq!(deliver(&app, &body, Some(&sig)).await.status, 200);
    assert_eq!(status(&app, id).await, "pending_payment");
    assert_eq!(payments(&app, id).await[0].3, 1);

    // An asset the shop has no currency for: nothing recorded, the merchant told why.
    let id = place(&app, ton, 1).await["id"].as_i64().unwrap();
    let invoice_id = invoice_of(&app, &fake, id).await["invoice_id"]
        .as_i64()
        .unwrap();
    fake.paid_update(invoice_id, None);
    let mut inv = fake.invoice(invoice_id).unwrap();
    inv["asset"] = json!("BTC");
    let (body, sig) = fake.update_of(inv);
    assert_eq!(deliver(&app, &body, Some(&sig)).await.status, 200);
    assert_eq!(status(&app, id).await, "pending_payment");
    assert!(payments(&app, id).await.is_empty());
    assert_eq!(events(&app, id, "payment_mismatch").await, 1);

    // A fiat invoice reported in another fiat.
    let uzs = product(&app, 12_500_000, "UZS", 5).await;
    let id = place(&app, uzs, 1).await["id"].as_i64().unwrap();
    let invoice_id = invoice_of(&app, &fake, id).await["invoice_id"]
        .as_i64()
        .unwrap();
    fake.paid_update(invoice_id, Some(("USDT", "9.87")));
    let mut inv = fake.invoice(invoice_id).unwrap();
    inv["fiat"] = json!("RUB");
    let (body, sig) = fake.update_of(inv);
    assert_eq!(deliver(&app, &body, Some(&sig)).await.status, 200);
    assert_eq!(status(&app, id).await, "pending_payment");
    assert_eq!(payments(&app, id).await[0].3, 1);
});

both_kinds!(
    an_expired_order_gives_stock_back_and_deletes_its_invoice,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let ton = product(&app, 1_500_000_000, "TON", 5).await;
        let id = place(&app, ton, 2).await["id"].as_i64().unwrap();
        let invoice_id = invoice_of(&app, &fake, id).await["invoice_id"]
            .as_i64()
            .unwrap();
        assert_eq!(
            (app.stock(ton).await, app.reserved(ton).await),
            (Some(3), 2)
        );
        sqlx::query("UPDATE orders SET expires_at = $1 WHERE id = $2")
            .bind(now() - 1)
            .bind(id)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(expire_due(&app.state).await.unwrap(), 1);
        assert_eq!(status(&app, id).await, "expired");
        assert_eq!(
            (app.stock(ton).await, app.reserved(ton).await),
            (Some(5), 0)
        );
        fake.wait_deleted(invoice_id).await;
        assert!(fake.invoice(invoice_id).is_none());
        // The merchant sees it on the order's timeline.
        let note = closed_note(&app, id).await;
        assert_eq!(note, format!("Crypto Pay invoice {invoice_id} deleted"));

        // The merchant cancels another one: its invoice goes too, once.
        let id = place(&app, ton, 1).await["id"].as_i64().unwrap();
        let invoice_id = invoice_of(&app, &fake, id).await["invoice_id"]
            .as_i64()
            .unwrap();
        let csrf = app.admin_login().await;
        let (s, v) = app
            .json(app.admin(
                Method::POST,
                &format!("/api/admin/orders/{id}/cancel"),
                &csrf,
            ))
            .await;
        assert_eq!(s, 200, "{v}");
        fake.wait_deleted(invoice_id).await;
        assert_eq!(expire_due(&app.state).await.unwrap(), 0);
        assert_eq!(
            fake.deleted().iter().filter(|d| **d == invoice_id).count(),
            1
        );
        assert_eq!(
            (app.stock(ton).await, app.reserved(ton).await),
            (Some(5), 0)
        );
    }
);

both_kinds!(refund_by_transfer_pays_once, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    // A fiat order paid in USDT goes back in USDT.
    let uzs = product(&app, 12_500_000, "UZS", 5).await;
    let id = place(&app, uzs, 1).await["id"].as_i64().unwrap();
    let invoice_id = invoice_of(&app, &fake, id).await["invoice_id"]
        .as_i64()
        .unwrap();
    let (body, sig) = fake.paid_update(invoice_id, Some(("USDT", "10")));
    assert_eq!(deliver(&app, &body, Some(&sig)).await.status, 200);
    assert_eq!(status(&app, id).await, "paid");

    // A third first: the connection breaks after Crypto Pay made the transfer, and the
    // shop's retry with the same spend_id is not paid again.
    fake.set(|g| g.lose_next_transfer_answer = true);
    let csrf = app.admin_login().await;
    let (s, v) = app
        .admin_refund(&csrf, id, json!({"amount_minor": 4_166_667}))
        .await;
    assert_eq!(s, 200, "{v}");
    let t = fake.transfers();
    assert_eq!(t.len(), 1);
    assert_eq!(
        fake.transfer_calls().len(),
        2,
        "the retry reached Crypto Pay"
    );
    assert_eq!(
        (t[0].user_id, t[0].asset.as_str(), t[0].amount.as_str()),
        (USER, "USDT", "3.333333")
    );
    assert_eq!(
        refunds(&app, id).await,
        vec![(t[0].spend_id.clone(), 4_166_667)]
    );

    // The rest, the same way, but Crypto Pay answers the repeated spend_id with an error:
    // the transfer was made, and is recorded once.
    fake.set(|g| {
        g.lose_next_transfer_answer = true;
        g.repeat_spend_is_error = true;
    });
    let (s, v) = app.admin_refund(&csrf, id, json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "refunded");
    let t = fake.transfers();
    assert_eq!(t.len(), 2);
    assert_eq!(t[1].amount, "6.666667", "the parts add up to what was paid");
    assert_ne!(t[0].spend_id, t[1].spend_id);
    assert_eq!(fake.transfer_calls().len(), 4);
    // A double click of the same refund is refused by the shop.
    let (s, v) = app.admin_refund(&csrf, id, json!({})).await;
    assert_eq!((s, error_code(&v)), (409, "already_refunded"), "{v}");
    assert_eq!(fake.transfers().len(), 2);
    assert_eq!(refunds(&app, id).await.len(), 2);

    // A crypto order goes back in its own asset and amount.
    let ton = product(&app, 1_500_000_000, "TON", 5).await;
    let id = place(&app, ton, 1).await["id"].as_i64().unwrap();
    let invoice_id = invoice_of(&app, &fake, id).await["invoice_id"]
        .as_i64()
        .unwrap();
    let (body, sig) = fake.paid_update(invoice_id, None);
    assert_eq!(deliver(&app, &body, Some(&sig)).await.status, 200);
    let csrf = app.admin_login().await;
    let (s, v) = app.admin_refund(&csrf, id, json!({})).await;
    assert_eq!(s, 200, "{v}");
    let t = fake.transfers().pop().unwrap();
    assert_eq!((t.asset.as_str(), t.amount.as_str()), ("TON", "1.5"));
});

both_kinds!(
    without_transfer_permission_the_refund_is_made_by_hand,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        fake.set(|g| g.transfers_enabled = false);
        let ton = product(&app, 1_500_000_000, "TON", 5).await;
        let id = place(&app, ton, 1).await["id"].as_i64().unwrap();
        let invoice_id = invoice_of(&app, &fake, id).await["invoice_id"]
            .as_i64()
            .unwrap();
        let (body, sig) = fake.paid_update(invoice_id, None);
        assert_eq!(deliver(&app, &body, Some(&sig)).await.status, 200);

        let csrf = app.admin_login().await;
        let r = app
            .raw(
                app.admin(
                    Method::POST,
                    &format!("/api/admin/orders/{id}/refund"),
                    &csrf,
                )
                .json(&json!({})),
            )
            .await;
        let v = assert_envelope(&r, 409, Some("refund_by_hand"));
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains("manual refund") && msg.contains("1.5 TON"),
            "{msg}"
        );
        assert!(!msg.contains(fake_cryptopay::TOKEN));
        assert_eq!(status(&app, id).await, "paid");
        assert!(refunds(&app, id).await.is_empty());
        assert!(fake.transfers().is_empty());

        // The merchant paid the customer back and records it, once.
        let (s, v) = app
            .admin_refund(&csrf, id, json!({"manual": true, "restock": true}))
            .await;
        assert_eq!((s, &v["status"]), (200, &json!("refunded")), "{v}");
        let (s, v) = app
            .admin_refund(&csrf, id, json!({"manual": true, "restock": true}))
            .await;
        assert_eq!((s, error_code(&v)), (409, "already_refunded"), "{v}");
        assert_eq!(status(&app, id).await, "refunded");
        let r = refunds(&app, id).await;
        assert_eq!(r.len(), 1);
        assert!(
            r[0].0.starts_with("manual-") && r[0].1 == 1_500_000_000,
            "{r:?}"
        );
        // The admin's order: the invoice's payment, and the refund recorded by hand.
        let o = app.admin_order(&csrf, id).await;
        assert_eq!(o["payments"][0]["rail"], "cryptopay");
        assert_eq!(
            o["payments"][0]["provider_payment_id"],
            invoice_id.to_string()
        );
        assert_eq!(o["payments"][0]["refunded_minor"], 1_500_000_000i64);
        let listed = o["refunds"].as_array().unwrap();
        assert_eq!(listed.len(), 1, "{o}");
        assert_eq!(
            (
                &listed[0]["rail"],
                &listed[0]["manual"],
                &listed[0]["amount"]
            ),
            (
                &json!("cryptopay"),
                &json!(true),
                &json!({"amount_minor": 1_500_000_000i64, "currency": "TON"})
            )
        );
        assert!(fake.transfers().is_empty());
        assert_eq!(app.stock(ton).await, Some(5));
    }
);

both_kinds!(
    reconciliation_pays_invoices_whose_webhook_never_came,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        // Nothing open: Crypto Pay is not asked.
        assert_eq!(reconcile::run_once(&app.state).await.unwrap(), 0);
        assert_eq!(fake.inner.lock().unwrap().get_invoices, 0);

        let ton = product(&app, 1_500_000_000, "TON", 5).await;
        let id = place(&app, ton, 1).await["id"].as_i64().unwrap();
        let waiting = place(&app, ton, 1).await["id"].as_i64().unwrap();
        let odd = place(&app, ton, 1).await["id"].as_i64().unwrap();
        let invoice_id = invoice_of(&app, &fake, id).await["invoice_id"]
            .as_i64()
            .unwrap();
        // Paid at Crypto Pay; the webhook is never delivered.
        fake.paid_update(invoice_id, None);
        // Someone else's paid invoice naming our order changes nothing.
        let foreign = fake.foreign_invoice("TON", "1.5", &pay_ref(&app, waiting).await);
        fake.paid_update(foreign, None);
        // A paid invoice Crypto Pay reports in an asset the shop has no currency for.
        let odd_invoice = invoice_of(&app, &fake, odd).await["invoice_id"]
            .as_i64()
            .unwrap();
        fake.paid_update(odd_invoice, None);
        fake.set(|g| g.invoices.get_mut(&odd_invoice).unwrap()["asset"] = json!("BTC"));

        assert_eq!(reconcile::run_once(&app.state).await.unwrap(), 1);
        assert_eq!(status(&app, id).await, "paid");
        assert_eq!(
            payments(&app, id).await,
            vec![(invoice_id.to_string(), 1_500_000_000, "TON".to_string(), 0)]
        );
        assert_eq!(status(&app, waiting).await, "pending_payment");
        assert_eq!(status(&app, odd).await, "pending_payment");
        // A second round, and the late webhook, change nothing more.
        assert_eq!(reconcile::run_once(&app.state).await.unwrap(), 0);
        let (body, sig) = fake.update_of(fake.invoice(invoice_id).unwrap());
        assert_eq!(deliver(&app, &body, Some(&sig)).await.status, 200);
        assert_eq!(payments(&app, id).await.len(), 1);
        assert_eq!(events(&app, id, "paid").await, 1);
        assert!(payments(&app, waiting).await.is_empty());
        assert!(payments(&app, odd).await.is_empty());
        assert_eq!(events(&app, odd, "payment_mismatch").await, 1);
        assert_eq!(app.reserved(ton).await, 2);
    }
);

both!(
    without_a_token_crypto_pay_is_not_offered,
    |app: TestApp| async move {
        let variant = app.variant_id("").await;
        let (s, v) = app
        .order(USER, json!({"items": [{"variant_id": variant, "quantity": 1}], "payment_method": "cryptopay", "contact": contact()}))
        .await;
        assert_eq!(
            (s, error_code(&v)),
            (400, "payment_method_unavailable"),
            "{v}"
        );
        let (body, sig) = (r#"{"update_type":"invoice_paid"}"#, "00");
        assert_eq!(deliver(&app, body, Some(sig)).await.status, 404);
    }
);
