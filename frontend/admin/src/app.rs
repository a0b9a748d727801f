//! The admin shell: who is signed in, the app-wide state ([`Ctx`]), the menu and the routed
//! page. Every page reads the context through [`use_ctx`].

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::Lang;

use crate::api::{self, ApiError, Me};
use crate::i18n::{self, t, K};
use crate::pages;
use crate::router::{self, Route};

/// App-wide state, in context. Every field is a copyable handle.
#[derive(Clone, Copy)]
pub struct Ctx {
    pub lang: RwSignal<Lang>,
    pub route: RwSignal<Route>,
    /// The signed-in admin; `None` before the session check and after sign-out.
    pub me: RwSignal<Option<Me>>,
    /// The session check at start-up has answered.
    pub checked: RwSignal<bool>,
    /// A short message at the top of the page (role=status).
    pub toast: RwSignal<Option<String>>,
    /// The phone menu is open.
    pub nav_open: RwSignal<bool>,
}

impl Ctx {
    pub fn t(&self, k: K) -> &'static str {
        t(self.lang.get(), k)
    }

    /// Whether the signed-in admin is an owner (tracked: menus and buttons follow it).
    pub fn is_owner(&self) -> bool {
        self.me.with(|m| m.as_ref().is_some_and(Me::is_owner))
    }

    pub fn navigate(&self, route: Route) {
        self.go(route, false)
    }

    pub fn go(&self, route: Route, replace: bool) {
        router::push(&route, replace);
        self.route.set(route);
        self.nav_open.set(false);
        window().scroll_to_with_x_and_y(0.0, 0.0);
    }

    pub fn say(&self, msg: impl Into<String>) {
        let msg = msg.into();
        self.toast.set(Some(msg.clone()));
        let toast = self.toast;
        set_timeout(
            move || {
                if toast.try_get_untracked().flatten().as_deref() == Some(msg.as_str()) {
                    toast.try_set(None);
                }
            },
            std::time::Duration::from_secs(4),
        );
    }

    /// The message to show for a failed call; a lost session sends the admin to sign in.
    pub fn fail(&self, e: &ApiError) -> String {
        if e.is_signed_out() && self.me.get_untracked().is_some() {
            self.signed_out();
        }
        match e {
            ApiError::Network => self.t(K::Offline).to_string(),
            e => e.to_string(),
        }
    }

    /// Forgets the session here (the server already has, or is told by the caller).
    pub fn signed_out(&self) {
        api::set_csrf(None);
        self.me.set(None);
        self.go(Route::Login, true);
    }

    pub fn sign_out(&self) {
        let ctx = *self;
        spawn_local(async move {
            let _ = api::post_empty("/api/admin/logout").await;
            ctx.signed_out();
        });
    }
}

pub fn use_ctx() -> Ctx {
    expect_context::<Ctx>()
}

const LANG_KEY: &str = "admin.lang";

fn saved_lang() -> Option<String> {
    window()
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item(LANG_KEY).ok().flatten())
}

pub fn save_lang(l: Lang) {
    if let Some(s) = window().local_storage().ok().flatten() {
        let _ = s.set_item(LANG_KEY, l.code());
    }
}

#[component]
pub fn App(start: Route) -> impl IntoView {
    let nav_lang = window().navigator().language();
    let ctx = Ctx {
        lang: RwSignal::new(i18n::initial(saved_lang().as_deref(), nav_lang.as_deref())),
        route: RwSignal::new(start),
        me: RwSignal::new(None),
        checked: RwSignal::new(false),
        toast: RwSignal::new(None),
        nav_open: RwSignal::new(false),
    };
    provide_context(ctx);

    Effect::new(move |_| {
        let code = ctx.lang.get().code();
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", code);
        }
    });

    // Is the session (cookie) still alive? Its answer also carries the CSRF token.
    spawn_local(async move {
        match api::get::<Me>("/api/admin/me").await {
            Ok(me) => {
                if let Some(t) = me.csrf_token.as_deref() {
                    api::set_csrf(Some(t));
                }
                ctx.me.set(Some(me));
                if ctx.route.get_untracked() == Route::Login {
                    ctx.go(Route::Dashboard, true);
                }
            }
            Err(_) => {
                api::set_csrf(None);
                if ctx.route.get_untracked() != Route::Login {
                    ctx.go(Route::Login, true);
                }
            }
        }
        ctx.checked.set(true);
    });

    let _ = window_event_listener(ev::popstate, move |_| ctx.route.set(router::current()));
    // Links inside the admin navigate in the app; API links (CSV downloads) stay links.
    web_common::links::navigate_in_app(
        |href, a| {
            (href == router::BASE || href.starts_with("/admin/")) && !a.has_attribute("download")
        },
        move |href| ctx.navigate(Route::parse(href)),
    );

    view! {
        <div class="toast" role="status" aria-live="polite" data-testid="toast">
            {move || ctx.toast.get()}
        </div>
        {move || {
            if !ctx.checked.get() {
                view! { <div class="boot" aria-busy="true">{ctx.t(K::Loading)}</div> }.into_any()
            } else if ctx.me.with(Option::is_none) || ctx.route.get() == Route::Login {
                view! { <pages::login::LoginPage/> }.into_any()
            } else {
                view! { <Shell/> }.into_any()
            }
        }}
    }
}

