"""Compile Ceph's crushmap text format into a `CrushMap`, with `crushtool -c` semantics.

Three stages: a tokenizer (comments stripped, every token keeps its line and column), a
recursive-descent parser for the grammar of Ceph's `grammar.h`, and a semantic pass that
follows `CrushCompiler::parse_crush` step by step, because the order in which Ceph
allocates bucket ids, class ids and shadow buckets is visible in the result.

Grammar (tokens are words, `{`, `}`, `[` and `]`)::

    crushmap    := (tunable | device | type)* (bucket | rule)* choose_args*
    tunable     := "tunable" NAME POSINT
    device      := "device" POSINT NAME ["class" NAME]
    type        := "type" POSINT NAME
    bucket      := NAME NAME "{" ("id" NEGINT ["class" NAME])* "alg" NAME
                   ("hash" (INT | "rjenkins1"))* ("item" NAME ["weight" REAL] ["pos" POSINT])* "}"
    rule        := "rule" [NAME] "{" ("id" | "ruleset") POSINT "type" RULETYPE
                   "min_size" POSINT "max_size" POSINT step+ "}"
    step        := "step" ( "take" NAME ["class" NAME] | SET_STEP POSINT | "emit"
                          | ("choose" | "chooseleaf") ("firstn" | "indep") INT "type" NAME )
    choose_args := "choose_args" POSINT "{" choose_arg* "}"
    choose_arg  := "{" "bucket_id" NEGINT ["weight_set" "[" ("[" REAL* "]")* "]"]
                   ["ids" "[" INT* "]"] "}"

Where Ceph silently builds a map that cannot be what the author meant (a device id
defined twice, an item listed twice in one bucket, a rule id or size that does not fit in
Ceph's 8-bit fields, a hash other than rjenkins1, a negative weight) this compiler
answers with an error instead.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

from radospy.common.errors import InvalidArgument, RadosError
from radospy.crush import builder, classes
from radospy.crush.map import (
    WEIGHT_ONE,
    Bucket,
    BucketAlg,
    ChooseArg,
    CrushMap,
    Op,
    Rule,
    RuleStep,
    RuleType,
)

__all__ = ["CrushSyntaxError", "compile"]

MAX_DEVICE_WEIGHT = 100 * WEIGHT_ONE
"""CRUSH_MAX_DEVICE_WEIGHT."""
MAX_BUCKET_WEIGHT = 65535 * WEIGHT_ONE
"""CRUSH_MAX_BUCKET_WEIGHT."""
U32_MAX = 0xFFFFFFFF
INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
U8_MAX = 0xFF

ALGS = {
    "uniform": BucketAlg.UNIFORM,
    "list": BucketAlg.LIST,
    "tree": BucketAlg.TREE,
    "straw": BucketAlg.STRAW,
    "straw2": BucketAlg.STRAW2,
}
RULE_TYPES = {
    "replicated": RuleType.REPLICATED,
    "erasure": RuleType.ERASURE,
    "msr_firstn": RuleType.MSR_FIRSTN,
    "msr_indep": RuleType.MSR_INDEP,
}
TUNABLES = (
    "choose_local_tries",
    "choose_local_fallback_tries",
    "choose_total_tries",
    "chooseleaf_descend_once",
    "chooseleaf_vary_r",
    "chooseleaf_stable",
    "straw_calc_version",
    "allowed_bucket_algs",
)
TUNABLE_MAX = {
    "chooseleaf_vary_r": U8_MAX,
    "chooseleaf_stable": U8_MAX,
    "straw_calc_version": U8_MAX,
}
"""Tunables Ceph keeps in a __u8 (the others are __u32)."""
SET_STEPS = {
    "set_choose_tries": Op.SET_CHOOSE_TRIES,
    "set_choose_local_tries": Op.SET_CHOOSE_LOCAL_TRIES,
    "set_choose_local_fallback_tries": Op.SET_CHOOSE_LOCAL_FALLBACK_TRIES,
    "set_chooseleaf_tries": Op.SET_CHOOSELEAF_TRIES,
    "set_chooseleaf_vary_r": Op.SET_CHOOSELEAF_VARY_R,
    "set_chooseleaf_stable": Op.SET_CHOOSELEAF_STABLE,
}
CHOOSE_OPS = {
    ("choose", "firstn"): Op.CHOOSE_FIRSTN,
    ("choose", "indep"): Op.CHOOSE_INDEP,
    ("chooseleaf", "firstn"): Op.CHOOSELEAF_FIRSTN,
    ("chooseleaf", "indep"): Op.CHOOSELEAF_INDEP,
}

_WORD_CHARS = re.compile(r"[A-Za-z0-9_.+-]+")
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_POSINT = re.compile(r"[0-9]+")
_NEGINT = re.compile(r"-[0-9]+")
_INT = re.compile(r"-?[0-9]+")
_REAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_PUNCT = "{}[]"
_SPACE = " \t\r\v\f"


class CrushSyntaxError(InvalidArgument):
    """A crushmap text that does not compile; `str()` starts with `line L, column C:`."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.reason = message
        self.line = line
        self.column = column


