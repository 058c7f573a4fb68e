"""How `ceph pg dump`, `ceph pg ls` and their JSON forms print PG and OSD stats
(``PGMap::dump_*``, ``pg_stat_t::dump``), as pure functions of the stats.

Columns, alignments and JSON keys are Ceph 16's. Fields radospy does not keep (hit
sets, cache tiering, snap trim queues) print as
Ceph prints an untouched ``pg_stat_t``: zeros, ``0'0`` and empty lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from radospy.common.units import byte_u, si_u
from radospy.crush.treedump import Align, Column, TextTable
from radospy.mon.messages import OsdStat, PgStat
from radospy.mon.osd_output import timespan_str
from radospy.mon.pgmap import IoRates
from radospy.mon.state import format_stamp

OMAP_NOTE = (
    "* NOTE: Omap statistics are gathered during deep scrub and may be inaccurate soon "
    "afterwards depending on utilization. See http://docs.ceph.com/en/latest/dev/"
    "placement-group/#omap-statistics for further details."
)
"""The footnote under every table with the starred OMAP columns."""


def pgid(pg: PgStat) -> str:
    """``1.1f``: pool, then the seed in hex."""
    return f"{pg.pool}.{pg.seed:x}"


def osds(values: Iterable[int]) -> str:
    """``[1,0,2]``."""
    return "[" + ",".join(str(o) for o in values) + "]"


def stamp(t: float) -> str:
    """A `utime_t`: zero prints ``0.000000`` as Ceph's does."""
    return format_stamp(t) if t else "0.000000"


def reported(pg: PgStat) -> str:
    """``REPORTED``: ``epoch:seq``."""
    return f"{pg.reported_epoch}:{pg.reported_seq}"


# --- sums ----------------------------------------------------------------------------------


@dataclass
class StatSum:
    """The `object_stat_sum_t` figures radospy keeps, summable over PGs."""

    num_bytes: int = 0
    num_objects: int = 0
    num_object_copies: int = 0
    num_objects_missing_on_primary: int = 0
    num_objects_degraded: int = 0
    num_objects_misplaced: int = 0
    num_objects_unfound: int = 0
    num_read: int = 0
    num_read_kb: int = 0
    num_write: int = 0
    num_write_kb: int = 0
    num_objects_recovered: int = 0
    num_bytes_recovered: int = 0
    num_keys_recovered: int = 0
    num_omap_bytes: int = 0
    num_omap_keys: int = 0
    log_size: int = 0
    ondisk_log_size: int = 0
    num_pgs: int = 0

    def add(self, pg: PgStat) -> None:
        """Add one PG's figures."""
        for f in fields(self):
            if f.name != "num_pgs":
                setattr(self, f.name, getattr(self, f.name) + getattr(pg, f.name))
        self.num_pgs += 1


def sum_of(rows: Iterable[PgStat]) -> StatSum:
    """The sum over ``rows``."""
    total = StatSum()
    for pg in rows:
        total.add(pg)
    return total


def pool_sums(rows: Iterable[PgStat]) -> dict[int, StatSum]:
    """The sums per pool, by pool id."""
    out: dict[int, StatSum] = {}
    for pg in rows:
        out.setdefault(pg.pool, StatSum()).add(pg)
    return dict(sorted(out.items()))


_ZERO_SUM_KEYS = (
    "num_object_clones", "num_object_copies", "num_objects_missing_on_primary",
    "num_objects_missing", "num_objects_degraded", "num_objects_misplaced",
    "num_objects_unfound", "num_objects_dirty", "num_whiteouts", "num_read", "num_read_kb",
    "num_write", "num_write_kb", "num_scrub_errors", "num_shallow_scrub_errors",
    "num_deep_scrub_errors", "num_objects_recovered", "num_bytes_recovered",
    "num_keys_recovered", "num_objects_omap", "num_objects_hit_set_archive",
    "num_bytes_hit_set_archive", "num_flush", "num_flush_kb", "num_evict", "num_evict_kb",
    "num_promote", "num_flush_mode_high", "num_flush_mode_low", "num_evict_mode_some",
    "num_evict_mode_full", "num_objects_pinned", "num_legacy_snapsets",
    "num_large_omap_objects", "num_objects_manifest", "num_omap_bytes", "num_omap_keys",
    "num_objects_repaired",
)  # fmt: skip
"""`object_stat_sum_t::dump`'s keys after num_bytes and num_objects, in its order."""


def stat_sum_json(src: PgStat | StatSum) -> dict[str, int]:
    """``stat_sum``: every key Ceph prints, those radospy does not count as 0."""
    out = {"num_bytes": src.num_bytes, "num_objects": src.num_objects}
    for key in _ZERO_SUM_KEYS:
        out[key] = getattr(src, key, 0)
    out["num_objects_dirty"] = src.num_objects
    return out


