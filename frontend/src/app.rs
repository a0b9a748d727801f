//! The app shell: decides who the customer is, then shows the catalog.

use leptos::prelude::*;

use crate::api::Api;
use crate::components::{DevBanner, ProductGridSkeleton};
use crate::pages::catalog::CatalogPage;

/// Who this browser session acts as.
#[derive(Clone, Debug)]
pub struct Session {
    pub api: Api,
    /// Signed in through the backend's dev endpoint, not Telegram.
    pub dev: bool,
}

impl Session {
    /// Telegram's initData when there is some; otherwise, in a plain browser, the dev user's
    /// initData if the backend runs in dev mode; otherwise anonymous (the catalog is public).
    pub async fn establish(telegram_init_data: String) -> Session {
        if !telegram_init_data.trim().is_empty() {
            return Session {
                api: Api::new(&telegram_init_data),
                dev: false,
            };
        }
        match Api::default().dev_init_data().await {
            Ok(Some(init_data)) => Session {
                api: Api::new(&init_data),
                dev: true,
            },
            _ => Session {
                api: Api::default(),
                dev: false,
            },
        }
    }
}

#[component]
pub fn App(init_data: String) -> impl IntoView {
    let session = LocalResource::new(move || Session::establish(init_data.clone()));
    view! {
        <Suspense fallback=|| view! {
            <header class="topbar"><h1 class="topbar__title">"Catalog"</h1></header>
            <div class="chips chips--placeholder" aria-hidden="true"></div>
            <main class="catalog"><ProductGridSkeleton/></main>
        }>
            {move || Suspend::new(async move {
                let session = session.await;
                view! {
                    {session.dev.then(|| view! { <DevBanner/> })}
                    <CatalogPage api=session.api/>
                }
            })}
        </Suspense>
    }
}
