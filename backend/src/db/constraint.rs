//! One reading of "a unique constraint refused this write" for both databases, so a handler
//! turns a duplicate into a 4xx naming the field in one line (`Error::on_unique`) instead of
//! matching driver errors by hand.
//!
//! The constraint is named by what it covers, `table.column` (`variants.sku`), because the two
//! databases name it differently: SQLite reports `UNIQUE constraint failed: variants.sku`,
//! PostgreSQL reports the constraint `variants_sku_key` with the detail
//! `Key (sku)=(TEA-1) already exists.`

/// A unique (or primary key) constraint that refused a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueViolation {
    /// The table written to; empty when the database did not say (an expression index).
    pub table: String,
    /// The constrained columns, in the constraint's order.
    pub columns: Vec<String>,
}

impl UniqueViolation {
    /// Whether this is the constraint on `key`: `"table.column"`, or `"table.a,b"` for one
    /// over several columns.
    pub fn is(&self, key: &str) -> bool {
        let Some((table, cols)) = key.split_once('.') else {
            return false;
        };
        table == self.table
            && cols
                .split(',')
                .map(str::trim)
                .eq(self.columns.iter().map(String::as_str))
    }
}

/// The unique constraint `e` reports, or `None` when `e` is anything else.
pub fn unique_violation(e: &sqlx::Error) -> Option<UniqueViolation> {
    let sqlx::Error::Database(db) = e else {
        return None;
    };
    if !db.is_unique_violation() {
        return None;
    }
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        let table = pg.table().unwrap_or_default().to_string();
        let columns = pg
            .detail()
            .and_then(detail_columns)
            .or_else(|| constraint_columns(&table, pg.constraint()?))
            .unwrap_or_default();
        return Some(UniqueViolation { table, columns });
    }
    Some(sqlite_message(db.message()))
}

/// PostgreSQL's detail: `Key (a, b)=(1, 2) already exists.`
fn detail_columns(detail: &str) -> Option<Vec<String>> {
    let rest = detail.strip_prefix("Key (")?;
    let cols = &rest[..rest.find(")=(")?];
    Some(
        cols.split(',')
            .map(|c| c.trim().trim_matches('"').to_string())
            .collect(),
    )
}

/// PostgreSQL's default constraint name, `<table>_<column>_key`, when no detail came with it.
fn constraint_columns(table: &str, constraint: &str) -> Option<Vec<String>> {
    let col = constraint
        .strip_prefix(table)?
        .strip_prefix('_')?
        .strip_suffix("_key")?;
    Some(vec![col.to_string()])
}

/// SQLite's message: `UNIQUE constraint failed: t.a, t.b` (or `… failed: index 'name'` for an
/// expression index, which names no columns).
fn sqlite_message(message: &str) -> UniqueViolation {
    let list = message.rsplit_once("failed: ").map_or("", |(_, l)| l);
    let mut table = String::new();
    let mut columns = vec![];
    for part in list.split(',').map(str::trim) {
        if let Some((t, c)) = part.split_once('.') {
            table = t.to_string();
            columns.push(c.to_string());
        }
    }
    UniqueViolation { table, columns }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_databases_wording() {
        let s = sqlite_message("UNIQUE constraint failed: variants.sku");
        assert!(s.is("variants.sku"));
        assert!(!s.is("variants.id"));
        let s = sqlite_message("UNIQUE constraint failed: carts.customer_id, carts.variant_id");
        assert!(s.is("carts.customer_id,variant_id"));
        assert!(!sqlite_message("UNIQUE constraint failed: index 'x'").is("x.y"));
        assert_eq!(
            detail_columns("Key (customer_id, variant_id)=(1, 2) already exists."),
            Some(vec!["customer_id".into(), "variant_id".into()])
        );
        assert_eq!(
            constraint_columns("admins", "admins_email_key"),
            Some(vec!["email".into()])
        );
        assert_eq!(constraint_columns("admins", "other_email_key"), None);
    }
}
