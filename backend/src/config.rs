//! Typed configuration from the environment (optionally a `.env` file).
//!
//! Every variable is parsed once at start-up; a bad value stops the shop with a message that
//! names the variable, so an operator never finds out at the first payment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use shared::Lang;

#[derive(Clone)]
pub struct Config {
    pub bind_addr: SocketAddr,
    pub database_url: String,
    pub public_url: String,
    /// `None` = dev mode: an ephemeral token signs initData for a dev user.
    pub telegram_bot_token: Option<SecretString>,
    pub telegram_api_url: String,
    pub telegram_webhook_secret: Option<SecretString>,
    pub telegram_public_key: String,
    pub init_data_max_age_secs: u64,
    pub seed_demo: bool,
    /// Requests per minute per client IP on `/api/*`; 0 = off.
    pub rate_limit_per_minute: u32,
    pub admin_email: Option<String>,
    pub admin_password: Option<SecretString>,
    /// Unpaid orders keep their stock this long.
    pub order_reservation: Duration,
    /// A cart left unchanged this long gets one reminder through the bot
    /// (`CART_REMINDER_HOURS`); `None` = no reminders.
    pub cart_reminder: Option<Duration>,
    /// Language order tried when a text is missing in the asked language.
    pub lang_fallback: Vec<Lang>,
    pub default_lang: Lang,
    pub dist_dir: PathBuf,
    pub media_dir: PathBuf,
    pub admin_session_ttl: Duration,
    pub request_timeout: Duration,
    /// Telegram payment-provider token (e.g. Click or Payme through Telegram) for fiat invoices.
    pub telegram_provider_token: Option<SecretString>,
    pub stripe: Option<StripeConfig>,
    pub paypal: Option<PaypalConfig>,
    pub click: Option<ClickConfig>,
    pub payme: Option<PaymeConfig>,
    /// Toncoin and USDT on TON to the merchant's wallet (`TON_WALLET`, `TONCENTER_*`).
    pub ton: Option<TonConfig>,
    /// Crypto Pay (@CryptoBot) invoices (`CRYPTOPAY_TOKEN`).
    pub cryptopay: Option<CryptopayConfig>,
    /// YooKassa payments (`YOOKASSA_SHOP_ID`, `YOOKASSA_SECRET_KEY`).
    pub yookassa: Option<YookassaConfig>,
    /// Turns on `GET /metrics` for `Authorization: Bearer <token>` (`METRICS_TOKEN`).
    pub metrics_token: Option<SecretString>,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` are believed (`TRUSTED_PROXIES`).
    pub trusted_proxies: crate::client_ip::TrustedProxies,
}

#[derive(Clone)]
pub struct StripeConfig {
    pub secret_key: SecretString,
    pub webhook_secret: SecretString,
    pub api_url: String,
}

#[derive(Clone)]
pub struct PaypalConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    pub webhook_id: String,
    pub api_url: String,
}

#[derive(Clone)]
pub struct ClickConfig {
    pub service_id: String,
    pub merchant_id: String,
    pub secret_key: SecretString,
}

#[derive(Clone)]
pub struct PaymeConfig {
    pub merchant_id: String,
    pub key: SecretString,
    pub checkout_url: String,
    /// The fiscal codes of the delivery fee's receipt line (`PAYME_DELIVERY_IKPU`,
    /// `PAYME_DELIVERY_PACKAGE_CODE`, `PAYME_DELIVERY_VAT_PERCENT`, default 0): without the
    /// first two, an order with a delivery fee gets no receipt detail (`shop check` says so).
    pub delivery_ikpu: Option<String>,
    pub delivery_package_code: Option<String>,
    pub delivery_vat_percent: i64,
}

#[derive(Clone)]
pub struct TonConfig {
    /// The merchant's wallet as the merchant wrote it (any address form).
    pub wallet: String,
    pub api_url: String,
    pub api_key: Option<SecretString>,
    /// The USDT jetton master; transfers of any other jetton are not USDT.
    pub usdt_master: String,
    pub poll: Duration,
    /// `wallet` parsed (checked at start-up, CRC included): what incoming transfers are
    /// compared with, since toncenter spells addresses raw.
    pub wallet_addr: crate::ton_address::TonAddress,
    /// `usdt_master` parsed: a jetton transfer counts as USDT only from this master.
    pub usdt_master_addr: crate::ton_address::TonAddress,
}

#[derive(Clone)]
pub struct CryptopayConfig {
    pub token: SecretString,
    pub api_url: String,
}

#[derive(Clone)]
pub struct YookassaConfig {
    pub shop_id: String,
    pub secret_key: SecretString,
    pub api_url: String,
    /// Send a 54-FZ receipt with every payment and refund (`YOOKASSA_RECEIPTS=1`), for a shop
    /// that fiscalises through YooKassa; the buyer then must give an email or phone.
    pub receipts: bool,
    /// With `YOOKASSA_CHECK_SOURCE=1`: the networks a notification must come from (the client
    /// address as `TRUSTED_PROXIES` lets it be read), YooKassa's published ones unless
    /// `YOOKASSA_ALLOWED_SOURCES` replaces them. `None`: any source (each notification is
    /// still read back from the API).
    pub allowed_sources: Option<crate::client_ip::Networks>,
}

/// The addresses YooKassa sends HTTP notifications from, as its documentation publishes them
/// (yookassa.ru/developers/using-api/webhooks): `YOOKASSA_ALLOWED_SOURCES` replaces the list
/// when YooKassa changes it.
pub const YOOKASSA_SOURCES: &str = "185.71.76.0/27, 185.71.77.0/27, 77.75.153.0/25, \
     77.75.154.128/25, 77.75.156.11, 77.75.156.35, 2a02:5180::/32";

impl std::fmt::Debug for Config {
    // Hand-written so secrets can never reach a log line through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("bind_addr", &self.bind_addr)
            .field("database_url", &redact_url(&self.database_url))
            .field("public_url", &self.public_url)
            .field("dev_mode", &self.telegram_bot_token.is_none())
            .field("telegram_api_url", &self.telegram_api_url)
            .field("seed_demo", &self.seed_demo)
            .field("rate_limit_per_minute", &self.rate_limit_per_minute)
            .finish_non_exhaustive()
    }
}

/// Hides a password in `postgres://user:pass@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `get`, so tests can build one without touching the
    /// process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let val = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let bind_addr = match val("BIND_ADDR") {
            Some(v) => v.parse().map_err(|_| {
                err(
                    "BIND_ADDR",
                    format!("'{v}' is not an address like 127.0.0.1:8080"),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let database_url = val("DATABASE_URL").unwrap_or_else(|| "sqlite://data/shop.db".into());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(err(
                "DATABASE_URL",
                "must start with sqlite:// or postgres://",
            ));
        }
        let public_url = val("PUBLIC_URL")
            .unwrap_or_else(|| "http://127.0.0.1:8080".into())
            .trim_end_matches('/')
            .to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(err("PUBLIC_URL", "must be an http:// or https:// URL"));
        }
        let telegram_bot_token = match val("TELEGRAM_BOT_TOKEN") {
            Some(t) => {
                let ok = t
                    .split_once(':')
                    .is_some_and(|(id, rest)| id.parse::<i64>().is_ok() && !rest.is_empty());
                if !ok {
                    // Never echo the token itself.
                    return Err(err(
                        "TELEGRAM_BOT_TOKEN",
                        "does not look like a bot token (<bot id>:<secret> from @BotFather)",
                    ));
                }
                Some(SecretString::from(t))
            }
            None => None,
        };
        let telegram_api_url = val("TELEGRAM_API_URL")
            .unwrap_or_else(|| "https://api.telegram.org".into())
            .trim_end_matches('/')
            .to_string();
        let telegram_webhook_secret = match val("TELEGRAM_WEBHOOK_SECRET") {
            Some(s) => {
                if s.is_empty()
                    || s.len() > 256
                    || !s
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Err(err(
                        "TELEGRAM_WEBHOOK_SECRET",
                        "must be 1-256 characters of A-Z, a-z, 0-9, _ and -",
                    ));
                }
                Some(SecretString::from(s))
            }
            None => None,
        };
        let telegram_public_key = val("TELEGRAM_PUBLIC_KEY").unwrap_or_else(|| {
            "e7bf03a2fa4602af4580703d88dda5bb59f32ed8b02a56c187fe7d34caed242d".into()
        });
        if telegram_public_key.len() != 64 || hex::decode(&telegram_public_key).is_err() {
            return Err(err(
                "TELEGRAM_PUBLIC_KEY",
                "must be 64 hex characters (an Ed25519 public key)",
            ));
        }
        let init_data_max_age_secs = parse_num(&val, "INIT_DATA_MAX_AGE_SECS", 86_400u64)?;
        let seed_demo = parse_bool(&val, "SEED_DEMO")?;
        let rate_limit_per_minute = parse_num(&val, "RATE_LIMIT_PER_MINUTE", 600u32)?;
        let admin_email = val("ADMIN_EMAIL");
        let admin_password = val("ADMIN_PASSWORD").map(SecretString::from);
        if admin_email.is_some() != admin_password.is_some() {
            return Err(err(
                "ADMIN_PASSWORD",
                "ADMIN_EMAIL and ADMIN_PASSWORD must be set together",
            ));
        }
        if let Some(e) = &admin_email {
            if !e.contains('@') {
                return Err(err("ADMIN_EMAIL", "is not an email address"));
            }
        }
        let reservation_mins = parse_num(&val, "ORDER_RESERVATION_MINUTES", 30u64)?;
        if reservation_mins == 0 {
            return Err(err("ORDER_RESERVATION_MINUTES", "must be at least 1"));
        }
        let reminder_hours = parse_num(&val, "CART_REMINDER_HOURS", 24u64)?;
        if reminder_hours > 24 * 365 {
            return Err(err(
                "CART_REMINDER_HOURS",
                "must be at most 8760 (a year); 0 turns reminders off",
            ));
        }
        let lang_fallback = match val("LANG_FALLBACK") {
            Some(v) => v
                .split(',')
                .map(|t| {
                    Lang::parse(t)
                        .ok_or_else(|| err("LANG_FALLBACK", format!("'{t}' is not uz, ru or en")))
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => vec![Lang::En, Lang::Ru, Lang::Uz],
        };
        let default_lang = lang_fallback.first().copied().unwrap_or(Lang::En);
        let dist_dir = PathBuf::from(val("DIST_DIR").unwrap_or_else(|| "dist".into()));
        let media_dir = PathBuf::from(val("MEDIA_DIR").unwrap_or_else(|| "data/media".into()));
        let session_hours = parse_num(&val, "ADMIN_SESSION_HOURS", 12u64)?;
        let timeout_secs = parse_num(&val, "REQUEST_TIMEOUT_SECS", 30u64)?;

        let telegram_provider_token = val("TELEGRAM_PROVIDER_TOKEN").map(SecretString::from);
        let stripe =
            group(&val, &["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"])?.map(|v| StripeConfig {
                secret_key: SecretString::from(v[0].clone()),
                webhook_secret: SecretString::from(v[1].clone()),
                api_url: url_or(&val, "STRIPE_API_URL", "https://api.stripe.com"),
            });
        let paypal = group(
            &val,
            &[
                "PAYPAL_CLIENT_ID",
                "PAYPAL_CLIENT_SECRET",
                "PAYPAL_WEBHOOK_ID",
            ],
        )?
        .map(|v| PaypalConfig {
            client_id: v[0].clone(),
            client_secret: SecretString::from(v[1].clone()),
            webhook_id: v[2].clone(),
            api_url: url_or(&val, "PAYPAL_API_URL", "https://api-m.sandbox.paypal.com"),
        });
        let click = group(
            &val,
            &["CLICK_SERVICE_ID", "CLICK_MERCHANT_ID", "CLICK_SECRET_KEY"],
        )?
        .map(|v| ClickConfig {
            service_id: v[0].clone(),
            merchant_id: v[1].clone(),
            secret_key: SecretString::from(v[2].clone()),
        });
        let payme = group(&val, &["PAYME_MERCHANT_ID", "PAYME_KEY"])?.map(|v| PaymeConfig {
            merchant_id: v[0].clone(),
            key: SecretString::from(v[1].clone()),
            checkout_url: url_or(&val, "PAYME_CHECKOUT_URL", "https://checkout.paycom.uz"),
            delivery_ikpu: val("PAYME_DELIVERY_IKPU"),
            delivery_package_code: val("PAYME_DELIVERY_PACKAGE_CODE"),
            delivery_vat_percent: 0,
        });
        let payme = match (payme, val("PAYME_DELIVERY_VAT_PERCENT")) {
            (Some(mut p), Some(v)) => {
                p.delivery_vat_percent = v
                    .parse::<i64>()
                    .ok()
                    .filter(|p| (0..=100).contains(p))
                    .ok_or_else(|| {
                        err(
                            "PAYME_DELIVERY_VAT_PERCENT",
                            format!("'{v}' is not a whole percent from 0 to 100"),
                        )
                    })?;
                Some(p)
            }
            (p, _) => p,
        };

        let ton = match val("TON_WALLET") {
            Some(wallet) => {
                let usdt_master = val("TON_USDT_MASTER")
                    .map(|v| v.trim().to_string())
                    .unwrap_or_else(|| "EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_sDs".into());
                let parse = |var: &'static str, v: &str| {
                    crate::ton_address::TonAddress::parse(v).map_err(|m| {
                        err(
                            var,
                            format!("is not a TON address ({m}); paste it from your wallet app"),
                        )
                    })
                };
                Some(TonConfig {
                    wallet_addr: parse("TON_WALLET", &wallet)?,
                    usdt_master_addr: parse("TON_USDT_MASTER", &usdt_master)?,
                    wallet: wallet.trim().to_string(),
                    api_url: url_or(&val, "TONCENTER_API_URL", "https://toncenter.com/api/v3"),
                    api_key: val("TONCENTER_API_KEY").map(SecretString::from),
                    usdt_master,
                    poll: Duration::from_secs(parse_num(&val, "TON_POLL_SECS", 10u64)?.max(1)),
                })
            }
            None => None,
        };
        let cryptopay = val("CRYPTOPAY_TOKEN").map(|token| CryptopayConfig {
            token: SecretString::from(token),
            api_url: url_or(&val, "CRYPTOPAY_API_URL", "https://pay.crypt.bot/api"),
        });
        let yookassa_receipts = parse_bool(&val, "YOOKASSA_RECEIPTS")?;
        let yookassa_sources = match (
            parse_bool(&val, "YOOKASSA_CHECK_SOURCE")?,
            val("YOOKASSA_ALLOWED_SOURCES"),
        ) {
            (false, None) => None,
            // A list without the switch would look like protection that is not there.
            (false, Some(_)) => {
                return Err(err(
                    "YOOKASSA_ALLOWED_SOURCES",
                    "is set but YOOKASSA_CHECK_SOURCE is not: set YOOKASSA_CHECK_SOURCE=1 to \
                     take notifications only from these addresses, or unset the list",
                ))
            }
            (true, list) => {
                let nets =
                    crate::client_ip::Networks::parse(list.as_deref().unwrap_or(YOOKASSA_SOURCES))
                        .map_err(|m| err("YOOKASSA_ALLOWED_SOURCES", m))?;
                if nets.is_empty() {
                    return Err(err(
                        "YOOKASSA_ALLOWED_SOURCES",
                        "lists no address, so every notification would be refused: give \
                         YooKassa's networks comma-separated, or unset it for the published list",
                    ));
                }
                Some(nets)
            }
        };
        let yookassa =
            group(&val, &["YOOKASSA_SHOP_ID", "YOOKASSA_SECRET_KEY"])?.map(|v| YookassaConfig {
                shop_id: v[0].clone(),
                secret_key: SecretString::from(v[1].clone()),
                api_url: url_or(&val, "YOOKASSA_API_URL", "https://api.yookassa.ru/v3"),
                receipts: yookassa_receipts,
                allowed_sources: yookassa_sources,
            });

        let trusted_proxies = match val("TRUSTED_PROXIES") {
            Some(v) => crate::client_ip::TrustedProxies::parse(&v)
                .map_err(|m| err("TRUSTED_PROXIES", m))?,
            None => Default::default(),
        };

        let metrics_token = val("METRICS_TOKEN").map(SecretString::from);

        let config = Config {
            bind_addr,
            database_url,
            public_url,
            telegram_bot_token,
            telegram_api_url,
            telegram_webhook_secret,
            telegram_public_key,
            init_data_max_age_secs,
            seed_demo,
            rate_limit_per_minute,
            admin_email,
            admin_password,
            order_reservation: Duration::from_secs(reservation_mins * 60),
            cart_reminder: (reminder_hours > 0).then(|| Duration::from_secs(reminder_hours * 3600)),
            lang_fallback,
            default_lang,
            dist_dir,
            media_dir,
            admin_session_ttl: Duration::from_secs(session_hours * 3600),
            request_timeout: Duration::from_secs(timeout_secs.max(1)),
            telegram_provider_token,
            stripe,
            paypal,
            click,
            payme,
            ton,
            cryptopay,
            yookassa,
            trusted_proxies,
            metrics_token,
        };
        config.check_dev_mode()?;
        Ok(config)
    }

