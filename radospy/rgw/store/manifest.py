"""Where an object's bytes are (pure): the head object holds the first `head_size`
bytes, the rest is striped over tail objects of `stripe_size` bytes.

A simple upload's tails are `<prefix><n>` for n = 1, 2, ...; a multipart object's
data are its parts in order, each striped from `<part prefix>0` (the head then holds
no data). `pieces` maps a byte range to (object, offset, length) reads.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec


class ManifestPart(msgspec.Struct, frozen=True):
    """One part of a multipart object: its stripes' name prefix and its size."""

    prefix: str
    size: int


class Manifest(msgspec.Struct, frozen=True):
    """The layout of an object's data."""

    size: int
    head_size: int
    stripe_size: int
    prefix: str = ""
    parts: list[ManifestPart] = msgspec.field(default_factory=list)


class Piece(msgspec.Struct, frozen=True):
    """A read of `length` bytes at `offset` of RADOS object `oid` (None: the head)."""

    oid: str | None
    offset: int
    length: int


def simple_manifest(size: int, head_size: int, stripe_size: int, prefix: str) -> Manifest:
    """The manifest of a simple upload of `size` bytes."""
    return Manifest(size, min(size, head_size), stripe_size, prefix)


def multipart_manifest(parts: list[ManifestPart], stripe_size: int) -> Manifest:
    """The manifest of a completed multipart upload made of `parts`, in order."""
    return Manifest(sum(p.size for p in parts), 0, stripe_size, "", list(parts))


def stripe_oids(prefix: str, size: int, stripe_size: int, first: int = 0) -> list[str]:
    """The names of the stripes holding `size` bytes under `prefix`, numbered from `first`."""
    count = -(-size // stripe_size) if size > 0 else 0
    return [f"{prefix}{first + n}" for n in range(count)]


def data_oids(manifest: Manifest) -> list[str]:
    """Every RADOS object besides the head that holds the object's data."""
    if manifest.parts:
        oids: list[str] = []
        for part in manifest.parts:
            oids += stripe_oids(part.prefix, part.size, manifest.stripe_size)
        return oids
    return stripe_oids(manifest.prefix, manifest.size - manifest.head_size,
                       manifest.stripe_size, first=1)


def pieces(manifest: Manifest, offset: int, length: int) -> Iterator[Piece]:
    """The reads that return bytes [offset, offset + length) of the object, in order."""
    end = min(manifest.size, offset + length)
    for start, size, oid in _segments(manifest):
        lo, hi = max(start, offset), min(start + size, end)
        if lo < hi:
            yield Piece(oid, lo - start, hi - lo)
        if start + size >= end:
            return


def _segments(manifest: Manifest) -> Iterator[tuple[int, int, str | None]]:
    """(object offset, size, oid) of every data object in order."""
    stripe = manifest.stripe_size
    if manifest.parts:
        position = 0
        for part in manifest.parts:
            for n, oid in enumerate(stripe_oids(part.prefix, part.size, stripe)):
                yield position + n * stripe, min(stripe, part.size - n * stripe), oid
            position += part.size
        return
    if manifest.head_size:
        yield 0, manifest.head_size, None
    tail = manifest.size - manifest.head_size
    for n, oid in enumerate(stripe_oids(manifest.prefix, tail, stripe, first=1)):
        yield manifest.head_size + n * stripe, min(stripe, tail - n * stripe), oid
