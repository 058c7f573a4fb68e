"""CRUSH placement speed: radospy's scalar and whole-pool mappers beside Ceph's crushtool.

The map is `crushtool --build --num_osds 1000 host straw2 10 rack straw2 10 root straw2 0`
(radospy.crush.build makes the same map); the pool is 65536 PGs of 3 replicas, mapped with
the map's replicated_rule. Speed means nothing without identity, so the `match` column
compares the whole-pool result with the scalar mapper on a sample and with crushtool's
own mappings for every x.

Run alone: `.venv/bin/python bench/crush.py`. Without /usr/bin/crushtool the crushtool
column says n/a.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable

import numpy as np

from radospy.crush import mapper
from radospy.crush.batch import BatchMapper
from radospy.crush.build import Layer, build
from radospy.crush.map import WEIGHT_ONE, CrushMap

NUM_OSDS = 1000
LAYERS = [("host", "straw2", 10), ("rack", "straw2", 10), ("root", "straw2", 0)]
PGS = 65536
REPLICAS = 3
RULE = 0
SINGLE_SAMPLE = 3000
"""Mappings timed one by one through do_rule."""
SCALAR_CHECK = 2000
"""Whole-pool rows compared with do_rule (spread over the pool)."""
REPEATS = 3
"""Timings are the best of this many runs (the machine is shared)."""


def best_of(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def crushtool_run(
    crushtool: str, map_path: str, stdout: int | None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            crushtool,
            "-i",
            map_path,
            "--test",
            "--rule",
            str(RULE),
            "--num-rep",
            str(REPLICAS),
            "--min-x",
            "0",
            "--max-x",
            str(PGS - 1),
            "--show-mappings",
        ],
        stdout=stdout,
        stderr=subprocess.DEVNULL,
        text=True,
        check=True,
    )


def crushtool_side(crushtool: str, workdir: str) -> tuple[float, list[list[int]]]:
    """crushtool's own build of the map: whole-pool time (output discarded) and mappings."""
    map_path = os.path.join(workdir, "bench.map")
    layer_args = [str(v) for layer in LAYERS for v in layer]
    subprocess.run(
        [crushtool, "--outfn", map_path, "--build", "--num_osds", str(NUM_OSDS), *layer_args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    seconds = best_of(lambda: crushtool_run(crushtool, map_path, subprocess.DEVNULL))
    printed = crushtool_run(crushtool, map_path, subprocess.PIPE).stdout.splitlines()
    mappings = []
    for line in printed:
        inside = line[line.index("[") + 1 : line.rindex("]")]
        mappings.append([int(v) for v in inside.split(",")] if inside else [])
    return seconds, mappings


def radospy_map() -> CrushMap:
    return build(NUM_OSDS, [Layer(name, alg, size) for name, alg, size in LAYERS]).cmap


def fmt_rate(count: float, seconds: float) -> str:
    return f"{count / seconds / 1000:,.0f}k/s"


def main() -> None:
    cmap = radospy_map()
    weights = [WEIGHT_ONE] * NUM_OSDS
    xs = np.arange(PGS, dtype=np.uint32)

    mapper.do_rule(cmap, RULE, 0, REPLICAS, weights)  # builds the scalar mapper's cache
    single = best_of(
        lambda: [mapper.do_rule(cmap, RULE, x, REPLICAS, weights) for x in range(SINGLE_SAMPLE)]
    )
    single_us = single / SINGLE_SAMPLE * 1e6

    batch = BatchMapper(cmap)
    holder: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def whole_pool() -> None:
        holder["r"] = batch.map(RULE, xs, REPLICAS, weights)

    pool_s = best_of(whole_pool)
    results, lengths = holder["r"]
    rows = [results[i, : lengths[i]].tolist() for i in range(PGS)]

    step = PGS // SCALAR_CHECK
    scalar_ok = all(
        rows[x] == mapper.do_rule(cmap, RULE, x, REPLICAS, weights) for x in range(0, PGS, step)
    )

    crushtool = shutil.which("crushtool") or (
        "/usr/bin/crushtool" if os.path.exists("/usr/bin/crushtool") else None
    )
    ct_pool_s: float | None = None
    ct_ok: bool | None = None
    if crushtool:
        with tempfile.TemporaryDirectory() as workdir:
            ct_pool_s, ct_rows = crushtool_side(crushtool, workdir)
        ct_ok = ct_rows == rows

    def match(ok: bool | None, what: str) -> str:
        if ok is None:
            return f"{what}: n/a"
        return f"{what}: {'yes' if ok else 'NO'}"

    single_match = match(scalar_ok, f"=batch on {SCALAR_CHECK}")
    pool_match = ", ".join(
        [match(scalar_ok, f"=scalar on {SCALAR_CHECK}"), match(ct_ok, f"=crushtool on {PGS}")]
    )
    if ct_pool_s is not None:
        ct_single = f"{ct_pool_s / PGS * 1e6:.2f} µs ({fmt_rate(PGS, ct_pool_s)})"
        ct_pool = f"{ct_pool_s:.3f} s ({fmt_rate(PGS, ct_pool_s)})"
        single_ratio = f"{single_us / (ct_pool_s / PGS * 1e6):.1f}x"
        pool_ratio = f"{pool_s / ct_pool_s:.2f}x"
    else:
        ct_single = ct_pool = "n/a"
        single_ratio = pool_ratio = "n/a"

    table = [
        ("case", "radospy", "crushtool", "ratio", "match"),
        (
            "single mapping, do_rule",
            f"{single_us:.1f} µs ({fmt_rate(SINGLE_SAMPLE, single)})",
            ct_single,
            single_ratio,
            single_match,
        ),
        (
            f"whole pool {PGS} PGs x {REPLICAS}, map_batch",
            f"{pool_s:.3f} s ({fmt_rate(PGS, pool_s)})",
            ct_pool,
            pool_ratio,
            pool_match,
        ),
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    title = (
        f"CRUSH placement: crushtool --build --num_osds {NUM_OSDS} "
        + " ".join(f"{n} {a} {s}" for n, a, s in LAYERS)
        + f"; rule {RULE}, best of {REPEATS}; ratio = radospy time / crushtool time"
    )
    print(title)
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if i == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    main()
