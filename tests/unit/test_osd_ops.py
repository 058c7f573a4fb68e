"""The op engine: Ceph's semantics op by op, and a model-checked state machine driving
random compound ops through `execute` and the real SQLite store."""

from __future__ import annotations

import copy
import errno
import tempfile
from dataclasses import dataclass, field

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from radospy.common import osdop as o
from radospy.common.eversion import Eversion
from radospy.osd.objectstore import ObjectId, ObjectStore, Transaction
from radospy.osd.ops import ExecResult, OpContext, execute

CID = "1.0"
MTIME = 1_700_000_000_000_000_000


@pytest.fixture
def store(tmp_path):
    s = ObjectStore.mkfs(tmp_path / "osd")
    s.apply(Transaction().mkcoll(CID))
    yield s
    s.close()


class Runner:
    """Executes requests and applies their transactions, one version after another."""

    def __init__(self, store: ObjectStore, max_object_size: int = 128 << 20) -> None:
        self.store = store
        self.version = 0
        self.max_object_size = max_object_size

    def ctx(self) -> OpContext:
        return OpContext(
            mtime_ns=MTIME + self.version,
            version=Eversion(3, self.version + 1),
            max_object_size=self.max_object_size,
            max_omap_entries=16,
        )

    def __call__(self, name: str, *ops: o.OsdOp) -> ExecResult:
        result = execute(self.store, CID, ObjectId(name), list(ops), self.ctx())
        self.version += 1
        if result.txn is not None:
            self.store.apply(result.txn)
        return result


@pytest.fixture
def run(store):
    return Runner(store)


def data_of(run: Runner, name: str) -> bytes:
    result = run(name, o.Read())
    assert result.rc == 0
    return result.results[0].data


# --- data ops ------------------------------------------------------------------------


def test_write_past_end_zero_fills_and_read_is_short(run):
    assert run("a", o.Write(10, b"xyz")).rc == 0
    assert data_of(run, "a") == bytes(10) + b"xyz"
    assert run("a", o.Read(11, 100)).results[0].data == b"yz"
    assert run("a", o.Read(13, 5)).results[0].data == b""
    assert run("a", o.Read(500, 5)).results[0].data == b""


def test_read_length_zero_reads_to_the_end(run):
    run("a", o.WriteFull(b"0123456789"))
    assert run("a", o.Read(4, 0)).results[0].data == b"456789"


@pytest.mark.parametrize("offset, length", [(0, 0), (3, 4), (9, 100), (10, 1), (99, 0)])
def test_a_read_alone_answers_as_within_a_compound_op(run, offset, length):
    run("a", o.WriteFull(b"0123456789"))
    alone = run("a", o.Read(offset, length))
    with_stat = run("a", o.Read(offset, length), o.Stat())
    assert (alone.rc, alone.txn) == (with_stat.rc, None)
    assert alone.results[0] == with_stat.results[0]
    missing = run("nope", o.Read(offset, length))
    assert missing.rc == -errno.ENOENT
    assert missing.results == run("nope", o.Read(offset, length), o.Stat()).results[:1]
    tolerated = run("nope", o.Read(offset=offset, length=length, flags=o.OpFlag.FAILOK))
    assert (tolerated.rc, tolerated.results) == (0, [o.Status(rc=-errno.ENOENT)])


def test_truncate_extends_with_zeros_and_hides_old_bytes(run):
    run("a", o.WriteFull(b"abcdefgh"))
    run("a", o.Truncate(3))
    run("a", o.Truncate(6))
    assert data_of(run, "a") == b"abc\0\0\0"


def test_truncate_of_missing_object_is_a_no_op(run, store):
    result = run("a", o.Truncate(10))
    assert result.rc == 0
    assert store.stat(CID, ObjectId("a")) is None


def test_zero_inside_and_to_the_end(run):
    run("a", o.WriteFull(b"abcdefgh"))
    run("a", o.Zero(1, 2))
    assert data_of(run, "a") == b"a\0\0defgh"
    run("a", o.Zero(6, 100))  # reaches the end: Ceph turns it into a truncate
    assert data_of(run, "a") == b"a\0\0def"
    run("a", o.Zero(50, 10))  # past the end: nothing
    assert run("a", o.Stat()).results[0].size == 6


