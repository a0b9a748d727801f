//! Telegram Stars end to end against a fake Bot API, on SQLite and PostgreSQL, in webhook
//! and polling mode: invoice links, pre-checkout, exactly-once fulfilment, refunds,
//! subscriptions, reconciliation.

mod common;
#[path = "support/fake_bot_api.rs"]
mod fake_bot_api;
#[path = "support/tg.rs"]
mod tg;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use tg::{Mode, Tg};

macro_rules! tg_test {
    ($name:ident, $mode:expr, $extra:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                if let Some(t) = Tg::start(Kind::Sqlite, $mode, $extra).await {
                    ($body)(t).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(t) = Tg::start(Kind::Postgres, $mode, $extra).await {
                    ($body)(t).await;
                }
            }
        }
    };
}

/// Order -> invoice link -> pre-checkout -> successful payment -> paid, once.
async fn full_flow(t: Tg) {
    let user = 7001;
    let variant = t.app.variant_id("Plov recipe").await;
    let order = t.order(user, variant, "stars").await;
    let id = order["id"].as_i64().unwrap();
    assert_eq!(order["status"], "pending_payment");
    assert_eq!(
        order["total"],
        json!({"amount_minor": 50, "currency": "XTR"})
    );

    let inv = t.invoice_of(&order).await;
    assert_eq!(inv["currency"], "XTR");
    assert_eq!(inv["provider_token"], "");
    assert_eq!(inv["prices"].as_array().unwrap().len(), 1);
    assert_eq!(inv["prices"][0]["amount"], 50);
    assert!(inv.get("subscription_period").is_none());
    let payload = inv["payload"].as_str().unwrap();
    assert!(!payload.is_empty() && payload.len() <= 128);

    t.deliver(t.pre_checkout("q1", user, &inv, 50)).await;
    let a = t.answer("q1").await;
    assert_eq!(a["ok"], true, "{a}");

    let paid = t.payment(user, &inv, 50, "charge-1", json!({}));
    t.deliver(paid.clone()).await;
    t.wait_status(id, "paid").await;
    // The confirmation carries the digital content, in the order's language.
    let msg = t
        .fake
        .wait_for("sendMessage", |b| b["chat_id"] == user)
        .await;
    assert!(
        msg["text"].as_str().unwrap().contains("plov-recipes.pdf"),
        "{msg}"
    );

    // The same update again, and the same payment under a new update_id: nothing changes.
    t.deliver(paid).await;
    t.deliver(t.payment(user, &inv, 50, "charge-1", json!({})))
        .await;
    t.settle().await;
    let pays = t.payments(id).await;
    assert_eq!(pays.len(), 1, "{pays:?}");
    assert_eq!(pays[0].0, "charge-1");
    assert_eq!(pays[0].3, 0);
    assert_eq!(t.messages_to(user).len(), 1, "{:?}", t.messages_to(user));
    let (s, o) = t
        .app
        .json(
            t.app
                .as_user(Method::GET, &format!("/api/orders/{id}"), user),
        )
        .await;
    assert_eq!((s, o["status"].as_str()), (200, Some("paid")));
    let paid_events = o["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "paid")
        .count();
    assert_eq!(paid_events, 1);
}

tg_test!(stars_flow_webhook, Mode::Webhook, &[], full_flow);
tg_test!(stars_flow_polling, Mode::Polling, &[], full_flow);

tg_test!(
    non_xtr_orders_are_refused_for_stars,
    Mode::Polling,
    &[],
    |t: Tg| async move {
        let v = t.app.variant_id("Teapot").await;
        let (s, body) = t
            .app
            .order(
                7002,
                json!({"items": [{"variant_id": v, "quantity": 1}], "payment_method": "stars", "contact": contact()}),
            )
            .await;
        assert_eq!(
            (s, error_code(&body)),
            (400, "payment_method_unfit"),
            "{body}"
        );
        assert!(body["error"]["message"].as_str().unwrap().contains("XTR"));
        assert!(t.fake.calls("createInvoiceLink").is_empty());
    }
);

tg_test!(
    webhook_needs_the_secret,
    Mode::Webhook,
    &[],
    |t: Tg| async move {
        let user = 7003;
        let order = t
            .order(user, t.app.variant_id("Sticker").await, "stars")
            .await;
        let inv = t.invoice_of(&order).await;
        let update = t.payment(user, &inv, 25, "charge-x", json!({}));
        for secret in [None, Some("wrong"), Some("webhook-Secret_12")] {
            let mut rb = t
                .app
                .client
                .post(t.app.url("/webhooks/telegram"))
                .json(&update);
            if let Some(s) = secret {
                rb = rb.header("X-Telegram-Bot-Api-Secret-Token", s);
            }
            let r = t.app.raw(rb).await;
            assert_envelope(&r, 401, Some("unauthorized"));
        }
        let id = order["id"].as_i64().unwrap();
        assert_eq!(t.status(id).await, "pending_payment");
        assert!(t.payments(id).await.is_empty());
        // Nothing was remembered either: the genuine delivery still counts.
        t.deliver(update).await;
        t.wait_status(id, "paid").await;
        // Setup registered the webhook with the secret.
        let wh = t.fake.wait_for("setWebhook", |_| true).await;
        assert_eq!(wh["url"], "https://shop.test/webhooks/telegram");
        assert_eq!(wh["secret_token"], tg::SECRET);
    }
);

tg_test!(
    pre_checkout_refuses_expired_forged_and_wrong_amounts,
    Mode::Webhook,
    &[],
    |t: Tg| async move {
        let user = 7004;
        let order = t
            .order(user, t.app.variant_id("Plov recipe").await, "stars")
            .await;
        let id = order["id"].as_i64().unwrap();
        let inv = t.invoice_of(&order).await;

        t.deliver(t.pre_checkout("wrong-amount", user, &inv, 49))
            .await;
        let a = t.answer("wrong-amount").await;
        assert_eq!(a["ok"], false);
        // Russian, as the payer's Telegram is.
        assert!(
            a["error_message"].as_str().unwrap().contains("Сумма"),
            "{a}"
        );

        let mut forged = inv.clone();
        forged["payload"] = json!(format!("{id}.00000000000000000000000000000000"));
        t.deliver(t.pre_checkout("forged", user, &forged, 50)).await;
        assert_eq!(t.answer("forged").await["ok"], false);

        sqlx::query("UPDATE orders SET expires_at = 1 WHERE id = $1")
            .bind(id)
            .execute(&t.app.state.db.pool)
            .await
            .unwrap();
        t.deliver(t.pre_checkout("expired", user, &inv, 50)).await;
        let a = t.answer("expired").await;
        assert_eq!(a["ok"], false);
        assert!(!a["error_message"].as_str().unwrap().is_empty());
        shop::orders::lifecycle::expire_due(&t.app.state)
            .await
            .unwrap();
        t.deliver(t.pre_checkout("expired2", user, &inv, 50)).await;
        assert_eq!(t.answer("expired2").await["ok"], false);
    }
);

tg_test!(
    two_customers_and_the_last_unit,
    Mode::Polling,
    &[],
    |t: Tg| async move {
        let v = t.app.variant_id("Sticker").await;
        t.app.set_stock(v, Some(1)).await;
        let (a, b) = (7005, 7006);
        let oa = t.order(a, v, "stars").await;
        let ida = oa["id"].as_i64().unwrap();
        // While A holds the last unit, B cannot order it.
        let (s, body) = t
            .app
            .order(
                b,
                json!({"items": [{"variant_id": v, "quantity": 1}], "payment_method": "stars"}),
            )
            .await;
        assert_eq!((s, error_code(&body)), (409, "out_of_stock"));
        // A's reservation lapses; B takes the unit.
        sqlx::query("UPDATE orders SET expires_at = 1 WHERE id = $1")
            .bind(ida)
            .execute(&t.app.state.db.pool)
            .await
            .unwrap();
        shop::orders::lifecycle::expire_due(&t.app.state)
            .await
            .unwrap();
        let ob = t.order(b, v, "stars").await;
        let idb = ob["id"].as_i64().unwrap();
        let (inva, invb) = (t.invoice_of(&oa).await, t.invoice_of(&ob).await);

        t.deliver(t.pre_checkout("qa", a, &inva, 25)).await;
        t.deliver(t.pre_checkout("qb", b, &invb, 25)).await;
        assert_eq!(t.answer("qa").await["ok"], false);
        assert_eq!(t.answer("qb").await["ok"], true);
        // Both pay anyway (A's payment raced the expiry): only B gets the unit.
        t.deliver(t.payment(b, &invb, 25, "charge-b", json!({})))
            .await;
        t.deliver(t.payment(a, &inva, 25, "charge-a", json!({})))
            .await;
        t.wait_status(idb, "paid").await;
        for _ in 0..100 {
            if !t.payments(ida).await.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(t.status(ida).await, "expired");
        let pa = t.payments(ida).await;
        assert_eq!(pa.len(), 1);
        assert_eq!(pa[0].3, 1, "A's money is flagged for refund: {pa:?}");
        assert_eq!(t.app.stock(v).await, Some(0));
        assert_eq!(t.app.reserved(v).await, 0);
    }
);

tg_test!(
    payment_before_pre_checkout_answer,
    Mode::Webhook,
    &[],
    |t: Tg| async move {
        let user = 7007;
        let order = t
            .order(user, t.app.variant_id("Plov recipe").await, "stars")
            .await;
        let id = order["id"].as_i64().unwrap();
        let inv = t.invoice_of(&order).await;
        // Updates arrive out of order: the payment first, then its pre-checkout.
        let pc = t.pre_checkout("late", user, &inv, 50);
        let pay = t.payment(user, &inv, 50, "charge-ooo", json!({}));
        t.deliver(pay).await;
        t.wait_status(id, "paid").await;
        t.deliver(pc).await;
        assert_eq!(t.answer("late").await["ok"], false);
        assert_eq!(t.payments(id).await.len(), 1);
    }
);

async fn subs(t: &Tg, user: i64) -> (u16, Value) {
    t.app
        .json(t.app.as_user(Method::GET, "/api/subscriptions", user))
        .await
}

async fn paid_order(t: &Tg, user: i64, product: &str, charge: &str) -> (i64, Value) {
    let order = t
        .order(user, t.app.variant_id(product).await, "stars")
        .await;
    let id = order["id"].as_i64().unwrap();
    let inv = t.invoice_of(&order).await;
    let amount = order["total"]["amount_minor"].as_i64().unwrap();
    t.deliver(t.payment(user, &inv, amount, charge, json!({})))
        .await;
    t.wait_status(id, "paid").await;
    (id, inv)
}

tg_test!(refund_twice, Mode::Polling, &[], |t: Tg| async move {
    let user = 7008;
    let (id, _) = paid_order(&t, user, "Plov recipe", "charge-r1").await;
    let csrf = t.app.admin_login().await;
    let path = format!("/api/admin/orders/{id}/refund");
    let (s, v) = t.app.json(t.app.admin(Method::POST, &path, &csrf)).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("refunded")), "{v}");
    let calls = t.fake.calls("refundStarPayment");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["user_id"], user);
    assert_eq!(calls[0]["telegram_payment_charge_id"], "charge-r1");
    let (s, v) = t.app.json(t.app.admin(Method::POST, &path, &csrf)).await;
    assert_eq!((s, error_code(&v)), (409, "already_refunded"));
    // Telegram's own refund notice for the same charge changes nothing.
    t.deliver(json!({"update_id": t.update_id(), "message": {"message_id": 9, "date": 0,
        "chat": {"id": user, "type": "private"}, "from": {"id": user, "is_bot": false, "first_name": "U"},
        "refunded_payment": {"currency": "XTR", "total_amount": 50,
            "invoice_payload": "x", "telegram_payment_charge_id": "charge-r1"}}}))
        .await;
    t.settle().await;
    let refunded: i64 = sqlx::query_scalar(
        "SELECT refunded_minor FROM payments WHERE provider_payment_id = 'charge-r1'",
    )
    .fetch_one(&t.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(refunded, 50);
    assert_eq!(t.status(id).await, "refunded");
    t.fake
        .wait_for("sendMessage", |b| {
            b["chat_id"] == user && b["text"].as_str().unwrap().contains("refunded")
        })
        .await;

    // Refunded on Telegram's side first (CHARGE_ALREADY_REFUNDED): the admin refund still
    // completes, once.
    let (id2, _) = paid_order(&t, user, "Sticker", "charge-r2").await;
    let pre = t.fake.calls("refundStarPayment").len();
    t.app
        .state
        .http
        .post(format!("{}/bot{BOT_TOKEN}/refundStarPayment", t.fake.url))
        .json(&json!({"user_id": user, "telegram_payment_charge_id": "charge-r2"}))
        .send()
        .await
        .unwrap();
    let (s, v) = t
        .app
        .json(t.app.admin(
            Method::POST,
            &format!("/api/admin/orders/{id2}/refund"),
            &csrf,
        ))
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("refunded")), "{v}");
    assert_eq!(t.fake.calls("refundStarPayment").len(), pre + 2);
});

