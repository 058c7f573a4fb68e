"""`radospy ceph-authtool`: create, list and edit keyrings as Ceph's ceph-authtool does.

Messages, their streams and exit codes follow Ceph's `ceph_authtool.cc` (Pacific):
`creating FILE`, `importing contents of A into B`, `added entity NAME auth(key=...)`,
`can't open FILE: ...`, `error reading file FILE`, usage on stdout with exit 1.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from radospy.auth.crypto import CryptoKey
from radospy.auth.keyring import EntityName, Keyring
from radospy.cli._cephargs import ArgError, ArgWalker
from radospy.common.errors import InvalidArgument

PROG = "ceph-authtool"
USAGE = """usage: ceph-authtool keyringfile [OPTIONS]...
where the options are:
  -l, --list                    will list all keys and capabilities present in
                                the keyring
  -p, --print-key               will print an encoded key for the specified
                                entityname. This is suitable for the
                                'mount -o secret=..' argument
  -C, --create-keyring          will create a new keyring, overwriting any
                                existing keyringfile
  -g, --gen-key                 will generate a new secret key for the
                                specified entityname
  --gen-print-key               will generate a new secret key without set it
                                to the keyringfile, prints the secret to stdout
  --import-keyring FILE         will import the content of a given keyring
                                into the keyringfile
  -n NAME, --name NAME          specify entityname to operate on
  -a BASE64, --add-key BASE64   will add an encoded key to the keyring
  --cap SUBSYSTEM CAPABILITY    will set the capability for given subsystem
  --caps CAPSFILE               will set all of capabilities associated with a
                                given key, for all subsystems
  --mode MODE                   will set the desired file mode to the keyring
                                e.g: '0644', defaults to '0600'"""

_CAPS_FILE_SERVICES = ("mon", "osd", "mds", "mgr")


class _Exit(Exception):
    """Stop with `code` after printing `message` to stderr (and usage when asked)."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass
class _Options:
    filename: str = ""
    name: str = "client.admin"
    gen_key: bool = False
    gen_print_key: bool = False
    add_key: str | None = None
    list: bool = False
    print_key: bool = False
    create: bool = False
    import_keyring: str = ""
    caps_file: str = ""
    caps: dict[str, str] = field(default_factory=dict)
    mode: int = 0o600

    def has_command(self) -> bool:
        return bool(
            self.gen_key
            or self.gen_print_key
            or self.add_key is not None
            or self.list
            or self.caps_file
            or self.caps
            or self.print_key
            or self.create
            or self.import_keyring
        )


def _parse_args(argv: list[str]) -> _Options:
    opts = _Options()
    walker = ArgWalker(argv)
    while walker.more():
        if walker.double_dash():
            break
        _parse_one(walker, opts)
    return opts


def _parse_one(w: ArgWalker, opts: _Options) -> None:
    if w.flag("-g", "--gen-key"):
        opts.gen_key = True
    elif w.flag("--gen-print-key"):
        opts.gen_print_key = True
    elif (key := w.witharg("-a", "--add-key")) is not None:
        if not key:
            raise _Exit("Option --add-key requires an argument")
        opts.add_key = key
    elif w.flag("-l", "--list"):
        opts.list = True
    elif (caps_file := w.witharg("--caps")) is not None:
        opts.caps_file = caps_file
    elif (service := w.witharg("--cap")) is not None:
        value = w.take()
        if value is None:
            raise _Exit("must give two arguments to --cap: key and val.")
        opts.caps[service] = value
    elif w.flag("-p", "--print-key"):
        opts.print_key = True
    elif w.flag("-C", "--create-keyring"):
        opts.create = True
    elif (other := w.witharg("--import-keyring")) is not None:
        opts.import_keyring = other
    elif (mode := w.witharg("--mode")) is not None:
        try:
            opts.mode = int(mode, 8)
        except ValueError as e:
            raise _Exit("Option --mode requires an argument") from e
    elif (name := w.witharg("-n", "--name")) is not None:
        opts.name = name
    elif (ident := w.witharg("-i", "--id")) is not None:
        opts.name = f"client.{ident}"
    elif not opts.filename:
        opts.filename = w.take() or ""
    else:
        raise _Exit(f"{PROG}: unexpected '{w.args[w.pos]}'", usage=True)


