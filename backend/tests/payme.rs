//! Payme Merchant API: from an order placed over HTTP to paid and refunded, fiscal receipt
//! lines, every error code, the 12-hour timeout, retries, and a Click Complete racing a
//! Payme Perform for one order. Requests are JSON-RPC with Basic auth, as Payme sends them.

mod common;
#[path = "support/uz.rs"]
mod uz;

use base64::Engine;
use common::*;
use reqwest::Method;
use serde_json::json;
use uz::*;

both_with!(
    payme_happy_path_refund_and_retries,
    ENV,
    |app: TestApp| async move {
        let vid = app.variant_id("Teapot").await;
        let stock0 = app.stock(vid).await.unwrap();
        let o = order(&app, 601, "payme", 2).await;
        let oid = id(&o);
        let oid_ref = pay_ref(&o);
        let amount = 30_000_000;

        // The checkout link: Payme's host, then base64 of m;ac.order_id;a (tiyin);c (return
        // URL). The account is the order's random reference, nothing like its id.
        let url = o["checkout_url"].as_str().expect("checkout_url");
        let encoded = url
            .strip_prefix(&format!("{PAYME_CHECKOUT}/"))
            .unwrap_or_else(|| panic!("not on the Payme host: {url}"));
        let decoded = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .expect("base64"),
        )
        .unwrap();
        let params: std::collections::HashMap<&str, &str> = decoded
            .split(';')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        assert_eq!(params["m"], PAYME_MERCHANT_ID, "{decoded}");
        assert_eq!(params["ac.order_id"], oid_ref);
        assert!(
            oid_ref.len() >= 16 && oid_ref != oid.to_string(),
            "{oid_ref}"
        );
        assert_eq!(params["a"], amount.to_string());
        assert!(
            params["c"].starts_with("https://shop.example.uz/"),
            "{decoded}"
        );

        let v = payme(
            &app,
            "CheckPerformTransaction",
            json!({"amount": amount, "account": account(&oid_ref)}),
        )
        .await;
        assert_eq!(v["result"]["allow"], true, "{v}");

        let pid = payme_id(1);
        let t0 = now_ms();
        let c1 = create(&app, &pid, &oid_ref, amount, t0).await;
        let r = &c1["result"];
        assert_eq!(r["state"], 1, "{c1}");
        let tx = r["transaction"]
            .as_str()
            .expect("transaction id is a string")
            .to_string();
        let create_time = r["create_time"].as_i64().unwrap();
        assert!(
            create_time >= t0 - 5_000 && create_time > 1_000_000_000_000,
            "milliseconds: {create_time}"
        );
        // Repeated: the same answer.
        assert_eq!(
            create(&app, &pid, &oid_ref, amount, t0).await["result"],
            c1["result"]
        );
        assert_eq!(order_status(&app, 601, oid).await, "pending_payment");
        assert_eq!(
            app.reserved(vid).await,
            2,
            "stock held while Payme debits the card"
        );

        let p1 = payme(&app, "PerformTransaction", json!({"id": pid})).await;
        assert_eq!(p1["result"]["state"], 2, "{p1}");
        assert_eq!(p1["result"]["transaction"], json!(tx));
        assert!(p1["result"]["perform_time"].as_i64().unwrap() >= create_time);
        assert_eq!(order_status(&app, 601, oid).await, "paid");
        assert_eq!(
            (app.stock(vid).await, app.reserved(vid).await),
            (Some(stock0 - 2), 0)
        );
        for _ in 0..3 {
            let again = payme(&app, "PerformTransaction", json!({"id": pid})).await;
            assert_eq!(
                again["result"], p1["result"],
                "a repeated Perform gets the same answer"
            );
        }
        assert_eq!(paid_counts(&app, oid).await, (1, 1));

        let ck = payme(&app, "CheckTransaction", json!({"id": pid})).await;
        assert_eq!(
            ck["result"],
            json!({"create_time": create_time, "perform_time": p1["result"]["perform_time"],
               "cancel_time": 0, "transaction": tx, "state": 2, "reason": null})
        );

        // The merchant's refund button points at the Payme cabinet...
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
            .contains("Payme business cabinet"));

        // ...which cancels the performed transaction: the order is refunded, the units go back.
        let x1 = payme(&app, "CancelTransaction", json!({"id": pid, "reason": 5})).await;
        assert_eq!(x1["result"]["state"], -2, "{x1}");
        assert_eq!(x1["result"]["transaction"], json!(tx));
        assert!(x1["result"]["cancel_time"].as_i64().unwrap() > 0);
        assert_eq!(order_status(&app, 601, oid).await, "refunded");
        assert_eq!(
            (app.stock(vid).await, app.reserved(vid).await),
            (Some(stock0), 0)
        );
        let x2 = payme(&app, "CancelTransaction", json!({"id": pid, "reason": 5})).await;
        assert_eq!(
            x2["result"], x1["result"],
            "a repeated Cancel gets the same answer"
        );
        assert_eq!(app.stock(vid).await, Some(stock0), "restocked once");
        let ck = payme(&app, "CheckTransaction", json!({"id": pid})).await;
        assert_eq!(
            (
                ck["result"]["state"].as_i64(),
                ck["result"]["reason"].as_i64()
            ),
            (Some(-2), Some(5))
        );
        // A performed-then-cancelled transaction cannot be performed again.
        let v = payme(&app, "PerformTransaction", json!({"id": pid})).await;
        assert_eq!(code(&v), Some(-31008), "{v}");

        // The reference names the order; its id, as a number or a string, names nothing.
        let (oid2, oid2_ref) = placed(&app, 601, "payme", 1).await;
        let v = payme(
            &app,
            "CheckPerformTransaction",
            json!({"amount": 15_000_000, "account": account(&oid2_ref)}),
        )
        .await;
        assert_eq!(v["result"]["allow"], true, "{v}");
        for acc in [json!({"order_id": oid2}), account(&oid2.to_string())] {
            let v = payme(
                &app,
                "CheckPerformTransaction",
                json!({"amount": 15_000_000, "account": acc}),
            )
            .await;
            assert_eq!(code(&v), Some(-31050), "{v}");
        }
    }
);

