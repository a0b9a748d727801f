//! Reusable pieces of the storefront UI. Pages compose these; none of them fetch data.

mod category_chips;
mod dev_banner;
mod product_card;
mod status;
mod topbar;

pub use category_chips::CategoryChips;
pub use dev_banner::DevBanner;
pub use product_card::{ProductCard, ProductGridSkeleton};
pub use status::{EmptyState, ErrorState, Stepper};
pub use topbar::TopBar;