# --- one PG --------------------------------------------------------------------------------


def pg_json(pg: PgStat) -> dict[str, Any]:
    """``pg_stat_t::dump`` (what `pg dump pgs`, `pg ls` and `pg query` print per PG)."""
    return {
        "pgid": pgid(pg),
        "version": str(pg.version),
        "reported_seq": pg.reported_seq,
        "reported_epoch": pg.reported_epoch,
        "state": pg.state,
        "last_fresh": stamp(pg.last_fresh),
        "last_change": stamp(pg.last_change),
        "last_active": stamp(pg.last_active),
        "last_peered": stamp(pg.last_peered),
        "last_clean": stamp(pg.last_clean),
        "last_became_active": stamp(pg.last_became_active),
        "last_became_peered": stamp(pg.last_became_active),
        "last_unstale": stamp(pg.last_unstale),
        "last_undegraded": stamp(pg.last_undegraded),
        "last_fullsized": stamp(pg.last_fullsized),
        "mapping_epoch": pg.mapping_epoch,
        "log_start": str(pg.log_tail),
        "ondisk_log_start": str(pg.log_tail),
        "created": 0,
        "last_epoch_clean": pg.last_epoch_clean,
        "parent": "0.0",
        "parent_split_bits": 0,
        "last_scrub": pg.last_scrub,
        "last_scrub_stamp": stamp(pg.last_scrub_stamp),
        "last_deep_scrub": pg.last_deep_scrub,
        "last_deep_scrub_stamp": stamp(pg.last_deep_scrub_stamp),
        "last_clean_scrub_stamp": stamp(pg.last_scrub_stamp),
        "log_size": pg.log_size,
        "ondisk_log_size": pg.ondisk_log_size,
        "stats_invalid": False,
        "dirty_stats_invalid": False,
        "omap_stats_invalid": False,
        "hitset_stats_invalid": False,
        "hitset_bytes_stats_invalid": False,
        "pin_stats_invalid": False,
        "manifest_stats_invalid": False,
        "snaptrimq_len": 0,
        "stat_sum": stat_sum_json(pg),
        "up": list(pg.up),
        "acting": list(pg.acting),
        "avail_no_missing": [],
        "object_location_counts": [],
        "blocked_by": list(pg.blocked_by),
        "up_primary": pg.up_primary,
        "acting_primary": pg.acting_primary,
        "purged_snaps": [],
    }


def brief_json(pg: PgStat) -> dict[str, Any]:
    """A `pgs_brief` entry."""
    return {
        "pgid": pgid(pg),
        "state": pg.state,
        "up": list(pg.up),
        "acting": list(pg.acting),
        "up_primary": pg.up_primary,
        "acting_primary": pg.acting_primary,
    }


# --- tables --------------------------------------------------------------------------------


def _table(headings: Sequence[tuple[str, Align]]) -> TextTable:
    return TextTable([Column(h, Align.LEFT, a) for h, a in headings])


_L, _R = Align.LEFT, Align.RIGHT

_PGS_COLUMNS = (
    ("PG_STAT", _L), ("OBJECTS", _R), ("MISSING_ON_PRIMARY", _R), ("DEGRADED", _R),
    ("MISPLACED", _R), ("UNFOUND", _R), ("BYTES", _R), ("OMAP_BYTES*", _R),
    ("OMAP_KEYS*", _R), ("LOG", _R), ("DISK_LOG", _R), ("STATE", _R), ("STATE_STAMP", _R),
    ("VERSION", _R), ("REPORTED", _R), ("UP", _L), ("UP_PRIMARY", _R), ("ACTING", _L),
    ("ACTING_PRIMARY", _R), ("LAST_SCRUB", _R), ("SCRUB_STAMP", _R),
    ("LAST_DEEP_SCRUB", _R), ("DEEP_SCRUB_STAMP", _R), ("SNAPTRIMQ_LEN", _R),
)  # fmt: skip

_SUM_HEADINGS = (
    "OBJECTS", "MISSING_ON_PRIMARY", "DEGRADED", "MISPLACED", "UNFOUND", "BYTES",
    "OMAP_BYTES*", "OMAP_KEYS*", "LOG", "DISK_LOG",
)  # fmt: skip


def _sum_cells(s: StatSum) -> list[str]:
    values = (
        s.num_objects, s.num_objects_missing_on_primary, s.num_objects_degraded,
        s.num_objects_misplaced, s.num_objects_unfound, s.num_bytes, s.num_omap_bytes,
        s.num_omap_keys, s.log_size, s.ondisk_log_size,
    )  # fmt: skip
    return [str(v) for v in values]