    pub fn dev_mode(&self) -> bool {
        self.telegram_bot_token.is_none()
    }

    /// Whether the shop is served over https (`PUBLIC_URL`): a public deployment.
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The paying rails besides cash that are configured, by the variable that turns each on.
    fn paying_rails(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.telegram_provider_token.is_some() {
            v.push("TELEGRAM_PROVIDER_TOKEN");
        }
        if self.stripe.is_some() {
            v.push("STRIPE_SECRET_KEY");
        }
        if self.paypal.is_some() {
            v.push("PAYPAL_CLIENT_ID");
        }
        if self.click.is_some() {
            v.push("CLICK_SERVICE_ID");
        }
        if self.payme.is_some() {
            v.push("PAYME_MERCHANT_ID");
        }
        if self.ton.is_some() {
            v.push("TON_WALLET");
        }
        if self.cryptopay.is_some() {
            v.push("CRYPTOPAY_TOKEN");
        }
        if self.yookassa.is_some() {
            v.push("YOOKASSA_SHOP_ID");
        }
        v
    }

    /// Dev mode signs in anyone who can reach `/api/dev/init-data` as the shared dev user. That
    /// is fine on a developer's machine and a hole anywhere else, so a configuration that looks
    /// like a real shop (https, or a rail that takes money) must bring a bot token.
    fn check_dev_mode(&self) -> Result<(), ConfigError> {
        if !self.dev_mode() {
            return Ok(());
        }
        if self.is_https() {
            return Err(err(
                "TELEGRAM_BOT_TOKEN",
                format!(
                    "is not set, but PUBLIC_URL is https ({}): without a bot token the shop runs \
                     in dev mode, where anyone can sign in as the dev user. Set \
                     TELEGRAM_BOT_TOKEN (from @BotFather), or use an http:// PUBLIC_URL on your own machine",
                    self.public_url
                ),
            ));
        }
        if let Some(var) = self.paying_rails().first() {
            return Err(err(
                "TELEGRAM_BOT_TOKEN",
                format!(
                    "is not set, but {var} configures a payment rail: dev mode (anyone can sign \
                     in as the dev user) cannot take money. Set TELEGRAM_BOT_TOKEN, or unset {var}"
                ),
            ));
        }
        Ok(())
    }

