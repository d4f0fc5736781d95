//! Cosign-compatible key files: encrypted private keys (scrypt + NaCl secretbox), PEM imports, public keys.
#![forbid(unsafe_code)]
