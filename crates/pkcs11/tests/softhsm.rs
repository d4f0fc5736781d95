//! `Pkcs11Key` against a real SoftHSM2 token.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` once, when the module is initialized, and the environment
//! is process-wide. So the test makes its token in a temporary directory and then runs the
//! checks in a child process (this same test binary) started with `SOFTHSM2_CONF` pointing
//! at that directory; no test changes the environment of a running process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use signet_pkcs11::{KeyAlgorithm, KeyRef, PinSource, Pkcs11Error, Pkcs11Key};

const TOKEN: &str = "signet-test";
const PIN: &str = "314159";
const SO_PIN: &str = "271828";
/// The child's environment: the PIN, and a wrong one.
const PIN_VAR: &str = "SIGNET_TEST_HSM_PIN";
const WRONG_PIN_VAR: &str = "SIGNET_TEST_HSM_WRONG_PIN";
/// Set in the child: the directory holding the token and the PIN file.
const CHILD_VAR: &str = "SIGNET_TEST_SOFTHSM_DIR";

const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];

#[test]
fn softhsm() {
    if let Some(dir) = std::env::var_os(CHILD_VAR) {
        let module = PathBuf::from(std::env::var_os("SIGNET_SOFTHSM_MODULE").unwrap());
        checks(&module, Path::new(&dir));
        return;
    }
    let Some(module) = signet_testkit::tools::softhsm_module() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("pin"), format!("{PIN}\n")).unwrap();
    let out = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", TOKEN])
        .args(["--so-pin", SO_PIN, "--pin", PIN])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("softhsm2-util (scripts/ensure-softhsm installs it)");
    assert!(out.status.success(), "softhsm2-util --init-token: {out:?}");

    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "softhsm", "--nocapture", "--test-threads=1"])
        .env("SOFTHSM2_CONF", &conf)
        .env("SIGNET_SOFTHSM_MODULE", &module)
        .env(CHILD_VAR, dir.path())
        .env(PIN_VAR, PIN)
        .env(WRONG_PIN_VAR, "000000")
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the SoftHSM2 checks failed in the child process"
    );
}

/// Makes the keys through cryptoki and returns the module context (kept, so the module is
/// never finalized behind the keys' back until the test says so) and whether Ed25519 exists.
fn make_keys(module: &Path) -> (Pkcs11, bool) {
    let pkcs11 = Pkcs11::new(module).unwrap();
    pkcs11
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = pkcs11
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| pkcs11.get_token_info(*s).unwrap().label().trim_end() == TOKEN)
        .unwrap();
    let session = pkcs11.open_rw_session(slot).unwrap();
    session
        .login(UserType::User, Some(&AuthPin::new(PIN.into())))
        .unwrap();
    let ec = |label: &str, id: u8, params: &[u8], mech: &Mechanism<'_>| {
        generate(
            &session,
            mech,
            label,
            id,
            vec![Attribute::EcParams(params.to_vec())],
        )
    };
    ec("p256", 1, OID_P256, &Mechanism::EccKeyPairGen);
    ec("p384", 2, OID_P384, &Mechanism::EccKeyPairGen);
    let mechanisms = pkcs11.get_mechanism_list(slot).unwrap();
    let ed25519 = mechanisms.contains(&MechanismType::ECC_EDWARDS_KEY_PAIR_GEN);
    if ed25519 {
        ec("ed25519", 3, OID_ED25519, &Mechanism::EccEdwardsKeyPairGen);
    } else {
        eprintln!("note: this SoftHSM2 lacks CKM_EC_EDWARDS_KEY_PAIR_GEN; Ed25519 not tested");
    }
    generate(
        &session,
        &Mechanism::RsaPkcsKeyPairGen,
        "rsa",
        4,
        vec![
            Attribute::ModulusBits(2048.into()),
            Attribute::PublicExponent(vec![1, 0, 1]),
        ],
    );
    // A private key without its public key object.
    let (public, _) = ec("nopub", 5, OID_P256, &Mechanism::EccKeyPairGen);
    session.destroy_object(public).unwrap();
    // Two private keys under one label.
    ec("dup", 6, OID_P256, &Mechanism::EccKeyPairGen);
    ec("dup", 7, OID_P256, &Mechanism::EccKeyPairGen);
    // Closing the only session ends the login, so the wrong-PIN check below really logs in.
    session.close().unwrap();
    (pkcs11, ed25519)
}

