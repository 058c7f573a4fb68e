"""The RADOS data path end to end: 3 monitors and 3 OSDs as real processes on 127.0.0.1,
driven through `radospy rados`/`radospy ceph` and the librados-shaped `radospy.Rados`.

One cluster serves the whole module (bringing one up costs seconds); the last test stops
the OSDs and reads every OSD's store offline.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import radospy
from radospy.common import osdop as o
from radospy.osd.messages import ObjectLocator
from radospy.osd.objectstore import ObjectId, ObjectStore
from tests.integration.rados_cluster import RadosCluster, async_connected, connected, running

POOL = "mytest"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadosCluster]:
    c = RadosCluster(tmp_path_factory.mktemp("rados"), num_osds=3)
    with running(c, {POOL: 8}) as c:
        yield c


@pytest.fixture
def client(cluster: RadosCluster) -> Iterator[radospy.Rados]:
    with connected(cluster) as r:
        yield r


ACKED: dict[str, bytes] = {}
"""Every object a test wrote and had acknowledged, with its content: checked on every
OSD's store at the end."""


def _write(ioctx: radospy.Ioctx, name: str, data: bytes) -> None:
    ioctx.write_full(name, data)
    ACKED[name] = data


def test_seed_session(cluster: RadosCluster, tmp_path: Path) -> None:
    src = tmp_path / "testfile.txt"
    src.write_bytes(b"hello from the seed session\n")
    rc, _, err = cluster.ceph("osd", "pool", "create", "seed", "8")
    assert rc == 0, err
    rc, _, err = cluster.rados("put", "test-object-1", str(src), "--pool=seed")
    assert rc == 0, err
    rc, out, err = cluster.rados("-p", "seed", "ls")
    assert (rc, out) == (0, b"test-object-1\n"), err
    rc, out, err = cluster.ceph("osd", "map", "seed", "test-object-1")
    assert rc == 0 and "object 'test-object-1' -> pg" in out, err
    dst = tmp_path / "out.txt"
    rc, _, err = cluster.rados("get", "test-object-1", str(dst), "--pool=seed")
    assert rc == 0, err
    assert dst.read_bytes() == src.read_bytes()
    rc, out, err = cluster.rados("-p", "seed", "stat", "test-object-1")
    assert rc == 0 and out.decode().startswith("seed/test-object-1 mtime "), err
    assert out.decode().endswith(f", size {src.stat().st_size}\n")
    rc, _, err = cluster.rados("rm", "test-object-1", "--pool=seed")
    assert rc == 0, err
    rc, _, err = cluster.rados("get", "test-object-1", str(dst), "--pool=seed")
    assert rc == 1
    assert err == "error getting seed/test-object-1: (2) No such file or directory\n"
    rc, _, err = cluster.ceph("osd", "pool", "rm", "seed", "seed", "--yes-i-really-really-mean-it")
    assert rc == 0, err
    rc, out, _ = cluster.rados("lspools")
    assert rc == 0 and b"seed" not in out.split()


def test_stdin_stdout_and_errors(cluster: RadosCluster) -> None:
    rc, _, err = cluster.rados("-p", POOL, "put", "piped", "-", stdin=b"via stdin")
    assert rc == 0, err
    ACKED["piped"] = b"via stdin"
    rc, out, err = cluster.rados("-p", POOL, "get", "piped", "-")
    assert (rc, out) == (0, b"via stdin"), err
    rc, _, err = cluster.rados("-p", "nosuchpool", "ls")
    assert rc == 1 and err == "error opening pool nosuchpool: (2) No such file or directory\n"
    rc, _, err = cluster.rados("-p", POOL, "rm", "absent")
    assert rc == 1 and err == f"error removing {POOL}>absent: (2) No such file or directory\n"


