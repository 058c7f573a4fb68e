"""The replicated state machine: bootstrap, determinism, snapshots, stale and malformed
entries, kept epochs, and random command sequences."""

from __future__ import annotations

import errno
import json
import random

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radospy.auth.crypto import CryptoKey
from radospy.auth.keyring import EntityAuth, EntityName, Keyring
from radospy.crush.map import Op, RuleType
from radospy.mon import osdmap_history
from radospy.mon.commands import CommandResult, Propose, handle_command, parse_argv
from radospy.mon.osdmap_wire import decode_osdmap, encode_osdmap
from radospy.mon.state import MonState
from radospy.osdmap.pg import PgId

from .mon_helpers import FSID, Mon, split, with_osds
from .test_osdmap_incremental import _mutate

SCRIPT = [
    "osd create",
    "osd create",
    "osd create",
    "osd crush add osd.0 1.0 host=h0 root=default",
    "osd crush add osd.1 1.0 host=h1 root=default",
    "osd crush add osd.2 2.0 host=h2 root=default",
    "osd boot 0",
    "osd boot 1",
    "osd pool create rbd 16",
    "osd pool create e1 4 4 erasure",
    "osd pool mksnap rbd s1",
    "osd set noout",
    "osd reweight 2 0.5",
    "osd crush add-bucket r2 root",
    "osd crush rule create-replicated fast default host",
    "auth get-or-create client.foo mon 'allow r'",
    "config set mon mon_allow_pool_delete true",
    "osd pool rm e1 e1 --yes-i-really-really-mean-it",
    "osd down 0",
]


def run_script(seed: int = 1) -> Mon:
    mon = Mon(seed=seed)
    for line in SCRIPT:
        mon.ok(line)
    return mon


def test_bootstrap_is_a_new_pacific_cluster() -> None:
    admin = EntityName.parse("client.admin")
    keyring = Keyring({admin: EntityAuth(CryptoKey.generate(0.0), {"mon": "allow *"})})
    state = MonState.bootstrap(FSID, now=5.0, keyring=keyring)
    osdmap = state.osdmap
    assert osdmap.epoch == 1 and osdmap.max_osd == 0 and not osdmap.pools
    cmap = osdmap.crush
    assert cmap.types[0] == "osd" and cmap.types[max(cmap.types)] == "root"
    assert [b.name for b in cmap.buckets.values()] == ["default"]
    rule = cmap.rules[0]
    assert (rule.name, rule.type) == ("replicated_rule", RuleType.REPLICATED)
    assert [s.op for s in rule.steps] == [Op.TAKE, Op.CHOOSELEAF_FIRSTN, Op.EMIT]
    assert cmap.types[rule.steps[1].arg2] == "host"
    assert osdmap.erasure_code_profiles["default"]["plugin"] == "jerasure"
    assert state.auth.lookup(admin) is not None
    assert state.osdmap_bytes(1) is not None and state.osdmap_bytes(2) is None


def test_every_osdmap_change_bumps_the_epoch_by_one() -> None:
    mon = Mon()
    seen = {1: encode_osdmap(mon.state.osdmap, mon.state.pool_extras)}
    for line in SCRIPT:
        before = mon.state.osdmap.epoch
        mon.ok(line)
        assert mon.state.osdmap.epoch in (before, before + 1)
        seen[mon.state.osdmap.epoch] = encode_osdmap(mon.state.osdmap, mon.state.pool_extras)
    assert sorted(seen) == list(range(1, max(seen) + 1))
    # Every past epoch is rebuilt from full maps and incrementals exactly as it was.
    for epoch, data in seen.items():
        assert mon.state.osdmap_bytes(epoch) == data
        assert decode_osdmap(data)[0].epoch == epoch


def test_same_entries_give_the_same_state() -> None:
    live = run_script()
    replica = MonState.bootstrap(FSID, now=1_000.0)
    results = [replica.apply(entry) for entry in live.entries]
    assert all(r.rc == 0 for r in results)
    assert replica.snapshot() == live.state.snapshot()
    assert replica.history == live.state.history


