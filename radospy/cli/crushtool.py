"""`radospy crushtool`: compile, decompile, build, test and compare CRUSH maps.

Arguments, stage order (input/build, tunables, display/test, output), messages on
stdout/stderr and exit codes follow Ceph 16.2.15's crushtool. Binary maps are Ceph's
own format, so files move freely between this tool and Ceph's.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from radospy.cli._cephargs import ArgError, ArgWalker, atof, atoi, format_list
from radospy.common.errors import RadosError
from radospy.common.files import write_atomic
from radospy.crush import builder, codec, compiler, decompiler, dump, treedump
from radospy.crush.build import BuildError, Layer, build
from radospy.crush.map import CrushMap
from radospy.crush.tester import CrushTester

ME = "crushtool"

USAGE = """\
usage: crushtool ...

Display, modify and test a crush map

There are five stages, running one after the other:

 - input/build
 - tunables adjustments
 - modifications
 - display/test
 - output

Options that are not specific to a stage.

   [--infn|-i infile]
                         read the crush map from infile

Options for the input/build stage

   --decompile|-d map    decompile a crush map to source
   [--outfn|-o outfile]
                         specify output for for (de)compilation
   --compile|-c map.txt  compile a map from source
   --enable-unsafe-tunables
                         compile with unsafe tunables
   --build --num_osds N layer1 ...
                         build a new map, where each 'layer' is
                         'name (uniform|straw2|straw|list|tree) size'

Options for the tunables adjustments stage

   --set-choose-local-tries N
                         set choose local retries before re-descent
   --set-choose-local-fallback-tries N
                         set choose local retries using fallback
                         permutation before re-descent
   --set-choose-total-tries N
                         set choose total descent attempts
   --set-chooseleaf-descend-once <0|1>
                         set chooseleaf to (not) retry the recursive descent
   --set-chooseleaf-vary-r <0|1>
                         set chooseleaf to (not) vary r based on parent
   --set-chooseleaf-stable <0|1>
                         set chooseleaf firstn to (not) return stable results

Options for the modifications stage

   -i mapfn --add-item id weight name [--loc type name ...]
                         insert an item into the hierarchy at the
                         given location
   -i mapfn --update-item id weight name [--loc type name ...]
                         insert or move an item into the hierarchy at the
                         given location
   -i mapfn --remove-item name
                         remove the given item
   -i mapfn --reweight-item name weight
                         reweight a given item (and adjust ancestor
                         weights as needed)
   -i mapfn --add-bucket name type [--loc type name ...]
                         insert a bucket into the hierarchy at the given
                         location
   -i mapfn --move       name --loc type name ...
                         move the given item to specified location
   -i mapfn --reweight   recalculate all bucket weights
   -i mapfn --rebuild-class-roots
                         rebuild the per-class shadow trees (normally a no-op)
   -i mapfn --create-simple-rule name root type mode
                         create crush rule <name> to start from <root>,
                         replicate across buckets of type <type>, using
                         a choose mode of <firstn|indep>
   -i mapfn --create-replicated-rule name root type
                         create crush rule <name> to start from <root>,
                         replicate across buckets of type <type>
   --device-class <class>
                         use device class <class> for new rule
   -i mapfn --remove-rule name
                         remove the specified crush rule

Options for the display/test stage

   -f --format           the format of --dump, defaults to json-pretty
                         can be one of json, json-pretty, xml, xml-pretty,
                         table, table-kv, html, html-pretty
   --dump                dump the crush map
   --tree                print map summary as a tree
   --bucket-tree         print bucket map summary as a tree
   --bucket-name         specify bucket bucket name for bucket-tree
   --check [max_id]      check if any item is referencing an unknown name/type
   -i mapfn --show-location id
                         show location for given device id
   -i mapfn --test       test a range of inputs on the map
      [--min-x x] [--max-x x] [--x x]
      [--min-rule r] [--max-rule r] [--rule r] [--ruleset rs]
      [--num-rep n]
      [--pool-id n]      specifies pool id
      [--batches b]      split the CRUSH mapping into b > 1 rounds
      [--weight|-w devno weight]
                         where weight is 0 to 1.0
      [--simulate]       simulate placements using a random
                         number generator in place of the CRUSH
                         algorithm
   --show-utilization    show OSD usage
   --show-utilization-all
                         include zero weight items
   --show-statistics     show chi squared statistics
   --show-mappings       show mappings
   --show-bad-mappings   show bad mappings
   --show-choose-tries   show choose tries histogram
   --output-name name
                         prepend the data file(s) generated during the
                         testing routine with name
   --output-csv
                         export select data generated during testing routine
                         to CSV files for off-line post-processing
                         use --help-output for more information
   --reclassify          transform legacy CRUSH map buckets and rules
                         by adding classes
      --reclassify-bucket <bucket-match> <class> <default-parent>
      --reclassify-root <bucket-name> <class>
   --set-subtree-class <bucket-name> <class>
                         set class for all items beneath bucket-name
   --compare <otherfile> compare two maps using --test parameters

Options for the output stage

   [--outfn|-o outfile]
                         specify output for modified crush map

