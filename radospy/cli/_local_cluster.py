"""The local cluster `radospy up` runs, as plain data: what goes where, and why.

This module decides and checks; it starts no process. `radospy up` (the shell in
`radospy/cli/up.py`) asks it for a plan, writes the files it describes, starts the
daemons it names and renders the status it formats; `radospy down` reads the pid record
it defines. Everything a test wants to pin down without processes lives here.

A cluster directory (`--data DIR`, default `./radospy-data`) holds:

    radospy.conf   the config every tool takes with `-c` (absolute paths inside)
    keyring        mon., client.admin and osd.N keys: one keyring, as Ceph's vstart
    monmap         the founding monmap (monmaptool's format)
    cluster.json   what `radospy up` created: fsid, monitors and ports, OSDs and hosts
    mon.NAME/      monitor stores (`mon_data`)
    osd.N/         OSD stores (`osd_data`), made by `radospy osd --mkfs` on first start
    log/           `$name.log` per daemon (daemon logs and anything they print)
    up.pid         the daemons a `radospy up --daemon` left running (for `radospy down`)

Bootstrap happens in a sibling temporary directory renamed onto DIR at the end, so a
first run that fails leaves no half-made cluster behind, and the presence of
`radospy.conf` means the cluster was fully created.
"""

from __future__ import annotations

import json
import signal
import string
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from radospy.auth.caps import OSD_CAPS
from radospy.auth.crypto import CryptoKey
from radospy.auth.keyring import EntityAuth, EntityName, Keyring
from radospy.common.addr import Addr
from radospy.common.config import ConfFile
from radospy.common.errors import RadosError
from radospy.common.units import byte_u, si_u
from radospy.mon.daemon import MON_INFO, MonInfo
from radospy.mon.monmap import MonMap
from radospy.mon.osd_output import timespan_str
from radospy.mon.progress import BAR_WIDTH

DEFAULT_DATA = "radospy-data"
DEFAULT_MONS = 3
DEFAULT_OSDS = 4
DEFAULT_BASE_PORT = 17100
"""Far from Ceph's own 3300/6789 and 6800-7300, so a real Ceph on the machine is no clash."""
HOST = "127.0.0.1"
MAX_MONS = len(string.ascii_lowercase)
MAX_PORT = 65535

CONF = "radospy.conf"
KEYRING = "keyring"
MONMAP = "monmap"
RECORD = "cluster.json"
PID_RECORD = "up.pid"
LOG_DIR = "log"

MON_MODULE = "radospy.cli.mon"
OSD_MODULE = "radospy.cli.osd"
RGW_MODULE = "radospy.cli.rgw"
RGW_ENTITY = "client.rgw"
DEFAULT_RGW_PORT = 7480
"""Ceph's radosgw port; `radospy up` takes the first free one from here."""
RGW_USER = "radospy"
"""The gateway user `radospy up` creates and whose keys it prints."""
"""Daemons run as `python -m MODULE`: the same interpreter as `radospy up`, whether or
not the `radospy` dispatcher lists the tool yet."""

ADMIN = "client.admin"
ADMIN_CAPS = {"mon": "allow *", "osd": "allow *", "mds": "allow *", "mgr": "allow *"}
MON_CAPS = {"mon": "allow *"}


class UpError(RadosError):
    """`radospy up`/`down` cannot go on; `str()` is the one-line reason."""


# --- the plan -----------------------------------------------------------------------


@dataclass(frozen=True)
class OsdPlan:
    """One OSD: its id and the CRUSH host it sits under."""

    id: int
    host: str


