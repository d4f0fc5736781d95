//! TLS for the client's HTTP connections, with the platform's roots loaded only when a TLS
//! connection is first made.
//!
//! reqwest's default rustls setup builds `rustls-platform-verifier`'s verifier when the client
//! is built, which on Linux reads and parses every certificate under `/etc/ssl/certs`: about
//! 50 ms, most of a `sign-blob` run against a local (plain HTTP) deployment. [`LazyVerifier`]
//! builds that same verifier on the first certificate to check and delegates everything to
//! it, so TLS verification is unchanged and plain-HTTP runs skip the cost.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// A rustls client configuration (TLS 1.2 and 1.3, aws-lc-rs) that verifies servers with the
/// platform verifier, created on first use.
pub fn client_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(
        rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(LazyVerifier::new(provider)))
            .with_no_client_auth(),
    )
}

/// `rustls_platform_verifier::Verifier`, built on first use.
#[derive(Debug)]
pub struct LazyVerifier {
    provider: Arc<CryptoProvider>,
    verifier: OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>>,
}

impl LazyVerifier {
    /// A verifier that will use `provider`'s algorithms and the platform's roots.
    pub fn new(provider: Arc<CryptoProvider>) -> Self {
        LazyVerifier {
            provider,
            verifier: OnceLock::new(),
        }
    }

    fn verifier(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        self.verifier
            .get_or_init(|| rustls_platform_verifier::Verifier::new(Arc::clone(&self.provider)))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl ServerCertVerifier for LazyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    // The handshake signatures need no roots: checked with the provider's algorithms, as the
    // platform verifier (WebPKI) checks them.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_roots_are_not_loaded_until_a_certificate_is_checked() {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let lazy = LazyVerifier::new(Arc::clone(&provider));
        assert!(lazy.verifier.get().is_none());
        assert!(!lazy.supported_verify_schemes().is_empty());
        assert!(lazy.verifier.get().is_none());
        // A garbage certificate is refused by the real verifier, which is now built.
        let err = lazy
            .verify_server_cert(
                &CertificateDer::from(vec![0x30, 0x00]),
                &[],
                &ServerName::try_from("example.com").unwrap(),
                &[],
                UnixTime::now(),
            )
            .unwrap_err();
        assert!(lazy.verifier.get().is_some(), "{err}");
        assert!(client_config().is_ok());
    }
}
