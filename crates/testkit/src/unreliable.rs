//! A service key that stops signing on demand, as an HSM key does when the HSM goes away: the
//! test double for the services' 503 paths (the real HSM is SoftHSM2, in the end-to-end
//! tests).

use signet_signer::{MemorySigner, SignError, Signer, SignerAlgorithm};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A key in memory that signs while it has signatures left (unlimited at first) and then
/// fails with a [`SignError`].
#[derive(Debug)]
pub struct UnreliableSigner {
    inner: MemorySigner,
    ok_left: AtomicU64,
    location: String,
}

impl UnreliableSigner {
    /// A key that signs until told otherwise; `location` is what errors name (e.g.
    /// `pkcs11:token=test;object=ct`).
    pub fn new(inner: MemorySigner, location: &str) -> Arc<UnreliableSigner> {
        Arc::new(UnreliableSigner {
            inner,
            ok_left: AtomicU64::new(u64::MAX),
            location: location.to_owned(),
        })
    }

    /// From now on, `n` more signatures succeed, then every one fails.
    pub fn fail_after(&self, n: u64) {
        self.ok_left.store(n, Ordering::SeqCst);
    }

    /// Fails every signature (`true`), or signs again without limit (`false`).
    pub fn set_failing(&self, failing: bool) {
        self.fail_after(if failing { 0 } else { u64::MAX });
    }
}

impl Signer for UnreliableSigner {
    fn algorithm(&self) -> SignerAlgorithm {
        self.inner.algorithm()
    }

    fn public_key_spki_der(&self) -> &[u8] {
        self.inner.public_key_spki_der()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let allowed = self
            .ok_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if allowed {
            self.inner.sign(message)
        } else {
            Err(SignError {
                key: self.location(),
                reason: "test: the HSM is gone".into(),
            })
        }
    }

    fn location(&self) -> String {
        self.location.clone()
    }
}