"""

_TUNABLE_OPTIONS = {
    "--set_choose_local_tries": "choose_local_tries",
    "--set_choose_local_fallback_tries": "choose_local_fallback_tries",
    "--set_choose_total_tries": "choose_total_tries",
    "--set_chooseleaf_descend_once": "chooseleaf_descend_once",
    "--set_chooseleaf_vary_r": "chooseleaf_vary_r",
    "--set_chooseleaf_stable": "chooseleaf_stable",
    "--set_straw_calc_version": "straw_calc_version",
    "--set_allowed_bucket_algs": "allowed_bucket_algs",
}

_TEST_INT_OPTIONS = ("--num_rep", "--max_x", "--min_x", "--x", "--max_rule", "--min_rule")


class ToolExit(Exception):
    """Stop with `code` after the message (if any) has been written to stderr."""

    def __init__(self, code: int, message: str | None = None, newline: bool = True) -> None:
        super().__init__(message or "")
        self.code = code
        self.message = message
        self.newline = newline


@dataclass
class Options:
    """Everything crushtool's argument walk collects."""

    infn: str = ""
    srcfn: str = ""
    outfn: str = ""
    compare: str = ""
    compile: bool = False
    decompile: bool = False
    build: bool = False
    test: bool = False
    display: bool = False
    tree: bool = False
    dump: bool = False
    reweight: bool = False
    num_osds: int = 0
    tunables: dict[str, int] = field(default_factory=dict)
    leftover: list[str] = field(default_factory=list)


def _parse(argv: list[str], tester: CrushTester) -> Options:
    opts = Options()
    w = ArgWalker(argv)
    while w.more():
        if w.double_dash():
            break
        if w.flag("-h", "--help"):
            sys.stdout.write(USAGE)
            raise ToolExit(0)
        if (v := w.witharg("-d", "--decompile")) is not None:
            opts.infn, opts.decompile = v, True
        elif (v := w.witharg("-i", "--infn")) is not None:
            opts.infn = v
        elif (v := w.witharg("-o", "--outfn")) is not None:
            opts.outfn = v
        elif w.flag("-v", "--verbose"):
            pass
        elif w.flag("--tree"):
            opts.tree = True
        elif w.flag("--dump"):
            opts.dump = True
        elif w.witharg("-f", "--format") is not None:
            pass
        elif w.flag("--show_utilization"):
            opts.display = tester.output_utilization = True
        elif w.flag("--show_utilization_all"):
            opts.display = tester.output_utilization_all = True
        elif w.flag("--show_statistics"):
            opts.display = tester.output_statistics = True
        elif w.flag("--show_mappings"):
            opts.display = tester.output_mappings = True
        elif w.flag("--show_bad_mappings"):
            opts.display = tester.output_bad_mappings = True
        elif w.flag("--show_choose_tries"):
            opts.display = tester.output_choose_tries = True
        elif (v := w.witharg("-c", "--compile")) is not None:
            opts.srcfn, opts.compile = v, True
        elif w.flag("-t", "--test"):
            opts.test = True
        elif (v := w.witharg("--compare")) is not None:
            opts.compare = v
        elif w.flag("--reweight"):
            opts.reweight = True
        elif w.flag("--build"):
            opts.build = True
        elif (n := w.withint("--num_osds")) is not None:
            opts.num_osds = n
        elif (n := w.withint("--pool_id")) is not None:
            tester.pool_id = n
        elif w.withint("--batches") is not None:
            pass
        elif (n := w.withint("--weight")) is not None:
            value = w.take()
            if value is None:
                raise ToolExit(1, "expecting additional argument to --weight")
            tester.set_device_weight(n, atof(value))
        elif not _parse_test_int(w, tester) and not _parse_tunable(w, opts):
            w.skip()
    opts.leftover = w.args
    return opts


def _parse_test_int(w: ArgWalker, tester: CrushTester) -> bool:
    for name in _TEST_INT_OPTIONS:
        n = w.withint(name)
        if n is None:
            continue
        if name == "--num_rep":
            tester.set_num_rep(n)
        elif name == "--max_x":
            tester.max_x = n
        elif name == "--min_x":
            tester.min_x = n
        elif name == "--x":
            tester.set_x(n)
        elif name == "--max_rule":
            tester.max_rule = n
        else:
            tester.min_rule = n
        return True
    n = w.withint("--rule")
    if n is None:
        return False
    tester.set_rule(n)
    return True


def _parse_tunable(w: ArgWalker, opts: Options) -> bool:
    for option, attr in _TUNABLE_OPTIONS.items():
        n = w.withint(option)
        if n is not None:
            opts.tunables[attr] = n
            return True
    return False