# -- tokens -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    text: str
    line: int
    column: int

    def error(self, message: str) -> CrushSyntaxError:
        return CrushSyntaxError(message, self.line, self.column)


def tokenize(text: str) -> list[Token]:
    """Split `text` into tokens; `#` starts a comment that runs to the end of the line."""
    tokens: list[Token] = []
    for line_no, line in enumerate(text.split("\n"), start=1):
        line = line.split("#", 1)[0]
        col = 0
        while col < len(line):
            ch = line[col]
            if ch in _SPACE:
                col += 1
            elif ch in _PUNCT:
                tokens.append(Token(ch, line_no, col + 1))
                col += 1
            elif m := _WORD_CHARS.match(line, col):
                tokens.append(Token(m.group(), line_no, col + 1))
                col = m.end()
            else:
                raise CrushSyntaxError(f"unexpected character {ch!r}", line_no, col + 1)
    return tokens


# -- syntax tree --------------------------------------------------------------------------


@dataclass
class TunableDecl:
    name: Token
    value: Token


@dataclass
class DeviceDecl:
    id: Token
    name: Token
    class_name: Token | None


@dataclass
class TypeDecl:
    id: Token
    name: Token


@dataclass
class IdLine:
    id: Token
    class_name: Token | None


@dataclass
class ItemLine:
    name: Token
    weight: Token | None
    pos: Token | None


@dataclass
class BucketDecl:
    type_name: Token
    name: Token
    ids: list[IdLine]
    alg: Token
    hashes: list[Token]
    items: list[ItemLine]


@dataclass
class StepDecl:
    keyword: Token
    """`take`, `emit`, `choose`, `chooseleaf` or one of SET_STEPS."""
    args: list[Token] = field(default_factory=list)
    """take: [item] or [item, class]; set_*: [value]; choose*: [mode, count, type]."""


@dataclass
class RuleDecl:
    start: Token
    name: Token | None
    id: Token
    type: Token
    min_size: Token
    max_size: Token
    steps: list[StepDecl]


@dataclass
class ChooseArgDecl:
    start: Token
    bucket_id: Token
    weight_set: list[tuple[Token, list[Token]]] | None
    ids: tuple[Token, list[Token]] | None


@dataclass
class ChooseArgsDecl:
    key: Token
    args: list[ChooseArgDecl]


Decl = TunableDecl | DeviceDecl | TypeDecl | BucketDecl | RuleDecl | ChooseArgsDecl
_D = TypeVar("_D")


# -- parser -------------------------------------------------------------------------------


