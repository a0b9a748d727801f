//! Click SHOP API: from an order placed over HTTP to paid, every Click error code, retries,
//! cancellation by Click, and the admin refund answer. Requests are form-encoded with an md5
//! `sign_string` computed here, as Click sends them.

mod common;
#[path = "support/uz.rs"]
mod uz;

use common::*;
use reqwest::Method;
use serde_json::json;
use uz::*;

both_with!(
    click_happy_path_and_retries,
    ENV,
    |app: TestApp| async move {
        let vid = app.variant_id("Teapot").await;
        let stock0 = app.stock(vid).await.unwrap();
        let o = order(&app, 501, "click", 2).await;
        let oid = id(&o);
        let oid_ref = pay_ref(&o);
        assert_eq!(
            o["total"],
            json!({"amount_minor": 30_000_000, "currency": "UZS"})
        );
        assert_eq!(o["payment_method"], "click");

        // The pay link: Click's page with our service, merchant, the amount in sum and the
        // order's reference: random, nothing like the order id, different for every order.
        let url = reqwest::Url::parse(o["checkout_url"].as_str().expect("checkout_url")).unwrap();
        assert_eq!(url.host_str(), Some("my.click.uz"));
        assert_eq!(url.path(), "/services/pay");
        let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["service_id"], CLICK_SERVICE_ID);
        assert_eq!(q["merchant_id"], CLICK_MERCHANT_ID);
        assert_eq!(q["amount"], "300000.00");
        assert_eq!(q["transaction_param"], oid_ref);
        assert!(
            oid_ref.len() >= 16 && oid_ref != oid.to_string(),
            "{oid_ref}"
        );
        assert!(
            q["return_url"].starts_with("https://shop.example.uz/")
                && q["return_url"].contains(&oid.to_string()),
            "{}",
            q["return_url"]
        );
        assert_eq!(app.stock(vid).await, Some(stock0 - 2));
        assert_eq!(app.reserved(vid).await, 2);

        // Prepare, in sum without decimals; repeated: the same merchant_prepare_id.
        let prep = ClickReq::prepare(9_000_001, &oid_ref, "300000");
        let p1 = click(&app, "prepare", &prep).await;
        assert_eq!(
            (err(&p1), p1["error_note"].as_str()),
            (0, Some("Success")),
            "{p1}"
        );
        assert_eq!(p1["click_trans_id"], json!(9_000_001));
        assert_eq!(p1["merchant_trans_id"], json!(oid_ref));
        let prepare_id = p1["merchant_prepare_id"].as_i64().expect("prepare id");
        let p2 = click(&app, "prepare", &prep).await;
        assert_eq!(p2, p1, "a repeated Prepare gets the same answer");
        assert_eq!(order_status(&app, 501, oid).await, "pending_payment");

        // Complete, amount with decimals this time (each request is signed as sent).
        let done = ClickReq::complete(9_000_001, &oid_ref, prepare_id, "300000.00");
        let c1 = click(&app, "complete", &done).await;
        assert_eq!(err(&c1), 0, "{c1}");
        let confirm_id = c1["merchant_confirm_id"].as_i64().expect("confirm id");
        assert_eq!(order_status(&app, 501, oid).await, "paid");
        assert_eq!(
            app.stock(vid).await,
            Some(stock0 - 2),
            "sold units stay sold"
        );
        assert_eq!(app.reserved(vid).await, 0, "the reservation became a sale");

        // Retries after success: "Already paid" each time, the same confirm id, no second sale.
        for _ in 0..3 {
            let again = click(&app, "complete", &done).await;
            assert_eq!(err(&again), -4, "{again}");
            assert_eq!(again["error_note"], "Already paid");
            assert_eq!(again["merchant_confirm_id"], json!(confirm_id));
        }
        let again = click(&app, "prepare", &prep).await;
        assert_eq!(err(&again), -4, "{again}");
        assert_eq!(paid_counts(&app, oid).await, (1, 1));
        assert_eq!(app.stock(vid).await, Some(stock0 - 2));
        assert_eq!(app.reserved(vid).await, 0);

        // A second Click attempt for the paid order is refused before any money moves.
        let other = click(
            &app,
            "prepare",
            &ClickReq::prepare(9_000_002, &oid_ref, "300000"),
        )
        .await;
        assert_eq!(err(&other), -4, "{other}");

        // The merchant asks for a refund: Click's reversal is not automated, the answer says where.
        let csrf = app.admin_login().await;
        let (s, v) = app
            .json(app.admin(
                Method::POST,
                &format!("/api/admin/orders/{oid}/refund"),
                &csrf,
            ))
            .await;
        assert_eq!((s, error_code(&v)), (409, "refund_unavailable"), "{v}");
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Click merchant cabinet"));
        assert_eq!(order_status(&app, 501, oid).await, "paid");
    }
);

