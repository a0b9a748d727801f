//! `GET /api/openapi.json`: the OpenAPI 3.1 document of every `/api` route, customer and admin.
//!
//! Each handler carries its own `#[utoipa::path]` (path, parameters, body, answers) next to its
//! code, and the `shared` types derive their schemas (the `openapi` feature of `shared`, which
//! only the backend turns on), so the document is made from the code. This module lists the
//! handlers and adds what every route has in common, so no handler can forget it:
//!
//! - every error answer's body is the one envelope schema, `ErrorEnvelope`;
//! - every route can answer 429 (with `Retry-After`) and 500; a route with parameters or a
//!   body can answer 400, one with a body 413, 415 and 422;
//! - a route behind initData or the admin session can answer 401, and a state-changing admin
//!   call takes the `X-CSRF-Token` header and can answer 403.
//!
//! `tests/openapi.rs` fails when a route is registered but not listed here, or listed but not
//! registered. Dev-only routes (`/api/dev/init-data`) are left out on purpose.

use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use shared::ErrorEnvelope;
use utoipa::openapi::path::{HttpMethod, Operation, Parameter, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{Content, Header, Ref, RefOr, Required, Response as ApiResponse};
use utoipa::{OpenApi, PartialSchema};

use crate::admin::auth::{COOKIE, HOST_COOKIE};
use crate::config::Config;
use crate::state::AppState;

/// The security scheme name of customer routes (`Authorization: tma <initData>`).
pub const INIT_DATA: &str = "init_data";
/// The security scheme name of admin routes (the session cookie set by `POST /api/admin/login`).
pub const ADMIN_SESSION: &str = "admin_session";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "The shop API",
        description = "The JSON API of a Telegram Mini App shop: the public catalog, the \
            customer's cart, orders and subscriptions (signed in with Telegram initData), and \
            the merchant admin (signed in with a session cookie). docs/API.md in the repository \
            explains signing in, errors, money, pagination, idempotency and rate limits.",
        license(name = "MIT"),
    ),
    paths(
        openapi_json,
        crate::catalog::categories,
        crate::catalog::products,
        crate::catalog::product,
        crate::share::prepare,
        crate::me::me,
        crate::cart::show,
        crate::cart::replace,
        crate::orders::create,
        crate::orders::list,
        crate::orders::one,
        crate::delivery::offered,
        crate::subscriptions::routes::list,
        crate::subscriptions::routes::cancel,
        crate::subscriptions::routes::renew,
        crate::admin::auth::login,
        crate::admin::auth::logout,
        crate::admin::auth::logout_everywhere,
        crate::admin::auth::whoami,
        crate::admin::accounts::list,
        crate::admin::accounts::add,
        crate::admin::accounts::remove,
        crate::admin::accounts::disable,
        crate::admin::accounts::enable,
        crate::admin::accounts::change_password,
        crate::admin::categories::list,
        crate::admin::categories::create,
        crate::admin::categories::one,
        crate::admin::categories::update,
        crate::admin::categories::remove,
        crate::admin::categories::reorder,
        crate::admin::products::list,
        crate::admin::products::create,
        crate::admin::products::one,
        crate::admin::products::update,
        crate::admin::products::save::save,
        crate::admin::products::remove,
        crate::admin::products::add_variant,
        crate::admin::products::update_variant,
        crate::admin::products::remove_variant,
        crate::admin::products::set_stock,
        crate::admin::images::upload,
        crate::admin::images::reorder,
        crate::admin::orders::list,
        crate::admin::orders::one,
        crate::admin::orders::ship,
        crate::admin::orders::deliver,
        crate::admin::orders::cancel,
        crate::admin::orders::refund,
        crate::admin::orders::confirm,
        crate::admin::orders::cancel_subscription,
        crate::admin::dashboard::dashboard,
        crate::admin::spreadsheet::export::orders,
        crate::admin::spreadsheet::export::products,
        crate::admin::spreadsheet::import::products,
        crate::admin::audit::list,
        crate::admin::promo_codes::list,
        crate::admin::promo_codes::create,
        crate::admin::promo_codes::pause,
        crate::admin::promo_codes::resume,
        crate::admin::delivery_methods::list,
        crate::admin::delivery_methods::create,
        crate::admin::delivery_methods::update,
        crate::admin::delivery_methods::remove,
        crate::payments::ton::admin::list,
        crate::payments::ton::admin::attach,
        crate::payments::ton::admin::returned,
    ),
    components(schemas(ErrorEnvelope, shared::Lang)),
    tags(
        (name = "catalog", description = "Public: categories and products in the language asked for."),
        (name = "customer", description = "The signed-in customer (initData): who they are, the cart, orders, subscriptions."),
        (name = "admin", description = "The merchant admin: session cookie from `POST /api/admin/login`, and `X-CSRF-Token` on every state-changing call."),
        (name = "meta", description = "This document."),
    )
)]
struct ApiDoc;

