//! SQL assembled piece by piece (list filters), with every value bound, never spliced in.
//!
//! This is `sqlx::QueryBuilder`'s shape (`push` text, `push_bind` a value, `build`), written
//! by hand for one reason: `QueryBuilder<Any>` numbers nothing and writes `?` for every bind
//! whatever the database behind the `Any` connection (sqlx issue #3000), and PostgreSQL
//! refuses `?`. This builder writes `$1, $2, …`, which both of our databases accept.

use std::fmt::Write;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Arguments, Encode, FromRow, Type};

/// A statement under construction and the values bound to its placeholders, in order.
pub struct SqlBuilder {
    sql: String,
    args: AnyArguments<'static>,
}

impl SqlBuilder {
    pub fn new(init: impl Into<String>) -> Self {
        SqlBuilder {
            sql: init.into(),
            args: AnyArguments::default(),
        }
    }

    /// Appends SQL text. Only fixed fragments belong here; values go through `push_bind`.
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends the next placeholder (`$n`) and binds `value` to it.
    pub fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'static + Encode<'static, Any> + Type<Any>,
    {
        // Encoding into the `Any` buffer only fails for types `Any` cannot carry, which the
        // bound `Encode<Any>` already rules out.
        self.args
            .add(value)
            .expect("Any encodes every Encode<Any> type");
        write!(self.sql, "${}", self.args.len()).expect("writing to a String");
        self
    }

    /// `$a, $b, …` bound to `values`, for an `IN (…)` list.
    pub fn push_bind_list<T, I>(&mut self, values: I) -> &mut Self
    where
        I: IntoIterator<Item = T>,
        T: 'static + Encode<'static, Any> + Type<Any>,
    {
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.push_bind(v);
        }
        self
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The statement, for `execute`.
    pub fn build(&mut self) -> sqlx::query::Query<'_, Any, AnyArguments<'_>> {
        sqlx::query_with(&self.sql, std::mem::take(&mut self.args))
    }

    /// The statement, decoding each row as `T`.
    pub fn build_query_as<T>(&mut self) -> sqlx::query::QueryAs<'_, Any, T, AnyArguments<'_>>
    where
        T: for<'r> FromRow<'r, AnyRow>,
    {
        sqlx::query_as_with(&self.sql, std::mem::take(&mut self.args))
    }

    /// The statement, decoding the first column of each row as `T`.
    pub fn build_query_scalar<T>(
        &mut self,
    ) -> sqlx::query::QueryScalar<'_, Any, T, AnyArguments<'_>>
    where
        (T,): for<'r> FromRow<'r, AnyRow>,
    {
        sqlx::query_scalar_with(&self.sql, std::mem::take(&mut self.args))
    }
}

/// `$first, $first+1, …` (`n` of them), for an `IN (…)` list after fixed placeholders.
pub fn placeholder_list(first: usize, n: usize) -> String {
    let mut out = String::new();
    for i in first..first + n {
        if i > first {
            out.push_str(", ");
        }
        write!(out, "${i}").expect("writing to a String");
    }
    out
}

/// `($a::T, $b::T, …), (…)`: `rows` tuples of numbered placeholders, the first one `$first`,
/// each placeholder followed by its cast in `casts` (`""` for none), for a `VALUES` list whose
/// other placeholders are fixed (a statement that names `$1` several times, which
/// [`SqlBuilder`]'s one-number-per-bind cannot write). Only numbers and the given casts are
/// spliced in.
pub fn placeholder_rows(first: usize, rows: usize, casts: &[&str]) -> String {
    let mut out = String::new();
    let mut n = first;
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for (c, cast) in casts.iter().enumerate() {
            if c > 0 {
                out.push_str(", ");
            }
            write!(out, "${n}{cast}").expect("writing to a String");
            n += 1;
        }
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_rows_number_on_from_the_first() {
        assert_eq!(
            placeholder_rows(16, 2, &["::BIGINT", ""]),
            "($16::BIGINT, $17), ($18::BIGINT, $19)"
        );
        assert_eq!(placeholder_rows(3, 1, &[""]), "($3)");
        assert_eq!(placeholder_list(7, 3), "$7, $8, $9");
    }

    #[test]
    fn placeholders_are_numbered_in_bind_order() {
        let mut b = SqlBuilder::new("SELECT id FROM products WHERE id > ");
        b.push_bind(5i64)
            .push(" AND kind = ")
            .push_bind("digital".to_string());
        b.push(" AND category_id IN (")
            .push_bind_list([1i64, 2])
            .push(")");
        assert_eq!(
            b.sql(),
            "SELECT id FROM products WHERE id > $1 AND kind = $2 AND category_id IN ($3, $4)"
        );
    }
}
