"""What the PG states mean for health, as pure functions of the current PG stats:
stuck PGs (`ceph pg dump_stuck`), degraded/misplaced/unfound object sums, and the
checks PG_AVAILABILITY, PG_DEGRADED, PG_DAMAGED, PG_RECOVERY_FULL, PG_BACKFILL_FULL,
OBJECT_MISPLACED and OBJECT_UNFOUND with Ceph's wording (``PGMap::get_health_checks``).

A state counts at once (``degraded``, ``down``, ``incomplete``...) or only once the PG
has been stuck in it for ``mon_pg_stuck_threshold`` (``peering``, ``undersized``,
``stale``, and not ``active`` or not ``clean``, named ``inactive``/``unclean``), measured
from the stamp of the last time the PG was seen without the problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from radospy.mon.health import HealthCheck
from radospy.mon.messages import PgStat
from radospy.mon.osd_output import timespan_str
from radospy.mon.pgmap import UNKNOWN

STUCK_KINDS = ("inactive", "unclean", "stale", "undersized", "degraded")
"""What `ceph pg dump_stuck` can ask for."""


@dataclass(frozen=True)
class _Rule:
    state: str
    """The state word (``active`` for the inverted ``inactive``)."""
    code: str
    name: str
    """How the summary names it."""
    since: str = ""
    """The stamp a stuck PG is measured from; empty: the state counts at once."""
    inverted: bool = False


# In the order of the state bits, as Ceph iterates them: a PG's detail line is the one
# of the last rule it matches.
_RULES = (
    _Rule("active", "PG_AVAILABILITY", "inactive", "last_active", inverted=True),
    _Rule("clean", "PG_DEGRADED", "unclean", "last_clean", inverted=True),
    _Rule("down", "PG_AVAILABILITY", "down"),
    _Rule("recovery_unfound", "PG_DAMAGED", "recovery_unfound"),
    _Rule("backfill_unfound", "PG_DAMAGED", "backfill_unfound"),
    _Rule("degraded", "PG_DEGRADED", "degraded"),
    _Rule("inconsistent", "PG_DAMAGED", "inconsistent"),
    _Rule("peering", "PG_AVAILABILITY", "peering", "last_peered"),
    _Rule("incomplete", "PG_AVAILABILITY", "incomplete"),
    _Rule("stale", "PG_AVAILABILITY", "stale", "last_unstale"),
    _Rule("backfill_toofull", "PG_BACKFILL_FULL", "backfill_toofull"),
    _Rule("recovery_toofull", "PG_RECOVERY_FULL", "recovery_toofull"),
    _Rule("undersized", "PG_DEGRADED", "undersized", "last_fullsized"),
)

_SUMMARY = {
    "PG_AVAILABILITY": ("Reduced data availability: ", "HEALTH_WARN"),
    "PG_BACKFILL_FULL": (
        "Low space hindering backfill (add storage if this doesn't resolve itself): ",
        "HEALTH_WARN",
    ),
    "PG_DAMAGED": ("Possible data damage: ", "HEALTH_ERR"),
    "PG_DEGRADED": ("Degraded data redundancy: ", "HEALTH_WARN"),
    "PG_RECOVERY_FULL": ("Degraded data redundancy (low space): ", "HEALTH_ERR"),
}


def states(pg: PgStat) -> set[str]:
    """The words of a PG's state (``unknown`` has none)."""
    return set() if pg.state == UNKNOWN else set(pg.state.split("+"))


def stuck_since(pg: PgStat, kind: str) -> float | None:
    """When ``pg`` was last seen without the problem ``kind`` (one of `STUCK_KINDS`),
    or None when it does not have that problem now."""
    words = states(pg)
    if kind == "inactive":
        return None if "active" in words else pg.last_active
    if kind == "unclean":
        return None if "clean" in words else pg.last_clean
    if kind == "stale":
        return pg.last_unstale if "stale" in words else None
    if kind == "undersized":
        return pg.last_fullsized if "undersized" in words else None
    if kind == "degraded":
        return pg.last_undegraded if "degraded" in words else None
    raise ValueError(f"unknown stuck kind {kind}")


def stuck(rows: Iterable[PgStat], kinds: Iterable[str], cutoff: float) -> list[PgStat]:
    """The PGs stuck in any of ``kinds`` since before ``cutoff`` (`get_stuck_stats`)."""
    wanted = tuple(kinds)
    out = []
    for pg in rows:
        for kind in wanted:
            since = stuck_since(pg, kind)
            if since is not None and since < cutoff:
                out.append(pg)
                break
    return out


