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
use crate::components::{ErrorState, MainBar};
use crate::i18n::K;
use crate::rx;

/// A screen, or why its chunk did not load (offline, a dropped connection).
pub type Screen = Result<AnyView, SplitLoaderError>;

/// A screen on its way (its chunk loading), as [`show`] takes it.
pub type LoadScreen = std::pin::Pin<Box<dyn Future<Output = Screen>>>;

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
            crate::app::use_ctx().ensure_cart();
            Ok($body)
        }

        #[cfg(not(split_pages))]
        pub async fn $name($($arg: $ty),*) -> Screen {
            crate::app::use_ctx().ensure_cart();
            Ok($body)
        }

        #[cfg(not(split_pages))]
        async fn $preload() -> Result<(), SplitLoaderError> {
            Ok(())
        }
    };
}

screen!(shop_product, preload_product: fn product(id: i64) {
    view! { <product::ProductPage id/> <MainBar/> }.into_any()
});
screen!(shop_cart, preload_cart: fn cart() {
    view! { <cart::CartPage/> <MainBar/> }.into_any()
});
screen!(shop_checkout, preload_checkout: fn checkout() {
    view! { <checkout::CheckoutPage/> <MainBar/> }.into_any()
});
screen!(shop_orders, preload_orders: fn orders() {
    view! { <orders::OrdersPage/> <MainBar/> }.into_any()
});
screen!(shop_order, preload_order: fn order(id: i64) {
    view! { <orders::OrderPage id/> <MainBar/> }.into_any()
});

/// Shows a screen once its chunk is there; a quiet placeholder (same as the product page's own
/// loading state) until then, which on a warm cache or after [`prefetch`] is not seen at all.
/// If the chunk cannot be fetched, the usual offline message with a retry (a failed load is
/// not cached, so the retry fetches again).
///
/// A signal and a task rather than `<Suspense>`: the shell is in the first download, and
/// Suspense's async machinery is a large part of Leptos' code (docs/PERFORMANCE.md).
/// One function for every screen (a `fn` pointer and a boxed future, not generics), so the first
/// download carries one copy of this code rather than one per screen.
pub fn show(load: fn(i64) -> LoadScreen, id: i64) -> AnyView {
    #[derive(Clone, Copy, PartialEq)]
    enum Phase {
        Loading,
        Ready,
        Failed,
    }
    let phase = RwSignal::new(Phase::Loading);
    let screen = StoredValue::new_local(None::<AnyView>);
    let done = move |result: Screen| match result {
        Ok(view) => {
            screen.try_set_value(Some(view));
            phase.try_set(Phase::Ready);
        }
        Err(_) => {
            phase.try_set(Phase::Failed);
        }
    };
    // The screen's components need this owner (its context, and cleanup when the route moves
    // on), including when they are built later, after the chunk arrived, or on a retry.
    let owner = Owner::current();
    let attempt = Callback::new(move |()| {
        let mut fut = load(id);
        let owner = owner.clone();
        let mut poll = move |cx: &mut std::task::Context<'_>| match &owner {
            Some(owner) => owner.with(|| fut.as_mut().poll(cx)),
            None => fut.as_mut().poll(cx),
        };
        // A chunk that is already here (and every screen in unsplit builds) is ready at the
        // first poll: show it in this frame instead of flashing the placeholder.
        let waker = std::task::Waker::noop();
        match poll(&mut std::task::Context::from_waker(waker)) {
            std::task::Poll::Ready(result) => done(result),
            std::task::Poll::Pending => {
                phase.set(Phase::Loading);
                leptos::task::spawn_local(async move { done(std::future::poll_fn(poll).await) });
            }
        }
    });
    attempt.run(());
    rx::view(move || match phase.get() {
        Phase::Loading => view! {
            <div class="product product--skeleton" data-testid="screen-loading" aria-busy="true">
                <div class="gallery shimmer"></div>
            </div>
        }
        .into_any(),
        Phase::Ready => screen
            .try_update_value(Option::take)
            .flatten()
            .unwrap_or_else(|| ().into_any()),
        Phase::Failed => view! {
            <ErrorState
                error=ApiError::Network
                title=K::LoadFailedPage
                on_retry=attempt
            />
        }
        .into_any(),
    })
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
