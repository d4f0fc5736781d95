//! Issuance through `CertificateAuthority` and the identity builders, checked field by field.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aws_lc_rs::rand::SystemRandom;
use der::Decode;
use der::asn1::Utf8StringRef;
use serde_json::{Value, json};
use signet_ca::identity::{identity_from_token, oids};
use signet_ca::request::{check_csr, check_subject_key};
use signet_ca::{
    CaAlgorithm, CaError, CaKeys, CsrError, ExtensionValue, IdentityError, KeyMaterialError,
    SubjectKeyError, SubjectName,
};
use signet_oidc::{IssuerType, VerifiedToken};
use signet_testkit::ca::*;
use signet_x509::{
    Certificate, ChainPurpose, SubjectAlternativeName, verify_chain, verify_embedded_scts,
};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, KeyUsages, SubjectKeyIdentifier};

fn token(issuer_type: IssuerType, claims: Value) -> VerifiedToken {
    let claims = claims.as_object().unwrap().clone();
    VerifiedToken {
        issuer: issuer_config(claims["iss"].as_str().unwrap(), issuer_type),
        subject: claims["sub"].as_str().unwrap().to_owned(),
        claims,
    }
}

fn ext_text(cert: &Certificate, oid: &str) -> Option<(bool, Vec<u8>)> {
    cert.extension(&oid.parse().unwrap())
        .map(|(c, v)| (c, v.to_vec()))
}

fn utf8(value: &[u8]) -> String {
    Utf8StringRef::from_der(value).unwrap().as_str().to_owned()
}

