//! Durable file writes, the one way signet writes keys, certificates and trust files.
//!
//! [`write()`] replaces a file atomically and durably:
//!
//! 1. a fresh temporary file beside the target, opened with `O_CREAT | O_EXCL | O_NOFOLLOW`
//!    and the final mode at creation (never an existing file or a symlink someone planted,
//!    whatever its name);
//! 2. the data, then `fsync`;
//! 3. `rename` over the target, then `fsync` of the directory, so the new name survives a
//!    crash.
//!
//! A crash at any point leaves the old file or the new one, whole; at worst an orphaned
//! temporary file (`.<name>.<unique>.tmp`), which later writes ignore. [`create_new`] is the
//! same but refuses to replace an existing target (cosign key files without `--force`).
//! [`move_file`] moves a file to a new name durably, never replacing one; [`remove_file`]
//! removes one durably.
//! [`create_dir_all`] creates directories and makes their entries durable.
//!
//! This crate does I/O and nothing else: no clock (temporary names use the process ID, a
//! counter and a retry on collision), no panics.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Who may read the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Owner read/write only (0600): private keys, passwords.
    Secret,
    /// Owner read/write, everyone read (0644): certificates, public keys, trust files.
    Public,
}

impl Mode {
    /// The Unix permission bits.
    pub fn bits(self) -> u32 {
        match self {
            Mode::Secret => 0o600,
            Mode::Public => 0o644,
        }
    }
}

/// The steps of a write, for fault injection in tests.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The temporary file exists (empty).
    Created,
    /// The data is written but not yet synced.
    Written,
    /// The data is synced; the target is not yet replaced.
    Synced,
    /// The target is replaced; the directory is not yet synced.
    Renamed,
}

/// Writes `data` to `path` atomically and durably with `mode` (see the crate docs).
///
/// # Errors
/// The I/O error of the step that failed; the target is then untouched (or already whole and
/// new, if only the final directory sync failed).
pub fn write(path: &Path, data: &[u8], mode: Mode) -> io::Result<()> {
    write_with(path, data, mode, Replace::Yes, &mut |_| Ok(()))
}

/// Like [`write()`], but fails with [`io::ErrorKind::AlreadyExists`] if `path` exists (also as a
/// symlink), without touching it.
///
/// # Errors
/// `AlreadyExists`, or the I/O error of the step that failed.
pub fn create_new(path: &Path, data: &[u8], mode: Mode) -> io::Result<()> {
    write_with(path, data, mode, Replace::No, &mut |_| Ok(()))
}

/// Whether the target may be replaced.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// `rename` over it.
    Yes,
    /// Link the new file in only where no file is.
    No,
}

/// [`write()`] / [`create_new`] with a hook called after each [`Step`]; an error from the hook
/// stops the write there, as a crash would (what a crash leaves is checked by the tests; the
/// temporary file is then removed, as after any failed write).
#[doc(hidden)]
pub fn write_with(
    path: &Path,
    data: &[u8],
    mode: Mode,
    replace: Replace,
    hook: &mut dyn FnMut(Step) -> io::Result<()>,
) -> io::Result<()> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} names no file", path.display()),
        )
    })?;
    let dir = parent(path);
    let (tmp, mut file) = create_temp(&dir, &name.to_string_lossy(), mode)?;
    let result = (|| {
        hook(Step::Created)?;
        file.write_all(data)?;
        hook(Step::Written)?;
        file.sync_all()?;
        hook(Step::Synced)?;
        match replace {
            Replace::Yes => std::fs::rename(&tmp, path)?,
            Replace::No => {
                // A hard link fails if anything (file, symlink, directory) has the name.
                std::fs::hard_link(&tmp, path)?;
                std::fs::remove_file(&tmp)?;
            }
        }
        hook(Step::Renamed)?;
        sync_dir(&dir)
    })();
    if result.is_err() && std::fs::symlink_metadata(&tmp).is_ok() {
        // Best effort: a failed write leaves no temporary file (a crash may).
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Moves the file `from` to `to` (same file system) durably, never replacing anything at
/// `to`: a hard link at `to`, removal of `from`, then `fsync` of both directories. A crash
/// leaves the file under its old name, under both names (one file), or under the new one.
/// Retired keys are moved this way.
///
/// # Errors
/// [`io::ErrorKind::AlreadyExists`] if `to` exists (also as a symlink), without touching
/// either; otherwise the I/O error of the step that failed.
pub fn move_file(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::hard_link(from, to)?;
    let to_dir = parent(to);
    sync_dir(&to_dir)?;
    std::fs::remove_file(from)?;
    let from_dir = parent(from);
    sync_dir(&from_dir)
}

/// Removes the file `path` durably (`unlink`, then `fsync` of its directory).
///
/// # Errors
/// The I/O error of the step that failed.
pub fn remove_file(path: &Path) -> io::Result<()> {
    std::fs::remove_file(path)?;
    sync_dir(&parent(path))
}

/// Creates `path` and its missing parents, each durably (its entry synced in its parent).
///
/// # Errors
/// The I/O error of the directory that could not be created or synced.
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut cur = Some(path);
    while let Some(p) = cur {
        if p.as_os_str().is_empty() || p.is_dir() {
            break;
        }
        missing.push(p.to_path_buf());
        cur = p.parent();
    }
    for dir in missing.iter().rev() {
        match std::fs::create_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
            Err(e) => return Err(e),
        }
        sync_dir(&parent(dir))?;
    }
    Ok(())
}