def pgs_table(rows: Iterable[PgStat]) -> str:
    """The `pg dump pgs` table."""
    table = _table(_PGS_COLUMNS)
    for pg in rows:
        table.add_row([
            pgid(pg), str(pg.num_objects), str(pg.num_objects_missing_on_primary),
            str(pg.num_objects_degraded), str(pg.num_objects_misplaced),
            str(pg.num_objects_unfound), str(pg.num_bytes), str(pg.num_omap_bytes),
            str(pg.num_omap_keys), str(pg.log_size), str(pg.ondisk_log_size), pg.state,
            stamp(pg.last_change), str(pg.version), reported(pg), osds(pg.up),
            str(pg.up_primary), osds(pg.acting), str(pg.acting_primary), pg.last_scrub,
            stamp(pg.last_scrub_stamp), pg.last_deep_scrub, stamp(pg.last_deep_scrub_stamp),
            "0",
        ])  # fmt: skip
    return table.render()


def brief_table(rows: Iterable[PgStat]) -> str:
    """The `pg dump pgs_brief` (and `dump_stuck`) table."""
    table = _table((("PG_STAT", _L), ("STATE", _R), ("UP", _L), ("UP_PRIMARY", _R),
                    ("ACTING", _L), ("ACTING_PRIMARY", _R)))  # fmt: skip
    for pg in rows:
        table.add_row([pgid(pg), pg.state, osds(pg.up), str(pg.up_primary), osds(pg.acting),
                       str(pg.acting_primary)])  # fmt: skip
    return table.render()


def pool_sum_table(sums: dict[int, StatSum], heading: bool) -> str:
    """The per-pool sums: headed ``POOLID`` (`pg dump pools`) or, under the PG table of
    `pg dump`, with blank headings."""
    first = "POOLID" if heading else ""
    names = _SUM_HEADINGS if heading else ("",) * len(_SUM_HEADINGS)
    table = _table(((first, _L), *((n, _R) for n in names)))
    for pool, s in sorted(sums.items(), reverse=True):
        table.add_row([str(pool), *_sum_cells(s)])
    return table.render()


def total_table(total: StatSum, heading: bool) -> str:
    """The ``sum`` row: headed ``PG_STAT`` (`pg dump summary`) or blank-headed."""
    first = "PG_STAT" if heading else ""
    names = _SUM_HEADINGS if heading else ("",) * len(_SUM_HEADINGS)
    table = _table(((first, _L), *((n, _R) for n in names)))
    table.add_row(["sum", *_sum_cells(total)])
    return table.render()


def osd_table(stats: dict[int, OsdStat], primaries: dict[int, int], summary: bool) -> str:
    """The ``OSD_STAT`` table (``summary``: only the sum row)."""
    headings = [("OSD_STAT", _L), ("USED", _R), ("AVAIL", _R), ("USED_RAW", _R), ("TOTAL", _R)]
    if not summary:
        headings += [("HB_PEERS", _R), ("PG_SUM", _R), ("PRIMARY_PG_SUM", _R)]
    table = _table(headings)

    def usage(total: int, avail: int, data: int) -> list[str]:
        used = max(0, total - avail)
        return [byte_u(used), byte_u(avail), byte_u(used), byte_u(total)]

    if not summary:
        for osd, st in sorted(stats.items(), reverse=True):
            table.add_row([str(osd), *usage(st.total, st.available, st.data), "[]",
                           str(st.num_pgs), str(primaries.get(osd, 0))])  # fmt: skip
    total = sum(s.total for s in stats.values())
    avail = sum(s.available for s in stats.values())
    table.add_row(["sum", *usage(total, avail, 0)])
    return table.render()


def osd_stat_json(osd: int | None, st: OsdStat, num_osds: int = 1) -> dict[str, Any]:
    """``osd_stat_t::dump`` (the parts radospy keeps; ``osd`` None for the sum)."""
    used = max(0, st.total - st.available)
    out: dict[str, Any] = {} if osd is None else {"osd": osd}
    out |= {
        "up_from": 0,
        "seq": 0,
        "num_pgs": st.num_pgs,
        "num_osds": num_osds,
        "num_per_pool_osds": 0,
        "num_per_pool_omap_osds": 0,
        "kb": st.total >> 10,
        "kb_used": used >> 10,
        "kb_used_data": st.data >> 10,
        "kb_used_omap": st.omap >> 10,
        "kb_used_meta": 0,
        "kb_avail": st.available >> 10,
        "statfs": {
            "total": st.total,
            "available": st.available,
            "internally_reserved": 0,
            "allocated": used,
            "data_stored": st.data,
            "data_compressed": 0,
            "data_compressed_allocated": 0,
            "data_compressed_original": 0,
            "omap_allocated": st.omap,
            "internal_metadata": 0,
        },
        "hb_peers": [],
        "snap_trim_queue_len": 0,
        "num_snap_trimming": 0,
        "num_shards_repaired": 0,
        "op_queue_age_hist": {"histogram": [], "upper_bound": 1},
        "perf_stat": {
            "commit_latency_ms": 0,
            "apply_latency_ms": 0,
            "commit_latency_ns": 0,
            "apply_latency_ns": 0,
        },
        "alerts": [],
    }
    return out


