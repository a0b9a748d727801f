//! The app shell: decides who the customer is, keeps the app-wide state ([`Ctx`]), routes,
//! and drives Telegram's MainButton and BackButton (or in-page stand-ins outside Telegram).

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::{Cart, Lang};

use crate::api::Api;
use crate::components::{dev_banner, product_grid_skeleton, top_bar, EmptyState};
use crate::i18n::{self, t, Words, K};
use crate::pages::{self, lazy};
use crate::router::{self, Route};
use crate::rx;
use crate::telegram::{InvoiceStatus, WebApp};

/// Who this browser session acts as.
#[derive(Clone, Debug)]
pub struct Session {
    pub api: Api,
    /// Signed in through the backend's dev endpoint, not Telegram.
    pub dev: bool,
}

impl Session {
    /// Telegram's initData when there is some; otherwise, in a plain browser, the dev user's
    /// initData if the backend runs in dev mode; otherwise anonymous (the catalog is public).
    pub async fn establish(telegram_init_data: String) -> Session {
        if !telegram_init_data.trim().is_empty() {
            return Session {
                api: Api::new(&telegram_init_data),
                dev: false,
            };
        }
        match Api::default().dev_init_data().await {
            Ok(Some(init_data)) => Session {
                api: Api::new(&init_data),
                dev: true,
            },
            _ => Session {
                api: Api::default(),
                dev: false,
            },
        }
    }
}

/// The page's primary action: Telegram's MainButton inside Telegram, a bottom bar outside.
#[derive(Clone)]
pub struct MainAction {
    pub text: String,
    pub enabled: bool,
    pub busy: bool,
    pub run: Callback<()>,
}

/// App-wide state, in context. Every field is a copyable handle.
#[derive(Clone, Copy)]
pub struct Ctx {
    pub api: StoredValue<Api>,
    pub lang: RwSignal<Lang>,
    pub route: RwSignal<Route>,
    /// The server's cart, once loaded.
    pub cart: RwSignal<Option<Cart>>,
    /// How many items the cart held at start, for the top bar's badge until a screen loads
    /// the whole cart (see [`Ctx::ensure_cart`]).
    pub start_count: RwSignal<i64>,
    pub main: RwSignal<Option<MainAction>>,
    /// A short message at the top of the page (role=status).
    pub toast: RwSignal<Option<String>>,
    /// Counts [`Ctx::say`] calls, so a toast's timer clears only its own toast: the same
    /// words said again (a second "Added to cart") must not be cut short by the first
    /// one's timer.
    toast_seq: StoredValue<u32>,
    /// The window is scrolled near the bottom (endless lists load more).
    pub near_bottom: RwSignal<bool>,
    /// The product page's title for the top bar.
    pub page_title: RwSignal<Option<String>>,
    /// How the customer last closed an order's invoice (order id, status): the order page
    /// says "cancelled, try again" or "checking" until the backend has the payment.
    pub invoice_closed: RwSignal<Option<(i64, InvoiceStatus)>>,
    tg: StoredValue<Option<WebApp>, LocalStorage>,
}

impl Ctx {
    pub fn api(&self) -> Api {
        self.api.get_value()
    }

