//! One module per screen of the admin.

pub mod account;
pub mod admins;
pub mod audit;
pub mod categories;
pub mod csv;
pub mod dashboard;
pub mod delivery;
pub mod images;
pub mod login;
pub mod order;
pub mod orders;
pub mod product;
pub mod products;
pub mod promo_codes;
pub mod ton;
