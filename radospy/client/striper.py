"""Striping of a logical byte stream over RADOS objects, as Ceph's `Striper` does it.

A file layout cuts the stream into *stripe units* dealt round-robin over
`stripe_count` objects (one *stripe* is one unit in each); when those objects reach
`object_size` the next *object set* starts. With the default layout (4 MiB objects,
stripe_count 1) byte `n` simply lives in object `n // 4 MiB`.

`file_to_extents` maps a logical range to per-object extents exactly as
`Striper::file_to_extents` (src/osdc/Striper.cc) does, with each extent's
`buffer_extents` saying where its bytes sit in the caller's buffer; `extent_to_file`
is the reverse, and `StripedReadResult` assembles the pieces of a read (short objects
read as holes of zeros). Object names come from a callable, so the same code serves
libradosstriper (`NAME.%016x`) and RBD (`rbd_data.ID.%016x`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from radospy.common.errors import InvalidArgument

DEFAULT_OBJECT_SIZE = 4 << 20

ObjectNamer = Callable[[int], str]
"""Turns an object number into the RADOS object name."""


def striper_object_namer(soid: str) -> ObjectNamer:
    """libradosstriper's names: `SOID.` and the object number as 16 hex digits."""
    return lambda objectno: f"{soid}.{objectno:016x}"


def rbd_data_namer(image_id: str) -> ObjectNamer:
    """RBD (format 2) data object names: `rbd_data.ID.` and 16 hex digits."""
    return lambda objectno: f"rbd_data.{image_id}.{objectno:016x}"


@dataclass(frozen=True)
class FileLayout:
    """`file_layout_t`: how a stream is striped (sizes in bytes).

    `object_size` must be a multiple of `stripe_unit`. The defaults are those of
    libradosstriper and RBD: 4 MiB objects, no striping beyond one object at a time.
    """

    stripe_unit: int = DEFAULT_OBJECT_SIZE
    stripe_count: int = 1
    object_size: int = DEFAULT_OBJECT_SIZE

    def __post_init__(self) -> None:
        for name in ("stripe_unit", "stripe_count", "object_size"):
            value = getattr(self, name)
            # The fields are 32-bit in Ceph's encoding.
            if not 0 < value < 2**32:
                raise InvalidArgument(f"{name} must be between 1 and 2^32-1, not {value}")
        if self.object_size % self.stripe_unit:
            raise InvalidArgument(
                f"object_size {self.object_size} is not a multiple of "
                f"stripe_unit {self.stripe_unit}"
            )

    @property
    def stripes_per_object(self) -> int:
        return self.object_size // self.stripe_unit

    @property
    def period(self) -> int:
        """Bytes in one object set (`get_period`)."""
        return self.object_size * self.stripe_count


@dataclass(frozen=True)
class ObjectExtent:
    """A contiguous byte range in one object, and where its bytes go in the caller's
    buffer: `buffer_extents` are (buffer offset, length) pairs in object order."""

    oid: str
    objectno: int
    offset: int
    length: int
    buffer_extents: tuple[tuple[int, int], ...]


@dataclass
class _Building:
    objectno: int
    offset: int
    length: int
    buffer_extents: list[tuple[int, int]] = field(default_factory=list)