def test_write_full_replaces_data_keeps_xattrs(run):
    run("a", o.Write(0, b"long old content"), o.SetXattr("k", b"v"))
    run("a", o.WriteFull(b"new"))
    assert data_of(run, "a") == b"new"
    assert run("a", o.GetXattr("k")).results[0].value == b"v"


def test_append_and_writesame(run):
    run("a", o.Append(b"ab"), o.Append(b"cd"))
    assert data_of(run, "a") == b"abcd"
    run("a", o.WriteSame(2, 6, b"xy"))
    assert data_of(run, "a") == b"abxyxyxy"
    assert run("a", o.WriteSame(0, 5, b"xy")).rc == -errno.EINVAL
    assert run("a", o.WriteSame(0, 4, b"")).rc == -errno.EINVAL


def test_zero_length_write_past_end_extends(run):
    run("a", o.Write(0, b"ab"))
    run("a", o.Write(5, b""))
    assert data_of(run, "a") == b"ab\0\0\0"


def test_efbig_past_max_object_size(store):
    run = Runner(store, max_object_size=1000)
    assert run("a", o.Write(999, b"xx")).rc == -errno.EFBIG
    assert run("a", o.Write(1000, b"")).rc == -errno.EFBIG
    assert run("a", o.Write(998, b"xx")).rc == 0
    assert run("a", o.Truncate(1000)).rc == -errno.EFBIG
    assert run("a", o.WriteFull(bytes(1001))).rc == -errno.EFBIG


def test_stat_and_missing_object_reads(run):
    assert run("a", o.Stat()).rc == -errno.ENOENT
    assert run("a", o.Read()).rc == -errno.ENOENT
    assert run("a", o.GetXattrs()).rc == -errno.ENOENT
    assert run("a", o.OmapGetVals()).rc == -errno.ENOENT
    run("a", o.Write(0, b"12345"))
    stat = run("a", o.Stat()).results[0]
    assert (stat.size, stat.mtime_ns) == (5, MTIME + 4)


def test_remove(run, store):
    assert run("a", o.Remove()).rc == -errno.ENOENT
    run("a", o.Write(0, b"x"), o.SetXattr("k", b"v"), o.OmapSet({"o": b"1"}))
    assert run("a", o.Remove()).rc == 0
    assert store.stat(CID, ObjectId("a")) is None
    run("a", o.Create())
    assert run("a", o.GetXattrs()).results[0].xattrs == {}
    assert run("a", o.OmapGetVals()).results[0].entries == {}


def test_exclusive_create(run):
    assert run("a", o.Create(exclusive=True)).rc == 0
    assert run("a", o.Create(exclusive=True)).rc == -errno.EEXIST
    assert run("a", o.Create()).rc == 0
    assert run("a", o.Stat()).results[0].size == 0


def test_cmpext(run):
    run("a", o.WriteFull(b"hello"))
    assert run("a", o.CmpExt(1, b"ell")).rc == 0
    assert run("a", o.CmpExt(1, b"elp")).rc == -o.MAX_ERRNO - 2
    # past the end compares against zeros
    assert run("a", o.CmpExt(3, b"lo\0\0")).rc == 0
    assert run("a", o.CmpExt(3, b"lo\0x")).rc == -o.MAX_ERRNO - 3


# --- xattrs and guards ---------------------------------------------------------------


def test_xattrs(run):
    run("a", o.SetXattr("b", b"2"), o.SetXattr("a", b"1"))
    assert run("a", o.GetXattr("a")).results[0].value == b"1"
    assert run("a", o.GetXattr("zz")).rc == -errno.ENODATA
    assert run("a", o.GetXattrs()).results[0].xattrs == {"a": b"1", "b": b"2"}
    assert run("a", o.RmXattr("a")).rc == 0
    assert run("a", o.RmXattr("absent")).rc == 0
    assert run("a", o.GetXattrs()).results[0].xattrs == {"b": b"2"}
    assert run("missing", o.RmXattr("a")).rc == -errno.ENOENT
    assert run("a", o.SetXattr("n" * 101, b"")).rc == -errno.ENAMETOOLONG


