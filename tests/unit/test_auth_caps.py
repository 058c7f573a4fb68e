"""Capabilities: Ceph's own parse vectors (src/test/{mon/moncap,osd/osdcap}.cc), is_capable
semantics, and round trips of the canonical text."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radospy.auth.caps import (
    ClassCall,
    MonCap,
    MonCapGrant,
    OSDCap,
    OSDCapGrant,
    OSDCapMatch,
    StringConstraint,
    parse_caps,
)
from radospy.auth.errors import PermissionDenied
from radospy.common.errors import InvalidArgument

MON_GOOD = [
    "allow *",
    "allow r",
    "allow rwx",
    " allow rwx",
    "allow rwx ",
    " allow   rwx ",
    "allow service=foo x",
    'allow service="froo" x',
    "allow profile osd",
    "allow profile osd-bootstrap",
    'allow profile "mds-bootstrap", allow *',
    'allow command "a b c"',
    "allow command abc",
    "allow command abc with arg=foo",
    "allow command abc with arg=foo arg2=bar",
    "allow service foo x",
    "allow service foo x; allow service bar x",
    "allow service foo w ;allow service bar x",
    "allow service foo  w , allow service bar x",
    "allow service foo r , allow service bar x",
    "allow service foo_foo r, allow service bar r",
    "allow service foo-foo r, allow service bar r",
    'allow service " foo " w, allow service bar r',
    "allow command abc with arg=foo arg2=bar, allow service foo r",
    "profile osd",
    "profile mgr",
    "profile rbd",
    'allow command "osd pool ls"',
    "allow rw",
    "allow r network 10.0.0.0/8",
    "allow command foo with k prefix v",
    "allow all",
]
MON_BAD = [
    "allow*",
    "foo allow *",
    "allow r foo",
    "allow profile foo rwx",
    "allow service bar",
    "allow command baz x",
    "allow r w",
    "ALLOW r",
    "allow rwx,",
    "allow rwx x",
    "allow r pool foo r",
    "allow wwx pool taco",
    "allow wwx pool taco^funny&chars",
    "allow rwx pool 'weird name''",
    'allow rwx object_prefix "beforepool" pool weird',
    "allow rwx auid 123 pool asdf",
    "",
    "allow wr",
]
OSD_GOOD = [
    "allow *",
    "allow r",
    "allow rwx",
    "allow r pool foo ",
    "allow r pool=foo",
    "allow wx pool taco",
    "allow pool foo r",
    "allow pool taco wx",
    "allow wx pool taco object_prefix obj",
    "allow wx pool taco object_prefix obj_with_underscores_and_no_quotes",
    "allow pool taco object_prefix obj wx",
    "allow pool taco object_prefix obj_with_underscores_and_no_quotes wx",
    "allow rwx pool 'weird name'",
    "allow rwx pool \"weird name with ''s\"",
    "allow rwx auid 123",
    "allow rwx pool foo, allow r pool bar",
    "allow rwx pool foo ; allow r pool bar",
    "allow rwx pool foo ;allow r pool bar",
    "allow rwx pool foo; allow r pool bar",
    "allow auid 123 rwx",
    "allow pool foo rwx, allow pool bar r",
    "allow pool foo.froo.foo rwx, allow pool bar r",
    "allow pool foo rwx ; allow pool bar r",
    "allow pool foo rwx ;allow pool bar r",
    "allow pool foo rwx; allow pool bar r",
    "allow pool data rw, allow pool rbd rwx, allow pool images class rbd foo",
    "allow class-read",
    "allow class-write",
    "allow class-read class-write",
    "allow r class-read pool foo",
    "allow rw class-read class-write pool foo",
    "allow pool bar rwx; allow pool baz r class-read",
    "allow class foo",
    'allow class clsname "clsthingidon\'tunderstand"',
    "  allow rwx pool foo; allow r pool bar  ",
    "  allow   rwx   pool foo; allow r pool bar  ",
    "  allow pool foo rwx; allow pool bar r  ",
    "  allow     pool foo rwx; allow pool bar r  ",
    " allow wx pool taco",
    "\tallow\nwx\tpool \n taco\t",
    "allow r   pool    foo    object_prefix   blah   ;   allow   w   auid  5",
    "allow class-read object_prefix rbd_children, allow pool libvirt-pool-test rwx",
    "allow class-read object_prefix rbd-children, allow pool libvirt_pool_test rwx",
    "allow pool foo namespace nfoo rwx, allow pool bar namespace=nbar r",
    "allow pool foo namespace=nfoo rwx ; allow pool bar namespace=nbar r",
    "allow pool foo namespace nfoo rwx ;allow pool bar namespace nbar r",
    "allow pool foo namespace=nfoo rwx; allow pool bar namespace nbar object_prefix rbd r",
    "allow rwx namespace=nfoo tag cephfs data=cephfs_a",
    "allow rwx namespace foo tag cephfs data =cephfs_a",
    "allow pool foo namespace=nfoo* rwx",
    "allow pool foo namespace=\"\" rwx; allow pool bar namespace='' object_prefix rbd r",
    "allow pool foo namespace \"\" rwx; allow pool bar namespace '' object_prefix rbd r",
    "profile abc, profile abc pool=bar, profile abc pool=bar namespace=foo",
    "allow rwx tag application key=value",
    "allow rwx tag application key = value",
    "allow rwx tag application key =value",
    "allow rwx tag application key= value",
    "allow rwx tag application key  =   value",
    "allow all tag application all=all",
    "allow rwx network 127.0.0.1/8",
    "allow rwx network ::1/128",
    "allow rwx network [ff::1]/128",
    "profile foo network 127.0.0.1/8",
    "allow rwx namespace foo tag cephfs data =cephfs_a network 127.0.0.1/8",
    "allow pool foo rwx network 1.2.3.4/24",
    "allow r pool foo namespace bar",
    "profile rbd pool=images",
]
OSD_BAD = [
    "allow r poolfoo",
    "allow r w",
    "ALLOW r",
    "allow rwx,",
    "allow rwx x",
    "allow r pool foo r",
    "allow wwx pool taco",
    "allow wwx pool taco^funny&chars",
    "allow rwx pool 'weird name''",
    'allow rwx object_prefix "beforepool" pool weird',
    "allow rwx auid 123 pool asdf",
    "allow xrwx pool foo,, allow r pool bar",
    ";allow rwx pool foo rwx ; allow r pool bar",
    "allow rwx pool foo ;allow r pool bar gibberish",
    "allow rwx auid 123 pool asdf namespace=foo",
    "allow rwx auid 123 namespace",
    "allow rwx namespace",
    "allow namespace",
    "allow namespace=foo",
    "allow namespace=f*oo",
    "allow rwx auid 123 namespace asdf",
    "allow wwx pool ''",
    "allow rwx tag application key value",
]


@pytest.mark.parametrize("text", MON_GOOD)
def test_mon_parse_good(text: str) -> None:
    cap = MonCap.parse(text)
    assert cap.text == text
    assert MonCap.parse(str(cap)).grants == cap.grants


@pytest.mark.parametrize("text", MON_BAD)
def test_mon_parse_bad(text: str) -> None:
    with pytest.raises(InvalidArgument) as e:
        MonCap.parse(text)
    assert e.value.errno == errno.EINVAL
    assert str(e.value).startswith("mon capability parse failed, stopped at ")


@pytest.mark.parametrize("text", OSD_GOOD)
def test_osd_parse_good(text: str) -> None:
    cap = OSDCap.parse(text)
    assert OSDCap.parse(str(cap)).grants == cap.grants


@pytest.mark.parametrize("text", OSD_BAD)
def test_osd_parse_bad(text: str) -> None:
    with pytest.raises(InvalidArgument):
        OSDCap.parse(text)


def test_parse_error_says_where_it_stopped() -> None:
    with pytest.raises(InvalidArgument, match="stopped at 'foo' of 'allow r foo'"):
        MonCap.parse("allow r foo")
    with pytest.raises(InvalidArgument, match="stopped at ', allow foo' of 'allow r, allow foo'"):
        MonCap.parse("allow r, allow foo")
    with pytest.raises(InvalidArgument, match=r"osd capability parse failed, stopped at 'w'"):
        OSDCap.parse("allow r w")
    with pytest.raises(InvalidArgument, match="stopped at end of ''"):
        MonCap.parse("")


def test_parse_caps_dispatch() -> None:
    parse_caps("mon", "allow r")
    parse_caps("osd", "allow rw pool=foo")
    parse_caps("mgr", "allow *")
    parse_caps("mds", "allow")
    with pytest.raises(InvalidArgument, match="unknown cap type 'bogus'"):
        parse_caps("bogus", "allow r")


def test_mon_basic_rwx() -> None:
    cap = MonCap.parse("allow r")
    assert cap.is_capable("client.a", "osd", "osd pool ls", read=True)
    assert not cap.is_capable("client.a", "osd", "osd pool create", read=True, write=True)
    rx = MonCap.parse("allow rx")
    assert rx.is_capable("client.a", "auth", "auth ls", read=True, execute=True)
    assert not rx.is_capable("client.a", "auth", "auth ls", write=True)
    star = MonCap.parse("allow *")
    assert star.is_allow_all()
    assert star.is_capable(
        "client.a", "config-key", "config-key get", read=True, write=True, execute=True
    )


def test_mon_blanket_caps_never_open_config_key() -> None:
    assert not MonCap.parse("allow rwx").is_capable("client.a", "config-key", read=True)


def test_mon_service_and_command_grants() -> None:
    cap = MonCap.parse('allow service osd r, allow command "osd pool ls"')
    assert cap.is_capable("client.a", "osd", "osd dump", read=True)
    assert not cap.is_capable("client.a", "mon", "mon dump", read=True)
    assert cap.is_capable("client.a", "osd", "osd pool ls", read=True, write=True, execute=True)
    with_args = MonCap.parse("allow command foo with pool=bar")
    assert with_args.is_capable("c.a", "x", "foo", {"pool": "bar"}, write=True)
    assert not with_args.is_capable("c.a", "x", "foo", {"pool": "baz"}, write=True)
    assert not with_args.is_capable("c.a", "x", "foo", {}, write=True)


def test_mon_profiles() -> None:
    osd = MonCap.parse("allow profile osd")
    assert osd.is_capable("osd.1", "osd", "osd boot", read=True, write=True, execute=True)
    assert osd.is_capable("osd.1", "mon", "mon dump", read=True)
    assert not osd.is_capable("osd.1", "auth", "auth ls", read=True)
    assert osd.is_capable(
        "osd.1", "config-key", "config-key get", {"key": "daemon-private/osd.1/x"}, read=True
    )
    assert not osd.is_capable(
        "osd.1", "config-key", "config-key get", {"key": "daemon-private/osd.2/x"}, read=True
    )
    mgr = MonCap.parse("profile mgr")
    assert mgr.is_capable("mgr.x", "auth", "auth get", read=True, execute=True)
    assert not mgr.is_capable("mgr.x", "auth", "auth add", write=True)
    rbd = MonCap.parse("profile rbd")
    assert rbd.is_capable("client.r", "osd", "osd dump", read=True)
    assert not rbd.is_capable("client.r", "osd", "osd pool create", write=True)
    assert not MonCap.parse("profile client").is_capable("client.c", "mon", read=True)


def test_mon_network_restricts() -> None:
    cap = MonCap.parse("allow r network 10.0.0.0/8")
    assert cap.is_capable("c.a", "mon", read=True, addr="10.1.2.3")
    assert not cap.is_capable("c.a", "mon", read=True, addr="192.168.1.1")
    assert not cap.is_capable("c.a", "mon", read=True)


def test_require_raises_eacces() -> None:
    with pytest.raises(PermissionDenied) as e:
        MonCap.parse("allow r").require("c.a", "osd", "osd pool create", write=True)
    assert e.value.errno == errno.EACCES
    with pytest.raises(PermissionDenied):
        OSDCap.parse("allow r pool=foo").require("foo", write=True)
    OSDCap.parse("allow rw pool=foo").require("foo", read=True, write=True)


CLS = ClassCall("cls", "", read=True, write=True)
CLS_NOT_ALLOWLISTED = ClassCall("cls", "", read=True, write=True, allowlisted=False)


def test_osd_vectors_from_ceph() -> None:
    star = OSDCap.parse("allow *")
    assert star.allow_all()
    assert star.is_capable("foo", "ns", read=True, write=True, classes=[CLS_NOT_ALLOWLISTED])
    pool = OSDCap.parse("allow rwx pool foo")
    assert pool.is_capable("foo", "ns", read=True, write=True, classes=[CLS])
    assert not pool.is_capable("foo", "", read=True, write=True, classes=[CLS_NOT_ALLOWLISTED])
    assert not pool.is_capable("bar", "", read=True, write=True, classes=[CLS])
    pools = OSDCap.parse("allow rwx pool foo, allow r pool bar")
    assert pools.is_capable("bar", "ns", read=True)
    assert not pools.is_capable("bar", "", read=True, write=True, classes=[CLS])
    assert not pools.is_capable("baz", "", read=True)
    prefix = OSDCap.parse("allow rwx object_prefix foo")
    assert prefix.is_capable("bar", "", read=True, object_name="food")
    assert not prefix.is_capable("bar", "", read=True, object_name="_foo")
    ns = OSDCap.parse("allow rw namespace=nfoo")
    assert ns.is_capable("bar", "nfoo", read=True, write=True)
    assert not ns.is_capable("bar", "nfoobar", read=True, write=True)
    glob = OSDCap.parse("allow rw namespace=nfoo*")
    assert glob.is_capable("bar", "nfoobar", read=True, write=True)
    assert not glob.is_capable("bar", "nfo", read=True, write=True)
    r = OSDCap.parse("allow r")
    assert r.is_capable("bar", "", read=True)
    assert not r.is_capable("bar", "", read=True, classes=[ClassCall("cls", "", True, False)])


def test_osd_namespace_form_from_issue() -> None:
    cap = OSDCap.parse("allow r pool foo namespace bar")
    assert cap.is_capable("foo", "bar", read=True)
    assert not cap.is_capable("foo", "", read=True)
    assert not cap.is_capable("foo", "bar", write=True)


def test_osd_class_grants() -> None:
    cap = OSDCap.parse("allow r class-read pool foo")
    assert cap.is_capable("foo", read=True, classes=[ClassCall("lock", "get", True, False)])
    assert not cap.is_capable("foo", read=True, classes=[ClassCall("lock", "set", True, True)])
    named = OSDCap.parse("allow class lock get")
    assert named.is_capable("p", classes=[ClassCall("lock", "get", True, False, False)])
    assert not named.is_capable("p", classes=[ClassCall("lock", "set", True, False)])


def test_osd_profile_rbd() -> None:
    cap = OSDCap.parse("profile rbd pool=images")
    assert cap.is_capable("images", read=True, write=True, classes=[CLS])
    assert not cap.is_capable("other", read=True)
    assert cap.is_capable(
        "other", classes=[ClassCall("rbd", "x", True, False)], object_name="rbd_children"
    )
    ro = OSDCap.parse("profile rbd-read-only pool=images")
    assert ro.is_capable("images", read=True)
    assert not ro.is_capable("images", write=True)
    assert OSDCap.parse("profile read-write").is_capable("any", read=True, write=True)
    assert not OSDCap.parse("profile read-only").is_capable("any", write=True)


def test_osd_pool_tags() -> None:
    cap = OSDCap.parse("allow rw tag cephfs data=fs_a")
    assert cap.is_capable("p", read=True, app_metadata={"cephfs": {"data": "fs_a"}})
    assert not cap.is_capable("p", read=True, app_metadata={"cephfs": {"data": "fs_b"}})
    assert not cap.is_capable("p", read=True)
    any_key = OSDCap.parse("allow rw tag cephfs *=fs_a")
    assert any_key.is_capable("p", read=True, app_metadata={"cephfs": {"meta": "fs_a"}})


# Property: any grant structure we can print parses back to itself.

_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-./ ", min_size=1, max_size=12)
_plain = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
_mon_bits = st.sampled_from([2, 4, 8, 6, 10, 12, 14, 0xFF])
_constraint = st.builds(StringConstraint, st.sampled_from(["equal", "prefix", "regex"]), _names)
_mon_grant = st.one_of(
    st.builds(lambda a: MonCapGrant(allow=a), _mon_bits),
    st.builds(lambda s, a: MonCapGrant(service=s, allow=a), _names, _mon_bits),
    st.builds(lambda p: MonCapGrant(profile=p), _names),
    st.builds(
        lambda c, args: MonCapGrant(command=c, command_args=tuple(sorted(args.items()))),
        _names,
        st.dictionaries(
            _plain.filter(lambda k: k not in ("network", "with")), _constraint, max_size=3
        ),
    ),
)


@given(st.lists(_mon_grant, min_size=1, max_size=4))
def test_mon_caps_round_trip(grants: list[MonCapGrant]) -> None:
    text = ", ".join(str(g) for g in grants)
    assert MonCap.parse(text).grants == tuple(grants)


_osd_bits = st.sampled_from([2, 4, 6, 2 | 24, 6 | 24, 8, 16, 24, 2 | 8, 0xFF])
_ns = st.one_of(st.none(), st.just(""), _plain, _plain.map(lambda s: s + "*"))
_osd_match = st.builds(
    lambda pool, ns, prefix: OSDCapMatch(pool, ns, object_prefix=prefix),
    st.one_of(st.just(""), _names.filter(str.strip)),
    _ns,
    st.one_of(st.just(""), _plain),
).filter(lambda m: not (m.namespace is not None and not m.pool and m.object_prefix))
_osd_grant = st.one_of(
    st.builds(lambda a, m: OSDCapGrant(a, match=m), _osd_bits, _osd_match),
    st.builds(
        lambda c, meth, m: OSDCapGrant(class_name=c, method_name=meth, match=m),
        _plain,
        st.one_of(st.just(""), _plain),
        _osd_match.filter(lambda m: m.namespace is None and not m.pool and not m.object_prefix),
    ),
    st.builds(
        lambda p, pool: OSDCapGrant(profile=p, match=OSDCapMatch(pool)),
        _plain.filter(lambda p: p not in ("pool", "network")),
        st.one_of(st.just(""), _plain),
    ),
)


@given(st.lists(_osd_grant, min_size=1, max_size=4))
def test_osd_caps_round_trip(grants: list[OSDCapGrant]) -> None:
    text = ", ".join(str(g) for g in grants)
    assert OSDCap.parse(text).grants == tuple(grants)