@dataclass(frozen=True)
class ObjectSums:
    """Degraded, misplaced and unfound objects over all reported PGs."""

    degraded: int = 0
    misplaced: int = 0
    unfound: int = 0
    copies: int = 0
    objects: int = 0

    def lines(self) -> list[str]:
        """``4897/14691 objects degraded (33.333%)`` and friends, those not zero."""
        out = []
        if self.degraded and self.copies:
            out.append(_ratio(self.degraded, self.copies, "degraded"))
        if self.misplaced and self.copies:
            out.append(_ratio(self.misplaced, self.copies, "misplaced"))
        if self.unfound and self.objects:
            out.append(_ratio(self.unfound, self.objects, "unfound"))
        return out

    def json(self) -> dict[str, float]:
        """The ``recovery`` object of `ceph osd pool stats` / `ceph -s`."""
        out: dict[str, float] = {}
        if self.degraded and self.copies:
            out |= {
                "degraded_objects": self.degraded,
                "degraded_total": self.copies,
                "degraded_ratio": self.degraded / self.copies,
            }
        if self.misplaced and self.copies:
            out |= {
                "misplaced_objects": self.misplaced,
                "misplaced_total": self.copies,
                "misplaced_ratio": self.misplaced / self.copies,
            }
        if self.unfound and self.objects:
            out |= {
                "unfound_objects": self.unfound,
                "unfound_total": self.objects,
                "unfound_ratio": self.unfound / self.objects,
            }
        return out


def _ratio(part: int, whole: int, word: str) -> str:
    return f"{part}/{whole} objects {word} ({100.0 * part / whole:.3f}%)"


def object_sums(rows: Iterable[PgStat]) -> ObjectSums:
    """The sums over ``rows``."""
    degraded = misplaced = unfound = copies = objects = 0
    for pg in rows:
        degraded += pg.num_objects_degraded
        misplaced += pg.num_objects_misplaced
        unfound += pg.num_objects_unfound
        copies += pg.num_object_copies
        objects += pg.num_objects
    return ObjectSums(degraded, misplaced, unfound, copies, objects)


def pg_health_checks(rows: list[PgStat], now: float, threshold: float) -> dict[str, HealthCheck]:
    """The PG and object checks that fail, by code."""
    cutoff = now - threshold
    counts: dict[str, dict[str, int]] = {}
    messages: dict[str, dict[tuple[int, int], str]] = {}
    for pg in rows:
        words = states(pg)
        for rule in _RULES:
            has = rule.state in words
            if has == rule.inverted:
                continue
            stuck_for = None
            if rule.since:
                since = getattr(pg, rule.since)
                if since >= cutoff:
                    continue
                stuck_for = now - since
            per_code = counts.setdefault(rule.code, {})
            per_code[rule.name] = per_code.get(rule.name, 0) + 1
            if stuck_for is None:
                text = f"pg {_pgid(pg)} is {pg.state}, acting {_osds(pg.acting)}"
            else:
                text = (
                    f"pg {_pgid(pg)} is stuck {rule.name} for {timespan_str(stuck_for)}, "
                    f"current state {pg.state}, last acting {_osds(pg.acting)}"
                )
            messages.setdefault(rule.code, {})[(pg.pool, pg.seed)] = text
    sums = object_sums(rows)
    checks: dict[str, HealthCheck] = {}
    if sums.degraded and sums.copies:
        counts.setdefault("PG_DEGRADED", {})
    for code, per_state in counts.items():
        prefix, severity = _SUMMARY[code]
        parts = []
        if code == "PG_DEGRADED" and sums.degraded and sums.copies:
            parts.append(_ratio(sums.degraded, sums.copies, "degraded"))
        order = [r.name for r in _RULES]
        for name in sorted(per_state, key=order.index):
            n = per_state[name]
            parts.append(f"{n} {'pgs' if n > 1 else 'pg'} {name}")
        detail = [m for _, m in sorted(messages.get(code, {}).items())]
        checks[code] = HealthCheck(prefix + ", ".join(parts), sum(per_state.values()), detail,
                                   severity)  # fmt: skip
    if sums.misplaced and sums.copies:
        checks["OBJECT_MISPLACED"] = HealthCheck(
            _ratio(sums.misplaced, sums.copies, "misplaced"), sums.misplaced
        )
    if sums.unfound and sums.objects:
        checks["OBJECT_UNFOUND"] = HealthCheck(
            _ratio(sums.unfound, sums.objects, "unfound"), sums.unfound
        )
    return checks


def _pgid(pg: PgStat) -> str:
    return f"{pg.pool}.{pg.seed:x}"


def _osds(osds: Iterable[int]) -> str:
    return "[" + ",".join(str(o) for o in osds) + "]"
