"""`radosgw-admin bucket check [--fix] [--check-objects]`: the bucket index against
the head objects it describes.

A write replaces the head and then records it in the index; a deletion removes the
head and then the entry. Each version has a head and an entry of its own (a delete
marker only the entry, which the check leaves alone). A gateway killed between the
two leaves an entry whose head is gone or is another write's (the tag differs), or — found only with
`--check-objects`, which lists the data pool — a head no entry describes. `--fix`
makes the index say what the heads say (entries dropped, added or replaced, stamped
with the head's mtime so a newer write still wins), and the usage is recomputed from
it, as RGW's check recalculates the index header's stats.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from radospy.client.rados import AsyncIoctx
from radospy.rgw.quota import Usage
from radospy.rgw.s3 import versions
from radospy.rgw.store import names
from radospy.rgw.store.index import BucketIndex
from radospy.rgw.store.objects import Objects, index_entry
from radospy.rgw.store.records import BucketInfo, IndexEntry


@dataclass
class CheckReport:
    """What `bucket check` found (and fixed when asked)."""

    existing: Usage
    calculated: Usage
    entries_without_head: list[str] = field(default_factory=list)
    stale_entries: list[str] = field(default_factory=list)
    heads_without_entry: list[str] = field(default_factory=list)

    def json(self) -> dict[str, object]:
        """radosgw-admin's document: RGW's `check_result` headers and the keys found."""
        return {
            "invalid_multipart_entries": [],
            "index_entries_without_head": self.entries_without_head,
            "stale_index_entries": self.stale_entries,
            "heads_without_index_entry": self.heads_without_entry,
            "check_result": {
                "existing_header": {"usage": {"rgw.main": self.existing.stats_json()}},
                "calculated_header": {"usage": {"rgw.main": self.calculated.stats_json()}},
            },
        }


async def head_names(data: AsyncIoctx, info: BucketInfo) -> list[tuple[str, str]]:
    """The key and version id ("" null) of every head object of bucket `info` in the
    data pool."""
    found = (names.parse_head_oid(info.marker, e.name) for e in await data.list_objects())
    return sorted(f for f in found if f is not None)


async def check_bucket(index: BucketIndex, objects: Objects, info: BucketInfo, *,
                       fix: bool, check_objects: bool) -> CheckReport:
    """Compare the index of bucket `info` with its heads (one per version; a delete
    marker is an entry alone); repair it when `fix`."""
    existing = calculated = Usage()
    report = CheckReport(existing, calculated)
    seen: set[tuple[str, str]] = set()
    entries: list[IndexEntry] = [e async for e in index.entries()]
    for entry in entries:
        if entry.delete_marker:
            continue
        name = versions.index_key(entry.key, entry.version_id)
        existing += Usage.of_object(entry.size)
        seen.add((entry.key, entry.version_id))
        head = await objects.head(info, entry.key, version_id=entry.version_id)
        if head is None:
            report.entries_without_head.append(name)
            if fix:
                await index.remove(entry.key, entry.tag, entry.version_id)
            continue
        calculated += Usage.of_object(head.attrs.size)
        if head.attrs.tag != entry.tag:
            report.stale_entries.append(name)
            if fix:
                await index.put(index_entry(head.attrs, entry.key), stamp(head.attrs.mtime))
    if check_objects:
        for key, version_id in await head_names(objects.data, info):
            if (key, version_id) in seen:
                continue
            head = await objects.head(info, key, version_id=version_id)
            if head is None:
                continue
            report.heads_without_entry.append(versions.index_key(key, version_id))
            calculated += Usage.of_object(head.attrs.size)
            if fix:
                await index.put(index_entry(head.attrs, key), stamp(head.attrs.mtime))
    report.existing, report.calculated = existing, calculated
    report.entries_without_head.sort()
    report.stale_entries.sort()
    return report


def stamp(mtime: float) -> int:
    """The index stamp of a write made at `mtime` (as `Objects.commit` stamps it)."""
    return round(mtime * 1e9)

