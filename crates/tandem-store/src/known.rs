//! Which conversations a SQLite file holds, as 32-bit hashes of their keys, so that loading a
//! conversation that was never stored (every new customer's first message) answers "none"
//! without a query. That query was a hop to sqlx's reader thread and back: the sequential
//! benchmark's first turns took ~80 µs longer than its others, and this saves ~50 µs of it
//! (5,290 -> 5,570 msgs/s over the five turns).
//!
//! The writer adds a key once its commit is in the file, from the moment the store opens; a
//! background scan adds the keys that were in the file before. Until the scan is done, every
//! unknown key is asked of the file. A conversation that is in the file can therefore never
//! look absent: it was either in the scan's snapshot or committed after it began, and then
//! the writer added it. Two keys with the same hash only cost a query. Safe because one
//! process owns the file ([`crate::file_lock`]).

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};

/// Keys hashed to 32 bits: ~10 bytes a conversation in the set (a million took 13.5 MiB more
/// at the peak, while the set grew), and a needless query for one new conversation in ~4,000
/// at a million stored.
type KeyHash = u32;

/// How many keys the scan adds under one lock.
const SCAN_CHUNK: usize = 4096;

#[derive(Clone, Default)]
pub(crate) struct KnownConversations(Arc<Known>);

#[derive(Default)]
struct Known {
    hashes: Mutex<HashSet<KeyHash, foldhash::fast::FixedState>>,
    /// The keys stored before the store opened are in `hashes` too.
    complete: AtomicBool,
}

impl KnownConversations {
    /// True when the file certainly holds no conversation `key`.
    pub(crate) fn certainly_absent(&self, key: &str) -> bool {
        self.0.complete.load(Ordering::Acquire) && !self.hashes().contains(&hash(key))
    }

    /// Called by the writer once a commit of conversation `key` is in the file.
    pub(crate) fn stored(&self, key: &str) {
        self.hashes().insert(hash(key));
    }

    /// Add every conversation stored in the file at `path` (as it is when the scan starts),
    /// then answer for unknown keys. Runs on a thread of its own with a read-only connection,
    /// started after opening: a million keys are listed ~270 ms after opening (the scale
    /// benchmark). Through sqlx, a row at a time via its reader thread and holding one of the
    /// store's readers, the restart's timer lag p99 was 73.5 ms instead of ~30. On failure
    /// unknown keys keep being asked of the file.
    pub(crate) fn learn_from(self, path: PathBuf) {
        let spawned = std::thread::Builder::new().name("tandem-sqlite-known".into()).spawn(move || {
            if let Err(e) = self.scan(&path) {
                tracing::warn!("listing the stored conversations (new ones will be looked up): {e}");
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("starting to list the stored conversations (new ones will be looked up): {e}");
        }
    }

    fn scan(&self, path: &Path) -> rusqlite::Result<()> {
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        let mut ids = conn.prepare("SELECT id FROM conversations")?;
        let mut rows = ids.query([])?;
        let mut chunk = Vec::with_capacity(SCAN_CHUNK);
        while let Some(row) = rows.next()? {
            chunk.push(hash(row.get_ref(0)?.as_str()?));
            if chunk.len() == SCAN_CHUNK {
                self.hashes().extend(chunk.drain(..));
            }
        }
        self.hashes().extend(chunk);
        self.0.complete.store(true, Ordering::Release);
        Ok(())
    }

    /// True once the scan is done.
    pub(crate) fn is_complete(&self) -> bool {
        self.0.complete.load(Ordering::Acquire)
    }

    fn hashes(&self) -> std::sync::MutexGuard<'_, HashSet<KeyHash, foldhash::fast::FixedState>> {
        self.0.hashes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn hash(key: &str) -> KeyHash {
    // The upper half: foldhash mixes its last step into the high bits.
    (foldhash::fast::FixedState::with_seed(0).hash_one(key) >> 32) as KeyHash
}
