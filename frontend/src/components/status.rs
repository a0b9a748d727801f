use leptos::prelude::*;

use crate::api::ApiError;
use crate::app::use_ctx;
use crate::i18n::{K, P};
use crate::rx;

/// Nothing to show, with a hint at why.
#[component]
pub fn EmptyState(
    #[prop(into)] title: String,
    #[prop(into, optional)] hint: Option<String>,
    #[prop(optional)] testid: Option<&'static str>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <section class="state" data-testid=testid.unwrap_or("catalog-empty")>
            <svg class="state__icon" viewBox="0 0 48 48" aria-hidden="true">
                <path d="M10 16h28l-2 24H12z" fill="none" stroke="currentColor" stroke-width="3" stroke-linejoin="round"/>
                <path d="M18 20v-6a6 6 0 0 1 12 0v6" fill="none" stroke="currentColor" stroke-width="3" stroke-linecap="round"/>
            </svg>
            <h2 class="state__title">{title}</h2>
            {hint.map(|h| view! { <p class="state__hint">{h}</p> })}
            {children.map(|c| c())}
        </section>
    }
}

/// A failed load, what went wrong, and a way to try again.
#[component]
pub fn ErrorState(
    error: ApiError,
    #[prop(into)] on_retry: Callback<()>,
    #[prop(optional)] title: Option<K>,
) -> impl IntoView {
    let ctx = use_ctx();
    let detail = error.detail();
    let message = match &error {
        ApiError::Network => ctx.t(K::Offline).to_string(),
        e => e.to_string(),
    };
    view! {
        <section class="state state--error" role="alert" data-testid="catalog-error">
            <svg class="state__icon" viewBox="0 0 48 48" aria-hidden="true">
                <path d="M24 6 44 41H4z" fill="none" stroke="currentColor" stroke-width="3" stroke-linejoin="round"/>
                <path d="M24 19v10" stroke="currentColor" stroke-width="3" stroke-linecap="round"/>
                <circle cx="24" cy="35" r="2" fill="currentColor"/>
            </svg>
            <h2 class="state__title">{rx::str(move || ctx.t(title.unwrap_or(K::LoadFailed)))}</h2>
            <p class="state__hint">{message}</p>
            {detail.map(|d| view! { <p class="state__detail">{d}</p> })}
            <button type="button" class="button" data-testid="retry" on:click=move |_| on_retry.run(())>
                {rx::str(move || ctx.t(K::Retry))}
            </button>
        </section>
    }
}

/// − n + with labelled buttons; `set` gets the new quantity.
#[component]
pub fn Stepper(
    #[prop(into)] value: Signal<i64>,
    #[prop(into)] max: Signal<i64>,
    #[prop(into)] min: i64,
    #[prop(into)] disabled: Signal<bool>,
    #[prop(into)] set: Callback<i64>,
    #[prop(into)] label: String,
) -> impl IntoView {
    let ctx = use_ctx();
    view! {
        <div class="stepper" role="group" aria-label=label>
            <button type="button" class="stepper__btn" data-testid="qty-dec" aria-label=move || ctx.t(P::Decrease)
                disabled={move || disabled.get() || value.get() <= min}
                on:click=move |_| set.run(value.get_untracked() - 1)>"−"</button>
            <output class="stepper__value" data-testid="qty" aria-live="polite">{move || value.get()}</output>
            <button type="button" class="stepper__btn" data-testid="qty-inc" aria-label=move || ctx.t(P::Increase)
                disabled={move || disabled.get() || value.get() >= max.get()}
                on:click=move |_| set.run(value.get_untracked() + 1)>"+"</button>
        </div>
    }
}