class _Parser:
    def __init__(self, tokens: list[Token], text: str) -> None:
        self.tokens = tokens
        self.pos = 0
        lines = text.split("\n")
        self.eof = Token("", len(lines), len(lines[-1]) + 1)

    def peek(self, offset: int = 0) -> Token:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else self.eof

    def next(self, what: str, pattern: re.Pattern[str]) -> Token:
        tok = self.peek()
        if tok is self.eof:
            raise tok.error(f"expected {what}, found end of input")
        if not pattern.fullmatch(tok.text):
            raise tok.error(f"expected {what}, found {tok.text!r}")
        self.pos += 1
        return tok

    def keyword(self, *words: str) -> Token:
        tok = self.peek()
        if tok.text not in words:
            found = "end of input" if tok is self.eof else repr(tok.text)
            raise tok.error(f"expected {' or '.join(repr(w) for w in words)}, found {found}")
        self.pos += 1
        return tok

    def optional(self, word: str) -> bool:
        if self.peek() is not self.eof and self.peek().text == word:
            self.pos += 1
            return True
        return False

    def name(self, what: str) -> Token:
        return self.next(what, _NAME)

    def posint(self, what: str) -> Token:
        return self.next(f"{what} (a non-negative integer)", _POSINT)

    def parse(self) -> list[Decl]:
        # Each section lists what may appear there; a statement may also open a later
        # section, never an earlier one (as in Ceph's grammar).
        sections: list[list[Callable[[], Decl]]] = [
            [self.tunable, self.device, self.type_decl],
            [self.bucket, self.rule],
            [self.choose_args],
        ]
        decls: list[Decl] = []
        section = 0
        while self.pos < len(self.tokens):
            start = self.pos
            best: CrushSyntaxError | None = None
            best_reach = -1
            parsed: Decl | None = None
            for index in range(section, len(sections)):
                for alternative in sections[index]:
                    self.pos = start
                    try:
                        parsed = alternative()
                    except CrushSyntaxError as exc:
                        reach = self.pos
                        if reach > best_reach:
                            best, best_reach = exc, reach
                        continue
                    section = index
                    break
                if parsed is not None:
                    break
            if parsed is None:
                assert best is not None
                raise self._misplaced(start, section, sections) or best
            decls.append(parsed)
        return decls

    def _misplaced(
        self, start: int, section: int, sections: list[list[Callable[[], Decl]]]
    ) -> CrushSyntaxError | None:
        """A clearer error for a statement that is well formed but out of order."""
        tok = self.tokens[start]
        for index, earlier in enumerate(sections[:section]):
            for alternative in earlier:
                self.pos = start
                try:
                    alternative()
                except CrushSyntaxError:
                    continue
                if index == 0:
                    return tok.error(f"'{tok.text}' lines must come before buckets and rules")
                return tok.error("buckets and rules must come before choose_args")
        return None

    def tunable(self) -> TunableDecl:
        self.keyword("tunable")
        name = self.name("a tunable name")
        return TunableDecl(name, self.posint("a tunable value"))

    def device(self) -> DeviceDecl:
        self.keyword("device")
        dev_id = self.posint("a device id")
        name = self.name("a device name")
        class_name = self.name("a class name") if self.optional("class") else None
        return DeviceDecl(dev_id, name, class_name)

    def type_decl(self) -> TypeDecl:
        self.keyword("type")
        type_id = self.posint("a type id")
        return TypeDecl(type_id, self.name("a type name"))

    def bucket(self) -> BucketDecl:
        type_name = self.name("a bucket type")
        name = self.name("a bucket name")
        self.keyword("{")
        ids: list[IdLine] = []
        while self.optional("id"):
            bucket_id = self.next("a negative bucket id", _NEGINT)
            class_name = self.name("a class name") if self.optional("class") else None
            ids.append(IdLine(bucket_id, class_name))
        self.keyword("alg")
        alg = self.name("a bucket algorithm")
        hashes: list[Token] = []
        while self.optional("hash"):
            tok = self.peek()
            if tok.text != "rjenkins1":
                tok = self.next("a hash (0 or rjenkins1)", _INT)
            else:
                self.pos += 1
            hashes.append(tok)
        items: list[ItemLine] = []
        while self.optional("item"):
            item = self.name("an item name")
            weight = self.next("a weight", _REAL) if self.optional("weight") else None
            pos = self.posint("a position") if self.optional("pos") else None
            items.append(ItemLine(item, weight, pos))
        self.keyword("}")
        return BucketDecl(type_name, name, ids, alg, hashes, items)

    def rule(self) -> RuleDecl:
        start = self.keyword("rule")
        name = None if self.peek().text == "{" else self.name("a rule name")
        self.keyword("{")
        self.keyword("id", "ruleset")
        rule_id = self.posint("a rule id")
        self.keyword("type")
        rule_type = self.keyword(*RULE_TYPES)
        self.keyword("min_size")
        min_size = self.posint("min_size")
        self.keyword("max_size")
        max_size = self.posint("max_size")
        steps = [self.step()]
        while self.peek().text == "step":
            steps.append(self.step())
        self.keyword("}")
        return RuleDecl(start, name, rule_id, rule_type, min_size, max_size, steps)

    def step(self) -> StepDecl:
        self.keyword("step")
        keyword = self.keyword("take", "emit", "choose", "chooseleaf", *SET_STEPS)
        if keyword.text == "take":
            args = [self.name("a bucket or device name")]
            if self.optional("class"):
                args.append(self.name("a class name"))
            return StepDecl(keyword, args)
        if keyword.text == "emit":
            return StepDecl(keyword)
        if keyword.text in SET_STEPS:
            return StepDecl(keyword, [self.posint("a value")])
        mode = self.keyword("firstn", "indep")
        count = self.next("a number of replicas", _INT)
        self.keyword("type")
        return StepDecl(keyword, [mode, count, self.name("a type name")])

    def choose_args(self) -> ChooseArgsDecl:
        self.keyword("choose_args")
        key = self.posint("a choose_args id")
        self.keyword("{")
        args: list[ChooseArgDecl] = []
        while self.peek().text == "{":
            args.append(self.choose_arg())
        self.keyword("}")
        return ChooseArgsDecl(key, args)

    def choose_arg(self) -> ChooseArgDecl:
        start = self.keyword("{")
        self.keyword("bucket_id")
        bucket_id = self.next("a negative bucket id", _NEGINT)
        weight_set: list[tuple[Token, list[Token]]] | None = None
        if self.optional("weight_set"):
            self.keyword("[")
            weight_set = []
            while self.peek().text == "[":
                weight_set.append(self._list(lambda: self.next("a weight", _REAL)))
            self.keyword("]")
        ids = None
        if self.optional("ids"):
            ids = self._list(lambda: self.next("an item id", _INT))
        self.keyword("}")
        return ChooseArgDecl(start, bucket_id, weight_set, ids)

    def _list(self, element: Callable[[], Token]) -> tuple[Token, list[Token]]:
        start = self.keyword("[")
        values: list[Token] = []
        while self.peek().text != "]" and self.peek() is not self.eof:
            values.append(element())
        self.keyword("]")
        return start, values