def sum_json(s: StatSum) -> dict[str, Any]:
    """A ``pool_stat_t`` dump body (``stat_sum``, log sizes, up/acting counts)."""
    return {
        "stat_sum": stat_sum_json(s),
        "log_size": s.log_size,
        "ondisk_log_size": s.ondisk_log_size,
        "up": s.num_pgs,
        "acting": s.num_pgs,
        "num_store_stats": 0,
    }


_LS_COLUMNS = (
    ("PG", _L), ("OBJECTS", _R), ("DEGRADED", _R), ("MISPLACED", _R), ("UNFOUND", _R),
    ("BYTES", _R), ("OMAP_BYTES*", _R), ("OMAP_KEYS*", _R), ("LOG", _R), ("STATE", _R),
    ("SINCE", _R), ("VERSION", _R), ("REPORTED", _R), ("UP", _L), ("ACTING", _L),
    ("SCRUB_STAMP", _R), ("DEEP_SCRUB_STAMP", _R),
)  # fmt: skip


def ls_table(rows: Iterable[PgStat], now: float) -> str:
    """`ceph pg ls` (``PGMap::dump_filtered_pg_stats``), footnote included."""
    table = _table(_LS_COLUMNS)
    for pg in rows:
        table.add_row([
            pgid(pg), str(pg.num_objects), str(pg.num_objects_degraded),
            str(pg.num_objects_misplaced), str(pg.num_objects_unfound), str(pg.num_bytes),
            str(pg.num_omap_bytes), str(pg.num_omap_keys), str(pg.log_size), pg.state,
            timespan_str(now - pg.last_change), str(pg.version), reported(pg),
            f"{osds(pg.up)}p{pg.up_primary}", f"{osds(pg.acting)}p{pg.acting_primary}",
            stamp(pg.last_scrub_stamp), stamp(pg.last_deep_scrub_stamp),
        ])  # fmt: skip
    return table.render() + "\n" + OMAP_NOTE + "\n"


# --- rates ---------------------------------------------------------------------------------


def client_io(rates: IoRates) -> str:
    """``5.4 MiB/s wr, 0 op/s rd, 344 op/s wr`` (``client_io_rate_summary``); empty
    without client ops."""
    if not rates.client:
        return ""
    ops = f"{si_u(int(rates.read_ops))} op/s rd, {si_u(int(rates.write_ops))} op/s wr"
    return _io_bytes(rates) + ops


def client_io_oneline(rates: IoRates) -> str:
    """``7.7 MiB/s wr, 490 op/s`` as `ceph pg stat` prints it."""
    if not rates.client:
        return ""
    return _io_bytes(rates) + f"{si_u(int(rates.read_ops + rates.write_ops))} op/s"


def _io_bytes(rates: IoRates) -> str:
    text = ""
    if rates.read_bytes:
        text += f"{byte_u(int(rates.read_bytes))}/s rd, "
    if rates.write_bytes:
        text += f"{byte_u(int(rates.write_bytes))}/s wr, "
    return text


def client_io_json(rates: IoRates) -> dict[str, int]:
    """The ``client_io_rate`` object (empty without client ops)."""
    if not rates.client:
        return {}
    out = {}
    if rates.read_bytes:
        out["read_bytes_sec"] = int(rates.read_bytes)
    if rates.write_bytes:
        out["write_bytes_sec"] = int(rates.write_bytes)
    out["read_op_per_sec"] = int(rates.read_ops)
    out["write_op_per_sec"] = int(rates.write_ops)
    return out


def recovery_io(rates: IoRates) -> str:
    """``499 KiB/s, 7 objects/s`` (``recovery_rate_summary``); empty when idle."""
    if not rates.recovery:
        return ""
    text = f"{byte_u(int(rates.recovered_bytes))}/s"
    if int(rates.recovered_keys):
        text += f", {si_u(int(rates.recovered_keys))} keys/s"
    return text + f", {si_u(int(rates.recovered_objects))} objects/s"


def recovery_io_json(rates: IoRates, window: float) -> dict[str, int]:
    """The ``recovery_rate`` object (empty when idle)."""
    if not rates.recovery:
        return {}
    return {
        "recovering_objects_per_sec": int(rates.recovered_objects),
        "recovering_bytes_per_sec": int(rates.recovered_bytes),
        "recovering_keys_per_sec": int(rates.recovered_keys),
        "num_objects_recovered": int(rates.recovered_objects * window),
        "num_bytes_recovered": int(rates.recovered_bytes * window),
        "num_keys_recovered": int(rates.recovered_keys * window),
    }