#[tokio::test]
async fn email_certificate_field_by_field() {
    for algorithm in [CaAlgorithm::EcdsaP256, CaAlgorithm::EcdsaP384] {
        let (ca, sct_spki) = new_ca(algorithm);
        let subject = SubjectKey::new();
        let key = check_subject_key(&subject.spki()).unwrap();
        let t = token(
            IssuerType::Email,
            json!({"iss": ISSUER, "sub": "s1", "email": "alice@example.test", "email_verified": true}),
        );
        let identity = identity_from_token(&t).unwrap();
        assert_eq!(identity.challenge, "alice@example.test");
        let now = now();
        let serial = [0xffu8; 20];
        let issued = ca.issue(&identity, &key, now, serial).await.unwrap();
        let leaf = Certificate::from_der(&issued.leaf_der).unwrap();
        let precert = Certificate::from_der(&issued.precert_der).unwrap();

        // Validity: 600 s from now; empty subject; issuer = intermediate's subject.
        assert_eq!(leaf.not_before(), now);
        assert_eq!(leaf.not_after() - leaf.not_before(), 600);
        assert_eq!(leaf.subject(), "");
        assert_eq!(leaf.issuer(), ca.keys().intermediate().subject());
        // Serial: 20 bytes, positive.
        let serial = leaf.inner().tbs_certificate.serial_number.as_bytes();
        assert_eq!(serial.len(), 20);
        assert!(serial[0] & 0x80 == 0 && serial[0] != 0);
        // The subject key is the one requested.
        assert_eq!(leaf.public_key().spki_der(), subject.spki().as_slice());
        // SAN: critical email.
        let (critical, _) = ext_text(&leaf, "2.5.29.17").unwrap();
        assert!(critical);
        assert_eq!(
            leaf.subject_alt_names().unwrap(),
            vec![SubjectAlternativeName::Email("alice@example.test".into())]
        );
        // KeyUsage: critical, digitalSignature only.
        let (critical, _) = ext_text(&leaf, "2.5.29.15").unwrap();
        assert!(critical);
        let ku = leaf.key_usage().unwrap().unwrap();
        assert_eq!(
            ku.0.into_iter().collect::<Vec<_>>(),
            vec![KeyUsages::DigitalSignature]
        );
        // EKU: codeSigning.
        assert_eq!(
            leaf.extended_key_usage().unwrap(),
            (false, vec!["1.3.6.1.5.5.7.3.3".to_owned()])
        );
        // SKI = SHA-1 of the subject key bits; AKI = the intermediate's SKI.
        let (_, ski) = ext_text(&leaf, "2.5.29.14").unwrap();
        let ski = SubjectKeyIdentifier::from_der(&ski).unwrap();
        let bits = x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(&subject.spki())
            .unwrap()
            .subject_public_key;
        let sha1 = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            bits.raw_bytes(),
        );
        assert_eq!(ski.0.as_bytes(), sha1.as_ref());
        let (_, aki) = ext_text(&leaf, "2.5.29.35").unwrap();
        let aki = AuthorityKeyIdentifier::from_der(&aki).unwrap();
        let (_, int_ski) = ext_text(ca.keys().intermediate(), "2.5.29.14").unwrap();
        let int_ski = SubjectKeyIdentifier::from_der(&int_ski).unwrap();
        assert_eq!(aki.key_identifier.unwrap().as_bytes(), int_ski.0.as_bytes());
        // Issuer extensions: .1 raw, .8 UTF8String.
        assert_eq!(
            ext_text(&leaf, "1.3.6.1.4.1.57264.1.1").unwrap(),
            (false, ISSUER.as_bytes().to_vec())
        );
        let (critical, v2) = ext_text(&leaf, "1.3.6.1.4.1.57264.1.8").unwrap();
        assert!(!critical);
        assert_eq!(v2[0], 0x0c, "UTF8String tag");
        assert_eq!(utf8(&v2), ISSUER);
        let id = leaf.fulcio_identity().unwrap();
        assert_eq!(id.issuer.as_deref(), Some(ISSUER));
        // Precertificate: critical poison (ASN.1 NULL), no SCT list; leaf: no poison,
        // non-critical SCT list.
        assert_eq!(
            ext_text(&precert, "1.3.6.1.4.1.11129.2.4.3").unwrap(),
            (true, vec![0x05, 0x00])
        );
        assert!(ext_text(&precert, "1.3.6.1.4.1.11129.2.4.2").is_none());
        assert!(ext_text(&leaf, "1.3.6.1.4.1.11129.2.4.3").is_none());
        assert!(!ext_text(&leaf, "1.3.6.1.4.1.11129.2.4.2").unwrap().0);
        // Same serial and validity in both.
        assert_eq!(
            precert.inner().tbs_certificate.serial_number,
            leaf.inner().tbs_certificate.serial_number
        );
        // Signature algorithm follows the CA key.
        let want = match algorithm {
            CaAlgorithm::EcdsaP256 => "1.2.840.10045.4.3.2",
            CaAlgorithm::EcdsaP384 => "1.2.840.10045.4.3.3",
        };
        assert_eq!(leaf.signature_algorithm(), want);
        // Chain and SCT verify with the project's verifier.
        verify_chain(
            &leaf,
            &ca.keys().chain(),
            now + 1,
            ChainPurpose::CodeSigning,
        )
        .unwrap();
        precert.verify_issued_by(ca.keys().intermediate()).unwrap();
        let logs = vec![signet_x509::CtLog::from_key(
            signet_x509::PublicKey::from_spki_der(&sct_spki).unwrap(),
        )];
        let scts = verify_embedded_scts(&leaf, ca.keys().intermediate(), &logs).unwrap();
        assert_eq!(scts.len(), 1);
        // Expired after 600 s.
        assert!(
            verify_chain(
                &leaf,
                &ca.keys().chain(),
                now + 601,
                ChainPurpose::CodeSigning
            )
            .is_err()
        );
        // The chain PEMs: leaf, intermediate, root.
        assert_eq!(issued.chain_pem.len(), 3);
        assert_eq!(Certificate::from_pem(&issued.chain_pem[0]).unwrap(), leaf);
        assert_eq!(
            Certificate::from_pem(&issued.chain_pem[2]).unwrap(),
            *ca.keys().root()
        );
    }
}