# -- numbers ------------------------------------------------------------------------------


def _int32(tok: Token, what: str) -> int:
    value = int(tok.text)
    if not INT32_MIN <= value <= INT32_MAX:
        raise tok.error(f"{what} {tok.text} is out of range")
    return value


def _choose_args_key(tok: Token) -> int:
    """A choose_args id: an int32, or a negative one as the decompiler prints it (as uint64).

    Ceph reads it with `(int)strtol(s)`, which maps any other number onto some int32 the
    decompiler then prints differently, so those are refused rather than changed.
    """
    value = int(tok.text)
    if (1 << 64) + INT32_MIN <= value < 1 << 64:
        value -= 1 << 64
    if not INT32_MIN <= value <= INT32_MAX:
        raise tok.error(f"choose_args id {tok.text} is out of range")
    return value


def _strtof(text: str) -> float:
    """The float32 nearest to the decimal `text` (as C's strtof rounds), as a Python float.

    Going through a double first could round twice, so the candidates around the
    double are compared with the exact decimal value.
    """
    decimal = Decimal(text)
    # Out of float32's range either way; spares building huge exact fractions.
    if decimal.adjusted() > 40:
        return float("inf")
    if decimal.adjusted() < -50:
        return 0.0
    exact = Fraction(decimal)
    bits = struct.unpack("<I", struct.pack("<f", float(exact)))[0]
    best = None
    for candidate in (bits - 1, bits, bits + 1):
        if not 0 <= candidate <= U32_MAX:
            continue
        value = struct.unpack("<f", struct.pack("<I", candidate))[0]
        if value != value or value in (float("inf"), float("-inf")):
            continue
        key = (abs(Fraction(value) - exact), candidate & 1)
        if best is None or key < best[0]:
            best = (key, value)
    assert best is not None
    return best[1]


