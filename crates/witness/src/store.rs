//! Where a witness keeps, per log origin, the latest checkpoint it cosigned: the
//! [`CheckpointStore`] trait, its file-backed implementation [`FileStore`] and the in-memory
//! [`MemoryStore`] for tests.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// Largest state file read back, in bytes (a checkpoint note is far smaller).
const MAX_STATE_SIZE: u64 = signet_note::MAX_NOTE_SIZE as u64;

/// Why the store could not read or write.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file could not be read or written (permissions, full disk).
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Another process (or another [`FileStore`] in this one) holds the directory's lock: two
    /// witnesses must never share their state.
    #[error("{path} is locked: another witness process uses this data directory")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The compare-and-swap of [`CheckpointStore::replace`] found another checkpoint than the
    /// one expected: a concurrent request stored its checkpoint first.
    #[error("the stored checkpoint of {origin:?} changed meanwhile")]
    Changed {
        /// The log origin.
        origin: String,
    },
    /// A state file is larger than any checkpoint note (damaged or replaced).
    #[error("{path} is larger than {max} bytes: not a checkpoint")]
    TooLarge {
        /// The state file.
        path: PathBuf,
        /// The limit.
        max: u64,
    },
    /// A fault a test injected.
    #[error("injected failure: {0}")]
    Injected(&'static str),
}

/// Durable storage of the latest cosigned checkpoint note of each log origin.
///
/// Contract:
/// - [`replace`](CheckpointStore::replace) is a compare-and-swap: it stores `new` only if
///   the origin's checkpoint is still exactly `expected` (`None`: none stored), else it fails
///   with [`StoreError::Changed`] and stores nothing. Check and write are one atomic step
///   against every other call on the same store.
/// - A `replace` that returned `Ok` is durable: the new note survives a crash or power loss.
///   One that returned an error left the old note or the new one, whole (a crash in the middle
///   likewise); the witness then answers an error, never a cosignature.
/// - [`load`](CheckpointStore::load) returns the last note stored, whole.
/// - Every method may be called from many threads at once. They block (file I/O): async
///   callers run them on a blocking thread. Nothing is retried inside.
pub trait CheckpointStore: Send + Sync {
    /// The latest checkpoint note stored for `origin`, if any.
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be read.
    fn load(&self, origin: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Replaces the checkpoint note of `origin` by `new` if it is still `expected`.
    ///
    /// # Errors
    /// [`StoreError::Changed`] when it is not; other [`StoreError`]s when it cannot be written.
    fn replace(&self, origin: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<(), StoreError>;
}

/// The state file name of an origin: the hex SHA-256 of the origin (any origin is a safe,
/// fixed-length file name).
pub fn state_file_name(origin: &str) -> String {
    hex::encode(Sha256::digest(origin.as_bytes()))
}

/// The lock file in a [`FileStore`]'s directory.
pub const LOCK_FILE: &str = "lock";

/// A [`CheckpointStore`] in a directory: one file per origin, named by
/// [`state_file_name`], holding the latest cosigned checkpoint note and written by
/// [`signet_durable::write`] (temporary file, fsync, rename, fsync of the directory).
///
/// The store holds an exclusive lock (`flock` on [`LOCK_FILE`]) on its directory for its
/// whole life, so that two processes can never both accept checkpoints on the same state;
/// inside the process a mutex makes each compare-and-swap one step.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    /// Guards the read-compare-write of `replace`.
    write: Mutex<()>,
    /// Holds the directory's lock while open.
    _lock: File,
}

impl FileStore {
    /// Opens the store in `dir`, creating the directory (durably) if missing, and takes its
    /// lock.
    ///
    /// # Errors
    /// [`StoreError::Locked`] when another store holds it; [`StoreError::Io`].
    pub fn open(dir: &Path) -> Result<FileStore, StoreError> {
        signet_durable::create_dir_all(dir).map_err(io_error(dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = lock_directory(&lock_path)?;
        Ok(FileStore {
            dir: dir.to_owned(),
            write: Mutex::new(()),
            _lock: lock,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, origin: &str) -> PathBuf {
        self.dir.join(state_file_name(origin))
    }

    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(path)(e)),
        };
        let mut data = Vec::new();
        file.take(MAX_STATE_SIZE + 1)
            .read_to_end(&mut data)
            .map_err(io_error(path))?;
        if data.len() as u64 > MAX_STATE_SIZE {
            return Err(StoreError::TooLarge {
                path: path.to_owned(),
                max: MAX_STATE_SIZE,
            });
        }
        Ok(Some(data))
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Opens (creating) the lock file and takes an exclusive `flock` on it without waiting.
fn lock_directory(path: &Path) -> Result<File, StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let file = options.open(path).map_err(io_error(path))?;
    #[cfg(unix)]
    {
        use rustix::fs::{FlockOperation, flock};
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                return Err(StoreError::Locked {
                    path: path.to_owned(),
                });
            }
            Err(e) => return Err(io_error(path)(e.into())),
        }
    }
    Ok(file)
}

impl CheckpointStore for FileStore {
    fn load(&self, origin: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(&self.path(origin))
    }

    fn replace(&self, origin: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<(), StoreError> {
        let _guard = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        let path = self.path(origin);
        if self.read(&path)?.as_deref() != expected {
            return Err(StoreError::Changed {
                origin: origin.to_owned(),
            });
        }
        // Crash here: the old note stays. Inside `write`: the old or the new, whole. After it
        // returns: the new one, durably (the rename and the directory are synced).
        signet_durable::write(&path, new, signet_durable::Mode::Public).map_err(io_error(&path))
    }
}

/// What [`MemoryStore`]'s fault hook is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreStep {
    /// Before the compare-and-swap.
    BeforeReplace,
    /// After the new note was stored (an error then reports a failure although it is stored,
    /// as a lost acknowledgement would).
    AfterReplace,
}

/// The hook type of [`MemoryStore::with_faults`].
type FaultHook = Box<dyn Fn(StoreStep) -> Result<(), StoreError> + Send + Sync>;

/// A [`CheckpointStore`] in memory, for tests: nothing survives the process. A fault hook can
/// fail a replace before or after it takes effect.
#[derive(Default)]
pub struct MemoryStore {
    notes: Mutex<HashMap<String, Vec<u8>>>,
    faults: Option<FaultHook>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// An empty store whose `replace` calls `hook` at each [`StoreStep`] and fails with its
    /// error.
    pub fn with_faults(
        hook: impl Fn(StoreStep) -> Result<(), StoreError> + Send + Sync + 'static,
    ) -> MemoryStore {
        MemoryStore {
            notes: Mutex::default(),
            faults: Some(Box::new(hook)),
        }
    }

    fn fault(&self, step: StoreStep) -> Result<(), StoreError> {
        self.faults.as_ref().map_or(Ok(()), |hook| hook(step))
    }
}

impl CheckpointStore for MemoryStore {
    fn load(&self, origin: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let notes = self.notes.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(notes.get(origin).cloned())
    }

    fn replace(&self, origin: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<(), StoreError> {
        self.fault(StoreStep::BeforeReplace)?;
        {
            let mut notes = self.notes.lock().unwrap_or_else(PoisonError::into_inner);
            if notes.get(origin).map(Vec::as_slice) != expected {
                return Err(StoreError::Changed {
                    origin: origin.to_owned(),
                });
            }
            notes.insert(origin.to_owned(), new.to_vec());
        }
        self.fault(StoreStep::AfterReplace)
    }
}
