"""Object-name hashes against the names Ceph's monitor and osdmaptool hashed."""

from __future__ import annotations

import pytest

from radospy.osdmap.hash import (
    StrHash,
    ceph_str_hash,
    ceph_str_hash_linux,
    ceph_str_hash_rjenkins,
)
from radospy.osdmap.pg import ceph_stable_mod, pg_num_mask
from tests.conftest import load_vector

OBJECTS = load_vector("hashes/rjenkins.json")["objects"]


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda o: o["name_hex"][:40])
def test_rjenkins_matches_ceph(obj: dict[str, str]) -> None:
    data = bytes.fromhex(obj["name_hex"])
    assert len(data) == obj["length"]
    assert f"{ceph_str_hash_rjenkins(data):08x}" == obj["rjenkins"]
    assert obj["mon_osd_map_raw_pgid"] == f"1.{ceph_str_hash_rjenkins(data):x}"


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda o: o["name_hex"][:40])
def test_pg_num_2_31_takes_the_signed_branch(obj: dict[str, str]) -> None:
    # pg_num = 2^31 is a negative C int, so ceph_stable_mod masks with bmask >> 1.
    raw = ceph_str_hash_rjenkins(bytes.fromhex(obj["name_hex"]))
    ps = ceph_stable_mod(raw, 1 << 31, pg_num_mask(1 << 31))
    assert ps == int(obj["osdmaptool_pg_num_2_31_ps"], 16)


def test_names_are_hashed_as_utf8_bytes() -> None:
    name = "ünïcødé/🙂"
    assert ceph_str_hash(StrHash.RJENKINS, name.encode()) == ceph_str_hash_rjenkins(name.encode())


def test_linux_dcache_hash() -> None:
    # 'a' = 0x61: (0x610 + 0x6) * 11 = 17138; longer inputs wrap at 32 bits.
    assert ceph_str_hash_linux(b"a") == 17138
    assert ceph_str_hash_linux(b"") == 0
    assert ceph_str_hash(StrHash.LINUX, b"foo") == ceph_str_hash_linux(b"foo")
    assert ceph_str_hash_linux(bytes(range(256)) * 4) < 1 << 32


def test_unknown_hash_kind_is_minus_one() -> None:
    assert ceph_str_hash(7, b"foo") == 0xFFFFFFFF
