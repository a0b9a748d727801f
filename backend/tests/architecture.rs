//! The shape of the code, checked by reading it (no database, no server):
//!
//! - only the order lifecycle (`src/orders/lifecycle/`) writes `orders.status`, and only the
//!   place path (`src/orders/place.rs`) inserts orders (with their first status);
//! - no module cycle between `payments`, `orders` and `telegram`: `telegram` is a leaf (it
//!   imports neither of the others, nor `state`), and `orders` does not import `payments`;
//! - no SQL is built with `format!` outside `src/db/` (statements are fixed strings, with
//!   `concat!` for shared column lists, or `db::SqlBuilder`, which binds every value);
//! - a handler takes the narrow state it needs (`State<Db>`, its feature's small state, each
//!   with `FromRef<AppState>`), not `State<AppState>`, except in the files listed in
//!   `WHOLE_STATE`, each with the reason it needs everything, a list that only shrinks.
//!
//! Each check is a function over file texts, and the `*_catches_*` tests feed it a planted
//! violation, so a check that stopped finding anything would fail here too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where the status writes may live, relative to `src/`.
const LIFECYCLE: &str = "orders/lifecycle/";
/// The one module that inserts orders (`orders/place.rs` and its submodules, under
/// `orders/place/`).
const PLACE_PATH: &str = "orders/place.rs";

fn in_place_module(path: &str) -> bool {
    path == PLACE_PATH || path.starts_with("orders/place/")
}
/// Where SQL may be assembled from pieces (`db::SqlBuilder`), relative to `src/`.
const DB_DIR: &str = "db/";

