"""`radospy osdmaptool`: create, inspect and test OSD maps.

Arguments, messages (stderr/stdout split included) and exit codes follow Ceph 16.2.15's
osdmaptool. The map file itself is our own format (the OSDMap's JSON, written
atomically); `--import-crush` / `--export-crush` files are Ceph binary crushmaps.
"""

from __future__ import annotations

import datetime
import errno
import json
import math
import os
import re
import struct
import sys
from dataclasses import dataclass, field
from typing import TextIO

from radospy.cli._cephargs import ArgError, ArgWalker
from radospy.common.errors import RadosError
from radospy.common.files import write_atomic
from radospy.crush import builder, codec
from radospy.crush.map import WEIGHT_ONE, CrushMap
from radospy.crush.tester import cpp_double
from radospy.osdmap.format import osd_list
from radospy.osdmap.osdmap import OSDMap
from radospy.osdmap.pg import PgId
from radospy.osdmap.tree import tree_text

ME = "osdmaptool"

USAGE = """\
 usage: [--print] <mapfilename>
   --create-from-conf      creates an osd map with default configurations
   --createsimple <numosd> [--clobber] [--pg-bits <bitsperosd>] [--pgp-bits <bits>] creates a relatively generic OSD map with <numosd> devices
   --pgp-bits <bits>       pgp_num map attribute will be shifted by <bits>
   --pg-bits <bits>        pg_num map attribute will be shifted by <bits>
   --clobber               allows osdmaptool to overwrite <mapfilename> if it already exists
   --export-crush <file>   write osdmap's crush map to <file>
   --import-crush <file>   replace osdmap's crush map with <file>
   --health                dump health checks
   --test-map-pgs [--pool <poolid>] [--pg_num <pg_num>] [--range-first <first> --range-last <last>] map all pgs
   --test-map-pgs-dump [--pool <poolid>] [--range-first <first> --range-last <last>] map all pgs
   --test-map-pgs-dump-all [--pool <poolid>] [--range-first <first> --range-last <last>] map all pgs to osds
   --mark-up-in            mark osds up and in (but do not persist)
   --mark-out <osdid>      mark an osd as out (but do not persist)
   --mark-up <osdid>       mark an osd as up (but do not persist)
   --mark-in <osdid>       mark an osd as in (but do not persist)
   --with-default-pool     include default pool when creating map
   --clear-temp            clear pg_temp and primary_temp
   --clean-temps           clean pg_temps
   --test-random           do random placements
   --test-map-pg <pgid>    map a pgid to osds
   --test-map-object <objectname> [--pool <poolid>] map an object to osds
   --upmap-cleanup <file>  clean up pg_upmap[_items] entries, writing
                           commands to <file> [default: - for stdout]
   --upmap <file>          calculate pg upmap entries to balance pg layout
                           writing commands to <file> [default: - for stdout]
   --upmap-max <max-count> set max upmap entries to calculate [default: 10]
   --upmap-deviation <max-deviation>
                           max deviation from target [default: 5]
   --upmap-pool <poolname> restrict upmap balancing to 1 or more pools
   --upmap-active          Act like an active balancer, keep applying changes until balanced
   --dump <format>         displays the map in plain text when <format> is 'plain', 'json' if specified format is not supported
   --tree                  displays a tree of the map
   --test-crush [--range-first <first> --range-last <last>] map pgs to acting osds
   --adjust-crush-weight <osdid:weight>[,<osdid:weight>,<...>] change <osdid> CRUSH <weight> (but do not persist)
   --save                  write modified osdmap with upmap or crush-adjust changes
"""  # noqa: E501

_PGID_PREFIX = re.compile(r"\s*\+?([0-9]+)\.\s*[+]?(?:0[xX])?([0-9a-fA-F]+)")
_NEG_NAN = -math.nan


class ToolExit(Exception):
    """Stop with `code`; `message` goes to stderr, `usage` prints the usage on stdout."""

    def __init__(self, code: int, message: str | None = None, usage: bool = False) -> None:
        super().__init__(message or "")
        self.code = code
        self.message = message
        self.usage = usage


