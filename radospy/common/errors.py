"""Errors carrying a Ceph-style errno, so every boundary can answer the way Ceph does."""

from __future__ import annotations

import errno as _errno


class RadosError(Exception):
    """An error with an errno; `str()` is the one-line message shown to a user."""

    errno: int = _errno.EIO

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        if errno is not None:
            self.errno = errno

    @property
    def errno_name(self) -> str:
        return _errno.errorcode.get(self.errno, f"E{self.errno}")


class InvalidArgument(RadosError):
    errno = _errno.EINVAL


class NotFound(RadosError):
    errno = _errno.ENOENT


class Exists(RadosError):
    errno = _errno.EEXIST
