use leptos::prelude::*;
use shared::Lang;

use crate::app::use_ctx;
use crate::i18n::{self, t, tn, K};
use crate::router::Route;
use crate::rx;

/// The page header: a back button (outside Telegram, where BackButton does that job), the
/// title, links to orders and the cart, and the language switch.
pub fn top_bar() -> impl IntoView {
    let ctx = use_ctx();
    let title = rx::text(move || {
        let lang = ctx.lang.get();
        match ctx.route.get() {
            Route::Catalog => t(lang, K::Catalog).to_string(),
            Route::Product(_) => ctx
                .page_title
                .get()
                .unwrap_or_else(|| t(lang, K::Product).to_string()),
            Route::Cart => t(lang, K::Cart).to_string(),
            Route::Checkout => t(lang, K::Checkout).to_string(),
            Route::Orders => t(lang, K::Orders).to_string(),
            Route::Order(id) => tn(lang, K::OrderNo, id),
            Route::NotFound => t(lang, K::NotFound).to_string(),
        }
    });
    let start_lang = ctx.lang.get_untracked();
    let show_back = move || !ctx.in_telegram() && ctx.route.get() != Route::Catalog;
    let count = move || ctx.cart_count();
    let on_lang = move |ev: leptos::ev::Event| {
        if let Some(l) = Lang::parse(&event_target_value(&ev)) {
            ctx.lang.set(l);
            if let Ok(Some(s)) = window().local_storage() {
                let _ = s.set_item("shop.lang", l.code());
            }
        }
    };
    view! {
        <header class="topbar">
            {rx::view(move || show_back().then(|| view! {
                <button type="button" class="iconbtn" data-testid="back" aria-label=ctx.t(K::Back)
                    on:click=move |_| ctx.back()>
                    <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M15 5l-7 7 7 7" fill="none" stroke="currentColor" stroke-width="2.4" stroke-linecap="round" stroke-linejoin="round"/></svg>
                </button>
            }).into_any())}
            <h1 class="topbar__title">{title}</h1>
            <nav class="topbar__nav">
                <a href="/orders" class="iconbtn" data-testid="orders-link" aria-label=rx::str(move || ctx.t(K::Orders))>
                    <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M7 3h10v18l-5-3-5 3z" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/></svg>
                </a>
                <a href="/cart" class="iconbtn" data-testid="cart-link"
                    aria-label=rx::text(move || if count() > 0 { tn(ctx.lang.get(), K::CartWithCount, count()) } else { ctx.t(K::Cart).to_string() })>
                    <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3 4h2l2.4 11h10.2L20 7H6.2" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/><circle cx="9" cy="19.5" r="1.6" fill="currentColor"/><circle cx="17" cy="19.5" r="1.6" fill="currentColor"/></svg>
                    {rx::view(move || (count() > 0).then(|| view! { <span class="badge" data-testid="cart-count">{count()}</span> }).into_any())}
                </a>
                <label class="lang">
                    <span class="sr-only">{rx::str(move || ctx.t(K::Language))}</span>
                    <select data-testid="lang" on:change=on_lang prop:value=rx::str(move || ctx.lang.get().code())>
                        // `selected` only for the first render (the options do not exist yet
                        // when `prop:value` is first set); after that the select's value
                        // follows the language.
                        <option value="uz" selected=start_lang == Lang::Uz>{i18n::native_name(Lang::Uz)}</option>
                        <option value="ru" selected=start_lang == Lang::Ru>{i18n::native_name(Lang::Ru)}</option>
                        <option value="en" selected=start_lang == Lang::En>{i18n::native_name(Lang::En)}</option>
                    </select>
                </label>
            </nav>
        </header>
    }
}
