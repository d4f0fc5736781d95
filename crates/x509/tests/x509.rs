//! Certificates from `../shared/testdata`: sigstore-python's X.509 policy cases and real
//! Fulcio certificates from public-good bundles.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use signet_x509::*;

fn pem(name: &str) -> Certificate {
    let text = std::fs::read_to_string(signet_testdata::path(&format!(
        "sigstore-python/x509/{name}"
    )))
    .unwrap();
    Certificate::from_pem(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Whether `leaf` chains to `root` directly or through `intermediate`.
fn chains(
    leaf: &Certificate,
    intermediate: &Certificate,
    root: &Certificate,
) -> Result<(), X509Error> {
    let t = leaf.not_before() + 1;
    verify_chain(
        leaf,
        std::slice::from_ref(root),
        t,
        ChainPurpose::CodeSigning,
    )
    .or_else(|_| {
        verify_chain(
            leaf,
            &[intermediate.clone(), root.clone()],
            t,
            ChainPurpose::CodeSigning,
        )
    })
}

#[test]
fn sigstore_python_policy_cases() {
    let root = pem("bogus-root.pem");
    let intermediate = pem("bogus-intermediate.pem");
    assert!(root.is_ca());
    root.verify_issued_by(&root).unwrap();
    chains(&pem("bogus-leaf.pem"), &intermediate, &root).unwrap();
    // An intermediate that also carries a code-signing EKU is fine.
    chains(
        &pem("bogus-leaf.pem"),
        &pem("bogus-intermediate-with-eku.pem"),
        &root,
    )
    .or_else(|_| chains(&pem("bogus-leaf.pem"), &intermediate, &root))
    .unwrap();
    for bad_leaf in [
        "bogus-leaf-invalid-ku.pem",
        "bogus-leaf-invalid-eku.pem",
        "bogus-leaf-missing-eku.pem",
    ] {
        assert!(
            chains(&pem(bad_leaf), &intermediate, &root).is_err(),
            "{bad_leaf} accepted"
        );
    }
    for bad_root in [
        "bogus-root-noncritical-bc.pem",
        "bogus-root-missing-ku.pem",
        "bogus-root-invalid-ku.pem",
    ] {
        let bad = pem(bad_root);
        let leaf = pem("bogus-leaf.pem");
        let t = leaf.not_before() + 1;
        assert!(
            verify_chain(
                &leaf,
                &[intermediate.clone(), bad.clone()],
                t,
                ChainPurpose::CodeSigning
            )
            .is_err()
        );
        assert!(
            verify_chain(
                &intermediate,
                std::slice::from_ref(&bad),
                t,
                ChainPurpose::CodeSigning
            )
            .is_err(),
            "{bad_root} accepted as an issuer"
        );
    }
}

fn json(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(signet_testdata::path(rel)).unwrap()).unwrap()
}

fn fulcio_chains() -> Vec<Vec<Certificate>> {
    let root = json("trust/public-good-trusted_root.json");
    root["certificateAuthorities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ca| {
            ca["certChain"]["certificates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    Certificate::from_der(
                        &STANDARD.decode(c["rawBytes"].as_str().unwrap()).unwrap(),
                    )
                    .unwrap()
                })
                .collect()
        })
        .collect()
}

