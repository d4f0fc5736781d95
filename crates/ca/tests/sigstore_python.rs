//! Interop: sigstore-python's own Fulcio client (`FulcioClient.signing_cert.post`, request form
//! (a) with a CSR built by `cryptography`, and `trust_bundle.get`) against this CA. Skipped with
//! a note when `SIGNET_SIGSTORE_PYTHON` (the venv's python, from scripts/ensure-sigstore-python)
//! is unset; failing when `SIGNET_REQUIRE_DIFFERENTIAL=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use signet_testkit::ca::*;
use signet_x509::{ChainPurpose, SubjectAlternativeName, verify_chain, verify_embedded_scts};
use std::sync::Arc;

const SCRIPT: &str = r#"
import sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sigstore._internal.fulcio.client import FulcioClient
from sigstore.oidc import IdentityToken

url, token = sys.argv[1], sys.argv[2]
identity = IdentityToken(token)
key = ec.generate_private_key(ec.SECP256R1())
csr = (
    x509.CertificateSigningRequestBuilder()
    .subject_name(x509.Name([x509.NameAttribute(NameOID.EMAIL_ADDRESS, identity.identity)]))
    .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    .sign(key, hashes.SHA256())
)
client = FulcioClient(url)
resp = client.signing_cert.post(csr, identity)
assert resp.cert.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
) == key.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
)
bundle = client.trust_bundle.get()
assert len(bundle.trust_bundle) == 1 and len(bundle.trust_bundle[0]) == 2
for cert in [resp.cert] + resp.chain:
    print(cert.public_bytes(serialization.Encoding.PEM).decode(), end="")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigstore_python_client_gets_a_certificate() {
    let Some(python) = signet_testkit::tools::sigstore_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer_url = format!("http://{}", listener.local_addr().unwrap());
    let dev = Arc::new(
        signet_oidc::DevIssuer::load_or_create(
            dir.path(),
            issuer_url.clone(),
            signet_clock::Clock::system(),
            signet_clock::Randomness::system(),
        )
        .unwrap(),
    );
    let dev_router = dev.clone().router();
    let dev_task = tokio::spawn(async move { axum::serve(listener, dev_router).await.unwrap() });
    let verifier =
        signet_oidc::OidcVerifier::new(vec![dev.issuer_config()], reqwest::Client::new());
    let ca = start_ca(Arc::new(verifier)).await;
    let email = "py@example.test";
    let token = dev.mint(email, "sigstore", now(), 600).unwrap();

    let base = ca.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .args(["-c", SCRIPT, &base, &token])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "sigstore-python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let chain =
        signet_x509::Certificate::chain_from_pem(&String::from_utf8(output.stdout).unwrap())
            .unwrap();
    assert_eq!(chain.len(), 3);
    assert_eq!(
        chain[0].subject_alt_names().unwrap(),
        vec![SubjectAlternativeName::Email(email.into())]
    );
    verify_chain(&chain[0], &chain[1..], now(), ChainPurpose::CodeSigning).unwrap();
    verify_embedded_scts(&chain[0], &chain[1], &ca.ct_logs()).unwrap();
    ca.stop();
    dev_task.abort();
}
