//! Verification of Telegram Mini App `initData` (`Authorization: tma <raw>`).
//!
//! Telegram hands the Mini App a query string describing the user and signs it twice:
//!
//! * `hash`: hex HMAC-SHA256 keyed by a secret derived from the **bot token**. Only someone holding
//!   the token (Telegram and us) can produce it.
//! * `signature` (Bot API 8.0+): base64url Ed25519 by **Telegram's own key**, so third parties that
//!   only know the bot id can check the data too.
//!
//! The rules we follow (the initData rules of the shared API contract):
//!
//! * A present `hash` alone decides. The `signature` does not rescue a bad `hash`, so an attacker
//!   cannot pick the weaker-looking of two checks.
//! * Without `hash`, `signature` decides, checked with Telegram's public key and our bot id.
//! * Then `auth_date` must be fresh and `user` must be a JSON object with a numeric `id`.
//!
//! Nothing in the data is interpreted before it has been authenticated: every field-level error
//! (`Expired`, `BadUser`, …) is only reported for data Telegram really signed.

use std::borrow::Cow;
use std::fmt;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Key of the HMAC that turns the bot token into the initData secret (Telegram's constant).
const WEB_APP_DATA: &[u8] = b"WebAppData";

/// How far in the future `auth_date` may be (clock skew between Telegram and us).
pub const MAX_FUTURE_SKEW_SECS: i64 = 300;

/// Longest raw initData we look at. Real ones are well under 2 KiB even with `chat`/`receiver`
/// objects; the bound keeps parsing and hashing of hostile headers cheap and predictable.
pub const MAX_RAW_LEN: usize = 16 * 1024;

/// base64url as Telegram sends it: unpadded. Padding is tolerated (some clients or proxies add
/// it back) but non-canonical trailing bits are not, so a signature has one textual form.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A Telegram user as sent in initData's `user` JSON.
///
/// Unknown members (`allows_write_to_pm`, `added_to_attachment_menu`, …) are ignored so new
/// Telegram fields never lock users out.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct TgUser {
    /// Up to 52 significant bits: fits an `i64`. Required and must be a JSON integer.
    pub id: i64,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub language_code: Option<String>,
    #[serde(default)]
    pub is_premium: bool,
    #[serde(default)]
    pub photo_url: Option<String>,
}

/// Verified initData: only produced by [`Verifier::verify`].
#[derive(Debug, Clone)]
pub struct InitData {
    pub user: TgUser,
    /// Unix seconds at which Telegram issued the data.
    pub auth_date: i64,
    /// `startapp` parameter of a direct link (`t.me/<bot>/<app>?startapp=…`).
    pub start_param: Option<String>,
    /// Present when opened from an inline button; needed for `answerWebAppQuery`.
    pub query_id: Option<String>,
    /// `private`, `group`, `supergroup`, `channel`, `sender` (direct links only).
    pub chat_type: Option<String>,
}

/// Why initData was rejected. Every variant maps to 401 in the HTTP layer.
///
/// `Display` (and [`InitDataError::message`]) never contains the bot token, the secret derived
/// from it, or attacker-sized input: the only echoed input is a duplicated key, trimmed and
/// sanitised when the error is built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InitDataError {
    #[error("initData is empty (was the Mini App opened outside a menu/inline button or outside Telegram?)")]
    Empty,
    #[error("initData is too long")]
    TooLong,
    #[error("initData is malformed")]
    Malformed,
    #[error("initData has a duplicated key `{0}`")]
    DuplicateKey(String),
    #[error("initData has no `{0}`")]
    MissingField(&'static str),
    #[error("initData `auth_date` is not a unix timestamp")]
    BadAuthDate,
    #[error("initData has expired; reopen the Mini App")]
    Expired,
    #[error("initData `auth_date` is in the future")]
    FromFuture,
    #[error("initData `user` is missing or invalid")]
    BadUser,
    #[error("initData hash is invalid")]
    BadHash,
    #[error("initData signature is invalid")]
    BadSignature,
    #[error("initData has neither `hash` nor `signature`")]
    NoHashOrSignature,
    #[error("initData signature cannot be checked: the bot token has no bot id")]
    NoBotId,
}

impl InitDataError {
    /// Short human text for the 401 body. Safe to show to clients (see the type's docs).
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// A stable snake_case code, should the HTTP layer want finer codes than one for all 401s.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "init_data_empty",
            Self::TooLong => "init_data_too_long",
            Self::Malformed => "init_data_malformed",
            Self::DuplicateKey(_) => "init_data_duplicate_key",
            Self::MissingField(_) => "init_data_missing_field",
            Self::BadAuthDate => "init_data_bad_auth_date",
            Self::Expired => "init_data_expired",
            Self::FromFuture => "init_data_from_future",
            Self::BadUser => "init_data_bad_user",
            Self::BadHash => "init_data_bad_hash",
            Self::BadSignature => "init_data_bad_signature",
            Self::NoHashOrSignature => "init_data_unsigned",
            Self::NoBotId => "init_data_no_bot_id",
        }
    }

    /// The key is attacker input: keep it short and printable before it reaches logs or bodies.
    fn duplicate_key(key: &str) -> Self {
        let shown = key
            .chars()
            .take(32)
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        Self::DuplicateKey(shown)
    }
}

