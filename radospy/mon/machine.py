"""The monitors' replicated state machine: `MonState` behind Raft, applied at most once.

Every NORMAL Raft entry holds one :data:`Envelope`:

* :class:`BootstrapEntry` — the founding state. ``mon --mkfs`` prepares it on every
  founding monitor; the first leader proposes its own and later ones are ignored, so
  founders need not have bootstrapped byte-identical states. Keeping it in the log
  (not in a local file) lets a monitor added later rebuild the whole state by plain
  replication.
* :class:`MonMapEntry` — the next monmap (``mon add``/``mon remove``); the monmap is
  kept here, beside ``MonState``, because Raft's voters follow it.
* :class:`CommandEntry` — a mutation made by ``handle_command``, tagged with the client's
  (nonce, seq). The results of each client's recent commands are part of the replicated
  state, so a command resent after a failover returns its first result instead of
  running twice.
* :class:`BatchEntry` — several of the above, which the leader validated one after
  another (each against the state the ones before it leave) while an earlier entry was
  being committed: group commit, as Ceph's monitors accumulate changes while a Paxos
  round is in flight. They are applied in order, each with its own result.
"""

from __future__ import annotations

from collections import OrderedDict
from errno import EAGAIN

import msgspec

from radospy.common.config import ZERO_FSID
from radospy.mon.cmdspec import CommandResult
from radospy.mon.monmap import MonMap
from radospy.mon.state import MonState
from radospy.raft.messages import Entry

MAX_CLIENTS = 4096
"""Clients whose recent results are remembered (least recently used forgotten first)."""
MAX_RESULTS_PER_CLIENT = 64
"""Results remembered per client: more than any client has in flight."""


class BootstrapEntry(msgspec.Struct, tag="bootstrap", frozen=True):
    """The founding state: ``MonState.snapshot()`` of a freshly bootstrapped state and
    the founding monmap (``MonMap.encode()``, epoch 1)."""

    state: bytes
    monmap: bytes


class MonMapEntry(msgspec.Struct, tag="monmap", frozen=True):
    """The next monmap; applied only if its epoch follows the current one."""

    nonce: int
    seq: int
    monmap: bytes


class CommandEntry(msgspec.Struct, tag="command", frozen=True):
    """One state change from ``handle_command``, on behalf of client (nonce, seq)."""

    nonce: int
    seq: int
    entry: bytes


class BatchEntry(msgspec.Struct, tag="batch", frozen=True):
    """Changes applied one after another, as if each were an entry of its own."""

    changes: list[MonMapEntry | CommandEntry]


Envelope = BootstrapEntry | MonMapEntry | CommandEntry | BatchEntry

_envelope_decoder = msgspec.msgpack.Decoder(Envelope)


class _Result(msgspec.Struct, array_like=True, frozen=True):
    rc: int
    outbuf: bytes
    outs: str


class _Snapshot(msgspec.Struct, frozen=True):
    bootstrapped: bool
    state: bytes
    monmap: bytes
    results: list[tuple[int, list[tuple[int, _Result]]]]
    monmaps: dict[int, bytes] = {}


def encode_envelope(envelope: Envelope) -> bytes:
    """An entry's data."""
    return msgspec.msgpack.encode(envelope)


class ReplicatedMonState:
    """The `StateMachine` the Raft driver applies entries to."""

    def __init__(self, state: MonState | None = None) -> None:
        self.state = state if state is not None else MonState.bootstrap(ZERO_FSID)
        self.monmap = MonMap()
        self.monmaps: dict[int, bytes] = {}
        """Every monmap epoch, encoded (they are few and small), for `mon dump EPOCH`."""
        self.bootstrapped = False
        """Whether a BootstrapEntry was applied; commands wait until it is."""
        self._results: OrderedDict[int, OrderedDict[int, _Result]] = OrderedDict()

    def apply(self, entry: Entry) -> CommandResult | list[CommandResult] | None:
        """Apply one committed entry; the result of the command it carries (a list of
        them, in order, for a batch)."""
        envelope = _envelope_decoder.decode(entry.data)
        if isinstance(envelope, BootstrapEntry):
            if not self.bootstrapped:
                self.state = MonState.restore(envelope.state)
                self.monmap = MonMap.decode(envelope.monmap)
                self.monmaps = {self.monmap.epoch: bytes(envelope.monmap)}
                self.bootstrapped = True
            return None
        if isinstance(envelope, BatchEntry):
            return [self._apply_change(change) for change in envelope.changes]
        return self._apply_change(envelope)

    def _apply_change(self, envelope: MonMapEntry | CommandEntry) -> CommandResult:
        cached = self.result_of(envelope.nonce, envelope.seq)
        if cached is not None:
            return cached
        if isinstance(envelope, MonMapEntry):
            result = self._apply_monmap(MonMap.decode(envelope.monmap))
        else:
            result = self.state.apply(envelope.entry)
        # EAGAIN changed nothing: the same command may be validated and proposed again.
        if envelope.nonce and result.rc != -EAGAIN:
            self._remember(envelope.nonce, envelope.seq, result)
        return result

    def _apply_monmap(self, monmap: MonMap) -> CommandResult:
        if monmap.epoch != self.monmap.epoch + 1:
            return CommandResult(-EAGAIN, b"", f"monmap is at epoch {self.monmap.epoch}; retry")
        self.monmap = monmap
        self.monmaps[monmap.epoch] = monmap.encode()
        return CommandResult(0, b"", "")

    def monmap_at(self, epoch: int) -> MonMap | None:
        """Monmap `epoch`, or None if there never was one."""
        data = self.monmaps.get(epoch)
        return MonMap.decode(data) if data is not None else None

    def result_of(self, nonce: int, seq: int) -> CommandResult | None:
        """The result of client (nonce, seq)'s command if it was applied recently."""
        seen = self._results.get(nonce)
        found = seen.get(seq) if seen is not None else None
        if found is None:
            return None
        return CommandResult(found.rc, found.outbuf, found.outs)

    def _remember(self, nonce: int, seq: int, result: CommandResult) -> None:
        seen = self._results.pop(nonce, None) or OrderedDict()
        self._results[nonce] = seen
        seen[seq] = _Result(result.rc, bytes(result.outbuf), result.outs)
        while len(seen) > MAX_RESULTS_PER_CLIENT:
            seen.popitem(last=False)
        while len(self._results) > MAX_CLIENTS:
            self._results.popitem(last=False)

    def snapshot(self) -> bytes:
        """The state and the remembered results."""
        results = [(n, list(seen.items())) for n, seen in self._results.items()]
        snap = _Snapshot(
            self.bootstrapped, self.state.snapshot(), self.monmap.encode(), results, self.monmaps
        )
        return msgspec.msgpack.encode(snap)

    def restore(self, data: bytes) -> None:
        """Replace everything with a :meth:`snapshot`."""
        snap = msgspec.msgpack.decode(data, type=_Snapshot)
        self.state = MonState.restore(snap.state)
        self.monmap = MonMap.decode(snap.monmap)
        self.monmaps = dict(snap.monmaps) or {self.monmap.epoch: snap.monmap}
        self.bootstrapped = snap.bootstrapped
        self._results = OrderedDict((n, OrderedDict(seen)) for n, seen in snap.results)
