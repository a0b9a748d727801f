//! The command line: `shop` serves; `shop backup <file>` copies a SQLite database while the shop
//! runs; `shop check` says what a configuration enables and what is wrong with it, without
//! starting anything. Configuration always comes from the environment (or `.env`).

use std::path::{Path, PathBuf};

use crate::config::Config;

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Start the shop (`--seed-demo`: load the demo catalog into an empty database).
    Serve { seed_demo: bool },
    /// `shop backup <file>`.
    Backup { to: PathBuf },
    /// `shop check`.
    Check,
    /// `shop admin reset-password <email>` (new password from standard input).
    AdminResetPassword { email: String },
}

pub const USAGE: &str = "usage:
  shop [--seed-demo]      start the shop (configuration from the environment or .env)
  shop backup <file>      write a consistent copy of the SQLite database to <file> while the shop runs
  shop check              print what the configuration enables and every problem, then exit
  shop admin reset-password <email>
                          set an admin's password (read from standard input), clear its sign-in
                          locks and end its sessions";

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    match args.first().map(String::as_str) {
        None => Ok(Command::Serve { seed_demo: false }),
        Some("--seed-demo") if args.len() == 1 => Ok(Command::Serve { seed_demo: true }),
        Some("backup") => match &args[1..] {
            [to] if !to.starts_with('-') => Ok(Command::Backup {
                to: PathBuf::from(to),
            }),
            _ => Err("shop backup takes one argument: the file to write".into()),
        },
        Some("check") if args.len() == 1 => Ok(Command::Check),
        Some("admin") => match &args[1..] {
            [cmd, email] if cmd == "reset-password" => Ok(Command::AdminResetPassword {
                email: email.clone(),
            }),
            _ => Err("usage: shop admin reset-password <email>   (the new password is read from standard input)".into()),
        },
        Some("-h" | "--help" | "help") => Err(String::new()),
        Some(other) => Err(format!("unknown argument '{other}'")),
    }
}

/// Writes a consistent copy of the SQLite database at `database_url` to `to`.
///
/// `VACUUM INTO` reads the database inside one read transaction, so the copy is the database
/// as of one moment even while the shop keeps writing (WAL mode lets both run), and includes
/// every transaction committed before it began. It writes to a temporary file beside `to`,
/// which is synced and then renamed over `to`: a reader never sees half a backup, and a failed
/// backup leaves the previous one in place.
pub async fn backup(database_url: &str, to: &Path) -> Result<(), String> {
    if !database_url.starts_with("sqlite:") {
        return Err(format!(
            "shop backup copies SQLite databases; DATABASE_URL is {}. For PostgreSQL use pg_dump, \
             e.g. pg_dump --format=custom --file=shop.dump \"$DATABASE_URL\" (restore with pg_restore)",
            crate::config::redact_url(database_url)
        ));
    }
    use sqlx::{ConnectOptions, Connection};
    use std::str::FromStr;
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)
        .map_err(|e| format!("DATABASE_URL: {e}"))?
        // Never create an empty database by mistake: the source must exist.
        .create_if_missing(false)
        .busy_timeout(std::time::Duration::from_secs(30));
    let mut conn = opts
        .connect()
        .await
        .map_err(|e| format!("opening {database_url}: {e}"))?;
    let dir = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = to
        .file_name()
        .ok_or_else(|| format!("{} is not a file name", to.display()))?
        .to_string_lossy()
        .to_string();
    let tmp = dir.join(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let res = sqlx::query("VACUUM INTO $1")
        .bind(tmp.to_string_lossy().to_string())
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("copying the database: {e}"));
    }
    let sync = std::fs::File::open(&tmp).and_then(|f| f.sync_all());
    if let Err(e) = sync.and_then(|_| std::fs::rename(&tmp, to)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("writing {}: {e}", to.display()));
    }
    // The rename itself is durable once the folder is synced.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// What `shop check` prints: the configuration in a few lines, then its problems (things that