both_with!(
    payme_receipt_detail_has_fiscal_codes,
    ENV,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let teapot = app.product("Teapot").await["id"].as_i64().unwrap();
        let bowl = app.product("Rishtan bowl").await;
        let (bowl_pid, bowl_vid) = (
            bowl["id"].as_i64().unwrap(),
            bowl["variants"][0]["id"].as_i64().unwrap(),
        );
        for (pid, ikpu, pkg, vat) in [
            (teapot, "07323001001000000", "1501111", 12),
            (bowl_pid, "06911001001000000", "1502222", 0),
        ] {
            let (s, v) = app
                .json(
                    app.admin(Method::PATCH, &format!("/api/admin/products/{pid}"), &csrf)
                        .json(&json!({"ikpu_code": ikpu, "package_code": pkg, "vat_percent": vat})),
                )
                .await;
            assert_eq!(s, 200, "{v}");
        }
        let teapot_vid = app.variant_id("Teapot").await;
        let (s, o) = app
        .order(
            602,
            json!({"items": [{"variant_id": teapot_vid, "quantity": 2}, {"variant_id": bowl_vid, "quantity": 3}],
                   "payment_method": "payme", "contact": contact()}),
        )
        .await;
        assert_eq!(s, 201, "{o}");
        let total = o["total"]["amount_minor"].as_i64().unwrap();
        assert_eq!(total, 2 * 15_000_000 + 3 * 8_500_000);
        let v = payme(
            &app,
            "CheckPerformTransaction",
            json!({"amount": total, "account": account(&pay_ref(&o))}),
        )
        .await;
        let d = &v["result"]["detail"];
        assert_eq!(d["receipt_type"], 0, "{v}");
        let items = d["items"].as_array().expect("items");
        assert_eq!(items.len(), 2);
        let teapot_line = items
            .iter()
            .find(|i| i["code"] == "07323001001000000")
            .expect("teapot line");
        assert_eq!(
            (
                teapot_line["price"].as_i64(),
                teapot_line["count"].as_i64(),
                teapot_line["package_code"].as_str(),
                teapot_line["vat_percent"].as_i64()
            ),
            (Some(15_000_000), Some(2), Some("1501111"), Some(12))
        );
        assert_eq!(teapot_line["title"], "Teapot");
        let bowl_line = items
            .iter()
            .find(|i| i["code"] == "06911001001000000")
            .expect("bowl line");
        assert_eq!(
            (
                bowl_line["count"].as_i64(),
                bowl_line["vat_percent"].as_i64()
            ),
            (Some(3), Some(0))
        );
        let sum: i64 = items
            .iter()
            .map(|i| i["price"].as_i64().unwrap() * i["count"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, total, "receipt lines add up to the amount");

        // A product without codes: no receipt detail rather than one the tax service rejects.
        let (_, oid_ref) = placed(&app, 602, "payme", 1).await;
        let (s, _) = app
            .json(
                app.admin(
                    Method::PATCH,
                    &format!("/api/admin/products/{teapot}"),
                    &csrf,
                )
                .json(&json!({"ikpu_code": null})),
            )
            .await;
        assert_eq!(s, 200);
        let v = payme(
            &app,
            "CheckPerformTransaction",
            json!({"amount": 15_000_000, "account": account(&oid_ref)}),
        )
        .await;
        assert_eq!(v["result"]["allow"], true, "{v}");
        assert!(v["result"].get("detail").is_none(), "{v}");

        // SetFiscalData: Payme reports the receipt it registered.
        let pid = payme_id(20);
        assert_eq!(
            create(&app, &pid, &oid_ref, 15_000_000, now_ms()).await["result"]["state"],
            1
        );
        payme(&app, "PerformTransaction", json!({"id": pid})).await;
        let fiscal = json!({"receipt_id": 24, "status_code": 0, "message": "accepted", "terminal_id": "EP000000000025",
                        "fiscal_sign": "430000000000", "qr_code_url": "https://ofd.soliq.uz/check?t=EP&r=24", "date": "20261125120000"});
        let v = payme(
            &app,
            "SetFiscalData",
            json!({"id": pid, "type": "PERFORM", "fiscal_data": fiscal}),
        )
        .await;
        assert_eq!(v["result"], json!({"success": true}), "{v}");
        let stored: Option<String> =
            sqlx::query_scalar("SELECT fiscal_perform FROM payme_transactions WHERE payme_id = $1")
                .bind(&pid)
                .fetch_one(&app.state.db.pool)
                .await
                .unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&stored.unwrap()).unwrap(),
            fiscal
        );
        let v = payme(
            &app,
            "SetFiscalData",
            json!({"id": pid, "type": "REFUND", "fiscal_data": fiscal}),
        )
        .await;
        assert_eq!(code(&v), Some(-32600), "{v}");
        let v = payme(
            &app,
            "SetFiscalData",
            json!({"id": payme_id(21), "type": "PERFORM", "fiscal_data": fiscal}),
        )
        .await;
        assert_eq!(code(&v), Some(-31003), "{v}");
    }
);

