"""Versions over a bucket index: version ids sort newest first, entry names keep a
key's versions together in index order, the current version is the newest, and
ListObjectVersions pages, however small, add up to the one big listing."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.rgw.s3 import versions
from radospy.rgw.s3.errors import S3Error


@dataclass(frozen=True)
class Entry:
    key: str
    version_id: str
    mtime: float
    delete_marker: bool = False


def _index(entries: list[Entry]) -> list[Entry]:
    """Entries in the order an omap lists them (by entry name, UTF-8 bytes)."""
    return sorted(entries, key=lambda e: versions.index_key(e.key, e.version_id).encode())


@given(st.lists(st.integers(min_value=0, max_value=2**62), min_size=2, max_size=20))
def test_version_ids_sort_newest_first(stamps: list[int]) -> None:
    ids = [(versions.new_version_id(s), s) for s in stamps]
    by_id = [s for _, s in sorted(ids)]
    assert by_id == sorted(stamps, reverse=True)
    assert all(versions.is_version_id(i) for i, _ in ids)


keys = st.text(st.characters(min_codepoint=1, max_codepoint=0x2FF, exclude_categories=("Cs",)),
               min_size=1, max_size=4)


@st.composite
def histories(draw: st.DrawFn) -> list[Entry]:
    """Index entries of a few keys: versions, delete markers and null versions, with
    distinct times."""
    entries = []
    times = iter(draw(st.lists(st.integers(1, 10**6), min_size=40, max_size=40, unique=True)))
    for key in draw(st.lists(keys, min_size=1, max_size=5, unique=True)):
        if draw(st.booleans()):
            entries.append(Entry(key, "", next(times), draw(st.booleans())))
        for _ in range(draw(st.integers(0, 4))):
            t = next(times)
            entries.append(Entry(key, versions.new_version_id(t * 10**9), t, draw(st.booleans())))
    return entries


@given(histories())
def test_index_order_groups_keys_and_current_is_newest(entries: list[Entry]) -> None:
    ordered = _index(entries)
    groups = list(versions.by_key(ordered))
    assert [g[0].key.encode() for g in groups] == sorted({e.key.encode() for e in entries})
    for group in groups:
        assert [e.mtime for e in group] == sorted((e.mtime for e in group), reverse=True)
    live = {k: max((e for e in entries if e.key == k), key=lambda e: e.mtime)
            for k in {e.key for e in entries}}
    want = sorted((e for e in live.values() if not e.delete_marker), key=lambda e: e.key.encode())
    assert list(versions.current(ordered)) == want


@settings(max_examples=60)
@given(histories(), st.integers(1, 5), st.sampled_from(["", "a", "\x01"]),
       st.sampled_from(["", "a", "b"]))
def test_pages_add_up_to_the_whole_listing(entries: list[Entry], size: int, delimiter: str,
                                           prefix: str) -> None:
    ordered = _index(entries)

    def page(key_marker: str, id_marker: str, max_keys: int) -> versions.VersionsPage:
        start = max(prefix.encode(), key_marker.encode())
        items = versions.all_versions(e for e in ordered if e.key.encode() >= start)
        return versions.list_versions_page(items, prefix=prefix, delimiter=delimiter,
                                           key_marker=key_marker,
                                           version_id_marker=id_marker, max_keys=max_keys)

    whole = page("", "", 10**6)
    assert not whole.is_truncated
    rows: list[tuple[str, str]] = []
    prefixes: list[str] = []
    key_marker = id_marker = ""
    for _ in range(200):
        p = page(key_marker, id_marker, size)
        assert len(p.versions) + len(p.common_prefixes) <= size
        rows += [(v.key, v.version_id) for v in p.versions]
        prefixes += p.common_prefixes
        if not p.is_truncated:
            break
        assert p.next_key_marker is not None
        key_marker, id_marker = p.next_key_marker, p.next_version_id_marker or ""
    assert rows == [(v.key, v.version_id) for v in whole.versions]
    assert prefixes == whole.common_prefixes


def test_null_version_sorts_by_time() -> None:
    old = Entry("k", versions.new_version_id(1 * 10**9), 1)
    null = Entry("k", "", 2)
    new = Entry("k", versions.new_version_id(3 * 10**9), 3, delete_marker=True)
    items = list(versions.all_versions(_index([old, null, new])))
    assert [(i.version_id, i.is_latest) for i in items] == [
        (new.version_id, True), ("null", False), (old.version_id, False)]
    assert list(versions.current(_index([old, null, new]))) == []
    assert list(versions.current(_index([old, null]))) == [null]


def test_version_id_parameter() -> None:
    assert versions.check_version_id("null", "k") == ""
    good = versions.new_version_id(5)
    assert versions.check_version_id(good, "k") == good
    for bad in ("", "x", good + "_", good[:-1] + "/", "3sL4kqtJlcpXroDTDmJ"):
        with pytest.raises(S3Error) as info:
            versions.check_version_id(bad, "k")
        assert info.value.code == "NoSuchVersion"
