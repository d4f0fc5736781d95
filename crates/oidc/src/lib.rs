//! OIDC for the Sigstore CA: issuer configuration, ID-token verification against cached JWKS, and a development issuer.
#![forbid(unsafe_code)]