    pub fn t(&self, k: impl Words) -> &'static str {
        t(self.lang.get(), k)
    }

    pub fn tg(&self) -> Option<WebApp> {
        self.tg.get_value()
    }

    /// Inside Telegram (a real client or a stub acting as one).
    pub fn in_telegram(&self) -> bool {
        self.tg().is_some_and(|tg| tg.in_telegram())
    }

    pub fn navigate(&self, route: Route) {
        self.go(route, false)
    }

    /// Navigates, replacing the current entry (e.g. checkout → the order it placed). What the
    /// toast said was about the page left behind, so it goes too.
    pub fn go(&self, route: Route, replace: bool) {
        router::push(&route, replace);
        self.toast.set(None);
        self.route.set(route);
        window().scroll_to_with_x_and_y(0.0, 0.0);
    }

    pub fn back(&self) {
        if !router::back() {
            self.go(Route::Catalog, true);
        }
    }

    pub fn say(&self, msg: impl Into<String>) {
        let seq = self.toast_seq.get_value().wrapping_add(1);
        self.toast_seq.set_value(seq);
        self.toast.set(Some(msg.into()));
        let (toast, said) = (self.toast, self.toast_seq);
        set_timeout(
            move || {
                if said.try_get_value() == Some(seq) {
                    toast.try_set(None);
                }
            },
            std::time::Duration::from_secs(3),
        );
    }

    pub fn haptic_success(&self) {
        if let Some(tg) = self.tg() {
            tg.haptic_impact("medium");
            tg.haptic_notify("success");
        }
    }

    /// Reloads the cart from the server (after an order took it, for example).
    pub fn refresh_cart(&self) {
        self.load_cart(false)
    }

    /// Loads the whole cart unless it is already here. Every screen behind the catalog calls
    /// it (pages/lazy.rs), so the catalog's first download only reads the item count.
    pub fn ensure_cart(&self) {
        if self.cart.with_untracked(Option::is_none) {
            self.load_cart(true)
        }
    }

    /// `keep_newer`: a cart a screen wrote while this one was on its way (an item just
    /// added) is newer than the answer, so the answer is dropped.
    fn load_cart(&self, keep_newer: bool) {
        let ctx = *self;
        spawn_local(async move {
            if let Ok(c) = ctx.api().cart(ctx.lang.get_untracked()).await {
                if !keep_newer || ctx.cart.with_untracked(Option::is_none) {
                    ctx.cart.try_set(Some(c));
                }
            }
        });
    }

    pub fn cart_count(&self) -> i64 {
        self.cart.with(|c| {
            c.as_ref().map_or_else(
                || self.start_count.get(),
                |c| c.items.iter().map(|i| i.quantity).sum(),
            )
        })
    }
}

pub fn use_ctx() -> Ctx {
    // `use_context` + `expect`: `expect_context` formats the type name with Debug on failure,
    // which keeps that machinery in the first download.
    use_context::<Ctx>().expect("the app context is provided by <App>")
}

/// Sets the page's primary action while the calling component is mounted.
pub fn main_action(f: impl Fn() -> Option<MainAction> + Send + Sync + 'static) {
    let ctx = use_ctx();
    Effect::new(move |_| ctx.main.set(f()));
    on_cleanup(move || {
        ctx.main.try_set(None);
    });
}

const LANG_KEY: &str = "shop.lang";

fn saved_lang() -> Option<String> {
    window()
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item(LANG_KEY).ok().flatten())
}

