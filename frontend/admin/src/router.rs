//! The admin's routes under `/admin`, the History API, and nothing else.
//!
//! Hand-rolled like the storefront's router (and not imported from it: the two bundles share
//! only `shared/`): a dozen flat paths do not need leptos_router's matcher, and links stay
//! real `<a href>` elements that work with the keyboard and "open in new tab".

use wasm_bindgen::JsValue;

/// Where the admin is mounted; the backend serves `dist/admin/` here.
pub const BASE: &str = "/admin";

/// Every screen of the admin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Dashboard,
    Login,
    Products,
    NewProduct,
    Product(i64),
    Categories,
    PromoCodes,
    Delivery,
    Orders,
    Order(i64),
    /// The TON wallet's transfers.
    Ton,
    Csv,
    Audit,
    Admins,
    Account,
    NotFound,
}

impl Route {
    pub fn parse(path: &str) -> Route {
        let path = path.split(['?', '#']).next().unwrap_or("");
        let Some(rest) = path.strip_prefix(BASE) else {
            return Route::NotFound;
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            return Route::NotFound;
        }
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        let id = |s: &str| s.parse::<i64>().ok().filter(|i| *i > 0);
        match parts.as_slice() {
            [] => Route::Dashboard,
            ["login"] => Route::Login,
            ["products"] => Route::Products,
            ["products", "new"] => Route::NewProduct,
            ["products", n] => id(n).map_or(Route::NotFound, Route::Product),
            ["categories"] => Route::Categories,
            ["promo-codes"] => Route::PromoCodes,
            ["delivery"] => Route::Delivery,
            ["orders"] => Route::Orders,
            ["orders", n] => id(n).map_or(Route::NotFound, Route::Order),
            ["ton"] => Route::Ton,
            ["csv"] => Route::Csv,
            ["audit"] => Route::Audit,
            ["admins"] => Route::Admins,
            ["account"] => Route::Account,
            _ => Route::NotFound,
        }
    }

    pub fn path(&self) -> String {
        let tail = match self {
            Route::Dashboard | Route::NotFound => String::new(),
            Route::Login => "/login".into(),
            Route::Products => "/products".into(),
            Route::NewProduct => "/products/new".into(),
            Route::Product(id) => format!("/products/{id}"),
            Route::Categories => "/categories".into(),
            Route::PromoCodes => "/promo-codes".into(),
            Route::Delivery => "/delivery".into(),
            Route::Orders => "/orders".into(),
            Route::Order(id) => format!("/orders/{id}"),
            Route::Ton => "/ton".into(),
            Route::Csv => "/csv".into(),
            Route::Audit => "/audit".into(),
            Route::Admins => "/admins".into(),
            Route::Account => "/account".into(),
        };
        format!("{BASE}{tail}")
    }

    /// The nav section a route belongs to (highlighted in the menu).
    pub fn section(&self) -> Route {
        match self {
            Route::NewProduct | Route::Product(_) => Route::Products,
            Route::Order(_) => Route::Orders,
            other => other.clone(),
        }
    }
}

fn history() -> Option<web_sys::History> {
    web_sys::window()?.history().ok()
}

/// Pushes (or replaces) a history entry for `route`.
pub fn push(route: &Route, replace: bool) {
    let Some(h) = history() else { return };
    let _ = if replace {
        h.replace_state_with_url(&JsValue::NULL, "", Some(&route.path()))
    } else {
        h.push_state_with_url(&JsValue::NULL, "", Some(&route.path()))
    };
}

/// The route of the current URL.
pub fn current() -> Route {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .map_or(Route::Dashboard, |p| Route::parse(&p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_every_route() {
        for r in [
            Route::Dashboard,
            Route::Login,
            Route::Products,
            Route::NewProduct,
            Route::Product(7),
            Route::Categories,
            Route::PromoCodes,
            Route::Delivery,
            Route::Orders,
            Route::Order(42),
            Route::Ton,
            Route::Csv,
            Route::Audit,
            Route::Admins,
            Route::Account,
        ] {
            assert_eq!(Route::parse(&r.path()), r, "{}", r.path());
        }
        assert_eq!(Route::parse("/admin/"), Route::Dashboard);
        assert_eq!(Route::parse("/admin/orders/7/?x=1"), Route::Order(7));
        assert_eq!(Route::parse("/admin/products/abc"), Route::NotFound);
        assert_eq!(Route::parse("/admin/products/0"), Route::NotFound);
        assert_eq!(Route::parse("/administrator"), Route::NotFound);
        assert_eq!(Route::parse("/orders/7"), Route::NotFound);
        assert_eq!(Route::Product(3).section(), Route::Products);
    }
}
