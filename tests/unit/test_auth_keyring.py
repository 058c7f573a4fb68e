"""Keyrings and keys: byte-for-byte round trips with keyrings Ceph's ceph-authtool wrote,
Ceph's key encoding, and the sealing primitive."""

from __future__ import annotations

import base64
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radospy.auth.crypto import CRYPTO_AES, CryptoKey, hkdf, seal, unseal
from radospy.auth.errors import AuthError
from radospy.auth.keyring import EntityName, Keyring
from radospy.common.errors import InvalidArgument

# Written by Ceph 16.2.15 `ceph-authtool` (-C, -g, -a, --cap, --import-keyring).
CEPH_WRITTEN = """[mon.]
\tkey = AQCW6gprEJSoExAAHByYgGjYueJR7iFOl9sxxQ==
[mds.a]
\tkey = AQCW6gprzEhfFxAAUW/Q9Uy+2bBNgmzNSYQvsA==
[osd.0]
\tkey = AQCW6gprxmtxEhAAbdNnxb0wCGM1ZDT0sBABag==
[client.a]
\tkey = AQCW6gprjNbhGBAAOkVmdTXKC451bG+gW76AlQ==
[client.b]
\tkey = AQCW6gpr2XHcEBAAxrv83pel3pUQtKrRJXFusg==
\tcaps osd = "allow rw pool=foo"
[client.c]
\tkey = AQCf6gprc8qONxAAO449Ce7S5J/wQXxjEvtamg==
[client.q]
\tkey = AQCW6gprZG6PFRAAQOKdyQ6RqjtO+21TL4t76Q==
\tcaps mon = "allow r"
\tcaps osd = "allow *"
[mgr.x]
\tkey = AQCW6gprZG6PFRAAQOKdyQ6RqjtO+21TL4t76Q==
"""
CEPH_ADMIN = """[client.admin]
\tkey = AQCH6gprWbNuLhAAMRkssUMhYpFk7mGDyeKYSA==
\tcaps mds = "allow *"
\tcaps mgr = "allow *"
\tcaps mon = "allow *"
\tcaps osd = "allow *"
"""
# From Ceph's docs (a hand-written keyring, as in /etc/ceph/ceph.client.admin.keyring).
DOCS_KEYRING = "[client.admin]\n\tkey = AQDXKjBR+KEYERAACUX69XElrMP9ilMq318WXA==\n"


@pytest.mark.parametrize("text", [CEPH_WRITTEN, CEPH_ADMIN, DOCS_KEYRING])
def test_ceph_written_keyrings_round_trip_byte_for_byte(text: str) -> None:
    assert Keyring.parse(text).to_text() == text


def test_entities_sort_as_ceph_orders_them() -> None:
    names = [str(n) for n, _ in Keyring.parse(CEPH_WRITTEN).items()]
    assert names == [
        "mon.",
        "mds.a",
        "osd.0",
        "client.a",
        "client.b",
        "client.c",
        "client.q",
        "mgr.x",
    ]


def test_quotes_are_escaped_and_backslash_escapes_read() -> None:
    keyring = Keyring.parse(
        '[client.a]\n\tkey = AQCW6gprZG6PFRAAQOKdyQ6RqjtO+21TL4t76Q==\n\tcaps mon = "a\\"b\\c"\n'
    )
    auth = keyring.get(EntityName.parse("client.a"))
    assert auth is not None and auth.caps == {"mon": 'a"bc'}
    assert '\tcaps mon = "a\\"bc"\n' in keyring.to_text()


@pytest.mark.parametrize(
    "text",
    [
        "[client.a]\nKEY = AQCW6gprZG6PFRAAQOKdyQ6RqjtO+21TL4t76Q==\n",
        "[bad]\nkey = AQCW6gprZG6PFRAAQOKdyQ6RqjtO+21TL4t76Q==\n",
        "[client.a]\nkey = xx\n",
        "[client.a]\nkey = AQCW6gprZG6PFRAAQOKdyQ6RqjtO+21TL4t76Q==",
        '[client.a]\ncaps mon = "unterminated\n',
        "  [client.a]\n",
        "garbage line\n",
        '[client.a]\ncaps mon = "a#b"\n',
    ],
)
def test_files_ceph_refuses_are_refused(text: str) -> None:
    with pytest.raises(InvalidArgument):
        Keyring.parse(text)