/// The document for a shop whose admin session cookie is `cookie` (it depends on whether the
/// shop is served over https, see [`crate::admin::auth::cookie_name`]).
pub fn document(cookie: &str) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        INIT_DATA,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "Authorization",
            "`tma <initData>`: the raw query string Telegram gives the Mini App \
             (`Telegram.WebApp.initData`), signed by Telegram for this shop's bot.",
        ))),
    );
    let other = if cookie == HOST_COOKIE {
        COOKIE
    } else {
        HOST_COOKIE
    };
    components.add_security_scheme(
        ADMIN_SESSION,
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            cookie.to_string(),
            format!(
                "The HttpOnly session cookie `POST /api/admin/login` sets (`{cookie}` on this \
                 shop; a shop served over https names it `{HOST_COOKIE}`, over plain http \
                 `{COOKIE}`; this one is not `{other}`). State-changing calls also send the \
                 session's CSRF token in `X-CSRF-Token`."
            ),
        ))),
    );
    for (_, item) in doc.paths.paths.iter_mut() {
        for (method, op) in [
            (HttpMethod::Get, &mut item.get),
            (HttpMethod::Post, &mut item.post),
            (HttpMethod::Put, &mut item.put),
            (HttpMethod::Patch, &mut item.patch),
            (HttpMethod::Delete, &mut item.delete),
        ] {
            if let Some(op) = op {
                conventions(method, op);
            }
        }
    }
    doc
}

/// Whether `op` requires the security scheme `name`.
fn requires(op: &Operation, name: &str) -> bool {
    op.security.iter().flatten().any(|s| {
        serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_object().map(|o| o.contains_key(name)))
            .unwrap_or(false)
    })
}

fn error_answer(description: &str) -> ApiResponse {
    let mut r = ApiResponse::new(description);
    r.content.insert(
        "application/json".into(),
        Content::new(Some(Ref::from_schema_name("ErrorEnvelope"))),
    );
    r
}

/// Adds what every route of its kind answers (see the module docs).
fn conventions(method: HttpMethod, op: &mut Operation) {
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_body = op.request_body.is_some();
    let customer = requires(op, INIT_DATA);
    let admin = requires(op, ADMIN_SESSION);
    let changes = !matches!(method, HttpMethod::Get);
    let mut extra: Vec<(&str, &str)> = vec![];
    if has_params || has_body {
        extra.push((
            "400",
            "The request is wrong in a way the caller can fix: a bad parameter or body \
             (`error.field` names it when it is about one field).",
        ));
    }
    if has_body {
        extra.push((
            "413",
            "The body is larger than the route accepts (1 MiB for JSON).",
        ));
        extra.push((
            "415",
            "The body is not of the content type the route takes (JSON: `application/json`).",
        ));
        // Money anywhere in a body is checked against the closed currency list, and a code
        // outside it is 422 (`invalid_currency`) on every route, whatever else it answers.
        extra.push((
            "422",
            "A value the shop does not accept although it is well-formed, such as a currency              code outside the list it takes (`invalid_currency`, `error.field` names it).",
        ));
    }
    if customer {
        extra.push((
            "401",
            "No initData, or initData that is invalid, tampered with or expired \
             (`Authorization: tma <initData>`).",
        ));
    }
    if admin {
        extra.push((
            "401",
            "Not signed in to the admin, or the session has ended: sign in again.",
        ));
        if changes {
            extra.push((
                "403",
                "`csrf_failed`: missing or wrong `X-CSRF-Token` (the token is the session's own); \
                 `owner_only`: the call needs an owner.",
            ));
        }
    }
    extra.push((
        "500",
        "`internal_error`: something failed on the shop's side; details are in its log, never \
         in the answer.",
    ));
    for (code, description) in extra {
        op.responses
            .responses
            .entry(code.to_string())
            .or_insert_with(|| RefOr::T(error_answer(description)));
    }
    let mut limited = error_answer(
        "`rate_limited` (or another limit's code): too many requests; try again after \
         `Retry-After` seconds.",
    );
    let mut retry_after = Header::new(
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1)),
    );
    retry_after.description = Some("Seconds until the budget refills.".into());
    limited.headers.insert("Retry-After".into(), retry_after);
    op.responses
        .responses
        .entry("429".into())
        .or_insert(RefOr::T(limited));
    // Every documented error answer is the envelope, also those a handler wrote by hand.
    for (code, answer) in op.responses.responses.iter_mut() {
        if let (true, RefOr::T(r)) = (code.starts_with('4') || code.starts_with('5'), answer) {
            if r.content.is_empty() {
                r.content.insert(
                    "application/json".into(),
                    Content::new(Some(Ref::from_schema_name("ErrorEnvelope"))),
                );
            }
        }
    }
    if admin && changes {
        let csrf = Parameter::builder()
            .name("X-CSRF-Token")
            .parameter_in(ParameterIn::Header)
            .required(Required::True)
            .description(Some(
                "The `csrf_token` of this session (from `POST /api/admin/login` or \
                 `GET /api/admin/me`).",
            ))
            .schema(Some(String::schema()))
            .build();
        op.parameters.get_or_insert_with(Vec::new).push(csrf);
    }
}

/// The JSON of [`document`] for each cookie name, built on first use.
fn json_for(cookie: &'static str) -> Bytes {
    static PLAIN: OnceLock<Bytes> = OnceLock::new();
    static HTTPS: OnceLock<Bytes> = OnceLock::new();
    let cell = if cookie == HOST_COOKIE {
        &HTTPS
    } else {
        &PLAIN
    };
    cell.get_or_init(|| {
        Bytes::from(
            document(cookie)
                .to_json()
                .expect("the OpenAPI document serialises"),
        )
    })
    .clone()
}

/// This document (OpenAPI 3.1, JSON).
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI document of every `/api` route.",
         content_type = "application/json", body = Object),
    )
)]
async fn openapi_json(State(config): State<Arc<Config>>) -> Response {
    let body = json_for(crate::admin::auth::cookie_name(&config));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        body,
    )
        .into_response()
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(openapi_json))
}

/// A `multipart/form-data` body with one file in the field `file` (image upload, CSV import).
/// Only documents the form: the handlers read it with axum's `Multipart`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct FileUpload {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}
