//! Reading the repository's and the client store's own files, bounded in size.

use crate::TufError;
use std::path::Path;

/// The file at `path`, refused when it is larger than `max` bytes.
pub(crate) fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, TufError> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| TufError::io("reading", path, e))?;
    let mut buf = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| TufError::io("reading", path, e))?;
    if buf.len() as u64 > max {
        return Err(TufError::TooLarge {
            what: path.display().to_string(),
            len: buf.len() as u64,
            max,
        });
    }
    Ok(buf)
}