@pytest.mark.parametrize(
    ("op", "value", "holds"),
    [
        (o.CmpOp.EQ, b"bbb", True),
        (o.CmpOp.EQ, b"bb", False),
        (o.CmpOp.NE, b"bb", True),
        (o.CmpOp.GT, b"c", True),  # given > stored
        (o.CmpOp.GT, b"a", False),
        (o.CmpOp.GTE, b"bbb", True),
        (o.CmpOp.LT, b"a", True),
        (o.CmpOp.LTE, b"bbc", False),
    ],
)
def test_cmpxattr_string(run, op, value, holds):
    run("a", o.SetXattr("x", b"bbb"))
    rc = run("a", o.CmpXattr("x", op, value)).rc
    assert rc == (0 if holds else -errno.ECANCELED)


def test_cmpxattr_unset_is_empty_and_u64_mode(run):
    run("a", o.SetXattr("n", b"42"))
    assert run("a", o.CmpXattr("unset", o.CmpOp.EQ, b"")).rc == 0
    assert run("a", o.CmpXattr("n", o.CmpOp.EQ, b"42", mode=o.CmpMode.U64)).rc == 0
    assert run("a", o.CmpXattr("n", o.CmpOp.GT, b"100", mode=o.CmpMode.U64)).rc == 0
    # as strings "100" < "42"
    assert run("a", o.CmpXattr("n", o.CmpOp.GT, b"100")).rc == -errno.ECANCELED
    assert run("a", o.CmpXattr("unset", o.CmpOp.EQ, b"0", mode=o.CmpMode.U64)).rc == 0
    assert run("a", o.CmpXattr("n", o.CmpOp.EQ, b"x", mode=o.CmpMode.U64)).rc == -errno.EINVAL
    assert run("missing", o.CmpXattr("n", o.CmpOp.EQ, b"")).rc == -errno.ENOENT


def test_assert_version(run):
    run("a", o.Write(0, b"x"))
    user_version = run.store.stat(CID, ObjectId("a")).user_version
    assert user_version == 1
    assert run("a", o.AssertVersion(user_version)).rc == 0
    assert run("a", o.AssertVersion(user_version + 1)).rc == -errno.EOVERFLOW
    run("a", o.Write(0, b"y"))
    assert run("a", o.AssertVersion(user_version)).rc == -errno.ERANGE
    assert run("a", o.AssertVersion(0)).rc == -errno.EINVAL


def test_failed_guard_writes_nothing_and_stops_later_ops(run, store):
    run("a", o.WriteFull(b"old"), o.SetXattr("v", b"1"))
    before = store.stat(CID, ObjectId("a"))
    result = run(
        "a",
        o.WriteFull(b"new"),
        o.CmpXattr("v", o.CmpOp.EQ, b"2"),
        o.SetXattr("v", b"3"),
    )
    assert result.txn is None
    assert result.rc == -errno.ECANCELED
    assert [r.rc for r in result.results] == [0, -errno.ECANCELED]
    assert data_of(run, "a") == b"old"
    assert store.stat(CID, ObjectId("a")) == before


def test_failok_lets_the_request_go_on(run, store):
    result = run(
        "a",
        o.Write(0, b"data"),
        o.GetXattr("missing", flags=o.OpFlag.FAILOK),
        o.SetXattr("k", b"v"),
        o.Remove(flags=o.OpFlag.FAILOK),
        o.Remove(flags=o.OpFlag.FAILOK),
        o.Create(),
    )
    assert result.rc == 0
    assert [r.rc for r in result.results] == [0, -errno.ENODATA, 0, 0, -errno.ENOENT, 0]
    assert store.stat(CID, ObjectId("a")).size == 0
    assert store.getxattrs(CID, ObjectId("a")) == {}