def test_restored_snapshot_then_entries_equals_live() -> None:
    live = run_script()
    half = len(live.entries) // 2
    replica = MonState.bootstrap(FSID, now=1_000.0)
    for entry in live.entries[:half]:
        replica.apply(entry)
    restored = MonState.restore(replica.snapshot())
    assert restored.snapshot() == replica.snapshot()
    for entry in live.entries[half:]:
        assert restored.apply(entry).rc == 0
    assert restored.snapshot() == live.state.snapshot()
    assert MonState.restore(live.state.snapshot()) == live.state


def test_stale_entry_is_refused_with_eagain() -> None:
    mon = Mon()
    first = handle_command(mon.state, parse_argv(split("osd pool create a 8")), mon.ctx())
    second = handle_command(mon.state, parse_argv(split("osd pool create b 8")), mon.ctx())
    assert isinstance(first, Propose) and isinstance(second, Propose)
    assert mon.state.apply(first.entry).rc == 0
    snapshot = mon.state.snapshot()
    result = mon.state.apply(second.entry)
    assert result.rc == -errno.EAGAIN
    assert mon.state.snapshot() == snapshot


def test_malformed_entries_change_nothing() -> None:
    mon = run_script()
    snapshot = mon.state.snapshot()
    bad = [
        b"",
        b"\xc1",
        msgpack.packb({"prefix": "osd tree", "cmd": {}, "stamp": 1.0}),
        msgpack.packb({"prefix": "nope", "cmd": {}, "stamp": 1.0}),
        msgpack.packb({"prefix": "osd create", "cmd": [], "stamp": 1.0}),
        msgpack.packb([1, 2, 3]),
    ]
    for entry in bad:
        assert mon.state.apply(entry).rc == -errno.EINVAL
    assert mon.state.snapshot() == snapshot


def test_no_op_commands_propose_nothing() -> None:
    mon = run_script()
    for line in ("osd set noout", "osd pool create rbd 16", "osd in 1", "osd crush rm nothing"):
        result = handle_command(mon.state, parse_argv(split(line)), mon.ctx())
        assert isinstance(result, CommandResult) and result.rc == 0


def test_kept_epochs_are_bounded(monkeypatch) -> None:
    monkeypatch.setattr(osdmap_history, "OSDMAP_EPOCHS_KEPT", 5)
    monkeypatch.setattr(osdmap_history, "FULL_MAP_INTERVAL", 2)
    mon = Mon()
    for i in range(8):
        mon.ok("osd set noout" if i % 2 == 0 else "osd unset noout")
    assert mon.state.osdmap.epoch == 9
    history = mon.state.history
    assert history is not None
    # The last 5 epochs (5..9) and the full map they start from (4) are kept.
    assert sorted(history.fulls) == [4, 6, 8]
    assert sorted(history.updates) == [5, 6, 7, 8, 9]
    for epoch in (1, 3):
        old = mon.run(f"osd dump {epoch}")
        assert (old.rc, old.outs) == (-errno.ENOENT, f"there is no map for epoch {epoch}")
    flags = {
        e: next(ln for ln in mon.ok(f"osd dump {e}").outbuf.decode().splitlines() if "flags" in ln)
        for e in (5, 6)
    }
    assert "noout" not in flags[5] and "noout" in flags[6]
    assert mon.state.osdmap_updates(3) is None
    assert [e for e, _ in mon.state.osdmap_updates(6) or []] == [7, 8, 9]
    assert mon.state.osdmap_updates(9) == []
    assert json.loads(mon.ok("osd dump 8 -f json").outbuf)["epoch"] == 8


def test_boot_and_placement() -> None:
    mon = with_osds(3)
    assert all(mon.state.osdmap.is_up(o) for o in range(3))
    mon.ok("osd pool create p 8")
    for seed in range(8):
        mapping = mon.state.osdmap.pg_to_up_acting_osds(PgId(1, seed))
        assert sorted(mapping.up) == [0, 1, 2]
    mon.ok("osd set noup")
    mon.ok("osd down 0")
    assert mon.run("osd boot 0").outs == "noup flag is set; osd.0 stays down"
    assert not mon.state.osdmap.is_up(0)