#[component]
pub fn App(web_app: Option<WebApp>, start: Route) -> impl IntoView {
    let init_data = web_app.as_ref().map(WebApp::init_data).unwrap_or_default();
    let lang = i18n::initial(
        saved_lang().as_deref(),
        web_app.as_ref().and_then(WebApp::language_code).as_deref(),
    );
    let ctx = Ctx {
        api: StoredValue::new(Api::default()),
        lang: RwSignal::new(lang),
        route: RwSignal::new(start),
        cart: RwSignal::new(None),
        start_count: RwSignal::new(0),
        main: RwSignal::new(None),
        toast: RwSignal::new(None),
        toast_seq: StoredValue::new(0),
        near_bottom: RwSignal::new(false),
        page_title: RwSignal::new(None),
        invoice_closed: RwSignal::new(None),
        tg: StoredValue::new_local(web_app.clone()),
    };
    provide_context(ctx);

    Effect::new(move |_| {
        let code = ctx.lang.get().code();
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", code);
        }
    });

    // History: the URL is the source of truth when the customer goes back or forward.
    let _ = window_event_listener(ev::popstate, move |_| {
        ctx.toast.set(None);
        ctx.route.set(router::current())
    });
    // Same-origin links navigate in the app instead of reloading it.
    web_common::links::navigate_in_app(
        |href, _| href.starts_with('/') && !href.starts_with("//"),
        move |href| ctx.navigate(Route::parse(href)),
    );
    let _ = window_event_listener(ev::scroll, move |_| {
        let w = window();
        let inner = w
            .inner_height()
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        let y = w.scroll_y().unwrap_or(0.0);
        let full = document()
            .document_element()
            .map_or(0.0, |e| e.scroll_height() as f64);
        let near = y + inner >= full - 400.0;
        if ctx.near_bottom.get_untracked() != near {
            ctx.near_bottom.set(near);
        }
    });

    // Telegram's buttons: one click handler each, for the app's lifetime.
    if let Some(tg) = web_app.clone().filter(|tg| tg.in_telegram()) {
        tg.on_button_click(true, move || {
            if let Some(a) = ctx.main.get_untracked() {
                if a.enabled && !a.busy {
                    a.run.run(());
                }
            }
        });
        tg.on_button_click(false, move || ctx.back());
        let tg_main = tg.clone();
        Effect::new(move |_| match ctx.main.get() {
            Some(a) => tg_main.main_button_set(&a.text, a.enabled, a.busy),
            None => tg_main.main_button_hide(),
        });
        Effect::new(move |_| tg.back_button_visible(ctx.route.get() != Route::Catalog));
    }

    // Who the customer is decides the API's credentials, so the shell waits for it (a signal
    // set by a task rather than a Suspense: the first download carries less of Leptos' async
    // machinery, see docs/PERFORMANCE.md). `Some(dev)` once known.
    let session = RwSignal::new(None::<bool>);
    spawn_local(async move {
        let s = Session::establish(init_data).await;
        ctx.api.set_value(s.api.clone());
        if !s.api.is_anonymous() {
            // Its own task: the shell need not wait for the badge.
            spawn_local(async move {
                if let Ok(n) = ctx.api().cart_count().await {
                    ctx.start_count.try_set(n);
                }
            });
        }
        session.try_set(Some(s.dev));
    });
    rx::view(move || match session.get() {
        None => view! {
            <header class="topbar"><h1 class="topbar__title">{ctx.t(K::Catalog)}</h1></header>
            <div class="chips chips--placeholder" aria-hidden="true"></div>
            <main class="catalog">{product_grid_skeleton()}</main>
        }
        .into_any(),
        Some(dev) => view! {
            {dev.then(dev_banner)}
            {untrack(shell)}
        }
        .into_any(),
    })
}

/// The routed page and the toast. (The bottom action bar outside Telegram comes with the
/// screens that have a main action: components/main_bar.rs.)
fn shell() -> impl IntoView {
    let ctx = use_ctx();
    let on_catalog = move || ctx.route.get() == Route::Catalog;
    // Restores the catalog's scroll position when coming back to it.
    let catalog_y = StoredValue::new(0.0f64);
    Effect::new(move |prev: Option<bool>| {
        let now = on_catalog();
        if prev == Some(true) && !now {
            catalog_y.set_value(window().scroll_y().unwrap_or(0.0));
        } else if prev == Some(false) && now {
            let y = catalog_y.get_value();
            request_animation_frame(move || window().scroll_to_with_x_and_y(0.0, y));
        }
        now
    });
    view! {
        {top_bar()}
        <div class="toast" role="status" aria-live="polite" data-testid="toast">
            {rx::text(move || ctx.toast.get().unwrap_or_default())}
        </div>
        // The catalog stays mounted (hidden) so its list, filters and scroll survive a visit
        // to a product.
        <div hidden=rx::flag(move || !on_catalog())>
            {pages::catalog::catalog_page()}
        </div>
        {rx::view(move || match ctx.route.get() {
            Route::Catalog => ().into_any(),
            Route::Product(id) => lazy::show(|id| Box::pin(lazy::product(id)), id),
            Route::Cart => lazy::show(|_| Box::pin(lazy::cart()), 0),
            Route::Checkout => lazy::show(|_| Box::pin(lazy::checkout()), 0),
            Route::Orders => lazy::show(|_| Box::pin(lazy::orders()), 0),
            Route::Order(id) => lazy::show(|id| Box::pin(lazy::order(id)), id),
            Route::NotFound => view! { <EmptyState title=ctx.t(K::NotFound)/> }.into_any(),
        })}
    }
}
