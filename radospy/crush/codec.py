"""Ceph's binary crushmap encoding (`crushtool -c` output, `ceph osd getcrushmap`).

The layout is `CrushWrapper::encode` of Ceph Pacific, little endian throughout:

    u32 magic (0x00010000), s32 max_buckets, u32 max_rules, s32 max_devices
    max_buckets bucket slots: u32 alg (0 = empty slot), then
        s32 id, u16 type, u8 alg, u8 hash, u32 weight, u32 size, s32 items[size],
        uniform: u32 item_weight
        list:    (u32 item_weight, u32 sum_weight) * size
        tree:    u8 num_nodes, u32 node_weights[num_nodes]
        straw:   (u32 item_weight, u32 straw) * size
        straw2:  u32 item_weights[size]
    max_rules rule slots: u32 present, then u32 len, u8 ruleset, u8 type, u8 min_size,
        u8 max_size, (u32 op, s32 arg1, s32 arg2) * len
    type_map, name_map, rule_name_map: u32 n, (s32 key, u32 len, bytes) * n
    u32 choose_local_tries, u32 choose_local_fallback_tries, u32 choose_total_tries,
    u32 chooseleaf_descend_once, u8 chooseleaf_vary_r, u8 straw_calc_version,
    u32 allowed_bucket_algs, u8 chooseleaf_stable
    class_map (s32 -> s32), class_name (s32 -> string),
    class_bucket (s32 -> (s32 -> s32))
    choose_args: u32 n, per entry s64 key, u32 count, per bucket u32 index,
        u32 positions, (u32 size, u32 weights[size]) * positions, u32 ids_size, s32 ids

Everything from the tunables on is optional on decode, section by section, as Ceph reads
maps written by older releases; `encode` always writes every section.

Ceph keeps a few things the model has no field for, so these binaries decode but do not
re-encode byte for byte: the item weight of an empty uniform bucket, and name-map keys
written as 64 bits by pre-Firefly releases.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from radospy.common.errors import InvalidArgument
from radospy.crush.map import (
    Bucket,
    BucketAlg,
    ChooseArg,
    CrushMap,
    Op,
    Rule,
    RuleStep,
    Tunables,
)

CRUSH_MAGIC = 0x00010000
"""First word of every binary crushmap."""

MAX_RULES = 256
"""CRUSH_MAX_RULES: the legacy ruleset byte holds the rule id, so ids stop at 255."""

_U8 = struct.Struct("<B")
_U32 = struct.Struct("<I")
_S32 = struct.Struct("<i")
_S64 = struct.Struct("<q")
_HEADER = struct.Struct("<IiIi")
_BUCKET_HEAD = struct.Struct("<iHBBII")
_RULE_HEAD = struct.Struct("<IBBBB")
_TUNABLES_3 = struct.Struct("<III")

_VALID_ALGS = frozenset(int(a) for a in BucketAlg)
_VALID_OPS = frozenset(int(o) for o in Op)
_STEP_SIZE = 12


class CrushDecodeError(InvalidArgument):
    """A binary crushmap that is malformed, truncated or not representable."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"malformed crushmap at offset {offset}: {message}")
        self.offset = offset


class CrushEncodeError(InvalidArgument):
    """A CrushMap that cannot be written in Ceph's binary layout."""


def _tree_leaf(i: int) -> int:
    """Index of item i's leaf in a tree bucket's node array (crush_calc_tree_node)."""
    return ((i + 1) << 1) - 1


