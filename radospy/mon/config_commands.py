"""`ceph config set|get|rm|dump` on the central config (ConfigMonitor.cc wording)."""

from __future__ import annotations

from typing import Any

from radospy.common.errors import InvalidArgument, NotFound
from radospy.crush.treedump import Align, Column, TextTable
from radospy.mon import options
from radospy.mon.cmdspec import (
    Command,
    CommandContext,
    CommandResult,
    Outcome,
    done,
    dump_json,
    reply,
    unchanged,
)
from radospy.mon.state import MonState

_HEADINGS = ("WHO", "MASK", "LEVEL", "OPTION", "VALUE", "RO")


def _check_who(who: str) -> None:
    if not options.valid_who(who):
        raise InvalidArgument(f"unrecognized config target '{who}'")


def apply_config_set(state: MonState, cmd: dict, stamp: float) -> Outcome:
    who, name, value = cmd["who"], cmd["name"], cmd["value"]
    _check_who(who)
    option = options.OPTIONS.get(name)
    if option is None and not cmd.get("force"):
        raise InvalidArgument(f"unrecognized config option '{name}'")
    stored = option.normalize(value) if option else value
    if state.config.get(who, {}).get(name) == stored:
        return unchanged()
    state.config.setdefault(who, {})[name] = stored
    return done()


def apply_config_rm(state: MonState, cmd: dict, stamp: float) -> Outcome:
    who, name = cmd["who"], cmd["name"]
    section = state.config.get(who, {})
    if name not in section:
        return unchanged()
    del section[name]
    if not section:
        del state.config[who]
    return done()


def _section_order(who: str) -> tuple[int, str]:
    depth = 0 if who == "global" else 1 if "." not in who else 2
    return depth, who


def _rows(config: dict[str, dict[str, str]], sections: list[str]) -> list[dict[str, Any]]:
    rows = []
    for who in sorted(sections, key=_section_order):
        for name, value in sorted(config.get(who, {}).items()):
            option = options.OPTIONS.get(name)
            rows.append(
                {
                    "section": who,
                    "name": name,
                    "value": value,
                    "level": option.level if option else "unknown",
                    "can_update_at_runtime": option.runtime if option else True,
                    "mask": "",
                }
            )
    return rows


def _table(rows: list[dict[str, Any]], indent_sections: bool) -> str:
    """The WHO/MASK/LEVEL/OPTION/VALUE/RO table; `config dump` indents sections by depth."""
    table = TextTable([Column(h, Align.LEFT, Align.LEFT) for h in _HEADINGS])
    for row in rows:
        indent = "  " * _section_order(row["section"])[0] if indent_sections else ""
        table.add_row(
            [
                indent + row["section"],
                row["mask"],
                row["level"],
                row["name"],
                row["value"],
                "" if row["can_update_at_runtime"] else "*",
            ]
        )
    return table.render()


def config_dump(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    rows = _rows(state.config, list(state.config))
    if cmd["format"] != "plain":
        return reply(outbuf=dump_json(rows, cmd["format"]))
    return reply(outbuf=_table(rows, indent_sections=True))


def config_get(state: MonState, cmd: dict, ctx: CommandContext, inbuf: bytes) -> CommandResult:
    who = cmd["who"]
    _check_who(who)
    key = cmd.get("key")
    if key is None:
        sections = [s for s in options.sections_for(who) if s in state.config]
        rows = _rows(state.config, sections)
        if cmd["format"] != "plain":
            body = {r["name"]: {k: v for k, v in r.items() if k != "name"} for r in rows}
            return reply(outbuf=dump_json(body, cmd["format"]))
        return reply(outbuf=_table(rows, indent_sections=False))
    known = key in options.OPTIONS or any(key in s for s in state.config.values())
    if not known:
        raise NotFound(f"unrecognized key '{key}'")
    value = options.resolve(state.config, who, key)
    if cmd["format"] != "plain":
        return reply(outbuf=dump_json(value, cmd["format"]))
    return reply(outbuf=value + "\n")


COMMANDS: tuple[Command, ...] = (
    Command(
        "config set name=who,type=CephString name=name,type=CephString "
        "name=value,type=CephString name=force,type=CephBool,req=false",
        "Set a configuration option for one or more entities",
        "config",
        "rw",
        apply=apply_config_set,
    ),
    Command(
        "config rm name=who,type=CephString name=name,type=CephString",
        "Clear a configuration option for one or more entities",
        "config",
        "rw",
        apply=apply_config_rm,
    ),
    Command(
        "config get name=who,type=CephString name=key,type=CephString,req=false",
        "Show configuration option(s) for an entity",
        "config",
        "r",
        read=config_get,
    ),
    Command("config dump", "Show all configuration option(s)", "mon", "r", read=config_dump),
)
