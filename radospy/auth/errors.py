"""Errors of the auth layer: every refusal is EACCES, as Ceph answers it."""

from __future__ import annotations

import errno as _errno

from radospy.common.errors import RadosError


class PermissionDenied(RadosError):
    """A request the caller's capabilities do not allow (EACCES)."""

    errno = _errno.EACCES


class AuthError(PermissionDenied):
    """An authentication that failed: bad proof, tampered frame or ticket, expiry.

    The message never says which check failed when that would tell an attacker
    whether an entity exists.
    """
