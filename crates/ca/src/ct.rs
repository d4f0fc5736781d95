//! [`PrecertLogger`] for signet-ct's certificate-transparency log.

use crate::CaError;
use crate::sct::{BoxFuture, PrecertLogger};

impl PrecertLogger for signet_ct::CtLog {
    fn add_pre_chain<'a>(
        &'a self,
        precert_der: &'a [u8],
        chain: &'a [Vec<u8>],
    ) -> BoxFuture<'a, Result<Vec<u8>, CaError>> {
        Box::pin(async move {
            let sct = signet_ct::CtLog::add_pre_chain(self, precert_der, chain)
                .await
                .map_err(|e| CaError::CtLog(e.to_string()))?;
            Ok(signet_ct::encode_sct_list(&[sct]))
        })
    }
}