def _read_file(path: str) -> bytes:
    """Read a whole file as Ceph's `bufferlist::read_file` does ('-' is stdin)."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        code = e.errno or errno.EIO
        raise ToolExit(
            1, f"{ME}: error reading '{path}': can't open {path}: ({code}) {os.strerror(code)}"
        ) from e


def _decode(path: str) -> CrushMap:
    data = _read_file(path)
    try:
        return codec.decode(data)
    except (RadosError, ValueError, KeyError, IndexError) as e:
        raise ToolExit(1, f"{ME}: unable to decode {path}") from e


def _layers(args: list[str]) -> list[Layer]:
    if len(args) % 3:
        raise ToolExit(
            1,
            f"remaining args: {format_list(args)}\n"
            "layers must be specified with 3-tuples of (name, buckettype, size)",
        )
    return [Layer(args[i], args[i + 1], atoi(args[i + 2])) for i in range(0, len(args), 3)]


def _compile(srcfn: str) -> CrushMap:
    try:
        with open(srcfn, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
    except OSError as e:
        raise ToolExit(-errno.ENOENT & 0xFF, f"input file {srcfn} not found") from e
    try:
        return compiler.compile(text)
    except compiler.CrushSyntaxError as e:
        raise ToolExit(1, f"{srcfn}:{e.line} error: {e.reason} (column {e.column})") from e
    except RadosError as e:
        raise ToolExit(1, str(e)) from e


def _run(argv: list[str], out: TextIO, err: TextIO) -> int:
    if not argv:
        raise ToolExit(1, f"{ME}: -h or --help for usage")
    cmap = CrushMap()
    tester = CrushTester(cmap)
    opts = _parse(argv, tester)

    if opts.test and not opts.display and not opts.compare:
        err.write("WARNING: no output selected; use --output-csv or --show-X\n")
    if opts.decompile + opts.compile + opts.build > 1:
        raise ToolExit(1, "cannot specify more than one of compile, decompile, and build")
    adjust = bool(opts.tunables)
    if not (
        opts.compile
        or opts.decompile
        or opts.build
        or opts.test
        or opts.reweight
        or adjust
        or opts.tree
        or opts.dump
        or opts.compare
    ):
        raise ToolExit(1, "no action specified; -h for help")
    layers: list[Layer] = []
    if opts.build:
        layers = _layers(opts.leftover)
    elif opts.leftover:
        raise ToolExit(1, f"unrecognized arguments: {format_list(opts.leftover)}")

    modified = False
    if opts.infn:
        cmap = _decode(opts.infn)
    if opts.compile:
        cmap = _compile(opts.srcfn)
        modified = True
    if opts.build:
        try:
            result = build(opts.num_osds, layers)
        except BuildError as e:
            message = str(e)
            if message == "must specify at least one layer":
                raise ToolExit(1, f"{ME}: {message}") from e
            # Ceph prints the missing-root message without a newline
            raise ToolExit(1, message, newline=not message.startswith("root item")) from e
        if result.warning:
            err.write(result.warning + "\n")
        cmap = result.cmap
        modified = True
    if adjust:
        for attr, value in opts.tunables.items():
            setattr(cmap.tunables, attr, value)
        modified = True
    if opts.reweight:
        builder.reweight_all(cmap)
        modified = True
    tester.cmap = cmap

    if opts.tree:
        out.write(treedump.crush_tree(cmap))
    if opts.dump:
        out.write(json.dumps(_ceph_numbers(dump.to_dump(cmap)), indent=4) + "\n\n")
    if opts.decompile:
        _decompile(cmap, opts.outfn, out)
    if opts.test:
        if tester.output_utilization or tester.output_utilization_all:
            tester.output_statistics = True
        if tester.test(out, err) < 0:
            return 1
    if opts.compare:
        other = _decode(opts.compare)
        if tester.compare(other, out, err) < 0:
            return 1
    if modified:
        _write_map(cmap, opts.outfn, out)
    return 0


def _ceph_numbers(value: Any) -> Any:
    """Ceph's JSON prints a whole-valued float without a fraction (`3`, not `3.0`)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ceph_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ceph_numbers(v) for v in value]
    return value


def _decompile(cmap: CrushMap, outfn: str, out: TextIO) -> None:
    text = decompiler.decompile(cmap)
    if not outfn:
        out.write(text)
        return
    try:
        write_atomic(outfn, text.encode("utf-8", errors="surrogateescape"))
    except OSError as e:
        raise ToolExit(1, f"{ME}: error writing '{outfn}'", newline=False) from e


def _write_map(cmap: CrushMap, outfn: str, out: TextIO) -> None:
    if not outfn:
        out.write(f"{ME} successfully built or modified map.  Use '-o <file>' to write it out.\n")
        return
    try:
        data = codec.encode(cmap)
    except RadosError as e:
        raise ToolExit(1, f"{ME}: error encoding the map: {e}") from e
    try:
        write_atomic(outfn, data)
    except OSError as e:
        code = e.errno or errno.EIO
        reason = f"({code}) {os.strerror(code)}"
        raise ToolExit(
            1,
            f"bufferlist::write_file({outfn}): failed to open file: {reason}\n"
            f"{ME}: error writing '{outfn}': {reason}",
        ) from e


def main(argv: list[str]) -> int:
    """Run crushtool with `argv` (without the program name); returns the exit code."""
    try:
        return _run(list(argv), sys.stdout, sys.stderr)
    except ArgError as e:
        sys.stderr.write(f"{e}\n")
        return 1
    except ToolExit as e:
        if e.message:
            sys.stderr.write(e.message + ("\n" if e.newline else ""))
        return e.code