@dataclass(frozen=True)
class ClusterPlan:
    """A local cluster: fsid, monitors (name → port on 127.0.0.1), OSDs, and where."""

    data: Path
    fsid: str
    mons: dict[str, int]
    osds: tuple[OsdPlan, ...] = ()

    # -- paths --

    @property
    def conf_path(self) -> Path:
        return self.data / CONF

    @property
    def keyring_path(self) -> Path:
        return self.data / KEYRING

    @property
    def monmap_path(self) -> Path:
        return self.data / MONMAP

    @property
    def record_path(self) -> Path:
        return self.data / RECORD

    @property
    def pid_path(self) -> Path:
        return self.data / PID_RECORD

    @property
    def log_dir(self) -> Path:
        return self.data / LOG_DIR

    def mon_data(self, name: str) -> Path:
        return self.data / f"mon.{name}"

    def osd_data(self, osd: int) -> Path:
        return self.data / f"osd.{osd}"

    def log_path(self, entity: str) -> Path:
        return self.log_dir / f"{entity}.log"

    @property
    def hosts(self) -> list[str]:
        """The CRUSH hosts of the OSDs, in order of first use."""
        return list(dict.fromkeys(o.host for o in self.osds))

    @property
    def mon_addrs(self) -> list[str]:
        return [f"{HOST}:{port}" for port in self.mons.values()]

    # -- the record (cluster.json) --

    def record(self) -> bytes:
        """`cluster.json`: what a later `radospy up` restarts (paths are DIR-relative)."""
        body = {
            "fsid": self.fsid,
            "mons": self.mons,
            "osds": [{"id": o.id, "host": o.host} for o in self.osds],
        }
        return (json.dumps(body, indent=2) + "\n").encode()


class _OsdRecord(msgspec.Struct, forbid_unknown_fields=True):
    id: int
    host: str


class _Record(msgspec.Struct, forbid_unknown_fields=True):
    fsid: str
    mons: dict[str, int]
    osds: list[_OsdRecord]


def mon_names(count: int) -> list[str]:
    """`a`, `b`, `c`, ... as Ceph's vstart names monitors."""
    if not 1 <= count <= MAX_MONS:
        raise UpError(f"--mons must be between 1 and {MAX_MONS}, not {count}")
    return list(string.ascii_lowercase[:count])


def place_osds(count: int, hosts: int | None) -> tuple[OsdPlan, ...]:
    """OSDs 0..count-1 spread over `hosts` CRUSH hosts in contiguous runs (0,1 | 2,3),
    the way disks sit in real machines; by default every OSD is its own host, so the
    default rule (replicas on distinct hosts) can place 3 copies with 3 OSDs."""
    if count < 0:
        raise UpError(f"--osds must be 0 or more, not {count}")
    if hosts is None:
        hosts = max(count, 1)
    if hosts < 1:
        raise UpError(f"--hosts must be 1 or more, not {hosts}")
    if count and hosts > count:
        raise UpError(f"--hosts {hosts} is more than --osds {count}: a host needs an OSD")
    return tuple(OsdPlan(i, f"host{i * hosts // count}") for i in range(count))


def choose_ports(count: int, base: int, exact: bool, is_free: Callable[[int], bool]) -> list[int]:
    """`count` ports for the monitors, from `base` up.

    With `exact` (the user gave `--base-port`) they are `base .. base+count-1` and one
    in use is an error naming it; otherwise ports in use are skipped.
    """
    if not 1 <= base <= MAX_PORT - count + 1:
        raise UpError(f"--base-port must be between 1 and {MAX_PORT - count + 1}, not {base}")
    if exact:
        for port in range(base, base + count):
            if not is_free(port):
                raise UpError(f"port {HOST}:{port} is already in use: choose another --base-port")
        return list(range(base, base + count))
    chosen: list[int] = []
    for port in range(base, MAX_PORT + 1):
        if len(chosen) == count:
            break
        if is_free(port):
            chosen.append(port)
    if len(chosen) < count:
        raise UpError(f"no {count} free ports on {HOST} from {base} up")
    return chosen


