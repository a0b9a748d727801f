//! Reusable pieces of the storefront UI. Pages compose these; none of them fetch data.

mod category_chips;
mod dev_banner;
mod main_bar;
mod product_card;
mod status;
mod topbar;

pub use category_chips::{CategoryChips, ChipCategory};
pub use dev_banner::DevBanner;
pub use main_bar::MainBar;
pub use product_card::{CardProduct, ProductCard, ProductGridSkeleton};
pub use status::{EmptyState, ErrorState, Stepper};
pub use topbar::TopBar;
