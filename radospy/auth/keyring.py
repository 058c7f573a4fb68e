"""Keyrings in Ceph's INI format, read and written exactly as Ceph does.

Ceph writes a keyring as (entities in `EntityName` order, caps sorted by service):

    [client.admin]
    \tkey = AQ...==
    \tcaps mon = "allow *"

and reads it with its config-file grammar (`ConfUtils.cc`): `#`/`;` comments, `\\`
escapes and line continuations, single or double quoted values, whitespace in key
names folded to `_`, the last of duplicate keys winning, `[global]` ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from radospy.auth.crypto import CryptoKey
from radospy.common.errors import InvalidArgument

# Ceph's CEPH_ENTITY_TYPE_* values: they order a keyring's sections.
ENTITY_TYPE_IDS: dict[str, int] = {
    "mon": 0x01,
    "mds": 0x02,
    "osd": 0x04,
    "client": 0x08,
    "mgr": 0x10,
    "auth": 0x20,
}
_VALID_TYPES = "auth, mon, osd, mds, mgr, client"


@dataclass(frozen=True)
class EntityName:
    """`TYPE.ID`, e.g. `client.admin`, `osd.3`, `mon.` (the shared mon key)."""

    type: str
    id: str

    @classmethod
    def parse(cls, text: str) -> EntityName:
        etype, dot, ident = text.partition(".")
        if not dot or etype not in ENTITY_TYPE_IDS:
            raise InvalidArgument(
                f"error parsing '{text}': expected string of the form TYPE.ID, "
                f"valid types are: {_VALID_TYPES}"
            )
        return cls(etype, ident)

    def sort_key(self) -> tuple[int, str]:
        return ENTITY_TYPE_IDS[self.type], self.id

    def __str__(self) -> str:
        return f"{self.type}.{self.id}"


@dataclass
class EntityAuth:
    """What the auth database knows of one entity: its secret and caps per service."""

    key: CryptoKey
    caps: dict[str, str] = field(default_factory=dict)


@dataclass
class Keyring:
    """Entities with their keys and caps; `to_text()` is what ceph-authtool writes."""

    entities: dict[EntityName, EntityAuth] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """Read a keyring as Ceph does; InvalidArgument says why Ceph would refuse it."""
        keyring = cls()
        for heading, lines in _ConfParser(text).parse().items():
            if heading != "global":
                keyring._apply_section(heading, lines)
        return keyring

    @staticmethod
    def parse_sections(text: str) -> dict[str, dict[str, str]]:
        """The raw `[section] key = value` map of Ceph's config grammar (caps files)."""
        return _ConfParser(text).parse()

    def _apply_section(self, heading: str, lines: dict[str, str]) -> None:
        try:
            name = EntityName.parse(heading)
        except InvalidArgument as e:
            raise InvalidArgument(f"bad entity name in keyring: {heading}") from e
        caps: dict[str, str] = {}
        for conf_key in sorted(lines):
            if conf_key:
                self._set_modifier(name, conf_key.replace("_", " "), lines[conf_key], caps)

    def _set_modifier(self, name: EntityName, kind: str, value: str, caps: dict[str, str]) -> None:
        if kind == "key":
            try:
                self._entry(name).key = CryptoKey.from_base64(value)
            except InvalidArgument as e:
                raise self._bad_modifier(name, kind, value) from e
        elif kind.startswith("caps ") and len(kind) > 5:
            caps[kind[5:]] = value
            self._entry(name).caps = dict(caps)
        elif kind != "auid":
            raise self._bad_modifier(name, kind, value)

    @staticmethod
    def _bad_modifier(name: EntityName, kind: str, value: str) -> InvalidArgument:
        return InvalidArgument(f"error setting modifier for [{name}] type={kind} val={value}")

    def _entry(self, name: EntityName) -> EntityAuth:
        return self.entities.setdefault(name, EntityAuth(CryptoKey.empty()))

    def to_text(self) -> str:
        """The keyring as Ceph prints it (`KeyRing::print`)."""
        out = []
        for name, auth in self.items():
            out.append(f"[{name}]\n\tkey = {auth.key}\n")
            out += [f'\tcaps {svc} = "{_quote(c)}"\n' for svc, c in sorted(auth.caps.items())]
        return "".join(out)

    def items(self) -> Iterator[tuple[EntityName, EntityAuth]]:
        """Entities in Ceph's order: by entity type code, then id."""
        for name in sorted(self.entities, key=EntityName.sort_key):
            yield name, self.entities[name]

    def get(self, name: EntityName) -> EntityAuth | None:
        return self.entities.get(name)

    def add(self, name: EntityName, key: CryptoKey) -> None:
        """Set a key, dropping earlier caps as `ceph-authtool --gen-key/--add-key` does."""
        self.entities[name] = EntityAuth(key)

    def set_caps(self, name: EntityName, caps: dict[str, str]) -> None:
        """Replace all caps of `name` (creating it with an empty key if needed)."""
        self._entry(name).caps = dict(caps)

    def import_keyring(self, other: Keyring) -> None:
        """Copy every entity of `other` over ours, as `--import-keyring` does."""
        for name, auth in other.entities.items():
            self.entities[name] = EntityAuth(auth.key, dict(auth.caps))