both_with!(click_error_codes, ENV, |app: TestApp| async move {
    let vid = app.variant_id("Teapot").await;
    let stock0 = app.stock(vid).await.unwrap();
    let (oid, oid_ref) = placed(&app, 502, "click", 1).await;
    let amount = "150000.00";

    // -8: a required field missing, or one that is not a number.
    let mut fields = ClickReq::prepare(8_001, &oid_ref, amount).fields();
    fields.retain(|(k, _)| k != "sign_time");
    let v = click_raw(&app, "prepare", &fields).await;
    assert_eq!(
        (err(&v), v["error_note"].as_str()),
        (-8, Some("Error in request from click"))
    );
    let mut complete_without_prepare_id = ClickReq::complete(8_001, &oid_ref, 1, amount).fields();
    complete_without_prepare_id.retain(|(k, _)| k != "merchant_prepare_id");
    assert_eq!(
        err(&click_raw(&app, "complete", &complete_without_prepare_id).await),
        -8
    );
    assert_eq!(err(&click_raw(&app, "prepare", &[]).await), -8);

    // -1: signed with another secret, or a field changed after signing.
    let mut forged = ClickReq::prepare(8_001, &oid_ref, amount);
    forged.secret = "not-the-secret".into();
    let v = click(&app, "prepare", &forged).await;
    assert_eq!(
        (err(&v), v["error_note"].as_str()),
        (-1, Some("SIGN CHECK FAILED!"))
    );
    let mut tampered = ClickReq::prepare(8_001, &oid_ref, amount).fields();
    for f in tampered.iter_mut().filter(|(k, _)| k == "amount") {
        f.1 = "1.00".into();
    }
    assert_eq!(err(&click_raw(&app, "prepare", &tampered).await), -1);

    // -3: an action that does not fit the endpoint, either way round.
    let mut wrong = ClickReq::prepare(8_001, &oid_ref, amount);
    wrong.action = "1".into();
    let v = click(&app, "prepare", &wrong).await;
    assert_eq!(
        (err(&v), v["error_note"].as_str()),
        (-3, Some("Action not found"))
    );
    let mut wrong = ClickReq::complete(8_001, &oid_ref, 1, amount);
    wrong.action = "0".into();
    assert_eq!(err(&click(&app, "complete", &wrong).await), -3);
    let mut wrong = ClickReq::prepare(8_001, &oid_ref, amount);
    wrong.action = "7".into();
    assert_eq!(err(&click(&app, "prepare", &wrong).await), -3);

    // -5: no such order reference (or not one at all).
    let v = click(&app, "prepare", &ClickReq::prepare(8_001, "987654", amount)).await;
    assert_eq!(
        (err(&v), v["error_note"].as_str()),
        (-5, Some("User does not exist"))
    );
    let mut bad = ClickReq::prepare(8_001, &oid_ref, amount);
    bad.merchant_trans_id = "order-1".into();
    assert_eq!(err(&click(&app, "prepare", &bad).await), -5);

    // -2: a tiyin off, or not a decimal number of sum.
    for a in ["150000.01", "149999.99", "15000000", "1.5e5", "150000,00"] {
        let v = click(&app, "prepare", &ClickReq::prepare(8_001, &oid_ref, a)).await;
        assert_eq!(
            (err(&v), v["error_note"].as_str()),
            (-2, Some("Incorrect parameter amount")),
            "amount {a}: {v}"
        );
    }

    // -6: Complete naming a prepare id we never issued.
    let p = click(&app, "prepare", &ClickReq::prepare(8_001, &oid_ref, amount)).await;
    assert_eq!(err(&p), 0, "{p}");
    let prep = p["merchant_prepare_id"].as_i64().unwrap();
    let v = click(
        &app,
        "complete",
        &ClickReq::complete(8_001, &oid_ref, prep + 1000, amount),
    )
    .await;
    assert_eq!(
        (err(&v), v["error_note"].as_str()),
        (-6, Some("Transaction does not exist"))
    );
    // ...or another attempt's prepare id.
    let v = click(
        &app,
        "complete",
        &ClickReq::complete(8_999, &oid_ref, prep, amount),
    )
    .await;
    assert_eq!(err(&v), -6, "{v}");

    // -7: our side fails while applying the payment; Click retries later and succeeds.
    sqlx::query("ALTER TABLE payments RENAME TO payments_away")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let done = ClickReq::complete(8_001, &oid_ref, prep, amount);
    let v = click(&app, "complete", &done).await;
    assert_eq!(
        (err(&v), v["error_note"].as_str()),
        (-7, Some("Failed to update user"))
    );
    sqlx::query("ALTER TABLE payments_away RENAME TO payments")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(order_status(&app, 502, oid).await, "pending_payment");
    let v = click(&app, "complete", &done).await;
    assert_eq!(err(&v), 0, "{v}");
    assert_eq!(order_status(&app, 502, oid).await, "paid");

    // -4: the order is paid.
    let v = click(&app, "prepare", &ClickReq::prepare(8_002, &oid_ref, amount)).await;
    assert_eq!(
        (err(&v), v["error_note"].as_str()),
        (-4, Some("Already paid"))
    );
    assert_eq!(paid_counts(&app, oid).await, (1, 1));
    assert_eq!(app.stock(vid).await, Some(stock0 - 1));
});

