//! Rebuilds the shop when a migration file is added or changed: `shop_macros::embed_migrations!`
//! embeds the files, and a proc macro cannot ask cargo to watch a folder itself.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
