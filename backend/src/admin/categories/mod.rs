//! Categories: create, rename per language, reorder, delete. The SQL is in `repo`.

pub mod repo;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, put};
use axum::Router;
use shared::admin::{CategoryOrder, CategoryPatch, NewCategory};
use shared::{Category, Page};

use super::auth::{record_audit, Admin};
use super::validate::{slugify, texts_required};
use crate::admin::CatalogAdmin;
use crate::db;
use crate::error::{AppJson, AppPath, Error, Result};
use crate::state::AppState;
use sqlx::AnyConnection;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/categories", get(list).post(create))
        .route(
            "/api/admin/categories/{id}",
            patch(update).delete(remove).get(one),
        )
        .route("/api/admin/categories/order", put(reorder))
}

/// Reads through `conn`, so inside a change's transaction it sees that change.
async fn fetch(conn: &mut AnyConnection, st: &CatalogAdmin, id: i64) -> Result<Category> {
    let row = repo::by_id(conn, id)
        .await?
        .ok_or_else(|| Error::not_found("category"))?;
    Ok(row.to_category(st.config.default_lang, &st.config.lang_fallback, true))
}

async fn list_all(conn: &mut AnyConnection, st: &CatalogAdmin) -> Result<Vec<Category>> {
    let rows = repo::all(conn).await?;
    Ok(rows
        .iter()
        .map(|r| r.to_category(st.config.default_lang, &st.config.lang_fallback, true))
        .collect())
}

/// Every category with its full texts.
#[utoipa::path(get, path = "/api/admin/categories", tag = "admin", security(("admin_session" = [])),
    responses((status = 200, description = "The categories (one page).", body = Page<Category>)))]
async fn list(State(st): State<CatalogAdmin>, _admin: Admin) -> Result<AppJson<Page<Category>>> {
    Ok(AppJson(Page {
        items: list_all(&mut *st.db.pool.acquire().await?, &st).await?,
        next_cursor: None,
    }))
}

#[utoipa::path(get, path = "/api/admin/categories/{id}", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The category's id.")),
    responses((status = 200, description = "The category with its texts.", body = Category), (status = 404, description = "No such category.")))]
async fn one(
    State(st): State<CatalogAdmin>,
    _admin: Admin,
    AppPath(id): AppPath<i64>,
) -> Result<AppJson<Category>> {
    Ok(AppJson(
        fetch(&mut *st.db.pool.acquire().await?, &st, id).await?,
    ))
}

fn slug_taken(slug: &str) -> Error {
    Error::field(
        "slug_taken",
        "slug",
        format!("A category with slug '{slug}' exists already."),
    )
}

#[utoipa::path(post, path = "/api/admin/categories", tag = "admin", security(("admin_session" = [])),
    request_body = NewCategory,
    responses((status = 201, description = "The new category.", body = Category)))]
async fn create(
    State(st): State<CatalogAdmin>,
    admin: Admin,
    AppJson(mut req): AppJson<NewCategory>,
) -> Result<Response> {
    req.title = req.title.cleaned();
    texts_required(&req.title, "title", 100)?;
    let slug = match req.slug.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => slugify(s),
        None => slugify(
            req.title
                .pick(shared::Lang::En, &shared::Lang::ALL)
                .unwrap_or("category"),
        ),
    };
    if slug.is_empty() {
        return Err(Error::field(
            "invalid_slug",
            "slug",
            "Use letters, digits and dashes for the slug.",
        ));
    }
    let mut tx = st.db.begin_write().await?;
    let position = match req.position {
        Some(p) => p,
        None => repo::next_position(tx.conn()).await?,
    };
    let title_json = serde_json::to_string(&req.title).map_err(Error::internal)?;
    let id = repo::insert(tx.conn(), &slug, &title_json, position, db::now())
        .await
        .map_err(|e| Error::from(e).on_unique("categories.slug", || slug_taken(&slug)))?;
    let c = fetch(tx.conn(), &st, id).await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        "create",
        "category",
        Some(id),
        None,
        Some(&serde_json::to_value(&c).map_err(Error::internal)?),
    )
    .await?;
    tx.commit().await?;
    st.catalog_changed();
    Ok((StatusCode::CREATED, AppJson(c)).into_response())
}

/// Changes what is sent; the rest stays.
#[utoipa::path(patch, path = "/api/admin/categories/{id}", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The category's id.")),
    request_body = CategoryPatch,
    responses((status = 200, description = "The category as saved.", body = Category), (status = 404, description = "No such category.")))]