both_with!(payme_error_codes, ENV, |app: TestApp| async move {
    let (oid, oid_ref) = placed(&app, 603, "payme", 1).await;
    let amount = 15_000_000;
    let check = json!({"method": "CheckPerformTransaction", "params": {"amount": amount, "account": account(&oid_ref)}, "id": 77}).to_string();

    // -32504: no credentials, the wrong key, the wrong login, not Basic.
    for auth in [
        None,
        Some(basic("Paycom", "wrong")),
        Some(basic("Other", PAYME_KEY)),
        Some(format!("Bearer {PAYME_KEY}")),
    ] {
        let v = payme_raw(&app, auth.as_deref(), &check).await;
        assert_eq!(code(&v), Some(-32504), "{auth:?}: {v}");
        assert_eq!(v["id"], 77);
    }
    let good = basic("Paycom", PAYME_KEY);
    // -32700: not JSON.
    let v = payme_raw(&app, Some(&good), "{not json").await;
    assert_eq!(code(&v), Some(-32700), "{v}");
    // -32600: no method, no params, or a field of the wrong type.
    let v = payme_raw(
        &app,
        Some(&good),
        &json!({"id": 1, "params": {}}).to_string(),
    )
    .await;
    assert_eq!(code(&v), Some(-32600), "{v}");
    let v = payme(
        &app,
        "CreateTransaction",
        json!({"id": payme_id(30), "time": "yesterday", "amount": amount, "account": account(&oid_ref)}),
    )
    .await;
    assert_eq!(code(&v), Some(-32600), "{v}");
    let v = payme(&app, "CancelTransaction", json!({"id": payme_id(30)})).await;
    assert_eq!(code(&v), Some(-32600), "{v}");
    // -32601: unknown method, named in data.
    let v = payme(&app, "ChangePassword", json!({"password": "new"})).await;
    assert_eq!(
        (code(&v), v["error"]["data"].as_str()),
        (Some(-32601), Some("ChangePassword")),
        "{v}"
    );
    // -32300: not a POST (still HTTP 200 and JSON-RPC).
    let res = app
        .client
        .get(app.url("/webhooks/payme"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(code(&v), Some(-32300), "{v}");

    // -31001: wrong amount, in Check and Create.
    for a in [amount - 1, amount * 100, amount / 100] {
        let v = payme(
            &app,
            "CheckPerformTransaction",
            json!({"amount": a, "account": account(&oid_ref)}),
        )
        .await;
        assert_eq!(code(&v), Some(-31001), "{v}");
    }
    let v = create(&app, &payme_id(31), &oid_ref, amount + 100, now_ms()).await;
    assert_eq!(code(&v), Some(-31001), "{v}");

    // -31050: unknown or malformed order id, or none; data names the field.
    for acc in [
        json!({"order_id": "999999"}),
        json!({"order_id": "abc"}),
        json!({"order_id": -3}),
        json!({"phone": "998901234567"}),
    ] {
        let v = payme(
            &app,
            "CheckPerformTransaction",
            json!({"amount": amount, "account": acc}),
        )
        .await;
        assert_eq!(
            (code(&v), v["error"]["data"].as_str()),
            (Some(-31050), Some("order_id")),
            "{acc}: {v}"
        );
    }
    // -31003: no such transaction.
    for m in ["PerformTransaction", "CheckTransaction"] {
        let v = payme(&app, m, json!({"id": payme_id(404)})).await;
        assert_eq!(code(&v), Some(-31003), "{m}: {v}");
    }
    let v = payme(
        &app,
        "CancelTransaction",
        json!({"id": payme_id(404), "reason": 1}),
    )
    .await;
    assert_eq!(code(&v), Some(-31003), "{v}");

    // -31008: a second transaction while one waits (one-time orders), in Create and Check.
    let first = payme_id(32);
    assert_eq!(
        create(&app, &first, &oid_ref, amount, now_ms()).await["result"]["state"],
        1
    );
    let v = create(&app, &payme_id(33), &oid_ref, amount, now_ms()).await;
    assert_eq!(code(&v), Some(-31008), "{v}");
    let v = payme(
        &app,
        "CheckPerformTransaction",
        json!({"amount": amount, "account": account(&oid_ref)}),
    )
    .await;
    assert_eq!(code(&v), Some(-31008), "{v}");
    // -31008: a transaction created more than 12 hours ago (Payme's time) is refused.
    let (oid_late, oid_late_ref) = placed(&app, 603, "payme", 1).await;
    let v = create(
        &app,
        &payme_id(34),
        &oid_late_ref,
        amount,
        now_ms() - 43_200_000 - 60_000,
    )
    .await;
    assert_eq!(code(&v), Some(-31008), "{v}");

    // Cancel the waiting transaction: state -1; the order waits on for another transaction.
    let x = payme(&app, "CancelTransaction", json!({"id": first, "reason": 3})).await;
    assert_eq!(x["result"]["state"], -1, "{x}");
    assert_eq!(order_status(&app, 603, oid).await, "pending_payment");
    // -31008: perform a cancelled transaction.
    let v = payme(&app, "PerformTransaction", json!({"id": first})).await;
    assert_eq!(code(&v), Some(-31008), "{v}");
    // -31052 (account range): the order is cancelled (by the merchant here).
    let csrf = app.admin_login().await;
    let (s, v) = app
        .json(app.admin(
            Method::POST,
            &format!("/api/admin/orders/{oid}/cancel"),
            &csrf,
        ))
        .await;
    assert_eq!(s, 200, "{v}");
    let v = payme(
        &app,
        "CheckPerformTransaction",
        json!({"amount": amount, "account": account(&oid_ref)}),
    )
    .await;
    assert_eq!(
        (code(&v), v["error"]["data"].as_str()),
        (Some(-31052), Some("order_id")),
        "{v}"
    );

    // -31051: the order is already paid.
    let pid = payme_id(35);
    assert_eq!(
        create(&app, &pid, &oid_late_ref, amount, now_ms()).await["result"]["state"],
        1
    );
    assert_eq!(
        payme(&app, "PerformTransaction", json!({"id": pid})).await["result"]["state"],
        2
    );
    let v = payme(
        &app,
        "CheckPerformTransaction",
        json!({"amount": amount, "account": account(&oid_late_ref)}),
    )
    .await;
    assert_eq!(code(&v), Some(-31051), "{v}");
    let v = create(&app, &payme_id(36), &oid_late_ref, amount, now_ms()).await;
    assert_eq!(code(&v), Some(-31051), "{v}");

    // -31007: the goods were delivered; the transaction stays performed.
    for step in ["ship", "deliver"] {
        let (s, v) = app
            .json(app.admin(
                Method::POST,
                &format!("/api/admin/orders/{oid_late}/{step}"),
                &csrf,
            ))
            .await;
        assert_eq!(s, 200, "{step}: {v}");
    }
    let v = payme(&app, "CancelTransaction", json!({"id": pid, "reason": 5})).await;
    assert_eq!(code(&v), Some(-31007), "{v}");
    assert_eq!(
        payme(&app, "CheckTransaction", json!({"id": pid})).await["result"]["state"],
        2
    );
    assert_eq!(order_status(&app, 603, oid_late).await, "delivered");

    // -32400: our own failure, reported as a system error (and still HTTP 200).
    let (_, oid3_ref) = placed(&app, 603, "payme", 1).await;
    sqlx::query("ALTER TABLE payme_transactions RENAME TO payme_away")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let v = create(&app, &payme_id(37), &oid3_ref, amount, now_ms()).await;
    assert_eq!(code(&v), Some(-32400), "{v}");
    sqlx::query("ALTER TABLE payme_away RENAME TO payme_transactions")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        create(&app, &payme_id(37), &oid3_ref, amount, now_ms()).await["result"]["state"],
        1
    );
});

both_with!(payme_twelve_hour_timeout, ENV, |app: TestApp| async move {
    let vid = app.variant_id("Teapot").await;
    let stock0 = app.stock(vid).await.unwrap();
    let (oid, oid_ref) = placed(&app, 604, "payme", 1).await;
    // Payme created it just under 12 hours ago; by the time it performs, the window is over.
    let pid = payme_id(40);
    let c = create(
        &app,
        &pid,
        &oid_ref,
        15_000_000,
        now_ms() - 43_200_000 + 1_500,
    )
    .await;
    assert_eq!(c["result"]["state"], 1, "{c}");
    tokio::time::sleep(std::time::Duration::from_millis(2_000)).await;
    let v = payme(&app, "PerformTransaction", json!({"id": pid})).await;
    assert_eq!(code(&v), Some(-31008), "{v}");
    let ck = payme(&app, "CheckTransaction", json!({"id": pid})).await;
    assert_eq!(
        (
            ck["result"]["state"].as_i64(),
            ck["result"]["reason"].as_i64()
        ),
        (Some(-1), Some(4)),
        "{ck}"
    );
    assert!(ck["result"]["cancel_time"].as_i64().unwrap() > 0);
    assert_eq!(ck["result"]["perform_time"], 0);
    // Only the transaction timed out: the order keeps its reservation (its own expiry ends it).
    assert_eq!(order_status(&app, 604, oid).await, "pending_payment");
    assert_eq!(
        (app.stock(vid).await, app.reserved(vid).await),
        (Some(stock0 - 1), 1)
    );
    // Repeats stay refused; nothing was ever paid.
    assert_eq!(
        code(&payme(&app, "PerformTransaction", json!({"id": pid})).await),
        Some(-31008)
    );
    assert_eq!(
        code(&create(&app, &pid, &oid_ref, 15_000_000, now_ms()).await),
        Some(-31008)
    );
    assert_eq!(paid_counts(&app, oid).await, (0, 0));

    // A transaction forgotten in state 1 does not block the order: a new one times it out
    // and goes on.
    let (oid2, oid2_ref) = placed(&app, 604, "payme", 1).await;
    let old = payme_id(41);
    let c = create(
        &app,
        &old,
        &oid2_ref,
        15_000_000,
        now_ms() - 43_200_000 + 1_500,
    )
    .await;
    assert_eq!(c["result"]["state"], 1, "{c}");
    tokio::time::sleep(std::time::Duration::from_millis(2_000)).await;
    let fresh = payme_id(42);
    let c = create(&app, &fresh, &oid2_ref, 15_000_000, now_ms()).await;
    assert_eq!(c["result"]["state"], 1, "{c}");
    let ck = payme(&app, "CheckTransaction", json!({"id": old})).await;
    assert_eq!(
        (
            ck["result"]["state"].as_i64(),
            ck["result"]["reason"].as_i64()
        ),
        (Some(-1), Some(4))
    );
    let p = payme(&app, "PerformTransaction", json!({"id": fresh})).await;
    assert_eq!(p["result"]["state"], 2, "{p}");
    assert_eq!(order_status(&app, 604, oid2).await, "paid");
});

both_with!(
    payme_acts_only_on_the_orders_reference,
    ENV,
    |app: TestApp| async move {
        let vid = app.variant_id("Teapot").await;
        let stock0 = app.stock(vid).await.unwrap();
        let (oid, oid_ref) = placed(&app, 609, "payme", 1).await;
        let amount = 15_000_000;

        // A stranger naming the order by its id (as Payme lets anyone type it): an account
        // error, and no transaction that would lock the real buyer out with -31008.
        for acc in [
            json!({"order_id": oid}),
            json!({"order_id": oid.to_string()}),
        ] {
            let v = payme(
                &app,
                "CheckPerformTransaction",
                json!({"amount": amount, "account": acc}),
            )
            .await;
            let c = code(&v).unwrap();
            assert!((-31099..=-31050).contains(&c), "{acc}: {v}");
            let v = payme(
                &app,
                "CreateTransaction",
                json!({"id": payme_id(400), "time": now_ms(), "amount": amount, "account": acc}),
            )
            .await;
            let c = code(&v).unwrap();
            assert!((-31099..=-31050).contains(&c), "{acc}: {v}");
        }
        let made: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payme_transactions")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(made, 0);

        // A transaction cancelled before it was performed ends only itself.
        let first = payme_id(401);
        assert_eq!(
            create(&app, &first, &oid_ref, amount, now_ms()).await["result"]["state"],
            1
        );
        let x = payme(&app, "CancelTransaction", json!({"id": first, "reason": 3})).await;
        assert_eq!(x["result"]["state"], -1, "{x}");
        assert_eq!(order_status(&app, 609, oid).await, "pending_payment");
        assert_eq!(
            (app.stock(vid).await, app.reserved(vid).await),
            (Some(stock0 - 1), 1)
        );

        // The buyer tries again: a new transaction pays the order, once.
        let v = payme(
            &app,
            "CheckPerformTransaction",
            json!({"amount": amount, "account": account(&oid_ref)}),
        )
        .await;
        assert_eq!(v["result"]["allow"], true, "{v}");
        let second = payme_id(402);
        assert_eq!(
            create(&app, &second, &oid_ref, amount, now_ms()).await["result"]["state"],
            1
        );
        let p = payme(&app, "PerformTransaction", json!({"id": second})).await;
        assert_eq!(p["result"]["state"], 2, "{p}");
        assert_eq!(order_status(&app, 609, oid).await, "paid");
        assert_eq!(paid_counts(&app, oid).await, (1, 1));
        assert_eq!(
            (app.stock(vid).await, app.reserved(vid).await),
            (Some(stock0 - 1), 0)
        );
        // The cancelled one stays cancelled.
        assert_eq!(
            code(&payme(&app, "PerformTransaction", json!({"id": first})).await),
            Some(-31008)
        );
    }
);

both_with!(
    payme_perform_refused_when_order_paid_elsewhere,
    ENV,
    |app: TestApp| async move {
        let vid = app.variant_id("Teapot").await;
        let stock0 = app.stock(vid).await.unwrap();
        let (oid, oid_ref) = placed(&app, 605, "payme", 1).await;
        let pid = payme_id(50);
        assert_eq!(
            create(&app, &pid, &oid_ref, 15_000_000, now_ms()).await["result"]["state"],
            1
        );
        // The customer paid through Click meanwhile.
        let v = click_pay(&app, 5_000_001, &oid_ref, "150000").await;
        assert_eq!(err(&v), 0, "{v}");
        // Payme's Perform is refused so Payme returns the money; the transaction is cancelled.
        let v = payme(&app, "PerformTransaction", json!({"id": pid})).await;
        assert_eq!(code(&v), Some(-31008), "{v}");
        let ck = payme(&app, "CheckTransaction", json!({"id": pid})).await;
        assert_eq!(
            (
                ck["result"]["state"].as_i64(),
                ck["result"]["reason"].as_i64()
            ),
            (Some(-1), Some(3))
        );
        // Payme cancelling it afterwards changes nothing: the order stays paid through Click.
        let x = payme(&app, "CancelTransaction", json!({"id": pid, "reason": 3})).await;
        assert_eq!(x["result"]["state"], -1, "{x}");
        assert_eq!(order_status(&app, 605, oid).await, "paid");
        assert_eq!(paid_counts(&app, oid).await, (1, 1));
        assert_eq!(
            (app.stock(vid).await, app.reserved(vid).await),
            (Some(stock0 - 1), 0)
        );
    }
);

both_with!(
    click_complete_races_payme_perform,
    ENV,
    |app: TestApp| async move {
        let vid = app.variant_id("Teapot").await;
        let stock0 = app.stock(vid).await.unwrap();
        let csrf = app.admin_login().await;
        let rounds = 6;
        let mut duplicates = 0;
        for round in 0..rounds {
            let (oid, oid_ref) =
                placed(&app, 606, if round % 2 == 0 { "payme" } else { "click" }, 1).await;
            let trans = 4_000_000 + round;
            let pid = payme_id(100 + round as u64);
            let p = click(
                &app,
                "prepare",
                &ClickReq::prepare(trans, &oid_ref, "150000"),
            )
            .await;
            assert_eq!(err(&p), 0, "{p}");
            let prep = p["merchant_prepare_id"].as_i64().unwrap();
            assert_eq!(
                create(&app, &pid, &oid_ref, 15_000_000, now_ms()).await["result"]["state"],
                1
            );

            let done = ClickReq::complete(trans, &oid_ref, prep, "150000.00");
            let (c, pm) = tokio::join!(
                click(&app, "complete", &done),
                payme(&app, "PerformTransaction", json!({"id": pid})),
            );
            // Whatever the interleaving, the order is paid exactly once, its stock sold once.
            let (paid, live) = paid_counts(&app, oid).await;
            assert_eq!((paid, live), (1, 1), "round {round}: click {c}, payme {pm}");
            assert_eq!(order_status(&app, 606, oid).await, "paid");
            let click_ok = err(&c) == 0;
            let payme_ok = pm["result"]["state"] == 2;
            assert!(click_ok || payme_ok, "one rail succeeded: {c} {pm}");
            if !click_ok {
                assert_eq!(err(&c), -4, "{c}");
            }
            if !payme_ok {
                assert_eq!(code(&pm), Some(-31008), "{pm}");
            }
            // Retries of both change nothing.
            click(&app, "complete", &done).await;
            payme(&app, "PerformTransaction", json!({"id": pid})).await;
            assert_eq!(paid_counts(&app, oid).await, (1, 1));

            // When both took the money, Payme's copy is flagged for refund; cancelling it in
            // the Payme cabinet gives it back even after delivery, and the order stays paid.
            let payme_duplicate: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM payments WHERE provider = 'payme' \
                 AND provider_payment_id = $1 AND needs_refund = 1",
            )
            .bind(&pid)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
            if payme_duplicate == 1 {
                duplicates += 1;
                for step in ["ship", "deliver"] {
                    let path = format!("/api/admin/orders/{oid}/{step}");
                    let (s, v) = app.json(app.admin(Method::POST, &path, &csrf)).await;
                    assert_eq!(s, 200, "{step}: {v}");
                }
                let x = payme(&app, "CancelTransaction", json!({"id": pid, "reason": 5})).await;
                assert_eq!(x["result"]["state"], -2, "{x}");
                assert_eq!(order_status(&app, 606, oid).await, "delivered");
                let flagged: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM payments WHERE order_id = $1 AND needs_refund = 1",
                )
                .bind(oid)
                .fetch_one(&app.state.db.pool)
                .await
                .unwrap();
                assert_eq!(flagged, 0, "the duplicate is refunded");
            }
        }
        eprintln!("{duplicates} of {rounds} rounds had both rails take the money");
        assert_eq!(app.stock(vid).await, Some(stock0 - rounds));
        assert_eq!(app.reserved(vid).await, 0);
    }
);

