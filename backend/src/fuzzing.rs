//! Pure entry points into every parser that reads bytes from outside, for the cargo-fuzz
//! targets in `fuzz/` and for the regression tests that replay what they found. Each runs the
//! same functions its route runs before the database or the network is touched, and answers
//! the shop's `Error` where the route would, so a caller can check that nothing becomes a 5xx.
//! Nothing here writes or reads files.
//!
//! [`run`] is what each target feeds its bytes to; `backend/tests/fuzz_regressions.rs` feeds it
//! every input kept under `fuzz/seeds/` and `fuzz/regressions/`, so `cargo test` replays them.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use ed25519_dalek::SigningKey;
use secrecy::SecretString;

use crate::auth::init_data::{sign_hmac, Verifier};
use crate::error::{Error, Result};

/// A made-up bot token and clock for the initData checks (any fixed values do).
pub const BOT_TOKEN: &str = "123456:fuzz-token";
pub const NOW: i64 = 1_700_000_000;
/// Secrets the webhook checks compare against.
pub const CLICK_SECRET: &str = "click-secret";
pub const PAYME_KEY: &str = "payme-key";
pub const STRIPE_SECRET: &str = "whsec_fuzz";
pub const CRYPTOPAY_TOKEN: &str = "1234:AAfuzz";

fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
        Verifier::new(SecretString::from(BOT_TOKEN), key, 86_400)
    })
}

/// `Authorization: tma <raw>` as sent, then the same pairs signed with the bot token, so that
/// the fields behind the hash check (user JSON, auth_date, ...) are reached too.
pub fn init_data(raw: &str) {
    let _ = verifier().verify(raw, NOW);
    let pairs: Vec<(&str, &str)> = raw
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k != "hash" && *k != "signature")
        .collect();
    let signed = sign_hmac(BOT_TOKEN, &pairs);
    let _ = verifier().verify(&signed, NOW);
}

/// A Click prepare (`complete == false`) or complete form: `Ok(amount)` or Click's error code.
pub fn click(body: &[u8], complete: bool) -> std::result::Result<i64, i64> {
    crate::payments::click::webhook::check_form(body, complete, CLICK_SECRET)
}

/// A Payme JSON-RPC body and its `Authorization` header: whether the key matched, and the
/// method when the request is readable, its params included.
pub fn payme(body: &[u8], authorization: Option<&str>) -> (bool, Option<String>) {
    use crate::payments::payme::rpc;
    let parsed = rpc::parse_request(body);
    let authorized = rpc::key_matches(authorization, PAYME_KEY);
    (
        authorized,
        parsed.request.ok().map(|c| c.method().to_string()),
    )
}

/// A Stripe webhook: first with the `Stripe-Signature` header as sent, then with a valid one for
/// the body, so the event parsing behind the signature is reached too. The refund and amount
/// readers the event handlers use run on its object.
pub fn stripe(header: &str, body: &[u8]) -> Result<()> {
    use crate::payments::stripe::{self, signature, webhook};
    let _ = webhook::parse_event(Some(header), body, STRIPE_SECRET, NOW);
    let good = format!("t={NOW},v1={}", signature::sign(STRIPE_SECRET, NOW, body));
    let event = webhook::parse_event(Some(&good), body, STRIPE_SECRET, NOW)?;
    let obj = &event.data.object;
    let _ = stripe::refund_of(obj);
    let _ = stripe::any_refund(obj);
    Ok(())
}

/// A PayPal webhook: its five signature headers (`None` = missing) and body, then the amount and
/// refund readers on its resource.
pub fn paypal(headers: [Option<&[u8]>; 5], body: &[u8]) -> Result<()> {
    use crate::payments::paypal::{self, routes};
    let mut map = HeaderMap::new();
    for (name, value) in routes::SIG_HEADERS.iter().zip(headers) {
        if let Some(v) = value.and_then(|v| HeaderValue::from_bytes(v).ok()) {
            map.insert(HeaderName::from_static(name), v);
        }
    }
    let (_, _, event) = routes::read_webhook(&map, body)?;
    let res = &event["resource"];
    let _ = paypal::parse_amount(&res["amount"]);
    let _ = paypal::refund_of(res);
    Ok(())
}

/// A YooKassa notification: the shape check the route makes before it looks anything up, then
/// the amount and refund readers the handlers use on the object YooKassa's API answers (here
/// the notification's own object). Answers the notification's event.
pub fn yookassa(body: &[u8]) -> Result<String> {
    use crate::payments::yookassa::{self, webhook};
    let n = webhook::parse(body)?;
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let obj = &v["object"];
    if let Ok(a) = serde_json::from_value::<yookassa::Amount>(obj["amount"].clone()) {
        let _ = yookassa::parse_amount(&a);
    }
    if let Ok(r) = serde_json::from_value::<yookassa::YkRefund>(obj.clone()) {
        let _ = r.as_refund();
    }
    Ok(n.event)
}