#[test]
fn ca_certificates_have_ca_extensions() {
    let keys = CaKeys::generate(now(), CaAlgorithm::EcdsaP256, &SystemRandom::new()).unwrap();
    let root = keys.root();
    let int = keys.intermediate();
    assert_eq!(
        root.basic_constraints().unwrap(),
        Some((true, true, Some(1)))
    );
    assert_eq!(
        int.basic_constraints().unwrap(),
        Some((true, true, Some(0)))
    );
    for c in [root, int] {
        let ku = c.key_usage().unwrap().unwrap();
        assert!(ku.0.contains(KeyUsages::KeyCertSign) && ku.0.contains(KeyUsages::CRLSign));
        assert!(ext_text(c, "2.5.29.14").is_some());
        assert!(ext_text(c, "2.5.29.35").is_some());
    }
    root.verify_issued_by(root).unwrap();
    int.verify_issued_by(root).unwrap();
    // Keys never show in Debug.
    let debug = format!("{keys:?}");
    assert!(!debug.contains("PRIVATE"));
    let pem = keys.to_pem().unwrap();
    assert!(!format!("{pem:?}").contains("PRIVATE"));
    // PEM round trip.
    let again = CaKeys::from_pem(&pem).unwrap();
    assert_eq!(again.root(), keys.root());
    assert_eq!(again.intermediate(), keys.intermediate());
    // A mismatched key is refused.
    let other = CaKeys::generate(now(), CaAlgorithm::EcdsaP256, &SystemRandom::new())
        .unwrap()
        .to_pem()
        .unwrap();
    let mut bad = pem.clone();
    bad.intermediate_key = other.intermediate_key;
    assert!(matches!(
        CaKeys::from_pem(&bad),
        Err(CaError::KeyMaterial(
            KeyMaterialError::IntermediateKeyMismatch
        ))
    ));
}

#[test]
fn load_or_create_keeps_keys_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let a = signet_ca::store::load_or_create(
        dir.path(),
        now(),
        CaAlgorithm::EcdsaP384,
        &SystemRandom::new(),
    )
    .unwrap();
    for name in [
        signet_ca::store::ROOT_KEY_FILE,
        signet_ca::store::INTERMEDIATE_KEY_FILE,
    ] {
        let mode = std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    let b = signet_ca::store::load_or_create(
        dir.path(),
        now(),
        CaAlgorithm::EcdsaP256,
        &SystemRandom::new(),
    )
    .unwrap();
    assert_eq!(a.intermediate(), b.intermediate());
    // Half-present material is an error, not overwritten.
    std::fs::remove_file(dir.path().join(signet_ca::store::INTERMEDIATE_KEY_FILE)).unwrap();
    assert!(
        signet_ca::store::load_or_create(
            dir.path(),
            now(),
            CaAlgorithm::EcdsaP256,
            &SystemRandom::new()
        )
        .is_err()
    );
}

fn github_claims() -> Value {
    json!({
        "iss": "https://token.actions.githubusercontent.com",
        "sub": "repo:octo/app:ref:refs/heads/main",
        "job_workflow_ref": "octo/app/.github/workflows/release.yml@refs/heads/main",
        "job_workflow_sha": "1111111111111111111111111111111111111111",
        "sha": "2222222222222222222222222222222222222222",
        "event_name": "push",
        "repository": "octo/app",
        "workflow": "Release",
        "ref": "refs/heads/main",
        "runner_environment": "github-hosted",
        "repository_id": "123",
        "repository_owner": "octo",
        "repository_owner_id": 456,
        "workflow_ref": "octo/app/.github/workflows/release.yml@refs/heads/main",
        "workflow_sha": "3333333333333333333333333333333333333333",
        "run_id": "789",
        "run_attempt": "2",
        "repository_visibility": "public",
    })
}