@dataclass
class Options:
    """What osdmaptool's argument walk collects."""

    print_map: bool = False
    tree: bool = False
    createsimple: bool = False
    num_osd: int = 0
    with_default_pool: bool = False
    pg_bits: int = 6
    pgp_bits: int = 6
    pool_size: int = 3
    clobber: bool = False
    export_crush: str = ""
    import_crush: str = ""
    test_map_pg: str = ""
    test_map_object: str = ""
    pool: int = -1
    pg_num: int = -1
    mark_up_in: bool = False
    marked_out: int = -1
    marked_up: int = -1
    marked_in: int = -1
    clear_temp: bool = False
    test_map_pgs: bool = False
    test_map_pgs_dump: bool = False
    test_map_pgs_dump_all: bool = False
    unsupported_format: str = ""
    leftover: list[str] = field(default_factory=list)


def _osd_id(text: str) -> int:
    """`std::stoi`/`std::stod` of an OSD id: a leading number, else an error."""
    match = re.match(r"\s*([-+]?[0-9]+)", text)
    if match is None:
        raise ToolExit(1, f"{ME}: invalid osd id '{text}'")
    return int(match.group(1))


def _parse(argv: list[str]) -> Options:
    opts = Options()
    w = ArgWalker(argv)
    # Ceph reuses one string for every option value, so `--tree` without its own value
    # picks up the previous option's
    val = ""
    while w.more():
        if w.double_dash():
            break
        if w.flag("-p", "--print"):
            opts.print_map = True
        elif (v := _witharg_keep(w, "--dump", val)) is not None:
            val = v
            opts.print_map = True
            _check_format(opts, val)
        elif (v := _witharg_keep(w, "--tree", val)) is not None:
            val = v
            opts.tree = True
            _check_format(opts, val)
        elif (n := w.withint("--createsimple")) is not None:
            opts.createsimple, opts.num_osd = True, n
        elif w.flag("--with-default-pool"):
            opts.with_default_pool = True
        elif w.flag("--mark-up-in"):
            opts.mark_up_in = True
        elif (v := w.witharg("--mark-out")) is not None:
            val, opts.marked_out = v, _osd_id(v)
        elif (v := w.witharg("--mark-up")) is not None:
            val, opts.marked_up = v, _osd_id(v)
        elif (v := w.witharg("--mark-in")) is not None:
            val, opts.marked_in = v, _osd_id(v)
        elif w.flag("--clear-temp"):
            opts.clear_temp = True
        elif w.flag("--test-map-pgs"):
            opts.test_map_pgs = True
        elif w.flag("--test-map-pgs-dump"):
            opts.test_map_pgs_dump = True
        elif w.flag("--test-map-pgs-dump-all"):
            opts.test_map_pgs_dump_all = True
        elif w.flag("--clobber"):
            opts.clobber = True
        elif (n := w.withint("--pg_bits", "--osd-pg-bits")) is not None:
            opts.pg_bits = n
        elif (n := w.withint("--pgp_bits", "--osd-pgp-bits")) is not None:
            opts.pgp_bits = n
        elif (n := w.withint("--osd_pool_default_size")) is not None:
            opts.pool_size = n
        elif (v := w.witharg("--export_crush")) is not None:
            val = opts.export_crush = v
        elif (v := w.witharg("--import_crush")) is not None:
            val = opts.import_crush = v
        elif (v := w.witharg("--test_map_pg")) is not None:
            val = opts.test_map_pg = v
        elif (v := w.witharg("--test_map_object")) is not None:
            val = opts.test_map_object = v
        elif (v := w.witharg("--pg_num")) is not None:
            if not re.fullmatch(r"-?[0-9]+", v):
                raise ToolExit(
                    1, f"error parsing integer value Expected option value to be integer, got '{v}'"
                )
            opts.pg_num = int(v)
        elif (n := w.withint("--pool")) is not None:
            opts.pool = n
        else:
            w.skip()
    opts.leftover = w.args
    return opts


def _witharg_keep(w: ArgWalker, name: str, previous: str) -> str | None:
    """A value option that, as in Ceph, keeps the previous value when its own is missing."""
    try:
        return w.witharg(name)
    except ArgError:
        return previous


def _check_format(opts: Options, value: str) -> None:
    if value and value != "plain":
        opts.unsupported_format = value


def _read_map(fn: str) -> OSDMap:
    try:
        with open(fn, "rb") as f:
            data = f.read()
    except OSError as e:
        code = e.errno or errno.EIO
        raise ToolExit(
            255, f"{ME}: couldn't open {fn}: can't open {fn}: ({code}) {os.strerror(code)}"
        ) from e
    try:
        return OSDMap.from_dict(json.loads(data))
    except (ValueError, KeyError, TypeError, RadosError) as e:
        raise ToolExit(255, f"{ME}: error decoding osdmap '{fn}'") from e