def new_plan(
    data: Path,
    mons: int,
    osds: int,
    hosts: int | None,
    base_port: int,
    exact_port: bool,
    is_free: Callable[[int], bool],
    fsid: str | None = None,
) -> ClusterPlan:
    """The plan of a cluster to create in `data` (nothing is written)."""
    names = mon_names(mons)
    osd_plan = place_osds(osds, hosts)
    ports = choose_ports(len(names), base_port, exact_port, is_free)
    return ClusterPlan(
        data, fsid or str(uuid.uuid4()), dict(zip(names, ports, strict=True)), osd_plan
    )


# --- the files of a new cluster -------------------------------------------------------


def conf_text(plan: ClusterPlan) -> str:
    """`radospy.conf` for `plan`: absolute paths, so it works from any directory."""
    root = plan.data
    lines = [
        "# Written by `radospy up`; every radospy tool takes it with -c (or $RADOSPY_CONF).",
        "[global]",
        f"fsid = {plan.fsid}",
        f"mon_host = {','.join(plan.mon_addrs)}",
        f"mon_initial_members = {','.join(plan.mons)}",
        f"keyring = {root / KEYRING}",
        *(f"{k} = {v}" for k, v in central_config(plan)),
        "",
        "[mon]",
        f"mon_data = {root}/mon.$id",
        f"log_file = {root / LOG_DIR}/$name.log",
        "",
        "[osd]",
        f"osd_data = {root}/osd.$id",
        f"log_file = {root / LOG_DIR}/$name.log",
    ]
    for osd in plan.osds:
        lines += ["", f"[osd.{osd.id}]", f"crush_location = host={osd.host}"]
    return "\n".join(lines) + "\n"


def central_config(plan: ClusterPlan) -> list[tuple[str, str]]:
    """Options of a development cluster, written to radospy.conf and also set in the
    monitors' central config (`ceph config set global ...`), which is where the monitors
    read them: pools may be deleted, and pools are no bigger than the hosts can hold."""
    options = [("mon_allow_pool_delete", "true")]
    if 0 < len(plan.hosts) < 3:
        # The default rule puts each replica on its own host: fewer hosts than
        # replicas would leave every PG undersized.
        options.append(("osd_pool_default_size", str(len(plan.hosts))))
    return options


def make_keyring(plan: ClusterPlan, keygen: Callable[[], CryptoKey]) -> Keyring:
    """The cluster's keyring: `mon.`, `client.admin` and one key per OSD, each with
    Ceph's caps; the monitors import it at mkfs, so every key is known from the start."""
    keyring = Keyring()
    entities: list[tuple[str, dict[str, str]]] = [("mon.", MON_CAPS), (ADMIN, ADMIN_CAPS)]
    entities += [(f"osd.{o.id}", OSD_CAPS) for o in plan.osds]
    for entity, caps in entities:
        keyring.entities[EntityName.parse(entity)] = EntityAuth(keygen(), dict(caps))
    return keyring


def make_monmap(plan: ClusterPlan) -> MonMap:
    """The founding monmap (epoch 0: every monitor in it founds the cluster)."""
    monmap = MonMap.create(plan.fsid)
    for name, port in plan.mons.items():
        monmap.add(name, Addr(HOST, port))
    return monmap


# --- an existing cluster ----------------------------------------------------------------


def load_plan(data: Path) -> ClusterPlan:
    """The cluster already in `data`, checked for consistency; UpError (one line) if the
    directory is corrupt or its parts belong to different clusters."""
    conf_path = data / CONF
    try:
        conf = ConfFile.load(conf_path)
    except RadosError as exc:
        raise UpError(f"corrupt cluster directory: {exc}") from None
    conf_fsid = conf.sections.get("global", {}).get("fsid")
    if conf_fsid is None:
        raise UpError(f"corrupt cluster directory: {conf_path} names no fsid")
    record = _read_record(data / RECORD)
    fsid = conf_fsid.value.strip()
    if record.fsid != fsid:
        raise UpError(
            f"{data / RECORD} is of cluster {record.fsid} but {conf_path} of {fsid}: "
            "the directory mixes two clusters"
        )
    plan = ClusterPlan(
        data, fsid, dict(record.mons), tuple(OsdPlan(o.id, o.host) for o in record.osds)
    )
    _check_monmap(plan)
    for name in plan.mons:
        _check_mon_info(plan, name)
    return plan


