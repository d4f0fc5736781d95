//! `signet sign`, `verify`, `attest` and `verify-attestation` for container images.
//!
//! Storage, following cosign 3's bundle format (`--new-bundle-format`, the default there):
//!
//! - A signature is a Sigstore bundle v0.3 whose content is a DSSE envelope
//!   (`application/vnd.in-toto+json`) over an in-toto Statement v1: one subject named
//!   `registry/repository` with the image manifest's `sha256` digest, predicate type
//!   [`SIGN_PREDICATE_TYPE`], predicate `{}` or, with `-a k=v`, `{"annotations": {k: v}}`.
//!   The signed digest is the manifest's, so a tag moved to another image does not carry the
//!   signature with it.
//! - An attestation is the same with the user's predicate and predicate type.
//! - Both are stored by `signet_oci::RegistryClient::attach_bundle`: an OCI 1.1 artifact
//!   (`artifactType` the bundle media type) whose `subject` is the image, found through the
//!   referrers API or the `sha256-<hex>` tag-schema index; the predicate type is also in the
//!   `dev.sigstore.bundle.predicateType` annotation (a hint only: verification reads it from
//!   the signed statement).
//! - `sign --legacy` also writes cosign's older `sha256-<hex>.sig` layout: a message signature
//!   over the simple-signing payload, with the Rekor v1 entry as cosign's
//!   `dev.sigstore.cosign/bundle` annotation (needs a Rekor v1 log in the signing config);
//!   `attest --legacy` the `.att` layout. The layers are encoded and decoded by
//!   `signet_oci::legacy`; this file only signs, stores, verifies and prints.
//!
//! `verify` checks every bundle and legacy signature found for the image's digest and
//! succeeds when at least one verifies under the policy. Anyone who can push to the repository
//! can add referrers and legacy tags, so a candidate that cannot be read is one rejected
//! candidate in the report, never a reason to ignore the others; referrers beyond
//! [`MAX_BUNDLES`] are counted in the report and not read.

use crate::Failure;
use crate::cli::{
    ImageAttestArgs, ImageSignArgs, ImageVerifyArgs, ImageVerifyAttestationArgs, OutputFormat,
};
use crate::common::{
    MAX_INPUT_FILE, load_policy, load_trust_async, now, read_limited, runtime, signer_text,
};
use crate::sign_cmd::SignSetup;
use signet_formats::{Bundle, Timestamp};
use signet_oci::manifest::ANNOTATION_PREDICATE_TYPE;
use signet_oci::{
    BundleArtifact, BundleListing, ClientOptions, Descriptor, DockerConfig, ImageRef,
    LegacyAttestation, LegacyError, LegacySignature, MAX_BUNDLES, RegistryClient, SimpleSigning,
};
use signet_verify::{
    Artifact, Policy, TrustMaterial, VerifiedBundle, VerifyOptions, verify_bundle,
    verify_bundle_with,
};
use std::collections::BTreeMap;

/// The predicate type of a plain image signature (cosign's, for signatures in bundle format).
pub const SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";
/// The DSSE payload type of in-toto statements.
const INTOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// A registry client with the Docker config's credentials, including those of the credential
/// helper configured for `image`'s registry (run now, before any request).
fn registry(image: &ImageRef, allow_insecure: bool) -> Result<RegistryClient, Failure> {
    let mut docker_config =
        DockerConfig::load_default().map_err(|e| Failure::Usage(format!("docker config: {e}")))?;
    docker_config
        .load_helper_credentials(&image.registry)
        .map_err(|e| Failure::Usage(format!("registry credentials: {e}")))?;
    RegistryClient::new(ClientOptions {
        docker_config,
        allow_insecure,
        ..ClientOptions::default()
    })
    .map_err(|e| Failure::Usage(format!("registry client: {e}")))
}

fn parse_image(text: &str) -> Result<ImageRef, Failure> {
    ImageRef::parse(text).map_err(|e| Failure::Usage(format!("image {text:?}: {e}")))
}

/// Resolves the image to the digest of its manifest, warning when only a tag was given.
async fn resolve(client: &RegistryClient, image: &ImageRef) -> Result<Descriptor, Failure> {
    let subject = client
        .resolve(image)
        .await
        .map_err(|e| Failure::Usage(format!("cannot resolve {}: {e}", image.name())))?;
    if image.digest.is_none() {
        eprintln!(
            "signet: WARNING: {} names a tag, which can move; using its current digest {}. \
             Refer to images by digest ({}@{}) to be sure what you sign or verify.",
            image.manifest_reference(),
            subject.digest,
            image.name(),
            subject.digest
        );
    }
    Ok(subject)
}

