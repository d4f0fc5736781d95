//! A certificate authority under test: an OIDC issuer that mints real ES256 JWTs with its own
//! key ([`TestIssuer`]) and a verifier that checks them ([`TestVerifier`]), subject keys and
//! CSRs, odd public keys the CA must refuse, and a CA served on a loopback port
//! ([`start_ca`]).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use der::{Decode, Encode};
use serde_json::{Map, Value, json};
use signet_ca::{
    BoxFuture, CaAlgorithm, CaKeys, CaServer, CertificateAuthority, TokenRejection, TokenVerifier,
    UnloggedSctSigner,
};
use signet_oidc::{IssuerConfig, IssuerType, VerifiedToken};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The issuer URL of [`TestIssuer`]'s tokens.
pub const ISSUER: &str = "https://issuer.test";

/// The time now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An OIDC issuer with its own ES256 key.
pub struct TestIssuer {
    key: EcdsaKeyPair,
}

impl Default for TestIssuer {
    fn default() -> Self {
        TestIssuer::new()
    }
}

impl TestIssuer {
    /// A new issuer with a fresh key.
    pub fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        TestIssuer {
            key: EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                pkcs8.as_ref(),
            )
            .unwrap(),
        }
    }

    /// A signed JWT with `claims` (plus `iat`/`exp` if absent).
    pub fn mint(&self, claims: Value) -> String {
        let mut claims = claims.as_object().unwrap().clone();
        claims.entry("iat").or_insert(json!(now()));
        claims.entry("exp").or_insert(json!(now() + 600));
        claims.entry("aud").or_insert(json!("sigstore"));
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"JWT","kid":"k1"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        let input = format!("{header}.{payload}");
        let sig = self
            .key
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    /// An email token for `email`.
    pub fn email_token(&self, email: &str) -> String {
        self.mint(
            json!({"iss": ISSUER, "sub": "subject-1", "email": email, "email_verified": true}),
        )
    }
}

/// Checks ES256 JWTs signed by a [`TestIssuer`]: signature, `iss` among the configured issuers,
/// `aud`, `exp`.
pub struct TestVerifier {
    public_key: Vec<u8>,
    /// The issuers it accepts.
    pub issuers: Vec<IssuerConfig>,
}

/// [`ISSUER`] as an email issuer.
pub fn email_issuer() -> IssuerConfig {
    issuer_config(ISSUER, IssuerType::Email)
}

/// An issuer configuration for `url` of `issuer_type`, client ID `sigstore`.
pub fn issuer_config(url: &str, issuer_type: IssuerType) -> IssuerConfig {
    IssuerConfig {
        issuer_url: url.into(),
        client_id: "sigstore".into(),
        issuer_type,
        subject_domain: None,
        spiffe_trust_domain: None,
        claim_mappings: Default::default(),
    }
}

impl TestVerifier {
    /// Checks tokens of `issuer` from any of `issuers`.
    pub fn new(issuer: &TestIssuer, issuers: Vec<IssuerConfig>) -> Self {
        TestVerifier {
            public_key: issuer.key.public_key().as_ref().to_vec(),
            issuers,
        }
    }

    fn check(&self, token: &str, now: i64) -> Result<VerifiedToken, String> {
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() != 3 {
            return Err("not a JWT".into());
        }
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).map_err(|_| "bad header")?)
                .map_err(|_| "bad header")?;
        if header["alg"] != "ES256" {
            return Err(format!("alg {} not allowed", header["alg"]));
        }
        let sig = URL_SAFE_NO_PAD
            .decode(parts[2])
            .map_err(|_| "bad signature")?;
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &self.public_key)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .map_err(|_| "signature does not verify")?;
        let claims: Map<String, Value> = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(parts[1])
                .map_err(|_| "bad payload")?,
        )
        .map_err(|_| "bad payload")?;
        let iss = claims["iss"].as_str().ok_or("no iss")?;
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.issuer_url == iss)
            .ok_or_else(|| format!("issuer {iss} not configured"))?;
        if claims["aud"] != json!(issuer.client_id) {
            return Err("wrong audience".into());
        }
        if claims["exp"].as_i64().ok_or("no exp")? <= now {
            return Err("token expired".into());
        }
        Ok(VerifiedToken {
            issuer: issuer.clone(),
            subject: claims["sub"].as_str().ok_or("no sub")?.to_owned(),
            claims,
        })
    }
}

