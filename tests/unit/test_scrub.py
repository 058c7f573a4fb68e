"""The scrub core: scrub maps compared into Ceph's inconsistency records, the
authoritative copy, and the periodic schedule."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from radospy.common.eversion import Eversion
from radospy.osd.objectstore.types import ObjectId
from radospy.osd.scrub import (
    Chunk,
    Due,
    Flags,
    ScrubKind,
    ScrubObject,
    ScrubRecord,
    ScrubSchedule,
    compare_maps,
    digest,
    next_chunk,
    omap_digest,
    periodic_kind,
    requested_kind,
    scrub_due,
    select_auth,
)

V1 = Eversion(5, 1)
V2 = Eversion(5, 2)
ACTING = [2, 0, 1]


def obj(name: str, data: bytes = b"abc", version: Eversion = V1, **kw: object) -> ScrubObject:
    fields = {"attrs": {"_": b"x"}, "data_digest": digest(data), "omap_digest": digest(b"")}
    fields.update(kw)
    return ScrubObject(ObjectId(name), len(data), version, **fields)  # type: ignore[arg-type]


def test_identical_copies_are_consistent() -> None:
    maps = {o: [obj("a"), obj("b")] for o in ACTING}
    assert compare_maps(maps, ACTING, 2, deep=True) == []


def test_a_read_error_on_a_replica_names_that_shard() -> None:
    maps = {o: [obj("a")] for o in ACTING}
    maps[1] = [obj("a", data_digest=None, read_error=True)]
    (found,) = compare_maps(maps, ACTING, 2, deep=True)
    assert found.errors == ()
    assert found.union_shard_errors == ("read_error",)
    assert found.auth == 2 and found.bad == (1,)
    assert found.deep
    shards = {s["osd"]: s for s in found.to_json(1)["shards"]}
    assert shards[1]["errors"] == ["read_error"] and shards[2]["primary"] is True
    assert shards[0]["errors"] == [] and shards[0]["data_digest"] == f"0x{digest(b'abc'):08x}"


def test_a_bad_primary_loses_the_authority() -> None:
    maps = {o: [obj("a")] for o in ACTING}
    maps[2] = [obj("a", read_error=True)]
    (found,) = compare_maps(maps, ACTING, 2, deep=True)
    assert found.auth == 0 and found.bad == (2,)


def test_a_missing_copy_is_a_shallow_error() -> None:
    maps = {o: [obj("a"), obj("b")] for o in ACTING}
    maps[0] = [obj("b")]
    (found,) = compare_maps(maps, ACTING, 2, deep=False)
    assert found.oid == ObjectId("a") and found.union_shard_errors == ("missing",)
    assert found.bad == (0,) and not found.deep
    entry = found.to_json(3)
    assert entry["object"] == {"name": "a", "nspace": "", "locator": "", "snap": "head",
                               "version": 1}  # fmt: skip
    assert entry["selected_object_info"]["oid"]["pool"] == 3
    assert [s["errors"] for s in entry["shards"]] == [[], ["missing"], []]


def test_xattr_size_and_digest_mismatches_use_cephs_names() -> None:
    maps = {o: [obj("a")] for o in ACTING}
    maps[0] = [obj("a", attrs={"_": b"y"})]
    maps[1] = [obj("a", data=b"abcd")]
    (found,) = compare_maps(maps, ACTING, 2, deep=True)
    assert found.errors == ("size_mismatch", "attr_value_mismatch", "data_digest_mismatch")
    shards = {s.osd: s.errors for s in found.shards}
    assert shards[1] == ("size_mismatch_info", "data_digest_mismatch_info")
    assert shards[0] == () and set(found.bad) == {0, 1}


def test_shallow_scrub_does_not_see_data() -> None:
    shallow = {o: [ScrubObject(ObjectId("a"), 3, V1, {"_": b"x"})] for o in ACTING}
    assert compare_maps(shallow, ACTING, 2, deep=False) == []


def test_the_newest_version_is_authoritative() -> None:
    copies = {2: obj("a", version=V1), 0: obj("a", version=V2), 1: obj("a", version=V2)}
    assert select_auth(copies, ACTING, 2) == 0
    maps = {o: [c] for o, c in copies.items()}
    (found,) = compare_maps(maps, ACTING, 2, deep=True)
    assert "object_info_inconsistency" in found.errors and found.bad == (2,)


@given(
    st.lists(st.binary(max_size=8), min_size=1, max_size=6),
    st.integers(0, 2),
    st.sampled_from(["read_error", "missing", "data", "attr"]),
    st.integers(0, 5),
)
def test_one_damaged_copy_is_found_and_the_others_win(
    datas: list[bytes], victim_index: int, damage: str, which: int
) -> None:
    """Whatever one shard's damage, exactly that shard is to be repaired, and from a
    healthy one."""
    names = [f"o{i}" for i in range(len(datas))]
    maps = {o: [obj(n, d) for n, d in zip(names, datas, strict=True)] for o in ACTING}
    victim = ACTING[victim_index]
    target = which % len(names)
    good = maps[victim][target]
    if damage == "read_error":
        bad = ScrubObject(good.oid, good.size, good.version, good.attrs, read_error=True)
    elif damage == "data":
        bad = obj(names[target], datas[target] + b"!")
    else:
        bad = obj(names[target], datas[target], attrs={"_": b"changed"})
    if damage == "missing":
        del maps[victim][target]
    else:
        maps[victim][target] = bad
    found = compare_maps(maps, ACTING, 2, deep=True)
    if damage in ("attr", "data") and victim == 2:
        # Readable copies that disagree: without digests in the object info (a corrupted
        # extent is a read error, caught by its checksum), the primary's is the reference.
        assert [f.bad for f in found] == [(0, 1)]
        return
    assert len(found) == 1 and found[0].oid == good.oid
    assert found[0].bad == (victim,) and found[0].auth != victim


def test_chunks_cover_the_object_family() -> None:
    chunk = Chunk(ObjectId("b"), ObjectId("d"))
    assert chunk.covers(ObjectId("c")) and chunk.covers(ObjectId("d"))
    assert not chunk.covers(ObjectId("a")) and not chunk.covers(ObjectId("e"))
    assert Chunk(None, None).covers(ObjectId("anything"))
    listed = [ObjectId(n) for n in "abc"]
    assert next_chunk(listed, None, 3).end == ObjectId("c")
    assert next_chunk(listed, None, 4).end is None


def test_omap_digest_depends_on_keys_values_and_header() -> None:
    base = omap_digest(b"h", [("k", b"v")])
    assert base != omap_digest(b"", [("k", b"v")])
    assert base != omap_digest(b"h", [("kv", b"")])
    assert base == omap_digest(b"h", [("k", b"v")])


def test_schedule_is_randomised_within_min_and_max() -> None:
    sched = ScrubSchedule(min_interval=100, max_interval=1000, randomize_ratio=0.5)
    rng = random.Random(1)
    dues = [scrub_due(0.0, sched, rng.random) for _ in range(200)]
    assert all(100 <= d.scheduled <= 150 and d.deadline == 1000 for d in dues)
    assert len({d.scheduled for d in dues}) > 100
    assert scrub_due(0.0, ScrubSchedule(min_interval=2000, max_interval=1000), rng.random) == Due(
        1000, 1000
    )


def test_periodic_scrub_honours_the_flags() -> None:
    sched = ScrubSchedule(min_interval=100, max_interval=1000, deep_interval=500)
    record = ScrubRecord(last_scrub_stamp=0.0, last_deep_scrub_stamp=0.0)
    due = Due(120, 1000)
    assert periodic_kind(record, due, sched, Flags(), 50) is None
    assert periodic_kind(record, due, sched, Flags(), 130) is ScrubKind.SHALLOW
    assert periodic_kind(record, due, sched, Flags(noscrub=True), 130) is None
    assert periodic_kind(record, due, sched, Flags(), 600) is ScrubKind.DEEP
    assert periodic_kind(record, due, sched, Flags(noscrub=True), 600) is ScrubKind.DEEP
    assert periodic_kind(record, due, sched, Flags(nodeep_scrub=True), 600) is ScrubKind.SHALLOW
    assert periodic_kind(record, due, sched, Flags(True, True), 600) is None


def test_requested_scrub_runs_whatever_the_flags() -> None:
    sched = ScrubSchedule(deep_interval=500)
    record = ScrubRecord(last_deep_scrub_stamp=0.0)
    flags = Flags(noscrub=True, nodeep_scrub=True)
    assert requested_kind(ScrubKind.SHALLOW, record, sched, flags, 10) is ScrubKind.SHALLOW
    assert requested_kind(ScrubKind.DEEP, record, sched, flags, 10) is ScrubKind.DEEP
    assert requested_kind(ScrubKind.SHALLOW, record, sched, Flags(), 600) is ScrubKind.DEEP


@given(
    st.dictionaries(
        st.sampled_from(ACTING),
        st.sets(st.text("abcdef", min_size=1, max_size=3), max_size=12),
        min_size=3,
        max_size=3,
    ),
    st.integers(1, 5),
)
def test_chunked_scrub_finds_what_a_whole_scrub_finds(
    holdings: dict[int, set[str]], chunk_max: int
) -> None:
    """Chunks cut from the primary's listing, with each replica describing the range
    (start, end], see every object exactly once: also those only replicas hold."""
    maps = {o: [obj(n) for n in sorted(names)] for o, names in holdings.items()}
    whole = compare_maps(maps, ACTING, 2, deep=True)
    primary_objects = sorted(ObjectId(n) for n in holdings[2])
    found = []
    cursor = None
    while True:
        listed = [o for o in primary_objects if cursor is None or o > cursor][:chunk_max]
        chunk = next_chunk(listed, cursor, chunk_max)
        in_chunk = {
            o: [x for x in m if (chunk.start is None or x.oid > chunk.start)
                and (chunk.end is None or x.oid <= chunk.end)]
            for o, m in maps.items()
        }  # fmt: skip
        found += compare_maps(in_chunk, ACTING, 2, deep=True)
        if chunk.end is None:
            break
        cursor = chunk.end
    assert found == whole