fn digest_bytes(subject: &Descriptor) -> Result<Vec<u8>, Failure> {
    let hex_text = subject.digest.hex();
    if subject.digest.algorithm() != "sha256" || hex_text.len() != 64 {
        return Err(Failure::Usage(format!(
            "image digest {} is not sha256",
            subject.digest
        )));
    }
    hex::decode(hex_text).map_err(|_| Failure::Usage(format!("bad digest {}", subject.digest)))
}

// ---------------------------------------------------------------------------------------
// Signing

fn statement(
    image: &ImageRef,
    subject: &Descriptor,
    predicate_type: &str,
    predicate: serde_json::Value,
) -> Vec<u8> {
    serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{
            "name": image.name(),
            "digest": { "sha256": subject.digest.hex() },
        }],
        "predicateType": predicate_type,
        "predicate": predicate,
    })
    .to_string()
    .into_bytes()
}

fn rfc3339_now() -> String {
    Timestamp::from_unix_seconds(now()).to_rfc3339()
}

/// Signs an in-toto statement about `subject` (a DSSE bundle).
async fn sign_statement(
    setup: &SignSetup,
    image: &ImageRef,
    subject: &Descriptor,
    predicate_type: &str,
    predicate: serde_json::Value,
) -> Result<signet_sign::Signed, Failure> {
    let payload = statement(image, subject, predicate_type, predicate);
    let signed = setup
        .client
        .sign_dsse(
            setup.credentials(),
            INTOTO_PAYLOAD_TYPE,
            payload,
            now(),
            &signet_sign::Quiet,
        )
        .await
        .map_err(|e| Failure::Usage(format!("signing failed: {e}")))?;
    if let Some(identity) = &signed.identity {
        eprintln!(
            "signet: signed as {identity} ({})",
            signed.issuer.as_deref().unwrap_or("")
        );
    }
    Ok(signed)
}

/// Stores a signed statement's bundle as a referrer of `subject`.
async fn attach(
    client: &RegistryClient,
    image: &ImageRef,
    subject: &Descriptor,
    predicate_type: &str,
    signed: &signet_sign::Signed,
) -> Result<Stored, Failure> {
    let artifact = BundleArtifact {
        bundle: signed.bundle.to_json().into_bytes(),
        predicate_type: Some(predicate_type.to_owned()),
        created: Some(rfc3339_now()),
        annotations: BTreeMap::new(),
    };
    let attached = client
        .attach_bundle(image, subject, &artifact)
        .await
        .map_err(|e| Failure::Usage(format!("cannot store the bundle: {e}")))?;
    Ok(Stored {
        manifest: format!("{}@{}", image.name(), attached.manifest.digest),
        layout: match attached.support {
            signet_oci::ReferrersSupport::Api => "referrer",
            signet_oci::ReferrersSupport::TagSchema => "referrer (tag-schema index)",
        },
    })
}

/// Where a signature or attestation was stored.
struct Stored {
    /// `name@digest` of the manifest written.
    manifest: String,
    /// How it is found: `referrer`, `referrer (tag-schema index)`, `legacy .sig`, `legacy .att`.
    layout: &'static str,
}

/// Prints what was stored: one line each, or one JSON object.
fn print_stored(output: OutputFormat, subject: &Descriptor, stored: &[Stored]) {
    match output {
        OutputFormat::Text => {
            for s in stored {
                println!("{} ({})", s.manifest, s.layout);
            }
        }
        OutputFormat::Json => {
            let list: Vec<serde_json::Value> = stored
                .iter()
                .map(|s| serde_json::json!({ "manifest": s.manifest, "layout": s.layout }))
                .collect();
            println!(
                "{}",
                serde_json::json!({ "digest": subject.digest.as_str(), "stored": list })
            );
        }
    }
}

fn parse_annotations(list: &[String]) -> Result<BTreeMap<String, String>, Failure> {
    list.iter()
        .map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| Failure::Usage(format!("annotation {a:?} is not key=value")))
        })
        .collect()
}

