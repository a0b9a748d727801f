use leptos::prelude::*;

use crate::api::ApiError;

/// Nothing to show, with a hint at why.
#[component]
pub fn EmptyState(
    #[prop(into)] title: String,
    #[prop(into, optional)] hint: Option<String>,
) -> impl IntoView {
    view! {
        <section class="state" data-testid="catalog-empty">
            <svg class="state__icon" viewBox="0 0 48 48" aria-hidden="true">
                <path d="M10 16h28l-2 24H12z" fill="none" stroke="currentColor" stroke-width="3" stroke-linejoin="round"/>
                <path d="M18 20v-6a6 6 0 0 1 12 0v6" fill="none" stroke="currentColor" stroke-width="3" stroke-linecap="round"/>
            </svg>
            <h2 class="state__title">{title}</h2>
            {hint.map(|h| view! { <p class="state__hint">{h}</p> })}
        </section>
    }
}

/// A failed load, what went wrong, and a way to try again.
#[component]
pub fn ErrorState(error: ApiError, #[prop(into)] on_retry: Callback<()>) -> impl IntoView {
    let detail = error.detail();
    view! {
        <section class="state state--error" role="alert" data-testid="catalog-error">
            <svg class="state__icon" viewBox="0 0 48 48" aria-hidden="true">
                <path d="M24 6 44 41H4z" fill="none" stroke="currentColor" stroke-width="3" stroke-linejoin="round"/>
                <path d="M24 19v10" stroke="currentColor" stroke-width="3" stroke-linecap="round"/>
                <circle cx="24" cy="35" r="2" fill="currentColor"/>
            </svg>
            <h2 class="state__title">"Couldn't load the catalog"</h2>
            <p class="state__hint">{error.to_string()}</p>
            {detail.map(|d| view! { <p class="state__detail">{d}</p> })}
            <button type="button" class="button" data-testid="retry" on:click=move |_| on_retry.run(())>
                "Retry"
            </button>
        </section>
    }
}