both_with!(
    click_cancelled_attempt_leaves_the_order_payable,
    ENV,
    |app: TestApp| async move {
        let vid = app.variant_id("Teapot").await;
        let stock0 = app.stock(vid).await.unwrap();
        let (oid, oid_ref) = placed(&app, 503, "click", 3).await;
        assert_eq!(app.stock(vid).await, Some(stock0 - 3));
        let amount = "450000";
        let p = click(&app, "prepare", &ClickReq::prepare(7_001, &oid_ref, amount)).await;
        let prep = p["merchant_prepare_id"].as_i64().unwrap();

        // Click reports its own failure (insufficient funds) at Complete: the attempt ends,
        // the order does not. It keeps its units until its reservation lapses.
        let mut failed = ClickReq::complete(7_001, &oid_ref, prep, amount);
        failed.error = -5017;
        let v = click(&app, "complete", &failed).await;
        assert_eq!(
            (err(&v), v["error_note"].as_str()),
            (-9, Some("Transaction cancelled"))
        );
        assert_eq!(v["merchant_confirm_id"], json!(prep));
        assert_eq!(order_status(&app, 503, oid).await, "pending_payment");
        assert_eq!(
            (app.stock(vid).await, app.reserved(vid).await),
            (Some(stock0 - 3), 3),
            "the reservation is kept"
        );

        // Repeats, and a later success report for the cancelled attempt: -9, nothing paid.
        assert_eq!(err(&click(&app, "complete", &failed).await), -9);
        let v = click(
            &app,
            "complete",
            &ClickReq::complete(7_001, &oid_ref, prep, amount),
        )
        .await;
        assert_eq!(err(&v), -9, "{v}");
        assert_eq!(
            err(&click(&app, "prepare", &ClickReq::prepare(7_001, &oid_ref, amount)).await),
            -9
        );
        assert_eq!(paid_counts(&app, oid).await, (0, 0));

        // A new attempt (another card) pays the order, once.
        let v = click_pay(&app, 7_002, &oid_ref, amount).await;
        assert_eq!(err(&v), 0, "{v}");
        assert_eq!(order_status(&app, 503, oid).await, "paid");
        assert_eq!(paid_counts(&app, oid).await, (1, 1));
        assert_eq!(
            (app.stock(vid).await, app.reserved(vid).await),
            (Some(stock0 - 3), 0)
        );

        // An order whose reservation lapsed: Prepare says cancelled, nothing is reserved again.
        let (oid2, oid2_ref) = placed(&app, 503, "click", 1).await;
        sqlx::query("UPDATE orders SET expires_at = 1 WHERE id = $1")
            .bind(oid2)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        shop::orders::lifecycle::expire_due(&app.state)
            .await
            .unwrap();
        let v = click(
            &app,
            "prepare",
            &ClickReq::prepare(7_003, &oid2_ref, "150000"),
        )
        .await;
        assert_eq!(err(&v), -9, "{v}");
        assert_eq!(app.stock(vid).await, Some(stock0 - 3));
    }
);