def file_to_extents(
    layout: FileLayout,
    offset: int,
    length: int,
    namer: ObjectNamer,
    buffer_offset: int = 0,
) -> list[ObjectExtent]:
    """The object extents holding logical bytes `[offset, offset + length)`.

    Sorted by object number, one extent per object (more only if a range ever
    revisited an object non-contiguously, which a single range cannot). Empty for a
    zero length.
    """
    if offset < 0 or length < 0:
        raise InvalidArgument(f"invalid range {offset}~{length}")
    su = layout.stripe_unit
    # As Ceph does: with one object per set, whole objects are the unit, so a range
    # maps to one extent per object without cutting at stripe units.
    if layout.stripe_count == 1:
        su = layout.object_size
    stripes_per_object = layout.object_size // su
    extents: dict[int, list[_Building]] = {}
    cur, left = offset, length
    while left > 0:
        blockno = cur // su
        stripeno, stripepos = divmod(blockno, layout.stripe_count)
        objectno = (stripeno // stripes_per_object) * layout.stripe_count + stripepos
        block_off = cur % su
        x_offset = (stripeno % stripes_per_object) * su + block_off
        x_len = min(left, su - block_off)
        pieces = extents.setdefault(objectno, [])
        if pieces and pieces[-1].offset + pieces[-1].length == x_offset:
            pieces[-1].length += x_len
        else:
            pieces.append(_Building(objectno, x_offset, x_len))
        pieces[-1].buffer_extents.append((cur - offset + buffer_offset, x_len))
        cur += x_len
        left -= x_len
    return [
        ObjectExtent(namer(b.objectno), b.objectno, b.offset, b.length, tuple(b.buffer_extents))
        for objectno in sorted(extents)
        for b in extents[objectno]
    ]


def extent_to_file(
    layout: FileLayout, objectno: int, offset: int, length: int
) -> list[tuple[int, int]]:
    """The logical (offset, length) ranges held by bytes `[offset, offset + length)` of
    object `objectno`, in object order (`Striper::extent_to_file`)."""
    if objectno < 0 or offset < 0 or length < 0:
        raise InvalidArgument(f"invalid extent {objectno} {offset}~{length}")
    su = layout.stripe_unit
    ranges: list[tuple[int, int]] = []
    off_in_block = offset % su
    while length > 0:
        piece = min(length, su - off_in_block)
        ranges.append((get_file_offset(layout, objectno, offset), piece))
        off_in_block = 0
        offset += piece
        length -= piece
    return ranges


def get_file_offset(layout: FileLayout, objectno: int, offset: int) -> int:
    """The logical offset of byte `offset` of object `objectno`."""
    su = layout.stripe_unit
    objectsetno, stripepos = divmod(objectno, layout.stripe_count)
    stripeno = offset // su + objectsetno * layout.stripes_per_object
    blockno = stripeno * layout.stripe_count + stripepos
    return blockno * su + offset % su


def get_num_objects(layout: FileLayout, size: int) -> int:
    """How many objects a stream of `size` bytes spans (`Striper::get_num_objects`)."""
    su, sc, period = layout.stripe_unit, layout.stripe_count, layout.period
    num_periods = -(-size // period)
    remainder = size % period
    # A partial last object set uses only the objects its first stripe reached.
    unused = sc - (-(-remainder // su)) if 0 < remainder < sc * su else 0
    return num_periods * sc - unused


def object_truncate_size(layout: FileLayout, objectno: int, trunc_size: int) -> int:
    """How large object `objectno` is once the stream is cut to `trunc_size` bytes
    (`Striper::object_truncate_size`)."""
    su, sc = layout.stripe_unit, layout.stripe_count
    objectsetno = objectno // sc
    trunc_objectsetno = trunc_size // layout.object_size // sc
    if objectsetno > trunc_objectsetno:
        return 0
    if objectsetno < trunc_objectsetno:
        return layout.object_size
    trunc_stripeno, trunc_stripepos = divmod(trunc_size // su, sc)
    trunc_objectno = trunc_objectsetno * sc + trunc_stripepos
    in_object = (trunc_stripeno % layout.stripes_per_object) * su
    if objectno < trunc_objectno:
        return in_object + su
    if objectno > trunc_objectno:
        return in_object
    return in_object + trunc_size % su


class StripedReadResult:
    """Collects what each object read returned and assembles the logical buffer
    (`Striper::StripedReadResult`).

    An object shorter than requested (or absent) leaves a hole: holes followed by
    data read as zeros; trailing holes are dropped unless `zero_tail` is asked for.
    The pieces may be views (of the reads' reply buffers): the logical bytes are
    assembled with one copy.
    """

    __slots__ = ("_partial",)

    def __init__(self) -> None:
        # buffer offset -> (bytes got, bytes expected)
        self._partial: dict[int, tuple[bytes | memoryview, int]] = {}

    def add_partial_result(
        self, data: bytes | memoryview, buffer_extents: Sequence[tuple[int, int]]
    ) -> None:
        """Record an object's read of one extent; `data` may be short."""
        pos = 0
        for buffer_offset, length in buffer_extents:
            self._partial[buffer_offset] = (data[pos : pos + length], length)
            pos += length

    def assemble(self, zero_tail: bool = False) -> bytes:
        """The logical bytes, in buffer order; clears the collected pieces."""
        pieces: list[bytes | memoryview] = []
        zeros = 0
        for buffer_offset in sorted(self._partial):
            got, expected = self._partial[buffer_offset]
            if got:
                if zeros:
                    pieces.append(bytes(zeros))
                zeros = 0
                pieces.append(got)
            zeros += expected - len(got)
        if zero_tail and zeros:
            pieces.append(bytes(zeros))
        self._partial.clear()
        return b"".join(pieces)