def test_reads_see_earlier_writes_of_the_same_request(run):
    run("a", o.WriteFull(b"stored-data"), o.SetXattr("x", b"old"), o.OmapSet({"k1": b"a"}))
    result = run(
        "a",
        o.Write(0, b"NEW"),
        o.Read(),
        o.Truncate(2),
        o.Truncate(5),
        o.Read(),
        o.SetXattr("x", b"new"),
        o.GetXattr("x"),
        o.OmapSet({"k0": b"z"}),
        o.OmapRmKeys(["k1"]),
        o.OmapGetVals(),
        o.OmapSetHeader(b"hdr"),
        o.OmapGetHeader(),
    )
    data = [r for r in result.results if isinstance(r, o.ReadData)]
    assert [d.data for d in data] == [b"NEWred-data", b"NE\0\0\0"]
    assert result.results[6].value == b"new"
    assert result.results[9].entries == {"k0": b"z"}
    assert result.results[11].data == b"hdr"


def test_remove_then_recreate_in_one_request(run):
    run("a", o.WriteFull(b"old"), o.SetXattr("x", b"1"), o.OmapSet({"k": b"v"}))
    result = run("a", o.Remove(), o.Write(1, b"n"), o.Read(), o.GetXattrs(), o.OmapGetKeys())
    assert result.rc == 0
    assert result.results[2].data == b"\0n"
    assert result.results[3].xattrs == {}
    assert result.results[4].keys == []
    assert data_of(run, "a") == b"\0n"


def test_version_and_mtime_stamped_only_on_change(run, store):
    run("a", o.Write(0, b"x"))
    first = store.stat(CID, ObjectId("a"))
    assert first.version == Eversion(3, 1) and first.mtime_ns == MTIME
    run("a", o.Zero(10, 5))  # past the end: no change
    assert store.stat(CID, ObjectId("a")) == first
    run("a", o.Read(), o.Stat())
    assert store.stat(CID, ObjectId("a")) == first
    result = run("a", o.OmapSet({"k": b"v"}))
    assert store.stat(CID, ObjectId("a")).version == Eversion(3, 4)
    assert result.txn is not None


def test_read_only_request_has_no_transaction(run):
    run("a", o.Write(0, b"x"))
    assert run("a", o.Read(), o.Stat()).txn is None


# --- omap ----------------------------------------------------------------------------


def test_omap_listing_is_in_byte_order_with_prefix_and_paging(run):
    keys = ["b", "a", "ab", "\u00e9", "\U0001f600", "B", "a\u00e9", ""]
    run("a", o.OmapSet({k: k.encode() for k in keys}))
    listed = run("a", o.OmapGetKeys()).results[0]
    # start_after "" excludes the empty key, as Ceph's upper_bound("") does
    assert listed.keys == sorted(k for k in keys if k)
    assert listed.keys == sorted(listed.keys, key=str.encode)
    vals = run("a", o.OmapGetVals(filter_prefix="a")).results[0]
    assert list(vals.entries) == ["a", "ab", "a\u00e9"]
    vals = run("a", o.OmapGetVals(start_after="a", filter_prefix="a")).results[0]
    assert list(vals.entries) == ["ab", "a\u00e9"]
    page = run("a", o.OmapGetKeys(max_return=2)).results[0]
    assert (page.keys, page.more) == (["B", "a"], True)
    page = run("a", o.OmapGetKeys(start_after="b", max_return=2)).results[0]
    assert (page.keys, page.more) == (["\u00e9", "\U0001f600"], False)


def test_omap_listing_is_capped_per_request(run):
    run("a", o.OmapSet({f"k{i:03}": b"" for i in range(40)}))
    page = run("a", o.OmapGetKeys()).results[0]
    assert len(page.keys) == 16 and page.more


def test_omap_rm_and_clear(run):
    run("a", o.OmapSet({"a": b"1", "b": b"2", "c": b"3", "d": b"4"}), o.OmapSetHeader(b"h"))
    run("a", o.OmapRmKeys(["a", "zz"]))
    run("a", o.OmapRmRange("b", "d"))
    assert run("a", o.OmapGetVals()).results[0].entries == {"d": b"4"}
    assert run("a", o.OmapGetValsByKeys(["d", "a"])).results[0].entries == {"d": b"4"}
    run("a", o.OmapClear())
    result = run("a", o.OmapGetVals(), o.OmapGetHeader())
    assert result.results[0].entries == {} and result.results[1].data == b""
    for op in (o.OmapClear(), o.OmapRmKeys(["a"]), o.OmapRmRange("a", "b")):
        assert run("missing", op).rc == -errno.ENOENT