/// The menu (a sidebar on a desktop, a collapsible bar on a phone) and the routed page.
#[component]
fn Shell() -> impl IntoView {
    let ctx = use_ctx();
    // (route, label, owners only): staff are not shown what the server would refuse them.
    let items = [
        (Route::Dashboard, K::Dashboard, false),
        (Route::Products, K::Products, false),
        (Route::Categories, K::Categories, false),
        (Route::PromoCodes, K::PromoCodes, false),
        (Route::Delivery, K::DeliveryMethods, false),
        (Route::Orders, K::Orders, false),
        (Route::Ton, K::TonTransfers, false),
        (Route::Csv, K::Csv, false),
        (Route::Audit, K::Audit, true),
        (Route::Admins, K::Admins, true),
        (Route::Account, K::Account, false),
    ];
    view! {
        <div class="layout">
            <header class="side">
                <div class="side__top">
                    <a class="brand" href="/admin">{move || ctx.t(K::Brand)}</a>
                    <button
                        type="button"
                        class="burger"
                        data-testid="menu"
                        aria-controls="nav"
                        aria-expanded=move || ctx.nav_open.get().to_string()
                        on:click=move |_| ctx.nav_open.update(|o| *o = !*o)
                    >
                        <span aria-hidden="true">"☰"</span>
                        <span class="sr-only">{move || ctx.t(K::Menu)}</span>
                    </button>
                </div>
                <nav id="nav" class="nav" class:nav--open=move || ctx.nav_open.get()>
                    {move || items
                        .iter()
                        .filter(|(_, _, owners)| !owners || ctx.is_owner())
                        .map(|(r, k, _)| {
                            let (href, k) = (r.path(), *k);
                            let current = {
                                let r = r.clone();
                                move || ctx.route.get().section() == r
                            };
                            view! {
                                <a
                                    class="nav__link"
                                    href=href
                                    aria-current=move || current().then_some("page")
                                >
                                    {move || ctx.t(k)}
                                </a>
                            }
                        })
                        .collect_view()}
                    <div class="nav__foot">
                        <LangSelect/>
                        <p class="nav__who" data-testid="who">
                            {move || ctx.me.get().map(|m| m.email)}
                            <span class="muted" data-testid="who-role">
                                {move || format!(" · {}", ctx.t(if ctx.is_owner() { K::RoleOwner } else { K::RoleStaff }))}
                            </span>
                        </p>
                        <button type="button" class="btn btn--ghost" data-testid="sign-out" on:click=move |_| ctx.sign_out()>
                            {move || ctx.t(K::SignOut)}
                        </button>
                    </div>
                </nav>
            </header>
            <main class="main" id="main">
                {move || match ctx.route.get() {
                    Route::Dashboard => view! { <pages::dashboard::DashboardPage/> }.into_any(),
                    Route::Products => view! { <pages::products::ProductsPage/> }.into_any(),
                    Route::NewProduct => view! { <pages::product::ProductPage id=None/> }.into_any(),
                    Route::Product(id) => view! { <pages::product::ProductPage id=Some(id)/> }.into_any(),
                    Route::Categories => view! { <pages::categories::CategoriesPage/> }.into_any(),
                    Route::PromoCodes => view! { <pages::promo_codes::PromoCodesPage/> }.into_any(),
                    Route::Delivery => view! { <pages::delivery::DeliveryPage/> }.into_any(),
                    Route::Orders => view! { <pages::orders::OrdersPage/> }.into_any(),
                    Route::Order(id) => view! { <pages::order::OrderPage id/> }.into_any(),
                    Route::Csv => view! { <pages::csv::CsvPage/> }.into_any(),
                    Route::Ton => view! { <pages::ton::TonPage/> }.into_any(),
                    Route::Audit | Route::Admins if !ctx.is_owner() => view! {
                        <section class="card" data-testid="owner-only"><h1>{ctx.t(K::OwnerOnly)}</h1></section>
                    }.into_any(),
                    Route::Audit => view! { <pages::audit::AuditPage/> }.into_any(),
                    Route::Admins => view! { <pages::admins::AdminsPage/> }.into_any(),
                    Route::Account => view! { <pages::account::AccountPage/> }.into_any(),
                    Route::Login | Route::NotFound => view! {
                        <section class="card"><h1>{ctx.t(K::NotFound)}</h1></section>
                    }.into_any(),
                }}
            </main>
        </div>
    }
}

/// The interface language (uz / ru / en), remembered in localStorage.
#[component]
pub fn LangSelect() -> impl IntoView {
    let ctx = use_ctx();
    view! {
        <label class="lang">
            <span class="sr-only">{move || ctx.t(K::Language)}</span>
            <select
                data-testid="lang"
                on:change=move |e| {
                    if let Some(l) = Lang::parse(&event_target_value(&e)) {
                        save_lang(l);
                        ctx.lang.set(l);
                    }
                }
            >
                {Lang::ALL
                    .into_iter()
                    .map(|l| view! {
                        <option value=l.code() selected=move || ctx.lang.get() == l>{i18n::lang_name(l)}</option>
                    })
                    .collect_view()}
            </select>
        </label>
    }
}