def _read_record(path: Path) -> _Record:
    try:
        record = msgspec.json.decode(path.read_bytes(), type=_Record)
    except OSError as exc:
        raise UpError(f"corrupt cluster directory: cannot read {path}: {exc.strerror}") from None
    except msgspec.DecodeError as exc:
        raise UpError(f"corrupt cluster directory: {path}: {exc}") from None
    try:
        mon_names(len(record.mons))
        fsid = str(uuid.UUID(record.fsid))
    except (UpError, ValueError) as exc:
        raise UpError(f"corrupt cluster directory: {path}: {exc}") from None
    return _Record(fsid, record.mons, record.osds)


def _check_monmap(plan: ClusterPlan) -> None:
    path = plan.monmap_path
    try:
        monmap = MonMap.decode(path.read_bytes())
    except OSError as exc:
        raise UpError(f"corrupt cluster directory: cannot read {path}: {exc.strerror}") from None
    except (ValueError, RadosError) as exc:
        raise UpError(f"corrupt cluster directory: {path}: {exc}") from None
    if monmap.fsid != plan.fsid:
        raise UpError(f"{path} is of cluster {monmap.fsid}, not {plan.fsid}")
    mons = {name: addr.port for name, addr in monmap.mons.items()}
    if mons != plan.mons:
        raise UpError(f"{path} lists other monitors than {plan.record_path}")


def _check_mon_info(plan: ClusterPlan, name: str) -> None:
    path = plan.mon_data(name) / MON_INFO
    try:
        info = msgspec.json.decode(path.read_bytes(), type=MonInfo)
    except OSError as exc:
        raise UpError(f"corrupt cluster directory: cannot read {path}: {exc.strerror}") from None
    except msgspec.DecodeError as exc:
        raise UpError(f"corrupt cluster directory: {path}: {exc}") from None
    if info.fsid != plan.fsid or info.name != name:
        raise UpError(f"{plan.mon_data(name)} holds mon.{info.name} of cluster {info.fsid}")


def check_reuse(
    plan: ClusterPlan, mons: int | None, osds: int | None, hosts: int | None,
    base_port: int | None,
) -> None:  # fmt: skip
    """Options given for an existing cluster must describe it: they cannot reshape it."""
    wanted = {
        "--mons": (mons, len(plan.mons)),
        "--osds": (osds, len(plan.osds)),
        "--hosts": (hosts, len(plan.hosts)),
        "--base-port": (base_port, min(plan.mons.values())),
    }
    for flag, (given, actual) in wanted.items():
        if given is not None and given != actual:
            raise UpError(
                f"{plan.data} holds a cluster with {flag} {actual}, not {given} "
                "(use another --data for a new cluster)"
            )


def is_empty_dir(path: Path) -> bool:
    """True if `path` is a directory with nothing in it (a rename target)."""
    return path.is_dir() and not any(path.iterdir())


# --- the daemons ---------------------------------------------------------------------


@dataclass(frozen=True)
class DaemonSpec:
    """A daemon to run: `mon.a`, `osd.3`; the argv that runs it in the foreground."""

    entity: str
    argv: tuple[str, ...]


def daemon_specs(plan: ClusterPlan, python: str, with_osds: bool) -> list[DaemonSpec]:
    """Every daemon of `plan` (OSDs only `with_osds`), monitors first."""
    conf = str(plan.conf_path)
    specs = [
        DaemonSpec(f"mon.{name}", (python, "-m", MON_MODULE, "-i", name, "-c", conf, "-f"))
        for name in plan.mons
    ]
    if with_osds:
        specs += [
            DaemonSpec(f"osd.{o.id}", (python, "-m", OSD_MODULE, "-i", str(o.id), "-c", conf, "-f"))
            for o in plan.osds
        ]
    return specs


