"""The crushmap text compiler and decompiler against Ceph 16's crushtool output."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radospy.common.errors import InvalidArgument
from radospy.crush.codec import decode, encode
from radospy.crush.compiler import CrushSyntaxError, compile
from radospy.crush.decompiler import decompile, format_weight
from radospy.crush.dump import from_dump
from radospy.crush.map import BucketAlg, CrushMap
from tests.conftest import VECTORS, crush_map_names, load_vector

MAPS = crush_map_names()
TEXT_MAPS = ["edge_classes", "uniform_classes", "weight_set_fractional"]


def _source(name: str) -> str:
    return (VECTORS / "crush" / f"{name}.txt").read_text()


def _decompiled(name: str) -> str:
    return (VECTORS / "crush" / f"{name}.decompiled.txt").read_text()


def _model(cmap: CrushMap) -> dict[str, Any]:
    """The model as a dict, with class_map reduced to devices (a dump has no more)."""
    fields = asdict(cmap)
    fields["device_classes"] = {d: c for d, c in cmap.device_classes.items() if d >= 0}
    return fields


@pytest.mark.parametrize("name", MAPS)
def test_compile_equals_dump(name: str) -> None:
    compiled = _model(compile(_source(name)))
    expected = _model(from_dump(load_vector(f"crush/{name}.dump.json")))
    for key, value in expected.items():
        assert compiled[key] == value, key


@pytest.mark.parametrize("name", MAPS)
def test_compile_encodes_to_cephs_binary(name: str) -> None:
    assert encode(compile(_source(name))) == (VECTORS / "crush" / f"{name}.bin").read_bytes()


@pytest.mark.parametrize("name", MAPS)
def test_decompile_is_byte_identical(name: str) -> None:
    assert decompile(compile(_source(name))) == _decompiled(name)


@pytest.mark.parametrize("name", MAPS)
def test_decompiled_text_round_trips(name: str) -> None:
    text = _decompiled(name)
    assert decompile(compile(text)) == text


@pytest.mark.parametrize("name", MAPS)
def test_decompile_of_dump_model(name: str) -> None:
    assert decompile(from_dump(load_vector(f"crush/{name}.dump.json"))) == _decompiled(name)


def _ignore_tree_root_slot(cmap: CrushMap) -> CrushMap:
    # Node 0 of a tree bucket is never read; in Ceph's shadow copies it is uninitialised.
    for bucket in cmap.buckets.values():
        if bucket.alg == BucketAlg.TREE and bucket.node_weights:
            bucket.node_weights[0] = 0
    return cmap


@pytest.mark.parametrize("name", TEXT_MAPS)
def test_text_edge_cases(name: str) -> None:
    folder = VECTORS / "text"
    compiled = compile((folder / f"{name}.txt").read_text())
    expected_text = (folder / f"{name}.decompiled.txt").read_text()
    assert decompile(compiled) == expected_text
    assert decompile(compile(expected_text)) == expected_text
    binary = (folder / f"{name}.bin").read_bytes()
    assert asdict(compiled) == asdict(_ignore_tree_root_slot(decode(binary)))
    assert encode(compiled) == encode(_ignore_tree_root_slot(decode(binary)))


def test_edge_case_ids_and_classes() -> None:
    cmap = compile((VECTORS / "text" / "edge_classes.txt").read_text())
    assert cmap.id_of("hosta") == -1  # auto ids skip the ids the file reserves (-3, -4, -20)
    assert cmap.id_of("hostc") == -2
    assert cmap.id_of("rack0") == -5
    assert cmap.class_names == {0: "ssd", 1: "hdd", 2: "nvme", 3: "spare"}
    default = cmap.id_of("default")
    assert cmap.class_buckets[default][1] == -30
    assert cmap.rules[2].name == ""
    assert cmap.rules[2].steps[6].arg1 == -30  # take default class hdd
    assert cmap.max_buckets == 32
    assert cmap.max_devices == 8


# -- weights ------------------------------------------------------------------------------

MAP_HEAD = """device 0 osd.0
device 1 osd.1
type 0 osd
type 1 host
"""


def _one_host(items: str) -> CrushMap:
    return compile(MAP_HEAD + "host h {\n\tid -1\n\talg straw2\n" + items + "}\n")


@pytest.mark.parametrize(
    ("text", "weight"),
    [
        ("0.00999", 654),
        ("1.819", 119209),
        ("1.829", 119865),
        ("1", 65536),
        (".5", 32768),
        ("1e-1", 6553),
        ("-0.000001", 0),
        ("3.64799", 239074),
    ],
)
def test_weights_truncate_like_ceph(text: str, weight: int) -> None:
    cmap = _one_host(f"\titem osd.0 weight {text}\n")
    assert cmap.buckets[-1].item_weights == [weight]


def test_weight_printing_is_single_precision() -> None:
    assert format_weight(654) == "0.010"
    assert format_weight(0x10000) == "1.000"
    assert format_weight(0xFFFFFFFF) == "-0.000"


def test_default_item_weights() -> None:
    cmap = compile(
        MAP_HEAD + "type 2 root\n"
        "host h { id -1 alg straw2 item osd.0 weight 2.5 item osd.1 }\n"
        "root r { id -2 alg straw2 item h }\n"
    )
    assert cmap.buckets[-1].item_weights == [163840, 65536]
    assert cmap.buckets[-2].item_weights == [229376]


@pytest.mark.parametrize("weight", ["32768", "50999", "65535"])
def test_weights_printed_negative_are_refused(weight: str) -> None:
    # Found by test_mutated_maps_compile_or_fail_cleanly: 50999 compiled, was printed
    # as -14537.000 (Ceph prints weights as signed ints) and then did not compile.
    with pytest.raises(CrushSyntaxError, match=f"weight {weight} is too large"):
        _one_host(f"\titem osd.0 weight {weight}\n")


def test_bucket_weight_past_int32_is_refused() -> None:
    host = "host h{n} {{ id -{n} alg straw2 item osd.{m} weight 100 }}\n"
    hosts = "".join(host.format(n=n, m=n - 1) for n in (1, 2))
    root = "root r { id -3 alg straw2 " + "item h1 weight 20000 item h2 weight 20000 }\n"
    with pytest.raises(CrushSyntaxError, match="the weight of bucket 'r' overflows"):
        compile(MAP_HEAD + "type 2 root\n" + hosts + root)


def _with_choose_args(key: str) -> str:
    return (
        MAP_HEAD + "host h { id -1 alg straw2 item osd.0 weight 1 }\n"
        f"choose_args {key} {{ {{ bucket_id -1 weight_set [ [ 0.5 ] ] }} }}\n"
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("0", 0),
        ("2147483647", 2147483647),
        ("18446744073709551615", -1),
        ("18446744071562067968", -(1 << 31)),
    ],
)
def test_choose_args_ids_round_trip(key: str, value: int) -> None:
    cmap = compile(_with_choose_args(key))
    assert list(cmap.choose_args) == [value]
    text = decompile(cmap)
    assert f"choose_args {key} {{" in text
    assert decompile(compile(text)) == text


@pytest.mark.parametrize(
    "key", ["1844644073709551615", "2147483648", "18446744071562067967", "18446744073709551616"]
)
def test_choose_args_ids_out_of_range_are_refused(key: str) -> None:
    # Found by test_mutated_maps_compile_or_fail_cleanly: (int)strtol kept the low 32 bits
    # of 1844644073709551615, printed back as 18446744073684172799, which strtol saturates.
    with pytest.raises(CrushSyntaxError, match=f"choose_args id {key} is out of range"):
        compile(_with_choose_args(key))


def test_legacy_tunables_when_none_given() -> None:
    cmap = compile(MAP_HEAD)
    assert cmap.tunables == CrushMap().tunables
    assert "tunable" not in decompile(cmap)


# -- errors -------------------------------------------------------------------------------

ERRORS = [
    ("hots h {\n\tid -1\n\talg straw2\n}\n", 5, 1, "unknown bucket type 'hots'"),
    ("host h {\n\tid -1\n\talg straw2\n\titem osd.9\n}\n", 8, 7, "unknown item 'osd.9'"),
    ("host h {\n\tid -1\n\talg straw3\n}\n", 7, 6, "unknown bucket alg 'straw3'"),
    ("host h {\n\tid -1\n\talg straw2\n\titem osd.0 weight 101\n}\n", 8, 20, "device weight"),
    ("host h {\n\tid -1\n\talg straw2\n\titem osd.0 weight 1..0\n}\n", 8, 20, "expected a weight"),
    ("host h {\n\tid -1\n\talg straw2\n\titem osd.0 weight -1\n}\n", 8, 20, "negative"),
    ("host h {\n\tid -1\n\talg straw2\n\titem osd.0\n\titem osd.0\n}\n", 9, 7, "listed twice"),
    (
        "host h {\n\tid -1\n\talg straw2\n}\nhost g {\n\tid -1\n\talg straw2\n}\n",
        10,
        5,
        "duplicate bucket id -1",
    ),
    ("host h {\n\tid -1\n\talg straw2\n}\nhost h {\n\talg straw2\n}\n", 9, 6, "already defined"),
    (
        "host h {\n\tid -1\n\talg uniform\n\titem osd.0 weight 1\n\titem osd.1 weight 2\n}\n",
        9,
        20,
        "identical weights",
    ),
    ("host h {\n\tid -1\n\talg straw2\n\titem osd.0 pos 3\n}\n", 8, 17, "pos 3 >= size 3"),
    ("tunable foo 1\n", 5, 9, "unknown tunable 'foo'"),
    ("device 0 osd.7\n", 5, 8, "device id 0 already used"),
    (
        "host h {\n\tid -1\n\talg straw2\n}\ndevice 3 osd.3\n",
        9,
        1,
        "'device' lines must come before buckets and rules",
    ),
    (
        "rule r {\n\tid 0\n\ttype replicated\n\tmin_size 1\n\tmax_size 10\n"
        "\tstep take nowhere\n\tstep emit\n}\n",
        10,
        12,
        "unknown item 'nowhere'",
    ),
    (
        "host h {\n\tid -1\n\talg straw2\n}\nrule r {\n\tid 0\n\ttype replicated\n\tmin_size 1\n"
        "\tmax_size 10\n\tstep take h class ssd\n\tstep emit\n}\n",
        14,
        20,
        "unknown device class 'ssd'",
    ),
    (
        "host h {\n\tid -1\n\talg straw2\n}\nrule r {\n\tid 0\n\ttype replicated\n\tmin_size 1\n"
        "\tmax_size 10\n\tstep take h\n\tstep chooseleaf firstn 0 type rack\n}\n",
        15,
        32,
        "unknown type 'rack'",
    ),
    (
        "rule r {\n\tid 300\n\ttype replicated\n\tmin_size 1\n\tmax_size 10\n\tstep emit\n}\n",
        6,
        5,
        "rule id 300 is out of range",
    ),
    (
        "rule r {\n\tid 0\n\ttype replicated\n\tmin_size 1\n\tmax_size 10\n}\n",
        10,
        1,
        "expected 'step'",
    ),
    (
        "host a {\n\tid -1\n\talg straw2\n\titem b\n}\nhost b {\n\tid -2\n\talg straw2\n"
        "\titem a\n}\n",
        5,
        6,
        "contain each other",
    ),
    (
        "host h {\n\tid -1\n\talg straw2\n\titem osd.0\n}\nchoose_args 0 {\n  {\n"
        "    bucket_id -1\n    weight_set [\n      [ 1.0 2.0 ]\n    ]\n  }\n}\n",
        14,
        7,
        "needs exactly 1 weights but got 2",
    ),
    (
        "host h {\n\tid -1\n\talg straw2\n}\nchoose_args 0 {\n  {\n    bucket_id -9\n  }\n}\n",
        11,
        15,
        "out of range",
    ),
    ("device 2 osd~2\n", 5, 13, "unexpected character '~'"),
    ("host h {\n\tid -1\n\talg straw2\n", 8, 1, "found end of input"),
]


@pytest.mark.parametrize(("tail", "line", "column", "message"), ERRORS)
def test_errors_name_line_and_column(tail: str, line: int, column: int, message: str) -> None:
    with pytest.raises(CrushSyntaxError) as info:
        compile(MAP_HEAD + tail)
    err = info.value
    assert message in str(err)
    assert (err.line, err.column) == (line, column), str(err)
    assert str(err).startswith(f"line {line}, column {column}: ")
    assert isinstance(err, InvalidArgument)


def test_parent_before_child_chain_fails_like_ceph() -> None:
    # Ceph's reordering swaps each (parent, later child) pair once, which leaves a
    # three-level chain written top-down out of order: crushtool fails the same way.
    text = MAP_HEAD + (
        "type 2 root\n"
        "root a {\n\tid -1\n\talg straw2\n\titem b\n}\n"
        "root b {\n\tid -2\n\talg straw2\n\titem c\n}\n"
        "host c {\n\tid -3\n\talg straw2\n\titem osd.0\n}\n"
    )
    with pytest.raises(CrushSyntaxError, match="unknown item 'c' in bucket 'b'"):
        compile(text)


def test_parent_before_child_is_reordered() -> None:
    text = MAP_HEAD + (
        "type 2 root\n"
        "root a {\n\talg straw2\n\titem h\n}\n"
        "host h {\n\talg straw2\n\titem osd.0\n}\n"
    )
    cmap = compile(text)
    assert cmap.id_of("h") == -1
    assert cmap.id_of("a") == -2
    assert cmap.buckets[-2].item_weights == [0x10000]


def test_class_take_after_failed_shadow_tree_explains() -> None:
    text = (VECTORS / "text" / "uniform_classes.txt").read_text()
    text = text.replace("step take default\n", "step take default class hdd\n")
    with pytest.raises(CrushSyntaxError, match="uniform bucket 'h1'"):
        compile(text)


# -- robustness ---------------------------------------------------------------------------

_SEEDS = [_source(name) for name in MAPS]
_PIECES = [
    "{",
    "}",
    "[",
    "]",
    "#",
    "\n",
    " ",
    "-1",
    "0",
    "1.5",
    "-",
    "~",
    "osd.0",
    "host",
    "id",
    "class",
    "ssd",
    "item",
    "step",
    "rule",
    "weight",
    "pos",
    "99999999999",
    "1e40",
]


@st.composite
def _mutated_map(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(_SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = min(len(text), start + draw(st.integers(0, 12)))
        kind = draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        if kind == "delete":
            text = text[:start] + text[end:]
        elif kind == "duplicate":
            text = text[:end] + text[start:end] + text[end:]
        else:
            piece = draw(st.one_of(st.sampled_from(_PIECES), st.text(max_size=3)))
            text = text[:start] + piece + text[end if kind == "replace" else start :]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated_map())
def test_mutated_maps_compile_or_fail_cleanly(text: str) -> None:
    try:
        cmap = compile(text)
    except CrushSyntaxError:
        return
    assert isinstance(cmap, CrushMap)
    again = decompile(cmap)
    assert decompile(compile(again)) == again