/// Checks initData for one bot. Build once at start-up and share (`Arc` or app state): it holds
/// the HMAC key schedule so [`Verifier::verify`] only hashes the data itself.
#[derive(Clone)]
pub struct Verifier {
    /// Kept secret (zeroized on drop, redacted in `Debug`); the bot id is read from its prefix.
    bot_token: SecretString,
    /// `HMAC_SHA256(key = secret)` already keyed, where
    /// `secret = HMAC_SHA256(key = "WebAppData", msg = bot_token)`. It depends on the token only,
    /// so deriving it (and the HMAC pads) per request would be wasted work. Cloned per request.
    keyed_mac: HmacSha256,
    public_key: VerifyingKey,
    max_age_secs: u64,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Neither the token nor the derived key may ever reach a log line.
        f.debug_struct("Verifier")
            .field("bot_token", &"[REDACTED]")
            .field("bot_id", &self.bot_id())
            .field("public_key", &hex::encode(self.public_key.as_bytes()))
            .field("max_age_secs", &self.max_age_secs)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Telegram's production key for third-party validation (`signature`).
    pub const TELEGRAM_PRODUCTION_KEY_HEX: &'static str =
        "e7bf03a2fa4602af4580703d88dda5bb59f32ed8b02a56c187fe7d34caed242d";
    /// Telegram's test-environment key; production data signed with it must not pass.
    pub const TELEGRAM_TEST_KEY_HEX: &'static str =
        "40055058a4ee38156a06562e52eece92a771bcd8346a8c4615cb7376eddf72ec";

    /// `bot_token`: HMAC key material and bot id (digits before `:`);
    /// `public_key`: Telegram's Ed25519 key for `signature`; `max_age_secs`: oldest `auth_date`
    /// accepted.
    pub fn new(bot_token: SecretString, public_key: VerifyingKey, max_age_secs: u64) -> Self {
        let keyed_mac = keyed_mac(bot_token.expose_secret());
        Self {
            bot_token,
            keyed_mac,
            public_key,
            max_age_secs,
        }
    }

    /// Parses a hex Ed25519 public key (e.g. `TELEGRAM_PUBLIC_KEY`); the error names the problem.
    pub fn parse_public_key(hex: &str) -> Result<VerifyingKey, String> {
        let hex_str = hex.trim();
        let mut bytes = [0u8; 32];
        if hex_str.len() != 64 {
            return Err(format!(
                "Ed25519 public key must be 64 hex characters (32 bytes), got {} characters",
                hex_str.len()
            ));
        }
        hex::decode_to_slice(hex_str, &mut bytes)
            .map_err(|e| format!("Ed25519 public key is not valid hex: {e}"))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| "Ed25519 public key is not a valid curve point".to_string())?;
        if key.is_weak() {
            // A small-order key accepts forged signatures for many messages.
            return Err("Ed25519 public key is a weak (small-order) point".to_string());
        }
        Ok(key)
    }

    /// The bot id: the digits before `:` in the token, if the token has that shape.
    pub fn bot_id(&self) -> Option<i64> {
        parse_bot_id(self.bot_token.expose_secret())
    }

    /// Verifies the raw query string (what follows `tma ` in the `Authorization` header) at time
    /// `now` (unix seconds).
    pub fn verify(&self, raw: &str, now: i64) -> Result<InitData, InitDataError> {
        let pairs = parse_pairs(raw)?;
        let get = |key: &str| {
            pairs
                .binary_search_by(|(k, _)| k.as_ref().cmp(key))
                .ok()
                .map(|i| pairs[i].1.as_ref())
        };

        // Authenticate before reading any field. A present `hash` alone decides: falling back to
        // `signature` after a failed `hash` would let a forger choose which check to face.
        if let Some(hash) = get("hash") {
            self.check_hmac(&pairs, hash)?;
        } else if let Some(signature) = get("signature") {
            self.check_ed25519(&pairs, signature)?;
        } else {
            return Err(InitDataError::NoHashOrSignature);
        }

        let auth_date = get("auth_date").ok_or(InitDataError::MissingField("auth_date"))?;
        let auth_date = parse_unix_secs(auth_date).ok_or(InitDataError::BadAuthDate)?;
        // i128: neither `now` nor a hostile `auth_date` can overflow the subtraction.
        let age = i128::from(now) - i128::from(auth_date);
        if age > i128::from(self.max_age_secs) {
            return Err(InitDataError::Expired);
        }
        if -age > i128::from(MAX_FUTURE_SKEW_SECS) {
            return Err(InitDataError::FromFuture);
        }

        // initData without a user (possible in some launch modes) identifies nobody: useless to
        // the shop, so it is an error rather than an anonymous session.
        let user = get("user").ok_or(InitDataError::BadUser)?;
        let user: TgUser = serde_json::from_str(user).map_err(|_| InitDataError::BadUser)?;

        let owned = |key: &str| get(key).map(str::to_owned);
        Ok(InitData {
            user,
            auth_date,
            start_param: owned("start_param"),
            query_id: owned("query_id"),
            chat_type: owned("chat_type"),
        })
    }

    /// HMAC over every pair but `hash`. `signature` and unknown keys stay in: Telegram computes
    /// the hash over everything it sent, so dropping anything would fail genuine data (the
    /// documented example only matches with `signature` included), and every field we accept
    /// must be covered by the check.
    fn check_hmac(&self, pairs: &[Pair<'_>], hash: &str) -> Result<(), InitDataError> {
        // Telegram sends lowercase hex and its reference checks compare strings; accepting other
        // spellings would only make one signed payload have several valid forms.
        if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(InitDataError::BadHash);
        }
        let mut expected = [0u8; 32];
        hex::decode_to_slice(hash, &mut expected).map_err(|_| InitDataError::BadHash)?;

        let mut mac = self.keyed_mac.clone();
        // Streamed into the MAC: same bytes as `check_string`, without building the string.
        for_each_check_line(pairs, &["hash"], |chunk| mac.update(chunk));
        let actual = mac.finalize().into_bytes();
        if bool::from(actual.as_slice().ct_eq(&expected)) {
            Ok(())
        } else {
            Err(InitDataError::BadHash)
        }
    }

    /// Ed25519 over `"<bot_id>:WebAppData\n"` + every pair but `hash` and `signature`.
    fn check_ed25519(&self, pairs: &[Pair<'_>], signature: &str) -> Result<(), InitDataError> {
        let bot_id = self.bot_id().ok_or(InitDataError::NoBotId)?;
        let bytes = BASE64URL
            .decode(signature)
            .map_err(|_| InitDataError::BadSignature)?;
        let bytes: [u8; 64] = bytes.try_into().map_err(|_| InitDataError::BadSignature)?;
        let signature = Signature::from_bytes(&bytes);
        let message = ed25519_message(bot_id, pairs);
        // Strict: rejects small-order keys/R and non-canonical S, so a signature has one form.
        self.public_key
            .verify_strict(message.as_bytes(), &signature)
            .map_err(|_| InitDataError::BadSignature)
    }
}

