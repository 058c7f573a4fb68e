"""A monitor state driven the way the daemon drives it: parse, handle, apply."""

from __future__ import annotations

import random
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from radospy.auth.caps import MonCap
from radospy.auth.crypto import CryptoKey
from radospy.auth.keyring import EntityAuth, EntityName, Keyring
from radospy.common.addr import Addr
from radospy.mon.commands import CommandContext, CommandResult, Propose, handle_command, parse_argv
from radospy.mon.daemon import MonConfig, mkfs
from radospy.mon.monmap import MonMap
from radospy.mon.quorum import QuorumView
from radospy.mon.state import MonState

FSID = "87e61e46-58bb-4013-9cb7-8989654c4c9b"


@dataclass
class Mon:
    """One state plus every entry it applied, with a fake clock and seeded randomness."""

    state: MonState = field(default_factory=lambda: MonState.bootstrap(FSID, now=1_000.0))
    now: float = 2_000.0
    seed: int = 1
    entries: list[bytes] = field(default_factory=list)
    quorum: QuorumView | None = None

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def ctx(self, caps: str = "allow *", entity: str = "client.admin") -> CommandContext:
        return CommandContext(entity, MonCap.parse(caps), self.now, self.rng.randbytes, self.quorum)

    def cmd(self, cmd: dict, caps: str = "allow *", inbuf: bytes = b"") -> CommandResult:
        """Handle a command dict; a proposal is applied at once, as a commit would."""
        self.now += 1.0
        result = handle_command(self.state, cmd, self.ctx(caps), inbuf=inbuf)
        if isinstance(result, Propose):
            self.entries.append(result.entry)
            result = self.state.apply(result.entry)
        return result

    def run(self, line: str, caps: str = "allow *", inbuf: bytes = b"") -> CommandResult:
        """Parse a CLI line (split on spaces; `'` quotes a word with spaces) and run it."""
        return self.cmd(parse_argv(split(line)), caps, inbuf)

    def ok(self, line: str, inbuf: bytes = b"") -> CommandResult:
        result = self.run(line, inbuf=inbuf)
        assert result.rc == 0, (line, result)
        return result


def split(line: str) -> list[str]:
    parts = line.split("'")
    words: list[str] = []
    for i, part in enumerate(parts):
        words += [part] if i % 2 else part.split()
    return words


def with_osds(n: int, up: bool = True) -> Mon:
    """A cluster with osd.0..n-1 created, each in its own host under root default."""
    mon = Mon()
    for osd in range(n):
        mon.ok("osd create")
        mon.ok(f"osd crush add osd.{osd} 1.0 host=h{osd} root=default")
        if up:
            mon.ok(f"osd boot {osd}")
    return mon


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def single_monitor_config(tmp_path: Path, op_retry_timeout: float | None = None) -> MonConfig:
    """The config of monitor ``a``, alone in its monmap, made (mkfs) under ``tmp_path``:
    for a `MonDaemon` run in this process."""
    keyring = Keyring()
    keyring.entities[EntityName.parse("mon.")] = EntityAuth(
        CryptoKey.generate(time.time()), {"mon": "allow *"}
    )
    monmap = MonMap.create()
    monmap.add("a", Addr("127.0.0.1", free_port()))
    data_dir = tmp_path / "mon.a"
    mkfs("a", data_dir, monmap, keyring)
    if op_retry_timeout is None:
        return MonConfig("a", data_dir)
    return MonConfig("a", data_dir, op_retry_timeout=op_retry_timeout)