fn generate(
    session: &Session,
    mechanism: &Mechanism<'_>,
    label: &str,
    id: u8,
    public_extra: Vec<Attribute>,
) -> (ObjectHandle, ObjectHandle) {
    let common = [
        Attribute::Token(true),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Id(vec![id]),
    ];
    let mut public = common.to_vec();
    public.push(Attribute::Verify(true));
    public.extend(public_extra);
    let mut private = common.to_vec();
    private.extend([
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Sign(true),
    ]);
    session
        .generate_key_pair(mechanism, &public, &private)
        .unwrap_or_else(|e| panic!("generate {label}: {e}"))
}

fn verifies(alg: KeyAlgorithm, spki: &[u8], message: &[u8], sig: &[u8]) -> bool {
    let (alg, key): (&dyn signature::VerificationAlgorithm, &[u8]) = match alg {
        KeyAlgorithm::EcdsaP256Sha256 => (&signature::ECDSA_P256_SHA256_ASN1, spki),
        KeyAlgorithm::EcdsaP384Sha384 => (&signature::ECDSA_P384_SHA384_ASN1, spki),
        KeyAlgorithm::Ed25519 => {
            // RFC 8410: a 12-byte prefix, then the 32-byte point.
            assert_eq!(spki.len(), 44);
            assert_eq!(
                &spki[..12],
                b"\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00"
            );
            (&signature::ED25519, &spki[12..])
        }
        other => panic!("unexpected {other:?}"),
    };
    UnparsedPublicKey::new(alg, key)
        .verify(message, sig)
        .is_ok()
}

