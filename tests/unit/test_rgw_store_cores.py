"""The RGW storage layer's pure decisions: names, manifests, index start keys and
entry encoding, multipart ETags."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from radospy.rgw.store import names
from radospy.rgw.store.index import mark_expiry, reshard_mark, resharding, start_after_for
from radospy.rgw.store.manifest import (
    ManifestPart,
    data_oids,
    multipart_manifest,
    pieces,
    simple_manifest,
)
from radospy.rgw.store.multipart import multipart_etag, part_key, upload_key
from radospy.rgw.store.records import (
    IndexEntry,
    decode_index_entry,
    encode_index_entry,
)


def test_object_names_follow_rgw() -> None:
    assert names.index_oid("default.4135.1", None) == ".dir.default.4135.1"
    assert names.index_oid("default.4135.1", 3) == ".dir.default.4135.1.3"
    assert names.head_oid("default.4135.1", "photos/a.jpg") == "default.4135.1_photos/a.jpg"
    assert names.head_oid("m", "k", "v1") == "m__:v1_k"
    # A key starting with `_` is escaped, so it never names another version's head.
    assert names.head_oid("m", "_:v1_k") == "m___:v1_k"
    assert names.tail_prefix("m", "tag") == "m__shadow_.tag_"
    assert names.bucket_instance_oid("b", "m") == ".bucket.meta.b:m"
    assert names.user_buckets_oid("alice") == "alice.buckets"
    assert names.upload_meta_oid("m", "k", "2~x") == "m__multipart_k.2~x.meta"
    assert names.index_oid("default.4135.1", 3, gen=2) == ".dir.default.4135.1.2.3"


_KEYS = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                min_size=1, max_size=20)


@given(_KEYS, st.sampled_from(["", "00000000000000ffAbCdEfGh12345678"]))
def test_head_names_parse_back(key: str, version_id: str) -> None:
    """`bucket check --check-objects` reads the key and version back from a head's
    name; tails, parts and other buckets' objects are no heads."""
    assert names.parse_head_oid("m", names.head_oid("m", key, version_id)) == (key, version_id)
    assert names.parse_head_oid("m", names.tail_prefix("m", "t") + "1") is None
    assert names.parse_head_oid("m", names.part_prefix("m", key, "2~u", 1, "t") + "1") is None
    assert names.parse_head_oid("m", names.upload_meta_oid("m", key, "2~u")) is None
    assert names.parse_head_oid("m2", names.head_oid("m", key, version_id)) is None


def test_index_shard_is_rgw_bucket_shard_index() -> None:
    # ceph_str_hash_linux("a") = ((97 << 4) + (97 >> 4)) * 11 = 0x42F2; its low byte
    # folded into the top one gives 0xF20042F2, then mod the prime 7877, mod shards.
    assert names.index_shard("a", 11) == 0xF20042F2 % 7877 % 11
    assert names.index_shard("a", 10000) == 0xF20042F2 % 65521 % 10000
    assert names.index_shard("k", 0) is None
    assert names.index_shard("k", 1) == 0


def test_bucket_names() -> None:
    for good in ("abc", "my-bucket.1", "a" * 63, "1bucket"):
        assert names.valid_bucket_name(good), good
    for bad in ("ab", "a" * 64, "Upper", "under_score", "-start", "end-", "a..b", "a.-b",
                "192.168.1.1", "", "sp ace"):
        assert not names.valid_bucket_name(bad), bad


def test_key_problems() -> None:
    assert names.key_problem("ok/key") is None
    assert names.key_problem("") == "empty"
    assert names.key_problem("x" * 1025) == "too long"
    assert names.key_problem("é" * 512) is None
    assert names.key_problem("a\x00b") == "NUL"


def _read(plan: list[tuple[str | None, int, int]], objects: dict[str | None, bytes]) -> bytes:
    return b"".join(objects[oid][off: off + length] for oid, off, length in plan)


