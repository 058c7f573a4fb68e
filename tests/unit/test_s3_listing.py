"""Listing semantics against a reference model of S3: any pagination returns exactly one
big page's keys and common prefixes, every page equals the model's page, and S3's
documented examples."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.rgw.s3.errors import S3Error
from radospy.rgw.s3.listing import (
    ListingPage,
    decode_token,
    encode_token,
    list_page,
    parse_max_keys,
)


@dataclass(frozen=True)
class Entry:
    key: str


class Index:
    """A sorted in-memory bucket index that counts how many entries it hands out."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = sorted(set(keys), key=str.encode)
        self.encoded = [k.encode() for k in self.keys]
        self.reads = 0

    def __call__(self, start: bytes) -> Iterator[Entry]:
        for key in self.keys[bisect.bisect_left(self.encoded, start):]:
            self.reads += 1
            yield Entry(key)


def model(keys: list[str], prefix: str, delimiter: str, marker: str,
          max_keys: int) -> tuple[list[str], list[str], bool]:
    """S3's listing, written plainly: every item after the marker, then cut."""
    items: set[tuple[str, bool]] = set()
    for key in keys:
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix):]
        if delimiter and delimiter in rest:
            items.add((prefix + rest[: rest.index(delimiter) + len(delimiter)], True))
        else:
            items.add((key, False))
    ordered = sorted((i for i in items if i[0].encode() > marker.encode()),
                     key=lambda i: i[0].encode())
    page = ordered[:max_keys]
    return ([k for k, p in page if not p], [k for k, p in page if p],
            len(ordered) > max_keys and max_keys > 0)


_alphabet = st.sampled_from(["a", "b", "/", "-", "é", "z", "日", "\U0001f600", "~", "0"])
_keys = st.lists(st.text(_alphabet, min_size=1, max_size=6), max_size=40)
_prefix = st.text(_alphabet, max_size=2)
_delimiter = st.sampled_from(["", "/", "-", "a/", "é"])


def _flatten(page: ListingPage[Entry]) -> tuple[list[str], list[str]]:
    return [e.key for e in page.contents], page.common_prefixes


@settings(max_examples=400, deadline=None)
@given(_keys, _prefix, _delimiter, st.integers(min_value=1, max_value=7))
def test_pagination_equals_one_big_page(
    keys: list[str], prefix: str, delimiter: str, max_keys: int
) -> None:
    index = Index(keys)
    big = list_page(index, prefix=prefix, delimiter=delimiter, max_keys=10_000)
    assert not big.is_truncated
    contents: list[str] = []
    prefixes: list[str] = []
    marker = ""
    for _ in range(len(keys) + 2):
        page = list_page(index, prefix=prefix, delimiter=delimiter, marker=marker,
                         max_keys=max_keys)
        want = model(index.keys, prefix, delimiter, marker, max_keys)
        assert (*_flatten(page), page.is_truncated) == want
        assert len(page.contents) + len(page.common_prefixes) <= max_keys
        contents += [e.key for e in page.contents]
        prefixes += page.common_prefixes
        if not page.is_truncated:
            break
        assert page.next_marker is not None
        marker = decode_token(encode_token(page.next_marker))
    else:
        raise AssertionError("pagination did not end")
    assert (contents, prefixes) == _flatten(big)
    assert (contents, prefixes, False) == model(index.keys, prefix, delimiter, "", 10_000)


@settings(max_examples=300, deadline=None)
@given(_keys, _prefix, _delimiter, st.text(_alphabet, max_size=5),
       st.integers(min_value=0, max_value=5))
def test_any_marker_matches_the_model(
    keys: list[str], prefix: str, delimiter: str, marker: str, max_keys: int
) -> None:
    page = list_page(Index(keys), prefix=prefix, delimiter=delimiter, marker=marker,
                     max_keys=max_keys)
    assert (*_flatten(page), page.is_truncated) == \
        model(sorted(set(keys)), prefix, delimiter, marker, max_keys)


def test_s3_documentation_example() -> None:
    """ListObjects' delimiter example: photos under a year become common prefixes."""
    keys = ["sample.jpg", "photos/2006/January/sample.jpg", "photos/2006/February/sample2.jpg",
            "photos/2006/February/sample3.jpg", "photos/2006/February/sample4.jpg"]
    page = list_page(Index(keys), delimiter="/")
    assert _flatten(page) == (["sample.jpg"], ["photos/"])
    page = list_page(Index(keys), prefix="photos/2006/", delimiter="/")
    assert _flatten(page) == ([], ["photos/2006/February/", "photos/2006/January/"])


def test_common_prefix_counts_toward_max_keys_and_marker_skips_it() -> None:
    keys = ["a/1", "a/2", "b", "c/1", "d"]
    first = list_page(Index(keys), delimiter="/", max_keys=2)
    assert _flatten(first) == (["b"], ["a/"])
    assert first.is_truncated and first.next_marker == "b"
    second = list_page(Index(keys), delimiter="/", marker="c/", max_keys=2)
    assert _flatten(second) == (["d"], [])
    inside = list_page(Index(keys), delimiter="/", marker="a/1")
    assert _flatten(inside) == (["b", "d"], ["c/"])


def test_utf8_byte_order_not_code_point_order() -> None:
    # UTF-16 (Java's String order) would put the surrogate pair of U+10000 first.
    keys = ["\U00010000", "\uffff", "z"]
    page = list_page(Index(keys))
    assert [e.key for e in page.contents] == ["z", "\uffff", "\U00010000"]


def test_rolled_up_prefixes_are_skipped_not_read() -> None:
    keys = [f"dir/{i:05d}" for i in range(2000)] + ["file"]
    index = Index(keys)
    page = list_page(index, delimiter="/")
    assert _flatten(page) == (["file"], ["dir/"])
    assert index.reads < 5


def test_max_keys_zero_and_truncation_is_exact() -> None:
    assert list_page(Index(["a"]), max_keys=0) == ListingPage([], [], False)
    exact = list_page(Index(["a", "b"]), max_keys=2)
    assert not exact.is_truncated


def test_parameters() -> None:
    assert parse_max_keys(None) == 1000
    assert parse_max_keys("5000") == 1000
    assert parse_max_keys("0") == 0
    for bad in ("-1", "x", "1.5", ""):
        with pytest.raises(S3Error) as info:
            parse_max_keys(bad)
        assert info.value.code == "InvalidArgument"
    assert decode_token(encode_token("ключ/🙂")) == "ключ/🙂"
    for bad in ("%%%", "\xff", "gA"):
        with pytest.raises(S3Error) as info:
            decode_token(bad)
        assert info.value.code == "InvalidArgument"