def rgw_spec(plan: ClusterPlan, python: str, port: int) -> DaemonSpec:
    """The S3 gateway of `plan`, listening on 127.0.0.1:`port`."""
    return DaemonSpec(RGW_ENTITY, (python, "-m", RGW_MODULE, "-c", str(plan.conf_path),
                                   "--host", HOST, "--port", str(port)))


def stop_groups(entities: Iterable[str]) -> list[list[str]]:
    """The order daemons stop in: gateways (clients of the rest), then OSDs, then
    monitors (so the OSDs can still report to them)."""
    names = list(entities)
    gateways = [e for e in names if e.startswith("client.")]
    osds = [e for e in names if e.startswith("osd.")]
    rest = [e for e in names if e not in gateways and e not in osds]
    return [group for group in (gateways, osds, rest) if group]


def osd_mkfs_argv(plan: ClusterPlan, python: str, osd: OsdPlan) -> list[str]:
    """`radospy osd --mkfs` for one OSD of `plan`."""
    return [python, "-m", OSD_MODULE, "--mkfs", "-i", str(osd.id), "-c", str(plan.conf_path)]


# --- the pid record (up.pid) ------------------------------------------------------------


@dataclass(frozen=True)
class RunningDaemon:
    """A daemon `radospy up --daemon` started: enough to find it again, and only it."""

    entity: str
    pid: int
    start_time: int
    """Field 22 of /proc/PID/stat (clock ticks after boot): a reused PID has another."""
    argv: tuple[str, ...]


class _PidEntry(msgspec.Struct, forbid_unknown_fields=True):
    entity: str
    pid: int
    start_time: int
    argv: list[str]


def encode_pid_record(daemons: Iterable[RunningDaemon]) -> bytes:
    """`up.pid`: one JSON object per daemon."""
    body = [
        {"entity": d.entity, "pid": d.pid, "start_time": d.start_time, "argv": list(d.argv)}
        for d in daemons
    ]
    return (json.dumps(body, indent=1) + "\n").encode()


def decode_pid_record(data: bytes, path: Path) -> list[RunningDaemon]:
    """The daemons of an `up.pid`; UpError if it is not one."""
    try:
        entries = msgspec.json.decode(data, type=list[_PidEntry])
    except msgspec.DecodeError as exc:
        raise UpError(f"{path} is not a radospy up pid record: {exc}") from None
    return [RunningDaemon(e.entity, e.pid, e.start_time, tuple(e.argv)) for e in entries]


def stat_start_time(stat: str) -> int | None:
    """The start time in a /proc/PID/stat line, or None for a zombie or garbage.

    The command name (field 2) is in parentheses and may itself hold spaces and
    parentheses, so the fields are counted after the last `)`.
    """
    _, paren, rest = stat.rpartition(")")
    fields = rest.split()
    if not paren or len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    try:
        return int(fields[19])
    except ValueError:
        return None


def is_same_process(daemon: RunningDaemon, stat: str, cmdline: bytes) -> bool:
    """True if /proc's `stat` and `cmdline` describe `daemon` itself, not a process
    that got its PID later."""
    argv = tuple(arg.decode(errors="replace") for arg in cmdline.split(b"\0")[:-1])
    return stat_start_time(stat) == daemon.start_time and argv == daemon.argv


# --- status ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DaemonState:
    """A daemon as its supervisor sees it: running, or gone with an exit status."""

    entity: str
    pid: int
    returncode: int | None = None
    last_words: str = ""
    """The last line of its log, for a daemon that is gone."""

    @property
    def running(self) -> bool:
        return self.returncode is None


@dataclass(frozen=True)
class RecoveryEvent:
    """One progress event as `ceph -s` reports it."""

    message: str
    progress: float
    objects_recovered: int = 0
    bytes_recovered: int = 0
    time_remaining: int = 0


