"""The monitor command table, command by command: CLI parsing, results and the messages
of Ceph 16 (checked against a real Pacific monitor), and that refusals change nothing."""

from __future__ import annotations

import errno
import json

import pytest

from radospy.common.errors import InvalidArgument
from radospy.crush import codec
from radospy.mon.commands import COMMANDS, parse_argv

from .mon_helpers import FSID, Mon, with_osds

# -- parse_argv ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (
            "osd pool create p 8",
            {"prefix": "osd pool create", "pool": "p", "pg_num": 8},
        ),
        (
            "osd pool create e 4 4 erasure ec21",
            {
                "prefix": "osd pool create",
                "pool": "e",
                "pg_num": 4,
                "pgp_num": 4,
                "pool_type": "erasure",
                "erasure_code_profile": "ec21",
            },
        ),
        (
            "osd pool create p 8 replicated",
            {"prefix": "osd pool create", "pool": "p", "pg_num": 8, "pool_type": "replicated"},
        ),
        ("osd reweight osd.3 0.5", {"prefix": "osd reweight", "id": 3, "weight": 0.5}),
        ("osd in 0 osd.1", {"prefix": "osd in", "ids": ["0", "osd.1"]}),
        (
            "osd pool rm p p --yes-i-really-really-mean-it",
            {
                "prefix": "osd pool rm",
                "pool": "p",
                "pool2": "p",
                "yes_i_really_really_mean_it": True,
            },
        ),
        ("osd tree -f json", {"prefix": "osd tree", "format": "json"}),
        ("osd dump --format=json-pretty", {"prefix": "osd dump", "format": "json-pretty"}),
        ("-s", {"prefix": "status"}),
        (
            "osd crush add osd.0 1.5 host=h root=default",
            {
                "prefix": "osd crush add",
                "id": 0,
                "weight": 1.5,
                "args": ["host=h", "root=default"],
            },
        ),
        ("osd pool create p --size 2", {"prefix": "osd pool create", "pool": "p", "size": 2}),
    ],
)
def test_parse_argv(words: str, expected: dict) -> None:
    assert parse_argv(words.split()) == expected


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (
            "osd set bogus",
            "Invalid command: bogus not in full|pause|noup|nodown|noout|noin|nobackfill|"
            "norebalance|norecover|noscrub|nodeep-scrub|notieragent|nosnaptrim|"
            "pglog_hardlimit|noautoscale",
        ),
        ("osd reweight 0 1.5", "Invalid command: 1.5 not in range [0.0, 1.0]"),
        ("osd primary-affinity 0 2", "Invalid command: 2.0 not in range [0.0, 1.0]"),
        ("osd create x", "Invalid command: unused arguments: ['x']"),
        ("osd pool create", "Invalid command: missing required parameter pool(<poolname>)"),
        ("osd frobnicate", "no valid command found"),
        ("osd tree --bogus", "Invalid command: Unexpected argument '--bogus'"),
        ("osd tree -f xml", "unrecognized format 'xml'"),
    ],
)
def test_parse_argv_errors(words: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_argv(words.split())
    assert str(info.value).split("\n")[0] == message


def test_table_is_consistent() -> None:
    names = [c.name for c in COMMANDS]
    assert len(names) == len(set(names))
    for command in COMMANDS:
        assert command.module in ("osd", "mon", "auth", "config")
        assert command.perm in ("r", "rw", "rx", "rwx")
        assert ("w" in command.perm) == command.proposes or command.name == "auth import"


# -- Ceph's answers, table-driven ---------------------------------------------------------------

# (setup lines, command line, rc, outs, outbuf or None to skip), all observed on Ceph 16.2.15.
CASES = [
    ([], "osd create", 0, "", "0\n"),
    (
        ["osd create 11111111-2222-3333-4444-555555555555"],
        "osd create 11111111-2222-3333-4444-555555555555",
        0,
        "",
        "0\n",
    ),
    (
        ["osd create 11111111-2222-3333-4444-555555555555 7"],
        "osd create 11111111-2222-3333-4444-555555555555 2",
        -errno.EEXIST,
        "uuid 11111111-2222-3333-4444-555555555555 already in use for different id 7",
        None,
    ),
    (
        ["osd create", "osd create"],
        "osd in 0 1",
        0,
        "osd.0 is already in. osd.1 is already in. ",
        "",
    ),
    (["osd create", "osd create"], "osd out 1", 0, "marked out osd.1. ", ""),
    (["osd create"], "osd down 0", 0, "osd.0 is already down. ", ""),
    ([], "osd in 7", 0, "osd.7 does not exist. ", ""),
    (
        [],
        "osd in foo",
        -errno.EINVAL,
        "Expected option value to be integer, got 'foo'invalid osd id-1",
        None,
    ),
    (
        ["osd create", "osd create", "osd out all"],
        "osd in any",
        0,
        "marked in osd.0. marked in osd.1. ",
        "",
    ),
    (["osd create", "osd create", "osd create"], "osd rm 2 1", 0, "removed osd.2, osd.1", ""),
    ([], "osd rm 3", 0, "osd.3 does not exist. ", ""),
    ([], "osd set noout", 0, "noout is set", ""),
    (["osd set noout"], "osd set noout", 0, "noout is set", ""),
    ([], "osd unset noout", 0, "noout is unset", ""),
    ([], "osd set pause", 0, "pauserd,pausewr is set", ""),
    (["osd create"], "osd reweight 0 0.5", 0, "reweighted osd.0 to 0.5 (8000)", ""),
    (["osd create"], "osd reweight osd.0 0.25", 0, "reweighted osd.0 to 0.25 (4000)", ""),
    ([], "osd reweight 9 0.5", -errno.ENOENT, "osd.9 does not exist", None),
    (
        ["osd create"],
        "osd primary-affinity 0 0.5",
        0,
        "set osd.0 primary-affinity to 0.5 (8327682)",
        "",
    ),
    (
        ["osd create"],
        "osd primary-affinity osd.0 0",
        0,
        "set osd.0 primary-affinity to 0 (802)",
        "",
    ),
    # crush
    (
        ["osd create"],
        "osd crush add osd.0 1.0 host=h0 root=default",
        0,
        "add item id 0 name 'osd.0' weight 1 at location {host=h0,root=default} to crush map",
        "",
    ),
    (
        ["osd create", "osd crush add osd.0 1.0 host=h0 root=default"],
        "osd crush add osd.0 1.0 host=h0 root=default",
        0,
        "set item id 0 name 'osd.0' weight 1 at location {host=h0,root=default}: no change",
        "",
    ),
    (
        ["osd create", "osd create", "osd create"],
        "osd crush set osd.2 0.5 host=h1 root=default",
        -errno.ENOENT,
        "unable to set item id 2 name 'osd.2' weight 0.5 at location "
        "{host=h1,root=default}: does not exist",
        None,
    ),
    (
        [],
        "osd crush add osd.4 1.0 host=h0",
        -errno.ENOENT,
        "osd.4 does not exist. Create it before updating the crush map",
        None,
    ),
    ([], "osd crush add-bucket r2 root", 0, "added bucket r2 type root to crush map", ""),
    (
        ["osd crush add-bucket r2 root"],
        "osd crush add-bucket r2 root",
        0,
        "bucket 'r2' already exists",
        "",
    ),
    ([], "osd crush add-bucket h9 hoost", -errno.EINVAL, "type 'hoost' does not exist", None),
    (
        ["osd crush add-bucket r2 root"],
        "osd crush add-bucket h2 host root=r2",
        0,
        "added bucket h2 type host to location {root=r2}",
        "",
    ),
    (
        ["osd crush add-bucket r2 root", "osd crush add-bucket h3 host"],
        "osd crush move h3 root=r2",
        0,
        "moved item id -3 name 'h3' to location {root=r2} in crush map",
        "",
    ),
    (
        ["osd crush add-bucket r2 root", "osd crush add-bucket h3 host root=r2"],
        "osd crush move h3 root=r2",
        0,
        "no need to move item id -3 name 'h3' to location {root=r2} in crush map",
        "",
    ),
    ([], "osd crush move nob root=default", -errno.ENOENT, "item nob does not exist", None),
    ([], "osd crush link nob root=default", -errno.ENOENT, "item nob does not exist", None),
    (
        ["osd crush add-bucket r2 root", "osd crush add-bucket h3 host root=default"],
        "osd crush link h3 root=r2",
        0,
        "linked item id -3 name 'h3' to location {root=r2} in crush map",
        "",
    ),
    (
        ["osd create", "osd crush add osd.0 1.0 host=h0 root=default"],
        "osd crush reweight osd.0 2.5",
        0,
        "reweighted item id 0 name 'osd.0' to 2.5 in crush map",
        "",
    ),
    (
        [],
        "osd crush reweight osd.9 2.5",
        -errno.ENOENT,
        "device 'osd.9' does not appear in the crush map",
        None,
    ),
    (
        [],
        "osd crush reweight default 1",
        -errno.EINVAL,
        "device 'default' is not a leaf in the crush map",
        None,
    ),
    (
        ["osd create", "osd crush add osd.0 1.0 host=h0 root=default"],
        "osd crush rm h0",
        -errno.ENOTEMPTY,
        "(39) Directory not empty",
        None,
    ),
    (
        ["osd create", "osd crush add osd.0 1.0 host=h0 root=default"],
        "osd crush rm osd.0 h0",
        0,
        "removed item id 0 name 'osd.0' from crush map",
        "",
    ),
    (
        ["osd create", "osd crush add osd.0 1.0 host=h0 root=default"],
        "osd crush rm osd.0",
        0,
        "removed item id 0 name 'osd.0' from crush map",
        "",
    ),
    ([], "osd crush remove osd.1", 0, "device 'osd.1' does not appear in the crush map", ""),
    ([], "osd crush tunables hammer", 0, "adjusted tunables profile to hammer", ""),
    ([], "osd crush rule create-replicated fast default host", 0, "", ""),
    (
        ["osd crush rule create-replicated fast default host"],
        "osd crush rule create-replicated fast default host",
        0,
        "rule fast already exists",
        "",
    ),
    (
        [],
        "osd crush rule create-replicated r2 nosuch host",
        -errno.ENOENT,
        "root item nosuch does not exist",
        None,
    ),
    (
        [],
        "osd crush rule create-replicated r3 default hoost",
        -errno.EINVAL,
        "unknown type hoost",
        None,
    ),
    (
        [],
        "osd crush rule create-replicated r4 default host ssd",
        -errno.EINVAL,
        "device class ssd does not exist",
        None,
    ),
    ([], "osd crush rule ls", 0, "", "replicated_rule\n"),
    ([], "osd crush rule dump nope", -errno.ENOENT, "unknown crush rule 'nope'", None),
    (["osd crush rule create-replicated fast default host"], "osd crush rule rm fast", 0, "", ""),
    ([], "osd crush rule rm fast", 0, "rule fast does not exist", ""),
    (
        ["osd pool create e1 4 4 erasure"],
        "osd crush rule rm erasure-code",
        -errno.EBUSY,
        "crush ruleset erasure-code 1 is in use",
        None,
    ),
    (
        ["osd erasure-code-profile set ec21 k=2 m=1 crush-failure-domain=osd"],
        "osd crush rule create-erasure ecr ec21",
        0,
        "created rule ecr at 1",
        "",
    ),
    (
        [],
        "osd crush rule create-erasure ecr2 nope",
        -errno.EINVAL,
        "cannot determine the erasure code plugin because there is no 'plugin' entry in the "
        "erasure_code_profile {}",
        None,
    ),
    # pools
    ([], "osd pool create p1 8", 0, "pool 'p1' created", ""),
    (["osd pool create p1 8"], "osd pool create p1 8", 0, "pool 'p1' already exists", ""),
    (
        [],
        "osd pool create p3 4 4 replicated nosuchrule",
        -errno.ENOENT,
        "specified rule nosuchrule doesn't exist",
        None,
    ),
    (
        [],
        "osd pool create y 100000",
        -errno.ERANGE,
        "'pg_num' must be greater than 0 and less than or equal to 65536 (you may adjust "
        "'mon max pool pg num' for higher values)",
        None,
    ),
    (["osd pool create p1 8", "osd pool create e1 4 4 erasure"], "osd pool ls", 0, "", "p1\ne1\n"),
    (["osd pool create p1 8"], "osd pool ls -f json", 0, "", '["p1"]'),
    (["osd pool create p1 8"], "osd pool get p1 size", 0, "", "size: 3\n"),
    (
        ["osd pool create p1 8"],
        "osd pool get p1 size -f json",
        0,
        "",
        '{"pool":"p1","pool_id":1,"size":3}',
    ),
    (
        ["osd pool create p1 8"],
        "osd pool get p1 crush_rule",
        0,
        "",
        "crush_rule: replicated_rule\n",
    ),
    ([], "osd pool get nop size", -errno.ENOENT, "unrecognized pool 'nop'", None),
    (["osd pool create p1 8"], "osd pool set p1 size 2", 0, "set pool 1 size to 2", ""),
    (
        ["osd pool create p1 8", "osd pool set p1 size 2"],
        "osd pool set p1 min_size 5",
        -errno.EINVAL,
        "pool min_size must be between 1 and size, which is set to 2",
        None,
    ),
    (
        ["osd pool create p1 8"],
        "osd pool set p1 size 11",
        -errno.EINVAL,
        "pool size must be between 1 and 10",
        None,
    ),
    (
        ["osd pool create p1 8"],
        "osd pool set p1 size abc",
        -errno.EINVAL,
        "error parsing integer value 'abc': Expected option value to be integer, got 'abc'",
        None,
    ),
    (["osd pool create p1 8"], "osd pool set p1 pg_num 16", 0, "set pool 1 pg_num to 16", ""),
    (
        ["osd pool create p1 8"],
        "osd pool set p1 pg_num 4",
        -errno.EINVAL,
        "specified pg_num 4 <= current 8",
        None,
    ),
    (
        ["osd pool create p1 8"],
        "osd pool set p1 pgp_num 32",
        -errno.EINVAL,
        "specified pgp_num 32 > pg_num 8",
        None,
    ),
    (["osd pool create p1 8"], "osd pool set p1 pgp_num 4", 0, "set pool 1 pgp_num to 4", ""),
    (
        ["osd pool create p1 8"],
        "osd pool set p1 crush_rule nope",
        -errno.ENOENT,
        "crush rule nope does not exist",
        None,
    ),
    (
        ["osd pool create p2 8"],
        "osd pool delete p2",
        -errno.EPERM,
        "WARNING: this will *PERMANENTLY DESTROY* all data stored in pool p2.  If you are "
        "*ABSOLUTELY CERTAIN* that is what you want, pass the pool name *twice*, followed by "
        "--yes-i-really-really-mean-it.",
        None,
    ),
    (
        ["osd pool create p2 8"],
        "osd pool delete p2 p2 --yes-i-really-really-mean-it",
        -errno.EPERM,
        "pool deletion is disabled; you must first set the mon_allow_pool_delete "
        "config option to true before you can destroy a pool",
        None,
    ),
    ([], "osd pool rm nop nop --yes-i-really-really-mean-it", 0, "pool 'nop' does not exist", ""),
    (
        ["osd pool create p2 8", "config set mon mon_allow_pool_delete true"],
        "osd pool rm p2 p2 --yes-i-really-really-mean-it",
        0,
        "pool 'p2' removed",
        "",
    ),
    (["osd pool create p1 8"], "osd pool rename p1 p1b", 0, "pool 'p1' renamed to 'p1b'", ""),
    (
        ["osd pool create p1 8", "osd pool rename p1 p1b"],
        "osd pool rename p1 p1b",
        0,
        "pool 'p1' does not exist; pool 'p1b' does -- assuming successful rename",
        "",
    ),
    ([], "osd pool rename nop x", -errno.ENOENT, "unrecognized pool 'nop'", None),
    (
        ["osd pool create p1 8", "osd pool create e1 8"],
        "osd pool rename p1 e1",
        -errno.EEXIST,
        "pool 'e1' already exists",
        None,
    ),
    (
        ["osd pool create p1 8"],
        "osd pool set-quota p1 max_objects 100",
        0,
        "set-quota max_objects = 100 for pool p1",
        "",
    ),
    (
        ["osd pool create p1 8"],
        "osd pool set-quota p1 max_bytes 10G",
        0,
        "set-quota max_bytes = 10737418240 for pool p1",
        "",
    ),
    (
        ["osd pool create p1 8"],
        "osd pool set-quota p1 max_bytes abc",
        -errno.EINVAL,
        "error parsing value 'abc': strict_iecstrtoll: illegal prefix (length > 2)",
        None,
    ),
    (["osd pool create p1 8"], "osd pool mksnap p1 s1", 0, "created pool p1 snap s1", ""),
    (
        ["osd pool create p1 8", "osd pool mksnap p1 s1"],
        "osd pool mksnap p1 s1",
        0,
        "pool p1 snap s1 already exists",
        "",
    ),
    (
        ["osd pool create p1 8", "osd pool mksnap p1 s1"],
        "osd pool rmsnap p1 s1",
        0,
        "removed pool p1 snap s1",
        "",
    ),
    (["osd pool create p1 8"], "osd pool rmsnap p1 s1", 0, "pool p1 snap s1 does not exist", ""),
    (
        ["osd pool create p1 8"],
        "osd pool selfmanaged-snap create p1",
        0,
        "created pool p1 selfmanaged snap 1",
        "1",
    ),
    (
        ["osd pool create p1 8", "osd pool selfmanaged-snap create p1"],
        "osd pool mksnap p1 s1",
        -errno.EINVAL,
        "pool p1 is in unmanaged snaps mode",
        None,
    ),
    (
        ["osd pool create p1 8", "osd pool mksnap p1 s1"],
        "osd pool selfmanaged-snap create p1",
        -errno.EINVAL,
        "pool p1 is in pool snaps mode",
        None,
    ),
    (
        ["osd pool create p1 8", "osd pool selfmanaged-snap create p1"],
        "osd pool selfmanaged-snap rm p1 1",
        0,
        "removed pool p1 selfmanaged snap 1",
        "",
    ),
    (
        ["osd pool create p1 8", "osd pool selfmanaged-snap create p1"],
        "osd pool selfmanaged-snap rm p1 5",
        -errno.ENOENT,
        "pool p1 selfmanaged snap 5 does not exist",
        None,
    ),
    (
        ["osd pool create p1 8"],
        "osd pool application enable p1 rbd",
        0,
        "enabled application 'rbd' on pool 'p1'",
        "",
    ),
    (
        ["osd pool create p1 8", "osd pool application enable p1 rbd"],
        "osd pool application enable p1 rgw",
        -errno.EPERM,
        "Are you SURE? Pool 'p1' already has an enabled application; pass "
        "--yes-i-really-mean-it to proceed anyway",
        None,
    ),
    # erasure-code profiles
    ([], "osd erasure-code-profile ls", 0, "", "default\n"),
    (
        [],
        "osd erasure-code-profile get default",
        0,
        "",
        "k=2\nm=2\nplugin=jerasure\ntechnique=reed_sol_van\n",
    ),
    (
        ["osd erasure-code-profile set ec21 k=2 m=1 crush-failure-domain=osd"],
        "osd erasure-code-profile get ec21",
        0,
        "",
        "crush-device-class=\ncrush-failure-domain=osd\ncrush-root=default\n"
        "jerasure-per-chunk-alignment=false\nk=2\nm=1\nplugin=jerasure\ntechnique=reed_sol_van\n"
        "w=8\n",
    ),
    (
        ["osd erasure-code-profile set ec21 k=2 m=1 crush-failure-domain=osd"],
        "osd erasure-code-profile set ec21 k=3 m=1",
        -errno.EPERM,
        "will not override erasure code profile ec21 because the existing profile "
        "{crush-device-class=,crush-failure-domain=osd,crush-root=default,"
        "jerasure-per-chunk-alignment=false,k=2,m=1,plugin=jerasure,technique=reed_sol_van,w=8} "
        "is different from the proposed profile {crush-device-class=,crush-failure-domain=host,"
        "crush-root=default,jerasure-per-chunk-alignment=false,k=3,m=1,plugin=jerasure,"
        "technique=reed_sol_van,w=8}",
        None,
    ),
    (
        [],
        "osd erasure-code-profile get nope",
        -errno.ENOENT,
        "unknown erasure code profile 'nope'",
        None,
    ),
    ([], "osd erasure-code-profile rm ec21", 0, "erasure-code-profile ec21 does not exist", ""),
    (
        ["osd pool create e1 4 4 erasure"],
        "osd erasure-code-profile rm default",
        -errno.EBUSY,
        "e1 pool(s) are using the erasure code profile 'default'",
        None,
    ),
    # auth
    ([], "auth get client.nope", -errno.ENOENT, "failed to find client.nope in keyring", None),
    ([], "auth get foo", -errno.EINVAL, "invalid entity_auth foo", None),
    (
        ["auth get-or-create client.foo mon 'allow r'"],
        "auth get-or-create client.foo mon 'allow rw'",
        -errno.EINVAL,
        "key for client.foo exists but cap mon does not match",
        None,
    ),
    (
        ["auth get-or-create client.foo mon 'allow r'"],
        "auth caps client.foo mon 'allow *'",
        0,
        "updated caps for client.foo",
        "",
    ),
    (
        ["auth get-or-create client.foo mon 'allow r'"],
        "auth caps client.foo mon 'allow bogus'",
        -errno.EINVAL,
        "mon capability parse failed, stopped at 'allow bogus' of 'allow bogus'",
        None,
    ),
    (
        [],
        "auth caps client.nope mon 'allow r'",
        -errno.ENOENT,
        "couldn't find entry client.nope",
        None,
    ),
    (["auth get-or-create client.foo"], "auth del client.foo", 0, "updated", ""),
    ([], "auth del client.foo", 0, "entity client.foo does not exist", ""),
    ([], "auth add client.bar mon 'allow r'", 0, "added key for client.bar", ""),
    (["auth add client.bar mon 'allow r'"], "auth add client.bar mon 'allow r'", 0, "", ""),
    # config
    ([], "config set osd osd_heartbeat_grace 30", 0, "", ""),
    (
        [],
        "config set global foo_bar 1",
        -errno.EINVAL,
        "unrecognized config option 'foo_bar'",
        None,
    ),
    (
        [],
        "config set bogus.x osd_heartbeat_grace 1",
        -errno.EINVAL,
        "unrecognized config target 'bogus.x'",
        None,
    ),
    (
        [],
        "config set osd osd_heartbeat_grace abc",
        -errno.EINVAL,
        "error parsing value: strict_si_cast: unit prefix not recognized",
        None,
    ),
    (
        ["config set osd osd_heartbeat_grace 30"],
        "config get osd.1 osd_heartbeat_grace",
        0,
        "",
        "30\n",
    ),
    (
        ["config set osd osd_heartbeat_grace 30", "config rm osd osd_heartbeat_grace"],
        "config get osd osd_heartbeat_grace",
        0,
        "",
        "20\n",
    ),
    ([], "config get mon nope_opt", -errno.ENOENT, "unrecognized key 'nope_opt'", None),
    (
        ["config set mon mon_allow_pool_delete true", "config set osd osd_heartbeat_grace 30"],
        "config dump",
        0,
        "",
        "WHO    MASK  LEVEL     OPTION                 VALUE  RO\n"
        "  mon        advanced  mon_allow_pool_delete  true     \n"
        "  osd        advanced  osd_heartbeat_grace    30       \n",
    ),
    (
        ["config set osd osd_heartbeat_grace 30"],
        "config get osd",
        0,
        "",
        "WHO  MASK  LEVEL     OPTION               VALUE  RO\n"
        "osd        advanced  osd_heartbeat_grace  30       \n",
    ),
    # health
    ([], "health", 0, "", "HEALTH_OK\n"),
    (
        ["osd set pause", "osd set nodeep-scrub"],
        "health detail",
        0,
        "",
        "HEALTH_WARN pauserd,pausewr,nodeep-scrub flag(s) set\n"
        "[WRN] OSDMAP_FLAGS: pauserd,pausewr,nodeep-scrub flag(s) set\n",
    ),
    ([], "fsid", 0, "", FSID + "\n"),
]


@pytest.mark.parametrize(("setup", "line", "rc", "outs", "outbuf"), CASES)
def test_ceph_answers(setup: list[str], line: str, rc: int, outs: str, outbuf: str | None) -> None:
    mon = Mon()
    for before in setup:
        mon.ok(before)
    snapshot = mon.state.snapshot()
    result = mon.run(line)
    assert (result.rc, result.outs) == (rc, outs)
    if outbuf is not None:
        assert result.outbuf.decode() == outbuf
    if rc != 0:
        assert mon.state.snapshot() == snapshot


# -- outputs that need a populated cluster ------------------------------------------------------


def test_osd_map_line() -> None:
    mon = with_osds(3)
    mon.ok("osd pool create mytest 8")
    epoch = mon.state.osdmap.epoch
    out = mon.ok("osd map mytest test-object-1").outbuf.decode()
    mapping = mon.state.osdmap.pg_to_up_acting_osds(
        mon.state.osdmap.object_to_pg(1, "test-object-1")
    )
    up = ",".join(map(str, mapping.up))
    assert out == (
        f"osdmap e{epoch} pool 'mytest' (1) object 'test-object-1' -> pg 1.74dc35e2 (1.2) -> "
        f"up ([{up}], p{mapping.up_primary}) acting ([{up}], p{mapping.acting_primary})\n"
    )
    assert len(mapping.up) == 3
    doc = json.loads(mon.ok("osd map mytest obj ns1 -f json").outbuf)
    assert doc["raw_pgid"] == "1.37eda02a" and doc["pgid"] == "1.2" and doc["nspace"] == "ns1"


def test_osd_map_unknown_pool() -> None:
    result = Mon().run("osd map nopool obj")
    assert (result.rc, result.outs) == (-errno.ENOENT, "pool nopool does not exist")


def test_osd_tree_plain_and_json() -> None:
    mon = Mon()
    for line in ("osd create", "osd create", "osd create", "osd create"):
        mon.ok(line)
    mon.ok("osd crush add osd.0 1.0 host=h0 root=default")
    mon.ok("osd crush add osd.1 1.0 host=h1 root=default")
    mon.ok("osd out 1")
    assert mon.ok("osd tree").outbuf.decode() == (
        "ID  CLASS  WEIGHT   TYPE NAME      STATUS  REWEIGHT  PRI-AFF\n"
        "-1         2.00000  root default                            \n"
        "-2         1.00000      host h0                             \n"
        " 0         1.00000          osd.0    down   1.00000  1.00000\n"
        "-3         1.00000      host h1                             \n"
        " 1         1.00000          osd.1    down         0  1.00000\n"
        " 2               0  osd.2            down   1.00000  1.00000\n"
        " 3               0  osd.3            down   1.00000  1.00000\n"
    )
    tree = json.loads(mon.ok("osd tree -f json").outbuf)
    assert tree["nodes"][0] == {
        "id": -1,
        "name": "default",
        "type": "root",
        "type_id": 11,
        "children": [-3, -2],
    }
    assert tree["nodes"][2] == {
        "id": 0,
        "name": "osd.0",
        "type": "osd",
        "type_id": 0,
        "crush_weight": 1.0,
        "depth": 2,
        "pool_weights": {},
        "exists": 1,
        "status": "down",
        "reweight": 1.0,
        "primary_affinity": 1.0,
    }
    assert [n["id"] for n in tree["stray"]] == [2, 3]


def test_osd_tree_limited_to_states() -> None:
    """`osd tree STATES...`: only OSDs in any of them and the buckets above them (empty
    buckets left out), as Ceph's `should_dump`."""
    mon = Mon()
    for _ in range(3):
        mon.ok("osd create")
    mon.ok("osd crush add osd.0 1.0 host=h0 root=default")
    mon.ok("osd crush add osd.1 1.0 host=h1 root=default")
    mon.ok("osd boot 0")
    mon.ok("osd out 1")
    assert mon.ok("osd tree out").outbuf.decode() == (
        "ID  CLASS  WEIGHT   TYPE NAME      STATUS  REWEIGHT  PRI-AFF\n"
        "-1         2.00000  root default                            \n"
        "-3         1.00000      host h1                             \n"
        " 1         1.00000          osd.1    down         0  1.00000\n"
    )
    tree = json.loads(mon.ok("osd tree up -f json").outbuf)
    assert [n["id"] for n in tree["nodes"]] == [-1, -2, 0]
    assert tree["nodes"][0]["children"] == [-2]
    assert tree["stray"] == []
    down = json.loads(mon.ok("osd tree down in -f json").outbuf)
    assert [n["id"] for n in down["nodes"]] == [-1, -2, 0, -3, 1]
    assert [n["id"] for n in down["stray"]] == [2]
    assert json.loads(mon.ok("osd tree destroyed -f json").outbuf) == {"nodes": [], "stray": []}
    with pytest.raises(InvalidArgument, match="unused arguments: \\['sideways'\\]"):
        mon.run("osd tree sideways")


def test_snap_ids_and_removed_snaps() -> None:
    """Pool and self-managed snaps share `snap_seq`; removals bump it and are recorded
    for the OSDs to trim."""
    mon = Mon()
    mon.ok("osd pool create p1 8")
    mon.ok("osd pool mksnap p1 a")
    mon.ok("osd pool mksnap p1 b")
    mon.ok("osd pool rmsnap p1 a")
    pool = mon.state.osdmap.pool_by_name("p1")
    extras = mon.state.pool_extras[pool.id]
    assert (extras.snap_seq, sorted(extras.snaps), extras.removed_snaps) == (3, [2], [1])
    mon.ok("osd pool create p2 8")
    ids = [int(mon.ok("osd pool selfmanaged-snap create p2").outbuf) for _ in range(3)]
    assert ids == [1, 2, 3]
    mon.ok("osd pool selfmanaged-snap rm p2 2")
    mon.ok("osd pool selfmanaged-snap rm p2 2")
    p2 = mon.state.pool_extras[mon.state.osdmap.pool_by_name("p2").id]
    assert (p2.snap_seq, p2.removed_snaps) == (4, [2])


def test_osd_dump_plain() -> None:
    mon = Mon()
    mon.ok("osd create")
    mon.ok("osd create 11111111-2222-3333-4444-555555555555")
    mon.ok("osd out 0")
    mon.ok("osd pool create p1 8")
    mon.ok("osd pool mksnap p1 s2")
    lines = mon.ok("osd dump").outbuf.decode().splitlines()
    epoch = mon.state.osdmap.epoch
    assert lines[0] == f"epoch {epoch}"
    assert lines[1] == f"fsid {FSID}"
    assert lines[2] == "created 1970-01-01T00:16:40.000000+0000"
    assert lines[4:13] == [
        "flags sortbitwise,recovery_deletes,purged_snapdirs,pglog_hardlimit",
        "crush_version 1",
        "full_ratio 0.95",
        "backfillfull_ratio 0.9",
        "nearfull_ratio 0.85",
        "require_min_compat_client luminous",
        "min_compat_client jewel",
        "require_osd_release pacific",
        "stretch_mode_enabled false",
    ]
    assert lines[13] == (
        f"pool 1 'p1' replicated size 3 min_size 2 crush_rule 0 object_hash rjenkins pg_num 8 "
        f"pgp_num 8 autoscale_mode on last_change {epoch} flags hashpspool,pool_snaps "
        "stripe_width 0"
    )
    assert lines[14].startswith("\tsnap 1 's2' 1970-01-01T")
    assert lines[15:] == [
        "max_osd 2",
        "osd.0 down out weight 0 up_from 0 up_thru 0 down_at 0 last_clean_interval [0,0)   "
        "exists,new",
        "osd.1 down in  weight 1 up_from 0 up_thru 0 down_at 0 last_clean_interval [0,0)   "
        "exists,new 11111111-2222-3333-4444-555555555555",
    ]
    doc = json.loads(mon.ok("osd dump -f json").outbuf)
    assert doc["epoch"] == epoch and doc["pools"][0]["pool_snaps"][0]["name"] == "s2"


def test_osd_stat() -> None:
    mon = Mon()
    assert mon.ok("osd stat").outbuf == b"0 osds: 0 up, 0 in; epoch: e1\n"
    mon.ok("osd create")
    mon.ok("osd set nodeep-scrub")
    mon.now += 58
    text = mon.ok("osd stat").outbuf.decode()
    assert (
        text == f"1 osds: 0 up, 1 in (since 60s); epoch: e{mon.state.osdmap.epoch}\n"
        "flags nodeep-scrub\n"
    )
    assert json.loads(mon.ok("osd stat -f json").outbuf)["num_in_osds"] == 1


def test_pool_ls_detail_erasure() -> None:
    mon = Mon()
    mon.ok("osd pool create p1 8")
    mon.ok("osd pool create p2 16 8 replicated")
    mon.ok("osd pool create e1 4 4 erasure")
    out = mon.ok("osd pool ls detail").outbuf.decode()
    lines = out.split("\n")
    assert lines[2].startswith(
        "pool 3 'e1' erasure profile default size 4 min_size 3 crush_rule 1 object_hash rjenkins "
        "pg_num 4 pgp_num 4 autoscale_mode on last_change "
    )
    assert lines[2].endswith("flags hashpspool stripe_width 8192")
    assert out.endswith("\n\n")
    rule = json.loads(mon.ok("osd crush rule dump erasure-code").outbuf)
    assert rule["min_size"] == 3 and rule["max_size"] == 4
    assert [s["op"] for s in rule["steps"]] == [
        "set_chooseleaf_tries",
        "set_choose_tries",
        "take",
        "chooseleaf_indep",
        "emit",
    ]
    assert mon.ok("osd crush rule ls").outbuf == b"replicated_rule\nerasure-code\n"


def test_crush_rule_dump_plain() -> None:
    mon = Mon()
    mon.ok("osd crush rule create-replicated fast default host")
    out = mon.ok("osd crush rule dump fast").outbuf.decode()
    assert out.endswith("}\n\n")
    assert json.loads(out) == {
        "rule_id": 1,
        "rule_name": "fast",
        "ruleset": 1,
        "type": 1,
        "min_size": 1,
        "max_size": 10,
        "steps": [
            {"op": "take", "item": -1, "item_name": "default"},
            {"op": "chooseleaf_firstn", "num": 0, "type": "host"},
            {"op": "emit"},
        ],
    }


def test_getcrushmap_setcrushmap() -> None:
    mon = Mon()
    got = mon.ok("osd getcrushmap")
    assert got.outs == "1" and codec.decode(got.outbuf).rules[0].name == "replicated_rule"
    assert mon.ok("osd setcrushmap", inbuf=got.outbuf).outs == "2"
    snapshot = mon.state.snapshot()
    bad = mon.run("osd setcrushmap", inbuf=b"garbage\n")
    assert bad.rc == -errno.EINVAL and bad.outs.startswith("Failed to parse crushmap: ")
    assert mon.state.snapshot() == snapshot


def test_auth_outputs() -> None:
    mon = Mon()
    created = mon.ok("auth get-or-create client.foo mon 'allow r' osd 'allow rw pool=p1'")
    key = created.outbuf.decode().split(" = ")[1].strip()
    assert created.outbuf.decode() == f"[client.foo]\n\tkey = {key}\n"
    again = mon.ok("auth get-or-create client.foo mon 'allow r'")
    assert again.outbuf == created.outbuf
    got = mon.ok("auth get client.foo")
    assert got.outs == "exported keyring for client.foo"
    assert got.outbuf.decode() == (
        f'[client.foo]\n\tkey = {key}\n\tcaps mon = "allow r"\n\tcaps osd = "allow rw pool=p1"\n'
    )
    assert mon.ok("auth print-key client.foo").outbuf.decode() == key
    listed = mon.ok("auth ls")
    assert listed.outs == "installed auth entries:\n"
    assert f"client.foo\n\tkey: {key}\n\tcaps: [mon] allow r\n" in listed.outbuf.decode()


def test_access_denied_changes_nothing() -> None:
    mon = Mon()
    snapshot = mon.state.snapshot()
    result = mon.cmd(parse_argv(["osd", "pool", "create", "p", "8"]), caps="allow r")
    assert (result.rc, result.outs) == (-errno.EACCES, "access denied")
    assert mon.state.snapshot() == snapshot
    assert mon.cmd(parse_argv(["osd", "tree"]), caps="allow r").rc == 0
    assert mon.cmd(parse_argv(["auth", "ls"]), caps="allow r").rc == -errno.EACCES
    assert mon.cmd(parse_argv(["osd", "dump"]), caps="allow service osd r").rc == 0


def test_bad_command_dicts() -> None:
    mon = Mon()
    assert mon.cmd({"prefix": "osd nothing"}).rc == -errno.EINVAL
    assert mon.cmd({"prefix": "osd pool create"}).rc == -errno.EINVAL
    assert mon.cmd({"prefix": "osd pool create", "pool": "p", "pg_num": "x"}).rc == -errno.EINVAL
    assert mon.cmd({"prefix": "osd pool create", "pool": "p", "pg_num": "8"}).rc == 0
    assert mon.cmd({"prefix": "osd tree", "format": "yaml"}).rc == -errno.EINVAL
