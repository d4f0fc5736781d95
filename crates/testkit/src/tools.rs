//! The other Sigstore clients the interop tests run beside signet.

use std::path::PathBuf;

/// A program named by the environment variable `var`, or `None` after a note (a panic when
/// `require` is `1`).
fn configured(var: &str, require: &str, script: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            assert!(
                !crate::required(require),
                "{require}=1 but {var} is not set; run ./{script} and set {var} to what it prints"
            );
            eprintln!("skipping: {var} is not set (./{script} prints it)");
            None
        }
    }
}

/// The python of a venv with sigstore-python (`SIGNET_SIGSTORE_PYTHON`, which
/// `scripts/ensure-sigstore-python` prints); `None` unless `SIGNET_REQUIRE_DIFFERENTIAL=1`.
pub fn sigstore_python() -> Option<PathBuf> {
    configured(
        "SIGNET_SIGSTORE_PYTHON",
        "SIGNET_REQUIRE_DIFFERENTIAL",
        "scripts/ensure-sigstore-python",
    )
}

/// The sigstore-js launcher (`SIGNET_SIGSTORE_JS`, which `scripts/ensure-sigstore-js` prints);
/// `None` unless `SIGNET_REQUIRE_SIGSTORE_JS=1`.
pub fn sigstore_js() -> Option<PathBuf> {
    configured(
        "SIGNET_SIGSTORE_JS",
        "SIGNET_REQUIRE_SIGSTORE_JS",
        "scripts/ensure-sigstore-js",
    )
}

/// chromedriver for the log explorer's browser tests (`SIGNET_CHROMEDRIVER`, which
/// `scripts/ensure-chromium` prints); `None` unless `SIGNET_REQUIRE_BROWSER=1`.
pub fn chromedriver() -> Option<PathBuf> {
    configured(
        "SIGNET_CHROMEDRIVER",
        "SIGNET_REQUIRE_BROWSER",
        "scripts/ensure-chromium",
    )
}

/// The SoftHSM2 PKCS#11 module for the PKCS#11 key tests (`SIGNET_SOFTHSM_MODULE`, which
/// `scripts/ensure-softhsm` prints); `None` unless `SIGNET_REQUIRE_SOFTHSM=1`.
pub fn softhsm_module() -> Option<PathBuf> {
    configured(
        "SIGNET_SOFTHSM_MODULE",
        "SIGNET_REQUIRE_SOFTHSM",
        "scripts/ensure-softhsm",
    )
}