    /// Settings that work but are probably a mistake on a public shop, each naming its
    /// variable: test keys and sandboxes behind an https `PUBLIC_URL` take no real money.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if !self.is_https() {
            return w;
        }
        if let Some(s) = &self.stripe {
            if s.secret_key.expose_secret().starts_with("sk_test_")
                || s.secret_key.expose_secret().starts_with("rk_test_")
            {
                w.push("STRIPE_SECRET_KEY is a test key (sk_test_…) but PUBLIC_URL is https: Stripe will take no real money".into());
            }
        }
        if let Some(p) = &self.paypal {
            if p.api_url.contains("sandbox.paypal.com") {
                w.push(format!("PAYPAL_API_URL is PayPal's sandbox ({}) but PUBLIC_URL is https: set it to https://api-m.paypal.com to take real money", p.api_url));
            }
        }
        if let Some(p) = &self.payme {
            if p.checkout_url.contains("test.paycom.uz") {
                w.push(format!("PAYME_CHECKOUT_URL is Payme's test checkout ({}) but PUBLIC_URL is https: PAYME_KEY is then likely the test key; use https://checkout.paycom.uz and the live key", p.checkout_url));
            }
        }
        let checks_source = self
            .yookassa
            .as_ref()
            .is_some_and(|y| y.allowed_sources.is_some());
        if checks_source && self.trusted_proxies.is_empty() {
            w.push("YOOKASSA_CHECK_SOURCE is on but TRUSTED_PROXIES is not set: behind a reverse proxy every YooKassa notification comes from the proxy's address and is refused (403); set TRUSTED_PROXIES to the proxy's address".into());
        }
        if self.trusted_proxies.is_empty() {
            w.push("TRUSTED_PROXIES is not set but PUBLIC_URL is https: if a reverse proxy (nginx, Caddy) forwards to the shop, every customer shares its address for rate limits; set TRUSTED_PROXIES to the proxy's address".into());
        }
        w
    }
}

