//! The catalog: category chips over a grid of products.

use leptos::prelude::*;

use crate::api::{Api, ProductQuery};
use crate::components::{CategoryChips, EmptyState, ErrorState, ProductCard, ProductGridSkeleton};

/// How many products the first screen asks for.
const PAGE_SIZE: u32 = 20;

#[component]
pub fn CatalogPage(api: Api) -> impl IntoView {
    let selected = RwSignal::new(None::<i64>);

    let categories = LocalResource::new({
        let api = api.clone();
        move || {
            let api = api.clone();
            async move { api.categories().await }
        }
    });
    let products = LocalResource::new(move || {
        let api = api.clone();
        let query = ProductQuery {
            category: selected.get(),
            limit: Some(PAGE_SIZE),
            ..Default::default()
        };
        async move { api.products(&query).await }
    });
    let retry = Callback::new(move |()| {
        categories.refetch();
        products.refetch();
    });
    let (pending, set_pending) = signal(false);

    view! {
        <header class="topbar">
            <h1 class="topbar__title">"Catalog"</h1>
        </header>
        // Chips keep their row's height while loading, so the grid below never jumps.
        <Transition fallback=|| view! { <div class="chips chips--placeholder" aria-hidden="true"></div> }>
            {move || Suspend::new(async move {
                match categories.await {
                    Ok(page) if !page.items.is_empty() => {
                        view! { <CategoryChips categories=page.items selected/> }.into_any()
                    }
                    _ => ().into_any(),
                }
            })}
        </Transition>
        <main
            class="catalog"
            class=("catalog--pending", move || pending.get())
            aria-busy=move || pending.get().to_string()
        >
            <Transition fallback=|| view! { <ProductGridSkeleton/> } set_pending>
                {move || Suspend::new(async move {
                    match products.await {
                        Ok(page) if page.items.is_empty() => {
                            let hint = if selected.get_untracked().is_some() {
                                "Nothing in this category yet. Try another one."
                            } else {
                                "The shop has no products yet. Check back soon."
                            };
                            view! { <EmptyState title="No products here" hint/> }.into_any()
                        }
                        Ok(page) => view! {
                            <div class="grid" data-testid="product-grid">
                                {page.items
                                    .into_iter()
                                    .map(|product| view! { <ProductCard product/> })
                                    .collect_view()}
                            </div>
                        }
                        .into_any(),
                        Err(error) => view! { <ErrorState error on_retry=retry/> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}
