"""What an OSD reports and the full checks of its write path (pure helpers)."""

from __future__ import annotations

from errno import EDQUOT, ENOSPC

from hypothesis import given
from hypothesis import strategies as st

from radospy.common import osdop as o
from radospy.common.units import byte_u, lowprecision, percentify, si_u
from radospy.mon.messages import OsdStat
from radospy.osd import report
from radospy.osd.objectstore import ObjectId, Transaction
from radospy.osd.objectstore.types import StatFs
from radospy.osdmap.pool import Pool, PoolFlag

MIB = 1 << 20


def test_capacity_caps_what_an_osd_reports() -> None:
    fs = StatFs(total=100 << 30, available=50 << 30, used=3 * MIB, stored=2 * MIB, num_objects=4)
    capped = report.osd_stat(fs, 8 * MIB, 5)
    assert (capped.total, capped.available, capped.data, capped.num_pgs) == (8 * MIB, 5 * MIB,
                                                                            2 * MIB, 5)  # fmt: skip
    free = report.osd_stat(fs, 0, 5)
    assert (free.total, free.available) == (3 * MIB + (50 << 30), 50 << 30)
    over = report.osd_stat(fs, MIB, 0)
    assert over.available == 0


def errno_of(refusal: report.Refusal | None) -> int:
    return refusal.errno if refusal else 0


def test_full_pools_refuse_growing_writes_only() -> None:
    quota = Pool(id=1, name="q", flags=PoolFlag.HASHPSPOOL | PoolFlag.FULL | PoolFlag.FULL_QUOTA)
    full = Pool(id=2, name="f", flags=PoolFlag.HASHPSPOOL | PoolFlag.FULL)
    fine = Pool(id=3, name="ok")
    grow = [o.WriteFull(data=b"x")]
    assert errno_of(report.write_refusal(quota, grow, None)) == EDQUOT
    assert errno_of(report.write_refusal(full, grow, None)) == ENOSPC
    assert report.write_refusal(fine, grow, None) is None
    for shrinking in ([o.Remove()], [o.Truncate(size=0)], [o.OmapRmKeys(keys=["a"])]):
        assert report.write_refusal(quota, shrinking, None) is None
        assert report.write_refusal(full, shrinking, None) is None
    failsafe = OsdStat(total=100, available=2)
    assert errno_of(report.write_refusal(fine, grow, failsafe)) == ENOSPC
    assert report.write_refusal(fine, [o.Remove()], failsafe) is None


def test_failsafe_counts_writes_accepted_since_usage_was_measured() -> None:
    fine = Pool(id=3, name="ok")
    half = OsdStat(total=100 * MIB, available=50 * MIB)
    ops = [o.Write(offset=0, data=b"x" * MIB), o.Append(data=b"y" * 10), o.Remove()]
    assert report.growth(ops) == MIB + 10
    assert report.growth([o.WriteSame(offset=0, length=4096, data=b"ab")]) == 4096
    grow = [o.WriteFull(data=b"x")]
    assert report.write_refusal(fine, grow, half, pending=46 * MIB) is None
    assert errno_of(report.write_refusal(fine, grow, half, pending=48 * MIB)) == ENOSPC
    assert report.write_refusal(fine, [o.Remove()], half, pending=60 * MIB) is None


def test_a_replica_counts_the_data_it_is_sent() -> None:
    oid = ObjectId("obj")
    txn = (
        Transaction()
        .write("1.0_head", oid, 0, b"x" * MIB)
        .write("1.0_head", oid, MIB, b"y" * 10)
        .remove("1.0_head", ObjectId("old"))
    )
    assert report.replica_growth(txn) == MIB + 10
    assert report.replica_growth(Transaction().remove("1.0_head", oid)) == 0


def test_the_refusal_says_which_condition_decided() -> None:
    half = OsdStat(total=100 * MIB, available=50 * MIB)
    grow = [o.Append(data=b"x")]
    quota = Pool(id=1, name="q", flags=PoolFlag.FULL | PoolFlag.FULL_QUOTA)
    # Over the failsafe too: the pool's quota flag decides, as it is checked first.
    assert report.write_refusal(quota, grow, half, 48 * MIB) == report.Refusal(
        EDQUOT, "pool flag full_quota"
    )
    assert report.write_refusal(
        Pool(id=2, name="f", flags=PoolFlag.FULL), grow, half
    ) == report.Refusal(ENOSPC, "pool flag full")
    assert report.write_refusal(Pool(id=3, name="ok"), grow, half, 48 * MIB) == report.Refusal(
        ENOSPC,
        f"failsafe: {50 * MIB} bytes used + {48 * MIB} accepted since measured"
        f" > 97% of {100 * MIB}",
    )


