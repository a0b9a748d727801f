//! The TON rail end to end against a local toncenter, on both databases: orders priced in TON
//! and USDT are paid on-chain with their reference as the comment, and the shop's reading of
//! its wallet counts each transfer once, whatever it looks like.

mod common;
#[path = "support/fake_bot_api.rs"]
mod fake_bot_api;
#[path = "support/fake_toncenter.rs"]
mod fake_toncenter;

use common::*;
use fake_toncenter::{FakeToncenter, USDT_MASTER, WALLET};
use reqwest::Method;
use serde_json::{json, Value};
use shop::payments::ton::poll::Round;

const USER: i64 = 7070;
/// 1.5 TON.
const PRICE_TON: i64 = 1_500_000_000;
/// 2.5 USDT.
const PRICE_USDT: i64 = 2_500_000;

async fn start(kind: Kind) -> Option<(TestApp, FakeToncenter)> {
    let fake = FakeToncenter::start().await;
    let app = start_on(kind, &fake, None).await?;
    Some((app, fake))
}

/// An app reading `fake`; on the database of `same_db` when given (a restart, or a second
/// process).
async fn start_on(kind: Kind, fake: &FakeToncenter, same_db: Option<&TestApp>) -> Option<TestApp> {
    let mut env = fake.env();
    if let Some(other) = same_db {
        env.push(("DATABASE_URL", other.state.config.database_url.clone()));
    }
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    spawn(kind, &pairs).await
}

async fn product(app: &TestApp, currency: &str, price_minor: i64, stock: i64) -> i64 {
    let csrf = app.admin_login().await;
    let sku = format!("TON-{}", rand::random::<u32>());
    let (s, v) = app
        .json(app.admin(Method::POST, "/api/admin/products", &csrf).json(&json!({
            "kind": "physical",
            "title": {"en": "Hoodie"},
            "variants": [{"sku": sku, "options": {}, "price": {"amount_minor": price_minor, "currency": currency}, "stock": stock}]
        })))
        .await;
    assert_eq!(s, 201, "{v}");
    v["variants"][0]["id"].as_i64().unwrap()
}

