//! The catalog: search, category chips, and an endless grid of products.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::Product;

use crate::api::{ApiError, ProductQuery};
use crate::app::use_ctx;
use crate::components::{CategoryChips, EmptyState, ErrorState, ProductCard, ProductGridSkeleton};
use crate::i18n::K;
use crate::router::Route;

/// How many products one page of the list asks for.
const PAGE_SIZE: u32 = 20;
/// Typing pause before a search is sent.
const DEBOUNCE: Duration = Duration::from_millis(300);

#[derive(Clone, Debug, PartialEq)]
enum State {
    /// First load for these filters: the skeleton shows.
    Loading,
    Ready,
    Failed(ApiError),
}

#[component]
pub fn CatalogPage() -> impl IntoView {
    let ctx = use_ctx();
    let selected = RwSignal::new(None::<i64>);
    let typed = RwSignal::new(String::new());
    let query = RwSignal::new(String::new());
    let items = RwSignal::new(Vec::<Product>::new());
    let next = RwSignal::new(None::<String>);
    let state = RwSignal::new(State::Loading);
    // A reload for new filters is under way (the old grid dims), or a next page is.
    let (pending, set_pending) = signal(false);
    let (more_loading, set_more_loading) = signal(false);
    // Answers to an older request are dropped.
    let generation = StoredValue::new(0u32);

    let categories = LocalResource::new(move || {
        let lang = ctx.lang.get();
        async move { ctx.api().categories(lang).await }
    });

    let load = move |more: bool| {
        let gen = generation.get_value() + 1;
        generation.set_value(gen);
        let q = ProductQuery {
            category: selected.get_untracked(),
            q: Some(query.get_untracked()).filter(|q| !q.trim().is_empty()),
            cursor: if more { next.get_untracked() } else { None },
            limit: Some(PAGE_SIZE),
            lang: Some(ctx.lang.get_untracked()),
        };
        if more {
            set_more_loading.set(true);
        } else if items.with_untracked(Vec::is_empty) {
            state.set(State::Loading);
        } else {
            set_pending.set(true);
        }
        spawn_local(async move {
            let res = ctx.api().products(&q).await;
            if generation.get_value() != gen {
                return;
            }
            set_pending.set(false);
            set_more_loading.set(false);
            match res {
                Ok(page) => {
                    if more {
                        items.update(|v| v.extend(page.items));
                    } else {
                        items.set(page.items);
                    }
                    next.set(page.next_cursor);
                    state.set(State::Ready);
                    super::lazy::prefetch();
                }
                Err(e) if more => ctx.say(e.to_string()),
                Err(e) => {
                    items.set(Vec::new());
                    state.set(State::Failed(e));
                }
            }
        });
    };

    Effect::new(move |_| {
        selected.track();
        query.track();
        ctx.lang.track();
        load(false);
    });

    // Endless scroll: the next page when the end of the grid comes near.
    Effect::new(move |_| {
        if ctx.near_bottom.get()
            && ctx.route.get() == Route::Catalog
            && next.with(Option::is_some)
            && !more_loading.get()
            && !pending.get()
        {
            load(true);
        }
    });

    let timer = StoredValue::new_local(None::<TimeoutHandle>);
    let on_input = move |ev: leptos::ev::Event| {
        typed.set(event_target_value(&ev));
        if let Some(h) = timer.get_value() {
            h.clear();
        }
        let h = set_timeout_with_handle(move || query.set(typed.get_untracked()), DEBOUNCE).ok();
        timer.set_value(h);
    };
    let retry = Callback::new(move |()| {
        categories.refetch();
        load(false);
    });

    view! {
        <form class="search" role="search" on:submit=move |ev| {
            ev.prevent_default();
            query.set(typed.get_untracked());
        }>
            <label class="sr-only" for="search">{move || ctx.t(K::Search)}</label>
            <input id="search" type="search" class="search__input" data-testid="search"
                autocomplete="off" enterkeyhint="search"
                placeholder=move || ctx.t(K::SearchPlaceholder)
                prop:value=move || typed.get() on:input=on_input/>
        </form>
        // Chips keep their row's height while loading, so the grid below never jumps.
        <Transition fallback=|| view! { <div class="chips chips--placeholder" aria-hidden="true"></div> }>
            {move || Suspend::new(async move {
                match categories.await {
                    Ok(page) if !page.items.is_empty() => {
                        view! { <CategoryChips categories=page.items selected/> }.into_any()
                    }
                    _ => view! { <div class="chips chips--placeholder" aria-hidden="true"></div> }.into_any(),
                }
            })}
        </Transition>
        <main
            class="catalog"
            class=("catalog--pending", move || pending.get())
            aria-busy=move || pending.get().to_string()
        >
            {move || match state.get() {
                State::Loading => view! { <ProductGridSkeleton/> }.into_any(),
                State::Failed(error) => view! { <ErrorState error on_retry=retry/> }.into_any(),
                State::Ready if items.with(Vec::is_empty) => {
                    let hint = if !query.get().trim().is_empty() {
                        K::NoMatches
                    } else if selected.get().is_some() {
                        K::NoProductsInCategory
                    } else {
                        K::NoProductsYet
                    };
                    view! { <EmptyState title=ctx.t(K::NoProducts) hint=ctx.t(hint)/> }.into_any()
                }
                State::Ready => view! {
                    <div class="grid" data-testid="product-grid">
                        <For each=move || items.get() key=move |p| (p.id, p.title.clone(), ctx.lang.get_untracked()) let:product>
                            <ProductCard product/>
                        </For>
                    </div>
                    {move || next.with(Option::is_some).then(|| view! {
                        <button type="button" class="button button--ghost more" data-testid="load-more"
                            disabled=move || more_loading.get()
                            aria-busy=move || more_loading.get().to_string()
                            on:click=move |_| load(true)>
                            {move || if more_loading.get() { ctx.t(K::Loading) } else { ctx.t(K::LoadMore) }}
                        </button>
                    })}
                }
                .into_any(),
            }}
        </main>
    }
}