tg_test!(
    refund_from_telegram_is_recorded,
    Mode::Webhook,
    &[],
    |t: Tg| async move {
        let user = 7009;
        let (id, _) = paid_order(&t, user, "Plov recipe", "charge-tr").await;
        let refund = json!({"update_id": t.update_id(), "message": {"message_id": 9, "date": 0,
            "chat": {"id": user, "type": "private"}, "from": {"id": user, "is_bot": false, "first_name": "U"},
            "refunded_payment": {"currency": "XTR", "total_amount": 50,
                "invoice_payload": "x", "telegram_payment_charge_id": "charge-tr"}}});
        t.deliver(refund.clone()).await;
        t.wait_status(id, "refunded").await;
        t.deliver(refund).await;
        let refunded: i64 = sqlx::query_scalar(
            "SELECT refunded_minor FROM payments WHERE provider_payment_id = 'charge-tr'",
        )
        .fetch_one(&t.app.state.db.pool)
        .await
        .unwrap();
        assert_eq!(refunded, 50);
    }
);

tg_test!(
    subscription_lifecycle,
    Mode::Webhook,
    &[],
    |t: Tg| async move {
        let user = 7010;
        let order = t
            .order(user, t.app.variant_id("Premium club").await, "stars")
            .await;
        let id = order["id"].as_i64().unwrap();
        let inv = t.invoice_of(&order).await;
        assert_eq!(inv["subscription_period"], 2_592_000);
        assert_eq!(inv["prices"][0]["amount"], 100);

        let now = now();
        let first_exp = now + 2_592_000;
        t.deliver(t.payment(
            user,
            &inv,
            100,
            "sub-1",
            json!({"is_recurring": true,
        "is_first_recurring": true, "subscription_expiration_date": first_exp}),
        ))
        .await;
        t.wait_status(id, "paid").await;
        let (s, v) = subs(&t, user).await;
        assert_eq!(s, 200, "{v}");
        let sub = &v["items"][0];
        assert_eq!(sub["status"], "active", "{v}");
        assert_eq!(sub["expires_at"], first_exp);
        assert_eq!(sub["order_id"], id);
        let sid = sub["id"].as_i64().unwrap();

        // Renewal: a new charge, the record moves on; delivered twice, it counts once.
        let renew = t.payment(
            user,
            &inv,
            100,
            "sub-2",
            json!({"is_recurring": true,
        "subscription_expiration_date": first_exp + 2_592_000}),
        );
        t.deliver(renew.clone()).await;
        t.deliver(renew).await;
        t.deliver(t.payment(
            user,
            &inv,
            100,
            "sub-2",
            json!({"is_recurring": true,
        "subscription_expiration_date": first_exp + 2_592_000}),
        ))
        .await;
        let (_, v) = subs(&t, user).await;
        assert_eq!(v["items"][0]["expires_at"], first_exp + 2_592_000, "{v}");
        assert_eq!(v["items"][0]["renewals"], 1);
        let pays = t.payments(id).await;
        assert_eq!(pays.len(), 2, "{pays:?}");
        assert!(pays.iter().all(|p| p.3 == 0), "{pays:?}");
        assert_eq!(t.status(id).await, "paid");
        t.fake
            .wait_for("sendMessage", |b| {
                b["chat_id"] == user && b["text"].as_str().unwrap().contains("renewed")
            })
            .await;

        // Cancel and re-enable renewal.
        let (s, v) = t
            .app
            .json(t.app.as_user(
                Method::POST,
                &format!("/api/subscriptions/{sid}/cancel"),
                user,
            ))
            .await;
        assert_eq!((s, v["status"].as_str()), (200, Some("canceled")), "{v}");
        let e = t.fake.calls("editUserStarSubscription");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0]["is_canceled"], true);
        assert_eq!(e[0]["telegram_payment_charge_id"], "sub-1");
        assert_eq!(e[0]["user_id"], user);
        assert_eq!(subs(&t, user).await.1["items"][0]["status"], "canceled");
        // Someone else cannot touch it.
        let (s, _) = t
            .app
            .json(t.app.as_user(
                Method::POST,
                &format!("/api/subscriptions/{sid}/renew"),
                9999,
            ))
            .await;
        assert_eq!(s, 404);
        let (s, v) = t
            .app
            .json(t.app.as_user(
                Method::POST,
                &format!("/api/subscriptions/{sid}/renew"),
                user,
            ))
            .await;
        assert_eq!((s, v["status"].as_str()), (200, Some("active")), "{v}");
        assert_eq!(
            t.fake.calls("editUserStarSubscription")[1]["is_canceled"],
            false
        );

        // Expiry is enforced by the date.
        sqlx::query("UPDATE subscriptions SET expires_at = $1 WHERE id = $2")
            .bind(now - 1)
            .bind(sid)
            .execute(&t.app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(subs(&t, user).await.1["items"][0]["status"], "expired");
        let (s, v) = t
            .app
            .json(t.app.as_user(
                Method::POST,
                &format!("/api/subscriptions/{sid}/cancel"),
                user,
            ))
            .await;
        assert_eq!((s, error_code(&v)), (409, "subscription_expired"));
    }
);

