use shop::config::Config;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    let _ = dotenvy::dotenv();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info")),
        )
        .init();
    let mut config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("admin") {
        std::process::exit(admin_command(&config, &args[1..]).await);
    }
    if std::env::args().any(|a| a == "--seed-demo") {
        config.seed_demo = true;
    }
    if let Some(a) = std::env::args().skip(1).find(|a| a != "--seed-demo") {
        eprintln!("unknown argument '{a}'; the only flag is --seed-demo (configuration comes from the environment); `shop admin reset-password <email>` resets an admin's password");
        std::process::exit(2);
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
async fn admin_command(config: &Config, args: &[String]) -> i32 {
    let [cmd, email] = args else {
        eprintln!("usage: shop admin reset-password <email>   (the new password is read from standard input)");
        return 2;
    };
    if cmd != "reset-password" {
        eprintln!("unknown admin command '{cmd}'; usage: shop admin reset-password <email>");
        return 2;
    }
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