/// A Crypto Pay webhook: first with the `crypto-pay-api-signature` value as sent, then validly
/// signed for the body, so the update behind the signature is read too (the invoice's price as
/// the webhook reads it). Answers the price when there is one.
pub fn cryptopay(header: &str, body: &[u8]) -> Result<Option<(i64, shared::Currency)>> {
    use crate::payments::cryptopay::{self, signature, webhook};
    let _ = webhook::parse_update(Some(header), body, CRYPTOPAY_TOKEN);
    let good = signature::sign(CRYPTOPAY_TOKEN, body);
    let update = webhook::parse_update(Some(&good), body, CRYPTOPAY_TOKEN)?;
    Ok(cryptopay::priced(&update["payload"]).ok())
}

/// A CSV product import: the number of good rows and of row errors.
pub fn csv_import(body: &[u8]) -> (usize, usize) {
    let (rows, errors) = crate::admin::spreadsheet::import::rows::parse(body);
    (rows.len(), errors.len())
}

/// An image upload: the type check, then decoding, orienting, resizing and encoding every
/// width, as the upload route does before it writes them. Answers the number of widths.
pub fn image(bytes: &[u8]) -> Result<usize> {
    let format = crate::admin::images::accepted_format(bytes)?;
    Ok(crate::admin::images::render(bytes, format)?.len())
}

/// A catalog `cursor` query parameter.
pub fn cursor(c: &str) -> Result<i64> {
    crate::catalog::decode_cursor(c)
}

/// Panics when `e` would be a 5xx: the fuzz targets' one rule for answers besides "no panic".
pub fn assert_client_error(e: &Error) {
    assert!(
        !e.status().is_server_error(),
        "a parser answered {}: {e}",
        e.status()
    );
}

/// The fuzz targets, one per parser; each is `fuzz/fuzz_targets/<name>.rs`.
pub const TARGETS: &[&str] = &[
    "click",
    "cryptopay",
    "csv_import",
    "cursor",
    "image",
    "init_data",
    "payme",
    "paypal",
    "stripe",
    "yookassa",
];

/// One fuzz input for `target`, split as that target reads it:
/// * `click`: a first byte choosing the stage (odd = complete), then the form body;
/// * `payme`: the `Authorization` value on the first line (none when empty), then the body;
/// * `stripe`: the `Stripe-Signature` value on the first line, then the body;
/// * `cryptopay`: the `crypto-pay-api-signature` value on the first line, then the body;
/// * `paypal`: five lines with the transmission headers (`SIG_HEADERS` order; empty = missing),
///   then the body;
/// * the others: the whole input (text targets read it as lossy UTF-8).
///
/// Panics on a 5xx or on a broken property, as a crash for the fuzzer.
pub fn run(target: &str, data: &[u8]) {
    let text = || String::from_utf8_lossy(data);
    let checked = |r: Result<()>| {
        if let Err(e) = r {
            assert_client_error(&e);
        }
    };
    match target {
        "click" => {
            if let Some((stage, body)) = data.split_first() {
                let _ = click(body, stage % 2 == 1);
            }
        }
        "csv_import" => {
            let _ = csv_import(data);
        }
        "cursor" => match cursor(&text()) {
            // What decodes is what the API would have given out for that id.
            Ok(id) => assert_eq!(cursor(&crate::catalog::encode_cursor(id)).ok(), Some(id)),
            Err(e) => assert_client_error(&e),
        },
        "image" => checked(image(data).map(drop)),
        "init_data" => init_data(&text()),
        "payme" => {
            let (line, body) = first_line(data);
            let header = std::str::from_utf8(line).ok().filter(|h| !h.is_empty());
            let _ = payme(body, header);
        }
        "paypal" => {
            let mut rest = data;
            let mut headers: [Option<&[u8]>; 5] = [None; 5];
            for h in headers.iter_mut() {
                let (line, tail) = first_line(rest);
                *h = Some(line).filter(|v| !v.is_empty());
                rest = tail;
            }
            checked(paypal(headers, rest));
        }
        "stripe" => {
            let (line, body) = first_line(data);
            checked(stripe(&String::from_utf8_lossy(line), body));
        }
        "yookassa" => checked(yookassa(data).map(drop)),
        "cryptopay" => {
            let (line, body) = first_line(data);
            match cryptopay(&String::from_utf8_lossy(line), body) {
                // A price read is one the shop could have written: exact both ways.
                Ok(Some((minor, cur))) => assert_eq!(
                    shared::money::parse_major(
                        &crate::payments::cryptopay::major(minor, &cur),
                        &cur
                    ),
                    Ok(minor)
                ),
                Ok(None) => {}
                Err(e) => assert_client_error(&e),
            }
        }
        other => panic!("no fuzz target {other}"),
    }
}

fn first_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}