both_with!(
    payme_statement_lists_the_period,
    ENV,
    |app: TestApp| async move {
        let base = now_ms() - 60_000;
        let mut made = vec![];
        for i in 0..3 {
            let (_, oid_ref) = placed(&app, 607, "payme", 1).await;
            let pid = payme_id(200 + i);
            assert_eq!(
                create(&app, &pid, &oid_ref, 15_000_000, base + i as i64 * 1_000).await["result"]
                    ["state"],
                1
            );
            made.push((pid, oid_ref));
        }
        payme(&app, "PerformTransaction", json!({"id": made[1].0})).await;
        payme(
            &app,
            "CancelTransaction",
            json!({"id": made[2].0, "reason": 2}),
        )
        .await;

        let v = payme(
            &app,
            "GetStatement",
            json!({"from": base, "to": base + 1_000}),
        )
        .await;
        let txs = v["result"]["transactions"]
            .as_array()
            .expect("transactions");
        assert_eq!(txs.len(), 2, "only the period asked for: {v}");
        assert_eq!(txs[0]["id"], json!(made[0].0));
        assert_eq!(txs[0]["time"], json!(base));
        assert_eq!(txs[0]["amount"], json!(15_000_000));
        assert_eq!(txs[0]["account"], account(&made[0].1));
        assert_eq!(
            (txs[0]["state"].as_i64(), txs[1]["state"].as_i64()),
            (Some(1), Some(2))
        );
        assert!(txs[1]["perform_time"].as_i64().unwrap() > 0);
        assert!(txs[0]["transaction"].is_string());

        let v = payme(
            &app,
            "GetStatement",
            json!({"from": base, "to": base + 10_000}),
        )
        .await;
        let txs = v["result"]["transactions"].as_array().unwrap();
        assert_eq!(txs.len(), 3);
        assert_eq!(
            (txs[2]["state"].as_i64(), txs[2]["reason"].as_i64()),
            (Some(-1), Some(2))
        );
        let v = payme(
            &app,
            "GetStatement",
            json!({"from": base - 10_000, "to": base - 1}),
        )
        .await;
        assert_eq!(v["result"]["transactions"], json!([]));
    }
);