tg_test!(
    reconciliation_fulfils_missed_payments,
    Mode::Webhook,
    &[],
    |t: Tg| async move {
        let user = 7011;
        let order = t
            .order(user, t.app.variant_id("Plov recipe").await, "stars")
            .await;
        let id = order["id"].as_i64().unwrap();
        let inv = t.invoice_of(&order).await;
        // A forged payload and a refund in the list must be ignored.
        t.fake.add_transaction(json!({"id": "forged", "amount": 50, "date": now(),
            "source": {"type": "user", "transaction_type": "invoice_payment",
                "user": {"id": user}, "invoice_payload": format!("{id}.ffffffffffffffffffffffffffffffff")}}));
        t.fake.add_transaction(json!({"id": "missed-1", "amount": 50, "date": now(),
            "source": {"type": "user", "transaction_type": "invoice_payment",
                "user": {"id": user, "is_bot": false, "first_name": "U"}, "invoice_payload": inv["payload"]}}));
        t.fake
            .add_transaction(json!({"id": "missed-1", "amount": 50, "date": now(),
            "receiver": {"type": "user", "user": {"id": user}}}));
        let bot = shop::telegram::Bot::from_config(&t.app.state.config, &t.app.state.http).unwrap();
        let n = shop::payments::stars::reconcile::run_once(&t.app.state, &bot)
            .await
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(t.status(id).await, "paid");
        let n = shop::payments::stars::reconcile::run_once(&t.app.state, &bot)
            .await
            .unwrap();
        assert_eq!(n, 0);
        // The late update for the same charge changes nothing.
        t.deliver(t.payment(user, &inv, 50, "missed-1", json!({})))
            .await;
        assert_eq!(t.payments(id).await.len(), 1);
    }
);

