"""RGW's storage layer: users, buckets, the bucket index and object data in RADOS
pools, laid out as Ceph's RGW lays them out (`names` says where each thing lives).

Every decision that needs no I/O (names, manifests, index entry encoding) is a pure
function; the async classes only carry out RADOS ops, using compound ops with guards
so that any number of gateways can share one cluster.
"""