/// will fail or take no real money) and notes. Answers the text and whether there were problems.
pub async fn check(config: &Config) -> (String, bool) {
    let mut out = String::new();
    let mut problems: Vec<String> = Vec::new();
    let line = |out: &mut String, k: &str, v: String| out.push_str(&format!("{k:<14} {v}\n"));
    line(&mut out, "public URL", config.public_url.clone());
    line(&mut out, "listen", config.bind_addr.to_string());
    line(
        &mut out,
        "database",
        crate::config::redact_url(&config.database_url),
    );
    let bot = if config.dev_mode() {
        "none: dev mode (a dev user signs in from this machine; no bot)".to_string()
    } else if config.telegram_webhook_secret.is_some() && config.is_https() {
        format!("webhook at {}/webhooks/telegram", config.public_url)
    } else {
        "long polling (set TELEGRAM_WEBHOOK_SECRET and an https PUBLIC_URL for webhook mode)"
            .to_string()
    };
    line(&mut out, "bot", bot);
    let mut rails = vec!["cash"];
    if !config.dev_mode() {
        rails.push("stars");
    }
    for (on, name) in [
        (config.telegram_provider_token.is_some(), "telegram"),
        (config.click.is_some(), "click"),
        (config.payme.is_some(), "payme"),
        (config.stripe.is_some(), "stripe"),
        (config.paypal.is_some(), "paypal"),
        (config.ton.is_some(), "ton"),
        (config.cryptopay.is_some(), "cryptopay"),
        (config.yookassa.is_some(), "yookassa"),
    ] {
        if on {
            rails.push(name);
        }
    }
    line(&mut out, "payments", rails.join(", "));
    let proxies = if config.trusted_proxies.is_empty() {
        "none (the TCP peer is the client)".to_string()
    } else {
        config.trusted_proxies.to_string()
    };
    line(&mut out, "proxies", proxies);
    if let Some(y) = &config.yookassa {
        let from = match &y.allowed_sources {
            Some(nets) => format!(
                "notifications only from {nets} (YOOKASSA_CHECK_SOURCE), each read back from the API"
            ),
            None => "notifications from any address, each read back from the API \
                     (YOOKASSA_CHECK_SOURCE=1 also checks YooKassa's addresses)"
                .to_string(),
        };
        line(&mut out, "yookassa", from);
    }
    line(
        &mut out,
        "admin",
        match &config.admin_email {
            Some(e) => format!("{e} is created at start if there is no admin yet"),
            None => "no ADMIN_EMAIL: sign-in needs an admin already in the database".into(),
        },
    );

    match crate::db::Db::connect(&config.database_url).await {
        Ok(db) => {
            if let Err(e) = db.ping().await {
                problems.push(format!("DATABASE_URL: the database does not answer: {e}"));
            } else if let Some(p) = payme_delivery_problem(config, &db).await {
                problems.push(p);
            }
        }
        Err(e) => problems.push(format!(
            "DATABASE_URL: cannot open {}: {e}",
            crate::config::redact_url(&config.database_url)
        )),
    }
    if !config.dist_dir.join("index.html").exists() {
        problems.push(format!(
            "DIST_DIR: {} has no index.html: build the storefront (./scripts/build-frontend.sh)",
            config.dist_dir.display()
        ));
    }
    if !config.is_https() && !config.dev_mode() {
        problems.push(
            "PUBLIC_URL: Telegram opens Mini Apps only over https; set the shop's https URL".into(),
        );
    }
    problems.extend(config.warnings());

    if problems.is_empty() {
        out.push_str("\nno problems found\n");
    } else {
        out.push_str(&format!("\n{} problem(s):\n", problems.len()));
        for p in &problems {
            out.push_str(&format!("  - {p}\n"));
        }
    }
    (out, !problems.is_empty())
}

/// Payme fiscalises every line of a receipt, the delivery fee's too: with Payme on and a
/// delivery method that charges a fee in sum, the fee's line needs its codes.
async fn payme_delivery_problem(config: &Config, db: &crate::db::Db) -> Option<String> {
    let p = config.payme.as_ref()?;
    if p.delivery_ikpu.is_some() && p.delivery_package_code.is_some() {
        return None;
    }
    // A database not migrated yet has no methods (the query fails): nothing to say.
    let charging: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM delivery_methods m WHERE m.currency = 'UZS' AND m.active = 1 \
         AND (m.fee_minor > 0 OR EXISTS (SELECT 1 FROM delivery_options o \
              WHERE o.method_id = m.id AND o.fee_minor > 0))",
    )
    .fetch_one(&db.pool)
    .await
    .ok()?;
    (charging > 0).then(|| {
        "PAYME_DELIVERY_IKPU and PAYME_DELIVERY_PACKAGE_CODE: a delivery method charges a fee in \
         UZS, and Payme receipts need the fee's IKPU and package codes; without them orders with \
         a delivery fee are paid through Payme without receipt detail"
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn commands() {
        assert_eq!(parse(&[]), Ok(Command::Serve { seed_demo: false }));
        assert_eq!(
            parse(&args(&["--seed-demo"])),
            Ok(Command::Serve { seed_demo: true })
        );
        assert_eq!(
            parse(&args(&["backup", "/tmp/x.db"])),
            Ok(Command::Backup {
                to: "/tmp/x.db".into()
            })
        );
        assert_eq!(parse(&args(&["check"])), Ok(Command::Check));
        assert!(parse(&args(&["backup"])).is_err());
        assert_eq!(
            parse(&args(&["admin", "reset-password", "a@b.uz"])),
            Ok(Command::AdminResetPassword {
                email: "a@b.uz".into()
            })
        );
        assert!(parse(&args(&["admin", "reset"])).is_err());
        assert!(parse(&args(&["frobnicate"]))
            .unwrap_err()
            .contains("frobnicate"));
    }
}