class _Reader:
    """A bounds-checked cursor over the encoded bytes."""

    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def fail(self, message: str, offset: int | None = None) -> CrushDecodeError:
        return CrushDecodeError(message, self.pos if offset is None else offset)

    @property
    def remaining(self) -> int:
        return len(self.buf) - self.pos

    def at_end(self) -> bool:
        return self.pos >= len(self.buf)

    def need(self, size: int, what: str) -> None:
        if size > self.remaining:
            raise self.fail(f"truncated {what}: need {size} bytes, {self.remaining} left")

    def unpack(self, fmt: struct.Struct, what: str) -> tuple[int, ...]:
        self.need(fmt.size, what)
        values = fmt.unpack_from(self.buf, self.pos)
        self.pos += fmt.size
        return values

    def one(self, fmt: struct.Struct, what: str) -> int:
        return self.unpack(fmt, what)[0]

    def array(self, code: str, count: int, what: str) -> list[int]:
        """`count` repetitions of the (4-byte) struct codes in `code`, bounds-checked first."""
        size = 4 * len(code) * count
        self.need(size, what)
        fmt = f"<{count}{code}" if len(code) == 1 else "<" + code * count
        values = list(struct.unpack_from(fmt, self.buf, self.pos))
        self.pos += size
        return values

    def count(self, min_entry_size: int, what: str) -> int:
        """A u32 element count, refused when the elements could not fit in what is left.

        Checking before the loop keeps a forged count from allocating or spinning.
        """
        start = self.pos
        n = self.one(_U32, f"{what} count")
        if n * min_entry_size > self.remaining:
            raise self.fail(f"{what} count {n} exceeds the {self.remaining} bytes left", start)
        return n

    def string(self, length: int, what: str) -> str:
        self.need(length, what)
        raw = self.buf[self.pos : self.pos + length]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.fail(f"{what} is not UTF-8: {exc.reason}") from None
        self.pos += length
        return text

    def name_map(self, what: str) -> dict[int, str]:
        """A map<int32, string> of names.

        Ceph once wrote these keys as 64 bits; as Ceph does, a zero length (the high half
        of a small key) means the real length follows.
        """
        n = self.count(8, what)
        out: dict[int, str] = {}
        for _ in range(n):
            key = self.one(_S32, f"{what} key")
            length = self.one(_U32, f"{what} string length")
            if length == 0:
                length = self.one(_U32, f"{what} string length")
                if length == 0:
                    raise self.fail(f"{what}: empty name for {key}")
            out[key] = self.string(length, f"{what} name of {key}")
        return out

    def string_map(self, what: str) -> dict[int, str]:
        n = self.count(8, what)
        out: dict[int, str] = {}
        for _ in range(n):
            key = self.one(_S32, f"{what} key")
            length = self.one(_U32, f"{what} string length")
            out[key] = self.string(length, f"{what} name of {key}")
        return out

    def int_map(self, what: str) -> dict[int, int]:
        n = self.count(8, what)
        flat = self.array("i", 2 * n, what)
        return dict(zip(flat[0::2], flat[1::2], strict=True))


def decode(data: bytes) -> CrushMap:
    """Decode a binary crushmap as Ceph's `CrushWrapper::decode` reads it.

    Raises CrushDecodeError (an InvalidArgument) for bad magic, truncation, impossible
    counts, unknown bucket algorithms or step opcodes, and for content the model cannot
    hold (a bucket whose id does not match its slot, a name for a missing bucket or rule,
    choose_args for a missing bucket, trailing bytes). A bucket or rule that has no name
    in the map gets the name "" (and `encode` writes no name for it).
    """
    r = _Reader(bytes(data))
    magic, max_buckets, max_rules, max_devices = r.unpack(_HEADER, "header")
    if magic != CRUSH_MAGIC:
        raise r.fail(f"bad magic {magic:#010x}, expected {CRUSH_MAGIC:#010x}", 0)
    if max_buckets < 0:
        raise r.fail(f"negative max_buckets {max_buckets}", 4)
    if max_devices < 0:
        raise r.fail(f"negative max_devices {max_devices}", 12)
    # Every bucket slot and rule slot takes at least its 4-byte presence word.
    if 4 * (max_buckets + max_rules) > r.remaining:
        raise r.fail(
            f"max_buckets {max_buckets} and max_rules {max_rules} exceed the "
            f"{r.remaining} bytes left",
            4,
        )
    if max_rules > MAX_RULES:
        raise r.fail(f"max_rules {max_rules} exceeds {MAX_RULES}", 8)

    cmap = CrushMap(max_buckets=max_buckets, max_devices=max_devices)
    for slot in range(max_buckets):
        bucket = _decode_bucket(r, slot)
        if bucket is not None:
            cmap.buckets[bucket.id] = bucket
    for rule_id in range(max_rules):
        rule = _decode_rule(r, rule_id)
        if rule is not None:
            cmap.rules[rule_id] = rule
    if max_rules > max(cmap.rules, default=-1) + 1:
        cmap.max_rules = max_rules

    cmap.types = r.name_map("type_map")
    names_at = r.pos
    names = r.name_map("name_map")
    rule_names_at = r.pos
    rule_names = r.name_map("rule_name_map")
    _apply_names(r, cmap, names, names_at, rule_names, rule_names_at)

    cmap.tunables = _decode_tunables(r)
    if not r.at_end():
        cmap.device_classes = r.int_map("class_map")
        cmap.class_names = r.string_map("class_name")
        cmap.class_buckets = _decode_class_buckets(r)
    if not r.at_end():
        cmap.choose_args = _decode_choose_args(r, cmap)
    if not r.at_end():
        raise r.fail(f"{r.remaining} trailing bytes after the last section")
    return cmap


