"""radospy: a distributed object store in Python, built the way Ceph's RADOS is.

The client API is librados' Python binding under the same names::

    import radospy as rados

    with rados.Rados(conffile="radospy.conf") as cluster:
        with cluster.open_ioctx("mytest") as ioctx:
            ioctx.write_full("greeting", b"hello")
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

__all__ = [
    "LIBRADOS_ALL_NSPACES",
    "LIBRADOS_SNAP_DIR",
    "LIBRADOS_SNAP_HEAD",
    "AsyncIoctx",
    "AsyncRados",
    "Completion",
    "Error",
    "IOError",
    "InterruptedOrTimeoutError",
    "InvalidArgumentError",
    "Ioctx",
    "IoctxStateError",
    "NoData",
    "NoSpace",
    "NotConnected",
    "OSError",
    "Object",
    "ObjectBusy",
    "ObjectExists",
    "ObjectNotFound",
    "PermissionDeniedError",
    "PermissionError",
    "Rados",
    "RadosStateError",
    "ReadOp",
    "ReadOpCtx",
    "Snap",
    "SnapIterator",
    "TimedOut",
    "WriteOp",
    "WriteOpCtx",
]


def __getattr__(name: str) -> Any:
    # Loaded on first use, so that tools which never touch the client (crushtool,
    # the daemons) do not pay for importing it.
    if name in __all__:
        return getattr(importlib.import_module("radospy.client.rados"), name)
    raise AttributeError(f"module 'radospy' has no attribute {name!r}")
