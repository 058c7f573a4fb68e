"""Binary crushmap codec, checked against every map Ceph's crushtool compiled."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.common.errors import InvalidArgument
from radospy.crush import builder
from radospy.crush.codec import CRUSH_MAGIC, CrushDecodeError, CrushEncodeError, decode, encode
from radospy.crush.compiler import compile as compile_crushmap
from radospy.crush.dump import from_dump, to_dump
from radospy.crush.map import (
    ALL_BUCKET_ALGS,
    DEFAULT_CHOOSE_ARGS,
    WEIGHT_ONE,
    Bucket,
    BucketAlg,
    ChooseArg,
    CrushMap,
    Op,
    Rule,
    RuleStep,
    Tunables,
)
from tests.conftest import VECTORS, crush_map_names, load_vector

NAMES = crush_map_names()
BINARIES = {name: (VECTORS / f"crush/{name}.bin").read_bytes() for name in NAMES}
# crushtool's output for the text compiler's edge cases (shadow trees, reserved ids, ...).
EDGE_BINARIES = {
    f"text/{path.stem}": path.read_bytes() for path in sorted((VECTORS / "text").glob("*.bin"))
}
ALL_BINARIES = BINARIES | EDGE_BINARIES


def _decode_or_error(data: bytes) -> CrushMap | None:
    """Decode, allowing only CrushDecodeError; a decoded map must survive re-encoding."""
    try:
        cmap = decode(data)
    except CrushDecodeError as exc:
        assert "offset" in str(exc)
        assert 0 <= exc.offset <= len(data)
        return None
    assert decode(encode(cmap)) == cmap
    return cmap


# -- the Ceph vectors --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ALL_BINARIES))
def test_reencodes_byte_for_byte(name: str) -> None:
    assert encode(decode(ALL_BINARIES[name])) == ALL_BINARIES[name]


@pytest.mark.parametrize("name", NAMES)
def test_decode_matches_crushtool_dump(name: str) -> None:
    dump = load_vector(f"crush/{name}.dump.json")
    cmap = decode(BINARIES[name])
    expected = from_dump(dump)
    assert cmap.buckets == expected.buckets
    assert cmap.rules == expected.rules
    assert cmap.tunables == expected.tunables
    assert cmap.device_names == expected.device_names
    assert cmap.types == expected.types
    assert cmap.class_names == expected.class_names
    assert cmap.class_buckets == expected.class_buckets
    assert cmap.choose_args == expected.choose_args
    assert (cmap.max_buckets, cmap.max_devices) == (expected.max_buckets, expected.max_devices)
    # Ceph's class_map also files every shadow bucket under its class; the dump only
    # shows the classes of devices.
    devices = {dev: cls for dev, cls in cmap.device_classes.items() if dev >= 0}
    assert devices == expected.device_classes
    assert to_dump(cmap) == dump


def test_shadow_buckets_carry_their_class() -> None:
    cmap = decode(BINARIES["device_classes"])
    for classes in cmap.class_buckets.values():
        for class_id, shadow in classes.items():
            assert cmap.device_classes[shadow] == class_id


def test_weight_set_and_derived_bucket_data() -> None:
    cmap = decode(BINARIES["weight_set"])
    assert list(cmap.choose_args) == [DEFAULT_CHOOSE_ARGS]
    host = cmap.choose_args[DEFAULT_CHOOSE_ARGS][-5]
    assert host.ids is None
    assert len(host.weight_set) == 3
    assert host.weight_set[0] == [0x4000, 0x18000, 0x8000, 0x18000]
    algs = decode(BINARIES["bucket_algs"])
    straw = algs.buckets[algs.id_of("h-straw")]
    assert straw.straws and len(straw.straws) == straw.size
    tree = algs.buckets[algs.id_of("h-tree")]
    assert tree.item_weights == [tree.node_weights[2 * i + 1] for i in range(tree.size)]


@pytest.mark.parametrize("name", NAMES)
def test_compile_of_source_encodes_to_the_binary(name: str) -> None:
    text = (VECTORS / f"crush/{name}.txt").read_text()
    assert encode(compile_crushmap(text)) == BINARIES[name]


@pytest.mark.parametrize(
    "name",
    [
        m["map"]
        for m in load_vector("manifest.json")["maps"]
        if m["roundtrip"]["recompiled_binary_identical"]
    ],
)
def test_compile_of_decompiled_text_encodes_to_the_binary(name: str) -> None:
    text = (VECTORS / f"crush/{name}.decompiled.txt").read_text()
    assert encode(compile_crushmap(text)) == BINARIES[name]


# -- maps built here -----------------------------------------------------------------------


def _scratch_map() -> CrushMap:
    cmap = CrushMap(
        tunables=Tunables(
            choose_local_tries=0,
            choose_local_fallback_tries=0,
            choose_total_tries=50,
            chooseleaf_descend_once=1,
            chooseleaf_vary_r=1,
            chooseleaf_stable=1,
            straw_calc_version=1,
            allowed_bucket_algs=ALL_BUCKET_ALGS,
        ),
        types={0: "osd", 1: "host", 11: "root"},
        max_buckets=8,
        max_devices=6,
        class_names={0: "hdd"},
    )
    hosts = []
    for h in range(3):
        host = Bucket(
            id=-2 - h,
            name=f"host{h}",
            type_id=1,
            alg=BucketAlg.STRAW2,
            items=[2 * h, 2 * h + 1],
            item_weights=[WEIGHT_ONE * (h + 1), WEIGHT_ONE // 2],
        )
        builder.derive(host, 1)
        hosts.append(host)
    root = Bucket(
        id=-1,
        name="default",
        type_id=11,
        alg=BucketAlg.STRAW,
        items=[h.id for h in hosts],
        item_weights=[h.weight for h in hosts],
    )
    builder.derive(root, 1)
    cmap.buckets = {b.id: b for b in [root, *hosts]}
    cmap.device_names = {d: f"osd.{d}" for d in range(6)}
    cmap.device_classes = dict.fromkeys(range(6), 0)
    cmap.rules[0] = Rule(
        id=0,
        name="replicated_rule",
        steps=[
            RuleStep(Op.TAKE, -1),
            RuleStep(Op.CHOOSELEAF_FIRSTN, 0, 1),
            RuleStep(Op.EMIT),
        ],
    )
    cmap.rules[2] = Rule(
        id=2,
        name="ec",
        type=3,
        min_size=3,
        max_size=20,
        steps=[
            RuleStep(Op.SET_CHOOSE_TRIES, 100),
            RuleStep(Op.TAKE, -1),
            RuleStep(Op.CHOOSE_INDEP, 0, 0),
            RuleStep(Op.EMIT),
        ],
    )
    cmap.choose_args[7] = {
        -2: ChooseArg(-2, weight_set=[[WEIGHT_ONE, WEIGHT_ONE], [0, WEIGHT_ONE]], ids=[100, 101])
    }
    return cmap


def test_map_built_from_scratch_round_trips() -> None:
    cmap = _scratch_map()
    data = encode(cmap)
    assert decode(data) == cmap
    assert encode(decode(data)) == data
    # A rule slot left empty between rules is written as absent.
    assert 1 not in decode(data).rules


def test_reweighted_vector_map_round_trips() -> None:
    cmap = decode(BINARIES["bucket_algs"])
    for bucket in cmap.buckets.values():
        if bucket.alg == BucketAlg.UNIFORM:
            continue
        bucket.item_weights = [w + WEIGHT_ONE // 8 for w in bucket.item_weights]
        builder.derive(bucket, cmap.tunables.straw_calc_version)
    data = encode(cmap)
    assert data != BINARIES["bucket_algs"]
    assert decode(data) == cmap


def test_legacy_map_without_optional_sections() -> None:
    data = encode(_scratch_map())
    # Cut right after the three name maps: a map from before any tunable was encoded.
    cut = data.index(struct.pack("<IIII", 0, 0, 50, 1))
    legacy = decode(data[:cut])
    assert legacy.tunables == Tunables()
    assert legacy.class_names == {}
    assert legacy.choose_args == {}


def test_choose_args_of_non_straw2_buckets_are_kept() -> None:
    # crushtool -c writes them; Ceph drops them only when it loads the map, and the
    # mapper never reads them, so keeping them is what makes re-encoding exact.
    cmap = decode(EDGE_BINARIES["text/edge_classes"])
    compat = cmap.choose_args[DEFAULT_CHOOSE_ARGS]
    assert compat[-1].ids == [10, 11, 12]
    assert cmap.buckets[-1].alg != BucketAlg.STRAW2


def test_empty_rule_slots_after_the_last_rule_are_kept() -> None:
    # What `crushtool --remove-rule` leaves behind when it removes the last rule.
    data = bytearray(encode(_scratch_map()))
    struct.pack_into("<I", data, 8, 4)
    rules_end = data.index(struct.pack("<IiI", 3, 0, 3) + b"osd")  # the type_map
    widened = bytes(data[:rules_end]) + struct.pack("<I", 0) + bytes(data[rules_end:])
    cmap = decode(widened)
    assert sorted(cmap.rules) == [0, 2]
    assert cmap.max_rules == 4
    assert encode(cmap) == widened


def test_64_bit_name_keys_are_tolerated() -> None:
    cmap = _scratch_map()
    data = encode(cmap)
    old = struct.pack("<iI", 0, 3) + b"osd"
    assert old in data
    widened = data.replace(old, struct.pack("<qI", 0, 3) + b"osd", 1)
    assert decode(widened).types == cmap.types


# -- encode refuses what Ceph's layout cannot hold ---------------------------------------


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda m: setattr(m, "max_buckets", 2), "outside max_buckets"),
        (lambda m: m.rules.__setitem__(256, Rule(id=256, name="x")), "rule ids"),
        (lambda m: setattr(m.buckets[-2], "item_weights", [1]), "item weights"),
        (lambda m: m.types.__setitem__(5, ""), "empty name"),
        (lambda m: setattr(m.buckets[-2], "type_id", 70000), "out of range"),
        (lambda m: setattr(m.tunables, "chooseleaf_vary_r", 256), "out of range"),
        (lambda m: setattr(m.buckets[-1], "straws", [1]), "straws"),
        (lambda m: m.choose_args[7].__setitem__(-9, ChooseArg(-9, [[1]])), "outside"),
        (lambda m: setattr(m.choose_args[7][-2], "ids", [1]), "ids of bucket -2"),
        (lambda m: m.device_names.__setitem__(-3, "x"), "device ids"),
    ],
)
def test_encode_rejects_unencodable_maps(
    mutate: Callable[[CrushMap], object], message: str
) -> None:
    cmap = _scratch_map()
    mutate(cmap)
    with pytest.raises(CrushEncodeError, match=message) as info:
        encode(cmap)
    assert isinstance(info.value, InvalidArgument)


def test_encode_rejects_inconsistent_uniform_and_tree() -> None:
    cmap = decode(BINARIES["bucket_algs"])
    uniform = cmap.buckets[cmap.id_of("h-uniform")]
    uniform.item_weights[0] += 1
    with pytest.raises(CrushEncodeError, match="unequal"):
        encode(cmap)
    uniform.item_weights[0] -= 1
    tree = cmap.buckets[cmap.id_of("h-tree")]
    tree.item_weights[0] += 1
    with pytest.raises(CrushEncodeError, match="node_weights"):
        encode(cmap)


# -- decode is strict and safe -------------------------------------------------------------


def _header(max_buckets: int, max_rules: int, max_devices: int = 0) -> bytes:
    return struct.pack("<IiIi", CRUSH_MAGIC, max_buckets, max_rules, max_devices)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "truncated header"),
        (struct.pack("<IiIi", 0x1234, 0, 0, 0), "bad magic"),
        (_header(-1, 0), "negative max_buckets"),
        (_header(0x7FFFFFFF, 0), "exceed"),
        (_header(0, 0xFFFFFFFF), "exceed"),
        (_header(1, 0) + struct.pack("<I", 9), "unsupported bucket algorithm 9"),
        (_header(1, 0) + struct.pack("<IiHBBII", 5, -1, 1, 5, 0, 0, 0xFFFFFFFF), "truncated"),
        (_header(1, 0) + struct.pack("<IiHBBII", 5, -2, 1, 5, 0, 0, 0), "slot 0"),
        (_header(1, 0) + struct.pack("<IiHBBII", 5, -1, 1, 4, 0, 0, 0), "disagrees"),
        (_header(0, 1) + struct.pack("<IIBBBB", 1, 0xFFFFFFFF, 0, 1, 1, 10), "truncated"),
        (_header(0, 1) + struct.pack("<IIBBBBIii", 1, 1, 0, 1, 1, 10, 5, 0, 0), "opcode 5"),
        (_header(0, 1) + struct.pack("<IIBBBB", 1, 0, 3, 1, 1, 10), "ruleset 3"),
        (_header(0, 0) + struct.pack("<I", 0xFFFFFFFF), "type_map count"),
        (_header(0, 0) + struct.pack("<IiI", 1, 0, 2) + b"\xff\xfe", "UTF-8"),
        (_header(0, 0) + struct.pack("<IIiI", 0, 1, -1, 1) + b"x\0\0\0\0", "missing bucket"),
        (_header(0, 0) + struct.pack("<IIIiI", 0, 0, 1, 0, 1) + b"x", "missing rule"),
        (_header(0, 0) + struct.pack("<IIIII", 0, 0, 0, 0, 0), "truncated tunables"),
    ],
)
def test_decode_rejects_malformed_input(data: bytes, message: str) -> None:
    with pytest.raises(CrushDecodeError, match=message) as info:
        decode(data)
    assert isinstance(info.value, InvalidArgument)
    assert "offset" in str(info.value)


def test_decode_rejects_trailing_bytes_and_bad_choose_args() -> None:
    data = BINARIES["weight_set"]
    with pytest.raises(CrushDecodeError, match="trailing"):
        decode(data + b"\0")
    scratch = encode(_scratch_map())
    ids = struct.pack("<Iii", 2, 100, 101)
    assert scratch.count(ids) == 1
    with pytest.raises(CrushDecodeError, match="3 ids for a bucket of size 2"):
        decode(scratch.replace(ids, struct.pack("<Iiii", 3, 100, 101, 102)))


@pytest.mark.parametrize("name", sorted(ALL_BINARIES))
def test_every_truncation_and_byte_flip(name: str) -> None:
    data = ALL_BINARIES[name]
    for cut in range(len(data)):
        _decode_or_error(data[:cut])
    for pos in range(len(data)):
        _decode_or_error(data[:pos] + bytes([data[pos] ^ 0xFF]) + data[pos + 1 :])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512), st.booleans())
def test_fuzz_random_bytes(data: bytes, with_magic: bool) -> None:
    _decode_or_error(struct.pack("<I", CRUSH_MAGIC) + data if with_magic else data)


_EXTREMES = st.sampled_from([0, 1, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF])


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(ALL_BINARIES)),
    st.lists(
        st.tuples(st.integers(0, 4000), st.one_of(_EXTREMES, st.integers(0, 0xFFFFFFFF))),
        min_size=1,
        max_size=4,
    ),
    st.integers(0, 4000),
)
def test_fuzz_word_overwrites_and_truncation(
    name: str, words: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(ALL_BINARIES[name])
    for pos, value in words:
        at = pos % (len(data) - 3)
        data[at : at + 4] = struct.pack("<I", value)
    _decode_or_error(bytes(data[: max(cut, 16)]))


def test_dump_prints_weight_set_floats_exactly() -> None:
    # crushtool --dump prints the C float weight/0x10000 in full, not rounded.
    dump = load_vector("text/weight_set_fractional.dump.json")
    cmap = decode(EDGE_BINARIES["text/weight_set_fractional"])
    assert to_dump(cmap) == dump
    first = dump["choose_args"]["-1"][0]["weight_set"][0]
    assert first == [0.1233978271484375, 2.7182769775390625, 200.4927978515625]