def test_health_reports_down_osds_with_location() -> None:
    mon = with_osds(2)
    mon.ok("osd down 1")
    out = mon.ok("health detail").outbuf.decode()
    assert out == (
        "HEALTH_WARN 1 osds down; 1 host (1 osds) down\n[WRN] OSD_DOWN: 1 osds down\n"
        "    osd.1 (root=default,host=h1) is down\n"
        "[WRN] OSD_HOST_DOWN: 1 host (1 osds) down\n"
        "    host h1 (root=default) (1 osds) is down\n"
    )
    doc = json.loads(mon.ok("health -f json").outbuf)
    assert doc["checks"]["OSD_DOWN"]["summary"] == {"message": "1 osds down", "count": 1}


# -- random command sequences -------------------------------------------------------------------

_WORDS = st.sampled_from(
    [
        "0",
        "1",
        "2",
        "7",
        "osd.1",
        "any",
        "all",
        "p",
        "q",
        "e",
        "default",
        "h0",
        "h9",
        "host=h0",
        "root=default",
        "rack=r1",
        "root=r2",
        "1.0",
        "0.5",
        "-1",
        "8",
        "16",
        "4",
        "size",
        "min_size",
        "pg_num",
        "pgp_num",
        "crush_rule",
        "replicated_rule",
        "fast",
        "erasure",
        "replicated",
        "noout",
        "pause",
        "k=2",
        "m=1",
        "client.x",
        "mon",
        "allow r",
        "s1",
        "--yes-i-really-really-mean-it",
        "--yes-i-really-mean-it",
        "true",
        "osd",
        "global",
    ]
)
_PREFIXES = st.sampled_from(
    [
        "osd create",
        "osd rm",
        "osd in",
        "osd out",
        "osd down",
        "osd boot",
        "osd set",
        "osd unset",
        "osd reweight",
        "osd primary-affinity",
        "osd crush add",
        "osd crush set",
        "osd crush rm",
        "osd crush reweight",
        "osd crush move",
        "osd crush link",
        "osd crush add-bucket",
        "osd crush tunables",
        "osd crush rule create-replicated",
        "osd crush rule create-erasure",
        "osd crush rule rm",
        "osd pool create",
        "osd pool rm",
        "osd pool set",
        "osd pool get",
        "osd pool rename",
        "osd pool set-quota",
        "osd pool mksnap",
        "osd pool rmsnap",
        "osd pool application enable",
        "osd erasure-code-profile set",
        "osd erasure-code-profile rm",
        "auth get-or-create",
        "auth caps",
        "auth del",
        "config set",
        "config rm",
        "osd map",
        "osd tree",
        "osd dump",
        "health",
        "status",
        "osd pool ls detail",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_PREFIXES, st.lists(_WORDS, max_size=4)), min_size=1, max_size=25))
def test_random_sequences_only_produce_results(steps: list[tuple[str, list[str]]]) -> None:
    mon = with_osds(3)
    mon.ok("config set mon mon_allow_pool_delete true")
    replica = MonState.restore(mon.state.snapshot())
    for prefix, words in steps:
        try:
            cmd = parse_argv(prefix.split() + words)
        except Exception as e:  # only InvalidArgument may come out of the parser
            assert type(e).__name__ == "InvalidArgument", e
            continue
        before = mon.state.snapshot()
        result = handle_command(mon.state, cmd, mon.ctx())
        if isinstance(result, Propose):
            applied = mon.state.apply(result.entry)
            assert applied.rc == 0, (cmd, applied)
            assert replica.apply(result.entry).rc == 0
        else:
            assert isinstance(result, CommandResult)
            assert mon.state.snapshot() == before
    assert replica.snapshot() == mon.state.snapshot()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 30))
def test_up_and_in_change_stamps_follow_the_up_and_in_sets(seed: int, steps: int) -> None:
    # commit_osdmap looks only at OSDs whose state or reweight changed; it must stamp a
    # change exactly when the set of up (in) OSDs differs, max_osd changes included.
    rng = random.Random(seed)
    state = MonState.bootstrap(FSID)
    for step in range(steps):
        old = state.osdmap
        new = old.copy()
        for _ in range(rng.randrange(1, 4)):
            _mutate(new, rng)
        stamp = float(step + 1)
        state.commit_osdmap(new, stamp)
        up = [{o for o in range(m.max_osd) if m.is_up(o)} for m in (old, new)]
        in_ = [{o for o in range(m.max_osd) if m.is_in(o)} for m in (old, new)]
        assert (state.last_up_change == stamp) == (up[0] != up[1])
        assert (state.last_in_change == stamp) == (in_[0] != in_[1])
