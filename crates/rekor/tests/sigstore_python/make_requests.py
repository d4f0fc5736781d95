# Builds Rekor v1 and v2 requests with sigstore-python's own client code (fresh key, self-signed
# certificate) and prints them as JSON, for tests/sigstore_python.rs.
import base64, datetime, hashlib, json
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sigstore._internal.rekor.client import RekorClient
from sigstore._internal.rekor.client_v2 import RekorV2Client
from sigstore.hashes import Hashed
from sigstore_models.common.v1 import HashAlgorithm
from sigstore.dsse import StatementBuilder, Subject, _sign

key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signet test")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (
    x509.CertificateBuilder()
    .subject_name(name)
    .issuer_name(name)
    .public_key(key.public_key())
    .serial_number(1)
    .not_valid_before(now)
    .not_valid_after(now + datetime.timedelta(days=1))
    .add_extension(x509.SubjectAlternativeName([x509.RFC822Name("Signet@Example.com")]), critical=False)
    .sign(key, hashes.SHA256())
)
artifact = b"hello, signet\n"
digest = hashlib.sha256(artifact).digest()
sig = key.sign(artifact, ec.ECDSA(hashes.SHA256()))
hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=digest)
stmt = (
    StatementBuilder()
    .subjects([Subject(name="a.txt", digest={"sha256": digest.hex()})])
    .predicate_type("https://example.com/predicate")
    .build()
)
env = _sign(key, stmt)
v1, v2 = RekorClient("http://x"), RekorV2Client("http://x")
print(json.dumps({
    "hashedrekord_v1": v1._build_hashed_rekord_request(hashed, sig, cert),
    "hashedrekord_v2": v2._build_hashed_rekord_request(hashed, sig, cert),
    "dsse_v1": v1._build_dsse_request(env, cert),
    "dsse_v2": v2._build_dsse_request(env, cert),
}))
