"""Numbers as Ceph prints them in its tables: `byte_u_t`, `si_u_t`, `percentify` and
`lowprecision_t` (src/include/types.h, src/mon/PGMap.cc, src/osd/OSDMap.cc)."""

from __future__ import annotations

_BYTE_UNITS = (" B", " KiB", " MiB", " GiB", " TiB", " PiB", " EiB")
_SI_UNITS = ("", "k", "M", "G", "T", "P", "E")


def _format_u(value: int, whole: int, index: int, mult: int, unit: str) -> str:
    """Ceph's `format_u`: an exact multiple without decimals, else the most decimals
    (2, 1 or 0) that keep the text within 7 characters."""
    if index == 0 or value % mult == 0:
        return f"{whole}{unit}"
    text = ""
    for places in (2, 1, 0):
        text = f"{value / mult:.{places}f}{unit}"
        if len(text) <= 7:
            break
    return text


def byte_u(value: int) -> str:
    """`byte_u_t`: `0 B`, `1.3 KiB`, `16 MiB`, `629 GiB`."""
    value = max(0, int(value))
    whole, index = value, 0
    while whole >= 1024 and index < len(_BYTE_UNITS) - 1:
        whole //= 1024
        index += 1
    return _format_u(value, whole, index, 1 << (10 * index), _BYTE_UNITS[index])


def si_u(value: int) -> str:
    """`si_u_t` (counts): `0`, `209`, `391.13k`."""
    value = max(0, int(value))
    whole, index = value, 0
    while whole >= 1000 and index < len(_SI_UNITS) - 1:
        whole //= 1000
        index += 1
    return _format_u(value, whole, index, 1000**index, _SI_UNITS[index])


def percentify(value: float) -> str:
    """A percentage in `ceph df`: `0` below 0.01, else two decimals."""
    return "0" if value < 0.01 else f"{value:.2f}"


def lowprecision(value: float) -> str:
    """`lowprecision_t` (`ceph osd df` %USE, VAR): `-` if negative, `0`, or two decimals."""
    if value < -0.01:
        return "-"
    if value < 0.000001:
        return "0"
    return f"{value:.2f}"