def _decode_bucket(r: _Reader, slot: int) -> Bucket | None:
    start = r.pos
    tag = r.one(_U32, f"bucket slot {slot}")
    if tag == 0:
        return None
    if tag not in _VALID_ALGS:
        raise r.fail(f"unsupported bucket algorithm {tag} in slot {slot}", start)
    bucket_id, type_id, alg, hash_id, weight, size = r.unpack(_BUCKET_HEAD, "bucket header")
    if alg != tag:
        raise r.fail(f"bucket {bucket_id}: algorithm {alg} disagrees with slot tag {tag}", start)
    if bucket_id != -1 - slot:
        raise r.fail(f"bucket id {bucket_id} does not belong in slot {slot}", start + 4)
    items = r.array("i", size, f"bucket {bucket_id} items")
    bucket = Bucket(
        id=bucket_id,
        name="",
        type_id=type_id,
        alg=BucketAlg(alg),
        hash=hash_id,
        items=items,
        weight=weight,
    )
    what = f"bucket {bucket_id} weights"
    if alg == BucketAlg.UNIFORM:
        bucket.item_weights = [r.one(_U32, what)] * size
    elif alg == BucketAlg.LIST:
        pairs = r.array("I", 2 * size, what)
        bucket.item_weights = pairs[0::2]
        bucket.sum_weights = pairs[1::2]
    elif alg == BucketAlg.TREE:
        num_nodes = r.one(_U8, f"bucket {bucket_id} num_nodes")
        bucket.node_weights = r.array("I", num_nodes, what)
        if size and _tree_leaf(size - 1) >= num_nodes:
            raise r.fail(f"tree bucket {bucket_id}: {num_nodes} nodes cannot hold {size} items")
        bucket.item_weights = bucket.node_weights[1 : _tree_leaf(size) : 2]
    elif alg == BucketAlg.STRAW:
        pairs = r.array("I", 2 * size, what)
        bucket.item_weights = pairs[0::2]
        bucket.straws = pairs[1::2]
    else:
        bucket.item_weights = r.array("I", size, what)
    return bucket


def _decode_rule(r: _Reader, rule_id: int) -> Rule | None:
    start = r.pos
    if r.one(_U32, f"rule slot {rule_id}") == 0:
        return None
    length, ruleset, rule_type, min_size, max_size = r.unpack(_RULE_HEAD, "rule header")
    if ruleset != rule_id:
        raise r.fail(f"rule {rule_id} has ruleset {ruleset}; rulesets must equal rule ids", start)
    steps_at = r.pos
    flat = r.array("Iii", length, f"rule {rule_id} steps")
    steps: list[RuleStep] = []
    for i in range(length):
        op, arg1, arg2 = flat[3 * i : 3 * i + 3]
        if op not in _VALID_OPS:
            raise r.fail(f"rule {rule_id} step {i}: unknown opcode {op}", steps_at + i * _STEP_SIZE)
        steps.append(RuleStep(Op(op), arg1, arg2))
    return Rule(
        id=rule_id, name="", type=rule_type, min_size=min_size, max_size=max_size, steps=steps
    )