both_with!(
    payme_concurrent_retries_fulfil_once,
    ENV,
    |app: TestApp| async move {
        let vid = app.variant_id("Teapot").await;
        let stock0 = app.stock(vid).await.unwrap();
        let (oid, oid_ref) = placed(&app, 608, "payme", 1).await;
        let pid = payme_id(300);
        let time = now_ms();
        // Payme repeating calls it got no answer to, all at once.
        let creates = futures_util::future::join_all(
            (0..5).map(|_| create(&app, &pid, &oid_ref, 15_000_000, time)),
        )
        .await;
        for c in &creates {
            assert_eq!(c["result"], creates[0]["result"], "{creates:?}");
        }
        assert_eq!(creates[0]["result"]["state"], 1);
        let performs = futures_util::future::join_all(
            (0..5).map(|_| payme(&app, "PerformTransaction", json!({"id": pid}))),
        )
        .await;
        for p in &performs {
            assert_eq!(p["result"], performs[0]["result"], "{performs:?}");
        }
        assert_eq!(performs[0]["result"]["state"], 2);
        assert_eq!(paid_counts(&app, oid).await, (1, 1));
        let cancels = futures_util::future::join_all(
            (0..5).map(|_| payme(&app, "CancelTransaction", json!({"id": pid, "reason": 5}))),
        )
        .await;
        for x in &cancels {
            assert_eq!(x["result"], cancels[0]["result"], "{cancels:?}");
        }
        assert_eq!(cancels[0]["result"]["state"], -2);
        assert_eq!(order_status(&app, 608, oid).await, "refunded");
        assert_eq!(
            (app.stock(vid).await, app.reserved(vid).await),
            (Some(stock0), 0),
            "refunded and restocked once"
        );
    }
);