/// One decoded `(key, value)` pair, borrowed from the raw string when no decoding was needed.
type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Parses `application/x-www-form-urlencoded` (percent-decoding, `+` → space, as Telegram's
/// clients and URLSearchParams do) into pairs sorted by key in byte order.
///
/// Rejected, although Telegram's docs are silent on them:
/// * **Duplicated keys.** Parsers disagree on which copy wins (first, last, both), so a
///   duplicate could be verified under one meaning and used under another; Telegram never sends
///   them, so the contract is 401.
/// * **Keys or values containing a decoded `\n`, keys containing `=`, empty keys.** The check
///   string joins `key=value` lines with `\n`, which is ambiguous for such input: turning the raw
///   `&` before `chat_type` into a `\n` merges `chat_type=private` into the previous value while
///   the check string (and so the hash) stays byte-for-byte the same. Telegram never produces
///   them (JSON escapes newlines, keys are `[a-z_]`), and without them the check string maps
///   back to exactly one set of pairs.
fn parse_pairs(raw: &str) -> Result<Vec<Pair<'_>>, InitDataError> {
    if raw.is_empty() {
        return Err(InitDataError::Empty);
    }
    if raw.len() > MAX_RAW_LEN {
        return Err(InitDataError::TooLong);
    }
    let mut pairs: Vec<Pair<'_>> = form_urlencoded::parse(raw.as_bytes()).collect();
    if pairs.is_empty() {
        return Err(InitDataError::Malformed);
    }
    for (key, value) in &pairs {
        if key.is_empty() || key.contains(['=', '\n']) || value.contains('\n') {
            return Err(InitDataError::Malformed);
        }
    }
    pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(InitDataError::duplicate_key(&w[0].0));
    }
    Ok(pairs)
}