fn checks(module: &Path, dir: &Path) {
    let (pkcs11, ed25519) = make_keys(module);
    let env_pin = PinSource::env(PIN_VAR).unwrap();
    let file_pin = PinSource::File(dir.join("pin"));
    let flags = |label: &str| KeyRef::from_flags(module, TOKEN, label).unwrap();

    // Wrong PIN first, while no session is logged in; the error does not echo the PIN.
    let wrong = PinSource::env(WRONG_PIN_VAR).unwrap();
    let err = Pkcs11Key::open(&flags("p256"), Some(&wrong)).unwrap_err();
    eprintln!("wrong PIN: {err}");
    assert!(
        matches!(&err, Pkcs11Error::Login { reason, .. } if reason.contains("PinIncorrect")),
        "{err}"
    );
    assert!(!err.to_string().contains("000000") && !format!("{err:?}").contains("000000"));

    // Each key type signs, and the signature verifies against public_key_spki_der().
    let mut types = vec![
        ("p256", KeyAlgorithm::EcdsaP256Sha256),
        ("p384", KeyAlgorithm::EcdsaP384Sha384),
    ];
    if ed25519 {
        types.push(("ed25519", KeyAlgorithm::Ed25519));
    }
    for (label, alg) in &types {
        let key = Pkcs11Key::open(&flags(label), Some(&env_pin)).unwrap();
        assert_eq!(key.algorithm(), *alg);
        let spki = key.public_key_spki_der();
        let sig = key.sign(b"hello, HSM").unwrap();
        assert!(verifies(*alg, spki, b"hello, HSM", &sig), "{label}");
        assert!(!verifies(*alg, spki, b"hello, HSN", &sig), "{label}");
        if *alg == KeyAlgorithm::Ed25519 {
            assert_eq!(sig.len(), 64);
        } else {
            assert_eq!(sig[0], 0x30, "{label}: ECDSA signatures are DER");
        }
        // The same key through the services' Signer trait.
        let signer: &dyn signet_signer::Signer = &key;
        let sig = signer.sign(b"through the trait").unwrap();
        assert!(signer.algorithm().verify(
            signer.public_key_spki_der(),
            b"through the trait",
            &sig
        ));
        assert_eq!(
            signet_signer::spki_algorithm(signer.public_key_spki_der()),
            Some(signer.algorithm())
        );
        assert!(signer.location().contains(TOKEN), "{}", signer.location());
        eprintln!("{label}: {:?} signs and verifies", key.algorithm());
    }

    // The URI form (by label, by id, both; PIN from a file) opens the same key as the flags.
    let by_flags = Pkcs11Key::open(&flags("p384"), Some(&env_pin)).unwrap();
    let pin_file = dir.join("pin");
    for uri in [
        format!(
            "pkcs11:token={TOKEN};object=p384?module-path={}&pin-source=file:{}",
            module.display(),
            pin_file.display()
        ),
        format!(
            "pkcs11:token={TOKEN};id=%02?pin-source=file:{}",
            pin_file.display()
        ),
        format!(
            "pkcs11:token={TOKEN};object=p%33%384;id=%02;type=private?pin-source=env:{PIN_VAR}"
        ),
    ] {
        let key_ref = KeyRef::parse_uri(&uri, Some(module)).unwrap();
        let key = Pkcs11Key::open(&key_ref, None).unwrap();
        assert_eq!(
            key.public_key_spki_der(),
            by_flags.public_key_spki_der(),
            "{uri}"
        );
        let sig = key.sign(b"uri").unwrap();
        assert!(verifies(
            KeyAlgorithm::EcdsaP384Sha384,
            by_flags.public_key_spki_der(),
            b"uri",
            &sig
        ));
    }
    // The PIN from a file, in the flag form.
    Pkcs11Key::open(&flags("p256"), Some(&file_pin)).unwrap();

    // Clear errors for everything missing or unsupported.
    let err = Pkcs11Key::open(
        &KeyRef::from_flags(module, "nope", "p256").unwrap(),
        Some(&env_pin),
    )
    .unwrap_err();
    eprintln!("missing token: {err}");
    assert!(
        matches!(&err, Pkcs11Error::TokenNotFound { token, available }
        if token == "nope" && available.iter().any(|t| t == TOKEN)),
        "{err}"
    );

    let err = Pkcs11Key::open(&flags("absent"), Some(&env_pin)).unwrap_err();
    eprintln!("missing key: {err}");
    assert!(
        matches!(&err, Pkcs11Error::KeyNotFound { key, .. } if key.contains("absent")),
        "{err}"
    );

    let missing_module = dir.join("no-such-module.so");
    let err = Pkcs11Key::open(
        &KeyRef::from_flags(&missing_module, TOKEN, "p256").unwrap(),
        Some(&env_pin),
    )
    .unwrap_err();
    eprintln!("missing module: {err}");
    assert!(
        matches!(&err, Pkcs11Error::ModuleLoad { path, .. } if *path == missing_module),
        "{err}"
    );

    let err = Pkcs11Key::open(&flags("rsa"), Some(&env_pin)).unwrap_err();
    eprintln!("RSA key: {err}");
    assert!(
        matches!(&err, Pkcs11Error::UnsupportedKeyType { key_type, .. } if key_type.contains("RSA")),
        "{err}"
    );

    let err = Pkcs11Key::open(&flags("nopub"), Some(&env_pin)).unwrap_err();
    eprintln!("no public key: {err}");
    assert!(
        matches!(err, Pkcs11Error::PublicKeyNotFound { .. }),
        "{err}"
    );

    let err = Pkcs11Key::open(&flags("dup"), Some(&env_pin)).unwrap_err();
    eprintln!("two keys: {err}");
    assert!(
        matches!(err, Pkcs11Error::KeyAmbiguous { count: 2, .. }),
        "{err}"
    );
    let dup7 = KeyRef::parse_uri(
        &format!("pkcs11:token={TOKEN};object=dup;id=%07"),
        Some(module),
    )
    .unwrap();
    Pkcs11Key::open(&dup7, Some(&env_pin)).unwrap();

    let err = Pkcs11Key::open(&flags("p256"), None).unwrap_err();
    assert!(matches!(err, Pkcs11Error::NoPinSource), "{err}");
    let err = Pkcs11Key::open(
        &flags("p256"),
        Some(&PinSource::env("SIGNET_TEST_UNSET_PIN").unwrap()),
    )
    .unwrap_err();
    assert!(matches!(err, Pkcs11Error::PinEnvUnset { .. }), "{err}");

    // Keys made through the crate: each algorithm the token supports, sensitive and
    // non-extractable, then opened by label as a service would.
    let mut made = vec![
        ("made-p256", KeyAlgorithm::EcdsaP256Sha256),
        ("made-p384", KeyAlgorithm::EcdsaP384Sha384),
    ];
    if ed25519 {
        made.push(("made-ed25519", KeyAlgorithm::Ed25519));
    }
    for (label, alg) in made {
        let key = Pkcs11Key::generate(&flags(label), Some(&env_pin), alg).unwrap();
        assert_eq!(key.algorithm(), alg);
        let again = Pkcs11Key::open(&flags(label), Some(&env_pin)).unwrap();
        assert_eq!(again.public_key_spki_der(), key.public_key_spki_der());
        let sig = again.sign(b"made here").unwrap();
        assert!(
            verifies(alg, key.public_key_spki_der(), b"made here", &sig),
            "{label}"
        );
        // A second key under the same label is refused: a service key is never shadowed.
        let err = Pkcs11Key::generate(&flags(label), Some(&env_pin), alg).unwrap_err();
        assert!(matches!(err, Pkcs11Error::KeyExists { .. }), "{err}");
    }
    let err = Pkcs11Key::generate(
        &flags("p256"),
        Some(&env_pin),
        KeyAlgorithm::EcdsaP256Sha256,
    )
    .unwrap_err();
    assert!(matches!(err, Pkcs11Error::KeyExists { .. }), "{err}");
    let by_id = KeyRef::parse_uri(&format!("pkcs11:token={TOKEN};id=%02"), Some(module)).unwrap();
    let err =
        Pkcs11Key::generate(&by_id, Some(&env_pin), KeyAlgorithm::EcdsaP256Sha256).unwrap_err();
    assert!(matches!(err, Pkcs11Error::MissingLabel), "{err}");

    // Many threads signing at once, through one shared key.
    let key = Arc::new(Pkcs11Key::open(&flags("p256"), Some(&env_pin)).unwrap());
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            let key = Arc::clone(&key);
            std::thread::spawn(move || {
                for i in 0..50u8 {
                    let msg = [t, i];
                    let sig = key.sign(&msg).unwrap();
                    assert!(verifies(
                        KeyAlgorithm::EcdsaP256Sha256,
                        key.public_key_spki_der(),
                        &msg,
                        &sig
                    ));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }

    // The HSM goes away mid-run (here: the module is finalized under the key): sign returns
    // Pkcs11Error::Sign, and does not panic.
    pkcs11.finalize().unwrap();
    let err = key.sign(b"after the HSM went away").unwrap_err();
    eprintln!("HSM gone: {err}");
    assert!(matches!(err, Pkcs11Error::Sign { .. }), "{err}");
    // Still an error, not a panic, the second time (no pooled session survives).
    assert!(matches!(key.sign(b"again"), Err(Pkcs11Error::Sign { .. })));
}
