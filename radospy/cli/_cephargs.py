"""Ceph's `ceph_argparse` command-line conventions, shared by crushtool and osdmaptool.

Ceph tools walk argv left to right, consuming the options they recognise and leaving
everything else in place; the leftovers are then either positional arguments or an
error. Option names compare with `-` and `_` treated alike (`--num-rep` is
`--num_rep`), and an option taking a value accepts both `--opt value` and
`--opt=value`. This module reproduces that walk and its messages exactly.
"""

from __future__ import annotations

import re

_INT_RE = re.compile(r"-?[0-9]+")
_INT_MIN = -(2**31)
_INT_MAX = 2**31 - 1


class ArgError(Exception):
    """A malformed option; `str()` is the exact message the Ceph tool prints."""


def _normalize(arg: str) -> str:
    """`dashes_to_underscores`: dashes after the leading ones, up to '=', become '_'."""
    lead = len(arg) - len(arg.lstrip("-"))
    head, eq, tail = arg[lead:].partition("=")
    return arg[:lead] + head.replace("-", "_") + eq + tail


def parse_int(text: str) -> int:
    """An `int` option value as `ceph_argparse_witharg<int>` accepts it."""
    if not _INT_RE.fullmatch(text):
        raise ArgError(f"The option value '{text}' is invalid")
    value = int(text)
    if not _INT_MIN <= value <= _INT_MAX:
        raise ArgError(f"The option value '{text}' seems to be invalid")
    return value


def atof(text: str) -> float:
    """C's `atof`: the longest leading decimal number, 0.0 when there is none."""
    match = re.match(r"\s*([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)", text)
    return float(match.group(1)) if match else 0.0


def atoi(text: str) -> int:
    """C's `atoi`: the longest leading integer, 0 when there is none."""
    match = re.match(r"\s*([-+]?[0-9]+)", text)
    return int(match.group(1)) if match else 0


class ArgWalker:
    """A cursor over argv that consumes recognised options in place."""

    def __init__(self, argv: list[str]) -> None:
        self.args = list(argv)
        self.pos = 0

    def more(self) -> bool:
        return self.pos < len(self.args)

    def double_dash(self) -> bool:
        """`--` ends option parsing; it is consumed, what follows stays."""
        if self.args[self.pos] == "--":
            del self.args[self.pos]
            return True
        return False

    def flag(self, *names: str) -> bool:
        """Consume the current argument if it is one of the flag `names`."""
        current = _normalize(self.args[self.pos])
        if any(current == _normalize(name) for name in names):
            del self.args[self.pos]
            return True
        return False

    def witharg(self, *names: str) -> str | None:
        """Consume `--opt value` or `--opt=value`; None if the current argument is not one."""
        raw = self.args[self.pos]
        current = _normalize(raw)
        for name in names:
            wanted = _normalize(name)
            if current == wanted:
                if self.pos + 1 >= len(self.args):
                    del self.args[self.pos]
                    raise ArgError(f"Option {raw} requires an argument.")
                value = self.args[self.pos + 1]
                del self.args[self.pos : self.pos + 2]
                return value
            if current.startswith(wanted + "="):
                del self.args[self.pos]
                return raw[len(wanted) + 1 :]
        return None

    def withint(self, *names: str) -> int | None:
        """`witharg` whose value must be a 32-bit decimal integer."""
        try:
            value = self.witharg(*names)
        except ArgError as e:
            # the int variant's message reaches the user with one more newline
            raise ArgError(f"{e}\n") from e
        return None if value is None else parse_int(value)

    def take(self) -> str | None:
        """Consume and return the argument at the cursor (an option's extra operand)."""
        if not self.more():
            return None
        return self.args.pop(self.pos)

    def skip(self) -> None:
        """Leave the current argument in place (unrecognised) and move past it."""
        self.pos += 1


def format_list(items: list[str] | list[int]) -> str:
    """A vector as Ceph's `operator<<` prints it: `[a,b,c]`."""
    return "[" + ",".join(str(i) for i in items) + "]"