tg_test!(
    reconciliation_reads_a_typed_answer_and_skips_what_it_cannot_read,
    Mode::Webhook,
    &[],
    |t: Tg| async move {
        let (user_a, user_b) = (7013, 7014);
        let variant = t.app.variant_id("Plov recipe").await;
        let a = t.order(user_a, variant, "stars").await;
        let b = t.order(user_b, variant, "stars").await;
        let (a_id, b_id) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
        let (a_inv, b_inv) = (t.invoice_of(&a).await, t.invoice_of(&b).await);
        // Not a StarTransaction (its id is a number): skipped, though it names a real order.
        t.fake
            .add_transaction(json!({"id": 17, "amount": 50, "date": now(),
            "source": {"type": "user", "transaction_type": "invoice_payment",
                "user": {"id": user_a}, "invoice_payload": a_inv["payload"]}}));
        // Another partner than a user: no payment of the shop's.
        t.fake
            .add_transaction(json!({"id": "frag-1", "amount": 50, "date": now(),
            "source": {"type": "fragment", "withdrawal_state": {"type": "pending"}}}));
        // After both, a missed payment with fields the shop does not read: applied, and kept
        // as Telegram sent it.
        t.fake
            .add_transaction(json!({"id": "missed-b", "amount": 50, "nanostar_amount": 0,
            "date": now(), "source": {"type": "user", "transaction_type": "invoice_payment",
                "user": {"id": user_b, "is_bot": false, "first_name": "B"},
                "affiliate": null, "invoice_payload": b_inv["payload"]}}));
        let bot = shop::telegram::Bot::from_config(&t.app.state.config, &t.app.state.http).unwrap();
        let n = shop::payments::stars::reconcile::run_once(&t.app.state, &bot)
            .await
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(t.status(b_id).await, "paid");
        assert_eq!(t.status(a_id).await, "pending_payment");
        let raw: Option<String> =
            sqlx::query_scalar("SELECT raw FROM payments WHERE provider_payment_id = 'missed-b'")
                .fetch_one(&t.app.state.db.pool)
                .await
                .unwrap();
        let raw: Value = serde_json::from_str(&raw.unwrap()).unwrap();
        assert_eq!(raw["nanostar_amount"], 0, "{raw}");
        assert_eq!(raw["source"]["user"]["first_name"], "B", "{raw}");
    }
);