/// A provider's settings come as a group: all of them (configured) or none (not offered).
/// Some but not all is a mistake worth stopping for, naming the first missing variable.
fn group(
    val: &impl Fn(&str) -> Option<String>,
    vars: &[&'static str],
) -> Result<Option<Vec<String>>, ConfigError> {
    let got: Vec<Option<String>> = vars.iter().map(|v| val(v)).collect();
    if got.iter().all(Option::is_none) {
        return Ok(None);
    }
    if let Some(i) = got.iter().position(Option::is_none) {
        let set = vars
            .iter()
            .zip(&got)
            .filter(|(_, g)| g.is_some())
            .map(|(v, _)| *v)
            .collect::<Vec<_>>()
            .join(", ");
        return Err(err(
            vars[i],
            format!(
                "is missing, but {set} is set: set all of {} or none",
                vars.join(", ")
            ),
        ));
    }
    Ok(Some(
        got.into_iter().map(Option::unwrap_or_default).collect(),
    ))
}

fn url_or(val: &impl Fn(&str) -> Option<String>, var: &str, default: &str) -> String {
    val(var)
        .unwrap_or_else(|| default.to_string())
        .trim_end_matches('/')
        .to_string()
}

fn parse_num<T: std::str::FromStr>(
    val: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match val(var) {
        Some(v) => v
            .parse()
            .map_err(|_| err(var, format!("'{v}' is not a whole number"))),
        None => Ok(default),
    }
}

fn parse_bool(
    val: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<bool, ConfigError> {
    match val(var).as_deref() {
        None | Some("0") | Some("false") | Some("no") | Some("off") => Ok(false),
        Some("1") | Some("true") | Some("yes") | Some("on") => Ok(true),
        Some(v) => Err(err(var, format!("'{v}' is not 1 or 0"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_follow_the_contract() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.bind_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://data/shop.db");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert!(c.dev_mode());
        assert_eq!(c.init_data_max_age_secs, 86_400);
        assert_eq!(c.order_reservation, Duration::from_secs(1800));
        assert!(!c.seed_demo);
        assert_eq!(c.cart_reminder, Some(Duration::from_secs(24 * 3600)));
        let off = cfg(&[("CART_REMINDER_HOURS", "0")]).unwrap();
        assert_eq!(off.cart_reminder, None);
        let e = cfg(&[("CART_REMINDER_HOURS", "soon")]).unwrap_err();
        assert_eq!(e.var, "CART_REMINDER_HOURS");
    }

    #[test]
    fn bad_values_name_the_variable_and_hide_secrets() {
        let e = cfg(&[("BIND_ADDR", "nope")]).unwrap_err();
        assert_eq!(e.var, "BIND_ADDR");
        let e = cfg(&[("TELEGRAM_BOT_TOKEN", "supersecret")]).unwrap_err();
        assert_eq!(e.var, "TELEGRAM_BOT_TOKEN");
        assert!(!e.to_string().contains("supersecret"));
        let e = cfg(&[("RATE_LIMIT_PER_MINUTE", "many")]).unwrap_err();
        assert!(e.to_string().contains("RATE_LIMIT_PER_MINUTE"));
        assert_eq!(cfg(&[("SEED_DEMO", "maybe")]).unwrap_err().var, "SEED_DEMO");
        assert_eq!(
            cfg(&[("DATABASE_URL", "mysql://x")]).unwrap_err().var,
            "DATABASE_URL"
        );
    }

    #[test]
    fn providers_are_all_or_nothing() {
        let c = cfg(&[]).unwrap();
        assert!(c.stripe.is_none() && c.click.is_none() && c.payme.is_none() && c.paypal.is_none());
        let e = cfg(&[("CLICK_SERVICE_ID", "1"), ("CLICK_SECRET_KEY", "s3cret")]).unwrap_err();
        assert_eq!(e.var, "CLICK_MERCHANT_ID");
        assert!(!e.to_string().contains("s3cret"));
        let c = cfg(&[
            ("TELEGRAM_BOT_TOKEN", "1:abc"),
            ("PAYME_MERCHANT_ID", "m"),
            ("PAYME_KEY", "k"),
        ])
        .unwrap();
        assert_eq!(c.payme.unwrap().checkout_url, "https://checkout.paycom.uz");
    }

    #[test]
    fn the_ton_wallet_is_checked_at_start_up() {
        let token = ("TELEGRAM_BOT_TOKEN", "1:abc");
        // Any spelling of the account is taken and parsed to the same account.
        for w in [
            "UQDKbjIcfM6ezt8KjKJJLshZJJSqX7XOA4ff-W72r5gqPuwA",
            "EQDKbjIcfM6ezt8KjKJJLshZJJSqX7XOA4ff-W72r5gqPrHF",
            "0:CA6E321C7CCE9ECEDF0A8CA2492EC8592494AA5FB5CE0387DFF96EF6AF982A3E",
        ] {
            let c = cfg(&[token, ("TON_WALLET", w)]).unwrap().ton.unwrap();
            assert_eq!(
                c.wallet_addr.raw(),
                "0:ca6e321c7cce9ecedf0a8ca2492ec8592494aa5fb5ce0387dff96ef6af982a3e"
            );
            assert_eq!(
                c.usdt_master,
                "EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_sDs"
            );
        }
        // One character off: the CRC16 catches it, and the variable is named.
        let e = cfg(&[
            token,
            (
                "TON_WALLET",
                "UQDKbjIcfM6ezt8KjKJJLshZJJSqX7XOA4ff-W72r5gqPuwB",
            ),
        ])
        .unwrap_err();
        assert_eq!(e.var, "TON_WALLET");
        assert!(e.message.contains("checksum"), "{}", e.message);
        let e = cfg(&[token, ("TON_WALLET", "UQ"), ("TON_USDT_MASTER", "x")]).unwrap_err();
        assert_eq!(e.var, "TON_WALLET");
        let e = cfg(&[
            token,
            (
                "TON_WALLET",
                "UQDKbjIcfM6ezt8KjKJJLshZJJSqX7XOA4ff-W72r5gqPuwA",
            ),
            ("TON_USDT_MASTER", "0:12"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "TON_USDT_MASTER");
    }

    #[test]
    fn dev_mode_refuses_to_face_the_internet() {
        // https without a bot token: refused, naming the variable.
        let e = cfg(&[("PUBLIC_URL", "https://shop.example.com")]).unwrap_err();
        assert_eq!(e.var, "TELEGRAM_BOT_TOKEN");
        assert!(e.message.contains("PUBLIC_URL"));
        // A paying rail without a bot token: refused, naming the rail's variable.
        let e = cfg(&[
            ("STRIPE_SECRET_KEY", "sk_x"),
            ("STRIPE_WEBHOOK_SECRET", "w"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "TELEGRAM_BOT_TOKEN");
        assert!(e.message.contains("STRIPE_SECRET_KEY"));
        assert!(!e.to_string().contains("sk_x"));
        // With a token both are fine; plain http dev mode still starts.
        let token = ("TELEGRAM_BOT_TOKEN", "1:abc");
        assert!(cfg(&[token, ("PUBLIC_URL", "https://shop.example.com")]).is_ok());
        assert!(cfg(&[]).unwrap().dev_mode());
    }

    #[test]
    fn test_keys_on_a_public_shop_are_named() {
        let c = cfg(&[
            ("TELEGRAM_BOT_TOKEN", "1:abc"),
            ("PUBLIC_URL", "https://shop.example.com"),
            ("STRIPE_SECRET_KEY", "sk_test_123"),
            ("STRIPE_WEBHOOK_SECRET", "whsec"),
            ("PAYPAL_CLIENT_ID", "id"),
            ("PAYPAL_CLIENT_SECRET", "s"),
            ("PAYPAL_WEBHOOK_ID", "w"),
            ("PAYME_MERCHANT_ID", "m"),
            ("PAYME_KEY", "k"),
            ("PAYME_CHECKOUT_URL", "https://checkout.test.paycom.uz"),
            ("TRUSTED_PROXIES", "127.0.0.1"),
        ])
        .unwrap();
        let w = c.warnings().join("\n");
        assert!(w.contains("STRIPE_SECRET_KEY"), "{w}");
        assert!(w.contains("PAYPAL_API_URL"), "{w}");
        assert!(w.contains("PAYME_CHECKOUT_URL"), "{w}");
        assert!(
            !w.contains("sk_test_123"),
            "the key itself is never printed"
        );
        // Live settings: no warnings; on plain http nothing is checked.
        let live = cfg(&[
            ("TELEGRAM_BOT_TOKEN", "1:abc"),
            ("PUBLIC_URL", "https://shop.example.com"),
            ("STRIPE_SECRET_KEY", "sk_live_123"),
            ("STRIPE_WEBHOOK_SECRET", "whsec"),
            ("TRUSTED_PROXIES", "127.0.0.1"),
        ])
        .unwrap();
        assert!(live.warnings().is_empty(), "{:?}", live.warnings());
        let local = cfg(&[
            ("TELEGRAM_BOT_TOKEN", "1:abc"),
            ("STRIPE_SECRET_KEY", "sk_test_1"),
            ("STRIPE_WEBHOOK_SECRET", "w"),
        ])
        .unwrap();
        assert!(local.warnings().is_empty());
        assert_eq!(
            cfg(&[("TRUSTED_PROXIES", "nginx")]).unwrap_err().var,
            "TRUSTED_PROXIES"
        );
    }

    #[test]
    fn yookassa_source_check() {
        let yk = [
            ("TELEGRAM_BOT_TOKEN", "1:abc"),
            ("YOOKASSA_SHOP_ID", "1"),
            ("YOOKASSA_SECRET_KEY", "test_k"),
        ];
        let sources = |extra: &[(&str, &str)]| {
            let mut v = yk.to_vec();
            v.extend_from_slice(extra);
            cfg(&v).map(|c| c.yookassa.unwrap().allowed_sources)
        };
        // Off unless turned on, so local tests and fakes keep working.
        assert_eq!(sources(&[]).unwrap(), None);
        let published = sources(&[("YOOKASSA_CHECK_SOURCE", "1")]).unwrap().unwrap();
        assert_eq!(published.to_string(), "185.71.76.0/27, 185.71.77.0/27, 77.75.153.0/25, 77.75.154.128/25, 77.75.156.11/32, 77.75.156.35/32, 2a02:5180::/32");
        let own = sources(&[
            ("YOOKASSA_CHECK_SOURCE", "true"),
            ("YOOKASSA_ALLOWED_SOURCES", "203.0.113.0/24, 2001:db8::1"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(own.to_string(), "203.0.113.0/24, 2001:db8::1/128");
        // A list without the switch, a bad entry or an empty list stop the start.
        for bad in [
            vec![("YOOKASSA_ALLOWED_SOURCES", "203.0.113.0/24")],
            vec![
                ("YOOKASSA_CHECK_SOURCE", "1"),
                ("YOOKASSA_ALLOWED_SOURCES", "yookassa.ru"),
            ],
            vec![
                ("YOOKASSA_CHECK_SOURCE", "1"),
                ("YOOKASSA_ALLOWED_SOURCES", " , "),
            ],
        ] {
            assert_eq!(
                sources(&bad).unwrap_err().var,
                "YOOKASSA_ALLOWED_SOURCES",
                "{bad:?}"
            );
        }
        assert_eq!(
            sources(&[("YOOKASSA_CHECK_SOURCE", "maybe")])
                .unwrap_err()
                .var,
            "YOOKASSA_CHECK_SOURCE"
        );
        // On behind https without TRUSTED_PROXIES: said, since a proxy would hide YooKassa.
        let mut public = yk.to_vec();
        public.extend([
            ("PUBLIC_URL", "https://shop.example.com"),
            ("YOOKASSA_CHECK_SOURCE", "1"),
        ]);
        let w = cfg(&public).unwrap().warnings().join("\n");
        assert!(w.contains("YOOKASSA_CHECK_SOURCE"), "{w}");
        public.push(("TRUSTED_PROXIES", "127.0.0.1"));
        assert!(cfg(&public).unwrap().warnings().is_empty());
    }

    #[test]
    fn database_password_is_redacted() {
        assert_eq!(
            redact_url("postgres://shop:hunter2@db:5432/shop"),
            "postgres://shop:***@db:5432/shop"
        );
        assert_eq!(redact_url("sqlite://data/shop.db"), "sqlite://data/shop.db");
    }
}
