//! One process owns a SQLite file at a time: the store keeps live conversations in memory
//! ([`crate::live`]), which another process writing the same file would make stale. The lock
//! is an exclusive `flock` on `<file>-lock` beside the database, taken when the store opens
//! and let go when the last handle of the store is dropped or the process dies (even by
//! `kill -9`), so a restart after a crash never finds it taken.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tandem_core::StoreError;

/// Held while the store is open.
#[derive(Clone)]
pub(crate) struct FileLock {
    _held: Arc<File>,
}

impl FileLock {
    /// Take the lock of the database at `path`, or say which file is in use.
    pub(crate) fn take(path: &Path) -> Result<Self, StoreError> {
        let lock_path = lock_path(path);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::Database(format!("opening {}: {e}", lock_path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _held: Arc::new(file) }),
            Err(TryLockError::WouldBlock) => Err(StoreError::Database(format!(
                "{} is in use by another Tandem store (another process, or this one opened it twice); \
                 one process owns a SQLite file at a time",
                path.display()
            ))),
            Err(TryLockError::Error(e)) => Err(StoreError::Database(format!("locking {}: {e}", lock_path.display()))),
        }
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-lock");
    PathBuf::from(name)
}
