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
    if std::env::args().any(|a| a == "--seed-demo") {
        config.seed_demo = true;
    }
    if let Some(a) = std::env::args().skip(1).find(|a| a != "--seed-demo") {
        eprintln!("unknown argument '{a}'; the only flag is --seed-demo (configuration comes from the environment)");
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
