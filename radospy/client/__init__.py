"""The client side of RADOS: placement, the librados-style API and the striper."""
