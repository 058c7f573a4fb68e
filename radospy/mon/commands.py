"""The monitor command table and its two entry points.

`COMMANDS` is the one table (Ceph's `MonCommands.h`): signature, help, service module,
permission and handlers of every command, gathered from the per-service modules.

* `parse_argv(words)` turns CLI words into the JSON command dict Ceph's CLI sends
  (`["osd", "pool", "create", "p", "8"]` -> `{"prefix": "osd pool create", "pool": "p",
  "pg_num": 8}`), with ceph_argparse's matching rules and messages.
* `handle_command(state, cmd, ctx, inbuf=b"")` validates a command dict against the
  table, checks the caller's caps (EACCES "access denied"), and either answers a
  read-only command from `state` or returns a `Propose` whose entry every monitor will
  apply. A proposing command is dry-run on a scratch copy first, so an entry that
  reaches Raft has been validated, and a refused or no-op command proposes nothing.
"""

from __future__ import annotations

import errno
import re
from typing import Any

import msgpack

from radospy.common.errors import InvalidArgument, RadosError
from radospy.mon import (
    auth_commands,
    config_commands,
    crush_commands,
    df_commands,
    failure_commands,
    osd_commands,
    pg_commands,
    pool_commands,
    replace_commands,
    scrub_commands,
    status_commands,
)
from radospy.mon.cmdspec import (
    Arg,
    ArgError,
    Command,
    CommandContext,
    CommandResult,
    Propose,
    error_result,
    fmt_of,
)
from radospy.mon.state import MonState

__all__ = [
    "COMMANDS",
    "COMMANDS_BY_NAME",
    "CommandContext",
    "CommandResult",
    "Propose",
    "handle_command",
    "parse_argv",
]

COMMANDS: tuple[Command, ...] = (
    *status_commands.COMMANDS,
    *osd_commands.COMMANDS,
    *replace_commands.COMMANDS,
    *df_commands.COMMANDS,
    *pg_commands.COMMANDS,
    *failure_commands.COMMANDS,
    *crush_commands.COMMANDS,
    *pool_commands.COMMANDS,
    *auth_commands.COMMANDS,
    *config_commands.COMMANDS,
    *scrub_commands.COMMANDS,
)

COMMANDS_BY_NAME: dict[str, Command] = {c.name: c for c in COMMANDS}

_GLOBAL_OPTIONS = {"-f": "format", "--format": "format"}
_KWARG_EQUALS = re.compile(r"^--([^=]+)=(.*)$")
_KWARG_SPACE = re.compile(r"^--(\S+)$")
_CONFIRM_FLAGS = (
    "--yes-i-really-mean-it",
    "--yes-i-really-really-mean-it",
    "--yes-i-really-really-mean-it-not-faking",
    "--force",
)


# -- CLI words -> command dict ----------------------------------------------------------------


def parse_argv(words: list[str]) -> dict[str, Any]:
    """CLI words to a command dict; InvalidArgument with Ceph's "Invalid command: ..."."""
    words, fmt = _strip_format(words)
    if words in (["-s"], ["--status"]):
        words = ["status"]
    candidates = [c for c in COMMANDS if list(c.prefix) == words[: len(c.prefix)]]
    if not candidates:
        raise InvalidArgument("no valid command found")
    candidates.sort(key=lambda c: len(c.prefix), reverse=True)
    best_error: InvalidArgument | None = None
    for command in candidates:
        try:
            cmd = _bind(command, words[len(command.prefix) :])
        except ArgError as e:
            if best_error is None:
                best_error = InvalidArgument(f"Invalid command: {e}\n{command.usage()}")
            continue
        if fmt is not None:
            cmd["format"] = fmt
        return cmd
    assert best_error is not None
    raise best_error


def _strip_format(words: list[str]) -> tuple[list[str], str | None]:
    out: list[str] = []
    fmt = None
    i = 0
    while i < len(words):
        word = words[i]
        if word in _GLOBAL_OPTIONS and i + 1 < len(words):
            fmt = words[i + 1]
            i += 2
            continue
        if word.startswith("--format="):
            fmt = word.split("=", 1)[1]
        else:
            out.append(word)
        i += 1
    if fmt is not None and fmt not in ("plain", "json", "json-pretty"):
        raise InvalidArgument(f"unrecognized format '{fmt}'")
    return out, fmt


