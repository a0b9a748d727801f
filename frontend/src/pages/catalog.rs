//! The catalog: search, category chips, and an endless grid of products.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{ApiError, ProductQuery};
use crate::app::use_ctx;
use crate::components::{
    category_chips, product_card, product_grid_skeleton, CardProduct, ChipCategory, EmptyState,
    ErrorState,
};
use crate::i18n::K;
use crate::router::Route;
use crate::rx;

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

pub fn catalog_page() -> impl IntoView {
    let ctx = use_ctx();
    let selected = RwSignal::new(None::<i64>);
    let typed = RwSignal::new(String::new());
    let query = RwSignal::new(String::new());
    let items = RwSignal::new(Vec::<CardProduct>::new());
    let next = RwSignal::new(None::<String>);
    let state = RwSignal::new(State::Loading);
    // A reload for new filters is under way (the old grid dims), or a next page is.
    let pending = RwSignal::new(false);
    let more_loading = RwSignal::new(false);
    // Answers to an older request are dropped.
    let generation = StoredValue::new(0u32);

    // The category row, reloaded when the language changes; the old row stays until the new
    // one is there (`None` only before the first answer).
    let categories = RwSignal::new(None::<Vec<ChipCategory>>);
    let load_categories = move || {
        let lang = ctx.lang.get_untracked();
        spawn_local(async move {
            if let Ok(page) = ctx.api().categories(lang).await {
                categories.try_set(Some(page.items));
            }
        });
    };
    Effect::new(move |_| {
        ctx.lang.track();
        load_categories();
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
            more_loading.set(true);
        } else if items.with_untracked(Vec::is_empty) {
            state.set(State::Loading);
        } else {
            pending.set(true);
        }
        spawn_local(async move {
            let res = ctx.api().products(&q).await;
            if generation.get_value() != gen {
                return;
            }
            pending.set(false);
            more_loading.set(false);
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
        load_categories();
        load(false);
    });

    view! {
        <form class="search" role="search" on:submit=move |ev| {
            ev.prevent_default();
            query.set(typed.get_untracked());
        }>
            <label class="sr-only" for="search">{rx::str(move || ctx.t(K::Search))}</label>
            <input id="search" type="search" class="search__input" data-testid="search"
                autocomplete="off" enterkeyhint="search"
                placeholder=rx::str(move || ctx.t(K::SearchPlaceholder))
                prop:value=rx::text(move || typed.get()) on:input=on_input/>
        </form>
        // Chips keep their row's height while loading, so the grid below never jumps.
        {rx::view(move || categories.with(|c| match c {
            Some(items) if !items.is_empty() => {
                category_chips(items.clone(), selected).into_any()
            }
            _ => view! { <div class="chips chips--placeholder" aria-hidden="true"></div> }.into_any(),
        }))}
        <main
            class="catalog"
            class=("catalog--pending", rx::flag(move || pending.get()))
            aria-busy=rx::bool_attr(move || pending.get())
        >
            {rx::view(move || match state.get() {
                State::Loading => product_grid_skeleton().into_any(),
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
                        // Unkeyed: a new page or filter updates the cards in place (tachys
                        // rebuilds each position), which needs none of `<For>`'s keyed diffing
                        // in the first download.
                        {rx::view(move || items.with(|v| v.iter().map(|product| {
                            product_card(product.clone())
                        }).collect_view().into_any()))}
                    </div>
                    {rx::view(move || next.with(Option::is_some).then(|| view! {
                        <button type="button" class="button button--ghost more" data-testid="load-more"
                            disabled=rx::flag(move || more_loading.get())
                            aria-busy=rx::bool_attr(move || more_loading.get())
                            on:click=move |_| load(true)>
                            {rx::str(move || if more_loading.get() { ctx.t(K::Loading) } else { ctx.t(K::LoadMore) })}
                        </button>
                    }).into_any())}
                }
                .into_any(),
            })}
        </main>
    }
}
