# Parses a Rekor v1 LogEntry and a Rekor v2 TransparencyLogEntry (JSON on stdin) with
# sigstore-python's own models, and prints what it read, for tests/sigstore_python.rs.
import base64, json, sys
from sigstore.models import TransparencyLogEntry
from sigstore_models.rekor.v1 import TransparencyLogEntry as _TransparencyLogEntry

given = json.load(sys.stdin)
v1 = TransparencyLogEntry._from_v1_response(given["v1"])
v2 = TransparencyLogEntry(_TransparencyLogEntry.from_dict(given["v2"]))
print(json.dumps({
    "set_payload": v1._encode_canonical().decode(),
    "v1_log_index": int(v1._inner.log_index),
    "v1_kind": v1._inner.kind_version.kind,
    "v2_log_index": int(v2._inner.log_index),
    "v2_tree_size": int(v2._inner.inclusion_proof.tree_size),
    "v2_body": base64.b64encode(v2._inner.canonicalized_body).decode(),
}))
