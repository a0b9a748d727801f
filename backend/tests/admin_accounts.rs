//! Admin accounts (list, add) and admin sessions (expiry, growing lockout).

mod common;
use common::*;
use reqwest::Method;
use serde_json::json;

both!(admins_are_listed_and_added, |app: TestApp| async move {
    let body = json!({"email": "Cashier@Shop.test", "password": "long enough pw"});
    // No session: 401 on both.
    let (s, v) = app.json(app.get("/api/admin/admins")).await;
    assert_eq!((s, error_code(&v)), (401, "unauthorized"));
    let (s, v) = app
        .json(app.client.post(app.url("/api/admin/admins")).json(&body))
        .await;
    assert_eq!((s, error_code(&v)), (401, "unauthorized"));

    let csrf = app.admin_login().await;
    // Session but no or a wrong CSRF token: 403, nobody added.
    let (s, v) = app
        .json(app.client.post(app.url("/api/admin/admins")).json(&body))
        .await;
    assert_eq!((s, error_code(&v)), (403, "csrf_failed"));
    let (s, v) = app
        .json(
            app.admin(Method::POST, "/api/admin/admins", "nope")
                .json(&body),
        )
        .await;
    assert_eq!((s, error_code(&v)), (403, "csrf_failed"));
    let (s, v) = app.json(app.get("/api/admin/admins")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(v["items"][0]["email"], "owner@shop.test");

    // Validation names the field.
    for (bad, field, code) in [
        (
            json!({"email": "not-an-email", "password": "long enough pw"}),
            "email",
            "invalid_email",
        ),
        (
            json!({"email": "a@b.test", "password": "short"}),
            "password",
            "weak_password",
        ),
    ] {
        let (s, v) = app
            .json(
                app.admin(Method::POST, "/api/admin/admins", &csrf)
                    .json(&bad),
            )
            .await;
        assert_eq!(
            (s, error_code(&v), v["error"]["field"].as_str()),
            (400, code, Some(field)),
            "{v}"
        );
    }

    let (s, v) = app
        .json(
            app.admin(Method::POST, "/api/admin/admins", &csrf)
                .json(&body),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["email"], "cashier@shop.test");
    let new_id = v["id"].as_i64().unwrap();
    assert!(v["created_at"].as_i64().unwrap() > 0);
    assert!(v.get("password").is_none() && v.get("password_hash").is_none());

    // The same address again, in another case, is a conflict.
    let (s, v) = app
        .json(
            app.admin(Method::POST, "/api/admin/admins", &csrf)
                .json(&json!({"email": "CASHIER@shop.test", "password": "another long pw"})),
        )
        .await;
    assert_eq!((s, error_code(&v)), (409, "email_taken"), "{v}");

    let (_, v) = app.json(app.get("/api/admin/admins")).await;
    let emails: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["owner@shop.test", "cashier@shop.test"]);

    // The new admin can sign in with that password (argon2id hash stored).
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM admins WHERE id = $1")
        .bind(new_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let other = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let (s, v) = app
        .json(
            other
                .post(app.url("/api/admin/login"))
                .json(&json!({"email": "cashier@shop.test", "password": "long enough pw"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");

    // Audited, without the password.
    let (_, v) = app.json(app.get("/api/admin/audit?entity=admin")).await;
    let entry = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "create")
        .unwrap_or_else(|| panic!("no create entry in {v}"))
        .clone();
    assert_eq!(entry["entity_id"].as_i64(), Some(new_id));
    assert_eq!(entry["admin_email"], "owner@shop.test");
    assert_eq!(entry["after"]["email"], "cashier@shop.test");
    let text = entry.to_string();
    assert!(
        !text.contains("long enough pw") && !text.contains("argon2"),
        "{text}"
    );
});

both_with!(
    sessions_last_the_configured_time_and_then_end,
    &[("ADMIN_SESSION_HOURS", "2")],
    |app: TestApp| async move {
        let res = app
            .client
            .post(app.url("/api/admin/login"))
            .json(&json!({"email": "owner@shop.test", "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.contains("Max-Age=7200"), "{cookie}");
        let (created, expires): (i64, i64) =
            sqlx::query_as("SELECT created_at, expires_at FROM admin_sessions")
                .fetch_one(&app.state.db.pool)
                .await
                .unwrap();
        assert_eq!(expires - created, 7200);
        let (s, _) = app.json(app.get("/api/admin/me")).await;
        assert_eq!(s, 200);
        // Once the expiry passes (moved into the past here) the same cookie is refused.
        sqlx::query("UPDATE admin_sessions SET expires_at = $1")
            .bind(now() - 1)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        let (s, v) = app.json(app.get("/api/admin/me")).await;
        assert_eq!((s, error_code(&v)), (401, "unauthorized"), "{v}");
        let (s, _) = app.json(app.get("/api/admin/products")).await;
        assert_eq!(s, 401);
    }
);

both!(lockouts_grow_with_each_failure, |app: TestApp| async move {
    let wrong = || {
        app.client
            .post(app.url("/api/admin/login"))
            .json(&json!({"email": "owner@shop.test", "password": "guess"}))
    };
    let locked_for = || async {
        let until: i64 = sqlx::query_scalar("SELECT locked_until FROM admins WHERE email = $1")
            .bind("owner@shop.test")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        until - now()
    };
    let unlock = || async {
        // Stands for the lock running out, keeping the failure count.
        sqlx::query("UPDATE admins SET locked_until = 0")
            .execute(&app.state.db.pool)
            .await
            .unwrap();
    };
    for _ in 0..4 {
        let (s, _) = app.json(wrong()).await;
        assert_eq!(s, 401);
    }
    assert!(locked_for().await <= 0, "four failures do not lock yet");
    let mut last = 0;
    for round in 0..3 {
        let (s, v) = app.json(wrong()).await;
        assert_eq!((s, error_code(&v)), (429, "account_locked"), "{v}");
        let lock = locked_for().await;
        assert!(
            lock > last,
            "round {round}: lock {lock}s should exceed the previous {last}s"
        );
        if round > 0 {
            assert!(
                lock >= 2 * last - 2,
                "each failure doubles the lock: {last}s then {lock}s"
            );
        }
        last = lock;
        unlock().await;
    }
    // A right password after the lock ends signs in and clears the count.
    let csrf = app.admin_login().await;
    assert!(!csrf.is_empty());
    let failures: i64 = sqlx::query_scalar("SELECT failed_logins FROM admins")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(failures, 0);
});