@given(size=st.integers(0, 40), head=st.integers(0, 12), stripe=st.integers(1, 9),
       offset=st.integers(0, 45), length=st.integers(0, 45))
def test_simple_manifest_pieces_cover_the_range(size: int, head: int, stripe: int, offset: int,
                                                length: int) -> None:
    data = bytes(range(size))
    manifest = simple_manifest(size, head, stripe, "p_")
    objects: dict[str | None, bytes] = {None: data[: manifest.head_size]}
    for n, oid in enumerate(data_oids(manifest)):
        start = manifest.head_size + n * stripe
        objects[oid] = data[start: start + stripe]
    plan = [(p.oid, p.offset, p.length) for p in pieces(manifest, offset, length)]
    assert _read(plan, objects) == data[offset: offset + length]
    assert all(p[2] > 0 for p in plan)


@given(sizes=st.lists(st.integers(1, 20), min_size=1, max_size=5), stripe=st.integers(1, 7),
       offset=st.integers(0, 110), length=st.integers(0, 110))
def test_multipart_manifest_pieces_cover_the_range(sizes: list[int], stripe: int, offset: int,
                                                   length: int) -> None:
    data = bytes(n % 251 for n in range(sum(sizes)))
    parts = [ManifestPart(f"part{n}_", size) for n, size in enumerate(sizes)]
    manifest = multipart_manifest(parts, stripe)
    objects: dict[str | None, bytes] = {}
    position = 0
    for part in parts:
        for n in range(-(-part.size // stripe)):
            chunk_start = position + n * stripe
            objects[f"{part.prefix}{n}"] = data[chunk_start: min(chunk_start + stripe,
                                                                 position + part.size)]
        position += part.size
    assert sorted(objects) == sorted(data_oids(manifest))
    plan = [(p.oid, p.offset, p.length) for p in pieces(manifest, offset, length)]
    assert _read(plan, objects) == data[offset: offset + length]


@given(keys=st.lists(st.text(min_size=1, max_size=6), max_size=30),
       start=st.text(max_size=6), roll=st.booleans())
def test_start_after_returns_every_key_at_or_after_start(keys: list[str], start: str,
                                                         roll: bool) -> None:
    keys = [k for k in keys if not any(0xD800 <= ord(c) <= 0xDFFF for c in k)]
    if any(0xD800 <= ord(c) <= 0xDFFF for c in start):
        return
    start_b = start.encode() + (b"\xff" if roll else b"")
    after = start_after_for(start_b)
    wanted = {k for k in keys if k.encode() >= start_b}
    returned = {k for k in keys if k > after}
    assert wanted <= returned


def test_index_entries_order_by_stamp() -> None:
    entry = IndexEntry("k", 3, 1.5, "etag", "alice", tag="t")
    older = encode_index_entry(entry, 999)
    newer = encode_index_entry(IndexEntry("k", 1, 2.0, "e2", "bob"), 1000)
    assert older < newer
    assert decode_index_entry(older) == entry


def test_multipart_etag_and_keys() -> None:
    md5s = [hashlib.md5(b"a").hexdigest(), hashlib.md5(b"b").hexdigest()]
    expected = hashlib.md5(b"".join(bytes.fromhex(m) for m in md5s)).hexdigest() + "-2"
    assert multipart_etag(md5s) == expected
    assert part_key(2) < part_key(10)
    assert upload_key("a", "2~z") < upload_key("a/b", "2~a")


@given(st.floats(min_value=0, max_value=4e9))
def test_reshard_marks_carry_their_lease(expiry: float) -> None:
    """A reshard mark reads back as resharding with its lease end (to the ns); a
    mark without a lease is taken as expired, an idle or deleting shard is none."""
    mark = reshard_mark(expiry)
    assert resharding(mark)
    assert abs(mark_expiry(mark) - expiry) < 1e-6
    assert mark_expiry(b"resharding") == 0.0
    assert not resharding(b"") and not resharding(b"deleting") and not resharding(None)