both_with!(
    click_acts_only_on_the_orders_reference,
    ENV,
    |app: TestApp| async move {
        let vid = app.variant_id("Teapot").await;
        let stock0 = app.stock(vid).await.unwrap();
        let (oid, oid_ref) = placed(&app, 507, "click", 1).await;
        let (other, other_ref) = placed(&app, 507, "click", 1).await;
        assert_ne!(oid_ref, other_ref, "every order gets its own reference");

        // A stranger who knows (or guesses) the order id, signing correctly as Click would
        // for a payment of their own: the order id is not an account here.
        for id in [oid, other] {
            let v = click(
                &app,
                "prepare",
                &ClickReq::prepare(7_100 + id, &id.to_string(), "150000"),
            )
            .await;
            assert_eq!(
                (err(&v), v["error_note"].as_str()),
                (-5, Some("User does not exist")),
                "{v}"
            );
        }
        // Nor can a failed attempt under the order id end it.
        let mut failed = ClickReq::complete(7_200, &oid.to_string(), 1, "150000");
        failed.error = -5017;
        assert_eq!(err(&click(&app, "complete", &failed).await), -5);
        assert_eq!(order_status(&app, 507, oid).await, "pending_payment");
        assert_eq!(app.reserved(vid).await, 2);
        let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM click_attempts")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(attempts, 0, "no attempt was opened");

        // The reference pays the order it belongs to, and only that one.
        let v = click_pay(&app, 7_300, &oid_ref, "150000").await;
        assert_eq!(err(&v), 0, "{v}");
        assert_eq!(order_status(&app, 507, oid).await, "paid");
        assert_eq!(order_status(&app, 507, other).await, "pending_payment");
        assert_eq!(app.stock(vid).await, Some(stock0 - 2));
    }
);

both_with!(click_only_for_sum_goods, ENV, |app: TestApp| async move {
    // Stars-priced goods cannot go through Click (or Payme).
    let stickers = app.variant_id("Sticker").await;
    for m in ["click", "payme"] {
        let (s, v) = app
            .order(
                504,
                json!({"items": [{"variant_id": stickers, "quantity": 1}], "payment_method": m}),
            )
            .await;
        assert_eq!(
            (s, error_code(&v)),
            (400, "payment_method_unfit"),
            "{m}: {v}"
        );
    }
    // Subscriptions neither (they are Stars-priced here; a sum-priced one is refused too,
    // see the unit test in payments::click).
    let club = app.variant_id("Premium club").await;
    for m in ["click", "payme"] {
        let (s, v) = app
            .order(
                504,
                json!({"items": [{"variant_id": club, "quantity": 1}], "payment_method": m}),
            )
            .await;
        assert_eq!(
            (s, error_code(&v)),
            (400, "payment_method_unfit"),
            "{m}: {v}"
        );
    }
    // A cash order cannot be paid through Click: it has no reference, and its id is none.
    let cash = app.cash_order(504, app.variant_id("Teapot").await, 1).await;
    assert!(cash["checkout_url"].is_null(), "{cash}");
    let v = click(
        &app,
        "prepare",
        &ClickReq::prepare(6_001, &id(&cash).to_string(), "150000"),
    )
    .await;
    assert_eq!(err(&v), -5, "{v}");
});