async fn update(
    State(st): State<CatalogAdmin>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
    AppJson(req): AppJson<CategoryPatch>,
) -> Result<AppJson<Category>> {
    let mut tx = st.db.begin_write().await?;
    let before = fetch(tx.conn(), &st, id).await?;
    let mut texts = before.texts.clone().unwrap_or_default();
    if let Some(t) = &req.title {
        // A patch names only the languages it changes; an empty string removes one.
        for l in shared::Lang::ALL {
            if let Some(v) = t.get_raw(l) {
                texts.set(l, v);
            }
        }
        texts_required(&texts, "title", 100)?;
    }
    let slug = match req.slug.as_deref() {
        Some(s) => {
            let s = slugify(s);
            if s.is_empty() {
                return Err(Error::field(
                    "invalid_slug",
                    "slug",
                    "Use letters, digits and dashes for the slug.",
                ));
            }
            s
        }
        None => before.slug.clone(),
    };
    let title_json = serde_json::to_string(&texts).map_err(Error::internal)?;
    let position = req.position.unwrap_or(before.position);
    repo::update(tx.conn(), id, &slug, &title_json, position, db::now())
        .await
        .map_err(|e| Error::from(e).on_unique("categories.slug", || slug_taken(&slug)))?;
    let after = fetch(tx.conn(), &st, id).await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        "update",
        "category",
        Some(id),
        Some(&serde_json::to_value(&before).map_err(Error::internal)?),
        Some(&serde_json::to_value(&after).map_err(Error::internal)?),
    )
    .await?;
    tx.commit().await?;
    st.catalog_changed();
    Ok(AppJson(after))
}

/// Puts the categories in the order given (`{"ids": [...]}`, every category exactly once):
/// one transaction, so a shop never shows a half-moved list and two categories never end
/// up sharing a position (patching positions one by one could do both).
#[utoipa::path(put, path = "/api/admin/categories/order", tag = "admin", security(("admin_session" = [])),
    request_body = CategoryOrder,
    responses((status = 200, description = "The categories in their new order.", body = Page<Category>)))]
async fn reorder(
    State(st): State<CatalogAdmin>,
    admin: Admin,
    AppJson(req): AppJson<CategoryOrder>,
) -> Result<AppJson<Page<Category>>> {
    let mut tx = st.db.begin_write().await?;
    let before = list_all(tx.conn(), &st).await?;
    // Checked inside the write transaction: a category added meanwhile is not left out.
    let mut known = repo::ids(tx.conn()).await?;
    let mut given = req.ids.clone();
    known.sort_unstable();
    given.sort_unstable();
    if known != given {
        return Err(Error::field(
            "invalid_order",
            "ids",
            "List every category exactly once, in the new order (reload the page: the categories may have changed).",
        ));
    }
    let now = db::now();
    for (position, id) in req.ids.iter().enumerate() {
        repo::set_position(tx.conn(), *id, position as i64, now).await?;
    }
    let after = list_all(tx.conn(), &st).await?;
    let ids = |v: &[Category]| serde_json::json!(v.iter().map(|c| c.id).collect::<Vec<_>>());
    record_audit(
        tx.conn(),
        &admin.actor(),
        "reorder",
        "category",
        None,
        Some(&ids(&before)),
        Some(&ids(&after)),
    )
    .await?;
    tx.commit().await?;
    st.catalog_changed();
    Ok(AppJson(Page {
        items: after,
        next_cursor: None,
    }))
}

/// Deletes a category; its products stay, without a category.
#[utoipa::path(delete, path = "/api/admin/categories/{id}", tag = "admin", security(("admin_session" = [])),
    params(("id" = i64, Path, minimum = 1, example = 1, description = "The category's id.")),
    responses((status = 204, description = "Deleted."), (status = 404, description = "No such category.")))]
async fn remove(
    State(st): State<CatalogAdmin>,
    admin: Admin,
    AppPath(id): AppPath<i64>,
) -> Result<StatusCode> {
    let mut tx = st.db.begin_write().await?;
    let before = fetch(tx.conn(), &st, id).await?;
    repo::delete(tx.conn(), id).await?;
    record_audit(
        tx.conn(),
        &admin.actor(),
        "delete",
        "category",
        Some(id),
        Some(&serde_json::to_value(&before).map_err(Error::internal)?),
        None,
    )
    .await?;
    tx.commit().await?;
    st.catalog_changed();
    Ok(StatusCode::NO_CONTENT)
}
