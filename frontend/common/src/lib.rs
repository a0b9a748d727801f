//! What the storefront (`frontend`) and the merchant admin (`frontend/admin`) both need from the
//! browser: one `fetch` round trip ([`http`]), same-origin links that navigate inside the app
//! ([`links`]) and the macro behind each app's typed UI-string table ([`ui_keys!`]).
//!
//! The two apps stay separate bundles (the storefront must not carry the admin's pages or
//! strings); this crate holds only the plumbing that was the same in both. It is generic and
//! small, so each app's wasm carries only what it calls.

pub mod http;
pub mod links;

/// Declares an app's UI strings as one enum `K` and a `table(k) -> [uz, ru, en]` function.
///
/// A typed key table rather than leptos_i18n or Fluent: each app has under two hundred short
/// strings with no plural rules beyond a number placeholder, and every string is a
/// `&'static str` in the binary, so it costs a few KB of data and no parser, loader or extra
/// request on a phone. A key without all three languages does not compile; each app's
/// `languages_agree` test (over `K::ALL`, present in test builds) checks the rest.
#[macro_export]
macro_rules! ui_keys {
    ($($k:ident => [$uz:expr, $ru:expr, $en:expr]),* $(,)?) => {
        /// One UI string.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum K { $($k),* }

        impl K {
            #[cfg(test)]
            pub const ALL: &'static [K] = &[$(K::$k),*];
        }

        fn table(k: K) -> [&'static str; 3] {
            match k { $(K::$k => [$uz, $ru, $en]),* }
        }
    };
}
