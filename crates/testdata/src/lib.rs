//! Test-only helpers: locates `../shared/testdata` (the shared test vectors, kept beside the
//! repository and never copied into it) from any crate's tests, and [`slow`], a server that
//! never finishes its answer.
//!
//! Test code, only ever a dev-dependency: it panics when the vectors cannot be found (the
//! tests cannot run without them), and [`slow`] binds loopback ports.
//!
//! ```
//! let merkle = signet_testdata::path("merkle/rfc6962-hasher.json");
//! assert!(merkle.ends_with("shared/testdata/merkle/rfc6962-hasher.json"));
//! ```

use std::path::{Path, PathBuf};

pub mod slow;

/// The `shared/testdata` directory beside the workspace root.
///
/// # Panics
/// If the directory cannot be found: tests cannot run without it.
pub fn dir() -> PathBuf {
    shared_dir().join("testdata")
}

/// The `shared` directory beside the workspace root (holds `testdata/` and `conformance/`).
///
/// # Panics
/// If the directory cannot be found: tests cannot run without it.
pub fn shared_dir() -> PathBuf {
    // Prefer the directory of the package under test (set by cargo and nextest when tests
    // run); fall back to where this crate was compiled.
    let runtime = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let here = runtime
        .as_deref()
        .unwrap_or(Path::new(env!("CARGO_MANIFEST_DIR")));
    for dir in here.ancestors() {
        let is_root = dir.join("Cargo.lock").exists() || dir.join(".git").exists();
        if let Some(shared) = dir
            .parent()
            .map(|p| p.join("shared"))
            .filter(|s| is_root && s.join("testdata").is_dir())
        {
            return shared;
        }
    }
    #[allow(clippy::panic)]
    {
        panic!(
            "../shared/testdata not found beside the workspace root (from {})",
            here.display()
        )
    }
}

/// A path inside `shared/testdata`.
pub fn path(relative: &str) -> PathBuf {
    dir().join(relative)
}