/// Files whose handlers still take `State<AppState>`, relative to `src/`, each with why. All
/// of them reach the order lifecycle or a payment rail, whose `Shop` is the whole running shop
/// (the database, the catalog version, the notifier, and the rails for an unpaid order's
/// ending). A listed file that no longer takes it fails the check too, so the list only
/// shrinks.
const WHOLE_STATE: &[(&str, &str)] = &[
    (
        "admin/orders.rs",
        "ships, delivers, cancels and refunds through the order lifecycle",
    ),
    (
        "orders/mod.rs",
        "places orders: rails, checkout, stock and notices",
    ),
    (
        "payments/click/webhook.rs",
        "fulfils paid orders through the lifecycle",
    ),
    (
        "payments/cryptopay/webhook.rs",
        "fulfils paid orders through the lifecycle",
    ),
    (
        "payments/payme/rpc.rs",
        "fulfils and cancels orders through the lifecycle",
    ),
    (
        "payments/paypal/routes.rs",
        "captures and refunds through the lifecycle",
    ),
    (
        "payments/stripe/webhook.rs",
        "fulfils, renews and refunds through the lifecycle",
    ),
    (
        "payments/ton/admin.rs",
        "credits a matched transfer through the lifecycle",
    ),
    (
        "payments/yookassa/webhook.rs",
        "fulfils and refunds through the lifecycle",
    ),
    (
        "subscriptions/routes.rs",
        "a renewal change reaches the subscription's rail",
    ),
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

/// Whether a file may assemble SQL from pieces: `src/db/` and `src/db.rs` only.
fn may_build_sql(path: &str) -> bool {
    path.starts_with(DB_DIR) || path == "db.rs"
}

/// The SQL that files outside `src/db/` build with `format!`, each as `path: statement`.
fn format_sql_violations(files: &[(String, String)]) -> Vec<String> {
    let mut bad = vec![];
    for (path, text) in files {
        if may_build_sql(path) {
            continue;
        }
        bad.extend(
            format_strings(text)
                .into_iter()
                .filter(|s| is_sql(s))
                .map(|s| format!("{path}: {}", s.chars().take(100).collect::<String>())),
        );
    }
    bad
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
        if !in_place_module(path) {
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

/// How many times a file's code takes `State<AppState>` (spelled with any path, any spacing).
fn whole_state_takers(text: &str) -> usize {
    let squashed: String = code(text).chars().filter(|c| !c.is_whitespace()).collect();
    squashed
        .match_indices("State<")
        .filter(|(i, _)| {
            // `BotState<…>` and the like are other types.
            let before = squashed[..*i].chars().next_back();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
        .filter(|(i, m)| {
            let inner = &squashed[i + m.len()..];
            let ty = &inner[..inner.find(['>', ',']).unwrap_or(inner.len())];
            ty.rsplit("::").next() == Some("AppState")
        })
        .count()
}

/// Files taking `State<AppState>` that are not in `WHOLE_STATE`, and listed files that no
/// longer take it.
fn whole_state_violations(files: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let mut bad = vec![];
    let mut taking = BTreeSet::new();
    for (path, text) in files {
        let n = whole_state_takers(text);
        if n == 0 {
            continue;
        }
        taking.insert(path.as_str());
        if !WHOLE_STATE.iter().any(|(p, _)| p == path) {
            bad.push(format!("{path}: {n} handler(s) take State<AppState>"));
        }
    }
    let stale = WHOLE_STATE
        .iter()
        .filter(|(p, _)| !taking.contains(p) && files.iter().any(|(f, _)| f == p))
        .map(|(p, _)| p.to_string())
        .collect();
    (bad, stale)
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
        .filter(|(p, _)| in_place_module(p))
        .map(|(_, t)| status_writes(t).1.len())
        .sum::<usize>();
    // One order's statement and a whole group's (`orders/place/batch.rs`).
    assert!(
        inserts >= 2,
        "the place path's order inserts were not found ({inserts})"
    );
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
    let bad = format_sql_violations(&sources());
    assert!(
        bad.is_empty(),
        "SQL built with format!: use a fixed statement (concat! for a shared column list) or \
         db::SqlBuilder, which binds every value:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_format_check_reads_the_sources_format_calls() {
    // The check above passing because it reads no `format!` at all would prove nothing: the
    // sources make hundreds (messages, keys, URLs), and it must see them, outside `src/db/`.
    let read: usize = sources()
        .iter()
        .filter(|(p, _)| !may_build_sql(p))
        .map(|(_, t)| format_strings(t).len())
        .sum();
    assert!(
        read >= 100,
        "only {read} format! strings read in the sources"
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
        assert_eq!(format_sql_violations(&files).len(), 1, "not caught: {p}");
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
        assert!(format_sql_violations(&files).is_empty(), "false alarm: {h}");
    }
    // The same statement is allowed in db/ and db.rs, and nowhere else, whatever the path
    // shares with theirs; every file is held to the rule, none is let off.
    for allowed in ["db/sql.rs", "db/constraint.rs", "db.rs"] {
        let files = vec![(allowed.to_string(), planted[0].to_string())];
        assert!(format_sql_violations(&files).is_empty(), "{allowed}");
    }
    for held in ["orders/place.rs", "admin/db.rs", "dbx.rs", "orders/db/x.rs"] {
        let files = vec![(held.to_string(), planted[0].to_string())];
        assert_eq!(format_sql_violations(&files).len(), 1, "let off: {held}");
    }
}

#[test]
fn handlers_take_narrow_state() {
    let (bad, stale) = whole_state_violations(&sources());
    assert!(
        bad.is_empty(),
        "take the part the handler needs (State<Db>, State<Arc<Config>>) or its feature's state \
         (with FromRef<AppState>), not State<AppState>:\n{}",
        bad.join("\n")
    );
    assert!(
        stale.is_empty(),
        "these files take State<AppState> no more: take them off WHOLE_STATE:\n{}",
        stale.join("\n")
    );
}

#[test]
fn whole_state_check_catches_planted_handlers() {
    let planted = [
        "async fn list(State(st): State<AppState>, _admin: Admin) -> Result<()> {",
        "async fn list(\n    State(st): State<\n        crate::state::AppState,\n    >,\n) {}",
        "async fn h(State(st): State<state::AppState>) {}",
    ];
    for p in planted {
        let files = vec![("catalog/mod.rs".to_string(), p.to_string())];
        assert_eq!(whole_state_violations(&files).0.len(), 1, "not caught: {p}");
    }
    let harmless = [
        "async fn list(State(db): State<Db>, _admin: Admin) -> Result<()> {",
        "async fn webhook(State(st): State<BotState>, body: Bytes) {}",
        "pub fn router() -> Router<AppState> {",
        "impl FromRef<AppState> for CatalogState {",
        "// async fn list(State(st): State<AppState>) {}",
    ];
    for h in harmless {
        let files = vec![("catalog/mod.rs".to_string(), h.to_string())];
        assert!(
            whole_state_violations(&files).0.is_empty(),
            "false alarm: {h}"
        );
    }
    // A listed file may take it; once it takes it no more, it must leave the list.
    let listed = WHOLE_STATE[0].0.to_string();
    let files = vec![(listed.clone(), planted[0].to_string())];
    assert_eq!(whole_state_violations(&files), (vec![], vec![]));
    let files = vec![(listed.clone(), harmless[0].to_string())];
    assert_eq!(whole_state_violations(&files), (vec![], vec![listed]));
}