@dataclass(frozen=True)
class Recovery:
    """What recovery is doing: copies still degraded or misplaced, rates, events."""

    objects_left: int = 0
    objects_per_sec: int = 0
    bytes_per_sec: int = 0
    events: tuple[RecoveryEvent, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.events or self.objects_per_sec or self.bytes_per_sec)

    def lines(self) -> list[str]:
        """The screen's recovery section: a bar per event (what it recovered), then the
        rate and the time left at that rate."""
        out = []
        for ev in self.events:
            done = int(ev.progress * BAR_WIDTH)
            bar = "[" + "=" * done + "." * (BAR_WIDTH - done) + "]"
            out += [
                ev.message,
                f"{bar} {int(ev.progress * 100):3d}%  {si_u(ev.objects_recovered)} objects, "
                f"{byte_u(ev.bytes_recovered)} recovered",
            ]
        rate = f"{byte_u(self.bytes_per_sec)}/s, {si_u(self.objects_per_sec)} objects/s"
        if self.objects_left:
            rate += f"; {si_u(self.objects_left)} objects to go"
            if self.objects_per_sec:
                rate += f", about {timespan_str(self.objects_left / self.objects_per_sec)} left"
            elif self.events and self.events[0].time_remaining:
                rate += f", about {timespan_str(self.events[0].time_remaining)} left"
        return [*out, rate]


def parse_recovery(pgmap: Mapping[str, Any], events: Mapping[str, Any]) -> Recovery:
    """The recovery figures of `status --format json`'s ``pgmap`` and ``progress_events``."""
    return Recovery(
        objects_left=int(pgmap.get("degraded_objects", 0)) + int(pgmap.get("misplaced_objects", 0)),
        objects_per_sec=int(pgmap.get("recovering_objects_per_sec", 0)),
        bytes_per_sec=int(pgmap.get("recovering_bytes_per_sec", 0)),
        events=tuple(
            RecoveryEvent(
                str(ev.get("message", "")),
                float(ev.get("progress", 0.0)),
                int(ev.get("objects_recovered", 0)),
                int(ev.get("bytes_recovered", 0)),
                int(ev.get("time_remaining", 0)),
            )
            for ev in events.values()
        ),
    )


@dataclass(frozen=True)
class ClusterStatus:
    """What the monitors said (or why they said nothing), plus the daemons' states."""

    daemons: tuple[DaemonState, ...] = ()
    health: str = ""
    health_checks: tuple[str, ...] = ()
    quorum: tuple[str, ...] = ()
    leader: str = ""
    osds: tuple[int, int, int] | None = None
    """(existing, up, in) from the OSDMap."""
    osd_epoch: int = 0
    pools: int = 0
    pgs: int = 0
    pgs_by_state: tuple[tuple[str, int], ...] = ()
    recovery: Recovery = Recovery()
    error: str = ""
    """Why the monitors did not answer, if they did not."""


def parse_status(
    status: Mapping[str, Any], quorum: Mapping[str, Any], daemons: tuple[DaemonState, ...]
) -> ClusterStatus:
    """A ClusterStatus from `status --format json` and `quorum_status` replies."""
    health = status.get("health", {})
    checks = tuple(
        f"{code}: {check.get('summary', {}).get('message', '')}"
        for code, check in health.get("checks", {}).items()
    )
    osdmap = status.get("osdmap", {})
    pgmap = status.get("pgmap", {})
    by_state = tuple(
        (str(s.get("state_name", "?")), int(s.get("count", 0)))
        for s in pgmap.get("pgs_by_state", [])
    )
    return ClusterStatus(
        daemons=daemons,
        health=str(health.get("status", "")),
        health_checks=checks,
        quorum=tuple(quorum.get("quorum_names", [])),
        leader=str(quorum.get("quorum_leader_name", "")),
        osds=(
            int(osdmap.get("num_osds", 0)),
            int(osdmap.get("num_up_osds", 0)),
            int(osdmap.get("num_in_osds", 0)),
        ),
        osd_epoch=int(osdmap.get("epoch", 0)),
        pools=int(pgmap.get("num_pools", 0)),
        pgs=int(pgmap.get("num_pgs", 0)),
        pgs_by_state=by_state,
        recovery=parse_recovery(pgmap, status.get("progress_events", {})),
    )