def test_omap_cmp(run):
    run("a", o.OmapSet({"k": b"m"}))
    assert run("a", o.OmapCmp("k", b"m", o.CmpOp.EQ)).rc == 0
    assert run("a", o.OmapCmp("k", b"z", o.CmpOp.LT)).rc == 0  # stored < given
    assert run("a", o.OmapCmp("k", b"a", o.CmpOp.GT)).rc == 0
    assert run("a", o.OmapCmp("k", b"a", o.CmpOp.LT)).rc == -errno.ECANCELED
    assert run("a", o.OmapCmp("unset", b"", o.CmpOp.EQ)).rc == 0
    assert run("a", o.OmapCmp("k", b"m", o.CmpOp.GTE)).rc == -errno.EINVAL
    assert run("missing", o.OmapCmp("k", b"", o.CmpOp.EQ)).rc == -errno.ENOENT


def test_large_object_across_extents(run):
    blob = bytes(range(256)) * 1000  # 256000 bytes: four 64 KiB extents
    run("a", o.WriteFull(blob))
    run("a", o.Write(65530, b"X" * 20))
    expected = bytearray(blob)
    expected[65530:65550] = b"X" * 20
    assert data_of(run, "a") == bytes(expected)
    assert run("a", o.Read(65528, 30)).results[0].data == bytes(expected[65528:65558])


# --- model-checked state machine -----------------------------------------------------


@dataclass
class ModelObject:
    data: bytearray = field(default_factory=bytearray)
    xattrs: dict[str, bytes] = field(default_factory=dict)
    omap: dict[str, bytes] = field(default_factory=dict)
    header: bytes = b""
    mtime_ns: int = 0
    user_version: int = 0


class ModelFail(Exception):
    def __init__(self, err: int) -> None:
        self.rc = -err


MAX_SIZE = 300_000


