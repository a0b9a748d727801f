//! Shared application state, cheap to clone into every handler.
//!
//! Every part is a cheap handle (a pool, an `Arc`) with a `FromRef<AppState>`, so a handler
//! asks for the part it needs (`State<Db>`) or its feature's small state made of parts
//! (`State<CatalogState>`), and an extractor states the parts it needs as bounds. Only the
//! application's assembly and the paths that reach everything (payments, the order
//! lifecycle) hold the whole `AppState`.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::admin::password::PasswordChecks;
use crate::auth::init_data::Verifier;
use crate::catalog::{Cache, CatalogVersion};
use crate::config::Config;
use crate::db::Db;
use crate::me::DevBotToken;
use crate::notify::{Notice, Notifier};
use crate::payments::Payments;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Arc<Config>,
    pub db: Db,
    pub verifier: Arc<Verifier>,
    pub dev_bot_token: DevBotToken,
    pub payments: Payments,
    /// Outbound HTTP (Telegram, Stripe, PayPal): one pool, timeouts set.
    pub http: reqwest::Client,
    pub notifier: Arc<dyn Notifier>,
    pub catalog_version: CatalogVersion,
    pub catalog_cache: Arc<Cache>,
    /// Argon2 work (sign-ins, new passwords): bounded in total, per client and per account.
    pub passwords: Arc<PasswordChecks>,
    /// The risk rules' background reads of new orders, batched.
    pub risk: crate::orders::risk::Assessor,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    // One argument per part, each of a different type, so none can be swapped by mistake.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: Config,
        db: Db,
        verifier: Verifier,
        dev_bot_token: Option<String>,
        payments: Payments,
        http: reqwest::Client,
        notifier: Arc<dyn Notifier>,
        catalog_cache: Cache,
    ) -> Self {
        AppState(Arc::new(Inner {
            config: Arc::new(config),
            db,
            verifier: Arc::new(verifier),
            dev_bot_token: DevBotToken(dev_bot_token.map(Arc::from)),
            payments,
            http,
            notifier,
            catalog_version: CatalogVersion::default(),
            catalog_cache: Arc::new(catalog_cache),
            passwords: Default::default(),
            risk: Default::default(),
        }))
    }
}

impl Inner {
    pub fn catalog_changed(&self) {
        self.catalog_version.changed();
    }
}

/// `FromRef<AppState>` for a part: a clone of its handle.
macro_rules! part {
    ($($ty:ty => $field:ident),* $(,)?) => {$(
        impl FromRef<AppState> for $ty {
            fn from_ref(st: &AppState) -> Self {
                st.$field.clone()
            }
        }
    )*};
}

part! {
    Db => db,
    Arc<Config> => config,
    Arc<Verifier> => verifier,
    DevBotToken => dev_bot_token,
    Payments => payments,
    reqwest::Client => http,
    Arc<dyn Notifier> => notifier,
    CatalogVersion => catalog_version,
    Arc<Cache> => catalog_cache,
    Arc<PasswordChecks> => passwords,
}

impl AppState {
    /// Tells the customer about their order in the background (after the change committed).
    pub fn notify(&self, order_id: i64, notice: Notice) {
        let st = self.clone();
        tokio::spawn(async move { st.notifier.order(order_id, notice).await });
    }
}

/// The running shop as the order lifecycle sees it.
impl crate::orders::lifecycle::Shop for AppState {
    fn db(&self) -> &Db {
        &self.db
    }
    fn catalog_changed(&self) {
        Inner::catalog_changed(self)
    }
    fn notify(&self, order_id: i64, notice: Notice) {
        AppState::notify(self, order_id, notice)
    }
    fn unpaid_ended(&self, order_id: i64, method: shared::PaymentMethod) {
        let st = self.clone();
        tokio::spawn(async move { crate::payments::unpaid_ended(&st, order_id, method).await });
    }
}
