//! The catalog version: a number every change that can alter a catalog answer bumps.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Bumped by every change that can alter a catalog answer (admin edits, stock moves); part
/// of the catalog ETag, so a client's cached copy is only reused while valid. A handle: its
/// clones share one counter, so whoever holds one (the catalog, the admin, the lifecycle)
/// sees and makes the same changes without holding the whole application state.
#[derive(Clone)]
pub struct CatalogVersion(Arc<AtomicU64>);

impl Default for CatalogVersion {
    fn default() -> Self {
        CatalogVersion(Arc::new(AtomicU64::new(1)))
    }
}

impl CatalogVersion {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    pub fn changed(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}