class Model:
    """The librados semantics on whole in-memory objects, written independently of the
    engine's overlay machinery."""

    def __init__(self, obj: ModelObject | None, ctx: OpContext) -> None:
        self.obj = copy.deepcopy(obj)
        self.ctx = ctx
        self.modified = False

    def need(self) -> ModelObject:
        if self.obj is None:
            raise ModelFail(errno.ENOENT)
        return self.obj

    def create(self) -> ModelObject:
        if self.obj is None:
            self.obj = ModelObject(mtime_ns=self.ctx.mtime_ns)
        return self.obj

    def touch(self) -> None:
        self.modified = True
        self.obj.mtime_ns = self.ctx.mtime_ns

    def check(self, offset: int, length: int) -> None:
        if offset >= MAX_SIZE or length > MAX_SIZE or offset + length > MAX_SIZE:
            raise ModelFail(errno.EFBIG)

    def write(self, offset: int, data: bytes) -> o.OpResult:
        self.check(offset, len(data))
        obj = self.create()
        if len(obj.data) < offset:
            obj.data.extend(bytes(offset - len(obj.data)))
        obj.data[offset : offset + len(data)] = data
        self.touch()
        return o.Status()

    def set_size(self, size: int) -> None:
        data = self.obj.data
        del data[size:]
        data.extend(bytes(size - len(data)))

    def run(self, op: o.OsdOp) -> o.OpResult:
        try:
            return self.dispatch(op)
        except ModelFail as exc:
            return o.Status(rc=exc.rc)

    def dispatch(self, op: o.OsdOp) -> o.OpResult:
        match op:
            case o.Create(exclusive=exclusive):
                if exclusive and self.obj is not None:
                    raise ModelFail(errno.EEXIST)
                self.create()
                self.touch()
                return o.Status()
            case o.Write(offset=offset, data=data):
                return self.write(offset, data)
            case o.WriteFull(data=data):
                self.check(0, len(data))
                self.create().data = bytearray(data)
                self.touch()
                return o.Status()
            case o.Append(data=data):
                return self.write(len(self.obj.data) if self.obj else 0, data)
            case o.Zero(offset=offset, length=length):
                self.check(offset, length)
                if self.obj is None or length == 0 or offset >= len(self.obj.data):
                    return o.Status()
                if offset + length >= len(self.obj.data):
                    self.set_size(offset)
                else:
                    self.obj.data[offset : offset + length] = bytes(length)
                self.touch()
                return o.Status()
            case o.Truncate(size=size):
                if self.obj is None:
                    return o.Status()
                self.check(size, 0)
                self.set_size(size)
                self.touch()
                return o.Status()
            case o.Remove():
                self.need()
                self.obj = None
                self.modified = True
                return o.Status()
            case o.Read(offset=offset, length=length):
                data = self.need().data
                end = len(data) if length == 0 else offset + length
                return o.ReadData(bytes(data[offset:end]))
            case o.Stat():
                obj = self.need()
                return o.StatData(len(obj.data), obj.mtime_ns)
            case o.AssertVersion(version=version):
                obj = self.need()
                if version == 0:
                    raise ModelFail(errno.EINVAL)
                if version != obj.user_version:
                    raise ModelFail(errno.ERANGE if version < obj.user_version else errno.EOVERFLOW)
                return o.Status()
            case o.SetXattr(name=name, value=value):
                self.create().xattrs[name] = value
                self.touch()
                return o.Status()
            case o.GetXattr(name=name):
                value = self.need().xattrs.get(name)
                if value is None:
                    raise ModelFail(errno.ENODATA)
                return o.XattrValue(value)
            case o.GetXattrs():
                return o.XattrMap(dict(sorted(self.need().xattrs.items())))
            case o.RmXattr(name=name):
                self.need().xattrs.pop(name, None)
                self.touch()
                return o.Status()
            case o.CmpXattr(name=name, value=value):
                stored = self.need().xattrs.get(name, b"")
                if value != stored:
                    raise ModelFail(errno.ECANCELED)
                return o.Status()
            case o.OmapSet(entries=entries):
                self.create().omap.update(entries)
                self.touch()
                return o.Status()
            case o.OmapRmKeys(keys=keys):
                omap = self.need().omap
                for key in keys:
                    omap.pop(key, None)
                self.touch()
                return o.Status()
            case o.OmapRmRange(start=start, end=end):
                omap = self.need().omap
                for key in [k for k in omap if start <= k < end]:
                    del omap[key]
                self.touch()
                return o.Status()
            case o.OmapClear():
                self.need().omap.clear()
                self.obj.header = b""
                self.touch()
                return o.Status()
            case o.OmapSetHeader(data=data):
                self.create().header = data
                self.touch()
                return o.Status()
            case o.OmapGetHeader():
                return o.OmapHeader(self.need().header)
            case o.OmapGetVals(start_after=after, filter_prefix=prefix, max_return=limit):
                keys = [k for k in sorted(self.need().omap) if k > after and k.startswith(prefix)]
                cap = min(limit, self.ctx.max_omap_entries)
                return o.OmapVals({k: self.obj.omap[k] for k in keys[:cap]}, len(keys) > cap)
            case o.OmapGetValsByKeys(keys=keys):
                omap = self.need().omap
                return o.OmapVals({k: omap[k] for k in sorted(set(keys)) if k in omap})
        raise AssertionError(op)


names = st.sampled_from(["a", "b", "c"])
omap_keys = st.text(alphabet="ab\u00e9\U0001f600", max_size=3)
small_bytes = st.binary(max_size=24)
# Mostly small, sometimes spanning several 64 KiB extents.
payloads = st.one_of(
    small_bytes,
    st.builds(lambda n, b: bytes([b]) * n, st.integers(0, 140_000), st.integers(0, 255)),
)
offsets = st.one_of(st.integers(0, 100), st.integers(0, 310_000))
flags = st.sampled_from([0, 0, 0, int(o.OpFlag.FAILOK)])