def _bind(command: Command, words: list[str]) -> dict[str, Any]:
    """ceph_argparse's `validate`: positional and `--key[=value]` words onto descriptors;
    an optional descriptor a word does not fit is skipped and the word tried on the next."""
    remaining = list(words)
    cmd: dict[str, Any] = {"prefix": command.name}
    by_name = {a.name: a for a in command.args}
    for arg in command.args:
        seen = 0
        while arg.many or seen < 1:
            if not remaining:
                if arg.req and seen == 0 and arg.name not in cmd:
                    raise ArgError(f"missing required parameter {arg.name}({arg.usage()})")
                break
            word = remaining.pop(0)
            keyword = _keyword(word, remaining, by_name)
            if keyword is not None:
                target, value = keyword
                _store(cmd, target, target.parse_word(value))
                continue
            if word.startswith("--") and arg.type != "CephChoices" and word not in _CONFIRM_FLAGS:
                raise ArgError(f"Unexpected argument '{word}'")
            try:
                value = arg.parse_word(word)
            except ArgError:
                if arg.req and seen == 0:
                    raise
                remaining.insert(0, word)
                break
            _store(cmd, arg, value)
            seen += 1
    if remaining:
        raise ArgError(f"unused arguments: {remaining}")
    return cmd


def _keyword(word: str, remaining: list[str], by_name: dict[str, Arg]) -> tuple[Arg, str] | None:
    match = _KWARG_EQUALS.match(word)
    if match:
        arg = by_name.get(match.group(1).replace("-", "_"))
        return (arg, match.group(2)) if arg else None
    match = _KWARG_SPACE.match(word)
    if not match:
        return None
    arg = by_name.get(match.group(1).replace("-", "_"))
    if arg is None:
        return None
    if arg.type == "CephBool":
        return arg, "true"
    if remaining:
        return arg, remaining.pop(0)
    return None


def _store(cmd: dict[str, Any], arg: Arg, value: Any) -> None:
    if arg.many:
        cmd.setdefault(arg.name, []).append(value)
    else:
        cmd[arg.name] = value


# -- command dict -> result or proposal -------------------------------------------------------


def handle_command(
    state: MonState, cmd: dict[str, Any], ctx: CommandContext, inbuf: bytes = b""
) -> CommandResult | Propose:
    """Validate `cmd`, check caps, then answer it or return the change to propose."""
    try:
        command, args = _validate(cmd)
        _check_caps(command, args, ctx)
        if command.read is not None:
            return command.read(state, args, ctx, inbuf)
        return _propose(state, command, args, ctx, inbuf)
    except RadosError as e:
        return error_result(e)


def _validate(cmd: dict[str, Any]) -> tuple[Command, dict[str, Any]]:
    prefix = cmd.get("prefix")
    command = COMMANDS_BY_NAME.get(prefix) if isinstance(prefix, str) else None
    if command is None:
        raise InvalidArgument("command not known")
    args: dict[str, Any] = {"prefix": command.name, "format": fmt_of(cmd)}
    for arg in command.args:
        if arg.name not in cmd or cmd[arg.name] is None:
            if arg.req:
                raise InvalidArgument(f"missing required parameter {arg.name}")
            continue
        value = cmd[arg.name]
        if arg.many:
            values = value if isinstance(value, list) else [value]
            if not values:
                raise InvalidArgument(f"missing required parameter {arg.name}")
            args[arg.name] = [arg.check_value(v) for v in values]
        else:
            args[arg.name] = arg.check_value(value)
    return command, args


def _check_caps(command: Command, args: dict[str, Any], ctx: CommandContext) -> None:
    string_args = {
        k: " ".join(map(str, v)) if isinstance(v, list) else str(v)
        for k, v in args.items()
        if k not in ("prefix", "format")
    }
    allowed = ctx.caps.is_capable(
        ctx.entity,
        command.module,
        command.name,
        string_args,
        read="r" in command.perm,
        write="w" in command.perm,
        execute="x" in command.perm,
    )
    if not allowed:
        raise RadosError("access denied", errno.EACCES)


def _propose(
    state: MonState, command: Command, args: dict[str, Any], ctx: CommandContext, inbuf: bytes
) -> CommandResult | Propose:
    assert command.apply is not None
    prepared = command.prepare(state, dict(args), ctx, inbuf)
    prepared["_epoch"] = state.osdmap.epoch + 1
    after = state.scratch()
    outcome = command.apply(after, prepared, ctx.now)
    if outcome.result.rc != 0 or not outcome.changed:
        return outcome.result
    entry = msgpack.packb(
        {"prefix": command.name, "cmd": prepared, "stamp": ctx.now}, use_bin_type=True
    )
    return Propose(entry=bytes(entry), prefix=command.name, after=after)
