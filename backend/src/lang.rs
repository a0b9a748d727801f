//! The language a request asks for: `?lang=` first, then `Accept-Language`, then the
//! shop's default. Product texts are answered in it, with the configured fallback order.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::{header, request::Parts};
use shared::{Lang, Texts};

use crate::config::Config;

#[derive(Debug, Clone, Copy)]
pub struct ReqLang(pub Lang);

/// Needs only the configuration (the shop's default language).
impl<S> FromRequestParts<S> for ReqLang
where
    S: Send + Sync,
    Arc<Config>: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let from_query = parts.uri.query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "lang")
                .and_then(|(_, v)| Lang::parse(&v))
        });
        let from_header = || {
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').find_map(Lang::parse))
        };
        Ok(ReqLang(from_query.or_else(from_header).unwrap_or_else(
            || Arc::<Config>::from_ref(state).default_lang,
        )))
    }
}

/// Picks `texts` in `lang` with the shop's fallback order; empty when no language has text.
pub fn pick(texts: &Texts, lang: Lang, fallback: &[Lang]) -> String {
    texts.pick(lang, fallback).unwrap_or_default().to_string()
}