@pytest.mark.parametrize("size", [0, 1, 4 << 20])
def test_round_trip_between_clients(cluster: RadosCluster, size: int) -> None:
    data = os.urandom(size)
    name = f"obj-{size}"
    conf = str(cluster.conf_path)
    with radospy.Rados(conffile=conf) as writer, writer.open_ioctx(POOL) as ioctx:
        _write(ioctx, name, data)
    with radospy.Rados(conffile=conf) as reader, reader.open_ioctx(POOL) as ioctx:
        assert ioctx.stat(name)[0] == size
        got = ioctx.read(name, max(size, 1))
        assert type(got) is bytes and got == data  # python-rados' contract
        assert name in {ob.key for ob in ioctx.list_objects()}


def test_partial_writes_append_truncate(client: radospy.Rados) -> None:
    with client.open_ioctx(POOL) as ioctx:
        ioctx.write_full("parts", b"0123456789")
        ioctx.write("parts", b"ab", 2)
        ioctx.append("parts", b"XY")
        assert ioctx.read("parts") == b"01ab456789XY"
        ioctx.trunc("parts", 4)
        assert ioctx.read("parts", 100, 1) == b"1ab"
        ACKED["parts"] = b"01ab"
        with pytest.raises(radospy.ObjectNotFound):
            ioctx.trunc("never-written", 1)


def test_xattrs_and_omap(client: radospy.Rados) -> None:
    with client.open_ioctx(POOL) as ioctx:
        _write(ioctx, "meta", b"body")
        ioctx.set_xattr("meta", "color", b"blue")
        ioctx.set_xattr("meta", "size", b"XL")
        assert ioctx.get_xattr("meta", "color") == b"blue"
        assert dict(ioctx.get_xattrs("meta")) == {"color": b"blue", "size": b"XL"}
        ioctx.rm_xattr("meta", "size")
        with pytest.raises(radospy.NoData):
            ioctx.get_xattr("meta", "size")
        with radospy.WriteOpCtx() as op:
            ioctx.set_omap(op, ("a", "b", "c"), (b"1", b"2", b"3"))
            ioctx.operate_write_op(op, "meta")
        with radospy.WriteOpCtx() as op:
            ioctx.remove_omap_keys(op, ("b",))
            ioctx.operate_write_op(op, "meta")
        with radospy.ReadOpCtx() as op:
            vals, _ = ioctx.get_omap_vals(op, "", "", 100)
            keys, _ = ioctx.get_omap_keys(op, "a", 100)
            picked, _ = ioctx.get_omap_vals_by_keys(op, ("c", "zz"))
            ioctx.operate_read_op(op, "meta")
        assert list(vals) == [("a", b"1"), ("c", b"3")]
        assert [k for k, _ in keys] == ["c"]
        assert dict(picked) == {"c": b"3"}
        with radospy.WriteOpCtx() as op:
            ioctx.clear_omap(op)
            ioctx.operate_write_op(op, "meta")
        with radospy.ReadOpCtx() as op:
            vals, _ = ioctx.get_omap_vals(op, "", "", 100)
            ioctx.operate_read_op(op, "meta")
        assert list(vals) == []


def test_namespaces_and_locator(client: radospy.Rados) -> None:
    with client.open_ioctx(POOL) as ioctx:
        ioctx.set_namespace("ns1")
        ioctx.write_full("same-name", b"in ns1")
        ioctx.set_namespace("")
        _write(ioctx, "same-name", b"in default")
        assert ioctx.read("same-name") == b"in default"
        ioctx.set_namespace("ns1")
        assert ioctx.read("same-name") == b"in ns1"
        assert [ob.key for ob in ioctx.list_objects()] == ["same-name"]
        ioctx.set_namespace(radospy.LIBRADOS_ALL_NSPACES)
        found = {(ob.nspace, ob.key) for ob in ioctx.list_objects()}
        assert {("ns1", "same-name"), ("", "same-name")} <= found
        ioctx.set_namespace("")
        ioctx.set_locator_key("placed-by-key")
        ioctx.write_full("located", b"by locator")
        assert ioctx.read("located") == b"by locator"


