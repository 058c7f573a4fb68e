"""`radospy.osd.trim_order`: the snap trimmer leaves an object alone while a member
misses its head or its SnapSet object, and only that object."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from radospy.common.eversion import Eversion
from radospy.osd.objectstore.types import ObjectId
from radospy.osd.pglog import PgMissing
from radospy.osd.snap_txn import clone_of, snapdir_of
from radospy.osd.trim_order import degraded

V = Eversion(3, 7)


def missing(*oids: ObjectId) -> PgMissing:
    m = PgMissing()
    for oid in oids:
        m.add(oid, V)
    return m


def test_an_object_missing_on_a_member_waits_and_its_neighbours_do_not():
    a, b = ObjectId("a"), ObjectId("b")
    members = [missing(), missing(a)]
    assert degraded(a, members)
    assert not degraded(b, members)


def test_a_missing_snapset_object_makes_its_head_degraded():
    # A member that missed an earlier trim misses the SnapSet object, not the head.
    a = ObjectId("a", "ns")
    assert degraded(a, [missing(snapdir_of(a))])
    # The same name in another namespace is another object.
    assert not degraded(ObjectId("a"), [missing(snapdir_of(a))])


def test_clones_in_a_missing_set_do_not_count():
    # Missing sets name heads and SnapSet objects; a clone travels with its head.
    a = ObjectId("a")
    assert not degraded(a, [missing(clone_of(a, 4))])


def test_nothing_missing_nothing_waits():
    assert not degraded(ObjectId("a"), [])
    assert not degraded(ObjectId("a"), [missing(), missing()])


names = st.sampled_from(["a", "b", "c"])
spaces = st.sampled_from(["", "ns"])
heads = st.builds(ObjectId, names, spaces)


@given(
    st.lists(st.lists(st.tuples(heads, st.booleans()), max_size=4), max_size=4),
    heads,
)
def test_degraded_exactly_when_some_member_misses_the_head_or_its_snapset(members, oid):
    sets = [missing(*(snapdir_of(h) if dir_ else h for h, dir_ in m)) for m in members]
    expected = any(h == oid for m in members for h, _ in m)
    assert degraded(oid, sets) == expected
