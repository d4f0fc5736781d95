//! RFC 3161 timestamp authority: signed timestamp responses and their HTTP API.
#![forbid(unsafe_code)]