tg_test!(
    subscription_whose_first_update_was_lost,
    Mode::Polling,
    &[],
    |t: Tg| async move {
        let user = 7012;
        let order = t
            .order(user, t.app.variant_id("Premium club").await, "stars")
            .await;
        let id = order["id"].as_i64().unwrap();
        let inv = t.invoice_of(&order).await;
        // Only a renewal reaches us: it pays the order and starts the subscription.
        let exp = now() + 2 * 2_592_000;
        t.deliver(t.payment(
            user,
            &inv,
            100,
            "lost-2",
            json!({"is_recurring": true,
            "subscription_expiration_date": exp}),
        ))
        .await;
        t.wait_status(id, "paid").await;
        // The subscription is recorded just after the order is paid (its own write): wait
        // for it rather than reading between the two.
        let mut v = Value::Null;
        for _ in 0..300 {
            v = subs(&t, user).await.1;
            if v["items"][0]["expires_at"] == exp {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(v["items"][0]["expires_at"], exp, "{v}");
        assert_eq!(v["items"][0]["status"], "active");

        // The next renewal's update is lost too: reconciliation finds it and extends by 30 days.
        t.fake.add_transaction(json!({"id": "lost-3", "amount": 100, "date": now(),
            "source": {"type": "user", "transaction_type": "invoice_payment", "subscription_period": 2_592_000,
                "user": {"id": user}, "invoice_payload": inv["payload"]}}));
        let bot = shop::telegram::Bot::from_config(&t.app.state.config, &t.app.state.http).unwrap();
        let n = shop::payments::stars::reconcile::run_once(&t.app.state, &bot)
            .await
            .unwrap();
        assert_eq!(n, 1);
        let (_, v) = subs(&t, user).await;
        assert_eq!(v["items"][0]["expires_at"], exp + 2_592_000, "{v}");
        assert_eq!(v["items"][0]["renewals"], 1);
        assert_eq!(t.payments(id).await.len(), 2);
        assert_eq!(
            shop::payments::stars::reconcile::run_once(&t.app.state, &bot)
                .await
                .unwrap(),
            0
        );
    }
);

tg_test!(
    a_refund_ends_the_subscription,
    Mode::Webhook,
    &[],
    |t: Tg| async move {
        let user = 7020;
        let order = t
            .order(user, t.app.variant_id("Premium club").await, "stars")
            .await;
        let id = order["id"].as_i64().unwrap();
        let inv = t.invoice_of(&order).await;
        let first_exp = now() + 2_592_000;
        t.deliver(t.payment(
            user,
            &inv,
            100,
            "sub-r1",
            json!({"is_recurring": true,
        "is_first_recurring": true, "subscription_expiration_date": first_exp}),
        ))
        .await;
        t.wait_status(id, "paid").await;
        assert_eq!(subs(&t, user).await.1["items"][0]["status"], "active");

        let csrf = t.app.admin_login().await;
        let path = format!("/api/admin/orders/{id}/refund");
        let (s, v) = t.app.json(t.app.admin(Method::POST, &path, &csrf)).await;
        assert_eq!((s, v["status"].as_str()), (200, Some("refunded")), "{v}");
        // Access ends now, and Telegram is asked to stop renewing it.
        let (_, v) = subs(&t, user).await;
        assert_eq!(v["items"][0]["status"], "expired", "{v}");
        assert!(v["items"][0]["expires_at"].as_i64().unwrap() <= now());
        let e = t.fake.calls("editUserStarSubscription");
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0]["is_canceled"], true);
        assert_eq!(e[0]["telegram_payment_charge_id"], "sub-r1");
        // Telegram's notice of the same refund changes nothing.
        t.deliver(json!({"update_id": t.update_id(), "message": {"message_id": 9, "date": 0,
            "chat": {"id": user, "type": "private"}, "from": {"id": user, "is_bot": false, "first_name": "U"},
            "refunded_payment": {"currency": "XTR", "total_amount": 100,
                "invoice_payload": inv["payload"], "telegram_payment_charge_id": "sub-r1"}}}))
            .await;
        t.settle().await;
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM refunds WHERE order_id = $1")
            .bind(id)
            .fetch_one(&t.app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(rows, 1);

        // A renewal that still arrives extends nothing and is flagged to give back.
        t.deliver(t.payment(
            user,
            &inv,
            100,
            "sub-r2",
            json!({"is_recurring": true,
        "subscription_expiration_date": first_exp + 2_592_000}),
        ))
        .await;
        t.settle().await;
        let (_, v) = subs(&t, user).await;
        assert_eq!(v["items"][0]["status"], "expired", "{v}");
        assert_eq!(v["items"][0]["renewals"], 0);
        let pays = t.payments(id).await;
        assert_eq!(pays.len(), 2, "{pays:?}");
        assert_eq!(pays[1].3, 1, "{pays:?}");
        assert_eq!(t.status(id).await, "refunded");
    }
);
