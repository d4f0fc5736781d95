//! `signet note verify`: file and key loading, then the library's note and checkpoint checks.

use crate::Failure;
use crate::cli::NoteVerifyArgs;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use signet_note::{Checkpoint, Note, NoteVerifiers, open_note, parse_verifier_keys};
use std::io::Read;
use std::path::Path;

/// Largest note file read; notes are limited to far less by the parser anyway.
const MAX_NOTE_FILE: u64 = 2 << 20;
/// Largest key file read.
const MAX_KEY_FILE: u64 = 1 << 20;

fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, Failure> {
    let mut data = Vec::new();
    let result = if path.as_os_str() == "-" {
        std::io::stdin().take(limit + 1).read_to_end(&mut data)
    } else {
        crate::common::open_regular(path).and_then(|f| f.take(limit + 1).read_to_end(&mut data))
    };
    result.map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    if data.len() as u64 > limit {
        return Err(Failure::Usage(format!(
            "{} is larger than {limit} bytes",
            path.display()
        )));
    }
    Ok(data)
}

/// Runs `signet note verify`.
pub fn verify(args: &NoteVerifyArgs) -> Result<(), Failure> {
    let raw = read_limited(&args.note, MAX_NOTE_FILE)?;
    // Parse once up front so PEM keys can take their name from the matching signature line.
    let parsed = Note::parse(&raw).map_err(|e| Failure::Invalid(format!("malformed note: {e}")))?;

    let mut verifiers = NoteVerifiers::new();
    for key in &args.keys {
        let path = Path::new(key);
        let (text, source) = if path.is_file() {
            let data = read_limited(path, MAX_KEY_FILE)?;
            let text = String::from_utf8(data)
                .map_err(|_| Failure::Usage(format!("key file {key} is not UTF-8 text")))?;
            (text, format!("key file {key}"))
        } else {
            (key.clone(), format!("key {key:?}"))
        };
        let keys = parse_verifier_keys(&text, args.key_name.as_deref(), Some(&parsed))
            .map_err(|e| Failure::Usage(format!("{source}: {e}")))?;
        if keys.is_empty() {
            return Err(Failure::Usage(format!("{source} holds no keys")));
        }
        for k in keys {
            verifiers.push(k);
        }
    }

    let opened = open_note(&raw, &verifiers).map_err(|e| Failure::Invalid(e.to_string()))?;
    let checkpoint = Checkpoint::parse(opened.text())
        .map_err(|e| Failure::Invalid(format!("note is not a checkpoint: {e}")))?;
    println!("origin: {}", checkpoint.origin);
    println!("size: {}", checkpoint.size.0);
    println!("root: {}", STANDARD.encode(checkpoint.root_hash.0));
    for ext in &checkpoint.extensions {
        println!("extension: {ext}");
    }
    for sig in opened.verified_signatures() {
        println!("verified: {} {:08x}", sig.name, sig.key_id);
    }
    if let Some(policy) = crate::common::witness_policy(&args.witnesses)? {
        let cosigners = policy.cosigners(opened.note());
        for name in &cosigners {
            println!("cosigned: {name}");
        }
        if cosigners.len() < policy.quorum() {
            return Err(Failure::Invalid(format!(
                "the checkpoint carries {} valid cosignatures by the given witnesses, {} required",
                cosigners.len(),
                policy.quorum()
            )));
        }
    }
    Ok(())
}