def _weight(tok: Token) -> int:
    """A 16.16 weight as Ceph computes it: `(unsigned)(strtof(s) * (float)0x10000)`.

    Ceph prints weights as signed ints, so one of 2^31 or more would come back as a
    negative number: refused here.
    """
    value = _strtof(tok.text) * WEIGHT_ONE
    if value > INT32_MAX:
        raise tok.error(f"weight {tok.text} is too large")
    weight = int(value)
    if weight < 0:
        raise tok.error(f"weight {tok.text} is negative")
    return weight


# -- semantics ----------------------------------------------------------------------------


def _adjust_bucket_order(decls: list[Decl]) -> None:
    """Reorder buckets the way Ceph's `adjust_bucket_item_place` does, quirks included.

    For each pair (i, j > i) of buckets in original order where bucket i lists bucket j
    as an item, the contents of the two statement slots are swapped; the swap follows the
    slot of each name as first seen, so chains of three or more can stay out of order
    (and then fail with an undefined item, as in Ceph).
    """
    slots = [i for i, d in enumerate(decls) if isinstance(d, BucketDecl)]
    buckets = [d for d in decls if isinstance(d, BucketDecl)]
    names = [b.name.text for b in buckets]
    items = {b.name.text: {item.name.text for item in b.items} for b in buckets}
    slot_of = {name: slots[i] for i, name in enumerate(names)}
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            if second in items[first]:
                if first in items[second]:
                    raise buckets[i].name.error(
                        f"bucket '{first}' and bucket '{second}' contain each other"
                    )
                a, b = slot_of[first], slot_of[second]
                decls[a], decls[b] = decls[b], decls[a]


