//! Checking a certificate against a trusted CA chain at a point in time.

use crate::{Certificate, X509Error, oid};
use x509_cert::ext::pkix::KeyUsages;

/// What the leaf certificate must be good for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainPurpose {
    /// Code signing (Fulcio certificates).
    CodeSigning,
    /// Time stamping (RFC 3161 TSA certificates).
    TimeStamping,
}

const KNOWN_CRITICAL: [&str; 4] = ["2.5.29.19", "2.5.29.15", "2.5.29.37", "2.5.29.17"];

fn check_critical_extensions(cert: &Certificate) -> Result<(), X509Error> {
    for (oid, critical) in cert.extension_oids() {
        if critical && !KNOWN_CRITICAL.contains(&oid.as_str()) {
            return Err(X509Error::UnknownCriticalExtension { oid });
        }
    }
    Ok(())
}

fn check_valid_at(cert: &Certificate, time: i64) -> Result<(), X509Error> {
    if !cert.is_valid_at(time) {
        return Err(X509Error::Expired {
            subject: cert.display_name(),
            time,
            not_before: cert.not_before(),
            not_after: cert.not_after(),
        });
    }
    Ok(())
}

/// Checks that `issuer` may issue certificates with `below` CA certificates under it.
fn check_ca(issuer: &Certificate, below: usize) -> Result<(), X509Error> {
    let not_ca = |reason| X509Error::NotACa {
        subject: issuer.display_name(),
        reason,
    };
    let Some((critical, ca, path_len)) = issuer.basic_constraints()? else {
        return Err(not_ca("no basic constraints"));
    };
    if !ca {
        return Err(not_ca("basic constraints say it is not a CA"));
    }
    if !critical {
        return Err(not_ca("basic constraints are not critical"));
    }
    if !issuer.has_key_usage(KeyUsages::KeyCertSign)? {
        return Err(not_ca("key usage lacks keyCertSign"));
    }
    if let Some(max) = path_len
        && below > usize::from(max)
    {
        return Err(not_ca("path length constraint exceeded"));
    }
    Ok(())
}

/// Checks a trusted CA chain (issuing certificate first, root last) on its own, once, when it
/// is loaded: the last certificate is a self-signed root, each certificate is issued by the next,
/// and each is a CA allowed to issue the certificates below it. Time is not checked here.
pub fn check_trusted_chain(trusted: &[Certificate]) -> Result<(), X509Error> {
    let Some(root) = trusted.last() else {
        return Err(X509Error::BadTrustedChain("no certificates"));
    };
    root.verify_issued_by(root)
        .map_err(|_| X509Error::BadTrustedChain("last certificate is not a self-signed root"))?;
    for (below, issuer) in trusted.iter().enumerate() {
        check_critical_extensions(issuer)?;
        // `below` counts the CA certificates under this one, the leaf's issuer having none.
        check_ca(issuer, below)?;
    }
    for pair in trusted.windows(2) {
        if let [child, issuer] = pair {
            child.verify_issued_by(issuer)?;
        }
    }
    Ok(())
}

/// Checks that `leaf` chains to the trusted CA chain `trusted` (issuer first, root last) and
/// that every certificate is valid at `time` (Unix seconds, ends inclusive).
///
/// The leaf must be an end-entity certificate with the digitalSignature key usage and the
/// extended key usage of `purpose`. Every issuer must be a CA with critical basic constraints,
/// keyCertSign, and a path length that allows the certificates below it. The last trusted
/// certificate must be self-signed. Certificates with critical extensions outside basic
/// constraints, key usage, extended key usage and SAN are rejected.
pub fn verify_chain(
    leaf: &Certificate,
    trusted: &[Certificate],
    time: i64,
    purpose: ChainPurpose,
) -> Result<(), X509Error> {
    check_trusted_chain(trusted)?;
    let issuer = trusted
        .first()
        .ok_or(X509Error::BadTrustedChain("no certificates"))?;
    leaf.verify_issued_by(issuer)?;
    verify_leaf_with_checked_chain(leaf, trusted, time, purpose)
}

/// The time- and purpose-dependent part of [`verify_chain`], for a `trusted` chain that already
/// passed [`check_trusted_chain`] and a `leaf` whose signature by `trusted[0]` was already
/// checked with [`Certificate::verify_issued_by`]. Verifiers that check many certificates
/// against the same trust root use this to avoid repeating signature checks.
pub fn verify_leaf_with_checked_chain(
    leaf: &Certificate,
    trusted: &[Certificate],
    time: i64,
    purpose: ChainPurpose,
) -> Result<(), X509Error> {
    check_critical_extensions(leaf)?;
    check_valid_at(leaf, time)?;
    let (purpose_name, eku) = match purpose {
        ChainPurpose::CodeSigning => ("code signing", oid::EKU_CODE_SIGNING),
        ChainPurpose::TimeStamping => ("time stamping", oid::EKU_TIME_STAMPING),
    };
    if leaf.is_ca() {
        return Err(X509Error::WrongUsage {
            purpose: purpose_name,
            reason: "it is a CA certificate",
        });
    }
    if !leaf.has_key_usage(KeyUsages::DigitalSignature)? {
        return Err(X509Error::WrongUsage {
            purpose: purpose_name,
            reason: "key usage lacks digitalSignature",
        });
    }
    if !leaf.has_extended_key_usage(&eku)? {
        return Err(X509Error::WrongUsage {
            purpose: purpose_name,
            reason: "extended key usage does not allow it",
        });
    }
    for issuer in trusted {
        check_valid_at(issuer, time)?;
    }
    Ok(())
}
