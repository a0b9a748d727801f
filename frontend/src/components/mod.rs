//! Reusable pieces of the storefront UI. Pages compose these; none of them fetch data.
//!
//! The pieces of the first screen (top bar, chips, cards, skeleton, dev banner) are plain view
//! functions rather than `#[component]`s: a component is wrapped in Leptos' `component_view`
//! and, with `erase_components`, an erased view, each one more copy of code in the first
//! download (0.7 KB brotli for these five, docs/PERFORMANCE.md). Their bodies read signals
//! only inside reactive closures or untracked, so calling them inside a reactive closure
//! subscribes it to nothing.

mod category_chips;
mod dev_banner;
mod main_bar;
mod product_card;
mod status;
mod topbar;

pub use category_chips::{category_chips, ChipCategory};
pub use dev_banner::dev_banner;
pub use main_bar::MainBar;
pub use product_card::{product_card, product_grid_skeleton, CardProduct};
pub use status::{EmptyState, ErrorState, Stepper};
pub use topbar::top_bar;
