//! Live conversations kept beside the SQLite file: the last committed state of recently
//! active conversations, exactly as the `conversations.state` column holds it, so that a step
//! loads its conversation without a query. Only the store's writer fills it, after each
//! commit and in commit order, so an entry is always the latest committed state (or absent,
//! and then the file answers). Safe because one process owns the file ([`crate::file_lock`]).
//! The copy is bounded by bytes; the least useful entries are evicted first.

use std::sync::Arc;

use quick_cache::Weighter;
use quick_cache::sync::Cache;

/// Bytes of state text kept in memory by default: about 100,000 typical conversations.
pub const DEFAULT_LIVE_STATE_BYTES: u64 = 64 << 20;

/// A typical state's JSON (the benchmark's, mid-dialogue: 576), to size the cache's table.
const TYPICAL_STATE_BYTES: u64 = 600;

/// What an entry costs beyond its key and text: the map slot, the `Arc` and the `String`.
const ENTRY_OVERHEAD: u64 = 64;

/// Conversation key (`channel:chat`) to its committed state (JSON).
#[derive(Clone)]
pub(crate) struct LiveStates(Arc<Cache<String, Arc<str>, StateBytes>>);

impl LiveStates {
    /// Keep at most `bytes` (0: keep nothing, every load reads the file).
    pub(crate) fn new(bytes: u64) -> Self {
        let estimated_entries = (bytes / TYPICAL_STATE_BYTES).clamp(16, 1 << 20) as usize;
        Self(Arc::new(Cache::with_weighter(estimated_entries, bytes, StateBytes)))
    }

    pub(crate) fn get(&self, key: &str) -> Option<Arc<str>> {
        self.0.get(key)
    }

    /// Called by the writer only, once `state` is committed; the commit's own key and text
    /// are kept (no copy made).
    pub(crate) fn committed(&self, key: String, state: Arc<str>) {
        self.0.insert(key, state);
    }

    /// Bytes held now.
    pub(crate) fn bytes(&self) -> u64 {
        self.0.weight()
    }
}

#[derive(Clone)]
struct StateBytes;

impl Weighter<String, Arc<str>> for StateBytes {
    fn weight(&self, key: &String, state: &Arc<str>) -> u64 {
        (key.len() + state.len()) as u64 + ENTRY_OVERHEAD
    }
}
