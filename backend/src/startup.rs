//! Builds the state and the router apart from `main`, so tests start the real app.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::auth::init_data::Verifier;
use crate::config::Config;
use crate::db::Db;
use crate::error::{envelope_errors, Error};
use crate::payments::Payments;
use crate::state::AppState;
use crate::{admin, cart, catalog, client_ip, health, me, orders, seed, web};

/// Connects the database, runs migrations, bootstraps the first admin and (if asked) seeds
/// the demo catalog.
pub async fn build_state(config: Config) -> anyhow_like::Result<AppState> {
    crate::observe::metrics_handle();
    let db = Db::connect(&config.database_url).await.map_err(|e| {
        anyhow_like::msg(format!(
            "database {}: {e}",
            crate::config::redact_url(&config.database_url)
        ))
    })?;
    let public_key = Verifier::parse_public_key(&config.telegram_public_key)
        .map_err(|e| anyhow_like::msg(format!("TELEGRAM_PUBLIC_KEY: {e}")))?;
    // Dev mode: an ephemeral token that exists only in this process signs the dev user's
    // initData, so the whole auth path runs for real in a plain browser.
    let (token, dev_token) = match &config.telegram_bot_token {
        Some(t) => (t.clone(), None),
        None => {
            let mut secret = [0u8; 24];
            rand::thread_rng().fill_bytes(&mut secret);
            let t = format!("1000000000:dev-{}", hex::encode(secret));
            (SecretString::from(t.clone()), Some(t))
        }
    };
    let verifier = Verifier::new(token, public_key, config.init_data_max_age_secs);
    if let (Some(email), Some(password)) = (&config.admin_email, &config.admin_password) {
        admin::auth::bootstrap(&db, email, password.expose_secret())
            .await
            .map_err(|e| anyhow_like::msg(format!("ADMIN_EMAIL/ADMIN_PASSWORD: {e}")))?;
    }
    if config.seed_demo {
        seed::seed_demo(&db, &config.media_dir)
            .await
            .map_err(|e| anyhow_like::msg(format!("seeding the demo catalog: {e}")))?;
    }
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .user_agent(concat!("the-shop/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| anyhow_like::msg(format!("HTTP client: {e}")))?;
    let payments = Payments::from_config(&config, &http, &db);
    let notifier: Arc<dyn crate::notify::Notifier> =
        match crate::telegram::Bot::from_config(&config, &http) {
            Some(bot) => Arc::new(crate::telegram::notifier::TelegramNotifier {
                bot,
                db: db.clone(),
                public_url: config.public_url.clone(),
            }),
            None => Arc::new(crate::notify::LogNotifier),
        };
    // SQLite is one process's database; PostgreSQL may be shared by several shop processes.
    let shared_db_max_age =
        (db.kind == crate::db::DbKind::Postgres).then_some(catalog::SHARED_DB_MAX_AGE);
    let cursor_key = db
        .instance_secret("catalog_cursor")
        .await
        .map_err(|e| anyhow_like::msg(format!("database: {e}")))?;
    Ok(AppState::new(
        config,
        db,
        verifier,
        dev_token,
        payments,
        http,
        notifier,
        catalog::Cache::new(cursor_key, shared_db_max_age),
    ))
}

/// Tiny error plumbing for start-up, where a message for the operator is all we need.
pub mod anyhow_like {
    pub type Result<T> = std::result::Result<T, String>;
    pub fn msg(s: String) -> String {
        s
    }
}

/// The bot's narrow state, with the Stars rail as the handler of its payment updates.
pub fn bot_state(state: &AppState) -> crate::telegram::BotState {
    crate::telegram::BotState {
        db: state.db.clone(),
        config: state.config.clone(),
        http: state.http.clone(),
        payments: Arc::new(crate::payments::stars::updates::Handler(state.clone())),
    }
}

pub fn app(state: AppState) -> Router {
    let cfg = &state.config;
    let api = Router::new()
        .merge(catalog::router())
        .merge(cart::router())
        .merge(orders::router())
        .merge(crate::delivery::router())
        .merge(me::router(cfg.dev_mode()))
        .merge(crate::share::router())
        .merge(admin::router())
        .merge(crate::subscriptions::router());
    let webhooks =
        crate::payments::router().merge(crate::telegram::router().with_state(bot_state(&state)));
    let limits = Limits::new(cfg.rate_limit_per_minute);
    let timeout = cfg.request_timeout;
    let trusted = cfg.trusted_proxies.clone();
    Router::new()
        .merge(api)
        .merge(webhooks)
        .merge(health::router())
        .merge(crate::openapi::router())
        .merge(crate::observe::router())
        .merge(web::router(&cfg.dist_dir, &cfg.media_dir))
        // Innermost, so the matched route template is known.
        .layer(middleware::from_fn(crate::observe::track_requests))
        .layer(DefaultBodyLimit::max(1024 * 1024))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        // The panic catcher sits inside the envelope layer so a panic's 500 gets the envelope.
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn(envelope_errors))
        .layer(middleware::from_fn_with_state(limits, rate_limit))
        .layer(middleware::from_fn_with_state(
            SecurityHeaders::new(cfg),
            security_headers,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(crate::observe::request_span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(middleware::from_fn(crate::observe::request_id))
        // Outermost: every layer and handler inside sees the same client address.
        .layer(middleware::from_fn_with_state(trusted, client_ip::resolve))
        .with_state(state)
}

/// Requests per minute per client on `/webhooks/*` and the provider return routes.
const WEBHOOK_PER_MINUTE: u32 = 1000;

/// Headers every answer carries: no MIME sniffing, a strict referrer policy, the Content
/// Security Policy (see [`web::content_security_policy`]) and, when the shop is served over
/// https, HSTS.
#[derive(Clone)]
struct SecurityHeaders(Arc<Vec<(HeaderName, HeaderValue)>>);

impl SecurityHeaders {
    fn new(cfg: &Config) -> SecurityHeaders {
        let mut h = vec![
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("strict-origin-when-cross-origin"),
            ),
        ];
        match HeaderValue::from_str(&web::content_security_policy(&cfg.dist_dir)) {
            Ok(v) => h.push((header::CONTENT_SECURITY_POLICY, v)),
            Err(e) => tracing::error!("content security policy: {e}"),
        }
        if cfg.is_https() {
            // Two years, the preload lists' minimum; no includeSubDomains: the merchant's other
            // hosts are not ours to decide for.
            h.push((
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=63072000"),
            ));
        }
        SecurityHeaders(Arc::new(h))
    }
}

async fn security_headers(State(h): State<SecurityHeaders>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    for (k, v) in h.0.iter() {
        if !res.headers().contains_key(k) {
            res.headers_mut().insert(k.clone(), v.clone());
        }
    }
    res
}

type Limiter = Arc<DefaultKeyedRateLimiter<IpAddr>>;

/// Per-client request budgets (see [`client_ip`] for who the client is), so one client cannot
/// starve the shop: one for `/api/*`, one for what providers and returning buyers call
/// (`/webhooks/*`, `/payments/*`). Keyed by path prefix rather than layered on the routers, so
/// unknown routes under those prefixes (a rail that is not configured) count too.
#[derive(Clone)]
struct Limits {
    api: Option<Limiter>,
    hooks: Option<Limiter>,
}

impl Limits {
    fn new(per_minute: u32) -> Limits {
        let Some(n) = NonZeroU32::new(per_minute) else {
            return Limits {
                api: None,
                hooks: None,
            };
        };
        // Providers retry a backlog in bursts: their budget is generous, but bounded.
        let hooks = NonZeroU32::new(per_minute.max(WEBHOOK_PER_MINUTE)).unwrap_or(n);
        Limits {
            api: Some(Arc::new(RateLimiter::keyed(Quota::per_minute(n)))),
            hooks: Some(Arc::new(RateLimiter::keyed(Quota::per_minute(hooks)))),
        }
    }

    fn for_path(&self, path: &str) -> Option<&Limiter> {
        if path == "/api" || path.starts_with("/api/") {
            self.api.as_ref()
        } else if path.starts_with("/webhooks/") || path.starts_with("/payments/") {
            self.hooks.as_ref()
        } else {
            None
        }
    }
}

async fn rate_limit(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    let Some(limiter) = limits.for_path(req.uri().path()) else {
        return next.run(req).await;
    };
    let ip = req
        .extensions()
        .get::<client_ip::Origin>()
        .map(|o| o.client)
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    // Forget idle clients now and then so the table does not grow with every address seen.
    if rand::random::<u16>() < 8 {
        limiter.retain_recent();
    }
    match limiter.check_key(&ip) {
        Ok(()) => next.run(req).await,
        Err(not_until) => {
            let wait = not_until
                .wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ))
                .as_secs()
                .max(1);
            let mut res = Error::Status {
                status: axum::http::StatusCode::TOO_MANY_REQUESTS,
                code: "rate_limited",
                message: format!("Too many requests; try again in {wait} s."),
            }
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
    }
}

/// Serves until Ctrl-C or SIGTERM, then finishes in-flight requests.
/// On a stop, axum stops accepting and finishes the requests in flight; then the scheduled
/// jobs are asked to stop and given this long to finish the item they are on.
const JOBS_GRACE: Duration = Duration::from_secs(20);

pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let expiry = orders::spawn_expiry(state.clone(), Duration::from_secs(30), stopped.clone());
    // Bot setup, polling and reconciliation run in the background: start-up never waits.
    let mut bot = crate::telegram::run::spawn(&bot_state(&state));
    bot.jobs.extend(crate::payments::stars::reconcile::spawn(
        &state,
        stopped.clone(),
    ));
    bot.jobs.extend(crate::telegram::reminders::spawn(
        &bot_state(&state),
        stopped.clone(),
    ));
    bot.jobs
        .extend(crate::payments::cryptopay::reconcile::spawn(
            &state,
            stopped.clone(),
        ));
    bot.jobs
        .extend(crate::payments::ton::spawn(&state, stopped));
    let app = app(state);
    let res = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await;
    // Polling and setup hold nothing that a stop could lose (an update counts as handled only
    // once its effect is stored); the jobs finish their current item.
    bot.background.iter().for_each(|t| t.abort());
    let _ = stop.send(true);
    let jobs = async {
        let _ = expiry.await;
        for j in bot.jobs {
            let _ = j.await;
        }
    };
    if tokio::time::timeout(JOBS_GRACE, jobs).await.is_err() {
        tracing::warn!("scheduled jobs did not finish within {JOBS_GRACE:?}; stopping anyway");
    }
    tracing::info!("stopped");
    res
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing in-flight requests");
}
