//! The shape of the code, checked by reading it (no database, no server):
//!
//! - only the order lifecycle (`src/orders/lifecycle/`) writes `orders.status`, and only the
//!   place path (`src/orders/place.rs`) inserts orders (with their first status);
//! - no module cycle between `payments`, `orders` and `telegram`: `telegram` is a leaf (it
//!   imports neither of the others, nor `state`), and `orders` does not import `payments`;
//! - no SQL is built with `format!` outside `src/db/` (statements are fixed strings, with
//!   `concat!` for shared column lists, or `db::SqlBuilder`, which binds every value), except
//!   in the files still listed in `FORMAT_SQL_NOT_YET`, a list that only shrinks.
//!
//! Each check is a function over file texts, and the `*_catches_*` tests feed it a planted
//! violation, so a check that stopped finding anything would fail here too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where the status writes may live, relative to `src/`.
const LIFECYCLE: &str = "orders/lifecycle/";
/// The one file that inserts orders.
const PLACE_PATH: &str = "orders/place.rs";
/// Where SQL may be assembled from pieces (`db::SqlBuilder`), relative to `src/`.
const DB_DIR: &str = "db/";
/// Files that still build SQL with `format!` (a column list or `IN (…)` placeholders spliced
/// in), relative to `src/`. Move each to fixed statements or `db::SqlBuilder` and take it off
/// the list: a file listed here that builds none fails the check too, so the list only
/// shrinks, and every file not listed is held to the rule.
const FORMAT_SQL_NOT_YET: &[&str] = &[
    "admin/auth.rs",
    "admin/orders.rs",
    "admin/promo_codes.rs",
    "orders/lifecycle/mod.rs",
    "orders/lifecycle/paid.rs",
    "orders/mod.rs",
    "payments/ton/admin.rs",
    "promo.rs",
];

/// Every `.rs` file under `src/`, as (path relative to `src/` with `/`, text).
fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = vec![];
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path: PathBuf = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(&root)
                    .expect("under src")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read_to_string(&path).expect("read file")));
            }
        }
    }
    out.sort();
    assert!(out.len() > 20, "found only {} source files", out.len());
    out
}

/// The code of a file without its comment lines (doc links name modules without using them).
fn code(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// SQL as one lowercase line: string continuations (`\` at a line's end) joined, every run of
/// whitespace one space, so no spelling or line break hides a statement.
fn flat_sql(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'\n') {
            continue;
        }
        s.push(c);
    }
    s.to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The string literals `format!` is called with in `text` (comment lines left out), each as
/// flat lowercase SQL (see [`flat_sql`]): `"…"`, `r"…"` and `r#"…"#`.
fn format_strings(text: &str) -> Vec<String> {
    let code = code(text);
    let mut out = vec![];
    for (i, _) in code.match_indices("format!(") {
        let rest = code[i + "format!(".len()..].trim_start();
        let lit = if let Some(raw) = rest.strip_prefix("r#\"") {
            raw.split("\"#").next()
        } else if let Some(raw) = rest.strip_prefix("r\"") {
            raw.split('"').next()
        } else if let Some(plain) = rest.strip_prefix('"') {
            // Up to the first quote that is not escaped.
            let mut end = None;
            let mut escaped = false;
            for (j, c) in plain.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => {
                        end = Some(j);
                        break;
                    }
                    _ => escaped = false,
                }
            }
            end.map(|e| &plain[..e])
        } else {
            None // `format!(some_const, …)` has no literal to read
        };
        if let Some(lit) = lit {
            out.push(flat_sql(lit));
        }
    }
    out
}

/// Whether a flat lowercase string is (a piece of) an SQL statement: `SELECT … FROM`,
/// `INSERT INTO`, `UPDATE … SET`, `DELETE FROM`. Prose such as "must be from 1 to 10" is not.
fn is_sql(s: &str) -> bool {
    let after = |a: &str, b: &str| s.find(a).is_some_and(|i| s[i + a.len()..].contains(b));
    after("select ", " from ")
        || s.contains("insert into ")
        || after("update ", " set ")
        || s.contains("delete from ")
}

