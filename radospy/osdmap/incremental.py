"""OSDMap incrementals: what changed from one epoch to the next (Ceph's
`OSDMap::Incremental`), so monitors keep and send small changes instead of full maps.

`diff(old, new)` is the Incremental that takes `old` to `new` (whose epoch is one
higher); `apply(old, inc)` makes that next map. `apply(old, diff(old, new))` encodes to
exactly what `new` encodes to. Like Ceph, a CRUSH change carries the whole CRUSH map
(in Ceph's binary encoding, which keeps class and shadow ids exact); everything else is
carried per item: OSD entries, pools, profiles and PG overrides that changed or went.

The map `apply` returns shares what did not change (the CRUSH map, unchanged OSD
entries and pools) with `old`: maps handed around this way are treated as immutable;
whoever wants to edit one deep-copies it first, as the monitor does.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec

from radospy.common.errors import InvalidArgument
from radospy.crush import codec
from radospy.osdmap.osdmap import OsdInfo, OSDMap
from radospy.osdmap.pg import PgId
from radospy.osdmap.pool import Pool


class IncrementalError(InvalidArgument):
    """An incremental that does not follow the map it is applied to (or is garbage)."""


class Incremental(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True):
    """The changes that make epoch `epoch` from epoch `epoch - 1` of cluster `fsid`.

    A field left at its default means "unchanged". PG ids are `POOL.SEED` strings.
    """

    epoch: int
    fsid: str
    modified: str
    created: str | None = None
    flags: int | None = None
    crush: bytes | None = None
    """The whole new CRUSH map (`codec.encode`) when it changed."""
    crush_version: int | None = None
    max_osd: int | None = None
    new_osds: dict[int, OsdInfo] = {}
    """OSD id -> its entry, for every entry that changed."""
    new_pools: dict[int, Pool] = {}
    """Pool id -> the pool, for every pool created or changed."""
    old_pools: list[int] = []
    pool_max: int | None = None
    new_erasure_code_profiles: dict[str, dict[str, str]] = {}
    old_erasure_code_profiles: list[str] = []
    new_pg_temp: dict[str, list[int]] = {}
    old_pg_temp: list[str] = []
    new_primary_temp: dict[str, int] = {}
    old_primary_temp: list[str] = []
    new_pg_upmap: dict[str, list[int]] = {}
    old_pg_upmap: list[str] = []
    new_pg_upmap_items: dict[str, list[tuple[int, int]]] = {}
    old_pg_upmap_items: list[str] = []
    full_ratio: float | None = None
    backfillfull_ratio: float | None = None
    nearfull_ratio: float | None = None
    require_min_compat_client: str | None = None
    require_osd_release: str | None = None


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Incremental)

_SCALARS = (
    "created",
    "flags",
    "crush_version",
    "pool_max",
    "full_ratio",
    "backfillfull_ratio",
    "nearfull_ratio",
    "require_min_compat_client",
    "require_osd_release",
)
"""Map fields carried whole when they change (besides epoch, fsid and modified)."""

_PG_TABLES = ("pg_temp", "primary_temp", "pg_upmap", "pg_upmap_items")


def encode(inc: Incremental) -> bytes:
    """The wire and store form of an incremental (msgpack)."""
    return _encoder.encode(inc)


def decode(data: bytes) -> Incremental:
    """Read what `encode` wrote; IncrementalError on anything else."""
    try:
        return _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise IncrementalError(f"malformed OSDMap incremental: {exc}") from None


def diff(old: OSDMap, new: OSDMap) -> Incremental:
    """The incremental that takes `old` to `new` (`new.epoch` must be `old.epoch + 1`)."""
    if new.epoch != old.epoch + 1:
        raise IncrementalError(f"epoch {new.epoch} does not follow epoch {old.epoch}")
    fields: dict[str, Any] = {
        name: getattr(new, name) for name in _SCALARS if getattr(new, name) != getattr(old, name)
    }
    if new.crush is not old.crush and new.crush != old.crush:
        fields["crush"] = codec.encode(new.crush)
    if new.max_osd != old.max_osd:
        fields["max_osd"] = new.max_osd
    # OSD entries and pools are compared by their field dicts: a dataclass's generated
    # __eq__ builds two tuples per call, and this runs for every epoch a monitor applies.
    before = [info.__dict__ for info in old.osds]
    before += [OsdInfo().__dict__] * (new.max_osd - old.max_osd)
    new_osds = {
        osd: info for osd, info in enumerate(new.osds) if info.__dict__ != before[osd]
    }
    new_pools = {
        pid: pool
        for pid, pool in new.pools.items()
        if pid not in old.pools or old.pools[pid].__dict__ != pool.__dict__
    }
    old_pools = sorted(set(old.pools) - set(new.pools))
    profiles = {
        name: dict(profile)
        for name, profile in new.erasure_code_profiles.items()
        if old.erasure_code_profiles.get(name) != profile
    }
    gone_profiles = sorted(set(old.erasure_code_profiles) - set(new.erasure_code_profiles))
    for table in _PG_TABLES:
        before, after = getattr(old, table), getattr(new, table)
        changed = {str(pg): _pg_value(v) for pg, v in after.items() if before.get(pg) != v}
        gone = [str(pg) for pg in sorted(set(before) - set(after))]
        if changed:
            fields[f"new_{table}"] = changed
        if gone:
            fields[f"old_{table}"] = gone
    return Incremental(
        epoch=new.epoch,
        fsid=new.fsid,
        modified=new.modified,
        new_osds=new_osds,
        new_pools=new_pools,
        old_pools=old_pools,
        new_erasure_code_profiles=profiles,
        old_erasure_code_profiles=gone_profiles,
        **fields,
    )


def _pg_value(value: Any) -> Any:
    return value if isinstance(value, int) else list(value)


def apply(old: OSDMap, inc: Incremental) -> OSDMap:
    """The map `inc` makes from `old` (IncrementalError if it is not `old`'s next).

    `old` is left as it was; the result shares unchanged parts with it.
    """
    if inc.fsid != old.fsid or inc.epoch != old.epoch + 1:
        raise IncrementalError(
            f"incremental for epoch {inc.epoch} does not follow epoch {old.epoch}"
        )
    new = copy.copy(old)
    new.epoch, new.modified = inc.epoch, inc.modified
    for name in _SCALARS:
        value = getattr(inc, name)
        if value is not None:
            setattr(new, name, value)
    try:
        if inc.crush is not None:
            new.crush = codec.decode(inc.crush)
        new.osds = list(old.osds)
        if inc.max_osd is not None:
            new.set_max_osd(inc.max_osd)
        for osd, entry in inc.new_osds.items():
            if not 0 <= osd < new.max_osd:
                raise IncrementalError(f"incremental changes osd.{osd} beyond max_osd")
            new.osds[osd] = copy.copy(entry)
        new.pools = dict(old.pools)
        for pid in inc.old_pools:
            new.pools.pop(pid, None)
        for pid, pool in inc.new_pools.items():
            new.pools[pid] = pool.copy()
        new.erasure_code_profiles = dict(old.erasure_code_profiles)
        for name in inc.old_erasure_code_profiles:
            new.erasure_code_profiles.pop(name, None)
        new.erasure_code_profiles.update(
            {name: dict(p) for name, p in inc.new_erasure_code_profiles.items()}
        )
        new.pg_temp = _apply_table(old.pg_temp, inc.new_pg_temp, inc.old_pg_temp, list)
        new.primary_temp = _apply_table(
            old.primary_temp, inc.new_primary_temp, inc.old_primary_temp, int
        )
        new.pg_upmap = _apply_table(old.pg_upmap, inc.new_pg_upmap, inc.old_pg_upmap, list)
        new.pg_upmap_items = _apply_table(
            old.pg_upmap_items,
            inc.new_pg_upmap_items,
            inc.old_pg_upmap_items,
            lambda pairs: [(int(a), int(b)) for a, b in pairs],
        )
    except IncrementalError:
        raise
    except (KeyError, TypeError, ValueError, InvalidArgument) as exc:
        raise IncrementalError(f"malformed OSDMap incremental: {exc}") from None
    return new


def _apply_table(
    before: dict[PgId, Any], changed: dict[str, Any], gone: list[str], convert: Any
) -> dict[PgId, Any]:
    if not changed and not gone:
        return before
    after = dict(before)
    for pg in gone:
        after.pop(PgId.parse(pg), None)
    for pg, value in changed.items():
        after[PgId.parse(pg)] = convert(value)
    # Kept sorted like a map freshly decoded, so either encodes the same way.
    return dict(sorted(after.items()))
