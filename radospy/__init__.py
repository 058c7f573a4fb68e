"""radospy: a distributed object store in Python, built the way Ceph's RADOS is."""

__version__ = "0.1.0"
