use shop::cli::{self, Command};
use shop::config::Config;

#[tokio::main]
async fn main() {
    let _ = dotenvy::dotenv();
    match shop::observe::LogFormat::parse(std::env::var("LOG_FORMAT").ok().as_deref()) {
        Ok(f) => shop::observe::init_logs(f),
        Err(e) => {
            eprintln!("configuration: {e}");
            std::process::exit(2);
        }
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("{e}");
            }
            eprintln!("{}", cli::USAGE);
            std::process::exit(2);
        }
    };
    let seed_demo = match command {
        Command::Serve { seed_demo } => seed_demo,
        Command::Backup { to } => {
            // Only the database matters here: a backup must work whatever else is configured.
            let url = std::env::var("DATABASE_URL")
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "sqlite://data/shop.db".into());
            match cli::backup(url.trim(), &to).await {
                Ok(()) => {
                    println!("backup written to {}", to.display());
                    std::process::exit(0);
                }
                Err(e) => {
                    eprintln!("backup failed: {e}");
                    std::process::exit(1);
                }
            }
        }
        Command::AdminResetPassword { email } => match Config::from_env() {
            Ok(config) => std::process::exit(admin_reset_password(&config, &email).await),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        },
        Command::Check => match Config::from_env() {
            Ok(config) => {
                let (report, problems) = cli::check(&config).await;
                print!("{report}");
                std::process::exit(if problems { 1 } else { 0 });
            }
            Err(e) => {
                println!("1 problem:\n  - {e}");
                std::process::exit(1);
            }
        },
    };
    let mut config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if seed_demo {
        config.seed_demo = true;
    }
    let bind = config.bind_addr;
    let dev = config.dev_mode();
    let state = match shop::startup::build_state(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("start-up failed: {e}");
            std::process::exit(1);
        }
    };
    let listener = match tokio::net::TcpListener::bind(bind).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("BIND_ADDR: cannot listen on {bind}: {e}");
            std::process::exit(1);
        }
    };
    if dev {
        tracing::warn!("dev mode: no TELEGRAM_BOT_TOKEN, customers sign in as a dev user");
    }
    for w in state.config.warnings() {
        tracing::warn!("{w}");
    }
    tracing::info!("the shop is open at http://{bind}");
    if let Err(e) = shop::startup::serve(listener, state).await {
        eprintln!("server error: {e}");
        std::process::exit(1);
    }
}

/// `shop admin reset-password <email>`: sets that admin's password to the first line of
/// standard input, clears its sign-in locks and ends its sessions. For an owner locked out or
/// who forgot the password: whoever can run commands on the server already holds the shop.
/// Answers the process's exit code.
async fn admin_reset_password(config: &Config, email: &str) -> i32 {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        eprint!(
            "New password for {email} (at least {} characters): ",
            shared::admin::MIN_ADMIN_PASSWORD_CHARS
        );
    }
    let mut line = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut line) {
        eprintln!("reading the password from standard input: {e}");
        return 1;
    }
    let password = line.trim_end_matches(['\r', '\n']);
    let db = match shop::db::Db::connect(&config.database_url).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!(
                "database {}: {e}",
                shop::config::redact_url(&config.database_url)
            );
            return 1;
        }
    };
    match shop::admin::accounts::reset_password(&db, email, password).await {
        Ok(()) => {
            eprintln!("{email}: password reset, sign-in locks cleared, sessions ended");
            0
        }
        Err(e) => {
            eprintln!("{email}: {e}");
            1
        }
    }
}