def _now() -> str:
    """A timestamp as Ceph's utime_t prints it: `2026-11-28T14:36:50.486296+0000`."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")


def _item_weight(cmap: CrushMap, item: int) -> int:
    """`CrushWrapper::get_item_weight`: the item's weight in the first bucket holding it."""
    for bucket_id in sorted(cmap.buckets, reverse=True):
        bucket = cmap.buckets[bucket_id]
        if item in bucket.items:
            return bucket.item_weights[bucket.items.index(item)]
    return -errno.ENOENT


def _f32(value: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def _cdiv(a: float, b: float) -> float:
    """C double division: x/0 is +-inf, 0/0 the -nan x86 produces."""
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return _NEG_NAN if not math.isnan(a) else a
    return math.copysign(math.inf, a)


def _csqrt(a: float) -> float:
    return a if math.isnan(a) else math.sqrt(a)


def _parse_pgid(text: str) -> PgId | None:
    """`pg_t::parse`: sscanf("%llu.%x"), so trailing text is ignored."""
    match = _PGID_PREFIX.match(text)
    if match is None:
        return None
    return PgId(int(match.group(1)) & 0xFFFFFFFFFFFFFFFF, int(match.group(2), 16) & 0xFFFFFFFF)


def _write(out: TextIO, text: str) -> None:
    """Write text that may carry undecodable argv bytes (surrogate escapes)."""
    try:
        out.write(text)
    except UnicodeEncodeError:
        out.flush()
        out.buffer.write(text.encode("utf-8", errors="surrogateescape"))  # type: ignore[attr-defined]


def _run(argv: list[str], out: TextIO, err: TextIO) -> int:
    if not argv:
        raise ToolExit(1, f"{ME}: -h or --help for usage")
    if any(a in ("-h", "--help") for a in argv):
        raise ToolExit(1, usage=True)
    opts = _parse(argv)
    if not opts.leftover:
        raise ToolExit(1, f"{ME}: must specify osdmap filename", usage=True)
    if len(opts.leftover) > 1:
        raise ToolExit(1, f"{ME}: too many arguments", usage=True)
    fn = opts.leftover[0]
    err.write(f"{ME}: osdmap file '{fn}'\n")
    err.flush()

    osdmap = OSDMap()
    modified = False
    if not opts.createsimple and not opts.clobber:
        osdmap = _read_map(fn)
    elif opts.createsimple and not opts.clobber and os.path.exists(fn):
        raise ToolExit(255, f"{ME}: {fn} exists, --clobber to overwrite")
    if opts.createsimple:
        if opts.num_osd < 1:
            raise ToolExit(1, f"{ME}: osd count must be > 0")
        osdmap = OSDMap.build_simple(
            opts.num_osd,
            pg_bits=opts.pg_bits,
            pgp_bits=opts.pgp_bits,
            with_default_pool=opts.with_default_pool,
            pool_size=opts.pool_size,
        )
        osdmap.created = osdmap.modified = _now()
        modified = True

    _mark(osdmap, opts, out)
    if opts.clear_temp:
        out.write("clearing pg/primary temp\n")
        osdmap.pg_temp.clear()
        osdmap.primary_temp.clear()
    if opts.import_crush:
        _import_crush(osdmap, opts.import_crush, out)
        modified = True
    if opts.export_crush:
        _export_crush(osdmap, opts, out)
    if opts.test_map_object:
        _test_map_object(osdmap, opts, out)
    if opts.test_map_pg:
        _test_map_pg(osdmap, opts.test_map_pg, out)
    if opts.test_map_pgs or opts.test_map_pgs_dump or opts.test_map_pgs_dump_all:
        _test_map_pgs(osdmap, opts, out)

    if not (
        opts.print_map
        or opts.tree
        or modified
        or opts.export_crush
        or opts.import_crush
        or opts.test_map_pg
        or opts.test_map_object
        or opts.test_map_pgs
        or opts.test_map_pgs_dump
        or opts.test_map_pgs_dump_all
    ):
        raise ToolExit(1, f"{ME}: no action specified?", usage=True)
    if opts.unsupported_format:
        raise ToolExit(1, f"{ME}: output format '{opts.unsupported_format}' is not supported")
    if modified:
        osdmap.epoch += 1
    if opts.print_map:
        out.write(osdmap.print_text())
    if opts.tree:
        out.write(tree_text(osdmap))
    if modified:
        out.write(f"{ME}: writing epoch {osdmap.epoch} to {fn}\n")
        data = json.dumps(osdmap.to_dict(), indent=1).encode()
        try:
            write_atomic(fn, data)
        except OSError as e:
            code = e.errno or errno.EIO
            raise ToolExit(1, f"{ME}: error writing to '{fn}': ({code}) {os.strerror(code)}") from e
    return 0


def _mark(osdmap: OSDMap, opts: Options, out: TextIO) -> None:
    if opts.mark_up_in:
        out.write("marking all OSDs up and in\n")
        for osd in range(osdmap.max_osd):
            osdmap.mark_up(osd)
            osdmap.mark_in(osd)
            if _item_weight(osdmap.crush, osd) == 0:
                builder.adjust_item_weight(osdmap.crush, osd, WEIGHT_ONE)
    if 0 <= opts.marked_out < osdmap.max_osd:
        out.write(f"marking OSD@{opts.marked_out} as out\n")
        osdmap.mark_up(opts.marked_out)
        osdmap.mark_out(opts.marked_out)
    if 0 <= opts.marked_up < osdmap.max_osd:
        out.write(f"marking OSD@{opts.marked_up} as up\n")
        osdmap.mark_up(opts.marked_up)
    if 0 <= opts.marked_in < osdmap.max_osd:
        # Ceph's --mark-in reports and marks the --mark-up id (a bug kept for fidelity)
        out.write(f"marking OSD@{opts.marked_up} as up\n")
        if 0 <= opts.marked_up < osdmap.max_osd:
            osdmap.mark_in(opts.marked_up)


def _import_crush(osdmap: OSDMap, path: str, out: TextIO) -> None:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        code = e.errno or errno.EIO
        raise ToolExit(
            1,
            f"{ME}: error reading crush map from {path}: can't open {path}: "
            f"({code}) {os.strerror(code)}",
        ) from e
    try:
        cmap = codec.decode(data)
    except (RadosError, ValueError, KeyError, IndexError) as e:
        raise ToolExit(1, f"{ME}: unable to decode crush map {path}") from e
    if cmap.max_devices > osdmap.max_osd:
        raise ToolExit(
            1, f"{ME}: crushmap max_devices {cmap.max_devices} > osdmap max_osd {osdmap.max_osd}"
        )
    osdmap.crush = cmap
    # applying the incremental that carries the map bumps the epoch and zeroes `modified`
    osdmap.epoch += 1
    osdmap.modified = "0.000000"
    out.write(f"{ME}: imported {len(data)} byte crush map from {path}\n")


def _export_crush(osdmap: OSDMap, opts: Options, out: TextIO) -> None:
    path = opts.export_crush
    try:
        write_atomic(path, codec.encode(osdmap.crush))
    except OSError as e:
        code = e.errno or errno.EIO
        # Ceph names the import file in this message
        raise ToolExit(
            1,
            f"bufferlist::write_file({path}): failed to open file: ({code}) {os.strerror(code)}\n"
            f"{ME}: error writing crush map to {opts.import_crush}",
        ) from e
    out.write(f"{ME}: exported crush map to {path}\n")


def _test_map_object(osdmap: OSDMap, opts: Options, out: TextIO) -> None:
    pool = opts.pool
    if pool == -1:
        out.write(f"{ME}: assuming pool 1 (use --pool to override)\n")
        pool = 1
    if pool not in osdmap.pools:
        raise ToolExit(1, f"There is no pool {pool}")
    name = opts.test_map_object.encode("utf-8", errors="surrogateescape")
    pg = osdmap.object_to_pg(pool, name)
    acting = osdmap.pg_to_up_acting_osds(pg).acting
    _write(out, f" object '{opts.test_map_object}' -> {pg} -> {osd_list(acting)}\n")


def _test_map_pg(osdmap: OSDMap, text: str, out: TextIO) -> None:
    pg = _parse_pgid(text)
    if pg is None:
        raise ToolExit(1, f"{ME}: failed to parse pg '{text}", usage=True)
    _write(out, f" parsed '{text}' -> {pg}\n")
    out.write(_dump_all_line(osdmap, pg))


def _dump_all_line(osdmap: OSDMap, pg: PgId) -> str:
    raw, raw_primary = osdmap.pg_to_raw_osds(pg)
    m = osdmap.pg_to_up_acting_osds(pg)
    return (
        f"{pg} raw ({osd_list(raw)}, p{raw_primary}) up ({osd_list(m.up)}, p{m.up_primary})"
        f" acting ({osd_list(m.acting)}, p{m.acting_primary})\n"
    )


def _test_map_pgs(osdmap: OSDMap, opts: Options, out: TextIO) -> None:
    if opts.pool != -1 and opts.pool not in osdmap.pools:
        raise ToolExit(1, f"There is no pool {opts.pool}")
    n = osdmap.max_osd
    count = [0] * n
    first_count = [0] * n
    primary_count = [0] * n
    sizes: dict[int, int] = {}
    max_size = 0
    for pool_id in sorted(osdmap.pools):
        if opts.pool != -1 and pool_id != opts.pool:
            continue
        pool = osdmap.pools[pool_id]
        if opts.pg_num > 0:
            pool.pg_num = opts.pg_num
        out.write(f"pool {pool_id} pg_num {pool.pg_num}\n")
        for ps in range(pool.pg_num):
            pg = PgId(pool_id, ps)
            mapping = osdmap.pg_to_up_acting_osds(pg)
            osds, primary = mapping.acting, mapping.acting_primary
            sizes[len(osds)] = sizes.get(len(osds), 0) + 1
            max_size = max(max_size, len(osds))
            if opts.test_map_pgs_dump:
                out.write(f"{pg}\t{osd_list(osds)}\t{primary}\n")
            elif opts.test_map_pgs_dump_all:
                out.write(_dump_all_line(osdmap, pg))
            for osd in osds:
                if 0 <= osd < n:
                    count[osd] += 1
            if osds and 0 <= osds[0] < n:
                first_count[osds[0]] += 1
            if 0 <= primary < n:
                primary_count[primary] += 1
    out.write(_pg_stats(osdmap, count, first_count, primary_count))
    for size in range(max_size + 1):
        if sizes.get(size):
            out.write(f"size {size}\t{sizes[size]}\n")


def _pg_stats(osdmap: OSDMap, count: list[int], first: list[int], primary: list[int]) -> str:
    lines = ["#osd\tcount\tfirst\tprimary\tc wt\twt"]
    total = 0
    included = []
    min_osd = max_osd = -1
    for i in range(osdmap.max_osd):
        if not osdmap.is_in(i) or _item_weight(osdmap.crush, i) <= 0:
            continue
        included.append(i)
        crush_w = cpp_double(_f32(_item_weight(osdmap.crush, i) / WEIGHT_ONE))
        reweight = cpp_double(_f32(osdmap.osds[i].weight / WEIGHT_ONE))
        lines.append(f"osd.{i}\t{count[i]}\t{first[i]}\t{primary[i]}\t{crush_w}\t{reweight}")
        total += count[i]
        if count[i] and (min_osd < 0 or count[i] < count[min_osd]):
            min_osd = i
        if count[i] and (max_osd < 0 or count[i] > count[max_osd]):
            max_osd = i
    n_in = len(included)
    avg = total // n_in if n_in else 0
    dev = _csqrt(_cdiv(float(sum((avg - count[i]) ** 2 for i in included)), n_in))
    edev = _csqrt(_cdiv(float(total), n_in) * (1.0 - _cdiv(1.0, n_in)))
    if n_in == 0:
        edev = _NEG_NAN
    lines.append(f" in {n_in}")
    lines.append(
        f" avg {avg} stddev {cpp_double(dev)} ({cpp_double(_cdiv(dev, avg))}x)"
        f" (expected {cpp_double(edev)} {cpp_double(_cdiv(edev, avg))}x))"
    )
    if min_osd >= 0:
        lines.append(f" min osd.{min_osd} {count[min_osd]}")
    if max_osd >= 0:
        lines.append(f" max osd.{max_osd} {count[max_osd]}")
    return "".join(line + "\n" for line in lines)


def main(argv: list[str]) -> int:
    """Run osdmaptool with `argv` (without the program name); returns the exit code."""
    try:
        return _run(list(argv), sys.stdout, sys.stderr)
    except ArgError as e:
        sys.stderr.write(f"{e}\n")
        return 1
    except ToolExit as e:
        if e.message:
            sys.stderr.write(e.message + "\n")
        if e.usage:
            sys.stdout.write(USAGE)
        return e.code