/// Files that build SQL with `format!` though not allowed to, and files listed in
/// `FORMAT_SQL_NOT_YET` that no longer do (to be taken off the list).
fn format_sql_violations(files: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let mut bad = vec![];
    let mut clean_but_listed = vec![];
    for (path, text) in files {
        if path.starts_with(DB_DIR) || path == "db.rs" {
            continue;
        }
        let built: Vec<String> = format_strings(text)
            .into_iter()
            .filter(|s| is_sql(s))
            .collect();
        let listed = FORMAT_SQL_NOT_YET.contains(&path.as_str());
        if listed && built.is_empty() {
            clean_but_listed.push(path.clone());
        }
        if !listed {
            bad.extend(
                built
                    .iter()
                    .map(|s| format!("{path}: {}", s.chars().take(100).collect::<String>())),
            );
        }
    }
    (bad, clean_but_listed)
}

/// Whether `set` (the text after `SET`) assigns `status`: `status =` not inside a longer name.
fn assigns_status(set: &str) -> bool {
    let mut from = 0;
    while let Some(i) = set[from..].find("status") {
        let at = from + i;
        let before = set[..at].chars().next_back();
        let after = set[at + "status".len()..].trim_start();
        let word_start = !before.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if word_start && after.starts_with('=') && !after.starts_with("==") {
            return true;
        }
        from = at + 1;
    }
    false
}

/// The statements in `text` that write `orders.status` or insert an order.
fn status_writes(text: &str) -> (Vec<String>, Vec<String>) {
    let sql = flat_sql(&code(text));
    let mut updates = vec![];
    let mut from = 0;
    while let Some(i) = sql[from..].find("update orders ") {
        let at = from + i;
        let rest = &sql[at..];
        // The statement ends at its string's end; the SET list at WHERE.
        let stmt = rest.split('"').next().unwrap_or(rest);
        if let Some(set_at) = stmt.find(" set ") {
            let set = &stmt[set_at + 5..];
            let set = set.split(" where ").next().unwrap_or(set);
            if assigns_status(set) {
                updates.push(stmt.chars().take(120).collect());
            }
        }
        from = at + 1;
    }
    let inserts = sql
        .match_indices("insert into orders")
        .filter(|(i, _)| {
            let after = sql[i + "insert into orders".len()..].trim_start();
            after.starts_with('(') || after.starts_with("select") || after.starts_with("values")
        })
        .map(|(i, _)| sql[i..].chars().take(120).collect())
        .collect();
    (updates, inserts)
}

/// Files other than the lifecycle that write `orders.status`, with what they write.
fn status_writers(files: &[(String, String)]) -> Vec<String> {
    let mut bad = vec![];
    for (path, text) in files {
        let (updates, inserts) = status_writes(text);
        if !path.starts_with(LIFECYCLE) {
            bad.extend(updates.into_iter().map(|s| format!("{path}: {s}")));
        }
        if path != PLACE_PATH {
            bad.extend(inserts.into_iter().map(|s| format!("{path}: {s}")));
        }
    }
    bad
}

