//! Telegram initData over HTTP (`Authorization: tma <initData>` on `/api/me`): what passes,
//! and every way of failing, which is always a 401 with the envelope.
mod common;
use common::*;

use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use shop::auth::init_data::{sign_ed25519, sign_hmac};

const BOT_ID: i64 = 123456789;

fn user_json(id: i64) -> String {
    json!({"id": id, "first_name": "Dilnoza", "last_name": "Karimova", "username": "dilnoza",
           "language_code": "uz", "allows_write_to_pm": true})
    .to_string()
}

/// initData signed with the harness bot token, with these pairs.
fn hmac_signed(pairs: &[(&str, &str)]) -> String {
    sign_hmac(BOT_TOKEN, pairs)
}

fn fresh(id: i64) -> String {
    let user = user_json(id);
    let now = now().to_string();
    hmac_signed(&[("auth_date", &now), ("query_id", "AAq1"), ("user", &user)])
}

/// Replaces the value of `key` in raw initData, keeping everything else (including `hash`).
fn with_field(raw: &str, key: &str, value: &str) -> String {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| {
            let v = if k == key {
                value.to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    assert!(pairs.iter().any(|(k, _)| k == key), "no {key} in {raw}");
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn me(app: &TestApp, authorization: &str) -> (u16, Value) {
    let r = app
        .raw(app.get("/api/me").header("Authorization", authorization))
        .await;
    if r.status == 200 {
        (200, r.json())
    } else {
        let v = assert_envelope(&r, 401, Some("unauthorized"));
        (r.status, v)
    }
}

both!(
    valid_init_data_identifies_the_user,
    |app: TestApp| async move {
        let (s, v) = me(&app, &format!("tma {}", fresh(424242))).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["id"], 424242);
        assert_eq!(v["first_name"], "Dilnoza");
        assert_eq!(v["language_code"], "uz");
        assert_eq!(v["username"], "dilnoza");
        // Another user is another id: the answer comes from the data, not a fixed account.
        let (s, v) = me(&app, &format!("tma {}", init_data(77))).await;
        assert_eq!((s, v["id"].as_i64()), (200, Some(77)));
        assert_eq!(v["first_name"], "User77");
        // The customer row exists now.
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE id = $1")
            .bind(424242i64)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
);

both!(tampered_hash_is_401, |app: TestApp| async move {
    let good = fresh(5);
    let (s, _) = me(&app, &format!("tma {good}")).await;
    assert_eq!(s, 200);
    let (head, hash) = good.rsplit_once("hash=").unwrap();
    // Flip one hex digit of the hash.
    let mut h: Vec<char> = hash.chars().collect();
    h[10] = if h[10] == '0' { '1' } else { '0' };
    let bad = format!("{head}hash={}", h.into_iter().collect::<String>());
    let (s, v) = me(&app, &format!("tma {bad}")).await;
    assert_eq!(s, 401, "{v}");
    // Upper-case spelling, truncated and missing hashes fail too.
    for bad in [
        format!("{head}hash={}", hash.to_uppercase()),
        format!("{head}hash={}", &hash[..32]),
        head.trim_end_matches('&').to_string(),
    ] {
        let (s, v) = me(&app, &format!("tma {bad}")).await;
        assert_eq!(s, 401, "{bad}: {v}");
    }
});

both!(changed_user_field_is_401, |app: TestApp| async move {
    let good = fresh(5);
    // Becoming another user, or changing the name, breaks the hash.
    let other = with_field(&good, "user", &user_json(6));
    let (s, _) = me(&app, &format!("tma {other}")).await;
    assert_eq!(s, 401);
    let renamed = with_field(
        &good,
        "user",
        &json!({"id": 5, "first_name": "Mallory", "language_code": "uz"}).to_string(),
    );
    let (s, _) = me(&app, &format!("tma {renamed}")).await;
    assert_eq!(s, 401);
    // So does changing a field the shop does not use, or adding one.
    let q = with_field(&good, "query_id", "AAother");
    let (s, _) = me(&app, &format!("tma {q}")).await;
    assert_eq!(s, 401);
    let (s, _) = me(&app, &format!("tma {good}&start_param=promo")).await;
    assert_eq!(s, 401);
    // A user without a numeric id fails even when correctly signed.
    let now = now().to_string();
    let no_id = hmac_signed(&[
        ("auth_date", &now),
        ("user", r#"{"id":"5","first_name":"X"}"#),
    ]);
    let (s, _) = me(&app, &format!("tma {no_id}")).await;
    assert_eq!(s, 401);
    let no_user = hmac_signed(&[("auth_date", &now), ("query_id", "AA")]);
    let (s, _) = me(&app, &format!("tma {no_user}")).await;
    assert_eq!(s, 401);
});

both_with!(
    expired_auth_date_is_401,
    &[("INIT_DATA_MAX_AGE_SECS", "60")],
    |app: TestApp| async move {
        let user = user_json(8);
        let sign_at = |t: i64| {
            let t = t.to_string();
            hmac_signed(&[("auth_date", &t), ("user", &user)])
        };
        // Within the configured age: fine.
        let (s, v) = me(&app, &format!("tma {}", sign_at(now() - 30))).await;
        assert_eq!(s, 200, "{v}");
        // Older than INIT_DATA_MAX_AGE_SECS=60 (but far younger than the 24 h default).
        let (s, v) = me(&app, &format!("tma {}", sign_at(now() - 120))).await;
        assert_eq!(s, 401, "{v}");
    }
);

both!(bad_auth_date_is_401, |app: TestApp| async move {
    let user = user_json(9);
    let sign = |t: &str| hmac_signed(&[("auth_date", t), ("user", &user)]);
    // Slightly ahead (clock skew) is tolerated; 400 s ahead is not.
    let (s, v) = me(&app, &format!("tma {}", sign(&(now() + 60).to_string()))).await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = me(&app, &format!("tma {}", sign(&(now() + 400).to_string()))).await;
    assert_eq!(s, 401);
    // Older than the default 24 h.
    let (s, _) = me(
        &app,
        &format!("tma {}", sign(&(now() - 90_000).to_string())),
    )
    .await;
    assert_eq!(s, 401);
    for t in ["", "abc", "-5", "+1700000000", "1e9"] {
        let (s, _) = me(&app, &format!("tma {}", sign(t))).await;
        assert_eq!(s, 401, "auth_date={t:?}");
    }
    let no_date = hmac_signed(&[("user", &user)]);
    let (s, _) = me(&app, &format!("tma {no_date}")).await;
    assert_eq!(s, 401);
});

both!(
    duplicated_key_is_401_even_when_signed,
    |app: TestApp| async move {
        let user = user_json(10);
        let now = now().to_string();
        // The hash covers both copies, so only the duplicate itself can be the reason.
        for dup in ["query_id", "user", "auth_date"] {
            let extra = match dup {
                "user" => user_json(11),
                "auth_date" => now.clone(),
                _ => "AAsecond".to_string(),
            };
            let raw = hmac_signed(&[
                ("auth_date", &now),
                ("query_id", "AAfirst"),
                ("user", &user),
                (dup, &extra),
            ]);
            let (s, v) = me(&app, &format!("tma {raw}")).await;
            assert_eq!(s, 401, "duplicated {dup}: {v}");
        }
    }
);

both!(wrong_scheme_is_401, |app: TestApp| async move {
    let good = fresh(12);
    let (s, _) = me(&app, &format!("tma {good}")).await;
    assert_eq!(s, 200);
    for auth in [
        format!("Bearer {good}"),
        format!("Basic {good}"),
        good.clone(),
        format!("tma{good}"),
        "tma ".to_string() + "garbage",
        "tma hash=abc".to_string(),
    ] {
        let (s, v) = me(&app, &auth).await;
        assert_eq!(s, 401, "{auth}: {v}");
    }
});

fn signing_key() -> SigningKey {
    SigningKey::generate(&mut rand::rngs::OsRng)
}

/// The Ed25519 path: an app that trusts `key`'s public half instead of Telegram's key.
async fn ed25519_app(kind: Kind, key: &SigningKey) -> Option<TestApp> {
    let public = hex::encode(key.verifying_key().as_bytes());
    spawn(kind, &[("TELEGRAM_PUBLIC_KEY", public.as_str())]).await
}

both_kinds!(
    ed25519_signature_is_checked_with_the_public_key,
    |kind: Kind| async move {
        let key = signing_key();
        let Some(app) = ed25519_app(kind, &key).await else {
            return;
        };
        let user = user_json(31337);
        let now = now().to_string();
        let pairs = [
            ("auth_date", now.as_str()),
            ("query_id", "AAed"),
            ("user", user.as_str()),
        ];

        let good = sign_ed25519(BOT_ID, &key, &pairs);
        assert!(
            !good.contains("hash="),
            "the Ed25519 form carries no hash: {good}"
        );
        let (s, v) = me(&app, &format!("tma {good}")).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["id"], 31337);
        assert_eq!(v["language_code"], "uz");

        // Signed by another key.
        let other = sign_ed25519(BOT_ID, &signing_key(), &pairs);
        let (s, _) = me(&app, &format!("tma {other}")).await;
        assert_eq!(s, 401);
        // Signed by the right key, but for another bot.
        let other_bot = sign_ed25519(BOT_ID + 1, &key, &pairs);
        let (s, _) = me(&app, &format!("tma {other_bot}")).await;
        assert_eq!(s, 401);
        // Changing the user after signing.
        let changed = with_field(&good, "user", &user_json(31338));
        let (s, _) = me(&app, &format!("tma {changed}")).await;
        assert_eq!(s, 401);
        // A present (bad) hash decides alone: the valid signature does not rescue it.
        let with_bad_hash = format!("{good}&hash={}", "0".repeat(64));
        let (s, _) = me(&app, &format!("tma {with_bad_hash}")).await;
        assert_eq!(s, 401);
        // Expiry applies to signed data as well.
        let old = (shop::db::now() - 200_000).to_string();
        let stale = sign_ed25519(
            BOT_ID,
            &key,
            &[("auth_date", old.as_str()), ("user", user.as_str())],
        );
        let (s, _) = me(&app, &format!("tma {stale}")).await;
        assert_eq!(s, 401);
    }
);

both!(
    production_key_rejects_test_signatures,
    |app: TestApp| async move {
        // The default harness trusts Telegram's production key, which we do not hold.
        let user = user_json(40);
        let now = now().to_string();
        let raw = sign_ed25519(
            BOT_ID,
            &signing_key(),
            &[("auth_date", &now), ("user", &user)],
        );
        let (s, _) = me(&app, &format!("tma {raw}")).await;
        assert_eq!(s, 401);
    }
);