def _apply_names(
    r: _Reader,
    cmap: CrushMap,
    names: dict[int, str],
    names_at: int,
    rule_names: dict[int, str],
    rule_names_at: int,
) -> None:
    for item, name in names.items():
        if item >= 0:
            cmap.device_names[item] = name
        elif item in cmap.buckets:
            cmap.buckets[item].name = name
        else:
            raise r.fail(f"name {name!r} given to missing bucket {item}", names_at)
    for rule_id, name in rule_names.items():
        if rule_id not in cmap.rules:
            raise r.fail(f"name {name!r} given to missing rule {rule_id}", rule_names_at)
        cmap.rules[rule_id].name = name


def _decode_tunables(r: _Reader) -> Tunables:
    t = Tunables()
    if r.at_end():
        return t
    t.choose_local_tries, t.choose_local_fallback_tries, t.choose_total_tries = r.unpack(
        _TUNABLES_3, "tunables"
    )
    # Each later tunable was appended by a later release; a map may end before any.
    if not r.at_end():
        t.chooseleaf_descend_once = r.one(_U32, "chooseleaf_descend_once")
    if not r.at_end():
        t.chooseleaf_vary_r = r.one(_U8, "chooseleaf_vary_r")
    if not r.at_end():
        t.straw_calc_version = r.one(_U8, "straw_calc_version")
    if not r.at_end():
        t.allowed_bucket_algs = r.one(_U32, "allowed_bucket_algs")
    if not r.at_end():
        t.chooseleaf_stable = r.one(_U8, "chooseleaf_stable")
    return t


def _decode_class_buckets(r: _Reader) -> dict[int, dict[int, int]]:
    n = r.count(8, "class_bucket")
    out: dict[int, dict[int, int]] = {}
    for _ in range(n):
        bucket_id = r.one(_S32, "class_bucket key")
        out[bucket_id] = r.int_map(f"class_bucket of {bucket_id}")
    return out


def _decode_choose_args(r: _Reader, cmap: CrushMap) -> dict[int, dict[int, ChooseArg]]:
    n = r.count(12, "choose_args")
    out: dict[int, dict[int, ChooseArg]] = {}
    for _ in range(n):
        key = r.one(_S64, "choose_args key")
        args: dict[int, ChooseArg] = {}
        for _ in range(r.count(12, f"choose_args {key}")):
            start = r.pos
            index = r.one(_U32, f"choose_args {key} bucket index")
            if index >= cmap.max_buckets:
                raise r.fail(
                    f"choose_args {key}: bucket index {index} beyond max_buckets "
                    f"{cmap.max_buckets}",
                    start,
                )
            bucket_id = -1 - index
            if bucket_id in args:
                raise r.fail(f"choose_args {key}: bucket {bucket_id} given twice", start)
            what = f"choose_args {key} bucket {bucket_id}"
            weight_set = [
                r.array("I", r.count(4, f"{what} weight set"), f"{what} weight set")
                for _ in range(r.count(4, f"{what} positions"))
            ]
            ids_at = r.pos
            ids_size = r.count(4, f"{what} ids")
            ids: list[int] | None = None
            if ids_size:
                bucket = cmap.buckets.get(bucket_id)
                if bucket is None or ids_size != bucket.size:
                    have = "missing" if bucket is None else f"of size {bucket.size}"
                    raise r.fail(f"{what}: {ids_size} ids for a bucket {have}", ids_at)
                ids = r.array("i", ids_size, f"{what} ids")
            elif not weight_set:
                raise r.fail(f"{what}: entry with neither weight set nor ids", start)
            args[bucket_id] = ChooseArg(bucket_id=bucket_id, weight_set=weight_set, ids=ids)
        out[key] = args
    return out