/// The top-level modules (`crate::X`) a file names in code.
fn crate_imports(text: &str) -> BTreeSet<String> {
    let code = code(text);
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let prev = code[..i].chars().next_back();
        if prev.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `$crate::` or a longer path segment ending in "crate"
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::b, c};`: the first segment of each top-level item.
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        item_start = true;
                        continue;
                    }
                    c if c.is_whitespace() => continue,
                    _ => {}
                }
                if item_start && depth == 0 {
                    let name = ident(&group[j..]);
                    if !name.is_empty() {
                        out.insert(name);
                    }
                    item_start = false;
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// Edges between the three modules, and what else each imports that it must not.
fn module_violations(files: &[(String, String)]) -> Vec<String> {
    const MODS: [&str; 3] = ["payments", "orders", "telegram"];
    /// What each of the three must never import (besides completing a cycle).
    const FORBIDDEN: [(&str, &[&str]); 2] = [
        ("telegram", &["payments", "orders", "state"]),
        ("orders", &["payments", "telegram"]),
    ];
    let mut edges: BTreeMap<&str, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for (path, text) in files {
        let top = path.split(['/', '.']).next().unwrap_or_default();
        let Some(top) = MODS.iter().find(|m| **m == top) else {
            continue;
        };
        for m in crate_imports(text) {
            if m != *top {
                edges
                    .entry(top)
                    .or_default()
                    .entry(m)
                    .or_default()
                    .push(path.clone());
            }
        }
    }
    let mut bad = vec![];
    for (from, banned) in FORBIDDEN {
        for b in banned {
            if let Some(paths) = edges.get(from).and_then(|e| e.get(*b)) {
                bad.push(format!("{from} imports {b} (in {})", paths.join(", ")));
            }
        }
    }
    // Any cycle among the three, whatever the rules above say.
    for a in MODS {
        for b in MODS {
            let ab = edges.get(a).is_some_and(|e| e.contains_key(b));
            let reach_back = MODS.iter().any(|c| {
                edges.get(b).is_some_and(|e| e.contains_key(a))
                    || (edges.get(b).is_some_and(|e| e.contains_key(*c))
                        && edges.get(*c).is_some_and(|e| e.contains_key(a)))
            });
            if a < b && ab && reach_back {
                bad.push(format!("cycle between {a} and {b}"));
            }
        }
    }
    bad
}

#[test]
fn only_the_lifecycle_writes_order_status() {
    let bad = status_writers(&sources());
    assert!(
        bad.is_empty(),
        "orders.status is written outside the order lifecycle ({LIFECYCLE}); call it instead:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_lifecycle_does_write_order_status() {
    // The check above passing because it finds nothing at all would prove nothing.
    let files = sources();
    let found: usize = files
        .iter()
        .filter(|(p, _)| p.starts_with(LIFECYCLE))
        .map(|(_, t)| status_writes(t).0.len())
        .sum();
    assert!(
        found >= 2,
        "the lifecycle's status writes were not found ({found})"
    );
    let inserts = files
        .iter()
        .filter(|(p, _)| p == PLACE_PATH)
        .map(|(_, t)| status_writes(t).1.len())
        .sum::<usize>();
    assert!(inserts >= 1, "the place path's order insert was not found");
}

#[test]
fn status_check_catches_planted_writes() {
    let planted = [
        "sqlx::query(\"UPDATE orders SET status = 'paid' WHERE id = $1\")",
        "sqlx::query(\"update   Orders\n   SET paid_at = $1, \\\n   STATUS='x' WHERE id = $2\")",
        "let sql = format!(\"UPDATE orders SET updated_at = $1, status = $2 WHERE id = $3\");",
        "sqlx::query(\"INSERT INTO orders (customer_id, status) VALUES ($1, 'paid')\")",
    ];
    for p in planted {
        let files = vec![("payments/somewhere.rs".to_string(), p.to_string())];
        assert_eq!(status_writers(&files).len(), 1, "not caught: {p}");
    }
    let harmless = [
        "sqlx::query(\"UPDATE orders SET holds_stock = 0 WHERE id = $1 AND status = 'paid'\")",
        "sqlx::query(\"UPDATE payments SET status = 'refunded' WHERE id = $1\")",
        "sqlx::query(\"INSERT INTO order_items (order_id) VALUES ($1)\")",
        "// UPDATE orders SET status = 'paid' (a comment)",
    ];
    for h in harmless {
        let files = vec![("payments/somewhere.rs".to_string(), h.to_string())];
        assert!(status_writers(&files).is_empty(), "false alarm: {h}");
    }
    // The same write inside the lifecycle is its job.
    let files = vec![(format!("{LIFECYCLE}mod.rs"), planted[0].to_string())];
    assert!(status_writers(&files).is_empty());
}

#[test]
fn no_cycle_between_payments_orders_and_telegram() {
    let bad = module_violations(&sources());
    assert!(
        bad.is_empty(),
        "module dependencies point the wrong way (payments -> orders, payments -> telegram \
         only):\n{}",
        bad.join("\n")
    );
}

#[test]
fn module_check_catches_planted_imports() {
    let ok = vec![
        (
            "payments/mod.rs".to_string(),
            "use crate::orders::lifecycle;\nuse crate::telegram::Bot;".to_string(),
        ),
        (
            "orders/mod.rs".to_string(),
            "use crate::{db, rails::Provider};".to_string(),
        ),
        (
            "telegram/mod.rs".to_string(),
            "// see crate::payments for the rails\nuse crate::db;".to_string(),
        ),
    ];
    assert!(
        module_violations(&ok).is_empty(),
        "{:?}",
        module_violations(&ok)
    );
    let planted = [
        ("telegram/updates.rs", "use crate::payments::stars;"),
        (
            "telegram/updates.rs",
            "let x = crate::orders::repo::head(c, 1);",
        ),
        ("telegram/run.rs", "use crate::{db, state::AppState};"),
        (
            "orders/lifecycle/mod.rs",
            "use crate::{db,\n payments::FoundPayment};",
        ),
    ];
    for (path, text) in planted {
        let mut files = ok.clone();
        files.push((path.to_string(), text.to_string()));
        assert!(
            !module_violations(&files).is_empty(),
            "not caught: {path}: {text}"
        );
    }
}

#[test]
fn no_format_built_sql_outside_db() {
    let (bad, clean_but_listed) = format_sql_violations(&sources());
    assert!(
        bad.is_empty(),
        "SQL built with format!: use a fixed statement (concat! for a shared column list) or \
         db::SqlBuilder, which binds every value:\n{}",
        bad.join("\n")
    );
    assert!(
        clean_but_listed.is_empty(),
        "these files build no SQL with format! any more: take them off FORMAT_SQL_NOT_YET:\n{}",
        clean_but_listed.join("\n")
    );
}

#[test]
fn format_sql_check_catches_planted_statements() {
    let planted = [
        "let sql = format!(\"SELECT {COLS} FROM payme_transactions WHERE payme_id = $1\");",
        "sqlx::query(&format!(\n    \"UPDATE payme_transactions SET {column} = $1 \\\n     WHERE id = $2\"\n))",
        "let q = format!(\"insert into admins (email) values ($1) returning {}\", COLUMNS);",
        "let q = format!(r\"DELETE FROM orders WHERE id IN ({})\", list);",
        "let q = format!(r#\"select \"id\" from t where x = {x}\"#);",
        "q.push_str(&format!(\"SELECT id\\n FROM admins{lock}\"));",
    ];
    for p in planted {
        let files = vec![("payments/somewhere.rs".to_string(), p.to_string())];
        assert_eq!(format_sql_violations(&files).0.len(), 1, "not caught: {p}");
    }
    let harmless = [
        "const SQL: &str = concat!(\"SELECT \", cols!(), \" FROM subscriptions WHERE id = $1\");",
        "Error::field(\"qty\", format!(\"Quantity must be from 1 to {MAX_QTY}.\"))",
        "format!(\"Choose one from the list ({n} left)\")",
        "// let sql = format!(\"SELECT {COLS} FROM t\");",
        "let key = format!(\"categories|{}\", lang.code());",
        "format!(\"{} {}\", a, b)",
    ];
    for h in harmless {
        let files = vec![("payments/somewhere.rs".to_string(), h.to_string())];
        assert!(
            format_sql_violations(&files).0.is_empty(),
            "false alarm: {h}"
        );
    }
    // The same statement is allowed in db/, and in a file still on the list.
    let files = vec![("db/sql.rs".to_string(), planted[0].to_string())];
    assert_eq!(format_sql_violations(&files), (vec![], vec![]));
    let listed = FORMAT_SQL_NOT_YET[0].to_string();
    let files = vec![(listed.clone(), planted[0].to_string())];
    assert_eq!(format_sql_violations(&files), (vec![], vec![]));
    // A listed file that builds none must leave the list.
    let files = vec![(listed.clone(), harmless[0].to_string())];
    assert_eq!(format_sql_violations(&files), (vec![], vec![listed]));
}