both_with!(
    payme_params_missing_or_of_the_wrong_type,
    ENV,
    |app: TestApp| async move {
        let (oid, oid_ref) = placed(&app, 620, "payme", 1).await;
        let amount = 15_000_000;
        let pid = payme_id(620);
        let time = now_ms();
        // -32600 for each method's params, missing or of the wrong type, with the field at
        // fault in `data`; nothing is looked up or written.
        let cases = [
            (
                "CheckPerformTransaction",
                json!({"account": account(&oid_ref)}),
                "missing field `amount`",
            ),
            (
                "CheckPerformTransaction",
                json!({"amount": amount.to_string(), "account": account(&oid_ref)}),
                "amount: invalid type",
            ),
            (
                "CheckPerformTransaction",
                json!({"amount": amount, "account": oid_ref}),
                "account: invalid type",
            ),
            (
                "CreateTransaction",
                json!({"id": pid, "time": time, "amount": amount}),
                "missing field `account`",
            ),
            (
                "CreateTransaction",
                json!({"id": pid, "time": time, "amount": 1.5, "account": account(&oid_ref)}),
                "amount: invalid type",
            ),
            (
                "CreateTransaction",
                json!({"id": 620, "time": time, "amount": amount, "account": account(&oid_ref)}),
                "id: invalid type",
            ),
            (
                "CreateTransaction",
                json!({"id": "", "time": time, "amount": amount, "account": account(&oid_ref)}),
                "id: a Payme transaction id",
            ),
            (
                "PerformTransaction",
                json!({"transaction": pid}),
                "missing field `id`",
            ),
            (
                "PerformTransaction",
                json!({"id": null}),
                "id: invalid type",
            ),
            (
                "CancelTransaction",
                json!({"id": pid, "reason": "timeout"}),
                "reason: invalid type",
            ),
            ("CheckTransaction", json!({"id": [pid]}), "id: invalid type"),
            ("GetStatement", json!({"from": time}), "missing field `to`"),
            (
                "GetStatement",
                json!({"from": "today", "to": time}),
                "from: invalid type",
            ),
            (
                "SetFiscalData",
                json!({"id": pid, "type": "PERFORM", "fiscal_data": "receipt"}),
                "fiscal_data: invalid type",
            ),
        ];
        for (method, params, data) in cases {
            let v = payme(&app, method, params.clone()).await;
            assert_eq!(code(&v), Some(-32600), "{method} {params}: {v}");
            let got = v["error"]["data"].as_str().unwrap_or_default();
            assert!(got.starts_with(data), "{method} {params}: {v}");
        }
        let txs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payme_transactions")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(txs, 0, "no transaction from a malformed call");

        // An account whose order_id names nothing is the account error (-31050, the field in
        // data), not a malformed request.
        for bad in [
            json!({}),
            json!({"order_id": ["x"]}),
            json!({"order_id": ""}),
        ] {
            let v = payme(
                &app,
                "CheckPerformTransaction",
                json!({"amount": amount, "account": bad}),
            )
            .await;
            assert_eq!(
                (code(&v), v["error"]["data"].as_str()),
                (Some(-31050), Some("order_id")),
                "{bad}: {v}"
            );
        }
        // Fields beyond the protocol's are let through, and the account is kept as sent.
        let acc = json!({"order_id": oid_ref, "phone": "998901234567"});
        let v = payme(
            &app,
            "CreateTransaction",
            json!({"id": pid, "time": time, "amount": amount, "account": acc, "payer": {"x": 1}}),
        )
        .await;
        assert_eq!(v["result"]["state"], 1, "{v}");
        let v = payme(
            &app,
            "GetStatement",
            json!({"from": time - 1, "to": time + 1}),
        )
        .await;
        assert_eq!(v["result"]["transactions"][0]["account"], acc, "{v}");
        assert_eq!(order_status(&app, 620, oid).await, "pending_payment");
    }
);