/// The directory holding `path` (`.` for a bare name).
fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Makes the directory's entries durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Attempts at a fresh temporary name before giving up (names collide only if someone plants
/// files with our exact names).
const TEMP_ATTEMPTS: u32 = 64;

/// A new temporary file in `dir`, created exclusively (never opening an existing file or
/// following a symlink) with `mode`.
fn create_temp(dir: &Path, name: &str, mode: Mode) -> io::Result<(PathBuf, File)> {
    let mut last = None;
    for _ in 0..TEMP_ATTEMPTS {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(mode.bits()).custom_flags(libc::O_NOFOLLOW);
        }
        match options.open(&tmp) {
            Ok(file) => {
                // The umask may have taken bits away from a public file: set exactly `mode`.
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    file.set_permissions(std::fs::Permissions::from_mode(mode.bits()))?;
                }
                #[cfg(not(unix))]
                let _ = mode;
                return Ok((tmp, file));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no temporary file name available")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;

    fn mode_of(path: &Path) -> u32 {
        #[cfg(unix)]
        {
            std::fs::metadata(path).unwrap().permissions().mode() & 0o777
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            0
        }
    }

    fn temp_files(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn writes_replace_whole_files_with_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        write(&key, b"one", Mode::Secret).unwrap();
        assert_eq!(std::fs::read(&key).unwrap(), b"one");
        assert_eq!(mode_of(&key), 0o600);
        write(&key, b"two", Mode::Secret).unwrap();
        assert_eq!(std::fs::read(&key).unwrap(), b"two");
        let public = dir.path().join("root.json");
        write(&public, b"{}", Mode::Public).unwrap();
        assert_eq!(mode_of(&public), 0o644);
        assert!(temp_files(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn planted_temp_files_and_symlinks_are_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        // Everything an attacker could guess: the old fixed names, as world-writable files and
        // as symlinks to the victim; and our own next names.
        let planted_file = dir.path().join("key.tmp");
        std::fs::write(&planted_file, b"").unwrap();
        std::fs::set_permissions(&planted_file, std::fs::Permissions::from_mode(0o666)).unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("key.pem.tmp")).unwrap();
        let next = COUNTER.load(Ordering::Relaxed);
        for n in next..next + 8 {
            let name = format!(".key.pem.{}.{n}.tmp", std::process::id());
            std::os::unix::fs::symlink(&victim, dir.path().join(name)).unwrap();
        }
        write(&key, b"secret key", Mode::Secret).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(&key).unwrap(), b"secret key");
        assert_eq!(mode_of(&key), 0o600);
        assert!(
            !std::fs::symlink_metadata(&key)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[cfg(unix)]
    #[test]
    fn create_new_never_replaces_a_file_or_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("cosign.key");
        create_new(&key, b"first", Mode::Secret).unwrap();
        let err = create_new(&key, b"second", Mode::Secret).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&key).unwrap(), b"first");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let link = dir.path().join("link.key");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let err = create_new(&link, b"key", Mode::Secret).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(temp_files(dir.path()).is_empty());
    }

    #[test]
    fn a_crash_at_any_step_leaves_the_old_or_the_new_file_whole() {
        for replace in [Replace::Yes, Replace::No] {
            for crash_at in [Step::Created, Step::Written, Step::Synced, Step::Renamed] {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("trusted_root.json");
                if replace == Replace::Yes {
                    write(&path, b"old contents", Mode::Public).unwrap();
                }
                let mut hook = |step: Step| {
                    if step == crash_at {
                        Err(io::Error::other("crash"))
                    } else {
                        Ok(())
                    }
                };
                let err = write_with(&path, b"new contents", Mode::Public, replace, &mut hook)
                    .unwrap_err();
                assert_eq!(err.to_string(), "crash");
                let now = std::fs::read(&path).ok();
                let renamed = crash_at == Step::Renamed;
                let want: Option<&[u8]> = match (renamed, replace) {
                    (true, _) => Some(b"new contents"),
                    (false, Replace::Yes) => Some(b"old contents"),
                    (false, Replace::No) => None,
                };
                assert_eq!(now.as_deref(), want, "{replace:?} {crash_at:?}");
                // Whatever was left behind, the next write succeeds and is whole.
                write(&path, b"after", Mode::Public).unwrap();
                assert_eq!(std::fs::read(&path).unwrap(), b"after");
            }
        }
    }

    #[test]
    fn files_move_without_replacing_anything() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        write(&key, b"old key", Mode::Secret).unwrap();
        let retired = dir.path().join("retired/1");
        create_dir_all(&retired).unwrap();
        move_file(&key, &retired.join("key")).unwrap();
        assert!(!key.exists());
        assert_eq!(std::fs::read(retired.join("key")).unwrap(), b"old key");
        assert_eq!(mode_of(&retired.join("key")), 0o600);
        // An existing target is never replaced, and the source stays.
        write(&key, b"new key", Mode::Secret).unwrap();
        let err = move_file(&key, &retired.join("key")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&key).unwrap(), b"new key");
        assert_eq!(std::fs::read(retired.join("key")).unwrap(), b"old key");
        remove_file(&key).unwrap();
        assert!(!key.exists());
        assert_eq!(
            remove_file(&key).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn directories_are_created_with_their_parents() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        create_dir_all(&deep).unwrap();
        assert!(deep.is_dir());
        create_dir_all(&deep).unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"").unwrap();
        assert!(create_dir_all(&file.join("x")).is_err());
    }

    #[test]
    fn a_path_without_a_file_name_is_refused() {
        assert_eq!(
            write(Path::new("/"), b"x", Mode::Public)
                .unwrap_err()
                .kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