impl TokenVerifier for TestVerifier {
    fn verify<'a>(
        &'a self,
        token: &'a str,
        now_unix: i64,
    ) -> BoxFuture<'a, Result<VerifiedToken, TokenRejection>> {
        Box::pin(async move {
            self.check(token, now_unix)
                .map_err(|message| TokenRejection {
                    client_fault: true,
                    message,
                })
        })
    }

    fn issuers(&self) -> Vec<IssuerConfig> {
        self.issuers.clone()
    }
}

/// A P-256 subject key: the test signer.
pub type SubjectKey = crate::Signer;

impl crate::Signer {
    /// A CSR for this key with an empty subject.
    pub fn csr(&self) -> Vec<u8> {
        csr_with(&self.spki(), "1.2.840.10045.4.3.2", |m| self.sign(m))
    }
}

pub use crate::pem;

/// A PKCS#10 CSR for `spki_der` signed by `sign` with the algorithm `alg_oid`.
pub fn csr_with(spki_der: &[u8], alg_oid: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    use x509_cert::request::{CertReq, CertReqInfo, Version};
    let info = CertReqInfo {
        version: Version::V1,
        subject: Default::default(),
        public_key: x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(spki_der).unwrap(),
        attributes: Default::default(),
    };
    let sig = sign(&info.to_der().unwrap());
    CertReq {
        info,
        algorithm: x509_cert::spki::AlgorithmIdentifierOwned {
            oid: alg_oid.parse().unwrap(),
            parameters: None,
        },
        signature: der::asn1::BitString::from_bytes(&sig).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// An Ed25519 key's SPKI and signer.
pub fn ed25519() -> (Vec<u8>, Ed25519KeyPair) {
    let pair = Ed25519KeyPair::generate().unwrap();
    let spki = pair.public_key().as_der().unwrap().as_ref().to_vec();
    (spki, pair)
}

/// An SPKI of an RSA key with a `bits`-bit modulus (random, not a real key: enough to be
/// refused on size before any signature check).
pub fn rsa_spki(bits: usize) -> Vec<u8> {
    let mut n = vec![0u8; bits / 8];
    aws_lc_rs::rand::fill(&mut n).unwrap();
    n[0] |= 0x80;
    let mut modulus = vec![0u8];
    modulus.extend(n);
    let n = der::asn1::UintRef::new(&modulus).unwrap();
    let e = der::asn1::UintRef::new(&[1, 0, 1]).unwrap();
    let mut body = n.to_der().unwrap();
    body.extend(e.to_der().unwrap());
    let pkcs1 = der::asn1::AnyRef::new(der::Tag::Sequence, &body)
        .unwrap()
        .to_der()
        .unwrap();
    x509_cert::spki::SubjectPublicKeyInfoOwned {
        algorithm: x509_cert::spki::AlgorithmIdentifierOwned {
            oid: "1.2.840.113549.1.1.1".parse().unwrap(),
            parameters: Some(der::asn1::Null.into()),
        },
        subject_public_key: der::asn1::BitString::from_bytes(&pkcs1).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// An SPKI on secp256k1 (a curve the CA refuses).
pub fn secp256k1_spki() -> Vec<u8> {
    let mut point = vec![4u8; 65];
    aws_lc_rs::rand::fill(&mut point[1..]).unwrap();
    x509_cert::spki::SubjectPublicKeyInfoOwned {
        algorithm: x509_cert::spki::AlgorithmIdentifierOwned {
            oid: "1.2.840.10045.2.1".parse().unwrap(),
            parameters: Some(
                der::asn1::Any::encode_from(
                    &"1.3.132.0.10"
                        .parse::<const_oid::ObjectIdentifier>()
                        .unwrap(),
                )
                .unwrap(),
            ),
        },
        subject_public_key: der::asn1::BitString::from_bytes(&point).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// A CA with an unlogged SCT signer, and its HTTP API on a loopback port.
pub struct RunningCa {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The CA.
    pub ca: Arc<CertificateAuthority>,
    /// The SCT signer's public key (SubjectPublicKeyInfo, DER).
    pub sct_spki: Vec<u8>,
    /// The CA's clock (Unix seconds); the test may move it.
    pub clock: Arc<AtomicI64>,
    /// The serving task.
    pub task: tokio::task::JoinHandle<()>,
}

impl RunningCa {
    /// `<base><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The CT log of its SCTs, as a verifier takes it.
    pub fn ct_logs(&self) -> Vec<signet_x509::CtLog> {
        vec![signet_x509::CtLog::from_key(
            signet_x509::PublicKey::from_spki_der(&self.sct_spki).unwrap(),
        )]
    }

    /// Stops serving.
    pub fn stop(self) {
        self.task.abort();
    }
}

/// A CA with fresh keys of `algorithm` (valid from a minute ago) and an unlogged SCT signer;
/// returns it and the SCT signer's public key (SubjectPublicKeyInfo, DER).
pub fn new_ca(algorithm: CaAlgorithm) -> (Arc<CertificateAuthority>, Vec<u8>) {
    let keys = CaKeys::generate(now() - 60, algorithm, &SystemRandom::new()).unwrap();
    let signer = UnloggedSctSigner::generate(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    })
    .unwrap();
    let spki = signer.public_key_spki_der().to_vec();
    (
        Arc::new(CertificateAuthority::new(keys, Arc::new(signer)).unwrap()),
        spki,
    )
}

/// A new P-256 CA ([`new_ca`]) served on a loopback port, checking tokens with `verifier`.
pub async fn start_ca(verifier: Arc<dyn TokenVerifier>) -> RunningCa {
    let (ca, sct_spki) = new_ca(CaAlgorithm::EcdsaP256);
    start_ca_with(ca, sct_spki, verifier).await
}

/// Serves `ca`, whose SCTs are signed by the key `sct_spki`.
pub async fn start_ca_with(
    ca: Arc<CertificateAuthority>,
    sct_spki: Vec<u8>,
    verifier: Arc<dyn TokenVerifier>,
) -> RunningCa {
    let clock = Arc::new(AtomicI64::new(now()));
    let c = clock.clone();
    // The test moves the clock (Unix seconds); the CA reads it in milliseconds.
    let ms = move || u64::try_from(c.load(Ordering::SeqCst)).unwrap() * 1000;
    let server = CaServer::new(
        ca.clone(),
        verifier,
        signet_clock::Clock::from_fn(ms),
        signet_clock::Randomness::system(),
    );
    let router = signet_ca::router(Arc::new(server));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    RunningCa {
        base,
        ca,
        sct_spki,
        clock,
        task,
    }
}

/// Body of request form (a).
pub fn csr_request(csr_der: &[u8]) -> Value {
    json!({"certificateSigningRequest": STANDARD.encode(pem("CERTIFICATE REQUEST", csr_der))})
}

/// Body of request form (b).
pub fn pop_request(token: &str, public_key_pem: &str, pop: &[u8]) -> Value {
    json!({
        "credentials": {"oidcIdentityToken": token},
        "publicKeyRequest": {
            "publicKey": {"algorithm": "ECDSA", "content": public_key_pem},
            "proofOfPossession": STANDARD.encode(pop),
        }
    })
}

/// Parses the leaf and chain of a signingCert answer.
pub fn chain_of(answer: &Value) -> Vec<signet_x509::Certificate> {
    answer["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| signet_x509::Certificate::from_pem(p.as_str().unwrap()).unwrap())
        .collect()
}
