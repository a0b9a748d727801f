//! Admin accounts (roles, add, disable, remove, passwords, the command line) and admin
//! sessions (expiry, sign-in limits that cannot be turned against the owner, the cookie).

mod common;
use common::*;
use reqwest::Method;
use serde_json::json;

both!(admins_are_listed_and_added, |app: TestApp| async move {
    let body = json!({"email": "Cashier@Shop.test", "password": "long enough pw", "role": "owner"});
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

const OWNER: &str = "owner@shop.test";
const OWNER_PW: &str = "correct horse battery";
/// Lets the tests play several clients through `X-Forwarded-For`.
const PROXIED: &[(&str, &str)] = &[("TRUSTED_PROXIES", "127.0.0.1")];

fn session() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

/// One sign-in from client address `ip`: status, error code (or "ok") and `Retry-After`.
async fn sign_in(
    app: &TestApp,
    c: &reqwest::Client,
    ip: &str,
    email: &str,
    pw: &str,
) -> (u16, String, Option<String>) {
    let r = app
        .raw(
            c.post(app.url("/api/admin/login"))
                .header("X-Forwarded-For", ip)
                .json(&json!({"email": email, "password": pw})),
        )
        .await;
    let code = if r.status == 200 {
        "ok".to_string()
    } else {
        assert_envelope(&r, r.status, None);
        error_code(&r.json()).to_string()
    };
    if r.status == 429 {
        let after: u64 = r
            .header("retry-after")
            .unwrap_or_else(|| panic!("429 without Retry-After: {}", r.text()))
            .parse()
            .unwrap();
        assert!((1..=900).contains(&after), "Retry-After {after}");
    }
    (r.status, code, r.header("retry-after").map(str::to_string))
}

/// The csrf token of a signed-in session.
async fn signed_in(app: &TestApp, c: &reqwest::Client, email: &str, pw: &str) -> String {
    let (s, v) = app
        .json(
            c.post(app.url("/api/admin/login"))
                .json(&json!({"email": email, "password": pw})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["csrf_token"].as_str().unwrap().to_string()
}

async fn me(app: &TestApp, c: &reqwest::Client) -> (u16, serde_json::Value) {
    app.json(c.get(app.url("/api/admin/me"))).await
}

both!(lockouts_grow_with_each_failure, |app: TestApp| async move {
    let c = session();
    let locked_for = || async {
        let until: i64 =
            sqlx::query_scalar("SELECT locked_until FROM login_attempts WHERE email = $1")
                .bind(OWNER)
                .fetch_one(&app.state.db.pool)
                .await
                .unwrap();
        until - now()
    };
    let unlock = || async {
        // Stands for the lock running out, keeping the failure count.
        sqlx::query("UPDATE login_attempts SET locked_until = 0")
            .execute(&app.state.db.pool)
            .await
            .unwrap();
    };
    for _ in 0..4 {
        let (s, _, _) = sign_in(&app, &c, "10.0.0.1", OWNER, "guess").await;
        assert_eq!(s, 401);
    }
    assert!(locked_for().await <= 0, "four failures do not lock yet");
    let mut last = 0;
    for round in 0..3 {
        let (s, code, after) = sign_in(&app, &c, "10.0.0.1", OWNER, "guess").await;
        assert_eq!((s, code.as_str()), (429, "account_locked"));
        let lock = locked_for().await;
        assert!(
            lock > last,
            "round {round}: lock {lock}s should exceed {last}s"
        );
        assert!(after.is_some());
        if round > 0 {
            assert!(
                lock >= 2 * last - 2,
                "each failure doubles the lock: {last}s then {lock}s"
            );
        }
        last = lock;
        unlock().await;
    }
    // A right password after the lock ends signs in and clears the pair's count.
    signed_in(&app, &c, OWNER, OWNER_PW).await;
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_attempts WHERE email = $1")
        .bind(OWNER)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
});

both_with!(
    an_attacker_locks_only_its_own_address_out,
    PROXIED,
    |app: TestApp| async move {
        let (attacker, owner) = (session(), session());
        for _ in 0..4 {
            let (s, _, _) = sign_in(&app, &attacker, "203.0.113.5", OWNER, "guess").await;
            assert_eq!(s, 401);
        }
        let (s, code, _) = sign_in(&app, &attacker, "203.0.113.5", OWNER, "guess").await;
        assert_eq!((s, code.as_str()), (429, "account_locked"));
        // Locked from that address, even with the right password...
        let (s, code, _) = sign_in(&app, &attacker, "203.0.113.5", OWNER, OWNER_PW).await;
        assert_eq!((s, code.as_str()), (429, "account_locked"));
        // ...but the owner on another network signs in.
        let (s, code, _) = sign_in(&app, &owner, "198.51.100.7", OWNER, OWNER_PW).await;
        assert_eq!((s, code.as_str()), (200, "ok"));
        let (s, v) = me(&app, &owner).await;
        assert_eq!((s, v["role"].as_str()), (200, Some("owner")), "{v}");
    }
);

both_with!(
    unknown_and_known_emails_answer_alike,
    PROXIED,
    |app: TestApp| async move {
        let c = session();
        let mut seqs = vec![];
        for (ip, email) in [("203.0.113.1", OWNER), ("203.0.113.2", "nobody@shop.test")] {
            let mut seq = vec![];
            for _ in 0..8 {
                let (s, code, after) = sign_in(&app, &c, ip, email, "guess").await;
                seq.push((s, code, after.is_some()));
            }
            seqs.push(seq);
        }
        assert_eq!(seqs[0], seqs[1]);
        assert!(seqs[0].iter().any(|(s, _, _)| *s == 429), "{:?}", seqs[0]);
    }
);

both_with!(
    a_burst_of_guesses_after_a_lock_gets_one_check,
    PROXIED,
    |app: TestApp| async move {
        let c = session();
        for _ in 0..5 {
            sign_in(&app, &c, "203.0.113.5", OWNER, "guess").await;
        }
        // The lock runs out (moved into the past here); the failure count stays.
        sqlx::query("UPDATE login_attempts SET locked_until = $1")
            .bind(now() - 1)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        let before = app.state.passwords.runs();
        let burst = (0..12).map(|i| {
            let (app, c) = (&app, c.clone());
            async move { sign_in(app, &c, "203.0.113.5", OWNER, &format!("guess {i}")).await }
        });
        let answers = futures_util::future::join_all(burst).await;
        for (s, code, _) in &answers {
            assert!(
                (*s == 401 && code == "unauthorized") || *s == 429,
                "{answers:?}"
            );
        }
        let checks = app.state.passwords.runs() - before;
        assert!(
            checks <= 1,
            "{checks} password checks ran for one freed slot: {answers:?}"
        );
    }
);

both_with!(
    one_wrong_try_now_and_then_never_locks,
    PROXIED,
    |app: TestApp| async move {
        let c = session();
        let ip = "203.0.113.5";
        for _ in 0..5 {
            sign_in(&app, &c, ip, OWNER, "guess").await;
        }
        let (s, code, _) = sign_in(&app, &c, ip, OWNER, OWNER_PW).await;
        assert_eq!((s, code.as_str()), (429, "account_locked"));
        // An hour passes between tries (all times moved back an hour here): every try counts
        // from zero again, so none of them locks.
        for _ in 0..3 {
            sqlx::query(
                "UPDATE login_attempts SET updated_at = updated_at - 3600, locked_until = locked_until - 3600",
            )
            .execute(&app.state.db.pool)
            .await
            .unwrap();
            let (s, code, _) = sign_in(&app, &c, ip, OWNER, "guess").await;
            assert_eq!((s, code.as_str()), (401, "unauthorized"));
        }
        let (s, code, _) = sign_in(&app, &c, ip, OWNER, OWNER_PW).await;
        assert_eq!((s, code.as_str()), (200, "ok"));
    }
);

both_with!(
    the_account_wide_budget_only_slows_checks,
    PROXIED,
    |app: TestApp| async move {
        let c = session();
        // One guess from each of many addresses: no address is locked, but the account's
        // budget runs out and answers 429 with a short Retry-After (it refills within a minute).
        let mut slowed = None;
        for i in 0..20 {
            let (s, code, after) =
                sign_in(&app, &c, &format!("198.18.0.{i}"), OWNER, "guess").await;
            assert_ne!(code, "account_locked");
            if s == 429 {
                slowed = Some((code, after.unwrap().parse::<u64>().unwrap()));
                break;
            }
        }
        let (code, after) = slowed.expect("the account's budget never ran out");
        assert_eq!(code, "too_many_logins");
        assert!(after <= 60, "Retry-After {after}");
    }
);

both_with!(
    many_concurrent_sign_ins_run_at_most_one_check_per_core,
    PROXIED,
    |app: TestApp| async move {
        // 300 sign-ins at once, each from its own address for its own email, so only the total
        // bound stands between them and 300 Argon2 checks of 19 MiB each.
        let c = session();
        let burst = (0..300).map(|i| {
            let (app, c) = (&app, c.clone());
            async move {
                let ip = format!("10.1.{}.{}", i / 250, i % 250 + 1);
                sign_in(app, &c, &ip, &format!("guess{i}@shop.test"), "guess").await
            }
        });
        let catalog = async {
            // The catalog keeps answering meanwhile.
            let r = app.raw(app.get("/api/products")).await;
            assert_eq!(r.status, 200, "{}", r.text());
        };
        let (answers, ()) = tokio::join!(futures_util::future::join_all(burst), catalog);
        for (s, code, _) in &answers {
            assert!(
                (*s, code.as_str()) == (401, "unauthorized")
                    || (*s, code.as_str()) == (429, "too_many_logins"),
                "{s} {code}"
            );
        }
        let peak = app.state.passwords.peak();
        assert!(
            peak <= app.state.passwords.size(),
            "{peak} checks ran at once with {} slots",
            app.state.passwords.size()
        );
    }
);

/// Adds an admin as the signed-in owner (`csrf`); answers its id.
async fn add_admin(app: &TestApp, csrf: &str, email: &str, pw: &str, role: &str) -> i64 {
    let (s, v) = app
        .json(
            app.admin(Method::POST, "/api/admin/admins", csrf)
                .json(&json!({"email": email, "password": pw, "role": role})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["role"], role);
    v["id"].as_i64().unwrap()
}

both!(
    staff_cannot_manage_admins_refund_or_read_the_audit,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        add_admin(&app, &csrf, "staff@shop.test", "staff password", "staff").await;
        // Without a role the new admin is staff.
        let (s, v) = app
            .json(
                app.admin(Method::POST, "/api/admin/admins", &csrf)
                    .json(&json!({"email": "plain@shop.test", "password": "long enough pw"})),
            )
            .await;
        assert_eq!((s, v["role"].as_str()), (201, Some("staff")), "{v}");
        let o = app.cash_order(5, app.variant_id("Teapot").await, 1).await;
        let staff = session();
        let staff_csrf = signed_in(&app, &staff, "staff@shop.test", "staff password").await;
        let (s, v) = me(&app, &staff).await;
        assert_eq!((s, v["role"].as_str()), (200, Some("staff")));
        for path in ["/api/admin/admins", "/api/admin/audit"] {
            let r = app.raw(staff.get(app.url(path))).await;
            assert_envelope(&r, 403, Some("owner_only"));
        }
        let r = app
            .raw(
                staff
                    .post(app.url("/api/admin/admins"))
                    .header("X-CSRF-Token", &staff_csrf)
                    .json(&json!({"email": "x@shop.test", "password": "long enough pw"})),
            )
            .await;
        assert_envelope(&r, 403, Some("owner_only"));
        let r = app
            .raw(
                staff
                    .post(app.url(&format!("/api/admin/orders/{}/refund", o["id"])))
                    .header("X-CSRF-Token", &staff_csrf)
                    .json(&json!({})),
            )
            .await;
        assert_envelope(&r, 403, Some("owner_only"));
        // Staff runs the shop: it ships the order.
        let r = app
            .raw(
                staff
                    .post(app.url(&format!("/api/admin/orders/{}/ship", o["id"])))
                    .header("X-CSRF-Token", &staff_csrf),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let (s, _) = app.json(staff.get(app.url("/api/admin/products"))).await;
        assert_eq!(s, 200);
    }
);

both!(
    owners_disable_enable_and_remove_admins_but_never_the_last_owner,
    |app: TestApp| async move {
        let csrf = app.admin_login().await;
        let owner_id: i64 = sqlx::query_scalar("SELECT id FROM admins WHERE email = $1")
            .bind(OWNER)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        // The bootstrap admin is an owner; the last active owner cannot go.
        let (_, v) = app.json(app.get("/api/admin/admins")).await;
        assert_eq!(v["items"][0]["role"], "owner");
        for (m, path) in [
            (
                Method::POST,
                format!("/api/admin/admins/{owner_id}/disable"),
            ),
            (Method::DELETE, format!("/api/admin/admins/{owner_id}")),
        ] {
            let r = app.raw(app.admin(m, &path, &csrf)).await;
            assert_envelope(&r, 409, Some("last_owner"));
        }
        let staff_id = add_admin(&app, &csrf, "staff@shop.test", "staff password", "staff").await;
        let staff = session();
        signed_in(&app, &staff, "staff@shop.test", "staff password").await;
        assert_eq!(me(&app, &staff).await.0, 200);

        // Disabled: its session ends at once and it cannot sign in (answered like a wrong
        // password).
        let (s, v) = app
            .json(app.admin(
                Method::POST,
                &format!("/api/admin/admins/{staff_id}/disable"),
                &csrf,
            ))
            .await;
        assert_eq!(s, 200, "{v}");
        assert!(v["disabled_at"].as_i64().unwrap() > 0);
        assert_eq!(me(&app, &staff).await.0, 401);
        let (s, code, _) = sign_in(
            &app,
            &staff,
            "127.0.0.1",
            "staff@shop.test",
            "staff password",
        )
        .await;
        assert_eq!((s, code.as_str()), (401, "unauthorized"));
        let (s, v) = app
            .json(app.admin(
                Method::POST,
                &format!("/api/admin/admins/{staff_id}/enable"),
                &csrf,
            ))
            .await;
        assert_eq!((s, v["disabled_at"].is_null()), (200, true), "{v}");
        signed_in(&app, &staff, "staff@shop.test", "staff password").await;

        // With a second owner, the first may be disabled, and its session ends.
        let other_id = add_admin(&app, &csrf, "second@shop.test", "second password", "owner").await;
        let second = session();
        let second_csrf = signed_in(&app, &second, "second@shop.test", "second password").await;
        let r = app
            .raw(
                second
                    .post(app.url(&format!("/api/admin/admins/{owner_id}/disable")))
                    .header("X-CSRF-Token", &second_csrf),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(me(&app, &app.client).await.0, 401);
        // Now the second is the last active owner.
        let r = app
            .raw(
                second
                    .delete(app.url(&format!("/api/admin/admins/{other_id}")))
                    .header("X-CSRF-Token", &second_csrf),
            )
            .await;
        assert_envelope(&r, 409, Some("last_owner"));
        // Removing staff: 204, gone from the list, its session gone.
        let r = app
            .raw(
                second
                    .delete(app.url(&format!("/api/admin/admins/{staff_id}")))
                    .header("X-CSRF-Token", &second_csrf),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.text());
        assert_eq!(me(&app, &staff).await.0, 401);
        let (_, v) = app.json(second.get(app.url("/api/admin/admins"))).await;
        let emails: Vec<&str> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["email"].as_str().unwrap())
            .collect();
        assert_eq!(emails, [OWNER, "second@shop.test"]);
        let (_, v) = app
            .json(second.get(app.url("/api/admin/audit?entity=admin")))
            .await;
        let actions: Vec<&str> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        for a in ["disable", "enable", "delete"] {
            assert!(actions.contains(&a), "{actions:?}");
        }
    }
);

both!(
    changing_the_password_needs_the_old_one_and_ends_the_other_sessions,
    |app: TestApp| async move {
        let (here, there) = (session(), session());
        let csrf = signed_in(&app, &here, OWNER, OWNER_PW).await;
        signed_in(&app, &there, OWNER, OWNER_PW).await;
        let change = |old: &str, new: &str| {
            here.post(app.url("/api/admin/password"))
                .header("X-CSRF-Token", &csrf)
                .json(&json!({"old_password": old, "new_password": new}))
        };
        let r = app.raw(change("not it", "a brand new password")).await;
        let v = assert_envelope(&r, 400, Some("wrong_password"));
        assert_eq!(v["error"]["field"], "old_password");
        let r = app.raw(change(OWNER_PW, "short")).await;
        let v = assert_envelope(&r, 400, Some("weak_password"));
        assert_eq!(v["error"]["field"], "new_password");
        assert_eq!(me(&app, &there).await.0, 200, "refused changes end nothing");
        let r = app.raw(change(OWNER_PW, "a brand new password")).await;
        assert_eq!(r.status, 204, "{}", r.text());
        assert_eq!(me(&app, &here).await.0, 200, "this session stays");
        assert_eq!(me(&app, &there).await.0, 401, "the other session ends");
        let (s, _, _) = sign_in(&app, &session(), "127.0.0.1", OWNER, OWNER_PW).await;
        assert_eq!(s, 401);
        signed_in(&app, &session(), OWNER, "a brand new password").await;
    }
);

both!(
    signing_out_everywhere_ends_every_session,
    |app: TestApp| async move {
        let (here, there) = (session(), session());
        let csrf = signed_in(&app, &here, OWNER, OWNER_PW).await;
        signed_in(&app, &there, OWNER, OWNER_PW).await;
        let res = here
            .post(app.url("/api/admin/logout-everywhere"))
            .header("X-CSRF-Token", &csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.contains("Max-Age=0"), "{cookie}");
        assert_eq!(me(&app, &here).await.0, 401);
        assert_eq!(me(&app, &there).await.0, 401);
    }
);

both!(
    reset_password_on_the_command_line,
    |app: TestApp| async move {
        let c = session();
        signed_in(&app, &c, OWNER, OWNER_PW).await;
        for _ in 0..5 {
            sign_in(&app, &c, "127.0.0.1", OWNER, "guess").await;
        }
        let (s, code, _) = sign_in(&app, &c, "127.0.0.1", OWNER, OWNER_PW).await;
        assert_eq!((s, code.as_str()), (429, "account_locked"));
        let dir = tempfile::tempdir().unwrap();
        let run = |email: &str, input: &str| {
            let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_shop"))
                .args(["admin", "reset-password", email])
                .env_clear()
                .env("DATABASE_URL", &app.state.config.database_url)
                .current_dir(dir.path())
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        };
        let out = run("nobody@shop.test", "a reset password\n");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("nobody@shop.test"), "{err}");
        let out = run("OWNER@shop.test", "short\n");
        assert!(!out.status.success(), "a short password is refused");
        let out = run("OWNER@shop.test", "a reset password\n");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The old session ended; the lock is gone; the new password signs in.
        assert_eq!(me(&app, &c).await.0, 401);
        let (s, code, _) = sign_in(&app, &c, "127.0.0.1", OWNER, "a reset password").await;
        assert_eq!((s, code.as_str()), (200, "ok"));
        let (_, v) = app
            .json(c.get(app.url("/api/admin/audit?entity=admin")))
            .await;
        assert!(
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "reset_password"),
            "{v}"
        );
    }
);

both_kinds!(
    processes_starting_at_once_all_bootstrap,
    |kind: Kind| async move {
        let dir = tempfile::tempdir().unwrap();
        let url = match kind {
            Kind::Sqlite => format!("sqlite://{}/shop.db", dir.path().display()),
            Kind::Postgres => match fresh_postgres().await {
                Some(u) => u,
                None => return,
            },
        };
        let db = shop::db::Db::connect(&url).await.unwrap();
        let starts = (0..4).map(|_| {
            let db = db.clone();
            async move { shop::admin::auth::bootstrap(&db, OWNER, OWNER_PW).await }
        });
        for r in futures_util::future::join_all(starts).await {
            assert_eq!(r, Ok(()));
        }
        let roles: Vec<String> = sqlx::query_scalar("SELECT role FROM admins")
            .fetch_all(&db.pool)
            .await
            .unwrap();
        assert_eq!(roles, ["owner"]);
    }
);

/// The session cookie of a sign-in, and the `Set-Cookie` that carried it.
async fn raw_sign_in(app: &TestApp) -> (String, String) {
    let res = reqwest::Client::new()
        .post(app.url("/api/admin/login"))
        .json(&json!({"email": OWNER, "password": OWNER_PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let set = res.headers()["set-cookie"].to_str().unwrap().to_string();
    let pair = set.split(';').next().unwrap().to_string();
    (pair, set)
}

async fn me_with(app: &TestApp, cookie: &str) -> u16 {
    reqwest::Client::new()
        .get(app.url("/api/admin/me"))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

both_with!(
    over_https_the_cookie_is_host_prefixed,
    &[("PUBLIC_URL", "https://shop.example")],
    |app: TestApp| async move {
        let (pair, set) = raw_sign_in(&app).await;
        assert!(set.starts_with("__Host-shop_admin="), "{set}");
        assert!(set.contains("; Secure") && set.contains("Path=/;"), "{set}");
        assert!(!set.to_lowercase().contains("domain"), "{set}");
        assert_eq!(me_with(&app, &pair).await, 200);
        let token = pair.split_once('=').unwrap().1;
        assert_eq!(me_with(&app, &format!("shop_admin={token}")).await, 401);
    }
);

both!(over_http_the_cookie_is_plain, |app: TestApp| async move {
    let (pair, set) = raw_sign_in(&app).await;
    assert!(set.starts_with("shop_admin="), "{set}");
    assert!(!set.contains("Secure"), "{set}");
    assert_eq!(me_with(&app, &pair).await, 200);
    let token = pair.split_once('=').unwrap().1;
    assert_eq!(
        me_with(&app, &format!("__Host-shop_admin={token}")).await,
        401
    );
});
