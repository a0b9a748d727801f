//! The screens behind the catalog, each its own wasm chunk in release builds.
//!
//! A customer opens the Mini App on the catalog; the product page, cart, checkout and orders are
//! only needed after a tap. Release builds (`--cfg split_pages`, set by
//! scripts/build-frontend.sh) mark each screen as a split point of Leptos' `wasm_split`, and
//! `wasm-split-cli` cuts the compiled wasm there: the first download carries the shell and the
//! catalog, the rest arrives when it is first shown (and is prefetched once the catalog is up,
//! see [`prefetch`]). Dev builds (`trunk serve`, tests) have no split tool in the pipeline, so
//! there the same functions are plain `async fn`s that build the screen at once.
//!
//! By hand rather than Leptos' `#[lazy]`: that macro always emits the split imports on wasm,
//! which only a splitting build pipeline can resolve; this one switches on a cfg.

use std::future::Future;

use leptos::prelude::*;
use leptos::wasm_split::SplitLoaderError;

use super::{cart, checkout, orders, product};
use crate::api::ApiError;
use crate::components::ErrorState;
use crate::i18n::K;

/// A screen, or why its chunk did not load (offline, a dropped connection).
pub type Screen = Result<AnyView, SplitLoaderError>;

/// One screen behind a split point (`$chunk` names its wasm chunk): a sync fn in split builds
/// (the macro wraps it in the async loader), an `async fn` otherwise, same signature to callers.
/// `fallible`: a chunk that fails to load is an `Err` to show, not a panic that ends the app.
macro_rules! screen {
    ($chunk:ident, $preload:ident: fn $name:ident($($arg:ident: $ty:ty),*) $body:block) => {
        #[cfg(split_pages)]
        #[leptos::wasm_split::wasm_split(
            $chunk,
            wasm_split_path = ::leptos::wasm_split,
            preload($preload),
            fallible
        )]
        pub fn $name($($arg: $ty),*) -> Screen {
            Ok($body)
        }

        #[cfg(not(split_pages))]
        pub async fn $name($($arg: $ty),*) -> Screen {
            Ok($body)
        }

        #[cfg(not(split_pages))]
        async fn $preload() -> Result<(), SplitLoaderError> {
            Ok(())
        }
    };
}

screen!(shop_product, preload_product: fn product(id: i64) {
    view! { <product::ProductPage id/> }.into_any()
});
screen!(shop_cart, preload_cart: fn cart() {
    view! { <cart::CartPage/> }.into_any()
});
screen!(shop_checkout, preload_checkout: fn checkout() {
    view! { <checkout::CheckoutPage/> }.into_any()
});
screen!(shop_orders, preload_orders: fn orders() {
    view! { <orders::OrdersPage/> }.into_any()
});
screen!(shop_order, preload_order: fn order(id: i64) {
    view! { <orders::OrderPage id/> }.into_any()
});

/// Shows a screen once its chunk is there; a quiet placeholder (same as the product page's own
/// loading state) until then, which on a warm cache or after [`prefetch`] is not seen at all.
/// If the chunk cannot be fetched, the usual offline message with a retry (a failed load is
/// not cached, so the retry fetches again).
pub fn show<F, Fut>(load: F) -> AnyView
where
    F: Fn() -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Screen> + 'static,
{
    let attempt = RwSignal::new(0u32);
    view! {
        <Suspense fallback=|| view! {
            <div class="product product--skeleton" data-testid="screen-loading" aria-busy="true">
                <div class="gallery shimmer"></div>
            </div>
        }>
            {move || {
                attempt.track();
                let screen = leptos::__reexports::send_wrapper::SendWrapper::new(load());
                Suspend::new(async move {
                    screen.await.unwrap_or_else(|_| view! {
                        <ErrorState
                            error=ApiError::Network
                            title=K::LoadFailedPage
                            on_retry=move |()| attempt.update(|n| *n += 1)
                        />
                    }.into_any())
                })
            }}
        </Suspense>
    }
    .into_any()
}

/// Fetches every screen's chunk in the background, so the first tap on a product does not wait
/// for the network. Called when the catalog has shown a page; only the first call does anything.
/// A chunk that fails here is fetched again when its screen is opened.
pub fn prefetch() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        leptos::task::spawn_local(async {
            let _ = preload_product().await;
            let _ = preload_cart().await;
            let _ = preload_checkout().await;
            let _ = preload_orders().await;
            let _ = preload_order().await;
        })
    });
}
