//! Every query behind the admin's category routes, so the handlers read as rules and this file
//! as SQL. Functions take the connection they run on: inside a write transaction they see
//! (and are part of) that change.

use sqlx::AnyConnection;

use crate::catalog::repo::CategoryRow;
use crate::error::Result;

/// The category, if there is one with this id.
pub async fn by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<CategoryRow>> {
    Ok(sqlx::query_as::<_, CategoryRow>(
        "SELECT id, slug, title_json, position FROM categories WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// Every category, in the shop's order.
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<CategoryRow>> {
    crate::catalog::repo::categories(conn).await
}

/// Every category's id, in no order.
pub async fn ids(conn: &mut AnyConnection) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar("SELECT id FROM categories")
        .fetch_all(conn)
        .await?)
}

/// The position after the last category's (0 for the first).
pub async fn next_position(conn: &mut AnyConnection) -> Result<i64> {
    Ok(
        sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(position) FROM categories")
            .fetch_one(conn)
            .await?
            .map_or(0, |p| p + 1),
    )
}

/// Inserts a category; answers its id. A taken slug is the unique violation on
/// `categories.slug`, left to the caller to name.
pub async fn insert(
    conn: &mut AnyConnection,
    slug: &str,
    title_json: &str,
    position: i64,
    now: i64,
) -> std::result::Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO categories (slug, title_json, position, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(slug)
    .bind(title_json)
    .bind(position)
    .bind(now)
    .fetch_one(conn)
    .await
}

/// Saves a category's texts, slug and position. A taken slug is left to the caller, as in
/// [`insert`].
pub async fn update(
    conn: &mut AnyConnection,
    id: i64,
    slug: &str,
    title_json: &str,
    position: i64,
    now: i64,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE categories SET title_json = $1, slug = $2, position = $3, updated_at = $4 \
         WHERE id = $5",
    )
    .bind(title_json)
    .bind(slug)
    .bind(position)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_position(
    conn: &mut AnyConnection,
    id: i64,
    position: i64,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE categories SET position = $1, updated_at = $2 WHERE id = $3")
        .bind(position)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a category; its products stay, without a category.
pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<()> {
    sqlx::query("UPDATE products SET category_id = NULL WHERE category_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM categories WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
