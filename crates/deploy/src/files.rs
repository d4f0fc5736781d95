//! Reading and writing the data directory's small files. Every write goes through
//! [`signet_durable::write`] (fresh temporary file with its final mode, fsync, rename, fsync of
//! the directory).

use crate::DeployError;
use std::path::Path;

/// The file's contents, or `None` if it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, DeployError> {
    match std::fs::read(path) {
        Ok(data) => Ok(Some(data)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(DeployError::io(path)(e)),
    }
}

/// Writes `data` to `path` with mode 0600, durably.
pub(crate) fn write_secret(path: &Path, data: &[u8]) -> Result<(), DeployError> {
    signet_durable::write(path, data, signet_durable::Mode::Secret).map_err(DeployError::io(path))
}

/// Writes a public file (mode 0644) durably.
pub(crate) fn write_public(path: &Path, data: &[u8]) -> Result<(), DeployError> {
    signet_durable::write(path, data, signet_durable::Mode::Public).map_err(DeployError::io(path))
}