#[tokio::test]
async fn github_workflow_extensions() {
    let t = token(IssuerType::GithubWorkflow, github_claims());
    let identity = identity_from_token(&t).unwrap();
    let san = "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main";
    assert_eq!(identity.san, SubjectName::Uri(san.into()));
    assert_eq!(identity.challenge, "repo:octo/app:ref:refs/heads/main");
    let (ca, _) = new_ca(CaAlgorithm::EcdsaP256);
    let key = check_subject_key(&SubjectKey::new().spki()).unwrap();
    let issued = ca.issue(&identity, &key, now(), [7; 20]).await.unwrap();
    let leaf = Certificate::from_der(&issued.leaf_der).unwrap();
    let expected_raw = [
        (
            "1.3.6.1.4.1.57264.1.1",
            "https://token.actions.githubusercontent.com",
        ),
        ("1.3.6.1.4.1.57264.1.2", "push"),
        (
            "1.3.6.1.4.1.57264.1.3",
            "2222222222222222222222222222222222222222",
        ),
        ("1.3.6.1.4.1.57264.1.4", "Release"),
        ("1.3.6.1.4.1.57264.1.5", "octo/app"),
        ("1.3.6.1.4.1.57264.1.6", "refs/heads/main"),
    ];
    for (oid, value) in expected_raw {
        assert_eq!(ext_text(&leaf, oid).unwrap().1, value.as_bytes(), "{oid}");
    }
    let expected_utf8 = [
        (
            "1.3.6.1.4.1.57264.1.8",
            "https://token.actions.githubusercontent.com",
        ),
        ("1.3.6.1.4.1.57264.1.9", san),
        (
            "1.3.6.1.4.1.57264.1.10",
            "1111111111111111111111111111111111111111",
        ),
        ("1.3.6.1.4.1.57264.1.11", "github-hosted"),
        ("1.3.6.1.4.1.57264.1.12", "https://github.com/octo/app"),
        (
            "1.3.6.1.4.1.57264.1.13",
            "2222222222222222222222222222222222222222",
        ),
        ("1.3.6.1.4.1.57264.1.14", "refs/heads/main"),
        ("1.3.6.1.4.1.57264.1.15", "123"),
        ("1.3.6.1.4.1.57264.1.16", "https://github.com/octo"),
        ("1.3.6.1.4.1.57264.1.17", "456"),
        ("1.3.6.1.4.1.57264.1.18", san),
        (
            "1.3.6.1.4.1.57264.1.19",
            "3333333333333333333333333333333333333333",
        ),
        ("1.3.6.1.4.1.57264.1.20", "push"),
        (
            "1.3.6.1.4.1.57264.1.21",
            "https://github.com/octo/app/actions/runs/789/attempts/2",
        ),
        ("1.3.6.1.4.1.57264.1.22", "public"),
    ];
    for (oid, value) in expected_utf8 {
        let (critical, der) = ext_text(&leaf, oid).unwrap();
        assert!(!critical);
        assert_eq!(utf8(&der), value, "{oid}");
    }
    // signet-x509's parser reads every one of them back.
    let id = leaf.fulcio_identity().unwrap();
    assert_eq!(
        id.extensions.len(),
        expected_raw.len() + expected_utf8.len()
    );
    for (oid, value) in expected_raw.iter().chain(expected_utf8.iter()) {
        assert_eq!(id.extensions[*oid], *value);
    }
    // GitHub Enterprise Server: the web origin comes from the issuer's `url` mapping.
    let mut ghes = token(IssuerType::GithubWorkflow, github_claims());
    ghes.issuer
        .claim_mappings
        .insert("url".into(), "https://ghe.example/".into());
    let id = identity_from_token(&ghes).unwrap();
    assert_eq!(
        id.san,
        SubjectName::Uri(
            "https://ghe.example/octo/app/.github/workflows/release.yml@refs/heads/main".into()
        )
    );
    // A missing required claim is a 403 naming it.
    let mut claims = github_claims();
    claims.as_object_mut().unwrap().remove("job_workflow_ref");
    let err = identity_from_token(&token(IssuerType::GithubWorkflow, claims)).unwrap_err();
    assert_eq!(err.http_status(), 403);
    assert!(
        matches!(&err, CaError::Identity(IdentityError::MissingClaim { claim }) if claim == "job_workflow_ref"),
        "{err}"
    );
}

