//! initData verification cost: runs on every authenticated request, so it should stay within a
//! small multiple of one bare HMAC-SHA256 (HMAC path) and one Ed25519 verification (signature
//! path). `cargo bench -p shop --bench init_data`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ed25519_dalek::SigningKey;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use shop::auth::init_data::{sign_ed25519, sign_hmac, Verifier};

const TOKEN: &str = "7342037359:AAHI25ES9xCOMPokpYoz-p8XVrZUdygo2J4";
const BOT_ID: i64 = 7342037359;
const AUTH_DATE: i64 = 1_733_509_682;
const NOW: i64 = AUTH_DATE + 10;

/// Shaped like what a phone sends when opened from a direct link (fields and sizes of Telegram's
/// documented example, plus `query_id` and `start_param`).
fn realistic_pairs() -> Vec<(&'static str, &'static str)> {
    vec![
        ("query_id", "AAHdF6IQAAAAAN0XohDhrOrc"),
        (
            "user",
            r#"{"id":279058397,"first_name":"Vladislav + - ? \/","last_name":"Kibenko","username":"vdkfrost","language_code":"ru","is_premium":true,"allows_write_to_pm":true,"photo_url":"https:\/\/t.me\/i\/userpic\/320\/4FPEE4tmP3ATHa57u6MqTDih13LTOiMoKoLDRG4PnSA.svg"}"#,
        ),
        ("chat_instance", "8134722200314281151"),
        ("chat_type", "private"),
        ("start_param", "promo_summer"),
        ("auth_date", "1733509682"),
        (
            "signature",
            "TYJxVcisqbWjtodPepiJ6ghziUL94-KNpG8Pau-X7oNNLNBM72APCpi_RKiUlBvcqo5L-LAxIc3dnTzcZX_PDg",
        ),
    ]
}

fn benches(c: &mut Criterion) {
    let pairs = realistic_pairs();
    let telegram = SigningKey::from_bytes(&[7u8; 32]);
    let verifier = Verifier::new(TOKEN.into(), telegram.verifying_key(), 86_400);

    let hmac_raw = sign_hmac(TOKEN, &pairs);
    verifier
        .verify(&hmac_raw, NOW)
        .expect("bench data must verify (HMAC)");
    c.bench_function("verify_hmac", |b| {
        b.iter(|| verifier.verify(black_box(&hmac_raw), NOW))
    });

    let unsigned: Vec<_> = pairs
        .iter()
        .copied()
        .filter(|(k, _)| *k != "signature")
        .collect();
    let ed_raw = sign_ed25519(BOT_ID, &telegram, &unsigned);
    verifier
        .verify(&ed_raw, NOW)
        .expect("bench data must verify (Ed25519)");
    c.bench_function("verify_ed25519", |b| {
        b.iter(|| verifier.verify(black_box(&ed_raw), NOW))
    });

    // What the HMAC path cannot beat: keying and running one HMAC-SHA256 over as many bytes as
    // the check string has (the decoded pairs minus `hash`, joined by '\n').
    let check_len: usize = pairs
        .iter()
        .map(|(k, v)| k.len() + 1 + v.len())
        .sum::<usize>()
        + pairs.len()
        - 1;
    let message = "x".repeat(check_len);
    let key = [0x42u8; 32];
    c.bench_function("bare_hmac_sha256", |b| {
        b.iter(|| {
            let mut mac = Hmac::<Sha256>::new_from_slice(black_box(&key)).expect("any key length");
            mac.update(black_box(message.as_bytes()));
            mac.finalize().into_bytes()
        })
    });
}

criterion_group! {
    name = init_data;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(init_data);