def status_line(st: ClusterStatus, mons: int) -> str:
    """One line, for a log or a pipe: printed whenever it changes."""
    dead = [d for d in st.daemons if not d.running]
    if st.error:
        head = f"monitors not answering: {st.error}"
    else:
        osd = "osds ?"
        if st.osds is not None:
            osd = f"osds {st.osds[1]} up, {st.osds[2]} in of {st.osds[0]}"
        head = (
            f"{st.health or '?'}; mons {len(st.quorum)}/{mons} in quorum"
            f" ({','.join(st.quorum) or '-'}); {osd}; pools {st.pools}, pgs {st.pgs}"
        )
    if st.recovery.events:
        head += f"; recovering {int(st.recovery.events[0].progress * 100)}%"
    if dead:
        head += "; stopped: " + ", ".join(gone_text(d) for d in dead)
    return head


def status_screen(
    st: ClusterStatus, plan: ClusterPlan, osd_note: str, now: str, endpoints: Sequence[str] = ()
) -> list[str]:
    """The live screen: `ceph -s` in brief, the daemons, and how to use the cluster
    (`endpoints`: lines naming the gateways and their keys)."""
    lines = [f"radospy cluster {plan.fsid}   {now}", ""]
    if st.error:
        lines.append(f"  health: monitors not answering ({st.error})")
    else:
        lines.append(f"  health: {st.health or '?'}")
        lines += [f"          {check}" for check in st.health_checks]
        leader = f", leader {st.leader}" if st.leader else ""
        out = [m for m in plan.mons if m not in st.quorum]
        missing = f", out of quorum: {','.join(out)}" if out else ""
        quorum = ",".join(st.quorum) or "-"
        lines.append(f"  mon:    {len(plan.mons)} daemons, quorum {quorum}{leader}{missing}")
        if st.osds is not None:
            total, up, inn = st.osds
            lines.append(f"  osd:    {total} osds: {up} up, {inn} in")
        states = ", ".join(f"{n} {s}" for s, n in st.pgs_by_state)
        by_state = f" ({states})" if states else ""
        lines.append(f"  data:   {st.pools} pools, {st.pgs} pgs{by_state}")
        if st.recovery.active:
            first, *rest = st.recovery.lines()
            lines.append(f"  recovery: {first}")
            lines += [f"            {line}" for line in rest]
    if osd_note:
        lines.append(f"          {osd_note}")
    lines += ["", "  daemons:"]
    for d in st.daemons:
        how = "running" if d.running else gone_text(d, with_entity=False)
        lines.append(f"    {d.entity:<8} pid {d.pid:<8} {how}")
    lines += ["", *endpoints, *usage_lines(plan), "", "Ctrl-C stops the cluster."]
    return lines


def gone_text(d: DaemonState, with_entity: bool = True) -> str:
    """`mon.b exited with status 1: <the last line it logged>`, `osd.2 killed by SIGKILL`."""
    code = d.returncode if d.returncode is not None else 0
    if code < 0:
        try:
            how = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exited with status {code}"
    # A daemon that fails says why as its last words; one killed was cut off mid-log.
    if code > 0 and d.last_words:
        how += f": {d.last_words}"
    return f"{d.entity} {how}" if with_entity else how


def usage_lines(plan: ClusterPlan) -> list[str]:
    """Where the conf and the admin keyring are, and how to use them."""
    return [
        f"  conf:          {plan.conf_path}",
        f"  admin keyring: {plan.keyring_path} ({ADMIN})",
        f"  logs:          {plan.log_dir}/",
        f"  try:           radospy ceph -c {plan.conf_path} -s",
        f"  or:            export RADOSPY_CONF={plan.conf_path}; radospy ceph health",
    ]