/// `signet sign IMAGE`.
pub fn sign(args: &ImageSignArgs) -> Result<(), Failure> {
    let annotations = parse_annotations(&args.annotations)?;
    let image = parse_image(&args.common.image)?;
    let client = registry(&image, args.common.allow_insecure_registry)?;
    runtime()?.block_on(async {
        let setup = SignSetup::prepare(&args.common.signing, now()).await?;
        let subject = resolve(&client, &image).await?;
        let predicate = if annotations.is_empty() {
            serde_json::json!({})
        } else {
            serde_json::json!({ "annotations": annotations })
        };
        let signed =
            sign_statement(&setup, &image, &subject, SIGN_PREDICATE_TYPE, predicate).await?;
        let mut stored =
            vec![attach(&client, &image, &subject, SIGN_PREDICATE_TYPE, &signed).await?];
        if args.legacy {
            stored.push(sign_legacy(&setup, &client, &image, &subject, annotations).await?);
        }
        print_stored(args.common.signing.output, &subject, &stored);
        Ok(())
    })
}

/// Why the legacy layout could not be written; a missing Rekor v1 log is the user's to fix.
fn legacy_write_failure(e: LegacyError) -> Failure {
    match e {
        LegacyError::NoSignedEntryTimestamp => Failure::Usage(
            "--legacy needs a Rekor v1 log (signed entry timestamp) in the signing config".into(),
        ),
        e => Failure::Usage(format!("cannot build the legacy layout: {e}")),
    }
}

async fn sign_legacy(
    setup: &SignSetup,
    client: &RegistryClient,
    image: &ImageRef,
    subject: &Descriptor,
    annotations: BTreeMap<String, String>,
) -> Result<Stored, Failure> {
    let payload = SimpleSigning::new(&image.docker_reference(), &subject.digest, annotations)
        .to_json()
        .map_err(|e| Failure::Usage(format!("cannot encode the simple-signing payload: {e}")))?;
    let signed = setup
        .client
        .sign_artifact(setup.credentials(), &payload, now(), &signet_sign::Quiet)
        .await
        .map_err(|e| Failure::Usage(format!("signing failed: {e}")))?;
    let legacy =
        LegacySignature::from_signed(payload, &signed.bundle).map_err(legacy_write_failure)?;
    let digest = client
        .write_legacy_signature(image, &subject.digest, &legacy)
        .await
        .map_err(|e| Failure::Usage(format!("cannot store the legacy signature: {e}")))?;
    Ok(Stored {
        manifest: format!("{}@{}", image.name(), digest),
        layout: "legacy .sig",
    })
}

/// Stores a signed statement in cosign's legacy `sha256-<hex>.att` layout: the DSSE envelope
/// as the layer, with the certificate, Rekor bundle and timestamp annotations.
async fn attach_legacy(
    client: &RegistryClient,
    image: &ImageRef,
    subject: &Descriptor,
    predicate_type: &str,
    signed: &signet_sign::Signed,
) -> Result<Stored, Failure> {
    let legacy = LegacyAttestation::from_signed(&signed.bundle, predicate_type)
        .map_err(legacy_write_failure)?;
    let digest = client
        .write_legacy_attestation(image, &subject.digest, &legacy.envelope, legacy.annotations)
        .await
        .map_err(|e| Failure::Usage(format!("cannot store the legacy attestation: {e}")))?;
    Ok(Stored {
        manifest: format!("{}@{}", image.name(), digest),
        layout: "legacy .att",
    })
}

