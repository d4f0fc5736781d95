//! Fulcio-compatible certificate authority: certificate profile, Fulcio extensions, CSR/proof-of-possession checks, CT log with embedded SCTs.
#![forbid(unsafe_code)]
