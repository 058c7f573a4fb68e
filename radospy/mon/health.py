"""A failing health check, as `ceph health detail` shows it (``health_check_t``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class HealthCheck:
    """One failing check: its one-line summary, count, detail lines and severity."""

    summary: str
    count: int
    detail: list[str] = field(default_factory=list)
    severity: str = "HEALTH_WARN"
