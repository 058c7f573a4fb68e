"""A replica's answer to a replicated write, shared by the OSD's fast path and its
waiting task (radospy.osd.rep_op_admission)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from radospy.common.eversion import Eversion
from radospy.osd.rep_op_admission import RepOpAdmission, admit_rep_op

HEAD = Eversion(7, 20)
"""The replica's last_update in these tests; its copy was activated in epoch 7."""


def _admit(
    version: Eversion, prev: Eversion, map_epoch: int = 7, retired: bool = False
) -> RepOpAdmission:
    return admit_rep_op(version, prev, map_epoch, HEAD, 7, retired)


def test_the_write_after_the_replicas_head_applies() -> None:
    assert _admit(Eversion(7, 21), HEAD) is RepOpAdmission.APPLY
    assert _admit(Eversion(8, 21), HEAD, map_epoch=8) is RepOpAdmission.APPLY


def test_a_write_whose_predecessor_is_not_here_waits_for_it() -> None:
    assert _admit(Eversion(7, 22), Eversion(7, 21)) is RepOpAdmission.WAIT


def test_a_resent_write_is_a_duplicate_even_on_a_retired_pg_or_from_an_older_interval() -> None:
    """It was applied: the primary is answered once it is durable, not refused."""
    assert _admit(HEAD, Eversion(7, 19)) is RepOpAdmission.DUPLICATE
    assert _admit(Eversion(7, 3), Eversion(7, 2), retired=True) is RepOpAdmission.DUPLICATE
    assert _admit(Eversion(6, 3), Eversion(6, 2), map_epoch=6) is RepOpAdmission.DUPLICATE


def test_a_new_write_to_a_pg_that_left_the_osd_is_refused() -> None:
    assert _admit(Eversion(7, 21), HEAD, retired=True) is RepOpAdmission.RETIRED


def test_a_new_write_sent_before_the_copy_was_last_activated_is_stale() -> None:
    assert _admit(Eversion(7, 21), HEAD, map_epoch=6) is RepOpAdmission.STALE


versions = st.builds(Eversion, st.integers(0, 9), st.integers(0, 40))


@given(versions, versions, st.integers(0, 9), versions, st.integers(0, 9), st.booleans())
def test_a_write_applies_only_past_the_head_and_following_it(
    version: Eversion,
    prev: Eversion,
    map_epoch: int,
    head: Eversion,
    activated: int,
    retired: bool,
) -> None:
    answer = admit_rep_op(version, prev, map_epoch, head, activated, retired)
    if answer is RepOpAdmission.APPLY:
        assert prev <= head < version and not retired and map_epoch >= activated
    assert (answer is RepOpAdmission.DUPLICATE) == (version <= head)
