//! Payme's sandbox scenario list (test.paycom.uz), in the order the sandbox runs it:
//! authorisation, wrong amount, unknown account, then a transaction created, repeated,
//! performed, cancelled and checked, a second order's transaction cancelled before perform,
//! and the statement. Accounts carry the order's reference from its checkout link. Each step sends what the sandbox sends and checks what it checks.

mod common;
#[path = "support/uz.rs"]
mod uz;

use common::*;
use serde_json::json;
use uz::*;

both_with!(payme_sandbox_scenarios, ENV, |app: TestApp| async move {
    let vid = app.variant_id("Teapot").await;
    let stock0 = app.stock(vid).await.unwrap();
    let (oid, oid_ref) = placed(&app, 701, "payme", 1).await;
    let amount = 15_000_000;
    let t_start = now_ms();

    // 1. Authorisation: an invalid key gets -32504 for every method.
    for m in [
        "CheckPerformTransaction",
        "CreateTransaction",
        "PerformTransaction",
        "CancelTransaction",
        "CheckTransaction",
        "GetStatement",
    ] {
        let body = json!({"method": m, "params": {"id": payme_id(1), "amount": amount, "account": account(&oid_ref)}, "id": 1}).to_string();
        let v = payme_raw(&app, Some(&basic("Paycom", "sandbox-wrong-key")), &body).await;
        assert_eq!(code(&v), Some(-32504), "{m}: {v}");
    }

    // 2. Wrong amount: -31001 in CheckPerformTransaction and CreateTransaction.
    let v = payme(
        &app,
        "CheckPerformTransaction",
        json!({"amount": 100, "account": account(&oid_ref)}),
    )
    .await;
    assert_eq!(code(&v), Some(-31001), "{v}");
    let v = create(&app, &payme_id(1), &oid_ref, 100, now_ms()).await;
    assert_eq!(code(&v), Some(-31001), "{v}");

    // 3. Unknown account: an error in -31050..-31099 in both.
    let v = payme(
        &app,
        "CheckPerformTransaction",
        json!({"amount": amount, "account": {"order_id": "100500"}}),
    )
    .await;
    let c = code(&v).unwrap();
    assert!((-31099..=-31050).contains(&c), "{v}");
    let v = payme(&app, "CreateTransaction", json!({"id": payme_id(1), "time": now_ms(), "amount": amount, "account": {"order_id": "100500"}})).await;
    let c = code(&v).unwrap();
    assert!((-31099..=-31050).contains(&c), "{v}");

    // 4. Check, then create a transaction; the same Create again gets the same answer.
    let v = payme(
        &app,
        "CheckPerformTransaction",
        json!({"amount": amount, "account": account(&oid_ref)}),
    )
    .await;
    assert_eq!(v["result"]["allow"], true, "{v}");
    let pid = payme_id(1);
    let time = now_ms();
    let c1 = create(&app, &pid, &oid_ref, amount, time).await;
    assert_eq!(c1["result"]["state"], 1, "{c1}");
    assert_eq!(
        create(&app, &pid, &oid_ref, amount, time).await["result"],
        c1["result"]
    );

    // 5. Another transaction for the same (one-time) order while the first waits: -31008.
    let v = create(&app, &payme_id(2), &oid_ref, amount, now_ms()).await;
    assert_eq!(code(&v), Some(-31008), "{v}");

    // 6. CheckTransaction of the waiting transaction.
    let v = payme(&app, "CheckTransaction", json!({"id": pid})).await;
    assert_eq!(
        v["result"],
        json!({"create_time": c1["result"]["create_time"], "perform_time": 0, "cancel_time": 0,
               "transaction": c1["result"]["transaction"], "state": 1, "reason": null})
    );

    // 7. Perform, and Perform again: the same answer, one sale.
    let p1 = payme(&app, "PerformTransaction", json!({"id": pid})).await;
    assert_eq!(p1["result"]["state"], 2, "{p1}");
    assert_eq!(
        payme(&app, "PerformTransaction", json!({"id": pid})).await["result"],
        p1["result"]
    );
    assert_eq!(order_status(&app, 701, oid).await, "paid");
    assert_eq!(paid_counts(&app, oid).await, (1, 1));

    // 8. Cancel the performed transaction (refund), twice: state -2, the same answer.
    let x1 = payme(&app, "CancelTransaction", json!({"id": pid, "reason": 5})).await;
    assert_eq!(x1["result"]["state"], -2, "{x1}");
    assert_eq!(
        payme(&app, "CancelTransaction", json!({"id": pid, "reason": 5})).await["result"],
        x1["result"]
    );
    assert_eq!(order_status(&app, 701, oid).await, "refunded");
    let v = payme(&app, "CheckTransaction", json!({"id": pid})).await;
    assert_eq!(
        (
            v["result"]["state"].as_i64(),
            v["result"]["reason"].as_i64()
        ),
        (Some(-2), Some(5))
    );
    assert_eq!(v["result"]["perform_time"], p1["result"]["perform_time"]);
    assert_eq!(v["result"]["cancel_time"], x1["result"]["cancel_time"]);

    // 9. A new order: create, then cancel before perform (state -1), twice; perform refused.
    let (oid2, oid2_ref) = placed(&app, 701, "payme", 1).await;
    let pid2 = payme_id(3);
    assert_eq!(
        create(&app, &pid2, &oid2_ref, amount, now_ms()).await["result"]["state"],
        1
    );
    let x = payme(&app, "CancelTransaction", json!({"id": pid2, "reason": 3})).await;
    assert_eq!(x["result"]["state"], -1, "{x}");
    assert_eq!(
        payme(&app, "CancelTransaction", json!({"id": pid2, "reason": 3})).await["result"],
        x["result"]
    );
    assert_eq!(
        code(&payme(&app, "PerformTransaction", json!({"id": pid2})).await),
        Some(-31008)
    );
    // Only the transaction ended: the order waits for another one with its units held.
    assert_eq!(order_status(&app, 701, oid2).await, "pending_payment");
    assert_eq!(
        (app.stock(vid).await, app.reserved(vid).await),
        (Some(stock0 - 1), 1),
        "the refunded order's stock back, the waiting order's held"
    );

    // 10. Unknown transaction ids: -31003.
    assert_eq!(
        code(&payme(&app, "CheckTransaction", json!({"id": payme_id(99)})).await),
        Some(-31003)
    );

    // 11. GetStatement over the test's period lists both transactions in time order.
    let v = payme(
        &app,
        "GetStatement",
        json!({"from": t_start - 1_000, "to": now_ms() + 1_000}),
    )
    .await;
    let txs = v["result"]["transactions"]
        .as_array()
        .expect("transactions");
    let ids: Vec<&str> = txs.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [pid.as_str(), pid2.as_str()], "{v}");
    assert_eq!(
        (txs[0]["state"].as_i64(), txs[1]["state"].as_i64()),
        (Some(-2), Some(-1))
    );
    assert_eq!(txs[0]["account"], account(&oid_ref));
});
