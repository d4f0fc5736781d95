//! The CA's precertificates go to signet-ct's certificate-transparency log: the adapter that
//! lets a [`signet_ca::CertificateAuthority`] log in a [`signet_ct::CtLog`] without either
//! crate knowing the other.

use signet_ca::{BoxFuture, CaError, CtLogError, PrecertLogger};
use signet_ct::CtLog;
use std::sync::Arc;

/// A [`PrecertLogger`] that appends each precertificate to a [`CtLog`] and returns the SCT
/// list (one SCT) to embed.
#[derive(Debug, Clone)]
pub struct CtPrecertLogger(pub Arc<CtLog>);

impl PrecertLogger for CtPrecertLogger {
    fn add_pre_chain<'a>(
        &'a self,
        precert_der: &'a [u8],
        chain: &'a [Vec<u8>],
    ) -> BoxFuture<'a, Result<Vec<u8>, CaError>> {
        Box::pin(async move {
            let sct = self
                .0
                .add_pre_chain(precert_der, chain)
                .await
                .map_err(|e| {
                    if e.is_unavailable() {
                        CtLogError::unavailable(e)
                    } else {
                        CtLogError::log(e)
                    }
                })?;
            Ok(signet_ct::encode_sct_list(&[sct]))
        })
    }
}
