use leptos::prelude::*;

/// Shown whenever the app signed in through the backend's dev endpoint instead of Telegram,
/// so nobody mistakes a dev session for a real customer's.
#[component]
pub fn DevBanner() -> impl IntoView {
    view! {
        <div class="dev-banner" role="status" data-testid="dev-banner">
            <strong>"Dev mode"</strong>
            <span>"Signed in as a test customer, not through Telegram"</span>
        </div>
    }
}
