"""Secrets in Ceph's encoding, key derivation, and authenticated sealing.

A keyring `key = ...` value is base64 of Ceph's `CryptoKey` encoding: a 12-byte header
(u16 type, u32 created seconds, u32 created nanoseconds, u16 secret length, all
little-endian) followed by the secret. Type 1 is AES with a 16-byte secret.

`seal`/`unseal` give authenticated encryption from the standard library alone, so no
new dependency is needed for tickets (small control payloads, never bulk data):

* per message, a random 16-byte nonce and HKDF-SHA256(key, salt=nonce) derive an
  encryption key and a MAC key, so no (key, keystream) pair is ever reused;
* the keystream is HMAC-SHA256(enc_key, counter) blocks (HMAC as a PRF in counter
  mode, which is IND-CPA as long as HMAC-SHA256 is a PRF);
* the tag is HMAC-SHA256(mac_key, version || nonce || aad length || aad || ciphertext),
  checked in constant time before anything is decrypted (encrypt-then-MAC).

The pair is the only place that knows the construction: swapping it for AES-GCM
(`cryptography`) changes these two functions and the version byte, nothing else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass, field

from radospy.auth.errors import AuthError
from radospy.common.errors import InvalidArgument

CRYPTO_NONE = 0
CRYPTO_AES = 1
AES_KEY_LEN = 16

_HEADER = struct.Struct("<HIIH")
_SEAL_VERSION = b"\x01"
_NONCE_LEN = 16
_TAG_LEN = 32
_BLOCK = hashlib.sha256().digest_size


@dataclass(frozen=True)
class CryptoKey:
    """A secret as Ceph stores it; `str()` is the base64 text of a keyring."""

    type: int
    created_sec: int
    created_nsec: int
    secret: bytes = field(repr=False)

    @classmethod
    def generate(cls, now: float) -> CryptoKey:
        """A fresh AES secret stamped with `now` (seconds since the epoch)."""
        sec = int(now)
        nsec = round((now - sec) * 1e9) % 1_000_000_000
        return cls(CRYPTO_AES, sec, nsec, secrets.token_bytes(AES_KEY_LEN))

    @classmethod
    def empty(cls) -> CryptoKey:
        """Ceph's default key (`AAAAAAAAAAAAAAAA`): an entity that has caps but no key."""
        return cls(CRYPTO_NONE, 0, 0, b"")

    @property
    def usable(self) -> bool:
        """Whether this key can prove anything: an AES secret of full length."""
        return self.type == CRYPTO_AES and len(self.secret) >= AES_KEY_LEN

    def encode(self) -> bytes:
        header = _HEADER.pack(self.type, self.created_sec, self.created_nsec, len(self.secret))
        return header + self.secret

    @classmethod
    def decode(cls, data: bytes) -> CryptoKey:
        """Decode Ceph's binary form; trailing bytes are ignored, as Ceph does."""
        if len(data) < _HEADER.size:
            raise InvalidArgument("key too short")
        ktype, sec, nsec, length = _HEADER.unpack_from(data)
        secret = data[_HEADER.size : _HEADER.size + length]
        if len(secret) != length:
            raise InvalidArgument("key truncated")
        if ktype not in (CRYPTO_NONE, CRYPTO_AES):
            raise InvalidArgument(f"unsupported key type {ktype}")
        if ktype == CRYPTO_AES and 0 < length < AES_KEY_LEN:
            raise InvalidArgument("AES secret shorter than 16 bytes")
        return cls(ktype, sec, nsec, secret)

    def to_base64(self) -> str:
        return base64.b64encode(self.encode()).decode("ascii")

    @classmethod
    def from_base64(cls, text: str) -> CryptoKey:
        """Parse a keyring `key` value; raises InvalidArgument on anything else."""
        try:
            raw = base64.b64decode(_armored_prefix(text), validate=True)
        except (binascii.Error, ValueError) as e:
            raise InvalidArgument(f"can't decode key '{text}'") from e
        return cls.decode(raw)

    def __str__(self) -> str:
        return self.to_base64()


def _armored_prefix(text: str) -> str:
    """The base64 text up to its padding: Ceph stops decoding there and ignores the rest."""
    end = text.find("=")
    if end < 0:
        return text
    while end < len(text) and text[end] == "=":
        end += 1
    return text[:end]


def hmac_sha256(key: bytes, *parts: bytes) -> bytes:
    """HMAC-SHA256 over length-prefixed parts, so no two part lists collide."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        mac.update(struct.pack("<I", len(part)))
        mac.update(part)
    return mac.digest()


def hkdf(ikm: bytes, *, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF-SHA256 (RFC 5869): extract with `salt`, expand with `info`."""
    prk = hmac.new(salt or bytes(_BLOCK), ikm, hashlib.sha256).digest()
    out, block = b"", b""
    for counter in range(1, -(-length // _BLOCK) + 1):
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
    return out[:length]


def _keystream(key: bytes, length: int) -> bytes:
    blocks = (
        hmac.new(key, struct.pack("<Q", i), hashlib.sha256).digest()
        for i in range(-(-length // _BLOCK))
    )
    return b"".join(blocks)[:length]


def _xor(data: bytes, stream: bytes) -> bytes:
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(
        len(data), "little"
    )


def _seal_keys(key: bytes, nonce: bytes) -> tuple[bytes, bytes]:
    material = hkdf(key, salt=nonce, info=b"radospy seal v1", length=64)
    return material[:32], material[32:]


def _tag(mac_key: bytes, nonce: bytes, aad: bytes, ciphertext: bytes) -> bytes:
    return hmac_sha256(mac_key, _SEAL_VERSION, nonce, aad, ciphertext)


def seal(key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """Encrypt and authenticate `plaintext` under `key`, binding `aad` (not encrypted)."""
    nonce = secrets.token_bytes(_NONCE_LEN)
    enc_key, mac_key = _seal_keys(key, nonce)
    ciphertext = _xor(plaintext, _keystream(enc_key, len(plaintext)))
    return _SEAL_VERSION + nonce + ciphertext + _tag(mac_key, nonce, aad, ciphertext)


def unseal(key: bytes, blob: bytes, aad: bytes = b"") -> bytes:
    """Reverse `seal`; any change to blob, key or aad raises AuthError."""
    if len(blob) < 1 + _NONCE_LEN + _TAG_LEN or blob[:1] != _SEAL_VERSION:
        raise AuthError("malformed sealed data")
    nonce = blob[1 : 1 + _NONCE_LEN]
    ciphertext, tag = blob[1 + _NONCE_LEN : -_TAG_LEN], blob[-_TAG_LEN:]
    enc_key, mac_key = _seal_keys(key, nonce)
    if not hmac.compare_digest(tag, _tag(mac_key, nonce, aad, ciphertext)):
        raise AuthError("sealed data failed authentication")
    return _xor(ciphertext, _keystream(enc_key, len(ciphertext)))
