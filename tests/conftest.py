"""Shared test fixtures: where Ceph's oracle vectors live."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).parent / "vectors"
"""Placement data printed by Ceph 16.2.15's own tools (see tests/vectors/README.md)."""


def load_vector(relpath: str) -> Any:
    """Parse one JSON file of the vector set."""
    return json.loads((VECTORS / relpath).read_text())


def crush_map_names() -> list[str]:
    """Names of every CRUSH map in the vector set."""
    return [m["map"] for m in load_vector("manifest.json")["maps"]]