class _Writer:
    """Accumulates encoded pieces; struct errors become CrushEncodeError in `encode`."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def pack(self, fmt: struct.Struct, *values: int) -> None:
        self.parts.append(fmt.pack(*values))

    def array(self, code: str, values: list[int]) -> None:
        """`values` packed as repetitions of the struct codes in `code`."""
        count = len(values) // len(code)
        fmt = f"<{count}{code}" if len(code) == 1 else "<" + code * count
        self.parts.append(struct.pack(fmt, *values))

    def string(self, text: str) -> None:
        raw = text.encode("utf-8")
        self.parts.append(_U32.pack(len(raw)) + raw)

    def name_map(self, names: Iterable[tuple[int, str]], what: str) -> None:
        entries = sorted(names)
        self.pack(_U32, len(entries))
        for key, name in entries:
            if not name:
                # A zero length reads back as the marker of a 64-bit key.
                raise CrushEncodeError(f"{what}: empty name for {key}")
            self.pack(_S32, key)
            self.string(name)

    def string_map(self, names: dict[int, str]) -> None:
        self.pack(_U32, len(names))
        for key in sorted(names):
            self.pack(_S32, key)
            self.string(names[key])

    def int_map(self, mapping: dict[int, int]) -> None:
        self.pack(_U32, len(mapping))
        flat: list[int] = []
        for key in sorted(mapping):
            flat += (key, mapping[key])
        self.array("i", flat)


def encode(cmap: CrushMap) -> bytes:
    """Encode a CrushMap in Ceph Pacific's binary layout (what `crushtool -c` writes).

    Raises CrushEncodeError (an InvalidArgument) when the map does not fit the layout:
    a bucket id outside `max_buckets`, a rule id above 255, weights lists that disagree
    with the items, an empty name, or a value too wide for its field.
    """
    w = _Writer()
    max_rules = max(cmap.max_rules, max(cmap.rules, default=-1) + 1)
    try:
        w.pack(_HEADER, CRUSH_MAGIC, cmap.max_buckets, max_rules, cmap.max_devices)
        _encode_buckets(w, cmap)
        _encode_rules(w, cmap, max_rules)
        w.name_map(cmap.types.items(), "type_map")
        if min(cmap.device_names, default=0) < 0:
            raise CrushEncodeError("device ids must not be negative")
        names = list(cmap.device_names.items())
        names += ((b.id, b.name) for b in cmap.buckets.values() if b.name)
        w.name_map(names, "name_map")
        w.name_map(((r.id, r.name) for r in cmap.rules.values() if r.name), "rule_name_map")
        _encode_tunables(w, cmap.tunables)
        w.int_map(cmap.device_classes)
        w.string_map(cmap.class_names)
        w.pack(_U32, len(cmap.class_buckets))
        for bucket_id in sorted(cmap.class_buckets):
            w.pack(_S32, bucket_id)
            w.int_map(cmap.class_buckets[bucket_id])
        _encode_choose_args(w, cmap)
    except struct.error as exc:
        raise CrushEncodeError(f"crushmap value out of range: {exc}") from None
    return b"".join(w.parts)


def _encode_buckets(w: _Writer, cmap: CrushMap) -> None:
    for key, bucket in cmap.buckets.items():
        if key != bucket.id:
            raise CrushEncodeError(f"bucket {bucket.id} filed under id {key}")
        if not -cmap.max_buckets <= bucket.id <= -1:
            raise CrushEncodeError(f"bucket id {bucket.id} outside max_buckets {cmap.max_buckets}")
    for slot in range(cmap.max_buckets):
        bucket = cmap.buckets.get(-1 - slot)
        if bucket is None:
            w.pack(_U32, 0)
            continue
        _encode_bucket(w, bucket)


def _encode_bucket(w: _Writer, b: Bucket) -> None:
    size = len(b.items)
    if len(b.item_weights) != size:
        raise CrushEncodeError(
            f"bucket {b.id}: {len(b.item_weights)} item weights for {size} items"
        )
    w.pack(_U32, b.alg)
    w.pack(_BUCKET_HEAD, b.id, b.type_id, b.alg, b.hash, b.weight, size)
    w.array("i", b.items)
    if b.alg == BucketAlg.UNIFORM:
        if len(set(b.item_weights)) > 1:
            raise CrushEncodeError(f"uniform bucket {b.id} has unequal item weights")
        w.pack(_U32, b.item_weights[0] if size else 0)
    elif b.alg == BucketAlg.LIST:
        w.array("I", _interleave(b, b.sum_weights, "sum_weights"))
    elif b.alg == BucketAlg.TREE:
        nodes = b.node_weights
        if size and (
            len(nodes) <= _tree_leaf(size - 1) or nodes[1 : _tree_leaf(size) : 2] != b.item_weights
        ):
            raise CrushEncodeError(f"tree bucket {b.id}: node_weights disagree with item weights")
        w.pack(_U8, len(nodes))
        w.array("I", nodes)
    elif b.alg == BucketAlg.STRAW:
        w.array("I", _interleave(b, b.straws, "straws"))
    else:
        w.array("I", b.item_weights)


def _interleave(b: Bucket, second: list[int], what: str) -> list[int]:
    if len(second) != len(b.items):
        raise CrushEncodeError(f"bucket {b.id}: {len(second)} {what} for {len(b.items)} items")
    flat = [0] * (2 * len(second))
    flat[0::2] = b.item_weights
    flat[1::2] = second
    return flat


def _encode_rules(w: _Writer, cmap: CrushMap, max_rules: int) -> None:
    if max_rules > MAX_RULES or min(cmap.rules, default=0) < 0:
        raise CrushEncodeError(f"rule ids must lie in 0..{MAX_RULES - 1}")
    for rule_id in range(max_rules):
        rule = cmap.rules.get(rule_id)
        if rule is None:
            w.pack(_U32, 0)
            continue
        if rule.id != rule_id:
            raise CrushEncodeError(f"rule {rule.id} filed under id {rule_id}")
        w.pack(_U32, 1)
        w.pack(_RULE_HEAD, len(rule.steps), rule_id, rule.type, rule.min_size, rule.max_size)
        flat: list[int] = []
        for step in rule.steps:
            flat += (step.op, step.arg1, step.arg2)
        w.array("Iii", flat)


def _encode_tunables(w: _Writer, t: Tunables) -> None:
    w.pack(_TUNABLES_3, t.choose_local_tries, t.choose_local_fallback_tries, t.choose_total_tries)
    w.pack(_U32, t.chooseleaf_descend_once)
    w.pack(_U8, t.chooseleaf_vary_r)
    w.pack(_U8, t.straw_calc_version)
    w.pack(_U32, t.allowed_bucket_algs)
    w.pack(_U8, t.chooseleaf_stable)


def _encode_choose_args(w: _Writer, cmap: CrushMap) -> None:
    w.pack(_U32, len(cmap.choose_args))
    for key in sorted(cmap.choose_args):
        args = cmap.choose_args[key]
        # Ceph drops entries that override nothing rather than write them empty.
        live = sorted((b for b, arg in args.items() if arg.weight_set or arg.ids), reverse=True)
        w.pack(_S64, key)
        w.pack(_U32, len(live))
        # Descending bucket ids are ascending slot indexes, the order Ceph writes.
        for bucket_id in live:
            arg = args[bucket_id]
            if bucket_id != arg.bucket_id:
                raise CrushEncodeError(
                    f"choose_args {key}: bucket {arg.bucket_id} filed under {bucket_id}"
                )
            if not -cmap.max_buckets <= bucket_id <= -1:
                raise CrushEncodeError(
                    f"choose_args {key}: bucket {bucket_id} outside max_buckets {cmap.max_buckets}"
                )
            bucket = cmap.buckets.get(bucket_id)
            if arg.ids and (bucket is None or len(arg.ids) != bucket.size):
                raise CrushEncodeError(
                    f"choose_args {key}: ids of bucket {bucket_id} do not match its items"
                )
            w.pack(_U32, -1 - bucket_id)
            w.pack(_U32, len(arg.weight_set))
            for weights in arg.weight_set:
                w.pack(_U32, len(weights))
                w.array("I", weights)
            ids = arg.ids or []
            w.pack(_U32, len(ids))
            w.array("i", ids)