/// Feeds `key=value` lines of the sorted `pairs`, minus `skip`ped keys, joined by `\n`.
fn for_each_check_line(pairs: &[Pair<'_>], skip: &[&str], mut sink: impl FnMut(&[u8])) {
    let mut first = true;
    for (key, value) in pairs.iter().filter(|(k, _)| !skip.contains(&k.as_ref())) {
        if !first {
            sink(b"\n");
        }
        first = false;
        sink(key.as_bytes());
        sink(b"=");
        sink(value.as_bytes());
    }
}

fn check_string(pairs: &[Pair<'_>], skip: &[&str]) -> String {
    let mut out = Vec::new();
    for_each_check_line(pairs, skip, |chunk| out.extend_from_slice(chunk));
    String::from_utf8(out).expect("joined from str pieces")
}

fn ed25519_message(bot_id: i64, pairs: &[Pair<'_>]) -> String {
    format!(
        "{bot_id}:WebAppData\n{}",
        check_string(pairs, &["hash", "signature"])
    )
}

/// `auth_date` as plain decimal digits: no sign, no spaces, nothing `i64::from_str` would also
/// accept (`+5`), so one timestamp has one spelling.
fn parse_unix_secs(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_bot_id(bot_token: &str) -> Option<i64> {
    let (id, _) = bot_token.split_once(':')?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

fn keyed_mac(bot_token: &str) -> HmacSha256 {
    let mut secret_mac =
        HmacSha256::new_from_slice(WEB_APP_DATA).expect("HMAC accepts keys of any length");
    secret_mac.update(bot_token.as_bytes());
    let secret = secret_mac.finalize().into_bytes();
    HmacSha256::new_from_slice(&secret).expect("HMAC accepts keys of any length")
}

/// Sorted, borrowed pairs for the signing helpers (stable sort: duplicates keep their order, and
/// the verifier rejects them anyway).
fn sorted_pairs<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<Pair<'a>> {
    let mut sorted: Vec<Pair<'a>> = pairs
        .iter()
        .map(|&(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v)))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted
}

fn urlencode(pairs: &[(&str, &str)]) -> form_urlencoded::Serializer<'static, String> {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    serializer.extend_pairs(pairs);
    serializer
}

/// Builds a raw initData query string signed with HMAC for `bot_token`, as Telegram would: takes
/// `(key, decoded value)` pairs (without `hash`), urlencodes them in the given order and appends
/// `hash=<hex>`. Used by the dev-mode route and by tests. A `signature` pair, if given, is
/// covered by the hash like any other field.
pub fn sign_hmac(bot_token: &str, pairs: &[(&str, &str)]) -> String {
    let hash = hmac_hex(bot_token, &check_string(&sorted_pairs(pairs), &["hash"]));
    let mut serializer = urlencode(pairs);
    serializer.append_pair("hash", &hash);
    serializer.finish()
}

/// Builds a raw initData string carrying only `signature` (base64url, unpadded Ed25519 over
/// `"<bot_id>:WebAppData\n"` + sorted pairs), signed with `key`: tests play Telegram's role.
pub fn sign_ed25519(bot_id: i64, key: &SigningKey, pairs: &[(&str, &str)]) -> String {
    let message = ed25519_message(bot_id, &sorted_pairs(pairs));
    let signature = BASE64URL.encode(key.sign(message.as_bytes()).to_bytes());
    let mut serializer = urlencode(pairs);
    serializer.append_pair("signature", &signature);
    serializer.finish()
}

/// `hex(HMAC_SHA256(key = HMAC_SHA256(key = "WebAppData", msg = bot_token), msg = check_string))`,
/// key derivation included (a [`Verifier`] does that part once). Exposed for the bench.
pub fn hmac_hex(bot_token: &str, check_string: &str) -> String {
    let mut mac = keyed_mac(bot_token);
    mac.update(check_string.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Public demo bot from the init-data-golang README (reference sheet, section 1).
    const DEMO_TOKEN: &str = "7342037359:AAHI25ES9xCOMPokpYoz-p8XVrZUdygo2J4";
    const DEMO_BOT_ID: i64 = 7342037359;
    const DEMO_AUTH_DATE: i64 = 1733509682;
    const DEMO_USER: &str = "user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%20%2B%20-%20%3F%20%5C%2F%22%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22%2C%22is_premium%22%3Atrue%2C%22allows_write_to_pm%22%3Atrue%2C%22photo_url%22%3A%22https%3A%5C%2F%5C%2Ft.me%5C%2Fi%5C%2Fuserpic%5C%2F320%5C%2F4FPEE4tmP3ATHa57u6MqTDih13LTOiMoKoLDRG4PnSA.svg%22%7D";
    const DEMO_SIGNATURE: &str = "signature=TYJxVcisqbWjtodPepiJ6ghziUL94-KNpG8Pau-X7oNNLNBM72APCpi_RKiUlBvcqo5L-LAxIc3dnTzcZX_PDg";
    const DEMO_HASH: &str = "hash=a433d8f9847bd6addcc563bff7cc82c89e97ea0d90c11fe5729cae6796a36d73";
    const DAY: u64 = 86_400;
    const NOW: i64 = 1_750_000_000;

    fn demo_raw() -> String {
        format!(
            "{DEMO_USER}&chat_instance=8134722200314281151&chat_type=private&auth_date={DEMO_AUTH_DATE}&{DEMO_SIGNATURE}&{DEMO_HASH}"
        )
    }

    fn without(raw: &str, field: &str) -> String {
        raw.split('&')
            .filter(|p| *p != field)
            .collect::<Vec<_>>()
            .join("&")
    }

    fn key(hex: &str) -> VerifyingKey {
        Verifier::parse_public_key(hex).unwrap()
    }

    fn demo_verifier() -> Verifier {
        Verifier::new(
            DEMO_TOKEN.into(),
            key(Verifier::TELEGRAM_PRODUCTION_KEY_HEX),
            DAY,
        )
    }

    /// Our own "Telegram" for the Ed25519 tests.
    fn test_signing_key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    fn test_verifier() -> Verifier {
        Verifier::new(DEMO_TOKEN.into(), test_signing_key().verifying_key(), DAY)
    }

    const USER_JSON: &str = r#"{"id":42,"first_name":"Ann","language_code":"uz"}"#;

    fn signed(pairs: &[(&str, &str)]) -> String {
        sign_hmac(DEMO_TOKEN, pairs)
    }

    fn verify(raw: &str) -> Result<InitData, InitDataError> {
        test_verifier().verify(raw, NOW)
    }

    fn decoded_sorted(raw: &str) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        v.sort();
        v
    }

    // --- Telegram's documented example ---------------------------------------------------

    #[test]
    fn telegram_example_verifies_with_hmac() {
        let data = demo_verifier()
            .verify(&demo_raw(), DEMO_AUTH_DATE + 10)
            .unwrap();
        assert_eq!(data.auth_date, DEMO_AUTH_DATE);
        assert_eq!(data.chat_type.as_deref(), Some("private"));
        assert_eq!(data.start_param, None);
        assert_eq!(data.query_id, None);
        assert_eq!(
            data.user,
            TgUser {
                id: 279058397,
                // The JSON text is `"Vladislav + - ? \/"`; `\/` is JSON's escaped `/`.
                first_name: "Vladislav + - ? /".into(),
                last_name: Some("Kibenko".into()),
                username: Some("vdkfrost".into()),
                language_code: Some("ru".into()),
                is_premium: true,
                photo_url: Some(
                    "https://t.me/i/userpic/320/4FPEE4tmP3ATHa57u6MqTDih13LTOiMoKoLDRG4PnSA.svg"
                        .into()
                ),
            }
        );
    }

    #[test]
    fn telegram_example_verifies_with_ed25519_production_key() {
        let verifier = demo_verifier();
        assert_eq!(verifier.bot_id(), Some(DEMO_BOT_ID));
        let raw = without(&demo_raw(), DEMO_HASH);
        let data = verifier.verify(&raw, DEMO_AUTH_DATE + 10).unwrap();
        assert_eq!(data.user.id, 279058397);
        assert_eq!(data.user.first_name, "Vladislav + - ? /");
        assert_eq!(data.user.language_code.as_deref(), Some("ru"));
    }

    #[test]
    fn telegram_example_hmac_covers_signature() {
        let raw = without(&demo_raw(), DEMO_SIGNATURE);
        assert_eq!(
            demo_verifier()
                .verify(&raw, DEMO_AUTH_DATE + 10)
                .unwrap_err(),
            InitDataError::BadHash
        );
    }

    #[test]
    fn telegram_example_rejects_test_key() {
        let verifier = Verifier::new(DEMO_TOKEN.into(), key(Verifier::TELEGRAM_TEST_KEY_HEX), DAY);
        let raw = without(&demo_raw(), DEMO_HASH);
        assert_eq!(
            verifier.verify(&raw, DEMO_AUTH_DATE + 10).unwrap_err(),
            InitDataError::BadSignature
        );
    }

    #[test]
    fn telegram_example_rejects_wrong_token() {
        let verifier = Verifier::new(
            "7342037359:AAHI25ES9xCOMPokpYoz-p8XVrZUdygo2J5".into(),
            key(Verifier::TELEGRAM_PRODUCTION_KEY_HEX),
            DAY,
        );
        assert_eq!(
            verifier
                .verify(&demo_raw(), DEMO_AUTH_DATE + 10)
                .unwrap_err(),
            InitDataError::BadHash
        );
    }

    #[test]
    fn telegram_example_bad_hash_not_rescued_by_valid_signature() {
        let raw = demo_raw().replace("hash=a433", "hash=b433");
        assert_eq!(
            demo_verifier()
                .verify(&raw, DEMO_AUTH_DATE + 10)
                .unwrap_err(),
            InitDataError::BadHash
        );
    }

    #[test]
    fn telegram_example_signature_for_other_bot_id_rejected() {
        let verifier = Verifier::new(
            "7342037358:AAHI25ES9xCOMPokpYoz-p8XVrZUdygo2J4".into(),
            key(Verifier::TELEGRAM_PRODUCTION_KEY_HEX),
            DAY,
        );
        let raw = without(&demo_raw(), DEMO_HASH);
        assert_eq!(
            verifier.verify(&raw, DEMO_AUTH_DATE + 10).unwrap_err(),
            InitDataError::BadSignature
        );
    }

    #[test]
    fn telegram_example_expires() {
        let verifier = demo_verifier();
        assert!(verifier
            .verify(&demo_raw(), DEMO_AUTH_DATE + DAY as i64)
            .is_ok());
        assert_eq!(
            verifier
                .verify(&demo_raw(), DEMO_AUTH_DATE + DAY as i64 + 1)
                .unwrap_err(),
            InitDataError::Expired
        );
    }

    /// The check string joins lines with `\n`: a raw newline in place of `&` would merge
    /// `chat_type=private` into `chat_instance`'s value with an unchanged hash.
    #[test]
    fn newline_smuggling_rejected() {
        let raw = demo_raw().replace("&chat_type=", "\nchat_type=");
        assert_eq!(
            demo_verifier()
                .verify(&raw, DEMO_AUTH_DATE + 10)
                .unwrap_err(),
            InitDataError::Malformed
        );
        let raw = demo_raw().replace("&chat_type=", "%0Achat_type=");
        assert_eq!(
            demo_verifier()
                .verify(&raw, DEMO_AUTH_DATE + 10)
                .unwrap_err(),
            InitDataError::Malformed
        );
    }

    /// `a=b` + `c` and `a` + `b=c` give the same check line.
    #[test]
    fn equals_in_key_rejected() {
        let raw = signed(&[
            ("auth_date", "1749999990"),
            ("user", USER_JSON),
            ("x", "y=z"),
        ]);
        assert!(verify(&raw).is_ok());
        let moved = raw.replace("x=y%3Dz", "x%3Dy=z");
        assert_eq!(verify(&moved).unwrap_err(), InitDataError::Malformed);
    }

    // --- Rejections ------------------------------------------------------------------------

    #[test]
    fn rejects_empty() {
        assert_eq!(verify("").unwrap_err(), InitDataError::Empty);
        assert_eq!(verify("&&").unwrap_err(), InitDataError::Malformed);
        assert_eq!(verify("=x").unwrap_err(), InitDataError::Malformed);
    }

    #[test]
    fn rejects_too_long() {
        let raw = format!("x={}", "a".repeat(MAX_RAW_LEN));
        assert_eq!(verify(&raw).unwrap_err(), InitDataError::TooLong);
    }

    #[test]
    fn rejects_expired() {
        let raw = signed(&[
            ("auth_date", &(NOW - DAY as i64 - 1).to_string()),
            ("user", USER_JSON),
        ]);
        assert_eq!(verify(&raw).unwrap_err(), InitDataError::Expired);
        let raw = signed(&[
            ("auth_date", &(NOW - DAY as i64).to_string()),
            ("user", USER_JSON),
        ]);
        assert!(verify(&raw).is_ok());
        let raw = signed(&[("auth_date", "0"), ("user", USER_JSON)]);
        assert_eq!(verify(&raw).unwrap_err(), InitDataError::Expired);
    }

    #[test]
    fn rejects_future() {
        let raw = signed(&[("auth_date", &(NOW + 301).to_string()), ("user", USER_JSON)]);
        assert_eq!(verify(&raw).unwrap_err(), InitDataError::FromFuture);
        let raw = signed(&[("auth_date", &(NOW + 300).to_string()), ("user", USER_JSON)]);
        assert!(verify(&raw).is_ok());
        let raw = signed(&[("auth_date", &i64::MAX.to_string()), ("user", USER_JSON)]);
        assert_eq!(verify(&raw).unwrap_err(), InitDataError::FromFuture);
    }

    #[test]
    fn rejects_missing_auth_date() {
        let raw = signed(&[("user", USER_JSON)]);
        assert_eq!(
            verify(&raw).unwrap_err(),
            InitDataError::MissingField("auth_date")
        );
    }

    #[test]
    fn rejects_non_numeric_auth_date() {
        for bad in [
            "",
            "abc",
            "17e8",
            "-5",
            "+1749999990",
            " 1749999990",
            "1749999990.0",
            "99999999999999999999",
        ] {
            let raw = signed(&[("auth_date", bad), ("user", USER_JSON)]);
            assert_eq!(
                verify(&raw).unwrap_err(),
                InitDataError::BadAuthDate,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rejects_duplicated_key() {
        let raw = signed(&[
            ("auth_date", "1749999990"),
            ("auth_date", "1749999991"),
            ("user", USER_JSON),
        ]);
        assert_eq!(
            verify(&raw).unwrap_err(),
            InitDataError::DuplicateKey("auth_date".into())
        );
        let raw = format!(
            "{}&hash=00",
            signed(&[("auth_date", "1749999990"), ("user", USER_JSON)])
        );
        assert_eq!(
            verify(&raw).unwrap_err(),
            InitDataError::DuplicateKey("hash".into())
        );
        // Duplicates in the (attacker-chosen) key are sanitised before being echoed.
        let raw = "%3Cscript%3E=1&%3Cscript%3E=2";
        assert_eq!(
            verify(raw).unwrap_err(),
            InitDataError::DuplicateKey("?script?".into())
        );
    }

    #[test]
    fn rejects_bad_user() {
        for user in [
            "not json",
            r#"{"first_name":"Ann"}"#,
            r#"{"id":"42","first_name":"Ann"}"#,
            r#"{"id":42.5,"first_name":"Ann"}"#,
            r#"{"id":null}"#,
            "42",
            "[]",
            "",
        ] {
            let raw = signed(&[("auth_date", "1749999990"), ("user", user)]);
            assert_eq!(
                verify(&raw).unwrap_err(),
                InitDataError::BadUser,
                "{user:?}"
            );
        }
        let raw = signed(&[("auth_date", "1749999990")]);
        assert_eq!(verify(&raw).unwrap_err(), InitDataError::BadUser);
    }

    #[test]
    fn user_defaults() {
        let raw = signed(&[("auth_date", "1749999990"), ("user", r#"{"id":-5}"#)]);
        let user = verify(&raw).unwrap().user;
        assert_eq!(user.id, -5);
        assert_eq!(user.first_name, "");
        assert!(!user.is_premium);
        assert_eq!(
            (user.last_name, user.username, user.photo_url),
            (None, None, None)
        );
    }

    #[test]
    fn rejects_garbage_hash() {
        let base = signed(&[("auth_date", "1749999990"), ("user", USER_JSON)]);
        let (body, hash) = base.rsplit_once("&hash=").unwrap();
        let upper = hash.to_uppercase();
        let truncated = &hash[..62];
        let extended = format!("{hash}00");
        for bad in [
            "",
            "zz",
            "not-hex",
            truncated,
            &extended,
            &upper,
            &"0".repeat(64),
        ] {
            let raw = format!("{body}&hash={bad}");
            assert_eq!(verify(&raw).unwrap_err(), InitDataError::BadHash, "{bad:?}");
        }
    }

    #[test]
    fn rejects_wrong_token() {
        let raw = sign_hmac(
            "7342037359:other",
            &[("auth_date", "1749999990"), ("user", USER_JSON)],
        );
        assert_eq!(verify(&raw).unwrap_err(), InitDataError::BadHash);
    }

    #[test]
    fn rejects_unsigned() {
        let raw = "auth_date=1749999990&user=%7B%22id%22%3A1%7D";
        assert_eq!(verify(raw).unwrap_err(), InitDataError::NoHashOrSignature);
    }

    #[test]
    fn rejects_garbage_signature() {
        let good = sign_ed25519(
            DEMO_BOT_ID,
            &test_signing_key(),
            &[("auth_date", "1749999990"), ("user", USER_JSON)],
        );
        let (body, sig) = good.rsplit_once("&signature=").unwrap();
        let std_alphabet = sig.replace('-', "+").replace('_', "/");
        for bad in [
            "",
            "abc",
            "!!!!",
            &sig[..80],
            &format!("{sig}AA"),
            &"A".repeat(86),
        ] {
            let raw = format!("{body}&signature={bad}");
            assert_eq!(
                verify(&raw).unwrap_err(),
                InitDataError::BadSignature,
                "{bad:?}"
            );
        }
        if std_alphabet != sig {
            let encoded: String =
                form_urlencoded::byte_serialize(std_alphabet.as_bytes()).collect();
            let raw = format!("{body}&signature={encoded}");
            assert_eq!(verify(&raw).unwrap_err(), InitDataError::BadSignature);
        }
    }

    #[test]
    fn signature_with_padding_tolerated() {
        let good = sign_ed25519(
            DEMO_BOT_ID,
            &test_signing_key(),
            &[("auth_date", "1749999990"), ("user", USER_JSON)],
        );
        assert!(verify(&format!("{good}%3D%3D")).is_ok());
        // Only the first `=` separates key and value: raw padding is part of the value too.
        assert!(verify(&format!("{good}==")).is_ok());
    }

    #[test]
    fn ed25519_needs_bot_id() {
        let raw = sign_ed25519(
            DEMO_BOT_ID,
            &test_signing_key(),
            &[("auth_date", "1749999990"), ("user", USER_JSON)],
        );
        let verifier = Verifier::new(
            "no-colon-token".into(),
            test_signing_key().verifying_key(),
            DAY,
        );
        assert_eq!(verifier.bot_id(), None);
        assert_eq!(
            verifier.verify(&raw, NOW).unwrap_err(),
            InitDataError::NoBotId
        );
        let verifier = Verifier::new("abc:def".into(), test_signing_key().verifying_key(), DAY);
        assert_eq!(verifier.bot_id(), None);
    }

    #[test]
    fn ed25519_with_wrong_key_rejected() {
        let other = SigningKey::from_bytes(&[8u8; 32]);
        let raw = sign_ed25519(
            DEMO_BOT_ID,
            &other,
            &[("auth_date", "1749999990"), ("user", USER_JSON)],
        );
        assert_eq!(verify(&raw).unwrap_err(), InitDataError::BadSignature);
    }

    #[test]
    fn parse_public_key_errors() {
        assert!(Verifier::parse_public_key(Verifier::TELEGRAM_PRODUCTION_KEY_HEX).is_ok());
        assert!(
            Verifier::parse_public_key(&format!(" {}\n", Verifier::TELEGRAM_TEST_KEY_HEX)).is_ok()
        );
        assert!(Verifier::parse_public_key("abcd")
            .unwrap_err()
            .contains("64 hex characters"));
        assert!(Verifier::parse_public_key(&"zz".repeat(32))
            .unwrap_err()
            .contains("not valid hex"));
        // The identity point: decodes fine but is small-order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(Verifier::parse_public_key(&hex::encode(identity))
            .unwrap_err()
            .contains("weak"));
    }

    #[test]
    fn secrets_stay_out_of_debug_and_messages() {
        let verifier = demo_verifier();
        let debug = format!("{verifier:?}");
        assert!(!debug.contains("AAHI25ES9xCOMPokpYoz"), "{debug}");
        assert!(debug.contains("7342037359"), "{debug}");
        let err = verifier.verify("hash=00&auth_date=1", 0).unwrap_err();
        assert!(!err.message().contains("AAHI25ES9xCOMPokpYoz"));
        assert!(!err.message().is_empty());
        assert_eq!(err.code(), "init_data_bad_hash");
    }

    // --- Round trips -----------------------------------------------------------------------

    #[test]
    fn sign_hmac_round_trip_with_awkward_values() {
        let user = serde_json::json!({
            "id": 9007199254740991_i64,
            "first_name": "Zoë & Co = 1+1 ✓",
            "last_name": "O'Brien \"quoted\" \\ / %20 ?#",
            "username": "zoe_co",
            "language_code": "uz",
            "is_premium": true,
            "photo_url": "https://t.me/i/userpic/320/a+b=c&d.svg"
        })
        .to_string();
        let pairs = [
            ("query_id", "AAE x+y&z=1"),
            ("user", user.as_str()),
            ("auth_date", "1749999990"),
            ("start_param", "promo_2024-UZ"),
            ("chat_type", "private"),
            ("unknown_field", "Привет, 世界 🌍 %41 + = &"),
            ("signature", "not checked when hash is present"),
        ];
        let raw = signed(&pairs);
        let data = verify(&raw).unwrap();
        assert_eq!(data.user.id, 9007199254740991);
        assert_eq!(data.user.first_name, "Zoë & Co = 1+1 ✓");
        assert_eq!(
            data.user.last_name.as_deref(),
            Some("O'Brien \"quoted\" \\ / %20 ?#")
        );
        assert_eq!(data.query_id.as_deref(), Some("AAE x+y&z=1"));
        assert_eq!(data.start_param.as_deref(), Some("promo_2024-UZ"));
        assert_eq!(data.chat_type.as_deref(), Some("private"));
        assert_eq!(data.auth_date, 1749999990);

        // The same data signed by "Telegram" only.
        let without_sig: Vec<_> = pairs
            .iter()
            .copied()
            .filter(|(k, _)| *k != "signature")
            .collect();
        let raw = sign_ed25519(DEMO_BOT_ID, &test_signing_key(), &without_sig);
        let data2 = verify(&raw).unwrap();
        assert_eq!(data2.user, data.user);
        assert_eq!(data2.query_id, data.query_id);
    }

    #[test]
    fn hmac_hex_matches_telegram_example() {
        let check = "auth_date=1733509682\nchat_instance=8134722200314281151\nchat_type=private\nsignature=TYJxVcisqbWjtodPepiJ6ghziUL94-KNpG8Pau-X7oNNLNBM72APCpi_RKiUlBvcqo5L-LAxIc3dnTzcZX_PDg\nuser={\"id\":279058397,\"first_name\":\"Vladislav + - ? \\/\",\"last_name\":\"Kibenko\",\"username\":\"vdkfrost\",\"language_code\":\"ru\",\"is_premium\":true,\"allows_write_to_pm\":true,\"photo_url\":\"https:\\/\\/t.me\\/i\\/userpic\\/320\\/4FPEE4tmP3ATHa57u6MqTDih13LTOiMoKoLDRG4PnSA.svg\"}";
        assert_eq!(
            hmac_hex(DEMO_TOKEN, check),
            DEMO_HASH.trim_start_matches("hash=")
        );
    }

    /// Every position of Telegram's example, replaced by every other ASCII byte: exhaustive,
    /// because the dangerous mutations (a `&` turned into a raw newline) are too rare for random
    /// sampling to hit reliably. Either rejected or decoding to exactly the same pairs.
    #[test]
    fn telegram_example_every_single_byte_mutation() {
        let verifier = demo_verifier();
        let raw = demo_raw();
        let original = decoded_sorted(&raw);
        let mut accepted = 0;
        for pos in 0..raw.len() {
            for byte in 0u8..0x80 {
                let mut bytes = raw.clone().into_bytes();
                if bytes[pos] == byte {
                    continue;
                }
                bytes[pos] = byte;
                let mutated = String::from_utf8(bytes).unwrap();
                if verifier.verify(&mutated, DEMO_AUTH_DATE + 10).is_ok() {
                    assert_eq!(decoded_sorted(&mutated), original, "{mutated}");
                    accepted += 1;
                }
            }
        }
        // Only re-spellings survive, e.g. `%2F` -> `%2f`.
        assert!(accepted > 0);
    }

    /// The same for the signature-only form, with the bytes that carry structure.
    #[test]
    fn telegram_example_structural_mutations_ed25519() {
        let verifier = demo_verifier();
        let raw = without(&demo_raw(), DEMO_HASH);
        let original = decoded_sorted(&raw);
        for pos in 0..raw.len() {
            for &byte in b"&=%+\n\r ;#0Aa" {
                let mut bytes = raw.clone().into_bytes();
                if bytes[pos] == byte {
                    continue;
                }
                bytes[pos] = byte;
                let mutated = String::from_utf8(bytes).unwrap();
                if verifier.verify(&mutated, DEMO_AUTH_DATE + 10).is_ok() {
                    assert_eq!(decoded_sorted(&mutated), original, "{mutated}");
                }
            }
        }
    }

    // --- Properties --------------------------------------------------------------------------

    /// Extra fields: keys the parser accepts (non-empty, no `=`/newline, not reserved) and
    /// arbitrary values without newlines (unicode, `&`, `=`, `+`, `%`, spaces…).
    fn extra_fields() -> impl Strategy<Value = Vec<(String, String)>> {
        let key = "[^=\n]{1,10}".prop_filter("reserved", |k| {
            !["hash", "signature", "user", "auth_date"].contains(&k.as_str())
        });
        prop::collection::btree_map(key, "[^\n]{0,24}", 0..4).prop_map(|m| m.into_iter().collect())
    }

    fn user_json() -> impl Strategy<Value = (i64, String)> {
        (any::<i64>(), any::<String>()).prop_map(|(id, name)| {
            (
                id,
                serde_json::json!({ "id": id, "first_name": name }).to_string(),
            )
        })
    }

    /// Any ASCII byte, with extra weight on the ones that carry structure.
    fn mutation_byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            3 => 0u8..0x80,
            1 => prop::sample::select(b"&=%+\n\r ;#".to_vec()),
        ]
    }

    fn build_pairs<'a>(
        user: &'a str,
        auth_date: &'a str,
        extra: &'a [(String, String)],
    ) -> Vec<(&'a str, &'a str)> {
        let mut pairs = vec![("user", user), ("auth_date", auth_date)];
        pairs.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        pairs
    }

    /// Either the mutated string is rejected, or it decodes to exactly the same pairs (e.g. `+`
    /// vs a raw space, `%2B` vs `%2b`): a valid hash/signature never vouches for other data.
    fn assert_mutation_safe(raw: &str, pos: usize, byte: u8) -> Result<(), TestCaseError> {
        let mut bytes = raw.as_bytes().to_vec();
        let pos = pos % bytes.len();
        prop_assume!(bytes[pos] != byte);
        bytes[pos] = byte;
        // ASCII in, ASCII out: the mutation always leaves valid UTF-8.
        let mutated = String::from_utf8(bytes).unwrap();
        if verify(&mutated).is_ok() {
            prop_assert_eq!(decoded_sorted(&mutated), decoded_sorted(raw), "{}", mutated);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn prop_sign_hmac_round_trip((id, user) in user_json(), age in 0..DAY as i64, extra in extra_fields()) {
            let auth_date = (NOW - age).to_string();
            let raw = signed(&build_pairs(&user, &auth_date, &extra));
            let data = verify(&raw).unwrap();
            prop_assert_eq!(data.user.id, id);
            prop_assert_eq!(data.auth_date, NOW - age);
        }

        #[test]
        fn prop_sign_ed25519_round_trip((id, user) in user_json(), age in 0..DAY as i64, extra in extra_fields()) {
            let auth_date = (NOW - age).to_string();
            let raw = sign_ed25519(DEMO_BOT_ID, &test_signing_key(), &build_pairs(&user, &auth_date, &extra));
            let data = verify(&raw).unwrap();
            prop_assert_eq!(data.user.id, id);
            prop_assert_eq!(data.auth_date, NOW - age);
        }

        /// Any single byte of an HMAC-signed string, replaced by any other ASCII byte (non-ASCII
        /// bytes cannot occur in a `&str` that was ASCII, nor in an HTTP header value).
        #[test]
        fn prop_hmac_single_byte_mutation(
            (_id, user) in user_json(), extra in extra_fields(), pos in any::<usize>(), byte in mutation_byte(),
        ) {
            let raw = signed(&build_pairs(&user, "1749999990", &extra));
            prop_assert!(verify(&raw).is_ok());
            assert_mutation_safe(&raw, pos, byte)?;
        }

        #[test]
        fn prop_ed25519_single_byte_mutation(
            (_id, user) in user_json(), extra in extra_fields(), pos in any::<usize>(), byte in mutation_byte(),
        ) {
            let raw = sign_ed25519(DEMO_BOT_ID, &test_signing_key(), &build_pairs(&user, "1749999990", &extra));
            prop_assert!(verify(&raw).is_ok());
            assert_mutation_safe(&raw, pos, byte)?;
        }

        /// Telegram's own example, mutated anywhere.
        #[test]
        fn prop_telegram_example_single_byte_mutation(pos in any::<usize>(), byte in mutation_byte()) {
            let raw = demo_raw();
            let mut bytes = raw.clone().into_bytes();
            let pos = pos % bytes.len();
            prop_assume!(bytes[pos] != byte);
            bytes[pos] = byte;
            let mutated = String::from_utf8(bytes).unwrap();
            if demo_verifier().verify(&mutated, DEMO_AUTH_DATE + 10).is_ok() {
                prop_assert_eq!(decoded_sorted(&mutated), decoded_sorted(&raw), "{}", mutated);
            }
        }

        /// Every change to a character of the hex `hash` is rejected, even a case change.
        #[test]
        fn prop_hash_char_change_rejected(index in 0usize..64, byte in any::<u8>()) {
            let raw = signed(&[("auth_date", "1749999990"), ("user", USER_JSON)]);
            let start = raw.len() - 64;
            prop_assume!(raw.as_bytes()[start + index] != byte);
            let mut bytes = raw.into_bytes();
            bytes[start + index] = byte;
            // Non-ASCII bytes would not form a `&str`; the header layer already refuses them.
            if let Ok(mutated) = String::from_utf8(bytes) {
                // BadHash, or Malformed when the new byte is a raw newline.
                prop_assert!(verify(&mutated).is_err(), "{}", mutated);
            }
        }

        /// Flipping any bit of any hash byte (the decoded value) is rejected.
        #[test]
        fn prop_hash_bit_flip_rejected(index in 0usize..32, bit in 0u8..8) {
            let raw = signed(&[("auth_date", "1749999990"), ("user", USER_JSON)]);
            let (body, hash) = raw.rsplit_once("&hash=").unwrap();
            let mut decoded = hex::decode(hash).unwrap();
            decoded[index] ^= 1 << bit;
            let mutated = format!("{body}&hash={}", hex::encode(decoded));
            prop_assert_eq!(verify(&mutated).unwrap_err(), InitDataError::BadHash);
        }
    }
}