def test_config_grammar_details_match_ceph() -> None:
    text = (
        "# top\n[client.x]\nkey=AQCW6gprZG6PFRAAQOKdyQ6RqjtO+21TL4t76Q==   # c\n"
        '  caps_mon   =   "allow r" \ncaps   osd = allow \\\n rw ; c\n[global]\nx = y\n'
        "[client.x]\ncaps mgr = 'allow *'\n"
    )
    auth = Keyring.parse(text).get(EntityName.parse("client.x"))
    assert auth is not None
    assert auth.caps == {"mon": "allow r", "osd": "allow  rw", "mgr": "allow *"}


def test_caps_without_key_give_ceph_empty_key() -> None:
    assert Keyring.parse('[client.a]\ncaps mon = "allow r"\n').to_text() == (
        '[client.a]\n\tkey = AAAAAAAAAAAAAAAA\n\tcaps mon = "allow r"\n'
    )


def test_key_encoding_is_cephs() -> None:
    key = CryptoKey.from_base64("AQCH6gprWbNuLhAAMRkssUMhYpFk7mGDyeKYSA==")
    raw = base64.b64decode("AQCH6gprWbNuLhAAMRkssUMhYpFk7mGDyeKYSA==")
    assert struct.unpack_from("<HIIH", raw) == (CRYPTO_AES, key.created_sec, key.created_nsec, 16)
    assert key.secret == raw[12:] and key.usable
    fresh = CryptoKey.generate(1_700_000_000.25)
    assert (fresh.created_sec, fresh.created_nsec) == (1_700_000_000, 250_000_000)
    assert CryptoKey.from_base64(str(fresh)) == fresh
    assert "secret=" not in repr(fresh)


@pytest.mark.parametrize(
    "bad",
    [
        "garbage",
        "AgAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "AQAAAAAAAAAAAAgAAAAAAAAAAAAAAAAA",
        " AQCW6gpr",
    ],
)
def test_bad_keys_refused(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        CryptoKey.from_base64(bad)


def test_entity_names() -> None:
    assert str(EntityName.parse("mon.")) == "mon."
    with pytest.raises(InvalidArgument, match=r"expected string of the form TYPE\.ID"):
        EntityName.parse("bogus")


_safe_text = st.text(
    alphabet=st.characters(blacklist_characters="\n\r#;\\\"'", blacklist_categories=("Cs", "Cc")),
    max_size=20,
)


@given(
    st.dictionaries(
        st.from_regex(r"(client|osd|mon|mgr|mds)\.[a-z0-9]{0,6}", fullmatch=True),
        st.dictionaries(st.sampled_from(["mon", "osd", "mgr", "mds"]), _safe_text, max_size=4),
        max_size=5,
    )
)
def test_written_keyrings_read_back(entries: dict[str, dict[str, str]]) -> None:
    keyring = Keyring()
    for name, caps in entries.items():
        keyring.add(EntityName.parse(name), CryptoKey.generate(1.0))
        keyring.set_caps(EntityName.parse(name), caps)
    text = keyring.to_text()
    again = Keyring.parse(text)
    assert {n: (a.key, {k: v.strip() for k, v in a.caps.items()}) for n, a in again.items()} == {
        n: (a.key, {k: v.strip() for k, v in a.caps.items()}) for n, a in keyring.items()
    }
    assert again.to_text() == Keyring.parse(again.to_text()).to_text()


def test_hkdf_matches_rfc5869_case_1() -> None:
    okm = hkdf(
        bytes.fromhex("0b" * 22),
        salt=bytes.fromhex("000102030405060708090a0b0c"),
        info=bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"),
        length=42,
    )
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


@given(st.binary(max_size=300), st.binary(max_size=20), st.data())
def test_sealed_data_tampered_anywhere_is_rejected(
    plain: bytes, aad: bytes, data: st.DataObject
) -> None:
    key = b"k" * 32
    blob = seal(key, plain, aad)
    assert unseal(key, blob, aad) == plain
    i = data.draw(st.integers(0, len(blob) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = blob[:i] + bytes([blob[i] ^ flip]) + blob[i + 1 :]
    with pytest.raises(AuthError):
        unseal(key, tampered, aad)
    with pytest.raises(AuthError):
        unseal(b"x" * 32, blob, aad)
    with pytest.raises(AuthError):
        unseal(key, blob, aad + b"!")
    with pytest.raises(AuthError):
        unseal(key, blob[: data.draw(st.integers(0, len(blob) - 1))], aad)