def test_compound_op_is_atomic(client: radospy.Rados) -> None:
    with client.open_ioctx(POOL) as ioctx:
        _write(ioctx, "guarded", b"original")
        ioctx.set_xattr("guarded", "ver", b"1")
        with radospy.WriteOpCtx() as op:
            op.cmpxattr("ver", radospy.client.rados.LIBRADOS_CMPXATTR_OP_EQ, b"2")
            op.write_full(b"replaced")
            ioctx.set_omap(op, ("k",), (b"v",))
            with pytest.raises(radospy.OSError) as info:
                ioctx.operate_write_op(op, "guarded")
        assert info.value.errno == 125  # ECANCELED
        assert ioctx.read("guarded") == b"original"
        with radospy.ReadOpCtx() as op:
            vals, _ = ioctx.get_omap_vals(op, "", "", 10)
            ioctx.operate_read_op(op, "guarded")
        assert list(vals) == []
        with radospy.WriteOpCtx() as op:
            op.new(1)
            op.write_full(b"never")
            with pytest.raises(radospy.ObjectExists):
                ioctx.operate_write_op(op, "guarded")
        assert ioctx.read("guarded") == b"original"


def test_aio(client: radospy.Rados) -> None:
    with client.open_ioctx(POOL) as ioctx:
        comps = [ioctx.aio_write_full(f"aio-{i}", b"%d" % i) for i in range(16)]
        for comp in comps:
            comp.wait_for_complete()
            assert comp.get_return_value() == 0
        ACKED.update({f"aio-{i}": b"%d" % i for i in range(16)})
        got: list[bytes] = []
        comp = ioctx.aio_read("aio-7", 10, 0, lambda _, data: got.append(data))
        comp.wait_for_complete()
        assert comp.get_return_value() == 1
        assert got == [b"7"]


def test_resent_op_is_applied_once(cluster: RadosCluster) -> None:
    async def run() -> None:
        async with async_connected(cluster) as rados:
            ioctx = await rados.open_ioctx(POOL)
            objecter = rados.objecter
            assert objecter is not None
            loc = ObjectLocator(ioctx.pool_id, "", "resent")
            reqid = objecter.new_reqid()
            first = await objecter.op(loc, [o.Append(data=b"once")], reqid=reqid)
            again = await objecter.op(loc, [o.Append(data=b"once")], reqid=reqid)
            assert first.rc == again.rc == 0
            assert again.version == first.version
            assert await ioctx.read("resent") == b"once"

    asyncio.run(run())
    ACKED["resent"] = b"once"


def test_read_view_is_read_without_the_copy(cluster: RadosCluster) -> None:
    async def run() -> None:
        async with async_connected(cluster) as rados:
            ioctx = await rados.open_ioctx(POOL)
            data = os.urandom(4 << 20)
            await ioctx.write_full("viewed", data)
            ACKED["viewed"] = data
            view = await ioctx.read_view("viewed", len(data))
            assert isinstance(view, memoryview) and view.readonly
            assert view == data
            got = await ioctx.read("viewed", len(data))
            assert type(got) is bytes and got == data
            assert await ioctx.read_view("viewed", 100, (4 << 20) - 10) == data[-10:]
            assert await ioctx.read_view("viewed", 10, 5 << 20) == b""
            assert await ioctx.read_view("viewed", 0) == b""
            with pytest.raises(radospy.ObjectNotFound):
                await ioctx.read_view("never-written", 10)

    asyncio.run(run())


def test_acknowledged_writes_are_on_every_acting_osd(cluster: RadosCluster) -> None:
    """Last: stop the OSDs and read each one's store offline. The pool has size 3 on
    3 OSDs, so every OSD is in every acting set and must hold every acknowledged write."""
    assert ACKED
    for osd in list(cluster.osd_procs):
        cluster.stop_osd(osd)
    for osd in range(cluster.num_osds):
        with ObjectStore.open(cluster.root / f"osd.{osd}" / "store", readonly=True) as store:
            held: dict[str, bytes] = {}
            for cid in store.list_collections():
                for name in ACKED:
                    info = store.stat(cid, ObjectId(name))
                    if info is not None:
                        held[name] = store.read(cid, ObjectId(name))
            assert held == ACKED, f"osd.{osd} differs"
            assert store.fsck() == []
