"""MonMap (radospy.mon.monmap): ranks, codec and Ceph's output shapes."""

from __future__ import annotations

import contextlib
import json
import re

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from radospy.common.addr import Addr
from radospy.common.errors import Exists, InvalidArgument, NotFound
from radospy.mon.monmap import MonMap

FSID = "5ae6b1a7-96cd-4f4b-9a11-5b1f0e6b2d3c"
STAMP = "2024-05-01T12:00:00.123456+0000"


def _map(**mons: str) -> MonMap:
    monmap = MonMap(fsid=FSID, created=STAMP, modified=STAMP)
    for name, addr in mons.items():
        monmap.add(name, addr)
    return monmap


def test_ranks_follow_cephs_address_order() -> None:
    # Ceph 16.2.15's monmaptool ranked a, b, c as c, a, b: entity_addr_t compares the
    # port before the IP (a memcmp of the sockaddr)
    monmap = _map(a="127.0.0.2:6790", b="127.0.0.1:6791", c="10.0.0.1:3300", d="127.0.0.1:3300")
    assert monmap.ranks == ["c", "d", "a", "b"]
    assert monmap.rank("a") == 2
    assert monmap.name_of(0) == "c"
    six = _map(v6="[::1]:3300", v4="10.0.0.9:3301")
    assert six.ranks == ["v4", "v6"]  # AF_INET sorts before AF_INET6


def test_print_matches_monmaptool() -> None:
    monmap = _map(b="127.0.0.1:3301", a="127.0.0.1")
    assert monmap.print_text() == (
        "epoch 0\n"
        f"fsid {FSID}\n"
        f"last_changed {STAMP}\n"
        f"created {STAMP}\n"
        "min_mon_release 0 (unknown)\n"
        "election_strategy: 1\n"
        "0: v2:127.0.0.1:3300/0 mon.a\n"
        "1: v2:127.0.0.1:3301/0 mon.b\n"
    )


def test_mon_dump_json_shape() -> None:
    monmap = _map(a="127.0.0.1:3300", b="127.0.0.1:3301")
    monmap.epoch, monmap.min_mon_release = 2, 16
    dump = json.loads(json.dumps(monmap.dump()))
    assert list(dump) == [
        "epoch", "fsid", "modified", "created", "min_mon_release", "min_mon_release_name",
        "election_strategy", "disallowed_leaders: ", "stretch_mode", "tiebreaker_mon",
        "removed_ranks: ", "features", "mons",
    ]  # fmt: skip
    assert dump["modified"] == "2024-05-01T12:00:00.123456Z"
    assert dump["min_mon_release_name"] == "pacific"
    assert dump["mons"][1] == {
        "rank": 1,
        "name": "b",
        "public_addrs": {"addrvec": [{"type": "v2", "addr": "127.0.0.1:3301", "nonce": 0}]},
        "addr": "127.0.0.1:3301/0",
        "public_addr": "127.0.0.1:3301/0",
        "priority": 0,
        "weight": 0,
        "crush_location": "{}",
    }


def test_mon_stat() -> None:
    monmap = _map(b="127.0.0.1:3301", a="127.0.0.1:3300", c="127.0.0.1:3302")
    monmap.epoch = 3
    assert monmap.stat_line(8, "a", ["c", "a"]) == (
        "e3: 3 mons at {a=v2:127.0.0.1:3300/0,b=v2:127.0.0.1:3301/0,c=v2:127.0.0.1:3302/0}, "
        "election epoch 8, leader 0 a, quorum 0,2 a,c"
    )
    assert monmap.stat_dict("a", ["c", "a"]) == {
        "epoch": 3,
        "min_mon_release_name": "unknown",
        "num_mons": 3,
        "leader": "a",
        "quorum": [{"rank": 0, "name": "a"}, {"rank": 2, "name": "c"}],
    }


def test_add_and_remove_refuse_conflicts() -> None:
    monmap = _map(a="127.0.0.1:3300")
    with pytest.raises(Exists, match=r"map already contains mon\.a"):
        monmap.add("a", "127.0.0.1:3301")
    with pytest.raises(Exists, match=re.escape("map already contains v2:127.0.0.1:3300/0")):
        monmap.add("b", Addr("127.0.0.1", 3300))
    with pytest.raises(InvalidArgument, match="not an IP address"):
        monmap.add("b", Addr("example.com", 3300))
    with pytest.raises(InvalidArgument, match="invalid monitor name"):
        monmap.add("a b", "127.0.0.1:3302")
    with pytest.raises(NotFound, match="map does not contain z"):
        monmap.remove("z")
    with pytest.raises(NotFound):
        monmap.rank("z")
    with pytest.raises(NotFound):
        monmap.name_of(1)
    monmap.remove("a")
    assert monmap.mons == {}


def test_create() -> None:
    monmap = MonMap.create()
    assert monmap.epoch == 0 and monmap.created == monmap.modified
    assert monmap.created.endswith("+0000")
    assert MonMap.create(FSID.upper()).fsid == FSID
    assert MonMap.create().fsid != monmap.fsid


_names = st.text("abcdefgh0123456789-_", min_size=1, max_size=6)
_addrs = st.builds(Addr, st.sampled_from(["127.0.0.1", "10.1.2.3", "::1"]), st.integers(1, 65535))


@given(st.dictionaries(_names, _addrs, max_size=7), st.integers(0, 2**32))
def test_encode_decode_round_trip(mons: dict[str, Addr], epoch: int) -> None:
    monmap = MonMap(fsid=FSID, epoch=epoch, created=STAMP, modified=STAMP)
    for name, addr in mons.items():
        if monmap.find_addr(addr) is None:
            monmap.add(name, addr)
    decoded = MonMap.decode(monmap.encode())
    assert decoded == monmap
    assert decoded.ranks == monmap.ranks
    assert MonMap.from_dict(monmap.to_dict()) == monmap


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello",
        msgpack.packb([1, 2, 3]),
        msgpack.packb({"v": 2}),
        msgpack.packb({**_map().to_dict(), "fsid": "nope"}),
        msgpack.packb({**_map().to_dict(), "epoch": -1}),
        msgpack.packb({**_map().to_dict(), "epoch": True}),
        msgpack.packb({**_map().to_dict(), "mons": [["a", "x"]]}),
        msgpack.packb({**_map().to_dict(), "mons": [["a", "127.0.0.1:1"], ["a", "127.0.0.1:2"]]}),
        msgpack.packb({**_map().to_dict(), "mons": [["a", "127.0.0.1:1", 3]]}),
        msgpack.packb({k: v for k, v in _map().to_dict().items() if k != "created"}),
    ],
)
def test_decode_refuses_malformed_maps(data: bytes) -> None:
    with pytest.raises(InvalidArgument, match="malformed monmap"):
        MonMap.decode(data)


@given(st.binary(max_size=200))
def test_decode_random_bytes_never_crashes(data: bytes) -> None:
    with contextlib.suppress(InvalidArgument):
        MonMap.decode(data)
