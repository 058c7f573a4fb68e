"""The pure half of `radospy rados bench`: number formatting, names, contents,
metadata, and ObjBencher's per-second rows and summaries against Ceph's own output."""

from __future__ import annotations

import math
import re
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radospy.cli.rados_bench import (
    BenchMetadata,
    BenchStats,
    ContentsCheck,
    num,
    object_name,
    object_prefix,
    op_contents,
    stamp,
    strict_iec,
)

# Captured from Ceph 16.2.15's `rados bench 3 write -b 4K -t 16` on this machine.
CEPH_WRITE = """\
  sec Cur ops   started  finished  avg MB/s  cur MB/s last lat(s)  avg lat(s)
    0      16        16         0         0         0           -           0
    1      16      1931      1915    7.4766   7.48047  0.00613366   0.0083183
Total time run:         3.00437
Total writes made:      5652
Write size:             4096
Object size:            4096
Bandwidth (MB/sec):     7.34866
Stddev Bandwidth:       0.125508
Max bandwidth (MB/sec): 7.48047
Min bandwidth (MB/sec): 7.24219
Average IOPS:           1881
Stddev IOPS:            32.1299
Max IOPS:               1915
Min IOPS:               1854
Average Latency(s):     0.00850026
Stddev Latency(s):      0.0026989
Max latency(s):         0.0231263
Min latency(s):         0.00240641
"""

CEPH_READ = """\
Total time run:       0.526151
Total reads made:     5652
Read size:            4096
Object size:          4096
Bandwidth (MB/sec):   41.9616
Average IOPS:         10742
Stddev IOPS:          0
Max IOPS:             5649
Min IOPS:             5649
Average Latency(s):   0.00148235
Max latency(s):       0.0139956
Min latency(s):       0.000142974
"""


def _labels(text: str) -> list[str]:
    """Each summary line up to where its value starts (label plus padding)."""
    return [re.match(r"^\D*?:\s*", line).group(0) for line in text.splitlines()]  # type: ignore[union-attr]


def test_numbers_print_as_cpp_ostream() -> None:
    assert num(7.476604) == "7.4766"
    assert num(5.9399e-05) == "5.9399e-05"
    assert num(0.0) == "0"
    assert num(256.5) == "256.5"
    assert num(1.7976931348623157e308) == "1.79769e+308"
    assert num(1234567.0) == "1.23457e+06"
    assert num(math.nan) == "nan"


def test_strict_iec() -> None:
    assert strict_iec("4096") == 4096
    assert strict_iec("4K") == 4096
    assert strict_iec("4M") == 4 << 20
    assert strict_iec("1Gi") == 1 << 30
    with pytest.raises(ValueError, match=r"illegal prefix \(length > 2\)"):
        strict_iec("abc")
    with pytest.raises(ValueError, match="value should not be negative"):
        strict_iec("-3")
    with pytest.raises(ValueError, match="expected integer"):
        strict_iec("K")


def test_names_and_contents() -> None:
    assert object_prefix("vm", 26759) == "benchmark_data_vm_26759"
    assert object_name("vm", 26759, 12) == "benchmark_data_vm_26759_object12"
    assert object_prefix("h" * 40, 1) == "benchmark_data_" + "h" * 29 + "_1"
    data = op_contents(7, 4096)
    assert len(data) == 4096
    assert data.startswith(b"I'm the                7th op!\0zz")
    assert set(data[31:]) == {ord("z")}
    assert op_contents(7, 10) == b"I'm the  \0"
    assert op_contents(1, 0) == b""


@given(
    op_size=st.integers(0, 5000),
    indexes=st.lists(st.integers(0, 10**18), min_size=1, max_size=6),
    flip=st.integers(0, 10**6),
)
def test_contents_check_is_op_contents_compared(
    op_size: int, indexes: list[int], flip: int
) -> None:
    """What a read is checked against is `op_contents`, whatever ops were checked
    before (one buffer serves every check), for bytes and for views."""
    check = ContentsCheck(op_size)
    for index in indexes:
        good = op_contents(index, op_size)
        assert check.matches(index, good)
        assert check.matches(index, memoryview(bytearray(good)).toreadonly())
        assert not check.matches(index, good + b"z")
        if op_size:
            assert not check.matches(index, good[:-1])
            bad = bytearray(good)
            bad[flip % op_size] ^= 1
            assert not check.matches(index, memoryview(bad))
            if op_contents(index + 1, op_size) != good:
                assert not check.matches(index + 1, good)