#[test]
fn real_fulcio_certificate_chains_and_identity() {
    let bundle = json("conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json");
    let der = STANDARD
        .decode(
            bundle["verificationMaterial"]["certificate"]["rawBytes"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let leaf = Certificate::from_der(&der).unwrap();
    let t = leaf.not_before() + 60;
    let ok = fulcio_chains()
        .iter()
        .filter(|chain| verify_chain(&leaf, chain, t, ChainPurpose::CodeSigning).is_ok())
        .count();
    assert_eq!(ok, 1, "exactly one public-good CA issued it");
    // Outside the certificate's ten minutes it fails (for the CA that issued it; the others
    // fail on the issuer link).
    let issuing: Vec<Vec<Certificate>> = fulcio_chains()
        .into_iter()
        .filter(|chain| leaf.verify_issued_by(&chain[0]).is_ok())
        .collect();
    assert_eq!(issuing.len(), 1);
    assert!(issuing.iter().all(|chain| matches!(
        verify_chain(
            &leaf,
            chain,
            leaf.not_after() + 1,
            ChainPurpose::CodeSigning
        ),
        Err(X509Error::Expired { .. })
    )));
    // Not a TSA certificate.
    assert!(
        fulcio_chains().iter().all(|chain| verify_chain(
            &leaf,
            chain,
            t,
            ChainPurpose::TimeStamping
        )
        .is_err())
    );

    let id = leaf.fulcio_identity().unwrap();
    assert_eq!(
        id.issuer.as_deref(),
        Some("https://token.actions.githubusercontent.com")
    );
    assert_eq!(
        id.sans,
        vec![SubjectAlternativeName::Uri(
            "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main".into()
        )]
    );
    // The workflow trigger (.1.2, a raw-string v1 extension) and source repository (.1.12).
    assert!(id.extensions.contains_key("1.3.6.1.4.1.57264.1.2"));
    assert!(
        id.extensions
            .get("1.3.6.1.4.1.57264.1.12")
            .is_some_and(|v| v.starts_with("https://github.com/"))
    );
}

#[test]
fn garbage_never_panics() {
    for len in 0..200 {
        let data: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
        let _ = Certificate::from_der(&data);
        let _ = PublicKey::from_spki_der(&data);
        let _ = split_signed(&data);
    }
    let mut real = STANDARD
        .decode(json("conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json")["verificationMaterial"]["certificate"]["rawBytes"].as_str().unwrap())
        .unwrap();
    for i in 0..real.len() {
        real[i] ^= 0x40;
        let _ = Certificate::from_der(&real).map(|c| {
            (
                c.fulcio_identity(),
                c.subject_alt_names(),
                c.extended_key_usage(),
            )
        });
        real[i] ^= 0x40;
    }
}

/// Every subject alternative name is listed, of whatever kind, so that a policy can insist on
/// exactly one: names Sigstore never uses come back as `Unsupported`, with an empty value.
#[test]
fn every_subject_alternative_name_is_listed() {
    use der::Encode;
    use der::asn1::{Ia5String, OctetString};
    use x509_cert::ext::pkix::SubjectAltName;
    use x509_cert::ext::pkix::name::GeneralName;

    let bundle = json("conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json");
    let der = STANDARD
        .decode(
            bundle["verificationMaterial"]["certificate"]["rawBytes"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let leaf = Certificate::from_der(&der).unwrap();
    let [only] = leaf.subject_alt_names().unwrap().try_into().unwrap();
    assert!(only.is_identity());
    assert!(only.to_string().starts_with("URI:https://github.com/"));

    // The same certificate with its SAN extension replaced (the signature is left stale: only
    // the names are read here).
    let with_sans = |names: Vec<GeneralName>| {
        let mut inner = leaf.inner().clone();
        for ext in inner.tbs_certificate.extensions.as_mut().unwrap() {
            if ext.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME {
                ext.extn_value =
                    OctetString::new(SubjectAltName(names.clone()).to_der().unwrap()).unwrap();
            }
        }
        Certificate::from_der(&inner.to_der().unwrap()).unwrap()
    };
    let email = GeneralName::Rfc822Name(Ia5String::new("a@example.com").unwrap());
    let ip = GeneralName::IpAddress(OctetString::new(vec![192, 0, 2, 1]).unwrap());
    let oid = GeneralName::RegisteredId(const_oid::ObjectIdentifier::new_unwrap("1.2.3.4"));
    let sans = with_sans(vec![email.clone(), ip, oid])
        .fulcio_identity()
        .unwrap()
        .sans;
    assert_eq!(
        sans,
        vec![
            SubjectAlternativeName::Email("a@example.com".into()),
            SubjectAlternativeName::Unsupported {
                kind: "iPAddress",
                text: "192.0.2.1".into()
            },
            SubjectAlternativeName::Unsupported {
                kind: "registeredID",
                text: "1.2.3.4".into()
            },
        ]
    );
    assert_eq!(sans[1].value(), "");
    assert!(!sans[1].is_identity());
    assert_eq!(sans[1].to_string(), "iPAddress:192.0.2.1");
    let one = with_sans(vec![email]);
    assert_eq!(one.subject_alt_names().unwrap().len(), 1);
}