def _quote(value: str) -> str:
    return value.replace('"', '\\"')


_BLANKS = " \t"
_COMMENT = "#;"


class _ConfParser:
    """Ceph's config-file grammar (`IniGrammer` in ConfUtils.cc), as a scanner.

    Comments and `\\`-newline continuations are skipped before every token outside
    quotes, as Spirit's skipper does; a malformed file raises InvalidArgument.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> dict[str, dict[str, str]]:
        sections: dict[str, dict[str, str]] = {}
        start = self.pos
        if self._key_val() is not None:
            self._expect_end()
            return sections
        self.pos = start
        while self._eol():
            pass
        while (heading := self._heading()) is not None:
            lines = sections.setdefault(heading, {})
            while (line := self._key_val()) is not None:
                lines[line[0]] = line[1]
            while self._eol():
                pass
        self._expect_end()
        return sections

    def _error(self, what: str) -> InvalidArgument:
        line = self.text.count("\n", 0, self.pos) + 1
        return InvalidArgument(f"parse error: expected {what} in line {line}")

    def _expect_end(self) -> None:
        self._skip()
        if self.pos != len(self.text):
            raise self._error("end of input")

    def _peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def _skip(self) -> None:
        while self._skip_continuation() or self._skip_comment():
            pass

    def _skip_continuation(self) -> bool:
        if self._peek() != "\\":
            return False
        end = self._eol_end(self.pos + 1)
        if end is None:
            return False
        self.pos = end
        return True

    def _skip_comment(self) -> bool:
        p = self.pos
        while self.text[p : p + 1] in tuple(_BLANKS):
            p += 1
        if self.text[p : p + 1] not in tuple(_COMMENT):
            return False
        while p < len(self.text) and self._eol_end(p) is None:
            p += 1
        self.pos = p
        return True

    def _eol_end(self, p: int) -> int | None:
        if self.text.startswith("\r\n", p):
            return p + 2
        if self.text[p : p + 1] in ("\n", "\r"):
            return p + 1
        return None

    def _eol(self) -> bool:
        self._skip()
        end = self._eol_end(self.pos)
        if end is None:
            return False
        self.pos = end
        return True

    def _blanks(self) -> None:
        while self._peek() in tuple(_BLANKS):
            self.pos += 1

    def _empty_lines(self) -> bool:
        """`+empty_line`: at least one (blank or comment) line end."""
        count = 0
        while True:
            mark = self.pos
            self._skip()
            self._blanks()
            if not self._eol():
                self.pos = mark
                return count > 0
            count += 1

    def _text_char(self, stop: str, *, skip: bool = True) -> str | None:
        """One character of text (a `\\x` escape gives `x`), or None at `stop`/eol."""
        if skip:
            self._skip()
        c = self._peek()
        if c == "\\" and self._eol_end(self.pos + 1) is None and self.pos + 1 < len(self.text):
            self.pos += 2
            return self.text[self.pos - 1]
        if not c or c in stop or c in _COMMENT or self._eol_end(self.pos) is not None:
            return None
        self.pos += 1
        return c

    def _heading(self) -> str | None:
        self._skip()
        if self._peek() != "[":
            return None
        self.pos += 1
        name = self._chars("]")
        if not name:
            raise self._error("section name")
        if self._peek() != "]":
            raise self._error("']'")
        self.pos += 1
        if not self._empty_lines():
            raise self._error("end of line")
        return name

    def _chars(self, stop: str, *, skip: bool = True) -> str:
        out = []
        while (c := self._text_char(stop, skip=skip)) is not None:
            out.append(c)
        return "".join(out)

    def _key_val(self) -> tuple[str, str] | None:
        mark = self.pos
        self._skip()
        self._blanks()
        key = self._key()
        self._blanks()
        self._skip()
        if not key or self._peek() != "=":
            self.pos = mark
            return None
        self.pos += 1
        self._blanks()
        value = self._value()
        if not self._empty_lines():
            raise self._error("end of line")
        return _normalize_key(key), value.strip()

    def _key(self) -> str:
        """Words of key characters separated by blanks, as written (raw)."""
        start = self.pos
        if not self._chars("=[ "):
            return ""
        while True:
            mark = self.pos
            self._blanks()
            if self.pos == mark or not self._chars("=[ "):
                self.pos = mark
                return self.text[start : self.pos]

    def _value(self) -> str:
        self._skip()
        quote = self._peek()
        if quote not in ("'", '"'):
            return self._chars("")
        self.pos += 1
        value = self._chars(quote, skip=False)
        if self._peek() != quote:
            raise self._error(f"'{quote}'")
        self.pos += 1
        return value


def _normalize_key(key: str) -> str:
    """Ceph's `normalize_key_name`: trim, then each whitespace run becomes `_`."""
    return "_".join(key.split())