_FLAGS = st.sampled_from(
    [PoolFlag(0), PoolFlag.FULL, PoolFlag.FULL | PoolFlag.FULL_QUOTA, PoolFlag.FULL_QUOTA]
)
_OPS = st.sampled_from(
    [[o.WriteFull(data=b"x")], [o.Remove()], [o.Truncate(size=0), o.SetXattr(name="a", value=b"")]]
)


@given(
    _FLAGS,
    _OPS,
    st.none() | st.builds(OsdStat, total=st.integers(0, 1000), available=st.integers(0, 1000)),
    st.integers(0, 1000),
)
def test_a_write_is_refused_exactly_when_a_full_condition_holds(
    flags: PoolFlag, ops: list[o.OsdOp], own: OsdStat | None, pending: int
) -> None:
    refusal = report.write_refusal(Pool(id=1, name="p", flags=flags), ops, own, pending)
    over_failsafe = (
        own is not None
        and own.total > 0
        and own.total - own.available + pending > own.total * report.FAILSAFE_FULL_RATIO
    )
    if not report.may_grow(ops):
        assert refusal is None
    elif flags & PoolFlag.FULL_QUOTA:
        assert refusal is not None and refusal.errno == EDQUOT
    elif flags & PoolFlag.FULL or over_failsafe:
        assert refusal is not None and refusal.errno == ENOSPC
        assert refusal.reason.startswith("pool flag full" if flags else "failsafe: ")
    else:
        assert refusal is None


def test_writes_accepted_while_usage_is_measured_stay_pending() -> None:
    pending = report.PendingGrowth()
    pending.add(30 * MIB)
    mark = pending.mark()
    pending.add(4 * MIB)  # accepted while the statfs thread measures
    assert pending.bytes == 34 * MIB  # the old usage still needs all of it
    pending.measured(mark)
    assert pending.bytes == 4 * MIB


@given(st.lists(st.lists(st.integers(0, 1 << 22), max_size=5), min_size=2, max_size=6))
def test_pending_growth_is_what_was_accepted_since_the_usage_in_force_was_started(
    rounds: list[list[int]],
) -> None:
    """Rounds of writes, a measurement started between each two and taken after the
    next round's writes: the pending bytes are always those a check must add to the
    usage in force."""
    pending = report.PendingGrowth()
    for writes in rounds[0]:
        pending.add(writes)
    accepted = sum(rounds[0])
    since_usage = accepted  # no usage yet: everything is pending
    for writes in rounds[1:]:
        mark = pending.mark()
        started_at = accepted
        for n in writes:
            pending.add(n)
            accepted += n
            since_usage += n
            assert pending.bytes == since_usage
        pending.measured(mark)
        since_usage = accepted - started_at
        assert pending.bytes == since_usage


def test_ceph_number_formats() -> None:
    cases = [(0, "0 B"), (1023, "1023 B"), (1024, "1 KiB"), (1300, "1.3 KiB"),
             (16 * MIB + 5, "16 MiB"), (int(2.4 * MIB), "2.4 MiB"), (10239, "10 KiB")]  # fmt: skip
    assert [byte_u(v) for v in dict(cases)] == [t for _, t in cases]
    assert [si_u(v) for v in (0, 209, 391130, 1000)] == ["0", "209", "391.13k", "1k"]
    assert [percentify(v) for v in (0.0, 0.005, 42.987)] == ["0", "0", "42.99"]
    assert [lowprecision(v) for v in (-1.0, 0.0, 1.0)] == ["-", "0", "1.00"]


@given(st.integers(0, 1 << 62))
def test_byte_u_is_short_or_exact(value: int) -> None:
    text = byte_u(value)
    number, unit = text.split(" ")
    assert unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    assert len(text) <= 7 or "." not in number
