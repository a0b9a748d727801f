//! One module per screen.

pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod lazy;
pub mod orders;
pub mod product;
pub mod ton_pay;
