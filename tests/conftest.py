"""Shared test fixtures: where Ceph's oracle vectors live."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import settings

# Hypothesis' per-example deadline is a wall-clock assertion: on a loaded 2-core box
# it fails correct code (an example that took 577 ms instead of 200). Properties here
# assert behaviour only; speed is measured in bench/.
settings.register_profile("radospy", deadline=None)
settings.load_profile("radospy")

VECTORS = Path(__file__).parent / "vectors"
"""Placement data printed by Ceph 16.2.15's own tools (see tests/vectors/README.md)."""


def load_vector(relpath: str) -> Any:
    """Parse one JSON file of the vector set."""
    return json.loads((VECTORS / relpath).read_text())


def crush_map_names() -> list[str]:
    """Names of every CRUSH map in the vector set."""
    return [m["map"] for m in load_vector("manifest.json")["maps"]]
