"""`radospy up`: create or restart a local cluster, watch it, stop it on Ctrl-C.

    radospy up [--mons 3] [--osds 4] [--hosts H] [--data DIR] [--base-port P] [--daemon]

The first run in DIR (default `./radospy-data`) bootstraps a cluster there: fsid,
monmap (monitors a, b, c... on 127.0.0.1 from the base port, default 17100, skipping
ports in use unless `--base-port` is given), keyrings and `DIR/radospy.conf`. Later runs
restart the same cluster; options given then must match it. What the directory holds
and how it is checked is in `radospy/cli/_local_cluster.py`, which plans; this module
only runs processes.

Every daemon is a child process in its own session (so the terminal's Ctrl-C reaches
only this process, which then stops the daemons in order: OSDs, then monitors, SIGTERM
and SIGKILL at a deadline) and dies with this process if it is killed outright. With
`--daemon` the daemons are left running once the cluster is up, recorded in
`DIR/up.pid` for `radospy down`.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import errno
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radospy.auth.crypto import CryptoKey
from radospy.cli import down
from radospy.cli._local_cluster import (
    DEFAULT_BASE_PORT,
    DEFAULT_DATA,
    DEFAULT_MONS,
    DEFAULT_OSDS,
    DEFAULT_RGW_PORT,
    HOST,
    OSD_MODULE,
    RGW_USER,
    ClusterPlan,
    ClusterStatus,
    DaemonSpec,
    DaemonState,
    RunningDaemon,
    UpError,
    central_config,
    check_reuse,
    conf_text,
    daemon_specs,
    encode_pid_record,
    gone_text,
    is_empty_dir,
    load_plan,
    make_keyring,
    make_monmap,
    new_plan,
    osd_mkfs_argv,
    parse_status,
    rgw_spec,
    status_line,
    status_screen,
    stop_groups,
    usage_lines,
)
from radospy.cli.down import STOP_TIMEOUT
from radospy.common.config import Config
from radospy.common.errors import RadosError
from radospy.common.files import write_atomic
from radospy.mon.client import MonClient, client_config
from radospy.mon.daemon import mkfs

START_TIMEOUT = 60.0
"""Seconds the monitors get to form a quorum, and the OSDs to come up."""
MKFS_TIMEOUT = 60.0
"""Seconds `radospy osd --mkfs` may take."""
QUERY_TIMEOUT = 3.0
"""Seconds one status query may take before the monitors count as not answering."""
POLL = 0.25
"""Seconds between two checks of a condition being waited for."""
REFRESH = 1.0
"""Seconds between two refreshes of the live status."""
_LAST_WORDS = 4096
_PR_SET_PDEATHSIG = 1
_CLEAR = "\x1b[H\x1b[2J"


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise UpError(message, errno.EINVAL)


def _parser() -> argparse.ArgumentParser:
    p = _ArgumentParser(prog="radospy up", allow_abbrev=False, description=__doc__)
    p.add_argument("--mons", type=int, help=f"monitors of a new cluster ({DEFAULT_MONS})")
    p.add_argument("--osds", type=int, help=f"OSDs of a new cluster ({DEFAULT_OSDS})")
    p.add_argument("--hosts", type=int, help="CRUSH hosts the OSDs spread over (one per OSD)")
    p.add_argument("--data", default=DEFAULT_DATA, help=f"cluster directory ({DEFAULT_DATA})")
    p.add_argument(
        "--base-port", type=int, help=f"first monitor port (default: free from {DEFAULT_BASE_PORT})"
    )
    p.add_argument("--rgw-port", type=int,
                   help=f"S3 gateway port (default: free from {DEFAULT_RGW_PORT}); 0: no gateway")
    p.add_argument("--daemon", action="store_true", help="leave the cluster running and return")
    return p


def osd_daemon_available() -> bool:
    """True if this build has the OSD daemon (it landed with issue #4)."""
    return importlib.util.find_spec(OSD_MODULE) is not None


def port_free(port: int) -> bool:
    """True if a daemon could listen on 127.0.0.1:`port` now (as the messenger binds,
    with SO_REUSEADDR, so a port in TIME_WAIT from the last run counts as free)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def say(text: str) -> None:
    """Print a line now. If stdout went away (`radospy up | head`), carry on silently:
    losing the output must never keep the daemons from being stopped."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except OSError:
        # Later writes, and the flush at exit, go to /dev/null instead of failing.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


# --- finding or creating the cluster -----------------------------------------------------


def prepare(args: argparse.Namespace) -> tuple[ClusterPlan, bool]:
    """The cluster to run and whether it is new. Nothing is written: every check that can
    refuse comes before the first write."""
    data = Path(args.data).resolve()
    if (data / "radospy.conf").exists():
        plan = load_plan(data)
        check_reuse(plan, args.mons, args.osds, args.hosts, args.base_port)
        return plan, False
    if data.exists() and not is_empty_dir(data):
        raise UpError(
            f"{data} is not empty and holds no radospy.conf: not a cluster directory "
            "(choose another --data)"
        )
    plan = new_plan(
        data,
        DEFAULT_MONS if args.mons is None else args.mons,
        DEFAULT_OSDS if args.osds is None else args.osds,
        args.hosts,
        DEFAULT_BASE_PORT if args.base_port is None else args.base_port,
        args.base_port is not None,
        port_free,
    )
    return plan, True


def check_not_running(plan: ClusterPlan) -> None:
    """Refuse to start a cluster that runs already; forget a stale `up.pid`."""
    with down.live_daemons(plan.pid_path) as handles:
        if handles:
            pids = ", ".join(f"{h.daemon.entity} {h.daemon.pid}" for h in handles)
            raise UpError(
                f"the cluster in {plan.data} is running already ({pids}): "
                f"radospy down --data {plan.data} stops it"
            )
    plan.pid_path.unlink(missing_ok=True)
    for name, port in plan.mons.items():
        if not port_free(port):
            raise UpError(
                f"port {HOST}:{port} of mon.{name} is in use: is this cluster running "
                "in another radospy up?"
            )


def bootstrap(plan: ClusterPlan) -> None:
    """Create the cluster's files and monitor stores.

    They are made in a sibling directory renamed onto DIR at the end (rename replaces
    an empty directory), so a failure leaves DIR as it was.
    """
    plan.data.parent.mkdir(parents=True, exist_ok=True)
    tmp = plan.data.parent / f".{plan.data.name}.new-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        (tmp / "log").mkdir()
        keyring = make_keyring(plan, lambda: CryptoKey.generate(time.time()))
        monmap = make_monmap(plan)
        write_atomic(tmp / plan.keyring_path.name, keyring.to_text().encode())
        os.chmod(tmp / plan.keyring_path.name, 0o600)
        write_atomic(tmp / plan.monmap_path.name, monmap.encode())
        write_atomic(tmp / plan.record_path.name, plan.record())
        for name in plan.mons:
            mkfs(name, tmp / plan.mon_data(name).name, monmap, keyring)
        write_atomic(tmp / plan.conf_path.name, conf_text(plan).encode())
        os.rename(tmp, plan.data)
    except OSError as exc:
        raise UpError(f"cannot create the cluster in {plan.data}: {exc.strerror}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- the daemons -------------------------------------------------------------------------


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec hook making a child get SIGTERM when this process dies (Linux
    PR_SET_PDEATHSIG), so a killed `radospy up` leaves no daemons behind."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    prctl = ctypes.CDLL(name, use_errno=True).prctl

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


@dataclass
class Child:
    """A daemon this process started."""

    spec: DaemonSpec
    proc: subprocess.Popen[bytes]
    start_time: int


class Daemons:
    """The daemons this `radospy up` started; it signals only these, by PID."""

    def __init__(self, plan: ClusterPlan, detach: bool) -> None:
        self.plan = plan
        self.children: list[Child] = []
        self._hook = None if detach else _die_with_parent()

    def start(self, specs: list[DaemonSpec]) -> None:
        """Start `specs`, each logging (and printing) to `DIR/log/ENTITY.log`."""
        self.plan.log_dir.mkdir(exist_ok=True)
        for spec in specs:
            with open(self.plan.log_path(spec.entity), "ab") as log:
                proc = subprocess.Popen(
                    spec.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                    preexec_fn=self._hook,
                )
            self.children.append(Child(spec, proc, down.proc_start_time(proc.pid)))

    def states(self) -> tuple[DaemonState, ...]:
        """Every daemon, running or gone (with the last line it logged)."""
        return tuple(
            DaemonState(c.spec.entity, c.proc.pid, code, self._last_words(c) if code else "")
            for c in self.children
            for code in (c.proc.poll(),)
        )

    def _last_words(self, child: Child) -> str:
        try:
            with open(self.plan.log_path(child.spec.entity), "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - _LAST_WORDS))
                tail = f.read().decode(errors="replace")
        except OSError:
            return ""
        lines = [line.strip() for line in tail.splitlines() if line.strip()]
        return lines[-1][:200] if lines else ""

    def record(self) -> list[RunningDaemon]:
        """What `radospy down` needs to find these daemons again."""
        return [
            RunningDaemon(c.spec.entity, c.proc.pid, c.start_time, c.spec.argv)
            for c in self.children
        ]

    def stop(self, timeout: float = STOP_TIMEOUT) -> list[str]:
        """SIGTERM the gateway, then the OSDs, then the monitors; SIGKILL at the
        deadline. The entities that had to be killed."""
        killed: list[str] = []
        by_entity = {c.spec.entity: c for c in self.children}
        for group in [[by_entity[e] for e in g] for g in stop_groups(by_entity)]:
            for c in group:
                if c.proc.poll() is None:
                    c.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            for c in group:
                try:
                    c.proc.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    c.proc.kill()
                    c.proc.wait()
                    killed.append(c.spec.entity)
        return killed


async def mkfs_osds(plan: ClusterPlan) -> None:
    """`radospy osd --mkfs` for every OSD without a data directory, all at once."""
    todo = [o for o in plan.osds if not plan.osd_data(o.id).exists()]
    if todo:
        say(f"radospy up: creating {len(todo)} OSD stores")
    procs = [
        await asyncio.create_subprocess_exec(
            *osd_mkfs_argv(plan, sys.executable, o),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for o in todo
    ]
    try:
        async with asyncio.timeout(MKFS_TIMEOUT):
            outputs = await asyncio.gather(*(p.communicate() for p in procs))
    except TimeoutError:
        raise UpError(f"radospy osd --mkfs took more than {MKFS_TIMEOUT:g}s") from None
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
    for osd, p, (out, _) in zip(todo, procs, outputs, strict=True):
        if p.returncode != 0:
            lines = out.decode(errors="replace").strip().splitlines() or ["(no output)"]
            raise UpError(f"osd.{osd.id}: radospy osd --mkfs failed: {lines[-1]}")


# --- talking to the cluster ----------------------------------------------------------------


async def query(client: MonClient, daemons: Daemons) -> ClusterStatus:
    """The cluster's status as the monitors see it, and the daemons' as we do."""
    try:
        replies = []
        for cmd in ({"prefix": "status", "format": "json"}, {"prefix": "quorum_status"}):
            rc, out, outs = await client.command(cmd, timeout=QUERY_TIMEOUT)
            if rc < 0:
                return ClusterStatus(daemons.states(), error=outs or f"error {-rc}")
            replies.append(json.loads(out))
    except RadosError as exc:
        return ClusterStatus(daemons.states(), error=str(exc))
    except ValueError as exc:
        return ClusterStatus(daemons.states(), error=f"unreadable reply: {exc}")
    return parse_status(replies[0], replies[1], daemons.states())


Check = Callable[[], Awaitable[tuple[bool, str]]]
"""A readiness condition: (met?, what things look like now)."""


async def wait_until(daemons: Daemons, what: str, check: Check) -> None:
    """Wait until `check` is met; UpError at the deadline, or as soon as a daemon dies
    (with the last thing it logged)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while True:
        dead = next((d for d in daemons.states() if not d.running), None)
        if dead is not None:
            raise UpError(gone_text(dead))
        met, now = await check()
        if met:
            return
        if loop.time() > deadline:
            raise UpError(
                f"timed out after {START_TIMEOUT:g}s waiting for {what}; now: {now} "
                f"(logs in {daemons.plan.log_dir})"
            )
        await asyncio.sleep(POLL)


async def wait_quorum(client: MonClient, daemons: Daemons) -> ClusterStatus:
    """Wait until every monitor is in the quorum; the status then."""
    mons = len(daemons.plan.mons)
    last = ClusterStatus()

    async def check() -> tuple[bool, str]:
        nonlocal last
        last = await query(client, daemons)
        return not last.error and len(last.quorum) == mons, status_line(last, mons)

    await wait_until(daemons, f"a quorum of {mons} monitors", check)
    return last


async def wait_osds_booted(client: MonClient, daemons: Daemons, since: int) -> None:
    """Wait until every OSD of the plan booted after OSDMap epoch `since`: the map may
    still call an OSD up from before a restart, so only a fresh `up_from` counts."""
    want = {o.id for o in daemons.plan.osds}

    async def check() -> tuple[bool, str]:
        try:
            rc, out, outs = await client.command(
                {"prefix": "osd dump", "format": "json"}, timeout=QUERY_TIMEOUT
            )
            if rc < 0:
                return False, f"osd dump: {outs}"
            osds = json.loads(out)["osds"]
        except (RadosError, ValueError, KeyError) as exc:
            return False, f"monitors not answering: {exc}"
        booted = {o["osd"] for o in osds if o.get("up") and o.get("up_from", 0) > since}
        return want <= booted, f"{len(want & booted)} of {len(want)} OSDs booted"

    await wait_until(daemons, f"{len(want)} OSDs to boot", check)


async def set_central_config(client: MonClient, plan: ClusterPlan) -> None:
    """`ceph config set global NAME VALUE` for the development cluster's options."""
    for name, value in central_config(plan):
        cmd = {"prefix": "config set", "who": "global", "name": name, "value": value}
        rc, _, outs = await client.command(cmd, timeout=START_TIMEOUT)
        if rc < 0:
            raise UpError(f"config set global {name} {value}: {outs}")


def _osd_note(plan: ClusterPlan, available: bool) -> str:
    if available or not plan.osds:
        return ""
    return f"0 OSDs (the OSD daemon is not available yet; {len(plan.osds)} start once it is)"


def announce(plan: ClusterPlan, st: ClusterStatus, fresh: bool, note: str, detach: bool,
             gateway: GatewayInfo | None = None) -> None:
    """Say what runs where, and how to use it."""
    how = "created" if fresh else "restarted"
    lines = [
        f"radospy up: cluster {plan.fsid} {how} in {plan.data}",
        f"  {len(st.quorum)} monitors in quorum ({','.join(st.quorum)}) at "
        + ", ".join(plan.mon_addrs),
    ]
    if note:
        lines.append(f"  {note}")
    elif plan.osds:
        hosts = len(plan.hosts)
        lines.append(f"  {len(plan.osds)} OSDs up on {hosts} CRUSH host{'s' * (hosts != 1)}")
    else:
        lines.append("  0 OSDs")
    lines += gateway_lines(gateway)
    lines += usage_lines(plan)
    if detach:
        lines.append(f"  stop it with:  radospy down --data {plan.data}")
    say("\n".join(lines))


async def watch(
    client: MonClient, daemons: Daemons, note: str, endpoints: list[str] | None = None
) -> None:
    """The live status until cancelled: a redrawn screen on a terminal, else one line
    each time something changes."""
    plan = daemons.plan
    tty = sys.stdout.isatty()
    last = ""
    while True:
        st = await query(client, daemons)
        if tty:
            screen = status_screen(st, plan, note, time.strftime("%H:%M:%S"), endpoints or [])
            say(_CLEAR + "\n".join(screen))
        else:
            line = status_line(st, len(plan.mons))
            if line != last:
                say(f"{time.strftime('%H:%M:%S')} status: {line}")
            last = line
        await asyncio.sleep(REFRESH)


@dataclass(frozen=True)
class GatewayInfo:
    """The S3 endpoint `radospy up` started and its default user's keys."""

    url: str
    access_key: str
    secret_key: str


async def _admin(plan: ClusterPlan, *args: str) -> tuple[int, bytes, bytes]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "radospy.cli.radosgw_admin", "-c", str(plan.conf_path), *args,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        async with asyncio.timeout(START_TIMEOUT):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise UpError(f"radosgw-admin {' '.join(args)} took more than {START_TIMEOUT:g}s") from None
    return proc.returncode or 0, out, err


async def default_user(plan: ClusterPlan) -> tuple[str, str]:
    """The keys of the gateway's default user, created on first need."""
    rc, out, err = await _admin(plan, "user", "info", "--uid", RGW_USER)
    if rc != 0:
        rc, out, err = await _admin(plan, "user", "create", "--uid", RGW_USER,
                                    "--display-name", "radospy default user")
    if rc != 0:
        raise UpError(f"radosgw-admin user create: {err.decode(errors='replace').strip()}")
    key = json.loads(out)["keys"][0]
    return key["access_key"], key["secret_key"]


def gateway_lines(gateway: GatewayInfo | None) -> list[str]:
    """How to reach the S3 gateway (nothing when none runs)."""
    if gateway is None:
        return []
    return [
        f"  S3 gateway:    {gateway.url}  (user {RGW_USER})",
        f"  access key:    {gateway.access_key}",
        f"  secret key:    {gateway.secret_key}",
    ]


def gateway_port(requested: int | None) -> int:
    """The port the gateway listens on: as requested, or the first free from 7480."""
    if requested is not None:
        if not 0 < requested <= 65535:
            raise UpError(f"invalid --rgw-port {requested}", errno.EINVAL)
        if not port_free(requested):
            raise UpError(f"--rgw-port {requested} is in use", errno.EADDRINUSE)
        return requested
    for port in range(DEFAULT_RGW_PORT, DEFAULT_RGW_PORT + 100):
        if port_free(port):
            return port
    raise UpError(f"no free port from {DEFAULT_RGW_PORT} for the S3 gateway", errno.EADDRINUSE)


async def start_gateway(plan: ClusterPlan, daemons: Daemons, port: int) -> GatewayInfo:
    """Create the default user (and RGW's pools), start `radospy rgw`, wait until it
    accepts connections."""
    access_key, secret_key = await default_user(plan)
    say(f"radospy up: starting the S3 gateway on {HOST}:{port}")
    daemons.start([rgw_spec(plan, sys.executable, port)])

    async def check() -> tuple[bool, str]:
        try:
            _, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            return False, f"S3 gateway not listening on {HOST}:{port} yet"
        writer.close()
        return True, ""

    await wait_until(daemons, "the S3 gateway", check)
    return GatewayInfo(f"http://{HOST}:{port}", access_key, secret_key)


async def serve(
    plan: ClusterPlan, fresh: bool, detach: bool, rgw_port: int | None = None
) -> int:
    """Start the daemons, wait for the cluster, then watch it (or leave it running)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    daemons = Daemons(plan, detach)
    available = osd_daemon_available()
    note = _osd_note(plan, available)
    config = Config("client.admin")
    config.load_file(plan.conf_path)
    left_running = False
    try:
        async with MonClient(client_config(config, QUERY_TIMEOUT)) as client:
            say(f"radospy up: starting {len(plan.mons)} monitors ({','.join(plan.mons)})")
            daemons.start(daemon_specs(plan, sys.executable, with_osds=False))
            st = await wait_quorum(client, daemons)
            if fresh:
                await set_central_config(client, plan)
            if available and plan.osds:
                await mkfs_osds(plan)
                epoch = (await query(client, daemons)).osd_epoch
                say(f"radospy up: starting {len(plan.osds)} OSDs")
                daemons.start(daemon_specs(plan, sys.executable, True)[len(plan.mons) :])
                await wait_osds_booted(client, daemons, epoch)
            gateway = None
            if available and plan.osds and rgw_port != 0:
                gateway = await start_gateway(plan, daemons, gateway_port(rgw_port))
            if detach:
                write_atomic(plan.pid_path, encode_pid_record(daemons.record()))
                left_running = True
            announce(plan, st, fresh, note, detach, gateway)
            if detach:
                return 0
            await watch(client, daemons, note, gateway_lines(gateway))
    except asyncio.CancelledError:
        pass
    finally:
        # A second Ctrl-C must not cut the orderly stop short: it has its deadlines.
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: None)
        if not left_running and daemons.children:
            say(f"radospy up: stopping {len(daemons.children)} daemons")
            killed = daemons.stop()
            if killed:
                say(f"radospy up: {', '.join(killed)} ignored SIGTERM and were killed")
    say("radospy up: stopped")
    return 0


def _run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    plan, fresh = prepare(args)
    if not fresh:
        check_not_running(plan)
    else:
        bootstrap(plan)
    return asyncio.run(serve(plan, fresh, args.daemon, args.rgw_port))


def main(argv: list[str]) -> int:
    """Entry point: 0, or 1 with a one-line error on stderr."""
    try:
        return _run(argv)
    except (RadosError, OSError) as exc:
        print(f"radospy up: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