ops_strategy = st.one_of(
    st.builds(o.Create, exclusive=st.booleans(), flags=flags),
    st.builds(o.Write, offsets, payloads, flags=flags),
    st.builds(o.WriteFull, payloads, flags=flags),
    st.builds(o.Append, small_bytes, flags=flags),
    st.builds(o.Zero, offsets, st.integers(0, 140_000), flags=flags),
    st.builds(o.Truncate, offsets, flags=flags),
    st.builds(o.Remove, flags=flags),
    st.builds(o.Read, offsets, st.integers(0, 200_000), flags=flags),
    st.builds(o.Stat, flags=flags),
    st.builds(o.AssertVersion, st.integers(0, 40), flags=flags),
    st.builds(o.SetXattr, st.sampled_from(["x", "y"]), small_bytes, flags=flags),
    st.builds(o.GetXattr, st.sampled_from(["x", "y"]), flags=flags),
    st.builds(o.GetXattrs, flags=flags),
    st.builds(o.RmXattr, st.sampled_from(["x", "y"]), flags=flags),
    st.builds(
        o.CmpXattr, st.sampled_from(["x", "y"]), st.just(o.CmpOp.EQ), small_bytes, flags=flags
    ),
    st.builds(
        o.OmapSet, st.dictionaries(omap_keys, st.binary(max_size=4), max_size=4), flags=flags
    ),
    st.builds(o.OmapRmKeys, st.lists(omap_keys, max_size=3), flags=flags),
    st.builds(o.OmapRmRange, omap_keys, omap_keys, flags=flags),
    st.builds(o.OmapClear, flags=flags),
    st.builds(o.OmapSetHeader, st.binary(max_size=6), flags=flags),
    st.builds(o.OmapGetHeader, flags=flags),
    st.builds(o.OmapGetVals, omap_keys, st.sampled_from(["", "a", "b"]), st.integers(0, 20)),
    st.builds(o.OmapGetValsByKeys, st.lists(omap_keys, max_size=3), flags=flags),
)


class OpsMachine(RuleBasedStateMachine):
    """Random compound ops through `execute` and the SQLite store, checked against
    `Model` after every request and the store's contents checked after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.store = ObjectStore.mkfs(self.tmp.name)
        self.store.apply(Transaction().mkcoll(CID))
        self.objects: dict[str, ModelObject] = {}
        self.step = 0

    def teardown(self) -> None:
        self.store.close()
        self.tmp.cleanup()

    @rule(name=names, ops=st.lists(ops_strategy, min_size=1, max_size=4))
    def request(self, name: str, ops: list[o.OsdOp]) -> None:
        self.step += 1
        ctx = OpContext(
            mtime_ns=MTIME + self.step,
            version=Eversion(1, self.step),
            max_object_size=MAX_SIZE,
            max_omap_entries=8,
        )
        model = Model(self.objects.get(name), ctx)
        expected: list[o.OpResult] = []
        rc = 0
        for op in ops:
            expected.append(model.run(op))
            if expected[-1].rc < 0 and not op.failok:
                rc = expected[-1].rc
                break
        result = execute(self.store, CID, ObjectId(name), ops, ctx)
        assert result.results == expected
        assert result.rc == rc
        if rc < 0 or not o.may_write(ops):
            assert result.txn is None
            return
        self.store.apply(result.txn)
        if model.obj is None:
            self.objects.pop(name, None)
            return
        if model.modified:
            model.obj.user_version = self.step
        self.objects[name] = model.obj

    @rule()
    def reopen(self) -> None:
        self.store.close()
        self.store = ObjectStore.open(self.tmp.name)

    @invariant()
    def store_matches_model(self) -> None:
        listed = {oid.name for oid in self.store.list_objects(CID)}
        assert listed == set(self.objects)
        for name, obj in self.objects.items():
            oid = ObjectId(name)
            info = self.store.stat(CID, oid)
            assert (info.size, info.mtime_ns, info.user_version) == (
                len(obj.data),
                obj.mtime_ns,
                obj.user_version,
            )
            assert self.store.read(CID, oid) == obj.data
            assert self.store.getxattrs(CID, oid) == dict(sorted(obj.xattrs.items()))
            assert dict(self.store.omap_iter(CID, oid)) == {
                k: v for k, v in sorted(obj.omap.items()) if k
            }
            assert self.store.omap_get_header(CID, oid) == obj.header


OpsMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestOpsMachine = OpsMachine.TestCase
