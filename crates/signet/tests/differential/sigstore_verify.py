#!/usr/bin/env python3
"""Verify many Sigstore bundles with sigstore-python, in one process, for signet's differential test.

Reads a JSON list of cases from stdin. Each case is an object:

    {"id": str, "bundle": str (bundle JSON text), "artifact": str (a file path or "sha256:<hex>"),
     "identity": str, "issuer": str, "trusted_root": str (path to a trusted_root.json)}

Prints one JSON object per line and per case, in input order:

    {"id": str, "accepted": bool, "error": str | null}

Verification does what `sigstore verify identity --offline --bundle B --cert-identity I
--cert-oidc-issuer O FILE_OR_DIGEST` does (see `_verify_common` in sigstore/_cli.py): DSSE
bundles go through `Verifier.verify_dsse`, must carry an in-toto statement and must name the
artifact's digest as a subject; other bundles go through `Verifier.verify_artifact`. Any
exception, not only sigstore's own errors, counts as a rejection, as it makes the CLI exit non-zero.

The process refuses every network connection, so "offline" cannot silently become "online".
"""

from __future__ import annotations

import json
import socket
import sys
import traceback
from pathlib import Path


def _no_network(*_args, **_kwargs):
    raise OSError("network access is disabled in the differential test")


socket.socket.connect = _no_network  # type: ignore[method-assign]
socket.socket.connect_ex = _no_network  # type: ignore[method-assign]
socket.create_connection = _no_network  # type: ignore[assignment]

from sigstore import dsse  # noqa: E402
from sigstore._utils import sha256_digest  # noqa: E402
from sigstore.errors import VerificationError  # noqa: E402
from sigstore.hashes import Hashed  # noqa: E402
from sigstore.models import Bundle, TrustedRoot  # noqa: E402
from sigstore.verify import Verifier  # noqa: E402
from sigstore.verify.policy import Identity  # noqa: E402
from sigstore_models.common.v1 import HashAlgorithm  # noqa: E402

_verifiers: dict[str, Verifier] = {}


def verifier_for(trusted_root: str) -> Verifier:
    if trusted_root not in _verifiers:
        _verifiers[trusted_root] = Verifier(trusted_root=TrustedRoot.from_file(trusted_root))
    return _verifiers[trusted_root]


def hashed_artifact(artifact: str) -> Hashed:
    path = Path(artifact)
    if path.is_file():
        with path.open("rb") as io:
            return sha256_digest(io)
    if artifact.startswith("sha256:"):
        digest = bytes.fromhex(artifact[len("sha256:") :])
        if len(digest) != 32:
            raise ValueError(f"bad digest {artifact!r}")
        return Hashed(digest=digest, algorithm=HashAlgorithm.SHA2_256)
    raise ValueError(f"artifact {artifact!r} is neither a file nor a sha256 digest")


def verify(case: dict) -> None:
    verifier = verifier_for(case["trusted_root"])
    hashed = hashed_artifact(case["artifact"])
    bundle = Bundle.from_json(case["bundle"])
    policy = Identity(identity=case["identity"], issuer=case["issuer"])
    if bundle._dsse_envelope:
        type_, payload = verifier.verify_dsse(bundle=bundle, policy=policy)
        if type_ != dsse.Envelope._TYPE:
            raise VerificationError(f"expected JSON payload for DSSE, got {type_}")
        statement = dsse.Statement(payload)
        if not statement._matches_digest(hashed):
            raise VerificationError(
                f"in-toto statement has no subject for digest {hashed.digest.hex()}"
            )
    else:
        verifier.verify_artifact(input_=hashed, bundle=bundle, policy=policy)


def main() -> int:
    cases = json.load(sys.stdin)
    for case in cases:
        try:
            verify(case)
            result = {"id": case["id"], "accepted": True, "error": None}
        except Exception as exc:  # noqa: BLE001 - every failure is a rejection
            text = f"{type(exc).__name__}: {exc}".strip()
            if not str(exc).strip():
                text = "".join(traceback.format_exception_only(exc)).strip()
            result = {"id": case["id"], "accepted": False, "error": text[:500]}
        print(json.dumps(result), flush=False)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