@given(
    st.integers(1, 1 << 40), st.integers(0, 2**31 - 1), st.integers(0, 2**31 - 1),
    st.integers(1, 1 << 40),
)  # fmt: skip
def test_metadata_round_trip(object_size: int, ops: int, pid: int, op_size: int) -> None:
    meta = BenchMetadata(object_size, ops, pid, op_size)
    assert BenchMetadata.decode(meta.encode()) == meta
    assert meta.num_objects * meta.ops_per_object >= ops


def test_metadata_objects_from_ops() -> None:
    assert BenchMetadata(4096, 10, 1, 1024).num_objects == 3
    assert BenchMetadata(4096, 10, 1, 4096).num_objects == 10
    with pytest.raises(ValueError):
        BenchMetadata.decode(b"\0" * 5)


def test_rows_match_ceph() -> None:
    stats = BenchStats(4096, 4096)
    for _ in range(16):
        stats.start_op()
    lines = stats.tick(0.0005, "x")
    assert lines == CEPH_WRITE.splitlines()[:2]
    for _ in range(1915):
        stats.start_op()
        stats.finish_op(0.0083183)
    stats.started = 1931
    stats.cur_latency = 0.00613366
    row = stats.tick(1915 * 4096 / 7.4766 / 2**20, "x")
    assert row == [CEPH_WRITE.splitlines()[2]]


def test_header_repeats_every_20_rows_and_idle_seconds() -> None:
    stats = BenchStats(4 << 20, 4 << 20)
    stats.start_op()
    out = []
    for sec in range(41):
        out += stats.tick(sec + 0.001, "2026-11-28T17:05:42.313805+0000")
    headers = [i for i, line in enumerate(out) if line.lstrip().startswith("sec Cur ops")]
    assert headers == [0, 22, 44]
    assert out[21].startswith("2026-11-28T17:05:42.313805+0000 min lat: 9999 max lat: 0")
    assert out[3] == "    2       1         1         0         0         0           -           0"
    assert stats.bandwidths == [0.0] * 40 and stats.min_iops == 0


def test_summaries_have_cephs_labels() -> None:
    stats = BenchStats(4096, 4096)
    assert _labels("\n".join(stats.write_summary(3.0))) == _labels(CEPH_WRITE.split("\n", 3)[3])
    assert _labels("\n".join(stats.read_summary(3.0))) == _labels(CEPH_READ)


@given(st.lists(st.floats(0.0001, 10.0), min_size=2, max_size=50))
def test_latency_stats(latencies: list[float]) -> None:
    stats = BenchStats(4096, 4096)
    for lat in latencies:
        stats.start_op()
        stats.finish_op(lat)
    summary = dict(line.split(":", 1) for line in stats.write_summary(1.0))
    assert stats.finished == len(latencies) and stats.in_flight == 0
    assert stats.avg_latency == pytest.approx(statistics.fmean(latencies))
    assert float(summary["Stddev Latency(s)"]) == pytest.approx(
        statistics.stdev(latencies), rel=1e-4, abs=1e-9
    )
    assert float(summary["Max latency(s)"]) == pytest.approx(max(latencies), rel=1e-5)


def test_single_row_run_takes_the_average_as_iops_extremes() -> None:
    stats = BenchStats(4096, 4096)
    stats.tick(0.0, "x")
    for _ in range(33):
        stats.start_op()
        stats.finish_op(0.01)
    stats.printer_done(1.01)
    assert (stats.max_iops, stats.min_iops) == (32, 32)


def test_stamp_shape() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d{4}", stamp(1.5e9 + 0.25))