both!(
    click_unconfigured_is_not_offered,
    |app: TestApp| async move {
        let vid = app.variant_id("Teapot").await;
        let (s, v) = app
        .order(505, json!({"items": [{"variant_id": vid, "quantity": 1}], "payment_method": "click", "contact": contact()}))
        .await;
        assert_eq!(
            (s, error_code(&v)),
            (400, "payment_method_unavailable"),
            "{v}"
        );
        // Whatever arrives, the answer is HTTP 200 in Click's shape.
        let res = app
            .client
            .get(app.url("/webhooks/click/complete"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let v: serde_json::Value = res.json().await.unwrap();
        assert_eq!(
            (err(&v), v["error_note"].as_str()),
            (-8, Some("Error in request from click"))
        );
        // The webhook still answers in Click's shape, and verifies nothing.
        let v = click(&app, "prepare", &ClickReq::prepare(6_002, "1", "150000")).await;
        assert_eq!(err(&v), -1, "{v}");
    }
);

both_with!(
    click_concurrent_retries_fulfil_once,
    ENV,
    |app: TestApp| async move {
        let vid = app.variant_id("Teapot").await;
        let stock0 = app.stock(vid).await.unwrap();
        let (oid, oid_ref) = placed(&app, 506, "click", 1).await;
        // Click repeats a Prepare it got no answer to while the first is still running.
        let prep = ClickReq::prepare(3_000_001, &oid_ref, "150000");
        let answers =
            futures_util::future::join_all((0..5).map(|_| click(&app, "prepare", &prep))).await;
        let ids: std::collections::BTreeSet<i64> = answers
            .iter()
            .map(|v| {
                assert_eq!(err(v), 0, "{v}");
                v["merchant_prepare_id"].as_i64().unwrap()
            })
            .collect();
        assert_eq!(ids.len(), 1, "one attempt, one prepare id: {answers:?}");
        let prepare_id = *ids.first().unwrap();
        // The same for Complete: one sale, every answer success or "already paid".
        let done = ClickReq::complete(3_000_001, &oid_ref, prepare_id, "150000");
        let answers =
            futures_util::future::join_all((0..5).map(|_| click(&app, "complete", &done))).await;
        assert!(answers.iter().any(|v| err(v) == 0), "{answers:?}");
        for v in &answers {
            assert!(matches!(err(v), 0 | -4), "{v}");
            assert_eq!(v["merchant_confirm_id"], json!(prepare_id), "{v}");
        }
        assert_eq!(paid_counts(&app, oid).await, (1, 1));
        assert_eq!(
            (app.stock(vid).await, app.reserved(vid).await),
            (Some(stock0 - 1), 0)
        );
    }
);

both_with!(
    click_fields_missing_or_of_the_wrong_type,
    ENV,
    |app: TestApp| async move {
        let (oid, oid_ref) = placed(&app, 508, "click", 1).await;
        let amount = "150000.00";
        let set = |mut f: Vec<(String, String)>, key: &str, value: &str| {
            for p in f.iter_mut().filter(|(k, _)| k == key) {
                p.1 = value.into();
            }
            f
        };
        let prepare = ClickReq::prepare(8_101, &oid_ref, amount).fields();
        let complete = ClickReq::complete(8_101, &oid_ref, 1, amount).fields();
        // -8 ("Error in request from click") for ids that are not whole numbers, an `error`
        // that is not one, a required field empty or missing, and a field sent twice.
        let mut twice = prepare.clone();
        twice.push(("amount".into(), "1.00".into()));
        let mut no_service = prepare.clone();
        no_service.retain(|(k, _)| k != "service_id");
        let cases = [
            ("prepare", set(prepare.clone(), "click_trans_id", "81O1")),
            ("prepare", set(prepare.clone(), "click_trans_id", "8101.0")),
            ("prepare", set(prepare.clone(), "error", "none")),
            ("prepare", set(prepare.clone(), "amount", "")),
            ("prepare", no_service),
            ("prepare", twice),
            (
                "complete",
                set(complete.clone(), "merchant_prepare_id", "1a"),
            ),
            ("complete", set(complete.clone(), "merchant_prepare_id", "")),
        ];
        for (endpoint, fields) in cases {
            let v = click_raw(&app, endpoint, &fields).await;
            assert_eq!(
                (err(&v), v["error_note"].as_str()),
                (-8, Some("Error in request from click")),
                "{endpoint} {fields:?}: {v}"
            );
        }
        // The answer still carries the ids Click sent, as far as they can be read: a number
        // as a number, anything else as the text.
        let v = click_raw(
            &app,
            "prepare",
            &set(prepare.clone(), "click_trans_id", "81O1"),
        )
        .await;
        assert_eq!(v["click_trans_id"], json!("81O1"), "{v}");
        assert_eq!(v["merchant_trans_id"], json!(oid_ref), "{v}");
        let v = click_raw(&app, "prepare", &set(prepare.clone(), "error", "none")).await;
        assert_eq!(v["click_trans_id"], json!(8_101), "{v}");
        let attempts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM click_attempts")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(attempts, 0, "nothing is prepared from a malformed request");

        // Fields Click sends beyond these (error_note; one it may add) are let through, and an
        // empty `error` is no error.
        let mut more = set(prepare.clone(), "error", "");
        more.push(("card_type".into(), "uzcard".into()));
        let v = click_raw(&app, "prepare", &more).await;
        assert_eq!(err(&v), 0, "{v}");
        assert_eq!(order_status(&app, 508, oid).await, "pending_payment");
    }
);
