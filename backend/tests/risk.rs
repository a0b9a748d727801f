//! Orders to look at (`shop::orders::risk`), on SQLite and PostgreSQL: each rule flags an order
//! with its reason, the admin lists flagged orders, and a flagged cash order is not shipped or
//! delivered until the merchant confirms it.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use shop::orders::lifecycle::{self, By, Ending};
use shop::orders::risk;

/// A cash order of `qty` units of `variant` by `user`, delivered to `address`.
async fn cash_order(app: &TestApp, user: i64, variant: i64, qty: i64, address: &str) -> i64 {
    let (s, o) = app
        .order(
            user,
            json!({"items": [{"variant_id": variant, "quantity": qty}], "payment_method": "cash",
                   "contact": {"name": "Aziz", "phone": "+998 90 000 00 01", "address": address}}),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    o["id"].as_i64().unwrap()
}

async fn admin_order(app: &TestApp, csrf: &str, id: i64) -> Value {
    let (s, v) = app
        .json(app.admin(Method::GET, &format!("/api/admin/orders/{id}"), csrf))
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn admin_act(app: &TestApp, csrf: &str, id: i64, action: &str) -> (u16, Value) {
    app.json(app.admin(
        Method::POST,
        &format!("/api/admin/orders/{id}/{action}"),
        csrf,
    ))
    .await
}

/// Waits for the background assessment the order's placement started to be visible (its
/// `flagged` event), and answers the admin's view of the order then.
async fn assessed(app: &TestApp, csrf: &str, id: i64) -> Value {
    for _ in 0..200 {
        let o = admin_order(app, csrf, id).await;
        let event = o["events"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["kind"] == "flagged"));
        // The event and the flag are one write, read by two queries: wait for both.
        if o["risk"].is_object() && event {
            return o;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("order {id} was never flagged")
}

both!(
    orders_to_many_addresses_are_flagged_and_held_until_confirmed,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let tea = app.variant_id("Green tea").await;
        let first = cash_order(&app, 51, tea, 1, "Chilonzor 5").await;
        // The same address written differently is one address.
        let second = cash_order(&app, 51, tea, 1, "chilonzor, 5.").await;
        let third = cash_order(&app, 51, tea, 1, "Yunusobod 12").await;
        // Assessed in the background: recomputing here gives what it stored.
        assert_eq!(risk::assess(&app.state.db, first).await.unwrap(), None);
        assert_eq!(risk::assess(&app.state.db, second).await.unwrap(), None);
        let fourth = cash_order(&app, 51, tea, 1, "Sergeli 3").await;
        let o = assessed(&app, &csrf, fourth).await;
        assert_eq!(
            o["risk"]["reason"], "orders to 3 different addresses within a day",
            "{o}"
        );
        assert!(o["risk"].get("confirmed_at").is_none(), "{o}");
        assert!(
            o["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["kind"] == "flagged"),
            "{o}"
        );
        assert!(admin_order(&app, &csrf, third).await["risk"].is_null());
        // Customers never see the flag.
        let (_, mine) = app
            .json(app.as_user(Method::GET, &format!("/api/orders/{fourth}"), 51))
            .await;
        assert!(mine.get("risk").is_none(), "{mine}");

        // Only flagged orders with ?flagged=true.
        let (s, page) = app
            .json(app.admin(Method::GET, "/api/admin/orders?flagged=true", &csrf))
            .await;
        assert_eq!(s, 200, "{page}");
        let ids: Vec<i64> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, vec![fourth]);

        // A flagged cash order is neither shipped nor delivered before it is confirmed.
        for action in ["ship", "deliver"] {
            let (s, v) = admin_act(&app, &csrf, fourth, action).await;
            assert_eq!((s, error_code(&v)), (409, "risk_unconfirmed"), "{v}");
        }
        assert_eq!(
            admin_order(&app, &csrf, fourth).await["status"],
            "pending_payment"
        );
        let (s, v) = admin_act(&app, &csrf, fourth, "confirm").await;
        assert_eq!(s, 200, "{v}");
        assert!(v["risk"]["confirmed_at"].as_i64().is_some(), "{v}");
        let (s, v) = admin_act(&app, &csrf, fourth, "confirm").await;
        assert_eq!((s, error_code(&v)), (409, "not_flagged"), "{v}");
        let (s, v) = admin_act(&app, &csrf, fourth, "ship").await;
        assert_eq!((s, &v["status"]), (200, &json!("shipped")), "{v}");
        // An order that was never flagged cannot be "confirmed".
        let (s, v) = admin_act(&app, &csrf, first, "confirm").await;
        assert_eq!((s, error_code(&v)), (409, "not_flagged"), "{v}");
        // The confirmation is the merchant's, audited.
        let (_, audit) = app
            .json(app.admin(Method::GET, "/api/admin/audit", &csrf))
            .await;
        assert!(
            audit["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "confirm" && e["entity_id"] == fourth),
            "{audit}"
        );
    }
);

both!(
    a_first_order_far_above_the_average_is_flagged,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let tea = app.variant_id("Green tea").await;
        // Five delivered (paid) cash orders of one unit make the shop's average.
        for user in 60..65 {
            let id = cash_order(&app, user, tea, 1, "Chilonzor 5").await;
            let (s, v) = admin_act(&app, &csrf, id, "deliver").await;
            assert_eq!(s, 200, "{v}");
        }
        // Five times the average is not "far above"; six is, for a first order only.
        let five = cash_order(&app, 70, tea, 5, "Chilonzor 5").await;
        assert_eq!(risk::assess(&app.state.db, five).await.unwrap(), None);
        let six = cash_order(&app, 71, tea, 6, "Chilonzor 5").await;
        let o = assessed(&app, &csrf, six).await;
        assert_eq!(
            o["risk"]["reason"], "a first order 6× the shop's average",
            "{o}"
        );
        let again = cash_order(&app, 70, tea, 6, "Chilonzor 5").await;
        assert_eq!(risk::assess(&app.state.db, again).await.unwrap(), None);
    }
);

both!(
    many_failed_payments_flag_the_next_order,
    |app: TestApp| async move {
        let tea = app.variant_id("Green tea").await;
        let mut last = 0;
        for n in 0..4 {
            let id = cash_order(&app, 80, tea, 1, "Chilonzor 5").await;
            if (1..3).contains(&n) {
                // Two failures are not yet a pattern.
                assert_eq!(
                    risk::assess(&app.state.db, id).await.unwrap(),
                    None,
                    "after {n}"
                );
            }
            if n < 3 {
                let ended = lifecycle::end_unpaid(
                    &app.state,
                    id,
                    Ending::PaymentFailed,
                    Some("card declined"),
                    By::Rail(shared::PaymentMethod::Cash),
                )
                .await
                .unwrap();
                assert!(ended);
            }
            last = id;
        }
        assert_eq!(
            risk::assess(&app.state.db, last).await.unwrap().as_deref(),
            Some("3 failed payments within an hour")
        );
        // A customer who merely cancelled is not flagged for it.
        for _ in 0..3 {
            let id = cash_order(&app, 81, tea, 1, "Chilonzor 5").await;
            lifecycle::end_unpaid(&app.state, id, Ending::Cancelled, None, By::System)
                .await
                .unwrap();
        }
        let id = cash_order(&app, 81, tea, 1, "Chilonzor 5").await;
        assert_eq!(risk::assess(&app.state.db, id).await.unwrap(), None);
    }
);

both!(
    the_assessment_reads_through_indexes_and_the_average_through_orders_paid,
    |app: TestApp| async move {
        // Every order is assessed, and every new customer's order is averaged against: a scan
        // of all orders or events there would make each checkout's background work grow with
        // the shop's history.
        let plan = query_plan(&app, &risk::assess_sql(2), risk::assess_args(&[1, 2])).await;
        assert!(plan.contains("orders_paid"), "{plan}");
        // The failed payments of the last hour: through their own index, not every event.
        assert!(plan.contains("order_events_payment_failed"), "{plan}");
        for line in plan.lines() {
            // SQLite scans only the subqueries' own small results (`latest`, `recent`).
            assert!(
                !line.contains("SCAN orders") && !line.contains("SCAN order_events"),
                "{plan}"
            );
            assert!(
                !line.contains("SCAN o ") && !line.trim_end().ends_with("SCAN o"),
                "{plan}"
            );
            assert!(
                !line.contains("SCAN e") && !line.contains("SCAN p"),
                "{plan}"
            );
        }
        assert!(!plan.contains("Seq Scan"), "{plan}");
    }
);