async fn ton_order(app: &TestApp, variant: i64) -> Value {
    let (s, v) = app
        .order(
            USER,
            json!({"items": [{"variant_id": variant, "quantity": 1}], "payment_method": "ton", "contact": contact()}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    v
}

async fn order(app: &TestApp, id: i64) -> Value {
    let (s, v) = app
        .json(app.as_user(Method::GET, &format!("/api/orders/{id}"), USER))
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn status(app: &TestApp, id: i64) -> String {
    order(app, id).await["status"].as_str().unwrap().to_string()
}

async fn poll(app: &TestApp) -> Round {
    shop::payments::ton::poll_now(&app.state)
        .await
        .expect("poll round")
}

/// (provider_payment_id, amount, needs_refund) of an order's payments.
async fn payments(app: &TestApp, id: i64) -> Vec<(String, i64, i64)> {
    sqlx::query_as(
        "SELECT provider_payment_id, amount_minor, needs_refund FROM payments WHERE order_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
}

async fn transfers(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM ton_transfers")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

fn comment(o: &Value) -> String {
    o["ton"]["comment"].as_str().unwrap().to_string()
}

fn id(o: &Value) -> i64 {
    o["id"].as_i64().unwrap()
}

both_kinds!(
    toncoin_is_paid_once_across_polls_and_restarts,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = product(&app, "TON", PRICE_TON, 5).await;
        let o = ton_order(&app, variant).await;
        let c = comment(&o);
        // The order answer carries everything a buyer needs.
        assert_eq!(o["payment_method"], "ton");
        assert_eq!(
            o["checkout_url"],
            format!("ton://transfer/{WALLET}?amount={PRICE_TON}&text={c}")
        );
        assert_eq!(o["ton"]["address"], WALLET);
        assert_eq!(o["ton"]["amount"], "1.500000000");
        assert_eq!(o["ton"]["received_minor"], 0);
        assert!(o["ton"]["tonkeeper_link"]
            .as_str()
            .unwrap()
            .starts_with(&format!(
                "https://app.tonkeeper.com/transfer/{WALLET}?amount={PRICE_TON}&text={c}"
            )));
        assert!(o["ton"]["qr_svg"].as_str().unwrap().contains("<svg"));
        // Short, and not the order id.
        assert!(c.len() <= 32 && c != id(&o).to_string(), "{c}");

        fake.pay_ton(PRICE_TON, &c);
        let r = poll(&app).await;
        assert_eq!((r.new, r.paid), (1, 1), "{r:?}");
        assert_eq!(status(&app, id(&o)).await, "paid");
        // Polling again, and the indexer listing it again, change nothing.
        let r = poll(&app).await;
        assert_eq!(r.new, 0);
        assert_eq!(payments(&app, id(&o)).await.len(), 1);
        assert_eq!(app.stock(variant).await, Some(4));

        // Every request carried the key.
        assert!(!fake.requests().is_empty());

        // A restart (a new process on the same database) misses nothing and repeats nothing.
        let o2 = ton_order(&app, variant).await;
        fake.pay_ton(PRICE_TON, &comment(&o2));
        let app2 = start_on(kind, &fake, Some(&app)).await.unwrap();
        let r = poll(&app2).await;
        assert_eq!((r.new, r.paid), (1, 1), "{r:?}");
        assert_eq!(status(&app2, id(&o2)).await, "paid");
        assert_eq!(payments(&app2, id(&o)).await.len(), 1);
        assert_eq!(payments(&app2, id(&o2)).await.len(), 1);
        assert_eq!(transfers(&app2).await, 2);
        // The cursor walked forward: the last read started after the last transaction.
        let last = fake
            .requests()
            .into_iter()
            .rev()
            .find(|(p, _)| p == "/transactions")
            .unwrap();
        assert!(last.1.contains_key("start_lt"), "{last:?}");
        assert_eq!(last.1["sort"], "asc");
    }
);

both_kinds!(
    usdt_is_paid_and_another_jetton_is_worthless,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = product(&app, "USDT", PRICE_USDT, 5).await;
        let o = ton_order(&app, variant).await;
        let c = comment(&o);
        assert_eq!(
            o["checkout_url"],
            format!("ton://transfer/{WALLET}?amount={PRICE_USDT}&text={c}&jetton={USDT_MASTER}")
        );
        assert_eq!(o["ton"]["amount"], "2.500000");
        assert!(o["ton"]["tonkeeper_link"]
            .as_str()
            .unwrap()
            .ends_with(&format!("&jetton={USDT_MASTER}")));

        // "USDT" of another master, listed by an indexer that does not filter by master.
        fake.inner.lock().unwrap().any_jetton = true;
        let forged = fake.jetton_transfer(
            "EQDKbjIcfM6ezt8KjKJJLshZJJSqX7XOA4ff-W72r5gqPrHF",
            PRICE_USDT,
            Some(&c),
        );
        fake.push_jetton(forged);
        // And an aborted transfer of the real one.
        let mut aborted = fake.jetton_transfer(USDT_MASTER, PRICE_USDT, Some(&c));
        aborted["transaction_aborted"] = json!(true);
        fake.push_jetton(aborted);
        let r = poll(&app).await;
        assert_eq!(r.new, 0, "{r:?}");
        assert_eq!(r.skipped, 2, "{r:?}");
        assert_eq!(status(&app, id(&o)).await, "pending_payment");

        // The real USDT, its comment only in the forward payload's BOC (an older indexer).
        let mut real = fake.jetton_transfer(USDT_MASTER, PRICE_USDT, Some(&c));
        real["decoded_forward_payload"] = Value::Null;
        fake.push_jetton(real);
        let r = poll(&app).await;
        assert_eq!((r.new, r.paid), (1, 1), "{r:?}");
        assert_eq!(status(&app, id(&o)).await, "paid");
        // Re-read within the overlap window: still once.
        poll(&app).await;
        assert_eq!(
            payments(&app, id(&o)).await,
            vec![(payments(&app, id(&o)).await[0].0.clone(), PRICE_USDT, 0)]
        );
        assert_eq!(transfers(&app).await, 1);
    }
);

both_kinds!(
    bounced_aborted_and_forwarded_transfers_are_not_money,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = product(&app, "TON", PRICE_TON, 5).await;
        let o = ton_order(&app, variant).await;
        let c = comment(&o);
        let mut bounced = fake.ton_tx(PRICE_TON, Some(&c));
        bounced["in_msg"]["bounced"] = json!(true);
        let mut aborted = fake.ton_tx(PRICE_TON, Some(&c));
        aborted["description"]["aborted"] = json!(true);
        aborted["description"]["compute_ph"]["success"] = json!(false);
        let mut sent_back = fake.ton_tx(PRICE_TON, Some(&c));
        sent_back["out_msgs"] = json!([{"source": sent_back["account"], "destination": fake_toncenter::BUYER,
        "value": PRICE_TON.to_string(), "bounced": true}]);
        let mut external = fake.ton_tx(PRICE_TON, Some(&c));
        external["in_msg"]["source"] = Value::Null;
        let mut uninit = fake.ton_tx(PRICE_TON, Some(&c));
        uninit["description"]["compute_ph"] = json!({"skipped": true, "reason": "no_state"});
        let mut elsewhere = fake.ton_tx(PRICE_TON, Some(&c));
        elsewhere["in_msg"]["destination"] = json!(fake_toncenter::BUYER);
        for tx in [bounced, aborted, sent_back, external, uninit, elsewhere] {
            fake.push_tx(tx);
        }
        let r = poll(&app).await;
        assert_eq!(r.new, 0, "{r:?}");
        assert_eq!(r.skipped, 6, "{r:?}");
        assert_eq!(transfers(&app).await, 0);
        assert_eq!(status(&app, id(&o)).await, "pending_payment");
        fake.pay_ton(PRICE_TON, &c);
        assert_eq!(poll(&app).await.paid, 1);
        assert_eq!(status(&app, id(&o)).await, "paid");
    }
);

both_kinds!(an_underpaid_order_waits_for_the_rest, |kind| async move {
    let Some((app, fake)) = start(kind).await else {
        return;
    };
    let variant = product(&app, "TON", PRICE_TON, 5).await;
    let o = ton_order(&app, variant).await;
    let c = comment(&o);
    fake.pay_ton(1_000_000_000, &c);
    let r = poll(&app).await;
    assert_eq!((r.new, r.paid), (1, 0));
    let now = order(&app, id(&o)).await;
    assert_eq!(now["status"], "pending_payment");
    assert_eq!(now["ton"]["received_minor"], 1_000_000_000i64);
    assert!(payments(&app, id(&o)).await.is_empty());
    // The merchant sees it on the order's timeline.
    let csrf = app.admin_login().await;
    let (_, admin_view) = app
        .json(app.admin(Method::GET, &format!("/api/admin/orders/{}", id(&o)), &csrf))
        .await;
    let events = admin_view["events"].as_array().unwrap();
    let under = events
        .iter()
        .find(|e| e["kind"] == "underpaid")
        .expect("underpaid event");
    assert!(
        under["note"]
            .as_str()
            .unwrap()
            .contains("500000000 missing"),
        "{under}"
    );
    // ... and the part-payment among the order's transfers, with no payment yet.
    assert!(admin_view.get("payments").is_none(), "{admin_view}");
    let transfers = admin_view["ton_transfers"].as_array().unwrap();
    assert_eq!(transfers.len(), 1, "{admin_view}");
    assert_eq!(transfers[0]["state"], "partial");
    assert_eq!(transfers[0]["order_id"], id(&o));
    assert_eq!(
        transfers[0]["amount"],
        json!({"amount_minor": 1_000_000_000i64, "currency": "TON"})
    );

    fake.pay_ton(500_000_000, &c);
    let r = poll(&app).await;
    assert_eq!((r.new, r.paid), (1, 1));
    assert_eq!(status(&app, id(&o)).await, "paid");
    assert_eq!(payments(&app, id(&o)).await.len(), 1);
    assert_eq!(payments(&app, id(&o)).await[0].1, PRICE_TON);
    let states: Vec<String> = sqlx::query_scalar("SELECT state FROM ton_transfers ORDER BY id")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(states, ["paid", "paid"]);
    let admin_view = app.admin_order(&csrf, id(&o)).await;
    let pays = admin_view["payments"].as_array().unwrap();
    assert_eq!(pays.len(), 1, "{admin_view}");
    assert_eq!(
        (
            &pays[0]["rail"],
            &pays[0]["amount"]["amount_minor"],
            &pays[0]["needs_refund"]
        ),
        (&json!("ton"), &json!(PRICE_TON), &json!(false))
    );
    assert_eq!(
        admin_view["ton_transfers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["state"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["paid", "paid"]
    );
});

both_kinds!(
    an_overpayment_is_paid_and_its_excess_returned_once,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = product(&app, "TON", PRICE_TON, 5).await;
        let o = ton_order(&app, variant).await;
        fake.pay_ton(2_000_000_000, &comment(&o));
        assert_eq!(poll(&app).await.paid, 1);
        assert_eq!(status(&app, id(&o)).await, "paid");
        let pays = payments(&app, id(&o)).await;
        assert_eq!(pays.len(), 2, "{pays:?}");
        assert_eq!((pays[0].1, pays[0].2), (PRICE_TON, 0));
        assert_eq!((pays[1].1, pays[1].2), (500_000_000, 1));

        let csrf = app.admin_login().await;
        let (s, list) = app
            .json(app.admin(
                Method::GET,
                "/api/admin/ton/transfers?to_return=true",
                &csrf,
            ))
            .await;
        assert_eq!(s, 200, "{list}");
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{list}");
        assert_eq!(items[0]["to_return_minor"], 500_000_000);
        assert_eq!(items[0]["state"], "paid");
        // The order shows the problem: paid, plus an excess flagged to give back.
        let admin_view = app.admin_order(&csrf, id(&o)).await;
        let pays = admin_view["payments"].as_array().unwrap();
        assert_eq!(pays.len(), 2, "{admin_view}");
        assert_eq!(pays[1]["needs_refund"], true);
        assert_eq!(pays[1]["amount"]["amount_minor"], 500_000_000);
        assert_eq!(
            admin_view["ton_transfers"][0]["to_return_minor"],
            500_000_000
        );
        assert!(admin_view["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "overpaid"));
        let tid = items[0]["id"].as_i64().unwrap();
        let path = format!("/api/admin/ton/transfers/{tid}/returned");
        let (s, after) = app.json(app.admin(Method::POST, &path, &csrf)).await;
        assert_eq!(s, 200, "{after}");
        assert_eq!(after["to_return_minor"], 0);
        // Counted once: a second click has nothing left to return.
        let (s, again) = app.json(app.admin(Method::POST, &path, &csrf)).await;
        assert_eq!((s, error_code(&again)), (409, "nothing_to_return"));
        let refunds: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM refunds")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(refunds, 1);
        let admin_view = app.admin_order(&csrf, id(&o)).await;
        assert_eq!(admin_view["payments"][1]["refunded_minor"], 500_000_000);
        assert_eq!(admin_view["refunds"].as_array().unwrap().len(), 1);
        assert_eq!(admin_view["ton_transfers"][0]["to_return_minor"], 0);
        // The order itself stays paid.
        assert_eq!(status(&app, id(&o)).await, "paid");
    }
);

both_kinds!(
    a_payment_after_expiry_is_flagged_not_fulfilled,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = product(&app, "TON", PRICE_TON, 5).await;
        let o = ton_order(&app, variant).await;
        let c = comment(&o);
        // Half of it before the reservation lapses, the rest after.
        fake.pay_ton(700_000_000, &c);
        poll(&app).await;
        sqlx::query("UPDATE orders SET expires_at = 1 WHERE id = $1")
            .bind(id(&o))
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        shop::orders::lifecycle::expire_due(&app.state)
            .await
            .unwrap();
        assert_eq!(status(&app, id(&o)).await, "expired");
        assert_eq!(app.stock(variant).await, Some(5));
        fake.pay_ton(800_000_000, &c);
        let r = poll(&app).await;
        assert_eq!((r.new, r.paid), (1, 0), "{r:?}");
        assert_eq!(status(&app, id(&o)).await, "expired");
        assert_eq!(app.stock(variant).await, Some(5));
        // Both parts are flagged for the merchant to send back.
        let pays = payments(&app, id(&o)).await;
        assert_eq!(
            pays.iter().map(|p| (p.1, p.2)).collect::<Vec<_>>(),
            vec![(800_000_000, 1), (700_000_000, 1)]
        );
        poll(&app).await;
        assert_eq!(payments(&app, id(&o)).await.len(), 2);
    }
);

both_kinds!(
    an_unmatched_transfer_is_listed_and_attached_by_the_admin,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = product(&app, "TON", PRICE_TON, 5).await;
        let o = ton_order(&app, variant).await;
        fake.pay_ton(PRICE_TON, "for the hoodie, thanks!");
        // The wrong asset for a TON order, with the right comment.
        fake.pay_usdt(PRICE_TON, &comment(&o));
        let r = poll(&app).await;
        assert_eq!((r.new, r.paid), (2, 0), "{r:?}");
        assert_eq!(status(&app, id(&o)).await, "pending_payment");

        let csrf = app.admin_login().await;
        let (s, list) = app
            .json(app.admin(
                Method::GET,
                "/api/admin/ton/transfers?state=unmatched",
                &csrf,
            ))
            .await;
        assert_eq!(s, 200, "{list}");
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{list}");
        assert_eq!(items[0]["comment"], "for the hoodie, thanks!");
        assert_eq!(
            items[0]["amount"],
            json!({"amount_minor": PRICE_TON, "currency": "TON"})
        );
        let tid = items[0]["id"].as_i64().unwrap();
        let (_, flagged) = app
            .json(app.admin(Method::GET, "/api/admin/ton/transfers?state=flagged", &csrf))
            .await;
        assert_eq!(flagged["items"][0]["amount"]["currency"], "USDT");

        let path = format!("/api/admin/ton/transfers/{tid}/attach");
        // Without the CSRF token: refused, nothing attached.
        let (s, _) = app
            .json(
                app.client
                    .post(app.url(&path))
                    .json(&json!({"order_id": id(&o)})),
            )
            .await;
        assert_eq!(s, 403);
        let (s, t) = app
            .json(
                app.admin(Method::POST, &path, &csrf)
                    .json(&json!({"order_id": id(&o)})),
            )
            .await;
        assert_eq!(s, 200, "{t}");
        assert_eq!(t["state"], "paid");
        assert_eq!(status(&app, id(&o)).await, "paid");
        let (s, again) = app
            .json(
                app.admin(Method::POST, &path, &csrf)
                    .json(&json!({"order_id": id(&o)})),
            )
            .await;
        assert_eq!((s, error_code(&again)), (409, "not_unmatched"));
        let audited: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'ton_attach'")
                .fetch_one(&app.state.db.pool)
                .await
                .unwrap();
        assert_eq!(audited, 1);
    }
);

both_kinds!(
    a_rate_limited_round_backs_off_and_the_next_catches_up,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = product(&app, "TON", PRICE_TON, 5).await;
        let o = ton_order(&app, variant).await;
        fake.pay_ton(PRICE_TON, &comment(&o));
        fake.inner.lock().unwrap().rate_limit = 1;
        let r = poll(&app).await;
        assert!(r.rate_limited);
        assert_eq!(status(&app, id(&o)).await, "pending_payment");
        assert_eq!(poll(&app).await.paid, 1);
    }
);

both_kinds!(
    ton_is_offered_only_for_ton_and_usdt_prices,
    |kind| async move {
        let Some((app, _fake)) = start(kind).await else {
            return;
        };
        let usd = product(&app, "USD", 1000, 5).await;
        let (s, v) = app
        .order(
            USER,
            json!({"items": [{"variant_id": usd, "quantity": 1}], "payment_method": "ton", "contact": contact()}),
        )
        .await;
        assert_eq!((s, error_code(&v)), (400, "payment_method_unfit"), "{v}");
    }
);

both_kinds!(
    a_paid_ton_order_is_refunded_by_recording_it,
    |kind| async move {
        let Some((app, fake)) = start(kind).await else {
            return;
        };
        let variant = product(&app, "TON", PRICE_TON, 5).await;
        let o = ton_order(&app, variant).await;
        fake.pay_ton(PRICE_TON, &comment(&o));
        poll(&app).await;
        let csrf = app.admin_login().await;
        let (s, v) = app.admin_refund(&csrf, id(&o), json!({})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "refunded");
        let (s, v) = app.admin_refund(&csrf, id(&o), json!({})).await;
        assert_eq!((s, error_code(&v)), (409, "already_refunded"));
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_postgres_count_a_transfer_once() {
    let fake = FakeToncenter::start().await;
    let Some(a) = start_on(Kind::Postgres, &fake, None).await else {
        return;
    };
    let b = start_on(Kind::Postgres, &fake, Some(&a)).await.unwrap();
    let variant = product(&a, "TON", PRICE_TON, 5).await;
    let o = ton_order(&a, variant).await;
    fake.pay_ton(PRICE_TON, &comment(&o));
    let (ra, rb) = tokio::join!(poll(&a), poll(&b));
    assert_eq!(ra.new + rb.new, 1, "{ra:?} {rb:?}");
    assert_eq!(ra.paid + rb.paid, 1);
    assert_eq!(payments(&a, id(&o)).await.len(), 1);
    assert_eq!(transfers(&b).await, 1);
    assert_eq!(a.stock(variant).await, Some(4));
}

both_kinds!(
    the_buyer_is_told_what_is_missing_then_that_it_is_paid,
    |kind| async move {
        let fake = FakeToncenter::start().await;
        let bot = fake_bot_api::FakeBotApi::start(BOT_TOKEN).await;
        let mut env = fake.env();
        env.push(("TELEGRAM_API_URL", bot.url.clone()));
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let Some(app) = spawn(kind, &pairs).await else {
            return;
        };
        let variant = product(&app, "TON", PRICE_TON, 5).await;
        let o = ton_order(&app, variant).await;
        // The reference inside a longer comment still names the order.
        fake.pay_ton(1_000_000_000, &format!("order {}", comment(&o)));
        poll(&app).await;
        let msg = bot
            .wait_for("sendMessage", |b| {
                b["chat_id"] == USER && b["text"].as_str().unwrap_or("").contains("remaining")
            })
            .await;
        let text = msg["text"].as_str().unwrap();
        assert!(
            text.contains("1.000000000 TON of 1.500000000 TON"),
            "{text}"
        );
        assert!(text.contains("0.500000000 TON"), "{text}");
        fake.pay_ton(500_000_000, &comment(&o));
        poll(&app).await;
        bot.wait_for("sendMessage", |b| {
            b["chat_id"] == USER && b["text"].as_str().unwrap_or("").contains("is paid")
        })
        .await;
        assert_eq!(status(&app, id(&o)).await, "paid");
    }
);
