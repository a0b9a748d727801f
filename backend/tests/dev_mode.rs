//! Dev mode (no bot token): a dev sign-in route hands out initData that the real auth path
//! accepts; with a bot token the route does not exist.
mod common;
use common::*;

both_kinds!(
    dev_mode_hands_out_working_init_data,
    |kind: Kind| async move {
        let Some(app) = spawn(kind, &[("TELEGRAM_BOT_TOKEN", "")]).await else {
            return;
        };
        assert!(app.state.config.dev_mode());

        let (s, v) = app.json(app.get("/api/dev/init-data")).await;
        assert_eq!(s, 200, "{v}");
        let init = v["init_data"]
            .as_str()
            .expect("init_data string")
            .to_string();
        assert!(init.contains("hash="), "{init}");

        let (s, me) = app
            .json(
                app.get("/api/me")
                    .header("Authorization", format!("tma {init}")),
            )
            .await;
        assert_eq!(s, 200, "{me}");
        assert_eq!(me["id"], shop::me::DEV_USER_ID);
        assert_eq!(me["first_name"], "Dev");
        assert!(me["language_code"].is_string());

        // The dev user can shop: the same initData works on the cart.
        let (s, cart) = app
            .json(
                app.get("/api/cart")
                    .header("Authorization", format!("tma {init}")),
            )
            .await;
        assert_eq!(s, 200, "{cart}");

        // The harness bot token means nothing to a dev-mode app (its token is ephemeral).
        let r = app
            .raw(
                app.get("/api/me")
                    .header("Authorization", format!("tma {}", init_data(5))),
            )
            .await;
        assert_envelope(&r, 401, Some("unauthorized"));

        // And the dev initData means nothing to an app with a real bot token, nor to another
        // dev-mode app (each process makes its own token).
        let Some(prod) = spawn(kind, &[]).await else {
            return;
        };
        let r = prod
            .raw(
                prod.get("/api/me")
                    .header("Authorization", format!("tma {init}")),
            )
            .await;
        assert_envelope(&r, 401, Some("unauthorized"));
        let Some(other_dev) = spawn(kind, &[("TELEGRAM_BOT_TOKEN", "")]).await else {
            return;
        };
        let r = other_dev
            .raw(
                other_dev
                    .get("/api/me")
                    .header("Authorization", format!("tma {init}")),
            )
            .await;
        assert_envelope(&r, 401, Some("unauthorized"));
    }
);

both!(
    with_a_bot_token_the_dev_route_is_404,
    |app: TestApp| async move {
        assert!(!app.state.config.dev_mode());
        let r = app.raw(app.get("/api/dev/init-data")).await;
        assert_envelope(&r, 404, Some("not_found"));
        assert!(!r.text().contains("init_data\""), "{}", r.text());
    }
);
