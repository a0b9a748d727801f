//! Shared application state, cheap to clone into every handler.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::auth::init_data::Verifier;
use crate::config::Config;
use crate::db::Db;
use crate::notify::{Notice, Notifier};
use crate::payments::Payments;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub db: Db,
    pub verifier: Verifier,
    /// In dev mode, the ephemeral bot token that signs the dev user's initData.
    pub dev_bot_token: Option<String>,
    pub payments: Payments,
    /// Outbound HTTP (Telegram, Stripe, PayPal): one pool, timeouts set.
    pub http: reqwest::Client,
    pub notifier: Arc<dyn Notifier>,
    /// Bumped by every change that can alter a catalog answer (admin edits, stock moves);
    /// part of the catalog ETag, so a client's cached copy is only reused while valid.
    catalog_version: AtomicU64,
    pub catalog_cache: crate::catalog::Cache,
    /// Argon2 work (sign-ins, new passwords): bounded in total, per client and per account.
    pub passwords: crate::admin::password::PasswordChecks,
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
        catalog_cache: crate::catalog::Cache,
    ) -> Self {
        AppState(Arc::new(Inner {
            config,
            db,
            verifier,
            dev_bot_token,
            payments,
            http,
            notifier,
            catalog_version: AtomicU64::new(1),
            catalog_cache,
            passwords: Default::default(),
        }))
    }
}

impl Inner {
    pub fn catalog_version(&self) -> u64 {
        self.catalog_version.load(Ordering::Relaxed)
    }
    pub fn catalog_changed(&self) {
        self.catalog_version.fetch_add(1, Ordering::Relaxed);
    }
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
