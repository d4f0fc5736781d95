//! The error type of this crate.

/// Why a certificate, key or chain was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum X509Error {
    /// The bytes are not a DER certificate.
    #[error("certificate is not valid DER: {0}")]
    Der(String),
    /// The text is not PEM of the expected kind.
    #[error("not a PEM {expected}: {reason}")]
    Pem {
        /// The label expected (`CERTIFICATE`, `PUBLIC KEY`).
        expected: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// An extension could not be decoded.
    #[error("certificate extension {oid} is malformed")]
    Extension {
        /// The extension's OID.
        oid: String,
    },
    /// The same extension appears twice.
    #[error("certificate has extension {oid} more than once")]
    DuplicateExtension {
        /// The extension's OID.
        oid: String,
    },
    /// A public key algorithm or curve that Sigstore does not use.
    #[error("unsupported public key: {0}")]
    UnsupportedKey(String),
    /// A signature algorithm we do not accept.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedSignatureAlgorithm(String),
    /// The signature does not verify with the key.
    #[error("signature does not verify")]
    BadSignature,
    /// A certificate in the chain is not valid at the time checked.
    #[error("certificate {subject} is not valid at {time} (valid {not_before} to {not_after})")]
    Expired {
        /// The certificate's subject.
        subject: String,
        /// The time checked (Unix seconds).
        time: i64,
        /// Start of validity.
        not_before: i64,
        /// End of validity.
        not_after: i64,
    },
    /// A certificate used as an issuer is not a CA, lacks keyCertSign, or violates a path length.
    #[error("certificate {subject} may not issue certificates: {reason}")]
    NotACa {
        /// The issuer's subject.
        subject: String,
        /// Which constraint failed.
        reason: &'static str,
    },
    /// The leaf certificate is not fit for the purpose (key usage, extended key usage, CA bit).
    #[error("certificate is not valid for {purpose}: {reason}")]
    WrongUsage {
        /// The purpose checked.
        purpose: &'static str,
        /// What was missing.
        reason: &'static str,
    },
    /// The chain does not link: an issuer name or signature does not match.
    #[error("certificate {subject} is not issued by {issuer}")]
    NotIssuedBy {
        /// The child's subject.
        subject: String,
        /// The supposed issuer's subject.
        issuer: String,
    },
    /// The trusted chain given is empty or does not end in a self-signed root.
    #[error("trusted chain is unusable: {0}")]
    BadTrustedChain(&'static str),
    /// A critical extension we do not understand.
    #[error("certificate has unknown critical extension {oid}")]
    UnknownCriticalExtension {
        /// The extension's OID.
        oid: String,
    },
    /// The certificate has no embedded SCT list (extension 1.3.6.1.4.1.11129.2.4.2): it was
    /// not logged to Certificate Transparency, or its CA does not embed SCTs.
    #[error("certificate has no embedded SCT list")]
    MissingSctList,
    /// The embedded SCT list is malformed (`index` is `None`), or the SCT at `index` is
    /// malformed or, coming from a trusted log, does not verify.
    #[error("embedded {}: {reason}", sct_position(*.index))]
    Sct {
        /// Position of the SCT in the list; `None` for the list as a whole.
        index: Option<usize>,
        /// What was wrong.
        reason: crate::SctError,
    },
    /// None of the embedded SCTs comes from a trusted CT log: the certificate was logged
    /// elsewhere, or the trust root lacks the log.
    #[error("none of the {count} embedded SCTs is from a trusted CT log")]
    NoValidSct {
        /// How many SCTs the certificate carries.
        count: usize,
    },
}

fn sct_position(index: Option<usize>) -> String {
    match index {
        Some(i) => format!("SCT {i}"),
        None => "SCT list".to_owned(),
    }
}