/// The extensions we write for a GitHub token match those Fulcio wrote in a real certificate.
#[test]
fn github_extensions_match_a_real_fulcio_certificate() {
    let path = signet_testdata_bundle().expect("a GitHub-workflow Fulcio bundle in the test data");
    println!("comparing with {}", path.display());
    let bundle: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let vm = &bundle["verificationMaterial"];
    let b64 = vm["certificate"]["rawBytes"]
        .as_str()
        .or_else(|| vm["x509CertificateChain"]["certificates"][0]["rawBytes"].as_str())
        .unwrap();
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let real = Certificate::from_der(&der).unwrap();
    let real_id = real.fulcio_identity().unwrap();
    // Rebuild the claims the real certificate came from, and compare what we would write.
    let e = |n: u32| {
        real_id
            .extensions
            .get(&format!("1.3.6.1.4.1.57264.1.{n}"))
            .cloned()
    };
    let strip = |s: Option<String>, p: &str| s.map(|s| s.trim_start_matches(p).to_owned());
    let gh = "https://github.com/";
    let run = e(21).unwrap();
    let run_parts: Vec<&str> = run.split('/').collect();
    let claims = json!({
        "iss": e(8).unwrap(), "sub": "x",
        "job_workflow_ref": strip(e(9), gh), "job_workflow_sha": e(10),
        "sha": e(13), "event_name": e(20), "repository": strip(e(12), gh),
        "workflow": e(4), "ref": e(14), "runner_environment": e(11),
        "repository_id": e(15), "repository_owner": strip(e(16), gh),
        "repository_owner_id": e(17), "workflow_ref": strip(e(18), gh),
        "workflow_sha": e(19), "run_id": run_parts[run_parts.len() - 3],
        "run_attempt": run_parts[run_parts.len() - 1], "repository_visibility": e(22),
    });
    let identity = identity_from_token(&token(IssuerType::GithubWorkflow, claims)).unwrap();
    for (oid, value) in &identity.extensions {
        let (_, real_value) = ext_text(&real, &oid.to_string()).unwrap_or_else(|| panic!("{oid}"));
        let ours = match value {
            ExtensionValue::Raw(s) => s.as_bytes().to_vec(),
            ExtensionValue::Utf8(s) => {
                use der::Encode;
                Utf8StringRef::new(s).unwrap().to_der().unwrap()
            }
        };
        assert_eq!(ours, real_value, "{oid}");
    }
    assert_eq!(
        real.subject_alt_names().unwrap()[0].value(),
        match &identity.san {
            SubjectName::Uri(u) => u.as_str(),
            _ => panic!(),
        }
    );
}

/// A bundle in the shared test data whose certificate Fulcio issued for a GitHub workflow.
fn signet_testdata_bundle() -> Option<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata");
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".sigstore.json")
                || p.to_string_lossy().ends_with(".sigstore")
            {
                let Ok(text) = std::fs::read_to_string(&p) else {
                    continue;
                };
                let Ok(bundle) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                let vm = &bundle["verificationMaterial"];
                let Some(b64) = vm["certificate"]["rawBytes"].as_str() else {
                    continue;
                };
                use base64::Engine;
                let Ok(der) = base64::engine::general_purpose::STANDARD.decode(b64) else {
                    continue;
                };
                let Ok(cert) = Certificate::from_der(&der) else {
                    continue;
                };
                let Ok(id) = cert.fulcio_identity() else {
                    continue;
                };
                if id.issuer.as_deref() == Some("https://token.actions.githubusercontent.com")
                    && (1..=22).all(|n| {
                        n == 7
                            || id
                                .extensions
                                .contains_key(&format!("1.3.6.1.4.1.57264.1.{n}"))
                    })
                {
                    return Some(p);
                }
            }
        }
    }
    None
}

