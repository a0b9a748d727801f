use leptos::prelude::*;

use crate::app::use_ctx;
use crate::i18n::K;
use crate::rx;

/// Shown whenever the app signed in through the backend's dev endpoint instead of Telegram,
/// so nobody mistakes a dev session for a real customer's.
pub fn dev_banner() -> impl IntoView {
    let ctx = use_ctx();
    view! {
        <div class="dev-banner" role="status" data-testid="dev-banner">
            <strong>{rx::str(move || ctx.t(K::DevMode))}</strong>
            <span>{rx::str(move || ctx.t(K::DevModeHint))}</span>
        </div>
    }
}
