//! A hand-rolled router: six fixed routes, the History API, and one click handler that turns
//! same-origin `<a href>` clicks into in-app navigation.
//!
//! Why not leptos_router: it would bring its matcher, nested-route machinery and `<A>`
//! components to an app with six flat paths; this file does what the storefront needs in
//! ~100 lines and keeps links real `<a href>` (so they work with keyboard, screen readers and
//! "open in new tab" in a plain browser).

use wasm_bindgen::JsValue;

/// Every screen of the storefront.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Catalog,
    Product(i64),
    Cart,
    Checkout,
    Orders,
    Order(i64),
    NotFound,
}

impl Route {
    pub fn parse(path: &str) -> Route {
        let path = path.split(['?', '#']).next().unwrap_or("");
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let id = |s: &str| s.parse::<i64>().ok().filter(|i| *i > 0);
        match parts.as_slice() {
            [] => Route::Catalog,
            ["product", n] => id(n).map_or(Route::NotFound, Route::Product),
            ["cart"] => Route::Cart,
            ["checkout"] => Route::Checkout,
            ["orders"] => Route::Orders,
            ["orders", n] => id(n).map_or(Route::NotFound, Route::Order),
            _ => Route::NotFound,
        }
    }

    pub fn path(&self) -> String {
        match self {
            Route::Catalog | Route::NotFound => "/".into(),
            Route::Product(id) => format!("/product/{id}"),
            Route::Cart => "/cart".into(),
            Route::Checkout => "/checkout".into(),
            Route::Orders => "/orders".into(),
            Route::Order(id) => format!("/orders/{id}"),
        }
    }
}

/// The order a payment page sends the customer back to: `/?order=<id>` (the return URL the
/// Click and Payme rails give their payment pages).
pub fn returned_to_order(search: &str) -> Option<Route> {
    let id = search
        .trim_start_matches('?')
        .split('&')
        .find_map(|kv| kv.strip_prefix("order="))?
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)?;
    Some(Route::Order(id))
}

fn history() -> Option<web_sys::History> {
    web_sys::window()?.history().ok()
}

/// How many in-app steps lie behind the current history entry (0 = the app's first page).
pub fn depth() -> u32 {
    history()
        .and_then(|h| h.state().ok())
        .and_then(|s| s.as_f64())
        .map_or(0, |d| d as u32)
}

/// Pushes (or replaces) a history entry for `route`.
pub fn push(route: &Route, replace: bool) {
    let Some(h) = history() else { return };
    let d = depth();
    let _ = if replace {
        h.replace_state_with_url(&JsValue::from(d), "", Some(&route.path()))
    } else {
        h.push_state_with_url(&JsValue::from(d + 1), "", Some(&route.path()))
    };
}

/// The route of the current URL.
pub fn current() -> Route {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .map_or(Route::Catalog, |p| Route::parse(&p))
}

/// Goes back if there is an in-app page to go back to; `false` if this is the first page.
pub fn back() -> bool {
    if depth() == 0 {
        return false;
    }
    history().is_some_and(|h| h.back().is_ok())
}

/// The page a deep link's `start_param` opens: `product_<id>` (inline results, Share, the
/// bot's /start button) or `cart` (the bot's cart reminder).
pub fn start_route(start_param: &str) -> Option<Route> {
    if start_param == "cart" {
        return Some(Route::Cart);
    }
    crate::telegram::start_product(start_param).map(Route::Product)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_links_open_the_product_or_the_cart() {
        assert_eq!(start_route("product_12"), Some(Route::Product(12)));
        assert_eq!(start_route("cart"), Some(Route::Cart));
        assert_eq!(start_route("carts"), None);
        assert_eq!(start_route("promo"), None);
    }

    #[test]
    fn parses_and_prints_every_route() {
        for r in [
            Route::Catalog,
            Route::Product(7),
            Route::Cart,
            Route::Checkout,
            Route::Orders,
            Route::Order(42),
        ] {
            assert_eq!(Route::parse(&r.path()), r);
        }
        assert_eq!(Route::parse("/product/7/"), Route::Product(7));
        assert_eq!(Route::parse("/product/7?x=1"), Route::Product(7));
        assert_eq!(Route::parse("/product/abc"), Route::NotFound);
        assert_eq!(Route::parse("/product/0"), Route::NotFound);
        assert_eq!(Route::parse("/nope"), Route::NotFound);
    }

    #[test]
    fn a_payment_page_returns_to_its_order() {
        assert_eq!(returned_to_order("?order=42"), Some(Route::Order(42)));
        assert_eq!(returned_to_order("?x=1&order=7"), Some(Route::Order(7)));
        assert_eq!(returned_to_order("?order=0"), None);
        assert_eq!(returned_to_order("?order=abc"), None);
        assert_eq!(returned_to_order("?orders=3"), None);
        assert_eq!(returned_to_order(""), None);
    }
}