/// `signet attest IMAGE --predicate FILE --type TYPE`.
pub fn attest(args: &ImageAttestArgs) -> Result<(), Failure> {
    let raw = read_limited(&args.predicate, "predicate", MAX_INPUT_FILE)?;
    let predicate: serde_json::Value = serde_json::from_slice(&raw).map_err(|e| {
        Failure::Usage(format!(
            "predicate {} is not JSON: {e}",
            args.predicate.display()
        ))
    })?;
    let predicate_type = crate::common::predicate_type_uri(&args.predicate_type);
    let image = parse_image(&args.common.image)?;
    let client = registry(&image, args.common.allow_insecure_registry)?;
    runtime()?.block_on(async {
        let setup = SignSetup::prepare(&args.common.signing, now()).await?;
        let subject = resolve(&client, &image).await?;
        // One signature (one certificate, one log entry), stored in each layout asked for.
        let signed = sign_statement(&setup, &image, &subject, &predicate_type, predicate).await?;
        let mut stored = Vec::new();
        if args.legacy {
            stored.push(attach_legacy(&client, &image, &subject, &predicate_type, &signed).await?);
        }
        stored.push(attach(&client, &image, &subject, &predicate_type, &signed).await?);
        print_stored(args.common.signing.output, &subject, &stored);
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Verifying

/// One signature that verified.
struct Found {
    /// Where it was stored (artifact manifest digest, or `legacy .sig`).
    location: String,
    verified: VerifiedBundle,
}

/// The outcome of one candidate: verified, or why not.
type Checked = Result<Found, String>;

fn check_bundle(
    raw: &[u8],
    location: &str,
    artifact: &Artifact,
    trust: &TrustMaterial,
    policy: &Policy,
    predicate_type: &str,
) -> Checked {
    let bundle = Bundle::from_json(raw).map_err(|e| format!("{location}: bundle: {e}"))?;
    let verified = verify_bundle(&bundle, artifact, trust, policy, now())
        .map_err(|e| format!("{location}: {e}"))?;
    match &verified.statement {
        Some(s) if s.predicate_type == predicate_type => Ok(Found {
            location: location.to_owned(),
            verified,
        }),
        Some(s) => Err(format!(
            "{location}: predicate type {} is not {predicate_type}",
            s.predicate_type
        )),
        None => Err(format!("{location}: not an in-toto statement")),
    }
}

/// cosign's `.sig` / `.att` layouts keep only the signed entry timestamp (no inclusion proof),
/// and cosign accepts that for them; so do we, for these only.
fn verify_legacy(
    bundle: &Bundle,
    artifact: &Artifact,
    trust: &TrustMaterial,
    policy: &Policy,
) -> Result<VerifiedBundle, signet_verify::VerifyError> {
    let options = VerifyOptions {
        allow_promise_only_v0_1: true,
        ..VerifyOptions::default()
    };
    verify_bundle_with(bundle, artifact, trust, policy, now(), &options)
}

/// Verifies a legacy `.sig` layer over its simple-signing payload, which must name `subject`.
fn check_legacy(
    sig: &LegacySignature,
    subject: &Descriptor,
    trust: &TrustMaterial,
    policy: &Policy,
) -> Checked {
    let location = "legacy .sig".to_owned();
    let bad = |what: &str| format!("{location}: {what}");
    let bundle = sig
        .to_bundle(&subject.digest)
        .map_err(|e| bad(&e.to_string()))?;
    let verified = verify_legacy(
        &bundle,
        &Artifact::Bytes(sig.payload.clone()),
        trust,
        policy,
    )
    .map_err(|e| bad(&e.to_string()))?;
    Ok(Found { location, verified })
}

/// Verifies a legacy `.att` layer (a DSSE envelope) for the image digest `artifact`.
fn check_legacy_attestation(
    att: &LegacyAttestation,
    artifact: &Artifact,
    trust: &TrustMaterial,
    policy: &Policy,
    predicate_type: &str,
) -> Checked {
    let location = "legacy .att".to_owned();
    let bad = |what: &str| format!("{location}: {what}");
    let bundle = att.to_bundle().map_err(|e| bad(&e.to_string()))?;
    let verified =
        verify_legacy(&bundle, artifact, trust, policy).map_err(|e| bad(&e.to_string()))?;
    match &verified.statement {
        Some(s) if s.predicate_type == predicate_type => Ok(Found { location, verified }),
        Some(s) => Err(bad(&format!(
            "predicate type {} is not {predicate_type}",
            s.predicate_type
        ))),
        None => Err(bad("not an in-toto statement")),
    }
}

/// Every candidate found for an image, checked.
struct Findings {
    /// The image manifest.
    subject: Descriptor,
    /// One outcome per candidate read (or that could not be read).
    results: Vec<Checked>,
    /// Referrers of the bundle type beyond [`MAX_BUNDLES`], not read.
    not_read: usize,
}

async fn find_verified(args: &ImageVerifyArgs, predicate_type: &str) -> Result<Findings, Failure> {
    let trust = load_trust_async(&args.trust, false).await?;
    let policy = load_policy(&args.policy)?;
    let image = parse_image(&args.image)?;
    let client = registry(&image, args.allow_insecure_registry)?;
    let subject = resolve(&client, &image).await?;
    let artifact = Artifact::Digest {
        algorithm: "sha256",
        value: digest_bytes(&subject)?,
    };
    let mut results: Vec<Checked> = Vec::new();
    // A referrers list that cannot be read hides the referrer bundles only: it is one rejected
    // candidate, and the legacy layout is still checked.
    let listing = match client.list_bundles(&image, &subject.digest).await {
        Ok(listing) => listing,
        Err(e) => {
            results.push(Err(format!("referrers: cannot list: {e}")));
            BundleListing::default()
        }
    };
    // The predicate-type annotation is unsigned, so it only decides which bundles to try: one
    // annotated with another type is an attestation of something else, not a failed check.
    let wanted = |annotated: Option<&str>| annotated.is_none_or(|t| t == predicate_type);
    results.extend(
        listing
            .bundles
            .iter()
            .filter(|s| wanted(s.predicate_type.as_deref()))
            .map(|s| {
                check_bundle(
                    &s.bundle,
                    s.manifest.digest.as_str(),
                    &artifact,
                    &trust,
                    &policy,
                    predicate_type,
                )
            }),
    );
    results.extend(
        listing
            .unreadable
            .iter()
            .filter(|u| {
                wanted(
                    u.manifest
                        .annotations
                        .get(ANNOTATION_PREDICATE_TYPE)
                        .map(String::as_str),
                )
            })
            .map(|u| Err(format!("{}: cannot read: {}", u.manifest.digest, u.error))),
    );
    if predicate_type == SIGN_PREDICATE_TYPE {
        // Whoever can push to the repository can put anything at the legacy tag: a layout that
        // cannot be read is one rejected candidate, not a reason to ignore the others.
        match client.read_legacy_signatures(&image, &subject.digest).await {
            Ok(sigs) => results.extend(
                sigs.iter()
                    .map(|sig| check_legacy(sig, &subject, &trust, &policy)),
            ),
            Err(e) => results.push(Err(format!("legacy .sig: cannot read: {e}"))),
        }
    } else {
        let atts = match client
            .read_legacy_attestations(&image, &subject.digest)
            .await
        {
            Ok(atts) => atts,
            Err(e) => {
                results.push(Err(format!("legacy .att: cannot read: {e}")));
                Vec::new()
            }
        };
        results.extend(
            atts.iter()
                // Like the bundles' annotation, cosign's `predicateType` only picks candidates.
                .filter(|att| {
                    att.predicate_type()
                        .is_none_or(|t| crate::common::predicate_type_uri(t) == predicate_type)
                })
                .map(|att| {
                    check_legacy_attestation(att, &artifact, &trust, &policy, predicate_type)
                }),
        );
    }
    Ok(Findings {
        subject,
        results,
        not_read: listing.not_read,
    })
}

fn report(output: OutputFormat, findings: &Findings) -> Result<(), Failure> {
    let Findings {
        subject,
        results,
        not_read,
    } = findings;
    let ok: Vec<&Found> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    if output == OutputFormat::Json {
        let found: Vec<serde_json::Value> = ok
            .iter()
            .map(|f| {
                let (who, issuer) = signer_text(&f.verified);
                serde_json::json!({
                    "location": f.location,
                    "signer": who,
                    "issuer": issuer,
                    "predicateType": f.verified.statement.as_ref().map(|s| s.predicate_type.clone()),
                    "statement": f.verified.statement.as_ref().map(|s| s.to_json()),
                    "times": f.verified.times.iter().map(|t| t.time).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "verified": !ok.is_empty(),
                "digest": subject.digest.as_str(),
                "signatures": found,
                "rejected": errors,
                "notRead": not_read,
            })
        );
    } else {
        for f in &ok {
            let (who, issuer) = signer_text(&f.verified);
            println!(
                "Verified OK: {} signed by {who}{} ({})",
                subject.digest,
                issuer.map(|i| format!(" ({i})")).unwrap_or_default(),
                f.location
            );
        }
    }
    for e in &errors {
        eprintln!("signet: rejected {e}");
    }
    let unread = (*not_read > 0).then(|| {
        format!("{not_read} more bundles were not read (at most {MAX_BUNDLES} are read per image)")
    });
    if let Some(line) = &unread {
        eprintln!("signet: {line}");
    }
    if ok.is_empty() {
        let mut message = if results.is_empty() {
            format!("no signatures found for {}", subject.digest)
        } else {
            format!(
                "none of the {} signatures found for {} verified",
                results.len(),
                subject.digest
            )
        };
        if let Some(line) = unread {
            message.push_str("; ");
            message.push_str(&line);
        }
        return Err(Failure::Invalid(message));
    }
    Ok(())
}

/// `signet verify IMAGE`.
pub fn verify(args: &ImageVerifyArgs) -> Result<(), Failure> {
    let findings = runtime()?.block_on(find_verified(args, SIGN_PREDICATE_TYPE))?;
    report(args.output, &findings)
}

/// `signet verify-attestation IMAGE --type TYPE`.
pub fn verify_attestation(args: &ImageVerifyAttestationArgs) -> Result<(), Failure> {
    let predicate_type = crate::common::predicate_type_uri(&args.predicate_type);
    let findings = runtime()?.block_on(find_verified(&args.common, &predicate_type))?;
    report(args.common.output, &findings)
}