class _Compiler:
    def __init__(self) -> None:
        self.cmap = CrushMap()
        self.item_ids: dict[str, int] = {}
        self.taken_ids: set[int] = set()
        """Ceph's `id_item` keys: bucket ids not to hand out automatically."""
        self.bucket_weights: dict[int, int] = {}
        self.type_ids: dict[str, int] = {}
        self.rule_names: set[str] = set()
        self.reserved_shadows: dict[int, dict[int, int]] = {}
        self.shadow_lines: dict[int, Token] = {}
        self.classes_error: str | None = None

    def run(self, decls: list[Decl]) -> CrushMap:
        for decl in decls:
            if isinstance(decl, BucketDecl) and decl.ids:
                self.taken_ids.add(_int32(decl.ids[0].id, "bucket id"))
        saw_rule = False
        for decl in decls:
            if isinstance(decl, TunableDecl):
                self.tunable(decl)
            elif isinstance(decl, DeviceDecl):
                self.device(decl)
            elif isinstance(decl, TypeDecl):
                self.type_decl(decl)
            elif isinstance(decl, BucketDecl):
                if saw_rule:
                    raise decl.type_name.error("buckets must be defined before rules")
                self.bucket(decl)
            elif isinstance(decl, RuleDecl):
                if not saw_rule:
                    saw_rule = True
                    self.populate_classes()
                self.rule(decl)
            else:
                self.choose_args(decl)
        self.finalize()
        return self.cmap

    def tunable(self, decl: TunableDecl) -> None:
        name = decl.name.text
        if name not in TUNABLES:
            raise decl.name.error(f"unknown tunable '{name}'")
        value = int(decl.value.text)
        limit = TUNABLE_MAX.get(name, U32_MAX)
        if value > limit:
            raise decl.value.error(f"tunable {name} must be at most {limit}")
        setattr(self.cmap.tunables, name, value)

    def device(self, decl: DeviceDecl) -> None:
        dev_id = _int32(decl.id, "device id")
        name = decl.name.text
        if name in self.item_ids:
            raise decl.name.error(f"item '{name}' defined twice")
        if dev_id in self.cmap.device_names:
            raise decl.id.error(
                f"device id {dev_id} already used by '{self.cmap.device_names[dev_id]}'"
            )
        self.cmap.device_names[dev_id] = name
        self.item_ids[name] = dev_id
        if decl.class_name is not None:
            class_id = classes.get_or_create_class_id(self.cmap, decl.class_name.text)
            self.cmap.device_classes[dev_id] = class_id

    def type_decl(self, decl: TypeDecl) -> None:
        type_id = _int32(decl.id, "type id")
        self.type_ids[decl.name.text] = type_id
        self.cmap.types[type_id] = decl.name.text

    def bucket(self, decl: BucketDecl) -> None:
        cmap = self.cmap
        type_name, name = decl.type_name.text, decl.name.text
        if type_name not in self.type_ids:
            raise decl.type_name.error(f"unknown bucket type '{type_name}'")
        if name in self.item_ids:
            raise decl.name.error(f"bucket or device '{name}' is already defined")
        bucket_id = 0
        shadows: dict[int, tuple[int, Token]] = {}
        for line in decl.ids:
            value = _int32(line.id, "bucket id")
            if line.class_name is None:
                bucket_id = value
                continue
            class_id = classes.get_or_create_class_id(cmap, line.class_name.text)
            if class_id in shadows:
                raise line.class_name.error(
                    f"duplicate device class {line.class_name.text} for bucket {name}"
                )
            shadows[class_id] = (value, line.id)
        alg = ALGS.get(decl.alg.text)
        if alg is None:
            raise decl.alg.error(f"unknown bucket alg '{decl.alg.text}'")
        for tok in decl.hashes:
            if tok.text not in ("0", "rjenkins1"):
                raise tok.error(f"unsupported bucket hash {tok.text} (only 0, rjenkins1)")

        used_pos: set[int] = set()
        for item in decl.items:
            if item.pos is not None:
                pos = int(item.pos.text)
                if pos in used_pos:
                    raise item.pos.error(
                        f"item '{item.name.text}' in bucket '{name}' has explicit pos {pos}, "
                        "which is occupied"
                    )
                used_pos.add(pos)
        size = max(len(decl.items), max(used_pos, default=0))

        placed: dict[int, tuple[int, int]] = {}
        seen: set[int] = set()
        cur = 0
        total = 0
        uniform_weight: int | None = None
        for item in decl.items:
            iname = item.name.text
            if iname not in self.item_ids:
                raise item.name.error(f"unknown item '{iname}' in bucket '{name}'")
            item_id = self.item_ids[iname]
            if item_id in seen:
                raise item.name.error(f"item '{iname}' is listed twice in bucket '{name}'")
            seen.add(item_id)
            weight = self.bucket_weights.get(item_id, WEIGHT_ONE)
            if item.weight is not None:
                weight = _weight(item.weight)
                if item_id >= 0 and weight > MAX_DEVICE_WEIGHT:
                    raise item.weight.error(
                        f"device weight limited to {MAX_DEVICE_WEIGHT // WEIGHT_ONE}"
                    )
                if item_id < 0 and weight > MAX_BUCKET_WEIGHT:
                    raise item.weight.error(
                        f"bucket weight limited to {MAX_BUCKET_WEIGHT // WEIGHT_ONE} "
                        "to prevent overflow"
                    )
            if alg == BucketAlg.UNIFORM:
                if uniform_weight is None:
                    uniform_weight = weight
                elif weight != uniform_weight:
                    raise (item.weight or item.name).error(
                        f"item '{iname}' in uniform bucket '{name}' has weight "
                        f"{weight / WEIGHT_ONE:g} but previous item(s) have weight "
                        f"{uniform_weight / WEIGHT_ONE:g}; uniform bucket items must all "
                        "have identical weights"
                    )
            pos = -1 if item.pos is None else int(item.pos.text)
            if pos >= size:
                assert item.pos is not None
                raise item.pos.error(
                    f"item '{iname}' in bucket '{name}' has pos {pos} >= size {size}"
                )
            if pos < 0:
                while cur in used_pos:
                    cur += 1
                pos = cur
                cur += 1
            placed[pos] = (item_id, weight)
            total += weight
            if total > INT32_MAX:  # printed signed, as the item weight in its parent
                raise item.name.error(f"the weight of bucket '{name}' overflows")

        if bucket_id == 0:
            bucket_id = -1
            while bucket_id in self.taken_ids:
                bucket_id -= 1
        for class_id, (shadow_id, tok) in shadows.items():
            self.reserved_shadows.setdefault(bucket_id, {})[class_id] = shadow_id
            self.shadow_lines[shadow_id] = tok
        self.taken_ids.add(bucket_id)
        self.item_ids[name] = bucket_id
        self.bucket_weights[bucket_id] = total

        try:
            bucket_id = classes.add_bucket_slot(cmap, bucket_id)
        except RadosError:
            first_id = next((line.id for line in decl.ids if line.class_name is None), decl.name)
            raise first_id.error(f"duplicate bucket id {bucket_id}") from None
        bucket = Bucket(
            id=bucket_id,
            name=name,
            type_id=self.type_ids[type_name],
            alg=alg,
            items=[placed[p][0] for p in range(size)],
            item_weights=[placed[p][1] for p in range(size)],
        )
        builder.derive(bucket, cmap.tunables.straw_calc_version)
        cmap.buckets[bucket_id] = bucket

    def populate_classes(self) -> None:
        # Ceph ignores a failure here and keeps the shadow buckets built so far; a rule
        # that then takes a missing shadow fails, and the reason is kept for its error.
        try:
            classes.populate_classes(self.cmap, self.reserved_shadows)
        except RadosError as exc:
            self.classes_error = str(exc)

    def rule(self, decl: RuleDecl) -> None:
        cmap = self.cmap
        rname = decl.name.text if decl.name is not None else ""
        where = f"rule '{rname}'"
        if decl.name is not None and rname in self.rule_names:
            raise decl.name.error(f"rule name '{rname}' already defined")
        rule_id = int(decl.id.text)
        for tok, what in (
            (decl.id, "rule id"),
            (decl.min_size, "min_size"),
            (decl.max_size, "max_size"),
        ):
            if int(tok.text) > U8_MAX:
                raise tok.error(f"{what} {tok.text} is out of range (0-{U8_MAX})")
        if rule_id in cmap.rules:
            raise decl.id.error(f"rule {rule_id} already exists")
        steps: list[RuleStep] = []
        for step in decl.steps:
            kind = step.keyword.text
            if kind == "take":
                steps.append(RuleStep(Op.TAKE, self.take(step, where)))
            elif kind == "emit":
                steps.append(RuleStep(Op.EMIT))
            elif kind in SET_STEPS:
                steps.append(RuleStep(SET_STEPS[kind], _int32(step.args[0], "value")))
            else:
                mode, count, type_tok = step.args
                if type_tok.text not in self.type_ids:
                    raise type_tok.error(f"{where}: unknown type '{type_tok.text}'")
                op = CHOOSE_OPS[(kind, mode.text)]
                steps.append(RuleStep(op, _int32(count, "count"), self.type_ids[type_tok.text]))
        cmap.rules[rule_id] = Rule(
            id=rule_id,
            name=rname,
            type=RULE_TYPES[decl.type.text],
            min_size=int(decl.min_size.text),
            max_size=int(decl.max_size.text),
            steps=steps,
        )
        if decl.name is not None:
            self.rule_names.add(rname)

    def take(self, step: StepDecl, where: str) -> int:
        item_tok = step.args[0]
        if item_tok.text not in self.item_ids:
            raise item_tok.error(f"{where}: unknown item '{item_tok.text}'")
        item_id = self.item_ids[item_tok.text]
        if len(step.args) == 1:
            return item_id
        class_tok = step.args[1]
        try:
            class_id = self.cmap.class_id(class_tok.text)
        except KeyError:
            raise class_tok.error(f"{where}: unknown device class '{class_tok.text}'") from None
        shadow = self.cmap.class_buckets.get(item_id, {}).get(class_id)
        if shadow is None:
            reason = f"{where}: step take {item_tok.text} has no bucket for class {class_tok.text}"
            if self.classes_error is not None:
                reason += f" ({self.classes_error})"
            raise class_tok.error(reason)
        return shadow

    def choose_args(self, decl: ChooseArgsDecl) -> None:
        cmap = self.cmap
        key = _choose_args_key(decl.key)
        if key in cmap.choose_args:
            raise decl.key.error(f"choose_args {decl.key.text} duplicated")
        args: dict[int, ChooseArg] = {}
        for arg in decl.args:
            bucket_id = _int32(arg.bucket_id, "bucket_id")
            if not 0 <= -1 - bucket_id < cmap.max_buckets:
                raise arg.bucket_id.error(f"bucket_id {bucket_id} is out of range")
            bucket = cmap.buckets.get(bucket_id)
            if bucket is None:
                raise arg.bucket_id.error(f"bucket {bucket_id} does not exist")
            entry = args.setdefault(bucket_id, ChooseArg(bucket_id=bucket_id))
            if arg.weight_set is not None:
                entry.weight_set = []
                for start, weights in arg.weight_set:
                    self._check_size(start, bucket, len(weights), "weights")
                    entry.weight_set.append([_weight(w) for w in weights])
            if arg.ids is not None:
                start, ids = arg.ids
                self._check_size(start, bucket, len(ids), "ids")
                entry.ids = [_int32(i, "item id") for i in ids] or None
        cmap.choose_args[key] = {
            bucket_id: arg for bucket_id, arg in args.items() if arg.weight_set or arg.ids
        }

    @staticmethod
    def _check_size(start: Token, bucket: Bucket, count: int, what: str) -> None:
        if count != bucket.size:
            raise start.error(
                f"bucket {bucket.id} needs exactly {bucket.size} {what} but got {count}"
            )

    def finalize(self) -> None:
        """max_devices as `CrushWrapper::finalize` sets it: past every device in use or named."""
        cmap = self.cmap
        used = [item for b in cmap.buckets.values() for item in b.items if item >= 0]
        cmap.max_devices = max([*used, *cmap.device_names], default=-1) + 1


def compile(text: str) -> CrushMap:
    """Compile crushmap text (Ceph's format) into a map, as `crushtool -c` does.

    Raises CrushSyntaxError, naming the line and column, for anything Ceph would reject
    (and for the few silent oddities listed in the module docstring).
    """
    decls = _Parser(tokenize(text), text).parse()
    _adjust_bucket_order(decls)
    return _Compiler().run(decls)
