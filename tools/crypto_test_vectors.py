"""Independent computation of the fixed test vectors in src/crypto/*.rs.

Uses Python's hashlib/base64, `cryptography` (X25519, HKDF, ChaCha20-Poly1305,
Argon2id) and PyNaCl/libsodium (XChaCha20-Poly1305), so the Rust code is
checked against implementations that share none of its code.
Run: python3 tools/crypto_test_vectors.py   (needs: pip install cryptography pynacl)
"""
import base64
import hashlib
import struct

import nacl.bindings as sodium
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def fields(prefix, *parts):
    out = prefix
    for p in parts:
        out += struct.pack(">I", len(p)) + p
    return out


def raw_pub(private):
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


# Case key
data = b"0123456789ABCDEFGHJKMNPQR"
h = hashlib.sha256(b"speakup/case-key-check/v1" + data).digest()
bits = ((h[0] << 8) | h[1]) >> 1
check = "".join(ALPHABET[(bits >> s) & 31] for s in (10, 5, 0))
full = data.decode() + check
print("CHECK_VECTOR", "-".join(full[i:i + 4] for i in range(0, 28, 4)))
print("LOOKUP_VECTOR", hashlib.sha256(b"speakup/case-lookup/v1" + data).hexdigest())
seed = HKDF(hashes.SHA256(), 32, None, b"speakup/reporter-x25519/v1").derive(data)
print("REPORTER_VECTOR", raw_pub(X25519PrivateKey.from_private_bytes(seed)).hex())

# Seal
key = bytes(range(32))
nonce = bytes(range(0x40, 0x58))
aad = fields(b"speakup/v1", b"case-1", b"concern", b"rec-1")
ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(b"hello speakup", aad, nonce, key)
print("SEAL_VECTOR", (nonce + ct).hex())

# Wrap
recipient = X25519PrivateKey.from_private_bytes(b"\x11" * 32)
ephemeral = X25519PrivateKey.from_private_bytes(b"\x22" * 32)
eph_pub, rec_pub = raw_pub(ephemeral), raw_pub(recipient)
shared = ephemeral.exchange(recipient.public_key())
k = HKDF(hashes.SHA256(), 32, eph_pub + rec_pub, b"speakup/wrap/v1").derive(shared)
wrap_aad = fields(b"speakup/wrap/v1", b"case-1", b"identity")
print("WRAP_VECTOR", (eph_pub + ChaCha20Poly1305(k).encrypt(b"\0" * 12, key, wrap_aad)).hex())

# Password
salt = bytes(range(16))
for label, m, t in (("PW", 8, 1), ("PW_PROD", 65536, 3)):
    out = Argon2id(salt=salt, length=64, iterations=t, lanes=1, memory_cost=m).derive(
        b"correct horse battery staple")
    print(f"{label}_KEK_VECTOR", out[:32].hex())
    print(f"{label}_VERIFIER_VECTOR",
          hashlib.sha256(b"speakup/login-verifier/v1" + out[32:]).hexdigest())

# Session token
token = bytes(range(16)) + bytes(range(0x10, 0x30))
print("SESSION_VECTOR", base64.urlsafe_b64encode(token).rstrip(b"=").decode())