def _check(opts: _Options) -> None:
    if not opts.filename and not opts.gen_print_key:
        raise _Exit(f"{PROG}: must specify filename", usage=True)
    if not opts.has_command():
        raise _Exit("no command specified", usage=True)
    if opts.gen_key and opts.add_key is not None:
        raise _Exit("can't both gen-key and add-key", usage=True)
    if opts.create and not opts.gen_key and opts.add_key is None and opts.caps:
        raise _Exit("must specify either gen-key or add-key when creating", usage=True)


def _read_keyring(path: str) -> Keyring:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        reason = f"({e.errno}) {e.strerror}"
        raise _Exit(f"can't open {path}: can't open {path}: {reason}") from e
    except UnicodeDecodeError as e:
        raise _Exit(f"error reading file {path}") from e
    try:
        return Keyring.parse(text)
    except InvalidArgument as e:
        raise _Exit(f"error reading file {path}") from e


def _read_caps_file(path: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as f:
            global_section = Keyring.parse_sections(f.read()).get("global", {})
    except OSError as e:
        # Ceph's ConfFile prints the filesystem error just before its own message.
        warning = f"parse_file: filesystem error: cannot get file size: {e.strerror} [{path}]"
        raise _Exit(f"{warning}could not parse caps file {path}") from e
    except (UnicodeDecodeError, InvalidArgument) as e:
        raise _Exit(f"could not parse caps file {path}") from e
    return {svc: global_section[svc] for svc in _CAPS_FILE_SERVICES if svc in global_section}


def _write_keyring(path: str, keyring: Keyring, mode: int) -> None:
    data = keyring.to_text().encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except OSError as e:
        raise _Exit(f"could not write {path}") from e


def _run(opts: _Options) -> int:
    try:
        name = EntityName.parse(opts.name)
    except InvalidArgument as e:
        raise _Exit(str(e)) from e
    if opts.gen_print_key:
        print(CryptoKey.generate(time.time()))
        return 0
    modified = opts.create
    if opts.create:
        print(f"creating {opts.filename}")
        keyring = Keyring()
    else:
        keyring = _read_keyring(opts.filename)
    if not opts.gen_key and opts.add_key is None and opts.caps:
        auth = keyring.get(name)
        if auth is None:
            raise _Exit(
                f"can't find existing key for {name} and neither gen-key nor add-key specified"
            )
    if opts.import_keyring:
        other = _read_keyring(opts.import_keyring)
        print(f"importing contents of {opts.import_keyring} into {opts.filename}")
        keyring.import_keyring(other)
        modified = True
    modified |= _apply_edits(opts, name, keyring)
    if opts.list:
        print(keyring.to_text(), end="")
    if opts.print_key:
        auth = keyring.get(name)
        if auth is None:
            raise _Exit(f"entity {name} not found")
        print(auth.key)
    if modified:
        _write_keyring(opts.filename, keyring, opts.mode)
    return 0


def _apply_edits(opts: _Options, name: EntityName, keyring: Keyring) -> bool:
    if opts.gen_key:
        keyring.add(name, CryptoKey.generate(time.time()))
    if opts.add_key is not None:
        try:
            key = CryptoKey.from_base64(opts.add_key)
        except InvalidArgument as e:
            raise _Exit(f"can't decode key '{opts.add_key}'") from e
        keyring.add(name, key)
        print(f"added entity {name} auth(key={key})")
    if opts.caps_file:
        keyring.set_caps(name, _read_caps_file(opts.caps_file))
    if opts.caps:
        keyring.set_caps(name, opts.caps)
        if opts.add_key is not None:
            print(f"added {len(opts.caps)} caps to entity {name}")
    return bool(opts.gen_key or opts.add_key is not None or opts.caps_file or opts.caps)


def main(argv: Sequence[str]) -> int:
    """Run ceph-authtool with `argv` (without the program name); returns the exit code."""
    args = list(argv)
    if not args:
        print(f"{PROG}: -h or --help for usage", file=sys.stderr)
        return 1
    if any(a in ("-h", "--help") for a in args):
        print(USAGE)
        return 1
    try:
        opts = _parse_args(args)
        _check(opts)
        return _run(opts)
    except ArgError as e:
        print(e, file=sys.stderr)
        return 1
    except _Exit as e:
        print(e, file=sys.stderr)
        if e.usage:
            print(USAGE)
        return 1