#[test]
fn gitlab_kubernetes_spiffe_uri_username_ci_provider() {
    // GitLab.
    let mut t = token(
        IssuerType::GitlabPipeline,
        json!({"iss": "https://gitlab.com", "sub": "project_path:g/p:ref_type:branch:ref:main",
            "ci_config_ref_uri": "gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main",
            "project_path": "g/p", "ref_type": "branch", "ref": "main", "sha": "abc",
            "project_id": "10", "namespace_path": "g", "namespace_id": "20",
            "ci_config_sha": "def", "pipeline_source": "push", "job_id": "30",
            "project_visibility": "private", "runner_environment": "gitlab-hosted"}),
    );
    let id = identity_from_token(&t).unwrap();
    assert_eq!(
        id.san,
        SubjectName::Uri("https://gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main".into())
    );
    let find = |id: &signet_ca::Identity, oid| {
        id.extensions
            .iter()
            .find(|(o, _)| *o == oid)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        find(&id, oids::SOURCE_REPOSITORY_REF),
        Some(ExtensionValue::Utf8("refs/heads/main".into()))
    );
    assert_eq!(
        find(&id, oids::RUN_INVOCATION_URI),
        Some(ExtensionValue::Utf8(
            "https://gitlab.com/g/p/-/jobs/30".into()
        ))
    );
    assert_eq!(
        find(&id, oids::SOURCE_REPOSITORY_OWNER_URI),
        Some(ExtensionValue::Utf8("https://gitlab.com/g".into()))
    );
    assert_eq!(find(&id, oids::GITHUB_WORKFLOW_TRIGGER), None);

    // Kubernetes.
    t = token(
        IssuerType::Kubernetes,
        json!({"iss": "https://k8s.test", "sub": "system:serviceaccount:ns:sa",
        "kubernetes.io": {"namespace": "ns", "serviceaccount": {"name": "sa", "uid": "u"}}}),
    );
    assert_eq!(
        identity_from_token(&t).unwrap().san,
        SubjectName::Uri("https://kubernetes.io/namespaces/ns/serviceaccounts/sa".into())
    );

    // SPIFFE: in the trust domain, or refused.
    t = token(
        IssuerType::Spiffe,
        json!({"iss": "https://spiffe.test", "sub": "spiffe://example.org/work"}),
    );
    t.issuer.spiffe_trust_domain = Some("example.org".into());
    let id = identity_from_token(&t).unwrap();
    assert_eq!(id.san, SubjectName::Uri("spiffe://example.org/work".into()));
    assert_eq!(id.challenge, "spiffe://example.org/work");
    t.subject = "spiffe://evil.org/work".into();
    let err = identity_from_token(&t).unwrap_err();
    assert_eq!(err.http_status(), 403);
    assert!(
        matches!(
            err,
            CaError::Identity(IdentityError::OutsideTrustDomain { .. })
        ),
        "{err}"
    );
    t.issuer.spiffe_trust_domain = None;
    assert_eq!(identity_from_token(&t).unwrap_err().http_status(), 500);

    // URI: subject under the subject domain.
    t = token(
        IssuerType::Uri,
        json!({"iss": "https://uri.test", "sub": "https://example.com/users/1"}),
    );
    t.issuer.subject_domain = Some("https://example.com".into());
    assert_eq!(
        identity_from_token(&t).unwrap().san,
        SubjectName::Uri("https://example.com/users/1".into())
    );
    t.subject = "https://example.com.evil/users/1".into();
    assert!(identity_from_token(&t).is_err());

    // Username: otherName user!domain.
    t = token(
        IssuerType::Username,
        json!({"iss": "https://user.test", "sub": "alice"}),
    );
    t.issuer.subject_domain = Some("example.com".into());
    let id = identity_from_token(&t).unwrap();
    assert_eq!(
        id.san,
        SubjectName::OtherName {
            type_id: oids::OTHER_NAME_SAN,
            value: "alice!example.com".into()
        }
    );
    assert_eq!(id.challenge, "alice");
    t.subject = "a!b".into();
    assert!(identity_from_token(&t).is_err());

    // CI provider by claim templates.
    t = token(
        IssuerType::CiProvider,
        json!({"iss": "https://ci.test", "sub": "pipeline:1",
        "pipeline": "build", "commit": "c0ffee", "build_number": 42}),
    );
    t.issuer.claim_mappings = [
        ("url", "https://ci.example"),
        ("build-signer-uri", "{{ .url }}/{{.pipeline}}"),
        ("source-repository-digest", "{{.commit}}"),
        (
            "run-invocation-uri",
            "{{.url}}/{{.pipeline}}/builds/{{ .build_number }}",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let id = identity_from_token(&t).unwrap();
    assert_eq!(id.san, SubjectName::Uri("https://ci.example/build".into()));
    assert_eq!(
        find(&id, oids::RUN_INVOCATION_URI),
        Some(ExtensionValue::Utf8(
            "https://ci.example/build/builds/42".into()
        ))
    );
    assert_eq!(
        find(&id, oids::SOURCE_REPOSITORY_DIGEST),
        Some(ExtensionValue::Utf8("c0ffee".into()))
    );
    t.claims.remove("commit");
    let err = identity_from_token(&t).unwrap_err();
    assert!(
        matches!(&err, CaError::Identity(IdentityError::MissingClaim { claim }) if claim == "commit"),
        "{err}"
    );

    // Email not verified.
    t = token(
        IssuerType::Email,
        json!({"iss": ISSUER, "sub": "s", "email": "a@b.test", "email_verified": false}),
    );
    let err = identity_from_token(&t).unwrap_err();
    assert_eq!(err.http_status(), 403);
    assert!(
        matches!(
            err,
            CaError::Identity(IdentityError::EmailNotVerified { .. })
        ),
        "{err}"
    );
}

#[test]
fn subject_keys() {
    assert!(check_subject_key(&SubjectKey::new().spki()).is_ok());
    assert!(check_subject_key(&ed25519().0).is_ok());
    for bits in [2048, 3072, 4096] {
        assert!(check_subject_key(&rsa_spki(bits)).is_ok(), "{bits}");
    }
    for bits in [1024, 8192] {
        let err = check_subject_key(&rsa_spki(bits)).unwrap_err();
        assert!(
            matches!(err, CaError::UnsupportedKey(SubjectKeyError::RsaSize { bits: b }) if b == bits),
            "{err}"
        );
    }
    let err = check_subject_key(&secp256k1_spki()).unwrap_err();
    assert!(
        matches!(
            err,
            CaError::UnsupportedKey(SubjectKeyError::Unsupported(
                signet_x509::X509Error::UnsupportedKey(_)
            ))
        ),
        "{err}"
    );
    // CSR: good, and with a bad signature.
    let k = SubjectKey::new();
    assert!(check_csr(&k.csr()).is_ok());
    let other = SubjectKey::new();
    let bad = csr_with(&k.spki(), "1.2.840.10045.4.3.2", |m| other.sign(m));
    assert!(matches!(check_csr(&bad), Err(CaError::CsrSignature)));
    // Ed25519 CSR.
    let (spki, pair) = ed25519();
    assert!(
        check_csr(&csr_with(&spki, "1.3.101.112", |m| pair
            .sign(m)
            .as_ref()
            .to_vec()))
        .is_ok()
    );
    assert!(matches!(
        check_csr(b"garbage"),
        Err(CaError::BadCsr(CsrError::Pkcs10(_)))
    ));
}

#[test]
fn claim_templates() {
    use signet_ca::identity::render_template;
    let claims = json!({"a": "x", "n": 7, "b": true, "obj": {"k": 1}})
        .as_object()
        .unwrap()
        .clone();
    let defaults = [("url".to_owned(), "https://ci.example".to_owned())]
        .into_iter()
        .collect();
    assert_eq!(
        render_template("{{.a}}-{{ .n }}-{{.b}}", &claims, &defaults).unwrap(),
        "x-7-true"
    );
    assert_eq!(
        render_template("{{.url}}/p", &claims, &defaults).unwrap(),
        "https://ci.example/p"
    );
    assert_eq!(
        render_template("no template", &claims, &defaults).unwrap(),
        "no template"
    );
    for (bad, missing) in [
        ("{{.a", None),
        ("{{a}}", None),
        ("{{.missing}}", Some("missing")),
        ("{{.obj}}", Some("obj")),
    ] {
        let err = render_template(bad, &claims, &defaults).unwrap_err();
        assert_eq!(err.http_status(), 403, "{bad}: {err}");
        let CaError::Identity(cause) = err else {
            panic!("{bad}: {err}");
        };
        match missing {
            Some(name) => assert_eq!(
                cause,
                IdentityError::MissingClaim {
                    claim: name.to_owned()
                }
            ),
            None => assert!(
                matches!(
                    cause,
                    IdentityError::TemplateNotClosed { .. } | IdentityError::TemplateSyntax { .. }
                ),
                "{bad}: {cause}"
            ),
        }
    }
    // Output is bounded.
    let long = json!({"l": "y".repeat(3000)}).as_object().unwrap().clone();
    assert!(matches!(
        render_template("{{.l}}{{.l}}", &long, &defaults),
        Err(CaError::Identity(IdentityError::TemplateTooLong { .. }))
    ));
}
